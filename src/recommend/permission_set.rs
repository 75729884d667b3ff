//! Planning an IAM Identity Center permission set: one change, made with `aws sso-admin` and
//! provisioned to every account at once, from the findings rolled up over its roles
//! (`analysis::organization`). The way an Identity Center administrator changes a set:
//!
//! - the inline policy is tightened like any inline policy;
//! - an AWS managed policy that grants actions to remove is detached, and the statements it
//!   keeps are merged into the inline policy: a set cannot hold its own copy of an AWS managed
//!   policy (a copy is a customer managed policy, which would have to exist in every account);
//! - customer managed policies are references by name to a policy of each account, and each
//!   account's copy may differ: never changed here, flagged when they grant actions to remove;
//! - the permissions boundary is never changed.
//!
//! The verification expands the set as its role holds it in the first provisioned account of
//! the exports (the new inline policy, the managed policies left, that account's customer
//! managed policies, the boundary).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::{Value, json};

use super::tighten::aws_order;
use super::{
    Apply, PermissionSetTarget, PolicyDocuments, PolicyPlan, PrincipalPlan, Tightened, aws_json,
    iam_size, limits, minimise, safe_file_name, tighten,
};
use crate::analysis::PrincipalInfo;
use crate::catalog::{ActionSet, Catalog};
use crate::model::organization::{Boundary, ManagedReference, Organization, PermissionSet};
use crate::model::{
    Export, IDENTITY_CENTER_PATH, InlinePolicy, ManagedPolicy, Principal, PrincipalType,
    version_number,
};
use crate::policy::{
    ActionClause, Effect, Expander, PolicyDocument, PolicyKind, PolicyRef, principal_grants,
};

/// The name Identity Center gives a permission set's inline policy on its roles.
pub const INLINE_NAME: &str = "AwsSSOInlinePolicy";
/// The inline policy's file stem in the set's folder (`inline-policy.json`).
pub const INLINE_STEM: &str = "inline-policy";

/// The documents a set's definition refers to, as found in the exports.
struct SetDocuments<'e> {
    /// The first provisioned account among the exports.
    reference: &'e Export,
    partition: String,
    /// AWS managed policies in the set's order, with their document when an export has it.
    aws: Vec<(&'e ManagedReference, Option<&'e Arc<ManagedPolicy>>)>,
    /// Customer managed policies: their ARN in the reference account and document there.
    customer: Vec<(String, Option<&'e Arc<ManagedPolicy>>)>,
    /// The boundary's ARN (in the reference account for a customer managed one) and document.
    boundary: Option<(String, Option<&'e Arc<ManagedPolicy>>)>,
}

fn customer_arn(partition: &str, account: &str, path: &str, name: &str) -> String {
    let path = if path.is_empty() { "/" } else { path };
    format!("arn:{partition}:iam::{account}:policy{path}{name}")
}

/// The set's documents, or `None` when no provisioned account is among the exports.
fn documents<'e>(ps: &'e PermissionSet, exports: &'e [Export]) -> Option<SetDocuments<'e>> {
    let reference = ps
        .accounts
        .iter()
        .find_map(|a| exports.iter().find(|e| e.account_id == *a))?;
    let partition = ps
        .arn
        .split(':')
        .nth(1)
        .filter(|p| !p.is_empty())
        .unwrap_or(&reference.partition)
        .to_string();
    // An AWS managed policy has one current version, which every account's role holds; exports
    // fetched at other times may hold older ones: the newest default version of any export (the
    // reference account's on a tie). An older one's statements, merged into the set's inline
    // policy, dropped what a newer version grants and another account's role used (review pass
    // 47).
    let any = |arn: &str| {
        let newest = |m: &&'e Arc<ManagedPolicy>| {
            let number = m.default_version_id.as_deref().and_then(version_number);
            (number, m.default_created, m.update_date)
        };
        let mut best = reference.policies.get(arn);
        for m in exports.iter().filter_map(|e| e.policies.get(arn)) {
            if best.is_none_or(|b| newest(&m) > newest(&b)) {
                best = Some(m);
            }
        }
        best
    };
    let aws = ps
        .managed_policies
        .iter()
        .map(|m| (m, any(&m.arn)))
        .collect();
    let customer = ps
        .customer_managed_policies
        .iter()
        .map(|r| {
            let arn = customer_arn(&partition, &reference.account_id, &r.path, &r.name);
            let doc = reference.policies.get(&arn);
            (arn, doc)
        })
        .collect();
    let boundary = ps.boundary.as_ref().map(|b| match b {
        Boundary::AwsManaged(arn) => (arn.clone(), any(arn)),
        Boundary::CustomerManaged(r) => {
            let arn = customer_arn(&partition, &reference.account_id, &r.path, &r.name);
            let doc = reference.policies.get(&arn);
            (arn, doc)
        }
    });
    Some(SetDocuments {
        reference,
        partition,
        aws,
        customer,
        boundary,
    })
}

