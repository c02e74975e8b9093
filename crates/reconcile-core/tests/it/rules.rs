//! One small scenario per row of `docs/design.md`'s reconcile rule table (and the
//! guards), each snapshotted as text and JSON, then applied and re-planned.

use insta::assert_snapshot;
use reconcile_core::{
    Action, ActionKind, Conflict, DeactivationLimit, ExternalId, GuardKind, LicenseStatus, NotKept,
    OwnedUser, Plan, Scope, ServerRules, TargetCall, TargetGroup, UserChange, Warning,
};

use crate::support::{Org, key, rendered};

/// Applies the plan and asserts the re-plan has nothing left to apply.
fn converges(org: &Org, plan: &Plan) {
    let report = org.apply(plan);
    assert!(report.is_complete(), "{report:#?}");
    let again = org.plan();
    assert!(again.is_converged(), "not converged:\n{}", again.to_text());
}

fn kinds(plan: &Plan) -> Vec<ActionKind> {
    plan.applicable().map(|op| op.action.kind()).collect()
}

/// One row of the rule table: an organization, the kinds of the operations it
/// plans (all of them: nothing is withheld in these rows), anything else its
/// plan must say, and its snapshot; the plan is then applied and re-planned.
struct Rule {
    /// The snapshot's name.
    name: &'static str,
    org: fn() -> Org,
    kinds: &'static [ActionKind],
    /// More about the plan.
    plan: fn(&Plan),
    /// About the target once the plan is applied.
    after: fn(&Org),
}

