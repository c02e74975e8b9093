//! Retries, error statuses, transport failures and what the errors say.

use std::error::Error as _;
use std::time::Duration;

use scim_client::{NewUser, ScimClient, ScimError, ScimType};
use secrecy::SecretString;
use serde_json::json;
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{
    TOKEN, assert_no_token, builder, client, fast_retries, scim, scim_error, user,
};

fn list_page() -> serde_json::Value {
    json!({"totalResults": 1, "startIndex": 1, "Resources": [user(1)]})
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(scim_error(429, None, "slow down").insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(scim(200, &list_page()))
        .mount(&server)
        .await;
    let users = client(&server).list_all_users(None).await.unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(requests(&server).await, 2);
}

#[tokio::test]
async fn a_retry_after_beyond_the_policy_ends_the_retries() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(scim_error(429, None, "quota").insert_header("Retry-After", "120"))
        .mount(&server)
        .await;
    let error = client(&server).get_user("u1").await.unwrap_err();
    assert_eq!(error.status(), Some(429));
    assert_eq!(
        error.attempts(),
        Some(1),
        "120 s exceeds max_retry_after (5 s)"
    );
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn a_503_is_retried_until_the_attempts_run_out() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let error = client(&server).get_user("u1").await.unwrap_err();
    assert!(
        matches!(
            error,
            ScimError::Http {
                status: 503,
                attempts: 3,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "GET /Users/u1: HTTP 503 after 3 attempts"
    );
    assert_eq!(requests(&server).await, 3);
}

#[tokio::test]
async fn a_401_is_not_retried_and_names_the_problem() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(scim_error(401, None, "Authentication failure"))
        .mount(&server)
        .await;
    let error = client(&server).list_all_users(None).await.unwrap_err();
    assert_eq!(error.status(), Some(401));
    assert_eq!(
        error.to_string(),
        "GET /Users: HTTP 401: Authentication failure"
    );
    assert_eq!(requests(&server).await, 1);
    assert_no_token(&error);
}

#[tokio::test]
async fn an_html_502_page_is_quoted_without_its_markup() {
    let server = MockServer::start().await;
    let page = "<!DOCTYPE html><html><head><title>502 Bad Gateway</title><style>h1{}</style></head>\
                <body><h1>Bad Gateway</h1><p>upstream connect error</p></body></html>";
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(502).set_body_raw(page, "text/html"))
        .mount(&server)
        .await;
    let error = client(&server).get_group("g1").await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "GET /Groups/g1: HTTP 502 after 3 attempts: 502 Bad Gateway Bad Gateway upstream connect error"
    );
    assert!(!error.to_string().contains('<'));
    assert!(!error.maybe_processed(), "a GET changes nothing");
}

#[tokio::test]
async fn a_post_answered_502_is_sent_once_and_reported_as_outcome_unknown() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502).set_body_string("bad gateway"))
        .mount(&server)
        .await;
    let error = client(&server)
        .create_user(&NewUser::new("alice"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ScimError::OutcomeUnknown { attempts: 1, .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "POST /Users: outcome unknown, the server may have processed the request; it was not repeated, list again before creating the record again"
    );
    assert_eq!(
        error.source().unwrap().to_string(),
        "POST /Users: HTTP 502: bad gateway"
    );
    assert!(error.maybe_processed());
    assert_eq!(error.status(), Some(502));
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn a_post_refused_with_503_is_repeated() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(scim(201, &user(7)))
        .mount(&server)
        .await;
    let created = client(&server)
        .create_user(&NewUser::new("user7"))
        .await
        .unwrap();
    assert_eq!(created.id, "u7");
    assert_eq!(requests(&server).await, 2);
}

#[tokio::test]
async fn a_post_that_times_out_is_not_repeated() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(scim(201, &user(1)).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let client = builder(&server)
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let error = client
        .create_user(&NewUser::new("user1"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ScimError::OutcomeUnknown { attempts: 1, .. }),
        "{error:?}"
    );
    let cause = error.source().unwrap();
    assert_eq!(
        cause.to_string(),
        "POST /Users: no complete response (the server may have processed the request)"
    );
    assert_eq!(requests(&server).await, 1);
    assert_no_token(&error);
}

#[tokio::test]
async fn a_refused_connection_is_retried_and_reported_as_not_sent() {
    // Bind a port, then free it, so nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = ScimClient::builder(
        Url::parse(&format!("http://127.0.0.1:{port}/scim")).unwrap(),
        SecretString::from(TOKEN),
    )
    .retry_policy(fast_retries(3))
    .build()
    .unwrap();
    let error = client.create_user(&NewUser::new("a")).await.unwrap_err();
    assert!(
        matches!(
            error,
            ScimError::Transport {
                maybe_sent: false,
                attempts: 3,
                ..
            }
        ),
        "a POST that was never sent may be repeated: {error:?}"
    );
    assert_eq!(
        error.to_string(),
        "POST /Users: could not send the request after 3 attempts"
    );
    assert!(!error.maybe_processed());
    assert_no_token(&error);
}

