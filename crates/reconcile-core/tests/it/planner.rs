//! Planner behaviours beyond the rule table.

use reconcile_core::{
    Action, ActionKind, Conflict, ExternalId, Observed, OwnedUser, PlanOptions, ScimId,
    TargetGroup, Warning, plan,
};

use crate::support::Org;

#[test]
fn an_unowned_record_in_the_observed_state_is_ignored_and_its_name_is_foreign() {
    let mut org = Org::new();
    org.user("1", "alice", "Alice");
    let observed = Observed::new(
        vec![OwnedUser {
            scim_id: ScimId::new("x1"),
            external_id: ExternalId::new("okta:1"),
            user_name: "ALICE".into(),
            active: true,
            ..OwnedUser::default()
        }],
        Vec::new(),
    );
    let plan = plan(&org.desired(), &observed, &PlanOptions::default());
    assert!(plan.operations.is_empty(), "{}", plan.to_text());
    assert_eq!(
        plan.warnings,
        vec![Warning::UnownedRecordIgnored {
            scim_id: ScimId::new("x1"),
            external_id: ExternalId::new("okta:1"),
        }]
    );
    assert!(matches!(
        plan.conflicts.as_slice(),
        [Conflict::ForeignUserName { .. }]
    ));
}

#[test]
fn foreign_members_of_an_owned_group_are_removed_but_foreign_groups_are_not_touched() {
    let mut org = Org::new();
    org.user("1", "alice", "Alice");
    org.group("g1", "gpu", &["1"]);
    org.sync();
    let foreign_user = org
        .target
        .insert_user(OwnedUser {
            user_name: "svc-backup".into(),
            active: true,
            ..OwnedUser::default()
        })
        .unwrap();
    let foreign_group = org
        .target
        .insert_group(TargetGroup {
            external_id: Some(ExternalId::new("okta:g")),
            display_name: "gpu".into(),
            members: [foreign_user.clone()].into(),
        })
        .unwrap();
    let gpu = org.target.observed().groups()[0].scim_id.clone();
    futures::executor::block_on(reconcile_core::ScimTarget::patch_group(
        &org.target,
        &gpu,
        &[reconcile_core::GroupChange::AddMembers(vec![
            foreign_user.clone(),
        ])],
    ))
    .unwrap();
    let plan = org.plan();
    let [op] = plan.operations.as_slice() else {
        panic!("one operation expected:\n{}", plan.to_text());
    };
    let Action::UpdateGroup(update) = &op.action else {
        panic!("a group update expected");
    };
    assert_eq!(update.scim_id, gpu);
    assert_eq!(update.remove.len(), 1);
    assert_eq!(update.remove[0].scim_id, foreign_user);
    assert_eq!(update.remove[0].user_name, None);
    assert!(
        plan.to_text()
            .contains(&format!("- members (1): [{foreign_user}]"))
    );
    let before = org.target.groups()[&foreign_group].clone();
    org.apply(&plan);
    assert_eq!(org.target.groups()[&foreign_group], before);
    assert!(org.plan().is_converged());
}

#[test]
fn a_held_user_keeps_their_record_and_memberships_exactly() {
    let mut org = Org::new();
    org.user("1", "alice", "Alice");
    org.user("2", "bob", "Bob");
    org.group("g1", "gpu", &["1", "2"]);
    org.sync();
    // Someone adds "BOB" to ACTIVATE: both bobs are held.
    org.user("3", "BOB", "Other Bob");
    org.group_mut("g1").members.push("3".into());
    org.user_mut("2").email = "changed@example.com".into();
    org.user_mut("2").active = false;
    let plan = org.plan();
    assert!(plan.operations.is_empty(), "{}", plan.to_text());
    assert!(
        matches!(plan.conflicts.as_slice(), [Conflict::UserNameCaseCollision { users, .. }] if users.len() == 2)
    );
}

#[test]
fn a_user_without_fetched_keys_keeps_the_stored_keys() {
    let mut org = Org::new();
    org.user("1", "alice", "Alice");
    org.sync();
    org.user_mut("1").ssh_keys = None;
    assert!(org.plan().operations.is_empty());
    org.user_mut("1").ssh_keys = Some(vec![]);
    let plan = org.plan();
    assert_eq!(
        plan.applicable()
            .map(|op| op.action.kind())
            .collect::<Vec<_>>(),
        vec![ActionKind::UpdateUser]
    );
    assert!(plan.to_text().contains("  - SHA256:"));
}

#[test]
fn an_owned_group_with_only_a_held_users_membership_is_not_emptied() {
    let mut org = Org::new();
    org.user("1", "alice", "Alice");
    org.group("g1", "gpu", &["1"]);
    org.sync();
    org.user("2", "ALICE", "Other");
    org.snapshot.groups.clear();
    let plan = org.plan();
    assert!(plan.operations.is_empty(), "{}", plan.to_text());
}
