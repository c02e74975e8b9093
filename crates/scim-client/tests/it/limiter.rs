//! The adaptive limiter as the client feeds it: successes, overloads, `Retry-After`.

use std::sync::Arc;
use std::time::Duration;

use scim_client::{AdaptiveLimiter, LimiterConfig, RetryPolicy, ScimError};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{builder, fast_retries, scim, scim_error, user};

fn limited(
    server: &MockServer,
    retry: RetryPolicy,
) -> (scim_client::ScimClient, Arc<AdaptiveLimiter>) {
    let limiter = Arc::new(AdaptiveLimiter::new(LimiterConfig::new(4)));
    let client = builder(server)
        .retry_policy(retry)
        .limiter(Arc::clone(&limiter))
        .build()
        .unwrap();
    (client, limiter)
}

#[tokio::test]
async fn successes_and_client_errors_leave_the_limits_alone() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/org-1/Users/u1"))
        .respond_with(scim(200, &user(1)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/scim/org-1/Users/missing"))
        .respond_with(scim_error(404, None, "no such user"))
        .mount(&server)
        .await;
    let (client, limiter) = limited(&server, fast_retries(3));
    assert_eq!(client.get_user("u1").await.unwrap().id, "u1");
    assert!(client.get_user("missing").await.unwrap_err().is_not_found());
    let now = limiter.current();
    assert_eq!(
        (now.concurrency, now.rate, now.in_flight, now.overloads),
        (4, None, 0, 0)
    );
    assert_eq!(client.limits(), Some(now));
}

#[tokio::test]
async fn a_429_with_retry_after_pauses_every_request_of_the_client() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(scim_error(429, None, "slow down").insert_header("retry-after", "30"))
        .mount(&server)
        .await;
    let (client, limiter) = limited(&server, RetryPolicy::never());
    let error = client.get_user("u1").await.unwrap_err();
    assert!(
        matches!(error, ScimError::Http { status: 429, .. }),
        "{error:?}"
    );
    let now = limiter.current();
    assert_eq!(now.overloads, 1);
    assert_eq!(now.concurrency, 2, "4 × 0.7, rounded down");
    assert_eq!(now.in_flight, 0);
    assert!(
        now.paused_for > Duration::from_secs(20) && now.paused_for <= Duration::from_secs(30),
        "{:?}",
        now.paused_for
    );
    // The next request of any clone waits for the pause: it has not reached the
    // server when a short deadline expires.
    let other = client.clone();
    let waited = tokio::time::timeout(Duration::from_millis(300), other.get_user("u2")).await;
    assert!(waited.is_err(), "the request was not held back");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_503_shrinks_the_window_without_a_pause() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "30"))
        .mount(&server)
        .await;
    let (client, limiter) = limited(&server, RetryPolicy::never());
    let patch =
        scim_client::PatchOp::new().with(scim_client::PatchOperation::replace_active(false));
    let error = client.patch_user("u1", &patch).await.unwrap_err();
    assert_eq!(error.status(), Some(503));
    let now = limiter.current();
    assert_eq!(
        (now.overloads, now.concurrency, now.rate, now.paused_for),
        (1, 2, None, Duration::ZERO)
    );
}

#[tokio::test]
async fn a_retried_429_succeeds_after_the_pause_and_counts_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/scim/org-1/Users"))
        .respond_with(scim_error(429, None, "slow down").insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/scim/org-1/Users"))
        .respond_with(scim(201, &json!({"id": "srv-1", "userName": "alice"})))
        .mount(&server)
        .await;
    let (client, limiter) = limited(&server, fast_retries(3));
    let created = client
        .create_user(&scim_client::NewUser::new("alice"))
        .await
        .unwrap();
    assert_eq!(created.id, "srv-1");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    let now = limiter.current();
    assert_eq!((now.overloads, now.in_flight), (1, 0));
    assert_eq!(now.paused_for, Duration::ZERO);
}
