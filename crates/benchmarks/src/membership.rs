//! Very large groups: a 1 % membership change in a group of 10,000 members.
//!
//! One group holds exactly 10,000 enabled users. After the initial sync, 50 members
//! leave the group and 50 other users join it (100 changed memberships, 1 %), and
//! the CLI syncs again. A proxy in front of the SCIM emulator counts the requests
//! and their body bytes; the figure is compared with the one `replace` of all
//! members a syncer without member diffs would send.

use std::time::Duration;

use anyhow::{Context, Result};
use scim_client::{PatchOp, PatchOperation};
use serde_json::{Value, json};
use testkit::activate::LicenseStatus;
use testkit::proxy::{Dialect, FaultProxy};
use testkit::request_log::{Method, RequestRecord};

use crate::DEFAULT_CONCURRENCY;
use crate::output::{Out, Target, round3};
use crate::world::{self, World};

/// Runs the benchmark and writes `membership.json`.
pub async fn run(out: &Out) -> Result<()> {
    let (members, changed) = if out.smoke { (400, 4) } else { (10_000, 100) };
    println!("== membership: {changed} of {members} members of one group change");
    let mut fixture = world::org(members * 23 / 20, 1);
    let enabled: Vec<String> = fixture
        .users
        .iter()
        .filter(|u| u.active && u.license_status != LicenseStatus::Inactive)
        .map(|u| u.username.clone())
        .collect();
    anyhow::ensure!(
        enabled.len() >= members + changed / 2,
        "the organization has too few enabled users"
    );
    fixture.groups[0].members = enabled[..members].to_vec();
    let group = fixture.groups[0].name.clone();

    let world = World::start(fixture, Duration::ZERO, testkit::scim::Faults::default()).await?;
    let proxy = FaultProxy::start(world.scim.base_url(), Dialect::Scim, 0).await?;
    let base_path = url::Url::parse(world.scim.base_url())?.path().to_owned();
    let scim_url = url::Url::parse(&format!("{}{base_path}", proxy.url()))?;
    let settings = world.settings_to(scim_url, DEFAULT_CONCURRENCY)?;

    let initial = world::sync(&settings).await?;
    anyhow::ensure!(
        initial.report.exit.code() == 0,
        "the initial sync did not succeed"
    );
    let initial_log = proxy.log().records();
    let initial_group_phase = initial
        .phases()
        .iter()
        .find(|(name, _)| *name == "groups")
        .map_or(0.0, |(_, d)| d.as_secs_f64());
    proxy.log().clear();

    for name in &enabled[..changed / 2] {
        world
            .activate
            .remove_member(&group, name)
            .with_context(|| format!("cannot remove {name}"))?;
    }
    for name in &enabled[members..members + changed / 2] {
        world
            .activate
            .add_member(&group, name)
            .with_context(|| format!("cannot add {name}"))?;
    }
    let change = world::sync(&settings).await?;
    let change_log = proxy.log().records();
    let summary = change.report.plan.summary();

    let final_ids: Vec<String> = world
        .scim
        .groups()
        .first()
        .and_then(|g| g.get("members").and_then(Value::as_array).cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|m| m.get("value").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let replace_bytes =
        serde_json::to_vec(&PatchOp::new().with(PatchOperation::replace_members(&final_ids)))?
            .len();

    let group_patches = patches(&change_log, "/Groups/");
    let user_patches = patches(&change_log, "/Users/");
    let group_bytes: usize = group_patches.iter().map(|f| f.request_bytes).sum();
    let initial_group_writes = initial_log
        .iter()
        .filter(|f| f.method.is_write() && f.path.contains("/Groups"))
        .count();
    let initial_group_bytes: usize = initial_log
        .iter()
        .filter(|f| f.method.is_write() && f.path.contains("/Groups"))
        .map(|f| f.request_bytes)
        .sum();
    println!(
        "  initial: group created with {members} members in {initial_group_writes} requests, \
         {initial_group_bytes} bytes, {initial_group_phase:.2} s with no added latency \
         (the emulator's cost of growing a large group)"
    );
    println!(
        "  1 % change: {} PATCH /Groups ({} bytes in all, largest {} bytes), {} PATCH /Users, \
         {} requests in all; one replace of all {} members would be {} bytes ({:.1}× more)",
        group_patches.len(),
        group_bytes,
        group_patches
            .iter()
            .map(|f| f.request_bytes)
            .max()
            .unwrap_or(0),
        user_patches.len(),
        change_log.len(),
        final_ids.len(),
        replace_bytes,
        replace_bytes as f64 / group_bytes.max(1) as f64
    );
    let chunk = 100;
    let expected_calls = changed.div_ceil(chunk);
    let targets = vec![
        Target::equal(
            "PATCH /Groups requests for the 1 % change (chunks of 100 member values)",
            group_patches.len(),
            expected_calls,
        ),
        Target::at_most(
            "bytes sent for the 1 % change ÷ bytes of one full replace",
            group_bytes as f64 / replace_bytes as f64,
            0.1,
            "",
        ),
    ];
    out.write(
        "membership",
        &json!({
            "group_members": members,
            "changed_memberships": changed,
            "member_chunk_size": chunk,
            "concurrency": DEFAULT_CONCURRENCY,
        }),
        &json!({
            "initial": {
                "group_write_requests": initial_group_writes,
                "group_write_bytes": initial_group_bytes,
                "group_phase_s_without_latency": round3(initial_group_phase),
                "members_after": final_ids.len(),
            },
            "change": {
                "planned": summary,
                "group_patch_requests": group_patches.len(),
                "group_patch_bytes": group_bytes,
                "group_patch_sizes": group_patches.iter().map(|f| f.request_bytes).collect::<Vec<_>>(),
                "user_patch_requests": user_patches.len(),
                "all_requests": change_log.len(),
                "unsuccessful_requests": change_log.iter().filter(|f| f.status.is_none_or(|s| s >= 300)).count(),
                "full_replace_bytes": replace_bytes,
                "bytes_ratio": round3(group_bytes as f64 / replace_bytes as f64),
                "exit_code": change.report.exit.code(),
            },
        }),
        &targets,
    )
}

fn patches<'a>(log: &'a [RequestRecord<()>], resource: &str) -> Vec<&'a RequestRecord<()>> {
    log.iter()
        .filter(|f| f.method == Method::Patch && f.path.contains(resource))
        .collect()
}
