//! The folder of an IAM Identity Center permission set: its `aws sso-admin` commands, its policy
//! files and the README sections only a permission set has (how the set changes, provisioning,
//! the evidence of each account's role). `render.rs` writes the rest as for any principal.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::permission_set::{INLINE_NAME, INLINE_STEM};
use super::render::{PolicyOutput, aws_json, md, original_label, sh};
use super::{Apply, PermissionSetTarget, PolicyPlan, PrincipalPlan, diff};
use crate::analysis::{Analysis, Status};
use crate::catalog::ActionId;
use crate::model::PrincipalType;
use crate::policy::PolicyKind;

/// The commands to apply and to roll back a permission set's plan: change the set, then
/// provision it to every account it is provisioned to.
pub(super) fn commands(
    plan: &PrincipalPlan,
    t: &PermissionSetTarget,
) -> (Vec<String>, Vec<String>) {
    let set = format!(
        "--instance-arn {} --permission-set-arn {}",
        sh(&t.instance_arn),
        sh(&t.arn)
    );
    let region = t
        .region
        .as_deref()
        .map_or(String::new(), |r| format!(" --region {}", sh(r)));
    let restore_inline = if t.had_inline {
        format!(
            "aws sso-admin put-inline-policy-to-permission-set {set} --inline-policy {}{region}",
            sh(&format!("file://{INLINE_STEM}.original.json"))
        )
    } else {
        format!("aws sso-admin delete-inline-policy-from-permission-set {set}{region}")
    };
    let mut apply = Vec::new();
    let mut rollback = Vec::new();
    for p in &plan.policies {
        let arn = p.policy.arn.as_deref().map(sh).unwrap_or_default();
        match (&p.apply, p.policy.kind) {
            (Apply::PutInline, PolicyKind::Inline) => {
                apply.push(format!(
                    "aws sso-admin put-inline-policy-to-permission-set {set} --inline-policy {}{region}",
                    sh(&format!("file://{}.json", p.stem))
                ));
                rollback.push(restore_inline.clone());
            }
            (Apply::DeleteInline, PolicyKind::Inline) => {
                apply.push(format!(
                    "aws sso-admin delete-inline-policy-from-permission-set {set}{region}"
                ));
                rollback.push(restore_inline.clone());
            }
            (Apply::Detach | Apply::MergeIntoInline, PolicyKind::AwsManaged) => {
                apply.push(format!(
                    "aws sso-admin detach-managed-policy-from-permission-set {set} --managed-policy-arn {arn}{region}"
                ));
                rollback.push(format!(
                    "aws sso-admin attach-managed-policy-to-permission-set {set} --managed-policy-arn {arn}{region}"
                ));
            }
            // Nothing else is planned for a permission set.
            _ => {}
        }
    }
    let provision = format!(
        "aws sso-admin provision-permission-set {set} --target-type ALL_PROVISIONED_ACCOUNTS{region}"
    );
    apply.push(provision.clone());
    rollback.reverse();
    rollback.push(provision);
    (apply, rollback)
}

/// The change of one policy of a set, for the README's table.
pub(super) fn change_text(t: &PermissionSetTarget, p: &PolicyPlan) -> String {
    match (&p.apply, p.policy.kind) {
        (Apply::PutInline, PolicyKind::Inline) if !t.had_inline => {
            "new inline policy: the statements the AWS managed policies keep".into()
        }
        (Apply::PutInline, _) => "rewrite the inline policy".into(),
        (Apply::DeleteInline, _) => {
            "delete the inline policy (it grants nothing that is kept)".into()
        }
        (Apply::MergeIntoInline, _) => {
            "detach; the statements it keeps are merged into the inline policy".into()
        }
        _ => "detach (it grants nothing that is kept)".into(),
    }
}

/// The files of one changed policy of a set, exactly those its commands send: the inline
/// policy's new text (absent when it is deleted) and its original (absent when the set had none;
/// the rollback puts it back). A detached AWS managed policy has none: the rollback attaches it
/// again by ARN; its diff to the statements it keeps (merged into the inline policy) is in the
/// README.
pub(super) fn policy_file_names(t: &PermissionSetTarget, p: &PolicyPlan) -> Vec<String> {
    let mut names = Vec::new();
    if p.policy.kind == PolicyKind::Inline {
        if !p.tightened.empty {
            names.push(format!("{}.json", p.stem));
        }
        if t.had_inline {
            names.push(format!("{}.original.json", p.stem));
        }
    }
    names
}

