//! The organisation part (issue 19): reading `organization/` (every file as the AWS CLI prints
//! it, errors that name the file and the JSON path), SCP/RCP marks on findings, and that an
//! organisation folder without the part is read exactly as before.

use crate::common::copy_dir;
use std::fs;
use std::path::Path;

use iam_tighten::analysis::{self, Config, Settings};
use iam_tighten::catalog::Catalog;
use iam_tighten::input::{self, LoadOptions, organization};
use serde_json::{Value, json};

fn write(path: &Path, v: &Value) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, serde_json::to_string_pretty(v).unwrap()).unwrap();
}

/// A copy of the sample's q4 accounts plus a small organisation part: root → OU Sandbox
/// (222222222222), 111111111111 under the root, management account 999999999999; SCPs
/// FullAWSAccess everywhere, DenySageMaker on Sandbox, a conditional deny at the root.
fn organisation(dir: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/2026-q4");
    for a in ["111111111111", "222222222222"] {
        copy_dir(&root.join(a), &dir.join(a));
    }
    let o = dir.join("organization");
    write(
        &o.join("describe-organization.json"),
        &json!({"Organization": {"Id": "o-test", "MasterAccountId": "999999999999"}}),
    );
    write(
        &o.join("list-roots.json"),
        &json!({"Roots": [{"Id": "r-ab12", "Name": "Root", "PolicyTypes": []}]}),
    );
    write(
        &o.join("list-accounts.json"),
        &json!({"Accounts": [
            {"Id": "999999999999", "Name": "mgmt", "Status": "ACTIVE"},
            {"Id": "111111111111", "Name": "prod", "Status": "ACTIVE"},
            {"Id": "222222222222", "Name": "dev", "Status": "ACTIVE"}
        ]}),
    );
    write(
        &o.join("ous/r-ab12.json"),
        &json!({"OrganizationalUnits": [{"Id": "ou-ab12-sandbox", "Name": "Sandbox"}]}),
    );
    write(
        &o.join("accounts/r-ab12.json"),
        &json!({"Accounts": [{"Id": "999999999999", "Name": "mgmt"}, {"Id": "111111111111", "Name": "prod"}]}),
    );
    write(
        &o.join("ous/ou-ab12-sandbox.json"),
        &json!({"OrganizationalUnits": []}),
    );
    write(
        &o.join("accounts/ou-ab12-sandbox.json"),
        &json!({"Accounts": [{"Id": "222222222222", "Name": "dev"}]}),
    );
    let policies = [
        (
            "p-FullAWSAccess",
            "FullAWSAccess",
            true,
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
            vec![
                "r-ab12",
                "ou-ab12-sandbox",
                "999999999999",
                "111111111111",
                "222222222222",
            ],
        ),
        (
            "p-denysm01",
            "DenySageMaker",
            false,
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "sagemaker:*", "Resource": "*"}]}),
            vec!["ou-ab12-sandbox"],
        ),
        (
            "p-protect1",
            "ProtectSecurityTooling",
            false,
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny",
                "Action": ["cloudtrail:StopLogging", "cloudtrail:DeleteTrail"], "Resource": "*",
                "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/BreakGlassAdmin"}}}]}),
            vec!["r-ab12"],
        ),
    ];
    write(
        &o.join("policies/SERVICE_CONTROL_POLICY.json"),
        &json!({"Policies": policies.iter().map(|(id, name, m, _, _)| json!({
            "Id": id, "Name": name, "Type": "SERVICE_CONTROL_POLICY", "AwsManaged": m
        })).collect::<Vec<_>>()}),
    );
    for (id, name, m, doc, targets) in &policies {
        write(
            &o.join(format!("policy/{id}.json")),
            &json!({"Policy": {
                "PolicySummary": {"Id": id, "Name": name, "Type": "SERVICE_CONTROL_POLICY", "AwsManaged": m},
                "Content": doc.to_string()
            }}),
        );
        write(
            &o.join(format!("targets/{id}.json")),
            &json!({"Targets": targets.iter().map(|t| json!({"TargetId": t, "Name": t, "Type": "ROOT"})).collect::<Vec<_>>()}),
        );
    }
}

