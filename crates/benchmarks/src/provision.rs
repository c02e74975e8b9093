//! Benchmarks 2 (initial provisioning) and 3 (steady state).
//!
//! A synthetic organization of 10,000 users and 500 groups is synced by the CLI's
//! own `run::sync` into an empty SCIM emulator that answers every request after
//! 20 ms; the ACTIVATE emulator answers at once (its side is measured in
//! `source`). Each concurrency gets fresh emulators. The latency bound is
//! `SCIM requests × latency ÷ concurrency`: no syncer that makes those requests,
//! at most `concurrency` at a time, can finish faster.
//!
//! Then, at the default concurrency, the same organization is synced again
//! with nothing changed (steady state): once as above, once with 20 ms on the
//! ACTIVATE side too.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Result;
use serde_json::{Value, json};
use testkit::request_log::Method;
use testkit::scim::Resource;

use crate::output::{Out, Target, ms, round3};
use crate::world::{self, Run, World};
use crate::{DEFAULT_CONCURRENCY, HALF_CONCURRENCY};

struct Config {
    users: usize,
    groups: usize,
    latency: Duration,
    concurrencies: Vec<usize>,
}

/// Runs the benchmark (at every concurrency, or only at `only`) and writes
/// `provision.json`.
pub async fn run(out: &Out, only: &[usize]) -> Result<()> {
    let mut config = if out.smoke {
        Config {
            users: 200,
            groups: 10,
            latency: Duration::from_millis(2),
            concurrencies: vec![1, 4],
        }
    } else {
        Config {
            users: 10_000,
            groups: 500,
            latency: Duration::from_millis(20),
            concurrencies: vec![1, HALF_CONCURRENCY, DEFAULT_CONCURRENCY, 32],
        }
    };
    if !only.is_empty() {
        config.concurrencies = only.to_vec();
    }
    let steady_at = if out.smoke { 4 } else { DEFAULT_CONCURRENCY };
    println!(
        "== 2. initial provisioning: {} users, {} groups, {} ms SCIM latency",
        config.users,
        config.groups,
        config.latency.as_millis()
    );
    println!(
        "{:>5} {:>9} {:>9} {:>9} {:>10} {:>10} {:>8} {:>10} {:>12}",
        "conc",
        "wall s",
        "source s",
        "SCIM s",
        "SCIM reqs",
        "bound s",
        "÷bound",
        "SCIM÷bnd",
        "writes/s"
    );
    let fixture = world::org(config.users, config.groups);
    let mut rows = Vec::new();
    let mut steady = Value::Null;
    for &concurrency in &config.concurrencies {
        let world = World::start(
            fixture.clone(),
            Duration::ZERO,
            testkit::scim::Faults {
                http: world::latency(config.latency),
                ..testkit::scim::Faults::default()
            },
        )
        .await?;
        let run = world::sync(&world.settings(concurrency)?).await?;
        let row = initial_row(&world, &run, concurrency, config.latency);
        println!(
            "{:>5} {:>9.2} {:>9.2} {:>9.2} {:>10} {:>10.2} {:>8.3} {:>10.3} {:>12.1}",
            concurrency,
            run.wall.as_secs_f64(),
            run.source_time().as_secs_f64(),
            run.scim_side_time().as_secs_f64(),
            row["scim_requests"].as_u64().unwrap_or(0),
            row["latency_bound_s"].as_f64().unwrap_or(f64::NAN),
            row["wall_over_bound"].as_f64().unwrap_or(f64::NAN),
            row["scim_side_over_bound"].as_f64().unwrap_or(f64::NAN),
            row["writes_per_second"].as_f64().unwrap_or(f64::NAN),
        );
        let phases = run.phases();
        println!(
            "      {}",
            phases
                .iter()
                .map(|(name, d)| format!("{name} {:.2} s", d.as_secs_f64()))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut row = row;
        row["phases_s"] = phases
            .iter()
            .map(|(name, d)| ((*name).to_owned(), json!(round3(d.as_secs_f64()))))
            .collect::<serde_json::Map<_, _>>()
            .into();
        rows.push(row);
        if concurrency == steady_at {
            steady = steady_state(&world, concurrency, config.latency).await?;
        }
    }

    let wall_at = |c: usize| {
        rows.iter()
            .find(|r| r["concurrency"].as_u64() == Some(c as u64))
            .and_then(|r| r["wall_s"].as_f64())
    };
    let row_at = |c: usize| {
        rows.iter()
            .find(|r| r["concurrency"].as_u64() == Some(c as u64))
    };
    let mut targets = Vec::new();
    let c = DEFAULT_CONCURRENCY;
    if let (Some(row), Some(sequential), Some(wall)) = (row_at(c), wall_at(1), wall_at(c)) {
        let label = format!("concurrency {c} (the default)");
        targets.push(Target::at_most(
            &format!("initial provisioning, SCIM side ÷ latency bound, {label}"),
            row["scim_side_over_bound"].as_f64().unwrap_or(f64::NAN),
            1.3,
            "×",
        ));
        targets.push(Target::at_most(
            &format!("initial provisioning, whole run ÷ latency bound, {label}"),
            row["wall_over_bound"].as_f64().unwrap_or(f64::NAN),
            1.3,
            "×",
        ));
        targets.push(Target::at_least(
            &format!("speed-up over concurrency 1, {label}"),
            sequential / wall,
            10.0,
            "×",
        ));
    }
    if let Some(first) = steady.get("same_latency_as_initial") {
        targets.push(Target::equal(
            "steady state: SCIM writes",
            &first["scim_writes"],
            0,
        ));
        targets.push(Target::equal(
            "steady state: SCIM list pages = pages of the two owned listings",
            &first["scim_list_pages"],
            &first["expected_list_pages"],
        ));
        targets.push(Target::equal(
            "steady state: SCIM reads = those pages + the ServiceProviderConfig",
            &first["scim_reads"],
            &first["expected_reads"],
        ));
    }
    out.write(
        "provision",
        &json!({
            "users": config.users,
            "groups": config.groups,
            "scim_latency_ms": config.latency.as_millis(),
            "activate_latency_ms": 0,
            "concurrencies": config.concurrencies,
            "member_chunk_size": 100,
            "scim_page_size": 100,
            "code_path": "pw_scim_sync_cli::run::sync (apply), in-process emulators over loopback HTTP",
        }),
        &json!({"initial": rows, "steady_state": steady}),
        &targets,
    )
}

fn requests_by_kind(world: &World) -> BTreeMap<String, u64> {
    world
        .scim
        .log()
        .counts()
        .into_iter()
        .map(|((method, resource), n)| (format!("{method:?} {resource:?}"), n))
        .collect()
}

fn initial_row(world: &World, run: &Run, concurrency: usize, latency: Duration) -> Value {
    let log = world.scim.log();
    let requests = log.total();
    #[allow(clippy::cast_precision_loss)]
    let bound = requests as f64 * latency.as_secs_f64() / concurrency as f64;
    let writes = log.writes();
    let summary = run.report.plan.summary();
    let phases: BTreeMap<String, Value> = run
        .records
        .operations
        .iter()
        .map(|(kind, span)| {
            (
                kind.clone(),
                json!({
                    "count": span.count,
                    "first_done_s": round3(span.first.as_secs_f64()),
                    "last_done_s": round3(span.last.as_secs_f64()),
                }),
            )
        })
        .collect();
    let apply = run
        .report
        .applied
        .as_ref()
        .map(reconcile_core::ApplyReport::totals);
    let writes_span = write_span(run);
    #[allow(clippy::cast_precision_loss)]
    let writes_per_second = writes as f64 / writes_span.as_secs_f64().max(1e-9);
    json!({
        "concurrency": concurrency,
        "exit_code": run.report.exit.code(),
        "wall_s": round3(run.wall.as_secs_f64()),
        "source_read_s": round3(run.source_time().as_secs_f64()),
        "scim_read_s": round3(run.observe_time().as_secs_f64()),
        "scim_side_s": round3(run.scim_side_time().as_secs_f64()),
        "scim_requests": requests,
        "scim_writes": writes,
        "scim_requests_by_kind": requests_by_kind(world),
        "activate_requests": world.activate.log().total(),
        "latency_bound_s": round3(bound),
        "wall_over_bound": round3(run.wall.as_secs_f64() / bound),
        "scim_side_over_bound": round3(run.scim_side_time().as_secs_f64() / bound),
        "writes_per_second": round3(writes_per_second),
        "planned": summary,
        "applied": apply.map(|t| t.applied),
        "failed": apply.map(|t| t.failed),
        "phases_by_operation": phases,
        "limiter_decreases": run.records.decreases,
        "warnings": run.records.warnings,
    })
}

/// From the start of the first write to the end of the last.
fn write_span(run: &Run) -> Duration {
    let writes = run
        .records
        .requests
        .iter()
        .filter(|r| r.method == "POST" || r.method == "PATCH");
    let mut first: Option<Duration> = None;
    let mut last = Duration::ZERO;
    for r in writes {
        let start = r.at.saturating_sub(r.took);
        first = Some(first.map_or(start, |f| f.min(start)));
        last = last.max(r.at);
    }
    last.saturating_sub(first.unwrap_or_default())
}

/// Pages the SCIM client reads to list `records` at 100 per page: one per 100
/// (at least one), plus one more when the last page is full, which confirms the end
/// (the client's guard against a `totalResults` that is too low).
fn listing_pages(records: usize) -> usize {
    let page = 100;
    records.div_ceil(page).max(1) + usize::from(records > 0 && records.is_multiple_of(page))
}

async fn steady_state(world: &World, concurrency: usize, latency: Duration) -> Result<Value> {
    println!("== 3. steady state at concurrency {concurrency} (nothing changed)");
    let mut results = serde_json::Map::new();
    for (label, activate_latency) in [
        ("same_latency_as_initial", Duration::ZERO),
        ("with_activate_latency_too", latency),
    ] {
        world.activate.set_faults(testkit::activate::Faults {
            http: world::latency(activate_latency),
            ..testkit::activate::Faults::default()
        });
        world.scim.log().clear();
        world.activate.log().clear();
        let run = world::sync(&world.settings(concurrency)?).await?;
        let log = world.scim.log();
        let owned_users = world.scim.users().len();
        let owned_groups = world.scim.groups().len();
        let expected_pages = listing_pages(owned_users) + listing_pages(owned_groups);
        // One `GET /ServiceProviderConfig` per run learns the paging method.
        let expected_reads = expected_pages + 1;
        let reads = log.count_method(Method::Get);
        let list_reads = log
            .records()
            .iter()
            .filter(|r| {
                r.method == Method::Get
                    && matches!(r.resource, Resource::Users | Resource::Groups)
                    && r.query
                        .as_deref()
                        .is_some_and(|q| q.contains("startIndex="))
            })
            .count();
        let activate_counts: BTreeMap<String, u64> = world
            .activate
            .log()
            .counts()
            .into_iter()
            .map(|((method, resource), n)| (format!("{method:?} {resource:?}"), n))
            .collect();
        println!(
            "  ACTIVATE latency {:>2} ms: wall {:.2} s (source {:.2} s, SCIM side {:.2} s); \
             SCIM: {} requests, {} writes, {} reads of which {} list pages (expected {}); \
             ACTIVATE: {} requests; plan converged: {}",
            activate_latency.as_millis(),
            run.wall.as_secs_f64(),
            run.source_time().as_secs_f64(),
            run.scim_side_time().as_secs_f64(),
            log.total(),
            log.writes(),
            reads,
            list_reads,
            expected_pages,
            world.activate.log().total(),
            run.report.plan.is_converged(),
        );
        results.insert(
            label.to_owned(),
            json!({
                "activate_latency_ms": activate_latency.as_millis(),
                "scim_latency_ms": latency.as_millis(),
                "wall_s": round3(run.wall.as_secs_f64()),
                "wall_ms": round3(ms(run.wall)),
                "source_read_s": round3(run.source_time().as_secs_f64()),
                "scim_side_s": round3(run.scim_side_time().as_secs_f64()),
                "scim_requests": log.total(),
                "scim_writes": log.writes(),
                "scim_reads": reads,
                "scim_list_pages": list_reads,
                "expected_list_pages": expected_pages,
                "expected_reads": expected_reads,
                "owned_users": owned_users,
                "owned_groups": owned_groups,
                "scim_requests_by_kind": requests_by_kind(world),
                "activate_requests": world.activate.log().total(),
                "activate_requests_by_kind": activate_counts,
                "plan_converged": run.report.plan.is_converged(),
                "exit_code": run.report.exit.code(),
            }),
        );
    }
    Ok(Value::Object(results))
}
