//! What the target (SCIM) holds, as read by the adapter: the owned records and
//! the user names held by records we do not own.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::handles::{Handle, IdTable, ListedIx};
use crate::ids::{ExternalId, ScimId};

/// The target's current state as far as the planner needs it.
///
/// `users` and `groups` should hold only owned records (`externalId` starting
/// with [`crate::ids::OWNED_PREFIX`]); the planner re-checks and ignores (with
/// a warning) anything else, treating such a user's `userName` as foreign.
///
/// Made by [`Observed::new`] (or empty, by `Default`), which reads each
/// group's members once as positions among the user records as listed, so
/// that the planner never looks a member up by its text (as [`crate::project`]
/// already does for desired groups). The users and the groups are read through
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
    members: MemberRecords,
}

/// Each group's members as user records (made from the rest of [`Observed`],
/// so `Debug` only counts them).
#[derive(Clone, PartialEq, Eq, Default)]
struct MemberRecords(Vec<Vec<Option<ListedIx>>>);

impl fmt::Debug for MemberRecords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let members: usize = self.0.iter().map(Vec::len).sum();
        write!(f, "{members} members of {} groups", self.0.len())
    }
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
                // Members listed in the users' order cost one comparison each.
                let mut previous = None;
                group
                    .members
                    .iter()
                    .map(|id| {
                        let distinct = ids.get_after(id.as_str(), previous);
                        previous = distinct.or(previous);
                        distinct.map(|d| first[d.position()])
                    })
                    .collect()
            })
            .collect();
        Self {
            users,
            groups,
            foreign_user_names: Vec::new(),
            foreign_groups: Vec::new(),
            members: MemberRecords(members),
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
        &self.members.0[group]
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

#[cfg(test)]
mod tests {
    use super::{ForeignGroup, Observed, OwnedGroup, OwnedUser};
    use crate::handles::Handle;
    use crate::ids::{ExternalId, ScimId};

    fn user(scim_id: &str, key: &str) -> OwnedUser {
        OwnedUser {
            scim_id: ScimId::new(scim_id),
            external_id: ExternalId::new(key),
            user_name: scim_id.to_owned(),
            ..OwnedUser::default()
        }
    }

    fn observed() -> Observed {
        let users = vec![
            user("s1", "okta:1"),
            user("s2", "pw-activate:user:2"),
            user("s1", "pw-activate:user:1"),
            user("s2", "pw-activate:user:3"),
        ];
        let groups = vec![OwnedGroup {
            scim_id: ScimId::new("g"),
            external_id: ExternalId::new("pw-activate:group:g"),
            display_name: "g".to_owned(),
            members: ["s2", "s9", "s1", "s2"]
                .into_iter()
                .map(ScimId::new)
                .collect(),
        }];
        let mut observed = Observed::new(users, groups);
        observed.foreign_user_names = vec!["svc".to_owned()];
        observed.foreign_groups = vec![ForeignGroup {
            scim_id: ScimId::new("f"),
            display_name: "admins".to_owned(),
        }];
        observed
    }

    #[test]
    fn members_are_the_first_owned_record_with_their_scim_id() {
        let positions: Vec<Option<usize>> = observed()
            .member_records(0)
            .iter()
            .map(|r| r.map(Handle::position))
            .collect();
        // s1 is first listed by a record we do not own (position 0): its owned
        // record is at 2. s2 is owned at 1 and 3: the first wins. s9 is nobody.
        assert_eq!(positions, [Some(1), None, Some(2), Some(1)]);
    }

    #[test]
    fn deserializing_rebuilds_the_member_positions() {
        let observed = observed();
        let json = serde_json::to_value(&observed).expect("serializes");
        let mut fields: Vec<&str> = json
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            ["foreign_groups", "foreign_user_names", "groups", "users"]
        );
        let read: Observed = serde_json::from_value(json).expect("deserializes");
        assert_eq!(read, observed);
        assert_eq!(read.member_records(0), observed.member_records(0));
    }
}
