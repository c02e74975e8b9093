//! The plan: state in, actions out.
//!
//! [`plan()`] is three steps, composed in one place:
//!
//! ```text
//! Desired ─┐
//!          ├─► diff ─► operations ─► guards ─► withheld marks ─► one sort ─► Plan
//! Observed ┘   (pure)  + counts       (judge)   (split, mark)
//! ```
//!
//! 1. **The diff** (`diff.rs`) compares desired with observed state record by
//!    record. It reads ids as typed handles (`inputs.rs`,
//!    `handles.rs`), matches records to users by key and settles the orphans
//!    by name (`records.rs`), finds names that are not free (`names.rs`), and
//!    yields the user and group operations (`users.rs`, `groups.rs`). Each
//!    phase returns what the next one needs.
//! 2. **The guards** ([`crate::guards`]) judge the counts of what the diff
//!    planned; `withhold.rs` marks or splits out what they withhold.
//! 3. **One sort** puts the operations in apply order (see [`ActionKind`]'s
//!    order) and, within a kind, by name then id; every list inside an
//!    operation is sorted. The same inputs always give an identical plan (and
//!    identical JSON).

mod diff;
mod groups;
mod inputs;
mod names;
mod records;
mod users;
mod withhold;

use std::fmt;

use serde::Serialize;

use crate::desired::Desired;
pub use crate::guards::GuardKind;
use crate::guards::{self, DeactivationLimit, Facts, GuardStatus, Limits};
use crate::ids::{ExternalId, ScimId, SourceGroupId, SourceUserId};
use crate::keys::{KeySummary, SshKey};
use crate::notes::{Conflict, Warning};
use crate::observed::Observed;
use crate::rules::ServerRules;

/// Computes the plan that turns `observed` into `desired`: the diff, then the
/// safety guards (see [`crate::guards`]), then one sort.
///
/// Pure and deterministic: the same inputs give an identical plan. The user
/// and group operations are computed on two threads (a scoped thread beside
/// the caller's, joined before this returns; both on the caller's thread when
/// no thread can be started).
pub fn plan(desired: &Desired, observed: &Observed, options: &PlanOptions) -> Plan {
    // 1. The diff.
    let diff = diff::diff(desired, observed, options.server);

    // 2. The guards: judged on counts, then applied to the operations.
    let mut operations: Vec<Operation> = diff
        .actions
        .into_iter()
        .map(|action| Operation {
            action,
            withheld: None,
        })
        .collect();
    let facts = Facts {
        source_complete: desired.source.complete,
        desired_users: desired.users.len(),
        owned_users: diff.owned_users,
        owned_active_users: diff.owned_active_users,
    };
    let limits = Limits {
        deactivations: options.deactivation_limit,
        override_deactivations: options.override_deactivation_limit,
        rekeys: options.rekey_limit,
        override_rekeys: options.override_rekey_limit,
    };
    let (guards, withheld) = guards::judge(&facts, &withhold::planned(&operations), &limits);
    withhold::apply(&mut operations, withheld);

    // 3. One sort.
    sort_operations(&mut operations);
    let mut conflicts = diff.conflicts;
    conflicts.extend(desired.conflicts.iter().cloned());
    conflicts.sort();
    conflicts.dedup();
    let mut warnings = diff.warnings;
    warnings.extend(desired.warnings.iter().cloned());
    warnings.sort();
    warnings.dedup();
    Plan {
        version: PLAN_FORMAT_VERSION,
        operations,
        conflicts,
        warnings,
        guards,
        server: options.server,
    }
}

/// The version of the plan's JSON form ([`Plan::to_json`]). Bumped on any
/// incompatible change to the JSON layout.
pub const PLAN_FORMAT_VERSION: u32 = 2;

/// Options for [`plan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PlanOptions {
    /// Withhold all deactivations when more than this many are planned.
    /// `None`: no limit (the CLI supplies its own default).
    pub deactivation_limit: Option<DeactivationLimit>,
    /// Lift the deactivation limit (recorded in the plan). Never lifts the
    /// incomplete- or empty-source guard.
    pub override_deactivation_limit: bool,
    /// Withhold all re-keys when more than this many are planned (a
    /// percentage is of all owned user records). `None`: no limit.
    pub rekey_limit: Option<DeactivationLimit>,
    /// Lift the re-key limit (recorded in the plan).
    pub override_rekey_limit: bool,
    /// How the target compares and keeps attributes (default: RFC 7643).
    pub server: ServerRules,
}

