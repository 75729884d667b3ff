//! Unused identities and credentials: roles, users, access keys, passwords, root use, empty
//! groups and unattached customer-managed policies (issue 10).
//!
//! A pure function over the loaded exports and the finished [`Analysis`]: it reads each export's
//! credential report and authorization details, takes each export's as-of time from
//! `analysis.exports` (never the wall clock) and the `unused_role` flag from
//! [`PrincipalInfo::flags`]. Every rule and threshold is documented in `docs/identity-findings.md`.
//! A check that cannot run (no credential report, no as-of time, no root row, a user missing from
//! the report) is listed in [`IdentityReport::checks_not_possible`] instead of reporting nothing.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{Analysis, PrincipalInfo, Sensitivity};
use crate::model::{
    AccessKeyInfo, CredentialReportRow, Export, PrincipalType, Timestamp, days_before, whole_days,
};

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
    pub const ALL: [IdentityKind; 11] = [
        IdentityKind::RootAccessKey,
        IdentityKind::RootUsed,
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
    pub const NEED_CREDENTIAL_REPORT: [IdentityKind; 8] = [
        IdentityKind::RootAccessKey,
        IdentityKind::RootUsed,
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
                "A console password last used before the window, or never used and set before the window."
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
    Policy,
}

impl IdentityPrincipalType {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityPrincipalType::Root => "root",
            IdentityPrincipalType::Role => "role",
            IdentityPrincipalType::User => "user",
            IdentityPrincipalType::Group => "group",
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
    /// False for service-linked roles: only the owning AWS service can delete them.
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
    let mut findings = Vec::new();
    let mut not_possible: BTreeMap<(String, IdentityKind), BTreeSet<String>> = BTreeMap::new();
    for (i, export) in exports.iter().enumerate() {
        let info = analysis
            .exports
            .get(i)
            .filter(|e| e.account_id == export.account_id)
            .or_else(|| {
                analysis
                    .exports
                    .iter()
                    .find(|e| e.account_id == export.account_id)
            });
        let as_of = info.and_then(|e| e.as_of);
        let ctx = Ctx {
            export,
            principals: analysis
                .principals
                .iter()
                .filter(|p| p.account_id == export.account_id)
                .collect(),
            as_of,
            window_days: settings.unused_after_days,
            window_start: as_of.and_then(|t| days_before(t, settings.unused_after_days)),
            key_max_age_days: settings.key_max_age_days,
            key_cutoff: as_of.and_then(|t| days_before(t, settings.key_max_age_days)),
        };
        let mut gap = |kinds: &[IdentityKind], reason: String| {
            for k in kinds {
                not_possible
                    .entry((export.account_id.clone(), *k))
                    .or_default()
                    .insert(reason.clone());
            }
        };
        if as_of.is_none() {
            gap(
                &IdentityKind::NEED_AS_OF,
                "no as-of time: the export has no last-accessed job dates and no manifest time, and --as-of was not given".into(),
            );
        } else if ctx.window_start.is_none() || ctx.key_cutoff.is_none() {
            // Unreachable with validated flags and RFC 3339 inputs; checked all the same.
            gap(
                &IdentityKind::NEED_AS_OF,
                "the window or --key-max-age reaches before the earliest representable date".into(),
            );
        }
        match &export.credential_report {
            None => gap(
                &IdentityKind::NEED_CREDENTIAL_REPORT,
                "the export has no credential-report.csv (aws iam get-credential-report), so access keys, passwords and the root user cannot be checked".into(),
            ),
            Some(rows) => {
                if !rows.iter().any(CredentialReportRow::is_root) {
                    gap(
                        &[IdentityKind::RootAccessKey, IdentityKind::RootUsed],
                        "the credential report has no <root_account> row".into(),
                    );
                }
                let missing: Vec<&str> = export
                    .principals
                    .iter()
                    .filter(|p| p.kind == PrincipalType::User)
                    .filter(|p| !rows.iter().any(|r| !r.is_root() && r.user == p.name))
                    .map(|p| p.name.as_str())
                    .collect();
                if !missing.is_empty() {
                    gap(
                        &IdentityKind::USER_CREDENTIAL,
                        match missing.as_slice() {
                            [one] => format!(
                                "user {one} is not in the credential report (is the report older than the user?)"
                            ),
                            many => format!(
                                "users {} are not in the credential report (is the report older than them?)",
                                many.join(", ")
                            ),
                        },
                    );
                }
                for row in rows {
                    if row.is_root() {
                        ctx.root(row, &mut findings);
                    } else {
                        ctx.user(row, &mut findings);
                    }
                }
            }
        }
        ctx.roles(&mut findings);
        ctx.groups(&mut findings);
        ctx.policies(&mut findings);
    }

    findings.sort_by(|a, b| {
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
    let checks_not_possible = not_possible
        .into_iter()
        .map(|((account_id, check), reasons)| NotPossible {
            account_id,
            check,
            reason: reasons.into_iter().collect::<Vec<_>>().join("; "),
        })
        .collect();
    IdentityReport {
        findings,
        checks_not_possible,
    }
}

/// Everything the checks of one export need.
struct Ctx<'a> {
    export: &'a Export,
    /// The analysis' principals of this account.
    principals: Vec<&'a PrincipalInfo>,
    as_of: Option<Timestamp>,
    window_days: u32,
    window_start: Option<Timestamp>,
    key_max_age_days: u32,
    key_cutoff: Option<Timestamp>,
}

/// Who a finding is about.
struct Subject<'s> {
    ptype: IdentityPrincipalType,
    name: &'s str,
    arn: &'s str,
}

fn day(t: Timestamp) -> String {
    t.format("%Y-%m-%d").to_string()
}

fn used_in(t: Option<Timestamp>, window_start: Timestamp) -> bool {
    t.is_some_and(|t| t >= window_start)
}

fn raise_if_unused_high(base: Sensitivity, p: Option<&PrincipalInfo>) -> (Sensitivity, String) {
    match p {
        Some(p) if p.unused_by_sensitivity.critical + p.unused_by_sensitivity.high > 0 => (
            Sensitivity::High,
            format!(
                " Its unused permissions include {} of critical and {} of high sensitivity.",
                p.unused_by_sensitivity.critical, p.unused_by_sensitivity.high
            ),
        ),
        _ => (base, String::new()),
    }
}

impl Ctx<'_> {
    fn finding(
        &self,
        kind: IdentityKind,
        who: &Subject<'_>,
        sensitivity: Sensitivity,
    ) -> IdentityFinding {
        IdentityFinding {
            rank: 0,
            account_id: self.export.account_id.clone(),
            kind,
            principal_type: who.ptype,
            principal_name: who.name.to_string(),
            principal_arn: who.arn.to_string(),
            credential: None,
            sensitivity,
            actionable: true,
            last_used: None,
            age_days: None,
            days_unused: None,
            detail: String::new(),
        }
    }

    /// Whole days from `t` to the as-of date (0 when `t` is after it).
    fn days(&self, t: Option<Timestamp>) -> Option<i64> {
        match (self.as_of, t) {
            (Some(a), Some(t)) => Some(whole_days(t, a).max(0)),
            _ => None,
        }
    }

    /// `2026-05-03 (201 days before the as-of date)`.
    fn when(&self, t: Timestamp) -> String {
        match (self.days(Some(t)), self.as_of) {
            (_, Some(a)) if t > a => format!("{} (after the as-of date)", day(t)),
            (Some(d), _) => format!("{} ({d} days before the as-of date)", day(t)),
            (None, _) => day(t),
        }
    }

    fn window_text(&self, ws: Timestamp) -> String {
        format!(
            "the {}-day window that starts {}",
            self.window_days,
            day(ws)
        )
    }

    fn principal(&self, kind: PrincipalType, name: &str) -> Option<&PrincipalInfo> {
        self.principals
            .iter()
            .copied()
            .find(|p| p.kind == kind && p.name == name)
    }

    fn root(&self, row: &CredentialReportRow, out: &mut Vec<IdentityFinding>) {
        let who = Subject {
            ptype: IdentityPrincipalType::Root,
            name: &row.user,
            arn: &row.arn,
        };
        for (n, key) in keys(row) {
            if !key.active {
                continue;
            }
            let created = key.last_rotated.date();
            let last = key.last_used_date.date();
            let mut f = self.finding(IdentityKind::RootAccessKey, &who, Sensitivity::Critical);
            f.credential = Some(key_name(n));
            f.last_used = last;
            f.age_days = self.days(created);
            f.days_unused = self.days(last);
            f.detail = format!(
                "The root user has an active access key {n}{}, {}; AWS advises against any root access key.",
                created
                    .map(|c| format!(" created on {}", day(c)))
                    .unwrap_or_default(),
                match last {
                    Some(t) => format!("last used on {}", self.when(t)),
                    None => "never used".into(),
                }
            );
            out.push(f);
        }
        let Some(ws) = self.window_start else {
            return;
        };
        let mut used: Vec<(String, Timestamp)> = Vec::new();
        if let Some(t) = row.password_last_used.date() {
            used.push(("password".into(), t));
        }
        for (n, key) in keys(row) {
            if let Some(t) = key.last_used_date.date() {
                used.push((key_name(n), t));
            }
        }
        for (credential, t) in used {
            if t < ws {
                continue;
            }
            let what = if credential == "password" {
                "password (console sign-in)".to_string()
            } else {
                credential.replace('_', " ")
            };
            let mut f = self.finding(IdentityKind::RootUsed, &who, Sensitivity::Critical);
            f.last_used = Some(t);
            f.days_unused = self.days(Some(t));
            let during = if self.as_of.is_some_and(|a| t > a) {
                "after the as-of date (--as-of is earlier than the data)".to_string()
            } else {
                format!("within {}", self.window_text(ws))
            };
            f.detail = format!(
                "The root user's {what} was used on {}, {during}; check that this use was intended.",
                self.when(t),
            );
            f.credential = Some(credential);
            out.push(f);
        }
    }

    fn user(&self, row: &CredentialReportRow, out: &mut Vec<IdentityFinding>) {
        let p = self.principal(PrincipalType::User, &row.user);
        let arn = p.map_or(row.arn.as_str(), |p| p.arn.as_str());
        let who = Subject {
            ptype: IdentityPrincipalType::User,
            name: &row.user,
            arn,
        };
        let password_enabled = row.password_enabled == Some(true);
        let password_last = row.password_last_used.date();
        // When the current password was set: its last change, else the user's creation.
        let password_set = row
            .password_last_changed
            .date()
            .or(row.user_creation_time.date());

        if password_enabled && !row.mfa_active {
            let mut f = self.finding(IdentityKind::PasswordWithoutMfa, &who, Sensitivity::High);
            f.credential = Some("password".into());
            f.last_used = password_last;
            f.age_days = self.days(password_set);
            f.days_unused = self.days(password_last);
            f.detail = format!(
                "User {} can sign in to the console with a password and has no MFA device; {}.",
                row.user,
                match password_last {
                    Some(t) => format!("the password was last used on {}", self.when(t)),
                    None => format!(
                        "the password has no recorded use ({})",
                        sentinel(row.password_last_used)
                    ),
                }
            );
            out.push(f);
        }

        for (n, key) in keys(row) {
            if !key.active {
                continue;
            }
            let created = key.last_rotated.date();
            let last = key.last_used_date.date();
            let base = |ctx: &Self, kind| {
                let mut f = ctx.finding(kind, &who, Sensitivity::High);
                f.credential = Some(key_name(n));
                f.last_used = last;
                f.age_days = ctx.days(created);
                f.days_unused = ctx.days(last);
                f
            };
            if let Some(ws) = self.window_start {
                match (last, created) {
                    (None, Some(c)) if c < ws => {
                        let mut f = base(self, IdentityKind::AccessKeyNeverUsed);
                        f.detail = format!(
                            "Access key {n} of user {} is active, was created on {} and was never used (last used: N/A).",
                            row.user,
                            self.when(c)
                        );
                        out.push(f);
                    }
                    (Some(t), _) if t < ws => {
                        let mut f = base(self, IdentityKind::AccessKeyUnused);
                        f.detail = format!(
                            "Access key {n} of user {} is active and was last used on {}{}, before {}.",
                            row.user,
                            self.when(t),
                            key.last_used_service
                                .as_deref()
                                .map(|s| format!(" for {s}"))
                                .unwrap_or_default(),
                            self.window_text(ws)
                        );
                        out.push(f);
                    }
                    _ => {}
                }
            }
            if let (Some(cutoff), Some(c)) = (self.key_cutoff, created)
                && c < cutoff
            {
                let mut f = base(self, IdentityKind::AccessKeyOld);
                f.detail = format!(
                    "Access key {n} of user {} is active and was created or last rotated on {}, more than {} days ago; rotate it.",
                    row.user,
                    self.when(c),
                    self.key_max_age_days
                );
                out.push(f);
            }
        }

        let Some(ws) = self.window_start else {
            return;
        };
        if password_enabled {
            let stale = match password_last {
                Some(t) => t < ws,
                None => password_set.is_some_and(|s| s < ws),
            };
            if stale {
                let mut f = self.finding(IdentityKind::PasswordUnused, &who, Sensitivity::Medium);
                f.credential = Some("password".into());
                f.last_used = password_last;
                f.age_days = self.days(password_set);
                f.days_unused = self.days(password_last);
                f.detail = match (password_last, password_set) {
                    (Some(t), _) => format!(
                        "User {}'s console password is enabled and was last used on {}, before {}.",
                        row.user,
                        self.when(t),
                        self.window_text(ws)
                    ),
                    (None, s) => format!(
                        "User {}'s console password is enabled, was set on {} and has no recorded use ({}).",
                        row.user,
                        s.map(|s| self.when(s)).unwrap_or_default(),
                        sentinel(row.password_last_used)
                    ),
                };
                out.push(f);
            }
        }

        // unused_user: the user is older than the window and nothing it can sign in with was used.
        let created = row.user_creation_time.date().or(p.and_then(|p| p.created));
        let Some(created) = created.filter(|c| *c < ws) else {
            return;
        };
        let service_use = p.and_then(|p| p.last_used);
        let mut uses = vec![password_last, service_use];
        uses.extend(keys(row).map(|(_, k)| k.last_used_date.date()));
        if uses.iter().any(|t| used_in(*t, ws)) {
            return;
        }
        let last = uses.into_iter().flatten().max();
        let (sensitivity, extra) = raise_if_unused_high(Sensitivity::Medium, p);
        let mut f = self.finding(IdentityKind::UnusedUser, &who, sensitivity);
        f.last_used = last;
        f.age_days = self.days(Some(created));
        f.days_unused = self.days(last);
        let mut parts = vec![match (password_enabled, password_last) {
            (false, None) => "no password".to_string(),
            (false, Some(t)) => format!("no password now (last used {})", day(t)),
            (true, Some(t)) => format!("password last used {}", day(t)),
            (true, None) => "password never used".to_string(),
        }];
        for (n, key) in keys(row) {
            parts.push(match (key.active, key.last_used_date.date()) {
                (false, _) => format!("no active access key {n}"),
                (true, Some(t)) => format!("access key {n} last used {}", day(t)),
                (true, None) => format!("access key {n} never used"),
            });
        }
        f.detail = format!(
            "User {}, created on {}, shows no use within {}: {}{}.{extra}",
            row.user,
            day(created),
            self.window_text(ws),
            parts.join(", "),
            match (p.map(|p| p.has_last_accessed), service_use) {
                (Some(true), Some(t)) => format!(", last service access {}", day(t)),
                (Some(true), None) => ", no service access in its last-accessed data".into(),
                _ => String::new(),
            }
        );
        out.push(f);
    }

    fn roles(&self, out: &mut Vec<IdentityFinding>) {
        let Some(ws) = self.window_start else {
            return;
        };
        for p in &self.principals {
            if p.kind != PrincipalType::Role || !p.flags.contains(&"unused_role") {
                continue;
            }
            let (sensitivity, extra) = raise_if_unused_high(Sensitivity::Medium, Some(p));
            let who = Subject {
                ptype: IdentityPrincipalType::Role,
                name: &p.name,
                arn: &p.arn,
            };
            let mut f = self.finding(IdentityKind::UnusedRole, &who, sensitivity);
            f.actionable = p.actionable;
            f.last_used = p.last_used;
            f.age_days = self.days(p.created);
            f.days_unused = self.days(p.last_used);
            let evidence = match (p.last_used, p.has_last_accessed) {
                (Some(t), _) => format!("last used on {}", self.when(t)),
                (None, true) => {
                    "RoleLastUsed is empty and its last-accessed data shows no service use".into()
                }
                (None, false) => {
                    "RoleLastUsed is empty (the export has no last-accessed file for it)".into()
                }
            };
            let slr = if p.service_linked {
                " It is service-linked: only the AWS service that owns it can delete it."
            } else {
                ""
            };
            f.detail = format!(
                "Role {}, created on {}, shows no use within {}: {evidence}.{extra}{slr}",
                p.name,
                p.created.map(day).unwrap_or_default(),
                self.window_text(ws),
            );
            out.push(f);
        }
    }

    fn groups(&self, out: &mut Vec<IdentityFinding>) {
        let members: BTreeSet<&str> = self
            .export
            .principals
            .iter()
            .filter(|p| p.kind == PrincipalType::User)
            .flat_map(|p| p.groups.iter().map(String::as_str))
            .collect();
        for g in &self.export.principals {
            if g.kind != PrincipalType::Group || members.contains(g.name.as_str()) {
                continue;
            }
            let who = Subject {
                ptype: IdentityPrincipalType::Group,
                name: &g.name,
                arn: &g.arn,
            };
            let mut f = self.finding(IdentityKind::GroupWithoutMembers, &who, Sensitivity::Low);
            f.age_days = self.days(g.created);
            f.detail = format!(
                "Group {}{} has no members: no user in the export lists it in its GroupList.",
                g.name,
                g.created
                    .map(|c| format!(", created on {},", day(c)))
                    .unwrap_or_default()
            );
            out.push(f);
        }
    }

    fn policies(&self, out: &mut Vec<IdentityFinding>) {
        for pol in self.export.policies.values() {
            if pol.aws_managed {
                continue;
            }
            let attached = self
                .export
                .principals
                .iter()
                .any(|p| p.attached_policies.contains(&pol.arn));
            let boundary = self
                .export
                .principals
                .iter()
                .any(|p| p.permissions_boundary.as_deref() == Some(pol.arn.as_str()));
            if attached || boundary {
                continue;
            }
            let count = match pol.attachment_count {
                Some(0) => "AttachmentCount is 0",
                None => "the export has no AttachmentCount",
                Some(_) => continue,
            };
            let who = Subject {
                ptype: IdentityPrincipalType::Policy,
                name: &pol.name,
                arn: &pol.arn,
            };
            let mut f = self.finding(IdentityKind::PolicyUnattached, &who, Sensitivity::Low);
            f.age_days = self.days(pol.create_date);
            f.detail = format!(
                "Customer-managed policy {} is attached to nothing: {count} and no role, user or group in the export attaches it or uses it as a permissions boundary.",
                pol.name
            );
            out.push(f);
        }
    }
}

fn keys(row: &CredentialReportRow) -> impl Iterator<Item = (u8, &AccessKeyInfo)> {
    row.access_keys.iter().zip(1u8..).map(|(k, n)| (n, k))
}

fn key_name(n: u8) -> String {
    format!("access_key_{n}")
}

fn sentinel(d: crate::model::ReportDate) -> &'static str {
    use crate::model::ReportDate;
    match d {
        ReportDate::Date(_) => "a date",
        ReportDate::NotApplicable => "N/A",
        ReportDate::NoInformation => "no_information",
        ReportDate::NotSupported => "not_supported",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
