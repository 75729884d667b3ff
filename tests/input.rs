//! Loading export folders: every real AWS shape, and every bad input (errors and warnings).
//! Fixtures are written by `tests/fixtures/input/gen.py`.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use iam_tighten::Error;
use iam_tighten::input::{LoadOptions, load_export, load_exports, parse_timestamp};
use iam_tighten::model::document::RawDocument;
use iam_tighten::model::{Export, PrincipalType, ReportDate, Sha256Sum, Timestamp};
use iam_tighten::policy::{ActionClause, ResourceClause};
use predicates::str::contains;

const SPECIAL: &str = "ci.deploy+bot@prod=1,x_y-z";

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/input")
        .join(rel)
}

fn load(rel: &str) -> Export {
    load_export(&fixture(rel), &LoadOptions::default()).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn load_err(rel: &str) -> Error {
    match load_export(&fixture(rel), &LoadOptions::default()) {
        Ok(_) => panic!("{rel}: expected an error"),
        Err(e) => e,
    }
}

fn ts(s: &str) -> Timestamp {
    parse_timestamp(s).expect("test timestamp")
}

/// Asserts a `Parse` error on `file` at `json_path` whose message contains `needle`.
fn assert_parse(err: &Error, file: &str, json_path: &str, needle: &str) {
    match err {
        Error::Parse {
            path,
            json_path: at,
            message,
        } => {
            assert!(path.ends_with(file), "{err}");
            assert_eq!(at, json_path, "{err}");
            assert!(message.contains(needle), "{err}");
        }
        other => panic!("expected Error::Parse, got {other:?}"),
    }
    assert!(err.to_string().contains(file), "{err}");
}

fn assert_input(err: &Error, file: &str, needle: &str) {
    match err {
        Error::Input { path, message } => {
            assert!(path.ends_with(file), "{err}");
            assert!(message.contains(needle), "{err}");
        }
        other => panic!("expected Error::Input, got {other:?}"),
    }
}

/// Everything an export means, as text, so exports from different clients can be compared.
fn meaning(e: &Export) -> String {
    let mut s = format!("{} {} {:?}\n", e.account_id, e.partition, e.data_time);
    for p in &e.principals {
        let _ = writeln!(
            s,
            "{} {} {} {} {} {:?} {:?} {:?} {:?} {:?} {:?} {}",
            p.kind,
            p.name,
            p.id,
            p.arn,
            p.path,
            p.created,
            p.attached_policies,
            p.groups,
            p.permissions_boundary,
            p.tags,
            p.role_last_used,
            p.service_linked
        );
        for i in &p.inline_policies {
            let _ = writeln!(s, "  inline {} {:?}", i.name, i.document.statements);
        }
    }
    for (arn, p) in &e.policies {
        let _ = writeln!(
            s,
            "{arn} {} {} {} {:?} {:?} {:?} {:?}",
            p.name,
            p.path,
            p.aws_managed,
            p.default_version_id,
            p.create_date,
            p.update_date,
            p.document.statements
        );
    }
    for (key, la) in &e.last_accessed {
        let _ = writeln!(
            s,
            "{key:?} {:?} {:?} {:?}",
            la.job_type, la.job_creation, la.job_completion
        );
        for svc in &la.services {
            let _ = writeln!(s, "  {svc:?}");
        }
    }
    let _ = writeln!(s, "{:?}", e.credential_report);
    s
}

#[test]
fn cli_v1_export() {
    let e = load("cli-v1");
    assert_eq!(
        (e.account_id.as_str(), e.partition.as_str()),
        ("123456789012", "aws")
    );
    assert!(e.warnings.is_empty(), "{:?}", e.warnings);
    let names: Vec<_> = e
        .principals
        .iter()
        .map(|p| (p.kind, p.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            (PrincipalType::Role, "AWSServiceRoleForSupport"),
            (PrincipalType::Role, "app-role"),
            (PrincipalType::Role, SPECIAL),
            (PrincipalType::User, "alice"),
            (PrincipalType::Group, "developers"),
        ]
    );

    let app = e
        .principal(PrincipalType::Role, "app-role")
        .expect("app-role");
    assert_eq!(app.inline_policies[0].name, "inline-s3");
    assert_eq!(
        app.attached_policies,
        [
            "arn:aws:iam::123456789012:policy/app-policy",
            "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
        ]
    );
    assert_eq!(
        app.permissions_boundary.as_deref(),
        Some("arn:aws:iam::123456789012:policy/boundaries/dev-boundary")
    );
    assert_eq!(app.tags.get("team"), Some("payments"));
    let last_used = app.role_last_used.clone().expect("roles have RoleLastUsed");
    assert_eq!(last_used.date, Some(ts("2024-04-30T18:22:31Z")));
    assert_eq!(last_used.region.as_deref(), Some("us-east-1"));
    assert!(!app.service_linked);
    let slr = e
        .principal(PrincipalType::Role, "AWSServiceRoleForSupport")
        .expect("slr");
    assert!(slr.service_linked);
    assert_eq!(slr.role_last_used.as_ref().map(|r| r.date), Some(None));
    let alice = e.principal(PrincipalType::User, "alice").expect("alice");
    assert_eq!(alice.groups, ["developers"]);
    assert_eq!(alice.created, Some(ts("2021-03-04T05:06:07Z")));
    assert!(alice.role_last_used.is_none());

    let app_policy = &e.policies["arn:aws:iam::123456789012:policy/app-policy"];
    assert!(!app_policy.aws_managed);
    assert_eq!(
        app_policy.document.statements.len(),
        2,
        "the default version v2"
    );
    let lambda = &e.policies["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"];
    assert!(lambda.aws_managed);
    assert_eq!(
        (lambda.name.as_str(), lambda.path.as_str()),
        ("AWSLambdaBasicExecutionRole", "/service-role/")
    );

    assert_eq!(e.last_accessed.len(), 5);
    let la = &e.last_accessed[&(PrincipalType::Role, "app-role".to_string())];
    let namespaces: Vec<_> = la.services.iter().map(|s| &*s.namespace).collect();
    assert_eq!(namespaces, ["ec2", "logs", "s3"]);
    let ec2 = &la.services[0];
    assert_eq!(ec2.last_authenticated, Some(ts("2024-04-30T18:22:00Z")));
    let tracked = ec2.tracked_actions.as_ref().expect("tracked");
    assert_eq!(&*tracked[0].name, "DescribeInstances");
    assert_eq!(tracked[0].last_accessed, Some(ts("2024-04-30T18:22:00Z")));
    assert_eq!(
        (&*tracked[1].name, tracked[1].last_accessed),
        ("RunInstances", None)
    );
    assert_eq!(la.services[1].tracked_actions, None, "absent list");
    assert_eq!(la.services[2].tracked_actions, Some(vec![]), "empty list");
    // One copy of each namespace for the whole export, shared by every report naming it.
    let mut first: std::collections::BTreeMap<&str, &std::sync::Arc<str>> = Default::default();
    let mut shared = 0;
    for s in e.last_accessed.values().flat_map(|la| &la.services) {
        let seen = first.entry(&*s.namespace).or_insert(&s.namespace);
        assert!(
            std::sync::Arc::ptr_eq(seen, &s.namespace),
            "{}",
            s.namespace
        );
        shared += usize::from(!std::ptr::eq(*seen, &s.namespace));
    }
    assert!(shared > 0, "no namespace appears in two reports");
    assert!(
        e.last_accessed
            .contains_key(&(PrincipalType::Role, SPECIAL.to_string()))
    );
    assert_eq!(e.data_time, Some(ts("2024-05-02T09:14:07.118Z")));

    let report = e.credential_report.as_ref().expect("credential report");
    assert_eq!(report.len(), 2);
    let root = &report[0];
    assert!(root.is_root());
    assert_eq!(root.password_enabled, None);
    assert_eq!(root.password_last_changed, ReportDate::NotSupported);
    assert!(root.mfa_active);
    let alice_row = &report[1];
    assert_eq!(alice_row.password_enabled, Some(true));
    assert_eq!(alice_row.password_last_used, ReportDate::NoInformation);
    assert_eq!(alice_row.password_next_rotation, ReportDate::NotApplicable);
    assert_eq!(
        alice_row.access_keys[0].last_used_date,
        ReportDate::Date(ts("2024-05-01T18:39:00Z"))
    );
    assert_eq!(
        alice_row.access_keys[0].last_used_service.as_deref(),
        Some("ec2")
    );
    assert_eq!(alice_row.access_keys[1].last_used_region, None);
    assert!(!alice_row.access_keys[1].active);

    let paths: Vec<_> = e.files.iter().map(|f| f.path.as_str()).collect();
    assert!(paths.contains(&"authorization-details.json"));
    assert!(paths.contains(&"last-accessed/roles/ci.deploy+bot@prod=1,x_y-z.json"));
    assert!(paths.windows(2).all(|w| w[0] < w[1]), "sorted");
    // Each file's digest is its bytes', written as 64 lowercase hex digits.
    for f in &e.files {
        let bytes = fs::read(fixture("cli-v1").join(&f.path)).expect("fixture file");
        assert_eq!(f.sha256, Sha256Sum::of(&bytes), "{}", f.path);
        assert_eq!(f.bytes, bytes.len() as u64, "{}", f.path);
        let hex = f.sha256.to_string();
        assert!(
            hex.len() == 64
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }
}

/// A `manifest.json` whose `partition` the ARNs contradict is refused, as its `account_id` is:
/// the partition decides which all-wildcard ARNs match every resource, and the manifest's won
/// without a word.
#[test]
fn a_manifest_partition_the_arns_contradict_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    copy_fixture("cli-v2", tmp.path());
    crate::common::edit_json(&tmp.path().join("manifest.json"), |m| {
        m["partition"] = "aws-us-gov".into();
    });
    let err = load_export(tmp.path(), &LoadOptions::default()).expect_err("refused");
    assert_input(
        &err,
        "authorization-details.json",
        "ARNs name partition aws but manifest.json says aws-us-gov",
    );
}

#[test]
fn cli_v2_export_means_the_same_as_cli_v1() {
    let v2 = load("cli-v2");
    assert_eq!(meaning(&v2), meaning(&load("cli-v1")));
    assert!(v2.warnings.is_empty(), "{:?}", v2.warnings);
    let manifest = v2.manifest.as_ref().expect("manifest");
    assert_eq!(manifest.created, Some(ts("2024-05-02T09:20:00Z")));
    assert_eq!(manifest.files.len(), 7, "verified against the files");
    assert!(v2.files.iter().any(|f| f.path == "manifest.json"));
}

#[test]
fn boto3_str_export_means_the_same_as_cli_v1() {
    // Space-separated timestamps, nulls, compact JSON, reordered CSV columns with True/False.
    assert_eq!(meaning(&load("boto3-str")), meaning(&load("cli-v1")));
}

#[test]
fn moto_export_with_url_encoded_documents_and_no_policy_names() {
    let e = load("moto");
    assert!(e.warnings.is_empty(), "{:?}", e.warnings);
    let app_policy = &e.policies["arn:aws:iam::123456789012:policy/app-policy"];
    assert_eq!(app_policy.name, "app-policy", "from the ARN");
    assert_eq!(app_policy.document.statements.len(), 2);
    let boundary = &e.policies["arn:aws:iam::123456789012:policy/boundaries/dev-boundary"];
    assert_eq!(boundary.name, "dev-boundary");
    assert_eq!(
        boundary.document.statements[0].resources,
        Some(ResourceClause::Resource(vec!["arn:aws:s3:::a+b/*".into()])),
        "+ is not a space"
    );
    let app = e
        .principal(PrincipalType::Role, "app-role")
        .expect("app-role");
    assert_eq!(
        app.inline_policies[0].document.statements[0].actions,
        ActionClause::Action(vec!["s3:ListBucket".into()])
    );
    assert_eq!(
        app.role_last_used,
        Some(Default::default()),
        "RoleLastUsed {{}}"
    );
    let alice = e.principal(PrincipalType::User, "alice").expect("alice");
    assert_eq!(
        alice.inline_policies[0].document.statements.len(),
        1,
        "plain JSON string"
    );
    // Inline documents are held as compact text (memory), and read back as the JSON decoded
    // from the URL-encoded string, keys in its order.
    let raw = &app.inline_policies[0].document.raw;
    assert!(matches!(raw, RawDocument::Text(_)), "{raw:?}");
    let value = raw.value();
    let keys: Vec<&str> = value.as_object().unwrap().keys().map(|k| &**k).collect();
    assert_eq!(keys, ["Version", "Statement"]);
    assert_eq!(value["Statement"]["Action"], "s3:ListBucket");
    assert_eq!(
        iam_tighten::recommend::iam_size_of(raw),
        iam_tighten::recommend::iam_size(&value)
    );

    let la = &e.last_accessed[&(PrincipalType::Role, "app-role".to_string())];
    assert_eq!(&*la.services[0].namespace, "ec2", "lower-cased");
    let tracked = la.services[0].tracked_actions.as_ref().expect("tracked");
    assert_eq!(&*tracked[1].name, "RunInstances", "prefix stripped");
    assert_eq!(la.job_creation, Some(ts("2024-05-02T09:14:03.512Z")));
    // Same last-accessed meaning as the CLI export, microsecond timestamps and all.
    let v1 = load("cli-v1");
    for (key, la) in &e.last_accessed {
        assert_eq!(la.services, v1.last_accessed[key].services, "{key:?}");
    }

    let report = e.credential_report.as_ref().expect("credential report");
    assert_eq!(report.len(), 1, "moto has no root row");
    assert!(!report[0].is_root());
    assert_eq!(report[0].password_last_used, ReportDate::NotSupported);
    assert_eq!(report[0].access_keys[0].last_used_region, None);
}

#[test]
fn multi_version_policies_use_the_default_version() {
    let e = load("multi-version");
    let statement_actions = |arn: &str| e.policies[arn].document.statements[0].actions.clone();
    assert_eq!(
        statement_actions("arn:aws:iam::123456789012:policy/three-versions"),
        ActionClause::Action(vec!["sns:Subscribe".into()]),
        "IsDefaultVersion"
    );
    assert_eq!(
        statement_actions("arn:aws:iam::123456789012:policy/no-default-flags"),
        ActionClause::Action(vec!["sqs:ReceiveMessage".into()]),
        "DefaultVersionId when no IsDefaultVersion"
    );
    let view = &e.policies["arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"];
    assert!(view.aws_managed);
    assert_eq!(view.path, "/job-function/");
    assert_eq!(view.default_version_id.as_deref(), Some("v5"));
    assert!(e.credential_report.is_none());
    let codes: Vec<_> = e.warnings.iter().map(|w| w.code.as_str()).collect();
    assert_eq!(codes, ["credential_report_missing"]);
}

/// A policy's versions are counted; one with IAM's most (5) names its oldest version other than
/// the default, by `CreateDate` (v12 before v3 here) and not by number, so a plan can say which
/// to delete before a new version. Equal dates fall back to the number.
#[test]
fn a_policy_with_five_versions_names_its_oldest_other_version() {
    let dir = tempfile::tempdir().expect("temp dir");
    let export = dir.path().join("multi-version");
    crate::common::copy_dir(&fixture("multi-version"), &export);
    let file = export.join("authorization-details.json");
    crate::common::edit_json(&file, |doc| {
        let policies = doc["Policies"].as_array_mut().expect("Policies");
        let three = policies
            .iter_mut()
            .find(|p| p["PolicyName"] == "three-versions")
            .expect("three-versions");
        let template = three["PolicyVersionList"][0].clone();
        let mut versions = vec![three["PolicyVersionList"][1].clone()]; // v2, the default
        for (id, date) in [
            ("v3", "2024-02-01T00:00:00Z"),
            ("v12", "2024-01-15T00:00:00Z"),
            ("v4", "2024-03-01T00:00:00Z"),
            ("v5", "2024-04-01T00:00:00Z"),
        ] {
            let mut v = template.clone();
            v["VersionId"] = id.into();
            v["CreateDate"] = date.into();
            versions.push(v);
        }
        three["PolicyVersionList"] = versions.into();
    });

    let e = load_export(&export, &LoadOptions::default()).expect("loads");
    let p = &e.policies["arn:aws:iam::123456789012:policy/three-versions"];
    assert_eq!(p.versions, 5);
    assert_eq!(p.oldest_other_version.as_deref(), Some("v12"));
    assert_eq!(
        p.document.statements[0].actions,
        ActionClause::Action(vec!["sns:Subscribe".into()]),
        "still the default version's document"
    );
    // Fewer than five: counted, and nothing to delete.
    let other = &e.policies["arn:aws:iam::123456789012:policy/no-default-flags"];
    assert_eq!(
        (other.versions, other.oldest_other_version.as_deref()),
        (2, None)
    );
    let whole = load("multi-version");
    let three = &whole.policies["arn:aws:iam::123456789012:policy/three-versions"];
    assert_eq!(
        (three.versions, three.oldest_other_version.as_deref()),
        (3, None)
    );

    // The same date for v12 and v3: the smaller number (v3), not the text ("v12" < "v3").
    let text = std::fs::read_to_string(&file)
        .expect("read")
        .replace("2024-01-15T00:00:00Z", "2024-02-01T00:00:00Z");
    std::fs::write(&file, text).expect("write");
    let e = load_export(&export, &LoadOptions::default()).expect("loads");
    let p = &e.policies["arn:aws:iam::123456789012:policy/three-versions"];
    assert_eq!(p.oldest_other_version.as_deref(), Some("v3"));

    // A version's date is read, so a malformed one is an error naming its file and JSON path.
    let text = std::fs::read_to_string(&file)
        .expect("read")
        .replace("2024-03-01T00:00:00Z", "last tuesday");
    std::fs::write(&file, text).expect("write");
    let at = policies_index(&file, "three-versions");
    match load_export(&export, &LoadOptions::default()) {
        Ok(_) => panic!("a malformed version CreateDate was accepted"),
        Err(e) => assert_parse(
            &e,
            "authorization-details.json",
            &format!("$.Policies[{at}].PolicyVersionList[3].CreateDate"),
            "malformed timestamp \"last tuesday\"",
        ),
    }
}

/// The index in `Policies` of policy `name` in authorization details `file`.
fn policies_index(file: &Path, name: &str) -> usize {
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(file).expect("read")).expect("json");
    doc["Policies"]
        .as_array()
        .expect("Policies")
        .iter()
        .position(|p| p["PolicyName"] == name)
        .expect("policy")
}

