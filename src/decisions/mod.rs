//! Decisions: what a reviewer approves. Verdicts per action are the evidence; the unit of a
//! review is one decision — detach this policy from this role, replace that inline policy with
//! its tightened version, delete this unused user, deactivate this key, confirm this break-glass
//! role as intentional. One model, every output (decisions.csv, report.json, report.html, the
//! workbook).
//!
//! ```text
//! permissions.rs  one decision per principal × changed policy (from the recommendation plans);
//!                 one per IAM Identity Center permission set (the set changes as one unit)
//! identities.rs   one per unused principal and per risky credential (from identity findings);
//!                 an unused IAM Identity Center role is a permission set assignment to review
//! mod.rs          the model, the intentional-access decisions, ids, ranking
//! ```
//!
//! Every decision says the risk it removes (actions by sensitivity, the critical and high ones
//! named), the evidence (what the principal did use, the window), where the apply and rollback
//! files are, and a stable id (the same principal, policy and kind give the same id next quarter).

mod identities;
mod permissions;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::analysis::identities::{IdentityPrincipalType, IdentityReport};
use crate::analysis::intentional::IntentionalMatch;
use crate::analysis::named::NamedAction;
use crate::analysis::{Analysis, BySensitivity, PrincipalInfo, Sensitivity};
use crate::recommend::{Planned, Plans, PrincipalPlan, RecommendationSummary, SummaryBuilder};

/// What a decision does. Declaration order is the order of ties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    DeleteRootAccessKey,
    ReviewRootUse,
    EnableRootMfa,
    DeleteRole,
    DeleteUser,
    ReviewPermissionSetAssignment,
    TightenPermissionSet,
    DetachPolicy,
    DeleteInlinePolicy,
    ReplaceManagedPolicy,
    NewPolicyVersion,
    ReplaceInlinePolicy,
    DeactivateAccessKey,
    RotateAccessKey,
    RemovePassword,
    RequireMfa,
    DeleteGroup,
    DeletePolicy,
    ConfirmIntentional,
}

impl DecisionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::DeleteRootAccessKey => "delete_root_access_key",
            DecisionKind::ReviewRootUse => "review_root_use",
            DecisionKind::EnableRootMfa => "enable_root_mfa",
            DecisionKind::DeleteRole => "delete_role",
            DecisionKind::DeleteUser => "delete_user",
            DecisionKind::ReviewPermissionSetAssignment => "review_permission_set_assignment",
            DecisionKind::TightenPermissionSet => "tighten_permission_set",
            DecisionKind::DetachPolicy => "detach_policy",
            DecisionKind::DeleteInlinePolicy => "delete_inline_policy",
            DecisionKind::ReplaceManagedPolicy => "replace_managed_policy",
            DecisionKind::NewPolicyVersion => "new_policy_version",
            DecisionKind::ReplaceInlinePolicy => "replace_inline_policy",
            DecisionKind::DeactivateAccessKey => "deactivate_access_key",
            DecisionKind::RotateAccessKey => "rotate_access_key",
            DecisionKind::RemovePassword => "remove_password",
            DecisionKind::RequireMfa => "require_mfa",
            DecisionKind::DeleteGroup => "delete_group",
            DecisionKind::DeletePolicy => "delete_policy",
            DecisionKind::ConfirmIntentional => "confirm_intentional",
        }
    }

    /// Whether the decision deletes a whole principal (its other decisions then go with it).
    pub fn deletes_principal(self) -> bool {
        matches!(
            self,
            DecisionKind::DeleteRole | DecisionKind::DeleteUser | DecisionKind::DeleteGroup
        )
    }

    /// Whether an intentional principal (break-glass access) is spared the decision: deleting
    /// it, or taking away a credential it does not use (its way in when it is needed). Its
    /// `confirm_intentional` covers it. Rotating a key and requiring MFA harden the way in and
    /// stay.
    pub fn spares_intentional(self) -> bool {
        matches!(
            self,
            DecisionKind::DeleteRole
                | DecisionKind::DeleteUser
                | DecisionKind::DeactivateAccessKey
                | DecisionKind::RemovePassword
        )
    }

    /// Decisions about the root user's credentials rank before every other: AWS advises that
    /// no root access key exist, and no IAM policy or SCP limits the root user.
    fn about_root(self) -> bool {
        matches!(
            self,
            DecisionKind::DeleteRootAccessKey
                | DecisionKind::ReviewRootUse
                | DecisionKind::EnableRootMfa
        )
    }
}

/// A decision's sentence, as a reviewer approves it ([`Decision::title`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Title {
    /// The sentence itself.
    Text(Box<str>),
    /// The sentence of a change to the decision's subject, a policy of kind `policy`, of a
    /// principal of kind `principal`: made from the decision's kind, subject and principal name
    /// when it is written ([`permissions::policy_title`]) instead of held (~110 characters of
    /// each of ~1.3 million policy decisions at 1,000,000 roles, held from the decisions stage
    /// to the last writer). A decision holds it only where it makes the sentence planning would
    /// write (not for a replaced policy whose copy planning named otherwise).
    Policy {
        policy: crate::policy::PolicyKind,
        principal: crate::model::PrincipalType,
    },
}

impl From<String> for Title {
    fn from(text: String) -> Title {
        Title::Text(text.into())
    }
}

impl From<&str> for Title {
    fn from(text: &str) -> Title {
        Title::Text(text.into())
    }
}

