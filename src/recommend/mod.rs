//! Recommendations: for each principal, the tightened version of every policy that grants it
//! unused actions, ready to apply with the AWS CLI, with the original kept for rollback.
//!
//! Two steps, as the rest of the crate: [`plan`] decides (pure, no I/O; tests call it directly),
//! [`write_recommendations`] renders the plans into `recommendations/` at the edge.
//!
//! Safety (proved by `tests/recommend.rs`, and re-checked by [`verify`] before anything is
//! written): a tightened policy never grants an action the original did not; every action the
//! analysis found `used` or `unknown`, or that an exclusion covers, is still granted; conditions,
//! resources and Deny statements are unchanged. How it works: `docs/recommendations.md`.

pub mod diff;
mod render;
pub mod tighten;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use serde::{Serialize, Serializer};

use crate::analysis::{Analysis, Finding, PrincipalInfo, Status};
use crate::catalog::ActionSet;
use crate::error::{Error, Result};
use crate::model::{Export, Principal, PrincipalType};
use crate::policy::{
    Expander, GrantCache, PolicyDocument, PolicyKind, PolicyRef, PrincipalGrants, principal_grants,
    principal_grants_cached,
};

pub use render::{aws_json, commands, safe_file_name};
pub use tighten::{Tightened, iam_size, minimise, tighten};

/// IAM's size limits (characters, whitespace not counted).
pub mod limits {
    /// All inline policies of one role together.
    pub const INLINE_ROLE: usize = 10_240;
    /// All inline policies of one user together.
    pub const INLINE_USER: usize = 2_048;
    /// All inline policies of one group together.
    pub const INLINE_GROUP: usize = 5_120;
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

/// What to do with one policy, for the summary.
#[derive(Debug, Clone, Serialize)]
pub struct PolicySummary {
    pub name: String,
    pub kind: PolicyKind,
    pub arn: Option<String>,
    pub apply: Apply,
    /// The tightened document, relative to the principal's folder (absent when the policy goes).
    pub file: Option<String>,
    /// Actions this policy stops granting.
    pub removed: u64,
    pub not_action_rewritten: bool,
    pub size: usize,
    pub limit: usize,
}

/// The recommendation for one principal, for the HTML report and `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct PrincipalRecommendation {
    pub account_id: String,
    pub principal_type: PrincipalType,
    pub principal_name: String,
    /// The principal's folder relative to the output folder, `/`-separated; `None` when nothing
    /// is recommended or its folder was not written (`folder_omitted`).
    pub path: Option<String>,
    /// A recommendation exists, but `--recommendations` limited the folders written and this
    /// principal's score was below the cut.
    pub folder_omitted: bool,
    /// Effective granted actions before and after the change.
    pub before: u64,
    pub after: u64,
    /// Unused actions the recommendation removes.
    pub removed: u64,
    /// Actions kept because their use is unknown.
    pub kept_unknown: u64,
    /// Unused actions still granted after the change (through a group, or a policy left as is).
    pub still_granted: u64,
    pub policies: Vec<PolicySummary>,
    pub flags: Vec<String>,
    /// Why there is no recommendation (`service_linked`, `nothing_to_remove`, ...).
    pub skipped: Option<String>,
}

/// `(account_id, principal_type, principal_name)`.
pub type PrincipalKey = (String, PrincipalType, String);

/// Every principal's recommendation, keyed by [`PrincipalKey`]; serialises as a sorted list.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RecommendationSummary {
    /// `recommendations`, relative to the output folder.
    pub dir: String,
    /// Principal folders written.
    pub folders_written: usize,
    /// Recommendations whose folder was not written (`--recommendations` limit).
    pub folders_omitted: usize,
    #[serde(serialize_with = "values")]
    pub principals: BTreeMap<PrincipalKey, PrincipalRecommendation>,
}

fn values<S: Serializer>(
    map: &BTreeMap<PrincipalKey, PrincipalRecommendation>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(map.values())
}

impl RecommendationSummary {
    pub fn get(
        &self,
        account_id: &str,
        kind: PrincipalType,
        name: &str,
    ) -> Option<&PrincipalRecommendation> {
        self.principals
            .get(&(account_id.to_string(), kind, name.to_string()))
    }
}

