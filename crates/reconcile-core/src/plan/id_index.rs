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
use std::marker::PhantomData;

use foldhash::quality::RandomState;
use hashbrown::HashTable;

/// Identifier → position (the order the ids were given in). When an id is
/// given twice, the first position wins.
///
/// It borrows the ids it indexes for `'k`, so they outlive it: an address it
/// holds always belongs to the text it was given with.
pub(crate) struct IdIndex<'k> {
    /// Every id, concatenated.
    text: String,
    /// End of id `i` in `text` (it starts at the end of id `i - 1`).
    ends: Vec<usize>,
    /// Positions, hashed by their id.
    by_text: HashTable<usize>,
    /// (address of an id's text, the first position of that text), hashed by
    /// the address; each address once.
    by_addr: HashTable<(usize, usize)>,
    hasher: RandomState,
    ids: PhantomData<&'k str>,
}

impl<'k> IdIndex<'k> {
    /// Indexes `(address, text)` pairs as given by `ids::*::addr` and `as_str`.
    pub(crate) fn new(ids: impl ExactSizeIterator<Item = (usize, &'k str)>) -> Self {
        let mut index = Self {
            text: String::new(),
            ends: Vec::with_capacity(ids.len()),
            by_text: HashTable::with_capacity(ids.len()),
            by_addr: HashTable::with_capacity(ids.len()),
            hasher: RandomState::default(),
            ids: PhantomData,
        };
        let mut addrs = Vec::with_capacity(ids.len());
        for (addr, id) in ids {
            index.text.push_str(id);
            index.ends.push(index.text.len());
            addrs.push(addr);
        }
        let Self {
            text,
            ends,
            by_text,
            by_addr,
            hasher,
            ..
        } = &mut index;
        for (position, addr) in addrs.into_iter().enumerate() {
            let id = key(text, ends, position);
            let hash = hasher.hash_one(id);
            let first = if let Some(&first) = by_text.find(hash, |&p| key(text, ends, p) == id) {
                first
            } else {
                by_text.insert_unique(hash, position, |&p| hasher.hash_one(key(text, ends, p)));
                position
            };
            let hash = hasher.hash_one(addr);
            if by_addr.find(hash, |&(a, _)| a == addr).is_none() {
                by_addr.insert_unique(hash, (addr, first), |&(a, _)| hasher.hash_one(a));
            }
        }
        index
    }

    /// The position of the id with this address and text, if it was given.
    pub(crate) fn get(&self, addr: usize, id: &str) -> Option<usize> {
        self.by_addr
            .find(self.hasher.hash_one(addr), |&(a, _)| a == addr)
            .map(|&(_, position)| position)
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
        // A second copy of "x" at another address: still the first position,
        // by address as by text.
        assert_eq!(index.get(30, "x"), Some(0));
        assert_eq!(index.get(30, "not read when the address is known"), Some(0));
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
