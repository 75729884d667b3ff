//! The report model: one serialisable view of an analysis, rendered as `report.json`, projected
//! into the CSVs and drawn by the HTML template. Built once; every format reads it.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;

use crate::analysis::explain::ActionSummary;
use crate::analysis::identities::IdentityReport;
use crate::analysis::named::{NAMED_AT_MOST, NamedAction};
use crate::analysis::sensitivity::category;
use crate::analysis::{
    AccountWarning, Analysis, BySensitivity, Counts, ExclusionRule, ExportInfo, Finding,
    PolicyInfo, PolicyLabel, PrincipalInfo, Reason, Sensitivity, ServiceSummary, Status,
};
use crate::decisions::{Decision, Decisions};
use crate::model::Timestamp;
use crate::recommend::{PrincipalRecommendation, RecommendationSummary};

/// How many findings the model carries in full (the CSV/Parquet carry every row).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Limits {
    /// Decisions in report.json and the HTML's full list (decisions.csv has every one).
    pub decisions: usize,
    /// Decisions on the report's first screen.
    pub top_decisions: usize,
    /// Top actionable unused findings shown in "What to remove first".
    pub top_findings: usize,
    /// Unused findings listed per principal.
    pub per_principal: usize,
    /// Principals that get a full section in the HTML report.
    pub principal_sections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            decisions: 500,
            top_decisions: 15,
            top_findings: 200,
            per_principal: 100,
            principal_sections: 200,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ToolInfo {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct CatalogInfo {
    pub source: String,
    pub version: String,
    pub updated: String,
    pub actions: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct SettingsInfo {
    pub unused_after_days: u32,
    /// Set when `--as-of` overrode the exports' own times.
    pub as_of_flag: Option<Timestamp>,
    pub config_file: Option<String>,
    /// SHA-256 of the `--config` file.
    pub config_sha256: Option<String>,
    /// `--key-max-age`.
    pub key_max_age_days: Option<u32>,
    /// `--recommendations` (`None`: every folder).
    pub recommendation_folders: Option<usize>,
    /// The command line, without the `--out` folder (where the report is written changes no
    /// result, and leaving it out keeps reruns byte-identical).
    pub command_line: Vec<String>,
    /// The intentional-access rules in the order they are tried: built-in ones (switched off
    /// ones included, marked), then the `--config` file's own.
    pub intentional_rules: Vec<IntentionalRuleInfo>,
}

/// One intentional-access rule as the report states it.
#[derive(Debug, Clone, Serialize)]
pub struct IntentionalRuleInfo {
    pub id: String,
    /// `built-in` or `config`.
    pub source: &'static str,
    /// False when `[intentional] disable` switched a built-in rule off.
    pub enabled: bool,
    /// What it matches, in words.
    pub matches: String,
}

fn intentional_rules(
    c: &crate::analysis::intentional::IntentionalConfig,
) -> Vec<IntentionalRuleInfo> {
    let builtin = crate::analysis::intentional::BUILTIN
        .iter()
        .map(|(id, what)| IntentionalRuleInfo {
            id: (*id).to_string(),
            source: "built-in",
            enabled: !c.disabled.iter().any(|d| d == id),
            matches: (*what).to_string(),
        });
    let own = c.rules.iter().map(|r| {
        let mut parts = Vec::new();
        if let Some(p) = &r.principal {
            parts.push(format!("principal {p}"));
        }
        if let Some(p) = &r.path {
            parts.push(format!("path {p}"));
        }
        if let Some(p) = &r.policy {
            parts.push(format!("policy {p}"));
        }
        IntentionalRuleInfo {
            id: r.id.clone(),
            source: "config",
            enabled: true,
            matches: format!("{}: {}", parts.join(", "), r.reason),
        }
    });
    builtin.chain(own).collect()
}

/// What the run was asked for beyond the analysis settings: recorded as audit evidence.
#[derive(Debug, Clone, Default)]
pub struct RunInfo {
    pub key_max_age_days: Option<u32>,
    pub recommendation_folders: Option<usize>,
    pub command_line: Vec<String>,
}

impl RunInfo {
    /// The command line of `args` without the value of `--out` / `-o`.
    pub fn command_line(args: impl IntoIterator<Item = String>) -> Vec<String> {
        let mut out = Vec::new();
        let mut skip = false;
        for (i, a) in args.into_iter().enumerate() {
            if skip {
                skip = false;
                out.push("OUT".into());
                continue;
            }
            if i == 0 {
                out.push("iam-tighten".into());
            } else if a == "--out" || a == "-o" {
                skip = true;
                out.push(a);
            } else if a.starts_with("--out=") {
                out.push("--out=OUT".into());
            } else {
                out.push(a);
            }
        }
        out
    }
}

/// One finding as every output shows it. Field order = `findings.csv` column order (the
/// per-sensitivity counts nested in `actions_by_sensitivity`, the named actions structured).
#[derive(Debug, Clone, Serialize)]
pub struct FindingView {
    pub rank: u32,
    /// The highest sensitivity of the finding's actions.
    pub sensitivity: Sensitivity,
    pub account_id: String,
    pub principal_type: &'static str,
    pub principal_name: String,
    /// The action, or patterns/names that match exactly the finding's actions.
    pub action: String,
    /// The actions in words, relative to what the principal is granted in the service.
    pub action_summary: ActionSummary,
    /// How many actions the finding covers.
    pub actions: u32,
    pub status: Status,
    pub reason: Reason,
    /// The critical and high actions, named, with why (at most `named::NAMED_AT_MOST`).
    pub risky_actions: Vec<NamedAction>,
    /// How many of the finding's actions have each sensitivity.
    pub actions_by_sensitivity: BySensitivity,
    pub risk_categories: Vec<&'static str>,
    pub service: String,
    /// The access level of the action, or `mixed` for several actions of different levels.
    pub access_level: &'static str,
    pub last_accessed: Option<Timestamp>,
    pub last_accessed_region: Option<std::sync::Arc<str>>,
    pub days_since_access: Option<i64>,
    pub granted_by: String,
    /// `all` (Resource "*") or `scoped`.
    pub resource_scope: &'static str,
    pub conditional: bool,
    pub actionable: bool,
    pub excluded: bool,
    pub exclusion_reason: Option<String>,
    /// With an organisation part: `blocked` or `restricted` by an SCP or RCP (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control_effect: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control_detail: Option<String>,
    pub principal_arn: String,
}

impl FindingView {
    /// The view of `an.findings[index]`, `f`.
    pub fn new(an: &Analysis<'_>, index: usize, f: &Finding) -> FindingView {
        let p = an.principal(f);
        let info = an.catalog.action(an.action(f));
        let (risky_actions, _) = an.top_named(f.principal, an.actions(f), NAMED_AT_MOST);
        FindingView {
            rank: Analysis::rank(index),
            sensitivity: an.sensitivity(f),
            account_id: p.account_id.to_string(),
            principal_type: p.kind.as_str(),
            principal_name: p.name().to_owned(),
            action: an.action_text(f).to_string(),
            action_summary: an.action_summary(f),
            actions: an.count(f),
            status: f.status(),
            reason: f.reason,
            risky_actions,
            actions_by_sensitivity: an.sensitivity_counts(f),
            risk_categories: category::names(an.categories(f)),
            service: info.service.to_string(),
            access_level: an.access_level(f),
            last_accessed: f.last_accessed(),
            last_accessed_region: an.region(f).cloned(),
            days_since_access: an.days_since_access(f),
            granted_by: an.granted_by_text(f.granted_by),
            resource_scope: if f.scoped() { "scoped" } else { "all" },
            conditional: f.conditional(),
            actionable: p.actionable,
            excluded: f.exclusion.is_some(),
            exclusion_reason: f
                .exclusion
                .and_then(|id| an.exclusion(id))
                .map(|r| r.reason.clone()),
            control_effect: an.control_note(index).map(|n| n.effect.as_str()),
            control_detail: an.control_note(index).map(|n| n.detail.clone()),
            principal_arn: p.arn().to_owned(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ReasonCount {
    pub reason: Reason,
    pub status: Status,
    pub explanation: &'static str,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub accounts: usize,
    pub principals: usize,
    pub principals_with_unused: usize,
    pub unused_roles: usize,
    pub totals: Counts,
    /// Unused, actionable, not excluded.
    pub unused_by_sensitivity: BySensitivity,
    pub reasons: Vec<ReasonCount>,
}

/// Unused (actionable, not excluded) findings of one service, by sensitivity.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceRisk {
    pub service: String,
    #[serde(flatten)]
    pub by_sensitivity: BySensitivity,
    pub total: u64,
}

/// A borrowed value, or an owned one on the heap: what `Cow` is, in 16 bytes rather than the
/// value's size. The model holds one principal's facts and recommendation per principal, and
/// as `Cow`s they were 600 bytes a principal (~0.65 GB at 1,000,000 roles); tests vary owned
/// copies.
#[derive(Debug, Clone)]
pub enum Shared<'a, T> {
    Borrowed(&'a T),
    Owned(Box<T>),
}

impl<T: Clone> Shared<'_, T> {
    /// The owned value, copied first when borrowed.
    pub fn to_mut(&mut self) -> &mut T {
        if let Shared::Borrowed(b) = *self {
            *self = Shared::Owned(Box::new(b.clone()));
        }
        match self {
            Shared::Owned(o) => o,
            Shared::Borrowed(_) => unreachable!("made owned above"),
        }
    }
}

impl<T> std::ops::Deref for Shared<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        match self {
            Shared::Borrowed(b) => b,
            Shared::Owned(o) => o,
        }
    }
}

impl<T: Serialize> Serialize for Shared<'_, T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}

/// A principal's unknown verdicts by reason: a count (of actions) for each of the eight reasons
/// that make a verdict unknown, held in place (32 bytes; a sorted vector of (reason, count)
/// took 24 bytes and an allocation of 32–48 for every principal with an unknown verdict, ~1
/// million of them held to the last writer at 1,000,000 roles). Serialised as a map from the
/// reasons' names, in their alphabetical order, of the reasons with a count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReasonCounts([u32; UNKNOWN_REASONS.len()]);

/// The reasons of an unknown verdict ([`Status::Unknown`]), in the alphabetical order of their
/// names (a test checks both).
const UNKNOWN_REASONS: [Reason; 8] = [
    Reason::AccessedAfterAsOf,
    Reason::ActionNotTracked,
    Reason::GrantTooNew,
    Reason::NoLastAccessedData,
    Reason::NotObservable,
    Reason::PermissionSetIncomplete,
    Reason::PrincipalTooNew,
    Reason::UsedAfterData,
];

impl ReasonCounts {
    /// Adds `n` actions of an unknown verdict for `reason`. A principal holds each action once,
    /// so a count stays below the catalog's size; it saturates rather than wraps. A reason of
    /// another status is not counted (the analysis gives none here).
    pub fn add(&mut self, reason: Reason, n: u64) {
        debug_assert_eq!(reason.status(), Status::Unknown, "{reason:?}");
        if let Some(i) = UNKNOWN_REASONS.iter().position(|r| *r == reason) {
            let n = u32::try_from(n).unwrap_or(u32::MAX);
            self.0[i] = self.0[i].saturating_add(n);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&n| n == 0)
    }

    /// The reasons with a count, in the alphabetical order of their names.
    pub fn iter(&self) -> impl Iterator<Item = (Reason, u64)> + '_ {
        UNKNOWN_REASONS
            .iter()
            .zip(self.0)
            .filter(|(_, n)| *n > 0)
            .map(|(r, n)| (*r, u64::from(n)))
    }
}

impl FromIterator<(Reason, u64)> for ReasonCounts {
    fn from_iter<I: IntoIterator<Item = (Reason, u64)>>(iter: I) -> ReasonCounts {
        let mut counts = ReasonCounts::default();
        for (reason, n) in iter {
            counts.add(reason, n);
        }
        counts
    }
}

impl Serialize for ReasonCounts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_map(self.iter().map(|(r, n)| (r.as_str(), n)))
    }
}

