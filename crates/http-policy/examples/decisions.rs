//! Prints what the retry policy decides for the failures the clients meet, for a GET
//! and for a POST.
//!
//! ```sh
//! cargo run -p http-policy --example decisions
//! ```

use std::time::Duration;

use http_policy::retry::{Failure, Idempotency, RetryPolicy, decide};

fn main() {
    let policy = RetryPolicy::default();
    let failures = [
        (
            "429, Retry-After: 2",
            Failure::Status {
                status: 429,
                retry_after: Some(Duration::from_secs(2)),
            },
        ),
        (
            "429, Retry-After: 600",
            Failure::Status {
                status: 429,
                retry_after: Some(Duration::from_secs(600)),
            },
        ),
        (
            "503",
            Failure::Status {
                status: 503,
                retry_after: None,
            },
        ),
        (
            "502",
            Failure::Status {
                status: 502,
                retry_after: None,
            },
        ),
        (
            "500",
            Failure::Status {
                status: 500,
                retry_after: None,
            },
        ),
        (
            "404",
            Failure::Status {
                status: 404,
                retry_after: None,
            },
        ),
        ("connection refused", Failure::NotSent),
        ("timeout after sending", Failure::MaybeSent),
    ];
    println!("{:<24} {:<34} POST", "failure (attempt 1)", "GET / PATCH");
    for (label, failure) in failures {
        let get = decide(
            &policy,
            Idempotency::Idempotent,
            failure,
            1,
            Duration::ZERO,
            0.5,
        );
        let post = decide(
            &policy,
            Idempotency::NonIdempotent,
            failure,
            1,
            Duration::ZERO,
            0.5,
        );
        let get = format!("{get:?}");
        println!("{label:<24} {get:<34} {post:?}");
    }
}