const RULES: &[Rule] = &[
    // A desired active user without a record is created.
    Rule {
        name: "create_user",
        org: || {
            let mut org = Org::new();
            org.user("1", "alice", "Alice Smith");
            org
        },
        kinds: &[ActionKind::CreateUser],
        plan: |_| {},
        after: |_| {},
    },
    // A desired inactive user without a record is nothing.
    Rule {
        name: "inactive_without_record",
        org: || {
            let mut org = Org::new();
            org.user("1", "bob", "Bob").active = false;
            org.user("2", "carol", "Carol").license = LicenseStatus::Inactive;
            org
        },
        kinds: &[],
        plan: |_| {},
        after: |_| {},
    },
    // Differing attributes are patched, and nothing else.
    Rule {
        name: "update_user",
        org: || {
            let mut org = Org::new();
            org.user("1", "alice", "Alice Smith");
            org.user("2", "bob", "Bob Stone");
            org.sync();
            let alice = org.user_mut("1");
            alice.name = "Alice  Marie Jones".into();
            alice.email = "alice.jones@example.com".into();
            let old = alice.ssh_keys.clone().unwrap_or_default();
            alice.ssh_keys = Some(vec![
                key(40, "alice@desktop"),
                format!("  {}  ", old[0].replace(' ', "\t")),
            ]);
            // Bob's keys only change in order and whitespace: no change.
            let bob = org.user_mut("2");
            let bob_key = bob.ssh_keys.clone().unwrap_or_default()[0].clone();
            bob.ssh_keys = Some(vec![
                String::new(),
                format!("{bob_key}   "),
                "# note".into(),
            ]);
            org
        },
        kinds: &[ActionKind::UpdateUser],
        plan: |_| {},
        after: |_| {},
    },
    // Inactive and unlicensed users are deactivated and leave their groups.
    Rule {
        name: "deactivate_inactive_and_unlicensed",
        org: || {
            let mut org = Org::new();
            org.user("1", "alice", "Alice");
            org.user("2", "bob", "Bob");
            org.user("3", "carol", "Carol");
            org.group("g1", "gpu", &["1", "2", "3"]);
            org.sync();
            org.user_mut("2").active = false;
            org.user_mut("3").license = LicenseStatus::Inactive;
            org
        },
        kinds: &[
            ActionKind::Deactivate,
            ActionKind::Deactivate,
            ActionKind::UpdateGroup,
        ],
        plan: |_| {},
        after: |_| {},
    },
    // Out-of-scope users are deactivated and their groups emptied.
    Rule {
        name: "deactivate_out_of_scope",
        org: || {
            let mut org = Org::new();
            org.user("1", "alice", "Alice");
            org.user("2", "bob", "Bob");
            org.group("g1", "gpu", &["1"]);
            org.group("g2", "cpu", &["2"]);
            org.sync();
            org.scope = Scope::Groups(["gpu".to_owned(), "missing".to_owned()].into());
            org
        },
        kinds: &[ActionKind::Deactivate, ActionKind::EmptyGroup],
        plan: |_| {},
        after: |_| {},
    },
    // Records of users gone from the source are deactivated.
    Rule {
        name: "deactivate_not_in_source",
        org: || {
            let mut org = Org::new();
            org.user("1", "alice", "Alice");
            org.user("2", "bob", "Bob");
            org.sync();
            org.remove_user("2");
            org
        },
        kinds: &[ActionKind::Deactivate],
        plan: |_| {},
        after: |_| {},
    },
    // The inactive record of an inactive or out-of-scope user is left alone.
    Rule {
        name: "inactive_record_stays",
        org: || {
            let mut org = Org::new();
            org.user("1", "alice", "Alice");
            org.user("2", "bob", "Bob");
            org.group("g1", "gpu", &["1"]);
            org.sync();
            org.user_mut("2").active = false;
            org.sync();
            // Bob is inactive and now also out of scope; his record is already inactive.
            org.scope = Scope::Groups(["gpu".to_owned()].into());
            org.user_mut("2").name = "Robert".into();
            org
        },
        kinds: &[],
        plan: |_| {},
        after: |_| {},
    },
    // An inactive record desired active again is reactivated with its changes.
    Rule {
        name: "reactivate",
        org: || {
            let mut org = Org::new();
            org.user("1", "alice", "Alice");
            org.user("2", "bob", "Bob");
            org.group("g1", "gpu", &["1", "2"]);
            org.sync();
            org.user_mut("2").active = false;
            org.sync();
            let bob = org.user_mut("2");
            bob.active = true;
            bob.email = "robert@example.com".into();
            org
        },
        kinds: &[ActionKind::Reactivate, ActionKind::UpdateGroup],
        plan: |_| {},
        after: |_| {},
    },
    // A record from an earlier key scheme is re-keyed.
    Rule {
        name: "rekey",
        org: || {
            let mut org = Org::new();
            org.user("7", "dave", "Dave Brown");
            org.user("8", "erin", "Erin").active = false;
            org.target
                .insert_user(OwnedUser {
                    external_id: ExternalId::new("pw-activate:dave@example.com"),
                    user_name: "Dave".into(),
                    given_name: Some("Dave".into()),
                    family_name: Some("Brown".into()),
                    formatted_name: Some("Dave Brown".into()),
                    display_name: Some("Dave Brown".into()),
                    email: Some("dave@example.com".into()),
                    active: false,
                    ..OwnedUser::default()
                })
                .unwrap();
            // An old-scheme record for an inactive user: re-keyed, then deactivated.
            org.target
                .insert_user(OwnedUser {
                    external_id: ExternalId::new("pw-activate:user:old-8"),
                    user_name: "erin".into(),
                    active: true,
                    ..OwnedUser::default()
                })
                .unwrap();
            org
        },
        kinds: &[ActionKind::Deactivate, ActionKind::ReKey, ActionKind::ReKey],
        plan: |_| {},
        after: |_| {},
    },
    // Usernames equal but for case are a conflict, and neither is written.
    Rule {
        name: "case_collision_conflict",
        org: || {
            let mut org = Org::new();
            org.user("1", "Frank", "Frank One");
            org.user("2", "frank", "Frank Two");
            org.user("3", "gina", "Gina");
            org.group("g1", "gpu", &["1", "2", "3"]);
            org
        },
        kinds: &[ActionKind::CreateUser, ActionKind::CreateGroup],
        plan: |_| {},
        after: |_| {},
    },
    // A desired group without a record is created with existing and new members.
    Rule {
        name: "create_group",
        org: || {
            let mut org = Org::new();
            org.user("1", "alice", "Alice");
            org.user("2", "bob", "Bob");
            org.sync();
            org.user("3", "carol", "Carol");
            org.user("4", "dan", "Dan").active = false;
            org.group("g1", "gpu", &["1", "2", "3", "4"]);
            org
        },
        kinds: &[ActionKind::CreateUser, ActionKind::CreateGroup],
        plan: |_| {},
        after: |_| {},
    },
    // A renamed group and its membership changes are patched.
    Rule {
        name: "update_group",
        org: || {
            let mut org = Org::new();
            org.user("1", "alice", "Alice");
            org.user("2", "bob", "Bob");
            org.user("3", "carol", "Carol");
            org.group("g1", "gpu", &["1", "2"]);
            org.sync();
            let group = org.group_mut("g1");
            group.name = "gpu-users".into();
            group.members = vec!["1".into(), "3".into()];
            org
        },
        kinds: &[ActionKind::UpdateGroup],
        plan: |_| {},
        after: |_| {},
    },
    // A group no longer desired is emptied, and its record kept.
    Rule {
        name: "empty_group",
        org: || {
            let mut org = Org::new();
            org.user("1", "alice", "Alice");
            org.group("g1", "gpu", &["1"]);
            org.group("g2", "old", &["1"]);
            org.sync();
            org.snapshot.groups.retain(|g| g.id.as_str() != "g2");
            org
        },
        kinds: &[ActionKind::EmptyGroup],
        plan: |_| {},
        after: |org| assert_eq!(org.target.groups().len(), 2, "the record is kept"),
    },
    // Duplicate external ids: one record is kept, the other deactivated.
    Rule {
        name: "duplicate_external_id",
        org: || {
            let mut org = Org::new();
            org.user("1", "alice", "Alice");
            for user_name in ["alice-old", "alice"] {
                org.target
                    .insert_user(OwnedUser {
                        external_id: ExternalId::new("pw-activate:user:1"),
                        user_name: user_name.into(),
                        given_name: Some("Alice".into()),
                        formatted_name: Some("Alice".into()),
                        display_name: Some("Alice".into()),
                        email: Some("alice@example.com".into()),
                        active: true,
                        ssh_keys: vec![key(1, "alice@laptop")],
                        ..OwnedUser::default()
                    })
                    .unwrap();
            }
            org
        },
        kinds: &[ActionKind::Deactivate],
        plan: |plan| {
            assert!(matches!(
                plan.warnings.as_slice(),
                [Warning::DuplicateExternalId { .. }]
            ));
        },
        after: |_| {},
    },
    // Renames that free names for each other are ordered; cycles are conflicts.
    Rule {
        name: "rename_chain_and_cycle",
        org: || {
            let mut org = Org::new();
            org.user("1", "ann", "Ann");
            org.user("2", "ben", "Ben");
            org.user("3", "cat", "Cat");
            org.user("4", "dov", "Dov");
            org.sync();
            // A chain: ann → ann2 frees "ann" for ben, which frees "ben" for a new user.
            org.user_mut("1").username = "ann2".into();
            org.user_mut("2").username = "ann".into();
            org.user("5", "ben", "Ben New");
            // A cycle: cat and dov swap names.
            org.user_mut("3").username = "dov".into();
            org.user_mut("4").username = "cat".into();
            org
        },
        kinds: &[
            ActionKind::UpdateUser,
            ActionKind::UpdateUser,
            ActionKind::CreateUser,
        ],
        plan: |plan| {
            assert_eq!(plan.conflicts.len(), 2);
            assert!(
                plan.conflicts
                    .iter()
                    .all(|c| matches!(c, Conflict::RenameCycle { .. }))
            );
        },
        after: |_| {},
    },
    // Invalid and duplicate keys are dropped with warnings.
    Rule {
        name: "key_warnings",
        org: || {
            let mut org = Org::new();
            org.user("1", "hana", "Hana").ssh_keys = Some(vec![
                format!(
                    "{}\nssh-rsa AAAAB3NzaC1yc2E= broken\n{}",
                    key(9, "one"),
                    key(9, "again")
                ),
                "command=\"x\" ssh-ed25519 AAAA".into(),
            ]);
            org
        },
        kinds: &[ActionKind::CreateUser],
        plan: |plan| assert_eq!(plan.warnings.len(), 2),
        after: |_| {},
    },
];

