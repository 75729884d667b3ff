//! Expanding real AWS managed policies, and the `expand` subcommand.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use assert_cmd::Command;
use iam_tighten::catalog::Catalog;
use iam_tighten::policy::{Expander, PolicyDocument};
use predicates::prelude::*;
use serde_json::Value;

const FIXTURES: [&str; 5] = [
    "AdministratorAccess",
    "AmazonEC2FullAccess",
    "IAMFullAccess",
    "PowerUserAccess",
    "ReadOnlyAccess",
];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/managed-policies")
        .join(format!("{name}.json"))
}

/// Reference wildcard matcher, deliberately naive: recursion on chars.
fn glob(p: &[char], s: &[char]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some('*'), _) => glob(&p[1..], s) || (!s.is_empty() && glob(p, &s[1..])),
        (Some('?'), Some(_)) => glob(&p[1..], &s[1..]),
        (Some(a), Some(b)) => a == b && glob(&p[1..], &s[1..]),
        _ => false,
    }
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// Counts the effective allowed actions of a raw policy JSON by scanning the catalog linearly:
/// an action is allowed when an Allow statement's Action matches it (or its NotAction does not),
/// unless an unconditional `Resource: "*"` Deny covers it.
fn reference_count(catalog: &Catalog, doc: &Value) -> usize {
    let statements: Vec<&Value> = match &doc["Statement"] {
        Value::Array(a) => a.iter().collect(),
        v => vec![v],
    };
    // (allow, negated, unconditional-and-unscoped, patterns lower-cased as chars)
    let parsed: Vec<(bool, bool, bool, Vec<Vec<char>>)> = statements
        .iter()
        .map(|s| {
            let negated = s.get("NotAction").is_some();
            let pats = strings(
                s.get("Action")
                    .or(s.get("NotAction"))
                    .unwrap_or(&Value::Null),
            );
            let absolute = s.get("Condition").is_none()
                && strings(s.get("Resource").unwrap_or(&Value::Null))
                    .iter()
                    .any(|r| r == "*");
            (
                s["Effect"] == "Allow",
                negated,
                absolute,
                pats.iter()
                    .map(|p| p.to_lowercase().chars().collect())
                    .collect(),
            )
        })
        .collect();
    // Index patterns by literal service prefix so the scan stays fast in a debug build.
    let by_service: Vec<HashMap<String, Vec<&Vec<char>>>> = parsed
        .iter()
        .map(|(_, _, _, pats)| {
            let mut m: HashMap<String, Vec<&Vec<char>>> = HashMap::new();
            for p in pats {
                let s: String = p.iter().collect();
                let key = match s.split_once(':') {
                    Some((svc, _)) if !svc.contains(['*', '?']) => svc.to_string(),
                    _ => "*".to_string(),
                };
                m.entry(key).or_default().push(p);
            }
            m
        })
        .collect();
    let mut count = 0;
    for id in catalog.ids() {
        let name: Vec<char> = catalog.full_name(id).to_lowercase().chars().collect();
        let service = catalog.action(id).service.to_lowercase();
        let hit = |i: usize| {
            let m = &by_service[i];
            let any = m
                .get(&service)
                .into_iter()
                .chain(m.get("*"))
                .flatten()
                .any(|p| glob(p, &name));
            any != parsed[i].1
        };
        let allowed = (0..parsed.len()).any(|i| parsed[i].0 && hit(i));
        let denied = (0..parsed.len()).any(|i| !parsed[i].0 && parsed[i].2 && hit(i));
        if allowed && !denied {
            count += 1;
        }
    }
    count
}

