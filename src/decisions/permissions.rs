//! One decision per principal × policy the recommendation changes: detach it, delete it,
//! replace it (or make its tightened version the default), with the risk the change removes.
//! An IAM Identity Center permission set gets one decision for all its policies: the set is
//! changed and provisioned to every account in one step, so it is approved as one unit.

use super::{Decision, DecisionKind, Title, highest, score, used_evidence};
use crate::analysis::{Analysis, Sensitivity};
use crate::model::PrincipalType;
use crate::policy::PolicyKind;
use crate::recommend::{Apply, Flag, Lost, PermissionSetTarget, PolicyPlan, PrincipalPlan};

/// Plans whose decisions are built in parallel at a time: the decisions of a block wait to be
/// appended, not those of every plan (at 1,000,000 roles, ~1.6 million).
pub(super) const BLOCK: usize = 8192;

/// Appends the decisions of every plan of `block` with something to change, for principals that
/// are not intentional access (those get one `confirm_intentional` decision instead) and are not
/// deleted (`deleted(account, arn)`: a deletion takes their policies with them), in plan order.
/// `folder(k)` is the recommendation folder of `block[k]`'s principal, when written.
pub(super) fn append(
    an: &Analysis<'_>,
    block: &[PrincipalPlan],
    folder: &(dyn Fn(usize) -> Option<String> + Sync),
    deleted: &(dyn Fn(&str, &str) -> bool + Sync),
    texts: &mut super::Texts,
    list: &mut Vec<Decision>,
) {
    // Each plan's decisions on their own, in parallel (at 100,000 roles this stage took ~6 s on
    // one thread).
    let built = crate::parallel::map_indexed(
        block.len(),
        || (),
        |(), i| {
            if count(an, &block[i], deleted) == 0 {
                return Vec::new();
            }
            plan_decisions(an, &block[i], folder(i))
        },
    );
    list.extend(built.into_iter().flatten().map(|d| texts.share(d)));
}

/// How many decisions [`append`] makes of `plan`.
pub(super) fn count(
    an: &Analysis<'_>,
    plan: &PrincipalPlan,
    deleted: &(dyn Fn(&str, &str) -> bool + Sync),
) -> usize {
    let Some(p) = an.principals.get(plan.analysis_index) else {
        return 0;
    };
    if plan.skipped.is_some()
        || plan.policies.is_empty()
        || p.intentional.is_some()
        || deleted(&plan.account_id, p.arn())
    {
        return 0;
    }
    if plan.permission_set.is_some() {
        1
    } else {
        plan.policies.len().min(plan.outcome.policies.len())
    }
}

/// The decisions of one plan: one per changed policy, or one for a permission set. (Only for a
/// plan [`count`] gives decisions.)
fn plan_decisions(
    an: &Analysis<'_>,
    plan: &PrincipalPlan,
    folder: Option<String>,
) -> Vec<Decision> {
    let evidence = used_evidence(an, plan.analysis_index);
    if let Some(t) = &plan.permission_set {
        let mut d = decision(
            an,
            plan,
            &plan.policies[0],
            &plan.outcome.lost,
            &evidence,
            folder.as_deref(),
        );
        set_decision(&mut d, plan, t);
        add_cautions(
            &mut d,
            (0..plan.policies.len()).filter_map(|i| caution(plan, i)),
        );
        return vec![d];
    }
    plan.policies
        .iter()
        .zip(&plan.outcome.policies)
        .enumerate()
        .map(|(i, (pp, (_, lost)))| {
            let mut d = decision(an, plan, pp, lost, &evidence, folder.as_deref());
            add_cautions(&mut d, caution(plan, i));
            d
        })
        .collect()
}

/// The caution of policy `i` of `plan` whose newest version is within the window
/// ([`Flag::RecentVersion`]), as its folder says it.
fn caution(plan: &PrincipalPlan, i: usize) -> Option<String> {
    let date = plan.flags.iter().find_map(|f| match f {
        Flag::RecentVersion { policy, date } if *policy as usize == i => Some(*date),
        _ => None,
    })?;
    let pp = plan.policies.get(i)?;
    Some(crate::recommend::recent_version_note(&pp.policy.name, date))
}

