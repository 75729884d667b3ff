//! Planning one principal: what to remove, each policy tightened, within IAM's size limits.

use std::collections::{BTreeSet, HashMap};

use super::managed::decide_managed;
use super::verify::{document_of, group_members, original_of, verify_cached};
use super::{
    Apply, Flag, PolicyDocuments, PolicyPlan, PrincipalPlan, iam_size, iam_size_of, limits,
    minimise, safe_file_name, tighten,
};
use crate::analysis::{Analysis, Finding, PrincipalInfo, Status};
use crate::catalog::ActionSet;
use crate::error::Result;
use crate::model::{Details, Export, Organization, Principal, PrincipalType};
use crate::policy::{
    Expander, GrantCache, PolicyDocument, PolicyKind, PrincipalGrants, principal_grants_cached,
};

/// A principal's actions by what the analysis decided, for planning.
#[derive(Debug, Clone)]
pub(super) struct VerdictSets {
    /// Unused, not excluded: may be removed.
    pub remove: ActionSet,
    /// Used, unknown or excluded: must stay granted.
    pub needed: ActionSet,
    /// Unknown (a subset of `needed`).
    pub unknown: ActionSet,
}

/// The [`VerdictSets`] of the analysis principal `principal`, from its findings. Computed when
/// needed rather than for every principal up front: three catalog-wide bitsets per principal
/// (2.8 KB each with 22,000 actions) are 0.9 GB at 110,000 principals.
pub(super) fn verdict_sets_of(analysis: &Analysis<'_>, principal: usize) -> VerdictSets {
    let c = analysis.catalog;
    let mut s = VerdictSets {
        remove: c.empty_set(),
        needed: c.empty_set(),
        unknown: c.empty_set(),
    };
    for f in analysis.findings_of(principal) {
        // A finding's actions are sorted by id: added a word at a time.
        let ids = analysis.actions(f).iter().map(|a| a.id());
        if is_removable(f) {
            s.remove.insert_all(ids);
        } else {
            s.needed.insert_all(ids.clone());
            if f.status() == Status::Unknown {
                s.unknown.insert_all(ids);
            }
        }
    }
    s
}

/// Only `unused` findings no exclusion covers are removed.
pub fn is_removable(f: &Finding) -> bool {
    f.status() == Status::Unused && f.exclusion.is_none()
}

fn file_prefix(kind: PolicyKind) -> &'static str {
    match kind {
        PolicyKind::Inline => "inline",
        PolicyKind::CustomerManaged => "managed",
        PolicyKind::AwsManaged => "aws-managed",
    }
}

fn inline_limit(kind: PrincipalType) -> usize {
    match kind {
        PrincipalType::Role => limits::INLINE_ROLE,
        PrincipalType::User => limits::INLINE_USER,
        PrincipalType::Group => limits::INLINE_GROUP,
        PrincipalType::PermissionSet => limits::INLINE_PERMISSION_SET,
    }
}

/// IAM policy names are at most 128 characters of `[\w+=,.@-]`.
pub fn replacement_name(original: &str, principal: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "+=,.@-_".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    let name = format!("{}-tightened-{}", clean(original), clean(principal));
    if name.len() <= 128 {
        return name;
    }
    use sha2::Digest;
    let hash = sha2::Sha256::digest(name.as_bytes());
    let hex: String = hash.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("{}-{hex}", &name[..119])
}

/// [`replacement_name`] set apart from a policy of that name by number `n` (`-2`, `-3`, ...; `0`
/// is the name itself), cut to stay within 128 characters.
pub fn numbered_replacement_name(original: &str, principal: &str, n: u16) -> String {
    let mut name = replacement_name(original, principal);
    if n > 0 {
        let suffix = format!("-{n}");
        // The name is ASCII (`[\w+=,.@-]`): any length is a character boundary.
        name.truncate(128 - suffix.len());
        name.push_str(&suffix);
    }
    name
}

/// Per-principal inputs of [`plan_one`].
struct PlanInputs<'a> {
    exports: &'a [Export],
    org: Option<&'a Organization>,
    analysis: &'a Analysis<'a>,
    by_key: &'a ByKey<'a>,
    /// Each account's export (the first one, as a search in order would find).
    export_of: HashMap<&'a str, usize>,
    /// The first permission set of each name, in the analysis order.
    sets: HashMap<&'a str, &'a PrincipalInfo>,
}

/// The principals by (account, type, name), for a group's members: their indexes sorted by key,
/// found by binary search. A map of every principal took ~100 MB at 1,000,000 roles (a 48-byte
/// entry each, in a table sized to the next power of two), held through planning.
pub(super) struct ByKey<'a> {
    principals: &'a [PrincipalInfo],
    /// Every principal's index, by key then index.
    sorted: Vec<u32>,
}

