//! The planner: desired + observed → plan. Pure, deterministic, near-linear.
//!
//! Rules (`docs/design.md`, "Reconcile rules"), per owned user record:
//! - its key names a desired user → that user's record (if several records
//!   share the key, one is kept, see [`Warning::DuplicateExternalId`]);
//! - its key names a held (conflicted) user → left exactly as it is;
//! - its key names an out-of-scope user → deactivated if active;
//! - otherwise (no such ACTIVATE user, or an earlier key scheme) → re-keyed to
//!   the desired user whose `userName` it holds (case-insensitively) if that
//!   user has no record; left alone if it holds a held user's name, or while a
//!   held user has no username at all (it could be that user's record);
//!   deactivated if active otherwise.
//!
//! Per desired user: active with no record → create; active with a record →
//! PATCH what differs (reactivate if the record is inactive: `active=true`,
//! the keys and any other change in one PATCH); inactive with an active record
//! → deactivate (`active=false` and an empty key list in one PATCH); inactive
//! with an inactive record that still carries keys → revoke the keys; inactive
//! otherwise → nothing (an inactive record's other attributes are not
//! maintained). Records no longer desired are retired the same way.
//!
//! A create or rename needs its `userName` free in the final state: a name
//! held by a foreign record, or by an owned record that keeps it, is a
//! conflict; a name freed by another rename in the same plan is fine (apply
//! orders such renames), except in a cycle. Conflicted users are not written.
//!
//! Groups: desired group with no record → create, unless an owned record whose
//! key names no ACTIVATE group holds its name (it is re-keyed instead);
//! otherwise PATCH the name and the member difference. A creation or rename into a `displayName` that a
//! group record we do not own holds (case-insensitively) is a conflict: the
//! group is not created, or not renamed and given no new members; members of
//! an existing record who lost access still leave it (least privilege). Owned groups no longer desired are emptied. Members
//! belonging to users that are not written (held or conflicted) are never added
//! or removed.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

use crate::desired::{Desired, DesiredGroup, DesiredStatus, DesiredUser};
use crate::guards;
use crate::ids::{ExternalId, OwnedKey, ScimId, SourceGroupId, fold};
use crate::keys::{observed_key_summaries, same_key_set};
use crate::notes::{Conflict, UserLabel, Warning};
use crate::observed::{ForeignGroup, Observed, OwnedGroup, OwnedUser};
use crate::plan::id_index::IdIndex;
use crate::plan::{
    Action, CreateGroup, CreateUser, CreatedMember, Deactivate, DeactivationReason, EmptyGroup,
    EmptyReason, ExistingMember, FieldChange, KeysChange, MemberRef, NewUserRecord, Operation,
    PLAN_FORMAT_VERSION, Plan, PlanOptions, RevokeKeys, UpdateGroup, UserChange, UserPatch,
    sort_operations,
};
use crate::rules::ServerRules;

/// Computes the plan that turns `observed` into `desired`, then evaluates the
/// safety guards (see [`crate::guards`]).
///
/// Pure and deterministic: the same inputs give an identical plan.
pub fn plan(desired: &Desired, observed: &Observed, options: &PlanOptions) -> Plan {
    let mut planner = Planner::new(desired, observed, options.server);
    planner.classify_users();
    planner.assign_rekeys();
    planner.resolve_names();
    planner.plan_users();
    planner.plan_groups();

    let owned = guards::Owned {
        all: planner.records.len(),
        active: planner.records.iter().filter(|r| r.active).count(),
    };
    planner.note_rules(options.server);
    let Planner {
        mut operations,
        mut conflicts,
        mut warnings,
        ..
    } = planner;
    let guards = guards::evaluate(&mut operations, desired, owned, options);
    sort_operations(&mut operations);
    conflicts.extend(desired.conflicts.iter().cloned());
    conflicts.sort();
    conflicts.dedup();
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

/// What happens to an owned user record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// The record of the desired user in this slot.
    Matched(usize),
    /// Re-keyed to become the record of the desired user in this slot.
    ReKey(usize),
    /// Not written at all.
    Frozen,
    /// Not desired: deactivated if active.
    Retire(DeactivationReason),
}

/// Whether a user's desired name is free in the final state.
#[derive(Clone)]
enum NameOutcome {
    Free,
    Blocked(Conflict),
}

