//! The SCIM emulator's routes, request gate (log, faults, auth) and handlers.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::filter::{self, Op};
use super::quirks::{self, Quirks};
use super::rejection::Rejection;
use super::schema::{Kind, LIST_RESPONSE};
use super::store::{Origin, Store};
use super::{Faults, PatchResponse, Resource, discovery};
use crate::gate::Front;
use crate::lock;
use crate::net::ConnectionControl;

const SCIM_JSON: &str = "application/scim+json";

/// Settings that tests may change while the emulator runs.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) strict: bool,
    pub(crate) page_cap: usize,
    pub(crate) patch_response: PatchResponse,
    pub(crate) faults: Faults,
    pub(crate) quirks: Quirks,
}

/// Everything the handlers share.
#[derive(Debug)]
pub(crate) struct App {
    pub(crate) token: String,
    pub(crate) base_path: String,
    pub(crate) base_url: String,
    pub(crate) max_body_bytes: usize,
    pub(crate) store: Mutex<Store>,
    pub(crate) settings: Mutex<Settings>,
    pub(crate) front: Front<Resource>,
}

impl App {
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }

    pub(crate) fn settings(&self) -> MutexGuard<'_, Settings> {
        lock(&self.settings)
    }
}

/// The router: every route lives under `/scim/<tenant>`.
pub(crate) fn router(app: Arc<App>) -> Router {
    let base = app.base_path.clone();
    Router::new()
        .route(
            &format!("{base}/Users"),
            get(list_users).post(create_user).put(put).delete(delete),
        )
        .route(
            &format!("{base}/Users/{{id}}"),
            get(get_user)
                .patch(patch_user)
                .put(put)
                .delete(delete)
                .post(not_allowed),
        )
        .route(
            &format!("{base}/Groups"),
            get(list_groups).post(create_group).put(put).delete(delete),
        )
        .route(
            &format!("{base}/Groups/{{id}}"),
            get(get_group)
                .patch(patch_group)
                .put(put)
                .delete(delete)
                .post(not_allowed),
        )
        .route(
            &format!("{base}/ServiceProviderConfig"),
            get(service_provider_config),
        )
        .route(&format!("{base}/ResourceTypes"), get(resource_types))
        .route(&format!("{base}/ResourceTypes/{{id}}"), get(resource_type))
        .route(&format!("{base}/Schemas"), get(schemas))
        .route(&format!("{base}/Schemas/{{id}}"), get(schema))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(Arc::clone(&app), gate))
        .with_state(app)
}

/// Logs the request, injects faults, checks the bearer token, then handles it.
async fn gate(
    State(app): State<Arc<App>>,
    ConnectInfo(connection): ConnectInfo<ConnectionControl>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let resource = classify(&app.base_path, path);
    if request.method() == axum::http::Method::DELETE {
        tracing::warn!(%path, "DELETE received; the emulator never deletes and answers 405");
    }
    let faults = app.settings().faults.http.clone();
    app.front
        .serve(
            &faults,
            resource,
            &connection,
            request,
            |status, message| error(&Rejection::new(status, None, message)),
            async |request| {
                if authorized(request.headers(), &app.token) {
                    return next.run(request).await;
                }
                let mut response = error(&Rejection::new(
                    401,
                    None,
                    "a valid bearer token is required",
                ));
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"scim\""),
                );
                response
            },
        )
        .await
}

fn classify(base_path: &str, path: &str) -> Resource {
    let Some(rest) = path
        .strip_prefix(base_path)
        .and_then(|r| r.strip_prefix('/'))
    else {
        return Resource::Other;
    };
    match rest.split('/').next().unwrap_or_default() {
        "Users" => Resource::Users,
        "Groups" => Resource::Groups,
        "ServiceProviderConfig" => Resource::ServiceProviderConfig,
        "Schemas" => Resource::Schemas,
        "ResourceTypes" => Resource::ResourceTypes,
        _ => Resource::Other,
    }
}

fn authorized(headers: &HeaderMap, token: &str) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, credential)) = value.split_once(' ') else {
        return false;
    };
    scheme.eq_ignore_ascii_case("bearer") && credential.trim() == token
}

fn scim_json(status: StatusCode, body: &Value) -> Response {
    scim_text(status, body.to_string())
}

fn scim_text(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    response
}

fn error(rejection: &Rejection) -> Response {
    let status = StatusCode::from_u16(rejection.status).unwrap_or(StatusCode::BAD_REQUEST);
    scim_json(status, &rejection.body())
}

