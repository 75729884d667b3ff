//! Stage 1, collect: for every export and principal, the effective grants (expanded against the
//! catalog and grouped once per distinct grant set), the last-accessed evidence, the window, and
//! the principal's facts — as plain rows for the verdict stage (`verdict.rs`) and the
//! [`PrincipalInfo`] of every principal.

use std::collections::{BTreeMap, BTreeSet};

use foldhash::{HashMap, HashSet};
use std::hash::Hash;

use super::config::Config;
use super::groups::{self, ActionLists, GrantedAction, ListId, Template, TemplateGroup};
use super::intentional::IntentionalConfig;
use super::model::{
    AccountWarning, AsOfSource, BySensitivity, Counts, ExportInfo, GrantedById, LabelId,
    ManifestFacts, PolicyInfo, PolicyLabel, PrincipalInfo,
};
use super::observability::is_not_observable;
use super::sensitivity::{self, ActionRisk};
use super::verdict;
use super::window::{Coverage, check_as_of, window_start_of};
use super::{Settings, exclusions};
use crate::catalog::{ActionId, Catalog};
use crate::error::Result;
use crate::model::{Export, LastAccessed, Principal, PrincipalType, Timestamp};
use crate::policy::{Expander, GrantCache, PrincipalGrants, principal_grants_cached};

/// Values interned in first-seen order: an id per distinct value.
pub(super) struct Interner<T> {
    map: HashMap<T, u32>,
    list: Vec<T>,
}

impl<T> Default for Interner<T> {
    fn default() -> Self {
        Interner {
            map: HashMap::default(),
            list: Vec::new(),
        }
    }
}

impl<T: Hash + Eq + Clone> Interner<T> {
    pub(super) fn intern(&mut self, value: &T) -> u32 {
        if let Some(i) = self.map.get(value) {
            return *i;
        }
        let i = self.list.len() as u32;
        self.list.push(value.clone());
        self.map.insert(value.clone(), i);
        i
    }

    pub(super) fn into_vec(self) -> Vec<T> {
        self.list
    }
}

/// Everything the later stages need.
pub(super) struct Collected<'c> {
    pub exports: Vec<ExportInfo>,
    pub warnings: Vec<AccountWarning>,
    /// Sorted by (account, kind, name), as the exports are.
    pub principals: Vec<PrincipalInfo>,
    pub inputs: verdict::Inputs,
    pub lists: ActionLists,
    pub granted_by: Vec<Box<[LabelId]>>,
    pub labels: Vec<PolicyLabel>,
    /// Expands exclusion patterns later with the same cache.
    pub expander: Expander<'c>,
    pub risks: Vec<ActionRisk>,
}

/// Collects every export, in order (freeing each one's last-accessed data once collected, when
/// asked to). Exclusion rules that expired before an export's as-of date are marked (and warned
/// about) on the way.
pub(super) fn collect<'c>(
    exports: super::Exports<'_>,
    catalog: &'c Catalog,
    settings: &Settings,
    config: &mut Config,
) -> Result<Collected<'c>> {
    let mut c = Collector {
        catalog,
        window_days: settings.unused_after_days,
        risks: sensitivity::classify(catalog),
        not_observable: catalog
            .ids()
            .map(|a| {
                let info = catalog.action(a);
                is_not_observable(&info.service, &info.name)
            })
            .collect(),
        expander: Expander::new(catalog),
        templates: groups::Templates::default(),
        lists: ActionLists::default(),
        inputs: verdict::Inputs::default(),
        principals: Vec::new(),
        labels: Interner::default(),
        granted_by: Interner::default(),
        warnings: Vec::new(),
        exports: Vec::new(),
        intentional: config.intentional.clone(),
    };
    match exports {
        super::Exports::Shared(exports) => {
            for export in exports {
                c.export(export, settings.as_of, config)?;
            }
        }
        super::Exports::Freeing(exports) => {
            for export in exports {
                c.export(export, settings.as_of, config)?;
                export.last_accessed = Default::default();
            }
        }
    }
    c.warnings.sort();
    Ok(Collected {
        exports: c.exports,
        warnings: c.warnings,
        principals: c.principals,
        inputs: c.inputs,
        lists: c.lists,
        granted_by: c.granted_by.into_vec(),
        labels: c.labels.into_vec(),
        expander: c.expander,
        risks: c.risks,
    })
}

struct Collector<'c> {
    catalog: &'c Catalog,
    window_days: u32,
    risks: Vec<ActionRisk>,
    not_observable: Vec<bool>,
    expander: Expander<'c>,
    templates: groups::Templates,
    lists: ActionLists,
    inputs: verdict::Inputs,
    principals: Vec<PrincipalInfo>,
    labels: Interner<PolicyLabel>,
    granted_by: Interner<Box<[LabelId]>>,
    warnings: Vec<AccountWarning>,
    exports: Vec<ExportInfo>,
    intentional: IntentionalConfig,
}

