//! `diff` compares groups of actions. These tests expand its rows action by action and compare
//! them with a per-action comparison written the plain way (users and groups paired by id,
//! then principals by ARN; findings by principal × action), on generated sides (proptest:
//! roles, users and groups, some renamed), on the sample's 2026-q3 → 2026-q4, and on a
//! synthetic organisation against its next quarter
//! (`synth-export --evolve`). They also hold the properties of the comparison (`diff(a, a)` has
//! no change, revoked one way is newly granted the other, renamed principals are paired, ...).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use iam_tighten::analysis::identities::{
    IdentityFinding, IdentityKind, IdentityPrincipalType, NotPossible, identity_findings,
};
use iam_tighten::analysis::{self, GrantedAction, Reason, Sensitivity, Status};
use iam_tighten::catalog::Catalog;
use iam_tighten::diff::{
    ActionChange, Change, ChangeKind, Gaps, GroupState, KindCounts, NameOrder, Side, SidePrincipal,
    State, compare, per_action,
};
use iam_tighten::input;
use proptest::prelude::*;

// ---- the per-action reference -------------------------------------------------------------

/// A side's grants, one per principal ARN × action.
fn per_action_table(side: &Side, cat: &Catalog) -> BTreeMap<(String, String), State> {
    let mut t = BTreeMap::new();
    for g in side.groups() {
        let Some(p) = side.principals.get(g.principal as usize) else {
            continue;
        };
        for a in side.actions(g) {
            t.insert(
                (p.arn.clone(), cat.full_name(a.id())),
                State {
                    status: g.verdict.status,
                    reason: g.verdict.reason,
                    sensitivity: a.sensitivity(),
                    last_accessed: g.verdict.last_accessed,
                    granted_by: side.granted_by(&g.verdict).to_string(),
                    excluded: g.verdict.excluded,
                },
            );
        }
    }
    t
}

fn row(kind: ChangeKind, p: &SidePrincipal) -> ActionChange {
    ActionChange {
        kind,
        account_id: p.account_id.clone(),
        principal_type: p.principal_type.clone(),
        principal_name: p.name.clone(),
        principal_arn: p.arn.clone(),
        action: String::new(),
        service: String::new(),
        old: None,
        new: None,
        old_sensitivity: None,
        new_sensitivity: None,
        actionable: p.actionable,
        detail: String::new(),
        identity: None,
    }
}

/// `N granted: …` and the highest sensitivity of an ARN's grants.
fn tally(t: &BTreeMap<(String, String), State>, arn: &str) -> (String, Option<Sensitivity>) {
    let mut n = [0u64; 4];
    let mut highest = None;
    for ((a, _), s) in t.range((arn.to_string(), String::new())..) {
        if a != arn {
            break;
        }
        n[0] += 1;
        match s.status {
            Status::Used => n[1] += 1,
            Status::Unused => n[2] += 1,
            Status::Unknown => n[3] += 1,
        }
        highest = highest.max(Some(s.sensitivity));
    }
    (
        format!(
            "{} granted: {} used, {} unused, {} unknown",
            n[0], n[1], n[2], n[3]
        ),
        highest,
    )
}

