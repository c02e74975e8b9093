//! What every server of this crate (both emulators and the proxy) puts in front of
//! its handlers: a [`Front`] logs each request and applies the fault model of
//! [`crate::faults`] with its seed, its count of each identity's occurrences, and
//! the rate-limit bucket.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;

use crate::faults::{self, Decision, HttpFaults, InjectedFault, Outcome, RateLimit, RequestId};
use crate::lock;
use crate::net::ConnectionControl;
use crate::request_log::{Method, RequestLog};

/// The request log, the seed, the occurrences seen and the rate-limit bucket of one
/// server.
#[derive(Debug)]
pub(crate) struct Front<R> {
    pub(crate) log: RequestLog<R>,
    seed: u64,
    seen: Mutex<HashMap<RequestId, u64>>,
    bucket: Mutex<Option<Bucket>>,
}

#[derive(Debug)]
struct Bucket {
    limit: RateLimit,
    tokens: f64,
    last: Instant,
}

impl<R: Copy + Ord> Front<R> {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            log: RequestLog::default(),
            seed,
            seen: Mutex::new(HashMap::new()),
            bucket: Mutex::new(None),
        }
    }

    /// The drawn decision for the next occurrence of the request `id` names (the
    /// identity is computed only when some fault is drawn). The rate limit comes
    /// after the latency: see [`limit`](Self::limit).
    pub(crate) fn decide(&self, faults: &HttpFaults, id: impl FnOnce() -> RequestId) -> Decision {
        if faults.draws_nothing() {
            faults::decide(faults, self.seed, RequestId::named(""), 0)
        } else {
            let id = id();
            let occurrence = {
                let mut seen = lock(&self.seen);
                let n = seen.entry(id).or_default();
                *n += 1;
                *n
            };
            faults::decide(faults, self.seed, id, occurrence)
        }
    }

    /// `decision`, or a `429` when the rate limit's bucket is empty (taken when the
    /// request is handled, after its latency).
    pub(crate) fn limit(&self, faults: &HttpFaults, decision: Decision) -> Decision {
        match faults.rate_limit.map(|limit| self.take_token(limit)) {
            Some(Err(retry_after_secs)) => Decision {
                outcome: Outcome::RateLimited { retry_after_secs },
                lose_post: false,
                ..decision
            },
            _ => decision,
        }
    }

    /// Forgets the rate-limit bucket (the next request starts with a full bucket).
    pub(crate) fn reset_rate_limit(&self) {
        *lock(&self.bucket) = None;
    }

    /// Takes a token; `Err(retry_after_secs)` when none is left.
    fn take_token(&self, limit: RateLimit) -> Result<(), u64> {
        let now = Instant::now();
        let mut slot = lock(&self.bucket);
        let bucket = match slot.as_mut() {
            Some(b) if b.limit == limit => b,
            _ => slot.insert(Bucket {
                limit,
                tokens: f64::from(limit.requests),
                last: now,
            }),
        };
        let rate = f64::from(limit.requests) / limit.per.as_secs_f64().max(f64::MIN_POSITIVE);
        let elapsed = now.duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(f64::from(limit.requests));
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else if rate <= 0.0 {
            Err(limit.per.as_secs().max(1))
        } else {
            let wait = (1.0 - bucket.tokens) / rate;
            // Whole seconds, rounded up, at least 1 (Retry-After has no fractions).
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let secs = wait.ceil().max(1.0) as u64;
            Err(secs)
        }
    }
}

/// What is sent instead of handling the request: the answer for `429`, `503` and
/// `500` (its body made by `error(status, message)`), or for a reset a response
/// that never reaches the client because the connection is reset. `None`: handle
/// the request (after any stall).
pub(crate) fn refusal(
    outcome: Outcome,
    connection: &ConnectionControl,
    error: impl Fn(u16, &str) -> Response,
) -> Option<Response> {
    let (mut response, retry_after) = match outcome {
        Outcome::Proceed | Outcome::Stall(_) => return None,
        Outcome::Reset => {
            connection.reset();
            return Some(StatusCode::INTERNAL_SERVER_ERROR.into_response());
        }
        Outcome::RateLimited { retry_after_secs } => {
            (error(429, "too many requests"), Some(retry_after_secs))
        }
        Outcome::Error503 { retry_after_secs } => (
            error(503, "service temporarily unavailable"),
            Some(retry_after_secs),
        ),
        Outcome::Error500 => (error(500, "internal server error"), None),
    };
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    Some(response)
}

