//! Stage 1, collect: for every export and principal, the effective grants (expanded against the
//! catalog and grouped once per distinct grant set), the last-accessed evidence, the window, and
//! the principal's facts — as plain rows for the verdict stage (`verdict.rs`) and the
//! [`PrincipalInfo`] of every principal.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use foldhash::{HashMap, HashSet};
use std::hash::Hash;

use super::config::Config;
use super::groups::{self, ActionLists, GrantedAction, ListId, Template, TemplateGroup};
use super::intentional::IntentionalConfig;
use super::model::{
    AccountWarning, AsOfSource, BySensitivity, Counts, ExportInfo, GrantedById, LabelId,
    ManifestFacts, PolicyInfo, PolicyLabel, PrincipalInfo, PrincipalNames,
};
use super::observability::is_not_observable;
use super::sensitivity::{self, ActionRisk};
use super::verdict;
use super::window::{
    Coverage, check_as_of, check_as_of_fits_all, listed, warn_catalog_age,
    warn_credential_report_age, window_start_of,
};
use super::{Settings, exclusions};
use crate::catalog::{ActionId, Catalog};
use crate::error::{Error, Result};
use crate::model::{
    Export, LastAccessed, Principal, PrincipalType, SharedTexts, Timestamp, Warning,
};
use crate::policy::{AddedActions, Expander, GrantCache, PrincipalGrants, principal_grants_cached};

/// Values interned in first-seen order: an id per distinct value.
#[derive(Debug, Clone)]
pub(super) struct Interner<T> {
    map: HashMap<T, u32>,
    list: Vec<T>,
}

impl<T> Default for Interner<T> {
    fn default() -> Self {
        Interner {
            map: HashMap::default(),
            list: Vec::new(),
        }
    }
}

impl<T: Hash + Eq + Clone> Interner<T> {
    pub(super) fn intern(&mut self, value: &T) -> u32 {
        if let Some(i) = self.map.get(value) {
            return *i;
        }
        let i = self.list.len() as u32;
        self.list.push(value.clone());
        self.map.insert(value.clone(), i);
        i
    }

    /// [`Interner::intern`], or `None` for a new value once the ids would pass `max`.
    pub(super) fn intern_up_to(&mut self, value: &T, max: u32) -> Option<u32> {
        if !self.map.contains_key(value) && self.list.len() > max as usize {
            return None;
        }
        Some(self.intern(value))
    }

    /// Every value, by id.
    pub(super) fn as_slice(&self) -> &[T] {
        &self.list
    }

    pub(super) fn into_vec(self) -> Vec<T> {
        self.list
    }

    pub(super) fn len(&self) -> usize {
        self.list.len()
    }
}

/// Everything the later stages need.
pub(super) struct Collected<'c> {
    pub exports: Vec<ExportInfo>,
    pub warnings: Vec<AccountWarning>,
    /// Sorted by (account, kind, name), as the exports are.
    pub principals: Vec<PrincipalInfo>,
    pub inputs: verdict::Inputs,
    pub lists: ActionLists,
    pub granted_by: Vec<Box<[LabelId]>>,
    pub labels: Vec<PolicyLabel>,
    /// Expands exclusion patterns later (its caches start empty: the collecting workers' ended
    /// with their threads).
    pub expander: Expander<'c>,
    pub risks: Vec<ActionRisk>,
}

/// Collects every export (freeing each one's last-accessed data once collected, when asked to).
///
/// Exports are collected on every core, in pieces of at most [`PIECE_PRINCIPALS`] principals
/// ([`Piece`]: one large account too). Each worker keeps its own interners across the pieces it
/// collects ([`Worker`]), and each piece's rows come back as a [`Fragment`] carrying what the
/// worker met for the first time while collecting it; fragments are merged in order
/// ([`Merged::add`]), which gives every list, label and granted-by set the id a one-by-one run
/// gives it (see there), so nothing downstream can tell. Exclusion rules that expired before an
/// export's as-of date are marked (and warned about) as its first piece is merged, in export
/// order; the first piece that fails is the error, as in a one-by-one run.
pub(super) fn collect<'c>(
    exports: super::Exports<'_>,
    catalog: &'c Catalog,
    settings: &Settings,
    config: &mut Config,
) -> Result<Collected<'c>> {
    let shared = Shared {
        catalog,
        window_days: settings.unused_after_days,
        flag: settings.as_of,
        not_observable: catalog
            .ids()
            .map(|a| {
                let info = catalog.action(a);
                is_not_observable(&info.service, &info.name)
            })
            .collect(),
        risks: sensitivity::classify(catalog),
        intentional: config.intentional.clone(),
        worker_lists: WORKER_LISTS,
        piece_principals: PIECE_PRINCIPALS,
    };
    let sizes: Vec<usize> = {
        let all: Vec<&Export> = match &exports {
            super::Exports::Shared(e) => e.iter().collect(),
            super::Exports::Freeing(e) => e.iter().collect(),
        };
        check_as_of_fits_all(all.iter().copied(), settings.as_of, shared.window_days)?;
        all.iter().map(|e| e.principals.len()).collect()
    };
    let pieces = pieces(&sizes, shared.piece_principals);
    // The services AWS reports for some principal of each export, found by its first piece.
    let reported: Vec<OnceLock<HashSet<u32>>> = sizes.iter().map(|_| OnceLock::new()).collect();
    let mut merged = Merged {
        total_principals: sizes.iter().sum(),
        ..Merged::default()
    };
    let mut failed = None;
    let mut since_purge = 0usize;
    let consume = |_, fragment: Result<Fragment>| match fragment {
        Ok(f) => {
            if let Some(t) = f.info.as_ref().and_then(|i| i.as_of) {
                let account = f.info.as_ref().map_or("", |i| i.account_id.as_str());
                exclusions::expire(config, account, t, &mut merged.warnings);
            }
            since_purge += f.principals.len();
            merged.add(f);
            if since_purge >= PURGE_EVERY_PRINCIPALS {
                since_purge = 0;
                crate::memory::purge();
            }
            true
        }
        Err(e) => {
            failed = Some(e);
            false
        }
    };
    let workers = std::sync::atomic::AtomicUsize::new(0);
    let init = || Worker::new(catalog, workers.fetch_add(1, Ordering::Relaxed));
    let reported_of =
        |i: usize, export: &Export| reported[i].get_or_init(|| reported_services(catalog, export));
    match exports {
        super::Exports::Shared(exports) => {
            // Borrowed exports cannot be given their reports back: analysing one without them
            // would call every permission unknown.
            if let Some(e) = exports.iter().find(|e| e.last_accessed_deferred) {
                return Err(Error::Analysis(format!(
                    "the export of account {} was loaded with its last-accessed reports deferred: \
                     analyse it with analyze_organization_freeing, which reads them again",
                    e.account_id
                )));
            }
            crate::parallel::stream_ordered(
                pieces.len(),
                FRAGMENTS_AHEAD,
                init,
                |worker, k| {
                    let piece = &pieces[k];
                    let export = &exports[piece.export];
                    let reported = reported_of(piece.export, export);
                    Collector::new(&shared, worker).piece(export, piece, reported)
                },
                consume,
            );
        }
        super::Exports::Freeing(exports) => {
            let cells = FreeingCells::new(exports, &pieces);
            crate::parallel::stream_ordered(
                pieces.len(),
                FRAGMENTS_AHEAD,
                init,
                |worker, k| {
                    let piece = &pieces[k];
                    cells.collect(piece, |export| {
                        let reported = reported_of(piece.export, export);
                        Collector::new(&shared, worker).piece(export, piece, reported)
                    })
                },
                consume,
            );
        }
    }
    if let Some(e) = failed {
        return Err(e);
    }
    warn_catalog_age(catalog, &merged.exports, &mut merged.warnings);
    Ok(merged.into_collected(catalog, shared.risks))
}

/// The exports of the freeing path, shared by the workers collecting their pieces. The pieces of
/// an export are collected on every core; the first to start reads its deferred reports again
/// (`LoadOptions::defer_last_accessed`) under a write lock, later ones share a read lock, and the
/// last to end frees them (with the principals and policies of an export loaded to be read
/// again, `LoadOptions::keep_details`), so only the exports being collected hold theirs.
struct FreeingCells<'x> {
    cells: Vec<RwLock<&'x mut Export>>,
    /// Per export, its pieces not yet collected.
    left: Vec<AtomicUsize>,
    /// Per export, whether its reports are back (or were never deferred).
    reloaded: Vec<AtomicBool>,
}

impl<'x> FreeingCells<'x> {
    fn new(exports: &'x mut [Export], pieces: &[Piece]) -> Self {
        let left: Vec<AtomicUsize> = exports.iter().map(|_| AtomicUsize::new(0)).collect();
        for p in pieces {
            left[p.export].fetch_add(1, Ordering::Relaxed);
        }
        FreeingCells {
            reloaded: exports.iter().map(|_| AtomicBool::new(false)).collect(),
            cells: exports.iter_mut().map(RwLock::new).collect(),
            left,
        }
    }