/// The per-action comparison, written plainly (the identity rows are taken from `diff`'s own
/// comparison: they were never grouped).
fn reference(old: &Side, new: &Side, cat: &Catalog) -> Vec<ActionChange> {
    let mut out = Vec::new();
    let oa: BTreeSet<&String> = old.accounts.iter().collect();
    let na: BTreeSet<&String> = new.accounts.iter().collect();
    let count = |s: &Side, a: &str| s.principals.iter().filter(|p| p.account_id == a).count();
    let plural = |n: usize| format!("{n} principal{}", if n == 1 { "" } else { "s" });
    for (kind, mine, other, side) in [
        (ChangeKind::AccountAdded, &na, &oa, new),
        (ChangeKind::AccountRemoved, &oa, &na, old),
    ] {
        for a in mine.difference(other) {
            let mut r = row(
                kind,
                &SidePrincipal {
                    account_id: (*a).clone(),
                    principal_type: String::new(),
                    name: String::new(),
                    arn: String::new(),
                    id: String::new(),
                    created: None,
                    actionable: true,
                    gaps: Gaps::default(),
                },
            );
            r.detail = plural(count(side, a));
            out.push(r);
        }
    }
    let op: BTreeMap<&str, &SidePrincipal> =
        old.principals.iter().map(|p| (p.arn.as_str(), p)).collect();
    let np: BTreeMap<&str, &SidePrincipal> =
        new.principals.iter().map(|p| (p.arn.as_str(), p)).collect();
    let pairs = pairs(&op, &np);
    let ot = per_action_table(old, cat);
    let nt = per_action_table(new, cat);
    for (arn, p) in &np {
        match pairs.get(arn) {
            Some(o) if o.arn != *arn => {
                let mut r = row(ChangeKind::PrincipalRenamed, p);
                r.detail = format!("renamed from {} ({}); id {}", o.name, o.arn, p.id);
                r.old_sensitivity = tally(&ot, &o.arn).1;
                r.new_sensitivity = tally(&nt, arn).1;
                out.push(r);
            }
            None => {
                let (detail, highest) = tally(&nt, arn);
                let mut r = row(ChangeKind::PrincipalAdded, p);
                (r.detail, r.new_sensitivity) = (detail, highest);
                out.push(r);
            }
            Some(o) if o.id != p.id && !o.id.is_empty() && !p.id.is_empty() => {
                let day = |t: Option<iam_tighten::model::Timestamp>| {
                    t.map_or("unknown".to_string(), |t| t.date_naive().to_string())
                };
                let mut r = row(ChangeKind::PrincipalRecreated, p);
                r.detail = format!(
                    "id {} → {}; created {} → {}",
                    o.id,
                    p.id,
                    day(o.created),
                    day(p.created)
                );
                r.old_sensitivity = tally(&ot, arn).1;
                r.new_sensitivity = tally(&nt, arn).1;
                out.push(r);
            }
            Some(_) => {}
        }
    }
    // Old ARN → the new ARN it is paired with.
    let now: BTreeMap<&str, &str> = pairs.iter().map(|(n, o)| (o.arn.as_str(), *n)).collect();
    for (arn, p) in &op {
        if !now.contains_key(arn) {
            let (detail, highest) = tally(&ot, arn);
            let mut r = row(ChangeKind::PrincipalRemoved, p);
            (r.detail, r.old_sensitivity) = (detail, highest);
            out.push(r);
        }
    }
    // The old side's grants of a paired principal, under its new ARN (an unpaired one's are
    // not compared).
    let ot: BTreeMap<(String, String), State> = ot
        .into_iter()
        .filter_map(|((arn, action), s)| Some(((now.get(arn.as_str())?.to_string(), action), s)))
        .collect();
    let keys: BTreeSet<&(String, String)> = ot.keys().chain(nt.keys()).collect();
    for key in keys {
        let arn = key.0.as_str();
        let (Some(before), Some(p)) = (pairs.get(arn), np.get(arn)) else {
            continue;
        };
        let (o, n) = (ot.get(key), nt.get(key));
        let (og, ng) = (before.gaps, p.gaps);
        // Granted on one side only: unknown when the other side lacks a policy (it may grant
        // the action), or this side may lack the boundary that takes it away; a revocation also
        // when the old side lacks a policy (it may deny the action). A new grant stays one
        // (new risk) whatever the new side lacks but its boundary.
        let kind = match (o, n) {
            (Some(o), Some(n)) => ChangeKind::of_verdicts(o.status, o.reason, n.status),
            (Some(_), None) if ng.lacks_grants || og.lacks_grants || og.lacks_boundary => {
                ChangeKind::GrantUnknown
            }
            (Some(_), None) => ChangeKind::Revoked,
            _ if og.lacks_grants || ng.lacks_boundary => ChangeKind::GrantUnknown,
            _ => ChangeKind::NewlyGranted,
        };
        let mut r = row(kind, p);
        r.action = key.1.clone();
        r.service = key.1.split(':').next().unwrap_or_default().to_string();
        r.old_sensitivity = o.map(|s| s.sensitivity);
        r.new_sensitivity = n.map(|s| s.sensitivity);
        (r.old, r.new) = (o.cloned(), n.cloned());
        out.push(r);
    }
    for c in compare(old, new, cat)
        .iter()
        .filter(|c| c.kind.is_identity())
    {
        per_action(std::slice::from_ref(c), cat, &NameOrder::new(cat), |a| {
            out.push(a)
        });
    }
    out.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    out
}

/// Principals paired plainly: new ARN → old principal. Users and groups by account, type and
/// id first, whatever their ARNs (the first old ARN of each key, to the first new ARN: a rename
/// keeps the id, and an old name given to a new user is not that user); then by ARN, an old
/// principal not paired by id. Roles cannot be renamed.
fn pairs<'a>(
    op: &BTreeMap<&'a str, &'a SidePrincipal>,
    np: &BTreeMap<&'a str, &'a SidePrincipal>,
) -> BTreeMap<&'a str, &'a SidePrincipal> {
    let key = |p: &SidePrincipal| {
        let renamable = p.principal_type == "user" || p.principal_type == "group";
        (renamable && !p.id.is_empty())
            .then(|| (p.account_id.clone(), p.principal_type.clone(), p.id.clone()))
    };
    let mut ids = BTreeMap::new();
    for o in op.values() {
        if let Some(k) = key(o) {
            ids.entry(k).or_insert(*o);
        }
    }
    let mut out = BTreeMap::new();
    for (arn, p) in np {
        if let Some(o) = key(p).and_then(|k| ids.remove(&k)) {
            out.insert(*arn, o);
        }
    }
    let by_id: BTreeSet<&str> = out.values().map(|o| o.arn.as_str()).collect();
    for arn in np.keys() {
        if out.contains_key(arn) {
            continue;
        }
        if let Some(o) = op.get(arn).filter(|o| !by_id.contains(o.arn.as_str())) {
            out.insert(*arn, *o);
        }
    }
    out
}

/// `diff`'s grouped comparison, expanded action by action.
fn expanded(changes: &[Change], cat: &Catalog) -> Vec<ActionChange> {
    let mut out = Vec::new();
    per_action(changes, cat, &NameOrder::new(cat), |a| out.push(a));
    out
}

