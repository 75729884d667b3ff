//! IAM Identity Center permission sets: one recommendation and one decision per set, applied
//! with `aws sso-admin` to every account at once; their roles get neither. On the organisation
//! fixture `fixtures/organization` (see its gen.py for the story).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use iam_tighten::analysis::identities::{IdentitySettings, identity_findings};
use iam_tighten::analysis::{self, Analysis, Config, Settings, Status};
use iam_tighten::catalog::{ActionSet, Catalog};
use iam_tighten::decisions::{self, Decision, DecisionKind};
use iam_tighten::input::{self, LoadOptions};
use iam_tighten::model::{Export, Organization, PrincipalType};
use iam_tighten::policy::control::ControlEffect;
use iam_tighten::policy::{Expander, PolicyDocument, PolicyKind};
use iam_tighten::recommend::{self, Apply, PrincipalPlan};

use super::recommend::{attached_after_each, readme_block};
use serde_json::{Value, json};

const MGMT: &str = "999999999999";
const PROD: &str = "111111111111";
const DEV: &str = "222222222222";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/organization")
}

fn fixture() -> (Vec<Export>, Organization, Analysis<'static>) {
    analysed(&root())
}

/// `exports` analysed with the organisation part `org` (a 90-day window, no configuration).
fn analyse(exports: &[Export], org: &Organization) -> Analysis<'static> {
    analysis::analyze_organization(
        exports,
        Some(org),
        Catalog::embedded(),
        &Settings::new(90, None).unwrap(),
        &Config::default(),
    )
    .unwrap()
}

/// The organisation folder `at`, loaded and analysed with its organisation part.
fn analysed(at: &Path) -> (Vec<Export>, Organization, Analysis<'static>) {
    let exports = input::load_exports(&[at.to_path_buf()], &LoadOptions::default()).unwrap();
    let org = input::organization::find(&[at.to_path_buf()])
        .unwrap()
        .unwrap();
    let an = analyse(&exports, &org);
    (exports, org, an)
}

fn set_plan<'p>(plans: &'p [PrincipalPlan], name: &str) -> &'p PrincipalPlan {
    plans
        .iter()
        .find(|p| p.kind == PrincipalType::PermissionSet && p.name == name)
        .unwrap()
}

fn ids(c: &Catalog, names: &[&str]) -> ActionSet {
    ActionSet::from_ids(c.len(), names.iter().map(|n| c.lookup_full(n).unwrap()))
}

fn names(c: &Catalog, set: &ActionSet) -> Vec<String> {
    set.iter().map(|a| c.full_name(a)).collect()
}

/// The actions of the set's findings that are unused and not excluded.
fn unused_of(an: &Analysis<'_>, name: &str) -> ActionSet {
    let i = an
        .principals
        .iter()
        .position(|p| p.kind == PrincipalType::PermissionSet && p.name() == name)
        .unwrap();
    let mut set = an.catalog.empty_set();
    for f in an.findings_of(i) {
        if f.status() == Status::Unused && f.exclusion.is_none() {
            for a in an.actions(f) {
                set.insert(a.id());
            }
        }
    }
    set
}

fn decide(exports: &[Export], an: &Analysis<'_>, planned: &recommend::Planned) -> Vec<Decision> {
    let identities = identity_findings(exports, an, &IdentitySettings::new(90));
    let list = decisions::decide(an, &planned.plans, &planned.summary, &identities).list;
    // The list is sized once from what each part makes: a miscount leaves room or grows it.
    assert_eq!(list.capacity(), list.len());
    list
}

/// A stand-in `aws` first on PATH: the dry run never calls it.
fn fake_aws_path() -> (tempfile::TempDir, String) {
    let bin = tempfile::tempdir().unwrap();
    crate::common::write_executable(&bin.path().join("aws"), "#!/bin/sh\nexit 97\n");
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    (bin, path)
}