/// [`policy_file_names`] with their content, and the diff the README shows.
pub(super) fn policy_output(t: &PermissionSetTarget, p: &PolicyPlan) -> PolicyOutput {
    let original_name = format!("{}.original.json", p.stem);
    let new_name = format!("{}.json", p.stem);
    let original = aws_json(&p.original().raw.value());
    let mut files = Vec::new();
    let diff = if p.policy.kind == PolicyKind::Inline {
        let new = if p.tightened.empty {
            String::new()
        } else {
            aws_json(&p.tightened.parts.document)
        };
        let old = if t.had_inline { original.as_str() } else { "" };
        let d = diff::unified(
            old,
            &new,
            if t.had_inline {
                &original_name
            } else {
                "/dev/null"
            },
            if p.tightened.empty {
                "/dev/null"
            } else {
                &new_name
            },
            3,
        );
        if !p.tightened.empty {
            files.push((new_name, new));
        }
        if t.had_inline {
            // What the rollback sends: Identity Center's own text, not a reformatted copy (its
            // 32,768-character limit counts whitespace; the diff above compares documents).
            files.push((original_name, t.inline_text.clone().unwrap_or(original)));
        }
        d
    } else {
        let (kept, label) = if p.apply == Apply::MergeIntoInline {
            (
                aws_json(&p.tightened.parts.document),
                format!(
                    "{} (the statements kept, merged into {INLINE_STEM}.json)",
                    p.stem
                ),
            )
        } else {
            (String::new(), "/dev/null".to_string())
        };
        diff::unified(&original, &kept, &original_label(&p.stem, false), &label, 3)
    };
    PolicyOutput { files, diff }
}

/// The README's title and what the permission set is.
pub(super) fn readme_title(s: &mut String, plan: &PrincipalPlan, t: &PermissionSetTarget) {
    let _ = writeln!(
        s,
        "# Recommendation for permission set `{}` (IAM Identity Center)\n",
        md(&plan.name)
    );
    let _ = writeln!(
        s,
        "Permission set `{}` of instance `{}`, administered from account {} (the management \
         account, or Identity Center's delegated administrator). Provisioned to {} account(s): {}. \
         This is **one change to the permission set**: provisioning it rewrites the set's role \
         (`AWSReservedSSO_{}_…`) in every one of those accounts at once, so those roles get no \
         recommendation of their own.\n",
        md(&t.arn),
        md(&t.instance_arn),
        plan.account_id,
        t.accounts.len(),
        t.accounts.join(", "),
        md(&plan.name)
    );
}