    /// `collect` of `piece`'s export, its reports read again first and freed after the last.
    fn collect(
        &self,
        piece: &Piece,
        collect: impl FnOnce(&Export) -> Result<Fragment>,
    ) -> Result<Fragment> {
        let (cell, reloaded) = (&self.cells[piece.export], &self.reloaded[piece.export]);
        // Only until the first piece has them: a write lock taken later would wait for the
        // pieces collecting, one after another.
        if !reloaded.load(Ordering::Acquire) {
            let mut export = cell.write().unwrap_or_else(PoisonError::into_inner);
            if export.last_accessed_deferred && !reloaded.load(Ordering::Acquire) {
                export.last_accessed = crate::input::reload_last_accessed(&export)?;
            }
            reloaded.store(true, Ordering::Release);
        }
        let fragment = collect(&cell.read().unwrap_or_else(PoisonError::into_inner));
        if self.left[piece.export].fetch_sub(1, Ordering::AcqRel) == 1 {
            let mut export = cell.write().unwrap_or_else(PoisonError::into_inner);
            export.last_accessed = Default::default();
            if export.details == crate::model::Details::DropWhenCollected {
                export.principals = Vec::new();
                export.policies = Default::default();
                export.details = crate::model::Details::Dropped;
            }
        }
        fragment
    }
}

/// Principals collected as one piece of work ([`Piece`]): an export with more is collected in
/// pieces of about this size, on every core, so one large account does not leave the other cores
/// idle (10,000 roles and 1,000 users: 22 pieces). The pieces are merged in order, as exports
/// were. As fast as 2,048 at 10,000 roles, and faster at 1,000 (docs/performance.md, "forty-first
/// pass").
const PIECE_PRINCIPALS: usize = 512;

/// A run of an export's principals collected by one worker.
struct Piece {
    export: usize,
    principals: Range<usize>,
    /// The export's first piece: it carries the export's own facts and warnings.
    first: bool,
    /// Its last: the export's coverage warnings follow it (`Merged::add`).
    last: bool,
}

/// Every export cut into pieces of at most `per` principals, of even sizes, in order; an export
/// without principals is one empty piece.
fn pieces(sizes: &[usize], per: usize) -> Vec<Piece> {
    let per = per.max(1);
    let mut out = Vec::new();
    for (export, &n) in sizes.iter().enumerate() {
        let count = n.div_ceil(per).max(1);
        let at = |k: usize| (n as u128 * k as u128 / count as u128) as usize;
        for k in 0..count {
            out.push(Piece {
                export,
                principals: at(k)..at(k + 1),
                first: k == 0,
                last: k + 1 == count,
            });
        }
    }
    out
}

/// Services AWS reports for some principal of the export: one granted to a principal but absent
/// from its own report was most likely granted after its job ran (`note_unreported`).
fn reported_services(catalog: &Catalog, export: &Export) -> HashSet<u32> {
    export
        .last_accessed
        .values()
        .flat_map(|la| &la.services)
        .filter_map(|s| catalog.service_index_of(&s.namespace))
        .collect()
}

/// How many principals are collected between two purges of freed memory
/// ([`crate::memory::purge`]): each export's last-accessed reports are parsed, collected and freed
/// as the stage goes, and jemalloc gives freed pages back only after its decay. A purge every
/// 8,192 principals (eight exports of 1,000 roles): the stage's highest RSS at 300 accounts ×
/// 100 roles 491-514 → 448-450 MiB, at 1,000,000 roles ~0.2 GiB lower (one run each).
const PURGE_EVERY_PRINCIPALS: usize = 8_192;

/// How many action lists a collecting thread may know before it forgets them (and its templates,
/// which name them), at the start of its next export: each thread's lists grow with the
/// organisation's distinct grant sets and were held to the end of the expand stage (at 1,000,000
/// roles ~427,000 lists, ~250 MB, a thread). A forgotten list the thread meets again is interned
/// again, under a new id of its own, and the merge finds it among the run's (`Merged::add`). The
/// merged lists are the run's and keep every list.
const WORKER_LISTS: usize = 65_536;

/// Finished fragments that may wait for the merge beside those being collected: each holds one
/// export's rows until its turn.
const FRAGMENTS_AHEAD: usize = 3;

/// What the collection of every export reads.
struct Shared<'c> {
    catalog: &'c Catalog,
    window_days: u32,
    /// `--as-of`.
    flag: Option<Timestamp>,
    risks: Vec<ActionRisk>,
    not_observable: Vec<bool>,
    intentional: IntentionalConfig,
    /// [`WORKER_LISTS`] (tests lower it).
    worker_lists: usize,
    /// [`PIECE_PRINCIPALS`] (tests lower it).
    piece_principals: usize,
}

/// One collecting thread's state, kept across the exports it collects: the expander's caches,
/// the grant sets already grouped, and its own interners, whose ids its fragments' rows use.
struct Worker<'c> {
    /// Numbered in the order the workers started (`Merged::ids`).
    index: usize,
    expander: Expander<'c>,
    templates: groups::Templates,
    lists: ActionLists,
    labels: Interner<PolicyLabel>,
    granted_by: Interner<Box<[LabelId]>>,
    regions: Interner<Arc<str>>,
    /// The names, ARNs and groups of the principals' policies (`PolicyInfo`), one copy each
    /// per worker: an AWS managed policy's name and ARN are the same for thousands of
    /// principals.
    texts: SharedTexts,
}

impl<'c> Worker<'c> {
    fn new(catalog: &'c Catalog, index: usize) -> Self {
        Worker {
            index,
            expander: Expander::new(catalog),
            templates: groups::Templates::default(),
            lists: ActionLists::default(),
            labels: Interner::default(),
            granted_by: Interner::default(),
            regions: Interner::default(),
            texts: SharedTexts::default(),
        }
    }
}

/// One piece of an export ([`Piece`]), collected: its rows, with principal indices from 0 and the
/// ids of the worker that collected it, and the values that worker met for the first time while
/// collecting it (its ids from `lists_from`, `labels_from` and `granted_by_from` on, in order).
struct Fragment {
    worker: usize,
    /// The export's facts: on its first piece only.
    info: Option<ExportInfo>,
    /// What the export's coverage warnings list of this piece's principals (`Merged::add`).
    coverage: Coverage,
    /// This piece's used actions the catalog does not know, as `role/Name service:Action`.
    uncatalogued: Vec<String>,
    /// The export's last piece.
    last: bool,
    warnings: Vec<AccountWarning>,
    principals: Vec<PrincipalInfo>,
    inputs: verdict::Inputs,
    lists_from: usize,
    new_lists: Vec<Vec<GrantedAction>>,
    labels_from: usize,
    new_labels: Vec<PolicyLabel>,
    granted_by_from: usize,
    new_granted_by: Vec<Box<[LabelId]>>,
    regions_from: usize,
    new_regions: Vec<Arc<str>>,
}

/// The fragments merged so far.
#[derive(Default)]
struct Merged {
    exports: Vec<ExportInfo>,
    warnings: Vec<AccountWarning>,
    principals: Vec<PrincipalInfo>,
    inputs: verdict::Inputs,
    lists: ActionLists,
    labels: Interner<PolicyLabel>,
    granted_by: Interner<Box<[LabelId]>>,
    regions: Interner<Arc<str>>,
    /// Per worker, the merged id of each of its ids.
    ids: Vec<WorkerIds>,
    /// Principals of every export, merged or not (to size the row vectors).
    total_principals: usize,
    /// The principals' account ids, tags and regions, one copy of each distinct text (a tag or
    /// an account id copied into every principal was ~90 bytes of each, held to the end).
    texts: SharedTexts,
    /// The export being merged, piece by piece: its account and as-of time, and what its
    /// warnings will list once its last piece is in.
    pending: Option<(String, Option<Timestamp>)>,
    coverage: Coverage,
    uncatalogued: Vec<String>,
}

#[derive(Default)]
struct WorkerIds {
    lists: Vec<ListId>,
    labels: Vec<LabelId>,
    granted_by: Vec<GrantedById>,
    regions: Vec<u32>,
}

