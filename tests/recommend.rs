//! Recommendations: the safety properties on every principal of `sample-data/2026-q4` and on
//! generated policies, and each rewrite rule on a hand-built export and analysis.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use iam_tighten::analysis::{self, Analysis, Config, PrincipalInfo, Reason, Settings, Status};
use iam_tighten::catalog::{ActionId, ActionSet, Catalog};
use iam_tighten::input::{self, LoadOptions};
use iam_tighten::model::{Export, InlinePolicy, ManagedPolicy, Principal, PrincipalType};
use iam_tighten::policy::{
    Expander, GrantCache, PolicyChanges, PolicyDocument, PolicyKind, principal_grants,
    principal_grants_changed,
};
use iam_tighten::recommend::{
    self, Apply, Flag, PrincipalPlan, iam_size, minimise, safe_file_name, tighten,
};
use proptest::prelude::*;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Helpers

const ACCT: &str = "123456789012";

fn small() -> &'static Catalog {
    use std::sync::OnceLock;
    static C: OnceLock<Catalog> = OnceLock::new();
    // The small catalog the unit tests share too.
    C.get_or_init(|| {
        Catalog::from_path(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/small-catalog.tsv"
        )))
        .unwrap()
    })
}

fn doc(v: Value) -> PolicyDocument {
    PolicyDocument::from_value(v).unwrap()
}

fn principal(kind: PrincipalType, name: &str) -> Principal {
    Principal {
        kind,
        name: name.into(),
        id: format!("ID{name}"),
        arn: format!("arn:aws:iam::{ACCT}:{}/{name}", kind.as_str()),
        path: "/".into(),
        created: None,
        inline_policies: Vec::new(),
        attached_policies: Vec::new(),
        groups: Vec::new(),
        permissions_boundary: None,
        tags: Default::default(),
        role_last_used: None,
        trusted: Vec::new(),
        service_linked: false,
    }
}

/// A document that allows `action` on every resource.
fn allow(action: &str) -> Value {
    json!({"Statement": {"Effect": "Allow", "Action": action, "Resource": "*"}})
}

fn inline(name: &str, v: Value) -> InlinePolicy {
    InlinePolicy {
        name: name.into(),
        document: doc(v),
    }
}

fn managed(name: &str, aws: bool, v: Value) -> ManagedPolicy {
    let arn = if aws {
        format!("arn:aws:iam::aws:policy/{name}")
    } else {
        format!("arn:aws:iam::{ACCT}:policy/{name}")
    };
    ManagedPolicy {
        arn,
        name: name.into(),
        path: "/".into(),
        aws_managed: aws,
        default_version_id: Some("v3".into()),
        attachment_count: None,
        boundary_uses: None,
        create_date: None,
        update_date: None,
        document: std::sync::Arc::new(doc(v)),
        versions: 1,
        oldest_other_version: None,
        default_created: None,
        other_versions: Box::default(),
    }
}

/// An export of `principals` and `policies`, each policy counted as AWS counts it
/// (`AttachmentCount`, `PermissionsBoundaryUsageCount`) where the policy does not say.
fn export(principals: Vec<Principal>, policies: Vec<ManagedPolicy>) -> Export {
    let mut principals = principals;
    principals.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    let count =
        |f: &dyn Fn(&Principal) -> bool| Some(principals.iter().filter(|p| f(p)).count() as u32);
    let policies: Vec<ManagedPolicy> = policies
        .into_iter()
        .map(|mut p| {
            let arn = p.arn.clone();
            p.attachment_count = p
                .attachment_count
                .or_else(|| count(&|x| x.attached_policies.contains(&arn)));
            p.boundary_uses = p
                .boundary_uses
                .or_else(|| count(&|x| x.permissions_boundary.as_ref() == Some(&arn)));
            p
        })
        .collect();
    Export {
        root: "x".into(),
        account_id: ACCT.into(),
        partition: "aws".into(),
        principals,
        policies: policies
            .into_iter()
            .map(|p| (p.arn.clone(), std::sync::Arc::new(p)))
            .collect(),
        last_accessed: BTreeMap::new(),
        last_accessed_deferred: false,
        details: Default::default(),
        credential_report: None,
        manifest: None,
        data_time: None,
        files: Vec::new(),
        warnings: Vec::new(),
    }
}

/// The real analysis of `ex` with the verdicts given: `(principal name, action) → reason`, every
/// other granted action `used` (the export has no last-accessed data of its own).
fn analysis<'c>(
    catalog: &'c Catalog,
    ex: &Export,
    verdicts: &[(&str, &str, Reason)],
) -> Analysis<'c> {
    let given = |p: &PrincipalInfo, a: ActionId| {
        let full = catalog.full_name(a);
        Some(
            verdicts
                .iter()
                .find(|(n, act, _)| *n == p.name() && *act == full)
                .map_or(Reason::AccessedInWindow, |v| v.2),
        )
    };
    analysis::analyze_with_verdicts(
        std::slice::from_ref(ex),
        catalog,
        &Settings::new(90, None).unwrap(),
        &Config::default(),
        &given,
    )
    .unwrap()
}

const UNUSED: Reason = Reason::ServiceNotAccessed;
const UNKNOWN: Reason = Reason::ActionNotTracked;

fn plan_of<'p>(plans: &'p [PrincipalPlan], name: &str) -> &'p PrincipalPlan {
    plans.iter().find(|p| p.name == name).unwrap()
}

/// Principal `name`'s recommendation as summary.json and report.json have it: its flags in
/// words, and the summary as written.
fn summary_of(plans: &[PrincipalPlan], an: &Analysis<'_>, name: &str) -> (Vec<String>, Value) {
    let summary = recommend::summarise(plans, &vec![true; plans.len()], an);
    let r = summary
        .principals
        .iter()
        .find(|r| &*r.principal_name == name)
        .unwrap();
    let flags = r.flag_texts().map(|f| f.into_owned()).collect();
    (flags, serde_json::to_value(r).unwrap())
}

fn actions_of(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().map(|x| x.as_str().unwrap().to_string()).collect(),
        _ => Vec::new(),
    }
}

fn statements(v: &Value) -> Vec<Value> {
    match v.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(s) => vec![s.clone()],
        None => Vec::new(),
    }
}

/// Conditions, resources and Deny statements of `new` are those of `old` (by Sid, else order).
fn assert_preserved(old: &Value, new: &Value) {
    let old_s = statements(old);
    let new_s = statements(new);
    let denies = |l: &[Value]| -> Vec<Value> {
        l.iter()
            .filter(|s| s["Effect"] == "Deny")
            .cloned()
            .collect()
    };
    assert_eq!(
        denies(&old_s),
        denies(&new_s),
        "Deny statements must be unchanged"
    );
    // New statements are a subsequence of the old ones; match them in order.
    let mut i = 0;
    for s in &new_s {
        while i < old_s.len()
            && !(old_s[i].get("Sid") == s.get("Sid")
                && old_s[i]["Effect"] == s["Effect"]
                && old_s[i].get("Condition") == s.get("Condition")
                && old_s[i].get("Resource") == s.get("Resource")
                && old_s[i].get("NotResource") == s.get("NotResource"))
        {
            i += 1;
        }
        assert!(
            i < old_s.len(),
            "statement {s} has no original with the same Sid, Condition and Resource"
        );
        i += 1;
    }
}

// ---------------------------------------------------------------------------------------------
// Sample data: every principal.

fn sample() -> (Vec<Export>, Analysis<'static>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/2026-q4");
    let exports = input::load_exports(&[root], &LoadOptions::default()).unwrap();
    let settings = Settings {
        unused_after_days: 90,
        as_of: None,
    };
    let an =
        analysis::analyze(&exports, Catalog::embedded(), &settings, &Config::default()).unwrap();
    (exports, an)
}

/// A plan keeps a managed policy's original document as the export holds it, not a copy (an AWS
/// managed policy attached to thousands of principals was copied into each of their plans), and
/// an inline policy's as a copy of its own; dropping the verification inputs leaves the export's
/// document whole.
#[test]
fn plans_share_managed_originals_with_the_export() {
    let (exports, an) = sample();
    let mut planned = recommend::plan_all(&exports, &an, None);
    let (mut managed, mut inline) = (0, 0);
    for plan in &planned.plans {
        let ex = exports
            .iter()
            .find(|x| *x.account_id == *plan.account_id)
            .unwrap();
        let principal = ex
            .principals
            .iter()
            .find(|p| p.kind == plan.kind && p.name == plan.name)
            .unwrap();
        for p in &plan.policies {
            match (&p.policy.kind, &p.policy.arn) {
                (PolicyKind::Inline, _) => {
                    let own = &principal
                        .inline_policies
                        .iter()
                        .find(|i| i.name == p.policy.name)
                        .unwrap()
                        .document;
                    assert_eq!(p.original(), own);
                    assert!(!std::ptr::eq(p.original(), own));
                    inline += 1;
                }
                (_, Some(arn)) => {
                    assert!(
                        std::ptr::eq(p.original(), &*ex.policies[arn].document),
                        "{}: {arn} copied",
                        plan.name
                    );
                    managed += 1;
                }
                (_, None) => panic!("a managed policy without an ARN"),
            }
        }
    }
    assert!(
        managed > 0 && inline > 0,
        "{managed} managed, {inline} inline"
    );
    let statements: usize = exports
        .iter()
        .flat_map(|x| x.policies.values())
        .map(|m| m.document.statements.len())
        .sum();
    planned.drop_verification_inputs();
    let after: usize = exports
        .iter()
        .flat_map(|x| x.policies.values())
        .map(|m| m.document.statements.len())
        .sum();
    assert_eq!(
        statements, after,
        "an export's document lost its statements"
    );
}

#[test]
fn sample_data_every_principal_is_safe() {
    let (exports, an) = sample();
    let plans = recommend::plan(&exports, &an);
    assert_eq!(plans.len(), an.principals.len());
    let mut e = Expander::new(an.catalog);
    let mut recommended = 0;
    for plan in &plans {
        let info = &an.principals[plan.analysis_index];
        if let Some(why) = &plan.skipped {
            assert!(
                !why.starts_with("verification_failed"),
                "{}: {why}",
                plan.name
            );
            if !info.actionable {
                // The sample is analysed without its organisation part here.
                let expected = if info.service_linked {
                    "service_linked"
                } else {
                    "managed_by_identity_center"
                };
                assert_eq!(why, expected, "{}", plan.name);
            }
            continue;
        }
        recommended += 1;
        let ex = exports
            .iter()
            .find(|x| *x.account_id == *plan.account_id)
            .unwrap();
        let (problems, after) = recommend::verify(ex, plan, &mut e);
        assert!(problems.is_empty(), "{}: {problems:?}", plan.name);
        // The grants after the change are those of a copy of the export with the new documents.
        let changed = recommend::substitute(ex, plan.kind, &plan.name, &plan.policies);
        let who = changed.principal(plan.kind, &plan.name).unwrap();
        assert_eq!(
            after,
            principal_grants(who, &changed, &mut e).effective,
            "{}",
            plan.name
        );
        // Every used / unknown / excluded action is still granted after the change.
        for f in an
            .findings
            .iter()
            .filter(|f| f.principal as usize == plan.analysis_index)
        {
            if !(f.status() == Status::Unused && f.exclusion.is_none()) {
                assert!(
                    after.contains(an.action(f)),
                    "{}: {} lost",
                    plan.name,
                    an.catalog.full_name(an.action(f))
                );
            }
        }
        assert!(after.is_subset(&plan.sets.before));
        for p in &plan.policies {
            let old = e.document(p.original());
            let new = e.document(p.new_document());
            assert!(
                new.allowed.is_subset(&old.allowed),
                "{} {}",
                plan.name,
                p.policy.name
            );
            assert!(
                !new.allowed.intersects(&plan.sets.remove),
                "{} {} still grants removed",
                plan.name,
                p.policy.name
            );
            assert_preserved(&p.original().raw.value(), &p.tightened.parts.document);
        }
        // A group's members keep everything they need.
        if plan.kind == PrincipalType::Group {
            let changed = recommend::substitute(ex, plan.kind, &plan.name, &plan.policies);
            for m in recommend::group_members(&changed, &plan.name) {
                let g = principal_grants(m, &changed, &mut e);
                let mi = an
                    .principals
                    .iter()
                    .position(|p| p.kind == m.kind && p.name() == m.name)
                    .unwrap();
                for f in an.findings.iter().filter(|f| f.principal as usize == mi) {
                    if !(f.status() == Status::Unused && f.exclusion.is_none()) {
                        assert!(g.effective.contains(an.action(f)));
                    }
                }
            }
        }
    }
    assert!(recommended >= 10, "only {recommended} recommendations");
    // The story: BreakGlassAdmin's AdministratorAccess is replaced by a per-principal copy.
    let bg = plan_of(&plans, "BreakGlassAdmin");
    assert!(
        matches!(&bg.policies[0].apply, Apply::Replace(r) if r.new_name == "AdministratorAccess-tightened-BreakGlassAdmin")
    );
    // platform-ops: the NotAction statement is rewritten and flagged.
    let po = plan_of(&plans, "platform-ops");
    assert!(
        po.policies
            .iter()
            .any(|p| !p.tightened.not_action_rewritten.is_empty())
    );
    assert!(po.flag_texts().any(|f| f.contains("NotAction")));
    // Service-linked roles get nothing.
    assert_eq!(
        plan_of(&plans, "AWSServiceRoleForECS").skipped.as_deref(),
        Some("service_linked")
    );
}

/// The commands of a README's fenced block (```sh apply or ```sh rollback), as the apply
/// helper reads them: the lines up to the next ``` line, without blank and comment lines.
pub fn readme_block(readme: &str, name: &str) -> Vec<String> {
    let opening = format!("```sh {name}");
    assert_eq!(
        readme.lines().filter(|l| *l == opening).count(),
        1,
        "one {opening} block:\n{readme}"
    );
    readme
        .lines()
        .skip_while(|l| *l != opening)
        .skip(1)
        .take_while(|l| *l != "```")
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

#[test]
fn sample_data_writes_folders() {
    let (exports, an) = sample();
    let dir = tempfile::tempdir().unwrap();
    let summary = recommend::write_recommendations(&exports, &an, dir.path()).unwrap();
    let rec = summary
        .get("111111111111", PrincipalType::Role, "ExampleCorpQA")
        .unwrap();
    let path = rec.path.as_deref().unwrap();
    assert_eq!(path, "recommendations/111111111111/role/ExampleCorpQA");
    assert!(rec.after < rec.before);
    let folder = dir.path().join(path);
    let readme = std::fs::read_to_string(folder.join("README.md")).unwrap();
    assert!(readme.contains("## Removed"));
    assert!(readme.contains("## Roll back"));
    assert!(
        readme.contains("not_observable"),
        "unknown S3 object actions are listed as kept"
    );
    // A new policy version is the policy's: its rollback says it undoes it for every holder
    // (ci-deploy's plan makes one; ExampleCorpQA's replaces a policy with a copy).
    let undoes_for_all = "for **every** principal it is attached to";
    assert!(!readme.contains(undoes_for_all), "{readme}");
    let ci = dir
        .path()
        .join("recommendations/111111111111/role/ci-deploy/README.md");
    let ci = std::fs::read_to_string(ci).unwrap();
    assert!(ci.contains("aws iam create-policy-version"), "{ci}");
    let rollback = &ci[ci.find("## Roll back").unwrap()..];
    assert!(rollback.contains(undoes_for_all), "{rollback}");
    let file = folder.join("aws-managed-AmazonEC2FullAccess.json");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with("{\n    \"Version\": \"2012-10-17\",\n    \"Statement\": ["),
        "{text}"
    );
    // A replaced AWS managed policy: the rollback attaches it again by ARN, so its original is
    // not a file of the folder; the README has its diff.
    assert!(
        !folder
            .join("aws-managed-AmazonEC2FullAccess.original.json")
            .exists()
    );
    assert!(readme.contains("```diff\n--- aws-managed-AmazonEC2FullAccess (original)\n+++ aws-managed-AmazonEC2FullAccess.json\n@@ "), "{readme}");
    let cmds = readme_block(&readme, "apply").join("\n");
    assert!(cmds.contains(
        "aws iam create-policy --policy-name AmazonEC2FullAccess-tightened-ExampleCorpQA"
    ));
    assert!(
        cmds.contains(
            "aws iam put-role-policy --role-name ExampleCorpQA --policy-name ExampleCorpQA-reports"
        ) || !readme.contains("ExampleCorpQA-reports`")
    );
    // The hostile inline name `=1+1` of dev-sandbox stays a plain file name.
    let s: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("recommendations/summary.json")).unwrap(),
    )
    .unwrap();
    assert!(s["principals"].as_array().unwrap().len() == an.principals.len());
    // One actions.csv for every folder, a principal's rows together; none in the folders.
    assert!(!folder.join("actions.csv").exists());
    let mut r = csv::Reader::from_path(dir.path().join("recommendations/actions.csv")).unwrap();
    assert_eq!(
        r.headers().unwrap().iter().collect::<Vec<_>>(),
        recommend::ACTIONS_HEADER
    );
    let mut seen: Vec<(String, String, String)> = Vec::new();
    let mut removed_of_qa = 0;
    for row in r.records() {
        let row = row.unwrap();
        let key = (row[0].to_string(), row[1].to_string(), row[2].to_string());
        if seen.last() != Some(&key) {
            assert!(!seen.contains(&key), "rows of {key:?} are not together");
            seen.push(key.clone());
        }
        if key.2 == "ExampleCorpQA" && &row[5] == "removed" {
            removed_of_qa += row[4].parse::<u64>().unwrap();
        }
    }
    assert_eq!(removed_of_qa, u64::from(rec.removed));
    let mut with_folder: Vec<(String, String, String)> = summary
        .principals
        .iter()
        .filter(|p| p.path.is_some())
        .map(|p| {
            (
                p.account_id.to_string(),
                p.principal_type.as_str().to_string(),
                p.principal_name.to_string(),
            )
        })
        .collect();
    // The rows come in the principals' order (account, type, name), whichever folder was
    // finished first: each folder's rows are appended in turn as the folders are written.
    let in_order: Vec<(String, String, String)> = an
        .principals
        .iter()
        .map(|p| {
            (
                p.account_id.to_string(),
                p.kind.as_str().to_string(),
                p.name().to_owned(),
            )
        })
        .filter(|key| with_folder.contains(key))
        .collect();
    assert_eq!(seen, in_order, "rows in the principals' order");
    seen.sort();
    with_folder.sort();
    assert_eq!(
        seen, with_folder,
        "rows for exactly the principals with a folder"
    );
    // Writing again replaces the folder.
    recommend::write_recommendations(&exports, &an, dir.path()).unwrap();
}

