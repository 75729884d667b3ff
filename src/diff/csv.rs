//! `diff.csv`, in one of two forms:
//!
//! - **grouped** (the default): one row per principal × service × change kind × verdict on each
//!   side, with the action notation and the number of actions per sensitivity ([`GROUPED`]);
//! - **per action** (`--per-action`): one row per principal × action, the form `diff.csv` had
//!   before rows were grouped ([`PER_ACTION`]).
//!
//! Either way every kind is written but the unchanged ones (`still_unused`, `still_unknown`,
//! `unchanged_used`, `identity_unchanged`: only with `--include-unchanged`; `identity_unknown`,
//! not counted as a change, is written), and rows are in
//! [`compare`](super::compare) order: kind, sensitivity (highest first), account, principal,
//! action. Accounts are compared one at a time, so rows are written per account into one part
//! file per kind × sensitivity ([`Parts`]) and the parts are joined at the end: the file is in
//! that order without holding the organisation's rows in memory. Headers are stable snake_case,
//! documented in `docs/usage.md`; cells are neutralised like the report's CSVs.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::compare::{Bucket, Change, State};
use super::expand::{self, ActionChange, NameOrder, Notations};
use crate::analysis::{BySensitivity, Sensitivity};
use crate::error::{Error, Result};
use crate::files::write_atomic;
use crate::report::csv::{neutralise, ts};

/// Columns of the grouped form.
pub const GROUPED: [&str; 25] = [
    "kind",
    "account_id",
    "principal_type",
    "principal_name",
    "principal_arn",
    "service",
    "action",
    "actions",
    "critical_actions",
    "high_actions",
    "medium_actions",
    "low_actions",
    "old_status",
    "new_status",
    "old_reason",
    "new_reason",
    "old_sensitivity",
    "new_sensitivity",
    "old_last_accessed",
    "new_last_accessed",
    "granted_by_old",
    "granted_by_new",
    "actionable",
    "excluded",
    "detail",
];

/// Columns of the per-action form.
pub const PER_ACTION: [&str; 20] = [
    "kind",
    "account_id",
    "principal_type",
    "principal_name",
    "principal_arn",
    "action",
    "service",
    "old_status",
    "new_status",
    "old_reason",
    "new_reason",
    "old_sensitivity",
    "new_sensitivity",
    "old_last_accessed",
    "new_last_accessed",
    "granted_by_old",
    "granted_by_new",
    "actionable",
    "excluded",
    "detail",
];

/// Which rows of `diff.csv`, in which form.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CsvOptions {
    /// One row per action instead of per group (`--per-action`).
    pub per_action: bool,
    /// Also the unchanged kinds (`--include-unchanged`).
    pub include_unchanged: bool,
}

impl CsvOptions {
    /// Whether `diff.csv` has the rows of `kind`: every kind but the unchanged ones, and those
    /// with `--include-unchanged`.
    pub fn writes(self, kind: super::ChangeKind) -> bool {
        self.include_unchanged || !kind.is_unchanged()
    }
}

fn text(s: &Option<State>, f: impl Fn(&State) -> String) -> String {
    s.as_ref().map(f).unwrap_or_default()
}

fn sens(x: Option<Sensitivity>) -> String {
    x.map(|x| x.as_str().to_string()).unwrap_or_default()
}

fn flag(b: bool) -> String {
    if b { "true" } else { "false" }.to_string()
}

/// Both sides' cells from `status` to `granted_by_new`, and `actionable`, `excluded`, `detail`.
struct Sides {
    status: [String; 2],
    reason: [String; 2],
    sensitivity: [String; 2],
    last: [String; 2],
    granted_by: [String; 2],
    tail: [String; 3],
}

#[allow(clippy::too_many_arguments)]
fn sides(
    old: &Option<State>,
    new: &Option<State>,
    old_s: Option<Sensitivity>,
    new_s: Option<Sensitivity>,
    identity: Option<&super::IdentityDelta>,
    actionable: bool,
    detail: &str,
) -> Sides {
    let excluded = new.as_ref().or(old.as_ref()).is_some_and(|x| x.excluded);
    let last = |s: &Option<State>, side: fn(&super::IdentityDelta) -> Option<String>| match identity
    {
        Some(i) => side(i).unwrap_or_default(),
        None => text(s, |x| ts(x.last_accessed)),
    };
    Sides {
        status: [
            text(old, |x| x.status.as_str().into()),
            text(new, |x| x.status.as_str().into()),
        ],
        reason: [
            text(old, |x| x.reason.as_str().into()),
            text(new, |x| x.reason.as_str().into()),
        ],
        sensitivity: [sens(old_s), sens(new_s)],
        last: [
            last(old, |i| Some(ts(i.old.as_ref().and_then(|f| f.last_used)))),
            last(new, |i| Some(ts(i.new.as_ref().and_then(|f| f.last_used)))),
        ],
        granted_by: [
            text(old, |x| x.granted_by.clone()),
            text(new, |x| x.granted_by.clone()),
        ],
        tail: [flag(actionable), flag(excluded), detail.to_string()],
    }
}

