//! The planner: desired + observed → plan. Pure, deterministic, near-linear.
//!
//! Rules (DESIGN.md "Reconcile rules"), per owned user record:
//! - its key names a desired user → that user's record (if several records
//!   share the key, one is kept, see [`Warning::DuplicateExternalId`]);
//! - its key names a held (conflicted) user → left exactly as it is;
//! - its key names an out-of-scope user → deactivated if active;
//! - otherwise (no such ACTIVATE user, or an earlier key scheme) → re-keyed to
//!   the desired user whose `userName` it holds (case-insensitively) if that
//!   user has no record; left alone if it holds a held user's name;
//!   deactivated if active otherwise.
//!
//! Per desired user: active with no record → create; active with a record →
//! PATCH what differs (reactivate if the record is inactive); inactive with an
//! active record → deactivate; inactive otherwise → nothing (an inactive
//! record's other attributes are not maintained).
//!
//! A create or rename needs its `userName` free in the final state: a name
//! held by a foreign record, or by an owned record that keeps it, is a
//! conflict; a name freed by another rename in the same plan is fine (apply
//! orders such renames), except in a cycle. Conflicted users are not written.
//!
//! Groups: desired group with no record → create; otherwise PATCH the name and
//! the member difference. Owned groups no longer desired are emptied. Members
//! belonging to users that are not written (held or conflicted) are never added
//! or removed.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::desired::{Desired, DesiredStatus, DesiredUser};
use crate::guards;
use crate::ids::{ExternalId, OwnedKey, ScimId, SourceGroupId, SourceUserId, fold};
use crate::keys::{observed_key_set, observed_key_summaries};
use crate::notes::{Conflict, UserLabel, Warning};
use crate::observed::{Observed, OwnedGroup, OwnedUser};
use crate::plan::{
    Action, CreateGroup, CreateUser, CreatedMember, Deactivate, DeactivationReason, EmptyGroup,
    EmptyReason, ExistingMember, FieldChange, KeysChange, MemberRef, NewUserRecord, Operation,
    PLAN_FORMAT_VERSION, Plan, PlanOptions, UpdateGroup, UserChange, UserPatch, sort_operations,
};

/// Computes the plan that turns `observed` into `desired`, then evaluates the
/// safety guards (see [`crate::guards`]).
///
/// Pure and deterministic: the same inputs give an identical plan.
pub fn plan(desired: &Desired, observed: &Observed, options: &PlanOptions) -> Plan {
    let mut planner = Planner::new(desired, observed);
    planner.classify_users();
    planner.assign_rekeys();
    planner.resolve_names();
    planner.plan_users();
    planner.plan_groups();

    let owned_active = planner.records.iter().filter(|r| r.active).count();
    let Planner {
        mut operations,
        mut conflicts,
        mut warnings,
        ..
    } = planner;
    let guards = guards::evaluate(&mut operations, desired, owned_active, options);
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
    }
}

/// What happens to an owned user record.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fate {
    /// The record of this desired user.
    Matched(SourceUserId),
    /// Re-keyed to become the record of this desired user.
    ReKey(SourceUserId),
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

/// Input of the name-chain walk.
struct NameRequests<'a> {
    /// Desired active user → the case-folded name it needs but does not hold.
    wants: HashMap<&'a SourceUserId, String>,
    /// Record index → the user it belongs to, for records being renamed.
    renaming: HashMap<usize, &'a SourceUserId>,
    /// Case-folded name → the record holding it now.
    holders: HashMap<String, usize>,
}

struct Planner<'a> {
    desired: &'a Desired,
    /// Owned user records, sorted by SCIM id.
    records: Vec<&'a OwnedUser>,
    fate: Vec<Fate>,
    /// Desired user → index of its record.
    record_of: HashMap<&'a SourceUserId, usize>,
    /// Case-folded `userName`s of foreign records.
    foreign: HashSet<String>,
    /// Users not written because of a plan-time name conflict.
    blocked: HashSet<&'a SourceUserId>,
    operations: Vec<Operation>,
    conflicts: Vec<Conflict>,
    warnings: Vec<Warning>,
    owned_groups: Vec<&'a OwnedGroup>,
}

