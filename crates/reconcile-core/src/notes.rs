//! Conflicts (something that should be written cannot be, so nothing is written
//! for that user) and warnings (something was ignored or repaired). Both are
//! part of the plan.

use std::fmt;

use serde::Serialize;

use crate::ids::{ExternalId, ScimId, SourceGroupId, SourceUserId};

/// A source user named in a note.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct UserLabel {
    /// The ACTIVATE user id.
    pub id: SourceUserId,
    /// The ACTIVATE username.
    pub user_name: String,
}

impl fmt::Display for UserLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} (ACTIVATE id {})", self.user_name, self.id)
    }
}

/// A conflict: nothing is written for the users it names (their records, if
/// any, are left exactly as they are, group memberships included).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Conflict {
    /// Two or more ACTIVATE users whose usernames differ only by case.
    UserNameCaseCollision {
        /// The case-folded username they share.
        folded: String,
        /// The users, sorted.
        users: Vec<UserLabel>,
    },
    /// An ACTIVATE user record that cannot be used (an empty username, a record
    /// that does not decode, SSH keys that cannot be read). With an id, the user
    /// is held: their record and memberships are left as they are. Without one,
    /// the snapshot counts as incomplete, so no access is removed this run.
    UnusableUser {
        /// The ACTIVATE id, if the record has a usable one.
        user: Option<SourceUserId>,
        /// The username, if the record has one.
        user_name: Option<String>,
        /// Why the record cannot be used.
        reason: String,
    },
    /// The desired `userName` is held by a target record we do not own.
    ForeignUserName {
        /// The user.
        user: UserLabel,
    },
    /// The desired `userName` is held by another owned record that keeps it
    /// (for example a deactivated user's record, or a record that cannot be renamed).
    UserNameHeld {
        /// The user.
        user: UserLabel,
        /// The record holding the name.
        holder: ScimId,
        /// That record's `externalId`.
        holder_external_id: ExternalId,
    },
    /// The desired group `displayName` is held (case-insensitively) by a group
    /// record we do not own: the group is not created, or not renamed and
    /// given no new members (members who lost access still leave it).
    ForeignGroupName {
        /// The ACTIVATE group.
        group: SourceGroupId,
        /// Its name (the desired `displayName`).
        name: String,
        /// The record holding the name.
        holder: ScimId,
        /// That record's `displayName`.
        holder_name: String,
    },
    /// The user's rename is part of a cycle of renames (A takes B's name while
    /// B takes A's); SCIM cannot express the swap without a temporary name.
    RenameCycle {
        /// The user.
        user: UserLabel,
    },
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UserNameCaseCollision { folded, users } => {
                let names: Vec<String> = users.iter().map(ToString::to_string).collect();
                write!(
                    f,
                    "usernames differ only by case ({folded:?}): {}; neither is written",
                    names.join(", ")
                )
            }
            Self::UnusableUser {
                user: Some(user),
                user_name,
                reason,
            } => {
                match user_name.as_deref().filter(|n| !n.is_empty()) {
                    Some(name) => write!(f, "ACTIVATE user {name:?} (ACTIVATE id {user})")?,
                    None => write!(f, "ACTIVATE user with id {user}")?,
                }
                write!(
                    f,
                    " cannot be used: {reason}; nothing is written for it (record and group memberships left as they are)"
                )
            }
            Self::UnusableUser {
                user: None,
                user_name,
                reason,
            } => {
                f.write_str("an ACTIVATE user record")?;
                if let Some(name) = user_name.as_deref().filter(|n| !n.is_empty()) {
                    write!(f, " ({name:?})")?;
                }
                write!(
                    f,
                    " has no usable id: {reason}; it cannot be told apart from a user who left, so the source counts as incomplete and no access is removed this run"
                )
            }
            Self::ForeignUserName { user } => write!(
                f,
                "userName of {user} is held by a record not managed by pw-activate; not written"
            ),
            Self::UserNameHeld {
                user,
                holder,
                holder_external_id,
            } => write!(
                f,
                "userName of {user} is held by owned record {holder} ({holder_external_id}); not written"
            ),
            Self::ForeignGroupName {
                group,
                name,
                holder,
                holder_name,
            } => write!(
                f,
                "group {name:?} (ACTIVATE id {group}): displayName is held by group {holder_name:?} \
                 (SCIM id {holder}), which pw-activate does not own; not created or renamed. Fix: rename the \
                 group in ACTIVATE, or rename or delete the CoreWeave group (older organizations \
                 have built-in groups admin, metrics, read, write and billing_viewer that clash \
                 this way)"
            ),
            Self::RenameCycle { user } => {
                write!(
                    f,
                    "userName of {user} is held by an owned record whose own rename waits on this one (a rename cycle); not written"
                )
            }
        }
    }
}

