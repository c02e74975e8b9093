//! Group operations.
//!
//! A desired group with no record is created, unless an owned record whose key
//! names no ACTIVATE group holds its name (it is re-keyed instead); otherwise
//! its record gets a PATCH of the name and the member difference. A creation
//! or rename into a `displayName` that a group record we do not own holds
//! (case-insensitively) is a conflict: the group is not created, or not
//! renamed and given no new members; members of an existing record who lost
//! access still leave it (least privilege). Owned groups no longer desired are
//! emptied. Members belonging to held users are never added or removed; the
//! record of a user whose rename is blocked stays in the groups it is in and
//! leaves those its user left, but is added to none.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use crate::handles::{RecordIx, Table, UserIx};
use crate::ids::{ExternalId, OwnedKey, ScimId, SourceGroupId, fold};
use crate::notes::{Conflict, Warning};
use crate::observed::{ForeignGroup, OwnedGroup, OwnedUser};
use crate::plan::inputs::{CurrentMembers, GroupRecord, Inputs, WantedGroup};
use crate::plan::records::{Assignment, Fate};
use crate::plan::{
    Action, CreateGroup, CreatedMember, EmptyGroup, EmptyReason, ExistingMember, FieldChange,
    MemberRef, UpdateGroup,
};

/// Group operations with the conflicts and warnings found on the way.
pub(super) struct GroupDiff {
    pub(super) actions: Vec<Action>,
    pub(super) conflicts: Vec<Conflict>,
    pub(super) warnings: Vec<Warning>,
}

/// Desired groups → their records (by key, then re-keyed by name), and the
/// records to empty.
struct Matched<'a> {
    /// Desired group id → its record.
    record_of: HashMap<&'a SourceGroupId, GroupRecord<'a>>,
    /// Records adopted by name under a new key.
    rekeyed: HashSet<&'a ScimId>,
    to_empty: Vec<(GroupRecord<'a>, EmptyReason)>,
    warnings: Vec<Warning>,
}

/// The group operations. `blocked` users are added to no group.
pub(super) fn operations(
    inputs: &Inputs<'_>,
    assignment: &Assignment,
    blocked: &Table<UserIx, bool>,
) -> GroupDiff {
    let Matched {
        record_of,
        rekeyed,
        to_empty,
        warnings,
    } = match_groups(inputs);
    let mut foreign: HashMap<Cow<'_, str>, &ForeignGroup> = HashMap::new();
    for group in inputs.foreign_groups {
        let holder = foreign.entry(fold(&group.display_name)).or_insert(group);
        if group.scim_id < holder.scim_id {
            *holder = group;
        }
    }
    let mut members = Members::new(&inputs.records, &assignment.fate);
    let mut actions = Vec::new();
    let mut conflicts = Vec::new();
    for wanted in &inputs.groups {
        let WantedGroup { id, group, .. } = *wanted;
        let existing = record_of.get(id).copied();
        let renamed = existing.is_none_or(|r| r.group.display_name != group.display_name);
        let clash = renamed
            .then(|| {
                foreign
                    .get(fold(&group.display_name).as_ref())
                    .map(|holder| Conflict::ForeignGroupName {
                        group: id.clone(),
                        name: group.display_name.clone(),
                        holder: holder.scim_id.clone(),
                        holder_name: holder.display_name.clone(),
                    })
            })
            .flatten();
        let blocked_name = clash.is_some();
        conflicts.extend(clash);
        let (mut existing_members, created, kept) =
            desired_members(inputs, assignment, blocked, wanted);
        existing_members.sort_unstable();
        let action = match existing {
            None if blocked_name => None,
            None => {
                let mut all: Vec<MemberRef> = existing_members
                    .iter()
                    .map(|&i| members.existing(i))
                    .chain(created)
                    .collect();
                all.sort();
                Some(Action::CreateGroup(CreateGroup {
                    group: id.clone(),
                    external_id: group.external_id(),
                    display_name: group.display_name.clone(),
                    members: all,
                }))
            }
            Some(record) => {
                let current = inputs.members_of(record);
                let change = Change {
                    wanted: existing_members,
                    created,
                    kept,
                    blocked_name,
                    rekey: rekeyed.contains(&record.group.scim_id),
                };
                members.update(wanted, record.group, &current, change)
            }
        };
        actions.extend(action);
    }
    for (record, reason) in to_empty {
        let current = inputs.members_of(record);
        let remove = members.removal(&current.owned, &current.other);
        if !remove.is_empty() {
            actions.push(Action::EmptyGroup(EmptyGroup {
                scim_id: record.group.scim_id.clone(),
                external_id: record.group.external_id.clone(),
                display_name: record.group.display_name.clone(),
                reason,
                remove,
            }));
        }
    }
    GroupDiff {
        actions,
        conflicts,
        warnings,
    }
}

