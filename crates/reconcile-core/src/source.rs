//! What the source (ACTIVATE) says: the snapshot the client crate reads, and the scope.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::ids::{SourceGroupId, SourceUserId};

/// Everything read from ACTIVATE in one run.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SourceSnapshot {
    /// Every organization user.
    pub users: Vec<SourceUser>,
    /// Every organization group with its member list.
    pub groups: Vec<SourceGroup>,
    /// `true` only when every page, member list and key list was read and the
    /// counts agreed with the reported totals. An incomplete snapshot never
    /// deactivates anything (see [`crate::guards`]).
    pub complete: bool,
    /// Users ACTIVATE lists whose record cannot be used: nothing is written for
    /// them (see [`UnusableUser`]). One with no usable id makes the snapshot
    /// count as incomplete.
    #[serde(default)]
    pub unusable_users: Vec<UnusableUser>,
}

/// A user record ACTIVATE lists but that cannot be used: it does not decode, its
/// username is empty, or its SSH keys cannot be read.
///
/// With an id, the user is *held*: their target record (if any) and group
/// memberships are left exactly as they are, and the plan reports a
/// [`crate::Conflict::UnusableUser`]. Without a usable id, the record cannot be
/// told apart from a user who left ACTIVATE, so the whole snapshot counts as
/// incomplete and no access is removed from anyone this run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct UnusableUser {
    /// The ACTIVATE id, when the record has a usable one.
    pub id: Option<SourceUserId>,
    /// The username, when the record has one.
    pub username: Option<String>,
    /// Why the record cannot be used, in a few words.
    pub reason: String,
}

/// One ACTIVATE user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceUser {
    /// The immutable ACTIVATE id.
    pub id: SourceUserId,
    /// The username; becomes the SCIM `userName`.
    pub username: String,
    /// The full name, free text (may be empty).
    pub name: String,
    /// The email address (may be empty).
    pub email: String,
    /// Whether ACTIVATE marks the account active.
    pub active: bool,
    /// The license status.
    pub license: LicenseStatus,
    /// Raw SSH public key lines as ACTIVATE returned them (an entry may hold
    /// several lines). `None` when the keys were not fetched (the client fetches
    /// keys only for users who will be active); the planner then leaves the
    /// target's keys as they are. A user whose keys could not be read is not a
    /// `SourceUser` but an [`UnusableUser`], so a failed key lookup never
    /// removes keys.
    pub ssh_keys: Option<Vec<String>>,
}

/// An ACTIVATE license status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LicenseStatus {
    /// A paid, active license.
    Active,
    /// A complimentary license (counts as licensed).
    Complimentary,
    /// The license is inactive: the user is desired inactive.
    Inactive,
    /// ACTIVATE reported no or an unrecognized status (counts as licensed, so a
    /// new status value never deactivates people).
    Unknown,
}

/// One ACTIVATE group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceGroup {
    /// The immutable ACTIVATE id.
    pub id: SourceGroupId,
    /// The group name; becomes the SCIM `displayName` and is what scope filters match.
    pub name: String,
    /// The member user ids.
    pub members: Vec<SourceUserId>,
}

/// Which part of the organization is synchronized (the hard scope).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Every organization user and every group.
    #[default]
    All,
    /// Only the groups with these exact (case-sensitive) names, and their members.
    Groups(BTreeSet<String>),
}
