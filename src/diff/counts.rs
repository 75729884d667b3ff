//! Counting changes: per kind (principal × action pairs, or rows), and the new risk
//! `--fail-on-new` gates on.

use serde::Serialize;

use super::compare::Change;
use super::kinds::ChangeKind;
use super::permission_sets::PermissionSetDiff;
use super::side::Side;
use crate::analysis::{BySensitivity, Sensitivity};

/// A number per kind, in kind order (one named field per kind, so JSON and templates read it
/// directly): principal × action pairs per kind (what the per-action comparison counts: a
/// permission row counts its actions, any other row 1), or rows per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct KindCounts {
    pub account_added: u64,
    pub account_removed: u64,
    pub permission_set_added: u64,
    pub permission_set_removed: u64,
    pub permission_set_changed: u64,
    pub control_policy_added: u64,
    pub control_policy_removed: u64,
    pub control_policy_changed: u64,
    pub organization_account_changed: u64,
    pub principal_added: u64,
    pub principal_removed: u64,
    pub principal_recreated: u64,
    pub principal_renamed: u64,
    pub newly_granted: u64,
    pub newly_unused: u64,
    pub unused_was_unknown: u64,
    pub revoked: u64,
    pub newly_used: u64,
    pub newly_unknown: u64,
    pub grant_unknown: u64,
    pub still_unused: u64,
    pub still_unknown: u64,
    pub unchanged_used: u64,
    pub identity_new: u64,
    pub identity_resolved: u64,
    pub identity_unknown: u64,
    pub identity_unchanged: u64,
}

impl KindCounts {
    /// Principal × action pairs per kind (the per-action rows `changes` stand for).
    pub fn of(changes: &[Change]) -> KindCounts {
        let mut c = KindCounts::default();
        for ch in changes {
            c.add_n(ch.kind, ch.weight());
        }
        c
    }

    /// Rows per kind.
    pub fn rows_of(changes: &[Change]) -> KindCounts {
        let mut c = KindCounts::default();
        for ch in changes {
            c.add(ch.kind);
        }
        c
    }

    pub fn add(&mut self, kind: ChangeKind) {
        *self.slot(kind) += 1;
    }

    pub fn add_n(&mut self, kind: ChangeKind, n: u64) {
        *self.slot(kind) += n;
    }

    /// Adds every count of `other`.
    pub fn add_all(&mut self, other: &KindCounts) {
        for k in ChangeKind::ALL {
            self.add_n(k, other.get(k));
        }
    }

    fn slot(&mut self, kind: ChangeKind) -> &mut u64 {
        match kind {
            ChangeKind::AccountAdded => &mut self.account_added,
            ChangeKind::AccountRemoved => &mut self.account_removed,
            ChangeKind::PermissionSetAdded => &mut self.permission_set_added,
            ChangeKind::PermissionSetRemoved => &mut self.permission_set_removed,
            ChangeKind::PermissionSetChanged => &mut self.permission_set_changed,
            ChangeKind::ControlPolicyAdded => &mut self.control_policy_added,
            ChangeKind::ControlPolicyRemoved => &mut self.control_policy_removed,
            ChangeKind::ControlPolicyChanged => &mut self.control_policy_changed,
            ChangeKind::OrganizationAccountChanged => &mut self.organization_account_changed,
            ChangeKind::PrincipalAdded => &mut self.principal_added,
            ChangeKind::PrincipalRemoved => &mut self.principal_removed,
            ChangeKind::PrincipalRecreated => &mut self.principal_recreated,
            ChangeKind::PrincipalRenamed => &mut self.principal_renamed,
            ChangeKind::NewlyGranted => &mut self.newly_granted,
            ChangeKind::NewlyUnused => &mut self.newly_unused,
            ChangeKind::UnusedWasUnknown => &mut self.unused_was_unknown,
            ChangeKind::Revoked => &mut self.revoked,
            ChangeKind::NewlyUsed => &mut self.newly_used,
            ChangeKind::NewlyUnknown => &mut self.newly_unknown,
            ChangeKind::GrantUnknown => &mut self.grant_unknown,
            ChangeKind::StillUnused => &mut self.still_unused,
            ChangeKind::StillUnknown => &mut self.still_unknown,
            ChangeKind::UnchangedUsed => &mut self.unchanged_used,
            ChangeKind::IdentityNew => &mut self.identity_new,
            ChangeKind::IdentityResolved => &mut self.identity_resolved,
            ChangeKind::IdentityUnknown => &mut self.identity_unknown,
            ChangeKind::IdentityUnchanged => &mut self.identity_unchanged,
        }
    }