/// What a desired group with a record needs.
struct Change {
    /// Members that have a record, ascending.
    wanted: Vec<RecordIx>,
    /// Members this plan creates.
    created: Vec<MemberRef>,
    /// Members whose user is blocked (a rename into a name held by someone
    /// else): they stay if they are members, and are not added.
    kept: Vec<RecordIx>,
    /// The group's name is held by a group record we do not own.
    blocked_name: bool,
    /// The record was adopted by name under a new key.
    rekey: bool,
}

/// Matches owned group records to desired groups by key; when several carry
/// one key, the one holding the group's name (then the first by SCIM id) is
/// kept. Records whose key names no ACTIVATE group are then re-keyed to the
/// desired group without a record whose name they hold (case-insensitively),
/// instead of being emptied while a new group of the same name is created.
fn match_groups<'a>(inputs: &Inputs<'a>) -> Matched<'a> {
    let desired = inputs.desired;
    let mut by_key: HashMap<&'a ExternalId, Vec<GroupRecord<'a>>> = HashMap::new();
    for &record in &inputs.group_records {
        by_key
            .entry(&record.group.external_id)
            .or_default()
            .push(record);
    }
    let mut matched = Matched {
        record_of: HashMap::new(),
        rekeyed: HashSet::new(),
        to_empty: Vec::new(),
        warnings: Vec::new(),
    };
    for (key, records) in by_key {
        let wanted = match key.owned_key() {
            Some(OwnedKey::Group(id)) => desired.groups.get_key_value(&id),
            _ => None,
        };
        let Some((id, group)) = wanted else {
            let reason = match key.owned_key() {
                Some(OwnedKey::Group(id)) if desired.out_of_scope_groups.contains(&id) => {
                    EmptyReason::OutOfScope
                }
                _ => EmptyReason::NotInSource,
            };
            matched
                .to_empty
                .extend(records.into_iter().map(|r| (r, reason)));
            continue;
        };
        let kept = *records
            .iter()
            .min_by_key(|r| (r.group.display_name != group.display_name, &r.group.scim_id))
            .expect("a key has at least one record");
        let kept_id = &kept.group.scim_id;
        if records.len() > 1 {
            let mut others: Vec<ScimId> = records
                .iter()
                .filter(|r| r.group.scim_id != *kept_id)
                .map(|r| r.group.scim_id.clone())
                .collect();
            others.sort();
            matched.warnings.push(Warning::DuplicateExternalId {
                external_id: key.clone(),
                kept: kept_id.clone(),
                others,
            });
        }
        for record in records {
            if record.group.scim_id != *kept_id {
                matched
                    .to_empty
                    .push((record, EmptyReason::DuplicateRecord));
            }
        }
        matched.record_of.insert(id, kept);
    }

    let mut without_record: HashMap<Cow<'a, str>, &'a SourceGroupId> = HashMap::new();
    for (id, group) in &desired.groups {
        if !matched.record_of.contains_key(id) {
            without_record
                .entry(fold(&group.display_name))
                .or_insert(id);
        }
    }
    if without_record.is_empty() {
        return matched;
    }
    let Matched {
        record_of,
        rekeyed,
        to_empty,
        ..
    } = &mut matched;
    to_empty.sort_by(|a, b| a.0.group.scim_id.cmp(&b.0.group.scim_id));
    to_empty.retain(|&(current, reason)| {
        if reason != EmptyReason::NotInSource {
            return true;
        }
        match without_record.remove(fold(&current.group.display_name).as_ref()) {
            Some(id) => {
                record_of.insert(id, current);
                rekeyed.insert(&current.group.scim_id);
                false
            }
            None => true,
        }
    });
    matched
}