#[test]
fn a_permission_set_gets_one_folder_for_every_account_with_sso_admin_commands() {
    let (exports, org, an) = fixture();
    let dir = tempfile::tempdir().unwrap();
    let summary =
        recommend::write_recommendations_organization(&exports, Some(&org), &an, dir.path())
            .unwrap();
    let rec = summary
        .get(MGMT, PrincipalType::PermissionSet, "Developer")
        .unwrap();
    let folder = "recommendations/999999999999/permission_set/Developer";
    assert_eq!(rec.path.as_deref(), Some(folder));
    let at = dir.path().join(folder);
    // Exactly the README and the documents the commands send: the new inline policy, and the
    // original the rollback puts back. A detached AWS managed policy needs no file (no tightened
    // copy: it is detached, not replaced; the rollback attaches it by ARN).
    let mut names: Vec<String> = std::fs::read_dir(&at)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "README.md",
            "inline-policy.json",
            "inline-policy.original.json"
        ]
    );
    let set = "--instance-arn arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6 \
               --permission-set-arn arn:aws:sso:::permissionSet/ssoins-7223a1b2c3d4e5f6/ps-0a1b2c3d4e5f6a7b";
    let readme = std::fs::read_to_string(at.join("README.md")).unwrap();
    let apply = readme_block(&readme, "apply");
    assert_eq!(
        apply,
        [
            format!(
                "aws sso-admin put-inline-policy-to-permission-set {set} --inline-policy file://inline-policy.json --region eu-west-1"
            ),
            format!(
                "aws sso-admin detach-managed-policy-from-permission-set {set} --managed-policy-arn arn:aws:iam::aws:policy/AWSCloudTrail_ReadOnlyAccess --region eu-west-1"
            ),
            format!(
                "aws sso-admin detach-managed-policy-from-permission-set {set} --managed-policy-arn arn:aws:iam::aws:policy/AWSLambda_ReadOnlyAccess --region eu-west-1"
            ),
            format!(
                "aws sso-admin provision-permission-set {set} --target-type ALL_PROVISIONED_ACCOUNTS --region eu-west-1"
            ),
        ]
    );
    let rollback = readme_block(&readme, "rollback");
    assert_eq!(
        rollback,
        [
            format!(
                "aws sso-admin attach-managed-policy-to-permission-set {set} --managed-policy-arn arn:aws:iam::aws:policy/AWSLambda_ReadOnlyAccess --region eu-west-1"
            ),
            format!(
                "aws sso-admin attach-managed-policy-to-permission-set {set} --managed-policy-arn arn:aws:iam::aws:policy/AWSCloudTrail_ReadOnlyAccess --region eu-west-1"
            ),
            format!(
                "aws sso-admin put-inline-policy-to-permission-set {set} --inline-policy file://inline-policy.original.json --region eu-west-1"
            ),
            format!(
                "aws sso-admin provision-permission-set {set} --target-type ALL_PROVISIONED_ACCOUNTS --region eu-west-1"
            ),
        ]
    );
    // The README covers both accounts: evidence per account, provisioning to both; and each
    // policy's diff, the detached ones to what they keep.
    for needle in [
        "# Recommendation for permission set `Developer` (IAM Identity Center)",
        "## How the permission set changes",
        "Why merge",
        "## Evidence per account",
        "| 111111111111 | `AWSReservedSSO_Developer_0a1b2c3d4e5f6789` | 2026-11-20 | yes |",
        "| 222222222222 | `AWSReservedSSO_Developer_9f8e7d6c5b4a3210` | 2026-11-20 | yes |",
        "used only in 111111111111: `ec2:DescribeInstances`",
        "used only in 222222222222: `ec2:StartInstances`",
        "rewrites the set's role in every account it is provisioned to (111111111111, 222222222222)",
        "customer managed policy developer-extras is referenced by name in every account",
        "### `AWSLambda_ReadOnlyAccess` (AWS managed)\n\n```diff\n--- aws-managed-AWSLambda_ReadOnlyAccess (original)\n+++ aws-managed-AWSLambda_ReadOnlyAccess (the statements kept, merged into inline-policy.json)\n@@ ",
        "```diff\n--- inline-policy.original.json\n+++ inline-policy.json\n@@ ",
    ] {
        assert!(
            readme.contains(needle),
            "README lacks {needle:?}:\n{readme}"
        );
    }
    // The original inline policy is Identity Center's, for rollback: the very text
    // GetInlinePolicyForPermissionSet returned (here compact), not a reformatted copy, which
    // would not restore the set exactly and could exceed the 32,768 characters (whitespace
    // counted) that PutInlinePolicyToPermissionSet takes.
    let original = std::fs::read_to_string(at.join("inline-policy.original.json")).unwrap();
    let fetched: Value = serde_json::from_slice(
        &std::fs::read(root().join(
            "organization/sso/ssoins-7223a1b2c3d4e5f6/ps-0a1b2c3d4e5f6a7b/inline-policy.json",
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(original, fetched["InlinePolicy"].as_str().unwrap());
    let developer = org
        .permission_sets
        .iter()
        .find(|p| p.name == "Developer")
        .unwrap();
    let parsed: Value = serde_json::from_str(&original).unwrap();
    assert_eq!(parsed, developer.inline_raw.clone().unwrap());

    // The apply helper in the output dry-runs the folder, and its rollback.
    let (_bin, path) = fake_aws_path();
    let script = dir.path().join("recommendations/apply-recommendation.sh");
    for (flag, lines) in [(None, &apply), (Some("--rollback"), &rollback)] {
        // Through bash: this process wrote the script (see `common::write_executable`).
        let mut cmd = std::process::Command::new("bash");
        cmd.arg(&script)
            .args(flag)
            .arg(folder)
            .current_dir(dir.path())
            .env("PATH", &path);
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let printed = String::from_utf8_lossy(&out.stdout);
        for l in lines.iter() {
            assert!(
                printed.contains(l.as_str()),
                "dry run lacks {l}:\n{printed}"
            );
        }
    }
}

#[test]
fn the_set_loses_exactly_its_unused_actions_and_keeps_what_any_account_used() {
    let (exports, org, an) = fixture();
    let c = an.catalog;
    let plans = recommend::plan_organization(&exports, Some(&org), &an);
    let plan = set_plan(&plans, "Developer");
    assert_eq!(plan.skipped, None);
    assert_eq!(&*plan.account_id, MGMT);
    let unused = unused_of(&an, "Developer");
    assert_eq!(plan.sets.remove, unused);
    // Removed: every unused action but those only the customer managed policy grants, which
    // stays as it is (each account's copy).
    let mut removed = plan.sets.before.clone();
    removed.difference_with(&plan.sets.after);
    let customer = ids(c, &["s3:GetBucketTagging", "s3:PutBucketTagging"]);
    let mut expected = unused.clone();
    expected.difference_with(&customer);
    assert_eq!(names(c, &removed), names(c, &expected));
    let mut still = plan.sets.after.clone();
    still.intersect_with(&plan.sets.remove);
    assert_eq!(still, customer);
    // Used in one account only: kept for the set.
    let used_somewhere = ids(
        c,
        &[
            "ec2:DescribeInstances",
            "ec2:StartInstances",
            "lambda:GetFunction",
            "lambda:ListFunctions",
        ],
    );
    assert!(used_somewhere.is_subset(&plan.sets.after));
    assert!(!used_somewhere.intersects(&plan.sets.remove));
    // Unknown in one account, unused in the other: unknown, kept.
    assert!(
        plan.sets
            .after
            .contains(c.lookup_full("sqs:SendMessage").unwrap())
    );
    // Blocked by an SCP in every account and unused: removed like any unused action.
    let run = c.lookup_full("ec2:RunInstances").unwrap();
    assert!(removed.contains(run));
    let i = plan.analysis_index;
    let at = an
        .findings
        .iter()
        .position(|f| f.principal as usize == i && an.actions(f).iter().any(|a| a.id() == run))
        .unwrap();
    assert_eq!(
        an.control_note(at).map(|n| n.effect),
        Some(iam_tighten::policy::control::ControlEffect::Blocked)
    );
    let sets: BTreeSet<&str> = plan
        .policies
        .iter()
        .map(|p| p.policy.name.as_str())
        .collect();
    assert_eq!(
        sets,
        BTreeSet::from([
            "AWSCloudTrail_ReadOnlyAccess",
            "AWSLambda_ReadOnlyAccess",
            "AwsSSOInlinePolicy"
        ])
    );
    // The verification passed, on its own too.
    let mut e = Expander::new(c);
    let (problems, after) = recommend::verify_permission_set(&exports, &org, plan, &mut e);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(after, plan.sets.after);
}

/// A set's accounts whose data ends months apart (account 111111111111's last-accessed jobs
/// moved 100 days later): the set is judged over one window for every account, ending where the
/// first account's data ends, so a use the later account's data shows inside it keeps the action.
/// Each role was judged over its own window: the later account's uses fell before its window,
/// and the set lost `ec2:DescribeInstances` and `lambda:GetFunction`, used there 3–5 days before
/// the window the set's recommendation names.
#[test]
fn a_set_whose_accounts_data_ends_apart_is_judged_over_one_window() {
    let tmp = jobs_later(PROD, 100);
    let (exports, org, an) = analysed(tmp.path());
    let c = an.catalog;
    let used_in_prod = ids(c, &["ec2:DescribeInstances", "lambda:GetFunction"]);
    assert!(!used_in_prod.intersects(&unused_of(&an, "Developer")));
    let set = an
        .principals
        .iter()
        .position(|p| p.kind == PrincipalType::PermissionSet && p.name() == "Developer")
        .unwrap();
    // The set's as-of time (its README's and decision's) is where the window ends.
    assert_eq!(
        an.principals[set].as_of.map(iam_tighten::model::rfc3339),
        Some("2026-11-20T09:12:16.684Z".into())
    );
    let describe = c.lookup_full("ec2:DescribeInstances").unwrap();
    let f = an
        .findings_of(set)
        .find(|f| an.actions(f).iter().any(|a| a.id() == describe))
        .unwrap();
    assert_eq!(
        (
            f.status(),
            f.last_accessed().map(iam_tighten::model::rfc3339)
        ),
        (Status::Used, Some("2026-11-17T08:41:00Z".into()))
    );
    let plans = recommend::plan_organization(&exports, Some(&org), &an);
    let plan = set_plan(&plans, "Developer");
    assert!(used_in_prod.is_subset(&plan.sets.after));
    let readme = readme_of(&exports, &org, &an, "Developer");
    assert!(
        readme.contains("ending 2026-11-20 (where the data of the account exported first ends)")
            && readme.contains(
                "| 111111111111 | `AWSReservedSSO_Developer_0a1b2c3d4e5f6789` | 2027-02-28 | yes |"
            ),
        "{readme}"
    );
    let warning = an
        .warnings
        .iter()
        .find(|w| w.warning.code == "permission_set_windows_differ")
        .expect("a warning");
    assert!(
        warning.warning.message.contains("permission set Developer")
            && warning.warning.message.contains("2026-11-20T09:12:16.684Z"),
        "{}",
        warning.warning.message
    );
    // The set's verdicts are those of the same exports judged with --as-of at the window's end
    // (every role's window then ends there): what the verdict expressions say, action by action.
    let at_end = analysis::analyze_organization(
        &exports,
        Some(&org),
        Catalog::embedded(),
        &Settings::new(90, an.principals[set].as_of).unwrap(),
        &Config::default(),
    )
    .unwrap();
    assert_eq!(
        set_verdicts(&an, "Developer"),
        set_verdicts(&at_end, "Developer")
    );
    // Data that ends together gives no warning.
    let (_, _, an) = fixture();
    assert!(
        an.warnings
            .iter()
            .all(|w| w.warning.code != "permission_set_windows_differ")
    );
}

/// The set's verdicts, for the data of either account ending 1 to 300 days after the other's
/// (its uses moved with it, or not), are those of the same exports judged with `--as-of` at its
/// window's end: `SetWindow::judge` against the verdict expressions, action by action (uses
/// inside the window, before it, after it; actions AWS tracks and does not; every set).
#[test]
fn a_sets_verdicts_are_those_of_one_as_of_at_its_windows_end() {
    for (account, days, uses) in [
        (PROD, 1, false),
        (PROD, 30, false),
        (DEV, 45, false),
        (DEV, 200, false),
        (PROD, 300, false),
        (PROD, 20, true),
        (DEV, 120, true),
    ] {
        let tmp = data_later(account, days, uses);
        assert_sets_judged_as_at_their_windows_end(
            tmp.path(),
            &format!("{account} +{days} (uses too: {uses})"),
        );
    }
}

/// When the last-accessed data of `account`'s first role (in `org`) ends.
fn data_end(org: &Path, account: &str) -> iam_tighten::model::Timestamp {
    let job = org.join(account).join("last-accessed/roles");
    let first = std::fs::read_dir(&job)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let doc: Value = serde_json::from_slice(&std::fs::read(first).unwrap()).unwrap();
    doc["JobCompletionDate"].as_str().unwrap().parse().unwrap()
}

/// A policy of the later account's roles created between the set's window start and that
/// account's own (the accounts' data ends 30 days apart): each role was `unused` over its own
/// window, over the set's it has held the policy for less than the window (`grant_too_new`),
/// as `--as-of` at the window's end judges it.
#[test]
fn a_grant_made_between_the_accounts_window_starts_is_too_new_for_the_set() {
    let tmp = data_later(PROD, 30, false);
    // The set's window starts 90 days before DEV's data ends; PROD's, 60 days before.
    let made = iam_tighten::model::days_before(data_end(tmp.path(), DEV), 75).unwrap();
    crate::common::edit_json(
        &tmp.path().join(PROD).join("authorization-details.json"),
        |d| {
            for p in d["Policies"].as_array_mut().unwrap() {
                p["CreateDate"] = Value::from(iam_tighten::model::rfc3339(made));
            }
        },
    );
    let (_, _, an) = analysed(tmp.path());
    let too_new = an
        .findings
        .iter()
        .filter(|f| an.principal(f).kind == PrincipalType::PermissionSet)
        .any(|f| f.reason == analysis::Reason::GrantTooNew);
    assert!(too_new, "no set verdict is grant_too_new");
    assert_sets_judged_as_at_their_windows_end(tmp.path(), "a policy made in the gap");
}

/// As above, where a version of AWSCloudTrail_ReadOnlyAccess made in the gap added some of its
/// actions (v1, listed, lacks them): the actions of one grant of the role then have two dates,
/// and each is judged again over the set's window by its own (they were looked up by principal
/// and granting policies alone, one date for all).
#[test]
fn actions_a_version_made_between_the_accounts_window_starts_added_are_too_new_for_the_set() {
    let tmp = data_later(PROD, 30, false);
    let made = Value::from(iam_tighten::model::rfc3339(
        iam_tighten::model::days_before(data_end(tmp.path(), DEV), 75).unwrap(),
    ));
    let details = tmp.path().join(PROD).join("authorization-details.json");
    crate::common::edit_json(&details, |d| {
        for p in d["Policies"].as_array_mut().unwrap() {
            if p["PolicyName"] != "AWSCloudTrail_ReadOnlyAccess" {
                continue;
            }
            p["UpdateDate"] = made.clone();
            p["DefaultVersionId"] = "v2".into();
            let versions = p["PolicyVersionList"].as_array_mut().unwrap();
            versions[0]["CreateDate"] = made.clone();
            versions[0]["VersionId"] = "v2".into();
            let older = serde_json::json!({
                "VersionId": "v1", "IsDefaultVersion": false,
                "CreateDate": "2024-03-01T10:00:00Z",
                "Document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Action": ["cloudtrail:Describe*", "cloudtrail:LookupEvents"],
                    "Resource": "*"}]}
            });
            versions.push(older);
        }
    });
    let (_, _, an) = analysed(tmp.path());
    let set_reason = |action: &str| {
        let id = Catalog::embedded().lookup_full(action).unwrap();
        an.findings
            .iter()
            .filter(|f| an.principal(f).kind == PrincipalType::PermissionSet)
            .filter(|f| an.principal(f).name() == "Developer")
            .find(|f| an.actions(f).iter().any(|a| a.id() == id))
            .map(|f| f.reason)
    };
    assert_eq!(
        set_reason("cloudtrail:GetTrail"),
        Some(analysis::Reason::GrantTooNew)
    );
    assert_ne!(
        set_reason("cloudtrail:DescribeTrails"),
        Some(analysis::Reason::GrantTooNew)
    );
    assert_sets_judged_as_at_their_windows_end(tmp.path(), "a version made in the gap");
}

