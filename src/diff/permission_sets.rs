//! The IAM Identity Center permission sets rolled up (docs/usage.md, "Permission sets"): the
//! `AWSReservedSSO_<set>_<hash>` roles (path `/aws-reserved/sso.amazonaws.com/`) of every account
//! summed per set, on each side, with the changes of their rows: what the set newly grants or no
//! longer grants (distinct actions across its roles) and how its roles' unused permissions moved.
//! With an organisation part, a set also gets its ARN, the number of accounts it is provisioned
//! to and its own change (`permission_set_*`). Aggregates only: a few counts per set and the
//! distinct actions newly granted or revoked (at most the catalog's), whatever the number of
//! roles.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use super::KindCounts;
use super::compare::{Change, ChangedAction};
use super::csv::{record, writer};
use super::expand::Notations;
use super::kinds::ChangeKind;
use super::side::Side;
use crate::analysis::{BySensitivity, Sensitivity};
use crate::catalog::ActionSet;
use crate::model::identity_center_set;
use crate::model::organization::Organization;

/// The permission set an IAM Identity Center role belongs to (by its name), for a principal of
/// `kind` with `name` and `arn`: a role under `/aws-reserved/sso.amazonaws.com/` named
/// `AWSReservedSSO_<set>_<hash>`.
pub fn set_of<'a>(kind: &str, name: &'a str, arn: &str) -> Option<&'a str> {
    (kind == "role")
        .then(|| identity_center_set(crate::model::arn::role_path(arn)?, name))
        .flatten()
}

/// One side of a permission set: its roles there, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SetSide {
    /// Accounts the side's organisation part says it is provisioned to (none without one).
    pub provisioned: Option<u64>,
    /// Its Identity Center roles in the side's exports (one per account exported).
    pub roles: u64,
    /// Principal × action pairs its roles are granted: `used + unused + unknown + excluded`.
    pub granted: u64,
    pub used: u64,
    /// Unused and not excluded (as the headline counts).
    pub unused: u64,
    pub unknown: u64,
    /// Unused, covered by an exclusion rule.
    pub excluded: u64,
    /// `unused` by sensitivity.
    pub unused_by_sensitivity: BySensitivity,
}

impl SetSide {
    /// Unused critical and high pairs, not excluded.
    pub fn unused_critical_high(&self) -> u64 {
        self.unused_by_sensitivity.critical + self.unused_by_sensitivity.high
    }
}

/// A permission set's own change in the organisation part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Definition {
    pub kind: ChangeKind,
    /// The ARN of the set the change is about (a set re-created under the same name has two).
    pub arn: String,
    pub detail: String,
}

impl Definition {
    /// The old side's first: a set removed, then changed, then added (one re-created under the
    /// same name reads removed, added), by ARN within a kind.
    fn order(&self) -> (u8, &str) {
        let rank = match self.kind {
            ChangeKind::PermissionSetRemoved => 0,
            ChangeKind::PermissionSetChanged => 1,
            _ => 2,
        };
        (rank, &self.arn)
    }
}

/// The kinds of a set's own changes, `; ` between them (`permission_set_removed;
/// permission_set_added` for a set re-created under the same name).
pub fn definition_kinds(defs: &[Definition]) -> String {
    let kinds: Vec<&str> = defs.iter().map(|d| d.kind.as_str()).collect();
    kinds.join("; ")
}

/// A set's own changes in words: the one change's `detail`, or, for several (a set re-created
/// under the same name), each as `<kind> <ARN>: <detail>`, ` | ` between them.
pub fn definition_detail(defs: &[Definition]) -> String {
    match defs {
        [one] => one.detail.clone(),
        _ => {
            let each: Vec<String> = defs
                .iter()
                .map(|d| format!("{} {}: {}", d.kind.as_str(), d.arn, d.detail))
                .collect();
            each.join(" | ")
        }
    }
}

/// A permission set compared: both sides rolled up, and its roles' changes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PermissionSetDiff {
    pub name: String,
    /// Its ARN, when an organisation part lists it (the new side's, else the old side's).
    pub arn: Option<String>,
    pub old: SetSide,
    pub new: SetSide,
    /// Distinct actions newly granted to at least one of its roles.
    pub newly_granted_actions: u64,
    /// Those actions in the findings notation, service by service (empty for none).
    pub newly_granted_notation: String,
    /// Of those, the ones no exclusion covers, by their highest sensitivity on the new side:
    /// the set's new risk (`--fail-on-new` counts each action once per set, not per role).
    pub newly_granted_by_sensitivity: BySensitivity,
    /// Distinct actions one of its roles stopped using (its `newly_unused` rows no exclusion
    /// covers), by their highest sensitivity on the new side: new risk too, counted the same
    /// way (review pass 47: an Identity Center role's `newly_unused` rows counted nowhere).
    pub newly_unused_by_sensitivity: BySensitivity,
    /// Distinct actions revoked from at least one of its roles.
    pub revoked_actions: u64,
    /// Those actions in the findings notation, service by service (empty for none).
    pub revoked_notation: String,
    /// Its roles' rows, principal × action pairs per kind (a principal row counts 1).
    pub counts: KindCounts,
    /// Its own changes (`permission_set_added`, `_removed`, `_changed`), when both sides have an
    /// organisation part and it changed: one, or a `permission_set_removed` (the old ARN) and a
    /// `permission_set_added` (the new ARN) for a set deleted and re-created under the same name
    /// (its roles, named after the set, roll up into the one row). In [`Definition::order`].
    pub definitions: Vec<Definition>,
}

