//! What the analysis produces: plain structs, no polars. Renderers, `diff`, `recommend` and the
//! tests read these.

use std::num::{NonZeroU16, NonZeroU32};
use std::sync::Arc;

use serde::Serialize;

use super::Settings;
use super::collect::Interner;
use super::config::{Config, ExclusionId, ExclusionRule};
use super::groups::{ActionList, ActionLists, GrantedAction, ListId};
use super::intentional::IntentionalMatch;
use super::lists::ByService;
use super::reason::{Reason, Status};
use super::sensitivity::{ActionRisk, Sensitivity};
use crate::catalog::{ActionId, Catalog};
use crate::model::{InputFile, PrincipalType, Timestamp, Warning};
use crate::policy::{PolicyKind, PolicyRef};

/// How an export's as-of time was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AsOfSource {
    /// `--as-of`.
    Flag,
    /// The newest `JobCompletionDate` (or the manifest time).
    Export,
    /// No time in the export: every verdict is `unknown`.
    None,
}

/// Per-export metadata for the report header.
#[derive(Debug, Clone, Serialize)]
pub struct ExportInfo {
    pub account_id: String,
    pub partition: String,
    pub path: String,
    pub as_of: Option<Timestamp>,
    pub as_of_source: AsOfSource,
    pub window_start: Option<Timestamp>,
    pub principals: usize,
    pub has_credential_report: bool,
    pub files: Vec<InputFile>,
    /// What `manifest.json` says, when the export has one (exports made with the AWS CLI have
    /// none).
    pub manifest: Option<ManifestFacts>,
}

/// The audit facts of an export's `manifest.json`.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestFacts {
    /// The tool that wrote the export (`iam-tighten fetch 0.1.0`).
    pub tool: Option<String>,
    /// When the export was written.
    pub created: Option<Timestamp>,
    /// Files whose SHA-256 the manifest records, every one checked (a mismatch stops the run).
    pub files_verified: usize,
}

/// The organisation part's facts, for the report's scope section and report.json.
#[derive(Debug, Clone, Serialize)]
pub struct OrganizationInfo {
    pub id: String,
    pub management_account: String,
    pub path: String,
    /// Accounts the organisation lists.
    pub accounts: usize,
    /// `SCP name (targets)` per control policy, sorted.
    pub control_policies: Vec<ControlPolicyInfo>,
    /// Permission sets with the accounts they are provisioned to and how many of their roles
    /// the exports hold.
    pub permission_sets: Vec<PermissionSetInfo>,
    pub files: Vec<InputFile>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ControlPolicyInfo {
    /// `SCP` or `RCP`.
    pub kind: &'static str,
    pub name: String,
    pub id: String,
    pub aws_managed: bool,
    /// Where it is attached, as `root Root`, `OU Sandbox`, `account 111111111111`.
    pub attached_to: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PermissionSetInfo {
    pub name: String,
    pub arn: String,
    pub accounts: Vec<String>,
    /// Provisioned accounts whose role the exports hold with last-accessed data.
    pub accounts_with_data: Vec<String>,
    /// The customer managed policies it references (`CustomerManagedPolicyReferences`, and its
    /// permissions boundary's): each account it is provisioned to needs them.
    #[serde(skip)]
    pub customer_managed_policies: Vec<crate::model::organization::PolicyReference>,
}

/// A warning with the account it came from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct AccountWarning {
    pub account_id: String,
    #[serde(flatten)]
    pub warning: Warning,
}

/// A policy that grants something to a principal: 32 bytes (~2.8 million at 1,000,000 roles,
/// held to the last writer). Its name and the group it comes through are its label's
/// ([`Analysis::label`]: `name`, `via_group`), not held here (they took 32 bytes of each).
#[derive(Debug, Clone)]
pub struct PolicyInfo {
    pub kind: PolicyKind,
    pub arn: Option<Arc<str>>,
    /// The permissions boundary: it limits what the other policies grant and grants nothing.
    pub boundary: bool,
    /// How many effective grants this policy contributes to (at most the catalog's actions,
    /// fewer than 2^32: 8 bytes less in each of ~2.8 million at 1,000,000 roles).
    pub grants: u32,
    /// How many of those are unused (and not excluded).
    pub unused: u32,
    /// Its label in `Analysis::labels`: its kind, name, group and whether it is a boundary.
    pub label: LabelId,
}

/// Index into [`Analysis::labels`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct LabelId(pub u32);

/// Index into [`Analysis::granted_by`]: the policies that grant a finding's actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct GrantedById(pub u32);

/// How a granting policy is named in outputs: `inline:Name`, `managed:Name` (customer managed),
/// `aws:Name` (AWS managed) or `boundary:Name`, prefixed with `group:G/` when the principal gets it
/// through group `G`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PolicyLabel {
    pub kind: PolicyKind,
    pub name: String,
    pub via_group: Option<String>,
    pub boundary: bool,
}

impl PolicyLabel {
    pub fn of(p: &PolicyRef) -> PolicyLabel {
        PolicyLabel {
            kind: p.kind,
            name: p.name.clone(),
            via_group: p.via_group.clone(),
            boundary: p.boundary,
        }
    }
}

impl std::fmt::Display for PolicyLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(g) = &self.via_group {
            write!(f, "group:{g}/")?;
        }
        let prefix = match self.kind {
            _ if self.boundary => "boundary",
            PolicyKind::Inline => "inline",
            PolicyKind::CustomerManaged => "managed",
            PolicyKind::AwsManaged => "aws",
        };
        write!(f, "{prefix}:{}", self.name)
    }
}

/// Verdict counts: `u64` in total, `u32` for one principal ([`PrincipalInfo::counts`]: a
/// principal's counts are actions of the catalog, at most [`crate::catalog::MAX_ACTIONS`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts<N = u64> {
    pub granted: N,
    pub used: N,
    pub unused: N,
    pub unknown: N,
    /// Unused findings that an exclusion rule covers (not counted in `unused`).
    pub excluded: N,
}

impl<N: Copy + std::ops::AddAssign> Counts<N> {
    /// Counts finding `f`, of `n` actions.
    pub(super) fn add(&mut self, f: &Finding, n: N) {
        self.granted += n;
        if f.exclusion.is_some() && f.status() == Status::Unused {
            self.excluded += n;
            return;
        }
        match f.status() {
            Status::Used => self.used += n,
            Status::Unused => self.unused += n,
            Status::Unknown => self.unknown += n,
        }
    }
}

/// Unused (actionable, not excluded) findings per sensitivity: `u64`, `u32` for one principal
/// ([`PrincipalInfo::unused_by_sensitivity`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BySensitivity<N = u64> {
    pub critical: N,
    pub high: N,
    pub medium: N,
    pub low: N,
}

impl BySensitivity<u32> {
    /// Adds the counts of an action list (index `Sensitivity as usize`), each at most the
    /// catalog's actions for one principal (saturating, never reached).
    pub fn add_list_u32(&mut self, list: &ActionList) {
        let n = |s: Sensitivity| list.by_sensitivity[s as usize];
        self.critical = self.critical.saturating_add(n(Sensitivity::Critical));
        self.high = self.high.saturating_add(n(Sensitivity::High));
        self.medium = self.medium.saturating_add(n(Sensitivity::Medium));
        self.low = self.low.saturating_add(n(Sensitivity::Low));
    }