/// Per analysis principal: (remove, needed, unknown) sets.
fn verdict_sets(analysis: &Analysis<'_>) -> Vec<(ActionSet, ActionSet, ActionSet)> {
    let c = analysis.catalog;
    let mut sets = vec![(c.empty_set(), c.empty_set(), c.empty_set()); analysis.principals.len()];
    for f in &analysis.findings {
        let Some(s) = sets.get_mut(f.principal as usize) else {
            continue;
        };
        for a in analysis.actions(f) {
            if is_removable(f) {
                s.0.insert(a.id);
            } else {
                s.1.insert(a.id);
                if f.status == Status::Unknown {
                    s.2.insert(a.id);
                }
            }
        }
    }
    sets
}

/// Only `unused` findings no exclusion covers are removed.
pub fn is_removable(f: &Finding) -> bool {
    f.status == Status::Unused && f.exclusion.is_none()
}

/// The users of `export` that are members of `group`.
pub fn group_members<'e>(export: &'e Export, group: &str) -> Vec<&'e Principal> {
    export
        .principals
        .iter()
        .filter(|p| p.kind == PrincipalType::User && p.groups.iter().any(|g| g == group))
        .collect()
}

/// The document of a policy the principal holds directly.
fn document_of<'e>(
    export: &'e Export,
    principal: &'e Principal,
    policy: &PolicyRef,
) -> Option<&'e PolicyDocument> {
    match policy.kind {
        PolicyKind::Inline => principal
            .inline_policies
            .iter()
            .find(|p| p.name == policy.name)
            .map(|p| &p.document),
        _ => policy
            .arn
            .as_ref()
            .and_then(|arn| export.policies.get(arn))
            .map(|m| &m.document),
    }
}

/// The part of `export` that decides what one principal is granted: the principal, its groups
/// (for a user) and the managed policies they reference — no other principal, no last-accessed
/// data. Verifying a plan on it costs the principal's size, not the account's.
pub fn slim_export(export: &Export, kind: PrincipalType, name: &str) -> Export {
    let mut principals: Vec<Principal> = Vec::new();
    if let Some(p) = export.principal(kind, name) {
        principals.push(p.clone());
        if kind == PrincipalType::User {
            for g in &p.groups {
                if let Some(group) = export.principal(PrincipalType::Group, g) {
                    principals.push(group.clone());
                }
            }
        }
    }
    principals.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    principals.dedup_by(|a, b| a.kind == b.kind && a.name == b.name);
    let policies = principals
        .iter()
        .flat_map(|p| p.attached_policies.iter().chain(&p.permissions_boundary))
        .filter_map(|arn| export.policies.get(arn).map(|m| (arn.clone(), m.clone())))
        .collect();
    Export {
        root: export.root.clone(),
        account_id: export.account_id.clone(),
        partition: export.partition.clone(),
        principals,
        policies,
        last_accessed: BTreeMap::new(),
        credential_report: None,
        manifest: None,
        data_time: export.data_time,
        files: Vec::new(),
        warnings: Vec::new(),
    }
}

/// A copy of `export` in which `principal`'s policies are replaced by their tightened versions
/// (an emptied inline policy is deleted, an emptied managed policy detached; a managed policy's
/// new document is substituted under its own ARN, which is equivalent for this principal).
pub fn substitute(
    export: &Export,
    kind: PrincipalType,
    name: &str,
    plans: &[PolicyPlan],
) -> Export {
    let mut ex = export.clone();
    let Some(p) = ex
        .principals
        .iter_mut()
        .find(|p| p.kind == kind && p.name == name)
    else {
        return ex;
    };
    for plan in plans {
        match plan.policy.kind {
            PolicyKind::Inline => {
                if plan.tightened.empty {
                    p.inline_policies.retain(|i| i.name != plan.policy.name);
                } else if let Some(i) = p
                    .inline_policies
                    .iter_mut()
                    .find(|i| i.name == plan.policy.name)
                {
                    i.document = plan.new_document.clone();
                }
            }
            _ => {
                let Some(arn) = &plan.policy.arn else {
                    continue;
                };
                if plan.tightened.empty {
                    p.attached_policies.retain(|a| a != arn);
                } else {
                    // A per-principal copy under a private ARN, so no other principal changes.
                    let private = format!("{arn}#iam-tighten/{}", plan.stem);
                    for a in &mut p.attached_policies {
                        if a == arn {
                            a.clone_from(&private);
                        }
                    }
                    if let Some(m) = export.policies.get(arn) {
                        let mut m = m.clone();
                        m.arn.clone_from(&private);
                        m.document = plan.new_document.clone();
                        ex.policies.insert(private, m);
                    }
                }
            }
        }
    }
    ex
}

