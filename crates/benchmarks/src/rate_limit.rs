//! Benchmark 4: a SCIM server limited to R requests per second.
//!
//! The SCIM emulator's token bucket (R tokens, refilled at R per second) answers
//! `429` with `Retry-After` (whole seconds, at least 1) once it is empty; every
//! request also waits 20 ms. An initial provisioning is synced into it:
//!
//! - through the CLI's `run::sync`, whose SCIM client has the adaptive limiter, at
//!   the default concurrency, and sequentially (concurrency 1);
//! - for comparison, the same pipeline (the CLI's adapters, planner and apply
//!   orchestrator) with a SCIM client *without* the limiter, at the same concurrency:
//!   every request then retries on its own after its `Retry-After`.
//!
//! Throughput is successful writes per second from the start of the first write to
//! the end of the last, divided by R. The bucket starts full, so R requests are free;
//! the "sustained" figure subtracts them and is the one compared with the target.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use pw_scim_sync_cli::adapters::observe::{learn_paging, list_owned, observe};
use pw_scim_sync_cli::adapters::source::to_source;
use pw_scim_sync_cli::adapters::target::ScimClientTarget;
use reconcile_core::{ApplyOptions, PlanOptions, apply, plan, project};
use scim_client::ScimClient;
use secrecy::SecretString;
use serde_json::{Value, json};
use testkit::faults::RateLimit;

use crate::DEFAULT_CONCURRENCY;
use crate::capture::{Recorder, Records};
use crate::output::{Out, Target, round3};
use crate::world::{self, World};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Client {
    /// The CLI's `run::sync` (adaptive limiter).
    Cli,
    /// The same pipeline without a limiter.
    NoLimiter,
}

struct Case {
    rate: u32,
    users: usize,
    groups: usize,
    concurrency: usize,
    client: Client,
}

/// Runs the benchmark and writes `rate_limit.json`.
pub async fn run(out: &Out) -> Result<()> {
    let latency = Duration::from_millis(if out.smoke { 2 } else { 20 });
    let c = DEFAULT_CONCURRENCY;
    let cases: Vec<Case> = if out.smoke {
        vec![
            Case {
                rate: 50,
                users: 60,
                groups: 3,
                concurrency: 4,
                client: Client::Cli,
            },
            Case {
                rate: 50,
                users: 60,
                groups: 3,
                concurrency: 4,
                client: Client::NoLimiter,
            },
        ]
    } else {
        vec![
            Case {
                rate: 100,
                users: 2_000,
                groups: 20,
                concurrency: c,
                client: Client::Cli,
            },
            Case {
                rate: 100,
                users: 2_000,
                groups: 20,
                concurrency: c,
                client: Client::NoLimiter,
            },
            Case {
                rate: 100,
                users: 2_000,
                groups: 20,
                concurrency: 1,
                client: Client::Cli,
            },
            Case {
                rate: 25,
                users: 500,
                groups: 5,
                concurrency: c,
                client: Client::Cli,
            },
            Case {
                rate: 400,
                users: 8_000,
                groups: 40,
                concurrency: c,
                client: Client::Cli,
            },
        ]
    };
    println!(
        "== 4. rate-limited SCIM server ({} ms latency, 429 + Retry-After)",
        latency.as_millis()
    );
    println!(
        "{:>5} {:>6} {:>5} {:>11} {:>8} {:>8} {:>11} {:>9} {:>8} {:>8} {:>7}",
        "R/s",
        "users",
        "conc",
        "client",
        "wall s",
        "writes",
        "writes/s÷R",
        "sust.÷R",
        "users÷R",
        "429 %",
        "failed"
    );
    let mut rows = Vec::new();
    let mut targets = Vec::new();
    for case in &cases {
        let row = one(case, latency).await?;
        println!(
            "{:>5} {:>6} {:>5} {:>11} {:>8.2} {:>8} {:>11.3} {:>9.3} {:>8.3} {:>8.2} {:>7}",
            case.rate,
            case.users,
            case.concurrency,
            row["client"].as_str().unwrap_or_default(),
            row["wall_s"].as_f64().unwrap_or(f64::NAN),
            row["successful_writes"].as_u64().unwrap_or(0),
            row["throughput_over_r"].as_f64().unwrap_or(f64::NAN),
            row["sustained_throughput_over_r"]
                .as_f64()
                .unwrap_or(f64::NAN),
            row["user_creation_sustained_over_r"]
                .as_f64()
                .unwrap_or(f64::NAN),
            row["share_429_percent"].as_f64().unwrap_or(f64::NAN),
            row["failed_operations"].as_u64().unwrap_or(0),
        );
        if case.client == Client::Cli && case.concurrency > 1 {
            let name = format!("R = {}/s, concurrency {}", case.rate, case.concurrency);
            targets.push(Target::at_least(
                &format!("sustained write throughput ÷ R, whole apply, {name}"),
                row["sustained_throughput_over_r"]
                    .as_f64()
                    .unwrap_or(f64::NAN),
                0.85,
                "",
            ));
            targets.push(Target::at_least(
                &format!("sustained write throughput ÷ R, user creations, {name}"),
                row["user_creation_sustained_over_r"]
                    .as_f64()
                    .unwrap_or(f64::NAN),
                0.85,
                "",
            ));
            targets.push(Target::at_most(
                &format!("requests answered 429, {name}"),
                row["share_429_percent"].as_f64().unwrap_or(f64::NAN),
                5.0,
                "%",
            ));
        }
        rows.push(row);
    }
    out.write(
        "rate_limit",
        &json!({
            "latency_ms": latency.as_millis(),
            "bucket": "R tokens, refilled at R per second; 429 with Retry-After = ceil(wait), at least 1 s",
            "limiter": "scim_client::LimiterConfig::new(concurrency): decrease 0.7, rate growth 10 %/s, 1 s window",
        }),
        &json!({"runs": rows}),
        &targets,
    )
}