#[test]
fn org_folder_expands_to_its_exports_sorted_by_account() {
    let exports = load_exports(&[fixture("org")], &LoadOptions::default()).expect("org");
    let ids: Vec<_> = exports.iter().map(|e| e.account_id.as_str()).collect();
    assert_eq!(ids, ["111111111111", "222222222222"]);
    let sandbox = &exports[0];
    assert!(sandbox.root.ends_with("b-sandbox"));
    assert!(sandbox.principals.is_empty());
    assert_eq!(
        sandbox.data_time,
        Some(ts("2024-05-01T00:00:00Z")),
        "manifest time"
    );
    assert_eq!(exports[1].data_time, Some(ts("2024-05-03T01:00:00Z")));

    let mixed = load_exports(
        &[fixture("org"), fixture("cli-v1")],
        &LoadOptions::default(),
    )
    .expect("mixed");
    let ids: Vec<_> = mixed.iter().map(|e| e.account_id.as_str()).collect();
    assert_eq!(ids, ["111111111111", "123456789012", "222222222222"]);
}

#[test]
fn warnings_are_collected_and_sorted() {
    let e = load("warnings");
    let got: Vec<(&str, Option<&str>)> = e
        .warnings
        .iter()
        .map(|w| (w.code.as_str(), w.file.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            ("credential_report_missing", Some("credential-report.csv")),
            (
                "last_accessed_incomplete",
                Some("last-accessed/roles/failed-role.json")
            ),
            (
                "last_accessed_incomplete",
                Some("last-accessed/roles/running-role.json")
            ),
            (
                "last_accessed_incomplete",
                Some("last-accessed/roles/truncated-role.json")
            ),
            ("last_accessed_missing", Some("last-accessed")),
            (
                "last_accessed_unexpected_file",
                Some("last-accessed/policies")
            ),
            (
                "last_accessed_unexpected_file",
                Some("last-accessed/roles/notes.txt")
            ),
            (
                "last_accessed_unknown_principal",
                Some("last-accessed/roles/ghost-role.json")
            ),
            ("policy_missing", Some("authorization-details.json")),
        ]
    );
    let message = |file: &str| {
        e.warnings
            .iter()
            .find(|w| w.file.as_deref() == Some(file))
            .map(|w| w.message.clone())
            .unwrap_or_default()
    };
    assert!(
        message("last-accessed/roles/failed-role.json")
            .contains("Internal failure generating report")
    );
    assert!(message("last-accessed/roles/running-role.json").contains("IN_PROGRESS"));
    assert!(message("last-accessed/roles/truncated-role.json").contains("incomplete data"));
    let missing = message("last-accessed");
    assert!(missing.starts_with("2 principals"), "{missing}");
    assert!(
        missing.contains("role/no-file-role") && missing.contains("user/carol"),
        "{missing}"
    );
    assert!(!e.warnings.iter().any(|w| w.message.contains("DS_Store")));
    // Only the complete report is usable.
    let keys: Vec<_> = e.last_accessed.keys().map(|(_, n)| n.as_str()).collect();
    assert_eq!(keys, ["app-role"]);
    assert_eq!(e.data_time, Some(ts("2024-05-02T09:10:02Z")));
}

#[test]
fn strict_turns_warnings_into_errors() {
    let err = load_export(
        &fixture("warnings"),
        &LoadOptions {
            strict: true,
            ..Default::default()
        },
    )
    .expect_err("strict");
    assert_input(&err, "failed-role.json", "--strict");
    // The credential report is optional: its absence is a warning, never a --strict failure.
    assert!(err.to_string().contains("(and 7 more warnings)"), "{err}");
    assert!(
        load_export(
            &fixture("cli-v1"),
            &LoadOptions {
                strict: true,
                ..Default::default()
            }
        )
        .is_ok()
    );
}

// ---- errors ---------------------------------------------------------------------------------

#[test]
fn missing_export_folder() {
    let err =
        load_exports(&[fixture("no-such-export")], &LoadOptions::default()).expect_err("missing");
    assert!(matches!(err, Error::Read { .. }), "{err:?}");
    assert!(err.to_string().contains("no-such-export"), "{err}");
}

#[test]
fn missing_authorization_details() {
    assert_input(
        &load_err("bad/no-authorization-details"),
        "authorization-details.json",
        "missing",
    );
    let err = load_exports(
        &[fixture("bad/no-authorization-details")],
        &LoadOptions::default(),
    )
    .expect_err("missing");
    assert_input(
        &err,
        "no-authorization-details/authorization-details.json",
        "missing",
    );
}

#[test]
fn empty_file() {
    assert_parse(
        &load_err("bad/empty-file"),
        "authorization-details.json",
        "$",
        "empty file",
    );
}

#[test]
fn truncated_file() {
    let err = load_err("bad/truncated");
    assert!(err.to_string().contains("truncated"), "{err}");
    assert!(err.to_string().contains("line "), "{err}");
    assert!(
        matches!(err, Error::Parse { .. })
            && err.to_string().contains("authorization-details.json")
    );
}

#[test]
fn not_json() {
    assert_parse(
        &load_err("bad/not-json"),
        "authorization-details.json",
        "$",
        "not valid JSON",
    );
    assert!(
        load_err("bad/not-json")
            .to_string()
            .contains("line 1 column 1")
    );
}

#[test]
fn wrong_top_level_shapes() {
    assert_parse(
        &load_err("bad/top-level-array"),
        "authorization-details.json",
        "$",
        "expected a JSON object, found a list",
    );
    assert_parse(
        &load_err("bad/last-accessed-as-authz"),
        "authorization-details.json",
        "$",
        "this is a last-accessed report",
    );
}

#[test]
fn not_utf8() {
    match load_err("bad/not-utf8") {
        Error::NotUtf8 { path, offset } => {
            assert!(path.ends_with("authorization-details.json"));
            assert!(offset > 0);
        }
        other => panic!("expected NotUtf8, got {other:?}"),
    }
}

#[test]
fn malformed_timestamp_names_its_json_path() {
    assert_parse(
        &load_err("bad/bad-timestamp"),
        "authorization-details.json",
        "$.RoleDetailList[1].CreateDate",
        "malformed timestamp \"last tuesday\"",
    );
    assert_parse(
        &load_err("bad/bad-last-accessed-timestamp"),
        "last-accessed/roles/app-role.json",
        "$.ServicesLastAccessed[0].LastAuthenticated",
        "malformed timestamp",
    );
}

