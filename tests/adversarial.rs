//! Wrong results found by adversarial reviews (the forty-third pass and later); each fails
//! without its fix.

use std::fs;
use std::path::Path;

use iam_tighten::analysis::{self, Config, Reason, Settings, Status};
use iam_tighten::catalog::Catalog;
use iam_tighten::input::{self, LoadOptions};
use serde_json::{Value, json};

use crate::analysis::svc;

const ACCT: &str = "111111111111";
const AS_OF: &str = "2026-11-20T10:00:00Z";
const OLD: &str = "2024-01-01T00:00:00Z";
/// Two days before [`AS_OF`]: inside any window.
const NEW: &str = "2026-11-18T00:00:00Z";
/// More than 400 days before [`AS_OF`]: before any window can start.
const MID: &str = "2025-06-01T00:00:00Z";

fn bin() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("iam-tighten").unwrap()
}

fn doc(actions: &[&str]) -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": actions, "Resource": "*"}
    ]})
}

fn managed(name: &str, created: &str, actions: &[&str]) -> Value {
    json!({
        "PolicyName": name, "PolicyId": "ANPAEXAMPLE000000001",
        "Arn": format!("arn:aws:iam::{ACCT}:policy/{name}"), "Path": "/",
        "DefaultVersionId": "v1", "AttachmentCount": 1, "PermissionsBoundaryUsageCount": 0,
        "IsAttachable": true, "CreateDate": created, "UpdateDate": created,
        "PolicyVersionList": [{"Document": doc(actions), "VersionId": "v1",
            "IsDefaultVersion": true, "CreateDate": created}]
    })
}

fn attached(name: &str) -> Value {
    json!([{"PolicyName": name, "PolicyArn": format!("arn:aws:iam::{ACCT}:policy/{name}")}])
}

fn role(name: &str, inline: &[&str], managed: Value) -> Value {
    json!({
        "Path": "/", "RoleName": name, "RoleId": "AROAEXAMPLE0000000001",
        "Arn": format!("arn:aws:iam::{ACCT}:role/{name}"), "CreateDate": OLD,
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []},
        "InstanceProfileList": [],
        "RolePolicyList": [{"PolicyName": "own", "PolicyDocument": doc(inline)}],
        "AttachedManagedPolicies": managed, "Tags": [], "RoleLastUsed": {}
    })
}

fn user(name: &str, groups: &[&str]) -> Value {
    json!({
        "Path": "/", "UserName": name, "UserId": "AIDAEXAMPLE0000000001",
        "Arn": format!("arn:aws:iam::{ACCT}:user/{name}"), "CreateDate": OLD,
        "UserPolicyList": [], "GroupList": groups, "AttachedManagedPolicies": [], "Tags": []
    })
}

fn group(name: &str, created: &str, inline: &[&str]) -> Value {
    json!({
        "Path": "/", "GroupName": name, "GroupId": "AGPAEXAMPLE0000000001",
        "Arn": format!("arn:aws:iam::{ACCT}:group/{name}"), "CreateDate": created,
        "GroupPolicyList": [{"PolicyName": "gp", "PolicyDocument": doc(inline)}],
        "AttachedManagedPolicies": []
    })
}

/// Writes an export: the authorization details' lists, and a last-accessed report per
/// `(kind, name, services)`.
fn write_export(
    dir: &Path,
    (users, groups, roles, policies): (Value, Value, Value, Value),
    reports: &[(&str, &str, Value)],
) {
    fs::create_dir_all(dir).unwrap();
    let gaad = json!({"UserDetailList": users, "GroupDetailList": groups,
        "RoleDetailList": roles, "Policies": policies});
    fs::write(
        dir.join("authorization-details.json"),
        serde_json::to_vec_pretty(&gaad).unwrap(),
    )
    .unwrap();
    for (kind, name, services) in reports {
        let la = json!({
            "JobStatus": "COMPLETED", "JobType": "ACTION_LEVEL",
            "JobCreationDate": "2026-11-20T09:59:00Z", "ServicesLastAccessed": services,
            "JobCompletionDate": AS_OF, "IsTruncated": false
        });
        let d = dir.join(format!("last-accessed/{kind}s"));
        fs::create_dir_all(&d).unwrap();
        fs::write(
            d.join(format!("{name}.json")),
            serde_json::to_vec_pretty(&la).unwrap(),
        )
        .unwrap();
    }
}

fn analyse(dir: &Path) -> analysis::Analysis<'static> {
    let export = input::load_export(dir, &LoadOptions::default()).unwrap();
    let settings = Settings::new(90, None).unwrap();
    analysis::analyze(
        &[export],
        Catalog::embedded(),
        &settings,
        &Config::default(),
    )
    .unwrap()
}

/// The verdict of `action` for principal `name`.
fn verdict(an: &analysis::Analysis<'_>, name: &str, action: &str) -> (Status, Reason) {
    let p = an.principals.iter().position(|p| p.name() == name).unwrap();
    let id = Catalog::embedded().lookup_full(action).unwrap();
    let f = an
        .finding_for(p, id)
        .unwrap_or_else(|| panic!("{name} {action}"));
    (f.status(), f.reason)
}

