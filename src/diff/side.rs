//! One side of a diff: an analysis reduced to compact tables. A principal's grants stay grouped
//! as the analysis grouped them (one [`SideGroup`] per finding: a list of actions of one service
//! and their verdict); the lists are shared between the principals that share them, so a side of
//! ten thousand roles holding `AdministratorAccess` stores that role's lists once.

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};

use serde::Serialize;

use crate::analysis::identities::{IdentityFinding, IdentityReport, NotPossible};
use crate::analysis::{
    Analysis, BySensitivity, GrantedAction, ListId, Reason, Sensitivity, Status,
};
use crate::catalog::ActionId;
use crate::model::Timestamp;

/// A principal on one side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SidePrincipal {
    pub account_id: String,
    /// `role`, `user` or `group`.
    pub principal_type: String,
    pub name: String,
    pub arn: String,
    /// `RoleId` / `UserId` / `GroupId`.
    pub id: String,
    pub created: Option<Timestamp>,
    /// False for service-linked roles and IAM Identity Center roles.
    pub actionable: bool,
    /// What this side's export lacks of the principal's policies.
    pub gaps: Gaps,
}

/// What one side's export lacks of a principal's policies (the `policy_missing` and
/// `group_missing` warnings): its grants on that side are not the whole truth, so an action
/// granted on one side only may be no change at all (`grant_unknown`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Gaps {
    /// A managed policy it is attached (directly or through a group), or a group it is in, is
    /// missing: its grants may lack actions (an Allow of the policy) or hold too many (a Deny).
    pub lacks_grants: bool,
    /// Its permissions boundary's policy is missing: no boundary was applied, so its grants may
    /// hold actions the boundary takes away.
    pub lacks_boundary: bool,
}

impl Gaps {
    /// The gaps a principal's flags name (`policy_missing`, `group_missing`,
    /// `boundary_missing`).
    pub fn of_flags(flags: &[&str]) -> Gaps {
        use crate::analysis::{BOUNDARY_MISSING, GROUP_MISSING, POLICY_MISSING};
        Gaps {
            lacks_grants: flags
                .iter()
                .any(|f| *f == POLICY_MISSING || *f == GROUP_MISSING),
            lacks_boundary: flags.contains(&BOUNDARY_MISSING),
        }
    }

    /// Whether an action granted on the old side only may not have been revoked: the new side
    /// may lack the grant (a missing policy's Allow), or the old side may not have granted it
    /// (a missing policy's Deny, or a missing boundary that takes it away).
    pub fn revocation_unknown(old: Gaps, new: Gaps) -> bool {
        new.lacks_grants || old.lacks_grants || old.lacks_boundary
    }

    /// Whether an action granted on the new side only may not be newly granted: the old side may
    /// lack the grant, or the new side the boundary that takes it away. A policy the new side
    /// lacks may hold a Deny of it too, but the grant stays new risk (its row says so): a missing
    /// policy is nearly always an Allow (a `report` of that side reads it as one), and must not
    /// silence `--fail-on-new`. A missing boundary on the old side only granted more there, so
    /// it settles nothing either way.
    pub fn new_grant_unknown(new: Gaps, old: Gaps) -> bool {
        old.lacks_grants || new.lacks_boundary
    }
}

/// Everything a group's actions share on one side besides the actions: the verdict, its
/// evidence, the granting policies and the exclusion. Two groups with equal verdicts read the
/// same in every output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Verdict {
    pub status: Status,
    pub reason: Reason,
    pub last_accessed: Option<Timestamp>,
    /// Index into the side's granting-policy texts ([`Side::granted_by`]).
    pub granted_by: u32,
    /// An exclusion rule covers the actions.
    pub excluded: bool,
}

/// A principal's group of actions on one side (a finding of the analysis).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SideGroup {
    /// Index into [`Side::principals`].
    pub principal: u32,
    /// Index of the action list ([`Side::actions`]).
    pub list: u32,
    pub verdict: Verdict,
}

/// An action list with what the comparison asks of it often.
#[derive(Debug, Clone)]
struct List {
    /// Sorted by id, all of one service, not empty.
    actions: Box<[GrantedAction]>,
    /// Of the ids only: equal lists of two sides have equal hashes.
    hash: u64,
    by_sensitivity: BySensitivity,
    highest: Sensitivity,
}

impl List {
    fn new(actions: Box<[GrantedAction]>) -> List {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        let mut by_sensitivity = BySensitivity::default();
        let mut highest = Sensitivity::Low;
        for a in actions.iter() {
            a.id().hash(&mut h);
            by_sensitivity.add_one(a.sensitivity());
            highest = highest.max(a.sensitivity());
        }
        List {
            actions,
            hash: h.finish(),
            by_sensitivity,
            highest,
        }
    }
}

/// Per-side grant counts of a principal (what a `principal_added` / `principal_removed` row
/// says).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub granted: u64,
    pub used: u64,
    pub unused: u64,
    pub unknown: u64,
    pub highest: Option<Sensitivity>,
}