/// Ends a decision's evidence with its policies' cautions ([`caution`]), as its folder does: a
/// reader of decisions.csv alone would otherwise remove what may be unused only because it is
/// new.
fn add_cautions(d: &mut Decision, cautions: impl IntoIterator<Item = String>) {
    let cautions: Vec<String> = cautions.into_iter().collect();
    if !cautions.is_empty() {
        d.evidence = format!("{}{CAUTION}{}.", d.evidence, cautions.join(". ")).into();
    }
}

/// What precedes the cautions in a decision's evidence ([`add_cautions`]).
const CAUTION: &str = ". Caution: ";

/// A decision's evidence apart from its cautions ([`add_cautions`]), and the cautions.
fn without_caution(evidence: &str) -> (&str, Option<&str>) {
    match evidence.split_once(CAUTION) {
        Some((own, caution)) => (own, Some(caution)),
        None => (evidence, None),
    }
}

fn decision(
    an: &Analysis<'_>,
    plan: &PrincipalPlan,
    pp: &PolicyPlan,
    lost: &Lost,
    evidence: &str,
    folder: Option<&str>,
) -> Decision {
    let removes = lost.by_sensitivity;
    let risky: std::sync::Arc<[_]> = lost
        .risky
        .iter()
        .map(|a| an.name_action(plan.analysis_index as u32, a))
        .collect();
    let risky_more = lost
        .risky_total
        .saturating_sub(crate::recommend::count32(risky.len()));
    let kind = policy_decision_kind(&pp.apply);
    // The sentence is made when written (`Decision::title`) where that gives planning's: always
    // but for a replaced policy whose copy planning named otherwise than `Replacement::of`.
    let title = match &pp.apply {
        Apply::Replace(r) if r.new_name != copy_name(&pp.policy.name, &plan.name) => {
            let copy = || r.new_name.clone();
            let name = &pp.policy.name;
            Title::from(sentence(
                kind,
                pp.policy.kind,
                name,
                plan.kind,
                &plan.name,
                copy,
            ))
        }
        _ => Title::Policy {
            policy: pp.policy.kind,
            principal: plan.kind,
        },
    };
    let p = &an.principals[plan.analysis_index];
    let file = crate::recommend::decision_file(plan, pp);
    Decision {
        rank: 0,
        id: super::DecisionId::default(),
        kind,
        sensitivity: highest(&removes).unwrap_or(Sensitivity::Low),
        score: score(&removes),
        account_id: plan.account_id.clone(),
        principal_type: plan.kind.into(),
        principal_name: plan.name.as_str().into(),
        principal_arn: p.arn().into(),
        subject: pp.policy.name.as_str().into(),
        title,
        removes,
        risky_actions: risky,
        risky_more,
        evidence: evidence.into(),
        files: folder.map(|f| format!("{f}/{file}").into()),
        intentional: None,
    }
}

fn kind_text(k: PolicyKind) -> &'static str {
    match k {
        PolicyKind::Inline => "inline policy",
        PolicyKind::CustomerManaged => "customer managed policy",
        PolicyKind::AwsManaged => "AWS managed policy",
    }
}

/// The sentence of a `kind` decision about policy `name` (of kind `policy`) of principal
/// `principal_name` (of kind `principal`), a replaced policy's copy named by
/// [`Replacement::of`](crate::recommend::Replacement::of) as planning names it; `None` for a
/// decision that is not a policy change.
pub(super) fn policy_title(
    kind: DecisionKind,
    policy: PolicyKind,
    name: &str,
    principal: PrincipalType,
    principal_name: &str,
) -> Option<String> {
    let copy = || copy_name(name, principal_name);
    let policy_change = matches!(
        kind,
        DecisionKind::DetachPolicy
            | DecisionKind::DeleteInlinePolicy
            | DecisionKind::ReplaceInlinePolicy
            | DecisionKind::NewPolicyVersion
            | DecisionKind::ReplaceManagedPolicy
    );
    policy_change.then(|| sentence(kind, policy, name, principal, principal_name, copy))
}

