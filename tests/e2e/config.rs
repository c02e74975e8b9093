//! Configuration errors (exit 1, naming the variable), usage errors (exit 2, naming
//! the flag or variable that was set), empty settings, `--help`, `.env`, and the list
//! of variables the manifest check reads.

use pw_scim_sync_cli::env_vars;

use crate::harness::{World, run_binary};

/// The secret some mistakes carry, which no message may repeat.
const SECRET: &str = "hunter2";

/// Runs with the base environment changed, and checks the exit status, that stderr
/// contains `message` and no [`SECRET`], and that neither side was contacted.
async fn expect_failure(
    world: &World,
    args: &[&str],
    env: &[(&str, &str)],
    omit: &[&str],
    code: i32,
    message: &str,
) {
    let output = world.run_without(args, env, omit).await;
    output.expect_code(code);
    assert!(
        output.stderr.contains(message),
        "stderr should contain {message:?}\n{output}"
    );
    assert!(!output.stderr.contains(SECRET), "{output}");
    assert_eq!(output.stdout, "", "{output}");
    assert_eq!(world.activate.log().total(), 0, "{args:?} {env:?}");
    assert_eq!(world.scim().log().total(), 0, "{args:?} {env:?}");
}

/// One misconfiguration: arguments, variables set, variables left unset, and what
/// stderr must contain.
struct Mistake {
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    omit: &'static [&'static str],
    message: &'static str,
}

const fn mistake(
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    omit: &'static [&'static str],
    message: &'static str,
) -> Mistake {
    Mistake {
        args,
        env,
        omit,
        message,
    }
}

async fn expect_all(world: &World, code: i32, mistakes: &[Mistake]) {
    for m in mistakes {
        expect_failure(world, m.args, m.env, m.omit, code, m.message).await;
    }
}