impl<'a> ByKey<'a> {
    pub(super) fn new(principals: &'a [PrincipalInfo]) -> ByKey<'a> {
        // The analysis numbers its principals in 32 bits (a finding's `principal`).
        let mut sorted: Vec<u32> = (0..principals.len())
            .map_while(|i| u32::try_from(i).ok())
            .collect();
        let key = |i: u32| Self::key(&principals[i as usize]);
        sorted.sort_unstable_by(|&a, &b| key(a).cmp(&key(b)).then(a.cmp(&b)));
        ByKey { principals, sorted }
    }

    fn key(p: &PrincipalInfo) -> (&str, PrincipalType, &str) {
        (&p.account_id, p.kind, p.name())
    }

    /// The index of the principal `key` names (the last one, when several share it, as a map
    /// filled in index order keeps).
    pub(super) fn get(&self, key: (&str, PrincipalType, &str)) -> Option<usize> {
        let key_of = |i: u32| Self::key(&self.principals[i as usize]);
        let end = self.sorted.partition_point(|&i| key_of(i) <= key);
        let last = *self.sorted.get(end.checked_sub(1)?)?;
        (key_of(last) == key).then_some(last as usize)
    }
}

/// The plan of `info` before anything is decided: its verdict sets, nothing changed yet.
fn new_plan(index: usize, info: &PrincipalInfo, analysis: &Analysis<'_>) -> PrincipalPlan {
    let catalog = analysis.catalog;
    let VerdictSets {
        remove,
        needed,
        unknown,
    } = verdict_sets_of(analysis, index);
    PrincipalPlan {
        account_id: info.account_id.clone(),
        partition: String::new(),
        kind: info.kind,
        name: info.name().to_owned(),
        analysis_index: index,
        sets: super::PlanSets::new(super::Sets {
            remove,
            needed,
            before: catalog.empty_set(),
            after: catalog.empty_set(),
        }),
        policies: Vec::new(),
        skipped: None,
        flags: Vec::new(),
        permission_set: None,
        outcome: super::PlanOutcome {
            kept_unknown: super::count32(unknown.len()),
            ..Default::default()
        },
        documents_dropped: false,
    }
}

/// Why an IAM Identity Center role that no permission set of the exports owns gets no plan: the
/// organisation part is missing, or lists no set of the role's name provisioned to its account.
fn identity_center_role_flag(info: &PrincipalInfo, with_organisation: bool) -> String {
    let what = "an IAM Identity Center role (path /aws-reserved/sso.amazonaws.com/): Identity \
                Center rewrites it whenever it provisions the role's permission set, so the \
                change belongs to that permission set";
    match crate::model::permission_set_of_role(info.name()) {
        Some(set) if with_organisation => format!(
            "{what}; the organisation part lists no permission set {set} provisioned to account \
             {} (deleted since it was exported, or from an Identity Center \
             instance the organisation part lacks): review the account's assignments in \
             Identity Center",
            info.account_id
        ),
        _ => format!(
            "{what}; the exports do not name it (give the organisation part, `iam-tighten \
             fetch --organization`, for the permission set's own recommendation)"
        ),
    }
}

/// A group's policies are shared by its members: its plan removes only what every member agrees
/// on (each member's `used`, `unknown` or excluded actions are kept, and everything an
/// intentional-access member holds), and flags what a member keeps.
fn keep_what_members_need(
    plan: &mut PrincipalPlan,
    analysis: &Analysis<'_>,
    export: &Export,
    info: &PrincipalInfo,
    by_key: &ByKey<'_>,
) {
    for member in group_members(export, info.name()) {
        match by_key.get((&*info.account_id, member.kind, member.name.as_str())) {
            Some(m) => {
                let mut member_needed = verdict_sets_of(analysis, m);
                // Intentional access (a break-glass user) holds what it has in reserve: it
                // is confirmed, not narrowed through its group (as a managed policy attached
                // to it is not, `managed::tightened_documents`).
                let intentional = analysis
                    .principals
                    .get(m)
                    .and_then(|p| p.intentional.as_ref());
                if intentional.is_some() {
                    member_needed.needed.union_with(&member_needed.remove);
                }
                let member_needed = member_needed.needed;
                let mut user_needed = member_needed.clone();
                user_needed.intersect_with(&plan.sets.remove);
                if !user_needed.is_empty() {
                    plan.flag(match intentional {
                        Some(i) => format!(
                            "{} unused action(s) of the group are kept because member user {} is intentional access (rule {}) and holds them through the group: confirm it; to tighten the group, take {} out of it first (or change the rule)",
                            user_needed.len(),
                            member.name,
                            i.rule,
                            member.name
                        ),
                        None => format!(
                            "{} unused action(s) of the group are kept because member user {} needs them",
                            user_needed.len(),
                            member.name
                        ),
                    });
                }
                plan.sets.remove.difference_with(&member_needed);
            }
            None => plan.sets.remove = analysis.catalog.empty_set(),
        }
    }
}

/// The plan of one principal (before the cross-principal decisions and verification).
fn plan_one<'e>(
    index: usize,
    info: &PrincipalInfo,
    inputs: &PlanInputs<'e>,
    expander: &mut Expander<'_>,
    cache: &mut GrantCache<'e>,
) -> PrincipalPlan {
    let PlanInputs {
        exports,
        org,
        analysis,
        by_key,
        export_of,
        sets,
    } = inputs;
    let mut plan = new_plan(index, info, analysis);
    if info.kind == PrincipalType::PermissionSet {
        match org {
            Some(org) => {
                let uncatalogued = analysis.uncatalogued_of(index);
                let set = super::permission_set::SetInputs {
                    org,
                    exports,
                    uncatalogued: &uncatalogued,
                };
                super::permission_set::plan_set(&mut plan, info, &set, expander);
                // The set's AWS managed policies are the same in every account, but exports
                // fetched at other times may hold other versions: the newest.
                let policy = |arn: &str| {
                    exports
                        .iter()
                        .filter_map(|e| e.policies.get(arn))
                        .max_by_key(|m| m.newest_version_date())
                };
                flag_recent_versions(&mut plan, policy, window_start(info, analysis));
            }
            None => plan.skipped = Some("permission_set_not_found".into()),
        }
        return plan;
    }
    let Some(&ei) = export_of.get(&*info.account_id) else {
        plan.skipped = Some("export_not_found".into());
        return plan;
    };
    let export = &exports[ei];
    plan.partition.clone_from(&export.partition);
    let Some(principal) = export.principal(info.kind, info.name()) else {
        plan.skipped = Some("principal_not_found".into());
        return plan;
    };
    let grants = principal_grants_cached(principal, export, expander, cache);
    plan.sets.before = grants.effective.clone();
    plan.sets.after = grants.effective.clone();
    if !info.actionable {
        match &info.permission_set {
            Some(set) => {
                // Identity Center overwrites the role: the change is the permission set's.
                plan.skipped = Some("managed_by_permission_set".into());
                let owner = sets
                    .get(&**set)
                    .map_or(String::new(), |p| format!(" of account {}", p.account_id));
                plan.flag(format!(
                    "managed by IAM Identity Center permission set {set}: Identity Center rewrites this role whenever it provisions the set, so the change is made to the permission set (permission_set {set}{owner}), for every account it is provisioned to at once"
                ));
            }
            None if info
                .flags
                .contains(&crate::analysis::MANAGED_BY_IDENTITY_CENTER) =>
            {
                plan.skipped = Some(crate::analysis::MANAGED_BY_IDENTITY_CENTER.into());
                plan.flag(identity_center_role_flag(info, org.is_some()));
            }
            None => plan.skipped = Some("service_linked".into()),
        }
        return plan;
    }
    if info.kind == PrincipalType::Group {
        keep_what_members_need(&mut plan, analysis, export, info, by_key);
    }
    if plan.sets.remove.is_empty() {
        plan.skipped = Some("nothing_to_remove".into());
        return plan;
    }
    let mut keep = grants.effective.clone();
    keep.difference_with(&plan.sets.remove);
    let mut uncatalogued = analysis.uncatalogued_of(index);
    if info.kind == PrincipalType::Group {
        // What a member used that the catalog does not know it may use through the group.
        for member in group_members(export, info.name()) {
            if let Some(m) = by_key.get((&*info.account_id, member.kind, member.name.as_str())) {
                uncatalogued.extend(analysis.uncatalogued_of(m));
            }
        }
        uncatalogued.sort_unstable();
        uncatalogued.dedup();
    }
    let ctx = (&grants, &keep, &uncatalogued[..]);
    build_policies(&mut plan, export, principal, ctx, expander);
    flag_recent_versions(
        &mut plan,
        |arn| export.policies.get(arn),
        window_start(info, analysis),
    );
    note_group_policies(&mut plan, &grants);
    if plan.policies.is_empty() {
        let via_group = grants.allows.iter().any(|g| {
            grants.policy(g).via_group.is_some() && g.actions.intersects(&plan.sets.remove)
        });
        plan.skipped = Some(
            if via_group {
                "granted_through_groups_only"
            } else {
                "nothing_to_remove"
            }
            .into(),
        );
    }
    plan
}