/// Input of the name-chain walk (users by slot, records by index).
struct NameRequests<'a> {
    /// Slot → the case-folded name it needs but does not hold.
    wants: HashMap<usize, Cow<'a, str>>,
    /// Record index → the slot it belongs to, for records being renamed.
    renaming: HashMap<usize, usize>,
    /// Case-folded wanted name → the record holding it now.
    holders: HashMap<Cow<'a, str>, usize>,
}

/// The planner's working state. Desired users are addressed by *slot* (their
/// position in id order), owned user records by *index* (position in SCIM id
/// order), so the hot paths index vectors instead of searching maps.
struct Planner<'a> {
    desired: &'a Desired,
    observed: &'a Observed,
    server: ServerRules,
    /// Per attribute: how many records differ from the desired value only by
    /// case (not a change, see [`ServerRules`]), and the first such pair.
    case_only: BTreeMap<&'static str, (usize, String, String)>,
    /// Desired users in id order.
    users: Vec<&'a DesiredUser>,
    /// ACTIVATE id → slot.
    slot_of: IdIndex<'a>,
    /// Slot → index of its record (matched or re-keyed).
    record_of: Vec<Option<usize>>,
    /// Slot → not written because of a plan-time name conflict.
    blocked: Vec<bool>,
    /// Owned user records, sorted by SCIM id.
    records: Vec<&'a OwnedUser>,
    /// Index → what happens to the record.
    fate: Vec<Fate>,
    /// Case-folded `userName`s of foreign records.
    foreign: HashSet<String>,
    owned_groups: Vec<&'a OwnedGroup>,
    /// Owned group records adopted by name under a new key.
    rekeyed_groups: HashSet<&'a ScimId>,
    operations: Vec<Operation>,
    conflicts: Vec<Conflict>,
    warnings: Vec<Warning>,
}

impl<'a> Planner<'a> {
    fn new(desired: &'a Desired, observed: &'a Observed, server: ServerRules) -> Self {
        let mut warnings = Vec::new();
        let mut foreign: HashSet<String> = observed
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
                foreign.insert(fold(&user.user_name).into_owned());
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
        let users: Vec<&DesiredUser> = desired.users.values().collect();
        let slot_of = IdIndex::new(desired.users.keys().map(|id| (id.addr(), id.as_str())));
        Self {
            desired,
            observed,
            server,
            case_only: BTreeMap::new(),
            record_of: vec![None; users.len()],
            blocked: vec![false; users.len()],
            users,
            slot_of,
            fate: vec![Fate::Retire(DeactivationReason::NotInSource); records.len()],
            records,
            foreign,
            owned_groups,
            rekeyed_groups: HashSet::new(),
            operations: Vec::new(),
            conflicts: Vec::new(),
            warnings,
        }
    }

    /// Matches records to desired, held and out-of-scope users by key.
    ///
    /// One pass over the records in SCIM id order: the first record carrying a
    /// desired user's key takes the slot; later ones are set aside and settled
    /// below (only duplicated keys cost more than one lookup).
    fn classify_users(&mut self) {
        let desired = self.desired;
        let mut duplicates: HashMap<usize, Vec<usize>> = HashMap::new();
        for (index, &record) in self.records.iter().enumerate() {
            let Some(id) = record.external_id.user_id() else {
                continue; // Stays NotInSource; may be re-keyed.
            };
            if let Some(slot) = self.slot_of.get_text(id) {
                match self.record_of[slot] {
                    None => {
                        self.record_of[slot] = Some(index);
                        self.fate[index] = Fate::Matched(slot);
                    }
                    Some(first) => duplicates
                        .entry(slot)
                        .or_insert_with(|| vec![first])
                        .push(index),
                }
            } else if desired.held_users.contains_key(id) {
                self.fate[index] = Fate::Frozen;
            } else if desired.out_of_scope_users.contains(id) {
                self.fate[index] = Fate::Retire(DeactivationReason::OutOfScope);
            }
        }
        for (slot, indices) in duplicates {
            let wanted = fold(&self.users[slot].user_name);
            let kept = *indices
                .iter()
                .min_by_key(|&&i| {
                    let r = self.records[i];
                    (fold(&r.user_name) != wanted, !r.active, &r.scim_id)
                })
                .expect("a duplicated key has at least two records");
            for &i in &indices {
                self.fate[i] = if i == kept {
                    Fate::Matched(slot)
                } else {
                    Fate::Retire(DeactivationReason::DuplicateRecord)
                };
            }
            self.record_of[slot] = Some(kept);
            let mut others: Vec<ScimId> = indices
                .iter()
                .filter(|&&i| i != kept)
                .map(|&i| self.records[i].scim_id.clone())
                .collect();
            others.sort();
            self.warnings.push(Warning::DuplicateExternalId {
                external_id: self.records[kept].external_id.clone(),
                kept: self.records[kept].scim_id.clone(),
                others,
            });
        }
    }