/// The apply helper runs exactly one block: `sh apply`, or `sh rollback` with --rollback; a README
/// without that block, with two, or with one left open is refused.
#[test]
fn the_apply_helper_reads_exactly_one_closed_block() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/apply-recommendation.sh");
    let run = |readme: &str, rollback: bool| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("README.md"), readme).unwrap();
        let mut cmd = std::process::Command::new("bash");
        cmd.arg(&script);
        if rollback {
            cmd.arg("--rollback");
        }
        let out = cmd.arg(dir.path()).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let apply = "aws iam detach-role-policy --role-name a --policy-arn arn:aws:iam::aws:policy/X";
    let back = "aws iam attach-role-policy --role-name a --policy-arn arn:aws:iam::aws:policy/X";
    let good = format!(
        "# R\n\n```sh\naws iam delete-role --role-name a\n```\n\n```sh apply\n{apply}\n```\n\n```sh rollback\n{back}\n```\n\n````diff\n-x\n````\n"
    );
    let (code, out) = run(&good, false);
    assert_eq!(code, Some(0));
    assert!(
        out.contains(apply) && !out.contains(back) && !out.contains("delete-role"),
        "{out}"
    );
    let (code, out) = run(&good, true);
    assert_eq!(code, Some(0));
    assert!(out.contains(back) && !out.contains(apply), "{out}");
    for bad in [
        good.replace("```sh apply", "```sh"),
        format!("{good}\n```sh apply\n{apply}\n```\n"),
        format!("```sh apply\n{apply}\n"),
    ] {
        let (code, out) = run(&bad, false);
        assert_eq!(code, Some(2), "{bad}");
        assert!(!out.contains(apply), "printed before refusing: {out}");
    }
}

/// The apply helper travels with the output: `recommendations/apply-recommendation.sh` is the
/// repository's script, executable, and a dry run of it from the output folder prints exactly
/// the folder's commands.
#[test]
fn the_apply_helper_is_in_the_output_and_runs() {
    let (exports, an) = sample();
    let dir = tempfile::tempdir().unwrap();
    recommend::write_recommendations(&exports, &an, dir.path()).unwrap();
    let script = dir.path().join("recommendations/apply-recommendation.sh");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    assert_eq!(
        std::fs::read(&script).unwrap(),
        std::fs::read(root.join("scripts/apply-recommendation.sh")).unwrap()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&script).unwrap().permissions().mode();
        assert_eq!(mode & 0o111, 0o111, "not executable: {mode:o}");
    }
    let folder = "recommendations/111111111111/role/ExampleCorpQA";
    let readme = std::fs::read_to_string(dir.path().join(folder).join("README.md")).unwrap();
    assert!(
        readme.contains(&format!(
            "OUT/recommendations/apply-recommendation.sh OUT/{folder}"
        )),
        "{readme}"
    );
    // A dry run needs no AWS CLI only if the script checks for it after printing; give it a
    // stand-in `aws` on PATH so the test runs anywhere (the dry run never calls it).
    let bin = tempfile::tempdir().unwrap();
    crate::common::write_executable(&bin.path().join("aws"), "#!/bin/sh\nexit 97\n");
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // Through bash: this process wrote the script, and running the file itself could fail with
    // `Text file busy` (see `common::write_executable`); its mode is checked above.
    let out = std::process::Command::new("bash")
        .arg(&script)
        .arg(folder)
        .current_dir(dir.path())
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    let commands = readme_block(&readme, "apply");
    assert!(!commands.is_empty());
    for line in &commands {
        assert!(
            printed.contains(line),
            "dry run does not print {line}:\n{printed}"
        );
    }
}

/// The apply helper runs under macOS's /bin/bash 3.2, where `set -u` calls an empty array
/// unbound: `"${profile[@]}"` without `--profile` would stop `--apply` with "unbound variable"
/// (bash 5 here cannot show it, so the test reads the script). Every expansion of an array that
/// can be empty is guarded as `${a[@]+"${a[@]}"}`; `argv` and `commands` never are empty there.
#[test]
fn the_apply_helper_expands_its_optional_profile_as_old_bash_needs() {
    let script = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/apply-recommendation.sh"),
    )
    .unwrap();
    assert!(
        script.contains("set -euo pipefail"),
        "the script no longer sets -u"
    );
    let guarded = r#"${profile[@]+"${profile[@]}"}"#;
    let mut uses = 0;
    for (n, line) in script.lines().enumerate() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        uses += line.matches(guarded).count();
        let bare = line.replace(guarded, "");
        assert!(
            !bare.contains(r#""${profile[@]}""#),
            "line {}: an unguarded empty-able array: {line}",
            n + 1
        );
    }
    assert!(
        uses >= 3,
        "the profile reaches every aws call: {uses} guarded uses"
    );
}

/// The apply helper runs only the shapes iam-tighten writes: `aws iam` and `aws sso-admin`
/// (permission sets) verbs with `--option value` pairs; any other line refuses the whole file.
#[test]
fn the_apply_helper_accepts_only_iam_and_sso_admin_commands() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/apply-recommendation.sh");
    let run = |lines: &[&str]| {
        let dir = tempfile::tempdir().unwrap();
        let readme = format!(
            "# Recommendation\n\n```sh\nnot a command block\n```\n\n```sh apply\n{}\n```\n",
            lines.join("\n")
        );
        std::fs::write(dir.path().join("README.md"), readme).unwrap();
        let out = std::process::Command::new("bash")
            .arg(&script)
            .arg(dir.path())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let good = [
        "# a comment",
        "aws iam put-role-policy --role-name app --policy-name p --policy-document file://inline-p.json",
        "aws sso-admin put-inline-policy-to-permission-set --instance-arn arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6 --permission-set-arn arn:aws:sso:::permissionSet/ssoins-7223a1b2c3d4e5f6/ps-0a1b2c3d4e5f6a7b --inline-policy file://inline-policy.json --region eu-west-1",
        "aws sso-admin provision-permission-set --instance-arn arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6 --permission-set-arn 'arn:aws:sso:::permissionSet/x y' --target-type ALL_PROVISIONED_ACCOUNTS",
        // A name starting with `-` (render::opt).
        "aws iam put-role-policy --role-name=--debug --policy-name='-p q' --policy-document file://inline--p.json",
    ];
    let (code, stdout, stderr) = run(&good);
    assert_eq!(code, Some(0), "{stderr}");
    for l in &good[1..] {
        assert!(stdout.contains(l), "{stdout}");
    }
    for bad in [
        "aws sts get-caller-identity",
        "aws organizations delete-organization",
        "aws sso-admin-x provision-permission-set --target-type ALL_PROVISIONED_ACCOUNTS",
        "aws sso-admin provision-permission-set --instance-arn x; rm -rf ~",
        "aws sso-admin put-inline-policy-to-permission-set --inline-policy $(cat /etc/passwd)",
        "aws sso-admin provision-permission-set --target-type `id`",
        " aws sso-admin provision-permission-set",
        // A name with a control character (render::sh writes it `$'…'`): IAM allows none.
        "aws iam delete-role-policy --role-name app --policy-name $'a\\nb'",
        "aws iam delete-role-policy --role-name=$(id) --policy-name p",
        // The same characters written raw (iam-tighten writes them `$'…'`): a bidi override
        // shows the rest of the line reversed; a zero-width space, a tab, an escape hide.
        "aws iam delete-role-policy --role-name 'uni\u{202e}txt' --policy-name p",
        "aws iam delete-role-policy --role-name 'a\u{2066}b' --policy-name p",
        "aws iam delete-role-policy --role-name app --policy-name 'p\u{200b}'",
        "aws iam delete-role-policy --role-name app --policy-name 'p\tq'",
        "aws iam delete-role-policy --role-name app --policy-name 'p\u{1b}[2Jq'",
    ] {
        let (code, stdout, stderr) = run(&[good[1], bad]);
        assert_eq!(code, Some(2), "{bad}: {stdout}");
        assert!(stderr.contains("refusing a command"), "{bad}: {stderr}");
        assert!(
            !stdout.contains("aws iam"),
            "{bad}: printed before refusing"
        );
    }
}

/// A stand-in `aws` in `dir/bin`: it logs its arguments to `$AWS_LOG`, then runs `body` (sh).
/// Returns a PATH that finds it first.
fn stand_in_aws(dir: &Path, body: &str) -> String {
    let bin = dir.join("bin");
    std::fs::create_dir(&bin).unwrap();
    crate::common::write_executable(
        &bin.join("aws"),
        &format!("#!/bin/sh\necho \"$*\" >> \"$AWS_LOG\"\n{body}"),
    );
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// The apply helper's arguments to run `block` (`apply` or `rollback`).
fn block_args(block: &str) -> &'static [&'static str] {
    if block == "rollback" {
        &["--apply", "--rollback"]
    } else {
        &["--apply"]
    }
}

/// Runs the apply helper with `args` on the folder `dir`, with [`stand_in_aws`]'s `path` and
/// `env`; returns its exit code, its stderr and what the stand-in logged (`dir/log`, emptied
/// first).
fn run_helper(
    dir: &Path,
    path: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Option<i32>, String, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/apply-recommendation.sh");
    let log = dir.join("log");
    let _ = std::fs::remove_file(&log);
    let out = std::process::Command::new("bash")
        .arg(&script)
        .args(args)
        .arg(dir)
        .env("PATH", path)
        .env("AWS_LOG", &log)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    (out.status.code(), stderr, logged)
}

/// `--apply` skips a `create-policy-version` whose document is already the policy's default
/// version (another folder sharing the policy made it), and runs it on any doubt: a different
/// document, or a read the caller may not make. A stand-in `aws` logs its calls and answers the
/// reads from `$AWS_DEFAULT` (the default version's document as the CLI prints it).
#[test]
fn the_apply_helper_skips_a_policy_version_that_is_already_the_default() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/apply-recommendation.sh");
    let dir = tempfile::tempdir().unwrap();
    let doc = "{\n    \"Version\": \"2012-10-17\",\n    \"Statement\": []\n}\n";
    std::fs::write(dir.path().join("managed-p.json"), doc).unwrap();
    let create = "aws iam create-policy-version --policy-arn arn:aws:iam::111111111111:policy/p \
                  --policy-document file://managed-p.json --set-as-default";
    let put =
        "aws iam put-role-policy --role-name a --policy-name i --policy-document file://i.json";
    let readme = format!("```sh apply\n{create}\n{put}\n```\n```sh rollback\n```\n");
    std::fs::write(dir.path().join("README.md"), readme).unwrap();
    let path = stand_in_aws(
        dir.path(),
        "case \"$2\" in\n\
         get-policy) [ -n \"$AWS_DEFAULT\" ] && echo v3 ;;\n\
         get-policy-version) [ -n \"$AWS_DEFAULT\" ] && printf '%s' \"$AWS_DEFAULT\" ;;\n\
         esac\n",
    );
    let run = |default: &str| {
        let log = dir.path().join("log");
        let _ = std::fs::remove_file(&log);
        let out = std::process::Command::new("bash")
            .arg(&script)
            .args(["--apply", dir.path().to_str().unwrap()])
            .env("PATH", &path)
            .env("AWS_LOG", &log)
            .env("AWS_DEFAULT", default)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        (std::fs::read_to_string(&log).unwrap(), stderr)
    };
    // Already the default: read, skipped, said so; the next line still runs.
    let (log, stderr) = run(doc.trim_end());
    assert!(!log.contains("create-policy-version"), "{log}");
    assert!(
        log.contains(
            "get-policy-version --policy-arn arn:aws:iam::111111111111:policy/p --version-id v3"
        ),
        "{log}"
    );
    assert!(log.contains("put-role-policy"), "{log}");
    assert!(
        stderr.contains("(skipped: its document is already the policy's default version)"),
        "{stderr}"
    );
    // Another document (one character), or reads that fail: the version is created.
    for other in [doc.replace("[]", "[ ]"), String::new()] {
        let (log, stderr) = run(other.trim_end());
        assert!(log.contains("create-policy-version"), "{log}");
        assert!(!stderr.contains("skipped"), "{stderr}");
    }
}

/// A line AWS refuses only because what it does already holds is taken as done, and said so
/// (`= ... (already so: ...)`). In the rollback, after a partial apply: the detach or the delete of
/// a copy that was never attached or made (`NoSuchEntity`), the permission set's attach of a
/// policy never detached (`ConflictException`, and only if the set lists the policy: the code
/// also means a conflicting write). In the apply, run again after it stopped: the copy's
/// `create-policy` (`EntityAlreadyExists`, and its default version is the folder's file), the
/// detach of a policy already detached (`NoSuchEntity`), the delete of an inline policy already
/// deleted, the set's detach of a policy it no longer lists (`ResourceNotFoundException`). Any
/// other error, or the same error of another command, still stops it. A stand-in `aws` answers
/// `$AWS_ERR` to verb `$AWS_VERB`, `$AWS_LISTED` to the set's list of managed policies, and the
/// copy's reads with the folder's file.
#[test]
fn a_run_takes_only_an_already_done_state_as_done() {
    let dir = tempfile::tempdir().unwrap();
    let path = stand_in_aws(
        dir.path(),
        "case \"$2\" in\n\
         list-managed-policies-in-permission-set) printf '%s\\n' \"$AWS_LISTED\"; exit 0 ;;\n\
         get-policy) echo v1 ;;\n\
         get-policy-version) cat managed-p.json ;;\n\
         \"$AWS_VERB\") printf '\\n%s\\n' \"$AWS_ERR\" >&2; exit 254 ;;\n\
         esac\n",
    );
    std::fs::write(
        dir.path().join("managed-p.json"),
        "{\n    \"Statement\": []\n}\n",
    )
    .unwrap();
    let set = "--instance-arn arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6 --permission-set-arn \
               arn:aws:sso:::permissionSet/ssoins-7223a1b2c3d4e5f6/ps-0a1b2c3d4e5f6a7b";
    let sqs = "arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess";
    let copy = "arn:aws:iam::111111111111:policy/p-tightened-a";
    let create =
        "aws iam create-policy --policy-name p-tightened-a --policy-document file://managed-p.json";
    let detach = format!("aws iam detach-role-policy --role-name a --policy-arn {copy}");
    let delete = format!("aws iam delete-policy --policy-arn {copy}");
    let delete_inline = "aws iam delete-role-policy --role-name a --policy-name i".to_string();
    let attach = format!(
        "aws sso-admin attach-managed-policy-to-permission-set {set} --managed-policy-arn {sqs} \
         --region eu-west-1"
    );
    let set_detach = attach.replace(
        "attach-managed-policy-to-permission-set",
        "detach-managed-policy-from-permission-set",
    );
    let put =
        "aws iam put-role-policy --role-name a --policy-name i --policy-document file://i.json";
    let no_sqs = format!("{sqs}2\t{sqs}x");
    // (block, line, its verb's error, what the set lists, whether the rest runs, and why).
    let create = create.to_string();
    let (nse, rnf, conflict) = (
        "NoSuchEntity",
        "ResourceNotFoundException",
        "ConflictException",
    );
    let cases = [
        ("rollback", &detach, nse, "", Some("is not attached")),
        ("rollback", &delete, nse, "", Some("policy does not exist")),
        (
            "rollback",
            &attach,
            conflict,
            sqs,
            Some("and the permission set lists"),
        ),
        ("apply", &detach, nse, "", Some("is not attached")),
        (
            "apply",
            &delete_inline,
            nse,
            "",
            Some("inline policy does not exist"),
        ),
        (
            "apply",
            &create,
            "EntityAlreadyExists",
            "",
            Some("is this folder's file"),
        ),
        (
            "apply",
            &set_detach,
            rnf,
            &no_sqs,
            Some("does not list the policy"),
        ),
        ("apply", &set_detach, rnf, sqs, None),
        ("apply", &set_detach, conflict, "", None),
        ("apply", &delete, nse, "", None),
        ("apply", &attach, conflict, sqs, None),
        ("apply", &create, "LimitExceeded", "", None),
        ("rollback", &delete_inline, nse, "", None),
        ("rollback", &detach, "Throttling", "", None),
        ("rollback", &delete, "DeleteConflict", "", None),
        ("rollback", &attach, conflict, "", None),
        ("rollback", &attach, conflict, &no_sqs, None),
        (
            "rollback",
            &attach,
            "ServiceQuotaExceededException",
            sqs,
            None,
        ),
    ];
    for (block, line, code, listed, done) in cases {
        // The other block: the apply makes the copy, the rollback names its ARN.
        let other = if block == "apply" {
            format!("```sh rollback\n{detach}\n```\n")
        } else {
            format!("```sh apply\n{create}\n```\n")
        };
        let readme = format!("```sh {block}\n{line}\n{put}\n```\n{other}");
        std::fs::write(dir.path().join("README.md"), readme).unwrap();
        check_already_done(dir.path(), &path, (block, line), (code, listed, done));
    }
}

