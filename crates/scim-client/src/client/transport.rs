//! One logical request: retries, observation, and turning responses into results.

use std::time::{Duration, Instant, SystemTime};

use http_policy::excerpt::body_excerpt;
use http_policy::redact::redact_in;
use http_policy::retry::{self, Exhausted, Failure, GiveUp, Idempotency};
use http_policy::retry_after::parse_retry_after;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, LOCATION, RETRY_AFTER};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use url::Url;

use super::{SCIM_JSON, ScimClient};
use crate::error::ScimError;
use crate::model::ScimErrorBody;
use crate::observe::{Endpoint, Method, RequestEvent, RequestOutcome};

/// Characters of a response body quoted in an error.
const EXCERPT_CHARS: usize = 200;

/// The most a response's `Content-Length` reserves up front; a longer body grows
/// past it as it arrives.
const MAX_BODY_RESERVE: u64 = 64 * 1024 * 1024;

/// Reads a response body chunk by chunk into one buffer, sized by its
/// `Content-Length` when it has one. A 40 MB listing page (a page of large groups)
/// is held once: collecting its chunks and then copying them into a `Vec` held it
/// two or three times at the end of the read.
async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let reserve = response.content_length().unwrap_or(0).min(MAX_BODY_RESERVE);
    let mut body = Vec::with_capacity(usize::try_from(reserve).unwrap_or(0));
    while let Some(chunk) = response.chunk().await? {
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn http_method(method: Method) -> reqwest::Method {
    match method {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Patch => reqwest::Method::PATCH,
    }
}

/// `GET` and the replace/add/remove `PATCH`es this client sends leave the server in
/// the same state when repeated; a `POST` may create a second record.
fn idempotency(method: Method) -> Idempotency {
    match method {
        Method::Get | Method::Patch => Idempotency::Idempotent,
        Method::Post => Idempotency::NonIdempotent,
    }
}

/// A request to make.
#[derive(Debug)]
pub(crate) struct Call {
    pub(crate) method: Method,
    pub(crate) endpoint: Endpoint,
    /// Below the base URL, already percent-encoded: `/Users/abc`.
    pub(crate) path: String,
    /// Already percent-encoded.
    pub(crate) query: Option<String>,
    pub(crate) body: Option<Vec<u8>>,
}

/// A successful response.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) content_type: Option<String>,
    pub(crate) body: Vec<u8>,
    /// Rate-limit headers (`RateLimit-*`, `X-RateLimit-*`, `Retry-After`), as sent.
    pub(crate) limit_headers: Vec<(String, String)>,
}

/// Why one attempt failed.
#[derive(Debug)]
enum AttemptError {
    Transport {
        /// `None` when retrying cannot help (a request that could not be built).
        failure: Option<Failure>,
        maybe_sent: bool,
        source: reqwest::Error,
    },
    Status {
        reply: Reply,
        retry_after: Option<Duration>,
        location: Option<String>,
    },
}

impl AttemptError {
    fn classify(&self) -> Option<Failure> {
        match self {
            Self::Transport { failure, .. } => *failure,
            Self::Status {
                reply, retry_after, ..
            } => Some(Failure::Status {
                status: reply.status,
                retry_after: *retry_after,
            }),
        }
    }
}

fn transport_error(source: reqwest::Error) -> AttemptError {
    let (failure, maybe_sent) = if source.is_builder() || source.is_redirect() {
        (None, false)
    } else if source.is_connect() {
        (Some(Failure::NotSent), false)
    } else {
        (Some(Failure::MaybeSent), true)
    };
    AttemptError::Transport {
        failure,
        maybe_sent,
        source,
    }
}