/// The effective grants of the set's role with `inline` as its inline policy and the AWS
/// managed policies of `detached` detached (a role of the reference account, alone in a copy
/// of it that holds only the policies the set refers to).
fn grants(
    docs: &SetDocuments<'_>,
    inline: Option<&PolicyDocument>,
    detached: &BTreeSet<&str>,
    expander: &mut Expander<'_>,
) -> ActionSet {
    let mut policies: BTreeMap<String, Arc<ManagedPolicy>> = BTreeMap::new();
    let mut attached = Vec::new();
    for (r, doc) in &docs.aws {
        if detached.contains(r.arn.as_str()) {
            continue;
        }
        attached.push(r.arn.clone());
        if let Some(m) = doc {
            policies.insert(r.arn.clone(), Arc::clone(m));
        }
    }
    for (arn, doc) in &docs.customer {
        attached.push(arn.clone());
        if let Some(m) = doc {
            policies.insert(arn.clone(), Arc::clone(m));
        }
    }
    if let Some((arn, Some(m))) = &docs.boundary {
        policies.insert(arn.clone(), Arc::clone(m));
    }
    let role = Principal {
        kind: PrincipalType::Role,
        name: "permission-set".into(),
        id: String::new(),
        arn: String::new(),
        path: IDENTITY_CENTER_PATH.into(),
        created: None,
        inline_policies: inline
            .map(|d| {
                vec![InlinePolicy {
                    name: INLINE_NAME.into(),
                    document: d.clone(),
                }]
            })
            .unwrap_or_default(),
        attached_policies: attached,
        groups: Vec::new(),
        permissions_boundary: docs.boundary.as_ref().map(|(arn, _)| arn.clone()),
        tags: Default::default(),
        role_last_used: None,
        service_linked: false,
        trusted: Vec::new(),
    };
    let export = Export {
        root: docs.reference.root.clone(),
        account_id: docs.reference.account_id.clone(),
        partition: docs.partition.clone(),
        principals: vec![role.clone()],
        policies,
        last_accessed: BTreeMap::new(),
        last_accessed_deferred: false,
        details: Default::default(),
        credential_report: None,
        manifest: None,
        data_time: docs.reference.data_time,
        files: Vec::new(),
        warnings: Vec::new(),
    };
    principal_grants(&role, &export, expander).effective
}

/// `ps` with the accounts it is provisioned to: those the organisation part lists, and those
/// whose export holds its role (Identity Center deletes a set's role where it deprovisions the
/// set; the analysis counts such a role as the set's, `permission_set_account_unlisted`), with
/// the latter.
fn as_provisioned<'p>(
    ps: &'p PermissionSet,
    exports: &[Export],
) -> (Cow<'p, PermissionSet>, Vec<String>) {
    let unlisted: Vec<String> = exports
        .iter()
        .filter(|e| !ps.accounts.contains(&e.account_id))
        .filter(|e| {
            e.principals
                .iter()
                .any(|p| p.kind == PrincipalType::Role && ps.owns_role(&p.path, &p.name))
        })
        .map(|e| e.account_id.clone())
        .collect();
    if unlisted.is_empty() {
        return (Cow::Borrowed(ps), unlisted);
    }
    let mut ps = ps.clone();
    ps.accounts.extend(unlisted.iter().cloned());
    ps.accounts.sort();
    ps.accounts.dedup();
    (Cow::Owned(ps), unlisted)
}

