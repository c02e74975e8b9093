//! Typed handles: the names of desired users and user records that the
//! planner indexes with.
//!
//! Every id is turned into a handle once, where desired and observed state are
//! built or read in (a desired group's members in [`crate::project`], an owned
//! group's in [`crate::Observed::new`], the rest in the planner's inputs); from
//! then on the planner indexes typed vectors ([`Table`]) with handles the
//! compiler tells apart, instead of searching maps by text or mixing kinds of
//! `usize`.
//!
//! The id → handle lookups ([`IdTable`]) copy the ids into one buffer and keep
//! only handles in their hash table: a lookup reads the id it is given and a
//! few megabytes of table, never a string somewhere in a heap of hundreds of
//! megabytes.

use std::fmt;
use std::hash::BuildHasher;
use std::marker::PhantomData;
use std::num::NonZeroU32;
use std::ops::{Index, IndexMut};

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use hashbrown::hash_table::Entry;

/// A handle: a position in one [`Table`].
pub(crate) trait Handle: Copy + Ord + fmt::Debug {
    /// The handle of position `position`.
    fn at(position: usize) -> Self;
    /// Its position.
    fn position(self) -> usize;
}

/// A handle holds its position plus one, so that an `Option` of it takes four
/// bytes, as the handle does (a table of them stays half as large).
macro_rules! handle {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub(crate) struct $name(NonZeroU32);

        impl Handle for $name {
            fn at(position: usize) -> Self {
                u32::try_from(position)
                    .ok()
                    .and_then(|p| p.checked_add(1))
                    .and_then(NonZeroU32::new)
                    .map(Self)
                    .expect("fewer than 2^32 - 1 records")
            }

            fn position(self) -> usize {
                (self.0.get() - 1) as usize
            }
        }
    };
}

handle!(
    /// A desired user: its position in [`crate::Desired::users`] (id order).
    UserIx
);
handle!(
    /// An owned user record: its position among the owned records sorted by SCIM id.
    RecordIx
);
handle!(
    /// A user record: its position in [`crate::Observed::users`], the order
    /// the target listed it in.
    ListedIx
);

/// A plain position, for code that keeps positions in vectors of its own (the
/// projection's source users, `Observed::new`'s distinct SCIM ids).
impl Handle for u32 {
    fn at(position: usize) -> Self {
        u32::try_from(position).expect("fewer than 2^32 records")
    }

    fn position(self) -> usize {
        self as usize
    }
}

/// A vector indexed by one kind of handle.
pub(crate) struct Table<I, T> {
    items: Vec<T>,
    handle: PhantomData<fn(I) -> I>,
}

impl<I: Handle, T> Table<I, T> {
    /// One item per handle, in handle order.
    pub(crate) fn new(items: Vec<T>) -> Self {
        Self {
            items,
            handle: PhantomData,
        }
    }

    /// `value` for each of `len` handles.
    pub(crate) fn filled(len: usize, value: T) -> Self
    where
        T: Clone,
    {
        Self::new(vec![value; len])
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// Every handle, in order.
    pub(crate) fn handles(&self) -> impl Iterator<Item = I> + use<I, T> {
        (0..self.items.len()).map(I::at)
    }

    /// Every item with its handle, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (I, &T)> {
        self.items
            .iter()
            .enumerate()
            .map(|(p, item)| (I::at(p), item))
    }

    /// Every item, in handle order.
    pub(crate) fn values(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }

    /// A table with the same handles: `f` of each item.
    pub(crate) fn map<U>(&self, f: impl FnMut(&T) -> U) -> Table<I, U> {
        Table::new(self.items.iter().map(f).collect())
    }
}

impl<I: Handle, T> Index<I> for Table<I, T> {
    type Output = T;

    fn index(&self, handle: I) -> &T {
        &self.items[handle.position()]
    }
}

impl<I: Handle, T> IndexMut<I> for Table<I, T> {
    fn index_mut(&mut self, handle: I) -> &mut T {
        &mut self.items[handle.position()]
    }
}

/// Distinct ids, each with the handle of the position it was first added at
/// (the first id added has position 0, the next new one 1, and so on).
pub(crate) struct IdTable<I> {
    /// Every id's bytes, concatenated.
    text: Vec<u8>,
    /// Where id `p` starts in `text`; it ends where id `p + 1` starts (one
    /// entry more than there are ids).
    starts: Vec<u32>,
    /// Handles, hashed by their id.
    by_text: HashTable<I>,
    hasher: RandomState,
}

impl<I: Handle> IdTable<I> {
    /// An empty table with room for `ids` ids.
    pub(crate) fn with_capacity(ids: usize) -> Self {
        let mut starts = Vec::with_capacity(ids + 1);
        starts.push(0);
        Self {
            text: Vec::new(),
            starts,
            by_text: HashTable::with_capacity(ids),
            hasher: RandomState::default(),
        }
    }

