//! The desired state: what the target should hold, as projected from the source.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::ids::{ExternalId, SourceGroupId, SourceUserId};
use crate::keys::SshKey;
use crate::notes::{Conflict, Warning};

/// The projection of a [`crate::SourceSnapshot`] through a [`crate::Scope`].
///
/// Build it with [`crate::project`]; it is plain data, so tests may also build
/// or edit it directly.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Desired {
    /// In-scope users that can be written (conflicted users are in `held_users`).
    pub users: BTreeMap<SourceUserId, DesiredUser>,
    /// In-scope groups, with their desired (active, writable) members.
    pub groups: BTreeMap<SourceGroupId, DesiredGroup>,
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
}

impl DesiredGroup {
    /// `pw-activate:group:<id>`.
    pub fn external_id(&self) -> ExternalId {
        ExternalId::for_group(&self.id)
    }
}
