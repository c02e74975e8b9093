//! Benchmark 5, the ACTIVATE side: a complete snapshot of 10,000 users and 500
//! groups with 20 ms per request.
//!
//! - The REST source (`ActivateClient::fetch_snapshot`, as the CLI reads it): user
//!   pages of 500, the group list, one member list per group, one key lookup per
//!   user who will be active; at the CLI's default concurrency, at half of it,
//!   and sequentially.
//! - The bulk SCIM source (`activate_client::ScimSource`): ACTIVATE's read-only SCIM
//!   endpoint, pages of 200 users (keys included) and 200 groups (members
//!   included), served by the ACTIVATE emulator with the same 20 ms per request.

use std::time::{Duration, Instant};

use activate_client::{ActivateClient, Credential, OrgSnapshot, ScimSource, Scope};
use anyhow::{Context, Result, anyhow};
use secrecy::SecretString;
use serde_json::{Value, json};
use testkit::activate::{ActivateEmulator, ActivateOptions, Fixture};

use crate::output::{Out, Target, round3};
use crate::world;
use crate::{DEFAULT_CONCURRENCY, HALF_CONCURRENCY};

/// Runs the benchmark and writes `source.json`.
pub async fn run(out: &Out) -> Result<()> {
    let (users, groups, latency, concurrencies) = if out.smoke {
        (200, 10, Duration::from_millis(2), vec![4, 1])
    } else {
        (
            10_000,
            500,
            Duration::from_millis(20),
            vec![DEFAULT_CONCURRENCY, HALF_CONCURRENCY, 1],
        )
    };
    println!(
        "== 5. ACTIVATE snapshot: {users} users, {groups} groups, {} ms per request",
        latency.as_millis()
    );
    let fixture = world::org(users, groups);
    let activate = ActivateEmulator::start(ActivateOptions {
        fixture: fixture.clone(),
        faults: testkit::activate::Faults {
            http: world::latency(latency),
            ..testkit::activate::Faults::default()
        },
        ..ActivateOptions::default()
    })
    .await
    .context("cannot start the ACTIVATE emulator")?;
    let mut rest_rows = Vec::new();
    let mut reference: Option<OrgSnapshot> = None;
    for &concurrency in &concurrencies {
        let client = client(
            activate.base_url(),
            activate.api_key(),
            &fixture,
            concurrency,
        )?;
        let started = Instant::now();
        let snapshot = client
            .fetch_snapshot(&Scope::all())
            .await
            .context("the REST snapshot failed")?;
        let wall = started.elapsed();
        let stats = snapshot.stats;
        let requests = stats.total();
        #[allow(clippy::cast_precision_loss)]
        let bound = f64::from(requests) * latency.as_secs_f64() / concurrency as f64;
        println!(
            "  REST, concurrency {concurrency:>2}: {:>7.2} s, {requests} requests \
             ({} user pages, {} group list, {} member lists, {} key lookups); \
             latency bound {:.2} s (× {:.2})",
            wall.as_secs_f64(),
            stats.user_pages,
            stats.group_lists,
            stats.member_lists,
            stats.key_lookups,
            bound,
            wall.as_secs_f64() / bound
        );
        rest_rows.push(json!({
            "concurrency": concurrency,
            "wall_s": round3(wall.as_secs_f64()),
            "requests": requests,
            "user_pages": stats.user_pages,
            "group_lists": stats.group_lists,
            "member_lists": stats.member_lists,
            "key_lookups": stats.key_lookups,
            "latency_bound_s": round3(bound),
            "wall_over_bound": round3(wall.as_secs_f64() / bound),
        }));
        reference.get_or_insert(snapshot);
    }
    let scim = scim_source(&activate, &fixture, concurrencies[0]).await?;
    let same = reference.as_ref().map(|rest| compare(rest, &scim.snapshot));
    println!(
        "  SCIM bulk source, concurrency {:>2}: {:>7.2} s, {} requests ({} user pages, {} group pages); \
         same users, groups, members and keys as REST: {}",
        concurrencies[0],
        scim.wall.as_secs_f64(),
        scim.snapshot.stats.total(),
        scim.snapshot.stats.scim_user_pages,
        scim.snapshot.stats.scim_group_pages,
        same.as_ref().map_or(Value::Null, |s| s["same"].clone()),
    );

    let wall_of = |c: usize| {
        rest_rows
            .iter()
            .find(|r| r["concurrency"].as_u64() == Some(c as u64))
            .and_then(|r| r["wall_s"].as_f64())
    };
    let mut targets = Vec::new();
    if let (Some(sequential), Some(default)) = (wall_of(1), wall_of(concurrencies[0])) {
        targets.push(Target::at_least(
            &format!(
                "REST snapshot speed-up, concurrency {} over 1 (informational: ≈ concurrency)",
                concurrencies[0]
            ),
            sequential / default,
            {
                #[allow(clippy::cast_precision_loss)]
                let c = concurrencies[0] as f64;
                0.8 * c
            },
            "×",
        ));
    }
    out.write(
        "source",
        &json!({
            "users": users,
            "groups": groups,
            "latency_ms": latency.as_millis(),
            "rest_page_size": 500,
            "scim_page_size": 200,
        }),
        &json!({
            "rest": rest_rows,
            "scim_bulk": {
                "concurrency": concurrencies[0],
                "wall_s": round3(scim.wall.as_secs_f64()),
                "requests": scim.snapshot.stats.total(),
                "user_pages": scim.snapshot.stats.scim_user_pages,
                "group_pages": scim.snapshot.stats.scim_group_pages,
                "served_by": "the ACTIVATE emulator's SCIM endpoint (/api/organizations/{org}/scim/v2)",
                "compared_with_rest": same,
            },
        }),
        &targets,
    )
}

