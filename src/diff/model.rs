//! The diff model: both sides' metadata, counts per kind, headline numbers, notes and the rows
//! (capped per kind). `diff.json` is this model; `diff.html` draws it. Built once.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::{Change, KindCounts, NewRisk, Side};
use crate::analysis::{Analysis, AsOfSource, BySensitivity, Counts};
use crate::model::{Export, Timestamp};
use crate::report::model::{CatalogInfo, ToolInfo};

/// How many rows `diff.json` carries per kind (`diff.csv` carries every row).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct DiffLimits {
    /// Rows of each change kind (everything but the three unchanged kinds).
    pub per_change_kind: usize,
    /// Highest-sensitivity rows of each unchanged kind (`still_unused`, `still_unknown`,
    /// `unchanged_used`).
    pub per_unchanged_kind: usize,
    /// Rows per table in `diff.html`.
    pub html_table: usize,
}

impl Default for DiffLimits {
    fn default() -> Self {
        DiffLimits {
            per_change_kind: 5000,
            per_unchanged_kind: 100,
            html_table: 200,
        }
    }
}

/// One account on one side.
#[derive(Debug, Clone, Serialize)]
pub struct AccountMeta {
    pub account_id: String,
    pub partition: String,
    pub path: String,
    pub as_of: Option<Timestamp>,
    pub as_of_source: AsOfSource,
    pub window_start: Option<Timestamp>,
    pub principals: usize,
    pub input_files: usize,
    /// `tool` of `manifest.json`, when the export has one.
    pub manifest_tool: Option<String>,
    pub manifest_created: Option<Timestamp>,
    pub has_manifest: bool,
    pub warnings: usize,
}

/// One side of the diff.
#[derive(Debug, Clone, Serialize)]
pub struct SideMeta {
    /// The folder given on the command line.
    pub path: String,
    /// Sorted by account id.
    pub accounts: Vec<AccountMeta>,
    pub principals: usize,
    pub totals: Counts,
    /// Unused, actionable, not excluded.
    pub unused_by_sensitivity: BySensitivity,
    pub warnings: usize,
}

impl SideMeta {
    pub fn new(path: &Path, exports: &[Export], an: &Analysis<'_>) -> SideMeta {
        let accounts = an
            .exports
            .iter()
            .map(|e| {
                let manifest = exports
                    .iter()
                    .find(|x| x.account_id == e.account_id)
                    .and_then(|x| x.manifest.as_ref());
                AccountMeta {
                    account_id: e.account_id.clone(),
                    partition: e.partition.clone(),
                    path: e.path.clone(),
                    as_of: e.as_of,
                    as_of_source: e.as_of_source,
                    window_start: e.window_start,
                    principals: e.principals,
                    input_files: e.files.len(),
                    manifest_tool: manifest.and_then(|m| m.tool.clone()),
                    manifest_created: manifest.and_then(|m| m.created),
                    has_manifest: manifest.is_some(),
                    warnings: an
                        .warnings
                        .iter()
                        .filter(|w| w.account_id == e.account_id)
                        .count(),
                }
            })
            .collect();
        SideMeta {
            path: path.display().to_string(),
            accounts,
            principals: an.principals.len(),
            totals: an.totals,
            unused_by_sensitivity: an.unused_by_sensitivity,
            warnings: an.warnings.len(),
        }
    }

