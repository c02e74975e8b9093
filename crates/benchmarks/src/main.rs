//! Benchmark programs for `pw-activate-scim-sync`.
//!
//! Each subcommand runs one benchmark against in-process emulators (or, for the
//! planner, in fresh child processes; for `binary`, the built `pw-activate-scim-sync`
//! program as a child process), prints its figures and writes them as JSON to
//! `bench-results/<name>.json` at the workspace root (`--smoke` runs tiny sizes in
//! seconds and writes to `target/bench-results-smoke/` instead, so that CI keeps the
//! programs building and running without touching the recorded figures).
//!
//! ```text
//! cargo run --release -p benchmarks -- all            # everything (about 15 minutes)
//! cargo run --release -p benchmarks -- planner        # 1. planner time and memory
//! cargo run --release -p benchmarks -- provision      # 2. + 3. initial and steady state
//! cargo run --release -p benchmarks -- rate-limit     # 4. a server limited to R req/s
//! cargo run --release -p benchmarks -- source         # 5. the ACTIVATE side
//! cargo run --release -p benchmarks -- membership     # large groups: chunked changes
//! cargo build --release --bin pw-activate-scim-sync
//! cargo run --release -p benchmarks -- binary         # 6. the release binary end to end
//! cargo run --release -p benchmarks -- --smoke all    # seconds; what CI runs
//! ```
//!
//! These are programs that print figures, not tests: nothing here asserts on time.
//! The targets each figure is compared with are printed next to it and recorded in
//! the JSON (`targets`), with whether they were met.
//!
//! This crate is not part of the product; it links the CLI's library and the test
//! emulators.

// Figures are counts and durations far below 2^52, and each benchmark's report
// reads best as one function from setup to the printed table.
#![allow(clippy::cast_precision_loss, clippy::too_many_lines)]

mod binary;
mod capture;
mod machine;
mod membership;
mod output;
mod planner;
mod provision;
mod rate_limit;
mod source;
mod world;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// The CLI's default `--concurrency` (`SYNC_CONCURRENCY`), where the targets apply.
pub const DEFAULT_CONCURRENCY: usize = pw_scim_sync_cli::cli::DEFAULT_CONCURRENCY as usize;

/// Half the default, measured beside it for comparison.
pub const HALF_CONCURRENCY: usize = DEFAULT_CONCURRENCY / 2;

#[derive(Debug, Parser)]
#[command(name = "benchmarks", about = "Benchmarks of pw-activate-scim-sync")]
struct Args {
    /// Tiny sizes: checks that every benchmark runs, in seconds; the figures mean
    /// nothing.
    #[arg(long, global = true)]
    smoke: bool,

    /// Where the JSON figures go (default: `bench-results/` at the workspace root,
    /// or `target/bench-results-smoke/` with `--smoke`).
    #[arg(long, global = true)]
    out: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Benchmark 1: planner time and peak memory for 10k, 100k and 200k users.
    Planner {
        /// Only these sizes (comma-separated user counts), e.g. `100000`.
        #[arg(long, value_delimiter = ',')]
        users: Vec<usize>,
        /// Keep the generated inputs in `target/bench-planner-inputs/` (for profiling
        /// with `planner-child`).
        #[arg(long)]
        keep_inputs: bool,
    },
    /// Benchmarks 2 and 3: initial provisioning of 10k users and 500 groups against
    /// 20 ms of latency at several concurrencies, then a steady-state run.
    Provision {
        /// Only these concurrencies (comma-separated), e.g. `1,16`.
        #[arg(long, value_delimiter = ',')]
        concurrency: Vec<usize>,
    },
    /// Benchmark 4: a SCIM server limited to R requests per second (429 with
    /// Retry-After).
    RateLimit,
    /// Benchmark 5: reading the ACTIVATE side of 10k users with 20 ms of latency.
    Source,
    /// Membership changes of 1 % in a 10,000-member group: requests and bytes.
    Membership,
    /// Benchmark 6: the `pw-activate-scim-sync` binary end to end (10k and 100k users,
    /// REST and bulk source, first sync and steady state): wall time, requests, peak
    /// RSS.
    Binary {
        /// The binary [default: `PW_ACTIVATE_SCIM_SYNC_BIN`, else next to this program].
        #[arg(long)]
        bin: Option<PathBuf>,
        /// Only these sizes (comma-separated user counts), e.g. `10000`.
        #[arg(long, value_delimiter = ',')]
        users: Vec<usize>,
        /// Only these sources (comma-separated).
        #[arg(long, value_delimiter = ',', value_enum)]
        source: Vec<binary::Source>,
        /// Skip the first sync: start the SCIM emulator with the records the last
        /// first sync of the same size left (every first sync saves them in
        /// `target/bench-binary/`), warm both emulators with one plan-only run of
        /// the binary (not measured), then measure the later runs.
        #[arg(long)]
        seeded: bool,
    },
    /// Every benchmark in turn.
    All,
    /// One planner measurement in this (fresh) process; used by `planner`.
    PlannerChild {
        /// The source snapshot (JSON).
        #[arg(long)]
        snapshot: PathBuf,
        /// The observed target (JSON).
        #[arg(long)]
        observed: PathBuf,
        /// Timed planning runs after the first.
        #[arg(long)]
        iterations: usize,
    },
}

fn main() -> Result<()> {
    let args = Args::parse();
    let out = || output::Out::new(args.out.clone(), args.smoke);
    let runtime = || {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    };
    match args.command {
        Command::PlannerChild {
            snapshot,
            observed,
            iterations,
        } => planner::child(&snapshot, &observed, iterations),
        Command::Planner { users, keep_inputs } => planner::run(&out()?, &users, keep_inputs),
        Command::Provision { concurrency } => {
            runtime()?.block_on(provision::run(&out()?, &concurrency))
        }
        Command::RateLimit => runtime()?.block_on(rate_limit::run(&out()?)),
        Command::Source => runtime()?.block_on(source::run(&out()?)),
        Command::Membership => runtime()?.block_on(membership::run(&out()?)),
        Command::Binary {
            bin,
            users,
            source,
            seeded,
        } => runtime()?.block_on(binary::run(
            &out()?,
            &binary::Options {
                bin,
                users,
                sources: source,
                seeded,
            },
        )),
        Command::All => {
            let out = out()?;
            planner::run(&out, &[], false)?;
            runtime()?.block_on(async {
                provision::run(&out, &[]).await?;
                rate_limit::run(&out).await?;
                source::run(&out).await?;
                membership::run(&out).await?;
                binary::run(&out, &binary::Options::default()).await
            })
        }
    }
}

/// `PathBuf` of the workspace root (two levels above this crate).
fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("..")
}