fn resource_response(
    status: StatusCode,
    resource: &Map<String, Value>,
    location: bool,
) -> Response {
    let meta = resource.get("meta");
    let mut response = match serde_json::to_string(resource) {
        Ok(body) => scim_text(status, body),
        Err(e) => {
            return error(&Rejection::new(
                500,
                None,
                format!("the resource cannot be serialised: {e}"),
            ));
        }
    };
    let headers = response.headers_mut();
    if let Some(version) = meta.and_then(|m| m.get("version")).and_then(Value::as_str)
        && let Ok(value) = HeaderValue::from_str(version)
    {
        headers.insert(header::ETAG, value);
    }
    if location
        && let Some(url) = meta.and_then(|m| m.get("location")).and_then(Value::as_str)
        && let Ok(value) = HeaderValue::from_str(url)
    {
        headers.insert(header::LOCATION, value);
    }
    response
}

fn query_params(uri: &Uri) -> Result<Vec<(String, String)>, Rejection> {
    Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map(|Query(params)| params)
        .map_err(|e| Rejection::bad("invalidValue", format!("malformed query string: {e}")))
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn int_param(params: &[(String, String)], name: &str) -> Result<Option<i64>, Rejection> {
    param(params, name)
        .map(|v| {
            v.trim().parse::<i64>().map_err(|_| {
                Rejection::bad(
                    "invalidValue",
                    format!("{name} must be an integer, not {v:?}"),
                )
            })
        })
        .transpose()
}

async fn list_users(State(app): State<Arc<App>>, uri: Uri) -> Response {
    list(&app, Kind::User, &uri).unwrap_or_else(|e| error(&e))
}

async fn list_groups(State(app): State<Arc<App>>, uri: Uri) -> Response {
    list(&app, Kind::Group, &uri).unwrap_or_else(|e| error(&e))
}

fn list(app: &App, kind: Kind, uri: &Uri) -> Result<Response, Rejection> {
    let params = query_params(uri)?;
    let settings = app.settings().clone();
    let filter = param(&params, "filter")
        .map(|f| filter::parse(kind, f).map_err(|e| Rejection::bad("invalidFilter", e)))
        .transpose()?;
    let is_sw = filter.as_ref().is_some_and(|f| f.op == Op::Sw);
    if settings.faults.reject_sw && is_sw {
        return Err(Rejection::bad(
            "invalidFilter",
            "the sw operator is not supported",
        ));
    }
    let cap = settings.page_cap;
    let count = int_param(&params, "count")?.map_or(cap, |c| {
        usize::try_from(c.max(0)).unwrap_or(usize::MAX).min(cap)
    });
    // RFC 9865: a `cursor` parameter (empty for the first page) asks for cursor
    // paging; a server without it ignores the parameter.
    let cursor = param(&params, "cursor").filter(|_| settings.quirks.cursor_paging);
    let mut start_index = int_param(&params, "startIndex")?.unwrap_or(1).max(1);
    let skip = match cursor {
        Some("") => 0,
        Some(cursor) => quirks::cursor_offset(cursor).ok_or_else(|| {
            Rejection::bad(
                "invalidCursor",
                format!("the cursor {cursor:?} was not issued by this server"),
            )
        })?,
        None if settings.faults.ignore_start_index => 0,
        None => usize::try_from(start_index - 1).unwrap_or(usize::MAX),
    };
    let store = app.store();
    let matched = store.select_text(kind, filter.as_ref());
    let matched_len = if settings.quirks.sw_matches_nothing && is_sw {
        0
    } else {
        matched.len()
    };
    let total = i64::try_from(matched_len).unwrap_or(i64::MAX);
    let skip = if settings.quirks.restart_past_end && cursor.is_none() && skip >= matched_len {
        start_index = 1;
        0
    } else {
        skip
    };
    // The page is assembled from the stored resources' JSON text.
    let mut resources = String::from("[");
    let returned = if matched_len == 0 {
        0
    } else {
        matched.write_page(skip, count, &mut resources)?
    };
    resources.push(']');
    drop(store);
    let mut body = json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": total.saturating_add(settings.faults.total_results_offset).max(0),
        "itemsPerPage": returned,
    });
    if cursor.is_some() {
        let next = skip.saturating_add(returned);
        if next < matched_len && returned > 0 {
            body["nextCursor"] = Value::String(quirks::cursor_at(next));
        }
    } else {
        body["startIndex"] = json!(start_index);
    }
    Ok(scim_text(StatusCode::OK, with_resources(&body, &resources)))
}

/// `head` (a JSON object) with a `Resources` member holding `resources`, the text
/// of a JSON array.
fn with_resources(head: &Value, resources: &str) -> String {
    let head = head.to_string();
    let open = head.strip_suffix('}').unwrap_or(&head);
    let mut body = String::with_capacity(open.len() + resources.len() + 16);
    body.push_str(open);
    if open.len() > 1 {
        body.push(',');
    }
    body.push_str("\"Resources\":");
    body.push_str(resources);
    body.push('}');
    body
}

async fn get_user(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    get_one(&app, Kind::User, &id)
}

async fn get_group(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    get_one(&app, Kind::Group, &id)
}

