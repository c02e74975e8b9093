//! The ACTIVATE side: access and organization, the complete snapshot the sync
//! would read, and the shape of one SSH-key lookup.

use activate_client::{ActivateClient, OrgSnapshot, PwCliKeys, SnapshotError};
use reconcile_core::{Desired, project};

use super::report::{Probe, Report, Verdict};
use crate::adapters::source::{scopes, to_source};
use crate::cli::KeysSource;
use crate::env_vars as env;
use crate::settings::{Settings, SourceSettings};
use crate::{clients, hints};
use http_policy::chain::render as chain;

/// Probes ACTIVATE and returns the desired state the sync would compute, when the
/// organization could be read completely.
pub(super) async fn probe(settings: &Settings, report: &mut Report) -> Option<Desired> {
    let activate = match clients::activate(&settings.activate, &settings.run) {
        Ok(client) => client,
        Err(error) => {
            report.push(Probe::new(
                "ACTIVATE access",
                "nothing: the settings are incomplete",
                format!("{error:#}"),
                Verdict::Blocking,
                format!(
                    "the sync cannot start; set {} (and {} when the key does not name the host)",
                    env::ACTIVATE_API_KEY,
                    env::ACTIVATE_API_URL
                ),
            ));
            return None;
        }
    };
    let base = activate.base_url().clone();
    let asked_org = match &settings.activate.org_name {
        Some(org) => format!("{} = {org} (no request)", env::ACTIVATE_ORG_NAME),
        None => format!("GET {base}api/auth/whoami/organization"),
    };
    let org = match activate.org_name().await {
        Ok(org) => org,
        Err(error) => {
            report.push(Probe::new(
                "ACTIVATE access",
                asked_org,
                chain(&error),
                Verdict::Blocking,
                hints::activate_any(&error, &settings.activate),
            ));
            return None;
        }
    };
    if let SourceSettings::Scim { token, url } = &settings.activate.source {
        let snapshot = scim_source(&activate, token, url.as_ref(), settings, report).await?;
        let (_, core_scope) = scopes(settings.run.scope.as_ref());
        return Some(project(&to_source(snapshot), &core_scope));
    }
    let snapshot = match read(&activate, settings).await {
        Ok(snapshot) => snapshot,
        Err(error) => {
            report.push(Probe::new(
                "ACTIVATE access",
                format!("{asked_org}, then the organization {org:?}: users, groups, members, SSH keys"),
                chain(&error),
                Verdict::Blocking,
                format!(
                    "a sync stops before writing anything when ACTIVATE cannot be read completely; {}",
                    hints::activate_any(&error.source, &settings.activate)
                ),
            ));
            return None;
        }
    };
    let active = snapshot.users.iter().filter(|u| u.is_enabled()).count();
    let keys: usize = snapshot
        .users
        .iter()
        .filter_map(|u| u.ssh_keys.as_ref())
        .map(Vec::len)
        .sum();
    report.push(Probe::new(
        "ACTIVATE access",
        format!("{asked_org}, then the organization {org:?}: users, groups, members, SSH keys"),
        format!(
            "organization {org:?}: {} users ({active} active), {} groups, {keys} SSH key lines; complete, in {} requests",
            snapshot.users.len(),
            snapshot.groups.len(),
            snapshot.stats.total()
        ),
        Verdict::Fine,
        "the sync reads the same, completely, on every run",
    ));
    if settings.activate.keys_source == KeysSource::Api {
        report.push(key_lookup(&activate, &base, &snapshot, settings).await);
    }
    let (_, core_scope) = scopes(settings.run.scope.as_ref());
    Some(project(&to_source(snapshot), &core_scope))
}