impl Merged {
    /// Appends the next export's fragment, its ids translated.
    ///
    /// Why the ids are those of a one-by-one run: the values a fragment brings are interned here
    /// in the order its worker first met them. A value new to the whole run is new to the worker
    /// too (the worker knows a subset), and is met at the same point of the export as in a
    /// one-by-one run: a grant set new to the run is grouped there in both, pushing its lists in
    /// the same order. A grant set the worker groups although the run already had (an export on
    /// another thread grouped it, or one whose template or lists the worker forgot:
    /// `groups::Templates`, [`WORKER_LISTS`]) only pushes lists the run already has. So the
    /// values new to the run arrive here in the order a one-by-one run meets them.
    fn add(&mut self, f: Fragment) {
        if self.ids.len() <= f.worker {
            self.ids.resize_with(f.worker + 1, WorkerIds::default);
        }
        let ids = &mut self.ids[f.worker];
        // A fragment whose lists start at 0 comes from a worker that knows no list: its first, or
        // one that forgot its lists (`WORKER_LISTS`), whose ids start again from 0.
        if f.lists_from == 0 {
            ids.lists.clear();
        }
        // A worker's fragments arrive in the order it made them (both follow the export order),
        // so each one's new values start where the previous one's ended.
        debug_assert_eq!(
            (
                ids.lists.len(),
                ids.labels.len(),
                ids.granted_by.len(),
                ids.regions.len()
            ),
            (
                f.lists_from,
                f.labels_from,
                f.granted_by_from,
                f.regions_from
            )
        );
        // A list new to the run is copied here, on the merging thread, like every value kept
        // past the collection (see `append` of the principals below); the worker's copy is freed.
        for actions in &f.new_lists {
            ids.lists.push(self.lists.push_copy(actions));
        }
        for label in &f.new_labels {
            ids.labels.push(LabelId(self.labels.intern(label)));
        }
        for set in &f.new_granted_by {
            let set: Box<[LabelId]> = set.iter().map(|id| ids.labels[id.0 as usize]).collect();
            ids.granted_by
                .push(GrantedById(self.granted_by.intern(&set)));
        }
        for region in &f.new_regions {
            ids.regions.push(self.regions.intern(region));
        }
        let ids = &self.ids[f.worker];
        // At most u32::MAX principals, as the one-by-one collector assumed.
        let first = self.principals.len() as u32;
        let inputs = f.inputs;
        let total = self.total_principals;
        let merged = self.principals.len() + f.principals.len();
        // One principal and one principal row per principal: room for all at once.
        let (len, rows) = (self.principals.len(), self.inputs.principals.len());
        self.principals
            .reserve_exact(total.max(merged).saturating_sub(len));
        self.inputs
            .principals
            .reserve_exact(total.max(merged).saturating_sub(rows));
        // The other rows: as many per principal as so far.
        let expect = |rows: usize| rows.saturating_mul(total) / merged.max(1);
        // Each principal is copied here and the worker's copy freed: what outlives the
        // collection is then allocated by the merging thread (mostly idle while it waits for
        // workers), not scattered among the worker's freed scratch, which malloc could then not
        // give back (at 100,000 roles: a peak of 2,025-2,032 MiB in two runs without the copy,
        // 2,002 MiB with it; 1,985-2,006 MiB when one thread collected).
        let texts = &mut self.texts;
        append(&mut self.principals, f.principals, expect, |mut worker| {
            // The tags and the region are taken out first: the copy gets them shared, not
            // copied and then shared.
            let tags = std::mem::take(&mut worker.tags);
            let region = worker.last_used_region.take();
            let unmatched = std::mem::take(&mut worker.unmatched_patterns);
            let mut info = worker.clone();
            info.unmatched_patterns = unmatched.iter().map(|t| texts.get(t)).collect();
            info.account_id = texts.get(&info.account_id);
            info.tags = tags.shared(texts);
            info.last_used_region = region.as_deref().map(|r| texts.get(r));
            for policy in &mut info.policies {
                policy.label = ids.labels[policy.label.0 as usize];
            }
            info
        });
        let shift = |p: u32| first + p;
        append(
            &mut self.inputs.principals,
            inputs.principals,
            expect,
            |r| verdict::PrincipalRow { p: shift(r.p), ..r },
        );
        append(&mut self.inputs.services, inputs.services, expect, |r| {
            let region = r.region().map(|id| ids.regions[id as usize]);
            let mut r = r.with_region(region);
            r.p = shift(r.p);
            r
        });
        self.inputs.uncatalogued.extend(
            inputs
                .uncatalogued
                .into_iter()
                .map(|(p, action)| (shift(p), action)),
        );
        append(&mut self.inputs.actions, inputs.actions, expect, |r| {
            verdict::ActionRow { p: shift(r.p), ..r }
        });
        append(&mut self.inputs.grants, inputs.grants, expect, |r| {
            verdict::GrantRow {
                p: shift(r.p),
                list: ids.lists[r.list.0 as usize],
                gb: ids.granted_by[r.gb.0 as usize],
                ..r
            }
        });
        self.warnings.extend(f.warnings);
        self.add_export_parts(f.info, f.coverage, f.uncatalogued, f.last);
    }

    /// What a piece brings of its export as a whole: its facts (the first piece), and what the
    /// export's warnings about its principals list, written after its last piece (in principal
    /// order, across its pieces).
    fn add_export_parts(
        &mut self,
        info: Option<ExportInfo>,
        coverage: Coverage,
        uncatalogued: Vec<String>,
        last: bool,
    ) {
        if let Some(info) = info {
            self.pending = Some((info.account_id.clone(), info.as_of));
            self.exports.push(info);
        }
        self.coverage.extend(coverage);
        self.uncatalogued.extend(uncatalogued);
        if last && let Some((account, as_of)) = self.pending.take() {
            std::mem::take(&mut self.coverage).warn(&account, as_of, &mut self.warnings);
            let named = std::mem::take(&mut self.uncatalogued);
            if !named.is_empty() {
                self.warnings.push(uncatalogued_warning(&account, &named));
            }
        }
    }

    /// What the later stages need of the merged fragments: the ids' translations dropped, the
    /// interned values as plain vectors, the warnings sorted.
    fn into_collected(self, catalog: &Catalog, risks: Vec<ActionRisk>) -> Collected<'_> {
        let Merged {
            exports,
            mut warnings,
            principals,
            inputs,
            lists,
            labels,
            granted_by,
            regions,
            ids: _,
            total_principals: _,
            texts: _,
            pending: _,
            coverage: _,
            uncatalogued: _,
        } = self;
        warnings.sort();
        Collected {
            exports,
            warnings,
            principals,
            inputs: verdict::Inputs {
                regions: regions.into_vec(),
                ..inputs
            },
            lists,
            granted_by: granted_by.into_vec(),
            labels: labels.into_vec(),
            expander: Expander::new(catalog),
            risks,
        }
    }
}

/// The warning of an export's used actions that the catalog does not know: `named`, in
/// principal order ([`Collector::uncatalogued_named`] of each of its pieces).
fn uncatalogued_warning(account_id: &str, named: &[String]) -> AccountWarning {
    AccountWarning {
        account_id: account_id.to_string(),
        warning: Warning {
            code: "uncatalogued_action_used".into(),
            file: Some(crate::input::LAST_ACCESSED_DIR.into()),
            json_path: None,
            message: format!(
                "{} action(s) used within the window are not in the catalog (newer than it?): \
                 no verdict names them, and a tightened policy keeps each one where a \
                 wildcard or NotAction granted it; give a newer catalog with --catalog: {}",
                named.len(),
                listed(named)
            ),
        },
    }
}

/// Room in `rows` for `additional` more, where the run is expected to hold `expected` in all
/// (from the rows per principal of the exports merged so far): reserved at once, with a quarter
/// to spare, instead of doubled. Appending one export after another doubled the vectors from the
/// first export's size: 10 exports of one size ended with room for 16 (at 100,000 roles ~0.1 GB
/// of rows never written). A vector that still runs out grows by at least a quarter, and growing
/// copies it: the old and the new room are both resident during the copy. With 1/16 to spare the
/// service rows ran out near the end of every large run (the first export's rows per principal
/// are an estimate): at 1,000,000 roles a ~2 GB vector was copied, the peak of the run. Room never
/// written is address space, not memory: the spare costs no resident page.
fn reserve_rows<T>(rows: &mut Vec<T>, additional: usize, expected: usize) {
    let needed = rows.len().saturating_add(additional);
    if needed <= rows.capacity() {
        return;
    }
    let target = needed
        .max(expected.saturating_add(expected / 4))
        .max(rows.capacity().saturating_add(rows.capacity() / 4));
    rows.reserve_exact(target - rows.len());
}

/// Appends `more` to `rows` through `f`, with room reserved for the rows `expected(n)` says a
/// run holding `n` of them now will hold in all ([`reserve_rows`]).
fn append<T>(
    rows: &mut Vec<T>,
    more: Vec<T>,
    expected: impl Fn(usize) -> usize,
    f: impl FnMut(T) -> T,
) {
    reserve_rows(rows, more.len(), expected(rows.len() + more.len()));
    rows.extend(more.into_iter().map(f));
}

/// The collection of one export, by one worker.
struct Collector<'s, 'c> {
    shared: &'s Shared<'c>,
    expander: &'s mut Expander<'c>,
    templates: &'s mut groups::Templates,
    lists: &'s mut ActionLists,
    labels: &'s mut Interner<PolicyLabel>,
    granted_by: &'s mut Interner<Box<[LabelId]>>,
    regions: &'s mut Interner<Arc<str>>,
    texts: &'s mut SharedTexts,
    worker: usize,
    inputs: verdict::Inputs,
    principals: Vec<PrincipalInfo>,
    warnings: Vec<AccountWarning>,
    /// The export has no time of its own and `--as-of` was given: its `RoleLastUsed` cannot be
    /// judged at that time (`window::check_as_of`), so no role is called unused.
    as_of_unverified: bool,
    /// When the export's authorization details may have been fetched at the earliest
    /// ([`Export::details_from`]), once a principal without last-accessed data asks.
    details_from: Option<Option<Timestamp>>,
    /// What the versions of the export's managed policies date ([`Collector::added_actions`]),
    /// by the policy's address (the export is borrowed while the piece is collected).
    added: HashMap<usize, Option<Arc<AddedActions>>>,
}

/// One principal's window: where it ends (the as-of time or its own job's completion) and starts,
/// and the export's as-of time.
#[derive(Clone, Copy)]
struct Window {
    end: Option<Timestamp>,
    start: Option<Timestamp>,
    as_of: Option<Timestamp>,
}

impl<'s, 'c> Collector<'s, 'c> {
    fn new(shared: &'s Shared<'c>, worker: &'s mut Worker<'c>) -> Self {
        Collector {
            shared,
            expander: &mut worker.expander,
            templates: &mut worker.templates,
            lists: &mut worker.lists,
            labels: &mut worker.labels,
            granted_by: &mut worker.granted_by,
            regions: &mut worker.regions,
            texts: &mut worker.texts,
            worker: worker.index,
            inputs: verdict::Inputs::default(),
            principals: Vec::new(),
            warnings: Vec::new(),
            as_of_unverified: false,
            details_from: None,
            added: HashMap::default(),
        }
    }

