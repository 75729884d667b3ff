//! IAM's quota of managed policies attached to one role, user or group (10 by default, adjustable
//! in Service Quotas): the order a folder's commands run in, so that they never need more
//! attached policies at once than they must.
//!
//! Counted per principal, a replaced policy is `+1` (its copy attached) then `-1` (the original
//! detached), a policy that goes is `-1`, and nothing else changes the count. With the policies
//! that go detached first, the most the apply holds at once is the count before it when at least
//! one goes, else that count plus one (briefly, once per replacement, never more). The rollback
//! is the apply undone in reverse: each copy swapped back for its original (`+1`, `-1`), then the
//! policies that went attached again, so it holds no more than the apply did.
//!
//! Neither order ever leaves the principal with less than the change keeps: a policy is always
//! attached as its original, its copy, or both, until it is detached for good (it grants nothing
//! the change keeps), and each copy grants a subset of its original with the same Deny statements
//! (`verify`), so every state in between grants at least what the end state does.

use std::collections::BTreeSet;

use super::{Apply, PolicyPlan, PrincipalPlan};
use crate::model::Export;

/// Whether the apply detaches the policy for good (it grants nothing the principal keeps, or
/// what it keeps is merged into the inline policy).
pub(super) fn goes(p: &PolicyPlan) -> bool {
    matches!(p.apply, Apply::Detach | Apply::MergeIntoInline)
}

/// The policies of a plan in the order its apply handles them: those that go first (each frees
/// a slot of the quota), then the others in the plan's order. The rollback undoes them in the
/// reverse order.
pub(super) fn apply_order(policies: &[PolicyPlan]) -> impl Iterator<Item = &PolicyPlan> {
    let rest = policies.iter().filter(|p| !goes(p));
    policies.iter().filter(|p| goes(p)).chain(rest)
}

/// IAM's default quota of managed policies attached to one role, user or group.
pub const DEFAULT_ATTACHED: usize = 10;

/// Flags every plan whose apply, in the best order, still needs one managed policy more than
/// IAM's default quota leaves room for: its principal has [`DEFAULT_ATTACHED`] or more attached
/// (the export's `AttachedManagedPolicies`: a user's group policies count to its groups, not to
/// it), the plan replaces one and detaches none. Run once the managed policies are decided.
pub(super) fn flag_quota(plans: &mut [PrincipalPlan], exports: &[Export]) {
    let export_of = super::plan::export_index(exports);
    for plan in plans.iter_mut() {
        // A permission set's apply only detaches (`set_folder::commands`).
        if plan.permission_set.is_some() || plan.skipped.is_some() {
            continue;
        }
        let principal = export_of
            .get(&*plan.account_id)
            .and_then(|&i| exports[i].principal(plan.kind, &plan.name));
        let Some(principal) = principal else {
            continue;
        };
        let attached: BTreeSet<&str> = principal
            .attached_policies
            .iter()
            .map(String::as_str)
            .collect();
        if let Some(note) = quota_note(plan, attached.len()) {
            plan.flag(note);
        }
    }
}

/// [`flag_quota`]'s words for a plan whose principal has `attached` managed policies.
fn quota_note(plan: &PrincipalPlan, attached: usize) -> Option<String> {
    if attached < DEFAULT_ATTACHED || plan.policies.iter().any(goes) {
        return None;
    }
    let first = apply_order(&plan.policies).find(|p| matches!(p.apply, Apply::Replace(_)))?;
    let (kind, t) = (plan.kind.noun(), plan.kind.as_str());
    Some(format!(
        "{attached} managed policies are attached to this {kind} and the apply detaches none \
         first, so attaching the copy of {} (attach-{t}-policy) makes {}, over IAM's default quota \
         of {DEFAULT_ATTACHED} per {kind}: unless this account's quota is at least that, the \
         apply stops there with LimitExceeded, and the rollback's attach of an original while its \
         copy is attached fails the same way. Before applying, raise the quota (Service Quotas, \
         IAM: Managed policies attached to an IAM {kind}) or detach one of its managed policies \
         first (one whose permissions its other policies also grant, or merge two into one), \
         then fetch and report again",
        first.policy.name,
        attached + 1,
    ))
}
