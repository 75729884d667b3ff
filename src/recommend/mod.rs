//! Recommendations: for each principal, the tightened version of every policy that grants it
//! unused actions, ready to apply with the AWS CLI, with the original kept for rollback.
//!
//! Two steps, as the rest of the crate: [`plan`] decides (pure, no I/O; tests call it directly),
//! [`write_recommendations`] renders the plans into `recommendations/` at the edge.
//!
//! ```text
//! plan.rs      per principal: what to remove, each policy tightened, within IAM's size limits
//! managed.rs   across principals: how each managed policy change is applied
//! quota.rs     the order of a folder's commands within IAM's managed-policy quota
//! permission_set.rs  an IAM Identity Center permission set: one plan for every account
//! verify.rs    every plan re-checked against a slim copy of its part of the export
//! summary.rs   what summary.json and the report say about every principal
//! render.rs    the folders: README (commands, diffs), the documents the commands send;
//!              recommendations/actions.csv
//! tighten.rs   rewriting one document without the removed actions
//! ```
//!
//! Safety (proved by `tests/recommend.rs`, and re-checked by [`verify`] before anything is
//! written): a tightened policy never grants an action the original did not; every action the
//! analysis found `used` or `unknown`, or that an exclusion covers, is still granted; conditions,
//! resources and Deny statements are unchanged. How it works: `docs/recommendations.md`.

pub mod diff;
mod managed;
mod permission_set;
mod plan;
mod quota;
mod render;
mod set_folder;
mod summary;
pub mod tighten;
mod verify;

use std::path::Path;

use serde::Serialize;

use crate::analysis::named::{GrantedActions, NAMED_AT_MOST};
use crate::analysis::{Analysis, BySensitivity, GrantedAction, Sensitivity};
use crate::catalog::ActionSet;
use crate::error::{Error, Result};
use crate::model::{Export, Organization, PrincipalType};
use crate::policy::{PolicyDocument, PolicyRef};

pub use permission_set::verify_permission_set;
pub use plan::{is_removable, plan, plan_organization, replacement_name};
pub use render::{
    ACTIONS_CSV, ACTIONS_HEADER, README, aws_json, commands, decision_file, safe_file_name,
};
pub(crate) use summary::folder_path;
pub use summary::{
    PolicySummary, PrincipalRecommendation, RecommendationSummary, SummaryApply, SummaryBuilder,
    summarise,
};
pub use tighten::{
    Tightened, TightenedDetail, TightenedParts, iam_size, iam_size_of, minimise, tighten,
};
pub use verify::{group_members, substitute, verify};

/// IAM's size limits (characters, whitespace not counted).
pub mod limits {
    /// All inline policies of one role together.
    pub const INLINE_ROLE: usize = 10_240;
    /// All inline policies of one user together.
    pub const INLINE_USER: usize = 2_048;
    /// All inline policies of one group together.
    pub const INLINE_GROUP: usize = 5_120;
    /// An IAM Identity Center permission set's inline policy, as the text sent to
    /// `PutInlinePolicyToPermissionSet` (characters, whitespace counted). Identity Center puts it
    /// on every account's role as its only inline policy, so [`INLINE_ROLE`] applies too.
    pub const INLINE_PERMISSION_SET: usize = 32_768;
    /// One managed policy version.
    pub const MANAGED: usize = 6_144;
}

/// The folder, under the report's output folder, that holds every recommendation.
pub const DIR: &str = "recommendations";

/// How a tightened policy is applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Apply {
    /// `put-<type>-policy` with the tightened inline document.
    PutInline,
    /// The inline policy grants nothing the principal keeps: `delete-<type>-policy`.
    DeleteInline,
    /// Customer-managed policy only this principal uses (or every principal it is attached to
    /// would get the same document): `create-policy-version --set-as-default`.
    NewVersion {
        /// The default version before the change, for rollback (`set-default-policy-version`).
        previous_default: Option<Box<str>>,
    },
    /// AWS managed policy, or a customer-managed policy that others use differently: a new
    /// customer-managed policy for this principal alone, attached, then the original detached.
    /// Boxed, so that an `Apply` takes 24 bytes (48 with the names inline) in every plan and
    /// summary of a policy (~1.85 million of each at 1,000,000 roles).
    Replace(Box<Replacement>),
    /// The managed policy grants nothing the principal keeps: `detach-<type>-policy`.
    Detach,
    /// An AWS managed policy of a permission set that grants actions to remove: detached, and the
    /// statements it keeps merged into the set's tightened inline policy (Identity Center has no
    /// per-set copy of a managed policy).
    MergeIntoInline,
}

