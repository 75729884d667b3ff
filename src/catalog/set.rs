//! `ActionSet`: a dense bitset over the ids of one catalog.
//!
//! With ~22,000 actions a set is ~350 words (2.8 KB): cloning is one `memcpy`, and a union or an
//! intersection is a tight loop the compiler vectorises. Sets that many holders share (the result
//! of expanding a pattern) are wrapped in `Arc` by the expander rather than inside the set, so the
//! set itself stays a plain value with no reference counting on every mutation.

use std::fmt;
use std::ops::Range;

use super::ActionId;

const BITS: usize = 64;

/// A set of actions of one catalog. All sets combined with each other must come from the same
/// catalog (same `universe`); combining sets of different catalogs is a bug.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct ActionSet {
    words: Vec<u64>,
    universe: u32,
}

impl ActionSet {
    /// The empty set over a catalog of `n` actions.
    pub fn empty(n: usize) -> ActionSet {
        ActionSet {
            words: vec![0; n.div_ceil(BITS)],
            universe: u32::try_from(n).unwrap_or(u32::MAX),
        }
    }

    /// The set of all `n` actions.
    pub fn full(n: usize) -> ActionSet {
        let mut set = ActionSet {
            words: vec![u64::MAX; n.div_ceil(BITS)],
            universe: u32::try_from(n).unwrap_or(u32::MAX),
        };
        set.clear_tail();
        set
    }

    /// Builds a set from ids.
    pub fn from_ids(n: usize, ids: impl IntoIterator<Item = ActionId>) -> ActionSet {
        let mut set = ActionSet::empty(n);
        for id in ids {
            set.insert(id);
        }
        set
    }

    /// How many actions the catalog has (the size of the full set).
    pub fn universe(&self) -> usize {
        self.universe as usize
    }

    /// Adds `id`; ids outside the universe are ignored. Returns true when it was not present.
    pub fn insert(&mut self, id: ActionId) -> bool {
        let i = id.index();
        if i >= self.universe() {
            return false;
        }
        let (w, b) = (i / BITS, 1u64 << (i % BITS));
        let was = self.words[w] & b != 0;
        self.words[w] |= b;
        !was
    }

    /// Removes `id`. Returns true when it was present.
    pub fn remove(&mut self, id: ActionId) -> bool {
        let i = id.index();
        if i >= self.universe() {
            return false;
        }
        let (w, b) = (i / BITS, 1u64 << (i % BITS));
        let was = self.words[w] & b != 0;
        self.words[w] &= !b;
        was
    }

    /// Adds every id in `range` (a service's actions are one contiguous range).
    pub fn insert_range(&mut self, range: Range<u32>) {
        let end = range.end.min(self.universe) as usize;
        let mut i = range.start as usize;
        while i < end {
            let w = i / BITS;
            let lo = i % BITS;
            let hi = (end - w * BITS).min(BITS);
            let mask = if hi - lo == BITS {
                u64::MAX
            } else {
                ((1u64 << (hi - lo)) - 1) << lo
            };
            self.words[w] |= mask;
            i = w * BITS + hi;
        }
    }

    pub fn contains(&self, id: ActionId) -> bool {
        let i = id.index();
        i < self.universe() && self.words[i / BITS] & (1u64 << (i % BITS)) != 0
    }

