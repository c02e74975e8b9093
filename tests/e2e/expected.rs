//! What the target must hold, derived from an ACTIVATE fixture by the reconcile rules
//! of `docs/design.md`, written out independently of the code under test.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use testkit::activate::{Fixture, FixtureUser, LicenseStatus};
use testkit::scim::{CW_USER_EXT, GROUP_SCHEMA, USER_SCHEMA};

use crate::harness::{GroupView, State, UserView};

/// The key lines of the example fixture that are not valid OpenSSH keys.
pub const INVALID_KEY_LINES: [&str; 1] = ["ssh-ed25519 not*valid*base64 hana@broken-paste"];

/// `pw-activate:user:<id>`.
pub fn user_key(id: &str) -> String {
    format!("pw-activate:user:{id}")
}

/// `pw-activate:group:<id>`.
pub fn group_key(id: &str) -> String {
    format!("pw-activate:group:{id}")
}

/// Active in the target: ACTIVATE says active and the license is not inactive.
pub fn is_active(user: &FixtureUser) -> bool {
    user.active && user.license_status != LicenseStatus::Inactive
}

/// A key line in normal form: whitespace runs collapsed to one space, trimmed.
pub fn normal_key(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The keys a user's record carries: valid lines, normalised, one per key data (the
/// first line's comment wins).
pub fn keys(user: &FixtureUser) -> BTreeSet<String> {
    let mut seen_data = BTreeSet::new();
    let mut out = BTreeSet::new();
    for line in &user.ssh_keys {
        let line = normal_key(line);
        if line.is_empty() || INVALID_KEY_LINES.contains(&line.as_str()) {
            continue;
        }
        let data: Vec<&str> = line.splitn(3, ' ').take(2).collect();
        if seen_data.insert(data.join(" ")) {
            out.insert(line);
        }
    }
    out
}

/// `(given, family)`: the last word is the family name.
pub fn split_name(full: &str) -> (String, String) {
    let (given, family) = full
        .rsplit_once(' ')
        .expect("fixture names have two or more words");
    (given.to_owned(), family.to_owned())
}

/// The record of an ACTIVATE user, with `active` as given.
pub fn user_view(user: &FixtureUser, active: bool) -> UserView {
    let full = user.name.clone().expect("fixture users have names");
    let (given, family) = split_name(&full);
    UserView {
        external_id: Some(user_key(&user.id)),
        given_name: Some(given),
        family_name: Some(family),
        formatted: Some(full.clone()),
        display_name: Some(full),
        emails: vec![(
            user.email.clone().expect("fixture users have emails"),
            Some("work".to_owned()),
            true,
        )],
        active,
        ssh_keys: keys(user),
    }
}

/// The target after a first sync of `fixture` into an empty target, optionally limited
/// to the members of the `scope` groups (ids are left empty).
pub fn initial_state(fixture: &Fixture, scope: Option<&[&str]>) -> State {
    let in_scope_groups: Vec<_> = fixture
        .groups
        .iter()
        .filter(|g| scope.is_none_or(|names| names.contains(&g.name.as_str())))
        .collect();
    let in_scope_users: BTreeSet<&str> = match scope {
        None => fixture.users.iter().map(|u| u.username.as_str()).collect(),
        Some(_) => in_scope_groups
            .iter()
            .flat_map(|g| g.members.iter().map(String::as_str))
            .collect(),
    };
    let users: BTreeMap<String, UserView> = fixture
        .users
        .iter()
        .filter(|u| in_scope_users.contains(u.username.as_str()) && is_active(u))
        .map(|u| (u.username.clone(), user_view(u, true)))
        .collect();
    let groups = in_scope_groups
        .iter()
        .map(|g| {
            (
                g.name.clone(),
                GroupView {
                    external_id: Some(group_key(&g.id)),
                    members: g
                        .members
                        .iter()
                        .filter(|m| users.contains_key(*m))
                        .cloned()
                        .collect(),
                },
            )
        })
        .collect();
    State {
        users,
        groups,
        ..State::default()
    }
}

/// Asserts that `actual` holds exactly the users and groups of `expected` (ids are
/// not compared), user by user and group by group.
#[track_caller]
pub fn assert_records(actual: &State, expected: &State) {
    assert_eq!(
        actual.users.keys().collect::<Vec<_>>(),
        expected.users.keys().collect::<Vec<_>>(),
        "user names in the target"
    );
    for (name, want) in &expected.users {
        assert_eq!(&actual.users[name], want, "user {name}");
    }
    assert_eq!(
        actual.groups.keys().collect::<Vec<_>>(),
        expected.groups.keys().collect::<Vec<_>>(),
        "group names in the target"
    );
    for (name, want) in &expected.groups {
        assert_eq!(&actual.groups[name], want, "group {name}");
    }
}

/// The exact JSON body a first sync stores for an active user (without `id` and
/// `meta`; the keys sorted).
pub fn user_json(user: &FixtureUser) -> Value {
    let view = user_view(user, true);
    let keys: Vec<&String> = view.ssh_keys.iter().collect();
    let mut schemas = vec![USER_SCHEMA];
    if !keys.is_empty() {
        schemas.push(CW_USER_EXT);
    }
    let mut value = json!({
        "schemas": schemas,
        "userName": user.username,
        "externalId": view.external_id,
        "name": {
            "formatted": view.formatted,
            "givenName": view.given_name,
            "familyName": view.family_name,
        },
        "displayName": view.display_name,
        "emails": [{"value": user.email, "type": "work", "primary": true}],
        "active": true,
    });
    if !keys.is_empty() {
        value[CW_USER_EXT] = json!({ "sunkSshKeys": keys });
    }
    value
}

/// The exact JSON a first sync stores for a group (without `id` and `meta`), with
/// `members` reduced to the sorted member ids.
pub fn group_json(display_name: &str, group_id: &str, member_ids: &[String]) -> Value {
    let mut sorted = member_ids.to_vec();
    sorted.sort();
    let mut value = json!({
        "schemas": [GROUP_SCHEMA],
        "displayName": display_name,
        "externalId": group_key(group_id),
    });
    if !sorted.is_empty() {
        value["members"] = json!(sorted);
    }
    value
}

/// A stored user without `id` and `meta`, its keys sorted, for [`user_json`].
pub fn stored_user(mut user: Value) -> Value {
    let object = user.as_object_mut().expect("a user is an object");
    object.remove("id");
    object.remove("meta");
    if let Some(keys) = object
        .get_mut(CW_USER_EXT)
        .and_then(|ext| ext.get_mut("sunkSshKeys"))
        .and_then(Value::as_array_mut)
    {
        keys.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    }
    user
}

/// A stored group without `id` and `meta`, its members reduced to sorted ids, for
/// [`group_json`].
pub fn stored_group(mut group: Value) -> Value {
    let object = group.as_object_mut().expect("a group is an object");
    object.remove("id");
    object.remove("meta");
    if let Some(members) = object.get_mut("members") {
        let mut ids: Vec<String> = members
            .as_array()
            .expect("members is an array")
            .iter()
            .map(|m| m["value"].as_str().expect("member value").to_owned())
            .collect();
        ids.sort();
        *members = json!(ids);
    }
    group
}
