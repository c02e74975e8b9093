//! Command-line arguments (clap derive), each with its environment variable.

// The doc comments here are the `--help` text, which clap prints verbatim: plain text,
// not Markdown.
#![allow(clippy::doc_markdown, rustdoc::bare_urls, rustdoc::invalid_html_tags)]

use std::path::PathBuf;

use clap::{Args, CommandFactory as _, FromArgMatches as _, Parser, Subcommand, ValueEnum};
use reconcile_core::DeactivationLimit;
use secrecy::SecretString;

use crate::env_vars as env;

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
    #[arg(long, env = env::ACTIVATE_API_KEY, hide_env_values = true, global = true)]
    pub activate_api_key: Option<SecretString>,

    /// File holding the ACTIVATE API key (re-read on every run).
    #[arg(long, env = env::ACTIVATE_API_KEY_FILE, global = true)]
    pub activate_api_key_file: Option<PathBuf>,

    /// ACTIVATE base URL [default: decoded from the API key].
    #[arg(long, env = env::ACTIVATE_API_URL, global = true)]
    pub activate_api_url: Option<String>,

    /// ACTIVATE organization name [default: the API key's organization].
    #[arg(long, env = env::ACTIVATE_ORG_NAME, global = true)]
    pub activate_org_name: Option<String>,

    /// Comma-separated ACTIVATE group names; only their members are synced.
    #[arg(long, env = env::ACTIVATE_SYNC_GROUPS, global = true)]
    pub activate_sync_groups: Option<String>,

    /// Where users, groups and keys are read.
    #[arg(long, env = env::ACTIVATE_SOURCE, value_enum, default_value = "rest", global = true)]
    pub activate_source: ActivateSource,

    /// ACTIVATE SCIM bearer token (for --activate-source scim).
    #[arg(long, env = env::ACTIVATE_SCIM_TOKEN, hide_env_values = true, global = true)]
    pub activate_scim_token: Option<SecretString>,

    /// File holding the ACTIVATE SCIM bearer token (re-read on every run).
    #[arg(long, env = env::ACTIVATE_SCIM_TOKEN_FILE, global = true)]
    pub activate_scim_token_file: Option<PathBuf>,

    /// ACTIVATE's SCIM base URL [default: <ACTIVATE base URL>/api/organizations/<org>/scim/v2].
    #[arg(long, env = env::ACTIVATE_SCIM_URL, global = true)]
    pub activate_scim_url: Option<String>,

    /// Where SSH public keys come from (for --activate-source rest).
    #[arg(long, env = env::ACTIVATE_SSH_KEYS_SOURCE, value_enum, default_value = "api", global = true)]
    pub activate_ssh_keys_source: KeysSource,

    /// The pw program, for `--activate-ssh-keys-source pw-cli`.
    #[arg(long, env = env::PW_CLI_PATH, default_value = "pw", global = true)]
    pub pw_cli_path: PathBuf,

    /// CoreWeave organization id in the SCIM URL (https://api.coreweave.com/scim/<id>).
    #[arg(long, env = env::CW_SCIM_ORG_USERID, global = true)]
    pub cw_scim_org_userid: Option<String>,

    /// Full SCIM base URL (overrides --cw-scim-org-userid).
    #[arg(long, env = env::CW_SCIM_BASE_URL, global = true)]
    pub cw_scim_base_url: Option<String>,

    /// SCIM bearer token.
    #[arg(long, env = env::CW_SCIM_BEARER_TOKEN, hide_env_values = true, global = true)]
    pub cw_scim_bearer_token: Option<SecretString>,

    /// File holding the SCIM bearer token (re-read on every run).
    #[arg(long, env = env::CW_SCIM_BEARER_TOKEN_FILE, global = true)]
    pub cw_scim_bearer_token_file: Option<PathBuf>,

    /// Most deactivations one run may apply: a number (25) or a share of the owned
    /// active users from 0% to 100%, rounded down (10%). When more are planned, all
    /// deactivations are withheld and the run exits with 4.
    #[arg(long, env = env::MAX_DEACTIVATIONS, default_value = "25",
          value_parser = crate::settings::parse_max_deactivations, global = true)]
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
          value_parser = crate::settings::parse_max_rekeys, global = true)]
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
    pub heartbeat_url: Option<String>,

    /// Prometheus Pushgateway base URL; run metrics are pushed after each run.
    #[arg(long, env = env::PUSHGATEWAY_URL, global = true)]
    pub pushgateway_url: Option<String>,

    /// Extra PEM CA bundle to trust for both APIs (corporate TLS proxies).
    #[arg(long, env = env::CA_BUNDLE_FILE, global = true)]
    pub ca_bundle_file: Option<PathBuf>,

    /// Log level (error, warn, info, debug, trace); RUST_LOG overrides it.
    #[arg(long, env = env::LOG_LEVEL, default_value = "info", global = true)]
    pub log_level: String,

    /// Log format on stderr.
    #[arg(long, env = env::LOG_FORMAT, value_enum, default_value = "text", global = true)]
    pub log_format: LogFormat,

    /// Environment variables that were set to an empty value (and so count as unset).
    #[arg(skip)]
    pub blank_env: Vec<String>,
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
pub fn parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
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
    let mut matches = command.try_get_matches_from_mut(args)?;
    let mut cli = Cli::from_arg_matches_mut(&mut matches).map_err(|e| e.format(&mut command))?;
    cli.sync.blank_env = blank;
    Ok(cli)
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
    fn flags_parse() {
        let cli = Cli::try_parse_from([
            "x",
            "plan",
            "--dry-run",
            "--max-deactivations",
            "5",
            "--output",
            "json",
        ])
        .unwrap();
        assert!(matches!(cli.command, Some(Command::Plan)));
        assert!(cli.sync.dry_run);
        assert_eq!(cli.sync.max_deactivations, DeactivationLimit::Absolute(5));
        assert_eq!(cli.sync.output, Output::Json);
        assert!(Cli::try_parse_from(["x", "--concurrency", "0"]).is_err());
        let error = Cli::try_parse_from(["x", "--max-deactivations", "150%"]).unwrap_err();
        assert_eq!(error.kind(), clap::error::ErrorKind::ValueValidation);
        assert!(
            error
                .to_string()
                .contains("MAX_DEACTIVATIONS: 150% is more than 100%"),
            "{error}"
        );
        assert!(Cli::try_parse_from(["x", "--dry-run=maybe"]).is_err());
    }
}