/// The name of the tightened copy of managed policy `name` made for principal `principal`.
fn copy_name(name: &str, principal: &str) -> String {
    crate::recommend::Replacement::of(name, principal, "", "").new_name
}

/// A policy change's sentence (`copy` names a replaced policy's copy); for a decision of
/// another kind, the detachment's.
fn sentence(
    kind: DecisionKind,
    policy: PolicyKind,
    name: &str,
    principal: PrincipalType,
    principal_name: &str,
    copy: impl FnOnce() -> String,
) -> String {
    let who = format!("{} {principal_name}", principal.noun());
    let what = kind_text(policy);
    match kind {
        DecisionKind::DeleteInlinePolicy => {
            format!("Delete {what} {name} of {who}: nothing it grants is used")
        }
        DecisionKind::ReplaceInlinePolicy => {
            format!("Replace {what} {name} of {who} with its tightened version")
        }
        DecisionKind::NewPolicyVersion => {
            format!("Make the tightened version of {what} {name} its default ({who})")
        }
        DecisionKind::ReplaceManagedPolicy => {
            let copy = copy();
            format!("Replace {what} {name} on {who} with the tightened copy {copy}")
        }
        _ => format!("Detach {what} {name} from {who}: nothing it grants is used"),
    }
}

/// The decision kind of a policy change.
fn policy_decision_kind(apply: &Apply) -> DecisionKind {
    match apply {
        Apply::Detach | Apply::MergeIntoInline => DecisionKind::DetachPolicy,
        Apply::DeleteInline => DecisionKind::DeleteInlinePolicy,
        Apply::PutInline => DecisionKind::ReplaceInlinePolicy,
        Apply::NewVersion { .. } => DecisionKind::NewPolicyVersion,
        Apply::Replace(_) => DecisionKind::ReplaceManagedPolicy,
    }
}

/// Turns the decision of a set's first policy into the set's one decision.
fn set_decision(d: &mut Decision, plan: &PrincipalPlan, t: &PermissionSetTarget) {
    let mut parts = Vec::new();
    for pp in &plan.policies {
        parts.push(match (&pp.apply, pp.policy.kind) {
            (Apply::PutInline, _) if !t.had_inline => {
                "give it an inline policy of the statements its AWS managed policies keep"
                    .to_string()
            }
            (Apply::PutInline, _) => "rewrite its inline policy".to_string(),
            (Apply::DeleteInline, _) => "delete its inline policy".to_string(),
            (Apply::MergeIntoInline, _) => format!(
                "detach AWS managed policy {} (what it keeps merged into the inline policy)",
                pp.policy.name
            ),
            (_, kind) => format!("detach {} {}", kind_text(kind), pp.policy.name),
        });
    }
    d.kind = DecisionKind::TightenPermissionSet;
    d.subject = "".into();
    let accounts = match t.accounts.len() {
        1 => format!("its one provisioned account, {}", t.accounts[0]),
        n => format!("all {n} provisioned accounts"),
    };
    d.title = format!(
        "Tighten permission set {} ({accounts}): {}",
        plan.name,
        parts.join("; ")
    )
    .into();
    d.evidence = format!("{}; provisioned to {}", d.evidence, t.accounts.join(", ")).into();
    let file = match plan
        .policies
        .iter()
        .find(|p| p.policy.kind == PolicyKind::Inline && !p.tightened.empty)
    {
        Some(p) => format!("{}.json", p.stem),
        None => crate::recommend::README.into(),
    };
    d.files = d
        .files
        .as_ref()
        .and_then(|f| f.rsplit_once('/'))
        .map(|(folder, _)| format!("{folder}/{file}").into());
}

/// How many principals a merged `new_policy_version` decision names in its title and evidence;
/// the others are counted.
const MERGED_NAMED: usize = 5;

