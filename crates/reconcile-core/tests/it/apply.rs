//! The apply orchestrator: order, isolation, deadline, abort, chunking, waves.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use reconcile_core::{
    ActionKind, ApplyOptions, Clock, Conflict, DeactivationLimit, Deadline, ExternalId, FailOn,
    FieldChange, GroupChange, InMemoryTarget, ManualClock, MarkWrite, OutcomeCounts, OwnedUser,
    ScimId, ScimTarget, TargetCall, TargetError, TargetErrorKind, UserChange, apply,
};

use crate::support::{Around, Org, Wrapped, Write, YieldOnce};

fn run(org: &Org, target: &dyn ScimTarget, options: &ApplyOptions) -> reconcile_core::ApplyReport {
    futures::executor::block_on(apply(&org.plan(), target, options))
}

fn sequential() -> ApplyOptions {
    ApplyOptions {
        concurrency: 1,
        ..ApplyOptions::default()
    }
}

fn counts(
    applied: usize,
    failed: usize,
    skipped_deadline: usize,
    skipped_aborted: usize,
) -> OutcomeCounts {
    OutcomeCounts {
        applied,
        failed,
        skipped_deadline,
        skipped_aborted,
        withheld: 0,
    }
}

fn id_of(target: &InMemoryTarget, user_name: &str) -> ScimId {
    target
        .users()
        .into_iter()
        .find(|(_, u)| u.user_name == user_name)
        .map(|(id, _)| id)
        .expect("user exists")
}

fn group_id(target: &InMemoryTarget, name: &str) -> ScimId {
    target
        .groups()
        .into_iter()
        .find(|(_, g)| g.display_name == name)
        .map(|(id, _)| id)
        .expect("group exists")
}

#[test]
fn phases_run_in_the_designed_order() {
    let mut org = Org::new();
    org.user("1", "alice", "Alice");
    org.user("2", "bob", "Bob");
    org.user("3", "carol", "Carol");
    org.group("g1", "gpu", &["1", "2"]);
    org.group("g2", "cpu", &["3"]);
    org.sync();
    let calls_before = org.target.calls().len();
    org.user_mut("2").active = false;
    org.user_mut("1").email = "a@example.com".into();
    org.user("4", "dan", "Dan");
    org.group_mut("g1").members.push("4".into());
    org.group("g3", "tpu", &["1"]);
    org.snapshot.groups.retain(|g| g.id.as_str() != "g2");

    let report = run(&org, &org.target, &sequential());
    assert!(report.is_complete(), "{report:#?}");
    let t = &org.target;
    let calls = t.calls()[calls_before..].to_vec();
    assert_eq!(
        calls,
        vec![
            TargetCall::PatchUser(id_of(t, "bob")),
            TargetCall::PatchUser(id_of(t, "alice")),
            // The first creation of each kind goes out alone and disarmed
            // (inactive, no keys; no members) until its answer proves that the
            // server keeps the ownership mark, then a PATCH arms it.
            TargetCall::CreateUser("dan".into()),
            TargetCall::PatchUser(id_of(t, "dan")),
            TargetCall::CreateGroup("tpu".into()),
            TargetCall::PatchGroup(group_id(t, "tpu")),
            // Then gpu, which loses bob and gains dan.
            TargetCall::PatchGroup(group_id(t, "gpu")),
            TargetCall::PatchGroup(group_id(t, "cpu")),
        ]
    );
    assert_eq!(report.created_users.len(), 1);
    assert_eq!(report.created_groups.len(), 1);
    assert!(org.plan().is_converged());
}

#[test]
fn a_failed_creation_is_isolated_and_its_memberships_reported() {
    let mut org = Org::new();
    org.user("1", "alice", "Alice");
    org.user("2", "bob", "Bob");
    org.user("3", "carol", "Carol");
    org.group("g1", "gpu", &["1", "2", "3"]);
    org.target.fail(
        FailOn::CreateUser("BOB".into()),
        TargetError::new(
            TargetErrorKind::Invalid,
            "POST /Users gave 400 invalidValue",
        ),
    );
    let report = run(&org, &org.target, &ApplyOptions::default());
    assert_eq!(report.counts[&ActionKind::CreateUser], counts(2, 1, 0, 0));
    assert_eq!(report.counts[&ActionKind::CreateGroup], counts(1, 0, 0, 0));
    assert_eq!(report.failures.len(), 1);
    let failure = &report.failures[0];
    assert_eq!(failure.action, ActionKind::CreateUser);
    assert_eq!(failure.subject.name, "bob");
    assert_eq!(failure.error.kind, TargetErrorKind::Invalid);
    assert_eq!(failure.error.message, "POST /Users gave 400 invalidValue");
    assert_eq!(report.omitted_members.len(), 1);
    assert_eq!(report.omitted_members[0].user_name, "bob");
    assert_eq!(report.omitted_members[0].group_name, "gpu");
    assert!(!report.is_complete());
    let members = &org.target.groups()[&report.created_groups["g1"]].members;
    assert_eq!(members.len(), 2);
    // The next run plans exactly what is missing.
    let again = org.plan();
    let kinds: Vec<ActionKind> = again.applicable().map(|op| op.action.kind()).collect();
    assert_eq!(kinds, vec![ActionKind::CreateUser, ActionKind::UpdateGroup]);
}