    /// Collects the whole export as one piece (as the tests do).
    #[cfg(test)]
    fn export(self, export: &Export) -> Result<Fragment> {
        let piece = Piece {
            export: 0,
            principals: 0..export.principals.len(),
            first: true,
            last: true,
        };
        let reported = reported_services(self.shared.catalog, export);
        self.piece(export, &piece, &reported)
    }

    /// Collects one piece of `export`; `reported`: [`reported_services`] of the export.
    fn piece(
        mut self,
        export: &Export,
        piece: &Piece,
        reported: &HashSet<u32>,
    ) -> Result<Fragment> {
        if self.lists.len() > self.shared.worker_lists {
            // Forgotten with the templates, whose groups name them by the worker's ids.
            *self.lists = ActionLists::default();
            *self.templates = groups::Templates::default();
        }
        let (lists_from, labels_from, granted_by_from, regions_from) = (
            self.lists.len(),
            self.labels.len(),
            self.granted_by.len(),
            self.regions.len(),
        );
        let window_days = self.shared.window_days;
        let own_time = export.own_time();
        let as_of = self.shared.flag.or(own_time);
        self.as_of_unverified = self.shared.flag.is_some() && own_time.is_none();
        let info = if piece.first {
            Some(self.export_facts(export, own_time)?)
        } else {
            None
        };
        let mut coverage = Coverage::default();
        let mut cache = GrantCache::new();
        let principals = export
            .principals
            .get(piece.principals.clone())
            .unwrap_or_default();
        for p in principals {
            let grants = principal_grants_cached(p, export, self.expander, &mut cache);
            let la = export.last_accessed.get(&(p.kind, p.name.clone()));
            // The principal's window ends at the as-of time, or earlier where its own
            // last-accessed data ends earlier: a verdict never covers time the data does not.
            let end = coverage.window_end(p, as_of, la);
            let start = end
                .map(|t| window_start_of(export, t, window_days))
                .transpose()?;
            self.principal(
                export,
                p,
                &grants,
                la,
                Window { end, start, as_of },
                reported,
                &mut coverage,
            )?;
        }
        let uncatalogued = self.uncatalogued_named();
        Ok(Fragment {
            worker: self.worker,
            info,
            coverage,
            uncatalogued,
            last: piece.last,
            warnings: self.warnings,
            principals: self.principals,
            inputs: self.inputs,
            lists_from,
            new_lists: (lists_from..self.lists.len())
                .map(|i| self.lists.get(ListId(i as u32)).actions.to_vec())
                .collect(),
            labels_from,
            new_labels: self.labels.list[labels_from..].to_vec(),
            granted_by_from,
            new_granted_by: self.granted_by.list[granted_by_from..].to_vec(),
            regions_from,
            new_regions: self.regions.list[regions_from..].to_vec(),
        })
    }