/// The grouped comparison of `old` and `new`, expanded, is the per-action reference, row for
/// row and in the same order.
fn assert_same_as_per_action(old: &Side, new: &Side, cat: &Catalog) {
    let grouped = compare(old, new, cat);
    let mut got = expanded(&grouped, cat);
    // The reference does not word why a grant is unknown, or what a new grant's side lacks:
    // the diff says it, on every such row.
    for a in got.iter_mut() {
        match a.kind {
            ChangeKind::GrantUnknown => {
                assert!(a.detail.starts_with("Not comparable: "), "{a:?}");
                a.detail.clear();
            }
            ChangeKind::NewlyGranted if !a.detail.is_empty() => {
                assert!(a.detail.starts_with("The new side's export lacks"), "{a:?}");
                a.detail.clear();
            }
            _ => {}
        }
    }
    let want = reference(old, new, cat);
    if let Some(i) = (0..got.len().max(want.len())).find(|i| got.get(*i) != want.get(*i)) {
        panic!(
            "row {i} of {} (reference has {}) differs:\n  grouped:   {:?}\n  reference: {:?}",
            got.len(),
            want.len(),
            got.get(i),
            want.get(i)
        );
    }
    // Counts per kind are per action too.
    let mut counts = KindCounts::default();
    for a in &want {
        counts.add(a.kind);
    }
    assert_eq!(KindCounts::of(&grouped), counts);
}

// ---- generated sides ------------------------------------------------------------------------

const ACCOUNTS: [&str; 3] = ["111111111111", "222222222222", "333333333333"];
/// Principal types and their id prefixes.
const KINDS: [(&str, &str); 3] = [("role", "AROA"), ("user", "AIDA"), ("group", "AGPA")];
const NAMES: [&str; 4] = ["a", "b", "=1+1", "</script>"];
/// Several actions per service, so that groups have several actions.
const ACTIONS: [&str; 11] = [
    "ec2:CreateTags",
    "ec2:DescribeInstances",
    "ec2:RunInstances",
    "iam:CreateUser",
    "iam:GetRole",
    "iam:PassRole",
    "s3:DeleteBucket",
    "s3:GetObject",
    "s3:ListBucket",
    "s3:PutObject",
    "sts:AssumeRole",
];

fn status_strategy() -> impl Strategy<Value = Status> {
    prop_oneof![
        Just(Status::Used),
        Just(Status::Unused),
        Just(Status::Unknown)
    ]
}

fn sensitivity_strategy() -> impl Strategy<Value = Sensitivity> {
    prop_oneof![
        Just(Sensitivity::Low),
        Just(Sensitivity::Medium),
        Just(Sensitivity::High),
        Just(Sensitivity::Critical)
    ]
}

fn reason_for(s: Status) -> Reason {
    match s {
        Status::Used => Reason::AccessedInWindow,
        Status::Unused => Reason::ActionNotAccessed,
        Status::Unknown => Reason::NotObservable,
    }
}

const IDENTITY_KINDS: [IdentityKind; 4] = [
    IdentityKind::AccessKeyUnused,
    IdentityKind::AccessKeyOld,
    IdentityKind::PasswordWithoutMfa,
    IdentityKind::UnusedUser,
];

/// Identity findings on users of the side's accounts (keyed like the diff keys them) and a few
/// checks that could not run.
fn identity_strategy() -> impl Strategy<Value = (Vec<IdentityFinding>, Vec<NotPossible>)> {
    let finding = (
        0..ACCOUNTS.len(),
        0..NAMES.len(),
        0..IDENTITY_KINDS.len(),
        0usize..3,
        sensitivity_strategy(),
        any::<bool>(),
    );
    // A gap for the whole account, or for one user of it.
    let gap = (
        0..ACCOUNTS.len(),
        0..IDENTITY_KINDS.len(),
        proptest::option::of(0..NAMES.len()),
    );
    (
        proptest::collection::vec(finding, 0..12),
        proptest::collection::btree_set(gap, 0..3),
    )
        .prop_map(|(fs, gaps)| {
            let mut findings: BTreeMap<(usize, usize, usize, usize), IdentityFinding> =
                BTreeMap::new();
            for (a, n, k, c, sensitivity, actionable) in fs {
                findings.entry((a, n, k, c)).or_insert(IdentityFinding {
                    rank: 0,
                    account_id: ACCOUNTS[a].into(),
                    kind: IDENTITY_KINDS[k],
                    principal_type: IdentityPrincipalType::User,
                    principal_name: NAMES[n].into(),
                    principal_arn: format!("arn:aws:iam::{}:user/{}", ACCOUNTS[a], NAMES[n]),
                    credential: ["", "password", "access_key_1"]
                        .get(c)
                        .filter(|c| !c.is_empty())
                        .map(|c| c.to_string()),
                    sensitivity,
                    actionable,
                    last_used: None,
                    age_days: None,
                    days_unused: None,
                    detail: "x".into(),
                });
            }
            let gaps = gaps
                .into_iter()
                .map(|(a, k, only)| NotPossible {
                    account_id: ACCOUNTS[a].into(),
                    check: IDENTITY_KINDS[k],
                    reason: "no credential report".into(),
                    only: only.map(|n| {
                        [format!("arn:aws:iam::{}:user/{}", ACCOUNTS[a], NAMES[n])].into()
                    }),
                })
                .collect();
            (findings.into_values().collect(), gaps)
        })
}

