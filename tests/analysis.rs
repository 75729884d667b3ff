//! Verdict rules, each on a tiny export written by the test, plus ranking, exclusions and the
//! `--fail-on` / CSV-injection behaviour end to end.

use std::fs;
use std::path::Path;

use iam_tighten::analysis::{self, Config, Reason, Sensitivity, Settings, Status};
use iam_tighten::catalog::Catalog;
use iam_tighten::input::{self, LoadOptions};
use serde_json::{Value, json};

const ACCT: &str = "123456789012";
const AS_OF: &str = "2026-11-20T10:00:00Z";

/// One role with one inline policy; `created` and last-accessed services are up to the test.
fn write_export(dir: &Path, role: &str, created: &str, actions: &[&str], services: Option<Value>) {
    let gaad = json!({
        "UserDetailList": [],
        "GroupDetailList": [],
        "RoleDetailList": [{
            "Path": "/",
            "RoleName": role,
            "RoleId": "AROAEXAMPLE0000000001",
            "Arn": format!("arn:aws:iam::{ACCT}:role/{role}"),
            "CreateDate": created,
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []},
            "InstanceProfileList": [],
            "RolePolicyList": [{
                "PolicyName": "inline-1",
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Sid": "A", "Effect": "Allow", "Action": actions, "Resource": "*"}
                ]}
            }],
            "AttachedManagedPolicies": [],
            "Tags": [],
            "RoleLastUsed": {}
        }],
        "Policies": []
    });
    fs::create_dir_all(dir).unwrap();
    fs::write(
        dir.join("authorization-details.json"),
        serde_json::to_vec_pretty(&gaad).unwrap(),
    )
    .unwrap();
    if let Some(services) = services {
        let la = json!({
            "JobStatus": "COMPLETED",
            "JobType": "ACTION_LEVEL",
            "JobCreationDate": "2026-11-20T09:59:00Z",
            "ServicesLastAccessed": services,
            "JobCompletionDate": AS_OF,
            "IsTruncated": false
        });
        let d = dir.join("last-accessed/roles");
        fs::create_dir_all(&d).unwrap();
        fs::write(
            d.join(format!("{role}.json")),
            serde_json::to_vec_pretty(&la).unwrap(),
        )
        .unwrap();
    }
}

/// A one-role export (`r`, created long before the window) granted `sqs:DeleteQueue`, whose
/// last-accessed report shows sqs never used: one unused finding, as of `AS_OF`.
fn unused_sqs_export(dir: &Path) {
    write_export(
        dir,
        "r",
        OLD,
        &["sqs:DeleteQueue"],
        Some(json!([svc("sqs", None, None)])),
    );
}

/// [`unused_sqs_export`] with a second role, `stale`, the same but for its last-accessed job,
/// which ended on 2026-11-10: ten days before the export's as-of time (a resumed fetch).
fn with_a_stale_role(dir: &Path) {
    unused_sqs_export(dir);
    crate::common::edit_json(&dir.join("authorization-details.json"), |d| {
        let roles = d["RoleDetailList"].as_array_mut().unwrap();
        let mut stale = roles[0].clone();
        stale["RoleName"] = json!("stale");
        stale["RoleId"] = json!("AROAEXAMPLE0000000002");
        stale["Arn"] = json!(format!("arn:aws:iam::{ACCT}:role/stale"));
        roles.push(stale);
    });
    let reports = dir.join("last-accessed/roles");
    fs::copy(reports.join("r.json"), reports.join("stale.json")).unwrap();
    crate::common::edit_json(&reports.join("stale.json"), |doc| {
        doc["JobCreationDate"] = json!("2026-11-10T00:00:00Z");
        doc["JobCompletionDate"] = json!("2026-11-10T00:01:00Z");
    });
}

