//! The ACTIVATE emulator's state: one organization with users, groups and keys.
//!
//! # Fixture format
//!
//! A JSON document (camelCase keys, unknown keys refused so that typos fail loudly):
//!
//! ```json
//! {
//!   "organization": "example-lab",
//!   "organizationId": "64f0a1b2c3d4e5f6a7b8c9d0",
//!   "users": [
//!     {
//!       "id": "65a1f3c2e4b0a1b2c3d4e001",
//!       "username": "alice.nguyen",
//!       "name": "Alice Nguyen",
//!       "email": "alice.nguyen@example-lab.org",
//!       "active": true,
//!       "licenseStatus": "active",
//!       "admin": false,
//!       "billingAdmin": false,
//!       "complimentary": false,
//!       "uid": 10001,
//!       "createdAt": "2024-02-11T09:11:00Z",
//!       "sshKeys": ["ssh-ed25519 AAAAC3Nza… alice@laptop"]
//!     }
//!   ],
//!   "groups": [
//!     {
//!       "id": "66b2e4d3f5c1b2c3d4e5f001",
//!       "name": "gpu-users",
//!       "description": "Everyone allowed to submit GPU jobs",
//!       "gid": 5001,
//!       "createdAt": "2024-02-01T12:00:00Z",
//!       "members": ["alice.nguyen"]
//!     }
//!   ]
//! }
//! ```
//!
//! | field | required | default | served as |
//! |---|---|---|---|
//! | `organization` | yes | | the org name (whoami, path segment) |
//! | `organizationId` | no | absent | `OrgUser.organization` |
//! | `users[].id`, `username` | yes | | `OrgUser.id`, `username`, `MemberDetail` |
//! | `users[].name`, `email`, `uid`, `createdAt` | no | absent (`email` is `""` in member lists) | same names |
//! | `users[].active`, `licenseStatus` | no | `true`, `"active"` | same names (`licenseStatus`: `active`, `complimentary`, `inactive`) |
//! | `users[].admin`, `billingAdmin`, `complimentary` | no | `false` | same names |
//! | `users[].sshKeys` | no | `[]` | joined with `\n` by `/api/users/{username}/ssh-public-keys`; lines are served as given, invalid ones included |
//! | `groups[].id`, `name` | yes | | `Group.id`, `name` |
//! | `groups[].description`, `gid`, `createdAt` | no | absent | same names |
//! | `groups[].members` | no | `[]` | usernames; `Group.members` is their count |
//!
//! Usernames are unique exactly (ACTIVATE has users differing only by case), as are
//! user ids, group ids and group names; every member must be a user of the fixture.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

const EXAMPLE_ORG: &str = include_str!("../../fixtures/example-org.json");

/// One organization: the whole state of the ACTIVATE emulator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fixture {
    /// The organization name.
    pub organization: String,
    /// The organization id, served as each user's `organization`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    /// Users, in the order the users endpoint lists them.
    #[serde(default)]
    pub users: Vec<FixtureUser>,
    /// Groups, in the order the groups endpoint lists them.
    #[serde(default)]
    pub groups: Vec<FixtureGroup>,
}

/// One ACTIVATE user.
// The flags mirror `OrgUser` in the ACTIVATE API one to one.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FixtureUser {
    /// User id.
    pub id: String,
    /// Username (unique, case-sensitive).
    pub username: String,
    /// Full name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether the account is active.
    #[serde(default = "default_true")]
    pub active: bool,
    /// License standing.
    #[serde(default)]
    pub license_status: LicenseStatus,
    /// Platform admin.
    #[serde(default)]
    pub admin: bool,
    /// Platform billing admin.
    #[serde(default)]
    pub billing_admin: bool,
    /// Consumes no license seat.
    #[serde(default)]
    pub complimentary: bool,
    /// POSIX uid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// Creation time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// `authorized_keys` lines, served as given (invalid lines included).
    #[serde(default)]
    pub ssh_keys: Vec<String>,
}

impl FixtureUser {
    /// An active user with a license and nothing else: no name, email, uid or keys
    /// (set those with struct update syntax).
    pub fn new(id: impl Into<String>, username: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            username: username.into(),
            name: None,
            email: None,
            active: true,
            license_status: LicenseStatus::Active,
            admin: false,
            billing_admin: false,
            complimentary: false,
            uid: None,
            created_at: None,
            ssh_keys: Vec::new(),
        }
    }
}

