//! Secrets never reach stdout, stderr or `Debug`: the ACTIVATE API key and the SCIM
//! token are distinctive strings here, and every run's output is searched for them
//! (and for the forms they take on the wire: `Basic base64(key:)`, `Bearer token`)
//! at every log level, in successful and failing runs, and when a server echoes them
//! back in an error body.

use std::collections::BTreeMap;
use std::time::Duration;

use clap::Parser as _;
use pw_scim_sync_cli::cli::Cli;
use pw_scim_sync_cli::settings::Settings;
use serde_json::json;
use testkit::activate::{ActivateOptions, Fixture, api_key};
use testkit::proxy::{Action, Rule, respond_json};
use testkit::scim::ScimOptions;

use crate::support::world::World;
use crate::support::{Outcome, run_bin};

/// The secret half of the ACTIVATE key.
const KEY_SECRET: &str = "kS3cr3tZ9qActivateQx7";
/// The SCIM bearer token.
const SCIM_TOKEN: &str = "scimT0kenS3cr3tW4vJ2m";

fn activate_key() -> String {
    api_key("127.0.0.1:9", KEY_SECRET)
}

/// Everything that must never be printed.
fn forbidden() -> Vec<String> {
    let key = activate_key();
    let basic = base64(format!("{key}:").as_bytes());
    vec![
        key,
        KEY_SECRET.to_owned(),
        basic,
        SCIM_TOKEN.to_owned(),
        format!("Bearer {SCIM_TOKEN}"),
    ]
}

/// Standard base64 with padding, as HTTP Basic uses it.
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
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn assert_clean(what: &str, out: &Outcome) {
    let text = out.all_output();
    for secret in forbidden() {
        assert!(
            !text.contains(&secret),
            "{what}: the output holds {secret:?}:\n{}",
            text.chars().take(4000).collect::<String>()
        );
    }
}

async fn world() -> World {
    World::start_with(
        ActivateOptions {
            fixture: Fixture::example(),
            api_key: Some(activate_key()),
            ..ActivateOptions::default()
        },
        ScimOptions {
            token: SCIM_TOKEN.to_owned(),
            ..ScimOptions::default()
        },
    )
    .await
}

