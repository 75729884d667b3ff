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

use crate::analysis::{Analysis, BySensitivity, Reason, Sensitivity, Status};
use crate::error::{Error, Result};
use crate::model::Timestamp;
use crate::report::write_atomic;

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
}

impl ChangeKind {
    pub const ALL: [ChangeKind; 13] = [
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
        }
    }

    /// False for the three "same on both sides" kinds; `--exit-code` fails on any other.
    pub fn is_change(self) -> bool {
        !matches!(
            self,
            ChangeKind::StillUnused | ChangeKind::StillUnknown | ChangeKind::UnchangedUsed
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
        let findings = an
            .findings
            .iter()
            .map(|f| SideFinding {
                principal_arn: an.principal(f).arn.clone(),
                action: an.catalog.full_name(f.action),
                service: an.catalog.action(f.action).service.to_string(),
                status: f.status,
                reason: f.reason,
                sensitivity: f.sensitivity,
                last_accessed: f.last_accessed,
                granted_by: an
                    .granted_by
                    .get(f.granted_by as usize)
                    .cloned()
                    .unwrap_or_default(),
                excluded: f.exclusion.is_some(),
            })
            .collect();
        Side {
            accounts,
            principals,
            findings,
        }
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
    /// Principal and account rows: counts and ids, in words.
    pub detail: String,
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

    changes.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    changes
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
        }
    }

    pub fn get(&self, kind: ChangeKind) -> u64 {
        let mut c = *self;
        *c.slot(kind)
    }

    /// Rows of every kind but the three unchanged ones.
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
}

impl NewRisk {
    pub fn compute(changes: &[Change], new: &Side) -> NewRisk {
        let mut r = NewRisk::default();
        for c in changes {
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
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::Write {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Writes `diff.csv` (every row), `diff.json` (the model) and `diff.html` into `out_dir`,
/// each atomically; returns the files written, sorted.
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
        };
        let changes = compare(&old, &new);
        assert_eq!(KindCounts::of(&changes).newly_granted, 2);
        assert_eq!(
            NewRisk::compute(&changes, &new).at_or_above(Sensitivity::Low),
            0
        );
    }
}