#[test]
fn bad_policy_document_names_the_path_inside_the_file() {
    assert_parse(
        &load_err("bad/bad-policy-document"),
        "authorization-details.json",
        "$.RoleDetailList[0].RolePolicyList[0].PolicyDocument.Statement[1].Action",
        "expected a string or a list of strings",
    );
}

/// `authorization-details.json` of one role with a trust policy, an inline policy and an attached
/// customer managed policy; `trust`, `inline` and `managed` are the three documents as JSON (an
/// object, or a string holding one).
fn one_role(trust: &str, inline: &str, managed: &str) -> String {
    format!(
        r#"{{"RoleDetailList": [{{"RoleName": "app-role",
            "Arn": "arn:aws:iam::123456789012:role/app-role", "AssumeRolePolicyDocument": {trust},
            "RolePolicyList": [{{"PolicyName": "inline", "PolicyDocument": {inline}}}],
            "AttachedManagedPolicies": [{{"PolicyName": "app-policy",
                "PolicyArn": "arn:aws:iam::123456789012:policy/app-policy"}}],
            "RoleLastUsed": {{}}}}],
        "Policies": [{{"PolicyName": "app-policy", "Arn": "arn:aws:iam::123456789012:policy/app-policy",
            "DefaultVersionId": "v1",
            "PolicyVersionList": [{{"Document": {managed}, "VersionId": "v1", "IsDefaultVersion": true}}]}}]}}"#
    )
}

const TRUST: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
    "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}"#;
const INLINE: &str = r#"{"Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}"#;
const MANAGED: &str = r#"{"Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "events:PutEvents", "Resource": "*"}]}"#;

/// `authorization-details.json` with `text` as its content, loaded as an export.
fn load_details(text: &str) -> iam_tighten::error::Result<Export> {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("authorization-details.json"), text).unwrap();
    load_export(dir.path(), &LoadOptions::default())
}

/// A document as a JSON string, and as a URL-encoded string (what IAM's API returns).
fn as_json_string(document: &str) -> String {
    serde_json::to_string(document).unwrap()
}

fn as_url_encoded(document: &str) -> String {
    let encoded =
        percent_encoding::utf8_percent_encode(document, percent_encoding::NON_ALPHANUMERIC);
    format!("\"{encoded}\"")
}

/// A key given twice in a policy document is an error naming the file, the JSON path of the
/// object that repeats it and the key, whichever document it is in (managed, inline, trust) and
/// whatever its form (object, JSON string, URL-encoded string): JSON readers disagree on which
/// of the two counts, and serde_json's `Value` kept the last, so `"Effect": "Deny", "Effect":
/// "Allow"` read as an Allow and a second `Statement` hid the first.
#[test]
fn a_key_given_twice_in_a_policy_document_is_an_error() {
    let statement_twice = r#"{"Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        "Statement": [{"Effect": "Allow", "Action": "events:PutEvents", "Resource": "*"}]}"#;
    let effect_twice = r#"{"Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}"#;
    let condition_key_twice = r#"{"Statement": {"Effect": "Allow", "Action": "s3:*",
        "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true",
        "aws:SecureTransport": "false"}}}}"#;
    let trust_effect_twice = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Deny",
        "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}"#;
    let managed = "$.Policies[0].PolicyVersionList[0].Document";
    let inline = "$.RoleDetailList[0].RolePolicyList[0].PolicyDocument";
    let trust = "$.RoleDetailList[0].AssumeRolePolicyDocument";
    let cases = [
        (
            one_role(TRUST, INLINE, statement_twice),
            managed.to_string(),
            "\"Statement\"",
        ),
        (
            one_role(TRUST, INLINE, &as_url_encoded(effect_twice)),
            format!("{managed}.Statement[0]"),
            "\"Effect\"",
        ),
        (
            one_role(TRUST, effect_twice, MANAGED),
            format!("{inline}.Statement[0]"),
            "\"Effect\"",
        ),
        (
            one_role(TRUST, &as_json_string(condition_key_twice), MANAGED),
            format!("{inline}.Statement.Condition.Bool"),
            "\"aws:SecureTransport\"",
        ),
        (
            one_role(trust_effect_twice, INLINE, MANAGED),
            format!("{trust}.Statement[0]"),
            "\"Effect\"",
        ),
        (
            one_role(&as_url_encoded(trust_effect_twice), INLINE, MANAGED),
            format!("{trust}.Statement[0]"),
            "\"Effect\"",
        ),
        (
            one_role(&as_json_string(statement_twice), INLINE, MANAGED),
            trust.to_string(),
            "\"Statement\"",
        ),
    ];
    load_details(&one_role(TRUST, INLINE, MANAGED)).expect("the documents given once load");
    for (text, json_path, key) in cases {
        let err = match load_details(&text) {
            Ok(_) => panic!("{json_path}: expected an error"),
            Err(e) => e,
        };
        assert_parse(
            &err,
            "authorization-details.json",
            &json_path,
            &format!("duplicate key {key} in a policy document"),
        );
    }
}

/// A JSON list where the export has an object is a type error at its JSON path ("expected an
/// object"): serde's derived readers took a list too, reading it by position, so
/// `"AttachedManagedPolicies": [["arn:aws:iam::aws:policy/AdministratorAccess"]]` attached
/// AdministratorAccess and a list gave a role a last use.
#[test]
fn a_list_where_an_object_belongs_is_an_error() {
    let base = one_role(TRUST, INLINE, MANAGED);
    let inline =
        format!(r#""RolePolicyList": [{{"PolicyName": "inline", "PolicyDocument": {INLINE}}}]"#);
    let cases = [
        (
            r#""AttachedManagedPolicies": [{"PolicyName": "app-policy",
                "PolicyArn": "arn:aws:iam::123456789012:policy/app-policy"}]"#,
            r#""AttachedManagedPolicies": [["arn:aws:iam::aws:policy/AdministratorAccess"]]"#
                .to_string(),
            "$.RoleDetailList[0].AttachedManagedPolicies[0]",
        ),
        (
            inline.as_str(),
            format!(r#""RolePolicyList": [["x", {INLINE}]]"#),
            "$.RoleDetailList[0].RolePolicyList[0]",
        ),
        (
            r#""RoleLastUsed": {}"#,
            r#""RoleLastUsed": ["2026-11-19T00:00:00Z", "eu-west-1"]"#.to_string(),
            "$.RoleDetailList[0].RoleLastUsed",
        ),
        (
            r#""RoleLastUsed": {}"#,
            r#""RoleLastUsed": {}, "Tags": [["team", "payments"]]"#.to_string(),
            "$.RoleDetailList[0].Tags[0]",
        ),
        (
            r#""RoleLastUsed": {}"#,
            r#""RoleLastUsed": {}, "PermissionsBoundary": ["PermissionsBoundaryPolicy",
                "arn:aws:iam::aws:policy/AdministratorAccess"]"#
                .to_string(),
            "$.RoleDetailList[0].PermissionsBoundary",
        ),
        (
            r#""RoleDetailList": [{"#,
            r#""RoleDetailList": [["/", "other-role"], {"#.to_string(),
            "$.RoleDetailList[0]",
        ),
        (
            r#""VersionId": "v1", "IsDefaultVersion": true}"#,
            r#""VersionId": "v1", "IsDefaultVersion": true}, [null, "v2", true]"#.to_string(),
            "$.Policies[0].PolicyVersionList[1]",
        ),
    ];
    for (from, to, json_path) in cases {
        assert_eq!(base.matches(from).count(), 1, "{from}");
        let err = match load_details(&base.replace(from, &to)) {
            Ok(_) => panic!("{json_path}: expected an error"),
            Err(e) => e,
        };
        assert_parse(
            &err,
            "authorization-details.json",
            json_path,
            "invalid type: sequence, expected an object",
        );
    }
    // A last-accessed report: a service, a tracked action.
    for (services, json_path) in [
        (
            r#"["ec2", "2026-11-19T00:00:00Z"]"#,
            "$.ServicesLastAccessed[0]",
        ),
        (
            r#"{"ServiceNamespace": "ec2", "TrackedActionsLastAccessed": [["RunInstances"]]}"#,
            "$.ServicesLastAccessed[0].TrackedActionsLastAccessed[0]",
        ),
    ] {
        let err = match load_with_services(services) {
            Ok(_) => panic!("{json_path}: expected an error"),
            Err(e) => e,
        };
        assert_parse(
            &err,
            "last-accessed/roles/app-role.json",
            json_path,
            "expected an object",
        );
    }
}

/// A managed policy's `AttachmentCount` and `PermissionsBoundaryUsageCount` (read to tell whether
/// a policy is attached, or a boundary of a principal a filtered export leaves out) must be counts:
/// negative, fractional or beyond 32 bits is an error at its JSON path, and a real count loads.
#[test]
fn attachment_and_boundary_counts_are_counts() {
    let base = one_role(TRUST, INLINE, MANAGED);
    let from = r#""DefaultVersionId": "v1","#;
    assert_eq!(base.matches(from).count(), 1);
    for (field, value) in [
        ("AttachmentCount", "-1"),
        ("AttachmentCount", "4294967296"),
        ("PermissionsBoundaryUsageCount", "1.5"),
        ("PermissionsBoundaryUsageCount", "\"1\""),
    ] {
        let text = base.replace(from, &format!("{from} \"{field}\": {value},"));
        let err = match load_details(&text) {
            Ok(_) => panic!("{field}: {value}: expected an error"),
            Err(e) => e,
        };
        assert_parse(
            &err,
            "authorization-details.json",
            &format!("$.Policies[0].{field}"),
            "invalid",
        );
    }
    let text = base.replace(
        from,
        &format!("{from} \"AttachmentCount\": 1, \"PermissionsBoundaryUsageCount\": 2,"),
    );
    let export = load_details(&text).expect("counts load");
    let policy = export.policies.values().next().expect("one policy");
    assert_eq!(
        (policy.attachment_count, policy.boundary_uses),
        (Some(1), Some(2))
    );
}

#[test]
fn no_default_policy_version() {
    assert_parse(
        &load_err("bad/no-default-version"),
        "authorization-details.json",
        "$.Policies[0].PolicyVersionList",
        "DefaultVersionId \"v9\"",
    );
}

#[test]
fn no_principals_and_no_manifest() {
    assert_input(
        &load_err("bad/no-principals"),
        "authorization-details.json",
        "cannot tell which account",
    );
}

#[test]
fn manifest_checksum_mismatch() {
    assert_input(
        &load_err("bad/checksum-mismatch"),
        "authorization-details.json",
        "SHA-256 mismatch",
    );
}

/// An export of one role whose last-accessed report lists `services`, loaded.
fn load_with_services(services: &str) -> iam_tighten::error::Result<Export> {
    load_with_report(&format!(
        r#"{{"JobStatus": "COMPLETED", "JobType": "ACTION_LEVEL", "IsTruncated": false,
            "ServicesLastAccessed": [{services}]}}"#
    ))
}

/// An export of one role whose last-accessed report is `report`, loaded.
fn load_with_report(report: &str) -> iam_tighten::error::Result<Export> {
    let dir = tempfile::tempdir().unwrap();
    let from = fixture("bad/bad-last-accessed-timestamp/authorization-details.json");
    fs::copy(from, dir.path().join("authorization-details.json")).unwrap();
    let roles = dir.path().join("last-accessed/roles");
    fs::create_dir_all(&roles).unwrap();
    fs::write(roles.join("app-role.json"), report).unwrap();
    load_export(dir.path(), &LoadOptions::default())
}