/// What a finished run wrote to stderr.
fn stderr_of(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

/// A service entry of a last-accessed report (`tests/adversarial.rs` uses it too).
pub(crate) fn svc(ns: &str, last: Option<&str>, tracked: Option<Value>) -> Value {
    let mut v = json!({"ServiceName": ns, "ServiceNamespace": ns, "TotalAuthenticatedEntities": 0});
    if let Some(t) = last {
        v["LastAuthenticated"] = json!(t);
        v["TotalAuthenticatedEntities"] = json!(1);
        v["LastAuthenticatedRegion"] = json!("eu-west-1");
    }
    if let Some(t) = tracked {
        v["TrackedActionsLastAccessed"] = t;
    }
    v
}

/// Verdict of one action in a one-role export.
fn verdict(
    created: &str,
    actions: &[&str],
    services: Option<Value>,
    action: &str,
) -> (Status, Reason) {
    let tmp = tempfile::tempdir().unwrap();
    write_export(tmp.path(), "r", created, actions, services);
    let export = input::load_export(tmp.path(), &LoadOptions::default()).unwrap();
    let cat = Catalog::embedded();
    let settings = Settings {
        unused_after_days: 90,
        as_of: None,
    };
    let an = analysis::analyze(&[export], cat, &settings, &Config::default()).unwrap();
    let id = cat
        .lookup_full(action)
        .unwrap_or_else(|| panic!("{action} not in catalog"));
    let f = an
        .finding_for(0, id)
        .unwrap_or_else(|| panic!("{action} not granted"));
    (f.status(), f.reason)
}

const OLD: &str = "2024-01-01T00:00:00Z";

#[test]
fn accessed_in_window_is_used() {
    let s = json!([svc(
        "ec2",
        Some("2026-11-18T00:00:00Z"),
        Some(json!([
            {"ActionName": "DescribeInstances", "LastAccessedTime": "2026-11-18T00:00:00Z", "LastAccessedRegion": "eu-west-1"}
        ]))
    )]);
    assert_eq!(
        verdict(
            OLD,
            &["ec2:DescribeInstances"],
            Some(s),
            "ec2:DescribeInstances"
        ),
        (Status::Used, Reason::AccessedInWindow)
    );
}

#[test]
fn tracked_without_time_is_action_not_accessed() {
    let s = json!([svc(
        "ec2",
        Some("2026-11-18T00:00:00Z"),
        Some(json!([
            {"ActionName": "DescribeInstances", "LastAccessedTime": "2026-11-18T00:00:00Z"},
            {"ActionName": "CreateFleet"}
        ]))
    )]);
    assert_eq!(
        verdict(
            OLD,
            &["ec2:DescribeInstances", "ec2:CreateFleet"],
            Some(s),
            "ec2:CreateFleet"
        ),
        (Status::Unused, Reason::ActionNotAccessed)
    );
}

#[test]
fn tracked_before_window_is_unused_with_date() {
    let s = json!([svc(
        "ec2",
        Some("2026-11-18T00:00:00Z"),
        Some(json!([
            {"ActionName": "DescribeInstances", "LastAccessedTime": "2026-11-18T00:00:00Z"},
            {"ActionName": "ec2:RunInstances", "LastAccessedTime": "2026-05-01T00:00:00Z"}
        ]))
    )]);
    assert_eq!(
        verdict(
            OLD,
            &["ec2:DescribeInstances", "ec2:RunInstances"],
            Some(s),
            "ec2:RunInstances"
        ),
        (Status::Unused, Reason::ActionLastAccessedBeforeWindow)
    );
}

#[test]
fn service_without_access_is_service_not_accessed() {
    let s = json!([svc("sqs", None, None)]);
    assert_eq!(
        verdict(OLD, &["sqs:SendMessage"], Some(s), "sqs:SendMessage"),
        (Status::Unused, Reason::ServiceNotAccessed)
    );
    // A service last used before the window counts the same.
    let s = json!([svc("sqs", Some("2025-01-01T00:00:00Z"), None)]);
    assert_eq!(
        verdict(OLD, &["sqs:SendMessage"], Some(s), "sqs:SendMessage"),
        (Status::Unused, Reason::ServiceNotAccessed)
    );
}

#[test]
fn used_service_without_action_data_is_unknown() {
    let s = json!([svc("sqs", Some("2026-11-19T00:00:00Z"), None)]);
    assert_eq!(
        verdict(OLD, &["sqs:SendMessage"], Some(s), "sqs:SendMessage"),
        (Status::Unknown, Reason::ActionNotTracked)
    );
    // An empty tracked list is the same as an absent one.
    let s = json!([svc("sqs", Some("2026-11-19T00:00:00Z"), Some(json!([])))]);
    assert_eq!(
        verdict(OLD, &["sqs:SendMessage"], Some(s), "sqs:SendMessage"),
        (Status::Unknown, Reason::ActionNotTracked)
    );
}

#[test]
fn pass_role_and_s3_objects_are_not_observable_even_when_service_unused() {
    let s = json!([svc("iam", None, None), svc("s3", None, None)]);
    let acts = ["iam:PassRole", "s3:GetObject", "s3:CreateBucket"];
    assert_eq!(
        verdict(OLD, &acts, Some(s.clone()), "iam:PassRole"),
        (Status::Unknown, Reason::NotObservable)
    );
    assert_eq!(
        verdict(OLD, &acts, Some(s.clone()), "s3:GetObject"),
        (Status::Unknown, Reason::NotObservable)
    );
    assert_eq!(
        verdict(OLD, &acts, Some(s), "s3:CreateBucket"),
        (Status::Unused, Reason::ServiceNotAccessed)
    );
}

#[test]
fn service_missing_from_report_is_not_observable() {
    let s = json!([svc("ec2", None, None)]);
    assert_eq!(
        verdict(
            OLD,
            &["ec2:DescribeVpcs", "sqs:SendMessage"],
            Some(s),
            "sqs:SendMessage"
        ),
        (Status::Unknown, Reason::NotObservable)
    );
}

#[test]
fn young_principal_is_too_new_not_unused() {
    let s = json!([svc("sqs", None, None)]);
    assert_eq!(
        verdict(
            "2026-11-14T00:00:00Z",
            &["sqs:SendMessage"],
            Some(s),
            "sqs:SendMessage"
        ),
        (Status::Unknown, Reason::PrincipalTooNew)
    );
    // …but what it did use is still used.
    let s = json!([svc(
        "ec2",
        Some("2026-11-18T00:00:00Z"),
        Some(json!([
            {"ActionName": "DescribeInstances", "LastAccessedTime": "2026-11-18T00:00:00Z"}
        ]))
    )]);
    assert_eq!(
        verdict(
            "2026-11-14T00:00:00Z",
            &["ec2:DescribeInstances"],
            Some(s),
            "ec2:DescribeInstances"
        ),
        (Status::Used, Reason::AccessedInWindow)
    );
}

#[test]
fn missing_file_is_no_last_accessed_data() {
    assert_eq!(
        verdict(OLD, &["sqs:SendMessage"], None, "sqs:SendMessage"),
        (Status::Unknown, Reason::NoLastAccessedData)
    );
}

#[test]
fn window_boundaries_and_as_of_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let s = json!([svc(
        "ec2",
        Some("2026-11-18T00:00:00Z"),
        Some(json!([
            {"ActionName": "RunInstances", "LastAccessedTime": "2026-09-01T00:00:00Z"}
        ]))
    )]);
    write_export(tmp.path(), "r", OLD, &["ec2:RunInstances"], Some(s));
    let export = input::load_export(tmp.path(), &LoadOptions::default()).unwrap();
    let cat = Catalog::embedded();
    let run = |days: u32, as_of: Option<&str>| {
        let settings = Settings {
            unused_after_days: days,
            as_of: as_of.and_then(input::parse_timestamp),
        };
        let an = analysis::analyze(
            std::slice::from_ref(&export),
            cat,
            &settings,
            &Config::default(),
        )
        .unwrap();
        (an.findings[0].reason, an.days_since_access(&an.findings[0]))
    };
    // 80 days before the export's as-of: inside a 90-day window, outside a 30-day one.
    assert_eq!(run(90, None), (Reason::AccessedInWindow, Some(80)));
    assert_eq!(
        run(30, None),
        (Reason::ActionLastAccessedBeforeWindow, Some(80))
    );
    // --as-of moves the reference time, within the data: the window may end at the job's
    // completion exactly.
    assert_eq!(run(90, Some(AS_OF)), (Reason::AccessedInWindow, Some(80)));
    assert_eq!(
        run(10, Some("2026-10-01T00:00:00Z")),
        (Reason::ActionLastAccessedBeforeWindow, Some(30))
    );
    // An --as-of before the last access: whether it was used inside that earlier window cannot
    // be known (last-accessed data keeps only the latest use); never a negative age.
    assert_eq!(
        run(90, Some("2026-08-01T00:00:00Z")),
        (Reason::AccessedAfterAsOf, None)
    );
    // An --as-of after the data is refused: the window would cover time nothing was recorded
    // for, and the use on 2026-09-01 would look like no use (it did before this check).
    let settings = Settings {
        unused_after_days: 90,
        as_of: input::parse_timestamp("2027-06-01T00:00:00Z"),
    };
    let err = analysis::analyze(
        std::slice::from_ref(&export),
        cat,
        &settings,
        &Config::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains(&format!("account {ACCT}")) && err.contains(&AS_OF[..10]),
        "{err}"
    );
    // Windows AWS data cannot evidence are refused.
    let settings = Settings {
        unused_after_days: 401,
        as_of: None,
    };
    assert!(
        analysis::analyze(
            std::slice::from_ref(&export),
            cat,
            &settings,
            &Config::default()
        )
        .is_err()
    );
}

#[test]
fn pass_role_with_a_consumer_is_critical_privilege_escalation() {
    let tmp = tempfile::tempdir().unwrap();
    let s = json!([svc("iam", None, None), svc("lambda", None, None)]);
    write_export(
        tmp.path(),
        "r",
        OLD,
        &[
            "iam:PassRole",
            "lambda:CreateFunction",
            "lambda:ListFunctions",
        ],
        Some(s),
    );
    let export = input::load_export(tmp.path(), &LoadOptions::default()).unwrap();
    let cat = Catalog::embedded();
    let settings = Settings {
        unused_after_days: 90,
        as_of: None,
    };
    let an = analysis::analyze(&[export], cat, &settings, &Config::default()).unwrap();
    // Per action: the finding (group) that holds it and the action's own sensitivity.
    let get = |name: &str| {
        let id = cat.lookup_full(name).unwrap();
        let f = an.finding_for(0, id).unwrap();
        let a = *an.actions(f).iter().find(|a| a.id() == id).unwrap();
        (f, a.sensitivity())
    };
    assert_eq!(get("iam:PassRole").1, Sensitivity::Critical);
    assert_eq!(get("lambda:CreateFunction").1, Sensitivity::Critical);
    assert_eq!(get("lambda:ListFunctions").1, Sensitivity::Low);
    // Both lambda actions share one verdict: one finding, ranked by its highest sensitivity,
    // counting each level.
    let (lambda, _) = get("lambda:ListFunctions");
    assert_eq!(an.count(lambda), 2);
    assert_eq!(an.sensitivity(lambda), Sensitivity::Critical);
    let c = an.sensitivity_counts(lambda);
    assert_eq!((c.critical, c.low), (1, 1));
    // iam:PassRole is never observable: unknown, not unused.
    assert_eq!(get("iam:PassRole").0.reason, Reason::NotObservable);
    assert_eq!(an.unused_by_sensitivity.critical, 1);
    assert_eq!((an.totals.granted, an.totals.unknown), (3, 1));
    // Ranked: critical unused first; the rows' ranks are 1..n in order.
    assert_eq!(
        an.action(&an.findings[0]),
        an.action(get("lambda:CreateFunction").0)
    );
    let rank = analysis::schema::columns(&an)
        .into_iter()
        .find(|c| c.name == "rank")
        .unwrap();
    let mut ranks = Vec::new();
    let texts = an.granted_by_texts();
    analysis::schema::for_each_row(&an, an.findings.iter().enumerate(), &texts, |row| {
        ranks.push((rank.get)(row));
        Ok::<(), ()>(())
    })
    .unwrap();
    let want: Vec<_> = (1..=an.findings.len() as u32)
        .map(analysis::schema::Value::U32)
        .collect();
    assert_eq!(ranks, want);
    // Without the consumer, PassRole alone is high, not critical.
    let tmp = tempfile::tempdir().unwrap();
    write_export(
        tmp.path(),
        "r",
        OLD,
        &["iam:PassRole"],
        Some(json!([svc("iam", None, None)])),
    );
    let export = input::load_export(tmp.path(), &LoadOptions::default()).unwrap();
    let an = analysis::analyze(&[export], cat, &settings, &Config::default()).unwrap();
    assert_eq!(an.sensitivity(&an.findings[0]), Sensitivity::High);
}

