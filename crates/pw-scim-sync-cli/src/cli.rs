//! Command-line arguments (clap derive), each with its environment variable: the one
//! configuration contract. Every value is typed (see [`crate::values`]), so that a bad
//! one is a usage error (exit 2) naming the flag or the variable it came from.

// The doc comments here are the `--help` text, which clap prints verbatim: plain text,
// not Markdown.
#![allow(clippy::doc_markdown, rustdoc::bare_urls, rustdoc::invalid_html_tags)]

use std::path::PathBuf;

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Args, CommandFactory as _, FromArgMatches as _, Parser, Subcommand, ValueEnum};
use reconcile_core::DeactivationLimit;
use secrecy::SecretString;

use crate::env_vars as env;
use crate::values::{BaseUrl, EndpointUrl, GroupName, LogLevel, OrgId, OrgName, PushgatewayUrl};

/// The default of `--concurrency` (`SYNC_CONCURRENCY`): the lowest that makes the
/// benchmarks' initial provisioning ten times faster than one request at a time.
pub const DEFAULT_CONCURRENCY: u16 = 16;

/// Keeps CoreWeave IAM (SCIM 2.0) in step with Parallel Works ACTIVATE users, groups and
/// SSH keys. Without a subcommand it performs one sync.
///
/// Exit status: 0 success (converged, or a plan printed); 1 fatal error (configuration,
/// authentication, a side unreachable or incomplete, a SCIM server that does not keep
/// the ownership mark; nothing or only part written); 2 usage error; 3 some operations
/// failed or conflicted, or an ACTIVATE user was held; 4 a safety guard withheld
/// deactivations or re-keys.
#[derive(Debug, Parser)]
#[command(name = "pw-activate-scim-sync", version)]
#[command(
    after_help = "Every option can also be set through the environment variable shown, \
or a .env file in the working directory (the environment wins)."
)]
pub struct Cli {
    /// What to do; a sync when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Sync settings.
    #[command(flatten)]
    pub sync: SyncArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read both sides, apply the plan (the default).
    Sync,
    /// Read both sides and print the plan; write nothing (same as --dry-run).
    Plan,
    /// Read-only preflight: can both APIs be reached with these settings?
    Check,
    /// Run a real sync against bundled local emulators: no credentials needed.
    ///
    /// Builds without the `demo` feature (release builds, the container image) keep the
    /// name, hidden, to say that it is left out rather than that it does not exist.
    #[cfg_attr(not(feature = "demo"), command(hide = true))]
    Demo,
    /// Print the environment variables the tool reads, one a line (for the checks of
    /// the Kubernetes manifests).
    #[command(hide = true)]
    EnvVars,
}

/// What `demo` says in a build without it.
pub const DEMO_LEFT_OUT: &str = "`demo` is not in this build: release builds and the \
    container image leave out the emulators it runs. Run it from a source checkout: \
    `cargo run -- demo`";

/// Output format of the plan and the summary on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Human-readable.
    Text,
    /// One JSON document.
    Json,
}

/// Log format on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Where SSH public keys are read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeysSource {
    /// `GET /api/users/{username}/ssh-public-keys`.
    Api,
    /// The `pw ssh-public-keys <username>` command.
    PwCli,
}

/// Where users, groups and SSH keys are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ActivateSource {
    /// The REST API: users paged, one member list per group, one key lookup per user.
    Rest,
    /// ACTIVATE's read-only SCIM server: users with their keys, and groups with their
    /// members, in a few pages (needs ACTIVATE_SCIM_TOKEN).
    Scim,
}