/// One case of [`a_run_takes_only_an_already_done_state_as_done`], whose README `dir` holds:
/// `line` in `block`, then a `put-role-policy`; `line` fails with `code` while the permission set
/// lists `listed`, and `done` is why the run goes on, or `None` when it must stop there.
fn check_already_done(
    dir: &Path,
    path: &str,
    (block, line): (&str, &str),
    (code, listed, done): (&str, &str, Option<&str>),
) {
    let verb = line.split(' ').nth(2).unwrap();
    let error = format!("An error occurred ({code}) when calling the X operation: m");
    let args = block_args(block);
    let env = [
        ("AWS_VERB", verb),
        ("AWS_ERR", &error),
        ("AWS_LISTED", listed),
    ];
    let (status, stderr, log) = run_helper(dir, path, args, &env);
    let case = format!("{block} {verb} {code} {listed:?}: {stderr}\n{log}");
    assert!(log.contains(verb), "the line ran: {case}");
    if let Some(why) = done {
        assert_eq!(status, Some(0), "{case}");
        let said = format!("= {line} (already so: {code}, ");
        assert!(stderr.contains(&said) && stderr.contains(why), "{case}");
        assert!(log.contains("put-role-policy"), "{case}");
    } else {
        assert_eq!(status, Some(1), "{case}");
        assert!(stderr.contains(&error), "the error is shown: {case}");
        assert!(stderr.contains("command 1 of 2 failed"), "{case}");
        assert!(!stderr.contains("already so"), "{case}");
        assert!(!log.contains("put-role-policy"), "{case}");
    }
    // The set is read only to tell a real conflict or a detach done before, in the line's own
    // region.
    let set = line.split(" --managed-policy-arn").next().unwrap();
    let set = set.trim_start_matches(&format!("aws sso-admin {verb} "));
    let read = log.contains(&format!(
        "list-managed-policies-in-permission-set {set} --region eu-west-1 --query"
    ));
    let reads = (block, code) == ("rollback", "ConflictException")
        || (block, verb, code)
            == (
                "apply",
                "detach-managed-policy-from-permission-set",
                "ResourceNotFoundException",
            );
    assert_eq!(read, reads, "{case}");
}

/// The rollback detaches and deletes a policy only when this folder's apply block makes it
/// (`create-policy`) and only while it is that copy: its default version is the folder's file.
/// A policy of the same name made by someone else (the apply's create-policy failed on it), or
/// one that cannot be read, stops the rollback before that line, which names the policy and
/// lists the lines left to run by hand; a copy that does not exist is done without the line.
/// A stand-in `aws` answers the copy's reads as `$AWS_READ` says.
#[test]
fn the_rollback_never_takes_away_a_policy_this_folder_did_not_make() {
    let dir = tempfile::tempdir().unwrap();
    let path = stand_in_aws(
        dir.path(),
        "fail() { printf '\\nAn error occurred (%s) when calling the X operation: m\\n' \"$1\" >&2; exit 254; }\n\
         case \"$2 $AWS_READ\" in\n\
         'get-policy absent') fail NoSuchEntity ;;\n\
         'get-policy denied') fail AccessDenied ;;\n\
         'get-policy '*) echo v1 ;;\n\
         'get-policy-version other') printf '{\\n    \"Statement\": [1]\\n}\\n' ;;\n\
         get-policy-version*) cat managed-p.json ;;\n\
         \"create-policy $AWS_READ\") fail EntityAlreadyExists ;;\n\
         esac\n",
    );
    std::fs::write(
        dir.path().join("managed-p.json"),
        "{\n    \"Statement\": []\n}\n",
    )
    .unwrap();
    let (copy, original) = (
        "arn:aws:iam::111111111111:policy/p-tightened-a",
        "arn:aws:iam::111111111111:policy/p",
    );
    let create =
        "aws iam create-policy --policy-name p-tightened-a --policy-document file://managed-p.json";
    let attach_copy = format!("aws iam attach-role-policy --role-name a --policy-arn {copy}");
    let detach_copy = attach_copy.replace("attach-", "detach-");
    let attach_original =
        format!("aws iam attach-role-policy --role-name a --policy-arn {original}");
    let detach_original = attach_original.replace("attach-", "detach-");
    let delete = format!("aws iam delete-policy --policy-arn {copy}");
    let put =
        "aws iam put-role-policy --role-name a --policy-name i --policy-document file://i.json";
    let apply = format!("{create}\n{attach_copy}\n{detach_original}");
    let rollback = format!("{put}\n{attach_original}\n{detach_copy}\n{delete}\n{put}");
    let run = |apply: &str, block: &str, read: &str| {
        let readme = format!("```sh apply\n{apply}\n```\n```sh rollback\n{rollback}\n```\n");
        std::fs::write(dir.path().join("README.md"), readme).unwrap();
        let args = block_args(block);
        let (status, stderr, log) = run_helper(dir.path(), &path, args, &[("AWS_READ", read)]);
        (status, format!("{read}: {stderr}\n{log}"), log)
    };
    let changes = |log: &str| {
        let lines = log.lines().filter(|l| !l.starts_with("iam get-policy"));
        lines.map(str::to_string).collect::<Vec<_>>()
    };
    // The copy: detached and deleted.
    let (code, case, log) = run(&apply, "rollback", "copy");
    assert_eq!(code, Some(0), "{case}");
    assert!(
        log.contains(&detach_copy[4..]) && log.contains(&delete[4..]),
        "{case}"
    );
    // Someone else's policy of that name, or one that cannot be read: it keeps its attachment and
    // is not deleted; the rollback stops before the detach, and says what is left to do.
    for (read, why) in [
        (
            "other",
            "its default version is not this folder's managed-p.json",
        ),
        ("denied", "it could not be read: "),
    ] {
        let (code, case, log) = run(&apply, "rollback", read);
        assert_eq!(code, Some(1), "{case}");
        assert_eq!(
            changes(&log),
            [&put[4..], &attach_original[4..]],
            "only the lines before it ran: {case}"
        );
        for said in [
            format!("not running command 3 of 5: policy {copy} is not the copy this folder makes"),
            why.to_string(),
            format!("aws iam get-policy --policy-arn {copy}"),
            format!("in order:\n  {put}\n"),
        ] {
            assert!(case.contains(&said), "{said}: {case}");
        }
        assert!(!case.contains(&format!("  {delete}")), "{case}");
    }
    // The copy does not exist: its detach and delete are done, without running them.
    let (code, case, log) = run(&apply, "rollback", "absent");
    assert_eq!(code, Some(0), "{case}");
    assert_eq!(
        changes(&log),
        [&put[4..], &attach_original[4..], &put[4..]],
        "{case}"
    );
    for line in [&detach_copy, &delete] {
        let said = format!("= {line} (already so: NoSuchEntity, the policy does not exist)");
        assert!(case.contains(&said), "{case}");
    }
    // A detach or delete of a policy the apply block does not make is never run.
    let (code, case, log) = run(
        &apply.replace(&format!("{create}\n"), ""),
        "rollback",
        "copy",
    );
    assert_eq!(code, Some(1), "{case}");
    assert!(
        !log.contains("detach-role-policy") && !log.contains("delete-policy"),
        "{case}"
    );
    assert!(
        case.contains("is not a policy the apply block creates"),
        "{case}"
    );
    // The apply's create-policy failing on someone else's policy says so, and stops.
    let (code, case, log) = run(&apply, "apply", "other");
    assert_eq!(code, Some(1), "{case}");
    assert!(!log.contains("attach-role-policy"), "{case}");
    assert!(
        case.contains("a policy named p-tightened-a already exists and is not this folder's copy"),
        "{case}"
    );
}

/// IAM Identity Center provisions a permission set asynchronously: after
/// `provision-permission-set` the helper follows the request
/// (`describe-permission-set-provisioning-status`, in the line's region) until it is SUCCEEDED,
/// and fails, saying why, when it is FAILED, cannot be read, or is still IN_PROGRESS after
/// `--wait` seconds. A stand-in `aws` answers `$AWS_FIRST` to the provisioning and `$AWS_THEN`
/// to every read of it.
#[test]
fn the_apply_helper_waits_for_a_permission_set_to_be_provisioned() {
    let dir = tempfile::tempdir().unwrap();
    let id = "4b9d1c3e-0f6a-4a57-9c1e-2d8f7e6a5b4c";
    let path = stand_in_aws(
        dir.path(),
        &format!(
            "case \"$2\" in\n\
             provision-permission-set) printf '{{\\n    \"PermissionSetProvisioningStatus\": \
             {{\\n        \"Status\": \"%s\",\\n        \"RequestId\": \"{id}\"\\n    }}\\n}}\\n' \
             \"$AWS_FIRST\" ;;\n\
             describe-permission-set-provisioning-status) [ \"$AWS_THEN\" != denied ] || \
             {{ echo 'An error occurred (AccessDeniedException) when calling the X operation: m' >&2; \
             exit 254; }}; printf '%s\\tNo role quota left in 222222222222\\n' \"$AWS_THEN\" ;;\n\
             esac\n"
        ),
    );
    let provision = "aws sso-admin provision-permission-set --instance-arn \
                     arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6 --permission-set-arn \
                     arn:aws:sso:::permissionSet/ssoins-7223a1b2c3d4e5f6/ps-0a1b2c3d4e5f6a7b \
                     --target-type ALL_PROVISIONED_ACCOUNTS --region eu-west-1";
    let readme = format!("```sh apply\n{provision}\n```\n```sh rollback\n```\n");
    std::fs::write(dir.path().join("README.md"), readme).unwrap();
    let run = |first: &str, then: &str, wait: &str| {
        let args = ["--apply", "--wait", wait];
        let env = [("AWS_FIRST", first), ("AWS_THEN", then)];
        let (status, stderr, log) = run_helper(dir.path(), &path, &args, &env);
        let reads = log
            .matches("describe-permission-set-provisioning-status")
            .count();
        (
            status,
            reads,
            format!("{first} {then} {wait}: {stderr}\n{log}"),
        )
    };
    let follow = format!(
        "describe-permission-set-provisioning-status --instance-arn \
         arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6 --provision-permission-set-request-id {id} \
         --region eu-west-1"
    );
    let (code, reads, case) = run("IN_PROGRESS", "SUCCEEDED", "600");
    assert_eq!((code, reads), (Some(0), 1), "{case}");
    assert!(case.contains(&follow), "{case}");
    assert!(
        case.contains(&format!("= provisioning request {id}: SUCCEEDED")),
        "{case}"
    );
    let (code, reads, case) = run("SUCCEEDED", "FAILED", "600");
    assert_eq!((code, reads), (Some(0), 0), "{case}");
    for (first, then, wait, reads, said) in [
        (
            "IN_PROGRESS",
            "FAILED",
            "600",
            1,
            "FAILED: No role quota left in 222222222222",
        ),
        ("FAILED", "SUCCEEDED", "600", 0, "FAILED: no reason given"),
        (
            "IN_PROGRESS",
            "denied",
            "600",
            1,
            "could not read provisioning request",
        ),
        (
            "IN_PROGRESS",
            "IN_PROGRESS",
            "0",
            0,
            "still IN_PROGRESS after 0s (--wait)",
        ),
        (
            "IN_PROGRESS",
            "IN_PROGRESS",
            "2",
            1,
            "still IN_PROGRESS after 2s (--wait)",
        ),
    ] {
        let (code, n, case) = run(first, then, wait);
        assert_eq!(code, Some(1), "{case}");
        assert!(n >= reads && n <= reads + 1, "{n} reads: {case}");
        assert!(case.contains(said), "{case}");
        assert!(case.contains("command 1 of 1 failed"), "{case}");
    }
}

/// An intentional principal's README says so first: its folder is not to be applied blindly.
#[test]
fn intentional_principals_readme_warns() {
    let (exports, an) = sample();
    let dir = tempfile::tempdir().unwrap();
    recommend::write_recommendations(&exports, &an, dir.path()).unwrap();
    let bg = std::fs::read_to_string(
        dir.path()
            .join("recommendations/111111111111/role/BreakGlassAdmin/README.md"),
    )
    .unwrap();
    let warn = bg
        .find("Intentional access: do not apply this without its owner")
        .expect("no warning");
    assert!(bg.contains("`break_glass`"));
    assert!(
        warn < bg.find("## Policies").unwrap(),
        "the warning is not above the policies"
    );
    let qa = std::fs::read_to_string(
        dir.path()
            .join("recommendations/111111111111/role/ExampleCorpQA/README.md"),
    )
    .unwrap();
    assert!(!qa.contains("Intentional access"));
}

// ---------------------------------------------------------------------------------------------
// Rules, on hand-built exports.

#[test]
fn wildcard_kept_when_nothing_under_it_is_unused_and_expanded_when_it_is() {
    let c = small();
    let mut role = principal(PrincipalType::Role, "app");
    role.inline_policies = vec![inline(
        "p",
        json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "S3", "Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/*"},
            {"Sid": "Ec2", "Effect": "Allow", "Action": ["ec2:*"], "Resource": "*",
             "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}}
        ]}),
    )];
    let ex = export(vec![role], vec![]);
    let an = analysis(
        c,
        &ex,
        &[
            ("app", "ec2:RunInstances", UNUSED),
            ("app", "ec2:TerminateInstances", Reason::ActionNotAccessed),
            ("app", "ec2:DescribeImages", UNKNOWN),
        ],
    );
    let plans = recommend::plan(&[ex], &an);
    let p = &plan_of(&plans, "app").policies[0];
    let st = statements(&p.tightened.parts.document);
    assert_eq!(
        st[0]["Action"],
        json!("s3:Get*"),
        "untouched wildcard stays"
    );
    assert_eq!(
        actions_of(&st[1]["Action"]),
        ["ec2:DescribeImages", "ec2:DescribeInstances"]
    );
    assert_eq!(
        st[1]["Condition"],
        json!({"StringEquals": {"aws:RequestedRegion": "eu-west-1"}})
    );
    assert_eq!(p.apply, Apply::PutInline);
    assert_eq!(
        p.tightened.parts.expanded_wildcards,
        [("Ec2".to_string(), "ec2:*".to_string())]
    );
}

#[test]
fn not_action_rewrite_is_flagged() {
    let c = small();
    let mut role = principal(PrincipalType::Role, "ops");
    role.inline_policies = vec![inline(
        "power",
        json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "All", "Effect": "Allow", "NotAction": ["iam:*"], "Resource": "*"},
            {"Sid": "Guard", "Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}
        ]}),
    )];
    let ex = export(vec![role], vec![]);
    let an = analysis(
        c,
        &ex,
        &[
            ("ops", "sqs:SendMessage", UNUSED),
            ("ops", "sqs:ReceiveMessage", UNUSED),
        ],
    );
    let plans = recommend::plan(&[ex], &an);
    let plan = plan_of(&plans, "ops");
    let p = &plan.policies[0];
    assert_eq!(p.tightened.not_action_rewritten, ["All"]);
    assert!(
        plan.flag_texts()
            .any(|f| f.contains("NotAction") && f.contains("All"))
    );
    let st = statements(&p.tightened.parts.document);
    assert!(st[0].get("NotAction").is_none());
    let keys: Vec<&String> = st[0].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["Sid", "Effect", "Action", "Resource"],
        "Action takes NotAction's place"
    );
    assert!(
        !actions_of(&st[0]["Action"])
            .iter()
            .any(|a| a.starts_with("sqs:") || a.starts_with("iam:"))
    );
    assert_eq!(
        st[1],
        json!({"Sid": "Guard", "Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"})
    );
}

