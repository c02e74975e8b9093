//! Validated settings: the arguments and environment turned into values the run uses,
//! with one clear message per misconfiguration naming the variable and what it expects.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use reconcile_core::DeactivationLimit;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::cli::{ActivateSource, KeysSource, LogFormat, Output, SyncArgs};
use crate::env_vars as env;

/// CoreWeave's SCIM endpoint, to which the org segment is appended.
pub const COREWEAVE_SCIM_BASE: &str = "https://api.coreweave.com/scim/";

/// Settings for reading ACTIVATE.
#[derive(Debug)]
pub struct ActivateSettings {
    /// The API key or token.
    pub credential: SecretString,
    /// The variable that supplied it (`ACTIVATE_API_KEY` or `ACTIVATE_API_KEY_FILE`),
    /// for messages.
    pub credential_var: &'static str,
    /// Explicit base URL, overriding the host decoded from the key.
    pub api_url: Option<Url>,
    /// Explicit organization name.
    pub org_name: Option<String>,
    /// Where users, groups and keys are read.
    pub source: SourceSettings,
    /// Where SSH keys come from (REST source).
    pub keys_source: KeysSource,
    /// The `pw` program for [`KeysSource::PwCli`].
    pub pw_cli_path: PathBuf,
}

/// Where users, groups and keys are read.
#[derive(Debug)]
pub enum SourceSettings {
    /// The REST API.
    Rest,
    /// ACTIVATE's read-only SCIM server.
    Scim {
        /// The SCIM bearer token.
        token: SecretString,
        /// Explicit SCIM base URL; default `<base URL>/api/organizations/<org>/scim/v2`.
        url: Option<Url>,
    },
}

/// Settings for writing CoreWeave SCIM.
#[derive(Debug)]
pub struct ScimSettings {
    /// The SCIM base URL.
    pub base_url: Url,
    /// The bearer token.
    pub token: SecretString,
}

/// Settings that do not depend on either side.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// Group names forming the hard scope; `None` syncs every org user.
    pub scope: Option<BTreeSet<String>>,
    /// The deactivation guard.
    pub max_deactivations: DeactivationLimit,
    /// Lift the guard for this run.
    pub allow_mass_deactivation: bool,
    /// Re-key guard.
    pub max_rekeys: DeactivationLimit,
    /// Lift the re-key guard for this run.
    pub allow_mass_rekey: bool,
    /// Plan only.
    pub dry_run: bool,
    /// stdout format.
    pub output: Output,
    /// Concurrent requests per side.
    pub concurrency: usize,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Stop starting writes after this long.
    pub deadline: Option<Duration>,
    /// GET after a successful run.
    pub heartbeat_url: Option<Url>,
    /// Prometheus Pushgateway base URL.
    pub pushgateway_url: Option<Url>,
    /// Extra CA bundle (PEM).
    pub ca_bundle: Option<Vec<u8>>,
}

/// Everything a sync needs.
#[derive(Debug)]
pub struct Settings {
    /// The source side.
    pub activate: ActivateSettings,
    /// The target side.
    pub scim: ScimSettings,
    /// The rest.
    pub run: RunSettings,
}

impl Settings {
    /// Validates the arguments of a sync, plan or check.
    pub fn from_args(args: &SyncArgs) -> Result<Self> {
        let run = RunSettings::from_args(args)?;
        let (credential, credential_var) = secret(
            args.activate_api_key.as_ref(),
            args.activate_api_key_file.as_deref(),
            [env::ACTIVATE_API_KEY, env::ACTIVATE_API_KEY_FILE],
            &args.blank_env,
        )?;
        let api_url = args
            .activate_api_url
            .as_deref()
            .map(|raw| parse_url(raw, env::ACTIVATE_API_URL))
            .transpose()?;
        let org_name = non_empty(args.activate_org_name.as_deref());
        let source = source(args)?;
        let (token, _) = secret(
            args.cw_scim_bearer_token.as_ref(),
            args.cw_scim_bearer_token_file.as_deref(),
            [env::CW_SCIM_BEARER_TOKEN, env::CW_SCIM_BEARER_TOKEN_FILE],
            &args.blank_env,
        )?;
        let base_url = scim_base_url(
            args.cw_scim_base_url.as_deref(),
            args.cw_scim_org_userid.as_deref(),
            &args.blank_env,
        )?;
        Ok(Self {
            activate: ActivateSettings {
                credential,
                credential_var,
                api_url,
                org_name,
                source,
                keys_source: args.activate_ssh_keys_source,
                pw_cli_path: args.pw_cli_path.clone(),
            },
            scim: ScimSettings { base_url, token },
            run,
        })
    }
}

