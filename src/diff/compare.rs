//! Comparing two sides: accounts by id, principals by ARN, permissions by principal × action
//! (in groups: see `pairing`), identity findings by account, principal, kind and credential.
//!
//! A permission row ([`Change`]) is a principal's actions of one service that share the change
//! kind and their verdict on each side (status, reason, last access, granting policies,
//! exclusion). Expanded action by action ([`super::expand`]) the rows are exactly the
//! per-action comparison: every granted action of a principal on both sides in one row of the
//! kind its two statuses give, `revoked` or `newly_granted` when on one side only.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::Serialize;

use super::kinds::ChangeKind;
use super::pairing::{self, Matcher};
use super::side::{Gaps, Side, SideGroup, SidePrincipal, Tally, Verdict};
use crate::analysis::identities::IdentityFinding;
use crate::analysis::{BySensitivity, Reason, Sensitivity, Status};
use crate::catalog::{ActionId, Catalog};
use crate::model::Timestamp;

/// An action of a permission row, with its sensitivity on each side it is granted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangedAction {
    pub id: ActionId,
    pub old: Option<Sensitivity>,
    pub new: Option<Sensitivity>,
}

impl ChangedAction {
    pub fn both(id: ActionId, old: Sensitivity, new: Sensitivity) -> ChangedAction {
        ChangedAction {
            id,
            old: Some(old),
            new: Some(new),
        }
    }

    pub fn old_only(id: ActionId, s: Sensitivity) -> ChangedAction {
        ChangedAction {
            id,
            old: Some(s),
            new: None,
        }
    }

    pub fn new_only(id: ActionId, s: Sensitivity) -> ChangedAction {
        ChangedAction {
            id,
            old: None,
            new: Some(s),
        }
    }

    /// The higher of the two sides' sensitivities: what the action sorts by.
    pub fn sensitivity(&self) -> Sensitivity {
        self.old.max(self.new).unwrap_or(Sensitivity::Low)
    }

    /// Its sensitivity on the new side, else the old one: what the row's counts count.
    pub fn current(&self) -> Sensitivity {
        self.new.or(self.old).unwrap_or(Sensitivity::Low)
    }
}

/// A group's state on one side of a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct State {
    pub status: Status,
    pub reason: Reason,
    /// The highest sensitivity of the row's actions on this side (of the one action, expanded).
    pub sensitivity: Sensitivity,
    pub last_accessed: Option<Timestamp>,
    pub granted_by: String,
    pub excluded: bool,
}

/// One row of the grouped `diff.csv`. Account rows leave the principal and actions empty;
/// principal rows leave the actions empty and carry the principal's highest granted
/// sensitivity; identity rows carry the identity finding kind in `action`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub kind: ChangeKind,
    pub account_id: String,
    pub principal_type: String,
    pub principal_name: String,
    pub principal_arn: String,
    /// Permission rows: the first action's `service:Action` (the row's sort key; its actions are
    /// in `actions`). Identity rows: the identity finding kind. Empty on other rows.
    pub action: String,
    pub service: String,
    /// Permission rows: the actions, sorted by id (never empty). Empty on other rows.
    pub actions: Vec<ChangedAction>,
    /// The state on the old side (None for newly granted and for account/principal rows).
    pub old: Option<State>,
    /// The state on the new side (None for revoked and for account/principal rows).
    pub new: Option<State>,
    /// The highest sensitivity on the old / new side (permission rows: of the row's actions;
    /// principal and account rows: granted to the principal).
    pub old_sensitivity: Option<Sensitivity>,
    pub new_sensitivity: Option<Sensitivity>,
    /// The principal can be changed by the customer (not service-linked, not an IAM Identity
    /// Center role), on the newer side it exists on.
    pub actionable: bool,
    /// Principal and account rows: counts and ids, in words. Identity rows: the credential and
    /// the evidence.
    pub detail: String,
    /// Identity rows only: the finding on each side.
    pub identity: Option<Box<IdentityDelta>>,
}

/// An identity or credential finding compared across the sides (identity rows of [`Change`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdentityDelta {
    /// What the finding is about (`access_key_unused`, `unused_role`, ...).
    pub finding: crate::analysis::identities::IdentityKind,
    /// `password`, `access_key_1` or `access_key_2`; `None` for whole principals and policies.
    pub credential: Option<String>,
    pub old: Option<IdentityFinding>,
    pub new: Option<IdentityFinding>,
    /// Why the other side could not run this check, when it could not.
    pub not_possible: Option<String>,
}

