//! One decision per unused principal and per risky credential, from the identity findings.

use std::collections::BTreeMap;

use super::{Decision, DecisionKind, highest};
use crate::analysis::identities::{IdentityFinding, IdentityKind, IdentityReport};
use crate::analysis::{Analysis, BySensitivity};

/// The decision of each actionable identity finding. A credential with several findings (an
/// access key both unused and old) gets one decision, the strongest (deactivate before rotate).
pub(super) fn decisions(an: &Analysis<'_>, report: &IdentityReport) -> Vec<Decision> {
    let mut by_subject: BTreeMap<(String, String, String), Decision> = BTreeMap::new();
    for f in report
        .findings
        .iter()
        .filter(|f| f.actionable || assignment(an, f).is_some())
    {
        let Some(d) = decision(an, f) else {
            continue;
        };
        let key = (
            d.account_id.clone(),
            d.principal_arn.clone() + &d.principal_name,
            d.subject.clone(),
        );
        match by_subject.get(&key) {
            Some(kept) if kept.kind <= d.kind => {}
            _ => {
                by_subject.insert(key, d);
            }
        }
    }
    by_subject.into_values().collect()
}

/// The permission set of an unused IAM Identity Center role. Identity Center owns the role (it
/// is never deleted by hand); what a reviewer decides is whether the set's assignment to that
/// account is still needed: removing it (`aws sso-admin delete-account-assignment`) makes
/// Identity Center delete the role.
fn assignment<'a>(an: &'a Analysis<'_>, f: &IdentityFinding) -> Option<&'a str> {
    if f.kind != IdentityKind::UnusedRole {
        return None;
    }
    an.principals
        .iter()
        .find(|p| {
            p.kind == crate::model::PrincipalType::Role
                && p.account_id == f.account_id
                && p.arn == f.principal_arn
        })
        .and_then(|p| p.permission_set.as_deref())
}

fn decision(an: &Analysis<'_>, f: &IdentityFinding) -> Option<Decision> {
    let who = format!("{} {}", f.principal_type.as_str(), f.principal_name);
    if let Some(set) = assignment(an, f) {
        return review_assignment(an, f, set);
    }
    let credential = f.credential.clone().unwrap_or_default();
    let key = credential.replace("access_key_", "");
    let (kind, title) = match f.kind {
        IdentityKind::RootAccessKey => (
            DecisionKind::DeleteRootAccessKey,
            format!(
                "Delete the root user's access key {key} in account {}",
                f.account_id
            ),
        ),
        IdentityKind::RootUsed => (
            DecisionKind::ReviewRootUse,
            format!(
                "Review the root user's {} use in account {}",
                credential.replace('_', " "),
                f.account_id
            ),
        ),
        IdentityKind::UnusedRole => (DecisionKind::DeleteRole, format!("Delete unused {who}")),
        IdentityKind::UnusedUser => (DecisionKind::DeleteUser, format!("Delete unused {who}")),
        IdentityKind::AccessKeyUnused | IdentityKind::AccessKeyNeverUsed => (
            DecisionKind::DeactivateAccessKey,
            format!("Deactivate access key {key} of {who}"),
        ),
        IdentityKind::AccessKeyOld => (
            DecisionKind::RotateAccessKey,
            format!("Rotate access key {key} of {who}"),
        ),
        IdentityKind::PasswordUnused => (
            DecisionKind::RemovePassword,
            format!("Remove the console password of {who}"),
        ),
        IdentityKind::PasswordWithoutMfa => (
            DecisionKind::RequireMfa,
            format!("Require MFA for {who}, or remove its console password"),
        ),
        IdentityKind::GroupWithoutMembers => (
            DecisionKind::DeleteGroup,
            format!("Delete {who}: it has no members"),
        ),
        IdentityKind::PolicyUnattached => (
            DecisionKind::DeletePolicy,
            format!(
                "Delete customer managed policy {}: it is attached to nothing",
                f.principal_name
            ),
        ),
    };
    // Deleting a whole principal removes its unused permissions: they are the risk removed.
    let principal = an.principals.iter().find(|p| {
        p.account_id == f.account_id && p.arn == f.principal_arn && !f.principal_arn.is_empty()
    });
    // A break-glass role is rarely used by design: its decision is to confirm it, not delete it.
    if principal.is_some_and(|p| p.intentional.is_some())
        && matches!(kind, DecisionKind::DeleteRole | DecisionKind::DeleteUser)
    {
        return None;
    }
    let removes = match kind {
        DecisionKind::DeleteRole | DecisionKind::DeleteUser => principal
            .map(|p| p.unused_by_sensitivity)
            .unwrap_or_default(),
        _ => BySensitivity::default(),
    };
    let sensitivity = highest(&removes).map_or(f.sensitivity, |s| s.max(f.sensitivity));
    // A credential weighs as much as 100 actions of its sensitivity; a deleted principal, what
    // it removes (and at least its credential's weight).
    let score = (super::score(&removes)).max(100 * f.sensitivity.weight());
    Some(Decision {
        rank: 0,
        id: String::new(),
        kind,
        sensitivity,
        score,
        account_id: f.account_id.clone(),
        principal_type: f.principal_type.as_str().into(),
        principal_name: f.principal_name.clone(),
        principal_arn: f.principal_arn.clone(),
        subject: credential,
        title,
        removes,
        risky_actions: Vec::new(),
        risky_more: 0,
        evidence: f.detail.clone(),
        files: None,
        intentional: None,
    })
}

/// `review_permission_set_assignment` for an unused IAM Identity Center role (none for an
/// intentional one: its permission set's `confirm_intentional` covers it).
fn review_assignment(an: &Analysis<'_>, f: &IdentityFinding, set: &str) -> Option<Decision> {
    let role = an
        .principals
        .iter()
        .find(|p| p.account_id == f.account_id && p.arn == f.principal_arn)?;
    if role.intentional.is_some() {
        return None;
    }
    let removes = role.unused_by_sensitivity;
    let sensitivity = highest(&removes).map_or(f.sensitivity, |s| s.max(f.sensitivity));
    Some(Decision {
        rank: 0,
        id: String::new(),
        kind: DecisionKind::ReviewPermissionSetAssignment,
        sensitivity,
        score: super::score(&removes).max(100 * f.sensitivity.weight()),
        account_id: f.account_id.clone(),
        principal_type: f.principal_type.as_str().into(),
        principal_name: f.principal_name.clone(),
        principal_arn: f.principal_arn.clone(),
        subject: set.to_string(),
        title: format!(
            "Review the assignment of permission set {set} to account {}: its role shows no use",
            f.account_id
        ),
        removes,
        risky_actions: Vec::new(),
        risky_more: 0,
        evidence: format!(
            "{} IAM Identity Center owns the role: if nobody needs permission set {set} in this account, remove its account assignments (aws sso-admin list-account-assignments, delete-account-assignment) and Identity Center deletes the role.",
            f.detail
        ),
        files: None,
        intentional: None,
    })
}