impl Tally {
    pub fn text(&self) -> String {
        format!(
            "{} granted: {} used, {} unused, {} unknown",
            self.granted, self.used, self.unused, self.unknown
        )
    }
}

/// One side of a diff as plain tables: what [`compare`](super::compare) works on. Build it from
/// an analysis ([`Side::from_analysis`]) or by hand ([`Side::add_principal`],
/// [`Side::add_group`]).
#[derive(Debug, Clone, Default)]
pub struct Side {
    /// Account ids exported on this side, sorted.
    pub accounts: Vec<String>,
    pub principals: Vec<SidePrincipal>,
    /// Sorted by principal, then first action.
    groups: Vec<SideGroup>,
    lists: Vec<List>,
    granted_by: Vec<String>,
    granted_by_index: HashMap<String, u32>,
    /// Identity and credential findings (`identity_findings` on this side's exports).
    pub identities: Vec<IdentityFinding>,
    /// Identity checks that could not run on this side.
    pub identity_checks_not_possible: Vec<NotPossible>,
}

impl Side {
    /// An empty side exporting `accounts`.
    pub fn new(mut accounts: Vec<String>) -> Side {
        accounts.sort();
        accounts.dedup();
        Side {
            accounts,
            ..Side::default()
        }
    }

    /// The tables of an analysis: its principals, and one group per finding (the finding's
    /// actions and verdict). Lists the analysis shares between findings are stored once.
    pub fn from_analysis(an: &Analysis<'_>) -> Side {
        let mut side = Side::new(an.exports.iter().map(|e| e.account_id.clone()).collect());
        for p in &an.principals {
            side.add_principal(SidePrincipal {
                account_id: p.account_id.to_string(),
                principal_type: p.kind.as_str().to_string(),
                name: p.name().to_owned(),
                arn: p.arn().to_owned(),
                id: p.id().to_owned(),
                created: p.created,
                actionable: p.actionable,
                gaps: Gaps::of_flags(&p.flags),
            });
        }
        let texts = an.granted_by_texts();
        let mut lists: HashMap<ListId, u32> = HashMap::new();
        let mut policies: HashMap<u32, u32> = HashMap::new();
        side.groups.reserve(an.findings.len());
        for f in &an.findings {
            let list = *lists.entry(f.list).or_insert_with(|| {
                side.lists.push(List::new(an.actions(f).into()));
                (side.lists.len() - 1) as u32
            });
            let granted_by = *policies.entry(f.granted_by.0).or_insert_with(|| {
                let text = texts
                    .get(f.granted_by.0 as usize)
                    .cloned()
                    .unwrap_or_default();
                side.intern(text)
            });
            side.groups.push(SideGroup {
                principal: f.principal,
                list,
                verdict: Verdict {
                    status: f.status(),
                    reason: f.reason,
                    last_accessed: f.last_accessed(),
                    granted_by,
                    excluded: f.exclusion.is_some(),
                },
            });
        }
        let lists = &side.lists;
        side.groups
            .sort_by_key(|g| (g.principal, lists[g.list as usize].actions[0].id()));
        side
    }

    /// Adds this side's identity findings and the checks that could not run.
    pub fn with_identities(mut self, report: IdentityReport) -> Side {
        self.identities = report.findings;
        self.identity_checks_not_possible = report.checks_not_possible;
        self
    }

    /// Adds a principal; returns its index.
    pub fn add_principal(&mut self, p: SidePrincipal) -> u32 {
        self.principals.push(p);
        (self.principals.len() - 1) as u32
    }

    /// Adds a group of `principal`'s actions with one verdict. `actions` must be of one service
    /// and not overlap the principal's other groups; they are sorted here. An empty list adds
    /// nothing.
    pub fn add_group(
        &mut self,
        principal: u32,
        mut actions: Vec<GrantedAction>,
        state: GroupState<'_>,
    ) {
        if actions.is_empty() {
            return;
        }
        actions.sort_by_key(|a| a.id());
        let key = (principal, actions[0].id());
        self.lists.push(List::new(actions.into()));
        let granted_by = self.intern(state.granted_by.to_string());
        let lists = &self.lists;
        let at = self
            .groups
            .partition_point(|g| (g.principal, lists[g.list as usize].actions[0].id()) < key);
        self.groups.insert(
            at,
            SideGroup {
                principal,
                list: (self.lists.len() - 1) as u32,
                verdict: Verdict {
                    status: state.status,
                    reason: state.reason,
                    last_accessed: state.last_accessed,
                    granted_by,
                    excluded: state.excluded,
                },
            },
        );
    }

    fn intern(&mut self, text: String) -> u32 {
        if let Some(i) = self.granted_by_index.get(&text) {
            return *i;
        }
        let i = self.granted_by.len() as u32;
        self.granted_by_index.insert(text.clone(), i);
        self.granted_by.push(text);
        i
    }

