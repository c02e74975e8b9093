//! The ACTIVATE REST client: one GET with retries, and the endpoints. Its settings are
//! in [`crate::builder`].

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http_policy::retry::{Exhausted, Failure, Idempotency};
use reqwest::header::{ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use url::Url;

use crate::body;
use crate::builder::{ActivateClientBuilder, Settings};
use crate::credentials::Credential;
use crate::error::{ActivateError, ServerMessage};
use crate::keys::{SshKeySource, parse_key_lines};
use crate::model::{GroupInfo, Member, UnusableUser, User, UserListing, wire};
use crate::path::{encode_segment, is_addressable};

/// The largest page size the users endpoint accepts.
pub const MAX_PAGE_SIZE: u32 = 500;
/// The largest response body read, in bytes.
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

const ACCEPT_JSON: &str = "application/json, application/problem+json";
pub(crate) const ACCEPT_JSON_OR_TEXT: &str =
    "application/json, text/plain;q=0.9, application/problem+json";

/// A client of the ACTIVATE REST API. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ActivateClient {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) settings: Settings,
}

/// How a 404 of a request is reported.
#[derive(Clone, Copy)]
pub(crate) enum NotFound<'a> {
    Generic,
    Org(&'a str),
}

/// One failed attempt.
enum AttemptError {
    Transport {
        error: reqwest::Error,
        sent: bool,
    },
    Status {
        status: u16,
        retry_after: Option<Duration>,
        body: Vec<u8>,
    },
    TooLarge,
}

pub(crate) struct Fetched {
    pub(crate) body: Vec<u8>,
    pub(crate) media: body::MediaType,
}

impl Fetched {
    fn json<T: serde::de::DeserializeOwned>(&self, shape: &str) -> Result<T, body::BodyProblem> {
        body::json(&self.body, &self.media, shape)
    }

    fn json_string_or_text(&self) -> Result<String, body::BodyProblem> {
        body::json_string_or_text(&self.body, &self.media)
    }
}

impl ActivateClient {
    /// Starts configuring a client that authenticates with `credential`; see
    /// [`ActivateClientBuilder`].
    pub fn builder(credential: Credential) -> ActivateClientBuilder {
        ActivateClientBuilder::new(credential)
    }

    /// The ACTIVATE base URL requests go to; it ends with `/`.
    pub fn base_url(&self) -> &Url {
        &self.inner.settings.base_url
    }

    /// The configured organization name, if one was given.
    pub fn org(&self) -> Option<&str> {
        self.inner.settings.org.as_deref()
    }

    /// The checked settings.
    pub(crate) fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The configured organization name, or the one `GET /api/auth/whoami/organization`
    /// returns.
    pub async fn org_name(&self) -> Result<String, ActivateError> {
        match &self.inner.settings.org {
            Some(org) => Ok(org.clone()),
            None => self.whoami_organization().await,
        }
    }

    /// `GET /api/auth/whoami/organization`: the caller's organization name (a JSON
    /// string, or text).
    pub async fn whoami_organization(&self) -> Result<String, ActivateError> {
        let (request, fetched) = self
            .get(
                "api/auth/whoami/organization",
                ACCEPT_JSON_OR_TEXT,
                NotFound::Generic,
            )
            .await?;
        let text = fetched
            .json_string_or_text()
            .map_err(|p| decode(&request, p))?;
        let org = text.trim();
        if org.is_empty() || org.contains(['\n', '\r']) || !is_addressable(org) {
            return Err(ActivateError::Decode {
                request,
                problem: "expected one organization name".to_owned(),
                source: None,
            });
        }
        Ok(org.to_owned())
    }

    /// All users of `org`, from `GET /api/organizations/{org}/users`, paged with
    /// `limit` and `skip` until `total` entries have arrived.
    ///
    /// The listing is complete or an error: the count of entries must equal
    /// `total`, ids must be unique, `total` must not change between pages, and every
    /// page must bring new entries (a server ignoring `skip` is detected). Within a
    /// valid page, an entry that does not decode or has an empty id or username is
    /// returned in [`UserListing::unusable`] rather than failing the listing, unless
    /// so many entries do not decode that the page's shape is wrong (see
    /// [`crate::snapshot::is_systematic`]).
    pub async fn list_user_entries(&self, org: &str) -> Result<UserListing, ActivateError> {
        self.list_users_counted(org).await.map(|(users, _)| users)
    }