/// One thing a reviewer can approve. Written (report.json, the HTML page) with its fields in
/// order, its title made whole ([`Decision::title`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// 1 = decide first (see [`rank`]); intentional access comes after every other decision.
    pub rank: u32,
    /// Stable across runs and quarters: `D` and 10 hex digits of the SHA-256 of the kind, the
    /// account, the principal's ARN (or name) and the subject.
    pub id: DecisionId,
    pub kind: DecisionKind,
    /// The highest sensitivity of what it removes (for a credential: the finding's).
    pub sensitivity: Sensitivity,
    /// What ranks it: the sensitivity weights of the actions it removes (for a credential,
    /// 100 × the weight of its sensitivity: a root access key weighs as much as 100 critical
    /// actions).
    pub score: u64,
    /// The texts a decision shares with others (its account, principal, subject, evidence and
    /// risky actions) are held once for every decision that repeats them ([`Texts`]).
    pub account_id: Arc<str>,
    /// `role`, `user`, `group`, `permission_set`, `root` or `policy` (one byte beside the kind,
    /// where a `&'static str` took 16 of every decision's).
    pub principal_type: IdentityPrincipalType,
    pub principal_name: Arc<str>,
    pub principal_arn: Arc<str>,
    /// The policy or credential the decision is about (empty for a whole principal).
    pub subject: Arc<str>,
    /// The decision in one sentence, as a reviewer approves it ([`Decision::title`]).
    pub title: Title,
    /// The granted actions it removes, by sensitivity: one principal's, at most the catalog's
    /// actions (32 bits, as a principal's counts: 16 bytes less of ~1.7 million decisions at
    /// 1,000,000 roles).
    pub removes: BySensitivity<u32>,
    /// The critical and high ones, named with why (at most 10, most sensitive first).
    pub risky_actions: Arc<[NamedAction]>,
    /// Critical and high actions removed beyond those named.
    pub risky_more: u32,
    /// What the principal did use (services and actions with dates) and the window; for a
    /// credential, the evidence of its finding.
    pub evidence: Arc<str>,
    /// The recommendation folder (relative to the report folder) and the policy file there,
    /// when the decision has apply and rollback files.
    pub files: Option<Box<str>>,
    /// For `confirm_intentional`: the rule that matched (boxed: 48 bytes inline in each of
    /// ~1.7 million decisions at 1,000,000 roles, nearly all of which have none).
    pub intentional: Option<Box<IntentionalMatch>>,
}

impl Decision {
    /// Whether it ranks before every other decision ([`DecisionKind::about_root`]): an
    /// `enable_root_mfa` only where the report shows a root credential (critical); without one
    /// the account's root credentials may have been removed (centralized root access), and it
    /// ranks by its sensitivity.
    fn about_root(&self) -> bool {
        self.kind.about_root()
            && (self.kind != DecisionKind::EnableRootMfa
                || self.sensitivity == Sensitivity::Critical)
    }

    /// The decision in one sentence, as a reviewer approves it.
    pub fn title(&self) -> std::borrow::Cow<'_, str> {
        match &self.title {
            Title::Text(text) => std::borrow::Cow::Borrowed(text),
            Title::Policy { policy, principal } => std::borrow::Cow::Owned(
                permissions::policy_title(
                    self.kind,
                    *policy,
                    &self.subject,
                    *principal,
                    &self.principal_name,
                )
                .unwrap_or_default(),
            ),
        }
    }
}

impl Serialize for Decision {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Decision", 17)?;
        st.serialize_field("rank", &self.rank)?;
        st.serialize_field("id", &self.id)?;
        st.serialize_field("kind", &self.kind)?;
        st.serialize_field("sensitivity", &self.sensitivity)?;
        st.serialize_field("score", &self.score)?;
        st.serialize_field("account_id", &self.account_id)?;
        st.serialize_field("principal_type", self.principal_type.as_str())?;
        st.serialize_field("principal_name", &self.principal_name)?;
        st.serialize_field("principal_arn", &self.principal_arn)?;
        st.serialize_field("subject", &self.subject)?;
        st.serialize_field("title", &self.title())?;
        st.serialize_field("removes", &self.removes)?;
        st.serialize_field("risky_actions", &self.risky_actions)?;
        st.serialize_field("risky_more", &self.risky_more)?;
        st.serialize_field("evidence", &self.evidence)?;
        st.serialize_field("files", &self.files)?;
        st.serialize_field("intentional", &self.intentional)?;
        st.end()
    }
}

/// Every decision, ranked.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Decisions {
    pub list: Vec<Decision>,
}

impl Decisions {
    /// Decisions other than intentional access, in rank order.
    pub fn to_make(&self) -> impl Iterator<Item = &Decision> {
        self.list
            .iter()
            .filter(|d| d.kind != DecisionKind::ConfirmIntentional)
    }

    /// The intentional-access decisions, in rank order.
    pub fn intentional(&self) -> impl Iterator<Item = &Decision> {
        self.list
            .iter()
            .filter(|d| d.kind == DecisionKind::ConfirmIntentional)
    }
}