#[test]
fn each_rule_plans_its_operations_and_converges() {
    for rule in RULES {
        let org = (rule.org)();
        let plan = org.plan();
        let planned: Vec<ActionKind> = plan.operations.iter().map(|op| op.action.kind()).collect();
        assert_eq!(planned, rule.kinds, "{}:\n{}", rule.name, plan.to_text());
        (rule.plan)(&plan);
        assert_snapshot!(rule.name, rendered(&plan));
        converges(&org, &plan);
        (rule.after)(&org);
    }
}

#[test]
fn a_deactivation_empties_the_keys_in_the_same_patch() {
    let mut org = Org::new();
    org.user("1", "alice", "Alice");
    org.user("2", "bob", "Bob");
    org.group("g1", "gpu", &["1", "2"]);
    org.sync();
    org.user_mut("2").active = false;
    let plan = org.plan();
    let Some(Action::Deactivate(deactivate)) = plan.applicable().next().map(|op| &op.action) else {
        panic!("expected a deactivation first:\n{}", plan.to_text());
    };
    assert_eq!(deactivate.user_name, "bob");
    assert_eq!(deactivate.removed_keys.len(), 1, "shown by fingerprint");
    let calls_before = org.target.calls().len();
    converges(&org, &plan);
    let bob_id = plan
        .applicable()
        .next()
        .and_then(|op| op.action.subject().scim_id);
    let bob = &org.target.users()[bob_id.as_ref().expect("an existing record")];
    assert!(!bob.active);
    assert!(bob.ssh_keys.is_empty(), "keys left: {:?}", bob.ssh_keys);
    let patches_of_bob = org.target.calls()[calls_before..]
        .iter()
        .filter(|call| matches!(call, TargetCall::PatchUser(id) if Some(id) == bob_id.as_ref()))
        .count();
    assert_eq!(patches_of_bob, 1, "active and keys go in one PATCH");
    let gpu = org.target.groups().into_values().next().expect("the group");
    assert_eq!(gpu.members.len(), 1, "bob left the group in the same run");
}