/// A desired group's members: existing records (each once, in no particular
/// order), users this plan creates, and the records of blocked users (kept
/// where they are members, never added; a blocked user without a record is
/// left out).
fn desired_members(
    inputs: &Inputs<'_>,
    assignment: &Assignment,
    blocked: &Table<UserIx, bool>,
    group: &WantedGroup<'_>,
) -> (Vec<RecordIx>, Vec<MemberRef>, Vec<RecordIx>) {
    let mut existing = Vec::with_capacity(group.members.len());
    let mut created = Vec::new();
    let mut kept = Vec::new();
    for &user in &group.members {
        if blocked[user] {
            kept.extend(assignment.record_of[user]);
            continue;
        }
        if let Some(index) = assignment.record_of[user] {
            existing.push(index);
        } else {
            let desired = inputs.users[user];
            created.push(MemberRef::Created(CreatedMember {
                user_name: desired.user_name.clone(),
                user: desired.id.clone(),
            }));
        }
    }
    (existing, created, kept)
}

/// Group memberships as owned records (compared as handles, not strings).
struct Members<'r, 'a> {
    records: &'r Table<RecordIx, &'a OwnedUser>,
    /// Record → not written (its memberships are left alone).
    frozen: Table<RecordIx, bool>,
    /// Record → the mark [`Members::difference`] left on it.
    marks: Table<RecordIx, u32>,
    /// The marks of the current [`Members::difference`] are `mark - 1`
    /// (current member) and `mark` (wanted member).
    mark: u32,
}

impl<'r, 'a> Members<'r, 'a> {
    fn new(records: &'r Table<RecordIx, &'a OwnedUser>, fate: &Table<RecordIx, Fate>) -> Self {
        Self {
            records,
            frozen: fate.map(|f| *f == Fate::Frozen),
            marks: Table::filled(records.len(), 0),
            mark: 0,
        }
    }

    fn existing(&self, index: RecordIx) -> MemberRef {
        MemberRef::Existing(self.named(index))
    }

    fn named(&self, index: RecordIx) -> ExistingMember {
        let record = self.records[index];
        ExistingMember {
            user_name: Some(record.user_name.clone()),
            scim_id: record.scim_id.clone(),
        }
    }

    /// The update that makes `record` (listing `current`) the record of
    /// `wanted`, if anything differs.
    fn update(
        &mut self,
        wanted: &WantedGroup<'_>,
        record: &OwnedGroup,
        current: &CurrentMembers<'_>,
        change: Change,
    ) -> Option<Action> {
        let group = wanted.group;
        let (mut added, stale) = if change.kept.is_empty() {
            self.difference(&change.wanted, &current.owned)
        } else {
            let wanted: Vec<RecordIx> = change.wanted.iter().chain(&change.kept).copied().collect();
            self.difference(&wanted, &current.owned)
        };
        added.retain(|index| !change.kept.contains(index));
        let remove = self.removal(&stale, &current.other);
        // A blocked rename keeps the old name and gains nobody; members who
        // lost access still leave (least privilege).
        let mut add: Vec<MemberRef> = if change.blocked_name {
            Vec::new()
        } else {
            added
                .into_iter()
                .map(|i| self.existing(i))
                .chain(change.created)
                .collect()
        };
        add.sort();
        let renamed = record.display_name != group.display_name;
        let rename = (renamed && !change.blocked_name).then(|| FieldChange {
            old: record.display_name.clone(),
            new: group.display_name.clone(),
        });
        let rekey = change.rekey.then(|| FieldChange {
            old: record.external_id.clone(),
            new: group.external_id(),
        });
        if rekey.is_none() && rename.is_none() && add.is_empty() && remove.is_empty() {
            return None;
        }
        Some(Action::UpdateGroup(UpdateGroup {
            scim_id: record.scim_id.clone(),
            external_id: record.external_id.clone(),
            rekey,
            display_name: if change.blocked_name {
                record.display_name.clone()
            } else {
                group.display_name.clone()
            },
            rename,
            add,
            remove,
        }))
    }

