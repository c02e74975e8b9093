//! The SCIM side: access, the `sw` filter, paging, ownership and rate limits; then
//! the schema, name-clash and round-trip probes, which need what these read.

use std::collections::BTreeMap;

use reconcile_core::{Desired, OWNED_PREFIX};
use scim_client::{Endpoint, Group, PageProbe, PageStart, ScimClient, ScimError, User};

use super::report::{Probe, Report, Verdict};
use super::{names, paging, round_trip, schemas, sw};
use crate::clients::{self, RequestCounts};
use crate::env_vars as env;
use crate::settings::Settings;
use http_policy::chain::render as chain;

/// Every user and group the server lists, read completely.
pub(super) struct Everything {
    pub(super) users: Vec<User>,
    pub(super) groups: Vec<Group>,
}

/// Rate-limit headers seen on any answer.
#[derive(Default)]
pub(super) struct LimitsSeen(BTreeMap<String, String>);

impl LimitsSeen {
    pub(super) fn note(&mut self, page: &PageProbe) {
        for (name, value) in &page.limit_headers {
            self.0.insert(name.clone(), value.clone());
        }
    }
}

/// Probes the SCIM target; `desired` (when ACTIVATE could be read) feeds the
/// name-clash and round-trip probes.
pub(super) async fn probe(settings: &Settings, desired: Option<&Desired>, report: &mut Report) {
    let counts = RequestCounts::default();
    let client = match clients::scim(&settings.scim, &settings.run, &counts) {
        Ok(client) => client,
        Err(error) => {
            report.push(Probe::new(
                "SCIM access",
                "nothing: the settings are incomplete",
                format!("{error:#}"),
                Verdict::Blocking,
                format!(
                    "the sync cannot start; set {} (or {}) and {}",
                    env::CW_SCIM_ORG_USERID,
                    env::CW_SCIM_BASE_URL,
                    env::CW_SCIM_BEARER_TOKEN
                ),
            ));
            return;
        }
    };
    let base = client.base_url().as_str().trim_end_matches('/').to_owned();
    let mut limits = LimitsSeen::default();
    let asked_size = client.page_size();
    let first = match client
        .probe_page(
            Endpoint::Users,
            None,
            &PageStart::Index(1),
            Some(asked_size),
        )
        .await
    {
        Ok(page) => page,
        Err(error) => {
            report.push(access_failure(&base, &error));
            return;
        }
    };
    limits.note(&first);
    report.push(Probe::new(
        "SCIM access",
        format!("GET {base}/Users?{}", first.query),
        format!(
            "200: {} users in total",
            first
                .total_results
                .map_or_else(|| "an unstated number of".to_owned(), |n| n.to_string())
        ),
        Verdict::Fine,
        "the token reaches the SCIM API",
    ));
    let config = client.discover().await;
    if let Ok(config) = &config {
        // List as the sync will: by cursor where the server advertises it.
        client.adopt_paging(config);
    }
    let everything = match tokio::try_join!(
        client.list_all_users(None),
        client.list_all_groups(None)
    ) {
        Ok((users, groups)) => Everything { users, groups },
        Err(error) => {
            report.push(Probe::new(
                "full listing",
                format!("GET {base}/Users and {base}/Groups, every page"),
                chain(&error),
                Verdict::Blocking,
                "listings that do not end cleanly stop every sync before it writes; report the answer to CoreWeave",
            ));
            return;
        }
    };

    report.push(sw::probe(&client, &base, &everything, &mut limits).await);
    report.push(paging::probe(&client, &base, &config, &first, &everything, &mut limits).await);
    report.push(schemas::probe(&client, &base).await);
    report.push(ownership(&everything));
    match desired {
        Some(desired) => {
            report.push(names::probe(desired, &everything));
            report.push(round_trip::probe(&client, &base, desired, settings).await);
        }
        None => {
            for name in ["name clashes", "round trip"] {
                report.push(Probe::new(
                    name,
                    "nothing: ACTIVATE could not be read",
                    "-",
                    Verdict::Degraded,
                    "not checked; fix the ACTIVATE finding and run check again",
                ));
            }
        }
    }
    report.push(rate_limits(&client, &counts, &limits));
}

