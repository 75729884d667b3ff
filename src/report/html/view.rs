//! The view the report templates read, built from the report model.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use super::super::ReportModel;
use super::super::model::{FindingView, PrincipalRank, ServiceRisk};
use super::chart::chart;
use super::section;
use super::table::Table;
use super::{CSS, JS, content_security_policy};
use crate::analysis::Sensitivity;
use crate::analysis::identities::{IdentityFinding, IdentityKind};
use crate::analysis::named::NamedAction;
use crate::decisions::{Decision, DecisionKind};
use crate::model::Timestamp;

/// Identity findings listed in full (all are in credentials.csv and report.json).
const MAX_IDENTITIES: usize = 500;
/// Services drawn in the chart (the rest are in the table under it).
use super::chart::CHART_SERVICES;
/// Warnings listed in full (the rest are counted; all are in report.json).
const MAX_WARNINGS: usize = 200;

/// A decision with the anchor of its principal's section and the README of its folder.
#[derive(Serialize)]
struct DecisionRow<'a> {
    d: &'a Decision,
    link: Option<String>,
    readme: Option<String>,
    /// The first named risky actions, shown; the rest folded.
    risky: &'a [NamedAction],
    risky_folded: &'a [NamedAction],
}

/// How many named risky actions a decision row shows before folding the rest.
const RISKY_SHOWN: usize = 3;

/// Warning codes whose warnings change verdicts (shown at the top, not only counted).
const VERDICT_WARNINGS: [&str; 14] = [
    "last_accessed_missing",
    "permission_set_windows_differ",
    "permission_set_account_unlisted",
    "last_accessed_service_before_action",
    "as_of_unverified",
    "last_accessed_incomplete",
    "last_accessed_service_missing",
    "last_accessed_older_than_as_of",
    "accessed_after_as_of",
    "credential_report_older_than_as_of",
    "credential_report_time_unknown",
    "policy_missing",
    "group_missing",
    "fetch_unfinished",
];

/// A sensitivity level and what it holds (the cards and the methodology say the same).
#[derive(Serialize)]
struct Meaning {
    level: &'static str,
    meaning: &'static str,
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

/// A `<select>` of a filter box: name (the row's `data-` attribute), label, values.
#[derive(Serialize)]
struct Select<'a> {
    name: &'static str,
    label: &'static str,
    values: Vec<&'a str>,
}

#[derive(Serialize)]
pub(super) struct View<'a> {
    /// The data files this run did not write (`--format`), which the page points to.
    not_written: &'a [&'static str],
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
    /// How many principal sections the page has.
    sections: usize,
    /// Those sections (written on their own before the page, `section.rs`), or
    /// [`SECTIONS_MARK`] when the page is only measured.
    sections_html: String,
    /// Bytes of the sections, written into `sections_html` or not.
    #[serde(skip)]
    pub(super) sections_bytes: usize,
    sections_omitted: usize,
    /// True when the size bound cut sections below `limits.principal_sections`.
    sections_cut: bool,
    /// The rows of the table of all principals (`table.rs`), or nothing when the page is only
    /// measured.
    rows_html: String,
    /// Rows the table lists, and how many the size bound cut.
    rows_shown: usize,
    rows_omitted: usize,
    /// Bytes of the table's rows, written into `rows_html` or not.
    #[serde(skip)]
    pub(super) rows_bytes: usize,
    /// Principals with unused or unknown findings (candidates for a section).
    with_detail: usize,
    /// Identity findings shown (the rest are in credentials.csv and report.json).
    identities: &'a [IdentityFinding],
    identities_more: usize,
    identity_rules: Vec<IdentityRule>,
    /// The decisions of the first screen (intentional access excluded).
    decisions: Vec<DecisionRow<'a>>,
    /// The rest of the listed decisions (intentional access excluded).
    decisions_more: Vec<DecisionRow<'a>>,
    /// Intentional access: one decision per principal.
    intentional: Vec<DecisionRow<'a>>,
    /// Decisions other than intentional access, in all (decisions.csv).
    decisions_to_make: usize,
    sensitivity: Vec<Meaning>,
    /// Warnings that change verdicts (at most 5 shown in the banner).
    warnings_verdict: Vec<&'a crate::analysis::AccountWarning>,
    warnings_verdict_total: usize,
}

