//! The ACTIVATE emulator's routes, request gate (log, faults, auth) and handlers.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::fixture::{Fixture, FixtureUser};
use super::served::Served;
use super::{Faults, Resource, USERS_LIMIT_MAX, UserQuirk, scim};
use crate::gate::Front;
use crate::lock;
use crate::net::ConnectionControl;

const USERS_LIMIT_DEFAULT: i64 = 50;

/// Everything the handlers share.
#[derive(Debug)]
pub(crate) struct App {
    pub(crate) api_key: String,
    pub(crate) scim_token: String,
    /// The organization being served; replaced whole on every change.
    pub(crate) served: Mutex<Arc<Served>>,
    pub(crate) faults: Mutex<Faults>,
    pub(crate) front: Front<Resource>,
}

impl App {
    /// The organization as it is now: handlers answer from it without a lock.
    pub(crate) fn served(&self) -> Arc<Served> {
        Arc::clone(&lock(&self.served))
    }

    /// The organization, to replace it.
    pub(crate) fn served_mut(&self) -> MutexGuard<'_, Arc<Served>> {
        lock(&self.served)
    }

    pub(crate) fn faults(&self) -> MutexGuard<'_, Faults> {
        lock(&self.faults)
    }
}

pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/api/auth/whoami/organization", get(whoami_organization))
        .route("/api/organizations/{org}/users", get(users))
        .route("/api/organizations/{org}/groups", get(groups))
        .route(
            "/api/organizations/{org}/groups/{group}/members",
            get(members),
        )
        .route(
            "/api/users/{username}/ssh-public-keys",
            get(ssh_public_keys),
        )
        .route("/api/organizations/{org}/scim/v2/Users", get(scim::users))
        .route("/api/organizations/{org}/scim/v2/Groups", get(scim::groups))
        .fallback(fallback)
        .layer(middleware::from_fn_with_state(Arc::clone(&app), gate))
        .with_state(app)
}

/// The legacy error envelope `{error: true, message, code}`.
fn error(status: u16, code: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        axum::Json(json!({"error": true, "message": message, "code": code})),
    )
        .into_response()
}

/// An error answer, built lazily.
#[derive(Debug)]
struct ApiError {
    status: u16,
    message: String,
}

impl ApiError {
    fn new(status: u16, message: String) -> Self {
        Self { status, message }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error(self.status, code_for(self.status), &self.message)
    }
}

/// The `code` ACTIVATE's SDK derives from a status.
fn code_for(status: u16) -> &'static str {
    match status {
        401 => "unauthenticated",
        403 => "forbidden",
        404 => "not_found",
        409 => "conflict",
        429 => "rate_limited",
        503 => "unavailable",
        400..=499 => "invalid_request",
        _ => "internal",
    }
}

/// Logs the request, injects faults, checks the credential, then handles it.
async fn gate(
    State(app): State<Arc<App>>,
    ConnectInfo(connection): ConnectInfo<ConnectionControl>,
    request: Request,
    next: Next,
) -> Response {
    let resource = classify(request.uri().path());
    let is_scim = matches!(resource, Resource::ScimUsers | Resource::ScimGroups);
    let faults = app.faults().http.clone();
    app.front
        .serve(
            &faults,
            resource,
            &connection,
            request,
            |status, message| {
                if is_scim {
                    scim::error(status, None, message)
                } else {
                    error(status, code_for(status), message)
                }
            },
            async |request| {
                if is_scim {
                    if bearer(request.headers()) == Some(app.scim_token.as_str()) {
                        next.run(request).await
                    } else {
                        scim::error(401, None, "a valid SCIM bearer token is required")
                    }
                } else if authorized(request.headers(), &app.api_key) {
                    next.run(request).await
                } else {
                    error(401, "unauthenticated", "a valid API key is required")
                }
            },
        )
        .await
}

fn classify(path: &str) -> Resource {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["api", "auth", "whoami", "organization"] => Resource::Whoami,
        ["api", "organizations", _, "users"] => Resource::Users,
        ["api", "organizations", _, "groups"] => Resource::Groups,
        ["api", "organizations", _, "groups", _, "members"] => Resource::Members,
        ["api", "users", _, "ssh-public-keys"] => Resource::SshKeys,
        ["api", "organizations", _, "scim", "v2", "Users"] => Resource::ScimUsers,
        ["api", "organizations", _, "scim", "v2", "Groups"] => Resource::ScimGroups,
        _ => Resource::Other,
    }
}

/// The credential of `Authorization: Bearer <credential>`.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credential) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credential.trim())
}

/// `Basic base64("<key>:")` or `Bearer <key>`.
fn authorized(headers: &HeaderMap, api_key: &str) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, credential)) = value.split_once(' ') else {
        return false;
    };
    let credential = credential.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return credential == api_key;
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let Ok(decoded) = STANDARD.decode(credential) else {
            return false;
        };
        return decoded.strip_suffix(b":") == Some(api_key.as_bytes());
    }
    false
}

async fn whoami_organization(State(app): State<Arc<App>>) -> Response {
    axum::Json(Value::String(app.served().fixture.organization.clone())).into_response()
}

fn check_org(fixture: &Fixture, org: &str) -> Result<(), ApiError> {
    if fixture.organization == org {
        Ok(())
    } else {
        Err(ApiError::new(
            404,
            format!("organization {org:?} not found"),
        ))
    }
}

pub(crate) fn params(uri: &Uri) -> Vec<(String, String)> {
    Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map(|Query(p)| p)
        .unwrap_or_default()
}

