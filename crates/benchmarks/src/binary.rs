//! Benchmark 6: the release binary end to end.
//!
//! The real `pw-activate-scim-sync` process runs against the emulators (started in
//! this process), both answering every request after 20 ms, at the binary's default
//! concurrency, configured through the environment only, as the CronJob runs it:
//!
//! - organizations of 10k users / 500 groups and 100k users / 2,000 groups;
//! - the REST source and the bulk source (`ACTIVATE_SOURCE=scim`, ACTIVATE's
//!   read-only SCIM endpoint, served by the ACTIVATE emulator);
//! - for each, a first sync into an empty SCIM emulator, then a steady-state run with
//!   nothing changed; at the smaller size also an "access" run: one user added in
//!   ACTIVATE (in one group), synced by the next run.
//!
//! Each run reports its wall time (spawn to exit), the requests each emulator saw by
//! method and resource, the time until the binary logged that it had read ACTIVATE
//! (everything after it is the SCIM side, of which the `ServiceProviderConfig` read
//! overlaps the ACTIVATE read; the time until the binary logged that it had listed
//! the owned SCIM records is reported too), and the process's peak RSS: `VmHWM` from `/proc/<pid>/status`, polled every 10 ms
//! until the process exits (the high-water mark only grows, so the last reading is
//! the peak up to at most 10 ms before exit). Beside it, the binary's CPU time (user +
//! system, from `/proc/<pid>/stat`, read with the same polling) and this process's CPU
//! time over the run, which is the two emulators': with the wall time they tell which
//! side's CPU a run waited for.
//!
//! The latency bound of a side is `requests × latency ÷ concurrency`: no client that
//! makes those requests, at most `concurrency` at a time, can be faster. The reads
//! of ACTIVATE come before the SCIM side, so the whole run's bound is the sum.
//!
//! Beside each run's logs in `target/bench-binary/`, `<run>.rss.tsv` is its memory
//! over time: `VmRSS` every 50 ms and each log line, in milliseconds from the spawn,
//! to tell which phase of a run set its peak.
//!
//! For profiling, `BENCH_WRAP` names a command prefix the binary runs under (split on
//! whitespace, e.g. `heaptrack -o /tmp/sync`), and `BENCH_WRAP_RUNS` the runs it
//! applies to (labels such as `100k-bulk-steady-state`, comma-separated; all when
//! unset). The peak RSS of a wrapped run is the wrapper's, not the binary's.
//!
//! The binary is found next to this program (`target/release/` for
//! `cargo run --release`), or given with `--bin` or `PW_ACTIVATE_SCIM_SYNC_BIN`.
//! Whether it has the bulk source is asked from its `--help`; the bulk rows are
//! skipped, and say so, when it does not.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use testkit::activate::{Fixture, FixtureUser};
use testkit::request_log::RequestLog;
use testkit::synthetic::ed25519_key_line;
use tokio::io::{AsyncBufReadExt as _, BufReader};

use crate::DEFAULT_CONCURRENCY;
use crate::output::{Out, Target, round3};
use crate::world::{self, World};

/// The environment variable naming the binary.
pub const BIN_ENV: &str = "PW_ACTIVATE_SCIM_SYNC_BIN";

/// The binary's file name.
const BIN_NAME: &str = "pw-activate-scim-sync";

/// What the binary logs once it has read ACTIVATE.
const SOURCE_READ_MARK: &str = "read the ACTIVATE organization";

/// What the binary logs once it has listed the owned SCIM records.
const TARGET_LISTED_MARK: &str = "listed the owned SCIM records";

/// `VmHWM` polling interval.
const POLL: Duration = Duration::from_millis(10);

/// `VmRSS` is recorded in the timeline every this many polls (50 ms).
const TIMELINE_EVERY: u32 = 5;

/// A command prefix for the binary (profiling only).
const WRAP_ENV: &str = "BENCH_WRAP";

/// The runs [`WRAP_ENV`] applies to.
const WRAP_RUNS_ENV: &str = "BENCH_WRAP_RUNS";

/// Bytes in a MiB, for the RSS figures.
const MIB: f64 = 1024.0 * 1024.0;

