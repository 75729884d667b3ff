//! Verifying a plan: the principal's effective grants recomputed with the tightened documents in
//! place of its own changed policies, on the export as it is.

use super::{PolicyPlan, PrincipalPlan};
use crate::catalog::ActionSet;
use crate::model::document::{Effect, Statement};
use crate::model::{Export, Principal, PrincipalType};
use crate::policy::patterns::clause_within_expanded;
use crate::policy::{
    Expander, GrantCache, PolicyChanges, PolicyDocument, PolicyKind, PolicyRef,
    principal_grants_changed,
};

/// The users of `export` that are members of `group`.
pub fn group_members<'e>(export: &'e Export, group: &str) -> Vec<&'e Principal> {
    export.group_members(group).collect()
}

/// `document` ([`document_of`] the principal's `policy`) for a plan to keep: a managed policy's
/// shared with the export (an AWS managed one with every export that holds it), an inline
/// policy's copied.
pub(super) fn original_of(
    export: &Export,
    policy: &PolicyRef,
    document: &PolicyDocument,
) -> std::sync::Arc<PolicyDocument> {
    let managed = match policy.kind {
        PolicyKind::Inline => None,
        _ => policy.arn.as_ref().and_then(|arn| export.policies.get(arn)),
    };
    match managed {
        Some(m) => std::sync::Arc::clone(&m.document),
        None => std::sync::Arc::new(document.clone()),
    }
}

/// The document of a policy the principal holds directly.
pub(super) fn document_of<'e>(
    export: &'e Export,
    principal: &'e Principal,
    policy: &PolicyRef,
) -> Option<&'e PolicyDocument> {
    match policy.kind {
        PolicyKind::Inline => principal
            .inline_policies
            .iter()
            .find(|p| p.name == policy.name)
            .map(|p| &p.document),
        _ => policy
            .arn
            .as_ref()
            .and_then(|arn| export.policies.get(arn))
            .map(|m| &*m.document),
    }
}

/// A copy of `export` in which `principal`'s policies are replaced by their tightened versions
/// (an emptied inline policy is deleted, an emptied managed policy detached; a managed policy's
/// new document is substituted under its own ARN, which is equivalent for this principal).
/// [`verify`] computes the same grants without the copy; tests compare the two.
pub fn substitute(
    export: &Export,
    kind: PrincipalType,
    name: &str,
    plans: &[PolicyPlan],
) -> Export {
    let mut ex = export.clone();
    let Some(p) = ex
        .principals
        .iter_mut()
        .find(|p| p.kind == kind && p.name == name)
    else {
        return ex;
    };
    for plan in plans {
        match plan.policy.kind {
            PolicyKind::Inline => {
                if plan.tightened.empty {
                    p.inline_policies.retain(|i| i.name != plan.policy.name);
                } else if let Some(i) = p
                    .inline_policies
                    .iter_mut()
                    .find(|i| i.name == plan.policy.name)
                {
                    i.document = plan.new_document().clone();
                }
            }
            _ => {
                let Some(arn) = &plan.policy.arn else {
                    continue;
                };
                if plan.tightened.empty {
                    p.attached_policies.retain(|a| a != arn);
                } else {
                    // A per-principal copy under a private ARN, so no other principal changes.
                    let private = format!("{arn}#iam-tighten/{}", plan.stem);
                    for a in &mut p.attached_policies {
                        if a == arn {
                            a.clone_from(&private);
                        }
                    }
                    if let Some(m) = ex.policies.get(arn) {
                        let m = m.with_document(private.clone(), plan.new_document().clone());
                        ex.policies.insert(private, std::sync::Arc::new(m));
                    }
                }
            }
        }
    }
    ex
}

/// Checks the safety properties of a principal's plan against the export; returns the problems
/// (empty when safe) and the principal's effective grants after the change.
pub fn verify(
    export: &Export,
    plan: &PrincipalPlan,
    expander: &mut Expander<'_>,
) -> (Vec<String>, ActionSet) {
    verify_cached(export, plan, expander, &mut GrantCache::new())
}

