//! Settings: the parsed arguments turned into what a run uses. Each value was checked
//! when it was parsed ([`crate::values`]); what is checked here involves two settings
//! (a secret given directly or in a file, the SCIM URL from either of two settings, the
//! SCIM source's token) or a file (secrets, the CA bundle), with one clear message per
//! misconfiguration naming the variable.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use reconcile_core::DeactivationLimit;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::cli::{ActivateSource, KeysSource, Output, SyncArgs};
use crate::env_vars as env;
use http_policy::chain::innermost;

/// CoreWeave's SCIM endpoint, to which the org segment is appended.
pub const COREWEAVE_SCIM_BASE: &str = "https://api.coreweave.com/scim/";

/// Settings for reading ACTIVATE.
#[derive(Debug)]
pub struct ActivateSettings {
    /// The API key or token.
    pub credential: SecretString,
    /// The setting that supplied it (`ACTIVATE_API_KEY`, `ACTIVATE_API_KEY_FILE`, or
    /// the flag of either when that was on the command line), for messages.
    pub credential_var: String,
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
    /// The settings of a sync, plan or check.
    pub fn from_args(args: &SyncArgs) -> Result<Self> {
        let run = RunSettings::from_args(args)?;
        let (credential, credential_var) = secret(
            args.activate_api_key.as_ref(),
            args.activate_api_key_file.as_deref(),
            [env::ACTIVATE_API_KEY, env::ACTIVATE_API_KEY_FILE],
            args,
        )?;
        let source = source(args)?;
        let (token, _) = secret(
            args.cw_scim_bearer_token.as_ref(),
            args.cw_scim_bearer_token_file.as_deref(),
            [env::CW_SCIM_BEARER_TOKEN, env::CW_SCIM_BEARER_TOKEN_FILE],
            args,
        )?;
        let base_url = scim_base_url(args)?;
        Ok(Self {
            activate: ActivateSettings {
                credential,
                credential_var,
                api_url: args.activate_api_url.as_ref().map(|u| u.0.clone()),
                org_name: args.activate_org_name.as_ref().map(|o| o.0.clone()),
                source,
                keys_source: args.activate_ssh_keys_source,
                pw_cli_path: args.pw_cli_path.clone(),
            },
            scim: ScimSettings { base_url, token },
            run,
        })
    }
}

/// The groups of `ACTIVATE_SYNC_GROUPS`, empty entries (a trailing comma) skipped;
/// a list that names no group is refused.
fn scope(args: &SyncArgs) -> Result<Option<BTreeSet<String>>> {
    let Some(names) = &args.activate_sync_groups else {
        return Ok(None);
    };
    let names: BTreeSet<String> = names
        .iter()
        .filter(|name| !name.0.is_empty())
        .map(|name| name.0.clone())
        .collect();
    if names.is_empty() {
        bail!(
            "{} is set but names no group; expected a comma-separated list such as gpu-users,ml-team",
            args.name_of(env::ACTIVATE_SYNC_GROUPS)
        );
    }
    Ok(Some(names))
}

impl RunSettings {
    /// The side-independent settings.
    pub fn from_args(args: &SyncArgs) -> Result<Self> {
        Ok(Self {
            scope: scope(args)?,
            max_deactivations: args.max_deactivations,
            allow_mass_deactivation: args.allow_mass_deactivation,
            max_rekeys: args.max_rekeys,
            allow_mass_rekey: args.allow_mass_rekey,
            dry_run: args.dry_run,
            output: args.output,
            concurrency: usize::from(args.concurrency),
            timeout: Duration::from_secs(args.timeout),
            deadline: args.deadline.map(Duration::from_secs),
            heartbeat_url: args.heartbeat_url.as_ref().map(|u| u.0.clone()),
            pushgateway_url: args.pushgateway_url.as_ref().map(|u| u.0.clone()),
            ca_bundle: args
                .ca_bundle_file
                .as_deref()
                .map(|path| load_ca_bundle(path, args))
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
                args,
            )
            .with_context(|| format!("{}=scim needs a SCIM token", env::ACTIVATE_SOURCE))?;
            let url = args.activate_scim_url.as_ref().map(|u| u.0.clone());
            Ok(SourceSettings::Scim { token, url })
        }
    }
}

