//! What the target (SCIM) holds, as read by the adapter: the owned records and
//! the user names held by records we do not own.

use serde::{Deserialize, Serialize};

use crate::handles::{Handle, IdTable, ListedIx};
use crate::ids::{ExternalId, ScimId};

/// The target's current state as far as the planner needs it.
///
/// `users` and `groups` should hold only owned records (`externalId` starting
/// with [`crate::ids::OWNED_PREFIX`]); the planner re-checks and ignores (with
/// a warning) anything else, treating such a user's `userName` as foreign.
///
/// Made by [`Observed::new`] (or empty, by `Default`), which reads each owned
/// group's members once as positions among the owned user records, so that
/// the planner never looks a member up by its text (as [`crate::Desired`] does
/// for desired groups). The users and the groups are read through
/// [`Observed::users`] and [`Observed::groups`] and cannot be changed, since
/// an edit could make the two disagree.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(from = "Records")]
pub struct Observed {
    /// Owned user records.
    users: Vec<OwnedUser>,
    /// Owned group records.
    groups: Vec<OwnedGroup>,
    /// `userName`s of user records we do not own (used only for conflict detection).
    pub foreign_user_names: Vec<String>,
    /// Group records we do not own whose `displayName` a group about to be
    /// created or renamed may clash with (used only for conflict detection;
    /// the adapter may look up only those names).
    pub foreign_groups: Vec<ForeignGroup>,
    /// For each group, for each of its members: the owned user record with
    /// that SCIM id (the first in `users` if several have it), if any.
    #[serde(skip)]
    members: Vec<Vec<Option<ListedIx>>>,
}

/// [`Observed`] as it is serialized.
#[derive(Deserialize)]
struct Records {
    users: Vec<OwnedUser>,
    groups: Vec<OwnedGroup>,
    foreign_user_names: Vec<String>,
    foreign_groups: Vec<ForeignGroup>,
}

impl From<Records> for Observed {
    fn from(records: Records) -> Self {
        Self {
            foreign_user_names: records.foreign_user_names,
            foreign_groups: records.foreign_groups,
            ..Self::new(records.users, records.groups)
        }
    }
}

impl Observed {
    /// The target's user and group records, with no foreign names (set
    /// [`Observed::foreign_user_names`] and [`Observed::foreign_groups`]
    /// after).
    pub fn new(users: Vec<OwnedUser>, groups: Vec<OwnedGroup>) -> Self {
        // Each distinct owned SCIM id, and the first record carrying it.
        let mut ids = IdTable::<u32>::with_capacity(users.len());
        let mut first = Vec::with_capacity(users.len());
        for (position, user) in users.iter().enumerate() {
            if user.external_id.is_owned() && ids.insert(user.scim_id.as_str()) {
                first.push(ListedIx::at(position));
            }
        }
        let members = groups
            .iter()
            .map(|group| {
                group
                    .members
                    .iter()
                    .map(|id| {
                        ids.get(id.as_str())
                            .map(|distinct| first[distinct as usize])
                    })
                    .collect()
            })
            .collect();
        Self {
            users,
            groups,
            foreign_user_names: Vec::new(),
            foreign_groups: Vec::new(),
            members,
        }
    }

    /// The user records, in the order they were given.
    pub fn users(&self) -> &[OwnedUser] {
        &self.users
    }

    /// The group records, in the order they were given.
    pub fn groups(&self) -> &[OwnedGroup] {
        &self.groups
    }

    /// The members of group `group` (a position in [`Observed::groups`]),
    /// each the owned user record with its SCIM id, if there is one.
    pub(crate) fn member_records(&self, group: usize) -> &[Option<ListedIx>] {
        &self.members[group]
    }
}

/// A group record we do not own, named in a conflict.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ForeignGroup {
    /// The SCIM id.
    pub scim_id: ScimId,
    /// `displayName`.
    pub display_name: String,
}

/// A user record as the target holds it: what the adapter reads, what
/// [`crate::ScimTarget`] writes answer with, and what
/// [`crate::InMemoryTarget`] stores (its records we do not own too).
///
/// [`Default`] is an empty record (empty ids, inactive), for building records
/// by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnedUser {
    /// The SCIM id.
    pub scim_id: ScimId,
    /// The `externalId` (empty when the record has none).
    pub external_id: ExternalId,
    /// `userName`.
    pub user_name: String,
    /// `name.givenName`.
    pub given_name: Option<String>,
    /// `name.familyName`.
    pub family_name: Option<String>,
    /// `name.formatted`.
    pub formatted_name: Option<String>,
    /// `displayName`.
    pub display_name: Option<String>,
    /// The primary (or only) email address.
    pub email: Option<String>,
    /// `active`.
    pub active: bool,
    /// The `sunkSshKeys` extension values, as stored.
    pub ssh_keys: Vec<String>,
}

/// An owned group record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnedGroup {
    /// The SCIM id.
    pub scim_id: ScimId,
    /// The `externalId`.
    pub external_id: ExternalId,
    /// `displayName`.
    pub display_name: String,
    /// SCIM ids of the members.
    pub members: Vec<ScimId>,
}

impl Default for OwnedUser {
    fn default() -> Self {
        Self {
            scim_id: ScimId::new(""),
            external_id: ExternalId::new(""),
            user_name: String::new(),
            given_name: None,
            family_name: None,
            formatted_name: None,
            display_name: None,
            email: None,
            active: false,
            ssh_keys: Vec::new(),
        }
    }
}
