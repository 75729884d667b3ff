//! `report.html`: one self-contained, audit-ready page rendered by tera from the report model.
//!
//! Templates, CSS and JS live in `templates/` and are embedded with `include_str!`; nothing is
//! looked up at run time. Everything that comes from an export goes through tera's autoescape
//! (or [`escape`] for the SVG chart built here); `| safe` is used only on strings built in this
//! file (CSS, JS, the chart). The page carries a Content-Security-Policy that allows exactly the
//! one inline script, by its SHA-256. Output is deterministic: no clock, no random ids.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io::Write;

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::ReportModel;
use super::model::{FindingView, PrincipalRank, PrincipalView, ServiceRisk};
use crate::analysis::identities::{IdentityFinding, IdentityKind};
use crate::analysis::{Reason, ServiceSummary};
use crate::error::{Error, Result};

const TEMPLATES: [(&str, &str); 9] = [
    (
        "identities.html",
        include_str!("../../templates/identities.html"),
    ),
    ("report.html", include_str!("../../templates/report.html")),
    ("macros.html", include_str!("../../templates/macros.html")),
    ("header.html", include_str!("../../templates/header.html")),
    ("summary.html", include_str!("../../templates/summary.html")),
    (
        "findings.html",
        include_str!("../../templates/findings.html"),
    ),
    (
        "principals.html",
        include_str!("../../templates/principals.html"),
    ),
    (
        "methodology.html",
        include_str!("../../templates/methodology.html"),
    ),
    ("filters.html", include_str!("../../templates/filters.html")),
];

/// The stylesheet, inlined in `<style>`.
pub const CSS: &str = include_str!("../../templates/report.css");
/// The one script, inlined in `<script>`; its hash is in the CSP.
pub const JS: &str = include_str!("../../templates/report.js");

/// Identity findings listed in full (all are in credentials.csv and report.json).
const MAX_IDENTITIES: usize = 500;
/// Services drawn in the chart (the rest are in the table under it).
const CHART_SERVICES: usize = 15;
/// Warnings listed in full (the rest are counted; all are in report.json).
const MAX_WARNINGS: usize = 200;

/// The CSP source for the inline script: `'sha256-<base64>'`.
pub fn script_hash() -> String {
    format!("'sha256-{}'", base64(&Sha256::digest(JS.as_bytes())))
}

/// The full Content-Security-Policy of the page.
pub fn content_security_policy() -> String {
    format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src {}; img-src data:; \
         base-uri 'none'; form-action 'none'",
        script_hash()
    )
}

/// Standard base64 with padding (RFC 4648 §4).
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// HTML escaping for text and double-quoted attributes (tera's autoescape uses the same).
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Services listed per principal section (the rest are in services.csv).
const MAX_SECTION_SERVICES: usize = 40;

/// One service's unused findings inside a principal section.
#[derive(Serialize)]
struct ServiceGroup<'a> {
    service: &'a str,
    summary: Option<&'a ServiceSummary>,
    findings: Vec<&'a FindingView>,
    critical: u64,
    high: u64,
    medium: u64,
    low: u64,
    /// Highest sensitivity in the group.
    top: &'static str,
    /// Set when every finding of the group has this reason.
    reason: Option<&'static str>,
    /// True when every finding has the same last access (`last`).
    same_last: bool,
    last: Option<crate::model::Timestamp>,
    /// Set when every finding was granted by the same policies.
    granted_by: Option<&'a str>,
    /// Reason, last access and granting policy are shared: actions can be listed compactly.
    uniform: bool,
}

/// A finding with the anchor of its principal's section.
#[derive(Serialize)]
struct TopRow<'a> {
    f: &'a FindingView,
    link: Option<String>,
}

/// A riskiest principal with the anchor of its section.
#[derive(Serialize)]
struct RiskRow<'a> {
    r: &'a PrincipalRank,
    link: Option<String>,
}