#[test]
fn inactive_records_still_carrying_keys_have_them_revoked() {
    let mut org = Org::new();
    org.user("1", "alice", "Alice");
    org.user("2", "bob", "Bob").active = false;
    org.user("3", "carol", "Carol");
    org.group("g1", "gpu", &["1", "2"]);
    org.group("g2", "cpu", &["3"]);
    org.scope = Scope::Groups(["gpu".to_owned()].into());
    // Records left by an earlier version, which deactivated with `active=false` only.
    for (id, name, seed) in [("2", "bob", 12), ("3", "carol", 13), ("9", "gone", 19)] {
        org.target
            .insert_user(OwnedUser {
                external_id: ExternalId::new(format!("pw-activate:user:{id}")),
                user_name: name.into(),
                active: false,
                ssh_keys: vec![key(seed, &format!("{name}@old"))],
                ..OwnedUser::default()
            })
            .expect("seeded");
    }
    // An inactive record without keys stays as it is.
    org.target
        .insert_user(OwnedUser {
            external_id: ExternalId::new("pw-activate:user:8"),
            user_name: "keyless".into(),
            active: false,
            ..OwnedUser::default()
        })
        .expect("seeded");
    // Revocations of records already inactive are not deactivations: no limit applies.
    org.options.deactivation_limit = Some(DeactivationLimit::Absolute(0));
    let plan = org.plan();
    assert_eq!(
        kinds(&plan),
        vec![
            ActionKind::RevokeKeys,
            ActionKind::RevokeKeys,
            ActionKind::RevokeKeys,
            ActionKind::CreateUser,
            ActionKind::CreateGroup
        ]
    );
    assert!(plan.guards.tripped.is_empty());
    assert_snapshot!("revoke_keys_of_inactive_records", rendered(&plan));
    converges(&org, &plan);
    let with_keys: Vec<String> = org
        .target
        .users()
        .into_values()
        .filter(|u| !u.ssh_keys.is_empty())
        .map(|u| u.user_name)
        .collect();
    assert_eq!(with_keys, vec!["alice".to_owned()]);
}

#[test]
fn reactivation_restores_the_keys_with_active_in_one_patch() {
    let mut org = Org::new();
    org.user("1", "alice", "Alice");
    org.sync();
    org.user_mut("1").active = false;
    org.sync();
    org.user_mut("1").active = true;
    let plan = org.plan();
    let Some(Action::Reactivate(patch)) = plan.applicable().next().map(|op| &op.action) else {
        panic!("expected a reactivation:\n{}", plan.to_text());
    };
    let attributes: Vec<&str> = patch.changes.iter().map(UserChange::attribute).collect();
    assert_eq!(attributes, vec!["sunkSshKeys", "active"]);
    converges(&org, &plan);
    let alice = org.target.users().into_values().next().expect("alice");
    assert!(alice.active);
    assert_eq!(alice.ssh_keys.len(), 1);
}

