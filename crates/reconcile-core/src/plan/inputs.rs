//! The planner's inputs: desired and observed state with every id turned into
//! a typed handle once.
//!
//! Built first, read by every phase after it and never changed. Unowned records
//! in the observed state are set aside here (with a warning; an unowned user's
//! name counts as foreign). The members of an owned group record are turned
//! into handles when the group phase reads them ([`Inputs::members_of`]),
//! checked first against the records the group is expected to list.

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
    /// Owned group records, sorted by SCIM id.
    pub(super) group_records: Vec<&'a OwnedGroup>,
    /// SCIM id → owned user record.
    record_ids: IdTable<RecordIx>,
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
        let mut records = Vec::with_capacity(observed.users.len());
        for user in &observed.users {
            if user.external_id.is_owned() {
                records.push((user, record_key(desired, &user_of, user)));
            } else {
                warnings.push(Warning::UnownedRecordIgnored {
                    scim_id: user.scim_id.clone(),
                    external_id: user.external_id.clone(),
                });
                foreign_names.insert(fold(&user.user_name).into_owned());
            }
        }
        records.sort_by(|a, b| a.0.scim_id.cmp(&b.0.scim_id));
        let (records, keys): (Vec<_>, Vec<_>) = records.into_iter().unzip();
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

        let record_of = IdTable::<RecordIx>::new(records.iter().map(|r| r.scim_id.as_str()));
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
            record_ids: record_of,
            foreign_names,
            foreign_groups: &observed.foreign_groups,
        };
        (inputs, warnings)
    }

    /// The members `group` lists, as handles where they are owned user
    /// records.
    ///
    /// `expected` (ascending, once each) are the records the group should
    /// list. A member is compared with the next of them first and looked up by
    /// SCIM id only when it is not that one: a group that lists what it should,
    /// in SCIM id order (the order of the handles), is read with one comparison
    /// per member. Any other list gives the same result, by lookups.
    pub(super) fn members_of(
        &self,
        group: &'a OwnedGroup,
        expected: &[RecordIx],
    ) -> CurrentMembers<'a> {
        let mut owned = Vec::with_capacity(group.members.len());
        let mut other = Vec::new();
        let mut next = 0;
        for member in &group.members {
            let id = member.as_str();
            let found = match expected.get(next) {
                Some(&index) if self.record_ids.resolves_to(id, index) => {
                    next += 1;
                    Some(index)
                }
                _ => {
                    let found = self.record_ids.get(id);
                    if let Some(index) = found {
                        // The expected records before this one are not
                        // listed here (or not in order): compare the next
                        // member with the one after it.
                        next += expected[next..].partition_point(|&e| e <= index);
                    }
                    found
                }
            };
            match found {
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
    use crate::ids::{ExternalId, ScimId};
    use crate::observed::{Observed, OwnedGroup, OwnedUser};
    use crate::plan::handles::{Handle, RecordIx};

    fn record(scim_id: &str) -> OwnedUser {
        OwnedUser {
            scim_id: ScimId::new(scim_id),
            external_id: ExternalId::new(format!("pw-activate:user:{scim_id}")),
            user_name: scim_id.to_owned(),
            ..OwnedUser::default()
        }
    }

    fn group(members: &[&str]) -> OwnedGroup {
        OwnedGroup {
            scim_id: ScimId::new("g"),
            external_id: ExternalId::new("pw-activate:group:g"),
            display_name: "g".to_owned(),
            members: members.iter().map(|&m| ScimId::new(m)).collect(),
        }
    }

    #[test]
    fn group_members_are_the_same_handles_whatever_records_are_expected() {
        // Sorted by SCIM id: a = 0, b = 1, b again = 2 (never found), c = 3, d = 4.
        let observed = Observed {
            users: vec![
                record("d"),
                record("b"),
                record("a"),
                record("c"),
                record("b"),
            ],
            ..Observed::default()
        };
        let desired = Desired::default();
        let (inputs, _) = Inputs::new(&desired, &observed);
        let resolve = |list: &[&str], hint: &[usize]| {
            let hint: Vec<RecordIx> = hint.iter().map(|&p| RecordIx::at(p)).collect();
            let group = group(list);
            let current = inputs.members_of(&group, &hint);
            let owned: Vec<usize> = current.owned.iter().map(|h| h.position()).collect();
            let other: Vec<String> = current.other.iter().map(ToString::to_string).collect();
            (owned, other)
        };
        let lists: [&[&str]; 7] = [
            &["a", "b", "c", "d"],
            &["d", "c", "b", "a"],
            &["b", "x", "b", "a", "d"],
            &[],
            &["x", "a", "y", "a", "x"],
            &["c", "a", "d"],
            &["a", "c", "e"],
        ];
        let by_lookup: Vec<_> = lists.iter().map(|list| resolve(list, &[])).collect();
        let named = |owned: &[usize], other: &[&str]| {
            (
                owned.to_vec(),
                other.iter().map(ToString::to_string).collect::<Vec<_>>(),
            )
        };
        assert_eq!(by_lookup[0], named(&[0, 1, 3, 4], &[]));
        assert_eq!(by_lookup[1], named(&[4, 3, 1, 0], &[]));
        assert_eq!(by_lookup[2], named(&[1, 1, 0, 4], &["x"]));
        assert_eq!(by_lookup[4], named(&[0, 0], &["x", "y"]));
        assert_eq!(by_lookup[6], named(&[0, 3], &["e"]));
        let hints: [&[usize]; 7] = [
            &[0, 1, 3, 4],
            &[0, 2, 3, 4],
            &[2],
            &[1, 4],
            &[0, 1, 2, 3, 4],
            &[4],
            &[0, 3],
        ];
        for (list, want) in lists.iter().zip(&by_lookup) {
            for hint in hints {
                assert_eq!(
                    &resolve(list, hint),
                    want,
                    "members {list:?}, expected {hint:?}"
                );
            }
        }
    }
}
