//! One side of a diff: an analysis reduced to plain per-principal and per-action tables.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::analysis::identities::{IdentityFinding, IdentityReport, NotPossible};
use crate::analysis::{Analysis, BySensitivity, Reason, Sensitivity, Status};
use crate::model::Timestamp;

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