    /// The records in `wanted` but not in `current`, and those in `current` but
    /// not in `wanted`, each sorted and once. Linear: it marks records instead
    /// of sorting the two lists.
    fn difference(
        &mut self,
        wanted: &[RecordIx],
        current: &[RecordIx],
    ) -> (Vec<RecordIx>, Vec<RecordIx>) {
        if self.mark >= u32::MAX - 2 {
            self.marks = Table::filled(self.marks.len(), 0);
            self.mark = 0;
        }
        self.mark += 2;
        let (is_current, is_wanted) = (self.mark - 1, self.mark);
        for &index in current {
            self.marks[index] = is_current;
        }
        let mut added = Vec::new();
        for &index in wanted {
            let mark = &mut self.marks[index];
            if *mark != is_current && *mark != is_wanted {
                added.push(index);
            }
            *mark = is_wanted;
        }
        let mut stale = Vec::new();
        for &index in current {
            let mark = &mut self.marks[index];
            if *mark == is_current {
                stale.push(index);
                // Listed twice in `current`: reported once.
                *mark = is_wanted;
            }
        }
        added.sort_unstable();
        stale.sort_unstable();
        (added, stale)
    }

    /// The members to remove, sorted: `owned` except frozen records, and `other`.
    fn removal(&self, owned: &[RecordIx], other: &[&ScimId]) -> Vec<ExistingMember> {
        let mut remove: Vec<ExistingMember> = owned
            .iter()
            .filter(|&&index| !self.frozen[index])
            .map(|&index| self.named(index))
            .chain(other.iter().map(|&scim_id| ExistingMember {
                user_name: None,
                scim_id: scim_id.clone(),
            }))
            .collect();
        remove.sort();
        remove.dedup();
        remove
    }
}

#[cfg(test)]
mod tests {
    use super::Members;
    use crate::DeactivationReason;
    use crate::handles::{Handle, RecordIx, Table};
    use crate::ids::{ExternalId, ScimId};
    use crate::observed::OwnedUser;
    use crate::plan::records::Fate;

    fn record(n: usize) -> OwnedUser {
        OwnedUser {
            scim_id: ScimId::new(format!("s{n}")),
            external_id: ExternalId::new(format!("pw-activate:user:{n}")),
            user_name: format!("u{n}"),
            ..OwnedUser::default()
        }
    }

    #[test]
    fn difference_of_handle_lists_in_any_order_with_repeats() {
        let owned: Vec<OwnedUser> = (0..12).map(record).collect();
        let records: Table<RecordIx, &OwnedUser> = Table::new(owned.iter().collect());
        let fate = Table::filled(records.len(), Fate::Retire(DeactivationReason::NotInSource));
        let mut members = Members::new(&records, &fate);
        let ix = |list: &[usize]| list.iter().map(|&p| RecordIx::at(p)).collect::<Vec<_>>();
        let mut d = |wanted: &[usize], current: &[usize]| {
            let (added, stale) = members.difference(&ix(wanted), &ix(current));
            let positions = |l: Vec<RecordIx>| l.into_iter().map(Handle::position).collect();
            (positions(added), positions(stale))
        };
        let none: Vec<usize> = Vec::new();
        assert_eq!(d(&[7, 1, 3, 5], &[4, 3, 7, 4]), (vec![1, 5], vec![4]));
        assert_eq!(d(&[2, 1], &[]), (vec![1, 2], none.clone()));
        assert_eq!(d(&[], &[1, 1]), (none.clone(), vec![1]));
        assert_eq!(
            d(&[9, 2], &[10, 9, 0, 1, 2, 3]),
            (none.clone(), vec![0, 1, 3, 10])
        );
        // Marks from earlier calls do not leak into later ones.
        assert_eq!(d(&[1, 3, 4], &[3]), (vec![1, 4], none.clone()));
        members.mark = u32::MAX - 2;
        let mut d = |wanted: &[usize], current: &[usize]| {
            let (added, stale) = members.difference(&ix(wanted), &ix(current));
            let positions = |l: Vec<RecordIx>| l.into_iter().map(Handle::position).collect();
            (positions(added), positions(stale))
        };
        assert_eq!(d(&[11, 0], &[0, 5]), (vec![11], vec![5]));
        assert_eq!(d(&[0], &[0]), (none.clone(), none));
    }
}