/// A last-accessed service without `ServiceNamespace`, and a tracked action without
/// `ActionName`, are errors naming the file and the entry's JSON path; so is a last-access time
/// before 1970 (AWS reports none; the analysis holds times from 1970 on), in either field and
/// either form.
#[test]
fn last_accessed_entries_without_their_names_name_their_json_path() {
    let cases = [
        (
            r#"{"ServiceNamespace": "ec2"}, {"ServiceName": "Amazon S3"}"#,
            "$.ServicesLastAccessed[1]",
            "no ServiceNamespace",
        ),
        (
            r#"{"ServiceNamespace": "ec2", "TrackedActionsLastAccessed": [
                {"ActionName": "RunInstances"}, {"LastAccessedRegion": "eu-west-1"}]}"#,
            "$.ServicesLastAccessed[0].TrackedActionsLastAccessed[1]",
            "no ActionName",
        ),
        (
            r#"{"ServiceNamespace": "s3"},
               {"ServiceNamespace": "ec2", "LastAuthenticated": "1969-12-31T23:59:59.999Z"}"#,
            "$.ServicesLastAccessed[1].LastAuthenticated",
            "last-access time 1969-12-31T23:59:59.999Z is before 1970-01-01T00:00:00Z",
        ),
        (
            r#"{"ServiceNamespace": "ec2", "TrackedActionsLastAccessed": [
                {"ActionName": "RunInstances", "LastAccessedTime": "2026-01-01T00:00:00Z"},
                {"ActionName": "StopInstances", "LastAccessedTime": -86400}]}"#,
            "$.ServicesLastAccessed[0].TrackedActionsLastAccessed[1].LastAccessedTime",
            "last-access time 1969-12-31T00:00:00Z is before 1970",
        ),
    ];
    for (services, json_path, needle) in cases {
        let err = match load_with_services(services) {
            Ok(_) => panic!("{json_path}: expected an error"),
            Err(e) => e,
        };
        assert_parse(&err, "last-accessed/roles/app-role.json", json_path, needle);
    }
    // The epoch itself, and the last year RFC 3339 writes, are times like any other.
    let ok = r#"{"ServiceNamespace": "ec2", "LastAuthenticated": "1970-01-01T00:00:00Z",
        "TrackedActionsLastAccessed": [{"ActionName": "RunInstances",
        "LastAccessedTime": "9999-12-31T23:59:59.999Z"}]}"#;
    load_with_services(ok).expect("times from 1970 to 9999 load");
}

#[test]
fn malformed_last_accessed_file_is_an_error() {
    let err = load_err("bad/malformed-last-accessed");
    assert!(matches!(err, Error::Parse { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("last-accessed/roles/app-role.json"),
        "{err}"
    );
    assert!(err.to_string().contains("truncated"), "{err}");
}

/// The report files are read on every core but checked in the order of their names: of two bad
/// files, the error names the first by name, even when the second fails first (it is empty,
/// the first is ~2 MB to parse before its end is found missing).
#[test]
fn the_first_bad_report_file_by_name_is_the_error() {
    let tmp = sample_copy();
    let export = tmp.path().join("111111111111");
    // Its manifest would refuse the changed files before they are parsed.
    fs::remove_file(export.join("manifest.json")).expect("rm");
    let roles = export.join("last-accessed/roles");
    let whole = fs::read_to_string(roles.join("BreakGlassAdmin.json")).expect("read");
    let padded = format!("{{\"Padding\": \"{}\",{}", "x".repeat(2 << 20), &whole[1..]);
    fs::write(
        roles.join("BreakGlassAdmin.json"),
        &padded[..padded.len() - 2],
    )
    .expect("write");
    fs::write(roles.join("log-shipper.json"), "").expect("write");
    for _ in 0..3 {
        let err = load_export(&export, &LoadOptions::default()).expect_err("two bad files");
        assert_parse(&err, "last-accessed/roles/BreakGlassAdmin.json", "$", "");
    }
    fs::write(roles.join("BreakGlassAdmin.json"), &whole).expect("write");
    let err = load_export(&export, &LoadOptions::default()).expect_err("one bad file");
    assert_parse(
        &err,
        "last-accessed/roles/log-shipper.json",
        "$",
        "empty file",
    );
}

/// Every report file is read, however many there are beyond those read ahead of their check:
/// 300 reports of principals the export does not have are each warned about, in name order,
/// and each is listed among the files read (with its digest).
#[test]
fn every_report_file_is_read_and_warned_about_in_order() {
    let tmp = sample_copy();
    let export = tmp.path().join("111111111111");
    let roles = export.join("last-accessed/roles");
    let report = fs::read_to_string(roles.join("log-shipper.json")).expect("read");
    let ghosts: Vec<String> = (0..300).map(|i| format!("ghost-{i:03}")).collect();
    for (i, name) in ghosts.iter().enumerate() {
        // Each its own bytes, for its own digest.
        fs::write(
            roles.join(format!("{name}.json")),
            format!("{report}{}", " ".repeat(i)),
        )
        .expect("write");
    }
    let e = load_export(&export, &LoadOptions::default()).expect("loads");
    let warned: Vec<&str> = e
        .warnings
        .iter()
        .filter(|w| w.code == "last_accessed_unknown_principal")
        .filter_map(|w| w.file.as_deref())
        .collect();
    let expected: Vec<String> = ghosts
        .iter()
        .map(|g| format!("last-accessed/roles/{g}.json"))
        .collect();
    assert_eq!(warned, expected);
    for (i, rel) in expected.iter().enumerate() {
        let file = e.files.iter().find(|f| &f.path == rel).expect("listed");
        let bytes = fs::read(export.join(rel)).expect("read");
        assert_eq!(file.bytes, (report.len() + i) as u64, "{rel}");
        assert_eq!(file.sha256, Sha256Sum::of(&bytes), "{rel}");
    }
    // The export's own reports are read as before.
    assert_eq!(
        e.last_accessed.len(),
        load_export(
            &sample_copy().path().join("111111111111"),
            &LoadOptions::default()
        )
        .expect("loads")
        .last_accessed
        .len()
    );
}

#[test]
fn credential_report_errors() {
    assert_parse(
        &load_err("bad/credential-report-missing-column"),
        "credential-report.csv",
        "line 1",
        "missing column \"mfa_active\"",
    );
    assert_parse(
        &load_err("bad/credential-report-bad-boolean"),
        "credential-report.csv",
        "line 3, column mfa_active",
        "expected true or false, found \"yes\"",
    );
    // A column the checks read, named twice (the last one was read, silently): refused. An
    // extra column named twice is still ignored.
    let dir = tempfile::tempdir().expect("temp dir");
    crate::common::copy_dir(&fixture("bad/credential-report-bad-boolean"), dir.path());
    let csv = dir.path().join("credential-report.csv");
    let text = fs::read_to_string(&csv).expect("read");
    let fixed = text.replace(",yes", ",true");
    let with_column = |name: &str| {
        let mut lines = fixed.lines();
        let header = format!("{},{name},{name}\n", lines.next().expect("header"));
        let rows: String = lines.map(|l| format!("{l},x,y\n")).collect();
        fs::write(&csv, header + &rows).expect("write");
        load_export(dir.path(), &LoadOptions::default())
    };
    with_column("notes").expect("an unknown column twice is ignored");
    let err = with_column("user").expect_err("a known column twice");
    assert_parse(
        &err,
        "credential-report.csv",
        "line 1",
        "column \"user\" appears twice in the header",
    );
}

#[test]
fn same_account_twice() {
    let err = load_exports(&[fixture("bad/duplicate-account")], &LoadOptions::default())
        .expect_err("dup");
    assert_input(&err, "second", "account 123456789012 is exported twice");
    assert!(err.to_string().contains("first"), "{err}");
    let err = load_exports(
        &[fixture("cli-v1"), fixture("cli-v2")],
        &LoadOptions::default(),
    )
    .expect_err("dup");
    assert!(
        err.to_string().contains("cli-v1") && err.to_string().contains("cli-v2"),
        "{err}"
    );
}

#[test]
fn org_sub_folder_with_json_but_no_authorization_details() {
    let err =
        load_exports(&[fixture("bad/org-stray-json")], &LoadOptions::default()).expect_err("stray");
    assert_input(&err, "broken", "no authorization-details.json");
}

// ---- the command line: exit code 2 and the file named on stderr -----------------------------

fn report_fails(args: &[&Path], needle: &str) {
    let out = tempfile::tempdir().expect("tempdir");
    Command::cargo_bin("iam-tighten")
        .expect("binary")
        .arg("report")
        .args(args)
        .arg("--out")
        .arg(out.path())
        .assert()
        .code(2)
        .stderr(contains(needle));
}

#[test]
fn cli_missing_folder() {
    report_fails(&[&fixture("no-such-export")], "no-such-export");
}

#[test]
fn cli_truncated_file() {
    report_fails(&[&fixture("bad/truncated")], "authorization-details.json");
}

#[test]
fn cli_malformed_timestamp() {
    report_fails(
        &[&fixture("bad/bad-timestamp")],
        "$.RoleDetailList[1].CreateDate",
    );
}

#[test]
fn cli_checksum_mismatch() {
    report_fails(&[&fixture("bad/checksum-mismatch")], "SHA-256 mismatch");
}

#[test]
fn cli_malformed_last_accessed() {
    report_fails(&[&fixture("bad/malformed-last-accessed")], "app-role.json");
}

#[test]
fn cli_duplicate_account() {
    report_fails(&[&fixture("cli-v1"), &fixture("cli-v2")], "exported twice");
}

#[test]
fn cli_strict_warnings() {
    let out = tempfile::tempdir().expect("tempdir");
    Command::cargo_bin("iam-tighten")
        .expect("binary")
        .arg("report")
        .arg(fixture("warnings"))
        .arg("--strict")
        .arg("--out")
        .arg(out.path())
        .assert()
        .code(2)
        .stderr(contains("failed-role.json"));
}

// ---- exports written by `iam-tighten fetch` -------------------------------------------------

/// Copies a folder (to change it without touching the original).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir").flatten() {
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy");
        }
    }
}

/// Copies a fixture folder into a temporary folder (to change it without touching the fixture).
fn copy_fixture(rel: &str, to: &Path) {
    copy_dir(&fixture(rel), to);
}

/// A copy of the sample organisation's two accounts, to change.
fn sample_copy() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/2026-q4");
    for account in ["111111111111", "222222222222"] {
        copy_dir(&sample.join(account), &tmp.path().join(account));
    }
    tmp
}

/// `LoadOptions::keep_last_accessed` (what `report` loads with, beside deferring): the exports
/// whose report files fit in what is left of the budget keep their reports (loaded exactly as
/// without deferring) and take their size from it; the others are deferred, and read again the
/// same.
#[test]
fn deferring_keeps_the_reports_that_fit_in_the_budget() {
    use iam_tighten::input::{KeepBudget, reload_last_accessed};
    use std::sync::Arc;

    let tmp = sample_copy();
    let folders = [tmp.path().to_path_buf()];
    let held = load_exports(&folders, &LoadOptions::default()).expect("load");
    let report_bytes = |e: &Export| -> u64 {
        e.files
            .iter()
            .filter(|f| f.path.starts_with("last-accessed/") && f.path.ends_with(".json"))
            .map(|f| f.bytes)
            .sum()
    };
    let sizes: Vec<u64> = held.iter().map(report_bytes).collect();
    assert!(
        sizes.len() == 2 && sizes.iter().all(|b| *b > 0),
        "{sizes:?}"
    );
    let all: u64 = sizes.iter().sum();
    let load_with = |budget: u64| {
        let budget = Arc::new(KeepBudget::new(budget));
        let opts = LoadOptions {
            defer_last_accessed: true,
            keep_last_accessed: Some(budget.clone()),
            ..Default::default()
        };
        let exports = load_exports(&folders, &opts).expect("load with a budget");
        (exports, budget.left())
    };

    // Room for all: nothing deferred, nothing left.
    let (kept, left) = load_with(all);
    assert_eq!(left, 0);
    for (h, k) in held.iter().zip(&kept) {
        assert!(!k.last_accessed_deferred, "{}", k.account_id);
        assert_eq!(
            format!("{:?}", h.last_accessed),
            format!("{:?}", k.last_accessed)
        );
        assert_eq!(h.files, k.files);
    }

    // Room for the smaller export only (one byte short of both): exactly one is kept, whichever
    // finished loading first and fits, and the budget lost its size.
    let (some, left) = load_with(all - 1);
    let kept: Vec<usize> = (0..2)
        .filter(|i| !some[*i].last_accessed_deferred)
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(left, all - 1 - sizes[kept[0]]);
    for (h, e) in held.iter().zip(&some) {
        let reports = if e.last_accessed_deferred {
            assert!(e.last_accessed.is_empty());
            reload_last_accessed(e).expect("reload")
        } else {
            e.last_accessed.clone()
        };
        assert_eq!(format!("{:?}", h.last_accessed), format!("{reports:?}"));
    }

    // No room: every export deferred, the budget untouched.
    let (none, left) = load_with(0);
    assert!(
        none.iter()
            .all(|e| e.last_accessed_deferred && e.last_accessed.is_empty())
    );
    assert_eq!(left, 0);
}

