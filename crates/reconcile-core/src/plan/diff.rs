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
//!
//! The last two phases read the same frozen state and write nothing shared, so
//! they run on two threads ([`side_by_side`]); the result does not depend on
//! which finishes first.

use std::sync::{Mutex, PoisonError};

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
    // The user and group phases read the same frozen state and nothing else:
    // they run side by side, and their results are joined in a fixed order.
    let (groups, (mut actions, case_only)) = side_by_side(
        || groups::operations(&inputs, &assignment, &blocked.users),
        || users::operations(&inputs, &assignment, &blocked.users, server),
    );

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

/// `first()` on a scoped thread beside `second()` on this one; both results,
/// in that order. Where no thread can be started (a process at its limit),
/// both run here, one after the other. A panic in either reaches the caller
/// with its own payload.
fn side_by_side<A: Send, B>(
    first: impl FnOnce() -> A + Send,
    second: impl FnOnce() -> B,
) -> (A, B) {
    // Held where both this thread and the new one can take it: if the thread
    // does not start, the closure is still here to run.
    let first = Mutex::new(Some(first));
    let take = || first.lock().unwrap_or_else(PoisonError::into_inner).take();
    std::thread::scope(|scope| {
        let started = std::thread::Builder::new()
            .name("plan-groups".to_owned())
            .spawn_scoped(scope, || take().map(|f| f()));
        if let Ok(thread) = started {
            let second = second();
            let first = thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (first.expect("the new thread took the closure"), second)
        } else {
            let first = take().expect("the closure stays here when no thread starts")();
            (first, second())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::side_by_side;

    #[test]
    fn both_results_come_back_in_their_order() {
        let data = [1, 2, 3];
        let (sum, len) = side_by_side(|| data.iter().sum::<i32>(), || data.len());
        assert_eq!((sum, len), (6, 3));
    }

    #[test]
    fn a_panic_on_the_other_thread_reaches_the_caller_with_its_message() {
        let caught = std::panic::catch_unwind(|| {
            side_by_side(|| -> u8 { panic!("the group phase failed") }, || 1)
        });
        let payload = caught.expect_err("the panic reaches the caller");
        assert_eq!(
            payload.downcast_ref::<&str>(),
            Some(&"the group phase failed")
        );
    }
}
