//! Stage 4, rank: orders the findings (what to remove first), numbers them, and adds every count
//! up — per principal, per service, per policy and in total.

use super::groups::ActionLists;
use super::model::{BySensitivity, Counts, Finding, LabelId, PrincipalInfo, ServiceSummary};
use super::reason::Status;
use super::sensitivity::Sensitivity;
use super::verdict::ServiceRow;
use crate::catalog::Catalog;
use crate::model::SharedTexts;
use crate::policy::control::{ControlEffect, ControlNote};

/// What ranking adds up besides the principals' own counts.
pub(super) struct Ranked {
    pub findings: Vec<Finding>,
    pub totals: Counts,
    pub unused_by_sensitivity: BySensitivity,
    /// Per principal, the indices of its findings in `findings` (rank order).
    pub by_principal: Vec<Vec<u32>>,
    /// The same, by service (catalog order), then rank.
    pub by_principal_service: Vec<Vec<u32>>,
}

fn is_blocked(f: &Finding, notes: &[ControlNote]) -> bool {
    f.control
        .and_then(|c| notes.get(c.0 as usize))
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
    principals: &[PrincipalInfo],
    notes: &[ControlNote],
    catalog: &Catalog,
) -> (u8, u8, bool, u32, u32, u32) {
    let p = &principals[f.principal as usize];
    let blocked = is_blocked(f, notes);
    let tier = match f.status {
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
        3 - f.sensitivity as u8,
        f.scoped,
        catalog.service_index(f.action),
        f.principal,
        f.action.0,
    )
}

/// Each principal's summary per service (`PrincipalInfo::services`, catalog order): the counts
/// of its findings there, the highest unused sensitivity, and the service's last access from its
/// report. Built from the findings sorted by (principal, service), each principal's list at its
/// exact size: at 100,000 roles (3.7 M summaries) a map per principal took twice the memory of
/// the summaries themselves, at the stage where the analysis peaked.
fn service_summaries(
    findings: &[Finding],
    principals: &mut [PrincipalInfo],
    notes: &[ControlNote],
    catalog: &Catalog,
    services: &[ServiceRow],
) {
    let mut order: Vec<(u32, u32, u32)> = findings
        .iter()
        .enumerate()
        .map(|(i, f)| (f.principal, catalog.service_index(f.action), i as u32))
        .collect();
    order.sort_unstable();
    // Per principal, its services' catalog indexes (the key of each summary, same positions).
    let mut keys: Vec<Vec<u32>> = vec![Vec::new(); principals.len()];
    let mut texts = SharedTexts::default();
    let mut start = 0;
    while start < order.len() {
        let pi = order[start].0 as usize;
        let end = start + order[start..].partition_point(|o| o.0 as usize == pi);
        let run = &order[start..end];
        let distinct = 1 + run.windows(2).filter(|w| w[0].1 != w[1].1).count();
        let p = &mut principals[pi];
        let (mut list, mut svcs) = (Vec::with_capacity(distinct), Vec::with_capacity(distinct));
        for &(_, svc, i) in run {
            let f = &findings[i as usize];
            if svcs.last() != Some(&svc) {
                svcs.push(svc);
                list.push(ServiceSummary {
                    service: texts.get(&catalog.action(f.action).service),
                    counts: Counts::default(),
                    last_accessed: None,
                    last_accessed_region: None,
                    reported: false,
                    highest_unused_sensitivity: None,
                });
            }
            let Some(entry) = list.last_mut() else {
                continue;
            };
            entry.counts.add(f);
            let removable = f.status == Status::Unused && f.exclusion.is_none();
            if removable && p.actionable && !is_blocked(f, notes) {
                entry.highest_unused_sensitivity =
                    entry.highest_unused_sensitivity.max(Some(f.sensitivity));
            }
        }
        p.services = list;
        keys[pi] = svcs;
        start = end;
    }
    // Service last-accessed facts for services.csv.
    for s in services {
        let (Some(p), Some(k)) = (principals.get_mut(s.p as usize), keys.get(s.p as usize)) else {
            continue;
        };
        if let Ok(i) = k.binary_search(&s.svc) {
            let entry = &mut p.services[i];
            entry.reported = true;
            entry.last_accessed = s.last_ms.and_then(chrono::DateTime::from_timestamp_millis);
            entry.last_accessed_region = s.region.clone();
        }
    }
}

/// Sorts and numbers the findings and fills in every count.
pub(super) fn rank(
    mut findings: Vec<Finding>,
    principals: &mut [PrincipalInfo],
    notes: &[ControlNote],
    catalog: &Catalog,
    lists: &ActionLists,
    granted_by: &[Box<[LabelId]>],
    services: &[ServiceRow],
) -> Ranked {
    findings.sort_unstable_by_key(|f| key(f, principals, notes, catalog));
    let mut totals = Counts::default();
    let mut by_sens = BySensitivity::default();
    for (i, f) in findings.iter_mut().enumerate() {
        f.rank = i as u32 + 1;
        let list = lists.get(f.list);
        let p = &mut principals[f.principal as usize];
        p.counts.add(f);
        totals.add(f);
        let removable = f.status == Status::Unused && f.exclusion.is_none();
        // A grant an SCP blocks is removable but carries no risk: not in scores or the
        // per-sensitivity counts.
        if removable && p.actionable && !is_blocked(f, notes) {
            p.unused_by_sensitivity.add_list(list);
            p.score += list
                .by_sensitivity
                .iter()
                .enumerate()
                .map(|(s, n)| Sensitivity::from_u8(s as u8).weight() * u64::from(*n))
                .sum::<u64>();
            by_sens.add_list(list);
        }
        for label in granted_by
            .get(f.granted_by.0 as usize)
            .into_iter()
            .flatten()
        {
            if let Some(pi) = p.policies.iter_mut().rev().find(|pi| pi.label == *label) {
                pi.grants += u64::from(f.count);
                if removable {
                    pi.unused += u64::from(f.count);
                }
            }
        }
    }
    service_summaries(&findings, principals, notes, catalog, services);
    let mut by_principal = vec![Vec::new(); principals.len()];
    for (i, f) in findings.iter().enumerate() {
        by_principal[f.principal as usize].push(i as u32);
    }
    let by_principal_service = by_principal
        .iter()
        .map(|list| {
            let mut list = list.clone();
            list.sort_by_cached_key(|i| (catalog.service_index(findings[*i as usize].action), *i));
            list
        })
        .collect();
    Ranked {
        findings,
        totals,
        unused_by_sensitivity: by_sens,
        by_principal,
        by_principal_service,
    }
}