/// A principal with its unused findings for the per-principal sections. The principal's facts and
/// recommendation are borrowed from the analysis and the plans' summary (at 100,000 roles copies
/// of them took ~1 GB). Written to report.json by [`Principals`], which knows the policies'
/// labels: the principal's facts first, then the fields below (but `services`).
#[derive(Debug, Clone)]
pub struct PrincipalView<'a> {
    pub info: Shared<'a, PrincipalInfo>,
    /// Unused findings not listed in [`Self::unused`].
    pub unused_omitted: u64,
    /// Unknown findings by reason.
    pub unknown_by_reason: ReasonCounts,
    /// The tightened-policy recommendation (`recommendations/…`), when one was computed.
    pub recommendation: Option<Shared<'a, PrincipalRecommendation>>,
    /// What only the principals that may get a section in the HTML report carry; `None` for
    /// the others (80 bytes a view where the two lists inline took 120, ~1,100,000 views held
    /// to the last writer at 1,000,000 roles).
    detail: Option<Box<ViewDetail<'a>>>,
}

/// The lists of a [`PrincipalView`] that few principals have ([`PrincipalView::unused`],
/// [`PrincipalView::services`]).
#[derive(Debug, Clone)]
struct ViewDetail<'a> {
    unused: Vec<FindingView>,
    services: Vec<ServiceSummary<'a>>,
}