/// A warning: something was ignored or repaired; the rest of the plan is unaffected.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Warning {
    /// A scope group name matches no ACTIVATE group.
    UnknownScopeGroup {
        /// The name as configured.
        name: String,
    },
    /// An SSH key line was not a valid public key and was dropped.
    InvalidSshKey {
        /// The user.
        user: UserLabel,
        /// 1-based line number within the user's key list.
        line: usize,
        /// The parser's reason.
        reason: String,
    },
    /// The snapshot lists the same user id twice; the first entry is used.
    DuplicateSourceUser {
        /// The id.
        user: SourceUserId,
    },
    /// The snapshot lists the same group id twice; the first entry is used.
    DuplicateSourceGroup {
        /// The id.
        group: SourceGroupId,
    },
    /// A group lists a member id that is not an organization user; ignored.
    UnknownGroupMember {
        /// The group id.
        group: SourceGroupId,
        /// The group name.
        group_name: String,
        /// The unknown member id.
        user: SourceUserId,
    },
    /// Several owned records carry the same `externalId`; one is kept (the one
    /// already matching the desired name, then active, then the smallest SCIM
    /// id), the others are treated as no longer desired.
    DuplicateExternalId {
        /// The shared `externalId`.
        external_id: ExternalId,
        /// The record kept.
        kept: ScimId,
        /// The other records.
        others: Vec<ScimId>,
    },
    /// An active user's username is not a portable POSIX login name (letters,
    /// digits, `.`, `_`, `-`, not starting with `-`, at most 32 characters).
    /// It is synced as ACTIVATE has it, but the cluster's user provisioning may
    /// not create it.
    NonPosixUserName {
        /// The user.
        user: UserLabel,
        /// Which part of the rule it breaks.
        reason: String,
    },
    /// The server does not keep these user attributes (its `/Schemas` lacks
    /// them or marks them `returned: never`): they are neither sent nor compared.
    AttributesNotKept {
        /// The SCIM paths.
        attributes: Vec<String>,
    },
    /// Records whose attribute differs from the desired value only by case,
    /// which the server compares case-insensitively: not a change.
    CaseOnlyDifference {
        /// `userName` or `emails`.
        attribute: String,
        /// How many records.
        records: usize,
        /// The first one's desired value.
        desired: String,
        /// The first one's stored value.
        stored: String,
    },
    /// The observed state contained a record without the ownership prefix; it
    /// is ignored (never written) and its `userName` counts as foreign.
    UnownedRecordIgnored {
        /// The record.
        scim_id: ScimId,
        /// Its `externalId`.
        external_id: ExternalId,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownScopeGroup { name } => {
                write!(f, "scope group {name:?} does not exist in ACTIVATE")
            }
            Self::InvalidSshKey { user, line, reason } => {
                write!(f, "SSH key on line {line} of {user} dropped: {reason}")
            }
            Self::DuplicateSourceUser { user } => {
                write!(f, "ACTIVATE user id {user} listed twice; first entry used")
            }
            Self::DuplicateSourceGroup { group } => {
                write!(
                    f,
                    "ACTIVATE group id {group} listed twice; first entry used"
                )
            }
            Self::UnknownGroupMember {
                group,
                group_name,
                user,
            } => write!(
                f,
                "group {group_name:?} (ACTIVATE id {group}) lists unknown member id {user}; ignored"
            ),
            Self::DuplicateExternalId {
                external_id,
                kept,
                others,
            } => {
                let others: Vec<&str> = others.iter().map(ScimId::as_str).collect();
                write!(
                    f,
                    "externalId {external_id} is on several records; kept {kept}, treating {} as no longer desired",
                    others.join(", ")
                )
            }
            Self::NonPosixUserName { user, reason } => write!(
                f,
                "username of {user} is not a portable POSIX login name ({reason}); synced as is, but the cluster may not create it"
            ),
            Self::AttributesNotKept { attributes } => write!(
                f,
                "the SCIM server does not keep {}: not sent and not compared",
                attributes.join(", ")
            ),
            Self::CaseOnlyDifference {
                attribute,
                records,
                desired,
                stored,
            } => write!(
                f,
                "{attribute} differs only by case on {records} record(s) (e.g. {desired:?} is \
                 stored as {stored:?}); the server compares it case-insensitively, so this is \
                 not a change"
            ),
            Self::UnownedRecordIgnored {
                scim_id,
                external_id,
            } => write!(
                f,
                "observed record {scim_id} ({external_id:?}) is not owned; ignored"
            ),
        }
    }
}