#[test]
fn managed_policies_match_linear_scan() {
    let c = Catalog::embedded();
    let mut e = Expander::new(c);
    for name in FIXTURES {
        let text = std::fs::read_to_string(fixture(name)).unwrap();
        let raw: Value = serde_json::from_str(&text).unwrap();
        let doc = PolicyDocument::from_str_any(&text).unwrap();
        let expanded = e.document(&doc);
        assert_eq!(expanded.effective.len(), reference_count(c, &raw), "{name}");
    }
    // Sanity anchors that need no matcher at all.
    let admin = PolicyDocument::from_str_any(
        &std::fs::read_to_string(fixture("AdministratorAccess")).unwrap(),
    )
    .unwrap();
    assert_eq!(e.document(&admin).effective.len(), c.len());
    let iam_count = c.service_actions("iam").len();
    let iam_full =
        PolicyDocument::from_str_any(&std::fs::read_to_string(fixture("IAMFullAccess")).unwrap())
            .unwrap();
    assert_eq!(e.document(&iam_full).effective.len(), iam_count + 10);
}

#[test]
fn power_user_excludes_iam_except_listed() {
    let c = Catalog::embedded();
    let mut e = Expander::new(c);
    let doc =
        PolicyDocument::from_str_any(&std::fs::read_to_string(fixture("PowerUserAccess")).unwrap())
            .unwrap();
    let x = e.document(&doc);
    let id = |n| c.lookup_full(n).unwrap();
    assert!(!x.effective.contains(id("iam:PassRole")));
    assert!(x.effective.contains(id("iam:CreateServiceLinkedRole")));
    assert!(x.effective.contains(id("ec2:RunInstances")));
    assert!(!x.effective.contains(id("organizations:CreateAccount")));
}

fn bin() -> Command {
    Command::cargo_bin("iam-tighten").unwrap()
}

#[test]
fn cli_expands_patterns_sorted() {
    let out = bin()
        .args(["expand", "S3:GetObject", "iam:?assRole"])
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert_eq!(stdout, "iam:PassRole\tWrite\ns3:GetObject\tRead\n");
}

/// `expand --policy` has no account, so no partition: a Deny on `arn:aws:*:*:*:*` is read as
/// scoped (it takes nothing away), one on `*` or `arn:*:*:*:*:*` as every resource
/// (docs/grant-model.md).
#[test]
fn cli_expand_reads_a_named_partition_as_scoped() {
    let tmp = tempfile::tempdir().unwrap();
    let listed = |resource: &str| {
        let doc = tmp.path().join("d.json");
        std::fs::write(
            &doc,
            serde_json::json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Deny", "Action": "s3:GetObject", "Resource": resource},
                {"Effect": "Allow", "Action": "s3:GetObject*", "Resource": "*"}]})
            .to_string(),
        )
        .unwrap();
        let out = bin()
            .arg("expand")
            .arg("--policy")
            .arg(&doc)
            .assert()
            .success();
        let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        stdout.lines().any(|l| l == "s3:GetObject\tRead")
    };
    assert!(listed("arn:aws:*:*:*:*"));
    assert!(!listed("*"));
    assert!(!listed("arn:*:*:*:*:*"));
}

#[test]
fn cli_warns_on_unmatched_pattern_but_succeeds() {
    let c = Catalog::embedded();
    bin()
        .args(["expand", "s3:Gett*", "s3:GetObject"])
        .assert()
        .success()
        .stdout("s3:GetObject\tRead\n")
        .stderr(format!(
            "warning: pattern \"s3:Gett*\" matches no action in catalog {}\n",
            c.version()
        ));
    bin()
        .args(["expand", "s3:Gett*"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("warning: pattern \"s3:Gett*\""));
}

#[test]
fn cli_csv_and_json() {
    bin()
        .args([
            "expand",
            "--format",
            "csv",
            "iam:PassRole",
            "ec2:DescribeInstances",
        ])
        .assert()
        .success()
        .stdout(
            "action,service,access_level,resource_types\n\
             ec2:DescribeInstances,ec2,List,0\niam:PassRole,iam,Write,1\n",
        );
    let out = bin()
        .args(["expand", "--format", "json", "iam:*"])
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), Catalog::embedded().service_actions("iam").len());
    assert!(rows.iter().any(|r| r["action"] == "iam:PassRole"
        && r["access_level"] == "Write"
        && r["service"] == "iam"
        && r["resource_types"] == 1));
}