/// Where ACTIVATE's data is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Source {
    /// The REST API (the default).
    Rest,
    /// ACTIVATE's read-only SCIM endpoint (`ACTIVATE_SOURCE=scim`).
    Scim,
}

impl Source {
    fn label(self) -> &'static str {
        match self {
            Self::Rest => "REST",
            Self::Scim => "bulk",
        }
    }
}

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The binary; default [`BIN_ENV`], else next to this program.
    pub bin: Option<PathBuf>,
    /// Only these user counts (10000, 100000).
    pub users: Vec<usize>,
    /// Only these sources.
    pub sources: Vec<Source>,
    /// Skip the first sync: seed the SCIM emulator with what the last first sync of
    /// the same size left (see [`converged_path`]), and warm both emulators with a
    /// plan-only run that is not measured.
    pub seeded: bool,
}

/// One organization size.
#[derive(Debug, Clone, Copy)]
struct Size {
    users: usize,
    groups: usize,
    /// Also measure one added user reaching the target.
    access_run: bool,
}

/// Runs the benchmark and writes `binary.json`.
pub async fn run(out: &Out, options: &Options) -> Result<()> {
    let bin = locate(options.bin.as_deref())?;
    let (sizes, latency) = if out.smoke {
        (
            vec![Size {
                users: 200,
                groups: 10,
                access_run: true,
            }],
            Duration::from_millis(2),
        )
    } else {
        (
            vec![
                Size {
                    users: 10_000,
                    groups: 500,
                    access_run: true,
                },
                Size {
                    users: 100_000,
                    groups: 2_000,
                    access_run: false,
                },
            ],
            Duration::from_millis(20),
        )
    };
    let sizes: Vec<Size> = sizes
        .into_iter()
        .filter(|s| options.users.is_empty() || options.users.contains(&s.users))
        .collect();
    if sizes.is_empty() {
        bail!(
            "no size left to run: --users takes {}",
            if out.smoke {
                "200 with --smoke"
            } else {
                "10000 or 100000"
            }
        );
    }
    let wanted = |s: Source| options.sources.is_empty() || options.sources.contains(&s);
    let has_bulk = has_bulk_source(&bin).await?;
    let concurrency = DEFAULT_CONCURRENCY;
    println!(
        "== 6. the binary end to end: {}, {} ms per request on both sides, concurrency {concurrency} (its default)",
        bin.display(),
        latency.as_millis()
    );
    println!(
        "  peak RSS: VmHWM from /proc/<pid>/status, polled every {} ms",
        POLL.as_millis()
    );
    let mut skipped = Vec::new();
    if wanted(Source::Scim) && !has_bulk {
        let reason = format!(
            "{} does not accept ACTIVATE_SOURCE (not in its --help): the bulk-source rows are not measured",
            bin.display()
        );
        println!("  {reason}");
        skipped.push(reason);
    }
    let sources: Vec<Source> = [Source::Rest, Source::Scim]
        .into_iter()
        .filter(|&s| wanted(s) && (s == Source::Rest || has_bulk))
        .collect();

    let workdir = crate::workspace_root().join("target").join("bench-binary");
    std::fs::create_dir_all(&workdir)
        .with_context(|| format!("cannot create {}", workdir.display()))?;
    let mut rows = Vec::new();
    for size in &sizes {
        let fixture = world::org(size.users, size.groups);
        for &source in &sources {
            let world = World::start(
                fixture.clone(),
                latency,
                testkit::scim::Faults {
                    http: world::latency(latency),
                    ..testkit::scim::Faults::default()
                },
            )
            .await?;
            let converged = converged_path(&workdir, size);
            let mut runs = vec![("steady state", None)];
            if options.seeded {
                seed(&world, &converged)?;
                warm_up(&bin, &world, source, &workdir, size).await?;
            } else {
                runs.insert(0, ("first sync", None));
            }
            if size.access_run {
                runs.push(("one user added", Some(newcomer(&fixture))));
            }
            for (kind, change) in runs {
                if let Some((user, group)) = change {
                    let username = user.username.clone();
                    world
                        .activate
                        .add_user(user)
                        .with_context(|| format!("cannot add {username}"))?;
                    world
                        .activate
                        .add_member(&group, &username)
                        .with_context(|| format!("cannot add {username} to {group}"))?;
                }
                let label =
                    format!("{}k-{}-{}", size.users / 1000, source.label(), kind).replace(' ', "-");
                let run = spawn(&bin, &world, source, &workdir, &label, false).await?;
                if kind == "first sync" && run.exit_code == Some(0) {
                    save_converged(&world, &converged)?;
                }
                let row = row(size, source, kind, &run, &world, latency, concurrency);
                print_row(&row);
                rows.push(row);
            }
        }
    }

    let targets = targets(&rows);
    out.write(
        "binary",
        &json!({
            "binary": bin.display().to_string(),
            "latency_ms": latency.as_millis(),
            "concurrency": concurrency,
            "sizes": sizes.iter().map(|s| json!({"users": s.users, "groups": s.groups})).collect::<Vec<_>>(),
            "sources": sources.iter().map(|s| s.label()).collect::<Vec<_>>(),
            "peak_rss_method": format!("VmHWM from /proc/<pid>/status, polled every {} ms", POLL.as_millis()),
            "bound": "requests × latency ÷ concurrency, per side; whole run = ACTIVATE + SCIM",
            "skipped": skipped,
            "seeded": options.seeded.then_some("no first sync: the SCIM emulator started with the records the last first sync of each size left, then one plan-only run of the binary (not measured) warmed both emulators"),
            "load_average_at_end": load_average(),
        }),
        &json!({"runs": rows}),
        &targets,
    )
}