/// Where a row goes in `diff.csv`: its kind, then its sensitivity, highest first (rows without
/// one last).
pub type Bucket = (ChangeKind, std::cmp::Reverse<Option<Sensitivity>>);

impl Change {
    /// An account row (`account_added`, `account_removed`): no principal, no action.
    pub fn account(kind: ChangeKind, account_id: &str, detail: String) -> Change {
        Change {
            kind,
            account_id: account_id.to_string(),
            principal_type: String::new(),
            principal_name: String::new(),
            principal_arn: String::new(),
            action: String::new(),
            service: String::new(),
            actions: Vec::new(),
            old: None,
            new: None,
            old_sensitivity: None,
            new_sensitivity: None,
            actionable: true,
            detail,
            identity: None,
        }
    }

    /// A row about `p` with nothing filled in but the principal (the caller adds the rest).
    fn of_principal(kind: ChangeKind, p: &SidePrincipal) -> Change {
        Change {
            principal_type: p.principal_type.clone(),
            principal_name: p.name.clone(),
            principal_arn: p.arn.clone(),
            actionable: p.actionable,
            ..Change::account(kind, &p.account_id, String::new())
        }
    }

    /// The higher of the two sides' sensitivities: the sort key.
    pub fn sensitivity(&self) -> Option<Sensitivity> {
        self.old_sensitivity.max(self.new_sensitivity)
    }

    /// The highest sensitivity on the new side, else on the old side (revoked rows): the side
    /// [`Change::by_sensitivity`] counts, and what diff.html's permission tables go by.
    pub fn current_sensitivity(&self) -> Option<Sensitivity> {
        self.new_sensitivity.or(self.old_sensitivity)
    }

    /// The row's `diff.csv` bucket.
    pub fn bucket(&self) -> Bucket {
        (self.kind, std::cmp::Reverse(self.sensitivity()))
    }

    /// Per sensitivity, how many of the row's actions have it (on the new side, else the old).
    pub fn by_sensitivity(&self) -> BySensitivity {
        let mut b = BySensitivity::default();
        for a in &self.actions {
            b.add_one(a.current());
        }
        b
    }

    /// Per sensitivity, the row's actions on the new side (for new risk).
    pub fn new_sensitivities(&self) -> BySensitivity {
        let mut b = BySensitivity::default();
        for s in self.actions.iter().filter_map(|a| a.new) {
            b.add_one(s);
        }
        b
    }

    /// How many principal × action pairs the row stands for: its actions, or 1 for account,
    /// principal and identity rows.
    pub fn weight(&self) -> u64 {
        (self.actions.len() as u64).max(1)
    }

    pub(super) fn sort_key(&self) -> impl Ord + '_ {
        (
            self.kind,
            std::cmp::Reverse(self.sensitivity()),
            &self.account_id,
            &self.principal_type,
            &self.principal_name,
            &self.principal_arn,
            &self.action,
            self.identity.as_ref().and_then(|i| i.credential.as_deref()),
        )
    }
}

fn principal_row(kind: ChangeKind, p: &SidePrincipal, side: &Side, index: u32) -> Change {
    let t = side.tally(index);
    let (old_sensitivity, new_sensitivity) = match kind {
        ChangeKind::PrincipalRemoved => (t.highest, None),
        _ => (None, t.highest),
    };
    Change {
        old_sensitivity,
        new_sensitivity,
        detail: t.text(),
        ..Change::of_principal(kind, p)
    }
}