impl RunSettings {
    /// Validates the side-independent settings.
    pub fn from_args(args: &SyncArgs) -> Result<Self> {
        Ok(Self {
            scope: scope(args.activate_sync_groups.as_deref())?,
            max_deactivations: args.max_deactivations,
            allow_mass_deactivation: args.allow_mass_deactivation,
            max_rekeys: args.max_rekeys,
            allow_mass_rekey: args.allow_mass_rekey,
            dry_run: args.dry_run,
            output: args.output,
            concurrency: usize::from(args.concurrency),
            timeout: Duration::from_secs(args.timeout),
            deadline: args.deadline.map(Duration::from_secs),
            heartbeat_url: args
                .heartbeat_url
                .as_deref()
                .and_then(|raw| non_empty(Some(raw)))
                .map(|raw| parse_url(&raw, env::HEARTBEAT_URL))
                .transpose()?,
            pushgateway_url: args
                .pushgateway_url
                .as_deref()
                .and_then(|raw| non_empty(Some(raw)))
                .map(|raw| parse_pushgateway_url(&raw))
                .transpose()?,
            ca_bundle: args
                .ca_bundle_file
                .as_deref()
                .map(load_ca_bundle)
                .transpose()?,
        })
    }
}

/// The source settings: the SCIM token is required for (and the pw program does not
/// apply to) the SCIM source.
fn source(args: &SyncArgs) -> Result<SourceSettings> {
    match args.activate_source {
        ActivateSource::Rest => Ok(SourceSettings::Rest),
        ActivateSource::Scim => {
            if args.activate_ssh_keys_source == KeysSource::PwCli {
                bail!(
                    "{}=pw-cli applies to {}=rest only: the SCIM source reads the keys with the users",
                    env::ACTIVATE_SSH_KEYS_SOURCE,
                    env::ACTIVATE_SOURCE
                );
            }
            let (token, _) = secret(
                args.activate_scim_token.as_ref(),
                args.activate_scim_token_file.as_deref(),
                [env::ACTIVATE_SCIM_TOKEN, env::ACTIVATE_SCIM_TOKEN_FILE],
                &args.blank_env,
            )
            .with_context(|| format!("{}=scim needs a SCIM token", env::ACTIVATE_SOURCE))?;
            let url = args
                .activate_scim_url
                .as_deref()
                .map(|raw| parse_url(raw, env::ACTIVATE_SCIM_URL))
                .transpose()?;
            Ok(SourceSettings::Scim { token, url })
        }
    }
}

/// The log settings are needed before anything else is validated.
pub fn log_settings(args: &SyncArgs) -> (String, LogFormat) {
    (args.log_level.clone(), args.log_format)
}

/// Reads the extra CA bundle and checks it here, so that every problem with it is
/// reported against `CA_BUNDLE_FILE` rather than by whichever client is built first.
fn load_ca_bundle(path: &Path) -> Result<Vec<u8>> {
    let var = env::CA_BUNDLE_FILE;
    let where_ = path.display();
    let pem = std::fs::read(path).with_context(|| format!("{var}: cannot read {where_}"))?;
    let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
        anyhow!(
            "{var} holds no valid PEM certificate ({where_}): {}",
            cause(&e)
        )
    })?;
    if certificates.is_empty() {
        bail!("{var} holds no valid PEM certificate ({where_})");
    }
    let mut builder = reqwest::Client::builder();
    for certificate in certificates {
        builder = builder.add_root_certificate(certificate);
    }
    builder.build().map_err(|e| {
        anyhow!(
            "{var} holds a certificate that cannot be used ({where_}): {}",
            cause(&e)
        )
    })?;
    Ok(pem)
}