/// Everything the templates read from the model except the per-principal lists, which are
/// large (they reach the page through `sections` and `rows`). Serialising the whole model into
/// the template context would cost more than rendering the page.
#[derive(Serialize)]
struct Head<'a> {
    tool: &'a super::super::model::ToolInfo,
    catalog: &'a super::super::model::CatalogInfo,
    settings: &'a super::super::model::SettingsInfo,
    limits: &'a super::super::model::Limits,
    accounts: Vec<AccountView<'a>>,
    /// Input files each account lists (fewer than [`MAX_FILES_PER_ACCOUNT`] beyond 10 accounts,
    /// `files_capped`: the page says so once).
    files_per_account: usize,
    files_capped: bool,
    /// The warnings listed (the first `MAX_WARNINGS`), and how many there are.
    warnings: &'a [crate::analysis::AccountWarning],
    warnings_total: usize,
    summary: &'a super::super::model::Summary,
    unused_by_service: &'a [ServiceRisk],
    top_findings_omitted: u64,
    exclusions: &'a [crate::analysis::ExclusionRule],
    identities: IdentitiesHead<'a>,
    principal_count: usize,
    decisions_total: usize,
    decisions_omitted: usize,
    organization: Option<&'a crate::analysis::model::OrganizationInfo>,
}

/// What the page's head reads of the identity findings: their number (the list reaches the page
/// through `View::identities`, capped; serialising all of them into every candidate page's
/// context only to count them cost more than the rest of the head at 100,000 roles).
#[derive(Serialize)]
struct IdentitiesHead<'a> {
    findings_total: usize,
    checks_not_possible: &'a [crate::analysis::identities::NotPossible],
}

impl<'a> Head<'a> {
    fn new(m: &'a ReportModel) -> Head<'a> {
        let files_per_account = files_per_account(m.accounts.len());
        Head {
            tool: &m.tool,
            catalog: &m.catalog,
            settings: &m.settings,
            limits: &m.limits,
            accounts: m
                .accounts
                .iter()
                .map(|a| AccountView::new(a, files_per_account))
                .collect(),
            files_per_account,
            files_capped: files_per_account < MAX_FILES_PER_ACCOUNT,
            warnings: &m.warnings[..m.warnings.len().min(MAX_WARNINGS)],
            warnings_total: m.warnings.len(),
            summary: &m.summary,
            unused_by_service: &m.unused_by_service,
            top_findings_omitted: m.top_findings_omitted,
            exclusions: &m.exclusions,
            identities: IdentitiesHead {
                findings_total: m.identities.findings.len(),
                checks_not_possible: &m.identities.checks_not_possible,
            },
            principal_count: m.principals.len(),
            decisions_total: m.decisions_total,
            decisions_omitted: m.decisions_omitted,
            organization: m.organization.as_ref(),
        }
    }
}

/// Input files listed per account on the page; the rest are counted (every file's SHA-256 is in
/// report.json). A 100,000-role organisation has 110,000 input files: listing them all would
/// take 16 MB, more than the page's size bound.
const MAX_FILES_PER_ACCOUNT: usize = 300;

/// Input files listed on the whole page, over every account: 300 for each of 1,000 accounts was
/// 57 MB of the page at 1,000,000 roles (nothing else the page cuts could bring it under its
/// size bound). With more than 10 accounts each lists this many divided by the number of
/// accounts (at most [`MAX_FILES_PER_ACCOUNT`]); with more than 3,000, none.
const MAX_FILES_LISTED: usize = 3_000;

/// How many input files each account lists on the page.
fn files_per_account(accounts: usize) -> usize {
    (MAX_FILES_LISTED / accounts.max(1)).min(MAX_FILES_PER_ACCOUNT)
}

/// An account of the scope table, with its input files capped at `cap` (see
/// [`files_per_account`]): files outside `last-accessed/` first (in path order), then
/// last-accessed files. The fields of [`ExportInfo`](crate::analysis::ExportInfo) but its list
/// of every input file, which each candidate page serialised in full (110,000 files at 100,000
/// roles) only to have the capped list replace it.
#[derive(Serialize)]
struct AccountView<'a> {
    account_id: &'a str,
    partition: &'a str,
    path: &'a str,
    as_of: Option<Timestamp>,
    as_of_source: crate::analysis::AsOfSource,
    window_start: Option<Timestamp>,
    principals: usize,
    has_credential_report: bool,
    manifest: Option<&'a crate::analysis::ManifestFacts>,
    files: Vec<&'a crate::model::InputFile>,
    files_total: usize,
    files_more: usize,
}

