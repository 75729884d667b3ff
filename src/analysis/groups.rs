//! Finding groups: the granted actions of a principal, split into groups that share every fact a
//! verdict depends on, so that the analysis and every output carry one row per group instead of
//! one row per action.
//!
//! A verdict depends on the principal (its last-accessed file, age and window), the service's
//! last-accessed entry, the action's own tracked entry (action-level data), whether AWS can
//! observe the action at all, and — for what a finding shows — the policies that grant the
//! action, whether every grant is scoped to resources or conditional. Actions of one service that
//! agree on all of these get the same verdict, so they form one group. Actions AWS tracks
//! individually for this principal (listed in `TrackedActionsLastAccessed`) always get a group of
//! their own. Sensitivity is per action and kept per action inside the group (the group ranks by
//! its highest one and counts each level).
//!
//! Grouping depends only on a principal's grants, so it is computed once per distinct grant set
//! (a [`Template`]) and shared: 2,000 roles with `AdministratorAccess` pay for it once.

use foldhash::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, OnceLock};

use crate::catalog::{AccessLevel, ActionId, ActionSet, Catalog};
use crate::policy::PrincipalGrants;

use super::sensitivity::{ActionRisk, Combo, Sensitivity, category};

/// A granted action with its sensitivity for this principal (after the PassRole combination), in
/// 4 bytes: the action's id in the high 25 bits (a catalog holds at most
/// [`crate::catalog::MAX_ACTIONS`]), then the sensitivity's 2 and the 5 category bits. As a
/// struct of an id, a sensitivity and a byte of categories it took 8: every action list holds
/// its actions so (~0.4 GB of them at 1,000,000 roles, held to the last writer), and so do the
/// collecting threads' templates.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct GrantedAction(u32);

impl GrantedAction {
    /// Bits below the action's id.
    const ID_SHIFT: u32 = 7;
    const SENSITIVITY_SHIFT: u32 = 5;

    /// `id` (of a catalog, so below [`crate::catalog::MAX_ACTIONS`]) with its `sensitivity`
    /// and `categories` (a bit set of `sensitivity::category`).
    pub fn new(id: ActionId, sensitivity: Sensitivity, categories: u8) -> GrantedAction {
        debug_assert!(id.0 < crate::catalog::MAX_ACTIONS, "{id:?}");
        debug_assert_eq!(categories & !category::ALL, 0);
        GrantedAction(
            (id.0 << Self::ID_SHIFT)
                | ((sensitivity as u32) << Self::SENSITIVITY_SHIFT)
                | u32::from(categories & category::ALL),
        )
    }

    pub fn id(self) -> ActionId {
        ActionId(self.0 >> Self::ID_SHIFT)
    }

    pub fn sensitivity(self) -> Sensitivity {
        // Two bits: the cast keeps them.
        Sensitivity::from_u8(((self.0 >> Self::SENSITIVITY_SHIFT) & 3) as u8)
    }

    /// Bit set of `sensitivity::category`.
    pub fn categories(self) -> u8 {
        // Five bits: the cast keeps them.
        (self.0 & u32::from(category::ALL)) as u8
    }
}

impl std::fmt::Debug for GrantedAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrantedAction")
            .field("id", &self.id())
            .field("sensitivity", &self.sensitivity())
            .field("categories", &self.categories())
            .finish()
    }
}

/// The actions of one finding, sorted by id, all of one service. 72 bytes and the actions
/// themselves, exactly (was 104 with a vector's capacity, a `String` and a `&str` for the cached
/// texts: millions of lists at 1,000,000 roles, held to the last writer).
#[derive(Debug, Clone)]
pub struct ActionList {
    pub actions: Box<[GrantedAction]>,
    /// Per sensitivity (index `Sensitivity as usize`), how many actions.
    pub by_sensitivity: [u32; 4],
    pub highest: Sensitivity,
    /// Union of the actions' categories.
    pub categories: u8,
    /// `describe`, computed on first use (lists are shared by many findings).
    text: OnceLock<Box<str>>,
    /// The common access level; on first use.
    level: OnceLock<CommonLevel>,
    /// More than one finding has these actions ([`ActionLists::mark_shared`]): only then is
    /// [`ActionList::text`] kept once computed by [`ActionList::text_for_findings`].
    shared: bool,
}