impl ScimClient {
    /// Makes `call`, retrying as the policy allows, and returns the 2xx response.
    pub(crate) async fn call(&self, call: &Call) -> Result<Reply, ScimError> {
        let url = self.url(&call.path, call.query.as_deref());
        let what = format!("{} {}", call.method, call.path);
        retry::run(
            &self.inner.retry,
            idempotency(call.method),
            &what,
            AttemptError::classify,
            |attempt| self.attempt(call, &url, attempt),
        )
        .await
        .map_err(|exhausted| Self::failure(call, &url, exhausted))
    }

    fn url(&self, path: &str, query: Option<&str>) -> Url {
        let mut url = self.inner.base_url.clone();
        let joined = format!("{}{path}", self.inner.base_url.path().trim_end_matches('/'));
        url.set_path(&joined);
        url.set_query(query);
        url
    }

    async fn attempt(&self, call: &Call, url: &Url, attempt: u32) -> Result<Reply, AttemptError> {
        let permit = match &self.inner.limiter {
            Some(limiter) => Some(limiter.acquire().await),
            None => None,
        };
        let started = Instant::now();
        let mut request = self
            .inner
            .http
            .request(http_method(call.method), url.clone())
            .header(AUTHORIZATION, self.inner.auth.clone());
        if let Some(body) = &call.body {
            request = request.header(CONTENT_TYPE, SCIM_JSON).body(body.clone());
        }
        let result = async {
            let response = request.send().await.map_err(transport_error)?;
            let status = response.status().as_u16();
            let headers = response.headers();
            let retry_after = header(headers, RETRY_AFTER.as_str())
                .and_then(|v| parse_retry_after(&v, SystemTime::now()));
            let content_type = header(headers, CONTENT_TYPE.as_str());
            let location = header(headers, LOCATION.as_str());
            let limit_headers = limit_headers(headers);
            let mut body = read_body(response).await.map_err(transport_error)?;
            // A server may echo the token; mask it before anything reads the body.
            redact_in(&mut body, self.inner.token.expose_secret().as_bytes());
            let reply = Reply {
                status,
                content_type,
                body,
                limit_headers,
            };
            if (200..300).contains(&status) {
                Ok(reply)
            } else {
                Err(AttemptError::Status {
                    reply,
                    retry_after,
                    location,
                })
            }
        }
        .await;
        let outcome = match &result {
            Ok(reply) | Err(AttemptError::Status { reply, .. }) => {
                RequestOutcome::Status(reply.status)
            }
            Err(AttemptError::Transport { maybe_sent, .. }) => RequestOutcome::TransportError {
                maybe_sent: *maybe_sent,
            },
        };
        let event = RequestEvent {
            method: call.method,
            endpoint: call.endpoint,
            outcome,
            attempt,
            duration: started.elapsed(),
        };
        tracing::debug!(
            method = event.method.as_str(),
            path = %call.path,
            outcome = ?event.outcome,
            attempt,
            duration_ms = u64::try_from(event.duration.as_millis()).unwrap_or(u64::MAX),
            "SCIM request"
        );
        if let Some(observer) = &self.inner.observer {
            observer(&event);
        }
        if let Some(permit) = permit {
            match &result {
                Ok(_) => permit.success(),
                Err(AttemptError::Status {
                    reply, retry_after, ..
                }) if reply.status == 429 => permit.rate_limited(*retry_after),
                Err(AttemptError::Status { reply, .. }) if reply.status == 503 => {
                    permit.overloaded();
                }
                // Neither a sign of load nor of its absence: only frees the slot.
                Err(_) => drop(permit),
            }
        }
        result
    }

    fn failure(call: &Call, url: &Url, exhausted: Exhausted<AttemptError>) -> ScimError {
        let Exhausted {
            error,
            attempts,
            reason,
        } = exhausted;
        let method = call.method;
        let error = match error {
            AttemptError::Transport {
                maybe_sent, source, ..
            } => ScimError::Transport {
                method,
                path: call.path.clone(),
                maybe_sent,
                attempts,
                source: Box::new(source),
            },
            AttemptError::Status {
                reply, location, ..
            } => Self::http_error(call, url, &reply, location.as_deref(), attempts),
        };
        if reason == GiveUp::OutcomeUnknown {
            ScimError::OutcomeUnknown {
                method,
                path: call.path.clone(),
                attempts,
                cause: Box::new(error),
            }
        } else {
            error
        }
    }

