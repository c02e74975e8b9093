//! `GET /api/users/{username}/ssh-public-keys`.

use activate_client::SshKeySource;
use wiremock::matchers::{headers, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::support;

#[tokio::test]
async fn keys_as_a_json_string() {
    let server = support::server().await;
    Mock::given(method("GET"))
        .and(path("/api/users/Jake.Thayne/ssh-public-keys"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#""ssh-ed25519 AAAAC3Nza jake@laptop\n\n# old key\nssh-rsa AAAAB3Nz jake@old\n""#,
            "application/json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let keys = support::client(&server)
        .user_ssh_keys("Jake.Thayne")
        .await
        .unwrap();
    assert_eq!(
        keys,
        [
            "ssh-ed25519 AAAAC3Nza jake@laptop",
            "ssh-rsa AAAAB3Nz jake@old"
        ]
    );
}

#[tokio::test]
async fn keys_as_text_through_the_trait() {
    let server = support::server().await;
    Mock::given(method("GET"))
        .and(path("/api/users/al%20ice/ssh-public-keys"))
        .and(headers("accept", vec!["application/json", "text/plain;q=0.9", "application/problem+json"]))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            "# managed by ACTIVATE\r\nssh-ed25519 AAAA alice@a\r\n   \r\necdsa-sha2-nistp256 BBBB alice@b\r\n",
            "text/plain; charset=utf-8",
        ))
        .mount(&server)
        .await;
    let client = support::client(&server);
    let keys = client.ssh_keys("al ice").await.unwrap();
    assert_eq!(
        keys,
        [
            "ssh-ed25519 AAAA alice@a",
            "ecdsa-sha2-nistp256 BBBB alice@b"
        ]
    );
}

#[tokio::test]
async fn empty_string_and_null_mean_no_keys() {
    let server = support::server().await;
    for (user, body) in [("a1", r#""""#), ("b1", "null"), ("c1", "")] {
        Mock::given(method("GET"))
            .and(path(format!("/api/users/{user}/ssh-public-keys")))
            .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
            .mount(&server)
            .await;
    }
    let client = support::client(&server);
    for user in ["a1", "b1", "c1"] {
        assert!(
            client.user_ssh_keys(user).await.unwrap().is_empty(),
            "{user}"
        );
    }
}

#[tokio::test]
async fn a_json_object_is_a_decode_error() {
    let server = support::server().await;
    Mock::given(method("GET"))
        .and(path("/api/users/a1/ssh-public-keys"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(r#"{"keys": []}"#, "application/json"),
        )
        .mount(&server)
        .await;
    let err = support::client(&server)
        .user_ssh_keys("a1")
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "GET /api/users/a1/ssh-public-keys: expected a JSON string or text, got an object"
    );
}
