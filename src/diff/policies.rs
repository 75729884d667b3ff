//! The permission tables of `diff.html`: rows grouped once more, per principal × granting
//! policies × change kind, so that detaching one policy reads as one row whatever services and
//! verdicts it spans. Each group keeps its rows (as parts) and its actions' names for an
//! expandable detail, both bounded.
//!
//! A group and its parts are ranked and labelled by the sensitivity their counts count
//! ([`Change::current_sensitivity`]: the new side's, the old side's for `revoked`), so a label
//! never names a level its counts do not have: an action critical before (with an iam:PassRole
//! since revoked) and medium now is medium.

use std::collections::BTreeMap;

use serde::Serialize;

use super::compare::{Change, State};
use super::expand::Notations;
use super::kinds::ChangeKind;
use crate::analysis::{BySensitivity, Sensitivity, Status};
use crate::catalog::ActionId;
use crate::model::Timestamp;

/// One side of a part: the verdict its actions had.
#[derive(Debug, Clone, Serialize)]
pub struct PartSide {
    pub status: Status,
    pub reason: &'static str,
    pub last_accessed: Option<Timestamp>,
    pub excluded: bool,
}

impl PartSide {
    fn of(s: &Option<State>) -> Option<PartSide> {
        s.as_ref().map(|s| PartSide {
            status: s.status,
            reason: s.reason.as_str(),
            last_accessed: s.last_accessed,
            excluded: s.excluded,
        })
    }
}

/// One row of `diff.csv` inside a policy group.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyPart {
    pub service: String,
    /// The actions' notation.
    pub action: String,
    pub actions: u64,
    /// The highest sensitivity of its actions on the new side (the old side for `revoked`).
    pub sensitivity: Option<Sensitivity>,
    pub old: Option<PartSide>,
    pub new: Option<PartSide>,
}

/// A principal's rows of one change kind granted by the same policies.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyGroup {
    pub kind: ChangeKind,
    /// The highest sensitivity of its actions on the new side (the old side for `revoked`): the
    /// highest level `by_sensitivity` counts.
    pub sensitivity: Option<Sensitivity>,
    pub account_id: String,
    pub principal_type: String,
    pub principal_name: String,
    pub principal_arn: String,
    pub actionable: bool,
    /// The granting policies on the new side (the old side for `revoked`).
    pub granted_by: String,
    /// The granting policies on the old side, where they differ from the new side's (` | `
    /// between several).
    pub granted_by_old: Option<String>,
    pub actions: u64,
    /// Of its actions (new side, else old).
    pub by_sensitivity: BySensitivity,
    /// Sorted.
    pub services: Vec<String>,
    /// Actions per status on each side (in status order), e.g. `[("unused", 180), ("used", 1)]`.
    pub old_statuses: Vec<(Status, u64)>,
    pub new_statuses: Vec<(Status, u64)>,
    /// Its `diff.csv` rows, most sensitive first, at most `parts` of [`Caps`].
    pub parts: Vec<PolicyPart>,
    pub parts_omitted: u64,
    /// `service:Action` of its actions in catalog order, at most `names` of [`Caps`].
    pub names: Vec<String>,
    pub names_omitted: u64,
    /// The distinct `detail`s of its rows, sorted: why a `grant_unknown` group is not settled
    /// (empty for the other kinds).
    pub reasons: Vec<String>,
}

/// How much of a group the page lists.
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    pub parts: usize,
    pub names: usize,
}

/// What orders a policy group within its kind and sensitivity: account, principal type, name,
/// ARN and granting policies.
pub type GroupKey<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str);

fn granted_by(c: &Change) -> &str {
    c.new
        .as_ref()
        .or(c.old.as_ref())
        .map_or("", |s| s.granted_by.as_str())
}

/// A policy group before it is built: its place and its rows.
pub struct Candidate<'a> {
    pub kind: ChangeKind,
    /// The highest sensitivity of its actions on the new side (the old side for `revoked`).
    pub sensitivity: Option<Sensitivity>,
    pub key: GroupKey<'a>,
    /// Not empty; most sensitive first (as `sensitivity`), then in `compare` order.
    pub rows: Vec<&'a Change>,
}

impl Candidate<'_> {
    pub fn actions(&self) -> u64 {
        self.rows.iter().map(|c| c.actions.len() as u64).sum()
    }
}

