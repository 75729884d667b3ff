//! Rendering plans into files: tightened and original documents in AWS's formatting, diffs,
//! `actions.csv`, the AWS CLI commands and a README per principal.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::{Apply, DIR, PrincipalPlan, RecommendationSummary, diff, is_removable, write_error};
use crate::analysis::{ActionList, Analysis, Finding, GrantedAction, Sensitivity, Status};
use crate::error::Result;
use crate::policy::PolicyKind;

/// A name made safe as one path component, and unique: characters outside IAM's name alphabet
/// (`[A-Za-z0-9+=,.@_-]`) become `_`, a leading `.` is prefixed with `_` (so `.` and `..` cannot
/// occur), empty becomes `_`, and long names are cut to 100 bytes. Whenever the result differs
/// from the name, `~` and 8 hex digits of the name's SHA-256 are appended, so two names that
/// sanitise alike (`dev sandbox`, `dev_sandbox`) or share their first 100 bytes never share a
/// folder. `~` is not in IAM's alphabet: no real name can end that way.
pub fn safe_file_name(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@_-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.len() > 100 {
        s.truncate(100);
    }
    if s.is_empty() || s.starts_with('.') {
        s.insert(0, '_');
    }
    if s != name {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(name.as_bytes());
        s.push('~');
        for b in &digest[..4] {
            s.push_str(&format!("{b:02x}"));
        }
    }
    s
}

/// The principal's folder, relative to the output folder, `/`-separated.
pub fn principal_path(plan: &PrincipalPlan) -> String {
    format!(
        "{DIR}/{}/{}/{}",
        safe_file_name(&plan.account_id),
        plan.kind.as_str(),
        safe_file_name(&plan.name)
    )
}

/// A document as AWS writes it: 4-space indent, keys in document order, trailing newline.
pub fn aws_json(doc: &Value) -> String {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    // Serialising a Value into memory cannot fail.
    let _ = doc.serialize(&mut ser);
    let mut s = String::from_utf8(buf).unwrap_or_default();
    s.push('\n');
    s
}

