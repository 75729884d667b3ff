//! Rewriting one policy document so that it stops granting a set of actions, keeping everything
//! else about it: statement order, Sids, `Resource`/`NotResource`, `Condition`, Deny statements,
//! and every pattern that grants nothing to remove.
//!
//! Rules (see `docs/recommendations.md`):
//! - a pattern that matches nothing to remove stays as written (a wildcard stays a wildcard);
//! - an exact action to remove is dropped;
//! - a wildcard that matches something to remove is replaced by the explicit list of the actions
//!   it matches that are still to be kept;
//! - an Allow `NotAction` that leaves something to remove is rewritten into `Action` form (the
//!   explicit list of what it granted that is kept) and flagged for a human; where it granted
//!   part of a used service the catalog does not know, which no `Action` list can grant alone,
//!   it keeps its form and excludes what is removed too (flagged as well);
//! - an Allow statement left with no action is removed; Deny statements are never touched.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::catalog::{ActionSet, Catalog};
use crate::model::document::{ActionClause, Effect, PolicyDocument};
use crate::policy::expand::{Expander, matches};
use crate::policy::patterns::{Clause, contains, overlaps, within};

/// The result of tightening one document.
#[derive(Debug, Clone)]
pub struct Tightened {
    /// True when the document differs from the original.
    pub changed: bool,
    /// True when no statement is left: the policy should be detached or deleted.
    pub empty: bool,
    /// True when [`minimise`] collapsed explicit lists into wildcards.
    pub minimised: bool,
    /// Labels of `NotAction` statements rewritten into `Action` form.
    pub not_action_rewritten: Vec<String>,
    /// What only planning and a folder read ([`TightenedDetail`]), dropped with a plan's documents.
    pub parts: TightenedParts,
}

impl Tightened {
    /// Nothing changed (yet): `document`, nothing removed, nothing rewritten.
    pub fn unchanged(catalog: &Catalog, document: Value) -> Tightened {
        Tightened {
            changed: false,
            empty: false,
            minimised: false,
            not_action_rewritten: Vec::new(),
            parts: TightenedParts::new(TightenedDetail {
                document,
                removed: catalog.empty_set(),
                expanded_wildcards: Vec::new(),
                rewritten: Vec::new(),
                uncatalogued_kept: Vec::new(),
                not_action_extended: Vec::new(),
            }),
        }
    }
}

impl Tightened {
    /// What a reviewer must know of the `NotAction` statements of `policy` this rewrote.
    pub fn not_action_flags(&self, policy: &str) -> Vec<String> {
        let mut flags = Vec::new();
        if !self.not_action_rewritten.is_empty() {
            flags.push(format!(
                "{policy}: NotAction statement(s) {} rewritten into Action lists; the new policy no longer grants actions AWS adds later. Review before applying",
                self.not_action_rewritten.join(", ")
            ));
        }
        if !self.parts.not_action_extended.is_empty() {
            flags.push(format!(
                "{policy}: NotAction statement(s) {} keep their NotAction form, with the actions to remove added to it: each grants part of a service the catalog does not know that the principal used, which no Action list can grant alone. Do not split such a statement to meet a size limit (two NotAction statements grant what either grants). Review before applying",
                self.parts.not_action_extended.join(", ")
            ));
        }
        flags
    }
}

/// The parts of a [`Tightened`] that only planning, verification and a folder read.
#[derive(Debug, Clone, Default)]
pub struct TightenedDetail {
    /// The new document, keys in AWS order (`Version`, `Statement`, then any others).
    pub document: Value,
    /// The actions to remove that this document granted in one of its Allow statements.
    pub removed: ActionSet,
    /// `(statement label, pattern)` of each wildcard replaced by an explicit list.
    pub expanded_wildcards: Vec<(String, String)>,
    /// The statements whose action list this module wrote: what [`minimise`] may collapse
    /// within.
    pub rewritten: Vec<Rewritten>,
    /// Used actions the catalog does not know that a rewritten statement lists (`uncatalogued`
    /// of [`tighten`]), sorted.
    pub uncatalogued_kept: Vec<String>,
    /// Labels of `NotAction` statements that kept their form, the actions to remove added to
    /// their list: each granted part of a used service the catalog does not know.
    pub not_action_extended: Vec<String>,
}