/// The organisation folder `dir`, loaded and analysed with its organisation part (a 90-day
/// window, no configuration).
fn analysed(dir: &Path) -> (Vec<iam_tighten::model::Export>, analysis::Analysis<'static>) {
    let org = organization::find(&[dir.to_path_buf()]).unwrap().unwrap();
    let exports = input::load_exports(&[dir.to_path_buf()], &LoadOptions::default()).unwrap();
    let an = analysis::analyze_organization(
        &exports,
        Some(&org),
        Catalog::embedded(),
        &Settings::new(90, None).unwrap(),
        &Config::default(),
    )
    .unwrap();
    (exports, an)
}

fn load_error(dir: &Path) -> String {
    organization::find(&[dir.to_path_buf()])
        .expect_err("expected an error")
        .to_string()
}

#[test]
fn the_organisation_part_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    organisation(tmp.path());
    let org = organization::find(&[tmp.path().to_path_buf()])
        .unwrap()
        .expect("organisation part");
    assert_eq!(org.management_account, "999999999999");
    let chain: Vec<&str> = org
        .chain("222222222222")
        .iter()
        .map(|n| n.id.as_str())
        .collect();
    assert_eq!(chain, ["r-ab12", "ou-ab12-sandbox", "222222222222"]);
    assert_eq!(org.control_policies.len(), 3);
    assert!(org.permission_sets.is_empty());
    // Every file read is hashed, for the report's scope section.
    let file = "policy/p-denysm01.json";
    let bytes = fs::read(tmp.path().join("organization").join(file)).unwrap();
    assert!(org.files.iter().any(|f| f.path == file
        && f.sha256 == iam_tighten::model::Sha256Sum::of(&bytes)
        && f.bytes == bytes.len() as u64));
    // The account folders load as before: the `organization` folder is not an export.
    let exports =
        input::load_exports(&[tmp.path().to_path_buf()], &LoadOptions::default()).unwrap();
    assert_eq!(exports.len(), 2);
}

#[test]
fn scps_mark_blocked_and_restricted_grants() {
    let tmp = tempfile::tempdir().unwrap();
    organisation(tmp.path());
    let (exports, an) = analysed(tmp.path());
    let blocked: Vec<(usize, &analysis::Finding)> = an
        .findings
        .iter()
        .enumerate()
        .filter(|(i, _)| an.blocked(*i))
        .collect();
    assert!(!blocked.is_empty());
    for &(i, f) in &blocked {
        let p = an.principal(f);
        assert_eq!(
            &*p.account_id, "222222222222",
            "only the Sandbox OU denies sagemaker"
        );
        assert!(
            an.action_text(f).starts_with("sagemaker:"),
            "{}",
            an.action_text(f)
        );
        assert!(
            an.control_note(i).unwrap().detail.contains("DenySageMaker"),
            "the note names the SCP"
        );
    }
    // platform-ops is granted sagemaker:* and never used it: unused, but blocked, so it ranks
    // below every effective unused finding and adds nothing to the score.
    let (_, ops) = blocked
        .iter()
        .find(|(_, f)| an.principal(f).name() == "platform-ops")
        .expect("platform-ops' sagemaker grant is blocked");
    assert_eq!(ops.status(), analysis::Status::Unused);
    let last_effective = an
        .findings
        .iter()
        .enumerate()
        .filter(|(i, f)| {
            f.status() == analysis::Status::Unused
                && f.exclusion.is_none()
                && an.principal(f).actionable
                && !an.blocked(*i)
        })
        .map(|(i, _)| i)
        .max()
        .unwrap();
    assert!(
        blocked.iter().all(|(i, _)| *i > last_effective),
        "a blocked finding ranks above an effective one"
    );
    let without = analysis::analyze(
        &exports,
        Catalog::embedded(),
        &Settings::new(90, None).unwrap(),
        &Config::default(),
    )
    .unwrap();
    let score = |an: &analysis::Analysis<'_>| {
        an.principals
            .iter()
            .find(|p| p.name() == "platform-ops")
            .unwrap()
            .score
    };
    assert!(
        score(&an) < score(&without),
        "blocked grants still weigh in the score"
    );
    // The management account is not subject to SCPs, and a conditional deny only restricts.
    let restricted: Vec<_> = an
        .findings
        .iter()
        .enumerate()
        .filter(|(i, _)| an.control_note(*i).is_some() && !an.blocked(*i))
        .map(|(_, f)| f)
        .collect();
    assert!(
        restricted
            .iter()
            .all(|f| an.action_text(f).contains("cloudtrail:"))
    );
    assert!(!restricted.is_empty());
    // Verdicts do not change: per status, the same number of actions with and without.
    let count = |an: &analysis::Analysis<'_>, s: analysis::Status| {
        an.findings
            .iter()
            .filter(|f| f.status() == s)
            .map(|f| u64::from(an.count(f)))
            .sum::<u64>()
    };
    for s in [
        analysis::Status::Used,
        analysis::Status::Unused,
        analysis::Status::Unknown,
    ] {
        assert_eq!(count(&an, s), count(&without, s), "{s:?}");
    }
}