/// Quotes a shell word when it needs it.
pub fn sh(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_/:-".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

fn md(s: &str) -> String {
    s.replace('`', "'")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

/// The AWS CLI commands to apply and to roll back a plan (run from the principal's folder).
pub fn commands(plan: &PrincipalPlan) -> (Vec<String>, Vec<String>) {
    let t = plan.kind.as_str();
    let who = format!("--{t}-name {}", sh(&plan.name));
    let mut apply = Vec::new();
    let mut rollback: Vec<Vec<String>> = Vec::new();
    for p in &plan.policies {
        let new_file = sh(&format!("file://{}.json", p.stem));
        let orig_file = sh(&format!("file://{}.original.json", p.stem));
        let arn = p.policy.arn.as_deref().map(sh).unwrap_or_default();
        let name = sh(&p.policy.name);
        let mut back = Vec::new();
        match &p.apply {
            Apply::PutInline => {
                apply.push(format!(
                    "aws iam put-{t}-policy {who} --policy-name {name} --policy-document {new_file}"
                ));
                back.push(format!("aws iam put-{t}-policy {who} --policy-name {name} --policy-document {orig_file}"));
            }
            Apply::DeleteInline => {
                apply.push(format!(
                    "aws iam delete-{t}-policy {who} --policy-name {name}"
                ));
                back.push(format!("aws iam put-{t}-policy {who} --policy-name {name} --policy-document {orig_file}"));
            }
            Apply::NewVersion { previous_default } => {
                apply.push(format!(
                    "aws iam create-policy-version --policy-arn {arn} --policy-document {new_file} --set-as-default"
                ));
                back.push(match previous_default {
                    Some(v) => format!("aws iam set-default-policy-version --policy-arn {arn} --version-id {}", sh(v)),
                    None => format!(
                        "aws iam create-policy-version --policy-arn {arn} --policy-document {orig_file} --set-as-default"
                    ),
                });
            }
            Apply::Replace { new_name, new_arn } => {
                let (new_name, new_arn) = (sh(new_name), sh(new_arn));
                apply.push(format!(
                    "aws iam create-policy --policy-name {new_name} --policy-document {new_file}"
                ));
                apply.push(format!(
                    "aws iam attach-{t}-policy {who} --policy-arn {new_arn}"
                ));
                apply.push(format!(
                    "aws iam detach-{t}-policy {who} --policy-arn {arn}"
                ));
                back.push(format!(
                    "aws iam attach-{t}-policy {who} --policy-arn {arn}"
                ));
                back.push(format!(
                    "aws iam detach-{t}-policy {who} --policy-arn {new_arn}"
                ));
                back.push(format!("aws iam delete-policy --policy-arn {new_arn}"));
            }
            Apply::Detach => {
                apply.push(format!(
                    "aws iam detach-{t}-policy {who} --policy-arn {arn}"
                ));
                back.push(format!(
                    "aws iam attach-{t}-policy {who} --policy-arn {arn}"
                ));
            }
        }
        rollback.push(back);
    }
    rollback.reverse();
    (apply, rollback.into_iter().flatten().collect())
}

fn kind_text(k: PolicyKind) -> &'static str {
    match k {
        PolicyKind::Inline => "inline",
        PolicyKind::CustomerManaged => "customer managed",
        PolicyKind::AwsManaged => "AWS managed",
    }
}

fn change_text(a: &Apply) -> String {
    match a {
        Apply::PutInline => "rewrite the inline policy".into(),
        Apply::DeleteInline => "delete the inline policy (it grants nothing that is kept)".into(),
        Apply::NewVersion { .. } => "new default version of the policy".into(),
        Apply::Replace { new_name, .. } => format!(
            "replace with new customer managed policy `{}`",
            md(new_name)
        ),
        Apply::Detach => "detach (it grants nothing that is kept)".into(),
    }
}

const LIST_LIMIT: usize = 200;

/// The README of a principal's folder: what changes and why, how to apply and roll back, what
/// is removed and what is kept. One function per section.
fn readme(
    plan: &PrincipalPlan,
    analysis: &Analysis<'_>,
    rows: &[DecisionRow<'_>],
    apply: &[String],
    rollback: &[String],
) -> String {
    let mut s = String::new();
    readme_header(&mut s, plan, analysis);
    readme_policies(&mut s, plan);
    readme_review(&mut s, plan);
    readme_apply(&mut s, plan, apply);
    readme_rollback(&mut s, plan, rollback);
    readme_removed(&mut s, rows);
    readme_kept(&mut s, rows);
    readme_notes(&mut s, rows);
    s
}

fn readme_header(s: &mut String, plan: &PrincipalPlan, analysis: &Analysis<'_>) {
    let info = &analysis.principals[plan.analysis_index];
    let _ = writeln!(
        s,
        "# Recommendation for {} `{}` in account {}\n",
        plan.kind,
        md(&plan.name),
        plan.account_id
    );
    let _ = writeln!(
        s,
        "Generated by iam-tighten {} from the export as of {}, with a {}-day window. \
         Only actions the analysis found **unused** (and no exclusion covers) are removed.\n",
        crate::VERSION,
        info.as_of.map_or("(unknown)".into(), |t| t.to_rfc3339()),
        analysis.settings.unused_after_days
    );
    let mut removed = plan.before.clone();
    removed.difference_with(&plan.after);
    let _ = writeln!(
        s,
        "Granted actions: **{} before, {} after** ({} removed).\n",
        crate::model::grouped(plan.before.len() as u64),
        crate::model::grouped(plan.after.len() as u64),
        crate::model::grouped(removed.len() as u64)
    );
    if let Some(m) = &info.intentional {
        let _ = writeln!(
            s,
            "> **Intentional access: do not apply this without its owner.** This {} matches the \
             intentional-access rule `{}` ({}). It exists to be powerful, so cutting it to what it used \
             in the window can break the access it is there for (a break-glass role is unused until the \
             emergency). The decision is to confirm it (an exclusion with an owner, a reason and an \
             expiry) or to reduce it deliberately; the files below are what reducing it to its observed \
             use would look like.\n",
            plan.kind,
            md(&m.rule),
            md(&m.reason)
        );
    }
}

fn readme_policies(s: &mut String, plan: &PrincipalPlan) {
    s.push_str("## Policies\n\n| Policy | Kind | Change | Actions removed | Size after / limit | Files |\n|---|---|---|---|---|---|\n");
    for p in &plan.policies {
        let files = if p.tightened.empty {
            format!("`{0}.original.json`, `{0}.diff`", p.stem)
        } else {
            format!("`{0}.json`, `{0}.original.json`, `{0}.diff`", p.stem)
        };
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} | {} / {} | {} |",
            md(&p.policy.name),
            kind_text(p.policy.kind),
            change_text(&p.apply),
            p.tightened.removed.len(),
            p.size,
            p.limit,
            files
        );
    }
    s.push('\n');
    let expanded: Vec<String> =
        plan.policies
            .iter()
            .flat_map(|p| {
                p.tightened.expanded_wildcards.iter().map(move |(l, w)| {
                    format!("`{}` in `{}` ({})", md(w), md(&p.policy.name), md(l))
                })
            })
            .collect();
    if !expanded.is_empty() {
        let _ = writeln!(
            s,
            "Wildcards replaced by the explicit list of their still-needed actions (they matched unused actions): {}. \
             Wildcards that match nothing unused are left as they are.\n",
            expanded.join(", ")
        );
    }
}