/// The set's roles in the exports, by account.
fn roles<'e>(ps: &PermissionSet, exports: &'e [Export]) -> Vec<(&'e str, &'e Principal)> {
    ps.accounts
        .iter()
        .filter_map(|a| exports.iter().find(|e| e.account_id == *a))
        .flat_map(|e| {
            e.principals
                .iter()
                .filter(|p| p.kind == PrincipalType::Role && ps.owns_role(&p.path, &p.name))
                .map(move |p| (e.account_id.as_str(), p))
        })
        .collect()
}

fn names(catalog: &Catalog, set: &ActionSet, at_most: usize) -> String {
    let mut out: Vec<String> = set
        .iter()
        .take(at_most)
        .map(|a| catalog.full_name(a))
        .collect();
    if set.len() > at_most {
        out.push(format!("and {} more", set.len() - at_most));
    }
    out.join(", ")
}

/// What planning a permission set reads besides the set itself.
pub(super) struct SetInputs<'a> {
    pub org: &'a Organization,
    pub exports: &'a [Export],
    /// What its roles used that the catalog does not know (kept by a rewritten wildcard).
    pub uncatalogued: &'a [&'a str],
}

/// What the set's recommendation is applied to: the set, its instance, its accounts.
fn target(
    ps: &PermissionSet,
    exports: &[Export],
    docs: &SetDocuments<'_>,
    roles: &[(&str, &Principal)],
) -> PermissionSetTarget {
    PermissionSetTarget {
        arn: ps.arn.clone(),
        instance_arn: format!("arn:{}:sso:::instance/{}", docs.partition, ps.instance_id),
        region: roles.iter().find_map(|(_, r)| {
            let region = r.path.strip_prefix(IDENTITY_CENTER_PATH)?.trim_matches('/');
            (!region.is_empty() && !region.contains('/')).then(|| region.to_string())
        }),
        accounts: ps.accounts.clone(),
        accounts_in_exports: ps
            .accounts
            .iter()
            .filter(|a| exports.iter().any(|e| e.account_id == **a))
            .cloned()
            .collect(),
        reference_account: docs.reference.account_id.clone(),
        had_inline: ps.inline_policy.is_some(),
        inline_text: ps.inline_text.clone(),
        merged: Vec::new(),
    }
}

/// Plans the permission set `info` is (its ARN names it in the organisation part).
pub(super) fn plan_set(
    plan: &mut PrincipalPlan,
    info: &PrincipalInfo,
    set: &SetInputs<'_>,
    expander: &mut Expander<'_>,
) {
    let (org, exports, uncatalogued) = (set.org, set.exports, set.uncatalogued);
    let Some(ps) = org.permission_sets.iter().find(|p| p.arn == info.arn()) else {
        plan.skipped = Some("permission_set_not_found".into());
        return;
    };
    let (ps, unlisted) = as_provisioned(ps, exports);
    let ps = ps.as_ref();
    for account in &unlisted {
        plan.flag(format!(
            "account {account}: the organisation part does not list the set as provisioned there, but the account's export holds its role: Identity Center deletes a set's role where it deprovisions the set, so the set is taken as provisioned there, and that role's use is kept (the organisation part is likely older than the export: fetch it again)"
        ));
    }
    let Some(docs) = documents(ps, exports) else {
        plan.skipped = Some("export_not_found".into());
        return;
    };
    plan.partition.clone_from(&docs.partition);
    let before = grants(&docs, ps.inline_policy.as_ref(), &BTreeSet::new(), expander);
    plan.sets.before = before.clone();
    plan.sets.after = before.clone();
    let roles = roles(ps, exports);
    plan.permission_set = Some(Box::new(target(ps, exports, &docs, &roles)));
    flag_drift(plan, ps, &roles);
    flag_missing(plan, &docs);
    if plan.sets.remove.is_empty() {
        plan.skipped = Some("nothing_to_remove".into());
        return;
    }
    flag_customer_managed(plan, ps, exports, &docs.partition, expander);
    // What a rewritten wildcard lists: what the set grants, and what any account's role needs
    // (an account whose customer managed copy denies an action still has others that need it).
    let mut keep = before;
    keep.union_with(&plan.sets.needed);
    keep.difference_with(&plan.sets.remove);

    // AWS managed policies that grant something to remove: detached, or merged.
    let mut stems: BTreeSet<String> = BTreeSet::from([INLINE_STEM.to_string()]);
    let mut managed = Vec::new();
    for (r, doc) in &docs.aws {
        let Some(m) = doc else { continue };
        let t = tighten(
            &m.document,
            &plan.sets.remove,
            &keep,
            uncatalogued,
            expander,
        );
        if !t.changed {
            continue;
        }
        let Ok(new_document) = PolicyDocument::from_value(t.parts.document.clone()) else {
            plan.flag(format!(
                "{}: the tightened document does not parse; left attached as it is",
                r.name
            ));
            continue;
        };
        let base = format!("aws-managed-{}", safe_file_name(&r.name));
        let mut stem = base.clone();
        let mut n = 2;
        while !stems.insert(stem.to_lowercase()) {
            stem = format!("{base}-{n}");
            n += 1;
        }
        let size = iam_size(&t.parts.document);
        managed.push(PolicyPlan {
            policy: PolicyRef {
                name: r.name.clone(),
                arn: Some(r.arn.clone()),
                kind: PolicyKind::AwsManaged,
                via_group: None,
                boundary: false,
            },
            documents: Some(Box::new(PolicyDocuments {
                original: Arc::clone(&m.document),
                new_document,
            })),
            apply: if t.empty {
                Apply::Detach
            } else {
                Apply::MergeIntoInline
            },
            tightened: t,
            stem: stem.into(),
            size,
            limit: limits::MANAGED,
            tightened_digest: super::Digest::default(),
        });
    }

    let inline = ps
        .inline_policy
        .as_ref()
        .map(|d| tighten(d, &plan.sets.remove, &keep, uncatalogued, expander));
    if let Some(p) = merged_inline(plan, ps, inline, &managed, expander) {
        plan.policies.push(p);
    }
    plan.policies.extend(managed);
    flag_policies(plan);
    flag_left_empty(plan, ps, &docs);
    if plan.policies.is_empty() {
        plan.skipped = Some(
            if ps.customer_managed_policies.is_empty() {
                "nothing_to_remove"
            } else {
                "granted_through_customer_managed_only"
            }
            .into(),
        );
    }
}