/// The policy that replaces a managed one ([`Apply::Replace`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Replacement {
    pub new_name: String,
    pub new_arn: String,
    /// The number that sets the name apart from a policy the account already has (0: none, the
    /// name is [`plan::replacement_name`]'s): what a summary holds to make the name again.
    #[serde(skip)]
    pub number: u16,
}

impl Replacement {
    /// The copy of managed policy `policy` made for principal `principal` of account
    /// `account_id` in `partition`: a name IAM accepts ([`plan::replacement_name`]) and its ARN.
    pub fn of(policy: &str, principal: &str, partition: &str, account_id: &str) -> Replacement {
        Replacement::numbered(policy, principal, partition, account_id, 0)
    }

    /// [`Replacement::of`], its name set apart by number `number`
    /// ([`plan::numbered_replacement_name`]).
    pub fn numbered(
        policy: &str,
        principal: &str,
        partition: &str,
        account_id: &str,
        number: u16,
    ) -> Replacement {
        let new_name = plan::numbered_replacement_name(policy, principal, number);
        let new_arn = format!("arn:{partition}:iam::{account_id}:policy/{new_name}");
        Replacement {
            new_name,
            new_arn,
            number,
        }
    }
}

impl Apply {
    pub fn as_str(&self) -> &'static str {
        match self {
            Apply::PutInline => "put_inline",
            Apply::DeleteInline => "delete_inline",
            Apply::NewVersion { .. } => "new_version",
            Apply::Replace(_) => "replace",
            Apply::Detach => "detach",
            Apply::MergeIntoInline => "merge_into_inline",
        }
    }
}

/// One policy of a principal that changes.
#[derive(Debug, Clone)]
pub struct PolicyPlan {
    pub policy: PolicyRef,
    pub tightened: Tightened,
    /// [`PolicyPlan::original`] and [`PolicyPlan::new_document`], apart from the plan: a plan
    /// without a folder drops them and keeps a null pointer instead of two documents' room
    /// (~240 bytes of each of ~185,000 policy plans at 100,000 roles). `None` once dropped.
    documents: Option<Box<PolicyDocuments>>,
    pub apply: Apply,
    /// File name stem inside the principal's folder (`inline-<name>`, `managed-<name>`,
    /// `aws-managed-<name>`), made safe and unique.
    pub stem: Box<str>,
    /// IAM size of the tightened document.
    pub size: usize,
    /// The limit it is measured against (for inline policies, what is left of the principal's
    /// aggregate limit after its other inline policies).
    pub limit: usize,
    /// For a customer managed policy, the SHA-256 of the tightened document as compact JSON, set
    /// when the plan is verified (zero for the others): what `decide_managed` compares across
    /// principals, so that the documents themselves need not be
    /// kept (see [`PrincipalPlan::documents_dropped`]).
    pub tightened_digest: Digest,
}

/// [`PolicyPlan::tightened_digest`]: a customer managed policy's (boxed: inline, 32 bytes of
/// every policy's plan, ~1.85 million at 1,000,000 roles, most of which are not customer
/// managed), else none, which reads as zeros.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Digest(Option<Box<[u8; 32]>>);

impl Digest {
    pub fn of(bytes: [u8; 32]) -> Digest {
        Digest(Some(Box::new(bytes)))
    }

    /// The digest, zeros when there is none.
    pub fn get(&self) -> [u8; 32] {
        self.0.as_deref().copied().unwrap_or([0; 32])
    }
}

