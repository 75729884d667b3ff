//! `ActionSet`: a bitset over the ids of one catalog, holding only the window of words from its
//! first to its last member.
//!
//! With ~22,000 actions a catalog-wide bitset is ~350 words (2.8 KB). Most sets the crate keeps
//! are far narrower: a pattern such as `s3:Get*` or a statement's actions lie within one or a few
//! services, and a service's actions are one contiguous id range, so the window is a few words;
//! an empty set holds no memory at all. At 100,000 roles the planning threads' caches of expanded
//! patterns, statements and managed policies were ~0.2 GB of catalog-wide bitsets, almost all
//! zeros. Operations stay word-wise loops over the overlap of two windows (the compiler
//! vectorises them); cloning copies only the window, trimmed of zero words at both ends. Sets
//! that many holders share (the result of expanding a pattern) are wrapped in `Arc` by the
//! expander rather than inside the set, so the set itself stays a plain value with no reference
//! counting on every mutation.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Range;

use super::ActionId;

const BITS: usize = 64;

/// A set of actions of one catalog. All sets combined with each other must come from the same
/// catalog (same `universe`); combining sets of different catalogs is a bug.
///
/// `words[k]` is word `start + k` of the catalog-wide bitset; every bit outside the window is
/// clear, and `start + words.len()` never passes the catalog's last word. Zero words may sit
/// inside the window: equality, hashing and cloning look only at the trimmed window.
#[derive(Default)]
pub struct ActionSet {
    words: Vec<u64>,
    start: u32,
    universe: u32,
}

impl ActionSet {
    /// The empty set over a catalog of `n` actions (no memory is allocated).
    pub fn empty(n: usize) -> ActionSet {
        ActionSet {
            words: Vec::new(),
            start: 0,
            universe: u32::try_from(n).unwrap_or(u32::MAX),
        }
    }