/// The statements of a document as a list.
fn statement_list(doc: &Value) -> Vec<Value> {
    match doc.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(v @ Value::Object(_)) => vec![v.clone()],
        _ => Vec::new(),
    }
}

/// A `Sid` unique in `taken` (IAM wants them unique within a policy, alphanumeric).
fn unique_sid(sid: &str, policy: &str, taken: &mut BTreeSet<String>) -> String {
    if taken.insert(sid.to_string()) {
        return sid.to_string();
    }
    let prefix: String = policy.chars().filter(char::is_ascii_alphanumeric).collect();
    let base = format!("{prefix}{sid}");
    let mut candidate = base.clone();
    let mut n = 2;
    while !taken.insert(candidate.clone()) {
        candidate = format!("{base}{n}");
        n += 1;
    }
    candidate
}

/// The set's new inline policy: its own statements tightened, then the statements each merged
/// AWS managed policy keeps; `None` when the inline policy does not change.
fn merged_inline(
    plan: &mut PrincipalPlan,
    ps: &PermissionSet,
    inline: Option<Tightened>,
    managed: &[PolicyPlan],
    expander: &mut Expander<'_>,
) -> Option<PolicyPlan> {
    let merging: Vec<&PolicyPlan> = managed
        .iter()
        .filter(|p| p.apply == Apply::MergeIntoInline)
        .collect();
    let changed = inline.as_ref().is_some_and(|t| t.changed);
    if !changed && merging.is_empty() {
        return None;
    }
    let catalog = expander.catalog();
    let mut t = inline.unwrap_or_else(|| Tightened {
        changed: true,
        empty: true,
        ..Tightened::unchanged(catalog, json!({"Version": "2012-10-17", "Statement": []}))
    });
    append_merged(&mut t, ps, &merging, plan);
    let size = fit_limits(&mut t, plan, expander);
    let new_document = match PolicyDocument::from_value(t.parts.document.clone()) {
        Ok(d) => d,
        Err(e) => {
            plan.skipped = Some(format!(
                "verification_failed: the new inline policy does not parse ({e})"
            ));
            return None;
        }
    };
    let original = ps.inline_policy.clone().unwrap_or_else(|| PolicyDocument {
        version: None,
        statements: Vec::new(),
        raw: json!({}).into(),
    });
    Some(PolicyPlan {
        policy: PolicyRef {
            name: INLINE_NAME.into(),
            arn: None,
            kind: PolicyKind::Inline,
            via_group: None,
            boundary: false,
        },
        documents: Some(Box::new(PolicyDocuments {
            original: Arc::new(original),
            new_document,
        })),
        apply: if t.empty {
            Apply::DeleteInline
        } else {
            Apply::PutInline
        },
        tightened: t,
        stem: INLINE_STEM.into(),
        size,
        limit: limits::INLINE_ROLE,
        tightened_digest: super::Digest::default(),
    })
}

