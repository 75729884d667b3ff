//! Stage 4, rank: orders the findings (what to remove first), numbers them, and adds every count
//! up — per principal, per service, per policy and in total.

use std::sync::Arc;

use super::groups::ActionLists;
use super::lists::{ByService, FindingLists};
use super::model::{
    BySensitivity, ControlId, Counts, FactsLimit, Finding, FindingControls, LabelId, MAX_REGIONS,
    PrincipalInfo, Regions, ServiceFacts, WithControls,
};
use super::reason::Status;
use super::sensitivity::Sensitivity;
use super::verdict::ServiceRow;
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::policy::control::{ControlEffect, ControlNote};

/// What ranking adds up besides the principals' own counts.
pub(super) struct Ranked {
    pub findings: Vec<Finding>,
    /// Their SCP/RCP notes.
    pub controls: FindingControls,
    pub totals: Counts,
    pub unused_by_sensitivity: BySensitivity,
    /// Per principal, the indices of its findings in `findings`, by service (catalog order),
    /// then rank.
    pub by_principal_service: ByService,
}

/// A list's service (its index in catalog order), first action and highest sensitivity.
#[derive(Debug, Clone, Copy)]
struct First {
    service: u32,
    action: u32,
    highest: Sensitivity,
}

/// Every list's [`First`], by list id: the rank's key reads them at every comparison, from one
/// dense array rather than two pointers away in the list (a finding does not hold its first
/// action or its sensitivity: 6 bytes of each of ~38 million at 1,000,000 roles).
fn firsts(lists: &ActionLists, catalog: &Catalog) -> Vec<First> {
    lists
        .iter()
        .map(|l| First {
            service: catalog.service_index(l.first()),
            action: l.first().0,
            highest: l.highest,
        })
        .collect()
}

fn is_blocked(control: Option<ControlId>, notes: &[ControlNote]) -> bool {
    control
        .and_then(|c| notes.get(c.index()))
        .is_some_and(|n| n.effect == ControlEffect::Blocked)
}

/// The rank order: actionable unused first (sensitivity, broad scope, service, principal,
/// action), then unused of intentional access (break-glass roles and the like: one decision
/// each, not a flood of rows), then unused that an SCP blocks (not effective: removing it is
/// hygiene, not risk), then excluded or not actionable unused, then unknown, then used.
/// (principal, first action) is unique — a principal's groups are disjoint — so the order is
/// total.
fn key(
    f: &Finding,
    blocked: bool,
    principals: &[PrincipalInfo],
    firsts: &[First],
) -> (u8, u8, bool, u32, u32, u32) {
    let p = &principals[f.principal as usize];
    let first = firsts[f.list.0 as usize];
    let tier = match f.status() {
        Status::Unused
            if p.actionable && f.exclusion.is_none() && p.intentional.is_none() && !blocked =>
        {
            0
        }
        Status::Unused if p.actionable && f.exclusion.is_none() && !blocked => 1,
        Status::Unused if p.actionable && f.exclusion.is_none() => 2,
        Status::Unused => 3,
        Status::Unknown => 4,
        Status::Used => 5,
    };
    (
        tier,
        3 - first.highest as u8,
        f.scoped(),
        first.service,
        f.principal,
        first.action,
    )
}

/// The service facts of the last-accessed reports that [`Analysis::services_of`] reads: those
/// of services the principal has findings in (the findings of `by_principal_service`, sorted by
/// service). The rows are consumed: nothing reads them after.
///
/// [`Analysis::services_of`]: super::model::Analysis::services_of
pub(super) fn service_facts(
    by_principal_service: &ByService,
    services: Vec<ServiceRow>,
    region_texts: &[Arc<str>],
    regions: &mut Regions,
) -> Result<ServiceFacts> {
    let has_service =
        |p: u32, svc: u32| !by_principal_service.of_service(p as usize, svc).is_empty();
    ServiceFacts::new(services, has_service, region_texts, regions).map_err(|e| match e {
        FactsLimit::Regions => too_many_regions(),
    })
}

/// More distinct regions than a [`super::model::RegionId`] counts ([`MAX_REGIONS`]).
pub(super) fn too_many_regions() -> Error {
    Error::Analysis(format!(
        "more than {MAX_REGIONS} distinct last-access regions in the last-accessed reports (a \
         region is held in 16 bits; AWS has ~35)"
    ))
}

/// Sorts and numbers the findings and fills in every count.
pub(super) fn rank(
    with: WithControls,
    principals: &mut [PrincipalInfo],
    notes: &[ControlNote],
    catalog: &Catalog,
    lists: &ActionLists,
    granted_by: &[Box<[LabelId]>],
) -> Ranked {
    let firsts = firsts(lists, catalog);
    let WithControls {
        mut findings,
        mut controls,
    } = with;
    if controls.iter().all(Option::is_none) {
        // No finding has a note (no organisation part, or controls that apply to none): the
        // findings are sorted alone and the vector of no notes freed.
        controls = Vec::new();
        findings.sort_unstable_by_key(|f| key(f, false, principals, &firsts));
    } else {
        // The key is unique (see `key`): the same order as sorting the findings alone.
        crate::memory::sort_unstable_beside(&mut findings, &mut controls, |f, c| {
            key(f, is_blocked(*c, notes), principals, &firsts)
        });
    }
    let mut totals = Counts::default();
    let mut by_sens = BySensitivity::default();
    for (i, f) in findings.iter_mut().enumerate() {
        let list = lists.get(f.list);
        // A list holds at most the catalog's actions (`catalog::MAX_ACTIONS`, below 2^25).
        let actions = list.len() as u32;
        let p = &mut principals[f.principal as usize];
        p.counts.add(f, actions);
        totals.add(f, u64::from(actions));
        let removable = f.status() == Status::Unused && f.exclusion.is_none();
        // A grant an SCP blocks is removable but carries no risk: not in scores or the
        // per-sensitivity counts.
        let control = controls.get(i).copied().flatten();
        if removable && p.actionable && !is_blocked(control, notes) {
            p.unused_by_sensitivity.add_list_u32(list);
            let weight: u64 = list
                .by_sensitivity
                .iter()
                .enumerate()
                .map(|(s, n)| Sensitivity::from_u8(s as u8).weight() * u64::from(*n))
                .sum();
            // At most 100 times the catalog's actions for a principal: below 2^32.
            p.score = p
                .score
                .saturating_add(u32::try_from(weight).unwrap_or(u32::MAX));
            by_sens.add_list(list);
        }
        for label in granted_by
            .get(f.granted_by.0 as usize)
            .into_iter()
            .flatten()
        {
            if let Some(pi) = p.policies.iter_mut().rev().find(|pi| pi.label == *label) {
                // A principal's findings hold each of its actions once: at most the catalog's.
                pi.grants = pi.grants.saturating_add(actions);
                if removable {
                    pi.unused = pi.unused.saturating_add(actions);
                }
            }
        }
    }
    let by_principal = FindingLists::by_principal(&findings, principals.len());
    let service_of = |i: u32| firsts[findings[i as usize].list.0 as usize].service;
    let by_principal_service = ByService::new(by_principal, service_of);
    Ranked {
        controls: FindingControls::new(&controls),
        findings,
        totals,
        unused_by_sensitivity: by_sens,
        by_principal_service,
    }
}
