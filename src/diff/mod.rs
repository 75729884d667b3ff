//! `diff`: Findings × Findings → Changes. Two analyses (an older and a newer export, analysed
//! with the same catalog, window and config) are reduced to plain per-side tables ([`Side`]),
//! compared by principal ARN × action ([`compare`]), and rendered as `diff.csv`, `diff.json` and
//! `diff.html` ([`write_diff`]).
//!
//! The comparison itself knows nothing of polars, the catalog or exports: it takes two [`Side`]s,
//! so it can be tested with hand-built or generated tables. The vocabulary of change kinds is
//! fixed ([`ChangeKind`]) and documented in `docs/usage.md`.

pub mod csv;
pub mod html;
pub mod model;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use model::{DiffLimits, DiffModel, SideMeta};

use crate::analysis::identities::{IdentityFinding, IdentityReport, NotPossible};
use crate::analysis::{Analysis, BySensitivity, Reason, Sensitivity, Status};
use crate::error::{Error, Result};
use crate::files::write_atomic;
use crate::model::Timestamp;

/// What happened between the old and the new side. Declaration order is output order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// An account exported only on the new side.
    AccountAdded,
    /// An account exported only on the old side.
    AccountRemoved,
    /// A principal ARN only on the new side (one row; its grants are counted, not listed).
    PrincipalAdded,
    /// A principal ARN only on the old side (one row; its grants are counted, not listed).
    PrincipalRemoved,
    /// Same ARN, different principal id (deleted and re-created); its actions are compared too.
    PrincipalRecreated,
    /// Granted now, not before.
    NewlyGranted,
    /// Unused now; used or unknown before.
    NewlyUnused,
    /// Granted before, not now.
    Revoked,
    /// Used now; unused or unknown before.
    NewlyUsed,
    /// Unknown now; used or unused before.
    NewlyUnknown,
    /// Unused on both sides.
    StillUnused,
    /// Unknown on both sides.
    StillUnknown,
    /// Used on both sides.
    UnchangedUsed,
    /// An identity or credential finding only on the new side (a key that became unused, a new
    /// password without MFA, ...).
    IdentityNew,
    /// An identity finding only on the old side: the new side ran the check and found nothing
    /// (the key was deleted or used again, the role was removed, ...).
    IdentityResolved,
    /// An identity finding of the old side that the new side could not check (no credential
    /// report, no as-of time, the account not exported): never reported as resolved.
    IdentityUnknown,
    /// An identity finding on both sides.
    IdentityUnchanged,
}