/// Appends the statements each merged AWS managed policy keeps to `t` (Sids made unique), notes
/// where they went in the plan, and flags documents of different `Version`s.
fn append_merged(
    t: &mut Tightened,
    ps: &PermissionSet,
    merging: &[&PolicyPlan],
    plan: &mut PrincipalPlan,
) {
    let mut statements = statement_list(&t.parts.document);
    let mut sids: BTreeSet<String> = statements
        .iter()
        .filter_map(|s| s.get("Sid").and_then(Value::as_str).map(str::to_string))
        .collect();
    let version = |d: &Value| d.get("Version").and_then(Value::as_str).map(str::to_string);
    let mut versions: BTreeSet<String> = BTreeSet::new();
    if ps.inline_policy.is_some() {
        versions.extend(version(&t.parts.document));
    }
    let mut merged = Vec::new();
    for p in merging {
        versions.extend(version(&p.tightened.parts.document));
        let start = statements.len();
        for mut s in statement_list(&p.tightened.parts.document) {
            if let Some(Value::String(sid)) = s.get("Sid").cloned() {
                let new = unique_sid(&sid, &p.policy.name, &mut sids);
                if new != sid {
                    s["Sid"] = Value::String(new);
                }
            }
            statements.push(s);
        }
        for r in &p.tightened.parts.rewritten {
            t.parts.rewritten.push(super::tighten::Rewritten {
                position: start + r.position,
                ..r.clone()
            });
        }
        merged.push((p.policy.name.clone(), start..statements.len()));
    }
    if versions.len() > 1 {
        plan.flag(format!(
            "{INLINE_NAME}: the merged statements come from documents with different Version elements ({}); the inline policy keeps {}. Policy variables (${{...}}) are read only under 2012-10-17: review before applying",
            versions.iter().cloned().collect::<Vec<_>>().join(", "),
            version(&t.parts.document).unwrap_or_else(|| "none".into())
        ));
    }
    let mut base = ps.inline_raw.clone().unwrap_or_else(|| json!({}));
    if base.get("Version").is_none()
        && let (Some(obj), Some(v)) = (
            base.as_object_mut(),
            merging
                .first()
                .and_then(|p| version(&p.tightened.parts.document)),
        )
    {
        obj.insert("Version".into(), Value::String(v));
    }
    t.empty = statements.is_empty();
    t.changed = true;
    t.parts.document = aws_order(&base, Value::Array(statements));
    if let Some(target) = plan.permission_set.as_mut() {
        target.merged = merged;
    }
}

/// Minimises `t` when it is over Identity Center's or IAM's inline limits, flags what is still
/// over; returns its size as IAM counts it.
fn fit_limits(t: &mut Tightened, plan: &mut PrincipalPlan, expander: &mut Expander<'_>) -> usize {
    let over = |t: &Tightened| {
        iam_size(&t.parts.document) > limits::INLINE_ROLE
            || aws_json(&t.parts.document).chars().count() > limits::INLINE_PERMISSION_SET
    };
    if !t.empty && over(t) {
        minimise(t, &plan.sets.remove, expander);
    }
    let size = iam_size(&t.parts.document);
    let sent = aws_json(&t.parts.document).chars().count();
    if t.minimised {
        plan.flag(format!(
            "{INLINE_NAME}: over the size limit with explicit action lists; collapsed into wildcards that match only actions the original granted and none that is removed"
        ));
    }
    if !t.empty && (size > limits::INLINE_ROLE || sent > limits::INLINE_PERMISSION_SET) {
        plan.flag(format!(
            "{INLINE_NAME}: {size} characters without whitespace ({sent} as written), over the limits of {} (IAM's, for the inline policies of each account's role) or {} (Identity Center's, for the text sent); move statements into a customer managed policy created in every account, or split the permission set, before applying",
            limits::INLINE_ROLE,
            limits::INLINE_PERMISSION_SET
        ));
    }
    size
}

