//! The member edits of one group PATCH, staged against the stored members and then
//! committed in time proportional to the change, not to the group's size.
//!
//! A PATCH can only append members, remove some, or remove all (`replace` removes
//! all, then appends), so its result is always the stored list without the removed
//! members, followed by the appended ones in the order they were last appended.
//! [`MemberEdits`] records exactly that: which stored members go, whether all of them
//! go, and what is appended. The untouched members are neither copied nor rechecked.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

/// The id of a stored member object (`{"value": id, …}`).
pub(crate) fn member_id(member: &Value) -> Option<&str> {
    member.get("value").and_then(Value::as_str)
}

/// The member edits of one PATCH, against the ids stored before it.
#[derive(Debug)]
pub(crate) struct MemberEdits<'a> {
    /// The ids of the stored members.
    stored: &'a HashSet<String>,
    /// Every stored member is removed.
    cleared: bool,
    /// Stored members removed (empty when `cleared`).
    removed: HashSet<String>,
    /// Members appended and not removed since, with the step at which they were
    /// last appended (the list order).
    appended: HashMap<String, u64>,
    step: u64,
}

impl<'a> MemberEdits<'a> {
    /// No edits yet, against the ids of the stored members.
    pub(crate) fn new(stored: &'a HashSet<String>) -> Self {
        Self {
            stored,
            cleared: false,
            removed: HashSet::new(),
            appended: HashMap::new(),
            step: 0,
        }
    }

    fn contains(&self, id: &str) -> bool {
        self.appended.contains_key(id)
            || (!self.cleared && self.stored.contains(id) && !self.removed.contains(id))
    }

    /// Appends a member unless it is a member already.
    pub(crate) fn add(&mut self, id: &str) {
        if !self.contains(id) {
            self.appended.insert(id.to_owned(), self.step);
            self.step += 1;
        }
    }

    /// Removes a member; nothing when it is not one.
    pub(crate) fn remove(&mut self, id: &str) {
        if self.appended.remove(id).is_none() && !self.cleared && self.stored.contains(id) {
            self.removed.insert(id.to_owned());
        }
    }

    /// Removes every member.
    pub(crate) fn clear(&mut self) {
        self.cleared = true;
        self.removed.clear();
        self.appended.clear();
    }

    /// The edits, in the form they are checked and committed in.
    pub(crate) fn finish(self) -> MemberChange {
        let mut appended: Vec<(String, u64)> = self.appended.into_iter().collect();
        appended.sort_unstable_by_key(|(_, step)| *step);
        MemberChange {
            cleared: self.cleared,
            removed: self.removed,
            appended: appended.into_iter().map(|(id, _)| id).collect(),
        }
    }
}

/// The net member change of one PATCH: the stored members without `removed` (none
/// when `cleared`), then `appended`.
#[derive(Debug)]
pub(crate) struct MemberChange {
    cleared: bool,
    removed: HashSet<String>,
    appended: Vec<String>,
}

impl MemberChange {
    /// The members appended, in list order; none of them was a member before unless
    /// it was removed first (and so moves to the end).
    pub(crate) fn appended(&self) -> &[String] {
        &self.appended
    }

    /// Whether the change leaves `list` (the stored members) different. The result
    /// is `list` without `k` removed members, then the appended ones; it equals
    /// `list` exactly when as many are appended as removed and they are the last
    /// `k` of `list`, in order (the kept members never move, so they are then the
    /// first ones).
    pub(crate) fn changes(&self, list: &[Value]) -> bool {
        let removed = if self.cleared {
            list.len()
        } else {
            self.removed.len()
        };
        if removed != self.appended.len() {
            return true;
        }
        let Some(kept) = list.len().checked_sub(removed) else {
            return true;
        };
        list[kept..]
            .iter()
            .map(member_id)
            .ne(self.appended.iter().map(|id| Some(id.as_str())))
    }