const LEVELS: [&[(&str, &str)]; 4] = [
    &[("LOG_LEVEL", "trace")],
    &[("LOG_LEVEL", "trace"), ("LOG_FORMAT", "text")],
    &[("RUST_LOG", "trace")],
    &[("RUST_LOG", "trace"), ("LOG_FORMAT", "text")],
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn successful_runs_at_trace_level_print_no_secret() {
    let world = world().await;
    for (i, env) in LEVELS.iter().enumerate() {
        let out = world.run(&["sync"], env).await;
        assert_eq!(out.code, 0, "{env:?}: {}", out.stderr);
        assert!(
            out.stderr.lines().count() > 10,
            "{env:?}: trace logging is on"
        );
        assert_clean(&format!("sync #{i} {env:?}"), &out);
        if i == 0 {
            // Something changes, so the second and later runs write too.
            world
                .activate
                .set_user_active("bob.okafor", false)
                .expect("change");
        }
    }
    let out = world
        .run(&["plan"], &[("LOG_LEVEL", "trace"), ("OUTPUT", "text")])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_clean("plan, text output", &out);
    let out = world.run(&["check"], &[("LOG_LEVEL", "trace")]).await;
    assert_clean("check", &out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_runs_print_no_secret_even_when_the_server_echoes_it() {
    let world = world().await;
    let echo_scim = format!(
        r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"401","detail":"token {SCIM_TOKEN} is not valid (Authorization: Bearer {SCIM_TOKEN})"}}"#
    );
    for env in LEVELS {
        world.scim_proxy.add_rule(Rule::times(
            1,
            Some("GET"),
            "/Users$",
            respond_json(401, "application/scim+json", &echo_scim),
        ));
        let out = world.run(&["sync"], env).await;
        assert_eq!(out.code, 1, "{env:?}: {}", out.stderr);
        assert!(out.errors().contains("HTTP 401"), "{}", out.errors());
        assert_clean(&format!("SCIM 401 echoing the token {env:?}"), &out);
    }

    // An HTML page (not a SCIM error) echoing the token, on a write.
    let out = world.run(&["sync"], &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    world
        .activate
        .set_user_active("bob.okafor", false)
        .expect("change");
    world.scim_proxy.add_rule(Rule::always(
        Some("PATCH"),
        "/Users/",
        Action::Respond {
            status: 400,
            content_type: Some("text/html".to_owned()),
            body: format!("<html><body>bad request from Bearer {SCIM_TOKEN}</body></html>")
                .into_bytes(),
        },
    ));
    let out = world.run(&["sync"], &[("LOG_LEVEL", "trace")]).await;
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stdout.contains("HTTP 400"), "{}", out.stdout);
    assert_clean("SCIM 400 page echoing the token", &out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activate_error_echoing_the_api_key_is_not_printed() {
    let world = world().await;
    let key = activate_key();
    let body = json!({
        "error": true,
        "message": format!("API key {key} has expired"),
        "code": "unauthenticated",
    })
    .to_string();
    world.activate_proxy.add_rule(Rule::always(
        None,
        "/api/",
        respond_json(401, "application/json", &body),
    ));
    let out = world.run(&["sync"], &[("LOG_LEVEL", "trace")]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.errors().contains("the ACTIVATE API key was rejected"),
        "{}",
        out.errors()
    );
    assert_clean("ACTIVATE 401 echoing the key", &out);
}

/// Environment variables of one run.
type Vars = Vec<(&'static str, String)>;

/// A response that does not decode is reported with the JSON path where decoding
/// failed; the path is made of the body's keys, so a body with the token as a key
/// (an echo of the request's headers, say) must not print it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_in_a_json_key_of_a_bad_response_is_not_printed() {
    let world = world().await;
    let body = format!(r#"{{"totalResults":1,"Bearer {SCIM_TOKEN}": }}"#);
    world.scim_proxy.add_rule(Rule::always(
        Some("GET"),
        "/Users$",
        respond_json(200, "application/scim+json", &body),
    ));
    let out = world.run(&["sync"], &[]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.errors().contains("could not decode"),
        "{}",
        out.errors()
    );
    assert_clean("an undecodable page with the token as a key", &out);
}

/// Configuration errors never repeat the secret they are about.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_errors_do_not_repeat_secrets() {
    let base = BTreeMap::from([
        (
            "CW_SCIM_BASE_URL".to_owned(),
            "https://scim.example.com/scim/org".to_owned(),
        ),
        ("LOG_LEVEL".to_owned(), "trace".to_owned()),
    ]);
    // (what, variables, exit status, message)
    let cases: Vec<(&str, Vars, i32, &str)> = vec![
        (
            "a token with a line break inside",
            vec![
                ("ACTIVATE_API_KEY", activate_key()),
                ("CW_SCIM_BEARER_TOKEN", format!("{SCIM_TOKEN}\nX-Evil: 1")),
            ],
            1,
            "invalid SCIM bearer token",
        ),
        (
            "an API key of an unknown kind",
            vec![
                ("ACTIVATE_API_KEY", format!("zz_{KEY_SECRET}")),
                ("CW_SCIM_BEARER_TOKEN", SCIM_TOKEN.to_owned()),
            ],
            1,
            "ACTIVATE_API_KEY is not a valid ACTIVATE API key or token",
        ),
        (
            "an API key without its separator",
            vec![
                ("ACTIVATE_API_KEY", format!("pwt_{KEY_SECRET}")),
                ("CW_SCIM_BEARER_TOKEN", SCIM_TOKEN.to_owned()),
            ],
            1,
            "ACTIVATE_API_KEY is not a valid ACTIVATE API key or token",
        ),
        (
            "credentials in the SCIM URL",
            vec![
                ("ACTIVATE_API_KEY", activate_key()),
                ("CW_SCIM_BEARER_TOKEN", "t".to_owned()),
                (
                    "CW_SCIM_BASE_URL",
                    format!("https://user:{SCIM_TOKEN}@scim.example.com/scim/org"),
                ),
            ],
            2,
            "invalid value 'https://***:***@scim.example.com/scim/org' for CW_SCIM_BASE_URL: the URL must not contain credentials",
        ),
        (
            "credentials in the heartbeat URL",
            vec![
                ("ACTIVATE_API_KEY", activate_key()),
                ("CW_SCIM_BEARER_TOKEN", "t".to_owned()),
                (
                    "HEARTBEAT_URL",
                    format!("https://ping:{KEY_SECRET}@hc.example.com/x"),
                ),
            ],
            2,
            "invalid value 'https://***:***@hc.example.com/x' for HEARTBEAT_URL: the URL must not contain credentials",
        ),
    ];
    for (what, vars, code, message) in cases {
        let mut env = base.clone();
        for (name, value) in vars {
            env.insert(name.to_owned(), value);
        }
        let out = run_bin(&["sync"], &env, Duration::from_secs(30)).await;
        assert_eq!(out.code, code, "{what}: {}", out.stderr);
        assert!(out.errors().contains(message), "{what}: {}", out.errors());
        assert_clean(what, &out);
    }
    // --help shows the variables, never their values.
    let mut env = base.clone();
    env.insert("ACTIVATE_API_KEY".to_owned(), activate_key());
    env.insert("CW_SCIM_BEARER_TOKEN".to_owned(), SCIM_TOKEN.to_owned());
    let out = run_bin(&["--help"], &env, Duration::from_secs(30)).await;
    assert_eq!(out.code, 0);
    assert!(
        out.stdout.contains("CW_SCIM_BEARER_TOKEN"),
        "{}",
        out.stdout
    );
    assert_clean("--help", &out);
}

/// `Debug` of the parsed command line, the settings and the clients.
#[test]
fn debug_output_holds_no_secret() {
    let key = activate_key();
    let cli = Cli::try_parse_from([
        "pw-activate-scim-sync",
        "--activate-api-key",
        key.as_str(),
        "--activate-api-url",
        "https://activate.example.com",
        "--cw-scim-bearer-token",
        SCIM_TOKEN,
        "--cw-scim-org-userid",
        "org1",
    ])
    .expect("arguments");
    let settings = Settings::from_args(&cli.sync).expect("settings");
    let activate = pw_scim_sync_cli::clients::activate(&settings.activate, &settings.run)
        .expect("ACTIVATE client");
    let scim = pw_scim_sync_cli::clients::scim(
        &settings.scim,
        &settings.run,
        &pw_scim_sync_cli::clients::RequestCounts::default(),
    )
    .expect("SCIM client");
    for (what, debug) in [
        ("Cli", format!("{cli:?}")),
        ("Settings", format!("{settings:?}")),
        ("Settings (pretty)", format!("{settings:#?}")),
        ("ActivateClient", format!("{activate:?}")),
        ("ScimClient", format!("{scim:?}")),
    ] {
        for secret in forbidden() {
            assert!(
                !debug.contains(&secret),
                "{what} Debug holds {secret:?}: {debug}"
            );
        }
    }
}
