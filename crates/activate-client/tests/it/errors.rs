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

/// Each error answer: the message (the request, the status, what the server said in
/// either body shape, and the attempts when there were several), the status, and the
/// requests made (only 429/502/503/504 are retried).
#[tokio::test]
async fn error_answers_read_as_one_line() {
    let problem = |status: u16, body: &'static str| {
        ResponseTemplate::new(status).set_body_raw(body, "application/problem+json")
    };
    let cases: Vec<(ResponseTemplate, &str, u16, usize)> = vec![
        (
            ResponseTemplate::new(400).set_body_json(json!({
                "error": true, "message": "limit must be at most 500", "code": "invalid_request",
                "errors": ["limit: too large"]
            })),
            "GET /api/organizations/acme/groups: HTTP 400: limit must be at most 500 [invalid_request]; limit: too large",
            400,
            1,
        ),
        (
            problem(
                422,
                r#"{"type":"https://activate/problems/validation","title":"Validation failed","detail":"the group filter is invalid","status":422,"code":"validation","errors":[{"code":"enum","type":"t","detail":"must be aws, azure or gcp","parameter":"csp","in":"query"}]}"#,
            ),
            "GET /api/organizations/acme/groups: HTTP 422: the group filter is invalid [validation]; csp: must be aws, azure or gcp",
            422,
            1,
        ),
        (
            ResponseTemplate::new(502).set_body_raw(
                "<!DOCTYPE html><html><head><title>502 Bad Gateway</title><style>h1{}</style></head>\n<body><h1>Bad Gateway</h1><p>nginx</p></body></html>",
                "text/html",
            ),
            "GET /api/organizations/acme/groups: HTTP 502: 502 Bad Gateway Bad Gateway nginx (after 3 attempts, retries exhausted)",
            502,
            3,
        ),
        (
            ResponseTemplate::new(500).set_body_json(json!({"error": true, "message": "boom"})),
            "GET /api/organizations/acme/groups: HTTP 500: boom",
            500,
            1,
        ),
        // The library says what failed; which setting to check is the caller's to say.
        (
            ResponseTemplate::new(401).set_body_json(
                json!({"error": true, "message": "token expired", "code": "unauthenticated"}),
            ),
            "the ACTIVATE API key was rejected (GET /api/organizations/acme/groups: HTTP 401: token expired [unauthenticated])",
            401,
            1,
        ),
        (
            problem(403, r#"{"type":"about:blank","title":"Forbidden","status":403}"#),
            "the API key's user lacks the organization role needed to read users/groups (org:admin or org:users) (GET /api/organizations/acme/groups: HTTP 403: Forbidden)",
            403,
            1,
        ),
        (
            ResponseTemplate::new(404)
                .set_body_json(json!({"error": true, "message": "organization not found"})),
            "organization \"acme\" not found (GET /api/organizations/acme/groups: HTTP 404: organization not found)",
            404,
            1,
        ),
    ];
    for (template, expected, status, requests) in cases {
        let (err, server) = groups_error(template).await;
        assert_eq!(err.to_string(), expected);
        assert_eq!(err.status(), Some(status), "{expected}");
        assert_eq!(err.is_auth(), matches!(status, 401 | 403), "{expected}");
        assert_eq!(support::paths(&server).await.len(), requests, "{expected}");
        assert!(!support::chain(&err).contains(support::SECRET));
    }
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
async fn connection_refused_is_a_transport_error_not_sent() {
    // Bind, learn the port, close: nothing listens there any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let credential = activate_client::Credential::parse("pwoa_token").unwrap();
    let err = activate_client::ActivateClient::builder(credential)
        .api_url(format!("http://127.0.0.1:{port}"))
        .retry_policy(support::tiny_retry())
        .org("acme")
        .build()
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
    let err = activate_client::ActivateClient::builder(credential)
        .api_url("http://activate.example.com")
        .build()
        .unwrap_err();
    assert_eq!(err.to_string(), "refusing the base URL");
    assert_eq!(
        std::error::Error::source(&err).unwrap().to_string(),
        "plain http:// is only allowed to loopback hosts, not to \"activate.example.com\"; use https://"
    );
}