#[test]
fn exclusions_mark_findings_and_expired_ones_warn() {
    let tmp = tempfile::tempdir().unwrap();
    write_export(
        tmp.path(),
        "BreakGlass",
        OLD,
        &["sqs:SendMessage", "sqs:DeleteQueue"],
        Some(json!([svc("sqs", None, None)])),
    );
    let export = input::load_export(tmp.path(), &LoadOptions::default()).unwrap();
    let cfg_path = tmp.path().join("c.toml");
    let config = Config::parse(
        &cfg_path,
        "[[exclude]]\nprincipal = \"break*\"\naction = \"sqs:Send*\"\nreason = \"reviewed\"\n\n[[exclude]]\nprincipal = \"*\"\nreason = \"old\"\nexpires = 2026-01-01\n",
    )
    .unwrap();
    let settings = Settings {
        unused_after_days: 90,
        as_of: None,
    };
    let cat = Catalog::embedded();
    let an = analysis::analyze(&[export], cat, &settings, &config).unwrap();
    let send = an
        .findings
        .iter()
        .find(|f| cat.full_name(an.action(f)) == "sqs:SendMessage")
        .unwrap();
    let delete = an
        .findings
        .iter()
        .find(|f| cat.full_name(an.action(f)) == "sqs:DeleteQueue")
        .unwrap();
    assert_eq!(send.exclusion.map(|id| id.0.get()), Some(1));
    assert_eq!(
        send.status(),
        Status::Unused,
        "excluded findings keep their verdict"
    );
    assert_eq!(delete.exclusion, None, "the expired rule is not applied");
    assert_eq!(
        (an.count(send), an.count(delete)),
        (1, 1),
        "the rule splits the group"
    );
    assert_eq!(an.totals.excluded, 1);
    assert_eq!(an.totals.unused, 1);
    assert!(
        an.warnings
            .iter()
            .any(|w| w.warning.code == "exclusion_expired")
    );
    // Excluded findings rank after actionable ones.
    let at = |f: &analysis::Finding| an.findings.iter().position(|g| std::ptr::eq(g, f));
    assert!(at(delete) < at(send));
}

/// An exclusion that expired between two exports' as-of dates is applied to the older one's
/// principals and not to the newer one's: each export by its own date, as if reported alone.
/// The first export to pass the date switched the rule off for every export of the run.
#[test]
fn an_exclusion_expires_per_export_by_its_own_as_of_date() {
    let tmp = tempfile::tempdir().unwrap();
    let (new, old) = (tmp.path().join("new"), tmp.path().join("old"));
    unused_sqs_export(&new);
    unused_sqs_export(&old);
    let details = old.join("authorization-details.json");
    let text = fs::read_to_string(&details).unwrap();
    fs::write(&details, text.replace(ACCT, "210987654321")).unwrap();
    crate::common::edit_json(&old.join("last-accessed/roles/r.json"), |doc| {
        doc["JobCreationDate"] = json!("2026-08-01T00:00:00Z");
        doc["JobCompletionDate"] = json!("2026-08-01T00:01:00Z");
    });
    let toml = "[[exclude]]\nprincipal = \"r\"\nreason = \"migration\"\nexpires = 2026-09-30\n";
    let config_path = tmp.path().join("c.toml");
    fs::write(&config_path, toml).unwrap();
    let config = Config::parse(&config_path, toml).unwrap();
    // The page says where the rule still applied.
    let out = tmp.path().join("out");
    bin()
        .args(["report", "--format", "html", "--config"])
        .arg(&config_path)
        .arg("--out")
        .arg(&out)
        .args([&new, &old])
        .assert()
        .success();
    let page = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(page.contains("expired for some exports — applied only where the data is older"));
    let exports = input::load_exports(&[new, old], &LoadOptions::default()).unwrap();
    let settings = Settings {
        unused_after_days: 90,
        as_of: None,
    };
    let an = analysis::analyze(&exports, Catalog::embedded(), &settings, &config).unwrap();
    let mut excluded: Vec<(&str, bool)> = an
        .findings
        .iter()
        .map(|f| (&*an.principal(f).account_id, f.exclusion.is_some()))
        .collect();
    excluded.sort();
    assert_eq!(excluded, [(ACCT, false), ("210987654321", true)]);
    let w = an
        .warnings
        .iter()
        .find(|w| w.warning.code == "exclusion_expired")
        .expect("a warning");
    assert_eq!(w.account_id, ACCT);
    assert!(
        w.warning.message.contains("of account"),
        "{}",
        w.warning.message
    );
}

/// A rule's expiry is compared with the export's as-of date, also for a principal whose own
/// last-accessed job ended earlier (a resumed fetch): its window ends there, but the rule that
/// expired before the export's date was still applied to it.
#[test]
fn an_exclusion_expires_by_the_exports_date_not_a_principals_window_end() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("e");
    with_a_stale_role(&dir);
    let toml =
        "[[exclude]]\nprincipal = \"*\"\nreason = \"until mid November\"\nexpires = 2026-11-15\n";
    let config = Config::parse(&tmp.path().join("c.toml"), toml).unwrap();
    let export = input::load_export(&dir, &LoadOptions::default()).unwrap();
    let settings = Settings {
        unused_after_days: 90,
        as_of: None,
    };
    let an = analysis::analyze(&[export], Catalog::embedded(), &settings, &config).unwrap();
    let excluded: Vec<(&str, bool)> = an
        .findings
        .iter()
        .map(|f| (an.principal(f).name(), f.exclusion.is_some()))
        .collect();
    assert_eq!(excluded.len(), 2);
    assert!(excluded.iter().all(|(_, e)| !e), "{excluded:?}");
}

