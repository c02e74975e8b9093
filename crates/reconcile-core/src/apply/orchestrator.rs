//! The apply orchestrator: runs a plan's operations against a [`ScimTarget`]
//! in the design's order, with bounded concurrency and failure isolation.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use futures::StreamExt;
use futures::stream::FuturesUnordered;

use crate::apply::report::{
    ApplyFailure, ApplyReport, ApplyWarning, MarkWrite, NotKeptAttribute, OmittedMember,
    OwnershipNotKept,
};
use crate::apply::verify::{self, Difference};
use crate::apply::{
    ApplyOptions, GroupChange, NewGroupRecord, ScimTarget, TargetError, TargetErrorKind,
};
use crate::ids::{ExternalId, ScimId, SourceGroupId, SourceUserId, fold};
use crate::keys::KeySummary;
use crate::plan::{
    Action, ActionKind, CreateGroup, CreateUser, FieldChange, KeysChange, MemberRef, Operation,
    Plan, Subject, UpdateGroup, UserChange, UserPatch,
};
use crate::rules::ServerRules;

/// Applies the plan's operations that are not withheld, in this order, each
/// phase finishing before the next starts:
///
/// 1. deactivations and key revocations (least privilege, soonest);
/// 2. re-keys, reactivations and updates; renames that take a name another
///    rename frees run in a later wave than that rename; the first re-key
///    goes out alone, and the others only once its answer (or a read-back)
///    showed the new `externalId` kept;
/// 3. user creations;
/// 4. group creations and updates, with new users' SCIM ids resolved from
///    phase 3 (a member whose creation failed or was skipped is left out and
///    reported in [`ApplyReport::omitted_members`]), the ones with the most
///    member values first;
/// 5. group emptying.
///
/// Within a phase up to [`ApplyOptions::concurrency`] operations run at once.
/// A failed operation is reported and does not stop the others, except that
/// after an [`TargetErrorKind::Unauthorized`] error no further operation
/// starts. After the [`ApplyOptions::deadline`] no operation starts (those in
/// flight finish). Group member changes are sent in chunks of at most
/// [`ApplyOptions::member_chunk_size`] values.
pub async fn apply(plan: &Plan, target: &dyn ScimTarget, options: &ApplyOptions) -> ApplyReport {
    let runner = Runner {
        target,
        options,
        aborted: AtomicBool::new(false),
        creations_stopped: AtomicBool::new(false),
        users_proven: AtomicBool::new(false),
        groups_proven: AtomicBool::new(false),
        rekeys_proven: AtomicBool::new(false),
        rekeys_stopped: AtomicBool::new(false),
        group_rekeys_proven: AtomicBool::new(false),
        group_rekeys_stopped: AtomicBool::new(false),
        unkeyed: Mutex::new(HashMap::new()),
        rules: plan.server,
        read_backs: AtomicUsize::new(options.read_backs),
    };
    let mut report = ApplyReport::new();
    for op in plan.withheld() {
        report.slot(op.action.kind()).withheld += 1;
    }
    let of_kinds = |kinds: &[ActionKind]| -> Vec<&Operation> {
        plan.applicable()
            .filter(|op| kinds.contains(&op.action.kind()))
            .collect()
    };

    let deactivations = of_kinds(&[ActionKind::Deactivate, ActionKind::RevokeKeys]);
    runner.run(jobs(deactivations), &mut report).await;

    let patches = of_kinds(&[
        ActionKind::ReKey,
        ActionKind::Reactivate,
        ActionKind::UpdateUser,
    ]);
    runner.run_user_patches(patches, &mut report).await;

    let creations = of_kinds(&[ActionKind::CreateUser]);
    let mut creations = jobs(creations).into_iter();
    runner
        .prove(
            &mut creations,
            (&runner.users_proven, &runner.creations_stopped),
            &mut report,
        )
        .await;
    runner.run(creations.collect(), &mut report).await;

    let groups = of_kinds(&[ActionKind::CreateGroup, ActionKind::UpdateGroup]);
    let group_jobs = runner.group_jobs(groups, &report);
    let (creates, mut group_jobs): (Vec<Job<'_>>, Vec<Job<'_>>) = group_jobs
        .into_iter()
        .partition(|job| matches!(job.action, Action::CreateGroup(_)));
    let mut creates = creates.into_iter();
    runner
        .prove(
            &mut creates,
            (&runner.groups_proven, &runner.creations_stopped),
            &mut report,
        )
        .await;
    group_jobs.extend(creates);
    let (rekeys, mut group_jobs): (Vec<Job<'_>>, Vec<Job<'_>>) = group_jobs
        .into_iter()
        .partition(|job| matches!(job.action, Action::UpdateGroup(u) if u.rekey.is_some()));
    let mut rekeys = rekeys.into_iter();
    runner
        .prove(
            &mut rekeys,
            (&runner.group_rekeys_proven, &runner.group_rekeys_stopped),
            &mut report,
        )
        .await;
    group_jobs.extend(rekeys);
    // Longest first: a large group's chunks are sent one after another, so the
    // phase can end no sooner than its chain does; started first, it runs while
    // the small groups fill the other slots.
    group_jobs.sort_by_key(|job| std::cmp::Reverse(job.member_values()));
    runner.run(group_jobs, &mut report).await;

    let empties = of_kinds(&[ActionKind::EmptyGroup]);
    runner.run(jobs(empties), &mut report).await;

    report
        .failures
        .sort_by(|a, b| (a.action, &a.subject).cmp(&(b.action, &b.subject)));
    report.omitted_members.sort();
    report.warnings.sort();
    report.not_kept.sort();
    report
}