/// The documents of a [`PolicyPlan`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicyDocuments {
    /// A managed policy's is the export's own (shared: an AWS managed policy attached to
    /// thousands of principals was copied into each of their plans); an inline policy's a copy.
    pub original: std::sync::Arc<PolicyDocument>,
    /// The tightened document, parsed back (what the verification expands). Empty after
    /// [`Planned::drop_verification_inputs`], which also drops the parsed statements of an
    /// `original` that is the plan's own (its `raw` document stays: a folder writes it).
    pub new_document: PolicyDocument,
}

impl PolicyPlan {
    /// The policy's document as the export has it (empty once the plan's documents are
    /// dropped).
    pub fn original(&self) -> &PolicyDocument {
        &self.documents().original
    }

    /// The tightened document, parsed back (empty once dropped: see [`PolicyDocuments`]).
    pub fn new_document(&self) -> &PolicyDocument {
        &self.documents().new_document
    }

    fn documents(&self) -> &PolicyDocuments {
        static NONE: std::sync::LazyLock<PolicyDocuments> =
            std::sync::LazyLock::new(PolicyDocuments::default);
        self.documents.as_deref().unwrap_or(&NONE)
    }

    /// The documents, to change (made empty first if they were dropped).
    pub fn documents_mut(&mut self) -> &mut PolicyDocuments {
        self.documents.get_or_insert_default()
    }

    /// Drops both documents.
    fn drop_documents(&mut self) {
        self.documents = None;
    }
}

/// Everything decided for one principal.
#[derive(Debug, Clone)]
pub struct PrincipalPlan {
    pub account_id: std::sync::Arc<str>,
    pub partition: String,
    pub kind: PrincipalType,
    pub name: String,
    /// Index into `Analysis::principals`.
    pub analysis_index: usize,
    /// The plan's catalog-wide sets ([`Sets`]), boxed apart from the plan and dropped whole
    /// once it is verified when [`PrincipalPlan::documents_dropped`].
    pub sets: PlanSets,
    pub policies: Vec<PolicyPlan>,
    /// Set when no recommendation is made, with why.
    pub skipped: Option<String>,
    /// Things a human must look at, in plain words ([`PrincipalPlan::flag_texts`]).
    pub flags: Vec<Flag>,
    /// For an IAM Identity Center permission set: what its commands and README need. Boxed:
    /// inline it took 176 bytes of every plan, nearly all of which have none.
    pub permission_set: Option<Box<PermissionSetTarget>>,
    /// What the report reads of the sets once the plan is verified (see [`PlanOutcome`]).
    pub outcome: PlanOutcome,
    /// True when the plan will get no folder and its policies' documents (`original`,
    /// `new_document` and `tightened.parts`) and its sets (`remove`, `needed`, `before`,
    /// `after`) were dropped once it was verified: everything after planning that is not a
    /// folder reads only [`Self::outcome`], names and counts (see `plan_all_organization`).
    pub documents_dropped: bool,
}

/// Something a human must look at before applying a recommendation: a sentence, or one held as
/// a kind and rendered when read (the most frequent: at 1,000,000 roles ~500,000 sentences of
/// ~190 bytes each, held from planning to the last writer, issue 18).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flag {
    Text(Box<str>),
    /// Policy `policy` of the plan (and of its summary), a customer managed policy that other
    /// principals use with different actions or as a permissions boundary, is replaced by this
    /// principal's own copy ([`Apply::Replace`], its name set apart by `number`:
    /// [`Replacement::numbered`]).
    OwnCopy {
        policy: u32,
        number: u16,
    },
    /// Policy `policy` of the plan, a managed policy whose newest version AWS dates within the
    /// window (`UpdateDate`, on `date`) and whose export lacks some of its earlier versions: an
    /// action added after one of those had less than the window to be used, so "unused" may only
    /// mean "new". Its decision's evidence says so too.
    RecentVersion {
        policy: u32,
        date: crate::model::Timestamp,
    },
}

impl From<String> for Flag {
    fn from(text: String) -> Flag {
        Flag::Text(text.into())
    }
}