/// An SCP Deny whose `Resource` is an ARN pattern that matches every resource of the account's
/// partition (`arn:aws:*:*:*:*`) blocks as `*` does. It was read as scoped, so the denied grants
/// were only "restricted": ranked among the effective unused ones and counted in the score.
#[test]
fn an_scp_deny_on_every_arn_of_the_partition_blocks_as_a_star_does() {
    let blocked_with = |resource: &str| {
        let tmp = tempfile::tempdir().unwrap();
        organisation(tmp.path());
        let doc = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny",
            "Action": "sagemaker:*", "Resource": resource}]});
        write(
            &tmp.path().join("organization/policy/p-denysm01.json"),
            &json!({"Policy": {
                "PolicySummary": {"Id": "p-denysm01", "Name": "DenySageMaker",
                    "Type": "SERVICE_CONTROL_POLICY", "AwsManaged": false},
                "Content": doc.to_string()
            }}),
        );
        let (_, an) = analysed(tmp.path());
        let mut blocked: Vec<String> = (0..an.findings.len())
            .filter(|&i| an.blocked(i))
            .map(|i| {
                let f = &an.findings[i];
                format!("{} {}", an.principal(f).name(), an.action_text(f))
            })
            .collect();
        blocked.sort();
        blocked
    };
    let star = blocked_with("*");
    assert!(star.iter().any(|b| b.contains("sagemaker:")), "{star:?}");
    for every in ["arn:aws:*:*:*:*", "arn:*:*:*:*:*"] {
        assert_eq!(blocked_with(every), star, "{every}");
    }
    // Another partition's ARNs are none of the account's; a seventh segment needs a colon in
    // the resource part; a service named: none of these is every resource.
    for scoped in [
        "arn:aws-cn:*:*:*:*",
        "arn:aws:*:*:*:*:*",
        "arn:aws:sagemaker:*:*:*",
    ] {
        assert!(blocked_with(scoped).is_empty(), "{scoped}");
    }
}