/// What a reviewer must know about each changed policy.
fn flag_policies(plan: &mut PrincipalPlan) {
    let mut flags = Vec::new();
    for p in &plan.policies {
        flags.extend(p.tightened.not_action_flags(&p.policy.name));
        if !p.tightened.parts.uncatalogued_kept.is_empty() {
            flags.push(format!(
                "{}: keeps {}: used within the window by AWS's last-accessed data but not in the catalog (newer than it?), so the wildcard or NotAction that granted them is replaced by a list that still names them",
                p.policy.name,
                p.tightened.parts.uncatalogued_kept.join(", ")
            ));
        }
        if p.apply == Apply::MergeIntoInline {
            flags.push(format!(
                "{}: detached; the statements it keeps are merged into the inline policy as they read today, so AWS's later changes to this managed policy no longer reach the permission set",
                p.policy.name
            ));
        }
    }
    plan.flags.extend(flags.into_iter().map(super::Flag::from));
}

/// A set left with no policy grants nothing: its assignments are what to remove.
fn flag_left_empty(plan: &mut PrincipalPlan, ps: &PermissionSet, docs: &SetDocuments<'_>) {
    let inline_left = match plan
        .policies
        .iter()
        .find(|p| p.policy.kind == PolicyKind::Inline)
    {
        Some(p) => !p.tightened.empty,
        None => ps.inline_policy.is_some(),
    };
    let managed_left = docs.aws.iter().any(|(r, _)| {
        !plan
            .policies
            .iter()
            .any(|p| p.policy.arn.as_deref() == Some(r.arn.as_str()))
    });
    if !plan.policies.is_empty()
        && !inline_left
        && !managed_left
        && ps.customer_managed_policies.is_empty()
    {
        plan.flag(format!(
            "after this change permission set {} grants nothing: rather than keep an empty set, remove its account assignments (aws sso-admin delete-account-assignment) and delete it",
            ps.name
        ));
    }
}

/// Roles whose policies differ from the set's definition (changed and not provisioned since).
fn flag_drift(plan: &mut PrincipalPlan, ps: &PermissionSet, roles: &[(&str, &Principal)]) {
    let defined: BTreeSet<&str> = ps.managed_policies.iter().map(|m| m.arn.as_str()).collect();
    for (account, role) in roles {
        let inline = role
            .inline_policies
            .iter()
            .find(|i| i.name == INLINE_NAME)
            .map(|i| i.document.raw.value());
        let aws: BTreeSet<&str> = role
            .attached_policies
            .iter()
            .map(String::as_str)
            .filter(|a| a.contains(":iam::aws:policy/"))
            .collect();
        let mut what = Vec::new();
        if inline.as_deref() != ps.inline_raw.as_ref() {
            what.push("its inline policy");
        }
        if aws != defined {
            what.push("its AWS managed policies");
        }
        if !what.is_empty() {
            plan.flag(format!(
                "account {account}: role {} differs from the permission set's definition ({}): the set was changed and not provisioned there since. Its findings are those of the role as it is; provisioning puts the new definition there, and what only the role grants goes with it",
                role.name,
                what.join(" and ")
            ));
        }
    }
}

fn flag_missing(plan: &mut PrincipalPlan, docs: &SetDocuments<'_>) {
    for (r, doc) in &docs.aws {
        if doc.is_none() {
            plan.flag(format!(
                "AWS managed policy {}: its document is in none of the exports (an account's authorization details hold the AWS managed policies attached there); left attached as it is, unchecked",
                r.name
            ));
        }
    }
    if let Some((arn, None)) = &docs.boundary {
        plan.flag(format!(
            "permissions boundary {arn}: its document is not in the exports, so the verification could not apply it"
        ));
    }
}

