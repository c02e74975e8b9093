//! The planner's inputs: desired and observed state with every id turned into
//! a typed handle once.
//!
//! Built first, read by every phase after it and never changed. Unowned records
//! in the observed state are set aside here (with a warning; an unowned user's
//! name counts as foreign).

use std::collections::HashSet;

use crate::desired::{Desired, DesiredGroup, DesiredUser};
use crate::ids::{ScimId, SourceGroupId, SourceUserId, fold};
use crate::notes::Warning;
use crate::observed::{ForeignGroup, Observed, OwnedGroup, OwnedUser};
use crate::plan::handles::{Handle, IdTable, RecordIx, Table, UserIx};

/// Desired and observed state as the phases read it.
pub(super) struct Inputs<'a> {
    pub(super) desired: &'a Desired,
    /// Desired users in id order.
    pub(super) users: Table<UserIx, &'a DesiredUser>,
    /// Owned user records, sorted by SCIM id.
    pub(super) records: Table<RecordIx, &'a OwnedUser>,
    /// What each record's `externalId` names.
    pub(super) keys: Table<RecordIx, RecordKey>,
    /// Desired groups in id order, with their members as handles.
    pub(super) groups: Vec<WantedGroup<'a>>,
    /// Owned group records, sorted by SCIM id, with their members as handles.
    pub(super) group_records: Vec<GroupRecord<'a>>,
    /// Case-folded `userName`s of records we do not own.
    pub(super) foreign_names: HashSet<String>,
    /// Group records we do not own, named in conflicts.
    pub(super) foreign_groups: &'a [ForeignGroup],
}

/// What an owned user record's `externalId` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RecordKey {
    /// A desired user.
    Desired(UserIx),
    /// A user held because of a conflict.
    Held,
    /// A user outside the scope.
    OutOfScope,
    /// No ACTIVATE user, or not a user key of the current scheme.
    Unknown,
}

/// A desired group.
pub(super) struct WantedGroup<'a> {
    pub(super) id: &'a SourceGroupId,
    pub(super) group: &'a DesiredGroup,
    /// Its members (each a desired user), once each, in id order.
    pub(super) members: Vec<UserIx>,
}

/// An owned group record.
pub(super) struct GroupRecord<'a> {
    pub(super) record: &'a OwnedGroup,
    /// Members that are owned user records, in list order (a record listed
    /// twice appears twice).
    pub(super) owned: Vec<RecordIx>,
    /// Any other member (foreign or dangling), sorted and once.
    pub(super) other: Vec<&'a ScimId>,
}

impl<'a> Inputs<'a> {
    /// The inputs, and a warning for each unowned record set aside.
    pub(super) fn new(desired: &'a Desired, observed: &'a Observed) -> (Self, Vec<Warning>) {
        let mut warnings = Vec::new();
        let mut foreign_names: HashSet<String> = observed
            .foreign_user_names
            .iter()
            .map(|n| fold(n).into_owned())
            .collect();
        let mut records = Vec::with_capacity(observed.users.len());
        for user in &observed.users {
            if user.external_id.is_owned() {
                records.push(user);
            } else {
                warnings.push(Warning::UnownedRecordIgnored {
                    scim_id: user.scim_id.clone(),
                    external_id: user.external_id.clone(),
                });
                foreign_names.insert(fold(&user.user_name).into_owned());
            }
        }
        records.sort_by(|a, b| a.scim_id.cmp(&b.scim_id));
        let mut owned_groups = Vec::with_capacity(observed.groups.len());
        for group in &observed.groups {
            if group.external_id.is_owned() {
                owned_groups.push(group);
            } else {
                warnings.push(Warning::UnownedRecordIgnored {
                    scim_id: group.scim_id.clone(),
                    external_id: group.external_id.clone(),
                });
            }
        }
        owned_groups.sort_by(|a, b| a.scim_id.cmp(&b.scim_id));

        let user_of = IdTable::<UserIx>::new(desired.users.keys().map(SourceUserId::as_str));
        let record_of = IdTable::<RecordIx>::new(records.iter().map(|r| r.scim_id.as_str()));
        let keys = records
            .iter()
            .map(|record| match record.external_id.user_id() {
                None => RecordKey::Unknown,
                Some(id) => match user_of.get(id) {
                    Some(user) => RecordKey::Desired(user),
                    None if desired.held_users.contains_key(id) => RecordKey::Held,
                    None if desired.out_of_scope_users.contains(id) => RecordKey::OutOfScope,
                    None => RecordKey::Unknown,
                },
            })
            .collect();
        let groups = desired
            .groups
            .iter()
            .map(|(id, group)| WantedGroup {
                id,
                group,
                members: group
                    .member_positions()
                    .iter()
                    .map(|&position| UserIx::at(position as usize))
                    .collect(),
            })
            .collect();
        let group_records = owned_groups
            .into_iter()
            .map(|record| {
                let mut owned = Vec::with_capacity(record.members.len());
                let mut other = Vec::new();
                for member in &record.members {
                    match record_of.get(member.as_str()) {
                        Some(index) => owned.push(index),
                        None => other.push(member),
                    }
                }
                other.sort_unstable();
                other.dedup();
                GroupRecord {
                    record,
                    owned,
                    other,
                }
            })
            .collect();
        let inputs = Self {
            desired,
            users: Table::new(desired.users.values().collect()),
            records: Table::new(records),
            keys: Table::new(keys),
            groups,
            group_records,
            foreign_names,
            foreign_groups: &observed.foreign_groups,
        };
        (inputs, warnings)
    }
}