/// A role whose last-accessed report is older than the export's as-of time (ten days: a resumed
/// fetch, or a file from another export) and whose `RoleLastUsed` is more than a day after it was
/// used since its data ends: what it used then is not in the data, so "no use" is `unknown`
/// (`used_after_data`), not `unused` (review pass 45: a decision removed what it may use now).
/// `RoleLastUsed` no later than a day after its report: not used since, still `unused`.
#[test]
fn a_role_used_after_its_stale_report_is_not_called_unused() {
    let verdicts = |last_used: &str| -> Vec<(String, Status, Reason)> {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("e");
        with_a_stale_role(&dir);
        crate::common::edit_json(&dir.join("authorization-details.json"), |d| {
            d["RoleDetailList"][1]["RoleLastUsed"] =
                json!({"LastUsedDate": last_used, "Region": "eu-west-1"});
            // `r`'s report is the newest (the as-of time): a use days after it is not this
            // rule's (the as-of time is the data's), and `r` stays unused.
            d["RoleDetailList"][0]["RoleLastUsed"] =
                json!({"LastUsedDate": "2026-11-23T00:00:00Z", "Region": "eu-west-1"});
        });
        let export = input::load_export(&dir, &LoadOptions::default()).unwrap();
        let settings = Settings {
            unused_after_days: 90,
            as_of: None,
        };
        let an = analysis::analyze(
            &[export],
            Catalog::embedded(),
            &settings,
            &Config::default(),
        )
        .unwrap();
        let mut v: Vec<_> = an
            .findings
            .iter()
            .map(|f| (an.principal(f).name().to_string(), f.status(), f.reason))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    let r = ("r".to_string(), Status::Unused, Reason::ServiceNotAccessed);
    assert_eq!(
        verdicts("2026-11-18T08:00:00Z"),
        [
            r.clone(),
            ("stale".into(), Status::Unknown, Reason::UsedAfterData)
        ]
    );
    assert_eq!(
        verdicts("2026-11-10T20:00:00Z"),
        [
            r,
            ("stale".into(), Status::Unused, Reason::ServiceNotAccessed)
        ]
    );
}

/// A user whose last-accessed report is as stale, and whose credential report shows its access
/// key (or password) used more than a day after it, is `used_after_data` as such a role is: it
/// was `unused`, and a decision tightened what it used since (review pass 47). The report's row
/// is the user's by name, whatever path its ARN names (a user moved since). A use no later
/// than a day after its report leaves it `unused`.
#[test]
fn a_user_used_after_its_stale_report_is_not_called_unused() {
    let verdict = |key_used: &str| -> (Status, Reason) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("e");
        with_a_stale_role(&dir);
        crate::common::edit_json(&dir.join("authorization-details.json"), |d| {
            d["UserDetailList"] = json!([{
                "Path": "/", "UserName": "u", "UserId": "AIDAEXAMPLE0000000009",
                "Arn": format!("arn:aws:iam::{ACCT}:user/u"), "CreateDate": OLD,
                "GroupList": [], "AttachedManagedPolicies": [], "Tags": [],
                "UserPolicyList": d["RoleDetailList"][0]["RolePolicyList"].clone()
            }]);
        });
        let users = dir.join("last-accessed/users");
        fs::create_dir_all(&users).unwrap();
        fs::copy(
            dir.join("last-accessed/roles/stale.json"),
            users.join("u.json"),
        )
        .unwrap();
        let csv = format!(
            "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n\
             u,arn:aws:iam::{ACCT}:user/moved/u,{OLD},false,N/A,N/A,N/A,false,true,{OLD},{key_used},eu-west-1,sqs,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
        );
        fs::write(dir.join("credential-report.csv"), csv).unwrap();
        let export = input::load_export(&dir, &LoadOptions::default()).unwrap();
        let settings = Settings::new(90, None).unwrap();
        let an = analysis::analyze(
            &[export],
            Catalog::embedded(),
            &settings,
            &Config::default(),
        )
        .unwrap();
        let f = an
            .findings
            .iter()
            .find(|f| an.principal(f).name() == "u")
            .unwrap();
        (f.status(), f.reason)
    };
    assert_eq!(
        verdict("2026-11-18T08:00:00Z"),
        (Status::Unknown, Reason::UsedAfterData)
    );
    assert_eq!(
        verdict("2026-11-10T20:00:00Z"),
        (Status::Unused, Reason::ServiceNotAccessed)
    );
}

/// `--strict` fails on the analysis's own warnings too (here `last_accessed_older_than_as_of`:
/// a role whose job ended ten days before the export's), in `report` and `diff`, before
/// anything is written; without it the run succeeds. Only the loader's warnings failed it.
#[test]
fn strict_fails_on_the_analysis_warnings_too() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("e");
    with_a_stale_role(&dir);
    let out = tmp.path().join("out");
    let needle = "[warning last_accessed_older_than_as_of is an error with --strict]";
    for args in [vec!["report", "--format", "json"], vec!["diff"]] {
        let mut cmd = bin();
        cmd.args(&args).arg("--out").arg(&out).arg(&dir);
        if args[0] == "diff" {
            cmd.arg(&dir);
        }
        let run = cmd.arg("--strict").assert().code(2);
        let stderr = stderr_of(&run);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(stderr.contains(&format!("account {ACCT}")), "{stderr}");
        assert!(!out.join("report.json").exists() && !out.join("diff.json").exists());
    }
    bin()
        .args(["report", "--format", "json", "--out"])
        .arg(&out)
        .arg(&dir)
        .assert()
        .success();
}

/// An error that quotes input text (here `--strict` failing on a warning that names a role)
/// reaches the terminal with its control and format characters written out: an escape sequence
/// in a role name is not run, a bidi override does not reverse the rest of the message.
#[test]
fn errors_print_control_characters_inert() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("e");
    unused_sqs_export(&dir);
    crate::common::edit_json(&dir.join("authorization-details.json"), |d| {
        let roles = d["RoleDetailList"].as_array_mut().unwrap();
        let mut evil = roles[0].clone();
        let name = "evil\u{1b}]0;owned\u{7}\u{1b}[2J\u{202e}x";
        evil["RoleName"] = json!(name);
        evil["RoleId"] = json!("AROAEXAMPLE0000000003");
        evil["Arn"] = json!(format!("arn:aws:iam::{ACCT}:role/{name}"));
        roles.push(evil);
    });
    let run = bin()
        .args(["report", "--strict", "--format", "json", "--out"])
        .arg(tmp.path().join("out"))
        .arg(&dir)
        .assert()
        .code(2);
    let stderr = stderr_of(&run);
    assert!(
        !stderr.contains(['\u{1b}', '\u{7}', '\u{202e}']),
        "{stderr:?}"
    );
    assert!(stderr.contains(r"role/evil\u{1b}]0;owned\u{7}"), "{stderr}");
    // A bidi override would show the rest of the message reversed.
    assert!(stderr.contains(r"[2J\u{202e}x"), "{stderr}");
}

fn bin() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("iam-tighten").unwrap()
}

