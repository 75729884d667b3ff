//! A finding's actions in words a reviewer reads without a manual, relative to what the principal
//! is granted in the service: "all 135 lambda actions granted", "822 of the 826 ec2 actions
//! granted; the other 4 are in rows of their own: ec2:RunInstances (unused), …". The `action`
//! column keeps the exact notation `iam-tighten expand` reads back.

use std::fmt::Write as _;

use super::model::{Analysis, Finding};
use crate::catalog::ActionId;

/// How many of the principal's other actions of the service a summary names, at most.
pub const SIBLINGS_AT_MOST: usize = 8;
/// How many of the finding's own patterns a summary shows before `…`.
pub const PATTERNS_AT_MOST: usize = 6;

/// An action with the finding it is in and that finding's rank.
type Placed<'f> = (ActionId, (u32, &'f Finding));

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
    /// in the analysis order, each with its rank, and how many actions they hold.
    fn other_findings<'f>(
        &'f self,
        f: &'f Finding,
    ) -> (impl Iterator<Item = (u32, &'f Finding)>, usize) {
        let list = self
            .by_principal_service
            .of_service(f.principal as usize, self.service_of(f));
        let others = move || {
            list.iter()
                .map(|i| (Analysis::rank(*i as usize), &self.findings[*i as usize]))
                .filter(move |(_, g)| g.list != f.list)
        };
        let count = others().map(|(_, g)| self.actions(g).len()).sum();
        (others(), count)
    }

    /// The actions of [`Analysis::other_findings`], by action id, with the finding each is in
    /// and its rank.
    fn other_granted<'f>(
        &'f self,
        others: impl Iterator<Item = (u32, &'f Finding)>,
    ) -> Vec<Placed<'f>> {
        let mut out: Vec<Placed<'f>> = others
            .flat_map(|(rank, g)| self.actions(g).iter().map(move |a| (a.id(), (rank, g))))
            .collect();
        out.sort_by_key(|(a, _)| *a);
        out
    }

    /// What a summary is made of: the principal's other actions of the service (when at most
    /// [`SIBLINGS_AT_MOST`], by action id, with the finding each is in) and how many there are.
    fn summary_parts<'f>(&'f self, f: &'f Finding) -> (Vec<Placed<'f>>, usize) {
        // Only a short list of the other actions is named: the others are counted, not listed.
        let (other_findings, other_count) = self.other_findings(f);
        let others = if other_count <= SIBLINGS_AT_MOST {
            self.other_granted(other_findings)
        } else {
            Vec::new()
        };
        (others, other_count)
    }

    /// Appends the summary's sentence ([`ActionSummary::text`]) to `out`.
    fn write_summary_sentence(&self, f: &Finding, other_count: usize, out: &mut String) {
        let service = self.service_name(f);
        let n = self.actions(f).len();
        let granted = n + other_count;
        let noun = |k: usize| if k == 1 { "action" } else { "actions" };
        // Writing into a String cannot fail.
        if other_count == 0 {
            let _ = if n == 1 {
                write!(
                    out,
                    "{} (the only {service} action granted)",
                    self.action_text(f)
                )
            } else {
                write!(out, "all {n} {service} {} granted", noun(n))
            };
        } else if other_count <= SIBLINGS_AT_MOST {
            let verb = if other_count == 1 { "is" } else { "are" };
            let _ = write!(
                out,
                "{n} of the {granted} {service} actions granted; the other {other_count} {verb} in \
                 rows of their own"
            );
        } else {
            let text = self.action_text(f);
            let patterns: Vec<&str> = text.split(' ').collect();
            let _ = write!(out, "{n} of the {granted} {service} actions granted: ");
            let shown = patterns
                .iter()
                .take_while(|p| **p != crate::policy::notation::EXCEPT)
                .take(PATTERNS_AT_MOST);
            for (k, p) in shown.enumerate() {
                if k > 0 {
                    out.push(' ');
                }
                out.push_str(p);
            }
            if patterns.len() > PATTERNS_AT_MOST || patterns.contains(&"except") {
                out.push_str(" …");
            }
        }
    }

    /// See [`ActionSummary`].
    pub fn action_summary(&self, f: &Finding) -> ActionSummary {
        let (others, other_count) = self.summary_parts(f);
        let mut text = String::new();
        self.write_summary_sentence(f, other_count, &mut text);
        let siblings = others
            .iter()
            .map(|(a, (rank, g))| Sibling {
                action: self.catalog.full_name(*a),
                status: g.status().as_str(),
                rank: *rank,
            })
            .collect();
        ActionSummary {
            text,
            siblings,
            others: other_count,
        }
    }

    /// [`ActionSummary`] as one line: the sentence, then each sibling with its verdict (written
    /// straight into one string: the findings files write it for every row).
    pub fn action_summary_text(&self, f: &Finding) -> String {
        let (others, other_count) = self.summary_parts(f);
        let mut out = String::with_capacity(96);
        self.write_summary_sentence(f, other_count, &mut out);
        for (k, (a, (rank, g))) in others.iter().enumerate() {
            let _ = write!(
                out,
                "{}{} ({}, rank {})",
                if k == 0 { ": " } else { ", " },
                self.catalog.display_name(*a),
                g.status().as_str(),
                rank
            );
        }
        out
    }
}