/// `LoadOptions::defer_last_accessed` (what `report` loads with): the export is loaded as usual
/// (the same warnings and hashed files) without holding its reports, `reload_last_accessed` reads
/// the same reports again, the analysis that frees them gives the same verdicts, and one that
/// only borrows the exports refuses them instead of calling everything unknown. A report file
/// changed, removed or added between the two reads is an error naming it.
#[test]
fn deferred_last_accessed_reports_are_read_again_the_same() {
    use iam_tighten::analysis::{self, Config, Settings};
    use iam_tighten::catalog::Catalog;
    use iam_tighten::input::reload_last_accessed;

    let tmp = sample_copy();
    let folders = [tmp.path().to_path_buf()];
    let held = load_exports(&folders, &LoadOptions::default()).expect("load");
    let deferring = LoadOptions {
        defer_last_accessed: true,
        ..Default::default()
    };
    let mut deferred = load_exports(&folders, &deferring).expect("load deferred");
    for (h, d) in held.iter().zip(&deferred) {
        assert!(!h.last_accessed.is_empty() && !h.last_accessed_deferred);
        assert!(d.last_accessed.is_empty() && d.last_accessed_deferred);
        assert_eq!(h.files, d.files);
        assert_eq!(h.warnings, d.warnings);
        assert_eq!(h.data_time, d.data_time);
        let again = reload_last_accessed(d).expect("reload");
        assert_eq!(format!("{:?}", h.last_accessed), format!("{again:?}"));
    }

    let catalog = Catalog::embedded();
    let settings = Settings {
        unused_after_days: 90,
        as_of: None,
    };
    let config = Config::default();
    let Err(err) = analysis::analyze(&deferred, catalog, &settings, &config) else {
        panic!("a borrowed deferred export is refused");
    };
    assert!(err.to_string().contains("deferred"), "{err}");
    let mut held = held;
    let a = analysis::analyze_organization_freeing(&mut held, None, catalog, &settings, &config)
        .expect("analysis");
    let b =
        analysis::analyze_organization_freeing(&mut deferred, None, catalog, &settings, &config)
            .expect("analysis of deferred exports");
    let verdicts = |an: &analysis::Analysis<'_>| {
        an.principals
            .iter()
            .map(|p| {
                format!(
                    "{} {} {:?} {:?}",
                    p.account_id,
                    p.name(),
                    p.counts,
                    p.last_used
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(verdicts(&a), verdicts(&b));
    assert!(
        a.principals.iter().any(|p| p.counts.used > 0),
        "some use is seen"
    );
    assert!(deferred.iter().all(|e| e.last_accessed.is_empty()), "freed");

    // Changed, removed, added between the reads: an error naming the file.
    let export = tmp.path().join("111111111111");
    let roles = export.join("last-accessed/roles");
    let first = fs::read_dir(&roles)
        .expect("roles")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .min()
        .expect("a report");
    let name = first.file_name().unwrap().to_string_lossy().into_owned();
    let original = fs::read(&first).expect("read");
    let reload = || load_export(&export, &deferring).expect("load");
    // Each change made after loading, then the file named and what happened to it.
    let refused = |change: &dyn Fn(), file: &str, what: &str| {
        let e = reload();
        change();
        let err = reload_last_accessed(&e).expect_err(what);
        let text = err.to_string();
        assert!(text.contains(file) && text.contains(what), "{text}");
    };
    refused(
        &|| fs::write(&first, [&original[..], b"\n"].concat()).expect("write"),
        &name,
        "changed",
    );
    fs::write(&first, &original).expect("write");
    refused(
        &|| fs::remove_file(&first).expect("remove"),
        &name,
        "disappeared",
    );
    fs::write(&first, &original).expect("write");
    let added = roles.join("zz-new.json");
    refused(
        &|| fs::write(&added, &original).expect("write"),
        "zz-new.json",
        "appeared",
    );
    fs::remove_file(&added).expect("remove");
    let e = reload();
    assert!(e.last_accessed_deferred);
    assert!(!reload_last_accessed(&e).expect("unchanged").is_empty());
}

/// `LoadOptions::keep_details` (what `report` loads with): the exports past the budget keep their
/// principals and policies until the analysis has collected them, which then drops them
/// (`Details::Dropped`); `reload_details` reads the same ones again, and leaves an export that
/// holds them alone. `authorization-details.json` changed or removed between the reads is an
/// error naming it.
#[test]
fn dropped_details_are_read_again_the_same() {
    use iam_tighten::analysis::{self, Config, Settings};
    use iam_tighten::catalog::Catalog;
    use iam_tighten::input::{KeepBudget, SharedDocuments, reload_details};
    use iam_tighten::model::Details;

    let tmp = sample_copy();
    let folders = [tmp.path().to_path_buf()];
    let held = load_exports(&folders, &LoadOptions::default()).expect("load");
    let sizes: Vec<u64> = held
        .iter()
        .map(|e| {
            e.files
                .iter()
                .find(|f| f.path == "authorization-details.json")
                .expect("hashed")
                .bytes
        })
        .collect();
    let with_budget = |bytes: u64| LoadOptions {
        keep_details: Some(std::sync::Arc::new(KeepBudget::new(bytes))),
        ..Default::default()
    };
    // Room for the larger file only: one export keeps its details, the other drops them.
    let options = with_budget(*sizes.iter().max().unwrap());
    let some = load_exports(&folders, &options).expect("load");
    let kinds: Vec<Details> = some.iter().map(|e| e.details).collect();
    assert!(
        kinds.contains(&Details::Held) && kinds.contains(&Details::DropWhenCollected),
        "{kinds:?}"
    );
    assert!(held.iter().all(|e| e.details == Details::Held));

    let none = with_budget(0);
    let mut dropping = load_exports(&folders, &none).expect("load");
    for (h, d) in held.iter().zip(&dropping) {
        assert_eq!(d.details, Details::DropWhenCollected);
        assert_eq!(format!("{:?}", h.principals), format!("{:?}", d.principals));
        assert_eq!(h.files, d.files);
        assert_eq!(h.warnings, d.warnings);
    }
    let catalog = Catalog::embedded();
    let settings = Settings {
        unused_after_days: 90,
        as_of: None,
    };
    let config = Config::default();
    let mut kept = held.clone();
    let a = analysis::analyze_organization_freeing(&mut kept, None, catalog, &settings, &config)
        .expect("analysis");
    let b =
        analysis::analyze_organization_freeing(&mut dropping, None, catalog, &settings, &config)
            .expect("analysis of exports that drop their details");
    assert_eq!(format!("{:?}", a.principals), format!("{:?}", b.principals));
    assert!(
        kept.iter()
            .all(|e| e.details == Details::Held && !e.principals.is_empty())
    );
    let documents = SharedDocuments::default();
    for (h, d) in held.iter().zip(&mut dropping) {
        assert_eq!(d.details, Details::Dropped);
        assert!(d.principals.is_empty() && d.policies.is_empty());
        reload_details(d, &documents).expect("read again");
        assert_eq!(d.details, Details::Held);
        assert_eq!(format!("{:?}", h.principals), format!("{:?}", d.principals));
        assert_eq!(format!("{:?}", h.policies), format!("{:?}", d.policies));
        // Held: left as it is.
        d.principals.truncate(1);
        reload_details(d, &documents).expect("held");
        assert_eq!(d.principals.len(), 1);
    }

    // Changed or removed between the reads: an error naming the file.
    let export = tmp.path().join("111111111111");
    let file = export.join("authorization-details.json");
    let original = fs::read(&file).expect("read");
    let dropped = || {
        let mut e = load_export(&export, &none).expect("load");
        e.principals = Vec::new();
        e.details = Details::Dropped;
        e
    };
    let refused = |change: &dyn Fn(), what: &str| {
        let mut e = dropped();
        change();
        let err = reload_details(&mut e, &documents).expect_err(what);
        let text = err.to_string();
        assert!(
            text.contains("authorization-details.json") && text.contains(what),
            "{text}"
        );
        fs::write(&file, &original).expect("restore");
    };
    refused(
        &|| fs::write(&file, [&original[..], b"\n"].concat()).expect("write"),
        "changed",
    );
    refused(&|| fs::remove_file(&file).expect("remove"), "disappeared");
    let mut e = dropped();
    reload_details(&mut e, &documents).expect("unchanged");
    assert!(!e.principals.is_empty());
}

/// An AWS managed policy version held by several exports is one document in memory (each
/// account's copy was parsed and kept on its own: ~0.8 MB per account of the synthetic
/// organisations), unless a copy's document differs, as in an edited export: that copy keeps its
/// own, and each export's policy says what its file says.
#[test]
fn aws_managed_policy_documents_are_shared_across_exports_unless_they_differ() {
    let tmp = sample_copy();
    // Account 222222222222's copy of ReadOnlyAccess v178 is edited down to one action.
    let file = tmp.path().join("222222222222/authorization-details.json");
    let mut gaad: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&file).expect("read")).expect("json");
    let read_only = "arn:aws:iam::aws:policy/ReadOnlyAccess";
    let edited = serde_json::json!({"Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]});
    let mut found = false;
    for p in gaad["Policies"].as_array_mut().expect("Policies") {
        if p["Arn"] == read_only {
            for v in p["PolicyVersionList"].as_array_mut().expect("versions") {
                if v["IsDefaultVersion"] == true {
                    v["Document"] = edited.clone();
                    found = true;
                }
            }
        }
    }
    assert!(found, "the sample's ReadOnlyAccess");
    fs::write(&file, serde_json::to_string(&gaad).expect("json")).expect("write");

    let opts = LoadOptions::default();
    let exports = load_exports(&[tmp.path().to_path_buf()], &opts).expect("load");
    let [a, b] = &exports[..] else {
        panic!("{} exports", exports.len())
    };
    for arn in [
        "arn:aws:iam::aws:policy/AdministratorAccess",
        "arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess",
    ] {
        assert!(
            std::sync::Arc::ptr_eq(&a.policies[arn].document, &b.policies[arn].document),
            "{arn} is held twice"
        );
    }
    assert!(!std::sync::Arc::ptr_eq(
        &a.policies[read_only].document,
        &b.policies[read_only].document
    ));
    assert_eq!(b.policies[read_only].document.raw, edited.into());
    assert_eq!(b.policies[read_only].document.statements.len(), 1);
    assert!(a.policies[read_only].document.statements.len() > 1);
    // Kept: the shared ones and the first-loaded ReadOnlyAccess (7 + 7 AWS managed policies, 3
    // of them in both accounts).
    assert_eq!(opts.documents.len(), 11);
    // A second load with the same options shares with the first (diff loads both quarters so).
    let again = load_export(&tmp.path().join("111111111111"), &opts).expect("load");
    let admin = "arn:aws:iam::aws:policy/AdministratorAccess";
    assert!(std::sync::Arc::ptr_eq(
        &again.policies[admin].document,
        &a.policies[admin].document
    ));
    // Options of their own share nothing.
    let own = load_export(&tmp.path().join("111111111111"), &LoadOptions::default()).expect("load");
    assert!(!std::sync::Arc::ptr_eq(
        &own.policies[admin].document,
        &a.policies[admin].document
    ));
}

#[test]
fn an_unfinished_fetch_is_a_warning() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let export = tmp.path().join("export");
    copy_fixture("cli-v1", &export);
    // What `iam-tighten fetch` writes before its first AWS call and leaves when interrupted.
    std::fs::write(
        export.join("manifest.json"),
        r#"{"account_id": "123456789012", "partition": "aws", "finished": false,
            "tool": "iam-tighten 0.1.0", "runs": [{"started": "2026-11-20T09:00:00Z"}]}"#,
    )
    .expect("write manifest");
    let e = load_export(&export, &LoadOptions::default()).expect("load");
    let unfinished: Vec<_> = e
        .warnings
        .iter()
        .filter(|w| w.code == "fetch_unfinished")
        .collect();
    assert_eq!(unfinished.len(), 1, "{:?}", e.warnings);
    assert_eq!(unfinished[0].file.as_deref(), Some("manifest.json"));
    assert!(unfinished[0].message.contains("did not finish"));
    let err = load_export(
        &export,
        &LoadOptions {
            strict: true,
            ..Default::default()
        },
    )
    .expect_err("strict");
    assert!(err.to_string().contains("fetch_unfinished"), "{err}");

    // A finished fetch, an older manifest without `finished`, and an export made with the AWS
    // CLI script (no manifest at all) are not unfinished.
    for rel in ["cli-v1", "cli-v2"] {
        let e = load(rel);
        assert!(
            !e.warnings.iter().any(|w| w.code == "fetch_unfinished"),
            "{rel}: {:?}",
            e.warnings
        );
    }
    std::fs::write(
        export.join("manifest.json"),
        r#"{"account_id": "123456789012", "finished": true, "tool": "iam-tighten 0.1.0"}"#,
    )
    .expect("write manifest");
    let e = load_export(&export, &LoadOptions::default()).expect("load");
    assert!(!e.warnings.iter().any(|w| w.code == "fetch_unfinished"));

    // Stopped before authorization-details.json was written: the error says why.
    let early = tmp.path().join("early");
    std::fs::create_dir(&early).expect("mkdir");
    std::fs::write(
        early.join("manifest.json"),
        r#"{"account_id": "123456789012", "finished": false, "tool": "iam-tighten 0.1.0"}"#,
    )
    .expect("write manifest");
    let err = load_export(&early, &LoadOptions::default()).expect_err("no GAAD");
    assert_input(&err, "authorization-details.json", "did not finish");
}

#[test]
fn a_folder_that_is_both_an_export_and_an_organisation_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let both = tmp.path().join("org");
    copy_fixture("cli-v1", &both);
    copy_fixture("org/a-production", &both.join("222222222222"));
    let err = load_exports(std::slice::from_ref(&both), &LoadOptions::default()).expect_err("both");
    assert_input(&err, "org", "both an export");
    assert!(err.to_string().contains("222222222222"), "{err}");
    report_fails(&[&both], "organisation folder");
}