/// A permission the principal holds only through a policy (or a group) created after the window
/// started has been held for less than the window: no use yet is not "unused" (the review found
/// `unused` and a "detach this policy" decision for a policy attached two days before).
#[test]
fn a_grant_younger_than_the_window_is_too_new() {
    let dir = tempfile::tempdir().unwrap();
    let policies = json!([
        managed("fresh", NEW, &["sqs:SendMessage", "sqs:DeleteQueue"]),
        managed("aged", OLD, &["sns:Publish"]),
    ]);
    let mut attach = attached("fresh");
    attach
        .as_array_mut()
        .unwrap()
        .extend(attached("aged").as_array().unwrap().clone());
    let roles = json!([role("r", &["sqs:DeleteQueue", "ec2:RunInstances"], attach)]);
    let groups = json!([group("g", NEW, &["dynamodb:GetItem"])]);
    let users = json!([user("u", &["g"])]);
    let none = |ns: &str| svc(ns, None, None);
    write_export(
        dir.path(),
        (users, groups, roles, policies),
        &[
            ("role", "r", json!([none("sqs"), none("sns"), none("ec2")])),
            ("user", "u", json!([none("dynamodb")])),
            ("group", "g", json!([none("dynamodb")])),
        ],
    );
    let an = analyse(dir.path());
    let too_new = (Status::Unknown, Reason::GrantTooNew);
    let unused = (Status::Unused, Reason::ServiceNotAccessed);
    // Only the new policy grants it.
    assert_eq!(verdict(&an, "r", "sqs:SendMessage"), too_new);
    // The role's own inline policy grants it too: held since the role was made.
    assert_eq!(verdict(&an, "r", "sqs:DeleteQueue"), unused);
    // An old managed policy, and the inline policy alone.
    assert_eq!(verdict(&an, "r", "sns:Publish"), unused);
    assert_eq!(verdict(&an, "r", "ec2:RunInstances"), unused);
    // Through a group created two days ago: the user is old, its membership is not.
    assert_eq!(verdict(&an, "u", "dynamodb:GetItem"), too_new);
    assert_eq!(
        verdict(&an, "g", "dynamodb:GetItem"),
        (Status::Unknown, Reason::PrincipalTooNew)
    );

    // No decision removes what only the new policy grants.
    let outs = tempfile::tempdir().unwrap();
    let out = outs.path().join("out");
    bin()
        .args(["report", dir.path().to_str().unwrap(), "--out"])
        .arg(&out)
        .args(["--format", "csv"])
        .assert()
        .success();
    let decisions = fs::read_to_string(out.join("decisions.csv")).unwrap();
    assert!(!decisions.contains("policy fresh from"), "{decisions}");
    // Its tightened version (it also grants sqs:DeleteQueue, unused: the role's own policy has
    // granted it all along) keeps what only it grants.
    let fresh = out.join(format!("recommendations/{ACCT}/role/r/managed-fresh.json"));
    let fresh = fs::read_to_string(fresh).unwrap();
    assert!(
        fresh.contains("sqs:SendMessage") && !fresh.contains("sqs:DeleteQueue"),
        "{fresh}"
    );
    // A role given a policy inside its window is not an unused role to delete.
    assert!(!decisions.contains("delete_role"), "{decisions}");
    let findings = fs::read_to_string(out.join("findings.csv")).unwrap();
    assert!(findings.contains("grant_too_new"), "{findings}");
}

/// IAM action names ignore case: a tracked action listed twice in different case is one action,
/// with its latest use (the first entry, without a time, won: `unused`).
#[test]
fn a_tracked_action_listed_twice_in_different_case_keeps_its_use() {
    let dir = tempfile::tempdir().unwrap();
    let ec2 = svc(
        "ec2",
        Some("2026-11-19T08:00:00Z"),
        Some(json!([
            {"ActionName": "RunInstances"},
            {"ActionName": "runinstances", "LastAccessedTime": "2026-11-19T08:00:00Z"}
        ])),
    );
    one_role(dir.path(), &["ec2:RunInstances"], json!([ec2]));
    let an = analyse(dir.path());
    assert_eq!(
        verdict(&an, "r", "ec2:RunInstances"),
        (Status::Used, Reason::AccessedInWindow)
    );
}

/// An `ActionName` whose prefix names another service than the one it is listed under would
/// be filed under the wrong service (`sts:AssumeRole` under iam read as `iam:AssumeRole`, and
/// sts:AssumeRole unused): an error naming the file and JSON path.
#[test]
fn an_action_name_of_another_service_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let iam = svc(
        "iam",
        Some("2026-11-19T08:00:00Z"),
        Some(json!([
            {"ActionName": "sts:AssumeRole", "LastAccessedTime": "2026-11-19T08:00:00Z"}
        ])),
    );
    one_role(
        dir.path(),
        &["sts:AssumeRole"],
        json!([iam, svc("sts", None, None)]),
    );
    let e = input::load_export(dir.path(), &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("r.json")
            && e.contains("$.ServicesLastAccessed[0].TrackedActionsLastAccessed[0].ActionName")
            && e.contains("\"sts\""),
        "{e}"
    );
    // An ActionName naming no single action.
    for name in ["iam:", "iam:Get*", "Get?ole"] {
        let file = dir.path().join("last-accessed/roles/r.json");
        crate::common::edit_json(&file, |d| {
            d["ServicesLastAccessed"][0]["TrackedActionsLastAccessed"][0]["ActionName"] =
                json!(name);
        });
        let e = input::load_export(dir.path(), &LoadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("names no single action"), "{name}: {e}");
    }
}

/// A `ServiceNamespace` with a wildcard (`e?2`) would be kept, as written, in a tightened
/// policy, where IAM reads it as `ec2` and keeps what the plan says it removes (review pass 47):
/// an error naming the file and JSON path.
#[test]
fn a_service_namespace_that_is_no_service_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    for namespace in ["e?2", "ec*", "s3 x", "iam:"] {
        let used = svc(namespace, Some("2026-11-19T08:00:00Z"), None);
        one_role(
            dir.path(),
            &["ec2:RunInstances"],
            json!([svc("ec2", None, None), used]),
        );
        let e = input::load_export(dir.path(), &LoadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("r.json")
                && e.contains("$.ServicesLastAccessed[1].ServiceNamespace")
                && e.contains("names no service"),
            "{namespace}: {e}"
        );
    }
    // AWS's own forms load: digits, `-`, upper case (read as lower).
    for namespace in ["execute-api", "a4b", "EC2"] {
        let used = svc(namespace, Some("2026-11-19T08:00:00Z"), None);
        one_role(
            dir.path(),
            &["ec2:RunInstances"],
            json!([svc("ec2", None, None), used]),
        );
        input::load_export(dir.path(), &LoadOptions::default()).unwrap();
    }
}

