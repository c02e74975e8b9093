//! One sync: read both sides, plan, print, apply, report.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use activate_client::{OrgSnapshot, PwCliKeys};
use anyhow::{Context, Result};
use reconcile_core::{
    ActionKind, ApplyOptions, ApplyReport, Clock, Deadline, Desired, Observed, Plan, PlanOptions,
    ServerRules, apply, plan, project,
};
use scim_client::ScimClient;
use serde_json::json;

use crate::adapters::observe::{
    OwnedListings, ScimIds, learn_paging, list_owned_groups, list_owned_users, observe,
};
use crate::adapters::rules;
use crate::adapters::source::{scopes, to_source};
use crate::adapters::target::ScimClientTarget;
use crate::cli::{KeysSource, Output};
use crate::clients::{self, RequestCounts};
use crate::exit::Exit;
use crate::hints;
use crate::settings::{Settings, SourceSettings};
use http_policy::chain::render as chain;

/// What the run does after planning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Apply the plan.
    Apply,
    /// Print the plan only; write nothing.
    PlanOnly,
}

impl Mode {
    /// `apply` or `plan`, as in the JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Apply => "apply",
            Self::PlanOnly => "plan",
        }
    }
}

/// The outcome of a run that got as far as planning.
#[derive(Debug)]
pub struct RunReport {
    /// The exit status.
    pub exit: Exit,
    /// The plan.
    pub plan: Plan,
    /// The apply report (`None` for a plan-only run).
    pub applied: Option<ApplyReport>,
    /// Requests made to ACTIVATE.
    pub activate_requests: u64,
    /// Requests made to the SCIM target, by status.
    pub scim_requests: BTreeMap<String, u64>,
}

/// A monotonic clock for the apply deadline that jumps to the end of time once a
/// termination signal arrived, so that no new write starts.
#[derive(Debug)]
pub struct RunClock {
    started: Instant,
    stop: Arc<AtomicBool>,
}

impl RunClock {
    /// A clock starting now, stopped by `stop`.
    pub fn new(stop: Arc<AtomicBool>) -> Self {
        Self {
            started: Instant::now(),
            stop,
        }
    }
}

impl Clock for RunClock {
    fn now(&self) -> Duration {
        if self.stop.load(Ordering::Relaxed) {
            Duration::MAX
        } else {
            self.started.elapsed()
        }
    }
}

/// Plans by the RFC 7643 defaults; a plan that writes users is made again by the
/// server's own rules, read from its `/Schemas` (one GET that a converged run
/// never needs).
async fn plan_by_server_rules(
    scim: &ScimClient,
    desired: &Desired,
    observed: &Observed,
    mut options: PlanOptions,
) -> Plan {
    let first = plan(desired, observed, &options);
    if !writes_users(&first) {
        return first;
    }
    match rules::read(scim).await {
        Ok(server) if server != options.server => {
            tracing::info!(
                user_name_case_exact = server.user_name_case_exact,
                email_case_exact = server.email_case_exact,
                not_kept = ?server.not_kept.paths(),
                "the SCIM server's schema changes how attributes compare; planning by it"
            );
            options.server = server;
            // One plan at a time: at 100,000 creations a plan is tens of megabytes.
            drop(first);
            plan(desired, observed, &options)
        }
        Ok(_) => first,
        Err(error) => {
            tracing::debug!(
                error = %chain(&error),
                "no readable /Schemas; comparing by the RFC 7643 defaults"
            );
            first
        }
    }
}

/// Whether the plan writes any user attribute (creations and `PATCH`es).
fn writes_users(plan: &Plan) -> bool {
    plan.applicable().any(|op| {
        matches!(
            op.action.kind(),
            ActionKind::CreateUser
                | ActionKind::UpdateUser
                | ActionKind::Reactivate
                | ActionKind::ReKey
        )
    })
}