/// Checks the safety properties of a principal's plan against the export; returns the problems
/// (empty when safe) and the principal's effective grants after the change.
pub fn verify(
    export: &Export,
    plan: &PrincipalPlan,
    expander: &mut Expander<'_>,
) -> (Vec<String>, ActionSet) {
    let mut problems = Vec::new();
    let catalog = expander.catalog();
    for p in &plan.policies {
        let old = expander.document(&p.original);
        let new = expander.document(&p.new_document);
        if !new.allowed.is_subset(&old.allowed) {
            problems.push(format!(
                "{}: the tightened policy grants actions the original does not",
                p.policy.name
            ));
        }
        if old.denied != new.denied
            || deny_statements(&p.original) != deny_statements(&p.new_document)
        {
            problems.push(format!("{}: Deny statements changed", p.policy.name));
        }
        for s in &p.new_document.statements {
            let same = p.original.statements.iter().any(|o| {
                o.sid == s.sid
                    && o.effect == s.effect
                    && o.resources == s.resources
                    && o.condition == s.condition
            });
            if !same {
                problems.push(format!(
                    "{}: statement {} lost its Sid, Resource or Condition",
                    p.policy.name,
                    s.label()
                ));
            }
        }
    }
    let slim = slim_export(export, plan.kind, &plan.name);
    let ex = substitute(&slim, plan.kind, &plan.name, &plan.policies);
    let after = match ex.principal(plan.kind, &plan.name) {
        Some(p) => principal_grants(p, &ex, expander).effective,
        None => catalog.empty_set(),
    };
    let mut lost = plan.needed.clone();
    lost.difference_with(&after);
    if !lost.is_empty() {
        problems.push(format!(
            "{} needed action(s) would no longer be granted, e.g. {}",
            lost.len(),
            lost.iter()
                .next()
                .map(|a| catalog.full_name(a))
                .unwrap_or_default()
        ));
    }
    if !after.is_subset(&plan.before) {
        problems.push("the principal would be granted actions it does not hold today".into());
    }
    (problems, after)
}

fn deny_statements(doc: &PolicyDocument) -> Vec<serde_json::Value> {
    let list = match doc.raw.get("Statement") {
        Some(serde_json::Value::Array(a)) => a.clone(),
        Some(v) => vec![v.clone()],
        None => Vec::new(),
    };
    list.into_iter()
        .filter(|s| s.get("Effect").and_then(|e| e.as_str()) == Some("Deny"))
        .collect()
}

fn file_prefix(kind: PolicyKind) -> &'static str {
    match kind {
        PolicyKind::Inline => "inline",
        PolicyKind::CustomerManaged => "managed",
        PolicyKind::AwsManaged => "aws-managed",
    }
}

fn inline_limit(kind: PrincipalType) -> usize {
    match kind {
        PrincipalType::Role => limits::INLINE_ROLE,
        PrincipalType::User => limits::INLINE_USER,
        PrincipalType::Group => limits::INLINE_GROUP,
    }
}

/// IAM policy names are at most 128 characters of `[\w+=,.@-]`.
pub fn replacement_name(original: &str, principal: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "+=,.@-_".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    let name = format!("{}-tightened-{}", clean(original), clean(principal));
    if name.len() <= 128 {
        return name;
    }
    use sha2::Digest;
    let hash = sha2::Sha256::digest(name.as_bytes());
    let hex: String = hash.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("{}-{hex}", &name[..119])
}

/// Per-principal inputs of [`plan_one`].
struct PlanInputs<'a> {
    exports: &'a [Export],
    analysis: &'a Analysis<'a>,
    sets: &'a [(ActionSet, ActionSet, ActionSet)],
    by_key: &'a HashMap<(&'a str, PrincipalType, &'a str), usize>,
}