    /// The set of all `n` actions.
    pub fn full(n: usize) -> ActionSet {
        let mut set = ActionSet {
            words: vec![u64::MAX; n.div_ceil(BITS)],
            start: 0,
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

    /// Words of the catalog-wide bitset.
    fn word_count(&self) -> usize {
        self.universe().div_ceil(BITS)
    }

    fn start(&self) -> usize {
        self.start as usize
    }

    /// One past the window's last word.
    fn end(&self) -> usize {
        self.start() + self.words.len()
    }

    /// Word `w` of the catalog-wide bitset.
    fn word(&self, w: usize) -> u64 {
        w.checked_sub(self.start())
            .and_then(|k| self.words.get(k))
            .copied()
            .unwrap_or(0)
    }

    /// Widens the window to cover words `lo..hi` (within the catalog). Growing towards the front
    /// at least doubles the window, so building a set in descending order stays linear.
    fn cover(&mut self, lo: usize, hi: usize) {
        let hi = hi.min(self.word_count());
        if lo >= hi {
            return;
        }
        if self.words.is_empty() {
            self.words = vec![0; hi - lo];
            self.start = lo as u32; // lo < word_count ≤ u32::MAX
            return;
        }
        if lo < self.start() {
            let new_lo = lo.min(self.start().saturating_sub(self.words.len()));
            let mut words = Vec::with_capacity(self.end().max(hi) - new_lo);
            words.resize(self.start() - new_lo, 0);
            words.extend_from_slice(&self.words);
            self.words = words;
            self.start = new_lo as u32;
        }
        if hi > self.end() {
            self.words.resize(hi - self.start(), 0);
        }
    }

    /// The window without its zero words at both ends: (first word, words).
    fn trimmed(&self) -> (usize, &[u64]) {
        let Some(first) = self.words.iter().position(|&w| w != 0) else {
            return (0, &[]);
        };
        let last = self.words.iter().rposition(|&w| w != 0).unwrap_or(first);
        (self.start() + first, &self.words[first..=last])
    }

    /// The overlap of two windows: (first word, this set's words, the other's words).
    fn overlap<'a>(&'a self, other: &'a ActionSet) -> (usize, &'a [u64], &'a [u64]) {
        let lo = self.start().max(other.start());
        let hi = self.end().min(other.end());
        if lo >= hi {
            return (lo, &[], &[]);
        }
        (
            lo,
            &self.words[lo - self.start()..hi - self.start()],
            &other.words[lo - other.start()..hi - other.start()],
        )
    }

    /// Adds `id`; ids outside the universe are ignored. Returns true when it was not present.
    pub fn insert(&mut self, id: ActionId) -> bool {
        let i = id.index();
        if i >= self.universe() {
            return false;
        }
        let (w, b) = (i / BITS, 1u64 << (i % BITS));
        self.cover(w, w + 1);
        let start = self.start();
        let word = &mut self.words[w - start];
        let was = *word & b != 0;
        *word |= b;
        !was
    }

    /// Adds every id of `ids` (ids outside the universe are ignored). In ascending order, as an
    /// action list holds them, each word of the window is checked and written once instead of
    /// once per id (planning builds every principal's verdict sets from its findings' lists).
    pub fn insert_all(&mut self, ids: impl IntoIterator<Item = ActionId>) {
        let universe = self.universe();
        let (mut word, mut bits) = (usize::MAX, 0u64);
        for i in ids
            .into_iter()
            .map(ActionId::index)
            .filter(|&i| i < universe)
        {
            if i / BITS != word {
                self.or_word(word, bits);
                (word, bits) = (i / BITS, 0);
            }
            bits |= 1u64 << (i % BITS);
        }
        self.or_word(word, bits);
    }

    /// ORs `bits` into word `w` of the catalog-wide bitset (nothing when `bits` is 0).
    fn or_word(&mut self, w: usize, bits: u64) {
        if bits == 0 {
            return;
        }
        self.cover(w, w + 1);
        let start = self.start();
        self.words[w - start] |= bits;
    }

    /// Removes `id`. Returns true when it was present.
    pub fn remove(&mut self, id: ActionId) -> bool {
        let i = id.index();
        let (w, b) = (i / BITS, 1u64 << (i % BITS));
        let start = self.start();
        match w.checked_sub(start).and_then(|k| self.words.get_mut(k)) {
            Some(word) => {
                let was = *word & b != 0;
                *word &= !b;
                was
            }
            None => false,
        }
    }

    /// Adds every id in `range` (a service's actions are one contiguous range).
    pub fn insert_range(&mut self, range: Range<u32>) {
        let end = range.end.min(self.universe) as usize;
        let mut i = range.start as usize;
        if i >= end {
            return;
        }
        self.cover(i / BITS, end.div_ceil(BITS));
        let start = self.start();
        while i < end {
            let w = i / BITS;
            let lo = i % BITS;
            let hi = (end - w * BITS).min(BITS);
            let mask = if hi - lo == BITS {
                u64::MAX
            } else {
                ((1u64 << (hi - lo)) - 1) << lo
            };
            self.words[w - start] |= mask;
            i = w * BITS + hi;
        }
    }

    pub fn contains(&self, id: ActionId) -> bool {
        let i = id.index();
        i < self.universe() && self.word(i / BITS) & (1u64 << (i % BITS)) != 0
    }

    /// `self ∪= other`.
    pub fn union_with(&mut self, other: &ActionSet) {
        debug_assert_eq!(self.universe, other.universe, "sets of different catalogs");
        let (first, words) = other.trimmed();
        if words.is_empty() {
            return;
        }
        self.cover(first, first + words.len());
        let at = first - self.start();
        for (a, b) in self.words[at..at + words.len()].iter_mut().zip(words) {
            *a |= b;
        }
    }

    /// `self ∩= other`.
    pub fn intersect_with(&mut self, other: &ActionSet) {
        debug_assert_eq!(self.universe, other.universe, "sets of different catalogs");
        let lo = self.start().max(other.start());
        let hi = self.end().min(other.end());
        if lo >= hi {
            self.words.clear();
            self.start = 0;
            return;
        }
        self.words.truncate(hi - self.start());
        self.words.drain(..lo - self.start());
        self.start = lo as u32;
        for (a, b) in self
            .words
            .iter_mut()
            .zip(&other.words[lo - other.start()..])
        {
            *a &= b;
        }
    }

    /// `self −= other`.
    pub fn difference_with(&mut self, other: &ActionSet) {
        debug_assert_eq!(self.universe, other.universe, "sets of different catalogs");
        let lo = self.start().max(other.start());
        let hi = self.end().min(other.end());
        if lo >= hi {
            return;
        }
        let start = self.start();
        let mine = &mut self.words[lo - start..hi - start];
        for (a, b) in mine.iter_mut().zip(&other.words[lo - other.start()..]) {
            *a &= !b;
        }
    }

    /// Replaces the set with its complement within the catalog.
    pub fn complement(&mut self) {
        let words = (0..self.word_count()).map(|w| !self.word(w)).collect();
        self.words = words;
        self.start = 0;
        self.clear_tail();
    }

    /// True when every element of `self` is in `other`.
    pub fn is_subset(&self, other: &ActionSet) -> bool {
        let (first, words) = self.trimmed();
        words
            .iter()
            .enumerate()
            .all(|(k, a)| a & !other.word(first + k) == 0)
    }

    /// True when the sets share an element.
    pub fn intersects(&self, other: &ActionSet) -> bool {
        let (_, a, b) = self.overlap(other);
        a.iter().zip(b).any(|(a, b)| a & b != 0)
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
            base: self.start(),
            word: 0,
            bits: self.words.first().copied().unwrap_or(0),
        }
    }