/// Customer managed policies are one policy per account, found by name: never changed here.
fn flag_customer_managed(
    plan: &mut PrincipalPlan,
    ps: &PermissionSet,
    exports: &[Export],
    partition: &str,
    expander: &mut Expander<'_>,
) {
    let catalog = expander.catalog();
    for r in &ps.customer_managed_policies {
        let mut grants = catalog.empty_set();
        let mut accounts = Vec::new();
        let mut missing = Vec::new();
        for account in &ps.accounts {
            let Some(export) = exports.iter().find(|e| e.account_id == *account) else {
                continue;
            };
            let arn = customer_arn(partition, account, &r.path, &r.name);
            match export.policies.get(&arn) {
                Some(m) => {
                    let mut hit = expander
                        .document_in(&m.document, Some(&export.partition))
                        .allowed;
                    hit.intersect_with(&plan.sets.remove);
                    if !hit.is_empty() {
                        accounts.push(account.as_str());
                        grants.union_with(&hit);
                    }
                }
                None => missing.push(account.as_str()),
            }
        }
        if !accounts.is_empty() {
            plan.flag(format!(
                "customer managed policy {} is referenced by name in every account: tighten it there (each account's copy); it grants {} of the unused actions in account(s) {} ({}), which stay granted until then",
                r.name,
                grants.len(),
                accounts.join(", "),
                names(catalog, &grants, 5)
            ));
        }
        if !missing.is_empty() {
            plan.flag(format!(
                "customer managed policy {} (path {}) is not in the export of account(s) {}: Identity Center cannot provision the set there until it exists",
                r.name,
                r.path,
                missing.join(", ")
            ));
        }
    }
}

/// The Deny statements of a document, without their `Sid` (a merged statement may be renamed).
fn denies(doc: &Value) -> Vec<Value> {
    super::verify::deny_statements(doc)
        .into_iter()
        .cloned()
        .map(|mut s| {
            if let Some(o) = s.as_object_mut() {
                o.remove("Sid");
            }
            s
        })
        .collect()
}

/// Checks a permission set's plan: the set's role, expanded with the new inline policy and the
/// managed policies left (customer managed ones and the boundary of the first provisioned
/// account in the exports), still grants every needed action the set grants today and nothing
/// it did not grant before; the new inline policy grants none of the removed actions and nothing the policies it
/// replaces did not; their Deny statements are all in it, and each of its statements keeps the
/// `Effect`, `Resource` and `Condition` of the statement it came from. Returns the problems
/// (empty when safe) and the set's effective grants after the change.
pub fn verify_permission_set(
    exports: &[Export],
    org: &Organization,
    plan: &PrincipalPlan,
    expander: &mut Expander<'_>,
) -> (Vec<String>, ActionSet) {
    let catalog = expander.catalog();
    let ps = plan.permission_set.as_ref().and_then(|t| {
        let ps = org.permission_sets.iter().find(|p| p.arn == t.arn)?;
        Some(as_provisioned(ps, exports).0)
    });
    let found = ps
        .as_deref()
        .and_then(|ps| Some((ps, documents(ps, exports)?)));
    let Some((ps, docs)) = found else {
        return (
            vec!["the permission set or its accounts are not in the inputs".into()],
            plan.sets.before.clone(),
        );
    };
    let mut problems = Vec::new();
    let before = grants(&docs, ps.inline_policy.as_ref(), &BTreeSet::new(), expander);
    let inline_plan = plan
        .policies
        .iter()
        .find(|p| p.policy.kind == PolicyKind::Inline);
    let new_inline = match inline_plan {
        Some(p) if p.tightened.empty => None,
        Some(p) => Some(p.new_document()),
        None => ps.inline_policy.as_ref(),
    };
    let detached: BTreeSet<&str> = plan
        .policies
        .iter()
        .filter(|p| super::quota::goes(p))
        .filter_map(|p| p.policy.arn.as_deref())
        .collect();
    let after = grants(&docs, new_inline, &detached, expander);

    // Needed actions the definition grants today (a role changed and not provisioned since may
    // hold more: flagged by the plan, and not the set's to keep).
    let mut lost = plan.sets.needed.clone();
    lost.intersect_with(&before);
    lost.difference_with(&after);
    if !lost.is_empty() {
        problems.push(format!(
            "{} needed action(s) would no longer be granted, e.g. {}",
            lost.len(),
            names(catalog, &lost, 3)
        ));
    }
    if !after.is_subset(&before) {
        problems.push("the permission set would grant actions it does not grant today".into());
    }
    if let (Some(p), Some(new)) = (inline_plan, new_inline) {
        let sources: Vec<&PolicyDocument> = ps
            .inline_policy
            .iter()
            .chain(
                plan.policies
                    .iter()
                    .filter(|q| q.apply == Apply::MergeIntoInline)
                    .map(|q| q.original()),
            )
            .collect();
        let granted = expander.document(new).allowed;
        if granted.intersects(&plan.sets.remove) {
            let mut still = granted.clone();
            still.intersect_with(&plan.sets.remove);
            problems.push(format!(
                "{}: still grants {} removed action(s), e.g. {}",
                p.policy.name,
                still.len(),
                names(catalog, &still, 3)
            ));
        }
        let mut old = catalog.empty_set();
        for s in &sources {
            old.union_with(&expander.document(s).allowed);
        }
        if !granted.is_subset(&old) {
            problems.push(format!(
                "{}: grants actions that none of the policies it replaces grants",
                p.policy.name
            ));
        }
        let old_denies: Vec<Value> = sources
            .iter()
            .flat_map(|s| denies(&s.raw.value()))
            .collect();
        if denies(&new.raw.value()) != old_denies {
            problems.push(format!("{}: Deny statements changed", p.policy.name));
        }
        problems.extend(statement_problems(&p.policy.name, new, &sources, expander));
        if has_empty_allow(new) {
            problems.push(format!(
                "{}: an Allow statement with no action",
                p.policy.name
            ));
        }
    }
    (problems, after)
}

