//! The polars part of the analysis: join grants with last-accessed data and decide verdicts.
//!
//! Inputs arrive as plain rows; outputs leave as plain rows. Column names are constants.
//! A grant row is a group of actions (see `groups`); the actions AWS tracks for the principal are
//! grouped by their evidence (last access, region), and only those rows join action-level data.

use std::sync::Arc;

use polars::prelude::*;

use super::Reason;
use super::groups::ListId;
use super::model::{GrantedById, LastAccess};
use crate::model::SharedTexts;

// Column names.
const P: &str = "p";
const A: &str = "a";
const SVC: &str = "svc";
const SCOPED: &str = "scoped";
const CONDITIONAL: &str = "conditional";
const GB: &str = "gb";
const LIST: &str = "list";
const NOT_OBS: &str = "not_observable";
const HAS_LA: &str = "has_la";
const CREATED: &str = "created_ms";
const GRANTED_SINCE: &str = "granted_since_ms";
const WINDOW_START: &str = "window_start_ms";
const WINDOW_END: &str = "window_end_ms";
const USED_AFTER: &str = "used_after_data";
const SVC_SEEN: &str = "svc_seen";
const TRACKED_SINCE: &str = "tracked_since_ms";
const SVC_LAST: &str = "svc_last_ms";
const SVC_REGION: &str = "svc_region";
const TRACKED: &str = "tracked";
const ACT_LAST: &str = "act_last_ms";
const ACT_REGION: &str = "act_region";
const REASON: &str = "reason";
const LAST: &str = "last_ms";
const REGION: &str = "region";

/// `GrantRow::a` of a row that is not a single tracked action.
pub const NO_ACTION: u32 = u32::MAX;

pub struct GrantRow {
    pub p: u32,
    /// For actions AWS tracks for this principal: the id of their evidence (an `ActionRow::a`
    /// of the same principal); else `NO_ACTION`.
    pub a: u32,
    /// The group's action list.
    pub list: ListId,
    pub svc: u32,
    pub scoped: bool,
    pub conditional: bool,
    pub gb: GrantedById,
    pub not_observable: bool,
    /// The earliest the principal can have been granted these actions, when the export bounds
    /// it: the latest creation date of each granting policy and of the group it comes through,
    /// the earliest over the policies (`None` when one has no such date, as an inline policy of
    /// the principal's own).
    pub granted_since_ms: Option<i64>,
}

pub struct PrincipalRow {
    pub p: u32,
    pub has_la: bool,
    pub created_ms: Option<i64>,
    pub window_start_ms: Option<i64>,
    /// The as-of time, or the principal's own JobCompletionDate when earlier.
    pub window_end_ms: Option<i64>,
    /// Its window ends at its own report, older than the as-of time, and its `RoleLastUsed` is
    /// more than a day later: an unused verdict is [`Reason::UsedAfterData`].
    pub used_after_data: bool,
}

/// What a principal's last-accessed report says of one service. The collection's largest rows
/// (at 300 accounts × 100 roles, 57 a principal; ~0.9 GB at 1,000,000 roles, held from the
/// collection to the rank): 16 bytes, the time in 48 bits ([`LastAccess`], the findings'), the
/// service 16 bits (a catalog holds at most 65,535 services) and the region an id (a shared
/// string took 16; with an `i64` time and a 32-bit service the row took 24).
#[derive(Debug, Clone, Copy)]
pub struct ServiceRow {
    pub p: u32,
    /// In [`Inputs::regions`], [`NO_REGION`] when the report names none.
    region: u32,
    svc: u16,
    last: LastAccess,
}

/// [`ServiceRow`]'s region when the report names none.
const NO_REGION: u32 = u32::MAX;