    /// The users of [`Self::list_user_entries`] that can be used, sorted by id; the
    /// entries that cannot be used are logged as warnings and left out.
    pub async fn list_users(&self, org: &str) -> Result<Vec<User>, ActivateError> {
        self.list_user_entries(org)
            .await
            .map(|listing| listing.users)
    }

    /// [`Self::list_user_entries`], also returning the number of pages read.
    pub(crate) async fn list_users_counted(
        &self,
        org: &str,
    ) -> Result<(UserListing, u32), ActivateError> {
        let org_segment = segment("organization", org)?;
        let settings = &self.inner.settings;
        let mut seen: HashSet<String> = HashSet::new();
        let mut listing = UserListing::default();
        let mut received: u64 = 0;
        let mut undecodable: u64 = 0;
        let mut first_total: Option<u64> = None;
        let mut pages: u32 = 0;
        let mut first_request = None;
        loop {
            if pages >= settings.max_user_pages {
                return Err(ActivateError::TooManyPages {
                    limit: settings.max_user_pages,
                });
            }
            let skip = received;
            let path = format!(
                "api/organizations/{org_segment}/users?limit={}&skip={skip}",
                settings.page_size
            );
            let (request, fetched) = self.get(&path, ACCEPT_JSON, NotFound::Org(org)).await?;
            pages += 1;
            let page: wire::UsersPage = fetched
                .json("a users page")
                .map_err(|p| decode(&request, p))?;
            first_request.get_or_insert_with(|| request.clone());
            let total = *first_total.get_or_insert(page.total);
            if page.total != total {
                return Err(ActivateError::UsersTotalChanged {
                    first: total,
                    now: page.total,
                });
            }
            if page.users.is_empty() {
                if skip == total {
                    break;
                }
                return Err(ActivateError::IncompleteUsers {
                    expected: total,
                    got: skip,
                });
            }
            let ids: Vec<Option<String>> = page.users.iter().map(entry_id).collect();
            if ids
                .iter()
                .all(|id| id.as_ref().is_some_and(|id| seen.contains(id)))
            {
                return Err(ActivateError::SkipIgnored { skip });
            }
            for (value, id) in page.users.into_iter().zip(ids) {
                received += 1;
                if let Some(id) = &id
                    && !seen.insert(id.clone())
                {
                    return Err(ActivateError::DuplicateUserId { id: id.clone() });
                }
                match read_user(&value, id.as_ref()) {
                    Ok(user) => listing.users.push(user),
                    Err((unusable, decodes)) => {
                        if !decodes {
                            undecodable += 1;
                        }
                        listing.unusable.push(unusable);
                    }
                }
            }
            if received > total {
                return Err(ActivateError::IncompleteUsers {
                    expected: total,
                    got: received,
                });
            }
            if received == total {
                break;
            }
        }
        check_unusable(&listing, undecodable, received, first_request)?;
        listing.users.sort_by(|a, b| a.id.cmp(&b.id));
        Ok((listing, pages))
    }

    /// `GET /api/organizations/{org}/groups`: the group list (a bare array; `null` is
    /// empty), in the server's order.
    pub async fn list_groups(&self, org: &str) -> Result<Vec<GroupInfo>, ActivateError> {
        self.list_groups_named(org).await.map(|(_, groups)| groups)
    }

    /// [`Self::list_groups`], also returning the request's name.
    pub(crate) async fn list_groups_named(
        &self,
        org: &str,
    ) -> Result<(String, Vec<GroupInfo>), ActivateError> {
        let path = format!("api/organizations/{}/groups", segment("organization", org)?);
        let (request, fetched) = self.get(&path, ACCEPT_JSON, NotFound::Org(org)).await?;
        let list: wire::NullableList<wire::Group> = fetched
            .json("a list of groups")
            .map_err(|p| decode(&request, p))?;
        let groups = list
            .0
            .into_iter()
            .map(|g| GroupInfo {
                id: crate::model::non_empty(g.id),
                name: g.name.filter(|n| !n.is_empty()),
                member_count: g.members.as_ref().and_then(serde_json::Value::as_u64),
            })
            .collect();
        Ok((request, groups))
    }

