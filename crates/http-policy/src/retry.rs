//! When to send a failed request again, and the loop that does it.
//!
//! The decision ([`decide`]) is a pure function of the policy, the request's
//! idempotency, the failure, the attempt number, the time spent so far and a jitter
//! sample, so every rule is unit-tested without a clock. [`run`] is the thin async
//! loop around it.

use std::future::Future;
use std::time::Duration;

/// Limits for retrying one logical request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first one included. `1` disables retries.
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubled for each further one.
    pub base_delay: Duration,
    /// Upper bound of one computed backoff.
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured. A server asking for more ends the retries,
    /// since waiting less than it asked only earns another refusal.
    pub max_retry_after: Duration,
    /// Time budget for all attempts of one request, waits included.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
            max_elapsed: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn never() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }
}

/// Whether repeating a request can change the outcome on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// `GET`, and the `PATCH … replace` operations our clients send: repeating them
    /// leaves the server in the same state.
    Idempotent,
    /// `POST`: a repeat after an unknown outcome may create a second record.
    NonIdempotent,
}

/// What went wrong with one attempt, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The server answered with this status.
    Status {
        /// The HTTP status code.
        status: u16,
        /// The parsed `Retry-After` header, if any.
        retry_after: Option<Duration>,
    },
    /// The request never reached the server (DNS, connection refused, TLS handshake).
    NotSent,
    /// The request may have been processed: the connection broke or timed out after the
    /// request was written.
    MaybeSent,
}

/// The verdict on a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Send the request again after this delay.
    Retry(Duration),
    /// Stop and report the failure.
    GiveUp(GiveUp),
}

/// Why no further attempt is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUp {
    /// The failure is not transient (a 4xx other than 429, a 500, …).
    NotRetryable,
    /// `max_attempts` were made.
    AttemptsExhausted,
    /// The next wait would exceed the time budget, or the server asked to wait longer
    /// than `max_retry_after`.
    BudgetExhausted,
    /// The request is not idempotent and may already have been processed; repeating it
    /// could duplicate a record. The caller must look before it sends it again.
    OutcomeUnknown,
}

impl GiveUp {
    /// A short phrase for error messages.
    pub fn describe(self) -> &'static str {
        match self {
            Self::NotRetryable => "not retryable",
            Self::AttemptsExhausted => "retries exhausted",
            Self::BudgetExhausted => "retry time budget exhausted",
            Self::OutcomeUnknown => "outcome unknown, not repeated",
        }
    }
}