    /// The same counts as `u64`.
    pub fn wide(&self) -> BySensitivity {
        BySensitivity {
            critical: u64::from(self.critical),
            high: u64::from(self.high),
            medium: u64::from(self.medium),
            low: u64::from(self.low),
        }
    }
}

impl BySensitivity<u64> {
    /// The same counts in 32 bits, each at most `u32::MAX`: one principal's counts, which are
    /// at most the catalog's actions (below 2^25, `catalog::MAX_ACTIONS`), never reach it.
    pub fn narrow(&self) -> BySensitivity<u32> {
        let n = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        BySensitivity {
            critical: n(self.critical),
            high: n(self.high),
            medium: n(self.medium),
            low: n(self.low),
        }
    }
}

impl Counts<u32> {
    /// The same counts as `u64`.
    pub fn wide(&self) -> Counts {
        Counts {
            granted: u64::from(self.granted),
            used: u64::from(self.used),
            unused: u64::from(self.unused),
            unknown: u64::from(self.unknown),
            excluded: u64::from(self.excluded),
        }
    }
}

impl BySensitivity {
    /// The counts of an action list (index `Sensitivity as usize`).
    pub fn of_list(list: &ActionList) -> BySensitivity {
        let n = |s: Sensitivity| u64::from(list.by_sensitivity[s as usize]);
        BySensitivity {
            critical: n(Sensitivity::Critical),
            high: n(Sensitivity::High),
            medium: n(Sensitivity::Medium),
            low: n(Sensitivity::Low),
        }
    }

    /// Counts one more action of sensitivity `s`.
    pub fn add_one(&mut self, s: Sensitivity) {
        self.add_n(s, 1);
    }

    /// Counts `n` more actions of sensitivity `s`.
    pub fn add_n(&mut self, s: Sensitivity, n: u64) {
        match s {
            Sensitivity::Critical => self.critical += n,
            Sensitivity::High => self.high += n,
            Sensitivity::Medium => self.medium += n,
            Sensitivity::Low => self.low += n,
        }
    }

    /// Adds the counts of `o`.
    pub fn add(&mut self, o: &BySensitivity) {
        self.critical += o.critical;
        self.high += o.high;
        self.medium += o.medium;
        self.low += o.low;
    }

    pub fn add_list(&mut self, list: &ActionList) {
        self.add(&BySensitivity::of_list(list));
    }

    pub fn at_or_above(&self, s: Sensitivity) -> u64 {
        let mut n = self.critical;
        if s <= Sensitivity::High {
            n += self.high;
        }
        if s <= Sensitivity::Medium {
            n += self.medium;
        }
        if s <= Sensitivity::Low {
            n += self.low;
        }
        n
    }
}

/// One row of `services.csv`: a principal × service. Not stored: [`Analysis::services_of`]
/// computes a principal's from its findings when a writer asks (at 100,000 roles the 3.7 M
/// stored summaries were ~330 MB, held from the analysis to the last writer).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ServiceSummary<'a> {
    /// The service's name, as the catalog spells it.
    pub service: &'a str,
    #[serde(flatten)]
    pub counts: Counts,
    pub last_accessed: Option<Timestamp>,
    pub last_accessed_region: Option<&'a str>,
    /// Whether the service appears in the principal's last-accessed report.
    pub reported: bool,
    pub highest_unused_sensitivity: Option<Sensitivity>,
}

/// What the principals' last-accessed reports say of the services they have findings in, for
/// [`Analysis::services_of`]: one compact row per principal × reported service (12 bytes),
/// grouped by principal and sorted by catalog service index within it, regions interned.
#[derive(Debug, Clone, Default)]
pub(crate) struct ServiceFacts {
    rows: Vec<ServiceFact>,
    /// Principal `p`'s rows are `rows[starts[p]..starts[p + 1]]` (a principal past the end has
    /// none): the principal is not repeated in every row (at 300 accounts × 100 roles, 1.6
    /// million rows held from the analysis to the last writer; 24 bytes a row with it).
    starts: Vec<u32>,
    /// `None` while every principal's facts are held; after [`ServiceFacts::keep_only`], the
    /// principals whose facts are (sorted).
    kept: Option<Box<[u32]>>,
}

/// 10 bytes (aligned to 2): ~37 million at 1,000,000 roles, held from the rank to the last
/// writer (16 bytes with a `u32` service and region and an `i64`; 12 with the time's two `u32`
/// halves).
#[derive(Debug, Clone, Copy)]
struct ServiceFact {
    last: LastAccess,
    /// The catalog service index.
    svc: u16,
    /// The [`RegionId`] in [`Analysis::regions`].
    region: Option<NonZeroU16>,
}

impl ServiceFact {
    fn new(svc: u16, region: Option<RegionId>, last: LastAccess) -> ServiceFact {
        ServiceFact {
            last,
            svc,
            region: region.map(|id| id.0),
        }
    }

    /// Milliseconds since the epoch, [`NEVER_MS`] when the report has no access.
    fn last_ms(self) -> i64 {
        self.last.ms().unwrap_or(NEVER_MS)
    }

    fn svc(self) -> u32 {
        u32::from(self.svc)
    }

    fn region(self) -> Option<RegionId> {
        self.region.map(RegionId)
    }
}

/// Why [`ServiceFacts::new`] could not hold the facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FactsLimit {
    /// More than [`MAX_REGIONS`] distinct regions, or `u32::MAX` facts.
    Regions,
}

/// How many rows [`ServiceFacts::new`] reads between two shrinks of the rows' vector (~24 MB).
const SHRINK_EVERY_ROWS: usize = 1 << 20;

/// No time, in rows that hold a last access as milliseconds without an `Option` (8 bytes where
/// an `Option<i64>` takes 16): `i64::MIN` milliseconds is no date chrono can hold, so nothing is
/// lost ([`ServiceFact`], `verdict::ServiceRow`).
pub(crate) const NEVER_MS: i64 = i64::MIN;