/// The timestamp fuzz target's findings (fuzz/artifacts-found/timestamp/) stay fixed: with the
/// target's own oracles, every reproducer is refused or read consistently.
#[test]
fn timestamp_fuzz_findings_stay_fixed() {
    use iam_tighten::input::parse_timestamp;
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/artifacts-found/timestamp");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_none_or(|x| x != "txt") {
            continue;
        }
        n += 1;
        let s = std::fs::read_to_string(&path).unwrap();
        let trimmed = s.trim();
        let parsed = parse_timestamp(&s);
        if let Some(t) = parsed {
            let b = trimmed.as_bytes();
            assert!(
                b.len() > 4 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-',
                "{}: {s:?} accepted as {t:?} without a four-digit year",
                path.display()
            );
            assert_eq!(parse_timestamp(&t.to_rfc3339()), Some(t));
        }
        if trimmed.len() > 10 && trimmed.is_char_boundary(10) && trimmed.is_char_boundary(11) {
            let (date, rest) = trimmed.split_at(10);
            if rest.starts_with(['T', 't', ' ']) {
                for sep in ['T', 't', ' '] {
                    let other = format!("{date}{sep}{}", &rest[1..]);
                    assert_eq!(
                        parse_timestamp(&other),
                        parsed,
                        "{}: {other:?}",
                        path.display()
                    );
                }
            }
        }
    }
    assert!(n >= 8, "the reproducers are gone: {n}");
}

/// An export of one role whose last-accessed report has these job-date fields (JSON members,
/// `""` for none) and one used service, loaded.
fn load_with_job_dates(dates: &str) -> iam_tighten::error::Result<Export> {
    load_with_report(&format!(
        r#"{{"JobStatus": "COMPLETED", "JobType": "SERVICE_LEVEL", "IsTruncated": false,
            {dates} "ServicesLastAccessed": [{{"ServiceNamespace": "ec2",
            "LastAuthenticated": "2026-05-01T00:00:00Z"}}]}}"#
    ))
}

/// A job's dates bound the time its data covers: a completion before the creation or more than
/// a day after it is refused (it would move the account's as-of time, and every window, over
/// time nobody observed); with either date missing (AWS writes both for a completed job: the
/// other cannot be checked against it), the report is not usable.
#[test]
fn a_jobs_dates_bound_what_its_data_covers() {
    let created = r#""JobCreationDate": "2026-06-01T00:00:00Z","#;
    for (done, needle) in [
        ("2026-05-31T23:59:59Z", "before its JobCreationDate"),
        ("2026-06-02T00:00:00Z", "24 hours after its JobCreationDate"),
        ("9999-12-31T23:59:59Z", "hours after its JobCreationDate"),
    ] {
        let err = load_with_job_dates(&format!(r#"{created} "JobCompletionDate": "{done}","#))
            .expect_err(done);
        assert_parse(
            &err,
            "last-accessed/roles/app-role.json",
            "$.JobCompletionDate",
            needle,
        );
    }
    let role = |e: &Export| e.last_accessed.values().next().cloned();
    let done = "2026-06-01T00:04:00Z";
    let e = load_with_job_dates(&format!(r#"{created} "JobCompletionDate": "{done}","#)).unwrap();
    assert_eq!(role(&e).and_then(|la| la.job_completion), Some(ts(done)));
    assert_eq!(e.data_time, Some(ts(done)));
    // Neither, a completion far after the rest without its creation, or a creation far after
    // the rest without its completion (AWS writes both; review pass 45, rounds 1 and 3): no
    // usable data (its time is not the account's), and a warning at the missing field.
    for (dates, missing) in [
        ("", "$.JobCompletionDate"),
        (
            r#""JobCompletionDate": "2027-06-01T00:00:00Z","#,
            "$.JobCreationDate",
        ),
        (
            r#""JobCreationDate": "2027-06-01T00:00:00Z","#,
            "$.JobCompletionDate",
        ),
        (created, "$.JobCompletionDate"),
    ] {
        let e = load_with_job_dates(dates).unwrap();
        assert!(e.last_accessed.is_empty(), "{dates}");
        assert_eq!(e.own_time(), None, "{dates}");
        let w = e
            .warnings
            .iter()
            .find(|w| w.code == "last_accessed_incomplete")
            .expect("a warning");
        assert_eq!(w.json_path.as_deref(), Some(missing));
        assert_eq!(w.file.as_deref(), Some("last-accessed/roles/app-role.json"));
    }
}

/// A credential report lists each user once, of the export's account: a user twice (its
/// findings would be doubled) or a row of another account is an error naming the line.
#[test]
fn a_credential_report_has_one_row_per_user_of_its_account() {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/identities/creds");
    let with_report = |edit: &dyn Fn(&str) -> String| {
        let dir = tempfile::tempdir().unwrap();
        crate::common::copy_dir(&from, dir.path());
        let file = dir.path().join("credential-report.csv");
        let text = fs::read_to_string(&file).unwrap();
        fs::write(&file, edit(&text)).unwrap();
        load_export(dir.path(), &LoadOptions::default())
    };
    // As written: fine.
    with_report(&|t| t.to_string()).unwrap();
    // The third line again, as the last.
    let err = with_report(&|t| {
        let third = t.lines().nth(2).unwrap();
        format!(
            "{}{third}\n",
            if t.ends_with('\n') {
                t.to_string()
            } else {
                format!("{t}\n")
            }
        )
    })
    .unwrap_err();
    let rows = fs::read_to_string(from.join("credential-report.csv"))
        .unwrap()
        .lines()
        .count();
    assert_parse(
        &err,
        "credential-report.csv",
        &format!("line {}, column user", rows + 1),
        "is listed twice (first on line 3)",
    );
    // A row of another account.
    let err =
        with_report(&|t| t.replacen(":123456789012:user/", ":999999999999:user/", 1)).unwrap_err();
    match &err {
        Error::Parse {
            json_path, message, ..
        } => {
            assert!(json_path.ends_with("column arn"), "{err}");
            assert!(message.contains("of account 999999999999"), "{err}");
        }
        other => panic!("expected Error::Parse, got {other:?}"),
    }
}

/// A service, or a tracked action, listed twice in one report (pages merged twice) is read as
/// its latest recorded use, never as the entry without one (the first one met was kept, so a
/// used service listed again without its time read as unused), with a warning.
#[test]
fn a_service_or_action_listed_twice_is_read_as_its_latest_use() {
    let e = load_with_report(
        r#"{"JobStatus": "COMPLETED", "JobType": "ACTION_LEVEL", "IsTruncated": false,
            "JobCreationDate": "2026-06-01T00:00:00Z", "JobCompletionDate": "2026-06-01T00:01:00Z",
            "ServicesLastAccessed": [
              {"ServiceNamespace": "ec2", "TrackedActionsLastAccessed": [
                 {"ActionName": "RunInstances"}, {"ActionName": "DescribeImages"}]},
              {"ServiceNamespace": "sqs"},
              {"ServiceNamespace": "ec2", "LastAuthenticated": "2026-05-01T00:00:00Z",
               "LastAuthenticatedRegion": "eu-west-1", "TrackedActionsLastAccessed": [
                 {"ActionName": "RunInstances", "LastAccessedTime": "2026-05-01T00:00:00Z"}]}]}"#,
    )
    .unwrap();
    let la = e.last_accessed.values().next().expect("a report");
    let names: Vec<&str> = la.services.iter().map(|s| &*s.namespace).collect();
    assert_eq!(names, ["ec2", "sqs"]);
    let ec2 = &la.services[0];
    assert_eq!(ec2.last_authenticated, Some(ts("2026-05-01T00:00:00Z")));
    assert_eq!(ec2.region.as_deref(), Some("eu-west-1"));
    let actions: Vec<(&str, Option<Timestamp>)> = ec2
        .tracked_actions
        .iter()
        .flatten()
        .map(|a| (&*a.name, a.last_accessed))
        .collect();
    assert_eq!(
        actions,
        [
            ("RunInstances", Some(ts("2026-05-01T00:00:00Z"))),
            ("DescribeImages", None)
        ]
    );
    let w = e
        .warnings
        .iter()
        .find(|w| w.code == "last_accessed_duplicate_entry")
        .expect("a warning");
    assert!(
        w.message.starts_with("2 service or tracked-action entries"),
        "{}",
        w.message
    );
}

/// A principal's name is the one its ARN ends with, and an ARN names one principal: an export
/// edited otherwise (a role renamed but not its ARN, an ARN listed twice) is an error naming
/// the JSON path, not two principals that a verdict, a folder and a diff row tell apart
/// differently.
#[test]
fn a_principal_is_named_as_its_arn_and_listed_once() {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/2026-q4/222222222222");
    let with_details = |edit: &dyn Fn(&mut serde_json::Value)| {
        let dir = tempfile::tempdir().unwrap();
        crate::common::copy_dir(&from, dir.path());
        let file = dir.path().join("authorization-details.json");
        let mut doc: serde_json::Value = serde_json::from_slice(&fs::read(&file).unwrap()).unwrap();
        edit(&mut doc);
        fs::write(&file, serde_json::to_vec(&doc).unwrap()).unwrap();
        load_export(dir.path(), &LoadOptions::default())
    };
    with_details(&|_| {}).unwrap();
    let err = with_details(&|d| d["RoleDetailList"][1]["RoleName"] = "renamed".into()).unwrap_err();
    assert_parse(
        &err,
        "authorization-details.json",
        "$.RoleDetailList[1].RoleName",
        "is not the name its Arn",
    );
    // The user bob's ARN, listed again as a role of that name.
    let err = with_details(&|d| {
        let mut role = d["RoleDetailList"][0].clone();
        let user = d["UserDetailList"][0].clone();
        role["RoleName"] = user["UserName"].clone();
        role["Arn"] = user["Arn"].clone();
        d["RoleDetailList"].as_array_mut().unwrap().push(role);
    })
    .unwrap_err();
    assert_parse(
        &err,
        "authorization-details.json",
        "$.UserDetailList[0].Arn",
        "appears twice (first at $.RoleDetailList[",
    );
}

/// The cli-v1 export, copied, with `last-accessed/<rel>` written as a report whose one used
/// service names `entity`, loaded.
fn load_with_entity(rel: &str, entity: &str) -> iam_tighten::error::Result<Export> {
    let dir = tempfile::tempdir().unwrap();
    crate::common::copy_dir(&fixture("cli-v1"), dir.path());
    let report = format!(
        r#"{{"JobStatus": "COMPLETED", "JobType": "ACTION_LEVEL",
            "JobCreationDate": "2024-05-02T09:14:03.512Z",
            "JobCompletionDate": "2024-05-02T09:14:07.118Z", "IsTruncated": false,
            "ServicesLastAccessed": [{{"ServiceName": "AWS Identity and Access Management",
                "ServiceNamespace": "iam", "TotalAuthenticatedEntities": 0}},
              {{"ServiceName": "Amazon EC2", "ServiceNamespace": "ec2",
                "LastAuthenticated": "2024-04-30T18:22:00Z", "LastAuthenticatedEntity": "{entity}",
                "TrackedActionsLastAccessed": [{{"ActionName": "RunInstances"}},
                  {{"ActionName": "DescribeInstances", "LastAccessedEntity": "{entity}",
                    "LastAccessedTime": "2024-04-30T18:22:00Z"}}]}}]}}"#
    );
    fs::write(dir.path().join("last-accessed").join(rel), report).unwrap();
    load_export(dir.path(), &LoadOptions::default())
}

/// A COMPLETED job that also reports an `Error` (AWS fills it only for a FAILED job) is not
/// used: its principal's data may be partial, so a used permission could look unused. It was
/// read as complete, without a word.
#[test]
fn a_completed_job_with_an_error_is_not_used() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::copy_dir(&fixture("cli-v1"), dir.path());
    let file = dir.path().join("last-accessed/roles/app-role.json");
    let good = load_export(dir.path(), &LoadOptions::default()).unwrap();
    let key = (PrincipalType::Role, "app-role".to_string());
    assert!(good.last_accessed.contains_key(&key));
    crate::common::edit_json(&file, |doc| {
        doc["Error"] = serde_json::json!({"Message": "partial", "Code": "ServiceFailure"});
    });
    let export = load_export(dir.path(), &LoadOptions::default()).unwrap();
    assert!(!export.last_accessed.contains_key(&key));
    let w = export
        .warnings
        .iter()
        .find(|w| w.code == "last_accessed_incomplete")
        .expect("a warning");
    assert_eq!(w.file.as_deref(), Some("last-accessed/roles/app-role.json"));
    assert_eq!(w.json_path.as_deref(), Some("$.Error"));
    assert!(w.message.contains("partial (ServiceFailure)"), "{w:?}");
}