    /// `GET /api/organizations/{org}/groups/{group}/members`: the members of one group
    /// (`null` is empty), in the server's order.
    pub async fn group_members(
        &self,
        org: &str,
        group: &str,
    ) -> Result<Vec<Member>, ActivateError> {
        let path = format!(
            "api/organizations/{}/groups/{}/members",
            segment("organization", org)?,
            segment("group", group)?
        );
        let (request, fetched) = self.get(&path, ACCEPT_JSON, NotFound::Generic).await?;
        let list: wire::NullableList<wire::MemberDetail> = fetched
            .json("a list of members")
            .map_err(|p| decode(&request, p))?;
        list.0
            .into_iter()
            .map(|m| {
                if m.id.trim().is_empty() {
                    Err(ActivateError::InvalidEntry {
                        request: request.clone(),
                        problem: format!("member {:?} has an empty id", m.username),
                    })
                } else {
                    Ok(Member {
                        id: m.id,
                        username: m.username,
                    })
                }
            })
            .collect()
    }

    /// `GET /api/users/{username}/ssh-public-keys`: the user's key lines. The body may
    /// be a JSON string or text; blank lines and `#` comments are skipped. Any other
    /// declared type (an HTML login or maintenance page, even with status 200), or
    /// text that looks like a page, is a [`ActivateError::Decode`] error, never an
    /// empty key list.
    pub async fn user_ssh_keys(&self, username: &str) -> Result<Vec<String>, ActivateError> {
        let path = format!("api/users/{}/ssh-public-keys", segment("user", username)?);
        let (request, fetched) = self
            .get(&path, ACCEPT_JSON_OR_TEXT, NotFound::Generic)
            .await?;
        let listing = fetched
            .json_string_or_text()
            .map_err(|p| decode(&request, p))?;
        Ok(parse_key_lines(&listing))
    }

    /// One GET with retries. Returns the request's name (`GET /path?query`) and the
    /// successful response.
    pub(crate) async fn get(
        &self,
        relative: &str,
        accept: &'static str,
        not_found: NotFound<'_>,
    ) -> Result<(String, Fetched), ActivateError> {
        let url = self.inner.settings.base_url.join(relative).map_err(|_| {
            ActivateError::Unaddressable {
                what: "request path",
                name: relative.to_owned(),
            }
        })?;
        let request = match url.query() {
            Some(q) => format!("GET {}?{q}", url.path()),
            None => format!("GET {}", url.path()),
        };
        tracing::debug!(request = %request, "ACTIVATE request");
        let result = http_policy::retry::run(
            &self.inner.settings.retry,
            Idempotency::Idempotent,
            &request,
            classify,
            |_| self.attempt(url.clone(), accept),
        )
        .await;
        match result {
            Ok(fetched) => Ok((request, fetched)),
            Err(exhausted) => Err(into_error(request, exhausted, not_found)),
        }
    }

    async fn attempt(&self, url: Url, accept: &'static str) -> Result<Fetched, AttemptError> {
        let mut response = self
            .inner
            .http
            .get(url)
            .header(ACCEPT, accept)
            .send()
            .await
            .map_err(|error| AttemptError::Transport {
                sent: !error.is_connect(),
                error,
            })?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| http_policy::retry_after::parse_retry_after(v, SystemTime::now()));
        let media = body::MediaType::from_header(
            response
                .headers()
                .get(CONTENT_TYPE)
                .map(|v| v.to_str().unwrap_or("(not ASCII)")),
        );
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| AttemptError::Transport { error, sent: true })?
        {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(AttemptError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        self.inner.settings.credential.mask_in(&mut body);
        if status.is_success() {
            Ok(Fetched { body, media })
        } else {
            Err(AttemptError::Status {
                status: status.as_u16(),
                retry_after,
                body,
            })
        }
    }
}