/// A per-action grant of a generated side.
#[derive(Debug, Clone)]
struct Grant {
    principal: usize,
    action: usize,
    status: Status,
    sensitivity: Sensitivity,
    excluded: bool,
    /// Which of two granting policies.
    policy: bool,
    /// Start a new group here even when the verdict is the same.
    split: bool,
}

/// Generated side: principals, their per-action grants, identity findings.
#[derive(Debug, Clone)]
struct Gen {
    accounts: BTreeSet<String>,
    principals: Vec<SidePrincipal>,
    grants: Vec<Grant>,
    identities: Vec<IdentityFinding>,
    gaps: Vec<NotPossible>,
}

impl Gen {
    /// The side, its grants grouped: consecutive actions (by id) of one service and one verdict
    /// share a group unless `split`. `reversed` adds the principals in reverse order.
    fn side(&self, reversed: bool) -> Side {
        let cat = Catalog::embedded();
        let mut side = Side::new(self.accounts.iter().cloned().collect());
        let mut order: Vec<usize> = (0..self.principals.len()).collect();
        if reversed {
            order.reverse();
        }
        let mut index = BTreeMap::new();
        for i in order {
            index.insert(i, side.add_principal(self.principals[i].clone()));
        }
        let mut by_principal: BTreeMap<usize, Vec<&Grant>> = BTreeMap::new();
        for g in &self.grants {
            by_principal.entry(g.principal).or_default().push(g);
        }
        for (p, mut grants) in by_principal {
            let id = |g: &Grant| cat.lookup_full(ACTIONS[g.action]).expect("catalog action");
            grants.sort_by_key(|g| id(g));
            let mut current: Vec<&Grant> = Vec::new();
            let mut flush = |group: &mut Vec<&Grant>| {
                let Some(first) = group.first() else { return };
                let actions = group
                    .iter()
                    .map(|g| GrantedAction::new(id(g), g.sensitivity, 0))
                    .collect();
                side.add_group(
                    index[&p],
                    actions,
                    GroupState {
                        status: first.status,
                        reason: reason_for(first.status),
                        last_accessed: None,
                        granted_by: if first.policy { "inline:p" } else { "aws:Q" },
                        excluded: first.excluded,
                    },
                );
                group.clear();
            };
            for g in grants {
                let same = current.last().is_some_and(|l| {
                    let svc = |g: &Grant| ACTIONS[g.action].split(':').next();
                    svc(l) == svc(g)
                        && (l.status, l.excluded, l.policy) == (g.status, g.excluded, g.policy)
                });
                if !same || g.split {
                    flush(&mut current);
                }
                current.push(g);
            }
            flush(&mut current);
        }
        side.identities = self.identities.clone();
        side.identity_checks_not_possible = self.gaps.clone();
        side
    }
}

/// A side: some accounts, roles, users and groups in them (id drawn from two, so re-creation
/// happens), some of their actions with a verdict, grouped at random, plus identity findings.
fn gen_strategy() -> impl Strategy<Value = Gen> {
    // The last part: what the export lacks of its policies (bit 0 a policy or group, bit 1 its
    // boundary; 4..8 nothing).
    let principal = (
        (0..ACCOUNTS.len(), 0..KINDS.len()),
        0..NAMES.len(),
        0u8..2,
        any::<bool>(),
        0u8..8,
    );
    let grant = (
        0usize..64,
        0..ACTIONS.len(),
        status_strategy(),
        sensitivity_strategy(),
        (any::<bool>(), any::<bool>(), prop::bool::weighted(0.2)),
    );
    (
        proptest::collection::vec(principal, 0..8),
        proptest::collection::vec(grant, 0..60),
        proptest::collection::btree_set(0..ACCOUNTS.len(), 0..=ACCOUNTS.len()),
        identity_strategy(),
    )
        .prop_map(|(ps, gs, accts, (identities, gaps))| {
            let mut principals: BTreeMap<String, SidePrincipal> = BTreeMap::new();
            let mut accounts: BTreeSet<String> =
                accts.iter().map(|i| ACCOUNTS[*i].to_string()).collect();
            for ((a, k), n, id, actionable, gaps) in ps {
                let (kind, prefix) = KINDS[k];
                let arn = format!("arn:aws:iam::{}:{kind}/{}", ACCOUNTS[a], NAMES[n]);
                accounts.insert(ACCOUNTS[a].to_string());
                principals.entry(arn.clone()).or_insert(SidePrincipal {
                    account_id: ACCOUNTS[a].into(),
                    principal_type: kind.into(),
                    name: NAMES[n].into(),
                    arn,
                    // Unique per account, type and name (as IAM's ids are), two per ARN (so
                    // re-creation happens).
                    id: format!("{prefix}{n}X{id}"),
                    created: None,
                    actionable,
                    gaps: Gaps {
                        lacks_grants: gaps & 1 != 0 && gaps < 4,
                        lacks_boundary: gaps & 2 != 0 && gaps < 4,
                    },
                });
            }
            let principals: Vec<SidePrincipal> = principals.into_values().collect();
            let mut grants: BTreeMap<(usize, usize), Grant> = BTreeMap::new();
            if !principals.is_empty() {
                for (p, action, status, sensitivity, (excluded, policy, split)) in gs {
                    let principal = p % principals.len();
                    grants.insert(
                        (principal, action),
                        Grant {
                            principal,
                            action,
                            status,
                            sensitivity,
                            excluded: excluded && status == Status::Unused,
                            policy,
                            split,
                        },
                    );
                }
            }
            Gen {
                identities: identities
                    .into_iter()
                    .filter(|f| accounts.contains(&f.account_id))
                    .collect(),
                gaps: gaps
                    .into_iter()
                    .filter(|g| accounts.contains(&g.account_id))
                    .collect(),
                accounts,
                principals,
                grants: grants.into_values().collect(),
            }
        })
}