/// The page's methodology, too, says SCPs and RCPs are evaluated only with the part (it said
/// they never are, beside findings marked `blocked` by one).
#[test]
fn findings_files_gain_the_control_columns_only_with_an_organisation_part() {
    let tmp = tempfile::tempdir().unwrap();
    organisation(tmp.path());
    let outs = tempfile::tempdir().unwrap();
    let out = outs.path().join("org");
    let plain = outs.path().join("plain");
    let bin = assert_cmd::cargo::cargo_bin("iam-tighten");
    let run = |args: Vec<&std::ffi::OsStr>| {
        let o = std::process::Command::new(&bin)
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    run(vec![
        "report".as_ref(),
        tmp.path().as_os_str(),
        "--format".as_ref(),
        "csv,json".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    let a = tmp.path().join("111111111111");
    let b = tmp.path().join("222222222222");
    run(vec![
        "report".as_ref(),
        a.as_os_str(),
        b.as_os_str(),
        "--format".as_ref(),
        "csv,json,html".as_ref(),
        "--out".as_ref(),
        plain.as_os_str(),
    ]);
    let header = |dir: &Path| {
        fs::read_to_string(dir.join("findings.csv"))
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .to_string()
    };
    assert!(header(&out).contains(",control_effect,control_detail,principal_arn"));
    assert!(!header(&plain).contains("control_"));
    let text = fs::read_to_string(out.join("findings.csv")).unwrap();
    assert!(text.contains(",blocked,denied by SCP DenySageMaker attached to OU Sandbox,"));
    let json: Value = serde_json::from_slice(&fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["organization"]["management_account"], "999999999999");
    // The page says it too: the organisation, its SCPs and the mark on a finding.
    run(vec![
        "report".as_ref(),
        tmp.path().as_os_str(),
        "--format".as_ref(),
        "html".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    let page = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(page.contains("Organisation o-test"));
    assert!(page.contains("DenySageMaker"));
    // Methodology says SCPs and RCPs were evaluated only when they were.
    let (read, not_read) = (
        "Service control policies and resource control policies are read from the organisation part",
        "service control policies, resource control policies and session policies are not evaluated",
    );
    let plain_page = fs::read_to_string(plain.join("report.html")).unwrap();
    assert!(page.contains(read) && !page.contains(not_read));
    assert!(plain_page.contains(not_read) && !plain_page.contains(read));
    for p in [&page, &plain_page] {
        assert!(p.contains("session policies are not evaluated"));
    }
    let plain_json: Value =
        serde_json::from_slice(&fs::read(plain.join("report.json")).unwrap()).unwrap();
    assert!(plain_json.get("organization").is_none());
}

#[test]
fn bad_organisation_files_are_named_with_their_json_path() {
    type Mutation = (&'static str, fn(&Path), &'static str, &'static str);
    let cases: [Mutation; 9] = [
        (
            "a file that describes another policy",
            |o| {
                write(
                    &o.join("policy/p-denysm01.json"),
                    &json!({"Policy": {"PolicySummary": {"Id": "p-protect1", "Name": "x"}, "Content": "{}"}}),
                )
            },
            "policy/p-denysm01.json",
            "$.Policy.PolicySummary.Id",
        ),
        (
            "missing describe-organization",
            |o| fs::remove_file(o.join("describe-organization.json")).unwrap(),
            "describe-organization.json",
            "",
        ),
        (
            "a page left out",
            |o| {
                write(
                    &o.join("list-roots.json"),
                    &json!({"Roots": [{"Id": "r-ab12", "Name": "Root"}], "NextToken": "x"}),
                )
            },
            "list-roots.json",
            "$.NextToken",
        ),
        (
            "an account id that is not 12 digits",
            |o| {
                write(
                    &o.join("accounts/ou-ab12-sandbox.json"),
                    &json!({"Accounts": [{"Id": "2222"}]}),
                )
            },
            "accounts/ou-ab12-sandbox.json",
            "$.Accounts[0].Id",
        ),
        (
            "an SCP whose Content is not JSON",
            |o| {
                write(
                    &o.join("policy/p-denysm01.json"),
                    &json!({"Policy": {"PolicySummary": {"Id": "p-denysm01", "Name": "DenySageMaker"}, "Content": "{not json"}}),
                )
            },
            "policy/p-denysm01.json",
            "$.Policy.Content",
        ),
        (
            "an SCP document with a bad Effect",
            |o| {
                write(
                    &o.join("policy/p-denysm01.json"),
                    &json!({"Policy": {"PolicySummary": {"Id": "p-denysm01", "Name": "DenySageMaker"},
                        "Content": "{\"Statement\":[{\"Effect\":\"Maybe\",\"Action\":\"*\",\"Resource\":\"*\"}]}"}}),
                )
            },
            "policy/p-denysm01.json",
            "$.Policy.Content.Statement[0].Effect",
        ),
        (
            "a policy id that would leave the folder",
            |o| {
                write(
                    &o.join("policies/SERVICE_CONTROL_POLICY.json"),
                    &json!({"Policies": [{"Id": "../../etc", "Name": "x", "Type": "SERVICE_CONTROL_POLICY"}]}),
                )
            },
            "policies/SERVICE_CONTROL_POLICY.json",
            "$.Policies[0].Id",
        ),
        (
            "a policy listed without its targets",
            |o| fs::remove_file(o.join("targets/p-protect1.json")).unwrap(),
            "targets/p-protect1.json",
            "",
        ),
        (
            "an RCP in the SCP list",
            |o| {
                write(
                    &o.join("policies/SERVICE_CONTROL_POLICY.json"),
                    &json!({"Policies": [{"Id": "p-denysm01", "Name": "x", "Type": "RESOURCE_CONTROL_POLICY"}]}),
                )
            },
            "policies/SERVICE_CONTROL_POLICY.json",
            "$.Policies[0].Type",
        ),
    ];
    for (what, mutate, file, json_path) in cases {
        let tmp = tempfile::tempdir().unwrap();
        organisation(tmp.path());
        mutate(&tmp.path().join("organization"));
        let msg = load_error(tmp.path());
        assert!(msg.contains(file), "{what}: {msg}");
        assert!(msg.contains(json_path), "{what}: {msg}");
    }
}

/// A key given twice in an SCP's `Content` (a JSON string, or an object) is an error at the JSON
/// path of the object that repeats it, naming the key: read as serde_json's `Value`, the last
/// one counted, so `"Effect": "Deny", "Effect": "Allow"` turned a deny into an allow.
#[test]
fn a_key_given_twice_in_an_scp_is_an_error() {
    let summary = r#""PolicySummary": {"Id": "p-denysm01", "Name": "DenySageMaker"}"#;
    let effect_twice = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Deny",
        "Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"}]}"#;
    let statement_twice = r#"{"Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "sagemaker:*", "Resource": "*"}],
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}"#;
    let cases = [
        (
            format!(
                r#"{{"Policy": {{{summary}, "Content": {}}}}}"#,
                serde_json::to_string(effect_twice).unwrap()
            ),
            "$.Policy.Content.Statement[0]: duplicate key \"Effect\" in a policy document",
        ),
        (
            format!(r#"{{"Policy": {{{summary}, "Content": {statement_twice}}}}}"#),
            "$.Policy.Content: duplicate key \"Statement\" in a policy document",
        ),
    ];
    for (text, needle) in cases {
        let tmp = tempfile::tempdir().unwrap();
        organisation(tmp.path());
        fs::write(tmp.path().join("organization/policy/p-denysm01.json"), text).unwrap();
        let msg = load_error(tmp.path());
        assert!(msg.contains("policy/p-denysm01.json"), "{msg}");
        assert!(msg.contains(needle), "{msg}");
    }
}

/// A JSON list where an organisation file has an object is a type error at its JSON path:
/// serde's derived readers took a list too, reading it by position.
#[test]
fn a_list_where_an_object_belongs_in_the_organisation_part_is_an_error() {
    let cases = [
        (
            "describe-organization.json",
            json!({"Organization": ["o-test", "999999999999"]}),
            "$.Organization",
        ),
        (
            "accounts/ou-ab12-sandbox.json",
            json!({"Accounts": [["222222222222", "dev"]]}),
            "$.Accounts[0]",
        ),
        (
            "policy/p-denysm01.json",
            json!({"Policy": [["p-denysm01", "DenySageMaker"], "{}"]}),
            "$.Policy",
        ),
        (
            "targets/p-denysm01.json",
            json!({"Targets": [["ou-ab12-sandbox"]]}),
            "$.Targets[0]",
        ),
    ];
    for (file, value, json_path) in cases {
        let tmp = tempfile::tempdir().unwrap();
        organisation(tmp.path());
        write(&tmp.path().join("organization").join(file), &value);
        let msg = load_error(tmp.path());
        assert!(
            msg.contains(&format!(
                "{file}: {json_path}: invalid type: sequence, expected an object"
            )),
            "{file}: {msg}"
        );
    }
}

#[test]
fn two_organisation_parts_in_one_run_are_refused() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    organisation(a.path());
    organisation(b.path());
    let err = organization::find(&[a.path().to_path_buf(), b.path().to_path_buf()])
        .expect_err("two parts")
        .to_string();
    assert!(err.contains("a second organisation part"), "{err}");
}

#[test]
fn identity_center_roles_name_their_permission_set() {
    use iam_tighten::model::permission_set_of_role;
    assert_eq!(
        permission_set_of_role("AWSReservedSSO_ReadOnly_0123456789abcdef"),
        Some("ReadOnly")
    );
    assert_eq!(permission_set_of_role("ReadOnly"), None);
}

/// An exported account that the organisation part's tree does not place gets no SCP or RCP:
/// that is said on the account (`export_account_not_placed`), whether `list-accounts.json` lists
/// it or not. It was silent, though docs/export-format.md promised it.
#[test]
fn an_exported_account_the_tree_does_not_place_is_reported() {
    for listed in [true, false] {
        let tmp = tempfile::tempdir().unwrap();
        organisation(tmp.path());
        let o = tmp.path().join("organization");
        write(
            &o.join("accounts/ou-ab12-sandbox.json"),
            &json!({"Accounts": []}),
        );
        if !listed {
            write(
                &o.join("list-accounts.json"),
                &json!({"Accounts": [
                    {"Id": "999999999999", "Name": "mgmt", "Status": "ACTIVE"},
                    {"Id": "111111111111", "Name": "prod", "Status": "ACTIVE"}
                ]}),
            );
        }
        let (_, an) = analysed(tmp.path());
        let unplaced: Vec<_> = an
            .warnings
            .iter()
            .filter(|w| w.warning.code == "export_account_not_placed")
            .collect();
        assert_eq!(unplaced.len(), 1, "{unplaced:?}");
        assert_eq!(unplaced[0].account_id, "222222222222");
        let msg = &unplaced[0].warning.message;
        assert!(msg.contains("no SCP or RCP is applied"), "{msg}");
        let why = if listed {
            "list-accounts.json lists it, but the tree does not reach it"
        } else {
            "list-accounts.json does not list it either"
        };
        assert!(msg.contains(why), "{msg}");
        // Nothing is blocked in it (DenySageMaker is on the OU it is no longer in).
        assert!((0..an.findings.len()).all(|i| !an.blocked(i)));
    }
    // Placed, it is not reported.
    let tmp = tempfile::tempdir().unwrap();
    organisation(tmp.path());
    let (_, an) = analysed(tmp.path());
    assert!(
        an.warnings
            .iter()
            .all(|w| w.warning.code != "export_account_not_placed")
    );
}

/// A tree that places an id twice is an error at the second place: an account under two parents
/// (the last one read won, which changed the SCPs that apply to it), a root listed again as an
/// OU, an OU listed under itself. They were read silently.
#[test]
fn an_id_the_tree_places_twice_is_an_error() {
    let cases: [(&str, &str, Value, &str, &str); 3] = [
        (
            "an account under two parents",
            "accounts/ou-ab12-sandbox.json",
            json!({"Accounts": [{"Id": "222222222222"}, {"Id": "111111111111"}]}),
            "$.Accounts[1].Id",
            "111111111111 is already in the tree, as the account prod listed by \
             accounts/r-ab12.json: an account has one parent",
        ),
        (
            "the root listed as an OU",
            "ous/ou-ab12-sandbox.json",
            json!({"OrganizationalUnits": [{"Id": "r-ab12", "Name": "loop"}]}),
            "$.OrganizationalUnits[0].Id",
            "r-ab12 is already in the tree, as the root Root listed by list-roots.json",
        ),
        (
            "an OU under itself",
            "ous/ou-ab12-sandbox.json",
            json!({"OrganizationalUnits": [{"Id": "ou-ab12-sandbox", "Name": "loop"}]}),
            "$.OrganizationalUnits[0].Id",
            "ou-ab12-sandbox is already in the tree, as the OU Sandbox listed by ous/r-ab12.json",
        ),
    ];
    for (what, file, content, json_path, says) in cases {
        let tmp = tempfile::tempdir().unwrap();
        organisation(tmp.path());
        write(&tmp.path().join("organization").join(file), &content);
        let msg = load_error(tmp.path());
        assert!(msg.contains(file), "{what}: {msg}");
        assert!(msg.contains(json_path), "{what}: {msg}");
        assert!(msg.contains(says), "{what}: {msg}");
    }
}

/// A control policy type that `list-roots.json` says is enabled, without its
/// `policies/<TYPE>.json`, is said (`control_policies_missing`): no such policy is modelled. An
/// SCP list named in lower case was skipped silently.
#[test]
fn an_enabled_policy_type_without_its_list_is_a_warning() {
    let missing = |types: Value, remove_scps: bool| {
        let tmp = tempfile::tempdir().unwrap();
        organisation(tmp.path());
        let o = tmp.path().join("organization");
        write(
            &o.join("list-roots.json"),
            &json!({"Roots": [{"Id": "r-ab12", "Name": "Root", "PolicyTypes": types}]}),
        );
        if remove_scps {
            let scps = o.join("policies/SERVICE_CONTROL_POLICY.json");
            fs::rename(&scps, o.join("policies/service_control_policy.json")).unwrap();
        }
        let org = organization::find(&[tmp.path().to_path_buf()])
            .unwrap()
            .unwrap();
        org.warnings
            .iter()
            .filter(|w| w.code == "control_policies_missing")
            .map(|w| {
                assert_eq!(w.file.as_deref(), Some("list-roots.json"));
                (w.json_path.clone().unwrap(), w.message.clone())
            })
            .collect::<Vec<_>>()
    };
    let both = json!([
        {"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"},
        {"Type": "RESOURCE_CONTROL_POLICY", "Status": "ENABLED"}
    ]);
    // The SCP list is there, the RCP list is not.
    let w = missing(both.clone(), false);
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].0, "$.Roots[0].PolicyTypes[1]");
    assert!(
        w[0].1.contains("RESOURCE_CONTROL_POLICY enabled") && w[0].1.contains("no RCP is modelled"),
        "{}",
        w[0].1
    );
    // Neither.
    let w = missing(both, true);
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(
        w[0].1
            .contains("no policies/SERVICE_CONTROL_POLICY.json (a file name's letter case counts)"),
        "{}",
        w[0].1
    );
    // Not enabled (or only being enabled): nothing to say.
    let pending = json!([{"Type": "RESOURCE_CONTROL_POLICY", "Status": "PENDING_ENABLE"}]);
    assert!(missing(pending, false).is_empty());
    assert!(missing(json!([]), false).is_empty());
}