/// The plan of one principal (before the cross-principal decisions and verification).
fn plan_one<'e>(
    index: usize,
    info: &PrincipalInfo,
    inputs: &PlanInputs<'e>,
    expander: &mut Expander<'_>,
    caches: &mut [GrantCache<'e>],
) -> PrincipalPlan {
    let PlanInputs {
        exports,
        analysis,
        sets,
        by_key,
    } = inputs;
    let catalog = analysis.catalog;
    let (remove, needed, _) = &sets[index];
    let mut plan = PrincipalPlan {
        account_id: info.account_id.clone(),
        partition: String::new(),
        kind: info.kind,
        name: info.name.clone(),
        analysis_index: index,
        remove: remove.clone(),
        needed: needed.clone(),
        before: catalog.empty_set(),
        after: catalog.empty_set(),
        policies: Vec::new(),
        skipped: None,
        flags: Vec::new(),
    };
    let Some(ei) = exports.iter().position(|e| e.account_id == info.account_id) else {
        plan.skipped = Some("export_not_found".into());
        return plan;
    };
    let export = &exports[ei];
    plan.partition.clone_from(&export.partition);
    let Some(principal) = export.principal(info.kind, &info.name) else {
        plan.skipped = Some("principal_not_found".into());
        return plan;
    };
    let grants = principal_grants_cached(principal, export, expander, &mut caches[ei]);
    plan.before = grants.effective.clone();
    plan.after = grants.effective.clone();
    if !info.actionable {
        plan.skipped = Some("service_linked".into());
        return plan;
    }
    if info.kind == PrincipalType::Group {
        // A group's policies are shared by its members: remove only what every member agrees on.
        for member in group_members(export, &info.name) {
            match by_key
                .get(&(info.account_id.as_str(), member.kind, member.name.as_str()))
                .copied()
            {
                Some(m) => {
                    let mut user_needed = sets[m].1.clone();
                    user_needed.intersect_with(&plan.remove);
                    if !user_needed.is_empty() {
                        plan.flags.push(format!(
                            "{} unused action(s) of the group are kept because member user {} needs them",
                            user_needed.len(),
                            member.name
                        ));
                    }
                    plan.remove.difference_with(&sets[m].1);
                }
                None => plan.remove = catalog.empty_set(),
            }
        }
    }
    if plan.remove.is_empty() {
        plan.skipped = Some("nothing_to_remove".into());
        return plan;
    }
    let mut keep = grants.effective.clone();
    keep.difference_with(&plan.remove);
    build_policies(&mut plan, export, principal, &grants, &keep, expander);
    note_group_policies(&mut plan, &grants);
    if plan.policies.is_empty() {
        let via_group = grants
            .allows
            .iter()
            .any(|g| grants.policy(g).via_group.is_some() && g.actions.intersects(&plan.remove));
        plan.skipped = Some(
            if via_group {
                "granted_through_groups_only"
            } else {
                "nothing_to_remove"
            }
            .into(),
        );
    }
    plan
}

/// Decides, without writing anything, the recommendation of every principal of the analysis.
pub fn plan(exports: &[Export], analysis: &Analysis<'_>) -> Vec<PrincipalPlan> {
    let catalog = analysis.catalog;
    let sets = verdict_sets(analysis);
    let by_key: HashMap<(&str, PrincipalType, &str), usize> = analysis
        .principals
        .iter()
        .enumerate()
        .map(|(i, p)| ((p.account_id.as_str(), p.kind, p.name.as_str()), i))
        .collect();

    // Principals are independent here: planned by as many threads as there are cores, each with
    // its own expander and grant caches; the plans keep the analysis order.
    let inputs = PlanInputs {
        exports,
        analysis,
        sets: &sets,
        by_key: &by_key,
    };
    let mut plans: Vec<PrincipalPlan> = crate::parallel::map_indexed(
        analysis.principals.len(),
        || {
            let caches: Vec<GrantCache<'_>> = exports.iter().map(|_| GrantCache::new()).collect();
            (Expander::new(catalog), caches)
        },
        |(expander, caches), i| plan_one(i, &analysis.principals[i], &inputs, expander, caches),
    );

    decide_managed(&mut plans, exports);

    // Verify every plan; a plan that fails is not recommended (a bug, reported loudly).
    // Plans are independent: verified in parallel, each thread with its own expander.
    let verified = crate::parallel::map_indexed(
        plans.len(),
        || Expander::new(catalog),
        |expander, i| {
            let plan = &plans[i];
            if plan.skipped.is_some() {
                return None;
            }
            let export = exports.iter().find(|e| e.account_id == plan.account_id)?;
            Some(verify(export, plan, expander))
        },
    );
    for (plan, result) in plans.iter_mut().zip(verified) {
        let Some((problems, after)) = result else {
            continue;
        };
        plan.after = after;
        if !problems.is_empty() {
            plan.skipped = Some(format!("verification_failed: {}", problems.join("; ")));
            plan.policies.clear();
            plan.after = plan.before.clone();
        }
    }
    plans
}

