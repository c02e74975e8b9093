//! The planner's inputs: desired and observed state with every id turned into
//! a typed handle once.
//!
//! Built first, read by every phase after it and never changed. Unowned records
//! in the observed state are set aside here (with a warning; an unowned user's
//! name counts as foreign). The members of desired and owned groups arrive as
//! positions (made by [`crate::project`] and [`Observed::new`]) and are only
//! renamed into the planner's handles here.

use std::collections::HashSet;

use crate::desired::{Desired, DesiredGroup, DesiredUser};
use crate::handles::{Handle, IdTable, ListedIx, RecordIx, Table, UserIx};
use crate::ids::{ScimId, SourceGroupId, SourceUserId, fold};
use crate::notes::Warning;
use crate::observed::{ForeignGroup, Observed, OwnedGroup, OwnedUser};

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
    /// Owned group records, sorted by SCIM id.
    pub(super) group_records: Vec<GroupRecord<'a>>,
    /// A user record as listed → its handle, if it is owned.
    record_at: Table<ListedIx, Option<RecordIx>>,
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

/// An owned group record, with its members as the target listed them.
#[derive(Clone, Copy)]
pub(super) struct GroupRecord<'a> {
    pub(super) group: &'a OwnedGroup,
    /// For each member, its owned user record, if it has one.
    pub(super) members: &'a [Option<ListedIx>],
}

/// The members an owned group record lists.
pub(super) struct CurrentMembers<'a> {
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
        let user_of = IdTable::<UserIx>::new(desired.users.keys().map(SourceUserId::as_str));
        // Each record's key is read while its `externalId` is at hand (just
        // checked for ownership), and travels with the record through the sort.
        let mut records = Vec::with_capacity(observed.users().len());
        for (listed, user) in observed.users().iter().enumerate() {
            if user.external_id.is_owned() {
                records.push((user, record_key(desired, &user_of, user), listed));
            } else {
                warnings.push(Warning::UnownedRecordIgnored {
                    scim_id: user.scim_id.clone(),
                    external_id: user.external_id.clone(),
                });
                foreign_names.insert(fold(&user.user_name).into_owned());
            }
        }
        records.sort_by(|a, b| a.0.scim_id.cmp(&b.0.scim_id));
        let mut record_at = Table::filled(observed.users().len(), None);
        for (position, &(_, _, listed)) in records.iter().enumerate() {
            record_at[ListedIx::at(listed)] = Some(RecordIx::at(position));
        }
        let (records, keys): (Vec<_>, Vec<_>) = records
            .into_iter()
            .map(|(record, key, _)| (record, key))
            .unzip();
        let mut owned_groups = Vec::with_capacity(observed.groups().len());
        for (position, group) in observed.groups().iter().enumerate() {
            if group.external_id.is_owned() {
                owned_groups.push(GroupRecord {
                    group,
                    members: observed.member_records(position),
                });
            } else {
                warnings.push(Warning::UnownedRecordIgnored {
                    scim_id: group.scim_id.clone(),
                    external_id: group.external_id.clone(),
                });
            }
        }
        owned_groups.sort_by(|a, b| a.group.scim_id.cmp(&b.group.scim_id));

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
        let inputs = Self {
            desired,
            users: Table::new(desired.users.values().collect()),
            records: Table::new(records),
            keys: Table::new(keys),
            groups,
            group_records: owned_groups,
            record_at,
            foreign_names,
            foreign_groups: &observed.foreign_groups,
        };
        (inputs, warnings)
    }

    /// The members `group` lists, as handles where they are owned user
    /// records.
    pub(super) fn members_of(&self, group: GroupRecord<'a>) -> CurrentMembers<'a> {
        debug_assert_eq!(group.members.len(), group.group.members.len());
        let mut owned = Vec::with_capacity(group.members.len());
        let mut other = Vec::new();
        for (member, listed) in group.group.members.iter().zip(group.members) {
            match listed.and_then(|listed| self.record_at[listed]) {
                Some(index) => owned.push(index),
                None => other.push(member),
            }
        }
        other.sort_unstable();
        other.dedup();
        CurrentMembers { owned, other }
    }
}