/// How the set changes, policy by policy, and why AWS managed policies are merged.
pub(super) fn readme_changes(s: &mut String, plan: &PrincipalPlan, t: &PermissionSetTarget) {
    s.push_str("## How the permission set changes\n\n");
    let inline = plan
        .policies
        .iter()
        .find(|p| p.policy.kind == PolicyKind::Inline);
    let merged: Vec<String> = t
        .merged
        .iter()
        .filter(|(_, r)| !r.is_empty())
        .map(|(n, r)| {
            if r.len() == 1 {
                format!("statement {} from `{}`", r.start + 1, md(n))
            } else {
                format!("statements {}–{} from `{}`", r.start + 1, r.end, md(n))
            }
        })
        .collect();
    let from = if merged.is_empty() {
        String::new()
    } else {
        format!(
            ", then the statements the AWS managed policies below keep ({})",
            merged.join(", ")
        )
    };
    let _ = match (inline.map(|p| &p.apply), t.had_inline) {
        (Some(Apply::PutInline), true) => writeln!(
            s,
            "- **Inline policy** (`{INLINE_NAME}` on the roles): replaced by `{INLINE_STEM}.json`: \
             its own statements without the unused actions{from}. The original is \
             `{INLINE_STEM}.original.json`."
        ),
        (Some(Apply::PutInline), false) => writeln!(
            s,
            "- **Inline policy**: the set had none and gets `{INLINE_STEM}.json`, made of the \
             statements the AWS managed policies below keep ({}).",
            merged.join(", ")
        ),
        (Some(_), _) => writeln!(
            s,
            "- **Inline policy**: deleted; it grants nothing that is kept. The original is \
             `{INLINE_STEM}.original.json`."
        ),
        (None, true) => writeln!(
            s,
            "- **Inline policy**: unchanged; it grants nothing unused."
        ),
        (None, false) => writeln!(s, "- **Inline policy**: none, and none is added."),
    };
    let mut merge = false;
    for p in plan
        .policies
        .iter()
        .filter(|p| p.policy.kind == PolicyKind::AwsManaged)
    {
        let name = md(&p.policy.name);
        let _ = if p.apply == Apply::MergeIntoInline {
            merge = true;
            writeln!(
                s,
                "- **AWS managed policy** `{name}`: detached; the statements it keeps are merged \
                 into the inline policy."
            )
        } else {
            writeln!(
                s,
                "- **AWS managed policy** `{name}`: detached; nothing it grants is kept."
            )
        };
    }
    s.push_str(
        "- **AWS managed policies** not listed above stay attached: they grant nothing unused \
         (or their document is not in the exports; see the flags).\n",
    );
    s.push_str(
        "- **Customer managed policies** are not changed: the set refers to them by name and \
         path, and Identity Center attaches, in each account, that account's own policy of that \
         name, so each account's copy may differ. Tighten each copy in its account (the flags say \
         which grant unused actions).\n",
    );
    s.push_str(
        "- **The permissions boundary**, if any, is never changed (it limits; it grants \
         nothing).\n\n",
    );
    if merge {
        s.push_str(
            "Why merge: a permission set holds AWS managed policies, customer managed policies \
             (found by name in each account) and one inline policy. An AWS managed policy cannot \
             be edited, and a tightened copy would be a customer managed policy that would have to \
             be created, the same, in every account the set is provisioned to (and in every \
             account it is provisioned to later). The inline policy lives in the permission set \
             itself, so the statements a detached AWS managed policy keeps go there. The cost: \
             AWS's later changes to that managed policy no longer reach the set.\n\n",
        );
    }
}

/// What provisioning does, and where to run the commands.
pub(super) fn readme_provisioning(s: &mut String, t: &PermissionSetTarget) {
    let _ = writeln!(
        s,
        "**Provisioning.** `provision-permission-set --target-type ALL_PROVISIONED_ACCOUNTS` \
         rewrites the set's role in every account it is provisioned to ({}): they all get the \
         change at once, and rolling back is changing the set back and provisioning again. It \
         runs asynchronously: it prints a `RequestId`; follow it with `aws sso-admin \
         describe-permission-set-provisioning-status --instance-arn {} \
         --provision-permission-set-request-id <RequestId>`.\n",
        t.accounts.join(", "),
        md(&t.instance_arn)
    );
    let _ = match &t.region {
        Some(r) => writeln!(
            s,
            "Run the commands with credentials of the management account (or of Identity \
             Center's delegated administrator); they name the instance's region (`--region {}`, \
             from the path of the set's roles).\n",
            md(r)
        ),
        None => writeln!(
            s,
            "Run the commands with credentials of the management account (or of Identity \
             Center's delegated administrator), in the Identity Center instance's region (the \
             path of the set's roles names none: add `--region` if your CLI's default region is \
             another).\n"
        ),
    };
}

/// The README's sentence when some role's data ends a day or more after the set's window: the
/// evidence table's rows show each role's own window.
fn windows_apart(
    s: &mut String,
    plan: &PrincipalPlan,
    roles: &BTreeMap<&str, usize>,
    analysis: &Analysis<'_>,
) {
    let set_end = analysis.principals[plan.analysis_index].as_of;
    let later = roles.values().any(|&i| {
        let end = analysis.principals[i].as_of;
        matches!((end, set_end), (Some(e), Some(s)) if (e - s).num_hours() >= 24)
    });
    if let (true, Some(end)) = (later, set_end) {
        let _ = write!(
            s,
            " The accounts' data ends on different days: the set's verdicts are judged over one \
             window for every account, ending {} (where the data of the account exported first \
             ends), and each row below shows its role's own window. A use after the set's window \
             leaves an action unknown, and kept.",
            end.format("%Y-%m-%d")
        );
    }
}