/// Builds every decision from the analysis, the recommendation plans and the identity findings
/// of one run.
pub fn decide(
    an: &Analysis<'_>,
    plans: &[PrincipalPlan],
    summary: &RecommendationSummary,
    identities: &IdentityReport,
) -> Decisions {
    let parts = Parts::new(an, identities);
    let from_plans = plans.iter().map(|p| parts.count(an, p)).sum();
    parts.finish(identities, from_plans, |deleted, texts, list| {
        for block in plans.chunks(permissions::BLOCK) {
            let path = |k: usize| {
                let p = &block[k];
                summary
                    .get(&p.account_id, p.kind, &p.name)
                    .and_then(|r| r.path.as_deref().map(String::from))
            };
            permissions::append(an, block, &path, deleted, texts, list);
        }
    })
}

/// [`decide`] for `report`, which then keeps only the plans with a folder: a block of plans at
/// a time, the plans are summarised ([`SummaryBuilder`]) and their decisions made, then the
/// plans of the block without a folder are freed ([`Planned::release_without_folder`]); once
/// the plans' decisions are made, and before the identity decisions are, only the plans with a
/// folder are kept ([`Planned::keep_only_folders`]). Every plan is
/// never held beside every decision (at 1,000,000 roles this stage held the run's peak, every
/// plan, ~2 KB a principal, beside every decision: docs/performance.md, "Issue 18,
/// twenty-second pass") nor beside the summary of every plan (the peak in the twenty-fifth).
/// The decisions, summary and plans kept are those of [`decide`] with [`Plans::summarise`].
pub fn decide_releasing(
    an: &Analysis<'_>,
    plans: Plans,
    identities: &IdentityReport,
) -> (Decisions, Planned) {
    decide_releasing_in(an, plans, identities, permissions::BLOCK)
}

/// [`decide_releasing`] with blocks of `block` plans.
fn decide_releasing_in(
    an: &Analysis<'_>,
    plans: Plans,
    identities: &IdentityReport,
    block: usize,
) -> (Decisions, Planned) {
    let block = block.max(1);
    let Plans {
        mut plans,
        mut folder,
    } = plans;
    let parts = Parts::new(an, identities);
    let from_plans = plans.iter().map(|p| parts.count(an, p)).sum();
    let mut summary = SummaryBuilder::with_capacity(plans.len());
    let decisions = parts.finish(identities, from_plans, |deleted, texts, list| {
        let n = plans.len();
        for start in (0..n).step_by(block) {
            let end = (start + block).min(n);
            summary.add(&plans[start..end], start, &folder, an);
            // A plan's folder is the one the summary keeps for its principal (read from the
            // plans: the blocks after this one are not released yet).
            let path = |k: usize| crate::recommend::folder_path(&plans, &folder, start + k);
            permissions::append(an, &plans[start..end], &path, deleted, texts, list);
            crate::recommend::release_without_folder(&mut plans, &folder, start..end);
            // The block's plans are freed as the decisions and summary grow: given back now,
            // not after jemalloc's decay.
            crate::memory::purge();
        }
        // Only the plans with a folder are read from here on: the others' emptied plans (416
        // bytes each, ~460 MB at 1,000,000 roles) go before the identity decisions are made,
        // which was the peak of the run there (6,075 MiB; docs/performance.md, twenty-eighth
        // pass).
        crate::recommend::keep_only_folders(&mut plans, &mut folder);
        crate::memory::purge();
    });
    let planned = Planned {
        plans,
        folder,
        summary: summary.finish(),
    };
    (decisions, planned)
}

/// The principals the identity decisions delete, how many identity decisions there are, and
/// the intentional-access decisions. The identity decisions themselves are made last
/// ([`Parts::finish`]), once the plans' decisions are: `decide_releasing` frees the plans as it
/// goes, and making the identity decisions beside every plan was the peak of the run at
/// 1,000,000 roles (docs/performance.md, "twenty-seventh pass").
struct Parts<'a> {
    /// The principals by (account, ARN), for both passes over the identity findings.
    by_arn: identities::ByArn<'a>,
    /// How many identity decisions there are.
    identities: usize,
    intentional: Vec<Decision>,
    /// The principals a decision deletes.
    deletions: identities::Deletions,
}

impl<'a> Parts<'a> {
    fn new(an: &'a Analysis<'_>, identities: &IdentityReport) -> Parts<'a> {
        // A principal that is deleted needs no decision about its policies or credentials: they
        // go with it (its deletion's evidence lists them).
        let by_arn = identities::ByArn::new(an);
        let (deletions, count) = identities::deletions(&by_arn, identities);
        let credentials = identities::intentional_credentials(&by_arn, identities);
        let intentional = an
            .principals
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let held = credentials.get(&(&*p.account_id, p.arn()));
                confirm_intentional(an, (i, p), held.map_or(&[][..], Vec::as_slice))
            })
            .collect();
        Parts {
            by_arn,
            identities: count,
            intentional,
            deletions,
        }
    }

    /// How many decisions `plan` makes.
    fn count(&self, an: &Analysis<'_>, plan: &PrincipalPlan) -> usize {
        permissions::count(an, plan, &|a: &str, arn: &str| {
            deleted(&self.deletions, a, arn)
        })
    }

    /// The ranked list: the identities' decisions (of `report`), those `fill` appends
    /// (`from_plans` of them, given whether a principal is deleted), then intentional access,
    /// in this order before the rank's stable sort. `fill` runs first and the identities'
    /// decisions are moved in front of its; the list is sized once and filled in place.
    fn finish(
        self,
        report: &IdentityReport,
        from_plans: usize,
        fill: impl FnOnce(&(dyn Fn(&str, &str) -> bool + Sync), &mut Texts, &mut Vec<Decision>),
    ) -> Decisions {
        let Parts {
            by_arn,
            identities: count,
            intentional,
            deletions,
        } = self;
        let total = count + from_plans + intentional.len();
        let mut list = Vec::with_capacity(total);
        let mut texts = Texts::default();
        let deleted = |a: &str, arn: &str| deleted(&deletions, a, arn);
        fill(&deleted, &mut texts, &mut list);
        let mut identities = identities::decisions(&by_arn, report);
        identities
            .retain(|d| d.kind.deletes_principal() || !deleted(&d.account_id, &d.principal_arn));
        debug_assert_eq!(identities.len(), count);
        let n = identities.len();
        list.extend(identities.into_iter().map(|d| texts.share(d)));
        list.rotate_right(n);
        list.extend(intentional.into_iter().map(|d| texts.share(d)));
        debug_assert_eq!(list.len(), total);
        permissions::merge_shared_versions(&mut list);
        rank(&mut list);
        Decisions { list }
    }
}