impl ServiceFacts {
    /// The facts of `rows` for which `keep(principal, service)`: by (principal, service); of two
    /// rows of the same pair, the later one counts. Their regions (ids into `texts`) are interned
    /// in `regions`, in that order. An error past [`MAX_REGIONS`] distinct regions or `u32::MAX`
    /// rows, or where a service index does not fit 16 bits ([`FactsLimit`]).
    ///
    /// The rows are consumed and sorted, deduplicated and filtered where they are, then moved
    /// into a vector of exactly the facts kept, from the last row back while the rows' vector
    /// shrinks: the largest thing the analysis holds to its end (57 rows of 24 bytes a principal
    /// at 300 accounts × 100 roles, ~1.5 GB at 1,000,000 roles) is freed here, and nothing the
    /// size of all rows is allocated beside it. Rows `collect` makes are already grouped by
    /// principal.
    pub(crate) fn new(
        mut rows: Vec<super::verdict::ServiceRow>,
        keep: impl Fn(u32, u32) -> bool,
        texts: &[Arc<str>],
        regions: &mut Regions,
    ) -> Result<ServiceFacts, FactsLimit> {
        if !rows.is_sorted_by_key(|r| r.p) {
            // Stable: of equal pairs, the last one given stays the last one.
            rows.sort_by_key(|r| r.p);
        }
        for group in rows.chunk_by_mut(|a, b| a.p == b.p) {
            group.sort_by_key(|r| r.svc());
        }
        // Of two rows of one pair the later counts: it takes the earlier's place.
        rows.dedup_by(|later, earlier| {
            let same = (later.p, later.svc()) == (earlier.p, earlier.svc());
            if same {
                std::mem::swap(later, earlier);
            }
            same
        });
        rows.retain(|r| keep(r.p, r.svc()));
        u32::try_from(rows.len()).map_err(|_| FactsLimit::Regions)?;
        // Regions interned in the rows' order; `ids[i]` is the id of `texts[i]`.
        let mut ids: Vec<Option<RegionId>> = vec![None; texts.len()];
        for id in rows.iter().filter_map(super::verdict::ServiceRow::region) {
            let id = id as usize;
            if ids[id].is_none() {
                ids[id] = Some(regions.intern(&texts[id]).ok_or(FactsLimit::Regions)?);
            }
        }
        // The facts are made from the last row back, and the rows shrink as they are read: the
        // rows (24 bytes) and the facts (12) are never both held whole (at 1,000,000 roles the
        // end of the rank stage, where both were, was the peak: 9.3 GiB; now below planning's).
        let mut facts: Vec<ServiceFact> = Vec::with_capacity(rows.len());
        // Per principal, how many facts it has (then where they start).
        let mut starts: Vec<u32> = vec![0; rows.last().map_or(0, |r| r.p as usize + 1) + 1];
        while let Some(r) = rows.pop() {
            starts[r.p as usize] += 1;
            let region = r.region().and_then(|id| ids[id as usize]);
            facts.push(ServiceFact::new(r.svc16(), region, r.last()));
            if rows.len().is_multiple_of(SHRINK_EVERY_ROWS) {
                rows.shrink_to_fit();
            }
        }
        facts.reverse();
        // Counts into starts: principal `p`'s facts start after those of every principal
        // before it, and the last entry is the end of the facts.
        let mut at = 0u32;
        for s in &mut starts {
            // Within `u32::MAX` facts: checked above.
            let count = *s;
            *s = at;
            at += count;
        }
        Ok(ServiceFacts {
            rows: facts,
            starts,
            kept: None,
        })
    }

    /// The facts of principal `p`, by service.
    fn of(&self, p: u32) -> &[ServiceFact] {
        debug_assert!(
            self.holds(p),
            "principal {p}'s service facts were dropped (ServiceFacts::keep_only)"
        );
        let p = p as usize;
        match (self.starts.get(p), self.starts.get(p + 1)) {
            (Some(&start), Some(&end)) => &self.rows[start as usize..end as usize],
            _ => &[],
        }
    }

    /// Whether principal `p`'s facts are still held (every principal's until
    /// [`ServiceFacts::keep_only`]).
    fn holds(&self, p: u32) -> bool {
        self.kept
            .as_ref()
            .is_none_or(|kept| kept.binary_search(&p).is_ok())
    }

    /// Drops the facts of every principal but `principals` (indices, any order): the vectors are
    /// made again at their new size, so the memory goes back.
    fn keep_only(&mut self, principals: &[usize]) {
        let mut kept: Vec<u32> = principals
            .iter()
            .filter_map(|&p| u32::try_from(p).ok())
            .filter(|&p| self.holds(p))
            .collect();
        kept.sort_unstable();
        kept.dedup();
        let mut rows = Vec::new();
        let mut starts = vec![0u32; self.starts.len()];
        let mut next = kept.iter().copied().peekable();
        for (p, start) in starts.iter_mut().enumerate() {
            // Within the facts held before (`u32::MAX` at most).
            *start = rows.len() as u32;
            if next.next_if(|&k| k as usize == p).is_some() {
                rows.extend_from_slice(self.of(p as u32));
            }
        }
        rows.shrink_to_fit();
        kept.shrink_to_fit();
        *self = ServiceFacts {
            rows,
            starts,
            kept: Some(kept.into_boxed_slice()),
        };
    }
}

/// Everything about one principal. Written to report.json by `report::model` (its policies'
/// names are their labels', which it reads from the analysis).
#[derive(Debug, Clone)]
pub struct PrincipalInfo {
    /// Shared by the principals of an account (`collect`).
    pub account_id: Arc<str>,
    pub kind: PrincipalType,
    /// Its name, ARN and id ([`PrincipalInfo::name`], [`PrincipalInfo::arn`],
    /// [`PrincipalInfo::id`]).
    pub names: PrincipalNames,
    /// Tags (roles and users), as exported: attacker-controlled text.
    pub tags: crate::model::Tags,
    pub created: Option<Timestamp>,
    /// `RoleLastUsed` for roles; the newest service access for users and groups.
    pub last_used: Option<Timestamp>,
    /// Shared by the principals that name the same region (`collect`).
    pub last_used_region: Option<Arc<str>>,
    pub service_linked: bool,
    /// False for service-linked roles: AWS owns their policies.
    pub actionable: bool,
    /// Set when the principal exists to be powerful (see `intentional.rs`): its unused
    /// permissions rank after every other's, and the review decides to confirm or reduce it.
    /// Boxed: inline it took 48 bytes of every principal, nearly all of which have none.
    pub intentional: Option<Box<IntentionalMatch>>,
    /// For an IAM Identity Center role: the permission set that manages it (the role is then
    /// not actionable; the permission set is the principal to tighten). For a permission set:
    /// its ARN. Left out of report.json when absent.
    pub permission_set: Option<Arc<str>>,
    pub has_last_accessed: bool,
    pub as_of: Option<Timestamp>,
    pub policies: Box<[PolicyInfo]>,
    /// Policy actions that match nothing in the catalog, as `policy: pattern`, sorted. Each
    /// text is shared by the principals that name it (`collect`): an AWS managed policy's
    /// patterns repeat in every principal it is attached to (at 100,000 roles 168,921
    /// patterns, 1,171 distinct texts; as strings of their own they took 13 MB).
    pub unmatched_patterns: Box<[Arc<str>]>,
    /// 32 bits, as the sensitivities' and the score: a principal's counts are actions of the
    /// catalog (40 bytes less of each principal than `u64`s).
    pub counts: Counts<u32>,
    pub unused_by_sensitivity: BySensitivity<u32>,
    /// Sum of the weights of unused, actionable, not excluded findings (at most 100 times the
    /// catalog's actions, below 2^32; added saturating).
    pub score: u32,
    /// `unused_role`, `no_last_accessed_data`, `service_linked`, `too_new` (a boxed slice: a
    /// vector's header and the slack of its growth were ~40 bytes of every principal).
    pub flags: Box<[&'static str]>,
}

impl PrincipalInfo {
    pub fn name(&self) -> &str {
        self.names.name()
    }

    pub fn arn(&self) -> &str {
        self.names.arn()
    }

    /// AWS's unique id (`AROA…`, `AIDA…`).
    pub fn id(&self) -> &str {
        self.names.id()
    }
}

/// A principal's name, ARN and id in one allocation: the ARN, then the id, then the name unless
/// the ARN ends with it (`…:role/path/Name`, as AWS makes them). Three strings took 72 bytes of
/// every principal and three allocations (~80 MB at 1,000,000 roles).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalNames {
    text: Box<str>,
    /// Where the ARN ends and the id starts.
    arn_end: u32,
    /// Where the id ends.
    id_end: u32,
    /// Where the name starts: in the ARN, which it ends, or after the id, up to the end.
    name_start: u32,
}