impl<'a> AccountView<'a> {
    fn new(info: &'a crate::analysis::ExportInfo, cap: usize) -> AccountView<'a> {
        // Files outside last-accessed/ take the first places, last-accessed files the rest; the
        // chosen ones are listed in the export's (path) order.
        // The folder's name as the loader writes it into `InputFile::path`
        // (`input::LAST_ACCESSED_DIR`: `report` may not depend on `input`, tests/layering.rs).
        let last_accessed = |f: &crate::model::InputFile| f.path.starts_with("last-accessed/");
        let other = info.files.iter().filter(|f| !last_accessed(f)).count();
        let mut other_room = other.min(cap);
        let mut last_accessed_room = cap - other_room;
        let files: Vec<&crate::model::InputFile> = info
            .files
            .iter()
            .filter(|f| {
                let room = if last_accessed(f) {
                    &mut last_accessed_room
                } else {
                    &mut other_room
                };
                let keep = *room > 0;
                *room = room.saturating_sub(1);
                keep
            })
            .collect();
        AccountView {
            account_id: &info.account_id,
            partition: &info.partition,
            path: &info.path,
            as_of: info.as_of,
            as_of_source: info.as_of_source,
            window_start: info.window_start,
            principals: info.principals,
            has_credential_report: info.has_credential_report,
            manifest: info.manifest.as_ref(),
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

/// The principal sections: principals with something to show, by score, capped; and how many
/// have something to show.
fn section_order(model: &ReportModel, max_sections: usize) -> (Vec<usize>, usize) {
    let mut order = crate::report::model::detail_order(&model.principals);
    let with_detail = order.len();
    order.truncate(model.limits.principal_sections.min(max_sections));
    (order, with_detail)
}

/// The filters above the top findings and above the principals table.
fn filters<'a>(model: &'a ReportModel<'a>) -> (Vec<Select<'a>>, Vec<Select<'a>>) {
    let account_ids: BTreeSet<&str> = model
        .accounts
        .iter()
        .map(|a| a.account_id.as_str())
        .chain(model.principals.iter().map(|p| &*p.info.account_id))
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
    (
        vec![
            select("account", "Account", account_ids.clone()),
            select("type", "Principal type", types.clone()),
            select("service", "Service", top_services.into_iter().collect()),
            select(
                "sensitivity",
                "Sensitivity",
                vec!["critical", "high", "medium", "low"],
            ),
        ],
        vec![
            select("account", "Account", account_ids),
            select("type", "Type", types),
            select("status", "Status", vec!["unused", "unknown", "used"]),
        ],
    )
}

/// The accounts' as-of times in one phrase.
fn as_of_range(model: &ReportModel) -> String {
    let times: BTreeSet<String> = model
        .accounts
        .iter()
        .map(|a| match a.as_of {
            Some(t) => t.format("%Y-%m-%d %H:%M UTC").to_string(),
            None => "unknown".to_string(),
        })
        .collect();
    match (times.first(), times.last()) {
        (Some(a), Some(b)) if a == b => a.clone(),
        (Some(a), Some(b)) => format!("{a} to {b} (per account below)"),
        _ => "—".to_string(),
    }
}

/// The view of the page with at most `max_sections` principal sections and `max_rows` rows of
/// the principals table (`render` lowers them until the page fits its size limit).
/// Where the table of principals' rows goes in a page rendered without them.
pub(super) const ROWS_MARK: &str = "<!-- iam-tighten: the rows of the table of principals -->";

/// The rows of the table of principals of [`view`]`(model, table, max_sections, max_rows, _)`.
pub(super) fn rows_html(
    model: &ReportModel,
    table: &Table,
    max_sections: usize,
    max_rows: usize,
) -> String {
    super::table::html(
        model,
        &table.kept(max_rows),
        &section_ids(model, max_sections),
    )
}

/// Where the principal sections go in a page rendered without them.
pub(super) const SECTIONS_MARK: &str = "<!-- iam-tighten: the principal sections -->";

/// Every principal section the page may show (at most `limits.principal_sections`, in the
/// page's order), each written on its own (`section.rs`): the page then only concatenates the
/// first ones that fit. Rendering them inside the page meant serialising all of them into one
/// tera context per candidate page (+0.46 GB and 2 s at 10,000 roles).
pub(super) fn sections_html(model: &ReportModel) -> Vec<String> {
    let (order, _) = section_order(model, usize::MAX);
    order
        .iter()
        .map(|i| {
            let mut out = String::new();
            let s = section::build(format!("p{}", i + 1), &model.principals[*i], model);
            section::write(&mut out, &s, &model.catalog.version);
            out
        })
        .collect()
}

/// Each principal's section anchor (`p<n>`), for those with a section.
fn section_ids(model: &ReportModel, max_sections: usize) -> Anchors {
    Anchors::new(&section_order(model, max_sections).0)
}

/// The section anchors (`p<n>`) of the principals that have a section, by principal index. At
/// most `limits.principal_sections` of them: an entry for every principal (`None` for most)
/// took 24 bytes each, 26 MB at 1,000,000 roles in each candidate page.
pub(super) struct Anchors(Vec<(usize, String)>);

impl Anchors {
    /// The anchors of the principals of `sections` (indexes).
    fn new(sections: &[usize]) -> Anchors {
        let mut anchors: Vec<(usize, String)> = sections
            .iter()
            .map(|&i| (i, format!("p{}", i + 1)))
            .collect();
        anchors.sort_unstable_by_key(|(i, _)| *i);
        anchors.dedup_by_key(|(i, _)| *i);
        Anchors(anchors)
    }

    /// Principal `i`'s anchor, if it has a section.
    pub(super) fn get(&self, i: usize) -> Option<&str> {
        let at = self.0.binary_search_by_key(&i, |(j, _)| *j).ok()?;
        Some(self.0[at].1.as_str())
    }
}

/// The decisions' rows: the first to make, the other ones to make, and the intentional access.
type DecisionRows<'a> = (
    Vec<DecisionRow<'a>>,
    Vec<DecisionRow<'a>>,
    Vec<DecisionRow<'a>>,
);

fn decision_rows<'a>(
    model: &'a ReportModel,
    link: &dyn Fn(&str, &str) -> Option<String>,
) -> DecisionRows<'a> {
    let decision_row = |d: &'a Decision| {
        let cut = d.risky_actions.len().min(RISKY_SHOWN);
        DecisionRow {
            d,
            link: link(&d.account_id, &d.principal_arn),
            readme: d
                .files
                .as_ref()
                .and_then(|f| f.rsplit_once('/'))
                .map(|(folder, _)| format!("{folder}/README.md")),
            risky: &d.risky_actions[..cut],
            risky_folded: &d.risky_actions[cut..],
        }
    };
    let (intentional, to_make): (Vec<&Decision>, Vec<&Decision>) = model
        .decisions
        .iter()
        .partition(|d| d.kind == DecisionKind::ConfirmIntentional);
    let first = model.limits.top_decisions.min(to_make.len());
    (
        to_make[..first].iter().map(|d| decision_row(d)).collect(),
        to_make[first..].iter().map(|d| decision_row(d)).collect(),
        intentional.into_iter().map(decision_row).collect(),
    )
}

