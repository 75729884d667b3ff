//! The window each verdict covers: the as-of time, checked against the data, and each
//! principal's window end (never past its own last-accessed job).

use super::{AccountWarning, MAX_WINDOW_DAYS};
use crate::error::{Error, Result};
use crate::model::{Export, LastAccessed, Principal, Timestamp, Warning};

/// `--as-of` may not lie after the export's own data: the window would reach into time the
/// last-accessed data does not cover, and used permissions would look unused. Nor may its window
/// start before the [`MAX_WINDOW_DAYS`] AWS keeps before the data (last-accessed data and
/// `RoleLastUsed` show no use older than that, so the window's first days would be judged on no
/// data at all). An export without any time of its own cannot be checked: it gets a warning (and
/// its identity checks that judge a window or an age are not run, `identities::Gaps::note`).
pub(super) fn check_as_of(
    export: &Export,
    flag: Option<Timestamp>,
    window_days: u32,
    warnings: &mut Vec<AccountWarning>,
) -> Result<()> {
    let Some(flag) = flag else {
        return Ok(());
    };
    // `Export::own_time`, with where it comes from.
    let (data, what) = match (export.newest_job(), export.data_time) {
        (Some(t), _) => (t, "newest JobCompletionDate"),
        (None, Some(t)) => (t, "manifest.json time (it has no last-accessed job dates)"),
        (None, None) => {
            warnings.push(AccountWarning {
                account_id: export.account_id.clone(),
                warning: Warning {
                    code: "as_of_unverified".into(),
                    file: None,
                    json_path: None,
                    message: format!(
                        "the export has no time of its own (no last-accessed job dates, no manifest.json), so --as-of {} cannot be checked against it; its identity checks that judge a window or an age are not run (checks_not_possible says so)",
                        crate::model::rfc3339(flag)
                    ),
                },
            });
            return Ok(());
        }
    };
    if flag > data {
        return Err(Error::Input {
            path: export.root.clone(),
            message: format!(
                "--as-of {} is later than the data of account {} ({what}: {}): the window would reach past what the export covers and call used permissions unused; give an --as-of no later than that, or leave it out (each export then uses its own time)",
                crate::model::rfc3339(flag),
                export.account_id,
                crate::model::rfc3339(data)
            ),
        });
    }
    // A principal's window ends at the as-of time or at its own (earlier) job, and its data
    // reaches back MAX_WINDOW_DAYS from that job: the newest job bounds every principal's.
    let earliest = crate::model::days_before(data, MAX_WINDOW_DAYS.saturating_sub(window_days));
    if earliest.is_none_or(|e| flag < e) {
        return Err(Error::Input {
            path: export.root.clone(),
            message: format!(
                "--as-of {} is too early for the data of account {} ({what}: {}): its {window_days}-day window would start more than {MAX_WINDOW_DAYS} days before the data, and AWS keeps no last access older than that, so the window's first days would be judged on no data and call permissions unused; give an --as-of of {} or later (and no later than the data), or leave it out (each export then uses its own time)",
                crate::model::rfc3339(flag),
                export.account_id,
                crate::model::rfc3339(data),
                earliest.map_or_else(|| "a later date".into(), crate::model::rfc3339),
            ),
        });
    }
    Ok(())
}

/// How many days older than an export's as-of time the catalog may be before the report warns:
/// the default window's length.
const CATALOG_STALE_AFTER_DAYS: i64 = 90;

