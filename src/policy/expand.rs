//! Expanding action patterns (`s3:Get*`, `*`, `iam:?assRole`) and policy documents into sets of
//! catalog actions.
//!
//! Matching follows IAM: case-insensitive, `*` matches any run of characters (including none),
//! `?` exactly one, and the pattern is matched against the whole `service:action` string. When the
//! service part of a pattern has no wildcard, only that service's id range is scanned. Results are
//! memoised per lower-cased pattern and per statement action list, so expanding the same managed
//! policy for thousands of principals costs a hash lookup each time.

use foldhash::HashMap;
use std::hash::BuildHasher;
use std::sync::Arc;

use crate::catalog::{ActionId, ActionSet, Catalog};
use crate::model::document::{ActionClause, Effect, PolicyDocument, Statement};

/// Case-insensitive IAM wildcard match of `pattern` against `text` (`*` any run, `?` one char).
pub fn matches(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.to_lowercase(), text.to_lowercase());
    glob_lower(&p, &t)
}

/// Wildcard match of already lower-cased strings.
pub(crate) fn glob_lower(p: &str, t: &str) -> bool {
    if p.is_ascii() && t.is_ascii() {
        glob(p.as_bytes(), t.as_bytes(), b'*', b'?')
    } else {
        let p: Vec<char> = p.chars().collect();
        let t: Vec<char> = t.chars().collect();
        glob(&p, &t, '*', '?')
    }
}

