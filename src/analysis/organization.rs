//! Stage 2b, with an organisation part (docs/methodology.md, "Organisations"):
//!
//! - **control policies**: every finding's actions are split by what the SCPs and RCPs on the
//!   path from the root to its account do to them (`policy::control`): blocked, restricted or
//!   nothing. Verdicts do not change; a blocked unused finding ranks after every effective one.
//!   The management account and service-linked roles are not subject to SCPs.
//! - **permission sets**: every `AWSReservedSSO_<set>_<hash>` role of an account the set is
//!   provisioned to is managed by that set (not actionable: Identity Center overwrites it), and
//!   the set becomes a principal of its own whose verdicts roll its roles' up: an action is used
//!   if any role used it, unused only when every provisioned account's role has last-accessed
//!   data and none used it, else unknown.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::collect::Collected;
use super::groups::{GrantedAction, ListId};
use super::model::{
    AccountWarning, BySensitivity, ControlId, ControlPolicyInfo, Counts, Finding, GrantedById,
    LabelId, LastAccess, OrganizationInfo, PermissionSetInfo, PolicyInfo, PolicyLabel,
    PrincipalInfo, PrincipalNames, RegionId, Scope, WithControls,
};
use super::reason::{Reason, Status};
use super::verdict::{GrantRow, PrincipalRow, ServiceRow};
use crate::error::{Error, Result};
use crate::model::organization::{ControlPolicyType, NodeKind, Organization, PermissionSet};
use crate::model::{PrincipalType, Timestamp, Warning};
use crate::policy::PolicyKind;
use crate::policy::control::{AccountControls, ControlEffect, ControlNote, account_controls};

/// Splits every finding by its SCP/RCP note; returns the findings with their notes' ids, and
/// the notes.
pub(super) fn apply_controls(
    findings: Vec<Finding>,
    c: &mut Collected<'_>,
    org: &Organization,
) -> (WithControls, Vec<ControlNote>) {
    let mut notes: Vec<ControlNote> = Vec::new();
    // Fewer notes than findings, so every id is made (`ControlId::new`).
    let mut ids: HashMap<ControlNote, Option<ControlId>> = HashMap::new();
    warn_unplaced(c, org);
    if org.control_types.is_empty() {
        let controls = Vec::new();
        return (WithControls { findings, controls }, notes);
    }
    let mut per_account: BTreeMap<String, AccountControls> = BTreeMap::new();
    for info in &c.exports {
        if info.account_id == org.management_account {
            continue;
        }
        let controls = account_controls(
            org,
            &info.account_id,
            Some(&info.partition),
            &mut c.expander,
        );
        if !controls.levels_without_scp.is_empty() {
            c.warnings.push(AccountWarning {
                account_id: info.account_id.clone(),
                warning: Warning {
                    code: "scp_missing_at_level".into(),
                    file: None,
                    json_path: None,
                    message: format!(
                        "no SCP is attached to {} in the organisation part (AWS requires one \
                         wherever SCPs are enabled): nothing is modelled at that level",
                        controls.levels_without_scp.join(", ")
                    ),
                },
            });
        }
        per_account.insert(info.account_id.clone(), controls);
    }
    let mut out = Vec::with_capacity(findings.len());
    let mut out_controls = Vec::with_capacity(findings.len());
    for f in findings {
        let p = &c.principals[f.principal as usize];
        let controls = match per_account.get(&*p.account_id) {
            Some(ctl) if !p.service_linked && !ctl.is_empty() => ctl,
            _ => {
                out.push(f);
                out_controls.push(None);
                continue;
            }
        };
        let mut parts: BTreeMap<Option<ControlId>, Vec<GrantedAction>> = BTreeMap::new();
        for a in &c.lists.get(f.list).actions {
            let id = controls.note(a.id()).and_then(|n| {
                *ids.entry(n.clone()).or_insert_with(|| {
                    notes.push(n.clone());
                    ControlId::new(notes.len() - 1)
                })
            });
            parts.entry(id).or_default().push(*a);
        }
        if parts.len() == 1 {
            out.push(f);
            out_controls.push(parts.into_keys().next().flatten());
            continue;
        }
        for (id, actions) in parts {
            let mut part = f.clone();
            part.set_actions(&mut c.lists, actions);
            out.push(part);
            out_controls.push(id);
        }
    }
    c.warnings.sort();
    let split = WithControls {
        findings: out,
        controls: out_controls,
    };
    (split, notes)
}

/// `export_account_not_placed`, on each exported account (but the management account, which no
/// SCP or RCP applies to) that the organisation part's tree does not place: no control policy is
/// applied to it, though the organisation's may apply.
fn warn_unplaced(c: &mut Collected<'_>, org: &Organization) {
    let mut warnings = Vec::new();
    for info in &c.exports {
        let account = info.account_id.as_str();
        if account == org.management_account || org.nodes.contains_key(account) {
            continue;
        }
        let why = if org.accounts.contains_key(account) {
            "list-accounts.json lists it, but the tree does not reach it (no accounts/<parent>.json \
             places it, or its OU is not placed)"
        } else {
            "list-accounts.json does not list it either: it joined the organisation after the \
             organisation part was fetched, or is another organisation's"
        };
        warnings.push(AccountWarning {
            account_id: account.to_string(),
            warning: Warning {
                code: "export_account_not_placed".into(),
                file: None,
                json_path: None,
                message: format!(
                    "the organisation part's tree ({}) does not place this account ({why}): no \
                     SCP or RCP is applied to its grants, which the organisation's may block or \
                     restrict all the same",
                    org.root.display()
                ),
            },
        });
    }
    c.warnings.extend(warnings);
    c.warnings.sort();
}