    /// Applies the change to `list` (the stored members) and `ids` (their ids),
    /// making each appended member with `make`.
    pub(crate) fn commit(
        &self,
        list: &mut Vec<Value>,
        ids: &mut HashSet<String>,
        make: impl Fn(&str) -> Value,
    ) {
        if self.cleared {
            list.clear();
            ids.clear();
        } else if !self.removed.is_empty() {
            list.retain(|m| member_id(m).is_none_or(|id| !self.removed.contains(id)));
            for id in &self.removed {
                ids.remove(id);
            }
        }
        for id in &self.appended {
            ids.insert(id.clone());
            list.push(make(id));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};
    use serde_json::json;

    fn list(ids: &[&str]) -> Vec<Value> {
        ids.iter().map(|id| json!({"value": id})).collect()
    }

    fn ids_of(list: &[Value]) -> Vec<String> {
        list.iter()
            .map(|m| member_id(m).unwrap().to_owned())
            .collect()
    }

    /// The edits applied to a copy of the whole list, one at a time.
    #[derive(Debug, Clone, Copy)]
    enum Edit {
        Add(usize),
        Remove(usize),
        Clear,
    }

    fn reference(list: &mut Vec<String>, edit: Edit, names: &[&str]) {
        match edit {
            Edit::Add(n) => {
                if !list.iter().any(|id| id == names[n]) {
                    list.push(names[n].to_owned());
                }
            }
            Edit::Remove(n) => list.retain(|id| id != names[n]),
            Edit::Clear => list.clear(),
        }
    }

    #[test]
    fn edits_match_editing_the_whole_list() {
        let names = ["a", "b", "c", "d", "e", "f"];
        let mut rng = SmallRng::seed_from_u64(7);
        let mut unchanged = 0;
        for _ in 0..20_000 {
            let stored_len = rng.random_range(0..=4);
            let stored: Vec<&str> = names[..stored_len].to_vec();
            let stored_ids: HashSet<String> = stored.iter().map(|s| (*s).to_owned()).collect();
            let mut edits = MemberEdits::new(&stored_ids);
            let mut expected: Vec<String> = stored.iter().map(|s| (*s).to_owned()).collect();
            for _ in 0..rng.random_range(0..6) {
                let edit = match rng.random_range(0..9) {
                    0 => Edit::Clear,
                    1..=4 => Edit::Add(rng.random_range(0..names.len())),
                    _ => Edit::Remove(rng.random_range(0..names.len())),
                };
                match edit {
                    Edit::Add(n) => edits.add(names[n]),
                    Edit::Remove(n) => edits.remove(names[n]),
                    Edit::Clear => edits.clear(),
                }
                reference(&mut expected, edit, &names);
            }
            let change = edits.finish();
            let before = list(&stored);
            let changed = ids_of(&before) != expected;
            assert_eq!(change.changes(&before), changed, "{stored:?} {change:?}");
            unchanged += usize::from(!changed);
            let mut committed = before.clone();
            let mut committed_ids = stored_ids.clone();
            change.commit(
                &mut committed,
                &mut committed_ids,
                |id| json!({"value": id}),
            );
            assert_eq!(ids_of(&committed), expected, "{stored:?} {change:?}");
            assert_eq!(
                committed_ids,
                expected.iter().cloned().collect::<HashSet<_>>()
            );
        }
        // Both outcomes, including edits that cancel out, were exercised.
        assert!(unchanged > 1_000, "{unchanged}");
    }

    #[test]
    fn removing_and_appending_the_last_members_again_changes_nothing() {
        let stored = list(&["a", "b", "c"]);
        let stored_ids: HashSet<String> = ["a", "b", "c"].map(str::to_owned).into();
        let mut edits = MemberEdits::new(&stored_ids);
        edits.remove("c");
        edits.remove("b");
        edits.add("b");
        edits.add("c");
        assert!(!edits.finish().changes(&stored));
        let mut edits = MemberEdits::new(&stored_ids);
        edits.remove("b");
        edits.add("b");
        let change = edits.finish();
        assert!(change.changes(&stored));
        assert_eq!(change.appended(), ["b"]);
        let mut edits = MemberEdits::new(&stored_ids);
        edits.clear();
        for id in ["a", "b", "c"] {
            edits.add(id);
        }
        assert!(!edits.finish().changes(&stored));
    }
}
