//! What the organisation-wide outputs (`diff.json`, `diff.html`) keep of each account's
//! comparison: counts, the new risk, and bounded lists (the first rows of each kind, the first
//! policy groups of each table). Accounts are added one at a time, in account order, so every
//! list is the first N in the order the whole organisation would give.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use super::compare::{Bucket, Change};
use super::counts::{KindCounts, NewRisk};
use super::expand::Notations;
use super::kinds::ChangeKind;
use super::model::{DiffLimits, DiffRow};
use super::policies::{Caps, PolicyGroup, policy_groups};
use super::side::{Side, add};
use crate::analysis::identities::NotPossible;
use crate::analysis::{BySensitivity, Sensitivity};

/// The first items of each bucket, at most `cap` of each, and how many there were.
#[derive(Debug)]
pub struct Capped<T> {
    buckets: BTreeMap<Bucket, Vec<T>>,
}

impl<T> Default for Capped<T> {
    fn default() -> Self {
        Capped {
            buckets: BTreeMap::new(),
        }
    }
}

impl<T> Capped<T> {
    /// Whether an item of bucket `b` would be kept.
    fn wants(&self, b: Bucket, cap: usize) -> bool {
        self.room(b, cap) > 0
    }

    /// How many more items of bucket `b` would be kept.
    fn room(&self, b: Bucket, cap: usize) -> usize {
        cap.saturating_sub(self.buckets.get(&b).map_or(0, Vec::len))
    }

    fn push(&mut self, b: Bucket, cap: usize, item: T) {
        let v = self.buckets.entry(b).or_default();
        if v.len() < cap {
            v.push(item);
        }
    }

    /// The items in bucket order, at most `per_kind(kind)` of each kind and `total` in all.
    pub fn into_vec(self, per_kind: impl Fn(ChangeKind) -> usize, total: usize) -> Vec<T> {
        let mut taken = KindCounts::default();
        let mut out = Vec::new();
        for ((kind, _), items) in self.buckets {
            for item in items {
                if out.len() < total && (taken.get(kind) as usize) < per_kind(kind) {
                    taken.add(kind);
                    out.push(item);
                }
            }
        }
        out
    }
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
}

impl SideTotals {
    fn add(&mut self, side: &Side) {
        self.accounts.extend(side.accounts.iter().cloned());
        self.accounts.sort();
        self.accounts.dedup();
        self.principals += side.principals.len() as u64;
        self.granted += side.granted();
        for (acct, b) in side.unused_by_account() {
            add(self.unused_by_account.entry(acct).or_default(), &b);
        }
        self.identities += side.identities.len() as u64;
        self.checks_not_possible
            .extend(side.identity_checks_not_possible.iter().cloned());
    }

    /// Unused, actionable, not excluded, by sensitivity.
    pub fn unused(&self) -> BySensitivity {
        let mut b = BySensitivity::default();
        for x in self.unused_by_account.values() {
            add(&mut b, x);
        }
        b
    }
}

/// A table of `diff.html`: its first policy groups, and how many groups and actions it has.
#[derive(Debug, Default)]
pub struct Table {
    groups: Capped<PolicyGroup>,
    pub total_groups: u64,
    pub total_actions: u64,
}

/// The three permission tables of `diff.html`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TableId {
    NewRisk,
    Revoked,
    StillUnused,
}

impl TableId {
    pub const ALL: [TableId; 3] = [TableId::NewRisk, TableId::Revoked, TableId::StillUnused];

    /// Whether a row belongs in the table.
    pub fn keeps(self, c: &Change) -> bool {
        match self {
            TableId::NewRisk => {
                matches!(c.kind, ChangeKind::NewlyGranted | ChangeKind::NewlyUnused)
                    && c.sensitivity() >= Some(Sensitivity::High)
                    && c.actionable
                    && !c.new.as_ref().is_some_and(|n| n.excluded)
            }
            TableId::Revoked => c.kind == ChangeKind::Revoked,
            TableId::StillUnused => c.kind == ChangeKind::StillUnused,
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
    rows: Capped<DiffRow>,
    tables: BTreeMap<TableId, Table>,
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

    /// Adds the comparison `changes` of `old` and `new` (one account, or any sides whose
    /// accounts all come after those added before).
    pub fn add(&mut self, old: &Side, new: &Side, changes: &[Change], notes: &mut Notations<'_>) {
        self.old.add(old);
        self.new.add(new);
        self.new_risk.add(changes, new);
        for c in changes {
            let n = c.weight();
            self.counts.add_n(c.kind, n);
            self.row_counts.add(c.kind);
            self.per_account
                .entry(c.account_id.clone())
                .or_default()
                .add_n(c.kind, n);
            let cap = self.row_cap(c.kind);
            if self.rows.wants(c.bucket(), cap) {
                self.rows.push(c.bucket(), cap, DiffRow::of(c, notes));
            }
        }
        let caps = Caps {
            parts: self.limits.html_parts,
            names: self.limits.html_names,
        };
        let cap = self.limits.html_table;
        for id in TableId::ALL {
            let t = self.tables.entry(id).or_default();
            let room = |k: ChangeKind, s: Option<Sensitivity>| t.groups.room((k, Reverse(s)), cap);
            let found = policy_groups(changes, |c| id.keeps(c), room, notes, caps);
            t.total_groups += found.groups;
            t.total_actions += found.actions;
            for g in found.kept {
                t.groups.push((g.kind, Reverse(g.sensitivity)), cap, g);
            }
        }
    }

    /// The kept rows (in `diff.csv` order, capped per kind) and rows per kind left out.
    pub fn rows(&mut self) -> (Vec<DiffRow>, KindCounts) {
        let rows = std::mem::take(&mut self.rows);
        let kept = rows.into_vec(|k| self.row_cap(k), usize::MAX);
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
