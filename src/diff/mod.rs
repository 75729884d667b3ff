//! `diff`: Findings × Findings → Changes. Two analyses (an older and a newer export, analysed
//! with the same catalog, window and config) are reduced to plain per-side tables ([`Side`]),
//! compared by principal ARN × action ([`compare`]), and rendered as `diff.csv`, `diff.json` and
//! `diff.html` ([`write_diff`]).
//!
//! ```text
//! kinds.rs    the change vocabulary (ChangeKind), documented in docs/usage.md
//! side.rs     one side's view of an analysis (Side: principals, per-action findings, identities)
//! compare.rs  two sides → sorted Changes (permissions, principals, accounts, identities)
//! counts.rs   rows per kind and new risk (for --exit-code, --fail-on-new and the headline)
//! model.rs    the diff model diff.json and diff.html render; csv.rs, html.rs the formats
//! ```
//!
//! The comparison itself knows nothing of polars, the catalog or exports: it takes two [`Side`]s,
//! so it can be tested with hand-built or generated tables.

mod compare;
mod counts;
pub mod csv;
pub mod html;
mod kinds;
pub mod model;
mod side;

use std::fs;
use std::path::{Path, PathBuf};

pub use compare::{Change, IdentityDelta, compare};
pub use counts::{KindCounts, NewRisk};
pub use kinds::ChangeKind;
pub use model::{DiffLimits, DiffModel, SideMeta};
pub use side::{Side, SideFinding, SidePrincipal, State};

use crate::error::{Error, Result};
use crate::files::write_atomic;

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::write(path, e)
}

/// Writes `diff.csv` (every row), `diff.json` (the model) and `diff.html` into `out_dir`,
/// each atomically; returns the files written, sorted.
/// The files `diff` writes (and the temporary files of a killed run it may clean up).
pub const OUTPUT_NAMES: [&str; 3] = ["diff.csv", "diff.html", "diff.json"];

