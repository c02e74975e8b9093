//! Shared test fixtures: a client aimed at a mock server, and paging responders.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use scim_client::{RetryPolicy, ScimClient, ScimClientBuilder};
use secrecy::SecretString;
use serde_json::{Value, json};
use url::Url;
use wiremock::{MockServer, Request, Respond, ResponseTemplate};

/// The bearer token the tests use; no error or `Debug` output may contain it.
pub const TOKEN: &str = "tok-3f9a1c77e2b84d0c";

/// A retry policy with millisecond delays so retry tests stay fast.
pub fn fast_retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(4),
        max_retry_after: Duration::from_secs(5),
        max_elapsed: Duration::from_secs(10),
    }
}

pub fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}

/// A builder for `server` with the test token and three fast attempts.
pub fn builder(server: &MockServer) -> ScimClientBuilder {
    ScimClient::builder(
        Url::parse(&format!("{}/scim/org-1", server.uri())).unwrap(),
        SecretString::from(TOKEN),
    )
    .retry_policy(fast_retries(3))
}

pub fn client(server: &MockServer) -> ScimClient {
    builder(server).build().unwrap()
}

/// A SCIM JSON response.
pub fn scim(status: u16, body: &Value) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_raw(serde_json::to_vec(body).unwrap(), "application/scim+json")
}

/// A SCIM error response.
pub fn scim_error(status: u16, scim_type: Option<&str>, detail: &str) -> ResponseTemplate {
    let mut body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": status.to_string(),
        "detail": detail,
    });
    if let Some(t) = scim_type {
        body["scimType"] = json!(t);
    }
    scim(status, &body)
}

/// An owned user record `u<i>` as a server returns it.
pub fn user(i: usize) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": format!("u{i}"),
        "externalId": format!("pw-activate:user:{i}"),
        "userName": format!("user{i}"),
        "active": true,
        "meta": {"resourceType": "User"}
    })
}

/// What a paging responder says about `totalResults`.
#[derive(Debug, Clone, Copy)]
pub enum Total {
    /// The true number.
    Actual,
    /// A fixed (wrong) number.
    Claim(u64),
    /// Left out.
    Missing,
}

/// Serves `records` as list pages, with configurable misbehaviour, and records the
/// `(startIndex, count)` of each request.
pub struct Paged {
    pub records: Vec<Value>,
    /// Page size cap applied silently; `None` honours `count`.
    pub cap: Option<usize>,
    /// Return everything from `startIndex` on, whatever `count` says.
    pub ignore_count: bool,
    /// Always serve from the first record, and say so.
    pub ignore_start: bool,
    pub total: Total,
    pub seen: Mutex<Vec<(u64, u64)>>,
}

impl Paged {
    pub fn new(records: Vec<Value>) -> Self {
        Self {
            records,
            cap: None,
            ignore_count: false,
            ignore_start: false,
            total: Total::Actual,
            seen: Mutex::new(Vec::new()),
        }
    }
}

fn query_u64(request: &Request, key: &str) -> Option<u64> {
    request
        .url
        .query_pairs()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v.parse().ok())
}

impl Respond for Paged {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let asked_start = query_u64(request, "startIndex").unwrap_or(1).max(1);
        let count = query_u64(request, "count").unwrap_or(100);
        self.seen.lock().unwrap().push((asked_start, count));
        let start = if self.ignore_start { 1 } else { asked_start };
        let mut take = usize::try_from(count).unwrap();
        if self.ignore_count {
            take = usize::MAX;
        }
        if let Some(cap) = self.cap {
            take = take.min(cap);
        }
        let page: Vec<Value> = self
            .records
            .iter()
            .skip(usize::try_from(start - 1).unwrap())
            .take(take)
            .cloned()
            .collect();
        let mut body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "startIndex": start,
            "itemsPerPage": page.len(),
            "Resources": page,
        });
        match self.total {
            Total::Actual => body["totalResults"] = json!(self.records.len()),
            Total::Claim(n) => body["totalResults"] = json!(n),
            Total::Missing => {}
        }
        scim(200, &body)
    }
}

/// The ids of listed users.
pub fn ids<T>(records: &[T], id: impl Fn(&T) -> &str) -> Vec<String> {
    records.iter().map(|r| id(r).to_owned()).collect()
}

/// Asserts that no rendering of `error` (Display, alternate Display with the source
/// chain, Debug) contains the token.
pub fn assert_no_token(error: &scim_client::ScimError) {
    let mut texts = vec![
        error.to_string(),
        format!("{error:?}"),
        format!("{error:#?}"),
    ];
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        texts.push(cause.to_string());
        texts.push(format!("{cause:?}"));
        source = cause.source();
    }
    for text in texts {
        assert!(!text.contains(TOKEN), "token leaked into: {text}");
    }
}
