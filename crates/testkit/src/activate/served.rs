//! One state of the organization as the handlers serve it: the fixture, its users
//! indexed by name, and the SCIM texts of its users and groups, built on first use.
//!
//! A state never changes: a change to the organization builds a new one, so the
//! index and the texts are never stale, and a handler holds the state it started
//! with without holding a lock.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::{Value, json};

use super::fixture::{Fixture, FixtureUser, LicenseStatus};
use crate::scim::{CW_USER_EXT, GROUP_SCHEMA, USER_SCHEMA};

/// The organization and what is derived from it.
#[derive(Debug)]
pub(crate) struct Served {
    pub(crate) fixture: Fixture,
    /// Username → position in `fixture.users` (the first user with the name).
    by_name: HashMap<String, usize>,
    /// Per user: its SCIM JSON without and with the CoreWeave extension.
    user_texts: Vec<[OnceLock<Box<str>>; 2]>,
    /// Per group: its SCIM JSON, members included.
    group_texts: Vec<OnceLock<Box<str>>>,
}

impl Served {
    pub(crate) fn new(fixture: Fixture) -> Self {
        let mut by_name = HashMap::with_capacity(fixture.users.len());
        for (at, user) in fixture.users.iter().enumerate() {
            by_name.entry(user.username.clone()).or_insert(at);
        }
        Self {
            user_texts: fixture.users.iter().map(|_| Default::default()).collect(),
            group_texts: fixture.groups.iter().map(|_| OnceLock::new()).collect(),
            by_name,
            fixture,
        }
    }

    /// The user with this exact username, as [`Fixture::user`] finds it.
    pub(crate) fn user(&self, username: &str) -> Option<&FixtureUser> {
        self.by_name
            .get(username)
            .map(|&at| &self.fixture.users[at])
    }

    /// The SCIM JSON of the user at `at` in `fixture.users`.
    pub(crate) fn user_text(&self, at: usize, with_extension: bool) -> &str {
        self.user_texts[at][usize::from(with_extension)].get_or_init(|| {
            scim_user(&self.fixture.users[at], with_extension)
                .to_string()
                .into()
        })
    }

    /// The SCIM JSON of the group at `at` in `fixture.groups`.
    pub(crate) fn group_text(&self, at: usize) -> &str {
        self.group_texts[at].get_or_init(|| {
            let group = &self.fixture.groups[at];
            let members: Vec<Value> = group
                .members
                .iter()
                .filter_map(|name| self.user(name))
                .map(|user| json!({"value": user.id, "display": user.username}))
                .collect();
            json!({
                "schemas": [GROUP_SCHEMA],
                "id": group.id,
                "displayName": group.name,
                "members": members,
            })
            .to_string()
            .into()
        })
    }
}

/// A user as ACTIVATE's SCIM server shows it.
fn scim_user(user: &FixtureUser, with_extension: bool) -> Value {
    let mut record = json!({
        "schemas": [USER_SCHEMA],
        "id": user.id,
        "userName": user.username,
        "active": user.active && user.license_status != LicenseStatus::Inactive,
    });
    if let Some(name) = &user.name {
        record["name"] = json!({"formatted": name});
        record["displayName"] = json!(name);
    }
    if let Some(email) = &user.email {
        record["emails"] = json!([{"value": email, "primary": true, "type": "work"}]);
    }
    if with_extension {
        record["schemas"] = json!([USER_SCHEMA, CW_USER_EXT]);
        record[CW_USER_EXT] = json!({"sunkSshKeys": user.ssh_keys});
    }
    record
}