fn client(
    base_url: &str,
    key: &str,
    fixture: &Fixture,
    concurrency: usize,
) -> Result<ActivateClient> {
    let credential = Credential::parse(key).map_err(|e| anyhow!(e))?;
    ActivateClient::builder(credential)
        .api_url(base_url)
        .org(fixture.organization.clone())
        .concurrency(concurrency)
        .build()
        .map_err(|e| anyhow!(e))
}

struct Timed {
    snapshot: OrgSnapshot,
    wall: Duration,
}

async fn scim_source(
    activate: &ActivateEmulator,
    fixture: &Fixture,
    concurrency: usize,
) -> Result<Timed> {
    let client = client(
        activate.base_url(),
        activate.api_key(),
        fixture,
        concurrency,
    )?;
    let source = ScimSource::new(
        client,
        &SecretString::from(activate.scim_token().to_owned()),
    )
    .map_err(|e| anyhow!(e))?;
    activate.log().clear();
    let started = Instant::now();
    let snapshot = source
        .fetch_snapshot(&Scope::all())
        .await
        .context("the SCIM bulk snapshot failed")?;
    Ok(Timed {
        snapshot,
        wall: started.elapsed(),
    })
}

/// Id, username, name, email, enabled, keys.
type UserFacts = (
    String,
    String,
    Option<String>,
    Option<String>,
    bool,
    Option<Vec<String>>,
);

/// Whether two snapshots hold the same users (id, username, name, email, enabled,
/// keys), groups and members; the SCIM source has no license status or UID.
fn compare(rest: &OrgSnapshot, scim: &OrgSnapshot) -> Value {
    let users = |s: &OrgSnapshot| -> Vec<UserFacts> {
        s.users
            .iter()
            .map(|u| {
                (
                    u.id.clone(),
                    u.username.clone(),
                    u.name.clone(),
                    u.email.clone(),
                    u.is_enabled(),
                    u.ssh_keys.clone(),
                )
            })
            .collect()
    };
    let groups = |s: &OrgSnapshot| -> Vec<(String, String, Vec<std::sync::Arc<str>>)> {
        s.groups
            .iter()
            .map(|g| (g.id.clone(), g.name.clone(), g.member_ids.clone()))
            .collect()
    };
    let (ru, su) = (users(rest), users(scim));
    let differing_users =
        ru.iter().zip(&su).filter(|(a, b)| a != b).count() + ru.len().abs_diff(su.len());
    let same_groups = groups(rest) == groups(scim);
    json!({
        "same": differing_users == 0 && same_groups,
        "users": [ru.len(), su.len()],
        "differing_users": differing_users,
        "same_groups_and_members": same_groups,
    })
}
