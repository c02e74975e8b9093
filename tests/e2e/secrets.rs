//! Secrets never reach stdout or stderr, whatever the log level and outcome.

use testkit::activate::{ActivateOptions, api_key};
use testkit::scim::ScimOptions;

use crate::harness::{Output, World};

const ACTIVATE_SECRET: &str = "Act1vateS3cretQx7Lm";
const SCIM_TOKEN: &str = "ScimT0kenZr4Wv9Hd";
const WRONG_SCIM_TOKEN: &str = "WrongScimT0kenPq2Xc";
const WRONG_ACTIVATE_SECRET: &str = "WrongActS3cretMm5Tz";

/// Standard base64 with padding (what HTTP Basic uses).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The forms in which a secret could leak: itself, and as an HTTP Basic credential.
fn forms(key: &str) -> Vec<String> {
    vec![key.to_owned(), base64(format!("{key}:").as_bytes())]
}

#[track_caller]
fn assert_no_secret(output: &Output, secrets: &[String], what: &str) {
    for secret in secrets {
        assert!(
            !output.stdout.contains(secret.as_str()),
            "{what}: stdout shows a secret"
        );
        assert!(
            !output.stderr.contains(secret.as_str()),
            "{what}: stderr shows a secret"
        );
    }
}

#[test]
fn base64_matches_the_rfc_examples() {
    assert_eq!(base64(b"foob"), "Zm9vYg==");
    assert_eq!(base64(b"fooba"), "Zm9vYmE=");
    assert_eq!(base64(b"foobar"), "Zm9vYmFy");
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_never_appear_in_output_even_at_trace_level() {
    let key = api_key("127.0.0.1:1", ACTIVATE_SECRET);
    let wrong_key = api_key("127.0.0.1:1", WRONG_ACTIVATE_SECRET);
    let world = World::with(
        ActivateOptions {
            api_key: Some(key.clone()),
            ..ActivateOptions::default()
        },
        ScimOptions {
            token: SCIM_TOKEN.to_owned(),
            ..ScimOptions::default()
        },
    )
    .await;
    let mut secrets = forms(&key);
    secrets.extend(forms(ACTIVATE_SECRET));
    secrets.extend(forms(SCIM_TOKEN));
    secrets.extend(forms(&wrong_key));
    secrets.extend(forms(WRONG_ACTIVATE_SECRET));
    secrets.extend(forms(WRONG_SCIM_TOKEN));

    let trace = [("LOG_LEVEL", "trace"), ("RUST_LOG", "trace")];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut env = trace.to_vec();
        env.extend_from_slice(extra);
        env
    };

    let output = world.run(&[], &trace).await;
    output.expect_code(0);
    assert!(
        output.stderr.contains("TRACE"),
        "trace logging is on\n{}",
        output.stderr
    );
    assert_no_secret(&output, &secrets, "first sync");

    let output = world
        .run(&["--output", "json"], &with(&[("LOG_FORMAT", "json")]))
        .await;
    output.expect_code(0);
    assert_no_secret(&output, &secrets, "json sync");

    let output = world.run(&["check"], &trace).await;
    assert_no_secret(&output, &secrets, "check");

    let output = world.run(&["plan", "--output", "json"], &trace).await;
    output.expect_code(0);
    assert_no_secret(&output, &secrets, "plan");

    // Rejected credentials: the errors name the problem, not the value.
    let output = world
        .run(&[], &with(&[("CW_SCIM_BEARER_TOKEN", WRONG_SCIM_TOKEN)]))
        .await;
    output.expect_code(1);
    assert!(output.stderr.contains("401"), "{output}");
    assert_no_secret(&output, &secrets, "wrong SCIM token");

    let output = world
        .run(
            &[],
            &[
                ("LOG_LEVEL", "trace"),
                ("RUST_LOG", "trace"),
                ("ACTIVATE_API_KEY", wrong_key.as_str()),
            ],
        )
        .await;
    output.expect_code(1);
    assert!(output.stderr.contains("401"), "{output}");
    // The library says what failed; the command names the setting to look at.
    assert!(
        output
            .stderr
            .contains("(ACTIVATE_API_KEY is wrong, expired or revoked, or belongs to another platform; create a new API key in ACTIVATE): "),
        "{output}"
    );
    assert_no_secret(&output, &secrets, "wrong ACTIVATE key");

    // Given twice: a usage error that names both variables, not the values.
    let file = world.dir().join("token");
    std::fs::write(&file, SCIM_TOKEN).unwrap();
    let output = world
        .run(
            &[],
            &[
                ("LOG_LEVEL", "trace"),
                ("CW_SCIM_BEARER_TOKEN_FILE", file.to_str().unwrap()),
            ],
        )
        .await;
    output.expect_code(2);
    assert!(
        output.stderr.contains(
            "CW_SCIM_BEARER_TOKEN and CW_SCIM_BEARER_TOKEN_FILE are both set; set one of them"
        ),
        "{output}"
    );
    assert_no_secret(&output, &secrets, "token twice");

    // --help with the secrets in the environment.
    let output = world.run(&["--help"], &[]).await;
    output.expect_code(0);
    assert_no_secret(&output, &secrets, "--help");
}