/// `OrgUser.licenseStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LicenseStatus {
    /// Consumes a seat.
    #[default]
    Active,
    /// An account that consumes no seat.
    Complimentary,
    /// Disabled.
    Inactive,
}

/// One ACTIVATE group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FixtureGroup {
    /// Group id.
    pub id: String,
    /// Group name (the path key).
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// POSIX gid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    /// Creation time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Member usernames.
    #[serde(default)]
    pub members: Vec<String>,
}

fn default_true() -> bool {
    true
}

/// A fixture that could not be read, parsed, validated or changed.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// The file could not be read.
    #[error("could not read fixture {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The JSON does not match the fixture format.
    #[error("fixture is not in the documented format")]
    Parse(#[source] serde_json::Error),
    /// The content breaks an invariant, or a change names something unknown.
    #[error("{0}")]
    Invalid(String),
}

impl Fixture {
    /// The bundled example organization `example-lab` (12 users, 5 groups).
    ///
    /// # Panics
    ///
    /// Never: the bundled file is valid, which a unit test checks.
    pub fn example() -> Self {
        Self::from_json(EXAMPLE_ORG).expect("the bundled example fixture is valid (tested)")
    }

    /// The bundled example as JSON text.
    pub fn example_json() -> &'static str {
        EXAMPLE_ORG
    }

    /// The organization as ACTIVATE's read-only SCIM server shows it, shaped for
    /// [`ScimEmulator::seed_snapshot`](crate::scim::ScimEmulator::seed_snapshot):
    /// `{"Users": [...], "Groups": [...]}` with the REST ids, `active` folding in the
    /// license (`active` and not `inactive`), and each user's key lines in the
    /// CoreWeave extension's `sunkSshKeys` (left out, schema and all, when
    /// `with_keys` is false, as a server does when the extension is not asked for).
    pub fn scim_view(&self, with_keys: bool) -> serde_json::Value {
        use serde_json::json;
        const EXTENSION: &str = crate::scim::CW_USER_EXT;
        let users: Vec<serde_json::Value> = self
            .users
            .iter()
            .map(|user| {
                let mut record = json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "id": user.id,
                    "userName": user.username,
                    "active": user.active && user.license_status != LicenseStatus::Inactive,
                    "name": {"formatted": user.name},
                    "displayName": user.name,
                    "emails": [{"value": user.email, "primary": true, "type": "work"}],
                });
                if with_keys {
                    record["schemas"] =
                        json!(["urn:ietf:params:scim:schemas:core:2.0:User", EXTENSION]);
                    record[EXTENSION] = json!({"sunkSshKeys": user.ssh_keys});
                }
                record
            })
            .collect();
        let groups: Vec<serde_json::Value> = self
            .groups
            .iter()
            .map(|group| {
                let members: Vec<serde_json::Value> = group
                    .members
                    .iter()
                    .filter_map(|name| self.user(name))
                    .map(|user| json!({"value": user.id}))
                    .collect();
                json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "id": group.id,
                    "displayName": group.name,
                    "members": members,
                })
            })
            .collect();
        json!({"Users": users, "Groups": groups})
    }

    /// Parses and validates a fixture.
    pub fn from_json(json: &str) -> Result<Self, FixtureError> {
        let fixture: Self = serde_json::from_str(json).map_err(FixtureError::Parse)?;
        fixture.validate()?;
        Ok(fixture)
    }

    /// Reads, parses and validates a fixture file.
    pub fn load(path: &Path) -> Result<Self, FixtureError> {
        let text = std::fs::read_to_string(path).map_err(|source| FixtureError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_json(&text)
    }

    /// Pretty JSON in the fixture format.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks the invariants listed in the module docs.
    pub fn validate(&self) -> Result<(), FixtureError> {
        if self.organization.is_empty() {
            return Err(invalid("organization must not be empty"));
        }
        let mut user_ids = std::collections::HashSet::new();
        let mut usernames = std::collections::HashSet::new();
        for user in &self.users {
            if user.id.is_empty() || user.username.is_empty() {
                return Err(invalid("every user needs a non-empty id and username"));
            }
            if !user_ids.insert(user.id.as_str()) {
                return Err(invalid(format!("user id {:?} appears twice", user.id)));
            }
            if !usernames.insert(user.username.as_str()) {
                return Err(invalid(format!(
                    "username {:?} appears twice",
                    user.username
                )));
            }
        }
        let mut group_ids = std::collections::HashSet::new();
        let mut group_names = std::collections::HashSet::new();
        for group in &self.groups {
            if group.id.is_empty() || group.name.is_empty() {
                return Err(invalid("every group needs a non-empty id and name"));
            }
            if !group_ids.insert(group.id.as_str()) {
                return Err(invalid(format!("group id {:?} appears twice", group.id)));
            }
            if !group_names.insert(group.name.as_str()) {
                return Err(invalid(format!(
                    "group name {:?} appears twice",
                    group.name
                )));
            }
            let mut members = std::collections::HashSet::new();
            for member in &group.members {
                if !usernames.contains(member.as_str()) {
                    return Err(invalid(format!(
                        "group {:?} lists {member:?}, who is not a user",
                        group.name
                    )));
                }
                if !members.insert(member.as_str()) {
                    return Err(invalid(format!(
                        "group {:?} lists {member:?} twice",
                        group.name
                    )));
                }
            }
        }
        Ok(())
    }

    /// The user with this exact username.
    pub fn user(&self, username: &str) -> Option<&FixtureUser> {
        self.users.iter().find(|u| u.username == username)
    }

    /// The group with this exact name.
    pub fn group(&self, name: &str) -> Option<&FixtureGroup> {
        self.groups.iter().find(|g| g.name == name)
    }

    fn user_mut(&mut self, username: &str) -> Result<&mut FixtureUser, FixtureError> {
        self.users
            .iter_mut()
            .find(|u| u.username == username)
            .ok_or_else(|| invalid(format!("no user named {username:?}")))
    }

    fn group_mut(&mut self, name: &str) -> Result<&mut FixtureGroup, FixtureError> {
        self.groups
            .iter_mut()
            .find(|g| g.name == name)
            .ok_or_else(|| invalid(format!("no group named {name:?}")))
    }

    /// Adds a user (validated with the rest).
    pub fn add_user(&mut self, user: FixtureUser) -> Result<(), FixtureError> {
        self.users.push(user);
        self.validate().inspect_err(|_| {
            self.users.pop();
        })
    }

    /// Removes a user from the organization and from every group.
    pub fn remove_user(&mut self, username: &str) -> Result<FixtureUser, FixtureError> {
        let index = self
            .users
            .iter()
            .position(|u| u.username == username)
            .ok_or_else(|| invalid(format!("no user named {username:?}")))?;
        for group in &mut self.groups {
            group.members.retain(|m| m != username);
        }
        Ok(self.users.remove(index))
    }

    /// Sets a user's `active` flag.
    pub fn set_user_active(&mut self, username: &str, active: bool) -> Result<(), FixtureError> {
        self.user_mut(username)?.active = active;
        Ok(())
    }

    /// Sets a user's license status.
    pub fn set_license_status(
        &mut self,
        username: &str,
        status: LicenseStatus,
    ) -> Result<(), FixtureError> {
        self.user_mut(username)?.license_status = status;
        Ok(())
    }

    /// Replaces a user's SSH key lines (a key rotation).
    pub fn set_ssh_keys(&mut self, username: &str, keys: Vec<String>) -> Result<(), FixtureError> {
        self.user_mut(username)?.ssh_keys = keys;
        Ok(())
    }

    /// Renames a group (its id stays).
    pub fn rename_group(&mut self, name: &str, new_name: &str) -> Result<(), FixtureError> {
        if self.group(new_name).is_some() {
            return Err(invalid(format!(
                "a group named {new_name:?} exists already"
            )));
        }
        new_name.clone_into(&mut self.group_mut(name)?.name);
        Ok(())
    }

    /// Adds an existing user to a group (no-op if already a member).
    pub fn add_member(&mut self, group: &str, username: &str) -> Result<(), FixtureError> {
        if self.user(username).is_none() {
            return Err(invalid(format!("no user named {username:?}")));
        }
        let group = self.group_mut(group)?;
        if !group.members.iter().any(|m| m == username) {
            group.members.push(username.to_owned());
        }
        Ok(())
    }

    /// Removes a user from a group (no-op if not a member).
    pub fn remove_member(&mut self, group: &str, username: &str) -> Result<(), FixtureError> {
        self.group_mut(group)?.members.retain(|m| m != username);
        Ok(())
    }

    /// Adds a group (validated with the rest).
    pub fn add_group(&mut self, group: FixtureGroup) -> Result<(), FixtureError> {
        self.groups.push(group);
        self.validate().inspect_err(|_| {
            self.groups.pop();
        })
    }
}

fn invalid(message: impl Into<String>) -> FixtureError {
    FixtureError::Invalid(message.into())
}