/// Linear-time-per-star wildcard matcher: on a mismatch, retry from the last `*` one position on.
fn glob<T: Copy + Eq>(p: &[T], s: &[T], star: T, any: T) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut back: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && p[pi] == star {
            back = Some((pi, si));
            pi += 1;
        } else if pi < p.len() && (p[pi] == any || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if let Some((bp, bs)) = back {
            pi = bp + 1;
            si = bs + 1;
            back = Some((bp, bs + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == star)
}

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?'])
}

/// Expands one pattern against the catalog, without caching.
pub fn expand_pattern(catalog: &Catalog, pattern: &str) -> ActionSet {
    expand_lower(catalog, &pattern.to_lowercase())
}

fn expand_lower(catalog: &Catalog, p: &str) -> ActionSet {
    let mut set = catalog.empty_set();
    if p.is_empty() {
        return set;
    }
    if p.bytes().all(|b| b == b'*') {
        return catalog.full_set();
    }
    let ascii = catalog.is_ascii() && p.is_ascii();
    let test = |pat: &str, name: &str| {
        if ascii {
            glob(pat.as_bytes(), name.as_bytes(), b'*', b'?')
        } else {
            glob_lower(pat, name)
        }
    };
    match p.split_once(':') {
        Some((service, action)) if !has_wildcard(service) => {
            let Some(range) = catalog.service_range(service) else {
                return set;
            };
            if action.bytes().all(|b| b == b'*') && !action.is_empty() {
                set.insert_range(range);
                return set;
            }
            let offset = service.len() + 1;
            for id in range.map(ActionId) {
                if test(action, &catalog.lower_name(id)[offset..]) {
                    set.insert(id);
                }
            }
        }
        _ => {
            for id in catalog.ids() {
                if test(p, catalog.lower_name(id)) {
                    set.insert(id);
                }
            }
        }
    }
    set
}

/// An expanded `Action` / `NotAction` list.
#[derive(Debug, Clone)]
pub struct ClauseExpansion {
    /// The actions the clause covers (for `NotAction`, the complement of its patterns' union).
    pub actions: Arc<ActionSet>,
    /// Patterns, as written, that match no action of the catalog (in clause order).
    pub unmatched: Vec<String>,
}

/// One statement of a document, expanded.
#[derive(Debug, Clone)]
pub struct StatementExpansion {
    /// Position in the document's `Statement` list.
    pub index: usize,
    /// Sid, else `#index`.
    pub label: String,
    pub effect: Effect,
    pub actions: Arc<ActionSet>,
    /// Resource is not `*` (a list of ARNs, or `NotResource`).
    pub scoped: bool,
    /// Has a non-empty `Condition`.
    pub conditional: bool,
    pub unmatched: Vec<String>,
}

impl StatementExpansion {
    /// True for a Deny that applies to every resource without a condition: the only kind of Deny
    /// the grant model subtracts.
    pub fn is_absolute_deny(&self) -> bool {
        self.effect == Effect::Deny && !self.scoped && !self.conditional
    }
}

/// A policy document expanded against the catalog.
#[derive(Debug, Clone)]
pub struct DocumentExpansion {
    pub statements: Vec<StatementExpansion>,
    /// Union of every Allow statement, scoped or conditional ones included.
    pub allowed: ActionSet,
    /// Union of the unconditional Deny statements that apply to all resources.
    pub denied: ActionSet,
    /// `allowed − denied`.
    pub effective: ActionSet,
}

impl DocumentExpansion {
    /// Every pattern that matched nothing, with the index of its statement.
    pub fn unmatched(&self) -> impl Iterator<Item = (usize, &str)> {
        self.statements
            .iter()
            .flat_map(|s| s.unmatched.iter().map(move |p| (s.index, p.as_str())))
    }
}

/// The patterns of an `Action` or `NotAction` list.
fn clause_patterns(clause: &ActionClause) -> &[String] {
    match clause {
        ActionClause::Action(p) | ActionClause::NotAction(p) => p,
    }
}

/// A cached clause with the exact key it was computed for.
#[derive(Debug)]
struct ClauseEntry {
    negated: bool,
    patterns: Box<[String]>,
    clause: CachedClause,
}

#[derive(Debug, Clone)]
struct CachedClause {
    actions: Arc<ActionSet>,
    /// Each pattern's own expansion, in clause order: kept only once
    /// [`Expander::clause_patterns`] asks for it (what tightening a statement reads), as it costs
    /// a pointer per pattern and most lists (those of tightened documents being verified, with
    /// hundreds of explicit actions each) are never tightened.
    patterns: Option<Arc<[Arc<ActionSet>]>>,
    /// Positions, in the clause, of patterns that matched nothing.
    unmatched: Vec<usize>,
}

/// How many action lists an [`Expander`] adds to its newer generation before that generation
/// becomes the older one (and the older one is forgotten). Each is a set of the words from its
/// first to its last action (a one-service list is a few words, a list across the catalog up to
/// ~2.8 KB): a generation held ~20 MB when every set was catalog-wide. Without a bound, planning
/// 100,000 roles kept every tightened inline statement's list it ever verified: 260 MB of the
/// report's heap peak, never read again.
const CLAUSES_PER_GENERATION: usize = 8192;

/// Expands patterns against one catalog, memoising every distinct (lower-cased) pattern and the
/// action lists seen lately. Use one per thread; it is cheap to create.
///
/// Action lists are remembered in two generations: a list found in the older one moves to the
/// newer one, and when the newer one is full the older one is dropped. A list used again and
/// again (a managed policy's, attached to thousands of roles) therefore stays, while the lists
/// of inline policies seen once make room. What is remembered changes no answer, only its cost.
#[derive(Debug)]
pub struct Expander<'c> {
    catalog: &'c Catalog,
    patterns: HashMap<Box<str>, Arc<ActionSet>>,
    /// Hash of (negated, patterns) → entries with that hash: the newer generation.
    clauses: HashMap<u64, Vec<ClauseEntry>>,
    /// Entries in `clauses`.
    clauses_len: usize,
    /// The older generation.
    older: HashMap<u64, Vec<ClauseEntry>>,
    hasher: foldhash::fast::RandomState,
    full: Arc<ActionSet>,
}