#[test]
fn fail_on_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let export = tmp.path().join("e");
    unused_sqs_export(&export);
    let out = tmp.path().join("out");
    // sqs:DeleteQueue is Write → medium.
    bin()
        .args(["report", "--format", "json", "--fail-on", "medium", "--out"])
        .arg(&out)
        .arg(&export)
        .assert()
        .code(1);
    bin()
        .args(["report", "--format", "json", "--fail-on", "high", "--out"])
        .arg(&out)
        .arg(&export)
        .assert()
        .code(0);
    bin()
        .args(["report", "--unused-after", "0", "--out"])
        .arg(&out)
        .arg(&export)
        .assert()
        .code(2);
    bin()
        .args(["report", "--as-of", "yesterday", "--out"])
        .arg(&out)
        .arg(&export)
        .assert()
        .code(2);
    // Runs `--as-of refused` on `export` (exit 2, nothing written; returns its stderr), then
    // `--as-of accepted` (exit 0).
    let refused_then_accepted = |export: &Path, out: &Path, refused: &str, accepted: &str| {
        let a = bin()
            .args(["report", "--as-of", refused, "--out"])
            .arg(out)
            .arg(export)
            .assert()
            .code(2);
        assert!(!out.join("report.json").exists() && !out.join("findings.csv").exists());
        bin()
            .args(["report", "--format", "json", "--as-of", accepted, "--out"])
            .arg(out)
            .arg(export)
            .assert()
            .code(0);
        stderr_of(&a)
    };
    // A window that would start more than 400 days before the data is refused (AWS keeps no
    // older last access), naming the earliest --as-of allowed; one that starts 400 days before
    // it is judged.
    let early = tmp.path().join("early");
    let err = refused_then_accepted(
        &export,
        &early,
        "2026-01-13T23:59:59Z",
        "2026-01-14T10:00:00Z",
    );
    assert!(
        err.contains("is too early for the data of account")
            && err.contains("give an --as-of of 2026-01-14T10:00:00Z or later"),
        "{err}"
    );
    // An export with no time of its own cannot bound --as-of: a window that would start before
    // the year 0000 (which RFC 3339 cannot write) is refused, nothing written; a window that
    // starts in it is fine.
    let timeless = tmp.path().join("timeless");
    write_export(&timeless, "r", OLD, &["sqs:DeleteQueue"], None);
    let early = tmp.path().join("early-0000");
    let err = refused_then_accepted(
        &timeless,
        &early,
        "0000-01-01T00:00:00Z",
        "0000-06-01T00:00:00Z",
    );
    assert!(err.contains("starts before the year 0000"), "{err}");
    let json = fs::read_to_string(early.join("report.json")).unwrap();
    assert!(!json.contains("\"-0"), "a negative year in report.json");
}

#[test]
fn bad_config_names_the_file_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let export = tmp.path().join("e");
    write_export(&export, "r", OLD, &["sqs:DeleteQueue"], None);
    let cfg = tmp.path().join("exclusions.toml");
    fs::write(&cfg, "[[exclude]]\nprincipal = \"r\"\n").unwrap();
    let a = bin()
        .args(["report", "--out"])
        .arg(tmp.path().join("out"))
        .arg("--config")
        .arg(&cfg)
        .arg(&export)
        .assert()
        .code(2);
    let err = stderr_of(&a);
    assert!(
        err.contains("exclusions.toml") && err.contains("exclude[0].reason"),
        "{err}"
    );
}

#[test]
fn csv_cells_from_hostile_names_are_neutralised() {
    let tmp = tempfile::tempdir().unwrap();
    let export = tmp.path().join("e");
    // IAM role names allow `+=,.@-`: a name can start like a formula.
    write_export(
        &export,
        "=HYPERLINK",
        OLD,
        &["sqs:DeleteQueue"],
        Some(json!([svc("sqs", None, None)])),
    );
    let out = tmp.path().join("out");
    bin()
        .args(["report", "--format", "csv", "--out"])
        .arg(&out)
        .arg(&export)
        .assert()
        .success();
    for file in ["findings.csv", "principals.csv", "services.csv"] {
        let text = fs::read_to_string(out.join(file)).unwrap();
        let mut rdr = csv::Reader::from_reader(text.as_bytes());
        for rec in rdr.records() {
            for cell in rec.unwrap().iter() {
                assert!(
                    !matches!(
                        cell.as_bytes().first(),
                        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
                    ),
                    "{file}: live formula cell {cell:?}"
                );
            }
        }
        assert!(text.contains("'=HYPERLINK"), "{file} lost the name");
    }
}

/// Whether a spreadsheet would read `cell` as a formula: a trigger (`=`, `+`, `-`, `@` or their
/// full-width forms) after any blank or invisible characters, or a leading TAB, CR, LF or NUL.
fn live_formula(cell: &str) -> bool {
    let triggers = [
        '=', '+', '-', '@', '\u{ff1d}', '\u{ff0b}', '\u{ff0d}', '\u{ff20}',
    ];
    let blank =
        |c: char| c.is_whitespace() || c.is_control() || matches!(c, '\u{feff}' | '\u{200b}');
    cell.starts_with(['\t', '\r', '\n', '\0'])
        || cell.trim_start_matches(blank).starts_with(triggers)
}

/// Every string cell of every sheet of a workbook.
fn xlsx_strings(path: &Path) -> Vec<String> {
    use calamine::{Data, Reader, Xlsx, open_workbook};
    let mut wb: Xlsx<_> = open_workbook(path).unwrap();
    let mut out = Vec::new();
    for name in wb.sheet_names() {
        for row in wb.worksheet_range(&name).unwrap().rows() {
            out.extend(row.iter().filter_map(|c| match c {
                Data::String(s) => Some(s.clone()),
                _ => None,
            }));
        }
    }
    out
}

/// Every CSV ends its rows with CRLF, as docs/report-fields.md says: the report's, the
/// recommendations' `actions.csv` (it ended them with LF, review pass 45) and the diff's, on the
/// sample (whose cells hold no line break of their own).
#[test]
fn every_csv_ends_its_rows_with_crlf() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data");
    let (out, diff) = (tmp.path().join("out"), tmp.path().join("diff"));
    bin()
        .args(["report", "--format", "csv", "--out"])
        .arg(&out)
        .arg(sample.join("2026-q4"))
        .assert()
        .success();
    bin()
        .args(["diff", "--out"])
        .arg(&diff)
        .args([sample.join("2026-q3"), sample.join("2026-q4")])
        .assert()
        .success();
    let mut files: Vec<std::path::PathBuf> = [&out, &diff]
        .into_iter()
        .flat_map(|d| fs::read_dir(d).unwrap().map(|e| e.unwrap().path()))
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    files.push(out.join("recommendations/actions.csv"));
    assert!(files.len() >= 8, "{files:?}");
    for f in files {
        let bytes = fs::read(&f).unwrap();
        let lf = bytes.iter().filter(|b| **b == b'\n').count();
        let crlf = bytes.windows(2).filter(|w| w == b"\r\n").count();
        assert!(
            lf > 1 && lf == crlf,
            "{}: {lf} LF, {crlf} CRLF",
            f.display()
        );
    }
}

