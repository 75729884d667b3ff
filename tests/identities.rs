//! Identity findings (issue 10): unused roles and users, access keys, passwords, root use, empty
//! groups, unattached policies, and the checks that cannot run. Fixtures: `fixtures/identities`
//! (written by its `gen.py`) and the shipped `sample-data/`.

use std::path::{Path, PathBuf};

use iam_tighten::analysis::identities::{
    IdentityFinding, IdentityKind, IdentityReport, IdentitySettings, identity_findings,
};
use iam_tighten::analysis::{self, Analysis, Config, Sensitivity, Settings};
use iam_tighten::catalog::Catalog;
use iam_tighten::input::{LoadOptions, load_export, load_exports};
use iam_tighten::model::{CredentialReportRow, Export, PrincipalType, ReportDate};
use iam_tighten::report::credentials::{CREDENTIALS_HEADER, write_credentials};

use IdentityKind::*;
use Sensitivity::{Critical, High, Low, Medium};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/identities")
        .join(rel)
}

fn creds_export() -> Export {
    load_export(&fixture("creds"), &LoadOptions::default()).expect("fixture creds loads")
}

/// A copy of fixture `creds` (in a temporary folder, kept while the first value lives) whose
/// `authorization-details.json` `edit` has changed; the second value is the export.
pub(crate) fn creds_edited(
    edit: impl FnOnce(&mut serde_json::Value),
) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let export = dir.path().join("creds");
    crate::common::copy_dir(&fixture("creds"), &export);
    crate::common::edit_json(&export.join("authorization-details.json"), edit);
    (dir, export)
}

/// [`creds_edited`], each of its roles changed by `edit`.
pub(crate) fn creds_with_roles(
    edit: impl Fn(&mut serde_json::Value),
) -> (tempfile::TempDir, PathBuf) {
    creds_edited(|doc| {
        doc["RoleDetailList"]
            .as_array_mut()
            .expect("roles")
            .iter_mut()
            .for_each(edit)
    })
}

/// `report` of `export` into `out` as CSV (with `args`), and its decisions.csv.
fn report_decisions(export: &Path, out: &Path, args: &[&str]) -> String {
    assert_cmd::Command::cargo_bin("iam-tighten")
        .unwrap()
        .arg("report")
        .arg(export)
        .arg("--out")
        .arg(out)
        .args(["--format", "csv"])
        .args(args)
        .assert()
        .success();
    std::fs::read_to_string(out.join("decisions.csv")).unwrap()
}

fn analyze(exports: &[Export]) -> Analysis<'static> {
    let settings = Settings {
        unused_after_days: 90,
        as_of: None,
    };
    analysis::analyze(exports, Catalog::embedded(), &settings, &Config::default())
        .expect("analysis runs")
}

fn run_with(exports: &[Export], settings: &IdentitySettings) -> IdentityReport {
    identity_findings(exports, &analyze(exports), settings)
}

fn run(exports: &[Export]) -> IdentityReport {
    run_with(exports, &IdentitySettings::new(90))
}

type Row<'a> = (IdentityKind, &'a str, Option<&'a str>, Sensitivity, bool);

fn rows(r: &IdentityReport) -> Vec<Row<'_>> {
    r.findings
        .iter()
        .map(|f| {
            (
                f.kind,
                f.principal_name.as_str(),
                f.credential.as_deref(),
                f.sensitivity,
                f.actionable,
            )
        })
        .collect()
}

fn find<'r>(
    r: &'r IdentityReport,
    kind: IdentityKind,
    name: &str,
    cred: Option<&str>,
) -> &'r IdentityFinding {
    r.findings
        .iter()
        .find(|f| f.kind == kind && f.principal_name == name && f.credential.as_deref() == cred)
        .unwrap_or_else(|| panic!("no {kind:?} for {name} {cred:?} in {:#?}", rows(r)))
}

fn gaps(r: &IdentityReport, account: &str) -> Vec<IdentityKind> {
    r.checks_not_possible
        .iter()
        .filter(|n| n.account_id == account)
        .map(|n| n.check)
        .collect()
}

/// The principal names of the findings of `kind`, in the report's order.
fn names_of(r: &IdentityReport, kind: IdentityKind) -> Vec<&str> {
    r.of_kind(kind).map(|f| f.principal_name.as_str()).collect()
}

/// Why `check` could not run (its first entry in the checks not possible); panics without one.
fn gap_reason(r: &IdentityReport, check: IdentityKind) -> &str {
    r.checks_not_possible
        .iter()
        .find(|n| n.check == check)
        .map(|n| n.reason.as_str())
        .unwrap_or_else(|| panic!("no check not possible for {check:?}"))
}

#[test]
fn creds_fixture_yields_exactly_the_expected_findings() {
    let r = run(&[creds_export()]);
    let k1 = Some("access_key_1");
    let k2 = Some("access_key_2");
    let pw = Some("password");
    let expected: Vec<Row<'_>> = vec![
        (RootAccessKey, "<root_account>", k1, Critical, true),
        (RootUsed, "<root_account>", pw, Critical, true),
        // Holds iam:AttachRolePolicy, unused (its last-accessed file shows no iam use).
        (UnusedRole, "admin-idle", None, High, true),
        (AccessKeyNeverUsed, "dormant", k1, High, true),
        (AccessKeyOld, "dormant", k1, High, true),
        (PasswordWithoutMfa, "dormant", pw, High, true),
        (AccessKeyUnused, "stale", k1, High, true),
        (AccessKeyOld, "stale", k1, High, true),
        (AccessKeyOld, "stale", k2, High, true),
        (UnusedRole, "AWSServiceRoleForSupport", None, Medium, false),
        (UnusedRole, "unused-role", None, Medium, true),
        (UnusedUser, "dormant", None, Medium, true),
        (PasswordUnused, "dormant", pw, Medium, true),
        (UnusedUser, "nopw", None, Medium, true),
        (PasswordUnused, "stale", pw, Medium, true),
        (GroupWithoutMembers, "empty", None, Low, true),
        (PolicyUnattached, "nocount", None, Low, true),
        (PolicyUnattached, "orphan", None, Low, true),
    ];
    assert_eq!(rows(&r), expected);
    let ranks: Vec<u32> = r.findings.iter().map(|f| f.rank).collect();
    assert_eq!(ranks, (1..=expected.len() as u32).collect::<Vec<_>>());
    // Nothing for: busy (all used in window), fresh (younger than the window), new-role
    // (role_too_new is not a finding), busy-role (used), ci-boundary-like `boundary-only`,
    // `attached`, the AWS managed ReadOnlyAccess, group team (has members).
    for quiet in [
        "busy",
        "fresh",
        "new-role",
        "busy-role",
        "boundary-only",
        "attached",
        "ReadOnlyAccess",
        "team",
    ] {
        assert!(
            r.findings.iter().all(|f| f.principal_name != quiet),
            "{quiet}: {:#?}",
            rows(&r)
        );
    }
}

#[test]
fn evidence_fields_use_the_exports_as_of_not_the_clock() {
    let r = run(&[creds_export()]);
    // As-of 2026-06-01T00:00Z; window starts 2026-03-03.
    let f = find(&r, AccessKeyUnused, "stale", Some("access_key_1"));
    assert_eq!(f.days_unused, Some(197)); // 2025-11-15T10:00 → 2026-06-01T00:00, whole days
    assert_eq!(f.age_days, Some(1126)); // 2023-05-02 → 2026-06-01
    assert_eq!(
        f.last_used.map(|t| t.to_rfc3339()),
        Some("2025-11-15T10:00:00+00:00".into())
    );
    assert!(
        f.detail.contains("2025-11-15") && f.detail.contains("ec2"),
        "{}",
        f.detail
    );

    // N/A last used: never used, so no days_unused; age from last_rotated.
    let f = find(&r, AccessKeyNeverUsed, "dormant", Some("access_key_1"));
    assert_eq!((f.last_used, f.days_unused), (None, None));
    assert_eq!(f.age_days, Some(871)); // 2024-01-11T09:00 → 2026-06-01T00:00, whole days
    assert!(f.detail.contains("N/A"), "{}", f.detail);

    // no_information password, set before the window.
    let f = find(&r, PasswordUnused, "dormant", Some("password"));
    assert!(f.detail.contains("no_information"), "{}", f.detail);
    assert_eq!(f.last_used, None);

    // A user without any credential is an unused user.
    let f = find(&r, UnusedUser, "nopw", None);
    assert!(f.detail.contains("no password"), "{}", f.detail);
    assert_eq!(f.age_days, Some(850));

    // Root: not_supported password columns, password used 7 days before the as-of date.
    let f = find(&r, RootUsed, "<root_account>", Some("password"));
    assert_eq!(f.days_unused, Some(6));
    assert_eq!(f.principal_arn, "arn:aws:iam::123456789012:root");
    assert!(
        !r.findings
            .iter()
            .any(|f| f.principal_name == "<root_account>" && f.kind == PasswordWithoutMfa)
    );

    // The role's evidence: RoleLastUsed date and the unused high/critical permission.
    let f = find(&r, UnusedRole, "admin-idle", None);
    assert_eq!(
        f.last_used.map(|t| t.to_rfc3339()),
        Some("2025-06-01T10:00:00+00:00".into())
    );
    assert!(
        f.detail
            .contains("Its unused permissions include 1 critical action."),
        "{}",
        f.detail
    );
    let f = find(&r, UnusedRole, "AWSServiceRoleForSupport", None);
    assert!(f.detail.contains("service-linked"), "{}", f.detail);
    let f = find(&r, PolicyUnattached, "nocount", None);
    assert!(f.detail.contains("no AttachmentCount"), "{}", f.detail);
}