impl<'a> PrincipalView<'a> {
    /// A view of `info`: `unused` its listed unused findings, `services` its summary per
    /// service (both empty but for the principals that may get a section).
    pub fn new(
        info: Shared<'a, PrincipalInfo>,
        unused: Vec<FindingView>,
        unused_omitted: u64,
        unknown_by_reason: ReasonCounts,
        recommendation: Option<Shared<'a, PrincipalRecommendation>>,
        services: Vec<ServiceSummary<'a>>,
    ) -> PrincipalView<'a> {
        let mut view = PrincipalView {
            info,
            unused_omitted,
            unknown_by_reason,
            recommendation,
            detail: None,
        };
        view.set_lists(unused, services);
        view
    }

    /// Highest-ranked unused findings (up to `Limits::per_principal`; only for the
    /// `Limits::principal_sections` principals with the highest score).
    pub fn unused(&self) -> &[FindingView] {
        self.detail.as_ref().map_or(&[], |d| &d.unused)
    }

    /// Its summary per service ([`Analysis::services_of`]), for the principals that may get a
    /// section in the HTML report (those [`PrincipalView::has_detail`], first in
    /// [`section_order`], up to `Limits::principal_sections`); empty for the others.
    /// Not in report.json (services.csv carries every row).
    pub fn services(&self) -> &[ServiceSummary<'a>] {
        self.detail.as_ref().map_or(&[], |d| &d.services)
    }

    /// Both lists, to change (tests vary them).
    pub fn lists_mut(&mut self) -> (&mut Vec<FindingView>, &mut Vec<ServiceSummary<'a>>) {
        let d = self.detail.get_or_insert_with(|| {
            Box::new(ViewDetail {
                unused: Vec::new(),
                services: Vec::new(),
            })
        });
        (&mut d.unused, &mut d.services)
    }

    /// Replaces both lists (held only when one is not empty).
    fn set_lists(&mut self, unused: Vec<FindingView>, services: Vec<ServiceSummary<'a>>) {
        self.detail = (!unused.is_empty() || !services.is_empty())
            .then(|| Box::new(ViewDetail { unused, services }));
    }
}