/// Every setting of a sync.
#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)]
pub struct SyncArgs {
    /// ACTIVATE API key (pwt_…) or token.
    #[arg(long, env = env::ACTIVATE_API_KEY, hide_env_values = true, global = true,
          conflicts_with = "activate_api_key_file")]
    pub activate_api_key: Option<SecretString>,

    /// File holding the ACTIVATE API key (re-read on every run).
    #[arg(long, env = env::ACTIVATE_API_KEY_FILE, global = true)]
    pub activate_api_key_file: Option<PathBuf>,

    /// ACTIVATE base URL [default: decoded from the API key].
    #[arg(long, env = env::ACTIVATE_API_URL, global = true)]
    pub activate_api_url: Option<BaseUrl>,

    /// ACTIVATE organization name [default: the API key's organization].
    #[arg(long, env = env::ACTIVATE_ORG_NAME, global = true)]
    pub activate_org_name: Option<OrgName>,

    /// Comma-separated ACTIVATE group names; only their members are synced.
    #[arg(long, env = env::ACTIVATE_SYNC_GROUPS, value_delimiter = ',', global = true)]
    pub activate_sync_groups: Option<Vec<GroupName>>,

    /// Where users, groups and keys are read.
    #[arg(long, env = env::ACTIVATE_SOURCE, value_enum, default_value = "rest", global = true)]
    pub activate_source: ActivateSource,

    /// ACTIVATE SCIM bearer token (for --activate-source scim).
    #[arg(long, env = env::ACTIVATE_SCIM_TOKEN, hide_env_values = true, global = true,
          conflicts_with = "activate_scim_token_file")]
    pub activate_scim_token: Option<SecretString>,

    /// File holding the ACTIVATE SCIM bearer token (re-read on every run).
    #[arg(long, env = env::ACTIVATE_SCIM_TOKEN_FILE, global = true)]
    pub activate_scim_token_file: Option<PathBuf>,

    /// ACTIVATE's SCIM base URL [default: <ACTIVATE base URL>/api/organizations/<org>/scim/v2].
    #[arg(long, env = env::ACTIVATE_SCIM_URL, global = true)]
    pub activate_scim_url: Option<BaseUrl>,

    /// Where SSH public keys come from (for --activate-source rest).
    #[arg(long, env = env::ACTIVATE_SSH_KEYS_SOURCE, value_enum, default_value = "api", global = true)]
    pub activate_ssh_keys_source: KeysSource,

    /// The pw program, for `--activate-ssh-keys-source pw-cli`.
    #[arg(long, env = env::PW_CLI_PATH, default_value = "pw", global = true)]
    pub pw_cli_path: PathBuf,

    /// CoreWeave organization id in the SCIM URL (https://api.coreweave.com/scim/<id>).
    #[arg(long, env = env::CW_SCIM_ORG_USERID, global = true)]
    pub cw_scim_org_userid: Option<OrgId>,

    /// Full SCIM base URL (overrides --cw-scim-org-userid).
    #[arg(long, env = env::CW_SCIM_BASE_URL, global = true)]
    pub cw_scim_base_url: Option<BaseUrl>,

    /// SCIM bearer token.
    #[arg(long, env = env::CW_SCIM_BEARER_TOKEN, hide_env_values = true, global = true,
          conflicts_with = "cw_scim_bearer_token_file")]
    pub cw_scim_bearer_token: Option<SecretString>,

    /// File holding the SCIM bearer token (re-read on every run).
    #[arg(long, env = env::CW_SCIM_BEARER_TOKEN_FILE, global = true)]
    pub cw_scim_bearer_token_file: Option<PathBuf>,

    /// Most deactivations one run may apply: a number (25) or a share of the owned
    /// active users from 0% to 100%, rounded down (10%). When more are planned, all
    /// deactivations are withheld and the run exits with 4.
    #[arg(long, env = env::MAX_DEACTIVATIONS, default_value = "25",
          value_parser = crate::values::max_deactivations, global = true)]
    pub max_deactivations: DeactivationLimit,

    /// Apply deactivations beyond --max-deactivations for this run (logged).
    #[arg(long, env = env::ALLOW_MASS_DEACTIVATION, value_parser = boolish(), default_value = "false",
          num_args = 0..=1, default_missing_value = "true", global = true)]
    pub allow_mass_deactivation: bool,

    /// Most owned user records one run may re-key (give a new externalId): a number
    /// (25) or a share of the owned users from 0% to 100%. A mass re-key means the
    /// source's ids changed (a switch of ACTIVATE_SOURCE?); when more are planned, all
    /// re-keys are withheld and the run exits with 4.
    #[arg(long, env = env::MAX_REKEYS, default_value = "25",
          value_parser = crate::values::max_rekeys, global = true)]
    pub max_rekeys: DeactivationLimit,

    /// Apply re-keys beyond --max-rekeys for this run (logged).
    #[arg(long, env = env::ALLOW_MASS_REKEY, value_parser = boolish(), default_value = "false",
          num_args = 0..=1, default_missing_value = "true", global = true)]
    pub allow_mass_rekey: bool,

    /// Print the plan and write nothing.
    #[arg(long, env = env::DRY_RUN, value_parser = boolish(), default_value = "false",
          num_args = 0..=1, default_missing_value = "true", global = true)]
    pub dry_run: bool,

    /// Format of the plan and summary on stdout.
    #[arg(long, env = env::OUTPUT, value_enum, default_value = "text", global = true)]
    pub output: Output,

    /// Concurrent requests to each side.
    #[arg(long, env = env::SYNC_CONCURRENCY, default_value_t = DEFAULT_CONCURRENCY,
          value_parser = clap::value_parser!(u16).range(1..=256), global = true)]
    pub concurrency: u16,

    /// Timeout of one HTTP request, in seconds.
    #[arg(long, env = env::HTTP_TIMEOUT, default_value = "30",
          value_parser = clap::value_parser!(u64).range(1..=3600), global = true)]
    pub timeout: u64,

    /// Stop starting new writes after this many seconds (match the CronJob's
    /// activeDeadlineSeconds, minus a margin).
    #[arg(long, env = env::SYNC_DEADLINE,
          value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub deadline: Option<u64>,

    /// URL to GET after a successful run (a dead man's switch).
    #[arg(long, env = env::HEARTBEAT_URL, global = true)]
    pub heartbeat_url: Option<EndpointUrl>,

    /// Prometheus Pushgateway base URL; run metrics are pushed after each run.
    #[arg(long, env = env::PUSHGATEWAY_URL, global = true)]
    pub pushgateway_url: Option<PushgatewayUrl>,

    /// Extra PEM CA bundle to trust for both APIs (corporate TLS proxies).
    #[arg(long, env = env::CA_BUNDLE_FILE, global = true)]
    pub ca_bundle_file: Option<PathBuf>,

    /// Log level (error, warn, info, debug, trace); RUST_LOG overrides it.
    #[arg(long, env = env::LOG_LEVEL, default_value = "info", global = true)]
    pub log_level: LogLevel,

    /// Log format on stderr.
    #[arg(long, env = env::LOG_FORMAT, value_enum, default_value = "text", global = true)]
    pub log_format: LogFormat,

    /// Environment variables that were set to an empty value (and so count as unset).
    #[arg(skip)]
    pub blank_env: Vec<String>,

    /// Environment variables whose flag was on the command line, so that messages name
    /// the flag instead (see [`SyncArgs::name_of`]).
    #[arg(skip)]
    pub flags_given: Vec<String>,
}

