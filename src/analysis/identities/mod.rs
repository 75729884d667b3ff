//! Unused identities and credentials: roles, users, access keys, passwords, root use, empty
//! groups and unattached customer-managed policies (issue 10).
//!
//! A pure function over the loaded exports and the finished [`Analysis`]: it reads each export's
//! credential report and authorization details, takes each export's as-of time from
//! `analysis.exports` (never the wall clock) and the `unused_role` flag from
//! [`PrincipalInfo::flags`]. Every rule and threshold is documented in `docs/identity-findings.md`.
//! A check that cannot run (no credential report, no as-of time, no root row, a user missing from
//! the report) is listed in [`IdentityReport::checks_not_possible`] instead of reporting nothing.

mod checks;

use checks::Ctx;
pub use checks::PolicyNamed;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use super::model::PermissionSetInfo;
use super::window::ReportTime;
use super::{Analysis, PrincipalInfo, Sensitivity};
use crate::model::{CredentialReportRow, Export, PrincipalType, Timestamp};

/// Default for `--key-max-age`: AWS Security Hub control IAM.3 and CIS AWS Foundations 1.14 both
/// ask for access keys to be rotated every 90 days or less.
pub const DEFAULT_KEY_MAX_AGE_DAYS: u32 = 90;

/// Thresholds for the identity checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IdentitySettings {
    /// The usage window in days; pass the same value as [`super::Settings::unused_after_days`]
    /// (the `unused_role` flag was computed with that one).
    pub unused_after_days: u32,
    /// `--key-max-age`: an active access key older than this many days is `access_key_old`.
    pub key_max_age_days: u32,
}

impl IdentitySettings {
    /// The window from the analysis settings and the default key age.
    pub fn new(unused_after_days: u32) -> IdentitySettings {
        IdentitySettings {
            unused_after_days,
            key_max_age_days: DEFAULT_KEY_MAX_AGE_DAYS,
        }
    }
}

/// What an identity finding is about. The order is the tie-break order within one principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    RootAccessKey,
    RootUsed,
    RootWithoutMfa,
    UnusedUser,
    UnusedRole,
    AccessKeyNeverUsed,
    AccessKeyUnused,
    AccessKeyOld,
    PasswordUnused,
    PasswordWithoutMfa,
    GroupWithoutMembers,
    PolicyUnattached,
}

impl IdentityKind {
    pub const ALL: [IdentityKind; 12] = [
        IdentityKind::RootAccessKey,
        IdentityKind::RootUsed,
        IdentityKind::RootWithoutMfa,
        IdentityKind::UnusedUser,
        IdentityKind::UnusedRole,
        IdentityKind::AccessKeyNeverUsed,
        IdentityKind::AccessKeyUnused,
        IdentityKind::AccessKeyOld,
        IdentityKind::PasswordUnused,
        IdentityKind::PasswordWithoutMfa,
        IdentityKind::GroupWithoutMembers,
        IdentityKind::PolicyUnattached,
    ];

    /// Checks that need the credential report.
    pub const NEED_CREDENTIAL_REPORT: [IdentityKind; 9] = [
        IdentityKind::RootAccessKey,
        IdentityKind::RootUsed,
        IdentityKind::RootWithoutMfa,
        IdentityKind::UnusedUser,
        IdentityKind::AccessKeyNeverUsed,
        IdentityKind::AccessKeyUnused,
        IdentityKind::AccessKeyOld,
        IdentityKind::PasswordUnused,
        IdentityKind::PasswordWithoutMfa,
    ];

    /// Checks that need an as-of time (they compare dates with the window or a maximum age).
    pub const NEED_AS_OF: [IdentityKind; 7] = [
        IdentityKind::RootUsed,
        IdentityKind::UnusedUser,
        IdentityKind::UnusedRole,
        IdentityKind::AccessKeyNeverUsed,
        IdentityKind::AccessKeyUnused,
        IdentityKind::AccessKeyOld,
        IdentityKind::PasswordUnused,
    ];