    fn clear_tail(&mut self) {
        let rem = self.universe() % BITS;
        if rem != 0
            && self.end() == self.word_count()
            && let Some(last) = self.words.last_mut()
        {
            *last &= (1u64 << rem) - 1;
        }
    }
}

impl Clone for ActionSet {
    /// A copy of the trimmed window only.
    fn clone(&self) -> ActionSet {
        let (first, words) = self.trimmed();
        ActionSet {
            words: words.to_vec(),
            start: first as u32, // first < word_count ≤ u32::MAX
            universe: self.universe,
        }
    }
}

impl PartialEq for ActionSet {
    fn eq(&self, other: &ActionSet) -> bool {
        self.universe == other.universe && self.trimmed() == other.trimmed()
    }
}

impl Eq for ActionSet {}

impl Hash for ActionSet {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.universe.hash(state);
        self.trimmed().hash(state);
    }
}

/// A set kept only to be read later, in the smaller of two forms: its ids (4 bytes each) when it
/// has fewer than 1/32 of the catalog's actions, else the bitset. For a set spread thinly over
/// many services (a few hundred actions of 22,000, from `a*` to `x*`), whose window is nearly the
/// whole catalog, the ids take a tenth of the bitset's 2.8 KB.
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
    /// The catalog-wide index of `words[0]`.
    base: usize,
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
                return Some(ActionId(((self.base + self.word) * BITS + bit) as u32));
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
    use std::collections::BTreeSet;
    use std::hash::BuildHasher;

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
            // Added all at once, in order or not, as one by one.
            let mut all = ActionSet::empty(n);
            all.insert_all(a.iter().rev().chain(&b).map(|&i| ActionId(i)));
            all.insert_all([ActionId(300), ActionId(u32::MAX)]);
            let mut one_by_one = sa.clone(); one_by_one.union_with(&sb);
            prop_assert_eq!(ids(&all), ids(&one_by_one));
            let mut sorted = ActionSet::empty(n);
            sorted.insert_all(a.iter().map(|&i| ActionId(i)));
            prop_assert_eq!(&sorted, &sa);
            let mut c = sa.clone(); c.complement();
            prop_assert_eq!(c.len(), n - a.len());
            prop_assert!(!c.intersects(&sa));
            prop_assert_eq!(i.is_subset(&sa), true);
        }
    }

    /// The hash of `set` with fixed keys.
    fn hash_of(set: &ActionSet) -> u64 {
        std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
            .hash_one(set)
    }

    proptest! {
        /// A set's window depends on how it was built (ids added in either order, a wider set
        /// emptied again, ranges, intersections); what it holds, compares, hashes and reports does
        /// not.
        #[test]
        fn windows_hold_only_what_the_set_holds(
            a in proptest::collection::btree_set(0u32..1000, 0..40),
            b in proptest::collection::btree_set(0u32..1000, 0..40),
            r in (0u32..1000, 0u32..200),
        ) {
            let n = 1000;
            let set = |ids: &mut dyn Iterator<Item = &u32>| ActionSet::from_ids(n, ids.map(|&i| ActionId(i)));
            let asc = set(&mut a.iter());
            let desc = set(&mut a.iter().rev());
            let mut wide = set(&mut b.iter());
            wide.union_with(&asc);
            for x in b.difference(&a) {
                prop_assert!(wide.remove(ActionId(*x)));
            }
            let expect: Vec<u32> = a.iter().copied().collect();
            for s in [&asc, &desc, &wide, &wide.clone()] {
                prop_assert_eq!(ids(s), expect.clone());
                prop_assert_eq!(s, &asc);
                prop_assert_eq!(s.len(), a.len());
                prop_assert_eq!(s.is_empty(), a.is_empty());
            }
            prop_assert_eq!(hash_of(&wide), hash_of(&asc));
            let sb = set(&mut b.iter());
            prop_assert_eq!(asc.is_subset(&sb), a.is_subset(&b));
            prop_assert_eq!(sb.is_subset(&wide), b.is_subset(&a));
            prop_assert_eq!(wide.intersects(&sb), !a.is_disjoint(&b));
            for x in 0..n as u32 {
                prop_assert_eq!(wide.contains(ActionId(x)), a.contains(&x));
            }
            let (lo, len) = r;
            let mut ranged = asc.clone();
            ranged.insert_range(lo..lo + len);
            let mut expect: BTreeSet<u32> = a.clone();
            expect.extend((lo..lo + len).filter(|&i| (i as usize) < n));
            prop_assert_eq!(ids(&ranged), expect.iter().copied().collect::<Vec<_>>());
            let mut i = sb.clone();
            i.intersect_with(&ranged);
            prop_assert_eq!(ids(&i), b.intersection(&expect).copied().collect::<Vec<_>>());
            i.union_with(&ActionSet::empty(n));
            i.difference_with(&ActionSet::empty(n));
            prop_assert_eq!(ids(&i), b.intersection(&expect).copied().collect::<Vec<_>>());
            let mut c = wide.clone();
            c.complement();
            c.complement();
            prop_assert_eq!(&c, &asc);
        }
    }

    #[test]
    fn an_empty_set_holds_no_memory_and_equals_an_emptied_one() {
        let empty = ActionSet::empty(22_000);
        assert_eq!(empty.words.capacity(), 0);
        let mut emptied = ActionSet::full(22_000);
        emptied.difference_with(&ActionSet::full(22_000));
        assert_eq!(emptied, empty);
        assert_eq!(hash_of(&emptied), hash_of(&empty));
        assert_eq!(emptied.clone().words.capacity(), 0);
        assert_ne!(
            ActionSet::empty(21_999),
            empty,
            "sets of different catalogs differ"
        );
        let one = ActionSet::from_ids(22_000, [ActionId(21_999)]);
        assert_eq!(one.words.len(), 1, "one word, at the end of the catalog");
        assert_eq!(ids(&one), vec![21_999]);
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
