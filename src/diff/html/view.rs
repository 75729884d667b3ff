//! The view `templates/diff.html` reads: every number and time formatted, every table cut to
//! the rows shown.

use serde::Serialize;

use super::describe;
use super::{CONTENT_SECURITY_POLICY, CSS};
use crate::analysis::{BySensitivity, Sensitivity, Status};
use crate::diff::ChangeKind;
use crate::diff::model::{AccountDiff, Delta, DiffModel, DiffRow, PolicyTable, Presence};
use crate::diff::permission_sets::PermissionSetDiff;
use crate::diff::policies::{PartSide, PolicyGroup};
use crate::model::Timestamp;

/// Characters of an action notation shown in a part (diff.csv has the whole text).
const NOTATION_CHARS: usize = 240;

/// `12345` → `12,345`.
pub(super) use crate::model::grouped as num;

fn signed(d: i64) -> String {
    match d {
        0 => "±0".into(),
        d if d > 0 => format!("+{}", num(d.unsigned_abs())),
        d => format!("−{}", num(d.unsigned_abs())),
    }
}

fn when(t: Option<Timestamp>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

fn day(t: Option<Timestamp>) -> String {
    t.map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "unknown".into())
}

#[derive(Serialize)]
pub(super) struct Card {
    label: &'static str,
    class: &'static str,
    old: String,
    new: String,
    change: String,
    /// `better`, `worse` or `same`, for the change's colour.
    trend: &'static str,
    sub: &'static str,
}

fn card(
    label: &'static str,
    class: &'static str,
    d: Delta,
    lower_is_better: bool,
    sub: &'static str,
) -> Card {
    let trend = match (d.change.signum(), lower_is_better) {
        (0, _) => "same",
        (-1, true) | (1, false) => "better",
        _ => "worse",
    };
    Card {
        label,
        class,
        old: num(d.old),
        new: num(d.new),
        change: signed(d.change),
        trend,
        sub,
    }
}

#[derive(Serialize)]
struct KindRow {
    kind: &'static str,
    description: &'static str,
    pairs: String,
    rows: String,
    change: bool,
}

/// `1 critical · 21 high · 53 medium · 131 low`, levels without actions left out.
fn levels(b: &BySensitivity) -> String {
    [
        (b.critical, "critical"),
        (b.high, "high"),
        (b.medium, "medium"),
        (b.low, "low"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, l)| format!("{} {l}", num(*n)))
    .collect::<Vec<_>>()
    .join(" · ")
}

/// `unused`, or `unused 180 · unknown 25 · used 1` when the actions' statuses differ.
fn statuses(s: &[(Status, u64)]) -> String {
    match s {
        [] => String::new(),
        [(one, _)] => one.as_str().to_string(),
        many => many
            .iter()
            .map(|(st, n)| format!("{} {}", st.as_str(), num(*n)))
            .collect::<Vec<_>>()
            .join(" · "),
    }
}

fn side_text(s: &Option<PartSide>) -> String {
    let Some(s) = s else {
        return String::new();
    };
    let mut t = format!("{} ({})", s.status.as_str(), s.reason);
    if s.last_accessed.is_some() {
        t.push_str(&format!(", last {}", day(s.last_accessed)));
    }
    if s.excluded {
        t.push_str(", excluded");
    }
    t
}

/// An action notation as shown: at most [`NOTATION_CHARS`] characters, then `…` (and whether
/// it was cut).
fn shown(notation: &str) -> (String, bool) {
    if notation.chars().count() <= NOTATION_CHARS {
        return (notation.to_string(), false);
    }
    let mut t: String = notation.chars().take(NOTATION_CHARS).collect();
    t.push('…');
    (t, true)
}

/// `n` formatted, or empty for none.
fn some(n: u64) -> String {
    if n > 0 { num(n) } else { String::new() }
}