/// Every set's verdicts in the organisation at `at` are those of the exports judged with
/// `--as-of` at the set's window end (`case` names the case in a failure).
fn assert_sets_judged_as_at_their_windows_end(at: &Path, case: &str) {
    {
        let (exports, org, an) = analysed(at);
        let sets: Vec<(String, Option<iam_tighten::model::Timestamp>)> = an
            .principals
            .iter()
            .filter(|p| p.kind == PrincipalType::PermissionSet)
            .map(|p| (p.name().to_string(), p.as_of))
            .collect();
        assert!(sets.len() >= 2);
        for (name, as_of) in sets {
            // The exports that reach the window's end (every account of the set does).
            let reach: Vec<Export> = exports
                .iter()
                .filter(|e| e.own_time() >= as_of)
                .cloned()
                .collect();
            let at_end = analysis::analyze_organization(
                &reach,
                Some(&org),
                Catalog::embedded(),
                &Settings::new(90, as_of).unwrap(),
                &Config::default(),
            )
            .unwrap();
            let got = set_verdicts(&an, &name);
            assert!(!got.is_empty());
            assert_eq!(got, set_verdicts(&at_end, &name), "{name}: {case}");
        }
    }
}

/// A copy of the fixture whose `account`'s last-accessed jobs end `days` later.
fn jobs_later(account: &str, days: u32) -> tempfile::TempDir {
    data_later(account, days, false)
}

/// A copy of the fixture whose `account`'s last-accessed jobs end `days` later, and its uses
/// with them when `uses`.
fn data_later(account: &str, days: u32, uses: bool) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    crate::common::copy_dir(&root(), tmp.path());
    let later = |t: &Value| {
        let t: iam_tighten::model::Timestamp = t.as_str().unwrap().parse().unwrap();
        Value::from(iam_tighten::model::rfc3339(
            iam_tighten::model::days_after(t, days).unwrap(),
        ))
    };
    for kind in ["roles", "users", "groups"] {
        let dir = tmp.path().join(account).join("last-accessed").join(kind);
        for f in std::fs::read_dir(&dir).into_iter().flatten() {
            crate::common::edit_json(&f.unwrap().path(), |doc| {
                for key in ["JobCreationDate", "JobCompletionDate"] {
                    doc[key] = later(&doc[key]);
                }
                if !uses {
                    return;
                }
                for svc in doc["ServicesLastAccessed"].as_array_mut().unwrap() {
                    if svc["LastAuthenticated"].is_string() {
                        svc["LastAuthenticated"] = later(&svc["LastAuthenticated"]);
                    }
                    for a in svc["TrackedActionsLastAccessed"]
                        .as_array_mut()
                        .into_iter()
                        .flatten()
                    {
                        if a["LastAccessedTime"].is_string() {
                            a["LastAccessedTime"] = later(&a["LastAccessedTime"]);
                        }
                    }
                }
            });
        }
    }
    tmp
}

/// The README of permission set `name`'s recommendation folder.
fn readme_of(exports: &[Export], org: &Organization, an: &Analysis<'_>, name: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    recommend::write_recommendations_organization(exports, Some(org), an, dir.path()).unwrap();
    let at = dir.path().join(format!(
        "recommendations/{MGMT}/permission_set/{name}/README.md"
    ));
    std::fs::read_to_string(at).unwrap()
}

/// Per action of the set `name`: its reason and last access.
fn set_verdicts(an: &Analysis<'_>, name: &str) -> Vec<(String, analysis::Reason, Option<String>)> {
    let set = an
        .principals
        .iter()
        .position(|p| p.kind == PrincipalType::PermissionSet && p.name() == name)
        .unwrap();
    let mut out: Vec<_> = an
        .findings_of(set)
        .flat_map(|f| {
            an.actions(f).iter().map(move |a| {
                (
                    an.catalog.full_name(a.id()),
                    f.reason,
                    f.last_accessed().map(iam_tighten::model::rfc3339),
                )
            })
        })
        .collect();
    out.sort();
    out
}

