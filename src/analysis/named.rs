//! The critical and high actions of a finding, named with why each is critical or high: a group
//! such as `apprunner:*` (42 actions, 1 critical) says which action that is and why
//! (`apprunner:CreateService: privilege_escalation (with iam:PassRole)`).

use std::collections::HashMap;

use super::groups::{GrantedAction, ListId};
use super::model::{Analysis, Finding};
use super::sensitivity::{ActionRisk, Combo, Sensitivity, category};
use crate::catalog::ActionId;

/// How many actions a finding's text names at most (the rest are counted).
pub const NAMED_AT_MOST: usize = 10;

/// One critical or high action of a finding, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
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
                .find(|a| risks[a.id.index()].combo == Combo::Consumer)
                .map(|a| a.id)
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
        let mut out: Vec<NamedAction> = self
            .actions(f)
            .iter()
            .filter(|a| a.sensitivity >= Sensitivity::High)
            .map(|a| self.name_action(f.principal, a))
            .collect();
        out.sort_by(|a, b| {
            b.sensitivity
                .cmp(&a.sensitivity)
                .then(a.action.cmp(&b.action))
        });
        out
    }

    /// The named actions as one bounded text (`;`-separated, at most [`NAMED_AT_MOST`], then
    /// `… and N more`); empty when the finding has none.
    pub fn named_actions_text(&self, f: &Finding) -> String {
        let named = self.named_actions(f);
        let mut text = named
            .iter()
            .take(NAMED_AT_MOST)
            .map(|n| format!("{}: {}", n.action, n.why))
            .collect::<Vec<_>>()
            .join("; ");
        if named.len() > NAMED_AT_MOST {
            text.push_str(&format!(
                "; … and {} more critical or high",
                named.len() - NAMED_AT_MOST
            ));
        }
        text
    }

    /// One granted action of principal `principal` (an index into `principals`), named with why.
    pub fn name_action(&self, principal: u32, a: &GrantedAction) -> NamedAction {
        NamedAction {
            action: self.catalog.full_name(a.id),
            sensitivity: a.sensitivity,
            why: self.why(principal, a.id, a.categories),
        }
    }

    fn why(&self, principal: u32, a: ActionId, categories: u8) -> String {
        let mut why = category::names(categories).join(", ");
        let risk = self.risks.get(a.index());
        let escalates_alone =
            risk.is_some_and(|r| r.categories & category::PRIVILEGE_ESCALATION != 0);
        if categories & category::PRIVILEGE_ESCALATION != 0 && !escalates_alone {
            let partner = match risk.map(|r| r.combo) {
                Some(Combo::Consumer) => Some("iam:PassRole".to_string()),
                Some(Combo::PassRole) => self
                    .passrole_partners
                    .get(principal as usize)
                    .copied()
                    .flatten()
                    .map(|c| self.catalog.full_name(c)),
                _ => None,
            };
            if let Some(p) = partner {
                why = why.replacen(
                    "privilege_escalation",
                    &format!("privilege_escalation (with {p})"),
                    1,
                );
            }
        }
        if risk.is_some_and(|r| r.combo == Combo::PassRole)
            && categories & category::PRIVILEGE_ESCALATION == 0
        {
            // iam:PassRole without an action that runs code under a passed role.
            why = "passes roles to AWS services (critical with an action that runs code under a passed role)".into();
        }
        why
    }
}
