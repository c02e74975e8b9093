//! Error responses: both body shapes, non-JSON pages, auth hints, retries.

use activate_client::ActivateError;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support;

const GROUPS: &str = "/api/organizations/acme/groups";

async fn respond(server: &MockServer, template: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(GROUPS))
        .respond_with(template)
        .mount(server)
        .await;
}

async fn groups_error(template: ResponseTemplate) -> (ActivateError, MockServer) {
    let server = support::server().await;
    respond(&server, template).await;
    let err = support::client(&server)
        .list_groups("acme")
        .await
        .unwrap_err();
    (err, server)
}

#[tokio::test]
async fn legacy_error_envelope() {
    let (err, _server) = groups_error(ResponseTemplate::new(400).set_body_json(json!({
        "error": true, "message": "limit must be at most 500", "code": "invalid_request",
        "errors": ["limit: too large"]
    })))
    .await;
    assert_eq!(err.status(), Some(400));
    assert_eq!(
        err.to_string(),
        "GET /api/organizations/acme/groups: HTTP 400: limit must be at most 500 [invalid_request]; limit: too large"
    );
}

#[tokio::test]
async fn problem_json() {
    let (err, _server) = groups_error(
        ResponseTemplate::new(422).set_body_raw(
            r#"{"type":"https://activate/problems/validation","title":"Validation failed","detail":"the group filter is invalid","status":422,"code":"validation","errors":[{"code":"enum","type":"t","detail":"must be aws, azure or gcp","parameter":"csp","in":"query"}]}"#,
            "application/problem+json",
        ),
    )
    .await;
    assert_eq!(
        err.to_string(),
        "GET /api/organizations/acme/groups: HTTP 422: the group filter is invalid [validation]; csp: must be aws, azure or gcp"
    );
}

#[tokio::test]
async fn html_gateway_page_is_an_excerpt_without_tags_after_retries() {
    let (err, server) = groups_error(ResponseTemplate::new(502).set_body_raw(
        "<!DOCTYPE html><html><head><title>502 Bad Gateway</title><style>h1{}</style></head>\n<body><h1>Bad Gateway</h1><p>nginx</p></body></html>",
        "text/html",
    ))
    .await;
    assert_eq!(
        err.to_string(),
        "GET /api/organizations/acme/groups: HTTP 502: 502 Bad Gateway Bad Gateway nginx (after 3 attempts, retries exhausted)"
    );
    assert_eq!(support::paths(&server).await.len(), 3, "three attempts");
}

#[tokio::test]
async fn status_500_is_not_retried() {
    let (err, server) = groups_error(
        ResponseTemplate::new(500).set_body_json(json!({"error": true, "message": "boom"})),
    )
    .await;
    assert_eq!(
        err.to_string(),
        "GET /api/organizations/acme/groups: HTTP 500: boom"
    );
    assert_eq!(support::paths(&server).await.len(), 1);
}

#[tokio::test]
async fn status_429_with_retry_after_then_success() {
    let server = support::server().await;
    Mock::given(method("GET"))
        .and(path(GROUPS))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "0")
                .set_body_json(
                    json!({"error": true, "message": "slow down", "code": "rate_limited"}),
                ),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(GROUPS))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([{"id": "g1", "name": "gpu"}])),
        )
        .expect(1)
        .mount(&server)
        .await;
    let groups = support::client(&server).list_groups("acme").await.unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(support::paths(&server).await, [GROUPS, GROUPS]);
}

#[tokio::test]
async fn unauthorized_tells_what_to_check() {
    let (err, _server) = groups_error(ResponseTemplate::new(401).set_body_json(
        json!({"error": true, "message": "token expired", "code": "unauthenticated"}),
    ))
    .await;
    assert!(err.is_auth());
    assert_eq!(
        err.to_string(),
        "the ACTIVATE API key was rejected: check that ACTIVATE_API_KEY is current (keys expire) and belongs to this platform (GET /api/organizations/acme/groups: HTTP 401: token expired [unauthenticated])"
    );
    assert!(!support::chain(&err).contains(support::SECRET));
}

#[tokio::test]
async fn forbidden_names_the_roles() {
    let (err, _server) = groups_error(ResponseTemplate::new(403).set_body_raw(
        r#"{"type":"about:blank","title":"Forbidden","status":403}"#,
        "application/problem+json",
    ))
    .await;
    assert_eq!(
        err.to_string(),
        "the API key's user lacks the organization role needed to read users/groups (org:admin or org:users) (GET /api/organizations/acme/groups: HTTP 403: Forbidden)"
    );
}

#[tokio::test]
async fn organization_not_found() {
    let (err, _server) = groups_error(
        ResponseTemplate::new(404)
            .set_body_json(json!({"error": true, "message": "organization not found"})),
    )
    .await;
    assert_eq!(
        err.to_string(),
        "organization \"acme\" not found: check ACTIVATE_ORG_NAME (GET /api/organizations/acme/groups: HTTP 404: organization not found)"
    );
}

#[tokio::test]
async fn connection_refused_is_a_transport_error_not_sent() {
    // Bind, learn the port, close: nothing listens there any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let credential = activate_client::Credential::parse("pwoa_token").unwrap();
    let mut config =
        activate_client::ClientConfig::new(credential, Some(&format!("http://127.0.0.1:{port}")))
            .unwrap();
    config.retry = support::tiny_retry();
    config.org = Some("acme".into());
    let err = activate_client::ActivateClient::new(config)
        .unwrap()
        .list_groups("acme")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ActivateError::Transport {
                maybe_sent: false,
                attempts: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "GET /api/organizations/acme/groups: could not connect (after 3 attempts, retries exhausted)"
    );
    assert!(std::error::Error::source(&err).is_some());
}

#[tokio::test]
async fn plain_http_to_a_remote_host_is_refused() {
    let credential = activate_client::Credential::parse("pwoa_token").unwrap();
    let err = activate_client::ClientConfig::new(credential, Some("http://activate.example.com"))
        .unwrap_err();
    assert_eq!(err.to_string(), "refusing the ACTIVATE API URL");
    assert_eq!(
        std::error::Error::source(&err).unwrap().to_string(),
        "plain http:// is only allowed to loopback hosts, not to \"activate.example.com\"; use https://"
    );
}
