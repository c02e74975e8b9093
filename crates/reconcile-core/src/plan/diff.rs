//! The diff: desired + observed → operations, conflicts and warnings, before
//! the guards. Pure, deterministic, near-linear.
//!
//! Rules (`docs/design.md`, "Reconcile rules"), per owned user record:
//! - its key names a desired user → that user's record (if several records
//!   share the key, one is kept, see [`Warning::DuplicateExternalId`]);
//! - its key names a held (conflicted) user → left exactly as it is;
//! - its key names an out-of-scope user → deactivated if active;
//! - otherwise it is an orphan (no such ACTIVATE user, or an earlier key
//!   scheme) → re-keyed to the desired user whose `userName` it holds
//!   (case-insensitively) if that user has no record; left alone if it holds a
//!   held user's name, or while a held user has no username at all (it could
//!   be that user's record); deactivated if active otherwise.
//!
//! The phases, each taking what the one before returned:
//!
//! ```text
//! Inputs::new ─► match_by_key ─► settle_orphans ─► names::resolve ─► freeze ─┬─► users::operations
//! (ids → handles) (Claim per      (Fate per record,  (blocked users,          └─► groups::operations
//!                  record)         no orphan left)    conflicts)
//! ```

use crate::desired::Desired;
use crate::notes::{Conflict, Warning};
use crate::observed::Observed;
use crate::plan::inputs::Inputs;
use crate::plan::{Action, groups, names, records, users};
use crate::rules::ServerRules;

/// What the diff found.
pub(super) struct Diff {
    /// The operations, in no particular order.
    pub(super) actions: Vec<Action>,
    /// Conflicts found while planning (the projection's are not included).
    pub(super) conflicts: Vec<Conflict>,
    /// Warnings found while planning (the projection's are not included).
    pub(super) warnings: Vec<Warning>,
    /// Owned user records.
    pub(super) owned_users: usize,
    /// Owned user records that are active.
    pub(super) owned_active_users: usize,
}

/// Compares desired with observed state, record by record.
pub(super) fn diff(desired: &Desired, observed: &Observed, server: ServerRules) -> Diff {
    let (inputs, mut warnings) = Inputs::new(desired, observed);

    let (by_key, duplicates) = records::match_by_key(&inputs);
    let assignment = records::settle_orphans(&inputs, by_key);
    let blocked = names::resolve(&inputs, &assignment.record_of);
    let assignment = assignment.freeze(&blocked.users);
    let (mut actions, case_only) = users::operations(&inputs, &assignment, &blocked.users, server);
    let groups = groups::operations(&inputs, &assignment, &blocked.users);

    actions.extend(groups.actions);
    let mut conflicts = blocked.conflicts;
    conflicts.extend(groups.conflicts);
    warnings.extend(duplicates);
    warnings.extend(groups.warnings);
    let not_kept = server.not_kept.paths();
    if !not_kept.is_empty() {
        warnings.push(Warning::AttributesNotKept {
            attributes: not_kept.into_iter().map(str::to_owned).collect(),
        });
    }
    warnings.extend(case_only);
    Diff {
        actions,
        conflicts,
        warnings,
        owned_users: inputs.records.len(),
        owned_active_users: inputs.records.values().filter(|r| r.active).count(),
    }
}