    /// Orphan records (key matches no ACTIVATE user) are re-keyed to the desired
    /// user whose name they hold, or frozen when they hold a held user's name.
    fn assign_rekeys(&mut self) {
        let orphan = Fate::Retire(DeactivationReason::NotInSource);
        if !self.fate.contains(&orphan) {
            return;
        }
        let held: HashSet<Cow<'a, str>> =
            self.desired.held_users.values().map(|n| fold(n)).collect();
        let mut orphan_by_name: HashMap<Cow<'a, str>, usize> = HashMap::new();
        for (index, &record) in self.records.iter().enumerate() {
            if self.fate[index] != orphan {
                continue;
            }
            let name = fold(&record.user_name);
            if held.contains(&name) {
                self.fate[index] = Fate::Frozen;
            } else {
                // Records are sorted by SCIM id: the first one wins.
                orphan_by_name.entry(name).or_insert(index);
            }
        }
        for slot in 0..self.users.len() {
            if self.record_of[slot].is_some() {
                continue;
            }
            if let Some(&index) = orphan_by_name.get(fold(&self.users[slot].user_name).as_ref()) {
                self.fate[index] = Fate::ReKey(slot);
                self.record_of[slot] = Some(index);
            }
        }
        // A held user without a username could be the owner of any orphan (its
        // id may have changed too): no orphan is retired while one is held.
        if self
            .desired
            .held_users
            .values()
            .any(|name| name.trim().is_empty())
        {
            for fate in &mut self.fate {
                if *fate == orphan {
                    *fate = Fate::Frozen;
                }
            }
        }
    }

    /// Finds creations and renames whose `userName` is not free in the final state.
    fn resolve_names(&mut self) {
        // Desired active users that need a name they do not hold yet, and the
        // records that will be renamed away from their current name.
        let mut names = NameRequests {
            wants: HashMap::new(),
            renaming: HashMap::new(),
            holders: HashMap::new(),
        };
        for (slot, &user) in self.users.iter().enumerate() {
            if !user.status.is_active() {
                continue;
            }
            match self.record_of[slot] {
                Some(index) if self.records[index].user_name == user.user_name => {}
                Some(index) => {
                    let target = fold(&user.user_name);
                    if fold(&self.records[index].user_name) != target {
                        names.renaming.insert(index, slot);
                        names.wants.insert(slot, target);
                    }
                }
                None => {
                    names.wants.insert(slot, fold(&user.user_name));
                }
            }
        }
        if names.wants.is_empty() {
            return;
        }
        // Current holders of the wanted names (first by SCIM id).
        let wanted: HashSet<&str> = names.wants.values().map(AsRef::as_ref).collect();
        for (index, &record) in self.records.iter().enumerate() {
            let name = fold(&record.user_name);
            if wanted.contains(name.as_ref()) {
                names.holders.entry(name).or_insert(index);
            }
        }

        let mut memo: HashMap<usize, NameOutcome> = HashMap::with_capacity(names.wants.len());
        let mut slots: Vec<usize> = names.wants.keys().copied().collect();
        slots.sort_unstable();
        for start in slots {
            self.walk_name_chain(start, &names, &mut memo);
        }

        let mut blocked: Vec<(usize, Conflict)> = memo
            .into_iter()
            .filter_map(|(slot, outcome)| match outcome {
                NameOutcome::Free => None,
                NameOutcome::Blocked(conflict) => Some((slot, conflict)),
            })
            .collect();
        blocked.sort_by_key(|(slot, _)| *slot);
        for (slot, conflict) in blocked {
            if let Some(index) = self.record_of[slot] {
                self.fate[index] = Fate::Frozen;
            }
            self.blocked[slot] = true;
            self.conflicts.push(conflict);
        }
    }