    /// Per-user credential checks (not the root ones).
    const USER_CREDENTIAL: [IdentityKind; 6] = [
        IdentityKind::UnusedUser,
        IdentityKind::AccessKeyNeverUsed,
        IdentityKind::AccessKeyUnused,
        IdentityKind::AccessKeyOld,
        IdentityKind::PasswordUnused,
        IdentityKind::PasswordWithoutMfa,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IdentityKind::RootAccessKey => "root_access_key",
            IdentityKind::RootUsed => "root_used",
            IdentityKind::RootWithoutMfa => "root_without_mfa",
            IdentityKind::UnusedUser => "unused_user",
            IdentityKind::UnusedRole => "unused_role",
            IdentityKind::AccessKeyNeverUsed => "access_key_never_used",
            IdentityKind::AccessKeyUnused => "access_key_unused",
            IdentityKind::AccessKeyOld => "access_key_old",
            IdentityKind::PasswordUnused => "password_unused",
            IdentityKind::PasswordWithoutMfa => "password_without_mfa",
            IdentityKind::GroupWithoutMembers => "group_without_members",
            IdentityKind::PolicyUnattached => "policy_unattached",
        }
    }

    /// The rule, in one sentence, for the HTML report and the docs.
    pub fn rule(self) -> &'static str {
        match self {
            IdentityKind::RootAccessKey => "The root user has an active access key.",
            IdentityKind::RootUsed => {
                "The root user's password or an access key was used within the window."
            }
            IdentityKind::RootWithoutMfa => "The root user has no MFA device.",
            IdentityKind::UnusedUser => {
                "A user older than the window whose password and access keys show no use in the window (nor does its last-accessed data)."
            }
            IdentityKind::UnusedRole => {
                "A role older than the window that neither RoleLastUsed nor its last-accessed data shows in use within the window."
            }
            IdentityKind::AccessKeyNeverUsed => {
                "An active access key, older than the window, that AWS never saw used."
            }
            IdentityKind::AccessKeyUnused => "An active access key last used before the window.",
            IdentityKind::AccessKeyOld => {
                "An active access key created (last rotated) more than --key-max-age days before the as-of date."
            }
            IdentityKind::PasswordUnused => {
                "A console password set before the window and not used in it."
            }
            IdentityKind::PasswordWithoutMfa => "A user with a console password and no MFA device.",
            IdentityKind::GroupWithoutMembers => "A group that no user in the export belongs to.",
            IdentityKind::PolicyUnattached => {
                "A customer-managed policy attached to nothing and used as no permissions boundary."
            }
        }
    }
}

/// What a finding is about: a principal, the root user or a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityPrincipalType {
    Root,
    Role,
    User,
    Group,
    PermissionSet,
    Policy,
}

impl IdentityPrincipalType {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityPrincipalType::Root => "root",
            IdentityPrincipalType::Role => "role",
            IdentityPrincipalType::User => "user",
            IdentityPrincipalType::Group => "group",
            IdentityPrincipalType::PermissionSet => "permission_set",
            IdentityPrincipalType::Policy => "policy",
        }
    }
}

impl From<PrincipalType> for IdentityPrincipalType {
    fn from(k: PrincipalType) -> Self {
        match k {
            PrincipalType::Role => IdentityPrincipalType::Role,
            PrincipalType::User => IdentityPrincipalType::User,
            PrincipalType::Group => IdentityPrincipalType::Group,
            PrincipalType::PermissionSet => IdentityPrincipalType::PermissionSet,
        }
    }
}

/// One unused or risky identity or credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdentityFinding {
    /// 1 = look at this first.
    pub rank: u32,
    pub account_id: String,
    pub kind: IdentityKind,
    pub principal_type: IdentityPrincipalType,
    /// `<root_account>` for the root user; the policy name for `policy_unattached`.
    pub principal_name: String,
    pub principal_arn: String,
    /// `password`, `access_key_1` or `access_key_2`; `None` for whole principals and policies.
    pub credential: Option<String>,
    pub sensitivity: Sensitivity,
    /// False for service-linked roles (only the owning AWS service can delete them) and IAM
    /// Identity Center roles (Identity Center owns them: their permission set is what changes).
    pub actionable: bool,
    /// Newest recorded use of what the finding is about; `None` when never used or unknown.
    pub last_used: Option<Timestamp>,
    /// Days from creation (a key's last rotation, a password's last change) to the as-of date.
    pub age_days: Option<i64>,
    /// Days from `last_used` to the as-of date; `None` when never used (see `age_days`).
    pub days_unused: Option<i64>,
    /// One plain sentence with the evidence.
    pub detail: String,
}

