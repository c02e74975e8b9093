//! Errors: configuration, one request, and a snapshot part that could not be read.
//!
//! `Display` is one short line naming what failed and where; the cause (a transport
//! error, a JSON error with its line and column) is the [`std::error::Error::source`],
//! never repeated in the message. No error carries the API key or token, and none
//! says how to configure a particular program: that advice belongs to the caller, who
//! knows where the key, URL and organization came from. Causes from other crates are
//! boxed, so that no foreign error type is part of the public API.

use std::fmt;
use std::time::Duration;

use http_policy::retry::GiveUp;

use crate::credentials::{CredentialError, CredentialKind};

/// A boxed error cause, so that no foreign error type is part of the public API.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Invalid client configuration, found before any request is made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The API key or token was refused.
    #[error("invalid ACTIVATE credential")]
    Credential(#[source] CredentialError),
    /// The credential carries no platform host (an opaque token, or a JWT without
    /// `platform_host`) and no API URL was given.
    #[error("the ACTIVATE {} carries no platform host: an explicit API URL is required", kind.describe())]
    NoHost {
        /// The kind of credential.
        kind: CredentialKind,
    },
    /// A base URL (the API's, or the SCIM endpoint's) does not parse.
    #[error("the base URL does not parse")]
    InvalidUrl(#[source] BoxError),
    /// A base URL breaks the transport policy (plain `http://` to a remote host,
    /// credentials in the URL, …).
    #[error("refusing the base URL")]
    InsecureUrl(#[source] BoxError),
    /// A base URL has a query or a fragment.
    #[error("the base URL must not have a query or fragment")]
    UrlHasQuery,
    /// The extra root CA is not a PEM certificate bundle.
    #[error("the extra root CA is not a valid PEM certificate")]
    RootCa(#[source] BoxError),
    /// The HTTP client could not be built.
    #[error("could not build the HTTP client")]
    HttpClient(#[source] BoxError),
    /// A numeric setting is outside its range.
    #[error("{setting} must be between {min} and {max}, got {value}")]
    OutOfRange {
        /// The setting's name.
        setting: &'static str,
        /// The value given.
        value: u64,
        /// The smallest value allowed.
        min: u64,
        /// The largest value allowed.
        max: u64,
    },
    /// The SCIM bearer token is empty or holds characters other than printable ASCII.
    #[error("the ACTIVATE SCIM token is empty or holds characters other than printable ASCII")]
    ScimToken,
    /// The configured organization name is empty or cannot be put in a URL path.
    #[error("the organization name {name:?} cannot be used in a URL path")]
    BadOrgName {
        /// The name given.
        name: String,
    },
}

/// The message an ACTIVATE error response carried, from either error shape.
///
/// - the legacy envelope `{error: true, message, code?, errors?: string[]}`;
/// - RFC 9457 `application/problem+json`: `{type, title?, detail?, status?, code?,
///   errors?: [{code, type, detail?, pointer?, parameter?}]}`;
/// - any other body, as a one-line excerpt (HTML tags dropped).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerMessage {
    /// The machine-readable code, when the body had one.
    pub code: Option<String>,
    /// The human-readable message (legacy `message`, problem `detail` or `title`, or
    /// a body excerpt). Empty when the body was empty.
    pub message: String,
    /// Per-item details (`errors`), each one line.
    pub details: Vec<String>,
}

const MESSAGE_CHARS: usize = 300;

impl ServerMessage {
    /// Reads an error response body of either shape; never fails.
    pub fn parse(body: &[u8]) -> Self {
        let one_line = |s: &str| http_policy::excerpt::body_excerpt(s.as_bytes(), MESSAGE_CHARS);
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
            return Self {
                code: None,
                message: http_policy::excerpt::body_excerpt(body, MESSAGE_CHARS),
                details: Vec::new(),
            };
        };
        let text = |v: Option<&serde_json::Value>| {
            v.and_then(serde_json::Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(one_line)
        };
        match &value {
            serde_json::Value::Object(map) => {
                let code = text(map.get("code"));
                let legacy = text(map.get("message"));
                let problem = text(map.get("detail"))
                    .or_else(|| text(map.get("title")))
                    .or_else(|| text(map.get("type")).filter(|t| t != "about:blank"));
                let details = map
                    .get("errors")
                    .and_then(serde_json::Value::as_array)
                    .map(|items| items.iter().filter_map(|item| field_error(item, &one_line)))
                    .into_iter()
                    .flatten()
                    .collect();
                let message = legacy
                    .or(problem)
                    .unwrap_or_else(|| http_policy::excerpt::body_excerpt(body, MESSAGE_CHARS));
                Self {
                    code,
                    message,
                    details,
                }
            }
            serde_json::Value::String(s) => Self {
                code: None,
                message: one_line(s),
                details: Vec::new(),
            },
            _ => Self {
                code: None,
                message: http_policy::excerpt::body_excerpt(body, MESSAGE_CHARS),
                details: Vec::new(),
            },
        }
    }
}

fn field_error(item: &serde_json::Value, one_line: &impl Fn(&str) -> String) -> Option<String> {
    if let Some(s) = item.as_str() {
        return Some(one_line(s));
    }
    let map = item.as_object()?;
    let get = |k: &str| map.get(k).and_then(serde_json::Value::as_str);
    let what = get("detail").or_else(|| get("code"))?;
    Some(match get("pointer").or_else(|| get("parameter")) {
        Some(place) => one_line(&format!("{place}: {what}")),
        None => one_line(what),
    })
}

impl fmt::Display for ServerMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            f.write_str("(empty body)")?;
        } else {
            f.write_str(&self.message)?;
        }
        if let Some(code) = &self.code {
            write!(f, " [{code}]")?;
        }
        for detail in &self.details {
            write!(f, "; {detail}")?;
        }
        Ok(())
    }
}