/// The difference between desired and observed state, after the safety guards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// [`PLAN_FORMAT_VERSION`].
    pub version: u32,
    /// Operations in apply order, withheld ones included (marked).
    pub operations: Vec<Operation>,
    /// Conflicts: nothing is written for the users they name.
    pub conflicts: Vec<Conflict>,
    /// Warnings.
    pub warnings: Vec<Warning>,
    /// What the safety guards found and did.
    pub guards: GuardStatus,
    /// The rules the plan was computed with; [`crate::apply()`] checks what the
    /// server kept by the same rules.
    #[serde(skip)]
    pub server: ServerRules,
}

impl Plan {
    /// Operations that apply will attempt (not withheld).
    pub fn applicable(&self) -> impl Iterator<Item = &Operation> {
        self.operations.iter().filter(|op| op.withheld.is_none())
    }

    /// Operations a guard withheld.
    pub fn withheld(&self) -> impl Iterator<Item = &Operation> {
        self.operations.iter().filter(|op| op.withheld.is_some())
    }

    /// `true` when there is nothing to apply (withheld operations, conflicts
    /// and warnings may remain).
    pub fn is_converged(&self) -> bool {
        self.applicable().next().is_none()
    }

    /// `true` when a guard withheld at least one operation (the CLI exits 4).
    pub fn has_withheld(&self) -> bool {
        self.withheld().next().is_some()
    }

    /// Counts for the summary line.
    pub fn summary(&self) -> Summary {
        let mut summary = Summary {
            conflicts: self.conflicts.len(),
            warnings: self.warnings.len(),
            ..Summary::default()
        };
        for op in &self.operations {
            if op.withheld.is_some() {
                summary.withheld += 1;
                continue;
            }
            let slot = match op.action.kind() {
                ActionKind::Deactivate => &mut summary.deactivate_users,
                ActionKind::RevokeKeys => &mut summary.revoke_keys,
                ActionKind::ReKey => &mut summary.rekey_users,
                ActionKind::Reactivate => &mut summary.reactivate_users,
                ActionKind::UpdateUser => &mut summary.update_users,
                ActionKind::CreateUser => &mut summary.create_users,
                ActionKind::CreateGroup => &mut summary.create_groups,
                ActionKind::UpdateGroup => &mut summary.update_groups,
                ActionKind::EmptyGroup => &mut summary.empty_groups,
            };
            *slot += 1;
        }
        summary
    }
}

/// Operation counts (withheld operations counted only in `withheld`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Summary {
    /// Users to create.
    pub create_users: usize,
    /// Users to update.
    pub update_users: usize,
    /// Users to reactivate.
    pub reactivate_users: usize,
    /// Users to re-key.
    pub rekey_users: usize,
    /// Users to deactivate.
    pub deactivate_users: usize,
    /// Inactive user records whose keys are to be removed.
    pub revoke_keys: usize,
    /// Groups to create.
    pub create_groups: usize,
    /// Groups to update.
    pub update_groups: usize,
    /// Groups to empty.
    pub empty_groups: usize,
    /// Operations withheld by a guard.
    pub withheld: usize,
    /// Conflicts.
    pub conflicts: usize,
    /// Warnings.
    pub warnings: usize,
}

/// One planned operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Operation {
    /// What to do.
    #[serde(flatten)]
    pub action: Action,
    /// `Some` when a safety guard withheld it: apply skips it.
    pub withheld: Option<GuardKind>,
}

/// An operation's payload. The JSON form carries the variant as `"op"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Action {
    /// PATCH `active=false` and an empty `sunkSshKeys`, in one PATCH.
    Deactivate(Deactivate),
    /// PATCH an empty `sunkSshKeys` on a record that is already inactive.
    RevokeKeys(RevokeKeys),
    /// PATCH `externalId` (and, for a desired active user, any other changes).
    #[serde(rename = "rekey")]
    ReKey(UserPatch),
    /// PATCH `active=true` plus any other changes.
    Reactivate(UserPatch),
    /// PATCH only the attributes that differ.
    UpdateUser(UserPatch),
    /// POST a new user.
    CreateUser(CreateUser),
    /// POST a new group with its members.
    CreateGroup(CreateGroup),
    /// PATCH a group's `displayName` and/or members.
    UpdateGroup(UpdateGroup),
    /// PATCH a no-longer-desired group's members to empty; the record is kept.
    EmptyGroup(EmptyGroup),
}