/// A statement whose action list [`tighten`] wrote.
#[derive(Debug, Clone)]
pub struct Rewritten {
    /// Its position in the new `Statement` list.
    pub position: usize,
    /// What the original statement granted, by the catalog.
    pub original: Arc<ActionSet>,
    /// The original statement's `Action` or `NotAction` list, as written: what it granted
    /// beyond the catalog ([`crate::policy::patterns`]).
    pub clause: ActionClause,
}

/// A [`Tightened`]'s [`TightenedDetail`], apart from it ([`super::Apart`]): inline it took 104
/// of the 144 bytes of every policy plan, held after a plan without a folder had dropped it
/// (~1.85 million policy plans at the end of planning at 1,000,000 roles).
pub type TightenedParts = super::Apart<TightenedDetail>;

impl super::Empty for TightenedDetail {
    fn empty() -> &'static TightenedDetail {
        static NONE: std::sync::LazyLock<TightenedDetail> =
            std::sync::LazyLock::new(TightenedDetail::default);
        &NONE
    }
}

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?'])
}

fn names(catalog: &Catalog, set: &ActionSet) -> Vec<String> {
    set.iter().map(|id| catalog.full_name(id)).collect()
}

/// The statements of a raw document, as a list (a single object becomes a one-element list).
/// Borrowed: only the statements kept as they are are copied into the tightened document (every
/// statement was copied first, and each changed one again).
fn raw_statements(raw: &Value) -> (Vec<&Value>, bool) {
    match raw.get("Statement") {
        Some(Value::Array(list)) => (list.iter().collect(), false),
        Some(v @ Value::Object(_)) => (vec![v], true),
        _ => (Vec::new(), false),
    }
}

/// A copy of `obj` with key `old` replaced by `new` with `value`, at the same position (at the
/// end when `obj` has no `old`). The old value is not copied.
fn replace_key(obj: &Map<String, Value>, old: &str, new: &str, value: Value) -> Map<String, Value> {
    let mut out = Map::new();
    let mut value = Some(value);
    for (k, v) in obj {
        if k == old {
            if let Some(v) = value.take() {
                out.insert(new.to_string(), v);
            }
        } else {
            out.insert(k.clone(), v.clone());
        }
    }
    if let Some(v) = value {
        out.insert(new.to_string(), v);
    }
    out
}

/// An action list as AWS accepts it: a string when the original was a string and one pattern is
/// left, else a list.
fn action_value(list: Vec<String>, was_string: bool) -> Value {
    if was_string && list.len() == 1 {
        Value::String(list.into_iter().next().unwrap_or_default())
    } else {
        Value::Array(list.into_iter().map(Value::String).collect())
    }
}