impl ChangeKind {
    pub const ALL: [ChangeKind; 17] = [
        ChangeKind::AccountAdded,
        ChangeKind::AccountRemoved,
        ChangeKind::PrincipalAdded,
        ChangeKind::PrincipalRemoved,
        ChangeKind::PrincipalRecreated,
        ChangeKind::NewlyGranted,
        ChangeKind::NewlyUnused,
        ChangeKind::Revoked,
        ChangeKind::NewlyUsed,
        ChangeKind::NewlyUnknown,
        ChangeKind::StillUnused,
        ChangeKind::StillUnknown,
        ChangeKind::UnchangedUsed,
        ChangeKind::IdentityNew,
        ChangeKind::IdentityResolved,
        ChangeKind::IdentityUnknown,
        ChangeKind::IdentityUnchanged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::AccountAdded => "account_added",
            ChangeKind::AccountRemoved => "account_removed",
            ChangeKind::PrincipalAdded => "principal_added",
            ChangeKind::PrincipalRemoved => "principal_removed",
            ChangeKind::PrincipalRecreated => "principal_recreated",
            ChangeKind::NewlyGranted => "newly_granted",
            ChangeKind::NewlyUnused => "newly_unused",
            ChangeKind::Revoked => "revoked",
            ChangeKind::NewlyUsed => "newly_used",
            ChangeKind::NewlyUnknown => "newly_unknown",
            ChangeKind::StillUnused => "still_unused",
            ChangeKind::StillUnknown => "still_unknown",
            ChangeKind::UnchangedUsed => "unchanged_used",
            ChangeKind::IdentityNew => "identity_new",
            ChangeKind::IdentityResolved => "identity_resolved",
            ChangeKind::IdentityUnknown => "identity_unknown",
            ChangeKind::IdentityUnchanged => "identity_unchanged",
        }
    }

    /// False for the "same on both sides" kinds (`still_unused`, `still_unknown`,
    /// `unchanged_used`, `identity_unchanged`) and for `identity_unknown` (the new side could not
    /// tell); `--exit-code` fails on any other.
    pub fn is_change(self) -> bool {
        !matches!(
            self,
            ChangeKind::StillUnused
                | ChangeKind::StillUnknown
                | ChangeKind::UnchangedUsed
                | ChangeKind::IdentityUnknown
                | ChangeKind::IdentityUnchanged
        )
    }

    /// The four identity and credential kinds.
    pub fn is_identity(self) -> bool {
        matches!(
            self,
            ChangeKind::IdentityNew
                | ChangeKind::IdentityResolved
                | ChangeKind::IdentityUnknown
                | ChangeKind::IdentityUnchanged
        )
    }

    /// The kind of a principal × action granted on both sides.
    pub fn of_statuses(old: Status, new: Status) -> ChangeKind {
        match (old, new) {
            (Status::Used, Status::Used) => ChangeKind::UnchangedUsed,
            (Status::Unused, Status::Unused) => ChangeKind::StillUnused,
            (Status::Unknown, Status::Unknown) => ChangeKind::StillUnknown,
            (_, Status::Used) => ChangeKind::NewlyUsed,
            (_, Status::Unused) => ChangeKind::NewlyUnused,
            (_, Status::Unknown) => ChangeKind::NewlyUnknown,
        }
    }
}

/// A principal on one side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SidePrincipal {
    pub account_id: String,
    /// `role`, `user` or `group`.
    pub principal_type: String,
    pub name: String,
    pub arn: String,
    /// `RoleId` / `UserId` / `GroupId`.
    pub id: String,
    pub created: Option<Timestamp>,
    /// False for service-linked roles.
    pub actionable: bool,
}

/// A principal × granted action on one side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SideFinding {
    pub principal_arn: String,
    /// `service:Action`, as the catalog spells it.
    pub action: String,
    pub service: String,
    pub status: Status,
    pub reason: Reason,
    pub sensitivity: Sensitivity,
    pub last_accessed: Option<Timestamp>,
    pub granted_by: String,
    /// An exclusion rule covers it.
    pub excluded: bool,
}

impl SideFinding {
    /// Counted in the headline "unused" numbers: unused, not excluded (the principal must also be
    /// actionable).
    fn is_open_unused(&self) -> bool {
        self.status == Status::Unused && !self.excluded
    }
}

/// One side of a diff as plain tables: what [`compare`] works on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Side {
    /// Account ids exported on this side.
    pub accounts: Vec<String>,
    pub principals: Vec<SidePrincipal>,
    pub findings: Vec<SideFinding>,
    /// Identity and credential findings (`identity_findings` on this side's exports).
    pub identities: Vec<IdentityFinding>,
    /// Identity checks that could not run on this side.
    pub identity_checks_not_possible: Vec<NotPossible>,
}

impl Side {
    /// The tables of an analysis.
    pub fn from_analysis(an: &Analysis<'_>) -> Side {
        let mut accounts: Vec<String> = an.exports.iter().map(|e| e.account_id.clone()).collect();
        accounts.sort();
        accounts.dedup();
        let principals = an
            .principals
            .iter()
            .map(|p| SidePrincipal {
                account_id: p.account_id.clone(),
                principal_type: p.kind.as_str().to_string(),
                name: p.name.clone(),
                arn: p.arn.clone(),
                id: p.id.clone(),
                created: p.created,
                actionable: p.actionable,
            })
            .collect();
        // Per action: a diff names exactly what changed, even where a group of actions splits.
        let mut findings = Vec::new();
        for f in &an.findings {
            let arn = &an.principal(f).arn;
            let service = an.catalog.action(f.action).service.to_string();
            let granted_by = an.granted_by_text(f.granted_by);
            for a in an.actions(f) {
                findings.push(SideFinding {
                    principal_arn: arn.clone(),
                    action: an.catalog.full_name(a.id),
                    service: service.clone(),
                    status: f.status,
                    reason: f.reason,
                    sensitivity: a.sensitivity,
                    last_accessed: f.last_accessed,
                    granted_by: granted_by.clone(),
                    excluded: f.exclusion.is_some(),
                });
            }
        }
        Side {
            accounts,
            principals,
            findings,
            identities: Vec::new(),
            identity_checks_not_possible: Vec::new(),
        }
    }