/// A reason that occurs in a principal section, with its explanation.
#[derive(Serialize)]
struct ReasonNote {
    reason: &'static str,
    explanation: &'static str,
    count: u64,
}

/// A principal that gets a full `<details>` section.
#[derive(Serialize)]
struct Section<'a> {
    id: String,
    p: &'a PrincipalView,
    groups: Vec<ServiceGroup<'a>>,
    /// Reasons behind the listed unused findings.
    evidence: Vec<ReasonNote>,
    /// Unknown findings by reason, with the explanation.
    unknown: Vec<ReasonNote>,
    /// Services shown (used first, then by unused sensitivity), capped.
    services: Vec<&'a ServiceSummary>,
    services_more: usize,
    services_total: usize,
}

/// A row of the compact table of all principals.
#[derive(Serialize)]
struct Row<'a> {
    p: RowPrincipal<'a>,
    /// Section anchor, when the principal has a section.
    id: Option<String>,
    /// `unused`, `unknown` (unknown only) or `used` (nothing unused or unknown).
    status: &'static str,
}

/// The few fields of a principal the compact table shows (serialising the whole view, with its
/// findings and services, for ten thousand rows would dominate the rendering time).
#[derive(Serialize)]
struct RowPrincipal<'a> {
    account_id: &'a str,
    kind: crate::model::PrincipalType,
    name: &'a str,
    score: u64,
    counts: &'a crate::analysis::Counts,
    unused_by_sensitivity: &'a crate::analysis::BySensitivity,
    last_used: Option<crate::model::Timestamp>,
    flags: &'a [&'static str],
}

impl<'a> RowPrincipal<'a> {
    fn new(p: &'a PrincipalView) -> RowPrincipal<'a> {
        let i = &p.info;
        RowPrincipal {
            account_id: &i.account_id,
            kind: i.kind,
            name: &i.name,
            score: i.score,
            counts: &i.counts,
            unused_by_sensitivity: &i.unused_by_sensitivity,
            last_used: i.last_used,
            flags: &i.flags,
        }
    }
}

/// A `<select>` of a filter box: name (the row's `data-` attribute), label, values.
#[derive(Serialize)]
struct Select<'a> {
    name: &'static str,
    label: &'static str,
    values: Vec<&'a str>,
}

#[derive(Serialize)]
struct View<'a> {
    /// The accounts' as-of times: one time, or the earliest and latest.
    as_of_range: String,
    top_filters: Vec<Select<'a>>,
    principal_filters: Vec<Select<'a>>,
    m: Head<'a>,
    csp: String,
    css: &'static str,
    js: &'static str,
    chart_svg: String,
    chart_more: usize,
    warnings_more: usize,
    risky: Vec<RiskRow<'a>>,
    top: Vec<TopRow<'a>>,
    sections: Vec<Section<'a>>,
    sections_omitted: usize,
    /// True when the size bound cut sections below `limits.principal_sections`.
    sections_cut: bool,
    rows: Vec<Row<'a>>,
    rows_omitted: usize,
    /// Principals with unused or unknown findings (candidates for a section).
    with_detail: usize,
    /// Identity findings shown (the rest are in credentials.csv and report.json).
    identities: &'a [IdentityFinding],
    identities_more: usize,
    identity_rules: Vec<IdentityRule>,
}

/// Everything the templates read from the model except the per-principal lists, which are
/// large (they reach the page through `sections` and `rows`). Serialising the whole model into
/// the template context would cost more than rendering the page.
#[derive(Serialize)]
struct Head<'a> {
    tool: &'a super::model::ToolInfo,
    catalog: &'a super::model::CatalogInfo,
    settings: &'a super::model::SettingsInfo,
    limits: &'a super::model::Limits,
    accounts: Vec<AccountView<'a>>,
    warnings: &'a [crate::analysis::AccountWarning],
    summary: &'a super::model::Summary,
    unused_by_service: &'a [ServiceRisk],
    top_findings_omitted: u64,
    exclusions: &'a [crate::analysis::ExclusionRule],
    identities: &'a crate::analysis::identities::IdentityReport,
    principal_count: usize,
}

