//! Properties over generated organizations (see `strategies`). Each property
//! runs 256 cases (`PROPTEST_CASES` overrides it).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::Config;
use reconcile_core::{
    Action, ApplyOptions, ApplyReport, Conflict, DesiredStatus, ExternalId, GuardKind,
    InMemoryTarget, Observed, OwnedUser, Plan, PlanOptions, ScimId, Scope, TargetCall, TargetGroup,
    UnusableUser, apply, plan, project,
};

use crate::strategies::{Case, case, limit, prepare};

/// 256 cases per property (`PROPTEST_CASES` overrides it); shrinking stops
/// after ten seconds.
fn config() -> Config {
    let defaults = Config::default();
    Config {
        cases: if std::env::var_os("PROPTEST_CASES").is_some() {
            defaults.cases
        } else {
            256
        },
        max_shrink_time: 10_000,
        ..defaults
    }
}

fn run(plan: &Plan, target: &InMemoryTarget) -> ApplyReport {
    let options = ApplyOptions {
        concurrency: 3,
        member_chunk_size: 2,
        deadline: None,
        read_backs: 10,
    };
    futures::executor::block_on(apply(plan, target, &options))
}

fn plan_case(case: &Case, target: &InMemoryTarget, options: &PlanOptions) -> Plan {
    plan(
        &project(&case.after, &case.scope),
        &target.observed(),
        options,
    )
}

/// Records without the ownership prefix, by id.
fn foreign(
    target: &InMemoryTarget,
) -> (BTreeMap<ScimId, OwnedUser>, BTreeMap<ScimId, TargetGroup>) {
    (
        target
            .users()
            .into_iter()
            .filter(|(_, u)| !u.external_id.is_owned())
            .collect(),
        target
            .groups()
            .into_iter()
            .filter(|(_, g)| !g.external_id.as_ref().is_some_and(ExternalId::is_owned))
            .collect(),
    )
}

fn owned_active(target: &InMemoryTarget) -> HashSet<ScimId> {
    target
        .observed()
        .users()
        .iter()
        .filter(|u| u.active)
        .map(|u| u.scim_id.clone())
        .collect()
}

/// An operation's kind and the record it addresses (SCIM id, else key).
fn record_of(op: &reconcile_core::Operation) -> (reconcile_core::ActionKind, String) {
    let subject = op.action.subject();
    let record = subject
        .scim_id
        .map_or_else(|| subject.external_id.to_string(), |id| id.to_string());
    (op.action.kind(), record)
}

/// The records carrying one of `keys`, each with the ids of the groups it is a
/// member of.
fn records_with_memberships(
    target: &InMemoryTarget,
    keys: &HashSet<ExternalId>,
) -> BTreeMap<ScimId, (OwnedUser, BTreeSet<ScimId>)> {
    let groups = target.groups();
    target
        .users()
        .into_iter()
        .filter(|(_, u)| keys.contains(&u.external_id))
        .map(|(id, user)| {
            let member_of = groups
                .iter()
                .filter(|(_, g)| g.members.contains(&id))
                .map(|(gid, _)| gid.clone())
                .collect();
            (id, (user, member_of))
        })
        .collect()
}

fn reversed(observed: &Observed) -> Observed {
    let mut users = observed.users().to_vec();
    users.reverse();
    let mut groups = observed.groups().to_vec();
    groups.reverse();
    for group in &mut groups {
        group.members.reverse();
    }
    let mut o = Observed::new(users, groups);
    o.foreign_user_names = observed.foreign_user_names.iter().rev().cloned().collect();
    o.foreign_groups.clone_from(&observed.foreign_groups);
    o
}