#[test]
fn username_held_by_a_foreign_record_is_a_conflict() {
    let mut org = Org::new();
    org.user("1", "erin", "Erin");
    org.user("2", "frank", "Frank");
    org.group("g1", "gpu", &["1", "2"]);
    let foreign = OwnedUser {
        external_id: ExternalId::new("okta:00u1"),
        user_name: "Erin".into(),
        active: true,
        ..OwnedUser::default()
    };
    let foreign_id = org.target.insert_user(foreign.clone()).unwrap();
    let foreign = OwnedUser {
        scim_id: foreign_id.clone(),
        ..foreign
    };
    let plan = org.plan();
    assert_eq!(
        kinds(&plan),
        vec![ActionKind::CreateUser, ActionKind::CreateGroup]
    );
    assert!(matches!(
        plan.conflicts.as_slice(),
        [Conflict::ForeignUserName { .. }]
    ));
    assert_snapshot!("foreign_username_conflict", rendered(&plan));
    converges(&org, &plan);
    assert_eq!(org.target.users()[&foreign_id], foreign);
}

#[test]
fn username_kept_by_an_inactive_owned_record_is_a_conflict() {
    let mut org = Org::new();
    org.user("1", "gus", "Gus");
    org.sync();
    org.user_mut("1").active = false;
    org.sync();
    // Gus is renamed while inactive (inactive records are not maintained), and
    // a new user takes his old name.
    org.user_mut("1").username = "gus-old".into();
    org.user("2", "gus", "Gus Two");
    let plan = org.plan();
    assert!(plan.operations.is_empty());
    assert!(matches!(
        plan.conflicts.as_slice(),
        [Conflict::UserNameHeld { .. }]
    ));
    assert_snapshot!("username_held_by_owned_record", rendered(&plan));
}

/// Five users in a group, synced; then `gone` of them become inactive.
fn org_with_departures(gone: usize) -> Org {
    let mut org = Org::new();
    let ids: Vec<String> = (1..=5).map(|i| i.to_string()).collect();
    for id in &ids {
        org.user(id, &format!("user{id}"), &format!("User {id}"));
    }
    let members: Vec<&str> = ids.iter().map(String::as_str).collect();
    org.group("g1", "gpu", &members);
    org.sync();
    for id in &ids[..gone] {
        org.user_mut(id).active = false;
    }
    org
}

#[test]
fn deactivations_above_the_limit_are_withheld_with_their_group_removals() {
    let mut org = org_with_departures(3);
    org.user("6", "newbie", "New Bie");
    org.group_mut("g1").members.push("6".into());
    org.options.deactivation_limit = Some(DeactivationLimit::Percent(40)); // 40% of 5 = 2
    let plan = org.plan();
    assert_eq!(plan.guards.tripped, vec![GuardKind::DeactivationLimit]);
    assert_eq!(plan.guards.deactivations_allowed, Some(2));
    assert_eq!(
        plan.withheld().count(),
        4,
        "3 deactivations and 1 group removal"
    );
    assert_eq!(
        kinds(&plan),
        vec![ActionKind::CreateUser, ActionKind::UpdateGroup]
    );
    assert_snapshot!("guard_deactivation_limit", rendered(&plan));
    let report = org.apply(&plan);
    assert_eq!(report.counts[&ActionKind::Deactivate].withheld, 3);
    assert_eq!(report.counts[&ActionKind::Deactivate].applied, 0);
    let again = org.plan();
    assert!(again.is_converged() && again.has_withheld());
}

#[test]
fn the_override_lifts_the_limit_and_is_recorded() {
    let mut org = org_with_departures(3);
    org.options.deactivation_limit = Some(DeactivationLimit::Absolute(2));
    org.options.override_deactivation_limit = true;
    let plan = org.plan();
    assert!(plan.guards.limit_overridden);
    assert!(plan.guards.tripped.is_empty());
    assert!(!plan.has_withheld());
    assert_snapshot!("guard_limit_overridden", rendered(&plan));
    converges(&org, &plan);
}

