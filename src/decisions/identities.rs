//! One decision per unused principal and per risky credential, from the identity findings.

use std::collections::{BTreeMap, BTreeSet};

use super::{Decision, DecisionKind, highest};
use crate::analysis::identities::{IdentityFinding, IdentityKind, IdentityReport};
use crate::analysis::{Analysis, BySensitivity, PrincipalInfo};

/// The analysis principals by (account, ARN), those of one (account, ARN) in analysis order:
/// identity findings name their principal by ARN, and a linear search of every principal per
/// finding made this stage quadratic (81 s of the report's `model` stage at 110,300
/// principals). The principals' indices sorted, 4 bytes a principal: a map of their texts to a
/// vector each took ~150 MB at 1,000,000 roles, at the start of the decisions stage, the run's
/// peak.
pub(super) struct ByArn<'a> {
    principals: &'a [PrincipalInfo],
    sorted: Vec<u32>,
}

impl<'a> ByArn<'a> {
    pub(super) fn new(an: &'a Analysis<'_>) -> ByArn<'a> {
        let principals = &an.principals[..];
        let key = |i: u32| key_of(principals, i);
        // Past `u32::MAX` principals the later ones are not found (never reached: findings
        // name principals by `u32` index).
        let count = u32::try_from(principals.len()).unwrap_or(u32::MAX);
        let mut sorted: Vec<u32> = (0..count).collect();
        // Those of one (account, ARN) in analysis order.
        sorted.sort_unstable_by(|a, b| key(*a).cmp(&key(*b)).then(a.cmp(b)));
        ByArn { principals, sorted }
    }

    /// The first principal of `f`'s account with `f`'s ARN that `keep` accepts (what
    /// `an.principals.iter().find(..)` returned).
    fn find(
        &self,
        f: &IdentityFinding,
        keep: impl Fn(&PrincipalInfo) -> bool,
    ) -> Option<&'a PrincipalInfo> {
        self.find_by(&f.account_id, &f.principal_arn, keep)
    }

    /// The first principal of `account` with `arn` that `keep` accepts.
    fn find_by(
        &self,
        account: &str,
        arn: &str,
        keep: impl Fn(&PrincipalInfo) -> bool,
    ) -> Option<&'a PrincipalInfo> {
        let want = (account, arn);
        let key = |i: u32| key_of(self.principals, i);
        let from = self.sorted.partition_point(|i| key(*i) < want);
        self.sorted[from..]
            .iter()
            .take_while(|i| key(**i) == want)
            .map(|i| &self.principals[*i as usize])
            .find(|p| keep(p))
    }
}

/// What [`ByArn`] sorts principal `i` by: its account and ARN.
fn key_of(principals: &[PrincipalInfo], i: u32) -> (&str, &str) {
    let p = &principals[i as usize];
    (&*p.account_id, p.arn())
}

/// The decision of each actionable identity finding. A credential with several findings (an
/// access key both unused and old) gets one decision, the strongest (deactivate before rotate).
pub(super) fn decisions(by_arn: &ByArn<'_>, report: &IdentityReport) -> Vec<Decision> {
    by_subject(by_arn, report, |d| d, |d| d.kind)
        .into_values()
        .collect()
}

/// Account → ARNs of the principals an identity decision deletes.
pub(super) type Deletions = BTreeMap<String, BTreeSet<String>>;

/// What [`decisions`] gives, without making the decisions it keeps: the principals they delete,
/// and how many of them there are that do not concern a principal another deletes (those that
/// delete a principal, and those of principals not deleted).
pub(super) fn deletions(by_arn: &ByArn<'_>, report: &IdentityReport) -> (Deletions, usize) {
    // Only the kinds are kept (the subjects' texts are the findings' and the principals'): this
    // runs beside every plan, at the start of the decisions stage.
    let kept = by_subject(by_arn, report, |d| d.kind, |k| *k);
    let mut deletions = Deletions::new();
    for (key, _) in kept.iter().filter(|(_, k)| k.deletes_principal()) {
        deletions
            .entry(key.account.to_string())
            .or_default()
            .insert(key.arn.to_string());
    }
    let count = kept
        .iter()
        .filter(|(key, kind)| {
            kind.deletes_principal() || !super::deleted(&deletions, key.account, key.arn)
        })
        .count();
    (deletions, count)
}