/// Decides, without writing anything, the recommendation of every principal of the analysis.
pub fn plan(exports: &[Export], analysis: &Analysis<'_>) -> Vec<PrincipalPlan> {
    plan_organization(exports, None, analysis)
}

/// [`plan`] with the organisation part the analysis ran with: each IAM Identity Center
/// permission set of the analysis gets one plan for every account it is provisioned to.
pub fn plan_organization(
    exports: &[Export],
    org: Option<&Organization>,
    analysis: &Analysis<'_>,
) -> Vec<PrincipalPlan> {
    let exports = PlanExports::Borrowed(exports);
    let planned = plan_with_folders(exports, org, analysis, None, None, &mut |_, _| {});
    // Borrowed exports are never read again: planning them cannot fail.
    planned.map(|(plans, _)| plans).unwrap_or_default()
}

/// Plans and verifies every principal, and chooses which plans get a folder: at most `folders`
/// (`None`: every plan with something to change), those with the highest score, ties by account,
/// type and name. Returns the plans in the analysis order and, per plan, whether it gets a folder.
/// `verified_hook` runs on each plan once it is verified and its outcome taken.
///
/// Principals are planned a batch at a time ([`batches`]): the permission sets first (they read
/// every export), then the exports in order, on every core, each thread with its own expander
/// and grant cache for the batch. Once a batch's plans are made, its customer managed policies
/// are decided across its principals ([`decide_managed`] reads one account's plans at a time), and
/// owned exports ([`PlanExports::Owned`]) are freed: a large organisation's parsed exports are then
/// never all held beside every plan (at 1,000,000 roles they were ~3 GB of planning's peak).
///
/// A plan keeps its documents only while it is among the first `folders` recommended plans of
/// the folder order planned so far; the others drop them as soon as they are verified
/// ([`PrincipalPlan::documents_dropped`]): at 100,000 roles the documents were most of the
/// planning stage's memory, and nothing but a folder reads them. The plans that end with their
/// documents are those that get a folder, whatever order the threads finish in.
///
/// Owned exports whose principals and policies were dropped ([`Details::Dropped`]) are read
/// again a batch at a time, just before the batch is planned (every one of them before the
/// permission sets, which read every export); `visit` sees each export once, by index, while
/// it holds them. Borrowed exports must hold theirs (they are never read again), so only owned
/// exports can fail: a file changed since it was loaded.
pub(super) fn plan_with_folders(
    exports: PlanExports<'_>,
    org: Option<&Organization>,
    analysis: &Analysis<'_>,
    folders: Option<usize>,
    verified_hook: Option<fn(&mut PrincipalPlan)>,
    visit: &mut dyn FnMut(usize, &Export),
) -> Result<(Vec<PrincipalPlan>, Vec<bool>)> {
    let batch = BATCH_PRINCIPALS;
    plan_with_folders_in(exports, org, analysis, folders, verified_hook, batch, visit)
}