#[test]
fn an_incomplete_source_withholds_all_access_removals() {
    let mut org = org_with_departures(1);
    org.user("6", "newbie", "New Bie");
    org.group("g2", "cpu", &["6"]);
    org.snapshot.complete = false;
    org.options.override_deactivation_limit = true;
    let plan = org.plan();
    assert_eq!(plan.guards.tripped, vec![GuardKind::IncompleteSource]);
    assert_eq!(
        kinds(&plan),
        vec![ActionKind::CreateUser, ActionKind::CreateGroup]
    );
    assert_eq!(
        plan.withheld().count(),
        2,
        "the deactivation and the group removal"
    );
    assert_snapshot!("guard_incomplete_source", rendered(&plan));

    // A key revocation is an access removal too.
    org.target
        .insert_user(OwnedUser {
            external_id: ExternalId::new("pw-activate:user:99"),
            user_name: "departed".into(),
            active: false,
            ssh_keys: vec![key(99, "departed@old")],
            ..OwnedUser::default()
        })
        .expect("seeded");
    let plan = org.plan();
    assert_eq!(
        plan.withheld()
            .filter(|op| op.action.kind() == ActionKind::RevokeKeys)
            .count(),
        1
    );
    assert!(
        plan.applicable()
            .all(|op| op.action.kind() != ActionKind::RevokeKeys)
    );
}

#[test]
fn an_empty_source_withholds_all_access_removals() {
    let mut org = org_with_departures(0);
    org.snapshot.users.clear();
    org.snapshot.groups[0].members.clear();
    let plan = org.plan();
    assert_eq!(plan.guards.tripped, vec![GuardKind::EmptySource]);
    assert!(plan.is_converged());
    assert_eq!(plan.withheld().count(), 6);
    assert_snapshot!("guard_empty_source", rendered(&plan));
}