/// `path?query` of a request.
pub(crate) fn target(uri: &Uri) -> &str {
    uri.path_and_query().map_or("/", |pq| pq.as_str())
}

/// Sleeps `duration` unless it is zero.
pub(crate) async fn wait(duration: Duration) {
    if !duration.is_zero() {
        tokio::time::sleep(duration).await;
    }
}

impl<R: Copy + Ord> Front<R> {
    /// One emulator request from arrival to answer: logged as `resource`, then
    /// the faults decided and applied; a request that gets through goes to
    /// `handle`. A `POST` whose answer is to be lost is handled, then its connection
    /// reset.
    pub(crate) async fn serve(
        &self,
        faults: &HttpFaults,
        resource: R,
        connection: &ConnectionControl,
        request: Request,
        error: impl Fn(u16, &str) -> Response,
        handle: impl AsyncFnOnce(Request) -> Response,
    ) -> Response {
        let method = Method::from(request.method());
        let (parts, body) = request.into_parts();
        let Ok(body) = to_bytes(body, usize::MAX).await else {
            return error(400, "the request body could not be read");
        };
        let mut pending = self.log.begin(
            method,
            resource,
            parts.uri.path().to_owned(),
            parts.uri.query().map(str::to_owned),
            body.len(),
        );
        let decision = self.decide(faults, || {
            RequestId::of_request(parts.method.as_str(), target(&parts.uri), &body)
        });
        wait(decision.latency).await;
        let decision = self.limit(faults, decision);
        pending.set_fault(decision.outcome.fault());
        if let Outcome::Stall(delay) = decision.outcome {
            wait(delay).await;
        }
        if let Some(response) = refusal(decision.outcome, connection, error) {
            if decision.outcome != Outcome::Reset {
                pending.status = Some(response.status().as_u16());
            }
            return response;
        }
        let response = handle(Request::from_parts(parts, Body::from(body))).await;
        if decision.lose_post && method == Method::Post && response.status().is_success() {
            pending.set_fault(Some(InjectedFault::LostResponse));
            connection.reset();
            return response;
        }
        pending.status = Some(response.status().as_u16());
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_the_burst_then_refuses_with_retry_after() {
        let front = Front::<()>::new(0);
        let faults = HttpFaults {
            rate_limit: Some(RateLimit {
                requests: 3,
                per: Duration::from_secs(60),
            }),
            lost_post_probability: 1.0,
            ..HttpFaults::default()
        };
        let next = || {
            let decision = front.decide(&faults, || RequestId::named("POST /Users"));
            front.limit(&faults, decision)
        };
        for _ in 0..3 {
            let decision = next();
            assert_eq!(
                (decision.outcome, decision.lose_post),
                (Outcome::Proceed, true)
            );
        }
        // One token comes back every 20 s; a refused request loses nothing.
        let refused = next();
        let Outcome::RateLimited { retry_after_secs } = refused.outcome else {
            panic!("{refused:?}");
        };
        assert!((19..=20).contains(&retry_after_secs), "{retry_after_secs}");
        assert!(!refused.lose_post);
        front.reset_rate_limit();
        assert_eq!(next().outcome, Outcome::Proceed);
    }

    #[test]
    fn occurrences_of_one_identity_get_their_own_draws() {
        let faults = HttpFaults {
            error_503_probability: 0.5,
            ..HttpFaults::default()
        };
        let id = RequestId::named("GET /Users");
        let run = || {
            let front = Front::<()>::new(42);
            (1..=32)
                .map(|_| front.decide(&faults, || id).outcome)
                .collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        let expected: Vec<Outcome> = (1..=32)
            .map(|n| faults::decide(&faults, 42, id, n).outcome)
            .collect();
        assert_eq!(first, expected);
        assert!(first.contains(&Outcome::Proceed));
        assert!(first.iter().any(|o| *o != Outcome::Proceed));
    }
}