/// Runs the binary once in plan-only mode (`DRY_RUN=true`: it reads both sides and
/// writes nothing), not measured. A seeded steady state then finds the emulators as
/// a steady state after a first sync does: each builds the text of its records
/// once per state, on the first read, and a seeded emulator has not been read yet.
/// Without this, a seeded run measured that work of the emulators (at 100,000 users,
/// 2.3 s of their CPU against 0.8 s after a first sync) on the binary's two cores.
async fn warm_up(
    bin: &Path,
    world: &World,
    source: Source,
    workdir: &Path,
    size: &Size,
) -> Result<()> {
    let label = format!("{}k-{}-warm-up", size.users / 1000, source.label());
    let run = spawn(bin, world, source, workdir, &label, true).await?;
    anyhow::ensure!(
        run.exit_code == Some(0),
        "the plan-only warm-up run exited with {:?}; its last log lines:\n{}",
        run.exit_code,
        run.stderr_tail.join("\n")
    );
    println!(
        "  warmed the emulators with a plan-only run ({:.2} s, not measured)",
        run.wall.as_secs_f64()
    );
    Ok(())
}

/// Where a first sync's records are saved, for `--seeded` runs: one file per size,
/// whichever source wrote it (both write the same records; a seeded steady state
/// that writes anything shows it in its SCIM writes, which must be 0).
fn converged_path(workdir: &Path, size: &Size) -> PathBuf {
    workdir.join(format!("{}-converged.json", users_label(size.users)))
}

