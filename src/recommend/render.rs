//! Rendering plans into files. Per principal, few files (creating a file is most of the cost of
//! writing a folder): the README (what changes and why, the AWS CLI commands to apply and roll
//! back in fenced blocks the apply helper reads, each policy's diff) and only the policy documents
//! those commands send (`file://`). One `actions.csv` for every folder, with principal columns.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::{
    Apply, DIR, PolicyPlan, PrincipalPlan, RecommendationSummary, diff, is_removable, quota,
    set_folder, write_error,
};
use crate::analysis::{ActionList, Analysis, Finding, GrantedAction, Sensitivity, Status};
use crate::error::{Error, Result};
use crate::model::{is_hidden, visible};
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

/// Quotes a shell word when it needs it. A word with a control character (IAM allows none in a
/// name; an edited export can hold one) is written `$'…'` with its escapes, so that a command
/// stays one line: a line break would end a README's command block and start another. So is a
/// word with a format character ([`is_hidden`]: a bidi override U+202E would show the rest of
/// the line reversed on a terminal and in the README), which IAM allows in no name either.
pub fn sh(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_/:-".contains(c))
    {
        word.to_string()
    } else if word.chars().any(|c| c.is_control() || is_hidden(c)) {
        let mut out = String::from("$'");
        for c in word.chars() {
            match c {
                '\\' => out.push_str(r"\\"),
                '\'' => out.push_str(r"\'"),
                '\n' => out.push_str(r"\n"),
                '\r' => out.push_str(r"\r"),
                '\t' => out.push_str(r"\t"),
                // Its bytes in octal: `\u` needs a UTF-8 locale to mean the character. A format
                // character too (a bidi override would show the rest of the line reversed).
                c if c.is_control() || is_hidden(c) => {
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        out.push_str(&format!(r"\{b:03o}"));
                    }
                }
                c => out.push(c),
            }
        }
        out.push('\'');
        out
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// A command's option and its value (quoted, [`sh`]): `--role-name=-x` for a value that starts
/// with `-` (IAM allows it in a name), which the AWS CLI would otherwise read as an option.
pub fn opt(flag: &str, value: &str) -> String {
    if value.starts_with('-') {
        format!("{flag}={}", sh(value))
    } else {
        format!("{flag} {}", sh(value))
    }
}

/// Text of the export inside a Markdown table cell or code span of a README: backticks as `'`,
/// `|` escaped, line breaks as spaces, and each hidden character (a bidi override, a zero-width
/// or control character: [`is_hidden`]) shown as `[U+202E]`.
pub(super) fn md(s: &str) -> String {
    let s = s
        .replace('`', "'")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ");
    visible(&s).into_owned()
}

/// The AWS CLI commands to apply and to roll back a plan (run from the principal's folder).
pub fn commands(plan: &PrincipalPlan) -> (Vec<String>, Vec<String>) {
    if let Some(target) = &plan.permission_set {
        return set_folder::commands(plan, target);
    }
    let t = plan.kind.as_str();
    let who = opt(&format!("--{t}-name"), &plan.name);
    let mut apply = Vec::new();
    let mut rollback: Vec<Vec<String>> = Vec::new();
    // The policies that go first, so the apply needs no more attached policies than it must.
    for p in quota::apply_order(&plan.policies) {
        let new_file = sh(&format!("file://{}.json", p.stem));
        let orig_file = sh(&format!("file://{}.original.json", p.stem));
        let arn = p.policy.arn.as_deref().map(sh).unwrap_or_default();
        let name = opt("--policy-name", &p.policy.name);
        let mut back = Vec::new();
        match &p.apply {
            Apply::PutInline => {
                apply.push(format!(
                    "aws iam put-{t}-policy {who} {name} --policy-document {new_file}"
                ));
                back.push(format!(
                    "aws iam put-{t}-policy {who} {name} --policy-document {orig_file}"
                ));
            }
            Apply::DeleteInline => {
                apply.push(format!("aws iam delete-{t}-policy {who} {name}"));
                back.push(format!(
                    "aws iam put-{t}-policy {who} {name} --policy-document {orig_file}"
                ));
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
            Apply::Replace(r) => {
                let (new_name, new_arn) = (opt("--policy-name", &r.new_name), sh(&r.new_arn));
                apply.push(format!(
                    "aws iam create-policy {new_name} --policy-document {new_file}"
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
            // A permission set's (`set_folder::commands`); here, detaching is the same.
            Apply::Detach | Apply::MergeIntoInline => {
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
        Apply::Replace(r) => format!(
            "replace with new customer managed policy `{}`",
            md(&r.new_name)
        ),
        Apply::Detach => "detach (it grants nothing that is kept)".into(),
        Apply::MergeIntoInline => {
            "detach; the statements it keeps are merged into the inline policy".into()
        }
    }
}

const LIST_LIMIT: usize = 200;

/// The README of a principal's folder: what changes and why, how to apply and roll back, what
/// is removed and what is kept. One function per section.
fn readme(
    plan: &PrincipalPlan,
    analysis: &Analysis<'_>,
    rows: &[DecisionRow<'_>],
    commands: (&[String], &[String]),
    diffs: &[(&PolicyPlan, String)],
) -> String {
    let (apply, rollback) = commands;
    let mut s = String::new();
    readme_header(&mut s, plan, analysis);
    if let Some(t) = &plan.permission_set {
        set_folder::readme_changes(&mut s, plan, t);
    }
    readme_policies(&mut s, plan);
    readme_review(&mut s, plan);
    readme_apply(&mut s, plan, apply);
    readme_rollback(&mut s, plan, rollback);
    if let Some(t) = &plan.permission_set {
        set_folder::readme_evidence(&mut s, plan, t, analysis);
    }
    readme_removed(&mut s, rows);
    readme_kept(&mut s, rows);
    readme_notes(&mut s, rows);
    readme_diffs(&mut s, diffs);
    s
}

fn readme_header(s: &mut String, plan: &PrincipalPlan, analysis: &Analysis<'_>) {
    let info = &analysis.principals[plan.analysis_index];
    match &plan.permission_set {
        Some(t) => set_folder::readme_title(s, plan, t),
        None => {
            let _ = writeln!(
                s,
                "# Recommendation for {} `{}` in account {}\n",
                plan.kind,
                md(&plan.name),
                plan.account_id
            );
        }
    }
    let _ = writeln!(
        s,
        "Generated by iam-tighten {} from the export as of {}, with a {}-day window. \
         Only actions the analysis found **unused** (and no exclusion covers) are removed.\n",
        crate::VERSION,
        info.as_of.map_or("(unknown)".into(), |t| t.to_rfc3339()),
        analysis.settings.unused_after_days
    );
    let mut removed = plan.sets.before.clone();
    removed.difference_with(&plan.sets.after);
    let _ = writeln!(
        s,
        "Granted actions: **{} before, {} after** ({} removed){}.\n",
        crate::model::grouped(plan.sets.before.len() as u64),
        crate::model::grouped(plan.sets.after.len() as u64),
        crate::model::grouped(removed.len() as u64),
        plan.permission_set.as_ref().map_or(String::new(), |t| format!(
            ", as the set's role holds them in account {} (customer managed policies are that account's copies)",
            t.reference_account
        ))
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
            kind_words(plan.kind),
            md(&m.rule),
            md(&m.reason)
        );
    }
}

/// A principal type in words (`permission set`, `role`).
fn kind_words(kind: crate::model::PrincipalType) -> &'static str {
    match kind {
        crate::model::PrincipalType::PermissionSet => "permission set",
        k => k.as_str(),
    }
}

fn readme_policies(s: &mut String, plan: &PrincipalPlan) {
    s.push_str("## Policies\n\n| Policy | Kind | Change | Actions removed | Size after / limit | Files |\n|---|---|---|---|---|---|\n");
    for p in &plan.policies {
        let mut files: Vec<String> = policy_file_names(plan, p)
            .iter()
            .map(|f| format!("`{}`", md(f)))
            .collect();
        files.push("diff below".into());
        let files = files.join(", ");
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} | {} | {} |",
            md(&p.policy.name),
            kind_text(p.policy.kind),
            match &plan.permission_set {
                Some(t) => set_folder::change_text(t, p),
                None => change_text(&p.apply),
            },
            p.tightened.parts.removed.len(),
            if p.apply == Apply::MergeIntoInline {
                "— (merged)".to_string()
            } else {
                format!("{} / {}", p.size, p.limit)
            },
            files
        );
    }
    s.push('\n');
    // A policy that goes (detached, deleted) keeps no wildcard of its own.
    let expanded: Vec<String> = plan
        .policies
        .iter()
        .filter(|p| !p.tightened.empty)
        .flat_map(|p| {
            p.tightened
                .parts
                .expanded_wildcards
                .iter()
                .map(move |(l, w)| format!("`{}` in `{}` ({})", md(w), md(&p.policy.name), md(l)))
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
        for f in plan.flag_texts() {
            let _ = writeln!(s, "- {}", md(&f));
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
    s.push_str("```\n\nThe commands, to run from this folder (the helper runs this block):\n\n");
    s.push_str(APPLY_FENCE);
    s.push('\n');
    for l in apply {
        let _ = writeln!(s, "{l}");
    }
    s.push_str("```\n\n");
    if let Some(t) = &plan.permission_set {
        set_folder::readme_provisioning(s, t);
    }
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
        .any(|p| matches!(p.apply, Apply::Replace(_)))
    {
        readme_replacements(s, plan);
    }
}

/// How a plan's replacement policies are applied and rolled back within IAM's quota of managed
/// policies per principal ([`quota`]).
fn readme_replacements(s: &mut String, plan: &PrincipalPlan) {
    let detached = plan.policies.iter().any(quota::goes);
    if detached {
        s.push_str(
            "The policies that go are detached first, which frees their slots: then each replacement policy is \
             created and attached **before** its original is detached, so the principal never lacks a permission \
             it needs and never has more managed policies attached than it has now (IAM's default quota is 10 per \
             role, user or group). The rollback undoes this in reverse: each original attached again before its \
             copy is detached, then the policies that went attached again. ",
        );
    } else {
        s.push_str(
            "Each replacement policy is created and attached **before** its original is detached, so the principal \
             never lacks a permission it needs; it briefly has one more managed policy attached than it has now \
             (IAM's default quota is 10 per role, user or group), and so does the rollback, which attaches each \
             original again before it detaches the copy. ",
        );
    }
    s.push_str(
        "AWS managed policies cannot be edited, and a customer managed policy that other principals use \
         differently must not change under them, hence a copy for this principal only.\n\n",
    );
}

fn readme_rollback(s: &mut String, plan: &PrincipalPlan, rollback: &[String]) {
    s.push_str("## Roll back\n\n```sh\n");
    let _ = writeln!(
        s,
        "OUT/{DIR}/{APPLY_SCRIPT} --rollback --apply OUT/{}",
        sh(&principal_path(plan))
    );
    s.push_str("```\n\nor by hand, from this folder (the helper runs this block):\n\n");
    s.push_str(ROLLBACK_FENCE);
    s.push('\n');
    for l in rollback {
        let _ = writeln!(s, "{l}");
    }
    s.push_str("```\n\n");
    if plan
        .policies
        .iter()
        .any(|p| matches!(p.apply, Apply::NewVersion { .. }))
    {
        s.push_str(
            "Rolling back a new policy version makes the policy's earlier document its default again, for \
             **every** principal it is attached to (a version is the policy's, not this principal's): when \
             other principals share it, their folders hold the same version, and this rollback undoes it \
             for them too. The rollback leaves the new version listed: once the rollback is settled, delete \
             it (`aws iam delete-policy-version`). While it is listed, the next report judges what it lacks \
             `grant_too_new`, since when the default was set back is not recorded.\n\n",
        );
    }
}

/// Removed actions, in rank order, a row per finding (group of actions) and decision.
fn readme_removed(s: &mut String, rows: &[DecisionRow<'_>]) {
    let gone: Vec<&DecisionRow<'_>> = rows.iter().filter(|r| r.decision == "removed").collect();
    let gone_actions: usize = gone.iter().map(|r| r.count).sum();
    let _ = writeln!(
        s,
        "## Removed ({gone_actions} action(s))\n\nEach was found unused: the reason says how. Every action, kept or removed, is in `{DIR}/{ACTIONS_CSV}` (this principal's rows).\n",
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
            r.f.last_accessed()
                .map_or("never (in AWS's tracking period)".into(), |t| t
                    .to_rfc3339())
        );
    }
    if gone.len() > LIST_LIMIT {
        let _ = writeln!(
            s,
            "\n… and {} more rows in `{DIR}/{ACTIONS_CSV}`.",
            gone.len() - LIST_LIMIT
        );
    }
}

fn readme_kept(s: &mut String, rows: &[DecisionRow<'_>]) {
    let unknown: Vec<&DecisionRow<'_>> = rows
        .iter()
        .filter(|r| r.f.status() == Status::Unknown)
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
            "\n… and {} more rows in `{DIR}/{ACTIONS_CSV}`.",
            unknown.len() - LIST_LIMIT
        );
    }
}

fn readme_notes(s: &mut String, rows: &[DecisionRow<'_>]) {
    let excluded: usize = rows
        .iter()
        .filter(|r| r.f.status() == Status::Unused && r.f.exclusion.is_some())
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
             recommendation does not change); they are marked `still_granted` in `{DIR}/{ACTIONS_CSV}`.",
        );
    }
}

/// Each changed policy's diff (original → tightened, or to nothing when it goes), in the order
/// of the Policies table, fenced so that no line of the document can end the block.
fn readme_diffs(s: &mut String, diffs: &[(&PolicyPlan, String)]) {
    s.push_str("\n## Diffs\n\nEach changed policy, original → tightened (unified diff, 3 lines of context).\n");
    for (p, d) in diffs {
        let fence = "`".repeat(longest_backtick_run(d).max(2) + 1);
        let _ = write!(
            s,
            "\n### `{}` ({})\n\n{fence}diff\n{}",
            md(&p.policy.name),
            kind_text(p.policy.kind),
            visible(d)
        );
        if !d.is_empty() && !d.ends_with('\n') {
            s.push('\n');
        }
        let _ = writeln!(s, "{fence}");
    }
}

/// The longest run of backticks in `text` (a fence around it must be longer). Counted over the
/// bytes (a backtick is one byte, never part of another character's), after a quick check for
/// any at all: the text is a whole unified diff, and most have none.
fn longest_backtick_run(text: &str) -> usize {
    let bytes = text.as_bytes();
    if !bytes.contains(&b'`') {
        return 0;
    }
    let (mut longest, mut run) = (0, 0);
    for &b in bytes {
        run = if b == b'`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest
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
            count: analysis.actions(f).len(),
            sensitivity: analysis.sensitivity(f),
        };
        if !is_removable(f) {
            rows.push(whole("kept"));
            continue;
        }
        let (still, removed): (Vec<GrantedAction>, Vec<GrantedAction>) = analysis
            .actions(f)
            .iter()
            .partition(|a| plan.sets.after.contains(a.id()));
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

/// `recommendations/actions.csv`: one file for every folder written (creating a file per folder
/// cost more than writing its rows), a principal's rows together, in folder order.
pub const ACTIONS_CSV: &str = "actions.csv";

/// The columns of [`ACTIONS_CSV`], documented in `docs/report-fields.md`.
pub const ACTIONS_HEADER: [&str; 11] = [
    "account_id",
    "principal_type",
    "principal_name",
    "action",
    "actions",
    "decision",
    "status",
    "reason",
    "last_accessed",
    "sensitivity",
    "exclusion",
];

/// One principal's rows of [`ACTIONS_CSV`] (no header).
fn actions_csv(
    plan: &PrincipalPlan,
    rows: &[DecisionRow<'_>],
) -> std::result::Result<Vec<u8>, String> {
    use crate::model::neutralise;
    // CRLF line ends and second-precision UTC times, as the report's CSVs (report-fields.md).
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let e = |e: csv::Error| e.to_string();
    let name = neutralise(&plan.name);
    for r in rows {
        w.write_record([
            &*plan.account_id,
            plan.kind.as_str(),
            &name,
            r.text.as_str(),
            &r.count.to_string(),
            r.decision,
            r.f.status().as_str(),
            r.f.reason.as_str(),
            &r.f.last_accessed()
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default(),
            r.sensitivity.as_str(),
            &r.f.exclusion.map(|x| x.to_string()).unwrap_or_default(),
        ])
        .map_err(e)?;
    }
    w.into_inner().map_err(|e| e.to_string())
}

/// summary.json, serialised straight into the file: at 100,000 roles the whole document in
/// memory was 270 MB at the moment the report's heap peaked.
fn write_summary(path: &Path, summary: &RecommendationSummary) -> Result<()> {
    let file = fs::File::create(path).map_err(|e| write_error(path, e))?;
    let mut w = std::io::BufWriter::new(file);
    serde_json::to_writer_pretty(&mut w, summary).map_err(|e| match e.io_error_kind() {
        Some(_) => write_error(path, e.into()),
        None => crate::Error::render("summary.json", e),
    })?;
    w.write_all(b"\n")
        .and_then(|()| w.flush())
        .map_err(|e| write_error(path, e))
}

fn put(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).map_err(|e| write_error(path, e))
}

/// Whether the rollback restores this (IAM) policy from its original document (`file://`):
/// an inline policy is put back whole, and a managed policy without a previous default version
/// is given its original again. Every other rollback names a policy ARN or a version id.
fn rollback_reads_original(p: &PolicyPlan) -> bool {
    matches!(
        p.apply,
        Apply::PutInline
            | Apply::DeleteInline
            | Apply::NewVersion {
                previous_default: None
            }
    )
}

/// The files of one changed policy in its principal's folder, in the README's order: exactly the
/// documents its commands send: the tightened one (absent when the policy goes) and the original
/// when the rollback restores it from a file.
pub(super) fn policy_file_names(plan: &PrincipalPlan, p: &PolicyPlan) -> Vec<String> {
    if let Some(t) = &plan.permission_set {
        return set_folder::policy_file_names(t, p);
    }
    let mut names = Vec::new();
    if !p.tightened.empty {
        names.push(format!("{}.json", p.stem));
    }
    if rollback_reads_original(p) {
        names.push(format!("{}.original.json", p.stem));
    }
    names
}

/// The file a decision about this policy points to: the first of [`policy_file_names`] (the
/// tightened document, else the original the rollback restores), else the README, whose commands
/// then need no file.
pub fn decision_file(plan: &PrincipalPlan, p: &PolicyPlan) -> String {
    policy_file_names(plan, p)
        .into_iter()
        .next()
        .unwrap_or_else(|| README.to_string())
}

/// What one changed policy puts in its principal's folder: [`policy_file_names`] with their
/// content, and the diff original → tightened the README shows.
pub(super) struct PolicyOutput {
    pub files: Vec<(String, String)>,
    pub diff: String,
}

/// The diff's label for an original document: its file when the folder has it, else the policy
/// (its text is the account's, or AWS's, and the rollback does not need it).
pub(super) fn original_label(stem: &str, written: bool) -> String {
    if written {
        format!("{stem}.original.json")
    } else {
        format!("{stem} (original)")
    }
}

/// [`policy_file_names`] with their content, and the diff.
fn policy_output(plan: &PrincipalPlan, p: &PolicyPlan) -> PolicyOutput {
    if let Some(t) = &plan.permission_set {
        return set_folder::policy_output(t, p);
    }
    let original = aws_json(&p.original().raw.value());
    let new = if p.tightened.empty {
        String::new()
    } else {
        aws_json(&p.tightened.parts.document)
    };
    let keep_original = rollback_reads_original(p);
    let diff = diff::unified(
        &original,
        &new,
        &original_label(&p.stem, keep_original),
        &if p.tightened.empty {
            "/dev/null".to_string()
        } else {
            format!("{}.json", p.stem)
        },
        3,
    );
    let mut files = Vec::new();
    if !p.tightened.empty {
        files.push((format!("{}.json", p.stem), new));
    }
    if keep_original {
        files.push((format!("{}.original.json", p.stem), original));
    }
    PolicyOutput { files, diff }
}

/// The README of every folder.
pub const README: &str = "README.md";

/// The info strings of the README's two command blocks: the apply helper runs the lines between
/// one of them and the next "```" line, so they must stay what `scripts/apply-recommendation.sh`
/// looks for (`sh` first, so Markdown viewers highlight them as shell).
pub const APPLY_FENCE: &str = "```sh apply";
pub const ROLLBACK_FENCE: &str = "```sh rollback";

/// Writes one principal's folder; returns its rows of [`ACTIONS_CSV`].
fn write_principal(dir: &Path, plan: &PrincipalPlan, analysis: &Analysis<'_>) -> Result<Vec<u8>> {
    fs::create_dir_all(dir).map_err(|e| write_error(dir, e))?;
    let mut diffs = Vec::with_capacity(plan.policies.len());
    for p in &plan.policies {
        let out = policy_output(plan, p);
        for (name, text) in out.files {
            put(&dir.join(name), text.as_bytes())?;
        }
        diffs.push((p, out.diff));
    }
    let (apply, rollback) = commands(plan);
    // One list of decisions feeds both the README and actions.csv.
    let rows = decision_rows(plan, analysis);
    put(
        &dir.join(README),
        readme(plan, analysis, &rows, (&apply, &rollback), &diffs).as_bytes(),
    )?;
    actions_csv(plan, &rows).map_err(|m| crate::Error::render(ACTIONS_CSV, m))
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

/// Folders finished ahead of the next one whose `actions.csv` rows are due: they wait, with
/// their rows, for it (see [`write`]).
const FOLDERS_AHEAD: usize = 256;

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
            .filter(|(i, p)| super::has_folder(p, folder, *i))
            .map(|(_, p)| p)
            .collect();
        if let Some(p) = todo.iter().find(|p| p.documents_dropped) {
            return Err(Error::Analysis(format!(
                "the recommendation of {} {} of account {} was planned without a folder",
                p.kind, p.name, p.account_id
            )));
        }
        // Each folder's rows of actions.csv are appended as soon as the folders before it are
        // done: only the few folders in flight hold theirs. Collecting every folder's rows, then
        // copying them into one buffer, held actions.csv twice over (~27 KB a folder: with
        // `--recommendations all`, gigabytes for a large organisation).
        let csv_path = tmp.join(ACTIONS_CSV);
        let file = fs::File::create(&csv_path).map_err(|e| write_error(&csv_path, e))?;
        let mut csv = std::io::BufWriter::with_capacity(1 << 16, file);
        let header = ACTIONS_HEADER.join(",") + "\r\n";
        csv.write_all(header.as_bytes())
            .map_err(|e| write_error(&csv_path, e))?;
        // The first failure in folder order, as a one-by-one run meets it.
        let mut failed = None;
        crate::parallel::stream_ordered(
            todo.len(),
            FOLDERS_AHEAD,
            || (),
            |(), i| {
                let plan = todo[i];
                let mut dir: PathBuf = tmp.clone();
                for part in principal_path(plan).split('/').skip(1) {
                    dir.push(part);
                }
                write_principal(&dir, plan, analysis)
            },
            |_, rows| match rows
                .and_then(|rows| csv.write_all(&rows).map_err(|e| write_error(&csv_path, e)))
            {
                Ok(()) => true,
                Err(e) => {
                    failed = Some(e);
                    false
                }
            },
        );
        if let Some(e) = failed {
            return Err(e);
        }
        csv.into_inner()
            .map_err(|e| write_error(&csv_path, e.into_error()))?;
        put_script(&tmp.join(APPLY_SCRIPT))?;
        write_summary(&tmp.join("summary.json"), summary)?;
        crate::files::write_own_list(&tmp)?;
        // A note saved in the folder while the run went on is not replaced.
        let dest = out_dir.join(DIR);
        if dest.is_dir() {
            crate::files::check_own_folder(&dest, false)?;
        }
        // At every instant `recommendations/` is one run's complete folder (see replace_dir).
        crate::files::replace_dir(&tmp, &dest)
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
    fn backtick_runs() {
        assert_eq!(longest_backtick_run(""), 0);
        assert_eq!(longest_backtick_run("no ticks, é ✓"), 0);
        assert_eq!(longest_backtick_run("`"), 1);
        assert_eq!(longest_backtick_run("a ``b`` ```` c `"), 4);
        assert_eq!(longest_backtick_run("é````"), 4);
        // The fence around such a text is longer than any run in it.
        assert_eq!(longest_backtick_run(&"`".repeat(7)), 7);
    }

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
        // A line break or a control character stays on the command's line, escaped: a README
        // block ends at a line that opens with a fence.
        let planted = "p\n```\n```sh rollback\naws iam delete-role --role-name victim\n";
        let quoted = sh(planted);
        assert!(!quoted.contains('\n'), "{quoted}");
        assert_eq!(
            quoted,
            r"$'p\n```\n```sh rollback\naws iam delete-role --role-name victim\n'"
        );
        assert_eq!(sh("a'b\\\u{1b}\u{85}"), r"$'a\'b\\\033\302\205'");
        // What bash passes on of `word`, quoted by `sh`.
        let passed = |word: &str| {
            let out = std::process::Command::new("bash")
                .args(["-c", &format!("printf %s {}", sh(word))])
                .env("LC_ALL", "C")
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        assert_eq!(passed("x'\ny\t$(z)\u{85}"), "x'\ny\t$(z)\u{85}");
        // A bidi override is written as its bytes, so the line reads in order; the shell still
        // passes the very name.
        assert_eq!(sh("uni\u{202e}txt"), r"$'uni\342\200\256txt'");
        assert_eq!(passed("a b\u{2066}\u{200f}"), "a b\u{2066}\u{200f}");
        assert_eq!(md("x\u{202e}|`y`"), "x[U+202E]\\|'y'");
    }

    /// A name may start with `-` (IAM allows it): the AWS CLI would read it as an option.
    #[test]
    fn an_option_value_starting_with_a_dash_is_joined_by_an_equals_sign() {
        assert_eq!(opt("--role-name", "app"), "--role-name app");
        assert_eq!(opt("--role-name", "--debug"), "--role-name=--debug");
        assert_eq!(opt("--policy-name", "-p q"), "--policy-name='-p q'");
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