/// The change that empties a record's `sunkSshKeys`.
fn no_keys(removed: &[KeySummary]) -> UserChange {
    UserChange::SshKeys(KeysChange {
        old: removed.to_vec(),
        new: Vec::new(),
    })
}

struct Job<'p> {
    action: &'p Action,
    /// Resolved members to add (group creations and updates only).
    members: Vec<ScimId>,
    /// Planned members left out because their user was not created; reported
    /// if the job runs.
    omitted: Vec<OmittedMember>,
}

impl Job<'_> {
    /// How many member values the job sends (its calls grow with this).
    fn member_values(&self) -> usize {
        let removals = match self.action {
            Action::UpdateGroup(u) => u.remove.len(),
            Action::EmptyGroup(e) => e.remove.len(),
            _ => 0,
        };
        self.members.len() + removals
    }
}

fn jobs(ops: Vec<&Operation>) -> Vec<Job<'_>> {
    ops.into_iter()
        .map(|op| Job {
            action: &op.action,
            members: Vec::new(),
            omitted: Vec::new(),
        })
        .collect()
}

enum Outcome {
    Applied,
    Failed(TargetError),
    SkippedDeadline,
    SkippedAborted,
}

enum Created {
    User(SourceUserId, ScimId),
    Group(SourceGroupId, ScimId),
}

struct Done {
    kind: ActionKind,
    subject: Subject,
    outcome: Outcome,
    created: Option<Created>,
    omitted: Vec<OmittedMember>,
    warning: Option<String>,
    ownership: Option<OwnershipNotKept>,
    not_kept: Vec<Difference>,
}

/// What one executed job produced.
struct Executed {
    result: Result<(), TargetError>,
    created: Option<Created>,
    warning: Option<String>,
    ownership: Option<OwnershipNotKept>,
    not_kept: Vec<Difference>,
    /// The `externalId` of the user record the server answered or read back.
    kept_external_id: Option<ExternalId>,
}

impl Executed {
    fn applied(warning: Option<String>) -> Self {
        Self {
            result: Ok(()),
            created: None,
            warning,
            ownership: None,
            not_kept: Vec::new(),
            kept_external_id: None,
        }
    }

    fn failed(error: TargetError) -> Self {
        Self {
            result: Err(error),
            created: None,
            warning: None,
            ownership: None,
            not_kept: Vec::new(),
            kept_external_id: None,
        }
    }
}

