//! One principal's `<details>` section of report.html, written here rather than by tera: the
//! sections were the page's largest cost (each one's view serialised into a tera context, then
//! rendered: 17% of all CPU for a 1,000-role account, 6.5% at 10,000 roles). The page's
//! structure stays in the templates; the sections are written into it (`render`).
//!
//! The markup is exactly what `templates/section.html` renders with the page's engine (its
//! autoescape and filters): the tests render both for every section of the sample organisation,
//! and for sections whose text is hostile, empty or missing, and compare them byte for byte.
//! Everything from an export goes through [`escape_into`] (the engine's [`escape`]); truthiness
//! follows tera's (`{% if x %}` is false for a missing value, `""`, `0` and an empty list).
//!
//! [`escape`]: crate::report::page::escape

use std::fmt::Write as _;

#[cfg(test)]
use serde::Serialize;

use super::super::ReportModel;
use super::super::model::{FindingView, PrincipalView, Principals};
use crate::analysis::identities::IdentityFinding;
use crate::analysis::{Reason, Sensitivity, ServiceSummary};
use crate::model::{Timestamp, grouped_into, rfc3339};
use crate::report::page::{escape_into, words_into};

/// Services listed per principal section (the rest are in services.csv).
const MAX_SECTION_SERVICES: usize = 40;

/// One service's unused findings inside a principal section.
#[cfg_attr(test, derive(Serialize))]
struct ServiceGroup<'a> {
    service: &'a str,
    summary: Option<&'a ServiceSummary<'a>>,
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

/// A reason that occurs in a principal section, with its explanation.
#[cfg_attr(test, derive(Serialize))]
struct ReasonNote {
    reason: &'static str,
    explanation: &'static str,
    count: u64,
}

/// A principal that gets a full `<details>` section.
#[cfg_attr(test, derive(Serialize))]
pub(super) struct Section<'a> {
    id: String,
    #[cfg_attr(test, serde(skip))]
    p: &'a PrincipalView<'a>,
    /// Every principal, for the labels that name `p`'s policies.
    #[cfg_attr(test, serde(skip))]
    list: &'a Principals<'a>,
    /// `p` as report.json writes it, which the template reads (tests only).
    #[cfg(test)]
    #[serde(rename = "p")]
    p_out: serde_json::Value,
    groups: Vec<ServiceGroup<'a>>,
    /// Reasons behind the listed unused findings.
    evidence: Vec<ReasonNote>,
    /// Unknown findings by reason, with the explanation.
    unknown: Vec<ReasonNote>,
    /// The principal's identity and credential findings (keys, password, unused principal).
    identity: Vec<&'a IdentityFinding>,
    /// Services shown (used first, then by unused sensitivity), capped.
    services: Vec<&'a ServiceSummary<'a>>,
    services_more: usize,
    services_total: usize,
}