/// Every principal's view, with the policy labels its policies name (`Analysis::labels`): a
/// policy's name and group are its label's. Reads as the vector of views.
#[derive(Debug, Clone)]
pub struct Principals<'a> {
    views: Vec<PrincipalView<'a>>,
    labels: &'a [PolicyLabel],
}

impl<'a> Principals<'a> {
    pub fn new(views: Vec<PrincipalView<'a>>, labels: &'a [PolicyLabel]) -> Principals<'a> {
        Principals { views, labels }
    }

    /// Names the policies with `labels` instead (tests vary them).
    #[cfg(test)]
    pub(crate) fn set_labels(&mut self, labels: &'a [PolicyLabel]) {
        self.labels = labels;
    }

    /// `view` as report.json writes it.
    #[cfg(test)]
    pub(crate) fn out<'v>(&'v self, view: &'v PrincipalView<'a>) -> impl Serialize + 'v {
        ViewOut { view, list: self }
    }

    /// The label of `policy`: the analysis' (a label of another analysis, which the report never
    /// holds, would be named by an empty one of the policy's kind).
    pub fn label(&self, policy: &PolicyInfo) -> std::borrow::Cow<'a, PolicyLabel> {
        match self.labels.get(policy.label.0 as usize) {
            Some(l) => std::borrow::Cow::Borrowed(l),
            None => std::borrow::Cow::Owned(PolicyLabel {
                kind: policy.kind,
                name: String::new(),
                via_group: None,
                boundary: policy.boundary,
            }),
        }
    }
}

impl<'a> std::ops::Deref for Principals<'a> {
    type Target = Vec<PrincipalView<'a>>;

    fn deref(&self) -> &Self::Target {
        &self.views
    }
}

impl std::ops::DerefMut for Principals<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.views
    }
}

impl Serialize for Principals<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_seq(self.views.iter().map(|view| ViewOut { view, list: self }))
    }
}

/// A principal as report.json writes it: its facts (with each policy's name and group from its
/// label) and its view's lists, in the order the fields are declared.
struct ViewOut<'v, 'a> {
    view: &'v PrincipalView<'a>,
    list: &'v Principals<'a>,
}

/// A principal's policies as report.json writes them.
struct PoliciesOut<'v, 'a> {
    policies: &'v [PolicyInfo],
    list: &'v Principals<'a>,
}

impl Serialize for PoliciesOut<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_seq(self.policies.iter().map(|policy| PolicyOut {
            policy,
            label: self.list.label(policy),
        }))
    }
}

/// A principal's policy as report.json writes it: its name and group from its label.
struct PolicyOut<'p> {
    policy: &'p PolicyInfo,
    label: std::borrow::Cow<'p, PolicyLabel>,
}

impl Serialize for PolicyOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let (p, l) = (self.policy, &*self.label);
        let mut st = s.serialize_struct("PolicyInfo", 7)?;
        st.serialize_field("name", &l.name)?;
        st.serialize_field("kind", &p.kind)?;
        st.serialize_field("arn", &p.arn)?;
        st.serialize_field("via_group", &l.via_group)?;
        st.serialize_field("boundary", &p.boundary)?;
        st.serialize_field("grants", &p.grants)?;
        st.serialize_field("unused", &p.unused)?;
        st.end()
    }
}