/// Renames principal `i` of `g`: a user or group keeps its id (IAM's `UpdateUser`,
/// `UpdateGroup`); a role cannot be renamed, so the "renamed" role is another role (a new id).
/// Its identity findings follow it.
fn rename(g: &mut Gen, i: usize) {
    let p = &mut g.principals[i];
    let old_arn = p.arn.clone();
    p.name.push_str("-renamed");
    p.arn.push_str("-renamed");
    if p.principal_type == "role" {
        p.id.push_str("-new");
    }
    for f in g
        .identities
        .iter_mut()
        .filter(|f| f.principal_arn == old_arn)
    {
        f.principal_arn = p.arn.clone();
        f.principal_name = p.name.clone();
    }
}

/// A side, and the same side with some of its principals renamed (their indexes).
fn renamed_strategy() -> impl Strategy<Value = (Gen, Gen, BTreeSet<usize>)> {
    (
        gen_strategy(),
        proptest::collection::btree_set(0usize..8, 0..5),
    )
        .prop_map(|(a, picks)| {
            let picks: BTreeSet<usize> = picks
                .into_iter()
                .filter(|i| *i < a.principals.len())
                .collect();
            let mut b = a.clone();
            for &i in &picks {
                rename(&mut b, i);
            }
            (a, b, picks)
        })
}

/// Per-action rows of one kind, keyed (account, principal, action).
fn keyed(rows: &[ActionChange], kind: ChangeKind) -> BTreeSet<(String, String, String)> {
    rows.iter()
        .filter(|c| c.kind == kind)
        .map(|c| {
            (
                c.account_id.clone(),
                c.principal_arn.clone(),
                c.action.clone(),
            )
        })
        .collect()
}

/// Identity rows of one kind, keyed as the diff keys them.
fn identity_keyed(
    changes: &[Change],
    kind: ChangeKind,
) -> BTreeSet<(String, String, String, Option<String>)> {
    changes
        .iter()
        .filter(|c| c.kind == kind)
        .map(|c| {
            (
                c.account_id.clone(),
                c.principal_arn.clone(),
                c.action.clone(),
                c.identity.as_ref().and_then(|i| i.credential.clone()),
            )
        })
        .collect()
}