/// A last-accessed report filed under another principal's name (role A's file saved as role
/// B's) is refused, naming the file and the JSON path of the entity it names: it gave B A's
/// verdicts. AWS names the role itself in a role's report, the user in a user's and a member
/// user in a group's; another user in a user's report leaves that user without data, with a
/// warning (IAM can rename a user).
#[test]
fn a_report_filed_under_another_principal_is_refused() {
    let entity = "$.ServicesLastAccessed[1].LastAuthenticatedEntity";
    let errors = [
        (
            "roles/app-role.json",
            "arn:aws:iam::123456789012:role/ci.deploy+bot@prod=1,x_y-z",
        ),
        (
            "roles/app-role.json",
            "arn:aws:iam::123456789012:user/alice",
        ),
        (
            "roles/app-role.json",
            "arn:aws:iam::210987654321:role/app-role",
        ),
        (
            "roles/app-role.json",
            "arn:aws-cn:iam::123456789012:role/app-role",
        ),
        ("roles/app-role.json", "app-role"),
        (
            "users/alice.json",
            "arn:aws:iam::123456789012:role/app-role",
        ),
        ("users/alice.json", "arn:aws:iam::210987654321:user/alice"),
        (
            "groups/developers.json",
            "arn:aws:iam::123456789012:role/app-role",
        ),
        (
            "groups/developers.json",
            "arn:aws:iam::123456789012:group/developers",
        ),
        (
            "groups/developers.json",
            "arn:aws:iam::210987654321:user/alice",
        ),
    ];
    for (rel, arn) in errors {
        let err = match load_with_entity(rel, arn) {
            Ok(_) => panic!("{rel} naming {arn}: accepted"),
            Err(e) => e,
        };
        let file = format!("last-accessed/{rel}");
        assert_parse(
            &err,
            &file,
            entity,
            &format!("{arn} cannot be in the report of"),
        );
    }
    // What AWS writes: the role itself (any case, with its path, or as an assumed-role
    // session), the user itself, any user of the account in a group's report.
    let fits = [
        (
            "roles/app-role.json",
            "arn:aws:iam::123456789012:role/app-role",
        ),
        (
            "roles/app-role.json",
            "arn:aws:iam::123456789012:role/team/App-Role",
        ),
        (
            "roles/app-role.json",
            "arn:aws:sts::123456789012:assumed-role/app-role/s1",
        ),
        ("users/alice.json", "arn:aws:iam::123456789012:user/alice"),
        (
            "groups/developers.json",
            "arn:aws:iam::123456789012:user/someone-who-left",
        ),
    ];
    for (rel, arn) in fits {
        let export = load_with_entity(rel, arn).unwrap_or_else(|e| panic!("{rel} {arn}: {e}"));
        assert_eq!(
            export.last_accessed.len(),
            5,
            "{rel} {arn}: every report is read"
        );
        assert!(
            export
                .warnings
                .iter()
                .all(|w| w.code != "last_accessed_incomplete")
        );
    }
    // Another user in a user's report: no data for that user, and a warning at the entity.
    let export = load_with_entity("users/alice.json", "arn:aws:iam::123456789012:user/bob")
        .expect("another user's name is a warning");
    assert!(
        !export
            .last_accessed
            .contains_key(&(PrincipalType::User, "alice".into()))
    );
    let w = export
        .warnings
        .iter()
        .find(|w| w.code == "last_accessed_incomplete")
        .expect("a warning");
    assert_eq!(w.file.as_deref(), Some("last-accessed/users/alice.json"));
    assert_eq!(w.json_path.as_deref(), Some(entity));
    assert!(
        w.message
            .contains("names user arn:aws:iam::123456789012:user/bob"),
        "{w:?}"
    );
}

/// The cli-v1 export, copied, with `credential-report.csv` changed by `edit`, loaded.
fn load_with_credential_report(edit: impl Fn(&str) -> String) -> Export {
    try_credential_report(edit).unwrap()
}

fn try_credential_report(edit: impl Fn(&str) -> String) -> iam_tighten::error::Result<Export> {
    let dir = tempfile::tempdir().unwrap();
    crate::common::copy_dir(&fixture("cli-v1"), dir.path());
    let path = dir.path().join("credential-report.csv");
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, edit(&text)).unwrap();
    load_export(dir.path(), &LoadOptions::default())
}

/// A credential-report row of a user the authorization details do not list (deleted since the
/// report was generated, which AWS reuses for 4 hours, or a filtered export) is left out with a
/// warning naming the users and the first one's line: it got findings (a `delete_user`
/// decision) about a user the export says does not exist. A report with no user while the
/// export has users (its header only) gets a warning too.
#[test]
fn credential_report_users_missing_from_the_authorization_details_are_named() {
    let alice = "alice,arn:aws:iam::123456789012:user/alice,";
    let export = load_with_credential_report(|text| {
        let row = text.lines().find(|l| l.starts_with(alice)).unwrap();
        let ghost = row.replace("alice", "ghost");
        format!("{text}{ghost}\n{}\n", ghost.replace("ghost", "phantom"))
    });
    let users: Vec<&str> = export
        .credential_report
        .iter()
        .flatten()
        .map(|r| r.user.as_str())
        .collect();
    assert_eq!(users, ["<root_account>", "alice"]);
    let w = export
        .warnings
        .iter()
        .find(|w| w.code == "credential_report_unknown_user")
        .expect("a warning");
    assert_eq!(w.file.as_deref(), Some("credential-report.csv"));
    assert_eq!(w.json_path.as_deref(), Some("line 4, column user"));
    assert!(w.message.starts_with("2 user(s)") && w.message.contains(": ghost, phantom;"));
    assert!(
        export
            .warnings
            .iter()
            .all(|w| w.code != "credential_report_no_users")
    );

    // Its header only (and the root row, or not): a warning, as alice cannot be checked.
    for keep in [1, 2] {
        let export = load_with_credential_report(|text| {
            text.lines().take(keep).collect::<Vec<_>>().join("\n")
        });
        let w = export
            .warnings
            .iter()
            .find(|w| w.code == "credential_report_no_users")
            .unwrap_or_else(|| panic!("{keep} lines: no warning"));
        assert!(
            w.message.contains("authorization-details.json has 1"),
            "{w:?}"
        );
    }
    // The fixture as it is: neither warning.
    let export = load_with_credential_report(str::to_string);
    assert!(
        export
            .warnings
            .iter()
            .all(|w| !w.code.starts_with("credential_report_")),
        "{:?}",
        export.warnings
    );
}

/// A credential-report date that cannot be: before 1995 (no AWS account is older; `0000-…`), or
/// more than a day after the export's own time (its newest JobCompletionDate, 2024-05-02T09:14:07Z
/// here): a report holds no date after it was generated, and `9999-…` was read as a use (the key
/// no longer looked unused) or a creation (the user looked too new to check). An error at the
/// line and column; `password_next_rotation` is a date to come, and a date within the day is a
/// report taken just after the jobs (the AWS CLI script's order).
#[test]
fn impossible_credential_report_dates_are_errors_at_their_line_and_column() {
    // alice's row is line 3: user_creation_time 2021-03-04T05:06:07, access key 1 last used
    // 2024-05-01T18:39:00, password_next_rotation N/A.
    let cases = [
        (
            "2021-03-04T05:06:07",
            "0000-03-04T05:06:07",
            "user_creation_time",
            "before 1995",
        ),
        (
            "2021-03-04T05:06:07",
            "1994-12-31T23:59:59",
            "user_creation_time",
            "before 1995",
        ),
        (
            "2024-05-01T18:39:00",
            "9999-12-31T23:59:59",
            "access_key_1_last_used_date",
            "9999-",
        ),
        (
            "2024-05-01T18:39:00",
            "2024-05-03T09:14:08",
            "access_key_1_last_used_date",
            "24 hours",
        ),
        (
            "2023-10-22T08:12:39",
            "2024-06-01T00:00:00",
            "access_key_1_last_rotated",
            "24 hours",
        ),
        (
            "2021-03-04T05:10:00",
            "2030-01-01T00:00:00",
            "password_last_changed",
            "24 hours",
        ),
    ];
    for (from, to, column, needle) in cases {
        let err = match try_credential_report(|t| t.replacen(from, to, 1)) {
            Ok(_) => panic!("{column} {to}: accepted"),
            Err(e) => e,
        };
        let at = format!("line 3, column {column}");
        assert_parse(&err, "credential-report.csv", &at, needle);
    }
    // Accepted: a day after the export's time at most, 1995 on, a password rotation to come. A
    // creation time that is not the user's `CreateDate` is another user's row: read, and left
    // out with a warning.
    for (from, to, rows) in [
        ("2024-05-01T18:39:00", "2024-05-03T09:14:07", 2),
        ("2021-03-04T05:06:07", "1995-01-01T00:00:00", 1),
        (
            ",N/A,true,true,",
            ",2099-01-01T00:00:00+00:00,true,true,",
            2,
        ),
    ] {
        let export = load_with_credential_report(|t| t.replacen(from, to, 1));
        let other = export
            .warnings
            .iter()
            .any(|w| w.code == "credential_report_other_user");
        assert_eq!(
            (export.credential_report.map(|r| r.len()), other),
            (Some(rows), rows == 1),
            "{to}"
        );
    }
}

