//! Configuration errors (exit 1, naming the variable), usage errors (exit 2), empty
//! settings, `--help` and `.env`.

use crate::harness::{World, run_binary};

/// The names declared in the CLI's `env_vars.rs`, read from the source at test time.
fn declared_env_vars() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/env_vars.rs");
    let source = std::fs::read_to_string(path).unwrap();
    let names: Vec<String> = source
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub const "))
        .map(|rest| {
            let (name, value) = rest.split_once(": &str = ").expect("a string constant");
            assert_eq!(value, format!("{name:?};"), "the constant is its own name");
            name.to_owned()
        })
        .collect();
    assert!(names.len() >= 20, "{names:?}");
    names
}

/// Runs with the base environment changed, and checks the exit status, that stderr
/// contains `message`, and that neither side was contacted.
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
    assert_eq!(output.stdout, "", "{output}");
    assert_eq!(world.activate.log().total(), 0, "{args:?} {env:?}");
    assert_eq!(world.scim().log().total(), 0, "{args:?} {env:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn configuration_errors_name_the_variable_and_exit_1() {
    let world = World::start().await;
    expect_failure(
        &world,
        &[],
        &[],
        &["ACTIVATE_API_KEY"],
        1,
        "ACTIVATE_API_KEY (or ACTIVATE_API_KEY_FILE) is required",
    )
    .await;
    expect_failure(
        &world,
        &[],
        &[("ACTIVATE_API_KEY", "  ")],
        &[],
        1,
        "ACTIVATE_API_KEY (or ACTIVATE_API_KEY_FILE) is required",
    )
    .await;
    expect_failure(
        &world,
        &[],
        &[("CW_SCIM_BASE_URL", "http://scim.example.com/scim/org")],
        &[],
        1,
        "CW_SCIM_BASE_URL: plain http:// is only allowed to loopback hosts, not to \"scim.example.com\"",
    )
    .await;
    expect_failure(
        &world,
        &[],
        &[("ACTIVATE_API_URL", "http://activate.example.com")],
        &[],
        1,
        "ACTIVATE_API_URL: plain http:// is only allowed to loopback hosts",
    )
    .await;
    expect_failure(
        &world,
        &[],
        &[],
        &["CW_SCIM_BASE_URL"],
        1,
        "CW_SCIM_ORG_USERID (the org id in https://api.coreweave.com/scim/<id>) or CW_SCIM_BASE_URL is required",
    )
    .await;
    expect_failure(
        &world,
        &[],
        &[],
        &["CW_SCIM_BEARER_TOKEN"],
        1,
        "CW_SCIM_BEARER_TOKEN (or CW_SCIM_BEARER_TOKEN_FILE) is required",
    )
    .await;
    expect_failure(
        &world,
        &[],
        &[("ACTIVATE_SYNC_GROUPS", " , ")],
        &[],
        1,
        "ACTIVATE_SYNC_GROUPS is set but names no group",
    )
    .await;
    expect_failure(
        &world,
        &[],
        &[("LOG_LEVEL", "loud")],
        &[],
        1,
        "LOG_LEVEL must be one of error, warn, info, debug, trace",
    )
    .await;
    // The same checks apply to `plan`.
    expect_failure(
        &world,
        &["plan"],
        &[],
        &["CW_SCIM_BEARER_TOKEN"],
        1,
        "CW_SCIM_BEARER_TOKEN (or CW_SCIM_BEARER_TOKEN_FILE) is required",
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
        "ACTIVATE_API_KEY_FILE",
        "CW_SCIM_ORG_USERID",
        "CW_SCIM_BEARER_TOKEN_FILE",
        "MAX_DEACTIVATIONS",
        "ALLOW_MASS_DEACTIVATION",
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
    expect_failure(
        &world,
        &[],
        &[("ACTIVATE_API_KEY", "")],
        &[],
        1,
        "ACTIVATE_API_KEY (or ACTIVATE_API_KEY_FILE) is required; ACTIVATE_API_KEY is set but empty (an empty value counts as unset)",
    )
    .await;
    expect_failure(
        &world,
        &[],
        &[("CW_SCIM_BASE_URL", ""), ("CW_SCIM_ORG_USERID", " ")],
        &[],
        1,
        "CW_SCIM_ORG_USERID (the org id in https://api.coreweave.com/scim/<id>) or CW_SCIM_BASE_URL is required; CW_SCIM_ORG_USERID and CW_SCIM_BASE_URL are set but empty (an empty value counts as unset)",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_errors_exit_2() {
    let world = World::start().await;
    expect_failure(&world, &["--no-such-flag"], &[], &[], 2, "--no-such-flag").await;
    expect_failure(&world, &["frobnicate"], &[], &[], 2, "frobnicate").await;
    expect_failure(&world, &["--output", "xml"], &[], &[], 2, "xml").await;
    expect_failure(&world, &[], &[("DRY_RUN", "maybe")], &[], 2, "maybe").await;
    expect_failure(&world, &[], &[("SYNC_CONCURRENCY", "0")], &[], 2, "0").await;
    expect_failure(
        &world,
        &[],
        &[("MAX_DEACTIVATIONS", "ten")],
        &[],
        2,
        "MAX_DEACTIVATIONS: invalid deactivation limit \"ten\"",
    )
    .await;
    expect_failure(
        &world,
        &["plan"],
        &[("MAX_DEACTIVATIONS", "150%")],
        &[],
        2,
        "MAX_DEACTIVATIONS: 150% is more than 100%",
    )
    .await;
    expect_failure(
        &world,
        &["--max-deactivations=-1"],
        &[],
        &[],
        2,
        "MAX_DEACTIVATIONS: invalid deactivation limit \"-1\"",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn help_lists_every_environment_variable() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_binary(dir.path(), &["--help"], &[]).await;
    output.expect_code(0);
    for name in declared_env_vars() {
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