impl<'c> Expander<'c> {
    pub fn new(catalog: &'c Catalog) -> Expander<'c> {
        Expander {
            catalog,
            patterns: HashMap::default(),
            clauses: HashMap::default(),
            clauses_len: 0,
            older: HashMap::default(),
            hasher: foldhash::fast::RandomState::default(),
            full: Arc::new(catalog.full_set()),
        }
    }

    /// Where an action list's entry is in the newer generation's bucket of `hash` (moved there
    /// from the older one if found there). The lists are compared once: a hit costs one
    /// comparison of the whole list, however long.
    fn cached_clause(&mut self, hash: u64, negated: bool, patterns: &[String]) -> Option<usize> {
        let same = |e: &ClauseEntry| e.negated == negated && *e.patterns == *patterns;
        if let Some(i) = self
            .clauses
            .get(&hash)
            .and_then(|b| b.iter().position(same))
        {
            return Some(i);
        }
        let bucket = self.older.get_mut(&hash)?;
        let entry = bucket.swap_remove(bucket.iter().position(same)?);
        self.remember_clause(hash, entry);
        // `remember_clause` pushed it last.
        self.clauses.get(&hash).map(|b| b.len() - 1)
    }

    /// The entry at `i` of the newer generation's bucket of `hash` ([`Expander::cached_clause`]).
    fn entry_mut(&mut self, hash: u64, i: usize) -> Option<&mut ClauseEntry> {
        self.clauses.get_mut(&hash)?.get_mut(i)
    }

    /// Adds an entry to the newer generation, turning it into the older one first when full.
    fn remember_clause(&mut self, hash: u64, entry: ClauseEntry) {
        if self.clauses_len >= CLAUSES_PER_GENERATION {
            self.older = std::mem::take(&mut self.clauses);
            self.clauses_len = 0;
        }
        self.clauses.entry(hash).or_default().push(entry);
        self.clauses_len += 1;
    }

    /// How many action lists are remembered (both generations).
    #[cfg(test)]
    fn clauses_remembered(&self) -> usize {
        self.clauses_len + self.older.values().map(Vec::len).sum::<usize>()
    }

    pub fn catalog(&self) -> &'c Catalog {
        self.catalog
    }

    /// The actions one pattern matches (empty when it matches nothing).
    pub fn expand_pattern(&mut self, pattern: &str) -> Arc<ActionSet> {
        crate::catalog::with_lowercase(pattern, |lower| {
            if lower.bytes().all(|b| b == b'*') && !lower.is_empty() {
                return Arc::clone(&self.full);
            }
            if let Some(set) = self.patterns.get(lower) {
                return Arc::clone(set);
            }
            let set = Arc::new(expand_lower(self.catalog, lower));
            self.patterns.insert(lower.into(), Arc::clone(&set));
            set
        })
    }

    /// Expands an `Action` or `NotAction` list.
    pub fn clause(&mut self, clause: &ActionClause) -> ClauseExpansion {
        let patterns = clause_patterns(clause);
        let cached = self.cached(clause, false);
        ClauseExpansion {
            actions: cached.actions,
            unmatched: cached
                .unmatched
                .iter()
                .filter_map(|&i| patterns.get(i).cloned())
                .collect(),
        }
    }

    /// The actions of an `Action` or `NotAction` list with each pattern's own expansion, in the
    /// list's order: from the same cache as [`Expander::clause`], so a managed policy's hundreds
    /// of patterns are looked up once per thread, not once per principal that holds it.
    pub fn clause_patterns(
        &mut self,
        clause: &ActionClause,
    ) -> (Arc<ActionSet>, Arc<[Arc<ActionSet>]>) {
        let c = self.cached(clause, true);
        let sets = c.patterns.unwrap_or_else(|| Arc::from([]));
        (c.actions, sets)
    }