pub(super) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Compares two sides. Principals are matched, users and groups by id first ([`same_id`]: a
/// rename keeps it), then by ARN; permissions by principal × action.
/// The result is sorted by kind, sensitivity (highest first), account, principal, first action
/// and credential.
///
/// Principals only on one side get one principal row (their grants are not listed); a principal
/// re-created under the same ARN gets a `principal_recreated` row and its actions are compared as
/// usual. Groups whose principal index is not in the side's principal table are ignored.
pub fn compare(old: &Side, new: &Side, catalog: &Catalog) -> Vec<Change> {
    let mut changes = Vec::new();
    compare_accounts(old, new, &mut changes);

    let old_p: BTreeMap<&str, u32> = index_by_arn(old);
    let new_p: BTreeMap<&str, u32> = index_by_arn(new);
    let by_id = same_id(old, new, &old_p, &new_p);
    let id_paired: HashSet<u32> = by_id.values().copied().collect();
    // Old principals paired with a new one: by id, then by ARN.
    let mut paired = id_paired.clone();
    // Old principal → the new one it is compared with (by id or ARN).
    let mut to_new: HashMap<u32, u32> = HashMap::new();
    let mut matcher = Matcher::default();
    for (arn, &ni) in &new_p {
        let p = &new.principals[ni as usize];
        let oi = match (by_id.get(&ni), old_p.get(arn)) {
            (Some(&oi), _) => {
                let o = &old.principals[oi as usize];
                if o.arn != p.arn {
                    changes.push(renamed_row(o, p, old.tally(oi), new.tally(ni)));
                }
                oi
            }
            // The old principal of this ARN is another's under a new name (its id went there).
            (None, Some(&oi)) if !id_paired.contains(&oi) => {
                paired.insert(oi);
                oi
            }
            _ => {
                changes.push(principal_row(ChangeKind::PrincipalAdded, p, new, ni));
                continue;
            }
        };
        to_new.insert(oi, ni);
        let o = &old.principals[oi as usize];
        // An id left empty (a hand-made export) says nothing of a re-creation.
        if o.id != p.id && !o.id.is_empty() && !p.id.is_empty() {
            changes.push(recreated(
                o,
                p,
                old.tally(oi).highest,
                new.tally(ni).highest,
            ));
        }
        let cells = pairing::cells(old, old.groups_of(oi), new, new.groups_of(ni), &mut matcher);
        permission_rows(cells, (o, p), (old, new), catalog, &mut changes);
    }
    for &oi in old_p.values() {
        if !paired.contains(&oi) {
            let p = &old.principals[oi as usize];
            changes.push(principal_row(ChangeKind::PrincipalRemoved, p, old, oi));
        }
    }
    // Old ARN → the new principal its identity findings are compared with (None: removed).
    let arns: HashMap<&str, Option<&SidePrincipal>> = old_p
        .iter()
        .map(|(&arn, oi)| (arn, to_new.get(oi).map(|&ni| &new.principals[ni as usize])))
        .collect();
    compare_identities(old, new, &arns, &mut changes);

    changes.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    changes
}

/// Users and groups paired by id (IAM's UpdateUser and UpdateGroup keep the id; a role cannot
/// be renamed): new index → old index of a principal with the same account, type and id on the
/// other side, whatever its ARN. A user renamed and its old name given to a new user is one
/// rename and one new user; paired by ARN first, it was a re-creation whose grants were
/// "revoked" (the renamed user still held them) and the new user's compared with another's.
fn same_id(
    old: &Side,
    new: &Side,
    old_p: &BTreeMap<&str, u32>,
    new_p: &BTreeMap<&str, u32>,
) -> HashMap<u32, u32> {
    type Key<'s> = (&'s str, &'s str, &'s str);
    fn key(p: &SidePrincipal) -> Option<(&str, &str, &str)> {
        let kind = p.principal_type.as_str();
        (matches!(kind, "user" | "group") && !p.id.is_empty()).then_some((
            p.account_id.as_str(),
            kind,
            p.id.as_str(),
        ))
    }
    let mut ids: HashMap<Key<'_>, u32> = HashMap::new();
    for &oi in old_p.values() {
        if let Some(k) = key(&old.principals[oi as usize]) {
            ids.entry(k).or_insert(oi);
        }
    }
    let mut out = HashMap::new();
    if ids.is_empty() {
        return out;
    }
    for &ni in new_p.values() {
        if let Some(oi) = key(&new.principals[ni as usize]).and_then(|k| ids.remove(&k)) {
            out.insert(ni, oi);
        }
    }
    out
}

/// The `principal_renamed` row of a user or group renamed from `o` to `p` (same id).
fn renamed_row(o: &SidePrincipal, p: &SidePrincipal, old: Tally, new: Tally) -> Change {
    Change {
        old_sensitivity: old.highest,
        new_sensitivity: new.highest,
        detail: format!("renamed from {} ({}); id {}", o.name, o.arn, p.id),
        ..Change::of_principal(ChangeKind::PrincipalRenamed, p)
    }
}

/// Principals by ARN (the first of duplicates).
fn index_by_arn(side: &Side) -> BTreeMap<&str, u32> {
    let mut m = BTreeMap::new();
    for (i, p) in side.principals.iter().enumerate() {
        m.entry(p.arn.as_str()).or_insert(i as u32);
    }
    m
}