fn readme_review(s: &mut String, plan: &PrincipalPlan) {
    if !plan.flags.is_empty() {
        s.push_str("## Review before applying\n\n");
        for f in &plan.flags {
            let _ = writeln!(s, "- {}", md(f));
        }
        s.push('\n');
    }
}

fn readme_apply(s: &mut String, plan: &PrincipalPlan, apply: &[String]) {
    s.push_str("## Apply\n\nDry run (prints the commands), then apply (`OUT` is the report's `--out` folder):\n\n```sh\n");
    let _ = writeln!(
        s,
        "OUT/{DIR}/{APPLY_SCRIPT} OUT/{}",
        sh(&principal_path(plan))
    );
    let _ = writeln!(
        s,
        "OUT/{DIR}/{APPLY_SCRIPT} --apply OUT/{}",
        sh(&principal_path(plan))
    );
    s.push_str("```\n\nThe commands, to run from this folder:\n\n```sh\n");
    for l in apply {
        let _ = writeln!(s, "{l}");
    }
    s.push_str("```\n\n");
    if plan
        .policies
        .iter()
        .any(|p| matches!(p.apply, Apply::NewVersion { .. }))
    {
        s.push_str(
            "A managed policy keeps at most **5 versions**. If `aws iam list-policy-versions --policy-arn <arn>` \
             shows 5, delete the oldest non-default one first (`aws iam delete-policy-version --policy-arn <arn> \
             --version-id vN`); keep the current default, it is the rollback.\n\n",
        );
    }
    if plan
        .policies
        .iter()
        .any(|p| matches!(p.apply, Apply::Replace { .. }))
    {
        s.push_str(
            "A replacement policy is created and attached **before** the original is detached, so the principal \
             never lacks a permission it needs; it briefly has one more attached policy (the default quota is 10 \
             managed policies per principal). AWS managed policies cannot be edited, and a customer managed policy \
             that other principals use differently must not change under them, hence a copy for this principal only.\n\n",
        );
    }
}

fn readme_rollback(s: &mut String, plan: &PrincipalPlan, rollback: &[String]) {
    s.push_str("## Roll back\n\n```sh\n");
    let _ = writeln!(
        s,
        "OUT/{DIR}/{APPLY_SCRIPT} --rollback --apply OUT/{}",
        sh(&principal_path(plan))
    );
    s.push_str("```\n\nor by hand, from this folder:\n\n```sh\n");
    for l in rollback {
        let _ = writeln!(s, "{l}");
    }
    s.push_str("```\n\n");
}