    /// The clause from the cache, computed and remembered on a miss; with each pattern's
    /// expansion when `with_patterns`.
    fn cached(&mut self, clause: &ActionClause, with_patterns: bool) -> CachedClause {
        let negated = matches!(clause, ActionClause::NotAction(_));
        let patterns = clause_patterns(clause);
        // Keyed on the exact strings (no lower-casing, no allocation on a hit): the same managed
        // policy seen for the ten-thousandth principal costs one hash and one comparison.
        // Case variants miss here but still share the per-pattern cache.
        let hash = self.hasher.hash_one((negated, patterns));
        if let Some(i) = self.cached_clause(hash, negated, patterns) {
            if let Some(e) = self.entry_mut(hash, i)
                && (!with_patterns || e.clause.patterns.is_some())
            {
                return e.clause.clone();
            }
            // Expanding patterns leaves the lists' cache as it is: the entry stays at `i`.
            let sets: Arc<[Arc<ActionSet>]> =
                patterns.iter().map(|p| self.expand_pattern(p)).collect();
            if let Some(e) = self.entry_mut(hash, i) {
                e.clause.patterns = Some(sets);
                return e.clause.clone();
            }
        }
        let c = self.compute_clause(negated, patterns, with_patterns);
        self.remember_clause(
            hash,
            ClauseEntry {
                negated,
                patterns: patterns.into(),
                clause: c.clone(),
            },
        );
        c
    }

    fn compute_clause(
        &mut self,
        negated: bool,
        patterns: &[String],
        with_patterns: bool,
    ) -> CachedClause {
        let mut unmatched = Vec::new();
        let mut sets = Vec::with_capacity(patterns.len());
        for (i, p) in patterns.iter().enumerate() {
            let set = self.expand_pattern(p);
            if set.is_empty() {
                unmatched.push(i);
            }
            sets.push(set);
        }
        let actions = if !negated && sets.len() == 1 {
            Arc::clone(&sets[0])
        } else {
            let mut union = self.catalog.empty_set();
            for s in &sets {
                union.union_with(s);
            }
            if negated {
                union.complement();
            }
            Arc::new(union)
        };
        CachedClause {
            actions,
            patterns: with_patterns.then(|| sets.into()),
            unmatched,
        }
    }

    /// Expands one statement of a policy of an account of `partition` (when known: an
    /// all-wildcard ARN naming it applies to every resource, [`matches_every_resource`]).
    ///
    /// [`matches_every_resource`]: crate::model::document::matches_every_resource
    pub fn statement(
        &mut self,
        statement: &Statement,
        partition: Option<&str>,
    ) -> StatementExpansion {
        let clause = self.clause(&statement.actions);
        // A statement that applies to no resource allows or denies nothing, whatever it names.
        let actions = if statement.applies_to_no_resource(partition) {
            Arc::new(self.catalog.empty_set())
        } else {
            clause.actions
        };
        StatementExpansion {
            index: statement.index,
            label: statement.label(),
            effect: statement.effect,
            actions,
            scoped: !statement.applies_to_all_resources(partition),
            conditional: statement.is_conditional(),
            unmatched: clause.unmatched,
        }
    }

    /// Expands a whole document whose account's partition is not known: the union of its Allow
    /// statements minus its unconditional, all-resource Deny statements ([`Expander::document_in`]).
    pub fn document(&mut self, document: &PolicyDocument) -> DocumentExpansion {
        self.document_in(document, None)
    }

