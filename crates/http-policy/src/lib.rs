//! Transport policy shared by the ACTIVATE and SCIM clients.
//!
//! This crate holds the rules both HTTP clients of the workspace must apply the same
//! way, so that they are written and tested once:
//!
//! - [`retry`]: a pure, unit-tested decision ([`retry::decide`]) on whether a failed
//!   request may be sent again and after how long, and the small async loop
//!   ([`retry::run`]) that applies it. A request that may already have been processed
//!   and is not idempotent (a `POST`) is never repeated blindly.
//! - [`limiter`]: an adaptive limit on requests in flight and requests per second,
//!   shared by all tasks of one client: additive increase, multiplicative decrease on
//!   `429`/`503`, and a `Retry-After` that pauses every sender at once.
//! - [`retry_after`]: parsing of `Retry-After` (delta seconds or an HTTP date).
//! - [`transport`]: plain `http://` only to loopback hosts, and no credentials in URLs.
//! - [`excerpt`]: a short, single-line excerpt of a response body (HTML gateway pages
//!   included) for error messages.
//! - [`redact`]: masking a secret that a server echoes back in a response body.
//! - [`chain`]: an error and its causes on one line, for messages that are not errors.
//!
//! It is **not** an HTTP client: it performs no I/O besides sleeping between attempts
//! (and waiting for a limiter permit),
//! and knows nothing of SCIM or ACTIVATE.
//!
//! ```
//! use std::time::Duration;
//! use http_policy::retry::{decide, Decision, Failure, Idempotency, RetryPolicy};
//!
//! let policy = RetryPolicy::default();
//! // A 429 with `Retry-After: 2` on the first attempt of a GET: wait the 2 s asked for.
//! let failure = Failure::Status { status: 429, retry_after: Some(Duration::from_secs(2)) };
//! let decision = decide(&policy, Idempotency::Idempotent, failure, 1, Duration::ZERO, 0.5);
//! assert_eq!(decision, Decision::Retry(Duration::from_secs(2)));
//! ```

pub mod chain;
pub mod excerpt;
pub mod limiter;
pub mod redact;
pub mod retry;
pub mod retry_after;
pub mod transport;