/// A customer managed policy without an `AttachmentCount` is called unattached from the export's
/// own attachments only while the export lists every kind of principal: with its users left out
/// (authorization details fetched with `--filter`), a policy attached to a user would get a
/// `delete_policy` decision. It is a check not possible then, saying why; a policy whose
/// `AttachmentCount` is 0 is still unattached.
#[test]
fn a_policy_without_attachment_count_is_not_called_unattached_when_users_are_left_out() {
    let mut export = creds_export();
    export.principals.retain(|p| p.kind != PrincipalType::User);
    let r = run(std::slice::from_ref(&export));
    let unattached = names_of(&r, PolicyUnattached);
    assert_eq!(unattached, ["orphan"]);
    let gap = gap_reason(&r, PolicyUnattached);
    assert!(gap.contains("no users"), "{}", gap);
    assert!(gap.contains("AttachmentCount"), "{}", gap);
    // `orphan` without a PermissionsBoundaryUsageCount (AttachmentCount does not count those
    // uses): a user outside the export may use it as its boundary, so it is not unattached
    // either (review pass 45, round 3: it got `delete_policy`).
    for p in export.policies.values_mut() {
        if p.name == "orphan" {
            std::sync::Arc::make_mut(p).boundary_uses = None;
        }
    }
    let r = run(std::slice::from_ref(&export));
    assert!(names_of(&r, PolicyUnattached).is_empty(), "{:#?}", rows(&r));
    assert!(gap_reason(&r, PolicyUnattached).contains("PermissionsBoundaryUsageCount"));
    // With every kind listed, the full fixture: no such gap (and `nocount` is found, above).
    let r = run(&[creds_export()]);
    assert!(
        !r.checks_not_possible
            .iter()
            .any(|g| g.check == PolicyUnattached)
    );
}

#[test]
fn both_boolean_spellings_are_read() {
    let export = creds_export();
    let report = export
        .credential_report
        .as_ref()
        .expect("credential report");
    let dormant = report
        .iter()
        .find(|r| r.user == "dormant")
        .expect("dormant row");
    let busy = report.iter().find(|r| r.user == "busy").expect("busy row");
    // TRUE/FALSE (dormant) and true/false (busy).
    assert_eq!(
        (
            dormant.password_enabled,
            dormant.mfa_active,
            dormant.access_keys[0].active
        ),
        (Some(true), false, true)
    );
    assert_eq!(
        (
            busy.password_enabled,
            busy.mfa_active,
            busy.access_keys[1].active
        ),
        (Some(true), true, false)
    );
    let root = report.iter().find(|r| r.is_root()).expect("root row");
    assert_eq!(root.password_enabled, None);
    assert_eq!(root.password_last_changed, ReportDate::NotSupported);
    assert_eq!(dormant.password_last_used, ReportDate::NoInformation);
    assert_eq!(
        dormant.access_keys[0].last_used_date,
        ReportDate::NotApplicable
    );
}

#[test]
fn a_user_missing_from_the_credential_report_is_a_check_not_possible() {
    let r = run(&[creds_export()]);
    let ghost: Vec<_> = r
        .checks_not_possible
        .iter()
        .filter(|n| n.reason.contains("user ghost"))
        .map(|n| n.check)
        .collect();
    assert_eq!(
        ghost,
        vec![
            UnusedUser,
            AccessKeyNeverUsed,
            AccessKeyUnused,
            AccessKeyOld,
            PasswordUnused,
            PasswordWithoutMfa
        ]
    );
    assert_eq!(r.checks_not_possible.len(), ghost.len());
}

/// [`creds_edited`] with user `dormant` created at `at` (its report row says 2024-01-10T08:00:00).
fn dormant_created(at: &str) -> (tempfile::TempDir, PathBuf) {
    creds_edited(|doc| {
        let users = doc["UserDetailList"].as_array_mut().unwrap();
        let dormant = users
            .iter_mut()
            .find(|u| u["UserName"] == "dormant")
            .unwrap();
        dormant["CreateDate"] = at.into();
    })
}

/// A credential-report row whose `user_creation_time` is not the user's `CreateDate` is another
/// user's of the same name (deleted and created again while AWS still handed out the old
/// report): ignored, with a warning, and the user's checks are not possible. The old user's row
/// gave the new user `access_key_never_used`, `access_key_old` and `unused_user`.
#[test]
fn a_report_row_of_an_earlier_user_of_the_same_name_is_not_used() {
    let (_dir, export) = dormant_created("2026-05-31T20:00:00Z");
    let export = load_export(&export, &LoadOptions::default()).expect("loads");
    let w = export
        .warnings
        .iter()
        .find(|w| w.code == "credential_report_other_user")
        .expect("a warning");
    assert!(w.message.contains(": dormant;"), "{}", w.message);
    let r = run(&[export]);
    assert!(
        r.findings.iter().all(|f| f.principal_name != "dormant"),
        "{:#?}",
        rows(&r)
    );
    // Created long enough ago to be judged: its checks are not possible.
    let (_dir, export) = dormant_created("2025-01-10T08:00:00Z");
    let r = run(&[load_export(&export, &LoadOptions::default()).expect("loads")]);
    assert!(r.findings.iter().all(|f| f.principal_name != "dormant"));
    let dormant: Vec<_> = r
        .checks_not_possible
        .iter()
        .filter(|n| n.reason.contains("dormant"))
        .map(|n| n.check)
        .collect();
    assert!(dormant.contains(&AccessKeyNeverUsed), "{dormant:?}");
    // Created within a second of the row (the report writes whole seconds): the same user.
    let (_dir, export) = dormant_created("2024-01-10T08:00:00.600Z");
    let r = run(&[load_export(&export, &LoadOptions::default()).expect("loads")]);
    find(&r, AccessKeyNeverUsed, "dormant", Some("access_key_1"));
}

#[test]
fn missing_credential_report_lists_the_checks_that_could_not_run() {
    let mut export = creds_export();
    export.credential_report = None;
    let r = run(&[export]);
    let mut want = IdentityKind::NEED_CREDENTIAL_REPORT.to_vec();
    want.sort();
    assert_eq!(gaps(&r, "123456789012"), want);
    assert!(
        r.checks_not_possible
            .iter()
            .all(|n| n.reason.contains("credential-report.csv"))
    );
    // The checks that do not need it still run.
    let kinds: std::collections::BTreeSet<_> = r.findings.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        vec![UnusedRole, GroupWithoutMembers, PolicyUnattached]
    );
}

#[test]
fn no_as_of_time_moves_the_time_based_checks_to_not_possible() {
    let mut export = creds_export();
    export.data_time = None;
    export.last_accessed.clear();
    let r = run(&[export]);
    let mut want = IdentityKind::NEED_AS_OF.to_vec();
    want.sort();
    assert_eq!(
        gaps(&r, "123456789012")
            .into_iter()
            .filter(|k| want.contains(k))
            .collect::<Vec<_>>(),
        want
    );
    let kinds: std::collections::BTreeSet<_> = r.findings.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        vec![
            RootAccessKey,
            PasswordWithoutMfa,
            GroupWithoutMembers,
            PolicyUnattached
        ]
    );
    assert!(
        r.findings
            .iter()
            .all(|f| f.age_days.is_none() && f.days_unused.is_none())
    );
}

#[test]
fn a_report_without_a_root_row_cannot_check_the_root_user() {
    // moto writes no <root_account> row.
    let mut export = creds_export();
    if let Some(rows) = export.credential_report.as_mut() {
        rows.retain(|r| !r.is_root());
    }
    let r = run(&[export]);
    let root: Vec<_> = r
        .checks_not_possible
        .iter()
        .filter(|n| n.reason.contains("<root_account>"))
        .map(|n| n.check)
        .collect();
    assert_eq!(root, vec![RootAccessKey, RootUsed, RootWithoutMfa]);
    assert!(
        r.findings
            .iter()
            .all(|f| f.principal_name != "<root_account>")
    );
}