impl PrincipalNames {
    /// `None` when the three take more than `u32::MAX` bytes together (a principal is read
    /// from one file, at most `files::MAX_INPUT_BYTES` = 4 GiB: never).
    pub fn new(name: &str, arn: &str, id: &str) -> Option<PrincipalNames> {
        let in_arn = !name.is_empty() && arn.ends_with(name);
        let mut text = String::with_capacity(arn.len() + id.len() + name.len());
        text.push_str(arn);
        text.push_str(id);
        let name_start = if in_arn {
            arn.len() - name.len()
        } else {
            text.push_str(name);
            arn.len() + id.len()
        };
        // The name's end is the text's, or the ARN's: the whole text must fit.
        u32::try_from(text.len()).ok()?;
        Some(PrincipalNames {
            text: text.into_boxed_str(),
            arn_end: u32::try_from(arn.len()).ok()?,
            id_end: u32::try_from(arn.len() + id.len()).ok()?,
            name_start: u32::try_from(name_start).ok()?,
        })
    }

    pub fn arn(&self) -> &str {
        &self.text[..self.arn_end as usize]
    }

    pub fn id(&self) -> &str {
        &self.text[self.arn_end as usize..self.id_end as usize]
    }

    pub fn name(&self) -> &str {
        let start = self.name_start as usize;
        if self.name_start < self.arn_end {
            &self.text[start..self.arn_end as usize]
        } else {
            &self.text[start..]
        }
    }
}

/// One principal × a group of granted actions of one service that share one verdict (see
/// `groups`): the same reason, evidence, granting policies, resource scope and condition.
/// 24 bytes: what can be derived is not held (the first action, the count, the sensitivity and
/// the risk categories from the list, the status from the reason, the rank from the finding's
/// place), nor what nearly every finding lacks (its SCP/RCP note: [`FindingControls`]).
#[derive(Debug, Clone)]
pub struct Finding {
    /// Index into `Analysis::principals`.
    pub principal: u32,
    /// The group's actions (`Analysis::actions(f)` lists them, `Analysis::action(f)` gives the
    /// first).
    pub list: ListId,
    /// The granting policies (`Analysis::granting_policies(f)`).
    pub granted_by: GrantedById,
    /// The region of the last access (`Analysis::region`).
    pub last_accessed_region: Option<RegionId>,
    /// The exclusion rule that covers it.
    pub exclusion: Option<ExclusionId>,
    /// When it was last accessed ([`Finding::last_accessed`]).
    pub last: LastAccess,
    pub reason: Reason,
    /// Whether every grant names specific resources, has a Condition ([`Scope`]).
    pub scope: Scope,
}

impl Finding {
    /// `used`, `unused` or `unknown`: the reason's.
    pub fn status(&self) -> Status {
        self.reason.status()
    }

    /// True when every grant of the actions names specific resources.
    pub fn scoped(&self) -> bool {
        self.scope.scoped()
    }

    /// True when every grant of the actions has a Condition.
    pub fn conditional(&self) -> bool {
        self.scope.conditional()
    }

    /// When the evidence says the actions were last accessed.
    pub fn last_accessed(&self) -> Option<Timestamp> {
        self.last.time()
    }
}

/// A last access in milliseconds since 1970-01-01T00:00:00Z, in 48 bits (6 bytes, aligned to 2:
/// a finding took 28 bytes with it, where an `i64` made it 32, ~0.15 GB of ~38 million at
/// 1,000,000 roles, and a service row 16 where it made it 24; three 16-bit parts, as a `u32`
/// and a `u16` would be aligned to 4 and take 8); [`LastAccess::NEVER`] for none. 48 bits reach the year 10,889: the inputs hold
/// years up to 9999 and refuse a last-access time before 1970 (docs/input-errors.md), so every
/// time the analysis meets fits, and [`LastAccess::from_ms`] refuses any other rather than
/// change it. [`LastAccess::time`] gives back what was given.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LastAccess([u16; 3]);

/// [`LastAccess::NEVER`]'s bits: every one of the 48 set.
const LAST_NEVER: u64 = (1 << 48) - 1;

impl LastAccess {
    /// No access.
    pub const NEVER: LastAccess = LastAccess([u16::MAX; 3]);

    /// The access at `ms` milliseconds since the epoch ([`LastAccess::NEVER`] for `None`);
    /// `None` for a time before 1970 or past what 48 bits hold.
    pub fn from_ms(ms: Option<i64>) -> Option<LastAccess> {
        let Some(ms) = ms else {
            return Some(LastAccess::NEVER);
        };
        let bits = u64::try_from(ms).ok().filter(|&b| b < LAST_NEVER)?;
        // Within 48 bits: the three casts keep every bit.
        Some(LastAccess([
            bits as u16,
            (bits >> 16) as u16,
            (bits >> 32) as u16,
        ]))
    }

    fn bits(self) -> u64 {
        let [a, b, c] = self.0.map(u64::from);
        (c << 32) | (b << 16) | a
    }

    /// Milliseconds since the epoch.
    pub fn ms(self) -> Option<i64> {
        let bits = self.bits();
        // Below 2^48: the cast keeps the value.
        (bits != LAST_NEVER).then_some(bits as i64)
    }

    pub fn time(self) -> Option<Timestamp> {
        self.ms().and_then(chrono::DateTime::from_timestamp_millis)
    }
}

/// No access first, then by time, as `Option<i64>` orders.
impl Ord for LastAccess {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.ms().cmp(&other.ms())
    }
}

impl PartialOrd for LastAccess {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl std::fmt::Debug for LastAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.time().fmt(f)
    }
}

/// A finding's two grant bits in one byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope(u8);

impl Scope {
    const SCOPED: u8 = 1;
    const CONDITIONAL: u8 = 2;

    pub fn new(scoped: bool, conditional: bool) -> Scope {
        let bit = |set: bool, bit: u8| if set { bit } else { 0 };
        Scope(bit(scoped, Scope::SCOPED) | bit(conditional, Scope::CONDITIONAL))
    }

    pub fn scoped(self) -> bool {
        self.0 & Scope::SCOPED != 0
    }

    pub fn conditional(self) -> bool {
        self.0 & Scope::CONDITIONAL != 0
    }
}

/// The SCP/RCP notes of the findings that have one ([`Analysis::control_note`]), by the
/// finding's index, sorted. Held beside the findings, not in each: without an organisation part
/// no finding has one, and with one most have none (a field took 4 bytes of every finding, ~0.15
/// GB at 1,000,000 roles). While findings are made and split (`organization`, `exclusions`),
/// their notes are a vector beside them, empty when none has one or one per finding; the rank
/// makes this of it.
#[derive(Debug, Clone, Default)]
pub struct FindingControls(Box<[(u32, ControlId)]>);

impl FindingControls {
    /// The notes of `controls` (one per finding, in their final order, or none).
    pub(super) fn new(controls: &[Option<ControlId>]) -> FindingControls {
        let of = controls.iter().enumerate();
        // A finding's index fits 32 bits: the analysis refuses more findings before the rank
        // (`within_index`).
        FindingControls(
            of.filter_map(|(i, c)| Some((u32::try_from(i).ok()?, (*c)?)))
                .collect(),
        )
    }

    /// The note of `findings[index]`.
    pub fn get(&self, index: usize) -> Option<ControlId> {
        let index = u32::try_from(index).ok()?;
        let at = self.0.binary_search_by_key(&index, |(i, _)| *i).ok()?;
        Some(self.0[at].1)
    }
}

/// The findings, and beside them each one's SCP/RCP note: none at all, or one per finding.
pub(super) struct WithControls {
    pub(super) findings: Vec<Finding>,
    pub(super) controls: Vec<Option<ControlId>>,
}