impl ServiceRow {
    /// A row; `region` indexes [`Inputs::regions`] (below `u32::MAX`). `None` where the
    /// service index does not fit 16 bits (`Catalog::parse` refuses such a catalog) or the time
    /// is before 1970 (the inputs refuse such a time, naming the file): never.
    pub fn new(p: u32, svc: u32, last_ms: Option<i64>, region: Option<u32>) -> Option<ServiceRow> {
        Some(ServiceRow {
            p,
            region: region.unwrap_or(NO_REGION),
            svc: u16::try_from(svc).ok()?,
            last: LastAccess::from_ms(last_ms)?,
        })
    }

    /// The catalog's index of the service.
    pub fn svc(&self) -> u32 {
        u32::from(self.svc)
    }

    /// The same, as held: 16 bits.
    pub(super) fn svc16(&self) -> u16 {
        self.svc
    }

    /// The last access, in milliseconds since the epoch.
    pub fn last_ms(&self) -> Option<i64> {
        self.last.ms()
    }

    /// The region of the last access, in [`Inputs::regions`].
    pub fn region(&self) -> Option<u32> {
        (self.region != NO_REGION).then_some(self.region)
    }

    /// The row with its region given another id (`collect` merges ids of its threads).
    pub fn with_region(self, region: Option<u32>) -> ServiceRow {
        ServiceRow {
            region: region.unwrap_or(NO_REGION),
            ..self
        }
    }

    /// The last access.
    pub fn last(&self) -> LastAccess {
        self.last
    }
}

/// Action-level evidence of a principal: one row per distinct (last access, region) of its
/// tracked actions.
pub struct ActionRow {
    pub p: u32,
    /// Evidence id, unique per principal.
    pub a: u32,
    pub last_ms: Option<i64>,
    pub region: Option<Arc<str>>,
}

#[derive(Default)]
pub struct Inputs {
    pub grants: Vec<GrantRow>,
    pub principals: Vec<PrincipalRow>,
    pub services: Vec<ServiceRow>,
    pub actions: Vec<ActionRow>,
    /// The regions of the service rows, by id.
    pub regions: Vec<Arc<str>>,
    /// What a principal's last-accessed report shows used since its window started but the
    /// catalog does not know (`service:Action`, or `service:*` for a service it does not know),
    /// by principal, in principal order: kept by a tightened policy ([`Analysis::uncatalogued`]).
    pub uncatalogued: Vec<(u32, Arc<str>)>,
    /// Per service (catalog order): since when AWS tracks its actions one by one, in ms
    /// ([`action_tracking_since_ms`]); a service past the list's end counts from the latest date.
    pub tracking_since_ms: Vec<i64>,
}

/// Since when AWS tracks a service's actions one by one, in ms since 1970: Amazon S3's
/// management actions from 2020-04-12, Amazon EC2, IAM and AWS Lambda from 2021-04-07, the other
/// services from 2023-05-23 (IAM User Guide, *action last accessed information*; see
/// `docs/methodology.md`). An action-level "no use" says nothing of the time before.
pub fn action_tracking_since_ms(service: &str) -> i64 {
    match service {
        "s3" => 1_586_649_600_000,
        "ec2" | "iam" | "lambda" => 1_617_753_600_000,
        _ => LATEST_TRACKING_SINCE_MS,
    }
}

/// 2023-05-23T00:00:00Z: the latest start date of [`action_tracking_since_ms`].
const LATEST_TRACKING_SINCE_MS: i64 = 1_684_800_000_000;

pub struct VerdictRow {
    pub p: u32,
    pub list: ListId,
    pub reason: Reason,
    pub last_ms: Option<i64>,
    pub region: Option<Arc<str>>,
    pub gb: GrantedById,
    pub scoped: bool,
    pub conditional: bool,
}

fn u32_col(name: &str, v: Vec<u32>) -> Column {
    Column::new(name.into(), v)
}