/// A root user without MFA (`mfa_active` false) is a finding (CIS AWS Foundations 1.5). The
/// credential report cannot say whether the root user has a password (`not_supported`), and
/// centralized root access removes member accounts' root credentials: critical where the report
/// shows a root credential, high otherwise, and the detail says which.
#[test]
fn a_root_user_without_mfa_is_a_finding_as_strong_as_what_the_report_shows() {
    let with_root = |edit: &dyn Fn(&mut iam_tighten::model::CredentialReportRow)| {
        let mut export = creds_export();
        for row in export.credential_report.as_mut().unwrap() {
            if row.is_root() {
                edit(row);
            }
        }
        run(&[export])
    };
    let of = |r: &IdentityReport| {
        r.findings
            .iter()
            .filter(|f| f.kind == RootWithoutMfa)
            .map(|f| (f.sensitivity, f.detail.clone()))
            .collect::<Vec<_>>()
    };
    // The fixture's root user has MFA: no finding.
    assert!(of(&with_root(&|_| {})).is_empty());
    // An active access key and a password sign-in: critical, and the detail names both.
    let found = of(&with_root(&|row| row.mfa_active = false));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, Critical);
    assert!(
        found[0]
            .1
            .contains("(a password sign-in on 2026-05-25, active access key 1)"),
        "{}",
        found[0].1
    );
    // Nothing the report shows: high, and the reviewer is told what to check.
    let bare = |row: &mut iam_tighten::model::CredentialReportRow| {
        row.mfa_active = false;
        row.password_last_used = iam_tighten::model::ReportDate::NoInformation;
        for k in &mut row.access_keys {
            k.active = false;
        }
    };
    let found = of(&with_root(&bare));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, High);
    assert!(
        found[0].1.contains("centralized root access"),
        "{}",
        found[0].1
    );
    // An active signing certificate is a root credential too.
    let found = of(&with_root(&|row| {
        bare(row);
        row.certs_active = [true, false];
    }));
    assert_eq!(found[0].0, Critical);
    assert!(
        found[0].1.contains("(active signing certificate 1)"),
        "{}",
        found[0].1
    );
}

#[test]
fn key_max_age_is_a_setting() {
    let exports = [creds_export()];
    let lenient = IdentitySettings {
        unused_after_days: 90,
        key_max_age_days: 1000,
    };
    let r = run_with(&exports, &lenient);
    let old: Vec<_> = r
        .of_kind(AccessKeyOld)
        .map(|f| (f.principal_name.as_str(), f.credential.as_deref()))
        .collect();
    assert_eq!(old, vec![("stale", Some("access_key_1"))]);
    let strict = IdentitySettings {
        unused_after_days: 90,
        key_max_age_days: 1,
    };
    let r = run_with(&exports, &strict);
    // busy's key (2026-04-01) and fresh's key (2026-05-20) are now old too.
    let old: Vec<_> = r
        .of_kind(AccessKeyOld)
        .map(|f| f.principal_name.as_str())
        .collect();
    assert_eq!(old, vec!["busy", "dormant", "fresh", "stale", "stale"]);
}

#[test]
fn fail_on_counts_only_actionable_findings() {
    let r = run(&[creds_export()]);
    assert_eq!(r.count_at_or_above(Critical), 2);
    assert_eq!(r.count_at_or_above(High), 9);
    // The service-linked role is medium but not actionable.
    assert_eq!(r.count_at_or_above(Low), r.findings.len() - 1);
}

#[test]
fn credentials_csv_has_the_stable_header_and_one_row_per_finding_and_gap() {
    let r = run(&[creds_export()]);
    let mut buf = Vec::new();
    write_credentials(&r, &mut buf).expect("write");
    let mut reader = csv::Reader::from_reader(buf.as_slice());
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    assert_eq!(header, CREDENTIALS_HEADER);
    let records: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("rows");
    assert_eq!(
        records.len(),
        r.findings.len() + r.checks_not_possible.len()
    );
    assert_eq!(&records[0][0], "1");
    assert_eq!(&records[0][3], "root_access_key");
    let last = records.last().expect("a gap row");
    assert_eq!((&last[0], &last[1]), ("", "check_not_possible"));
}

#[test]
fn sample_data_shows_every_identity_story() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/2026-q4");
    let exports = load_exports(&[root], &LoadOptions::default()).expect("sample loads");
    let r = run(&exports);
    let has = |kind, acct: &str, name: &str, cred: Option<&str>| {
        r.findings.iter().any(|f| {
            f.kind == kind
                && f.account_id == acct
                && f.principal_name == name
                && f.credential.as_deref() == cred
        })
    };
    let dev = "222222222222";
    let prod = "111111111111";
    assert!(
        has(RootAccessKey, dev, "<root_account>", Some("access_key_1")),
        "{:#?}",
        rows(&r)
    );
    assert!(has(RootUsed, dev, "<root_account>", Some("access_key_1")));
    assert!(has(RootUsed, prod, "<root_account>", Some("password")));
    // The dev account's root user has no MFA; prod's has.
    assert!(has(RootWithoutMfa, dev, "<root_account>", None));
    assert!(!has(RootWithoutMfa, prod, "<root_account>", None));
    assert!(!has(
        RootAccessKey,
        prod,
        "<root_account>",
        Some("access_key_1")
    ));
    assert!(has(PasswordWithoutMfa, dev, "bob", Some("password")));
    assert!(has(AccessKeyNeverUsed, dev, "bob", Some("access_key_1")));
    assert!(has(AccessKeyUnused, dev, "bob", Some("access_key_2")));
    assert!(has(AccessKeyOld, dev, "bob", Some("access_key_2")));
    assert!(
        !has(UnusedUser, dev, "bob", None),
        "bob signed in 5 days ago"
    );
    assert!(has(UnusedUser, dev, "former-contractor", None));
    assert!(has(
        PasswordUnused,
        dev,
        "former-contractor",
        Some("password")
    ));
    assert!(has(
        AccessKeyUnused,
        dev,
        "former-contractor",
        Some("access_key_1")
    ));
    let fc = find(&r, UnusedUser, "former-contractor", None);
    assert_eq!(fc.days_unused, Some(154), "{}", fc.detail); // 2026-06-18T17:56 → 2026-11-20T09:13
    assert!(has(GroupWithoutMembers, dev, "auditors", None));
    assert!(!has(GroupWithoutMembers, dev, "developers", None));
    assert!(has(PolicyUnattached, dev, "legacy-s3-admin", None));
    assert!(
        !has(PolicyUnattached, prod, "ci-boundary", None),
        "ci-boundary is a permissions boundary"
    );
    assert!(has(UnusedRole, prod, "old-reporting", None));
    // Too new, used, or service-linked and used: not unused roles.
    for role in [
        "data-pipeline-2026",
        "AWSServiceRoleForECS",
        "legacy-batch",
        "ExampleCorpQA",
    ] {
        assert!(!has(UnusedRole, prod, role, None), "{role}");
    }
    assert!(
        r.checks_not_possible.is_empty(),
        "{:#?}",
        r.checks_not_possible
    );
    // Critical first.
    assert_eq!(r.findings[0].sensitivity, Critical);

    // Same inputs, same output.
    assert_eq!(run(&exports), r);
}

#[test]
fn sample_account_without_credential_report_reports_the_gap() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/2026-q3/333333333333");
    let export = load_export(&root, &LoadOptions::default()).expect("sample loads");
    let r = run(&[export]);
    let mut want = IdentityKind::NEED_CREDENTIAL_REPORT.to_vec();
    want.sort();
    assert_eq!(gaps(&r, "333333333333"), want);
}

/// Pins the serialised shape the JSON report embeds, and the CSV, on the small fixture.
#[test]
fn creds_fixture_snapshots() {
    let r = run(&[creds_export()]);
    let mut csv = Vec::new();
    write_credentials(&r, &mut csv).expect("write");
    insta::with_settings!({ snapshot_path => "fixtures/identities/snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_json_snapshot!("identities_creds_json", r);
        insta::assert_snapshot!("identities_creds_csv", String::from_utf8_lossy(&csv));
    });
}

/// `RoleLastUsed` left out of a hand-made export is not AWS's `{}`: nothing is known of when the
/// role was last assumed, and its last-accessed data does not show a role assumed only to use
/// what resource-based policies grant it. So a role without the field is not an unused role (no
/// decision to delete it), with or without a last-accessed file, and the check says why.
#[test]
fn a_role_without_role_last_used_is_never_an_unused_role() {
    let (_dir, export) = creds_with_roles(|role| {
        if matches!(
            role["RoleName"].as_str(),
            Some("unused-role" | "admin-idle")
        ) {
            role.as_object_mut().expect("role").remove("RoleLastUsed");
        }
    });
    let e = load_export(&export, &LoadOptions::default()).expect("loads");
    let r = run(std::slice::from_ref(&e));
    // Before: both were unused roles (creds_fixture_yields_exactly_the_expected_findings);
    // admin-idle has a last-accessed file that shows no use, unused-role has none.
    let unused = names_of(&r, UnusedRole);
    assert!(
        !unused.contains(&"unused-role") && !unused.contains(&"admin-idle"),
        "{unused:?}"
    );
    // `{}` as AWS writes it is still evidence.
    assert!(unused.contains(&"AWSServiceRoleForSupport"), "{unused:?}");
    let gap = gap_reason(&r, UnusedRole);
    assert!(
        gap.contains("the export has no RoleLastUsed for roles admin-idle, unused-role"),
        "{}",
        gap
    );
    // Only those two: report.json lists their ARNs, and only theirs.
    let arn = |name: &str| {
        e.principals
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.arn.clone())
            .expect("listed")
    };
    let json = serde_json::to_value(&r).expect("json");
    let gap = json["checks_not_possible"]
        .as_array()
        .expect("gaps")
        .iter()
        .find(|g| g["check"] == "unused_role")
        .expect("an unused_role gap");
    assert_eq!(
        gap["principals"],
        serde_json::json!([arn("admin-idle"), arn("unused-role")])
    );
    let a = analyze(std::slice::from_ref(&e));
    for name in ["unused-role", "admin-idle"] {
        let p = a.principals.iter().find(|p| p.name() == name);
        assert!(
            p.is_some_and(|p| !p.flags.contains(&"unused_role")),
            "{name}: {:?}",
            p.map(|p| &p.flags)
        );
    }
}