    /// Follows "my name is held by X, who is renaming away" from `start` and
    /// records the outcome of every user on the way.
    fn walk_name_chain(
        &self,
        start: usize,
        names: &NameRequests<'a>,
        memo: &mut HashMap<usize, NameOutcome>,
    ) {
        let mut path: Vec<usize> = Vec::new();
        let mut on_path: HashSet<usize> = HashSet::new();
        let mut current = start;
        let end = loop {
            if let Some(known) = memo.get(&current) {
                break known.clone();
            }
            if on_path.contains(&current) {
                // A cycle: everyone from `current` onwards on the path.
                let from = path.iter().position(|s| *s == current).unwrap_or(0);
                for slot in path.drain(from..) {
                    let conflict = Conflict::RenameCycle {
                        user: self.label(slot),
                    };
                    memo.insert(slot, NameOutcome::Blocked(conflict));
                }
                break memo[&current].clone();
            }
            path.push(current);
            on_path.insert(current);
            let target = &names.wants[&current];
            let outcome = if self.foreign.contains(target.as_ref()) {
                NameOutcome::Blocked(Conflict::ForeignUserName {
                    user: self.label(current),
                })
            } else {
                match names.holders.get(target) {
                    None => NameOutcome::Free,
                    Some(holder) => {
                        if let Some(&next) = names.renaming.get(holder) {
                            current = next;
                            continue;
                        }
                        NameOutcome::Blocked(self.held_by(current, *holder))
                    }
                }
            };
            memo.insert(current, outcome.clone());
            path.pop();
            break outcome;
        };
        // Unwind: each user on the path waits for the next one's rename.
        let mut next_free = matches!(end, NameOutcome::Free);
        while let Some(slot) = path.pop() {
            let outcome = if next_free {
                NameOutcome::Free
            } else {
                let holder = names.holders[&names.wants[&slot]];
                NameOutcome::Blocked(self.held_by(slot, holder))
            };
            next_free = matches!(outcome, NameOutcome::Free);
            memo.insert(slot, outcome);
        }
    }

    fn label(&self, slot: usize) -> UserLabel {
        UserLabel {
            id: self.users[slot].id.clone(),
            user_name: self.users[slot].user_name.clone(),
        }
    }

    fn held_by(&self, slot: usize, holder: usize) -> Conflict {
        Conflict::UserNameHeld {
            user: self.label(slot),
            holder: self.records[holder].scim_id.clone(),
            holder_external_id: self.records[holder].external_id.clone(),
        }
    }

    fn plan_users(&mut self) {
        for slot in 0..self.users.len() {
            let user = self.users[slot];
            if self.blocked[slot] {
                continue;
            }
            let Some(index) = self.record_of[slot] else {
                if user.status.is_active() {
                    self.push(Action::CreateUser(CreateUser {
                        user: user.id.clone(),
                        record: new_record(user, self.server),
                    }));
                }
                continue;
            };
            let record = self.records[index];
            let rekey = matches!(self.fate[index], Fate::ReKey(_));
            let mut changes = Vec::new();
            if rekey {
                changes.push(UserChange::ExternalId(FieldChange {
                    old: record.external_id.clone(),
                    new: user.external_id(),
                }));
            }
            if user.status.is_active() {
                changes.extend(self.diff_user(user, record));
            } else {
                self.retire(
                    record,
                    match user.status {
                        DesiredStatus::Unlicensed => DeactivationReason::Unlicensed,
                        DesiredStatus::Inactive | DesiredStatus::Active => {
                            DeactivationReason::Inactive
                        }
                    },
                );
            }
            if changes.is_empty() {
                continue;
            }
            let patch = UserPatch {
                scim_id: record.scim_id.clone(),
                external_id: record.external_id.clone(),
                user: user.id.clone(),
                user_name: user.user_name.clone(),
                changes,
            };
            self.push(if rekey {
                Action::ReKey(patch)
            } else if !record.active {
                Action::Reactivate(patch)
            } else {
                Action::UpdateUser(patch)
            });
        }
        for index in 0..self.records.len() {
            if let Fate::Retire(reason) = self.fate[index] {
                self.retire(self.records[index], reason);
            }
        }
    }