/// A service the catalog does not know, used in the window: which of its actions AWS does not
/// track one by one the catalog cannot say, so the whole service is kept (only the named action
/// was).
#[test]
fn an_unknown_service_used_beyond_its_named_actions_is_kept_whole() {
    let keeps = |service_last: &str| -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let zz = svc(
            "zznew",
            Some(service_last),
            Some(json!([
                {"ActionName": "DoThing", "LastAccessedTime": "2026-11-10T00:00:00Z"}
            ])),
        );
        one_role(dir.path(), &["*"], json!([zz]));
        let an = analyse(dir.path());
        an.uncatalogued_of(0)
            .into_iter()
            .map(String::from)
            .collect()
    };
    assert_eq!(keeps("2026-11-15T00:00:00Z"), ["zznew:*", "zznew:DoThing"]);
    // The service's time is its latest use: at the named action's, an action AWS does not track
    // may have been used earlier in the window (a known service's are `unknown`).
    assert_eq!(keeps("2026-11-10T00:00:00Z"), ["zznew:*", "zznew:DoThing"]);
}

/// A group's tightened policy keeps what a member used that the catalog does not know: only
/// members use a group's policies, and the group's own report may not list it.
#[test]
fn a_groups_rewrite_keeps_a_members_use_the_catalog_does_not_know() {
    let dir = tempfile::tempdir().unwrap();
    let groups = json!([group("g", OLD, &["ec2:*"])]);
    let users = json!([user("u", &["g"])]);
    let used = "2026-11-15T00:00:00Z";
    let ec2 = |zap: bool| {
        let mut tracked = vec![
            json!({"ActionName": "DescribeInstances", "LastAccessedTime": used}),
            json!({"ActionName": "TerminateInstances"}),
        ];
        if zap {
            tracked.push(json!({"ActionName": "ZapShinyThing", "LastAccessedTime": used}));
        }
        json!([svc("ec2", Some(used), Some(Value::Array(tracked)))])
    };
    write_export(
        dir.path(),
        (users, groups, json!([]), json!([])),
        &[("group", "g", ec2(false)), ("user", "u", ec2(true))],
    );
    let outs = tempfile::tempdir().unwrap();
    let out = outs.path().join("out");
    bin()
        .args(["report", dir.path().to_str().unwrap(), "--out"])
        .arg(&out)
        .args(["--format", "csv"])
        .assert()
        .success();
    let folder = out.join(format!("recommendations/{ACCT}/group/g"));
    let policy = fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            n.ends_with(".json") && !n.ends_with(".original.json")
        })
        .expect("the group's tightened policy");
    let text = fs::read_to_string(&policy).unwrap();
    assert!(text.contains("ec2:ZapShinyThing"), "{text}");
    assert!(!text.contains("TerminateInstances"), "{text}");
}

/// An export of role `r`, granted `actions` by its own policy, whose report lists `services`.
fn one_role(dir: &Path, actions: &[&str], services: Value) {
    let roles = json!([role("r", actions, json!([]))]);
    write_export(
        dir,
        (json!([]), json!([]), roles, json!([])),
        &[("role", "r", services)],
    );
}

/// A folder with a [`small_export`] and the path of an `--out` beside it.
fn small_run() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join(ACCT);
    small_export(&export);
    let out = dir.path().join("out");
    (dir, export, out)
}

/// A one-role export whose report `report` accepts (for the tests of what it writes).
fn small_export(dir: &Path) {
    one_role(dir, &["sqs:DeleteQueue"], json!([svc("sqs", None, None)]));
}

/// `report` replaces `recommendations/` and `findings/` whole: a file it did not write there
/// (a reviewer's notes, a signed approval) is refused before anything is written, not deleted
/// without a word. Its own folders, and those of a version without the list, are replaced.
#[test]
fn report_refuses_to_replace_a_folder_holding_files_it_did_not_write() {
    let (dir, export, out) = small_run();
    let run = |out: &Path| {
        bin()
            .args([
                "report",
                export.to_str().unwrap(),
                "--parquet-dataset",
                "--out",
            ])
            .arg(out)
            .assert()
    };
    run(&out).success();
    let recs = out.join("recommendations");
    let listed = fs::read_to_string(recs.join(".iam-tighten-files")).unwrap();
    assert!(listed.lines().any(|l| l == "summary.json"), "{listed}");
    // Run again over its own outputs: fine.
    run(&out).success();
    let html = fs::read(out.join("report.html")).unwrap();
    for (folder, file) in [
        ("recommendations", "signed-off.pdf"),
        ("recommendations/111111111111", "notes.md"),
        ("findings", "audit-notes.txt"),
    ] {
        let path = out.join(folder).join(file);
        fs::write(&path, "mine").unwrap();
        let a = run(&out).failure().code(2);
        let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
        assert!(
            err.contains(file)
                && err.contains("did not write")
                && err.contains("nothing was written"),
            "{err}"
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), "mine");
        assert_eq!(fs::read(out.join("report.html")).unwrap(), html);
        fs::remove_file(&path).unwrap();
    }
    // A user's own folder named like an output.
    let other = dir.path().join("other");
    fs::create_dir_all(other.join("findings")).unwrap();
    fs::write(other.join("findings/q3.xlsx"), "mine").unwrap();
    run(&other).failure().code(2);
    assert!(other.join("findings/q3.xlsx").exists());
    // Without --parquet-dataset, findings/ is not written, so not checked.
    bin()
        .args(["report", export.to_str().unwrap(), "--out"])
        .arg(&other)
        .assert()
        .success();
    // A file manager's own files are not a reviewer's.
    fs::write(recs.join(".DS_Store"), "").unwrap();
    run(&out).success();
    // A folder of the user's, even empty.
    fs::create_dir_all(recs.join("my-review/q4")).unwrap();
    run(&out).failure().code(2);
    fs::remove_dir_all(recs.join("my-review")).unwrap();
    // A folder an earlier version wrote (no list, the outputs' shapes) is replaced, but not a
    // file it never wrote there.
    fs::remove_file(recs.join(".iam-tighten-files")).unwrap();
    let signoff = recs.join(format!("{ACCT}/role/r/SIGNOFF.md"));
    fs::write(&signoff, "mine").unwrap();
    run(&out).failure().code(2);
    fs::remove_file(&signoff).unwrap();
    run(&out).success();
    // A dataset holds nothing but its parts: engines read the folder whole.
    assert!(!out.join("findings/.iam-tighten-files").exists());
}

