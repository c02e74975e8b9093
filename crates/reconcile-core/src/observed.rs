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
    /// Group records we do not own whose `displayName` a group about to be
    /// created or renamed may clash with (used only for conflict detection;
    /// the adapter may look up only those names).
    pub foreign_groups: Vec<ForeignGroup>,
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