#[test]
fn empty_policies_are_deleted_or_detached() {
    let c = small();
    let sqs = managed(
        "sqs-all",
        false,
        json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}),
    );
    let mut role = principal(PrincipalType::Role, "worker");
    role.attached_policies = vec![sqs.arn.clone()];
    role.inline_policies = vec![
        inline("old", allow("iam:CreateUser")),
        inline("keep", allow("s3:GetObject")),
    ];
    let arn = sqs.arn.clone();
    let ex = export(vec![role], vec![sqs]);
    let an = analysis(
        c,
        &ex,
        &[
            ("worker", "sqs:SendMessage", UNUSED),
            ("worker", "sqs:ReceiveMessage", UNUSED),
            ("worker", "iam:CreateUser", UNUSED),
        ],
    );
    let plans = recommend::plan(std::slice::from_ref(&ex), &an);
    let plan = plan_of(&plans, "worker");
    assert_eq!(plan.policies.len(), 2);
    let (apply, rollback) = recommend::commands(plan);
    assert!(plan.policies.iter().all(|p| p.tightened.empty));
    // The folder: the README and the original the rollback puts back (the deleted inline
    // policy); the detached managed policy needs no file. A decision points at a file there.
    let dir = tempfile::tempdir().unwrap();
    let summary =
        recommend::write_recommendations(std::slice::from_ref(&ex), &an, dir.path()).unwrap();
    let folder = dir.path().join(
        summary
            .get(ACCT, PrincipalType::Role, "worker")
            .unwrap()
            .path
            .as_deref()
            .unwrap(),
    );
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["README.md", "inline-old.original.json"]);
    let files: Vec<String> = plan
        .policies
        .iter()
        .map(|p| recommend::decision_file(plan, p))
        .collect();
    assert_eq!(files, ["inline-old.original.json", "README.md"]);
    assert!(
        apply.contains(
            &"aws iam delete-role-policy --role-name worker --policy-name old".to_string()
        )
    );
    assert!(apply.contains(&format!(
        "aws iam detach-role-policy --role-name worker --policy-arn {arn}"
    )));
    assert!(rollback.contains(&format!(
        "aws iam attach-role-policy --role-name worker --policy-arn {arn}"
    )));
    assert!(rollback.contains(&"aws iam put-role-policy --role-name worker --policy-name old --policy-document file://inline-old.original.json".to_string()));
    assert_eq!(plan.sets.after.len(), 1);
}

/// Customer managed policy `solo` (ec2:RunInstances and ec2:TerminateInstances), alone attached
/// to role `a`, which used only the first: the plan of `a` for `solo` as given.
fn solo_plan(solo: &ManagedPolicy) -> PrincipalPlan {
    let mut a = principal(PrincipalType::Role, "a");
    a.attached_policies = vec![solo.arn.clone()];
    let ex = export(vec![a], vec![solo.clone()]);
    let an = analysis(small(), &ex, &[("a", "ec2:TerminateInstances", UNUSED)]);
    let plans = recommend::plan(std::slice::from_ref(&ex), &an);
    plan_of(&plans, "a").clone()
}

fn solo() -> ManagedPolicy {
    managed(
        "solo",
        false,
        json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ec2:RunInstances", "ec2:TerminateInstances"], "Resource": "*"}]}),
    )
}

/// IAM keeps at most 5 versions of a managed policy: `create-policy-version` on a policy that has
/// them all fails (LimitExceeded). A plan that gives such a policy a new version says so, with
/// the command that deletes its oldest version other than the default; one with fewer does not.
#[test]
fn a_new_version_of_a_policy_with_five_versions_says_which_to_delete_first() {
    let mut solo = solo();
    let flags_of = |solo: &ManagedPolicy| {
        let plan = solo_plan(solo);
        assert!(matches!(plan.policies[0].apply, Apply::NewVersion { .. }));
        plan.flag_texts()
            .map(|f| f.to_string())
            .collect::<Vec<String>>()
    };
    solo.versions = 4;
    assert_eq!(flags_of(&solo), Vec::<String>::new());
    solo.versions = 5;
    solo.oldest_other_version = Some("v1".into());
    let flags = flags_of(&solo);
    assert_eq!(flags.len(), 1, "{flags:?}");
    assert!(
        flags[0].starts_with("solo: it has 5 versions, the most IAM keeps")
            && flags[0].ends_with(&format!(
                "aws iam delete-policy-version --policy-arn {} --version-id v1",
                solo.arn
            )),
        "{}",
        flags[0]
    );
}

/// A customer managed policy that IAM counts as some principal's permissions boundary
/// (`PermissionsBoundaryUsageCount`) is a boundary even when the export leaves that principal
/// out (`--filter`): a new version would narrow the unseen principal's permissions, so the
/// principal that tightens it gets its own copy, as for a boundary the export shows. And it is
/// not an unattached policy to delete.
#[test]
fn a_boundary_the_export_does_not_show_gets_no_new_version() {
    let mut solo = solo();
    let apply_of = |solo: &ManagedPolicy| solo_plan(solo).policies[0].apply.clone();
    assert!(matches!(apply_of(&solo), Apply::NewVersion { .. }));
    solo.boundary_uses = Some(1);
    assert!(
        matches!(apply_of(&solo), Apply::Replace(_)),
        "{:?}",
        apply_of(&solo)
    );
}

/// A customer managed policy without `AttachmentCount` or without
/// `PermissionsBoundaryUsageCount` (a hand-made export: AWS always writes both) is known to be
/// held by the export's principals only, which say nothing of a kind of principal the export
/// does not list (authorization details fetched with `--filter`): a new version could narrow a
/// user or group that holds it unseen, so the principal that tightens it gets its own copy, and
/// its flag says why. An export that lists users, groups and roles shows every holder: the
/// policy gets its new version.
#[test]
fn a_policy_without_its_counts_gets_no_new_version_unless_every_kind_is_listed() {
    let solo = solo();
    let plan_with = |counts: (Option<u32>, Option<u32>), every_kind: bool| {
        let mut a = principal(PrincipalType::Role, "a");
        a.attached_policies = vec![solo.arn.clone()];
        let mut principals = vec![a];
        if every_kind {
            let mut u = principal(PrincipalType::User, "u");
            u.groups = vec!["g".into()];
            principals.extend([u, principal(PrincipalType::Group, "g")]);
        }
        let mut ex = export(principals, vec![solo.clone()]);
        let p = std::sync::Arc::make_mut(ex.policies.get_mut(&solo.arn).unwrap());
        (p.attachment_count, p.boundary_uses) = counts;
        let an = analysis(small(), &ex, &[("a", "ec2:TerminateInstances", UNUSED)]);
        let plans = recommend::plan(std::slice::from_ref(&ex), &an);
        let plan = plan_of(&plans, "a");
        let flags: Vec<String> = plan.flag_texts().map(|f| f.to_string()).collect();
        (plan.policies[0].apply.clone(), flags)
    };
    let (apply, flags) = plan_with((Some(1), Some(0)), false);
    assert!(matches!(apply, Apply::NewVersion { .. }), "{apply:?}");
    assert_eq!(flags, Vec::<String>::new());
    let (apply, flags) = plan_with((None, Some(0)), false);
    assert!(
        matches!(&apply, Apply::Replace(r) if r.new_name == "solo-tightened-a"),
        "{apply:?}"
    );
    assert_eq!(
        flags,
        [
            "solo: the export has no AttachmentCount for it and lists no users and no groups \
          (authorization details fetched with --filter?), so whether other principals hold it \
          cannot be told, and a new version would narrow their permissions too: this principal \
          gets its own copy solo-tightened-a"
        ]
    );
    let (apply, flags) = plan_with((Some(1), None), false);
    assert!(matches!(apply, Apply::Replace(_)), "{apply:?}");
    assert!(
        flags.len() == 1
            && flags[0].starts_with("solo: the export has no PermissionsBoundaryUsageCount")
            && flags[0].contains("hold it or use it as their permissions boundary cannot be"),
        "{flags:?}"
    );
    let (apply, flags) = plan_with((None, None), false);
    assert!(matches!(apply, Apply::Replace(_)), "{apply:?}");
    assert!(
        flags.len() == 1
            && flags[0].contains("no AttachmentCount or PermissionsBoundaryUsageCount for it"),
        "{flags:?}"
    );
    // Every kind listed: the export's own attachments and boundaries are all there are.
    let (apply, _) = plan_with((None, None), true);
    assert!(matches!(apply, Apply::NewVersion { .. }), "{apply:?}");
}

/// Roles `a` and `other` sharing the customer managed policy `team` (`ec2:RunInstances` and
/// `ec2:TerminateInstances`): `a` leaves `ec2:TerminateInstances` unused, `other` the action
/// given, so they tighten `team` alike when that is the same action.
fn shared_team(other: &str, other_unused: &str) -> (Export, Analysis<'static>) {
    let team = managed(
        "team",
        false,
        json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ec2:RunInstances", "ec2:TerminateInstances"], "Resource": "*"}]}),
    );
    let mut a = principal(PrincipalType::Role, "a");
    a.attached_policies = vec![team.arn.clone()];
    let mut b = principal(PrincipalType::Role, other);
    b.attached_policies = vec![team.arn.clone()];
    let ex = export(vec![a, b], vec![team]);
    let verdicts = [
        ("a", "ec2:TerminateInstances", UNUSED),
        (other, other_unused, UNUSED),
    ];
    let an = analysis(small(), &ex, &verdicts);
    (ex, an)
}

/// A customer managed policy shared with an intentional-access principal (break-glass) gets no
/// new version even when that principal's tightened document is the same as the others': it has
/// no decision of its own (its decision is `confirm_intentional`), so the new version would
/// narrow it under a decision that names only the others. Each other principal gets a copy.
#[test]
fn a_policy_shared_with_intentional_access_gets_no_new_version() {
    let apply_of = |other: &str| {
        let (ex, an) = shared_team(other, "ec2:TerminateInstances");
        let plans = recommend::plan(std::slice::from_ref(&ex), &an);
        plan_of(&plans, "a").policies[0].apply.clone()
    };
    assert!(matches!(apply_of("b"), Apply::NewVersion { .. }));
    assert!(
        matches!(apply_of("BreakGlassOps"), Apply::Replace(_)),
        "{:?}",
        apply_of("BreakGlassOps")
    );
}

/// A customer managed policy that several principals tighten alike gets one new version, which
/// changes them all at once: it is one `new_policy_version` decision naming every one of them
/// (with what each used, and removing what they all lose), not one decision per principal that a
/// reviewer could approve for one and reject for another. Its files are in the first folder
/// written (every folder has the document and the `create-policy-version` line), also when the
/// first principal's is not (`--recommendations`). Tightened differently, each principal has its
/// own decision (a copy each).
#[test]
fn a_shared_policy_version_is_one_decision_for_all_its_principals() {
    use iam_tighten::decisions::DecisionKind;
    let decisions_written = |b_unused: &str, a_written: bool| {
        let (ex, an) = shared_team("b", b_unused);
        let plans = recommend::plan(std::slice::from_ref(&ex), &an);
        let written: Vec<bool> = plans.iter().map(|p| a_written || p.name != "a").collect();
        let summary = recommend::summarise(&plans, &written, &an);
        let ids = analysis::identities::identity_findings(
            std::slice::from_ref(&ex),
            &an,
            &analysis::identities::IdentitySettings::new(90),
        );
        iam_tighten::decisions::decide(&an, &plans, &summary, &ids).list
    };
    let decisions = |b_unused: &str| decisions_written(b_unused, true);
    let alike = decisions("ec2:TerminateInstances");
    let versions: Vec<_> = alike
        .iter()
        .filter(|d| d.kind == DecisionKind::NewPolicyVersion)
        .collect();
    assert_eq!(versions.len(), 1, "{versions:#?}");
    let d = versions[0];
    assert_eq!(&*d.principal_name, "a");
    let title = d.title();
    assert!(
        title.contains("team")
            && title.contains("2 principals")
            && title.contains("role a and role b"),
        "{title}"
    );
    assert!(
        d.evidence.contains("role a: ") && d.evidence.contains("role b: "),
        "{}",
        d.evidence
    );
    let total = d.removes.critical + d.removes.high + d.removes.medium + d.removes.low;
    assert_eq!(
        total, 2,
        "each principal loses ec2:TerminateInstances: {:?}",
        d.removes
    );
    let ranks: Vec<u32> = alike.iter().map(|d| d.rank).collect();
    assert_eq!(ranks, (1..=alike.len() as u32).collect::<Vec<_>>());
    let folder = format!("recommendations/{ACCT}/role");
    assert_eq!(
        d.files.as_deref(),
        Some(format!("{folder}/a/managed-team.json").as_str())
    );
    // Only b's folder written: the decision points there.
    let b_only = decisions_written("ec2:TerminateInstances", false);
    let d = b_only
        .iter()
        .find(|d| d.kind == DecisionKind::NewPolicyVersion)
        .unwrap();
    assert_eq!(&*d.principal_name, "a");
    assert_eq!(
        d.files.as_deref(),
        Some(format!("{folder}/b/managed-team.json").as_str())
    );
    // Tightened differently: a copy each, one decision each.
    let apart = decisions("ec2:RunInstances");
    let copies = apart
        .iter()
        .filter(|d| d.kind == DecisionKind::ReplaceManagedPolicy)
        .count();
    assert_eq!(copies, 2, "{apart:#?}");
    assert!(
        !apart
            .iter()
            .any(|d| d.kind == DecisionKind::NewPolicyVersion)
    );
}