proptest! {
    #[test]
    fn grouped_diff_expands_to_the_per_action_diff(a in gen_strategy(), b in gen_strategy()) {
        let cat = Catalog::embedded();
        assert_same_as_per_action(&a.side(false), &b.side(false), cat);
    }

    #[test]
    fn diff_with_itself_has_only_unchanged_kinds(a in gen_strategy()) {
        let cat = Catalog::embedded();
        let side = a.side(false);
        let changes = compare(&side, &side, cat);
        prop_assert!(changes.iter().all(|c| !c.kind.is_change()), "{changes:#?}");
        prop_assert_eq!(KindCounts::of(&changes).changes(), 0);
        // Every grant and identity finding counted exactly once; at most one row per group
        // (groups of one service with the same verdict share a row).
        prop_assert_eq!(
            KindCounts::of(&changes).still_unused
                + KindCounts::of(&changes).still_unknown
                + KindCounts::of(&changes).unchanged_used,
            side.granted()
        );
        prop_assert!(
            changes.iter().filter(|c| !c.actions.is_empty()).count() <= side.groups().len()
        );
        let identity: Vec<ChangeKind> =
            changes.iter().map(|c| c.kind).filter(|k| k.is_identity()).collect();
        prop_assert_eq!(identity.len(), a.identities.len());
        prop_assert!(identity.iter().all(|k| *k == ChangeKind::IdentityUnchanged));
    }

    #[test]
    fn identity_rows_match_both_ways(a in gen_strategy(), b in gen_strategy()) {
        let cat = Catalog::embedded();
        let (sa, sb) = (a.side(false), b.side(false));
        let ab = compare(&sa, &sb, cat);
        let ba = compare(&sb, &sa, cat);
        let k = |c: &[Change], kind| identity_keyed(c, kind);
        prop_assert_eq!(
            k(&ab, ChangeKind::IdentityUnchanged),
            k(&ba, ChangeKind::IdentityUnchanged)
        );
        let mut gone = k(&ab, ChangeKind::IdentityResolved);
        gone.extend(k(&ab, ChangeKind::IdentityUnknown));
        prop_assert_eq!(gone, k(&ba, ChangeKind::IdentityNew));
        // Unknown exactly where the new side could not check that principal (the whole
        // account, or a gap naming it); resolved everywhere else.
        let covered = |c: &Change| {
            let check = c.identity.as_ref().map(|i| i.finding);
            !sb.accounts.contains(&c.account_id)
                || sb.identity_checks_not_possible.iter().any(|g| {
                    g.account_id == c.account_id
                        && Some(g.check) == check
                        && g.covers(&c.principal_arn)
                })
        };
        for c in ab.iter().filter(|c| c.kind == ChangeKind::IdentityUnknown) {
            prop_assert!(covered(c), "{c:?}");
        }
        for c in ab.iter().filter(|c| c.kind == ChangeKind::IdentityResolved) {
            prop_assert!(!covered(c), "{c:?}");
        }
        prop_assert_eq!(
            ab.iter().filter(|c| c.kind.is_identity()).count(),
            a.identities.len() + k(&ab, ChangeKind::IdentityNew).len()
        );
    }

    #[test]
    fn revoked_one_way_is_newly_granted_the_other(a in gen_strategy(), b in gen_strategy()) {
        let cat = Catalog::embedded();
        let (sa, sb) = (a.side(false), b.side(false));
        let ab = expanded(&compare(&sa, &sb, cat), cat);
        let ba = expanded(&compare(&sb, &sa, cat), cat);
        // A revocation read backwards is a new grant; a new grant read backwards is a
        // revocation, or unknown where the side now old lacks a policy (it may deny it): a new
        // grant of a side lacking a policy stays new risk, a revocation cannot be told.
        prop_assert!(keyed(&ab, ChangeKind::Revoked)
            .is_subset(&keyed(&ba, ChangeKind::NewlyGranted)));
        let mut back = keyed(&ba, ChangeKind::Revoked);
        back.extend(keyed(&ba, ChangeKind::GrantUnknown));
        prop_assert!(keyed(&ab, ChangeKind::NewlyGranted).is_subset(&back));
        let mut unknown_back = keyed(&ba, ChangeKind::GrantUnknown);
        unknown_back.extend(keyed(&ba, ChangeKind::NewlyGranted));
        prop_assert!(keyed(&ab, ChangeKind::GrantUnknown).is_subset(&unknown_back));
        let pairs = [
            (ChangeKind::PrincipalAdded, ChangeKind::PrincipalRemoved),
            (ChangeKind::AccountAdded, ChangeKind::AccountRemoved),
            (ChangeKind::PrincipalRecreated, ChangeKind::PrincipalRecreated),
            (ChangeKind::StillUnused, ChangeKind::StillUnused),
            (ChangeKind::UnchangedUsed, ChangeKind::UnchangedUsed),
        ];
        for (x, y) in pairs {
            prop_assert_eq!(keyed(&ab, x), keyed(&ba, y), "{:?} / {:?}", x, y);
            prop_assert_eq!(keyed(&ab, y), keyed(&ba, x), "{:?} / {:?}", y, x);
        }
        let mut back = keyed(&ba, ChangeKind::NewlyUnused);
        back.extend(keyed(&ba, ChangeKind::NewlyUnknown));
        prop_assert!(keyed(&ab, ChangeKind::NewlyUsed).is_subset(&back));
        // Unused after unknown is, read backwards, unknown after unused.
        prop_assert!(keyed(&ab, ChangeKind::UnusedWasUnknown)
            .is_subset(&keyed(&ba, ChangeKind::NewlyUnknown)));
    }

    #[test]
    fn compare_is_sorted_and_deterministic(a in gen_strategy(), b in gen_strategy()) {
        let cat = Catalog::embedded();
        let one = compare(&a.side(false), &b.side(false), cat);
        prop_assert_eq!(&one, &compare(&a.side(false), &b.side(true), cat));
        prop_assert!(one.windows(2).all(|w| w[0].kind <= w[1].kind));
    }
}