impl SyncArgs {
    /// How the user gave the setting of the environment variable `var`: its `--flag`
    /// when that was on the command line, otherwise `var`.
    pub fn name_of(&self, var: &str) -> String {
        if !self.flags_given.iter().any(|given| given == var) {
            return var.to_owned();
        }
        Cli::command()
            .get_arguments()
            .find(|arg| arg.get_env().is_some_and(|env| env == var))
            .and_then(clap::Arg::get_long)
            .map_or_else(|| var.to_owned(), |long| format!("--{long}"))
    }
}

/// The environment variables of `command`'s arguments that are set to an empty (or
/// blank) value, sorted.
fn blank_env_vars(command: &clap::Command) -> Vec<String> {
    let mut names: Vec<String> = command
        .get_arguments()
        .filter_map(clap::Arg::get_env)
        .filter(|name| {
            std::env::var_os(name).is_some_and(|value| value.to_string_lossy().trim().is_empty())
        })
        .map(|name| name.to_string_lossy().into_owned())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Parses `args` with the process environment, where a variable set to an empty (or
/// blank) value counts as unset: ConfigMaps often carry empty entries. The names of
/// those variables are kept in [`SyncArgs::blank_env`], so that a required setting
/// can say it is empty rather than missing.
///
/// A bad value, or two settings that exclude each other, is a usage error naming what
/// the user set: the flag when it was on the command line, otherwise its environment
/// variable.
pub fn parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let mut command = Cli::command();
    let blank = blank_env_vars(&command);
    for name in &blank {
        let name = name.clone();
        command = command.mut_args(move |arg| {
            if arg.get_env().is_some_and(|env| env == name.as_str()) {
                arg.env(None)
            } else {
                arg
            }
        });
    }
    let mut matches = command
        .try_get_matches_from_mut(&args)
        .map_err(|error| name_what_was_set(error, &mut command, &args))?;
    let mut cli = Cli::from_arg_matches_mut(&mut matches).map_err(|e| e.format(&mut command))?;
    cli.sync.blank_env = blank;
    cli.sync.flags_given = command
        .get_arguments()
        .filter(|arg| {
            arg.get_long()
                .is_some_and(|long| on_command_line(long, &args, None))
        })
        .filter_map(|arg| arg.get_env().map(|env| env.to_string_lossy().into_owned()))
        .collect();
    Ok(cli)
}

/// `error` rewritten to name each argument as the user gave it (see [`shown`]); other
/// errors unchanged. Values are repeated with any URL credentials masked.
fn name_what_was_set(
    error: clap::Error,
    command: &mut clap::Command,
    args: &[OsString],
) -> clap::Error {
    let text = |kind| match error.get(kind) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        Some(ContextValue::Strings(s)) => s.first().cloned(),
        _ => None,
    };
    let arg_of = |shown_as: &str| {
        let long = shown_as.split_whitespace().next()?.strip_prefix("--")?;
        command
            .get_arguments()
            .find(|a| a.get_long() == Some(long))
            .cloned()
    };
    let Some(invalid) = text(ContextKind::InvalidArg).and_then(|a| arg_of(&a)) else {
        return error;
    };
    let message = match error.kind() {
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            let value = text(ContextKind::InvalidValue).unwrap_or_default();
            let reason = std::error::Error::source(&error)
                .map(|reason| format!(": {reason}"))
                .unwrap_or_default();
            let valid = match error.get(ContextKind::ValidValue) {
                Some(ContextValue::Strings(valid)) => {
                    format!(" (expected one of: {})", valid.join(", "))
                }
                _ => String::new(),
            };
            format!(
                "invalid value '{}' for {}{reason}{valid}",
                crate::values::masked(&value),
                shown(&invalid, args, Some(&value))
            )
        }
        ErrorKind::ArgumentConflict => {
            let Some(prior) = text(ContextKind::PriorArg).and_then(|a| arg_of(&a)) else {
                return error;
            };
            // In the order of `--help`, whichever clap met first.
            let position = |arg: &clap::Arg| {
                command
                    .get_arguments()
                    .position(|a| a.get_id() == arg.get_id())
            };
            let (first, second) = if position(&prior) <= position(&invalid) {
                (prior, invalid)
            } else {
                (invalid, prior)
            };
            format!(
                "{} and {} are both set; set one of them",
                shown(&first, args, None),
                shown(&second, args, None)
            )
        }
        _ => return error,
    };
    command.error(error.kind(), message)
}