/// Runs one sync (or plan) and writes the plan and result to `out`.
///
/// Errors are fatal (exit 1): a side that cannot be read completely means nothing is
/// written at all.
pub async fn sync(
    settings: &Settings,
    mode: Mode,
    stop: Arc<AtomicBool>,
    out: &mut (dyn Write + Send),
) -> Result<RunReport> {
    let run = &settings.run;
    let clock = Arc::new(RunClock::new(stop));
    let activate = clients::activate(&settings.activate, run)?;
    let counts = RequestCounts::default();
    let scim = clients::scim(&settings.scim, run, &counts)?;

    let (desired, owned, activate_requests) = read_sides(&activate, settings, &scim).await?;
    let target = observe(&scim, &desired, owned, run.concurrency)
        .await
        .context(SCIM_INCOMPLETE)?;
    tracing::info!(
        users = target.observed.users().len(),
        groups = target.observed.groups().len(),
        user_listing = %target.user_mode,
        group_listing = %target.group_mode,
        foreign_name_check = ?target.foreign_names,
        "read the owned SCIM records"
    );

    let options = PlanOptions {
        deactivation_limit: Some(run.max_deactivations),
        override_deactivation_limit: run.allow_mass_deactivation,
        rekey_limit: Some(run.max_rekeys),
        override_rekey_limit: run.allow_mass_rekey,
        server: ServerRules::default(),
    };
    let plan = plan_by_server_rules(&scim, &desired, &target.observed, options).await;
    // The plan holds what applying it needs: the states it compared go before the writes.
    drop((desired, target));
    if plan.guards.limit_overridden {
        tracing::warn!(
            planned = plan.guards.deactivations_planned,
            allowed = ?plan.guards.deactivations_allowed,
            "--allow-mass-deactivation: applying deactivations beyond MAX_DEACTIVATIONS"
        );
    }
    if plan.guards.rekey_limit_overridden {
        tracing::warn!(
            planned = plan.guards.rekeys_planned,
            allowed = ?plan.guards.rekeys_allowed,
            "--allow-mass-rekey: applying re-keys beyond MAX_REKEYS"
        );
    }
    for guard in &plan.guards.tripped {
        tracing::warn!(guard = ?guard, withheld = plan.withheld().count(), "safety guard tripped: operations withheld");
    }

    if run.output == Output::Text {
        write_plan_text(out, &plan)?;
    }
    let applied = match mode {
        Mode::PlanOnly => None,
        Mode::Apply => {
            let options = ApplyOptions {
                concurrency: run.concurrency,
                deadline: Some(Deadline {
                    clock: clock.clone(),
                    at: run.deadline.unwrap_or(Duration::MAX / 2),
                }),
                ..ApplyOptions::default()
            };
            Some(apply(&plan, &ScimClientTarget::new(scim.clone()), &options).await)
        }
    };
    if let Some(lost) = applied.as_ref().and_then(|r| r.ownership_not_kept.as_ref()) {
        tracing::error!(subject = %lost.subject, "{lost}");
    }
    if let Some(limits) = scim.limits().filter(|l| l.overloads > 0) {
        tracing::info!(
            overloads = limits.overloads,
            concurrency = limits.concurrency,
            rate_per_second = limits.rate,
            "the SCIM server pushed back (429/503); requests were slowed down"
        );
    }

    let exit = match &applied {
        None => Exit::Success,
        Some(report) if report.ownership_not_kept.is_some() => Exit::Fatal,
        Some(report) => Exit::of_run(
            plan.has_withheld(),
            !report.is_complete() || !plan.conflicts.is_empty(),
        ),
    };
    let report = RunReport {
        exit,
        plan,
        applied,
        activate_requests,
        scim_requests: counts.snapshot(),
    };
    print(&report, mode, run.output, out)?;
    Ok(report)
}