fn get_one(app: &App, kind: Kind, id: &str) -> Response {
    match app.store().get(kind, id) {
        Some(resource) => resource_response(StatusCode::OK, resource, false),
        None => error(&Rejection::not_found(format!(
            "{} {id} not found",
            kind.resource_type()
        ))),
    }
}

async fn create_user(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    create(&app, Kind::User, &headers, body)
        .await
        .unwrap_or_else(|e| error(&e))
}

async fn create_group(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    create(&app, Kind::Group, &headers, body)
        .await
        .unwrap_or_else(|e| error(&e))
}

async fn create(
    app: &App,
    kind: Kind,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, Rejection> {
    let body = read_json(app, headers, body).await?;
    let (strict, quirks) = {
        let settings = app.settings();
        (settings.strict, settings.quirks)
    };
    let created = app
        .store()
        .create(kind, body, Origin::Request { strict, quirks })?;
    Ok(resource_response(StatusCode::CREATED, &created, true))
}

async fn patch_user(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    patch(&app, Kind::User, &id, &uri, &headers, body)
        .await
        .unwrap_or_else(|e| error(&e))
}

async fn patch_group(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    patch(&app, Kind::Group, &id, &uri, &headers, body)
        .await
        .unwrap_or_else(|e| error(&e))
}

async fn patch(
    app: &App,
    kind: Kind,
    id: &str,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, Rejection> {
    let params = query_params(uri)?;
    let body = read_json(app, headers, body).await?;
    let (strict, quirks, patch_response) = {
        let settings = app.settings();
        (settings.strict, settings.quirks, settings.patch_response)
    };
    let if_match = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok());
    let wants_body = patch_response == PatchResponse::Resource
        || param(&params, "attributes").is_some()
        || param(&params, "excludedAttributes").is_some();
    let mut store = app.store();
    let updated = store.patch(kind, id, &body, strict, quirks, if_match)?;
    if wants_body {
        Ok(resource_response(StatusCode::OK, updated, false))
    } else {
        Ok(StatusCode::NO_CONTENT.into_response())
    }
}

async fn read_json(app: &App, headers: &HeaderMap, body: Body) -> Result<Value, Rejection> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let media_type = content_type.split(';').next().unwrap_or_default().trim();
    if !media_type.eq_ignore_ascii_case(SCIM_JSON)
        && !media_type.eq_ignore_ascii_case("application/json")
    {
        return Err(Rejection::new(
            415,
            None,
            format!("Content-Type must be {SCIM_JSON} or application/json, not {content_type:?}"),
        ));
    }
    let bytes = to_bytes(body, app.max_body_bytes).await.map_err(|_| {
        Rejection::new(
            413,
            None,
            format!("the body exceeds {} bytes", app.max_body_bytes),
        )
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Rejection::bad("invalidSyntax", format!("the body is not valid JSON: {e}")))
}

async fn delete() -> Response {
    let mut response = error(&Rejection::new(
        405,
        None,
        "DELETE is not supported; deactivate with PATCH active=false",
    ));
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, POST, PATCH"));
    response
}

async fn put() -> Response {
    error(&Rejection::new(
        501,
        None,
        "PUT is not implemented by this emulator; use PATCH",
    ))
}

async fn not_allowed() -> Response {
    error(&Rejection::new(
        405,
        None,
        "method not allowed on this path",
    ))
}

async fn not_found(uri: Uri) -> Response {
    error(&Rejection::not_found(format!(
        "no resource at {}",
        uri.path()
    )))
}

async fn service_provider_config(State(app): State<Arc<App>>) -> Response {
    let (cap, quirks) = {
        let settings = app.settings();
        (settings.page_cap, settings.quirks)
    };
    scim_json(
        StatusCode::OK,
        &discovery::service_provider_config(&app.base_url, cap, quirks.cursor_paging),
    )
}

fn extension_listed(app: &App) -> bool {
    !app.settings().quirks.no_extension_schema
}

async fn resource_types(State(app): State<Arc<App>>) -> Response {
    scim_json(
        StatusCode::OK,
        &discovery::list(&discovery::resource_types(extension_listed(&app))),
    )
}

async fn resource_type(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    find_by_id(discovery::resource_types(extension_listed(&app)), &id)
}

async fn schemas(State(app): State<Arc<App>>) -> Response {
    scim_json(
        StatusCode::OK,
        &discovery::list(&discovery::schemas(extension_listed(&app))),
    )
}

async fn schema(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    find_by_id(discovery::schemas(extension_listed(&app)), &id)
}

fn find_by_id(items: Vec<Value>, id: &str) -> Response {
    match items
        .into_iter()
        .find(|item| item.get("id").and_then(Value::as_str) == Some(id))
    {
        Some(item) => scim_json(StatusCode::OK, &item),
        None => error(&Rejection::not_found(format!("{id} not found"))),
    }
}