/// A set's `service_not_accessed` verdict keeps the newest use of the service its roles' data
/// shows before the window: `last_accessed` was empty ("never") though a role had used it.
#[test]
fn a_sets_unused_service_keeps_the_newest_use_before_the_window() {
    let tmp = tempfile::tempdir().unwrap();
    crate::common::copy_dir(&root(), tmp.path());
    let file = tmp
        .path()
        .join(DEV)
        .join("last-accessed/roles/AWSReservedSSO_Developer_9f8e7d6c5b4a3210.json");
    crate::common::edit_json(&file, |doc| {
        let services = doc["ServicesLastAccessed"].as_array_mut().unwrap();
        services.retain(|s| s["ServiceNamespace"] != "kms");
        services.push(json!({"ServiceName": "AWS Key Management Service",
            "ServiceNamespace": "kms", "LastAuthenticated": "2026-07-15T00:00:00Z",
            "LastAuthenticatedRegion": "eu-west-1",
            "LastAuthenticatedEntity": "arn:aws:iam::222222222222:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Developer_9f8e7d6c5b4a3210",
            "TotalAuthenticatedEntities": 1}));
    });
    let (_, _, an) = analysed(tmp.path());
    let set = an
        .principals
        .iter()
        .position(|p| p.kind == PrincipalType::PermissionSet && p.name() == "Developer")
        .unwrap();
    let aliases = an.catalog.lookup_full("kms:ListAliases").unwrap();
    let f = an
        .findings_of(set)
        .find(|f| an.actions(f).iter().any(|a| a.id() == aliases))
        .unwrap();
    assert_eq!(
        (f.reason, f.last_accessed().map(iam_tighten::model::rfc3339)),
        (
            analysis::Reason::ServiceNotAccessed,
            Some("2026-07-15T00:00:00Z".into())
        )
    );
}

#[test]
fn an_aws_managed_policy_is_detached_and_what_it_keeps_merged_into_the_inline_policy() {
    let (exports, org, an) = fixture();
    let c = an.catalog;
    let plans = recommend::plan_organization(&exports, Some(&org), &an);
    let plan = set_plan(&plans, "Developer");
    let by = |n: &str| plan.policies.iter().find(|p| p.policy.name == n).unwrap();
    assert_eq!(by("AWSCloudTrail_ReadOnlyAccess").apply, Apply::Detach);
    assert_eq!(by("AWSLambda_ReadOnlyAccess").apply, Apply::MergeIntoInline);
    let inline = by("AwsSSOInlinePolicy");
    assert_eq!(inline.apply, Apply::PutInline);
    assert_eq!(&*inline.stem, "inline-policy");
    let target = plan.permission_set.as_ref().unwrap();
    assert_eq!(target.accounts, [PROD, DEV]);
    assert_eq!(
        target.instance_arn,
        "arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6"
    );
    assert_eq!(target.region.as_deref(), Some("eu-west-1"));
    assert!(target.had_inline);
    // The set's own statements first (Functions is gone: nothing in it is used), its Deny kept,
    // then the two statements AWSLambda_ReadOnlyAccess keeps.
    assert_eq!(
        target.merged,
        [("AWSLambda_ReadOnlyAccess".to_string(), 3..5)]
    );
    let st = inline.tightened.parts.document["Statement"]
        .as_array()
        .unwrap();
    assert_eq!(st.len(), 5);
    assert_eq!(st[0]["Sid"], "Compute");
    assert_eq!(
        st[0]["Action"],
        json!(["ec2:DescribeInstances", "ec2:StartInstances"])
    );
    assert_eq!(
        st[1],
        json!({"Sid": "Queues", "Effect": "Allow", "Action": "sqs:*", "Resource": "*"})
    );
    assert_eq!(
        st[2],
        json!({"Sid": "NoUsers", "Effect": "Deny", "Action": "iam:CreateUser", "Resource": "*"})
    );
    let actions = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect()
    };
    let merged = actions(&st[3]["Action"]);
    assert!(merged.contains(&"logs:DescribeLogGroups".to_string()));
    assert!(
        merged.contains(&"lambda:List*".to_string()),
        "untouched wildcard stays"
    );
    assert!(merged.contains(&"lambda:GetFunction".to_string()));
    assert!(
        !merged
            .iter()
            .any(|a| a == "lambda:Get*" || a == "lambda:GetAccountSettings")
    );
    assert!(
        !merged
            .iter()
            .any(|a| a.starts_with("iam:") || a.starts_with("cloudformation:"))
    );
    assert_eq!(
        st[4]["Resource"],
        "arn:aws:logs:*:*:log-group:/aws/lambda/*"
    );
    assert_eq!(actions(&st[4]["Action"]).len(), 11);
    // The new inline policy grants nothing removed and nothing its sources did not.
    let mut e = Expander::new(c);
    let new = e.document(inline.new_document()).allowed;
    assert!(!new.intersects(&plan.sets.remove));
    let mut sources = e.document(inline.original()).allowed;
    sources.union_with(
        &e.document(by("AWSLambda_ReadOnlyAccess").original())
            .allowed,
    );
    assert!(new.is_subset(&sources));
    assert!(inline.size <= recommend::limits::INLINE_ROLE);
    // The reviewer is told the merged policy no longer follows AWS's updates.
    assert!(
        plan.flag_texts()
            .any(|f| f.starts_with("AWSLambda_ReadOnlyAccess: detached"))
    );
}

/// An AWS managed policy has one current version, which every account's role holds: the set's
/// plan reads the newest default version any export holds. With the reference account's export
/// holding an older one (fetched earlier), its statements were merged into the inline policy
/// and `lambda:ListFunctions`, which the newer version grants and the role of the other account
/// used, was dropped, the plan verified (review pass 47).
#[test]
fn a_sets_aws_managed_policy_is_read_in_its_newest_version_of_any_export() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::copy_dir(&root(), dir.path());
    crate::common::edit_json(
        &dir.path().join(PROD).join("authorization-details.json"),
        |d| {
            let policies = d["Policies"].as_array_mut().unwrap();
            let p = policies
                .iter_mut()
                .find(|p| p["PolicyName"] == "AWSLambda_ReadOnlyAccess")
                .unwrap();
            p["DefaultVersionId"] = json!("v4");
            p["UpdateDate"] = json!("2023-01-01T10:00:00Z");
            let v = &mut p["PolicyVersionList"][0];
            v["VersionId"] = json!("v4");
            v["CreateDate"] = json!("2023-01-01T10:00:00Z");
            let actions = v["Document"]["Statement"][0]["Action"]
                .as_array_mut()
                .unwrap();
            actions.retain(|a| a != "lambda:List*");
        },
    );
    let (exports, org, an) = analysed(dir.path());
    let plans = recommend::plan_organization(&exports, Some(&org), &an);
    let plan = set_plan(&plans, "Developer");
    let inline = plan
        .policies
        .iter()
        .find(|p| p.policy.name == "AwsSSOInlinePolicy")
        .unwrap();
    let text = inline.tightened.parts.document.to_string();
    assert!(text.contains("lambda:List*"), "{text}");
    let mut e = Expander::new(an.catalog);
    let (problems, _) = recommend::verify_permission_set(&exports, &org, plan, &mut e);
    assert!(problems.is_empty(), "{problems:?}");
}

