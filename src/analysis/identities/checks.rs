//! The identity checks of one export (every rule is documented in `docs/identity-findings.md`).

use std::collections::{BTreeSet, HashMap, HashSet};

use super::{
    IdentityFinding, IdentityKind, IdentityPrincipalType, IdentitySettings, PrincipalInfo,
    Sensitivity,
};
use crate::analysis::model::PermissionSetInfo;
use crate::analysis::window::{ReportTime, a_day_or_more};
use crate::model::organization::PolicyReference;
use crate::model::{
    AccessKeyInfo, CredentialReportRow, Export, PrincipalType, Timestamp, days_before, whole_days,
};

/// Everything the checks of one export need.
pub(super) struct Ctx<'a> {
    pub(super) export: &'a Export,
    /// The analysis' principals of this account, in the analysis' order.
    pub(super) principals: Vec<&'a PrincipalInfo>,
    /// The first of `principals` of each type and name (a search per credential report row was
    /// quadratic in the account's principals).
    by_name: HashMap<(PrincipalType, &'a str), &'a PrincipalInfo>,
    pub(super) as_of: Option<Timestamp>,
    pub(super) window_days: u32,
    pub(super) window_start: Option<Timestamp>,
    pub(super) key_max_age_days: u32,
    pub(super) key_cutoff: Option<Timestamp>,
    /// Set when `as_of` is the credential report's time ([`Ctx::judged_at`]): days count to it,
    /// and a user's service use after it is use the report cannot show.
    report_time: Option<ReportTime>,
}

/// A user whose last-accessed data shows a call to AWS after the credential report was
/// generated (by ARN and name, with the call's time): which of its credentials made it, the
/// report cannot show.
pub(super) struct CalledAfterReport {
    pub(super) arn: String,
    pub(super) name: String,
    pub(super) at: Timestamp,
}

/// Who a finding is about.
struct Subject<'s> {
    ptype: IdentityPrincipalType,
    name: &'s str,
    arn: &'s str,
}

/// A credential-report user with what its checks share.
struct User<'a> {
    who: Subject<'a>,
    row: &'a CredentialReportRow,
    p: Option<&'a PrincipalInfo>,
    password_enabled: bool,
    password_last: Option<Timestamp>,
    /// When the current password was set: its last change, else the user's creation.
    password_set: Option<Timestamp>,
}

pub(super) fn day(t: Timestamp) -> String {
    t.format("%Y-%m-%d").to_string()
}

pub(super) fn used_in(t: Option<Timestamp>, window_start: Timestamp) -> bool {
    t.is_some_and(|t| t >= window_start)
}

fn raise_if_unused_high(base: Sensitivity, p: Option<&PrincipalInfo>) -> (Sensitivity, String) {
    match p {
        Some(p) if p.unused_by_sensitivity.critical + p.unused_by_sensitivity.high > 0 => (
            Sensitivity::High,
            format!(
                " Its unused permissions include {}.",
                crate::model::count_phrase(&[
                    (
                        u64::from(p.unused_by_sensitivity.critical),
                        "critical action",
                        "critical actions"
                    ),
                    (
                        u64::from(p.unused_by_sensitivity.high),
                        "high-sensitivity action",
                        "high-sensitivity actions"
                    ),
                ])
            ),
        ),
        _ => (base, String::new()),
    }
}

impl<'a> Ctx<'a> {
    /// `principals`: the analysis' principals of the export's account, in the analysis' order.
    pub(super) fn new(
        export: &'a Export,
        principals: Vec<&'a PrincipalInfo>,
        as_of: Option<Timestamp>,
        settings: &IdentitySettings,
    ) -> Ctx<'a> {
        let mut by_name = HashMap::with_capacity(principals.len());
        for p in &principals {
            by_name.entry((p.kind, p.name())).or_insert(*p);
        }
        Ctx {
            export,
            principals,
            by_name,
            as_of,
            window_days: settings.unused_after_days,
            window_start: as_of.and_then(|t| days_before(t, settings.unused_after_days)),
            key_max_age_days: settings.key_max_age_days,
            key_cutoff: as_of.and_then(|t| days_before(t, settings.key_max_age_days)),
            report_time: None,
        }
    }
}