/// A set being rolled up.
#[derive(Debug)]
struct Acc {
    d: PermissionSetDiff,
    /// Bitsets over the catalog's ids (at most ~2.8 KB each whatever the number of roles).
    newly_granted: ActionSet,
    revoked: ActionSet,
    /// The newly granted actions no exclusion covers, by new sensitivity (`Sensitivity as
    /// usize`): an action may be in several, its roles' sensitivities differing.
    risk: [ActionSet; 4],
    /// The actions its roles stopped using that no exclusion covers, by new sensitivity.
    unused_risk: [ActionSet; 4],
    /// What the set's old roles grant, and what its roles only on the new side (added or
    /// re-created: a new set, a set re-created under its name, a new account) grant, in all and
    /// by sensitivity as `risk`: what the second holds and the first does not is newly granted
    /// to the set ([`Rollup::finish`]), though no row of a role says so.
    old_grants: ActionSet,
    added: ActionSet,
    added_risk: [ActionSet; 4],
    /// An old role's export lacks a managed policy or group of it, which may grant what the new
    /// roles do: nothing they grant can be called new to the set (as its rows are
    /// `grant_unknown`).
    old_lacks: bool,
}

impl Acc {
    /// Records the grants of the set's role `i` on `side`: of an old role, or of a role only
    /// the new side has (`only_new`), whose grants no exclusion covers are the set's new risk
    /// unless an old role grants them too.
    fn grants_of(&mut self, side: &Side, i: u32, (is_old, only_new): (bool, bool)) {
        if !is_old && !only_new {
            return;
        }
        self.old_lacks |= is_old && side.principals[i as usize].gaps.lacks_grants;
        for g in side.groups_of(i) {
            for a in side.actions(g) {
                if is_old {
                    self.old_grants.insert(a.id());
                } else {
                    self.added.insert(a.id());
                    if !g.verdict.excluded {
                        self.added_risk[a.sensitivity() as usize].insert(a.id());
                    }
                }
            }
        }
    }

    /// Adds the actions of `change` (a `newly_granted` row, or a `newly_unused` one: `unused`)
    /// to the set's new risk by their new sensitivity, unless an exclusion covers them.
    fn add_risk(&mut self, change: &Change, unused: bool) {
        if change.new.as_ref().is_some_and(|n| n.excluded) {
            return;
        }
        let risk = if unused {
            &mut self.unused_risk
        } else {
            &mut self.risk
        };
        for a in &change.actions {
            if let Some(s) = a.new {
                risk[s as usize].insert(a.id);
            }
        }
    }

    /// Adds to what is newly granted to the set (and its new risk) what its roles only on the
    /// new side grant and no old role did; then forgets them (so that a second call adds
    /// nothing).
    fn fold_added(&mut self) {
        if self.old_lacks {
            self.added = ids();
            self.added_risk = [ids(), ids(), ids(), ids()];
            return;
        }
        self.added.difference_with(&self.old_grants);
        self.newly_granted.union_with(&self.added);
        self.added = ids();
        for (risk, added) in self.risk.iter_mut().zip(&mut self.added_risk) {
            added.difference_with(&self.old_grants);
            risk.union_with(added);
            *added = ids();
        }
    }
}

/// An empty set of action ids of the one catalog both sides use (its universe is every id: the
/// set's words span only the ids inserted).
fn ids() -> ActionSet {
    ActionSet::empty(u32::MAX as usize)
}

/// The permission sets seen so far, by name.
#[derive(Debug, Default)]
pub struct Rollup {
    sets: BTreeMap<String, Acc>,
}

impl Rollup {
    fn set(&mut self, name: &str) -> &mut Acc {
        self.sets.entry(name.to_string()).or_insert_with(|| Acc {
            d: PermissionSetDiff {
                name: name.to_string(),
                ..PermissionSetDiff::default()
            },
            newly_granted: ids(),
            revoked: ids(),
            risk: [ids(), ids(), ids(), ids()],
            unused_risk: [ids(), ids(), ids(), ids()],
            old_grants: ids(),
            added: ids(),
            added_risk: [ids(), ids(), ids(), ids()],
            old_lacks: false,
        })
    }