/// Reads the extra CA bundle and checks it here, so that every problem with it is
/// reported against `CA_BUNDLE_FILE` rather than by whichever client is built first.
fn load_ca_bundle(path: &Path, args: &SyncArgs) -> Result<Vec<u8>> {
    let var = args.name_of(env::CA_BUNDLE_FILE);
    let where_ = path.display();
    let pem = std::fs::read(path).with_context(|| format!("{var}: cannot read {where_}"))?;
    let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
        anyhow!(
            "{var} holds no valid PEM certificate ({where_}): {}",
            innermost(&e)
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
            innermost(&e)
        )
    })?;
    Ok(pem)
}

/// A secret given directly or in a file (exactly one of the two; the command line
/// refuses both), and the setting that gave it, as [`SyncArgs::name_of`] names it.
fn secret(
    direct: Option<&SecretString>,
    file: Option<&Path>,
    [direct_var, file_var]: [&str; 2],
    args: &SyncArgs,
) -> Result<(SecretString, String)> {
    let direct = direct.filter(|s| !s.expose_secret().trim().is_empty());
    match (direct, file) {
        (Some(_), Some(_)) => bail!("set either {direct_var} or {file_var}, not both"),
        (Some(value), None) => Ok((
            SecretString::from(value.expose_secret().trim().to_owned()),
            args.name_of(direct_var),
        )),
        (None, Some(path)) => {
            let name = args.name_of(file_var);
            let raw = std::fs::read_to_string(path)
                .with_context(|| format!("{name}: cannot read {}", path.display()))?;
            let value = raw.trim();
            if value.is_empty() {
                bail!("{name}: {} is empty", path.display());
            }
            Ok((SecretString::from(value.to_owned()), name))
        }
        (None, None) => Err(required(
            &args.blank_env,
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

/// `CW_SCIM_BASE_URL`, or CoreWeave's endpoint for `CW_SCIM_ORG_USERID`; the first
/// wins when both are set.
fn scim_base_url(args: &SyncArgs) -> Result<Url> {
    if let Some(url) = &args.cw_scim_base_url {
        return Ok(url.0.clone());
    }
    let Some(org) = &args.cw_scim_org_userid else {
        return Err(required(
            &args.blank_env,
            &[env::CW_SCIM_ORG_USERID, env::CW_SCIM_BASE_URL],
            &format!(
                "{} (the org id in https://api.coreweave.com/scim/<id>) or {} is required",
                env::CW_SCIM_ORG_USERID,
                env::CW_SCIM_BASE_URL
            ),
        ));
    };
    Url::parse(&format!("{COREWEAVE_SCIM_BASE}{}", org.0))
        .with_context(|| format!("{} cannot be put in a URL", env::CW_SCIM_ORG_USERID))
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
    fn required_settings_say_when_they_were_set_empty() {
        let mut blank = args(&[]);
        blank.blank_env = vec!["CW_SCIM_ORG_USERID".to_owned()];
        assert_eq!(
            format!("{:#}", scim_base_url(&blank).unwrap_err()),
            "CW_SCIM_ORG_USERID (the org id in https://api.coreweave.com/scim/<id>) or CW_SCIM_BASE_URL is required; CW_SCIM_ORG_USERID is set but empty (an empty value counts as unset)"
        );
        let vars = [env::ACTIVATE_API_KEY, env::ACTIVATE_API_KEY_FILE];
        let cases: [(&[&str], &str); 2] = [
            (
                &["ACTIVATE_API_KEY", "ACTIVATE_API_KEY_FILE"],
                "ACTIVATE_API_KEY (or ACTIVATE_API_KEY_FILE) is required; ACTIVATE_API_KEY and ACTIVATE_API_KEY_FILE are set but empty (an empty value counts as unset)",
            ),
            (
                &[],
                "ACTIVATE_API_KEY (or ACTIVATE_API_KEY_FILE) is required",
            ),
        ];
        for (blank, expected) in cases {
            let mut args = args(&[]);
            args.blank_env = blank.iter().map(|&b| b.to_owned()).collect();
            let error = secret(None, None, vars, &args).unwrap_err();
            assert_eq!(format!("{error:#}"), expected);
        }
    }

    #[test]
    fn missing_secrets_and_unreadable_files_are_named() {
        assert_eq!(
            err(&["--cw-scim-org-userid", "abc"]),
            "ACTIVATE_API_KEY (or ACTIVATE_API_KEY_FILE) is required"
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
    fn the_scim_url_comes_from_either_setting() {
        let settings = |extra: &[&str]| {
            let mut argv = vec![
                "--activate-api-key",
                "pwt_x.y",
                "--cw-scim-bearer-token",
                "t",
            ];
            argv.extend_from_slice(extra);
            Settings::from_args(&args(&argv))
        };
        let cases: [(&[&str], &str); 3] = [
            (
                &["--cw-scim-org-userid", "ab12"],
                "https://api.coreweave.com/scim/ab12",
            ),
            (
                &["--cw-scim-base-url", "http://127.0.0.1:9/x"],
                "http://127.0.0.1:9/x",
            ),
            (
                &[
                    "--cw-scim-org-userid",
                    "ab12",
                    "--cw-scim-base-url",
                    "https://h.example/s",
                ],
                "https://h.example/s",
            ),
        ];
        for (extra, expected) in cases {
            assert_eq!(
                settings(extra).unwrap().scim.base_url.as_str(),
                expected,
                "{extra:?}"
            );
        }
        assert!(
            format!("{:#}", settings(&[]).unwrap_err())
                .starts_with("CW_SCIM_ORG_USERID (the org id")
        );
    }

    #[test]
    fn the_scim_source_needs_its_token_and_reads_keys_itself() {
        let base = ["--activate-source", "scim"];
        let with = |extra: &[&str]| {
            let mut argv = base.to_vec();
            argv.extend_from_slice(extra);
            format!("{:#}", source(&args(&argv)).unwrap_err())
        };
        assert_eq!(
            with(&[]),
            "ACTIVATE_SOURCE=scim needs a SCIM token: ACTIVATE_SCIM_TOKEN (or ACTIVATE_SCIM_TOKEN_FILE) is required"
        );
        assert_eq!(
            with(&["--activate-ssh-keys-source", "pw-cli"]),
            "ACTIVATE_SSH_KEYS_SOURCE=pw-cli applies to ACTIVATE_SOURCE=rest only: the SCIM source reads the keys with the users"
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
        assert_eq!(s.activate.credential_var, "ACTIVATE_API_KEY_FILE");
        // Given as a flag, the flag is named.
        let flagged = crate::cli::parse_from([
            "x",
            "--activate-api-key-file",
            key.to_str().unwrap(),
            "--cw-scim-bearer-token",
            "tok",
            "--cw-scim-org-userid",
            "o",
        ])
        .unwrap();
        let s = Settings::from_args(&flagged.sync).unwrap();
        assert_eq!(s.activate.credential_var, "--activate-api-key-file");
        let missing =
            crate::cli::parse_from(["x", "--ca-bundle-file", "/nonexistent/ca.pem"]).unwrap();
        let message = format!("{:#}", RunSettings::from_args(&missing.sync).unwrap_err());
        assert!(
            message.starts_with("--ca-bundle-file: cannot read /nonexistent/ca.pem"),
            "{message}"
        );
        let message = err(&["--activate-api-key-file", empty.to_str().unwrap()]);
        assert!(message.ends_with("is empty"), "{message}");
        assert!(
            !format!("{s:?}").contains("pwt_abc.def"),
            "Debug must not show secrets"
        );
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
            let message = format!("{:#}", load_ca_bundle(&path, &args(&[])).unwrap_err());
            assert!(message.starts_with(expected), "{name}: {message}");
        }
    }

    #[test]
    fn the_scope_is_the_set_of_group_names() {
        let run = |extra: &[&str]| {
            let mut argv = vec!["x"];
            argv.extend_from_slice(extra);
            RunSettings::from_args(&Cli::try_parse_from(argv).unwrap().sync)
                .unwrap()
                .scope
        };
        assert_eq!(run(&[]), None);
        assert_eq!(
            run(&["--activate-sync-groups", " gpu-users, ml team ,gpu-users"]),
            Some(BTreeSet::from([
                "gpu-users".to_owned(),
                "ml team".to_owned()
            ]))
        );
    }
}