/// Puts `Version` first and `Statement` second, then the document's other keys in their order.
pub fn aws_order(raw: &Value, statements: Value) -> Value {
    let mut out = Map::new();
    if let Some(v) = raw.get("Version") {
        out.insert("Version".into(), v.clone());
    }
    out.insert("Statement".into(), statements);
    if let Some(obj) = raw.as_object() {
        for (k, v) in obj {
            if k != "Version" && k != "Statement" {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

/// Tightens `doc` so that it grants nothing in `remove`.
///
/// `keep` is what a replaced wildcard or a rewritten `NotAction` lists explicitly (intersected with
/// what the pattern matched); callers pass the principal's effective grants minus `remove`, so
/// that actions the principal holds but does not need never get listed, and everything it needs
/// does. Nothing outside what a statement granted is ever added to it.
///
/// `uncatalogued`: actions the principal used that the catalog does not know (`service:Action`,
/// or `service:*` for a service it does not know; [`crate::analysis::Analysis::uncatalogued_of`]).
/// A replaced wildcard or a rewritten `NotAction` that granted one lists it as well: expanded
/// against the catalog alone, the rewrite would take away what AWS saw in use.
pub fn tighten(
    doc: &PolicyDocument,
    remove: &ActionSet,
    keep: &ActionSet,
    uncatalogued: &[&str],
    expander: &mut Expander<'_>,
) -> Tightened {
    let catalog = expander.catalog();
    let raw = doc.raw.value();
    let (raw_list, single) = raw_statements(&raw);
    let mut out: Vec<Value> = Vec::with_capacity(raw_list.len());
    let mut removed = catalog.empty_set();
    let mut t = Tightened::unchanged(catalog, Value::Null);

    for (stmt, raw) in doc.statements.iter().zip(raw_list) {
        let Some(obj) = raw.as_object() else {
            out.push(raw.clone());
            continue;
        };
        if stmt.effect == Effect::Deny {
            out.push(raw.clone());
            continue;
        }
        let (original, pattern_sets) = expander.clause_patterns(&stmt.actions);
        if !original.intersects(remove) {
            out.push(raw.clone());
            continue;
        }
        let mut hit = (*original).clone();
        hit.intersect_with(remove);
        removed.union_with(&hit);
        t.changed = true;
        let label = stmt.label();

        let new_obj = match &stmt.actions {
            ActionClause::Action(patterns) => {
                let mut kept_patterns = Vec::new();
                // The expansions of the kept patterns (what they still cover).
                let mut covered: Vec<&ActionSet> = Vec::new();
                let mut explicit = catalog.empty_set();
                let mut replaced = Vec::new();
                for (p, e) in patterns.iter().zip(pattern_sets.iter()) {
                    if !e.intersects(remove) {
                        kept_patterns.push(p.clone());
                        covered.push(e);
                    } else if has_wildcard(p) {
                        let mut x = (**e).clone();
                        x.intersect_with(keep);
                        x.difference_with(remove);
                        explicit.union_with(&x);
                        t.parts.expanded_wildcards.push((label.clone(), p.clone()));
                        replaced.push(p.as_str());
                    }
                    // An exact action to remove is dropped.
                }
                // What a kept pattern still grants is not listed again.
                if !explicit.is_empty() {
                    for e in covered {
                        explicit.difference_with(e);
                    }
                }
                // Used actions the catalog does not know, granted by a replaced wildcard and by
                // no kept pattern.
                let unknown = keep_uncatalogued(&mut t, uncatalogued, |a| {
                    replaced_grant_of(&kept_patterns, &replaced, a)
                });
                let mut list = kept_patterns;
                list.extend(names(catalog, &explicit));
                list.extend(unknown);
                if list.is_empty() {
                    continue;
                }
                let was_string = matches!(obj.get("Action"), Some(Value::String(_)));
                replace_key(obj, "Action", "Action", action_value(list, was_string))
            }
            ActionClause::NotAction(patterns) if grants_part_of(&stmt.actions, uncatalogued) => {
                let mut list = patterns.clone();
                list.extend(exclusions(expander, &hit, &original, uncatalogued));
                t.parts.not_action_extended.push(label);
                replace_key(obj, "NotAction", "NotAction", action_value(list, false))
            }
            ActionClause::NotAction(_) => {
                let mut x = (*original).clone();
                x.intersect_with(keep);
                x.difference_with(remove);
                // Used actions the catalog does not know that the statement granted.
                let unknown = keep_uncatalogued(&mut t, uncatalogued, |a| {
                    let granted = within(a, &stmt.actions);
                    granted.then(|| a.to_string()).into_iter().collect()
                });
                let mut list = names(catalog, &x);
                list.extend(unknown);
                if list.is_empty() {
                    continue;
                }
                t.not_action_rewritten.push(label);
                replace_key(obj, "NotAction", "Action", action_value(list, false))
            }
        };
        t.parts.rewritten.push(Rewritten {
            position: out.len(),
            original,
            clause: stmt.actions.clone(),
        });
        out.push(Value::Object(new_obj));
    }

    t.empty = out.is_empty();
    let statements = if single && out.len() == 1 {
        out.into_iter().next().unwrap_or(Value::Null)
    } else {
        Value::Array(out)
    };
    t.parts.document = aws_order(&raw, statements);
    t.parts.uncatalogued_kept.sort();
    t.parts.uncatalogued_kept.dedup();
    t.parts.removed = removed;
    t
}

/// What a rewritten statement lists of the used actions the catalog does not know (`listed`:
/// for each, the patterns that grant what the statement granted of it), recorded in `t`
/// ([`TightenedDetail::uncatalogued_kept`]).
fn keep_uncatalogued(
    t: &mut Tightened,
    uncatalogued: &[&str],
    listed: impl Fn(&str) -> Vec<String>,
) -> Vec<String> {
    let kept: Vec<String> = uncatalogued.iter().flat_map(|a| listed(a)).collect();
    t.parts.uncatalogued_kept.extend(kept.iter().cloned());
    kept
}

/// What an `Action` list lists of `used`, a used action the catalog does not know (or
/// `service:*` for a service it does not know), where `replaced` (its wildcards replaced by a
/// list) granted it and `kept` (its patterns kept as written) does not: `used` as the report
/// spells it, or the part of its service a replaced wildcard granted ([`part_of_service`]).
fn replaced_grant_of(kept: &[String], replaced: &[&str], used: &str) -> Vec<String> {
    if kept.iter().any(|p| contains(p, used)) {
        Vec::new()
    } else if replaced.iter().any(|p| contains(p, used)) {
        vec![used.to_string()]
    } else {
        part_of_service(replaced, used)
    }
}

/// What `replaced` (wildcards replaced by a list) granted of a used service the catalog does
/// not know (`used`: `service:*`) where none granted all of it: `*:Get*` of `newsvc:*` is
/// `newsvc:Get*`. Nothing for a used action (`service:Action`), which a pattern matches whole or
/// not at all.
fn part_of_service(replaced: &[&str], used: &str) -> Vec<String> {
    let Some(service) = used.strip_suffix(":*") else {
        return Vec::new();
    };
    replaced
        .iter()
        .filter_map(|p| {
            let (vendor, rest) = p.split_once(':')?;
            matches(vendor, service).then(|| format!("{service}:{rest}"))
        })
        .collect()
}

/// What a kept `NotAction` list adds to exclude `hit` (what it granted of the actions to remove;
/// `original`: all it granted): `service:*`, else `service:Verb*`, where every action of the
/// catalog the pattern matches that the statement granted is to be removed and no used action
/// the catalog does not know (`uncatalogued`) matches it; else the actions one by one. Excluding
/// what the statement did not grant changes nothing; it keeps the list within IAM's sizes (one
/// name per action of every unused service was five times the limit, review pass 47).
fn exclusions(
    expander: &mut Expander<'_>,
    hit: &ActionSet,
    original: &ActionSet,
    uncatalogued: &[&str],
) -> Vec<String> {
    let catalog = expander.catalog();
    let foldable = |expander: &mut Expander<'_>, pattern: &str| {
        let mut granted = (*expander.expand_pattern(pattern)).clone();
        granted.intersect_with(original);
        granted.is_subset(hit) && !uncatalogued.iter().any(|a| overlaps(pattern, a))
    };
    let mut by_service: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for a in hit.iter() {
        let name = catalog.full_name(a);
        let service = catalog
            .service_name(catalog.service_index(a))
            .unwrap_or_default();
        by_service.entry(service).or_default().push(name);
    }
    let mut out = Vec::new();
    for (service, names) in by_service {
        let all = format!("{service}:*");
        if foldable(expander, &all) {
            out.push(all);
            continue;
        }
        out.extend(by_verb(service, names, |p| foldable(expander, p)));
    }
    out
}

/// `names` (exact actions of `service`), with each group of two or more of one verb written
/// `service:Verb*` where `fits` allows that pattern (`ec2:Describe*`).
fn by_verb(service: &str, names: Vec<String>, mut fits: impl FnMut(&str) -> bool) -> Vec<String> {
    let mut verbs: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for n in names {
        let bare = n.split_once(':').map_or("", |(_, b)| b);
        verbs
            .entry(crate::catalog::verb(bare).to_string())
            .or_default()
            .push(n);
    }
    let mut out = Vec::new();
    for (verb, group) in verbs {
        let pattern = format!("{service}:{verb}*");
        if group.len() > 1 && fits(&pattern) {
            out.push(pattern);
        } else {
            out.extend(group);
        }
    }
    out
}

/// True when a `NotAction` list (`excluded`) leaves part, not all, of a used service the catalog
/// does not know (`uncatalogued`: `service:*`) granted: `NotAction: newsvc:Delete*`. No
/// `Action` list grants that part alone (`newsvc:*` would grant `newsvc:DeleteThing`, which the
/// statement did not; review pass 47).
fn grants_part_of(clause: &ActionClause, uncatalogued: &[&str]) -> bool {
    let ActionClause::NotAction(excluded) = clause else {
        return false;
    };
    uncatalogued.iter().any(|a| {
        a.ends_with(":*") && !within(a, clause) && !excluded.iter().any(|e| contains(e, a))
    })
}

/// The IAM size of a document: characters of its compact JSON, whitespace not counted (IAM does
/// not count whitespace towards its limits).
pub fn iam_size(doc: &Value) -> usize {
    text_size(&serde_json::to_string(doc).unwrap_or_default())
}

/// [`iam_size`] of a document as the export has it (its compact text is what `iam_size`
/// measures: no parse).
pub fn iam_size_of(raw: &crate::model::document::RawDocument) -> usize {
    text_size(&raw.compact_text())
}

fn text_size(compact: &str) -> usize {
    compact.chars().filter(|c| !c.is_whitespace()).count()
}

/// Collapses the explicit action lists this module wrote back into wildcards (`service:*`, else
/// `service:Verb*`) wherever the wildcard, expanded with the catalog, matches only actions the
/// original statement granted and nothing in `remove`. Returns true when something collapsed.
pub fn minimise(t: &mut Tightened, remove: &ActionSet, expander: &mut Expander<'_>) -> bool {
    let catalog = expander.catalog();
    if t.parts.rewritten.is_empty() {
        return false;
    }
    // Read while the document changes, and put back.
    let rewritten = std::mem::take(&mut t.parts.rewritten);
    let mut any = false;
    for Rewritten {
        position: pos,
        original,
        clause,
    } in &rewritten
    {
        let pos = *pos;
        let statement = match &mut t.parts.document["Statement"] {
            Value::Array(list) => list.get_mut(pos),
            v @ Value::Object(_) if pos == 0 => Some(v),
            _ => None,
        };
        let Some(Value::Object(obj)) = statement else {
            continue;
        };
        let Some(list) = obj.get("Action").map(|v| match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }) else {
            continue;
        };
        let mut patterns: Option<Clause> = None;
        let mut safe = |expander: &mut Expander<'_>, pattern: &str| -> bool {
            let e = expander.expand_pattern(pattern);
            // By the catalog, and beyond it: `ec2:*` for a `NotAction` of `ec2:ZapShiny*` grants
            // an `ec2:ZapShinyThing` newer than the catalog, which the original did not.
            !e.is_empty()
                && e.is_subset(original)
                && !e.intersects(remove)
                && patterns
                    .get_or_insert_with(|| Clause::of(clause))
                    .grants_all_of(pattern)
        };
        // Exact catalog names are candidates; patterns stay as they are.
        let mut result: Vec<String> = Vec::new();
        let mut by_service: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for p in list {
            match (has_wildcard(&p), catalog.lookup_full(&p), p.split_once(':')) {
                (false, Some(_), Some((svc, _))) => by_service
                    .entry(svc.to_string())
                    .or_default()
                    .push(p.clone()),
                _ => result.push(p),
            }
        }
        let before: usize = result.len() + by_service.values().map(Vec::len).sum::<usize>();
        for (svc, actions) in by_service {
            let all = format!("{svc}:*");
            if actions.len() > 1 && safe(expander, &all) {
                result.push(all);
                continue;
            }
            result.extend(by_verb(&svc, actions, |p| safe(expander, p)));
        }
        if result.len() < before {
            any = true;
            obj.insert(
                "Action".into(),
                Value::Array(result.into_iter().map(Value::String).collect()),
            );
        }
    }
    t.parts.rewritten = rewritten;
    t.minimised |= any;
    any
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(c: &Catalog, names: &[&str]) -> ActionSet {
        ActionSet::from_ids(c.len(), names.iter().map(|n| c.lookup_full(n).unwrap()))
    }

    fn keep_all_but(c: &Catalog, remove: &ActionSet) -> ActionSet {
        let mut k = c.full_set();
        k.difference_with(remove);
        k
    }

    #[test]
    fn wildcard_kept_or_expanded_and_exact_dropped() {
        let c = crate::catalog::small_test_catalog().clone();
        let mut e = Expander::new(&c);
        let doc = PolicyDocument::from_value(json!({
            "Statement": [{"Sid": "A", "Effect": "Allow",
                "Action": ["s3:Get*", "ec2:*", "iam:PassRole"], "Resource": "*"}],
            "Version": "2012-10-17"
        }))
        .unwrap();
        let remove = set(&c, &["ec2:RunInstances", "iam:PassRole"]);
        let t = tighten(&doc, &remove, &keep_all_but(&c, &remove), &[], &mut e);
        assert!(t.changed && !t.empty);
        assert_eq!(
            t.parts.document,
            json!({"Version": "2012-10-17", "Statement": [{"Sid": "A", "Effect": "Allow",
                "Action": ["s3:Get*", "ec2:DescribeImages", "ec2:DescribeInstances",
                    "ec2:TerminateInstances"], "Resource": "*"}]})
        );
        assert_eq!(
            t.parts.expanded_wildcards,
            [("A".to_string(), "ec2:*".to_string())]
        );
        assert_eq!(t.parts.removed.len(), 2);
        // Keys come out Version first.
        let keys: Vec<&String> = t.parts.document.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["Version", "Statement"]);
    }

    /// A used action the catalog does not know stays granted where a replaced wildcard or a
    /// rewritten NotAction granted it, and is never added where nothing granted it.
    #[test]
    fn used_actions_the_catalog_does_not_know_stay_granted() {
        let c = crate::catalog::small_test_catalog().clone();
        let mut e = Expander::new(&c);
        let doc = PolicyDocument::from_value(json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "W", "Effect": "Allow", "Action": ["ec2:*", "s3:Get*"], "Resource": "*"},
            {"Sid": "N", "Effect": "Allow", "NotAction": "s3:*", "Resource": "*"},
            {"Sid": "K", "Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}
        ]}))
        .unwrap();
        let remove = set(&c, &["ec2:RunInstances"]);
        let unknown = [
            "EC2:ZapShinyThing",
            "ec2:DescribeNewThing",
            "s3:GetNew",
            "newsvc:*",
        ];
        let t = tighten(&doc, &remove, &keep_all_but(&c, &remove), &unknown, &mut e);
        let actions = |i: usize| -> Vec<String> {
            let a = &t.parts.document["Statement"][i]["Action"];
            match a {
                Value::Array(v) => v.iter().map(|x| x.as_str().unwrap().to_string()).collect(),
                Value::String(s) => vec![s.clone()],
                _ => Vec::new(),
            }
        };
        let w = actions(0);
        // ec2:* is replaced: the unknown used actions it granted are listed (as the report
        // named them), ec2:DescribeNewThing too: K's ec2:Describe* is another statement's.
        assert!(w.contains(&"EC2:ZapShinyThing".to_string()), "{w:?}");
        assert!(w.contains(&"ec2:DescribeNewThing".to_string()), "{w:?}");
        // s3:Get* is kept as written, so s3:GetNew is not listed again; newsvc:* was never
        // granted by W.
        assert!(w.contains(&"s3:Get*".to_string()), "{w:?}");
        assert!(
            !w.iter().any(|a| a == "s3:GetNew" || a == "newsvc:*"),
            "{w:?}"
        );
        // NotAction s3:* granted everything but s3: its rewrite keeps every unknown but s3's.
        let n = actions(1);
        for a in ["EC2:ZapShinyThing", "ec2:DescribeNewThing", "newsvc:*"] {
            assert!(n.contains(&a.to_string()), "{a} in {n:?}");
        }
        assert!(!n.contains(&"s3:GetNew".to_string()), "{n:?}");
        // K removes nothing: as written.
        assert_eq!(actions(2), ["ec2:Describe*"]);
        assert_eq!(
            t.parts.uncatalogued_kept,
            ["EC2:ZapShinyThing", "ec2:DescribeNewThing", "newsvc:*"]
        );
        // Without them, nothing of the sort is added.
        let t = tighten(&doc, &remove, &keep_all_but(&c, &remove), &[], &mut e);
        let text = t.parts.document.to_string();
        assert!(
            !text.contains("ZapShinyThing") && !text.contains("newsvc"),
            "{text}"
        );
        assert!(t.parts.uncatalogued_kept.is_empty());
    }

    #[test]
    fn minimise_collapses_to_safe_verbs_only() {
        let c = crate::catalog::small_test_catalog().clone();
        let mut e = Expander::new(&c);
        let doc = PolicyDocument::from_value(json!({
            "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}
        }))
        .unwrap();
        let remove = set(&c, &["ec2:RunInstances", "s3:PutObject"]);
        let mut t = tighten(&doc, &remove, &keep_all_but(&c, &remove), &[], &mut e);
        assert!(minimise(&mut t, &remove, &mut e));
        assert_eq!(
            t.parts.document["Statement"]["Action"],
            json!([
                "ec2:Describe*",
                "ec2:TerminateInstances",
                "iam:*",
                "s3:Delete*",
                "s3:Get*",
                "s3express:CreateSession",
                "sqs:*"
            ])
        );
    }

    /// The actions statement `i` of `t`'s document lists under `key`.
    fn listed(t: &Tightened, i: usize, key: &str) -> Vec<String> {
        let statements = &t.parts.document["Statement"];
        let s = statements.get(i).unwrap_or(statements);
        match &s[key] {
            Value::Array(v) => v.iter().map(|x| x.as_str().unwrap().to_string()).collect(),
            Value::String(s) => vec![s.clone()],
            _ => Vec::new(),
        }
    }

    /// A `NotAction` that excludes part of a used service the catalog does not know cannot be
    /// written as an `Action` list: `newsvc:*` would grant the `newsvc:Delete*` it excluded
    /// (review pass 47). It keeps its form and excludes what is removed too.
    #[test]
    fn a_not_action_leaving_part_of_an_unknown_service_excludes_what_is_removed() {
        let c = crate::catalog::small_test_catalog().clone();
        let mut e = Expander::new(&c);
        let doc = PolicyDocument::from_value(json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "N", "Effect": "Allow", "NotAction": ["iam:*", "newsvc:Delete*"],
                "Resource": "*"}
        ]}))
        .unwrap();
        let remove = set(&c, &["ec2:RunInstances", "s3:PutObject"]);
        let keep = keep_all_but(&c, &remove);
        let t = tighten(&doc, &remove, &keep, &["newsvc:*"], &mut e);
        assert_eq!(
            listed(&t, 0, "NotAction"),
            [
                "iam:*",
                "newsvc:Delete*",
                "ec2:RunInstances",
                "s3:PutObject"
            ]
        );
        assert!(listed(&t, 0, "Action").is_empty());
        assert_eq!(t.parts.not_action_extended, ["N"]);
        assert!(t.not_action_rewritten.is_empty() && t.parts.uncatalogued_kept.is_empty());
        assert_eq!(t.parts.removed, remove);
        assert!(t.not_action_flags("p")[0].contains("keep their NotAction form"));
        // A service (or a verb of it) all of whose granted actions go is excluded whole, unless
        // a used action the catalog does not know is of it.
        let remove = set(
            &c,
            &[
                "sqs:SendMessage",
                "sqs:ReceiveMessage",
                "s3:DeleteObject",
                "s3:DeleteBucket",
                "s3:PutObject",
            ],
        );
        let keep = keep_all_but(&c, &remove);
        let t = tighten(&doc, &remove, &keep, &["newsvc:*"], &mut e);
        assert_eq!(
            listed(&t, 0, "NotAction"),
            [
                "iam:*",
                "newsvc:Delete*",
                "s3:Delete*",
                "s3:PutObject",
                "sqs:*"
            ]
        );
        let t = tighten(&doc, &remove, &keep, &["newsvc:*", "SQS:NewThing"], &mut e);
        assert_eq!(
            listed(&t, 0, "NotAction"),
            [
                "iam:*",
                "newsvc:Delete*",
                "s3:Delete*",
                "s3:PutObject",
                "sqs:ReceiveMessage",
                "sqs:SendMessage"
            ]
        );
        // A used service it excludes none of, or all of: an Action list, as before.
        for (used, listed_too) in [("other:*", true), ("iam:*", false)] {
            let t = tighten(&doc, &remove, &keep, &[used], &mut e);
            let list = listed(&t, 0, "Action");
            assert_eq!(list.contains(&used.to_string()), listed_too, "{list:?}");
            assert!(!list.iter().any(|a| a.starts_with("newsvc")), "{list:?}");
            assert_eq!(t.not_action_rewritten, ["N"]);
        }
    }

    /// `minimise` collapses within what the original granted beyond the catalog too: a
    /// `NotAction` of `ec2:ZapShiny*` (no catalog action) must not come back as `ec2:*`, nor an
    /// `Action` list of `s3:Get*` and `s3:Put*` as `s3:*` (review pass 47).
    #[test]
    fn minimise_grants_nothing_beyond_the_catalog_the_original_did_not() {
        let c = crate::catalog::small_test_catalog().clone();
        let mut e = Expander::new(&c);
        let collapsed = |statement: Value, remove: &[&str], e: &mut Expander<'_>| {
            let doc = PolicyDocument::from_value(json!({"Statement": [statement]})).unwrap();
            let remove = set(&c, remove);
            let mut t = tighten(&doc, &remove, &keep_all_but(&c, &remove), &[], e);
            minimise(&mut t, &remove, e);
            listed(&t, 0, "Action")
        };
        let not = json!({"Effect": "Allow", "NotAction": ["iam:*", "ec2:ZapShiny*"],
            "Resource": "*"});
        let list = collapsed(not, &["s3:PutObject"], &mut e);
        assert!(!list.contains(&"ec2:*".to_string()), "{list:?}");
        assert!(list.contains(&"ec2:Describe*".to_string()), "{list:?}");
        assert!(list.contains(&"sqs:*".to_string()), "{list:?}");
        // Every s3 action of the catalog, one by one: not `s3:*`, which grants s3's newer ones.
        let mut names: Vec<String> = c.service_actions("s3").map(|a| c.full_name(a)).collect();
        names.push("iam:PassRole".into());
        let action = json!({"Effect": "Allow", "Action": names, "Resource": "*"});
        let list = collapsed(action, &["iam:PassRole"], &mut e);
        assert!(!list.contains(&"s3:*".to_string()), "{list:?}");
        assert!(list.contains(&"s3:PutObject".to_string()), "{list:?}");
    }

    /// A replaced wildcard that granted part of a used service the catalog does not know lists
    /// that part, not the whole service and not nothing.
    #[test]
    fn a_replaced_wildcard_keeps_its_part_of_an_unknown_service() {
        let c = crate::catalog::small_test_catalog().clone();
        let mut e = Expander::new(&c);
        let doc = PolicyDocument::from_value(json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["*:Get*", "ec2:*"], "Resource": "*"}
        ]}))
        .unwrap();
        let remove = set(&c, &["s3:GetObject", "ec2:RunInstances"]);
        let keep = keep_all_but(&c, &remove);
        let t = tighten(&doc, &remove, &keep, &["newsvc:*"], &mut e);
        let list = listed(&t, 0, "Action");
        assert!(list.contains(&"newsvc:Get*".to_string()), "{list:?}");
        assert!(!list.contains(&"newsvc:*".to_string()), "{list:?}");
    }

    #[test]
    fn verbs() {
        assert_eq!(crate::catalog::verb("DescribeInstances"), "Describe");
        assert_eq!(crate::catalog::verb("Get"), "Get");
    }
}