/// What an SCP blocks carries no risk today: removing it weighs nothing in a decision's
/// sensitivity, its `*_removed` counts and its rank, as in the principal's scores. A decision
/// that removed only blocked critical actions still ranked, and read, "critical" (review pass
/// 47).
#[test]
fn a_decision_that_removes_only_blocked_grants_weighs_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    organisation(tmp.path());
    let outs = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("iam-tighten");
    let decisions = |name: &str| -> Vec<Vec<String>> {
        let out = outs.path().join(name);
        let o = std::process::Command::new(&bin)
            .args(["report", "--format", "csv", "--out"])
            .arg(&out)
            .arg(tmp.path())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let text = fs::read_to_string(out.join("decisions.csv")).unwrap();
        let mut rows = csv::Reader::from_reader(text.as_bytes());
        let header: Vec<String> = rows.headers().unwrap().iter().map(String::from).collect();
        let col = |n: &str| header.iter().position(|h| h == n).unwrap();
        let cols = [
            "rank",
            "decision",
            "sensitivity",
            "principal_name",
            "subject",
            "critical_removed",
            "high_removed",
            "medium_removed",
        ]
        .map(col);
        rows.records()
            .map(|r| {
                let r = r.unwrap();
                cols.iter().map(|c| r[*c].to_string()).collect()
            })
            .filter(|r: &Vec<String>| r[3] == "platform-ops" && r[4] == "power-user-guarded")
            .collect()
    };
    let before = decisions("before");
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(before[0][2], "critical", "{before:?}");
    // The Sandbox OU (222222222222) now blocks everything but one read action.
    write(
        &tmp.path().join("organization/policy/p-denysm01.json"),
        &json!({"Policy": {
            "PolicySummary": {"Id": "p-denysm01", "Name": "DenySageMaker",
                "Type": "SERVICE_CONTROL_POLICY", "AwsManaged": false},
            "Content": json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny",
                "NotAction": "ec2:DescribeInstances", "Resource": "*"}]}).to_string()
        }}),
    );
    let after = decisions("after");
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(&after[0][5..], ["0", "0", "0"], "{after:?}");
    assert_ne!(after[0][2], "critical", "{after:?}");
    let rank = |r: &Vec<Vec<String>>| r[0][0].parse::<u32>().unwrap();
    assert!(rank(&after) > rank(&before), "{before:?} {after:?}");
}