/// One role's verdict of one action, over the set's window ([`SetWindow::judge`]).
#[derive(Clone, Copy)]
struct RoleVerdict<'f> {
    f: &'f Finding,
    control: Option<ControlId>,
    a: GrantedAction,
    reason: Reason,
    last: LastAccess,
    region: Option<RegionId>,
}

impl<'f> RoleVerdict<'f> {
    fn new(f: &'f Finding, control: Option<ControlId>, a: GrantedAction) -> Self {
        RoleVerdict {
            f,
            control,
            a,
            reason: f.reason,
            last: f.last,
            region: f.last_accessed_region,
        }
    }

    fn status(&self) -> Status {
        self.reason.status()
    }

    fn last_accessed(&self) -> Option<Timestamp> {
        self.last.time()
    }
}

/// The permission set's verdict of one action, from its roles'.
struct Rolled {
    reason: Reason,
    last: LastAccess,
    region: Option<RegionId>,
    gb: GrantedById,
    scoped: bool,
    conditional: bool,
    control: Option<ControlId>,
}

/// Adds a principal per permission set with roles in the exports, and its findings; marks the
/// roles as managed. Returns the findings with the new ones appended.
pub(super) fn roll_up_permission_sets(
    split: WithControls,
    c: &mut Collected<'_>,
    (org, dates): (&Organization, &GrantDates),
    window_days: u32,
    notes: &mut Vec<ControlNote>,
) -> Result<WithControls> {
    let WithControls {
        mut findings,
        mut controls,
    } = split;
    // A role's rows are found by principal ([`role_row`], [`service_rows`]); the loader writes
    // them in principal order, and the set's rows added below keep it.
    c.inputs.principals.sort_by_key(|r| r.p);
    c.inputs.services.sort_by_key(|r| r.p);
    // Roles by (account, name) → principal index.
    let mut sso_roles: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    for (i, p) in c.principals.iter().enumerate() {
        if p.kind != PrincipalType::Role {
            continue;
        }
        let Some(path) = crate::model::arn::role_path(p.arn()) else {
            continue;
        };
        if let Some(ps) = org.permission_set_for(path, p.name()) {
            sso_roles
                .entry(ps.name.as_str())
                .or_default()
                .push(i as u32);
        }
    }
    let mut by_principal: HashMap<u32, Vec<usize>> = HashMap::new();
    for (i, f) in findings.iter().enumerate() {
        by_principal.entry(f.principal).or_default().push(i);
    }
    let mut new = Vec::new();
    let unexported = unexported_controls(c, org, &sso_roles);
    for ps in &org.permission_sets {
        let Some(roles) = sso_roles.get(ps.name.as_str()) else {
            continue;
        };
        mark_managed(c, ps, roles);
        warn_unlisted(c, (org, ps), roles);
        let elsewhere = controls_elsewhere(ps, &unexported, notes);
        // Every provisioned account has the set's role, with last-accessed data: those the
        // organisation part lists, and those whose export holds its role.
        let with_data: HashSet<&str> = roles
            .iter()
            .map(|r| &c.principals[*r as usize])
            .filter(|p| p.has_last_accessed)
            .map(|p| &*p.account_id)
            .collect();
        let complete = ps
            .accounts
            .iter()
            .map(String::as_str)
            .chain(roles.iter().map(|r| &*c.principals[*r as usize].account_id))
            .all(|a| with_data.contains(a));
        // Roles whose export lacks a policy they are attached: what they are not seen to hold
        // they may hold, and use unseen.
        let gaps: Vec<u32> = roles
            .iter()
            .copied()
            .filter(|r| {
                let flags = &c.principals[*r as usize].flags;
                flags.contains(&super::collect::POLICY_MISSING)
                    || flags.contains(&super::collect::GROUP_MISSING)
            })
            .collect();
        let of = Verdicts {
            findings: &findings,
            controls: &controls,
            by_principal: &by_principal,
            dates,
        };
        let data = Completeness {
            complete,
            gaps: &gaps,
        };
        let window = SetWindow::new(c, roles, window_days);
        window.warn(c, ps, org);
        let groups = rolled_groups(c, &of, roles, &elsewhere, &data, &window, notes);
        // The set's as-of time is where its window ends (what its README and decision name).
        let as_of = window.end().or_else(|| {
            roles
                .iter()
                .filter_map(|r| c.principals[*r as usize].as_of)
                .min()
        });
        let pidx = c.principals.len() as u32;
        new.extend(set_findings(c, pidx, groups));
        let info = principal_info(c, org, ps, roles, &data, as_of)?;
        add_set_inputs(c, pidx, roles, complete, as_of)?;
        c.principals.push(info);
    }
    // A note per finding, or none at all.
    if !controls.is_empty() || new.iter().any(|(_, control)| control.is_some()) {
        controls.resize(findings.len(), None);
        controls.extend(new.iter().map(|(_, control)| *control));
    }
    findings.extend(new.into_iter().map(|(f, _)| f));
    c.warnings.sort();
    Ok(WithControls { findings, controls })
}

/// The control policies of an account a set is provisioned to whose role the exports lack, with
/// the id of each of its notes.
struct Elsewhere<'a> {
    controls: &'a AccountControls,
    /// One per note of `controls`, in order.
    ids: Vec<Option<ControlId>>,
}

impl Elsewhere<'_> {
    /// The id of the note that applies to `a` in this account, if any.
    fn note(&self, a: crate::catalog::ActionId) -> Option<ControlId> {
        self.controls.note_index(a).and_then(|i| self.ids[i])
    }
}

/// The accounts each set with roles in the exports is provisioned to without one (the exports
/// lack the account, or its export lacks the role: there its role is granted what the set
/// grants), and the control policies of each such account.
struct Unexported<'o> {
    /// Set name → those accounts, in the set's order.
    accounts: BTreeMap<&'o str, Vec<&'o str>>,
    /// Account → its control policies; none for the management account (SCPs and RCPs do not
    /// apply to it).
    controls: BTreeMap<&'o str, AccountControls>,
}