impl Flag {
    /// The flag in words, for principal `principal` of `account_id`, whose policy `i` is named
    /// and (when replaced by a copy) in the partition `policy(i)` says (`None` when there is no
    /// such policy: never for a flag the plan made, and then the flag says nothing rather than
    /// something wrong).
    fn text<'a>(
        &'a self,
        policy: impl FnOnce(usize) -> Option<(&'a str, Option<&'a str>)>,
        principal: &str,
        account_id: &str,
    ) -> Option<std::borrow::Cow<'a, str>> {
        match self {
            Flag::Text(text) => Some(std::borrow::Cow::Borrowed(text)),
            Flag::OwnCopy { policy: i, number } => {
                let (name, partition) = policy(*i as usize)?;
                let partition = partition?;
                let copy =
                    Replacement::numbered(name, principal, partition, account_id, *number).new_name;
                Some(std::borrow::Cow::Owned(own_copy_note(name, &copy)))
            }
            Flag::RecentVersion { policy: i, date } => {
                let (name, _) = policy(*i as usize)?;
                Some(std::borrow::Cow::Owned(recent_version_note(name, *date)))
            }
        }
    }
}

/// The words of [`Flag::RecentVersion`]: managed policy `policy`'s newest version is of `date`,
/// and the export lacks some of its earlier versions.
pub(crate) fn recent_version_note(policy: &str, date: crate::model::Timestamp) -> String {
    format!(
        "{policy}: its newest version dates from {}, within the window, and the export lacks some \
         of its earlier versions (deleted): an action added since one of those had less than the \
         window to be used, so check that what this removes is not simply new",
        date.format("%Y-%m-%d")
    )
}

/// The words of [`Flag::OwnCopy`]: customer managed policy `policy` replaced by `copy`.
fn own_copy_note(policy: &str, copy: &str) -> String {
    format!(
        "{policy}: shared, and a new version would change the other principals too (some need \
         different actions, hold it as intentional access, use it as a permissions boundary, or \
         are not in the export), so this principal gets its own copy {copy}"
    )
}

impl PrincipalPlan {
    /// [`Self::flags`] in words, in order.
    pub fn flag_texts(&self) -> impl Iterator<Item = std::borrow::Cow<'_, str>> {
        self.flags.iter().filter_map(|f| {
            f.text(
                |i| Some((&*self.policies.get(i)?.policy.name, Some(&*self.partition))),
                &self.name,
                &self.account_id,
            )
        })
    }

    /// Adds a flag in words.
    pub fn flag(&mut self, text: String) {
        self.flags.push(text.into());
    }
}

/// The sets a plan is made from and verified against.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sets {
    /// Unused, not excluded findings (for a group: only those every member agrees on). Empty
    /// after [`Planned::drop_verification_inputs`].
    pub remove: ActionSet,
    /// Used, unknown and excluded findings: must stay granted. Empty (of no catalog) when
    /// `remove` is.
    pub needed: ActionSet,
    pub before: ActionSet,
    /// Effective grants with the tightened documents substituted.
    pub after: ActionSet,
}

/// A plan's [`Sets`], apart from the plan ([`Apart`]): inline, the four sets took 128 of a
/// plan's 416 bytes after every plan without a folder had emptied them (~1,000,000 plans held
/// to the end of planning at 1,000,000 roles).
pub type PlanSets = Apart<Sets>;

impl Empty for Sets {
    fn empty() -> &'static Sets {
        static NONE: std::sync::LazyLock<Sets> = std::sync::LazyLock::new(Sets::default);
        &NONE
    }
}

/// A type with an empty value to read in place of a dropped one ([`Apart`]).
pub trait Empty: 'static {
    fn empty() -> &'static Self;
}

/// A part of a plan held apart from it, so that dropping it ([`Apart::drop_all`]) gives back its
/// room too: read as its [`Empty`] value once dropped, made again (empty first) when changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Apart<T>(Option<Box<T>>);

impl<T> Apart<T> {
    pub fn new(value: T) -> Apart<T> {
        Apart(Some(Box::new(value)))
    }

    /// Drops the value and its room.
    pub fn drop_all(&mut self) {
        self.0 = None;
    }

    /// Whether the value was dropped.
    pub fn dropped(&self) -> bool {
        self.0.is_none()
    }
}

impl<T: Empty> std::ops::Deref for Apart<T> {
    type Target = T;

    fn deref(&self) -> &T {
        match self.0.as_deref() {
            Some(value) => value,
            None => T::empty(),
        }
    }
}