/// Whether a decision deletes the principal `arn` of `account`.
fn deleted(deletions: &BTreeMap<String, BTreeSet<String>>, account: &str, arn: &str) -> bool {
    deletions
        .get(account)
        .is_some_and(|arns| arns.contains(arn))
}

/// `confirm_intentional` for a principal an intentional-access rule matched, with the evidence
/// of its unused credentials (`credentials`), which get no decision of their own. An IAM
/// Identity Center role gets none: its permission set (which an administrator permission set's
/// roles make intentional too) is what is confirmed, once for every account.
fn confirm_intentional(
    an: &Analysis<'_>,
    (index, p): (usize, &PrincipalInfo),
    credentials: &[&str],
) -> Option<Decision> {
    if p.kind == crate::model::PrincipalType::Role && p.permission_set.is_some() {
        return None;
    }
    let m = p.intentional.clone()?;
    // An Identity Center role without the organisation part (so no set to confirm it by) is
    // not actionable: its own counts are zero. Its evidence and rank count what it holds.
    let s = if p.actionable {
        p.unused_by_sensitivity
    } else {
        an.unused_by_sensitivity_of(index)
    };
    let mut evidence = format!(
        "{} unused permissions ({} critical, {} high) in the {}-day window; {}.",
        crate::model::grouped(u64::from(p.counts.unused)),
        crate::model::grouped(u64::from(s.critical)),
        crate::model::grouped(u64::from(s.high)),
        an.settings.unused_after_days,
        used_evidence(an, index)
    );
    if !credentials.is_empty() {
        evidence.push_str(
            " Its unused credentials are confirmed with it, not taken away (the way in when it \
             is needed):",
        );
        for c in credentials {
            evidence.push(' ');
            evidence.push_str(c);
        }
    }
    evidence.push_str(
        " Confirm it with an exclusion that has an owner, a reason and an expiry, or reduce it.",
    );
    Some(Decision {
        rank: 0,
        id: DecisionId::default(),
        kind: DecisionKind::ConfirmIntentional,
        sensitivity: highest(&s).unwrap_or(Sensitivity::Low),
        score: score(&s),
        account_id: p.account_id.clone(),
        principal_type: p.kind.into(),
        principal_name: p.name().into(),
        principal_arn: p.arn().into(),
        subject: "".into(),
        title: format!(
            "Confirm {} {} as intentional access ({}), or reduce it",
            p.kind.noun(),
            p.name(),
            m.rule
        )
        .into(),
        removes: BySensitivity::default(),
        risky_actions: Arc::new([]),
        risky_more: 0,
        evidence: evidence.into(),
        files: None,
        intentional: Some(m),
    })
}

/// The highest sensitivity with a non-zero count (of one principal's actions).
pub(crate) fn highest(s: &BySensitivity<u32>) -> Option<Sensitivity> {
    [
        (s.critical, Sensitivity::Critical),
        (s.high, Sensitivity::High),
        (s.medium, Sensitivity::Medium),
        (s.low, Sensitivity::Low),
    ]
    .into_iter()
    .find(|(n, _)| *n > 0)
    .map(|(_, level)| level)
}

/// The sensitivity weights of the counted actions (of one principal's).
pub(crate) fn score(s: &BySensitivity<u32>) -> u64 {
    u64::from(s.critical) * Sensitivity::Critical.weight()
        + u64::from(s.high) * Sensitivity::High.weight()
        + u64::from(s.medium) * Sensitivity::Medium.weight()
        + u64::from(s.low) * Sensitivity::Low.weight()
}

