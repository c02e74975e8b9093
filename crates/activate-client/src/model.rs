//! What the crate returns: users, groups and members as the reconciler needs them.
//!
//! The wire shapes (`OrgUser`, `Group`, `MemberDetail`) are read tolerantly: unknown
//! fields are ignored, `null` lists are empty, and empty optional strings are `None`.

use std::sync::Arc;

/// A user's license standing.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LicenseStatus {
    /// Consumes a seat.
    Active,
    /// Consumes no seat.
    Complimentary,
    /// Disabled.
    Inactive,
    /// A value this crate does not know; treated like an enabled license.
    Other(String),
}

impl LicenseStatus {
    /// Reads the wire value (`active`, `complimentary`, `inactive`, or anything else).
    pub fn from_wire(value: &str) -> Self {
        match value {
            "active" => Self::Active,
            "complimentary" => Self::Complimentary,
            "inactive" => Self::Inactive,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// An organization user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The immutable ACTIVATE user id.
    pub id: String,
    /// The username (mixed case, as ACTIVATE has it).
    pub username: String,
    /// The full name, if set.
    pub name: Option<String>,
    /// The email address, if set.
    pub email: Option<String>,
    /// ACTIVATE's `active` flag.
    pub active: bool,
    /// The license standing; `None` when the source does not report one (ACTIVATE's
    /// SCIM endpoint).
    pub license_status: Option<LicenseStatus>,
    /// The POSIX UID, if assigned.
    pub uid: Option<i64>,
    /// The user's SSH public key lines, raw (not validated). `None` when they were not
    /// fetched: in a snapshot, keys are fetched exactly for the users who will be
    /// active in scope.
    pub ssh_keys: Option<Vec<String>>,
}

impl User {
    /// Whether ACTIVATE considers the account enabled: `active`, and the license is
    /// not `inactive`.
    pub fn is_enabled(&self) -> bool {
        self.active && self.license_status != Some(LicenseStatus::Inactive)
    }
}

/// A user the organization lists whose record cannot be used: it does not decode,
/// its id or username is empty, or its SSH keys cannot be read. Nothing should be
/// written for it; without an id it cannot be told apart from a user who left, so a
/// snapshot holding one is not complete (see [`crate::OrgSnapshot::is_complete`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnusableUser {
    /// The user id, when the record has a non-empty one.
    pub id: Option<String>,
    /// The username, when the record has a non-empty one.
    pub username: Option<String>,
    /// Why the record cannot be used, in a few words.
    pub reason: String,
}

/// The organization's user list: the users that can be used, and those that cannot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserListing {
    /// The usable users, sorted by id.
    pub users: Vec<User>,
    /// The entries that cannot be used, in the order they arrived.
    pub unusable: Vec<UnusableUser>,
}

/// An entry of the organization's group list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInfo {
    /// The group id (optional in the API).
    pub id: Option<String>,
    /// The group name, which is also its path key (nullable in the API).
    pub name: Option<String>,
    /// How many members the group list says the group has (`members`, a count here),
    /// used to cross-check the member list.
    pub member_count: Option<u64>,
}

/// A member of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member's user id.
    pub id: String,
    /// The member's username.
    pub username: String,
}

/// A group of a snapshot, with its complete member list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The immutable ACTIVATE group id.
    pub id: String,
    /// The group name.
    pub name: String,
    /// The members' user ids, sorted, without repeats. May hold ids that are not in
    /// the snapshot's users (see [`crate::OrgSnapshot::members_not_in_org`]). In a
    /// snapshot, each id's text is held once, shared by every group it is a member
    /// of (the memberships of a large organization are many times its users).
    pub member_ids: Vec<Arc<str>>,
}

pub(crate) fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|s| !s.trim().is_empty())
}

/// Wire shapes, read tolerantly.
pub(crate) mod wire {
    use serde::{Deserialize, Deserializer};

    fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
    }

    /// `GET /api/organizations/{org}/users`. The entries are decoded one by one, so
    /// that one malformed user holds only itself.
    #[derive(Debug, Deserialize)]
    pub(crate) struct UsersPage {
        pub(crate) total: u64,
        #[serde(default, deserialize_with = "null_as_empty")]
        pub(crate) users: Vec<serde_json::Value>,
    }

    /// `OrgUser`.
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(crate) struct OrgUser {
        pub(crate) id: String,
        pub(crate) username: String,
        pub(crate) active: bool,
        #[serde(default)]
        pub(crate) license_status: Option<String>,
        #[serde(default)]
        pub(crate) email: Option<String>,
        #[serde(default)]
        pub(crate) name: Option<String>,
        #[serde(default)]
        pub(crate) uid: Option<i64>,
    }

    /// `Group`.
    #[derive(Debug, Deserialize)]
    pub(crate) struct Group {
        #[serde(default)]
        pub(crate) id: Option<String>,
        #[serde(default)]
        pub(crate) name: Option<String>,
        /// A count in the group list; anything but a non-negative integer is ignored.
        #[serde(default)]
        pub(crate) members: Option<serde_json::Value>,
    }

    /// `MemberDetail`.
    #[derive(Debug, Deserialize)]
    pub(crate) struct MemberDetail {
        pub(crate) id: String,
        pub(crate) username: String,
    }

    /// A bare array that may be `null`.
    #[derive(Debug, Deserialize)]
    #[serde(transparent)]
    pub(crate) struct NullableList<T>(
        #[serde(deserialize_with = "null_as_empty")] pub(crate) Vec<T>,
    )
    where
        T: for<'a> Deserialize<'a>;
}

impl From<wire::OrgUser> for User {
    fn from(u: wire::OrgUser) -> Self {
        Self {
            id: u.id,
            username: u.username,
            name: non_empty(u.name),
            email: non_empty(u.email),
            active: u.active,
            license_status: u.license_status.as_deref().map(LicenseStatus::from_wire),
            uid: u.uid,
            ssh_keys: None,
        }
    }
}