impl Serialize for ViewOut<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let (v, i) = (self.view, &*self.view.info);
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("account_id", &i.account_id)?;
        m.serialize_entry("kind", &i.kind)?;
        m.serialize_entry("name", &i.name())?;
        m.serialize_entry("arn", &i.arn())?;
        m.serialize_entry("id", &i.id())?;
        m.serialize_entry("tags", &i.tags)?;
        m.serialize_entry("created", &i.created)?;
        m.serialize_entry("last_used", &i.last_used)?;
        m.serialize_entry("last_used_region", &i.last_used_region)?;
        m.serialize_entry("service_linked", &i.service_linked)?;
        m.serialize_entry("actionable", &i.actionable)?;
        m.serialize_entry("intentional", &i.intentional)?;
        if let Some(set) = &i.permission_set {
            m.serialize_entry("permission_set", set)?;
        }
        m.serialize_entry("has_last_accessed", &i.has_last_accessed)?;
        m.serialize_entry("as_of", &i.as_of)?;
        let policies = PoliciesOut {
            policies: &i.policies,
            list: self.list,
        };
        m.serialize_entry("policies", &policies)?;
        m.serialize_entry("unmatched_patterns", &i.unmatched_patterns)?;
        m.serialize_entry("counts", &i.counts)?;
        m.serialize_entry("unused_by_sensitivity", &i.unused_by_sensitivity)?;
        m.serialize_entry("score", &i.score)?;
        m.serialize_entry("flags", &i.flags)?;
        m.serialize_entry("unused", v.unused())?;
        m.serialize_entry("unused_omitted", &v.unused_omitted)?;
        m.serialize_entry("unknown_by_reason", &v.unknown_by_reason)?;
        m.serialize_entry("recommendation", &v.recommendation)?;
        m.end()
    }
}

impl PrincipalView<'_> {
    /// Whether the principal has something to show in a section of its own.
    pub(crate) fn has_detail(&self) -> bool {
        !self.unused().is_empty()
            || self.unused_omitted > 0
            || !self.unknown_by_reason.is_empty()
            || self.info.counts.excluded > 0
            || !self.info.unmatched_patterns.is_empty()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportModel<'a> {
    pub tool: ToolInfo,
    pub catalog: CatalogInfo,
    pub settings: SettingsInfo,
    pub limits: Limits,
    /// Borrowed from the analysis: each export lists every file read (~170 bytes a principal,
    /// held from the analysis to the last writer; a copy was ~190 MB at 1,000,000 roles).
    pub accounts: Cow<'a, [ExportInfo]>,
    pub warnings: Cow<'a, [AccountWarning]>,
    pub summary: Summary,
    /// Top principals by score (at most 20).
    pub riskiest_principals: Vec<PrincipalRank>,
    pub unused_by_service: Vec<ServiceRisk>,
    /// Ranked actionable unused findings (at most `limits.top_findings`).
    pub top_findings: Vec<FindingView>,
    pub top_findings_omitted: u64,
    /// Sorted by (account, type, name).
    pub principals: Principals<'a>,
    pub exclusions: Vec<ExclusionRule>,
    /// The organisation part (OU tree facts, SCPs and RCPs, permission sets), when the exports
    /// came with one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<crate::analysis::model::OrganizationInfo>,
    /// Unused identities and credentials (roles, users, keys, passwords, root, groups, policies).
    pub identities: IdentityReport,
    /// Ranked decisions (at most `limits.decisions`; decisions.csv has every one): intentional
    /// access last.
    pub decisions: Vec<Decision>,
    /// Decisions in all, by whether they are intentional access.
    pub decisions_total: usize,
    pub decisions_omitted: usize,
    /// Every decision (decisions.csv, the workbook); not in report.json. Borrowed from the
    /// decisions the model is built from (a copy was 180 MB at 100,000 roles).
    #[serde(skip)]
    pub all_decisions: Cow<'a, [Decision]>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PrincipalRank {
    pub account_id: String,
    pub principal_type: &'static str,
    pub principal_name: String,
    pub principal_arn: String,
    pub score: u64,
    pub unused_by_sensitivity: BySensitivity,
    pub counts: Counts,
    pub flags: Vec<&'static str>,
    /// The intentional-access rule it matched, if any.
    pub intentional: Option<String>,
}

/// Principals in the order of their sections (the HTML's and report.json's): score, then
/// unused, then unknown, highest first; then `order`'s order.
pub(crate) fn section_order<'a>(
    mut order: Vec<usize>,
    info: impl Fn(usize) -> &'a PrincipalInfo,
) -> Vec<usize> {
    order.sort_by(|a, b| {
        let (pa, pb) = (info(*a), info(*b));
        pb.score
            .cmp(&pa.score)
            .then(pb.counts.unused.cmp(&pa.counts.unused))
            .then(pb.counts.unknown.cmp(&pa.counts.unknown))
            .then(a.cmp(b))
    });
    order
}