/// Outputs of an earlier run that `--format` leaves out are named as not matching this report.
#[test]
fn outputs_left_by_an_earlier_run_are_named() {
    let (_dir, export, out) = small_run();
    let run = |format: &str| {
        bin()
            .args([
                "report",
                export.to_str().unwrap(),
                "--format",
                format,
                "--out",
            ])
            .arg(&out)
            .assert()
            .success()
    };
    run("csv,html");
    let a = run("html");
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(
        err.contains("findings.csv was not written by this run")
            && !err.contains("report.html was not"),
        "{err}"
    );
    let a = run("csv,html");
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(!err.contains("was not written by this run"), "{err}");
    // A file of the user's named like an output this run does not write (`findings/`, the
    // dataset, without --parquet-dataset) is no reason to refuse, and is left alone.
    fs::write(out.join("findings"), "mine").unwrap();
    run("csv");
    assert_eq!(fs::read_to_string(out.join("findings")).unwrap(), "mine");
}

/// Hidden folders (an editor's `.vscode`, a Mac zip's `__MACOSX`) in an organisation folder are
/// not exports: skipped, not "an incomplete export".
#[test]
fn hidden_folders_of_an_organisation_folder_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    small_export(&dir.path().join(ACCT));
    for hidden in [".vscode", "__MACOSX/111111111111"] {
        let d = dir.path().join(hidden);
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("settings.json"), "{}").unwrap();
    }
    let exports = input::load_exports(&[dir.path().to_path_buf()], &LoadOptions::default())
        .expect("the hidden folders are skipped");
    assert_eq!(exports.len(), 1);
    // A hidden folder that holds an export is read, not left out without a word.
    small_export(&dir.path().join(".222222222222"));
    let e = input::load_exports(&[dir.path().to_path_buf()], &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("111111111111"), "{e}");
}

/// IAM names ignore case: two roles differing only in case are an edited export (and one
/// recommendation folder on a file system that ignores case), an error at the second.
#[test]
fn principals_differing_only_in_case_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let roles = json!([
        role("QA", &["sqs:DeleteQueue"], json!([])),
        role("qa", &["sqs:DeleteQueue"], json!([]))
    ]);
    write_export(dir.path(), (json!([]), json!([]), roles, json!([])), &[]);
    let e = input::load_export(dir.path(), &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("$.RoleDetailList[1]") && e.contains("only in case"),
        "{e}"
    );
}

/// A file the manifest does not list (added after the fetch) is read with a warning.
#[test]
fn a_file_the_manifest_does_not_list_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let acct = dir.path().join(ACCT);
    crate::common::copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/2026-q4/111111111111"),
        &acct,
    );
    let warnings = |acct: &Path| -> Vec<String> {
        let e = input::load_export(acct, &LoadOptions::default()).unwrap();
        e.warnings.iter().map(|w| w.code.clone()).collect()
    };
    assert!(!warnings(&acct).contains(&"file_not_in_manifest".to_string()));
    let reports = acct.join("last-accessed/roles");
    let first = fs::read_dir(&reports)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    fs::copy(&first, reports.join("added-later.json")).unwrap();
    crate::common::edit_json(&acct.join("authorization-details.json"), |d| {
        let roles = d["RoleDetailList"].as_array_mut().unwrap();
        let mut extra = roles[0].clone();
        extra["RoleName"] = json!("added-later");
        extra["RoleId"] = json!("AROAEXAMPLEADDEDLATER");
        extra["Arn"] = json!(format!("arn:aws:iam::{ACCT}:role/added-later"));
        roles.push(extra);
    });
    // The details changed too: the manifest's hash refuses them; list their new hash.
    let sha = crate::common::sha256_file(&acct.join("authorization-details.json"));
    crate::common::edit_json(&acct.join("manifest.json"), |m| {
        m["files"]["authorization-details.json"] = json!(sha);
    });
    assert!(warnings(&acct).contains(&"file_not_in_manifest".to_string()));
}

/// `expand --policy` prints a statement's Sid (policy text) with control characters inert.
#[test]
fn expand_prints_a_sid_inert() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.json");
    let doc = json!({"Version": "2012-10-17", "Statement": [{"Sid": "a\u{1b}]0;PWNED\u{7}b",
        "Effect": "Allow", "Action": ["s3:GetObject", "s3:Nope"], "Resource": "*"}]});
    fs::write(&policy, doc.to_string()).unwrap();
    let a = bin()
        .args(["expand", "--policy"])
        .arg(&policy)
        .assert()
        .success();
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(err.contains("s3:Nope") && err.contains("\\u{1b}"), "{err}");
    assert!(!err.contains('\u{1b}'), "{err:?}");
}

/// Only members use a group's policies: a group whose members were all created inside the
/// window has had no member for the whole window, so its "no use" is too new, not unused (it
/// was `unused`, counted in scores and `--fail-on`). With one older member it is unused.
#[test]
fn a_group_whose_members_are_all_newer_than_the_window_is_too_new() {
    let verdict_of_group = |member_created: &[&str]| {
        let dir = tempfile::tempdir().unwrap();
        let groups = json!([group("g", OLD, &["sqs:SendMessage"])]);
        let users: Vec<Value> = member_created
            .iter()
            .enumerate()
            .map(|(i, created)| {
                let mut u = user(&format!("u{i}"), &["g"]);
                u["CreateDate"] = json!(created);
                u["UserId"] = json!(format!("AIDAEXAMPLE000000000{i}"));
                u["Arn"] = json!(format!("arn:aws:iam::{ACCT}:user/u{i}"));
                u
            })
            .collect();
        let sqs = json!([svc("sqs", None, None)]);
        let mut reports = vec![("group", "g", sqs.clone())];
        let names: Vec<String> = (0..member_created.len()).map(|i| format!("u{i}")).collect();
        for n in &names {
            reports.push(("user", n.as_str(), sqs.clone()));
        }
        write_export(
            dir.path(),
            (Value::Array(users), groups, json!([]), json!([])),
            &reports,
        );
        verdict(&analyse(dir.path()), "g", "sqs:SendMessage")
    };
    let too_new = (Status::Unknown, Reason::PrincipalTooNew);
    let unused = (Status::Unused, Reason::ServiceNotAccessed);
    assert_eq!(verdict_of_group(&[NEW]), too_new);
    assert_eq!(verdict_of_group(&[NEW, NEW]), too_new);
    assert_eq!(verdict_of_group(&[NEW, OLD]), unused);
    // No member: judged on its own.
    assert_eq!(verdict_of_group(&[]), unused);
}