    /// `self ∪= other`.
    pub fn union_with(&mut self, other: &ActionSet) {
        debug_assert_eq!(self.universe, other.universe, "sets of different catalogs");
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a |= b;
        }
    }

    /// `self ∩= other`.
    pub fn intersect_with(&mut self, other: &ActionSet) {
        debug_assert_eq!(self.universe, other.universe, "sets of different catalogs");
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= b;
        }
    }

    /// `self −= other`.
    pub fn difference_with(&mut self, other: &ActionSet) {
        debug_assert_eq!(self.universe, other.universe, "sets of different catalogs");
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= !b;
        }
    }

    /// Replaces the set with its complement within the catalog.
    pub fn complement(&mut self) {
        for w in &mut self.words {
            *w = !*w;
        }
        self.clear_tail();
    }

    /// True when every element of `self` is in `other`.
    pub fn is_subset(&self, other: &ActionSet) -> bool {
        self.words
            .iter()
            .zip(&other.words)
            .all(|(a, b)| a & !b == 0)
    }

    /// True when the sets share an element.
    pub fn intersects(&self, other: &ActionSet) -> bool {
        self.words.iter().zip(&other.words).any(|(a, b)| a & b != 0)
    }

    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|&w| w == 0)
    }

    /// Number of actions in the set.
    pub fn len(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// The ids in ascending order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            words: &self.words,
            word: 0,
            bits: self.words.first().copied().unwrap_or(0),
        }
    }

    fn clear_tail(&mut self) {
        let rem = self.universe() % BITS;
        if rem != 0
            && let Some(last) = self.words.last_mut()
        {
            *last &= (1u64 << rem) - 1;
        }
    }
}

/// A set kept only to be read later, in the smaller of two forms: its ids (4 bytes each) when it
/// has fewer than 1/32 of the catalog's actions, else the bitset. The plans of 100,000 principals
/// keep their sets this way once verified (`recommend::plan`): most hold a few hundred actions of
/// 22,000, for which the ids take a tenth of the bitset's 2.8 KB.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct FrozenSet(Frozen);

#[derive(Clone, PartialEq, Eq)]
enum Frozen {
    Ids { ids: Box<[u32]>, universe: u32 },
    Bits(ActionSet),
}

impl Default for Frozen {
    fn default() -> Frozen {
        Frozen::Ids {
            ids: Box::default(),
            universe: 0,
        }
    }
}

impl FrozenSet {
    pub fn new(set: &ActionSet) -> FrozenSet {
        let n = set.len();
        FrozenSet(if n.saturating_mul(32) < set.universe() {
            Frozen::Ids {
                ids: set.iter().map(|a| a.0).collect(),
                universe: set.universe,
            }
        } else {
            Frozen::Bits(set.clone())
        })
    }

    pub fn len(&self) -> usize {
        match &self.0 {
            Frozen::Ids { ids, .. } => ids.len(),
            Frozen::Bits(set) => set.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ids in ascending order, from either form (no bitset is built).
    pub fn iter(&self) -> impl Iterator<Item = ActionId> + '_ {
        let (ids, bits) = match &self.0 {
            Frozen::Ids { ids, .. } => (Some(ids.iter().map(|i| ActionId(*i))), None),
            Frozen::Bits(set) => (None, Some(set.iter())),
        };
        ids.into_iter().flatten().chain(bits.into_iter().flatten())
    }

    /// The set, as a bitset of its catalog.
    pub fn to_set(&self) -> ActionSet {
        match &self.0 {
            Frozen::Ids { ids, universe } => {
                ActionSet::from_ids(*universe as usize, ids.iter().map(|i| ActionId(*i)))
            }
            Frozen::Bits(set) => set.clone(),
        }
    }
}

impl fmt::Debug for FrozenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_set().fmt(f)
    }
}

impl fmt::Debug for ActionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_set();
        for id in self.iter().take(16) {
            list.entry(&id.0);
        }
        if self.len() > 16 {
            list.entry(&format_args!("… {} of {}", self.len(), self.universe));
        }
        list.finish()
    }
}

impl<'a> IntoIterator for &'a ActionSet {
    type Item = ActionId;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// Ascending iterator over an `ActionSet`.
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    words: &'a [u64],
    word: usize,
    bits: u64,
}