/// Principals per account, counted once per side (a walk over every principal per added or
/// removed account was quadratic when a quarter adds or removes many accounts).
fn principals_per_account(side: &Side) -> HashMap<&str, usize> {
    let mut n: HashMap<&str, usize> = HashMap::new();
    for p in &side.principals {
        *n.entry(p.account_id.as_str()).or_default() += 1;
    }
    n
}

fn compare_accounts(old: &Side, new: &Side, changes: &mut Vec<Change>) {
    let old_accounts: BTreeSet<&str> = old.accounts.iter().map(String::as_str).collect();
    let new_accounts: BTreeSet<&str> = new.accounts.iter().map(String::as_str).collect();
    for (kind, accounts, other, side) in [
        (ChangeKind::AccountAdded, &new_accounts, &old_accounts, new),
        (
            ChangeKind::AccountRemoved,
            &old_accounts,
            &new_accounts,
            old,
        ),
    ] {
        let only: Vec<&str> = accounts.difference(other).copied().collect();
        if only.is_empty() {
            continue;
        }
        let counts = principals_per_account(side);
        for acct in only {
            let n = counts.get(acct).copied().unwrap_or(0);
            changes.push(Change::account(kind, acct, plural(n, "principal")));
        }
    }
}

fn recreated(
    o: &SidePrincipal,
    p: &SidePrincipal,
    old_highest: Option<Sensitivity>,
    new_highest: Option<Sensitivity>,
) -> Change {
    let created = |t: Option<Timestamp>| {
        t.map(|t| t.date_naive().to_string())
            .unwrap_or("unknown".into())
    };
    Change {
        old_sensitivity: old_highest,
        new_sensitivity: new_highest,
        detail: format!(
            "id {} → {}; created {} → {}",
            o.id,
            p.id,
            created(o.created),
            created(p.created)
        ),
        ..Change::of_principal(ChangeKind::PrincipalRecreated, p)
    }
}

/// The kind of a principal's action granted on one side only: `revoked` (old side) or
/// `newly_granted`, unless a side's export lacks part of the principal's policies so that nobody
/// can tell ([`Gaps::revocation_unknown`], [`Gaps::new_grant_unknown`]): then `grant_unknown`.
fn one_sided(old_only: bool, gaps: (Gaps, Gaps)) -> ChangeKind {
    let (old, new) = gaps;
    match old_only {
        true if Gaps::revocation_unknown(old, new) => ChangeKind::GrantUnknown,
        true => ChangeKind::Revoked,
        false if Gaps::new_grant_unknown(new, old) => ChangeKind::GrantUnknown,
        false => ChangeKind::NewlyGranted,
    }
}

/// Why a `grant_unknown` row of actions granted on the old side only (`old_only`), or the new
/// side only, cannot be compared.
fn not_comparable(old_only: bool, gaps: (Gaps, Gaps)) -> String {
    let (held, other) = if old_only {
        (("old", gaps.0), ("new", gaps.1))
    } else {
        (("new", gaps.1), ("old", gaps.0))
    };
    let mut why = Vec::new();
    if other.1.lacks_grants {
        why.push(format!(
            "the {} side's export lacks a managed policy or group of this principal \
             (policy_missing, group_missing), which may grant these actions",
            other.0
        ));
    }
    if held.1.lacks_grants {
        why.push(format!(
            "the {} side's export lacks a managed policy or group of this principal \
             (policy_missing, group_missing), which may deny these actions",
            held.0
        ));
    }
    if held.1.lacks_boundary {
        why.push(format!(
            "the {} side's export lacks this principal's permissions boundary policy \
             (policy_missing), so no boundary was applied there",
            held.0
        ));
    }
    format!(
        "Not comparable: {}; whether they changed is unknown.",
        why.join("; ")
    )
}