/// One principal's window: where it ends (the as-of time or its own job's completion) and starts.
#[derive(Clone, Copy)]
struct Window {
    end: Option<Timestamp>,
    start: Option<Timestamp>,
}

impl Collector<'_> {
    fn export(
        &mut self,
        export: &Export,
        flag: Option<Timestamp>,
        config: &mut Config,
    ) -> Result<()> {
        let (as_of, as_of_source) = match (flag, export.data_time) {
            (Some(t), _) => (Some(t), AsOfSource::Flag),
            (None, Some(t)) => (Some(t), AsOfSource::Export),
            (None, None) => (None, AsOfSource::None),
        };
        check_as_of(export, flag, &mut self.warnings)?;
        let window_start = as_of
            .map(|t| window_start_of(export, t, self.window_days))
            .transpose()?;
        for w in &export.warnings {
            self.warnings.push(AccountWarning {
                account_id: export.account_id.clone(),
                warning: w.clone(),
            });
        }
        if let Some(t) = as_of {
            exclusions::expire(config, &export.account_id, t, &mut self.warnings);
        }
        self.exports.push(ExportInfo {
            account_id: export.account_id.clone(),
            partition: export.partition.clone(),
            path: export.root.display().to_string(),
            as_of,
            as_of_source,
            window_start,
            principals: export.principals.len(),
            has_credential_report: export.credential_report.is_some(),
            files: export.files.clone(),
            manifest: export.manifest.as_ref().map(|m| ManifestFacts {
                tool: m.tool.clone(),
                created: m.created,
                files_verified: m.files.len(),
            }),
        });
        // Services AWS reports for some principal of this account: one granted to a principal
        // but absent from its own report was most likely granted after its job ran.
        let reported: HashSet<u32> = export
            .last_accessed
            .values()
            .flat_map(|la| &la.services)
            .filter_map(|s| self.catalog.service_index_of(&s.namespace))
            .collect();
        let mut coverage = Coverage::default();
        let mut cache = GrantCache::new();
        for p in &export.principals {
            let grants = principal_grants_cached(p, export, &mut self.expander, &mut cache);
            let la = export.last_accessed.get(&(p.kind, p.name.clone()));
            // The principal's window ends at the as-of time, or earlier where its own
            // last-accessed data ends earlier: a verdict never covers time the data does not.
            let end = coverage.window_end(p, as_of, la);
            let start = end
                .map(|t| window_start_of(export, t, self.window_days))
                .transpose()?;
            self.principal(
                export,
                p,
                &grants,
                la,
                Window { end, start },
                &reported,
                &mut coverage,
            );
        }
        coverage.warn(export, as_of, &mut self.warnings);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn principal(
        &mut self,
        export: &Export,
        p: &Principal,
        grants: &PrincipalGrants,
        la: Option<&LastAccessed>,
        window: Window,
        reported: &HashSet<u32>,
        coverage: &mut Coverage,
    ) {
        let pidx = self.principals.len() as u32;
        let policies = self.policies(grants);
        self.inputs.principals.push(verdict::PrincipalRow {
            p: pidx,
            has_la: la.is_some(),
            created_ms: p.created.map(|t| t.timestamp_millis()),
            window_start_ms: window.start.map(|t| t.timestamp_millis()),
            window_end_ms: window.end.map(|t| t.timestamp_millis()),
        });
        // The grants, grouped (shared by every principal with the same grant set).
        let template = self.templates.get(
            grants,
            self.catalog,
            &self.risks,
            &self.not_observable,
            &mut self.lists,
        );
        let tracked = la.map(|la| self.evidence(pidx, la)).unwrap_or_default();
        if let Some(la) = la {
            self.note_unreported(p, la, &template, reported, coverage);
        }
        self.grant_rows(pidx, &template, &policies, &tracked);
        let unmatched = grants
            .unmatched
            .iter()
            .map(|u| {
                let label = policies
                    .get(u.policy)
                    .map_or_else(|| "?".to_string(), |pi| self.label_text(pi.label));
                format!("{label}: {}", u.pattern)
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut info = facts(export, p, la, window, policies, unmatched);
        info.intentional = self.intentional.find(p, &info.policies);
        self.principals.push(info);
    }

    fn label_text(&self, id: LabelId) -> String {
        self.labels
            .list
            .get(id.0 as usize)
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    /// The principal's policies, each with its interned label.
    fn policies(&mut self, grants: &PrincipalGrants) -> Vec<PolicyInfo> {
        grants
            .policies
            .iter()
            .map(|r| PolicyInfo {
                name: r.name.clone(),
                kind: r.kind,
                arn: r.arn.clone(),
                via_group: r.via_group.clone(),
                boundary: r.boundary,
                grants: 0,
                unused: 0,
                label: LabelId(self.labels.intern(&PolicyLabel::of(r))),
            })
            .collect()
    }

    /// Rows of the principal's service- and action-level evidence; returns, for each action AWS
    /// tracks for it, the id of its evidence (its last access and region): tracked actions with
    /// the same evidence share a verdict, so they stay one group.
    fn evidence(&mut self, pidx: u32, la: &LastAccessed) -> HashMap<ActionId, u32> {
        let mut tracked: HashMap<ActionId, u32> = HashMap::default();
        let mut evidence: HashMap<(Option<i64>, Option<&str>), u32> = HashMap::default();
        for s in &la.services {
            let Some(svc) = self.catalog.service_index_of(&s.namespace) else {
                continue;
            };
            self.inputs.services.push(verdict::ServiceRow {
                p: pidx,
                svc,
                last_ms: s.last_authenticated.map(|t| t.timestamp_millis()),
                region: s.region.clone(),
            });
            for t in s.tracked_actions.iter().flatten() {
                let Some(id) = self.catalog.lookup(&s.namespace, &t.name) else {
                    continue;
                };
                let last_ms = t.last_accessed.map(|t| t.timestamp_millis());
                let next = evidence.len() as u32;
                let actions = &mut self.inputs.actions;
                let ev = *evidence
                    .entry((last_ms, t.region.as_deref()))
                    .or_insert_with(|| {
                        actions.push(verdict::ActionRow {
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
        tracked
    }

    /// Records a principal granted services its own report lacks while AWS reports them for
    /// others in the account (see `Coverage`).
    fn note_unreported(
        &self,
        p: &Principal,
        la: &LastAccessed,
        template: &Template,
        reported: &HashSet<u32>,
        coverage: &mut Coverage,
    ) {
        let own: HashSet<u32> = la
            .services
            .iter()
            .filter_map(|s| self.catalog.service_index_of(&s.namespace))
            .collect();
        let mut absent: Vec<&str> = template
            .groups
            .iter()
            .filter(|g| !g.not_observable)
            .map(|g| g.service)
            .filter(|svc| reported.contains(svc) && !own.contains(svc))
            .filter_map(|svc| self.catalog.service_name(svc))
            .collect();
        absent.sort_unstable();
        absent.dedup();
        if !absent.is_empty() {
            coverage
                .unreported
                .push(format!("{}/{} ({})", p.kind, p.name, absent.join(", ")));
        }
    }

    /// One verdict row per template group, split by the evidence of the actions AWS tracks.
    fn grant_rows(
        &mut self,
        pidx: u32,
        template: &Template,
        policies: &[PolicyInfo],
        tracked: &HashMap<ActionId, u32>,
    ) {
        let tracked_services: HashSet<u32> = tracked
            .keys()
            .map(|id| self.catalog.service_index(*id))
            .collect();
        for g in &template.groups {
            let sources: Box<[LabelId]> = g
                .sources
                .iter()
                .filter_map(|i| policies.get(*i as usize).map(|pi| pi.label))
                .collect();
            let gb = GrantedById(self.granted_by.intern(&sources));
            if !tracked_services.contains(&g.service) {
                self.inputs.grants.push(row(pidx, g, g.list, None, gb));
                continue;
            }
            let mut parts: BTreeMap<Option<u32>, Vec<GrantedAction>> = BTreeMap::new();
            for a in &self.lists.get(g.list).actions {
                parts
                    .entry(tracked.get(&a.id).copied())
                    .or_default()
                    .push(*a);
            }
            for (ev, actions) in parts {
                let list = self.lists.push(actions);
                self.inputs.grants.push(row(pidx, g, list, ev, gb));
            }
        }
    }
}

fn row(
    p: u32,
    g: &TemplateGroup,
    list: ListId,
    ev: Option<u32>,
    gb: GrantedById,
) -> verdict::GrantRow {
    verdict::GrantRow {
        p,
        a: ev.unwrap_or(verdict::NO_ACTION),
        svc: g.service,
        list,
        scoped: g.scoped,
        conditional: g.conditional,
        gb,
        not_observable: g.not_observable,
    }
}

/// A principal's facts: flags, last use, policies; counts are filled in by `rank`.
fn facts(
    export: &Export,
    p: &Principal,
    la: Option<&LastAccessed>,
    window: Window,
    policies: Vec<PolicyInfo>,
    unmatched_patterns: Vec<String>,
) -> PrincipalInfo {
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
    if let Some(ws) = window.start {
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
    PrincipalInfo {
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
        intentional: None,
        permission_set: None,
        has_last_accessed: la.is_some(),
        as_of: window.end,
        policies,
        unmatched_patterns,
        counts: Counts::default(),
        unused_by_sensitivity: BySensitivity::default(),
        score: 0,
        flags,
    }
}