fn unexported_controls<'o>(
    c: &mut Collected<'_>,
    org: &'o Organization,
    sso_roles: &BTreeMap<&str, Vec<u32>>,
) -> Unexported<'o> {
    let mut out = Unexported {
        accounts: BTreeMap::new(),
        controls: BTreeMap::new(),
    };
    // An organisation is in one partition: the one its exports agree on (unknown when they
    // do not, or there are none: an all-wildcard ARN naming one is then taken as scoped).
    let first = c.exports.first().map(|e| e.partition.clone());
    let partition = first.filter(|p| c.exports.iter().all(|e| e.partition == *p));
    let partition = partition.as_deref();
    for ps in &org.permission_sets {
        let Some(roles) = sso_roles.get(ps.name.as_str()) else {
            continue;
        };
        let with_role: HashSet<&str> = roles
            .iter()
            .map(|r| &*c.principals[*r as usize].account_id)
            .collect();
        let without: Vec<&str> = ps
            .accounts
            .iter()
            .map(String::as_str)
            .filter(|a| !with_role.contains(a))
            .collect();
        for &a in &without {
            if !out.controls.contains_key(a) {
                let controls = if a == org.management_account {
                    AccountControls::default()
                } else {
                    account_controls(org, a, partition, &mut c.expander)
                };
                out.controls.insert(a, controls);
            }
        }
        out.accounts.insert(ps.name.as_str(), without);
    }
    out
}

/// The control policies of each account `ps` is provisioned to without a role in the exports
/// (from `unexported`), with the ids of their notes.
fn controls_elsewhere<'u>(
    ps: &PermissionSet,
    unexported: &'u Unexported<'_>,
    notes: &mut Vec<ControlNote>,
) -> Vec<Elsewhere<'u>> {
    unexported
        .accounts
        .get(ps.name.as_str())
        .into_iter()
        .flatten()
        .filter_map(|a| unexported.controls.get(a))
        .map(|controls| Elsewhere {
            controls,
            ids: controls.notes().map(|n| intern(notes, n)).collect(),
        })
        .collect()
}

/// The id of `note` in `notes`, added when new.
fn intern(notes: &mut Vec<ControlNote>, note: &ControlNote) -> Option<ControlId> {
    match notes.iter().position(|n| n == note) {
        Some(i) => ControlId::new(i),
        None => {
            notes.push(note.clone());
            ControlId::new(notes.len() - 1)
        }
    }
}

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

/// The window a set's verdicts are judged over: one for all its accounts, as one `--as-of` would
/// give them, ending where its roles' data ends first (the earliest window end of its roles) and
/// `days` long. A role whose window ends later is judged again over it ([`SetWindow::judge`]):
/// its "no use" over its own window says nothing of the days before, where another account's
/// data ends (a set whose accounts were exported months apart was `unused` while a role used the
/// action inside the window the set claims).
struct SetWindow {
    start_ms: Option<i64>,
    end_ms: Option<i64>,
    /// The role whose window ends first, and the one whose ends last (when a day or more later).
    spread: Option<(u32, u32)>,
}

impl SetWindow {
    fn new(c: &Collected<'_>, roles: &[u32], days: u32) -> Self {
        let ends: Vec<(i64, u32)> = roles
            .iter()
            .filter_map(|r| role_row(c, *r)?.window_end_ms.map(|e| (e, *r)))
            .collect();
        let (Some(first), Some(last)) = (ends.iter().min(), ends.iter().max()) else {
            return SetWindow {
                start_ms: None,
                end_ms: None,
                spread: None,
            };
        };
        SetWindow {
            start_ms: first.0.checked_sub(i64::from(days) * DAY_MS),
            end_ms: Some(first.0),
            spread: (last.0 - first.0 >= DAY_MS).then_some((first.1, last.1)),
        }
    }

    /// Where the window ends.
    fn end(&self) -> Option<Timestamp> {
        self.end_ms
            .and_then(chrono::DateTime::from_timestamp_millis)
    }

    /// `permission_set_windows_differ` when its roles' data ends a day or more apart.
    fn warn(&self, c: &mut Collected<'_>, ps: &PermissionSet, org: &Organization) {
        let (Some((first, last)), Some(end)) = (self.spread, self.end()) else {
            return;
        };
        let at = |r: u32| {
            let p = &c.principals[r as usize];
            let end = role_row(c, r).and_then(|row| row.window_end_ms);
            let time = end.and_then(chrono::DateTime::from_timestamp_millis);
            format!(
                "{} in account {} ({})",
                p.name(),
                p.account_id,
                time.map_or_else(|| "unknown".into(), crate::model::rfc3339)
            )
        };
        let message = format!(
            "permission set {}: its roles' last-accessed data ends on different days, first for {} and last for {}; its verdicts are judged over one window for every account, the one ending at {}: a use a role's data shows inside it counts, and one after it leaves the action unknown, not unused",
            ps.name,
            at(first),
            at(last),
            crate::model::rfc3339(end)
        );
        c.warnings.push(AccountWarning {
            account_id: org.management_account.clone(),
            warning: crate::model::Warning {
                code: "permission_set_windows_differ".into(),
                file: None,
                json_path: None,
                message,
            },
        });
    }