impl<T: Empty + Default> std::ops::DerefMut for Apart<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.0.get_or_insert_default()
    }
}

/// What the summary and the decisions read of a verified plan's sets: counts, and what each
/// change takes away ([`Lost`]). Kept compactly because a plan without a folder drops the sets
/// themselves: four or more catalog-wide bitsets per plan were most of the planning stage's
/// memory at 100,000 roles, and the sets of what each change takes away (~0.15 GB there, kept
/// whole until the decisions read them) are now the few figures the decisions read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
///
/// Every figure counts actions of one principal, at most the catalog's (below 2^25,
/// `catalog::MAX_ACTIONS`): 32 bits (with `u64`s and vectors an outcome took 128 bytes and each
/// of its policies' 80, in every plan to the end of planning: at 1,000,000 roles ~0.13 GB more).
pub struct PlanOutcome {
    /// Actions granted before and after the change.
    pub before: u32,
    pub after: u32,
    /// Unused actions still granted after it (through policies the plan does not change).
    pub still_granted: u32,
    /// Unknown actions, kept granted.
    pub kept_unknown: u32,
    /// Granted before and not after.
    pub lost: Lost,
    /// Per policy of [`PrincipalPlan::policies`], in order: how many actions its tightened
    /// document removes, and those of them the principal loses.
    pub policies: Box<[(u32, Lost)]>,
}

/// The actions a change takes away from a principal, as the decisions read them: how many, and
/// of those its findings hold that no SCP blocks, how many have each sensitivity and the first
/// critical and high ones ([`Analysis::top_risky`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lost {
    pub count: u32,
    pub by_sensitivity: BySensitivity<u32>,
    /// The first [`NAMED_AT_MOST`] critical and high actions, most sensitive first, then by name.
    pub risky: Box<[GrantedAction]>,
    /// How many critical and high actions there are in all.
    pub risky_total: u32,
}

/// A count of one principal's actions (at most the catalog's: below 2^25) or an IAM size in 32
/// bits; a value past `u32::MAX` (none an export can make) is held as `u32::MAX`.
pub(crate) fn count32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Lost {
    /// What removing `set` from `granted` takes away; `blocked`: the actions an SCP blocks,
    /// counted in `count` only.
    fn of(
        set: &ActionSet,
        granted: &GrantedActions,
        analysis: &Analysis<'_>,
        blocked: Option<&ActionSet>,
    ) -> Lost {
        let mut by_sensitivity = BySensitivity::default();
        // Only the critical and high ones are named: the others are counted as they pass.
        let mut high = Vec::new();
        granted.for_each_in_set(set, |a| {
            if blocked.is_some_and(|b| b.contains(a.id())) {
                return;
            }
            by_sensitivity.add_one(a.sensitivity());
            if a.sensitivity() >= Sensitivity::High {
                high.push(a);
            }
        });
        let (risky, total) = analysis.top_risky(&high, NAMED_AT_MOST);
        Lost {
            count: count32(set.len()),
            by_sensitivity: by_sensitivity.narrow(),
            risky: risky.into_boxed_slice(),
            risky_total: count32(total),
        }
    }
}

impl PlanOutcome {
    /// The outcome of a verified plan, from its sets (`kept_unknown` was counted when the plan
    /// was made) and the analysis' findings of its principal.
    pub fn of(plan: &PrincipalPlan, analysis: &Analysis<'_>) -> PlanOutcome {
        let mut lost = plan.sets.before.clone();
        lost.difference_with(&plan.sets.after);
        let mut still = plan.sets.remove.clone();
        still.intersect_with(&plan.sets.after);
        let granted = if lost.is_empty() && plan.policies.is_empty() {
            GrantedActions::default()
        } else {
            analysis.granted_actions(plan.analysis_index)
        };
        // Removing what an SCP blocks is hygiene, not risk removed: it weighs nothing in a
        // decision's sensitivity and rank, as in the principal's scores (review pass 47).
        let blocked = analysis.blocked_of(plan.analysis_index);
        PlanOutcome {
            before: count32(plan.sets.before.len()),
            after: count32(plan.sets.after.len()),
            still_granted: count32(still.len()),
            kept_unknown: plan.outcome.kept_unknown,
            policies: plan
                .policies
                .iter()
                .map(|p| {
                    let mut gone = p.tightened.parts.removed.clone();
                    gone.intersect_with(&lost);
                    (
                        count32(p.tightened.parts.removed.len()),
                        Lost::of(&gone, &granted, analysis, blocked.as_ref()),
                    )
                })
                .collect(),
            lost: Lost::of(&lost, &granted, analysis, blocked.as_ref()),
        }
    }
}