/// The kind of an [`Action`], in apply order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// [`Action::Deactivate`].
    Deactivate,
    /// [`Action::RevokeKeys`].
    RevokeKeys,
    /// [`Action::ReKey`].
    #[serde(rename = "rekey")]
    ReKey,
    /// [`Action::Reactivate`].
    Reactivate,
    /// [`Action::UpdateUser`].
    UpdateUser,
    /// [`Action::CreateUser`].
    CreateUser,
    /// [`Action::CreateGroup`].
    CreateGroup,
    /// [`Action::UpdateGroup`].
    UpdateGroup,
    /// [`Action::EmptyGroup`].
    EmptyGroup,
}

impl ActionKind {
    /// All kinds, in apply order.
    pub const ALL: [Self; 9] = [
        Self::Deactivate,
        Self::RevokeKeys,
        Self::ReKey,
        Self::Reactivate,
        Self::UpdateUser,
        Self::CreateUser,
        Self::CreateGroup,
        Self::UpdateGroup,
        Self::EmptyGroup,
    ];
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Deactivate => "deactivate",
            Self::RevokeKeys => "revoke keys",
            Self::ReKey => "re-key",
            Self::Reactivate => "reactivate",
            Self::UpdateUser => "update user",
            Self::CreateUser => "create user",
            Self::CreateGroup => "create group",
            Self::UpdateGroup => "update group",
            Self::EmptyGroup => "empty group",
        })
    }
}

impl Action {
    /// The kind of this action.
    pub fn kind(&self) -> ActionKind {
        match self {
            Self::Deactivate(_) => ActionKind::Deactivate,
            Self::RevokeKeys(_) => ActionKind::RevokeKeys,
            Self::ReKey(_) => ActionKind::ReKey,
            Self::Reactivate(_) => ActionKind::Reactivate,
            Self::UpdateUser(_) => ActionKind::UpdateUser,
            Self::CreateUser(_) => ActionKind::CreateUser,
            Self::CreateGroup(_) => ActionKind::CreateGroup,
            Self::UpdateGroup(_) => ActionKind::UpdateGroup,
            Self::EmptyGroup(_) => ActionKind::EmptyGroup,
        }
    }

    /// The record (or record to be) this action addresses.
    pub fn subject(&self) -> Subject {
        match self {
            Self::Deactivate(d) => Subject::user(&d.user_name, &d.external_id, Some(&d.scim_id)),
            Self::RevokeKeys(r) => Subject::user(&r.user_name, &r.external_id, Some(&r.scim_id)),
            Self::ReKey(p) | Self::Reactivate(p) | Self::UpdateUser(p) => {
                Subject::user(&p.user_name, &p.external_id, Some(&p.scim_id))
            }
            Self::CreateUser(c) => Subject::user(&c.record.user_name, &c.record.external_id, None),
            Self::CreateGroup(c) => Subject::group(&c.display_name, &c.external_id, None),
            Self::UpdateGroup(u) => {
                Subject::group(&u.display_name, &u.external_id, Some(&u.scim_id))
            }
            Self::EmptyGroup(e) => {
                Subject::group(&e.display_name, &e.external_id, Some(&e.scim_id))
            }
        }
    }
}

/// A record named in reports.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Subject {
    /// User or group.
    pub kind: SubjectKind,
    /// `userName` or `displayName`.
    pub name: String,
    /// The record's `externalId` (for a re-key, the current one).
    pub external_id: ExternalId,
    /// The SCIM id, when the record exists.
    pub scim_id: Option<ScimId>,
}

impl Subject {
    fn user(name: &str, external_id: &ExternalId, scim_id: Option<&ScimId>) -> Self {
        Self {
            kind: SubjectKind::User,
            name: name.to_owned(),
            external_id: external_id.clone(),
            scim_id: scim_id.cloned(),
        }
    }

    fn group(name: &str, external_id: &ExternalId, scim_id: Option<&ScimId>) -> Self {
        Self {
            kind: SubjectKind::Group,
            name: name.to_owned(),
            external_id: external_id.clone(),
            scim_id: scim_id.cloned(),
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            SubjectKind::User => "user",
            SubjectKind::Group => "group",
        };
        write!(f, "{kind} {:?} ({})", self.name, self.external_id)
    }
}

/// Whether a [`Subject`] is a user or a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    /// A user record.
    User,
    /// A group record.
    Group,
}