/// [`plan_with_folders`] with batches of about `batch` principals.
fn plan_with_folders_in(
    mut exports: PlanExports<'_>,
    org: Option<&Organization>,
    analysis: &Analysis<'_>,
    folders: Option<usize>,
    verified_hook: Option<fn(&mut PrincipalPlan)>,
    batch: usize,
    visit: &mut dyn FnMut(usize, &Export),
) -> Result<(Vec<PrincipalPlan>, Vec<bool>)> {
    let principals = &analysis.principals;
    let by_key = ByKey::new(principals);
    let mut sets = HashMap::new();
    for p in principals {
        if p.kind == PrincipalType::PermissionSet {
            sets.entry(p.name()).or_insert(p);
        }
    }
    let batches = batches(exports.get(), principals, batch);
    // Each principal's place in the folder order: highest score first, ties by account, type
    // and name.
    let mut order: Vec<usize> = (0..principals.len()).collect();
    order.sort_by(|a, b| {
        let (pa, pb) = (&principals[*a], &principals[*b]);
        pb.score.cmp(&pa.score).then_with(|| {
            (&pa.account_id, pa.kind, &pa.name()).cmp(&(&pb.account_id, pb.kind, &pb.name()))
        })
    });
    let mut place = vec![0usize; principals.len()];
    for (k, &i) in order.iter().enumerate() {
        place[i] = k;
    }
    drop(order);
    let cap = folders.unwrap_or(usize::MAX);
    let mut slots: Vec<Option<PrincipalPlan>> = (0..principals.len()).map(|_| None).collect();
    // The recommended plans that would get a folder if planning stopped here (at most `cap`,
    // by place): only they keep their documents.
    let mut best: BTreeSet<(usize, usize)> = BTreeSet::new();
    for batch in &batches {
        exports.hold_for(batch, principals, visit)?;
        let all = exports.get();
        let inputs = PlanInputs {
            exports: all,
            org,
            analysis,
            by_key: &by_key,
            export_of: export_index(all),
            sets: sets.clone(),
        };
        let catalog = analysis.catalog;
        crate::parallel::stream_indexed(
            batch.principals.len(),
            || (Expander::new(catalog), GrantCache::new()),
            |(expander, cache), k| {
                let i = batch.principals[k];
                let plan = plan_one(i, &principals[i], &inputs, expander, cache);
                let mut plan = verified(plan, all, &inputs.export_of, org, expander, cache);
                plan.outcome = super::PlanOutcome::of(&plan, analysis);
                if let Some(hook) = verified_hook {
                    hook(&mut plan);
                }
                plan
            },
            |k, mut plan| {
                let i = batch.principals[k];
                if !super::is_recommended(&plan) || cap == 0 {
                    drop_documents(&mut plan);
                    slots[i] = Some(plan);
                    return true;
                }
                slots[i] = Some(plan);
                best.insert((place[i], i));
                // Past `cap`, the last by place can no longer get a folder (it may be this one).
                if best.len() > cap
                    && let Some((_, j)) = best.pop_last()
                    && let Some(out) = slots[j].as_mut()
                {
                    drop_documents(out);
                }
                true
            },
        );
        drop(inputs);
        if let Some(range) = batch.exports.clone() {
            // Every plan of these exports' accounts is made: the cross-principal decisions on
            // their customer managed policies, then the exports are no longer read.
            let mut plans: Vec<PrincipalPlan> = batch
                .principals
                .iter()
                .filter_map(|&i| slots[i].take())
                .collect();
            decide_managed(&mut plans, &exports.get()[range.clone()], analysis);
            super::quota::flag_quota(&mut plans, &exports.get()[range.clone()]);
            for (&i, plan) in batch.principals.iter().zip(plans) {
                slots[i] = Some(plan);
            }
            exports.free(range);
        }
        // The batch's exports (read again or held) and its plans' documents are freed: given
        // back now rather than after jemalloc's ~10 s decay, by which time several batches'
        // worth of freed pages were held beside the next batches.
        crate::memory::purge();
    }
    let mut folder = vec![false; principals.len()];
    for (_, i) in best {
        folder[i] = true;
    }
    // Every slot holds its plan. `filter_map` collects in place where `flatten` allocates a
    // second vector of every plan (~60 MB at 100,000 roles, the peak of the whole run).
    #[allow(clippy::filter_map_identity)]
    let plans: Vec<PrincipalPlan> = slots.into_iter().filter_map(|plan| plan).collect();
    Ok((plans, folder))
}