fn frames(inputs: &Chunk<'_>) -> PolarsResult<[DataFrame; 4]> {
    let g = inputs.grants;
    let grants = DataFrame::new_infer_height(vec![
        u32_col(P, g.iter().map(|r| r.p).collect()),
        u32_col(A, g.iter().map(|r| r.a).collect()),
        u32_col(SVC, g.iter().map(|r| r.svc).collect()),
        u32_col(LIST, g.iter().map(|r| r.list.0).collect()),
        Column::new(
            SCOPED.into(),
            g.iter().map(|r| r.scoped).collect::<Vec<_>>(),
        ),
        Column::new(
            CONDITIONAL.into(),
            g.iter().map(|r| r.conditional).collect::<Vec<_>>(),
        ),
        u32_col(GB, g.iter().map(|r| r.gb.0).collect()),
        Column::new(
            GRANTED_SINCE.into(),
            g.iter().map(|r| r.granted_since_ms).collect::<Vec<_>>(),
        ),
        Column::new(
            NOT_OBS.into(),
            g.iter().map(|r| r.not_observable).collect::<Vec<_>>(),
        ),
        Column::new(
            TRACKED_SINCE.into(),
            g.iter()
                .map(|r| {
                    let since = inputs.tracking_since_ms.get(r.svc as usize);
                    since.copied().unwrap_or(LATEST_TRACKING_SINCE_MS)
                })
                .collect::<Vec<_>>(),
        ),
    ])?;
    let pr = inputs.principals;
    let principals = DataFrame::new_infer_height(vec![
        u32_col(P, pr.iter().map(|r| r.p).collect()),
        Column::new(
            HAS_LA.into(),
            pr.iter().map(|r| r.has_la).collect::<Vec<_>>(),
        ),
        Column::new(
            CREATED.into(),
            pr.iter().map(|r| r.created_ms).collect::<Vec<_>>(),
        ),
        Column::new(
            WINDOW_START.into(),
            pr.iter().map(|r| r.window_start_ms).collect::<Vec<_>>(),
        ),
        Column::new(
            WINDOW_END.into(),
            pr.iter().map(|r| r.window_end_ms).collect::<Vec<_>>(),
        ),
        Column::new(
            USED_AFTER.into(),
            pr.iter().map(|r| r.used_after_data).collect::<Vec<_>>(),
        ),
    ])?;
    let s = inputs.services;
    let services = DataFrame::new_infer_height(vec![
        u32_col(P, s.iter().map(|r| r.p).collect()),
        u32_col(SVC, s.iter().map(ServiceRow::svc).collect()),
        Column::new(SVC_SEEN.into(), vec![true; s.len()]),
        Column::new(
            SVC_LAST.into(),
            s.iter().map(ServiceRow::last_ms).collect::<Vec<_>>(),
        ),
        Column::new(
            SVC_REGION.into(),
            s.iter()
                .map(|r| r.region().map(|id| &*inputs.regions[id as usize]))
                .collect::<Vec<_>>(),
        ),
    ])?;
    let ac = inputs.actions;
    let actions = DataFrame::new_infer_height(vec![
        u32_col(P, ac.iter().map(|r| r.p).collect()),
        u32_col(A, ac.iter().map(|r| r.a).collect()),
        Column::new(TRACKED.into(), vec![true; ac.len()]),
        Column::new(
            ACT_LAST.into(),
            ac.iter().map(|r| r.last_ms).collect::<Vec<_>>(),
        ),
        Column::new(
            ACT_REGION.into(),
            ac.iter().map(|r| r.region.as_deref()).collect::<Vec<_>>(),
        ),
    ])?;
    Ok([grants, principals, services, actions])
}

fn left(on: &[&str]) -> (Vec<Expr>, Vec<Expr>, JoinArgs) {
    let keys: Vec<Expr> = on.iter().map(|c| col(*c)).collect();
    (keys.clone(), keys, JoinArgs::new(JoinType::Left))
}

fn code(r: Reason) -> Expr {
    lit(r.code())
}

/// The most grant rows one join takes (whole principals: a chunk may end past it). At 100,000
/// roles the grants are ~1.1 M rows and the last-accessed services ~4.4 M; joined at once, the
/// join's intermediate frames were the heap's peak.
pub const CHUNK_GRANTS: usize = 1 << 18;

