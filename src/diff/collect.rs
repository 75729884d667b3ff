//! What the organisation-wide outputs (`diff.json`, `diff.html`) keep of each account's
//! comparison: counts, the new risk, and bounded lists (the first rows of each kind, the first
//! policy groups of each table, in output order). Accounts may come in any order: what is kept
//! is the first N by the full output key, so the result does not depend on that order.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};

use super::compare::{Bucket, Change, identity_key_of};
use super::counts::{KindCounts, NewRisk};
use super::expand::Notations;
use super::kinds::ChangeKind;
use super::model::{DiffLimits, DiffRow};
use super::permission_sets::Rollup;
use super::policies::{Caps, PolicyGroup, build, policy_groups};
use super::side::Side;
use crate::analysis::identities::{self, IdentityFinding, NotPossible};
use crate::analysis::{BySensitivity, Sensitivity};

/// The smallest items of each bucket by key, at most `cap` of each.
#[derive(Debug)]
pub struct Capped<K, T> {
    buckets: BTreeMap<Bucket, BTreeMap<K, T>>,
}

impl<K, T> Default for Capped<K, T> {
    fn default() -> Self {
        Capped {
            buckets: BTreeMap::new(),
        }
    }
}

impl<K: Ord, T> Capped<K, T> {
    /// Whether an item of bucket `b` would be kept; `before(k)`: whether its key comes before
    /// the key `k`.
    fn wants(&self, b: Bucket, cap: usize, before: impl Fn(&K) -> bool) -> bool {
        match self.buckets.get(&b) {
            None => cap > 0,
            Some(m) => m.len() < cap || m.last_key_value().is_some_and(|(k, _)| before(k)),
        }
    }

    fn insert(&mut self, b: Bucket, cap: usize, key: K, item: T) {
        if cap == 0 {
            return;
        }
        let m = self.buckets.entry(b).or_default();
        m.insert(key, item);
        if m.len() > cap {
            m.pop_last();
        }
    }

    /// The items in bucket then key order, at most `per_kind(kind)` of each kind and `total` in
    /// all.
    pub fn into_vec(self, per_kind: impl Fn(ChangeKind) -> usize, total: usize) -> Vec<T> {
        let mut taken = KindCounts::default();
        let mut out = Vec::new();
        for ((kind, _), items) in self.buckets {
            for item in items.into_values() {
                if out.len() < total && (taken.get(kind) as usize) < per_kind(kind) {
                    taken.add(kind);
                    out.push(item);
                }
            }
        }
        out
    }
}

/// A row's place within its bucket: account, principal type, name, ARN, action, credential.
type RowKey = (String, String, String, String, String, Option<String>);
type RowKeyRef<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str, Option<&'a str>);

fn row_key(c: &Change) -> RowKeyRef<'_> {
    (
        &c.account_id,
        &c.principal_type,
        &c.principal_name,
        &c.principal_arn,
        &c.action,
        c.identity.as_ref().and_then(|i| i.credential.as_deref()),
    )
}

fn row_key_view(k: &RowKey) -> RowKeyRef<'_> {
    (&k.0, &k.1, &k.2, &k.3, &k.4, k.5.as_deref())
}

/// A policy group's place within its bucket: account, principal type, name, ARN, policies.
type GroupKey = (String, String, String, String, String);

fn group_key_view(k: &GroupKey) -> super::policies::GroupKey<'_> {
    (&k.0, &k.1, &k.2, &k.3, &k.4)
}

/// One side's totals over its accounts.
#[derive(Debug, Default)]
pub struct SideTotals {
    /// Sorted.
    pub accounts: Vec<String>,
    pub principals: u64,
    /// Principal × action pairs.
    pub granted: u64,
    /// Unused, actionable, not excluded, per account.
    pub unused_by_account: BTreeMap<String, BySensitivity>,
    pub identities: u64,
    pub checks_not_possible: Vec<NotPossible>,
    /// Every identity finding, to rank them across accounts.
    findings: Vec<IdentityFinding>,
}