/// The exports planning reads: borrowed, or owned and freed as soon as their principals are
/// planned ([`plan_with_folders`]).
pub(super) enum PlanExports<'a> {
    Borrowed(&'a [Export]),
    Owned(Vec<Export>),
}

impl PlanExports<'_> {
    fn get(&self) -> &[Export] {
        match self {
            PlanExports::Borrowed(e) => e,
            PlanExports::Owned(e) => e,
        }
    }

    /// Makes the exports `batch` plans from hold their principals and policies: its own, read
    /// again and shown to `visit`, or every one when it plans permission sets (they read every
    /// export).
    fn hold_for(
        &mut self,
        batch: &Batch,
        principals: &[PrincipalInfo],
        visit: &mut dyn FnMut(usize, &Export),
    ) -> Result<()> {
        match batch.exports.clone() {
            Some(range) => {
                self.read_again(range.clone())?;
                for i in range {
                    visit(i, &self.get()[i]);
                }
            }
            None if batch
                .principals
                .iter()
                .any(|&i| principals[i].kind == PrincipalType::PermissionSet) =>
            {
                self.read_again(0..self.get().len())?
            }
            None => {}
        }
        Ok(())
    }

    /// Reads again the principals and policies the owned exports of `range` dropped, in parallel
    /// (the AWS managed policy documents shared among them, as when loaded).
    fn read_again(&mut self, range: std::ops::Range<usize>) -> Result<()> {
        let PlanExports::Owned(exports) = self else {
            debug_assert!(
                self.get().iter().all(|e| e.details != Details::Dropped),
                "borrowed exports cannot be read again"
            );
            return Ok(());
        };
        let documents = crate::input::SharedDocuments::default();
        let cells: Vec<std::sync::Mutex<&mut Export>> = exports
            .get_mut(range)
            .into_iter()
            .flatten()
            .filter(|e| e.details == Details::Dropped)
            .map(std::sync::Mutex::new)
            .collect();
        crate::parallel::map_indexed(
            cells.len(),
            || (),
            |(), i| {
                let mut export = cells[i]
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                crate::input::reload_details(&mut export, &documents)
            },
        )
        .into_iter()
        .collect()
    }

    /// Frees what the exports of `range` hold, when owned (their account ids stay).
    fn free(&mut self, range: std::ops::Range<usize>) {
        if let PlanExports::Owned(exports) = self {
            for e in exports.get_mut(range).into_iter().flatten() {
                e.principals = Vec::new();
                e.policies = Default::default();
                e.last_accessed = Default::default();
                e.credential_report = None;
            }
        }
    }
}

/// Principals planned together, and the exports (a range) none but they read.
#[derive(Default)]
struct Batch {
    principals: Vec<usize>,
    exports: Option<std::ops::Range<usize>>,
}

/// About how many principals are planned between two frees of exports: each batch's threads
/// expand the AWS managed policies they meet again (a grant cache borrows its exports), so a
/// batch is large enough for that to be rare, and small enough that the exports it holds are a
/// small part of a large organisation's. At 100,000 roles (100 exports) batches of 65,536 held
/// 60 exports beside the first batch's plans, the run's peak (1.19 GB); with 16,384 the peak is
/// 1.09-1.12 GB, in the writers, and planning took no longer (two runs each, alternated).
const BATCH_PRINCIPALS: usize = 16_384;

/// Planning's batches: first the principals that read every export or none (permission sets,
/// principals of an account without an export), then the others by export, exports in order,
/// each batch ending with its last export's principals once it holds `size` principals.
/// Exports are loaded sorted by account, one per account; the analysis's principals are sorted
/// by account too, so an export's principals are planned together (a principal is planned
/// against the first export of its account, as [`export_index`] finds it).
fn batches(exports: &[Export], principals: &[PrincipalInfo], size: usize) -> Vec<Batch> {
    let export_of = export_index(exports);
    let mut first = Vec::new();
    let mut by_export: Vec<Vec<usize>> = vec![Vec::new(); exports.len()];
    for (i, p) in principals.iter().enumerate() {
        match export_of.get(&*p.account_id) {
            Some(&e) if p.kind != PrincipalType::PermissionSet => by_export[e].push(i),
            _ => first.push(i),
        }
    }
    let mut batches = vec![Batch {
        principals: first,
        exports: None,
    }];
    let mut current = Batch::default();
    for (e, list) in by_export.into_iter().enumerate() {
        current.principals.extend(list);
        let start = current.exports.as_ref().map_or(e, |r| r.start);
        current.exports = Some(start..e + 1);
        if current.principals.len() >= size {
            batches.push(std::mem::take(&mut current));
        }
    }
    if current.exports.is_some() {
        batches.push(current);
    }
    batches
}

/// Each account's export index: the first export of the account, as a search in order finds it
/// (a search per principal was O(accounts) each, at 1,000 accounts a billion comparisons).
pub(super) fn export_index(exports: &[Export]) -> HashMap<&str, usize> {
    let mut index = HashMap::with_capacity(exports.len());
    for (i, e) in exports.iter().enumerate() {
        index.entry(e.account_id.as_str()).or_insert(i);
    }
    index
}