/// A role or user granted something only by policies (or a group) made since its window started
/// is being given access: flagged `granted_in_window`, and neither an unused role nor an unused
/// user to delete. A new deny-only policy (a quarantine before deletion) grants nothing: the
/// role stays unused.
#[test]
fn a_principal_given_access_in_its_window_is_not_unused() {
    let identities = |policies: Value, attach: Value, user_groups: &[&str], groups: Value| {
        let dir = tempfile::tempdir().unwrap();
        let mut r = role("r", &["sqs:DeleteQueue"], attach);
        r["RoleLastUsed"] = json!({"LastUsedDate": "2025-01-01T00:00:00Z", "Region": "eu-west-1"});
        let users = json!([user("u", user_groups)]);
        let none = json!([svc("sqs", None, None), svc("dynamodb", None, None)]);
        write_export(
            dir.path(),
            (users, groups, json!([r]), policies),
            &[("role", "r", none.clone()), ("user", "u", none)],
        );
        let report = "user,arn,user_creation_time,password_enabled,password_last_used,\
            password_last_changed,password_next_rotation,mfa_active,access_key_1_active,\
            access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,\
            access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,\
            access_key_2_last_used_date,access_key_2_last_used_region,\
            access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,\
            cert_2_last_rotated\n\
            u,arn:aws:iam::111111111111:user/u,2024-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,\
            true,2024-01-02T00:00:00+00:00,2025-01-01T00:00:00+00:00,eu-west-1,sqs,false,N/A,N/A,\
            N/A,N/A,false,N/A,false,N/A\n";
        fs::write(dir.path().join("credential-report.csv"), report).unwrap();
        let export = input::load_export(dir.path(), &LoadOptions::default()).unwrap();
        let settings = Settings::new(90, None).unwrap();
        let exports = [export];
        let an = analysis::analyze(&exports, Catalog::embedded(), &settings, &Config::default())
            .unwrap();
        let ids = analysis::identities::identity_findings(
            &exports,
            &an,
            &analysis::identities::IdentitySettings::new(90),
        );
        let mut kinds: Vec<String> = ids
            .findings
            .iter()
            .filter(|f| ["unused_role", "unused_user"].contains(&f.kind.as_str()))
            .map(|f| format!("{} {}", f.kind.as_str(), f.principal_name))
            .collect();
        kinds.sort();
        kinds
    };
    let nothing = identities(json!([]), json!([]), &[], json!([]));
    assert_eq!(nothing, ["unused_role r", "unused_user u"]);
    // The role attached a policy made two days ago that grants it something new; the user put
    // in a group made two days ago.
    let fresh = json!([managed("fresh", NEW, &["sqs:SendMessage"])]);
    let groups = json!([group("g", NEW, &["dynamodb:GetItem"])]);
    let given = identities(fresh, attached("fresh"), &["g"], groups);
    assert!(given.is_empty(), "{given:?}");
    // A new deny-only policy grants nothing.
    let quarantine = json!([{
        "PolicyName": "quarantine", "PolicyId": "ANPAEXAMPLE000000002",
        "Arn": format!("arn:aws:iam::{ACCT}:policy/quarantine"), "Path": "/",
        "DefaultVersionId": "v1", "AttachmentCount": 1, "PermissionsBoundaryUsageCount": 0,
        "IsAttachable": true, "CreateDate": NEW, "UpdateDate": NEW,
        "PolicyVersionList": [{"Document": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": "*", "Resource": "*"}]}, "VersionId": "v1",
            "IsDefaultVersion": true, "CreateDate": NEW}]
    }]);
    let denied = identities(quarantine, attached("quarantine"), &[], json!([]));
    assert_eq!(denied, ["unused_role r", "unused_user u"]);
}

/// A statement that applies to no resource (`NotResource: "*"`, an empty `Resource`) allows
/// nothing: what only it names is not granted, so it is never reported unused or counted.
#[test]
fn a_statement_that_applies_to_no_resource_grants_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = role("r", &["sqs:GetQueueUrl"], json!([]));
    r["RolePolicyList"].as_array_mut().unwrap().push(json!({
        "PolicyName": "nowhere",
        "PolicyDocument": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sqs:DeleteQueue", "NotResource": "*"},
            {"Effect": "Allow", "Action": "sns:Publish", "Resource": []}
        ]}
    }));
    write_export(
        dir.path(),
        (json!([]), json!([]), json!([r]), json!([])),
        &[(
            "role",
            "r",
            json!([svc("sqs", None, None), svc("sns", None, None)]),
        )],
    );
    let an = analyse(dir.path());
    let p = an.principals.iter().position(|p| p.name() == "r").unwrap();
    let id = |a: &str| Catalog::embedded().lookup_full(a).unwrap();
    assert!(an.finding_for(p, id("sqs:DeleteQueue")).is_none());
    assert!(an.finding_for(p, id("sns:Publish")).is_none());
    assert_eq!(
        verdict(&an, "r", "sqs:GetQueueUrl"),
        (Status::Unused, Reason::ServiceNotAccessed)
    );
}

/// A managed policy or group the export holds without a `CreateDate` (AWS always writes one; an
/// edited file may not) may have been made last week: what only it grants is `grant_too_new`,
/// as a principal without one is `principal_too_new` (it was read as held all along: `unused`).
#[test]
fn a_grant_of_a_policy_or_group_without_a_creation_date_is_too_new() {
    let dir = tempfile::tempdir().unwrap();
    let mut undated = managed("undated", OLD, &["sqs:SendMessage"]);
    undated.as_object_mut().unwrap().remove("CreateDate");
    let policies = json!([undated]);
    let roles = json!([role("r", &["ec2:RunInstances"], attached("undated"))]);
    let mut g = group("g", OLD, &["dynamodb:GetItem"]);
    g.as_object_mut().unwrap().remove("CreateDate");
    let none = |ns: &str| svc(ns, None, None);
    write_export(
        dir.path(),
        (json!([user("u", &["g"])]), json!([g]), roles, policies),
        &[
            ("role", "r", json!([none("sqs"), none("ec2")])),
            ("user", "u", json!([none("dynamodb")])),
        ],
    );
    let an = analyse(dir.path());
    let too_new = (Status::Unknown, Reason::GrantTooNew);
    assert_eq!(verdict(&an, "r", "sqs:SendMessage"), too_new);
    assert_eq!(verdict(&an, "u", "dynamodb:GetItem"), too_new);
    // The role's own inline policy is bounded by the role's date.
    assert_eq!(
        verdict(&an, "r", "ec2:RunInstances"),
        (Status::Unused, Reason::ServiceNotAccessed)
    );
}