/// The access level a list's actions share (one byte).
#[derive(Debug, Clone, Copy)]
enum CommonLevel {
    All(AccessLevel),
    Mixed,
    Empty,
}

impl ActionList {
    /// A list of `actions` (sorted by id, of one service).
    pub fn from_actions(actions: Vec<GrantedAction>) -> ActionList {
        let mut by_sensitivity = [0u32; 4];
        let mut highest = Sensitivity::Low;
        let mut categories = 0;
        for a in &actions {
            by_sensitivity[a.sensitivity() as usize] += 1;
            highest = highest.max(a.sensitivity());
            categories |= a.categories();
        }
        ActionList {
            actions: actions.into_boxed_slice(),
            by_sensitivity,
            highest,
            categories,
            text: OnceLock::new(),
            level: OnceLock::new(),
            shared: false,
        }
    }

    /// The first action. A finding's list is never empty (a group is made from its actions),
    /// as the lists `ActionLists::push` makes for findings.
    pub fn first(&self) -> ActionId {
        self.actions[0].id()
    }

    /// See [`describe`]; computed once per list.
    pub fn text(&self, catalog: &Catalog) -> &str {
        self.text
            .get_or_init(|| describe(catalog, self).into_boxed_str())
    }

    /// [`describe`] for the writers of findings: kept once computed when the list is
    /// [shared](ActionLists::mark_shared) by several findings, computed on each call when only
    /// one finding has it. At 10,000 roles 8,206 of the 10,704 texts of lists of more than one
    /// action were one finding's, 89% of the texts' bytes: kept, every list's text was held from
    /// the first writer to the last (~0.3 GB at 1,000,000 roles), where computing a lone
    /// finding's again costs each of the three writers that print it one `describe`.
    pub fn text_for_findings(&self, catalog: &Catalog) -> std::borrow::Cow<'_, str> {
        match self.text.get() {
            Some(t) => std::borrow::Cow::Borrowed(t),
            None if self.shared => std::borrow::Cow::Borrowed(self.text(catalog)),
            None => std::borrow::Cow::Owned(describe(catalog, self)),
        }
    }

    /// The access level all actions share, else `mixed`; computed once per list.
    pub fn access_level(&self, catalog: &Catalog) -> &'static str {
        let level = self.level.get_or_init(|| {
            let mut levels = self.actions.iter().map(|a| catalog.action(a.id()).level);
            match levels.next() {
                Some(first) if levels.all(|l| l == first) => CommonLevel::All(first),
                Some(_) => CommonLevel::Mixed,
                None => CommonLevel::Empty,
            }
        });
        match level {
            CommonLevel::All(l) => l.as_str(),
            CommonLevel::Mixed => "mixed",
            CommonLevel::Empty => "",
        }
    }

    pub fn len(&self) -> usize {
        self.actions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
}

/// Index into [`ActionLists`]: the actions of a finding or of a template group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ListId(pub u32);

/// Every action list of an analysis, interned: findings with the same actions share one list
/// (and its `describe` text). At 10,000 roles 112,703 lists held 4.3 M actions before they were
/// interned, of which 12,415 distinct lists with 0.5 M actions.
///
/// The lists are found by their actions through a table of ids hashed by the actions (each
/// list's actions are held once, in `lists`; a map keyed by a copy of them held every list
/// twice, in every collecting thread and in the merged lists: at 300 accounts × 100 roles the
/// heap after collecting 295 → 282 MiB, the expand stage's highest RSS 450-458 → 422-423 MiB).
#[derive(Debug, Clone, Default)]
pub struct ActionLists {
    lists: Vec<ActionList>,
    interned: hashbrown::HashTable<ListId>,
    hasher: foldhash::fast::RandomState,
}