impl SideTotals {
    fn add(&mut self, side: &Side) {
        self.accounts.extend(side.accounts.iter().cloned());
        self.accounts.sort();
        self.accounts.dedup();
        self.principals += side.principals.len() as u64;
        self.granted += side.granted();
        for (acct, b) in side.unused_by_account() {
            self.unused_by_account.entry(acct).or_default().add(&b);
        }
        self.identities += side.identities.len() as u64;
        self.checks_not_possible
            .extend(side.identity_checks_not_possible.iter().cloned());
        self.checks_not_possible.sort_by(|a, b| {
            (&a.account_id, a.check, &a.reason).cmp(&(&b.account_id, b.check, &b.reason))
        });
        self.findings.extend(side.identities.iter().cloned());
    }

    /// The rank each identity finding has among the side's (as one analysis of every account
    /// ranks them), by its identity key.
    fn ranks(&self) -> HashMap<String, u32> {
        let mut all = self.findings.clone();
        identities::rank(&mut all);
        all.iter().map(|f| (identity_key_of(f), f.rank)).collect()
    }

    /// Unused, actionable, not excluded, by sensitivity.
    pub fn unused(&self) -> BySensitivity {
        let mut b = BySensitivity::default();
        for x in self.unused_by_account.values() {
            b.add(x);
        }
        b
    }
}

/// A table of `diff.html`: its first policy groups, and how many groups and actions it has.
#[derive(Debug, Default)]
pub struct Table {
    groups: Capped<GroupKey, PolicyGroup>,
    pub total_groups: u64,
    pub total_actions: u64,
}

/// The four permission tables of `diff.html`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TableId {
    NewRisk,
    Revoked,
    StillUnused,
    /// `grant_unknown`: what one side's data cannot settle.
    NotSettled,
}

impl TableId {
    pub const ALL: [TableId; 4] = [
        TableId::NewRisk,
        TableId::Revoked,
        TableId::StillUnused,
        TableId::NotSettled,
    ];

    /// Whether a row belongs in the table. New risk goes by the new side's sensitivity, as
    /// [`NewRisk`] and `--fail-on-new` count it: an action critical before and medium now is not
    /// new high risk.
    pub fn keeps(self, c: &Change) -> bool {
        match self {
            TableId::NewRisk => {
                matches!(c.kind, ChangeKind::NewlyGranted | ChangeKind::NewlyUnused)
                    && c.new_sensitivity >= Some(Sensitivity::High)
                    && c.actionable
                    && !c.new.as_ref().is_some_and(|n| n.excluded)
            }
            TableId::Revoked => c.kind == ChangeKind::Revoked,
            TableId::StillUnused => c.kind == ChangeKind::StillUnused,
            TableId::NotSettled => c.kind == ChangeKind::GrantUnknown,
        }
    }
}

/// Everything kept across accounts.
#[derive(Debug, Default)]
pub struct Collector {
    limits: DiffLimits,
    /// Principal × action pairs per kind.
    pub counts: KindCounts,
    /// Rows (of the grouped `diff.csv`) per kind.
    pub row_counts: KindCounts,
    pub new_risk: NewRisk,
    /// Principal × action pairs per kind, per account.
    pub per_account: BTreeMap<String, KindCounts>,
    /// Rows per kind of the organisation parts' comparison (in no account's counts).
    pub organization: KindCounts,
    rows: Capped<RowKey, DiffRow>,
    tables: BTreeMap<TableId, Table>,
    /// The IAM Identity Center permission sets, rolled up.
    pub permission_sets: Rollup,
    pub old: SideTotals,
    pub new: SideTotals,
}

impl Collector {
    pub fn new(limits: DiffLimits) -> Collector {
        Collector {
            limits,
            ..Collector::default()
        }
    }

    fn row_cap(&self, kind: ChangeKind) -> usize {
        if kind.is_change() {
            self.limits.per_change_kind
        } else {
            self.limits.per_unchanged_kind
        }
    }