/// The permission set a plan changes (applied with `aws sso-admin`, for every account at once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionSetTarget {
    pub arn: String,
    /// `arn:<partition>:sso:::instance/<ssoins-…>`.
    pub instance_arn: String,
    /// The Identity Center region, read from the path of the set's roles
    /// (`/aws-reserved/sso.amazonaws.com/<region>/`); `None` when no role's path names one.
    pub region: Option<String>,
    /// Accounts the set is provisioned to (provisioning rewrites the role in each).
    pub accounts: Vec<String>,
    /// Provisioned accounts whose export is among the inputs.
    pub accounts_in_exports: Vec<String>,
    /// The account whose customer managed policies and role the verification used.
    pub reference_account: String,
    /// Whether the set had an inline policy (rollback puts it back, or deletes the new one).
    pub had_inline: bool,
    /// The set's inline policy text as Identity Center returned it: `inline-policy.original.json`,
    /// which the rollback sends back byte for byte (`None`: the export held a JSON object).
    pub inline_text: Option<String>,
    /// AWS managed policies whose kept statements were merged into the inline policy, with the
    /// positions of those statements in it (`start..end`).
    pub merged: Vec<(String, std::ops::Range<usize>)>,
}

/// Writes `recommendations/<account_id>/<principal_type>/<principal_name>/` for every principal
/// with something to remove, plus `recommendations/summary.json`. The folder is built aside and
/// renamed into place, replacing the previous run's.
pub fn write_recommendations(
    exports: &[Export],
    analysis: &Analysis<'_>,
    out_dir: &Path,
) -> Result<RecommendationSummary> {
    write_recommendations_organization(exports, None, analysis, out_dir)
}

/// [`write_recommendations`] with the organisation part the analysis ran with: its IAM Identity
/// Center permission sets get a recommendation of their own.
pub fn write_recommendations_organization(
    exports: &[Export],
    organization: Option<&Organization>,
    analysis: &Analysis<'_>,
    out_dir: &Path,
) -> Result<RecommendationSummary> {
    let planned = plan_all_organization(exports, organization, analysis, None);
    planned.write(analysis, out_dir)?;
    Ok(planned.summary)
}

/// Every principal's plan and their summary: what `write_recommendations` writes, computed
/// without writing (the report can render while the folders are written).
pub struct Planned {
    pub plans: Vec<PrincipalPlan>,
    /// Per plan: whether its folder is written (see `plan_all`'s `folders`).
    pub folder: Vec<bool>,
    pub summary: RecommendationSummary,
}

impl Planned {
    /// Writes `recommendations/` (see [`write_recommendations`]).
    pub fn write(&self, analysis: &Analysis<'_>, out_dir: &Path) -> Result<()> {
        render::write(&self.plans, &self.folder, analysis, &self.summary, out_dir)
    }

    /// Frees what the plans of `range` that get no folder hold (their policies, flags, names and
    /// outcome) once their decisions are made; [`Planned::keep_only_folders`] then drops them.
    /// `decisions::decide_releasing` calls it a block at a time, so that the plans without a
    /// folder and the decisions made of them are never all held at once.
    pub fn release_without_folder(&mut self, range: std::ops::Range<usize>) {
        release_without_folder(&mut self.plans, &self.folder, range);
    }

    /// Keeps only the plans whose folder is written, once the decisions are made: from then on
    /// only [`Planned::write`] reads plans, and it writes only those; the summary keeps what
    /// summary.json and the report say of every plan. At 100,000 roles the plans without a
    /// folder (their names, policies and the sets of what each change removes) were ~0.4 GB
    /// held through the writers. Folders and summary are the same either way (`tests/recommend.rs`).
    pub fn keep_only_folders(&mut self) {
        keep_only_folders(&mut self.plans, &mut self.folder);
    }

