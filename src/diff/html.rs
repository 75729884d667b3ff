//! `diff.html`: one self-contained page drawn by tera from the [`DiffModel`], in the report's
//! look (the same stylesheet, inlined). Everything from an export goes through tera's
//! autoescape; `| safe` is used only on the stylesheet and the CSP. No script: the page's CSP is
//! `default-src 'none'; style-src 'unsafe-inline'`. Tables are capped (`limits.html_table`) and
//! point to diff.csv for the rest. Numbers and times are formatted here, so the template needs no
//! filters and cannot read a clock.

use std::io::Write;

use serde::Serialize;

use super::model::{AccountDiff, Delta, DiffModel, Presence};
use super::{Change, ChangeKind};
use crate::analysis::Sensitivity;
use crate::error::{Error, Result};
use crate::model::Timestamp;
use crate::report::page::{self, thousands};

const TEMPLATE: &str = include_str!("../../templates/diff.html");
/// The report's stylesheet.
const CSS: &str = include_str!("../../templates/report.css");
/// No script, no images, no frames: only inline styles.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

/// One sentence per kind, for the page and the docs.
pub fn describe(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::AccountAdded => "Account exported only on the new side.",
        ChangeKind::AccountRemoved => "Account exported only on the old side.",
        ChangeKind::PrincipalAdded => {
            "Principal only on the new side; its grants are counted, not listed."
        }
        ChangeKind::PrincipalRemoved => {
            "Principal only on the old side; its grants are counted, not listed."
        }
        ChangeKind::PrincipalRecreated => {
            "Same ARN, new principal id: deleted and re-created. Its actions are compared as usual."
        }
        ChangeKind::NewlyGranted => "Granted now, not before.",
        ChangeKind::NewlyUnused => "Unused now; used or unknown before.",
        ChangeKind::Revoked => "Granted before, not now.",
        ChangeKind::NewlyUsed => "Used now; unused or unknown before.",
        ChangeKind::NewlyUnknown => "Unknown now; used or unused before.",
        ChangeKind::StillUnused => "Unused on both sides.",
        ChangeKind::StillUnknown => "Unknown on both sides.",
        ChangeKind::UnchangedUsed => "Used on both sides.",
        ChangeKind::IdentityNew => {
            "Identity or credential finding only on the new side (e.g. a key that became unused)."
        }
        ChangeKind::IdentityResolved => {
            "Identity finding only on the old side: the new side checked and found nothing."
        }
        ChangeKind::IdentityUnknown => {
            "Identity finding of the old side that the new side could not check; not resolved."
        }
        ChangeKind::IdentityUnchanged => "Identity finding on both sides.",
    }
}

/// `12345` → `12,345`.
fn num(n: u64) -> String {
    thousands(&n.to_string())
}

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
struct Card {
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
    count: String,
    change: bool,
}

#[derive(Serialize)]
struct RowView<'a> {
    kind: &'static str,
    sensitivity: &'static str,
    account_id: &'a str,
    principal_type: &'a str,
    principal_name: &'a str,
    principal_arn: &'a str,
    action: &'a str,
    old_status: &'static str,
    new_status: &'static str,
    old_reason: &'static str,
    new_reason: &'static str,
    old_last: String,
    new_last: String,
    granted_by: &'a str,
    detail: &'a str,
    actionable: bool,
}

impl<'a> RowView<'a> {
    fn new(c: &'a Change) -> RowView<'a> {
        RowView {
            kind: c.kind.as_str(),
            sensitivity: c.sensitivity().map_or("", Sensitivity::as_str),
            account_id: &c.account_id,
            principal_type: &c.principal_type,
            principal_name: &c.principal_name,
            principal_arn: &c.principal_arn,
            action: &c.action,
            old_status: c.old.as_ref().map_or("", |s| s.status.as_str()),
            new_status: c.new.as_ref().map_or("", |s| s.status.as_str()),
            old_reason: c.old.as_ref().map_or("", |s| s.reason.as_str()),
            new_reason: c.new.as_ref().map_or("", |s| s.reason.as_str()),
            old_last: when(c.old.as_ref().and_then(|s| s.last_accessed)),
            new_last: when(c.new.as_ref().and_then(|s| s.last_accessed)),
            granted_by: c
                .new
                .as_ref()
                .or(c.old.as_ref())
                .map_or("", |s| s.granted_by.as_str()),
            detail: &c.detail,
            actionable: c.actionable,
        }
    }
}

/// An identity row for the "Identities and credentials" tables.
#[derive(Serialize)]
struct IdentityRowView<'a> {
    kind: &'static str,
    finding: &'a str,
    credential: &'a str,
    sensitivity: &'static str,
    account_id: &'a str,
    principal_type: &'a str,
    principal_name: &'a str,
    principal_arn: &'a str,
    old_last: String,
    new_last: String,
    detail: &'a str,
    actionable: bool,
}