/// The principals with something to show in a section of their own
/// ([`PrincipalView::has_detail`]), in the order of the HTML report's sections.
pub(crate) fn detail_order(principals: &[PrincipalView<'_>]) -> Vec<usize> {
    let with_detail = (0..principals.len())
        .filter(|i| principals[*i].has_detail())
        .collect();
    section_order(with_detail, |i| &principals[i].info)
}

/// Unused actionable permissions per service, most critical, then high, then all first.
fn service_risks(by_service: BTreeMap<&str, BySensitivity>) -> Vec<ServiceRisk> {
    let mut out: Vec<ServiceRisk> = by_service
        .into_iter()
        .map(|(service, s)| ServiceRisk {
            total: s.critical + s.high + s.medium + s.low,
            service: service.to_string(),
            by_sensitivity: s,
        })
        .collect();
    out.sort_by(|a, b| {
        (b.by_sensitivity.critical, b.by_sensitivity.high, b.total)
            .cmp(&(a.by_sensitivity.critical, a.by_sensitivity.high, a.total))
            .then(a.service.cmp(&b.service))
    });
    out
}

/// The 20 principals with the highest scores.
fn riskiest(an: &Analysis<'_>) -> Vec<PrincipalRank> {
    let mut ranked: Vec<&PrincipalInfo> = an.principals.iter().filter(|p| p.score > 0).collect();
    ranked.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then(a.account_id.cmp(&b.account_id))
            .then(a.kind.cmp(&b.kind))
            .then(a.name().cmp(b.name()))
    });
    ranked
        .iter()
        .take(20)
        .map(|p| PrincipalRank {
            account_id: p.account_id.to_string(),
            principal_type: p.kind.as_str(),
            principal_name: p.name().to_owned(),
            principal_arn: p.arn().to_owned(),
            score: u64::from(p.score),
            unused_by_sensitivity: p.unused_by_sensitivity.wide(),
            counts: p.counts.wide(),
            flags: p.flags.to_vec(),
            intentional: p.intentional.as_ref().map(|m| m.rule.clone()),
        })
        .collect()
}

/// Every setting that changed a result (audit evidence).
fn settings_info(an: &Analysis<'_>, run: &RunInfo) -> SettingsInfo {
    SettingsInfo {
        unused_after_days: an.settings.unused_after_days,
        as_of_flag: an.settings.as_of,
        config_file: an.config.path.as_ref().map(|p| p.display().to_string()),
        config_sha256: an.config.sha256.clone(),
        key_max_age_days: run.key_max_age_days,
        recommendation_folders: run.recommendation_folders,
        command_line: run.command_line.clone(),
        intentional_rules: intentional_rules(&an.config.intentional),
    }
}

fn summary(an: &Analysis<'_>, reasons: BTreeMap<Reason, u64>) -> Summary {
    Summary {
        accounts: an.exports.len(),
        principals: an.principals.len(),
        principals_with_unused: an.principals.iter().filter(|p| p.score > 0).count(),
        unused_roles: an
            .principals
            .iter()
            .filter(|p| p.flags.contains(&"unused_role"))
            .count(),
        totals: an.totals,
        unused_by_sensitivity: an.unused_by_sensitivity,
        reasons: reasons
            .into_iter()
            .map(|(reason, count)| ReasonCount {
                reason,
                status: reason.status(),
                explanation: reason.explain(),
                count,
            })
            .collect(),
    }
}

/// Every principal's view, from the per-principal tallies of the findings; the first
/// `sections` that may get a section in the HTML report also carry their services.
fn principal_views<'a>(
    an: &'a Analysis<'_>,
    recommendations: Option<&'a RecommendationSummary>,
    unused: Vec<Vec<FindingView>>,
    omitted: Vec<u64>,
    unknown: Vec<ReasonCounts>,
    sections: usize,
) -> Vec<PrincipalView<'a>> {
    let mut principals: Vec<PrincipalView<'a>> = an
        .principals
        .iter()
        .zip(unused)
        .zip(omitted)
        .zip(unknown)
        .map(|(((p, unused), unused_omitted), unknown_by_reason)| {
            PrincipalView::new(
                Shared::Borrowed(p),
                unused,
                unused_omitted,
                unknown_by_reason,
                recommendations
                    .and_then(|r| r.get(&p.account_id, p.kind, p.name()))
                    .map(Shared::Borrowed),
                Vec::new(),
            )
        })
        .collect();
    let with_services = detail_principals(an, sections);
    debug_assert_eq!(
        with_services,
        detail_order(&principals)
            .into_iter()
            .take(sections)
            .collect::<Vec<_>>()
    );
    for i in with_services {
        let unused = principals[i]
            .detail
            .take()
            .map(|d| d.unused)
            .unwrap_or_default();
        principals[i].set_lists(unused, an.services_of(i));
    }
    principals
}

