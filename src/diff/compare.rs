//! Comparing two sides: principals by ARN, findings by principal ARN × action, identity findings
//! by account, principal, kind and credential.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::kinds::ChangeKind;
use super::side::{Side, SideFinding, SidePrincipal, State};
use crate::analysis::Sensitivity;
use crate::analysis::Status;
use crate::analysis::identities::IdentityFinding;
use crate::model::Timestamp;

/// One row of `diff.csv`. Account rows leave the principal and action empty; principal rows
/// leave the action empty and carry the principal's highest granted sensitivity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub kind: ChangeKind,
    pub account_id: String,
    pub principal_type: String,
    pub principal_name: String,
    pub principal_arn: String,
    pub action: String,
    pub service: String,
    /// The finding on the old side (None for newly granted and for account/principal rows).
    pub old: Option<State>,
    /// The finding on the new side (None for revoked and for account/principal rows).
    pub new: Option<State>,
    /// Principal and account rows: the highest sensitivity granted on the old / new side.
    pub old_sensitivity: Option<Sensitivity>,
    pub new_sensitivity: Option<Sensitivity>,
    /// The principal can be changed by the customer (not service-linked), on the newer side
    /// it exists on.
    pub actionable: bool,
    /// Principal and account rows: counts and ids, in words. Identity rows: the credential and
    /// the evidence.
    pub detail: String,
    /// Identity rows only: the finding on each side.
    #[serde(skip_serializing_if = "Option::is_none")]
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

    fn sort_key(&self) -> impl Ord + '_ {
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

/// Per-side grant counts of a principal, for the `detail` of principal rows.
#[derive(Default)]
struct Tally {
    granted: u64,
    used: u64,
    unused: u64,
    unknown: u64,
    highest: Option<Sensitivity>,
}

impl Tally {
    fn add(&mut self, f: &SideFinding) {
        self.granted += 1;
        match f.status {
            Status::Used => self.used += 1,
            Status::Unused => self.unused += 1,
            Status::Unknown => self.unknown += 1,
        }
        self.highest = self.highest.max(Some(f.sensitivity));
    }

    fn text(&self) -> String {
        format!(
            "{} granted: {} used, {} unused, {} unknown",
            self.granted, self.used, self.unused, self.unknown
        )
    }
}