fn attempts_note(attempts: u32, gave_up: GiveUp) -> String {
    if attempts > 1 {
        format!(" (after {attempts} attempts, {})", gave_up.describe())
    } else {
        String::new()
    }
}

/// A failure to read one thing from ACTIVATE.
///
/// `request` fields name the request as `GET /path?query` (no host, no credential).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ActivateError {
    /// HTTP 401.
    #[error("the ACTIVATE API key was rejected ({request}: HTTP 401: {server})")]
    Unauthorized {
        /// The request.
        request: String,
        /// What the server said.
        server: ServerMessage,
    },
    /// HTTP 403.
    #[error(
        "the API key's user lacks the organization role needed to read users/groups (org:admin or org:users) ({request}: HTTP 403: {server})"
    )]
    Forbidden {
        /// The request.
        request: String,
        /// What the server said.
        server: ServerMessage,
    },
    /// HTTP 404 on an organization-level list (users, groups).
    #[error("organization {org:?} not found ({request}: HTTP 404: {server})")]
    OrgNotFound {
        /// The organization name used.
        org: String,
        /// The request.
        request: String,
        /// What the server said.
        server: ServerMessage,
    },
    /// Any other unsuccessful status, after the retries the policy allowed.
    #[error("{request}: HTTP {status}: {server}{}", attempts_note(*attempts, *gave_up))]
    Http {
        /// The request.
        request: String,
        /// The status code.
        status: u16,
        /// What the server said.
        server: ServerMessage,
        /// Attempts made.
        attempts: u32,
        /// Why no further attempt was made.
        gave_up: GiveUp,
    },
    /// No response: connection refused, TLS failure, timeout, broken connection.
    #[error(
        "{request}: {}{}",
        if *timed_out { "timed out" } else if *maybe_sent { "connection broke" } else { "could not connect" },
        attempts_note(*attempts, *gave_up)
    )]
    Transport {
        /// The request.
        request: String,
        /// Whether the server may have received the request.
        maybe_sent: bool,
        /// Whether a timeout ended it.
        timed_out: bool,
        /// Attempts made.
        attempts: u32,
        /// Why no further attempt was made.
        gave_up: GiveUp,
        /// The transport error.
        #[source]
        source: BoxError,
    },
    /// A successful response whose body is not what the endpoint returns.
    #[error("{request}: {problem}")]
    Decode {
        /// The request.
        request: String,
        /// What is wrong, in a few words; the JSON or UTF-8 error is the source.
        problem: String,
        /// The parse error, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// A response body above the size limit.
    #[error("{request}: the response body exceeds {limit} bytes")]
    BodyTooLarge {
        /// The request.
        request: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// The user pages ended before `total` users arrived, or more arrived.
    #[error("incomplete user list: the server announced {expected} users, {got} arrived")]
    IncompleteUsers {
        /// The `total` the server announced.
        expected: u64,
        /// Users received.
        got: u64,
    },
    /// The same user id arrived twice.
    #[error("the user list holds the id {id:?} twice")]
    DuplicateUserId {
        /// The repeated id.
        id: String,
    },
    /// A page at `skip` held only users already seen: the server ignores `skip`.
    #[error("the users page at skip={skip} repeats earlier users: the server ignores skip")]
    SkipIgnored {
        /// The `skip` of the repeating page.
        skip: u64,
    },
    /// `total` changed between pages: users were added or removed during the read.
    #[error("the user count changed from {first} to {now} while paging")]
    UsersTotalChanged {
        /// `total` on the first page.
        first: u64,
        /// `total` on a later page.
        now: u64,
    },
    /// More user pages than the configured cap.
    #[error("more than {limit} user pages; refusing to page further")]
    TooManyPages {
        /// The cap.
        limit: u32,
    },
    /// A name that cannot be put in a URL path (empty, `.` or `..`).
    #[error("the {what} name {name:?} cannot be addressed in a URL path")]
    Unaddressable {
        /// What the name is of ("group", "user", …).
        what: &'static str,
        /// The name.
        name: String,
    },
    /// A list held an entry the snapshot cannot use (a group without a name or id, a
    /// repeated group name, an empty id).
    #[error("{request}: {problem}")]
    InvalidEntry {
        /// The request.
        request: String,
        /// What is wrong.
        problem: String,
    },
    /// The SSH-keys command could not be started.
    #[error("could not run {program:?}")]
    KeysCommandSpawn {
        /// The program.
        program: String,
        /// The spawn error.
        #[source]
        source: std::io::Error,
    },
    /// The SSH-keys command exited unsuccessfully.
    #[error("{program} ssh-public-keys {username:?} {}: {stderr}", match code { Some(c) => format!("exited with status {c}"), None => "was killed by a signal".to_owned() })]
    KeysCommandFailed {
        /// The program.
        program: String,
        /// The username asked for.
        username: String,
        /// The exit code, `None` when a signal ended it.
        code: Option<i32>,
        /// A one-line excerpt of its standard error.
        stderr: String,
    },
    /// The SSH-keys command ran longer than its timeout and was killed.
    #[error("{program} ssh-public-keys {username:?} did not finish within {timeout:?}; killed")]
    KeysCommandTimeout {
        /// The program.
        program: String,
        /// The username asked for.
        username: String,
        /// The timeout.
        timeout: Duration,
    },
    /// The SSH-keys command printed something that is not a key listing.
    #[error("{program} ssh-public-keys {username:?}: {problem}")]
    KeysCommandOutput {
        /// The program.
        program: String,
        /// The username asked for.
        username: String,
        /// What is wrong.
        problem: String,
        /// The parse error, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// So many SSH key lookups failed that the cause is not single users (see
    /// [`crate::snapshot::is_systematic`]); the first failure is the source.
    #[error(
        "{failed} of {lookups} SSH key lookups failed, among them user {username:?}'s: \
         failures of more than max(5, 10%) of the lookups, or of all of at least 2, are \
         not a problem of single users"
    )]
    KeyLookups {
        /// Lookups that failed (when the read stopped early: so far).
        failed: u64,
        /// Lookups the snapshot needed.
        lookups: u64,
        /// The user of the failure given as the source.
        username: String,
        /// One of the failures.
        #[source]
        source: Box<ActivateError>,
    },
    /// ACTIVATE's SCIM endpoint failed.
    #[error("{what}")]
    Scim {
        /// What was being read.
        what: String,
        /// The SCIM client's error.
        #[source]
        source: BoxError,
    },
}