fn int_param(params: &[(String, String)], name: &str) -> Result<Option<i64>, ApiError> {
    let Some((_, value)) = params.iter().find(|(k, _)| k == name) else {
        return Ok(None);
    };
    value
        .trim()
        .parse()
        .map(Some)
        .map_err(|_| ApiError::new(400, format!("{name} must be an integer, not {value:?}")))
}

fn org_user(user: &FixtureUser, organization_id: Option<&str>) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), json!(user.id));
    out.insert("username".into(), json!(user.username));
    if let Some(email) = &user.email {
        out.insert("email".into(), json!(email));
    }
    if let Some(name) = &user.name {
        out.insert("name".into(), json!(name));
    }
    out.insert("active".into(), json!(user.active));
    out.insert("admin".into(), json!(user.admin));
    out.insert("billingAdmin".into(), json!(user.billing_admin));
    out.insert("complimentary".into(), json!(user.complimentary));
    out.insert("licenseStatus".into(), json!(user.license_status));
    if let Some(uid) = user.uid {
        out.insert("uid".into(), json!(uid));
    }
    if let Some(created_at) = &user.created_at {
        out.insert("createdAt".into(), json!(created_at));
    }
    if let Some(organization_id) = organization_id {
        out.insert("organization".into(), json!(organization_id));
    }
    Value::Object(out)
}

async fn users(
    State(app): State<Arc<App>>,
    Path(org): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let params = params(&uri);
    let limit = int_param(&params, "limit")?
        .unwrap_or(USERS_LIMIT_DEFAULT)
        .clamp(1, i64::from(USERS_LIMIT_MAX));
    let skip = int_param(&params, "skip")?.unwrap_or(0).max(0);
    let (total_offset, quirks) = {
        let faults = app.faults();
        (faults.total_offset, faults.user_quirks.clone())
    };
    let served = app.served();
    let fixture = &served.fixture;
    check_org(fixture, &org)?;
    let page: Vec<Value> = fixture
        .users
        .iter()
        .skip(usize::try_from(skip).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .map(|u| {
            let mut entry = org_user(u, fixture.organization_id.as_deref());
            match quirks.get(&u.username) {
                Some(UserQuirk::EmptyUsername) => entry["username"] = json!(""),
                Some(UserQuirk::WrongType) => entry["active"] = json!("yes"),
                Some(UserQuirk::NoId) => {
                    if let Some(map) = entry.as_object_mut() {
                        map.remove("id");
                    }
                }
                Some(UserQuirk::KeysLoginPage) | None => {}
            }
            entry
        })
        .collect();
    let total = i64::try_from(fixture.users.len()).unwrap_or(i64::MAX);
    Ok(axum::Json(json!({
        "total": total.saturating_add(total_offset).max(0),
        "users": page,
    }))
    .into_response())
}

async fn groups(
    State(app): State<Arc<App>>,
    Path(org): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let params = params(&uri);
    let limit = int_param(&params, "limit")?;
    let skip = int_param(&params, "skip")?.unwrap_or(0).max(0);
    let served = app.served();
    let fixture = &served.fixture;
    check_org(fixture, &org)?;
    let take = limit.map_or(usize::MAX, |l| {
        usize::try_from(l.max(0)).unwrap_or(usize::MAX)
    });
    let groups: Vec<Value> = fixture
        .groups
        .iter()
        .skip(usize::try_from(skip).unwrap_or(usize::MAX))
        .take(take)
        .map(|g| {
            let mut out = Map::new();
            out.insert("id".into(), json!(g.id));
            out.insert("name".into(), json!(g.name));
            if let Some(description) = &g.description {
                out.insert("description".into(), json!(description));
            }
            if let Some(gid) = g.gid {
                out.insert("gid".into(), json!(gid));
            }
            if let Some(created_at) = &g.created_at {
                out.insert("createdAt".into(), json!(created_at));
            }
            out.insert("members".into(), json!(g.members.len()));
            out.insert("organization".into(), json!(fixture.organization));
            Value::Object(out)
        })
        .collect();
    Ok(axum::Json(Value::Array(groups)).into_response())
}

async fn members(
    State(app): State<Arc<App>>,
    Path((org, group)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let served = app.served();
    check_org(&served.fixture, &org)?;
    let group = served
        .fixture
        .group(&group)
        .ok_or_else(|| ApiError::new(404, format!("group {group:?} not found")))?;
    let members: Vec<Value> = group
        .members
        .iter()
        .filter_map(|username| served.user(username))
        .map(|u| {
            json!({
                "id": u.id,
                "username": u.username,
                "email": u.email.clone().unwrap_or_default(),
            })
        })
        .collect();
    Ok(axum::Json(Value::Array(members)).into_response())
}

/// What a sign-in page in front of the API answers.
const LOGIN_PAGE: &str = "<!DOCTYPE html>\n<html><head><title>Sign in - ACTIVATE</title></head>\
<body><form action=\"/login\" method=\"post\">Sign in to continue</form></body></html>\n";

async fn ssh_public_keys(State(app): State<Arc<App>>, Path(username): Path<String>) -> Response {
    if app.faults().user_quirks.get(&username) == Some(&UserQuirk::KeysLoginPage) {
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            LOGIN_PAGE,
        )
            .into_response();
    }
    match app.served().user(&username) {
        Some(user) => axum::Json(Value::String(user.ssh_keys.join("\n"))).into_response(),
        None => error(404, "not_found", &format!("user {username:?} not found")),
    }
}

async fn fallback(uri: Uri) -> Response {
    error(404, "not_found", &format!("no route for {}", uri.path()))
}