pub(super) fn build<'a>(id: String, p: &'a PrincipalView, model: &'a ReportModel) -> Section<'a> {
    let mut groups: Vec<ServiceGroup<'a>> = Vec::new();
    let mut evidence: Vec<(Reason, u64)> = Vec::new();
    for f in p.unused() {
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
                    summary: p.services().iter().find(|s| s.service == f.service),
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
    let mut services: Vec<&ServiceSummary> = p.services().iter().collect();
    services.sort_by(|a, b| {
        (b.counts.used > 0)
            .cmp(&(a.counts.used > 0))
            .then(
                b.highest_unused_sensitivity
                    .cmp(&a.highest_unused_sensitivity),
            )
            .then(b.counts.unused.cmp(&a.counts.unused))
            .then(a.service.cmp(b.service))
    });
    let services_more = services.len().saturating_sub(MAX_SECTION_SERVICES);
    services.truncate(MAX_SECTION_SERVICES);
    if services_more == 0 {
        services.sort_by(|a, b| a.service.cmp(b.service));
    }
    let note = |(r, count): (Reason, u64)| ReasonNote {
        reason: r.as_str(),
        explanation: r.explain(),
        count,
    };
    let unknown = p.unknown_by_reason.iter().map(note).collect();
    let identity = model
        .identities
        .findings
        .iter()
        .filter(|f| *f.account_id == *p.info.account_id && f.principal_arn == p.info.arn())
        .collect();
    Section {
        id,
        p,
        list: &model.principals,
        #[cfg(test)]
        p_out: serde_json::to_value(model.principals.out(p)).expect("a view serialises"),
        identity,
        groups,
        evidence: evidence.into_iter().map(note).collect(),
        unknown,
        services_total: p.services().len(),
        services,
        services_more,
    }
}

/// The section's markup, appended to `out` (`catalog_version` is named where the section lists
/// policy actions the catalog does not know).
pub(super) fn write(out: &mut String, s: &Section, catalog_version: &str) {
    let mut w = W(out);
    summary(&mut w, s);
    facts(&mut w, s);
    identities(&mut w, s);
    policies(&mut w, s);
    services(&mut w, s);
    unused(&mut w, s);
    unknown(&mut w, s, catalog_version);
    w.t("\n</div>\n</details>");
}

/// The `<summary>`: name, flags, unused counts by sensitivity, the counts in a line.
fn summary(w: &mut W, s: &Section) {
    let p = s.p;
    let i = &p.info;
    let c = &i.counts;
    let u = &i.unused_by_sensitivity;
    let name = i.name();

    w.t("\n<details class=\"principal\" id=\"");
    w.e(&s.id);
    w.t("\" data-actions=\"");
    for f in s.groups.iter().flat_map(|g| &g.findings) {
        w.e(&f.action);
        w.t("|");
    }
    w.t("\">\n<summary><h3>");
    w.e(name);
    w.t("</h3> <span class=\"flag\">");
    w.t(i.kind.as_str());
    w.t("</span>");
    if let Some(m) = &i.intentional {
        w.t(" <span class=\"flag warn\">intentional access (");
        w.e(&m.rule);
        w.t(")</span>");
    }
    if i.kind == crate::model::PrincipalType::Role
        && let Some(set) = truthy(i.permission_set.as_deref())
    {
        w.t(" <span class=\"flag\">managed by permission set ");
        w.e(set);
        w.t("</span>");
    }
    for f in &s.identity {
        w.t(" <span class=\"flag warn\">");
        w.words(f.kind.as_str());
        if let Some(cred) = truthy(f.credential.as_deref()) {
            w.t(" (");
            w.words(cred);
            w.t(")");
        }
        w.t("</span>");
    }
    w.t(" ");
    for (level, n) in [
        ("critical", u.critical),
        ("high", u.high),
        ("medium", u.medium),
    ] {
        if n > 0 {
            w.sev(level);
            let _ = write!(w.0, " {n} ");
        }
    }
    if u.low > 0 {
        w.sev("low");
        let _ = write!(w.0, " {}", u.low);
    }
    w.t("\n<span class=\"sum-meta\">Account ");
    w.e(&i.account_id);
    w.t(" · score ");
    w.num(i.score);
    w.t(" · ");
    w.num(c.granted);
    w.t(" granted, ");
    w.num(c.used);
    w.t(" used, ");
    w.num(c.unused);
    w.t(" unused, ");
    w.num(c.unknown);
    w.t(" unknown");
    if c.excluded > 0 {
        w.t(", ");
        w.num(c.excluded);
        w.t(" excluded");
    }
    if !i.flags.is_empty() {
        w.t(" · ");
        for (k, f) in i.flags.iter().enumerate() {
            if k > 0 {
                w.t(", ");
            }
            w.words(f);
        }
    }
    w.t("</span></summary>");
}

/// The facts list: ARN, ID, tags, times, last-accessed data, flags, recommendation.
fn facts(w: &mut W, s: &Section) {
    let p = s.p;
    let i = &p.info;
    w.t("\n<div class=\"pbody\">\n<dl class=\"facts\">\n<dt>ARN</dt><dd><code>");
    w.e(i.arn());
    w.t("</code></dd>\n<dt>ID</dt><dd><code>");
    w.e(i.id());
    w.t("</code></dd>");
    if !i.tags.is_empty() {
        w.t("<dt>Tags</dt><dd>");
        for (k, (key, value)) in i.tags.iter().enumerate() {
            if k > 0 {
                w.t("; ");
            }
            w.t("<code>");
            w.e(key);
            w.t("</code> = <code>");
            w.e(value);
            w.t("</code>");
        }
        w.t("</dd>");
    }
    w.t("\n<dt>Created</dt><dd>");
    w.when(i.created, "unknown");
    w.t("</dd>\n<dt>Last used</dt><dd>");
    w.when(i.last_used, "no use recorded");
    if let Some(region) = truthy(i.last_used_region.as_deref()) {
        w.t(" in ");
        w.e(region);
    }
    w.t("</dd>\n<dt>Last-accessed data</dt><dd>");
    if i.has_last_accessed {
        w.t("yes, as of ");
        w.when(i.as_of, "unknown");
    } else {
        w.t("<span class=\"flag warn\">missing</span> — every verdict for this principal is unknown");
    }
    w.t("</dd>");
    if !i.flags.is_empty() {
        w.t("<dt>Flags</dt><dd>");
        for f in &i.flags {
            w.t("<span class=\"flag");
            if *f == "unused_role" || *f == "no_last_accessed_data" {
                w.t(" warn");
            }
            w.t("\">");
            w.words(f);
            w.t("</span> ");
        }
        w.t("</dd>");
    }
    if let Some(r) = &p.recommendation {
        w.t("<dt>Recommendation</dt><dd>");
        if let Some(path) = truthy(r.path.as_deref()) {
            w.t("<a href=\"");
            w.e(path);
            w.t("/README.md\">");
            w.e(path);
            w.t("/</a> — granted actions ");
            w.before_after(r.before.into(), r.after.into(), r.removed.into());
            if r.kept_unknown > 0 {
                w.t(", ");
                w.num(r.kept_unknown);
                w.t(" unknown kept");
            }
            if r.still_granted > 0 {
                w.t(", ");
                w.num(r.still_granted);
                w.t(" unused still granted through shared policies");
            }
            w.t(")");
            recommendation_flags(w, r);
        } else if r.folder_omitted {
            w.t("granted actions ");
            w.before_after(r.before.into(), r.after.into(), r.removed.into());
            w.t(
                ") — folder not written: only the principals with the highest score get one \
                 (<code>--recommendations</code>); in <code>recommendations/summary.json</code>",
            );
        } else if let Some(skipped) = truthy(r.skipped.as_deref()) {
            w.t("none — ");
            w.words(skipped);
            // Why nothing is removed (a group's member that needs its actions, say).
            recommendation_flags(w, r);
        }
        w.t("</dd>");
    }
    if !i.actionable {
        w.t("<dt>Actionable</dt><dd>");
        if let Some(set) = truthy(i.permission_set.as_deref()) {
            w.t("no — IAM Identity Center role of permission set ");
            w.e(set);
            w.t(
                ": Identity Center overwrites it, so the permission set is what to tighten (its \
                 own section rolls up every account's role)",
            );
        } else {
            w.t(
                "no — service-linked role: AWS owns its policies; its unused permissions are \
                 shown but not counted in the score",
            );
        }
        w.t("</dd>");
    }
    w.t("\n</dl>");
}

/// The principal's identity and credential findings.
fn identities(w: &mut W, s: &Section) {
    if !s.identity.is_empty() {
        w.t("\n<h4>Identity and credential findings</h4>\n<ul class=\"idf\">");
        for f in &s.identity {
            w.t("<li>");
            w.sev(f.sensitivity.as_str());
            w.t(" <b>");
            w.words(f.kind.as_str());
            w.t("</b>");
            if let Some(cred) = truthy(f.credential.as_deref()) {
                w.t(" · ");
                w.words(cred);
            }
            w.t(": ");
            w.e(&f.detail);
            w.t("</li>");
        }
        w.t("</ul>");
    }
}

/// The table of the policies granting permissions.
fn policies(w: &mut W, s: &Section) {
    let p = s.p;
    let i = &p.info;
    let name = i.name();
    w.t("\n<h4>Policies</h4>");
    if i.policies.is_empty() {
        w.t("<p class=\"empty\">No policies.</p>");
    } else {
        w.table_open("Policies", name, "");
        w.t("Policies granting permissions to ");
        w.e(name);
        w.t(
            "</caption>\n<thead><tr><th scope=\"col\">Policy</th><th scope=\"col\">Kind</th>\
             <th scope=\"col\">Via group</th><th scope=\"col\" class=\"num\">Grants</th>\
             <th scope=\"col\" class=\"num\">Unused</th></tr></thead>\n<tbody>",
        );
        for pol in &i.policies {
            let label = s.list.label(pol);
            w.t("\n<tr><th scope=\"row\">");
            w.e(&label.name);
            if let Some(arn) = truthy(pol.arn.as_deref()) {
                w.t("<div class=\"sub mono\">");
                w.e(arn);
                w.t("</div>");
            }
            w.t("</th><td>");
            if pol.boundary {
                w.t("permissions boundary (");
                w.words(pol.kind.as_str());
                w.t(")");
            } else {
                w.words(pol.kind.as_str());
            }
            w.t("</td><td>");
            match truthy(label.via_group.as_deref()) {
                Some(g) => w.e(g),
                None => w.t("—"),
            }
            w.t("</td><td class=\"num\">");
            w.num(pol.grants);
            w.t("</td><td class=\"num\">");
            w.num(pol.unused);
            w.t("</td></tr>");
        }
        w.table_close();
    }
}

/// The on-screen detail's table of granted services.
fn services(w: &mut W, s: &Section) {
    let p = s.p;
    let i = &p.info;
    let name = i.name();
    w.t("\n\n<p class=\"print-only note\">The per-service detail of ");
    w.e(name);
    w.t(
        " is on screen and, in full, in findings.csv and services.csv.</p>\n\
         <div class=\"screen-detail\">\n<h4>Services</h4>",
    );
    if s.services.is_empty() {
        w.t("<p class=\"empty\">No granted services.</p>");
    } else {
        w.table_open("Services", name, " class=\"sortable\"");
        w.t("Granted services of ");
        w.e(name);
        if s.services_more > 0 {
            let _ = write!(
                w.0,
                " <span class=\"note\">— {} of {}: used services first, then by unused \
                 sensitivity; all in services.csv</span>",
                s.services.len(),
                s.services_total
            );
        }
        w.t(
            "</caption>\n<thead><tr><th scope=\"col\">Service</th>\
             <th scope=\"col\" class=\"num\" data-first=\"desc\">Granted</th>\
             <th scope=\"col\" class=\"num\" data-first=\"desc\">Used</th>\
             <th scope=\"col\" class=\"num\" data-first=\"desc\">Unused</th>\
             <th scope=\"col\" class=\"num\" data-first=\"desc\">Unknown</th>\
             <th scope=\"col\" data-first=\"desc\">Highest unused</th>\
             <th scope=\"col\" data-first=\"desc\">Service last accessed</th></tr></thead>\n<tbody>",
        );
        for v in &s.services {
            w.t("\n<tr><th scope=\"row\"><code>");
            w.e(v.service);
            w.t("</code></th><td class=\"num\">");
            w.num(v.counts.granted);
            w.t("</td><td class=\"num\">");
            w.num(v.counts.used);
            let _ = write!(w.0, "</td><td class=\"num\">{}", v.counts.unused);
            if v.counts.excluded > 0 {
                let _ = write!(
                    w.0,
                    " <span class=\"sub\">+{} excl.</span>",
                    v.counts.excluded
                );
            }
            w.t("</td><td class=\"num\">");
            w.num(v.counts.unknown);
            // `| sevrank`: critical 4 … low 1, none 0.
            let rank = match v.highest_unused_sensitivity {
                Some(Sensitivity::Critical) => 4,
                Some(Sensitivity::High) => 3,
                Some(Sensitivity::Medium) => 2,
                Some(Sensitivity::Low) => 1,
                None => 0,
            };
            let _ = write!(w.0, "</td><td data-v=\"{rank}\">");
            match v.highest_unused_sensitivity {
                Some(s) => w.sev(s.as_str()),
                None => w.t("—"),
            }
            w.t("</td><td data-v=\"");
            if let Some(t) = v.last_accessed {
                w.e(&rfc3339(t));
            }
            w.t("\">");
            if v.reported {
                w.when(v.last_accessed, "never");
                if let Some(region) = truthy(v.last_accessed_region) {
                    w.t(" <span class=\"sub\">");
                    w.e(region);
                    w.t("</span>");
                }
            } else {
                w.t("<span class=\"muted\">not reported</span>");
            }
            w.t("</td></tr>");
        }
        w.table_close();
    }
}

/// The unused permissions, by service.
fn unused(w: &mut W, s: &Section) {
    let p = s.p;
    let i = &p.info;
    let c = &i.counts;
    let name = i.name();
    w.t("\n\n<h4>Unused permissions by service</h4>");
    if s.groups.is_empty() {
        w.t("<p class=\"empty\">No unused permissions");
        if c.excluded > 0 {
            let _ = write!(w.0, " ({} excluded by a rule)", c.excluded);
        }
        w.t(".</p>");
    } else {
        w.t("\n<dl class=\"reasons\">");
        for e in &s.evidence {
            w.t("<dt><code>");
            w.e(e.reason);
            w.t("</code> (");
            w.num(e.count);
            w.t(")</dt><dd>");
            w.e(e.explanation);
            w.t("</dd>");
        }
        w.t("\n</dl>");
        for g in &s.groups {
            w.group(g);
        }
        if p.unused_omitted > 0 {
            w.t("<p class=\"note\">");
            w.num(p.unused_omitted);
            w.t(" more unused permissions of ");
            w.e(name);
            w.t(" are in findings.csv and findings.parquet.</p>");
        }
    }
    w.t("\n</div>");
}

/// The unknown permissions explained, and the policy actions the catalog does not know.
fn unknown(w: &mut W, s: &Section, catalog_version: &str) {
    let p = s.p;
    let i = &p.info;
    let c = &i.counts;
    let name = i.name();
    if !s.unknown.is_empty() {
        w.t("\n<h4>Unknown permissions explained</h4>");
        w.table_open("Unknown permissions", name, "");
        w.t("Why ");
        w.num(c.unknown);
        w.t(" permission");
        if c.unknown != 1 {
            w.t("s");
        }
        w.t(" of ");
        w.e(name);
        w.t(
            " cannot be called used or unused</caption>\n<thead><tr><th scope=\"col\">Reason</th>\
             <th scope=\"col\" class=\"num\">Permissions</th><th scope=\"col\">Explanation</th>\
             </tr></thead>\n<tbody>",
        );
        for e in &s.unknown {
            w.t("\n<tr><th scope=\"row\"><code>");
            w.e(e.reason);
            w.t("</code></th><td class=\"num\">");
            w.num(e.count);
            w.t("</td><td>");
            w.e(e.explanation);
            w.t("</td></tr>");
        }
        w.table_close();
    }
    if !i.unmatched_patterns.is_empty() {
        w.t(
            "\n<h4>Policy actions that match nothing in the catalog</h4>\n<p class=\"note\">\
             Misspelt, retired or newer than catalog ",
        );
        w.e(catalog_version);
        w.t("; they grant nothing the tool can see.</p>\n<ul>");
        for pattern in &i.unmatched_patterns {
            w.t("<li><code>");
            w.e(pattern);
            w.t("</code></li>");
        }
        w.t("</ul>");
    }
}

/// `Some(s)` when tera would call `s` true: present and not empty.
/// A recommendation's flags, each for a human to review (why it changes what it does, or why it
/// changes nothing).
fn recommendation_flags(w: &mut W, r: &crate::recommend::PrincipalRecommendation) {
    if r.flags.is_empty() {
        return;
    }
    w.t("<ul class=\"idf\">");
    for f in r.flag_texts() {
        w.t("<li><span class=\"flag warn\">review</span> ");
        w.e(&f);
        w.t("</li>");
    }
    w.t("</ul>");
}

fn truthy(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}

/// The section being written.
struct W<'o>(&'o mut String);

