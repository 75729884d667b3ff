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

use super::{Apply, PolicyPlan};

/// Whether the apply detaches the policy for good (it grants nothing the principal keeps).
fn goes(p: &PolicyPlan) -> bool {
    matches!(p.apply, Apply::Detach | Apply::MergeIntoInline)
}

/// The policies of a plan in the order its apply handles them: those that go first (each frees
/// a slot of the quota), then the others in the plan's order. The rollback undoes them in the
/// reverse order.
pub(super) fn apply_order(policies: &[PolicyPlan]) -> impl Iterator<Item = &PolicyPlan> {
    let rest = policies.iter().filter(|p| !goes(p));
    policies.iter().filter(|p| goes(p)).chain(rest)
}
