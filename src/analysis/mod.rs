//! The analysis: for every principal × granted action, a verdict (used / unused / unknown) with
//! its reason, a sensitivity and a rank. Polars does the joins and verdict expressions; it is
//! private to this module — everything public here is plain Rust structs.

pub mod config;
mod exclusions;
pub mod groups;
pub mod identities;
mod parquet;
pub mod sensitivity;
mod verdict;

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

pub use config::{Config, ExclusionRule};
pub use groups::{ActionList, ActionLists, GrantedAction};
pub use parquet::write_findings_parquet;
pub use sensitivity::Sensitivity;

use crate::catalog::{ActionId, Catalog};
use crate::error::{Error, Result};
use crate::model::{Export, InputFile, PrincipalType, Timestamp, Warning};
use crate::policy::{Expander, GrantCache, PolicyKind, principal_grants_cached};

/// AWS keeps last-accessed data for (at least) 400 days; a longer window cannot be evidenced.
pub const MAX_WINDOW_DAYS: u32 = 400;

/// Analysis settings from the command line.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub unused_after_days: u32,
    /// `--as-of`, overriding every export's own time.
    pub as_of: Option<Timestamp>,
}

/// `used`, `unused` or `unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Unused,
    Unknown,
    Used,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Used => "used",
            Status::Unused => "unused",
            Status::Unknown => "unknown",
        }
    }
}

/// Why a verdict was reached. The vocabulary is fixed and documented in `docs/methodology.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    AccessedInWindow,
    ActionNotAccessed,
    ActionLastAccessedBeforeWindow,
    ServiceNotAccessed,
    ActionNotTracked,
    AccessedAfterAsOf,
    NotObservable,
    PrincipalTooNew,
    NoLastAccessedData,
}

impl Reason {
    pub const ALL: [Reason; 9] = [
        Reason::AccessedInWindow,
        Reason::ActionNotAccessed,
        Reason::ActionLastAccessedBeforeWindow,
        Reason::ServiceNotAccessed,
        Reason::ActionNotTracked,
        Reason::AccessedAfterAsOf,
        Reason::NotObservable,
        Reason::PrincipalTooNew,
        Reason::NoLastAccessedData,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::AccessedInWindow => "accessed_in_window",
            Reason::ActionNotAccessed => "action_not_accessed",
            Reason::ActionLastAccessedBeforeWindow => "action_last_accessed_before_window",
            Reason::ServiceNotAccessed => "service_not_accessed",
            Reason::ActionNotTracked => "action_not_tracked",
            Reason::AccessedAfterAsOf => "accessed_after_as_of",
            Reason::NotObservable => "not_observable",
            Reason::PrincipalTooNew => "principal_too_new",
            Reason::NoLastAccessedData => "no_last_accessed_data",
        }
    }

    pub fn status(self) -> Status {
        match self {
            Reason::AccessedInWindow => Status::Used,
            Reason::ActionNotAccessed
            | Reason::ActionLastAccessedBeforeWindow
            | Reason::ServiceNotAccessed => Status::Unused,
            Reason::ActionNotTracked
            | Reason::AccessedAfterAsOf
            | Reason::NotObservable
            | Reason::PrincipalTooNew
            | Reason::NoLastAccessedData => Status::Unknown,
        }
    }

    /// One sentence for reviewers; the HTML report and docs use it.
    pub fn explain(self) -> &'static str {
        match self {
            Reason::AccessedInWindow => "AWS recorded use of this action within the window.",
            Reason::ActionNotAccessed => {
                "AWS tracks this action for this principal and recorded no use in its tracking period."
            }
            Reason::ActionLastAccessedBeforeWindow => {
                "AWS tracks this action; its last recorded use is older than the window."
            }
            Reason::ServiceNotAccessed => {
                "The whole service shows no use within the window, so none of its actions was used."
            }
            Reason::ActionNotTracked => {
                "The service was used within the window, but AWS reports no action-level data for this action."
            }
            Reason::AccessedAfterAsOf => {
                "AWS recorded use after the as-of time; last-accessed data keeps only the latest use, so whether it was also used inside the window cannot be known."
            }
            Reason::NotObservable => {
                "AWS never reports this action (or service) in last-accessed data, so its use cannot be known."
            }
            Reason::PrincipalTooNew => {
                "The principal is younger than the window and shows no use yet; too early to call it unused."
            }
            Reason::NoLastAccessedData => {
                "The export has no usable last-accessed file for this principal."
            }
        }
    }

    fn from_code(c: u32) -> Reason {
        Reason::ALL
            .get(c as usize)
            .copied()
            .unwrap_or(Reason::NoLastAccessedData)
    }

    fn code(self) -> u32 {
        Reason::ALL
            .iter()
            .position(|r| *r == self)
            .unwrap_or(Reason::ALL.len() - 1) as u32
    }
}

