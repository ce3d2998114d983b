//! The scan's drafts (titles by number, streams by title and stream index), kept in the
//! order they first appeared with an index beside them.
//!
//! MakeMKV lists titles and streams in order, so the entry a record is for is nearly
//! always the last one, checked first. Any other order costs a logarithmic look-up per
//! record: a vector kept sorted by inserting in place cost a shift of the whole vector
//! per record, quadratic in a transcript listing titles backwards (issue 19: 1 MB of
//! such lines took seconds).

use std::collections::BTreeMap;

/// A draft built from the records of one key.
pub(super) trait Draft {
    /// What a record names: a title number, or (title, stream).
    type Key: Ord + Copy;
    /// This draft's key.
    fn key(&self) -> Self::Key;
    /// An empty draft for `key`.
    fn new(key: Self::Key) -> Self;
}

/// Drafts in arrival order, found by key.
#[derive(Debug)]
pub(super) struct Keyed<T: Draft> {
    items: Vec<T>,
    index: BTreeMap<T::Key, usize>,
}

impl<T: Draft> Default for Keyed<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            index: BTreeMap::new(),
        }
    }
}

impl<T: Draft> Keyed<T> {
    /// The draft for `key`, made when there is none yet.
    pub(super) fn entry(&mut self, key: T::Key) -> Option<&mut T> {
        let at = match self.items.last() {
            Some(last) if last.key() == key => self.items.len().checked_sub(1)?,
            _ => *self.index.entry(key).or_insert_with(|| {
                self.items.push(T::new(key));
                self.items.len().saturating_sub(1)
            }),
        };
        self.items.get_mut(at)
    }

    /// The draft made last.
    pub(super) fn last(&self) -> Option<&T> {
        self.items.last()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.items.iter()
    }

    /// Every draft, sorted by key.
    pub(super) fn into_sorted(self) -> Vec<T> {
        let mut items = self.items;
        items.sort_by_key(Draft::key);
        items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Item(u32, u32);

    impl Draft for Item {
        type Key = u32;
        fn key(&self) -> u32 {
            self.0
        }
        fn new(key: u32) -> Self {
            Item(key, 0)
        }
    }

    #[test]
    fn any_order_finds_the_same_entry_and_sorts_at_the_end() {
        let mut keyed = Keyed::<Item>::default();
        for key in [3, 3, 1, 2, 3, 1] {
            keyed.entry(key).unwrap().1 += 1;
        }
        assert_eq!(keyed.last(), Some(&Item(2, 1)));
        assert_eq!(keyed.into_sorted(), [Item(1, 2), Item(2, 1), Item(3, 3)]);
    }
}