impl<'a> Head<'a> {
    fn new(m: &'a ReportModel) -> Head<'a> {
        Head {
            tool: &m.tool,
            catalog: &m.catalog,
            settings: &m.settings,
            limits: &m.limits,
            accounts: m.accounts.iter().map(AccountView::new).collect(),
            warnings: &m.warnings,
            summary: &m.summary,
            unused_by_service: &m.unused_by_service,
            top_findings_omitted: m.top_findings_omitted,
            exclusions: &m.exclusions,
            identities: &m.identities,
            principal_count: m.principals.len(),
        }
    }
}

/// Input files listed per account on the page; the rest are counted (every file's SHA-256 is in
/// report.json). A 100,000-role organisation has 110,000 input files: listing them all would
/// take 16 MB, more than the page's size bound.
const MAX_FILES_PER_ACCOUNT: usize = 300;

/// An account of the scope table, with its input files capped at `MAX_FILES_PER_ACCOUNT`:
/// every file outside `last-accessed/` first (in path order), then last-accessed files.
#[derive(Serialize)]
struct AccountView<'a> {
    #[serde(flatten)]
    info: &'a crate::analysis::ExportInfo,
    files: Vec<&'a crate::model::InputFile>,
    files_total: usize,
    files_more: usize,
}

impl<'a> AccountView<'a> {
    fn new(info: &'a crate::analysis::ExportInfo) -> AccountView<'a> {
        let other = info
            .files
            .iter()
            .filter(|f| !f.path.starts_with("last-accessed/"))
            .count();
        let mut budget = MAX_FILES_PER_ACCOUNT.saturating_sub(other);
        let files: Vec<&crate::model::InputFile> = info
            .files
            .iter()
            .filter(|f| {
                if !f.path.starts_with("last-accessed/") {
                    return true;
                }
                let keep = budget > 0;
                budget = budget.saturating_sub(1);
                keep
            })
            .collect();
        AccountView {
            info,
            files_total: info.files.len(),
            files_more: info.files.len() - files.len(),
            files,
        }
    }
}

#[derive(Serialize)]
struct IdentityRule {
    kind: &'static str,
    rule: &'static str,
}

fn reason_from(s: &str) -> Option<Reason> {
    Reason::ALL.iter().copied().find(|r| r.as_str() == s)
}

fn section<'a>(id: String, p: &'a PrincipalView) -> Section<'a> {
    let mut groups: Vec<ServiceGroup<'a>> = Vec::new();
    let mut evidence: Vec<(Reason, u64)> = Vec::new();
    for f in &p.unused {
        let n = u64::from(f.actions);
        match evidence.iter_mut().find(|(r, _)| *r == f.reason) {
            Some((_, c)) => *c += n,
            None => evidence.push((f.reason, n)),
        }
        let at = match groups.iter().position(|g| g.service == f.service) {
            Some(i) => i,
            None => {
                groups.push(ServiceGroup {
                    service: &f.service,
                    summary: p.info.services.iter().find(|s| s.service == f.service),
                    findings: Vec::new(),
                    critical: 0,
                    high: 0,
                    medium: 0,
                    low: 0,
                    top: "low",
                    reason: None,
                    same_last: true,
                    last: None,
                    granted_by: None,
                    uniform: false,
                });
                groups.len() - 1
            }
        };
        let g = &mut groups[at];
        let c = &f.actions_by_sensitivity;
        g.critical += c.critical;
        g.high += c.high;
        g.medium += c.medium;
        g.low += c.low;
        g.findings.push(f);
    }
    for g in &mut groups {
        let first = g.findings[0];
        let all = |pred: &dyn Fn(&FindingView) -> bool| g.findings.iter().all(|f| pred(f));
        g.top = first.sensitivity.as_str();
        for f in &g.findings {
            if f.sensitivity > first.sensitivity {
                g.top = f.sensitivity.as_str();
            }
        }
        g.reason = all(&|f| f.reason == first.reason).then(|| first.reason.as_str());
        g.same_last = all(&|f| f.last_accessed == first.last_accessed);
        g.last = first.last_accessed;
        g.granted_by =
            all(&|f| f.granted_by == first.granted_by).then_some(first.granted_by.as_str());
        g.uniform = g.reason.is_some() && g.same_last && g.granted_by.is_some();
    }
    evidence.sort();
    let mut services: Vec<&ServiceSummary> = p.info.services.iter().collect();
    services.sort_by(|a, b| {
        (b.counts.used > 0)
            .cmp(&(a.counts.used > 0))
            .then(
                b.highest_unused_sensitivity
                    .cmp(&a.highest_unused_sensitivity),
            )
            .then(b.counts.unused.cmp(&a.counts.unused))
            .then(a.service.cmp(&b.service))
    });
    let services_more = services.len().saturating_sub(MAX_SECTION_SERVICES);
    services.truncate(MAX_SECTION_SERVICES);
    if services_more == 0 {
        services.sort_by(|a, b| a.service.cmp(&b.service));
    }
    let note = |(r, count): (Reason, u64)| ReasonNote {
        reason: r.as_str(),
        explanation: r.explain(),
        count,
    };
    let unknown = p
        .unknown_by_reason
        .iter()
        .filter_map(|(k, n)| reason_from(k).map(|r| (r, *n)))
        .map(note)
        .collect();
    Section {
        id,
        p,
        groups,
        evidence: evidence.into_iter().map(note).collect(),
        unknown,
        services_total: p.info.services.len(),
        services,
        services_more,
    }
}

