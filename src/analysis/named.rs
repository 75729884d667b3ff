//! The critical and high actions of a finding, named with why each is critical or high: a group
//! such as `apprunner:*` (42 actions, 1 critical) says which action that is and why
//! (`apprunner:CreateService: privilege_escalation (with iam:PassRole)`).

use std::collections::HashMap;
use std::fmt::Write as _;

use super::groups::{GrantedAction, ListId};
use super::model::{Analysis, Finding};
use super::sensitivity::{ActionRisk, Combo, Sensitivity, category};
use crate::catalog::{ActionId, ActionSet};

/// How many actions a finding's text names at most (the rest are counted).
pub const NAMED_AT_MOST: usize = 10;

/// One critical or high action of a finding, and why.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct NamedAction {
    /// `service:Action`.
    pub action: String,
    pub sensitivity: Sensitivity,
    /// The risk categories, `, `-separated, and for the iam:PassRole combination the action
    /// it combines with: `privilege_escalation (with iam:PassRole)`.
    pub why: String,
}

/// Per principal, the first action it is granted that runs code under a passed role (what
/// makes its iam:PassRole critical). Computed once per analysis.
pub(super) fn passrole_partners(
    findings: &[Finding],
    principals: usize,
    lists: &super::ActionLists,
    risks: &[ActionRisk],
) -> Vec<Option<ActionId>> {
    let mut per_list: HashMap<ListId, Option<ActionId>> = HashMap::new();
    let mut partners = vec![None; principals];
    for f in findings {
        let first = *per_list.entry(f.list).or_insert_with(|| {
            lists
                .get(f.list)
                .actions
                .iter()
                .find(|a| risks[a.id().index()].combo == Combo::Consumer)
                .map(|a| a.id())
        });
        if let Some(a) = first {
            let slot = &mut partners[f.principal as usize];
            *slot = Some(slot.map_or(a, |b: ActionId| b.min(a)));
        }
    }
    partners
}

impl Analysis<'_> {
    /// Every critical and high action of the finding, most sensitive first, then by name.
    pub fn named_actions(&self, f: &Finding) -> Vec<NamedAction> {
        self.top_named(f.principal, self.actions(f), usize::MAX).0
    }

    /// The first `at_most` critical and high actions among `actions` of principal `principal`
    /// (an index into `principals`), most sensitive first, then by name, each named with why;
    /// and how many critical and high actions there are in all. Only those returned are named:
    /// a group such as `ec2:*` holds hundreds, and every finding's row names its first ten.
    pub fn top_named<'x>(
        &self,
        principal: u32,
        actions: impl IntoIterator<Item = &'x GrantedAction>,
        at_most: usize,
    ) -> (Vec<NamedAction>, usize) {
        let (risky, total) = self.top_risky(actions, at_most);
        let named = risky
            .iter()
            .map(|a| self.name_action(principal, a))
            .collect();
        (named, total)
    }

    /// [`Analysis::top_named`] without the names: the first `at_most` critical and high actions
    /// among `actions`, in that order, and how many there are in all.
    pub fn top_risky<'x>(
        &self,
        actions: impl IntoIterator<Item = &'x GrantedAction>,
        at_most: usize,
    ) -> (Vec<GrantedAction>, usize) {
        let mut risky: Vec<GrantedAction> = actions
            .into_iter()
            .filter(|a| a.sensitivity() >= Sensitivity::High)
            .copied()
            .collect();
        let total = risky.len();
        let order = |a: &GrantedAction, b: &GrantedAction| {
            b.sensitivity()
                .cmp(&a.sensitivity())
                .then_with(|| self.catalog.cmp_full_names(a.id(), b.id()))
        };
        if at_most == 0 {
            risky.clear();
        } else if risky.len() > at_most {
            risky.select_nth_unstable_by(at_most - 1, order);
            risky.truncate(at_most);
        }
        risky.sort_unstable_by(order);
        risky.shrink_to_fit();
        (risky, total)
    }

    /// The principal's granted actions with their sensitivity (from its findings), sorted by id;
    /// of an action in two findings, the later finding's.
    pub fn granted_actions(&self, principal: usize) -> GrantedActions {
        let mut all: Vec<GrantedAction> = self
            .findings_of(principal)
            .flat_map(|f| self.actions(f).iter().copied())
            .collect();
        all.sort_by_key(|a| a.id());
        all.reverse();
        all.dedup_by_key(|a| a.id());
        all.reverse();
        GrantedActions(all)
    }

    /// The named actions as one bounded text (`;`-separated, at most [`NAMED_AT_MOST`], then
    /// `… and N more`); empty when the finding has none.
    pub fn named_actions_text(&self, f: &Finding) -> String {
        let (risky, total) = self.top_risky(self.actions(f), NAMED_AT_MOST);
        let mut text = String::new();
        for (k, a) in risky.iter().enumerate() {
            // Writing into a String cannot fail.
            let _ = write!(
                text,
                "{}{}: ",
                if k == 0 { "" } else { "; " },
                self.catalog.display_name(a.id())
            );
            self.write_why(f.principal, a.id(), a.categories(), &mut text);
        }
        if total > risky.len() {
            let _ = write!(
                text,
                "; … and {} more critical or high",
                total - risky.len()
            );
        }
        text
    }

    /// One granted action of principal `principal` (an index into `principals`), named with why.
    pub fn name_action(&self, principal: u32, a: &GrantedAction) -> NamedAction {
        NamedAction {
            action: self.catalog.full_name(a.id()),
            sensitivity: a.sensitivity(),
            why: self.why(principal, a.id(), a.categories()),
        }
    }

    fn why(&self, principal: u32, a: ActionId, categories: u8) -> String {
        let mut why = String::new();
        self.write_why(principal, a, categories, &mut why);
        why
    }

    /// Appends why action `a` of principal `principal` is critical or high: its risk
    /// categories, `, `-separated, the iam:PassRole combination naming the action it combines
    /// with (`privilege_escalation (with iam:PassRole)`).
    fn write_why(&self, principal: u32, a: ActionId, categories: u8, out: &mut String) {
        let risk = self.risks.get(a.index());
        let combo = risk.map(|r| r.combo);
        if combo == Some(Combo::PassRole) && categories & category::PRIVILEGE_ESCALATION == 0 {
            // iam:PassRole without an action that runs code under a passed role.
            out.push_str("passes roles to AWS services (critical with an action that runs code under a passed role)");
            return;
        }
        let escalates_alone =
            risk.is_some_and(|r| r.categories & category::PRIVILEGE_ESCALATION != 0);
        let named = category::NAMES.iter().filter(|(b, _)| categories & b != 0);
        for (k, (bit, name)) in named.enumerate() {
            if k > 0 {
                out.push_str(", ");
            }
            out.push_str(name);
            if *bit != category::PRIVILEGE_ESCALATION || escalates_alone {
                continue;
            }
            match combo {
                Some(Combo::Consumer) => out.push_str(" (with iam:PassRole)"),
                Some(Combo::PassRole) => {
                    let partner = self.passrole_partners.get(principal as usize).copied();
                    if let Some(c) = partner.flatten() {
                        // Writing into a String cannot fail.
                        let _ = write!(out, " (with {})", self.catalog.display_name(c));
                    }
                }
                _ => {}
            }
        }
    }
}