impl ActivateError {
    /// The HTTP status of the failed response, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Unauthorized { .. } => Some(401),
            Self::Forbidden { .. } => Some(403),
            Self::OrgNotFound { .. } => Some(404),
            Self::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the credential was refused (401 or 403).
    pub fn is_auth(&self) -> bool {
        matches!(self, Self::Unauthorized { .. } | Self::Forbidden { .. })
    }
}

/// Which part of an organization snapshot could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SnapshotPart {
    /// The organization name (`whoami`).
    OrgName,
    /// The user list.
    Users,
    /// The group list.
    Groups,
    /// The members of one group.
    Members {
        /// The group's name.
        group: String,
    },
    /// The SSH keys of one user.
    Keys {
        /// The username.
        username: String,
    },
    /// The settings of the SCIM client for ACTIVATE's SCIM endpoint.
    ScimSetup,
    /// The SSH keys of many users (a systematic failure).
    AllKeys,
}

impl fmt::Display for SnapshotPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OrgName => f.write_str("the organization name"),
            Self::Users => f.write_str("the organization's users"),
            Self::Groups => f.write_str("the organization's groups"),
            Self::Members { group } => write!(f, "members of group {group:?}"),
            Self::Keys { username } => write!(f, "SSH keys of user {username:?}"),
            Self::ScimSetup => f.write_str("ACTIVATE's SCIM endpoint (client setup)"),
            Self::AllKeys => f.write_str("the users' SSH keys"),
        }
    }
}

