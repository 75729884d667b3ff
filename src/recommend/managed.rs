//! Deciding across principals how each managed policy change is applied.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{Apply, Flag, PrincipalPlan};
use crate::model::{Export, Principal, PrincipalType};
use crate::policy::PolicyKind;

/// Chooses how each managed policy change is applied, looking across principals: a
/// customer-managed policy gets a new default version only when every principal it is attached
/// to would get the same document; otherwise, and for AWS managed policies, the principal gets its
/// own replacement policy.
pub(super) fn decide_managed(
    plans: &mut [PrincipalPlan],
    exports: &[Export],
    analysis: &crate::analysis::Analysis<'_>,
) {
    let docs = tightened_documents(plans, analysis);
    let uses = uses_per_account(exports);
    let export_of = super::plan::export_index(exports);
    for plan in plans.iter_mut() {
        // A permission set's managed policies are detached, never copied (permission_set.rs).
        if plan.permission_set.is_some() {
            continue;
        }
        let Some(export) = export_of.get(&*plan.account_id).map(|&i| &exports[i]) else {
            continue;
        };
        let Some((attached_to, boundaries)) = uses.get(&*plan.account_id) else {
            continue;
        };
        let mut notes = Vec::new();
        for (i, p) in plan.policies.iter_mut().enumerate() {
            if p.policy.kind == PolicyKind::Inline || p.tightened.empty {
                continue;
            }
            let Some(arn) = p.policy.arn.clone() else {
                continue;
            };
            let managed = export.policies.get(&arn);
            let agreed = p.policy.kind == PolicyKind::CustomerManaged
                && {
                    let attached: &[&Principal] =
                        attached_to.get(arn.as_str()).map_or(&[], Vec::as_slice);
                    // A boundary of a principal the export leaves out (`--filter`) counts too:
                    // a new version would narrow that principal's permissions, unseen.
                    let boundary_use = boundaries.contains(arn.as_str())
                        || managed.is_some_and(|m| m.is_a_boundary());
                    let count_ok = managed
                        .and_then(|m| m.attachment_count)
                        .is_none_or(|n| n as usize == attached.len());
                    let same = docs
                        .get(&(plan.account_id.clone(), arn.clone()))
                        .and_then(|by_doc| by_doc.get(&p.tightened_digest.get()))
                        .is_some_and(|who| {
                            attached
                                .iter()
                                .all(|x| who.contains(&(x.kind, x.name.clone())))
                        });
                    if attached.len() > 1 && same && !boundary_use && count_ok {
                        notes.push(Flag::from(format!(
                        "{}: attached to {} principals, and every one of them gets the same tightened document, so the policy itself gets a new version",
                        p.policy.name,
                        attached.len()
                    )));
                    }
                    !boundary_use && count_ok && same
                };
            p.apply = if agreed {
                Apply::NewVersion {
                    previous_default: managed
                        .and_then(|m| m.default_version_id.as_deref())
                        .map(Into::into),
                }
            } else {
                let r = super::Replacement::of(
                    &p.policy.name,
                    &plan.name,
                    &plan.partition,
                    &plan.account_id,
                );
                if export.policies.contains_key(&r.new_arn) {
                    // A copy of an earlier run left behind, or a policy of that name: the apply's
                    // create-policy fails on it, and the rollback (detach and delete the copy)
                    // would take that policy away.
                    notes.push(Flag::from(format!(
                        "{}: the account already has a policy named {} (the name of this principal's copy): \
                         the apply's create-policy fails on it, and this folder's rollback would detach and \
                         delete that policy; do not run this folder: rename or delete that policy, fetch and \
                        report again",
                        p.policy.name, r.new_name
                    )));
                }
                if p.policy.kind == PolicyKind::CustomerManaged {
                    // Rendered when read, from the policy's name and the principal's.
                    match u32::try_from(i) {
                        Ok(i) => notes.push(Flag::OwnCopy(i)),
                        Err(_) => notes.push(Flag::from(super::own_copy_note(
                            &p.policy.name,
                            &r.new_name,
                        ))),
                    }
                }
                Apply::Replace(Box::new(r))
            };
        }
        plan.flags.extend(notes);
    }
}

/// (account, policy ARN) of a customer managed policy.
type Key = (std::sync::Arc<str>, String);
/// The principals (type, name) that would get one tightened document.
type Who = BTreeSet<(PrincipalType, String)>;

/// Per customer managed policy, per tightened document (the digest of its compact JSON), the
/// principals that would get it.
fn tightened_documents(
    plans: &[PrincipalPlan],
    analysis: &crate::analysis::Analysis<'_>,
) -> HashMap<Key, HashMap<[u8; 32], Who>> {
    let mut docs: HashMap<Key, HashMap<[u8; 32], Who>> = HashMap::new();
    for plan in plans {
        // Intentional access is confirmed, not changed: its decision is `confirm_intentional`, so
        // a new version would narrow it under a decision that names only the others. Left out
        // here, it never agrees, and the others get copies.
        let intentional = analysis
            .principals
            .get(plan.analysis_index)
            .is_some_and(|p| p.intentional.is_some());
        if plan.skipped.is_some() || intentional {
            continue;
        }
        for p in &plan.policies {
            if let (PolicyKind::CustomerManaged, Some(arn)) = (p.policy.kind, &p.policy.arn) {
                docs.entry((plan.account_id.clone(), arn.clone()))
                    .or_default()
                    .entry(p.tightened_digest.get())
                    .or_default()
                    .insert((plan.kind, plan.name.clone()));
            }
        }
    }
    docs
}

/// Who each managed policy is attached to, and which serve as a permissions boundary.
type Uses<'e> = (HashMap<&'e str, Vec<&'e Principal>>, BTreeSet<&'e str>);

/// [`Uses`] per account, from the export's principals.
fn uses_per_account(exports: &[Export]) -> BTreeMap<&str, Uses<'_>> {
    exports
        .iter()
        .map(|e| {
            let mut attached: HashMap<&str, Vec<&Principal>> = HashMap::new();
            let mut boundaries = BTreeSet::new();
            for x in &e.principals {
                for a in &x.attached_policies {
                    let v = attached.entry(a.as_str()).or_default();
                    if v.last().is_none_or(|l| !std::ptr::eq(*l, x)) {
                        v.push(x);
                    }
                }
                if let Some(b) = &x.permissions_boundary {
                    boundaries.insert(b.as_str());
                }
            }
            (e.account_id.as_str(), (attached, boundaries))
        })
        .collect()
}