/// The principals whose sections show their services: the first `sections` of
/// [`detail_order`], found from the analysis alone, so that `report` can drop every other
/// principal's last-accessed facts before the model is built
/// (`Analysis::keep_service_facts_of`). A principal's view has detail
/// ([`PrincipalView::has_detail`]) exactly when its counts have unused, unknown or excluded
/// actions or it has patterns that matched nothing: an unused finding not excluded, listed or
/// omitted, counts its actions (at least one) in `unused`, and an unknown one in `unknown`.
pub fn detail_principals(an: &Analysis<'_>, sections: usize) -> Vec<usize> {
    let with_detail = (0..an.principals.len())
        .filter(|&i| {
            let p = &an.principals[i];
            p.counts.unused > 0
                || p.counts.unknown > 0
                || p.counts.excluded > 0
                || !p.unmatched_patterns.is_empty()
        })
        .collect();
    let mut order = section_order(with_detail, |i| &an.principals[i]);
    order.truncate(sections);
    order
}

fn is_actionable_unused(an: &Analysis<'_>, f: &Finding) -> bool {
    f.status() == Status::Unused && f.exclusion.is_none() && an.principal(f).actionable
}

impl<'a> ReportModel<'a> {
    pub fn build(
        an: &'a Analysis<'_>,
        identities: IdentityReport,
        recommendations: Option<&'a RecommendationSummary>,
        decisions: &'a Decisions,
        run: &RunInfo,
        limits: Limits,
    ) -> ReportModel<'a> {
        // `permission_set_incomplete` exists only where permission sets do.
        let with_sets = an
            .organization
            .as_ref()
            .is_some_and(|o| !o.permission_sets.is_empty());
        let mut reasons: BTreeMap<Reason, u64> = Reason::ALL
            .iter()
            .filter(|r| with_sets || **r != Reason::PermissionSetIncomplete)
            .map(|r| (*r, 0))
            .collect();
        // Keyed by the catalog's own text (a copy per finding was ~37 million allocations at
        // 1,000,000 roles).
        let mut by_service: BTreeMap<&str, BySensitivity> = BTreeMap::new();
        let mut per_principal: Vec<Vec<FindingView>> = vec![Vec::new(); an.principals.len()];
        let mut omitted = vec![0u64; an.principals.len()];
        let mut unknown: Vec<ReasonCounts> = vec![ReasonCounts::default(); an.principals.len()];
        let mut top = Vec::new();
        let mut top_omitted = 0;
        // Only the principals that get a section in the HTML report carry their unused list
        // (same order as the report's sections); the rest are counted in `unused_omitted` and
        // are in findings.csv, so report.json stays bounded for large organisations.
        let order = section_order((0..an.principals.len()).collect(), |i| &an.principals[i]);
        let mut listed = vec![false; an.principals.len()];
        for i in order.into_iter().take(limits.principal_sections) {
            listed[i] = true;
        }
        for (index, f) in an.findings.iter().enumerate() {
            let n = u64::from(an.count(f));
            *reasons.entry(f.reason).or_default() += n;
            let pi = f.principal as usize;
            if f.status() == Status::Unknown {
                unknown[pi].add(f.reason, n);
            }
            if f.status() == Status::Unused && f.exclusion.is_none() {
                if listed[pi] && per_principal[pi].len() < limits.per_principal {
                    per_principal[pi].push(FindingView::new(an, index, f));
                } else {
                    omitted[pi] += 1;
                }
            }
            if is_actionable_unused(an, f) {
                let svc: &str = an.service_name(f);
                let e = by_service.entry(svc).or_default();
                e.add(&an.sensitivity_counts(f));
                // Intentional access is one decision, not rows of "what to remove first".
                if an.principal(f).intentional.is_some() {
                } else if top.len() < limits.top_findings {
                    top.push(FindingView::new(an, index, f));
                } else {
                    top_omitted += 1;
                }
            }
        }
        let unused_by_service = service_risks(by_service);
        let riskiest_principals = riskiest(an);

        let principals = principal_views(
            an,
            recommendations,
            per_principal,
            omitted,
            unknown,
            limits.principal_sections,
        );