    /// A role's verdict over this window, where its own window ends later, as the verdict
    /// expressions (`verdict.rs`) would have judged it with this window. A use (or a service's
    /// use, `action_not_tracked`) after its end leaves the action unknown
    /// (`accessed_after_as_of`). An `unused`: a recorded use at or after its start is a use in it
    /// (the action's own time), or leaves the action unknown (the service's time:
    /// `action_not_tracked`; after its end: `accessed_after_as_of`); an action AWS tracks one by
    /// one only since after its start is judged by its service; a role created after its start is
    /// too new; and where its start is more than the 400 days AWS keeps before the role's data
    /// ends, nothing rules out use. Other verdicts stand (a role too new for its own window is
    /// too new for this one, and shows no use: any would be in its window).
    fn judge<'f>(
        &self,
        c: &Collected<'_>,
        dates: &GrantDates,
        v: RoleVerdict<'f>,
    ) -> RoleVerdict<'f> {
        let (Some(start), Some(end)) = (self.start_ms, self.end_ms) else {
            return v;
        };
        let Some(row) = role_row(c, v.f.principal) else {
            return v;
        };
        if row.window_end_ms.is_none_or(|e| e <= end) {
            return v;
        }
        // A use, or a service's use, after the window: whether it was also used inside it
        // cannot be known (last-accessed data keeps only the latest use).
        if matches!(
            v.reason,
            Reason::AccessedInWindow | Reason::ActionNotTracked
        ) && v.last.ms().is_some_and(|t| t > end)
        {
            return RoleVerdict {
                reason: Reason::AccessedAfterAsOf,
                ..v
            };
        }
        if v.status() != Status::Unused {
            return v;
        }
        let role_end = row.window_end_ms.unwrap_or(end);
        let reaches = role_end.saturating_sub(i64::from(super::MAX_WINDOW_DAYS) * DAY_MS);
        let svc = c.expander.catalog().service_index(v.a.id());
        let tracked_since = c
            .inputs
            .tracking_since_ms
            .get(svc as usize)
            .copied()
            .unwrap_or(i64::MAX);
        let own = v.reason != Reason::ServiceNotAccessed
            && (start >= tracked_since || v.last != LastAccess::NEVER);
        // The evidence that decides: the action's own time, else the service's (the finding's
        // when it was already the service's; its region is not kept in the service rows).
        let (evidence, region) = if own || v.reason == Reason::ServiceNotAccessed {
            (v.last, v.region)
        } else {
            (service_last(c, v.f.principal, svc), None)
        };
        let reason = if start < reaches {
            Reason::PermissionSetIncomplete
        } else {
            match evidence.ms() {
                Some(t) if t > end => Reason::AccessedAfterAsOf,
                Some(t) if own && t >= start => Reason::AccessedInWindow,
                _ if own => v.reason,
                Some(t) if t >= start => Reason::ActionNotTracked,
                _ => Reason::ServiceNotAccessed,
            }
        };
        let too_new = row.created_ms.is_none_or(|t| t >= start);
        let granted = grant_date(c, dates, &v);
        let reason = if reason.status() != Status::Unused {
            reason
        } else if too_new {
            Reason::PrincipalTooNew
        } else if granted.is_some_and(|t| t >= start) {
            Reason::GrantTooNew
        } else {
            reason
        };
        RoleVerdict {
            reason,
            last: evidence,
            region,
            ..v
        }
    }
}

/// Role `p`'s row of the verdict inputs (they are sorted by principal).
fn role_row<'c>(c: &'c Collected<'_>, p: u32) -> Option<&'c PrincipalRow> {
    let rows = &c.inputs.principals;
    rows.binary_search_by_key(&p, |r| r.p)
        .ok()
        .map(|i| &rows[i])
}

/// Role `p`'s service rows of the verdict inputs (they are sorted by principal, see
/// [`roll_up_permission_sets`]).
fn service_rows<'c>(c: &'c Collected<'_>, p: u32) -> &'c [ServiceRow] {
    let rows = &c.inputs.services;
    let start = rows.partition_point(|r| r.p < p);
    let end = start + rows[start..].partition_point(|r| r.p == p);
    &rows[start..end]
}

/// The last use of service `svc` in principal `p`'s report.
fn service_last(c: &Collected<'_>, p: u32, svc: u32) -> LastAccess {
    service_rows(c, p)
        .iter()
        .find(|s| s.svc() == svc)
        .map_or(LastAccess::NEVER, |s| s.last())
}

/// How far the set's roles can rule out use of an action.
struct Completeness<'g> {
    /// Every provisioned account's role is in the exports, with last-accessed data.
    complete: bool,
    /// Roles whose export lacks a policy they are attached (`policy_missing`, `group_missing`).
    gaps: &'g [u32],
}

impl Completeness<'_> {
    /// Whether the roles' verdicts of an action (`verdicts`) can rule out its use: the data is
    /// complete, and every role with a gap is seen to hold it (else the missing policy may grant
    /// it, and the role use it unseen).
    fn settles(&self, verdicts: &[RoleVerdict<'_>]) -> bool {
        self.complete
            && self
                .gaps
                .iter()
                .all(|r| verdicts.iter().any(|v| v.f.principal == *r))
    }

    /// Whether some action may be left unsettled (the set's `permission_set_incomplete` flag).
    fn partial(&self) -> bool {
        !self.complete || !self.gaps.is_empty()
    }
}

/// The roles' findings and their notes, by principal.
struct Verdicts<'f> {
    findings: &'f [Finding],
    /// Empty, or one per finding.
    controls: &'f [Option<ControlId>],
    by_principal: &'f HashMap<u32, Vec<usize>>,
    /// The grants the export dates ([`GrantDates`]).
    dates: &'f GrantDates,
}