/// A principal's granted actions, sorted by id ([`Analysis::granted_actions`]; a hash map of them
/// per plan was most of the decisions' time at 100,000 roles).
#[derive(Debug, Default)]
pub struct GrantedActions(Vec<GrantedAction>);

impl GrantedActions {
    pub fn get(&self, id: ActionId) -> Option<&GrantedAction> {
        self.0
            .binary_search_by_key(&id, |a| a.id())
            .ok()
            .map(|i| &self.0[i])
    }

    /// Calls `each` with every granted action in `set`, by id, without a list (a plan's outcome
    /// counts them and names only the critical and high ones): the set's members looked up
    /// when it is much smaller than the grants, else the grants tested against the set (a
    /// plan's lost actions of an administrator role are thousands: one search each was 3% of a
    /// report's CPU).
    pub fn for_each_in_set(&self, set: &ActionSet, mut each: impl FnMut(GrantedAction)) {
        let members = set.len();
        if members.saturating_mul(8) < self.0.len() {
            set.iter()
                .filter_map(|a| self.get(a).copied())
                .for_each(each);
        } else {
            for a in &self.0 {
                if set.contains(a.id()) {
                    each(*a);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Both ways of reading the grants in a set (the set's members looked up, or the
        /// grants tested) give exactly the grants whose action is in the set, by id.
        #[test]
        fn for_each_in_set_walks_the_grants_in_the_set(
            granted in proptest::collection::btree_set(0u32..3000, 0..300),
            set in proptest::collection::btree_set(0u32..3000, 0..300),
        ) {
            let grants = GrantedActions(
                granted
                    .iter()
                    .map(|&i| {
                        let s = Sensitivity::from_u8((i % 4) as u8);
                        GrantedAction::new(ActionId(i), s, (i % 32) as u8)
                    })
                    .collect(),
            );
            let members = ActionSet::from_ids(3000, set.iter().map(|&i| ActionId(i)));
            let want: Vec<GrantedAction> =
                grants.0.iter().filter(|a| set.contains(&a.id().0)).copied().collect();
            let mut walked = Vec::new();
            grants.for_each_in_set(&members, |a| walked.push(a));
            prop_assert_eq!(&walked, &want);
            let looked_up: Vec<GrantedAction> =
                members.iter().filter_map(|a| grants.get(a).copied()).collect();
            prop_assert_eq!(&looked_up, &want);
        }
    }
}