/// One `new_policy_version` decision per customer managed policy: every principal that tightens
/// a shared policy alike (the only way it gets a new version) has one, but the version changes
/// them all at once, so approving one and rejecting another is not a choice a reviewer has. The
/// first in list order (plan order) stays, naming every principal (the first [`MERGED_NAMED`],
/// then how many more) with what each used, and removing what they all lose; the others go. Its
/// id is the first principal's, its files those of the first principal with a folder written
/// (each folder has the same document and `create-policy-version`, which the apply helper runs
/// once).
pub(super) fn merge_shared_versions(list: &mut Vec<Decision>) {
    use std::collections::HashMap;
    let mut first: HashMap<(&str, &str), usize> = HashMap::new();
    let mut merged: Vec<(usize, Vec<usize>)> = Vec::new();
    for (i, d) in list.iter().enumerate() {
        if d.kind != DecisionKind::NewPolicyVersion {
            continue;
        }
        match first.entry((&d.account_id, &d.subject)) {
            std::collections::hash_map::Entry::Occupied(e) => {
                let k = *e.get();
                merged[k].1.push(i);
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(merged.len());
                merged.push((i, Vec::new()));
            }
        }
    }
    merged.retain(|(_, others)| !others.is_empty());
    if merged.is_empty() {
        return;
    }
    let mut gone = vec![false; list.len()];
    for (keep, others) in &merged {
        let all: Vec<&Decision> = std::iter::once(*keep)
            .chain(others.iter().copied())
            .map(|i| &list[i])
            .collect();
        let d = merged_decision(&all);
        for &i in others {
            gone[i] = true;
        }
        list[*keep] = d;
    }
    let mut i = 0;
    list.retain(|_| {
        i += 1;
        !gone[i - 1]
    });
}

/// The one decision of `all`, the `new_policy_version` decisions of one policy (first kept).
fn merged_decision(all: &[&Decision]) -> Decision {
    let first = all[0];
    let who = |d: &Decision| format!("{} {}", d.principal_type.as_str(), d.principal_name);
    let named: Vec<String> = all.iter().take(MERGED_NAMED).map(|d| who(d)).collect();
    let more = all.len() - named.len();
    let list = if more > 0 {
        format!("{} and {more} more", named.join(", "))
    } else {
        match named.split_last() {
            Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
            None => String::new(),
        }
    };
    let title = format!(
        "Make the tightened version of customer managed policy {} its default ({} principals \
         that get the same document: {list})",
        first.subject,
        all.len()
    );
    let mut removes = first.removes;
    let mut score = first.score;
    // The critical and high actions named are the first principal's; all the others are counted.
    let mut risky_more = first.risky_more;
    let mut sensitivity = first.sensitivity;
    for d in &all[1..] {
        removes.critical = removes.critical.saturating_add(d.removes.critical);
        removes.high = removes.high.saturating_add(d.removes.high);
        removes.medium = removes.medium.saturating_add(d.removes.medium);
        removes.low = removes.low.saturating_add(d.removes.low);
        score = score.saturating_add(d.score);
        let risky = crate::recommend::count32(d.risky_actions.len());
        risky_more = risky_more
            .saturating_add(risky)
            .saturating_add(d.risky_more);
        sensitivity = sensitivity.max(d.sensitivity);
    }
    let mut evidence = format!(
        "A new version changes all {} principals at once; what each used: ",
        all.len()
    );
    // The policy's caution (its version's date) is the same for every principal: said once.
    let mut caution = None;
    for (n, d) in all.iter().take(MERGED_NAMED).enumerate() {
        if n > 0 {
            evidence.push_str(" | ");
        }
        let (own, c) = without_caution(&d.evidence);
        caution = caution.or(c);
        evidence.push_str(&format!("{}: {own}", who(d)));
    }
    if more > 0 {
        evidence.push_str(&format!(
            " | and {more} more (their own folders say what each used)"
        ));
    }
    if let Some(c) = caution {
        evidence.push_str(CAUTION);
        evidence.push_str(c);
    }
    Decision {
        title: Title::from(title),
        removes,
        score,
        risky_more,
        sensitivity,
        evidence: evidence.into(),
        // Every folder holds the document and the `create-policy-version` line; the first
        // principal's folder may not be written (`--recommendations`), another's may.
        files: all.iter().find_map(|d| d.files.clone()),
        ..first.clone()
    }
}