fn has_detail(p: &PrincipalView) -> bool {
    !p.unused.is_empty()
        || p.unused_omitted > 0
        || !p.unknown_by_reason.is_empty()
        || p.info.counts.excluded > 0
        || !p.info.unmatched_patterns.is_empty()
}

/// The page stays under this size: sections, then table rows, are dropped until it fits.
pub const MAX_BYTES: usize = 9_500_000;

fn view(model: &ReportModel, max_sections: usize, max_rows: usize) -> View<'_> {
    // Sections: principals with something to show, by score, capped.
    let mut order: Vec<usize> = (0..model.principals.len())
        .filter(|i| has_detail(&model.principals[*i]))
        .collect();
    let with_detail = order.len();
    order.sort_by(|a, b| {
        let (pa, pb) = (&model.principals[*a].info, &model.principals[*b].info);
        pb.score
            .cmp(&pa.score)
            .then(pb.counts.unused.cmp(&pa.counts.unused))
            .then(pb.counts.unknown.cmp(&pa.counts.unknown))
            .then(a.cmp(b))
    });
    order.truncate(model.limits.principal_sections.min(max_sections));
    let mut ids: Vec<Option<String>> = vec![None; model.principals.len()];
    for i in &order {
        ids[*i] = Some(format!("p{}", i + 1));
    }
    let n_sections = order.len();
    let sections: Vec<Section<'_>> = order
        .iter()
        .map(|i| section(format!("p{}", i + 1), &model.principals[*i]))
        .collect();

    let by_arn: HashMap<(&str, &str), usize> = model
        .principals
        .iter()
        .enumerate()
        .map(|(i, p)| ((p.info.account_id.as_str(), p.info.arn.as_str()), i))
        .collect();
    let link = |account: &str, arn: &str| by_arn.get(&(account, arn)).and_then(|i| ids[*i].clone());
    let risky = model
        .riskiest_principals
        .iter()
        .map(|r| RiskRow {
            r,
            link: link(&r.account_id, &r.principal_arn),
        })
        .collect();
    let top = model
        .top_findings
        .iter()
        .map(|f| TopRow {
            f,
            link: link(&f.account_id, &f.principal_arn),
        })
        .collect();

    // The compact table: every principal, unless the size bound needs a cut (highest score first).
    let mut by_score: Vec<usize> = (0..model.principals.len()).collect();
    if by_score.len() > max_rows {
        by_score.sort_by(|a, b| {
            model.principals[*b]
                .info
                .score
                .cmp(&model.principals[*a].info.score)
                .then(a.cmp(b))
        });
        by_score.truncate(max_rows);
        by_score.sort_unstable();
    }
    let rows_omitted = model.principals.len() - by_score.len();
    let rows = by_score
        .iter()
        .map(|i| (&model.principals[*i], &ids[*i]))
        .map(|(p, id)| Row {
            p: RowPrincipal::new(p),
            id: id.clone(),
            status: if p.info.counts.unused > 0 {
                "unused"
            } else if p.info.counts.unknown > 0 {
                "unknown"
            } else {
                "used"
            },
        })
        .collect();

    let account_ids: BTreeSet<&str> = model
        .accounts
        .iter()
        .map(|a| a.account_id.as_str())
        .chain(model.principals.iter().map(|p| p.info.account_id.as_str()))
        .collect();
    let top_services: BTreeSet<&str> = model
        .top_findings
        .iter()
        .map(|f| f.service.as_str())
        .collect();

    let account_ids: Vec<&str> = account_ids.into_iter().collect();
    let select = |name, label, values| Select {
        name,
        label,
        values,
    };
    let types = vec!["role", "user", "group"];
    let times: BTreeSet<String> = model
        .accounts
        .iter()
        .map(|a| match a.as_of {
            Some(t) => t.format("%Y-%m-%d %H:%M UTC").to_string(),
            None => "unknown".to_string(),
        })
        .collect();
    let as_of_range = match (times.first(), times.last()) {
        (Some(a), Some(b)) if a == b => a.clone(),
        (Some(a), Some(b)) => format!("{a} to {b} (per account below)"),
        _ => "—".to_string(),
    };
    View {
        as_of_range,
        top_filters: vec![
            select("account", "Account", account_ids.clone()),
            select("type", "Principal type", types.clone()),
            select("service", "Service", top_services.into_iter().collect()),
            select(
                "sensitivity",
                "Sensitivity",
                vec!["critical", "high", "medium", "low"],
            ),
        ],
        principal_filters: vec![
            select("account", "Account", account_ids),
            select("type", "Type", types),
            select("status", "Status", vec!["unused", "unknown", "used"]),
        ],
        m: Head::new(model),
        csp: content_security_policy(),
        css: CSS,
        js: JS,
        chart_svg: chart(&model.unused_by_service),
        chart_more: model.unused_by_service.len().saturating_sub(CHART_SERVICES),
        warnings_more: model.warnings.len().saturating_sub(MAX_WARNINGS),
        risky,
        top,
        sections,
        sections_omitted: with_detail - n_sections,
        sections_cut: max_sections < model.limits.principal_sections.min(with_detail),
        identities: &model.identities.findings
            [..model.identities.findings.len().min(MAX_IDENTITIES)],
        identities_more: model
            .identities
            .findings
            .len()
            .saturating_sub(MAX_IDENTITIES),
        identity_rules: IdentityKind::ALL
            .iter()
            .map(|k| IdentityRule {
                kind: k.as_str(),
                rule: k.rule(),
            })
            .collect(),
        rows,
        rows_omitted,
        with_detail,
    }
}