/// Actions AWS never reports in last-accessed data (documented with sources in methodology.md):
/// `iam:PassRole` is authorised inside other calls and never logged as its own event; Amazon S3
/// data events (object-level actions and the three bucket listings CloudTrail logs as data
/// events, `data/s3-data-actions.tsv`) are not available in action last-accessed information.
pub fn is_not_observable(service: &str, action: &str) -> bool {
    match service {
        "iam" => action.eq_ignore_ascii_case("PassRole"),
        "s3" => {
            let a = action.to_ascii_lowercase();
            if s3_data_actions().contains(a.as_str()) {
                return true;
            }
            // An s3 action the embedded catalog does not know (a newer `--catalog`): the list
            // cannot say, so judge by its name, on the side of "not observable".
            Catalog::embedded().lookup("s3", action).is_none()
                && (a.contains("object") || a.starts_with("listbucket") || a.contains("multipart"))
        }
        "s3-object-lambda" => true,
        _ => false,
    }
}

/// `data/s3-data-actions.tsv`, generated with the catalog by `scripts/gen-catalog.py`.
const S3_DATA_ACTIONS: &str = include_str!("../../data/s3-data-actions.tsv");

/// The S3 data-event actions, lower-cased.
fn s3_data_actions() -> &'static std::collections::HashSet<String> {
    static SET: std::sync::OnceLock<std::collections::HashSet<String>> = std::sync::OnceLock::new();
    SET.get_or_init(|| {
        S3_DATA_ACTIONS
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with("action\t") && !l.is_empty())
            .filter_map(|l| l.split('\t').next())
            .map(str::to_ascii_lowercase)
            .collect()
    })
}

/// How an export's as-of time was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AsOfSource {
    /// `--as-of`.
    Flag,
    /// The newest `JobCompletionDate` (or the manifest time).
    Export,
    /// No time in the export: every verdict is `unknown`.
    None,
}

/// Per-export metadata for the report header.
#[derive(Debug, Clone, Serialize)]
pub struct ExportInfo {
    pub account_id: String,
    pub partition: String,
    pub path: String,
    pub as_of: Option<Timestamp>,
    pub as_of_source: AsOfSource,
    pub window_start: Option<Timestamp>,
    pub principals: usize,
    pub has_credential_report: bool,
    pub files: Vec<InputFile>,
}

/// A warning with the account it came from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct AccountWarning {
    pub account_id: String,
    #[serde(flatten)]
    pub warning: Warning,
}

/// A policy that grants something to a principal.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyInfo {
    pub name: String,
    /// `inline`, `customer_managed` or `aws_managed`.
    pub kind: &'static str,
    pub arn: Option<String>,
    /// Set when the principal gets the policy through this group.
    pub via_group: Option<String>,
    /// The permissions boundary: it limits what the other policies grant and grants nothing.
    pub boundary: bool,
    /// How many effective grants this policy contributes to.
    pub grants: u64,
    /// How many of those are unused (and not excluded).
    pub unused: u64,
}

/// Verdict counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub granted: u64,
    pub used: u64,
    pub unused: u64,
    pub unknown: u64,
    /// Unused findings that an exclusion rule covers (not counted in `unused`).
    pub excluded: u64,
}

impl Counts {
    fn add(&mut self, f: &Finding) {
        let n = u64::from(f.count);
        self.granted += n;
        if f.exclusion.is_some() && f.status == Status::Unused {
            self.excluded += n;
            return;
        }
        match f.status {
            Status::Used => self.used += n,
            Status::Unused => self.unused += n,
            Status::Unknown => self.unknown += n,
        }
    }
}

/// Unused (actionable, not excluded) findings per sensitivity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BySensitivity {
    pub critical: u64,
    pub high: u64,
    pub medium: u64,
    pub low: u64,
}

impl BySensitivity {
    /// The counts of an action list (index `Sensitivity as usize`).
    pub fn of_list(list: &ActionList) -> BySensitivity {
        let n = |s: Sensitivity| u64::from(list.by_sensitivity[s as usize]);
        BySensitivity {
            critical: n(Sensitivity::Critical),
            high: n(Sensitivity::High),
            medium: n(Sensitivity::Medium),
            low: n(Sensitivity::Low),
        }
    }

    pub fn add_list(&mut self, list: &ActionList) {
        let o = BySensitivity::of_list(list);
        self.critical += o.critical;
        self.high += o.high;
        self.medium += o.medium;
        self.low += o.low;
    }

    pub fn at_or_above(&self, s: Sensitivity) -> u64 {
        let mut n = self.critical;
        if s <= Sensitivity::High {
            n += self.high;
        }
        if s <= Sensitivity::Medium {
            n += self.medium;
        }
        if s <= Sensitivity::Low {
            n += self.low;
        }
        n
    }
}

/// One row of `services.csv`: a principal × service.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceSummary {
    pub service: String,
    #[serde(flatten)]
    pub counts: Counts,
    pub last_accessed: Option<Timestamp>,
    pub last_accessed_region: Option<String>,
    /// Whether the service appears in the principal's last-accessed report.
    pub reported: bool,
    pub highest_unused_sensitivity: Option<Sensitivity>,
}