/// `ACTIVATE_SOURCE=scim`: reads the organization as the sync would, through
/// ACTIVATE's SCIM server, and says whether its users carry the CoreWeave extension
/// (their SSH keys).
async fn scim_source(
    activate: &ActivateClient,
    token: &secrecy::SecretString,
    url: Option<&url::Url>,
    settings: &Settings,
    report: &mut Report,
) -> Option<OrgSnapshot> {
    let name = "ACTIVATE SCIM source";
    let source = match clients::scim_source(activate.clone(), token, url) {
        Ok(source) => source,
        Err(error) => {
            report.push(Probe::new(
                name,
                "nothing: the settings are incomplete",
                format!("{error:#}"),
                Verdict::Blocking,
                format!(
                    "the sync cannot start; check {} and {}",
                    env::ACTIVATE_SCIM_TOKEN,
                    env::ACTIVATE_SCIM_URL
                ),
            ));
            return None;
        }
    };
    let base = url.map_or_else(
        || format!("{}api/organizations/<org>/scim/v2", activate.base_url()),
        ToString::to_string,
    );
    let asked = format!("GET {base}/Users and /Groups, every page");
    let (scope, _) = scopes(settings.run.scope.as_ref());
    match source.fetch_snapshot(&scope).await {
        Ok(snapshot) => {
            let with_keys = snapshot
                .users
                .iter()
                .filter(|u| u.ssh_keys.is_some())
                .count();
            report.push(Probe::new(
                name,
                asked,
                format!(
                    "{} users (the SSH keys of the {with_keys} who will be active read from the CoreWeave extension), {} groups; complete, in {} requests",
                    snapshot.users.len(),
                    snapshot.groups.len(),
                    snapshot.stats.total()
                ),
                Verdict::Fine,
                "the sync reads the same on every run, in a few pages",
            ));
            Some(snapshot)
        }
        Err(error) => {
            report.push(Probe::new(
                name,
                asked,
                chain(&error),
                Verdict::Blocking,
                format!(
                    "a sync stops before writing anything; a listing whose users carry no CoreWeave extension is incomplete (their keys were not returned): check the token's rights, or set {}=rest",
                    env::ACTIVATE_SOURCE
                ),
            ));
            None
        }
    }
}

async fn read(
    activate: &ActivateClient,
    settings: &Settings,
) -> Result<OrgSnapshot, SnapshotError> {
    let (scope, _) = scopes(settings.run.scope.as_ref());
    match settings.activate.keys_source {
        KeysSource::Api => activate.fetch_snapshot(&scope).await,
        KeysSource::PwCli => {
            let keys = PwCliKeys {
                program: settings.activate.pw_cli_path.clone(),
                ..PwCliKeys::default()
            };
            activate.fetch_snapshot_with(&scope, &keys).await
        }
    }
}

/// One key lookup, for the first enabled user that has keys (else the first one).
async fn key_lookup(
    activate: &ActivateClient,
    base: &url::Url,
    snapshot: &OrgSnapshot,
    settings: &Settings,
) -> Probe {
    let user = snapshot
        .users
        .iter()
        .filter(|u| u.is_enabled())
        .find(|u| u.ssh_keys.as_ref().is_some_and(|k| !k.is_empty()))
        .or_else(|| snapshot.users.iter().find(|u| u.is_enabled()));
    let Some(user) = user else {
        return Probe::new(
            "ACTIVATE key lookup",
            "nothing: no enabled user",
            "-",
            Verdict::Fine,
            "keys are looked up only for users who will be active",
        );
    };
    let asked = format!("GET {base}api/users/{}/ssh-public-keys", user.username);
    match activate.probe_ssh_keys(&user.username).await {
        Ok(lookup) => {
            let answered = format!(
                "200, Content-Type {}, {} ({} bytes)",
                if lookup.declared_json {
                    "JSON"
                } else {
                    "not JSON"
                },
                lookup.shape,
                lookup.bytes
            );
            match lookup.read {
                Ok(lines) => Probe::new(
                    "ACTIVATE key lookup",
                    asked,
                    format!("{answered}; key lines read: {lines}"),
                    Verdict::Fine,
                    "keys are read in this form; invalid lines are reported and skipped, the user's valid keys are written",
                ),
                Err(problem) => Probe::new(
                    "ACTIVATE key lookup",
                    asked,
                    format!("{answered}: {problem}"),
                    Verdict::Blocking,
                    "the sync cannot read keys in this form and would hold every user; report the answer's form to Parallel Works, or use ACTIVATE_SSH_KEYS_SOURCE=pw-cli",
                ),
            }
        }
        Err(error) => Probe::new(
            "ACTIVATE key lookup",
            asked,
            chain(&error),
            Verdict::Blocking,
            hints::activate_any(&error, &settings.activate),
        ),
    }
}