impl W<'_> {
    /// Markup written as is.
    fn t(&mut self, s: &str) {
        self.0.push_str(s);
    }

    /// Text, escaped.
    fn e(&mut self, s: &str) {
        escape_into(self.0, s);
    }

    /// `| num`: digits grouped by thousands.
    fn num(&mut self, n: impl Into<u64>) {
        grouped_into(self.0, n.into());
    }

    /// A table in a scrollable region labelled `LABEL of NAME`, up to its caption's text;
    /// `attributes` of the table (empty or with a leading space).
    fn table_open(&mut self, label: &str, name: &str, attributes: &str) {
        self.t("\n<div class=\"tw\" role=\"region\" aria-label=\"");
        self.t(label);
        self.t(" of ");
        self.e(name);
        self.t("\" tabindex=\"0\">\n<table");
        self.t(attributes);
        self.t(">\n<caption>");
    }

    /// The end of a table [`W::table_open`] began, after its last row.
    fn table_close(&mut self) {
        self.t("\n</tbody>\n</table>\n</div>");
    }

    /// `| words`: underscores as spaces, escaped.
    fn words(&mut self, s: &str) {
        words_into(self.0, s);
    }

    /// `x::sev`: a sensitivity's badge.
    fn sev(&mut self, level: &str) {
        self.t("<span class=\"sev ");
        self.e(level);
        self.t("\">");
        self.e(level);
        self.t("</span>");
    }

    /// `x::when` and `x::day`: a time in UTC to the minute, or `none`.
    fn when(&mut self, t: Option<Timestamp>, none: &str) {
        match t {
            Some(t) => {
                let iso = rfc3339(t);
                self.t("<time datetime=\"");
                self.e(&iso);
                self.t("\">");
                // What the `ts` filter shows: the time re-read from its text (as tera has it),
                // else the text as it is.
                match chrono::DateTime::parse_from_rfc3339(&iso) {
                    Ok(t) => {
                        let t = t.with_timezone(&chrono::Utc);
                        let _ = write!(self.0, "{}", t.format("%Y-%m-%d %H:%M UTC"));
                    }
                    Err(_) => self.e(&iso),
                }
                self.t("</time>");
            }
            None => {
                self.t("<span class=\"muted\">");
                self.e(none);
                self.t("</span>");
            }
        }
    }

    /// `B → A (R unused removed`, digits grouped.
    fn before_after(&mut self, before: u64, after: u64, removed: u64) {
        self.num(before);
        self.t(" → ");
        self.num(after);
        self.t(" (");
        self.num(removed);
        self.t(" unused removed");
    }

    /// One service's unused findings.
    fn group(&mut self, g: &ServiceGroup) {
        self.t("\n<div class=\"svc ");
        self.e(g.top);
        self.t("\">\n<h5><code>");
        self.e(g.service);
        let _ = write!(self.0, "</code> — {} unused", g.findings.len());
        for (n, level) in [
            (g.critical, "critical"),
            (g.high, "high"),
            (g.medium, "medium"),
            (g.low, "low"),
        ] {
            if n > 0 {
                let _ = write!(self.0, " · {n} {level}");
            }
        }
        self.t("</h5>\n<p class=\"ev\">Service last accessed: ");
        match g.summary.filter(|s| s.reported) {
            Some(summary) => self.when(summary.last_accessed, "never"),
            None => self.t("not in the last-accessed report"),
        }
        if let Some(reason) = g.reason {
            self.t(" · evidence: <code>");
            self.e(reason);
            self.t("</code>");
        }
        if g.same_last {
            self.t(" · action last accessed: ");
            self.when(g.last, "never");
        }
        let granted_by = truthy(g.granted_by);
        if let Some(by) = granted_by {
            self.t(" · granted by ");
            self.e(by);
        }
        self.t("</p>");
        if g.uniform {
            self.t("\n<ul class=\"actions\">");
        } else {
            self.t("\n<ul class=\"actions detailed\">");
        }
        for f in &g.findings {
            self.t("<li><code>");
            self.e(&f.action);
            self.t("</code>");
            if f.actions > 1 {
                self.t(" <span class=\"sub\">");
                self.num(f.actions);
                self.t(" actions</span>");
            }
            self.t(" ");
            self.sev(f.sensitivity.as_str());
            if g.uniform {
                if f.resource_scope == "scoped" {
                    self.t(" <span class=\"sub\">scoped</span>");
                }
            } else {
                if g.reason.is_none() {
                    self.t(" · <code>");
                    self.e(f.reason.as_str());
                    self.t("</code>");
                }
                if !g.same_last {
                    self.t(" · last accessed ");
                    self.when(f.last_accessed, "never");
                }
                if f.resource_scope == "scoped" {
                    self.t(" · scoped");
                }
                if granted_by.is_none() {
                    self.t(" · <span class=\"sub\">");
                    self.e(&f.granted_by);
                    self.t("</span>");
                }
            }
            self.t("</li>");
        }
        self.t("</ul>\n</div>");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::PrincipalNames;
    use crate::analysis::identities::{IdentitySettings, identity_findings};
    use crate::report::model::{Limits, RunInfo};

    /// The template the writer matches, rendered by the page's engine (autoescape, filters).
    fn tera_section(s: &Section, catalog: &crate::report::model::CatalogInfo) -> String {
        #[derive(Serialize)]
        struct Ctx<'a, 'b> {
            s: &'b Section<'a>,
            m: Head<'b>,
        }
        #[derive(Serialize)]
        struct Head<'b> {
            catalog: &'b crate::report::model::CatalogInfo,
        }
        let t = crate::report::page::engine(
            "report.html",
            &[
                (
                    "section.html",
                    include_str!("../../../templates/section.html"),
                ),
                (
                    "macros.html",
                    include_str!("../../../templates/macros.html"),
                ),
            ],
        )
        .unwrap();
        let ctx = Ctx {
            s,
            m: Head { catalog },
        };
        crate::report::page::render(&t, "report.html", "section.html", &ctx).unwrap()
    }

    /// Texts a section may hold: empty (false to tera), markup, quotes, underscores, non-ASCII.
    const TEXTS: [&str; 6] = [
        "",
        "<script>alert('x')</script>",
        "a_b_c",
        "\"&amp;' >",
        "ünï_cødé",
        "plain",
    ];

    /// Choices drawn from a seed (splitmix64): each field of each variant varies on its own.
    struct Pick(u64);

    impl Pick {
        fn next(&mut self, n: usize) -> usize {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) % n as u64) as usize
        }

        fn yes(&mut self) -> bool {
            self.next(2) == 1
        }

        fn text(&mut self) -> String {
            TEXTS[self.next(TEXTS.len())].to_string()
        }

        fn maybe(&mut self) -> Option<String> {
            (self.next(4) != 0).then(|| self.text())
        }

        fn count(&mut self) -> u64 {
            [0, 1, 2, 999, 1000, 1_234_567][self.next(6)]
        }

        fn count32(&mut self) -> u32 {
            [0, 1, 2, 999, 1000, 1_234_567][self.next(6)]
        }

        fn time(&mut self) -> Option<Timestamp> {
            let base = chrono::DateTime::parse_from_rfc3339("2026-11-20T09:12:34Z")
                .unwrap()
                .with_timezone(&chrono::Utc);
            match self.next(4) {
                0 => None,
                1 => Some(base),
                2 => Some(base + chrono::TimeDelta::milliseconds(123)),
                _ => Some(base + chrono::TimeDelta::nanoseconds(123_456_789)),
            }
        }
    }

    /// Principal `p` with its texts, options, times and counts drawn from `r`.
    fn vary(p: &mut PrincipalView, r: &mut Pick) {
        let i = p.info.to_mut();
        let (name, arn, id) = (r.text(), r.text(), r.text());
        i.names = PrincipalNames::new(&name, &arn, &id).expect("short texts");
        i.account_id = r.text().into();
        i.tags = (0..r.next(3))
            .map(|_| {
                let key = r.text();
                (key, r.text())
            })
            .collect();
        i.created = r.time();
        i.last_used = r.time();
        i.as_of = r.time();
        i.last_used_region = r.maybe().map(Into::into);
        i.permission_set = r.maybe().map(Into::into);
        i.has_last_accessed = r.yes();
        i.actionable = r.yes();
        i.flags = match r.next(3) {
            0 => vec![],
            1 => vec!["unused_role"],
            _ => vec!["too_new", "no_last_accessed_data", "service_linked"],
        }
        .into_boxed_slice();
        i.intentional = r
            .yes()
            .then(|| crate::analysis::intentional::IntentionalMatch {
                rule: r.text(),
                reason: r.text(),
            })
            .map(Box::new);
        i.counts.excluded = r.count32();
        i.counts.unknown = r.count32();
        i.counts.granted = r.count32();
        i.score = r.count32();
        i.unused_by_sensitivity.critical = r.count32();
        i.unused_by_sensitivity.high = r.count32();
        i.unused_by_sensitivity.medium = r.count32();
        i.unused_by_sensitivity.low = r.count32();
        i.unmatched_patterns = (0..r.next(3)).map(|_| r.text().into()).collect();
        for pol in &mut i.policies {
            pol.arn = r.maybe().map(Into::into);
            pol.boundary = r.yes();
            pol.grants = r.count32();
        }
        if r.next(4) == 0 {
            i.policies = Box::default();
        }
        if let Some(rec) = &mut p.recommendation {
            let rec = rec.to_mut();
            let count = |r: &mut Pick| r.count32();
            rec.path = r.maybe().map(Into::into);
            rec.folder_omitted = r.yes();
            rec.skipped = r.maybe().map(Into::into);
            rec.flags = (0..r.next(3)).map(|_| r.text().into()).collect();
            rec.kept_unknown = count(r);
            rec.still_granted = count(r);
            rec.before = count(r);
        }
        p.unused_omitted = r.count();
        let (unused, services) = p.lists_mut();
        for f in unused.iter_mut() {
            f.action = r.text();
            if r.next(3) == 0 {
                f.granted_by = r.text();
            }
            f.last_accessed = r.time();
            f.resource_scope = if r.yes() { "scoped" } else { "all" };
            f.actions = [1, 2, 1500][r.next(3)];
        }
        for v in services.iter_mut() {
            v.last_accessed = r.time();
            v.reported = r.yes();
            v.counts.excluded = r.count();
            v.counts.granted = r.count();
            v.counts.unused = r.count();
            v.last_accessed_region = ["", "eu-west-1", "<r>"].get(r.next(4)).copied();
        }
        if r.next(5) == 0 {
            services.clear();
        }
        if r.next(5) == 0 {
            unused.clear();
        }
    }

    /// Variants of the sample's sections compared (the first as they are).
    const VARIANTS: usize = 30;

    /// Every section of the sample organisation (with its organisation part), as is and varied
    /// at random (seeded), field by field: what the writer writes is what
    /// `templates/section.html` renders.
    #[test]
    fn sections_are_what_the_template_renders() {
        let (exports, _, an) = crate::sample_organization();
        let ids = identity_findings(
            &exports,
            &an,
            &IdentitySettings {
                unused_after_days: 90,
                key_max_age_days: 90,
            },
        );
        let planned = crate::recommend::plan_all(&exports, &an, Some(1000));
        let decisions = crate::decisions::decide(&an, &planned.plans, &planned.summary, &ids);
        let run = RunInfo {
            key_max_age_days: Some(90),
            recommendation_folders: Some(1000),
            command_line: vec![],
        };
        let model = ReportModel::build(
            &an,
            ids,
            Some(&planned.summary),
            &decisions,
            &run,
            Limits::default(),
        );
        let order = crate::report::model::detail_order(&model.principals);
        assert!(order.len() >= 5, "the sample has {} sections", order.len());
        let (mut compared, mut hostile) = (0, 0);
        let mut r = Pick(18);
        for k in 0..VARIANTS {
            // The policies' names and groups are their labels': varied there.
            let labels: Vec<crate::analysis::PolicyLabel> = an
                .labels
                .iter()
                .map(|l| crate::analysis::PolicyLabel {
                    name: r.text(),
                    via_group: r.maybe(),
                    ..l.clone()
                })
                .collect();
            let mut model = model.clone();
            if k > 0 {
                model.principals.set_labels(&labels);
                for &i in &order {
                    vary(&mut model.principals[i], &mut r);
                }
                model.catalog.version = r.text();
            }
            for &i in &order {
                let s = build(format!("p{}", i + 1), &model.principals[i], &model);
                let mut ours = String::new();
                write(&mut ours, &s, &model.catalog.version);
                let theirs = tera_section(&s, &model.catalog);
                if ours != theirs {
                    let at = ours
                        .bytes()
                        .zip(theirs.bytes())
                        .position(|(a, b)| a != b)
                        .unwrap_or(ours.len().min(theirs.len()));
                    let from = at.saturating_sub(120);
                    let near = |s: &str| {
                        String::from_utf8_lossy(&s.as_bytes()[from..(at + 120).min(s.len())])
                            .into_owned()
                    };
                    panic!(
                        "variant {k}, principal {i}: the sections differ at byte {at}\n\
                         ours:   {:?}\ntheirs: {:?}",
                        near(&ours),
                        near(&theirs)
                    );
                }
                compared += 1;
                assert!(!ours.contains("<script>"), "variant {k}: unescaped markup");
                hostile += usize::from(ours.contains("&lt;script&gt;alert(&#39;x&#39;)"));
            }
        }
        assert!(compared >= 5 * VARIANTS, "{compared} sections compared");
        // The hostile text reached the sections (escaped), so the comparison covered escaping.
        assert!(hostile >= 10, "{hostile} sections with hostile text");
    }
}