/// What the principal used in the window: at most five services or actions with their last
/// use, the count of the rest, and the window.
pub(crate) fn used_evidence(an: &Analysis<'_>, index: usize) -> String {
    let Some(p) = an.principals.get(index) else {
        return String::new();
    };
    let mut used: Vec<(String, Option<crate::model::Timestamp>)> = an
        .findings_of(index)
        .filter(|f| f.status() == crate::analysis::Status::Used)
        .map(|f| (an.action_text(f).to_string(), f.last_accessed()))
        .collect();
    used.sort();
    // Services AWS reports used in the window without saying which actions (`action_not_tracked`),
    // of which no action is known used: used too, and said so.
    let mut by_service: Vec<(&str, Option<crate::model::Timestamp>)> = Vec::new();
    let mut with_used = std::collections::BTreeSet::new();
    for f in an.findings_of(index) {
        match f.reason {
            crate::analysis::Reason::AccessedInWindow => {
                with_used.insert(an.service_name(f));
            }
            crate::analysis::Reason::ActionNotTracked => {
                by_service.push((an.service_name(f), f.last_accessed()))
            }
            _ => {}
        }
    }
    by_service.retain(|(s, _)| !with_used.contains(s));
    by_service.sort();
    by_service.dedup_by_key(|(s, _)| *s);
    let (services, granted) = an.service_use(index);
    let services = services + by_service.len();
    let window = match p.as_of {
        Some(t) => format!(
            "the {}-day window to {}",
            an.settings.unused_after_days,
            t.format("%Y-%m-%d")
        ),
        None => format!("the {}-day window", an.settings.unused_after_days),
    };
    // Used actions the catalog does not know (no finding names them).
    let uncatalogued = an.uncatalogued_of(index);
    if used.is_empty() && by_service.is_empty() && uncatalogued.is_empty() {
        return format!("used nothing AWS reports in {window}");
    }
    let dated = |a: &str, t: &Option<crate::model::Timestamp>| match t {
        Some(t) => format!("{a} ({})", t.format("%Y-%m-%d")),
        None => a.to_string(),
    };
    let listed = |all: Vec<String>| crate::model::listed(&all, 5);
    let mut text = format!("used {services} of {granted} granted services in {window}");
    if !used.is_empty() {
        text.push_str(": ");
        text.push_str(&listed(used.iter().map(|(a, t)| dated(a, t)).collect()));
    }
    let mut first = used.is_empty();
    if !by_service.is_empty() {
        text.push_str(if first { ": " } else { "; " });
        text.push_str(
            "services used without action-level data (which actions, AWS does not say): ",
        );
        text.push_str(&listed(
            by_service.iter().map(|(s, t)| dated(s, t)).collect(),
        ));
        first = false;
    }
    if !uncatalogued.is_empty() {
        text.push_str(if first { ": " } else { "; " });
        text.push_str("used, but not in the catalog: ");
        text.push_str(&listed(
            uncatalogued.iter().map(|a| (*a).to_string()).collect(),
        ));
    }
    text
}

/// The texts decisions repeat, each held once: every decision of a principal names its account,
/// principal and evidence, thousands of principals share an evidence sentence ("used nothing
/// AWS reports in the 90-day window to …"), a policy name, or the risky actions of an AWS managed
/// policy. Held once, the decisions took 101 MiB instead of 174 at 100,000 roles (168,000
/// decisions, held from the decisions stage to the last writer). Kept only while the decisions
/// are made.
#[derive(Default)]
pub(crate) struct Texts {
    texts: HashSet<Arc<str>>,
    risky: HashSet<Arc<[NamedAction]>>,
}

impl Texts {
    /// `d` with its shared texts replaced by those already held, when the same.
    pub(crate) fn share(&mut self, mut d: Decision) -> Decision {
        for text in [
            &mut d.account_id,
            &mut d.principal_name,
            &mut d.principal_arn,
            &mut d.subject,
            &mut d.evidence,
        ] {
            *text = self.text(text);
        }
        d.risky_actions = match self.risky.get(&*d.risky_actions) {
            Some(kept) => Arc::clone(kept),
            None => {
                self.risky.insert(Arc::clone(&d.risky_actions));
                d.risky_actions
            }
        };
        d
    }

    fn text(&mut self, text: &Arc<str>) -> Arc<str> {
        match self.texts.get(&**text) {
            Some(kept) => Arc::clone(kept),
            None => {
                self.texts.insert(Arc::clone(text));
                Arc::clone(text)
            }
        }
    }
}

/// A decision's stable id.
fn id_of(d: &Decision) -> DecisionId {
    let who = if d.principal_arn.is_empty() {
        &d.principal_name
    } else {
        &d.principal_arn
    };
    let digest = Sha256::digest(
        format!(
            "{}\n{}\n{}\n{}",
            d.kind.as_str(),
            d.account_id,
            who,
            d.subject
        )
        .as_bytes(),
    );
    DecisionId(digest[..5].iter().fold(0, |id, b| id << 8 | u64::from(*b)))
}

/// A decision's id ([`Decision::id`]): its 40 bits, written `D` and 10 hex digits. Held as a
/// number and written when read (a `String` took 40 bytes of each of ~3 million decisions at
/// 1,000,000 roles).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DecisionId(u64);

impl DecisionId {
    /// The id of these 40 bits (higher ones are dropped).
    pub fn new(bits: u64) -> DecisionId {
        DecisionId(bits & 0xff_ffff_ffff)
    }
}

impl std::fmt::Display for DecisionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "D{:010x}", self.0)
    }
}

impl Serialize for DecisionId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Ranks decisions: the root user's credentials first; then by the highest sensitivity removed,
/// the score, the kind, account, principal and subject; intentional access after every other.
/// Sorted through their indices ([`crate::memory::sort_stable_by`]): a stable sort of the
/// decisions themselves took a buffer of half of them (~230 bytes each, ~0.3 GB at 1,000,000
/// roles, at the end of the decisions stage, the run's peak).
pub fn rank(list: &mut [Decision]) {
    for d in list.iter_mut() {
        d.id = id_of(d);
    }
    crate::memory::sort_stable_by(list, order);
    number(list);
}

