//! Safety guards, evaluated on the plan before anything is written. Pure.
//!
//! - **Source guard.** When the snapshot is incomplete, or the projection has
//!   no users at all (an empty snapshot, or a scope that selects nobody), every
//!   operation that *takes access away* is withheld: deactivations, key
//!   revocations of inactive records, group emptying, and member removals
//!   (split out of group updates into withheld operations of their own). A missing page, member list or key list looks
//!   exactly like a departure, and in POSIX/Slurm terms losing a group is
//!   losing access, so all three are treated alike. Creations, attribute
//!   updates, reactivations, re-keys, renames and member additions still apply.
//!   The override never lifts this guard. It counts as tripped only when it
//!   withheld something (an empty source against an empty target is fine).
//! - **Deactivation limit.** When more deactivations are planned than
//!   [`DeactivationLimit`] allows, *all* deactivations are withheld (a mass
//!   deactivation is an anomaly; applying an arbitrary part of it would not be
//!   safer), together with the removal of those users from groups, so a
//!   withheld deactivation leaves the user exactly as they are. Group emptying
//!   still applies, and so do key revocations of records that are already
//!   inactive (their deactivation was decided in an earlier run; they count
//!   neither toward nor against the limit).
//!   [`crate::PlanOptions::override_deactivation_limit`] lifts this guard; the
//!   plan records that it did.
//!
//! - **Re-key limit.** When more owned records (users and groups) would be
//!   re-keyed than [`crate::PlanOptions::rekey_limit`] allows (a percentage is
//!   of all owned user records), every re-key is withheld (with a group's
//!   rename and additions; its member removals still apply), and so are the
//!   group memberships re-keyed users would gain. A mass re-key means the source's ids changed
//!   (a switch between ACTIVATE's REST and SCIM sources whose ids differ) or a
//!   migration from an earlier key scheme: either needs a person to confirm.
//!   [`crate::PlanOptions::override_rekey_limit`] lifts it.
//!
//! The plan says which guard tripped ([`GuardStatus`]) and marks every
//! withheld operation ([`crate::Operation::withheld`]).

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use crate::desired::Desired;
use crate::ids::ScimId;
use crate::plan::{Action, GuardKind, MemberRef, Operation, PlanOptions, UpdateGroup};

/// The most deactivations one run may apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeactivationLimit {
    /// At most this many.
    Absolute(usize),
    /// At most this percentage of the owned *active* user records, rounded
    /// down: `Percent(10)` of 25 active records allows 2. Values above 100
    /// are allowed and mean "more than all", i.e. no effective limit.
    Percent(u32),
}

impl DeactivationLimit {
    /// How many deactivations are allowed when the target holds `owned_active`
    /// owned active user records.
    pub fn allowed(self, owned_active: usize) -> usize {
        match self {
            Self::Absolute(n) => n,
            Self::Percent(p) => {
                let allowed = (owned_active as u128 * u128::from(p)) / 100;
                usize::try_from(allowed).unwrap_or(usize::MAX)
            }
        }
    }
}

impl fmt::Display for DeactivationLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Absolute(n) => write!(f, "{n}"),
            Self::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl Serialize for DeactivationLimit {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A deactivation limit that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid deactivation limit {0:?}: expected a whole number like `25` or a percentage like `10%`"
)]
pub struct InvalidLimit(String);

impl FromStr for DeactivationLimit {
    type Err = InvalidLimit;

    /// Parses `25` (absolute) or `10%` (percentage of owned active users).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        let invalid = || InvalidLimit(s.to_owned());
        match trimmed.strip_suffix('%') {
            Some(p) => p.trim().parse().map(Self::Percent).map_err(|_| invalid()),
            None => trimmed.parse().map(Self::Absolute).map_err(|_| invalid()),
        }
    }
}