/// Everything about one principal.
#[derive(Debug, Clone, Serialize)]
pub struct PrincipalInfo {
    pub account_id: String,
    pub kind: PrincipalType,
    pub name: String,
    pub arn: String,
    pub id: String,
    /// Tags (roles and users), as exported: attacker-controlled text.
    pub tags: BTreeMap<String, String>,
    pub created: Option<Timestamp>,
    /// `RoleLastUsed` for roles; the newest service access for users and groups.
    pub last_used: Option<Timestamp>,
    pub last_used_region: Option<String>,
    pub service_linked: bool,
    /// False for service-linked roles: AWS owns their policies.
    pub actionable: bool,
    pub has_last_accessed: bool,
    pub as_of: Option<Timestamp>,
    pub policies: Vec<PolicyInfo>,
    /// Policy actions that match nothing in the catalog, as `policy: pattern`.
    pub unmatched_patterns: Vec<String>,
    pub counts: Counts,
    pub unused_by_sensitivity: BySensitivity,
    /// Sum of the weights of unused, actionable, not excluded findings.
    pub score: u64,
    /// `unused_role`, `no_last_accessed_data`, `service_linked`, `too_new`.
    pub flags: Vec<&'static str>,
    /// Sorted by service. Not serialised (report.json stays bounded: thousands of principals ×
    /// hundreds of services); `services.csv` carries every row.
    #[serde(skip_serializing)]
    pub services: Vec<ServiceSummary>,
}

/// One principal × a group of granted actions of one service that share one verdict (see
/// `groups`): the same reason, evidence, granting policies, resource scope and condition.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Index into `Analysis::principals`.
    pub principal: u32,
    /// The group's first action (its only one when `count` is 1).
    #[serde(skip)]
    pub action: ActionId,
    /// Id of the group's actions in `Analysis::action_lists`.
    #[serde(skip)]
    pub actions: u32,
    /// How many actions the group has.
    pub count: u32,
    pub status: Status,
    pub reason: Reason,
    /// The highest sensitivity of the group's actions.
    pub sensitivity: Sensitivity,
    /// Union of the actions' `sensitivity::category` bits.
    pub categories: u8,
    pub last_accessed: Option<Timestamp>,
    pub last_accessed_region: Option<String>,
    pub days_since_access: Option<i64>,
    /// Index into `Analysis::granted_by`.
    pub granted_by: u32,
    /// True when every grant of the action names specific resources.
    pub scoped: bool,
    /// True when every grant of the action has a Condition.
    pub conditional: bool,
    /// Id of the exclusion rule that covers it.
    pub exclusion: Option<usize>,
    /// 1 = the first thing to remove.
    pub rank: u32,
}

impl Finding {
    /// Points the finding at a new (non-empty) action list.
    fn set_actions(&mut self, lists: &mut ActionLists, actions: Vec<GrantedAction>) {
        self.actions = lists.push(actions);
        let list = lists.get(self.actions);
        self.action = list.actions[0].id;
        self.count = list.len() as u32;
        self.sensitivity = list.highest;
        self.categories = list.categories;
    }
}

/// The result of `analyze`.
#[derive(Debug, Clone)]
pub struct Analysis<'c> {
    pub catalog: &'c Catalog,
    pub settings: Settings,
    pub config: Config,
    pub exports: Vec<ExportInfo>,
    pub warnings: Vec<AccountWarning>,
    /// Sorted by (account, kind, name).
    pub principals: Vec<PrincipalInfo>,
    /// Sorted by rank.
    pub findings: Vec<Finding>,
    /// `granted_by` texts, interned.
    pub granted_by: Vec<String>,
    pub totals: Counts,
    pub unused_by_sensitivity: BySensitivity,
    /// Wall time of each stage, for `IAM_TIGHTEN_TIMINGS` (never written into an output).
    pub timings: Vec<(&'static str, std::time::Duration)>,
    /// Per principal, the indices of its findings in `findings` (rank order).
    pub by_principal: Vec<Vec<u32>>,
    /// The actions of every finding (`Finding::actions`).
    pub action_lists: ActionLists,
}

impl Analysis<'_> {
    pub fn principal(&self, f: &Finding) -> &PrincipalInfo {
        &self.principals[f.principal as usize]
    }

    /// The actions of a finding, sorted by id.
    pub fn actions(&self, f: &Finding) -> &[GrantedAction] {
        &self.action_lists.get(f.actions).actions
    }

    /// Per sensitivity, how many of the finding's actions have it.
    pub fn sensitivity_counts(&self, f: &Finding) -> BySensitivity {
        BySensitivity::of_list(self.action_lists.get(f.actions))
    }

    /// The finding's actions as text: the action, `service:*`, or `service:Verb*` patterns and
    /// names that match exactly its actions (see `groups::describe`).
    pub fn action_text(&self, f: &Finding) -> &str {
        self.action_lists.get(f.actions).text(self.catalog)
    }

    /// The access level of the finding's actions, `mixed` when they differ.
    pub fn access_level(&self, f: &Finding) -> &'static str {
        self.action_lists.get(f.actions).access_level(self.catalog)
    }

    /// The finding of principal `p` that covers action `a`, if `a` is granted to `p`.
    pub fn finding_for(&self, p: usize, a: ActionId) -> Option<&Finding> {
        self.findings_of(p)
            .find(|f| self.actions(f).binary_search_by_key(&a, |g| g.id).is_ok())
    }

    /// The findings of principal `p` (an index into `principals`), in rank order.
    pub fn findings_of(&self, p: usize) -> impl Iterator<Item = &Finding> {
        self.by_principal
            .get(p)
            .into_iter()
            .flatten()
            .map(|i| &self.findings[*i as usize])
    }
}