/// When each principal's grants (by principal and granting policies, then by the grant row's
/// actions) can have been made at the earliest, where the export bounds it
/// (`GrantRow::granted_since_ms`): to judge a role's `grant_too_new` again over a set's window
/// ([`SetWindow::judge`], [`grant_date`]). Few grants have one. The actions of one principal's
/// grants by the same policies have more than one date where a policy's versions date some of
/// them (`crate::policy::versions`).
/// Each key with a dated row holds all its rows, dated or not (an inline policy's row of the
/// same principal and policies is not dated where a boundary's version dates some actions).
pub(super) type GrantDates = HashMap<(u32, GrantedById), Vec<(ListId, Option<i64>)>>;

/// [`GrantDates`] of the verdict inputs' grant rows (read before the join consumes them).
pub(super) fn grant_dates(grants: &[GrantRow]) -> GrantDates {
    let dated: HashSet<(u32, GrantedById)> = grants
        .iter()
        .filter(|g| g.granted_since_ms.is_some())
        .map(|g| (g.p, g.gb))
        .collect();
    let mut dates = GrantDates::default();
    for g in grants.iter().filter(|g| dated.contains(&(g.p, g.gb))) {
        dates
            .entry((g.p, g.gb))
            .or_default()
            .push((g.list, g.granted_since_ms));
    }
    dates
}

/// When role verdict `v`'s action can have been granted at the earliest ([`GrantDates`]): the
/// date of its grant row (the one whose actions hold it; any finding's are a part of one row's).
fn grant_date(c: &Collected<'_>, dates: &GrantDates, v: &RoleVerdict<'_>) -> Option<i64> {
    let rows = dates.get(&(v.f.principal, v.f.granted_by))?;
    if let [(_, t)] = rows.as_slice() {
        return *t;
    }
    let a = v.a.id();
    let holds = |list: ListId| c.lists.get(list).actions.iter().any(|x| x.id() == a);
    match rows.iter().find(|(list, _)| holds(*list)) {
        Some((_, t)) => *t,
        // Never met (every finding's action is in a row of its grants): the latest is cautious.
        None => rows.iter().filter_map(|(_, t)| *t).max(),
    }
}

/// `permission_set_account_unlisted`, on each account whose export holds a role of `ps` while
/// the organisation part does not list the set as provisioned there. Identity Center deletes a
/// set's role where it deprovisions the set: the role is the set's (its use keeps an action,
/// its lack of data leaves the set incomplete), and the organisation part is older than the
/// export.
/// A role of an account that `list-accounts.json` does not list either may be another
/// organisation's set's, or the account joined after the organisation part was fetched: it is
/// counted all the same (nothing it used is removed), and the warning says so.
fn warn_unlisted(c: &mut Collected<'_>, (org, ps): (&Organization, &PermissionSet), roles: &[u32]) {
    let mut unlisted: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for r in roles {
        let p = &c.principals[*r as usize];
        if !ps.accounts.iter().any(|a| *a == *p.account_id) {
            unlisted.entry(&p.account_id).or_default().push(p.name());
        }
    }
    let file = format!("sso/{}/{}/accounts.json", ps.instance_id, ps.id);
    let warnings: Vec<AccountWarning> = unlisted
        .into_iter()
        .map(|(account, names)| AccountWarning {
            account_id: account.to_string(),
            warning: Warning {
                code: "permission_set_account_unlisted".into(),
                file: None,
                json_path: None,
                message: format!(
                    "role {} of permission set {} is in this account's export, but the \
                     organisation part's {file} does not list this account: Identity Center \
                     deletes a set's role where it deprovisions the set, so the set is taken as \
                     provisioned here and the role as its own (its use keeps an action in the \
                     set's recommendation); the organisation part is likely older than the \
                     export: fetch it again{}",
                    names.join(", "),
                    ps.name,
                    if org.accounts.contains_key(account) {
                        ""
                    } else {
                        " (list-accounts.json does not list the account either: if it belongs \
                         to another organisation, its role is that organisation's set's, which \
                         provisioning this one does not reach)"
                    }
                ),
            },
        })
        .collect();
    c.warnings.extend(warnings);
}

/// The set's roles are managed by it: not actionable, flagged, named.
fn mark_managed(c: &mut Collected<'_>, ps: &PermissionSet, roles: &[u32]) {
    // One copy of the name for every role of the set.
    let name: std::sync::Arc<str> = ps.name.as_str().into();
    for r in roles {
        let p = &mut c.principals[*r as usize];
        p.actionable = false;
        p.permission_set = Some(std::sync::Arc::clone(&name));
        if !p.flags.contains(&"managed_by_permission_set") {
            // Its permission set is known now: that flag says more than the path's.
            let mut flags = std::mem::take(&mut p.flags).into_vec();
            flags.retain(|f| *f != super::collect::MANAGED_BY_IDENTITY_CENTER);
            flags.push("managed_by_permission_set");
            p.flags = flags.into_boxed_slice();
        }
    }
}