proptest! {
    // Each case compares two sides twice each way: fewer cases keep the suite's time.
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Renamed users and groups are paired by id (one `principal_renamed` row each, under the new
    /// ARN), a "renamed" role is a removed and an added role, and the counts add up: with the
    /// same grants on both sides, every grant of a paired principal is compared once and is
    /// unchanged, and the only changes are those principal rows.
    #[test]
    fn renamed_principals_are_paired((a, b, picks) in renamed_strategy()) {
        let cat = Catalog::embedded();
        let (sa, sb) = (a.side(false), b.side(false));
        assert_same_as_per_action(&sa, &sb, cat);
        assert_same_as_per_action(&sb, &sa, cat);
        let changes = compare(&sa, &sb, cat);
        let arns = |kind| -> BTreeSet<String> {
            let of_kind = changes.iter().filter(|c| c.kind == kind);
            of_kind.map(|c| c.principal_arn.clone()).collect()
        };
        let (mut renamed, mut removed, mut added) =
            (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
        let mut role_grants = 0;
        for &i in &picks {
            let (o, n) = (&a.principals[i], &b.principals[i]);
            if o.principal_type == "role" {
                removed.insert(o.arn.clone());
                added.insert(n.arn.clone());
                role_grants += sa.tally(i as u32).granted;
            } else {
                renamed.insert(n.arn.clone());
                let row = changes.iter().find(|c| c.principal_arn == n.arn).unwrap();
                prop_assert_eq!(
                    &row.detail,
                    &format!("renamed from {} ({}); id {}", o.name, o.arn, o.id)
                );
            }
        }
        prop_assert_eq!(arns(ChangeKind::PrincipalRenamed), renamed.clone());
        prop_assert_eq!(arns(ChangeKind::PrincipalRemoved), removed);
        prop_assert_eq!(arns(ChangeKind::PrincipalAdded), added);
        let k = KindCounts::of(&changes);
        prop_assert_eq!(
            k.still_unused + k.still_unknown + k.unchanged_used,
            sa.granted() - role_grants
        );
        prop_assert_eq!(
            k.changes(),
            (renamed.len() + 2 * (picks.len() - renamed.len())) as u64,
            "{:#?}", changes
        );
        prop_assert_eq!(k.grant_unknown + k.identity_unknown, 0);
        prop_assert_eq!(k.identity_unchanged, a.identities.len() as u64);
    }

    /// Renamed principals whose grants changed too: the grouped diff is still the per-action one
    /// (whose reference pairs renamed users and groups plainly), both ways.
    #[test]
    fn renamed_and_changed_is_the_per_action_diff(
        (a, mut b, _) in renamed_strategy(),
        c in gen_strategy(),
    ) {
        let cat = Catalog::embedded();
        let n = b.principals.len().max(1);
        b.grants = c.grants
            .into_iter()
            .map(|g| Grant { principal: g.principal % n, ..g })
            .collect();
        b.grants.retain(|g| g.principal < b.principals.len());
        let mut seen = BTreeSet::new();
        b.grants.retain(|g| seen.insert((g.principal, g.action)));
        let (sa, sb) = (a.side(false), b.side(false));
        assert_same_as_per_action(&sa, &sb, cat);
        assert_same_as_per_action(&sb, &sa, cat);
    }
}

// ---- real exports ----------------------------------------------------------------------------

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The side of the exports under `path`, analysed as `diff` analyses them.
fn side_of(path: &Path) -> Side {
    let exports =
        input::load_exports(&[path.to_path_buf()], &input::LoadOptions::default()).unwrap();
    let settings = analysis::Settings::new(90, None).unwrap();
    let cat = Catalog::embedded();
    let an = analysis::analyze(&exports, cat, &settings, &analysis::Config::default()).unwrap();
    let ids = identity_findings(
        &exports,
        &an,
        &analysis::identities::IdentitySettings {
            unused_after_days: 90,
            key_max_age_days: 90,
        },
    );
    Side::from_analysis(&an).with_identities(ids)
}

#[test]
fn sample_q3_to_q4_grouped_is_the_per_action_diff() {
    let cat = Catalog::embedded();
    let old = side_of(&root().join("sample-data/2026-q3"));
    let new = side_of(&root().join("sample-data/2026-q4"));
    assert_same_as_per_action(&old, &new, cat);
    assert_same_as_per_action(&new, &old, cat);
    // Grouping does work here: far fewer rows than actions.
    let changes = compare(&old, &new, cat);
    let pairs: u64 = KindCounts::of(&changes).get(ChangeKind::StillUnused);
    let rows = KindCounts::rows_of(&changes).get(ChangeKind::StillUnused);
    assert!(
        pairs > 20 * rows,
        "{pairs} still-unused pairs in {rows} rows"
    );
}

/// A synthetic organisation, written by `synth-export` (`extra`: more arguments).
fn synth(out: &Path, extra: &[&str]) {
    let status = std::process::Command::new(crate::common::synth_export())
        .args([
            "--accounts",
            "2",
            "--roles-per-account",
            "80",
            "--seed",
            "11",
            "--out",
        ])
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
}

#[test]
fn synthetic_quarter_grouped_is_the_per_action_diff() {
    let tmp = tempfile::tempdir().unwrap();
    let (q1, q2) = (tmp.path().join("q1"), tmp.path().join("q2"));
    synth(&q1, &[]);
    synth(&q2, &["--evolve", "3"]);
    let cat = Catalog::embedded();
    let (old, new) = (side_of(&q1), side_of(&q2));
    assert_same_as_per_action(&old, &new, cat);
    // The evolved quarter has every kind of permission change.
    let counts = KindCounts::of(&compare(&old, &new, cat));
    for kind in [
        ChangeKind::PrincipalAdded,
        ChangeKind::PrincipalRemoved,
        ChangeKind::NewlyGranted,
        ChangeKind::Revoked,
        ChangeKind::NewlyUsed,
        ChangeKind::NewlyUnused,
        ChangeKind::StillUnused,
    ] {
        assert!(counts.get(kind) > 0, "no {}: {counts:?}", kind.as_str());
    }
    // A few percent change, not everything.
    assert!(counts.changes() * 5 < counts.still_unused, "{counts:?}");
}

/// `diff` analyses one account at a time; the result is the comparison of the whole
/// organisations analysed at once: the same pairs per kind, the same identity findings (with
/// their organisation-wide ranks).
#[test]
fn account_by_account_is_the_whole_organisation() {
    let cat = Catalog::embedded();
    let (q3, q4) = (
        root().join("sample-data/2026-q3"),
        root().join("sample-data/2026-q4"),
    );
    let mut whole = compare(&side_of(&q3), &side_of(&q4), cat);
    // And the organisation parts, compared once.
    let org = |p: &Path| iam_tighten::input::organization::find(&[p.to_path_buf()]).unwrap();
    whole.extend(iam_tighten::diff::compare_organizations(org(&q3).as_ref(), org(&q4).as_ref()).0);
    let out = tempfile::tempdir().unwrap();
    let run = assert_cmd::Command::cargo_bin("iam-tighten")
        .unwrap()
        .arg("diff")
        .arg(&q3)
        .arg(&q4)
        .arg("--include-unchanged")
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("diff.json")).unwrap())
            .unwrap();
    assert_eq!(
        json["counts"],
        serde_json::to_value(KindCounts::of(&whole)).unwrap()
    );
    assert_eq!(
        json["row_counts"],
        serde_json::to_value(KindCounts::rows_of(&whole)).unwrap()
    );
    let identities: Vec<serde_json::Value> = whole
        .iter()
        .filter_map(|c| c.identity.as_ref())
        .map(|i| serde_json::to_value(i).unwrap())
        .collect();
    let in_json: Vec<serde_json::Value> = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r.get("identity").cloned())
        .collect();
    assert!(!in_json.is_empty());
    for i in &in_json {
        assert!(identities.contains(i), "{i:#}");
    }
}