/// A root use after the as-of date (an `--as-of` earlier than the data) is said once.
#[test]
fn a_root_use_after_the_as_of_date_is_said_once() {
    let exports = [creds_export()];
    let settings = Settings {
        unused_after_days: 90,
        as_of: Some("2026-05-20T00:00:00Z".parse().unwrap()),
    };
    let an = analysis::analyze(&exports, Catalog::embedded(), &settings, &Config::default())
        .expect("analysis runs");
    let r = identity_findings(&exports, &an, &IdentitySettings::new(90));
    let f = find(&r, RootUsed, "<root_account>", Some("password"));
    assert_eq!(
        f.detail,
        "The root user's password (console sign-in) was used on 2026-05-25, after the as-of \
         date; check that this use was intended."
    );
}

/// An export that lists groups but no user (authorization details fetched with `--filter`, its
/// users left out) made every group "without members" and a `delete_group` decision: a group's
/// members are known only from its users' `GroupList`s. The check is not possible there, and
/// says why; with its users, the fixture's empty group is still found.
#[test]
fn groups_of_an_export_without_users_are_not_called_empty() {
    let mut export = creds_export();
    let with_users = run(std::slice::from_ref(&export));
    assert!(
        with_users
            .findings
            .iter()
            .any(|f| f.kind == GroupWithoutMembers)
    );
    assert!(!gaps(&with_users, "123456789012").contains(&GroupWithoutMembers));

    export.principals.retain(|p| p.kind != PrincipalType::User);
    export.credential_report = None;
    let r = run(&[export]);
    assert!(
        r.findings.iter().all(|f| f.kind != GroupWithoutMembers),
        "{:#?}",
        rows(&r)
    );
    let gap = gap_reason(&r, GroupWithoutMembers);
    assert!(gap.contains("lists groups but no users"), "{}", gap);
}

/// A credential report shows nothing after it was generated (`manifest.json`
/// `credential_report_generated`, which fetch records): generated well before the as-of time
/// (the fixture's newest job, 2026-06-01), its checks are judged at its generation, the window
/// keeping its length, so a key or password used after that window's start but before the as-of
/// window's is not "unused" (a false unused key is deactivated, and what uses it breaks), and a
/// warning says so. Generated at (or after) the as-of time, nothing changes. A date that does
/// not parse is an error naming the file and the field.
#[test]
fn credential_checks_end_when_the_credential_report_was_generated() {
    let dir = tempfile::tempdir().expect("temp dir");
    let export = dir.path().join("creds");
    crate::common::copy_dir(&fixture("creds"), &export);
    let with = |generated: &str| {
        std::fs::write(
            export.join("manifest.json"),
            format!(
                r#"{{"account_id": "123456789012", "credential_report_generated": "{generated}"}}"#
            ),
        )
        .expect("write");
        load_export(&export, &LoadOptions::default())
    };
    let stale = |r: &IdentityReport| {
        let mut kinds: Vec<(IdentityKind, Option<String>)> = r
            .findings
            .iter()
            .filter(|f| f.principal_name == "stale")
            .map(|f| (f.kind, f.credential.clone()))
            .collect();
        kinds.sort();
        kinds
    };
    let warned = |e: &Export| {
        analyze(std::slice::from_ref(e))
            .warnings
            .iter()
            .any(|w| w.warning.code == "credential_report_older_than_as_of")
    };
    // As of the newest job: stale's first key (last used 2025-11-15) and password (2025-12-01)
    // are unused in the window that starts 2026-03-03.
    let asof = with("2026-06-01T00:30:00Z").expect("loads");
    let before = stale(&run(std::slice::from_ref(&asof)));
    assert!(
        before.contains(&(AccessKeyUnused, Some("access_key_1".into()))),
        "{before:?}"
    );
    assert!(
        before.contains(&(PasswordUnused, Some("password".into()))),
        "{before:?}"
    );
    assert!(!warned(&asof));
    // Generated 2026-02-01: its window starts 2025-11-03, and both were used in it.
    let early = with("2026-02-01T00:00:00Z").expect("loads");
    let r = run(std::slice::from_ref(&early));
    let after = stale(&r);
    assert!(
        !after
            .iter()
            .any(|(k, _)| matches!(k, AccessKeyUnused | PasswordUnused)),
        "{after:?}"
    );
    // The key's age is still judged, against the same earlier time.
    assert!(
        after.contains(&(AccessKeyOld, Some("access_key_1".into()))),
        "{after:?}"
    );
    assert!(warned(&early));
    // Roles are judged by their own last-accessed data: unchanged.
    let roles = |r: &IdentityReport| r.findings.iter().filter(|f| f.kind == UnusedRole).count();
    assert_eq!(roles(&r), roles(&run(std::slice::from_ref(&asof))));
    let e = with("last tuesday").expect_err("refused");
    let text = e.to_string();
    assert!(
        text.contains("manifest.json") && text.contains("credential_report_generated"),
        "{text}"
    );
}

/// Without a recorded generation (no manifest, as the AWS CLI script's export), the credential
/// report is taken after the jobs of its run. An export whose last-accessed reports completed
/// more than a day apart (a file of a later export mixed in, review pass 45) may hold a report of
/// the oldest one's run: its checks are judged no later than the oldest report, or the newest
/// date the report shows itself when that is later (AWS writes no date after the report's
/// generation; review round 2), with a warning. Judged at the newest report (the as-of time), a
/// key used days before the report was generated read as unused, and was deactivated.
#[test]
fn credential_checks_end_at_the_oldest_report_when_the_generation_is_unknown() {
    let dir = tempfile::tempdir().expect("temp dir");
    let export = dir.path().join("creds");
    crate::common::copy_dir(&fixture("creds"), &export);
    let job = |file: &str, created: &str, completed: &str| {
        crate::common::edit_json(&export.join("last-accessed").join(file), |d| {
            d["JobCreationDate"] = created.into();
            d["JobCompletionDate"] = completed.into();
        });
    };
    let run_it = || {
        let e = load_export(&export, &LoadOptions::default()).expect("loads");
        let an = analyze(std::slice::from_ref(&e));
        let warned = an
            .warnings
            .iter()
            .any(|w| w.warning.code == "credential_report_time_unknown");
        let r = identity_findings(std::slice::from_ref(&e), &an, &IdentitySettings::new(90));
        let of = |name: &str| -> Vec<IdentityKind> {
            r.findings
                .iter()
                .filter(|f| f.principal_name == name)
                .map(|f| f.kind)
                .collect()
        };
        (of("busy"), of("stale"), warned)
    };
    // The fixture: every report completed 2026-06-01, the as-of time. busy's key and password
    // were used 2026-05-31; stale's first key and password months before the window.
    let (busy, stale, warned) = run_it();
    assert!(
        !busy.contains(&AccessKeyUnused) && !busy.contains(&PasswordUnused),
        "{busy:?}"
    );
    assert!(
        stale.contains(&AccessKeyUnused) && stale.contains(&PasswordUnused),
        "{stale:?}"
    );
    assert!(!warned);
    // nopw's report from three months later (2026-09-01, now the as-of time): judged there, busy's
    // uses of 2026-05-31 were 92 days before, and unused. Judged at 2026-06-01, nothing changes.
    job(
        "users/nopw.json",
        "2026-08-31T23:59:00Z",
        "2026-09-01T00:00:00Z",
    );
    let (busy, later_stale, warned) = run_it();
    assert!(
        !busy.contains(&AccessKeyUnused) && !busy.contains(&PasswordUnused),
        "{busy:?}"
    );
    assert_eq!(later_stale, stale);
    assert!(warned);
    // admin-idle's report from four months earlier (2026-02-01) instead: the credential report
    // shows uses up to 2026-05-31 10:00, less than a day before the as-of time, so it is as new
    // as the as-of time, and judged there (judged at 2026-02-01, stale's were in its window).
    job(
        "users/nopw.json",
        "2026-05-31T23:59:58Z",
        "2026-06-01T00:00:00Z",
    );
    job(
        "roles/admin-idle.json",
        "2026-01-31T23:59:00Z",
        "2026-02-01T00:00:00Z",
    );
    let (_, early_stale, warned) = run_it();
    assert_eq!(early_stale, stale);
    assert!(!warned);
}