/// A policy already named as the principal's copy would be (a copy an earlier run left
/// behind), whatever its path and case (IAM compares policy names case apart), or known only as
/// attached to another principal (a filtered export): the apply's create-policy would fail on
/// it, and the rollback would detach and delete it. The copy gets the first free name of `-2`,
/// `-3`, ..., the same in the plan, its commands, its flags, the summary and the decision, and
/// the plan says why. Without such a policy the name is the usual one and nothing is said.
#[test]
fn a_copy_whose_name_is_taken_gets_a_free_one() {
    use iam_tighten::decisions::DecisionKind;
    let c = small();
    let doc = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:Get*", "iam:Get*"], "Resource": "*"}]});
    let other = |name: &str, path: &str| {
        let mut m = managed(name, false, doc.clone());
        m.arn = format!("arn:aws:iam::{ACCT}:policy{path}{name}");
        m.path = path.into();
        m
    };
    let cases: [(&[ManagedPolicy], Option<&str>, &str); 6] = [
        (&[], None, "ReadOnly-tightened-a"),
        (
            &[other("ReadOnly-tightened-a", "/")],
            None,
            "ReadOnly-tightened-a-2",
        ),
        (
            &[other("readonly-TIGHTENED-A", "/old/")],
            None,
            "ReadOnly-tightened-a-2",
        ),
        (
            &[
                other("ReadOnly-tightened-a", "/"),
                other("ReadOnly-tightened-a-2", "/x/"),
            ],
            None,
            "ReadOnly-tightened-a-3",
        ),
        // Only another principal's attachment shows it.
        (&[], Some("ReadOnly-tightened-a"), "ReadOnly-tightened-a-2"),
        // Another account's policy of that name takes nothing from this one.
        (
            &[],
            Some("arn:aws:iam::999999999999:policy/ReadOnly-tightened-a"),
            "ReadOnly-tightened-a",
        ),
    ];
    for (taken, attached_elsewhere, want) in cases {
        let ro = managed("ReadOnly", true, doc.clone());
        // A customer managed policy `b` uses differently: `a` gets its own copy of it too.
        let team = managed("team", false, doc.clone());
        let mut a = principal(PrincipalType::Role, "a");
        a.attached_policies = vec![ro.arn.clone(), team.arn.clone()];
        let mut b = principal(PrincipalType::Role, "b");
        b.attached_policies = vec![team.arn.clone()];
        if let Some(name) = attached_elsewhere {
            let arn = if name.starts_with("arn:") {
                name.to_string()
            } else {
                format!("arn:aws:iam::{ACCT}:policy/{name}")
            };
            b.attached_policies.push(arn);
        }
        let mut policies = vec![ro, team];
        policies.extend(taken.iter().cloned());
        let ex = export(vec![a, b], policies);
        let an = analysis(c, &ex, &[("a", "iam:GetRole", UNUSED)]);
        let plans = recommend::plan(std::slice::from_ref(&ex), &an);
        let pa = plan_of(&plans, "a");
        let copy = |policy: &str| match &pa
            .policies
            .iter()
            .find(|p| p.policy.name == policy)
            .unwrap()
            .apply
        {
            Apply::Replace(r) => r.clone(),
            other => panic!("{policy}: {other:?}"),
        };
        let r = copy("ReadOnly");
        assert_eq!(r.new_name, want);
        assert_eq!(r.new_arn, format!("arn:aws:iam::{ACCT}:policy/{want}"));
        // The other copy keeps its usual name: its own is free.
        assert_eq!(copy("team").new_name, "team-tightened-a");
        let renamed = want != "ReadOnly-tightened-a";
        let flags: Vec<String> = pa.flag_texts().map(|f| f.into_owned()).collect();
        let said = flags.iter().any(|f| {
            f.starts_with("ReadOnly: this principal's copy would be named ReadOnly-tightened-a")
                && f.contains(&format!("so it is named {want};"))
        });
        assert_eq!(said, renamed, "{want}: {flags:?}");
        let (apply, rollback) = recommend::commands(pa);
        assert!(apply.contains(&format!(
            "aws iam create-policy --policy-name {want} --policy-document file://aws-managed-ReadOnly.json"
        )), "{apply:?}");
        assert!(rollback.contains(&format!("aws iam delete-policy --policy-arn {}", r.new_arn)));
        if renamed {
            // Nothing touches the policy of the usual name.
            let usual = ":policy/ReadOnly-tightened-a ";
            assert!(
                !apply
                    .iter()
                    .chain(&rollback)
                    .any(|l| format!("{l} ").contains(usual)),
                "{rollback:?}"
            );
        }
        // The summary (report.json, the HTML report) and the decision name the same copy.
        let (summary_flags, written) = summary_of(&plans, &an, "a");
        assert_eq!(summary_flags, flags);
        let policies = written["policies"].as_array().unwrap();
        let ro = policies.iter().find(|p| p["name"] == "ReadOnly").unwrap();
        assert_eq!(ro["apply"]["new_name"], want, "{ro}");
        assert_eq!(ro["apply"]["new_arn"], r.new_arn.as_str(), "{ro}");
        let ids = analysis::identities::identity_findings(
            std::slice::from_ref(&ex),
            &an,
            &analysis::identities::IdentitySettings::new(90),
        );
        let summary = recommend::summarise(&plans, &vec![true; plans.len()], &an);
        let decisions = iam_tighten::decisions::decide(&an, &plans, &summary, &ids).list;
        let d = decisions
            .iter()
            .find(|d| d.kind == DecisionKind::ReplaceManagedPolicy && &*d.subject == "ReadOnly")
            .unwrap();
        let title = d.title();
        let words = title.split([' ', ',', ';', '(', ')', '`']);
        assert_eq!(
            words
                .filter(|w| w.starts_with("ReadOnly-tightened-a"))
                .collect::<Vec<_>>(),
            [want],
            "{title}"
        );
    }
}

/// The principal's attached managed policies after each line of `lines`, from `start`: an
/// `attach-…` adds its `--policy-arn` (`--managed-policy-arn` for a permission set), a
/// `detach-…` takes it away.
pub(super) fn attached_after_each(start: &[String], lines: &[String]) -> Vec<BTreeSet<String>> {
    let mut now: BTreeSet<String> = start.iter().cloned().collect();
    let mut states = vec![now.clone()];
    for l in lines {
        let arn = l
            .split("-policy-arn ")
            .nth(1)
            .map(|r| r.split(' ').next().unwrap());
        match (l.split(' ').nth(2), arn) {
            (Some(v), Some(arn)) if v.starts_with("attach-") => {
                now.insert(arn.to_string());
            }
            (Some(v), Some(arn)) if v.starts_with("detach-") => {
                assert!(now.remove(arn), "{l}: not attached");
            }
            _ => {}
        }
        states.push(now.clone());
    }
    states
}

/// A principal of `kind` named `full` with `total` attached managed policies: AWS managed ones
/// to replace with a copy (`replace`), one that goes entirely (`goes`), and fillers left as they
/// are. Fillers grant what it uses; `goes` grants only what it does not use.
fn with_policies(
    kind: PrincipalType,
    total: usize,
    replace: &[&str],
    goes: Option<&str>,
) -> (Principal, Vec<ManagedPolicy>) {
    let mut policies = Vec::new();
    for (name, actions) in replace.iter().zip([
        json!(["s3:Get*", "iam:Get*"]),
        json!(["ec2:Describe*", "ec2:TerminateInstances"]),
    ]) {
        policies.push(managed(
            name,
            true,
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": actions, "Resource": "*"}]}),
        ));
    }
    if let Some(name) = goes {
        policies.push(managed(name, false, allow("iam:CreateUser")));
    }
    let mut k = 0;
    while policies.len() < total {
        k += 1;
        let name = format!("filler{k}-{}", kind.as_str());
        policies.push(managed(&name, false, allow("s3:GetObject")));
    }
    let mut who = principal(kind, "full");
    who.attached_policies = policies.iter().map(|p| p.arn.clone()).collect();
    (who, policies)
}

/// What `full` does not use among the actions of [`with_policies`].
const FULL_UNUSED: [(&str, &str, Reason); 3] = [
    ("full", "iam:GetRole", UNUSED),
    ("full", "iam:CreateUser", UNUSED),
    ("full", "ec2:TerminateInstances", UNUSED),
];

/// The apply of a folder detaches the policies that go before it attaches any copy, so that a
/// role at its quota (ten managed policies) never needs an eleventh when the folder frees a
/// slot; the rollback undoes it in reverse, copies first, so it never needs one either. At every
/// step each replaced policy is attached as the original or as its copy (or both): the role
/// never lacks what the change keeps. Without a policy that goes, one more is needed, briefly,
/// and no more than one, however many policies are replaced.
#[test]
fn apply_and_rollback_need_no_more_attached_policies_than_they_must() {
    let c = small();
    for (replace, goes, peak) in [
        (&["ReadOnly"][..], Some("old"), 10),
        (&["ReadOnly", "Ops"][..], Some("old"), 10),
        (&["ReadOnly", "Ops"][..], None, 11),
    ] {
        let (role, policies) = with_policies(PrincipalType::Role, 10, replace, goes);
        let arns = role.attached_policies.clone();
        let ex = export(vec![role], policies);
        let an = analysis(c, &ex, &FULL_UNUSED);
        let plans = recommend::plan(std::slice::from_ref(&ex), &an);
        let plan = plan_of(&plans, "full");
        let copies: Vec<(String, String)> = plan
            .policies
            .iter()
            .filter_map(|p| match &p.apply {
                Apply::Replace(r) => Some((p.policy.arn.clone().unwrap(), r.new_arn.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(copies.len(), replace.len(), "{replace:?}");
        let detached = plan
            .policies
            .iter()
            .filter(|p| p.apply == Apply::Detach)
            .count();
        assert_eq!(detached, usize::from(goes.is_some()), "{replace:?}");
        let (apply, rollback) = recommend::commands(plan);
        let applied = attached_after_each(&arns, &apply);
        let end = applied.last().unwrap().clone();
        let rolled = attached_after_each(&end.iter().cloned().collect::<Vec<_>>(), &rollback);
        assert_eq!(
            rolled.last().unwrap(),
            &applied[0],
            "the rollback restores the role"
        );
        for (k, state) in applied.iter().chain(&rolled).enumerate() {
            for (original, copy) in &copies {
                assert!(
                    state.contains(original) || state.contains(copy),
                    "{replace:?} {goes:?}, step {k}: neither {original} nor its copy attached"
                );
            }
        }
        let most = |s: &[BTreeSet<String>]| s.iter().map(BTreeSet::len).max().unwrap();
        assert_eq!(
            (most(&applied), most(&rolled)),
            (peak, peak),
            "{replace:?} {goes:?}\n{apply:#?}\n{rollback:#?}"
        );
        // The folder's README says which it is, and its blocks are these commands.
        let dir = tempfile::tempdir().unwrap();
        let summary =
            recommend::write_recommendations(std::slice::from_ref(&ex), &an, dir.path()).unwrap();
        let entry = summary.get(ACCT, PrincipalType::Role, "full").unwrap();
        let folder = dir.path().join(entry.path.as_deref().unwrap());
        let readme = std::fs::read_to_string(folder.join("README.md")).unwrap();
        assert_eq!(readme_block(&readme, "apply"), apply);
        assert_eq!(readme_block(&readme, "rollback"), rollback);
        let said = [
            "never has more managed policies attached than it has now",
            "briefly has one more managed policy attached than it has now",
        ];
        let says = said.map(|t| readme.contains(t));
        assert_eq!(says, [peak == 10, peak == 11], "{replace:?} {goes:?}");
    }
}

/// When even the best order needs one more managed policy than a principal at IAM's default
/// quota has room for (ten or more attached, counted from the export, and nothing detached
/// first), the plan says so: what fails and what to do. A user's group policies count to its
/// groups, not to it; a group has a quota of its own.
#[test]
fn a_principal_at_the_quota_whose_folder_detaches_nothing_is_flagged() {
    let c = small();
    let role = PrincipalType::Role;
    for (kind, total, goes, flagged) in [
        (role, 10, None, true),
        (role, 12, None, true),
        (role, 10, Some("old"), false),
        (role, 9, None, false),
        (PrincipalType::User, 10, None, true),
        (PrincipalType::Group, 10, None, true),
    ] {
        let (who, policies) = with_policies(kind, total, &["ReadOnly", "Ops"], goes);
        let ex = export(vec![who], policies);
        let an = analysis(c, &ex, &FULL_UNUSED);
        let plans = recommend::plan(std::slice::from_ref(&ex), &an);
        let plan = plan_of(&plans, "full");
        assert!(plan.skipped.is_none(), "{kind} {total}: {:?}", plan.skipped);
        let texts: Vec<String> = plan.flag_texts().map(String::from).collect();
        let quota: Vec<&String> = texts.iter().filter(|f| f.contains("quota")).collect();
        let case = format!("{kind} {total} {goes:?}: {texts:?}");
        assert_eq!(quota.len(), usize::from(flagged), "{case}");
        if let Some(f) = quota.first() {
            let k = kind.as_str();
            for part in [
                format!("{total} managed policies are attached to this {k}"),
                format!("copy of ReadOnly (attach-{k}-policy) makes {}", total + 1),
                "LimitExceeded".to_string(),
                "rollback".to_string(),
                "raise the quota".to_string(),
            ] {
                assert!(f.contains(&part), "{part}: {case}");
            }
            // summary.json and report.json say it as the plan does.
            let summary = recommend::summarise(&plans, &vec![true; plans.len()], &an);
            let entry = summary.get(ACCT, kind, "full").unwrap();
            let written = serde_json::to_value(entry).unwrap();
            assert!(
                written["flags"].as_array().unwrap().contains(&json!(f)),
                "{case}"
            );
        }
    }
    // A user with nine managed policies of its own in a group with ten: the group's do not
    // count to the user's quota (nor does the user's plan attach anything to the group).
    let (mut user, mut policies) = with_policies(PrincipalType::User, 9, &["ReadOnly"], None);
    user.groups = vec!["g".into()];
    let mut group = principal(PrincipalType::Group, "g");
    for k in 0..10 {
        let p = managed(&format!("team{k}"), false, allow("s3:GetObject"));
        group.attached_policies.push(p.arn.clone());
        policies.push(p);
    }
    let ex = export(vec![user, group], policies);
    let an = analysis(c, &ex, &FULL_UNUSED);
    let plans = recommend::plan(std::slice::from_ref(&ex), &an);
    let plan = plan_of(&plans, "full");
    assert!(
        plan.policies
            .iter()
            .any(|p| matches!(p.apply, Apply::Replace(_)))
    );
    assert!(
        !plan.flag_texts().any(|f| f.contains("quota")),
        "{:?}",
        plan.flags
    );
}

#[test]
fn aws_managed_gets_a_replacement_and_shared_customer_managed_only_when_all_agree() {
    let c = small();
    let ro = managed(
        "ReadOnly",
        true,
        json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:Get*", "ec2:Describe*", "iam:Get*", "iam:List*"], "Resource": "*"}]}),
    );
    let shared = managed(
        "team",
        false,
        json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["sqs:*", "s3:PutObject"], "Resource": "*"}]}),
    );
    let solo = managed(
        "solo",
        false,
        json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ec2:RunInstances", "ec2:TerminateInstances"], "Resource": "*"}]}),
    );
    let mut a = principal(PrincipalType::Role, "a");
    a.attached_policies = vec![ro.arn.clone(), shared.arn.clone(), solo.arn.clone()];
    let mut b = principal(PrincipalType::Role, "b");
    b.attached_policies = vec![shared.arn.clone()];
    let (ro_arn, shared_arn, solo_arn) = (ro.arn.clone(), shared.arn.clone(), solo.arn.clone());
    let ex = export(vec![a, b], vec![ro, shared, solo]);

    // a does not use sqs:SendMessage, b does: the shared policy is copied for a.
    let an = analysis(
        c,
        &ex,
        &[
            ("a", "iam:GetRole", UNUSED),
            ("a", "sqs:SendMessage", UNUSED),
            ("a", "ec2:TerminateInstances", UNUSED),
        ],
    );
    let plans = recommend::plan(std::slice::from_ref(&ex), &an);
    let pa = plan_of(&plans, "a");
    let by = |name: &str| pa.policies.iter().find(|p| p.policy.name == name).unwrap();
    assert!(matches!(&by("ReadOnly").apply, Apply::Replace(r)
        if r.new_name == "ReadOnly-tightened-a" && r.new_arn == "arn:aws:iam::123456789012:policy/ReadOnly-tightened-a"));
    assert!(matches!(&by("team").apply, Apply::Replace(_)));
    // The reviewer is told why `a` gets a copy of the shared policy: held as a kind (the index
    // of the policy), read in words, the same from the plan and from its summary.
    let own_copy = "team: shared, and a new version would change the other principals too \
                    (some need different actions, hold it as intentional access, use it as a \
                    permissions boundary, or are not in the export), so this principal gets its \
                    own copy team-tightened-a";
    let team = pa
        .policies
        .iter()
        .position(|p| p.policy.name == "team")
        .unwrap();
    assert!(
        pa.flags.contains(&Flag::OwnCopy {
            policy: team as u32,
            number: 0
        }),
        "{:?}",
        pa.flags
    );
    assert_eq!(pa.flag_texts().collect::<Vec<_>>(), [own_copy]);
    let (summary_flags, written) = summary_of(&plans, &an, "a");
    assert_eq!(summary_flags, [own_copy]);
    assert_eq!(written["flags"], json!([own_copy]));
    assert_eq!(
        by("solo").apply,
        Apply::NewVersion {
            previous_default: Some("v3".into())
        }
    );
    let (apply, rollback) = recommend::commands(pa);
    let create = apply.iter().position(|l| l == "aws iam create-policy --policy-name ReadOnly-tightened-a --policy-document file://aws-managed-ReadOnly.json").unwrap();
    let attach = apply.iter().position(|l| l == "aws iam attach-role-policy --role-name a --policy-arn arn:aws:iam::123456789012:policy/ReadOnly-tightened-a").unwrap();
    let detach = apply
        .iter()
        .position(|l| {
            *l == format!("aws iam detach-role-policy --role-name a --policy-arn {ro_arn}")
        })
        .unwrap();
    assert!(
        create < attach && attach < detach,
        "attach the copy before detaching the original"
    );
    assert!(apply.contains(&format!("aws iam create-policy-version --policy-arn {solo_arn} --policy-document file://managed-solo.json --set-as-default")));
    assert!(rollback.contains(&format!(
        "aws iam set-default-policy-version --policy-arn {solo_arn} --version-id v3"
    )));
    assert!(rollback.contains(&"aws iam delete-policy --policy-arn arn:aws:iam::123456789012:policy/ReadOnly-tightened-a".to_string()));
    // ReadOnly copy: `iam:Get*` expanded without GetRole; the rest untouched.
    let st = statements(&by("ReadOnly").tightened.parts.document);
    assert_eq!(
        actions_of(&st[0]["Action"]),
        ["s3:Get*", "ec2:Describe*", "iam:List*"]
    );

    // Both leave sqs:SendMessage unused: both get the same document, so a new version it is.
    let an = analysis(
        c,
        &ex,
        &[
            ("a", "sqs:SendMessage", UNUSED),
            ("b", "sqs:SendMessage", UNUSED),
        ],
    );
    let plans = recommend::plan(std::slice::from_ref(&ex), &an);
    for n in ["a", "b"] {
        let p = plan_of(&plans, n)
            .policies
            .iter()
            .find(|p| p.policy.name == "team")
            .unwrap();
        assert!(matches!(p.apply, Apply::NewVersion { .. }), "{n}");
    }
    assert!(
        recommend::commands(plan_of(&plans, "b"))
            .0
            .iter()
            .any(|l| l.contains(&shared_arn))
    );
}

