//! `credential-report.csv`: the decoded output of `aws iam get-credential-report`
//! (reference §4). Columns are read by header name; extra columns are ignored.

use std::collections::HashMap;
use std::path::Path;

use super::{CREDENTIAL_REPORT, Files, Warnings, listed, parse_timestamp};
use crate::error::{Error, Result};
use crate::model::{
    AccessKeyInfo, CredentialReportRow, Principal, PrincipalType, ReportDate, Timestamp,
};

/// The 22 columns AWS writes, all of which we need.
const COLUMNS: [&str; 22] = [
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
    "cert_1_active",
    "cert_1_last_rotated",
    "cert_2_active",
    "cert_2_last_rotated",
];

const SENTINELS: [&str; 3] = ["N/A", "no_information", "not_supported"];

/// 1995-01-01T00:00:00Z in epoch seconds: no date of a credential report is older. AWS opened in
/// 2002, but the root row's `user_creation_time` is the account's creation, and the first AWS
/// accounts were Amazon.com accounts (opened in 1995): the bound is set by the older of the two.
const AWS_ACCOUNTS_FROM: i64 = 788_918_400;

/// How long after the export's own time (its newest `JobCompletionDate`, else its manifest time) a
/// credential report may have been generated: `fetch` and the AWS CLI script take it right after
/// the last-accessed jobs, and AWS hands out a report up to 4 hours old.
const AFTER_EXPORT_AT_MOST_HOURS: i64 = 24;

/// The export: its account, principals and own time (newest `JobCompletionDate`, else the
/// manifest's), which a credential report is checked against.
pub(super) struct Export<'a> {
    pub account_id: &'a str,
    pub principals: &'a [Principal],
    pub time: Option<Timestamp>,
}

/// The export's credential report, checked to be of the export's account and time (see
/// [`check_rows`], [`check_dates`]), without the rows of users that its principals lack
/// ([`known_users`]).
pub(super) fn load(
    files: &mut Files,
    export: &Export,
    warnings: &mut Warnings,
) -> Result<Option<Vec<CredentialReportRow>>> {
    let (account_id, principals) = (export.account_id, export.principals);
    match files.read_text_if_exists(CREDENTIAL_REPORT)? {
        Some(text) => {
            let path = files.abs(CREDENTIAL_REPORT);
            let rows = parse(&path, &text)?;
            check_rows(&path, &rows, account_id)?;
            if let Some(time) = export.time {
                check_dates(&path, &rows, time)?;
            }
            Ok(Some(known_users(rows, principals, warnings)))
        }
        None => {
            warnings.push(
                "credential_report_missing",
                Some(CREDENTIAL_REPORT),
                None,
                "no credential report: access-key and password use are not reported".into(),
            );
            Ok(None)
        }
    }
}

/// A row per user, each of the export's account: a user listed twice (its findings would be
/// counted twice, one row's silently) or an ARN of another account (the report of another
/// account, whose users' findings would be reported as this one's) is refused. Rows are
/// numbered from line 2 (the header is line 1; AWS writes no line breaks inside a cell).
fn check_rows(path: &Path, rows: &[CredentialReportRow], account_id: &str) -> Result<()> {
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let line = i + 2;
        // IAM user names are unique without regard to case.
        if let Some(first) = seen.insert(row.user.to_lowercase(), line) {
            return Err(Error::parse(
                path,
                format!("line {line}, column user"),
                format!(
                    "user {:?} is listed twice (first on line {first}): a credential report has \
                     one row per user; were two reports joined?",
                    row.user
                ),
            ));
        }
        let account = crate::model::arn::account(&row.arn).unwrap_or_default();
        if account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit())
            && account != account_id
        {
            return Err(Error::parse(
                path,
                format!("line {line}, column arn"),
                format!(
                    "{} is of account {account}, but the export is of account {account_id}: the \
                     credential report of another account?",
                    row.arn
                ),
            ));
        }
    }
    Ok(())
}