impl SshKeySource for ActivateClient {
    fn ssh_keys(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Vec<String>, ActivateError>> + Send {
        self.user_ssh_keys(username)
    }
}

/// Fails a listing in which too many entries do not decode (see
/// [`crate::snapshot::is_systematic`]); otherwise logs each unusable entry.
fn check_unusable(
    listing: &UserListing,
    undecodable: u64,
    received: u64,
    first_request: Option<String>,
) -> Result<(), ActivateError> {
    if crate::snapshot::is_systematic(undecodable, received) {
        return Err(ActivateError::InvalidEntry {
            request: first_request.unwrap_or_default(),
            problem: format!(
                "{undecodable} of {received} user entries do not decode (the first: {}); \
                 too many to hold only those users",
                listing
                    .unusable
                    .iter()
                    .find(|u| u.reason.starts_with(NOT_DECODED))
                    .map_or("", |u| u.reason.as_str())
            ),
        });
    }
    for unusable in &listing.unusable {
        tracing::warn!(
            id = unusable.id.as_deref().unwrap_or("(none)"),
            username = unusable.username.as_deref().unwrap_or("(none)"),
            reason = %unusable.reason,
            "an ACTIVATE user cannot be used; nothing is written for it"
        );
    }
    Ok(())
}

/// How the reason of an entry that does not decode starts.
const NOT_DECODED: &str = "the record does not decode";

/// The non-empty string `id` of a users-page entry, if it has one.
fn entry_id(value: &serde_json::Value) -> Option<String> {
    value
        .get("id")
        .and_then(serde_json::Value::as_str)
        .filter(|id| !id.trim().is_empty())
        .map(str::to_owned)
}

/// One users-page entry as a user, or why it cannot be used (and whether it
/// decoded at all).
fn read_user(value: &serde_json::Value, id: Option<&String>) -> Result<User, (UnusableUser, bool)> {
    let username = value
        .get("username")
        .and_then(serde_json::Value::as_str)
        .filter(|name| !name.trim().is_empty())
        .map(str::to_owned);
    let unusable = |reason: String, decodes: bool| {
        (
            UnusableUser {
                id: id.cloned(),
                username: username.clone(),
                reason,
            },
            decodes,
        )
    };
    if !value.is_object() {
        let kind = match value {
            serde_json::Value::Array(_) => "an array",
            serde_json::Value::String(_) => "a string",
            serde_json::Value::Number(_) => "a number",
            serde_json::Value::Bool(_) => "a boolean",
            serde_json::Value::Null | serde_json::Value::Object(_) => "null",
        };
        return Err(unusable(
            format!("{NOT_DECODED}: it is {kind}, not an object"),
            false,
        ));
    }
    let user = <wire::OrgUser as serde::Deserialize>::deserialize(value)
        .map_err(|e| unusable(format!("{NOT_DECODED}: {e}"), false))?;
    if id.is_none() {
        return Err(unusable("the id is empty".to_owned(), true));
    }
    if username.is_none() {
        return Err(unusable("the username is empty".to_owned(), true));
    }
    Ok(User::from(user))
}

pub(crate) fn segment(what: &'static str, name: &str) -> Result<String, ActivateError> {
    if is_addressable(name) {
        Ok(encode_segment(name))
    } else {
        Err(ActivateError::Unaddressable {
            what,
            name: name.to_owned(),
        })
    }
}

fn decode(request: &str, problem: body::BodyProblem) -> ActivateError {
    ActivateError::Decode {
        request: request.to_owned(),
        problem: problem.problem,
        source: problem.source,
    }
}

#[allow(clippy::unnecessary_wraps)] // The shape `run` expects.
fn classify(error: &AttemptError) -> Option<Failure> {
    match error {
        AttemptError::Transport { sent: false, .. } => Some(Failure::NotSent),
        AttemptError::Transport { sent: true, .. } => Some(Failure::MaybeSent),
        AttemptError::Status {
            status,
            retry_after,
            ..
        } => Some(Failure::Status {
            status: *status,
            retry_after: *retry_after,
        }),
        AttemptError::TooLarge => None,
    }
}

fn into_error(
    request: String,
    exhausted: Exhausted<AttemptError>,
    not_found: NotFound<'_>,
) -> ActivateError {
    let Exhausted {
        error,
        attempts,
        reason,
    } = exhausted;
    match error {
        AttemptError::Transport { error, sent } => ActivateError::Transport {
            request,
            maybe_sent: sent,
            timed_out: error.is_timeout(),
            attempts,
            gave_up: reason,
            source: Box::new(error.without_url()),
        },
        AttemptError::TooLarge => ActivateError::BodyTooLarge {
            request,
            limit: MAX_BODY_BYTES,
        },
        AttemptError::Status { status, body, .. } => {
            let server = ServerMessage::parse(&body);
            match (status, not_found) {
                (401, _) => ActivateError::Unauthorized { request, server },
                (403, _) => ActivateError::Forbidden { request, server },
                (404, NotFound::Org(org)) => ActivateError::OrgNotFound {
                    org: org.to_owned(),
                    request,
                    server,
                },
                _ => ActivateError::Http {
                    request,
                    status,
                    server,
                    attempts,
                    gave_up: reason,
                },
            }
        }
    }
}