/// A check that could not run for an account, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct NotPossible {
    pub account_id: String,
    pub check: IdentityKind,
    pub reason: String,
    /// The ARNs of the only principals the check could not run for, when every reason names
    /// them (roles without `RoleLastUsed`); `None` when it could not run for the whole account.
    /// What `diff` asks ([`NotPossible::covers`]); the reason names the first 10 for a reader,
    /// JSON all of them (`principals`, left out for the whole account).
    #[serde(rename = "principals", skip_serializing_if = "Option::is_none")]
    pub only: Option<BTreeSet<String>>,
}

impl NotPossible {
    /// Whether the check could not run for the principal with ARN `arn` of this account.
    pub fn covers(&self, arn: &str) -> bool {
        self.only.as_ref().is_none_or(|only| only.contains(arn))
    }
}

/// The result of [`identity_findings`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IdentityReport {
    /// Ranked: sensitivity (highest first), account, principal type, principal name, kind,
    /// credential.
    pub findings: Vec<IdentityFinding>,
    /// Sorted by (account, check).
    pub checks_not_possible: Vec<NotPossible>,
}

impl IdentityReport {
    /// Actionable findings at or above `s` (for `--fail-on`).
    pub fn count_at_or_above(&self, s: Sensitivity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.actionable && f.sensitivity >= s)
            .count()
    }

    /// Findings of one kind, in rank order.
    pub fn of_kind(&self, kind: IdentityKind) -> impl Iterator<Item = &IdentityFinding> {
        self.findings.iter().filter(move |f| f.kind == kind)
    }
}

/// Finds unused and risky identities and credentials in every export. `exports` and
/// `analysis` must come from the same run (`analysis::analyze(exports, ..)`); each export's as-of
/// time is looked up in `analysis.exports` by account id.
pub fn identity_findings(
    exports: &[Export],
    analysis: &Analysis<'_>,
    settings: &IdentitySettings,
) -> IdentityReport {
    let mut collector = IdentityCollector::new(analysis, settings);
    for (i, export) in exports.iter().enumerate() {
        collector.add(i, export);
    }
    collector.finish()
}

/// The managed policies the conditions of the organisation part's SCPs and RCPs require (an
/// SCP that denies `iam:CreateRole` unless with this boundary), for
/// [`IdentityCollector::with_required_policies`]: read once per organisation part.
pub fn required_by_control_policies(
    organization: Option<&crate::model::organization::Organization>,
) -> Vec<PolicyNamed> {
    let documents = organization
        .into_iter()
        .flat_map(|o| &o.control_policies)
        .map(|p| &p.document);
    checks::policies_conditions_name(documents)
}

/// [`identity_findings`] an export at a time, for a caller that holds a few exports at a time
/// (`report` adds each batch of exports as planning reads them again): adding every export once,
/// in order, is [`identity_findings`].
pub struct IdentityCollector<'a> {
    analysis: &'a Analysis<'a>,
    settings: &'a IdentitySettings,
    /// Each account's principals, in the analysis' order (a walk over every principal per
    /// export was 94 s of a 1,000-account run).
    by_account: HashMap<&'a str, Vec<&'a PrincipalInfo>>,
    findings: Vec<IdentityFinding>,
    gaps: Gaps,
    /// The permission sets whose policy references keep a policy from being unattached: the
    /// analysis' organisation part's, unless [`IdentityCollector::with_permission_sets`].
    sets: Option<&'a [PermissionSetInfo]>,
    /// The command takes `--as-of` (`report`; not `diff`): a check without an as-of time says
    /// it was not given.
    as_of_flag: bool,
    /// The managed policies the organisation's SCPs and RCPs require by condition
    /// ([`IdentityCollector::with_required_policies`]).
    required: &'a [PolicyNamed],
}

