//! The one error type of the crate.

use std::fmt::Write as _;

use http_policy::transport::InsecureUrl;

use crate::model::{ScimErrorBody, ScimType};
use crate::observe::Method;

/// A boxed error cause, so that no HTTP or JSON library type is part of this API.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong talking to a SCIM server.
///
/// `Display` is one short line naming the request and what went wrong; the underlying
/// cause is available through [`source()`](std::error::Error::source). No variant
/// carries the bearer token, and response excerpts have it masked should a server
/// echo it.
///
/// The variants fall into five groups: configuration ([`InvalidUrl`](Self::InvalidUrl),
/// [`InsecureUrl`](Self::InsecureUrl), [`InvalidToken`](Self::InvalidToken),
/// [`InvalidCaCertificate`](Self::InvalidCaCertificate),
/// [`HttpClient`](Self::HttpClient)); transport ([`Transport`](Self::Transport),
/// [`OutcomeUnknown`](Self::OutcomeUnknown)); HTTP status ([`Http`](Self::Http));
/// decoding ([`Decode`](Self::Decode),
/// [`UnexpectedContentType`](Self::UnexpectedContentType)); and paging
/// ([`NoNewIds`](Self::NoNewIds), [`CursorNoProgress`](Self::CursorNoProgress), [`PageCapExceeded`](Self::PageCapExceeded),
/// [`IncompleteListing`](Self::IncompleteListing)). A listing that ends in any error
/// is not a complete listing and must never be read as "no records".
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScimError {
    /// The base URL cannot serve as a SCIM base.
    #[error("invalid SCIM base URL: {reason}")]
    InvalidUrl {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The base URL would expose the token (plain `http://` to a remote host, or
    /// credentials in the URL).
    #[error("refusing the SCIM base URL")]
    InsecureUrl(#[source] InsecureUrl),
    /// The bearer token cannot be used.
    #[error("invalid SCIM bearer token: {reason}")]
    InvalidToken {
        /// What is wrong with it (never the token itself).
        reason: &'static str,
    },
    /// The extra root CA certificate could not be used.
    #[error("invalid extra root CA certificate: {reason}")]
    InvalidCaCertificate {
        /// What is wrong with it.
        reason: &'static str,
        /// The parser's complaint, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// The HTTP client could not be set up.
    #[error("could not set up the HTTP client")]
    HttpClient(#[source] BoxError),
    /// No complete response arrived.
    #[error(
        "{method} {path}: {what}{after}",
        what = if *maybe_sent { "no complete response (the server may have processed the request)" } else { "could not send the request" },
        after = attempts_note(*attempts)
    )]
    Transport {
        /// The HTTP method.
        method: Method,
        /// The path below the base URL, e.g. `/Users/2819c223`.
        path: String,
        /// Whether the request may have reached the server (a timeout or a broken
        /// connection after sending), as opposed to never having been sent.
        maybe_sent: bool,
        /// Attempts made, the first one included.
        attempts: u32,
        /// The transport error.
        #[source]
        source: BoxError,
    },
    /// The server answered with an error status.
    #[error("{}", describe_http(*method, path, *status, scim.as_deref(), excerpt, *attempts))]
    Http {
        /// The HTTP method.
        method: Method,
        /// The path below the base URL.
        path: String,
        /// The HTTP status code.
        status: u16,
        /// The SCIM error body, when the response carried one.
        scim: Option<Box<ScimErrorBody>>,
        /// A one-line excerpt of a body that was not a SCIM error (an HTML gateway
        /// page, say), or a note on a redirect that was not followed; may be empty.
        excerpt: String,
        /// Attempts made, the first one included.
        attempts: u32,
    },
    /// A successful response's body did not decode.
    #[error(
        "{method} {path}: could not decode the {what} in the HTTP {status} response at {location}; body: {excerpt}"
    )]
    Decode {
        /// The HTTP method.
        method: Method,
        /// The path below the base URL.
        path: String,
        /// The HTTP status code.
        status: u16,
        /// What was expected, e.g. `ListResponse<User>`.
        what: &'static str,
        /// Where decoding failed: the JSON path (`Resources[3].active`), line and
        /// column.
        location: String,
        /// A one-line excerpt of the body.
        excerpt: String,
        /// The JSON error.
        #[source]
        source: BoxError,
    },
    /// A successful response was not JSON (a proxy's login page, say).
    #[error(
        "{method} {path}: expected a SCIM JSON response, got {content_type:?} (HTTP {status}): {excerpt}"
    )]
    UnexpectedContentType {
        /// The HTTP method.
        method: Method,
        /// The path below the base URL.
        path: String,
        /// The HTTP status code.
        status: u16,
        /// The `Content-Type` received.
        content_type: String,
        /// A one-line excerpt of the body.
        excerpt: String,
    },
    /// A request that is not idempotent (a `POST`) failed in a way that leaves its
    /// outcome unknown, so it was not repeated. The record may exist now: list again
    /// before creating it again.
    #[error(
        "{method} {path}: outcome unknown, the server may have processed the request; it was not repeated, list again before creating the record again"
    )]
    OutcomeUnknown {
        /// The HTTP method.
        method: Method,
        /// The path below the base URL.
        path: String,
        /// Attempts made, the first one included.
        attempts: u32,
        /// The failure of the last attempt ([`ScimError::Transport`] or
        /// [`ScimError::Http`]).
        #[source]
        cause: Box<ScimError>,
    },
    /// A page brought only ids already seen: the server ignores `startIndex`, and
    /// paging on would loop.
    #[error(
        "{path}: page {page} (startIndex {start_index}) brought no new records; the server appears to ignore startIndex"
    )]
    NoNewIds {
        /// The listed path, e.g. `/Users`.
        path: String,
        /// The 1-based page number.
        page: u32,
        /// The `startIndex` requested.
        start_index: u64,
    },
    /// A cursor page (RFC 9865) brought no new records yet named a next page: the
    /// server's cursors do not advance, and following them would loop.
    #[error(
        "{path}: page {page} of the cursor listing brought no new records but named a next page; the server's cursors do not advance"
    )]
    CursorNoProgress {
        /// The listed path, e.g. `/Users`.
        path: String,
        /// The 1-based page number.
        page: u32,
    },
    /// More pages would be needed than the page cap allows: the cap follows the
    /// announced `totalResults` and the page size the server returns, within the
    /// configured maximum.
    #[error(
        "{path}: listing needs more than {max_pages} pages ({collected} records so far); check the server's paging (the cap follows its totalResults and page size, within the configured maximum)"
    )]
    PageCapExceeded {
        /// The listed path.
        path: String,
        /// The cap.
        max_pages: u32,
        /// Distinct records collected before stopping.
        collected: u64,
    },
    /// The listing ended before the number of results the server announced.
    #[error(
        "{path}: incomplete listing: the server announced {expected} results but the pages held {got}"
    )]
    IncompleteListing {
        /// The listed path.
        path: String,
        /// `totalResults` as announced.
        expected: u64,
        /// Distinct records received.
        got: u64,
    },
}