fn build_policies(
    plan: &mut PrincipalPlan,
    export: &Export,
    principal: &Principal,
    grants: &PrincipalGrants,
    keep: &ActionSet,
    expander: &mut Expander<'_>,
) {
    let mut stems = BTreeSet::new();
    for policy in &grants.policies {
        if policy.boundary || policy.via_group.is_some() {
            continue;
        }
        let Some(doc) = document_of(export, principal, policy) else {
            continue;
        };
        let t = tighten(doc, &plan.remove, keep, expander);
        if !t.changed {
            continue;
        }
        let new_document = match PolicyDocument::from_value(t.document.clone()) {
            Ok(d) => d,
            Err(e) => {
                plan.flags.push(format!(
                    "{}: the tightened document does not parse ({e}); left as is",
                    policy.name
                ));
                continue;
            }
        };
        let mut stem = format!(
            "{}-{}",
            file_prefix(policy.kind),
            safe_file_name(&policy.name)
        );
        let base = stem.clone();
        let mut n = 2;
        while !stems.insert(stem.to_lowercase()) {
            stem = format!("{base}-{n}");
            n += 1;
        }
        let apply = match (policy.kind, t.empty) {
            (PolicyKind::Inline, true) => Apply::DeleteInline,
            (PolicyKind::Inline, false) => Apply::PutInline,
            (_, true) => Apply::Detach,
            // Decided across principals in `decide_managed`.
            (_, false) => Apply::NewVersion {
                previous_default: None,
            },
        };
        let size = iam_size(&t.document);
        plan.policies.push(PolicyPlan {
            policy: policy.clone(),
            original: doc.clone(),
            tightened: t,
            new_document,
            apply,
            stem,
            size,
            limit: limits::MANAGED,
        });
    }
    enforce_limits(plan, principal, expander);
}

/// Minimises documents that exceed IAM's limits, and flags those that still do.
fn enforce_limits(plan: &mut PrincipalPlan, principal: &Principal, expander: &mut Expander<'_>) {
    // Inline: the principal's inline policies together.
    let inline_limit = inline_limit(plan.kind);
    let unchanged_inline: usize = principal
        .inline_policies
        .iter()
        .filter(|i| {
            !plan
                .policies
                .iter()
                .any(|p| p.policy.kind == PolicyKind::Inline && p.policy.name == i.name)
        })
        .map(|i| iam_size(&i.document.raw))
        .sum();
    let changed_inline: usize = plan
        .policies
        .iter()
        .filter(|p| p.policy.kind == PolicyKind::Inline && !p.tightened.empty)
        .map(|p| p.size)
        .sum();
    let inline_over = unchanged_inline + changed_inline > inline_limit;
    let remove = plan.remove.clone();
    for p in &mut plan.policies {
        if p.tightened.empty {
            continue;
        }
        let over = match p.policy.kind {
            PolicyKind::Inline => inline_over,
            _ => p.size > limits::MANAGED,
        };
        if over && minimise(&mut p.tightened, &remove, expander) {
            p.size = iam_size(&p.tightened.document);
            if let Ok(d) = PolicyDocument::from_value(p.tightened.document.clone()) {
                p.new_document = d;
            }
        }
        p.limit = match p.policy.kind {
            PolicyKind::Inline => inline_limit.saturating_sub(unchanged_inline),
            _ => limits::MANAGED,
        };
    }
    let inline_total: usize = unchanged_inline
        + plan
            .policies
            .iter()
            .filter(|p| p.policy.kind == PolicyKind::Inline && !p.tightened.empty)
            .map(|p| p.size)
            .sum::<usize>();
    for p in &plan.policies {
        if p.tightened.minimised {
            plan.flags.push(format!(
                "{}: over IAM's size limit with explicit action lists; collapsed into wildcards that match only actions the original granted and none that is removed",
                p.policy.name
            ));
        }
        if p.policy.kind != PolicyKind::Inline && !p.tightened.empty && p.size > limits::MANAGED {
            plan.flags.push(format!(
                "{}: {} characters, over the managed policy limit of {}; split it into several policies by hand before applying",
                p.policy.name,
                p.size,
                limits::MANAGED
            ));
        }
        if !p.tightened.not_action_rewritten.is_empty() {
            plan.flags.push(format!(
                "{}: NotAction statement(s) {} rewritten into Action lists; the new policy no longer grants actions AWS adds later. Review before applying",
                p.policy.name,
                p.tightened.not_action_rewritten.join(", ")
            ));
        }
    }
    if inline_total > inline_limit {
        plan.flags.push(format!(
            "inline policies total {inline_total} characters, over the {} limit of {inline_limit}; move some statements into a managed policy before applying",
            plan.kind
        ));
    }
}