/// One row per change kind × service × old verdict × new verdict of a principal's cells
/// (`principals`: the principal on the old and the new side).
fn permission_rows(
    cells: Vec<pairing::Cell>,
    principals: (&SidePrincipal, &SidePrincipal),
    (old, new): (&Side, &Side),
    catalog: &Catalog,
    changes: &mut Vec<Change>,
) {
    type Key<'s> = (ChangeKind, &'s str, Option<Verdict>, Option<Verdict>);
    let p = principals.1;
    let gaps = (principals.0.gaps, p.gaps);
    let mut rows: BTreeMap<Key<'_>, Vec<ChangedAction>> = BTreeMap::new();
    for cell in cells {
        let Some(first) = cell.actions.first() else {
            continue;
        };
        let kind = match (&cell.old, &cell.new) {
            (Some(o), Some(n)) => {
                ChangeKind::of_verdicts(o.verdict.status, o.verdict.reason, n.verdict.status)
            }
            (o, _) => one_sided(o.is_some(), gaps),
        };
        let service = catalog.action(first.id).service.as_ref();
        let verdict = |g: &Option<SideGroup>| g.map(|g| g.verdict);
        rows.entry((kind, service, verdict(&cell.old), verdict(&cell.new)))
            .or_default()
            .extend(cell.actions);
    }
    for ((kind, service, o, n), mut actions) in rows {
        actions.sort_unstable_by_key(|a| a.id);
        let state =
            |side: &Side, v: Option<Verdict>, pick: fn(&ChangedAction) -> Option<Sensitivity>| {
                let v = v?;
                Some(State {
                    status: v.status,
                    reason: v.reason,
                    sensitivity: actions.iter().filter_map(pick).max()?,
                    last_accessed: v.last_accessed,
                    granted_by: side.granted_by(&v).to_string(),
                    excluded: v.excluded,
                })
            };
        let old_state = state(old, o, |a| a.old);
        let new_state = state(new, n, |a| a.new);
        let detail = match kind {
            ChangeKind::GrantUnknown => not_comparable(n.is_none(), gaps),
            ChangeKind::NewlyGranted if gaps.1.lacks_grants => {
                "The new side's export lacks a managed policy or group of this principal \
                 (policy_missing, group_missing), which may deny some of these actions."
                    .to_string()
            }
            _ => String::new(),
        };
        changes.push(Change {
            action: actions
                .first()
                .map(|a| catalog.full_name(a.id))
                .unwrap_or_default(),
            service: service.to_string(),
            old_sensitivity: old_state.as_ref().map(|s| s.sensitivity),
            new_sensitivity: new_state.as_ref().map(|s| s.sensitivity),
            old: old_state,
            new: new_state,
            actions,
            detail,
            ..Change::of_principal(kind, p)
        });
    }
}

/// The key identity findings are matched by: account, principal (ARN, else name), finding kind,
/// credential.
type IdentityKey<'a> = (
    &'a str,
    &'a str,
    crate::analysis::identities::IdentityKind,
    Option<&'a str>,
);

fn identity_key(f: &IdentityFinding) -> IdentityKey<'_> {
    let who = if f.principal_arn.is_empty() {
        f.principal_name.as_str()
    } else {
        f.principal_arn.as_str()
    };
    (f.account_id.as_str(), who, f.kind, f.credential.as_deref())
}

/// [`identity_key`] as one text (for maps that outlive the findings).
pub(super) fn identity_key_of(f: &IdentityFinding) -> String {
    let (a, who, kind, credential) = identity_key(f);
    format!(
        "{a}\u{1f}{who}\u{1f}{}\u{1f}{}",
        kind.as_str(),
        credential.unwrap_or("\u{0}")
    )
}