#[test]
fn service_linked_roles_and_groups() {
    let c = small();
    let mut slr = principal(PrincipalType::Role, "AWSServiceRoleForX");
    slr.service_linked = true;
    slr.inline_policies = vec![inline("p", allow("sqs:*"))];
    let mut group = principal(PrincipalType::Group, "devs");
    group.inline_policies = vec![inline(
        "base",
        json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ec2:Describe*", "sqs:*"], "Resource": "*"}]}),
    )];
    let mut alice = principal(PrincipalType::User, "alice");
    alice.groups = vec!["devs".into()];
    let mut bob = principal(PrincipalType::User, "bob");
    bob.groups = vec!["devs".into()];
    let ex = export(vec![slr, group, alice, bob], vec![]);
    // The group uses nothing; alice uses sqs:SendMessage; bob uses nothing.
    let mut verdicts = Vec::new();
    for who in ["AWSServiceRoleForX", "devs", "bob"] {
        for a in [
            "sqs:SendMessage",
            "sqs:ReceiveMessage",
            "ec2:DescribeImages",
            "ec2:DescribeInstances",
        ] {
            verdicts.push((who, a, UNUSED));
        }
    }
    for a in [
        "sqs:ReceiveMessage",
        "ec2:DescribeImages",
        "ec2:DescribeInstances",
    ] {
        verdicts.push(("alice", a, UNUSED));
    }
    let an = analysis(c, &ex, &verdicts);
    let plans = recommend::plan(std::slice::from_ref(&ex), &an);
    assert_eq!(
        plan_of(&plans, "AWSServiceRoleForX").skipped.as_deref(),
        Some("service_linked")
    );
    // Users get nothing for group policies; the group keeps what alice uses.
    assert_eq!(
        plan_of(&plans, "bob").skipped.as_deref(),
        Some("granted_through_groups_only")
    );
    let g = plan_of(&plans, "devs");
    let st = statements(&g.policies[0].tightened.parts.document);
    assert_eq!(actions_of(&st[0]["Action"]), ["sqs:SendMessage"]);
    assert!(g.flag_texts().any(|f| f.contains("alice")));
    let (apply, _) = recommend::commands(g);
    assert_eq!(
        apply,
        [
            "aws iam put-group-policy --group-name devs --policy-name base --policy-document file://inline-base.json"
        ]
    );
}

#[test]
fn hostile_policy_names_stay_safe_file_names() {
    for hostile in [
        "../../etc/passwd",
        "..",
        ".",
        "a/b",
        "x\\y",
        "",
        "\0",
        "evil\nname",
        "$(rm -rf ~)",
    ] {
        let s = safe_file_name(hostile);
        assert!(
            !s.is_empty() && !s.contains(['/', '\\', '\0', '\n']) && !s.starts_with('.'),
            "{hostile:?} → {s:?}"
        );
        assert_ne!(s, "..");
    }
    let c = small();
    let mut role = principal(PrincipalType::Role, "../escape");
    role.inline_policies = vec![inline("../../pwned", allow("sqs:*"))];
    let ex = export(vec![role], vec![]);
    let an = analysis(c, &ex, &[("../escape", "sqs:SendMessage", UNUSED)]);
    let dir = tempfile::tempdir().unwrap();
    let summary =
        recommend::write_recommendations(std::slice::from_ref(&ex), &an, dir.path()).unwrap();
    let rec = summary.get(ACCT, PrincipalType::Role, "../escape").unwrap();
    let folder = dir.path().join(rec.path.as_deref().unwrap());
    assert!(folder.starts_with(dir.path().join("recommendations")));
    assert_eq!(folder.file_name().unwrap(), &*safe_file_name("../escape"));
    assert!(safe_file_name("../escape").starts_with("_.._escape~"));
    let pwned = format!("inline-{}.json", safe_file_name("../../pwned"));
    assert!(folder.join(&pwned).exists());
    let readme = std::fs::read_to_string(folder.join("README.md")).unwrap();
    let cmds = readme_block(&readme, "apply").join("\n");
    assert!(cmds.contains(&format!(
        "--role-name ../escape --policy-name ../../pwned --policy-document 'file://{pwned}'"
    )));
    // Nothing was written outside the output folder.
    let entries: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(entries, ["recommendations"]);
}

#[test]
fn oversized_policy_is_minimised_into_safe_wildcards() {
    let c = Catalog::embedded();
    let mut role = principal(PrincipalType::Role, "big");
    role.inline_policies = vec![inline(
        "all",
        json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}),
    )];
    let ex = export(vec![role], vec![]);
    // Everything kept except one Write action: the explicit list of ~700 ec2 actions is too big.
    let an = analysis(c, &ex, &[("big", "ec2:RunInstances", UNUSED)]);
    let plans = recommend::plan(std::slice::from_ref(&ex), &an);
    let plan = plan_of(&plans, "big");
    let p = &plan.policies[0];
    assert!(p.tightened.minimised, "size {}", p.size);
    assert!(p.size <= recommend::limits::INLINE_ROLE, "size {}", p.size);
    assert!(plan.flag_texts().any(|f| f.contains("size limit")));
    let acts = actions_of(&statements(&p.tightened.parts.document)[0]["Action"]);
    assert!(acts.iter().any(|a| a == "ec2:Describe*"));
    assert!(!acts.iter().any(|a| a == "ec2:Run*" || a == "ec2:*"));
    let mut e = Expander::new(c);
    let (problems, after) = recommend::verify(&ex, plan, &mut e);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(after.len(), plan.sets.before.len() - 1);
}

/// Verification reads what a tightened document grants beyond the catalog, and what it counts
/// as removed: a document that still grants a removed action through a pattern (`e?2:*`), or a
/// service the original did not grant (`newsvc:*` for a `NotAction` of `newsvc:Delete*`), fails
/// (review pass 47: both passed, read through the catalog's expansions alone).
#[test]
fn verification_fails_a_document_granting_beyond_the_original() {
    let c = Catalog::embedded();
    let mut role = principal(PrincipalType::Role, "r");
    role.inline_policies = vec![inline(
        "p",
        json!({"Version": "2012-10-17", "Statement": [{"Sid": "N", "Effect": "Allow",
            "NotAction": ["iam:*", "newsvc:Delete*"], "Resource": "*"}]}),
    )];
    let ex = export(vec![role], vec![]);
    let an = analysis(c, &ex, &[("r", "ec2:TerminateInstances", UNUSED)]);
    let mut plans = recommend::plan(std::slice::from_ref(&ex), &an);
    let plan = plans.iter_mut().find(|p| p.name == "r").unwrap();
    let mut e = Expander::new(c);
    let (problems, _) = recommend::verify(&ex, plan, &mut e);
    assert!(problems.is_empty(), "{problems:?}");
    let written = statements(&plan.policies[0].tightened.parts.document)[0]["Action"].clone();
    for (extra, problem) in [
        (
            "e?2:*",
            "still grants 1 action(s) it is counted as removing",
        ),
        ("newsvc:*", "may grant actions the catalog does not know"),
    ] {
        let mut list = actions_of(&written);
        list.push(extra.into());
        plan.policies[0].documents_mut().new_document = doc(json!({"Version": "2012-10-17",
            "Statement": [{"Sid": "N", "Effect": "Allow", "Action": list, "Resource": "*"}]}));
        let (problems, _) = recommend::verify(&ex, plan, &mut e);
        assert!(
            problems.iter().any(|p| p.contains(problem)),
            "{extra}: {problems:?}"
        );
    }
}