impl<'a> IdentityCollector<'a> {
    pub fn new(analysis: &'a Analysis<'a>, settings: &'a IdentitySettings) -> Self {
        let mut by_account: HashMap<&str, Vec<&PrincipalInfo>> = HashMap::new();
        for p in &analysis.principals {
            by_account.entry(&*p.account_id).or_default().push(p);
        }
        IdentityCollector {
            analysis,
            settings,
            by_account,
            findings: Vec::new(),
            gaps: Gaps::default(),
            sets: None,
            as_of_flag: true,
            required: &[],
        }
    }

    /// For a command without `--as-of` (`diff`, which takes each export's own time): what the
    /// checks of an export without a time say does not name the flag.
    pub fn without_as_of_flag(mut self) -> Self {
        self.as_of_flag = false;
        self
    }

    /// The permission sets of an organisation part the analysis was not given (`diff` analyses
    /// each export alone): a customer managed policy that one of them references is not
    /// unattached where the set is provisioned ([`crate::analysis::permission_set_references`]).
    pub fn with_permission_sets(mut self, sets: &'a [PermissionSetInfo]) -> Self {
        self.sets = Some(sets);
        self
    }

    /// What the organisation part's SCPs and RCPs require ([`required_by_control_policies`]):
    /// a managed policy they name is not unattached.
    pub fn with_required_policies(mut self, required: &'a [PolicyNamed]) -> Self {
        self.required = required;
        self
    }

    /// The findings of `export`, the `index`-th of the run's exports.
    pub fn add(&mut self, index: usize, export: &Export) {
        let exports = &self.analysis.exports;
        let info = exports
            .get(index)
            .filter(|e| e.account_id == export.account_id)
            .or_else(|| exports.iter().find(|e| e.account_id == export.account_id));
        let principals = self
            .by_account
            .get(export.account_id.as_str())
            .cloned()
            .unwrap_or_default();
        // An --as-of the export cannot be checked against (it has no time of its own) could lie
        // years past it: a use after the export was made would not be in it, so nothing could be
        // called unused, or old, at that time.
        let unverified = info
            .filter(|e| e.as_of_source == crate::analysis::AsOfSource::Flag)
            .filter(|_| export.own_time().is_none())
            .and_then(|e| e.as_of);
        let as_of = info.and_then(|e| e.as_of).filter(|_| unverified.is_none());
        let ctx = Ctx::new(export, principals, as_of, self.settings);
        self.gaps.note(&ctx, unverified, self.as_of_flag);
        let findings = &mut self.findings;
        if let Some(rows) = &export.credential_report {
            // The report shows nothing after it was generated: its checks are judged then when
            // that is before the as-of time (the window keeps its length, and ends there), or,
            // when that is not recorded, at the oldest last-accessed report when those are more
            // than a day apart.
            // (The export's last-accessed data is freed by now; each principal's window ends
            // at its own report when that is earlier: the oldest is the oldest report's.)
            let oldest_job = ctx.principals.iter().filter_map(|p| p.as_of).min();
            let generated =
                crate::analysis::window::credential_report_time(export, oldest_job, as_of);
            let earlier = generated.map(|g| ctx.judged_at(g, self.settings));
            let cred = earlier.as_ref().unwrap_or(&ctx);
            let (mut unjudged, mut after_report) = (Vec::new(), Vec::new());
            for row in rows {
                if row.is_root() {
                    cred.root(row, findings);
                } else {
                    cred.user(row, findings, (&mut unjudged, &mut after_report));
                }
            }
            self.gaps.unjudged_users(&export.account_id, &unjudged);
            if let Some(generated) = generated {
                self.gaps
                    .called_after_report(&export.account_id, &after_report, generated);
            }
        }
        ctx.roles(findings);
        ctx.groups(findings);
        let sets = self.sets.unwrap_or_else(|| {
            self.analysis
                .organization
                .as_ref()
                .map_or(&[][..], |o| &o.permission_sets[..])
        });
        ctx.policies((sets, self.required), findings);
    }