impl ActionLists {
    /// The id of the list of `actions` (sorted by id, not empty), added when new.
    pub fn push(&mut self, actions: Vec<GrantedAction>) -> ListId {
        let hash = self.hasher.hash_one(actions.as_slice());
        match self.find(hash, &actions) {
            Some(id) => id,
            None => self.add(hash, actions),
        }
    }

    /// [`ActionLists::push`] of a copy of `actions`, made only when the list is new.
    pub fn push_copy(&mut self, actions: &[GrantedAction]) -> ListId {
        let hash = self.hasher.hash_one(actions);
        match self.find(hash, actions) {
            Some(id) => id,
            None => self.add(hash, actions.to_vec()),
        }
    }

    /// The id of the list of exactly `actions` (whose hash is `hash`), if there is one.
    fn find(&self, hash: u64, actions: &[GrantedAction]) -> Option<ListId> {
        self.interned
            .find(hash, |id| *self.lists[id.0 as usize].actions == *actions)
            .copied()
    }

    /// Adds `actions`, a list not there yet whose hash is `hash`.
    fn add(&mut self, hash: u64, actions: Vec<GrantedAction>) -> ListId {
        let id = ListId(self.lists.len() as u32);
        self.lists.push(ActionList::from_actions(actions));
        let (lists, hasher) = (&self.lists, &self.hasher);
        self.interned.insert_unique(hash, id, |id| {
            hasher.hash_one(&*lists[id.0 as usize].actions)
        });
        id
    }

    /// Marks the lists that more than one of `uses` (a list id per finding) names: those
    /// [`ActionList::text_for_findings`] keeps the text of.
    pub fn mark_shared(&mut self, uses: impl IntoIterator<Item = ListId>) {
        let mut seen = vec![false; self.lists.len()];
        for id in uses {
            let i = id.0 as usize;
            if let (Some(once), Some(list)) = (seen.get_mut(i), self.lists.get_mut(i)) {
                list.shared |= *once;
                *once = true;
            }
        }
    }

    /// The id of the list holding just `a`.
    pub fn single(&mut self, a: GrantedAction) -> ListId {
        self.push(vec![a])
    }

    /// How many distinct lists there are.
    pub fn len(&self) -> usize {
        self.lists.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
    }

    pub fn get(&self, id: ListId) -> &ActionList {
        &self.lists[id.0 as usize]
    }

    /// Every list, by id.
    pub fn iter(&self) -> impl Iterator<Item = &ActionList> {
        self.lists.iter()
    }
}

/// One group of a template.
#[derive(Debug, Clone)]
pub struct TemplateGroup {
    pub service: u32,
    pub list: ListId,
    /// The sorted indices (into `PrincipalGrants::policies`) of the policies granting the actions.
    pub sources: Vec<u32>,
    pub scoped: bool,
    pub conditional: bool,
    pub not_observable: bool,
}

/// The groups of one distinct grant set, in (service, first action) order.
#[derive(Debug, Clone, Default)]
pub struct Template {
    pub groups: Vec<TemplateGroup>,
}

/// What makes two principals' grants group identically.
#[derive(PartialEq, Eq, Hash)]
struct Key {
    effective: ActionSet,
    allows: Vec<(usize, bool, bool, Arc<ActionSet>)>,
}

/// How many grant sets [`Templates`] adds to its newer generation before that generation becomes
/// the older one (and the older one is forgotten). Most grant sets are one principal's own (an
/// inline policy makes a set unique): at 300 accounts × 100 roles each collecting thread met
/// ~11,700 distinct sets in 15,000 principals, ~3.5 KB each (the groups and the effective set),
/// so an unbounded map grew with the organisation and was held to the end of the expand stage
/// (bounded, the stage's end at 1,000,000 roles fell from 10.05 to 7.7 GiB). A set shared by
/// many principals is met again within a generation and stays.
const TEMPLATES_PER_GENERATION: usize = 4096;