/// How the user gave `arg`: `--flag` when it is on the command line (with `value`,
/// when given: see [`on_command_line`]), otherwise its environment variable (set in
/// the environment or `.env`).
fn shown(arg: &clap::Arg, args: &[OsString], value: Option<&str>) -> String {
    let Some(long) = arg.get_long() else {
        return arg.get_id().to_string();
    };
    match arg.get_env() {
        Some(var) if !on_command_line(long, args, value) && std::env::var_os(var).is_some() => {
            var.to_string_lossy().into_owned()
        }
        _ => format!("--{long}"),
    }
}

/// Whether `--long` is on the command line `args` (after the program name). When
/// `value` is given, only if the command line gave that value: a global flag before a
/// subcommand does not keep the subcommand from reading the variable as well.
fn on_command_line(long: &str, args: &[OsString], value: Option<&str>) -> bool {
    let flag = format!("--{long}");
    let given = |text: &str| value.is_none_or(|value| text.contains(value));
    let words: Vec<&str> = args.iter().skip(1).filter_map(|a| a.to_str()).collect();
    words.iter().enumerate().any(|(i, word)| {
        if *word == flag {
            value.is_none() || words.get(i + 1).is_some_and(|next| given(next))
        } else {
            word.strip_prefix(&flag)
                .and_then(|rest| rest.strip_prefix('='))
                .is_some_and(given)
        }
    })
}

