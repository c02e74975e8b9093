//! The `Authorization` header each credential is sent with.

use activate_client::{ActivateClient, Credential};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use wiremock::matchers::{header, headers, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::support;

#[tokio::test]
async fn an_api_key_goes_as_basic_with_an_empty_password() {
    let server = support::server().await;
    let key = support::api_key(&server);
    let expected = format!("Basic {}", STANDARD.encode(format!("{key}:")));
    Mock::given(method("GET"))
        .and(path("/api/auth/whoami/organization"))
        .and(header("authorization", expected.as_str()))
        .and(headers(
            "accept",
            vec![
                "application/json",
                "text/plain;q=0.9",
                "application/problem+json",
            ],
        ))
        .respond_with(ResponseTemplate::new(200).set_body_raw(r#""acme""#, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    // Whitespace around the key, as read from an env file, is trimmed.
    let credential = Credential::parse(&format!("  {key}\n")).unwrap();
    let client = ActivateClient::builder(credential).build().unwrap();
    assert_eq!(client.org_name().await.unwrap(), "acme");
}

#[tokio::test]
async fn tokens_go_as_bearer() {
    let server = support::server().await;
    let user_token = format!("pwut_{}.tok3n", URL_SAFE_NO_PAD.encode(server.uri()));
    for token in [user_token.as_str(), "pwoa_opaque123"] {
        Mock::given(method("GET"))
            .and(path("/api/auth/whoami/organization"))
            .and(header("authorization", format!("Bearer {token}").as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_raw("acme\n", "text/plain"))
            .expect(1)
            .mount(&server)
            .await;
    }
    let ut = Credential::parse(&user_token).unwrap();
    let client = ActivateClient::builder(ut).build().unwrap();
    assert_eq!(client.org_name().await.unwrap(), "acme");

    // An opaque token carries no host: the explicit URL is required and used.
    let opaque = Credential::parse("pwoa_opaque123").unwrap();
    assert!(ActivateClient::builder(opaque.clone()).build().is_err());
    let client = ActivateClient::builder(opaque)
        .api_url(server.uri())
        .build()
        .unwrap();
    assert_eq!(client.org_name().await.unwrap(), "acme");
}

#[tokio::test]
async fn the_explicit_url_overrides_the_decoded_host() {
    let server = support::server().await;
    Mock::given(method("GET"))
        .and(path("/prefix/api/auth/whoami/organization"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(r#""acme""#, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let credential = Credential::parse("pwt_Y2xvdWQucGFyYWxsZWwud29ya3M.xxxxx").unwrap();
    let client = ActivateClient::builder(credential)
        .api_url(format!("{}/prefix", server.uri()))
        .build()
        .unwrap();
    assert_eq!(
        client.base_url().as_str(),
        format!("{}/prefix/", server.uri())
    );
    assert_eq!(client.org_name().await.unwrap(), "acme");
}

#[tokio::test]
async fn debug_output_never_holds_the_secret() {
    let server = support::server().await;
    let client = support::client(&server);
    let shown = format!("{client:?} {:?}", support::builder(&server));
    assert!(!shown.contains(support::SECRET), "{shown}");
    assert!(!shown.contains(&STANDARD.encode(format!("{}:", support::api_key(&server)))));
}