/// A role, its inline policy and a tag named like a formula behind blanks, a line feed or a
/// full-width sign: every CSV (the report's, `recommendations/actions.csv`, `diff.csv`) and every
/// cell of review.xlsx holds them inert (with the `'` prefix), and holds them.
#[test]
fn csv_and_xlsx_cells_from_hostile_names_behind_blanks_are_neutralised() {
    for hostile in [
        " =1+1",
        "\n=1+1",
        "\u{ff1d}1+1",
        "\u{3000}\u{ff20}x",
        "\u{a0}-2",
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let export = tmp.path().join("e");
        let tracked = json!([{"ActionName": "DeleteQueue"},
            {"ActionName": "ListQueues", "LastAccessedTime": "2026-11-19T00:00:00Z"}]);
        let used = svc("sqs", Some("2026-11-19T00:00:00Z"), Some(tracked));
        write_export(
            &export,
            hostile,
            OLD,
            &["sqs:DeleteQueue", "sqs:ListQueues"],
            Some(json!([used])),
        );
        let gaad_path = export.join("authorization-details.json");
        let mut gaad: Value = serde_json::from_slice(&fs::read(&gaad_path).unwrap()).unwrap();
        let role = &mut gaad["RoleDetailList"][0];
        role["RolePolicyList"][0]["PolicyName"] = json!(hostile);
        role["Tags"] = json!([{"Key": hostile, "Value": hostile}]);
        fs::write(&gaad_path, serde_json::to_vec(&gaad).unwrap()).unwrap();
        let (out, diff) = (tmp.path().join("out"), tmp.path().join("diff"));
        bin()
            .args(["report", "--out"])
            .arg(&out)
            .arg(&export)
            .assert()
            .success();
        bin()
            .args(["diff", "--include-unchanged", "--out"])
            .arg(&diff)
            .args([&export, &export])
            .assert()
            .success();
        let mut cells = Vec::new();
        for file in [
            out.join("findings.csv"),
            out.join("services.csv"),
            out.join("principals.csv"),
            out.join("decisions.csv"),
            out.join("credentials.csv"),
            out.join("recommendations/actions.csv"),
            diff.join("diff.csv"),
        ] {
            let mut rdr = csv::Reader::from_path(&file).unwrap();
            let file_cells: Vec<String> = rdr
                .records()
                .flat_map(|r| r.unwrap().iter().map(String::from).collect::<Vec<_>>())
                .collect();
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            let inert = format!("'{hostile}");
            if !["credentials.csv", "services.csv"].contains(&name.as_str()) {
                assert!(
                    file_cells.iter().any(|c| c.starts_with(&inert)),
                    "{name} lost {hostile:?}"
                );
            }
            cells.extend(file_cells.into_iter().map(|c| (name.clone(), c)));
        }
        let book = xlsx_strings(&out.join("review.xlsx"));
        assert!(
            book.iter().any(|c| c.starts_with(&format!("'{hostile}"))),
            "{hostile:?}"
        );
        cells.extend(book.into_iter().map(|c| ("review.xlsx".to_string(), c)));
        for (file, cell) in &cells {
            assert!(!live_formula(cell), "{file}: live formula cell {cell:?}");
        }
    }
}

mod dates {
    //! Any representable timestamp, anywhere a date is read (export fields, `--as-of`, window and
    //! key-age flags), gives a result or a clean error through every stage: never a panic.
    use super::*;
    use iam_tighten::analysis::identities::{IdentitySettings, identity_findings};
    use iam_tighten::report::{self, Limits, ReportModel};
    use proptest::prelude::*;

    /// An RFC 3339 text anywhere in 0000–9999 with any offset, an epoch number over the whole
    /// i64 range, or text that is no timestamp at all.
    fn timestamp() -> impl Strategy<Value = Value> {
        prop_oneof![
            8 => (
                0i32..=9999,
                1u32..=12,
                1u32..=28,
                0u32..24,
                0u32..60,
                any::<bool>(),
                0u32..24,
                0u32..60
            )
                .prop_map(|(y, mo, d, h, mi, neg, oh, om)| json!(format!(
                    "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:07.5{}{oh:02}:{om:02}",
                    if neg { '-' } else { '+' }
                ))),
            1 => any::<i64>().prop_map(|n| json!(n)),
            1 => (-62_167_219_200_i64..=253_402_300_799).prop_map(|n| json!(n)),
            2 => prop::sample::select(vec![
                json!("-262143-01-01T00:00:00Z"),
                json!("+262142-12-31T23:59:59Z"),
                json!("9999-12-31T23:59:59-23:59"),
                json!("0000-01-01T00:00:00+23:59"),
                json!(-62_167_219_200_i64),
                json!(253_402_300_799_i64),
                json!(1e300),
                json!(-8_334_601_228_800_i64),
            ]),
        ]
    }

    fn as_text(v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]
        #[test]
        fn any_timestamp_works_or_is_a_clean_error(
            created in timestamp(),
            job in timestamp(),
            service_last in timestamp(),
            action_last in timestamp(),
            key_used in timestamp(),
            as_of in prop::option::of(timestamp()),
            days in 0u32..=1000,
            key_days in any::<u32>(),
        ) {
            let tmp = tempfile::tempdir().unwrap();
            let d = tmp.path();
            let gaad = json!({
                "UserDetailList": [{
                    "Path": "/", "UserName": "u", "UserId": "AIDAEXAMPLE", "CreateDate": created,
                    "Arn": format!("arn:aws:iam::{ACCT}:user/u"), "GroupList": [],
                    "UserPolicyList": [{"PolicyName": "p", "PolicyDocument": {"Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": ["ec2:*", "iam:PassRole"], "Resource": "*"}]}}],
                    "AttachedManagedPolicies": [], "Tags": []
                }],
                "GroupDetailList": [], "RoleDetailList": [], "Policies": []
            });
            fs::write(d.join("authorization-details.json"), gaad.to_string()).unwrap();
            fs::create_dir_all(d.join("last-accessed/users")).unwrap();
            let la = json!({
                "JobStatus": "COMPLETED", "JobType": "ACTION_LEVEL",
                "JobCreationDate": job, "JobCompletionDate": job, "IsTruncated": false,
                "ServicesLastAccessed": [{"ServiceName": "EC2", "ServiceNamespace": "ec2",
                    "LastAuthenticated": service_last, "TotalAuthenticatedEntities": 1,
                    "TrackedActionsLastAccessed": [{"ActionName": "RunInstances",
                        "LastAccessedTime": action_last}]}]
            });
            fs::write(d.join("last-accessed/users/u.json"), la.to_string()).unwrap();
            let key = as_text(&key_used);
            let csv = format!(
                "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n\
                 u,arn:aws:iam::{ACCT}:user/u,{key},true,{key},{key},N/A,false,true,{key},{key},eu-west-1,ec2,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
            );
            fs::write(d.join("credential-report.csv"), csv).unwrap();

            let Ok(export) = input::load_export(d, &LoadOptions::default()) else {
                return Ok(());
            };
            let settings = Settings {
                unused_after_days: days,
                as_of: as_of.as_ref().and_then(|v| input::parse_timestamp(&as_text(v))),
            };
            let cat = Catalog::embedded();
            let Ok(an) = analysis::analyze(std::slice::from_ref(&export), cat, &settings, &Config::default()) else {
                return Ok(());
            };
            for f in &an.findings {
                prop_assert!(an.days_since_access(f).is_none_or(|n| n >= 0));
            }
            let ids = identity_findings(
                std::slice::from_ref(&export),
                &an,
                &IdentitySettings { unused_after_days: days, key_max_age_days: key_days },
            );
            let decisions = iam_tighten::decisions::Decisions::default();
            let model = ReportModel::build(
                &an,
                ids,
                None,
                &decisions,
                &Default::default(),
                Limits::default(),
            );
            let out = d.join("out");
            report::write_report(&an, &model, &out, &report::Format::ALL).unwrap();
        }
    }
}

