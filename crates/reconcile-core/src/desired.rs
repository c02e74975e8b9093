//! The desired state: what the target should hold, as projected from the source.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::ids::{ExternalId, SourceGroupId, SourceUserId};
use crate::keys::SshKey;
use crate::notes::{Conflict, Warning};

/// The projection of a [`crate::SourceSnapshot`] through a [`crate::Scope`].
///
/// Made by [`crate::project`] (or empty, by `Default`). The users and the groups are read through
/// [`Desired::users`] and [`Desired::groups`] and cannot be changed: each group
/// also holds its members as positions among the users (made once, here, so
/// that the planner never looks a member up by its text), and an edit could
/// make the two disagree. To plan another state, project another snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Desired {
    /// In-scope users that can be written (conflicted users are in `held_users`).
    pub(crate) users: BTreeMap<SourceUserId, DesiredUser>,
    /// In-scope groups, with their desired (active, writable) members.
    pub(crate) groups: BTreeMap<SourceGroupId, DesiredGroup>,
    /// In-scope users that must not be written because of a conflict (value:
    /// their username). Their records are left exactly as they are.
    pub held_users: BTreeMap<SourceUserId, String>,
    /// Users that exist in the source but are outside the scope. Their owned
    /// records are deactivated; they are never re-keyed onto someone else.
    pub out_of_scope_users: BTreeSet<SourceUserId>,
    /// Groups that exist in the source but are outside the scope (their owned
    /// records are emptied).
    pub out_of_scope_groups: BTreeSet<SourceGroupId>,
    /// Conflicts found while projecting.
    pub conflicts: Vec<Conflict>,
    /// Warnings found while projecting.
    pub warnings: Vec<Warning>,
    /// Facts about the snapshot the safety guards need.
    pub source: SourceFacts,
}

impl Desired {
    /// In-scope users that can be written, by id (conflicted users are in
    /// `held_users`).
    pub fn users(&self) -> &BTreeMap<SourceUserId, DesiredUser> {
        &self.users
    }

    /// In-scope groups, by id, with their desired (active, writable) members.
    pub fn groups(&self) -> &BTreeMap<SourceGroupId, DesiredGroup> {
        &self.groups
    }
}

/// Facts about the source snapshot, for the safety guards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct SourceFacts {
    /// Whether the snapshot was complete.
    pub complete: bool,
    /// Users in the snapshot (before scoping).
    pub users: usize,
    /// Groups in the snapshot (before scoping).
    pub groups: usize,
}

/// Whether a desired user should be active, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DesiredStatus {
    /// ACTIVATE says active and the license is not inactive.
    Active,
    /// ACTIVATE says the account is not active.
    Inactive,
    /// The account is active but its license is inactive.
    Unlicensed,
}

impl DesiredStatus {
    /// Whether the target record should be active.
    pub fn is_active(self) -> bool {
        self == Self::Active
    }
}

/// A user as the target should hold it.
///
/// The attributes that follow from others (the `externalId`, the name parts,
/// `displayName`) are methods, so they cannot disagree with what they follow from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DesiredUser {
    /// The ACTIVATE id.
    pub id: SourceUserId,
    /// `userName`.
    pub user_name: String,
    /// The full name with runs of whitespace collapsed to one space, trimmed;
    /// empty when ACTIVATE has none. The name methods below split it at its
    /// spaces, so a value set by hand should keep this form.
    pub full_name: String,
    /// The one primary work email, if ACTIVATE has one.
    pub email: Option<String>,
    /// Whether the record should be active.
    pub status: DesiredStatus,
    /// Valid, normalized, deduplicated keys, sorted. `None` when the source did
    /// not fetch keys (always for inactive users): the target's keys are left alone.
    pub ssh_keys: Option<Vec<SshKey>>,
}

impl DesiredUser {
    /// `pw-activate:user:<id>`.
    pub fn external_id(&self) -> ExternalId {
        ExternalId::for_user(&self.id)
    }

    /// `name.formatted`, and also `displayName`: the full name, or the username
    /// when the full name is empty.
    pub fn formatted_name(&self) -> &str {
        if self.full_name.is_empty() {
            &self.user_name
        } else {
            &self.full_name
        }
    }

    /// `name.givenName`: every word of the full name but the last, or the one
    /// word of a one-word name.
    pub fn given_name(&self) -> Option<&str> {
        match self.full_name.rsplit_once(' ') {
            Some((given, _)) => Some(given),
            None => Some(self.full_name.as_str()).filter(|name| !name.is_empty()),
        }
    }

    /// `name.familyName`: the last word of a full name of two words or more.
    pub fn family_name(&self) -> Option<&str> {
        self.full_name.rsplit_once(' ').map(|(_, family)| family)
    }
}

/// A group as the target should hold it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DesiredGroup {
    /// The ACTIVATE id.
    pub id: SourceGroupId,
    /// `displayName` = the ACTIVATE group name.
    pub display_name: String,
    /// Members: the group's users that are desired, writable and active.
    pub members: BTreeSet<SourceUserId>,
    /// The same members as positions in [`Desired::users`] (id order),
    /// ascending.
    #[serde(skip)]
    positions: Vec<u32>,
}

impl DesiredGroup {
    /// A group whose members are the users at `positions` (ascending, once
    /// each) of the desired users; `id_at` gives the id at a position.
    pub(crate) fn new(
        id: SourceGroupId,
        display_name: String,
        positions: Vec<u32>,
        id_at: impl Fn(u32) -> SourceUserId,
    ) -> Self {
        debug_assert!(positions.windows(2).all(|w| w[0] < w[1]));
        Self {
            id,
            display_name,
            members: positions.iter().map(|&p| id_at(p)).collect(),
            positions,
        }
    }

    /// The members as positions in [`Desired::users`], ascending.
    pub(crate) fn member_positions(&self) -> &[u32] {
        &self.positions
    }

    /// `pw-activate:group:<id>`.
    pub fn external_id(&self) -> ExternalId {
        ExternalId::for_group(&self.id)
    }
}
