//! ACTIVATE's read-only SCIM 2.0 server (`/api/organizations/{org}/scim/v2`): the
//! organization's users, with their SSH keys in the CoreWeave user extension, and its
//! groups, with their members.
//!
//! | request | answer |
//! |---|---|
//! | `GET …/scim/v2/Users?startIndex=&count=` | a `ListResponse` of users; `count` defaults to 100 and is clamped to 0–200 |
//! | `GET …/scim/v2/Groups?startIndex=&count=` | a `ListResponse` of groups, members included (`value` = user id) |
//!
//! A user is `{id, userName, name.formatted, displayName, emails (one, primary, work),
//! active}` with the REST ids; `active` folds in the license (`active` and a license
//! that is not `inactive`). The extension
//! (`urn:coreweave:params:scim:schemas:extension:coreweave:2.0:CoreWeaveUser`, with
//! `sunkSshKeys` = the user's key lines, `[]` for none) is returned, its schema listed
//! in `schemas`, unless:
//! - `excludedAttributes` names it (or `…:sunkSshKeys`), or `attributes` is given and
//!   does not name it;
//! - [`Faults::scim_extension_on_request`](super::Faults::scim_extension_on_request) is set and `attributes` does not name it
//!   (a server that returns the extension only when asked for).
//!
//! Other attributes are always returned whatever `attributes` says.
//!
//! `filter`: `userName eq "…"` or `id eq "…"` (users), `displayName eq "…"` or
//! `id eq "…"` (groups); anything else is `400 invalidFilter`. Authentication is
//! `Authorization: Bearer <SCIM token>` ([`super::ActivateEmulator::scim_token`]), not
//! the API key; errors are SCIM `Error` documents (`application/scim+json`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::fixture::{Fixture, FixtureUser, LicenseStatus};
use super::http::{App, params};
use crate::scim::{CW_USER_EXT, ERROR, GROUP_SCHEMA, LIST_RESPONSE, USER_SCHEMA};

/// The largest `count` ACTIVATE's SCIM server honours.
pub const SCIM_COUNT_MAX: usize = 200;

/// The `count` used when none is given.
const SCIM_COUNT_DEFAULT: usize = 100;

const SCIM_JSON: &str = "application/scim+json";

/// A SCIM error answer, built lazily.
#[derive(Debug)]
struct ScimError {
    status: u16,
    scim_type: Option<&'static str>,
    detail: String,
}

impl ScimError {
    fn new(status: u16, scim_type: Option<&'static str>, detail: String) -> Self {
        Self {
            status,
            scim_type,
            detail,
        }
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        error(self.status, self.scim_type, &self.detail)
    }
}

/// A SCIM `Error` document.
pub(crate) fn error(status: u16, scim_type: Option<&str>, detail: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut body = json!({
        "schemas": [ERROR],
        "status": status.to_string(),
        "detail": detail,
    });
    if let Some(scim_type) = scim_type {
        body["scimType"] = json!(scim_type);
    }
    (code, [(header::CONTENT_TYPE, SCIM_JSON)], body.to_string()).into_response()
}

fn list_response(total: usize, start_index: usize, resources: &[Value]) -> Response {
    let body = json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, SCIM_JSON)],
        body.to_string(),
    )
        .into_response()
}

/// The paging, filtering and attribute parameters of one listing.
struct Listing {
    start_index: usize,
    count: usize,
    filter: Option<(String, String)>,
    attributes: Option<Vec<String>>,
    excluded: Vec<String>,
}

impl Listing {
    fn parse(uri: &Uri) -> Result<Self, ScimError> {
        let params = params(uri);
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let number = |name: &str, default: usize| -> Result<usize, ScimError> {
            match get(name) {
                None => Ok(default),
                Some(raw) => raw.trim().parse::<i64>().map_or_else(
                    |_| {
                        Err(ScimError::new(
                            400,
                            Some("invalidValue"),
                            format!("{name} must be an integer, not {raw:?}"),
                        ))
                    },
                    |n| Ok(usize::try_from(n.max(0)).unwrap_or(usize::MAX)),
                ),
            }
        };
        let list = |raw: &str| -> Vec<String> {
            raw.split(',')
                .map(|a| a.trim().to_ascii_lowercase())
                .filter(|a| !a.is_empty())
                .collect()
        };
        let filter = match get("filter") {
            None => None,
            Some(raw) => Some(parse_eq(raw).ok_or_else(|| {
                ScimError::new(
                    400,
                    Some("invalidFilter"),
                    format!("only `attribute eq \"value\"` filters are supported, not {raw:?}"),
                )
            })?),
        };
        Ok(Self {
            // startIndex is 1-based; values below 1 are taken as 1 (RFC 7644 §3.4.2.4).
            start_index: number("startIndex", 1)?.max(1),
            count: number("count", SCIM_COUNT_DEFAULT)?.min(SCIM_COUNT_MAX),
            filter,
            attributes: get("attributes").map(list),
            excluded: get("excludedAttributes").map(list).unwrap_or_default(),
        })
    }

    /// Whether the CoreWeave extension goes into the users of this listing.
    fn with_extension(&self, only_on_request: bool) -> bool {
        let ext = CW_USER_EXT.to_ascii_lowercase();
        let names = |a: &String| *a == ext || a.starts_with(&format!("{ext}:"));
        if self.excluded.iter().any(names) {
            return false;
        }
        match &self.attributes {
            Some(attributes) => attributes.iter().any(names),
            None => !only_on_request,
        }
    }

    /// `totalResults` and the page of `matching`.
    fn page<'a, T>(&self, matching: &'a [T]) -> (usize, &'a [T]) {
        let from = (self.start_index - 1).min(matching.len());
        let to = from.saturating_add(self.count).min(matching.len());
        (matching.len(), &matching[from..to])
    }
}