/// Sensitivity colours (fill, label) shared with the CSS chips.
const SEGMENTS: [(&str, &str); 4] = [
    ("#7f1d1d", "critical"),
    ("#c2410c", "high"),
    ("#d4a017", "medium"),
    ("#94a3b8", "low"),
];

/// Inline SVG: horizontal stacked bars of unused permissions per service by sensitivity.
fn chart(services: &[ServiceRisk]) -> String {
    let shown = &services[..services.len().min(CHART_SERVICES)];
    if shown.is_empty() {
        return String::new();
    }
    let (label_w, bar_w, row_h, top, right) = (170u64, 520u64, 26u64, 8u64, 70u64);
    let width = label_w + bar_w + right;
    let height = top * 2 + row_h * shown.len() as u64;
    let max = shown.iter().map(|s| s.total).max().unwrap_or(1).max(1);
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"chart\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" \
         role=\"img\" aria-labelledby=\"chart-title chart-desc\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title id=\"chart-title\">Unused permissions by service and sensitivity</title>\
         <desc id=\"chart-desc\">Stacked horizontal bars, one per service, largest risk first: critical, high, \
         medium and low unused permissions. The same numbers are in the table below the chart.</desc>"
    );
    for (i, s) in shown.iter().enumerate() {
        let y = top + row_h * i as u64;
        let name = escape(&s.service);
        let _ = write!(
            svg,
            "<g><text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"chart-label\">{name}</text>",
            label_w - 8,
            y + row_h / 2 + 4
        );
        let b = &s.by_sensitivity;
        let mut x = 0u64;
        for ((fill, label), n) in SEGMENTS.iter().zip([b.critical, b.high, b.medium, b.low]) {
            if n == 0 {
                continue;
            }
            // Cumulative rounding keeps the segments adjacent and the total exact.
            let end = ((x + n) * bar_w).div_ceil(max);
            let start = (x * bar_w).div_ceil(max);
            let w = (end - start).max(1);
            let _ = write!(
                svg,
                "<rect x=\"{}\" y=\"{}\" width=\"{w}\" height=\"{}\" fill=\"{fill}\"><title>{name}: {n} {label}</title></rect>",
                label_w + start,
                y + 4,
                row_h - 8
            );
            x += n;
        }
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" class=\"chart-total\">{}</text></g>",
            label_w + (x * bar_w).div_ceil(max) + 6,
            y + row_h / 2 + 4,
            s.total
        );
    }
    svg.push_str("</svg>");
    svg
}