    /// Adds one account's (or several accounts') sides and changes.
    pub fn add(&mut self, old: &Side, new: &Side, changes: &[Change]) {
        // The set roles only the new side has (their rows list no action).
        let added: HashSet<(&str, &str)> = changes
            .iter()
            .filter(|c| {
                matches!(
                    c.kind,
                    ChangeKind::PrincipalAdded | ChangeKind::PrincipalRecreated
                )
            })
            .map(|c| (&*c.account_id, &*c.principal_arn))
            .collect();
        for (side, is_old) in [(old, true), (new, false)] {
            for (i, p) in side.principals.iter().enumerate() {
                let Some(name) = set_of(&p.principal_type, &p.name, &p.arn) else {
                    continue;
                };
                let only_new = !is_old && added.contains(&(&*p.account_id, &*p.arn));
                let (t, u) = (side.tally(i as u32), side.unused_of(i as u32));
                let open = u.critical + u.high + u.medium + u.low;
                let acc = self.set(name);
                acc.grants_of(side, i as u32, (is_old, only_new));
                let s = if is_old {
                    &mut acc.d.old
                } else {
                    &mut acc.d.new
                };
                s.roles += 1;
                s.granted += t.granted;
                s.used += t.used;
                s.unused += open;
                s.unknown += t.unknown;
                s.excluded += t.unused - open;
                s.unused_by_sensitivity.add(&u);
            }
        }
        for c in changes {
            let Some(name) = set_of(&c.principal_type, &c.principal_name, &c.principal_arn) else {
                continue;
            };
            let acc = self.set(name);
            acc.d.counts.add_n(c.kind, c.weight());
            let ids = c.actions.iter().map(|a| a.id);
            match c.kind {
                ChangeKind::NewlyGranted => {
                    acc.newly_granted.insert_all(ids);
                    acc.add_risk(c, false);
                }
                ChangeKind::NewlyUnused => acc.add_risk(c, true),
                ChangeKind::Revoked => acc.revoked.insert_all(ids),
                _ => {}
            }
        }
    }

    /// Adds what the organisation parts say of each set (ARN, accounts provisioned to) and the
    /// sets' own changes (`permission_set_*` rows of [`super::compare_organizations`]).
    pub fn add_organizations(
        &mut self,
        old: Option<&Organization>,
        new: Option<&Organization>,
        changes: &[Change],
    ) {
        for (org, is_old) in [(old, true), (new, false)] {
            for ps in org.iter().flat_map(|o| &o.permission_sets) {
                let acc = self.set(&ps.name);
                if !is_old || acc.d.arn.is_none() {
                    acc.d.arn = Some(ps.arn.clone());
                }
                let s = if is_old {
                    &mut acc.d.old
                } else {
                    &mut acc.d.new
                };
                *s.provisioned.get_or_insert(0) += ps.accounts.len() as u64;
            }
        }
        for c in changes
            .iter()
            .filter(|c| c.principal_type == "permission_set")
        {
            let defs = &mut self.set(&c.principal_name).d.definitions;
            defs.push(Definition {
                kind: c.kind,
                arn: c.principal_arn.clone(),
                detail: c.detail.clone(),
            });
            defs.sort_by(|a, b| a.order().cmp(&b.order()));
        }
    }

    /// Writes each set's actions newly granted and revoked in the findings notation (once every
    /// account was added).
    pub fn name_actions(&mut self, notations: &mut Notations<'_>) {
        for acc in self.sets.values_mut() {
            acc.fold_added();
            acc.d.newly_granted_notation = notation(&acc.newly_granted, notations);
            acc.d.revoked_notation = notation(&acc.revoked, notations);
        }
    }

    /// The sets, by name.
    pub fn finish(self) -> Vec<PermissionSetDiff> {
        self.sets
            .into_values()
            .map(|mut a| {
                a.fold_added();
                a
            })
            .map(|a| PermissionSetDiff {
                newly_granted_actions: a.newly_granted.len() as u64,
                revoked_actions: a.revoked.len() as u64,
                newly_granted_by_sensitivity: highest(&a.risk),
                newly_unused_by_sensitivity: highest(&a.unused_risk),
                ..a.d
            })
            .collect()
    }
}

/// The distinct actions of `by_level` (sets indexed by `Sensitivity as usize`), each counted at
/// the highest level it is in.
fn highest(by_level: &[ActionSet; 4]) -> BySensitivity {
    let mut seen = ids();
    let mut out = BySensitivity::default();
    for s in Sensitivity::ALL_DESC {
        let mut only = by_level[s as usize].clone();
        only.difference_with(&seen);
        out.add_n(s, only.len() as u64);
        seen.union_with(&only);
    }
    out
}

