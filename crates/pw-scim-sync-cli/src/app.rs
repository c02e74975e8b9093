//! Dispatch of a parsed command line, and what happens around a run: the summary line,
//! metrics, the heartbeat and termination signals.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::Result;

use crate::cli::{Cli, Command, Output};
use crate::exit::Exit;
use crate::metrics::{self, RunMetrics};
use crate::run::{self, Mode, RunReport};
use crate::settings::Settings;
use crate::{check, clients, heartbeat};

/// Runs the command and returns its exit status. Fatal errors are logged here.
pub async fn run(cli: Cli) -> Exit {
    match execute(cli).await {
        Ok(exit) => exit,
        Err(error) => {
            tracing::error!("{error:#}");
            Exit::Fatal
        }
    }
}

async fn execute(cli: Cli) -> Result<Exit> {
    let mode = match cli.command {
        None | Some(Command::Sync) if !cli.sync.dry_run => Mode::Apply,
        None | Some(Command::Sync | Command::Plan) => Mode::PlanOnly,
        Some(Command::Check) => {
            let settings = Settings::from_args(&cli.sync)?;
            return check::check(&settings, &mut std::io::stdout()).await;
        }
        #[cfg(feature = "demo")]
        Some(Command::Demo) => {
            let run = crate::settings::RunSettings::from_args(&cli.sync)?;
            return crate::demo::demo(run).await;
        }
        Some(Command::EnvVars) => {
            let mut out = std::io::stdout().lock();
            return match writeln!(out, "{}", crate::env_vars::ALL.join("\n")) {
                // A reader that stops early (`| head`) is not an error.
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    Err(anyhow::Error::new(e).context("cannot write to stdout"))
                }
                _ => Ok(Exit::Success),
            };
        }
        #[cfg(not(feature = "demo"))]
        Some(Command::Demo) => {
            eprintln!("error: {}", crate::cli::DEMO_LEFT_OUT);
            return Ok(Exit::Usage);
        }
    };
    let settings = Settings::from_args(&cli.sync)?;
    sync(&settings, mode).await
}

/// A sync or plan with its summary, metrics and heartbeat.
async fn sync(settings: &Settings, mode: Mode) -> Result<Exit> {
    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    watch_signals(Arc::clone(&stop));
    let plain = clients::plain(&settings.run)?;
    let result = run::sync(settings, mode, stop, &mut std::io::stdout()).await;
    let exit = match &result {
        Ok(report) => {
            log_summary(report, started);
            report.exit
        }
        Err(error) => {
            tracing::error!("{error:#}");
            if settings.run.output == Output::Json {
                print_fatal_json(mode, &format!("{error:#}"));
            }
            Exit::Fatal
        }
    };
    if let Some(url) = &settings.run.pushgateway_url {
        let m = run_metrics(result.as_ref().ok(), exit, started);
        if let Err(error) = metrics::push(&plain, url, &m).await {
            tracing::warn!("{error:#}");
        }
    }
    if let (Exit::Success, Some(url)) = (exit, &settings.run.heartbeat_url) {
        heartbeat::ping(&plain, url).await;
    }
    Ok(exit)
}

/// With `--output json`, stdout holds one JSON document on every run, the failed ones
/// included, so that whatever parses it always finds `exit_code`.
fn print_fatal_json(mode: Mode, error: &str) {
    let document = serde_json::json!({
        "version": 1,
        "mode": mode.as_str(),
        "exit_code": Exit::Fatal.code(),
        "error": error,
        "plan": null,
        "result": null,
    });
    println!("{document:#}");
}

/// On SIGTERM (a drain, `activeDeadlineSeconds`) or Ctrl-C: start no new write, finish
/// what is in flight, report.
fn watch_signals(stop: Arc<AtomicBool>) {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let Ok(mut term) = signal(SignalKind::terminate()) else {
                return;
            };
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::warn!("termination requested: no new writes will start");
        stop.store(true, Ordering::Relaxed);
    });
}

fn log_summary(report: &RunReport, started: Instant) {
    let plan = report.plan.summary();
    let totals = report
        .applied
        .as_ref()
        .map(reconcile_core::ApplyReport::totals);
    tracing::info!(
        exit_code = report.exit.code(),
        duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        dry_run = report.applied.is_none(),
        create_users = plan.create_users,
        update_users = plan.update_users,
        reactivate_users = plan.reactivate_users,
        rekey_users = plan.rekey_users,
        deactivate_users = plan.deactivate_users,
        create_groups = plan.create_groups,
        update_groups = plan.update_groups,
        empty_groups = plan.empty_groups,
        applied = totals.map_or(0, |t| t.applied),
        failed = totals.map_or(0, |t| t.failed),
        not_started = totals.map_or(0, |t| t.skipped_deadline + t.skipped_aborted),
        withheld = plan.withheld,
        conflicts = plan.conflicts,
        warnings = plan.warnings,
        guards_tripped = ?report.plan.guards.tripped,
        activate_requests = report.activate_requests,
        scim_requests = report.scim_requests.values().sum::<u64>(),
        "run finished"
    );
}

/// The kind as in the JSON plan (`create_user`), a conventional label value.
fn snake_case(kind: reconcile_core::ActionKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| kind.to_string())
}

fn run_metrics(report: Option<&RunReport>, exit: Exit, started: Instant) -> RunMetrics {
    let mut m = RunMetrics {
        duration: started.elapsed(),
        finished_at: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64()),
        success: exit == Exit::Success,
        exit_code: exit.code(),
        ..RunMetrics::default()
    };
    let Some(report) = report else {
        return m;
    };
    m.conflicts = report.plan.conflicts.len() as u64;
    m.guard_tripped = !report.plan.guards.tripped.is_empty();
    if let Some(applied) = &report.applied {
        m.attributes_not_kept = applied.not_kept.len() as u64;
        for (kind, counts) in &applied.counts {
            for (outcome, n) in [
                ("applied", counts.applied),
                ("failed", counts.failed),
                ("skipped_deadline", counts.skipped_deadline),
                ("skipped_aborted", counts.skipped_aborted),
                ("withheld", counts.withheld),
            ] {
                m.operations
                    .insert((snake_case(*kind), outcome.to_owned()), n as u64);
            }
        }
    }
    m.http_requests.insert(
        ("activate".to_owned(), "ok".to_owned()),
        report.activate_requests,
    );
    for (status, n) in &report.scim_requests {
        m.http_requests
            .insert(("scim".to_owned(), status.clone()), *n);
    }
    m
}
