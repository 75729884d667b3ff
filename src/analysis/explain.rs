//! A finding's actions in words a reviewer reads without a manual, relative to what the principal
//! is granted in the service: "all 135 lambda actions granted", "822 of the 826 ec2 actions
//! granted; the other 4 are in rows of their own: ec2:RunInstances (unused), …". The `action`
//! column keeps the exact notation `iam-tighten expand` reads back.

use super::model::{Analysis, Finding};
use crate::catalog::ActionId;

/// How many of the principal's other actions of the service a summary names, at most.
pub const SIBLINGS_AT_MOST: usize = 8;
/// How many of the finding's own patterns a summary shows before `…`.
pub const PATTERNS_AT_MOST: usize = 6;

/// Another action of the same principal and service that is not in the finding: where it went.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Sibling {
    pub action: String,
    /// The verdict of the row it is in (`used`, `unused`, `unknown`).
    pub status: &'static str,
    /// That row's rank.
    pub rank: u32,
}

/// A finding's actions relative to the principal's grants in the service.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ActionSummary {
    /// One sentence (bounded): see the module docs.
    pub text: String,
    /// The principal's other granted actions of the service, with the row each is in, when
    /// there are at most [`SIBLINGS_AT_MOST`] of them (else empty: `others` counts them).
    pub siblings: Vec<Sibling>,
    /// How many granted actions of the service are in other rows.
    pub others: usize,
}

impl Analysis<'_> {
    /// The principal's other findings of the finding's service (those of another action list),
    /// in the analysis order, and how many actions they hold.
    fn other_findings<'f>(&'f self, f: &'f Finding) -> (impl Iterator<Item = &'f Finding>, usize) {
        let service = self.catalog.service_index(f.action);
        let list = self
            .by_principal_service
            .get(f.principal as usize)
            .map_or(&[][..], Vec::as_slice);
        let service_of = |i: &u32| {
            self.catalog
                .service_index(self.findings[*i as usize].action)
        };
        let range = list.partition_point(|i| service_of(i) < service)
            ..list.partition_point(|i| service_of(i) <= service);
        let others = move || {
            list[range.clone()]
                .iter()
                .map(|i| &self.findings[*i as usize])
                .filter(move |g| g.list != f.list)
        };
        let count = others().map(|g| self.actions(g).len()).sum();
        (others(), count)
    }

    /// The actions of [`Analysis::other_findings`], by action id, with the finding each is in.
    fn other_granted<'f>(
        &'f self,
        others: impl Iterator<Item = &'f Finding>,
    ) -> Vec<(ActionId, &'f Finding)> {
        let mut out: Vec<(ActionId, &Finding)> = others
            .flat_map(|g| self.actions(g).iter().map(move |a| (a.id, g)))
            .collect();
        out.sort_by_key(|(a, _)| *a);
        out
    }

    /// See [`ActionSummary`].
    pub fn action_summary(&self, f: &Finding) -> ActionSummary {
        let service = &*self.catalog.action(f.action).service;
        // Only a short list of the other actions is named: the others are counted, not listed.
        let (other_findings, other_count) = self.other_findings(f);
        let others = if other_count <= SIBLINGS_AT_MOST {
            self.other_granted(other_findings)
        } else {
            Vec::new()
        };
        let granted = f.count as usize + other_count;
        let n = f.count as usize;
        let noun = |k: usize| if k == 1 { "action" } else { "actions" };
        let text = if other_count == 0 {
            if n == 1 {
                format!(
                    "{} (the only {service} action granted)",
                    self.action_text(f)
                )
            } else {
                format!("all {n} {service} {} granted", noun(n))
            }
        } else if other_count <= SIBLINGS_AT_MOST {
            format!(
                "{n} of the {granted} {service} actions granted; the other {} in rows of their own",
                if other_count == 1 {
                    "1 is".to_string()
                } else {
                    format!("{} are", other_count)
                }
            )
        } else {
            let patterns: Vec<&str> = self.action_text(f).split(' ').collect();
            let shown = patterns
                .iter()
                .take_while(|p| **p != crate::policy::notation::EXCEPT)
                .take(PATTERNS_AT_MOST)
                .copied()
                .collect::<Vec<_>>()
                .join(" ");
            let more = if patterns.len() > PATTERNS_AT_MOST || patterns.contains(&"except") {
                " …"
            } else {
                ""
            };
            format!("{n} of the {granted} {service} actions granted: {shown}{more}")
        };
        let siblings = if other_count <= SIBLINGS_AT_MOST {
            others
                .iter()
                .map(|(a, g)| Sibling {
                    action: self.catalog.full_name(*a),
                    status: g.status.as_str(),
                    rank: g.rank,
                })
                .collect()
        } else {
            Vec::new()
        };
        ActionSummary {
            text,
            siblings,
            others: other_count,
        }
    }

    /// [`ActionSummary`] as one line: the sentence, then each sibling with its verdict.
    pub fn action_summary_text(&self, f: &Finding) -> String {
        let s = self.action_summary(f);
        if s.siblings.is_empty() {
            return s.text;
        }
        let list = s
            .siblings
            .iter()
            .map(|x| format!("{} ({}, rank {})", x.action, x.status, x.rank))
            .collect::<Vec<_>>()
            .join(", ");
        format!("{}: {list}", s.text)
    }
}