/// Reads ACTIVATE into the desired state and the owned SCIM records. Also returns
/// the ACTIVATE requests made.
///
/// The SCIM listings run as a task of their own, so that a worker thread reads and
/// decodes their pages while this task decodes ACTIVATE's: at 100,000 users each
/// side's decoding is about as long as the other's round trips. The owned users are
/// listed beside the ACTIVATE read (after the SCIM `ServiceProviderConfig`, which
/// says how to page): theirs is the longest chain of pages. The owned groups are
/// listed once the snapshot was projected and dropped (beside what remains of the
/// users' listing): their pages are the largest (a page of large groups is tens of
/// megabytes), and held beside the snapshot they would set the run's peak memory;
/// their listing is short (a page per 100 groups, fetched side by side). Both
/// listings decode in the same task, which mostly stays on one worker thread, so
/// the memory one frees the other mostly reuses (with the users' listing alone in
/// a task, the groups' first page raised the 100k peak by up to 20 MiB).
///
/// The projection runs in this task: on a thread of its own it raised the 100k
/// steady state's peak memory by about 45 MiB (what one thread frees, the
/// allocator keeps for that thread).
///
/// ACTIVATE's outcome comes first: when its read fails, the listings are aborted and
/// the ACTIVATE error is the run's, whatever the SCIM side did; a SCIM error is
/// the run's only once ACTIVATE was read. Nothing is written before both sides
/// were read completely.
async fn read_sides(
    activate: &activate_client::ActivateClient,
    settings: &Settings,
    scim: &ScimClient,
) -> Result<(Desired, OwnedListings, u64)> {
    let (client_scope, core_scope) = scopes(settings.run.scope.as_ref());
    let (projected, groups_may_start) = tokio::sync::oneshot::channel::<()>();
    let listings = {
        let scim = scim.clone();
        AbortOnDrop(tokio::spawn(async move {
            // Both listings page as the `ServiceProviderConfig` says.
            learn_paging(&scim).await;
            let ids = Mutex::new(ScimIds::default());
            let users = list_owned_users(&scim, &ids);
            let groups = async {
                // A closed channel means the ACTIVATE side failed; the task is
                // being aborted and lists nothing more.
                if groups_may_start.await.is_err() {
                    return Ok(None);
                }
                list_owned_groups(&scim, &ids).await.map(Some)
            };
            tokio::try_join!(users, groups)
        }))
    };
    let snapshot = read_source(activate, settings, &client_scope).await?;
    let activate_requests = u64::from(snapshot.stats.total());
    tracing::info!(
        org = %snapshot.org,
        users = snapshot.users.len(),
        groups = snapshot.groups.len(),
        requests = activate_requests,
        "read the ACTIVATE organization"
    );
    let desired = project(&to_source(snapshot), &core_scope);
    // The snapshot is gone: the groups' pages may come.
    let _ = projected.send(());
    let (users, groups) = listings.join().await?.context(SCIM_INCOMPLETE)?;
    let groups = groups
        .context("the owned groups' listing did not start")
        .context(SCIM_INCOMPLETE)?;
    let owned = OwnedListings::new(users, groups);
    let (users, groups) = owned.counts();
    tracing::info!(users, groups, "listed the owned SCIM records");
    Ok((desired, owned, activate_requests))
}

/// A spawned task, aborted when dropped before it finished: a run that fails on
/// one side stops reading the other.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> AbortOnDrop<T> {
    /// The task's outcome; a panic in the task resumes here (so only once the
    /// caller joins: after the ACTIVATE read), and a task that the runtime
    /// cancelled (as it shuts down) is an error.
    async fn join(mut self) -> Result<T> {
        match (&mut self.0).await {
            Ok(value) => Ok(value),
            Err(error) => match error.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(error) => Err(anyhow::Error::new(error).context(SCIM_INCOMPLETE)),
            },
        }
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What a run that cannot read the target says.
const SCIM_INCOMPLETE: &str = "could not read the SCIM target completely; nothing was written";

async fn read_source(
    activate: &activate_client::ActivateClient,
    settings: &Settings,
    scope: &activate_client::Scope,
) -> Result<OrgSnapshot> {
    let snapshot = match (&settings.activate.source, settings.activate.keys_source) {
        (SourceSettings::Scim { token, url }, _) => {
            clients::scim_source(activate.clone(), token, url.as_ref())?
                .fetch_snapshot(scope)
                .await
        }
        (SourceSettings::Rest, KeysSource::Api) => activate.fetch_snapshot(scope).await,
        (SourceSettings::Rest, KeysSource::PwCli) => {
            let keys = PwCliKeys {
                program: settings.activate.pw_cli_path.clone(),
                ..PwCliKeys::default()
            };
            activate.fetch_snapshot_with(scope, &keys).await
        }
    };
    snapshot.map_err(|error| {
        let hint = hints::activate_access(&error.source, &settings.activate)
            .map_or_else(String::new, |hint| format!(" ({hint})"));
        anyhow::Error::new(error).context(format!(
            "could not read the ACTIVATE organization completely; nothing was written{hint}"
        ))
    })
}