    /// `ids`, each distinct one at the position of its first appearance among
    /// the distinct ones.
    pub(crate) fn new<'k>(ids: impl ExactSizeIterator<Item = &'k str>) -> Self {
        let mut table = Self::with_capacity(ids.len());
        for id in ids {
            table.insert(id);
        }
        table
    }

    /// Adds `id` at the next position and returns `true`, or returns `false`
    /// (and adds nothing) when `id` is already there.
    pub(crate) fn insert(&mut self, id: &str) -> bool {
        let id = id.as_bytes();
        let Self {
            text,
            starts,
            by_text,
            hasher,
        } = self;
        match by_text.entry(
            hasher.hash_one(id),
            |&h| key(text, starts, h.position()) == id,
            |&h| hasher.hash_one(key(text, starts, h.position())),
        ) {
            Entry::Occupied(_) => false,
            Entry::Vacant(slot) => {
                slot.insert(I::at(starts.len() - 1));
                text.extend_from_slice(id);
                starts.push(offset(text.len()));
                true
            }
        }
    }

    /// The handle of `id`, if it was added.
    pub(crate) fn get(&self, id: &str) -> Option<I> {
        let id = id.as_bytes();
        self.by_text
            .find(self.hasher.hash_one(id), |&h| {
                key(&self.text, &self.starts, h.position()) == id
            })
            .copied()
    }

    /// [`IdTable::get`], trying the handle after `previous` (the first
    /// handle when `None`) before hashing: ids looked up in the order they
    /// were added cost one comparison each.
    pub(crate) fn get_after(&self, id: &str, previous: Option<I>) -> Option<I> {
        let next = previous.map_or(0, |handle| handle.position() + 1);
        if next + 1 < self.starts.len() && key(&self.text, &self.starts, next) == id.as_bytes() {
            return Some(I::at(next));
        }
        self.get(id)
    }

    /// The id at `handle`, as bytes (ids order as their bytes do, like `str`).
    pub(crate) fn id(&self, handle: I) -> &[u8] {
        key(&self.text, &self.starts, handle.position())
    }
}

/// The bytes of id `position`. Ids are compared and hashed as bytes: a `str`
/// slice would check character boundaries on every lookup.
fn key<'t>(text: &'t [u8], starts: &[u32], position: usize) -> &'t [u8] {
    &text[starts[position] as usize..starts[position + 1] as usize]
}

fn offset(len: usize) -> u32 {
    u32::try_from(len).expect("ids fit in 4 GiB")
}

#[cfg(test)]
mod tests {
    use super::{Handle, IdTable, RecordIx, Table, UserIx};

    #[test]
    fn finds_handles_by_text_and_refuses_duplicates() {
        let mut table = IdTable::<UserIx>::with_capacity(2);
        let added: Vec<bool> = ["b", "", "abc", "b", "ab", "c", "abc"]
            .into_iter()
            .map(|id| table.insert(id))
            .collect();
        assert_eq!(added, [true, true, true, false, true, true, false]);
        let get = |id: &str| table.get(id).map(Handle::position);
        assert_eq!(get("b"), Some(0));
        assert_eq!(get(""), Some(1));
        assert_eq!(get("abc"), Some(2));
        assert_eq!(get("ab"), Some(3));
        assert_eq!(get("c"), Some(4));
        assert_eq!(get("a"), None);
        assert_eq!(get("bc"), None);
        assert_eq!(get("abcb"), None);
        assert_eq!(table.id(UserIx::at(2)), b"abc");
        assert_eq!(table.id(UserIx::at(1)), b"");
        assert_eq!(table.id(UserIx::at(4)), b"c");
        let built = IdTable::<UserIx>::new(["b", "", "b", "c"].into_iter());
        assert_eq!(built.get("c").map(Handle::position), Some(2));
        // `get_after` is `get` whatever it tries first.
        for id in ["b", "", "abc", "ab", "c", "a", "bc", "abcb"] {
            for previous in [None, Some(0), Some(1), Some(3), Some(4), Some(9)] {
                let previous = previous.map(UserIx::at);
                assert_eq!(
                    table.get_after(id, previous),
                    table.get(id),
                    "{id:?} after {previous:?}"
                );
            }
        }
    }

    #[test]
    fn a_handle_and_its_option_take_four_bytes() {
        assert_eq!(size_of::<Option<RecordIx>>(), 4);
        assert_eq!(size_of::<Option<UserIx>>(), 4);
        assert_eq!(RecordIx::at(0).position(), 0);
        assert_eq!(UserIx::at(7).position(), 7);
        assert!(RecordIx::at(1) < RecordIx::at(2));
    }

    #[test]
    fn an_empty_table_finds_nothing() {
        let table = IdTable::<RecordIx>::new(std::iter::empty());
        assert_eq!(table.get(""), None);
        assert_eq!(table.get("x"), None);
    }

    #[test]
    fn a_table_is_indexed_by_its_handles() {
        let mut table: Table<RecordIx, &str> = Table::new(vec!["a", "b", "c"]);
        table[RecordIx::at(1)] = "B";
        assert_eq!(table.len(), 3);
        assert_eq!(
            table
                .iter()
                .map(|(h, v)| (h.position(), *v))
                .collect::<Vec<_>>(),
            vec![(0, "a"), (1, "B"), (2, "c")]
        );
        assert_eq!(
            table.handles().map(Handle::position).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
        assert_eq!(table.map(|v| v.len()).values().sum::<usize>(), 3);
    }
}