impl<'a> IdentityRowView<'a> {
    fn new(c: &'a Change) -> IdentityRowView<'a> {
        let i = c.identity.as_deref();
        let last = |f: Option<&crate::analysis::identities::IdentityFinding>| {
            f.and_then(|f| f.last_used)
                .map_or_else(String::new, |t| day(Some(t)))
        };
        IdentityRowView {
            kind: c.kind.as_str(),
            finding: &c.action,
            credential: i.and_then(|i| i.credential.as_deref()).unwrap_or(""),
            sensitivity: c.sensitivity().map_or("", Sensitivity::as_str),
            account_id: &c.account_id,
            principal_type: &c.principal_type,
            principal_name: &c.principal_name,
            principal_arn: &c.principal_arn,
            old_last: last(i.and_then(|i| i.old.as_ref())),
            new_last: last(i.and_then(|i| i.new.as_ref())),
            detail: &c.detail,
            actionable: c.actionable,
        }
    }
}

#[derive(Serialize)]
struct IdentityTable<'a> {
    rows: Vec<IdentityRowView<'a>>,
    total: String,
    more: String,
    has_more: bool,
}

/// Identity rows of `kinds`, ranked by sensitivity (highest first) then the diff.csv order.
fn identity_table<'a>(m: &'a DiffModel, cap: usize, kinds: &[ChangeKind]) -> IdentityTable<'a> {
    let mut all: Vec<&'a Change> = m.rows.iter().filter(|c| kinds.contains(&c.kind)).collect();
    // A stable sort keeps diff.csv order within a sensitivity.
    all.sort_by_key(|c| std::cmp::Reverse(c.sensitivity()));
    let total: u64 = kinds.iter().map(|k| m.counts.get(*k)).sum();
    let rows: Vec<IdentityRowView<'a>> = all
        .into_iter()
        .take(cap)
        .map(IdentityRowView::new)
        .collect();
    let more = total.saturating_sub(rows.len() as u64);
    IdentityTable {
        rows,
        total: num(total),
        more: num(more),
        has_more: more > 0,
    }
}

#[derive(Serialize)]
struct Table<'a> {
    rows: Vec<RowView<'a>>,
    /// Rows of this table in diff.csv.
    total: String,
    /// Rows not shown.
    more: String,
    has_more: bool,
}

fn table<'a>(
    m: &'a DiffModel,
    cap: usize,
    total: u64,
    keep: impl Fn(&Change) -> bool,
) -> Table<'a> {
    let rows: Vec<RowView<'a>> = m
        .rows
        .iter()
        .filter(|c| keep(c))
        .take(cap)
        .map(RowView::new)
        .collect();
    let more = total.saturating_sub(rows.len() as u64);
    Table {
        rows,
        total: num(total),
        more: num(more),
        has_more: more > 0,
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

#[derive(Serialize)]
struct View<'a> {
    m: &'a DiffModel,
    csp: &'static str,
    css: &'static str,
    old_as_of: String,
    new_as_of: String,
    headline: Card,
    cards: Vec<Card>,
    changes: String,
    new_risk_total: String,
    kinds: Vec<KindRow>,
    new_risk: Table<'a>,
    revoked: Table<'a>,
    still_unused: Table<'a>,
    principals: Table<'a>,
    identity_new: IdentityTable<'a>,
    identity_resolved: IdentityTable<'a>,
    identity_unknown: IdentityTable<'a>,
    identity_card: Card,
    accounts: Vec<AccountRow<'a>>,
    sides: Vec<SideRow>,
}

fn is_high_plus(c: &Change) -> bool {
    c.sensitivity() >= Some(Sensitivity::High)
}

fn dates(side: &super::SideMeta) -> String {
    let mut d: Vec<String> = side.accounts.iter().map(|a| day(a.as_of)).collect();
    d.sort();
    d.dedup();
    if d.is_empty() {
        "—".into()
    } else {
        d.join(", ")
    }
}

