//! Applying `--config` exclusion rules to findings. The first rule (in file order) that covers a
//! finding excludes it; a rule whose `action` pattern covers part of a group splits the group, and
//! the part outside is checked against the following rules.
//!
//! Rules are indexed: per principal, only the rules whose `account` and `principal` parts match
//! it are tried, so ten thousand rules naming one principal each cost one lookup per principal,
//! not rules × findings glob matches.

use std::collections::HashMap;
use std::sync::Arc;

use super::config::{Config, ExclusionRule};
use super::groups::{ActionLists, GrantedAction};
use super::model::{
    AccountWarning, ControlId, ExportInfo, Finding, LabelId, PolicyLabel, PrincipalInfo,
    WithControls,
};
use crate::catalog::ActionSet;
use crate::model::{Timestamp, Warning};
use crate::policy::Expander;

/// Marks the rules that expired before `as_of` (an export's as-of time) as expired, with a
/// warning each (once, for the first export that passes their date). A rule is not applied to
/// a principal whose as-of date is after its expiry, and still applied to one whose data is
/// older ([`applicable`]): each export is judged by its own as-of date, as it is alone.
pub(super) fn expire(
    config: &mut Config,
    account_id: &str,
    as_of: Timestamp,
    warnings: &mut Vec<AccountWarning>,
) {
    let file = config.path.as_ref().map(|p| p.display().to_string());
    for rule in &mut config.exclusions {
        if let Some(exp) = rule.expires
            && exp < as_of.date_naive()
            && !rule.expired
        {
            rule.expired = true;
            warnings.push(AccountWarning {
                account_id: account_id.to_string(),
                warning: Warning {
                    code: "exclusion_expired".into(),
                    file: file.clone(),
                    json_path: Some(format!("exclude[{}]", rule.id.0.get() - 1)),
                    message: format!(
                        "exclusion {} expired on {exp} (before the as-of date {} of account {account_id}); it is not applied to the principals whose as-of date is later than that",
                        rule.id,
                        as_of.date_naive()
                    ),
                },
            });
        }
    }
}

/// Each rule's action pattern, expanded (`None` for a rule without one).
pub(super) fn rule_sets(
    rules: &[ExclusionRule],
    expander: &mut Expander<'_>,
) -> Vec<Option<Arc<ActionSet>>> {
    rules
        .iter()
        .map(|r| r.action.as_deref().map(|p| expander.expand_pattern(p)))
        .collect()
}

/// The rules that can apply to each principal, in rule order: not expired before its as-of date
/// ([`as_of_days`]).
fn applicable(
    principals: &[PrincipalInfo],
    exports: &[ExportInfo],
    rules: &[ExclusionRule],
) -> Vec<Vec<usize>> {
    let days = as_of_days(principals, exports);
    let mut any_principal = Vec::new();
    let mut exact: HashMap<String, Vec<usize>> = HashMap::new();
    let mut globbed = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        match &r.principal {
            None => any_principal.push(i),
            Some(p) if !p.contains(['*', '?', '[', ']', '{', '}', '\\']) => {
                exact.entry(p.to_lowercase()).or_default().push(i);
            }
            Some(_) => globbed.push(i),
        }
    }
    principals
        .iter()
        .zip(days)
        .map(|(p, day)| {
            let mut ids: Vec<usize> = any_principal.clone();
            for key in [p.name().to_lowercase(), p.arn().to_lowercase()] {
                if let Some(list) = exact.get(&key) {
                    ids.extend(list);
                }
            }
            ids.extend(globbed.iter().copied().filter(|i| {
                rules[*i]
                    .principal_glob
                    .as_ref()
                    .is_none_or(|g| g.is_match(p.name()) || g.is_match(p.arn()))
            }));
            ids.retain(|i| {
                let rule = &rules[*i];
                rule.account.as_ref().is_none_or(|a| **a == *p.account_id)
                    && !matches!((rule.expires, day), (Some(exp), Some(day)) if exp < day)
            });
            ids.sort_unstable();
            ids.dedup();
            ids
        })
        .collect()
}

/// Each principal's as-of date, which a rule's expiry is compared with: its export's (not its own
/// window's end, which is earlier where its last-accessed job ended early: the export's date is
/// the one [`expire`] warns about); a permission set's window end (the export of the account
/// exported first, where the set's data ends).
fn as_of_days(
    principals: &[PrincipalInfo],
    exports: &[ExportInfo],
) -> Vec<Option<chrono::NaiveDate>> {
    let by_account: HashMap<&str, Option<Timestamp>> = exports
        .iter()
        .map(|e| (e.account_id.as_str(), e.as_of))
        .collect();
    principals
        .iter()
        .map(|p| {
            let as_of = match p.kind {
                crate::model::PrincipalType::PermissionSet => p.as_of,
                _ => by_account
                    .get(&*p.account_id)
                    .copied()
                    .flatten()
                    .or(p.as_of),
            };
            as_of.map(|t| t.date_naive())
        })
        .collect()
}

/// Applies the rules; returns the findings, split where a rule covers part of a group (each
/// part with its group's note).
#[allow(clippy::too_many_arguments)]
pub(super) fn apply(
    with: WithControls,
    principals: &[PrincipalInfo],
    exports: &[ExportInfo],
    rules: &mut [ExclusionRule],
    rule_sets: &[Option<Arc<ActionSet>>],
    granted_by: &[Box<[LabelId]>],
    labels: &[PolicyLabel],
    lists: &mut ActionLists,
) -> WithControls {
    if rules.is_empty() {
        return with;
    }
    let applicable = applicable(principals, exports, rules);
    let WithControls { findings, controls } = with;
    let noted = !controls.is_empty();
    let mut controls = controls.into_iter();
    // (finding, its note, position in its principal's applicable list to continue from)
    let mut work: Vec<(Finding, Option<ControlId>, usize)> = findings
        .into_iter()
        .map(|f| (f, controls.next().flatten(), 0))
        .collect();
    work.reverse();
    let mut out = Vec::with_capacity(work.len());
    let mut out_controls = Vec::with_capacity(if noted { work.len() } else { 0 });
    while let Some((mut f, control, from)) = work.pop() {
        let ids = &applicable[f.principal as usize];
        for (pos, &i) in ids.iter().enumerate().skip(from) {
            let rule = &rules[i];
            if let Some(g) = &rule.policy_glob {
                let hit = granted_by
                    .get(f.granted_by.0 as usize)
                    .into_iter()
                    .flatten()
                    .any(|l| g.is_match(&labels[l.0 as usize].name));
                if !hit {
                    continue;
                }
            }
            if let Some(Some(set)) = rule_sets.get(i) {
                let (inside, outside): (Vec<GrantedAction>, Vec<GrantedAction>) = lists
                    .get(f.list)
                    .actions
                    .iter()
                    .partition(|a| set.contains(a.id()));
                if inside.is_empty() {
                    continue;
                }
                if !outside.is_empty() {
                    // The part outside the rule is checked against the following rules.
                    let mut rest = f.clone();
                    rest.set_actions(lists, outside);
                    work.push((rest, control, pos + 1));
                    f.set_actions(lists, inside);
                }
            }
            rules[i].matched += lists.get(f.list).len() as u64;
            f.exclusion = Some(rules[i].id);
            break;
        }
        out.push(f);
        if noted {
            out_controls.push(control);
        }
    }
    WithControls {
        findings: out,
        controls: out_controls,
    }
}