/// What an owned record's `externalId` names.
fn record_key(desired: &Desired, user_of: &IdTable<UserIx>, record: &OwnedUser) -> RecordKey {
    match record.external_id.user_id() {
        None => RecordKey::Unknown,
        Some(id) => match user_of.get(id) {
            Some(user) => RecordKey::Desired(user),
            None if desired.held_users.contains_key(id) => RecordKey::Held,
            None if desired.out_of_scope_users.contains(id) => RecordKey::OutOfScope,
            None => RecordKey::Unknown,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::Inputs;
    use crate::desired::Desired;
    use crate::handles::Handle;
    use crate::ids::{ExternalId, ScimId};
    use crate::observed::{Observed, OwnedGroup, OwnedUser};

    fn record(scim_id: &str, owned: bool) -> OwnedUser {
        let prefix = if owned { "pw-activate:user:" } else { "okta:" };
        OwnedUser {
            scim_id: ScimId::new(scim_id),
            external_id: ExternalId::new(format!("{prefix}{scim_id}")),
            user_name: scim_id.to_owned(),
            ..OwnedUser::default()
        }
    }

    fn group(n: usize, members: &[&str]) -> OwnedGroup {
        OwnedGroup {
            scim_id: ScimId::new(format!("g{n}")),
            external_id: ExternalId::new(format!("pw-activate:group:g{n}")),
            display_name: format!("g{n}"),
            members: members.iter().map(|&m| ScimId::new(m)).collect(),
        }
    }

    #[test]
    fn group_members_are_the_handles_of_owned_records_in_list_order() {
        let lists: [&[&str]; 7] = [
            &["a", "b", "c", "d"],
            &["d", "c", "b", "a"],
            &["b", "x", "b", "a", "d"],
            &[],
            &["x", "a", "y", "a", "x"],
            &["c", "u", "d"],
            &["a", "c", "e"],
        ];
        let groups = lists.iter().enumerate().map(|(n, l)| group(n, l)).collect();
        // Listed d, b, a, u (not owned), c (not owned), c, b again. Owned
        // records sorted by SCIM id: a = 0, b = 1 (the first b), b again = 2
        // (no member is it), c = 3 (the owned one, though an unowned c is
        // listed first), d = 4; `u` is no owned record, so a member `u` is
        // "other".
        let users = [
            ("d", true),
            ("b", true),
            ("a", true),
            ("u", false),
            ("c", false),
            ("c", true),
            ("b", true),
        ]
        .iter()
        .map(|&(id, owned)| record(id, owned))
        .collect();
        let observed = Observed::new(users, groups);
        let desired = Desired::default();
        let (inputs, warnings) = Inputs::new(&desired, &observed);
        assert_eq!(warnings.len(), 2, "u and c are set aside: {warnings:?}");
        let resolved: Vec<(Vec<usize>, Vec<String>)> = inputs
            .group_records
            .iter()
            .map(|&group| {
                let current = inputs.members_of(group);
                (
                    current.owned.iter().map(|h| h.position()).collect(),
                    current.other.iter().map(ToString::to_string).collect(),
                )
            })
            .collect();
        let named = |owned: &[usize], other: &[&str]| {
            (
                owned.to_vec(),
                other.iter().map(ToString::to_string).collect::<Vec<_>>(),
            )
        };
        assert_eq!(
            resolved,
            vec![
                named(&[0, 1, 3, 4], &[]),
                named(&[4, 3, 1, 0], &[]),
                named(&[1, 1, 0, 4], &["x"]),
                named(&[], &[]),
                named(&[0, 0], &["x", "y"]),
                named(&[3, 4], &["u"]),
                named(&[0, 3], &["e"]),
            ]
        );
    }
}