/// `plan`, verified: a plan that fails is not recommended (a bug, reported loudly). The digest of
/// each tightened document is taken here, before the documents may be dropped.
fn verified<'e>(
    mut plan: PrincipalPlan,
    exports: &'e [Export],
    export_of: &HashMap<&str, usize>,
    org: Option<&Organization>,
    expander: &mut Expander<'_>,
    cache: &mut GrantCache<'e>,
) -> PrincipalPlan {
    if plan.skipped.is_some() {
        return plan;
    }
    let result = if plan.permission_set.is_some() {
        org.map(|org| super::permission_set::verify_permission_set(exports, org, &plan, expander))
    } else {
        export_of
            .get(&*plan.account_id)
            .map(|&i| verify_cached(&exports[i], &plan, expander, cache))
    };
    let Some((problems, after)) = result else {
        return plan;
    };
    plan.sets.after = after;
    if !problems.is_empty() {
        plan.skipped = Some(format!("verification_failed: {}", problems.join("; ")));
        plan.policies.clear();
        plan.sets.after = plan.sets.before.clone();
    }
    // Only customer managed policies are compared across principals (`decide_managed`).
    for p in &mut plan.policies {
        if p.policy.kind == PolicyKind::CustomerManaged {
            use sha2::Digest;
            p.tightened_digest = super::Digest::of(
                sha2::Sha256::digest(p.tightened.parts.document.to_string()).into(),
            );
        }
    }
    plan
}

/// Drops what only a folder reads: every policy's documents, and the sets (kept: names, sizes,
/// flags, and the sets' [`super::PlanOutcome`], which summary and decisions read).
fn drop_documents(plan: &mut PrincipalPlan) {
    if plan.documents_dropped {
        return;
    }
    for p in &mut plan.policies {
        p.drop_documents();
        // The document, the sets and the wildcards expanded (which only a folder's README
        // names: ~1.2 KB a principal at 300 accounts × 100 roles), and their room.
        p.tightened.parts.drop_all();
    }
    // Only planning, verification and a folder read the sets themselves.
    plan.sets.drop_all();
    // The list was grown by pushes: give back its spare capacity (at 100,000 roles the plans'
    // policy lists were 360 MB at the report's peak, a third of it unused capacity).
    plan.policies.shrink_to_fit();
    plan.documents_dropped = true;
}

/// Flags each managed policy the plan changes whose newest version is dated within the window
/// (`ManagedPolicy::newest_version_date`; AWS updates its own policies too) while the export
/// lacks some of its versions (`ManagedPolicy::versions_complete`): an action added after a
/// deleted version had less than the window to be used, so "unused" may only mean "new". With
/// every version listed, the versions date each action (`policy::versions`), and what a recent
/// version added is `grant_too_new`. ([`Flag::RecentVersion`]; an inline policy or an attachment
/// has no date in the export: docs/methodology.md names that limit.)
fn flag_recent_versions<'e>(
    plan: &mut PrincipalPlan,
    policy: impl Fn(&str) -> Option<&'e std::sync::Arc<crate::model::ManagedPolicy>>,
    since: Option<crate::model::Timestamp>,
) {
    let Some(since) = since else {
        return;
    };
    let mut flags = Vec::new();
    for (i, p) in plan.policies.iter().enumerate() {
        if p.policy.kind == PolicyKind::Inline {
            continue;
        }
        // A policy whose export lists all its versions has its actions dated by them (a recent
        // version's additions are `grant_too_new`): nothing is left to check.
        let updated = p.policy.arn.as_deref().and_then(&policy);
        let updated = updated.filter(|m| !m.versions_complete());
        let date = updated.and_then(|m| m.newest_version_date());
        if let Some(date) = date.filter(|t| *t >= since) {
            flags.push(Flag::RecentVersion {
                policy: crate::recommend::count32(i),
                date,
            });
        }
    }
    for f in flags {
        plan.flags.push(f);
    }
}

/// Where the window of the principal `info` starts (its as-of time less the window's days).
fn window_start(info: &PrincipalInfo, analysis: &Analysis<'_>) -> Option<crate::model::Timestamp> {
    info.as_of
        .and_then(|t| crate::model::days_before(t, analysis.settings.unused_after_days))
}

/// `(grants, keep, uncatalogued)`: the principal's grants, what a rewritten wildcard may list,
/// and what it used that the catalog does not know ([`tighten`]).
fn build_policies(
    plan: &mut PrincipalPlan,
    export: &Export,
    principal: &Principal,
    (grants, keep, uncatalogued): (&PrincipalGrants, &ActionSet, &[&str]),
    expander: &mut Expander<'_>,
) {
    let mut stems = BTreeSet::new();
    for policy in &grants.policies {
        if policy.boundary || policy.via_group.is_some() {
            continue;
        }
        let Some(doc) = document_of(export, principal, policy) else {
            continue;
        };
        let t = tighten(doc, &plan.sets.remove, keep, uncatalogued, expander);
        if !t.changed {
            continue;
        }
        let new_document = match PolicyDocument::from_value(t.parts.document.clone()) {
            Ok(d) => d,
            Err(e) => {
                plan.flag(format!(
                    "{}: the tightened document does not parse ({e}); left as is",
                    policy.name
                ));
                continue;
            }
        };
        let mut stem = format!(
            "{}-{}",
            file_prefix(policy.kind),
            safe_file_name(&policy.name)
        );
        let base = stem.clone();
        let mut n = 2;
        while !stems.insert(stem.to_lowercase()) {
            stem = format!("{base}-{n}");
            n += 1;
        }
        let apply = match (policy.kind, t.empty) {
            (PolicyKind::Inline, true) => Apply::DeleteInline,
            (PolicyKind::Inline, false) => Apply::PutInline,
            (_, true) => Apply::Detach,
            // Decided across principals in `decide_managed`.
            (_, false) => Apply::NewVersion {
                previous_default: None,
            },
        };
        let size = iam_size(&t.parts.document);
        plan.policies.push(PolicyPlan {
            policy: policy.clone(),
            tightened: t,
            documents: Some(Box::new(PolicyDocuments {
                original: original_of(export, policy, doc),
                new_document,
            })),
            apply,
            stem: stem.into(),
            size,
            limit: limits::MANAGED,
            tightened_digest: super::Digest::default(),
        });
    }
    enforce_limits(plan, principal, expander);
}