/// Refuses a date more than [`AFTER_EXPORT_AT_MOST_HOURS`] after the export's `time` (but for
/// `password_next_rotation`, a date to come): a report holds no date after it was generated, and
/// one generated that long after the rest of the export is not of the same moment, or edited
/// (`9999-…`). Its uses would count as uses after the as-of time, and a key or user created
/// "later" would look too new to check: findings lost, silently. Rows are numbered from line 2,
/// as in [`check_rows`].
fn check_dates(path: &Path, rows: &[CredentialReportRow], time: Timestamp) -> Result<()> {
    // Checked, as every date computed from input (none can be later than chrono's last one).
    let Some(latest) =
        time.checked_add_signed(chrono::TimeDelta::hours(AFTER_EXPORT_AT_MOST_HOURS))
    else {
        return Ok(());
    };
    for (i, row) in rows.iter().enumerate() {
        let [k1, k2] = &row.access_keys;
        let dates = [
            ("user_creation_time", row.user_creation_time),
            ("password_last_used", row.password_last_used),
            ("password_last_changed", row.password_last_changed),
            ("access_key_1_last_rotated", k1.last_rotated),
            ("access_key_1_last_used_date", k1.last_used_date),
            ("access_key_2_last_rotated", k2.last_rotated),
            ("access_key_2_last_used_date", k2.last_used_date),
        ];
        for (column, date) in dates {
            let Some(t) = date.date().filter(|t| *t > latest) else {
                continue;
            };
            return Err(Error::parse(
                path,
                format!("line {}, column {column}", i + 2),
                format!(
                    "{} is more than {AFTER_EXPORT_AT_MOST_HOURS} hours after the export's own \
                     time {} (its newest JobCompletionDate, else its manifest time): a \
                     credential report holds no date after it was generated, so this one is \
                     edited or of another time than the rest of the export; fetch the export \
                     again in one go (or remove credential-report.csv)",
                    crate::model::rfc3339(t),
                    crate::model::rfc3339(time)
                ),
            ));
        }
    }
    Ok(())
}

/// The warning code of a report's rows of users the authorization details do not list.
pub(crate) const UNKNOWN_USER: &str = "credential_report_unknown_user";

/// The rows of the users the authorization details list (and the root row), with a warning
/// naming the others: users deleted since the report was generated (AWS hands out the same report
/// for up to 4 hours, while the authorization details are read live) or left out of a filtered
/// export. Their findings (a `delete_user` decision, a key to deactivate) would be about users
/// the export says do not exist, so they are left out; and a report with no user at all while
/// the export has users (its header only) gets a warning too: none of them can be checked.
fn known_users(
    rows: Vec<CredentialReportRow>,
    principals: &[Principal],
    warnings: &mut Warnings,
) -> Vec<CredentialReportRow> {
    let users: HashMap<&str, Option<Timestamp>> = principals
        .iter()
        .filter(|p| p.kind == PrincipalType::User)
        .map(|p| (p.name.as_str(), p.created))
        .collect();
    let (kept, unknown): (Vec<_>, Vec<_>) = rows
        .into_iter()
        .enumerate()
        .partition(|(_, r)| r.is_root() || users.contains_key(r.user.as_str()));
    let (kept, other): (Vec<_>, Vec<_>) = kept.into_iter().partition(|(_, r)| {
        let created = users.get(r.user.as_str()).copied().flatten();
        r.is_root() || !created_apart(r.user_creation_time.date(), created)
    });
    if let Some((first, _)) = other.first() {
        let names: Vec<String> = other.iter().map(|(_, r)| r.user.clone()).collect();
        warnings.push(
            "credential_report_other_user",
            Some(CREDENTIAL_REPORT),
            Some(format!("line {}, column user_creation_time", first + 2)),
            format!(
                "{} user(s) of the credential report were created at another time than the user \
                 of that name in authorization-details.json (deleted and created again since \
                 the report was generated: AWS hands out the same report for up to 4 hours): \
                 {}; their rows are another user's and are ignored, so their checks are not \
                 possible",
                names.len(),
                listed(&names)
            ),
        );
    }
    if let Some((first, _)) = unknown.first() {
        let names: Vec<String> = unknown.iter().map(|(_, r)| r.user.clone()).collect();
        warnings.push(
            UNKNOWN_USER,
            Some(CREDENTIAL_REPORT),
            Some(format!("line {}, column user", first + 2)),
            format!(
                "{} user(s) of the credential report are not in authorization-details.json \
                 (deleted since the report was generated, or the export is filtered): {}; \
                 their rows are ignored",
                names.len(),
                listed(&names)
            ),
        );
    }
    if !users.is_empty() && !kept.iter().any(|(_, r)| !r.is_root()) {
        warnings.push(
            "credential_report_no_users",
            Some(CREDENTIAL_REPORT),
            None,
            format!(
                "the credential report lists no user, but authorization-details.json has {}: \
                 their access keys and passwords cannot be checked (was the report cut short?)",
                users.len()
            ),
        );
    }
    kept.into_iter().map(|(_, r)| r).collect()
}

/// Whether a credential-report row's `user_creation_time` and the user's `CreateDate` are more
/// than a second apart (the report writes whole seconds): the row is another user's of the same
/// name. Either unknown: not apart.
fn created_apart(row: Option<Timestamp>, user: Option<Timestamp>) -> bool {
    matches!((row, user), (Some(r), Some(u)) if (r - u).num_seconds().abs() > 1)
}