    /// Every finding added, ranked, and the checks that could not run.
    pub fn finish(self) -> IdentityReport {
        let mut findings = self.findings;
        // Held to the last writer: without the room pushing left (~17 MB at 1,000,000 roles).
        findings.shrink_to_fit();
        rank(&mut findings);
        IdentityReport {
            findings,
            checks_not_possible: self.gaps.finish(),
        }
    }
}

/// Ranked: sensitivity (highest first), account, principal type, principal name, kind, credential
/// (public for callers that analyse accounts one at a time and rank their findings together).
pub fn rank(findings: &mut [IdentityFinding]) {
    // Sorted through indices (`memory::sort_stable_by`): a stable sort of the findings
    // themselves took a buffer of half of them (~37 MB at 1,000,000 roles) at the end of
    // planning, the run's peak there.
    crate::memory::sort_stable_by(findings, |a, b| {
        (
            Reverse(a.sensitivity),
            &a.account_id,
            a.principal_type,
            &a.principal_name,
            a.kind,
            &a.credential,
        )
            .cmp(&(
                Reverse(b.sensitivity),
                &b.account_id,
                b.principal_type,
                &b.principal_name,
                b.kind,
                &b.credential,
            ))
    });
    for (i, f) in findings.iter_mut().enumerate() {
        f.rank = i as u32 + 1;
    }
}

/// Whether the export lists any principal of `kind`.
fn lists(export: &Export, kind: PrincipalType) -> bool {
    export.principals.iter().any(|p| p.kind == kind)
}

/// Whether the export lists any user: a group's members are known only from its users'
/// `GroupList`s, so without users every group would look empty.
fn has_users(export: &Export) -> bool {
    lists(export, PrincipalType::User)
}

/// The names of the account's own managed policies that a principal attaches (or has as its
/// permissions boundary) but the export's `Policies` lack, sorted.
fn unlisted_local_policies(export: &Export) -> Vec<String> {
    let names: BTreeSet<&str> = export
        .principals
        .iter()
        .flat_map(|p| p.attached_policies.iter().chain(&p.permissions_boundary))
        .filter(|arn| crate::model::arn::account(arn) == Some(export.account_id.as_str()))
        .filter(|arn| !export.policies.contains_key(arn.as_str()))
        .map(|arn| crate::model::arn::name(arn))
        .collect();
    names.into_iter().map(str::to_string).collect()
}

/// The checks that could not run, per account, with every reason.
#[derive(Default)]
struct Gaps(BTreeMap<(String, IdentityKind), Gap>);

/// Why one check could not run for one account, and for which of its principals.
#[derive(Default)]
struct Gap {
    reasons: BTreeSet<String>,
    /// Whether a reason holds for the whole account.
    whole: bool,
    /// The ARNs the other reasons name.
    only: BTreeSet<String>,
}

impl Gaps {
    /// The checks `kinds` could not run for the whole account, because of `reason`.
    fn add(&mut self, account_id: &str, kinds: &[IdentityKind], reason: &str) {
        for k in kinds {
            let gap = self.0.entry((account_id.to_string(), *k)).or_default();
            gap.reasons.insert(reason.to_string());
            gap.whole = true;
        }
    }

    /// The check `kind` could not run for the principals with ARNs `arns` of the account (only
    /// for them: `diff` calls another principal's earlier finding resolved when it is gone).
    fn add_for(&mut self, account_id: &str, kind: IdentityKind, arns: &[&str], reason: &str) {
        let gap = self.0.entry((account_id.to_string(), kind)).or_default();
        gap.reasons.insert(reason.to_string());
        gap.only.extend(arns.iter().map(|a| a.to_string()));
    }

