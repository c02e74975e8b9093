//! What the target (SCIM) holds, as read by the adapter: the owned records and
//! the user names held by records we do not own.

use std::collections::HashMap;

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

impl Observed {
    /// Makes every group member id that names an owned user record share that
    /// record's id, so that the member lists take no memory of their own and
    /// the planner finds each member without reading its text. Call it once
    /// the records are read; nothing else changes.
    pub fn share_member_ids(&mut self) {
        let ids: HashMap<&str, &ScimId> = self
            .users
            .iter()
            .map(|user| (user.scim_id.as_str(), &user.scim_id))
            .collect();
        for group in &mut self.groups {
            for member in &mut group.members {
                if let Some(&id) = ids.get(member.as_str()) {
                    member.clone_from(id);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Observed, OwnedGroup, OwnedUser};
    use crate::ids::{ExternalId, ScimId};

    #[test]
    fn member_ids_share_their_record_id_and_keep_their_text() {
        let user = |id: &str| OwnedUser {
            scim_id: ScimId::new(id),
            external_id: ExternalId::new(format!("pw-activate:user:{id}")),
            user_name: id.to_owned(),
            given_name: None,
            family_name: None,
            formatted_name: None,
            display_name: None,
            email: None,
            active: true,
            ssh_keys: Vec::new(),
        };
        let mut observed = Observed {
            users: vec![user("a"), user("b")],
            groups: vec![OwnedGroup {
                scim_id: ScimId::new("g"),
                external_id: ExternalId::new("pw-activate:group:g"),
                display_name: "g".to_owned(),
                members: vec![ScimId::new("b"), ScimId::new("foreign"), ScimId::new("a")],
            }],
            foreign_user_names: Vec::new(),
            foreign_groups: Vec::new(),
        };
        let before = observed.clone();
        assert_ne!(
            observed.groups[0].members[0].addr(),
            observed.users[1].scim_id.addr()
        );
        observed.share_member_ids();
        assert_eq!(observed, before);
        let members = &observed.groups[0].members;
        assert_eq!(members[0].addr(), observed.users[1].scim_id.addr());
        assert_eq!(members[2].addr(), observed.users[0].scim_id.addr());
        assert_eq!(members[1].as_str(), "foreign");
    }
}