struct Runner<'t, 'o> {
    target: &'t dyn ScimTarget,
    options: &'o ApplyOptions,
    /// Set after an authorization failure: nothing starts any more.
    aborted: AtomicBool,
    /// Set when a create's answer did not prove ownership: no create starts any more.
    creations_stopped: AtomicBool,
    /// Set once a user create's answer proved ownership.
    users_proven: AtomicBool,
    /// Set once a group create's answer proved ownership.
    groups_proven: AtomicBool,
    /// Set once a user re-key's answer (or read-back) showed the new mark kept.
    rekeys_proven: AtomicBool,
    /// Set when a user re-key's mark was not kept: no re-key starts any more.
    rekeys_stopped: AtomicBool,
    /// Set once a group re-key's answer showed the new mark kept.
    group_rekeys_proven: AtomicBool,
    /// Set when a group re-key's mark was not kept: no group is re-keyed any more.
    group_rekeys_stopped: AtomicBool,
    /// User records whose re-key did not apply (failed, not started, or the mark
    /// lost), by SCIM id: they are added to no group in this run.
    unkeyed: Mutex<HashMap<ScimId, (SourceUserId, String)>>,
    /// The rules the plan compared by; what the server kept is judged by them.
    rules: ServerRules,
    /// Read-backs left for this run.
    read_backs: AtomicUsize,
}