impl<'a> Planner<'a> {
    fn new(desired: &'a Desired, observed: &'a Observed) -> Self {
        let mut warnings = Vec::new();
        let mut foreign: HashSet<String> = observed
            .foreign_user_names
            .iter()
            .map(|n| fold(n))
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
                foreign.insert(fold(&user.user_name));
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
        let fate = vec![Fate::Retire(DeactivationReason::NotInSource); records.len()];
        Self {
            desired,
            records,
            fate,
            record_of: HashMap::new(),
            foreign,
            blocked: HashSet::new(),
            operations: Vec::new(),
            conflicts: Vec::new(),
            warnings,
            owned_groups,
        }
    }

    /// Matches records to desired, held and out-of-scope users by key.
    fn classify_users(&mut self) {
        let mut by_key: HashMap<&ExternalId, Vec<usize>> =
            HashMap::with_capacity(self.records.len());
        for (index, record) in self.records.iter().enumerate() {
            by_key.entry(&record.external_id).or_default().push(index);
        }
        for (key, indices) in by_key {
            let Some(OwnedKey::User(id)) = key.owned_key() else {
                continue; // Stays NotInSource; may be re-keyed.
            };
            if let Some((id, user)) = self.desired.users.get_key_value(&id) {
                let wanted = fold(&user.user_name);
                let kept = *indices
                    .iter()
                    .min_by_key(|&&i| {
                        let r = self.records[i];
                        (fold(&r.user_name) != wanted, !r.active, &r.scim_id)
                    })
                    .expect("a key has at least one record");
                for &i in &indices {
                    self.fate[i] = if i == kept {
                        Fate::Matched(id.clone())
                    } else {
                        Fate::Retire(DeactivationReason::DuplicateRecord)
                    };
                }
                self.record_of.insert(id, kept);
                if indices.len() > 1 {
                    let mut others: Vec<ScimId> = indices
                        .iter()
                        .filter(|&&i| i != kept)
                        .map(|&i| self.records[i].scim_id.clone())
                        .collect();
                    others.sort();
                    self.warnings.push(Warning::DuplicateExternalId {
                        external_id: key.clone(),
                        kept: self.records[kept].scim_id.clone(),
                        others,
                    });
                }
            } else if self.desired.held_users.contains_key(&id) {
                for &i in &indices {
                    self.fate[i] = Fate::Frozen;
                }
            } else if self.desired.out_of_scope_users.contains(&id) {
                for &i in &indices {
                    self.fate[i] = Fate::Retire(DeactivationReason::OutOfScope);
                }
            }
        }
    }