/// [`verify`] with the thread's grant cache (the expansions of the policies the plan leaves
/// unchanged are the ones planning used).
pub(super) fn verify_cached<'e>(
    export: &'e Export,
    plan: &PrincipalPlan,
    expander: &mut Expander<'_>,
    cache: &mut GrantCache<'e>,
) -> (Vec<String>, ActionSet) {
    let mut problems = Vec::new();
    let catalog = expander.catalog();
    for p in &plan.policies {
        let partition = Some(export.partition.as_str());
        let old = expander.document_in(p.original(), partition);
        let new = expander.document_in(p.new_document(), partition);
        if !new.allowed.is_subset(&old.allowed) {
            problems.push(format!(
                "{}: the tightened policy grants actions the original does not",
                p.policy.name
            ));
        }
        if old.denied != new.denied
            || deny_statements(&p.original().raw.value())
                != deny_statements(&p.new_document().raw.value())
        {
            problems.push(format!("{}: Deny statements changed", p.policy.name));
        }
        let mut still = new.allowed.clone();
        still.intersect_with(&p.tightened.parts.removed);
        if let Some(a) = still.iter().next() {
            problems.push(format!(
                "{}: the tightened policy still grants {} action(s) it is counted as removing, e.g. {}",
                p.policy.name,
                still.len(),
                catalog.full_name(a)
            ));
        }
        for s in &p.new_document().statements {
            let mut same = p.original().statements.iter().filter(|o| {
                o.sid == s.sid
                    && o.effect == s.effect
                    && o.resources == s.resources
                    && o.condition == s.condition
            });
            let Some(first) = same.next() else {
                problems.push(format!(
                    "{}: statement {} lost its Sid, Resource or Condition",
                    p.policy.name,
                    s.label()
                ));
                continue;
            };
            if grants_beyond(s, std::iter::once(first).chain(same), expander) {
                problems.push(format!(
                    "{}: statement {} may grant actions the catalog does not know that the original did not",
                    p.policy.name,
                    s.label()
                ));
            }
        }
    }
    // The principal's grants recomputed from the export with the new documents in place: what
    // `substitute` would give, without copying the principal or its policies.
    let after = match export.principal(plan.kind, &plan.name) {
        Some(p) => {
            principal_grants_changed(p, export, expander, cache, &changes_of(&plan.policies))
                .effective
        }
        None => catalog.empty_set(),
    };
    let mut lost = plan.sets.needed.clone();
    lost.difference_with(&after);
    if !lost.is_empty() {
        problems.push(format!(
            "{} needed action(s) would no longer be granted, e.g. {}",
            lost.len(),
            lost.iter()
                .next()
                .map(|a| catalog.full_name(a))
                .unwrap_or_default()
        ));
    }
    if !after.is_subset(&plan.sets.before) {
        problems.push("the principal would be granted actions it does not hold today".into());
    }
    (problems, after)
}

/// Whether Allow statement `s` may grant, beyond the catalog, what none of `originals` (those
/// it was made from, of its Resource and Condition) did: `ec2:*` in place of a `NotAction` of
/// `ec2:ZapShiny*` grants what the catalog does not know and the original did not (review pass
/// 47). A statement as written grants what it did.
pub(super) fn grants_beyond<'o>(
    s: &Statement,
    mut originals: impl Iterator<Item = &'o Statement>,
    expander: &mut Expander<'_>,
) -> bool {
    s.effect == Effect::Allow
        && !originals.any(|o| o == s || clause_within_expanded(&s.actions, &o.actions, expander))
}

/// What `plans` change in their principal's own policies, as [`substitute`] applies them.
fn changes_of(plans: &[PolicyPlan]) -> PolicyChanges<'_> {
    let mut changes = PolicyChanges::default();
    for plan in plans {
        let document = (!plan.tightened.empty).then(|| plan.new_document());
        match plan.policy.kind {
            PolicyKind::Inline => changes.inline.push((plan.policy.name.as_str(), document)),
            _ => {
                if let Some(arn) = &plan.policy.arn {
                    changes.attached.push((arn.as_str(), document));
                }
            }
        }
    }
    changes
}

/// The document's Deny statements as written (borrowed: compared, never kept).
pub(super) fn deny_statements(raw: &serde_json::Value) -> Vec<&serde_json::Value> {
    let list = match raw.get("Statement") {
        Some(serde_json::Value::Array(a)) => a.as_slice(),
        Some(v) => std::slice::from_ref(v),
        None => &[],
    };
    list.iter()
        .filter(|s| s.get("Effect").and_then(|e| e.as_str()) == Some("Deny"))
        .collect()
}
