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

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::fixture::Fixture;
use super::http::{App, params};
use crate::scim::{CW_USER_EXT, ERROR, LIST_RESPONSE};

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

/// A `ListResponse` whose `Resources` are the JSON texts `resources`.
fn list_response<'a>(
    total: usize,
    start_index: usize,
    resources: impl ExactSizeIterator<Item = &'a str>,
) -> Response {
    let head = json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
    })
    .to_string();
    let mut body = String::from(head.strip_suffix('}').unwrap_or(&head));
    body.push_str(",\"Resources\":[");
    for (i, resource) in resources.enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(resource);
    }
    body.push_str("]}");
    (StatusCode::OK, [(header::CONTENT_TYPE, SCIM_JSON)], body).into_response()
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

    /// `totalResults` and the positions of the page, over `len` unfiltered records.
    fn page_range(&self, len: usize) -> (usize, std::ops::Range<usize>) {
        let from = (self.start_index - 1).min(len);
        let to = from.saturating_add(self.count).min(len);
        (len, from..to)
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
    let served = app.served();
    let users = &served.fixture.users;
    if let Err(error) = check_org(&served.fixture, &org) {
        return error.into_response();
    }
    let matching: Vec<usize> = match &listing.filter {
        // Unfiltered pages are slices of the users: no pass over all of them.
        None => {
            let (total, page) = listing.page_range(users.len());
            return list_response(
                total,
                listing.start_index,
                page.map(|at| served.user_text(at, with_extension)),
            );
        }
        Some((attribute, value)) => match attribute.as_str() {
            "username" => positions(users, |u| u.username.eq_ignore_ascii_case(value)),
            "id" => positions(users, |u| u.id == *value),
            _ => {
                return error(
                    400,
                    Some("invalidFilter"),
                    &format!("users can be filtered by userName or id, not {attribute}"),
                );
            }
        },
    };
    let (total, page) = listing.page(&matching);
    list_response(
        total,
        listing.start_index,
        page.iter().map(|&at| served.user_text(at, with_extension)),
    )
}

/// The positions in `items` of those that `keep`.
fn positions<T>(items: &[T], keep: impl Fn(&T) -> bool) -> Vec<usize> {
    items
        .iter()
        .enumerate()
        .filter(|(_, item)| keep(item))
        .map(|(at, _)| at)
        .collect()
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
    let served = app.served();
    let groups = &served.fixture.groups;
    if let Err(error) = check_org(&served.fixture, &org) {
        return error.into_response();
    }
    let matching: Vec<usize> = match &listing.filter {
        None => (0..groups.len()).collect(),
        Some((attribute, value)) => match attribute.as_str() {
            "displayname" => positions(groups, |g| g.name.eq_ignore_ascii_case(value)),
            "id" => positions(groups, |g| g.id == *value),
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
    list_response(
        total,
        listing.start_index,
        page.iter().map(|&at| served.group_text(at)),
    )
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