/// Verification computes a principal's grants after the change on the export as it is, with its
/// own policies replaced ([`principal_grants_changed`]); the result is that of the grants on a
/// copy of the export with the documents swapped in: an inline policy replaced (only the first of
/// its name) or deleted (every one of its name), a managed policy replaced for the principal
/// alone or detached, while the same policy attached through a group, or used as the
/// permissions boundary, stays as it is.
#[test]
fn grants_with_changed_policies_are_the_grants_of_the_changed_copy() {
    let c = Catalog::embedded();
    let p_doc = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ec2:*", "iam:Get*"], "Resource": "*"}]});
    let p = managed("P", false, p_doc);
    let q = managed("Q", false, allow("sqs:*"));
    let mut group = principal(PrincipalType::Group, "g");
    group.attached_policies = vec![p.arn.clone()];
    let mut user = principal(PrincipalType::User, "u");
    user.inline_policies = vec![
        inline("a", allow("s3:*")),
        inline("b", allow("sns:*")),
        inline("a", allow("kms:*")),
    ];
    user.attached_policies = vec![p.arn.clone(), q.arn.clone()];
    let mut alone = user.clone();
    alone.groups = Vec::new();
    alone.name = "alone".into();
    user.groups = vec!["g".into()];
    user.permissions_boundary = Some(p.arn.clone());
    let new_a = doc(allow("s3:GetObject"));
    let new_p = doc(allow("ec2:Describe*"));
    let ex = export(vec![user, alone, group], vec![p.clone(), q.clone()]);
    let cases: Vec<(&str, PolicyChanges<'_>)> = vec![
        (
            "inline a replaced",
            PolicyChanges {
                inline: vec![("a", Some(&new_a))],
                attached: vec![],
            },
        ),
        (
            "inline a deleted",
            PolicyChanges {
                inline: vec![("a", None)],
                attached: vec![],
            },
        ),
        (
            "inline b deleted, Q detached",
            PolicyChanges {
                inline: vec![("b", None)],
                attached: vec![(q.arn.as_str(), None)],
            },
        ),
        (
            "P replaced",
            PolicyChanges {
                inline: vec![],
                attached: vec![(p.arn.as_str(), Some(&new_p))],
            },
        ),
        (
            "P detached",
            PolicyChanges {
                inline: vec![],
                attached: vec![(p.arn.as_str(), None)],
            },
        ),
    ];
    let mut e = Expander::new(c);
    for name in ["u", "alone"] {
        let who = ex.principal(PrincipalType::User, name).unwrap();
        let unchanged = principal_grants(who, &ex, &mut e).effective;
        for (case, changes) in &cases {
            // The copy, changed by hand.
            let mut copy = ex.clone();
            let mut changed = who.clone();
            for (policy, document) in &changes.inline {
                match document {
                    None => changed.inline_policies.retain(|i| i.name != *policy),
                    Some(d) => {
                        let i = changed
                            .inline_policies
                            .iter_mut()
                            .find(|i| i.name == *policy);
                        i.unwrap().document = (*d).clone();
                    }
                }
            }
            for (arn, document) in &changes.attached {
                match document {
                    None => changed.attached_policies.retain(|a| a != arn),
                    Some(d) => {
                        let private = format!("{arn}#copy");
                        for a in &mut changed.attached_policies {
                            if a == arn {
                                a.clone_from(&private);
                            }
                        }
                        let m = copy.policies[*arn].with_document(private.clone(), (*d).clone());
                        copy.policies.insert(private, std::sync::Arc::new(m));
                    }
                }
            }
            let slot = copy.principals.iter_mut().find(|x| x.name == name).unwrap();
            *slot = changed;
            let want = principal_grants(
                copy.principal(PrincipalType::User, name).unwrap(),
                &copy,
                &mut e,
            );
            let got = principal_grants_changed(who, &ex, &mut e, &mut GrantCache::new(), changes);
            assert_eq!(got.effective, want.effective, "{name}: {case}");
            assert_eq!(got.allowed, want.allowed, "{name}: {case}");
            assert_eq!(got.denied, want.denied, "{name}: {case}");
            // Every case changes what `alone` (no group, no boundary) is granted.
            if name == "alone" {
                assert_ne!(got.effective, unchanged, "{case}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Property tests over generated policies.

fn pattern() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("*".to_string()),
        Just("s3:*".to_string()),
        Just("s3:Get*".to_string()),
        Just("s3:*Object".to_string()),
        Just("ec2:Describe*".to_string()),
        Just("ec2:*Instances".to_string()),
        Just("iam:?etRole".to_string()),
        Just("iam:PassRole".to_string()),
        Just("sqs:SendMessage".to_string()),
        Just("SQS:receivemessage".to_string()),
        Just("*:Get*".to_string()),
        Just("nosuch:*".to_string()),
        Just("ec2:RunInstances".to_string()),
    ]
}

fn statement() -> impl Strategy<Value = Value> {
    (
        prop::bool::weighted(0.75),
        prop::bool::weighted(0.2),
        prop::collection::vec(pattern(), 1..4),
        0..3u8,
        prop::bool::weighted(0.3),
        prop::option::of("[A-Z][a-z]{1,5}"),
    )
        .prop_map(|(allow, not_action, pats, res, cond, sid)| {
            let mut s = serde_json::Map::new();
            if let Some(sid) = sid {
                s.insert("Sid".into(), json!(sid));
            }
            s.insert("Effect".into(), json!(if allow { "Allow" } else { "Deny" }));
            let pats = if pats.len() == 1 {
                json!(pats[0])
            } else {
                json!(pats)
            };
            s.insert(
                (if not_action { "NotAction" } else { "Action" }).into(),
                pats,
            );
            match res {
                0 => s.insert("Resource".into(), json!("*")),
                1 => s.insert(
                    "Resource".into(),
                    json!(["arn:aws:s3:::b/*", "arn:aws:ec2:*:*:instance/*"]),
                ),
                _ => s.insert("NotResource".into(), json!("arn:aws:iam::*:role/admin")),
            };
            if cond {
                s.insert(
                    "Condition".into(),
                    json!({"StringEquals": {"aws:RequestedRegion": ["eu-west-1"]}}),
                );
            }
            Value::Object(s)
        })
}

fn document() -> impl Strategy<Value = Value> {
    prop::collection::vec(statement(), 1..5).prop_map(|list| {
        if list.len() == 1 {
            json!({"Statement": list[0], "Version": "2012-10-17"})
        } else {
            json!({"Version": "2012-10-17", "Statement": list})
        }
    })
}

/// Checks the three properties for one document and one removal mask.
fn check(c: &Catalog, raw: Value, mask: u64, minimise_too: bool) -> Result<(), TestCaseError> {
    let mut e = Expander::new(c);
    let d = doc(raw.clone());
    let old = e.document(&d);
    let remove = ActionSet::from_ids(
        c.len(),
        old.effective.iter().filter(|a| mask >> (a.0 % 64) & 1 == 1),
    );
    let mut keep = old.effective.clone();
    keep.difference_with(&remove);
    let mut t = tighten(&d, &remove, &keep, &[], &mut e);
    if minimise_too {
        minimise(&mut t, &remove, &mut e);
    }
    prop_assert!(iam_size(&t.parts.document) > 0);
    if t.empty {
        // Deny statements are never removed, and an Allow statement goes only when it keeps nothing.
        prop_assert!(
            keep.is_empty(),
            "an emptied policy dropped something needed"
        );
        prop_assert!(
            old.statements
                .iter()
                .all(|s| s.effect == iam_tighten::policy::Effect::Allow)
        );
        return Ok(());
    }
    let nd = PolicyDocument::from_value(t.parts.document.clone())
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let new = e.document(&nd);
    // 1. Never grants anything the original did not.
    prop_assert!(new.allowed.is_subset(&old.allowed));
    prop_assert!(new.effective.is_subset(&old.effective));
    // Removed actions are gone from every Allow statement.
    prop_assert!(!new.allowed.intersects(&remove));
    // 2. Everything kept is still granted.
    prop_assert!(keep.is_subset(&new.effective), "lost {:?}", {
        let mut l = keep.clone();
        l.difference_with(&new.effective);
        l.iter().map(|a| c.full_name(a)).collect::<Vec<_>>()
    });
    // 3. Conditions, resources and Deny statements preserved.
    assert_preserved(&raw, &t.parts.document);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn tightening_is_safe_small_catalog(raw in document(), mask in any::<u64>(), m in any::<bool>()) {
        check(small(), raw, mask, m)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn tightening_is_safe_embedded_catalog(raw in document(), mask in any::<u64>(), m in any::<bool>()) {
        check(Catalog::embedded(), raw, mask, m)?;
    }
}

#[test]
fn folder_limit_keeps_the_highest_scores_and_summarises_everyone() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/2026-q4");
    let run = |limit: &str| {
        let out = tempfile::tempdir().unwrap();
        let assert = assert_cmd::Command::cargo_bin("iam-tighten")
            .unwrap()
            .args(["report", root.to_str().unwrap(), "--format", "json"])
            .args(["--recommendations", limit, "--out"])
            .arg(out.path())
            .assert();
        let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
        let summary: Value = serde_json::from_str(
            &std::fs::read_to_string(out.path().join("recommendations/summary.json")).unwrap(),
        )
        .unwrap();
        (out, summary, stderr)
    };
    let (_all_dir, all, _) = run("all");
    let written = all["folders_written"].as_u64().unwrap();
    assert!(written >= 3, "the sample has several recommendations");
    assert_eq!(all["folders_omitted"], 0);

    let (dir, two, stderr) = run("2");
    assert_eq!(two["folders_written"], 2);
    assert_eq!(two["folders_omitted"].as_u64().unwrap(), written - 2);
    assert!(stderr.contains("--recommendations all"), "{stderr}");
    let list = two["principals"].as_array().unwrap();
    // The same principals are summarised; only two keep a folder, and those folders exist.
    assert_eq!(list.len(), all["principals"].as_array().unwrap().len());
    let with_folder: Vec<&Value> = list.iter().filter(|p| p["path"].is_string()).collect();
    assert_eq!(with_folder.len(), 2);
    for p in &with_folder {
        assert!(
            dir.path()
                .join(p["path"].as_str().unwrap())
                .join("README.md")
                .is_file()
        );
    }
    let omitted: Vec<&Value> = list
        .iter()
        .filter(|p| p["folder_omitted"] == true)
        .collect();
    assert_eq!(omitted.len() as u64, written - 2);
    for p in &omitted {
        assert!(p["path"].is_null() && p["skipped"].is_null() && p["removed"].as_u64() > Some(0));
    }
    // Folders go to the highest scores: read them from report.json.
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    let score = |p: &Value| {
        report["principals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["account_id"] == p["account_id"] && x["name"] == p["principal_name"])
            .map(|x| x["score"].as_u64().unwrap())
            .unwrap()
    };
    let lowest_written = with_folder.iter().map(|p| score(p)).min().unwrap();
    assert!(omitted.iter().all(|p| score(p) <= lowest_written));

    let (_none_dir, none, _) = run("0");
    assert_eq!(none["folders_written"], 0);
    // A bad value is a usage error.
    assert_cmd::Command::cargo_bin("iam-tighten")
        .unwrap()
        .args([
            "report",
            root.to_str().unwrap(),
            "--recommendations",
            "some",
        ])
        .assert()
        .code(2);
}

#[test]
fn principals_whose_names_sanitise_alike_get_their_own_folders() {
    // `dev sandbox` (not a valid IAM name, but exports are attacker-controlled) and `dev_sandbox`
    // sanitise to the same text; two group names of 128 characters share their first 100.
    let c = small();
    let long_a = format!("{}-a", "g".repeat(125));
    let long_b = format!("{}-b", "g".repeat(125));
    let names = [
        "dev sandbox",
        "dev_sandbox",
        long_a.as_str(),
        long_b.as_str(),
    ];
    let roles: Vec<_> = names
        .iter()
        .map(|n| {
            let mut r = principal(PrincipalType::Role, n);
            r.inline_policies = vec![inline("p", allow("sqs:*"))];
            r
        })
        .collect();
    let ex = export(roles, vec![]);
    let verdicts: Vec<(&str, &str, _)> = names
        .iter()
        .map(|n| (*n, "sqs:SendMessage", UNUSED))
        .collect();
    let an = analysis(c, &ex, &verdicts);
    let run = || {
        let dir = tempfile::tempdir().unwrap();
        let summary =
            recommend::write_recommendations(std::slice::from_ref(&ex), &an, dir.path()).unwrap();
        let mut folders = Vec::new();
        for n in names {
            let rec = summary.get(ACCT, PrincipalType::Role, n).unwrap();
            let path = rec.path.as_deref().unwrap().to_string();
            let readme = std::fs::read_to_string(dir.path().join(&path).join("README.md")).unwrap();
            // Each folder describes its own principal.
            assert!(readme.contains(n), "{path}: README does not name {n:?}");
            folders.push(path);
        }
        folders
    };
    let folders = run();
    let distinct: std::collections::BTreeSet<_> = folders.iter().collect();
    assert_eq!(distinct.len(), names.len(), "{folders:#?}");
    // Deterministic: the same names give the same folders in another run.
    assert_eq!(run(), folders);
}

/// `recommendations/` is swapped in whole (docs/recommendations.md): killed at any moment, a run
/// leaves the previous run's complete folder or its own, never a mix or a partial one, and the
/// next run removes what it left behind.
#[test]
fn a_killed_run_never_leaves_a_partial_recommendations_folder() {
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_iam-tighten"));
        c.args([
            "report",
            "sample-data/2026-q4",
            "--recommendations",
            "all",
            "--out",
        ])
        .arg(&out)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        c
    };
    assert!(run().status().unwrap().success());
    let check = |when: &str| {
        let rec = out.join("recommendations");
        let summary: serde_json::Value = serde_json::from_slice(
            &std::fs::read(rec.join("summary.json"))
                .unwrap_or_else(|e| panic!("{when}: no summary.json: {e}")),
        )
        .unwrap();
        let principals = summary["principals"].as_array().unwrap();
        let mut folders = 0;
        for p in principals {
            if let Some(path) = p["path"].as_str() {
                folders += 1;
                assert!(
                    out.join(path).join("README.md").is_file(),
                    "{when}: {path} listed in summary.json but incomplete"
                );
            }
        }
        assert!(folders > 3, "{when}: {folders} folders");
    };
    check("after a complete run");
    // Kill runs at spread-out moments (the sample takes about a second in a debug build).
    for i in 0..16u64 {
        let mut child = run().spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(40 + i * 61));
        let _ = child.kill();
        let _ = child.wait();
        check(&format!("after a kill at {} ms", 40 + i * 61));
    }
    // The next complete run cleans up whatever the killed ones left.
    assert!(run().status().unwrap().success());
    check("after the next run");
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Everything of a plan but its documents and what only its folder reads (the wildcards its
/// README lists), as text (what decisions, summary.json and the report read).
fn without_documents(p: &PrincipalPlan) -> String {
    let policies: Vec<String> = p
        .policies
        .iter()
        .map(|q| {
            format!(
                "{:?} {:?} {} {} {} {} {} {:?} {:?}",
                q.policy,
                q.apply,
                q.stem,
                q.size,
                q.limit,
                q.tightened.empty,
                q.tightened.minimised,
                q.tightened.not_action_rewritten,
                q.tightened_digest
            )
        })
        .collect();
    format!(
        "{} {} {} {} {:?} {:?} {:?} {:?} {policies:?}",
        p.account_id,
        p.kind,
        p.name,
        p.analysis_index,
        p.outcome,
        p.skipped,
        p.flags,
        p.permission_set
    )
}

#[test]
fn a_folder_cap_drops_the_documents_of_plans_without_a_folder_and_nothing_else() {
    let (exports, an) = sample();
    let all = recommend::plan_all(&exports, &an, None);
    let cap = 2;
    let capped = recommend::plan_all(&exports, &an, Some(cap));
    let changing = |p: &PrincipalPlan| p.skipped.is_none() && !p.policies.is_empty();
    // The oracle: the `cap` changing plans with the highest score (ties by account, type, name).
    let mut by_score: Vec<usize> = (0..all.plans.len())
        .filter(|i| changing(&all.plans[*i]))
        .collect();
    assert!(
        by_score.len() > cap + 2,
        "the sample must have more plans than the cap"
    );
    assert!(
        all.folder
            .iter()
            .zip(&all.plans)
            .all(|(f, p)| *f == changing(p))
    );
    let key = |i: &usize| {
        let p = &an.principals[*i];
        (
            std::cmp::Reverse(p.score),
            p.account_id.clone(),
            p.kind,
            p.name().to_owned(),
        )
    };
    by_score.sort_by_key(key);
    by_score.truncate(cap);
    let folders: Vec<usize> = (0..capped.folder.len())
        .filter(|i| capped.folder[*i])
        .collect();
    by_score.sort_unstable();
    assert_eq!(folders, by_score);

    assert_eq!(capped.plans.len(), all.plans.len());
    let (mut dropped, mut expanded) = (0, 0);
    for (i, (a, c)) in all.plans.iter().zip(&capped.plans).enumerate() {
        assert_eq!(without_documents(a), without_documents(c), "{}", a.name);
        assert!(!a.documents_dropped || a.policies.is_empty(), "{}", a.name);
        if capped.folder[i] {
            assert!(!c.documents_dropped, "{}", c.name);
        }
        for (pa, pc) in a.policies.iter().zip(&c.policies) {
            if capped.folder[i] {
                assert_eq!(pa.original(), pc.original());
                assert_eq!(pa.new_document(), pc.new_document());
                assert_eq!(pa.tightened.parts.document, pc.tightened.parts.document);
                assert_eq!(
                    pa.tightened.parts.expanded_wildcards,
                    pc.tightened.parts.expanded_wildcards
                );
            } else {
                assert!(c.documents_dropped, "{}", c.name);
                assert_eq!(*pc.original(), PolicyDocument::default());
                assert_eq!(pc.tightened.parts.document, Value::Null);
                assert!(
                    pc.tightened.parts.expanded_wildcards.is_empty(),
                    "{}",
                    c.name
                );
                expanded += pa.tightened.parts.expanded_wildcards.len();
                for set in [
                    &c.sets.needed,
                    &c.sets.remove,
                    &c.sets.before,
                    &c.sets.after,
                    &pc.tightened.parts.removed,
                ] {
                    assert!(set.is_empty(), "{}", c.name);
                }
                // Not only emptied: the sets' and the tightened parts' own room is gone too.
                assert_eq!(c.sets, recommend::PlanSets::default(), "{}", c.name);
                assert!(pc.tightened.parts.dropped(), "{}", c.name);
                dropped += 1;
            }
        }
    }
    assert!(dropped > 0);
    assert!(expanded > 0, "a dropped plan had wildcards to list");
    // summary.json differs only in which recommendations have a folder.
    let summary = |s: &recommend::RecommendationSummary| {
        let mut v = serde_json::to_value(s).unwrap();
        for p in v["principals"].as_array_mut().unwrap() {
            let p = p.as_object_mut().unwrap();
            p.remove("path");
            p.remove("folder_omitted");
        }
        v["principals"].take()
    };
    assert_eq!(summary(&all.summary), summary(&capped.summary));
    assert_eq!(capped.summary.folders_written, cap);
    // The decisions are the same: they read the plans' outcomes, which the cap keeps, and the
    // dropped sets were not empty where a folder keeps them.
    let decide = |p: &recommend::Planned| {
        let ids = analysis::identities::identity_findings(
            &exports,
            &an,
            &analysis::identities::IdentitySettings::new(90),
        );
        let mut list = iam_tighten::decisions::decide(&an, &p.plans, &p.summary, &ids).list;
        // Sized once from what each part makes (a deleted principal's plans make none): a
        // miscount leaves room or grows it.
        assert_eq!(list.capacity(), list.len());
        assert!(list.iter().any(|d| d.kind.deletes_principal()));
        for d in &mut list {
            d.files = None;
        }
        serde_json::to_value(list).unwrap()
    };
    assert_eq!(decide(&all), decide(&capped));
    assert!(
        all.plans
            .iter()
            .zip(&capped.plans)
            .any(|(a, c)| !a.sets.before.is_empty()
                && c.sets.before.is_empty()
                && a.outcome.lost.count > 0),
        "some plan with something to take away lost its sets to the cap"
    );

    // Only the folders are written, from plans that kept their documents.
    let dir = tempfile::tempdir().unwrap();
    capped.write(&an, dir.path()).unwrap();
    let readmes = walk_readmes(&dir.path().join(recommend::DIR));
    assert_eq!(readmes, cap);
    // A folder for a plan whose documents were dropped is refused, not written empty.
    let mut broken = capped;
    let i = (0..broken.folder.len())
        .find(|i| !broken.folder[*i] && changing(&broken.plans[*i]))
        .unwrap();
    broken.folder[i] = true;
    let err = broken.write(&an, dir.path()).unwrap_err().to_string();
    assert!(err.contains("planned without a folder"), "{err}");
}

/// Keeping only the plans with a folder (what `report` does once the decisions are made)
/// changes neither the folders nor the summary, with a cap and without one.
#[test]
fn keeping_only_the_plans_with_a_folder_changes_no_folder() {
    let (exports, an) = sample();
    for cap in [Some(2), None] {
        let full = recommend::plan_all(&exports, &an, cap);
        let mut kept = recommend::plan_all(&exports, &an, cap);
        kept.keep_only_folders();
        let written = full
            .plans
            .iter()
            .zip(&full.folder)
            .filter(|(p, f)| **f && p.skipped.is_none() && !p.policies.is_empty())
            .count();
        assert!(written > 0 && written < full.plans.len(), "{cap:?}");
        assert_eq!(kept.plans.len(), written, "{cap:?}");
        // The room of the plans dropped is given back (it was held through the writers).
        assert_eq!(kept.plans.capacity(), written, "{cap:?}");
        assert_eq!(kept.folder, vec![true; written]);
        assert_eq!(
            serde_json::to_value(&full.summary).unwrap(),
            serde_json::to_value(&kept.summary).unwrap()
        );
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        full.write(&an, a.path()).unwrap();
        kept.write(&an, b.path()).unwrap();
        let (a, b) = (crate::common::tree(a.path()), crate::common::tree(b.path()));
        assert!(a.len() > 5, "{a:?}");
        assert_eq!(a, b, "{cap:?}");
    }
}

fn walk_readmes(dir: &Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.is_dir() {
            n += walk_readmes(&path);
        } else if path.file_name().is_some_and(|f| f == recommend::README) {
            n += 1;
        }
    }
    n
}

#[test]
fn dropping_the_verification_inputs_changes_no_output() {
    let (exports, an) = sample();
    let full = recommend::plan_all(&exports, &an, None);
    let mut slim = recommend::plan_all(&exports, &an, None);
    slim.drop_verification_inputs();
    let ids = analysis::identities::identity_findings(
        &exports,
        &an,
        &analysis::identities::IdentitySettings::new(90),
    );
    let decide = |p: &recommend::Planned| {
        let list = iam_tighten::decisions::decide(&an, &p.plans, &p.summary, &ids).list;
        serde_json::to_value(list).unwrap()
    };
    crate::common::same_outputs_without_verification_inputs(&an, &full, &slim, decide);
    // Dropped by each plan as soon as it is verified (what `report` runs), with a folder cap
    // and without: the same.
    for cap in [None, Some(2)] {
        let full = recommend::plan_all(&exports, &an, cap);
        let visit = &mut |_: usize, _: &iam_tighten::model::Export| {};
        let early = recommend::plan_all_organization_slim(exports.clone(), None, &an, cap, visit)
            .expect("nothing to read again")
            .summarise(&an);
        crate::common::same_outputs_without_verification_inputs(&an, &full, &early, decide);
    }
}

/// A principal whose decision deletes it gets no decision about its policies or credentials:
/// they go with it. The sample has unused roles and users whose plans detach their policies.
#[test]
fn a_deleted_principal_gets_no_other_decision() {
    let (exports, an) = sample();
    let planned = recommend::plan_all(&exports, &an, None);
    let ids = analysis::identities::identity_findings(
        &exports,
        &an,
        &analysis::identities::IdentitySettings::new(90),
    );
    let list = iam_tighten::decisions::decide(&an, &planned.plans, &planned.summary, &ids).list;
    let deleted: Vec<(&str, &str)> = list
        .iter()
        .filter(|d| d.kind.deletes_principal())
        .map(|d| (&*d.account_id, &*d.principal_arn))
        .collect();
    // Some deleted principal has a plan that changes its policies: without the rule, it would
    // get decisions of its own.
    let planned_and_deleted = planned.plans.iter().filter(|p| {
        let arn = an.principals[p.analysis_index].arn();
        p.skipped.is_none() && !p.policies.is_empty() && deleted.contains(&(&*p.account_id, arn))
    });
    assert!(planned_and_deleted.count() > 0, "{deleted:?}");
    for d in list.iter().filter(|d| !d.kind.deletes_principal()) {
        assert!(
            !deleted.contains(&(&*d.account_id, &*d.principal_arn)),
            "{} {} {}",
            d.kind.as_str(),
            d.principal_arn,
            d.subject
        );
    }
    assert_eq!(list.capacity(), list.len());
}

/// An action AWS reports used that the catalog does not know (newer than it) is named in a
/// warning and stays in the tightened policy that replaces the wildcard granting it: expanded
/// against the catalog alone, `ec2:*` would lose it and break what uses it.
#[test]
fn a_used_action_newer_than_the_catalog_stays_granted() {
    let dir = tempfile::tempdir().unwrap();
    let acct = dir.path().join("111111111111");
    crate::common::copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/2026-q4/111111111111"),
        &acct,
    );
    // The manifest's hashes would refuse the edited file.
    std::fs::remove_file(acct.join("manifest.json")).unwrap();
    let file = acct.join("last-accessed/roles/ExampleCorpQA.json");
    crate::common::edit_json(&file, |la| {
        let ec2 = la["ServicesLastAccessed"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|s| s["ServiceNamespace"] == "ec2")
            .unwrap();
        ec2["TrackedActionsLastAccessed"]
            .as_array_mut()
            .unwrap()
            .extend([
                json!({"ActionName": "ZapShinyThing", "LastAccessedTime": "2026-11-16T10:00:00Z",
                   "LastAccessedRegion": "eu-west-1"}),
                // Not used: no verdict, and nothing to keep.
                json!({"ActionName": "ZapIdleThing"}),
            ]);
    });
    let exports = input::load_exports(&[acct], &LoadOptions::default()).unwrap();
    let settings = Settings::new(90, None).unwrap();
    let an =
        analysis::analyze(&exports, Catalog::embedded(), &settings, &Config::default()).unwrap();
    let qa = an
        .principals
        .iter()
        .position(|p| p.name() == "ExampleCorpQA")
        .unwrap();
    assert_eq!(an.uncatalogued_of(qa), ["ec2:ZapShinyThing"]);
    let warning = an
        .warnings
        .iter()
        .find(|w| w.warning.code == "uncatalogued_action_used")
        .expect("a warning names it");
    assert!(
        warning
            .warning
            .message
            .contains("role/ExampleCorpQA ec2:ZapShinyThing"),
        "{}",
        warning.warning.message
    );
    let plans = recommend::plan(&exports, &an);
    let plan = plan_of(&plans, "ExampleCorpQA");
    let ec2 = plan
        .policies
        .iter()
        .find(|p| p.policy.name == "AmazonEC2FullAccess")
        .expect("the wildcard policy is replaced");
    let text = ec2.tightened.parts.document.to_string();
    assert!(text.contains("\"ec2:ZapShinyThing\""), "{text}");
    assert!(!text.contains("ZapIdleThing"), "{text}");
    let flags: Vec<_> = plan.flag_texts().collect();
    assert!(
        flags.iter().any(|f| f.contains("keeps ec2:ZapShinyThing")),
        "{flags:?}"
    );
    // The decision's evidence names it as used.
    let planned = recommend::plan_all_organization(&exports, None, &an, None);
    let ids = iam_tighten::analysis::identities::identity_findings(
        &exports,
        &an,
        &iam_tighten::analysis::identities::IdentitySettings::new(90),
    );
    let list = iam_tighten::decisions::decide(&an, &planned.plans, &planned.summary, &ids).list;
    let d = list
        .iter()
        .find(|d| &*d.principal_name == "ExampleCorpQA" && &*d.subject == "AmazonEC2FullAccess")
        .expect("a decision on the policy");
    assert!(
        d.evidence
            .contains("used, but not in the catalog: ec2:ZapShinyThing"),
        "{}",
        d.evidence
    );
}

/// A decision's evidence names the services AWS reports used in the window without action-level
/// data: "used nothing" would contradict the report, whose service row shows the use.
#[test]
fn evidence_names_services_used_without_action_level_data() {
    let c = small();
    let mut role = principal(PrincipalType::Role, "app");
    role.inline_policies = vec![inline(
        "p",
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject", "ec2:RunInstances"], "Resource": "*"}
        ]}),
    )];
    let ex = export(vec![role], vec![]);
    let evidence = |verdicts: &[(&str, &str, Reason)]| -> String {
        let an = analysis(c, &ex, verdicts);
        let planned = recommend::plan_all_organization(std::slice::from_ref(&ex), None, &an, None);
        let ids = iam_tighten::analysis::identities::identity_findings(
            std::slice::from_ref(&ex),
            &an,
            &iam_tighten::analysis::identities::IdentitySettings::new(90),
        );
        let list = iam_tighten::decisions::decide(&an, &planned.plans, &planned.summary, &ids).list;
        let d = list
            .iter()
            .find(|d| &*d.principal_name == "app")
            .expect("a decision for app");
        d.evidence.to_string()
    };
    let e = evidence(&[
        ("app", "ec2:RunInstances", UNUSED),
        ("app", "s3:GetObject", UNKNOWN),
    ]);
    assert!(
        e.contains("services used without action-level data") && e.contains(": s3"),
        "{e}"
    );
    assert!(!e.contains("used nothing"), "{e}");
    // Nothing used at all, at either level: "used nothing".
    let e = evidence(&[
        ("app", "ec2:RunInstances", UNUSED),
        ("app", "s3:GetObject", Reason::NotObservable),
    ]);
    assert!(e.contains("used nothing AWS reports"), "{e}");
}