    /// Adds this side's identity findings and the checks that could not run.
    pub fn with_identities(mut self, report: IdentityReport) -> Side {
        self.identities = report.findings;
        self.identity_checks_not_possible = report.checks_not_possible;
        self
    }

    /// Unused, not excluded findings of actionable principals, by sensitivity, per account.
    pub fn unused_by_account(&self) -> BTreeMap<String, BySensitivity> {
        let principals: BTreeMap<&str, &SidePrincipal> = self
            .principals
            .iter()
            .map(|p| (p.arn.as_str(), p))
            .collect();
        let mut out: BTreeMap<String, BySensitivity> = self
            .accounts
            .iter()
            .map(|a| (a.clone(), BySensitivity::default()))
            .collect();
        for f in &self.findings {
            if let Some(p) = principals.get(f.principal_arn.as_str())
                && p.actionable
                && f.is_open_unused()
            {
                bump(out.entry(p.account_id.clone()).or_default(), f.sensitivity);
            }
        }
        out
    }

    /// Unused, not excluded findings of actionable principals, by sensitivity.
    pub fn unused_by_sensitivity(&self) -> BySensitivity {
        let mut total = BySensitivity::default();
        for b in self.unused_by_account().values() {
            total.critical += b.critical;
            total.high += b.high;
            total.medium += b.medium;
            total.low += b.low;
        }
        total
    }
}

pub(crate) fn bump(b: &mut BySensitivity, s: Sensitivity) {
    match s {
        Sensitivity::Critical => b.critical += 1,
        Sensitivity::High => b.high += 1,
        Sensitivity::Medium => b.medium += 1,
        Sensitivity::Low => b.low += 1,
    }
}

/// A finding's state on one side of a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct State {
    pub status: Status,
    pub reason: Reason,
    pub sensitivity: Sensitivity,
    pub last_accessed: Option<Timestamp>,
    pub granted_by: String,
    pub excluded: bool,
}

impl From<&SideFinding> for State {
    fn from(f: &SideFinding) -> State {
        State {
            status: f.status,
            reason: f.reason,
            sensitivity: f.sensitivity,
            last_accessed: f.last_accessed,
            granted_by: f.granted_by.clone(),
            excluded: f.excluded,
        }
    }
}

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
        kind,
        account_id: p.account_id.clone(),
        principal_type: p.principal_type.clone(),
        principal_name: p.name.clone(),
        principal_arn: p.arn.clone(),
        action: String::new(),
        service: String::new(),
        old: None,
        new: None,
        old_sensitivity,
        new_sensitivity,
        actionable: p.actionable,
        detail,
        identity: None,
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
            changes.push(Change {
                kind,
                account_id: (*acct).to_string(),
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
                detail: plural(count_in(side, acct), "principal"),
                identity: None,
            });
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
                kind,
                account_id: p.account_id.clone(),
                principal_type: p.principal_type.clone(),
                principal_name: p.name.clone(),
                principal_arn: p.arn.clone(),
                action: any.map(|f| f.action.clone()).unwrap_or_default(),
                service: any.map(|f| f.service.clone()).unwrap_or_default(),
                old: o.map(State::from),
                new: n.map(State::from),
                old_sensitivity: o.map(|f| f.sensitivity),
                new_sensitivity: n.map(|f| f.sensitivity),
                actionable: p.actionable,
                detail: String::new(),
                identity: None,
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