#[test]
fn verification_catches_a_broken_permission_set_plan() {
    let (exports, org, an) = fixture();
    let plans = recommend::plan_organization(&exports, Some(&org), &an);
    let plan = set_plan(&plans, "Developer");
    let mut e = Expander::new(an.catalog);
    let inline_at = plan
        .policies
        .iter()
        .position(|p| p.policy.kind == PolicyKind::Inline)
        .unwrap();
    let broken = |edit: &dyn Fn(&mut Value)| {
        let mut bad = plan.clone();
        let p = &mut bad.policies[inline_at];
        let mut doc = p.tightened.parts.document.clone();
        edit(&mut doc);
        p.documents_mut().new_document = PolicyDocument::from_value(doc).unwrap();
        recommend::verify_permission_set(&exports, &org, &bad, &mut Expander::new(an.catalog)).0
    };
    // A needed action dropped (ec2:DescribeInstances is used in prod).
    let problems = broken(&|d| d["Statement"][0]["Action"] = json!(["ec2:StartInstances"]));
    assert!(
        problems.iter().any(
            |p| p.contains("needed action(s) would no longer be granted")
                && p.contains("ec2:DescribeInstances")
        ),
        "{problems:?}"
    );
    // A removed action put back.
    let problems = broken(&|d| {
        d["Statement"][0]["Action"] = json!([
            "ec2:DescribeInstances",
            "ec2:StartInstances",
            "ec2:RunInstances"
        ])
    });
    assert!(
        problems
            .iter()
            .any(|p| p.contains("still grants 1 removed action(s), e.g. ec2:RunInstances")),
        "{problems:?}"
    );
    // The Deny statement lost: it would grant more.
    let problems = broken(&|d| {
        d["Statement"].as_array_mut().unwrap().remove(2);
    });
    assert!(
        problems
            .iter()
            .any(|p| p.contains("Deny statements changed")),
        "{problems:?}"
    );
    // Something none of the sources granted.
    let problems = broken(&|d| d["Statement"][1]["Action"] = json!(["sqs:*", "iam:PassRole"]));
    assert!(
        problems
            .iter()
            .any(|p| p.contains("grants actions that none of the policies it replaces grants")),
        "{problems:?}"
    );
    // Something beyond the catalog none of the sources granted (review pass 47).
    let problems = broken(&|d| d["Statement"][1]["Action"] = json!(["sqs:*", "newsvc:*"]));
    assert!(
        problems
            .iter()
            .any(|p| p.contains("may grant actions the catalog does not know")),
        "{problems:?}"
    );
    // Unbroken, it passes.
    assert!(broken(&|_| {}).is_empty());
    // A managed policy detached whose statements were not merged: needed actions lost.
    let mut bad = plan.clone();
    let p = bad
        .policies
        .iter_mut()
        .find(|p| p.policy.kind == PolicyKind::Inline)
        .unwrap();
    let mut doc = p.tightened.parts.document.clone();
    doc["Statement"].as_array_mut().unwrap().truncate(3);
    p.documents_mut().new_document = PolicyDocument::from_value(doc).unwrap();
    let (problems, _) = recommend::verify_permission_set(&exports, &org, &bad, &mut e);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("needed action(s) would no longer be granted, e.g. lambda:")),
        "{problems:?}"
    );
}

#[test]
fn identity_center_roles_get_no_folder_and_no_decision_of_their_own() {
    let (exports, org, an) = fixture();
    let dir = tempfile::tempdir().unwrap();
    let planned = recommend::plan_all_organization(&exports, Some(&org), &an, None);
    planned.write(&an, dir.path()).unwrap();
    let roles = [
        (
            PROD,
            "AWSReservedSSO_Developer_0a1b2c3d4e5f6789",
            "Developer",
        ),
        (
            DEV,
            "AWSReservedSSO_Developer_9f8e7d6c5b4a3210",
            "Developer",
        ),
        (DEV, "AWSReservedSSO_Admin_1a2b3c4d5e6f7a8b", "Admin"),
        (PROD, "AWSReservedSSO_Auditor_3c4d5e6f7a8b9c0d", "Auditor"),
    ];
    for (account, role, set) in roles {
        let rec = planned
            .summary
            .get(account, PrincipalType::Role, role)
            .unwrap();
        assert_eq!(rec.skipped.as_deref(), Some("managed_by_permission_set"));
        assert_eq!(rec.managed_by_permission_set.as_deref(), Some(set));
        assert_eq!(rec.path, None);
        assert!(
            rec.flag_texts()
                .any(|f| f.contains(&format!("permission_set {set} of account {MGMT}"))),
            "{:?}",
            rec.flags
        );
        assert!(
            !dir.path()
                .join("recommendations")
                .join(account)
                .join("role")
                .join(role)
                .exists()
        );
    }
    // The ordinary role still gets its folder.
    assert!(
        dir.path()
            .join("recommendations/111111111111/role/app/README.md")
            .is_file()
    );
    let list = decide(&exports, &an, &planned);
    let about = |name: &str| -> Vec<&Decision> {
        list.iter().filter(|d| &*d.principal_name == name).collect()
    };
    for (_, role, _) in roles {
        assert!(
            about(role)
                .iter()
                .all(|d| d.kind == DecisionKind::ReviewPermissionSetAssignment),
            "{role}: {:?}",
            about(role)
        );
    }
    // The unused Auditor role: its assignment to review, never a deletion.
    let auditor = about("AWSReservedSSO_Auditor_3c4d5e6f7a8b9c0d");
    assert_eq!(auditor.len(), 1);
    assert_eq!(&*auditor[0].subject, "Auditor");
    assert!(
        auditor[0]
            .title()
            .starts_with("Review the assignment of permission set Auditor to account 111111111111")
    );
    assert!(!list.iter().any(|d| d.kind == DecisionKind::DeleteRole));
    // The unused Admin role is intentional (an administrator set): confirmed once, as the set.
    assert!(about("AWSReservedSSO_Admin_1a2b3c4d5e6f7a8b").is_empty());
    let admin = about("Admin");
    assert_eq!(admin.len(), 1);
    assert_eq!(admin[0].kind, DecisionKind::ConfirmIntentional);
    assert_eq!(admin[0].principal_type.as_str(), "permission_set");
    assert_eq!(
        admin[0].intentional.as_ref().unwrap().rule,
        "sso_admin_permission_set"
    );
    // Its folder says so first, and shows the set reduced within Identity Center's limits.
    let readme = std::fs::read_to_string(
        dir.path()
            .join("recommendations/999999999999/permission_set/Admin/README.md"),
    )
    .unwrap();
    assert!(readme.contains("Intentional access: do not apply this without its owner"));
    let admin_plan = set_plan(&planned.plans, "Admin");
    assert_eq!(admin_plan.skipped, None);
    let inline = &admin_plan.policies[0];
    assert!(inline.tightened.minimised);
    assert!(
        inline.size <= recommend::limits::INLINE_ROLE,
        "{}",
        inline.size
    );
    // The set had no inline policy: rolling back deletes the new one.
    let (_, rollback) = recommend::commands(admin_plan);
    assert!(rollback[1].starts_with("aws sso-admin delete-inline-policy-from-permission-set "));
    // Without the organisation part, a permission set principal is not planned.
    let plans = recommend::plan(&exports, &an);
    assert_eq!(
        set_plan(&plans, "Developer").skipped.as_deref(),
        Some("permission_set_not_found")
    );
}

/// A permission set's apply only detaches managed policies (Identity Center allows 20 AWS and
/// customer managed policies per set, and IAM 10 per role by default in every account it is
/// provisioned to), after the new inline policy is put; its rollback attaches back exactly
/// those. So neither ever holds more than the set had: the set needs no reordering and no quota
/// flag.
#[test]
fn a_permission_set_never_holds_more_managed_policies_than_it_had() {
    let (exports, org, an) = fixture();
    let plans = recommend::plan_organization(&exports, Some(&org), &an);
    let mut detaching = 0;
    for plan in plans.iter().filter(|p| p.permission_set.is_some()) {
        if plan.skipped.is_some() {
            continue;
        }
        let set = org
            .permission_sets
            .iter()
            .find(|s| s.name == plan.name)
            .unwrap();
        let start: Vec<String> = set.managed_policies.iter().map(|m| m.arn.clone()).collect();
        let (apply, rollback) = recommend::commands(plan);
        let applied = attached_after_each(&start, &apply);
        let end: Vec<String> = applied.last().unwrap().iter().cloned().collect();
        let rolled = attached_after_each(&end, &rollback);
        assert_eq!(rolled.last(), applied.first(), "{}", plan.name);
        assert!(
            applied
                .iter()
                .chain(&rolled)
                .all(|s| s.len() <= start.len()),
            "{}: {apply:#?} {rollback:#?}",
            plan.name
        );
        assert!(
            plan.flag_texts().all(|f| !f.contains("quota")),
            "{}",
            plan.name
        );
        let first_detach = apply.iter().position(|l| l.contains(" detach-"));
        if let Some(d) = first_detach {
            detaching += 1;
            let put = apply.iter().position(|l| l.contains("put-inline-policy"));
            assert!(put.is_none_or(|p| p < d), "{}: {apply:#?}", plan.name);
        }
    }
    assert!(detaching > 0, "no permission set plan detaches a policy");
}