/// Why a user record is deactivated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeactivationReason {
    /// ACTIVATE marks the account inactive.
    Inactive,
    /// The license is inactive.
    Unlicensed,
    /// The user is outside the scope.
    OutOfScope,
    /// The record's key matches no ACTIVATE user (and no re-key applies).
    NotInSource,
    /// Another record with the same `externalId` is kept instead.
    DuplicateRecord,
}

impl fmt::Display for DeactivationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Inactive => "inactive in ACTIVATE",
            Self::Unlicensed => "license inactive",
            Self::OutOfScope => "out of scope",
            Self::NotInSource => "not in ACTIVATE",
            Self::DuplicateRecord => "duplicate record",
        })
    }
}

/// Deactivate an owned user record: `active=false` and an empty `sunkSshKeys`
/// in one PATCH. The keys go too because the cluster's reader (nsscache) may
/// not look at `active`; an empty key list removes SSH access whatever the
/// cluster's filter. The empty key list is sent even when the record shows no
/// keys (a server may not return them in listings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deactivate {
    /// The record.
    pub scim_id: ScimId,
    /// Its `externalId`.
    pub external_id: ExternalId,
    /// Its current `userName`.
    pub user_name: String,
    /// Why.
    pub reason: DeactivationReason,
    /// The keys the record carries now, all removed.
    pub removed_keys: Vec<KeySummary>,
}

/// Empty the `sunkSshKeys` of an owned record that is inactive but still
/// carries keys (for example one deactivated by an earlier version that sent
/// only `active=false`). Nothing else of the record changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevokeKeys {
    /// The record.
    pub scim_id: ScimId,
    /// Its `externalId`.
    pub external_id: ExternalId,
    /// Its current `userName`.
    pub user_name: String,
    /// Why the record is not active.
    pub reason: DeactivationReason,
    /// The keys removed.
    pub removed_keys: Vec<KeySummary>,
}

/// A PATCH of an existing owned user record (update, reactivate or re-key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserPatch {
    /// The record.
    pub scim_id: ScimId,
    /// Its current `externalId`.
    pub external_id: ExternalId,
    /// The ACTIVATE user it is (or becomes) the record of.
    pub user: SourceUserId,
    /// The desired `userName`.
    pub user_name: String,
    /// The attribute changes, in a fixed attribute order; never empty.
    pub changes: Vec<UserChange>,
}

/// An attribute's old and new value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange<T> {
    /// The target's current value.
    pub old: T,
    /// The desired value.
    pub new: T,
}

/// One changed user attribute. The JSON form carries the variant as `"attribute"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "attribute", rename_all = "snake_case")]
pub enum UserChange {
    /// `externalId` (re-key).
    ExternalId(FieldChange<ExternalId>),
    /// `userName`.
    UserName(FieldChange<String>),
    /// `name.givenName` (`None`: remove).
    GivenName(FieldChange<Option<String>>),
    /// `name.familyName` (`None`: remove).
    FamilyName(FieldChange<Option<String>>),
    /// `name.formatted`.
    FormattedName(FieldChange<Option<String>>),
    /// `displayName`.
    DisplayName(FieldChange<Option<String>>),
    /// The primary work email (`None`: remove).
    Email(FieldChange<Option<String>>),
    /// The `sunkSshKeys` extension: replace the whole set with `new`.
    SshKeys(KeysChange),
    /// `active`.
    Active(FieldChange<bool>),
}

impl UserChange {
    /// The SCIM attribute path this change writes.
    pub fn attribute(&self) -> &'static str {
        match self {
            Self::ExternalId(_) => "externalId",
            Self::UserName(_) => "userName",
            Self::GivenName(_) => "name.givenName",
            Self::FamilyName(_) => "name.familyName",
            Self::FormattedName(_) => "name.formatted",
            Self::DisplayName(_) => "displayName",
            Self::Email(_) => "emails",
            Self::SshKeys(_) => "sunkSshKeys",
            Self::Active(_) => "active",
        }
    }
}

/// A change of the SSH key set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeysChange {
    /// The stored keys, as summaries.
    pub old: Vec<KeySummary>,
    /// The full new set (sorted). Serialized as summaries.
    pub new: Vec<SshKey>,
}

impl KeysChange {
    /// Keys in `new` but not in `old` (by fingerprint and comment).
    pub fn added(&self) -> Vec<KeySummary> {
        let old: std::collections::HashSet<&KeySummary> = self.old.iter().collect();
        self.new
            .iter()
            .map(SshKey::summary)
            .filter(|s| !old.contains(s))
            .collect()
    }