/// Settings missing, or two settings that do not go together: exit 1.
#[tokio::test(flavor = "multi_thread")]
async fn configuration_errors_name_the_variable_and_exit_1() {
    let world = World::start().await;
    expect_all(
        &world,
        1,
        &[
            mistake(
                &[],
                &[],
                &["ACTIVATE_API_KEY"],
                "ACTIVATE_API_KEY (or ACTIVATE_API_KEY_FILE) is required",
            ),
            mistake(
                &[],
                &[("ACTIVATE_API_KEY", "  ")],
                &[],
                "ACTIVATE_API_KEY (or ACTIVATE_API_KEY_FILE) is required",
            ),
            mistake(
                &[],
                &[],
                &["CW_SCIM_BASE_URL"],
                "CW_SCIM_ORG_USERID (the org id in https://api.coreweave.com/scim/<id>) or CW_SCIM_BASE_URL is required",
            ),
            mistake(
                &[],
                &[],
                &["CW_SCIM_BEARER_TOKEN"],
                "CW_SCIM_BEARER_TOKEN (or CW_SCIM_BEARER_TOKEN_FILE) is required",
            ),
            mistake(
                &[],
                &[("ACTIVATE_SYNC_GROUPS", " , ")],
                &[],
                "ACTIVATE_SYNC_GROUPS is set but names no group; expected a comma-separated list such as gpu-users,ml-team",
            ),
            // The same checks apply to `plan`.
            mistake(
                &["plan"],
                &[],
                &["CW_SCIM_BEARER_TOKEN"],
                "CW_SCIM_BEARER_TOKEN (or CW_SCIM_BEARER_TOKEN_FILE) is required",
            ),
            mistake(
                &[],
                &[("ACTIVATE_SOURCE", "scim")],
                &[],
                "ACTIVATE_SOURCE=scim needs a SCIM token: ACTIVATE_SCIM_TOKEN (or ACTIVATE_SCIM_TOKEN_FILE) is required",
            ),
            mistake(
                &[],
                &[
                    ("ACTIVATE_SOURCE", "scim"),
                    ("ACTIVATE_SSH_KEYS_SOURCE", "pw-cli"),
                ],
                &[],
                "ACTIVATE_SSH_KEYS_SOURCE=pw-cli applies to ACTIVATE_SOURCE=rest only",
            ),
            mistake(
                &[],
                &[("ACTIVATE_API_KEY", "hunter2")],
                &[],
                "ACTIVATE_API_KEY is not a valid ACTIVATE API key or token",
            ),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_setting_means_unset_and_a_required_one_says_it_is_empty() {
    let world = World::start().await;
    // Optional settings given as empty strings (as ConfigMaps often carry them)
    // take their defaults: a whole sync succeeds.
    let blank: Vec<(&str, &str)> = [
        "ACTIVATE_ORG_NAME",
        "ACTIVATE_SYNC_GROUPS",
        "ACTIVATE_SSH_KEYS_SOURCE",
        "ACTIVATE_SOURCE",
        "ACTIVATE_SCIM_URL",
        "ACTIVATE_API_KEY_FILE",
        "CW_SCIM_ORG_USERID",
        "CW_SCIM_BEARER_TOKEN_FILE",
        "MAX_DEACTIVATIONS",
        "ALLOW_MASS_DEACTIVATION",
        "MAX_REKEYS",
        "ALLOW_MASS_REKEY",
        "DRY_RUN",
        "OUTPUT",
        "SYNC_CONCURRENCY",
        "HTTP_TIMEOUT",
        "SYNC_DEADLINE",
        "HEARTBEAT_URL",
        "PUSHGATEWAY_URL",
        "CA_BUNDLE_FILE",
        "LOG_LEVEL",
        "LOG_FORMAT",
        "PW_CLI_PATH",
    ]
    .into_iter()
    .map(|name| (name, ""))
    .chain([("SYNC_CONCURRENCY", "  ")])
    .collect();
    let output = world.run(&[], &blank).await;
    output.expect_code(0);
    assert_eq!(world.scim().users().len(), 9, "{output}");

    // Required ones say that they were given empty.
    let world = World::start().await;
    expect_all(
        &world,
        1,
        &[
            mistake(
                &[],
                &[("ACTIVATE_API_KEY", "")],
                &[],
                "ACTIVATE_API_KEY (or ACTIVATE_API_KEY_FILE) is required; ACTIVATE_API_KEY is set but empty (an empty value counts as unset)",
            ),
            mistake(
                &[],
                &[("CW_SCIM_BASE_URL", ""), ("CW_SCIM_ORG_USERID", " ")],
                &[],
                "CW_SCIM_ORG_USERID (the org id in https://api.coreweave.com/scim/<id>) or CW_SCIM_BASE_URL is required; CW_SCIM_ORG_USERID and CW_SCIM_BASE_URL are set but empty (an empty value counts as unset)",
            ),
        ],
    )
    .await;
}

/// A bad value, an unknown flag or two settings that exclude each other: exit 2,
/// naming the flag when it was given on the command line, the variable otherwise.
const USAGE_MISTAKES: &[Mistake] = &[
    mistake(&["--no-such-flag"], &[], &[], "--no-such-flag"),
    mistake(&["frobnicate"], &[], &[], "frobnicate"),
    mistake(
        &["--output", "xml"],
        &[],
        &[],
        "invalid value 'xml' for --output (expected one of: text, json)",
    ),
    mistake(
        &[],
        &[("OUTPUT", "xml")],
        &[],
        "invalid value 'xml' for OUTPUT (expected one of: text, json)",
    ),
    mistake(
        &[],
        &[("DRY_RUN", "maybe")],
        &[],
        "invalid value 'maybe' for DRY_RUN: value was not a boolean",
    ),
    mistake(
        &[],
        &[("SYNC_CONCURRENCY", "0")],
        &[],
        "invalid value '0' for SYNC_CONCURRENCY: 0 is not in 1..=256",
    ),
    mistake(
        &["--concurrency=0"],
        &[],
        &[],
        "invalid value '0' for --concurrency: 0 is not in 1..=256",
    ),
    mistake(
        &[],
        &[("HTTP_TIMEOUT", "0")],
        &[],
        "invalid value '0' for HTTP_TIMEOUT: 0 is not in 1..=3600",
    ),
    mistake(
        &[],
        &[("MAX_DEACTIVATIONS", "ten")],
        &[],
        "invalid value 'ten' for MAX_DEACTIVATIONS: invalid deactivation limit \"ten\"",
    ),
    mistake(
        &["plan"],
        &[("MAX_DEACTIVATIONS", "150%")],
        &[],
        "invalid value '150%' for MAX_DEACTIVATIONS: 150% is more than 100%",
    ),
    mistake(
        &["--max-deactivations=-1"],
        &[],
        &[],
        "invalid value '-1' for --max-deactivations: invalid deactivation limit \"-1\"",
    ),
    mistake(
        &[],
        &[("MAX_REKEYS", "1.5")],
        &[],
        "invalid value '1.5' for MAX_REKEYS",
    ),
    mistake(
        &[],
        &[("ACTIVATE_SOURCE", "soap")],
        &[],
        "invalid value 'soap' for ACTIVATE_SOURCE (expected one of: rest, scim)",
    ),
    mistake(
        &[],
        &[("CW_SCIM_BASE_URL", "http://scim.example.com/scim/org")],
        &[],
        "invalid value 'http://scim.example.com/scim/org' for CW_SCIM_BASE_URL: plain http:// is only allowed to loopback hosts, not to \"scim.example.com\"",
    ),
    mistake(
        &["--activate-api-url", "http://activate.example.com"],
        &[],
        &[],
        "invalid value 'http://activate.example.com' for --activate-api-url: plain http:// is only allowed to loopback hosts",
    ),
    mistake(
        &[],
        &[("HEARTBEAT_URL", "hc.example.com/ping")],
        &[],
        "invalid value 'hc.example.com/ping' for HEARTBEAT_URL: expected an absolute URL such as https://host/path",
    ),
    mistake(
        &[],
        &[(
            "ACTIVATE_SCIM_URL",
            "https://activate.example.com/scim/v2?token=hunter2",
        )],
        &[],
        "invalid value 'https://activate.example.com/scim/v2?***' for ACTIVATE_SCIM_URL: expected a base URL, without a query or a fragment",
    ),
    // A URL's credentials are never repeated (no message holds `hunter2`).
    mistake(
        &[],
        &[("PUSHGATEWAY_URL", "http://user:hunter2@pushgateway:9091")],
        &[],
        "invalid value 'http://***:***@pushgateway:9091/' for PUSHGATEWAY_URL: the URL must not contain credentials",
    ),
    mistake(
        &[],
        &[("CW_SCIM_ORG_USERID", "a/b")],
        &["CW_SCIM_BASE_URL"],
        "invalid value 'a/b' for CW_SCIM_ORG_USERID: expected the organization id segment",
    ),
    mistake(
        &[],
        &[("ACTIVATE_ORG_NAME", "..")],
        &[],
        "invalid value '..' for ACTIVATE_ORG_NAME: expected an organization name",
    ),
    mistake(
        &[],
        &[("LOG_LEVEL", "loud")],
        &[],
        "invalid value 'loud' for LOG_LEVEL: expected one of error, warn, info, debug, trace",
    ),
    mistake(
        &[],
        &[("ACTIVATE_API_KEY_FILE", "/nonexistent")],
        &[],
        "ACTIVATE_API_KEY and ACTIVATE_API_KEY_FILE are both set; set one of them",
    ),
    mistake(
        &["--cw-scim-bearer-token-file", "/nonexistent"],
        &[],
        &[],
        "CW_SCIM_BEARER_TOKEN and --cw-scim-bearer-token-file are both set; set one of them",
    ),
];

#[tokio::test(flavor = "multi_thread")]
async fn usage_errors_name_what_was_set_and_exit_2() {
    let world = World::start().await;
    expect_all(&world, 2, USAGE_MISTAKES).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn help_lists_every_environment_variable() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_binary(dir.path(), &["--help"], &[]).await;
    output.expect_code(0);
    for name in env_vars::ALL {
        assert!(
            output.stdout.contains(&format!("[env: {name}")),
            "--help does not list {name}\n{output}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dotenv_file_in_the_working_directory_is_read_and_the_environment_wins() {
    let world = World::start().await;
    // Everything from .env: a whole sync with only PATH in the environment.
    let dir = tempfile::tempdir().unwrap();
    let dotenv: String = world
        .base_env()
        .iter()
        .map(|(k, v)| format!("{k}={v}\n"))
        .chain(["MAX_DEACTIVATIONS=bogus-from-dotenv\n".to_owned()])
        .collect();
    std::fs::write(dir.path().join(".env"), dotenv).unwrap();
    let output = run_binary(dir.path(), &[], &[]).await;
    output.expect_code(2);
    assert!(
        output.stderr.contains("MAX_DEACTIVATIONS") && output.stderr.contains("bogus-from-dotenv"),
        "{output}"
    );
    assert_eq!(world.scim().log().total(), 0);

    let output = run_binary(
        dir.path(),
        &[],
        &[("MAX_DEACTIVATIONS".to_owned(), "5".to_owned())],
    )
    .await;
    output.expect_code(0);
    assert_eq!(world.scim().users().len(), 9);
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_can_come_from_files() {
    let world = World::start().await;
    let key = world.dir().join("activate-key");
    let token = world.dir().join("scim-token");
    std::fs::write(&key, format!("{}\n", world.activate.api_key())).unwrap();
    std::fs::write(&token, format!("  {}\n", world.scim().token())).unwrap();
    let output = world
        .run_without(
            &[],
            &[
                ("ACTIVATE_API_KEY_FILE", key.to_str().unwrap()),
                ("CW_SCIM_BEARER_TOKEN_FILE", token.to_str().unwrap()),
            ],
            &["ACTIVATE_API_KEY", "CW_SCIM_BEARER_TOKEN"],
        )
        .await;
    output.expect_code(0);
    assert_eq!(world.scim().users().len(), 9);

    let missing = world.dir().join("no-such-file");
    expect_failure(
        &World::start().await,
        &[],
        &[("CW_SCIM_BEARER_TOKEN_FILE", missing.to_str().unwrap())],
        &["CW_SCIM_BEARER_TOKEN"],
        1,
        "CW_SCIM_BEARER_TOKEN_FILE: cannot read",
    )
    .await;
}

/// The hidden `env-vars` subcommand prints the list the manifest check reads: the
/// variables `--help` shows, one a line.
#[tokio::test(flavor = "multi_thread")]
async fn env_vars_prints_every_variable_once() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_binary(dir.path(), &["env-vars"], &[]).await;
    output.expect_code(0);
    let printed: Vec<&str> = output.stdout.lines().collect();
    assert_eq!(printed, env_vars::ALL, "{output}");
    assert!(printed.len() >= 20, "{output}");
    let help = run_binary(dir.path(), &["--help"], &[]).await;
    assert!(!help.stdout.contains("env-vars"), "hidden\n{help}");
}