    /// What the export lacks for the checks: an as-of time, principals or policies in its
    /// authorization details, a credential report or rows of it.
    /// `unverified`: the `--as-of` not used because the export has no time to check it against;
    /// `as_of_flag`: the command takes `--as-of`.
    fn note(&mut self, ctx: &Ctx<'_>, unverified: Option<Timestamp>, as_of_flag: bool) {
        let account = ctx.export.account_id.as_str();
        if let Some(flag) = unverified {
            self.add(
                account,
                &IdentityKind::NEED_AS_OF,
                &format!(
                    "the export has no time of its own (no last-accessed job dates, no manifest.json), so --as-of {} cannot be checked against it: a use after the export was made would not be in it, so whether anything is unused or old at that time cannot be told",
                    crate::model::rfc3339(flag)
                ),
            );
        } else if ctx.as_of.is_none() {
            let why = if as_of_flag {
                "no as-of time: the export has no last-accessed job dates and no manifest time, and --as-of was not given"
            } else {
                "no as-of time: the export has no last-accessed job dates and no manifest time"
            };
            self.add(account, &IdentityKind::NEED_AS_OF, why);
        } else if ctx.window_start.is_none() || ctx.key_cutoff.is_none() {
            // Unreachable with validated flags and RFC 3339 inputs; checked all the same.
            self.add(
                account,
                &IdentityKind::NEED_AS_OF,
                "the window or --key-max-age reaches before the earliest representable date",
            );
        }
        self.note_listing(ctx);
        self.note_credential_report(ctx);
    }

    /// Users with an active access key the credential report gives no creation or rotation
    /// date for (`N/A`, which AWS writes only where there is no key): whether the key is unused
    /// or old, or the user unused, cannot be told (nothing was said, review pass 47).
    fn note_undated_keys(&mut self, ctx: &Ctx<'_>) {
        let undated: Vec<&crate::model::CredentialReportRow> = ctx
            .export
            .credential_report
            .iter()
            .flatten()
            .filter(|r| !r.is_root())
            .filter(|r| {
                r.access_keys
                    .iter()
                    .any(|k| k.active && k.last_rotated.date().is_none())
            })
            .collect();
        if undated.is_empty() {
            return;
        }
        let arns: Vec<&str> = undated.iter().map(|r| r.arn.as_str()).collect();
        let names: Vec<&str> = undated.iter().map(|r| r.user.as_str()).collect();
        let reason = format!(
            "the credential report gives no date an active access key of {} {} was created or \
             rotated (N/A, which AWS writes only where there is no key: an edited report?), so \
             whether the key is unused or old, or the user unused, cannot be told",
            if undated.len() == 1 { "user" } else { "users" },
            crate::model::listed(&names, 10)
        );
        for kind in [
            IdentityKind::AccessKeyNeverUsed,
            IdentityKind::AccessKeyUnused,
            IdentityKind::AccessKeyOld,
            IdentityKind::UnusedUser,
        ] {
            self.add_for(ctx.export.account_id.as_str(), kind, &arns, &reason);
        }
    }