/// The rows of a range of principals.
struct Chunk<'a> {
    grants: &'a [GrantRow],
    principals: &'a [PrincipalRow],
    services: &'a [ServiceRow],
    actions: &'a [ActionRow],
    regions: &'a [Arc<str>],
    tracking_since_ms: &'a [i64],
}

impl<'a> Chunk<'a> {
    /// The rows of the principals up to `last` (included), and the rest; every list in
    /// principal order.
    fn split_after(&self, last: u32) -> (Chunk<'a>, Chunk<'a>) {
        let (grants, g) = self
            .grants
            .split_at(self.grants.partition_point(|r| r.p <= last));
        let (principals, pr) = self
            .principals
            .split_at(self.principals.partition_point(|r| r.p <= last));
        let (services, s) = self
            .services
            .split_at(self.services.partition_point(|r| r.p <= last));
        let (actions, a) = self
            .actions
            .split_at(self.actions.partition_point(|r| r.p <= last));
        (
            Chunk {
                grants,
                principals,
                services,
                actions,
                regions: self.regions,
                tracking_since_ms: self.tracking_since_ms,
            },
            Chunk {
                grants: g,
                principals: pr,
                services: s,
                actions: a,
                regions: self.regions,
                tracking_since_ms: self.tracking_since_ms,
            },
        )
    }
}

/// Joins and decides, [`CHUNK_GRANTS`] grant rows at a time: one row out per grant row in, in
/// no particular order, each turned by `f` into what the caller keeps as its chunk is decided.
/// Only one chunk's verdict rows are ever held (at 100,000 roles all of them at once, beside the
/// findings made of them, were the analysis' peak). The grant and action rows are consumed
/// (`inputs` keeps none): nothing but the join reads them, and they are freed as it goes.
pub fn compute_map<T>(inputs: &mut Inputs, f: impl FnMut(VerdictRow) -> T) -> PolarsResult<Vec<T>> {
    compute_in_chunks(inputs, CHUNK_GRANTS, f)
}

/// [`compute_map`] on ranges of principals with about `max_grants` grant rows each (every row of
/// a principal in the same range, so each join sees all of its principals' rows). Rows not in
/// principal order (which `collect` never makes) are joined at once.
///
/// The rows already joined are dropped from the front of the grant and action vectors once they
/// are an eighth of the rows still to join ([`drop_joined`]): what the join makes (a finding is
/// 24 bytes, a grant row 24) grows while what it reads shrinks, instead of both being held whole
/// at its end (at 1,000,000 roles ~0.9 GB of grant rows, by their count, beside every finding).
/// Dropped once half as many, the joined rows not yet given back made the first third of the
/// join the 1,000,000-role run's peak (~0.3 GB above what collecting held).
pub fn compute_in_chunks<T>(
    inputs: &mut Inputs,
    max_grants: usize,
    mut f: impl FnMut(VerdictRow) -> T,
) -> PolarsResult<Vec<T>> {
    let mut grants = std::mem::take(&mut inputs.grants);
    let mut actions = std::mem::take(&mut inputs.actions);
    let sorted = grants.is_sorted_by_key(|r| r.p)
        && inputs.principals.is_sorted_by_key(|r| r.p)
        && inputs.services.is_sorted_by_key(|r| r.p)
        && actions.is_sorted_by_key(|r| r.p);
    if !sorted {
        let whole = Chunk {
            grants: &grants,
            principals: &inputs.principals,
            services: &inputs.services,
            actions: &actions,
            regions: &inputs.regions,
            tracking_since_ms: &inputs.tracking_since_ms,
        };
        return Ok(compute_chunk(&whole)?.into_iter().map(f).collect());
    }
    let mut rows = Vec::with_capacity(grants.len());
    // Where the rows not joined yet start.
    let (mut g, mut a, mut pr, mut s) = (0, 0, 0, 0);
    while g < grants.len() {
        let rest = Chunk {
            grants: &grants[g..],
            principals: &inputs.principals[pr..],
            services: &inputs.services[s..],
            actions: &actions[a..],
            regions: &inputs.regions,
            tracking_since_ms: &inputs.tracking_since_ms,
        };
        // The chunk ends with the principal of its last grant row within the limit.
        let last = rest.grants[max_grants.clamp(1, rest.grants.len()) - 1].p;
        let (chunk, _) = rest.split_after(last);
        rows.extend(compute_chunk(&chunk)?.into_iter().map(&mut f));
        g += chunk.grants.len();
        a += chunk.actions.len();
        pr += chunk.principals.len();
        s += chunk.services.len();
        drop_joined(&mut grants, &mut g);
        drop_joined(&mut actions, &mut a);
    }
    Ok(rows)
}