/// The last principal of each (account, ARN) of the principals `sections` (what a map of every
/// principal would hold for those keys): a link goes to a section or nowhere. A map of every
/// principal was ~55 MB at 1,000,000 roles, made for each candidate page.
fn last_of_keys<'m>(
    model: &'m ReportModel,
    sections: &[usize],
) -> HashMap<(&'m str, &'m str), usize> {
    let key = |i: usize| {
        let p = &model.principals[i].info;
        (&*p.account_id, p.arn())
    };
    let mut last: HashMap<(&str, &str), usize> = sections.iter().map(|&i| (key(i), i)).collect();
    for i in 0..model.principals.len() {
        if let Some(at) = last.get_mut(&key(i)) {
            *at = i;
        }
    }
    last
}

/// With `full` false the table's rows and the principal sections are only measured
/// (`rows_bytes`, `sections_bytes`) and [`ROWS_MARK`] and [`SECTIONS_MARK`] stand where they go.
/// `sections` are the rendered sections of [`sections_html`], in order: the page has the first
/// `max_sections` of them (at most).
pub(super) fn view<'a>(
    model: &'a ReportModel,
    table: &Table,
    sections: &[String],
    (max_sections, max_rows): (usize, usize),
    not_written: &'a [&'static str],
    full: bool,
) -> View<'a> {
    let (order, with_detail) = section_order(model, max_sections);
    let ids = Anchors::new(&order);
    let n_sections = order.len();
    let shown = &sections[..n_sections.min(sections.len())];
    let sections_bytes = shown.iter().map(String::len).sum();
    let sections_html = if full {
        shown.concat()
    } else {
        SECTIONS_MARK.to_string()
    };

    let by_arn = last_of_keys(model, &order);
    let link = |account: &str, arn: &str| {
        let i = by_arn.get(&(account, arn))?;
        ids.get(*i).map(str::to_string)
    };
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
    let (decisions, decisions_more, intentional) = decision_rows(model, &link);
    let verdict_warnings: Vec<&crate::analysis::AccountWarning> = model
        .warnings
        .iter()
        .filter(|w| VERDICT_WARNINGS.contains(&w.warning.code.as_str()))
        .collect();

    let kept = table.kept(max_rows);
    let rows_bytes = table.bytes(model, &kept, &ids);
    let rows_html = if full {
        super::table::html(model, &kept, &ids)
    } else {
        ROWS_MARK.to_string()
    };
    let (top_filters, principal_filters) = filters(model);
    let as_of_range = as_of_range(model);
    View {
        not_written,
        as_of_range,
        top_filters,
        principal_filters,
        m: Head::new(model),
        csp: content_security_policy(),
        css: CSS,
        js: JS,
        chart_svg: chart(&model.unused_by_service),
        chart_more: model.unused_by_service.len().saturating_sub(CHART_SERVICES),
        warnings_more: model.warnings.len().saturating_sub(MAX_WARNINGS),
        risky,
        top,
        sections: n_sections,
        sections_html,
        sections_bytes,
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
        rows_html,
        rows_shown: kept.len(),
        rows_omitted: model.principals.len() - kept.len(),
        rows_bytes,
        with_detail,
        decisions_to_make: model.decisions_total.saturating_sub(intentional.len()),
        decisions,
        decisions_more,
        intentional,
        sensitivity: Sensitivity::ALL_DESC
            .iter()
            .map(|s| Meaning {
                level: s.as_str(),
                meaning: s.meaning(),
            })
            .collect(),
        warnings_verdict_total: verdict_warnings.len(),
        warnings_verdict: verdict_warnings.into_iter().take(5).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{AsOfSource, ExportInfo};
    use crate::model::InputFile;

    /// A principal's anchor is `p<index + 1>` when it has a section, and none otherwise,
    /// whatever order the sections come in.
    #[test]
    fn anchors_name_the_principals_with_a_section() {
        let ids = Anchors::new(&[9, 2, 5]);
        assert_eq!(ids.get(2), Some("p3"));
        assert_eq!(ids.get(5), Some("p6"));
        assert_eq!(ids.get(9), Some("p10"));
        for i in [0, 1, 3, 4, 6, 8, 10, usize::MAX] {
            assert_eq!(ids.get(i), None, "{i}");
        }
        assert_eq!(Anchors::new(&[]).get(0), None);
    }

    /// An account's view carries the capped list of input files once, not the export's whole
    /// list beside it (which each candidate page serialised in full).
    #[test]
    fn an_account_carries_only_the_capped_files() {
        let file = |path: String| InputFile {
            path,
            sha256: crate::model::Sha256Sum([0; 32]),
            bytes: 1,
        };
        let info = ExportInfo {
            account_id: "111122223333".into(),
            partition: "aws".into(),
            path: "exports/a".into(),
            as_of: None,
            as_of_source: AsOfSource::None,
            window_start: None,
            principals: 2_000,
            has_credential_report: true,
            files: std::iter::once(file("authorization-details.json".into()))
                .chain((0..2_000).map(|i| file(format!("last-accessed/role-{i:04}.json"))))
                .collect(),
            manifest: None,
        };
        let view = AccountView::new(&info, files_per_account(1));
        let text = serde_json::to_string(&view).unwrap();
        assert_eq!(text.matches("\"files\":").count(), 1, "{}", &text[..200]);
        assert_eq!(
            text.matches("last-accessed/").count(),
            MAX_FILES_PER_ACCOUNT - 1
        );
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["files_total"], 2_001);
        assert_eq!(value["files_more"], 2_001 - MAX_FILES_PER_ACCOUNT);
        assert_eq!(value["files"][0]["path"], "authorization-details.json");
        for field in [
            "account_id",
            "partition",
            "path",
            "as_of",
            "as_of_source",
            "window_start",
            "principals",
            "has_credential_report",
            "manifest",
        ] {
            assert!(value.get(field).is_some(), "{field} missing");
        }
        // A smaller cap takes the files outside last-accessed/ first; none lists nothing.
        let few = AccountView::new(&info, 3);
        let paths: Vec<&str> = few.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "authorization-details.json",
                "last-accessed/role-0000.json",
                "last-accessed/role-0001.json"
            ]
        );
        assert_eq!(few.files_more, 1_998);
        assert!(AccountView::new(&info, 0).files.is_empty());
    }

    #[test]
    fn the_page_lists_at_most_3000_input_files() {
        for (accounts, each) in [
            (0, 300),
            (1, 300),
            (10, 300),
            (11, 272),
            (1_000, 3),
            (3_000, 1),
            (3_001, 0),
        ] {
            assert_eq!(files_per_account(accounts), each, "{accounts} accounts");
            assert!(accounts * each <= MAX_FILES_LISTED);
        }
    }
}