/// Removed actions, in rank order, a row per finding (group of actions) and decision.
fn readme_removed(s: &mut String, rows: &[DecisionRow<'_>]) {
    let gone: Vec<&DecisionRow<'_>> = rows.iter().filter(|r| r.decision == "removed").collect();
    let gone_actions: usize = gone.iter().map(|r| r.count).sum();
    let _ = writeln!(
        s,
        "## Removed ({gone_actions} action(s))\n\nEach was found unused: the reason says how. Every action, kept or removed, is in `actions.csv`.\n",
    );
    s.push_str(
        "| Action(s) | Count | Sensitivity | Reason | Last accessed |\n|---|---|---|---|---|\n",
    );
    for r in gone.iter().take(LIST_LIMIT) {
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} | {} |",
            r.text,
            r.count,
            r.sensitivity.as_str(),
            r.f.reason.as_str(),
            r.f.last_accessed
                .map_or("never (in AWS's tracking period)".into(), |t| t
                    .to_rfc3339())
        );
    }
    if gone.len() > LIST_LIMIT {
        let _ = writeln!(
            s,
            "\n… and {} more rows in `actions.csv`.",
            gone.len() - LIST_LIMIT
        );
    }
}

fn readme_kept(s: &mut String, rows: &[DecisionRow<'_>]) {
    let unknown: Vec<&DecisionRow<'_>> = rows
        .iter()
        .filter(|r| r.f.status == Status::Unknown)
        .collect();
    let unknown_actions: usize = unknown.iter().map(|r| r.count).sum();
    let _ = writeln!(
        s,
        "\n## Kept although not proven used ({unknown_actions} action(s))\n\nThe analysis cannot tell whether these are used, so they stay granted:\n",
    );
    s.push_str("| Action(s) | Count | Reason | Why it is kept |\n|---|---|---|---|\n");
    for r in unknown.iter().take(LIST_LIMIT) {
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} |",
            r.text,
            r.count,
            r.f.reason.as_str(),
            r.f.reason.explain()
        );
    }
    if unknown.len() > LIST_LIMIT {
        let _ = writeln!(
            s,
            "\n… and {} more rows in `actions.csv`.",
            unknown.len() - LIST_LIMIT
        );
    }
}

fn readme_notes(s: &mut String, rows: &[DecisionRow<'_>]) {
    let excluded: usize = rows
        .iter()
        .filter(|r| r.f.status == Status::Unused && r.f.exclusion.is_some())
        .map(|r| r.count)
        .sum();
    if excluded > 0 {
        let _ = writeln!(
            s,
            "\n{excluded} unused action(s) are kept because an exclusion rule of the config covers them."
        );
    }
    let still: usize = rows
        .iter()
        .filter(|r| r.decision == "still_granted")
        .map(|r| r.count)
        .sum();
    if still > 0 {
        let _ = writeln!(
            s,
            "\n{still} unused action(s) stay granted after this change (through a group's policy, or a policy this \
             recommendation does not change); they are marked `still_granted` in `actions.csv`.",
        );
    }
}

/// A finding's actions that get one decision: `removed`, `still_granted` (removable, but the
/// tightened policies still grant them) or `kept`.
struct DecisionRow<'a> {
    f: &'a Finding,
    decision: &'static str,
    text: String,
    count: usize,
    sensitivity: Sensitivity,
}