#[test]
fn a_permission_set_is_one_decision() {
    let (exports, org, an) = fixture();
    let planned = recommend::plan_all_organization(&exports, Some(&org), &an, None);
    let list = decide(&exports, &an, &planned);
    let dev: Vec<&Decision> = list
        .iter()
        .filter(|d| {
            d.principal_type.as_str() == "permission_set" && &*d.principal_name == "Developer"
        })
        .collect();
    assert_eq!(dev.len(), 1, "{dev:#?}");
    let d = dev[0];
    assert_eq!(d.kind, DecisionKind::TightenPermissionSet);
    assert_eq!(&*d.account_id, MGMT);
    assert_eq!(
        &*d.principal_arn,
        "arn:aws:sso:::permissionSet/ssoins-7223a1b2c3d4e5f6/ps-0a1b2c3d4e5f6a7b"
    );
    assert_eq!(
        d.title(),
        "Tighten permission set Developer (all 2 provisioned accounts): rewrite its inline policy; \
         detach AWS managed policy AWSCloudTrail_ReadOnlyAccess; detach AWS managed policy \
         AWSLambda_ReadOnlyAccess (what it keeps merged into the inline policy)"
    );
    let plan = set_plan(&planned.plans, "Developer");
    let mut removed = plan.sets.before.clone();
    removed.difference_with(&plan.sets.after);
    let r = d.removes;
    // What an SCP blocks in every account of the set is removed too, and weighs nothing.
    let mut blocked = an.blocked_of(plan.analysis_index).unwrap();
    blocked.intersect_with(&removed);
    assert_eq!(blocked.len(), 1);
    assert_eq!(
        r.critical + r.high + r.medium + r.low + blocked.len() as u32,
        removed.len() as u32
    );
    assert_eq!(r.critical, 1, "lambda:UpdateFunctionCode");
    assert!(
        d.risky_actions
            .iter()
            .any(|a| a.action == "lambda:UpdateFunctionCode")
    );
    assert_eq!(
        d.files.as_deref(),
        Some("recommendations/999999999999/permission_set/Developer/inline-policy.json")
    );
    assert!(
        d.evidence
            .ends_with("provisioned to 111111111111, 222222222222")
    );
    assert!(d.evidence.contains("ec2:DescribeInstances"));
    // The Auditor set is left with nothing: one decision, and the flag says to remove it.
    let auditor = set_plan(&planned.plans, "Auditor");
    assert!(auditor.flag_texts().any(|f| f.contains("grants nothing")));
    let a: Vec<&Decision> = list
        .iter()
        .filter(|d| {
            d.principal_type.as_str() == "permission_set" && &*d.principal_name == "Auditor"
        })
        .collect();
    assert_eq!(a.len(), 1);
    assert!(a[0].title().starts_with(
        "Tighten permission set Auditor (its one provisioned account, 111111111111): detach"
    ));
    assert_eq!(
        a[0].files.as_deref(),
        Some("recommendations/999999999999/permission_set/Auditor/README.md")
    );
    // No decision about a single policy of a set.
    assert!(
        !list
            .iter()
            .any(|d| d.principal_type.as_str() == "permission_set"
                && !matches!(
                    d.kind,
                    DecisionKind::TightenPermissionSet | DecisionKind::ConfirmIntentional
                ))
    );
}

/// `report` on the organisation folder writes the set's folder and decision end to end.
#[test]
fn report_writes_the_permission_set_recommendation() {
    let out = tempfile::tempdir().unwrap();
    assert_cmd::Command::cargo_bin("iam-tighten")
        .unwrap()
        .args([
            "report",
            root().to_str().unwrap(),
            "--format",
            "json,csv",
            "--out",
        ])
        .arg(out.path())
        .assert()
        .success();
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("recommendations/summary.json")).unwrap(),
    )
    .unwrap();
    let dev = summary["principals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["principal_type"] == "permission_set" && p["principal_name"] == "Developer")
        .unwrap();
    assert_eq!(
        dev["path"],
        "recommendations/999999999999/permission_set/Developer"
    );
    let kinds: Vec<&str> = dev["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["apply"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["put_inline", "detach", "merge_into_inline"]);
    let csv = std::fs::read_to_string(out.path().join("decisions.csv")).unwrap();
    assert!(csv.contains(",tighten_permission_set,"), "{csv}");
    assert!(csv.contains(",review_permission_set_assignment,"), "{csv}");
    assert!(!csv.contains(",delete_role,"), "{csv}");
}

/// A role changed since the set was last provisioned (here: one more action in its inline
/// policy) is flagged; what only that role grants is not the set's to keep, so the plan stands.
#[test]
fn a_role_that_differs_from_its_permission_set_is_flagged_and_the_plan_stands() {
    let (mut exports, org, _) = fixture();
    let dev = exports.iter_mut().find(|e| e.account_id == DEV).unwrap();
    let role = dev
        .principals
        .iter_mut()
        .find(|p| p.name == "AWSReservedSSO_Developer_9f8e7d6c5b4a3210")
        .unwrap();
    let mut raw = role.inline_policies[0].document.raw.value().into_owned();
    raw["Statement"][0]["Action"]
        .as_array_mut()
        .unwrap()
        .push(json!("ec2:RebootInstances"));
    role.inline_policies[0].document = PolicyDocument::from_value(raw).unwrap();
    let an = analyse(&exports, &org);
    let plans = recommend::plan_organization(&exports, Some(&org), &an);
    let plan = set_plan(&plans, "Developer");
    assert_eq!(plan.skipped, None);
    let reboot = an.catalog.lookup_full("ec2:RebootInstances").unwrap();
    assert!(plan.sets.needed.contains(reboot), "unknown in dev: needed");
    assert!(
        !plan.sets.before.contains(reboot),
        "the definition does not grant it"
    );
    assert!(
        plan.flag_texts().any(|f| f.starts_with(
            "account 222222222222: role AWSReservedSSO_Developer_9f8e7d6c5b4a3210 differs from the permission set's definition (its inline policy)"
        )),
        "{:?}",
        plan.flags
    );
}

#[test]
fn dropping_the_verification_inputs_changes_no_permission_set_folder() {
    let (exports, org, an) = fixture();
    let full = recommend::plan_all_organization(&exports, Some(&org), &an, None);
    let mut slim = recommend::plan_all_organization(&exports, Some(&org), &an, None);
    slim.drop_verification_inputs();
    assert!(slim.plans.iter().any(|p| p.permission_set.is_some()));
    crate::common::same_outputs_without_verification_inputs(&an, &full, &slim, |p| {
        serde_json::to_value(decide(&exports, &an, p)).unwrap()
    });
}

/// `analyze_organization_freeing` (what `report` runs) is `analyze_organization` that also
/// frees each export's last-accessed data once collected: the same findings, principals and
/// warnings; the exports lose their last-accessed data and nothing else.
#[test]
fn analysing_while_freeing_the_last_accessed_data_gives_the_same_analysis() {
    let (exports, org, an) = fixture();
    let mut freed = exports.clone();
    assert!(freed.iter().any(|e| !e.last_accessed.is_empty()));
    let an2 = analysis::analyze_organization_freeing(
        &mut freed,
        Some(&org),
        Catalog::embedded(),
        &Settings::new(90, None).unwrap(),
        &Config::default(),
    )
    .unwrap();
    // Every field, ids into the analysis' tables included.
    assert_eq!(format!("{:?}", an.findings), format!("{:?}", an2.findings));
    assert_eq!(
        format!("{:?}", an.principals),
        format!("{:?}", an2.principals)
    );
    assert_eq!(json(&an.warnings), json(&an2.warnings));
    assert!(!an.findings.is_empty());
    for (e, f) in exports.iter().zip(&freed) {
        assert!(f.last_accessed.is_empty(), "{}", f.account_id);
        let mut e = e.clone();
        e.last_accessed = Default::default();
        assert_eq!(format!("{e:?}"), format!("{f:?}"));
    }
}

fn json(v: &impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(v).unwrap()
}

/// Without the organisation part an Identity Center role is still Identity Center's: not
/// actionable, flagged `managed_by_identity_center`, no folder and no IAM edit of its policies
/// (Identity Center would undo them), and a flag saying where the change belongs. With the
/// organisation part the same role is `managed_by_permission_set` instead.
#[test]
fn identity_center_roles_without_the_organisation_part_get_no_iam_edits() {
    let exports = input::load_exports(&[root().join(PROD)], &LoadOptions::default()).unwrap();
    let settings = Settings::new(90, None).unwrap();
    let an =
        analysis::analyze(&exports, Catalog::embedded(), &settings, &Config::default()).unwrap();
    let role = "AWSReservedSSO_Developer_0a1b2c3d4e5f6789";
    let info = an.principals.iter().find(|p| p.name() == role).unwrap();
    assert!(!info.actionable);
    assert!(
        info.flags.contains(&"managed_by_identity_center"),
        "{:?}",
        info.flags
    );
    let dir = tempfile::tempdir().unwrap();
    let planned = recommend::plan_all_organization(&exports, None, &an, None);
    planned.write(&an, dir.path()).unwrap();
    let rec = planned
        .summary
        .get(PROD, PrincipalType::Role, role)
        .unwrap();
    assert_eq!(rec.skipped.as_deref(), Some("managed_by_identity_center"));
    assert!(
        rec.flag_texts()
            .any(|f| f.contains("belongs to that permission set")),
        "{:?}",
        rec.flags
    );
    assert!(
        !dir.path()
            .join(format!("recommendations/{PROD}/role/{role}"))
            .exists()
    );
    let list = decide(&exports, &an, &planned);
    assert!(
        list.iter()
            .filter(|d| &*d.principal_name == role)
            .all(|d| !matches!(
                d.kind,
                DecisionKind::DetachPolicy
                    | DecisionKind::DeleteInlinePolicy
                    | DecisionKind::ReplaceInlinePolicy
                    | DecisionKind::ReplaceManagedPolicy
                    | DecisionKind::NewPolicyVersion
                    | DecisionKind::DeleteRole
            )),
        "{list:?}"
    );
    // The ordinary role of the account still gets its folder.
    assert!(
        dir.path()
            .join(format!("recommendations/{PROD}/role/app/README.md"))
            .is_file()
    );
    // With the organisation part: the permission set's flag, not both.
    let (_, _, an) = fixture();
    let info = an.principals.iter().find(|p| p.name() == role).unwrap();
    assert!(
        info.flags.contains(&"managed_by_permission_set"),
        "{:?}",
        info.flags
    );
    assert!(
        !info.flags.contains(&"managed_by_identity_center"),
        "{:?}",
        info.flags
    );
}

/// A permission set keeps what any of its roles used that the catalog does not know: its roles
/// name it by its name, the set itself holds its ARN.
#[test]
fn a_permission_set_keeps_what_its_roles_used_beyond_the_catalog() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::copy_dir(&root(), dir.path());
    let file = dir
        .path()
        .join(PROD)
        .join("last-accessed/roles/AWSReservedSSO_Developer_0a1b2c3d4e5f6789.json");
    crate::common::edit_json(&file, |la| {
        let done = la["JobCompletionDate"].as_str().unwrap().to_string();
        la["ServicesLastAccessed"]
            .as_array_mut()
            .unwrap()
            .push(json!({
                "ServiceNamespace": "newsvc", "ServiceName": "New", "LastAuthenticated": done,
                "TotalAuthenticatedEntities": 1,
                "TrackedActionsLastAccessed": [{"ActionName": "DoThing", "LastAccessedTime": done}]
            }));
    });
    let (_, _, an) = analysed(dir.path());
    let index = |kind: PrincipalType, name: &str| {
        an.principals
            .iter()
            .position(|p| p.kind == kind && p.name().starts_with(name))
            .unwrap()
    };
    let role = index(
        PrincipalType::Role,
        "AWSReservedSSO_Developer_0a1b2c3d4e5f6789",
    );
    // The service was used in the window: which of its actions AWS does not track, the catalog
    // cannot say, so all of it is kept.
    assert_eq!(an.uncatalogued_of(role), ["newsvc:*", "newsvc:DoThing"]);
    let set = index(PrincipalType::PermissionSet, "Developer");
    assert_eq!(an.uncatalogued_of(set), ["newsvc:*", "newsvc:DoThing"]);
    let other = index(PrincipalType::PermissionSet, "Auditor");
    assert!(an.uncatalogued_of(other).is_empty());
}