/// Index into [`Analysis::control_notes`].
/// 1-based, so that an `Option<ControlId>` takes 4 bytes ([`ControlId::new`], [`ControlId::index`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ControlId(NonZeroU32);

impl ControlId {
    /// The id of `control_notes[index]`; `None` past `u32::MAX - 1` notes.
    pub fn new(index: usize) -> Option<ControlId> {
        u32::try_from(index)
            .ok()
            .and_then(|i| i.checked_add(1))
            .and_then(NonZeroU32::new)
            .map(ControlId)
    }

    pub fn index(self) -> usize {
        // A u32 always fits a usize on the targets this builds for (64-bit).
        (self.0.get() - 1) as usize
    }
}

/// A distinct last-access region ([`Regions`]): 2 bytes, and an `Option<RegionId>` too, where a
/// shared pointer to the text took 16 (four million findings at 100,000 roles). A run holds at
/// most 65,535 distinct regions (AWS has ~35; docs/input-errors.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegionId(NonZeroU16);

/// The most distinct last-access regions a run holds (a [`RegionId`] is 16 bits).
pub const MAX_REGIONS: u32 = u16::MAX as u32;

/// The distinct regions of the last-access evidence, in the order first met, each named by a
/// [`RegionId`] in the findings and the service facts.
#[derive(Debug, Clone, Default)]
pub struct Regions(Interner<Arc<str>>);

impl Regions {
    /// The id of `region`, given to it when first met; `None` past [`MAX_REGIONS`] distinct
    /// regions.
    pub fn intern(&mut self, region: &Arc<str>) -> Option<RegionId> {
        // Ids are the interner's plus one (never 0), so its ids stop at `MAX_REGIONS - 1`.
        let i = self.0.intern_up_to(region, MAX_REGIONS - 1)?;
        u16::try_from(i + 1)
            .ok()
            .and_then(NonZeroU16::new)
            .map(RegionId)
    }

    /// The text of `id` (`None` only for an id of another table).
    pub fn get(&self, id: RegionId) -> Option<&Arc<str>> {
        self.0.as_slice().get(usize::from(id.0.get() - 1))
    }

    /// Every region, in the order first met.
    pub fn texts(&self) -> &[Arc<str>] {
        self.0.as_slice()
    }
}

impl Finding {
    /// Points the finding at a new (non-empty) action list.
    pub(super) fn set_actions(&mut self, lists: &mut ActionLists, actions: Vec<GrantedAction>) {
        self.list = lists.push(actions);
    }
}

/// The result of `analyze`.
#[derive(Debug, Clone)]
pub struct Analysis<'c> {
    pub catalog: &'c Catalog,
    pub settings: Settings,
    pub config: Config,
    pub exports: Vec<ExportInfo>,
    pub warnings: Vec<AccountWarning>,
    /// Sorted by (account, kind, name).
    pub principals: Vec<PrincipalInfo>,
    /// Sorted by rank.
    pub findings: Vec<Finding>,
    /// Every distinct list of granting policies (`Finding::granted_by`), as label ids.
    pub granted_by: Vec<Box<[LabelId]>>,
    /// Every distinct policy label (`PolicyInfo::label`, `granted_by`).
    pub labels: Vec<PolicyLabel>,
    pub totals: Counts,
    pub unused_by_sensitivity: BySensitivity,
    /// Wall time of each stage, for `IAM_TIGHTEN_TIMINGS` (never written into an output).
    pub timings: Vec<(&'static str, std::time::Duration)>,
    /// Per principal, the indices of its findings in `findings`, by service (catalog order),
    /// then rank: a principal's findings of one service are a range (`explain.rs`); in rank
    /// order through [`Analysis::findings_of`].
    pub(crate) by_principal_service: ByService,
    /// The actions of every finding (`Finding::actions`).
    pub action_lists: ActionLists,
    /// Every catalog action's own risk (before the iam:PassRole combination).
    pub(crate) risks: Vec<ActionRisk>,
    /// Per principal, the action that makes its iam:PassRole critical (see `named.rs`).
    pub(crate) passrole_partners: Vec<Option<ActionId>>,
    /// Every distinct SCP/RCP note of a finding ([`Analysis::control_note`]).
    pub control_notes: Vec<crate::policy::control::ControlNote>,
    /// Which finding has which of them.
    pub controls: FindingControls,
    /// What the last-accessed reports say per principal × service ([`Analysis::services_of`]).
    pub(crate) service_facts: ServiceFacts,
    /// The regions the findings and the service facts name.
    pub regions: Regions,
    /// Per principal (by index, in principal order): what its last-accessed report shows used
    /// since its window started that the catalog does not know (`service:Action`, `service:*`
    /// for a service it does not know). A tightened policy keeps these
    /// ([`Analysis::uncatalogued_of`]).
    pub uncatalogued: Vec<(u32, Arc<str>)>,
    /// What the organisation part held, when the exports came with one.
    pub organization: Option<OrganizationInfo>,
}