    /// Takes access away from a record that is not to be active: an active
    /// record is deactivated (with its keys emptied in the same PATCH); an
    /// inactive one that still carries keys has them emptied; any other
    /// inactive record is left alone.
    fn retire(&mut self, record: &OwnedUser, reason: DeactivationReason) {
        let removed_keys = observed_key_summaries(&record.ssh_keys);
        if record.active {
            self.push(Action::Deactivate(Deactivate {
                scim_id: record.scim_id.clone(),
                external_id: record.external_id.clone(),
                user_name: record.user_name.clone(),
                reason,
                removed_keys,
            }));
        } else if !record.ssh_keys.is_empty() {
            self.push(Action::RevokeKeys(RevokeKeys {
                scim_id: record.scim_id.clone(),
                external_id: record.external_id.clone(),
                user_name: record.user_name.clone(),
                reason,
                removed_keys,
            }));
        }
    }

    /// Matches owned group records to desired groups by key; the rest are
    /// to be emptied.
    #[allow(clippy::type_complexity)]
    fn match_groups(
        &mut self,
    ) -> (
        HashMap<&'a SourceGroupId, &'a OwnedGroup>,
        Vec<(&'a OwnedGroup, EmptyReason)>,
    ) {
        let desired = self.desired;
        let mut by_key: HashMap<&'a ExternalId, Vec<&'a OwnedGroup>> = HashMap::new();
        for &group in &self.owned_groups {
            by_key.entry(&group.external_id).or_default().push(group);
        }
        let mut record_of = HashMap::new();
        let mut to_empty = Vec::new();
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
                to_empty.extend(records.into_iter().map(|r| (r, reason)));
                continue;
            };
            let kept = *records
                .iter()
                .min_by_key(|r| (r.display_name != group.display_name, &r.scim_id))
                .expect("a key has at least one record");
            if records.len() > 1 {
                let mut others: Vec<ScimId> = records
                    .iter()
                    .filter(|r| r.scim_id != kept.scim_id)
                    .map(|r| r.scim_id.clone())
                    .collect();
                others.sort();
                self.warnings.push(Warning::DuplicateExternalId {
                    external_id: key.clone(),
                    kept: kept.scim_id.clone(),
                    others,
                });
            }
            for record in records {
                if record.scim_id != kept.scim_id {
                    to_empty.push((record, EmptyReason::DuplicateRecord));
                }
            }
            record_of.insert(id, kept);
        }
        self.rekey_groups(&mut record_of, &mut to_empty);
        (record_of, to_empty)
    }

    /// Owned group records whose key names no ACTIVATE group (an earlier key,
    /// or another source's id) are re-keyed to the desired group without a
    /// record whose name they hold (case-insensitively), instead of being
    /// emptied while a new group of the same name is created.
    fn rekey_groups(
        &mut self,
        record_of: &mut HashMap<&'a SourceGroupId, &'a OwnedGroup>,
        to_empty: &mut Vec<(&'a OwnedGroup, EmptyReason)>,
    ) {
        let desired = self.desired;
        let mut without_record: HashMap<Cow<'a, str>, &'a SourceGroupId> = HashMap::new();
        for (id, group) in &desired.groups {
            if !record_of.contains_key(id) {
                without_record
                    .entry(fold(&group.display_name))
                    .or_insert(id);
            }
        }
        if without_record.is_empty() {
            return;
        }
        to_empty.sort_by(|a, b| a.0.scim_id.cmp(&b.0.scim_id));
        to_empty.retain(|&(record, reason)| {
            if reason != EmptyReason::NotInSource {
                return true;
            }
            match without_record.remove(fold(&record.display_name).as_ref()) {
                Some(id) => {
                    record_of.insert(id, record);
                    self.rekeyed_groups.insert(&record.scim_id);
                    false
                }
                None => true,
            }
        });
    }

    /// Desired members of a group: existing records by index (each once, in
    /// no particular order), and users this plan creates.
    fn desired_members(&self, group: &DesiredGroup) -> (Vec<usize>, Vec<MemberRef>) {
        let mut wanted: Vec<usize> = Vec::with_capacity(group.members.len());
        let mut created: Vec<MemberRef> = Vec::new();
        for member in &group.members {
            let Some(slot) = self.slot_of.get(member.addr(), member.as_str()) else {
                continue;
            };
            if self.blocked[slot] {
                continue;
            }
            match self.record_of[slot] {
                Some(index) => wanted.push(index),
                None => created.push(MemberRef::Created(CreatedMember {
                    user_name: self.users[slot].user_name.clone(),
                    user: member.clone(),
                })),
            }
        }
        (wanted, created)
    }

    /// The conflict of a group whose creation or rename would take a
    /// `displayName` held by a group record we do not own.
    fn foreign_group_name(
        foreign: &HashMap<Cow<'a, str>, &'a ForeignGroup>,
        id: &SourceGroupId,
        group: &DesiredGroup,
    ) -> Option<Conflict> {
        foreign
            .get(fold(&group.display_name).as_ref())
            .map(|holder| Conflict::ForeignGroupName {
                group: id.clone(),
                name: group.display_name.clone(),
                holder: holder.scim_id.clone(),
                holder_name: holder.display_name.clone(),
            })
    }

    fn plan_groups(&mut self) {
        let desired = self.desired;
        let (record_of, to_empty) = self.match_groups();
        let mut foreign: HashMap<Cow<'a, str>, &'a ForeignGroup> = HashMap::new();
        for group in &self.observed.foreign_groups {
            let holder = foreign.entry(fold(&group.display_name)).or_insert(group);
            if group.scim_id < holder.scim_id {
                *holder = group;
            }
        }
        let mut members = Members::new(&self.records, &self.fate);
        let mut operations = Vec::new();
        for (id, group) in &desired.groups {
            let renamed = record_of
                .get(id)
                .is_none_or(|record| record.display_name != group.display_name);
            let clash = renamed
                .then(|| Self::foreign_group_name(&foreign, id, group))
                .flatten();
            let blocked = clash.is_some();
            if let Some(conflict) = clash {
                self.conflicts.push(conflict);
            }
            let (wanted, created) = self.desired_members(group);
            let Some(&record) = record_of.get(id) else {
                if blocked {
                    continue;
                }
                let mut all: Vec<MemberRef> = wanted
                    .iter()
                    .map(|&i| members.existing(i))
                    .chain(created)
                    .collect();
                all.sort();
                operations.push(Action::CreateGroup(CreateGroup {
                    group: id.clone(),
                    external_id: group.external_id(),
                    display_name: group.display_name.clone(),
                    members: all,
                }));
                continue;
            };
            let (current, other) = members.current(record);
            let (added, stale) = members.difference(&wanted, &current);
            let remove = members.removal(&stale, &other);
            // A blocked rename keeps the old name and gains nobody; members
            // who lost access still leave (least privilege).
            let mut add: Vec<MemberRef> = if blocked {
                Vec::new()
            } else {
                added
                    .into_iter()
                    .map(|i| members.existing(i))
                    .chain(created)
                    .collect()
            };
            add.sort();
            let rename =
                (!blocked && record.display_name != group.display_name).then(|| FieldChange {
                    old: record.display_name.clone(),
                    new: group.display_name.clone(),
                });
            let rekey = self
                .rekeyed_groups
                .contains(&record.scim_id)
                .then(|| FieldChange {
                    old: record.external_id.clone(),
                    new: group.external_id(),
                });
            if rekey.is_some() || rename.is_some() || !add.is_empty() || !remove.is_empty() {
                operations.push(Action::UpdateGroup(UpdateGroup {
                    scim_id: record.scim_id.clone(),
                    external_id: record.external_id.clone(),
                    rekey,
                    display_name: if blocked {
                        record.display_name.clone()
                    } else {
                        group.display_name.clone()
                    },
                    rename,
                    add,
                    remove,
                }));
            }
        }
        for (record, reason) in to_empty {
            let (current, other) = members.current(record);
            let remove = members.removal(&current, &other);
            if !remove.is_empty() {
                operations.push(Action::EmptyGroup(EmptyGroup {
                    scim_id: record.scim_id.clone(),
                    external_id: record.external_id.clone(),
                    display_name: record.display_name.clone(),
                    reason,
                    remove,
                }));
            }
        }
        for action in operations {
            self.push(action);
        }
    }

    /// The warnings that follow from the server's rules: attributes not kept,
    /// and differences in case only (one line per attribute).
    fn note_rules(&mut self, server: ServerRules) {
        let not_kept = server.not_kept.paths();
        if !not_kept.is_empty() {
            self.warnings.push(Warning::AttributesNotKept {
                attributes: not_kept.into_iter().map(str::to_owned).collect(),
            });
        }
        for (attribute, (records, desired, stored)) in std::mem::take(&mut self.case_only) {
            self.warnings.push(Warning::CaseOnlyDifference {
                attribute: attribute.to_owned(),
                records,
                desired,
                stored,
            });
        }
    }

    fn case_only(&mut self, attribute: &'static str, desired: &str, stored: &str) {
        let entry = self
            .case_only
            .entry(attribute)
            .or_insert_with(|| (0, desired.to_owned(), stored.to_owned()));
        entry.0 += 1;
    }

    /// The attribute changes that make `record` match the active desired
    /// `user`, compared by the server's rules.
    fn diff_user(&mut self, user: &DesiredUser, record: &OwnedUser) -> Vec<UserChange> {
        fn text(
            changes: &mut Vec<UserChange>,
            not_kept: bool,
            old: Option<&String>,
            new: Option<&str>,
            make: fn(FieldChange<Option<String>>) -> UserChange,
        ) {
            if !not_kept && old.map(String::as_str) != new {
                changes.push(make(FieldChange {
                    old: old.cloned(),
                    new: new.map(str::to_owned),
                }));
            }
        }
        let server = self.server;
        let not_kept = server.not_kept;
        let mut changes = Vec::new();
        if record.user_name != user.user_name {
            if server.same_user_name(&record.user_name, &user.user_name) {
                self.case_only("userName", &user.user_name, &record.user_name);
            } else {
                changes.push(UserChange::UserName(FieldChange {
                    old: record.user_name.clone(),
                    new: user.user_name.clone(),
                }));
            }
        }
        text(
            &mut changes,
            not_kept.given_name,
            record.given_name.as_ref(),
            user.given_name(),
            UserChange::GivenName,
        );
        text(
            &mut changes,
            not_kept.family_name,
            record.family_name.as_ref(),
            user.family_name(),
            UserChange::FamilyName,
        );
        text(
            &mut changes,
            not_kept.formatted_name,
            record.formatted_name.as_ref(),
            Some(user.formatted_name()),
            UserChange::FormattedName,
        );
        text(
            &mut changes,
            not_kept.display_name,
            record.display_name.as_ref(),
            Some(user.formatted_name()),
            UserChange::DisplayName,
        );
        if !not_kept.emails && record.email.as_deref() != user.email.as_deref() {
            if server.same_email(record.email.as_deref(), user.email.as_deref()) {
                self.case_only(
                    "emails",
                    user.email.as_deref().unwrap_or_default(),
                    record.email.as_deref().unwrap_or_default(),
                );
            } else {
                changes.push(UserChange::Email(FieldChange {
                    old: record.email.clone(),
                    new: user.email.clone(),
                }));
            }
        }
        if let Some(keys) = &user.ssh_keys
            && !same_key_set(keys, &record.ssh_keys)
        {
            changes.push(UserChange::SshKeys(KeysChange {
                old: observed_key_summaries(&record.ssh_keys),
                new: keys.clone(),
            }));
        }
        if !record.active {
            changes.push(UserChange::Active(FieldChange {
                old: false,
                new: true,
            }));
        }
        changes
    }

    fn push(&mut self, action: Action) {
        self.operations.push(Operation {
            action,
            withheld: None,
        });
    }
}