    /// Adds the comparison `changes` of `old` and `new` (one account, or several; accounts in
    /// any order, each once).
    pub fn add(&mut self, old: &Side, new: &Side, changes: &[Change], notes: &mut Notations<'_>) {
        self.old.add(old);
        self.new.add(new);
        self.permission_sets.add(old, new, changes);
        self.new_risk.add(changes, new);
        self.add_rows(changes, notes, true);
        let caps = Caps {
            parts: self.limits.html_parts,
            names: self.limits.html_names,
        };
        let cap = self.limits.html_table;
        for id in TableId::ALL {
            let t = self.tables.entry(id).or_default();
            for g in policy_groups(changes, |c| id.keeps(c)) {
                t.total_groups += 1;
                t.total_actions += g.actions();
                let b = (g.kind, Reverse(g.sensitivity));
                if t.groups.wants(b, cap, |k| g.key < group_key_view(k)) {
                    let (a, p, n, r, gb) = g.key;
                    let key = (a.into(), p.into(), n.into(), r.into(), gb.into());
                    t.groups.insert(b, cap, key, build(&g, notes, caps));
                }
            }
        }
    }

    /// The rows of the organisation part's comparison (`compare_organizations`): counted and
    /// kept like any row, not per account (they are about the organisation).
    pub fn add_organization(&mut self, changes: &[Change], notes: &mut Notations<'_>) {
        self.organization.add_all(&KindCounts::of(changes));
        self.add_rows(changes, notes, false);
    }

    /// Counts `changes` (per account too when `per_account`) and keeps the first rows of each
    /// kind.
    fn add_rows(&mut self, changes: &[Change], notes: &mut Notations<'_>, per_account: bool) {
        for c in changes {
            let n = c.weight();
            self.counts.add_n(c.kind, n);
            self.row_counts.add(c.kind);
            if per_account {
                self.per_account
                    .entry(c.account_id.clone())
                    .or_default()
                    .add_n(c.kind, n);
            }
            let cap = self.row_cap(c.kind);
            if self
                .rows
                .wants(c.bucket(), cap, |k| row_key(c) < row_key_view(k))
            {
                let (a, b, n, r, x, y) = row_key(c);
                let key = (
                    a.into(),
                    b.into(),
                    n.into(),
                    r.into(),
                    x.into(),
                    y.map(Into::into),
                );
                self.rows
                    .insert(c.bucket(), cap, key, DiffRow::of(c, notes));
            }
        }
    }

    /// The kept rows (in `diff.csv` order, capped per kind, identity findings ranked across the
    /// side's accounts) and rows per kind left out.
    pub fn rows(&mut self) -> (Vec<DiffRow>, KindCounts) {
        let rows = std::mem::take(&mut self.rows);
        let mut kept = rows.into_vec(|k| self.row_cap(k), usize::MAX);
        let (old, new) = (self.old.ranks(), self.new.ranks());
        for r in &mut kept {
            let Some(i) = r.identity.as_deref_mut() else {
                continue;
            };
            for (f, ranks) in [(&mut i.old, &old), (&mut i.new, &new)] {
                if let Some(f) = f
                    && let Some(rank) = ranks.get(&identity_key_of(f))
                {
                    f.rank = *rank;
                }
            }
        }
        let mut taken = KindCounts::default();
        for r in &kept {
            taken.add(r.kind);
        }
        let mut omitted = KindCounts::default();
        for k in ChangeKind::ALL {
            omitted.add_n(k, self.row_counts.get(k).saturating_sub(taken.get(k)));
        }
        (kept, omitted)
    }

    /// A table's first groups (at most `html_table`), its number of groups and of actions.
    pub fn table(&mut self, id: TableId) -> (Vec<PolicyGroup>, u64, u64) {
        let t = self.tables.remove(&id).unwrap_or_default();
        let cap = self.limits.html_table;
        (
            t.groups.into_vec(|_| usize::MAX, cap),
            t.total_groups,
            t.total_actions,
        )
    }
}