/// Exclusions by `policy` and by `account` (with and without an action pattern), exact names
/// and ARNs, on the sample organisation: every finding is covered by exactly the first rule that
/// matches it, computed here independently of the rule index.
#[test]
fn exclusions_by_policy_account_and_exact_principal() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/2026-q4");
    let exports = input::load_exports(&[sample], &LoadOptions::default()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let config = Config::parse(
        &tmp.path().join("c.toml"),
        r#"
[[exclude]]
policy = "AmazonEC2FullAccess"
reason = "EC2 team owns these"

[[exclude]]
account = "222222222222"
action = "s3:*"
reason = "S3 in the data account is reviewed elsewhere"

[[exclude]]
principal = "ci-deploy"
reason = "exact name"

[[exclude]]
principal = "arn:aws:iam::111111111111:role/log-shipper"
account = "111111111111"
reason = "exact ARN"

[[exclude]]
principal = "NoSuchRole"
reason = "matches nothing"
"#,
    )
    .unwrap();
    let cat = Catalog::embedded();
    let an = analysis::analyze(&exports, cat, &Settings::new(90, None).unwrap(), &config).unwrap();
    let mut per_rule = [0u64; 5];
    for f in &an.findings {
        let p = an.principal(f);
        let by_ec2_full = an
            .granting_labels(f.granted_by)
            .any(|l| l.name == "AmazonEC2FullAccess");
        let service = &*cat.action(an.action(f)).service;
        let expected = if by_ec2_full {
            Some(1)
        } else if &*p.account_id == "222222222222" && service == "s3" {
            Some(2)
        } else if p.name() == "ci-deploy" {
            Some(3)
        } else if p.arn() == "arn:aws:iam::111111111111:role/log-shipper" {
            Some(4)
        } else {
            None
        };
        assert_eq!(
            f.exclusion.map(|x| x.0.get()),
            expected,
            "{} {}",
            p.arn(),
            an.action_text(f)
        );
        if let Some(id) = expected {
            per_rule[id as usize - 1] += u64::from(an.count(f));
        }
    }
    for (i, rule) in an.config.exclusions.iter().enumerate() {
        assert_eq!(rule.matched, per_rule[i], "rule {}", i + 1);
    }
    assert!(per_rule[..4].iter().all(|n| *n > 0), "{per_rule:?}");
    assert_eq!(per_rule[4], 0);
}

mod named {
    //! Every finding names exactly its critical and high actions (issue 16): recomputed here from
    //! the sensitivity rules, independently of the grouping, on the sample and on a synthetic
    //! 1,000-role organisation.
    use super::*;
    use iam_tighten::analysis::Analysis;
    use iam_tighten::analysis::sensitivity::{Combo, classify};
    use std::collections::{BTreeSet, HashMap};

    fn check(an: &Analysis<'_>) -> usize {
        let cat = an.catalog;
        let risks = classify(cat);
        // Per principal: does it hold iam:PassRole, and an action that runs code under a role?
        let mut holds: HashMap<u32, (bool, bool)> = HashMap::new();
        for f in &an.findings {
            let e = holds.entry(f.principal).or_default();
            for a in an.actions(f) {
                match risks[a.id().index()].combo {
                    Combo::PassRole => e.0 = true,
                    Combo::Consumer => e.1 = true,
                    Combo::None => {}
                }
            }
        }
        let mut named_total = 0;
        for f in &an.findings {
            let (passrole, consumer) = holds[&f.principal];
            let expected: BTreeSet<String> = an
                .actions(f)
                .iter()
                .filter(|a| {
                    let r = risks[a.id().index()];
                    let combo = match r.combo {
                        Combo::PassRole => consumer,
                        Combo::Consumer => passrole,
                        Combo::None => false,
                    };
                    combo || r.sensitivity >= Sensitivity::High
                })
                .map(|a| cat.full_name(a.id()))
                .collect();
            let named = an.named_actions(f);
            // The first k of them, named alone, are the first k of all of them named.
            for k in [0, 1, 3, 10] {
                let (top, total) = an.top_named(f.principal, an.actions(f), k);
                assert_eq!(total, named.len());
                assert_eq!(top, named[..k.min(named.len())]);
            }
            let got: BTreeSet<String> = named.iter().map(|n| n.action.clone()).collect();
            assert_eq!(got, expected, "{}", an.action_text(f));
            let counts = an.sensitivity_counts(f);
            assert_eq!(got.len() as u64, counts.critical + counts.high);
            for n in &named {
                assert!(!n.why.is_empty(), "{}", n.action);
                let r = risks[cat.lookup_full(&n.action).unwrap().index()];
                if r.combo == Combo::Consumer && passrole && r.sensitivity < Sensitivity::Critical {
                    assert!(
                        n.why.contains("(with iam:PassRole)"),
                        "{}: {}",
                        n.action,
                        n.why
                    );
                }
            }
            named_total += named.len();
        }
        named_total
    }

    #[test]
    fn named_actions_of_the_sample() {
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/2026-q4");
        let exports = input::load_exports(&[sample], &LoadOptions::default()).unwrap();
        let an = analysis::analyze(
            &exports,
            Catalog::embedded(),
            &Settings::new(90, None).unwrap(),
            &Config::default(),
        )
        .unwrap();
        assert!(check(&an) > 100);
        // BreakGlassAdmin's `apprunner:*` row has one critical action: it is named, and why.
        let f = an
            .findings
            .iter()
            .find(|f| {
                an.principal(f).name() == "BreakGlassAdmin" && an.action_text(f) == "apprunner:*"
            })
            .unwrap();
        let text = an.named_actions_text(f);
        assert!(
            text.starts_with("apprunner:CreateService: privilege_escalation (with iam:PassRole)"),
            "{text}"
        );
        // ...and its iam:PassRole says which action makes it critical.
        let pass = an
            .findings
            .iter()
            .find(|f| {
                an.principal(f).name() == "BreakGlassAdmin"
                    && an
                        .actions(f)
                        .iter()
                        .any(|a| an.catalog.full_name(a.id()) == "iam:PassRole")
            })
            .unwrap();
        assert!(
            an.named_actions_text(pass)
                .contains("iam:PassRole: privilege_escalation (with apprunner:CreateService)"),
            "{}",
            an.named_actions_text(pass)
        );
    }

    #[test]
    fn named_actions_of_a_synthetic_organisation() {
        let an = synthetic_analysis(2, 500);
        assert!(an.principals.len() >= 1000);
        assert!(check(&an) > 1000);
    }
}

/// The analysis of a synthetic organisation from `examples/synth-export` (seed 3).
fn synthetic_analysis(accounts: u32, roles: u32) -> analysis::Analysis<'static> {
    let tmp = tempfile::tempdir().unwrap();
    let org = tmp.path().join("org");
    let ok = std::process::Command::new(crate::common::synth_export())
        .args(["--accounts", &accounts.to_string()])
        .args(["--roles-per-account", &roles.to_string()])
        .args(["--seed", "3", "--out"])
        .arg(&org)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let exports = input::load_exports(&[org], &LoadOptions::default()).unwrap();
    analysis::analyze(
        &exports,
        Catalog::embedded(),
        &Settings::new(90, None).unwrap(),
        &Config::default(),
    )
    .unwrap()
}

/// findings.parquet is written in row groups of 65,536 rows (docs/report-fields.md), all full but
/// the last, holding every finding in rank order.
#[test]
fn findings_parquet_row_groups_of_65536_rows() {
    use polars::prelude::*;
    let an = synthetic_analysis(2, 1000);
    let n = an.findings.len();
    assert!(n > 65_536, "{n} findings: too few for a second row group");
    let mut bytes = Vec::new();
    analysis::write_findings_parquet(&an, &mut bytes).unwrap();
    let mut reader = ParquetReader::new(std::io::Cursor::new(bytes.clone()));
    let sizes: Vec<usize> = reader
        .get_metadata()
        .unwrap()
        .row_groups
        .iter()
        .map(|g| g.num_rows())
        .collect();
    let mut expected = vec![65_536; n / 65_536];
    if !n.is_multiple_of(65_536) {
        expected.push(n % 65_536);
    }
    assert_eq!(sizes, expected);
    let df = ParquetReader::new(std::io::Cursor::new(bytes))
        .finish()
        .unwrap();
    let ranks: Vec<u64> = df
        .column("rank")
        .unwrap()
        .cast(&DataType::UInt64)
        .unwrap()
        .u64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(ranks, (1..=n as u64).collect::<Vec<_>>());
}