async fn one(case: &Case, latency: Duration) -> Result<Value> {
    let world = World::start(
        world::org(case.users, case.groups),
        Duration::ZERO,
        testkit::scim::Faults {
            http: testkit::faults::HttpFaults {
                rate_limit: Some(RateLimit::per_second(case.rate)),
                ..world::latency(latency)
            },
            ..testkit::scim::Faults::default()
        },
    )
    .await?;
    let (wall, records, failed, exit) = match case.client {
        Client::Cli => {
            let run = world::sync(&world.settings(case.concurrency)?).await?;
            let failed = run.report.applied.as_ref().map_or(0, |a| a.totals().failed);
            (run.wall, run.records, failed, Some(run.report.exit.code()))
        }
        Client::NoLimiter => {
            let (wall, records, failed) = without_limiter(&world, case.concurrency).await?;
            (wall, records, failed, None)
        }
    };
    let log = world.scim.log();
    let total = log.total();
    let refused = log
        .records()
        .iter()
        .filter(|r| r.status == Some(429))
        .count();
    let ok_write = |r: &&crate::capture::Request| {
        (r.method == "POST" || r.method == "PATCH")
            && r.status.is_some_and(|s| (200..300).contains(&s))
    };
    let (ok_writes, span) = throughput(records.requests.iter().filter(ok_write));
    let (ok_creations, creation_span) = throughput(
        records
            .requests
            .iter()
            .filter(ok_write)
            .filter(|r| r.method == "POST" && r.path.ends_with("/Users")),
    );
    let rate = f64::from(case.rate);
    let (throughput, sustained, share) = (
        ok_writes as f64 / span / rate,
        (ok_writes as f64 - rate).max(0.0) / span / rate,
        100.0 * refused as f64 / total.max(1) as f64,
    );
    let creations_sustained = (ok_creations as f64 - rate).max(0.0) / creation_span / rate;
    Ok(json!({
        "rate_per_second": case.rate,
        "users": case.users,
        "groups": case.groups,
        "concurrency": case.concurrency,
        "client": match case.client { Client::Cli => "limiter", Client::NoLimiter => "no limiter" },
        "code_path": match case.client {
            Client::Cli => "pw_scim_sync_cli::run::sync",
            Client::NoLimiter => "CLI adapters + plan + apply, SCIM client without limiter",
        },
        "exit_code": exit,
        "wall_s": round3(wall.as_secs_f64()),
        "write_span_s": round3(span),
        "successful_writes": ok_writes,
        "throughput_writes_per_s": round3(ok_writes as f64 / span),
        "throughput_over_r": round3(throughput),
        "sustained_throughput_over_r": round3(sustained),
        "user_creations": ok_creations,
        "user_creation_span_s": round3(creation_span),
        "user_creation_sustained_over_r": round3(creations_sustained),
        "scim_requests": total,
        "answered_429": refused,
        "share_429_percent": round3(share),
        "limiter_decreases": records.decreases,
        "failed_operations": failed,
    }))
}

/// How many requests, and the seconds from the start of the first to the end of
/// the last.
fn throughput<'r>(requests: impl Iterator<Item = &'r crate::capture::Request>) -> (usize, f64) {
    let mut count = 0usize;
    let mut first: Option<Duration> = None;
    let mut last = Duration::ZERO;
    for r in requests {
        count += 1;
        let start = r.at.saturating_sub(r.took);
        first = Some(first.map_or(start, |f| f.min(start)));
        last = last.max(r.at);
    }
    (
        count,
        last.saturating_sub(first.unwrap_or_default())
            .as_secs_f64()
            .max(1e-9),
    )
}

/// The CLI's pipeline (ACTIVATE snapshot, projection, SCIM observation, plan,
/// apply through the CLI's SCIM target) with a SCIM client that has no limiter.
async fn without_limiter(world: &World, concurrency: usize) -> Result<(Duration, Records, usize)> {
    let settings = world.settings(concurrency)?;
    let recorder = Recorder::global();
    recorder.start();
    let started = Instant::now();
    let activate = pw_scim_sync_cli::clients::activate(&settings.activate, &settings.run)?;
    let scim = ScimClient::builder(
        settings.scim.base_url.clone(),
        SecretString::from(world.scim.token().to_owned()),
    )
    .build()
    .map_err(|e| anyhow!(e))?;
    let snapshot = activate
        .fetch_snapshot(&activate_client::Scope::all())
        .await
        .context("cannot read the ACTIVATE emulator")?;
    let desired = project(&to_source(snapshot), &reconcile_core::Scope::All);
    learn_paging(&scim).await;
    let owned = list_owned(&scim)
        .await
        .context("cannot read the SCIM emulator")?;
    let target = observe(&scim, &desired, owned, concurrency)
        .await
        .context("cannot read the SCIM emulator")?;
    let planned = plan(
        &desired,
        &target.observed,
        &PlanOptions {
            deactivation_limit: Some(settings.run.max_deactivations),
            override_deactivation_limit: false,
            ..PlanOptions::default()
        },
    );
    let report = apply(
        &planned,
        &ScimClientTarget::new(scim),
        &ApplyOptions {
            concurrency,
            ..ApplyOptions::default()
        },
    )
    .await;
    Ok((started.elapsed(), recorder.take(), report.totals().failed))
}