/// Each action any role of the set holds, rolled up over the roles ([`roll`]) and the control
/// policies of the accounts without one (`elsewhere`), and grouped as findings group (service,
/// verdict, evidence, granting policies, control note).
///
/// An action's roll-up depends on which finding of each role holds it (and on the accounts
/// without a role, `others`), not on the action: actions held by the same finding of every role
/// roll up alike ([`ActionClasses`]). Each such class is rolled once, from one of its actions,
/// rather than each action from its own verdicts (a set's roles hold ~10^4 actions each, in
/// every account it is provisioned to: 4.4 M verdicts of a set at 200 accounts).
fn rolled_groups<'f>(
    c: &Collected<'_>,
    of: &Verdicts<'f>,
    roles: &[u32],
    elsewhere: &[Elsewhere<'_>],
    data: &Completeness<'_>,
    window: &SetWindow,
    notes: &mut Vec<ControlNote>,
) -> BTreeMap<GroupKey, Vec<GrantedAction>> {
    let classes = ActionClasses::new(c, of, roles, elsewhere);
    // Each class's verdicts, from its first action (roles in account order), rolled in the
    // order of their first actions: a note is added where rolling action by action adds it.
    let mut verdicts: Vec<Vec<RoleVerdict<'f>>> = vec![Vec::new(); classes.dense.len()];
    for r in roles {
        for fi in of.by_principal.get(r).into_iter().flatten() {
            let f = &of.findings[*fi];
            let control = of.controls.get(*fi).copied().flatten();
            for a in &c.lists.get(f.list).actions {
                if let Some(k) = classes.first_of(a.id().index()) {
                    let v = window.judge(c, of.dates, RoleVerdict::new(f, control, *a));
                    verdicts[k].push(v);
                }
            }
        }
    }
    let rolled: Vec<Rolled> = verdicts
        .iter()
        .map(|verdicts| {
            let a = verdicts[0].a.id();
            let others: Vec<Option<ControlId>> = elsewhere.iter().map(|e| e.note(a)).collect();
            roll(verdicts, &others, data.settles(verdicts), notes)
        })
        .collect();
    // Each action with its class's roll-up and the first role's sensitivity of it, in action
    // order.
    let mut groups: BTreeMap<GroupKey, Vec<GrantedAction>> = BTreeMap::new();
    for (i, (k, sensitivity)) in classes.of.iter().enumerate() {
        let (Some(k), Some(sensitivity)) = (classes.dense(*k), sensitivity) else {
            continue;
        };
        debug_assert_eq!(sensitivity.id().index(), i);
        let r = &rolled[k];
        groups
            .entry(GroupKey {
                svc: c.expander.catalog().service_index(sensitivity.id()),
                reason: r.reason,
                last: r.last,
                region: r.region,
                gb: r.gb,
                scoped: r.scoped,
                conditional: r.conditional,
                control: r.control,
            })
            .or_default()
            .push(*sensitivity);
    }
    groups
}

/// The actions a set's roles hold, in classes of those held by the same finding of each role
/// (and with the same notes of the accounts without a role): partition refinement, a role at a
/// time, without a verdict per role and action.
struct ActionClasses {
    /// Per action (by catalog index): its class (`NO_CLASS`: no role holds it) and the first
    /// role's sensitivity of it.
    of: Vec<(u32, Option<GrantedAction>)>,
    /// Class → its index among the classes in the order of their first actions.
    dense: HashMap<u32, usize>,
    /// Per action: whether it is its class's first.
    is_first: Vec<bool>,
}

/// The class of an action no role holds.
const NO_CLASS: u32 = u32::MAX;

/// One step of [`ActionClasses`]' refinement: the new class of (old class, part), a new one for
/// each pair met first.
#[derive(Default)]
struct Split {
    parts: HashMap<(u32, usize), u32>,
    next: u32,
}

impl Split {
    fn class(&mut self, old: u32, part: usize) -> u32 {
        let next = &mut self.next;
        *self.parts.entry((old, part)).or_insert_with(|| {
            *next += 1;
            *next - 1
        })
    }
}

