//! `credentials.csv`: the identity findings (unused roles and users, access keys, passwords, root
//! use, empty groups, unattached policies), then one row per check that could not run. Columns
//! are stable snake_case, described in `docs/identity-findings.md`; cells are neutralised.

use std::io::Write;

use super::csv::{neutralise, ts};
use crate::analysis::identities::{IdentityFinding, IdentityReport, NotPossible};

pub const CREDENTIALS_HEADER: [&str; 14] = [
    "rank",
    "result",
    "account_id",
    "kind",
    "sensitivity",
    "actionable",
    "principal_type",
    "principal_name",
    "principal_arn",
    "credential",
    "last_used",
    "age_days",
    "days_unused",
    "detail",
];

/// `result` of a finding row.
pub const RESULT_FINDING: &str = "finding";
/// `result` of a row for a check that could not run (its `detail` says why).
pub const RESULT_NOT_POSSIBLE: &str = "check_not_possible";

fn finding_cells(f: &IdentityFinding) -> [String; 14] {
    [
        f.rank.to_string(),
        RESULT_FINDING.to_string(),
        f.account_id.clone(),
        f.kind.as_str().to_string(),
        f.sensitivity.as_str().to_string(),
        if f.actionable { "true" } else { "false" }.to_string(),
        f.principal_type.as_str().to_string(),
        f.principal_name.clone(),
        f.principal_arn.clone(),
        f.credential.clone().unwrap_or_default(),
        ts(f.last_used),
        f.age_days.map(|d| d.to_string()).unwrap_or_default(),
        f.days_unused.map(|d| d.to_string()).unwrap_or_default(),
        f.detail.clone(),
    ]
}

fn not_possible_cells(n: &NotPossible) -> [String; 14] {
    let mut cells: [String; 14] = Default::default();
    cells[1] = RESULT_NOT_POSSIBLE.to_string();
    cells[2] = n.account_id.clone();
    cells[3] = n.check.as_str().to_string();
    cells[13] = n.reason.clone();
    cells
}

/// Writes the findings in rank order, then the checks that could not run (by account, check).
pub fn write_credentials<W: Write>(report: &IdentityReport, w: W) -> std::io::Result<()> {
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(w);
    let mut row = |cells: &[String]| {
        out.write_record(cells.iter().map(|c| neutralise(c).into_owned()))
            .map_err(std::io::Error::other)
    };
    row(&CREDENTIALS_HEADER.map(String::from))?;
    for f in &report.findings {
        row(&finding_cells(f))?;
    }
    for n in &report.checks_not_possible {
        row(&not_possible_cells(n))?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Sensitivity;
    use crate::analysis::identities::{IdentityKind, IdentityPrincipalType};

    #[test]
    fn header_then_findings_then_gaps_with_formulas_neutralised() {
        let report = IdentityReport {
            findings: vec![IdentityFinding {
                rank: 1,
                account_id: "123456789012".into(),
                kind: IdentityKind::AccessKeyUnused,
                principal_type: IdentityPrincipalType::User,
                principal_name: "=1+1".into(),
                principal_arn: "arn:aws:iam::123456789012:user/=1+1".into(),
                credential: Some("access_key_2".into()),
                sensitivity: Sensitivity::High,
                actionable: true,
                last_used: None,
                age_days: Some(400),
                days_unused: None,
                detail: "-x".into(),
            }],
            checks_not_possible: vec![NotPossible {
                account_id: "210987654321".into(),
                check: IdentityKind::RootUsed,
                reason: "no report".into(),
                only: None,
            }],
        };
        let mut buf = Vec::new();
        write_credentials(&report, &mut buf).unwrap_or_default();
        let text = String::from_utf8(buf).unwrap_or_default();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], CREDENTIALS_HEADER.join(","));
        assert_eq!(
            lines[1],
            "1,finding,123456789012,access_key_unused,high,true,user,'=1+1,arn:aws:iam::123456789012:user/=1+1,access_key_2,,400,,'-x"
        );
        assert_eq!(
            lines[2],
            ",check_not_possible,210987654321,root_used,,,,,,,,,,no report"
        );
        assert_eq!(lines.len(), 4);
    }
}