    /// Expands a whole document of a policy of an account of `partition` (when known).
    pub fn document_in(
        &mut self,
        document: &PolicyDocument,
        partition: Option<&str>,
    ) -> DocumentExpansion {
        let mut allowed = self.catalog.empty_set();
        let mut denied = self.catalog.empty_set();
        let statements: Vec<StatementExpansion> = document
            .statements
            .iter()
            .map(|s| self.statement(s, partition))
            .collect();
        for s in &statements {
            match s.effect {
                Effect::Allow => allowed.union_with(&s.actions),
                Effect::Deny if s.is_absolute_deny() => denied.union_with(&s.actions),
                Effect::Deny => {}
            }
        }
        let mut effective = allowed.clone();
        effective.difference_with(&denied);
        DocumentExpansion {
            statements,
            allowed,
            denied,
            effective,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn small() -> Catalog {
        crate::catalog::small_test_catalog().clone()
    }

    fn names(c: &Catalog, s: &ActionSet) -> Vec<String> {
        s.iter().map(|i| c.full_name(i)).collect()
    }

    /// Independent reference matcher: recursive, on chars.
    fn reference(p: &[char], s: &[char]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some('*'), _) => reference(&p[1..], s) || (!s.is_empty() && reference(p, &s[1..])),
            (Some('?'), Some(_)) => reference(&p[1..], &s[1..]),
            (Some(a), Some(b)) => a == b && reference(&p[1..], &s[1..]),
            _ => false,
        }
    }

    fn reference_match(p: &str, s: &str) -> bool {
        let p: Vec<char> = p.to_lowercase().chars().collect();
        let s: Vec<char> = s.to_lowercase().chars().collect();
        reference(&p, &s)
    }

    #[test]
    fn glob_basics() {
        assert!(matches("s3:Get*", "S3:GETOBJECT"));
        assert!(matches("*", ""));
        assert!(matches("iam:?assRole", "iam:PassRole"));
        assert!(!matches("iam:?assRole", "iam:assRole"));
        assert!(matches("*:*Object", "s3:GetObject"));
        assert!(!matches("s3:Get", "s3:GetObject"));
        assert!(matches("a*b*c", "aXbYbZc"));
        assert!(matches("é*", "Éa"));
    }

    #[test]
    fn expansion_cases() {
        let c = small();
        let mut e = Expander::new(&c);
        assert_eq!(e.expand_pattern("*").len(), c.len());
        assert_eq!(
            names(&c, &e.expand_pattern("S3:get*")),
            ["s3:GetBucketPolicy", "s3:GetObject"]
        );
        assert_eq!(names(&c, &e.expand_pattern("s3:*")).len(), 5);
        assert_eq!(names(&c, &e.expand_pattern("s3*:*")).len(), 6);
        assert_eq!(
            names(&c, &e.expand_pattern("iam:?assrole")),
            ["iam:PassRole"]
        );
        assert_eq!(names(&c, &e.expand_pattern("*:Get*")).len(), 3);
        assert_eq!(names(&c, &e.expand_pattern("*Role*")).len(), 3);
        assert!(e.expand_pattern("s3:Gett*").is_empty());
        assert!(e.expand_pattern("nosuch:*").is_empty());
        assert!(e.expand_pattern("").is_empty());
        assert!(e.expand_pattern("s3:").is_empty());
        assert!(e.expand_pattern("s3").is_empty());
    }

    #[test]
    fn memoised_per_lowercased_pattern() {
        let c = small();
        let mut e = Expander::new(&c);
        let a = e.expand_pattern("s3:Get*");
        let b = e.expand_pattern("S3:GET*");
        assert!(Arc::ptr_eq(&a, &b));
        let cl = ActionClause::Action(vec!["s3:Get*".into(), "iam:Nope".into()]);
        let x = e.clause(&cl);
        let y = e.clause(&ActionClause::Action(vec![
            "S3:get*".into(),
            "IAM:NOPE".into(),
        ]));
        assert_eq!(x.actions, y.actions);
        assert!(Arc::ptr_eq(&x.actions, &e.clause(&cl).actions));
        assert_eq!(x.unmatched, ["iam:Nope"]);
        assert_eq!(y.unmatched, ["IAM:NOPE"]);
    }