#[derive(Serialize)]
struct PartView {
    action: String,
    cut: bool,
    actions: String,
    sensitivity: &'static str,
    old: String,
    new: String,
}

#[derive(Serialize)]
struct GroupView<'a> {
    g: &'a PolicyGroup,
    kind: &'static str,
    sensitivity: &'static str,
    actions: String,
    one: bool,
    services: String,
    levels: String,
    old: String,
    new: String,
    parts: Vec<PartView>,
    parts_more: String,
    names_more: String,
    /// What a side without the actions reads: `not granted`, or `grant unknown` where a side's
    /// export lacks part of the principal's policies (`grant_unknown`).
    absent: &'static str,
}

impl<'a> GroupView<'a> {
    fn new(g: &'a PolicyGroup) -> GroupView<'a> {
        let parts = g
            .parts
            .iter()
            .map(|p| {
                let (action, cut) = shown(&p.action);
                PartView {
                    action,
                    cut,
                    actions: num(p.actions),
                    sensitivity: p.sensitivity.map_or("", Sensitivity::as_str),
                    old: side_text(&p.old),
                    new: side_text(&p.new),
                }
            })
            .collect();
        GroupView {
            g,
            kind: g.kind.as_str(),
            sensitivity: g.sensitivity.map_or("", Sensitivity::as_str),
            actions: num(g.actions),
            one: g.actions == 1,
            services: g.services.join(", "),
            levels: levels(&g.by_sensitivity),
            old: statuses(&g.old_statuses),
            new: statuses(&g.new_statuses),
            parts,
            parts_more: some(g.parts_omitted),
            names_more: some(g.names_omitted),
            absent: if g.kind == ChangeKind::GrantUnknown {
                "grant unknown"
            } else {
                "not granted"
            },
        }
    }
}

#[derive(Serialize)]
struct GroupTable<'a> {
    rows: Vec<GroupView<'a>>,
    groups: String,
    actions: String,
    more: String,
}

fn group_table(t: &PolicyTable, cap: usize) -> GroupTable<'_> {
    let rows: Vec<GroupView<'_>> = t.groups.iter().take(cap).map(GroupView::new).collect();
    let more = t.total_groups.saturating_sub(rows.len() as u64);
    GroupTable {
        rows,
        groups: num(t.total_groups),
        actions: num(t.total_actions),
        more: some(more),
    }
}

/// A row of the principals table or of an identity table.
#[derive(Serialize)]
struct RowView<'a> {
    r: &'a DiffRow,
    kind: &'static str,
    sensitivity: &'static str,
    credential: &'a str,
    old_last: String,
    new_last: String,
}

impl<'a> RowView<'a> {
    fn new(r: &'a DiffRow) -> RowView<'a> {
        let i = r.identity.as_deref();
        let last = |f: Option<&crate::analysis::identities::IdentityFinding>| {
            f.and_then(|f| f.last_used)
                .map_or_else(String::new, |t| day(Some(t)))
        };
        RowView {
            r,
            kind: r.kind.as_str(),
            sensitivity: r.sensitivity().map_or("", Sensitivity::as_str),
            credential: i.and_then(|i| i.credential.as_deref()).unwrap_or(""),
            old_last: last(i.and_then(|i| i.old.as_ref())),
            new_last: last(i.and_then(|i| i.new.as_ref())),
        }
    }
}

#[derive(Serialize)]
struct RowTable<'a> {
    rows: Vec<RowView<'a>>,
    total: String,
    more: String,
}

