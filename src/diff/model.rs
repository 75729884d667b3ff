//! The diff model: both sides' metadata, counts per kind, headline numbers, notes, the first
//! rows of each kind and the first policy groups of each permission table of `diff.html`.
//! `diff.json` is this model (without the policy groups, which `diff.html` draws from the same
//! rows); built once, from what [`Collector`] kept of every account.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::collect::{Collector, TableId};
use super::compare::{Change, IdentityDelta, State};
use super::csv::CsvOptions;
use super::expand::Notations;
use super::permission_sets::PermissionSetDiff;
use super::policies::PolicyGroup;
use super::{ChangeKind, KindCounts, NewRisk};
use crate::analysis::identities::NotPossible;
use crate::analysis::{Analysis, AsOfSource, BySensitivity, Counts, ExclusionId, Sensitivity};
use crate::model::{Export, Timestamp};
use crate::report::model::{CatalogInfo, ToolInfo};

/// How much `diff.json` and `diff.html` list (`diff.csv` has every row of the kinds it writes).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct DiffLimits {
    /// Rows of each change kind in `diff.json` (everything but the unchanged kinds).
    pub per_change_kind: usize,
    /// Highest-sensitivity rows of each unchanged kind in `diff.json` (`still_unused`,
    /// `still_unknown`, `unchanged_used`, `identity_unchanged`, `grant_unknown` and
    /// `identity_unknown`).
    pub per_unchanged_kind: usize,
    /// Rows (policy groups) per table in `diff.html`.
    pub html_table: usize,
    /// `diff.csv` rows listed in a policy group's detail in `diff.html`.
    pub html_parts: usize,
    /// Action names listed in a policy group's detail in `diff.html`.
    pub html_names: usize,
}

impl Default for DiffLimits {
    fn default() -> Self {
        DiffLimits {
            per_change_kind: 5000,
            per_unchanged_kind: 100,
            html_table: 200,
            html_parts: 12,
            html_names: 60,
        }
    }
}

/// A row of `diff.json`: a row of the grouped `diff.csv`.
#[derive(Debug, Clone, Serialize)]
pub struct DiffRow {
    pub kind: ChangeKind,
    pub account_id: String,
    pub principal_type: String,
    pub principal_name: String,
    pub principal_arn: String,
    pub service: String,
    /// Permission rows: the actions' notation. Identity rows: the identity finding kind.
    pub action: String,
    /// Permission rows: how many actions (0 on other rows).
    pub actions: u64,
    /// Permission rows: of the actions, per sensitivity (new side, else old).
    pub by_sensitivity: BySensitivity,
    pub old: Option<State>,
    pub new: Option<State>,
    pub old_sensitivity: Option<Sensitivity>,
    pub new_sensitivity: Option<Sensitivity>,
    pub actionable: bool,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<Box<IdentityDelta>>,
}

impl DiffRow {
    pub fn of(c: &Change, notations: &mut Notations<'_>) -> DiffRow {
        let permission = !c.actions.is_empty();
        DiffRow {
            kind: c.kind,
            account_id: c.account_id.clone(),
            principal_type: c.principal_type.clone(),
            principal_name: c.principal_name.clone(),
            principal_arn: c.principal_arn.clone(),
            service: c.service.clone(),
            action: if permission {
                notations.of(&c.actions)
            } else {
                c.action.clone()
            },
            actions: c.actions.len() as u64,
            by_sensitivity: c.by_sensitivity(),
            old: c.old.clone(),
            new: c.new.clone(),
            old_sensitivity: c.old_sensitivity,
            new_sensitivity: c.new_sensitivity,
            actionable: c.actionable,
            detail: c.detail.clone(),
            identity: c.identity.clone(),
        }
    }