/// Saves what the SCIM emulator holds after a first sync.
fn save_converged(world: &World, path: &Path) -> Result<()> {
    let text = serde_json::to_vec(&world.scim.snapshot())?;
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// Starts the SCIM emulator with the records a first sync left.
fn seed(world: &World, path: &Path) -> Result<()> {
    let text = std::fs::read(path).with_context(|| {
        format!(
            "cannot read {}: run the benchmark once without --seeded at this size",
            path.display()
        )
    })?;
    let snapshot: Value =
        serde_json::from_slice(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    world
        .scim
        .seed_snapshot(&snapshot)
        .with_context(|| format!("cannot seed the SCIM emulator from {}", path.display()))?;
    println!("  seeded the SCIM emulator from {}", path.display());
    Ok(())
}

/// The binary: `explicit`, else [`BIN_ENV`], else next to this program.
fn locate(explicit: Option<&Path>) -> Result<PathBuf> {
    let path = match explicit {
        Some(path) => path.to_owned(),
        None => match std::env::var_os(BIN_ENV) {
            Some(path) => PathBuf::from(path),
            None => std::env::current_exe()
                .context("cannot find this program's path")?
                .parent()
                .context("this program's path has no directory")?
                .join(BIN_NAME),
        },
    };
    if !path.is_file() {
        bail!(
            "{} is not there: build it first (`cargo build --release --bin {BIN_NAME}` for \
             `cargo run --release -p benchmarks`, `cargo build --bin {BIN_NAME}` for a debug \
             run), or name it with --bin or {BIN_ENV}",
            path.display()
        );
    }
    Ok(path)
}

/// Whether the binary's `--help` lists `ACTIVATE_SOURCE`.
async fn has_bulk_source(bin: &Path) -> Result<bool> {
    let output = tokio::process::Command::new(bin)
        .arg("--help")
        .env_clear()
        .output()
        .await
        .with_context(|| format!("cannot run {} --help", bin.display()))?;
    if !output.status.success() {
        bail!(
            "{} --help exited with {}: {}",
            bin.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).contains("ACTIVATE_SOURCE"))
}

/// A user to add for the "one user added" run (enabled, one new key) and the group
/// to put them in (the last one).
fn newcomer(fixture: &Fixture) -> (FixtureUser, String) {
    let user = FixtureUser {
        name: Some("Bench Newcomer".to_owned()),
        email: Some("bench.newcomer@example.org".to_owned()),
        ssh_keys: vec![ed25519_key_line(&[7; 32], "bench.newcomer")],
        ..FixtureUser::new("bench-newcomer-0001", "bench.newcomer")
    };
    let group = fixture
        .groups
        .last()
        .map(|g| g.name.clone())
        .unwrap_or_default();
    (user, group)
}

/// One process run.
struct ProcessRun {
    exit_code: Option<i32>,
    wall: Duration,
    source_read: Option<Duration>,
    target_listed: Option<Duration>,
    peak_rss_kib: Option<u64>,
    /// The binary's CPU time (user + system), as last read before it exited.
    cpu: Option<Duration>,
    /// This process's CPU time during the run: the two emulators (and the polling).
    emulators_cpu: Option<Duration>,
    stderr_tail: Vec<String>,
    activate: BTreeMap<String, u64>,
    scim: BTreeMap<String, u64>,
}

fn counts<R: Copy + Ord + std::fmt::Debug>(log: &RequestLog<R>) -> BTreeMap<String, u64> {
    log.counts()
        .into_iter()
        .map(|((method, resource), n)| {
            (
                format!("{} {resource:?}", format!("{method:?}").to_uppercase()),
                n,
            )
        })
        .collect()
}

/// Runs the binary once against `world`, with its logs kept in `workdir`.
async fn spawn(
    bin: &Path,
    world: &World,
    source: Source,
    workdir: &Path,
    label: &str,
    dry_run: bool,
) -> Result<ProcessRun> {
    world.activate.log().clear();
    world.scim.log().clear();
    // A warm-up run is not measured, so never profiled.
    let mut command = if let Some(mut wrap) = wrapper(label).filter(|_| !dry_run) {
        let mut command = tokio::process::Command::new(wrap.remove(0));
        command
            .args(wrap)
            .arg(bin)
            .env_clear()
            // The wrapper finds its own helpers in `PATH`.
            .env("PATH", std::env::var_os("PATH").unwrap_or_default());
        command
    } else {
        let mut command = tokio::process::Command::new(bin);
        command.env_clear();
        command
    };
    command
        .current_dir(workdir)
        .env("ACTIVATE_API_KEY", world.activate.api_key())
        .env("ACTIVATE_API_URL", world.activate.base_url())
        .env("ACTIVATE_ORG_NAME", world.activate.organization())
        .env("CW_SCIM_BASE_URL", world.scim.base_url())
        .env("CW_SCIM_BEARER_TOKEN", world.scim.token())
        .env("LOG_LEVEL", "info")
        .env("DRY_RUN", if dry_run { "true" } else { "false" })
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    if source == Source::Scim {
        // ACTIVATE_SCIM_URL is left to its default, derived from the API URL and org.
        command
            .env("ACTIVATE_SOURCE", "scim")
            .env("ACTIVATE_SCIM_TOKEN", world.activate.scim_token());
    }
    let stdout_path = workdir.join(format!("{label}.stdout"));
    let stdout = std::fs::File::create(&stdout_path)
        .with_context(|| format!("cannot create {}", stdout_path.display()))?;
    command.stdout(stdout);

    let emulators_cpu_before = read_cpu("/proc/self/stat");
    let started = Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let pid = child
        .id()
        .context("the binary exited before it could be watched")?;
    // KiB; 0 until the first reading.
    let peak = Arc::new(AtomicU64::new(0));
    // Clock ticks; 0 until the first reading.
    let cpu_ticks = Arc::new(AtomicU64::new(0));
    let poller = {
        let peak = Arc::clone(&peak);
        let cpu_ticks = Arc::clone(&cpu_ticks);
        tokio::spawn(async move {
            let status = format!("/proc/{pid}/status");
            let stat = format!("/proc/{pid}/stat");
            let mut timeline = Vec::new();
            let mut polls = 0_u32;
            // A zombie (exited, not yet reaped) has no Vm* lines: stop there.
            while let Some(memory) = read_memory(&status) {
                peak.fetch_max(memory.hwm_kib, Ordering::Relaxed);
                if polls.is_multiple_of(TIMELINE_EVERY) {
                    timeline.push((started.elapsed(), memory.rss_kib));
                }
                polls = polls.wrapping_add(1);
                if let Some(ticks) = read_cpu(&stat) {
                    cpu_ticks.fetch_max(ticks, Ordering::Relaxed);
                }
                tokio::time::sleep(POLL).await;
            }
            timeline
        })
    };
    let stderr = child.stderr.take().context("no stderr pipe")?;
    let reader = tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        let mut source_read = None;
        let mut target_listed = None;
        let mut tail: Vec<String> = Vec::new();
        let mut logged = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            if source_read.is_none() && line.contains(SOURCE_READ_MARK) {
                source_read = Some(started.elapsed());
            }
            if target_listed.is_none() && line.contains(TARGET_LISTED_MARK) {
                target_listed = Some(started.elapsed());
            }
            logged.push((started.elapsed(), line.clone()));
            if tail.len() == 20 {
                tail.remove(0);
            }
            tail.push(line);
        }
        (source_read, target_listed, tail, logged)
    });
    let status = child.wait().await.context("cannot wait for the binary")?;
    let wall = started.elapsed();
    let emulators_cpu = read_cpu("/proc/self/stat")
        .zip(emulators_cpu_before)
        .map(|(after, before)| ticks(after.saturating_sub(before)));
    // The poller ends on its own once the process is gone.
    let timeline = poller.await.unwrap_or_default();
    let (source_read, target_listed, stderr_tail, logged) = reader.await.unwrap_or_default();
    write_timeline(
        &workdir.join(format!("{label}.rss.tsv")),
        &timeline,
        &logged,
    )?;
    let peak_rss_kib = Some(peak.load(Ordering::Relaxed)).filter(|&k| k > 0);
    Ok(ProcessRun {
        exit_code: status.code(),
        wall,
        source_read,
        target_listed,
        peak_rss_kib,
        cpu: Some(cpu_ticks.load(Ordering::Relaxed))
            .filter(|&t| t > 0)
            .map(ticks),
        emulators_cpu,
        stderr_tail,
        activate: counts(world.activate.log()),
        scim: counts(world.scim.log()),
    })
}