/// A managed policy held by several principals of one account has one copy of its ARN
/// (`PolicyInfo`) and one label (which names it), not one per principal: an AWS managed policy
/// is held by thousands.
#[test]
fn principals_of_an_account_share_their_policies_names() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/2026-q4");
    let exports = input::load_exports(&[sample], &LoadOptions::default()).unwrap();
    let cat = Catalog::embedded();
    let an = analysis::analyze(
        &exports,
        cat,
        &Settings::new(90, None).unwrap(),
        &Config::default(),
    )
    .unwrap();
    let mut first: std::collections::HashMap<(&str, &str), &analysis::PolicyInfo> =
        Default::default();
    let mut shared = 0;
    for p in &an.principals {
        for pi in p.policies.iter().filter(|pi| pi.arn.is_some()) {
            // A policy's name is its label's, held once in `Analysis::labels`.
            let name = an.label(pi).name.as_str();
            match first.get(&(&*p.account_id, name)) {
                Some(seen) => {
                    // The same label (kind, name, group) for the same policy held the same way.
                    if (seen.kind, seen.boundary) == (pi.kind, pi.boundary) {
                        let same_group = an.label(seen).via_group == an.label(pi).via_group;
                        assert_eq!(same_group, seen.label == pi.label, "{name}");
                    }
                    let (a, b) = (seen.arn.as_ref().unwrap(), pi.arn.as_ref().unwrap());
                    if a == b {
                        assert!(std::sync::Arc::ptr_eq(a, b), "{a}");
                    }
                    shared += 1;
                }
                None => {
                    first.insert((&*p.account_id, name), pi);
                }
            }
        }
    }
    assert!(
        shared > 0,
        "the sample has no managed policy held twice in an account"
    );
}

/// A catalog more than 90 days older than an export's as-of time gets a warning for that export:
/// AWS adds actions every week, and a tightened policy that writes out a wildcard drops the newer
/// ones AWS does not track one by one. A catalog as recent as the data gets none.
#[test]
fn a_catalog_older_than_the_data_is_warned_about() {
    let tmp = tempfile::tempdir().unwrap();
    let s = json!([svc("ec2", Some("2026-11-18T00:00:00Z"), None)]);
    write_export(tmp.path(), "r", OLD, &["ec2:RunInstances"], Some(s));
    let export = input::load_export(tmp.path(), &LoadOptions::default()).unwrap();
    // Updated 2026-01-01.
    let small = Catalog::from_path(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/small-catalog.tsv"),
    )
    .unwrap();
    let warned = |cat: &Catalog, as_of: Option<&str>| {
        let settings = Settings {
            unused_after_days: 90,
            as_of: as_of.and_then(input::parse_timestamp),
        };
        analysis::analyze(
            std::slice::from_ref(&export),
            cat,
            &settings,
            &Config::default(),
        )
        .unwrap()
        .warnings
        .iter()
        .filter(|w| w.warning.code == "catalog_older_than_data")
        .map(|w| w.warning.message.clone())
        .collect::<Vec<_>>()
    };
    let w = warned(&small, None);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with("the action catalog was updated 2026-01-01")
            && w[0].contains("323 days before the as-of time 2026-11-20T10:00:00Z"),
        "{}",
        w[0]
    );
    // 90 days after the catalog: not yet.
    assert!(warned(&small, Some("2026-04-01T00:00:00Z")).is_empty());
    assert_eq!(warned(&small, Some("2026-04-02T00:00:00Z")).len(), 1);
    assert!(warned(Catalog::embedded(), None).is_empty());
}

/// `--as-of` must fit every export at once. Two accounts whose data ends 396 days apart leave no
/// time a 90-day window fits (the later one's window may start at most 400 days before its
/// data): one error names both and says to leave --as-of out, where each account's own check
/// sent the reader the other way. Without --as-of each export keeps its own time.
#[test]
fn an_as_of_that_fits_no_export_pair_names_both() {
    let tmp = tempfile::tempdir().unwrap();
    let (new, old) = (tmp.path().join("new"), tmp.path().join("old"));
    unused_sqs_export(&new);
    unused_sqs_export(&old);
    // The old account: 999999999999, its job a year and a month earlier.
    for file in ["authorization-details.json", "last-accessed/roles/r.json"] {
        let path = old.join(file);
        let text = fs::read_to_string(&path)
            .unwrap()
            .replace(ACCT, "999999999999")
            .replace("2026-11-20T09:59:00Z", "2025-10-20T09:59:00Z")
            .replace(AS_OF, "2025-10-20T10:00:00Z");
        fs::write(&path, text).unwrap();
    }
    let out = tmp.path().join("out");
    let run = |as_of: Option<&str>| {
        let mut cmd = bin();
        cmd.args(["report", "--format", "json", "--out"]).arg(&out);
        if let Some(t) = as_of {
            cmd.args(["--as-of", t]);
        }
        cmd.arg(&new).arg(&old).assert()
    };
    for as_of in [
        "2025-10-20T10:00:00Z",
        "2026-01-14T10:00:00Z",
        "2026-06-01T00:00:00Z",
    ] {
        let a = run(Some(as_of)).code(2);
        let err = stderr_of(&a);
        assert!(
            err.contains("no --as-of fits every export: account 999999999999's data ends 2025-10-20T10:00:00Z")
                && err.contains("account 123456789012's 2026-11-20T10:00:00Z")
                && err.contains("leave --as-of out"),
            "{as_of}: {err}"
        );
    }
    run(None).code(0);
}

/// With `--unused-after 400` the window may start no earlier than 400 days before the data, so
/// the only `--as-of` allowed is the data's own time: one second earlier is refused.
#[test]
fn a_400_day_window_allows_only_the_datas_own_time() {
    let tmp = tempfile::tempdir().unwrap();
    let export = tmp.path().join("e");
    unused_sqs_export(&export);
    let out = tmp.path().join("out");
    let run = |as_of: &str| {
        bin()
            .args([
                "report",
                "--format",
                "json",
                "--unused-after",
                "400",
                "--as-of",
                as_of,
            ])
            .arg("--out")
            .arg(&out)
            .arg(&export)
            .assert()
    };
    run(AS_OF).code(0);
    let a = run("2026-11-20T09:59:59Z").code(2);
    let err = stderr_of(&a);
    assert!(
        err.contains("is too early")
            && err.contains(&format!("give an --as-of of {AS_OF} or later")),
        "{err}"
    );
}

/// Data of the year 0000 leaves no representable earliest `--as-of`: the run-wide check leaves it
/// to the export's own, which names the one account once (the run-wide one named it twice, as if
/// two exports disagreed).
#[test]
fn an_as_of_for_data_of_the_year_0000_is_refused_by_its_export() {
    let tmp = tempfile::tempdir().unwrap();
    let export = tmp.path().join("e");
    unused_sqs_export(&export);
    let la = export.join("last-accessed/roles/r.json");
    let text = fs::read_to_string(&la)
        .unwrap()
        .replace("2026-11-20T09:59:00Z", "0000-03-01T00:00:00Z")
        .replace(AS_OF, "0000-03-01T00:01:00Z");
    fs::write(&la, text).unwrap();
    let a = bin()
        .args([
            "report",
            "--format",
            "json",
            "--as-of",
            "0000-02-01T00:00:00Z",
            "--out",
        ])
        .arg(tmp.path().join("out"))
        .arg(&export)
        .assert()
        .code(2);
    let err = stderr_of(&a);
    assert!(
        err.contains("is too early for the data of account 123456789012")
            && !err.contains("no --as-of fits every export"),
        "{err}"
    );
}