/// Each provisioned account's role: whether it has data, when it was last used, what it used;
/// and the actions kept because some accounts' roles used them.
pub(super) fn readme_evidence(
    s: &mut String,
    plan: &PrincipalPlan,
    t: &PermissionSetTarget,
    analysis: &Analysis<'_>,
) {
    const SHOWN: usize = 8;
    s.push_str(
        "## Evidence per account\n\nThe set's verdicts roll up its roles': an action is used \
         when any account's role used it in the window, and unused only when every provisioned \
         account's role has last-accessed data and none used it.",
    );
    let roles: BTreeMap<&str, usize> = analysis
        .principals
        .iter()
        .enumerate()
        .filter(|(_, p)| {
            p.kind == PrincipalType::Role && p.permission_set.as_deref() == Some(plan.name.as_str())
        })
        .map(|(i, p)| (&*p.account_id, i))
        .collect();
    windows_apart(s, plan, &roles, analysis);
    s.push_str(
        "\n\n| Account | Role | Data as of | Last-accessed data | Last used | Used in its window |\n\
         |---|---|---|---|---|---|\n",
    );
    let mut used_in: BTreeMap<ActionId, BTreeSet<&str>> = BTreeMap::new();
    let mut with_data: BTreeSet<&str> = BTreeSet::new();
    for account in &t.accounts {
        let Some(&i) = roles.get(account.as_str()) else {
            let _ = writeln!(s, "| {account} | (not in the exports) | | no | | |");
            continue;
        };
        let p = &analysis.principals[i];
        if p.has_last_accessed {
            with_data.insert(account.as_str());
        }
        let mut used: Vec<(String, String)> = Vec::new();
        for f in analysis
            .findings_of(i)
            .filter(|f| f.status() == Status::Used)
        {
            for a in analysis.actions(f) {
                used_in.entry(a.id()).or_default().insert(account.as_str());
            }
            used.push((
                analysis.action_text(f).to_string(),
                f.last_accessed()
                    .map_or(String::new(), |d| format!(" ({})", d.format("%Y-%m-%d"))),
            ));
        }
        used.sort();
        let mut list: Vec<String> = used
            .iter()
            .take(SHOWN)
            .map(|(a, d)| format!("`{}`{d}", md(a)))
            .collect();
        if used.len() > SHOWN {
            list.push(format!("and {} more", used.len() - SHOWN));
        }
        let _ = writeln!(
            s,
            "| {account} | `{}` | {} | {} | {} | {} |",
            md(p.name()),
            p.as_of
                .map_or(String::new(), |d| d.format("%Y-%m-%d").to_string()),
            if p.has_last_accessed { "yes" } else { "no" },
            p.last_used
                .map_or("never".into(), |d| d.format("%Y-%m-%d").to_string()),
            if list.is_empty() {
                "nothing".into()
            } else {
                list.join(", ")
            }
        );
    }
    // Actions some accounts' roles used and others did not: kept for the set as a whole.
    let mut partial: BTreeMap<Vec<&str>, Vec<ActionId>> = BTreeMap::new();
    for (a, accounts) in &used_in {
        if with_data.len() > 1 && accounts.len() < with_data.len() {
            partial
                .entry(accounts.iter().copied().collect())
                .or_default()
                .push(*a);
        }
    }
    if !partial.is_empty() {
        s.push_str(
            "\nKept because some accounts' roles used them in their windows (the set is one \
             policy for every account):\n\n",
        );
        let c = analysis.catalog;
        for (accounts, actions) in &partial {
            let mut names: Vec<String> = actions
                .iter()
                .take(20)
                .map(|a| format!("`{}`", c.full_name(*a)))
                .collect();
            if actions.len() > 20 {
                names.push(format!("and {} more", actions.len() - 20));
            }
            let _ = writeln!(
                s,
                "- used only in {}: {}",
                accounts.join(", "),
                names.join(", ")
            );
        }
    }
    s.push('\n');
}