/// Removed actions still granted through a group's policy (groups are recommended on their own).
fn note_group_policies(plan: &mut PrincipalPlan, grants: &PrincipalGrants) {
    let mut via: BTreeSet<&str> = BTreeSet::new();
    for g in &grants.allows {
        let p = grants.policy(g);
        if let Some(group) = &p.via_group
            && g.actions.intersects(&plan.remove)
        {
            via.insert(group.as_str());
        }
    }
    for group in via {
        plan.flags.push(format!(
            "group {group} also grants unused actions; group policies are shared by every member, so they are changed only in the group's own recommendation (when every member agrees)"
        ));
    }
}

/// Chooses how each managed policy change is applied, looking across principals: a
/// customer-managed policy gets a new default version only when every principal it is attached
/// to would get the same document; otherwise, and for AWS managed policies, the principal gets its
/// own replacement policy.
fn decide_managed(plans: &mut [PrincipalPlan], exports: &[Export]) {
    // (account, arn) → per tightened document (as compact JSON), the principals that would get it.
    type Key = (String, String);
    let mut docs: HashMap<Key, HashMap<String, BTreeSet<(PrincipalType, String)>>> = HashMap::new();
    for plan in plans.iter() {
        if plan.skipped.is_some() {
            continue;
        }
        for p in &plan.policies {
            if let (PolicyKind::CustomerManaged, Some(arn)) = (p.policy.kind, &p.policy.arn) {
                docs.entry((plan.account_id.clone(), arn.clone()))
                    .or_default()
                    .entry(p.tightened.document.to_string())
                    .or_default()
                    .insert((plan.kind, plan.name.clone()));
            }
        }
    }
    // Per account: who each managed policy is attached to, and which serve as a boundary.
    type Uses<'e> = (HashMap<&'e str, Vec<&'e Principal>>, BTreeSet<&'e str>);
    let uses: BTreeMap<&str, Uses<'_>> = exports
        .iter()
        .map(|e| {
            let mut attached: HashMap<&str, Vec<&Principal>> = HashMap::new();
            let mut boundaries = BTreeSet::new();
            for x in &e.principals {
                for a in &x.attached_policies {
                    let v = attached.entry(a.as_str()).or_default();
                    if v.last().is_none_or(|l| !std::ptr::eq(*l, x)) {
                        v.push(x);
                    }
                }
                if let Some(b) = &x.permissions_boundary {
                    boundaries.insert(b.as_str());
                }
            }
            (e.account_id.as_str(), (attached, boundaries))
        })
        .collect();
    for plan in plans.iter_mut() {
        let Some(export) = exports.iter().find(|e| e.account_id == plan.account_id) else {
            continue;
        };
        let Some((attached_to, boundaries)) = uses.get(plan.account_id.as_str()) else {
            continue;
        };
        let mut notes = Vec::new();
        for p in &mut plan.policies {
            if p.policy.kind == PolicyKind::Inline || p.tightened.empty {
                continue;
            }
            let Some(arn) = p.policy.arn.clone() else {
                continue;
            };
            let managed = export.policies.get(&arn);
            let agreed = p.policy.kind == PolicyKind::CustomerManaged
                && {
                    let attached: &[&Principal] =
                        attached_to.get(arn.as_str()).map_or(&[], Vec::as_slice);
                    let boundary_use = boundaries.contains(arn.as_str());
                    let count_ok = managed
                        .and_then(|m| m.attachment_count)
                        .is_none_or(|n| n as usize == attached.len());
                    let same = docs
                        .get(&(plan.account_id.clone(), arn.clone()))
                        .and_then(|by_doc| by_doc.get(&p.tightened.document.to_string()))
                        .is_some_and(|who| {
                            attached
                                .iter()
                                .all(|x| who.contains(&(x.kind, x.name.clone())))
                        });
                    if attached.len() > 1 && same && !boundary_use && count_ok {
                        notes.push(format!(
                        "{}: attached to {} principals, and every one of them gets the same tightened document, so the policy itself gets a new version",
                        p.policy.name,
                        attached.len()
                    ));
                    }
                    !boundary_use && count_ok && same
                };
            p.apply = if agreed {
                Apply::NewVersion {
                    previous_default: managed.and_then(|m| m.default_version_id.clone()),
                }
            } else {
                let new_name = replacement_name(&p.policy.name, &plan.name);
                let new_arn = format!(
                    "arn:{}:iam::{}:policy/{new_name}",
                    plan.partition, plan.account_id
                );
                if p.policy.kind == PolicyKind::CustomerManaged {
                    notes.push(format!(
                        "{}: used by other principals that need different actions (or as a permissions boundary), so this principal gets its own copy {new_name}",
                        p.policy.name
                    ));
                }
                Apply::Replace { new_name, new_arn }
            };
        }
        plan.flags.extend(notes);
    }
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

