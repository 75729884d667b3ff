//! Unit tests of the comparison on hand-built sides.

use super::*;
use crate::analysis::identities::{IdentityFinding, NotPossible};
use crate::analysis::identities::{IdentityKind, IdentityPrincipalType};
use crate::analysis::{BySensitivity, GrantedAction, Reason, Sensitivity, Status};
use crate::catalog::Catalog;
use std::collections::BTreeSet;

/// Permission set `Dev` (id `id`, of instance `ssoins-1`) provisioned to `accounts`.
fn dev_set(id: &str, accounts: &[&str]) -> crate::model::organization::PermissionSet {
    crate::model::organization::PermissionSet {
        arn: format!("arn:aws:sso:::permissionSet/ssoins-1/{id}"),
        id: id.into(),
        instance_id: "ssoins-1".into(),
        name: "Dev".into(),
        session_duration: None,
        inline_policy: None,
        inline_raw: None,
        inline_text: None,
        managed_policies: vec![],
        customer_managed_policies: vec![],
        boundary: None,
        accounts: accounts.iter().map(|a| a.to_string()).collect(),
    }
}

/// The IAM Identity Center role `name` of account `acct` (not actionable: the set is).
fn sso_role(acct: &str, name: &str) -> SidePrincipal {
    SidePrincipal {
        arn: format!("arn:aws:iam::{acct}:role/aws-reserved/sso.amazonaws.com/{name}"),
        actionable: false,
        ..principal(acct, name, &format!("AROA{acct}"))
    }
}

fn principal(acct: &str, name: &str, id: &str) -> SidePrincipal {
    SidePrincipal {
        account_id: acct.into(),
        principal_type: "role".into(),
        name: name.into(),
        arn: format!("arn:aws:iam::{acct}:role/{name}"),
        id: id.into(),
        created: None,
        actionable: true,
        gaps: Default::default(),
    }
}

/// A principal × action of a hand-built side.
struct F {
    arn: String,
    actions: Vec<&'static str>,
    status: Status,
    sensitivity: Sensitivity,
    excluded: bool,
}

fn finding(p: &SidePrincipal, action: &'static str, status: Status, s: Sensitivity) -> F {
    group(p, &[action], status, s)
}

