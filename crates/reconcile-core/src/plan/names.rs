//! Whether each created or renamed user's `userName` is free in the final state.
//!
//! A name held by a foreign record, or by an owned record that keeps it, is a
//! conflict; a name freed by another rename in the same plan is fine (apply
//! orders such renames), except in a cycle.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use crate::handles::{RecordIx, Table, UserIx};
use crate::ids::fold;
use crate::notes::{Conflict, UserLabel};
use crate::plan::inputs::Inputs;

/// Users whose name is not free, and why.
pub(super) struct Blocked {
    /// Desired user → not created or renamed (its record, if any, only loses
    /// keys and groups).
    pub(super) users: Table<UserIx, bool>,
    /// One conflict per blocked user, in user order.
    pub(super) conflicts: Vec<Conflict>,
}

/// Whether a user's desired name is free in the final state.
#[derive(Clone)]
enum Outcome {
    Free,
    Blocked(Conflict),
}

/// The names users need, and who holds them now.
struct Requests<'a> {
    /// User → the case-folded name it needs but does not hold.
    wants: HashMap<UserIx, Cow<'a, str>>,
    /// Record → the user it belongs to, for records being renamed.
    renaming: HashMap<RecordIx, UserIx>,
    /// Case-folded wanted name → the record holding it now (first by SCIM id).
    holders: HashMap<Cow<'a, str>, RecordIx>,
}

/// Finds the desired active users whose `userName` (for a creation or a
/// rename) is not free in the final state. `record_of` is each user's record.
pub(super) fn resolve(inputs: &Inputs<'_>, record_of: &Table<UserIx, Option<RecordIx>>) -> Blocked {
    let mut blocked = Blocked {
        users: Table::filled(inputs.users.len(), false),
        conflicts: Vec::new(),
    };
    let Some(requests) = Requests::new(inputs, record_of) else {
        return blocked;
    };
    let walk = Walk {
        inputs,
        requests: &requests,
    };
    let mut memo: HashMap<UserIx, Outcome> = HashMap::with_capacity(requests.wants.len());
    let mut starts: Vec<UserIx> = requests.wants.keys().copied().collect();
    starts.sort_unstable();
    for start in starts {
        walk.from(start, &mut memo);
    }
    let mut outcomes: Vec<(UserIx, Conflict)> = memo
        .into_iter()
        .filter_map(|(user, outcome)| match outcome {
            Outcome::Free => None,
            Outcome::Blocked(conflict) => Some((user, conflict)),
        })
        .collect();
    outcomes.sort_by_key(|(user, _)| *user);
    for (user, conflict) in outcomes {
        blocked.users[user] = true;
        blocked.conflicts.push(conflict);
    }
    blocked
}

impl<'a> Requests<'a> {
    /// The names desired active users need but do not hold yet, and the
    /// records that will be renamed away from their current name; `None` when
    /// nobody needs a name.
    fn new(inputs: &Inputs<'a>, record_of: &Table<UserIx, Option<RecordIx>>) -> Option<Self> {
        let mut wants = HashMap::new();
        let mut renaming = HashMap::new();
        for (user, &desired) in inputs.users.iter() {
            if !desired.status.is_active() {
                continue;
            }
            match record_of[user] {
                Some(index) if inputs.records[index].user_name == desired.user_name => {}
                Some(index) => {
                    let target = fold(&desired.user_name);
                    if fold(&inputs.records[index].user_name) != target {
                        renaming.insert(index, user);
                        wants.insert(user, target);
                    }
                }
                None => {
                    wants.insert(user, fold(&desired.user_name));
                }
            }
        }
        if wants.is_empty() {
            return None;
        }
        let wanted: HashSet<&str> = wants.values().map(AsRef::as_ref).collect();
        let mut holders = HashMap::new();
        for (index, &record) in inputs.records.iter() {
            let name = fold(&record.user_name);
            if wanted.contains(name.as_ref()) {
                holders.entry(name).or_insert(index);
            }
        }
        Some(Self {
            wants,
            renaming,
            holders,
        })
    }
}

/// The walk along "my name is held by X, who is renaming away".
struct Walk<'w, 'a> {
    inputs: &'w Inputs<'a>,
    requests: &'w Requests<'a>,
}

impl Walk<'_, '_> {
    /// Follows the chain from `start` and records the outcome of every user on the way.
    fn from(&self, start: UserIx, memo: &mut HashMap<UserIx, Outcome>) {
        let requests = self.requests;
        let mut path: Vec<UserIx> = Vec::new();
        let mut on_path: HashSet<UserIx> = HashSet::new();
        let mut current = start;
        let end = loop {
            if let Some(known) = memo.get(&current) {
                break known.clone();
            }
            if on_path.contains(&current) {
                // A cycle: everyone from `current` onwards on the path.
                let from = path.iter().position(|u| *u == current).unwrap_or(0);
                for user in path.drain(from..) {
                    let conflict = Conflict::RenameCycle {
                        user: self.label(user),
                    };
                    memo.insert(user, Outcome::Blocked(conflict));
                }
                break memo[&current].clone();
            }
            path.push(current);
            on_path.insert(current);
            let target = &requests.wants[&current];
            let outcome = if self.inputs.foreign_names.contains(target.as_ref()) {
                Outcome::Blocked(Conflict::ForeignUserName {
                    user: self.label(current),
                })
            } else {
                match requests.holders.get(target) {
                    None => Outcome::Free,
                    Some(holder) => {
                        if let Some(&next) = requests.renaming.get(holder) {
                            current = next;
                            continue;
                        }
                        Outcome::Blocked(self.held_by(current, *holder))
                    }
                }
            };
            memo.insert(current, outcome.clone());
            path.pop();
            break outcome;
        };
        // Unwind: each user on the path waits for the next one's rename.
        let mut next_free = matches!(end, Outcome::Free);
        while let Some(user) = path.pop() {
            let outcome = if next_free {
                Outcome::Free
            } else {
                let holder = requests.holders[&requests.wants[&user]];
                Outcome::Blocked(self.held_by(user, holder))
            };
            next_free = matches!(outcome, Outcome::Free);
            memo.insert(user, outcome);
        }
    }

    fn label(&self, user: UserIx) -> UserLabel {
        let desired = self.inputs.users[user];
        UserLabel {
            id: desired.id.clone(),
            user_name: desired.user_name.clone(),
        }
    }

    fn held_by(&self, user: UserIx, holder: RecordIx) -> Conflict {
        let record = self.inputs.records[holder];
        Conflict::UserNameHeld {
            user: self.label(user),
            holder: record.scim_id.clone(),
            holder_external_id: record.external_id.clone(),
        }
    }
}
