//! Access removal holds where a guard, a held user or a server's quirk could
//! keep it back: regression tests for each way it once did not.

use reconcile_core::{
    Action, ActionKind, Conflict, DeactivationLimit, ExternalId, GuardKind, OwnedUser, ScimId,
    UnusableUser, UserChange, apply,
};

use crate::support::{Around, Org, Wrapped, key};

fn scim_id_of(org: &Org, name: &str) -> ScimId {
    org.target
        .users()
        .into_iter()
        .find(|(_, u)| u.user_name == name)
        .map(|(id, _)| id)
        .expect("a record")
}

fn groups_holding(org: &Org, id: &ScimId) -> Vec<String> {
    org.target
        .groups()
        .values()
        .filter(|g| g.members.contains(id))
        .map(|g| g.display_name.clone())
        .collect()
}

/// Alice and bob in gpu, synced; then gpu's ACTIVATE id changes (its record
/// is to be re-keyed) and bob leaves ACTIVATE.
fn rekeyed_group_with_a_departure() -> Org {
    let mut org = Org::new();
    org.user("1", "alice", "Alice");
    org.user("2", "bob", "Bob");
    org.group("g1", "gpu", &["1", "2"]);
    org.sync();
    org.group_mut("g1").id = "scim-g1".into();
    org.remove_user("2");
    org
}

/// A withheld group re-key keeps its rename and additions back, not the
/// removal of a member who left.
#[test]
fn a_withheld_group_rekey_still_removes_a_departed_member() {
    let mut org = rekeyed_group_with_a_departure();
    org.options.rekey_limit = Some(DeactivationLimit::Absolute(0));
    let plan = org.plan();
    assert_eq!(plan.guards.tripped, vec![GuardKind::ReKeyLimit]);
    let report = org.apply(&plan);
    assert!(report.is_complete(), "{report:#?}");
    let bob = scim_id_of(&org, "bob");
    assert!(!org.target.users()[&bob].active);
    assert_eq!(groups_holding(&org, &bob), Vec::<String>::new());
    let gpu = org.target.groups().into_values().next().expect("gpu");
    assert_eq!(
        gpu.external_id.as_ref().map(|e| e.as_str().to_owned()),
        Some("pw-activate:group:g1".to_owned()),
        "the re-key itself waits"
    );
}

/// When another guard splits a group re-key's removals out, the re-key stays.
#[test]
fn a_split_group_rekey_is_not_dropped() {
    let mut org = rekeyed_group_with_a_departure();
    org.options.deactivation_limit = Some(DeactivationLimit::Absolute(0));
    let plan = org.plan();
    assert_eq!(plan.guards.rekeys_planned, 1);
    assert!(
        plan.applicable()
            .any(|op| matches!(&op.action, Action::UpdateGroup(u) if u.rekey.is_some()))
    );
}

/// A group whose create did not prove ownership never gets members: the
/// tool could never remove them from a group it cannot recognize.
#[test]
fn an_unproven_group_create_gives_nobody_access() {
    let mut org = Org::new();
    org.user("1", "alice", "Alice");
    org.user("2", "bob", "Bob");
    org.sync();
    org.group("g1", "gpu", &["1", "2"]);
    org.target.drop_external_ids_on_create();
    let report = org.apply(&org.plan());
    assert!(report.ownership_not_kept.is_some());
    let gpu = org.target.groups().into_values().next().expect("created");
    assert!(gpu.members.is_empty(), "{gpu:?}");
}

/// A user whose create did not prove ownership is created inactive and
/// without keys.
#[test]
fn an_unproven_user_create_gives_no_access() {
    let mut org = Org::new();
    org.user("1", "alice", "Alice");
    org.target.drop_external_ids_on_create();
    let report = org.apply(&org.plan());
    assert!(report.ownership_not_kept.is_some());
    let alice = org.target.users().into_values().next().expect("created");
    assert!(!alice.active && alice.ssh_keys.is_empty(), "{alice:?}");
}

/// Ignores `replace sunkSshKeys []` and answers every user PATCH with 204.
struct KeepsKeys;

impl Around for KeepsKeys {
    fn carried_out(&self, changes: &[UserChange]) -> Vec<UserChange> {
        changes
            .iter()
            .filter(|c| !matches!(c, UserChange::SshKeys(k) if k.new.is_empty()))
            .cloned()
            .collect()
    }

    fn answers_user_patches(&self) -> bool {
        false
    }
}