    /// The export's own facts, and its warnings that are not about its principals (its first
    /// piece's): the as-of time, checked against its data (the first error of the export), the
    /// window, the credential report's age, the loader's warnings. `own_time`: the export's
    /// ([`Export::own_time`], which its piece already worked out).
    fn export_facts(&mut self, export: &Export, own_time: Option<Timestamp>) -> Result<ExportInfo> {
        let flag = self.shared.flag;
        let window_days = self.shared.window_days;
        let (as_of, as_of_source) = match (flag, own_time) {
            (Some(t), _) => (Some(t), AsOfSource::Flag),
            (None, Some(t)) => (Some(t), AsOfSource::Export),
            (None, None) => (None, AsOfSource::None),
        };
        check_as_of(export, flag, window_days, &mut self.warnings)?;
        let window_start = as_of
            .map(|t| window_start_of(export, t, window_days))
            .transpose()?;
        warn_credential_report_age(export, as_of, &mut self.warnings);
        for w in &export.warnings {
            self.warnings.push(AccountWarning {
                account_id: export.account_id.clone(),
                warning: w.clone(),
            });
        }
        Ok(ExportInfo {
            account_id: export.account_id.clone(),
            partition: export.partition.clone(),
            path: export.root.display().to_string(),
            as_of,
            as_of_source,
            window_start,
            principals: export.principals.len(),
            has_credential_report: export.credential_report.is_some(),
            files: export.files.clone(),
            manifest: export.manifest.as_ref().map(|m| ManifestFacts {
                tool: m.tool.clone(),
                created: m.created,
                files_verified: m.files.len(),
            }),
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn principal(
        &mut self,
        export: &Export,
        p: &Principal,
        grants: &PrincipalGrants,
        la: Option<&LastAccessed>,
        window: Window,
        reported: &HashSet<u32>,
        coverage: &mut Coverage,
    ) -> Result<()> {
        let pidx = self.principals.len() as u32;
        let policies = self.policies(grants);
        self.inputs.principals.push(verdict::PrincipalRow {
            p: pidx,
            has_la: la.is_some(),
            created_ms: created_ms(export, p, window.start),
            window_start_ms: window.start.map(|t| t.timestamp_millis()),
            window_end_ms: window.end.map(|t| t.timestamp_millis()),
            used_after_data: used_after_data(export, p, la, window),
        });
        // The grants, grouped (shared by every principal with the same grant set).
        let template = self.templates.get(
            grants,
            self.shared.catalog,
            &self.shared.risks,
            &self.shared.not_observable,
            self.lists,
        );
        let tracked = la
            .map(|la| self.evidence(pidx, la, window.start))
            .transpose()?
            .unwrap_or_default();
        if let Some(la) = la {
            self.note_unreported(p, la, &template, reported, coverage);
        }
        let since: Vec<Option<i64>> = grants
            .policies
            .iter()
            .map(|r| granted_since(export, r))
            .collect();
        let added = self.added_actions(export, grants);
        let dating = Dating {
            since: &since,
            boundary: grants
                .policies
                .iter()
                .position(|r| r.boundary)
                .and_then(|i| added.get(i)?.as_deref()),
            added: &added,
            floor: window
                .end
                .and_then(|end| crate::model::days_before(end, super::MAX_WINDOW_DAYS))
                .map(|t| t.timestamp_millis()),
        };
        // The newest of its grants the export dates: an action granted only by policies (or
        // through groups) made since then, or that a version made since added.
        let newest_grant = self
            .grant_rows(pidx, &template, &policies, &dating, &tracked)
            .and_then(chrono::DateTime::from_timestamp_millis);
        let unmatched = grants
            .unmatched
            .iter()
            .map(|u| {
                let label = policies
                    .get(u.policy)
                    .map_or_else(|| "?".to_string(), |pi| self.label_text(pi.label));
                format!("{label}: {}", u.pattern)
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|t| self.texts.get(&t))
            .collect();
        // One copy of the account id for the worker's principals (`Merged::add` shares it again).
        let account_id = self.texts.get(&export.account_id);
        let gaps = gap_flags(grants);
        // `RoleLastUsed` reaches only as far as the authorization details were fetched (without
        // a manifest, as far as they show: a role used after them was called unused, review
        // pass 47). Only a principal without last-accessed data reads it.
        let details_from = match la {
            None => *self
                .details_from
                .get_or_insert_with(|| export.details_from()),
            Some(_) => None,
        };
        let mut info = facts(
            account_id,
            p,
            (la, details_from, newest_grant),
            window,
            policies,
            unmatched,
            &gaps,
        )?;
        // The names of the policies that grant (a boundary grants nothing), from their labels.
        let granting: Vec<&str> = info
            .policies
            .iter()
            .filter(|pi| !pi.boundary)
            .filter_map(|pi| self.labels.list.get(pi.label.0 as usize))
            .map(|l| l.name.as_str())
            .collect();
        info.intentional = self.shared.intentional.find(p, &granting).map(Box::new);
        if self.as_of_unverified && info.flags.contains(&"unused_role") {
            info.flags = info
                .flags
                .iter()
                .filter(|f| **f != "unused_role")
                .copied()
                .collect();
        }
        self.principals.push(info);
        Ok(())
    }

    fn label_text(&self, id: LabelId) -> String {
        self.labels
            .list
            .get(id.0 as usize)
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    /// The principal's policies, each with its interned label.
    fn policies(&mut self, grants: &PrincipalGrants) -> Vec<PolicyInfo> {
        grants
            .policies
            .iter()
            .map(|r| PolicyInfo {
                kind: r.kind,
                arn: r.arn.as_deref().map(|a| self.texts.get(a)),
                boundary: r.boundary,
                grants: 0,
                unused: 0,
                label: LabelId(self.labels.intern(&PolicyLabel::of(r))),
            })
            .collect()
    }

    /// Rows of the principal's service- and action-level evidence; returns, for each action AWS
    /// tracks for it, the id of its evidence (its last access and region): tracked actions with
    /// the same evidence share a verdict, so they stay one group.
    ///
    /// An error where a service's row cannot hold what the report says (a time before 1970,
    /// which the inputs refuse where they read it, naming the file; never reached).
    /// `since`: the principal's window start (`None`: every recorded use counts as recent).
    fn evidence(
        &mut self,
        pidx: u32,
        la: &LastAccessed,
        since: Option<Timestamp>,
    ) -> Result<HashMap<ActionId, u32>> {
        let mut tracked: HashMap<ActionId, u32> = HashMap::default();
        let mut evidence: HashMap<(Option<i64>, Option<&str>), u32> = HashMap::default();
        let recent = |t: Option<Timestamp>| t.is_some_and(|t| since.is_none_or(|s| t >= s));
        for s in &la.services {
            let Some(svc) = self.shared.catalog.service_index_of(&s.namespace) else {
                // A service the catalog does not know: no verdict, but what it used is kept.
                let used = s.tracked_actions.iter().flatten();
                for t in used.filter(|t| recent(t.last_accessed)) {
                    self.uncatalogued(pidx, format!("{}:{}", s.namespace, t.name));
                }
                // Used in the window: which of its actions AWS does not track one by one, the
                // catalog cannot say, and one may have been used then (the service's time is only
                // its latest use): all of it is kept, as a known service's are (`unknown`).
                if recent(s.last_authenticated) {
                    self.uncatalogued(pidx, format!("{}:*", s.namespace));
                }
                continue;
            };
            let last_ms = s.last_authenticated.map(|t| t.timestamp_millis());
            let region = s.region.as_ref().map(|r| self.regions.intern(r));
            let row = verdict::ServiceRow::new(pidx, svc, last_ms, region).ok_or_else(|| {
                Error::Analysis(format!(
                    "principal {pidx}'s last-accessed report: service {}: a last access of \
                     {last_ms:?} ms since 1970 is before 1970 or past what a row holds",
                    s.namespace
                ))
            })?;
            self.inputs.services.push(row);
            for t in s.tracked_actions.iter().flatten() {
                let Some(id) = self.shared.catalog.lookup(&s.namespace, &t.name) else {
                    // Newer than the catalog: no verdict, but a use is kept
                    // ([`Self::uncatalogued`]).
                    if recent(t.last_accessed) {
                        self.uncatalogued(pidx, format!("{}:{}", s.namespace, t.name));
                    }
                    continue;
                };
                let last_ms = t.last_accessed.map(|t| t.timestamp_millis());
                let next = evidence.len() as u32;
                let actions = &mut self.inputs.actions;
                let ev = *evidence
                    .entry((last_ms, t.region.as_deref()))
                    .or_insert_with(|| {
                        actions.push(verdict::ActionRow {
                            p: pidx,
                            a: next,
                            last_ms,
                            region: t.region.clone(),
                        });
                        next
                    });
                // The first entry of an action listed twice wins (as the join did).
                tracked.entry(id).or_insert(ev);
            }
        }
        Ok(tracked)
    }

    /// This piece's used actions the catalog does not know (`uncatalogued`), as
    /// `role/Name service:Action`, for the export's warning ([`uncatalogued_warning`]).
    fn uncatalogued_named(&self) -> Vec<String> {
        self.inputs
            .uncatalogued
            .iter()
            .map(|(p, a)| {
                let who = self.principals.get(*p as usize);
                let (kind, name) = who.map_or(("?", "?"), |w| (w.kind.as_str(), w.name()));
                format!("{kind}/{name} {a}")
            })
            .collect()
    }

    /// Records an action the principal used (since its window started) that the catalog does not
    /// know: AWS adds actions all the time, and its report may name one newer than the catalog.
    /// No verdict can name it, but a tightened policy must not take it away (`recommend::tighten`).
    fn uncatalogued(&mut self, pidx: u32, action: String) {
        let list = &mut self.inputs.uncatalogued;
        // In principal order: this principal's are the last ones.
        let mine = list.iter().rev().take_while(|(p, _)| *p == pidx);
        if !mine.into_iter().any(|(_, a)| **a == *action) {
            list.push((pidx, action.into()));
        }
    }

    /// Records a principal granted services its own report lacks while AWS reports them for
    /// others in the account (see `Coverage`).
    fn note_unreported(
        &self,
        p: &Principal,
        la: &LastAccessed,
        template: &Template,
        reported: &HashSet<u32>,
        coverage: &mut Coverage,
    ) {
        let own: HashSet<u32> = la
            .services
            .iter()
            .filter_map(|s| self.shared.catalog.service_index_of(&s.namespace))
            .collect();
        let mut absent: Vec<&str> = template
            .groups
            .iter()
            .filter(|g| !g.not_observable)
            .map(|g| g.service)
            .filter(|svc| reported.contains(svc) && !own.contains(svc))
            .filter_map(|svc| self.shared.catalog.service_name(svc))
            .collect();
        absent.sort_unstable();
        absent.dedup();
        if !absent.is_empty() {
            coverage
                .unreported
                .push(format!("{}/{} ({})", p.kind, p.name, absent.join(", ")));
        }
    }

    /// What the versions of each of the principal's policies date
    /// ([`crate::policy::added_actions`]), by index into its policies (the boundary's too: an
    /// action its new version let through is as new): `None` for an inline policy, a policy the
    /// export lacks, and a managed policy whose versions date nothing. Worked out once per policy
    /// of the piece.
    fn added_actions(
        &mut self,
        export: &Export,
        grants: &PrincipalGrants,
    ) -> Vec<Option<Arc<AddedActions>>> {
        let partition = Some(export.partition.as_str());
        grants
            .policies
            .iter()
            .map(|r| {
                let m = r.arn.as_ref().and_then(|arn| export.policies.get(arn))?;
                if m.other_versions.is_empty() {
                    return None;
                }
                let expander = &mut *self.expander;
                let added = self
                    .added
                    .entry(Arc::as_ptr(m) as usize)
                    .or_insert_with(|| {
                        let of = crate::policy::VersionGrants::of;
                        let default =
                            of(&m.document, &expander.document_in(&m.document, partition));
                        crate::policy::added_actions(m, &default, |d| {
                            of(d, &expander.document_in(d, partition))
                        })
                        .map(Arc::new)
                    });
                added.clone()
            })
            .collect()
    }

    /// One verdict row per template group, split by the evidence of the actions AWS tracks and
    /// by when the principal can have held them at the earliest ([`Dating`]). `policies`: the
    /// principal's. Returns the newest of those dates.
    fn grant_rows(
        &mut self,
        pidx: u32,
        template: &Template,
        policies: &[PolicyInfo],
        dating: &Dating<'_>,
        tracked: &HashMap<ActionId, u32>,
    ) -> Option<i64> {
        let mut newest = None;
        let tracked_services: HashSet<u32> = tracked
            .keys()
            .map(|id| self.shared.catalog.service_index(*id))
            .collect();
        for g in &template.groups {
            let sources: Box<[LabelId]> = g
                .sources
                .iter()
                .filter_map(|i| policies.get(*i as usize).map(|pi| pi.label))
                .collect();
            let gb = GrantedById(self.granted_by.intern(&sources));
            let held = held_since(g, dating.since);
            let dated = dating.dates(g);
            if !dated && !tracked_services.contains(&g.service) {
                newest = newest.max(held);
                self.inputs
                    .grants
                    .push(row(pidx, g, g.list, None, (gb, held)));
                continue;
            }
            let mut parts: BTreeMap<(Option<u32>, Option<i64>), Vec<GrantedAction>> =
                BTreeMap::new();
            for a in &self.lists.get(g.list).actions {
                let held = if dated {
                    dating
                        .held_since(g, a.id())
                        .filter(|t| !dating.too_old(*t))
                        .or(held)
                } else {
                    held
                };
                parts
                    .entry((tracked.get(&a.id()).copied(), held))
                    .or_default()
                    .push(*a);
            }
            for ((ev, held), actions) in parts {
                newest = newest.max(held);
                let list = self.lists.push(actions);
                self.inputs.grants.push(row(pidx, g, list, ev, (gb, held)));
            }
        }
        newest
    }
}

fn row(
    p: u32,
    g: &TemplateGroup,
    list: ListId,
    ev: Option<u32>,
    (gb, granted_since_ms): (GrantedById, Option<i64>),
) -> verdict::GrantRow {
    verdict::GrantRow {
        p,
        a: ev.unwrap_or(verdict::NO_ACTION),
        svc: g.service,
        list,
        scoped: g.scoped,
        conditional: g.conditional,
        gb,
        not_observable: g.not_observable,
        granted_since_ms,
    }
}

/// Whether principal `p`'s window ends at its own last-accessed report, older than the as-of
/// time (a report kept from an earlier run, or a file from another export), and its last use is
/// a day or more later ([`super::window::a_day_or_more`], as the staleness warning): a role's
/// `RoleLastUsed`, a user's password or access key use in the export's credential report (a
/// user's was not read, review pass 47). It was used since, and what it used is not in the data
/// ([`Reason::UsedAfterData`]). With the report as new as the as-of time (or `--as-of` earlier
/// than it), a later use is not this rule's: the as-of time is the data's, or the reader's.
fn used_after_data(
    export: &Export,
    p: &Principal,
    la: Option<&LastAccessed>,
    window: Window,
) -> bool {
    let Some((end, as_of)) = window.end.zip(window.as_of) else {
        return false;
    };
    let own_end = la
        .and_then(|la| la.job_completion)
        .is_some_and(|job| job == end && job < as_of);
    if !own_end {
        return false;
    }
    let used = match p.kind {
        PrincipalType::Role => p.role_last_used.as_ref().and_then(|r| r.date),
        PrincipalType::User => export
            .credential_report
            .iter()
            .flatten()
            // By name, as the loader and the identity checks read the report: its ARN may
            // name another path (a user moved within the report's four-hour cache).
            .find(|r| r.user == p.name)
            .and_then(|r| r.last_used()),
        PrincipalType::Group | PrincipalType::PermissionSet => None,
    };
    used.is_some_and(|used| super::window::a_day_or_more(end, used))
}

/// When principal `p` was created, as the verdicts' "too new" rule reads it. Only members use
/// a group's policies: a group whose members were all created after its window started (each
/// with a date) is as new as its oldest member, for no member has had the window to use what it
/// grants (whether earlier members used it is not in the data; those it had, it no longer has).
fn created_ms(export: &Export, p: &Principal, start: Option<Timestamp>) -> Option<i64> {
    let own = p.created.map(|t| t.timestamp_millis());
    if p.kind != crate::model::PrincipalType::Group {
        return own;
    }
    let Some(start) = start else {
        return own;
    };
    let members: Option<Vec<Timestamp>> =
        export.group_members(&p.name).map(|u| u.created).collect();
    match members.and_then(|m| m.into_iter().min()) {
        Some(oldest) if oldest >= start => own.max(Some(oldest.timestamp_millis())),
        _ => own,
    }
}

/// The earliest the principal can hold the actions of group `g` (`since`: of each of its
/// policies, [`granted_since`]): when its oldest granting policy could be had; unknown when one
/// policy's date is.
fn held_since(g: &TemplateGroup, since: &[Option<i64>]) -> Option<i64> {
    earliest(g, |i| since.get(i).copied().flatten())
}

/// The earliest of `date` over the granting policies of group `g` (by index into the
/// principal's policies); unknown when one policy's date is.
fn earliest(g: &TemplateGroup, date: impl Fn(usize) -> Option<i64>) -> Option<i64> {
    let mut min: Option<i64> = None;
    for i in &g.sources {
        let d = date(*i as usize)?;
        min = Some(min.map_or(d, |m| m.min(d)));
    }
    min
}

/// When a principal can have held each of its actions at the earliest, as far as the export
/// dates it ([`Collector::grant_rows`]).
struct Dating<'a> {
    /// Of each of its policies, [`granted_since`].
    since: &'a [Option<i64>],
    /// Of each of its policies, what its versions date ([`Collector::added_actions`]).
    added: &'a [Option<Arc<AddedActions>>],
    /// What the versions of its permissions boundary date: an action the boundary let through
    /// only since a version made then is held since then, whatever grants it.
    boundary: Option<&'a AddedActions>,
    /// Its window's end less the 400 days AWS keeps ([`super::MAX_WINDOW_DAYS`]): no window
    /// (its own, or a permission set's it is judged over again) starts before, so an earlier
    /// date decides nothing, and the actions of a group are not split by one.
    floor: Option<i64>,
}

impl Dating<'_> {
    /// Whether a version of a policy of group `g` (or of the boundary) dates some action.
    fn dates(&self, g: &TemplateGroup) -> bool {
        self.boundary.is_some()
            || g.sources
                .iter()
                .any(|i| self.added.get(*i as usize).is_some_and(Option::is_some))
    }

    /// Whether date `t` (milliseconds) is before every window it can decide.
    fn too_old(&self, t: i64) -> bool {
        self.floor.is_some_and(|floor| t < floor)
    }

    /// The earliest the principal can hold action `a` of group `g`: [`held_since`], where a
    /// policy's versions date `a` later than the policy ([`AddedActions::since`]), and no
    /// earlier than its boundary's versions date it.
    fn held_since(&self, g: &TemplateGroup, a: ActionId) -> Option<i64> {
        let granted = earliest(g, |i| {
            let policy = self.since.get(i).copied().flatten()?;
            let version = self
                .added
                .get(i)
                .and_then(Option::as_ref)
                .and_then(|v| v.since(a));
            Some(version.map_or(policy, |v| v.max(policy)))
        });
        // A grant the export does not date (the principal's own inline policy) is held since
        // the boundary's version let it through at the earliest.
        match self.boundary.and_then(|b| b.since(a)) {
            Some(b) => Some(granted.map_or(b, |t| t.max(b))),
            None => granted,
        }
    }
}

/// The earliest the principal can hold what policy `r` grants, as far as the export bounds it:
/// not before a managed policy was created, nor before the group it comes through was (an
/// attachment or a membership is younger than both). `None` for the principal's own inline
/// policy (its creation bounds it, `PrincipalRow::created_ms`) and for a policy or group the
/// export lacks (the `policy_missing` and `group_missing` flags say so). A policy or group the
/// export holds without a `CreateDate` (AWS always writes one; an edited file may not) may be
/// as young as the as-of date: [`UNDATED`], as a principal without one is too new.
fn granted_since(export: &Export, r: &crate::policy::PolicyRef) -> Option<i64> {
    let ms = |t: Option<Timestamp>| t.map_or(UNDATED, |t| t.timestamp_millis());
    let policy = r
        .arn
        .as_ref()
        .and_then(|arn| export.policies.get(arn))
        .map(|m| ms(m.create_date));
    let group = r
        .via_group
        .as_ref()
        .and_then(|g| export.principal(crate::model::PrincipalType::Group, g))
        .map(|g| ms(g.created));
    policy.max(group)
}

/// The date [`granted_since`] gives a policy or group without a `CreateDate`: the latest a
/// timestamp can be (any as-of date is before it; chrono's last millisecond, so that it reads
/// back as a date), as for an action a policy version may have lacked until then.
const UNDATED: i64 = crate::policy::versions::UNKNOWN_MS;

/// The flag of a principal granted some action only by policies (or through groups) created
/// since its window started (`grant_too_new`): it is being given access, so it is neither an
/// unused role nor an unused user.
pub(crate) const GRANTED_IN_WINDOW: &str = "granted_in_window";

/// The flag of an Identity Center role whose permission set the exports do not name.
pub(crate) const MANAGED_BY_IDENTITY_CENTER: &str = "managed_by_identity_center";

/// The flag of a principal attached to a managed policy (directly or through a group) that the
/// export lacks: its grants may lack that policy's actions.
pub(crate) const POLICY_MISSING: &str = "policy_missing";
/// The flag of a user in a group the export lacks: its grants may lack the group's actions.
pub(crate) const GROUP_MISSING: &str = "group_missing";
/// The flag of a principal whose permissions boundary's policy the export lacks: no boundary is
/// applied, so its grants may hold actions the boundary takes away.
pub(crate) const BOUNDARY_MISSING: &str = "boundary_missing";

/// The flag of a principal whose policies (or boundary) deny some of the actions it holds only
/// under a condition or on some resources: not subtracted (whether they block a call depends on
/// the request), so those actions count as granted; the flag points the reader at the policies.
pub(crate) const PARTIAL_DENY: &str = "partial_deny";

/// The flags of what the export lacks of a principal's policies (the `policy_missing` and
/// `group_missing` warnings, per principal): [`POLICY_MISSING`], [`GROUP_MISSING`],
/// [`BOUNDARY_MISSING`]; and [`PARTIAL_DENY`].
fn gap_flags(grants: &PrincipalGrants) -> Vec<&'static str> {
    let mut flags = Vec::new();
    if grants
        .partial_denies
        .iter()
        .any(|d| d.actions.intersects(&grants.effective))
    {
        flags.push(PARTIAL_DENY);
    }
    if grants.missing_policies.iter().any(|m| !m.boundary) {
        flags.push(POLICY_MISSING);
    }
    if !grants.missing_groups.is_empty() {
        flags.push(GROUP_MISSING);
    }
    if grants.missing_policies.iter().any(|m| m.boundary) {
        flags.push(BOUNDARY_MISSING);
    }
    flags
}

/// A principal's facts: flags, last use, policies; counts are filled in by `rank`. `evidence`:
/// its last-accessed data, and the earliest time the authorization details (its `RoleLastUsed`)
/// may have been fetched ([`crate::model::Manifest::fetch_started`]). `gaps`: what the export
/// lacks of its policies ([`gap_flags`]).
fn facts(
    account_id: Arc<str>,
    p: &Principal,
    (la, details_from, newest_grant): (Option<&LastAccessed>, Option<Timestamp>, Option<Timestamp>),
    window: Window,
    policies: Vec<PolicyInfo>,
    unmatched_patterns: Vec<Arc<str>>,
    gaps: &[&'static str],
) -> Result<PrincipalInfo> {
    let names = PrincipalNames::new(&p.name, &p.arn, &p.id).ok_or_else(|| {
        Error::Analysis(format!(
            "account {account_id}: {} {}: its name, ARN and id take more than 4 GiB",
            p.kind.as_str(),
            p.name
        ))
    })?;
    let mut flags = Vec::new();
    if p.service_linked {
        flags.push("service_linked");
    }
    // IAM Identity Center owns its roles and rewrites them when it provisions their permission
    // set: the change is the set's, whether or not the organisation part names it (which then
    // makes this `managed_by_permission_set`).
    let identity_center =
        p.kind == PrincipalType::Role && p.path.starts_with(crate::model::IDENTITY_CENTER_PATH);
    if identity_center {
        flags.push(MANAGED_BY_IDENTITY_CENTER);
    }
    if la.is_none() {
        flags.push("no_last_accessed_data");
    }
    let last_service_use = la.and_then(|la| {
        la.services
            .iter()
            .filter_map(|s| s.last_authenticated)
            .max()
    });
    let (last_used, last_used_region) = match &p.role_last_used {
        Some(r) if r.date.is_some() => (r.date, r.region.clone()),
        _ => (last_service_use, None),
    };
    if let Some(ws) = window.start {
        let too_new = p.created.is_none_or(|c| c >= ws);
        // Without last-accessed data, RoleLastUsed is the only evidence, and it shows nothing
        // after the authorization details were fetched (the first run of a fetch resumed days
        // later, say): the window ends there, keeping its length, when that is earlier.
        let evidence_start = match (la, details_from, window.end) {
            (None, Some(from), Some(end)) if from < end => {
                ws.checked_sub_signed(end.signed_duration_since(from))
            }
            _ => Some(ws),
        };
        // Granted something only by policies (or groups) made since its evidence began: being
        // given access, not an unused principal to delete (`unused_user` reads the flag).
        let granted_in_window =
            newest_grant.is_some_and(|g| evidence_start.is_none_or(|es| g >= es));
        // (A principal younger than the window says more: `too_new`.)
        if granted_in_window && !too_new {
            flags.push(GRANTED_IN_WINDOW);
        }
        if too_new {
            flags.push("too_new");
        } else if p.kind == PrincipalType::Role
            && !granted_in_window
            // Evidence of no use needs RoleLastUsed as AWS gives it (`{}` or a date): a role
            // assumed only to use what resource-based policies grant it (a bucket or key policy
            // that names it) shows nothing in its last-accessed data, so without the field (left
            // out of a hand-made export) it is not called unused (`identities::Gaps` says so).
            && p.role_last_used.is_some()
            && let Some(es) = evidence_start
            && p.created.is_some_and(|c| c < es)
            && last_used.is_none_or(|t| t < es)
            && last_service_use.is_none_or(|t| t < ws)
        {
            flags.push("unused_role");
        }
    }
    flags.extend_from_slice(gaps);
    Ok(PrincipalInfo {
        account_id,
        kind: p.kind,
        names,
        tags: p.tags.clone(),
        created: p.created,
        last_used,
        last_used_region: last_used_region.map(Arc::from),
        service_linked: p.service_linked,
        actionable: !p.service_linked && !identity_center,
        intentional: None,
        permission_set: None,
        has_last_accessed: la.is_some(),
        as_of: window.end,
        policies: policies.into_boxed_slice(),
        unmatched_patterns: unmatched_patterns.into_boxed_slice(),
        counts: Counts::default(),
        unused_by_sensitivity: BySensitivity::default(),
        score: 0,
        flags: flags.into_boxed_slice(),
    })
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;
    use std::path::PathBuf;

    use super::*;
    use crate::input::{LoadOptions, load_exports};

    #[test]
    fn an_undated_grant_is_chronos_last_millisecond() {
        assert_eq!(
            UNDATED,
            chrono::DateTime::<chrono::Utc>::MAX_UTC.timestamp_millis()
        );
        assert!(chrono::DateTime::from_timestamp_millis(UNDATED).is_some());
    }

    #[test]
    fn interning_up_to_a_bound_refuses_only_new_values_past_it() {
        let mut ids: Interner<&str> = Interner::default();
        assert_eq!(ids.intern_up_to(&"a", 1), Some(0));
        assert_eq!(ids.intern_up_to(&"b", 1), Some(1));
        assert_eq!(ids.intern_up_to(&"c", 1), None);
        assert_eq!(ids.intern_up_to(&"a", 1), Some(0));
        assert_eq!(ids.as_slice(), ["a", "b"]);
    }

    /// Both quarters of the sample organisation's accounts, and the first again (loaded one by
    /// one: a run refuses an account twice, the collector does not care): accounts that share AWS
    /// managed policies, so grant sets, lists and labels recur across exports.
    fn exports() -> Vec<Export> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sample-data");
        let q3 = root.join("2026-q3");
        let q4 = root.join("2026-q4");
        [
            q3.join("111111111111"),
            q3.join("222222222222"),
            q4.join("111111111111"),
            q3.join("333333333333"),
            q4.join("222222222222"),
            q3.join("111111111111"),
        ]
        .iter()
        .flat_map(|p| load_exports(std::slice::from_ref(p), &LoadOptions::default()).unwrap())
        .collect()
    }

    /// What every collecting thread reads, for the embedded catalog: a 90-day window, no flag,
    /// the default intentional rules, workers forgetting their lists past `worker_lists`.
    fn shared(worker_lists: usize) -> Shared<'static> {
        let catalog = Catalog::embedded();
        Shared {
            catalog,
            window_days: 90,
            flag: None,
            not_observable: vec![false; catalog.len()],
            risks: sensitivity::classify(catalog),
            intentional: IntentionalConfig::default(),
            worker_lists,
            piece_principals: PIECE_PRINCIPALS,
        }
    }

    /// Collects `exports` as the workers `assignment[i]` would, merged in export order; returns
    /// everything the merge gives later stages, as text, and how many values the fragments
    /// brought (counting a value once per worker that met it).
    fn collected(exports: &[Export], assignment: &[usize], worker_lists: usize) -> (String, usize) {
        collected_in_pieces(exports, usize::MAX, assignment, worker_lists, None)
    }

    /// [`collected`], each export cut into pieces of at most `per` principals, the `k`-th piece
    /// collected by worker `assignment[k % assignment.len()]`, with `flag` as `--as-of`; the
    /// output also lists the exports' facts and the warnings.
    fn collected_in_pieces(
        exports: &[Export],
        per: usize,
        assignment: &[usize],
        worker_lists: usize,
        flag: Option<Timestamp>,
    ) -> (String, usize) {
        let catalog = Catalog::embedded();
        let shared = Shared {
            flag,
            ..shared(worker_lists)
        };
        let mut workers: Vec<Worker> = (0..3).map(|i| Worker::new(catalog, i)).collect();
        let mut merged = Merged::default();
        let mut brought = 0;
        let sizes: Vec<usize> = exports.iter().map(|e| e.principals.len()).collect();
        for (k, piece) in pieces(&sizes, per).iter().enumerate() {
            let export = &exports[piece.export];
            let reported = reported_services(catalog, export);
            let w = assignment[k % assignment.len()];
            let f = Collector::new(&shared, &mut workers[w])
                .piece(export, piece, &reported)
                .unwrap();
            brought += f.new_lists.len() + f.new_labels.len() + f.new_granted_by.len();
            merged.add(f);
        }
        let mut out = String::new();
        let m = &merged;
        let mut warnings = m.warnings.clone();
        warnings.sort();
        for w in &warnings {
            writeln!(out, "warning {w:?}").unwrap();
        }
        for e in &m.exports {
            writeln!(
                out,
                "export {} {:?} {}",
                e.account_id, e.as_of, e.principals
            )
            .unwrap();
        }
        for i in 0..m.lists.len() {
            let ids: Vec<u32> = m
                .lists
                .get(ListId(i as u32))
                .actions
                .iter()
                .map(|a| a.id().0)
                .collect();
            writeln!(out, "list {i} {ids:?}").unwrap();
        }
        writeln!(out, "labels {:?}", m.labels.list).unwrap();
        writeln!(out, "granted_by {:?}", m.granted_by.list).unwrap();
        for p in &m.principals {
            let labels: Vec<u32> = p.policies.iter().map(|p| p.label.0).collect();
            writeln!(
                out,
                "principal {} {:?} {} {labels:?} {:?}",
                p.account_id,
                p.kind,
                p.name(),
                p.unmatched_patterns
            )
            .unwrap();
        }
        for r in &m.inputs.grants {
            writeln!(
                out,
                "grant {} {} {} {} {} {} {} {}",
                r.p, r.a, r.list.0, r.svc, r.scoped, r.conditional, r.gb.0, r.not_observable
            )
            .unwrap();
        }
        for r in &m.inputs.principals {
            let w = (
                r.p,
                r.has_la,
                r.created_ms,
                r.window_start_ms,
                r.window_end_ms,
            );
            writeln!(out, "row {w:?}").unwrap();
        }
        for r in &m.inputs.services {
            let region = r.region().map(|id| (id, &m.regions.list[id as usize]));
            writeln!(
                out,
                "service {} {} {:?} {region:?}",
                r.p,
                r.svc(),
                r.last_ms(),
            )
            .unwrap();
        }
        for r in &m.inputs.actions {
            writeln!(out, "action {} {} {:?} {:?}", r.p, r.a, r.last_ms, r.region).unwrap();
        }
        (out, brought)
    }

    /// Of several exports that fail, the error is the first one's in export order, as a
    /// one-by-one run meets it, however the workers finish.
    #[test]
    fn the_first_export_that_fails_is_the_error() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sample-data");
        let load = |q: &str, a: &str| {
            load_exports(&[root.join(q).join(a)], &LoadOptions::default())
                .unwrap()
                .remove(0)
        };
        let newest = |e: &Export| {
            e.last_accessed
                .values()
                .filter_map(|la| la.job_completion)
                .max()
                .unwrap()
        };
        let mut exports = vec![
            load("2026-q4", "111111111111"),
            load("2026-q3", "222222222222"),
            load("2026-q4", "222222222222"),
            load("2026-q3", "111111111111"),
        ];
        // An --as-of the fourth quarter's data reaches and the third's does not.
        let flag = newest(&exports[0]).min(newest(&exports[2]));
        assert!(flag > newest(&exports[1]).max(newest(&exports[3])));
        let settings = Settings::new(90, Some(flag)).unwrap();
        let catalog = Catalog::embedded();
        for freeing in [false, true] {
            let exports_arg = if freeing {
                super::super::Exports::Freeing(&mut exports)
            } else {
                super::super::Exports::Shared(&exports)
            };
            let err = collect(exports_arg, catalog, &settings, &mut Config::default())
                .err()
                .unwrap()
                .to_string();
            assert!(
                err.contains("2026-q3/222222222222") && err.contains("--as-of"),
                "{err}"
            );
        }
    }

