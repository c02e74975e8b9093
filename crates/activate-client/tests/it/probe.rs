//! `probe_ssh_keys`: what one key lookup looks like, without the keys.

use activate_client::probe::BodyShape;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::support;

async fn lookup(body: &str, content_type: &str) -> activate_client::probe::KeyLookupProbe {
    let server = support::server().await;
    Mock::given(method("GET"))
        .and(path("/api/users/alice/ssh-public-keys"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body.to_owned(), content_type))
        .expect(1)
        .mount(&server)
        .await;
    support::client(&server)
        .probe_ssh_keys("alice")
        .await
        .unwrap()
}

#[tokio::test]
async fn each_form_is_described_and_read_or_refused() {
    let string = lookup(
        r#""ssh-ed25519 AAAA a@b\nssh-rsa BBBB a@c\n""#,
        "application/json",
    )
    .await;
    assert_eq!(
        (string.declared_json, string.shape, string.read.clone()),
        (true, BodyShape::JsonString, Ok(2))
    );
    assert_eq!(string.bytes, 42);

    let text = lookup("ssh-ed25519 AAAA a@b\n", "text/plain").await;
    assert_eq!(
        (text.declared_json, text.shape, text.read),
        (false, BodyShape::Text, Ok(1))
    );

    let empty = lookup("", "application/json").await;
    assert_eq!((empty.shape, empty.read), (BodyShape::Empty, Ok(0)));

    let object = lookup(r#"{"keys": ["ssh-ed25519 AAAA a@b"]}"#, "application/json").await;
    assert_eq!(object.shape, BodyShape::JsonObject);
    assert_eq!(
        object.read,
        Err("expected a JSON string or text, got an object".to_owned())
    );
}

#[tokio::test]
async fn a_refused_lookup_is_an_error() {
    let server = support::server().await;
    Mock::given(method("GET"))
        .and(path("/api/users/alice/ssh-public-keys"))
        .respond_with(ResponseTemplate::new(401).set_body_string("{}"))
        .mount(&server)
        .await;
    let error = support::client(&server)
        .probe_ssh_keys("alice")
        .await
        .unwrap_err();
    assert!(
        matches!(error, activate_client::ActivateError::Unauthorized { .. }),
        "{error:?}"
    );
}