/// What one decision per subject is kept for: the account, the principal's ARN and name, and
/// the subject (a credential, a permission set, or none), borrowed from the finding and the
/// principals. Ordered as the texts `account`, ARN followed by name, and `subject` are (the
/// order the identity decisions are listed in before the rank).
#[derive(Debug, Clone, Copy)]
struct Subject<'a> {
    account: &'a str,
    arn: &'a str,
    name: &'a str,
    subject: &'a str,
}

impl Ord for Subject<'_> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let who = |s: &Self| s.arn.bytes().chain(s.name.bytes());
        self.account
            .cmp(other.account)
            .then_with(|| who(self).cmp(who(other)))
            .then_with(|| self.subject.cmp(other.subject))
    }
}

impl PartialOrd for Subject<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Subject<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Subject<'_> {}

/// The decisions of the identity findings, one per subject (the strongest: the lowest kind),
/// each as `keep` makes it, whose kind `kind` reads.
fn by_subject<'a, T>(
    by_arn: &ByArn<'a>,
    report: &'a IdentityReport,
    keep: impl Fn(Decision) -> T,
    kind: impl Fn(&T) -> DecisionKind,
) -> BTreeMap<Subject<'a>, T> {
    let mut by_subject: BTreeMap<Subject<'a>, T> = BTreeMap::new();
    for f in report.findings.iter() {
        let set = assignment(by_arn, f);
        if !f.actionable && set.is_none() {
            continue;
        }
        let Some(d) = decision(by_arn, f) else {
            continue;
        };
        // The decision's own texts (`decision` and `review_assignment` copy them from these).
        let key = Subject {
            account: &f.account_id,
            arn: &f.principal_arn,
            name: &f.principal_name,
            subject: set.unwrap_or(f.credential.as_deref().unwrap_or("")),
        };
        debug_assert_eq!(
            (key.account, key.arn, key.name, key.subject),
            (
                &*d.account_id,
                &*d.principal_arn,
                &*d.principal_name,
                &*d.subject
            )
        );
        match by_subject.get(&key) {
            Some(kept) if kind(kept) <= d.kind => {}
            _ => {
                // The key too is the new decision's (`insert` would keep the old key, whose
                // ARN and name may be split differently).
                by_subject.remove(&key);
                by_subject.insert(key, keep(d));
            }
        }
    }
    by_subject
}

/// The permission set of an unused IAM Identity Center role. Identity Center owns the role (it
/// is never deleted by hand); what a reviewer decides is whether the set's assignment to that
/// account is still needed: removing it (`aws sso-admin delete-account-assignment`) makes
/// Identity Center delete the role. Without an organisation part that names the set, the set
/// is the one the role's name gives (`AWSReservedSSO_<set>_<hash>`, flag
/// `managed_by_identity_center`).
fn assignment<'a>(by_arn: &ByArn<'a>, f: &IdentityFinding) -> Option<&'a str> {
    if f.kind != IdentityKind::UnusedRole {
        return None;
    }
    let role = by_arn.find(f, |p| p.kind == crate::model::PrincipalType::Role)?;
    role.permission_set.as_deref().or_else(|| {
        role.flags
            .contains(&crate::analysis::MANAGED_BY_IDENTITY_CENTER)
            .then(|| crate::model::organization::permission_set_of_role(role.name()))
            .flatten()
    })
}