/// Warns, once for the run, when the catalog (its `#updated` date) is more than
/// [`CATALOG_STALE_AFTER_DAYS`] older than an export's as-of time: on the first such account,
/// counting the others. AWS adds actions every week; one newer than the catalog has no verdict,
/// and where AWS does not track it one by one its use leaves no trace a tightened policy could
/// keep: a replaced wildcard (`sqs:*` written out as the actions the catalog knows) drops it. (A
/// newer action AWS does track is kept when used: `uncatalogued_action_used`.) A catalog without
/// an `#updated` date (`unknown`) cannot be dated: no warning.
pub(super) fn warn_catalog_age(
    catalog: &crate::catalog::Catalog,
    exports: &[super::ExportInfo],
    warnings: &mut Vec<AccountWarning>,
) {
    let Ok(updated) = chrono::NaiveDate::parse_from_str(catalog.updated(), "%Y-%m-%d") else {
        return;
    };
    let stale: Vec<(&super::ExportInfo, Timestamp, i64)> = exports
        .iter()
        .filter_map(|e| {
            let as_of = e.as_of?;
            let days = as_of.date_naive().signed_duration_since(updated).num_days();
            (days > CATALOG_STALE_AFTER_DAYS).then_some((e, as_of, days))
        })
        .collect();
    let Some((first, as_of, days)) = stale.first() else {
        return;
    };
    let others = match stale.len() - 1 {
        0 => String::new(),
        n => format!(
            " (and more than {CATALOG_STALE_AFTER_DAYS} days before that of {} other account{})",
            n,
            if n == 1 { "" } else { "s" }
        ),
    };
    warnings.push(AccountWarning {
        account_id: first.account_id.clone(),
        warning: Warning {
            code: "catalog_older_than_data".into(),
            file: None,
            json_path: None,
            message: format!(
                "the action catalog was updated {} ({}), {days} days before the as-of time {}{others}: \
                 actions AWS added since have no verdict, and a tightened policy that writes out a \
                 wildcard (sqs:* as the actions the catalog knows) drops those of them AWS does not \
                 track one by one, even where they are in use; give a catalog as recent as the data \
                 with --catalog (scripts/gen-catalog.py)",
                catalog.updated(),
                catalog.source(),
                crate::model::rfc3339(*as_of)
            ),
        },
    });
}

/// `--as-of` must fit every export at once: no later than the data of the export whose data
/// ends first, and not so early that its window starts more than [`MAX_WINDOW_DAYS`] before the
/// data of the one whose data ends last ([`check_as_of`] checks each). Exports whose data ends
/// more than `MAX_WINDOW_DAYS - window_days` days apart leave no such time: one error names
/// both, where each export's own check sent the reader the other way.
pub(super) fn check_as_of_fits_all<'e>(
    exports: impl Iterator<Item = &'e Export>,
    flag: Option<Timestamp>,
    window_days: u32,
) -> Result<()> {
    if flag.is_none() {
        return Ok(());
    }
    // The export whose data ends first, and the one whose ends last, with those times.
    let mut first: Option<(Timestamp, &Export)> = None;
    let mut last: Option<(Timestamp, &Export)> = None;
    for e in exports {
        let Some(t) = e.own_time() else { continue };
        if first.is_none_or(|(f, _)| t < f) {
            first = Some((t, e));
        }
        if last.is_none_or(|(l, _)| t > l) {
            last = Some((t, e));
        }
    }
    let (Some((ends, first)), Some((latest, last))) = (first, last) else {
        return Ok(());
    };
    let earliest = crate::model::days_before(latest, MAX_WINDOW_DAYS.saturating_sub(window_days));
    // Without a representable earliest time (data in the year 0000) each export's own check
    // says what is wrong.
    if earliest.is_none_or(|e| e <= ends) {
        return Ok(());
    }
    Err(Error::Input {
        path: last.root.clone(),
        message: format!(
            "no --as-of fits every export: account {}'s data ends {} (an --as-of may not be later), and account {}'s {} (a {window_days}-day window may not start more than {MAX_WINDOW_DAYS} days before it, so an --as-of may not be earlier than {}); leave --as-of out (each export then uses its own time), or report them in separate runs",
            first.account_id,
            crate::model::rfc3339(ends),
            last.account_id,
            crate::model::rfc3339(latest),
            earliest.map_or_else(|| "a later date".into(), crate::model::rfc3339),
        ),
    })
}

/// The first instant of the window that ends at `end`.
pub(super) fn window_start_of(export: &Export, end: Timestamp, days: u32) -> Result<Timestamp> {
    crate::model::days_before(end, days).ok_or_else(|| Error::Input {
        path: export.root.clone(),
        message: format!(
            "the {days}-day window before {} starts before the year 0000, the earliest time RFC \
             3339 writes: give a later --as-of",
            crate::model::rfc3339(end)
        ),
    })
}

/// When the checks that read an export's credential report are judged, when that is earlier
/// than its as-of time ([`credential_report_time`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReportTime {
    /// `manifest.json`'s `credential_report_generated`.
    Generated(Timestamp),
    /// No generation recorded, and the export's last-accessed reports completed over more than
    /// a day: the earliest the report can have been generated. A credential report is taken
    /// after the jobs of its run (`fetch`, and the AWS CLI script), so no earlier than the
    /// oldest of them, nor than the newest date it shows itself; it is not known to be newer (a
    /// report of another run, a file of another export mixed in).
    Unrecorded(Timestamp),
}

