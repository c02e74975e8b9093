//! Source user ids → their positions, looked up without touching the heap.
//!
//! At 100,000 users the projection resolves about half a million group members
//! against the user list. A map keyed by the users' own id strings compares each
//! member with a string somewhere in a heap of a hundred megabytes, and that
//! wait was most of `project()`. Here the ids are copied into one buffer and the
//! hash table holds only positions: a lookup reads the member's id and a few
//! megabytes that stay in cache.

use std::hash::BuildHasher;

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use hashbrown::hash_table::Entry;

/// Distinct ids, each at the position it was first added at.
pub(super) struct IdPositions {
    /// Every id's bytes, concatenated.
    text: Vec<u8>,
    /// Where id `p` starts in `text`; it ends where id `p + 1` starts (one
    /// entry more than there are ids).
    starts: Vec<u32>,
    /// Positions, hashed by their id.
    by_text: HashTable<u32>,
    hasher: RandomState,
}

impl IdPositions {
    /// An empty table with room for `ids` ids.
    pub(super) fn with_capacity(ids: usize) -> Self {
        let mut starts = Vec::with_capacity(ids + 1);
        starts.push(0);
        Self {
            text: Vec::new(),
            starts,
            by_text: HashTable::with_capacity(ids),
            hasher: RandomState::default(),
        }
    }

    /// Adds `id` at the next position and returns `true`, or returns `false`
    /// (and adds nothing) when `id` is already there.
    pub(super) fn insert(&mut self, id: &str) -> bool {
        let id = id.as_bytes();
        let Self {
            text,
            starts,
            by_text,
            hasher,
        } = self;
        let hash = hasher.hash_one(id);
        match by_text.entry(
            hash,
            |&p| key(text, starts, p) == id,
            |&p| hasher.hash_one(key(text, starts, p)),
        ) {
            Entry::Occupied(_) => false,
            Entry::Vacant(slot) => {
                let position = u32::try_from(starts.len() - 1).expect("fewer than 2^32 ids");
                text.extend_from_slice(id);
                starts.push(u32::try_from(text.len()).expect("ids fit in 4 GiB"));
                slot.insert(position);
                true
            }
        }
    }

    /// The position of `id`, if it was added.
    pub(super) fn get(&self, id: &str) -> Option<u32> {
        let id = id.as_bytes();
        self.by_text
            .find(self.hasher.hash_one(id), |&p| {
                key(&self.text, &self.starts, p) == id
            })
            .copied()
    }

    /// The id at `position`, as bytes (ids order as their bytes do, like `str`).
    pub(super) fn id(&self, position: u32) -> &[u8] {
        key(&self.text, &self.starts, position)
    }
}

/// The bytes of id `position`. Ids are compared and hashed as bytes: a `str`
/// slice would check character boundaries on every lookup.
fn key<'t>(text: &'t [u8], starts: &[u32], position: u32) -> &'t [u8] {
    let position = position as usize;
    &text[starts[position] as usize..starts[position + 1] as usize]
}

#[cfg(test)]
mod tests {
    use super::IdPositions;

    #[test]
    fn positions_follow_first_insertion_and_duplicates_are_refused() {
        let mut ids = IdPositions::with_capacity(2);
        let added: Vec<bool> = ["b", "", "abc", "b", "ab", "c", "abc"]
            .into_iter()
            .map(|id| ids.insert(id))
            .collect();
        assert_eq!(added, [true, true, true, false, true, true, false]);
        assert_eq!(ids.get("b"), Some(0));
        assert_eq!(ids.get(""), Some(1));
        assert_eq!(ids.get("abc"), Some(2));
        assert_eq!(ids.get("ab"), Some(3));
        assert_eq!(ids.get("c"), Some(4));
        assert_eq!(ids.get("a"), None);
        assert_eq!(ids.get("bc"), None);
        assert_eq!(ids.id(2), b"abc");
        assert_eq!(ids.id(1), b"");
        assert_eq!(ids.id(4), b"c");
    }
}