/// A role without last-accessed data is unused only on its `RoleLastUsed`, which shows nothing
/// after the authorization details were fetched: at the start of the fetch's first run
/// (`manifest.json` `runs[0].started`) at the earliest, days before the as-of time when the fetch
/// was resumed. Its window then ends there (keeping its length), so a role used after that
/// window's start is not called unused (its `delete_role` decision would break what uses it). A
/// role with last-accessed data is judged on it, as before; a fetch in one run changes nothing.
#[test]
fn a_role_known_only_by_role_last_used_is_judged_when_the_details_were_fetched() {
    let (_dir, export) = creds_with_roles(|role| {
        if role["RoleName"] == "unused-role" {
            // Before the as-of window (2026-03-03 to 2026-06-01), after one ending 2026-05-01.
            role["RoleLastUsed"] = serde_json::json!({"LastUsedDate": "2026-02-15T10:00:00Z"});
        }
    });
    let unused_roles = |started: Option<&str>| {
        if let Some(started) = started {
            std::fs::write(
                export.join("manifest.json"),
                format!(r#"{{"account_id": "123456789012", "runs": [{{"started": "{started}"}}, {{"started": "2026-05-31T23:00:00Z"}}]}}"#),
            )
            .expect("write");
        }
        let e = load_export(&export, &LoadOptions::default()).expect("loads");
        let mut names: Vec<String> = run(std::slice::from_ref(&e))
            .findings
            .iter()
            .filter(|f| f.kind == UnusedRole)
            .map(|f| f.principal_name.clone())
            .collect();
        names.sort();
        names
    };
    let all = ["AWSServiceRoleForSupport", "admin-idle", "unused-role"];
    assert_eq!(unused_roles(None), all);
    // Fetched in one run, minutes before the jobs completed: the same.
    assert_eq!(unused_roles(Some("2026-05-31T23:40:00Z")), all);
    // Details fetched a month before the as-of time: unused-role was used in the window that
    // ends then; admin-idle is judged on its last-accessed data; the service-linked role was
    // never used at all.
    assert_eq!(
        unused_roles(Some("2026-05-01T00:00:00Z")),
        ["AWSServiceRoleForSupport", "admin-idle"]
    );
    // Each finding names the window it was judged over.
    let r = run(&[load_export(&export, &LoadOptions::default()).expect("loads")]);
    let slr = &find(&r, UnusedRole, "AWSServiceRoleForSupport", None).detail;
    assert!(
        slr.contains(
            "within the 90-day window from 2026-01-31 to 2026-05-01 (RoleLastUsed shows nothing \
             after the authorization details were fetched)"
        ),
        "{slr}"
    );
    let idle = &find(&r, UnusedRole, "admin-idle", None).detail;
    assert!(
        idle.contains("within the 90-day window that starts 2026-03-03"),
        "{idle}"
    );
    let e = std::fs::write(
        export.join("manifest.json"),
        r#"{"account_id": "123456789012", "runs": [{"started": "yesterday"}]}"#,
    )
    .map(|()| load_export(&export, &LoadOptions::default()));
    let text = e.expect("write").expect_err("refused").to_string();
    assert!(
        text.contains("manifest.json") && text.contains("runs"),
        "{text}"
    );
}

/// The credential report row of `user` in `export`, to edit.
fn report_row<'e>(export: &'e mut Export, user: &str) -> &'e mut CredentialReportRow {
    export
        .credential_report
        .as_mut()
        .and_then(|rows| rows.iter_mut().find(|r| r.user == user))
        .unwrap_or_else(|| panic!("no credential report row {user}"))
}

fn date(t: &str) -> ReportDate {
    ReportDate::Date(t.parse().expect("RFC 3339"))
}

/// A user older than the window who was given a credential in the window (an access key made
/// for a new job, a console password just set) is not unused: it has not had the chance to use
/// it, as its own check says (a key or password younger than the window is not "never used").
/// Its `delete_user` decision would break the job the key was made for. With that credential
/// made before the window, the user is unused again.
#[test]
fn a_user_given_a_credential_in_the_window_is_not_unused() {
    // As-of 2026-06-01; window starts 2026-03-03. nopw: created 2024-02-01, no credential.
    let unused = |edit: &dyn Fn(&mut CredentialReportRow)| {
        let mut export = creds_export();
        edit(report_row(&mut export, "nopw"));
        let r = run(&[export]);
        rows(&r)
            .into_iter()
            .filter(|row| row.1 == "nopw")
            .map(|row| (row.0, row.2.map(str::to_string)))
            .collect::<Vec<_>>()
    };
    let new_key = |made: &'static str| {
        move |row: &mut CredentialReportRow| {
            row.access_keys[1].active = true;
            row.access_keys[1].last_rotated = date(made);
        }
    };
    assert_eq!(unused(&new_key("2026-05-25T08:00:00Z")), []);
    assert_eq!(
        unused(&new_key("2026-01-25T08:00:00Z")),
        [
            (AccessKeyNeverUsed, Some("access_key_2".into())),
            (AccessKeyOld, Some("access_key_2".into())),
            (UnusedUser, None),
        ]
    );
    let new_password = |set: &'static str| {
        move |row: &mut CredentialReportRow| {
            row.password_enabled = Some(true);
            row.mfa_active = true;
            row.password_last_used = ReportDate::NoInformation;
            row.password_last_changed = date(set);
        }
    };
    assert_eq!(unused(&new_password("2026-05-25T08:00:00Z")), []);
    assert_eq!(
        unused(&new_password("2026-01-25T08:00:00Z")),
        [
            (UnusedUser, None),
            (PasswordUnused, Some("password".into()))
        ]
    );
    // An inactive key made in the window cannot be used: the user stays unused.
    assert_eq!(
        unused(&|row: &mut CredentialReportRow| {
            new_key("2026-05-25T08:00:00Z")(row);
            row.access_keys[1].active = false;
        }),
        [(UnusedUser, None)]
    );
}
/// An active key created or changed (made active again) in the window has had no chance to be
/// used since, whenever it was last used: not `access_key_unused`, whose decision deactivated a
/// key re-enabled a week before (review pass 47). Changed before the window, it is unused. An
/// active key the report gives no such date for (`N/A`) is a check not possible, and its user
/// is not called unused (nothing was said, and `delete_user` followed).
#[test]
fn a_key_changed_in_the_window_or_undated_is_not_called_unused() {
    // As-of 2026-06-01; window starts 2026-03-03. nopw: created 2024-02-01, no credential.
    let run_with = |edit: &dyn Fn(&mut CredentialReportRow)| {
        let mut export = creds_export();
        edit(report_row(&mut export, "nopw"));
        run(&[export])
    };
    let nopw = |r: &IdentityReport| -> Vec<(IdentityKind, Option<String>)> {
        rows(r)
            .into_iter()
            .filter(|row| row.1 == "nopw")
            .map(|row| (row.0, row.2.map(str::to_string)))
            .collect()
    };
    let key = |changed: ReportDate| {
        move |row: &mut CredentialReportRow| {
            row.access_keys[0].active = true;
            row.access_keys[0].last_rotated = changed;
            row.access_keys[0].last_used_date = date("2025-03-01T08:00:00Z");
        }
    };
    let r = run_with(&key(date("2026-05-25T08:00:00Z")));
    assert_eq!(nopw(&r), []);
    let r = run_with(&key(date("2026-01-25T08:00:00Z")));
    assert_eq!(
        nopw(&r),
        [
            (AccessKeyUnused, Some("access_key_1".into())),
            (AccessKeyOld, Some("access_key_1".into())),
            (UnusedUser, None),
        ]
    );
    let r = run_with(&key(ReportDate::NotApplicable));
    assert_eq!(nopw(&r), []);
    let undated: Vec<IdentityKind> = r
        .checks_not_possible
        .iter()
        .filter(|n| n.reason.contains("an active access key of user nopw"))
        .map(|n| n.check)
        .collect();
    assert_eq!(
        undated,
        [
            UnusedUser,
            AccessKeyNeverUsed,
            AccessKeyUnused,
            AccessKeyOld
        ]
    );
}

/// A console password set in the window (an administrator's reset, say) is not unused because
/// the user's previous password was last used before the window: the report's
/// `password_last_used` is the user's, and the new password has had no chance to be used. Its
/// `remove_password` decision would take away a password just given. Set before the window, it
/// is unused as before.
#[test]
fn a_password_set_in_the_window_is_not_unused() {
    // stale: password last used 2025-12-01, before the window (2026-03-03 to 2026-06-01).
    let password_unused = |set: &str| {
        let mut export = creds_export();
        report_row(&mut export, "stale").password_last_changed = date(set);
        let r = run(&[export]);
        r.findings
            .iter()
            .any(|f| f.kind == PasswordUnused && f.principal_name == "stale")
    };
    assert!(!password_unused("2026-04-20T08:00:00Z"));
    assert!(password_unused("2026-02-20T08:00:00Z"));
}

/// A copy (at `to`) of fixture `organization` where policy developer-extras, which the
/// Developer permission set references, is attached to nothing in account 111111111111 (its role
/// there lacks it, and its `AttachmentCount` is 0).
pub(crate) fn organization_with_an_unattached_set_policy(to: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/organization");
    crate::common::copy_dir(&root, to);
    crate::common::edit_json(&to.join("111111111111/authorization-details.json"), |doc| {
        for role in doc["RoleDetailList"].as_array_mut().expect("roles") {
            role["AttachedManagedPolicies"]
                .as_array_mut()
                .expect("attached")
                .retain(|a| a["PolicyName"] != "developer-extras");
        }
        for policy in doc["Policies"].as_array_mut().expect("policies") {
            if policy["PolicyName"] == "developer-extras" {
                policy["AttachmentCount"] = 0.into();
            }
        }
    });
}