/// The rows of `kinds` (in diff.csv order, or by sensitivity then that order), at most `cap`.
fn row_table<'a>(
    m: &'a DiffModel,
    cap: usize,
    kinds: &[ChangeKind],
    by_sensitivity: bool,
) -> RowTable<'a> {
    let mut all: Vec<&'a DiffRow> = m.rows.iter().filter(|c| kinds.contains(&c.kind)).collect();
    if by_sensitivity {
        // A stable sort keeps diff.csv order within a sensitivity.
        all.sort_by_key(|c| std::cmp::Reverse(c.sensitivity()));
    }
    let total: u64 = kinds.iter().map(|k| m.row_counts.get(*k)).sum();
    let rows: Vec<RowView<'a>> = all.into_iter().take(cap).map(RowView::new).collect();
    let more = total.saturating_sub(rows.len() as u64);
    RowTable {
        rows,
        total: num(total),
        more: some(more),
    }
}

#[derive(Serialize)]
struct AccountRow<'a> {
    a: &'a AccountDiff,
    presence: &'static str,
    old_as_of: String,
    new_as_of: String,
    old_ch: String,
    new_ch: String,
    changes: String,
    revoked: String,
    new_risk: String,
}

fn account_row(a: &AccountDiff) -> AccountRow<'_> {
    let ch = |b: &Option<BySensitivity>| {
        b.map(|b| num(b.critical + b.high))
            .unwrap_or_else(|| "—".into())
    };
    let date = |t: Option<Timestamp>| t.map(|t| day(Some(t))).unwrap_or_else(|| "—".into());
    AccountRow {
        a,
        presence: match a.presence {
            Presence::Both => "both",
            Presence::OldOnly => "old only",
            Presence::NewOnly => "new only",
        },
        old_as_of: date(a.old_as_of),
        new_as_of: date(a.new_as_of),
        old_ch: ch(&a.old_unused),
        new_ch: ch(&a.new_unused),
        changes: num(a.counts.changes()),
        revoked: num(a.counts.revoked),
        new_risk: num(a.counts.newly_granted + a.counts.newly_unused),
    }
}

/// A row of the permission sets table.
#[derive(Serialize)]
struct SetRow<'a> {
    s: &'a PermissionSetDiff,
    roles: String,
    /// `3 → 2`, or empty without an organisation part on either side.
    provisioned: String,
    unused_ch: Card,
    unused: String,
    newly_granted: String,
    revoked: String,
    /// The actions newly granted and revoked, as shown (cut to [`NOTATION_CHARS`]).
    granted_names: String,
    revoked_names: String,
    /// Its roles' changes: `24 revoked · 1 principal_removed`.
    changes: String,
    /// Its own changes: kind and detail, with the ARN when there are several (a set re-created
    /// under the same name).
    definitions: Vec<SetDefinition>,
}

#[derive(Serialize)]
struct SetDefinition {
    kind: String,
    arn: String,
    detail: String,
}

fn set_row(s: &PermissionSetDiff) -> SetRow<'_> {
    let arrow = |o: u64, n: u64| format!("{} → {}", num(o), num(n));
    let side = |x: Option<u64>| x.map_or_else(|| "—".to_string(), num);
    let changes = ChangeKind::ALL
        .iter()
        .filter(|k| k.is_change() && s.counts.get(**k) > 0)
        .map(|k| format!("{} {}", num(s.counts.get(*k)), k.as_str()))
        .collect::<Vec<_>>()
        .join(" · ");
    SetRow {
        s,
        roles: arrow(s.old.roles, s.new.roles),
        provisioned: if s.old.provisioned.is_some() || s.new.provisioned.is_some() {
            format!("{} → {}", side(s.old.provisioned), side(s.new.provisioned))
        } else {
            String::new()
        },
        unused_ch: card(
            "",
            "",
            Delta::new(s.old.unused_critical_high(), s.new.unused_critical_high()),
            true,
            "",
        ),
        unused: arrow(s.old.unused, s.new.unused),
        newly_granted: num(s.newly_granted_actions),
        revoked: num(s.revoked_actions),
        granted_names: shown(&s.newly_granted_notation).0,
        revoked_names: shown(&s.revoked_notation).0,
        changes,
        definitions: s
            .definitions
            .iter()
            .map(|d| SetDefinition {
                kind: d.kind.as_str().to_string(),
                arn: if s.definitions.len() > 1 {
                    d.arn.clone()
                } else {
                    String::new()
                },
                detail: d.detail.clone(),
            })
            .collect(),
    }
}