impl ReportTime {
    pub(crate) fn at(self) -> Timestamp {
        match self {
            ReportTime::Generated(t) | ReportTime::Unrecorded(t) => t,
        }
    }
}

/// When `export`'s credential report is known to show use up to, when that is before `as_of`:
/// its recorded generation; else, when its last-accessed reports completed more than
/// [`STALE_AFTER_HOURS`] apart (the as-of time is the newest, and the report may be of the
/// oldest's run), the later of the oldest of them (`oldest_job`) and the newest date the report
/// shows, when that is more than [`STALE_AFTER_HOURS`] before `as_of`. `None`: judged at the
/// as-of time.
pub(crate) fn credential_report_time(
    export: &Export,
    oldest_job: Option<Timestamp>,
    as_of: Option<Timestamp>,
) -> Option<ReportTime> {
    let as_of = as_of?;
    let stale = |t: &Timestamp| a_day_or_more(*t, as_of);
    match export.credential_report_generated() {
        Some(g) => (g < as_of).then_some(ReportTime::Generated(g)),
        None => {
            let oldest = oldest_job.filter(stale)?;
            let shown = export
                .credential_report
                .iter()
                .flatten()
                .filter_map(|r| r.newest_date())
                .max();
            Some(oldest.max(shown.unwrap_or(oldest)))
                .filter(stale)
                .map(ReportTime::Unrecorded)
        }
    }
}

/// Warns when the export's credential report was generated a day or more before its as-of time
/// (the checks that read it are judged at its generation, `identities`), or when its generation
/// is not recorded and its last-accessed reports completed more than a day apart (judged at the
/// oldest: [`credential_report_time`]).
pub(super) fn warn_credential_report_age(
    export: &Export,
    as_of: Option<Timestamp>,
    warnings: &mut Vec<AccountWarning>,
) {
    let Some(a) = as_of.filter(|_| export.credential_report.is_some()) else {
        return;
    };
    let oldest_job = export.oldest_job();
    let (code, message) = match (
        credential_report_time(export, oldest_job, as_of),
        oldest_job,
    ) {
        (Some(ReportTime::Unrecorded(earliest)), Some(oldest)) => (
            "credential_report_time_unknown",
            format!(
                "when the credential report was generated is not recorded (no manifest.json \
                 credential_report_generated), and the last-accessed reports completed from {} \
                 to {}, more than {STALE_AFTER_HOURS} hours apart: the report may be of the \
                 oldest one's run, and is known only to be no older than {} (the oldest report, \
                 or the newest date it shows itself), so the access-key, password and root \
                 checks judge the window that ends there (fetch again, or give one run's files)",
                crate::model::rfc3339(oldest),
                crate::model::rfc3339(a),
                crate::model::rfc3339(earliest)
            ),
        ),
        (Some(ReportTime::Generated(g)), _) if a_day_or_more(g, a) => (
            "credential_report_older_than_as_of",
            format!(
                "the credential report was generated {} (manifest.json \
                 credential_report_generated), more than {STALE_AFTER_HOURS} hours before the \
                 as-of time {}: it shows no use after that, so the access-key, password and root \
                 checks judge the window that ends there (fetch again for a report as recent as \
                 the last-accessed data)",
                crate::model::rfc3339(g),
                crate::model::rfc3339(a)
            ),
        ),
        _ => return,
    };
    warnings.push(AccountWarning {
        account_id: export.account_id.clone(),
        warning: Warning {
            code: code.into(),
            file: Some(crate::input::CREDENTIAL_REPORT.into()),
            json_path: None,
            message,
        },
    });
}

/// How far each principal's last-accessed data reaches, against the export's as-of time.
#[derive(Default)]
pub(super) struct Coverage {
    /// Principals whose job completed more than a day before the as-of time (their windows end
    /// earlier), as `role/Name`.
    stale: Vec<String>,
    /// Principals with a recorded access after their window's end (an `--as-of` earlier than
    /// the data).
    after_as_of: Vec<String>,
    /// Principals granted services that their own report lacks although AWS reports them for
    /// other principals of the account, as `role/Name (svc, svc)`.
    pub(super) unreported: Vec<String>,
}