#[test]
fn cli_expands_policy_file() {
    let out = bin()
        .args(["expand", "--format", "csv", "--policy"])
        .arg(fixture("IAMFullAccess"))
        .assert()
        .success();
    let lines = out
        .get_output()
        .stdout
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    assert_eq!(
        lines,
        1 + Catalog::embedded().service_actions("iam").len() + 10
    );

    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("typo.json");
    std::fs::write(
        &typo,
        r#"{"Statement":[{"Sid":"T","Effect":"Allow","Action":["sqs:SendMessage","sqs:Sendd*"],"Resource":"*"}]}"#,
    )
    .unwrap();
    bin()
        .args(["expand", "--policy"])
        .arg(&typo)
        .assert()
        .success()
        .stdout("sqs:SendMessage\tWrite\n")
        .stderr(predicate::str::contains(
            "typo.json: statement T: pattern \"sqs:Sendd*\"",
        ));
}

#[test]
fn cli_bad_policy_file_names_file_and_path() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad-policy.json");
    std::fs::write(
        &bad,
        r#"{"Statement":[{"Effect":"Allow","Action":"*"},{"Effect":"Maybe","Action":"*"}]}"#,
    )
    .unwrap();
    bin()
        .args(["expand", "--policy"])
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("bad-policy.json")
                .and(predicate::str::contains("$.Statement[1].Effect")),
        );
    bin()
        .args(["expand", "--policy"])
        .arg(dir.path().join("missing.json"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.json"));
    let not_json = dir.path().join("not.json");
    std::fs::write(&not_json, "{ nope").unwrap();
    bin()
        .args(["expand", "--policy"])
        .arg(&not_json)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not.json: $:"));
}

#[test]
fn cli_requires_patterns_or_policy() {
    bin().arg("expand").assert().code(2);
}

/// Expands every AWS managed policy in the shared snapshot (1,523 documents). Not part of the
/// suite: the file lives outside the repository. Run with
/// `cargo test --test tests all_managed_policies -- --ignored --nocapture`.
#[test]
#[ignore]
fn all_managed_policies() {
    let path = Path::new("/work/shared/data/aws-managed-policies.json");
    let Ok(text) = std::fs::read_to_string(path) else {
        eprintln!("skipped: {} not found", path.display());
        return;
    };
    let all: serde_json::Map<String, Value> = serde_json::from_str(&text).unwrap();
    let docs: Vec<(String, PolicyDocument)> = all
        .into_iter()
        .map(|(name, v)| {
            let doc = PolicyDocument::from_value(v["Document"].clone())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, doc)
        })
        .collect();
    let c = Catalog::embedded();

    let start = Instant::now();
    let mut e = Expander::new(c);
    let mut unmatched = std::collections::BTreeSet::new();
    let mut total_patterns = 0usize;
    let mut distinct = std::collections::BTreeSet::new();
    for (_, doc) in &docs {
        let x = e.document(doc);
        for s in &doc.statements {
            let (iam_tighten::policy::ActionClause::Action(p)
            | iam_tighten::policy::ActionClause::NotAction(p)) = &s.actions;
            total_patterns += p.len();
            distinct.extend(p.iter().map(|p| p.to_lowercase()));
        }
        unmatched.extend(x.unmatched().map(|(_, p)| p.to_lowercase()));
    }
    let cold = start.elapsed();

    let start = Instant::now();
    for (_, doc) in &docs {
        std::hint::black_box(e.document(doc));
    }
    let warm = start.elapsed();

    let start = Instant::now();
    let star = iam_tighten::policy::expand_pattern(c, "*");
    let star_uncached = start.elapsed();
    let start = Instant::now();
    for _ in 0..10_000 {
        std::hint::black_box(e.expand_pattern("*"));
    }
    let star_cached = start.elapsed() / 10_000;
    assert_eq!(star.len(), c.len());

    // 10,000 roles, each with AdministratorAccess, ReadOnlyAccess and a small inline policy.
    let ten_k = ten_thousand_roles(&docs);
    let start = Instant::now();
    let mut granted = 0usize;
    for p in &ten_k.principals {
        granted += iam_tighten::policy::principal_grants(p, &ten_k, &mut e)
            .effective
            .len();
    }
    let per_role = start.elapsed() / 10_000;
    assert_eq!(granted, 10_000 * c.len());
    let start = Instant::now();
    let mut cache = iam_tighten::policy::GrantCache::new();
    for p in &ten_k.principals {
        let g = iam_tighten::policy::principal_grants_cached(p, &ten_k, &mut e, &mut cache);
        granted -= g.effective.len();
    }
    let per_role_cached = start.elapsed() / 10_000;
    assert_eq!(granted, 0);

    eprintln!(
        "{} documents, {} patterns ({} distinct), {} distinct patterns match nothing",
        docs.len(),
        total_patterns,
        distinct.len(),
        unmatched.len()
    );
    eprintln!("expand all (cold cache): {cold:?}; again (warm): {warm:?}");
    eprintln!("`*` uncached: {star_uncached:?}; `*` via Expander: {star_cached:?}");
    eprintln!(
        "10,000 roles (3 policies each): principal_grants {per_role:?}/role, \
         principal_grants_cached {per_role_cached:?}/role"
    );
    for p in unmatched.iter().take(40) {
        eprintln!("  unmatched: {p}");
    }
}