/// Minimises documents that exceed IAM's limits, and flags those that still do.
fn enforce_limits(plan: &mut PrincipalPlan, principal: &Principal, expander: &mut Expander<'_>) {
    // Inline: the principal's inline policies together.
    let inline_limit = inline_limit(plan.kind);
    let unchanged_inline: usize = principal
        .inline_policies
        .iter()
        .filter(|i| {
            !plan
                .policies
                .iter()
                .any(|p| p.policy.kind == PolicyKind::Inline && p.policy.name == i.name)
        })
        .map(|i| iam_size_of(&i.document.raw))
        .sum();
    let changed_inline: usize = plan
        .policies
        .iter()
        .filter(|p| p.policy.kind == PolicyKind::Inline && !p.tightened.empty)
        .map(|p| p.size)
        .sum();
    let inline_over = unchanged_inline + changed_inline > inline_limit;
    let remove = plan.sets.remove.clone();
    for p in &mut plan.policies {
        if p.tightened.empty {
            continue;
        }
        let over = match p.policy.kind {
            PolicyKind::Inline => inline_over,
            _ => p.size > limits::MANAGED,
        };
        if over && minimise(&mut p.tightened, &remove, expander) {
            p.size = iam_size(&p.tightened.parts.document);
            if let Ok(d) = PolicyDocument::from_value(p.tightened.parts.document.clone()) {
                p.documents_mut().new_document = d;
            }
        }
        p.limit = match p.policy.kind {
            PolicyKind::Inline => inline_limit.saturating_sub(unchanged_inline),
            _ => limits::MANAGED,
        };
    }
    let inline_total: usize = unchanged_inline
        + plan
            .policies
            .iter()
            .filter(|p| p.policy.kind == PolicyKind::Inline && !p.tightened.empty)
            .map(|p| p.size)
            .sum::<usize>();
    let flags = &mut plan.flags;
    for p in &plan.policies {
        if p.tightened.minimised {
            flags.push(Flag::from(format!(
                "{}: over IAM's size limit with explicit action lists; collapsed into wildcards that match only actions the original granted and none that is removed",
                p.policy.name
            )));
        }
        if p.policy.kind != PolicyKind::Inline && !p.tightened.empty && p.size > limits::MANAGED {
            flags.push(Flag::from(format!(
                "{}: {} characters, over the managed policy limit of {}; split it into several policies by hand before applying",
                p.policy.name,
                p.size,
                limits::MANAGED
            )));
        }
        if !p.tightened.parts.uncatalogued_kept.is_empty() {
            flags.push(Flag::from(format!(
                "{}: keeps {}: used within the window by AWS's last-accessed data but not in the catalog (newer than it?), so the wildcard or NotAction that granted them is replaced by a list that still names them",
                p.policy.name,
                p.tightened.parts.uncatalogued_kept.join(", ")
            )));
        }
        let not_action = p.tightened.not_action_flags(&p.policy.name);
        flags.extend(not_action.into_iter().map(Flag::from));
    }
    if inline_total > inline_limit {
        plan.flag(format!(
            "inline policies total {inline_total} characters, over the {} limit of {inline_limit}; move some statements into a managed policy before applying",
            plan.kind
        ));
    }
}