/// Runs the whole analysis over already-loaded exports.
pub fn analyze<'c>(
    exports: &[Export],
    catalog: &'c Catalog,
    settings: &Settings,
    config: &Config,
) -> Result<Analysis<'c>> {
    if settings.unused_after_days == 0 || settings.unused_after_days > MAX_WINDOW_DAYS {
        return Err(Error::Usage(format!(
            "--unused-after must be between 1 and {MAX_WINDOW_DAYS} days (AWS keeps last-accessed data for {MAX_WINDOW_DAYS} days), got {}",
            settings.unused_after_days
        )));
    }
    let window_days = settings.unused_after_days;
    let mut timings = Vec::new();
    let started = std::time::Instant::now();
    let risks = sensitivity::classify(catalog);
    let mut expander = Expander::new(catalog);
    let mut config = config.clone();

    let mut export_infos = Vec::new();
    let mut warnings = Vec::new();
    let mut principals: Vec<PrincipalInfo> = Vec::new();
    let mut inputs = verdict::Inputs::default();
    let mut granted_by = Interner::default();
    let mut lists = ActionLists::default();
    let mut templates = groups::Templates::default();
    let not_observable: Vec<bool> = catalog
        .ids()
        .map(|a| {
            let info = catalog.action(a);
            is_not_observable(&info.service, &info.name)
        })
        .collect();

    for export in exports {
        let (as_of, as_of_source) = match (settings.as_of, export.data_time) {
            (Some(t), _) => (Some(t), AsOfSource::Flag),
            (None, Some(t)) => (Some(t), AsOfSource::Export),
            (None, None) => (None, AsOfSource::None),
        };
        check_as_of(export, settings.as_of, &mut warnings)?;
        let window_start = as_of
            .map(|t| window_start_of(export, t, window_days))
            .transpose()?;
        let mut coverage = Coverage::default();
        // Services AWS reports for some principal of this account: one granted to a principal
        // but absent from its own report was most likely granted after its job ran.
        let reported: std::collections::HashSet<u32> = export
            .last_accessed
            .values()
            .flat_map(|la| &la.services)
            .filter_map(|s| catalog.service_index_of(&s.namespace))
            .collect();
        for w in &export.warnings {
            warnings.push(AccountWarning {
                account_id: export.account_id.clone(),
                warning: w.clone(),
            });
        }
        for rule in &mut config.exclusions {
            if let (Some(exp), Some(t)) = (rule.expires, as_of)
                && exp < t.date_naive()
                && !rule.expired
            {
                rule.expired = true;
                warnings.push(AccountWarning {
                    account_id: export.account_id.clone(),
                    warning: Warning {
                        code: "exclusion_expired".into(),
                        file: config.path.as_ref().map(|p| p.display().to_string()),
                        json_path: Some(format!("exclude[{}]", rule.id - 1)),
                        message: format!(
                            "exclusion {} expired on {exp} (before the as-of date {}); it was not applied",
                            rule.id,
                            t.date_naive()
                        ),
                    },
                });
            }
        }
        export_infos.push(ExportInfo {
            account_id: export.account_id.clone(),
            partition: export.partition.clone(),
            path: export.root.display().to_string(),
            as_of,
            as_of_source,
            window_start,
            principals: export.principals.len(),
            has_credential_report: export.credential_report.is_some(),
            files: export.files.clone(),
        });

        let mut cache = GrantCache::new();
        for p in &export.principals {
            let pidx = principals.len() as u32;
            let grants = principal_grants_cached(p, export, &mut expander, &mut cache);
            let la = export.last_accessed.get(&(p.kind, p.name.clone()));
            // The principal's window ends at the as-of time, or earlier where its own
            // last-accessed data ends earlier: a verdict never covers time the data does not.
            let as_of = coverage.window_end(p, as_of, la);
            let window_start = as_of
                .map(|t| window_start_of(export, t, window_days))
                .transpose()?;
            let policies: Vec<PolicyInfo> = grants
                .policies
                .iter()
                .map(|r| PolicyInfo {
                    name: r.name.clone(),
                    kind: match r.kind {
                        PolicyKind::Inline => "inline",
                        PolicyKind::CustomerManaged => "customer_managed",
                        PolicyKind::AwsManaged => "aws_managed",
                    },
                    arn: r.arn.clone(),
                    via_group: r.via_group.clone(),
                    boundary: r.boundary,
                    grants: 0,
                    unused: 0,
                })
                .collect();
            let labels: Vec<String> = policies.iter().map(policy_label).collect();
            // Missing groups and policies are warned about once each by the input reader.
            let unmatched: Vec<String> = grants
                .unmatched
                .iter()
                .map(|u| {
                    format!(
                        "{}: {}",
                        labels.get(u.policy).map_or("?", String::as_str),
                        u.pattern
                    )
                })
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();

            inputs.principals.push(verdict::PrincipalRow {
                p: pidx,
                has_la: la.is_some(),
                created_ms: p.created.map(|t| t.timestamp_millis()),
                window_start_ms: window_start.map(|t| t.timestamp_millis()),
                window_end_ms: as_of.map(|t| t.timestamp_millis()),
            });
            // The grants, grouped (shared by every principal with the same grant set), with the
            // actions AWS tracks for this principal split off by their evidence.
            let template = templates.get(&grants, catalog, &risks, &not_observable, &mut lists);
            // Actions AWS tracks for this principal, by their evidence (last access and region):
            // tracked actions with the same evidence share a verdict, so they stay one group.
            let mut tracked: HashMap<ActionId, u32> = HashMap::new();
            if let Some(la) = la {
                let mut evidence: HashMap<(Option<i64>, Option<&str>), u32> = HashMap::new();
                for s in &la.services {
                    let Some(svc) = catalog.service_index_of(&s.namespace) else {
                        continue;
                    };
                    inputs.services.push(verdict::ServiceRow {
                        p: pidx,
                        svc,
                        last_ms: s.last_authenticated.map(|t| t.timestamp_millis()),
                        region: s.region.clone(),
                    });
                    for t in s.tracked_actions.iter().flatten() {
                        let Some(id) = catalog.lookup(&s.namespace, &t.name) else {
                            continue;
                        };
                        let last_ms = t.last_accessed.map(|t| t.timestamp_millis());
                        let next = evidence.len() as u32;
                        let ev = *evidence
                            .entry((last_ms, t.region.as_deref()))
                            .or_insert_with(|| {
                                inputs.actions.push(verdict::ActionRow {
                                    p: pidx,
                                    a: next,
                                    last_ms,
                                    region: t.region.clone(),
                                });
                                next
                            });
                        // The first entry of an action listed twice wins (as the join did).
                        tracked.entry(id).or_insert(ev);
                    }
                }
            }
            if let Some(la) = la {
                let own: std::collections::HashSet<u32> = la
                    .services
                    .iter()
                    .filter_map(|s| catalog.service_index_of(&s.namespace))
                    .collect();
                let mut absent: Vec<&str> = template
                    .groups
                    .iter()
                    .filter(|g| !g.not_observable)
                    .map(|g| g.service)
                    .filter(|svc| reported.contains(svc) && !own.contains(svc))
                    .filter_map(|svc| catalog.service_name(svc))
                    .collect();
                absent.sort_unstable();
                absent.dedup();
                if !absent.is_empty() {
                    coverage.unreported.push(format!(
                        "{}/{} ({})",
                        p.kind,
                        p.name,
                        absent.join(", ")
                    ));
                }
            }
            let tracked_services: std::collections::HashSet<u32> = tracked
                .keys()
                .map(|id| catalog.service_index(*id))
                .collect();
            for g in &template.groups {
                let text = g
                    .sources
                    .iter()
                    .filter_map(|i| labels.get(*i as usize).map(String::as_str))
                    .collect::<Vec<_>>()
                    .join("; ");
                let gb = granted_by.intern(&text);
                let row = |list: u32, ev: Option<u32>| verdict::GrantRow {
                    p: pidx,
                    a: ev.unwrap_or(verdict::NO_ACTION),
                    svc: g.service,
                    list,
                    scoped: g.scoped,
                    conditional: g.conditional,
                    gb,
                    not_observable: g.not_observable,
                };
                if !tracked_services.contains(&g.service) {
                    inputs.grants.push(row(g.list, None));
                    continue;
                }
                let mut parts: std::collections::BTreeMap<Option<u32>, Vec<GrantedAction>> =
                    std::collections::BTreeMap::new();
                for a in &lists.get(g.list).actions {
                    parts
                        .entry(tracked.get(&a.id).copied())
                        .or_default()
                        .push(*a);
                }
                for (ev, actions) in parts {
                    let list = lists.push(actions);
                    inputs.grants.push(row(list, ev));
                }
            }

            let mut flags = Vec::new();
            if p.service_linked {
                flags.push("service_linked");
            }
            if la.is_none() {
                flags.push("no_last_accessed_data");
            }
            let last_service_use = la.and_then(|la| {
                la.services
                    .iter()
                    .filter_map(|s| s.last_authenticated)
                    .max()
            });
            let (last_used, last_used_region) = match &p.role_last_used {
                Some(r) if r.date.is_some() => (r.date, r.region.clone()),
                _ => (last_service_use, None),
            };
            if let Some(ws) = window_start {
                let too_new = p.created.is_none_or(|c| c >= ws);
                if too_new {
                    flags.push("too_new");
                } else if p.kind == PrincipalType::Role
                    && last_used.is_none_or(|t| t < ws)
                    && last_service_use.is_none_or(|t| t < ws)
                {
                    flags.push("unused_role");
                }
            }
            principals.push(PrincipalInfo {
                account_id: export.account_id.clone(),
                kind: p.kind,
                name: p.name.clone(),
                arn: p.arn.clone(),
                id: p.id.clone(),
                tags: p.tags.clone(),
                created: p.created,
                last_used,
                last_used_region,
                service_linked: p.service_linked,
                actionable: !p.service_linked,
                has_last_accessed: la.is_some(),
                as_of,
                policies,
                unmatched_patterns: unmatched,
                counts: Counts::default(),
                unused_by_sensitivity: BySensitivity::default(),
                score: 0,
                flags,
                services: Vec::new(),
            });
        }
        coverage.warn(export, as_of, &mut warnings);
    }

    timings.push(("expand", started.elapsed()));
    let started = std::time::Instant::now();
    let verdicts = verdict::compute(&inputs).map_err(|e| Error::Analysis(e.to_string()))?;
    timings.push(("join_verdicts", started.elapsed()));
    let started = std::time::Instant::now();
    let mut findings: Vec<Finding> = Vec::with_capacity(verdicts.len());
    for v in verdicts {
        let p = &principals[v.p as usize];
        let list = lists.get(v.list);
        let reason = Reason::from_code(v.reason);
        let as_of = p.as_of;
        let last = v.last_ms.and_then(chrono::DateTime::from_timestamp_millis);
        // An access after the window's end (an --as-of earlier than the data) is reported as
        // such by its reason; a negative age would only confuse.
        let days = match (as_of, last) {
            (Some(t), Some(l)) if l <= t => Some(crate::model::whole_days(l, t)),
            _ => None,
        };
        findings.push(Finding {
            principal: v.p,
            action: list.actions[0].id,
            actions: v.list,
            count: list.len() as u32,
            status: reason.status(),
            reason,
            sensitivity: list.highest,
            categories: list.categories,
            last_accessed: last,
            last_accessed_region: v.region,
            days_since_access: days,
            granted_by: v.gb,
            scoped: v.scoped,
            conditional: v.conditional,
            exclusion: None,
            rank: 0,
        });
    }

    // Exclusions. A rule with an action pattern that covers part of a group splits it.
    let gb_texts = granted_by.into_vec();
    let mut rule_sets = Vec::new();
    for rule in &config.exclusions {
        let set = rule
            .action
            .as_deref()
            .map(|pat| expander.expand_pattern(pat));
        rule_sets.push(set);
    }
    let mut findings = exclusions::apply(
        findings,
        &principals,
        &mut config.exclusions,
        &rule_sets,
        &gb_texts,
        &mut lists,
    );

    // Rank: actionable unused first (sensitivity, broad scope, service, principal, action),
    // then excluded / not actionable unused, then unknown, then used.
    // (principal, first action) is unique (a principal's groups are disjoint), so the order is total.
    let key = |f: &Finding| -> (u8, u8, bool, u32, u32, u32) {
        let p = &principals[f.principal as usize];
        let tier = match f.status {
            Status::Unused if p.actionable && f.exclusion.is_none() => 0,
            Status::Unused => 1,
            Status::Unknown => 2,
            Status::Used => 3,
        };
        (
            tier,
            3 - f.sensitivity as u8,
            f.scoped,
            catalog.service_index(f.action),
            f.principal,
            f.action.0,
        )
    };
    findings.sort_unstable_by_key(key);
    let gb_labels: Vec<Vec<&str>> = gb_texts
        .iter()
        .map(|t| t.split("; ").filter(|l| !l.is_empty()).collect())
        .collect();
    let label_index: Vec<HashMap<String, usize>> = principals
        .iter()
        .map(|p| {
            p.policies
                .iter()
                .enumerate()
                .map(|(i, pi)| (policy_label(pi), i))
                .collect()
        })
        .collect();
    let mut totals = Counts::default();
    let mut by_sens = BySensitivity::default();
    let mut per_service: Vec<BTreeMap<u32, ServiceSummary>> =
        vec![BTreeMap::new(); principals.len()];
    for (i, f) in findings.iter_mut().enumerate() {
        f.rank = i as u32 + 1;
        let list = lists.get(f.actions);
        let p = &mut principals[f.principal as usize];
        p.counts.add(f);
        totals.add(f);
        let svc = catalog.service_index(f.action);
        let entry = per_service[f.principal as usize]
            .entry(svc)
            .or_insert_with(|| ServiceSummary {
                service: catalog.action(f.action).service.to_string(),
                counts: Counts::default(),
                last_accessed: None,
                last_accessed_region: None,
                reported: false,
                highest_unused_sensitivity: None,
            });
        entry.counts.add(f);
        if f.status == Status::Unused && f.exclusion.is_none() && p.actionable {
            p.unused_by_sensitivity.add_list(list);
            p.score += list
                .by_sensitivity
                .iter()
                .enumerate()
                .map(|(s, n)| Sensitivity::from_u8(s as u8).weight() * u64::from(*n))
                .sum::<u64>();
            by_sens.add_list(list);
            entry.highest_unused_sensitivity =
                entry.highest_unused_sensitivity.max(Some(f.sensitivity));
        }
        for label in &gb_labels[f.granted_by as usize] {
            if let Some(pi) = label_index[f.principal as usize]
                .get(*label)
                .and_then(|i| p.policies.get_mut(*i))
            {
                pi.grants += u64::from(f.count);
                if f.status == Status::Unused && f.exclusion.is_none() {
                    pi.unused += u64::from(f.count);
                }
            }
        }
    }
    // Service last-accessed facts for services.csv.
    for s in &inputs.services {
        if let Some(entry) = per_service[s.p as usize].get_mut(&s.svc) {
            entry.reported = true;
            entry.last_accessed = s.last_ms.and_then(chrono::DateTime::from_timestamp_millis);
            entry.last_accessed_region = s.region.clone();
        }
    }
    for (p, services) in principals.iter_mut().zip(per_service) {
        p.services = services.into_values().collect();
    }
    warnings.sort();
    let mut by_principal = vec![Vec::new(); principals.len()];
    for (i, f) in findings.iter().enumerate() {
        by_principal[f.principal as usize].push(i as u32);
    }
    timings.push(("rank", started.elapsed()));

    Ok(Analysis {
        catalog,
        settings: settings.clone(),
        config,
        exports: export_infos,
        warnings,
        principals,
        findings,
        granted_by: gb_texts,
        totals,
        unused_by_sensitivity: by_sens,
        timings,
        by_principal,
        action_lists: lists,
    })
}