/// A customer managed policy an IAM Identity Center permission set references
/// (`CustomerManagedPolicyReferences`) is needed in every account the set is provisioned to:
/// Identity Center attaches it to the set's role when it provisions the set, and provisioning
/// fails when the account lacks it. Attached to nothing in the export (the reference added since
/// the set was last provisioned there, say), it is not `policy_unattached`: its `delete_policy`
/// decision would break the set's next provisioning. Without the organisation part nothing tells,
/// and it is found as before.
#[test]
fn a_policy_a_permission_set_references_is_not_unattached() {
    let dir = tempfile::tempdir().expect("temp dir");
    organization_with_an_unattached_set_policy(dir.path());
    let at = [dir.path().to_path_buf()];
    let exports = load_exports(&at, &LoadOptions::default()).expect("loads");
    let org = iam_tighten::input::organization::find(&at)
        .expect("organisation part loads")
        .expect("organisation part");
    let unattached = |an: &Analysis<'_>| {
        identity_findings(&exports, an, &IdentitySettings::new(90))
            .of_kind(PolicyUnattached)
            .map(|f| (f.account_id.clone(), f.principal_name.clone()))
            .collect::<Vec<_>>()
    };
    let settings = Settings::new(90, None).expect("settings");
    let with_org = analysis::analyze_organization(
        &exports,
        Some(&org),
        Catalog::embedded(),
        &settings,
        &Config::default(),
    )
    .expect("analysis runs");
    assert_eq!(unattached(&with_org), []);
    assert_eq!(
        unattached(&analyze(&exports)),
        [("111111111111".to_string(), "developer-extras".to_string())]
    );
}

/// A copy of fixture `creds` whose `authorization-details.json` lists no users (fetched with
/// `--filter` without `User`), while its credential report still lists them; the second value
/// is the export folder.
pub(crate) fn creds_without_users() -> (tempfile::TempDir, PathBuf) {
    creds_edited(|doc| doc["UserDetailList"] = serde_json::json!([]))
}

/// A copy of fixture `creds` whose `authorization-details.json` lists no roles (fetched with
/// `--filter` without `Role`); the second value is the export folder.
pub(crate) fn creds_without_roles() -> (tempfile::TempDir, PathBuf) {
    creds_edited(|doc| doc["RoleDetailList"] = serde_json::json!([]))
}

/// Every AWS account has service-linked roles: authorization details that list none left the
/// kind out, so the unused-role check could not run. It is a check not possible, saying why
/// (and `diff` calls an earlier unused role unknown, not resolved); the fixture as it is lists
/// roles and has no such gap.
#[test]
fn the_unused_role_check_of_an_export_without_roles_is_not_possible() {
    let whole = run(&[creds_export()]);
    assert!(!gaps(&whole, "123456789012").contains(&UnusedRole));
    let (_dir, export) = creds_without_roles();
    let export = load_export(&export, &LoadOptions::default()).expect("loads");
    let r = run(std::slice::from_ref(&export));
    assert!(!r.findings.iter().any(|f| f.kind == UnusedRole));
    assert!(gaps(&r, "123456789012").contains(&UnusedRole));
    let gap = gap_reason(&r, UnusedRole);
    assert!(gap.contains("lists no roles"), "{}", gap);
}

/// A copy of fixture `creds` whose `Policies` lack `names` (customer managed policies, by name);
/// the second value is the export folder.
pub(crate) fn creds_without_policies(names: &[&str]) -> (tempfile::TempDir, PathBuf) {
    creds_edited(|doc| {
        let policies = doc["Policies"].as_array_mut().expect("Policies");
        policies.retain(|p| !names.contains(&p["PolicyName"].as_str().unwrap_or_default()));
    })
}

/// A `Policies` list that lacks a policy a role attaches was cut (`--filter Role`, say): a
/// policy it does not list may be deleted or only left out. The unattached-policy check says so
/// (and `diff` calls an earlier unattached policy unknown, not resolved); a list that lacks only
/// a policy nothing attaches (deleted) has no such gap.
#[test]
fn an_export_whose_policies_lack_an_attached_one_cannot_tell_unattached_policies() {
    let (_dir, deleted) = creds_without_policies(&["orphan"]);
    let deleted = load_export(&deleted, &LoadOptions::default()).expect("loads");
    let r = run(std::slice::from_ref(&deleted));
    assert!(!gaps(&r, "123456789012").contains(&PolicyUnattached));

    let (_dir, cut) = creds_without_policies(&["orphan", "attached"]);
    let cut = load_export(&cut, &LoadOptions::default()).expect("loads");
    let r = run(std::slice::from_ref(&cut));
    let gap = gap_reason(&r, PolicyUnattached);
    assert!(
        gap.contains("lack customer managed policies its principals attach (attached;"),
        "{}",
        gap
    );
    // What it does list is still judged.
    let unattached = names_of(&r, PolicyUnattached);
    assert_eq!(unattached, ["nocount"]);
}

/// Authorization details that list no user while the credential report lists some (fetched with
/// `--filter`, say) cannot tell which users exist: the report's rows are left out (a warning
/// names them), so the user checks found nothing without saying so, and `diff` called every
/// old user finding `identity_resolved` ("the key was deleted or used again"). They are checks
/// not possible now, saying why; the root checks still run.
#[test]
fn user_checks_of_an_export_without_users_are_not_possible() {
    let (_dir, export) = creds_without_users();
    let export = load_export(&export, &LoadOptions::default()).expect("loads");
    let r = run(std::slice::from_ref(&export));
    let users: Vec<&IdentityFinding> = r
        .findings
        .iter()
        .filter(|f| f.principal_type.as_str() == "user")
        .collect();
    assert!(users.is_empty(), "{users:?}");
    // Also not possible, as before: group_without_members (no users), policy_unattached.
    let mut want = vec![
        UnusedUser,
        AccessKeyNeverUsed,
        AccessKeyUnused,
        AccessKeyOld,
        PasswordUnused,
        PasswordWithoutMfa,
        GroupWithoutMembers,
        PolicyUnattached,
    ];
    want.sort();
    assert_eq!(gaps(&r, "123456789012"), want);
    let gap = gap_reason(&r, AccessKeyUnused);
    assert!(gap.contains("lists no users"), "{}", gap);
    assert!(!r.of_kind(RootAccessKey).collect::<Vec<_>>().is_empty());
}

/// The credential report lists only passwords and access keys, but a user can also call AWS with
/// a service-specific credential (an Amazon Bedrock API key, CodeCommit Git credentials), an SSH
/// public key or a signing certificate. Only its last-accessed data shows that use: a user
/// without it, whom the report alone shows unused, is not `unused_user` (its `delete_user`
/// decision would break what uses that credential) but a check not possible, naming it. With
/// last-accessed data that shows no service use (the fixture's), it is unused as before.
#[test]
fn a_user_without_last_accessed_data_is_not_called_unused() {
    let with = creds_export();
    assert!(
        with.last_accessed
            .contains_key(&(PrincipalType::User, "nopw".to_string()))
    );
    find(&run(std::slice::from_ref(&with)), UnusedUser, "nopw", None);
    let mut without = with;
    without
        .last_accessed
        .remove(&(PrincipalType::User, "nopw".to_string()));
    let r = run(&[without]);
    let unused: Vec<&str> = r
        .of_kind(UnusedUser)
        .map(|f| f.principal_name.as_str())
        .collect();
    assert_eq!(unused, ["dormant"]);
    let gap = r
        .checks_not_possible
        .iter()
        .find(|n| n.check == UnusedUser && n.reason.contains("nopw"))
        .unwrap_or_else(|| panic!("{:#?}", r.checks_not_possible));
    assert!(gap.reason.contains("last-accessed"), "{}", gap.reason);
    // Used users (busy) and those younger than the window (fresh) are judged, not listed.
    assert!(
        !gap.reason.contains("busy") && !gap.reason.contains("fresh"),
        "{}",
        gap.reason
    );
}

/// A user's own last-accessed data that ends before the as-of time (its job completed earlier: a
/// resumed fetch) is judged over the window that ends there, as its permissions are: a service
/// use inside that window keeps it from being called unused (its `delete_user` decision), and a
/// user unused there is said to be unused over that window, not the export's.
#[test]
fn a_user_whose_data_ends_early_is_judged_over_its_own_window() {
    let dir = tempfile::tempdir().expect("temp dir");
    let export = dir.path().join("creds");
    crate::common::copy_dir(&fixture("creds"), &export);
    let nopw = export.join("last-accessed/users/nopw.json");
    let with_use = |used: Option<&str>| {
        crate::common::edit_json(&nopw, |doc| {
            doc["JobCreationDate"] = "2026-02-28T23:59:00Z".into();
            doc["JobCompletionDate"] = "2026-03-01T00:00:00Z".into();
            doc["ServicesLastAccessed"] = serde_json::json!([{
                "ServiceName": "Amazon S3",
                "ServiceNamespace": "s3",
                "LastAuthenticated": used,
                "LastAuthenticatedEntity": used.map(|_| "arn:aws:iam::123456789012:user/nopw"),
                "TotalAuthenticatedEntities": u8::from(used.is_some()),
            }]);
        });
        run(&[load_export(&export, &LoadOptions::default()).expect("loads")])
    };
    // The export's window starts 2026-03-03; nopw's own, ending at its job, 2025-12-01.
    let r = with_use(Some("2026-02-15T00:00:00Z"));
    assert!(
        !names_of(&r, UnusedUser).contains(&"nopw"),
        "{:#?}",
        rows(&r)
    );
    let r = with_use(None);
    let f = find(&r, UnusedUser, "nopw", None);
    assert!(
        f.detail
            .contains("within the 90-day window from 2025-12-01 to 2026-03-01 (where its last-accessed data ends)"),
        "{}",
        f.detail
    );
}