/// A job that completed less than this before the as-of time is normal: one fetch runs its jobs
/// over minutes to hours. Only an older one is worth a warning (its window still ends at its job).
pub(super) const STALE_AFTER_HOURS: i64 = 24;

/// Whether `later` is [`STALE_AFTER_HOURS`] or more after `earlier`: further apart than one
/// fetch's jobs (and the hours last-accessed data lags) are.
pub(super) fn a_day_or_more(earlier: Timestamp, later: Timestamp) -> bool {
    later.signed_duration_since(earlier).num_hours() >= STALE_AFTER_HOURS
}

/// How many principal names a coverage warning lists.
const COVERAGE_LIST_AT_MOST: usize = 10;

/// The first [`COVERAGE_LIST_AT_MOST`] of `names`, `, `-separated, then `, and N more`: how a
/// warning about an export's principals lists them.
pub(super) fn listed(names: &[String]) -> String {
    crate::model::listed(names, COVERAGE_LIST_AT_MOST)
}

impl Coverage {
    /// The end of `p`'s window: the as-of time, or its own `JobCompletionDate` when that is
    /// earlier. Records principals worth a warning.
    pub(super) fn window_end(
        &mut self,
        p: &Principal,
        as_of: Option<Timestamp>,
        la: Option<&LastAccessed>,
    ) -> Option<Timestamp> {
        let as_of = as_of?;
        let Some(la) = la else {
            return Some(as_of);
        };
        let end = match la.job_completion {
            Some(job) if job < as_of => {
                if a_day_or_more(job, as_of) {
                    self.stale.push(format!("{}/{}", p.kind, p.name));
                }
                job
            }
            _ => as_of,
        };
        let accessed_after = la.services.iter().any(|s| {
            s.last_authenticated.is_some_and(|t| t > end)
                || s.tracked_actions
                    .iter()
                    .flatten()
                    .any(|a| a.last_accessed.is_some_and(|t| t > end))
        });
        if accessed_after {
            self.after_as_of.push(format!("{}/{}", p.kind, p.name));
        }
        Some(end)
    }

    /// Appends the coverage of the principals that follow (the next piece of the same export).
    pub(super) fn extend(&mut self, more: Coverage) {
        self.stale.extend(more.stale);
        self.after_as_of.extend(more.after_as_of);
        self.unreported.extend(more.unreported);
    }

    /// The export's warnings about its principals' coverage, once every principal is in it.
    pub(super) fn warn(
        self,
        account_id: &str,
        as_of: Option<Timestamp>,
        warnings: &mut Vec<AccountWarning>,
    ) {
        let when = as_of.map_or_else(String::new, crate::model::rfc3339);
        let mut push = |code: &str, message: String| {
            warnings.push(AccountWarning {
                account_id: account_id.to_string(),
                warning: Warning {
                    code: code.into(),
                    file: Some(crate::input::LAST_ACCESSED_DIR.into()),
                    json_path: None,
                    message,
                },
            });
        };
        if !self.stale.is_empty() {
            push(
                "last_accessed_older_than_as_of",
                format!(
                    "{} principal(s) have last-accessed data that ends more than {STALE_AFTER_HOURS} hours before the as-of time {when} (a resumed or partly refreshed fetch?); each one's window ends at its own JobCompletionDate instead: {}",
                    self.stale.len(),
                    listed(&self.stale)
                ),
            );
        }
        if !self.unreported.is_empty() {
            push(
                "last_accessed_service_missing",
                format!(
                    "{} principal(s) are granted services that their last-accessed report does not list, although AWS reports those services for other principals of the account (granted after the job ran?); those actions are unknown (not_observable) — fetch their last-accessed data again: {}",
                    self.unreported.len(),
                    listed(&self.unreported)
                ),
            );
        }
        if !self.after_as_of.is_empty() {
            push(
                "accessed_after_as_of",
                format!(
                    "{} principal(s) have accesses recorded after the end of their window (the as-of time {when}, or their own JobCompletionDate when earlier: an --as-of earlier than the data, or times later than the file's own job); those actions are unknown (accessed_after_as_of): last-accessed data keeps only the latest use, so use inside the window cannot be known: {}",
                    self.after_as_of.len(),
                    listed(&self.after_as_of)
                ),
            );
        }
    }
}
