//! What `summary.json` and the report say about every principal's recommendation.

use std::sync::Arc;

use serde::Serialize;

use super::{Apply, DIR, Flag, PrincipalPlan, Replacement, render};
use crate::analysis::Analysis;
use crate::model::{PrincipalType, SharedTexts};
use crate::policy::PolicyKind;

/// What to do with one policy, for the summary. Written (summary.json, report.json) with the
/// principal it belongs to ([`PrincipalRecommendation`]'s `Serialize`): a replacement policy's
/// name and ARN are made from both again ([`SummaryApply::Replace`]).
#[derive(Debug, Clone)]
pub struct PolicySummary {
    pub name: Arc<str>,
    pub kind: PolicyKind,
    pub arn: Option<Arc<str>>,
    pub apply: SummaryApply,
    /// The tightened document, relative to the principal's folder (absent when the policy goes).
    pub file: Option<Arc<str>>,
    /// Actions this policy stops granting (at most the catalog's).
    pub removed: u32,
    pub not_action_rewritten: bool,
    /// The tightened document's IAM size and the limit it is measured against (limits are at
    /// most 32,768 characters, `recommend::limits`; a size past `u32::MAX` characters, which no
    /// IAM document approaches, would be held as `u32::MAX`: `narrow`).
    pub size: u32,
    pub limit: u32,
}

/// [`Apply`] as the summary holds it: a replacement's name and ARN are not held but made again
/// when written, from the policy's and principal's names, the partition and the account
/// ([`Replacement::of`], as planning made them). Held, they were two strings of ~130
/// characters for most AWS managed policies of every principal (~0.17 GB at 1,000,000 roles,
/// to the last writer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SummaryApply {
    PutInline,
    DeleteInline,
    NewVersion {
        previous_default: Option<Box<str>>,
    },
    /// The partition the replacement is created in, and the number that sets its name apart
    /// ([`Replacement::number`]).
    Replace {
        partition: Arc<str>,
        number: u16,
    },
    Detach,
    MergeIntoInline,
}

impl SummaryApply {
    /// `apply` of a plan of a principal in `partition`, the text held once in `texts`.
    fn of(apply: &Apply, partition: &str, texts: &mut SharedTexts) -> SummaryApply {
        match apply {
            Apply::PutInline => SummaryApply::PutInline,
            Apply::DeleteInline => SummaryApply::DeleteInline,
            Apply::NewVersion { previous_default } => SummaryApply::NewVersion {
                previous_default: previous_default.clone(),
            },
            Apply::Replace(r) => SummaryApply::Replace {
                partition: texts.get(partition),
                number: r.number,
            },
            Apply::Detach => SummaryApply::Detach,
            Apply::MergeIntoInline => SummaryApply::MergeIntoInline,
        }
    }

    /// The [`Apply`] of policy `policy` of principal `r`.
    pub fn apply(&self, policy: &str, r: &PrincipalRecommendation) -> Apply {
        match self {
            SummaryApply::PutInline => Apply::PutInline,
            SummaryApply::DeleteInline => Apply::DeleteInline,
            SummaryApply::NewVersion { previous_default } => Apply::NewVersion {
                previous_default: previous_default.clone(),
            },
            SummaryApply::Replace { partition, number } => Apply::Replace(Box::new(
                Replacement::numbered(policy, &r.principal_name, partition, &r.account_id, *number),
            )),
            SummaryApply::Detach => Apply::Detach,
            SummaryApply::MergeIntoInline => Apply::MergeIntoInline,
        }
    }
}

/// The recommendation for one principal, for the HTML report and `summary.json`.
#[derive(Debug, Clone)]
pub struct PrincipalRecommendation {
    pub account_id: Arc<str>,
    pub principal_type: PrincipalType,
    pub principal_name: Box<str>,
    /// The principal's folder relative to the output folder, `/`-separated; `None` when nothing
    /// is recommended or its folder was not written (`folder_omitted`).
    pub path: Option<Box<str>>,
    /// A recommendation exists, but `--recommendations` limited the folders written and this
    /// principal's score was below the cut.
    pub folder_omitted: bool,
    /// Effective granted actions before and after the change (counts of catalog actions:
    /// 32 bits hold any).
    pub before: u32,
    pub after: u32,
    /// Unused actions the recommendation removes.
    pub removed: u32,
    /// Actions kept because their use is unknown.
    pub kept_unknown: u32,
    /// Unused actions still granted after the change (through a group, or a policy left as is).
    pub still_granted: u32,
    /// Boxed slices, not vectors: ~1,000,000 summaries at 1,000,000 roles, held to the last
    /// writer (a summary 136 bytes, was 192).
    pub policies: Box<[PolicySummary]>,
    /// The plan's flags ([`Flag::OwnCopy`] by index into `policies`): in words through
    /// [`Self::flag_texts`].
    pub flags: Box<[Flag]>,
    /// Why there is no recommendation (`service_linked`, `managed_by_permission_set`,
    /// `nothing_to_remove`, ...).
    pub skipped: Option<Arc<str>>,
    /// For an IAM Identity Center role: the permission set that manages it (its recommendation
    /// is the set's, `principal_type` `permission_set`).
    pub managed_by_permission_set: Option<Arc<str>>,
}