/// Rows per kind, in kind order (one named field per kind, so JSON and templates read it
/// directly).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct KindCounts {
    pub account_added: u64,
    pub account_removed: u64,
    pub principal_added: u64,
    pub principal_removed: u64,
    pub principal_recreated: u64,
    pub newly_granted: u64,
    pub newly_unused: u64,
    pub revoked: u64,
    pub newly_used: u64,
    pub newly_unknown: u64,
    pub still_unused: u64,
    pub still_unknown: u64,
    pub unchanged_used: u64,
    pub identity_new: u64,
    pub identity_resolved: u64,
    pub identity_unknown: u64,
    pub identity_unchanged: u64,
}

impl KindCounts {
    pub fn of(changes: &[Change]) -> KindCounts {
        let mut c = KindCounts::default();
        for ch in changes {
            c.add(ch.kind);
        }
        c
    }

    pub fn add(&mut self, kind: ChangeKind) {
        *self.slot(kind) += 1;
    }

    fn slot(&mut self, kind: ChangeKind) -> &mut u64 {
        match kind {
            ChangeKind::AccountAdded => &mut self.account_added,
            ChangeKind::AccountRemoved => &mut self.account_removed,
            ChangeKind::PrincipalAdded => &mut self.principal_added,
            ChangeKind::PrincipalRemoved => &mut self.principal_removed,
            ChangeKind::PrincipalRecreated => &mut self.principal_recreated,
            ChangeKind::NewlyGranted => &mut self.newly_granted,
            ChangeKind::NewlyUnused => &mut self.newly_unused,
            ChangeKind::Revoked => &mut self.revoked,
            ChangeKind::NewlyUsed => &mut self.newly_used,
            ChangeKind::NewlyUnknown => &mut self.newly_unknown,
            ChangeKind::StillUnused => &mut self.still_unused,
            ChangeKind::StillUnknown => &mut self.still_unknown,
            ChangeKind::UnchangedUsed => &mut self.unchanged_used,
            ChangeKind::IdentityNew => &mut self.identity_new,
            ChangeKind::IdentityResolved => &mut self.identity_resolved,
            ChangeKind::IdentityUnknown => &mut self.identity_unknown,
            ChangeKind::IdentityUnchanged => &mut self.identity_unchanged,
        }
    }

    pub fn get(&self, kind: ChangeKind) -> u64 {
        let mut c = *self;
        *c.slot(kind)
    }

    /// Rows of every kind that [`ChangeKind::is_change`].
    pub fn changes(&self) -> u64 {
        ChangeKind::ALL
            .iter()
            .filter(|k| k.is_change())
            .map(|k| self.get(*k))
            .sum()
    }
}

/// New risk on the new side, by sensitivity: what `--fail-on-new` looks at. Only actionable
/// principals and findings no exclusion covers count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct NewRisk {
    /// `newly_granted` rows, whatever their new status.
    pub newly_granted: BySensitivity,
    /// `newly_unused` rows.
    pub newly_unused: BySensitivity,
    /// Every grant of an added principal (those are not listed action by action).
    pub added_principals: BySensitivity,
    /// `identity_new` rows whose finding is actionable (not a service-linked role).
    pub identity_new: BySensitivity,
}

impl NewRisk {
    pub fn compute(changes: &[Change], new: &Side) -> NewRisk {
        let mut r = NewRisk::default();
        for c in changes {
            if c.kind == ChangeKind::IdentityNew
                && c.actionable
                && let Some(s) = c.new_sensitivity
            {
                bump(&mut r.identity_new, s);
            }
            let Some(n) = &c.new else { continue };
            if !c.actionable || n.excluded {
                continue;
            }
            match c.kind {
                ChangeKind::NewlyGranted => bump(&mut r.newly_granted, n.sensitivity),
                ChangeKind::NewlyUnused => bump(&mut r.newly_unused, n.sensitivity),
                _ => {}
            }
        }
        let added: BTreeSet<&str> = changes
            .iter()
            .filter(|c| c.kind == ChangeKind::PrincipalAdded && c.actionable)
            .map(|c| c.principal_arn.as_str())
            .collect();
        for f in &new.findings {
            if !f.excluded && added.contains(f.principal_arn.as_str()) {
                bump(&mut r.added_principals, f.sensitivity);
            }
        }
        r
    }