    /// Keys in `old` but not in `new` (by fingerprint and comment).
    pub fn removed(&self) -> Vec<KeySummary> {
        let new: std::collections::HashSet<KeySummary> =
            self.new.iter().map(SshKey::summary).collect();
        self.old
            .iter()
            .filter(|s| !new.contains(*s))
            .cloned()
            .collect()
    }
}

/// Create a user record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreateUser {
    /// The ACTIVATE user.
    pub user: SourceUserId,
    /// The record to POST.
    pub record: NewUserRecord,
}

/// A user record to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewUserRecord {
    /// `externalId` (`pw-activate:user:<id>`).
    pub external_id: ExternalId,
    /// `userName`.
    pub user_name: String,
    /// `name.givenName`.
    pub given_name: Option<String>,
    /// `name.familyName`.
    pub family_name: Option<String>,
    /// `name.formatted` (`None` when the server does not keep it).
    pub formatted_name: Option<String>,
    /// `displayName` (`None` when the server does not keep it).
    pub display_name: Option<String>,
    /// The primary work email.
    pub email: Option<String>,
    /// `active` (always `true`: inactive users are never created).
    pub active: bool,
    /// The `sunkSshKeys` extension (serialized as summaries).
    pub ssh_keys: Vec<SshKey>,
}

/// A member of a group, as planned.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MemberRef {
    /// A user record that exists now.
    Existing(ExistingMember),
    /// A user record created by this plan; its SCIM id is known only at apply time.
    Created(CreatedMember),
}

impl MemberRef {
    /// The member's `userName`, when known.
    pub fn user_name(&self) -> Option<&str> {
        match self {
            Self::Existing(m) => m.user_name.as_deref(),
            Self::Created(m) => Some(&m.user_name),
        }
    }
}

/// An existing user record as a group member.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ExistingMember {
    /// Its `userName`, when it is an owned record.
    pub user_name: Option<String>,
    /// Its SCIM id.
    pub scim_id: ScimId,
}

/// A user created by the same plan, as a group member.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct CreatedMember {
    /// Its `userName`.
    pub user_name: String,
    /// The ACTIVATE user (resolved to the new SCIM id at apply time).
    pub user: SourceUserId,
}

/// Create a group record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreateGroup {
    /// The ACTIVATE group.
    pub group: SourceGroupId,
    /// `externalId` (`pw-activate:group:<id>`).
    pub external_id: ExternalId,
    /// `displayName`.
    pub display_name: String,
    /// Members, sorted.
    pub members: Vec<MemberRef>,
}

/// Update an owned group record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpdateGroup {
    /// The record.
    pub scim_id: ScimId,
    /// Its `externalId`.
    pub external_id: ExternalId,
    /// The desired `displayName`.
    pub display_name: String,
    /// An `externalId` change (a re-key: the record is adopted by its name from
    /// an earlier key, for example another ACTIVATE source's group id), if any.
    pub rekey: Option<FieldChange<ExternalId>>,
    /// A `displayName` change, if any.
    pub rename: Option<FieldChange<String>>,
    /// Members to add, sorted.
    pub add: Vec<MemberRef>,
    /// Members to remove, sorted.
    pub remove: Vec<ExistingMember>,
}

/// Why an owned group is emptied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EmptyReason {
    /// The group exists in ACTIVATE but is outside the scope.
    OutOfScope,
    /// The record's key matches no ACTIVATE group.
    NotInSource,
    /// Another record with the same `externalId` is kept instead.
    DuplicateRecord,
}

impl fmt::Display for EmptyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::OutOfScope => "out of scope",
            Self::NotInSource => "not in ACTIVATE",
            Self::DuplicateRecord => "duplicate record",
        })
    }
}

/// Remove all members of an owned group that is no longer desired (the record is kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmptyGroup {
    /// The record.
    pub scim_id: ScimId,
    /// Its `externalId`.
    pub external_id: ExternalId,
    /// Its `displayName`.
    pub display_name: String,
    /// Why.
    pub reason: EmptyReason,
    /// The members to remove (all current members except those of held users), sorted.
    pub remove: Vec<ExistingMember>,
}

/// Sorts operations into apply order, then by subject (name, key, id).
fn sort_operations(operations: &mut [Operation]) {
    operations.sort_by_cached_key(|op| {
        let subject = op.action.subject();
        (
            op.action.kind(),
            subject.name,
            subject.external_id,
            subject.scim_id,
            op.withheld,
        )
    });
}