impl Runner<'_, '_> {
    /// Runs creations or re-keys from `jobs` one at a time until one of them
    /// proves that the server keeps the ownership mark (or they are stopped, or
    /// run out), so that a server that drops the mark costs one record, not a
    /// batch. The rest may then run concurrently.
    async fn prove<'p>(
        &self,
        jobs: &mut impl Iterator<Item = Job<'p>>,
        (proven, stopped): (&AtomicBool, &AtomicBool),
        report: &mut ApplyReport,
    ) {
        while !proven.load(Ordering::SeqCst) && !stopped.load(Ordering::SeqCst) {
            let Some(job) = jobs.next() else {
                return;
            };
            self.run(vec![job], report).await;
        }
    }

    /// The group creations and updates as jobs, their members resolved: a user
    /// created in this run by its new SCIM id; a user whose record was not
    /// created or re-keyed is left out (and reported).
    fn group_jobs<'p>(&self, groups: Vec<&'p Operation>, report: &ApplyReport) -> Vec<Job<'p>> {
        let mut group_jobs = Vec::with_capacity(groups.len());
        for op in groups {
            let (planned, subject) = match &op.action {
                Action::CreateGroup(c) => (&c.members, (&c.external_id, &c.display_name)),
                Action::UpdateGroup(u) => (&u.add, (&u.external_id, &u.display_name)),
                _ => continue,
            };
            let mut members = Vec::with_capacity(planned.len());
            let mut omitted = Vec::new();
            let unkeyed = self.unkeyed.lock().unwrap_or_else(PoisonError::into_inner);
            for member in planned {
                match member {
                    MemberRef::Existing(e) => match unkeyed.get(&e.scim_id) {
                        None => members.push(e.scim_id.clone()),
                        Some((user, user_name)) => omitted.push(OmittedMember {
                            group: subject.0.clone(),
                            group_name: subject.1.clone(),
                            user: user.clone(),
                            user_name: user_name.clone(),
                        }),
                    },
                    MemberRef::Created(c) => match report.created_users.get(&c.user) {
                        Some(id) => members.push(id.clone()),
                        None => omitted.push(OmittedMember {
                            group: subject.0.clone(),
                            group_name: subject.1.clone(),
                            user: c.user.clone(),
                            user_name: c.user_name.clone(),
                        }),
                    },
                }
            }
            drop(unkeyed);
            group_jobs.push(Job {
                action: &op.action,
                members,
                omitted,
            });
        }
        group_jobs
    }

    /// The user `PATCH`es in rename waves; in each, the re-keys prove the mark first.
    async fn run_user_patches(&self, patches: Vec<&Operation>, report: &mut ApplyReport) {
        for wave in rename_waves(patches) {
            let (rekeys, others): (Vec<Job<'_>>, Vec<Job<'_>>) = jobs(wave)
                .into_iter()
                .partition(|job| matches!(job.action, Action::ReKey(_)));
            let mut rekeys = rekeys.into_iter();
            self.prove(
                &mut rekeys,
                (&self.rekeys_proven, &self.rekeys_stopped),
                report,
            )
            .await;
            self.run(rekeys.chain(others).collect(), report).await;
        }
    }

    async fn run(&self, jobs: Vec<Job<'_>>, report: &mut ApplyReport) {
        if jobs.is_empty() {
            return;
        }
        // Each job's future is made when a slot is free and each result is recorded
        // as it comes, so a phase of many thousand jobs holds only the ones in
        // flight. (No closure or iterator adapter over the jobs: the future that
        // runs them must stay `Send` for `tokio::spawn`.)
        let limit = self.options.concurrency.max(1);
        let mut jobs = jobs.into_iter();
        let mut running = FuturesUnordered::new();
        loop {
            while running.len() < limit {
                let Some(job) = jobs.next() else { break };
                running.push(self.run_one(job));
            }
            let Some(done) = running.next().await else {
                break;
            };
            report.omitted_members.extend(done.omitted);
            if let Some(message) = done.warning {
                report.warnings.push(ApplyWarning {
                    action: done.kind,
                    subject: done.subject.clone(),
                    message,
                });
            }
            if let Some(lost) = done.ownership {
                report.ownership_not_kept.get_or_insert(lost);
            }
            for difference in done.not_kept {
                let not_kept = NotKeptAttribute {
                    subject: done.subject.clone(),
                    attribute: difference.attribute.to_owned(),
                    sent: difference.sent,
                    kept: difference.kept,
                };
                tracing::warn!(subject = %not_kept.subject, attribute = %not_kept.attribute, "{not_kept}");
                report.not_kept.push(not_kept);
            }
            match done.created {
                Some(Created::User(user, id)) => {
                    report.created_users.insert(user, id);
                }
                Some(Created::Group(group, id)) => {
                    report.created_groups.insert(group, id);
                }
                None => {}
            }
            let slot = report.slot(done.kind);
            match done.outcome {
                Outcome::Applied => slot.applied += 1,
                Outcome::SkippedDeadline => slot.skipped_deadline += 1,
                Outcome::SkippedAborted => slot.skipped_aborted += 1,
                Outcome::Failed(error) => {
                    slot.failed += 1;
                    report.failures.push(ApplyFailure {
                        action: done.kind,
                        subject: done.subject,
                        error,
                    });
                }
            }
        }
    }

    async fn run_one(&self, mut job: Job<'_>) -> Done {
        let kind = job.action.kind();
        let subject = job.action.subject();
        let creates = matches!(job.action, Action::CreateUser(_) | Action::CreateGroup(_));
        let rekeys = matches!(job.action, Action::ReKey(_));
        let skipped = if self.aborted.load(Ordering::SeqCst)
            || (creates && self.creations_stopped.load(Ordering::SeqCst))
            || (rekeys && self.rekeys_stopped.load(Ordering::SeqCst))
        {
            Some(Outcome::SkippedAborted)
        } else if self
            .options
            .deadline
            .as_ref()
            .is_some_and(super::Deadline::passed)
        {
            Some(Outcome::SkippedDeadline)
        } else {
            None
        };
        if let Some(outcome) = skipped {
            tracing::debug!(action = %kind, subject = %subject, "not started");
            if let Action::ReKey(patch) = job.action {
                self.unkeyed(patch);
            }
            return Done {
                kind,
                subject,
                outcome,
                created: None,
                omitted: Vec::new(),
                warning: None,
                ownership: None,
                not_kept: Vec::new(),
            };
        }
        let omitted = std::mem::take(&mut job.omitted);
        let executed = self.execute(job, &subject).await;
        if let Some(warning) = &executed.warning {
            tracing::warn!(action = %kind, subject = %subject, warning = %warning, "applied, with an odd answer");
        }
        let outcome = match executed.result {
            Ok(()) => {
                tracing::info!(action = %kind, subject = %subject, "applied");
                Outcome::Applied
            }
            Err(error) => {
                tracing::warn!(action = %kind, subject = %subject, error = %error, "failed");
                if error.kind == TargetErrorKind::Unauthorized {
                    self.aborted.store(true, Ordering::SeqCst);
                }
                Outcome::Failed(error)
            }
        };
        Done {
            kind,
            subject,
            outcome,
            created: executed.created,
            omitted,
            warning: executed.warning,
            ownership: executed.ownership,
            not_kept: executed.not_kept,
        }
    }

    async fn execute(&self, job: Job<'_>, subject: &Subject) -> Executed {
        match job.action {
            Action::Deactivate(d) => {
                let changes = [
                    UserChange::Active(FieldChange {
                        old: true,
                        new: false,
                    }),
                    no_keys(&d.removed_keys),
                ];
                self.patch_user(&d.scim_id, &changes).await
            }
            Action::RevokeKeys(r) => {
                let changes = [no_keys(&r.removed_keys)];
                self.patch_user(&r.scim_id, &changes).await
            }
            Action::ReKey(p) => {
                let executed = self.patch_user(&p.scim_id, &p.changes).await;
                let sent = p.changes.iter().find_map(|change| match change {
                    UserChange::ExternalId(c) => Some(&c.new),
                    _ => None,
                });
                let executed = match sent {
                    Some(sent) => Self::judge_rekey(
                        (sent, &p.scim_id),
                        (&self.rekeys_proven, &self.rekeys_stopped),
                        subject,
                        executed,
                    ),
                    None => executed,
                };
                if executed.result.is_err() {
                    self.unkeyed(p);
                }
                executed
            }
            Action::Reactivate(p) | Action::UpdateUser(p) => {
                self.patch_user(&p.scim_id, &p.changes).await
            }
            Action::CreateUser(c) => self.create_user(c, subject).await,
            Action::CreateGroup(c) => self.create_group(c, job.members, subject).await,
            Action::UpdateGroup(u) => self.update_group(u, &job.members, subject).await,
            Action::EmptyGroup(e) => {
                let remove: Vec<ScimId> = e.remove.iter().map(|m| m.scim_id.clone()).collect();
                self.patch_group(&e.scim_id, Vec::new(), &remove, &[]).await
            }
        }
    }

    /// Sends a user PATCH and checks what the server kept: from the answer when
    /// it carries the record, otherwise by reading it back while read-backs
    /// last.
    async fn patch_user(&self, id: &ScimId, changes: &[UserChange]) -> Executed {
        // An access removal and a re-key are always checked; other writes while
        // read-backs last.
        let removes_access = changes.iter().any(|change| match change {
            UserChange::Active(c) => !c.new,
            UserChange::SshKeys(c) => c.new.is_empty(),
            _ => false,
        });
        let rekeys = changes
            .iter()
            .any(|change| matches!(change, UserChange::ExternalId(_)));
        let written = match self.target.patch_user(id, changes).await {
            Ok(written) => written,
            Err(error) => return Executed::failed(error),
        };
        let kept = match written.record {
            Some(record) => Some(record),
            None if removes_access || rekeys || self.take_read_back() => {
                match self.target.read_user(id).await {
                    Ok(record) => Some(record),
                    Err(error) => {
                        tracing::debug!(%id, %error, "could not read the record back");
                        None
                    }
                }
            }
            None => None,
        };
        let not_kept = kept
            .as_ref()
            .map(|kept| verify::after_patch(changes, kept, self.rules))
            .unwrap_or_default();
        let access_kept: Vec<&Difference> = not_kept
            .iter()
            .filter(|d| removes_access && matches!(d.attribute, "active" | "sunkSshKeys"))
            .collect();
        let result = if access_kept.is_empty() {
            Ok(())
        } else {
            let what: Vec<String> = access_kept
                .iter()
                .map(|d| format!("{} sent {}, kept {}", d.attribute, d.sent, d.kept))
                .collect();
            Err(TargetError::new(
                TargetErrorKind::Other,
                format!(
                    "the server accepted the write but did not take the access away ({})",
                    what.join("; ")
                ),
            ))
        };
        Executed {
            result,
            not_kept,
            kept_external_id: kept.map(|kept| kept.external_id),
            ..Executed::applied(written.warning)
        }
    }

    /// Judges a re-key by the `externalId` the server kept: the new one kept
    /// proves the mark, so the other re-keys may run; any other value (an empty
    /// one included) stops re-keying, since a record without our mark can no
    /// longer be updated or deactivated by this tool. A re-key whose record
    /// could not be read is neither: the next user re-key goes out alone again.
    fn judge_rekey(
        (sent, scim_id): (&ExternalId, &ScimId),
        (proven, stopped): (&AtomicBool, &AtomicBool),
        subject: &Subject,
        executed: Executed,
    ) -> Executed {
        let Some(kept) = &executed.kept_external_id else {
            return executed;
        };
        if kept == sent {
            proven.store(true, Ordering::SeqCst);
            return executed;
        }
        stopped.store(true, Ordering::SeqCst);
        let lost = OwnershipNotKept {
            subject: subject.clone(),
            write: MarkWrite::ReKey,
            sent: sent.clone(),
            kept: Some(kept.as_str().to_owned()).filter(|k| !k.is_empty()),
            scim_id: Some(scim_id.clone()),
        };
        Executed {
            result: Err(TargetError::new(
                TargetErrorKind::OwnershipNotKept,
                lost.to_string(),
            )),
            ownership: Some(lost),
            ..executed
        }
    }

    /// Notes a user re-key that did not apply: its record joins no group.
    fn unkeyed(&self, patch: &UserPatch) {
        self.unkeyed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                patch.scim_id.clone(),
                (patch.user.clone(), patch.user_name.clone()),
            );
    }

    fn take_read_back(&self) -> bool {
        self.read_backs
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    /// Creates a user. Until a create has proven that the server keeps the
    /// ownership mark, the record goes out disarmed (inactive, without keys)
    /// and is armed by a PATCH once proven: a record the tool cannot manage
    /// never grants access.
    async fn create_user(&self, create: &CreateUser, subject: &Subject) -> Executed {
        let proving = !self.users_proven.load(Ordering::SeqCst);
        let mut record = create.record.clone();
        if proving {
            record.active = false;
            record.ssh_keys = Vec::new();
        }
        let written = match self.target.create_user(&record).await {
            Ok(written) => written,
            Err(error) => return Executed::failed(error),
        };
        let kept = written
            .record
            .as_ref()
            .map(|r| (&r.scim_id, &r.external_id));
        let id = match Self::proven_id(subject, &record.external_id, kept, &self.users_proven) {
            Ok(id) => id,
            Err(lost) => return self.not_owned(*lost, written.warning),
        };
        let mut not_kept = written
            .record
            .as_ref()
            .map(|kept| verify::after_create(&record, kept, self.rules))
            .unwrap_or_default();
        let mut executed = if proving {
            let mut arm = Vec::with_capacity(2);
            if !create.record.ssh_keys.is_empty() {
                arm.push(UserChange::SshKeys(KeysChange {
                    old: Vec::new(),
                    new: create.record.ssh_keys.clone(),
                }));
            }
            arm.push(UserChange::Active(FieldChange {
                old: false,
                new: create.record.active,
            }));
            self.patch_user(&id, &arm).await
        } else {
            Executed::applied(None)
        };
        not_kept.append(&mut executed.not_kept);
        Executed {
            created: Some(Created::User(create.user.clone(), id)),
            not_kept,
            warning: written.warning.or(executed.warning),
            ..executed
        }
    }

    /// Checks that a create's answer names a record (a non-empty id) that
    /// carries the `externalId` that was sent, and returns its id.
    fn proven_id(
        subject: &Subject,
        sent: &ExternalId,
        kept: Option<(&ScimId, &ExternalId)>,
        proven: &AtomicBool,
    ) -> Result<ScimId, Box<OwnershipNotKept>> {
        match kept {
            Some((id, external_id)) if external_id == sent && !id.as_str().trim().is_empty() => {
                proven.store(true, Ordering::SeqCst);
                Ok(id.clone())
            }
            _ => Err(Box::new(OwnershipNotKept {
                subject: subject.clone(),
                write: MarkWrite::Create,
                sent: sent.clone(),
                kept: kept
                    .map(|(_, e)| e.as_str().to_owned())
                    .filter(|e| !e.is_empty()),
                scim_id: kept
                    .map(|(id, _)| id.clone())
                    .filter(|id| !id.as_str().trim().is_empty()),
            })),
        }
    }

    /// Stops all creation: the server does not keep the ownership mark.
    fn not_owned(&self, lost: OwnershipNotKept, warning: Option<String>) -> Executed {
        self.creations_stopped.store(true, Ordering::SeqCst);
        let error = TargetError::new(TargetErrorKind::OwnershipNotKept, lost.to_string());
        Executed {
            warning,
            ownership: Some(lost),
            ..Executed::failed(error)
        }
    }

    async fn create_group(
        &self,
        group: &CreateGroup,
        mut members: Vec<ScimId>,
        subject: &Subject,
    ) -> Executed {
        // Until a group create has proven ownership, members are added only
        // after the proof: a group the tool cannot manage never grants access.
        let chunk = if self.groups_proven.load(Ordering::SeqCst) {
            self.options.member_chunk_size.max(1)
        } else {
            0
        };
        let rest = members.split_off(members.len().min(chunk));
        let record = NewGroupRecord {
            external_id: group.external_id.clone(),
            display_name: group.display_name.clone(),
            members,
        };
        let written = match self.target.create_group(&record).await {
            Ok(written) => written,
            Err(error) => return Executed::failed(error),
        };
        let kept = written
            .record
            .as_ref()
            .map(|r| (&r.scim_id, &r.external_id));
        let id = match Self::proven_id(subject, &record.external_id, kept, &self.groups_proven) {
            Ok(id) => id,
            Err(lost) => return self.not_owned(*lost, written.warning),
        };
        let mut rest = self.patch_group(&id, Vec::new(), &[], &rest).await;
        rest.created = Some(Created::Group(group.group.clone(), id));
        rest.warning = written.warning.or(rest.warning);
        rest
    }

    /// Updates a group. A re-key goes out first, alone (with any rename), and
    /// members are added only once its answer showed the new mark kept: a group
    /// the tool can no longer manage never gains access. Removals go out
    /// whatever the re-key's fate.
    async fn update_group(
        &self,
        update: &UpdateGroup,
        add: &[ScimId],
        subject: &Subject,
    ) -> Executed {
        let remove: Vec<ScimId> = update.remove.iter().map(|m| m.scim_id.clone()).collect();
        let rename = update
            .rename
            .as_ref()
            .map(|rename| GroupChange::DisplayName(rename.new.clone()));
        let Some(rekey) = &update.rekey else {
            return self
                .patch_group(&update.scim_id, rename.into_iter().collect(), &remove, add)
                .await;
        };
        if self.group_rekeys_stopped.load(Ordering::SeqCst) {
            let removed = self
                .patch_group(&update.scim_id, Vec::new(), &remove, &[])
                .await;
            let error = TargetError::new(
                TargetErrorKind::Other,
                "not re-keyed: an earlier group re-key lost the ownership mark; only member \
                 removals were sent",
            );
            return Executed {
                result: removed.result.and(Err(error)),
                ..removed
            };
        }
        let mut head = vec![GroupChange::ExternalId(rekey.new.clone())];
        head.extend(rename);
        let first = self.patch_group(&update.scim_id, head, &[], &[]).await;
        let first = Self::judge_rekey(
            (&rekey.new, &update.scim_id),
            (&self.group_rekeys_proven, &self.group_rekeys_stopped),
            subject,
            first,
        );
        // Without a readable answer the mark is unproven: removals only, and the
        // additions wait for the next run (which sees the group under its new key).
        let proven = first.kept_external_id.is_some() && first.result.is_ok();
        let waiting = (!proven && first.result.is_ok() && !add.is_empty()).then(|| {
            format!(
                "{} members not added: the answer to the re-key carried no record, so the \
                 new externalId is unproven; the next run adds them",
                add.len()
            )
        });
        let add = if proven { add } else { &[] };
        let rest = self
            .patch_group(&update.scim_id, Vec::new(), &remove, add)
            .await;
        Executed {
            result: first.result.and(rest.result),
            warning: first.warning.or(waiting).or(rest.warning),
            ownership: first.ownership,
            ..Executed::applied(None)
        }
    }

    /// Sends a re-key, a rename and member changes as PATCH calls carrying at
    /// most one chunk of member values each (removals before additions, the
    /// `head` changes in the first call); stops at the first failure. Keeps the first warning.
    async fn patch_group(
        &self,
        id: &ScimId,
        head: Vec<GroupChange>,
        remove: &[ScimId],
        add: &[ScimId],
    ) -> Executed {
        let mut warning = None;
        let mut kept_external_id = None;
        for call in group_calls(head, remove, add, self.options.member_chunk_size.max(1)) {
            match self.target.patch_group(id, &call).await {
                Ok(written) => {
                    warning = warning.or(written.warning);
                    if let Some(record) = written.record {
                        kept_external_id = Some(record.external_id);
                    }
                }
                Err(error) => {
                    return Executed {
                        warning,
                        kept_external_id,
                        ..Executed::failed(error)
                    };
                }
            }
        }
        Executed {
            kept_external_id,
            ..Executed::applied(warning)
        }
    }
}