/// A [`PrincipalRecommendation`] as written: its fields in order, its policies with their
/// [`Apply`] made whole.
#[derive(Serialize)]
struct RecommendationOut<'a> {
    account_id: &'a str,
    principal_type: PrincipalType,
    principal_name: &'a str,
    path: Option<&'a str>,
    folder_omitted: bool,
    before: u32,
    after: u32,
    removed: u32,
    kept_unknown: u32,
    still_granted: u32,
    policies: PoliciesOut<'a>,
    flags: FlagsOut<'a>,
    skipped: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    managed_by_permission_set: Option<&'a str>,
}

/// The flags of a recommendation, in words.
struct FlagsOut<'a>(&'a PrincipalRecommendation);

impl Serialize for FlagsOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.flag_texts())
    }
}

impl PrincipalRecommendation {
    /// [`Self::flags`] in words, in order (as the plan's [`super::PrincipalPlan::flag_texts`]).
    pub fn flag_texts(&self) -> impl Iterator<Item = std::borrow::Cow<'_, str>> {
        self.flags.iter().filter_map(|f| {
            f.text(
                |i| match &self.policies.get(i)? {
                    // A replaced policy's summary holds the partition of its copy.
                    PolicySummary {
                        name,
                        apply: SummaryApply::Replace { partition, .. },
                        ..
                    } => Some((&**name, Some(&**partition))),
                    PolicySummary { name, .. } => Some((&**name, None)),
                },
                &self.principal_name,
                &self.account_id,
            )
        })
    }
}

/// The policies of a recommendation, as written.
struct PoliciesOut<'a>(&'a PrincipalRecommendation);

/// A [`PolicySummary`] as written.
#[derive(Serialize)]
struct PolicyOut<'a> {
    name: &'a str,
    kind: PolicyKind,
    arn: Option<&'a str>,
    apply: Apply,
    file: Option<&'a str>,
    removed: u32,
    not_action_rewritten: bool,
    size: u32,
    limit: u32,
}

impl Serialize for PoliciesOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        s.collect_seq(r.policies.iter().map(|p| PolicyOut {
            name: &p.name,
            kind: p.kind,
            arn: p.arn.as_deref(),
            apply: p.apply.apply(&p.name, r),
            file: p.file.as_deref(),
            removed: p.removed,
            not_action_rewritten: p.not_action_rewritten,
            size: p.size,
            limit: p.limit,
        }))
    }
}

impl Serialize for PrincipalRecommendation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        RecommendationOut {
            account_id: &self.account_id,
            principal_type: self.principal_type,
            principal_name: &self.principal_name,
            path: self.path.as_deref(),
            folder_omitted: self.folder_omitted,
            before: self.before,
            after: self.after,
            removed: self.removed,
            kept_unknown: self.kept_unknown,
            still_granted: self.still_granted,
            policies: PoliciesOut(self),
            flags: FlagsOut(self),
            skipped: self.skipped.as_deref(),
            managed_by_permission_set: self.managed_by_permission_set.as_deref(),
        }
        .serialize(s)
    }
}

/// Every principal's recommendation, sorted by account, type and name, one per principal.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RecommendationSummary {
    /// `recommendations`, relative to the output folder.
    pub dir: String,
    /// Principal folders written.
    pub folders_written: usize,
    /// Recommendations whose folder was not written (`--recommendations` limit).
    pub folders_omitted: usize,
    /// A sorted list rather than a map keyed by copies of the names (~150 bytes a principal
    /// less, held through the writers).
    pub principals: Vec<PrincipalRecommendation>,
}

impl RecommendationSummary {
    pub fn get(
        &self,
        account_id: &str,
        kind: PrincipalType,
        name: &str,
    ) -> Option<&PrincipalRecommendation> {
        self.principals
            .binary_search_by(|r| key(r).cmp(&(account_id, kind, name)))
            .ok()
            .map(|i| &self.principals[i])
    }
}

/// The order of [`RecommendationSummary::principals`].
fn key(r: &PrincipalRecommendation) -> (&str, PrincipalType, &str) {
    (&r.account_id, r.principal_type, &r.principal_name)
}