impl<'a> Ctx<'a> {
    /// This context judged at the credential report's time instead (`at`, earlier than the
    /// export's as-of time).
    pub(super) fn judged_at(&self, at: ReportTime, settings: &IdentitySettings) -> Ctx<'a> {
        Ctx {
            report_time: Some(at),
            ..Ctx::new(
                self.export,
                self.principals.clone(),
                Some(at.at()),
                settings,
            )
        }
    }

    /// What the days count to: the as-of date, or the credential report's time.
    fn end_name(&self) -> &'static str {
        match self.report_time {
            Some(ReportTime::Generated(_)) => "the credential report was generated",
            Some(ReportTime::Unrecorded(_)) => {
                "the credential report's earliest possible generation"
            }
            None => "the as-of date",
        }
    }

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

    /// `2026-05-03 (201 days before the as-of date)` (or before the credential report was
    /// generated, when judged then).
    fn when(&self, t: Timestamp) -> String {
        let end = self.end_name();
        match (self.days(Some(t)), self.as_of) {
            (_, Some(a)) if t > a => format!("{} (after {end})", day(t)),
            (Some(d), _) => format!("{} ({d} days before {end})", day(t)),
            (None, _) => day(t),
        }
    }

    fn window_text(&self, ws: Timestamp) -> String {
        let ends = match (self.report_time, self.as_of) {
            (Some(ReportTime::Generated(_)), Some(a)) => format!(
                " and ends {} (when the credential report was generated)",
                day(a)
            ),
            (Some(ReportTime::Unrecorded(_)), Some(a)) => format!(
                " and ends {} (the earliest the credential report can have been generated: when \
                 it was is not recorded, and the last-accessed reports are more than a day apart)",
                day(a)
            ),
            _ => String::new(),
        };
        format!(
            "the {}-day window that starts {}{ends}",
            self.window_days,
            day(ws)
        )
    }

    /// The window `p` is judged over, and its text: this context's, or the one that ends where
    /// the principal's own last-accessed data ends when that is earlier (`PrincipalInfo::as_of`),
    /// as its permissions are judged: nothing is called unused for time its data does not cover.
    /// The text names that window only when it ends a day or more before the as-of time (a
    /// resumed or partly refreshed fetch); jobs minutes apart are one fetch's normal spread.
    fn own_window(&self, ws: Timestamp, p: Option<&PrincipalInfo>) -> (Timestamp, String) {
        let end = p
            .and_then(|p| p.as_of)
            .filter(|end| self.as_of.is_some_and(|a| *end < a));
        let Some(end) = end else {
            return (ws, self.window_text(ws));
        };
        match self.window_ending(end, "where its last-accessed data ends") {
            Some((start, text)) if start < ws => (start, text),
            _ => {
                let start = days_before(end, self.window_days).map_or(ws, |s| s.min(ws));
                (start, self.window_text(ws))
            }
        }
    }

    /// The text of the window a role's `unused_role` flag was decided over ([`Self::own_window`]);
    /// for a role without last-accessed data, whose only evidence is `RoleLastUsed`, the window
    /// that ends when the authorization details were fetched (`manifest.json` `runs[0].started`)
    /// when that is a day or more before the as-of time, as `analysis::collect` decided it.
    fn role_window_text(&self, ws: Timestamp, p: &PrincipalInfo) -> String {
        let fetched = self.export.manifest.as_ref().and_then(|m| m.fetch_started);
        let why = "RoleLastUsed shows nothing after the authorization details were fetched";
        fetched
            .filter(|_| !p.has_last_accessed)
            .and_then(|from| self.window_ending(from, why))
            .map_or_else(|| self.own_window(ws, Some(p)).1, |(_, text)| text)
    }

    /// The window that ends at `end`, with its text saying `why` it ends there, when `end` is a
    /// day or more before the as-of time ([`a_day_or_more`]: jobs minutes apart are one
    /// fetch's normal spread, named as the export's window).
    fn window_ending(&self, end: Timestamp, why: &str) -> Option<(Timestamp, String)> {
        let as_of = self.as_of?;
        if !a_day_or_more(end, as_of) {
            return None;
        }
        let start = days_before(end, self.window_days)?;
        let text = format!(
            "the {}-day window from {} to {} ({why})",
            self.window_days,
            day(start),
            day(end)
        );
        Some((start, text))
    }

    fn principal(&self, kind: PrincipalType, name: &str) -> Option<&PrincipalInfo> {
        self.by_name.get(&(kind, name)).copied()
    }

    /// root_without_mfa: the root user's row says `mfa_active` false. The report cannot say
    /// whether the root user has a password (its `password_enabled` is always `not_supported`),
    /// and an organisation's centralized root access removes member accounts' root credentials:
    /// critical where the report shows a root credential (an active access key or signing
    /// certificate, or a password sign-in ever), high otherwise, and the detail says which.
    fn root_without_mfa(&self, row: &CredentialReportRow, who: &Subject<'_>) -> IdentityFinding {
        let signed_in = row.password_last_used.date();
        let active_keys: Vec<String> = keys(row)
            .filter(|(_, k)| k.active)
            .map(|(n, _)| n.to_string())
            .collect();
        let mut shown = Vec::new();
        if let Some(t) = signed_in {
            shown.push(format!("a password sign-in on {}", day(t)));
        }
        if !active_keys.is_empty() {
            shown.push(format!("active access key {}", active_keys.join(" and ")));
        }
        let certs: Vec<String> = (1..)
            .zip(row.certs_active)
            .filter(|(_, active)| *active)
            .map(|(n, _)| n.to_string())
            .collect();
        if !certs.is_empty() {
            shown.push(format!(
                "active signing certificate {}",
                certs.join(" and ")
            ));
        }
        let sensitivity = if shown.is_empty() {
            Sensitivity::High
        } else {
            Sensitivity::Critical
        };
        let mut f = self.finding(IdentityKind::RootWithoutMfa, who, sensitivity);
        f.last_used = signed_in;
        f.days_unused = self.days(signed_in);
        f.detail = if shown.is_empty() {
            "The root user has no MFA device (mfa_active false), and the credential report shows \
             no root credential (no password sign-in, no active access key or certificate): if this \
             account's root credentials were removed (centralized root access in AWS \
             Organizations), record that; else anyone with its password signs in with it alone."
                .to_string()
        } else {
            format!(
                "The root user has no MFA device (mfa_active false), and the credential report \
                 shows it has credentials ({}): a root password alone would sign in to the \
                 console, with full control of the account; AWS advises MFA on the root user.",
                shown.join(", ")
            )
        };
        f
    }

    pub(super) fn root(&self, row: &CredentialReportRow, out: &mut Vec<IdentityFinding>) {
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
        if !row.mfa_active {
            out.push(self.root_without_mfa(row, &who));
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
            let (on, during) = if self.as_of.is_some_and(|a| t > a) {
                // The credential report reaches past the as-of time (an --as-of earlier than
                // the data): said once, not by `when` too.
                (day(t), format!("after {}", self.end_name()))
            } else {
                (self.when(t), format!("within {}", self.window_text(ws)))
            };
            f.detail = format!(
                "The root user's {what} was used on {on}, {during}; check that this use was intended."
            );
            f.credential = Some(credential);
            out.push(f);
        }
    }

    /// The per-user credential checks of one credential-report row; the user's name goes to
    /// `unjudged` when nothing shows it unused but the credential report (see `unused_user`).
    pub(super) fn user(
        &self,
        row: &CredentialReportRow,
        out: &mut Vec<IdentityFinding>,
        (unjudged, after_report): (&mut Vec<String>, &mut Vec<CalledAfterReport>),
    ) {
        let p = self.principal(PrincipalType::User, &row.user);
        let arn = p.map_or(row.arn.as_str(), |p| p.arn());
        let u = User {
            who: Subject {
                ptype: IdentityPrincipalType::User,
                name: &row.user,
                arn,
            },
            row,
            p,
            password_enabled: row.password_enabled == Some(true),
            password_last: row.password_last_used.date(),
            // When the current password was set: its last change, else the user's creation.
            password_set: row
                .password_last_changed
                .date()
                .or(row.user_creation_time.date()),
        };
        self.password_without_mfa(&u, out);
        // A call to AWS after the report was generated was made with some credential of the
        // user's, which the report cannot show: whether one is unused cannot be told.
        let called = p
            .and_then(|p| p.last_used)
            .filter(|t| self.report_time.is_some() && self.as_of.is_some_and(|a| *t > a));
        if let Some(at) = called {
            after_report.push(CalledAfterReport {
                arn: arn.to_string(),
                name: row.user.clone(),
                at,
            });
        }
        self.access_keys(&u, called.is_none(), out);
        if let Some(ws) = self.window_start {
            if called.is_none() {
                self.password_unused(&u, ws, out);
            }
            if self.unused_user(&u, ws, out) == Some(false) {
                unjudged.push(row.user.clone());
            }
        }
    }

    fn password_without_mfa(&self, u: &User<'_>, out: &mut Vec<IdentityFinding>) {
        let (who, row) = (&u.who, u.row);
        let (password_enabled, password_last, password_set) =
            (u.password_enabled, u.password_last, u.password_set);
        if password_enabled && !row.mfa_active {
            let mut f = self.finding(IdentityKind::PasswordWithoutMfa, who, Sensitivity::High);
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
    }

    /// The checks of the user's active access keys: their age, and (when `judge_use`) their use.
    fn access_keys(&self, u: &User<'_>, judge_use: bool, out: &mut Vec<IdentityFinding>) {
        let (who, row) = (&u.who, u.row);
        for (n, key) in keys(row) {
            if !key.active {
                continue;
            }
            let created = key.last_rotated.date();
            let last = key.last_used_date.date();
            let base = |ctx: &Self, kind| {
                let mut f = ctx.finding(kind, who, Sensitivity::High);
                f.credential = Some(key_name(n));
                f.last_used = last;
                f.age_days = ctx.days(created);
                f.days_unused = ctx.days(last);
                f
            };
            if let Some(ws) = self.window_start.filter(|_| judge_use) {
                match (last, created) {
                    (None, Some(c)) if c < ws => {
                        let mut f = base(self, IdentityKind::AccessKeyNeverUsed);
                        f.detail = format!(
                            "Access key {n} of user {} is active, was created on {} and was never used (the credential report's last-used date is N/A).",
                            row.user,
                            self.when(c)
                        );
                        out.push(f);
                    }
                    // A key created, or changed (made active again), in the window has had no
                    // chance to be used since, whenever it was last used (it was deactivated a
                    // week after being made, review pass 47); one with no such date may be.
                    (Some(t), Some(c)) if t < ws && c < ws => {
                        let mut f = base(self, IdentityKind::AccessKeyUnused);
                        f.detail = format!(
                            "Access key {n} of user {}{} is active and was last used on {}{}, before {}.",
                            row.user,
                            created
                                .map(|c| format!(", created or last rotated on {},", day(c)))
                                .unwrap_or_default(),
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
    }

    fn password_unused(&self, u: &User<'_>, ws: Timestamp, out: &mut Vec<IdentityFinding>) {
        let (who, row) = (&u.who, u.row);
        let (password_enabled, password_last, password_set) =
            (u.password_enabled, u.password_last, u.password_set);
        if password_enabled {
            // A password set in the window (an administrator's reset) has had no chance to be
            // used, whenever the user's previous one was last used.
            let stale = match password_last {
                Some(t) => t < ws && !used_in(password_set, ws),
                None => password_set.is_some_and(|s| s < ws),
            };
            if stale {
                let mut f = self.finding(IdentityKind::PasswordUnused, who, Sensitivity::Medium);
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
    }

    /// unused_user: the user is older than the window and nothing it can sign in with was used.
    /// `Some(false)` when only its last-accessed data could tell, and the export has none: the
    /// credential report shows passwords and access keys, not the service-specific credentials
    /// (Amazon Bedrock API keys, CodeCommit Git credentials), SSH public keys or signing
    /// certificates the user may call AWS with.
    fn unused_user(
        &self,
        u: &User<'_>,
        ws: Timestamp,
        out: &mut Vec<IdentityFinding>,
    ) -> Option<bool> {
        let (who, row) = (&u.who, u.row);
        let (p, password_enabled, password_last) = (u.p, u.password_enabled, u.password_last);
        let (ws, window) = self.own_window(ws, p);
        let created = row.user_creation_time.date().or(p.and_then(|p| p.created));
        let created = created.filter(|c| *c < ws)?;
        let service_use = p.and_then(|p| p.last_used);
        let mut uses = vec![password_last, service_use];
        uses.extend(keys(row).map(|(_, k)| k.last_used_date.date()));
        // A credential given in the window (a key made for a new job, a password just set) has
        // had no chance to be used, as its own check says: the user is not unused. Nor is one
        // with an active key the report gives no date for (`Gaps` says so).
        let key_given = keys(row)
            .filter(|(_, k)| k.active)
            .any(|(_, k)| k.last_rotated.date().is_none_or(|t| t >= ws));
        let password_given = used_in(u.password_set.filter(|_| password_enabled), ws);
        if uses.iter().any(|t| used_in(*t, ws)) || key_given || password_given {
            return None;
        }
        // Given access in the window (a policy or group made since): not unused either.
        if p.is_some_and(|p| {
            p.flags
                .contains(&crate::analysis::collect::GRANTED_IN_WINDOW)
        }) {
            return None;
        }
        if !p.is_some_and(|p| p.has_last_accessed) {
            return Some(false);
        }
        let last = uses.into_iter().flatten().max();
        let (sensitivity, extra) = raise_if_unused_high(Sensitivity::Medium, p);
        let mut f = self.finding(IdentityKind::UnusedUser, who, sensitivity);
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
            "User {}, created on {}, shows no use within {window}: {}{}.{extra}",
            row.user,
            day(created),
            parts.join(", "),
            match service_use {
                Some(t) => format!(", last service access {}", day(t)),
                None => ", no service access in its last-accessed data".into(),
            }
        );
        out.push(f);
        Some(true)
    }

    pub(super) fn roles(&self, out: &mut Vec<IdentityFinding>) {
        let Some(ws) = self.window_start else {
            return;
        };
        for p in &self.principals {
            if p.kind != PrincipalType::Role || !p.flags.contains(&"unused_role") {
                continue;
            }
            let (sensitivity, extra) = raise_if_unused_high(Sensitivity::Medium, Some(p));
            // `unused_role` was decided over the role's own window (`analysis::collect`).
            let window = self.role_window_text(ws, p);
            let who = Subject {
                ptype: IdentityPrincipalType::Role,
                name: p.name(),
                arn: p.arn(),
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
                "Role {}, created on {}, shows no use within {window}: {evidence}.{extra}{slr}",
                p.name(),
                p.created.map(day).unwrap_or_default(),
            );
            out.push(f);
        }
    }

    /// Groups no user lists in its `GroupList`; none when the export lists no user at all (its
    /// users left out: every group would look empty; a check not possible, [`super::Gaps`]).
    pub(super) fn groups(&self, out: &mut Vec<IdentityFinding>) {
        if !super::has_users(self.export) {
            return;
        }
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

    /// `sets`: the organisation part's permission sets (none without one).
    /// `required`: what the organisation's control policies' conditions name
    /// ([`policies_conditions_name`]).
    pub(super) fn policies(
        &self,
        (sets, required): (&[PermissionSetInfo], &[PolicyNamed]),
        out: &mut Vec<IdentityFinding>,
    ) {
        // Every ARN a principal attaches or uses as its boundary, once (a walk over every
        // principal per policy was quadratic).
        let mut used: HashSet<&str> = HashSet::new();
        for p in &self.export.principals {
            used.extend(p.attached_policies.iter().map(String::as_str));
            used.extend(p.permissions_boundary.as_deref());
        }
        // Without an AttachmentCount only the export's attachments tell, and they cannot when a
        // kind of principal is left out (a check not possible, `super::Gaps`).
        let scan_complete = self.export.kinds_not_listed().is_empty();
        // Referenced by a permission set provisioned here: Identity Center attaches it when it
        // provisions the set (again), and fails when the account lacks it.
        let account = &self.export.account_id;
        let referenced: Vec<&PolicyReference> = sets
            .iter()
            .filter(|s| s.accounts.contains(account))
            .flat_map(|s| &s.customer_managed_policies)
            .collect();
        let inline = self
            .export
            .principals
            .iter()
            .flat_map(|p| &p.inline_policies)
            .map(|i| &i.document);
        let managed = self.export.policies.values().map(|m| &*m.document);
        let mut named = policies_conditions_name(inline.chain(managed));
        named.extend(required.iter().cloned());
        for pol in self.export.policies.values() {
            if pol.aws_managed {
                continue;
            }
            // A permissions boundary of a principal the export leaves out still counts.
            if used.contains(pol.arn.as_str())
                || pol.is_a_boundary()
                || named.iter().any(|n| n.names(&pol.arn))
                || referenced
                    .iter()
                    .any(|r| r.path == pol.path && r.name.eq_ignore_ascii_case(&pol.name))
            {
                continue;
            }
            // Nor can a boundary use be ruled out without the count of them when the export
            // leaves out some kind of principal (`AttachmentCount` does not count those uses).
            if pol.boundary_uses.is_none() && !scan_complete {
                continue;
            }
            let count = match pol.attachment_count {
                Some(0) => "AttachmentCount is 0",
                None if scan_complete => "the export has no AttachmentCount",
                None => continue,
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

/// The condition keys whose values name managed policies a principal may attach or must use
/// as a permissions boundary (AWS's delegated administration: `iam:CreateRole` allowed only
/// with this boundary, `iam:AttachRolePolicy` only of these policies).
const POLICY_CONDITION_KEYS: [&str; 2] = ["iam:PermissionsBoundary", "iam:PolicyARN"];

/// A managed policy a condition requires: its ARN, or an ARN pattern ([`PolicyNamed::names`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PolicyNamed {
    /// The value, policy variables (`${aws:PrincipalAccount}`) as `*`.
    pattern: String,
    /// A `…Like` operator's value, or one with a variable: `*` and `?` are wildcards.
    glob: bool,
}

impl PolicyNamed {
    /// Whether it names the policy `arn` (case aside).
    pub fn names(&self, arn: &str) -> bool {
        if self.glob {
            crate::policy::expand::matches(&self.pattern, arn)
        } else {
            self.pattern.eq_ignore_ascii_case(arn)
        }
    }
}

/// The managed policies the conditions of `documents` require (the values of their
/// [`POLICY_CONDITION_KEYS`]): an Allow whose condition must equal or match them, or a Deny
/// unless it does (`StringNotEquals` in an SCP that requires a boundary). A policy such a
/// condition names is in use though attached to nothing yet: deleting it breaks that delegation.
/// A pattern that names any policy of a path (`…:policy/*`, `…:policy/boundaries/*`) names
/// none in particular; a Deny of a policy forbids it, and an Allow unless it is not named it.
pub fn policies_conditions_name<'d>(
    documents: impl Iterator<Item = &'d crate::model::document::PolicyDocument>,
) -> Vec<PolicyNamed> {
    let mut named = Vec::new();
    for statement in documents.flat_map(|d| &d.statements) {
        let Some(serde_json::Value::Object(operators)) = &statement.condition else {
            continue;
        };
        let allow = statement.effect == crate::model::document::Effect::Allow;
        for (operator, keys) in operators {
            let Some(keys) = keys.as_object() else {
                continue;
            };
            let op = operator.rsplit(':').next().unwrap_or(operator);
            let op = op.strip_suffix("IfExists").unwrap_or(op);
            let negated = op.contains("Not");
            // ARN operators, `ArnEquals` too, match each part of the ARN with wildcards.
            let like = op.ends_with("Like") || op.starts_with("Arn");
            // Required: allowed only when it matches, or denied unless it does.
            if allow == negated {
                continue;
            }
            for (key, values) in keys {
                if !POLICY_CONDITION_KEYS
                    .iter()
                    .any(|k| k.eq_ignore_ascii_case(key))
                {
                    continue;
                }
                let values = match values {
                    serde_json::Value::Array(vs) => vs.iter().filter_map(|v| v.as_str()).collect(),
                    v => v.as_str().into_iter().collect::<Vec<_>>(),
                };
                named.extend(values.into_iter().filter_map(|v| policy_named(v, like)));
            }
        }
    }
    named.sort_unstable();
    named.dedup();
    named
}

/// `value` of a condition (a `…Like` or ARN operator's when `like`) as a [`PolicyNamed`], or
/// `None` for a pattern that names no policy in particular: its resource part, or the policy's
/// name in it, only wildcards (`arn:aws:iam::111111111111:*`, `…:policy/*`).
fn policy_named(value: &str, like: bool) -> Option<PolicyNamed> {
    let mut pattern = String::with_capacity(value.len());
    let mut rest = value;
    let mut variable = false;
    while let Some(at) = rest.find("${") {
        pattern.push_str(&rest[..at]);
        match rest[at..].find('}') {
            Some(end) => {
                pattern.push('*');
                variable = true;
                rest = &rest[at + end + 1..];
            }
            None => {
                pattern.push_str(&rest[at..]);
                rest = "";
            }
        }
    }
    pattern.push_str(rest);
    let glob = like || variable;
    let wild = |t: &str| t.chars().all(|c| c == '*' || c == '?');
    let resource = pattern.splitn(6, ':').nth(5).unwrap_or(&pattern);
    let name = resource.rsplit('/').next().unwrap_or(resource);
    if glob && (wild(resource) || wild(name)) {
        return None;
    }
    Some(PolicyNamed { pattern, glob })
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