/// A bidi override (U+202E) or isolate (U+2066) in a name, a tag or a Sid of the export would
/// show the tool's own text around it reversed: `Delete unused role old-reporting` + U+202E +
/// ` — removes 6 unused actions` read backwards, a tag `abc` + U+202E + `gnp.exe` read
/// `abcexe.png`. report.html, diff.html and the recommendation README show each as `[U+202E]`
/// (the README's commands write it `$'…\342\200\256'`: `render::sh`).
#[test]
fn bidi_and_format_characters_of_the_export_are_shown_not_obeyed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data");
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (dir.path().join("old"), dir.path().join("new"));
    crate::common::copy_dir(&root.join("2026-q3/111111111111"), &old.join(ACCT));
    let acct = new.join(ACCT);
    crate::common::copy_dir(&root.join("2026-q4/111111111111"), &acct);
    // The manifest's hashes would refuse the edited files.
    fs::remove_file(acct.join("manifest.json")).unwrap();
    let name = "old-reporting\u{202e}";
    crate::common::edit_json(&acct.join("authorization-details.json"), |d| {
        for r in d["RoleDetailList"].as_array_mut().unwrap() {
            if r["RoleName"] == "old-reporting" {
                r["RoleName"] = json!(name);
                r["Arn"] = json!(format!("arn:aws:iam::{ACCT}:role/{name}"));
                r["Tags"] = json!([{"Key": "file\u{2066}", "Value": "abc\u{202e}gnp.exe"}]);
            }
        }
    });
    let la = acct.join("last-accessed/roles");
    fs::rename(
        la.join("old-reporting.json"),
        la.join(format!("{name}.json")),
    )
    .unwrap();
    let out = dir.path().join("out");
    bin()
        .arg("report")
        .arg(&new)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let shown = |text: &str, what: &str| {
        assert!(
            !text.contains(['\u{202e}', '\u{2066}']),
            "{what}: a raw bidi character"
        );
        assert!(
            text.contains("old-reporting[U+202E]"),
            "{what}: the name is not shown"
        );
    };
    let page = fs::read_to_string(out.join("report.html")).unwrap();
    shown(&page, "report.html");
    assert!(page.contains("abc[U+202E]gnp.exe") && page.contains("file[U+2066]"));
    let folder = fs::read_dir(out.join(format!("recommendations/{ACCT}/role")))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("old-reporting"))
        .expect("a recommendation folder for the role");
    let readme = fs::read_to_string(folder.join("README.md")).unwrap();
    shown(&readme, "README.md");
    let diff = dir.path().join("diff");
    bin()
        .arg("diff")
        .arg(&old)
        .arg(&new)
        .arg("--out")
        .arg(&diff)
        .assert()
        .success();
    shown(
        &fs::read_to_string(diff.join("diff.html")).unwrap(),
        "diff.html",
    );
}

/// A customer managed policy with `versions` (id, `CreateDate`, actions), the first the default.
fn versioned(name: &str, versions: &[(&str, &str, &[&str])]) -> Value {
    let list: Vec<Value> = versions
        .iter()
        .enumerate()
        .map(|(i, (id, created, actions))| {
            json!({"Document": doc(actions), "VersionId": id, "IsDefaultVersion": i == 0,
                "CreateDate": created})
        })
        .collect();
    let newest = versions.iter().map(|v| v.1).max().unwrap();
    json!({
        "PolicyName": name, "PolicyId": "ANPAEXAMPLE000000002",
        "Arn": format!("arn:aws:iam::{ACCT}:policy/{name}"), "Path": "/",
        "DefaultVersionId": versions[0].0, "AttachmentCount": 1,
        "PermissionsBoundaryUsageCount": 0, "IsAttachable": true, "CreateDate": OLD,
        "UpdateDate": newest, "PolicyVersionList": list
    })
}