/// `--as-of` may not lie after the export's own data: the window would reach into time the
/// last-accessed data does not cover, and used permissions would look unused. An export without
/// any time of its own cannot be checked: it gets a warning.
fn check_as_of(
    export: &Export,
    flag: Option<Timestamp>,
    warnings: &mut Vec<AccountWarning>,
) -> Result<()> {
    let Some(flag) = flag else {
        return Ok(());
    };
    let newest_job = export
        .last_accessed
        .values()
        .filter_map(|la| la.job_completion)
        .max();
    let (data, what) = match (newest_job, export.data_time) {
        (Some(t), _) => (t, "newest JobCompletionDate"),
        (None, Some(t)) => (t, "manifest.json time (it has no last-accessed job dates)"),
        (None, None) => {
            warnings.push(AccountWarning {
                account_id: export.account_id.clone(),
                warning: Warning {
                    code: "as_of_unverified".into(),
                    file: None,
                    json_path: None,
                    message: format!(
                        "the export has no time of its own (no last-accessed job dates, no manifest.json), so --as-of {} cannot be checked against it; identity checks assume the credential report reaches that time",
                        crate::model::rfc3339(flag)
                    ),
                },
            });
            return Ok(());
        }
    };
    if flag > data {
        return Err(Error::Input {
            path: export.root.clone(),
            message: format!(
                "--as-of {} is later than the data of account {} ({what}: {}): the window would reach past what the export covers and call used permissions unused; give an --as-of no later than that, or leave it out (each export then uses its own time)",
                crate::model::rfc3339(flag),
                export.account_id,
                crate::model::rfc3339(data)
            ),
        });
    }
    Ok(())
}