    /// Row vectors sized from the expectation end near their length, not at the next doubling,
    /// and always have room for what is appended, whatever the expectation says.
    #[test]
    fn rows_are_reserved_from_the_expected_total() {
        // Ten exports of 1,000 rows, the expectation exact from the first.
        let mut rows: Vec<u64> = Vec::new();
        for _ in 0..10 {
            reserve_rows(&mut rows, 1_000, 10_000);
            rows.extend(0..1_000);
        }
        assert_eq!(rows.len(), 10_000);
        assert!(
            rows.capacity() <= 10_000 + 10_000 / 4,
            "{}",
            rows.capacity()
        );
        // An expectation up to a fifth too low (the first export's rows per principal fewer
        // than the average) still reserves once: the rows are never copied to grow.
        let mut rows: Vec<u64> = Vec::new();
        let mut reserved = 0;
        for _ in 0..10 {
            let before = rows.capacity();
            reserve_rows(&mut rows, 1_000, 8_000);
            reserved += usize::from(rows.capacity() != before);
            rows.extend(0..1_000);
        }
        assert_eq!(reserved, 1, "{}", rows.capacity());
        // Appended by `extend` alone, the same rows end with room for 16,000.
        let mut doubled: Vec<u64> = Vec::new();
        for _ in 0..10 {
            doubled.extend(0..1_000);
        }
        assert!(doubled.capacity() >= 16_000, "{}", doubled.capacity());
        // An expectation too low (or none) still makes room, growing by at least a quarter.
        for expected in [0, 1, 5_000, usize::MAX] {
            let mut rows: Vec<u8> = Vec::new();
            for n in [3, 700, 1, 0, 4_000, 2_500] {
                let before = rows.capacity();
                reserve_rows(&mut rows, n, expected.min(1 << 20));
                assert!(rows.capacity() >= rows.len() + n);
                if rows.capacity() != before {
                    assert!(rows.capacity() >= before + before / 4);
                }
                rows.extend(std::iter::repeat_n(0, n));
            }
        }
    }