/// The principal's findings in rank order, a removable finding split by whether the plan removes
/// each of its actions.
fn decision_rows<'a>(plan: &PrincipalPlan, analysis: &'a Analysis<'_>) -> Vec<DecisionRow<'a>> {
    let c = analysis.catalog;
    let mut rows = Vec::new();
    for f in analysis.findings_of(plan.analysis_index) {
        let whole = |decision| DecisionRow {
            f,
            decision,
            text: analysis.action_text(f).to_string(),
            count: f.count as usize,
            sensitivity: f.sensitivity,
        };
        if !is_removable(f) {
            rows.push(whole("kept"));
            continue;
        }
        let (still, removed): (Vec<GrantedAction>, Vec<GrantedAction>) = analysis
            .actions(f)
            .iter()
            .partition(|a| plan.after.contains(a.id));
        if still.is_empty() {
            rows.push(whole("removed"));
        } else if removed.is_empty() {
            rows.push(whole("still_granted"));
        } else {
            for (decision, part) in [("removed", removed), ("still_granted", still)] {
                let list = ActionList::from_actions(part);
                rows.push(DecisionRow {
                    f,
                    decision,
                    text: list.text(c).to_string(),
                    count: list.len(),
                    sensitivity: list.highest,
                });
            }
        }
    }
    rows
}

fn actions_csv(rows: &[DecisionRow<'_>]) -> std::result::Result<Vec<u8>, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let e = |e: csv::Error| e.to_string();
    w.write_record([
        "action",
        "actions",
        "decision",
        "status",
        "reason",
        "last_accessed",
        "sensitivity",
        "exclusion",
    ])
    .map_err(e)?;
    for r in rows {
        w.write_record([
            r.text.as_str(),
            &r.count.to_string(),
            r.decision,
            r.f.status.as_str(),
            r.f.reason.as_str(),
            &r.f.last_accessed
                .map(|t| t.to_rfc3339())
                .unwrap_or_default(),
            r.sensitivity.as_str(),
            &r.f.exclusion.map(|x| x.to_string()).unwrap_or_default(),
        ])
        .map_err(e)?;
    }
    w.into_inner().map_err(|e| e.to_string())
}

fn put(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).map_err(|e| write_error(path, e))
}

/// Writes one principal's folder.
fn write_principal(dir: &Path, plan: &PrincipalPlan, analysis: &Analysis<'_>) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| write_error(dir, e))?;
    for p in &plan.policies {
        let original = aws_json(&p.original.raw);
        let new = if p.tightened.empty {
            String::new()
        } else {
            aws_json(&p.tightened.document)
        };
        put(
            &dir.join(format!("{}.original.json", p.stem)),
            original.as_bytes(),
        )?;
        if !p.tightened.empty {
            put(&dir.join(format!("{}.json", p.stem)), new.as_bytes())?;
        }
        let d = diff::unified(
            &original,
            &new,
            &format!("{}.original.json", p.stem),
            &if p.tightened.empty {
                "/dev/null".to_string()
            } else {
                format!("{}.json", p.stem)
            },
            3,
        );
        put(&dir.join(format!("{}.diff", p.stem)), d.as_bytes())?;
    }
    let (apply, rollback) = commands(plan);
    let header = |what: &str| {
        format!(
            "# iam-tighten: {what} for {} {} in account {}. Run from this folder, or with ../../../{APPLY_SCRIPT} .\n",
            plan.kind,
            plan.name.replace(['\n', '\r'], " "),
            plan.account_id
        )
    };
    put(
        &dir.join("apply.commands"),
        (header("apply") + &apply.join("\n") + "\n").as_bytes(),
    )?;
    put(
        &dir.join("rollback.commands"),
        (header("roll back") + &rollback.join("\n") + "\n").as_bytes(),
    )?;
    // One list of decisions feeds both the README and actions.csv.
    let rows = decision_rows(plan, analysis);
    put(
        &dir.join("README.md"),
        readme(plan, analysis, &rows, &apply, &rollback).as_bytes(),
    )?;
    let csv = actions_csv(&rows).map_err(|m| crate::Error::render("actions.csv", m))?;
    put(&dir.join("actions.csv"), &csv)
}

/// The helper that runs a folder's commands (dry run by default), copied into every
/// `recommendations/` folder so that the output is complete on its own.
pub const APPLY_SCRIPT: &str = "apply-recommendation.sh";
const APPLY_SCRIPT_TEXT: &str = include_str!("../../scripts/apply-recommendation.sh");