/// The order of [`rank`].
fn order(a: &Decision, b: &Decision) -> std::cmp::Ordering {
    let key = |d: &Decision| {
        (
            d.kind == DecisionKind::ConfirmIntentional,
            !d.about_root(),
            std::cmp::Reverse(d.sensitivity),
            std::cmp::Reverse(d.score),
            d.kind,
        )
    };
    key(a).cmp(&key(b)).then_with(|| {
        (
            &a.account_id,
            a.principal_type.as_str(),
            &a.principal_name,
            &a.subject,
        )
            .cmp(&(
                &b.account_id,
                b.principal_type.as_str(),
                &b.principal_name,
                &b.subject,
            ))
    })
}

/// Numbers ranked decisions from 1.
fn number(list: &mut [Decision]) {
    for (i, d) in list.iter_mut().enumerate() {
        d.rank = u32::try_from(i + 1).unwrap_or(u32::MAX);
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::identities::{IdentitySettings, identity_findings};

    /// Every decision of the sample organisation, ranked.
    fn sample_decisions() -> Vec<super::Decision> {
        let (exports, org, an) = crate::sample_organization();
        let ids = identity_findings(&exports, &an, &IdentitySettings::new(90));
        let planned = crate::recommend::plan_all_organization(&exports, org.as_ref(), &an, None);
        super::decide(&an, &planned.plans, &planned.summary, &ids).list
    }

    /// Seven principals sharing one policy version: one decision, naming the first five and
    /// counting the other two, removing the sum of what each loses; other kinds untouched.
    #[test]
    fn a_shared_version_names_five_principals_and_counts_the_rest() {
        use super::{DecisionKind as K, permissions::merge_shared_versions};
        let made = sample_decisions();
        let mut one = made[0].clone();
        one.kind = K::NewPolicyVersion;
        one.subject = "shared".into();
        one.removes = crate::analysis::BySensitivity {
            critical: 1,
            high: 0,
            medium: 0,
            low: 2,
        };
        let mut list: Vec<super::Decision> = (0..7)
            .map(|n| {
                let mut d = one.clone();
                d.principal_name = format!("p{n}").into();
                // The policy's caution (its newest version within the window) is in each.
                d.evidence = format!("used s{n}. Caution: shared: new.").into();
                d
            })
            .collect();
        list.extend(
            made.iter()
                .filter(|d| d.kind != K::NewPolicyVersion)
                .cloned(),
        );
        let others = list.len() - 7;
        merge_shared_versions(&mut list);
        assert_eq!(list.len(), others + 1);
        let d = &list[0];
        let title = d.title();
        assert!(title.contains("7 principals"), "{title}");
        assert!(
            title.contains("p0, root p1") && title.contains("p4 and 2 more"),
            "{title}"
        );
        assert!(!title.contains("p5"), "{title}");
        assert!(d.evidence.contains("used s4") && !d.evidence.contains("used s5"));
        // Said once, at the end (review pass 45: once per principal named).
        assert_eq!(d.evidence.matches("Caution").count(), 1, "{}", d.evidence);
        assert!(d.evidence.ends_with("p4: used s4 | and 2 more (their own folders say what each used). Caution: shared: new."), "{}", d.evidence);
        assert_eq!((d.removes.critical, d.removes.low), (7, 14));
    }

    /// Every byte of a decision is ~1.7 MB of the heap at 1,000,000 roles, held from the
    /// decisions stage to the last writer: its texts shared, its rare intentional match boxed,
    /// its own texts (title, files) boxed `str`s, what it removes counted in 32 bits, its
    /// principal's type one byte.
    #[test]
    fn a_decision_stays_small() {
        assert_eq!(std::mem::size_of::<super::Decision>(), 184);
    }

    /// Every policy decision of the sample holds its title as `Title::Policy` (made when
    /// written, the sentence planning made), the others as text; every title reads as the
    /// sentence, in report.json too.
    #[test]
    fn policy_decisions_make_their_titles_when_written() {
        use super::{DecisionKind as K, Title};
        let list = sample_decisions();
        let policy = |k: K| {
            matches!(
                k,
                K::DetachPolicy
                    | K::DeleteInlinePolicy
                    | K::ReplaceInlinePolicy
                    | K::NewPolicyVersion
                    | K::ReplaceManagedPolicy
            )
        };
        let mut kinds = std::collections::BTreeSet::new();
        for d in &list {
            let made = matches!(d.title, Title::Policy { .. });
            assert_eq!(made, policy(d.kind), "{:?} {}", d.kind, d.title());
            assert!(!d.title().is_empty());
            if made {
                kinds.insert(d.kind.as_str());
                let json = serde_json::to_value(d).unwrap();
                assert_eq!(json["title"], *d.title());
            }
        }
        // The sample has detachments, deleted and replaced inline policies and replaced copies.
        assert!(kinds.len() >= 3, "{kinds:?}");
        let replaced = list.iter().find(|d| d.kind == K::ReplaceManagedPolicy);
        let title = replaced.map(|d| d.title().into_owned()).unwrap_or_default();
        assert!(title.contains("with the tightened copy "), "{title}");
    }

    /// An id is written `D` and the 10 hex digits of its 40 bits, as text in JSON.
    #[test]
    fn a_decision_id_is_d_and_ten_hex_digits() {
        for bytes in [
            [0u8; 5],
            [0, 1, 2, 3, 4],
            [0xff; 5],
            [0xab, 0, 0xcd, 0, 0x1],
        ] {
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let id = super::DecisionId(bytes.iter().fold(0, |id, b| id << 8 | u64::from(*b)));
            assert_eq!(id.to_string(), format!("D{hex}"));
            assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"D{hex}\""));
        }
        assert_eq!(super::DecisionId::new(u64::MAX).to_string(), "Dffffffffff");
    }

    /// Ranking through the indices gives the order a stable sort of the decisions gives, ties
    /// (equal on every key) included, from any starting order.
    #[test]
    fn ranking_by_index_is_the_stable_sort() {
        let made = sample_decisions();
        assert!(made.len() > 10, "{}", made.len());
        // Copies of a decision with another title tie on every key: the list's order decides.
        let mut base = made.clone();
        for (n, d) in made.iter().take(3).enumerate() {
            let mut twin = d.clone();
            twin.title = format!("twin {n}").into();
            base.insert(n * 2, twin);
        }
        for turn in 0..base.len() {
            let mut list: Vec<_> = base
                .iter()
                .cycle()
                .skip(turn * 7)
                .take(base.len())
                .cloned()
                .collect();
            if turn % 2 == 1 {
                list.reverse();
            }
            let mut want = list.clone();
            for d in want.iter_mut() {
                d.id = super::id_of(d);
            }
            want.sort_by(super::order);
            for (i, d) in want.iter_mut().enumerate() {
                d.rank = i as u32 + 1;
            }
            super::rank(&mut list);
            assert_eq!(list, want, "turn {turn}");
        }
    }

    /// The identities' decisions are made after the plans', yet ranked from the order before:
    /// the identities' (those of principals not deleted, and the deletions), the plans', then
    /// intentional access (the order the rank's ties keep); `identities::deletions` names the
    /// principals and counts the decisions that filtering the identities' decisions gives.
    #[test]
    fn identity_decisions_are_ranked_first_though_made_last() {
        let (exports, org, an) = crate::sample_organization();
        let ids = identity_findings(&exports, &an, &IdentitySettings::new(90));
        let planned = crate::recommend::plan_all_organization(&exports, org.as_ref(), &an, None);
        let by_arn = super::identities::ByArn::new(&an);
        let mut list = super::identities::decisions(&by_arn, &ids);
        let mut deletions = super::identities::Deletions::new();
        for d in list.iter().filter(|d| d.kind.deletes_principal()) {
            deletions
                .entry(d.account_id.to_string())
                .or_default()
                .insert(d.principal_arn.to_string());
        }
        let deleted = |a: &str, arn: &str| super::deleted(&deletions, a, arn);
        let before = list.len();
        list.retain(|d| d.kind.deletes_principal() || !deleted(&d.account_id, &d.principal_arn));
        assert!(
            list.len() < before,
            "the sample deletes a principal with other decisions"
        );
        assert_eq!(
            super::identities::deletions(&by_arn, &ids),
            (deletions.clone(), list.len())
        );
        let path = |k: usize| {
            let p = &planned.plans[k];
            planned
                .summary
                .get(&p.account_id, p.kind, &p.name)
                .and_then(|r| r.path.as_deref().map(String::from))
        };
        let mut texts = super::Texts::default();
        let plans = list.len();
        super::permissions::append(&an, &planned.plans, &path, &deleted, &mut texts, &mut list);
        assert!(list.len() > plans);
        list.extend(
            an.principals
                .iter()
                .enumerate()
                .filter_map(|(i, p)| super::confirm_intentional(&an, (i, p), &[])),
        );
        super::rank(&mut list);
        let got = super::decide(&an, &planned.plans, &planned.summary, &ids).list;
        assert_eq!(got, list);
        // A decision the plans make that ties with an identity decision on every key of the
        // rank comes after it, though made first (the sample's decisions never tie).
        let parts = super::Parts::new(&an, &ids);
        let first = got.iter().find(|d| d.kind.deletes_principal()).unwrap();
        let mut twin = first.clone();
        twin.title = "made by the plans".into();
        let fill = |_: &(dyn Fn(&str, &str) -> bool + Sync),
                    _: &mut super::Texts,
                    list: &mut Vec<super::Decision>| list.push(twin.clone());
        let ranked = parts.finish(&ids, 1, fill).list;
        let at = |title: &str| ranked.iter().position(|d| d.title() == title).unwrap();
        assert_eq!(at(&first.title()) + 1, at(&twin.title()));
    }

    /// Making the decisions while summarising the plans and freeing those without a folder, in
    /// blocks of any size, gives the decisions [`super::decide`] gives and keeps the plans
    /// `keep_only_folders` keeps, with the summary `summarise` gives.
    #[test]
    fn deciding_while_releasing_plans_changes_nothing() {
        let (exports, org, an) = crate::sample_organization();
        let ids = identity_findings(&exports, &an, &IdentitySettings::new(90));
        let plan = || crate::recommend::plan_all_organization(&exports, org.as_ref(), &an, Some(2));
        let mut expected = plan();
        let want = super::decide(&an, &expected.plans, &expected.summary, &ids);
        expected.keep_only_folders();
        let names = |p: &crate::recommend::Planned| -> Vec<(String, String)> {
            p.plans
                .iter()
                .map(|x| (x.account_id.to_string(), x.name.clone()))
                .collect()
        };
        assert_eq!(names(&expected).len(), 2);
        let n = plan().plans.len();
        assert!(n > 6, "{n}");
        for block in [1, 2, 3, 5, n - 1, n, n + 1] {
            let made = plan();
            let plans = crate::recommend::Plans {
                plans: made.plans,
                folder: made.folder,
            };
            let (got, planned) = super::decide_releasing_in(&an, plans, &ids, block);
            assert_eq!(got.list, want.list, "block {block}");
            assert_eq!(got.list.capacity(), got.list.len(), "block {block}");
            assert_eq!(names(&planned), names(&expected), "block {block}");
            assert_eq!(planned.folder, expected.folder, "block {block}");
            assert_eq!(
                serde_json::to_value(&planned.summary).unwrap(),
                serde_json::to_value(&expected.summary).unwrap()
            );
        }
        // Releasing a range empties exactly the plans in it that get no folder.
        let fresh = plan();
        let mut planned = plan();
        planned.release_without_folder(1..n - 1);
        let mut released = 0;
        for (i, (was, now)) in fresh.plans.iter().zip(&planned.plans).enumerate() {
            let keeps = fresh.folder[i] && was.skipped.is_none() && !was.policies.is_empty();
            if (1..n - 1).contains(&i) && !keeps {
                assert!(now.policies.is_empty() && now.name.is_empty(), "{i}");
                released += usize::from(!was.policies.is_empty());
            } else {
                assert_eq!(
                    (&now.name, now.policies.len()),
                    (&was.name, was.policies.len()),
                    "{i}"
                );
            }
        }
        assert!(released > 0);
    }

    /// Two plans of one principal (next to each other, as in the analysis' order): the summary
    /// keeps the later, and the decisions of both name its folder, whatever the blocks, as
    /// [`super::decide`] with the summary of every plan does.
    #[test]
    fn a_principal_planned_twice_has_the_later_plans_folder() {
        let (exports, org, an) = crate::sample_organization();
        let ids = identity_findings(&exports, &an, &IdentitySettings::new(90));
        let made = crate::recommend::plan_all_organization(&exports, org.as_ref(), &an, None);
        // A plan whose decisions name its folder.
        let before = super::decide(&an, &made.plans, &made.summary, &ids).list;
        let i = (0..made.plans.len())
            .find(|&i| {
                let p = &made.plans[i];
                before.iter().any(|d| {
                    d.files.is_some()
                        && *d.principal_name == p.name
                        && *d.account_id == *p.account_id
                })
            })
            .expect("a plan with a folder");
        let mut plans = made.plans.clone();
        let mut folder = made.folder.clone();
        plans.insert(i + 1, plans[i].clone());
        folder.insert(i + 1, false);
        let summary = crate::recommend::summarise(&plans, &folder, &an);
        let want = super::decide(&an, &plans, &summary, &ids).list;
        let name = &plans[i].name;
        let of_it: Vec<_> = want.iter().filter(|d| &*d.principal_name == name).collect();
        assert!(!of_it.is_empty() && of_it.iter().all(|d| d.files.is_none()));
        for block in [1, 2, 3, i + 1, plans.len()] {
            let both = crate::recommend::Plans {
                plans: plans.clone(),
                folder: folder.clone(),
            };
            let (got, planned) = super::decide_releasing_in(&an, both, &ids, block);
            assert_eq!(got.list, want, "block {block}");
            assert_eq!(
                serde_json::to_value(&planned.summary).unwrap(),
                serde_json::to_value(&summary).unwrap()
            );
        }
    }

    /// Every text and risky-action list that two decisions repeat is one allocation, and sharing
    /// changes no decision.
    #[test]
    fn decisions_hold_each_repeated_text_once() {
        use std::collections::HashMap;
        use std::sync::Arc;
        let list = sample_decisions();
        let mut texts: HashMap<&str, &Arc<str>> = HashMap::new();
        let mut risky: HashMap<&[super::NamedAction], &Arc<[super::NamedAction]>> = HashMap::new();
        let (mut repeated, mut repeated_risky) = (0, 0);
        for d in &list {
            for t in [
                &d.account_id,
                &d.principal_name,
                &d.principal_arn,
                &d.subject,
                &d.evidence,
            ] {
                let first = *texts.entry(&**t).or_insert(t);
                assert!(Arc::ptr_eq(first, t), "{t} is held twice");
                repeated += usize::from(!std::ptr::eq(first, t));
            }
            let first = *risky.entry(&*d.risky_actions).or_insert(&d.risky_actions);
            assert!(Arc::ptr_eq(first, &d.risky_actions), "{d:?}");
            repeated_risky += usize::from(!std::ptr::eq(first, &d.risky_actions));
        }
        assert!(repeated > list.len(), "{repeated} of {}", list.len());
        assert!(repeated_risky > 0);
        // The same decisions as when each holds its own copies.
        let mut own = super::Texts::default();
        for d in &list {
            let copy = super::Decision {
                account_id: d.account_id.as_ref().into(),
                evidence: d.evidence.as_ref().into(),
                risky_actions: d.risky_actions.to_vec().into(),
                ..d.clone()
            };
            assert_eq!(own.share(copy), *d);
        }
    }
}