/// `true/false/yes/no/1/0/on/off`, any case; anything else is a usage error.
fn boolish() -> clap::builder::BoolishValueParser {
    clap::builder::BoolishValueParser::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_setting_has_a_listed_variable_and_every_listed_variable_a_setting() {
        let command = Cli::command();
        let mut declared: Vec<String> = command
            .get_arguments()
            .filter_map(clap::Arg::get_env)
            .map(|e| e.to_string_lossy().into_owned())
            .collect();
        declared.sort();
        let mut listed: Vec<String> = env::ALL.iter().map(|&v| v.to_owned()).collect();
        listed.sort();
        assert_eq!(declared, listed);
    }

    #[test]
    fn flags_parse() {
        let cli = Cli::try_parse_from([
            "x",
            "plan",
            "--dry-run",
            "--max-deactivations",
            "5",
            "--output",
            "json",
            "--activate-sync-groups",
            "a, b",
            "--activate-sync-groups=c,",
        ])
        .unwrap();
        assert!(matches!(cli.command, Some(Command::Plan)));
        assert!(cli.sync.dry_run);
        assert_eq!(cli.sync.max_deactivations, DeactivationLimit::Absolute(5));
        assert_eq!(cli.sync.output, Output::Json);
        let groups: Vec<String> = cli
            .sync
            .activate_sync_groups
            .unwrap()
            .into_iter()
            .map(|g| g.0)
            .collect();
        // The trailing comma's empty entry is skipped by the settings.
        assert_eq!(groups, ["a", "b", "c", ""]);
    }

    #[test]
    fn messages_name_the_flags_that_were_given() {
        let cli = parse_from(["x", "--activate-api-key-file", "/k", "--concurrency=4"]).unwrap();
        assert_eq!(
            cli.sync.name_of(env::ACTIVATE_API_KEY_FILE),
            "--activate-api-key-file"
        );
        assert_eq!(cli.sync.name_of(env::SYNC_CONCURRENCY), "--concurrency");
        assert_eq!(
            cli.sync.name_of(env::ACTIVATE_ORG_NAME),
            "ACTIVATE_ORG_NAME"
        );
    }

    /// Bad values on the command line: usage errors naming the flag and the reason.
    #[test]
    fn bad_flags_are_usage_errors_naming_the_flag() {
        let cases: [(&[&str], &str); 7] = [
            (
                &["--concurrency", "0"],
                "invalid value '0' for --concurrency: 0 is not in 1..=256",
            ),
            (
                &["--max-deactivations", "150%"],
                "invalid value '150%' for --max-deactivations: 150% is more than 100%",
            ),
            (
                &["--dry-run=maybe"],
                "invalid value 'maybe' for --dry-run: value was not a boolean",
            ),
            (
                &["--output", "xml"],
                "invalid value 'xml' for --output (expected one of: text, json)",
            ),
            (
                &["--cw-scim-base-url", "http://u:hunter2@scim.example.com/x"],
                "invalid value 'http://***:***@scim.example.com/x' for --cw-scim-base-url: the URL must not contain credentials",
            ),
            (
                &["--log-level", "loud"],
                "invalid value 'loud' for --log-level: expected one of error, warn, info, debug, trace",
            ),
            (
                &[
                    "--cw-scim-bearer-token",
                    "t",
                    "--cw-scim-bearer-token-file",
                    "/f",
                ],
                "--cw-scim-bearer-token and --cw-scim-bearer-token-file are both set; set one of them",
            ),
        ];
        for (args, expected) in cases {
            let argv = std::iter::once(&"x").chain(args);
            let error = parse_from(argv).unwrap_err();
            assert!(error.use_stderr(), "{args:?}");
            assert_eq!(error.exit_code(), 2, "{args:?}");
            let shown = error.to_string();
            assert!(shown.contains(expected), "{args:?}: {shown}");
            assert!(!shown.contains("hunter2"), "{shown}");
        }
    }
}