fn put_script(path: &Path) -> Result<()> {
    put(path, APPLY_SCRIPT_TEXT.as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o755))
            .map_err(|e| write_error(path, e))?;
    }
    Ok(())
}

pub(super) fn write(
    plans: &[PrincipalPlan],
    folder: &[bool],
    analysis: &Analysis<'_>,
    summary: &RecommendationSummary,
    out_dir: &Path,
) -> Result<()> {
    fs::create_dir_all(out_dir).map_err(|e| write_error(out_dir, e))?;
    let tmp = crate::files::temp_path(&out_dir.join(DIR));
    let result = (|| {
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(|e| write_error(&tmp, e))?;
        }
        fs::create_dir_all(&tmp).map_err(|e| write_error(&tmp, e))?;
        // Principals' folders are independent: written by as many threads as there are cores
        // (each file's content does not depend on the order).
        let todo: Vec<&PrincipalPlan> = plans
            .iter()
            .enumerate()
            .filter(|(i, p)| {
                p.skipped.is_none()
                    && !p.policies.is_empty()
                    && folder.get(*i).copied().unwrap_or(true)
            })
            .map(|(_, p)| p)
            .collect();
        let results = crate::parallel::map_indexed(
            todo.len(),
            || (),
            |(), i| {
                let plan = todo[i];
                let mut dir: PathBuf = tmp.clone();
                for part in principal_path(plan).split('/').skip(1) {
                    dir.push(part);
                }
                write_principal(&dir, plan, analysis)
            },
        );
        for r in results {
            r?;
        }
        put_script(&tmp.join(APPLY_SCRIPT))?;
        let path = tmp.join("summary.json");
        let mut json = serde_json::to_vec_pretty(summary)
            .map_err(|e| crate::Error::render("summary.json", e))?;
        json.push(b'\n');
        put(&path, &json)?;
        // At every instant `recommendations/` is one run's complete folder (see replace_dir).
        crate::files::replace_dir(&tmp, &out_dir.join(DIR))
    })();
    if result.is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_names() {
        assert_eq!(safe_file_name("=1+1"), "=1+1");
        assert_eq!(safe_file_name("ci-deploy@2026,x"), "ci-deploy@2026,x");
        assert!(safe_file_name("..").starts_with("_..~"));
        assert!(safe_file_name("../../etc/passwd").starts_with("_.._.._etc_passwd~"));
        assert!(safe_file_name("").starts_with("_~"));
        assert!(safe_file_name("a/b\\c\0").starts_with("a_b_c_~"));
        assert_eq!(safe_file_name(&"x".repeat(300)).len(), 109);
        // Names that used to share a folder no longer do; the result is stable.
        assert_ne!(safe_file_name("dev sandbox"), safe_file_name("dev_sandbox"));
        assert_eq!(safe_file_name("dev_sandbox"), "dev_sandbox");
        let long_a = format!("{}a", "g".repeat(127));
        let long_b = format!("{}b", "g".repeat(127));
        assert_ne!(safe_file_name(&long_a), safe_file_name(&long_b));
        assert_eq!(safe_file_name("dev sandbox"), safe_file_name("dev sandbox"));
        for n in ["dev sandbox", "..", &long_a] {
            let s = safe_file_name(n);
            assert!(
                s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-~".contains(c))
            );
            assert!(!s.starts_with('.'));
        }
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(sh("file://inline-a.json"), "file://inline-a.json");
        assert_eq!(sh("it's $(x)"), r"'it'\''s $(x)'");
        assert_eq!(sh(""), "''");
    }

    #[test]
    fn aws_json_indents_four() {
        let v: Value =
            serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]});
        assert_eq!(
            aws_json(&v),
            "{\n    \"Version\": \"2012-10-17\",\n    \"Statement\": [\n        {\n            \"Effect\": \"Allow\"\n        }\n    ]\n}\n"
        );
    }
}