#[derive(Serialize)]
struct SideRow {
    side: &'static str,
    path: String,
    account_id: String,
    as_of: String,
    window_start: String,
    principals: String,
    manifest: String,
    warnings: String,
}

fn side_rows(m: &DiffModel) -> Vec<SideRow> {
    let mut sides = Vec::new();
    for (label, s) in [("old", &m.old), ("new", &m.new)] {
        for a in &s.accounts {
            sides.push(SideRow {
                side: label,
                path: a.path.clone(),
                account_id: a.account_id.clone(),
                as_of: if a.as_of.is_some() {
                    when(a.as_of)
                } else {
                    "unknown".into()
                },
                window_start: when(a.window_start),
                principals: num(a.principals as u64),
                manifest: match (&a.manifest_tool, a.has_manifest) {
                    (Some(t), _) => t.clone(),
                    (None, true) => "yes".into(),
                    (None, false) => "no".into(),
                },
                warnings: num(a.warnings as u64),
            });
        }
    }
    sides
}

#[derive(Serialize)]
pub(super) struct View<'a> {
    m: &'a DiffModel,
    csp: &'static str,
    css: &'static str,
    old_as_of: String,
    new_as_of: String,
    headline: Card,
    cards: Vec<Card>,
    changes: String,
    new_risk_total: String,
    added_high_plus: String,
    /// The permission sets' actions newly granted or newly unused at high or critical, once
    /// per set.
    sets_high_plus: String,
    kinds: Vec<KindRow>,
    csv_form: &'static str,
    new_risk: GroupTable<'a>,
    revoked: GroupTable<'a>,
    still_unused: GroupTable<'a>,
    /// `grant_unknown`: what one side's data cannot settle.
    not_settled: GroupTable<'a>,
    /// Permissions (principal × action pairs) not settled.
    not_settled_total: String,
    principals: RowTable<'a>,
    /// The organisation section (permission sets, SCPs and RCPs, accounts of the
    /// organisation), when a side has an organisation part.
    organization: Option<RowTable<'a>>,
    identity_new: RowTable<'a>,
    identity_resolved: RowTable<'a>,
    identity_unknown: RowTable<'a>,
    identity_card: Card,
    accounts: Vec<AccountRow<'a>>,
    /// The permission sets, rolled up (empty without Identity Center roles or sets), at most
    /// `cap`.
    permission_sets: Vec<SetRow<'a>>,
    /// Sets not shown (diff-permission-sets.csv has them).
    permission_sets_more: String,
    /// The per-account table's organisation row (its changes), when a side has an organisation
    /// part: its rows are in no account's.
    organization_changes: Option<String>,
    sides: Vec<SideRow>,
    swapped: String,
}

fn dates(side: &crate::diff::SideMeta) -> String {
    let mut d: Vec<String> = side.accounts.iter().map(|a| day(a.as_of)).collect();
    d.sort();
    d.dedup();
    if d.is_empty() {
        "—".into()
    } else {
        d.join(", ")
    }
}

fn cards(m: &DiffModel) -> Vec<Card> {
    let h = &m.headline;
    vec![
        card(
            "Unused critical",
            "crit",
            h.unused_critical,
            true,
            "removable, not excluded",
        ),
        card(
            "Unused high",
            "high",
            h.unused_high,
            true,
            "removable, not excluded",
        ),
        card("Unused (all)", "unused", h.unused, true, "any sensitivity"),
        card("Granted", "", h.granted, true, "principal × action pairs"),
        card("Principals", "", h.principals, true, "roles, users, groups"),
        card("Accounts", "", h.accounts, true, "exports"),
    ]
}