/// The sides of each export under `path`, analysed one by one, by account.
fn sides_by_account(path: &Path) -> BTreeMap<String, Side> {
    let cat = Catalog::embedded();
    let settings = analysis::Settings::new(90, None).unwrap();
    let mut out = BTreeMap::new();
    for folder in input::find_export_folders(&[path.to_path_buf()]).unwrap() {
        let export = input::load_export(&folder, &input::LoadOptions::default()).unwrap();
        let exports = std::slice::from_ref(&export);
        let an = analysis::analyze(exports, cat, &settings, &analysis::Config::default()).unwrap();
        let ids = identity_findings(
            exports,
            &an,
            &analysis::identities::IdentitySettings {
                unused_after_days: 90,
                key_max_age_days: 90,
            },
        );
        out.insert(
            export.account_id.clone(),
            Side::from_analysis(&an).with_identities(ids),
        );
    }
    out
}

/// diff.csv and the model, with the accounts compared in `order`.
fn run_in_order(
    old: &BTreeMap<String, Side>,
    new: &BTreeMap<String, Side>,
    order: &[String],
    csv: iam_tighten::diff::CsvOptions,
) -> (Vec<u8>, String) {
    use iam_tighten::diff::model::{BuildInput, DiffSettings};
    use iam_tighten::diff::{DiffLimits, DiffModel, DiffRun, SideMeta};
    let cat = Catalog::embedded();
    let out = tempfile::tempdir().unwrap();
    let limits = DiffLimits {
        per_change_kind: 7,
        per_unchanged_kind: 3,
        html_table: 5,
        ..DiffLimits::default()
    };
    let mut run = DiffRun::new(out.path(), cat, csv, limits);
    let empty = Side::default();
    for a in order {
        run.account(
            a,
            old.get(a).unwrap_or(&empty),
            new.get(a).unwrap_or(&empty),
        )
        .unwrap();
    }
    let (collected, path) = run.finish_csv().unwrap();
    let meta = |p: &str| SideMeta::merge(Path::new(p), Vec::new());
    let model = DiffModel::build(BuildInput {
        old_meta: meta("old"),
        new_meta: meta("new"),
        collected,
        catalog: iam_tighten::report::model::CatalogInfo {
            source: "test".into(),
            version: "1".into(),
            updated: "-".into(),
            actions: cat.len(),
        },
        settings: DiffSettings {
            unused_after_days: 90,
            config_file: None,
            csv,
        },
        limits,
        organization_notes: Vec::new(),
    });
    let mut tables = String::new();
    for t in [
        &model.tables.new_risk,
        &model.tables.revoked,
        &model.tables.still_unused,
    ] {
        tables.push_str(&serde_json::to_string(&t.groups).unwrap());
    }
    (
        std::fs::read(path).unwrap(),
        serde_json::to_string(&model).unwrap() + &tables,
    )
}

/// Accounts are compared as their exports are ready, in any order: diff.csv (both forms) and
/// the model (its first rows of each kind, its tables' first groups, identity ranks) are the
/// same whatever the order.
#[test]
fn outputs_do_not_depend_on_the_order_accounts_come_in() {
    let old = sides_by_account(&root().join("sample-data/2026-q3"));
    let new = sides_by_account(&root().join("sample-data/2026-q4"));
    let mut order: Vec<String> = old.keys().chain(new.keys()).cloned().collect();
    order.sort();
    order.dedup();
    assert_eq!(order.len(), 3);
    let mut reversed = order.clone();
    reversed.reverse();
    let mut rotated = order.clone();
    rotated.rotate_left(1);
    for csv in [
        iam_tighten::diff::CsvOptions::default(),
        iam_tighten::diff::CsvOptions {
            per_action: true,
            include_unchanged: true,
        },
    ] {
        let first = run_in_order(&old, &new, &order, csv);
        assert!(first.0.len() > 1000);
        for other in [&reversed, &rotated] {
            let again = run_in_order(&old, &new, other, csv);
            assert!(
                first.0 == again.0,
                "diff.csv depends on the order ({other:?})"
            );
            assert_eq!(
                first.1, again.1,
                "the model depends on the order ({other:?})"
            );
        }
    }
}