/// The access probe for a first request that failed, naming every cause.
fn access_failure(base: &str, error: &ScimError) -> Probe {
    let consequence = match error.status() {
        Some(401 | 403) => format!(
            "no sync can run. A {} can mean any of: the token in {} / {} is wrong, expired or revoked \
             (create one on the Console's SCIM Configuration page); \"Enable SCIM API\" is off; \
             Automated User Provisioning (and \"Enable SUNK User Provisioning\") is off; \
             SAML SSO is not configured for the organization (SCIM requires it)",
            error.status().unwrap_or_default(),
            env::CW_SCIM_BEARER_TOKEN,
            env::CW_SCIM_BEARER_TOKEN_FILE
        ),
        Some(404) => format!(
            "no sync can run: the organization segment looks wrong; check {} or {}",
            env::CW_SCIM_ORG_USERID,
            env::CW_SCIM_BASE_URL
        ),
        _ => format!(
            "no sync can run: check {} and that the SCIM endpoint is reachable from here",
            env::CW_SCIM_BASE_URL
        ),
    };
    Probe::new(
        "SCIM access",
        format!("GET {base}/Users?startIndex=1"),
        chain(error),
        Verdict::Blocking,
        consequence,
    )
}

pub(super) fn owned(external_id: Option<&str>) -> bool {
    external_id.is_some_and(|x| x.starts_with(OWNED_PREFIX))
}

fn ownership(everything: &Everything) -> Probe {
    let users_with = everything
        .users
        .iter()
        .filter(|u| u.external_id.is_some())
        .count();
    let groups_with = everything
        .groups
        .iter()
        .filter(|g| g.external_id.is_some())
        .count();
    let users_ours = everything
        .users
        .iter()
        .filter(|u| owned(u.external_id.as_deref()))
        .count();
    let groups_ours = everything
        .groups
        .iter()
        .filter(|g| owned(g.external_id.as_deref()))
        .count();
    let answered = format!(
        "users: {} listed, {users_with} with an externalId, {users_ours} ours; groups: {} listed, {groups_with} with an externalId, {groups_ours} ours",
        everything.users.len(),
        everything.groups.len()
    );
    let records = everything.users.len() + everything.groups.len();
    let (verdict, consequence) = if users_with + groups_with > 0 {
        (
            Verdict::Fine,
            "the server keeps externalId; the sync manages only records whose externalId starts with pw-activate: and never touches the others".to_owned(),
        )
    } else if records == 0 {
        (
            Verdict::Fine,
            "nothing is listed yet; run check again after the first sync: its records must show up here as ours".to_owned(),
        )
    } else {
        (
            Verdict::Degraded,
            "no listed record carries an externalId, so it is unproven that the server stores one; a server that drops it would make every sync create its users again. Run check again right after the first sync: its records must show up here as ours".to_owned(),
        )
    };
    Probe::new(
        "ownership",
        "the unfiltered listings of users and groups",
        answered,
        verdict,
        consequence,
    )
}

fn rate_limits(client: &ScimClient, counts: &RequestCounts, limits: &LimitsSeen) -> Probe {
    let statuses = counts.snapshot();
    let pushed_back: u64 = ["429", "503"].iter().filter_map(|s| statuses.get(*s)).sum();
    let headers = if limits.0.is_empty() {
        "no RateLimit-*, X-RateLimit-* or Retry-After header".to_owned()
    } else {
        limits
            .0
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let slowed = client.limits().is_some_and(|l| l.overloads > 0);
    let (verdict, consequence) = if pushed_back > 0 || slowed {
        (
            Verdict::Degraded,
            format!(
                "the server pushed back {pushed_back} times during this check; syncs slow down on 429/503 and honour Retry-After, and SYNC_CONCURRENCY lowers the load"
            ),
        )
    } else {
        (
            Verdict::Fine,
            "syncs still slow down on 429/503 and honour Retry-After".to_owned(),
        )
    };
    Probe::new(
        "rate limits",
        format!(
            "the rate-limit headers of the probed pages, and the statuses of all {} SCIM requests of this check",
            counts.total()
        ),
        format!(
            "{headers}; statuses {}",
            statuses
                .iter()
                .map(|(k, v)| format!("{k}\u{d7}{v}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        verdict,
        consequence,
    )
}