    /// The action lists remembered stay within two generations however many distinct lists go
    /// through, a list used throughout stays remembered (the same `Arc` comes back), and the
    /// answers are those of an expander that remembers nothing.
    #[test]
    fn action_lists_are_remembered_within_bounds() {
        let c = small();
        let mut e = Expander::new(&c);
        let hot = ActionClause::Action(vec!["s3:Get*".into(), "iam:GetRole".into()]);
        let first = e.clause(&hot).actions;
        for i in 0..3 * CLAUSES_PER_GENERATION {
            let once = ActionClause::NotAction(vec![format!("x{i}:*"), "s3:Put*".into()]);
            let got = e.clause(&once);
            if i % 997 == 0 {
                let fresh = Expander::new(&c).clause(&once);
                assert_eq!(got.actions, fresh.actions);
                assert_eq!(got.unmatched, fresh.unmatched);
            }
            if i % 1000 == 0 {
                assert!(Arc::ptr_eq(&first, &e.clause(&hot).actions), "{i}");
            }
            assert!(e.clauses_remembered() <= 2 * CLAUSES_PER_GENERATION);
        }
        assert!(e.clauses_remembered() > CLAUSES_PER_GENERATION);
        assert!(Arc::ptr_eq(&first, &e.clause(&hot).actions));
    }

    #[test]
    fn not_action_is_complement() {
        let c = small();
        let mut e = Expander::new(&c);
        let n = e.clause(&ActionClause::NotAction(vec![
            "s3:*".into(),
            "iam:Get*".into(),
        ]));
        assert_eq!(n.actions.len(), c.len() - 6);
        assert!(!n.actions.contains(c.lookup_full("iam:GetRole").unwrap()));
        let none = e.clause(&ActionClause::NotAction(vec!["*".into()]));
        assert!(none.actions.is_empty());
    }

    #[test]
    fn a_statement_that_applies_to_no_resource_allows_and_denies_nothing() {
        let c = small();
        let mut e = Expander::new(&c);
        let doc = PolicyDocument::from_value(json!({"Statement": [
            {"Effect": "Allow", "Action": "s3:*", "NotResource": "*"},
            {"Effect": "Allow", "Action": "iam:*", "NotResource": ["arn:aws:iam::1:role/x", "arn:*:*:*:*:*"]},
            {"Effect": "Allow", "Action": "ec2:*", "Resource": []},
            {"Effect": "Allow", "Action": "iam:GetRole", "NotResource": "arn:aws:iam::1:role/x"},
            {"Effect": "Allow", "Action": "iam:PassRole", "NotResource": "arn:aws:*:*:*:*"},
            {"Effect": "Deny", "Action": "iam:GetRole", "NotResource": "*"}
        ]}))
        .unwrap();
        let d = e.document_in(&doc, None);
        // Only the `NotResource` of one role, and the one whose partition is unknown, allow.
        assert_eq!(names(&c, &d.allowed), ["iam:GetRole", "iam:PassRole"]);
        assert!(d.denied.is_empty() && d.statements[5].actions.is_empty());
        assert_eq!(d.unmatched().count(), 0, "the patterns still match actions");
        // In the `aws` partition, `arn:aws:*:*:*:*` is every resource: that one allows nothing.
        let d = e.document_in(&doc, Some("aws"));
        assert_eq!(names(&c, &d.allowed), ["iam:GetRole"]);
    }