    /// However the exports are shared among workers, the merge gives every list, label and
    /// granted-by set the id one worker collecting them all in order gives (which is what the
    /// collector did before it ran on every core), and every row the same fields.
    /// An export collected in pieces, on one worker or several, merges into what it gives whole:
    /// the same rows, ids, facts and warnings (the coverage warnings list the principals of
    /// every piece, in order).
    #[test]
    fn an_export_collected_in_pieces_merges_as_one() {
        let exports = exports();
        // An --as-of before the data: the accessed_after_as_of warning of each export lists
        // principals of all its pieces.
        let flag = Some("2026-08-01T00:00:00Z".parse().unwrap());
        let whole = |flag| collected_in_pieces(&exports, usize::MAX, &[0], WORKER_LISTS, flag).0;
        for flag in [None, flag] {
            let whole = whole(flag);
            assert!(whole.contains("grant "), "{whole}");
            for per in [1, 2, 3, 7] {
                for assignment in [&[0][..], &[0, 1], &[1, 0, 2]] {
                    let (pieces, _) =
                        collected_in_pieces(&exports, per, assignment, WORKER_LISTS, flag);
                    if pieces != whole {
                        let at = whole.lines().zip(pieces.lines()).position(|(a, b)| a != b);
                        panic!("{per} {assignment:?} {flag:?}: first difference at line {at:?}");
                    }
                }
            }
        }
        assert!(whole(flag).contains("accessed_after_as_of"));
        // Pieces are even, in order, and cover every principal once; an empty export is one.
        let cut: Vec<(usize, Range<usize>, bool, bool)> = pieces(&[5, 0, 4], 2)
            .into_iter()
            .map(|p| (p.export, p.principals, p.first, p.last))
            .collect();
        assert_eq!(
            cut,
            [
                (0, 0..1, true, false),
                (0, 1..3, false, false),
                (0, 3..5, false, true),
                (1, 0..0, true, true),
                (2, 0..2, true, false),
                (2, 2..4, false, true),
            ]
        );
    }