/// Templates by grant set, in two generations: a template found in the older generation moves to
/// the newer one. A forgotten template is built again when its grant set comes back, the same
/// groups with the same lists (interned in [`ActionLists`]; a collecting thread that forgets its
/// lists forgets its templates with them: `WORKER_LISTS` in `collect.rs`).
#[derive(Default)]
pub struct Templates {
    newer: HashMap<Key, Arc<Template>>,
    older: HashMap<Key, Arc<Template>>,
}

impl Templates {
    /// The template of `grants`, built on first use.
    pub fn get(
        &mut self,
        grants: &PrincipalGrants,
        catalog: &Catalog,
        risks: &[ActionRisk],
        not_observable: &[bool],
        lists: &mut ActionLists,
    ) -> Arc<Template> {
        let key = Key {
            effective: grants.effective.clone(),
            allows: grants
                .allows
                .iter()
                .map(|g| (g.policy, g.scoped, g.conditional, g.actions.clone()))
                .collect(),
        };
        if let Some(t) = self.newer.get(&key) {
            return Arc::clone(t);
        }
        let template = match self.older.remove(&key) {
            Some(t) => t,
            None => Arc::new(build(grants, catalog, risks, not_observable, lists)),
        };
        if self.newer.len() >= TEMPLATES_PER_GENERATION {
            self.older = std::mem::take(&mut self.newer);
        }
        self.newer.insert(key, Arc::clone(&template));
        template
    }

    /// How many templates are remembered (both generations).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.newer.len() + self.older.len()
    }
}

type GroupKey = (Vec<u32>, bool, bool, bool);

fn build(
    grants: &PrincipalGrants,
    catalog: &Catalog,
    risks: &[ActionRisk],
    not_observable: &[bool],
    lists: &mut ActionLists,
) -> Template {
    // iam:PassRole combination: with both PassRole and an action that consumes a passed role,
    // both become privilege escalation.
    let mut has_passrole = false;
    let mut has_consumer = false;
    for a in grants.effective.iter() {
        match risks[a.index()].combo {
            Combo::PassRole => has_passrole = true,
            Combo::Consumer => has_consumer = true,
            Combo::None => {}
        }
    }
    let mut groups = Vec::new();
    let mut current: Option<u32> = None;
    let mut pending: Vec<(GroupKey, Vec<GrantedAction>)> = Vec::new();
    let flush = |service: u32,
                 pending: &mut Vec<(GroupKey, Vec<GrantedAction>)>,
                 groups: &mut Vec<TemplateGroup>,
                 lists: &mut ActionLists| {
        // Groups of a service in order of their first action.
        pending.sort_by_key(|(_, actions)| actions[0].id());
        for ((sources, scoped, conditional, not_observable), actions) in pending.drain(..) {
            groups.push(TemplateGroup {
                service,
                list: lists.push(actions),
                sources,
                scoped,
                conditional,
                not_observable,
            });
        }
    };
    for a in grants.effective.iter() {
        let service = catalog.service_index(a);
        if current != Some(service) {
            if let Some(s) = current {
                flush(s, &mut pending, &mut groups, lists);
            }
            current = Some(service);
        }
        let mut sources: Vec<u32> = Vec::new();
        let (mut scoped, mut conditional, mut any) = (true, true, false);
        for g in grants.sources(a) {
            any = true;
            scoped &= g.scoped;
            conditional &= g.conditional;
            sources.push(g.policy as u32);
        }
        sources.sort_unstable();
        sources.dedup();
        let risk = risks[a.index()];
        let combo_hit = match risk.combo {
            Combo::PassRole => has_consumer,
            Combo::Consumer => has_passrole,
            Combo::None => false,
        };
        let ga = if combo_hit {
            GrantedAction::new(
                a,
                Sensitivity::Critical,
                risk.categories | category::PRIVILEGE_ESCALATION,
            )
        } else {
            GrantedAction::new(a, risk.sensitivity, risk.categories)
        };
        let key = (
            sources,
            scoped && any,
            conditional && any,
            not_observable[a.index()],
        );
        match pending.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(ga),
            None => pending.push((key, vec![ga])),
        }
    }
    if let Some(s) = current {
        flush(s, &mut pending, &mut groups, lists);
    }
    Template { groups }
}