/// A managed policy with two versions marked `IsDefaultVersion: true`, or one marked default
/// that `DefaultVersionId` does not name, is an error at the flag: the first one marked was
/// taken, whichever of the two documents IAM enforces. With none marked, `DefaultVersionId`
/// decides (moto); with neither, it is an error too.
#[test]
fn a_managed_policy_with_two_default_versions_is_an_error() {
    // A policy whose v1 allows "*" and v2 "s3:GetObject", each with `flag` (a key or nothing).
    let details = |default_id: &str, v1_flag: &str, v2_flag: &str| {
        let version = |id: &str, action: &str, flag: &str| {
            format!(
                r#"{{"VersionId": "{id}", {flag} "Document": {{"Version": "2012-10-17",
                    "Statement": [{{"Effect": "Allow", "Action": "{action}", "Resource": "*"}}]}}}}"#
            )
        };
        format!(
            r#"{{"Policies": [{{"Arn": "arn:aws:iam::123456789012:policy/p",
                {default_id} "PolicyVersionList": [{}, {}]}}]}}"#,
            version("v1", "*", v1_flag),
            version("v2", "s3:GetObject", v2_flag)
        )
    };
    let (marked, unmarked) = (
        r#""IsDefaultVersion": true,"#,
        r#""IsDefaultVersion": false,"#,
    );
    let v2 = r#""DefaultVersionId": "v2","#;
    let at = "$.Policies[0].PolicyVersionList";
    let errors = [
        (
            details(v2, marked, marked),
            format!("{at}[1].IsDefaultVersion"),
            "versions v1 ($.Policies[0].PolicyVersionList[0]) and v2 are both marked",
        ),
        (
            details("", marked, marked),
            format!("{at}[1].IsDefaultVersion"),
            "are both marked IsDefaultVersion true",
        ),
        (
            details(v2, marked, unmarked),
            format!("{at}[0].IsDefaultVersion"),
            "version v1 is marked IsDefaultVersion true but DefaultVersionId is \"v2\"",
        ),
        (
            details("", unmarked, ""),
            at.to_string(),
            "no version has IsDefaultVersion true",
        ),
    ];
    for (text, json_path, needle) in errors {
        let err = load_details(&text)
            .err()
            .unwrap_or_else(|| panic!("accepted: {text}"));
        assert_parse(&err, "authorization-details.json", &json_path, needle);
    }
    // One marked (and named), or none marked and one named: that one.
    for text in [details(v2, unmarked, marked), details(v2, "", "")] {
        let export = load_details(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        let policy = &export.policies["arn:aws:iam::123456789012:policy/p"];
        assert_eq!(
            policy.document.statements[0].actions,
            ActionClause::Action(vec!["s3:GetObject".into()])
        );
    }
}

/// A folder where a file belongs, or a file where a folder belongs, is said so: a folder named
/// `extra.json` among the reports was "not a .json file", a file named `users` was "not one of
/// the folders roles/, users/, groups/" (it is one of them, by name), and a file named
/// `organization` in an organisation folder was skipped without a word (the run went on without
/// the organisation part). A folder named as a report is refused, as any input that is not a
/// regular file (docs/input-errors.md; it was a warning, and its principal's verdicts unknown,
/// review pass 47); any other folder there is a warning.
#[test]
fn a_folder_where_a_file_belongs_and_the_reverse_are_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::copy_dir(&fixture("cli-v1"), dir.path());
    let la = dir.path().join("last-accessed");
    fs::create_dir(la.join("roles/extra.json")).unwrap();
    let err = load_export(dir.path(), &LoadOptions::default()).expect_err("a folder is refused");
    assert_input(&err, "last-accessed/roles/extra.json", "folder");
    fs::remove_dir(la.join("roles/extra.json")).unwrap();
    fs::create_dir(la.join("roles/extra")).unwrap();
    fs::remove_dir_all(la.join("users")).unwrap();
    fs::write(la.join("users"), "").unwrap();
    let export = load_export(dir.path(), &LoadOptions::default()).unwrap();
    let message = |file: &str| {
        let w = export
            .warnings
            .iter()
            .find(|w| w.file.as_deref() == Some(file));
        w.map(|w| (w.code.clone(), w.message.clone()))
            .unwrap_or_default()
    };
    let (code, folder) = message("last-accessed/roles/extra");
    assert_eq!(code, "last_accessed_unexpected_file");
    assert_eq!(folder, "a folder, not a report file; ignored");
    let (code, file) = message("last-accessed/users");
    assert_eq!(code, "last_accessed_unexpected_file");
    assert!(
        file.starts_with("a file, not a folder: users/ holds a report file per user"),
        "{file}"
    );

    let org = tempfile::tempdir().unwrap();
    crate::common::copy_dir(&fixture("org"), org.path());
    fs::write(org.path().join("organization"), "{}").unwrap();
    let err = iam_tighten::input::organization::find(&[org.path().to_path_buf()])
        .expect_err("a file named organization is refused");
    assert_input(&err, "organization", "a file, not a folder");
}

/// URL-encoded policy text is read as IAM encodes it (RFC 3986): the document the AWS CLI
/// writes as IAM sent it when it cannot decode it (moto's wire form: `/` as is, `+` as `%2B`, a
/// trailing `%0A`) reads `role/x+y`, and a `+` stays a plus (botocore's `unquote`). A `%`
/// without two hex digits is an error naming it and its place (it was kept as text: an action
/// `s3:Get%ZZObject` that matches nothing, or a JSON error at a column of the decoded text), and
/// text that is not JSON once decoded says so, with what a `+` means when it holds one
/// (form-encoded text, `+` for a space, failed at a column the file does not have).
#[test]
fn url_encoded_documents_are_read_as_iam_encodes_them() {
    let wire = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A\
        %22Allow%22%2C%22Action%22%3A%22iam%3APassRole%22%2C%22Resource%22%3A%22arn%3Aaws%3Aiam\
        %3A%3A123456789012%3Arole/x%2By%22%7D%5D%7D%0A";
    let resources = |encoded: &str| {
        let export = load_details(&one_role(TRUST, &format!("\"{encoded}\""), MANAGED))
            .unwrap_or_else(|e| panic!("{encoded}: {e}"));
        let role = &export.principals[0];
        role.inline_policies[0].document.statements[0]
            .resources
            .clone()
    };
    let x_plus_y = Some(ResourceClause::Resource(vec![
        "arn:aws:iam::123456789012:role/x+y".into(),
    ]));
    assert_eq!(resources(wire), x_plus_y);
    assert_eq!(resources(&wire.replace("%2B", "+")), x_plus_y);

    let inline = "$.RoleDetailList[0].RolePolicyList[0].PolicyDocument";
    let trust = "$.RoleDetailList[0].AssumeRolePolicyDocument";
    let zz = wire.replace("%3APassRole", "%3APass%ZZRole");
    let at = format!("\"%ZZ\" at character {}", zz.find("%ZZ").unwrap() + 1);
    let form = wire.replace("%2C", "%2C+");
    let cases = [
        (
            one_role(TRUST, &format!("\"{zz}\""), MANAGED),
            inline,
            at.as_str(),
        ),
        (
            one_role(&format!("\"{zz}\""), INLINE, MANAGED),
            trust,
            at.as_str(),
        ),
        (
            one_role(TRUST, INLINE, &format!("\"{form}\"")),
            "$.Policies[0].PolicyVersionList[0].Document",
            "not JSON once URL-decoded: key must be a string at line 1 column 25 (a + in \
             URL-encoded text is a plus sign",
        ),
    ];
    for (text, json_path, needle) in cases {
        let err = load_details(&text)
            .err()
            .unwrap_or_else(|| panic!("accepted: {text}"));
        assert_parse(&err, "authorization-details.json", json_path, needle);
    }
}

/// A service was used whenever one of its actions was: a tracked action used later than its
/// service's `LastAuthenticated` (or with none) moves the service's last use to the action's, with
/// one warning per file at the first such service a day or more apart (or without a time). Read as written, the service looked unused in
/// a window its action was used in, and its untracked actions were called unused with it.
#[test]
fn a_service_is_used_when_its_latest_action_was() {
    let e = load_with_report(
        r#"{"JobStatus": "COMPLETED", "JobType": "ACTION_LEVEL", "IsTruncated": false,
            "JobCreationDate": "2026-06-01T00:00:00Z", "JobCompletionDate": "2026-06-01T00:01:00Z",
            "ServicesLastAccessed": [
              {"ServiceNamespace": "sqs", "LastAuthenticated": "2026-05-20T00:00:00Z"},
              {"ServiceNamespace": "ec2", "TrackedActionsLastAccessed": [
                 {"ActionName": "RunInstances", "LastAccessedTime": "2026-05-01T00:00:00Z",
                  "LastAccessedRegion": "eu-west-1"},
                 {"ActionName": "DescribeImages"}]},
              {"ServiceNamespace": "iam", "LastAuthenticated": "2026-01-01T00:00:00Z",
               "LastAuthenticatedRegion": "us-east-1", "TrackedActionsLastAccessed": [
                 {"ActionName": "GetRole", "LastAccessedTime": "2026-04-01T00:00:00Z",
                  "LastAccessedRegion": "us-east-2"},
                 {"ActionName": "ListRoles", "LastAccessedTime": "2025-12-01T00:00:00Z"}]},
              {"ServiceNamespace": "lambda", "LastAuthenticated": "2026-05-02T00:00:00Z",
               "TrackedActionsLastAccessed": [
                 {"ActionName": "InvokeFunction", "LastAccessedTime": "2026-05-02T00:00:05Z"}]}]}"#,
    )
    .unwrap();
    let la = e.last_accessed.values().next().expect("a report");
    let last: Vec<(&str, Option<Timestamp>, Option<&str>)> = la
        .services
        .iter()
        .map(|s| (&*s.namespace, s.last_authenticated, s.region.as_deref()))
        .collect();
    assert_eq!(
        last,
        [
            ("ec2", Some(ts("2026-05-01T00:00:00Z")), Some("eu-west-1")),
            ("iam", Some(ts("2026-04-01T00:00:00Z")), Some("us-east-2")),
            ("lambda", Some(ts("2026-05-02T00:00:05Z")), None),
            ("sqs", Some(ts("2026-05-20T00:00:00Z")), None),
        ]
    );
    let lifted: Vec<_> = e
        .warnings
        .iter()
        .filter(|w| w.code == "last_accessed_service_before_action")
        .collect();
    assert_eq!(lifted.len(), 1, "{:?}", e.warnings);
    assert_eq!(
        lifted[0].json_path.as_deref(),
        Some("$.ServicesLastAccessed[1].LastAuthenticated")
    );
    assert!(
        // Lambda's five seconds are lifted without a word.
        lifted[0].message.starts_with("2 service(s) (ec2, iam)"),
        "{}",
        lifted[0].message
    );
}

/// `Name.json` and `Name.JSON` are two reports for one principal on a case-sensitive file
/// system: an error naming both, not the later name kept in silence (it may be the older job).
#[test]
fn two_reports_for_one_principal_are_an_error_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let from = fixture("bad/bad-last-accessed-timestamp/authorization-details.json");
    fs::copy(from, dir.path().join("authorization-details.json")).unwrap();
    let roles = dir.path().join("last-accessed/roles");
    fs::create_dir_all(&roles).unwrap();
    let report = |done: &str| {
        format!(
            r#"{{"JobStatus": "COMPLETED", "JobType": "ACTION_LEVEL", "IsTruncated": false,
                "JobCreationDate": "{done}", "JobCompletionDate": "{done}",
                "ServicesLastAccessed": []}}"#
        )
    };
    fs::write(roles.join("app-role.json"), report("2026-06-01T00:00:00Z")).unwrap();
    load_export(dir.path(), &LoadOptions::default()).expect("one report loads");
    fs::write(roles.join("app-role.JSON"), report("2026-06-02T00:00:00Z")).unwrap();
    let err = load_export(dir.path(), &LoadOptions::default()).expect_err("two reports");
    assert_input(
        &err,
        "last-accessed/roles/app-role.json",
        "a second last-accessed report for role \"app-role\": last-accessed/roles/app-role.JSON",
    );
}

/// A credential report saved as the whole JSON answer of `aws iam get-credential-report` (not its
/// decoded `Content`) is an error whose hint says how to save it; a report still base64-encoded
/// gets the decoding hint.
#[test]
fn a_credential_report_saved_as_the_api_answer_says_how_to_save_it() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::copy_dir(&fixture("cli-v1"), dir.path());
    let report = dir.path().join("credential-report.csv");
    let with = |text: &str| {
        fs::write(&report, text).unwrap();
        load_export(dir.path(), &LoadOptions::default()).expect_err(text)
    };
    let err = with(
        r#"{"Content": "dXNlcixhcm4K", "ReportFormat": "text/csv", "GeneratedTime": "2026-06-01T00:00:00Z"}"#,
    );
    assert_parse(
        &err,
        "credential-report.csv",
        "line 1",
        "this is the JSON answer of `aws iam get-credential-report`: save only its Content, decoded",
    );
    let err = with("dXNlcixhcm4K\n");
    assert_parse(
        &err,
        "credential-report.csv",
        "line 1",
        "is it still base64?",
    );
}
