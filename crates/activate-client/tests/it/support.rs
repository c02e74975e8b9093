//! Shared setup: a key pointing at the mock server, a client with a tiny retry policy.

use std::time::Duration;

use activate_client::{ActivateClient, ActivateClientBuilder, Credential};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http_policy::retry::RetryPolicy;
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const SECRET: &str = "S3CRETs3cretS3CRET";

/// A `pwt_` key whose embedded host is the mock server.
pub fn api_key(server: &MockServer) -> String {
    format!("pwt_{}.{SECRET}", URL_SAFE_NO_PAD.encode(server.uri()))
}

/// Millisecond delays, three attempts.
pub fn tiny_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_retry_after: Duration::from_secs(5),
        max_elapsed: Duration::from_secs(30),
    }
}

/// A client for the mock server (its host decoded from the key), without an
/// organization name, retrying quickly.
pub fn builder_without_org(server: &MockServer) -> ActivateClientBuilder {
    let credential = Credential::parse(&api_key(server)).unwrap();
    ActivateClient::builder(credential).retry_policy(tiny_retry())
}

/// [`builder_without_org`] with the organization `acme`.
pub fn builder(server: &MockServer) -> ActivateClientBuilder {
    builder_without_org(server).org("acme")
}

pub fn client(server: &MockServer) -> ActivateClient {
    builder(server).build().unwrap()
}

/// Any request no mock expects gets a loud 418.
pub async fn catch_all(server: &MockServer) {
    Mock::given(any())
        .respond_with(ResponseTemplate::new(418).set_body_string("no mock for this request"))
        .with_priority(u8::MAX)
        .mount(server)
        .await;
}

/// A started server with the catch-all mounted.
pub async fn server() -> MockServer {
    let server = MockServer::start().await;
    catch_all(&server).await;
    server
}

/// An `OrgUser` with the required fields and a few extra ones the client ignores.
pub fn user(id: &str, username: &str, active: bool, license: &str) -> Value {
    json!({
        "id": id,
        "username": username,
        "active": active,
        "admin": false,
        "billingAdmin": false,
        "complimentary": license == "complimentary",
        "licenseStatus": license,
        "email": format!("{username}@example.com"),
        "name": format!("Name {username}"),
        "uid": 1000,
        "lastLogin": "2026-01-01T00:00:00Z",
        "somethingNew": {"nested": [1, 2]}
    })
}

pub fn member(id: &str, username: &str) -> Value {
    json!({"id": id, "username": username, "email": format!("{username}@example.com")})
}

pub use http_policy::chain::render as chain;

/// The `skip` values of the users requests the server received, in order.
pub async fn skips(server: &MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().ends_with("/users"))
        .map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "skip")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        })
        .collect()
}

/// Paths of all received requests, in order.
pub async fn paths(server: &MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect()
}
