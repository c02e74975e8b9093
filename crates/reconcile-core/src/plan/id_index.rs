//! A compact index from identifier strings to their positions, for the
//! planner's per-membership lookups.
//!
//! A `HashMap<&str, usize>` over ids that live in their own heap allocations
//! makes every lookup compare against a string somewhere in a heap of hundreds
//! of megabytes: at 100k users, nearly a million such lookups were most of the
//! planner's time, spent waiting on memory. This index copies the ids into one
//! buffer and keeps only positions in its table, so a lookup touches a few
//! megabytes that stay in cache.

use std::hash::BuildHasher;

use foldhash::quality::RandomState;

use hashbrown::HashTable;

/// Identifier → position (the order the ids were given in). When an id is
/// given twice, the first position wins.
pub(crate) struct IdIndex {
    /// Every id, concatenated.
    text: String,
    /// End of id `i` in `text` (it starts at the end of id `i - 1`).
    ends: Vec<usize>,
    /// Positions, hashed by their id.
    table: HashTable<usize>,
    hasher: RandomState,
}

impl IdIndex {
    pub(crate) fn new<'k>(ids: impl ExactSizeIterator<Item = &'k str>) -> Self {
        let mut index = Self {
            text: String::new(),
            ends: Vec::with_capacity(ids.len()),
            table: HashTable::with_capacity(ids.len()),
            hasher: RandomState::default(),
        };
        for id in ids {
            index.text.push_str(id);
            index.ends.push(index.text.len());
        }
        let Self {
            text,
            ends,
            table,
            hasher,
        } = &mut index;
        for position in 0..ends.len() {
            let id = key(text, ends, position);
            let hash = hasher.hash_one(id);
            let found = table.find(hash, |&p| key(text, ends, p) == id).is_some();
            if !found {
                table.insert_unique(hash, position, |&p| hasher.hash_one(key(text, ends, p)));
            }
        }
        index
    }

    /// The position of `id`, if it was given.
    pub(crate) fn get(&self, id: &str) -> Option<usize> {
        let hash = self.hasher.hash_one(id);
        self.table
            .find(hash, |&p| key(&self.text, &self.ends, p) == id)
            .copied()
    }
}

fn key<'t>(text: &'t str, ends: &[usize], position: usize) -> &'t str {
    let start = position.checked_sub(1).map_or(0, |p| ends[p]);
    &text[start..ends[position]]
}

#[cfg(test)]
mod tests {
    use super::IdIndex;

    #[test]
    fn finds_positions_and_keeps_the_first_of_duplicates() {
        let ids = ["b", "", "abc", "b", "ab", "c"];
        let index = IdIndex::new(ids.iter().copied());
        assert_eq!(index.get("b"), Some(0));
        assert_eq!(index.get(""), Some(1));
        assert_eq!(index.get("abc"), Some(2));
        assert_eq!(index.get("ab"), Some(4));
        assert_eq!(index.get("c"), Some(5));
        assert_eq!(index.get("a"), None);
        assert_eq!(index.get("bc"), None);
        assert_eq!(index.get("abcb"), None);
    }

    #[test]
    fn an_empty_index_finds_nothing() {
        let index = IdIndex::new(std::iter::empty());
        assert_eq!(index.get(""), None);
        assert_eq!(index.get("x"), None);
    }
}