/// `attr eq "value"` as `(lower-cased attr, value)`.
fn parse_eq(raw: &str) -> Option<(String, String)> {
    let (attribute, rest) = raw.trim().split_once(char::is_whitespace)?;
    let (operator, value) = rest.trim_start().split_once(char::is_whitespace)?;
    if !operator.eq_ignore_ascii_case("eq") {
        return None;
    }
    let value = value.trim().strip_prefix('"')?.strip_suffix('"')?;
    Some((attribute.to_ascii_lowercase(), value.replace("\\\"", "\"")))
}

fn check_org(fixture: &Fixture, org: &str) -> Result<(), ScimError> {
    if fixture.organization == org {
        Ok(())
    } else {
        Err(ScimError::new(
            404,
            None,
            format!("organization {org:?} not found"),
        ))
    }
}

fn scim_user(user: &FixtureUser, with_extension: bool) -> Value {
    let mut record = json!({
        "schemas": [USER_SCHEMA],
        "id": user.id,
        "userName": user.username,
        "active": user.active && user.license_status != LicenseStatus::Inactive,
    });
    if let Some(name) = &user.name {
        record["name"] = json!({"formatted": name});
        record["displayName"] = json!(name);
    }
    if let Some(email) = &user.email {
        record["emails"] = json!([{"value": email, "primary": true, "type": "work"}]);
    }
    if with_extension {
        record["schemas"] = json!([USER_SCHEMA, CW_USER_EXT]);
        record[CW_USER_EXT] = json!({"sunkSshKeys": user.ssh_keys});
    }
    record
}

pub(crate) async fn users(
    State(app): State<Arc<App>>,
    Path(org): Path<String>,
    uri: Uri,
) -> Response {
    let listing = match Listing::parse(&uri) {
        Ok(listing) => listing,
        Err(error) => return error.into_response(),
    };
    let with_extension = listing.with_extension(app.faults().scim_extension_on_request);
    let fixture = app.fixture();
    if let Err(error) = check_org(&fixture, &org) {
        return error.into_response();
    }
    let filtered: Vec<&FixtureUser> = match &listing.filter {
        // Unfiltered pages are slices of the users: no pass over all of them.
        None => {
            let (total, page) = listing.page(&fixture.users);
            let resources: Vec<Value> = page.iter().map(|u| scim_user(u, with_extension)).collect();
            drop(fixture);
            return list_response(total, listing.start_index, &resources);
        }
        Some((attribute, value)) => match attribute.as_str() {
            "username" => fixture
                .users
                .iter()
                .filter(|u| u.username.eq_ignore_ascii_case(value))
                .collect(),
            "id" => fixture.users.iter().filter(|u| u.id == *value).collect(),
            _ => {
                return error(
                    400,
                    Some("invalidFilter"),
                    &format!("users can be filtered by userName or id, not {attribute}"),
                );
            }
        },
    };
    let (total, page) = listing.page(&filtered);
    let resources: Vec<Value> = page.iter().map(|u| scim_user(u, with_extension)).collect();
    drop(fixture);
    list_response(total, listing.start_index, &resources)
}

pub(crate) async fn groups(
    State(app): State<Arc<App>>,
    Path(org): Path<String>,
    uri: Uri,
) -> Response {
    let listing = match Listing::parse(&uri) {
        Ok(listing) => listing,
        Err(error) => return error.into_response(),
    };
    let fixture = app.fixture();
    if let Err(error) = check_org(&fixture, &org) {
        return error.into_response();
    }
    let matching: Vec<_> = match &listing.filter {
        None => fixture.groups.iter().collect(),
        Some((attribute, value)) => match attribute.as_str() {
            "displayname" => fixture
                .groups
                .iter()
                .filter(|g| g.name.eq_ignore_ascii_case(value))
                .collect(),
            "id" => fixture.groups.iter().filter(|g| g.id == *value).collect(),
            _ => {
                return error(
                    400,
                    Some("invalidFilter"),
                    &format!("groups can be filtered by displayName or id, not {attribute}"),
                );
            }
        },
    };
    let (total, page) = listing.page(&matching);
    // One pass over the users for the page's members; the first user with a name, as
    // `Fixture::user` finds it.
    let mut by_name: HashMap<&str, &FixtureUser> = HashMap::with_capacity(fixture.users.len());
    if page.iter().any(|g| !g.members.is_empty()) {
        for user in &fixture.users {
            by_name.entry(user.username.as_str()).or_insert(user);
        }
    }
    let resources: Vec<Value> = page
        .iter()
        .map(|group| {
            let members: Vec<Value> = group
                .members
                .iter()
                .filter_map(|name| by_name.get(name.as_str()))
                .map(|user| json!({"value": user.id, "display": user.username}))
                .collect();
            json!({
                "schemas": [GROUP_SCHEMA],
                "id": group.id,
                "displayName": group.name,
                "members": members,
            })
        })
        .collect();
    drop(by_name);
    drop(fixture);
    list_response(total, listing.start_index, &resources)
}

#[cfg(test)]
mod tests {
    use super::parse_eq;

    #[test]
    fn eq_filters_parse_and_others_do_not() {
        assert_eq!(
            parse_eq(r#"userName eq "ada.lovelace""#),
            Some(("username".to_owned(), "ada.lovelace".to_owned()))
        );
        assert_eq!(
            parse_eq(r#"id EQ "u-1""#),
            Some(("id".to_owned(), "u-1".to_owned()))
        );
        assert_eq!(parse_eq(r#"userName sw "ada""#), None);
        assert_eq!(parse_eq("userName eq ada"), None);
        assert_eq!(parse_eq("userName pr"), None);
    }
}