    /// The higher of the two sides' sensitivities.
    pub fn sensitivity(&self) -> Option<Sensitivity> {
        self.old_sensitivity.max(self.new_sensitivity)
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
    /// The `--config` exclusion rules with an expiry date, as this side's analysis of the
    /// account applied them (for the warning of a rule that expired between the sides).
    #[serde(skip)]
    pub expiring_rules: Vec<ExpiringRule>,
}

/// An exclusion rule with an expiry date, as one export's analysis applied it.
#[derive(Debug, Clone)]
pub struct ExpiringRule {
    pub id: ExclusionId,
    pub expires: chrono::NaiveDate,
    pub reason: String,
    /// It expired before the export's as-of date and was not applied.
    pub expired: bool,
    /// Permissions (principal × action pairs) it excluded.
    pub matched: u64,
}

impl ExpiringRule {
    /// The rules of `config` (as an analysis left them) that have an expiry date.
    fn of(config: &crate::analysis::Config) -> Vec<ExpiringRule> {
        config
            .exclusions
            .iter()
            .filter_map(|r| {
                Some(ExpiringRule {
                    id: r.id,
                    expires: r.expires?,
                    reason: r.reason.clone(),
                    expired: r.expired,
                    matched: r.matched,
                })
            })
            .collect()
    }
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
    /// The side's organisation part (`<folder>/organization/`), when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<OrganizationMeta>,
}

/// A side's organisation part, in brief.
#[derive(Debug, Clone, Serialize)]
pub struct OrganizationMeta {
    pub id: String,
    pub management_account: String,
    pub path: String,
    pub permission_sets: usize,
    pub control_policies: usize,
}

impl OrganizationMeta {
    pub fn of(org: &crate::model::organization::Organization) -> OrganizationMeta {
        OrganizationMeta {
            id: org.id.clone(),
            management_account: org.management_account.clone(),
            path: org.root.display().to_string(),
            permission_sets: org.permission_sets.len(),
            control_policies: org.control_policies.len(),
        }
    }
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
                    expiring_rules: ExpiringRule::of(&an.config),
                }
            })
            .collect();
        SideMeta {
            path: path.display().to_string(),
            accounts,
            principals: an.principals.len(),
            totals: an.totals,
            unused_by_sensitivity: an.unused_by_sensitivity,
            organization: None,
            warnings: an.warnings.len(),
        }
    }

    /// One side made of the sides of its exports (each analysed on its own), accounts sorted.
    pub fn merge(path: &Path, parts: Vec<SideMeta>) -> SideMeta {
        let mut m = SideMeta {
            path: path.display().to_string(),
            accounts: Vec::new(),
            principals: 0,
            totals: Counts::default(),
            unused_by_sensitivity: BySensitivity::default(),
            warnings: 0,
            organization: None,
        };
        for p in parts {
            m.accounts.extend(p.accounts);
            m.principals += p.principals;
            let (t, o) = (&mut m.totals, &p.totals);
            t.granted += o.granted;
            t.used += o.used;
            t.unused += o.unused;
            t.unknown += o.unknown;
            t.excluded += o.excluded;
            m.unused_by_sensitivity.add(&p.unused_by_sensitivity);
            m.warnings += p.warnings;
        }
        m.accounts.sort_by(|a, b| a.account_id.cmp(&b.account_id));
        m
    }

    fn account(&self, id: &str) -> Option<&AccountMeta> {
        self.accounts.iter().find(|a| a.account_id == id)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DiffSettings {
    pub unused_after_days: u32,
    pub config_file: Option<String>,
    /// What `diff.csv` holds.
    pub csv: CsvOptions,
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
    pub fn new(old: u64, new: u64) -> Delta {
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
    /// Principal × action pairs (and account, principal and identity rows) of every change kind
    /// (all but the unchanged kinds, `grant_unknown` and `identity_unknown`).
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

/// A permission table of `diff.html`: its first policy groups and its size.
#[derive(Debug, Clone, Default)]
pub struct PolicyTable {
    pub groups: Vec<PolicyGroup>,
    pub total_groups: u64,
    pub total_actions: u64,
}

/// The permission tables of `diff.html`.
#[derive(Debug, Clone, Default)]
pub struct Tables {
    /// Newly granted or newly unused, high or critical on the new side, actionable, not
    /// excluded.
    pub new_risk: PolicyTable,
    pub revoked: PolicyTable,
    pub still_unused: PolicyTable,
    /// `grant_unknown`: granted on one side only where a side's export lacks part of the
    /// principal's policies.
    pub not_settled: PolicyTable,
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
    /// Principal × action pairs per kind (account, principal and identity rows count 1): the
    /// rows of the per-action `diff.csv` with `--include-unchanged`.
    pub counts: KindCounts,
    /// Rows of the grouped `diff.csv` (with `--include-unchanged`) per kind.
    pub row_counts: KindCounts,
    pub new_risk: NewRisk,
    /// Sorted by account id.
    pub accounts: Vec<AccountDiff>,
    /// Rows per kind of the organisation parts' comparison (permission sets, SCPs and RCPs, the
    /// organisation's accounts), which are in no account's `counts`: with them, the accounts'
    /// counts add up to `counts`.
    pub organization_counts: KindCounts,
    /// The IAM Identity Center permission sets, by name: their roles on each side rolled up and
    /// their roles' changes (`diff-permission-sets.csv` has the same, one row per set).
    pub permission_sets: Vec<PermissionSetDiff>,
    /// Accounts whose "old" export is newer than their "new" one: the sides look swapped.
    pub swapped_accounts: Vec<String>,
    /// What moves the counts without being a permission change, to read before them (accounts
    /// exported on one side only, ...): on stderr and at the top of diff.html too.
    pub warnings: Vec<String>,
    /// Differences between the sides' inputs that a reader should know about.
    pub notes: Vec<String>,
    /// Rows of the grouped `diff.csv`, in its order, capped per kind (see `limits`).
    pub rows: Vec<DiffRow>,
    /// Rows per kind not in `rows`.
    pub rows_omitted: KindCounts,
    /// The permission tables of `diff.html` (not in `diff.json`: the same rows, grouped by
    /// granting policies).
    #[serde(skip)]
    pub tables: Tables,
}

/// Inputs of [`DiffModel::build`].
pub struct BuildInput {
    pub old_meta: SideMeta,
    pub new_meta: SideMeta,
    /// What was kept of every account's comparison.
    pub collected: Collector,
    pub catalog: CatalogInfo,
    pub settings: DiffSettings,
    pub limits: DiffLimits,
    /// Notes of the organisation parts' comparison (`compare_organizations`).
    pub organization_notes: Vec<String>,
}

impl DiffModel {
    pub fn build(input: BuildInput) -> DiffModel {
        let BuildInput {
            old_meta,
            new_meta,
            mut collected,
            catalog,
            settings,
            limits,
            organization_notes,
        } = input;
        let (rows, rows_omitted) = collected.rows();
        let permission_sets = std::mem::take(&mut collected.permission_sets).finish();
        let mut new_risk = collected.new_risk;
        new_risk.add_permission_sets(&permission_sets);
        let mut table = |id| {
            let (groups, total_groups, total_actions) = collected.table(id);
            PolicyTable {
                groups,
                total_groups,
                total_actions,
            }
        };
        let tables = Tables {
            new_risk: table(TableId::NewRisk),
            revoked: table(TableId::Revoked),
            still_unused: table(TableId::StillUnused),
            not_settled: table(TableId::NotSettled),
        };
        let counts = collected.counts;
        let (o, n) = (&collected.old, &collected.new);
        let accounts = account_rows(&collected, &old_meta, &new_meta);
        let ou = o.unused();
        let nu = n.unused();
        let sum = |b: &BySensitivity| b.critical + b.high + b.medium + b.low;
        let headline = Headline {
            unused_critical_high: Delta::new(ou.critical + ou.high, nu.critical + nu.high),
            unused_critical: Delta::new(ou.critical, nu.critical),
            unused_high: Delta::new(ou.high, nu.high),
            unused: Delta::new(sum(&ou), sum(&nu)),
            granted: Delta::new(o.granted, n.granted),
            principals: Delta::new(o.principals, n.principals),
            accounts: Delta::new(o.accounts.len() as u64, n.accounts.len() as u64),
            changes: counts.changes(),
            new_risk_high_plus: new_risk.at_or_above(Sensitivity::High),
            identity_findings: Delta::new(o.identities, n.identities),
        };
        let swapped_accounts = swapped(&old_meta, &new_meta);
        let mut warnings = one_side_accounts(&old_meta, &new_meta);
        warnings.extend(expired_between(&old_meta, &new_meta));
        warnings.extend(sets_partly_exported(&permission_sets));
        let mut notes = notes(&old_meta, &new_meta, &catalog, &settings, &counts);
        notes.extend(identity_notes(
            &o.checks_not_possible,
            &n.checks_not_possible,
            &counts,
        ));
        notes.extend(organization_notes);
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
            row_counts: collected.row_counts,
            new_risk,
            accounts,
            organization_counts: collected.organization,
            permission_sets,
            swapped_accounts,
            warnings,
            notes,
            rows,
            rows_omitted,
            tables,
        }
    }
}

fn account_rows(c: &Collector, old_meta: &SideMeta, new_meta: &SideMeta) -> Vec<AccountDiff> {
    let mut ids: Vec<&str> = c
        .old
        .accounts
        .iter()
        .chain(&c.new.accounts)
        .map(String::as_str)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids.iter()
        .map(|id| {
            let in_old = c.old.accounts.iter().any(|a| a == id);
            let in_new = c.new.accounts.iter().any(|a| a == id);
            AccountDiff {
                account_id: (*id).to_string(),
                presence: match (in_old, in_new) {
                    (true, true) => Presence::Both,
                    (true, false) => Presence::OldOnly,
                    _ => Presence::NewOnly,
                },
                old_as_of: old_meta.account(id).and_then(|a| a.as_of),
                new_as_of: new_meta.account(id).and_then(|a| a.as_of),
                counts: c.per_account.get(*id).copied().unwrap_or_default(),
                old_unused: c.old.unused_by_account.get(*id).copied(),
                new_unused: c.new.unused_by_account.get(*id).copied(),
            }
        })
        .collect()
}

/// Accounts on both sides whose old export's as-of time is later than the new one's.
fn swapped(old: &SideMeta, new: &SideMeta) -> Vec<String> {
    new.accounts
        .iter()
        .filter(|n| {
            old.account(&n.account_id)
                .and_then(|o| o.as_of)
                .zip(n.as_of)
                .is_some_and(|(oa, na)| na < oa)
        })
        .map(|n| n.account_id.clone())
        .collect()
}

/// One warning per side that has accounts the other side lacks, naming each with its number of
/// principals: their principals are added or removed, and the headline's totals hold them on
/// one side only.
fn one_side_accounts(old: &SideMeta, new: &SideMeta) -> Vec<String> {
    let mut warnings = Vec::new();
    // (label, side, other side, consequence for one account, for several)
    for (label, side, other, one, several) in [
        (
            "old",
            old,
            new,
            "its principals are listed as principal_removed and its identity findings as \
             identity_unknown, and only the old side's totals in the headline hold it; if it \
             was not closed, export it on the new side too",
            "their principals are listed as principal_removed and their identity findings as \
             identity_unknown, and only the old side's totals in the headline hold them; if \
             they were not closed, export them on the new side too",
        ),
        (
            "new",
            new,
            old,
            "its principals are listed as principal_added (their grants count as new risk for \
             --fail-on-new), and only the new side's totals in the headline hold it; if it \
             existed before, export it on the old side too",
            "their principals are listed as principal_added (their grants count as new risk \
             for --fail-on-new), and only the new side's totals in the headline hold them; if \
             they existed before, export them on the old side too",
        ),
    ] {
        let only: Vec<String> = side
            .accounts
            .iter()
            .filter(|a| other.account(&a.account_id).is_none())
            .map(|a| {
                format!(
                    "{} ({})",
                    a.account_id,
                    super::compare::plural(a.principals, "principal")
                )
            })
            .collect();
        if only.is_empty() {
            continue;
        }
        let (what, verb, consequence) = if only.len() == 1 {
            ("account", "was", one)
        } else {
            ("accounts", "were", several)
        };
        let other_label = if label == "old" { "new" } else { "old" };
        warnings.push(format!(
            "{what} {} {verb} exported on the {label} side only (not exported on the \
             {other_label} side): {consequence}",
            only.join(", ")
        ));
    }
    warnings
}

/// One warning per side whose organisation part provisions a permission set to more accounts
/// than the side's exports hold a role of it in: its rows in `diff-permission-sets.csv` (and
/// diff.html) sum the exported accounts' roles only, so what it grants in the others is not in
/// them. A set provisioned to no exported account has no roles and no rows: not warned.
fn sets_partly_exported(sets: &[PermissionSetDiff]) -> Vec<String> {
    let mut warnings = Vec::new();
    for label in ["old", "new"] {
        let partly: Vec<String> = sets
            .iter()
            .filter_map(|s| {
                let side = if label == "old" { &s.old } else { &s.new };
                let provisioned = side.provisioned?;
                (side.roles > 0 && provisioned > side.roles)
                    .then(|| format!("{} ({} of {provisioned} accounts)", s.name, side.roles))
            })
            .collect();
        if partly.is_empty() {
            continue;
        }
        warnings.push(format!(
            "on the {label} side, {} provisioned to accounts that were not exported, whose \
             roles are not compared: {}; their rows in diff-permission-sets.csv sum the \
             exported accounts' roles only",
            if partly.len() == 1 {
                "a permission set is"
            } else {
                "permission sets are"
            },
            crate::model::listed(&partly, 10)
        ));
    }
    warnings
}

/// One warning per exclusion rule that expired between an account's old and new as-of time and
/// excluded something on the old side: the counts move with no permission change.
fn expired_between(old: &SideMeta, new: &SideMeta) -> Vec<String> {
    // rule id → (the rule, its accounts, permissions it excluded there on the old side)
    let mut rules: BTreeMap<ExclusionId, (&ExpiringRule, Vec<&str>, u64)> = BTreeMap::new();
    for n in &new.accounts {
        let Some(o) = old.account(&n.account_id) else {
            continue;
        };
        for r in n.expiring_rules.iter().filter(|r| r.expired) {
            let before = o.expiring_rules.iter().find(|x| x.id == r.id);
            if let Some(b) = before.filter(|b| !b.expired && b.matched > 0) {
                let e = rules.entry(r.id).or_insert((r, Vec::new(), 0));
                e.1.push(&n.account_id);
                e.2 += b.matched;
            }
        }
    }
    rules
        .into_values()
        .map(|(r, accounts, matched)| {
            format!(
                "exclusion {} ({:?}) expired on {}, between the old and the new as-of time of {}: \
                 it was applied on the old side only, where it excluded {} permission(s); \
                 the new side's unused counts in the headline include what it covered (those \
                 rows are excluded before and not now, and are not newly unused for that)",
                r.id,
                r.reason,
                r.expires,
                join(&accounts),
                crate::model::grouped(matched)
            )
        })
        .collect()
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
    notes.extend(grant_unknown_note(counts));
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

/// What `grant_unknown` means, when there are such rows.
fn grant_unknown_note(counts: &KindCounts) -> Option<String> {
    (counts.grant_unknown > 0).then(|| {
        format!(
            "{} permission(s) are grant_unknown: granted on one side only, to principals whose \
             export on one side lacks a managed policy, group or permissions boundary they \
             reference (the policy_missing and group_missing warnings), which may grant or \
             deny them: whether they changed is unknown, so they are neither revoked nor newly \
             granted, and not changes.",
            counts.grant_unknown
        )
    })
}

/// Identity checks that could not run, per side and reason (accounts and checks listed), and what
/// `identity_unknown` means when there are such rows.
fn identity_notes(old: &[NotPossible], new: &[NotPossible], counts: &KindCounts) -> Vec<String> {
    let mut notes = Vec::new();
    for (label, side) in [("old", old), ("new", new)] {
        // reason → account → checks
        let mut by_reason: BTreeMap<&str, BTreeMap<&str, Vec<&str>>> = BTreeMap::new();
        for n in side {
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