/// An action a policy gained in a version made inside the window has been held for less than
/// the window, like a policy made then: `grant_too_new`, not unused (the review pass 45 left it
/// a caution, and every action of an old policy was judged over the whole window). The policy's
/// other versions date it: one without the action that was in force until a version with it.
/// Where the export lacks an earlier version (deleted), the decision keeps the caution.
#[test]
fn an_action_a_recent_policy_version_added_is_too_new() {
    let all = [
        "sqs:SendMessage",
        "sqs:DeleteQueue",
        "sqs:PurgeQueue",
        "sns:Publish",
    ];
    let complete = versioned(
        "evolving",
        &[
            ("v3", NEW, &all),
            ("v1", OLD, &["sqs:SendMessage"]),
            ("v2", MID, &["sqs:SendMessage", "sqs:DeleteQueue"]),
        ],
    );
    // A permissions boundary whose v2, made two days ago, lets sqs:PurgeQueue through.
    let fence = versioned(
        "fence",
        &[
            ("v2", NEW, &["sqs:SendMessage", "sqs:PurgeQueue"]),
            ("v1", OLD, &["sqs:SendMessage"]),
        ],
    );
    let run = |policy: Value| {
        let tmp = tempfile::tempdir().unwrap();
        let dir = &tmp.path().join("export");
        let mut fenced = role("r4", &["sqs:SendMessage", "sqs:PurgeQueue"], json!([]));
        fenced["PermissionsBoundary"] = json!({"PermissionsBoundaryType": "Policy",
            "PermissionsBoundaryArn": format!("arn:aws:iam::{ACCT}:policy/fence")});
        let roles = json!([
            role("r", &["ec2:RunInstances"], attached("evolving")),
            // Its own inline policy has granted sns:Publish since the role was made.
            role("r2", &["sns:Publish"], attached("evolving")),
            // Not used at all, but given actions two days ago: not a role to delete.
            role("r3", &["ec2:RunInstances"], attached("evolving")),
            fenced,
        ]);
        let none = |ns: &str| svc(ns, None, None);
        // Used, so that each role is tightened rather than deleted.
        let ec2 = svc("ec2", Some("2026-11-10T00:00:00Z"), None);
        let services = json!([none("sqs"), none("sns"), ec2]);
        let unused = json!([none("sqs"), none("sns"), none("ec2")]);
        write_export(
            dir,
            (json!([]), json!([]), roles, json!([policy, fence])),
            &[
                ("role", "r", services.clone()),
                ("role", "r2", services.clone()),
                ("role", "r3", unused),
                ("role", "r4", services),
            ],
        );
        let an = analyse(dir);
        let out = tmp.path().join("out");
        bin()
            .args(["report", dir.to_str().unwrap(), "--out"])
            .arg(&out)
            .args(["--format", "csv"])
            .assert()
            .success();
        let decisions = fs::read_to_string(out.join("decisions.csv")).unwrap();
        (an, decisions)
    };
    let too_new = (Status::Unknown, Reason::GrantTooNew);
    let unused = (Status::Unused, Reason::ServiceNotAccessed);
    let (an, decisions) = run(complete.clone());
    // Every version grants it: held all along.
    assert_eq!(verdict(&an, "r", "sqs:SendMessage"), unused);
    // v1 lacks it, and v2 (which added it) may have been staged, never the default, until v3
    // (two days ago) became it: held since then at the earliest.
    assert_eq!(verdict(&an, "r", "sqs:DeleteQueue"), too_new);
    // Only v3, made two days ago, grants these.
    assert_eq!(verdict(&an, "r", "sqs:PurgeQueue"), too_new);
    assert_eq!(verdict(&an, "r", "sns:Publish"), too_new);
    // A grant by the role's own inline policy is as old as the role.
    assert_eq!(verdict(&an, "r2", "sns:Publish"), unused);
    assert_eq!(verdict(&an, "r2", "sqs:PurgeQueue"), too_new);
    // Every version is listed: nothing is left for the reader to check.
    assert!(!decisions.contains("Caution: "), "{decisions}");
    // Given actions in the window: neither an unused role nor a role to delete.
    let r3 = an.principals.iter().find(|p| p.name() == "r3").unwrap();
    assert!(r3.flags.contains(&"granted_in_window"), "{:?}", r3.flags);
    assert!(!decisions.contains("Delete unused role r3"), "{decisions}");
    // The boundary's v2 let it through two days ago; v1 already let this one through.
    assert_eq!(verdict(&an, "r4", "sqs:PurgeQueue"), too_new);
    assert_eq!(verdict(&an, "r4", "sqs:SendMessage"), unused);

    // A default version older than the 400 days any window can reach back: what it added
    // decides nothing, and its actions are not split into rows by it.
    let (an, _) = run(versioned(
        "evolving",
        &[
            ("v2", MID, &["sqs:SendMessage", "sqs:DeleteQueue"]),
            ("v1", OLD, &["sqs:SendMessage"]),
        ],
    ));
    let finding = |name: &str, action: &str| {
        let p = an.principals.iter().position(|p| p.name() == name).unwrap();
        let id = Catalog::embedded().lookup_full(action).unwrap();
        an.finding_for(p, id).unwrap().list
    };
    assert_eq!(verdict(&an, "r", "sqs:DeleteQueue"), unused);
    assert_eq!(
        finding("r", "sqs:SendMessage"),
        finding("r", "sqs:DeleteQueue")
    );

    // A newer version than any listed was made (`UpdateDate`) and deleted since: the caution.
    let mut deleted = complete.clone();
    deleted["UpdateDate"] = json!("2026-11-19T00:00:00Z");
    let (_, decisions) = run(deleted);
    assert!(
        decisions.contains("Caution: evolving: its newest version dates from 2026-11-19"),
        "{decisions}"
    );

    // v1 deleted: v2 still dates what v3 added, but v1 may have lacked what v2 grants.
    let mut gap = complete;
    gap["PolicyVersionList"].as_array_mut().unwrap().remove(1);
    let (an, decisions) = run(gap);
    assert_eq!(verdict(&an, "r", "sqs:DeleteQueue"), unused);
    assert_eq!(verdict(&an, "r", "sqs:PurgeQueue"), too_new);
    let caution = "Caution: evolving: its newest version dates from 2026-11-18, within the \
                   window, and the export lacks some of its earlier versions";
    assert!(decisions.contains(caution), "{decisions}");

    // The default set back to v1 after v2 was made two days ago: what v2 lacks may have been
    // taken away then and given back since.
    let (an, _) = run(versioned(
        "evolving",
        &[
            ("v1", OLD, &["sqs:SendMessage", "sqs:PurgeQueue"]),
            ("v2", NEW, &["sqs:SendMessage"]),
        ],
    ));
    assert_eq!(verdict(&an, "r", "sqs:SendMessage"), unused);
    assert_eq!(verdict(&an, "r", "sqs:PurgeQueue"), too_new);
    // v2 took it away until v3 gave it back, and the default was set back to v1 since, at a
    // time not recorded: v3 inside the window (v2's own date was read, review pass 46), or
    // all before it (the set-back may still be recent).
    for (v2, v3) in [
        ("2026-07-01T00:00:00Z", "2026-10-20T00:00:00Z"),
        ("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"),
    ] {
        let both = ["sqs:SendMessage", "sqs:PurgeQueue"];
        let (an, _) = run(versioned(
            "evolving",
            &[
                ("v1", OLD, &both),
                ("v2", v2, &["sqs:SendMessage"]),
                ("v3", v3, &both),
            ],
        ));
        assert_eq!(verdict(&an, "r", "sqs:SendMessage"), unused);
        assert_eq!(verdict(&an, "r", "sqs:PurgeQueue"), too_new);
    }
}