/// A compact text that names exactly the actions of `list` (with the catalog): the action itself
/// for one action, `service:*` for every action of the service, else `service:Verb*` for each
/// verb whose every action is in the list and the remaining names, separated by spaces — or, when
/// shorter, `service:* except …` followed by the same for the service's actions *not* in the list.
pub fn describe(catalog: &Catalog, list: &ActionList) -> String {
    let Some(first) = list.actions.first() else {
        return String::new();
    };
    if list.len() == 1 {
        return catalog.full_name(first.id());
    }
    let service: &str = &catalog.action(first.id()).service;
    let all: Vec<ActionId> = catalog.service_actions(service).collect();
    if all.len() == list.len() {
        return format!("{service}:*");
    }
    let in_list: Vec<bool> = all
        .iter()
        .map(|id| list.actions.binary_search_by_key(id, |a| a.id()).is_ok())
        .collect();
    let groups = verb_groups(catalog, &all);
    let parts = |want: bool| -> usize {
        groups
            .iter()
            .map(|&(i, j)| {
                let picked = in_list[i..j].iter().filter(|x| **x == want).count();
                if picked == j - i && picked > 1 {
                    1
                } else {
                    picked
                }
            })
            .sum()
    };
    let mut out = String::new();
    let want = if parts(false) < parts(true) {
        out.push_str(service);
        out.push_str(":* except ");
        false
    } else {
        true
    };
    write_patterns(&mut out, catalog, &all, &groups, &in_list, want);
    out
}

/// The ranges of `all` (one service's actions, in id order) that each start with a verb and hold
/// every action that verb's `Verb*` matches. Ids are sorted case-insensitively by name within a
/// service, so those actions (IAM matches case-insensitively) are contiguous.
fn verb_groups(catalog: &Catalog, all: &[ActionId]) -> Vec<(usize, usize)> {
    // Lower-cased action names: the catalog's own when it is ASCII (no allocation per action).
    let names: Vec<std::borrow::Cow<'_, str>> = all
        .iter()
        .map(|id| {
            if catalog.is_ascii() {
                let lower = catalog.lower_name(*id);
                std::borrow::Cow::Borrowed(lower.split_once(':').map_or(lower, |(_, a)| a))
            } else {
                std::borrow::Cow::Owned(catalog.action(*id).name.to_ascii_lowercase())
            }
        })
        .collect();
    let mut groups = Vec::new();
    let mut i = 0;
    while i < all.len() {
        let verb = crate::catalog::verb(&catalog.action(all[i]).name).to_ascii_lowercase();
        let mut j = i;
        while j < all.len() && names[j].starts_with(&verb) {
            j += 1;
        }
        groups.push((i, j));
        i = j.max(i + 1);
    }
    groups
}

