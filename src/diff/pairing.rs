//! Pairing one principal's groups across the two sides: whole groups where both sides hold the
//! same actions (most of an organisation from one quarter to the next), action by action only
//! for the groups that differ.
//!
//! Within a side a principal's groups are disjoint. So when an old group and a new group hold
//! the same actions, none of those actions is in any other group of either side, and the pair
//! can be compared whole; the remaining groups are expanded and merged by action id. Every
//! action of the principal ends up in exactly one [`Cell`], as in a per-action comparison.

use std::collections::{BTreeMap, HashMap};

use super::compare::ChangedAction;
use super::side::{Side, SideGroup};
use crate::analysis::Sensitivity;
use crate::catalog::ActionId;

/// Actions of one principal that are in the same old group (or none) and the same new group (or
/// none), sorted by id.
#[derive(Debug)]
pub(super) struct Cell {
    pub old: Option<SideGroup>,
    pub new: Option<SideGroup>,
    pub actions: Vec<ChangedAction>,
}

/// Whether an old and a new action list hold the same action ids, remembered per pair of lists
/// (the lists of a grant set are shared by every principal that has it, so each pair is
/// compared once).
#[derive(Default)]
pub(super) struct Matcher {
    memo: HashMap<(u32, u32), bool>,
}

impl Matcher {
    fn same(&mut self, old: &Side, o: &SideGroup, new: &Side, n: &SideGroup) -> bool {
        if old.ids_hash(o) != new.ids_hash(n) {
            return false;
        }
        *self.memo.entry((o.list, n.list)).or_insert_with(|| {
            let (a, b) = (old.actions(o), new.actions(n));
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.id() == y.id())
        })
    }
}

/// The cells of one principal: `og` its groups on the old side, `ng` on the new side (each
/// sorted by first action).
pub(super) fn cells(
    old: &Side,
    og: &[SideGroup],
    new: &Side,
    ng: &[SideGroup],
    matcher: &mut Matcher,
) -> Vec<Cell> {
    let mut out = Vec::new();
    let mut new_paired = vec![false; ng.len()];
    let mut old_rest: Vec<usize> = Vec::new();
    for (i, o) in og.iter().enumerate() {
        let first = old.first_action(o);
        let found = ng
            .binary_search_by_key(&first, |n| new.first_action(n))
            .ok()
            .filter(|&j| matcher.same(old, o, new, &ng[j]));
        match found {
            Some(j) => {
                new_paired[j] = true;
                let n = &ng[j];
                let actions = old
                    .actions(o)
                    .iter()
                    .zip(new.actions(n))
                    .map(|(a, b)| ChangedAction {
                        id: a.id(),
                        old: Some(a.sensitivity()),
                        new: Some(b.sensitivity()),
                    })
                    .collect();
                out.push(Cell {
                    old: Some(*o),
                    new: Some(*n),
                    actions,
                });
            }
            None => old_rest.push(i),
        }
    }
    let new_rest: Vec<usize> = (0..ng.len()).filter(|j| !new_paired[*j]).collect();
    if old_rest.is_empty() && new_rest.is_empty() {
        return out;
    }
    let expand = |side: &Side, groups: &[SideGroup], which: &[usize]| {
        let mut v: Vec<(ActionId, usize, Sensitivity)> = which
            .iter()
            .flat_map(|&i| {
                side.actions(&groups[i])
                    .iter()
                    .map(move |a| (a.id(), i, a.sensitivity()))
            })
            .collect();
        v.sort_unstable_by_key(|x| x.0);
        v
    };
    let o = expand(old, og, &old_rest);
    let n = expand(new, ng, &new_rest);
    let mut split: BTreeMap<(Option<usize>, Option<usize>), Vec<ChangedAction>> = BTreeMap::new();
    let (mut i, mut j) = (0, 0);
    while i < o.len() || j < n.len() {
        let (key, action) = match (o.get(i), n.get(j)) {
            (Some(a), Some(b)) if a.0 == b.0 => {
                i += 1;
                j += 1;
                ((Some(a.1), Some(b.1)), ChangedAction::both(a.0, a.2, b.2))
            }
            (Some(a), b) if b.is_none_or(|b| a.0 < b.0) => {
                i += 1;
                ((Some(a.1), None), ChangedAction::old_only(a.0, a.2))
            }
            (_, Some(b)) => {
                j += 1;
                ((None, Some(b.1)), ChangedAction::new_only(b.0, b.2))
            }
            (_, None) => break,
        };
        split.entry(key).or_default().push(action);
    }
    for ((oi, ni), actions) in split {
        out.push(Cell {
            old: oi.map(|i| og[i]),
            new: ni.map(|j| ng[j]),
            actions,
        });
    }
    out
}