    /// New-risk findings at or above `s`.
    pub fn at_or_above(&self, s: Sensitivity) -> u64 {
        self.newly_granted.at_or_above(s)
            + self.newly_unused.at_or_above(s)
            + self.added_principals.at_or_above(s)
            + self.identity_new.at_or_above(s)
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::write(path, e)
}

/// Writes `diff.csv` (every row), `diff.json` (the model) and `diff.html` into `out_dir`,
/// each atomically; returns the files written, sorted.
/// The files `diff` writes (and the temporary files of a killed run it may clean up).
pub const OUTPUT_NAMES: [&str; 3] = ["diff.csv", "diff.html", "diff.json"];

pub fn write_diff(model: &DiffModel, changes: &[Change], out_dir: &Path) -> Result<Vec<PathBuf>> {
    fs::create_dir_all(out_dir).map_err(io(out_dir))?;
    let mut written = Vec::new();

    let p = out_dir.join("diff.csv");
    write_atomic(&p, |w| csv::write_changes(changes, w).map_err(io(&p)))?;
    written.push(p);

    let p = out_dir.join("diff.html");
    write_atomic(&p, |w| html::render(model, w))?;
    written.push(p);

    let p = out_dir.join("diff.json");
    write_atomic(&p, |w| {
        serde_json::to_writer_pretty(&mut *w, model).map_err(|e| io(&p)(e.into()))?;
        w.write_all(b"\n").map_err(io(&p))
    })?;
    written.push(p);

    written.sort();
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::identities::{IdentityKind, IdentityPrincipalType};

    fn principal(acct: &str, name: &str, id: &str) -> SidePrincipal {
        SidePrincipal {
            account_id: acct.into(),
            principal_type: "role".into(),
            name: name.into(),
            arn: format!("arn:aws:iam::{acct}:role/{name}"),
            id: id.into(),
            created: None,
            actionable: true,
        }
    }

    fn finding(p: &SidePrincipal, action: &str, status: Status, s: Sensitivity) -> SideFinding {
        let reason = match status {
            Status::Used => Reason::AccessedInWindow,
            Status::Unused => Reason::ServiceNotAccessed,
            Status::Unknown => Reason::ActionNotTracked,
        };
        SideFinding {
            principal_arn: p.arn.clone(),
            action: action.into(),
            service: action.split(':').next().unwrap_or_default().into(),
            status,
            reason,
            sensitivity: s,
            last_accessed: None,
            granted_by: "inline:p".into(),
            excluded: false,
        }
    }

    fn kinds(changes: &[Change]) -> Vec<(ChangeKind, String, String)> {
        changes
            .iter()
            .map(|c| (c.kind, c.principal_name.clone(), c.action.clone()))
            .collect()
    }

    #[test]
    fn status_transitions() {
        use ChangeKind::*;
        use Status::*;
        let table = [
            (Used, Used, UnchangedUsed),
            (Used, Unused, NewlyUnused),
            (Used, Unknown, NewlyUnknown),
            (Unused, Used, NewlyUsed),
            (Unused, Unused, StillUnused),
            (Unused, Unknown, NewlyUnknown),
            (Unknown, Used, NewlyUsed),
            (Unknown, Unused, NewlyUnused),
            (Unknown, Unknown, StillUnknown),
        ];
        for (o, n, k) in table {
            assert_eq!(ChangeKind::of_statuses(o, n), k, "{o:?} → {n:?}");
        }
    }

    #[test]
    fn kind_names_are_snake_case_and_ordered() {
        for (i, k) in ChangeKind::ALL.iter().enumerate() {
            assert_eq!(
                serde_json::to_value(k).ok(),
                Some(serde_json::Value::from(k.as_str()))
            );
            if let Some(next) = ChangeKind::ALL.get(i + 1) {
                assert!(k < next);
            }
        }
    }

    #[test]
    fn every_kind_from_a_hand_built_pair() {
        let a = principal("111111111111", "a", "AROA1");
        let a2 = principal("111111111111", "a", "AROA2");
        let gone = principal("111111111111", "gone", "AROA3");
        let fresh = principal("111111111111", "fresh", "AROA4");
        let closed = principal("333333333333", "x", "AROA5");
        let opened = principal("444444444444", "y", "AROA6");
        use Sensitivity::*;
        use Status::*;
        let old = Side {
            accounts: vec!["111111111111".into(), "333333333333".into()],
            principals: vec![a.clone(), gone.clone(), closed.clone()],
            findings: vec![
                finding(&a, "s3:DeleteBucket", Unused, Critical),
                finding(&a, "ec2:TerminateInstances", Used, High),
                finding(&a, "ec2:CreateTags", Unused, Medium),
                finding(&a, "ec2:CreateFleet", Unused, High),
                finding(&a, "ec2:DescribeInstances", Used, Low),
                finding(&a, "autoscaling:Describe", Unknown, Low),
                finding(&a, "s3:GetObject", Used, Low),
                finding(&gone, "sqs:SendMessage", Unused, Medium),
            ],
            ..Side::default()
        };
        let new = Side {
            accounts: vec!["111111111111".into(), "444444444444".into()],
            principals: vec![a2.clone(), fresh.clone(), opened.clone()],
            findings: vec![
                finding(&a2, "lambda:PublishVersion", Unknown, High),
                finding(&a2, "ec2:TerminateInstances", Unused, High),
                finding(&a2, "ec2:CreateTags", Used, Medium),
                finding(&a2, "ec2:CreateFleet", Unused, High),
                finding(&a2, "ec2:DescribeInstances", Used, Low),
                finding(&a2, "autoscaling:Describe", Unknown, Low),
                finding(&a2, "s3:GetObject", Unknown, Low),
                finding(&fresh, "iam:PassRole", Unknown, Critical),
            ],
            ..Side::default()
        };
        let changes = compare(&old, &new);
        let s = |x: &str| x.to_string();
        use ChangeKind::*;
        assert_eq!(
            kinds(&changes),
            vec![
                (AccountAdded, s(""), s("")),
                (AccountRemoved, s(""), s("")),
                (PrincipalAdded, s("fresh"), s("")),
                (PrincipalAdded, s("y"), s("")),
                (PrincipalRemoved, s("gone"), s("")),
                (PrincipalRemoved, s("x"), s("")),
                (PrincipalRecreated, s("a"), s("")),
                (NewlyGranted, s("a"), s("lambda:PublishVersion")),
                (NewlyUnused, s("a"), s("ec2:TerminateInstances")),
                (Revoked, s("a"), s("s3:DeleteBucket")),
                (NewlyUsed, s("a"), s("ec2:CreateTags")),
                (NewlyUnknown, s("a"), s("s3:GetObject")),
                (StillUnused, s("a"), s("ec2:CreateFleet")),
                (StillUnknown, s("a"), s("autoscaling:Describe")),
                (UnchangedUsed, s("a"), s("ec2:DescribeInstances")),
            ]
        );
        let added = &changes[2];
        assert_eq!(added.new_sensitivity, Some(Critical));
        assert_eq!(added.detail, "1 granted: 0 used, 0 unused, 1 unknown");
        assert_eq!(
            changes[6].detail,
            "id AROA1 → AROA2; created unknown → unknown"
        );
        let counts = KindCounts::of(&changes);
        assert_eq!(counts.changes(), 12);
        let risk = NewRisk::compute(&changes, &new);
        assert_eq!(risk.newly_granted.high, 1);
        assert_eq!(risk.newly_unused.high, 1);
        assert_eq!(risk.added_principals.critical, 1);
        assert_eq!(risk.at_or_above(Critical), 1);
        assert_eq!(risk.at_or_above(High), 3);
    }

    #[test]
    fn excluded_and_service_linked_are_not_new_risk() {
        let mut p = principal("111111111111", "svc", "AROA1");
        p.actionable = false;
        let q = principal("111111111111", "q", "AROA2");
        let old = Side {
            accounts: vec!["111111111111".into()],
            principals: vec![p.clone(), q.clone()],
            findings: vec![],
            ..Side::default()
        };
        let mut excluded = finding(&q, "iam:CreateUser", Status::Unused, Sensitivity::Critical);
        excluded.excluded = true;
        let new = Side {
            accounts: vec!["111111111111".into()],
            principals: vec![p.clone(), q.clone()],
            findings: vec![
                finding(&p, "iam:CreateRole", Status::Unused, Sensitivity::Critical),
                excluded,
            ],
            ..Side::default()
        };
        let changes = compare(&old, &new);
        assert_eq!(KindCounts::of(&changes).newly_granted, 2);
        assert_eq!(
            NewRisk::compute(&changes, &new).at_or_above(Sensitivity::Low),
            0
        );
    }

    fn identity(acct: &str, name: &str, kind: IdentityKind, s: Sensitivity) -> IdentityFinding {
        IdentityFinding {
            rank: 0,
            account_id: acct.into(),
            kind,
            principal_type: IdentityPrincipalType::User,
            principal_name: name.into(),
            principal_arn: format!("arn:aws:iam::{acct}:user/{name}"),
            credential: Some("access_key_1".into()),
            sensitivity: s,
            actionable: true,
            last_used: None,
            age_days: None,
            days_unused: None,
            detail: "evidence.".into(),
        }
    }

    #[test]
    fn identity_findings_new_resolved_unknown_unchanged() {
        use IdentityKind::*;
        use Sensitivity::*;
        let a = "111111111111";
        let b = "222222222222";
        let old = Side {
            accounts: vec![a.into(), b.into()],
            identities: vec![
                identity(a, "kept", AccessKeyOld, High),
                identity(a, "rotated", AccessKeyOld, High),
                identity(b, "unchecked", AccessKeyUnused, High),
            ],
            ..Side::default()
        };
        let mut svc = identity(a, "svc", UnusedRole, Critical);
        svc.actionable = false;
        svc.credential = None;
        let new = Side {
            accounts: vec![a.into(), b.into()],
            identities: vec![
                identity(a, "kept", AccessKeyOld, High),
                identity(a, "gone-quiet", AccessKeyUnused, High),
                identity(a, "nomfa", PasswordWithoutMfa, Medium),
                svc,
            ],
            identity_checks_not_possible: vec![NotPossible {
                account_id: b.into(),
                check: AccessKeyUnused,
                reason: "no credential report".into(),
            }],
            ..Side::default()
        };
        let changes = compare(&old, &new);
        let s = |x: &str| x.to_string();
        use ChangeKind::*;
        assert_eq!(
            kinds(&changes),
            vec![
                (IdentityNew, s("svc"), s("unused_role")),
                (IdentityNew, s("gone-quiet"), s("access_key_unused")),
                (IdentityNew, s("nomfa"), s("password_without_mfa")),
                (IdentityResolved, s("rotated"), s("access_key_old")),
                (IdentityUnknown, s("unchecked"), s("access_key_unused")),
                (IdentityUnchanged, s("kept"), s("access_key_old")),
            ]
        );
        assert!(
            changes[4].detail.contains("no credential report"),
            "{}",
            changes[4].detail
        );
        assert!(changes[1].detail.starts_with("credential access_key_1: "));
        let counts = KindCounts::of(&changes);
        assert_eq!(counts.changes(), 4); // 3 new + 1 resolved; unknown and unchanged are not
        let risk = NewRisk::compute(&changes, &new);
        // The service-linked role is not actionable.
        assert_eq!(risk.identity_new.critical, 0);
        assert_eq!(risk.at_or_above(High), 1);
        assert_eq!(risk.at_or_above(Medium), 2);
    }
}