/// Drops `rows[..*joined]` once those rows are at least an eighth of the rest
/// ([`DROP_JOINED_AT`]; `*joined` becomes 0), giving back the room at the end: the rest are moved
/// to the front (over a whole join, at most eight times as many moves as rows: each drop moves
/// the rest, at most eight times the rows it drops; at 1,000,000 roles ~7 GB of `memmove`, ~1 s
/// of a ~30 s stage) and the vector shrunk, which the allocator does in place for a vector this
/// large.
fn drop_joined<R>(rows: &mut Vec<R>, joined: &mut usize) {
    if *joined == 0 || joined.saturating_mul(DROP_JOINED_AT) < rows.len() - *joined {
        return;
    }
    rows.drain(..*joined);
    rows.shrink_to_fit();
    *joined = 0;
}

/// Joined rows are dropped once they are this fraction (1/N) of the rows still to join
/// ([`drop_joined`]).
const DROP_JOINED_AT: usize = 8;

/// Granted after the window (starting at `ws`) started, by policies (or through a group)
/// created since: held for less than the window, so no use yet says nothing either.
fn granted_in_window(ws: Expr) -> Expr {
    col(GRANTED_SINCE)
        .is_not_null()
        .and(col(GRANTED_SINCE).gt_eq(ws))
}

