//! Comparing action patterns as IAM reads them, whatever the catalog holds: whether every name
//! one pattern matches the other matches too, or some name both match. A rewritten statement
//! is checked this way (`recommend::tighten`, `recommend::verify`): expanded against the
//! catalog alone, `ec2:*` and the `NotAction` `ec2:ZapShiny*` it replaced look the same, yet an
//! `ec2:ZapShinyThing` newer than the catalog is granted by the one and not by the other.
//!
//! Both tests err on one side: [`contains`] may say no where a pattern does match every name
//! (the rewrite then keeps what it had), and a `NotAction` pattern may be taken to overlap one
//! that no name matches with it.

use super::expand::{Expander, glob_lower};
use crate::model::document::ActionClause;

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?'])
}

/// The positions of `pattern` (as chars) its matcher can be at after reading `prefix`: `true`
/// at `i` when `pattern[..i]` can match `prefix` whole.
fn after(pattern: &[char], prefix: &str) -> Vec<bool> {
    let close = |states: &mut Vec<bool>| {
        for i in 0..pattern.len() {
            if states[i] && pattern[i] == '*' {
                states[i + 1] = true;
            }
        }
    };
    let mut states = vec![false; pattern.len() + 1];
    states[0] = true;
    close(&mut states);
    for c in prefix.chars() {
        let mut next = vec![false; pattern.len() + 1];
        for (i, p) in pattern.iter().enumerate() {
            if !states[i] {
                continue;
            }
            match *p {
                '*' => next[i] = true,
                '?' => next[i + 1] = true,
                p if p == c => next[i + 1] = true,
                _ => {}
            }
        }
        close(&mut next);
        states = next;
    }
    states
}

/// True when `pattern` matches every name that starts with `prefix` (both in lower case): it
/// can read `prefix` and be left with only `*`s.
fn covers_prefix(pattern: &str, prefix: &str) -> bool {
    // A name covers only itself; a pattern whose head differs from the prefix nothing of it.
    if !has_wildcard(pattern) || !heads_agree(pattern, prefix) {
        return false;
    }
    let p: Vec<char> = pattern.chars().collect();
    let states = after(&p, prefix);
    (0..p.len()).any(|i| states[i] && p[i..].iter().all(|c| *c == '*'))
}

/// True when `pattern` matches some name that starts with `prefix` (both in lower case): it can
/// read `prefix` (what is left of any pattern matches something).
fn overlaps_prefix(pattern: &str, prefix: &str) -> bool {
    if !has_wildcard(pattern) {
        return pattern.starts_with(prefix);
    }
    if !heads_agree(pattern, prefix) {
        return false;
    }
    let p: Vec<char> = pattern.chars().collect();
    after(&p, prefix).into_iter().any(|s| s)
}

/// Whether the part of `pattern` before its first wildcard and `prefix` agree as far as both go
/// (one starts the other): else no name the pattern matches starts with the prefix.
fn heads_agree(pattern: &str, prefix: &str) -> bool {
    let head = pattern.find(['*', '?']).map_or(pattern, |i| &pattern[..i]);
    head.starts_with(prefix) || prefix.starts_with(head)
}

/// The part before a pattern's only wildcard, a last `*` (`s3:Get*` → `s3:Get`).
fn prefix_of(pattern: &str) -> Option<&str> {
    let prefix = pattern.strip_suffix('*')?;
    (!has_wildcard(prefix)).then_some(prefix)
}

/// True when `p` matches every name `q` matches (case-insensitively). Told for `q` an exact
/// name, a pattern whose only wildcard is a last `*`, `p` itself, or `service:rest` where `p`
/// is `vendor:rest'`, `vendor` matches `service` and `rest'` contains `rest`; no otherwise.
pub fn contains(p: &str, q: &str) -> bool {
    contains_lower(&p.to_lowercase(), &q.to_lowercase())
}