/// A process's resident memory, in KiB.
struct Memory {
    /// `VmHWM`: the peak so far.
    hwm_kib: u64,
    /// `VmRSS`: now.
    rss_kib: u64,
}

/// `VmHWM` and `VmRSS`, or `None` when the process is gone or a zombie.
fn read_memory(status_path: &str) -> Option<Memory> {
    let text = std::fs::read_to_string(status_path).ok()?;
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
    };
    Some(Memory {
        hwm_kib: field("VmHWM:")?,
        rss_kib: field("VmRSS:")?,
    })
}

/// The command prefix for the run `label`, from [`WRAP_ENV`] and [`WRAP_RUNS_ENV`].
fn wrapper(label: &str) -> Option<Vec<String>> {
    let wrap: Vec<String> = std::env::var(WRAP_ENV)
        .ok()?
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let applies = std::env::var(WRAP_RUNS_ENV)
        .map_or(true, |runs| runs.split(',').any(|run| run.trim() == label));
    (!wrap.is_empty() && applies).then_some(wrap)
}

/// Writes a run's memory timeline: `VmRSS` samples and log lines, by time.
fn write_timeline(
    path: &Path,
    rss: &[(Duration, u64)],
    logged: &[(Duration, String)],
) -> Result<()> {
    use std::fmt::Write as _;
    let mut rows: Vec<(Duration, String)> = rss
        .iter()
        .map(|(at, kib)| (*at, format!("rss\t{:.1}", *kib as f64 * 1024.0 / MIB)))
        .chain(
            logged
                .iter()
                .map(|(at, line)| (*at, format!("log\t{line}"))),
        )
        .collect();
    rows.sort_by_key(|(at, _)| *at);
    let mut text = String::from("ms\tkind\tvalue (VmRSS in MiB, or the log line)\n");
    for (at, row) in rows {
        let _ = writeln!(text, "{}\t{row}", at.as_millis());
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// User plus system CPU time of a process in clock ticks, from its `stat` file
/// (fields 14 and 15).
fn read_cpu(stat_path: &str) -> Option<u64> {
    let text = std::fs::read_to_string(stat_path).ok()?;
    // The fields after the command name, which is in parentheses: field 3 on.
    let mut fields = text.rsplit_once(')')?.1.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

/// Clock ticks as time: `/proc` counts in `USER_HZ`, 100 a second on Linux.
fn ticks(ticks: u64) -> Duration {
    Duration::from_millis(ticks * 10)
}

/// `10k` for 10,000; `200` for 200.
fn users_label(users: usize) -> String {
    if users >= 1000 && users.is_multiple_of(1000) {
        format!("{}k", users / 1000)
    } else {
        users.to_string()
    }
}

/// `/proc/loadavg`'s first three fields.
fn load_average() -> Option<String> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}

/// `requests × latency ÷ concurrency`, in seconds.
fn bound(requests: u64, latency: Duration, concurrency: usize) -> f64 {
    requests as f64 * latency.as_secs_f64() / concurrency as f64
}

fn row(
    size: &Size,
    source: Source,
    kind: &str,
    run: &ProcessRun,
    world: &World,
    latency: Duration,
    concurrency: usize,
) -> Value {
    let activate_requests: u64 = run.activate.values().sum();
    let scim_requests: u64 = run.scim.values().sum();
    let scim_writes = world.scim.log().writes();
    let activate_bound = bound(activate_requests, latency, concurrency);
    let scim_bound = bound(scim_requests, latency, concurrency);
    let wall = run.wall.as_secs_f64();
    let source_read = run.source_read.map(|d| d.as_secs_f64());
    let scim_side = source_read.map(|s| wall - s);
    let ratio = |measured: Option<f64>, bound: f64| {
        measured.filter(|_| bound > 0.0).map(|m| round3(m / bound))
    };
    let ms = latency.as_secs_f64() * 1000.0;
    json!({
        "users": size.users,
        "groups": size.groups,
        "source": source.label(),
        "run": kind,
        "exit_code": run.exit_code,
        "wall_s": round3(wall),
        "activate_read_s": source_read.map(round3),
        "scim_side_s": scim_side.map(round3),
        "scim_listed_s": run.target_listed.map(|d| round3(d.as_secs_f64())),
        "peak_rss_mib": run.peak_rss_kib.map(|k| round3(k as f64 * 1024.0 / MIB)),
        "binary_cpu_s": run.cpu.map(|d| round3(d.as_secs_f64())),
        "emulators_cpu_s": run.emulators_cpu.map(|d| round3(d.as_secs_f64())),
        "activate_requests": activate_requests,
        "activate_requests_by_kind": run.activate,
        "scim_requests": scim_requests,
        "scim_writes": scim_writes,
        "scim_requests_by_kind": run.scim,
        "activate_bound_s": round3(activate_bound),
        "activate_bound_arithmetic": format!("{activate_requests} × {ms} ms ÷ {concurrency} = {activate_bound:.3} s"),
        "scim_bound_s": round3(scim_bound),
        "scim_bound_arithmetic": format!("{scim_requests} × {ms} ms ÷ {concurrency} = {scim_bound:.3} s"),
        "bound_s": round3(activate_bound + scim_bound),
        "activate_read_over_bound": ratio(source_read, activate_bound),
        "scim_side_over_bound": ratio(scim_side, scim_bound),
        "wall_over_bound": ratio(Some(wall), activate_bound + scim_bound),
        "stderr_tail": if run.exit_code == Some(0) { Value::Null } else { json!(run.stderr_tail) },
    })
}

fn print_row(row: &Value) {
    let f = |key: &str| {
        row[key]
            .as_f64()
            .map_or("–".to_owned(), |v| format!("{v:.2}"))
    };
    println!(
        "  {:>4} users, {:<4} {:<15} exit {}: wall {} s (ACTIVATE read {} s, SCIM side {} s; owned SCIM records listed at {} s), peak RSS {} MiB, CPU: binary {} s, emulators {} s",
        users_label(usize::try_from(row["users"].as_u64().unwrap_or(0)).unwrap_or(0)),
        row["source"].as_str().unwrap_or(""),
        row["run"].as_str().unwrap_or(""),
        row["exit_code"],
        f("wall_s"),
        f("activate_read_s"),
        f("scim_side_s"),
        f("scim_listed_s"),
        f("peak_rss_mib"),
        f("binary_cpu_s"),
        f("emulators_cpu_s"),
    );
    println!(
        "      ACTIVATE {} requests {}; bound {} (read ÷ bound {})",
        row["activate_requests"],
        row["activate_requests_by_kind"],
        row["activate_bound_arithmetic"].as_str().unwrap_or(""),
        f("activate_read_over_bound"),
    );
    println!(
        "      SCIM {} requests {}; bound {} (SCIM side ÷ bound {}); whole run ÷ ({} s) = {}",
        row["scim_requests"],
        row["scim_requests_by_kind"],
        row["scim_bound_arithmetic"].as_str().unwrap_or(""),
        f("scim_side_over_bound"),
        f("bound_s"),
        f("wall_over_bound"),
    );
    if let Some(tail) = row["stderr_tail"].as_array() {
        println!("      the run did not exit 0; the end of its log:");
        for line in tail {
            println!("        {}", line.as_str().unwrap_or(""));
        }
    }
}

fn targets(rows: &[Value]) -> Vec<Target> {
    let mut targets = Vec::new();
    let name = |row: &Value| {
        format!(
            "{} users, {} source, {}",
            users_label(usize::try_from(row["users"].as_u64().unwrap_or(0)).unwrap_or(0)),
            row["source"].as_str().unwrap_or(""),
            row["run"].as_str().unwrap_or("")
        )
    };
    let value = |row: &Value, key: &str| row[key].as_f64().unwrap_or(f64::NAN);
    for row in rows {
        let label = name(row);
        let users = row["users"].as_u64().unwrap_or(0);
        let steady = row["run"] == "steady state";
        let first = row["run"] == "first sync";
        let bulk = row["source"] == "bulk";
        targets.push(Target::equal(
            &format!("{label}: exit code"),
            &row["exit_code"],
            0,
        ));
        targets.push(Target::at_most(
            &format!("{label}: SCIM side ÷ latency bound"),
            value(row, "scim_side_over_bound"),
            1.3,
            "×",
        ));
        if steady {
            targets.push(Target::equal(
                &format!("{label}: SCIM writes"),
                &row["scim_writes"],
                0,
            ));
        }
        if steady && users == 10_000 && bulk {
            targets.push(Target::at_most(
                &format!("{label}: ACTIVATE requests"),
                value(row, "activate_requests"),
                60.0,
                "",
            ));
            targets.push(Target::at_most(
                &format!("{label}: wall"),
                value(row, "wall_s"),
                3.0,
                "s",
            ));
        }
        if (steady && users == 10_000 && !bulk) || (users == 100_000 && (steady || first)) {
            targets.push(Target::at_most(
                &format!("{label}: whole run ÷ latency bound"),
                value(row, "wall_over_bound"),
                1.3,
                "×",
            ));
        }
        if users == 100_000 {
            targets.push(Target::at_most(
                &format!("{label}: peak RSS (300 MB = 286.1 MiB)"),
                value(row, "peak_rss_mib"),
                286.1,
                "MiB",
            ));
        }
    }
    targets
}
