//! Recommendations: for each principal, the tightened version of every policy that grants it
//! unused actions, ready to apply with the AWS CLI, with the original kept for rollback.
//!
//! Two steps, as the rest of the crate: [`plan`] decides (pure, no I/O; tests call it directly),
//! [`write_recommendations`] renders the plans into `recommendations/` at the edge.
//!
//! ```text
//! plan.rs      per principal: what to remove, each policy tightened, within IAM's size limits
//! managed.rs   across principals: how each managed policy change is applied
//! verify.rs    every plan re-checked against a slim copy of its part of the export
//! summary.rs   what summary.json and the report say about every principal
//! render.rs    the folders: documents, diffs, commands, README, actions.csv
//! tighten.rs   rewriting one document without the removed actions
//! ```
//!
//! Safety (proved by `tests/recommend.rs`, and re-checked by [`verify`] before anything is
//! written): a tightened policy never grants an action the original did not; every action the
//! analysis found `used` or `unknown`, or that an exclusion covers, is still granted; conditions,
//! resources and Deny statements are unchanged. How it works: `docs/recommendations.md`.

pub mod diff;
mod managed;
mod plan;
mod render;
mod summary;
pub mod tighten;
mod verify;

use std::path::Path;

use serde::Serialize;

use crate::analysis::Analysis;
use crate::catalog::ActionSet;
use crate::error::{Error, Result};
use crate::model::{Export, PrincipalType};
use crate::policy::{PolicyDocument, PolicyRef};

pub use plan::{is_removable, plan, replacement_name};
pub use render::{aws_json, commands, safe_file_name};
pub use summary::{
    PolicySummary, PrincipalKey, PrincipalRecommendation, RecommendationSummary, summarise,
};
pub use tighten::{Tightened, iam_size, minimise, tighten};
pub use verify::{group_members, slim_export, substitute, verify};

/// IAM's size limits (characters, whitespace not counted).
pub mod limits {
    /// All inline policies of one role together.
    pub const INLINE_ROLE: usize = 10_240;
    /// All inline policies of one user together.
    pub const INLINE_USER: usize = 2_048;
    /// All inline policies of one group together.
    pub const INLINE_GROUP: usize = 5_120;
    /// An IAM Identity Center permission set's inline policy (characters).
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
        previous_default: Option<String>,
    },
    /// AWS managed policy, or a customer-managed policy that others use differently: a new
    /// customer-managed policy for this principal alone, attached, then the original detached.
    Replace { new_name: String, new_arn: String },
    /// The managed policy grants nothing the principal keeps: `detach-<type>-policy`.
    Detach,
}

impl Apply {
    pub fn as_str(&self) -> &'static str {
        match self {
            Apply::PutInline => "put_inline",
            Apply::DeleteInline => "delete_inline",
            Apply::NewVersion { .. } => "new_version",
            Apply::Replace { .. } => "replace",
            Apply::Detach => "detach",
        }
    }
}

/// One policy of a principal that changes.
#[derive(Debug, Clone)]
pub struct PolicyPlan {
    pub policy: PolicyRef,
    pub original: PolicyDocument,
    pub tightened: Tightened,
    /// The tightened document, parsed back (what the verification expands).
    pub new_document: PolicyDocument,
    pub apply: Apply,
    /// File name stem inside the principal's folder (`inline-<name>`, `managed-<name>`,
    /// `aws-managed-<name>`), made safe and unique.
    pub stem: String,
    /// IAM size of the tightened document.
    pub size: usize,
    /// The limit it is measured against (for inline policies, what is left of the principal's
    /// aggregate limit after its other inline policies).
    pub limit: usize,
}

/// Everything decided for one principal.
#[derive(Debug, Clone)]
pub struct PrincipalPlan {
    pub account_id: String,
    pub partition: String,
    pub kind: PrincipalType,
    pub name: String,
    /// Index into `Analysis::principals`.
    pub analysis_index: usize,
    /// Unused, not excluded findings (for a group: only those every member agrees on).
    pub remove: ActionSet,
    /// Used, unknown and excluded findings: must stay granted.
    pub needed: ActionSet,
    pub before: ActionSet,
    /// Effective grants with the tightened documents substituted.
    pub after: ActionSet,
    pub policies: Vec<PolicyPlan>,
    /// Set when no recommendation is made, with why.
    pub skipped: Option<String>,
    /// Things a human must look at, in plain words.
    pub flags: Vec<String>,
}

/// Writes `recommendations/<account_id>/<principal_type>/<principal_name>/` for every principal
/// with something to remove, plus `recommendations/summary.json`. The folder is built aside and
/// renamed into place, replacing the previous run's.
pub fn write_recommendations(
    exports: &[Export],
    analysis: &Analysis<'_>,
    out_dir: &Path,
) -> Result<RecommendationSummary> {
    let planned = plan_all(exports, analysis, None);
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
}

/// Plans every principal and summarises the plans. `folders` caps how many principals get a
/// folder (`None`: all): those with the highest score, ties by account, type and name. The
/// others keep their summary (in summary.json and the report) with `folder_omitted`.
pub fn plan_all(exports: &[Export], analysis: &Analysis<'_>, folders: Option<usize>) -> Planned {
    let plans = plan(exports, analysis);
    let mut candidates: Vec<usize> = (0..plans.len())
        .filter(|i| plans[*i].skipped.is_none() && !plans[*i].policies.is_empty())
        .collect();
    candidates.sort_by(|a, b| {
        let (pa, pb) = (&plans[*a], &plans[*b]);
        let score = |p: &PrincipalPlan| analysis.principals[p.analysis_index].score;
        score(pb).cmp(&score(pa)).then_with(|| {
            (&pa.account_id, pa.kind, &pa.name).cmp(&(&pb.account_id, pb.kind, &pb.name))
        })
    });
    let mut folder = vec![false; plans.len()];
    for i in candidates.into_iter().take(folders.unwrap_or(usize::MAX)) {
        folder[i] = true;
    }
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