fn principal_row(
    kind: ChangeKind,
    p: &SidePrincipal,
    tally: Option<&Tally>,
    detail: String,
) -> Change {
    let highest = tally.and_then(|t| t.highest);
    let (old_sensitivity, new_sensitivity) = match kind {
        ChangeKind::PrincipalRemoved => (highest, None),
        _ => (None, highest),
    };
    Change {
        old_sensitivity,
        new_sensitivity,
        detail,
        ..Change::of_principal(kind, p)
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Compares two sides. Principals are matched by ARN, findings by principal ARN × action.
/// The result is sorted by kind, sensitivity (highest first), account, principal and action.
///
/// Principals only on one side get one principal row (their grants are not listed action by
/// action); a principal re-created under the same ARN gets a `principal_recreated` row and its
/// actions are compared as usual. Findings whose principal is not in the side's principal table
/// are ignored.
pub fn compare(old: &Side, new: &Side) -> Vec<Change> {
    let mut changes = Vec::new();

    let old_accounts: BTreeSet<&str> = old.accounts.iter().map(String::as_str).collect();
    let new_accounts: BTreeSet<&str> = new.accounts.iter().map(String::as_str).collect();
    let count_in = |side: &Side, acct: &str| {
        side.principals
            .iter()
            .filter(|p| p.account_id == acct)
            .count()
    };
    for (kind, accounts, other, side) in [
        (ChangeKind::AccountAdded, &new_accounts, &old_accounts, new),
        (
            ChangeKind::AccountRemoved,
            &old_accounts,
            &new_accounts,
            old,
        ),
    ] {
        for acct in accounts.difference(other) {
            changes.push(Change::account(
                kind,
                acct,
                plural(count_in(side, acct), "principal"),
            ));
        }
    }

    let old_p: BTreeMap<&str, &SidePrincipal> =
        old.principals.iter().map(|p| (p.arn.as_str(), p)).collect();
    let new_p: BTreeMap<&str, &SidePrincipal> =
        new.principals.iter().map(|p| (p.arn.as_str(), p)).collect();
    let old_f: BTreeMap<(&str, &str), &SideFinding> = old
        .findings
        .iter()
        .filter(|f| old_p.contains_key(f.principal_arn.as_str()))
        .map(|f| ((f.principal_arn.as_str(), f.action.as_str()), f))
        .collect();
    let new_f: BTreeMap<(&str, &str), &SideFinding> = new
        .findings
        .iter()
        .filter(|f| new_p.contains_key(f.principal_arn.as_str()))
        .map(|f| ((f.principal_arn.as_str(), f.action.as_str()), f))
        .collect();
    let tallies = |findings: &BTreeMap<(&str, &str), &SideFinding>| {
        let mut t: BTreeMap<String, Tally> = BTreeMap::new();
        for ((arn, _), f) in findings {
            t.entry((*arn).to_string()).or_default().add(f);
        }
        t
    };
    let old_t = tallies(&old_f);
    let new_t = tallies(&new_f);
    let empty = Tally::default();

    for (arn, p) in &new_p {
        match old_p.get(arn) {
            None => {
                let t = new_t.get(*arn);
                changes.push(principal_row(
                    ChangeKind::PrincipalAdded,
                    p,
                    t,
                    t.unwrap_or(&empty).text(),
                ));
            }
            Some(o) if o.id != p.id => {
                let created = |t: Option<Timestamp>| {
                    t.map(|t| t.date_naive().to_string())
                        .unwrap_or("unknown".into())
                };
                let detail = format!(
                    "id {} → {}; created {} → {}",
                    o.id,
                    p.id,
                    created(o.created),
                    created(p.created)
                );
                let mut row = principal_row(ChangeKind::PrincipalRecreated, p, None, detail);
                row.old_sensitivity = old_t.get(*arn).and_then(|t| t.highest);
                row.new_sensitivity = new_t.get(*arn).and_then(|t| t.highest);
                changes.push(row);
            }
            Some(_) => {}
        }
    }
    for (arn, p) in &old_p {
        if !new_p.contains_key(arn) {
            let t = old_t.get(*arn);
            changes.push(principal_row(
                ChangeKind::PrincipalRemoved,
                p,
                t,
                t.unwrap_or(&empty).text(),
            ));
        }
    }

    // Findings of principals on both sides.
    let action_row =
        |kind: ChangeKind, p: &SidePrincipal, o: Option<&SideFinding>, n: Option<&SideFinding>| {
            let any = n.or(o);
            Change {
                action: any.map(|f| f.action.clone()).unwrap_or_default(),
                service: any.map(|f| f.service.clone()).unwrap_or_default(),
                old: o.map(State::from),
                new: n.map(State::from),
                old_sensitivity: o.map(|f| f.sensitivity),
                new_sensitivity: n.map(|f| f.sensitivity),
                ..Change::of_principal(kind, p)
            }
        };
    for (key, o) in &old_f {
        let Some(p) = new_p.get(key.0) else { continue };
        match new_f.get(key) {
            Some(n) => changes.push(action_row(
                ChangeKind::of_statuses(o.status, n.status),
                p,
                Some(o),
                Some(n),
            )),
            None => changes.push(action_row(ChangeKind::Revoked, p, Some(o), None)),
        }
    }
    for (key, n) in &new_f {
        if old_p.contains_key(key.0)
            && !old_f.contains_key(key)
            && let Some(p) = new_p.get(key.0)
        {
            changes.push(action_row(ChangeKind::NewlyGranted, p, None, Some(n)));
        }
    }

    compare_identities(old, new, &mut changes);

    changes.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    changes
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

/// Why `side` could not run `f`'s check for `f`'s account, if it could not: the account was not
/// exported on that side, or the check is in its `identity_checks_not_possible`.
fn not_checked(side: &Side, f: &IdentityFinding) -> Option<String> {
    if !side.accounts.contains(&f.account_id) {
        return Some("the account was not exported on that side".into());
    }
    let reasons: Vec<&str> = side
        .identity_checks_not_possible
        .iter()
        .filter(|n| n.account_id == f.account_id && n.check == f.kind)
        .map(|n| n.reason.as_str())
        .collect();
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

/// Identity findings matched by [`identity_key`]: `identity_new`, `identity_resolved`,
/// `identity_unknown` (only on the old side, and the new side could not run that check for the
/// account) and `identity_unchanged`.
fn compare_identities(old: &Side, new: &Side, changes: &mut Vec<Change>) {
    let old_i: BTreeMap<IdentityKey<'_>, &IdentityFinding> = old
        .identities
        .iter()
        .map(|f| (identity_key(f), f))
        .collect();
    let new_i: BTreeMap<IdentityKey<'_>, &IdentityFinding> = new
        .identities
        .iter()
        .map(|f| (identity_key(f), f))
        .collect();
    let row = |kind: ChangeKind,
               o: Option<&IdentityFinding>,
               n: Option<&IdentityFinding>,
               not_possible: Option<String>| {
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
    };
    for (key, o) in &old_i {
        let c = match new_i.get(key) {
            Some(n) => row(ChangeKind::IdentityUnchanged, Some(o), Some(n), None),
            None => match not_checked(new, o) {
                Some(why) => row(ChangeKind::IdentityUnknown, Some(o), None, Some(why)),
                None => row(ChangeKind::IdentityResolved, Some(o), None, None),
            },
        };
        changes.extend(c);
    }
    for (key, n) in &new_i {
        if !old_i.contains_key(key) {
            changes.extend(row(
                ChangeKind::IdentityNew,
                None,
                Some(n),
                not_checked(old, n),
            ));
        }
    }
}