/// Parses the CSV text. Locations in errors read `line 3, column mfa_active`.
pub(crate) fn parse(path: &Path, text: &str) -> Result<Vec<CredentialReportRow>> {
    if text.trim().is_empty() {
        return Err(Error::parse(
            path,
            "line 1",
            "empty file: expected the credential report CSV",
        ));
    }
    let csv_error = |e: csv::Error| {
        let line = e.position().map_or(1, |p| p.line());
        Error::parse(path, format!("line {line}"), format!("not valid CSV: {e}"))
    };
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let headers = reader.headers().map_err(csv_error)?.clone();
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(headers.len());
    for (i, h) in headers.iter().enumerate() {
        // A column the checks read, named twice: which one holds the data cannot be told (the
        // last one silently won).
        if index.insert(h.trim(), i).is_some() && COLUMNS.contains(&h.trim()) {
            return Err(Error::parse(
                path,
                "line 1",
                format!("column {:?} appears twice in the header", h.trim()),
            ));
        }
    }
    if let Some(missing) = COLUMNS.iter().find(|c| !index.contains_key(*c)) {
        let first_line = text.lines().next().unwrap_or("");
        let hint = if text.trim_start().starts_with('{') && text.contains("\"Content\"") {
            // `aws iam get-credential-report > credential-report.csv`: the whole JSON answer.
            " (this is the JSON answer of `aws iam get-credential-report`: save only its \
             Content, decoded: `aws iam get-credential-report --query Content --output text | \
             base64 --decode > credential-report.csv`)"
        } else if first_line.contains(',') {
            ""
        } else {
            " (is it still base64? decode it with `base64 --decode`)"
        };
        return Err(Error::parse(
            path,
            "line 1",
            format!("missing column {missing:?} in the header{hint}"),
        ));
    }

    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(csv_error)?;
        let line = record.position().map_or(0, |p| p.line());
        let cell = Cell {
            path,
            line,
            index: &index,
            record: &record,
        };
        let key = |n: u8| -> Result<AccessKeyInfo> {
            let c = |suffix: &str| format!("access_key_{n}_{suffix}");
            Ok(AccessKeyInfo {
                active: cell.boolean(&c("active"))?,
                last_rotated: cell.date(&c("last_rotated"))?,
                last_used_date: cell.date(&c("last_used_date"))?,
                last_used_region: cell.text(&c("last_used_region")),
                last_used_service: cell.text(&c("last_used_service")),
            })
        };
        rows.push(CredentialReportRow {
            user: cell.get("user").to_string(),
            arn: cell.get("arn").to_string(),
            user_creation_time: cell.date("user_creation_time")?,
            password_enabled: match cell.get("password_enabled") {
                v if SENTINELS.contains(&v) => None,
                _ => Some(cell.boolean("password_enabled")?),
            },
            password_last_used: cell.date("password_last_used")?,
            password_last_changed: cell.date("password_last_changed")?,
            password_next_rotation: cell.date("password_next_rotation")?,
            mfa_active: cell.boolean("mfa_active")?,
            access_keys: [key(1)?, key(2)?],
            certs_active: [
                cell.boolean("cert_1_active")?,
                cell.boolean("cert_2_active")?,
            ],
        });
    }
    Ok(rows)
}

/// One row, read by column name.
struct Cell<'a> {
    path: &'a Path,
    line: u64,
    index: &'a HashMap<&'a str, usize>,
    record: &'a csv::StringRecord,
}

impl Cell<'_> {
    fn get(&self, column: &str) -> &str {
        self.index
            .get(column)
            .and_then(|&i| self.record.get(i))
            .unwrap_or("")
            .trim()
    }

    fn error(&self, column: &str, message: String) -> Error {
        Error::parse(
            self.path,
            format!("line {}, column {column}", self.line),
            message,
        )
    }

    fn date(&self, column: &str) -> Result<ReportDate> {
        match self.get(column) {
            "N/A" => Ok(ReportDate::NotApplicable),
            "no_information" => Ok(ReportDate::NoInformation),
            "not_supported" => Ok(ReportDate::NotSupported),
            v => match parse_timestamp(v) {
                Some(t) if t.timestamp() < AWS_ACCOUNTS_FROM => Err(self.error(
                    column,
                    format!(
                        "{v} is before 1995, when Amazon.com (whose accounts the first AWS \
                         accounts were) opened: no date of an AWS account is that old (was \
                         the file edited?)"
                    ),
                )),
                Some(t) => Ok(ReportDate::Date(t)),
                None => Err(self.error(column, format!("malformed date {v:?}"))),
            },
        }
    }

    fn boolean(&self, column: &str) -> Result<bool> {
        match self.get(column) {
            v if v.eq_ignore_ascii_case("true") => Ok(true),
            v if v.eq_ignore_ascii_case("false") => Ok(false),
            v => Err(self.error(column, format!("expected true or false, found {v:?}"))),
        }
    }

    /// A free-text value; a sentinel or an empty cell is `None`.
    fn text(&self, column: &str) -> Option<String> {
        let v = self.get(column);
        (!v.is_empty() && !SENTINELS.contains(&v)).then(|| v.to_string())
    }
}