/// `--as-of` on an export with no time of its own (no last-accessed job dates, no manifest)
/// cannot be checked: it may lie years after the export was made, when a use would not be in it.
/// The checks that judge a window or an age are not run (each listed as not possible, saying
/// why), and no role is flagged `unused_role`; the checks that need no time still run.
#[test]
fn an_as_of_the_export_cannot_check_runs_no_time_based_check() {
    let mut export = creds_export();
    export.data_time = None;
    export.last_accessed.clear();
    let exports = [export];
    let settings = Settings {
        unused_after_days: 90,
        as_of: Some("2030-01-01T00:00:00Z".parse().unwrap()),
    };
    let an = analysis::analyze(&exports, Catalog::embedded(), &settings, &Config::default())
        .expect("analysis runs");
    assert!(
        an.warnings
            .iter()
            .any(|w| w.warning.code == "as_of_unverified"),
        "{:?}",
        an.warnings
    );
    assert!(
        !an.principals
            .iter()
            .any(|p| p.flags.contains(&"unused_role")),
        "a role flagged unused"
    );
    let r = identity_findings(&exports, &an, &IdentitySettings::new(90));
    for kind in IdentityKind::NEED_AS_OF {
        assert!(
            gap_reason(&r, kind).contains("--as-of 2030-01-01T00:00:00Z cannot be checked"),
            "{kind:?}: {}",
            gap_reason(&r, kind)
        );
        assert_eq!(r.of_kind(kind).count(), 0, "{kind:?}: {:#?}", rows(&r));
    }
    assert!(r.of_kind(PasswordWithoutMfa).count() > 0, "{:#?}", rows(&r));
}

/// An export built by a library caller with last-accessed job dates but no `data_time` has a
/// time of its own (`Export::own_time`): `--as-of` is checked against its jobs, and its
/// time-based identity checks run as the loaded export's do. Collection used the jobs while the
/// identity checks asked only `data_time`, and listed those checks as not possible, saying the
/// export had no time.
#[test]
fn an_export_with_job_dates_but_no_data_time_keeps_its_time_based_checks() {
    let loaded = creds_export();
    let as_of = loaded.data_time.expect("the fixture has job dates");
    let mut built = loaded.clone();
    built.data_time = None;
    let with = |export: &Export, flag: Option<iam_tighten::model::Timestamp>| {
        let exports = [export.clone()];
        let settings = Settings {
            unused_after_days: 90,
            as_of: flag,
        };
        let an = analysis::analyze(&exports, Catalog::embedded(), &settings, &Config::default())
            .expect("analysis runs");
        let codes: Vec<String> = an.warnings.iter().map(|w| w.warning.code.clone()).collect();
        let r = identity_findings(&exports, &an, &IdentitySettings::new(90));
        (codes, rows(&r).len(), gaps(&r, "123456789012"))
    };
    let (codes, found, gaps) = with(&built, Some(as_of));
    assert!(!codes.iter().any(|c| c == "as_of_unverified"), "{codes:?}");
    assert_eq!((found, gaps), {
        let (_, f, g) = with(&loaded, Some(as_of));
        (f, g)
    });
    let later = iam_tighten::model::days_after(as_of, 1).unwrap();
    let err = analysis::analyze(
        &[built],
        Catalog::embedded(),
        &Settings {
            unused_after_days: 90,
            as_of: Some(later),
        },
        &Config::default(),
    )
    .expect_err("an --as-of after the jobs is refused");
    assert!(err.to_string().contains("is later than the data"), "{err}");
}

/// An intentional (break-glass) user keeps the credentials it does not use: they are its way in
/// when it is needed. Its `confirm_intentional` names them; no decision deactivates its key or
/// removes its password (the review found both, beside the confirmation). Rotating a key stays.
#[test]
fn an_intentional_users_unused_credentials_are_confirmed_not_taken_away() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[[intentional.rule]]\nid = \"break_glass_user\"\nprincipal = \"stale\"\n\
         reason = \"The emergency user\"\n",
    )
    .unwrap();
    let run = |config: Option<&Path>| {
        let out = dir
            .path()
            .join(if config.is_some() { "with" } else { "without" });
        let config = config.map(|c| c.to_str().unwrap());
        let args: Vec<&str> = config.into_iter().flat_map(|c| ["--config", c]).collect();
        report_decisions(&fixture("creds"), &out, &args)
    };
    let stale = |csv: &str, kind: &str| {
        csv.lines()
            .filter(|l| l.contains(&format!(",{kind},")) && l.contains(",user,stale,"))
            .count()
    };
    let before = run(None);
    assert_eq!(stale(&before, "deactivate_access_key"), 1, "{before}");
    assert_eq!(stale(&before, "remove_password"), 1, "{before}");
    let after = run(Some(&config));
    assert_eq!(stale(&after, "deactivate_access_key"), 0, "{after}");
    assert_eq!(stale(&after, "remove_password"), 0, "{after}");
    // Both keys are still to be rotated (key 1's rotation was behind its deactivation).
    assert_eq!(stale(&after, "rotate_access_key"), 2, "{after}");
    let confirm = after
        .lines()
        .find(|l| l.contains(",confirm_intentional,") && l.contains(",user,stale,"))
        .unwrap_or_else(|| panic!("{after}"));
    assert!(
        confirm.contains("confirmed with it, not taken away")
            && confirm.contains("Access key 1 of user stale")
            && confirm.contains("console password"),
        "{confirm}"
    );
}

/// Judged when its credential report was generated, a user whose last-accessed data shows a
/// call to AWS after that made it with some credential the report cannot show: its keys and
/// password are not called unused (the review found `deactivate_access_key` for a user's only
/// key, used a week after the report); the checks are not possible for it, naming it. Its key's
/// age is still judged, and its days count to the report ("before the credential report was
/// generated", not "the as-of date").
#[test]
fn a_user_who_called_aws_after_the_credential_report_keeps_its_credentials() {
    let dir = tempfile::tempdir().expect("temp dir");
    let export = dir.path().join("creds");
    crate::common::copy_dir(&fixture("creds"), &export);
    let load = |used: &str| {
        crate::common::edit_json(&export.join("last-accessed/users/dormant.json"), |d| {
            d["ServicesLastAccessed"] =
                serde_json::json!([crate::analysis::svc("s3", Some(used), None)]);
        });
        std::fs::write(
            export.join("manifest.json"),
            r#"{"account_id": "123456789012", "credential_report_generated": "2026-05-01T00:00:00Z"}"#,
        )
        .expect("write");
        load_export(&export, &LoadOptions::default()).expect("loads")
    };
    let dormant = |r: &IdentityReport| {
        let mut kinds: Vec<IdentityKind> = r
            .findings
            .iter()
            .filter(|f| f.principal_name == "dormant")
            .map(|f| f.kind)
            .collect();
        kinds.sort();
        kinds
    };
    // A call before the report was generated: the report shows its credential.
    let r = run(&[load("2026-04-20T00:00:00Z")]);
    let before = dormant(&r);
    assert!(
        before.contains(&AccessKeyNeverUsed) && before.contains(&PasswordUnused),
        "{before:?}"
    );
    // A call after it: which credential made it, the report cannot show.
    let r = run(&[load("2026-05-20T00:00:00Z")]);
    let after = dormant(&r);
    assert!(
        !after.contains(&AccessKeyNeverUsed) && !after.contains(&PasswordUnused),
        "{after:?}"
    );
    let old = r
        .findings
        .iter()
        .find(|f| f.principal_name == "dormant" && f.kind == AccessKeyOld)
        .expect("its key's age is judged");
    assert!(
        old.detail
            .contains("days before the credential report was generated"),
        "{}",
        old.detail
    );
    for check in [AccessKeyNeverUsed, AccessKeyUnused, PasswordUnused] {
        let gap = r
            .checks_not_possible
            .iter()
            .find(|g| g.check == check)
            .unwrap_or_else(|| panic!("{check:?}: {:#?}", r.checks_not_possible));
        assert!(
            gap.reason.contains("user dormant called AWS on 2026-05-20")
                && gap.covers("arn:aws:iam::123456789012:user/dormant"),
            "{gap:?}"
        );
    }
}