/// Group memberships as owned-record indices (compared as numbers, not strings).
struct Members<'r, 'a> {
    records: &'r [&'a OwnedUser],
    /// SCIM id → record index.
    index_of: IdIndex<'a>,
    /// Record index → not written (its memberships are left alone).
    frozen: Vec<bool>,
    /// Record index → the mark [`Members::difference`] left on it.
    marks: Vec<u32>,
    /// The marks of the current [`Members::difference`] are `mark - 1`
    /// (current member) and `mark` (wanted member).
    mark: u32,
}

impl<'r, 'a> Members<'r, 'a> {
    fn new(records: &'r [&'a OwnedUser], fate: &[Fate]) -> Self {
        Self {
            records,
            index_of: IdIndex::new(
                records
                    .iter()
                    .map(|r| (r.scim_id.addr(), r.scim_id.as_str())),
            ),
            frozen: fate.iter().map(|f| *f == Fate::Frozen).collect(),
            marks: vec![0; records.len()],
            mark: 0,
        }
    }

    fn existing(&self, index: usize) -> MemberRef {
        MemberRef::Existing(self.named(index))
    }

    fn named(&self, index: usize) -> ExistingMember {
        ExistingMember {
            user_name: Some(self.records[index].user_name.clone()),
            scim_id: self.records[index].scim_id.clone(),
        }
    }

    /// A group's current members: owned records by index (in list order, a
    /// record listed twice appears twice), anything else (foreign or dangling)
    /// by SCIM id, sorted and once.
    fn current(&self, group: &'a OwnedGroup) -> (Vec<usize>, Vec<&'a ScimId>) {
        let mut owned = Vec::with_capacity(group.members.len());
        let mut other: Vec<&'a ScimId> = Vec::new();
        for member in &group.members {
            match self.index_of.get(member.addr(), member.as_str()) {
                Some(index) => owned.push(index),
                None => other.push(member),
            }
        }
        other.sort_unstable();
        other.dedup();
        (owned, other)
    }

    /// The records in `wanted` but not in `current`, and those in `current` but
    /// not in `wanted`, each sorted and once. Linear: it marks records instead
    /// of sorting the two lists.
    fn difference(&mut self, wanted: &[usize], current: &[usize]) -> (Vec<usize>, Vec<usize>) {
        if self.mark >= u32::MAX - 2 {
            self.marks.fill(0);
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
    fn removal(&self, owned: &[usize], other: &[&ScimId]) -> Vec<ExistingMember> {
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

/// The record to create for `user`, without the attributes the server does not keep.
fn new_record(user: &DesiredUser, server: ServerRules) -> NewUserRecord {
    let kept = |not_kept: bool, value: Option<&str>| value.filter(|_| !not_kept).map(str::to_owned);
    let not_kept = server.not_kept;
    NewUserRecord {
        external_id: user.external_id(),
        user_name: user.user_name.clone(),
        given_name: kept(not_kept.given_name, user.given_name()),
        family_name: kept(not_kept.family_name, user.family_name()),
        formatted_name: kept(not_kept.formatted_name, Some(user.formatted_name())),
        display_name: kept(not_kept.display_name, Some(user.formatted_name())),
        email: kept(not_kept.emails, user.email.as_deref()),
        active: true,
        ssh_keys: user.ssh_keys.clone().unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::{Fate, Members};
    use crate::DeactivationReason;
    use crate::ids::{ExternalId, ScimId};
    use crate::observed::OwnedUser;

    fn record(n: usize) -> OwnedUser {
        OwnedUser {
            scim_id: ScimId::new(format!("s{n}")),
            external_id: ExternalId::new(format!("pw-activate:user:{n}")),
            user_name: format!("u{n}"),
            given_name: None,
            family_name: None,
            formatted_name: None,
            display_name: None,
            email: None,
            active: true,
            ssh_keys: Vec::new(),
        }
    }

    #[test]
    fn difference_of_index_lists_in_any_order_with_repeats() {
        let owned: Vec<OwnedUser> = (0..12).map(record).collect();
        let records: Vec<&OwnedUser> = owned.iter().collect();
        let fate = vec![Fate::Retire(DeactivationReason::NotInSource); records.len()];
        let mut members = Members::new(&records, &fate);
        let mut d = |wanted: &[usize], current: &[usize]| members.difference(wanted, current);
        assert_eq!(d(&[7, 1, 3, 5], &[4, 3, 7, 4]), (vec![1, 5], vec![4]));
        assert_eq!(d(&[2, 1], &[]), (vec![1, 2], vec![]));
        assert_eq!(d(&[], &[1, 1]), (vec![], vec![1]));
        assert_eq!(
            d(&[9, 2], &[10, 9, 0, 1, 2, 3]),
            (vec![], vec![0, 1, 3, 10])
        );
        // Marks from earlier calls do not leak into later ones.
        assert_eq!(d(&[1, 3, 4], &[3]), (vec![1, 4], vec![]));
        members.mark = u32::MAX - 2;
        let mut d = |wanted: &[usize], current: &[usize]| members.difference(wanted, current);
        assert_eq!(d(&[11, 0], &[0, 5]), (vec![11], vec![5]));
        assert_eq!(d(&[0], &[0]), (vec![], vec![]));
    }
}