/// The cells of one per-action row.
pub fn per_action_cells(c: &ActionChange) -> Vec<String> {
    let s = sides(
        &c.old,
        &c.new,
        c.old_sensitivity,
        c.new_sensitivity,
        c.identity.as_deref(),
        c.actionable,
        &c.detail,
    );
    let [st_o, st_n] = s.status;
    let [r_o, r_n] = s.reason;
    let [s_o, s_n] = s.sensitivity;
    let [l_o, l_n] = s.last;
    let [g_o, g_n] = s.granted_by;
    let [act, exc, det] = s.tail;
    vec![
        c.kind.as_str().to_string(),
        c.account_id.clone(),
        c.principal_type.clone(),
        c.principal_name.clone(),
        c.principal_arn.clone(),
        c.action.clone(),
        c.service.clone(),
        st_o,
        st_n,
        r_o,
        r_n,
        s_o,
        s_n,
        l_o,
        l_n,
        g_o,
        g_n,
        act,
        exc,
        det,
    ]
}

/// The cells of one grouped row.
pub fn grouped_cells(c: &Change, notations: &mut Notations<'_>) -> Vec<String> {
    let s = sides(
        &c.old,
        &c.new,
        c.old_sensitivity,
        c.new_sensitivity,
        c.identity.as_deref(),
        c.actionable,
        &c.detail,
    );
    let (action, counts) = if c.actions.is_empty() {
        (
            c.action.clone(),
            [
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ],
        )
    } else {
        let b: BySensitivity = c.by_sensitivity();
        (
            notations.of(&c.actions),
            [
                c.actions.len().to_string(),
                b.critical.to_string(),
                b.high.to_string(),
                b.medium.to_string(),
                b.low.to_string(),
            ],
        )
    };
    let [st_o, st_n] = s.status;
    let [r_o, r_n] = s.reason;
    let [s_o, s_n] = s.sensitivity;
    let [l_o, l_n] = s.last;
    let [g_o, g_n] = s.granted_by;
    let [act, exc, det] = s.tail;
    let mut cells = vec![
        c.kind.as_str().to_string(),
        c.account_id.clone(),
        c.principal_type.clone(),
        c.principal_name.clone(),
        c.principal_arn.clone(),
        c.service.clone(),
        action,
    ];
    cells.extend(counts);
    cells.extend([
        st_o, st_n, r_o, r_n, s_o, s_n, l_o, l_n, g_o, g_n, act, exc, det,
    ]);
    cells
}

pub(super) fn writer<W: Write>(w: W) -> ::csv::Writer<W> {
    ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(w)
}

pub(super) fn record<W: Write>(
    out: &mut ::csv::Writer<W>,
    cells: &[String],
) -> std::io::Result<()> {
    out.write_record(cells.iter().map(|cell| neutralise(cell).into_owned()))
        .map_err(std::io::Error::other)
}

/// Writes the header and every row of `changes` (sorted as [`compare`](super::compare)
/// returns them) that `opts` selects, in one go.
pub fn write_changes<W: Write>(
    changes: &[Change],
    opts: CsvOptions,
    notations: &mut Notations<'_>,
    w: W,
) -> std::io::Result<()> {
    let mut out = writer(w);
    let keep = |k: super::ChangeKind| opts.writes(k);
    if opts.per_action {
        out.write_record(PER_ACTION)
            .map_err(std::io::Error::other)?;
        let order = NameOrder::new(notations.catalog());
        let mut err = Ok(());
        expand::per_action(changes, notations.catalog(), &order, |a| {
            if err.is_ok() && keep(a.kind) {
                err = record(&mut out, &per_action_cells(&a));
            }
        });
        err?;
    } else {
        out.write_record(GROUPED).map_err(std::io::Error::other)?;
        for c in changes.iter().filter(|c| keep(c.kind)) {
            record(&mut out, &grouped_cells(c, notations))?;
        }
    }
    out.flush()
}

/// Counts the bytes written through it.
struct Counting<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// One account's part: its file and where each bucket's rows are in it.
struct Part {
    account: String,
    path: PathBuf,
    /// Bucket, first byte, end.
    ranges: Vec<(Bucket, u64, u64)>,
}

/// `diff.csv` written account by account, in any order of accounts: each account's rows go to a
/// part file of their own (in a temporary folder beside `diff.csv`, `.diff-parts.<pid>.tmp`,
/// removed when done, on error, and by the next run after a crash), in bucket order, with the
/// byte range of each bucket noted; [`Parts::finish`] copies, bucket by bucket, each account's
/// range in account order. The file has the order of one sorted list without ever holding the
/// organisation's rows.
pub struct Parts {
    dir: PathBuf,
    opts: CsvOptions,
    order: Option<NameOrder>,
    parts: Vec<Part>,
}