/// Joins and decides one chunk.
fn compute_chunk(inputs: &Chunk<'_>) -> PolarsResult<Vec<VerdictRow>> {
    if inputs.grants.is_empty() {
        return Ok(Vec::new());
    }
    let [grants, principals, services, actions] = frames(inputs)?;

    // Services in the last-accessed reports may be listed more than once across pages merged by
    // hand; keep one row per key so the joins stay one-to-one.
    let services = services
        .lazy()
        .unique(Some(cols([P, SVC])), UniqueKeepStrategy::First);
    let actions = actions
        .lazy()
        .unique(Some(cols([P, A])), UniqueKeepStrategy::First);

    let (l, r, args) = left(&[P]);
    let joined = grants.lazy().join(principals.lazy(), l, r, args);
    let (l, r, args) = left(&[P, SVC]);
    let joined = joined.join(services, l, r, args);
    let (l, r, args) = left(&[P, A]);
    let joined = joined.join(actions, l, r, args);

    let svc_seen = col(SVC_SEEN).fill_null(lit(false));
    let tracked = col(TRACKED).fill_null(lit(false));
    let ws = col(WINDOW_START);
    let we = col(WINDOW_END);
    // An action AWS tracks one by one, over the whole window: its "no use" covers the window.
    // Tracked since after the window started, only a use in the window says something of it;
    // else the service's data decides (unused when the service was not used, else unknown).
    let whole = tracked.clone().and(ws.clone().gt_eq(col(TRACKED_SINCE)));
    let own = tracked
        .clone()
        .and(whole.clone().or(col(ACT_LAST).is_not_null()));
    // The evidence that decides: the action's own time when AWS tracks it, else the service's.
    let evidence = when(own.clone())
        .then(col(ACT_LAST))
        .otherwise(col(SVC_LAST));
    let reason = when(col(HAS_LA).not())
        .then(code(Reason::NoLastAccessedData))
        .when(col(NOT_OBS))
        .then(code(Reason::NotObservable))
        .when(svc_seen.clone().not())
        .then(code(Reason::NotObservable))
        .when(evidence.clone().is_not_null().and(evidence.clone().gt(we)))
        .then(code(Reason::AccessedAfterAsOf))
        .when(
            tracked
                .clone()
                .and(col(ACT_LAST).is_not_null())
                .and(col(ACT_LAST).gt_eq(ws.clone())),
        )
        .then(code(Reason::AccessedInWindow))
        .when(whole.clone().and(col(ACT_LAST).is_not_null()))
        .then(code(Reason::ActionLastAccessedBeforeWindow))
        .when(whole)
        .then(code(Reason::ActionNotAccessed))
        .when(col(SVC_LAST).is_null().or(col(SVC_LAST).lt(ws.clone())))
        .then(code(Reason::ServiceNotAccessed))
        .otherwise(code(Reason::ActionNotTracked));
    // A principal younger than the window shows no use yet: never call that unused.
    let unused = col(REASON)
        .eq(code(Reason::ActionNotAccessed))
        .or(col(REASON).eq(code(Reason::ActionLastAccessedBeforeWindow)))
        .or(col(REASON).eq(code(Reason::ServiceNotAccessed)));
    let too_new = col(CREATED).is_null().or(col(CREATED).gt_eq(ws.clone()));
    let grant_new = granted_in_window(ws);
    let out = joined
        .with_columns([
            reason.alias(REASON),
            evidence.alias(LAST),
            when(own)
                .then(col(ACT_REGION))
                .otherwise(col(SVC_REGION))
                .alias(REGION),
        ])
        .with_columns([when(unused.clone().and(too_new))
            .then(code(Reason::PrincipalTooNew))
            .when(unused.clone().and(grant_new))
            .then(code(Reason::GrantTooNew))
            .when(unused.and(col(USED_AFTER).fill_null(lit(false))))
            .then(code(Reason::UsedAfterData))
            .otherwise(col(REASON))
            .alias(REASON)])
        .select([
            col(P),
            col(LIST),
            col(REASON).cast(DataType::UInt32),
            col(LAST),
            col(REGION),
            col(GB),
            col(SCOPED),
            col(CONDITIONAL),
        ])
        .collect()?;

    let p = out.column(P)?.u32()?;
    let list = out.column(LIST)?.u32()?;
    let reason = out.column(REASON)?.u32()?;
    let last = out.column(LAST)?.i64()?;
    let region = out.column(REGION)?.str()?;
    let gb = out.column(GB)?.u32()?;
    let scoped = out.column(SCOPED)?.bool()?;
    let conditional = out.column(CONDITIONAL)?.bool()?;
    let mut rows = Vec::with_capacity(out.height());
    let mut regions = SharedTexts::default();
    for i in 0..out.height() {
        rows.push(VerdictRow {
            p: p.get(i).unwrap_or_default(),
            list: ListId(list.get(i).unwrap_or_default()),
            reason: Reason::from_code(reason.get(i).unwrap_or(Reason::NoLastAccessedData.code())),
            last_ms: last.get(i),
            region: region.get(i).map(|r| regions.get(r)),
            gb: GrantedById(gb.get(i).unwrap_or_default()),
            scoped: scoped.get(i).unwrap_or(false),
            conditional: conditional.get(i).unwrap_or(false),
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Six principals with grants, service and action evidence of every kind (one without any).
    fn inputs() -> Inputs {
        let mut i = Inputs {
            regions: vec!["eu-west-1".into()],
            // Every service tracked one by one since 1970.
            tracking_since_ms: vec![0; 3],
            ..Inputs::default()
        };
        for p in 0..6u32 {
            i.principals.push(PrincipalRow {
                p,
                has_la: p != 3,
                created_ms: Some(if p == 4 { 5_000 } else { 0 }),
                window_start_ms: Some(1_000),
                window_end_ms: Some(10_000),
                used_after_data: false,
            });
            for svc in 0..3u32 {
                // Principal 3 has no last-accessed data: a chunk of it alone joins empty frames.
                if p != 3 && (p % 2 == 0 || svc < 2) {
                    i.services.push(
                        ServiceRow::new(
                            p,
                            svc,
                            (svc > 0).then(|| 600 * i64::from(svc + p)),
                            (svc == 1).then_some(0),
                        )
                        .expect("a row"),
                    );
                }
                for k in 0..=(p % 3) {
                    i.grants.push(GrantRow {
                        p,
                        a: if k == 0 { NO_ACTION } else { k },
                        list: ListId(p * 10 + svc * 3 + k),
                        svc,
                        scoped: k == 1,
                        conditional: svc == 0,
                        gb: GrantedById(svc),
                        not_observable: svc == 2 && p == 5,
                        granted_since_ms: None,
                    });
                }
            }
            for a in (1..3u32).filter(|_| p != 3) {
                i.actions.push(ActionRow {
                    p,
                    a,
                    last_ms: (a == 1).then(|| 400 * i64::from(a + p)),
                    region: (a == 2).then(|| "us-east-1".into()),
                });
            }
        }
        i
    }

    type Key = (
        u32,
        u32,
        u32,
        Option<i64>,
        Option<Arc<str>>,
        u32,
        bool,
        bool,
    );

    fn sorted(rows: Vec<VerdictRow>) -> Vec<Key> {
        let mut keys: Vec<Key> = rows
            .into_iter()
            .map(|r| {
                let reason = r.reason.code();
                let (p, list, gb) = (r.p, r.list.0, r.gb.0);
                (
                    p,
                    list,
                    reason,
                    r.last_ms,
                    r.region,
                    gb,
                    r.scoped,
                    r.conditional,
                )
            })
            .collect();
        keys.sort();
        keys
    }

    /// An action AWS began tracking one by one after the window started: its "no use" covers
    /// only part of the window, so the service's data decides (unused only when the whole
    /// service was not used); a use in the window is still a use. Tracked over the whole window,
    /// the same rows are the action-level verdicts.
    #[test]
    fn action_level_no_use_counts_only_when_tracking_covers_the_window() {
        // Principal p: window 1,000–10,000; service 0 used at `svc_last`; one tracked action
        // last used at `act_last`.
        let run = |since: i64, svc_last: Option<i64>, act_last: Option<i64>| {
            let mut i = Inputs {
                tracking_since_ms: vec![since],
                ..Inputs::default()
            };
            i.principals.push(PrincipalRow {
                p: 0,
                has_la: true,
                created_ms: Some(0),
                window_start_ms: Some(1_000),
                window_end_ms: Some(10_000),
                used_after_data: false,
            });
            i.services
                .push(ServiceRow::new(0, 0, svc_last, None).expect("a row"));
            i.actions.push(ActionRow {
                p: 0,
                a: 0,
                last_ms: act_last,
                region: None,
            });
            i.grants.push(GrantRow {
                p: 0,
                a: 0,
                list: ListId(0),
                svc: 0,
                scoped: false,
                conditional: false,
                gb: GrantedById(0),
                not_observable: false,
                granted_since_ms: None,
            });
            let rows = compute_in_chunks(&mut i, usize::MAX, |v| (v.reason, v.last_ms)).unwrap();
            assert_eq!(rows.len(), 1);
            rows[0]
        };
        use Reason::*;
        // Tracked since before the window (1,000): the action's own data decides.
        assert_eq!(run(500, Some(5_000), None), (ActionNotAccessed, None));
        assert_eq!(
            run(500, Some(5_000), Some(700)),
            (ActionLastAccessedBeforeWindow, Some(700))
        );
        assert_eq!(run(1_000, Some(5_000), None), (ActionNotAccessed, None));
        // Tracked only since 2,000: the service was used in the window, so unknown (with the
        // service's last use as context); not used in it, so unused.
        assert_eq!(
            run(2_000, Some(5_000), None),
            (ActionNotTracked, Some(5_000))
        );
        assert_eq!(run(2_000, Some(500), None), (ServiceNotAccessed, Some(500)));
        assert_eq!(run(2_000, None, None), (ServiceNotAccessed, None));
        // A use in the window is a use either way.
        assert_eq!(
            run(2_000, Some(5_000), Some(4_000)),
            (AccessedInWindow, Some(4_000))
        );
    }

    #[test]
    fn chunks_of_principals_give_the_rows_of_one_join() {
        let mut i = inputs();
        let grants = i.grants.len();
        let whole = sorted(compute_in_chunks(&mut i, usize::MAX, |v| v).unwrap());
        assert_eq!(whole.len(), grants);
        // The grant and action rows were consumed; the others are still there.
        assert!(i.grants.is_empty() && i.actions.is_empty());
        assert!(!i.principals.is_empty() && !i.services.is_empty());
        let reasons: std::collections::BTreeSet<u32> = whole.iter().map(|k| k.2).collect();
        assert!(reasons.len() >= 4, "{reasons:?}");
        // Chunks of one grant row up: the joined rows are dropped from the front as the join
        // goes (`drop_joined`) at many points.
        for max in [1, 2, 3, 5, 8, 13] {
            let chunked = sorted(compute_in_chunks(&mut inputs(), max, |v| v).unwrap());
            assert_eq!(chunked, whole, "chunks of {max}");
        }
        // Rows out of principal order are joined at once, not split.
        let mut shuffled = inputs();
        shuffled.services.reverse();
        assert_eq!(
            sorted(compute_in_chunks(&mut shuffled, 1, |v| v).unwrap()),
            whole
        );
    }

    /// Joined rows are dropped once an eighth of the rest, and the rest keep their order.
    #[test]
    fn joined_rows_are_dropped_from_the_front() {
        assert_eq!(DROP_JOINED_AT, 8);
        let mut rows: Vec<u32> = (0..60).collect();
        let mut joined = 6;
        drop_joined(&mut rows, &mut joined);
        // 6 joined, 54 to go (an eighth of which is 6.75): kept.
        assert_eq!((rows.len(), joined), (60, 6));
        joined = 7;
        drop_joined(&mut rows, &mut joined);
        assert_eq!(rows, (7..60).collect::<Vec<_>>());
        assert_eq!(joined, 0);
        assert!(rows.capacity() < 60, "{}", rows.capacity());
        // Nothing joined: nothing dropped; everything joined: everything dropped.
        drop_joined(&mut rows, &mut joined);
        assert_eq!(rows.len(), 53);
        joined = 53;
        drop_joined(&mut rows, &mut joined);
        assert!(rows.is_empty() && joined == 0);
    }

    #[test]
    fn a_service_row_is_sixteen_bytes_and_exact() {
        // p, the region's id, the service in 16 bits and the time in 48.
        assert_eq!(std::mem::size_of::<ServiceRow>(), 16);
        // The latest time 48 bits hold (all ones is `LastAccess::NEVER`).
        let max = (1i64 << 48) - 2;
        for t in [None, Some(0), Some(1), Some(1_764_892_800_000), Some(max)] {
            assert_eq!(ServiceRow::new(1, 2, t, None).map(|r| r.last_ms()), Some(t));
        }
        // Before 1970, past 48 bits, or a service past 16 bits: not a row.
        for t in [Some(-1), Some(max + 1), Some(i64::MAX), Some(i64::MIN)] {
            assert!(ServiceRow::new(1, 2, t, None).is_none(), "{t:?}");
        }
        assert_eq!(
            ServiceRow::new(1, 65_535, None, None).map(|r| r.svc()),
            Some(65_535)
        );
        assert!(ServiceRow::new(1, 65_536, None, None).is_none());
        for r in [None, Some(0), Some(7), Some(u32::MAX - 1)] {
            let row = ServiceRow::new(1, 2, None, r).expect("a row");
            assert_eq!(row.region(), r);
            let none = ServiceRow::new(1, 2, None, None).expect("a row");
            assert_eq!(none.with_region(r).region(), r);
        }
    }
}