fn ten_thousand_roles(docs: &[(String, PolicyDocument)]) -> iam_tighten::model::Export {
    use iam_tighten::model::{Export, InlinePolicy, ManagedPolicy, Principal, PrincipalType};
    let policies: std::collections::BTreeMap<String, std::sync::Arc<ManagedPolicy>> = docs
        .iter()
        .filter(|(n, _)| n == "AdministratorAccess" || n == "ReadOnlyAccess")
        .map(|(name, doc)| {
            let arn = format!("arn:aws:iam::aws:policy/{name}");
            let p = ManagedPolicy {
                arn: arn.clone(),
                name: name.clone(),
                path: "/".into(),
                aws_managed: true,
                default_version_id: None,
                attachment_count: None,
                boundary_uses: None,
                create_date: None,
                update_date: None,
                document: std::sync::Arc::new(doc.clone()),
                versions: 1,
                oldest_other_version: None,
                default_created: None,
                other_versions: Box::default(),
            };
            (arn, std::sync::Arc::new(p))
        })
        .collect();
    let inline = PolicyDocument::from_str_any(
        r#"{"Statement":[{"Effect":"Allow","Action":["s3:Get*","sqs:SendMessage"],"Resource":"arn:aws:s3:::b/*"}]}"#,
    )
    .unwrap();
    let principals = (0..10_000)
        .map(|i| Principal {
            kind: PrincipalType::Role,
            name: format!("role-{i:05}"),
            id: format!("AROA{i}"),
            arn: format!("arn:aws:iam::123456789012:role/role-{i:05}"),
            path: "/".into(),
            created: None,
            inline_policies: vec![InlinePolicy {
                name: "inline".into(),
                document: inline.clone(),
            }],
            attached_policies: policies.keys().cloned().collect(),
            groups: Vec::new(),
            permissions_boundary: None,
            tags: Default::default(),
            role_last_used: None,
            trusted: Vec::new(),
            service_linked: false,
        })
        .collect();
    Export {
        root: "synthetic".into(),
        account_id: "123456789012".into(),
        partition: "aws".into(),
        principals,
        policies,
        last_accessed: Default::default(),
        last_accessed_deferred: false,
        details: Default::default(),
        credential_report: None,
        manifest: None,
        data_time: None,
        files: Vec::new(),
        warnings: Vec::new(),
    }
}