    pub fn get(&self, kind: ChangeKind) -> u64 {
        let mut c = *self;
        *c.slot(kind)
    }

    /// Rows of every kind that [`ChangeKind::is_change`].
    pub fn changes(&self) -> u64 {
        ChangeKind::ALL
            .iter()
            .filter(|k| k.is_change())
            .map(|k| self.get(*k))
            .sum()
    }
}

/// New risk on the new side, by sensitivity: what `--fail-on-new` looks at. Only actionable
/// principals and findings no exclusion covers count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct NewRisk {
    /// `newly_granted` rows, whatever their new status.
    pub newly_granted: BySensitivity,
    /// `newly_unused` rows.
    pub newly_unused: BySensitivity,
    /// Every grant of an added principal (those are not listed action by action).
    pub added_principals: BySensitivity,
    /// `identity_new` rows whose finding is actionable (not a service-linked role).
    pub identity_new: BySensitivity,
    /// The actions newly granted to IAM Identity Center permission sets, each once per set (its
    /// roles' rows are not actionable: the change is the set's), by the highest new sensitivity
    /// among its roles; those no exclusion covers.
    pub permission_sets: BySensitivity,
    /// The actions IAM Identity Center permission sets' roles stopped using, each once per set,
    /// likewise.
    pub permission_sets_newly_unused: BySensitivity,
}

impl NewRisk {
    /// The new risk in `changes`, a comparison with `new` as its new side.
    pub fn compute(changes: &[Change], new: &Side) -> NewRisk {
        let mut r = NewRisk::default();
        r.add(changes, new);
        r
    }

    /// Adds the new risk in `changes` (a comparison with `new` as its new side): each action of
    /// a `newly_granted` or `newly_unused` row by its new sensitivity, every grant of an added
    /// principal, each `identity_new` row.
    pub fn add(&mut self, changes: &[Change], new: &Side) {
        let r = self;
        for c in changes {
            if c.kind == ChangeKind::IdentityNew
                && c.actionable
                && let Some(s) = c.new_sensitivity
            {
                r.identity_new.add_one(s);
            }
            let Some(n) = &c.new else { continue };
            if !c.actionable || n.excluded {
                continue;
            }
            match c.kind {
                ChangeKind::NewlyGranted => r.newly_granted.add(&c.new_sensitivities()),
                ChangeKind::NewlyUnused => r.newly_unused.add(&c.new_sensitivities()),
                _ => {}
            }
        }
        let mut added = changes
            .iter()
            .filter(|c| c.kind == ChangeKind::PrincipalAdded && c.actionable)
            .peekable();
        if added.peek().is_none() {
            return;
        }
        let index: std::collections::HashMap<&str, u32> = new
            .principals
            .iter()
            .enumerate()
            .map(|(i, p)| (p.arn.as_str(), i as u32))
            .collect();
        for c in added {
            if let Some(i) = index.get(c.principal_arn.as_str()) {
                r.added_principals.add(&new.open_grants(*i));
            }
        }
    }

    /// Adds the permission sets' actions newly granted and newly unused (once every account
    /// was rolled up).
    pub fn add_permission_sets(&mut self, sets: &[PermissionSetDiff]) {
        for s in sets {
            self.permission_sets.add(&s.newly_granted_by_sensitivity);
            self.permission_sets_newly_unused
                .add(&s.newly_unused_by_sensitivity);
        }
    }

    /// New-risk findings at or above `s`.
    pub fn at_or_above(&self, s: Sensitivity) -> u64 {
        self.newly_granted.at_or_above(s)
            + self.newly_unused.at_or_above(s)
            + self.added_principals.at_or_above(s)
            + self.identity_new.at_or_above(s)
            + self.permission_sets_at_or_above(s)
    }

    /// The permission sets' new risk at or above `s`: actions newly granted to them and newly
    /// unused by their roles, once per set.
    pub fn permission_sets_at_or_above(&self, s: Sensitivity) -> u64 {
        self.permission_sets.at_or_above(s) + self.permission_sets_newly_unused.at_or_above(s)
    }
}