impl Analysis<'_> {
    pub fn principal(&self, f: &Finding) -> &PrincipalInfo {
        &self.principals[f.principal as usize]
    }

    /// The actions of a finding, sorted by id.
    pub fn actions(&self, f: &Finding) -> &[GrantedAction] {
        &self.action_lists.get(f.list).actions
    }

    /// The finding's first action (its only one when its count is 1).
    pub fn action(&self, f: &Finding) -> ActionId {
        self.action_lists.get(f.list).first()
    }

    /// The highest sensitivity of the finding's actions.
    pub fn sensitivity(&self, f: &Finding) -> Sensitivity {
        self.action_lists.get(f.list).highest
    }

    /// The union of the finding's actions' `sensitivity::category` bits.
    pub fn categories(&self, f: &Finding) -> u8 {
        self.action_lists.get(f.list).categories
    }

    /// The finding's service, its index in catalog order.
    pub fn service_of(&self, f: &Finding) -> u32 {
        self.catalog.service_index(self.action(f))
    }

    /// The finding's service, by name (`s3`).
    pub fn service_name(&self, f: &Finding) -> &str {
        &self.catalog.action(self.action(f)).service
    }

    /// The rank of `findings[index]`: 1 = the first thing to remove (the findings are in rank
    /// order, so the rank is not held in each).
    pub fn rank(index: usize) -> u32 {
        u32::try_from(index + 1).unwrap_or(u32::MAX)
    }

    /// How many actions the finding has.
    pub fn count(&self, f: &Finding) -> u32 {
        // A list holds at most one finding's actions of one service: fewer than 2^32.
        u32::try_from(self.action_lists.get(f.list).len()).unwrap_or(u32::MAX)
    }

    /// Per sensitivity, how many of the finding's actions have it.
    pub fn sensitivity_counts(&self, f: &Finding) -> BySensitivity {
        BySensitivity::of_list(self.action_lists.get(f.list))
    }

    /// The finding's actions as text: the action, `service:*`, or `service:Verb*` patterns and
    /// names that match exactly its actions (see `groups::describe`).
    /// Kept once computed only for a list several findings share
    /// ([`super::groups::ActionList::text_for_findings`]).
    pub fn action_text(&self, f: &Finding) -> std::borrow::Cow<'_, str> {
        self.action_lists
            .get(f.list)
            .text_for_findings(self.catalog)
    }

    /// The access level of the finding's actions, `mixed` when they differ.
    pub fn access_level(&self, f: &Finding) -> &'static str {
        self.action_lists.get(f.list).access_level(self.catalog)
    }

    /// The labels of the policies that grant a finding's actions.
    pub fn granting_labels(&self, id: GrantedById) -> impl Iterator<Item = &PolicyLabel> {
        self.granted_by
            .get(id.0 as usize)
            .into_iter()
            .flatten()
            .map(|l| &self.labels[l.0 as usize])
    }

    /// Every `granted_by` text, by `GrantedById` (for writers that print one per row).
    pub fn granted_by_texts(&self) -> Vec<String> {
        (0..self.granted_by.len() as u32)
            .map(|i| self.granted_by_text(GrantedById(i)))
            .collect()
    }

    /// The granting policies as one text, `; `-separated (`aws:ReadOnlyAccess; inline:extra`).
    pub fn granted_by_text(&self, id: GrantedById) -> String {
        let mut text = String::new();
        for (i, label) in self.granting_labels(id).enumerate() {
            if i > 0 {
                text.push_str("; ");
            }
            text.push_str(&label.to_string());
        }
        text
    }

    /// A policy's label (`aws:ReadOnlyAccess`, `group:dev/inline:extra`).
    pub fn label(&self, p: &PolicyInfo) -> &PolicyLabel {
        &self.labels[p.label.0 as usize]
    }

    /// Whole days from the finding's last access to its principal's as-of time (none when
    /// either is unknown, or when the access is after it: an `--as-of` earlier than the data).
    /// Computed when read: 16 bytes per finding less to hold (3.8 M findings at 100,000 roles).
    pub fn days_since_access(&self, f: &Finding) -> Option<i64> {
        let as_of = self.principals.get(f.principal as usize)?.as_of?;
        let last = f.last_accessed()?;
        (last <= as_of).then(|| crate::model::whole_days(last, as_of))
    }

    /// The SCP or RCP that blocks or restricts the actions of `findings[index]` in its
    /// principal's account; only with an organisation part.
    pub fn control_note(&self, index: usize) -> Option<&crate::policy::control::ControlNote> {
        self.controls
            .get(index)
            .and_then(|c| self.control_notes.get(c.index()))
    }

    /// The region of the finding's last access.
    pub fn region(&self, f: &Finding) -> Option<&Arc<str>> {
        f.last_accessed_region.and_then(|r| self.regions.get(r))
    }

    /// True when an SCP blocks the actions of `findings[index]` in its principal's account.
    pub fn blocked(&self, index: usize) -> bool {
        self.control_note(index)
            .is_some_and(|n| n.effect == crate::policy::control::ControlEffect::Blocked)
    }

    /// The exclusion rule of that id.
    pub fn exclusion(&self, id: ExclusionId) -> Option<&ExclusionRule> {
        self.config.rule(id)
    }

    /// The actions of principal `p`'s findings that an SCP blocks in its account (none without
    /// an organisation part): grants that carry no risk today.
    pub fn blocked_of(&self, p: usize) -> Option<crate::catalog::ActionSet> {
        if self.control_notes.is_empty() {
            return None;
        }
        let mut blocked: Option<crate::catalog::ActionSet> = None;
        for &i in self.by_principal_service.get(p) {
            if self.blocked(i as usize) {
                let f = &self.findings[i as usize];
                let ids = self.actions(f).iter().map(|a| a.id());
                blocked
                    .get_or_insert_with(|| self.catalog.empty_set())
                    .insert_all(ids);
            }
        }
        blocked
    }

    /// The actions of principal `p`'s unused, not excluded findings that no SCP blocks, by
    /// sensitivity: [`PrincipalInfo::unused_by_sensitivity`], counted also for a principal that
    /// is not actionable (an IAM Identity Center or service-linked role, whose counts there are
    /// zero: they rank nothing, but the evidence of its `confirm_intentional` counts them).
    pub fn unused_by_sensitivity_of(&self, p: usize) -> BySensitivity<u32> {
        let mut s = BySensitivity::default();
        for &i in self.by_principal_service.get(p) {
            let f = &self.findings[i as usize];
            if f.status() == Status::Unused && f.exclusion.is_none() && !self.blocked(i as usize) {
                s.add_list_u32(self.action_lists.get(f.list));
            }
        }
        s
    }

    /// The finding of principal `p` that covers action `a`, if `a` is granted to `p`.
    pub fn finding_for(&self, p: usize, a: ActionId) -> Option<&Finding> {
        self.findings_of(p)
            .find(|f| self.actions(f).binary_search_by_key(&a, |g| g.id()).is_ok())
    }

    /// Principal `p`'s summary per service it has findings in (catalog order): the counts of
    /// its findings there, the highest unused sensitivity (actionable, not excluded, not blocked
    /// by an SCP), and the service's last access from its report. Computed on each call, from the
    /// findings, so that the analysis does not hold one summary per principal × service.
    pub fn services_of(&self, p: usize) -> Vec<ServiceSummary<'_>> {
        let list = self.by_principal_service.get(p);
        let Some(info) = self.principals.get(p) else {
            return Vec::new();
        };
        // Fewer principals than findings, so the index fits in u32 (`Finding::principal`).
        let facts = self.service_facts.of(p as u32);
        let mut out: Vec<ServiceSummary<'_>> = Vec::new();
        let mut current = None;
        for &i in list {
            let f = &self.findings[i as usize];
            let svc = self.service_of(f);
            if current != Some(svc) {
                current = Some(svc);
                let fact = facts
                    .binary_search_by_key(&svc, |r| r.svc())
                    .ok()
                    .map(|k| facts[k]);
                out.push(ServiceSummary {
                    service: self.service_name(f),
                    counts: Counts::default(),
                    last_accessed: fact
                        .and_then(|r| chrono::DateTime::from_timestamp_millis(r.last_ms())),
                    last_accessed_region: fact
                        .and_then(|r| r.region())
                        .and_then(|r| self.regions.get(r))
                        .map(|r| &**r),
                    reported: fact.is_some(),
                    highest_unused_sensitivity: None,
                });
            }
            let Some(entry) = out.last_mut() else {
                continue;
            };
            entry.counts.add(f, u64::from(self.count(f)));
            let removable = f.status() == Status::Unused && f.exclusion.is_none();
            if removable && info.actionable && !self.blocked(i as usize) {
                entry.highest_unused_sensitivity = entry
                    .highest_unused_sensitivity
                    .max(Some(self.sensitivity(f)));
            }
        }
        out
    }

    /// Drops what the last-accessed reports say per service of every principal but
    /// `principals`: after it, [`Analysis::services_of`] is only for those (debug builds
    /// assert it). `report` writes services.csv first, then keeps the facts of the principals
    /// whose sections show their services (`report::model::detail_principals`): held from the
    /// analysis to the last writer they were ~0.5 GB at 1,000,000 roles (docs/performance.md,
    /// "twenty-ninth pass").
    pub fn keep_service_facts_of(&mut self, principals: &[usize]) {
        self.service_facts.keep_only(principals);
    }

    /// How many services principal `p` used (those with a used finding) and how many it has
    /// findings in: [`Analysis::services_of`]'s counts, without the last-accessed facts it
    /// reads.
    pub fn service_use(&self, p: usize) -> (usize, usize) {
        let (mut used, mut granted) = (0, 0);
        let (mut seen, mut counted) = (None, None);
        // A principal's findings come by service: each service's are next to each other.
        for &i in self.by_principal_service.get(p) {
            let f = &self.findings[i as usize];
            let svc = self.service_of(f);
            if seen != Some(svc) {
                seen = Some(svc);
                granted += 1;
            }
            if f.status() == Status::Used && counted != Some(svc) {
                counted = Some(svc);
                used += 1;
            }
        }
        (used, granted)
    }

    /// What principal `p` (an index into `principals`) used that the catalog does not know
    /// ([`Self::uncatalogued`]); of a permission set, what any of its roles used.
    pub fn uncatalogued_of(&self, p: usize) -> Vec<&str> {
        let of = |i: usize| {
            let list = &self.uncatalogued;
            let from = list.partition_point(|(q, _)| (*q as usize) < i);
            list[from..]
                .iter()
                .take_while(move |(q, _)| *q as usize == i)
                .map(|(_, a)| &**a)
        };
        let mut out: Vec<&str> = match self.principals.get(p) {
            Some(info) if info.kind == crate::model::PrincipalType::PermissionSet => {
                // A set's roles name it by its name (a set's own `permission_set` is its ARN).
                let set = info.name();
                let of_set = |q: u32| {
                    let role = self.principals.get(q as usize);
                    role.is_some_and(|r| {
                        r.kind != crate::model::PrincipalType::PermissionSet
                            && r.permission_set.as_deref() == Some(set)
                    })
                };
                self.uncatalogued
                    .iter()
                    .filter(|(q, _)| of_set(*q))
                    .map(|(_, a)| &**a)
                    .collect()
            }
            _ => of(p).collect(),
        };
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The findings of principal `p` (an index into `principals`), in rank order.
    /// (Read from [`Self::by_principal_service`], sorted again: the findings' indices in rank
    /// order were a second list of 4 bytes a finding, ~150 MB at 1,000,000 roles, for the few
    /// calls a principal has.)
    pub fn findings_of(&self, p: usize) -> impl Iterator<Item = &Finding> {
        let mut at = self.by_principal_service.get(p).to_vec();
        at.sort_unstable();
        at.into_iter().map(move |i| &self.findings[i as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A principal's findings, read from the lists by service, are its findings in rank order.
    #[test]
    fn findings_of_a_principal_are_in_rank_order() {
        let (_, _, an) = crate::sample_organization();
        let mut seen = 0;
        for p in 0..an.principals.len() {
            let got: Vec<*const Finding> = an.findings_of(p).map(std::ptr::from_ref).collect();
            let want: Vec<*const Finding> = an
                .findings
                .iter()
                .filter(|f| f.principal as usize == p)
                .map(std::ptr::from_ref)
                .collect();
            assert_eq!(got, want, "principal {p}");
            seen += got.len();
        }
        assert_eq!(seen, an.findings.len());
        assert!(an.findings_of(an.principals.len()).next().is_none());
    }

    /// After `keep_service_facts_of`, the principals kept have the services they had (last
    /// access and region included), and the facts held are theirs alone.
    #[test]
    fn kept_service_facts_are_unchanged() {
        let (_, _, mut an) = crate::sample_organization();
        let text = |an: &Analysis<'_>, p: usize| format!("{:?}", an.services_of(p));
        let before: Vec<String> = (0..an.principals.len()).map(|p| text(&an, p)).collect();
        let with_facts = |an: &Analysis<'_>, p: usize| !an.service_facts.of(p as u32).is_empty();
        let keep: Vec<usize> = (0..an.principals.len())
            .filter(|&p| with_facts(&an, p))
            .step_by(2)
            .collect();
        assert!(keep.len() >= 2, "{keep:?}");
        let facts: usize = keep
            .iter()
            .map(|&p| an.service_facts.of(p as u32).len())
            .sum();
        assert!(facts < an.service_facts.rows.len());
        // In any order, with repeats and a principal past the end.
        let mut given = keep.clone();
        given.reverse();
        given.extend([keep[0], an.principals.len() + 5]);
        an.keep_service_facts_of(&given);
        assert_eq!(an.service_facts.rows.len(), facts);
        assert!(before.iter().any(|t| t.contains("last_accessed: Some")));
        for &p in &keep {
            assert_eq!(text(&an, p), before[p], "principal {p}");
        }
        // Keeping again only narrows.
        an.keep_service_facts_of(&keep[..1]);
        assert_eq!(text(&an, keep[0]), before[keep[0]]);
        assert_eq!(
            an.service_facts.rows.len(),
            an.service_facts.of(keep[0] as u32).len()
        );
    }

    /// In debug builds, asking for a dropped principal's services is a bug that stops the run.
    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "service facts were dropped")]
    fn a_dropped_principals_services_are_not_given() {
        let (_, _, mut an) = crate::sample_organization();
        an.keep_service_facts_of(&[0]);
        let _ = an.services_of(1);
    }

    /// `service_use` counts what `services_of` lists, without the facts.
    #[test]
    fn service_use_counts_the_services_listed() {
        let (_, _, mut an) = crate::sample_organization();
        let mut used_some = false;
        for p in 0..an.principals.len() {
            let all = an.services_of(p);
            let used = all.iter().filter(|s| s.counts.used > 0).count();
            used_some |= used > 0;
            assert_eq!(an.service_use(p), (used, all.len()), "principal {p}");
        }
        assert!(used_some);
        let want: Vec<_> = (0..an.principals.len())
            .map(|p| an.service_use(p))
            .collect();
        an.keep_service_facts_of(&[]);
        let got: Vec<_> = (0..an.principals.len())
            .map(|p| an.service_use(p))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_last_access_gives_back_what_it_was_given() {
        // The epoch, a millisecond, now, the last millisecond of 9999 (the inputs' last year)
        // and the last time 48 bits hold before `NEVER`.
        let end_9999 = chrono::DateTime::parse_from_rfc3339("9999-12-31T23:59:59.999Z")
            .unwrap()
            .timestamp_millis();
        for ms in [0, 1, 1_767_225_600_123, end_9999, (1 << 48) - 2] {
            let last = LastAccess::from_ms(Some(ms)).expect("fits");
            assert_eq!(last.ms(), Some(ms));
            let t = chrono::DateTime::from_timestamp_millis(ms).unwrap();
            assert_eq!(last.time(), Some(t));
            assert_eq!(format!("{last:?}"), format!("{:?}", Some(t)));
        }
        assert_eq!(LastAccess::from_ms(None), Some(LastAccess::NEVER));
        // Before 1970, or past 48 bits: refused, never changed into another time or none.
        for ms in [-1, i64::MIN, NEVER_MS + 1, (1 << 48) - 1, 1 << 48, i64::MAX] {
            assert_eq!(LastAccess::from_ms(Some(ms)), None, "{ms}");
        }
        // Ordered as `Option<i64>`: no access first.
        let mut all: Vec<LastAccess> = [Some(5), None, Some(0), Some(1 << 40)]
            .into_iter()
            .map(|ms| LastAccess::from_ms(ms).unwrap())
            .collect();
        all.sort();
        let ms: Vec<Option<i64>> = all.iter().map(|l| l.ms()).collect();
        assert_eq!(ms, [None, Some(0), Some(5), Some(1 << 40)]);
        assert!(LastAccess::NEVER.time().is_none());
    }

    #[test]
    fn a_scope_holds_both_bits() {
        for scoped in [false, true] {
            for conditional in [false, true] {
                let s = Scope::new(scoped, conditional);
                assert_eq!((s.scoped(), s.conditional()), (scoped, conditional));
            }
        }
    }

    /// A run holds 65,535 distinct regions; the next new one is refused (the analysis then
    /// stops with `too_many_regions`), one already met is still found.
    #[test]
    fn regions_stop_at_sixteen_bits() {
        let mut regions = Regions::default();
        let texts: Vec<Arc<str>> = (0..=MAX_REGIONS)
            .map(|i| Arc::from(format!("r{i}")))
            .collect();
        for (i, t) in texts[..MAX_REGIONS as usize].iter().enumerate() {
            let id = regions.intern(t).expect("within the limit");
            assert_eq!(regions.get(id), Some(t), "{i}");
        }
        assert_eq!(regions.intern(&texts[MAX_REGIONS as usize]), None);
        let again = regions.intern(&texts[7]).expect("met before");
        assert_eq!(regions.get(again), Some(&texts[7]));
        assert_eq!(regions.texts().len(), MAX_REGIONS as usize);
    }

    /// Each of the three comes back as given, whether the ARN ends with the name or not.
    #[test]
    fn principal_names_give_back_what_they_were_given() {
        for (name, arn, id) in [
            (
                "Admin",
                "arn:aws:iam::123456789012:role/Admin",
                "AROAEXAMPLE",
            ),
            ("Admin", "arn:aws:iam::123456789012:role/ops/Admin", ""),
            ("Admin", "arn:aws:sso:::permissionSet/ssoins-1/ps-2", "ps-2"),
            ("", "arn:aws:iam::123456789012:role/", "AROA"),
            ("", "", ""),
            ("x", "x", "y"),
            ("min", "arn:aws:iam::1:user/admin", "AIDA"),
            ("é", "arn:aws:iam::1:role/café", "AROAé"),
            ("role/a", "arn:aws:iam::1:role/a", "id"),
        ] {
            let n = PrincipalNames::new(name, arn, id).expect("small");
            assert_eq!((n.name(), n.arn(), n.id()), (name, arn, id));
        }
        assert_eq!(
            std::mem::size_of::<PrincipalNames>(),
            32,
            "a boxed text and three 32-bit offsets"
        );
    }

    #[test]
    fn a_finding_stays_small() {
        // Every byte of a finding is ~4 MB of the heap at 100,000 roles (four million
        // findings), held from the analysis to the last writer: ids instead of pointers
        // (regions), ids that are never 0 (an `Option` of one is 4 bytes, 2 for a rule's),
        // nothing derived (the count is the list's length, the rank the finding's place, the
        // first action, sensitivity and categories the list's, the status the reason's).
        // A last access in 48 bits, a region id in 16: 32 -> 28; the control note beside
        // the findings: 24.
        assert_eq!(std::mem::size_of::<Finding>(), 24);
        assert_eq!(std::mem::size_of::<Option<RegionId>>(), 2);
        assert_eq!(std::mem::size_of::<LastAccess>(), 6);
        assert_eq!(std::mem::size_of::<Option<ControlId>>(), 4);
        assert_eq!(std::mem::size_of::<Option<ExclusionId>>(), 2);
        // A principal's policy: its ARN shared (`Arc<str>`), its name and group its label's,
        // its counts 32 bits, ~0.3 M at 100,000 roles.
        assert_eq!(std::mem::size_of::<PolicyInfo>(), 32);
        // A principal: its rare parts boxed (the intentional match, the flags, the unmatched
        // patterns), its account id, region and permission set shared: 400 -> 320; its counts,
        // sensitivities and score 32 bits, its policies a boxed slice: 320 -> 272; its name,
        // ARN and id one text: 232.
        assert_eq!(std::mem::size_of::<PrincipalInfo>(), 232);
    }

    #[test]
    fn regions_are_interned_in_the_order_first_met() {
        let mut regions = Regions::default();
        let eu = regions.intern(&Arc::from("eu-west-1"));
        let us = regions.intern(&Arc::from("us-east-1"));
        assert_eq!(regions.intern(&Arc::from("eu-west-1")), eu);
        assert_ne!(eu, us);
        assert_eq!(
            regions.get(us.expect("an id")).map(|r| &**r),
            Some("us-east-1")
        );
        assert_eq!(regions.texts().len(), 2);
    }

    #[test]
    fn control_ids_name_their_index() {
        for i in [0, 1, 41, u32::MAX as usize - 1] {
            assert_eq!(ControlId::new(i).map(ControlId::index), Some(i));
        }
        assert_eq!(ControlId::new(u32::MAX as usize), None);
    }

    /// Facts are kept only where asked, sorted by (principal, service), the later of two rows
    /// of one pair counts, regions are shared, and no time stays no time.
    #[test]
    fn service_facts_keep_the_last_row_of_each_pair_in_order() {
        let eu: Arc<str> = Arc::from("eu-west-1");
        let us: Arc<str> = Arc::from("us-east-1");
        // Ids into `texts`: the third is the first's text again.
        let texts = [Arc::clone(&eu), Arc::clone(&us), Arc::from("eu-west-1")];
        let rows = [
            (2, 5, Some(20), Some(0)),
            (1, 9, None, None),
            (1, 3, Some(10), Some(1)),
            (2, 5, Some(30), Some(2)),
            (1, 4, Some(99), None),
            (3, 1, None, None),
            (6, 2, Some(5), None),
        ];
        let mut regions = Regions::default();
        let rows = rows
            .into_iter()
            .map(|(p, s, t, r)| super::super::verdict::ServiceRow::new(p, s, t, r).expect("a row"))
            .collect();
        let keep = |p, svc| !(p == 1 && svc == 4);
        let facts = ServiceFacts::new(rows, keep, &texts, &mut regions).expect("two regions");
        let key = |p: u32, f: &ServiceFact| {
            let region = f.region().and_then(|r| regions.get(r)).map(|r| &**r);
            (p, f.svc(), f.last_ms(), region)
        };
        let of = |p| facts.of(p).iter().map(|f| key(p, f)).collect::<Vec<_>>();
        assert_eq!(
            of(1),
            [(1, 3, 10, Some("us-east-1")), (1, 9, NEVER_MS, None)]
        );
        assert_eq!(of(2), [(2, 5, 30, Some("eu-west-1"))]);
        assert_eq!(of(3), [(3, 1, NEVER_MS, None)]);
        assert_eq!(of(6), [(6, 2, 5, None)]);
        // Before the first, between two and after the last principal with rows: none.
        assert!([0, 4, 5, 7, u32::MAX].iter().all(|&p| of(p).is_empty()));
        // In the order of (principal, service) (the row of (1, 4) is not kept); the second
        // "eu-west-1" is the first one's.
        assert_eq!(regions.texts(), [us, eu]);
    }

    /// A fact is 10 bytes and gives back every time, service index and region id it holds.
    #[test]
    fn a_service_fact_is_ten_bytes_and_exact() {
        assert_eq!(std::mem::size_of::<ServiceFact>(), 10);
        let region = |i: u16| NonZeroU16::new(i).map(RegionId);
        for ms in [
            None,
            Some(0),
            Some(1),
            Some(1_764_000_000_123),
            Some((1 << 48) - 2),
        ] {
            for (svc, id) in [(0, None), (1, region(1)), (65_535, region(65_535))] {
                let last = LastAccess::from_ms(ms).expect("fits");
                let f = ServiceFact::new(svc, id, last);
                let want = (ms.unwrap_or(NEVER_MS), u32::from(svc), id);
                assert_eq!((f.last_ms(), f.svc(), f.region()), want);
            }
        }
    }
}