/// A group of actions with one verdict.
fn group(p: &SidePrincipal, actions: &[&'static str], status: Status, s: Sensitivity) -> F {
    F {
        arn: p.arn.clone(),
        actions: actions.to_vec(),
        status,
        sensitivity: s,
        excluded: false,
    }
}

fn reason(status: Status) -> Reason {
    match status {
        Status::Used => Reason::AccessedInWindow,
        Status::Unused => Reason::ServiceNotAccessed,
        Status::Unknown => Reason::ActionNotTracked,
    }
}

fn side(accounts: &[&str], principals: &[&SidePrincipal], findings: Vec<F>) -> Side {
    let cat = Catalog::embedded();
    let mut side = Side::new(accounts.iter().map(|a| a.to_string()).collect());
    let mut index = std::collections::BTreeMap::new();
    for p in principals {
        index.insert(p.arn.clone(), side.add_principal((*p).clone()));
    }
    for f in findings {
        let Some(p) = index.get(&f.arn) else { continue };
        let actions = f
            .actions
            .iter()
            .map(|a| {
                GrantedAction::new(
                    cat.lookup_full(a).expect("a catalog action"),
                    f.sensitivity,
                    0,
                )
            })
            .collect();
        side.add_group(
            *p,
            actions,
            GroupState {
                status: f.status,
                reason: reason(f.status),
                last_accessed: None,
                granted_by: "inline:p",
                excluded: f.excluded,
            },
        );
    }
    side
}

fn cmp(old: &Side, new: &Side) -> Vec<Change> {
    compare(old, new, Catalog::embedded())
}

fn kinds(changes: &[Change]) -> Vec<(ChangeKind, String, String)> {
    changes
        .iter()
        .map(|c| (c.kind, c.principal_name.clone(), c.action.clone()))
        .collect()
}

#[test]
fn status_transitions() {
    use ChangeKind::*;
    use Status::*;
    let table = [
        (Used, Used, UnchangedUsed),
        (Used, Unused, NewlyUnused),
        (Used, Unknown, NewlyUnknown),
        (Unused, Used, NewlyUsed),
        (Unused, Unused, StillUnused),
        (Unused, Unknown, NewlyUnknown),
        (Unknown, Used, NewlyUsed),
        (Unknown, Unknown, StillUnknown),
    ];
    for (o, n, k) in table {
        for reason in Reason::ALL.into_iter().filter(|r| r.status() == o) {
            assert_eq!(ChangeKind::of_verdicts(o, reason, n), k, "{o:?} → {n:?}");
        }
    }
    // Unknown, then unused: newly unused only where the old side saw a use.
    for (reason, k) in [
        (Reason::NoLastAccessedData, UnusedWasUnknown),
        (Reason::PrincipalTooNew, UnusedWasUnknown),
        (Reason::GrantTooNew, UnusedWasUnknown),
        (Reason::NotObservable, UnusedWasUnknown),
        (Reason::PermissionSetIncomplete, UnusedWasUnknown),
        (Reason::ActionNotTracked, NewlyUnused),
        (Reason::AccessedAfterAsOf, NewlyUnused),
    ] {
        assert_eq!(
            ChangeKind::of_verdicts(Unknown, reason, Unused),
            k,
            "{reason:?}"
        );
    }
}

#[test]
fn kind_names_are_snake_case_and_ordered() {
    for (i, k) in ChangeKind::ALL.iter().enumerate() {
        assert_eq!(
            serde_json::to_value(k).ok(),
            Some(serde_json::Value::from(k.as_str()))
        );
        if let Some(next) = ChangeKind::ALL.get(i + 1) {
            assert!(k < next);
        }
    }
}

#[test]
fn every_kind_from_a_hand_built_pair() {
    let a = principal("111111111111", "a", "AROA1");
    let a2 = principal("111111111111", "a", "AROA2");
    let gone = principal("111111111111", "gone", "AROA3");
    let fresh = principal("111111111111", "fresh", "AROA4");
    let closed = principal("333333333333", "x", "AROA5");
    let opened = principal("444444444444", "y", "AROA6");
    use Sensitivity::*;
    use Status::*;
    let old = side(
        &["111111111111", "333333333333"],
        &[&a, &gone, &closed],
        vec![
            finding(&a, "s3:DeleteBucket", Unused, Critical),
            finding(&a, "ec2:TerminateInstances", Used, High),
            finding(&a, "ec2:CreateTags", Unused, Medium),
            finding(&a, "ec2:CreateFleet", Unused, High),
            finding(&a, "ec2:DescribeInstances", Used, Low),
            finding(&a, "autoscaling:DescribeTags", Unknown, Low),
            finding(&a, "s3:GetObject", Used, Low),
            finding(&gone, "sqs:SendMessage", Unused, Medium),
        ],
    );
    let new = side(
        &["111111111111", "444444444444"],
        &[&a2, &fresh, &opened],
        vec![
            finding(&a2, "lambda:PublishVersion", Unknown, High),
            finding(&a2, "ec2:TerminateInstances", Unused, High),
            finding(&a2, "ec2:CreateTags", Used, Medium),
            finding(&a2, "ec2:CreateFleet", Unused, High),
            finding(&a2, "ec2:DescribeInstances", Used, Low),
            finding(&a2, "autoscaling:DescribeTags", Unknown, Low),
            finding(&a2, "s3:GetObject", Unknown, Low),
            finding(&fresh, "iam:PassRole", Unknown, Critical),
        ],
    );
    let changes = cmp(&old, &new);
    let s = |x: &str| x.to_string();
    use ChangeKind::*;
    assert_eq!(
        kinds(&changes),
        vec![
            (AccountAdded, s(""), s("")),
            (AccountRemoved, s(""), s("")),
            (PrincipalAdded, s("fresh"), s("")),
            (PrincipalAdded, s("y"), s("")),
            (PrincipalRemoved, s("gone"), s("")),
            (PrincipalRemoved, s("x"), s("")),
            (PrincipalRecreated, s("a"), s("")),
            (NewlyGranted, s("a"), s("lambda:PublishVersion")),
            (NewlyUnused, s("a"), s("ec2:TerminateInstances")),
            (Revoked, s("a"), s("s3:DeleteBucket")),
            (NewlyUsed, s("a"), s("ec2:CreateTags")),
            (NewlyUnknown, s("a"), s("s3:GetObject")),
            (StillUnused, s("a"), s("ec2:CreateFleet")),
            (StillUnknown, s("a"), s("autoscaling:DescribeTags")),
            (UnchangedUsed, s("a"), s("ec2:DescribeInstances")),
        ]
    );
    let added = &changes[2];
    assert_eq!(added.new_sensitivity, Some(Critical));
    assert_eq!(added.detail, "1 granted: 0 used, 0 unused, 1 unknown");
    assert_eq!(
        changes[6].detail,
        "id AROA1 → AROA2; created unknown → unknown"
    );
    let counts = KindCounts::of(&changes);
    assert_eq!(counts.changes(), 12);
    let risk = NewRisk::compute(&changes, &new);
    assert_eq!(risk.newly_granted.high, 1);
    assert_eq!(risk.newly_unused.high, 1);
    assert_eq!(risk.added_principals.critical, 1);
    assert_eq!(risk.at_or_above(Critical), 1);
    assert_eq!(risk.at_or_above(High), 3);
}

#[test]
fn excluded_and_service_linked_are_not_new_risk() {
    let mut p = principal("111111111111", "svc", "AROA1");
    p.actionable = false;
    let q = principal("111111111111", "q", "AROA2");
    let old = side(&["111111111111"], &[&p, &q], vec![]);
    let mut excluded = finding(&q, "iam:CreateUser", Status::Unused, Sensitivity::Critical);
    excluded.excluded = true;
    let new = side(
        &["111111111111"],
        &[&p, &q],
        vec![
            finding(&p, "iam:CreateRole", Status::Unused, Sensitivity::Critical),
            excluded,
        ],
    );
    let changes = cmp(&old, &new);
    assert_eq!(KindCounts::of(&changes).newly_granted, 2);
    assert_eq!(
        NewRisk::compute(&changes, &new).at_or_above(Sensitivity::Low),
        0
    );
}

/// An action granted on one side only is `grant_unknown` where the other side may lack the grant
/// (a policy or group missing there) or this side may lack the boundary that takes it away; else
/// revoked or newly granted, whatever else the export lacks.
#[test]
fn a_side_lacking_policies_makes_one_sided_grants_unknown() {
    use Sensitivity::*;
    use Status::*;
    let case = |old_gaps: Gaps, new_gaps: Gaps| {
        let mut o = principal("111111111111", "a", "AROA1");
        let mut n = o.clone();
        (o.gaps, n.gaps) = (old_gaps, new_gaps);
        let old = side(
            &["111111111111"],
            &[&o],
            vec![finding(&o, "s3:DeleteBucket", Unused, Critical)],
        );
        let new = side(
            &["111111111111"],
            &[&n],
            vec![finding(&n, "iam:CreateUser", Unused, Critical)],
        );
        let changes = cmp(&old, &new);
        let risk = NewRisk::compute(&changes, &new).at_or_above(Low);
        let kinds: Vec<(ChangeKind, String)> =
            changes.iter().map(|c| (c.kind, c.action.clone())).collect();
        (kinds, KindCounts::of(&changes).changes(), risk, changes)
    };
    let pairs = |want: &[(ChangeKind, &str)]| -> Vec<(ChangeKind, String)> {
        want.iter().map(|(k, a)| (*k, a.to_string())).collect()
    };
    let none = Gaps::default();
    let lacks_grants = Gaps {
        lacks_grants: true,
        ..none
    };
    let lacks_boundary = Gaps {
        lacks_boundary: true,
        ..none
    };
    use ChangeKind::*;
    let (k, changed, risk, _) = case(none, none);
    assert_eq!(
        k,
        pairs(&[
            (NewlyGranted, "iam:CreateUser"),
            (Revoked, "s3:DeleteBucket")
        ])
    );
    assert_eq!((changed, risk), (2, 1));
    // The new side lacks a policy: what the old side held may still be granted (an Allow of the
    // policy): not a change. What the new side holds may be taken away (a Deny of it), but a
    // new grant stays new risk (a missing policy must not silence --fail-on-new), said so.
    let (k, changed, risk, c) = case(none, lacks_grants);
    assert_eq!(
        k,
        pairs(&[
            (NewlyGranted, "iam:CreateUser"),
            (GrantUnknown, "s3:DeleteBucket"),
        ])
    );
    assert_eq!((changed, risk), (1, 1));
    assert!(
        c[1].detail.contains(
            "the new side's export lacks a managed policy or group of this principal \
                       (policy_missing, group_missing), which may grant these actions"
        ),
        "{}",
        c[1].detail
    );
    assert!(
        c[0].detail.contains(
            "The new side's export lacks a managed policy or group of this principal \
                       (policy_missing, group_missing), which may deny some of these actions"
        ),
        "{}",
        c[0].detail
    );
    // The old side lacks one: what it held may have been denied (not a revocation), what the
    // new side holds may have been granted by it (not a new grant).
    let (k, changed, risk, c) = case(lacks_grants, none);
    let unknown = [
        (GrantUnknown, "iam:CreateUser"),
        (GrantUnknown, "s3:DeleteBucket"),
    ];
    assert_eq!(k, pairs(&unknown));
    assert_eq!((changed, risk), (0, 0));
    let ends = "which may grant these actions; whether they changed is unknown.";
    assert!(c[0].detail.contains("the old side's export lacks") && c[0].detail.ends_with(ends));
    assert!(
        c[1].detail.contains("which may deny these actions"),
        "{}",
        c[1].detail
    );
    // A side without its boundary may hold actions the boundary takes away.
    let (k, _, risk, c) = case(none, lacks_boundary);
    assert_eq!(
        k,
        pairs(&[
            (Revoked, "s3:DeleteBucket"),
            (GrantUnknown, "iam:CreateUser")
        ])
    );
    assert_eq!(risk, 0);
    assert!(
        c[1].detail
            .contains("the new side's export lacks this principal's permissions boundary"),
        "{}",
        c[1].detail
    );
    let (k, _, _, _) = case(lacks_boundary, none);
    assert_eq!(
        k,
        pairs(&[
            (NewlyGranted, "iam:CreateUser"),
            (GrantUnknown, "s3:DeleteBucket")
        ])
    );
}

fn identity(acct: &str, name: &str, kind: IdentityKind, s: Sensitivity) -> IdentityFinding {
    IdentityFinding {
        rank: 0,
        account_id: acct.into(),
        kind,
        principal_type: IdentityPrincipalType::User,
        principal_name: name.into(),
        principal_arn: format!("arn:aws:iam::{acct}:user/{name}"),
        credential: Some("access_key_1".into()),
        sensitivity: s,
        actionable: true,
        last_used: None,
        age_days: None,
        days_unused: None,
        detail: "evidence.".into(),
    }
}

const A_ACCOUNT: &str = "111111111111";
const B_ACCOUNT: &str = "222222222222";

/// An old side of two accounts with three identity findings: one the new side keeps, one it
/// resolves, one (of account B) it may not be able to check.
fn old_identities() -> Side {
    use IdentityKind::AccessKeyOld;
    let (a, b) = (A_ACCOUNT, B_ACCOUNT);
    let mut old = Side::new(vec![a.into(), b.into()]);
    old.identities = vec![
        identity(a, "kept", AccessKeyOld, Sensitivity::High),
        identity(a, "rotated", AccessKeyOld, Sensitivity::High),
        identity(
            b,
            "unchecked",
            IdentityKind::AccessKeyUnused,
            Sensitivity::High,
        ),
    ];
    old
}

#[test]
fn identity_findings_new_resolved_unknown_unchanged() {
    use IdentityKind::*;
    use Sensitivity::*;
    let (a, b) = (A_ACCOUNT, B_ACCOUNT);
    let old = old_identities();
    let mut svc = identity(a, "svc", UnusedRole, Critical);
    svc.actionable = false;
    svc.credential = None;
    let mut new = Side::new(vec![a.into(), b.into()]);
    new.identities = vec![
        identity(a, "kept", AccessKeyOld, High),
        identity(a, "gone-quiet", AccessKeyUnused, High),
        identity(a, "nomfa", PasswordWithoutMfa, Medium),
        svc,
    ];
    new.identity_checks_not_possible = vec![NotPossible {
        account_id: b.into(),
        check: AccessKeyUnused,
        reason: "no credential report".into(),
        only: None,
    }];
    let changes = cmp(&old, &new);
    let s = |x: &str| x.to_string();
    use ChangeKind::*;
    assert_eq!(
        kinds(&changes),
        vec![
            (IdentityNew, s("svc"), s("unused_role")),
            (IdentityNew, s("gone-quiet"), s("access_key_unused")),
            (IdentityNew, s("nomfa"), s("password_without_mfa")),
            (IdentityResolved, s("rotated"), s("access_key_old")),
            (IdentityUnknown, s("unchecked"), s("access_key_unused")),
            (IdentityUnchanged, s("kept"), s("access_key_old")),
        ]
    );
    assert!(
        changes[4].detail.contains("no credential report"),
        "{}",
        changes[4].detail
    );
    assert!(changes[1].detail.starts_with("credential access_key_1: "));
    let counts = KindCounts::of(&changes);
    assert_eq!(counts.changes(), 4); // 3 new + 1 resolved; unknown and unchanged are not
    let risk = NewRisk::compute(&changes, &new);
    // The service-linked role is not actionable.
    assert_eq!(risk.identity_new.critical, 0);
    assert_eq!(risk.at_or_above(High), 1);
    assert_eq!(risk.at_or_above(Medium), 2);
}

fn user(acct: &str, name: &str, id: &str) -> SidePrincipal {
    SidePrincipal {
        principal_type: "user".into(),
        arn: format!("arn:aws:iam::{acct}:user/{name}"),
        ..principal(acct, name, id)
    }
}

/// A user renamed (same id) keeps its identity findings under its new name and ARN, even those
/// only on the old side: its old name may be another user's now (a new user, or one removed
/// whose own findings must not be lost or matched with the renamed user's).
#[test]
fn identity_findings_of_a_renamed_user_go_by_its_new_name() {
    use IdentityKind::*;
    use Sensitivity::*;
    let a = A_ACCOUNT;
    let arn = |n: &str| format!("arn:aws:iam::{a}:user/{n}");
    let (alice, alice2) = (user(a, "alice", "AIDAA"), user(a, "alice2", "AIDAB"));
    let mut old = side(&[a], &[&alice, &alice2], vec![]);
    old.identities = vec![
        identity(a, "alice", AccessKeyOld, High),
        identity(a, "alice2", AccessKeyOld, High),
    ];
    // alice2 (AIDAB) is removed and alice (AIDAA) renamed alice2, its key rotated.
    let renamed = user(a, "alice2", "AIDAA");
    let new = side(&[a], &[&renamed], vec![]);
    let changes = cmp(&old, &new);
    let resolved: Vec<&Change> = changes
        .iter()
        .filter(|c| c.kind == ChangeKind::IdentityResolved)
        .collect();
    assert_eq!(resolved.len(), 2, "{changes:#?}");
    for c in &resolved {
        assert_eq!(
            (c.principal_name.as_str(), &c.principal_arn),
            ("alice2", &arn("alice2"))
        );
    }
    let olds: BTreeSet<&str> = resolved
        .iter()
        .map(|c| {
            c.identity
                .as_ref()
                .unwrap()
                .old
                .as_ref()
                .unwrap()
                .principal_name
                .as_str()
        })
        .collect();
    assert_eq!(olds, BTreeSet::from(["alice", "alice2"]));
    let says = format!("Renamed: the old side names it alice ({}).", arn("alice"));
    assert_eq!(
        resolved
            .iter()
            .filter(|c| c.detail.ends_with(&says))
            .count(),
        1
    );
    assert_eq!(KindCounts::of(&changes).identity_resolved, 2);

    // alice renamed alice2 and a new user alice: the renamed user's old finding is resolved (or
    // unknown) under alice2, the new alice's finding is new under alice.
    let newcomer = user(a, "alice", "AIDAC");
    let old = {
        let mut s = side(&[a], &[&alice], vec![]);
        s.identities = vec![identity(a, "alice", AccessKeyOld, High)];
        s
    };
    let mut new = side(&[a], &[&renamed, &newcomer], vec![]);
    new.identities = vec![identity(a, "alice", AccessKeyUnused, High)];
    let rows = |changes: &[Change]| -> Vec<(ChangeKind, String, String)> {
        changes
            .iter()
            .filter(|c| c.kind.is_identity())
            .map(|c| (c.kind, c.principal_name.clone(), c.principal_arn.clone()))
            .collect()
    };
    use ChangeKind::*;
    assert_eq!(
        rows(&cmp(&old, &new)),
        vec![
            (IdentityNew, "alice".into(), arn("alice")),
            (IdentityResolved, "alice2".into(), arn("alice2")),
        ]
    );
    new.identity_checks_not_possible = vec![NotPossible {
        account_id: a.into(),
        check: AccessKeyOld,
        reason: "no credential report".into(),
        only: None,
    }];
    assert_eq!(
        rows(&cmp(&old, &new)),
        vec![
            (IdentityNew, "alice".into(), arn("alice")),
            (IdentityUnknown, "alice2".into(), arn("alice2")),
        ]
    );
}

/// Groups equal on both sides are compared whole; a group split on one side is compared action
/// by action, and cells with the same kind and verdicts become one row.
#[test]
fn groups_compare_whole_or_split() {
    use Sensitivity::*;
    use Status::*;
    let a = principal("111111111111", "a", "AROA1");
    let ec2 = ["ec2:CreateFleet", "ec2:CreateTags", "ec2:RunInstances"];
    let s3 = ["s3:GetObject", "s3:PutObject"];
    let old = side(
        &["111111111111"],
        &[&a],
        vec![group(&a, &ec2, Unused, High), group(&a, &s3, Used, Low)],
    );
    let new = side(
        &["111111111111"],
        &[&a],
        vec![
            group(&a, &ec2[..2], Unused, High),
            group(&a, &ec2[2..], Used, Critical),
            group(&a, &s3, Used, Low),
            group(&a, &["sqs:SendMessage"], Unused, Medium),
        ],
    );
    let changes = cmp(&old, &new);
    let rows: Vec<(ChangeKind, usize, Option<Sensitivity>, Option<Sensitivity>)> = changes
        .iter()
        .map(|c| {
            (
                c.kind,
                c.actions.len(),
                c.old_sensitivity,
                c.new_sensitivity,
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (ChangeKind::NewlyGranted, 1, None, Some(Medium)),
            (ChangeKind::NewlyUsed, 1, Some(High), Some(Critical)),
            (ChangeKind::StillUnused, 2, Some(High), Some(High)),
            (ChangeKind::UnchangedUsed, 2, Some(Low), Some(Low)),
        ]
    );
    assert_eq!(KindCounts::of(&changes).still_unused, 2);
    assert_eq!(KindCounts::rows_of(&changes).still_unused, 1);
    // The newly used action counts by its new sensitivity; the row sorts by the higher one.
    assert_eq!(changes[1].by_sensitivity().critical, 1);
    let mut n = Notations::new(Catalog::embedded());
    assert_eq!(n.of(&changes[2].actions), "ec2:CreateFleet ec2:CreateTags");
    // Expanded, each action is one row, in the per-action order.
    let mut names = Vec::new();
    per_action(
        &changes,
        Catalog::embedded(),
        &NameOrder::new(Catalog::embedded()),
        |a| names.push((a.kind, a.action)),
    );
    assert_eq!(names.len(), 6);
    assert_eq!(
        names[0],
        (ChangeKind::NewlyGranted, "sqs:SendMessage".into())
    );
    assert_eq!(names[3], (ChangeKind::StillUnused, "ec2:CreateTags".into()));
}

/// Two old groups with the same verdict that meet in one new group give one row.
#[test]
fn cells_with_the_same_verdicts_merge() {
    use Sensitivity::*;
    use Status::*;
    let a = principal("111111111111", "a", "AROA1");
    let old = side(
        &["111111111111"],
        &[&a],
        vec![
            group(&a, &["ec2:CreateFleet"], Unused, High),
            group(&a, &["ec2:CreateTags"], Unused, Medium),
        ],
    );
    let new = side(
        &["111111111111"],
        &[&a],
        vec![group(
            &a,
            &["ec2:CreateFleet", "ec2:CreateTags"],
            Unused,
            High,
        )],
    );
    let changes = cmp(&old, &new);
    assert_eq!(changes.len(), 1, "{changes:#?}");
    assert_eq!(changes[0].actions.len(), 2);
    assert_eq!(changes[0].old_sensitivity, Some(High));
    assert_eq!(changes[0].actions[1].old, Some(Medium));
}

/// A diff of `n` principals per permission table, with names, paths and policy lists as long as
/// IAM allows and actions in many services: the largest page the model can give.
fn big_model(n: usize) -> DiffModel {
    let cat = Catalog::embedded();
    let services: Vec<&str> = cat.services().take(15).collect();
    let policy = format!("group:{}/aws:{}", "g".repeat(128), "P".repeat(128));
    let long: Vec<String> = (0..20).map(|i| format!("{policy}{i}")).collect();
    let granted_by = long.join("; ");
    let mut old = Side::new(vec!["111111111111".into()]);
    let mut new = Side::new(vec!["111111111111".into()]);
    for i in 0..3 * n {
        let name = format!("{}{i:06}", "r".repeat(58));
        let p = SidePrincipal {
            account_id: "111111111111".into(),
            principal_type: "role".into(),
            arn: format!("arn:aws:iam::111111111111:role/{}/{name}", "p".repeat(500)),
            name,
            id: format!("AROA{i}"),
            created: None,
            actionable: true,
            gaps: Default::default(),
        };
        let (o, nw) = (old.add_principal(p.clone()), new.add_principal(p));
        for svc in &services {
            let actions: Vec<GrantedAction> = cat
                .service_actions(svc)
                .map(|id| GrantedAction::new(id, Sensitivity::High, 0))
                .collect();
            let state = GroupState {
                status: Status::Unused,
                reason: Reason::ServiceNotAccessed,
                last_accessed: None,
                granted_by: &granted_by,
                excluded: false,
            };
            // Still unused, revoked, newly granted: n principals each.
            if i / n != 2 {
                old.add_group(o, actions.clone(), state);
            }
            if i / n != 1 {
                new.add_group(nw, actions, state);
            }
        }
    }
    model_of(&old, &new)
}

/// The diff model of two hand-built sides (one account), as `diff` builds it.
fn model_of(old: &Side, new: &Side) -> DiffModel {
    use crate::analysis::Counts;
    use crate::diff::model::{BuildInput, DiffSettings, SideMeta};
    let cat = Catalog::embedded();
    let changes = compare(old, new, cat);
    let limits = DiffLimits::default();
    let mut collected = Collector::new(limits);
    collected.add(old, new, &changes, &mut Notations::new(cat));
    let meta = |path: &str| SideMeta {
        path: path.into(),
        accounts: Vec::new(),
        principals: 0,
        totals: Counts::default(),
        unused_by_sensitivity: Default::default(),
        warnings: 0,
        organization: None,
    };
    DiffModel::build(BuildInput {
        old_meta: meta("old"),
        new_meta: meta("new"),
        collected,
        catalog: crate::report::model::CatalogInfo {
            source: "test".into(),
            version: "1".into(),
            updated: "2026-01-01".into(),
            actions: cat.len(),
        },
        settings: DiffSettings {
            unused_after_days: 90,
            config_file: None,
            csv: CsvOptions::default(),
        },
        limits,
        organization_notes: Vec::new(),
    })
}

/// However large the organisation and its names, diff.html stays under 10 MB: tables are capped
/// at `html_table` policy groups, each group's detail at `html_parts` rows and `html_names`
/// names, and the page drops rows when it would still be larger.
#[test]
fn diff_html_is_bounded() {
    let m = big_model(300);
    assert_eq!(m.tables.still_unused.total_groups, 300);
    assert_eq!(m.tables.revoked.total_groups, 300);
    assert_eq!(m.tables.new_risk.total_groups, 300);
    assert_eq!(m.tables.still_unused.groups.len(), m.limits.html_table);
    let g = &m.tables.revoked.groups[0];
    assert_eq!(g.parts.len(), m.limits.html_parts);
    assert_eq!(g.names.len(), m.limits.html_names);
    // diff.json's rows: the first of each kind, capped, the rest counted.
    for k in ChangeKind::ALL {
        let kept = m.rows.iter().filter(|r| r.kind == k).count() as u64;
        assert_eq!(kept + m.rows_omitted.get(k), m.row_counts.get(k), "{k:?}");
    }
    assert_eq!(m.row_counts.still_unused, 300 * 15);
    assert_eq!(
        m.rows
            .iter()
            .filter(|r| r.kind == ChangeKind::StillUnused)
            .count(),
        m.limits.per_unchanged_kind
    );
    let html = html::render_within(&m, html::MAX_BYTES).expect("render");
    assert!(html.len() <= html::MAX_BYTES, "{} bytes", html.len());
    assert!(html.contains("; the first 200 are shown, 100 more are in diff.csv"));
    // Squeezed further, it drops rows and says so.
    let small = html::render_within(&m, 2_000_000).expect("render");
    assert!(small.len() <= 2_000_000, "{} bytes", small.len());
    assert!(small.contains("are shown, "));
    assert!(!small.contains("; the first 200 are shown"));
}

/// diff.html lists `grant_unknown` groups under "Not settled" with their reason, and what an
/// export names there (principal, granting policies) is escaped like everywhere on the page.
#[test]
fn not_settled_rows_are_listed_and_escaped() {
    use Sensitivity::*;
    use Status::*;
    let hostile = "<img src=x onerror=alert(1)>";
    let mut o = principal("111111111111", hostile, "AROA1");
    let old = side(
        &["111111111111"],
        &[&o],
        vec![finding(&o, "s3:DeleteBucket", Unused, Critical)],
    );
    o.gaps.lacks_grants = true;
    let new = side(&["111111111111"], &[&o], vec![]);
    let m = model_of(&old, &new);
    assert_eq!(m.counts.grant_unknown, 1);
    assert_eq!(m.tables.not_settled.total_groups, 1);
    let g = &m.tables.not_settled.groups[0];
    assert_eq!(g.reasons.len(), 1);
    assert!(
        g.reasons[0].starts_with("Not comparable: the new side"),
        "{g:?}"
    );
    let html = html::render_within(&m, html::MAX_BYTES).expect("render");
    assert!(!html.contains(hostile), "unescaped");
    let start = html.find("id=\"not-settled-table\"").expect("the table");
    let table = &html[start..start + html[start..].find("</table>").expect("its end")];
    assert!(
        table.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{table}"
    );
    assert!(table.contains("Not comparable: the new side"), "{table}");
    assert!(table.contains("→ grant unknown</td>"), "{table}");
}

/// diff.csv, in both forms and both ways of writing it (in one go, or account by account
/// through its parts), leaves out only the four unchanged kinds without `--include-unchanged`:
/// `identity_unknown` (an old finding the new side could not check) is written, as diff.json
/// counts it and diff.html points to it.
#[test]
fn diff_csv_leaves_out_only_the_unchanged_kinds() {
    use IdentityKind::*;
    use Sensitivity::*;
    let (a, b) = (A_ACCOUNT, B_ACCOUNT);
    let old = old_identities();
    let mut new = Side::new(vec![a.into(), b.into()]);
    new.identities = vec![identity(a, "kept", AccessKeyOld, High)];
    new.identity_checks_not_possible = vec![NotPossible {
        account_id: b.into(),
        check: AccessKeyUnused,
        reason: "no credential report".into(),
        only: None,
    }];
    let changes = cmp(&old, &new);
    let cat = Catalog::embedded();
    let kinds_of = |bytes: &[u8]| -> Vec<String> {
        let mut r = ::csv::Reader::from_reader(bytes);
        r.records().map(|r| r.unwrap()[0].to_string()).collect()
    };
    for per_action in [false, true] {
        for include_unchanged in [false, true] {
            let opts = CsvOptions {
                per_action,
                include_unchanged,
            };
            let mut want = vec!["identity_resolved", "identity_unknown"];
            if include_unchanged {
                want.push("identity_unchanged");
            }
            let mut one_go = Vec::new();
            csv::write_changes(&changes, opts, &mut Notations::new(cat), &mut one_go).unwrap();
            assert_eq!(kinds_of(&one_go), want, "{opts:?}");
            let dir = tempfile::tempdir().unwrap();
            let mut run = DiffRun::new(dir.path(), cat, opts, DiffLimits::default());
            run.account(a, &old, &new).unwrap();
            let (_, path) = run.finish_csv().unwrap();
            assert_eq!(kinds_of(&std::fs::read(path).unwrap()), want, "{opts:?}");
        }
    }
}

/// diff.html's permission tables keep, rank and label a group by the sensitivity its counts
/// count: the new side's (the old side's for revoked). An action critical before and medium now
/// (the iam:PassRole that made it critical is gone) that fell out of use is not new high risk,
/// as `new_risk` and `--fail-on-new` say; actions critical before and high or medium now are
/// high, not critical.
#[test]
fn permission_tables_go_by_the_sensitivity_they_count() {
    use Sensitivity::*;
    use Status::*;
    let acct = "111111111111";
    let [a, b, c, d] = ["a", "b", "c", "d"].map(|n| principal(acct, n, &format!("AROA{n}")));
    let run_terminate = ["ec2:RunInstances", "ec2:TerminateInstances"];
    let old = side(
        &[acct],
        &[&a, &b, &c, &d],
        vec![
            finding(&a, "ec2:RunInstances", Used, Critical),
            group(&b, &run_terminate, Used, Critical),
            finding(&c, "ec2:RunInstances", Unused, Critical),
            finding(&d, "iam:PassRole", Unused, Critical),
            finding(&d, "ec2:RunInstances", Unused, Critical),
        ],
    );
    let new = side(
        &[acct],
        &[&a, &b, &c, &d],
        vec![
            finding(&a, "ec2:RunInstances", Unused, Medium),
            finding(&b, "ec2:RunInstances", Unused, Medium),
            finding(&b, "ec2:TerminateInstances", Unused, High),
            finding(&c, "ec2:RunInstances", Unused, Medium),
            finding(&d, "ec2:RunInstances", Unused, Medium),
        ],
    );
    let changes = cmp(&old, &new);
    let risk = NewRisk::compute(&changes, &new);
    assert_eq!((risk.newly_unused.critical, risk.newly_unused.high), (0, 1));
    let mut collected = Collector::new(DiffLimits::default());
    collected.add(
        &old,
        &new,
        &changes,
        &mut Notations::new(Catalog::embedded()),
    );
    let mut table = |id| {
        let (groups, total, _) = collected.table(id);
        assert_eq!(total, groups.len() as u64);
        groups
    };
    use collect::TableId;
    use policies::PolicyGroup;
    let labels = |groups: &[PolicyGroup]| -> Vec<(String, Option<Sensitivity>)> {
        groups
            .iter()
            .map(|g| (g.principal_name.clone(), g.sensitivity))
            .collect()
    };
    let new_risk = table(TableId::NewRisk);
    assert_eq!(labels(&new_risk), vec![("b".into(), Some(High))]);
    let g = &new_risk[0];
    let by = g.by_sensitivity;
    assert_eq!((by.critical, by.high, by.medium), (0, 1, 1));
    assert!(
        g.parts.iter().all(|p| p.sensitivity <= Some(High)),
        "{g:#?}"
    );
    assert_eq!(
        labels(&table(TableId::StillUnused)),
        vec![("c".into(), Some(Medium)), ("d".into(), Some(Medium))]
    );
    assert_eq!(
        labels(&table(TableId::Revoked)),
        vec![("d".into(), Some(Critical))]
    );
}

/// The actions newly granted to a permission set are new risk (`--fail-on-new`) once per set,
/// whatever the number of its roles, at the highest new sensitivity among them; those an
/// exclusion covers are not. Its roles' rows stay not actionable (not counted per role).
#[test]
fn a_permission_sets_new_grants_are_new_risk_once_per_set() {
    use Sensitivity::*;
    use Status::*;
    let name = "AWSReservedSSO_ReadOnly_0a1b2c3d4e5f6789";
    let (a, b) = (sso_role(A_ACCOUNT, name), sso_role(B_ACCOUNT, name));
    let accounts = [A_ACCOUNT, B_ACCOUNT];
    let old = side(&accounts, &[&a, &b], vec![]);
    let mut excluded = finding(&a, "s3:DeleteBucket", Unused, Critical);
    excluded.excluded = true;
    let new = side(
        &accounts,
        &[&a, &b],
        vec![
            finding(&a, "iam:CreateUser", Unused, Critical),
            finding(&b, "iam:CreateUser", Unused, High),
            finding(&b, "ec2:RunInstances", Unused, Medium),
            excluded,
        ],
    );
    let changes = cmp(&old, &new);
    assert_eq!(KindCounts::of(&changes).newly_granted, 4);
    assert_eq!(NewRisk::compute(&changes, &new).at_or_above(Low), 0);
    let m = model_of(&old, &new);
    let set = &m.permission_sets[0];
    assert_eq!(set.newly_granted_actions, 3);
    let want = BySensitivity {
        critical: 1,
        medium: 1,
        ..BySensitivity::default()
    };
    assert_eq!(set.newly_granted_by_sensitivity, want);
    assert_eq!(m.new_risk.permission_sets, want);
    assert_eq!(m.new_risk.at_or_above(Critical), 1);
    assert_eq!(m.new_risk.at_or_above(Low), 2);
    assert_eq!(m.headline.new_risk_high_plus, 1);
}

/// An action one of a permission set's roles stopped using is new risk once per set, at the
/// highest new sensitivity among its roles, as a newly granted one is: the roles' own rows are
/// not actionable, so `--fail-on-new critical` passed a set that stopped using 17 critical
/// actions (review pass 47). Excluded ones do not count.
#[test]
fn what_a_sets_roles_stopped_using_is_new_risk_once_per_set() {
    use Sensitivity::*;
    use Status::*;
    let name = "AWSReservedSSO_Admin_0a1b2c3d4e5f6789";
    let (a, b) = (sso_role(A_ACCOUNT, name), sso_role(B_ACCOUNT, name));
    let accounts = [A_ACCOUNT, B_ACCOUNT];
    let used = |p: &SidePrincipal, action| finding(p, action, Used, Critical);
    let old = side(
        &accounts,
        &[&a, &b],
        vec![
            used(&a, "iam:CreateUser"),
            used(&b, "iam:CreateUser"),
            used(&a, "s3:DeleteBucket"),
            finding(&a, "ec2:RunInstances", Used, Medium),
        ],
    );
    let mut excluded = finding(&a, "s3:DeleteBucket", Unused, Critical);
    excluded.excluded = true;
    let new = side(
        &accounts,
        &[&a, &b],
        vec![
            finding(&a, "iam:CreateUser", Unused, Critical),
            finding(&b, "iam:CreateUser", Unused, High),
            finding(&a, "ec2:RunInstances", Unused, Medium),
            excluded,
        ],
    );
    let changes = cmp(&old, &new);
    assert_eq!(KindCounts::of(&changes).newly_unused, 4);
    // Not per role: the roles' rows are not actionable.
    assert_eq!(NewRisk::compute(&changes, &new).at_or_above(Low), 0);
    let m = model_of(&old, &new);
    let want = BySensitivity {
        critical: 1,
        medium: 1,
        ..BySensitivity::default()
    };
    assert_eq!(m.permission_sets[0].newly_unused_by_sensitivity, want);
    assert_eq!(
        m.permission_sets[0].newly_granted_by_sensitivity,
        BySensitivity::default()
    );
    assert_eq!(m.new_risk.permission_sets_newly_unused, want);
    assert_eq!(m.new_risk.at_or_above(Critical), 1);
    assert_eq!(m.new_risk.at_or_above(Low), 2);
    assert_eq!(m.headline.new_risk_high_plus, 1);
}

/// A permission set's roles only the new side has (a new set, a set re-created under its name,
/// a new account) list no action, yet what they grant that no old role of the set did is newly
/// granted to the set, and its new risk: a new set of `AdministratorAccess` passed the gate. A
/// role in a new account granting what the old roles did adds nothing.
#[test]
fn what_a_sets_new_roles_grant_beyond_its_old_ones_is_new_risk() {
    use Sensitivity::*;
    use Status::*;
    let (dev, admin) = (
        "AWSReservedSSO_Dev_0a1b2c3d4e5f6789",
        "AWSReservedSSO_Admin_0a1b2c3d4e5f6789",
    );
    let old_dev = sso_role(A_ACCOUNT, dev);
    let new_dev = sso_role(B_ACCOUNT, dev);
    let new_admin = sso_role(B_ACCOUNT, admin);
    let accounts = [A_ACCOUNT, B_ACCOUNT];
    let old = side(
        &accounts,
        &[&old_dev],
        vec![finding(&old_dev, "ec2:RunInstances", Unused, Medium)],
    );
    let new = side(
        &accounts,
        &[&old_dev, &new_dev, &new_admin],
        vec![
            finding(&old_dev, "ec2:RunInstances", Unused, Medium),
            finding(&new_dev, "ec2:RunInstances", Unused, Medium),
            finding(&new_dev, "iam:CreateUser", Used, Critical),
            finding(&new_admin, "iam:CreateUser", Unused, Critical),
        ],
    );
    let m = model_of(&old, &new);
    let by_name = |n: &str| {
        m.permission_sets
            .iter()
            .find(|s| s.name == n)
            .unwrap_or_else(|| panic!("{n}: {:?}", m.permission_sets))
    };
    let critical = BySensitivity {
        critical: 1,
        ..BySensitivity::default()
    };
    assert_eq!(by_name("Admin").newly_granted_actions, 1);
    assert_eq!(by_name("Admin").newly_granted_by_sensitivity, critical);
    // The new account's role adds iam:CreateUser to Dev (used there, still newly granted).
    assert_eq!(by_name("Dev").newly_granted_actions, 1);
    assert_eq!(m.new_risk.permission_sets.critical, 2);
    assert_eq!(m.new_risk.permission_sets.medium, 0);
    // An old role lacking a policy (which may grant what the new roles do): nothing is new to
    // the set, as its rows are `grant_unknown` (review round 3).
    let lacking = SidePrincipal {
        gaps: crate::diff::side::Gaps {
            lacks_grants: true,
            ..Default::default()
        },
        ..old_dev.clone()
    };
    let old = side(
        &accounts,
        &[&lacking],
        vec![finding(&lacking, "ec2:RunInstances", Unused, Medium)],
    );
    let m = model_of(&old, &new);
    let dev = m.permission_sets.iter().find(|s| s.name == "Dev").unwrap();
    assert_eq!(dev.newly_granted_by_sensitivity, BySensitivity::default());
}

/// The permission sets are rolled up over their Identity Center roles of every account: pairs
/// summed, the actions newly granted or revoked counted once however many roles they reach, a
/// role of that name outside `/aws-reserved/sso.amazonaws.com/` left out; the organisation part
/// adds the ARN and the accounts provisioned to, on its side only.
#[test]
fn permission_sets_roll_up_their_roles() {
    use Sensitivity::*;
    use Status::*;
    let name = "AWSReservedSSO_Dev_0a1b2c3d4e5f6789";
    let (a, b) = (sso_role(A_ACCOUNT, name), sso_role(B_ACCOUNT, name));
    let lookalike = principal(A_ACCOUNT, "AWSReservedSSO_Dev_ffffffffffffffff", "AROAX");
    let accounts = [A_ACCOUNT, B_ACCOUNT];
    let all = [&a, &b, &lookalike];
    let old = side(
        &accounts,
        &all,
        all.iter()
            .flat_map(|p| {
                [
                    finding(p, "s3:DeleteBucket", Unused, Critical),
                    finding(p, "ec2:RunInstances", Used, High),
                ]
            })
            .collect(),
    );
    let new = side(
        &accounts,
        &all,
        all.iter()
            .flat_map(|p| {
                [
                    finding(p, "iam:CreateUser", Unused, High),
                    finding(p, "ec2:RunInstances", Used, High),
                ]
            })
            .collect(),
    );
    let changes = cmp(&old, &new);
    let mut rollup = permission_sets::Rollup::default();
    rollup.add(&old, &new, &changes);
    let set = dev_set("ps-1", &[A_ACCOUNT, B_ACCOUNT, "333333333333"]);
    let org = crate::model::organization::Organization {
        permission_sets: vec![set],
        ..Default::default()
    };
    rollup.add_organizations(None, Some(&org), &[]);
    rollup.name_actions(&mut Notations::new(Catalog::embedded()));
    let sets = rollup.finish();
    assert_eq!(sets.len(), 1, "{sets:?}");
    let s = &sets[0];
    assert_eq!(s.name, "Dev");
    assert_eq!(
        s.arn.as_deref(),
        Some("arn:aws:sso:::permissionSet/ssoins-1/ps-1")
    );
    assert_eq!((s.old.provisioned, s.new.provisioned), (None, Some(3)));
    assert_eq!((s.old.roles, s.new.roles), (2, 2));
    assert_eq!((s.old.granted, s.old.used, s.old.unused), (4, 2, 2));
    assert_eq!(s.old.unused_by_sensitivity.critical, 2);
    assert_eq!(s.new.unused_by_sensitivity.high, 2);
    assert_eq!((s.revoked_actions, s.counts.revoked), (1, 2));
    assert_eq!((s.newly_granted_actions, s.counts.newly_granted), (1, 2));
    assert_eq!(s.revoked_notation, "s3:DeleteBucket");
    assert_eq!(s.newly_granted_notation, "iam:CreateUser");
    assert_eq!(s.counts.unchanged_used, 2);
    assert!(s.definitions.is_empty());
}

/// A permission set deleted and re-created under the same name (a new ARN) is one roll-up row
/// (its roles go by the name) with both its own changes, each with its ARN: the removal of the old
/// set, then the addition of the new one, in diff.json, diff-permission-sets.csv and diff.html.
#[test]
fn a_permission_set_recreated_under_its_name_keeps_both_changes() {
    let set = dev_set;
    let org = |s| crate::model::organization::Organization {
        permission_sets: vec![s],
        ..Default::default()
    };
    let (old, new) = (
        org(set("ps-old", &[A_ACCOUNT, B_ACCOUNT])),
        org(set("ps-new", &[A_ACCOUNT])),
    );
    let (changes, _) = compare_organizations(Some(&old), Some(&new));
    let mut rollup = permission_sets::Rollup::default();
    rollup.add_organizations(Some(&old), Some(&new), &changes);
    let sets = rollup.finish();
    assert_eq!(sets.len(), 1, "{sets:?}");
    let s = &sets[0];
    let arn = |id: &str| format!("arn:aws:sso:::permissionSet/ssoins-1/{id}");
    assert_eq!(s.arn.as_deref(), Some(arn("ps-new").as_str()));
    let defs: Vec<(ChangeKind, &str)> = s
        .definitions
        .iter()
        .map(|d| (d.kind, d.arn.as_str()))
        .collect();
    assert_eq!(
        defs,
        [
            (ChangeKind::PermissionSetRemoved, arn("ps-old").as_str()),
            (ChangeKind::PermissionSetAdded, arn("ps-new").as_str()),
        ]
    );
    let json = serde_json::to_value(s).unwrap();
    assert_eq!(json["definitions"][1]["kind"], "permission_set_added");
    let mut out = Vec::new();
    permission_sets::write_csv(&sets, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let row = text.lines().nth(1).unwrap();
    assert!(
        row.contains(",permission_set_removed; permission_set_added,permission_set_removed "),
        "{row}"
    );
    assert!(
        row.contains(&format!(" | permission_set_added {}: ", arn("ps-new"))),
        "{row}"
    );
    let mut m = model_of(&Side::default(), &Side::default());
    m.permission_sets = sets;
    let html = html::render_within(&m, html::MAX_BYTES).expect("render");
    let start = html
        .find("permission_<wbr>set_<wbr>removed</span> <code>")
        .expect("{html}");
    let cell = &html[start..start + html[start..].find("</td>").unwrap()];
    assert!(cell.contains(&arn("ps-old")), "{cell}");
    assert!(cell.contains(&format!(
        "set_<wbr>added</span> <code>{}</code>",
        arn("ps-new")
    )));
}

/// diff.html's permission sets table shows at most `html_table` sets, as the other tables, and
/// says how many more diff-permission-sets.csv has; diff.json has them all.
#[test]
fn permission_sets_table_is_capped() {
    let roles: Vec<SidePrincipal> = (0..250)
        .map(|i| {
            let name = format!("AWSReservedSSO_Set{i:03}_0a1b2c3d4e5f6789");
            SidePrincipal {
                arn: format!("arn:aws:iam::{A_ACCOUNT}:role/aws-reserved/sso.amazonaws.com/{name}"),
                actionable: false,
                ..principal(A_ACCOUNT, &name, &format!("AROA{i}"))
            }
        })
        .collect();
    let all: Vec<&SidePrincipal> = roles.iter().collect();
    let side = side(&[A_ACCOUNT], &all, vec![]);
    let m = model_of(&side, &side);
    assert_eq!(m.permission_sets.len(), 250);
    let html = html::render_within(&m, html::MAX_BYTES).expect("render");
    let start = html
        .find("id=\"permission-sets-table\"")
        .expect("the table");
    let table = &html[start..start + html[start..].find("</table>").expect("its end")];
    assert_eq!(table.matches("<tr><th scope=\"row\">").count(), 200);
    assert!(
        table.contains("250 sets, by name; the first 200 are shown, 50 more are in"),
        "{}",
        &table[..400]
    );
}