/// Packs the `head` changes (re-key, rename) and member changes into PATCH
/// calls of at most `chunk` member values each, `head` first.
fn group_calls(
    head: Vec<GroupChange>,
    remove: &[ScimId],
    add: &[ScimId],
    chunk: usize,
) -> Vec<Vec<GroupChange>> {
    let mut calls: Vec<Vec<GroupChange>> = Vec::new();
    let mut room = 0;
    let tagged = remove
        .iter()
        .map(|id| (true, id))
        .chain(add.iter().map(|id| (false, id)));
    for (removal, id) in tagged {
        if room == 0 {
            calls.push(Vec::new());
            room = chunk;
        }
        room -= 1;
        let call = calls.last_mut().expect("a call was just pushed");
        match (call.last_mut(), removal) {
            (Some(GroupChange::RemoveMembers(ids)), true)
            | (Some(GroupChange::AddMembers(ids)), false) => ids.push(id.clone()),
            (_, true) => call.push(GroupChange::RemoveMembers(vec![id.clone()])),
            (_, false) => call.push(GroupChange::AddMembers(vec![id.clone()])),
        }
    }
    if !head.is_empty() {
        match calls.first_mut() {
            Some(first) => {
                first.splice(0..0, head);
            }
            None => calls.push(head),
        }
    }
    calls
}