fn contains_lower(p: &str, q: &str) -> bool {
    if !has_wildcard(q) {
        return glob_lower(p, q);
    }
    if p == q {
        return true;
    }
    if let Some(prefix) = prefix_of(q) {
        return covers_prefix(p, prefix);
    }
    match (p.split_once(':'), q.split_once(':')) {
        (Some((pv, pa)), Some((qv, qa))) => {
            !has_wildcard(qv) && glob_lower(pv, qv) && contains_lower(pa, qa)
        }
        _ => false,
    }
}

/// True when some name matches both `p` and `q` (in lower case), or the test cannot tell (`q`
/// neither an exact name nor a pattern whose only wildcard is a last `*`).
fn overlaps_lower(p: &str, q: &str) -> bool {
    if !has_wildcard(q) {
        return glob_lower(p, q);
    }
    prefix_of(q).is_none_or(|prefix| overlaps_prefix(p, prefix))
}

/// True when some name matches both `p` and `q` (case-insensitively), or the test cannot tell
/// (`q` neither an exact name nor a pattern whose only wildcard is a last `*`).
pub fn overlaps(p: &str, q: &str) -> bool {
    overlaps_lower(&p.to_lowercase(), &q.to_lowercase())
}

/// An `Action` or `NotAction` list in lower case, to test many patterns against.
pub struct Clause {
    not: bool,
    /// A set, to find a pattern written as it is (most of a rewritten list) without matching it
    /// against every other one.
    patterns: std::collections::HashSet<String>,
}

impl Clause {
    pub fn of(clause: &ActionClause) -> Clause {
        let (not, patterns) = match clause {
            ActionClause::Action(ps) => (false, ps),
            ActionClause::NotAction(ps) => (true, ps),
        };
        Clause {
            not,
            patterns: patterns.iter().map(|p| p.to_lowercase()).collect(),
        }
    }

    /// True when the clause matches every name `q` matches: a pattern of its `Action` list
    /// [`contains`] `q`, or no pattern of its `NotAction` list may match a name `q` does.
    pub fn grants_all_of(&self, q: &str) -> bool {
        let q = q.to_lowercase();
        if self.not {
            !self.patterns.iter().any(|e| overlaps_lower(e, &q))
        } else {
            self.patterns.contains(&q) || self.patterns.iter().any(|p| contains_lower(p, &q))
        }
    }
}

/// True when `clause` matches every name `q` matches ([`Clause::grants_all_of`]).
pub fn within(q: &str, clause: &ActionClause) -> bool {
    Clause::of(clause).grants_all_of(q)
}

/// True when every name `new` matches, `original` does too: each pattern of an `Action` list is
/// [`within`] it, and a `NotAction` list excludes at least what `original`'s `NotAction` does
/// (its patterns, as written, among `new`'s).
pub fn clause_within(new: &ActionClause, original: &ActionClause) -> bool {
    match (new, original) {
        (ActionClause::Action(qs), _) => {
            let original = Clause::of(original);
            qs.iter().all(|q| original.grants_all_of(q))
        }
        (ActionClause::NotAction(es), ActionClause::NotAction(eo)) => eo
            .iter()
            .all(|o| es.iter().any(|e| e.eq_ignore_ascii_case(o))),
        (ActionClause::NotAction(_), ActionClause::Action(_)) => false,
    }
}