/// Every plan's summary, in one go (see [`SummaryBuilder`]).
pub fn summarise(
    plans: &[PrincipalPlan],
    folder: &[bool],
    analysis: &Analysis<'_>,
) -> RecommendationSummary {
    let mut summary = SummaryBuilder::with_capacity(plans.len());
    summary.add(plans, 0, folder, analysis);
    summary.finish()
}

/// A [`RecommendationSummary`] built a block of plans at a time, so that a caller can free each
/// block's plans once summarised (`decisions::decide_releasing`): built in one go, every plan's
/// summary (~1 GB at 1,000,000 roles) was held beside every plan, the run's peak. Adding every
/// plan once, in order, gives what [`summarise`] gives.
pub struct SummaryBuilder {
    principals: Vec<PrincipalRecommendation>,
    written: usize,
    omitted: usize,
}

impl SummaryBuilder {
    /// A builder with room for `plans` plans.
    pub fn with_capacity(plans: usize) -> Self {
        SummaryBuilder {
            principals: Vec::with_capacity(plans),
            written: 0,
            omitted: 0,
        }
    }

    /// Adds `plans`, the run's plans from index `start` on (`folder` is every plan's, as
    /// [`super::Planned::folder`]).
    pub fn add(
        &mut self,
        plans: &[PrincipalPlan],
        start: usize,
        folder: &[bool],
        analysis: &Analysis<'_>,
    ) {
        // The texts a block of plans repeats (account ids, policy names and ARNs, file names, why
        // a plan was skipped), held once: copied into every plan's summary they were ~0.5 GB of
        // the ~1 GB the summary held at 1,000,000 roles (an AWS managed policy's name and ARN in
        // the summary of every principal it is attached to). One set a block, so that the texts
        // met once (inline policies' names) cost no set entry past their block.
        let mut texts = SharedTexts::default();
        for (k, plan) in plans.iter().enumerate() {
            let recommended = super::is_recommended(plan);
            let has_folder = super::has_folder(plan, folder, start + k);
            self.written += usize::from(has_folder);
            self.omitted += usize::from(recommended && !has_folder);
            self.principals
                .push(record(plan, has_folder, analysis, &mut texts));
        }
    }

    /// The summary of every plan added.
    pub fn finish(self) -> RecommendationSummary {
        let mut principals = self.principals;
        // Sorted, and of two plans of one principal the later kept (what a map's insert did).
        crate::memory::sort_stable_by(&mut principals, |a, b| key(a).cmp(&key(b)));
        principals.dedup_by(|later, kept| {
            let same = key(later) == key(kept);
            if same {
                std::mem::swap(later, kept);
            }
            same
        });
        principals.shrink_to_fit();
        RecommendationSummary {
            dir: DIR.into(),
            folders_written: self.written,
            folders_omitted: self.omitted,
            principals,
        }
    }
}

/// The folder path [`RecommendationSummary::get`] gives for plan `i`'s principal once every
/// plan is summarised: that of the last plan of the same principal (the one the summary keeps;
/// plans come in the analysis' order, so they are next to each other), read from the plans
/// themselves. Plans after `i` must not have been released.
pub(crate) fn folder_path(plans: &[PrincipalPlan], folder: &[bool], i: usize) -> Option<String> {
    fn of(p: &PrincipalPlan) -> (&str, PrincipalType, &str) {
        (&p.account_id, p.kind, &p.name)
    }
    let mut last = i;
    while plans
        .get(last + 1)
        .is_some_and(|next| plans.get(i).is_some_and(|p| of(next) == of(p)))
    {
        last += 1;
    }
    let plan = plans.get(last)?;
    super::has_folder(plan, folder, last).then(|| render::principal_path(plan))
}