/// What is wrong with the statements of `new`, a set's inline policy `name` made of `sources`:
/// a statement none of theirs has the Effect, Resource and Condition of, or an Allow that may
/// grant, beyond the catalog, what theirs did not.
fn statement_problems(
    name: &str,
    new: &PolicyDocument,
    sources: &[&PolicyDocument],
    expander: &mut Expander<'_>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for s in &new.statements {
        let mut like = sources.iter().flat_map(|d| &d.statements).filter(|o| {
            o.effect == s.effect && o.resources == s.resources && o.condition == s.condition
        });
        let Some(first) = like.next() else {
            problems.push(format!(
                "{}: statement {} has no original with the same Effect, Resource and Condition",
                name,
                s.label()
            ));
            continue;
        };
        if super::verify::grants_beyond(s, std::iter::once(first).chain(like), expander) {
            problems.push(format!(
                "{}: statement {} may grant actions the catalog does not know that the policies it replaces did not",
                name,
                s.label()
            ));
        }
    }
    problems
}

/// Whether an Allow statement of `doc` lists no action (AWS refuses such a policy).
fn has_empty_allow(doc: &PolicyDocument) -> bool {
    doc.statements.iter().any(|s| {
        s.effect == Effect::Allow
            && match &s.actions {
                ActionClause::Action(a) | ActionClause::NotAction(a) => a.is_empty(),
            }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_sids_stay_unique() {
        let mut taken = BTreeSet::from(["Read".to_string()]);
        assert_eq!(
            unique_sid("Write", "AWSLambda_ReadOnlyAccess", &mut taken),
            "Write"
        );
        assert_eq!(
            unique_sid("Read", "AWSLambda_ReadOnlyAccess", &mut taken),
            "AWSLambdaReadOnlyAccessRead"
        );
        assert_eq!(
            unique_sid("Read", "AWSLambda_ReadOnlyAccess", &mut taken),
            "AWSLambdaReadOnlyAccessRead2"
        );
    }

    #[test]
    fn customer_managed_arns_follow_the_path() {
        assert_eq!(
            customer_arn("aws", "111111111111", "/", "extras"),
            "arn:aws:iam::111111111111:policy/extras"
        );
        assert_eq!(
            customer_arn("aws-us-gov", "111111111111", "/team/", "extras"),
            "arn:aws-us-gov:iam::111111111111:policy/team/extras"
        );
        assert_eq!(
            customer_arn("aws", "111111111111", "", "extras"),
            "arn:aws:iam::111111111111:policy/extras"
        );
    }

    #[test]
    fn deny_statements_compare_without_their_sid() {
        let a = json!({"Statement": [{"Sid": "A", "Effect": "Deny", "Action": "x:Y", "Resource": "*"},
            {"Effect": "Allow", "Action": "x:Z", "Resource": "*"}]});
        let b = json!({"Statement": {"Sid": "PolicyA", "Effect": "Deny", "Action": "x:Y", "Resource": "*"}});
        assert_eq!(denies(&a), denies(&b));
    }
}