/// The first instant of the window that ends at `end`.
fn window_start_of(export: &Export, end: Timestamp, days: u32) -> Result<Timestamp> {
    crate::model::days_before(end, days).ok_or_else(|| Error::Input {
        path: export.root.clone(),
        message: format!(
            "the {days}-day window before {} starts before the earliest representable time",
            crate::model::rfc3339(end)
        ),
    })
}

/// How far each principal's last-accessed data reaches, against the export's as-of time.
#[derive(Default)]
struct Coverage {
    /// Principals whose job completed more than a day before the as-of time (their windows end
    /// earlier), as `role/Name`.
    stale: Vec<String>,
    /// Principals with a recorded access after their window's end (an `--as-of` earlier than
    /// the data).
    after_as_of: Vec<String>,
    /// Principals granted services that their own report lacks although AWS reports them for
    /// other principals of the account, as `role/Name (svc, svc)`.
    unreported: Vec<String>,
}

/// A job that completed less than this before the as-of time is normal: one fetch runs its jobs
/// over minutes to hours. Only an older one is worth a warning (its window still ends at its job).
const STALE_AFTER_HOURS: i64 = 24;

/// How many principal names a coverage warning lists.
const COVERAGE_LIST_AT_MOST: usize = 10;

impl Coverage {
    /// The end of `p`'s window: the as-of time, or its own `JobCompletionDate` when that is
    /// earlier. Records principals worth a warning.
    fn window_end(
        &mut self,
        p: &crate::model::Principal,
        as_of: Option<Timestamp>,
        la: Option<&crate::model::LastAccessed>,
    ) -> Option<Timestamp> {
        let as_of = as_of?;
        let Some(la) = la else {
            return Some(as_of);
        };
        let end = match la.job_completion {
            Some(job) if job < as_of => {
                if as_of.signed_duration_since(job).num_hours() >= STALE_AFTER_HOURS {
                    self.stale.push(format!("{}/{}", p.kind, p.name));
                }
                job
            }
            _ => as_of,
        };
        let accessed_after = la.services.iter().any(|s| {
            s.last_authenticated.is_some_and(|t| t > end)
                || s.tracked_actions
                    .iter()
                    .flatten()
                    .any(|a| a.last_accessed.is_some_and(|t| t > end))
        });
        if accessed_after {
            self.after_as_of.push(format!("{}/{}", p.kind, p.name));
        }
        Some(end)
    }

