//! Per principal, the indices of its findings — in rank order, and by service — with every
//! principal's list end to end in one vector (issue 18: a vector per principal cost a header, an
//! allocation and its growth slack for each of hundreds of thousands of principals).

use super::model::Finding;

/// Lists of finding indices, one per principal, stored end to end.
#[derive(Debug, Clone, Default)]
pub struct FindingLists {
    /// `starts[p]..starts[p + 1]` is principal `p`'s range of `items`.
    starts: Vec<u32>,
    items: Vec<u32>,
}

impl FindingLists {
    /// Each principal's findings (indices into `findings`), in the order of `findings`; a
    /// finding of no principal below `principals` is in no list.
    pub fn by_principal(findings: &[Finding], principals: usize) -> FindingLists {
        let of = |f: &Finding| (f.principal as usize) < principals;
        let mut starts = vec![0u32; principals + 1];
        for f in findings.iter().filter(|f| of(f)) {
            starts[f.principal as usize + 1] += 1;
        }
        for p in 1..starts.len() {
            starts[p] += starts[p - 1];
        }
        let mut next = starts.clone();
        let mut items = vec![0u32; starts[principals] as usize];
        for (i, f) in findings.iter().enumerate().filter(|(_, f)| of(f)) {
            let at = &mut next[f.principal as usize];
            items[*at as usize] = i as u32;
            *at += 1;
        }
        FindingLists { starts, items }
    }

    /// Principal `p`'s list (empty for an unknown principal).
    pub fn get(&self, p: usize) -> &[u32] {
        self.range(p).map_or(&[][..], |r| &self.items[r])
    }

    fn range(&self, p: usize) -> Option<std::ops::Range<usize>> {
        let start = *self.starts.get(p)? as usize;
        let end = *self.starts.get(p + 1)? as usize;
        Some(start..end)
    }
}

/// Each principal's findings by service (catalog order), then rank, so that a principal's
/// findings of one service are a range; with the service of each entry beside it (16 bits: a
/// catalog holds at most `catalog::MAX_SERVICES`), so that finding the range reads those
/// instead of the findings themselves (which a search reads at random: 6% of a report's CPU at
/// 10,000 roles, issue 18).
#[derive(Debug, Clone, Default)]
pub struct ByService {
    lists: FindingLists,
    services: Vec<u16>,
}

impl ByService {
    /// `by_principal` sorted by (service, rank) within each principal; `service_of` gives a
    /// finding's service (its index in catalog order) from the finding's index.
    pub fn new(by_principal: FindingLists, service_of: impl Fn(u32) -> u32) -> ByService {
        let mut lists = by_principal;
        for p in 0..lists.starts.len().saturating_sub(1) {
            if let Some(r) = lists.range(p) {
                lists.items[r].sort_unstable_by_key(|&i| (service_of(i), i));
            }
        }
        // A catalog's service indices fit 16 bits (`Catalog::parse` refuses more services).
        let services = lists
            .items
            .iter()
            .map(|&i| u16::try_from(service_of(i)).unwrap_or(u16::MAX))
            .collect();
        ByService { lists, services }
    }

    /// Principal `p`'s findings, by service then rank.
    pub fn get(&self, p: usize) -> &[u32] {
        self.lists.get(p)
    }

    /// Principal `p`'s findings of service `svc` (its index in catalog order), by rank.
    pub fn of_service(&self, p: usize, svc: u32) -> &[u32] {
        let Some(r) = self.lists.range(p) else {
            return &[];
        };
        let Ok(svc) = u16::try_from(svc) else {
            return &[];
        };
        let services = &self.services[r.clone()];
        let range = services.partition_point(|s| *s < svc)..services.partition_point(|s| *s <= svc);
        &self.lists.items[r][range]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::model::Finding;
    use crate::catalog::Catalog;
    use proptest::prelude::*;

    /// A finding of `principal` whose list is the `list`th.
    fn finding(principal: u32, list: u32) -> Finding {
        Finding {
            principal,
            list: crate::analysis::groups::ListId(list),
            reason: crate::analysis::reason::Reason::ActionNotAccessed,
            last: crate::analysis::model::LastAccess::NEVER,
            last_accessed_region: None,
            granted_by: crate::analysis::model::GrantedById(0),
            scope: crate::analysis::model::Scope::new(false, false),
            exclusion: None,
        }
    }

    proptest! {
        /// The lists hold what a vector per principal would, and a service's range is exactly
        /// the principal's findings of that service.
        #[test]
        fn lists_match_a_vector_per_principal(
            picks in proptest::collection::vec((0u32..8, 0usize..400), 0..120),
        ) {
            let catalog = Catalog::embedded();
            let ids: Vec<_> = (0..catalog.len()).step_by(catalog.len() / 400 + 1)
                .map(|i| crate::catalog::ActionId(i as u32)).collect();
            let findings: Vec<Finding> = picks
                .iter()
                .map(|(p, a)| finding(*p, (*a % ids.len()) as u32))
                .collect();
            let principals = 7;
            let by = FindingLists::by_principal(&findings, principals);
            // Principal 7 is past the end: its findings are in no list.
            let mut plain = vec![Vec::new(); principals];
            for (i, f) in findings.iter().enumerate() {
                if let Some(list) = plain.get_mut(f.principal as usize) {
                    list.push(i as u32);
                }
            }
            for (p, want) in plain.iter().enumerate() {
                prop_assert_eq!(by.get(p), &want[..]);
            }
            prop_assert!(by.get(principals).is_empty());
            // A finding's list is its action's index in `ids`.
            let service_of =
                |i: u32| catalog.service_index(ids[findings[i as usize].list.0 as usize]);
            let with = ByService::new(by.clone(), service_of);
            for (p, want) in plain.iter().enumerate() {
                let mut sorted = want.clone();
                sorted.sort_by_key(|&i| (service_of(i), i));
                prop_assert_eq!(with.get(p), &sorted[..]);
                for svc in 0..catalog.service_count() as u32 {
                    let of: Vec<u32> =
                        sorted.iter().copied().filter(|&i| service_of(i) == svc).collect();
                    prop_assert_eq!(with.of_service(p, svc), &of[..]);
                }
            }
        }
    }
}