        ReportModel {
            tool: ToolInfo {
                name: "iam-tighten",
                version: crate::VERSION,
            },
            catalog: CatalogInfo {
                source: an.catalog.source().to_string(),
                version: an.catalog.version().to_string(),
                updated: an.catalog.updated().to_string(),
                actions: an.catalog.len(),
            },
            settings: settings_info(an, run),
            limits,
            accounts: Cow::Borrowed(&an.exports),
            warnings: Cow::Borrowed(&an.warnings),
            summary: summary(an, reasons),
            riskiest_principals,
            unused_by_service,
            top_findings: top,
            top_findings_omitted: top_omitted,
            principals: Principals::new(principals, &an.labels),
            exclusions: an.config.exclusions.clone(),
            organization: an.organization.clone(),
            identities,
            decisions: decisions
                .list
                .iter()
                .take(limits.decisions)
                .cloned()
                .collect(),
            decisions_total: decisions.list.len(),
            decisions_omitted: decisions.list.len().saturating_sub(limits.decisions),
            all_decisions: Cow::Borrowed(&decisions.list),
        }
    }
}

#[cfg(test)]
mod tests {

    /// The principals whose services the model shows are `detail_principals`', for any
    /// number of sections, found from the analysis alone.
    #[test]
    fn detail_principals_are_the_sections_that_show_services() {
        let (_, _, an) = crate::sample_organization();
        let decisions = crate::decisions::Decisions::default();
        let all = detail_principals(&an, usize::MAX);
        assert!(all.len() >= 5, "{all:?}");
        for n in [0, 1, 3, all.len(), usize::MAX] {
            let limits = Limits {
                principal_sections: n,
                ..Limits::default()
            };
            let ids = crate::analysis::identities::IdentityReport::default();
            let model = ReportModel::build(&an, ids, None, &decisions, &RunInfo::default(), limits);
            let want: Vec<usize> = detail_order(&model.principals)
                .into_iter()
                .take(n)
                .collect();
            assert_eq!(detail_principals(&an, n), want, "{n} sections");
            for (i, p) in model.principals.iter().enumerate() {
                assert_eq!(
                    !p.services().is_empty(),
                    want.contains(&i),
                    "{n} sections, principal {i}"
                );
            }
        }
    }
    use std::collections::BTreeMap;

    use super::{
        Limits, Reason, ReasonCounts, ReportModel, RunInfo, Shared, Status, detail_order,
        detail_principals,
    };

    /// Counts added in any order serialise as the map a `BTreeMap` made of them would.
    #[test]
    fn reason_counts_serialise_as_a_sorted_map() {
        // ~1,100,000 views at 1,000,000 roles, held to the last writer: their reasons in place,
        // their lists boxed apart (a view was 112 bytes and an allocation for its reasons).
        assert_eq!(std::mem::size_of::<ReasonCounts>(), 32);
        assert_eq!(std::mem::size_of::<super::PrincipalView>(), 80);
        // Every reason of an unknown verdict has a place, in the order of their names.
        let unknown: Vec<Reason> = Reason::ALL
            .into_iter()
            .filter(|r| r.status() == Status::Unknown)
            .collect();
        let mut sorted = unknown.clone();
        sorted.sort_by_key(|r| r.as_str());
        assert_eq!(super::UNKNOWN_REASONS.as_slice(), sorted.as_slice());
        let adds = [
            (Reason::NotObservable, 3),
            (Reason::AccessedAfterAsOf, 1),
            (Reason::NotObservable, 4),
            (Reason::PrincipalTooNew, 2),
            (Reason::AccessedAfterAsOf, 5),
        ];
        let mut ours = ReasonCounts::default();
        let mut map: BTreeMap<&str, u64> = BTreeMap::new();
        for (r, n) in adds {
            ours.add(r, n);
            *map.entry(r.as_str()).or_default() += n;
        }
        assert_eq!(
            serde_json::to_string(&ours).unwrap(),
            serde_json::to_string(&map).unwrap()
        );
        assert_eq!(ours.iter().count(), 3);
        assert!(ReasonCounts::default().is_empty());
        // Every unknown reason counts, each in its own place; a count saturates.
        let all: ReasonCounts = unknown.iter().map(|r| (*r, 1)).collect();
        assert_eq!(all.iter().map(|(r, _)| r).collect::<Vec<_>>(), sorted);
        let mut full = ReasonCounts::default();
        full.add(Reason::ActionNotTracked, u64::MAX);
        full.add(Reason::ActionNotTracked, 1);
        assert_eq!(
            full.iter().collect::<Vec<_>>(),
            [(Reason::ActionNotTracked, u64::from(u32::MAX))]
        );
    }

    /// A shared value serialises as the value; `to_mut` copies a borrowed one, leaving the
    /// original as it was.
    #[test]
    fn shared_reads_and_copies_on_write() {
        let original = vec![1, 2];
        let mut s = Shared::Borrowed(&original);
        assert_eq!(serde_json::to_string(&s).unwrap(), "[1,2]");
        s.to_mut().push(3);
        assert_eq!(*s, vec![1, 2, 3]);
        assert_eq!(original, vec![1, 2]);
        assert!(matches!(s, Shared::Owned(_)));
    }
}