pub fn summarise(
    plans: &[PrincipalPlan],
    folder: &[bool],
    analysis: &Analysis<'_>,
) -> RecommendationSummary {
    let sets = verdict_sets(analysis);
    let mut principals = BTreeMap::new();
    let (mut written, mut omitted) = (0, 0);
    for (i, plan) in plans.iter().enumerate() {
        let unknown = &sets[plan.analysis_index].2;
        let mut still = plan.remove.clone();
        still.intersect_with(&plan.after);
        let mut removed = plan.before.clone();
        removed.difference_with(&plan.after);
        let recommended = plan.skipped.is_none() && !plan.policies.is_empty();
        let has_folder = recommended && folder.get(i).copied().unwrap_or(true);
        written += usize::from(has_folder);
        omitted += usize::from(recommended && !has_folder);
        let rec = PrincipalRecommendation {
            account_id: plan.account_id.clone(),
            principal_type: plan.kind,
            principal_name: plan.name.clone(),
            path: has_folder.then(|| render::principal_path(plan)),
            folder_omitted: recommended && !has_folder,
            before: plan.before.len() as u64,
            after: plan.after.len() as u64,
            removed: removed.len() as u64,
            kept_unknown: unknown.len() as u64,
            still_granted: still.len() as u64,
            policies: plan
                .policies
                .iter()
                .map(|p| PolicySummary {
                    name: p.policy.name.clone(),
                    kind: p.policy.kind,
                    arn: p.policy.arn.clone(),
                    apply: p.apply.clone(),
                    file: (!p.tightened.empty).then(|| format!("{}.json", p.stem)),
                    removed: p.tightened.removed.len() as u64,
                    not_action_rewritten: !p.tightened.not_action_rewritten.is_empty(),
                    size: p.size,
                    limit: p.limit,
                })
                .collect(),
            flags: plan.flags.clone(),
            skipped: plan.skipped.clone(),
        };
        principals.insert((plan.account_id.clone(), plan.kind, plan.name.clone()), rec);
    }
    RecommendationSummary {
        dir: DIR.into(),
        folders_written: written,
        folders_omitted: omitted,
        principals,
    }
}

pub(crate) fn write_error(path: &Path, source: std::io::Error) -> Error {
    Error::write(path, source)
}