/// The view of `m` with at most `cap` rows per table.
pub(super) fn view(m: &DiffModel, cap: usize) -> View<'_> {
    let h = &m.headline;
    let with_org = m.old.organization.is_some() && m.new.organization.is_some();
    let kinds = ChangeKind::ALL
        .iter()
        .filter(|k| with_org || !k.is_organization())
        .map(|k| KindRow {
            kind: k.as_str(),
            description: describe(*k),
            pairs: num(m.counts.get(*k)),
            rows: num(m.row_counts.get(*k)),
            change: k.is_change(),
        })
        .collect();
    let structural = [
        ChangeKind::AccountAdded,
        ChangeKind::AccountRemoved,
        ChangeKind::PrincipalAdded,
        ChangeKind::PrincipalRemoved,
        ChangeKind::PrincipalRecreated,
        ChangeKind::PrincipalRenamed,
    ];
    let added = &m.new_risk.added_principals;
    View {
        m,
        csp: CONTENT_SECURITY_POLICY,
        css: CSS,
        old_as_of: dates(&m.old),
        new_as_of: dates(&m.new),
        headline: card(
            "Unused critical/high permissions",
            "crit",
            h.unused_critical_high,
            true,
            "unused, actionable, not excluded",
        ),
        cards: cards(m),
        changes: num(h.changes),
        new_risk_total: num(h.new_risk_high_plus),
        added_high_plus: num(added.critical + added.high),
        sets_high_plus: num(m.new_risk.permission_sets_at_or_above(Sensitivity::High)),
        kinds,
        csv_form: if m.settings.csv.per_action {
            "one row per principal and action"
        } else {
            "one row per principal, service, change kind and verdict, with the action notation"
        },
        new_risk: group_table(&m.tables.new_risk, cap),
        revoked: group_table(&m.tables.revoked, cap),
        still_unused: group_table(&m.tables.still_unused, cap),
        not_settled: group_table(&m.tables.not_settled, cap),
        not_settled_total: num(m.counts.grant_unknown),
        principals: row_table(m, cap, &structural, false),
        organization: with_org.then(|| {
            let kinds: Vec<ChangeKind> = ChangeKind::ALL
                .into_iter()
                .filter(|k| k.is_organization())
                .collect();
            row_table(m, cap, &kinds, false)
        }),
        identity_new: row_table(m, cap, &[ChangeKind::IdentityNew], true),
        identity_resolved: row_table(m, cap, &[ChangeKind::IdentityResolved], true),
        identity_unknown: row_table(m, cap, &[ChangeKind::IdentityUnknown], true),
        identity_card: card(
            "Identity and credential findings",
            "",
            h.identity_findings,
            true,
            "unused identities, old keys, passwords without MFA, root use",
        ),
        accounts: m.accounts.iter().map(account_row).collect(),
        permission_sets: m.permission_sets.iter().take(cap).map(set_row).collect(),
        permission_sets_more: some(m.permission_sets.len().saturating_sub(cap) as u64),
        organization_changes: (m.old.organization.is_some() || m.new.organization.is_some())
            .then(|| num(m.organization_counts.changes())),
        sides: side_rows(m),
        swapped: m.swapped_accounts.join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_deltas() {
        assert_eq!(num(0), "0");
        assert_eq!(num(1234567), "1,234,567");
        assert_eq!(signed(-29), "−29");
        assert_eq!(signed(1200), "+1,200");
        assert_eq!(signed(0), "±0");
    }

    #[test]
    fn levels_and_statuses_read_well() {
        let b = BySensitivity {
            critical: 0,
            high: 21,
            medium: 1053,
            low: 0,
        };
        assert_eq!(levels(&b), "21 high · 1,053 medium");
        assert_eq!(statuses(&[(Status::Unused, 4)]), "unused");
        assert_eq!(
            statuses(&[(Status::Unused, 180), (Status::Used, 1)]),
            "unused 180 · used 1"
        );
    }
}