/// What the guards found and did.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct GuardStatus {
    /// Whether the source snapshot was complete.
    pub source_complete: bool,
    /// Users in the desired state (in scope, writable).
    pub desired_users: usize,
    /// Owned user records that are active in the target.
    pub owned_active_users: usize,
    /// Deactivations in the plan (withheld or not).
    pub deactivations_planned: usize,
    /// The configured limit, if any.
    pub deactivation_limit: Option<DeactivationLimit>,
    /// What the limit allows for `owned_active_users`, if a limit is set.
    pub deactivations_allowed: Option<usize>,
    /// `true` when the limit was exceeded but the override lifted it.
    pub limit_overridden: bool,
    /// Owned user records (active or not).
    pub owned_users: usize,
    /// Re-keys in the plan (withheld or not).
    pub rekeys_planned: usize,
    /// The configured re-key limit, if any.
    pub rekey_limit: Option<DeactivationLimit>,
    /// What the re-key limit allows for `owned_users`, if a limit is set.
    pub rekeys_allowed: Option<usize>,
    /// `true` when the re-key limit was exceeded but the override lifted it.
    pub rekey_limit_overridden: bool,
    /// The guards that withheld operations, sorted.
    pub tripped: Vec<GuardKind>,
}

/// Evaluates the guards, marking or splitting out withheld operations.
pub(crate) fn evaluate(
    operations: &mut Vec<Operation>,
    desired: &Desired,
    owned: Owned,
    options: &PlanOptions,
) -> GuardStatus {
    let owned_active_users = owned.active;
    let deactivations_planned = operations
        .iter()
        .filter(|op| matches!(op.action, Action::Deactivate(_)))
        .count();
    let rekeys_planned = operations.iter().filter(|op| is_rekey(&op.action)).count();
    let mut status = GuardStatus {
        source_complete: desired.source.complete,
        desired_users: desired.users.len(),
        owned_active_users,
        deactivations_planned,
        deactivation_limit: options.deactivation_limit,
        deactivations_allowed: options
            .deactivation_limit
            .map(|limit| limit.allowed(owned_active_users)),
        limit_overridden: false,
        owned_users: owned.all,
        rekeys_planned,
        rekey_limit: options.rekey_limit,
        rekeys_allowed: options.rekey_limit.map(|limit| limit.allowed(owned.all)),
        rekey_limit_overridden: false,
        tripped: Vec::new(),
    };

    // Re-keys first: they are not access removals, so the source guard does
    // not end this guard's evaluation.
    match judge(
        rekeys_planned,
        status.rekeys_allowed,
        options.override_rekey_limit,
    ) {
        Limit::Within => {}
        Limit::Overridden => status.rekey_limit_overridden = true,
        Limit::Tripped => {
            withhold_rekeys(operations);
            status.tripped.push(GuardKind::ReKeyLimit);
        }
    }

    let source_guard = if !desired.source.complete {
        Some(GuardKind::IncompleteSource)
    } else if desired.users.is_empty() {
        Some(GuardKind::EmptySource)
    } else {
        None
    };

    if let Some(kind) = source_guard {
        let withheld = withhold_access_removals(operations, kind);
        if withheld {
            status.tripped.push(kind);
            status.tripped.sort();
        }
        return status;
    }

    match judge(
        deactivations_planned,
        status.deactivations_allowed,
        options.override_deactivation_limit,
    ) {
        Limit::Within => {}
        Limit::Overridden => status.limit_overridden = true,
        Limit::Tripped => {
            withhold_deactivations(operations);
            status.tripped.push(GuardKind::DeactivationLimit);
            status.tripped.sort();
        }
    }
    status
}

/// What a limit says of the operations planned.
enum Limit {
    /// No limit, or not more than it allows.
    Within,
    /// More than it allows, lifted by the override.
    Overridden,
    /// More than it allows: withhold them.
    Tripped,
}