/// `ids` in the findings notation: each service's actions as `diff.csv` writes them, the services
/// in catalog order, separated by a space (as within a service).
fn notation(ids: &ActionSet, notations: &mut Notations<'_>) -> String {
    let catalog = notations.catalog();
    let mut parts: Vec<String> = Vec::new();
    let mut service: Vec<ChangedAction> = Vec::new();
    let mut flush = |service: &mut Vec<ChangedAction>| {
        if !service.is_empty() {
            parts.push(notations.of(service));
            service.clear();
        }
    };
    for id in ids.iter() {
        let same = service
            .last()
            .is_some_and(|l| catalog.action(l.id).service == catalog.action(id).service);
        if !same {
            flush(&mut service);
        }
        service.push(ChangedAction {
            id,
            old: None,
            new: None,
        });
    }
    flush(&mut service);
    parts.join(" ")
}

/// The columns of `diff-permission-sets.csv` (docs/report-fields.md).
pub const CSV_HEADER: [&str; 30] = [
    "permission_set",
    "permission_set_arn",
    "old_provisioned_accounts",
    "new_provisioned_accounts",
    "old_roles",
    "new_roles",
    "old_granted",
    "new_granted",
    "old_used",
    "new_used",
    "old_unused",
    "new_unused",
    "old_unknown",
    "new_unknown",
    "old_excluded",
    "new_excluded",
    "old_unused_critical",
    "new_unused_critical",
    "old_unused_high",
    "new_unused_high",
    "newly_granted_actions",
    "revoked_actions",
    "newly_granted_notation",
    "revoked_notation",
    "newly_granted",
    "revoked",
    "newly_unused",
    "newly_used",
    "definition_change",
    "detail",
];

/// Writes `diff-permission-sets.csv`: one row per set, by name (a header only when there is
/// none); cells are neutralised as in `diff.csv`.
pub fn write_csv(sets: &[PermissionSetDiff], w: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut out = writer(w);
    record(&mut out, &CSV_HEADER.map(String::from))?;
    let n = |x: u64| x.to_string();
    let opt = |x: Option<u64>| x.map(n).unwrap_or_default();
    for s in sets {
        let (o, v, c) = (&s.old, &s.new, &s.counts);
        let row = [
            s.name.clone(),
            s.arn.clone().unwrap_or_default(),
            opt(o.provisioned),
            opt(v.provisioned),
            n(o.roles),
            n(v.roles),
            n(o.granted),
            n(v.granted),
            n(o.used),
            n(v.used),
            n(o.unused),
            n(v.unused),
            n(o.unknown),
            n(v.unknown),
            n(o.excluded),
            n(v.excluded),
            n(o.unused_by_sensitivity.critical),
            n(v.unused_by_sensitivity.critical),
            n(o.unused_by_sensitivity.high),
            n(v.unused_by_sensitivity.high),
            n(s.newly_granted_actions),
            n(s.revoked_actions),
            s.newly_granted_notation.clone(),
            s.revoked_notation.clone(),
            n(c.newly_granted),
            n(c.revoked),
            n(c.newly_unused),
            n(c.newly_used),
            definition_kinds(&s.definitions),
            definition_detail(&s.definitions),
        ];
        record(&mut out, &row)?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::{PermissionSetDiff, set_of, write_csv};

    /// A set's name comes from a role name, which a hand-made export chooses: a formula is
    /// neutralised as in diff.csv, and every row has every column.
    #[test]
    fn csv_cells_are_neutralised() {
        let sets = [PermissionSetDiff {
            name: "=HYPERLINK(1)".into(),
            ..PermissionSetDiff::default()
        }];
        let mut out = Vec::new();
        write_csv(&sets, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines.len(), 3, "{text:?}"); // header, row, and the empty end
        assert!(
            lines[1].starts_with("'=HYPERLINK(1),,,,0,0,"),
            "{}",
            lines[1]
        );
        let columns = |l: &str| l.split(',').count();
        assert_eq!(columns(lines[0]), columns(lines[1]));
    }

    #[test]
    fn identity_center_roles_name_their_set() {
        let arn = |path: &str, name: &str| format!("arn:aws:iam::111111111111:role{path}{name}");
        let name = "AWSReservedSSO_Dev_Ops_0a1b2c3d4e5f6789";
        let sso = "/aws-reserved/sso.amazonaws.com/eu-west-1/";
        assert_eq!(set_of("role", name, &arn(sso, name)), Some("Dev_Ops"));
        // Another path, another kind or another name: not an Identity Center role.
        assert_eq!(set_of("role", name, &arn("/", name)), None);
        assert_eq!(set_of("user", name, &arn(sso, name)), None);
        assert_eq!(set_of("role", "admin", &arn(sso, "admin")), None);
    }
}
