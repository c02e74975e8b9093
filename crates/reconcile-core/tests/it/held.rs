//! Unusable ACTIVATE user records: held with an id, an incomplete source without
//! one; and usernames that are not portable POSIX login names.

use insta::assert_snapshot;
use reconcile_core::{ActionKind, Conflict, GuardKind, Plan, UnusableUser, Warning};

use crate::support::{Org, rendered};

fn kinds(plan: &Plan) -> Vec<ActionKind> {
    plan.applicable().map(|op| op.action.kind()).collect()
}

fn unusable(id: Option<&str>, username: Option<&str>, reason: &str) -> UnusableUser {
    UnusableUser {
        id: id.map(Into::into),
        username: username.map(str::to_owned),
        reason: reason.to_owned(),
    }
}

#[test]
fn unusable_users_are_held_and_everyone_else_is_synced() {
    let mut org = Org::new();
    org.user("1", "alice", "Alice");
    org.user("2", "bob", "Bob");
    org.user("3", "carol", "Carol");
    org.group("g1", "gpu", &["1", "2", "3"]);
    org.sync();
    let before = org.target.users();

    // Bob's keys cannot be read; carol's entry lost its username; a new user,
    // dave, arrives; alice changes her name.
    org.remove_user("2");
    org.snapshot.unusable_users.push(unusable(
        Some("2"),
        Some("bob"),
        "its SSH keys cannot be read: GET /api/users/bob/ssh-public-keys: the response is text/html, not a JSON string or text/plain: \"Sign in\"",
    ));
    org.user_mut("3").username = String::new();
    org.group_mut("g1").members.push("2".into());
    org.user("4", "dave", "Dave");
    org.group_mut("g1").members.push("4".into());
    org.user_mut("1").name = "Alice Smith".into();

    let plan = org.plan();
    assert_eq!(
        kinds(&plan),
        vec![
            ActionKind::UpdateUser,
            ActionKind::CreateUser,
            ActionKind::UpdateGroup
        ]
    );
    assert_eq!(
        plan.conflicts,
        vec![
            Conflict::UnusableUser {
                user: Some("2".into()),
                user_name: Some("bob".into()),
                reason: "its SSH keys cannot be read: GET /api/users/bob/ssh-public-keys: the response is text/html, not a JSON string or text/plain: \"Sign in\"".into(),
            },
            Conflict::UnusableUser {
                user: Some("3".into()),
                user_name: None,
                reason: "the username is empty".into(),
            },
        ]
    );
    assert!(plan.guards.tripped.is_empty());
    assert_snapshot!("unusable_users_held", rendered(&plan));

    let report = org.apply(&plan);
    assert!(report.is_complete(), "{report:#?}");
    let after = org.target.users();
    for (id, user) in &before {
        if user.user_name == "bob" || user.user_name == "carol" {
            assert_eq!(&after[id], user, "a held record is left as it was");
        }
    }
    let gpu = org.target.groups().into_values().next().unwrap();
    assert_eq!(gpu.members.len(), 4, "bob and carol stay; dave joins");
    assert!(org.plan().applicable().next().is_none(), "converged");
}

#[test]
fn an_unusable_record_without_an_id_makes_the_source_incomplete() {
    let mut org = Org::new();
    org.user("1", "alice", "Alice");
    org.user("2", "bob", "Bob");
    org.group("g1", "gpu", &["1", "2"]);
    org.sync();
    // Bob's entry no longer decodes and has no id: it looks like a departure.
    org.remove_user("2");
    org.snapshot.unusable_users.push(unusable(
        None,
        Some("bob"),
        "the record does not decode: missing field `id`",
    ));
    let plan = org.plan();
    assert_eq!(plan.guards.tripped, vec![GuardKind::IncompleteSource]);
    assert!(!plan.guards.source_complete);
    assert_eq!(kinds(&plan), Vec::<ActionKind>::new(), "nothing applicable");
    assert_snapshot!("unusable_user_without_id", rendered(&plan));
}

#[test]
fn an_unusable_user_outside_the_scope_is_out_of_scope() {
    let mut org = Org::new();
    org.user("1", "alice", "Alice");
    org.group("g1", "gpu", &["1"]);
    org.scope = reconcile_core::Scope::Groups(["gpu".to_owned()].into());
    org.snapshot
        .unusable_users
        .push(unusable(Some("9"), None, "the username is empty"));
    let desired = org.desired();
    assert!(desired.held_users.is_empty());
    assert!(desired.conflicts.is_empty());
    assert!(desired.out_of_scope_users.contains("9"));
    assert!(desired.source.complete);
}

#[test]
fn usernames_that_are_not_posix_login_names_are_synced_with_a_warning() {
    let mut org = Org::new();
    org.user("1", "Jake.Thayne", "Jake");
    org.user("2", "josé", "José");
    org.user("3", "mary ann", "Mary Ann");
    org.user("4", "-dash", "Dash");
    org.user("5", &"x".repeat(33), "Long");
    org.user("6", "inactive user", "Gone").active = false;
    let plan = org.plan();
    assert_eq!(plan.summary().create_users, 5);
    let warnings: Vec<String> = plan
        .warnings
        .iter()
        .filter(|w| matches!(w, Warning::NonPosixUserName { .. }))
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        warnings,
        [
            "username of \"josé\" (ACTIVATE id 2) is not a portable POSIX login name (holds 'é', not only letters, digits, '.', '_' and '-'); synced as is, but the cluster may not create it",
            "username of \"mary ann\" (ACTIVATE id 3) is not a portable POSIX login name (holds ' ', not only letters, digits, '.', '_' and '-'); synced as is, but the cluster may not create it",
            "username of \"-dash\" (ACTIVATE id 4) is not a portable POSIX login name (starts with '-'); synced as is, but the cluster may not create it",
            "username of \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\" (ACTIVATE id 5) is not a portable POSIX login name (33 characters, more than 32); synced as is, but the cluster may not create it",
        ]
    );
}

#[test]
fn a_key_listing_without_one_public_key_holds_the_user_and_keeps_their_keys() {
    let mut org = Org::new();
    org.user("1", "alice", "Alice");
    org.user("2", "bob", "Bob");
    org.sync();
    let before = org.target.users();
    // A maintenance message answered as text for Alice's keys.
    org.user_mut("1").ssh_keys = Some(vec![
        "Service temporarily unavailable\nPlease try again later".into(),
    ]);
    // Bob really has no keys any more: that is not a listing without a key.
    org.user_mut("2").ssh_keys = Some(Vec::new());
    let plan = org.plan();
    assert_eq!(kinds(&plan), vec![ActionKind::UpdateUser]);
    assert_eq!(
        plan.conflicts,
        vec![Conflict::UnusableUser {
            user: Some("1".into()),
            user_name: Some("alice".into()),
            reason: "none of its 2 SSH key lines is a public key (line 1: Base64 encoding error: invalid Base64 encoding), so its keys are left as they are".into(),
        }]
    );
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    org.apply(&plan);
    let after = org.target.users();
    let alice = before.iter().find(|(_, u)| u.user_name == "alice").unwrap();
    assert_eq!(&after[alice.0], alice.1, "alice keeps her record and keys");
    let bob = after.values().find(|u| u.user_name == "bob").unwrap();
    assert!(bob.ssh_keys.is_empty());
}