    /// Drops what only planning and verification read, once they are done: every policy's
    /// tightened document parsed back (`new_document`), the parsed statements of its original
    /// (`original.raw`, which a folder writes, stays) and `tightened.parts.rewritten`, and each
    /// plan's `needed` and `remove` sets. The folders, the summary and the decisions read none of
    /// them (`tests/recommend.rs` writes the folders both ways and compares); checks of a plan
    /// that verify it again need them, so library callers keep them unless they call this.
    /// `report` calls it after planning: at 10,000 roles its peak is 20–50 MB lower (~3%), with the
    /// default 1,000 folders and with `--recommendations all` alike.
    pub fn drop_verification_inputs(&mut self) {
        for plan in &mut self.plans {
            drop_verification_inputs(plan);
        }
    }
}

/// Whether a plan changes anything (it is recommended; within the folder cap, it gets a folder).
pub(super) fn is_recommended(plan: &PrincipalPlan) -> bool {
    plan.skipped.is_none() && !plan.policies.is_empty()
}

/// [`Planned::keep_only_folders`] of `plans`, whose folders `folder` says (then every one).
pub(crate) fn keep_only_folders(plans: &mut Vec<PrincipalPlan>, folder: &mut Vec<bool>) {
    let all = std::mem::take(plans);
    let given = std::mem::take(folder);
    *plans = all
        .into_iter()
        .enumerate()
        .filter(|(i, plan)| has_folder(plan, &given, *i))
        .map(|(_, plan)| plan)
        .collect();
    // The collect reuses the vector of every plan (in place): at 300 accounts × 100 roles
    // 19 MiB held through the writers for the 1,000 plans kept.
    plans.shrink_to_fit();
    *folder = vec![true; plans.len()];
}

/// [`Planned::release_without_folder`] of `plans`, whose folders `folder` says.
pub(crate) fn release_without_folder(
    plans: &mut [PrincipalPlan],
    folder: &[bool],
    range: std::ops::Range<usize>,
) {
    let start = range.start;
    let end = range.end.min(plans.len());
    for (k, plan) in plans[start.min(end)..end].iter_mut().enumerate() {
        if has_folder(plan, folder, start + k) {
            continue;
        }
        // Its documents and action sets went when planning gave it no folder.
        plan.policies = Vec::new();
        plan.flags = Vec::new();
        plan.permission_set = None;
        plan.outcome = PlanOutcome::default();
        // (Its account id is the analysis' shared text: nothing to free.)
        plan.partition = String::new();
        plan.name = String::new();
        plan.skipped = None;
    }
}

/// Whether plan `i` of `folder`'s plans gets its folder written (a plan past the end of
/// `folder` does, when recommended).
pub(super) fn has_folder(plan: &PrincipalPlan, folder: &[bool], i: usize) -> bool {
    is_recommended(plan) && folder.get(i).copied().unwrap_or(true)
}

/// [`Planned::drop_verification_inputs`] of one plan.
fn drop_verification_inputs(plan: &mut PrincipalPlan) {
    for p in &mut plan.policies {
        if let Some(d) = &mut p.documents {
            d.new_document = PolicyDocument::default();
            // A shared original (a managed policy's) costs this plan nothing.
            if let Some(own) = std::sync::Arc::get_mut(&mut d.original) {
                own.statements = Vec::new();
            }
        }
        // A plan whose parts are dropped has nothing to drop (and gets no new parts).
        if !p.tightened.parts.dropped() {
            p.tightened.parts.rewritten = Vec::new();
        }
    }
    plan.sets.needed = ActionSet::default();
    plan.sets.remove = ActionSet::default();
}

/// Plans every principal and summarises the plans. `folders` caps how many principals get a
/// folder (`None`: all): those with the highest score, ties by account, type and name. The
/// others keep their summary (in summary.json and the report) with `folder_omitted`.
pub fn plan_all(exports: &[Export], analysis: &Analysis<'_>, folders: Option<usize>) -> Planned {
    plan_all_organization(exports, None, analysis, folders)
}