/// Statuses that mean "try again later": 429, 502, 503, 504.
pub fn is_transient_status(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

/// Decides whether to retry after `attempts` attempts (1 after the first) have failed,
/// `elapsed` after the first one started.
///
/// `jitter` is a sample from `[0, 1)`; the computed backoff is spread over
/// `[d/2, d)` ("equal jitter") so that concurrent clients do not retry in lockstep.
/// A `Retry-After` from the server is honoured as given (up to `max_retry_after`).
///
/// A non-idempotent request is retried only when the server cannot have processed it:
/// it was never sent, or the server refused it with 429 or 503. After a 502, a 504 or a
/// broken connection its outcome is unknown and it is not repeated.
pub fn decide(
    policy: &RetryPolicy,
    idempotency: Idempotency,
    failure: Failure,
    attempts: u32,
    elapsed: Duration,
    jitter: f64,
) -> Decision {
    let retry_after = match failure {
        Failure::Status {
            status,
            retry_after,
        } => {
            if !is_transient_status(status) {
                return Decision::GiveUp(GiveUp::NotRetryable);
            }
            if idempotency == Idempotency::NonIdempotent && !matches!(status, 429 | 503) {
                return Decision::GiveUp(GiveUp::OutcomeUnknown);
            }
            retry_after
        }
        Failure::NotSent => None,
        Failure::MaybeSent => {
            if idempotency == Idempotency::NonIdempotent {
                return Decision::GiveUp(GiveUp::OutcomeUnknown);
            }
            None
        }
    };
    if attempts >= policy.max_attempts {
        return Decision::GiveUp(GiveUp::AttemptsExhausted);
    }
    let delay = match retry_after {
        Some(asked) if asked > policy.max_retry_after => {
            return Decision::GiveUp(GiveUp::BudgetExhausted);
        }
        Some(asked) => asked,
        None => backoff(policy, attempts, jitter),
    };
    if elapsed.saturating_add(delay) > policy.max_elapsed {
        return Decision::GiveUp(GiveUp::BudgetExhausted);
    }
    Decision::Retry(delay)
}

fn backoff(policy: &RetryPolicy, attempts: u32, jitter: f64) -> Duration {
    let exponent = attempts.saturating_sub(1).min(20);
    let full = policy
        .base_delay
        .saturating_mul(1 << exponent)
        .min(policy.max_delay);
    let jitter = jitter.clamp(0.0, 1.0);
    full / 2 + full.mul_f64(jitter / 2.0)
}

/// The final error of [`run`], with how many attempts were made and why it stopped.
#[derive(Debug)]
pub struct Exhausted<E> {
    /// The error of the last attempt.
    pub error: E,
    /// Attempts made, the first one included.
    pub attempts: u32,
    /// Why no further attempt was made.
    pub reason: GiveUp,
}

/// Runs `attempt` until it succeeds or [`decide`] gives up.
///
/// `classify` maps an error to a [`Failure`], or to `None` for errors that are never
/// retried (a decode error, say). `attempt` receives the 1-based attempt number. Each
/// retry is logged at `warn` with `what` naming the request.
pub async fn run<T, E, F, Fut>(
    policy: &RetryPolicy,
    idempotency: Idempotency,
    what: &str,
    classify: impl Fn(&E) -> Option<Failure>,
    mut attempt: F,
) -> Result<T, Exhausted<E>>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let started = tokio::time::Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let error = match attempt(attempts).await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let Some(failure) = classify(&error) else {
            return Err(Exhausted {
                error,
                attempts,
                reason: GiveUp::NotRetryable,
            });
        };
        let jitter: f64 = rand::random();
        match decide(
            policy,
            idempotency,
            failure,
            attempts,
            started.elapsed(),
            jitter,
        ) {
            Decision::Retry(delay) => {
                tracing::warn!(
                    request = what,
                    attempt = attempts,
                    failure = ?failure,
                    delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    "transient failure, retrying"
                );
                tokio::time::sleep(delay).await;
            }
            Decision::GiveUp(reason) => {
                return Err(Exhausted {
                    error,
                    attempts,
                    reason,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const GET: Idempotency = Idempotency::Idempotent;
    const POST: Idempotency = Idempotency::NonIdempotent;

    fn status(status: u16) -> Failure {
        Failure::Status {
            status,
            retry_after: None,
        }
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
            max_retry_after: Duration::from_secs(30),
            max_elapsed: Duration::from_secs(10),
        }
    }

    #[test]
    fn transient_statuses_are_retried_with_backoff() {
        let p = policy();
        for s in [429, 502, 503, 504] {
            assert_eq!(
                decide(&p, GET, status(s), 1, Duration::ZERO, 0.0),
                Decision::Retry(Duration::from_millis(50)),
                "{s}"
            );
        }
        assert_eq!(
            decide(&p, GET, status(503), 2, Duration::ZERO, 0.0),
            Decision::Retry(Duration::from_millis(100))
        );
        // 400 ms capped at 350 ms, then equal jitter at its top.
        assert_eq!(
            decide(&p, GET, status(503), 3, Duration::ZERO, 0.999_999),
            Decision::Retry(Duration::from_nanos(349_999_825))
        );
    }

    #[test]
    fn permanent_statuses_are_not_retried() {
        for s in [400, 401, 403, 404, 409, 412, 413, 500, 501] {
            assert_eq!(
                decide(&policy(), GET, status(s), 1, Duration::ZERO, 0.5),
                Decision::GiveUp(GiveUp::NotRetryable),
                "{s}"
            );
        }
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let p = policy();
        let asked = |secs| Failure::Status {
            status: 429,
            retry_after: Some(Duration::from_secs(secs)),
        };
        assert_eq!(
            decide(&p, GET, asked(7), 1, Duration::ZERO, 0.0),
            Decision::Retry(Duration::from_secs(7))
        );
        assert_eq!(
            decide(&p, GET, asked(31), 1, Duration::ZERO, 0.0),
            Decision::GiveUp(GiveUp::BudgetExhausted)
        );
        assert_eq!(
            decide(&p, GET, asked(7), 1, Duration::from_secs(4), 0.0),
            Decision::GiveUp(GiveUp::BudgetExhausted),
            "4 s spent + 7 s asked exceeds the 10 s budget"
        );
    }

    #[test]
    fn attempts_are_bounded() {
        assert_eq!(
            decide(&policy(), GET, status(503), 4, Duration::ZERO, 0.0),
            Decision::GiveUp(GiveUp::AttemptsExhausted)
        );
        assert_eq!(
            decide(
                &RetryPolicy::never(),
                GET,
                status(503),
                1,
                Duration::ZERO,
                0.0
            ),
            Decision::GiveUp(GiveUp::AttemptsExhausted)
        );
    }

    #[test]
    fn post_is_repeated_only_when_not_processed() {
        let p = policy();
        assert!(matches!(
            decide(&p, POST, status(429), 1, Duration::ZERO, 0.0),
            Decision::Retry(_)
        ));
        assert!(matches!(
            decide(&p, POST, status(503), 1, Duration::ZERO, 0.0),
            Decision::Retry(_)
        ));
        assert!(matches!(
            decide(&p, POST, Failure::NotSent, 1, Duration::ZERO, 0.0),
            Decision::Retry(_)
        ));
        for unknown in [status(502), status(504), Failure::MaybeSent] {
            assert_eq!(
                decide(&p, POST, unknown, 1, Duration::ZERO, 0.0),
                Decision::GiveUp(GiveUp::OutcomeUnknown)
            );
        }
        assert!(matches!(
            decide(&p, GET, Failure::MaybeSent, 1, Duration::ZERO, 0.0),
            Decision::Retry(_)
        ));
    }

    proptest! {
        #[test]
        fn backoff_stays_within_bounds(attempts in 1u32..64, jitter in 0.0f64..1.0) {
            let p = policy();
            match decide(&p, GET, status(503), attempts, Duration::ZERO, jitter) {
                Decision::Retry(d) => {
                    prop_assert!(attempts < p.max_attempts);
                    prop_assert!(d <= p.max_delay);
                    prop_assert!(d >= p.base_delay / 2);
                }
                Decision::GiveUp(reason) => prop_assert_eq!(reason, GiveUp::AttemptsExhausted),
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn run_retries_until_success_and_counts_attempts() {
        let mut calls = 0;
        let result: Result<&str, Exhausted<u16>> = run(
            &policy(),
            GET,
            "GET /x",
            |s: &u16| Some(status(*s)),
            |n| {
                calls += 1;
                async move { if n < 3 { Err(503) } else { Ok("done") } }
            },
        )
        .await;
        assert_eq!(result.unwrap(), "done");
        assert_eq!(calls, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn run_reports_attempts_and_reason() {
        let err = run(
            &policy(),
            GET,
            "GET /x",
            |s: &u16| Some(status(*s)),
            |_| async { Err::<(), u16>(503) },
        )
        .await
        .unwrap_err();
        assert_eq!(
            (err.error, err.attempts, err.reason),
            (503, 4, GiveUp::AttemptsExhausted)
        );

        let err = run(
            &policy(),
            GET,
            "GET /x",
            |_: &u16| None,
            |_| async { Err::<(), u16>(503) },
        )
        .await
        .unwrap_err();
        assert_eq!((err.attempts, err.reason), (1, GiveUp::NotRetryable));
    }
}