/// The effect of the SCP note on the permission set's finding of `action`.
fn set_control(an: &Analysis<'_>, set: &str, action: &str) -> Option<ControlEffect> {
    let i = an
        .principals
        .iter()
        .position(|p| p.kind == PrincipalType::PermissionSet && p.name() == set)
        .unwrap();
    let id = an.catalog.lookup_full(action).unwrap();
    let at = an
        .findings
        .iter()
        .position(|f| f.principal as usize == i && an.actions(f).iter().any(|a| a.id() == id))
        .unwrap();
    an.control_note(at).map(|n| n.effect)
}

#[test]
fn a_set_is_blocked_only_where_every_account_it_is_provisioned_to_blocks_it() {
    // Developer's ec2:RunInstances is denied on the Workloads OU, where both exported accounts
    // are: blocked.
    let (exports, mut org, an) = fixture();
    let run = "ec2:RunInstances";
    assert_eq!(
        set_control(&an, "Developer", run),
        Some(ControlEffect::Blocked)
    );
    let at = org
        .permission_sets
        .iter()
        .position(|ps| ps.name == "Developer")
        .unwrap();
    let analyse = |org: &Organization| analyse(&exports, org);
    // Also provisioned to an account the exports lack, in the same OU: blocked there too.
    let mut same_ou = org.clone();
    same_ou.nodes.insert(
        "333333333333".into(),
        iam_tighten::model::organization::OrgNode {
            id: "333333333333".into(),
            name: "staging".into(),
            kind: iam_tighten::model::organization::NodeKind::Account,
            parent: Some("ou-fx12-workload".into()),
        },
    );
    same_ou.permission_sets[at]
        .accounts
        .push("333333333333".into());
    let an = analyse(&same_ou);
    assert_eq!(
        set_control(&an, "Developer", run),
        Some(ControlEffect::Blocked)
    );
    // Also provisioned to the management account (not exported; no SCP applies to it): the
    // grant works there, so it is not inert.
    org.permission_sets[at].accounts.push(MGMT.into());
    let an = analyse(&org);
    assert_eq!(
        set_control(&an, "Developer", run),
        Some(ControlEffect::Restricted)
    );
}

#[test]
fn a_role_named_like_an_identity_center_role_outside_its_path_is_an_ordinary_role() {
    // dev's Developer role, moved to the path `/`: Identity Center did not make it (its roles
    // are under /aws-reserved/sso.amazonaws.com/), so it is not the set's role in dev.
    let (mut exports, org, _) = fixture();
    let name = "AWSReservedSSO_Developer_9f8e7d6c5b4a3210";
    let dev = exports.iter_mut().find(|e| e.account_id == DEV).unwrap();
    let role = dev.principals.iter_mut().find(|p| p.name == name).unwrap();
    role.path = "/".into();
    role.arn = format!("arn:aws:iam::{DEV}:role/{name}");
    let an = analyse(&exports, &org);
    let role = an
        .principals
        .iter()
        .find(|p| &*p.account_id == DEV && p.name() == name)
        .unwrap();
    assert!(role.actionable, "{:?}", role.flags);
    assert_eq!(role.permission_set, None);
    assert!(!role.flags.contains(&"managed_by_permission_set"));
    // The set's role in dev is not in the exports: nothing the set holds is unused.
    let set = an
        .principals
        .iter()
        .find(|p| p.kind == PrincipalType::PermissionSet && p.name() == "Developer")
        .unwrap();
    assert!(set.flags.contains(&"permission_set_incomplete"));
    assert!(unused_of(&an, "Developer").is_empty());
    let plans = recommend::plan_organization(&exports, Some(&org), &an);
    let plan = set_plan(&plans, "Developer");
    assert!(plan.sets.remove.is_empty());
}

#[test]
fn an_identity_center_role_of_a_set_the_organisation_part_lacks_says_so() {
    // The Auditor set was deleted since (or its provisioning to prod is not listed): its role in
    // prod is Identity Center's still, and no set of the organisation part owns it.
    let (exports, mut org, _) = fixture();
    org.permission_sets.retain(|ps| ps.name != "Auditor");
    let an = analyse(&exports, &org);
    let planned = recommend::plan_all_organization(&exports, Some(&org), &an, None);
    let rec = planned
        .summary
        .get(
            PROD,
            PrincipalType::Role,
            "AWSReservedSSO_Auditor_3c4d5e6f7a8b9c0d",
        )
        .unwrap();
    assert_eq!(rec.skipped.as_deref(), Some("managed_by_identity_center"));
    let flags: Vec<String> = rec.flag_texts().map(|f| f.into_owned()).collect();
    assert!(
        flags.iter().any(|f| f.contains(
            "the organisation part lists no permission set Auditor provisioned to account 111111111111"
        )),
        "{flags:?}"
    );
    assert!(
        !flags
            .iter()
            .any(|f| f.contains("give the organisation part")),
        "{flags:?}"
    );
}