/// The stem of the parts folder, for `files::remove_stale_temps`.
pub const PARTS_NAME: &str = "diff-parts";

type PartWriter = ::csv::Writer<Counting<BufWriter<fs::File>>>;

impl Parts {
    pub fn new(out_dir: &Path, opts: CsvOptions) -> Parts {
        Parts {
            dir: out_dir.join(format!(".{PARTS_NAME}.{}.tmp", std::process::id())),
            opts,
            order: None,
            parts: Vec::new(),
        }
    }

    fn keep(&self, k: super::ChangeKind) -> bool {
        self.opts.writes(k)
    }

    /// Adds one account's rows (sorted as [`compare`](super::compare) returns them).
    pub fn account(
        &mut self,
        account: &str,
        changes: &[Change],
        notations: &mut Notations<'_>,
    ) -> Result<()> {
        let mut w: Option<(PartWriter, Part)> = None;
        let mut write = |b: Bucket, cells: &[String], parts: &Parts| -> Result<()> {
            let (out, part) = match &mut w {
                Some(x) => x,
                None => {
                    fs::create_dir_all(&parts.dir).map_err(|e| Error::write(&parts.dir, e))?;
                    let path = parts.dir.join(format!("part-{:06}.csv", parts.parts.len()));
                    let f = fs::File::create(&path).map_err(|e| Error::write(&path, e))?;
                    let out = writer(Counting {
                        inner: BufWriter::new(f),
                        bytes: 0,
                    });
                    let part = Part {
                        account: account.to_string(),
                        path,
                        ranges: Vec::new(),
                    };
                    w.insert((out, part))
                }
            };
            let io = |e: std::io::Error| Error::write(&part.path, e);
            if part.ranges.last().is_none_or(|r| r.0 != b) {
                out.flush().map_err(io)?;
                let at = out.get_ref().bytes;
                if let Some(last) = part.ranges.last_mut() {
                    last.2 = at;
                }
                part.ranges.push((b, at, at));
            }
            record(out, cells).map_err(io)
        };
        if self.opts.per_action {
            let catalog = notations.catalog();
            let order = self.order.take().unwrap_or_else(|| NameOrder::new(catalog));
            let mut result = Ok(());
            expand::per_action(changes, catalog, &order, |a| {
                if result.is_ok() && self.keep(a.kind) {
                    let b = (
                        a.kind,
                        std::cmp::Reverse(a.old_sensitivity.max(a.new_sensitivity)),
                    );
                    result = write(b, &per_action_cells(&a), self);
                }
            });
            self.order = Some(order);
            result?;
        } else {
            for c in changes.iter().filter(|c| self.keep(c.kind)) {
                write(c.bucket(), &grouped_cells(c, notations), self)?;
            }
        }
        if let Some((mut out, mut part)) = w {
            out.flush().map_err(|e| Error::write(&part.path, e))?;
            let end = out.get_ref().bytes;
            if let Some(last) = part.ranges.last_mut() {
                last.2 = end;
            }
            let inner = out
                .into_inner()
                .map_err(|e| Error::write(&part.path, std::io::Error::other(e.to_string())))?;
            inner
                .inner
                .into_inner()
                .map_err(|e| Error::write(&part.path, e.into_error()))?;
            self.parts.push(part);
        }
        Ok(())
    }

    /// Writes `path`: the header, then each bucket's rows, account by account; removes the
    /// parts.
    pub fn finish(self, path: &Path) -> Result<()> {
        let header: &[&str] = if self.opts.per_action {
            &PER_ACTION
        } else {
            &GROUPED
        };
        let mut ranges: BTreeMap<Bucket, Vec<(&str, &Path, u64, u64)>> = BTreeMap::new();
        for p in &self.parts {
            for (b, start, end) in &p.ranges {
                ranges
                    .entry(*b)
                    .or_default()
                    .push((&p.account, &p.path, *start, *end));
            }
        }
        write_atomic(path, |w| {
            let mut head = writer(Vec::new());
            head.write_record(header)
                .map_err(|e| Error::write(path, std::io::Error::other(e)))?;
            let head = head
                .into_inner()
                .map_err(|e| Error::write(path, std::io::Error::other(e.to_string())))?;
            w.write_all(&head).map_err(|e| Error::write(path, e))?;
            for list in ranges.values_mut() {
                list.sort_by(|a, b| a.0.cmp(b.0));
                for (_, part, start, end) in list.iter() {
                    use std::io::{Read, Seek, SeekFrom};
                    let mut f = fs::File::open(part).map_err(|e| Error::read(*part, e))?;
                    f.seek(SeekFrom::Start(*start))
                        .map_err(|e| Error::read(*part, e))?;
                    std::io::copy(&mut f.take(end - start), w)
                        .map_err(|e| Error::write(path, e))?;
                }
            }
            Ok(())
        })
    }
}

impl Drop for Parts {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}