/// [`plan_all`] with the organisation part the analysis ran with
/// (`analysis::analyze_organization`): each IAM Identity Center permission set is planned as one
/// change for every account it is provisioned to, and its roles point to it.
pub fn plan_all_organization(
    exports: &[Export],
    organization: Option<&Organization>,
    analysis: &Analysis<'_>,
    folders: Option<usize>,
) -> Planned {
    let exports = plan::PlanExports::Borrowed(exports);
    // Borrowed exports are never read again: planning them cannot fail.
    let (plans, folder) = plan::plan_with_folders(
        exports,
        organization,
        analysis,
        folders,
        None,
        &mut |_, _| {},
    )
    .unwrap_or_default();
    planned(plans, folder, analysis)
}

/// [`plan_all_organization`] followed by [`Planned::drop_verification_inputs`], each plan
/// dropping them as soon as it is verified rather than once every plan is made, and each export
/// freed once its principals' plans are made (planning goes export by export): what `report`
/// runs. The plans that get a folder keep their documents, and at the end of planning their
/// parsed copies were the larger part of what planning held (~0.14 GB at 10,000 roles). The plans are not
/// summarised ([`Plans`]): `decisions::decide_releasing` summarises them a block at a time as it
/// frees them ([`Plans::summarise`] does it in one go).
///
/// Exports whose principals and policies the analysis dropped (`input::LoadOptions::keep_details`)
/// are read again a batch at a time; `visit` sees every export once, by index, while it holds
/// them (`report` finds the identity findings there,
/// `analysis::identities::IdentityCollector`). An export file changed since it was loaded is the
/// error.
pub fn plan_all_organization_slim(
    exports: Vec<Export>,
    organization: Option<&Organization>,
    analysis: &Analysis<'_>,
    folders: Option<usize>,
    visit: &mut dyn FnMut(usize, &Export),
) -> crate::error::Result<Plans> {
    let hook = drop_verification_inputs as fn(&mut PrincipalPlan);
    let exports = plan::PlanExports::Owned(exports);
    let (plans, folder) =
        plan::plan_with_folders(exports, organization, analysis, folders, Some(hook), visit)?;
    crate::memory::release("after_planning");
    Ok(Plans { plans, folder })
}

/// Every plan made and verified, not yet summarised ([`plan_all_organization_slim`]): at
/// 1,000,000 roles the summary of every plan (~1 GB) built beside every plan was the run's
/// peak.
#[derive(Debug, Clone)]
pub struct Plans {
    /// In the analysis' order.
    pub plans: Vec<PrincipalPlan>,
    /// Per plan: whether its folder is written.
    pub folder: Vec<bool>,
}

impl Plans {
    /// The plans with their summary.
    pub fn summarise(self, analysis: &Analysis<'_>) -> Planned {
        planned(self.plans, self.folder, analysis)
    }
}

fn planned(plans: Vec<PrincipalPlan>, folder: Vec<bool>, analysis: &Analysis<'_>) -> Planned {
    let summary = summarise(&plans, &folder, analysis);
    Planned {
        plans,
        folder,
        summary,
    }
}

pub(crate) fn write_error(path: &Path, source: std::io::Error) -> Error {
    Error::write(path, source)
}

#[cfg(test)]
mod tests {
    use super::{PlanSets, Sets};
    use crate::catalog::Catalog;

    /// A part held apart reads as what it holds, as empty once dropped, and is made again
    /// (empty first) when changed after that.
    #[test]
    fn a_part_held_apart_reads_empty_once_dropped() {
        let c = Catalog::embedded();
        let a = c.lookup_full("s3:GetObject").unwrap();
        let mut one = c.empty_set();
        one.insert(a);
        let mut sets = PlanSets::new(Sets {
            remove: one.clone(),
            ..Sets::default()
        });
        assert!(sets.remove.contains(a) && !sets.dropped());
        sets.drop_all();
        assert!(sets.dropped() && sets.remove.is_empty() && sets.after.is_empty());
        assert_eq!(sets, PlanSets::default());
        sets.after = one;
        assert!(!sets.dropped() && sets.after.contains(a) && sets.remove.is_empty());
    }
}