    /// What the authorization details leave out: a kind of principal, `RoleLastUsed`, policies.
    fn note_listing(&mut self, ctx: &Ctx<'_>) {
        let account = ctx.export.account_id.as_str();
        if !has_users(ctx.export) && lists(ctx.export, PrincipalType::Group) {
            self.add(
                account,
                &[IdentityKind::GroupWithoutMembers],
                "the export lists groups but no users (authorization details fetched with --filter, or its users left out?), so which groups have members cannot be told",
            );
        }
        if !lists(ctx.export, PrincipalType::Role) {
            // AWS makes service-linked roles in every account (AWSServiceRoleForSupport,
            // AWSServiceRoleForTrustedAdvisor): none listed means the kind was left out, and an
            // earlier unused role cannot be told resolved (`diff`) from not looked at.
            self.add(
                account,
                &[IdentityKind::UnusedRole],
                "the export lists no roles (authorization details fetched with --filter, or its roles left out?), so which roles are unused cannot be told",
            );
        }
        self.note_undated_keys(ctx);
        let unrecorded: Vec<&crate::model::Principal> = ctx
            .export
            .principals
            .iter()
            .filter(|p| p.kind == PrincipalType::Role && p.role_last_used.is_none())
            .collect();
        if !unrecorded.is_empty() {
            let arns: Vec<&str> = unrecorded.iter().map(|p| p.arn.as_str()).collect();
            let unrecorded: Vec<&str> = unrecorded.iter().map(|p| p.name.as_str()).collect();
            self.add_for(
                account,
                IdentityKind::UnusedRole,
                &arns,
                &format!(
                    "the export has no RoleLastUsed for {} {} (left out of a hand-made export?), \
                     and last-accessed data does not show a role assumed only to use what \
                     resource-based policies grant it, so whether {} unused cannot be told",
                    if unrecorded.len() == 1 {
                        "role"
                    } else {
                        "roles"
                    },
                    crate::model::listed(&unrecorded, 10),
                    if unrecorded.len() == 1 {
                        "it is"
                    } else {
                        "they are"
                    },
                ),
            );
        }
        let uncounted =
            ctx.export.policies.values().any(|p| {
                !p.aws_managed && (p.attachment_count.is_none() || p.boundary_uses.is_none())
            });
        let not_listed = ctx.export.kinds_not_listed();
        if uncounted && !not_listed.is_empty() {
            self.add(
                account,
                &[IdentityKind::PolicyUnattached],
                &format!(
                    "customer managed policies without an AttachmentCount or a \
                     PermissionsBoundaryUsageCount, and the export lists no {} (authorization \
                     details fetched with --filter?), so whether they are attached, or used as a \
                     permissions boundary, cannot be told",
                    not_listed.join(" and no ")
                ),
            );
        }
        let unlisted = unlisted_local_policies(ctx.export);
        if !unlisted.is_empty() {
            // Its Policies list was cut (`--filter Role`, say): an earlier unattached policy it
            // does not list may be deleted or only left out, so `diff` cannot call it resolved.
            self.add(
                account,
                &[IdentityKind::PolicyUnattached],
                &format!(
                    "the export's Policies lack customer managed policies its principals attach \
                     ({}; authorization details fetched with --filter?), so whether a policy it \
                     does not list is unattached cannot be told",
                    crate::model::listed(&unlisted, 10)
                ),
            );
        }
    }

    /// What the credential report lacks: the report, its root row, rows of the export's users.
    fn note_credential_report(&mut self, ctx: &Ctx<'_>) {
        let account = ctx.export.account_id.as_str();
        let Some(rows) = &ctx.export.credential_report else {
            self.add(
                account,
                &IdentityKind::NEED_CREDENTIAL_REPORT,
                "the export has no credential-report.csv (aws iam get-credential-report), so access keys, passwords and the root user cannot be checked",
            );
            return;
        };
        if !rows.iter().any(CredentialReportRow::is_root) {
            self.add(
                account,
                &[
                    IdentityKind::RootAccessKey,
                    IdentityKind::RootUsed,
                    IdentityKind::RootWithoutMfa,
                ],
                "the credential report has no <root_account> row",
            );
        }
        // Its rows of users the authorization details do not list were left out (the warning
        // names them): with no user listed at all, which users exist cannot be told.
        if !has_users(ctx.export)
            && ctx
                .export
                .warnings
                .iter()
                .any(|w| w.code == crate::input::credential_report::UNKNOWN_USER)
        {
            self.add(
                account,
                &IdentityKind::USER_CREDENTIAL,
                "the export lists no users, but its credential report does (authorization details fetched with --filter, or its users left out?), so which users exist cannot be told",
            );
        }
        let missing: Vec<&str> = ctx
            .export
            .principals
            .iter()
            .filter(|p| p.kind == PrincipalType::User)
            .filter(|p| !rows.iter().any(|r| !r.is_root() && r.user == p.name))
            .map(|p| p.name.as_str())
            .collect();
        let reason = match missing.as_slice() {
            [] => return,
            [one] => format!(
                "user {one} is not in the credential report (is the report older than the user?)"
            ),
            many => format!(
                "users {} are not in the credential report (is the report older than them?)",
                many.join(", ")
            ),
        };
        self.add(account, &IdentityKind::USER_CREDENTIAL, &reason);
    }

    /// Users only their (missing) last-accessed data could show unused (`Ctx::unused_user`).
    fn unjudged_users(&mut self, account: &str, users: &[String]) {
        let (who, whether) = match users {
            [] => return,
            [one] => (format!("user {one} has"), "it is"),
            many => (
                format!("users {} have", crate::model::listed(many, 10)),
                "they are",
            ),
        };
        self.add(
            account,
            &[IdentityKind::UnusedUser],
            &format!(
                "{who} no last-accessed data, and the credential report shows no use of the \
                 service-specific credentials (Amazon Bedrock API keys, CodeCommit Git \
                 credentials), SSH public keys or signing certificates a user may call AWS \
                 with, so whether {whether} unused cannot be told"
            ),
        );
    }