fn judge(planned: usize, allowed: Option<usize>, overridden: bool) -> Limit {
    match allowed {
        Some(allowed) if planned > allowed && overridden => Limit::Overridden,
        Some(allowed) if planned > allowed => Limit::Tripped,
        _ => Limit::Within,
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

/// How many owned user records the target holds, for the limits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Owned {
    /// All of them.
    pub(crate) all: usize,
    /// The active ones.
    pub(crate) active: usize,
}

/// Withholds every re-key, and the group memberships the re-keyed records
/// would gain: until a person confirms that the records are the same people,
/// they gain no access. (A group being created leaves them out; the next run
/// adds them once the re-keys are applied.)
fn withhold_rekeys(operations: &mut Vec<Operation>) {
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
                split.push(Operation {
                    action: Action::UpdateGroup(UpdateGroup {
                        scim_id: update.scim_id.clone(),
                        external_id: update.external_id.clone(),
                        display_name: update
                            .rename
                            .as_ref()
                            .map_or_else(|| update.display_name.clone(), |r| r.old.clone()),
                        rekey: None,
                        rename: None,
                        add: Vec::new(),
                        remove: std::mem::take(&mut update.remove),
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
                        scim_id: update.scim_id.clone(),
                        external_id: update.external_id.clone(),
                        display_name: update.display_name.clone(),
                        rekey: None,
                        rename: None,
                        add: held,
                        remove: Vec::new(),
                    }),
                    withheld: Some(kind),
                });
            }
            _ => {}
        }
    }
    finish_split(operations, split);
}

/// Withholds deactivations, group emptying and member removals.
fn withhold_access_removals(operations: &mut Vec<Operation>, kind: GuardKind) -> bool {
    let mut split = Vec::new();
    let mut any = false;
    for op in operations.iter_mut() {
        match &mut op.action {
            Action::Deactivate(_) | Action::RevokeKeys(_) | Action::EmptyGroup(_) => {
                op.withheld = Some(kind);
                any = true;
            }
            Action::UpdateGroup(update) if !update.remove.is_empty() => {
                let removed = std::mem::take(&mut update.remove);
                split.push(withheld_removal(update, removed, kind));
                any = true;
            }
            _ => {}
        }
    }
    finish_split(operations, split);
    any
}

/// Withholds every deactivation and the group removals of those users.
fn withhold_deactivations(operations: &mut Vec<Operation>) {
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
            split.push(withheld_removal(update, held, kind));
        }
    }
    finish_split(operations, split);
}

fn withheld_removal(
    update: &UpdateGroup,
    remove: Vec<crate::plan::ExistingMember>,
    kind: GuardKind,
) -> Operation {
    Operation {
        action: Action::UpdateGroup(UpdateGroup {
            scim_id: update.scim_id.clone(),
            external_id: update.external_id.clone(),
            display_name: update.display_name.clone(),
            rekey: None,
            rename: None,
            add: Vec::new(),
            remove,
        }),
        withheld: Some(kind),
    }
}

/// Drops group updates left with nothing to do and appends the withheld parts.
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
    crate::plan::sort_operations(operations);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_rounds_down() {
        assert_eq!(DeactivationLimit::Percent(10).allowed(25), 2);
        assert_eq!(DeactivationLimit::Percent(10).allowed(9), 0);
        assert_eq!(DeactivationLimit::Percent(100).allowed(7), 7);
        assert_eq!(DeactivationLimit::Percent(250).allowed(4), 10);
        assert_eq!(DeactivationLimit::Absolute(3).allowed(0), 3);
    }

    #[test]
    fn limits_parse_and_display() {
        assert_eq!("25".parse(), Ok(DeactivationLimit::Absolute(25)));
        assert_eq!(" 10% ".parse(), Ok(DeactivationLimit::Percent(10)));
        assert_eq!(DeactivationLimit::Percent(10).to_string(), "10%");
        assert!("ten".parse::<DeactivationLimit>().is_err());
        assert!("-1".parse::<DeactivationLimit>().is_err());
        assert!("1.5%".parse::<DeactivationLimit>().is_err());
        assert_eq!(
            "x%".parse::<DeactivationLimit>().unwrap_err().to_string(),
            "invalid deactivation limit \"x%\": expected a whole number like `25` or a percentage like `10%`"
        );
    }
}
