//! A compact index from identifiers to their positions, for the planner's
//! per-membership lookups.
//!
//! A `HashMap<&str, usize>` over ids that live in their own heap allocations
//! makes every lookup compare against a string somewhere in a heap of hundreds
//! of megabytes: at 100k users, nearly a million such lookups were most of the
//! planner's time, spent waiting on memory. This index copies the ids into one
//! buffer and keeps only positions in its table, so a lookup touches a few
//! megabytes that stay in cache.
//!
//! Ids are shared strings, and the projection (and the CLI's SCIM adapter) make
//! a group's members clones of their user's id. Such a clone is found by the
//! address of its text alone, without reading the text; any other id is found
//! by its text. Both ways give the same position.

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
    by_text: HashTable<usize>,
    /// The address of the text of the id at each position.
    addrs: Vec<usize>,
    /// Positions, hashed by their address (each address once).
    by_addr: HashTable<usize>,
    hasher: RandomState,
}

impl IdIndex {
    /// Indexes `(address, text)` pairs as given by `ids::*::addr` and `as_str`.
    pub(crate) fn new<'k>(ids: impl ExactSizeIterator<Item = (usize, &'k str)>) -> Self {
        let mut index = Self {
            text: String::new(),
            ends: Vec::with_capacity(ids.len()),
            by_text: HashTable::with_capacity(ids.len()),
            addrs: Vec::with_capacity(ids.len()),
            by_addr: HashTable::with_capacity(ids.len()),
            hasher: RandomState::default(),
        };
        for (addr, id) in ids {
            index.text.push_str(id);
            index.ends.push(index.text.len());
            index.addrs.push(addr);
        }
        let Self {
            text,
            ends,
            by_text,
            addrs,
            by_addr,
            hasher,
        } = &mut index;
        for position in 0..ends.len() {
            let id = key(text, ends, position);
            let hash = hasher.hash_one(id);
            let first = if let Some(&first) = by_text.find(hash, |&p| key(text, ends, p) == id) {
                first
            } else {
                by_text.insert_unique(hash, position, |&p| hasher.hash_one(key(text, ends, p)));
                position
            };
            let addr = addrs[position];
            let hash = hasher.hash_one(addr);
            if by_addr.find(hash, |&p| addrs[p] == addr).is_none() {
                by_addr.insert_unique(hash, first, |&p| hasher.hash_one(addrs[p]));
            }
        }
        index
    }

    /// The position of the id with this address and text, if it was given.
    pub(crate) fn get(&self, addr: usize, id: &str) -> Option<usize> {
        self.by_addr
            .find(self.hasher.hash_one(addr), |&p| self.addrs[p] == addr)
            .copied()
            .or_else(|| self.get_text(id))
    }

    /// The position of the id with this text, if it was given.
    pub(crate) fn get_text(&self, id: &str) -> Option<usize> {
        self.by_text
            .find(self.hasher.hash_one(id), |&p| {
                key(&self.text, &self.ends, p) == id
            })
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
    fn finds_positions_by_text_and_keeps_the_first_of_duplicates() {
        let ids = ["b", "", "abc", "b", "ab", "c"];
        let index = IdIndex::new(ids.iter().enumerate().map(|(i, id)| (1000 + i, *id)));
        let get = |id: &str| index.get_text(id);
        assert_eq!(get("b"), Some(0));
        assert_eq!(get(""), Some(1));
        assert_eq!(get("abc"), Some(2));
        assert_eq!(get("ab"), Some(4));
        assert_eq!(get("c"), Some(5));
        assert_eq!(get("a"), None);
        assert_eq!(get("bc"), None);
        assert_eq!(get("abcb"), None);
    }

    #[test]
    fn an_address_gives_the_position_its_text_gives() {
        let index = IdIndex::new([(10, "x"), (20, "y"), (30, "x"), (10, "x")].into_iter());
        assert_eq!(index.get(10, "x"), Some(0));
        assert_eq!(index.get(20, "y"), Some(1));
        // A second copy of "x" at another address: still the first position.
        assert_eq!(index.get(30, "x"), Some(0));
        // An unknown address falls back to the text.
        assert_eq!(index.get(99, "y"), Some(1));
        assert_eq!(index.get(99, "z"), None);
    }

    #[test]
    fn an_empty_index_finds_nothing() {
        let index = IdIndex::new(std::iter::empty());
        assert_eq!(index.get(0, ""), None);
        assert_eq!(index.get(0, "x"), None);
    }
}
