//! A permission row's actions, written out: one row per action ([`per_action`], the per-action
//! `diff.csv` and what `diff` compared before rows were grouped), or as the notation findings
//! use ([`Notations`]).

use std::cmp::Reverse;
use std::collections::HashMap;

use super::compare::{Change, ChangedAction, IdentityDelta, State};
use super::kinds::ChangeKind;
use crate::analysis::{ActionList, GrantedAction, Sensitivity};
use crate::catalog::{ActionId, Catalog};

/// One principal × action: a row of the per-action `diff.csv` (`--per-action`). Account,
/// principal and identity rows are the same as in the grouped form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionChange {
    pub kind: ChangeKind,
    pub account_id: String,
    pub principal_type: String,
    pub principal_name: String,
    pub principal_arn: String,
    /// `service:Action`; the identity finding kind on identity rows; empty on account and
    /// principal rows.
    pub action: String,
    pub service: String,
    pub old: Option<State>,
    pub new: Option<State>,
    pub old_sensitivity: Option<Sensitivity>,
    pub new_sensitivity: Option<Sensitivity>,
    pub actionable: bool,
    pub detail: String,
    pub identity: Option<Box<IdentityDelta>>,
}

impl ActionChange {
    /// The order of the per-action `diff.csv`: kind, sensitivity (highest first), account,
    /// principal type, name, ARN, action, credential.
    pub fn sort_key(&self) -> impl Ord + '_ {
        (
            self.kind,
            Reverse(self.old_sensitivity.max(self.new_sensitivity)),
            &self.account_id,
            &self.principal_type,
            &self.principal_name,
            &self.principal_arn,
            &self.action,
            self.identity.as_ref().and_then(|i| i.credential.as_deref()),
        )
    }

    /// The row itself, for rows without actions.
    fn whole(c: &Change) -> ActionChange {
        ActionChange {
            kind: c.kind,
            account_id: c.account_id.clone(),
            principal_type: c.principal_type.clone(),
            principal_name: c.principal_name.clone(),
            principal_arn: c.principal_arn.clone(),
            action: c.action.clone(),
            service: c.service.clone(),
            old: c.old.clone(),
            new: c.new.clone(),
            old_sensitivity: c.old_sensitivity,
            new_sensitivity: c.new_sensitivity,
            actionable: c.actionable,
            detail: c.detail.clone(),
            identity: c.identity.clone(),
        }
    }

    /// One action of a permission row.
    fn one(c: &Change, a: &ChangedAction, catalog: &Catalog) -> ActionChange {
        let state = |s: &Option<State>, sens: Option<Sensitivity>| {
            let (s, sensitivity) = (s.as_ref()?, sens?);
            Some(State {
                sensitivity,
                ..s.clone()
            })
        };
        ActionChange {
            action: catalog.full_name(a.id),
            old: state(&c.old, a.old),
            new: state(&c.new, a.new),
            old_sensitivity: a.old,
            new_sensitivity: a.new,
            // Empty but on `grant_unknown` rows, whose reason each action keeps.
            detail: c.detail.clone(),
            identity: None,
            ..ActionChange::whole(c)
        }
    }
}

/// Every catalog action's place in `service:Action` text order (the per-action order; the
/// catalog's own id order differs where a service name is a prefix of another or by case).
pub struct NameOrder(Vec<u32>);

impl NameOrder {
    pub fn new(catalog: &Catalog) -> NameOrder {
        let mut ids: Vec<(String, ActionId)> = catalog
            .ids()
            .map(|id| (catalog.full_name(id), id))
            .collect();
        ids.sort();
        let mut rank = vec![0u32; ids.len()];
        for (i, (_, id)) in ids.iter().enumerate() {
            if let Some(r) = rank.get_mut(id.index()) {
                *r = i as u32;
            }
        }
        NameOrder(rank)
    }

    fn of(&self, id: ActionId) -> u32 {
        self.0.get(id.index()).copied().unwrap_or(u32::MAX)
    }
}

/// Where a per-action row goes: kind, sensitivity, principal, action (its place in name order)
/// or row, then the row and the action's index in it (`u32::MAX`: the row itself).
type Ref = (ChangeKind, Reverse<Option<Sensitivity>>, u64, u64, u32, u32);

/// Calls `f` with every per-action row of `changes` (sorted as [`compare`](super::compare)
/// returns them), in the per-action order ([`ActionChange::sort_key`]).
pub fn per_action(
    changes: &[Change],
    catalog: &Catalog,
    order: &NameOrder,
    mut f: impl FnMut(ActionChange),
) {
    // Principals in (account, type, name, ARN) order, as small integers.
    let mut who: Vec<(&str, &str, &str, &str)> = changes
        .iter()
        .map(|c| {
            (
                c.account_id.as_str(),
                c.principal_type.as_str(),
                c.principal_name.as_str(),
                c.principal_arn.as_str(),
            )
        })
        .collect();
    who.sort_unstable();
    who.dedup();
    let ordinal = |c: &Change| {
        let key = (
            c.account_id.as_str(),
            c.principal_type.as_str(),
            c.principal_name.as_str(),
            c.principal_arn.as_str(),
        );
        who.binary_search(&key).unwrap_or(usize::MAX) as u64
    };
    // Rows without actions keep their place among themselves (they are sorted already).
    let mut refs: Vec<Ref> = Vec::new();
    for (r, c) in changes.iter().enumerate() {
        let p = ordinal(c);
        if c.actions.is_empty() {
            refs.push((
                c.kind,
                Reverse(c.sensitivity()),
                p,
                r as u64,
                r as u32,
                u32::MAX,
            ));
            continue;
        }
        for (i, a) in c.actions.iter().enumerate() {
            let s = Reverse(Some(a.sensitivity()));
            refs.push((c.kind, s, p, u64::from(order.of(a.id)), r as u32, i as u32));
        }
    }
    refs.sort_unstable();
    for (.., r, i) in refs {
        let Some(c) = changes.get(r as usize) else {
            continue;
        };
        match c.actions.get(i as usize) {
            Some(a) => f(ActionChange::one(c, a, catalog)),
            None => f(ActionChange::whole(c)),
        }
    }
}

/// The notation of a row's actions (as findings name theirs: `ec2:*`, `ec2:Describe*`,
/// `ec2:* except …`), remembered per action list: the rows of principals with the same grants
/// have the same lists.
pub struct Notations<'c> {
    catalog: &'c Catalog,
    cache: HashMap<Box<[ActionId]>, String>,
}

impl<'c> Notations<'c> {
    /// Entries kept before the cache starts over (it only saves work).
    const CAP: usize = 50_000;

    pub fn new(catalog: &'c Catalog) -> Notations<'c> {
        Notations {
            catalog,
            cache: HashMap::new(),
        }
    }

    pub fn catalog(&self) -> &'c Catalog {
        self.catalog
    }

    /// The notation of `actions` (sorted by id, of one service); empty for none.
    pub fn of(&mut self, actions: &[ChangedAction]) -> String {
        if actions.is_empty() {
            return String::new();
        }
        let ids: Box<[ActionId]> = actions.iter().map(|a| a.id).collect();
        if let Some(text) = self.cache.get(&ids) {
            return text.clone();
        }
        let list = ActionList::from_actions(
            actions
                .iter()
                .map(|a| GrantedAction::new(a.id, a.current(), 0))
                .collect(),
        );
        let text = list.text(self.catalog).to_string();
        if self.cache.len() >= Self::CAP {
            self.cache.clear();
        }
        self.cache.insert(ids, text.clone());
        text
    }
}
