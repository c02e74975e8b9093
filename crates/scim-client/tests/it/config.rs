//! Client settings: URL and token checks, the extra CA, and `Debug` without secrets.

use std::time::Duration;

use scim_client::{ScimClient, ScimError};
use secrecy::SecretString;
use url::Url;

use crate::support::{TOKEN, fast_retries, nz};

const TEST_CA: &str = include_str!("resources/test-ca.pem");

fn build(url: &str, token: &str) -> Result<ScimClient, ScimError> {
    ScimClient::builder(Url::parse(url).unwrap(), SecretString::from(token)).build()
}

#[test]
fn only_https_or_loopback_http_urls_are_accepted() {
    assert!(build("https://api.coreweave.com/scim/org-1", TOKEN).is_ok());
    assert!(build("http://127.0.0.1:8080/scim", TOKEN).is_ok());
    let error = build("http://api.coreweave.com/scim/org-1", TOKEN).unwrap_err();
    assert!(matches!(error, ScimError::InsecureUrl(_)), "{error:?}");
    assert_eq!(
        std::error::Error::source(&error).unwrap().to_string(),
        "plain http:// is only allowed to loopback hosts, not to \"api.coreweave.com\"; use https://"
    );
    let error = build("https://user:pw@api.coreweave.com/scim", TOKEN).unwrap_err();
    assert!(matches!(error, ScimError::InsecureUrl(_)));
    let error = build("https://api.coreweave.com/scim?x=1", TOKEN).unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid SCIM base URL: it must not have a query or a fragment"
    );
}

#[test]
fn unusable_tokens_are_refused_without_quoting_them() {
    for (token, reason) in [
        ("", "it is empty"),
        (
            "abc\n",
            "it has leading or trailing whitespace (a trailing newline?)",
        ),
        (
            "ab\u{7f}cd",
            "it contains characters not allowed in an HTTP header",
        ),
    ] {
        let error = build("https://scim.example.com/", token).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("invalid SCIM bearer token: {reason}")
        );
    }
}

#[test]
fn an_extra_root_ca_must_parse() {
    let url = Url::parse("https://scim.example.com/").unwrap();
    let ok = ScimClient::builder(url.clone(), SecretString::from(TOKEN))
        .extra_root_ca_pem(TEST_CA)
        .build();
    assert!(ok.is_ok(), "{ok:?}");
    for (pem, reason) in [
        ("not a certificate", "no certificate found in the PEM data"),
        (
            "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
            "the PEM data does not parse",
        ),
        (
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "the TLS library rejected it",
        ),
    ] {
        let error = ScimClient::builder(url.clone(), SecretString::from(TOKEN))
            .extra_root_ca_pem(pem)
            .build()
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("invalid extra root CA certificate: {reason}"),
            "{pem}"
        );
    }
}

#[test]
fn debug_output_never_shows_the_token() {
    let builder = ScimClient::builder(
        Url::parse("https://scim.example.com/org").unwrap(),
        SecretString::from(TOKEN),
    )
    .timeout(Duration::from_secs(5))
    .connect_timeout(Duration::from_secs(2))
    .retry_policy(fast_retries(2))
    .page_size(nz(10))
    .max_pages(nz(3))
    .extra_root_ca_pem(TEST_CA)
    .user_agent("test-agent");
    let text = format!("{builder:?} {builder:#?}");
    assert!(!text.contains(TOKEN), "{text}");
    assert!(text.contains("[REDACTED]"));
    assert!(text.contains("https://scim.example.com/org"));
    let client = builder.build().unwrap();
    let text = format!("{client:?} {client:#?}");
    assert!(!text.contains(TOKEN), "{text}");
    assert!(text.contains("page_size: 10"), "{text}");
}