    /// Orphan records (key matches no ACTIVATE user) are re-keyed to the desired
    /// user whose name they hold, or frozen when they hold a held user's name.
    fn assign_rekeys(&mut self) {
        let held: HashSet<String> = self.desired.held_users.values().map(|n| fold(n)).collect();
        let mut orphan_by_name: HashMap<String, usize> = HashMap::new();
        for (index, record) in self.records.iter().enumerate() {
            if self.fate[index] != Fate::Retire(DeactivationReason::NotInSource) {
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
        for (id, user) in &self.desired.users {
            if self.record_of.contains_key(id) {
                continue;
            }
            if let Some(&index) = orphan_by_name.get(&fold(&user.user_name)) {
                self.fate[index] = Fate::ReKey(id.clone());
                self.record_of.insert(id, index);
            }
        }
    }

    /// Finds creations and renames whose `userName` is not free in the final state.
    fn resolve_names(&mut self) {
        let desired = self.desired;
        // Current holder of every owned name (first by SCIM id).
        let mut holders: HashMap<String, usize> = HashMap::with_capacity(self.records.len());
        for (index, record) in self.records.iter().enumerate() {
            holders.entry(fold(&record.user_name)).or_insert(index);
        }
        // Desired active users that need a name they do not hold yet, and the
        // records that will be renamed away from their current name.
        let mut names = NameRequests {
            wants: HashMap::new(),
            renaming: HashMap::new(),
            holders,
        };
        for (id, user) in &desired.users {
            if !user.status.is_active() {
                continue;
            }
            let target = fold(&user.user_name);
            match self.record_of.get(id) {
                Some(&index) if fold(&self.records[index].user_name) == target => {}
                Some(&index) => {
                    names.renaming.insert(index, id);
                    names.wants.insert(id, target);
                }
                None => {
                    names.wants.insert(id, target);
                }
            }
        }

        let mut memo: HashMap<&'a SourceUserId, NameOutcome> =
            HashMap::with_capacity(names.wants.len());
        let mut ids: Vec<&'a SourceUserId> = names.wants.keys().copied().collect();
        ids.sort();
        for start in ids {
            self.walk_name_chain(start, &names, &mut memo);
        }

        let mut blocked: Vec<(&'a SourceUserId, Conflict)> = memo
            .into_iter()
            .filter_map(|(id, outcome)| match outcome {
                NameOutcome::Free => None,
                NameOutcome::Blocked(conflict) => Some((id, conflict)),
            })
            .collect();
        blocked.sort_by(|a, b| a.0.cmp(b.0));
        for (id, conflict) in blocked {
            if let Some(&index) = self.record_of.get(id) {
                self.fate[index] = Fate::Frozen;
            }
            self.blocked.insert(id);
            self.conflicts.push(conflict);
        }
    }

    /// Follows "my name is held by X, who is renaming away" from `start` and
    /// records the outcome of every user on the way.
    fn walk_name_chain(
        &self,
        start: &'a SourceUserId,
        names: &NameRequests<'a>,
        memo: &mut HashMap<&'a SourceUserId, NameOutcome>,
    ) {
        let mut path: Vec<&'a SourceUserId> = Vec::new();
        let mut on_path: HashSet<&'a SourceUserId> = HashSet::new();
        let mut current = start;
        let end = loop {
            if let Some(known) = memo.get(current) {
                break known.clone();
            }
            if on_path.contains(current) {
                // A cycle: everyone from `current` onwards on the path.
                let from = path.iter().position(|id| *id == current).unwrap_or(0);
                for id in path.drain(from..) {
                    let conflict = Conflict::RenameCycle {
                        user: self.label(id),
                    };
                    memo.insert(id, NameOutcome::Blocked(conflict));
                }
                break memo[current].clone();
            }
            path.push(current);
            on_path.insert(current);
            let target = &names.wants[current];
            let outcome = if self.foreign.contains(target) {
                NameOutcome::Blocked(Conflict::ForeignUserName {
                    user: self.label(current),
                })
            } else {
                match names.holders.get(target) {
                    None => NameOutcome::Free,
                    Some(holder) => {
                        if let Some(next) = names.renaming.get(holder) {
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
        while let Some(id) = path.pop() {
            let outcome = if next_free {
                NameOutcome::Free
            } else {
                let holder = names.holders[&names.wants[id]];
                NameOutcome::Blocked(self.held_by(id, holder))
            };
            next_free = matches!(outcome, NameOutcome::Free);
            memo.insert(id, outcome);
        }
    }

    fn label(&self, id: &SourceUserId) -> UserLabel {
        UserLabel {
            id: id.clone(),
            user_name: self.desired.users[id].user_name.clone(),
        }
    }

    fn held_by(&self, id: &SourceUserId, holder: usize) -> Conflict {
        Conflict::UserNameHeld {
            user: self.label(id),
            holder: self.records[holder].scim_id.clone(),
            holder_external_id: self.records[holder].external_id.clone(),
        }
    }

    fn plan_users(&mut self) {
        for (id, user) in &self.desired.users {
            if self.blocked.contains(id) {
                continue;
            }
            let Some(&index) = self.record_of.get(id) else {
                if user.status.is_active() {
                    self.push(Action::CreateUser(CreateUser {
                        user: id.clone(),
                        record: new_record(user),
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
                    new: user.external_id.clone(),
                }));
            }
            if user.status.is_active() {
                changes.extend(diff_user(user, record));
            } else if record.active {
                self.push(Action::Deactivate(Deactivate {
                    scim_id: record.scim_id.clone(),
                    external_id: record.external_id.clone(),
                    user_name: record.user_name.clone(),
                    reason: match user.status {
                        DesiredStatus::Unlicensed => DeactivationReason::Unlicensed,
                        DesiredStatus::Inactive | DesiredStatus::Active => {
                            DeactivationReason::Inactive
                        }
                    },
                }));
            }
            if changes.is_empty() {
                continue;
            }
            let patch = UserPatch {
                scim_id: record.scim_id.clone(),
                external_id: record.external_id.clone(),
                user: id.clone(),
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
            let record = self.records[index];
            if let Fate::Retire(reason) = self.fate[index]
                && record.active
            {
                self.push(Action::Deactivate(Deactivate {
                    scim_id: record.scim_id.clone(),
                    external_id: record.external_id.clone(),
                    user_name: record.user_name.clone(),
                    reason,
                }));
            }
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
        (record_of, to_empty)
    }

    fn plan_groups(&mut self) {
        let desired = self.desired;
        let (record_of, to_empty) = self.match_groups();
        let members = MemberIndex::new(&self.records, &self.fate);
        let mut operations = Vec::new();
        for (id, group) in &desired.groups {
            // Desired members: existing records by SCIM id, new users by source id.
            let mut existing: HashSet<&ScimId> = HashSet::new();
            let mut created: Vec<MemberRef> = Vec::new();
            for member in &group.members {
                if self.blocked.contains(member) {
                    continue;
                }
                match self.record_of.get(member) {
                    Some(&index) => {
                        existing.insert(&self.records[index].scim_id);
                    }
                    None => created.push(MemberRef::Created(CreatedMember {
                        user_name: desired.users[member].user_name.clone(),
                        user: member.clone(),
                    })),
                }
            }
            let Some(record) = record_of.get(id) else {
                let mut all: Vec<MemberRef> = existing
                    .iter()
                    .map(|s| MemberRef::Existing(members.existing(s)))
                    .chain(created)
                    .collect();
                all.sort();
                operations.push(Action::CreateGroup(CreateGroup {
                    group: id.clone(),
                    external_id: group.external_id.clone(),
                    display_name: group.display_name.clone(),
                    members: all,
                }));
                continue;
            };
            let current: HashSet<&ScimId> = record.members.iter().collect();
            let mut add: Vec<MemberRef> = existing
                .iter()
                .filter(|s| !current.contains(*s))
                .map(|s| MemberRef::Existing(members.existing(s)))
                .chain(created)
                .collect();
            add.sort();
            let remove: BTreeSet<ExistingMember> = current
                .iter()
                .filter(|s| !existing.contains(*s) && !members.frozen.contains(*s))
                .map(|s| members.existing(s))
                .collect();
            let rename = (record.display_name != group.display_name).then(|| FieldChange {
                old: record.display_name.clone(),
                new: group.display_name.clone(),
            });
            if rename.is_some() || !add.is_empty() || !remove.is_empty() {
                operations.push(Action::UpdateGroup(UpdateGroup {
                    scim_id: record.scim_id.clone(),
                    external_id: record.external_id.clone(),
                    display_name: group.display_name.clone(),
                    rename,
                    add,
                    remove: remove.into_iter().collect(),
                }));
            }
        }
        for (record, reason) in to_empty {
            let remove: BTreeSet<ExistingMember> = record
                .members
                .iter()
                .filter(|s| !members.frozen.contains(s))
                .map(|s| members.existing(s))
                .collect();
            if !remove.is_empty() {
                operations.push(Action::EmptyGroup(EmptyGroup {
                    scim_id: record.scim_id.clone(),
                    external_id: record.external_id.clone(),
                    display_name: record.display_name.clone(),
                    reason,
                    remove: remove.into_iter().collect(),
                }));
            }
        }
        for action in operations {
            self.push(action);
        }
    }

    fn push(&mut self, action: Action) {
        self.operations.push(Operation {
            action,
            withheld: None,
        });
    }
}

/// Owned user records by SCIM id, for naming group members.
struct MemberIndex<'a> {
    names: HashMap<&'a ScimId, &'a str>,
    /// Records that are not written (their memberships are left alone too).
    frozen: HashSet<&'a ScimId>,
}

impl<'a> MemberIndex<'a> {
    fn new(records: &[&'a OwnedUser], fate: &[Fate]) -> Self {
        Self {
            names: records
                .iter()
                .map(|r| (&r.scim_id, r.user_name.as_str()))
                .collect(),
            frozen: records
                .iter()
                .zip(fate)
                .filter(|(_, fate)| **fate == Fate::Frozen)
                .map(|(record, _)| &record.scim_id)
                .collect(),
        }
    }

    fn existing(&self, scim_id: &ScimId) -> ExistingMember {
        ExistingMember {
            user_name: self.names.get(scim_id).map(|n| (*n).to_owned()),
            scim_id: scim_id.clone(),
        }
    }
}

fn new_record(user: &DesiredUser) -> NewUserRecord {
    NewUserRecord {
        external_id: user.external_id.clone(),
        user_name: user.user_name.clone(),
        given_name: user.given_name.clone(),
        family_name: user.family_name.clone(),
        formatted_name: user.formatted_name.clone(),
        display_name: user.display_name.clone(),
        email: user.email.clone(),
        active: true,
        ssh_keys: user.ssh_keys.clone().unwrap_or_default(),
    }
}

/// The attribute changes that make `record` match the active desired `user`.
fn diff_user(user: &DesiredUser, record: &OwnedUser) -> Vec<UserChange> {
    fn text(
        changes: &mut Vec<UserChange>,
        old: Option<&String>,
        new: Option<&String>,
        make: fn(FieldChange<Option<String>>) -> UserChange,
    ) {
        if old != new {
            changes.push(make(FieldChange {
                old: old.cloned(),
                new: new.cloned(),
            }));
        }
    }
    let mut changes = Vec::new();
    if record.user_name != user.user_name {
        changes.push(UserChange::UserName(FieldChange {
            old: record.user_name.clone(),
            new: user.user_name.clone(),
        }));
    }
    text(
        &mut changes,
        record.given_name.as_ref(),
        user.given_name.as_ref(),
        UserChange::GivenName,
    );
    text(
        &mut changes,
        record.family_name.as_ref(),
        user.family_name.as_ref(),
        UserChange::FamilyName,
    );
    text(
        &mut changes,
        record.formatted_name.as_ref(),
        Some(&user.formatted_name),
        UserChange::FormattedName,
    );
    text(
        &mut changes,
        record.display_name.as_ref(),
        Some(&user.display_name),
        UserChange::DisplayName,
    );
    text(
        &mut changes,
        record.email.as_ref(),
        user.email.as_ref(),
        UserChange::Email,
    );
    if let Some(keys) = &user.ssh_keys {
        let desired: BTreeSet<&str> = keys.iter().map(crate::keys::SshKey::as_openssh).collect();
        let stored = observed_key_set(&record.ssh_keys);
        if !stored
            .iter()
            .map(String::as_str)
            .eq(desired.iter().copied())
        {
            changes.push(UserChange::SshKeys(KeysChange {
                old: observed_key_summaries(&record.ssh_keys),
                new: keys.clone(),
            }));
        }
    }
    if !record.active {
        changes.push(UserChange::Active(FieldChange {
            old: false,
            new: true,
        }));
    }
    changes
}