/// A customer managed policy attached to nothing yet that a policy names in an
/// `iam:PermissionsBoundary` or `iam:PolicyARN` condition is in use: the boundary delegated role
/// creation must attach (deleting it makes every such `CreateRole` fail). The review found
/// `delete_policy` for one. Patterns count (`StringLike`), and the key's case does not.
#[test]
fn a_policy_a_condition_names_is_not_unattached() {
    let unattached = |condition: serde_json::Value| {
        let (_dir, export) = creds_edited(|doc| {
            let user = doc["UserDetailList"]
                .as_array_mut()
                .expect("users")
                .iter_mut()
                .find(|u| u["UserName"] == "busy")
                .expect("busy");
            user["UserPolicyList"] = serde_json::json!([{
                "PolicyName": "delegated-admin",
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow",
                    "Action": ["iam:CreateRole", "iam:PutRolePermissionsBoundary"],
                    "Resource": "*",
                    "Condition": condition
                }]}
            }]);
        });
        let r = run(&[load_export(&export, &LoadOptions::default()).expect("loads")]);
        names_of(&r, PolicyUnattached)
            .into_iter()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let other = serde_json::json!({"StringEquals": {"aws:RequestedRegion": "eu-west-1"}});
    assert_eq!(unattached(other), ["nocount", "orphan"]);
    let exact = serde_json::json!({"StringEquals": {
        "iam:PermissionsBoundary": "arn:aws:iam::123456789012:policy/orphan"}});
    assert_eq!(unattached(exact), ["nocount"]);
    let pattern = serde_json::json!({"ArnLike": {
        "IAM:PolicyArn": ["arn:aws:iam::123456789012:policy/no*"]}});
    assert_eq!(unattached(pattern), ["orphan"]);
    // A variable stands for any text; under `…Equals` a `*` is a character, and a pattern of
    // any policy of a path names none in particular (review round 2: both hid every finding).
    let variable = serde_json::json!({"StringEquals": {
        "iam:PermissionsBoundary": "arn:aws:iam::${aws:PrincipalAccount}:policy/orphan"}});
    assert_eq!(unattached(variable), ["nocount"]);
    let literal = serde_json::json!({"StringEquals": {
        "iam:PermissionsBoundary": "arn:aws:iam::123456789012:policy/*"}});
    assert_eq!(unattached(literal), ["nocount", "orphan"]);
    let any = serde_json::json!({"StringLike": {
        "iam:PermissionsBoundary": "arn:aws:iam::123456789012:policy/*"}});
    assert_eq!(unattached(any), ["nocount", "orphan"]);
    // ARN operators match with wildcards, `ArnEquals` too; a pattern of any resource of the
    // account names no policy (review round 3).
    let arn_equals = serde_json::json!({"ArnEquals": {
        "iam:PolicyARN": "arn:aws:iam::123456789012:policy/orph*"}});
    assert_eq!(unattached(arn_equals), ["nocount"]);
    let account = serde_json::json!({"StringLike": {
        "iam:PolicyARN": "arn:aws:iam::123456789012:*"}});
    assert_eq!(unattached(account), ["nocount", "orphan"]);
    // Allowed unless it is the policy: not required.
    let unless = serde_json::json!({"StringNotEquals": {
        "iam:PermissionsBoundary": "arn:aws:iam::123456789012:policy/orphan"}});
    assert_eq!(unattached(unless), ["nocount", "orphan"]);
}

/// An SCP that denies `iam:CreateRole` unless with a boundary (written with
/// `${aws:PrincipalAccount}`, as an SCP shared by every account is) requires that policy in
/// each account: it is not called unattached, and gets no `delete_policy` (review round 2).
#[test]
fn a_policy_an_scp_requires_as_a_boundary_is_not_unattached() {
    let dir = tempfile::tempdir().unwrap();
    let org = dir.path().join("org");
    crate::common::copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/2026-q4"),
        &org,
    );
    let run = |name: &str| {
        let decisions = report_decisions(&org, &dir.path().join(name), &[]);
        decisions
            .lines()
            .any(|l| l.contains(",delete_policy,") && l.contains("legacy-s3-admin"))
    };
    assert!(run("before"), "the sample's unattached policy");
    crate::common::edit_json(&org.join("organization/policy/p-0643d0e9.json"), |p| {
        let content = p["Policy"]["Content"].as_str().unwrap();
        let mut doc: serde_json::Value = serde_json::from_str(content).unwrap();
        doc["Statement"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({
                "Sid": "RequireBoundary", "Effect": "Deny",
                "Action": ["iam:CreateRole", "iam:PutRolePermissionsBoundary"], "Resource": "*",
                "Condition": {"StringNotEquals": {"iam:PermissionsBoundary":
                    "arn:aws:iam::${aws:PrincipalAccount}:policy/legacy-s3-admin"}}
            }));
        p["Policy"]["Content"] = doc.to_string().into();
    });
    assert!(!run("after"));
}

/// An unused IAM Identity Center role of an export without an organisation part: Identity
/// Center owns it, so it is not deleted by hand, and its decision is to review the assignment of
/// the permission set its name gives (the review found no decision at all).
#[test]
fn an_unused_identity_center_role_without_an_organisation_gets_its_assignment_reviewed() {
    let role = "AWSReservedSSO_ReadOnly_0a7b25165782e308";
    let (dir, export) = creds_with_roles(|r| {
        if r["RoleName"] == "unused-role" {
            let path = "/aws-reserved/sso.amazonaws.com/eu-west-1/";
            r["RoleName"] = role.into();
            r["Path"] = path.into();
            r["Arn"] = format!("arn:aws:iam::123456789012:role{path}{role}").into();
        }
    });
    let decisions = report_decisions(&export, &dir.path().join("out"), &[]);
    let ours: Vec<&str> = decisions.lines().filter(|l| l.contains(role)).collect();
    assert_eq!(ours.len(), 1, "{decisions}");
    assert!(
        ours[0].contains(",review_permission_set_assignment,")
            && ours[0].contains("permission set ReadOnly to account 123456789012")
            && !ours[0].contains("delete_role"),
        "{}",
        ours[0]
    );
}

/// The administrator permission set's role of an export without an organisation part is
/// intentional, and not actionable (Identity Center owns it): its `confirm_intentional`
/// counted and ranked its unused permissions as "0 critical, 0 high" at `low`. It counts what
/// the role holds, as the break-glass role's does.
#[test]
fn an_identity_center_admin_role_without_an_organisation_counts_what_it_holds() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/2026-q4");
    for account in ["111111111111", "222222222222"] {
        crate::common::copy_dir(&sample.join(account), &export.join(account));
    }
    let decisions = report_decisions(&export, &dir.path().join("out"), &[]);
    let admin: Vec<&str> = decisions
        .lines()
        .filter(|l| l.contains(",confirm_intentional,") && l.contains("AWSReservedSSO_Admin"))
        .collect();
    assert_eq!(admin.len(), 2, "{decisions}");
    for row in admin {
        assert!(row.contains(",confirm_intentional,critical,"), "{row}");
        assert!(!row.contains("(0 critical, 0 high)"), "{row}");
    }
}

/// The sample's dev account root user has no MFA: its decision `enable_root_mfa` ranks with the
/// other root decisions, before every decision about a role or user (no policy limits root).
#[test]
fn a_root_user_without_mfa_gets_a_root_decision() {
    let dir = tempfile::tempdir().unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/2026-q4");
    let decisions = report_decisions(&sample, &dir.path().join("out"), &[]);
    let kinds: Vec<&str> = decisions
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap())
        .collect();
    let at = kinds.iter().position(|k| *k == "enable_root_mfa");
    let at = at.unwrap_or_else(|| panic!("{decisions}"));
    assert!(
        kinds[..at]
            .iter()
            .all(|k| k.contains("root") || *k == "review_root_use"),
        "{kinds:?}"
    );
    let row = decisions
        .lines()
        .find(|l| l.contains(",enable_root_mfa,"))
        .unwrap();
    assert!(
        row.contains("Enable MFA on the root user of account 222222222222"),
        "{row}"
    );

    // Without a root credential in the report (its key deactivated), the finding is high and
    // its decision ranks by sensitivity, after the critical ones: the account's root credentials
    // may have been removed (it ranked first, review pass 46 round 2).
    let org = dir.path().join("org");
    crate::common::copy_dir(&sample, &org);
    let report = org.join("222222222222/credential-report.csv");
    let text = std::fs::read_to_string(&report).unwrap();
    let text = text.replace(
        "not_supported,FALSE,TRUE,2023-01-09T10:05:00+00:00",
        "not_supported,FALSE,FALSE,2023-01-09T10:05:00+00:00",
    );
    std::fs::write(&report, text).unwrap();
    let decisions = report_decisions(&org, &dir.path().join("out2"), &[]);
    let rows: Vec<&str> = decisions.lines().skip(1).collect();
    let at = rows
        .iter()
        .position(|l| l.contains(",enable_root_mfa,high,"));
    let at = at.unwrap_or_else(|| panic!("{decisions}"));
    let critical = rows
        .iter()
        .position(|l| l.contains(",critical,") && !l.contains("root"));
    assert!(critical.is_some_and(|c| c < at), "{decisions}");
}