/// Why `side` could not run `f`'s check for `f`'s account, if it could not: the account was not
/// exported on that side, or the check is in its `identity_checks_not_possible`, for the whole
/// account or for the principal that has the ARN `arn` on that side.
fn not_checked(side: &Side, f: &IdentityFinding, arn: &str) -> Option<String> {
    if !side.accounts.contains(&f.account_id) {
        return Some("the account was not exported on that side".into());
    }
    let reasons: Vec<&str> = side
        .identity_checks_not_possible
        .iter()
        .filter(|n| n.account_id == f.account_id && n.check == f.kind && n.covers(arn))
        .map(|n| n.reason.as_str())
        .collect();
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

fn identity_row(
    kind: ChangeKind,
    o: Option<&IdentityFinding>,
    n: Option<&IdentityFinding>,
    not_possible: Option<String>,
) -> Option<Change> {
    let any = n.or(o)?;
    let credential = any
        .credential
        .as_deref()
        .map(|c| format!("credential {c}: "))
        .unwrap_or_default();
    let detail = match (kind, &not_possible) {
        (ChangeKind::IdentityUnknown, Some(why)) => format!(
            "{credential}{} The new side could not run this check: {why}.",
            any.detail
        ),
        (ChangeKind::IdentityNew, Some(why)) => format!(
            "{credential}{} The old side could not run this check: {why}.",
            any.detail
        ),
        (ChangeKind::IdentityResolved, _) => format!(
            "{credential}no longer found on the new side. Old: {}",
            any.detail
        ),
        _ => format!("{credential}{}", any.detail),
    };
    Some(Change {
        kind,
        account_id: any.account_id.clone(),
        principal_type: any.principal_type.as_str().to_string(),
        principal_name: any.principal_name.clone(),
        principal_arn: any.principal_arn.clone(),
        action: any.kind.as_str().to_string(),
        service: String::new(),
        actions: Vec::new(),
        old: None,
        new: None,
        old_sensitivity: o.map(|f| f.sensitivity),
        new_sensitivity: n.map(|f| f.sensitivity),
        actionable: any.actionable,
        detail,
        identity: Some(Box::new(IdentityDelta {
            finding: any.kind,
            credential: any.credential.clone(),
            old: o.cloned(),
            new: n.cloned(),
            not_possible,
        })),
    })
}

/// Identity findings matched by [`identity_key`]: `identity_new`, `identity_resolved`,
/// `identity_unknown` (only on the old side, and the new side could not run that check for the
/// account) and `identity_unchanged`. `paired` maps an old principal's ARN to the new principal
/// it is compared with, or to None when it was removed: an old finding of a renamed principal
/// is matched and labelled by its new ARN and name (its old name may be another's now), and one
/// of a removed principal whose ARN a renamed principal holds now matches no new finding.
fn compare_identities(
    old: &Side,
    new: &Side,
    paired: &HashMap<&str, Option<&SidePrincipal>>,
    changes: &mut Vec<Change>,
) {
    // The identity key, and whether it is of a removed principal whose ARN a renamed one holds
    // now (it then matches nothing).
    type Key<'a> = (IdentityKey<'a>, bool);
    let taken: HashSet<&str> = paired
        .iter()
        .filter_map(|(&o, p)| p.map(|p| p.arn.as_str()).filter(|&n| n != o))
        .collect();
    let renamed_to = |f: &IdentityFinding| {
        paired
            .get(f.principal_arn.as_str())
            .copied()
            .flatten()
            .filter(|p| !f.principal_arn.is_empty() && p.arn != f.principal_arn)
    };
    let old_i: BTreeMap<Key<'_>, &IdentityFinding> = old
        .identities
        .iter()
        .map(|f| {
            let (a, who, kind, credential) = identity_key(f);
            let (who, removed) = match paired.get(who) {
                Some(Some(p)) => (p.arn.as_str(), false),
                _ => (who, taken.contains(who)),
            };
            (((a, who, kind, credential), removed), f)
        })
        .collect();
    let new_i: BTreeMap<Key<'_>, &IdentityFinding> = new
        .identities
        .iter()
        .map(|f| ((identity_key(f), false), f))
        .collect();
    for (key, o) in &old_i {
        let c = match new_i.get(key) {
            Some(n) => identity_row(ChangeKind::IdentityUnchanged, Some(o), Some(n), None),
            None => match not_checked(new, o, key.0.1) {
                Some(why) => identity_row(ChangeKind::IdentityUnknown, Some(o), None, Some(why)),
                None => identity_row(ChangeKind::IdentityResolved, Some(o), None, None),
            },
        };
        changes.extend(c.map(|c| match renamed_to(o) {
            Some(p) if c.identity.as_ref().is_some_and(|i| i.new.is_none()) => {
                under_new_name(c, p, o)
            }
            _ => c,
        }));
    }
    // A new finding of a renamed principal, by its old ARN.
    let was: HashMap<&str, &str> = paired
        .iter()
        .filter_map(|(&o, p)| p.filter(|p| p.arn != o).map(|p| (p.arn.as_str(), o)))
        .collect();
    for (key, n) in &new_i {
        if !old_i.contains_key(key) {
            let who = was.get(key.0.1).copied().unwrap_or(key.0.1);
            changes.extend(identity_row(
                ChangeKind::IdentityNew,
                None,
                Some(n),
                not_checked(old, n, who),
            ));
        }
    }
}

/// An identity row of old finding `o` only, of a principal renamed to `p`: under `p`'s name and
/// ARN (the old ones may be another principal's now), its detail saying the old name.
fn under_new_name(c: Change, p: &SidePrincipal, o: &IdentityFinding) -> Change {
    Change {
        principal_name: p.name.clone(),
        principal_arn: p.arn.clone(),
        detail: format!(
            "{} Renamed: the old side names it {} ({}).",
            c.detail, o.principal_name, o.principal_arn
        ),
        ..c
    }
}