impl ActionClasses {
    fn new(
        c: &Collected<'_>,
        of: &Verdicts<'_>,
        roles: &[u32],
        elsewhere: &[Elsewhere<'_>],
    ) -> Self {
        let mut by: Vec<(u32, Option<GrantedAction>)> =
            vec![(NO_CLASS, None); c.expander.catalog().len()];
        let mut split = Split::default();
        for r in roles {
            // A finding is one role's: its splits are never met again.
            split.parts.clear();
            for fi in of.by_principal.get(r).into_iter().flatten() {
                for a in &c.lists.get(of.findings[*fi].list).actions {
                    let i = a.id().index();
                    if i >= by.len() {
                        by.resize(i + 1, (NO_CLASS, None));
                    }
                    by[i].0 = split.class(by[i].0, *fi);
                    by[i].1.get_or_insert(*a);
                }
            }
        }
        // The accounts without a role: their notes of each action (none, mostly).
        if !elsewhere.is_empty() {
            split.parts.clear();
            let mut notes_of: HashMap<Vec<Option<ControlId>>, usize> = HashMap::new();
            for entry in &mut by {
                let Some(a) = entry.1 else {
                    continue;
                };
                let notes: Vec<Option<ControlId>> =
                    elsewhere.iter().map(|e| e.note(a.id())).collect();
                let n = notes_of.len();
                let part = *notes_of.entry(notes).or_insert(n);
                entry.0 = split.class(entry.0, part);
            }
        }
        let mut dense = HashMap::new();
        let mut is_first = vec![false; by.len()];
        for (i, (k, a)) in by.iter().enumerate() {
            if a.is_some() && !dense.contains_key(k) {
                dense.insert(*k, dense.len());
                is_first[i] = true;
            }
        }
        ActionClasses {
            of: by,
            dense,
            is_first,
        }
    }

    /// The index of class `k` in the order of first actions.
    fn dense(&self, k: u32) -> Option<usize> {
        self.dense.get(&k).copied()
    }

    /// The class index of action `i` when it is its class's first.
    fn first_of(&self, i: usize) -> Option<usize> {
        if *self.is_first.get(i)? {
            self.dense(self.of[i].0)
        } else {
            None
        }
    }
}

/// One finding of principal `pidx` (the set) per group, with its note.
fn set_findings(
    c: &mut Collected<'_>,
    pidx: u32,
    groups: BTreeMap<GroupKey, Vec<GrantedAction>>,
) -> Vec<(Finding, Option<ControlId>)> {
    let mut out = Vec::with_capacity(groups.len());
    for (k, actions) in groups {
        let list = c.lists.push(actions);
        let f = Finding {
            principal: pidx,
            list,
            reason: k.reason,
            last: k.last,
            last_accessed_region: k.region,
            granted_by: k.gb,
            scope: Scope::new(k.scoped, k.conditional),
            exclusion: None,
        };
        out.push((f, k.control));
    }
    out
}

/// The set's rows of the verdict inputs: the newest use of each service over its roles, and
/// the end of its window ([`SetWindow`]).
fn add_set_inputs(
    c: &mut Collected<'_>,
    pidx: u32,
    roles: &[u32],
    complete: bool,
    as_of: Option<Timestamp>,
) -> Result<()> {
    let mut services: BTreeMap<u32, (Option<i64>, Option<u32>)> = BTreeMap::new();
    for s in roles.iter().flat_map(|r| service_rows(c, *r)) {
        let e = services.entry(s.svc()).or_insert((None, None));
        let last_ms = s.last_ms();
        if last_ms > e.0 {
            *e = (last_ms, s.region());
        }
    }
    for (svc, (last_ms, region)) in services {
        // The service and time of one of its roles' rows: they fit.
        let row = ServiceRow::new(pidx, svc, last_ms, region).ok_or_else(|| {
            Error::Analysis(format!(
                "a permission set's service row: {svc}, {last_ms:?}"
            ))
        })?;
        c.inputs.services.push(row);
    }
    c.inputs.principals.push(PrincipalRow {
        p: pidx,
        has_la: complete,
        created_ms: None,
        window_start_ms: None,
        window_end_ms: as_of.map(|t| t.timestamp_millis()),
        used_after_data: false,
    });
    Ok(())
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct GroupKey {
    svc: u32,
    reason: Reason,
    last: LastAccess,
    region: Option<RegionId>,
    gb: GrantedById,
    scoped: bool,
    conditional: bool,
    control: Option<ControlId>,
}

/// The set's verdict of one action from its roles' (`verdicts`; unknown unless `settled`, see
/// [`Completeness::settles`]), and its control note from theirs and those of the accounts
/// without a role in the exports (`others`).
fn roll(
    verdicts: &[RoleVerdict<'_>],
    others: &[Option<ControlId>],
    settled: bool,
    notes: &mut Vec<ControlNote>,
) -> Rolled {
    let first = verdicts[0];
    // The verdict of `status` (or of `reason`) with the newest last access: its evidence is the
    // set's (a role's use before the window is not "never").
    let newest = |keep: &dyn Fn(&RoleVerdict<'_>) -> bool| {
        verdicts
            .iter()
            .filter(|v| keep(v))
            .max_by_key(|v| v.last_accessed())
            .copied()
    };
    let (reason, source) = if let Some(v) = newest(&|v| v.status() == Status::Used) {
        (Reason::AccessedInWindow, v)
    } else if !settled {
        (
            Reason::PermissionSetIncomplete,
            newest(&|_| true).unwrap_or(first),
        )
    } else if let Some(v) = newest(&|v| v.status() == Status::Unknown) {
        (v.reason, v)
    } else {
        // Every role's is unused: the one closest to use explains it.
        let pick = |r: Reason| newest(&|v| v.reason == r);
        match pick(Reason::ActionLastAccessedBeforeWindow)
            .or_else(|| pick(Reason::ActionNotAccessed))
            .or_else(|| pick(Reason::ServiceNotAccessed))
        {
            Some(v) => (v.reason, v),
            None => (Reason::ServiceNotAccessed, first),
        }
    };
    let (last, region) = match source.last {
        LastAccess::NEVER => (LastAccess::NEVER, None),
        last => (last, source.region),
    };
    // Control notes: blocked in every account is blocked; anything else the first note, a
    // block somewhere but not everywhere becoming a restriction.
    let controls: Vec<Option<ControlId>> = verdicts
        .iter()
        .map(|v| v.control)
        .chain(others.iter().copied())
        .collect();
    let is_blocked = |c: &Option<ControlId>| {
        c.and_then(|c| notes.get(c.index()))
            .is_some_and(|n| n.effect == ControlEffect::Blocked)
    };
    let control = if controls.iter().all(is_blocked) {
        controls[0]
    } else if let Some(c) = controls.iter().flatten().next().copied() {
        let note = notes[c.index()].clone();
        if note.effect == ControlEffect::Blocked {
            let restricted = ControlNote {
                effect: ControlEffect::Restricted,
                policies: note.policies.clone(),
                detail: format!(
                    "{} in some of the accounts it is provisioned to",
                    note.detail
                ),
            };
            intern(notes, &restricted)
        } else {
            Some(c)
        }
    } else {
        None
    };
    Rolled {
        reason,
        last,
        region,
        gb: first.f.granted_by,
        scoped: verdicts.iter().all(|v| v.f.scoped()),
        conditional: verdicts.iter().all(|v| v.f.conditional()),
        control,
    }
}

fn label_id(c: &mut Collected<'_>, label: PolicyLabel) -> LabelId {
    match c.labels.iter().position(|l| *l == label) {
        Some(i) => LabelId(i as u32),
        None => {
            c.labels.push(label);
            LabelId(c.labels.len() as u32 - 1)
        }
    }
}

fn principal_info(
    c: &mut Collected<'_>,
    org: &Organization,
    ps: &PermissionSet,
    roles: &[u32],
    data: &Completeness<'_>,
    as_of: Option<Timestamp>,
) -> Result<PrincipalInfo> {
    let names = PrincipalNames::new(&ps.name, &ps.arn, &ps.id).ok_or_else(|| {
        Error::Analysis(format!(
            "permission set {}: its name, ARN and id take more than 4 GiB",
            ps.name
        ))
    })?;
    let mut policies = Vec::new();
    let mut push = |c: &mut Collected<'_>,
                    kind: PolicyKind,
                    name: String,
                    arn: Option<String>,
                    boundary: bool| {
        let label = label_id(
            c,
            PolicyLabel {
                kind,
                name,
                via_group: None,
                boundary,
            },
        );
        policies.push(PolicyInfo {
            kind,
            arn: arn.map(Into::into),
            boundary,
            grants: 0,
            unused: 0,
            label,
        });
    };
    if ps.inline_policy.is_some() {
        push(c, PolicyKind::Inline, INLINE_NAME.into(), None, false);
    }
    for m in &ps.managed_policies {
        push(
            c,
            PolicyKind::AwsManaged,
            m.name.clone(),
            Some(m.arn.clone()),
            false,
        );
    }
    for m in &ps.customer_managed_policies {
        push(c, PolicyKind::CustomerManaged, m.name.clone(), None, false);
    }
    match &ps.boundary {
        Some(crate::model::organization::Boundary::AwsManaged(arn)) => {
            let name = crate::model::arn::name(arn).to_string();
            push(c, PolicyKind::AwsManaged, name, Some(arn.clone()), true);
        }
        Some(crate::model::organization::Boundary::CustomerManaged(r)) => {
            push(c, PolicyKind::CustomerManaged, r.name.clone(), None, true);
        }
        None => {}
    }
    let role_infos: Vec<&PrincipalInfo> =
        roles.iter().map(|r| &c.principals[*r as usize]).collect();
    let last = role_infos
        .iter()
        .filter_map(|p| p.last_used.map(|t| (t, p.last_used_region.clone())))
        .max_by_key(|(t, _)| *t);
    let intentional = role_infos.iter().find_map(|p| p.intentional.clone());
    let mut flags = Vec::new();
    if data.partial() {
        flags.push("permission_set_incomplete");
    }
    Ok(PrincipalInfo {
        account_id: org.management_account.as_str().into(),
        kind: PrincipalType::PermissionSet,
        names,
        tags: Default::default(),
        created: None,
        last_used: last.as_ref().map(|(t, _)| *t),
        last_used_region: last.and_then(|(_, r)| r),
        service_linked: false,
        actionable: true,
        intentional,
        permission_set: Some(ps.arn.as_str().into()),
        has_last_accessed: data.complete,
        as_of,
        policies: policies.into_boxed_slice(),
        unmatched_patterns: Box::default(),
        counts: Counts::default(),
        unused_by_sensitivity: BySensitivity::default(),
        score: 0,
        flags: flags.into_boxed_slice(),
    })
}

/// The name Identity Center gives a permission set's inline policy on its roles.
pub const INLINE_NAME: &str = "AwsSSOInlinePolicy";

/// The organisation part's facts for the outputs.
pub(super) fn info(org: &Organization, principals: &[PrincipalInfo]) -> OrganizationInfo {
    let where_ = |id: &str| match org.nodes.get(id) {
        Some(n) if n.kind == NodeKind::Account => format!("account {id}"),
        Some(n) => format!("{} {}", n.kind.as_str(), n.name),
        None => format!("{id} (not in the tree)"),
    };
    let control_policies = org
        .control_policies
        .iter()
        .map(|p| ControlPolicyInfo {
            kind: match p.kind {
                ControlPolicyType::Scp => "SCP",
                ControlPolicyType::Rcp => "RCP",
            },
            name: p.name.clone(),
            id: p.id.clone(),
            aws_managed: p.aws_managed,
            attached_to: {
                // Root first, then OUs, then accounts, as the tree reads.
                let mut t: Vec<(Option<NodeKind>, String)> = p
                    .targets
                    .iter()
                    .map(|t| (org.nodes.get(t).map(|n| n.kind), where_(t)))
                    .collect();
                t.sort();
                t.into_iter().map(|(_, w)| w).collect()
            },
        })
        .collect();
    let permission_sets = org
        .permission_sets
        .iter()
        .map(|ps| {
            let roles = principals.iter().filter(|p| {
                p.kind == PrincipalType::Role
                    && p.permission_set.as_deref() == Some(ps.name.as_str())
            });
            let mut with_data: Vec<String> = roles
                .clone()
                .filter(|p| p.has_last_accessed)
                .map(|p| p.account_id.to_string())
                .collect();
            with_data.sort();
            with_data.dedup();
            // Where its role is, it is provisioned (`permission_set_account_unlisted`).
            let mut accounts = ps.accounts.clone();
            accounts.extend(roles.map(|p| p.account_id.to_string()));
            accounts.sort();
            accounts.dedup();
            PermissionSetInfo {
                accounts,
                accounts_with_data: with_data,
                ..set_info(ps)
            }
        })
        .collect();
    OrganizationInfo {
        id: org.id.clone(),
        management_account: org.management_account.clone(),
        path: org.root.display().to_string(),
        accounts: org.accounts.len(),
        control_policies,
        permission_sets,
        files: org.files.clone(),
    }
}

/// A permission set of the organisation part, without what the exports say of it.
fn set_info(ps: &PermissionSet) -> PermissionSetInfo {
    PermissionSetInfo {
        name: ps.name.clone(),
        arn: ps.arn.clone(),
        accounts: ps.accounts.clone(),
        accounts_with_data: Vec::new(),
        customer_managed_policies: ps
            .customer_managed_policies
            .iter()
            .chain(match &ps.boundary {
                Some(crate::model::organization::Boundary::CustomerManaged(r)) => Some(r),
                _ => None,
            })
            .cloned()
            .collect(),
    }
}

/// The organisation part's permission sets, each with the accounts it is provisioned to and the
/// customer managed policies it references: what the identity checks need of an organisation
/// part that the analysis was not given (`diff` analyses each export alone).
pub fn permission_set_references(org: &Organization) -> Vec<PermissionSetInfo> {
    org.permission_sets.iter().map(set_info).collect()
}