    fn warn(self, export: &Export, as_of: Option<Timestamp>, warnings: &mut Vec<AccountWarning>) {
        let list = |names: &[String]| {
            let mut text = names
                .iter()
                .take(COVERAGE_LIST_AT_MOST)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            if names.len() > COVERAGE_LIST_AT_MOST {
                text.push_str(&format!(
                    ", and {} more",
                    names.len() - COVERAGE_LIST_AT_MOST
                ));
            }
            text
        };
        let when = as_of.map_or_else(String::new, crate::model::rfc3339);
        let mut push = |code: &str, message: String| {
            warnings.push(AccountWarning {
                account_id: export.account_id.clone(),
                warning: Warning {
                    code: code.into(),
                    file: Some(crate::input::LAST_ACCESSED_DIR.into()),
                    json_path: None,
                    message,
                },
            });
        };
        if !self.stale.is_empty() {
            push(
                "last_accessed_older_than_as_of",
                format!(
                    "{} principal(s) have last-accessed data that ends more than {STALE_AFTER_HOURS} hours before the as-of time {when} (a resumed or partly refreshed fetch?); each one's window ends at its own JobCompletionDate instead: {}",
                    self.stale.len(),
                    list(&self.stale)
                ),
            );
        }
        if !self.unreported.is_empty() {
            push(
                "last_accessed_service_missing",
                format!(
                    "{} principal(s) are granted services that their last-accessed report does not list, although AWS reports those services for other principals of the account (granted after the job ran?); those actions are unknown (not_observable) — fetch their last-accessed data again: {}",
                    self.unreported.len(),
                    list(&self.unreported)
                ),
            );
        }
        if !self.after_as_of.is_empty() {
            push(
                "accessed_after_as_of",
                format!(
                    "{} principal(s) have accesses recorded after the as-of time {when} (--as-of is earlier than the data); those actions are unknown (accessed_after_as_of): last-accessed data keeps only the latest use, so use inside the window cannot be known: {}",
                    self.after_as_of.len(),
                    list(&self.after_as_of)
                ),
            );
        }
    }
}