fn attempts_note(attempts: u32) -> String {
    if attempts > 1 {
        format!(" after {attempts} attempts")
    } else {
        String::new()
    }
}

fn describe_http(
    method: Method,
    path: &str,
    status: u16,
    scim: Option<&ScimErrorBody>,
    excerpt: &str,
    attempts: u32,
) -> String {
    let mut out = format!("{method} {path}: HTTP {status}");
    if let Some(kind) = scim.and_then(|s| s.scim_type.as_ref()) {
        let _ = write!(out, " ({kind})");
    }
    out.push_str(&attempts_note(attempts));
    let detail = scim
        .and_then(|s| s.detail.as_deref())
        .filter(|d| !d.trim().is_empty())
        .unwrap_or(excerpt);
    if !detail.is_empty() {
        let _ = write!(out, ": {detail}");
    }
    out
}

impl ScimError {
    /// The HTTP status of the response, if one arrived.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Http { status, .. }
            | Self::Decode { status, .. }
            | Self::UnexpectedContentType { status, .. } => Some(*status),
            Self::OutcomeUnknown { cause, .. } => cause.status(),
            _ => None,
        }
    }

    /// The SCIM error keyword, if the server sent one.
    pub fn scim_type(&self) -> Option<&ScimType> {
        match self {
            Self::Http { scim, .. } => scim.as_ref().and_then(|s| s.scim_type.as_ref()),
            Self::OutcomeUnknown { cause, .. } => cause.scim_type(),
            _ => None,
        }
    }

    /// A `404 Not Found`: a stale id, typically. List again rather than fail the run.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Http { status: 404, .. })
    }

    /// A `409 Conflict` (`scimType` `uniqueness`, typically a `userName` in use).
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Http { status: 409, .. })
    }

    /// Whether the request may have changed something on the server despite the
    /// error: a write whose response was lost, that a gateway failed on (500, 502,
    /// 504), or whose successful response did not decode. Always `false` for `GET`.
    pub fn maybe_processed(&self) -> bool {
        match self {
            Self::OutcomeUnknown { .. } => true,
            Self::Transport {
                method, maybe_sent, ..
            } => *maybe_sent && *method != Method::Get,
            Self::Http { method, status, .. } => {
                *method != Method::Get && matches!(status, 500 | 502 | 504)
            }
            Self::Decode { method, .. } | Self::UnexpectedContentType { method, .. } => {
                *method != Method::Get
            }
            _ => false,
        }
    }

    /// Attempts made for the failed request, if a request was made.
    pub fn attempts(&self) -> Option<u32> {
        match self {
            Self::Transport { attempts, .. }
            | Self::Http { attempts, .. }
            | Self::OutcomeUnknown { attempts, .. } => Some(*attempts),
            _ => None,
        }
    }

    /// Whether the server refused a filter: `400` with `scimType` `invalidFilter`,
    /// `501 Not Implemented`, or a `400` without `scimType` whose message names the
    /// filter.
    pub fn is_filter_rejection(&self) -> bool {
        let Self::Http {
            status,
            scim,
            excerpt,
            ..
        } = self
        else {
            return false;
        };
        let scim_type = scim.as_ref().and_then(|s| s.scim_type.as_ref());
        match (status, scim_type) {
            (400, Some(ScimType::InvalidFilter)) | (501, _) => true,
            (400, None) => {
                let detail = scim.as_ref().and_then(|s| s.detail.as_deref());
                detail
                    .unwrap_or(excerpt)
                    .to_ascii_lowercase()
                    .contains("filter")
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    fn http(
        method: Method,
        status: u16,
        scim: Option<Box<ScimErrorBody>>,
        excerpt: &str,
    ) -> ScimError {
        ScimError::Http {
            method,
            path: "/Users".into(),
            status,
            scim,
            excerpt: excerpt.into(),
            attempts: 1,
        }
    }

    fn body(json: serde_json::Value) -> Option<Box<ScimErrorBody>> {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn http_messages_are_short_and_specific() {
        let e = http(
            Method::Post,
            409,
            body(serde_json::json!({"scimType": "uniqueness", "detail": "userName taken"})),
            "",
        );
        assert_eq!(
            e.to_string(),
            "POST /Users: HTTP 409 (uniqueness): userName taken"
        );
        assert!(e.is_conflict());
        assert_eq!(e.scim_type(), Some(&ScimType::Uniqueness));
        assert!(!e.maybe_processed());
        let e = http(Method::Get, 502, None, "502 Bad Gateway");
        assert_eq!(e.to_string(), "GET /Users: HTTP 502: 502 Bad Gateway");
        assert!(!e.maybe_processed(), "a GET changes nothing");
        assert!(http(Method::Patch, 502, None, "").maybe_processed());
        assert_eq!(
            http(Method::Get, 404, None, "").to_string(),
            "GET /Users: HTTP 404"
        );
        assert!(http(Method::Get, 404, None, "").is_not_found());
    }

    #[test]
    fn filter_rejections() {
        let invalid = body(serde_json::json!({"scimType": "invalidFilter"}));
        assert!(http(Method::Get, 400, invalid, "").is_filter_rejection());
        assert!(http(Method::Get, 501, None, "").is_filter_rejection());
        assert!(http(Method::Get, 400, None, "Unsupported FILTER operator").is_filter_rejection());
        assert!(!http(Method::Get, 400, None, "bad request").is_filter_rejection());
        let other = body(serde_json::json!({"scimType": "tooMany", "detail": "filter too broad"}));
        assert!(!http(Method::Get, 400, other, "").is_filter_rejection());
        assert!(!http(Method::Get, 401, None, "filter").is_filter_rejection());
    }

    #[test]
    fn outcome_unknown_keeps_its_cause() {
        let e = ScimError::OutcomeUnknown {
            method: Method::Post,
            path: "/Users".into(),
            attempts: 1,
            cause: Box::new(http(Method::Post, 502, None, "Bad Gateway")),
        };
        assert!(e.to_string().contains("list again before creating"));
        assert!(
            !e.to_string().contains("Bad Gateway"),
            "Display never prints the source"
        );
        assert_eq!(
            e.source().unwrap().to_string(),
            "POST /Users: HTTP 502: Bad Gateway"
        );
        assert_eq!(
            (e.status(), e.maybe_processed(), e.attempts()),
            (Some(502), true, Some(1))
        );
    }
}