#[test]
fn a_group_name_held_by_a_group_we_do_not_own_is_a_conflict() {
    let mut org = Org::new();
    org.user("1", "alice", "Alice");
    org.user("2", "bob", "Bob");
    org.group("g1", "gpu", &["1", "2"]);
    org.group("g2", "cpu", &["1"]);
    org.sync();
    for name in ["Admin", "read", "cpu"] {
        org.target
            .insert_group(TargetGroup {
                external_id: None,
                display_name: name.into(),
                ..TargetGroup::default()
            })
            .expect("seeded");
    }
    // Steady state: an owned group keeping its name is not judged by name.
    assert!(org.plan().is_converged());
    org.group("g3", "admin", &["1"]);
    org.group("g4", "tpu", &["2"]);
    // gpu is renamed into a name another group holds, and bob departs.
    org.group_mut("g1").name = "READ".into();
    org.user("3", "carol", "Carol");
    org.group_mut("g1").members.push("3".into());
    org.user_mut("2").active = false;
    let plan = org.plan();
    assert_eq!(
        kinds(&plan),
        vec![
            ActionKind::Deactivate,
            ActionKind::CreateUser,
            ActionKind::CreateGroup,
            ActionKind::UpdateGroup,
        ]
    );
    let names: Vec<(&str, &str)> = plan
        .conflicts
        .iter()
        .filter_map(|c| match c {
            Conflict::ForeignGroupName {
                name, holder_name, ..
            } => Some((name.as_str(), holder_name.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(names, vec![("READ", "read"), ("admin", "Admin")]);
    assert!(plan.conflicts[0].to_string().contains("billing_viewer"));
    assert_snapshot!("foreign_group_name_conflict", rendered(&plan));
    let report = org.apply(&plan);
    assert!(report.is_complete(), "{report:#?}");
    let groups = org.target.groups();
    let gpu = groups
        .values()
        .find(|g| g.display_name == "gpu")
        .expect("gpu keeps its name");
    assert_eq!(gpu.members.len(), 1, "bob left, carol was not added");
    assert_eq!(
        groups
            .values()
            .filter(|g| g.display_name.eq_ignore_ascii_case("admin"))
            .count(),
        1,
        "no second admin group"
    );
}

#[test]
fn attributes_the_server_does_not_keep_are_neither_sent_nor_compared() {
    let mut org = Org::new();
    org.user("1", "alice", "Alice Smith");
    org.sync();
    org.user("2", "bob", "Bob Stone");
    org.user_mut("1").name = "Alice Jones".into();
    org.options.server = ServerRules {
        not_kept: NotKept {
            formatted_name: true,
            display_name: true,
            ..NotKept::default()
        },
        ..ServerRules::default()
    };
    let plan = org.plan();
    let Some(Action::UpdateUser(update)) = plan
        .applicable()
        .map(|op| &op.action)
        .find(|a| matches!(a, Action::UpdateUser(_)))
    else {
        panic!("alice is updated:\n{}", plan.to_text());
    };
    let attributes: Vec<&str> = update.changes.iter().map(UserChange::attribute).collect();
    assert_eq!(attributes, vec!["name.familyName"]);
    let Some(Action::CreateUser(create)) = plan
        .applicable()
        .map(|op| &op.action)
        .find(|a| matches!(a, Action::CreateUser(_)))
    else {
        panic!("bob is created:\n{}", plan.to_text());
    };
    assert_eq!(create.record.formatted_name, None);
    assert_eq!(create.record.display_name, None);
    assert_eq!(create.record.given_name.as_deref(), Some("Bob"));
    assert_eq!(
        plan.warnings,
        vec![Warning::AttributesNotKept {
            attributes: vec!["name.formatted".into(), "displayName".into()]
        }]
    );
}

#[test]
fn a_mass_rekey_is_withheld_with_the_memberships_it_would_grant_until_the_override() {
    let mut org = Org::new();
    for n in 1..=4 {
        org.user(&format!("s{n}"), &format!("user{n}"), "");
        // The same people, keyed by another source's ids.
        org.target
            .insert_user(OwnedUser {
                external_id: ExternalId::new(format!("pw-activate:user:r{n}")),
                user_name: format!("user{n}"),
                active: true,
                ..OwnedUser::default()
            })
            .expect("seeded");
    }
    org.group("g1", "gpu", &["s1", "s2"]);
    org.options.rekey_limit = Some(DeactivationLimit::Percent(50));
    let plan = org.plan();
    assert_eq!(plan.guards.tripped, vec![GuardKind::ReKeyLimit]);
    assert_eq!(
        (plan.guards.rekeys_planned, plan.guards.rekeys_allowed),
        (4, Some(2))
    );
    assert_eq!(
        plan.withheld()
            .filter(|op| op.action.kind() == ActionKind::ReKey)
            .count(),
        4
    );
    let Some(Action::CreateGroup(gpu)) = plan.applicable().map(|op| &op.action).next() else {
        panic!("the group is created:\n{}", plan.to_text());
    };
    assert!(
        gpu.members.is_empty(),
        "no membership for an unconfirmed record"
    );
    assert!(plan.to_text().contains("re-keys and the group memberships"));
    let report = org.apply(&plan);
    assert!(report.is_complete(), "{report:#?}");
    assert!(
        org.target
            .users()
            .values()
            .all(|u| u.external_id.as_str().contains(":r")),
        "no record re-keyed"
    );

    org.options.override_rekey_limit = true;
    let plan = org.plan();
    assert!(plan.guards.rekey_limit_overridden);
    assert!(plan.guards.tripped.is_empty());
    assert_eq!(
        kinds(&plan),
        vec![ActionKind::ReKey; 4]
            .into_iter()
            .chain([ActionKind::UpdateGroup])
            .collect::<Vec<_>>()
    );
    converges(&org, &plan);
}

#[test]
fn a_group_record_under_an_earlier_key_is_rekeyed_by_name_not_emptied_and_duplicated() {
    let mut org = Org::new();
    org.user("1", "alice", "Alice");
    org.user("2", "bob", "Bob");
    org.group("g1", "gpu", &["1", "2"]);
    org.sync();
    // The group's ACTIVATE id changes (another source's ids), and bob leaves it.
    let group = org.group_mut("g1");
    group.id = "scim-g1".into();
    group.members.retain(|m| m.as_str() != "2");
    let plan = org.plan();
    assert_eq!(kinds(&plan), vec![ActionKind::UpdateGroup]);
    let Some(Action::UpdateGroup(update)) = plan.applicable().next().map(|op| &op.action) else {
        panic!("{}", plan.to_text());
    };
    let rekey = update.rekey.as_ref().expect("a re-key");
    assert_eq!(rekey.old.as_str(), "pw-activate:group:g1");
    assert_eq!(rekey.new.as_str(), "pw-activate:group:scim-g1");
    assert_eq!(update.remove.len(), 1);
    assert_eq!(plan.guards.rekeys_planned, 1);
    assert_snapshot!("rekey_group", rendered(&plan));
    converges(&org, &plan);
    assert_eq!(org.target.groups().len(), 1, "no second group");
}