/// Splits user patches into waves so that a rename into a name another patch
/// renames away runs after it. Plan order is kept within a wave.
fn rename_waves(patches: Vec<&Operation>) -> Vec<Vec<&Operation>> {
    let renames: Vec<Option<(String, String)>> = patches
        .iter()
        .map(|op| match &op.action {
            Action::ReKey(p) | Action::Reactivate(p) | Action::UpdateUser(p) => {
                p.changes.iter().find_map(|change| match change {
                    UserChange::UserName(c) if fold(&c.old) != fold(&c.new) => {
                        Some((fold(&c.old).into_owned(), fold(&c.new).into_owned()))
                    }
                    _ => None,
                })
            }
            _ => None,
        })
        .collect();
    let by_old: HashMap<&str, usize> = renames
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.as_ref().map(|(old, _)| (old.as_str(), i)))
        .collect();
    let depends_on = |i: usize| -> Option<usize> {
        let (_, new) = renames[i].as_ref()?;
        by_old.get(new.as_str()).copied().filter(|&j| j != i)
    };

    let mut level: Vec<Option<usize>> = vec![None; patches.len()];
    for start in 0..patches.len() {
        let mut path = Vec::new();
        let mut current = Some(start);
        let base = loop {
            match current {
                None => break 0,
                Some(i) if level[i].is_some() => break level[i].unwrap_or(0) + 1,
                // A cycle (the planner reports those as conflicts): run in order.
                Some(i) if path.contains(&i) => break 0,
                Some(i) => {
                    path.push(i);
                    current = depends_on(i);
                }
            }
        };
        let mut next = base;
        while let Some(i) = path.pop() {
            if level[i].is_none() {
                level[i] = Some(next);
            }
            next = level[i].unwrap_or(0) + 1;
        }
    }
    let depth = level.iter().flatten().max().map_or(0, |m| m + 1);
    let mut waves: Vec<Vec<&Operation>> = vec![Vec::new(); depth];
    for (op, level) in patches.into_iter().zip(level) {
        waves[level.unwrap_or(0)].push(op);
    }
    waves
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(names: &[&str]) -> Vec<ScimId> {
        names.iter().map(|n| ScimId::new(*n)).collect()
    }

    #[test]
    fn group_calls_pack_chunks_removals_first() {
        let calls = group_calls(
            vec![GroupChange::DisplayName("new".into())],
            &ids(&["r1", "r2", "r3"]),
            &ids(&["a1", "a2"]),
            2,
        );
        assert_eq!(
            calls,
            vec![
                vec![
                    GroupChange::DisplayName("new".into()),
                    GroupChange::RemoveMembers(ids(&["r1", "r2"])),
                ],
                vec![
                    GroupChange::RemoveMembers(ids(&["r3"])),
                    GroupChange::AddMembers(ids(&["a1"])),
                ],
                vec![GroupChange::AddMembers(ids(&["a2"]))],
            ]
        );
        assert_eq!(
            group_calls(vec![GroupChange::DisplayName("x".into())], &[], &[], 100),
            vec![vec![GroupChange::DisplayName("x".into())]]
        );
        assert!(group_calls(Vec::new(), &[], &[], 100).is_empty());
        assert_eq!(
            group_calls(Vec::new(), &ids(&["r"]), &ids(&["a"]), 100),
            vec![vec![
                GroupChange::RemoveMembers(ids(&["r"])),
                GroupChange::AddMembers(ids(&["a"])),
            ]]
        );
    }
}