#[test]
fn a_role_whose_export_lacks_a_policy_of_the_set_leaves_what_it_may_grant_unknown() {
    // dev's export lacks AWSLambda_ReadOnlyAccess (a filtered or hand-made export): dev's role
    // seems not to hold lambda:ListFunctions, which it used. Prod's role holds it unused; the set
    // cannot call it unused, as dev's use of it is not seen.
    let (mut exports, org, _) = fixture();
    let dev = exports.iter_mut().find(|e| e.account_id == DEV).unwrap();
    let lambda = "arn:aws:iam::aws:policy/AWSLambda_ReadOnlyAccess";
    assert!(dev.policies.remove(lambda).is_some());
    let an = analyse(&exports, &org);
    let c = an.catalog;
    let role = an
        .principals
        .iter()
        .find(|p| &*p.account_id == DEV && p.name() == "AWSReservedSSO_Developer_9f8e7d6c5b4a3210")
        .unwrap();
    assert!(role.flags.contains(&"policy_missing"), "{:?}", role.flags);
    let unused = unused_of(&an, "Developer");
    let list = c.lookup_full("lambda:ListFunctions").unwrap();
    assert!(
        !unused.contains(list),
        "used in dev, where the export cannot show it"
    );
    let set = an
        .principals
        .iter()
        .position(|p| p.kind == PrincipalType::PermissionSet && p.name() == "Developer")
        .unwrap();
    assert!(
        an.principals[set]
            .flags
            .contains(&"permission_set_incomplete")
    );
    let f = an
        .findings_of(set)
        .find(|f| an.actions(f).iter().any(|a| a.id() == list))
        .unwrap();
    assert_eq!(f.reason.as_str(), "permission_set_incomplete");
    // What dev's role is seen to hold is still settled by both roles.
    assert!(unused.contains(c.lookup_full("ec2:StopInstances").unwrap()));
    let plans = recommend::plan_organization(&exports, Some(&org), &an);
    let plan = set_plan(&plans, "Developer");
    assert!(!plan.sets.remove.contains(list));
    assert!(plan.sets.after.contains(list));
}

#[test]
fn a_sets_role_in_an_account_its_accounts_json_lacks_is_still_the_sets() {
    // Developer's accounts.json lists prod only (the organisation part is older than dev's
    // export), but dev's export holds the set's role: Identity Center deletes a set's role where
    // it deprovisions the set, so the set is provisioned there. Its role was ignored, and what
    // only dev used was unused for the set: its recommendation removed it.
    let (exports, mut org, full) = fixture();
    let ps = org
        .permission_sets
        .iter_mut()
        .find(|ps| ps.name == "Developer")
        .unwrap();
    ps.accounts = vec![PROD.into()];
    let an = analyse(&exports, &org);
    assert_eq!(
        set_verdicts(&an, "Developer"),
        set_verdicts(&full, "Developer")
    );
    assert_eq!(unused_of(&an, "Developer"), unused_of(&full, "Developer"));
    let role = an
        .principals
        .iter()
        .find(|p| &*p.account_id == DEV && p.name() == "AWSReservedSSO_Developer_9f8e7d6c5b4a3210")
        .unwrap();
    assert_eq!(role.permission_set.as_deref(), Some("Developer"));
    assert!(!role.actionable);
    let w = an
        .warnings
        .iter()
        .find(|w| w.warning.code == "permission_set_account_unlisted")
        .unwrap();
    assert_eq!(w.account_id, DEV);
    assert!(
        w.warning
            .message
            .contains("role AWSReservedSSO_Developer_9f8e7d6c5b4a3210 of permission set Developer"),
        "{}",
        w.warning.message
    );
    let info = an.organization.as_ref().unwrap();
    let set = info
        .permission_sets
        .iter()
        .find(|s| s.name == "Developer")
        .unwrap();
    assert_eq!(set.accounts, [PROD, DEV].map(String::from).to_vec());
    // The plan removes what it removed with the whole accounts.json, and names dev.
    let plans = recommend::plan_organization(&exports, Some(&org), &an);
    let plan = set_plan(&plans, "Developer");
    let whole = recommend::plan_organization(&exports, Some(&full_org()), &full);
    assert_eq!(plan.sets.remove, set_plan(&whole, "Developer").sets.remove);
    assert_eq!(plan.sets.after, set_plan(&whole, "Developer").sets.after);
    let target = plan.permission_set.as_ref().unwrap();
    assert_eq!(target.accounts, [PROD, DEV].map(String::from).to_vec());
    let flags: Vec<String> = plan.flag_texts().map(|f| f.into_owned()).collect();
    assert!(
        flags.iter().any(|f| f.starts_with(
            "account 222222222222: the organisation part does not list the set as provisioned"
        )),
        "{flags:?}"
    );
    let mut e = Expander::new(an.catalog);
    let (problems, _) = recommend::verify_permission_set(&exports, &org, plan, &mut e);
    assert!(problems.is_empty(), "{problems:?}");
    // The fixture's organisation part has no such role: no warning.
    assert!(
        full.warnings
            .iter()
            .all(|w| w.warning.code != "permission_set_account_unlisted")
    );
    // An account list-accounts.json lacks too: its role's use is still kept (it may have joined
    // since; review round 3), and the warning says it may be another organisation's.
    org.accounts.remove(DEV);
    let an = analyse(&exports, &org);
    assert_eq!(
        set_verdicts(&an, "Developer"),
        set_verdicts(&full, "Developer")
    );
    let w = an
        .warnings
        .iter()
        .find(|w| w.warning.code == "permission_set_account_unlisted")
        .unwrap();
    assert!(
        w.warning.message.contains("another organisation"),
        "{}",
        w.warning.message
    );
}

fn full_org() -> Organization {
    input::organization::find(&[root()]).unwrap().unwrap()
}

/// A permission set's decision that detaches an AWS managed policy whose newest version is within
/// the window carries the caution, as a principal's does: what that version added may be unused
/// only because it is new (review pass 45, round 2: set plans were never flagged). The sample's
/// Developer set detaches AmazonEC2ReadOnlyAccess; here AWS updated it on 2026-11-01.
#[test]
fn a_permission_set_decision_on_a_recently_updated_policy_carries_the_caution() {
    // Either account's export holding the newer version is enough: the newest is read (the
    // first export's was, review pass 45 round 3).
    for accounts in [&["111111111111", "222222222222"][..], &["222222222222"]] {
        recently_updated_set_policy_carries_the_caution(accounts);
    }
}

fn recently_updated_set_policy_carries_the_caution(updated_in: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let org = dir.path().join("org");
    crate::common::copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/2026-q4"),
        &org,
    );
    for account in updated_in {
        let details = org.join(account).join("authorization-details.json");
        crate::common::edit_json(&details, |d| {
            for p in d["Policies"].as_array_mut().unwrap() {
                if p["PolicyName"] == "AmazonEC2ReadOnlyAccess" {
                    p["UpdateDate"] = "2026-11-01T00:00:00Z".into();
                }
            }
        });
        // The manifest vouches for the file as fetched: it records the edited one.
        let sha = crate::common::sha256_file(&details);
        let manifest = org.join(account).join("manifest.json");
        if manifest.is_file() {
            crate::common::edit_json(&manifest, |m| {
                m["files"]["authorization-details.json"] = sha.clone().into();
            });
        }
    }
    let out = dir.path().join("out");
    assert_cmd::Command::cargo_bin("iam-tighten")
        .unwrap()
        .args(["report", "--format", "csv", "--out"])
        .arg(&out)
        .arg(&org)
        .assert()
        .success();
    let decisions = std::fs::read_to_string(out.join("decisions.csv")).unwrap();
    let set = decisions
        .lines()
        .find(|l| l.contains(",tighten_permission_set,") && l.contains(",Developer,"))
        .unwrap_or_else(|| panic!("{decisions}"));
    assert!(
        set.contains("Caution: AmazonEC2ReadOnlyAccess: its newest version dates from 2026-11-01"),
        "{set}"
    );
}