/// A snapshot could not be read completely; nothing of it is returned.
#[derive(Debug, thiserror::Error)]
#[error("could not read {part}")]
#[non_exhaustive]
pub struct SnapshotError {
    /// The part that failed.
    pub part: SnapshotPart,
    /// Why.
    #[source]
    pub source: ActivateError,
}

impl SnapshotError {
    /// Wraps `source` as the failure to read `part`.
    pub fn new(part: SnapshotPart, source: ActivateError) -> Self {
        Self { part, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_envelope() {
        let m = ServerMessage::parse(
            br#"{"error":true,"message":"user not found","code":"not_found","errors":["a","b"]}"#,
        );
        assert_eq!(m.message, "user not found");
        assert_eq!(m.code.as_deref(), Some("not_found"));
        assert_eq!(m.details, vec!["a", "b"]);
        assert_eq!(m.to_string(), "user not found [not_found]; a; b");
    }

    #[test]
    fn problem_json() {
        let m = ServerMessage::parse(
            br#"{"type":"https://x/problems/validation","title":"Invalid request","detail":"limit too large","status":400,"code":"invalid_request",
                "errors":[{"code":"max","type":"t","detail":"must be <= 500","parameter":"limit","in":"query"}]}"#,
        );
        assert_eq!(
            m.to_string(),
            "limit too large [invalid_request]; limit: must be <= 500"
        );
        let m = ServerMessage::parse(br#"{"type":"about:blank","title":"Forbidden"}"#);
        assert_eq!(m.to_string(), "Forbidden");
        let m = ServerMessage::parse(br#"{"type":"about:blank"}"#);
        assert_eq!(m.to_string(), r#"{"type":"about:blank"}"#);
    }

    #[test]
    fn other_bodies() {
        assert_eq!(
            ServerMessage::parse(b"<html><body><h1>502 Bad Gateway</h1></body></html>").to_string(),
            "502 Bad Gateway"
        );
        assert_eq!(ServerMessage::parse(b"").to_string(), "(empty body)");
        assert_eq!(
            ServerMessage::parse(br#""just text""#).to_string(),
            "just text"
        );
        assert_eq!(
            ServerMessage::parse(b"oops\n  again").to_string(),
            "oops again"
        );
    }

    #[test]
    fn snapshot_error_names_the_part_and_keeps_the_cause() {
        let e = SnapshotError::new(
            SnapshotPart::Members {
                group: "gpu users".into(),
            },
            ActivateError::Http {
                request: "GET /api/organizations/acme/groups/gpu%20users/members".into(),
                status: 503,
                server: ServerMessage::parse(br#"{"error":true,"message":"try later"}"#),
                attempts: 3,
                gave_up: GiveUp::AttemptsExhausted,
            },
        );
        assert_eq!(
            e.to_string(),
            "could not read members of group \"gpu users\""
        );
        assert_eq!(
            std::error::Error::source(&e).unwrap().to_string(),
            "GET /api/organizations/acme/groups/gpu%20users/members: HTTP 503: try later (after 3 attempts, retries exhausted)"
        );
    }
}