    /// Users whose last-accessed data shows a call after the credential report was generated
    /// (`Ctx::user`): whether their keys and passwords are unused cannot be told.
    fn called_after_report(
        &mut self,
        account: &str,
        users: &[checks::CalledAfterReport],
        generated: ReportTime,
    ) {
        use checks::day;
        let who = match users {
            [] => return,
            [one] => format!("user {} called AWS on {}", one.name, day(one.at)),
            many => {
                let named: Vec<String> = many
                    .iter()
                    .map(|u| format!("{} (on {})", u.name, day(u.at)))
                    .collect();
                format!("users {} called AWS", crate::model::listed(&named, 10))
            }
        };
        let when = match generated {
            ReportTime::Generated(t) => {
                format!("the credential report was generated on {}", day(t))
            }
            ReportTime::Unrecorded(t) => format!(
                "{}, the earliest the credential report can have been generated (when it was is \
                 not recorded, and the last-accessed reports are more than a day apart)",
                day(t)
            ),
        };
        let reason = format!(
            "{who} after {when} (their last-accessed data shows it), with credentials the \
             report cannot show, so whether their access keys and passwords are unused cannot be \
             told"
        );
        let arns: Vec<&str> = users.iter().map(|u| u.arn.as_str()).collect();
        for kind in [
            IdentityKind::AccessKeyNeverUsed,
            IdentityKind::AccessKeyUnused,
            IdentityKind::PasswordUnused,
        ] {
            self.add_for(account, kind, &arns, &reason);
        }
    }

    fn finish(self) -> Vec<NotPossible> {
        self.0
            .into_iter()
            .map(|((account_id, check), gap)| NotPossible {
                account_id,
                check,
                reason: gap.reasons.into_iter().collect::<Vec<_>>().join("; "),
                only: (!gap.whole).then_some(gap.only),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::checks::used_in;
    use super::*;

    /// A gap is for some principals only while every reason names them: their ARNs together;
    /// one reason for the whole account makes it the whole account's.
    #[test]
    fn a_gap_covers_the_principals_its_reasons_name_or_the_whole_account() {
        let (a, b, c) = (
            "arn:aws:iam::1:role/a",
            "arn:aws:iam::1:role/b",
            "arn:aws:iam::1:role/c",
        );
        let mut gaps = Gaps::default();
        gaps.add_for("1", IdentityKind::UnusedRole, &[a], "one");
        gaps.add_for("1", IdentityKind::UnusedRole, &[b], "two");
        gaps.add_for("2", IdentityKind::UnusedRole, &[a], "one");
        gaps.add("2", &[IdentityKind::UnusedRole], "all");
        let found = gaps.finish();
        assert_eq!(found.len(), 2);
        let [one, two] = &found[..] else {
            unreachable!()
        };
        assert_eq!(
            (one.account_id.as_str(), one.reason.as_str()),
            ("1", "one; two")
        );
        assert!(one.covers(a) && one.covers(b) && !one.covers(c));
        assert_eq!(two.only, None);
        assert!(two.covers(a) && two.covers(c));
    }

    #[test]
    fn kinds_are_listed_once_and_named_as_serde_does() {
        for k in IdentityKind::ALL {
            let json = serde_json::to_string(&k).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
            assert!(!k.rule().is_empty());
        }
        let set: BTreeSet<_> = IdentityKind::ALL.iter().collect();
        assert_eq!(set.len(), IdentityKind::ALL.len());
    }

    #[test]
    fn used_in_window_is_inclusive() {
        let ws = chrono::DateTime::from_timestamp(1_000, 0).unwrap_or_default();
        assert!(used_in(Some(ws), ws));
        assert!(!used_in(Some(ws - chrono::Duration::seconds(1)), ws));
        assert!(!used_in(None, ws));
    }
}