/// The policy groups of the permission rows of `changes` that `keep` selects, sorted by kind,
/// sensitivity (highest first), account, principal and policies; build those wanted with
/// [`build`].
pub fn policy_groups<'a>(
    changes: &'a [Change],
    keep: impl Fn(&Change) -> bool,
) -> Vec<Candidate<'a>> {
    let mut by_key: BTreeMap<(ChangeKind, GroupKey<'a>), Vec<&'a Change>> = BTreeMap::new();
    for c in changes.iter().filter(|c| !c.actions.is_empty() && keep(c)) {
        let key = (
            c.account_id.as_str(),
            c.principal_type.as_str(),
            c.principal_name.as_str(),
            c.principal_arn.as_str(),
            granted_by(c),
        );
        by_key.entry((c.kind, key)).or_default().push(c);
    }
    let mut out: Vec<Candidate<'a>> = by_key
        .into_iter()
        .map(|((kind, key), mut rows)| {
            // Stable: `compare` order within a sensitivity.
            rows.sort_by_key(|c| std::cmp::Reverse(c.current_sensitivity()));
            Candidate {
                kind,
                sensitivity: rows.iter().filter_map(|c| c.current_sensitivity()).max(),
                key,
                rows,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        (a.kind, std::cmp::Reverse(a.sensitivity), a.key).cmp(&(
            b.kind,
            std::cmp::Reverse(b.sensitivity),
            b.key,
        ))
    });
    out
}

fn statuses(rows: &[&Change], side: fn(&Change) -> &Option<State>) -> Vec<(Status, u64)> {
    let mut m: BTreeMap<Status, u64> = BTreeMap::new();
    for c in rows {
        if let Some(s) = side(c) {
            *m.entry(s.status).or_default() += c.actions.len() as u64;
        }
    }
    m.into_iter().collect()
}

/// The group of a candidate, its detail cut to `caps`.
pub fn build(c: &Candidate<'_>, notations: &mut Notations<'_>, caps: Caps) -> PolicyGroup {
    let rows = c.rows.as_slice();
    let first = rows[0];
    let mut by_sensitivity = BySensitivity::default();
    let mut services: Vec<String> = Vec::new();
    let mut ids: Vec<ActionId> = Vec::new();
    for c in rows {
        by_sensitivity.add(&c.by_sensitivity());
        services.push(c.service.clone());
        ids.extend(c.actions.iter().map(|a| a.id));
    }
    services.sort();
    services.dedup();
    ids.sort_unstable();
    let actions = ids.len() as u64;
    let catalog = notations.catalog();
    let names = ids
        .iter()
        .take(caps.names)
        .map(|id| catalog.full_name(*id))
        .collect::<Vec<_>>();
    let parts: Vec<PolicyPart> = rows
        .iter()
        .take(caps.parts)
        .map(|c| PolicyPart {
            service: c.service.clone(),
            action: notations.of(&c.actions),
            actions: c.actions.len() as u64,
            sensitivity: c.current_sensitivity(),
            old: PartSide::of(&c.old),
            new: PartSide::of(&c.new),
        })
        .collect();
    let gb = granted_by(first).to_string();
    let mut old_gb: Vec<&str> = rows
        .iter()
        .filter(|c| c.new.is_some())
        .filter_map(|c| c.old.as_ref().map(|s| s.granted_by.as_str()))
        .filter(|o| *o != gb)
        .collect();
    old_gb.sort_unstable();
    old_gb.dedup();
    let mut reasons: Vec<String> = rows
        .iter()
        .filter(|c| !c.detail.is_empty())
        .map(|c| c.detail.clone())
        .collect();
    reasons.sort_unstable();
    reasons.dedup();
    PolicyGroup {
        kind: first.kind,
        sensitivity: c.sensitivity,
        account_id: first.account_id.clone(),
        principal_type: first.principal_type.clone(),
        principal_name: first.principal_name.clone(),
        principal_arn: first.principal_arn.clone(),
        actionable: first.actionable,
        granted_by_old: (!old_gb.is_empty()).then(|| old_gb.join(" | ")),
        granted_by: gb,
        actions,
        by_sensitivity,
        services,
        old_statuses: statuses(rows, |c| &c.old),
        new_statuses: statuses(rows, |c| &c.new),
        parts_omitted: (rows.len() - parts.len()) as u64,
        parts,
        names_omitted: actions - names.len() as u64,
        names,
        reasons,
    }
}