    #[test]
    fn merged_ids_do_not_depend_on_which_worker_collected_an_export() {
        let exports = exports();
        let (one, brought_by_one) = collected(&exports, &[0; 6], WORKER_LISTS);
        assert!(one.contains("grant "), "{one}");
        for assignment in [
            [0, 1, 0, 1, 1, 0],
            [1, 0, 0, 1, 0, 1],
            [2, 1, 0, 2, 1, 1],
            [0, 1, 2, 1, 0, 2],
        ] {
            let (many, brought) = collected(&exports, &assignment, WORKER_LISTS);
            // Workers met values another had already brought: the case the merge must get right.
            assert!(brought > brought_by_one, "{assignment:?}");
            if many != one {
                let at = one.lines().zip(many.lines()).position(|(a, b)| a != b);
                panic!("{assignment:?}: first difference at line {at:?}");
            }
        }
    }

    /// A principal's unmatched patterns are texts shared by every principal that names them,
    /// whichever worker collected it, and sorted.
    #[test]
    fn unmatched_patterns_are_shared_texts() {
        let exports = exports();
        let catalog = Catalog::embedded();
        let shared = shared(WORKER_LISTS);
        let mut workers: Vec<Worker> = (0..2).map(|i| Worker::new(catalog, i)).collect();
        let mut merged = Merged::default();
        for (i, export) in exports.iter().enumerate() {
            let f = Collector::new(&shared, &mut workers[i % 2])
                .export(export)
                .unwrap();
            merged.add(f);
        }
        let read_only: Vec<&PrincipalInfo> = merged
            .principals
            .iter()
            .filter(|p| p.unmatched_patterns.iter().any(|t| t.starts_with("aws:")))
            .collect();
        let accounts: BTreeSet<&str> = read_only.iter().map(|p| &*p.account_id).collect();
        // Principals of several exports, collected by both workers.
        assert!(read_only.len() >= 4 && accounts.len() >= 2, "{accounts:?}");
        let first = &read_only[0].unmatched_patterns;
        assert!(first.is_sorted() && first.len() > 1);
        for p in &read_only[1..] {
            assert_eq!(p.unmatched_patterns.len(), first.len(), "{}", p.name());
            for (a, b) in first.iter().zip(&p.unmatched_patterns) {
                assert!(Arc::ptr_eq(a, b), "{} {b}", p.name());
            }
        }
    }

    /// A permissions boundary grants nothing: a policy held only as the boundary does not make
    /// a principal intentional access (`sso_admin_permission_set` asks for AdministratorAccess
    /// among the policies that grant), though the principal lists it among its policies.
    #[test]
    fn a_boundary_does_not_make_access_intentional() {
        let catalog = Catalog::embedded();
        let shared = shared(WORKER_LISTS);
        let mut export = exports()
            .into_iter()
            .find(|e| {
                e.principals
                    .iter()
                    .any(|p| p.name.starts_with("AWSReservedSSO_AdministratorAccess"))
            })
            .expect("the sample's SSO administrator role");
        let at = export
            .principals
            .iter()
            .position(|p| p.name.starts_with("AWSReservedSSO_AdministratorAccess"))
            .unwrap();
        // Its name no longer says admin: only the policy it holds makes it intentional.
        export.principals[at].name = "AWSReservedSSO_ReadOnly_0000".into();
        let rule = |export: &Export| {
            let mut worker = Worker::new(catalog, 0);
            let f = Collector::new(&shared, &mut worker).export(export).unwrap();
            let p = &f.principals[at];
            assert_eq!(p.name(), "AWSReservedSSO_ReadOnly_0000");
            (
                p.intentional.as_ref().map(|m| m.rule.clone()),
                p.policies.len(),
            )
        };
        let admin = "arn:aws:iam::aws:policy/AdministratorAccess";
        assert_eq!(export.principals[at].attached_policies, [admin]);
        assert_eq!(
            rule(&export),
            (Some("sso_admin_permission_set".to_string()), 1)
        );
        let p = &mut export.principals[at];
        p.attached_policies.clear();
        p.permissions_boundary = Some(admin.into());
        assert_eq!(rule(&export), (None, 1));
    }

    /// Workers that forget their lists and templates (`WORKER_LISTS`) between exports bring the
    /// lists again, and the merge gives every value the id a run that forgets nothing gives it.
    #[test]
    fn workers_that_forget_their_lists_merge_the_same() {
        let exports = exports();
        let (whole, brought_whole) = collected(&exports, &[0; 6], WORKER_LISTS);
        for assignment in [[0; 6], [0, 1, 0, 1, 1, 0], [2, 1, 0, 2, 1, 1]] {
            for worker_lists in [0, 1, 5] {
                let (forgetting, brought) = collected(&exports, &assignment, worker_lists);
                // The lists were forgotten and brought again.
                assert!(brought > brought_whole, "{assignment:?} {worker_lists}");
                if forgetting != whole {
                    let at = whole
                        .lines()
                        .zip(forgetting.lines())
                        .position(|(a, b)| a != b);
                    panic!("{assignment:?} {worker_lists}: first difference at line {at:?}");
                }
            }
        }
    }
}