    /// The groups of principal `p` (an index into `principals`), by first action.
    pub fn groups_of(&self, p: u32) -> &[SideGroup] {
        let start = self.groups.partition_point(|g| g.principal < p);
        let end = self.groups.partition_point(|g| g.principal <= p);
        &self.groups[start..end]
    }

    /// Every group, by principal and first action.
    pub fn groups(&self) -> &[SideGroup] {
        &self.groups
    }

    /// The actions of a group, sorted by id.
    pub fn actions(&self, g: &SideGroup) -> &[GrantedAction] {
        &self.lists[g.list as usize].actions
    }

    /// A hash of the group's action ids: groups of two sides with the same actions have the same
    /// hash.
    pub fn ids_hash(&self, g: &SideGroup) -> u64 {
        self.lists[g.list as usize].hash
    }

    /// The first action of a group.
    pub fn first_action(&self, g: &SideGroup) -> ActionId {
        self.lists[g.list as usize].actions[0].id()
    }

    /// The granting policies of a verdict, as text (`aws:ReadOnlyAccess; inline:extra`).
    pub fn granted_by(&self, v: &Verdict) -> &str {
        self.granted_by
            .get(v.granted_by as usize)
            .map_or("", String::as_str)
    }

    /// Per sensitivity, how many of the group's actions have it.
    pub fn group_sensitivities(&self, g: &SideGroup) -> BySensitivity {
        self.lists[g.list as usize].by_sensitivity
    }

    /// Groups, distinct action lists and the actions in those lists (the side's size).
    pub fn sizes(&self) -> (usize, usize, usize) {
        let actions = self.lists.iter().map(|l| l.actions.len()).sum();
        (self.groups.len(), self.lists.len(), actions)
    }

    /// How many actions are granted on this side (principal × action pairs).
    pub fn granted(&self) -> u64 {
        self.groups
            .iter()
            .map(|g| self.lists[g.list as usize].actions.len() as u64)
            .sum()
    }

    /// What principal `p` is granted on this side, in counts.
    pub fn tally(&self, p: u32) -> Tally {
        let mut t = Tally::default();
        for g in self.groups_of(p) {
            let list = &self.lists[g.list as usize];
            let n = list.actions.len() as u64;
            t.granted += n;
            match g.verdict.status {
                Status::Used => t.used += n,
                Status::Unused => t.unused += n,
                Status::Unknown => t.unknown += n,
            }
            t.highest = t.highest.max(Some(list.highest));
        }
        t
    }

    /// Every grant of principal `p` that no exclusion covers, by sensitivity.
    pub fn open_grants(&self, p: u32) -> BySensitivity {
        self.by_sensitivity_of(p, |g| !g.verdict.excluded)
    }

    /// Principal `p`'s unused grants that no exclusion covers, by sensitivity.
    pub fn unused_of(&self, p: u32) -> BySensitivity {
        self.by_sensitivity_of(p, counts_unused)
    }

    /// Principal `p`'s grants in the groups `keep` takes, by sensitivity.
    fn by_sensitivity_of(&self, p: u32, keep: impl Fn(&SideGroup) -> bool) -> BySensitivity {
        let mut b = BySensitivity::default();
        for g in self.groups_of(p).iter().filter(|g| keep(g)) {
            b.add(&self.lists[g.list as usize].by_sensitivity);
        }
        b
    }

    /// Unused, not excluded grants of actionable principals, by sensitivity, per account (every
    /// exported account, also those without any).
    pub fn unused_by_account(&self) -> BTreeMap<String, BySensitivity> {
        let mut out: BTreeMap<String, BySensitivity> = self
            .accounts
            .iter()
            .map(|a| (a.clone(), BySensitivity::default()))
            .collect();
        for g in &self.groups {
            let Some(p) = self.principals.get(g.principal as usize) else {
                continue;
            };
            if p.actionable && counts_unused(g) {
                out.entry(p.account_id.clone())
                    .or_default()
                    .add(&self.lists[g.list as usize].by_sensitivity);
            }
        }
        out
    }

    /// Unused, not excluded grants of actionable principals, by sensitivity.
    pub fn unused_by_sensitivity(&self) -> BySensitivity {
        let mut total = BySensitivity::default();
        for b in self.unused_by_account().values() {
            total.add(b);
        }
        total
    }
}

/// Whether a group counts among the unused: unused and no exclusion covers it.
fn counts_unused(g: &SideGroup) -> bool {
    g.verdict.status == Status::Unused && !g.verdict.excluded
}

/// The verdict of a group added by hand ([`Side::add_group`]).
#[derive(Debug, Clone, Copy)]
pub struct GroupState<'a> {
    pub status: Status,
    pub reason: Reason,
    pub last_accessed: Option<Timestamp>,
    pub granted_by: &'a str,
    pub excluded: bool,
}