/// What the summary says of one plan.
fn record(
    plan: &PrincipalPlan,
    has_folder: bool,
    analysis: &Analysis<'_>,
    texts: &mut SharedTexts,
) -> PrincipalRecommendation {
    let o = &plan.outcome;
    let recommended = super::is_recommended(plan);
    let r = PrincipalRecommendation {
        account_id: texts.get(&plan.account_id),
        principal_type: plan.kind,
        principal_name: plan.name.as_str().into(),
        path: has_folder.then(|| render::principal_path(plan).into()),
        folder_omitted: recommended && !has_folder,
        before: o.before,
        after: o.after,
        removed: o.lost.count,
        kept_unknown: o.kept_unknown,
        still_granted: o.still_granted,
        policies: plan
            .policies
            .iter()
            .zip(&o.policies)
            .map(|(p, (removed, _))| PolicySummary {
                name: texts.get(&p.policy.name),
                kind: p.policy.kind,
                arn: p.policy.arn.as_deref().map(|a| texts.get(a)),
                apply: SummaryApply::of(&p.apply, &plan.partition, texts),
                file: (!p.tightened.empty && p.apply != Apply::MergeIntoInline)
                    .then(|| texts.get(&format!("{}.json", p.stem))),
                removed: *removed,
                // Rewritten into an Action list, or kept with its list extended: either wants a
                // human (review pass 47).
                not_action_rewritten: !p.tightened.not_action_rewritten.is_empty()
                    || !p.tightened.parts.not_action_extended.is_empty(),
                size: super::count32(p.size),
                limit: super::count32(p.limit),
            })
            .collect(),
        flags: plan.flags.as_slice().into(),
        skipped: plan.skipped.as_deref().map(|s| texts.get(s)),
        managed_by_permission_set: analysis
            .principals
            .get(plan.analysis_index)
            .filter(|p| p.kind == PrincipalType::Role)
            .and_then(|p| p.permission_set.clone()),
    };
    // What is written is what was planned.
    debug_assert!(
        r.policies
            .iter()
            .zip(&plan.policies)
            .all(|(s, p)| s.apply.apply(&s.name, &r) == p.apply)
    );
    r
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    /// What the summary holds per principal and per policy (~1,000,000 and ~1,850,000 of
    /// them at 1,000,000 roles, to the last writer), and an `Apply` in every plan of a policy.
    #[test]
    fn sizes() {
        use std::mem::size_of;
        assert_eq!(size_of::<crate::recommend::Apply>(), 24);
        assert_eq!(size_of::<super::PolicySummary>(), 88);
        assert_eq!(size_of::<super::PrincipalRecommendation>(), 136);
        // And what planning holds per principal and per policy to its end.
        assert_eq!(size_of::<crate::recommend::Tightened>(), 40);
        // A plan's outcome in 32-bit counts and boxed slices (296 -> 240), a policy's digest
        // boxed and its file stem a boxed `str` (224 -> 192).
        assert_eq!(size_of::<crate::recommend::PolicyPlan>(), 192);
        assert_eq!(size_of::<crate::recommend::PrincipalPlan>(), 240);
        assert_eq!(size_of::<(u32, crate::recommend::Lost)>(), 48);
        // A flag: a boxed sentence, or a policy's index with a copy's number or a version's
        // date (a `String` was 24 bytes and the sentence; the third kind added a tag: 8 bytes
        // more of each flag, ~4 MB at 1,000,000 roles).
        assert_eq!(size_of::<crate::recommend::Flag>(), 24);
    }

    /// Written, a summary's policies say what their plans say, a replacement's name and ARN
    /// included (the summary holds neither: they are made again).
    #[test]
    fn written_policies_say_what_the_plans_say() {
        let (exports, org, an) = crate::sample_organization();
        let planned = crate::recommend::plan_all_organization(&exports, org.as_ref(), &an, None);
        let mut replaced = 0;
        for plan in &planned.plans {
            let Some(r) = planned.summary.get(&plan.account_id, plan.kind, &plan.name) else {
                continue;
            };
            if r.policies.len() != plan.policies.len() {
                continue;
            }
            let json = serde_json::to_value(r).unwrap();
            for (k, p) in plan.policies.iter().enumerate() {
                assert_eq!(
                    json["policies"][k]["apply"],
                    serde_json::to_value(&p.apply).unwrap(),
                    "{} {}",
                    plan.name,
                    p.policy.name
                );
                if let crate::recommend::Apply::Replace(x) = &p.apply {
                    replaced += 1;
                    assert!(x.new_arn.ends_with(&format!(":policy/{}", x.new_name)));
                    assert_eq!(json["policies"][k]["apply"]["new_arn"], x.new_arn.as_str());
                }
            }
        }
        assert!(replaced > 0);
    }

    /// Within a block, every text the summary repeats (account ids, policy names, ARNs, file
    /// names, why a plan was skipped) is one allocation.
    #[test]
    fn a_block_holds_each_repeated_text_once() {
        let (exports, org, an) = crate::sample_organization();
        let planned = crate::recommend::plan_all_organization(&exports, org.as_ref(), &an, None);
        let summary = super::summarise(&planned.plans, &planned.folder, &an);
        let mut texts: HashMap<&str, &Arc<str>> = HashMap::new();
        let mut repeated = 0;
        for p in &summary.principals {
            let policies = p.policies.iter().flat_map(|x| {
                [Some(&x.name), x.arn.as_ref(), x.file.as_ref()]
                    .into_iter()
                    .flatten()
            });
            for t in std::iter::once(&p.account_id)
                .chain(p.skipped.as_ref())
                .chain(policies)
            {
                let first = *texts.entry(&**t).or_insert(t);
                assert!(Arc::ptr_eq(first, t), "{t} is held twice");
                repeated += usize::from(!std::ptr::eq(first, t));
            }
        }
        assert!(
            repeated > summary.principals.len(),
            "{repeated} of {}",
            summary.principals.len()
        );
    }
}