/// The label a policy has in `granted_by`.
pub fn policy_label(p: &PolicyInfo) -> String {
    let base = match p.kind {
        _ if p.boundary => format!("boundary:{}", p.name),
        "inline" => format!("inline:{}", p.name),
        "customer_managed" => format!("managed:{}", p.name),
        _ => format!("aws:{}", p.name),
    };
    match &p.via_group {
        Some(g) => format!("group:{g}/{base}"),
        None => base,
    }
}

#[derive(Default)]
struct Interner {
    map: HashMap<String, u32>,
    list: Vec<String>,
}

impl Interner {
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(i) = self.map.get(s) {
            return *i;
        }
        let i = self.list.len() as u32;
        self.list.push(s.to_string());
        self.map.insert(s.to_string(), i);
        i
    }

    fn into_vec(self) -> Vec<String> {
        self.list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_observability_follows_the_resource_type_not_the_name() {
        // Data events: object-level actions and the bucket listings CloudTrail logs as data.
        for a in [
            "GetObject",
            "PutObject",
            "DeleteObjectVersion",
            "GetObjectAcl",
            "PutObjectLegalHold",
            "RestoreObject",
            "AbortMultipartUpload",
            "ListMultipartUploadParts",
            "BypassGovernanceRetention",
            "ReplicateObject",
            "ListBucket",
            "ListBucketVersions",
            "ListBucketMultipartUploads",
        ] {
            assert!(is_not_observable("s3", a), "{a} is a data event");
        }
        // Bucket and access-point management that merely has `Object` in its name.
        for a in [
            "GetBucketObjectLockConfiguration",
            "PutBucketObjectLockConfiguration",
            "CreateAccessPointForObjectLambda",
            "PutAccessPointConfigurationForObjectLambda",
            "GetAccessPointPolicyForObjectLambda",
            "ListAccessPointsForObjectLambda",
            "CreateBucket",
            "ListAllMyBuckets",
            "PutBucketPolicy",
        ] {
            assert!(!is_not_observable("s3", a), "{a} is a management action");
        }
        // Case-insensitive, as IAM action names are.
        assert!(is_not_observable("s3", "getobject"));
        assert!(is_not_observable("iam", "passrole"));
        assert!(!is_not_observable("iam", "PassRoles"));
        assert!(is_not_observable("s3-object-lambda", "ListBucket"));
        // An s3 action newer than the embedded catalog is judged by its name, cautiously.
        assert!(is_not_observable("s3", "GetObjectFutureThing"));
        assert!(!is_not_observable("s3", "GetBucketFutureThing"));
    }

    #[test]
    fn every_listed_s3_data_action_is_in_the_catalog() {
        let c = Catalog::embedded();
        assert_eq!(s3_data_actions().len(), 47);
        for a in s3_data_actions() {
            assert!(c.lookup("s3", a).is_some(), "{a}");
        }
    }
}