// ---- tera filters -------------------------------------------------------------------------

type Args = HashMap<String, Value>;

fn parse_ts(v: &Value) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    v.as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
}

/// `2026-11-20T09:12:00Z` → `2026-11-20 09:12 UTC`; null → empty.
fn filter_ts(v: &Value, _: &Args) -> tera::Result<Value> {
    Ok(Value::String(match parse_ts(v) {
        Some(t) => t
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%d %H:%M UTC")
            .to_string(),
        None => v.as_str().unwrap_or_default().to_string(),
    }))
}

/// `2026-11-20T09:12:00Z` → `2026-11-20`; null → empty.
fn filter_day(v: &Value, _: &Args) -> tera::Result<Value> {
    Ok(Value::String(match parse_ts(v) {
        Some(t) => t.with_timezone(&chrono::Utc).format("%Y-%m-%d").to_string(),
        None => v.as_str().unwrap_or_default().to_string(),
    }))
}

/// Integer with thousands separators: `12345` → `12,345`.
fn filter_num(v: &Value, _: &Args) -> tera::Result<Value> {
    let n = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return Ok(v.clone()),
    };
    let (sign, digits) = n.strip_prefix('-').map_or(("", n.as_str()), |d| ("-", d));
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(Value::String(n));
    }
    Ok(Value::String(format!("{sign}{}", thousands(digits))))
}