/// A deactivation the server did not carry out (keys kept) is a failed
/// operation, checked by reading the record back whatever the read-back budget.
#[test]
fn a_key_removal_that_did_not_stick_fails_the_operation() {
    let mut org = Org::new();
    org.user("1", "alice", "Alice");
    org.user("2", "bob", "Bob");
    org.sync();
    org.remove_user("2");
    let plan = org.plan();
    let options = reconcile_core::ApplyOptions {
        read_backs: 0,
        ..reconcile_core::ApplyOptions::default()
    };
    let report = futures::executor::block_on(apply(
        &plan,
        &Wrapped {
            inner: &org.target,
            around: KeepsKeys,
        },
        &options,
    ));
    assert!(
        !org.target.users()[&scim_id_of(&org, "bob")]
            .ssh_keys
            .is_empty()
    );
    assert!(!report.not_kept.is_empty());
    assert!(!report.is_complete());
    let failure = &report.failures[0];
    assert_eq!(failure.action, ActionKind::Deactivate);
    assert!(
        failure
            .error
            .message
            .contains("did not take the access away"),
        "{}",
        failure.error
    );
}

/// A held user without a username could own any record whose key matches no
/// ACTIVATE user: no such record is retired while one is held.
#[test]
fn a_held_user_without_a_username_freezes_the_records_it_could_own() {
    let mut org = Org::new();
    org.user("1", "alice", "Alice");
    org.user("5", "carol", "Carol");
    org.sync();
    org.user_mut("1").id = "s1".into();
    org.remove_user("5");
    org.snapshot.unusable_users.push(UnusableUser {
        id: Some("s5".into()),
        username: None,
        reason: "no userName".into(),
    });
    let plan = org.plan();
    assert!(
        plan.applicable()
            .all(|op| op.action.kind() != ActionKind::Deactivate),
        "{}",
        plan.to_text()
    );
}

/// Carol, in gpu and cpu with two keys, synced; then ACTIVATE renames her to a
/// name a record we do not own holds, removes one key, adds another, moves her
/// from cpu to ml.
fn blocked_rename_with_removals() -> Org {
    let mut org = Org::new();
    org.user("1", "carol", "Carol").ssh_keys = Some(vec![key(1, "laptop"), key(2, "old")]);
    org.user("2", "dan", "Dan");
    org.group("g1", "gpu", &["1", "2"]);
    org.group("g2", "cpu", &["1", "2"]);
    org.group("g3", "ml", &["2"]);
    org.sync();
    org.target
        .insert_user(OwnedUser {
            external_id: ExternalId::new("okta:00u7"),
            user_name: "caroline".into(),
            active: true,
            ..OwnedUser::default()
        })
        .unwrap();
    let carol = org.user_mut("1");
    carol.username = "caroline".into();
    // The comment of the kept key changes too: still the same key.
    carol.ssh_keys = Some(vec![key(1, "laptop 2"), key(3, "new")]);
    org.group_mut("g2").members.retain(|m| m.as_str() != "1");
    org.group_mut("g3").members.push("1".into());
    org
}

#[test]
fn a_blocked_rename_still_takes_away_what_the_user_lost_and_grants_nothing() {
    let mut org = blocked_rename_with_removals();
    let plan = org.plan();
    assert!(
        matches!(
            plan.conflicts.as_slice(),
            [Conflict::ForeignUserName { user }] if user.user_name == "caroline"
        ),
        "{}",
        plan.to_text()
    );
    let carol = scim_id_of(&org, "carol");
    let patches: Vec<&Vec<UserChange>> = plan
        .applicable()
        .filter_map(|op| match &op.action {
            Action::UpdateUser(p) if p.scim_id == carol => Some(&p.changes),
            _ => None,
        })
        .collect();
    let [changes] = patches.as_slice() else {
        panic!("one PATCH of carol's record: {}", plan.to_text());
    };
    let [UserChange::SshKeys(keys)] = changes.as_slice() else {
        panic!("only her keys change, no rename: {changes:?}");
    };
    assert_eq!(
        keys.new
            .iter()
            .map(reconcile_core::SshKey::comment)
            .collect::<Vec<_>>(),
        ["laptop 2"],
        "the removed key goes, the new one waits"
    );

    let report = org.apply(&plan);
    assert!(report.failures.is_empty(), "{report:#?}");
    assert_eq!(org.target.users()[&carol].user_name, "carol");
    assert_eq!(org.target.users()[&carol].ssh_keys.len(), 1);
    let mut groups = groups_holding(&org, &carol);
    groups.sort();
    assert_eq!(groups, ["gpu"], "left cpu, not added to ml");
    let again = org.plan();
    assert_eq!(again.applicable().count(), 0, "{}", again.to_text());
    assert_eq!(again.conflicts.len(), 1);

    // Renamed again to a free name: the rename and what waited go out.
    org.user_mut("1").username = "carol.b".into();
    org.sync();
    assert_eq!(org.target.users()[&carol].user_name, "carol.b");
    assert_eq!(org.target.users()[&carol].ssh_keys.len(), 2);
    let mut groups = groups_holding(&org, &carol);
    groups.sort();
    assert_eq!(groups, ["gpu", "ml"]);
}