/// [`clause_within`], an exact name the catalog knows read from `original`'s expansion: the
/// same answer (a pattern matches a catalog name exactly when its expansion holds it) without
/// matching the name against every pattern, which made planning 3 times slower (an explicit
/// list of hundreds of names against a policy's hundreds of patterns, for every plan).
pub fn clause_within_expanded(
    new: &ActionClause,
    original: &ActionClause,
    expander: &mut Expander<'_>,
) -> bool {
    let ActionClause::Action(qs) = new else {
        return clause_within(new, original);
    };
    let expanded = expander.clause(original).actions;
    let catalog = expander.catalog();
    let mut patterns: Option<Clause> = None;
    qs.iter().all(|q| {
        let known = (!has_wildcard(q)).then(|| catalog.lookup_full(q)).flatten();
        match known {
            Some(id) => expanded.contains(id),
            None => patterns
                .get_or_insert_with(|| Clause::of(original))
                .grants_all_of(q),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert!(covers_prefix("*", "ec2:"));
        assert!(covers_prefix("ec2:*", "ec2:"));
        assert!(covers_prefix("e?2:*", "ec2:get"));
        assert!(covers_prefix("ec2:get*", "ec2:getx"));
        assert!(!covers_prefix("ec2:get*", "ec2:"));
        assert!(!covers_prefix("ec2:*x", "ec2:"));
        assert!(!covers_prefix("ec2:get", "ec2:get"));
        assert!(overlaps_prefix("ec2:zapshiny*", "ec2:"));
        assert!(overlaps_prefix("*:delete*", "newsvc:"));
        assert!(overlaps_prefix("ec2:z?p", "ec2:z"));
        assert!(!overlaps_prefix("ec2:zapshiny*", "s3:"));
        assert!(!overlaps_prefix("ec2:zap", "ec2:zapp"));
    }

    #[test]
    fn containment_and_overlap() {
        assert!(contains("*", "newsvc:*"));
        assert!(contains("s3:get*", "s3:GetObject"));
        assert!(contains("s3:Get*", "S3:GETO*"));
        assert!(!contains("s3:Get*", "s3:*"));
        assert!(contains("*:Get*", "newsvc:Get*"));
        assert!(contains("new*:Get?bj*", "newsvc:Get?bj*"));
        assert!(!contains("*:Get*", "newsvc:*"));
        assert!(!contains("s3:Get?", "s3:G*t?"));
        assert!(overlaps_lower("newsvc:delete*", "newsvc:*"));
        assert!(overlaps_lower("s3:g*t?", "s3:?x*x"));
        assert!(!overlaps_lower("iam:*", "newsvc:*"));
        assert!(!overlaps_lower("newsvc:delete*", "newsvc:get*"));
    }

    /// Reading catalog names from the expansion gives the answers of matching them.
    #[test]
    fn expanded_clauses_answer_as_patterns_do() {
        let c = crate::catalog::Catalog::embedded();
        let mut e = Expander::new(c);
        let list = |ps: &[&str]| ps.iter().map(|p| p.to_string()).collect::<Vec<_>>();
        let originals = [
            ActionClause::Action(list(&["s3:Get*", "EC2:describe*", "iam:PassRole"])),
            ActionClause::NotAction(list(&["iam:*", "s3:Put*", "newsvc:Delete*"])),
        ];
        let names = [
            "s3:GetObject",
            "S3:GETOBJECT",
            "s3:PutObject",
            "ec2:DescribeInstances",
            "ec2:RunInstances",
            "iam:PassRole",
            "iam:CreateUser",
            "newsvc:DeleteThing",
            "newsvc:GetThing",
            "s3:Get*",
            "s3:*",
        ];
        for original in &originals {
            for n in names {
                let new = ActionClause::Action(list(&[n]));
                assert_eq!(
                    clause_within_expanded(&new, original, &mut e),
                    clause_within(&new, original),
                    "{n} in {original:?}"
                );
            }
        }
    }

    #[test]
    fn clauses() {
        let action = |ps: &[&str]| ActionClause::Action(ps.iter().map(|p| p.to_string()).collect());
        let not = |ps: &[&str]| ActionClause::NotAction(ps.iter().map(|p| p.to_string()).collect());
        let original = not(&["iam:*", "newsvc:Delete*"]);
        assert!(within("newsvc:GetThing", &original));
        assert!(!within("newsvc:DeleteThing", &original));
        assert!(!within("newsvc:*", &original));
        assert!(within("s3:*", &original));
        assert!(clause_within(&action(&["s3:*", "newsvc:Get*"]), &original));
        assert!(!clause_within(&action(&["newsvc:*"]), &original));
        assert!(clause_within(
            &not(&["IAM:*", "newsvc:Delete*", "s3:GetObject"]),
            &original
        ));
        assert!(!clause_within(&not(&["iam:*"]), &original));
        assert!(!clause_within(&original, &action(&["*"])));
        assert!(clause_within(
            &action(&["s3:GetObject", "s3:Put*"]),
            &action(&["s3:*"])
        ));
    }
}