proptest! {
    #![proptest_config(config())]

    /// Applying a plan and planning again leaves nothing to apply, except what
    /// a guard withheld the first time (a percentage limit may allow it once
    /// the creations have raised the number of active users). When no guard
    /// withheld anything, the second plan has no operations at all.
    #[test]
    fn convergence(case in case(), limit in limit(), complete in prop::bool::weighted(0.8)) {
        let mut case = case;
        case.after.complete = complete;
        let target = prepare(&case);
        let options = PlanOptions { deactivation_limit: limit, override_deactivation_limit: false, ..PlanOptions::default() };
        let first = plan_case(&case, &target, &options);
        let report = run(&first, &target);
        prop_assert!(report.is_complete(), "apply failed: {:#?}\n{}", report, first.to_text());
        let second = plan_case(&case, &target, &options);
        let withheld: HashSet<_> = first.withheld().map(record_of).collect();
        for op in second.applicable() {
            prop_assert!(
                withheld.contains(&record_of(op)),
                "first:\n{}\nsecond:\n{}", first.to_text(), second.to_text()
            );
        }
        if first.guards.tripped.is_empty() {
            prop_assert!(second.operations.is_empty(), "second:\n{}", second.to_text());
        }
        prop_assert_eq!(&second.conflicts, &first.conflicts);
    }

    /// The same input gives byte-identical JSON, whatever the order of the observed lists.
    #[test]
    fn determinism(case in case(), limit in limit()) {
        let target = prepare(&case);
        let desired = project(&case.after, &case.scope);
        let observed = target.observed();
        let options = PlanOptions { deactivation_limit: limit, override_deactivation_limit: false, ..PlanOptions::default() };
        let a = plan(&desired, &observed, &options);
        let b = plan(&desired, &observed, &options);
        let c = plan(&desired, &reversed(&observed), &options);
        prop_assert_eq!(a.to_json(), b.to_json());
        prop_assert_eq!(a.to_json(), c.to_json());
        prop_assert_eq!(a.to_text(), c.to_text());
    }

    /// No operation addresses a record without the prefix, no call reaches
    /// one, and foreign records are unchanged after apply.
    #[test]
    fn unowned_records_are_never_touched(case in case()) {
        let target = prepare(&case);
        let observed = target.observed();
        let owned_users: HashSet<ScimId> = observed.users().iter().map(|u| u.scim_id.clone()).collect();
        let owned_groups: HashSet<ScimId> = observed.groups().iter().map(|g| g.scim_id.clone()).collect();
        let before = foreign(&target);
        let plan = plan_case(&case, &target, &PlanOptions::default());
        for op in &plan.operations {
            let subject = op.action.subject();
            prop_assert!(subject.external_id.is_owned(), "{:?}", op);
            if let Some(id) = &subject.scim_id {
                prop_assert!(owned_users.contains(id) || owned_groups.contains(id), "{:?}", op);
            }
        }
        let calls_before = target.calls().len();
        let report = run(&plan, &target);
        prop_assert!(report.is_complete(), "{:#?}", report);
        for call in &target.calls()[calls_before..] {
            match call {
                TargetCall::PatchUser(id) => prop_assert!(
                    owned_users.contains(id) || report.created_users.values().any(|u| u == id),
                    "{:?}", call
                ),
                TargetCall::PatchGroup(id) => prop_assert!(
                    owned_groups.contains(id) || report.created_groups.values().any(|g| g == id),
                    "{:?}", call
                ),
                TargetCall::CreateUser(_) | TargetCall::CreateGroup(_) => {}
            }
        }
        prop_assert_eq!(foreign(&target), before);
    }

    /// An incomplete or empty snapshot (or one listing a user record without a
    /// usable id) never deactivates a user and never removes a group member.
    #[test]
    fn a_broken_source_never_takes_access_away(case in case(), broken in 0..3u8) {
        let mut case = case;
        match broken {
            0 => {
                case.after.users.clear();
                for group in &mut case.after.groups {
                    group.members.clear();
                }
            }
            1 => case.after.complete = false,
            _ => case.after.unusable_users.push(UnusableUser {
                id: None,
                username: None,
                reason: "the record does not decode".to_owned(),
            }),
        }
        let target = prepare(&case);
        let active_before = owned_active(&target);
        let groups_before = target.groups();
        // Even with the limit overridden.
        let options = PlanOptions { deactivation_limit: None, override_deactivation_limit: true, ..PlanOptions::default() };
        let plan = plan_case(&case, &target, &options);
        for op in plan.applicable() {
            let removes = match &op.action {
                Action::Deactivate(_) | Action::RevokeKeys(_) | Action::EmptyGroup(_) => true,
                Action::UpdateGroup(u) => !u.remove.is_empty(),
                _ => false,
            };
            prop_assert!(!removes, "{:?}", op);
        }
        let report = run(&plan, &target);
        prop_assert!(report.is_complete(), "{:#?}", report);
        let active_after = owned_active(&target);
        prop_assert!(active_before.is_subset(&active_after));
        for (id, group) in groups_before {
            let after = &target.groups()[&id];
            prop_assert!(group.members.is_subset(&after.members), "group {} lost members", id);
        }
    }

    /// With a complete source and no limit, one apply leaves no owned record
    /// that is inactive (deactivated, out of scope, gone from the source)
    /// with SSH keys or with a membership in an owned group: access removal
    /// does not depend on the cluster reading `active`. Records frozen by a
    /// conflict are left as they were and are not judged; a plan a guard
    /// tripped on is not judged either.
    #[test]
    fn inactive_records_keep_no_keys_and_no_memberships(case in case()) {
        let mut case = case;
        case.after.complete = true;
        let target = prepare(&case);
        let desired = project(&case.after, &case.scope);
        let options = PlanOptions { deactivation_limit: None, override_deactivation_limit: false, ..PlanOptions::default() };
        let plan = plan(&desired, &target.observed(), &options);
        if !plan.guards.tripped.is_empty() {
            // An empty source (see `a_broken_source_never_takes_access_away`).
            return Ok(());
        }
        let report = run(&plan, &target);
        prop_assert!(report.is_complete(), "{:#?}", report);
        let mut frozen_users: HashSet<String> =
            desired.held_users.keys().map(ToString::to_string).collect();
        let mut frozen_names: HashSet<String> =
            desired.held_users.values().map(|n| n.to_lowercase()).collect();
        for conflict in &plan.conflicts {
            let labels = match conflict {
                Conflict::UserNameCaseCollision { users, .. } => users.clone(),
                Conflict::ForeignUserName { user }
                | Conflict::UserNameHeld { user, .. }
                | Conflict::RenameCycle { user } => vec![user.clone()],
                _ => Vec::new(),
            };
            for label in labels {
                frozen_users.insert(label.id.to_string());
                frozen_names.insert(label.user_name.to_lowercase());
            }
        }
        let unnamed_held = desired.held_users.values().any(|n| n.trim().is_empty());
        let observed = target.observed();
        for record in observed.users().iter().filter(|u| !u.active) {
            let key_user = match record.external_id.owned_key() {
                Some(reconcile_core::OwnedKey::User(id)) => Some(id.to_string()),
                _ => None,
            };
            // While a held user has no username, records whose key names no
            // ACTIVATE user could be that user's: they are frozen too.
            let orphan = key_user.as_ref().is_none_or(|id| {
                let id = reconcile_core::SourceUserId::new(id.as_str());
                !desired.users().contains_key(&id) && !desired.out_of_scope_users.contains(&id)
            });
            if key_user.is_some_and(|id| frozen_users.contains(&id))
                || frozen_names.contains(&record.user_name.to_lowercase())
                || (orphan && unnamed_held)
            {
                continue;
            }
            prop_assert!(record.ssh_keys.is_empty(), "inactive {} keeps keys\n{}", record.user_name, plan.to_text());
            for group in observed.groups() {
                prop_assert!(
                    !group.members.contains(&record.scim_id),
                    "inactive {} stays in {}\n{}", record.user_name, group.display_name, plan.to_text()
                );
            }
        }
    }

    /// A held user (an unusable record, or a username conflict) keeps their
    /// record and group memberships exactly as they were: nothing is written
    /// for them, whatever else the plan does.
    #[test]
    fn held_users_are_left_exactly_as_they_are(
        case in case(),
        limit in limit(),
        picks in prop::collection::vec(any::<Index>(), 0..4),
    ) {
        let mut case = case;
        for pick in picks {
            if case.after.users.is_empty() {
                break;
            }
            let user = case.after.users.remove(pick.index(case.after.users.len()));
            case.after.unusable_users.push(UnusableUser {
                id: Some(user.id),
                username: Some(user.username),
                reason: "its SSH keys cannot be read".to_owned(),
            });
        }
        let target = prepare(&case);
        let desired = project(&case.after, &case.scope);
        // The unusable users in scope, whatever the projection made of them, and
        // the users it held for a conflict.
        let in_scope = |id: &reconcile_core::SourceUserId| match &case.scope {
            Scope::All => true,
            Scope::Groups(names) => case
                .after
                .groups
                .iter()
                .any(|g| names.contains(&g.name) && g.members.contains(id)),
        };
        let held: HashSet<ExternalId> = case
            .after
            .unusable_users
            .iter()
            .filter_map(|u| u.id.as_ref())
            .filter(|id| in_scope(id))
            .chain(desired.held_users.keys())
            .map(ExternalId::for_user)
            .collect();
        let before = records_with_memberships(&target, &held);
        let options = PlanOptions { deactivation_limit: limit, override_deactivation_limit: false, ..PlanOptions::default() };
        let plan = plan(&desired, &target.observed(), &options);
        let report = run(&plan, &target);
        prop_assert!(report.is_complete(), "{:#?}", report);
        let after = records_with_memberships(&target, &held);
        prop_assert_eq!(after, before, "plan:\n{}", plan.to_text());
    }

    /// Applied deactivations never exceed the limit unless it is overridden.
    #[test]
    fn deactivations_respect_the_limit(case in case(), limit in limit(), override_limit in any::<bool>()) {
        let target = prepare(&case);
        let active_before = owned_active(&target);
        let options = PlanOptions { deactivation_limit: limit, override_deactivation_limit: override_limit, ..PlanOptions::default() };
        let plan = plan_case(&case, &target, &options);
        let planned = plan.operations.iter().filter(|op| matches!(op.action, Action::Deactivate(_))).count();
        prop_assert_eq!(plan.guards.deactivations_planned, planned);
        let applicable = plan.applicable().filter(|op| matches!(op.action, Action::Deactivate(_))).count();
        let report = run(&plan, &target);
        prop_assert!(report.is_complete(), "{:#?}", report);
        let deactivated = active_before.difference(&owned_active(&target)).count();
        prop_assert_eq!(deactivated, applicable);
        if let Some(limit) = limit {
            if override_limit {
                let by_limit = plan.withheld().filter(|op| op.withheld == Some(GuardKind::DeactivationLimit)).count();
                prop_assert_eq!(by_limit, 0);
            } else {
                prop_assert!(deactivated <= limit.allowed(active_before.len()));
            }
        }
    }

    /// Inactive desired users are never created; nobody is created twice or
    /// created while a record with their key exists.
    #[test]
    fn creations_are_for_active_users_without_records(case in case()) {
        let target = prepare(&case);
        let desired = project(&case.after, &case.scope);
        let observed = target.observed();
        let plan = plan(&desired, &observed, &PlanOptions::default());
        let existing: HashSet<_> = observed.users().iter().map(|u| u.external_id.clone()).collect();
        let mut created = HashSet::new();
        for op in plan.applicable() {
            if let Action::CreateUser(c) = &op.action {
                let user = &desired.users()[&c.user];
                prop_assert_eq!(user.status, DesiredStatus::Active);
                prop_assert!(c.record.active);
                prop_assert!(!existing.contains(&c.record.external_id));
                prop_assert!(created.insert(c.user.clone()), "created twice: {}", c.user);
            }
        }
        let report = run(&plan, &target);
        prop_assert!(report.is_complete(), "{:#?}", report);
        prop_assert_eq!(report.created_users.len(), created.len());
        // No key gained a second record.
        let count = |observed: &Observed| {
            let mut counts: HashMap<reconcile_core::ExternalId, usize> = HashMap::new();
            for user in observed.users() {
                *counts.entry(user.external_id.clone()).or_default() += 1;
            }
            counts
        };
        let before = count(&observed);
        for (key, n) in count(&target.observed()) {
            prop_assert!(n <= before.get(&key).copied().unwrap_or(1), "{} has {} records", key, n);
        }
    }
}