fn decision(by_arn: &ByArn<'_>, f: &IdentityFinding) -> Option<Decision> {
    let who = format!("{} {}", f.principal_type.as_str(), f.principal_name);
    if let Some(set) = assignment(by_arn, f) {
        return review_assignment(by_arn, f, set);
    }
    let credential = f.credential.clone().unwrap_or_default();
    let key = credential.replace("access_key_", "");
    let kind = decision_kind(f.kind);
    let title = match f.kind {
        IdentityKind::RootAccessKey => format!(
            "Delete the root user's access key {key} in account {}",
            f.account_id
        ),
        IdentityKind::RootUsed => format!(
            "Review the root user's {} use in account {}",
            credential.replace('_', " "),
            f.account_id
        ),
        IdentityKind::RootWithoutMfa => {
            format!("Enable MFA on the root user of account {}", f.account_id)
        }
        IdentityKind::UnusedRole | IdentityKind::UnusedUser => format!("Delete unused {who}"),
        IdentityKind::AccessKeyUnused | IdentityKind::AccessKeyNeverUsed => {
            format!("Deactivate access key {key} of {who}")
        }
        IdentityKind::AccessKeyOld => format!("Rotate access key {key} of {who}"),
        IdentityKind::PasswordUnused => format!("Remove the console password of {who}"),
        IdentityKind::PasswordWithoutMfa => {
            format!("Require MFA for {who}, or remove its console password")
        }
        IdentityKind::GroupWithoutMembers => format!("Delete {who}: it has no members"),
        IdentityKind::PolicyUnattached => format!(
            "Delete customer managed policy {}: it is attached to nothing",
            f.principal_name
        ),
    };
    // Deleting a whole principal removes its unused permissions: they are the risk removed.
    let principal = if f.principal_arn.is_empty() {
        None
    } else {
        by_arn.find(f, |_| true)
    };
    // A break-glass role is rarely used by design: its decision is to confirm it, not delete it,
    // nor take away its unused credentials (the way in when it is needed). Its
    // `confirm_intentional` names them ([`intentional_credentials`]).
    if principal.is_some_and(|p| p.intentional.is_some()) && kind.spares_intentional() {
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
        id: super::DecisionId::default(),
        kind,
        sensitivity,
        score,
        account_id: f.account_id.as_str().into(),
        principal_type: f.principal_type,
        principal_name: f.principal_name.as_str().into(),
        principal_arn: f.principal_arn.as_str().into(),
        subject: credential.into(),
        title: title.into(),
        removes,
        risky_actions: std::sync::Arc::new([]),
        risky_more: 0,
        evidence: f.detail.as_str().into(),
        files: None,
        intentional: None,
    })
}

/// The evidence of the credential findings each intentional principal's `confirm_intentional`
/// holds instead of a decision of its own ([`DecisionKind::spares_intentional`]), by (account,
/// ARN), in the findings' order.
pub(super) fn intentional_credentials<'a>(
    by_arn: &ByArn<'_>,
    report: &'a IdentityReport,
) -> BTreeMap<(&'a str, &'a str), Vec<&'a str>> {
    let mut held: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for f in report
        .findings
        .iter()
        .filter(|f| f.actionable && f.credential.is_some())
    {
        // As `decision` spares them: the finding's principal is intentional access.
        let intentional = by_arn
            .find(f, |_| true)
            .is_some_and(|p| p.intentional.is_some());
        if intentional && decision_kind(f.kind).spares_intentional() {
            held.entry((&f.account_id, &f.principal_arn))
                .or_default()
                .push(&f.detail);
        }
    }
    held
}

/// The decision an identity finding of `kind` calls for (an unused Identity Center role's is
/// `review_permission_set_assignment` instead, [`assignment`]).
fn decision_kind(kind: IdentityKind) -> DecisionKind {
    match kind {
        IdentityKind::RootAccessKey => DecisionKind::DeleteRootAccessKey,
        IdentityKind::RootUsed => DecisionKind::ReviewRootUse,
        IdentityKind::RootWithoutMfa => DecisionKind::EnableRootMfa,
        IdentityKind::UnusedRole => DecisionKind::DeleteRole,
        IdentityKind::UnusedUser => DecisionKind::DeleteUser,
        IdentityKind::AccessKeyUnused | IdentityKind::AccessKeyNeverUsed => {
            DecisionKind::DeactivateAccessKey
        }
        IdentityKind::AccessKeyOld => DecisionKind::RotateAccessKey,
        IdentityKind::PasswordUnused => DecisionKind::RemovePassword,
        IdentityKind::PasswordWithoutMfa => DecisionKind::RequireMfa,
        IdentityKind::GroupWithoutMembers => DecisionKind::DeleteGroup,
        IdentityKind::PolicyUnattached => DecisionKind::DeletePolicy,
    }
}