/// Advances a clock by one second on every write it passes through.
struct Ticking(Arc<ManualClock>);

#[async_trait]
impl Around for Ticking {
    async fn before(&self, _write: Write<'_>) {
        self.0.advance(Duration::from_secs(1));
    }
}

#[test]
fn no_operation_starts_after_the_deadline() {
    let mut org = Org::new();
    let ids: Vec<String> = (1..=6).map(|i| i.to_string()).collect();
    for id in &ids {
        org.user(id, &format!("user{id}"), "");
    }
    org.group(
        "g1",
        "gpu",
        &ids.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let clock = Arc::new(ManualClock::new());
    let target = Wrapped {
        inner: &org.target,
        around: Ticking(Arc::clone(&clock)),
    };
    let options = ApplyOptions {
        concurrency: 1,
        deadline: Some(Deadline {
            clock: clock.clone() as Arc<dyn Clock>,
            at: Duration::from_millis(2500),
        }),
        ..ApplyOptions::default()
    };
    let report = run(&org, &target, &options);
    // The first create (POST, then the PATCH that arms it once ownership is
    // proven) starts at t=0s, the second at 2s; at 3s the deadline has passed.
    assert_eq!(report.counts[&ActionKind::CreateUser], counts(2, 0, 4, 0));
    assert_eq!(report.counts[&ActionKind::CreateGroup], counts(0, 0, 1, 0));
    assert_eq!(org.target.calls().len(), 3);
    assert_eq!(org.target.users().len(), 2);
    assert!(report.omitted_members.is_empty(), "the group job never ran");
    assert!(!report.is_complete());
    assert_eq!(clock.now(), Duration::from_secs(3));
}

#[test]
fn an_unauthorized_error_stops_new_operations() {
    let mut org = Org::new();
    for id in ["1", "2", "3"] {
        org.user(id, &format!("user{id}"), "");
    }
    org.sync();
    for id in ["1", "2", "3"] {
        org.user_mut(id).active = false;
    }
    org.user("4", "newbie", "");
    let first = id_of(&org.target, "user1");
    org.target.fail(
        FailOn::PatchUser(first),
        TargetError::new(TargetErrorKind::Unauthorized, "PATCH gave 401"),
    );
    let report = run(&org, &org.target, &sequential());
    assert_eq!(report.counts[&ActionKind::Deactivate], counts(0, 1, 0, 2));
    assert_eq!(report.counts[&ActionKind::CreateUser], counts(0, 0, 0, 1));
    assert_eq!(report.failures.len(), 1);
}

#[test]
fn groups_with_the_most_member_values_start_first() {
    let mut org = Org::new();
    let ids: Vec<String> = (1..=6).map(|i| i.to_string()).collect();
    for id in &ids {
        org.user(id, &format!("user{id}"), "");
    }
    // Plan order is by group id; sizes 1, 5 and 3.
    org.group("g1", "small", &["1"]);
    org.group("g2", "large", &["1", "2", "3", "4", "5"]);
    org.group("g3", "medium", &["4", "5", "6"]);
    let report = run(&org, &org.target, &sequential());
    assert!(report.is_complete(), "{report:#?}");
    let created: Vec<TargetCall> = org
        .target
        .calls()
        .into_iter()
        .filter(|call| matches!(call, TargetCall::CreateGroup(_)))
        .collect();
    assert_eq!(
        created,
        vec![
            TargetCall::CreateGroup("large".into()),
            TargetCall::CreateGroup("medium".into()),
            TargetCall::CreateGroup("small".into()),
        ]
    );
}

#[test]
fn group_member_changes_are_sent_in_chunks() {
    let mut org = Org::new();
    let ids: Vec<String> = (1..=5).map(|i| i.to_string()).collect();
    for id in &ids {
        org.user(id, &format!("user{id}"), "");
    }
    org.group(
        "g1",
        "gpu",
        &ids.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let options = ApplyOptions {
        concurrency: 1,
        member_chunk_size: 2,
        ..ApplyOptions::default()
    };
    let report = run(&org, &org.target, &options);
    assert!(report.is_complete());
    let gpu = report.created_groups["g1"].clone();
    // 5 user POSTs and the PATCH that arms the first once it proved ownership.
    let group_calls: Vec<TargetCall> = org.target.calls()[6..].to_vec();
    // The first group create goes out without members (it proves ownership
    // first); the 5 members follow in chunks of 2.
    assert_eq!(
        group_calls,
        vec![
            TargetCall::CreateGroup("gpu".into()),
            TargetCall::PatchGroup(gpu.clone()),
            TargetCall::PatchGroup(gpu.clone()),
            TargetCall::PatchGroup(gpu.clone()),
        ]
    );
    assert_eq!(org.target.groups()[&gpu].members.len(), 5);

    // Rename, remove 3 and add 1 (4 values, chunks of 2): two calls, removals
    // first, the rename in the first one.
    org.user("6", "user6", "");
    let group = org.group_mut("g1");
    group.name = "gpu-users".into();
    group.members = vec!["1".into(), "2".into(), "6".into()];
    let before = org.target.calls().len();
    let report = run(&org, &org.target, &options);
    assert!(report.is_complete());
    assert_eq!(
        org.target.calls().len() - before,
        4,
        "1 create (POST and arming PATCH) + 2 group calls"
    );
    assert_eq!(org.target.groups()[&gpu].display_name, "gpu-users");
    assert_eq!(org.target.groups()[&gpu].members.len(), 3);
    assert!(org.plan().is_converged());
}

#[test]
fn withheld_operations_are_counted_and_not_sent() {
    let mut org = Org::new();
    for id in ["1", "2", "3"] {
        org.user(id, &format!("user{id}"), "");
    }
    org.sync();
    org.user_mut("1").active = false;
    org.user_mut("2").active = false;
    org.options.deactivation_limit = Some(DeactivationLimit::Absolute(1));
    let before = org.target.calls().len();
    let report = run(&org, &org.target, &ApplyOptions::default());
    assert_eq!(
        report.counts[&ActionKind::Deactivate],
        OutcomeCounts {
            withheld: 2,
            ..OutcomeCounts::default()
        }
    );
    assert!(report.is_complete());
    assert_eq!(org.target.calls().len(), before);
}

/// Completes later-started calls first: write k yields (8 - k) times before
/// reaching the inner target, so concurrent writes finish in reverse order.
struct Reversing(AtomicUsize);

#[async_trait]
impl Around for Reversing {
    async fn before(&self, _write: Write<'_>) {
        let k = self.0.fetch_add(1, Ordering::SeqCst);
        for _ in 0..8usize.saturating_sub(k) {
            YieldOnce::new().await;
        }
    }
}

#[test]
fn renames_that_free_a_name_finish_before_the_rename_that_takes_it() {
    let mut org = Org::new();
    for (id, name) in [("1", "a"), ("2", "b"), ("3", "c"), ("4", "d")] {
        org.user(id, name, "");
    }
    org.sync();
    // d → e, c → d, b → c, a → b: a chain of four, plus a new "a".
    for (id, name) in [("4", "e"), ("3", "d"), ("2", "c"), ("1", "b")] {
        org.user_mut(id).username = name.into();
    }
    org.user("5", "a", "");
    let target = Wrapped {
        inner: &org.target,
        around: Reversing(AtomicUsize::new(0)),
    };
    let options = ApplyOptions {
        concurrency: 8,
        ..ApplyOptions::default()
    };
    let report = run(&org, &target, &options);
    assert!(report.is_complete(), "{report:#?}");
    assert_eq!(report.counts[&ActionKind::UpdateUser], counts(4, 0, 0, 0));
    assert!(org.plan().is_converged());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_runs_under_a_multi_threaded_runtime() {
    let mut org = Org::new();
    let ids: Vec<String> = (1..=40).map(|i| i.to_string()).collect();
    for id in &ids {
        org.user(id, &format!("user{id}"), "Some Body");
    }
    org.group(
        "g1",
        "all",
        &ids.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let plan = org.plan();
    let options = ApplyOptions {
        concurrency: 16,
        ..ApplyOptions::default()
    };
    let report = tokio::spawn({
        let target = Arc::new(InMemoryTarget::new());
        let plan = plan.clone();
        async move {
            let report = apply(&plan, target.as_ref(), &options).await;
            (report, target.observed())
        }
    })
    .await
    .expect("the task completes");
    let (report, observed) = report;
    assert!(report.is_complete());
    assert_eq!(report.created_users.len(), 40);
    let again = reconcile_core::plan(&org.desired(), &observed, &org.options);
    assert!(again.is_converged());
}

/// Logs when each create starts and ends, yielding in between so that
/// concurrent operations interleave.
struct Logging(Mutex<Vec<String>>);

impl Logging {
    fn note(&self, event: String) {
        self.0.lock().expect("not poisoned").push(event);
    }
}

#[async_trait]
impl Around for Logging {
    async fn before(&self, write: Write<'_>) {
        match write {
            Write::CreateUser(user) => {
                self.note(format!("start {}", user.user_name));
                for _ in 0..4 {
                    YieldOnce::new().await;
                }
                self.note(format!("end {}", user.user_name));
            }
            Write::CreateGroup(group) => {
                self.note(format!("start group {}", group.display_name));
                YieldOnce::new().await;
                self.note(format!("end group {}", group.display_name));
            }
            Write::PatchUser | Write::PatchGroup => {}
        }
    }
}

#[test]
fn the_first_create_goes_out_alone_and_the_rest_run_concurrently_once_it_proved_ownership() {
    let mut org = Org::new();
    for id in 1..=5 {
        org.user(&id.to_string(), &format!("user{id}"), "");
    }
    org.group("g1", "gpu", &["1"]);
    org.group("g2", "cpu", &["2"]);
    org.group("g3", "tpu", &["3"]);
    let target = Wrapped {
        inner: &org.target,
        around: Logging(Mutex::new(Vec::new())),
    };
    let options = ApplyOptions {
        concurrency: 4,
        ..ApplyOptions::default()
    };
    let report = run(&org, &target, &options);
    assert!(report.is_complete(), "{report:#?}");
    let log = target.around.0.into_inner().expect("not poisoned");
    assert_eq!(log[..2], ["start user1", "end user1"], "{log:#?}");
    // Then the other four overlap.
    assert_eq!(
        log[2..6],
        ["start user2", "start user3", "start user4", "start user5"],
        "{log:#?}"
    );
    // Groups prove ownership once more, on their own first create.
    let groups: Vec<&String> = log.iter().filter(|e| e.contains("group")).collect();
    assert_eq!(groups[0], "start group cpu", "{log:#?}");
    assert_eq!(groups[1], "end group cpu", "{log:#?}");
    assert!(org.plan().is_converged());
}

#[test]
fn a_server_that_drops_the_ownership_mark_costs_one_record_and_no_duplicate() {
    let mut org = Org::new();
    for id in 1..=4 {
        org.user(&id.to_string(), &format!("user{id}"), "");
    }
    org.group("g1", "gpu", &["1", "2"]);
    org.target.drop_external_ids_on_create();
    let report = run(&org, &org.target, &sequential());
    let lost = report
        .ownership_not_kept
        .as_ref()
        .expect("ownership not proven");
    assert_eq!(lost.subject.name, "user1");
    assert_eq!(lost.sent.as_str(), "pw-activate:user:1");
    assert_eq!(lost.kept, None);
    assert!(lost.scim_id.is_some());
    assert!(
        lost.to_string().contains("did not keep the ownership mark"),
        "{lost}"
    );
    assert!(!report.is_complete());
    assert_eq!(report.counts[&ActionKind::CreateUser], counts(0, 1, 0, 3));
    assert_eq!(report.counts[&ActionKind::CreateGroup], counts(0, 0, 0, 1));
    assert_eq!(
        report.failures[0].error.kind,
        TargetErrorKind::OwnershipNotKept
    );
    assert!(
        report.created_users.is_empty(),
        "an unowned record is never used"
    );
    assert_eq!(
        org.target.calls(),
        vec![TargetCall::CreateUser("user1".into())],
        "one POST, then none"
    );
    // The next run sees user1's record as someone else's: a conflict, not a second copy.
    let again = org.plan();
    assert!(
        again
            .conflicts
            .iter()
            .any(|c| matches!(c, Conflict::ForeignUserName { user } if user.user_name == "user1"))
    );
    let report = run(&org, &org.target, &sequential());
    assert!(report.ownership_not_kept.is_some());
    let user1_records = org
        .target
        .users()
        .values()
        .filter(|u| u.user_name == "user1")
        .count();
    assert_eq!(user1_records, 1);
    assert_eq!(
        org.target.users().len(),
        2,
        "one more record per run at most"
    );
}

/// Answers every user PATCH with `204 No Content`, so what was kept must be
/// read back; counts the reads.
struct NoContent(AtomicUsize);

impl Around for NoContent {
    fn answers_user_patches(&self) -> bool {
        false
    }

    fn before_read(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn an_attribute_the_server_does_not_keep_is_reported_and_the_writes_do_not_grow() {
    let mut org = Org::new();
    for id in 1..=4 {
        org.user(
            &id.to_string(),
            &format!("user{id}"),
            &format!("User Number{id}"),
        );
    }
    org.target.drop_formatted_names();
    // Creations: the answer carries the record, so each is checked from it.
    let report = run(&org, &org.target, &sequential());
    assert!(report.is_complete(), "{report:#?}");
    assert_eq!(report.not_kept.len(), 4);
    let first = &report.not_kept[0];
    assert_eq!(first.attribute, "name.formatted");
    assert_eq!(first.sent, "\"User Number1\"");
    assert_eq!(first.kept, "(none)");
    assert!(
        first
            .to_string()
            .ends_with("this will be sent again on every run"),
        "{first}"
    );

    // Later runs PATCH it again, the same number of writes each time; answered
    // 204, the records are read back, at most `read_backs` of them.
    let target = Wrapped {
        inner: &org.target,
        around: NoContent(AtomicUsize::new(0)),
    };
    let options = ApplyOptions {
        read_backs: 3,
        ..sequential()
    };
    let mut writes = Vec::new();
    for _ in 0..3 {
        let calls = org.target.calls().len();
        let report = run(&org, &target, &options);
        assert!(report.is_complete(), "{report:#?}");
        assert_eq!(
            report.not_kept.len(),
            3,
            "three read back, the fourth not checked"
        );
        writes.push(org.target.calls().len() - calls);
    }
    assert_eq!(writes, vec![4, 4, 4]);
    assert_eq!(target.around.0.load(Ordering::SeqCst), 9);
}

/// Carries out every PATCH but empties the `externalId` it sets (a server
/// that drops the attribute on replace).
struct DropsExternalIdOnPatch;

impl Around for DropsExternalIdOnPatch {
    fn carried_out(&self, changes: &[UserChange]) -> Vec<UserChange> {
        changes
            .iter()
            .map(|change| match change {
                UserChange::ExternalId(c) => UserChange::ExternalId(FieldChange {
                    old: c.old.clone(),
                    new: ExternalId::new(""),
                }),
                other => other.clone(),
            })
            .collect()
    }

    fn group_carried_out(&self, changes: &[GroupChange]) -> Vec<GroupChange> {
        changes
            .iter()
            .map(|change| match change {
                GroupChange::ExternalId(_) => GroupChange::ExternalId(ExternalId::new("")),
                other => other.clone(),
            })
            .collect()
    }
}

/// Applies `org`'s plan to a server that empties the `externalId` a PATCH sets.
fn run_dropping_external_ids(org: &Org) -> reconcile_core::ApplyReport {
    let target = Wrapped {
        inner: &org.target,
        around: DropsExternalIdOnPatch,
    };
    run(org, &target, &ApplyOptions::default())
}

/// Three users whose records carry keys of an earlier scheme.
fn org_with_old_keys() -> Org {
    let mut org = Org::new();
    for id in 1..=3 {
        org.user(&id.to_string(), &format!("user{id}"), "");
        org.target
            .insert_user(OwnedUser {
                external_id: ExternalId::new(format!("pw-activate:user:old-{id}")),
                user_name: format!("user{id}"),
                active: true,
                ..OwnedUser::default()
            })
            .unwrap();
    }
    org
}

#[test]
fn a_server_that_drops_the_mark_on_a_rekey_costs_one_record() {
    let org = org_with_old_keys();
    let plan = org.plan();
    let rekeys = plan
        .applicable()
        .filter(|op| op.action.kind() == ActionKind::ReKey)
        .count();
    assert_eq!(rekeys, 3);

    let report = run_dropping_external_ids(&org);
    let lost = report
        .ownership_not_kept
        .as_ref()
        .expect("the lost mark is reported");
    assert_eq!(lost.write, MarkWrite::ReKey);
    assert_eq!(lost.sent.as_str(), "pw-activate:user:1");
    assert_eq!(lost.kept, None);
    assert!(
        lost.to_string().contains(
            "was re-keyed to externalId \"pw-activate:user:1\" and the server kept no externalId"
        ),
        "{lost}"
    );
    assert_eq!(report.counts[&ActionKind::ReKey], counts(0, 1, 0, 2));
    assert_eq!(
        report.failures[0].error.kind,
        TargetErrorKind::OwnershipNotKept
    );
    assert_eq!(
        org.target.calls().len(),
        1,
        "the first re-key goes alone; the others never start: {:?}",
        org.target.calls()
    );
}

#[test]
fn a_kept_rekey_lets_the_others_run() {
    let org = org_with_old_keys();
    let report = run(&org, &org.target, &ApplyOptions::default());
    assert_eq!(report.ownership_not_kept, None);
    assert_eq!(report.counts[&ActionKind::ReKey], counts(3, 0, 0, 0));
    assert!(org.plan().is_converged());
}

#[test]
fn a_group_rekey_whose_mark_is_not_kept_gains_nobody_and_stops_the_others() {
    let mut org = Org::new();
    org.user("1", "alice", "Alice");
    org.user("2", "bob", "Bob");
    org.group("g1", "gpu", &["1"]);
    org.group("g2", "cpu", &["1"]);
    org.sync();
    // Both groups' ACTIVATE ids change, and bob joins both.
    for (id, new) in [("g1", "scim-g1"), ("g2", "scim-g2")] {
        let group = org.group_mut(id);
        group.id = new.into();
        group.members.push("2".into());
    }
    let calls = org.target.calls().len();
    let report = run_dropping_external_ids(&org);
    let lost = report
        .ownership_not_kept
        .as_ref()
        .expect("the lost mark is reported");
    assert_eq!(
        (lost.write, lost.sent.as_str(), lost.kept.as_deref()),
        (MarkWrite::ReKey, "pw-activate:group:scim-g2", None),
        "cpu sorts first: its re-key went alone"
    );
    assert_eq!(report.counts[&ActionKind::UpdateGroup], counts(0, 2, 0, 0));
    assert_eq!(
        org.target.calls().len() - calls,
        1,
        "one PATCH (the first re-key, alone); no member added, the other group not re-keyed"
    );
    let bob = id_of(&org.target, "bob");
    assert!(
        org.target
            .groups()
            .values()
            .all(|g| !g.members.contains(&bob)),
        "{:#?}",
        org.target.groups()
    );
}

#[test]
fn records_whose_rekey_did_not_apply_join_no_group() {
    let mut org = org_with_old_keys();
    org.group("g1", "gpu", &["1", "2", "3"]);
    let report = run_dropping_external_ids(&org);
    assert!(report.ownership_not_kept.is_some());
    assert_eq!(report.counts[&ActionKind::CreateGroup], counts(1, 0, 0, 0));
    assert_eq!(
        report
            .omitted_members
            .iter()
            .map(|m| m.user_name.as_str())
            .collect::<Vec<_>>(),
        ["user1", "user2", "user3"]
    );
    assert!(
        org.target.groups().values().all(|g| g.members.is_empty()),
        "{:#?}",
        org.target.groups()
    );
}

/// Answers every group PATCH with `204 No Content`.
struct GroupPatchesAnsweredEmpty;

impl Around for GroupPatchesAnsweredEmpty {
    fn answers_group_patches(&self) -> bool {
        false
    }
}

#[test]
fn a_group_rekey_answered_without_a_record_adds_its_members_on_the_next_run() {
    let mut org = Org::new();
    org.user("1", "alice", "Alice");
    org.user("2", "bob", "Bob");
    org.group("g1", "gpu", &["1"]);
    org.sync();
    let group = org.group_mut("g1");
    group.id = "scim-g1".into();
    group.members.push("2".into());
    let target = Wrapped {
        inner: &org.target,
        around: GroupPatchesAnsweredEmpty,
    };
    let report = run(&org, &target, &ApplyOptions::default());
    assert!(report.failures.is_empty(), "{report:#?}");
    assert_eq!(report.ownership_not_kept, None);
    assert!(
        report.warnings[0]
            .message
            .starts_with("1 members not added: the answer to the re-key carried no record"),
        "{report:#?}"
    );
    let bob = id_of(&org.target, "bob");
    assert!(
        org.target
            .groups()
            .values()
            .all(|g| !g.members.contains(&bob))
    );
    org.sync();
    assert!(
        org.target
            .groups()
            .values()
            .any(|g| g.members.contains(&bob))
    );
}
