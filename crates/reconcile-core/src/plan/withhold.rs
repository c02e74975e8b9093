//! What each guard withholds, applied to the operations: the counts the guards
//! judge, and the marks and splits their verdict asks for.

use std::collections::HashSet;

use crate::guards::{GuardKind, Planned, Withhold};
use crate::ids::ScimId;
use crate::plan::{Action, ExistingMember, MemberRef, Operation, UpdateGroup};

/// The counts the guards judge.
pub(super) fn planned(operations: &[Operation]) -> Planned {
    let mut planned = Planned::default();
    for op in operations {
        match &op.action {
            Action::Deactivate(_) => {
                planned.deactivations += 1;
                planned.access_removals += 1;
            }
            Action::RevokeKeys(_) | Action::EmptyGroup(_) => planned.access_removals += 1,
            Action::ReKey(_) => planned.rekeys += 1,
            Action::UpdateGroup(update) => {
                planned.rekeys += usize::from(update.rekey.is_some());
                planned.access_removals += usize::from(!update.remove.is_empty());
            }
            Action::Reactivate(_)
            | Action::UpdateUser(_)
            | Action::CreateUser(_)
            | Action::CreateGroup(_) => {}
        }
    }
    planned
}

/// Marks or splits out the operations the verdict withholds: re-keys first,
/// then access removals or deactivations.
pub(super) fn apply(operations: &mut Vec<Operation>, withhold: Withhold) {
    if withhold.rekeys {
        rekeys(operations);
    }
    if let Some(kind) = withhold.access_removals {
        access_removals(operations, kind);
    }
    if withhold.deactivations {
        deactivations(operations);
    }
}

/// A user re-key, or a group update that re-keys its record.
fn is_rekey(action: &Action) -> bool {
    match action {
        Action::ReKey(_) => true,
        Action::UpdateGroup(update) => update.rekey.is_some(),
        _ => false,
    }
}

/// Withholds every re-key, and the group memberships the re-keyed records
/// would gain: until a person confirms that the records are the same people,
/// they gain no access. (A group being created leaves them out; the next run
/// adds them once the re-keys are applied.)
fn rekeys(operations: &mut Vec<Operation>) {
    let kind = GuardKind::ReKeyLimit;
    let mut records: HashSet<ScimId> = HashSet::new();
    for op in operations.iter_mut() {
        if let Action::ReKey(patch) = &op.action {
            records.insert(patch.scim_id.clone());
        }
        if is_rekey(&op.action) {
            op.withheld = Some(kind);
        }
    }
    let rekeyed = |member: &MemberRef| match member {
        MemberRef::Existing(existing) => records.contains(&existing.scim_id),
        MemberRef::Created(_) => false,
    };
    let mut split = Vec::new();
    for op in operations.iter_mut() {
        match &mut op.action {
            Action::CreateGroup(create) => create.members.retain(|m| !rekeyed(m)),
            // A withheld group re-key keeps its rename and additions back, but
            // its removals take access away and do not wait for the confirmation
            // (the guards after this one still judge them).
            Action::UpdateGroup(update) if update.rekey.is_some() && !update.remove.is_empty() => {
                let display_name = update
                    .rename
                    .as_ref()
                    .map_or_else(|| update.display_name.clone(), |r| r.old.clone());
                let remove = std::mem::take(&mut update.remove);
                split.push(Operation {
                    action: Action::UpdateGroup(UpdateGroup {
                        display_name,
                        ..removal(update, remove)
                    }),
                    withheld: None,
                });
            }
            Action::UpdateGroup(update)
                if update.rekey.is_none() && update.add.iter().any(rekeyed) =>
            {
                let (held, kept): (Vec<MemberRef>, Vec<MemberRef>) =
                    std::mem::take(&mut update.add)
                        .into_iter()
                        .partition(rekeyed);
                update.add = kept;
                split.push(Operation {
                    action: Action::UpdateGroup(UpdateGroup {
                        add: held,
                        ..removal(update, Vec::new())
                    }),
                    withheld: Some(kind),
                });
            }
            _ => {}
        }
    }
    finish_split(operations, split);
}

/// Withholds deactivations, key revocations, group emptying and member removals.
fn access_removals(operations: &mut Vec<Operation>, kind: GuardKind) {
    let mut split = Vec::new();
    for op in operations.iter_mut() {
        match &mut op.action {
            Action::Deactivate(_) | Action::RevokeKeys(_) | Action::EmptyGroup(_) => {
                op.withheld = Some(kind);
            }
            Action::UpdateGroup(update) if !update.remove.is_empty() => {
                let removed = std::mem::take(&mut update.remove);
                split.push(Operation {
                    action: Action::UpdateGroup(removal(update, removed)),
                    withheld: Some(kind),
                });
            }
            _ => {}
        }
    }
    finish_split(operations, split);
}

/// Withholds every deactivation and the group removals of those users.
fn deactivations(operations: &mut Vec<Operation>) {
    let kind = GuardKind::DeactivationLimit;
    let mut users: HashSet<ScimId> = HashSet::new();
    for op in operations.iter_mut() {
        if let Action::Deactivate(d) = &op.action {
            users.insert(d.scim_id.clone());
            op.withheld = Some(kind);
        }
    }
    let mut split = Vec::new();
    for op in operations.iter_mut() {
        if let Action::UpdateGroup(update) = &mut op.action
            && update.remove.iter().any(|m| users.contains(&m.scim_id))
        {
            let (held, kept) = std::mem::take(&mut update.remove)
                .into_iter()
                .partition(|m| users.contains(&m.scim_id));
            update.remove = kept;
            split.push(Operation {
                action: Action::UpdateGroup(removal(update, held)),
                withheld: Some(kind),
            });
        }
    }
    finish_split(operations, split);
}

/// An update of the same record that only removes `remove`.
fn removal(update: &UpdateGroup, remove: Vec<ExistingMember>) -> UpdateGroup {
    UpdateGroup {
        scim_id: update.scim_id.clone(),
        external_id: update.external_id.clone(),
        display_name: update.display_name.clone(),
        rekey: None,
        rename: None,
        add: Vec::new(),
        remove,
    }
}

/// Drops group updates left with nothing to do and appends the split-out parts
/// (the plan sorts them into place).
fn finish_split(operations: &mut Vec<Operation>, split: Vec<Operation>) {
    if split.is_empty() {
        return;
    }
    operations.retain(|op| match &op.action {
        Action::UpdateGroup(u) => {
            op.withheld.is_some()
                || u.rekey.is_some()
                || u.rename.is_some()
                || !u.add.is_empty()
                || !u.remove.is_empty()
        }
        _ => true,
    });
    operations.extend(split);
}