    #[test]
    fn document_deny_subtraction() {
        let c = small();
        let mut e = Expander::new(&c);
        let doc = PolicyDocument::from_value(json!({"Statement": [
            {"Effect": "Allow", "Action": ["s3:*", "iam:*"], "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:Put*", "Resource": "*"},
            {"Sid": "Scoped", "Effect": "Deny", "Action": "iam:PassRole", "Resource": "arn:aws:iam::1:role/x"},
            {"Effect": "Deny", "Action": "iam:GetRole", "Resource": "*",
             "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}},
            {"Effect": "Allow", "Action": "ec2:Run*", "NotResource": "arn:aws:ec2:*:*:image/*"},
            {"Effect": "Allow", "Action": "s3:Gett*", "Resource": "*"}
        ]}))
        .unwrap();
        let d = e.document(&doc);
        assert_eq!(d.allowed.len(), 10);
        assert_eq!(names(&c, &d.denied), ["s3:PutObject"]);
        assert_eq!(d.effective.len(), 9);
        assert!(d.effective.contains(c.lookup_full("iam:PassRole").unwrap()));
        assert!(d.statements[2].scoped && !d.statements[2].is_absolute_deny());
        assert!(d.statements[3].conditional);
        assert!(d.statements[4].scoped);
        assert_eq!(d.statements[2].label, "Scoped");
        assert_eq!(d.unmatched().collect::<Vec<_>>(), [(5, "s3:Gett*")]);
    }

    fn pattern_strategy() -> impl Strategy<Value = String> {
        // Built from pieces of real names so patterns match often enough to be interesting.
        let piece = prop_oneof![
            Just("*".to_string()),
            Just("?".to_string()),
            Just(":".to_string()),
            "[a-zA-Z0-9]{1,3}",
            Just("s3".to_string()),
            Just("ec2".to_string()),
            Just("iam".to_string()),
            Just("Get".to_string()),
            Just("Describe".to_string()),
            Just("List".to_string()),
        ];
        proptest::collection::vec(piece, 1..6).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Every expanded action matches its pattern, and every action it leaves out does not.
        #[test]
        fn expansion_agrees_with_reference(p in pattern_strategy()) {
            let c = Catalog::embedded();
            let set = expand_pattern(c, &p);
            for id in c.ids() {
                let full = c.full_name(id);
                prop_assert_eq!(set.contains(id), reference_match(&p, &full), "{} vs {}", p, full);
            }
        }

        /// `Action: P` and `NotAction: P` partition the catalog.
        #[test]
        fn action_and_not_action_partition(ps in proptest::collection::vec(pattern_strategy(), 1..4)) {
            let c = Catalog::embedded();
            let mut e = Expander::new(c);
            let a = e.clause(&ActionClause::Action(ps.clone()));
            let n = e.clause(&ActionClause::NotAction(ps));
            prop_assert!(!a.actions.intersects(&n.actions));
            prop_assert_eq!(a.actions.len() + n.actions.len(), c.len());
            prop_assert_eq!(&a.unmatched, &n.unmatched);
        }

        /// A clause's per-pattern expansions are each pattern's own, in order, and their union
        /// is the clause's actions (for `NotAction`, its complement), cached or not.
        #[test]
        fn clause_patterns_are_each_patterns_expansion(
            ps in proptest::collection::vec(pattern_strategy(), 1..5),
            negated: bool,
        ) {
            let c = Catalog::embedded();
            let mut e = Expander::new(c);
            let clause = if negated {
                ActionClause::NotAction(ps.clone())
            } else {
                ActionClause::Action(ps.clone())
            };
            for _ in 0..2 {
                let (actions, sets) = e.clause_patterns(&clause);
                prop_assert_eq!(sets.len(), ps.len());
                let mut union = c.empty_set();
                for (p, set) in ps.iter().zip(sets.iter()) {
                    prop_assert_eq!(&**set, &expand_pattern(c, p), "{}", p);
                    union.union_with(set);
                }
                if negated {
                    union.complement();
                }
                prop_assert_eq!(&*actions, &union);
                prop_assert_eq!(&actions, &e.clause(&clause).actions);
            }
        }

        #[test]
        fn matcher_agrees_with_reference(p in "[ab*?]{0,6}", s in "[ab]{0,8}") {
            prop_assert_eq!(matches(&p, &s), reference_match(&p, &s));
        }

        #[test]
        fn case_insensitive(p in pattern_strategy()) {
            let c = Catalog::embedded();
            prop_assert_eq!(expand_pattern(c, &p.to_uppercase()), expand_pattern(c, &p.to_lowercase()));
        }
    }
}