/// A managed policy whose newest version dates from within the window is flagged on the plans
/// that change it, when the export lacks some of its versions: what a deleted version lacked may
/// be unused only because it is new. AWS updates its own managed policies too (the flag skipped
/// them, review pass 45). With every version listed, they date its actions: no flag.
#[test]
fn a_policy_version_made_within_the_window_is_flagged() {
    for aws in [false, true] {
        a_policy_version_made_within_the_window_is_flagged_when(aws);
    }
}

fn a_policy_version_made_within_the_window_is_flagged_when(aws: bool) {
    let c = small();
    let as_of: iam_tighten::model::Timestamp = "2026-11-20T00:00:00Z".parse().unwrap();
    let plan_with = |updated: &str, complete: bool| -> Vec<String> {
        let mut role = principal(PrincipalType::Role, "app");
        let mut m = managed("queue-writer", aws, allow("ec2:*"));
        m.update_date = Some(updated.parse().unwrap());
        m.default_created = m.update_date;
        if complete {
            // Its only version, v1: the export lists every version, which date its actions.
            m.default_version_id = Some("v1".into());
        }
        role.attached_policies = vec![m.arn.clone()];
        let ex = export(vec![role], vec![m]);
        let given = |p: &PrincipalInfo, a: ActionId| {
            let unused = p.name() == "app" && c.full_name(a) == "ec2:RunInstances";
            Some(if unused {
                UNUSED
            } else {
                Reason::AccessedInWindow
            })
        };
        let an = analysis::analyze_with_verdicts(
            std::slice::from_ref(&ex),
            c,
            &Settings::new(90, Some(as_of)).unwrap(),
            &Config::default(),
            &given,
        )
        .unwrap();
        let plans = recommend::plan(&[ex], &an);
        let plan = plan_of(&plans, "app");
        assert!(!plan.policies.is_empty(), "the policy is changed");
        plan.flag_texts().map(|f| f.into_owned()).collect()
    };
    // v3, without v1 and v2: what they lacked is not in the export.
    let flags = plan_with("2026-11-15T10:00:00Z", false);
    assert!(
        flags
            .iter()
            .any(|f| f.starts_with("queue-writer: its newest version dates from 2026-11-15")),
        "{flags:?}"
    );
    let flags = plan_with("2026-11-15T10:00:00Z", true);
    assert!(
        !flags.iter().any(|f| f.contains("newest version")),
        "{flags:?}"
    );
    // Made before the window (2026-08-22): no such flag.
    let flags = plan_with("2026-08-01T00:00:00Z", false);
    assert!(
        !flags.iter().any(|f| f.contains("newest version")),
        "{flags:?}"
    );
}

/// A group's policies are shared by its members, and a break-glass member (intentional access)
/// holds what it has in reserve: it is confirmed, not narrowed through its group. The group's
/// plan keeps every action that member holds, inline or managed, and says why; without such a
/// member the same group is tightened.
#[test]
fn a_group_keeps_what_its_intentional_member_holds() {
    let c = small();
    let team = managed(
        "team",
        false,
        json!({"Statement": {"Effect": "Allow", "Action": ["sqs:SendMessage", "sqs:ReceiveMessage"], "Resource": "*"}}),
    );
    let build = |member: &str| {
        let mut group = principal(PrincipalType::Group, "admins");
        group
            .inline_policies
            .push(inline("gp", allow("ec2:TerminateInstances")));
        group.attached_policies.push(team.arn.clone());
        let mut users = vec![group];
        for name in ["u1", member] {
            let mut u = principal(PrincipalType::User, name);
            u.groups = vec!["admins".into()];
            users.push(u);
        }
        export(users, vec![team.clone()])
    };
    let unused = |member: &'static str| -> Vec<(&'static str, &'static str, Reason)> {
        let mut v = Vec::new();
        for who in ["u1", member, "admins"] {
            v.push((who, "sqs:ReceiveMessage", UNUSED));
            v.push((who, "ec2:TerminateInstances", UNUSED));
        }
        v
    };
    // An ordinary second member: the group loses what nobody uses.
    let ex = build("u2");
    let an = analysis(c, &ex, &unused("u2"));
    let plans = recommend::plan(std::slice::from_ref(&ex), &an);
    let group = plan_of(&plans, "admins");
    assert_eq!(group.skipped, None, "{:?}", group.flags);
    assert_eq!(group.sets.remove.len(), 2);
    // A break-glass member: nothing of what it holds is removed.
    let ex = build("breakglass-ops");
    let an = analysis(c, &ex, &unused("breakglass-ops"));
    let member = an
        .principals
        .iter()
        .find(|p| p.name() == "breakglass-ops")
        .unwrap();
    assert_eq!(
        member.intentional.as_ref().map(|i| i.rule.as_str()),
        Some("break_glass")
    );
    let plans = recommend::plan(std::slice::from_ref(&ex), &an);
    let group = plan_of(&plans, "admins");
    assert_eq!(group.skipped.as_deref(), Some("nothing_to_remove"));
    assert!(group.policies.is_empty(), "{:?}", group.policies);
    assert!(
        group.flag_texts().any(|f| f.contains(
            "2 unused action(s) of the group are kept because member user breakglass-ops is \
             intentional access (rule break_glass)"
        )),
        "{:?}",
        group.flags
    );
}

/// A `Deny` that applies only under a condition or on some resources is not subtracted (whether
/// it blocks a call depends on the request): a principal holding an action it covers is flagged
/// `partial_deny`, so the reader knows to read its policies. A deny of nothing it holds, or one
/// on every resource without a condition (subtracted), flags nothing.
#[test]
fn a_partial_deny_of_a_held_action_flags_the_principal() {
    let c = small();
    // The principals of `ex` flagged partial_deny, in the analysis' order.
    let flagged_in = |ex: &Export| -> Vec<String> {
        let an = analysis(c, ex, &[]);
        an.principals
            .iter()
            .filter(|p| p.flags.contains(&"partial_deny"))
            .map(|p| p.name().to_string())
            .collect()
    };
    let mfa = json!({"Bool": {"aws:MultiFactorAuthPresent": "false"}});
    let with_deny = |name: &str, deny: Value| {
        let mut p = principal(PrincipalType::Role, name);
        p.inline_policies.push(inline(
            "p",
            json!({"Statement": [
                {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"},
                deny
            ]}),
        ));
        p
    };
    let ex = export(
        vec![
            with_deny(
                "conditional",
                json!({"Effect": "Deny", "Action": "sqs:SendMessage", "Resource": "*",
                       "Condition": mfa}),
            ),
            with_deny(
                "scoped",
                json!({"Effect": "Deny", "Action": "sqs:SendMessage",
                       "Resource": format!("arn:aws:sqs:*:{ACCT}:orders")}),
            ),
            with_deny(
                "not-held",
                json!({"Effect": "Deny", "Action": "ec2:RunInstances", "Resource": "*",
                       "Condition": mfa}),
            ),
            with_deny(
                "whole",
                json!({"Effect": "Deny", "Action": "sqs:SendMessage", "Resource": "*"}),
            ),
        ],
        vec![],
    );
    assert_eq!(flagged_in(&ex), ["conditional", "scoped"]);
    // Through a group's policy, and from a permissions boundary (which grants nothing, but whose
    // Deny applies as any other's).
    let mut group = principal(PrincipalType::Group, "g");
    group.inline_policies.push(inline(
        "deny-without-mfa",
        json!({"Statement": {"Effect": "Deny", "Action": "sqs:SendMessage", "Resource": "*",
                             "Condition": mfa}}),
    ));
    let mut member = principal(PrincipalType::User, "member");
    member.groups = vec!["g".into()];
    member.inline_policies.push(inline("p", allow("sqs:*")));
    let boundary = managed(
        "boundary",
        false,
        json!({"Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": "sqs:SendMessage", "Resource": "*", "Condition": mfa}
        ]}),
    );
    let mut bounded = principal(PrincipalType::Role, "bounded");
    bounded.inline_policies.push(inline("p", allow("sqs:*")));
    bounded.permissions_boundary = Some(boundary.arn.clone());
    let ex = export(vec![group, member, bounded], vec![boundary]);
    assert_eq!(flagged_in(&ex), ["bounded", "member"]);
}

/// A customer managed policy attached to a role and to a group with a break-glass member: the
/// group is kept whole for the member, so no new default version of the shared policy narrows
/// it; the role gets a copy of its own instead.
#[test]
fn a_shared_policy_of_a_break_glass_members_group_gets_no_new_version() {
    let c = small();
    let team = managed(
        "team",
        false,
        json!({"Statement": {"Effect": "Allow", "Action": ["sqs:SendMessage", "sqs:ReceiveMessage"], "Resource": "*"}}),
    );
    let mut group = principal(PrincipalType::Group, "admins");
    group.attached_policies.push(team.arn.clone());
    let mut role = principal(PrincipalType::Role, "r");
    role.attached_policies.push(team.arn.clone());
    let mut members = Vec::new();
    for name in ["u1", "breakglass-ops"] {
        let mut u = principal(PrincipalType::User, name);
        u.groups = vec!["admins".into()];
        members.push(u);
    }
    let arn = team.arn.clone();
    let mut all = vec![group, role];
    all.extend(members);
    let ex = export(all, vec![team]);
    let unused: Vec<(&str, &str, Reason)> = ["u1", "breakglass-ops", "admins", "r"]
        .into_iter()
        .map(|who| (who, "sqs:ReceiveMessage", UNUSED))
        .collect();
    let an = analysis(c, &ex, &unused);
    let plans = recommend::plan(std::slice::from_ref(&ex), &an);
    for plan in &plans {
        for p in &plan.policies {
            assert!(
                !(p.policy.arn.as_deref() == Some(arn.as_str())
                    && matches!(p.apply, Apply::NewVersion { .. })),
                "{}: a new version of the shared policy",
                plan.name
            );
        }
    }
    assert_eq!(
        plan_of(&plans, "admins").skipped.as_deref(),
        Some("nothing_to_remove")
    );
    let r = plan_of(&plans, "r");
    assert!(
        r.policies
            .iter()
            .any(|p| matches!(p.apply, Apply::Replace(_))),
        "{:?}",
        r.policies.iter().map(|p| &p.apply).collect::<Vec<_>>()
    );
}

/// The sample's ci-deploy-policy gained lambda:PublishVersion, lambda:UpdateAlias and six ecr
/// actions in v2 (2026-10-14, inside the window that starts 2026-08-22); v1 (2025) lacks them.
/// Those are `grant_too_new`, so the tightened version keeps them, and with both versions listed
/// the decision needs no caution (pass 45 gave it one and removed them as unused).
#[test]
fn what_a_recent_version_of_the_samples_policy_added_is_kept_as_too_new() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    assert_cmd::Command::cargo_bin("iam-tighten")
        .unwrap()
        .arg("report")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/2026-q4"))
        .arg("--out")
        .arg(&out)
        .args(["--format", "csv"])
        .assert()
        .success();
    let findings = std::fs::read_to_string(out.join("findings.csv")).unwrap();
    let of = |action: &str| {
        findings
            .lines()
            .find(|l| {
                // The action column: the actions of the row, space-separated.
                l.split_once(",role,ci-deploy,")
                    .and_then(|(_, rest)| rest.split(',').next())
                    .is_some_and(|actions| actions.split(' ').any(|a| a == action))
            })
            .unwrap_or_else(|| panic!("{action}: {findings}"))
            .to_string()
    };
    for action in ["lambda:PublishVersion", "ecr:PutImage"] {
        assert!(
            of(action).contains(",unknown,grant_too_new,"),
            "{}",
            of(action)
        );
    }
    // v1 granted it too: judged over the whole window.
    let held = of("lambda:UpdateFunctionConfiguration");
    assert!(held.contains(",unused,"), "{held}");
    let tightened =
        out.join("recommendations/111111111111/role/ci-deploy/managed-ci-deploy-policy.json");
    let tightened = std::fs::read_to_string(tightened).unwrap();
    assert!(
        tightened.contains("ecr:PutImage") && tightened.contains("lambda:PublishVersion"),
        "{tightened}"
    );
    assert!(
        !tightened.contains("lambda:UpdateFunctionConfiguration"),
        "{tightened}"
    );
    let decisions = std::fs::read_to_string(out.join("decisions.csv")).unwrap();
    assert!(decisions.contains(",ci-deploy-policy,"), "{decisions}");
    assert!(!decisions.contains("Caution: "), "{decisions}");
}