fn view(m: &DiffModel) -> View<'_> {
    let cap = m.limits.html_table;
    let h = &m.headline;
    let headline = card(
        "Unused critical/high permissions",
        "crit",
        h.unused_critical_high,
        true,
        "unused, actionable, not excluded",
    );
    let cards = vec![
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
    ];
    let kinds = ChangeKind::ALL
        .iter()
        .map(|k| KindRow {
            kind: k.as_str(),
            description: describe(*k),
            count: num(m.counts.get(*k)),
            change: k.is_change(),
        })
        .collect();
    let risk_rows = |c: &Change| {
        matches!(c.kind, ChangeKind::NewlyGranted | ChangeKind::NewlyUnused)
            && is_high_plus(c)
            && c.actionable
            && !c.new.as_ref().is_some_and(|n| n.excluded)
    };
    let risk_total = m.new_risk.newly_granted.at_or_above(Sensitivity::High)
        + m.new_risk.newly_unused.at_or_above(Sensitivity::High);
    let structural = |c: &Change| {
        matches!(
            c.kind,
            ChangeKind::AccountAdded
                | ChangeKind::AccountRemoved
                | ChangeKind::PrincipalAdded
                | ChangeKind::PrincipalRemoved
                | ChangeKind::PrincipalRecreated
        )
    };
    let c = &m.counts;
    let structural_total = c.account_added
        + c.account_removed
        + c.principal_added
        + c.principal_removed
        + c.principal_recreated;
    let accounts = m
        .accounts
        .iter()
        .map(|a| {
            let ch = |b: &Option<crate::analysis::BySensitivity>| {
                b.map(|b| num(b.critical + b.high))
                    .unwrap_or_else(|| "—".into())
            };
            AccountRow {
                a,
                presence: match a.presence {
                    Presence::Both => "both",
                    Presence::OldOnly => "old only",
                    Presence::NewOnly => "new only",
                },
                old_as_of: a
                    .old_as_of
                    .map(|t| day(Some(t)))
                    .unwrap_or_else(|| "—".into()),
                new_as_of: a
                    .new_as_of
                    .map(|t| day(Some(t)))
                    .unwrap_or_else(|| "—".into()),
                old_ch: ch(&a.old_unused),
                new_ch: ch(&a.new_unused),
                changes: num(a.counts.changes()),
                revoked: num(a.counts.revoked),
                new_risk: num(a.counts.newly_granted + a.counts.newly_unused),
            }
        })
        .collect();
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
    View {
        m,
        csp: CONTENT_SECURITY_POLICY,
        css: CSS,
        old_as_of: dates(&m.old),
        new_as_of: dates(&m.new),
        headline,
        cards,
        changes: num(h.changes),
        new_risk_total: num(h.new_risk_high_plus),
        kinds,
        new_risk: table(m, cap, risk_total, risk_rows),
        revoked: table(m, cap, m.counts.revoked, |c| c.kind == ChangeKind::Revoked),
        still_unused: table(m, cap, m.counts.still_unused, |c| {
            c.kind == ChangeKind::StillUnused
        }),
        principals: table(m, cap, structural_total, structural),
        identity_new: identity_table(m, cap, &[ChangeKind::IdentityNew]),
        identity_resolved: identity_table(m, cap, &[ChangeKind::IdentityResolved]),
        identity_unknown: identity_table(m, cap, &[ChangeKind::IdentityUnknown]),
        identity_card: card(
            "Identity and credential findings",
            "",
            h.identity_findings,
            true,
            "unused identities, old keys, passwords without MFA, root use",
        ),
        accounts,
        sides,
    }
}

/// Renders `diff.html`.
pub fn render(model: &DiffModel, w: &mut dyn Write) -> Result<()> {
    let t = page::engine("diff.html", &[("diff.html", TEMPLATE)])?;
    let html = page::render(&t, "diff.html", "diff.html", &view(model))?;
    w.write_all(html.as_bytes())
        .map_err(|e| Error::write("diff.html", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::page::escape;

    #[test]
    fn numbers_and_deltas() {
        assert_eq!(num(0), "0");
        assert_eq!(num(1234567), "1,234,567");
        assert_eq!(signed(-29), "−29");
        assert_eq!(signed(1200), "+1,200");
        assert_eq!(signed(0), "±0");
    }

    #[test]
    fn escape_covers_markup() {
        assert_eq!(
            escape("</script><img src=x onerror='a'>&\""),
            "&lt;/script&gt;&lt;img src=x onerror=&#39;a&#39;&gt;&amp;&quot;"
        );
    }

    #[test]
    fn template_parses() {
        let mut t = tera::Tera::default();
        assert!(t.add_raw_template("diff.html", TEMPLATE).is_ok());
    }
}