#[tokio::test]
async fn conflicts_and_not_found_are_recognised() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(scim_error(409, Some("uniqueness"), "User already exists"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(scim_error(404, None, "Resource gone not found"))
        .mount(&server)
        .await;
    let client = client(&server);
    let error = client.create_user(&NewUser::new("a")).await.unwrap_err();
    assert!(error.is_conflict());
    assert_eq!(error.scim_type(), Some(&ScimType::Uniqueness));
    assert_eq!(
        error.to_string(),
        "POST /Users: HTTP 409 (uniqueness): User already exists"
    );
    let error = client.get_user("gone").await.unwrap_err();
    assert!(error.is_not_found());
    assert!(!error.is_conflict());
}

#[tokio::test]
async fn a_token_echoed_by_the_server_is_masked() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/org-1/Users/u1"))
        .respond_with(scim_error(401, None, &format!("token {TOKEN} is expired")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/scim/org-1/Users/u2"))
        .respond_with(ResponseTemplate::new(400).set_body_string(format!("bad Bearer {TOKEN}")))
        .mount(&server)
        .await;
    let client = client(&server);
    let error = client.get_user("u1").await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "GET /Users/u1: HTTP 401: token [REDACTED] is expired"
    );
    assert_no_token(&error);
    let error = client.get_user("u2").await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "GET /Users/u2: HTTP 400: bad Bearer [REDACTED]"
    );
    assert_no_token(&error);
}

#[tokio::test]
async fn a_token_in_the_keys_of_an_undecodable_body_is_masked() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/org-1/Users/u3"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            format!(r#"{{"id":"u3","userName":"x","Bearer {TOKEN}": }}"#),
            "application/scim+json",
        ))
        .mount(&server)
        .await;
    let error = client(&server).get_user("u3").await.unwrap_err();
    assert!(
        error.to_string().contains("could not decode the User"),
        "{error}"
    );
    assert!(
        error.to_string().contains("Bearer [REDACTED]"),
        "the location names the masked key: {error}"
    );
    assert_no_token(&error);
}

#[tokio::test]
async fn decode_errors_name_the_response_and_the_place() {
    let server = MockServer::start().await;
    let mut bad = user(2);
    bad["active"] = json!("maybe");
    Mock::given(method("GET"))
        .respond_with(scim(
            200,
            &json!({"totalResults": 2, "Resources": [user(1), bad]}),
        ))
        .mount(&server)
        .await;
    let error = client(&server).list_all_users(None).await.unwrap_err();
    let ScimError::Decode { what, location, .. } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(*what, "ListResponse<User>");
    assert!(
        location.starts_with("Resources[1].active (line 1, column "),
        "{location}"
    );
    assert!(error.to_string().starts_with(
        "GET /Users: could not decode the ListResponse<User> in the HTTP 200 response at Resources[1].active"
    ));
    assert!(error.source().unwrap().to_string().contains("maybe"));
    assert!(!error.maybe_processed());
    assert_no_token(&error);
}

#[tokio::test]
async fn a_page_followed_by_more_bytes_is_refused() {
    // A complete page, then a second document (a proxy's page appended to a
    // chunked answer, say): the page is not taken as complete.
    let server = MockServer::start().await;
    let mut body = serde_json::to_vec(&list_page()).unwrap();
    body.extend_from_slice(br#"{"Resources":[]}"#);
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/scim+json"))
        .mount(&server)
        .await;
    let error = client(&server).list_all_users(None).await.unwrap_err();
    let ScimError::Decode { what, location, .. } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(*what, "ListResponse<User>");
    assert!(
        location.starts_with("after the document (line 1, column "),
        "{location}"
    );
    assert!(
        error
            .source()
            .unwrap()
            .to_string()
            .contains("trailing characters")
    );
}

#[tokio::test]
async fn a_non_json_success_is_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            "<html><body>Sign in to the proxy</body></html>",
            "text/html",
        ))
        .mount(&server)
        .await;
    let error = client(&server).get_user("u1").await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "GET /Users/u1: expected a SCIM JSON response, got \"text/html\" (HTTP 200): Sign in to the proxy"
    );
}

#[tokio::test]
async fn a_created_record_whose_response_does_not_decode_may_exist() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201))
        .mount(&server)
        .await;
    let error = client(&server)
        .create_user(&NewUser::new("a"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ScimError::Decode { status: 201, .. }),
        "{error:?}"
    );
    assert!(
        error.maybe_processed(),
        "the server said 201: the user exists"
    );
}