impl Iterator for Iter<'_> {
    type Item = ActionId;

    fn next(&mut self) -> Option<ActionId> {
        loop {
            if self.bits != 0 {
                let bit = self.bits.trailing_zeros() as usize;
                self.bits &= self.bits - 1;
                // The universe fits in u32, so every index does.
                return Some(ActionId((self.word * BITS + bit) as u32));
            }
            self.word += 1;
            self.bits = *self.words.get(self.word)?;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ids(set: &ActionSet) -> Vec<u32> {
        set.iter().map(|a| a.0).collect()
    }

    #[test]
    fn full_and_empty_respect_universe() {
        for n in [0, 1, 63, 64, 65, 130] {
            assert_eq!(ActionSet::full(n).len(), n);
            assert!(ActionSet::empty(n).is_empty());
            let mut c = ActionSet::full(n);
            c.complement();
            assert!(c.is_empty());
        }
    }

    #[test]
    fn insert_remove_contains_out_of_range() {
        let mut s = ActionSet::empty(70);
        assert!(s.insert(ActionId(69)));
        assert!(!s.insert(ActionId(69)));
        assert!(!s.insert(ActionId(70)));
        assert!(s.contains(ActionId(69)));
        assert!(!s.contains(ActionId(1000)));
        assert!(s.remove(ActionId(69)));
        assert!(s.is_empty());
    }

    #[test]
    fn insert_range_across_words() {
        let mut s = ActionSet::empty(200);
        s.insert_range(60..130);
        assert_eq!(ids(&s), (60..130).collect::<Vec<_>>());
        let mut t = ActionSet::empty(200);
        t.insert_range(0..200);
        assert_eq!(t, ActionSet::full(200));
        let mut u = ActionSet::empty(10);
        u.insert_range(5..50);
        assert_eq!(ids(&u), vec![5, 6, 7, 8, 9]);
    }

    proptest! {
        #[test]
        fn set_ops_match_btreeset(a in proptest::collection::btree_set(0u32..300, 0..80),
                                  b in proptest::collection::btree_set(0u32..300, 0..80)) {
            let n = 300;
            let sa = ActionSet::from_ids(n, a.iter().map(|&i| ActionId(i)));
            let sb = ActionSet::from_ids(n, b.iter().map(|&i| ActionId(i)));
            prop_assert_eq!(ids(&sa), a.iter().copied().collect::<Vec<_>>());
            prop_assert_eq!(sa.len(), a.len());
            let mut u = sa.clone(); u.union_with(&sb);
            prop_assert_eq!(ids(&u), a.union(&b).copied().collect::<Vec<_>>());
            let mut i = sa.clone(); i.intersect_with(&sb);
            prop_assert_eq!(ids(&i), a.intersection(&b).copied().collect::<Vec<_>>());
            let mut d = sa.clone(); d.difference_with(&sb);
            prop_assert_eq!(ids(&d), a.difference(&b).copied().collect::<Vec<_>>());
            let mut c = sa.clone(); c.complement();
            prop_assert_eq!(c.len(), n - a.len());
            prop_assert!(!c.intersects(&sa));
            prop_assert_eq!(i.is_subset(&sa), true);
        }
    }

    #[test]
    fn a_frozen_set_keeps_its_members_in_the_smaller_form() {
        let n = 22_000;
        for ids in [
            vec![],
            vec![0, 5, 21_999],
            (0..687).collect(),
            (0..688).collect(),
            (0..22_000).collect::<Vec<u32>>(),
        ] {
            let set = ActionSet::from_ids(n, ids.iter().map(|i| ActionId(*i)));
            let frozen = FrozenSet::new(&set);
            assert_eq!(frozen.to_set(), set);
            assert!(frozen.iter().eq(set.iter()));
            assert_eq!(frozen.len(), ids.len());
            assert_eq!(frozen.is_empty(), ids.is_empty());
            let sparse = matches!(frozen.0, Frozen::Ids { .. });
            assert_eq!(sparse, ids.len() * 32 < n, "{} ids", ids.len());
        }
        assert!(FrozenSet::default().is_empty());
    }
}