/// `review_permission_set_assignment` for an unused IAM Identity Center role (none for an
/// intentional one: its permission set's `confirm_intentional` covers it).
fn review_assignment(by_arn: &ByArn<'_>, f: &IdentityFinding, set: &str) -> Option<Decision> {
    let role = by_arn.find(f, |_| true)?;
    if role.intentional.is_some() {
        return None;
    }
    let removes = role.unused_by_sensitivity;
    let sensitivity = highest(&removes).map_or(f.sensitivity, |s| s.max(f.sensitivity));
    Some(Decision {
        rank: 0,
        id: super::DecisionId::default(),
        kind: DecisionKind::ReviewPermissionSetAssignment,
        sensitivity,
        score: super::score(&removes).max(100 * f.sensitivity.weight()),
        account_id: f.account_id.as_str().into(),
        principal_type: f.principal_type,
        principal_name: f.principal_name.as_str().into(),
        principal_arn: f.principal_arn.as_str().into(),
        subject: set.into(),
        title: format!(
            "Review the assignment of permission set {set} to account {}: its role shows no use",
            f.account_id
        )
        .into(),
        removes,
        risky_actions: std::sync::Arc::new([]),
        risky_more: 0,
        evidence: format!(
            "{} IAM Identity Center owns the role: if nobody needs permission set {set} in this account, remove its account assignments (aws sso-admin list-account-assignments, delete-account-assignment) and Identity Center deletes the role.",
            f.detail
        )
        .into(),
        files: None,
        intentional: None,
    })
}

#[cfg(test)]
mod tests {
    /// Subjects compare as the texts the decisions were keyed by did: the account, the ARN
    /// followed by the name as one text, the subject (a split of the same text is equal).
    #[test]
    fn subjects_order_as_their_joined_texts() {
        let texts = ["", "a", "ab", "b", "a/b", "b/"];
        let mut all = Vec::new();
        for account in ["1", "12"] {
            for arn in texts {
                for name in texts {
                    for subject in ["", "k", "key"] {
                        all.push(super::Subject {
                            account,
                            arn,
                            name,
                            subject,
                        });
                    }
                }
            }
        }
        let joined = |s: &super::Subject<'_>| {
            (
                s.account.to_string(),
                format!("{}{}", s.arn, s.name),
                s.subject.to_string(),
            )
        };
        let mut equal_splits = 0;
        for a in &all {
            for b in &all {
                assert_eq!(a.cmp(b), joined(a).cmp(&joined(b)), "{a:?} {b:?}");
                assert_eq!(a == b, joined(a) == joined(b), "{a:?} {b:?}");
                equal_splits += usize::from(a == b && a.arn != b.arn);
            }
        }
        assert!(equal_splits > 0);
    }

    /// Finding a principal by (account, ARN) gives what a search of every principal in analysis
    /// order gives, for every principal of the sample, with and without a filter, and nothing for
    /// an unknown one.
    #[test]
    fn principals_by_arn_are_those_a_linear_search_finds() {
        let (_, _, an) = crate::sample_organization();
        let by_arn = super::ByArn::new(&an);
        let linear =
            |account: &str, arn: &str, keep: &dyn Fn(&crate::analysis::PrincipalInfo) -> bool| {
                an.principals
                    .iter()
                    .find(|p| *p.account_id == *account && p.arn() == arn && keep(p))
                    .map(std::ptr::from_ref)
            };
        let mut found = 0;
        for p in &an.principals {
            for keep in [
                &(|_: &crate::analysis::PrincipalInfo| true) as &dyn Fn(&_) -> bool,
                &|q: &crate::analysis::PrincipalInfo| q.kind != p.kind,
            ] {
                let got = by_arn
                    .find_by(&p.account_id, p.arn(), keep)
                    .map(std::ptr::from_ref);
                assert_eq!(got, linear(&p.account_id, p.arn(), keep), "{}", p.arn());
                found += usize::from(got.is_some());
            }
        }
        assert!(found >= an.principals.len());
        assert!(
            by_arn
                .find_by("000000000000", "arn:aws:iam::000000000000:role/x", |_| true)
                .is_none()
        );
        let first = &an.principals[0];
        assert!(
            by_arn
                .find_by(&first.account_id, "arn:none", |_| true)
                .is_none()
        );
    }
}