/// Writes what follows the plan: the apply result as text, or the whole run as one
/// JSON document.
fn print(
    report: &RunReport,
    mode: Mode,
    output: Output,
    out: &mut (dyn Write + Send),
) -> Result<()> {
    match output {
        Output::Text => match &report.applied {
            Some(applied) => write_out(out, &format!("\n{}", render_report(applied))),
            None => Ok(()),
        },
        Output::Json => {
            let plan: serde_json::Value = serde_json::from_str(&report.plan.to_json())
                .context("the plan's JSON form is not JSON")?;
            let document = json!({
                "version": 1,
                "mode": mode.as_str(),
                "exit_code": report.exit.code(),
                "attributes_not_kept": report.applied.as_ref().map_or(0, |r| r.not_kept.len()),
                "plan": plan,
                "result": report.applied,
                "requests": {
                    "activate": report.activate_requests,
                    "scim": report.scim_requests,
                },
            });
            let mut text = serde_json::to_string_pretty(&document)?;
            text.push('\n');
            write_out(out, &text)
        }
    }
}

/// Writes the plan's text as it is rendered: at 100,000 creations it is tens of
/// megabytes, never held whole.
fn write_plan_text(out: &mut (dyn Write + Send), plan: &Plan) -> Result<()> {
    /// `fmt::Write` over an `io::Write`, keeping the I/O error.
    struct Text<W> {
        out: W,
        error: Option<std::io::Error>,
    }
    impl<W: Write> std::fmt::Write for Text<W> {
        fn write_str(&mut self, text: &str) -> std::fmt::Result {
            self.out.write_all(text.as_bytes()).map_err(|error| {
                self.error = Some(error);
                std::fmt::Error
            })
        }
    }
    let mut text = Text {
        out: std::io::BufWriter::new(&mut *out),
        error: None,
    };
    if plan.write_text(&mut text).is_err() {
        let error = text
            .error
            .unwrap_or_else(|| std::io::Error::other("the plan could not be rendered"));
        return Err(error).context("cannot write to stdout");
    }
    text.out.flush().context("cannot write to stdout")
}

fn write_out(out: &mut (dyn Write + Send), text: &str) -> Result<()> {
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("cannot write to stdout")
}

/// The apply report as text: counts per operation kind and outcome, then failures.
pub fn render_report(report: &ApplyReport) -> String {
    let mut out = String::from("Result:\n");
    for (kind, counts) in &report.counts {
        let attempted = counts.applied
            + counts.failed
            + counts.skipped_deadline
            + counts.skipped_aborted
            + counts.withheld;
        if attempted == 0 {
            continue;
        }
        let _ = writeln!(
            out,
            "  {kind}: {} applied, {} failed, {} skipped at the deadline, {} not started after a fatal target problem, {} withheld",
            counts.applied,
            counts.failed,
            counts.skipped_deadline,
            counts.skipped_aborted,
            counts.withheld
        );
    }
    for failure in &report.failures {
        let _ = writeln!(
            out,
            "  failed {} {}: {}",
            failure.action, failure.subject, failure.error
        );
    }
    for warning in &report.warnings {
        let _ = writeln!(
            out,
            "  warning {} {}: {}",
            warning.action, warning.subject, warning.message
        );
    }
    for not_kept in &report.not_kept {
        let _ = writeln!(out, "  warning {not_kept}");
    }
    if let Some(lost) = &report.ownership_not_kept {
        let _ = writeln!(out, "  FATAL: {lost}");
    }
    for omitted in &report.omitted_members {
        let _ = writeln!(
            out,
            "  left out of group {:?}: {} (its record could not be created or re-keyed)",
            omitted.group_name, omitted.user_name
        );
    }
    let totals = report.totals();
    let _ = writeln!(
        out,
        "Applied {} operations, {} failed, {} not started.",
        totals.applied,
        totals.failed,
        totals.skipped_deadline + totals.skipped_aborted
    );
    out
}