/// `"12345"` → `"12,345"` (ASCII digits only).
pub(crate) fn thousands(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Sort key of a sensitivity: critical 4 … low 1, none 0.
fn filter_sevrank(v: &Value, _: &Args) -> tera::Result<Value> {
    Ok(Value::from(match v.as_str() {
        Some("critical") => 4,
        Some("high") => 3,
        Some("medium") => 2,
        Some("low") => 1,
        _ => 0,
    }))
}

/// `action_not_accessed` → `action not accessed`.
fn filter_words(v: &Value, _: &Args) -> tera::Result<Value> {
    Ok(Value::String(
        v.as_str().unwrap_or_default().replace('_', " "),
    ))
}

/// Share of `total` as a whole percentage (`pct(total=n)`).
fn filter_pct(v: &Value, args: &Args) -> tera::Result<Value> {
    let part = v.as_u64().unwrap_or(0);
    let total = args.get("total").and_then(Value::as_u64).unwrap_or(0);
    Ok(Value::String(match (part * 100).checked_div(total) {
        None => "0%".into(),
        Some(0) if part > 0 => "<1%".into(),
        Some(p) => format!("{p}%"),
    }))
}

fn tera() -> Result<tera::Tera> {
    let mut t = tera::Tera::default();
    t.add_raw_templates(TEMPLATES)
        .map_err(|e| Error::render("report.html", format!("template: {}", chain(&e))))?;
    t.autoescape_on(vec![".html"]);
    t.set_escape_fn(escape);
    t.register_filter("ts", filter_ts);
    t.register_filter("day", filter_day);
    t.register_filter("num", filter_num);
    t.register_filter("words", filter_words);
    t.register_filter("pct", filter_pct);
    t.register_filter("sevrank", filter_sevrank);
    Ok(t)
}

/// Renders the self-contained HTML report, within [`MAX_BYTES`]: when the full page would be
/// larger, principal sections and then rows of the principals table are cut (the page says so;
/// the CSV/Parquet files carry everything). Deterministic: the cuts depend on the model only.
pub fn render(model: &ReportModel, w: &mut dyn Write) -> Result<()> {
    let t = tera()?;
    let werr = |message: String| Error::render("report.html", message);
    let page = |sections: usize, rows: usize| -> Result<String> {
        let ctx = tera::Context::from_serialize(view(model, sections, rows))
            .map_err(|e| Error::render("report.html", format!("context: {e}")))?;
        t.render("report.html", &ctx).map_err(|e| werr(chain(&e)))
    };
    let mut sections = model.limits.principal_sections;
    let mut rows = model.principals.len();
    let mut html = page(sections, rows)?;
    if html.len() > MAX_BYTES && sections > 0 {
        // Too large: measure the page without sections once, and keep as many sections as the
        // room left allows at their average size (then shrink further if still too large).
        let bare = page(0, rows)?;
        let per_section = (html.len().saturating_sub(bare.len()) / sections).max(1);
        let room = MAX_BYTES.saturating_sub(bare.len());
        let fit = ((room as f64 * 0.95) as usize / per_section).min(sections - 1);
        sections = fit;
        html = if fit == 0 {
            bare
        } else {
            page(sections, rows)?
        };
    }
    while html.len() > MAX_BYTES && (sections > 0 || rows > 0) {
        // Shrink in proportion to the overshoot, with a margin.
        let keep = |n: usize| (n as f64 * (MAX_BYTES as f64 / html.len() as f64) * 0.9) as usize;
        if sections > 0 {
            sections = keep(sections).min(sections - 1);
        } else {
            rows = keep(rows).min(rows - 1);
        }
        html = page(sections, rows)?;
    }
    w.write_all(html.as_bytes())
        .map_err(|e| werr(e.to_string()))
}

/// An error with its causes (tera nests the useful message).
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        msg = format!("{msg}: {s}");
        src = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn numbers_get_separators() {
        let n = |v: Value| filter_num(&v, &Args::new()).ok();
        assert_eq!(n(Value::from(0)), Some(Value::from("0")));
        assert_eq!(n(Value::from(999)), Some(Value::from("999")));
        assert_eq!(n(Value::from(1000)), Some(Value::from("1,000")));
        assert_eq!(n(Value::from(1234567)), Some(Value::from("1,234,567")));
    }

    #[test]
    fn timestamps_are_formatted_in_utc() {
        let v = Value::from("2026-11-20T09:12:00.123456+00:00");
        assert_eq!(
            filter_ts(&v, &Args::new()).ok(),
            Some(Value::from("2026-11-20 09:12 UTC"))
        );
        assert_eq!(
            filter_day(&v, &Args::new()).ok(),
            Some(Value::from("2026-11-20"))
        );
    }
}