/// Appends, `' '`-separated, `service:Verb*` for each verb group whose every action is `want` in
/// `selected`, else the names of those that are.
fn write_patterns(
    out: &mut String,
    catalog: &Catalog,
    all: &[ActionId],
    groups: &[(usize, usize)],
    selected: &[bool],
    want: bool,
) {
    let mut first = true;
    let mut part = |out: &mut String, service: &str, name: &str, star: bool| {
        if !first {
            out.push(' ');
        }
        first = false;
        out.push_str(service);
        out.push(':');
        out.push_str(name);
        if star {
            out.push('*');
        }
    };
    for &(i, j) in groups {
        let picked = selected[i..j].iter().filter(|x| **x == want).count();
        if picked == j - i && picked > 1 {
            let a = catalog.action(all[i]);
            part(out, &a.service, crate::catalog::verb(&a.name), true);
        } else {
            for k in i..j {
                if selected[k] == want {
                    let a = catalog.action(all[k]);
                    part(out, &a.service, &a.name, false);
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::policy::Expander;

    /// The text of a list several findings share is kept once computed; a lone finding's list
    /// gives the same text computed on each call, and keeps nothing.
    #[test]
    fn only_shared_lists_keep_their_text() {
        let c = Catalog::embedded();
        let of = |names: &[&str]| {
            let mut ids: Vec<ActionId> = names.iter().map(|n| c.lookup_full(n).unwrap()).collect();
            ids.sort_unstable();
            ids.into_iter()
                .map(|id| GrantedAction::new(id, Sensitivity::Low, 0))
                .collect::<Vec<_>>()
        };
        let mut lists = ActionLists::default();
        let shared = lists.push(of(&["s3:GetObject", "s3:GetObjectAcl", "s3:ListBucket"]));
        let lone = lists.push(of(&["ec2:DescribeInstances", "ec2:DescribeVolumes"]));
        let unused = lists.push(of(&["sqs:SendMessage", "sqs:ReceiveMessage"]));
        lists.mark_shared([shared, lone, shared, ListId(99)]);
        for id in [shared, lone, unused] {
            let list = lists.get(id);
            let want = describe(c, list);
            assert!(want.contains(':'), "{want}");
            let (a, b) = (list.text_for_findings(c), list.text_for_findings(c));
            assert_eq!((&*a, &*b), (want.as_str(), want.as_str()));
            let kept = matches!(b, std::borrow::Cow::Borrowed(_));
            assert_eq!(kept, id == shared, "{want}");
            assert_eq!(list.text.get().is_some(), id == shared, "{want}");
        }
        // A text computed by `text` (a folder, the diff) is then read, not computed again.
        let lone = lists.get(lone);
        let kept = lone.text(c).to_owned();
        assert!(matches!(lone.text_for_findings(c), std::borrow::Cow::Borrowed(t) if t == kept));
    }

    /// A granted action is 4 bytes and gives back every id a catalog may hold, every
    /// sensitivity and every set of categories.
    #[test]
    fn a_granted_action_is_four_bytes_and_exact() {
        assert_eq!(std::mem::size_of::<GrantedAction>(), 4);
        let max = crate::catalog::MAX_ACTIONS - 1;
        for id in [0, 1, 22_320, 1 << 24, max] {
            for s in Sensitivity::ALL_DESC {
                for categories in 0..=category::ALL {
                    let a = GrantedAction::new(ActionId(id), s, categories);
                    assert_eq!(
                        (a.id(), a.sensitivity(), a.categories()),
                        (ActionId(id), s, categories)
                    );
                }
            }
        }
    }

    #[test]
    fn equal_lists_are_interned_and_different_ones_are_not() {
        let a = |id: u32, s: Sensitivity| GrantedAction::new(ActionId(id), s, 0);
        let mut lists = ActionLists::default();
        let x = lists.push(vec![a(1, Sensitivity::Low), a(2, Sensitivity::High)]);
        let one = lists.single(a(1, Sensitivity::Low));
        assert_eq!(lists.len(), 2);
        assert_eq!(
            lists.push(vec![a(1, Sensitivity::Low), a(2, Sensitivity::High)]),
            x
        );
        assert_eq!(lists.push(vec![a(1, Sensitivity::Low)]), one);
        // Same ids with another sensitivity, or one action more: lists of their own.
        let y = lists.push(vec![a(1, Sensitivity::Low), a(2, Sensitivity::Medium)]);
        let z = lists.push(vec![
            a(1, Sensitivity::Low),
            a(2, Sensitivity::High),
            a(3, Sensitivity::Low),
        ]);
        assert_eq!(lists.len(), 4);
        assert!(x != y && y != z && x != z && one != x);
        assert_eq!(lists.get(z).len(), 3);
        assert_eq!(lists.get(y).highest, Sensitivity::Medium);
        // Past the table's growths (each rehashes every id by its list's actions), every list is
        // still found, by `push` and `push_copy`, and none is added twice.
        let many: Vec<Vec<GrantedAction>> = (10..3_000)
            .map(|i| vec![a(i, Sensitivity::Low), a(i + 5_000, Sensitivity::High)])
            .collect();
        let ids: Vec<ListId> = many.iter().map(|l| lists.push(l.clone())).collect();
        assert_eq!(lists.len(), 4 + many.len());
        for (l, id) in many.iter().zip(&ids) {
            assert_eq!(lists.push_copy(l), *id);
            assert_eq!(lists.push(l.clone()), *id);
            assert_eq!(*lists.get(*id).actions, **l);
        }
        assert_eq!(
            lists.push(vec![a(1, Sensitivity::Low), a(2, Sensitivity::High)]),
            x
        );
        assert_eq!(lists.len(), 4 + many.len());
    }

    /// Grants of `ids`, each by its own Allow statement of policy 0 (the second one conditional).
    fn grants_of(c: &Catalog, ids: &[ActionId]) -> PrincipalGrants {
        let set = ActionSet::from_ids(c.len(), ids.iter().copied());
        PrincipalGrants {
            policies: Vec::new(),
            allows: ids
                .iter()
                .enumerate()
                .map(|(i, id)| crate::policy::StatementGrant {
                    policy: 0,
                    statement: i,
                    label: format!("#{i}"),
                    actions: Arc::new(ActionSet::from_ids(c.len(), [*id])),
                    scoped: false,
                    conditional: i == 1,
                })
                .collect(),
            allowed: set.clone(),
            denied: ActionSet::empty(c.len()),
            partial_denies: Vec::new(),
            boundary: None,
            effective: set,
            unmatched: Vec::new(),
            missing_policies: Vec::new(),
            missing_groups: Vec::new(),
        }
    }

    fn groups_of(t: &Template) -> Vec<(u32, ListId, Vec<u32>, bool, bool, bool)> {
        t.groups
            .iter()
            .map(|g| {
                let TemplateGroup {
                    service,
                    list,
                    sources,
                    scoped,
                    conditional,
                    not_observable,
                } = g.clone();
                (service, list, sources, scoped, conditional, not_observable)
            })
            .collect()
    }

    /// Templates are remembered within two generations: a grant set met throughout keeps its
    /// template (the same `Arc`), a forgotten one is built again with the same groups and lists
    /// (adding none), and the count stays bounded however many sets pass through.
    #[test]
    fn templates_are_remembered_within_bounds() {
        let c = Catalog::embedded();
        let risks = crate::analysis::sensitivity::classify(c);
        let not_observable = vec![false; c.len()];
        let mut lists = ActionLists::default();
        let mut templates = Templates::default();
        let get = |t: &mut Templates, g: &PrincipalGrants, lists: &mut ActionLists| {
            t.get(g, c, &risks, &not_observable, lists)
        };
        let ids: Vec<ActionId> = c.ids().collect();
        let hot_grants = grants_of(c, &[ids[0], ids[1], ids[2]]);
        let hot = get(&mut templates, &hot_grants, &mut lists);
        // Two actions each, so that the pairs are distinct grant sets.
        let pair = |i: usize| grants_of(c, &[ids[3 + i], ids[3 + (i * 7 + 1) % 5_000]]);
        let first = get(&mut templates, &pair(0), &mut lists);
        let lists_after_first = lists.len();
        let sets = 3 * TEMPLATES_PER_GENERATION;
        for i in 1..sets {
            get(&mut templates, &pair(i), &mut lists);
            if i % 1_000 == 0 {
                assert!(
                    Arc::ptr_eq(&hot, &get(&mut templates, &hot_grants, &mut lists)),
                    "{i}"
                );
            }
        }
        assert!(
            templates.len() <= 2 * TEMPLATES_PER_GENERATION,
            "{}",
            templates.len()
        );
        let remembered = lists.len();
        // The first pair's template was forgotten: built again, the same groups and lists.
        let again = get(&mut templates, &pair(0), &mut lists);
        assert!(!Arc::ptr_eq(&first, &again));
        assert_eq!(groups_of(&first), groups_of(&again));
        assert_eq!(lists.len(), remembered);
        assert!(lists_after_first > 0 && !first.groups.is_empty());
        // Each template is what building it on its own gives.
        let mut fresh = lists.clone();
        let built = build(&pair(0), c, &risks, &not_observable, &mut fresh);
        assert_eq!(groups_of(&built), groups_of(&again));
        assert!(Arc::ptr_eq(
            &hot,
            &get(&mut templates, &hot_grants, &mut lists)
        ));
    }

    /// A list's access level is its actions' common level, `mixed` when they differ, empty for
    /// no action; and a list takes 72 bytes beside its actions.
    #[test]
    fn access_levels_of_lists() {
        assert_eq!(std::mem::size_of::<ActionList>(), 72);
        let c = Catalog::embedded();
        let s3: Vec<ActionId> = c.service_actions("s3").collect();
        for level in crate::catalog::AccessLevel::ALL {
            let of: Vec<ActionId> = s3
                .iter()
                .copied()
                .filter(|a| c.action(*a).level == level)
                .take(3)
                .collect();
            if of.is_empty() {
                continue;
            }
            let list = list_of(&of);
            assert_eq!(list.access_level(c), level.as_str());
            // Computed once, read again the same.
            assert_eq!(list.access_level(c), level.as_str());
        }
        let levels: std::collections::BTreeSet<_> =
            s3.iter().map(|a| c.action(*a).level.as_str()).collect();
        assert!(levels.len() > 1, "{levels:?}");
        assert_eq!(list_of(&s3).access_level(c), "mixed");
        assert_eq!(list_of(&[]).access_level(c), "");
    }

    fn list_of(ids: &[ActionId]) -> ActionList {
        ActionList::from_actions(
            ids.iter()
                .map(|id| GrantedAction::new(*id, Sensitivity::Low, 0))
                .collect(),
        )
    }

    /// Expands a `describe` text back into actions with the notation reader `expand` uses.
    fn expand(text: &str, e: &mut Expander<'_>) -> ActionSet {
        crate::policy::expand_notation(text, e).unwrap().actions
    }

    #[test]
    fn describe_names_exactly_the_actions_for_every_service() {
        let c = Catalog::embedded();
        let mut e = Expander::new(c);
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut forms = [0usize; 4];
        for service in c.services().collect::<Vec<_>>() {
            let all: Vec<ActionId> = c.service_actions(service).collect();
            // Every action, one action, and random subsets of several densities.
            let mut subsets: Vec<Vec<ActionId>> = vec![all.clone(), vec![all[0]]];
            for density in [2u64, 10, 50, 90, 98] {
                subsets.push(
                    all.iter()
                        .copied()
                        .filter(|_| next() % 100 < density)
                        .collect(),
                );
            }
            for ids in subsets.into_iter().filter(|s| !s.is_empty()) {
                let list = list_of(&ids);
                let text = describe(c, &list);
                let expected = ActionSet::from_ids(c.len(), ids.iter().copied());
                assert_eq!(expand(&text, &mut e), expected, "{service}: {text}");
                forms[match () {
                    _ if ids.len() == 1 => 0,
                    _ if text.ends_with(":*") => 1,
                    _ if text.contains(" except ") => 2,
                    _ => 3,
                }] += 1;
            }
        }
        // Every notation was exercised.
        assert!(forms.iter().all(|n| *n > 0), "{forms:?}");
    }

    #[test]
    fn describe_forms() {
        let c = Catalog::embedded();
        let ec2: Vec<ActionId> = c.service_actions("ec2").collect();
        let name = |id: &ActionId| c.action(*id).name.to_string();
        assert_eq!(describe(c, &list_of(&ec2)), "ec2:*");
        let describes: Vec<ActionId> = ec2
            .iter()
            .copied()
            .filter(|id| name(id).starts_with("Describe"))
            .collect();
        assert_eq!(describe(c, &list_of(&describes)), "ec2:Describe*");
        let run = c.lookup_full("ec2:RunInstances").unwrap();
        let most: Vec<ActionId> = ec2.iter().copied().filter(|id| *id != run).collect();
        assert_eq!(
            describe(c, &list_of(&most)),
            "ec2:* except ec2:RunInstances"
        );
        assert_eq!(describe(c, &list_of(&[run])), "ec2:RunInstances");
    }
}
