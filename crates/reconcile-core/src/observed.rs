//! What the target (SCIM) holds, as read by the adapter: the owned records and
//! the user names held by records we do not own.

use serde::{Deserialize, Serialize};

use crate::ids::{ExternalId, ScimId};

/// The target's current state as far as the planner needs it.
///
/// `users` and `groups` should hold only owned records (`externalId` starting
/// with [`crate::ids::OWNED_PREFIX`]); the planner re-checks and ignores (with
/// a warning) anything else, treating such a user's `userName` as foreign.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Observed {
    /// Owned user records.
    pub users: Vec<OwnedUser>,
    /// Owned group records.
    pub groups: Vec<OwnedGroup>,
    /// `userName`s of user records we do not own (used only for conflict detection).
    pub foreign_user_names: Vec<String>,
}

/// An owned user record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnedUser {
    /// The SCIM id.
    pub scim_id: ScimId,
    /// The `externalId`.
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