/// A version other than the default is read now (it dates what the default added): a document
/// that cannot be read is an error naming the file and the JSON path, as the default's is; so is
/// a version listed twice (which document it holds cannot be told).
#[test]
fn an_unreadable_earlier_version_names_its_path() {
    // The error of loading an export whose one policy is `policy`.
    let error_of = |policy: Value| {
        let dir = tempfile::tempdir().unwrap();
        let roles = json!([role("r", &["ec2:RunInstances"], attached("evolving"))]);
        let lists = (json!([]), json!([]), roles, json!([policy]));
        write_export(dir.path(), lists, &[]);
        let err = input::load_export(dir.path(), &LoadOptions::default()).err();
        err.unwrap().to_string()
    };
    let mut policy = versioned(
        "evolving",
        &[
            ("v2", NEW, &["sqs:SendMessage"]),
            ("v1", OLD, &["sqs:SendMessage"]),
        ],
    );
    policy["PolicyVersionList"][1]["Document"] = json!("%7B%22Statement%22%3A%5B%7B");
    let err = error_of(policy);
    assert!(err.contains("authorization-details.json"), "{err}");
    assert!(
        err.contains("$.Policies[0].PolicyVersionList[1].Document"),
        "{err}"
    );
    let err = error_of(versioned(
        "evolving",
        &[
            ("v2", NEW, &["sqs:SendMessage"]),
            ("v1", OLD, &["sqs:SendMessage"]),
            ("v1", MID, &["sqs:PurgeQueue"]),
        ],
    ));
    assert!(
        err.contains("$.Policies[0].PolicyVersionList[2].VersionId")
            && err.contains("listed twice"),
        "{err}"
    );
}

/// End to end, a `NotAction` that excludes part of a used service the catalog does not know
/// (`newsvc:Delete*`, with `newsvc` in use) keeps its form: its tightened policy never lists
/// `newsvc:*` (which grants what it excluded), excludes a wholly unused service whole, verifies,
/// and summary.json marks it for a human (review pass 47).
#[test]
fn a_not_action_excluding_part_of_a_used_unknown_service_keeps_its_form() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = role("r", &[], json!([]));
    r["RolePolicyList"][0]["PolicyDocument"] = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "N", "Effect": "Allow", "NotAction": ["iam:*", "newsvc:Delete*"], "Resource": "*"}
    ]});
    let used = "2026-11-19T08:00:00Z";
    let s3 = svc(
        "s3",
        Some(used),
        Some(json!([
            {"ActionName": "ListAllMyBuckets", "LastAccessedTime": used},
            {"ActionName": "GetBucketPolicy"}
        ])),
    );
    let services = json!([s3, svc("newsvc", Some(used), None), svc("sqs", None, None)]);
    write_export(
        dir.path(),
        (json!([]), json!([]), json!([r]), json!([])),
        &[("role", "r", services)],
    );
    let outs = tempfile::tempdir().unwrap();
    let out = outs.path().join("out");
    bin()
        .args(["report", dir.path().to_str().unwrap(), "--out"])
        .arg(&out)
        .args(["--format", "csv"])
        .assert()
        .success();
    let summary: Value =
        serde_json::from_slice(&fs::read(out.join("recommendations/summary.json")).unwrap())
            .unwrap();
    let p = &summary["principals"][0];
    assert!(p["skipped"].is_null(), "{p}");
    let policy = &p["policies"][0];
    assert_eq!(policy["not_action_rewritten"], json!(true), "{p}");
    let file = out
        .join(format!("recommendations/{ACCT}/role/r"))
        .join(policy["file"].as_str().unwrap());
    let doc: Value = serde_json::from_slice(&fs::read(file).unwrap()).unwrap();
    let excluded: Vec<&str> = doc["Statement"][0]["NotAction"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(doc["Statement"][0].get("Action").is_none(), "{doc}");
    assert!(
        excluded.starts_with(&["iam:*", "newsvc:Delete*"])
            && excluded.contains(&"s3:GetBucketPolicy")
            && excluded.contains(&"sqs:*")
            && !excluded
                .iter()
                .any(|a| a.starts_with("newsvc:") && *a != "newsvc:Delete*"),
        "{excluded:?}"
    );
}

/// Without a manifest, the authorization details' `RoleLastUsed` reaches at least as far as
/// the newest date they show and the oldest last-accessed report (their fetch time is not
/// recorded): a role without a report of its own, used the day before, was `unused_role` and
/// `delete_role` because one other report was fetched again months later (review pass 47).
#[test]
fn a_role_known_only_by_role_last_used_is_judged_where_the_details_end() {
    let dir = tempfile::tempdir().unwrap();
    let mut nofile = role("nofile", &["s3:GetObject"], json!([]));
    nofile["RoleLastUsed"] = json!({"LastUsedDate": "2026-11-19T08:00:00Z",
        "Region": "eu-west-1"});
    let mut idle = role("idle", &["s3:GetObject"], json!([]));
    idle["RoleLastUsed"] = json!({"LastUsedDate": "2026-03-01T08:00:00Z",
        "Region": "eu-west-1"});
    let roles = json!([
        nofile,
        idle,
        role("oldjob", &["s3:GetObject"], json!([])),
        role("refreshed", &["s3:GetObject"], json!([]))
    ]);
    let s3 = || json!([svc("s3", None, None)]);
    write_export(
        dir.path(),
        (json!([]), json!([]), roles, json!([])),
        &[("role", "oldjob", s3()), ("role", "refreshed", s3())],
    );
    // Only `refreshed` was fetched again, three months on.
    crate::common::edit_json(
        &dir.path().join("last-accessed/roles/refreshed.json"),
        |d| {
            d["JobCreationDate"] = json!("2027-03-01T08:59:00Z");
            d["JobCompletionDate"] = json!("2027-03-01T09:00:00Z");
        },
    );
    let an = analyse(dir.path());
    let flags = |name: &str| -> Vec<&str> {
        let p = an.principals.iter().find(|p| p.name() == name).unwrap();
        p.flags.to_vec()
    };
    assert!(
        !flags("nofile").contains(&"unused_role"),
        "{:?}",
        flags("nofile")
    );
    // Unused before the details end too: still unused.
    assert!(
        flags("idle").contains(&"unused_role"),
        "{:?}",
        flags("idle")
    );
}