    fn account(&self, id: &str) -> Option<&AccountMeta> {
        self.accounts.iter().find(|a| a.account_id == id)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DiffSettings {
    pub unused_after_days: u32,
    pub config_file: Option<String>,
}

/// A number on both sides.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Delta {
    pub old: u64,
    pub new: u64,
    /// `new - old`.
    pub change: i64,
}

impl Delta {
    fn new(old: u64, new: u64) -> Delta {
        Delta {
            old,
            new,
            change: new as i64 - old as i64,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Headline {
    /// Unused, actionable, not excluded critical + high findings.
    pub unused_critical_high: Delta,
    pub unused_critical: Delta,
    pub unused_high: Delta,
    /// Unused, actionable, not excluded findings of any sensitivity.
    pub unused: Delta,
    pub granted: Delta,
    pub principals: Delta,
    pub accounts: Delta,
    /// Rows of every change kind (all but the unchanged kinds).
    pub changes: u64,
    /// New risk at high or critical (see `new_risk`).
    pub new_risk_high_plus: u64,
    /// Identity and credential findings (every sensitivity, actionable or not).
    pub identity_findings: Delta,
}

/// Where an account was exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    Both,
    OldOnly,
    NewOnly,
}

#[derive(Debug, Clone, Serialize)]
pub struct AccountDiff {
    pub account_id: String,
    pub presence: Presence,
    pub old_as_of: Option<Timestamp>,
    pub new_as_of: Option<Timestamp>,
    pub counts: KindCounts,
    /// Unused, actionable, not excluded, by sensitivity (absent on a side without the account).
    pub old_unused: Option<BySensitivity>,
    pub new_unused: Option<BySensitivity>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DiffModel {
    pub tool: ToolInfo,
    pub catalog: CatalogInfo,
    pub settings: DiffSettings,
    pub limits: DiffLimits,
    pub old: SideMeta,
    pub new: SideMeta,
    pub headline: Headline,
    /// Rows per kind (all rows, as in diff.csv).
    pub counts: KindCounts,
    pub new_risk: NewRisk,
    /// Sorted by account id.
    pub accounts: Vec<AccountDiff>,
    /// Differences between the sides' inputs that a reader should know about.
    pub notes: Vec<String>,
    /// In diff.csv order, capped per kind (see `limits`).
    pub rows: Vec<Change>,
    /// Rows per kind not in `rows`.
    pub rows_omitted: KindCounts,
}

/// Inputs of [`DiffModel::build`] that come from the analysis runs.
pub struct BuildInput<'a> {
    pub old_meta: SideMeta,
    pub new_meta: SideMeta,
    pub old: &'a Side,
    pub new: &'a Side,
    pub changes: &'a [Change],
    pub catalog: CatalogInfo,
    pub settings: DiffSettings,
    pub limits: DiffLimits,
}

impl DiffModel {
    pub fn build(input: BuildInput<'_>) -> DiffModel {
        let BuildInput {
            old_meta,
            new_meta,
            old,
            new,
            changes,
            catalog,
            settings,
            limits,
        } = input;
        let counts = KindCounts::of(changes);
        let new_risk = NewRisk::compute(changes, new);

        let mut taken = KindCounts::default();
        let mut rows_omitted = KindCounts::default();
        let mut rows = Vec::new();
        for c in changes {
            let cap = if c.kind.is_change() {
                limits.per_change_kind
            } else {
                limits.per_unchanged_kind
            };
            if taken.get(c.kind) < cap as u64 {
                taken.add(c.kind);
                rows.push(c.clone());
            } else {
                rows_omitted.add(c.kind);
            }
        }

        let old_unused = old.unused_by_account();
        let new_unused = new.unused_by_account();
        let mut per_account: BTreeMap<&str, KindCounts> = BTreeMap::new();
        for c in changes {
            per_account
                .entry(c.account_id.as_str())
                .or_default()
                .add(c.kind);
        }
        let mut ids: Vec<&str> = old
            .accounts
            .iter()
            .chain(&new.accounts)
            .map(String::as_str)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let accounts = ids
            .iter()
            .map(|id| {
                let o = old_meta.account(id);
                let n = new_meta.account(id);
                AccountDiff {
                    account_id: (*id).to_string(),
                    presence: match (
                        old.accounts.iter().any(|a| a == id),
                        new.accounts.iter().any(|a| a == id),
                    ) {
                        (true, true) => Presence::Both,
                        (true, false) => Presence::OldOnly,
                        _ => Presence::NewOnly,
                    },
                    old_as_of: o.and_then(|a| a.as_of),
                    new_as_of: n.and_then(|a| a.as_of),
                    counts: per_account.get(id).copied().unwrap_or_default(),
                    old_unused: old_unused.get(*id).copied(),
                    new_unused: new_unused.get(*id).copied(),
                }
            })
            .collect();

        let ou = old.unused_by_sensitivity();
        let nu = new.unused_by_sensitivity();
        let sum = |b: &BySensitivity| b.critical + b.high + b.medium + b.low;
        let headline = Headline {
            unused_critical_high: Delta::new(ou.critical + ou.high, nu.critical + nu.high),
            unused_critical: Delta::new(ou.critical, nu.critical),
            unused_high: Delta::new(ou.high, nu.high),
            unused: Delta::new(sum(&ou), sum(&nu)),
            granted: Delta::new(old.findings.len() as u64, new.findings.len() as u64),
            principals: Delta::new(old.principals.len() as u64, new.principals.len() as u64),
            accounts: Delta::new(old.accounts.len() as u64, new.accounts.len() as u64),
            changes: counts.changes(),
            new_risk_high_plus: new_risk.at_or_above(crate::analysis::Sensitivity::High),
            identity_findings: Delta::new(old.identities.len() as u64, new.identities.len() as u64),
        };

        let mut notes = notes(&old_meta, &new_meta, &catalog, &settings, &counts);
        notes.extend(identity_notes(old, new, &counts));
        DiffModel {
            tool: ToolInfo {
                name: "iam-tighten",
                version: crate::VERSION,
            },
            catalog,
            settings,
            limits,
            old: old_meta,
            new: new_meta,
            headline,
            counts,
            new_risk,
            accounts,
            notes,
            rows,
            rows_omitted,
        }
    }
}

fn join(ids: &[&str]) -> String {
    match ids {
        [one] => format!("account {one}"),
        _ => format!("accounts {}", ids.join(", ")),
    }
}

/// Notes about the inputs, in a fixed order. Notes that hold for several accounts are merged.
fn notes(
    old: &SideMeta,
    new: &SideMeta,
    catalog: &CatalogInfo,
    settings: &DiffSettings,
    counts: &KindCounts,
) -> Vec<String> {
    let mut notes = vec![format!(
        "Both sides were recomputed from their exports with the same action catalog ({}, version {}), \
         the same {}-day window and the same exclusions, so a catalog or tool change is never reported \
         as a permission change. A report.json from a past run is not read.",
        catalog.source, catalog.version, settings.unused_after_days
    )];

    // Grouped per-account notes: text → accounts.
    let mut grouped: BTreeMap<(u8, String), Vec<&str>> = BTreeMap::new();
    for n in &new.accounts {
        let Some(o) = old.account(&n.account_id) else {
            continue;
        };
        let id = n.account_id.as_str();
        match (o.as_of, n.as_of, n.window_start) {
            (Some(oa), Some(na), Some(nws)) => {
                if na < oa {
                    grouped
                        .entry((0, format!(
                            "the \"old\" export is newer than the \"new\" one ({} vs {}): the sides may be swapped",
                            oa.date_naive(),
                            na.date_naive()
                        )))
                        .or_default()
                        .push(id);
                }
                if nws < oa {
                    grouped
                        .entry((
                            1,
                            format!(
                                "the windows overlap by {} (old as-of {}, new window start {}): \
                             an action used only in the overlap counts as used on both sides",
                                span(oa - nws),
                                oa.date_naive(),
                                nws.date_naive()
                            ),
                        ))
                        .or_default()
                        .push(id);
                } else if nws > oa {
                    grouped
                        .entry((1, format!(
                            "{} between the old as-of ({}) and the new window start ({}) are seen by neither side: \
                             an action used only then shows as unused on the new side",
                            span(nws - oa),
                            oa.date_naive(),
                            nws.date_naive()
                        )))
                        .or_default()
                        .push(id);
                }
            }
            _ => {
                for (side, a) in [("old", o), ("new", n)] {
                    if a.as_of.is_none() {
                        grouped
                            .entry((2, format!("the {side} export has no as-of time: every verdict on that side is unknown")))
                            .or_default()
                            .push(id);
                    }
                }
            }
        }
        if o.has_manifest != n.has_manifest {
            let (with, without) = if n.has_manifest {
                ("new", "old")
            } else {
                ("old", "new")
            };
            grouped
                .entry((3, format!(
                    "only the {with} export has a manifest.json; the {without} one was not written by `iam-tighten fetch` (no file hashes)"
                )))
                .or_default()
                .push(id);
        } else if o.manifest_tool != n.manifest_tool {
            let t = |x: &Option<String>| x.clone().unwrap_or_else(|| "an unknown tool".into());
            grouped
                .entry((
                    3,
                    format!(
                        "the exports were written by different tools: {} (old) and {} (new)",
                        t(&o.manifest_tool),
                        t(&n.manifest_tool)
                    ),
                ))
                .or_default()
                .push(id);
        }
    }
    for ((_, text), ids) in grouped {
        notes.push(format!("{}: {text}.", capitalise(&join(&ids))));
    }

    if counts.principal_recreated > 0 {
        notes.push(format!(
            "{} principal(s) were deleted and re-created under the same ARN: their last-accessed history starts again at re-creation, and their actions are compared as usual.",
            counts.principal_recreated
        ));
    }
    for (label, side) in [("old", old), ("new", new)] {
        if side.warnings > 0 {
            notes.push(format!(
                "The {label} side has {} input warning(s); run `iam-tighten report {}` to see them.",
                side.warnings, side.path
            ));
        }
    }
    notes
}

/// Identity checks that could not run, per side and reason (accounts and checks listed), and what
/// `identity_unknown` means when there are such rows.
fn identity_notes(old: &Side, new: &Side, counts: &KindCounts) -> Vec<String> {
    let mut notes = Vec::new();
    for (label, side) in [("old", old), ("new", new)] {
        // reason → account → checks
        let mut by_reason: BTreeMap<&str, BTreeMap<&str, Vec<&str>>> = BTreeMap::new();
        for n in &side.identity_checks_not_possible {
            by_reason
                .entry(n.reason.as_str())
                .or_default()
                .entry(n.account_id.as_str())
                .or_default()
                .push(n.check.as_str());
        }
        for (reason, accounts) in by_reason {
            let parts: Vec<String> = accounts
                .iter()
                .map(|(acct, checks)| format!("account {acct}: {}", checks.join(", ")))
                .collect();
            notes.push(format!(
                "Identity checks not possible on the {label} side ({}): {reason}.",
                parts.join("; ")
            ));
        }
    }
    if counts.identity_unknown > 0 {
        notes.push(format!(
            "{} identity finding(s) of the old side could not be checked on the new side (the check \
             could not run there, or the account was not exported): they are listed as \
             identity_unknown, not as resolved.",
            counts.identity_unknown
        ));
    }
    notes
}

/// `3 days`, `1 day`, `5 hours`, `less than an hour`.
fn span(d: chrono::Duration) -> String {
    let (n, unit) = if d.num_days() >= 1 {
        (d.num_days(), "day")
    } else if d.num_hours() >= 1 {
        (d.num_hours(), "hour")
    } else {
        return "less than an hour".into();
    };
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_lists_read_well() {
        assert_eq!(capitalise(&join(&["1"])), "Account 1");
        assert_eq!(capitalise(&join(&["1", "2"])), "Accounts 1, 2");
    }

    #[test]
    fn spans_read_well() {
        assert_eq!(span(chrono::Duration::hours(30)), "1 day");
        assert_eq!(span(chrono::Duration::days(91)), "91 days");
        assert_eq!(span(chrono::Duration::minutes(23 * 60 + 59)), "23 hours");
        assert_eq!(span(chrono::Duration::minutes(5)), "less than an hour");
    }

    #[test]
    fn delta_is_signed() {
        let d = Delta::new(41, 12);
        assert_eq!(d.change, -29);
    }
}