pub fn write_diff(model: &DiffModel, changes: &[Change], out_dir: &Path) -> Result<Vec<PathBuf>> {
    fs::create_dir_all(out_dir).map_err(io(out_dir))?;
    let mut written = Vec::new();

    let p = out_dir.join("diff.csv");
    write_atomic(&p, |w| csv::write_changes(changes, w).map_err(io(&p)))?;
    written.push(p);

    let p = out_dir.join("diff.html");
    write_atomic(&p, |w| html::render(model, w))?;
    written.push(p);

    let p = out_dir.join("diff.json");
    write_atomic(&p, |w| {
        serde_json::to_writer_pretty(&mut *w, model).map_err(|e| io(&p)(e.into()))?;
        w.write_all(b"\n").map_err(io(&p))
    })?;
    written.push(p);

    written.sort();
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::identities::{IdentityFinding, NotPossible};
    use crate::analysis::identities::{IdentityKind, IdentityPrincipalType};
    use crate::analysis::{Reason, Sensitivity, Status};

    fn principal(acct: &str, name: &str, id: &str) -> SidePrincipal {
        SidePrincipal {
            account_id: acct.into(),
            principal_type: "role".into(),
            name: name.into(),
            arn: format!("arn:aws:iam::{acct}:role/{name}"),
            id: id.into(),
            created: None,
            actionable: true,
        }
    }

    fn finding(p: &SidePrincipal, action: &str, status: Status, s: Sensitivity) -> SideFinding {
        let reason = match status {
            Status::Used => Reason::AccessedInWindow,
            Status::Unused => Reason::ServiceNotAccessed,
            Status::Unknown => Reason::ActionNotTracked,
        };
        SideFinding {
            principal_arn: p.arn.clone(),
            action: action.into(),
            service: action.split(':').next().unwrap_or_default().into(),
            status,
            reason,
            sensitivity: s,
            last_accessed: None,
            granted_by: "inline:p".into(),
            excluded: false,
        }
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
            (Unknown, Unused, NewlyUnused),
            (Unknown, Unknown, StillUnknown),
        ];
        for (o, n, k) in table {
            assert_eq!(ChangeKind::of_statuses(o, n), k, "{o:?} → {n:?}");
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
        let old = Side {
            accounts: vec!["111111111111".into(), "333333333333".into()],
            principals: vec![a.clone(), gone.clone(), closed.clone()],
            findings: vec![
                finding(&a, "s3:DeleteBucket", Unused, Critical),
                finding(&a, "ec2:TerminateInstances", Used, High),
                finding(&a, "ec2:CreateTags", Unused, Medium),
                finding(&a, "ec2:CreateFleet", Unused, High),
                finding(&a, "ec2:DescribeInstances", Used, Low),
                finding(&a, "autoscaling:Describe", Unknown, Low),
                finding(&a, "s3:GetObject", Used, Low),
                finding(&gone, "sqs:SendMessage", Unused, Medium),
            ],
            ..Side::default()
        };
        let new = Side {
            accounts: vec!["111111111111".into(), "444444444444".into()],
            principals: vec![a2.clone(), fresh.clone(), opened.clone()],
            findings: vec![
                finding(&a2, "lambda:PublishVersion", Unknown, High),
                finding(&a2, "ec2:TerminateInstances", Unused, High),
                finding(&a2, "ec2:CreateTags", Used, Medium),
                finding(&a2, "ec2:CreateFleet", Unused, High),
                finding(&a2, "ec2:DescribeInstances", Used, Low),
                finding(&a2, "autoscaling:Describe", Unknown, Low),
                finding(&a2, "s3:GetObject", Unknown, Low),
                finding(&fresh, "iam:PassRole", Unknown, Critical),
            ],
            ..Side::default()
        };
        let changes = compare(&old, &new);
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
                (StillUnknown, s("a"), s("autoscaling:Describe")),
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
        let old = Side {
            accounts: vec!["111111111111".into()],
            principals: vec![p.clone(), q.clone()],
            findings: vec![],
            ..Side::default()
        };
        let mut excluded = finding(&q, "iam:CreateUser", Status::Unused, Sensitivity::Critical);
        excluded.excluded = true;
        let new = Side {
            accounts: vec!["111111111111".into()],
            principals: vec![p.clone(), q.clone()],
            findings: vec![
                finding(&p, "iam:CreateRole", Status::Unused, Sensitivity::Critical),
                excluded,
            ],
            ..Side::default()
        };
        let changes = compare(&old, &new);
        assert_eq!(KindCounts::of(&changes).newly_granted, 2);
        assert_eq!(
            NewRisk::compute(&changes, &new).at_or_above(Sensitivity::Low),
            0
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

    #[test]
    fn identity_findings_new_resolved_unknown_unchanged() {
        use IdentityKind::*;
        use Sensitivity::*;
        let a = "111111111111";
        let b = "222222222222";
        let old = Side {
            accounts: vec![a.into(), b.into()],
            identities: vec![
                identity(a, "kept", AccessKeyOld, High),
                identity(a, "rotated", AccessKeyOld, High),
                identity(b, "unchecked", AccessKeyUnused, High),
            ],
            ..Side::default()
        };
        let mut svc = identity(a, "svc", UnusedRole, Critical);
        svc.actionable = false;
        svc.credential = None;
        let new = Side {
            accounts: vec![a.into(), b.into()],
            identities: vec![
                identity(a, "kept", AccessKeyOld, High),
                identity(a, "gone-quiet", AccessKeyUnused, High),
                identity(a, "nomfa", PasswordWithoutMfa, Medium),
                svc,
            ],
            identity_checks_not_possible: vec![NotPossible {
                account_id: b.into(),
                check: AccessKeyUnused,
                reason: "no credential report".into(),
            }],
            ..Side::default()
        };
        let changes = compare(&old, &new);
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
}