/// The innermost message of an error chain (reqwest's own says only "builder error").
fn cause(error: &(dyn std::error::Error + 'static)) -> String {
    http_policy::chain::innermost(error).to_string()
}

fn non_empty(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// A secret given directly or in a file (exactly one of the two), and the variable
/// that gave it.
fn secret(
    direct: Option<&SecretString>,
    file: Option<&Path>,
    [direct_var, file_var]: [&'static str; 2],
    blank: &[String],
) -> Result<(SecretString, &'static str)> {
    let direct = direct.filter(|s| !s.expose_secret().trim().is_empty());
    match (direct, file) {
        (Some(_), Some(_)) => bail!("set either {direct_var} or {file_var}, not both"),
        (Some(value), None) => Ok((
            SecretString::from(value.expose_secret().trim().to_owned()),
            direct_var,
        )),
        (None, Some(path)) => {
            let raw = std::fs::read_to_string(path)
                .with_context(|| format!("{file_var}: cannot read {}", path.display()))?;
            let value = raw.trim();
            if value.is_empty() {
                bail!("{file_var}: {} is empty", path.display());
            }
            Ok((SecretString::from(value.to_owned()), file_var))
        }
        (None, None) => Err(required(
            blank,
            &[direct_var, file_var],
            &format!("{direct_var} (or {file_var}) is required"),
        )),
    }
}

/// `message`, or, when the variables it is about were all set to empty values,
/// a message saying so.
fn required(blank: &[String], vars: &[&str], message: &str) -> anyhow::Error {
    let empty: Vec<&str> = vars
        .iter()
        .copied()
        .filter(|var| blank.iter().any(|b| b == var))
        .collect();
    if empty.is_empty() {
        anyhow!("{message}")
    } else {
        anyhow!(
            "{message}; {} {} set but empty (an empty value counts as unset)",
            empty.join(" and "),
            if empty.len() == 1 { "is" } else { "are" }
        )
    }
}

fn parse_url(raw: &str, var: &str) -> Result<Url> {
    let url = Url::parse(raw.trim())
        .map_err(|e| anyhow!("{var} must be an absolute URL such as https://host/path: {e}"))?;
    http_policy::transport::check_url(&url).map_err(|e| anyhow!("{var}: {e}"))?;
    Ok(url)
}

/// The Pushgateway is the one endpoint that may be plain `http://` to any host: an
/// in-cluster Pushgateway rarely has TLS, and a push carries no credential (a URL
/// with credentials is refused) and no secret, only counts.
fn parse_pushgateway_url(raw: &str) -> Result<Url> {
    let var = env::PUSHGATEWAY_URL;
    let url = Url::parse(raw.trim()).map_err(|e| {
        anyhow!("{var} must be an absolute URL such as http://pushgateway:9091: {e}")
    })?;
    match http_policy::transport::check_url(&url) {
        Ok(()) | Err(http_policy::transport::InsecureUrl::PlainHttp { .. }) => Ok(url),
        Err(e) => Err(anyhow!("{var}: {e}")),
    }
}

fn scim_base_url(
    base_url: Option<&str>,
    org_userid: Option<&str>,
    blank: &[String],
) -> Result<Url> {
    if let Some(raw) = non_empty(base_url) {
        return parse_url(&raw, env::CW_SCIM_BASE_URL);
    }
    let Some(org) = non_empty(org_userid) else {
        return Err(required(
            blank,
            &[env::CW_SCIM_ORG_USERID, env::CW_SCIM_BASE_URL],
            &format!(
                "{} (the org id in https://api.coreweave.com/scim/<id>) or {} is required",
                env::CW_SCIM_ORG_USERID,
                env::CW_SCIM_BASE_URL
            ),
        ));
    };
    if !org
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        bail!(
            "{} must be the organization id segment (letters, digits, '-', '_', '.'), got {org:?}",
            env::CW_SCIM_ORG_USERID
        );
    }
    parse_url(
        &format!("{COREWEAVE_SCIM_BASE}{org}"),
        env::CW_SCIM_ORG_USERID,
    )
}

fn scope(raw: Option<&str>) -> Result<Option<BTreeSet<String>>> {
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
        return Ok(None);
    };
    let names: BTreeSet<String> = raw
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect();
    if names.is_empty() {
        bail!(
            "{} is set but names no group; expected a comma-separated list such as gpu-users,ml-team",
            env::ACTIVATE_SYNC_GROUPS
        );
    }
    Ok(Some(names))
}

/// Parses `MAX_DEACTIVATIONS`: `25` or `10%` (the core's syntax; a percentage at most
/// 100%), naming the variable on error. Used as the argument's value parser, so a bad
/// value is a usage error.
pub fn parse_max_deactivations(raw: &str) -> Result<DeactivationLimit> {
    parse_limit(env::MAX_DEACTIVATIONS, "owned active users", raw)
}

/// Parses `MAX_REKEYS`, like [`parse_max_deactivations`].
pub fn parse_max_rekeys(raw: &str) -> Result<DeactivationLimit> {
    parse_limit(env::MAX_REKEYS, "owned users", raw)
}

fn parse_limit(name: &str, share_of: &str, raw: &str) -> Result<DeactivationLimit> {
    let limit = raw.parse().map_err(|e| anyhow!("{name}: {e}"))?;
    if let DeactivationLimit::Percent(p) = limit
        && p > 100
    {
        bail!(
            "{name}: {p}% is more than 100%; give a share of the {share_of} from 0% to 100%, or an absolute number"
        );
    }
    Ok(limit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;

    fn args(extra: &[&str]) -> SyncArgs {
        let mut argv = vec!["x"];
        argv.extend_from_slice(extra);
        Cli::try_parse_from(argv).unwrap().sync
    }

    fn err(extra: &[&str]) -> String {
        format!("{:#}", Settings::from_args(&args(extra)).unwrap_err())
    }

    #[test]
    fn max_deactivations_forms() {
        assert_eq!(
            parse_max_deactivations("25").unwrap(),
            DeactivationLimit::Absolute(25)
        );
        assert_eq!(
            parse_max_deactivations(" 10% ").unwrap(),
            DeactivationLimit::Percent(10)
        );
        for bad in ["", "ten", "-1", "1.5", "%"] {
            let message = parse_max_deactivations(bad).unwrap_err().to_string();
            assert!(
                message.starts_with("MAX_DEACTIVATIONS: invalid deactivation limit"),
                "{bad}: {message}"
            );
        }
        assert_eq!(
            parse_max_deactivations("100%").unwrap(),
            DeactivationLimit::Percent(100)
        );
        assert_eq!(
            parse_max_deactivations("101%").unwrap_err().to_string(),
            "MAX_DEACTIVATIONS: 101% is more than 100%; give a share of the owned active users from 0% to 100%, or an absolute number"
        );
        assert_eq!(
            parse_max_deactivations("1000").unwrap(),
            DeactivationLimit::Absolute(1000),
            "an absolute number may exceed the users there are"
        );
    }

    #[test]
    fn required_settings_say_when_they_were_set_empty() {
        let blank = vec!["CW_SCIM_ORG_USERID".to_owned()];
        assert_eq!(
            format!("{:#}", scim_base_url(None, None, &blank).unwrap_err()),
            "CW_SCIM_ORG_USERID (the org id in https://api.coreweave.com/scim/<id>) or CW_SCIM_BASE_URL is required; CW_SCIM_ORG_USERID is set but empty (an empty value counts as unset)"
        );
        let blank = vec![
            "ACTIVATE_API_KEY".to_owned(),
            "ACTIVATE_API_KEY_FILE".to_owned(),
        ];
        assert_eq!(
            format!(
                "{:#}",
                secret(
                    None,
                    None,
                    [env::ACTIVATE_API_KEY, env::ACTIVATE_API_KEY_FILE],
                    &blank
                )
                .unwrap_err()
            ),
            "ACTIVATE_API_KEY (or ACTIVATE_API_KEY_FILE) is required; ACTIVATE_API_KEY and ACTIVATE_API_KEY_FILE are set but empty (an empty value counts as unset)"
        );
        assert_eq!(
            format!(
                "{:#}",
                secret(
                    None,
                    None,
                    [env::ACTIVATE_API_KEY, env::ACTIVATE_API_KEY_FILE],
                    &[]
                )
                .unwrap_err()
            ),
            "ACTIVATE_API_KEY (or ACTIVATE_API_KEY_FILE) is required"
        );
    }

    #[test]
    fn missing_and_conflicting_secrets_are_named() {
        assert_eq!(
            err(&["--cw-scim-org-userid", "abc"]),
            "ACTIVATE_API_KEY (or ACTIVATE_API_KEY_FILE) is required"
        );
        assert_eq!(
            err(&[
                "--activate-api-key",
                "pwt_x.y",
                "--activate-api-key-file",
                "/nonexistent"
            ]),
            "set either ACTIVATE_API_KEY or ACTIVATE_API_KEY_FILE, not both"
        );
        let message = err(&[
            "--activate-api-key",
            "pwt_x.y",
            "--cw-scim-bearer-token-file",
            "/nonexistent/token",
        ]);
        assert!(
            message.starts_with("CW_SCIM_BEARER_TOKEN_FILE: cannot read /nonexistent/token: "),
            "{message}"
        );
    }

    #[test]
    fn scim_url_rules() {
        let base = [
            "--activate-api-key",
            "pwt_x.y",
            "--cw-scim-bearer-token",
            "t",
        ];
        let with = |extra: &[&str]| {
            let mut all = base.to_vec();
            all.extend_from_slice(extra);
            all.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()
        };
        let settings = |extra: &[&str]| {
            let argv = with(extra);
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            Settings::from_args(&args(&argv))
        };
        assert_eq!(
            settings(&["--cw-scim-org-userid", "ab12"])
                .unwrap()
                .scim
                .base_url
                .as_str(),
            "https://api.coreweave.com/scim/ab12"
        );
        assert_eq!(
            format!(
                "{:#}",
                settings(&["--cw-scim-base-url", "http://scim.example.com/x"]).unwrap_err()
            ),
            "CW_SCIM_BASE_URL: plain http:// is only allowed to loopback hosts, not to \"scim.example.com\"; use https://"
        );
        assert!(settings(&["--cw-scim-base-url", "http://127.0.0.1:9/x"]).is_ok());
        assert!(
            format!(
                "{:#}",
                settings(&["--cw-scim-org-userid", "a/b"]).unwrap_err()
            )
            .starts_with("CW_SCIM_ORG_USERID must be the organization id segment")
        );
        assert!(
            format!("{:#}", settings(&[]).unwrap_err())
                .starts_with("CW_SCIM_ORG_USERID (the org id")
        );
    }

    #[test]
    fn secrets_from_files_are_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key");
        std::fs::write(&key, "  pwt_abc.def\n").unwrap();
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let s = Settings::from_args(&args(&[
            "--activate-api-key-file",
            key.to_str().unwrap(),
            "--cw-scim-bearer-token",
            "tok",
            "--cw-scim-org-userid",
            "o",
        ]))
        .unwrap();
        assert_eq!(s.activate.credential.expose_secret(), "pwt_abc.def");
        let message = err(&["--activate-api-key-file", empty.to_str().unwrap()]);
        assert!(message.ends_with("is empty"), "{message}");
        assert!(
            !format!("{s:?}").contains("pwt_abc.def"),
            "Debug must not show secrets"
        );
    }

    #[test]
    fn pushgateway_may_be_plain_http_but_never_carries_credentials() {
        assert!(parse_pushgateway_url("http://pushgateway.monitoring:9091").is_ok());
        assert_eq!(
            parse_pushgateway_url("http://u:p@pushgateway:9091")
                .unwrap_err()
                .to_string(),
            "PUSHGATEWAY_URL: the URL must not contain credentials; pass them through the token settings"
        );
        assert!(parse_url("http://hc.example.com/ping", env::HEARTBEAT_URL).is_err());
    }

    #[test]
    fn ca_bundle_problems_name_the_setting() {
        let dir = tempfile::tempdir().unwrap();
        let cases: [(&str, &[u8], &str); 3] = [
            (
                "empty.pem",
                b"",
                "CA_BUNDLE_FILE holds no valid PEM certificate (",
            ),
            (
                "garbage.pem",
                b"-----BEGIN CERTIFICATE-----\nAAECAwQFBgcICQ==\n-----END CERTIFICATE-----\n",
                "CA_BUNDLE_FILE holds a certificate that cannot be used (",
            ),
            ("missing.pem", b"", "CA_BUNDLE_FILE: cannot read "),
        ];
        for (name, content, expected) in cases {
            let path = dir.path().join(name);
            if name != "missing.pem" {
                std::fs::write(&path, content).unwrap();
            }
            let message = format!("{:#}", load_ca_bundle(&path).unwrap_err());
            assert!(message.starts_with(expected), "{name}: {message}");
        }
    }

    #[test]
    fn scope_parsing() {
        assert_eq!(scope(None).unwrap(), None);
        assert_eq!(scope(Some("  ")).unwrap(), None);
        assert_eq!(
            scope(Some(" gpu-users, ml team ,gpu-users")).unwrap(),
            Some(BTreeSet::from([
                "gpu-users".to_owned(),
                "ml team".to_owned()
            ]))
        );
        assert!(scope(Some(" , ")).is_err());
    }
}