/// Removed actions still granted through a group's policy (groups are recommended on their own).
fn note_group_policies(plan: &mut PrincipalPlan, grants: &PrincipalGrants) {
    let mut via: BTreeSet<&str> = BTreeSet::new();
    for g in &grants.allows {
        let p = grants.policy(g);
        if let Some(group) = &p.via_group
            && g.actions.intersects(&plan.sets.remove)
        {
            via.insert(group.as_str());
        }
    }
    for group in via {
        plan.flag(format!(
            "group {group} also grants unused actions; group policies are shared by every member, so they are changed only in the group's own recommendation (when every member agrees)"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A numbered copy name stays within IAM's 128 characters, ends with its number, and differs
    /// from the usual name and from every other number's, for short and for the longest names.
    #[test]
    fn numbered_copy_names_are_distinct_and_short_enough() {
        let long = "p".repeat(128);
        for (policy, principal) in [("ReadOnly", "a"), (long.as_str(), "role"), ("x", &long)] {
            let usual = replacement_name(policy, principal);
            assert_eq!(numbered_replacement_name(policy, principal, 0), usual);
            let mut seen = BTreeSet::from([usual]);
            for n in [2, 3, 10, 999, u16::MAX] {
                let name = numbered_replacement_name(policy, principal, n);
                assert!(name.len() <= 128, "{name}");
                assert!(name.ends_with(&format!("-{n}")), "{name}");
                assert!(seen.insert(name.clone()), "{name}");
            }
        }
    }

    /// Planned in batches of any size, the owned exports freed after each batch, the plans and
    /// folders are those of one batch of every export; and the folders go to the first
    /// `folders` recommended plans by score, then account, type and name.
    /// `ByKey` finds what a map of every principal by (account, type, name) finds, the last
    /// principal of a key included, and nothing for a key no principal has.
    #[test]
    fn by_key_finds_what_a_map_finds() {
        let (_, _, an) = crate::sample_organization();
        let mut principals = an.principals.clone();
        principals.extend(an.principals.iter().step_by(3).cloned());
        let map: HashMap<(&str, PrincipalType, &str), usize> = principals
            .iter()
            .enumerate()
            .map(|(i, p)| ((&*p.account_id, p.kind, p.name()), i))
            .collect();
        let by_key = ByKey::new(&principals);
        assert!(map.len() < principals.len());
        for (key, i) in &map {
            assert_eq!(by_key.get(*key), Some(*i), "{key:?}");
        }
        let p = &principals[0];
        for missing in [
            (&*p.account_id, p.kind, "no-such-principal"),
            ("000000000000", p.kind, p.name()),
            ("", PrincipalType::User, ""),
            ("~", PrincipalType::Group, "~"),
        ] {
            assert_eq!(by_key.get(missing), None, "{missing:?}");
        }
    }

    #[test]
    fn batches_plan_what_one_batch_plans() {
        let (exports, org, an) = crate::sample_organization();
        let org = org.as_ref();
        let text =
            |(plans, folder): &(Vec<PrincipalPlan>, Vec<bool>)| format!("{plans:?}{folder:?}");
        for folders in [None, Some(0), Some(1), Some(2), Some(5)] {
            let whole = PlanExports::Borrowed(&exports);
            let none = &mut |_: usize, _: &Export| {};
            let whole = plan_with_folders_in(whole, org, &an, folders, None, usize::MAX, none);
            let whole = whole.unwrap();
            for size in [1, 2, 3, 7] {
                let owned = PlanExports::Owned(exports.clone());
                let got = plan_with_folders_in(owned, org, &an, folders, None, size, none);
                assert_eq!(
                    text(&got.unwrap()),
                    text(&whole),
                    "{folders:?} folders, batches of {size}"
                );
            }
            let (plans, folder) = whole;
            let mut recommended: Vec<usize> = (0..plans.len())
                .filter(|&i| super::super::is_recommended(&plans[i]))
                .collect();
            let p = &an.principals;
            recommended.sort_by_key(|&i| {
                let p = &p[i];
                (std::cmp::Reverse(p.score), &p.account_id, p.kind, p.name())
            });
            recommended.truncate(folders.unwrap_or(usize::MAX));
            let expected: Vec<bool> = (0..plans.len()).map(|i| recommended.contains(&i)).collect();
            assert_eq!(folder, expected, "{folders:?} folders");
            assert!(
                plans
                    .iter()
                    .zip(&folder)
                    .all(|(p, f)| p.documents_dropped != *f)
            );
        }
    }

    /// Owned exports whose principals and policies were dropped are read again a batch at a
    /// time (all of them before the permission sets, with the organisation part), giving the
    /// plans of exports that held theirs; `visit` sees each export once, in order, holding
    /// them. A file changed since loading fails planning.
    #[test]
    fn exports_read_again_plan_what_held_exports_plan() {
        let (exports, org, an) = crate::sample_organization();
        let text =
            |(plans, folder): &(Vec<PrincipalPlan>, Vec<bool>)| format!("{plans:?}{folder:?}");
        let dropped = || -> Vec<Export> {
            let mut e = exports.clone();
            for x in &mut e {
                x.principals = Vec::new();
                x.policies = Default::default();
                x.details = Details::Dropped;
            }
            e
        };
        for org in [org.as_ref(), None] {
            let none = &mut |_: usize, _: &Export| {};
            let whole = PlanExports::Borrowed(&exports);
            let whole = plan_with_folders_in(whole, org, &an, None, None, usize::MAX, none);
            let whole = whole.unwrap();
            assert!(whole.0.iter().any(|p| !p.policies.is_empty()));
            for size in [1, 2, usize::MAX] {
                let mut seen = Vec::new();
                let visit = &mut |i: usize, e: &Export| {
                    assert!(!e.principals.is_empty(), "export {i} visited without them");
                    seen.push(i);
                };
                let owned = PlanExports::Owned(dropped());
                let got = plan_with_folders_in(owned, org, &an, None, None, size, visit);
                let with = if org.is_some() { "with" } else { "without" };
                assert_eq!(
                    text(&got.unwrap()),
                    text(&whole),
                    "batches of {size}, {with} the organisation"
                );
                assert_eq!(seen, (0..exports.len()).collect::<Vec<_>>());
            }
        }
        let mut gone = dropped();
        gone[1]
            .files
            .retain(|f| f.path != crate::input::AUTHORIZATION_DETAILS);
        let none = &mut |_: usize, _: &Export| {};
        let planned =
            plan_with_folders_in(PlanExports::Owned(gone), None, &an, None, None, 1, none);
        let err = planned.expect_err("a file not the one loaded").to_string();
        assert!(err.contains("authorization-details.json"), "{err}");
    }
}