    fn http_error(
        call: &Call,
        url: &Url,
        reply: &Reply,
        location: Option<&str>,
        attempts: u32,
    ) -> ScimError {
        let scim = (!reply.body.is_empty() && reply.content_type.as_deref().is_none_or(is_json))
            .then(|| serde_json::from_slice::<ScimErrorBody>(&reply.body).ok())
            .flatten()
            .filter(ScimErrorBody::is_scim_error)
            .map(Box::new);
        let excerpt = if (300..400).contains(&reply.status) {
            let target = location.and_then(|l| url.join(l).ok()).map_or_else(
                || "an unnamed location".to_owned(),
                |mut u| {
                    u.set_query(None);
                    u.to_string()
                },
            );
            format!("redirect to {target} not followed (only 307/308 within the same origin are)")
        } else if scim.is_some() {
            String::new()
        } else {
            excerpt(&reply.body)
        };
        ScimError::Http {
            method: call.method,
            path: call.path.clone(),
            status: reply.status,
            scim,
            excerpt,
            attempts,
        }
    }

    /// Decodes a successful response as `T`, naming `what` in the error.
    pub(crate) fn decode<T: DeserializeOwned>(
        call: &Call,
        reply: &Reply,
        what: &'static str,
    ) -> Result<T, ScimError> {
        if let Some(content_type) = reply.content_type.as_deref().filter(|c| !is_json(c)) {
            return Err(ScimError::UnexpectedContentType {
                method: call.method,
                path: call.path.clone(),
                status: reply.status,
                content_type: content_type.to_owned(),
                excerpt: excerpt(&reply.body),
            });
        }
        // Decoded directly; only a body that does not decode is read again, tracking
        // the path, to say where it went wrong (tracking costs on every value). The
        // first decode's verdict stands: the second one does not check what follows
        // the document, so a body that only fails for its trailing bytes still fails.
        let error = match serde_json::from_slice::<T>(&reply.body) {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let deserializer = &mut serde_json::Deserializer::from_slice(&reply.body);
        let (at, inner) = match serde_path_to_error::deserialize::<_, T>(deserializer) {
            Err(tracked) => {
                let path = tracked.path().to_string();
                let at = if path == "." {
                    "the top level".to_owned()
                } else {
                    path
                };
                (at, tracked.into_inner())
            }
            Ok(_) => ("after the document".to_owned(), error),
        };
        Err(ScimError::Decode {
            method: call.method,
            path: call.path.clone(),
            status: reply.status,
            what,
            location: format!("{at} (line {}, column {})", inner.line(), inner.column()),
            excerpt: excerpt(&reply.body),
            source: Box::new(inner),
        })
    }
}

fn excerpt(body: &[u8]) -> String {
    body_excerpt(body, EXCERPT_CHARS)
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The headers that tell of a rate limit, lowercased names in the server's order.
fn limit_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| {
            let name = name.as_str();
            name == RETRY_AFTER.as_str()
                || name.starts_with("ratelimit")
                || name.starts_with("x-ratelimit")
                || name.starts_with("x-rate-limit")
        })
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// `application/scim+json`, `application/json`, or another `+json` type, with any
/// parameters (`; charset=utf-8`).
fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types() {
        for ok in [
            "application/scim+json",
            "application/json",
            "application/scim+json; charset=utf-8",
            "Application/JSON;charset=UTF-8",
        ] {
            assert!(is_json(ok), "{ok}");
        }
        for bad in [
            "text/html",
            "text/plain; charset=utf-8",
            "application/xml",
            "",
        ] {
            assert!(!is_json(bad), "{bad}");
        }
    }
}
