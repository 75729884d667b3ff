//! `review.xlsx`: the workbook for auditors. The same data as the CSVs, typed: account ids and
//! other ids as text (so `012345678901` keeps its zero), times as dates, counts as numbers,
//! booleans as booleans. Sheets, in order:
//!
//! ```text
//! Decisions   every decision (as decisions.csv)
//! Findings    every finding (the one findings schema, as findings.csv)
//! Principals  every role, user and group (as principals.csv)
//! Identities  identity and credential findings, then checks not possible (as credentials.csv)
//! Scope       tool, catalog, settings, accounts, input files with SHA-256, warnings
//! ```
//!
//! Every sheet has a bold, frozen header row, an autofilter and column widths from its content.
//! Text is always a string cell, never a formula, and is neutralised as in the CSVs
//! ([`neutralise`]). A sheet holds at most 1,048,576 rows: past that, the sheet ends with a note
//! row saying how many rows are only in the CSV. Same inputs give the same bytes: the document's
//! creation time is the report's as-of time (never the clock) and the zip entries carry a fixed
//! time. Sheets are written in constant-memory mode (each row goes to a temporary file once the
//! next one starts), so memory does not grow with the organisation; the Findings sheet's rows
//! (all but its last) are written by [`splice`] straight into the zip, as rust_xlsxwriter would
//! write them (the workbook without them waits in a temporary file: ~5 MB at 10,000 roles). The
//! Findings rows (430 MB of XML at 10,000 roles) no longer go through a temporary file.

use std::borrow::Cow;
use std::io::Seek as _;

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, Worksheet, XlsxError};
use serde::Serialize;
use serde_json::Value as Json;

mod splice;

#[doc(hidden)]
pub use splice::without_cell_references;

use super::ReportModel;
use super::credentials::{CREDENTIALS_HEADER, RESULT_FINDING, RESULT_NOT_POSSIBLE};
use super::csv::{DECISIONS_HEADER, IdentityFlags, PRINCIPALS_HEADER, neutralise, risky_actions};
use crate::analysis::schema::{Column, Row, Type, Value, columns, for_each_row};
use crate::analysis::{Analysis, Finding};
use crate::error::{Error, Result};
use crate::model::Timestamp;

/// The file name in the report folder.
pub const FILE: &str = "review.xlsx";

/// The sheets, in workbook order.
pub const SHEETS: [&str; 5] = ["Decisions", "Findings", "Principals", "Identities", "Scope"];

/// The deflate level of the workbook's zip container (see `book`), its Findings pieces included.
pub const ZIP_LEVEL: u8 = 2;

/// The most rows a worksheet can hold (Excel's limit), header included.
pub const SHEET_ROWS: u32 = 1_048_576;

/// The most UTF-16 units a cell can hold (Excel's limit); longer text is cut and marked.
const CELL_TEXT_MAX: usize = 32_767;
const CUT_MARK: &str = " … [cut: longer than a spreadsheet cell holds]";

/// The number format of date cells (UTC, as in the CSVs).
pub const DATE_FORMAT: &str = "yyyy-mm-dd hh:mm:ss";

/// Column widths, in characters: from the longest cell, within these bounds.
const WIDTH_MIN: usize = 6;
const WIDTH_MAX: usize = 60;

/// The Scope sheet's columns.
pub const SCOPE_HEADER: [&str; 5] = ["section", "account_id", "name", "value", "detail"];

/// Renders the workbook.
pub fn workbook(an: &Analysis<'_>, model: &ReportModel) -> Result<Vec<u8>> {
    workbook_with_limit(an, model, SHEET_ROWS)
}

/// [`workbook`] with at most `sheet_rows` rows per sheet, header and note row included (Excel
/// allows [`SHEET_ROWS`]; tests use a small limit). At least 3.
pub fn workbook_with_limit(
    an: &Analysis<'_>,
    model: &ReportModel,
    sheet_rows: u32,
) -> Result<Vec<u8>> {
    in_memory(
        an,
        model,
        sheet_rows,
        FindingRows::Spliced {
            per_piece: ROWS_PER_PIECE,
        },
    )
}

/// [`workbook_with_limit`] with the spliced Findings rows made and compressed in pieces of
/// `per_piece` rows (at least 1) instead of [`ROWS_PER_PIECE`]: tests/xlsx.rs joins many pieces
/// on a small organisation.
#[doc(hidden)]
pub fn workbook_in_pieces(
    an: &Analysis<'_>,
    model: &ReportModel,
    sheet_rows: u32,
    per_piece: usize,
) -> Result<Vec<u8>> {
    let per_piece = per_piece.max(1);
    in_memory(an, model, sheet_rows, FindingRows::Spliced { per_piece })
}

/// [`workbook_with_limit`] with every Findings row written through rust_xlsxwriter, as before
/// [`splice`]: the reference tests/xlsx.rs compares the workbook with, part by part.
#[doc(hidden)]
pub fn workbook_without_splice(
    an: &Analysis<'_>,
    model: &ReportModel,
    sheet_rows: u32,
) -> Result<Vec<u8>> {
    in_memory(an, model, sheet_rows, FindingRows::Writer)
}

fn in_memory(
    an: &Analysis<'_>,
    model: &ReportModel,
    sheet_rows: u32,
    rows: FindingRows,
) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    guarded(|| build(an, model, sheet_rows, rows, &mut bytes))?;
    Ok(bytes)
}

/// Renders the workbook into `w` as it is built (the zip is streamed: at 100,000 roles the file
/// is ~0.4 GB, which [`workbook`] would hold in memory).
pub fn write_workbook(
    an: &Analysis<'_>,
    model: &ReportModel,
    w: &mut (dyn std::io::Write + Send),
) -> Result<()> {
    let rows = FindingRows::Spliced {
        per_piece: ROWS_PER_PIECE,
    };
    guarded(|| build(an, model, SHEET_ROWS, rows, w))
}

/// How the Findings sheet's data rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FindingRows {
    /// Each through rust_xlsxwriter's worksheet.
    Writer,
    /// The last through rust_xlsxwriter, the others by [`splice`] into the sheet's XML, made
    /// and compressed in pieces of `per_piece` rows.
    Spliced { per_piece: usize },
}

/// Runs `f`, turning a panic into this output's error. rust_xlsxwriter's constant-memory sheets
/// write each row to a temporary file and panic when that write fails (a full disk under
/// `TMPDIR`, seen at 100,000 roles): the user gets an error naming review.xlsx and what to check,
/// and the half-written file is removed like any failed output.
fn guarded(f: impl FnOnce() -> std::result::Result<(), XlsxError>) -> Result<()> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(done) => done.map_err(|e| match e {
            // The workbook writes into the output folder and into temporary files (its sheets'
            // rows, the workbook before the Findings rows, the compressed Findings sheet): say
            // where those go, which the OS error alone does not.
            XlsxError::IoError(io) => Error::render(
                FILE,
                format!(
                    "{io} (writing the workbook into the output folder, or its temporary files \
                     into {}: TMPDIR, else /tmp; check that both exist and have room)",
                    std::env::temp_dir().display()
                ),
            ),
            e => Error::render(FILE, e),
        }),
        Err(panic) => {
            let why = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("no message");
            Err(Error::render(
                FILE,
                format!(
                    "the workbook writer stopped ({why}); its temporary files go to TMPDIR (else /tmp): check the space there"
                ),
            ))
        }
    }
}

fn build<W: std::io::Write + Send>(
    an: &Analysis<'_>,
    model: &ReportModel,
    limit: u32,
    rows: FindingRows,
    w: W,
) -> std::result::Result<(), XlsxError> {
    let limit = limit.clamp(3, SHEET_ROWS);
    let granted_by = an.granted_by_texts();
    let per_piece = match rows {
        FindingRows::Writer => return book(an, &granted_by, model, limit, rows, w).map(|_| ()),
        FindingRows::Spliced { per_piece } => per_piece,
    };
    // The workbook without the spliced rows waits in a temporary file (~5 MB at 10,000 roles,
    // growing with the other sheets).
    let mut file = tempfile::tempfile()?;
    let spliced = book(an, &granted_by, model, limit, rows, &mut file)?;
    file.rewind()?;
    let findings = &an.findings[..spliced];
    let columns = columns(an);
    splice::write(
        std::io::BufReader::new(file),
        &splice::sheet_part(1),
        ZIP_LEVEL,
        |xml| {
            let styles = splice::column_styles(xml)?;
            let date_style = date_column(&columns, &styles)?;
            let n = u16::try_from(columns.len()).map_err(|_| too_many(SHEETS[1]))?;
            Ok(splice::RowXml::new(n, styles, date_style))
        },
        findings.len().div_ceil(per_piece),
        |i, out| {
            let from = i * per_piece;
            let piece = &findings[from..findings.len().min(from + per_piece)];
            spliced_rows(an, &columns, piece, from, &granted_by, out)
        },
        w,
    )
}

/// Findings rows per piece of the spliced sheet, made and compressed on its own: ~1.4 MB of XML
/// (its buffer a few size classes of the allocator, reused piece after piece), so each
/// thread's buffer and the few pieces waiting hold ~10 MB; a piece's deflate starts without the
/// previous piece's window once per ~1.4 MB.
const ROWS_PER_PIECE: usize = 1024;

/// Writes the XML of `findings` (the Findings sheet's rows from number `2 + first` on, with
/// `columns`) into `out`.
fn spliced_rows(
    an: &Analysis<'_>,
    columns: &[&Column],
    findings: &[Finding],
    first: usize,
    granted_by: &[String],
    out: &mut splice::RowXml,
) -> std::result::Result<(), XlsxError> {
    let mut cells = Vec::with_capacity(columns.len());
    let mut r = u32::try_from(first)
        .ok()
        .and_then(|r| r.checked_add(1))
        .ok_or(XlsxError::RowColumnLimitError)?;
    let indexed = findings.iter().enumerate().map(|(k, f)| (first + k, f));
    for_each_row(an, indexed, granted_by, |row| {
        finding_cells(columns, row, &mut cells)?;
        r = r.checked_add(1).ok_or(XlsxError::RowColumnLimitError)?;
        out.row(r, cells.drain(..));
        Ok::<_, XlsxError>(())
    })
}

/// A finding's cells, typed by the findings schema (`columns`: the analysis's, as findings.csv
/// has them), into `cells` (cleared first).
fn finding_cells<'a>(
    columns: &[&Column],
    row: &Row<'a>,
    cells: &mut Vec<Cell<'a>>,
) -> std::result::Result<(), XlsxError> {
    cells.clear();
    for c in columns {
        cells.push(schema_cell(c.name, c.ty, (c.get)(row))?);
    }
    Ok(())
}

fn too_many(name: &str) -> XlsxError {
    XlsxError::ParameterError(format!("{name}: too many columns"))
}

/// The style of the Findings sheet's date columns (their column format, set by [`findings`]).
fn date_column(columns: &[&Column], styles: &[u32]) -> std::result::Result<u32, XlsxError> {
    let mut dates = columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.ty == Type::Time)
        .map(|(i, _)| styles.get(i).copied().unwrap_or(0));
    let first = dates.next().unwrap_or(0);
    if first == 0 || dates.any(|s| s != first) {
        return Err(XlsxError::ParameterError(format!(
            "the Findings sheet's date columns have styles {styles:?}"
        )));
    }
    Ok(first)
}

/// Writes the workbook with rust_xlsxwriter; returns how many Findings rows (from the first) it
/// left out for [`splice`] (0 with [`FindingRows::Writer`]).
fn book<W: std::io::Write + Send>(
    an: &Analysis<'_>,
    granted_by: &[String],
    model: &ReportModel,
    limit: u32,
    rows: FindingRows,
    w: W,
) -> std::result::Result<usize, XlsxError> {
    let formats = Formats::new();
    let mut wb = Workbook::new();
    // Deflate level 2 (zlib-rs's `fast`) instead of 6: at 10,000 roles level 3 (`medium`) wrote
    // the workbook in 0.72x level 6's time, 18% larger (53.8 MB instead of 45.5 MB); level 2
    // takes 0.87x level 3's CPU (`--format xlsx`) for a file 7.5% larger (58.0 MB); level 1
    // would be 1.65x level 3's size. docs/performance.md, thirty-fourth pass.
    wb.set_zip_compression_level(ZIP_LEVEL);
    wb.set_properties(&properties(model)?);
    decisions(&mut wb, &formats, limit, model)?;
    let spliced = findings(&mut wb, &formats, limit, an, granted_by, rows)?;
    principals(&mut wb, &formats, limit, an, model)?;
    identities(&mut wb, &formats, limit, model)?;
    scope(&mut wb, &formats, limit, model)?;
    wb.save_to_writer(w)?;
    Ok(spliced)
}

/// Fixed document properties: the author is the tool, the creation time the newest as-of time
/// of the report (or 1980-01-01, the zip epoch, when there is none Excel can show), never the
/// clock (which rust_xlsxwriter uses when no time is set).
fn properties(model: &ReportModel) -> std::result::Result<DocProperties, XlsxError> {
    let as_of = model
        .settings
        .as_of_flag
        .or_else(|| model.accounts.iter().filter_map(|a| a.as_of).max());
    let created = match as_of.and_then(excel_time) {
        Some(t) => t,
        None => ExcelDateTime::from_ymd(1980, 1, 1)?,
    };
    Ok(DocProperties::new()
        .set_title("iam-tighten access review")
        .set_author("iam-tighten")
        .set_comment(format!(
            "iam-tighten {}; the same data as decisions.csv, findings.csv, principals.csv, credentials.csv and report.json",
            crate::VERSION
        ))
        .set_creation_datetime(&created))
}

/// A time as an Excel date, when Excel can show it (years 1900–9999).
fn excel_time(t: Timestamp) -> Option<ExcelDateTime> {
    ExcelDateTime::from_timestamp(t.timestamp()).ok()
}

/// One typed cell.
#[derive(Debug, Clone, PartialEq)]
enum Cell<'a> {
    Text(Cow<'a, str>),
    Number(f64),
    Bool(bool),
    /// A date cell; `None` is an empty cell.
    Time(Option<Timestamp>),
    Empty,
}

impl<'a> Cell<'a> {
    fn text(s: impl Into<Cow<'a, str>>) -> Cell<'a> {
        Cell::Text(s.into())
    }

    fn opt_text(s: Option<&'a str>) -> Cell<'a> {
        s.map_or(Cell::Empty, |s| Cell::Text(s.into()))
    }

    fn number(n: impl Into<f64>) -> Cell<'a> {
        Cell::Number(n.into())
    }

    #[allow(clippy::cast_precision_loss)] // counts are far below 2^53
    fn count(n: u64) -> Cell<'a> {
        Cell::Number(n as f64)
    }

    #[allow(clippy::cast_precision_loss)]
    fn opt_int(n: Option<i64>) -> Cell<'a> {
        n.map_or(Cell::Empty, |n| Cell::Number(n as f64))
    }
}

/// A schema cell as the column's type says.
fn schema_cell<'a>(name: &str, ty: Type, v: Value<'a>) -> std::result::Result<Cell<'a>, XlsxError> {
    Ok(match (ty, v) {
        (Type::Str, Value::Str(s)) => Cell::text(s),
        (Type::Str, Value::Owned(s)) => Cell::text(s),
        (Type::OptStr, Value::OptStr(s)) => Cell::opt_text(s),
        (Type::U32, Value::U32(n)) => Cell::number(n),
        (Type::U64, Value::U64(n)) => Cell::count(n),
        (Type::OptI64, Value::OptI64(n)) => Cell::opt_int(n),
        (Type::Bool, Value::Bool(b)) => Cell::Bool(b),
        (Type::Time, Value::Time(t)) => Cell::Time(t),
        (ty, v) => {
            return Err(XlsxError::ParameterError(format!(
                "column {name}: a cell {v:?} does not have type {ty:?}"
            )));
        }
    })
}

struct Formats {
    header: Format,
    date: Format,
    note: Format,
}

impl Formats {
    fn new() -> Formats {
        Formats {
            header: Format::new().set_bold(),
            date: Format::new().set_num_format(DATE_FORMAT),
            note: Format::new().set_italic(),
        }
    }
}

/// A worksheet being written: the header, then rows, at most `limit` rows in all; the rows past
/// the limit are counted and named in a note row.
struct Sheet<'w> {
    ws: &'w mut Worksheet,
    formats: &'w Formats,
    columns: u16,
    /// The next row to write.
    row: u32,
    /// Data rows that fit.
    capacity: usize,
    /// Data rows in all.
    total: usize,
    /// Rows the sheet may hold.
    limit: u32,
    widths: Vec<usize>,
}

impl<'w> Sheet<'w> {
    /// A sheet for `total` data rows under `header`.
    fn new(
        wb: &'w mut Workbook,
        formats: &'w Formats,
        name: &str,
        header: &[&str],
        total: usize,
        limit: u32,
    ) -> std::result::Result<Sheet<'w>, XlsxError> {
        let ws = wb.add_worksheet_with_constant_memory()?;
        ws.set_name(name)?;
        let columns = u16::try_from(header.len()).map_err(|_| too_many(name))?;
        // The header and the data rows fit, or the header, what fits and a note row.
        let room = limit as usize - 1;
        let capacity = if total <= room { total } else { room - 1 };
        let mut sheet = Sheet {
            ws,
            formats,
            columns,
            row: 0,
            capacity,
            total,
            limit,
            widths: vec![0; header.len()],
        };
        for (col, h) in (0u16..).zip(header) {
            sheet
                .ws
                .write_string_with_format(0, col, *h, &formats.header)?;
            sheet.widths[col as usize] = h.len() + 3; // room for the filter button
        }
        sheet.row = 1;
        Ok(sheet)
    }

    /// Writes one data row; rows past the capacity are left out (and counted by `total`).
    fn row<'a>(
        &mut self,
        cells: impl IntoIterator<Item = Cell<'a>>,
    ) -> std::result::Result<(), XlsxError> {
        if self.row as usize > self.capacity {
            return Ok(());
        }
        for (col, cell) in (0..self.columns).zip(cells) {
            let width = self.write(col, cell)?;
            self.widen(col, width);
        }
        self.row += 1;
        Ok(())
    }

    fn widen(&mut self, col: u16, width: usize) {
        if let Some(w) = self.widths.get_mut(usize::from(col)) {
            *w = (*w).max(width);
        }
    }

    /// Counts a Findings row written elsewhere ([`splice`]): its cells widen the columns. A
    /// column already as wide as a column gets ([`WIDTH_MAX`]) is not read: its widest cells are
    /// the costliest to make (the action summary, the named risky actions), and reading them
    /// could not change its width. (The splice reads every cell of the row.)
    fn skip_finding(
        &mut self,
        columns: &[&Column],
        row: &Row<'_>,
    ) -> std::result::Result<(), XlsxError> {
        if self.row as usize > self.capacity {
            return Ok(());
        }
        for (col, c) in (0..self.columns).zip(columns) {
            if self
                .widths
                .get(usize::from(col))
                .is_some_and(|w| *w < WIDTH_MAX)
            {
                let cell = schema_cell(c.name, c.ty, (c.get)(row))?;
                self.widen(col, width(&cell));
            }
        }
        self.row += 1;
        Ok(())
    }

    /// Writes a cell; returns its width in characters.
    fn write(&mut self, col: u16, cell: Cell<'_>) -> std::result::Result<usize, XlsxError> {
        let row = self.row;
        let width = width(&cell);
        match cell {
            Cell::Text(s) => {
                self.ws
                    .write_string(row, col, fit(neutralise(&s)).as_ref())?;
            }
            Cell::Number(n) => {
                self.ws.write_number(row, col, n)?;
            }
            Cell::Bool(b) => {
                self.ws.write_boolean(row, col, b)?;
            }
            Cell::Time(None) | Cell::Empty => {}
            Cell::Time(Some(t)) => match excel_time(t) {
                Some(d) => {
                    self.ws
                        .write_datetime_with_format(row, col, &d, &self.formats.date)?;
                }
                // Outside Excel's years (1900–9999): the CSV's text.
                None => {
                    self.ws
                        .write_string(row, col, super::csv::ts(Some(t)).as_str())?;
                }
            },
        }
        Ok(width)
    }

    /// Ends the sheet: the note row when rows were left out, the autofilter over the header and
    /// the data rows, the frozen header, the column widths.
    fn finish(self, where_all: &str) -> std::result::Result<(), XlsxError> {
        let last_data = self.row - 1;
        if self.total > self.capacity {
            let left_out = self.total - self.capacity;
            let note = format!(
                "… {left_out} more rows are not in this sheet (it holds at most {} rows); {where_all} has every row.",
                self.limit
            );
            self.ws
                .write_string_with_format(self.row, 0, note, &self.formats.note)?;
        }
        self.ws
            .autofilter(0, 0, last_data, self.columns.saturating_sub(1))?;
        self.ws.set_freeze_panes(1, 0)?;
        for (col, w) in (0u16..).zip(&self.widths) {
            #[allow(clippy::cast_precision_loss)]
            self.ws
                .set_column_width(col, (*w).clamp(WIDTH_MIN, WIDTH_MAX) as f64 + 1.0)?;
        }
        Ok(())
    }
}

/// The characters a cell takes, as its column's width counts them.
fn width(cell: &Cell<'_>) -> usize {
    match cell {
        Cell::Text(s) => {
            let s = fit(neutralise(s));
            // A text of at most WIDTH_MAX bytes has at most as many characters: counted whole
            // (a vectorised count), not one character at a time.
            if s.len() <= WIDTH_MAX {
                s.chars().count()
            } else {
                s.chars().take(WIDTH_MAX).count()
            }
        }
        Cell::Number(n) => number_width(*n),
        Cell::Bool(_) => 5,
        Cell::Time(None) | Cell::Empty => 0,
        Cell::Time(Some(t)) => match excel_time(*t) {
            Some(_) => DATE_FORMAT.len(),
            None => super::csv::ts(Some(*t)).len(),
        },
    }
}

/// The characters a number takes in General format (whole numbers: their digits).
fn number_width(n: f64) -> usize {
    if n.fract() != 0.0 || n.abs() >= 1e15 {
        return 12;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let digits = (n.abs() as u64)
        .checked_ilog10()
        .map_or(1, |d| d as usize + 1);
    digits + usize::from(n < 0.0)
}

/// Cuts text longer than a cell holds, and marks the cut.
fn fit(s: Cow<'_, str>) -> Cow<'_, str> {
    if s.len() <= CELL_TEXT_MAX || s.encode_utf16().count() <= CELL_TEXT_MAX {
        return s;
    }
    let room = CELL_TEXT_MAX - CUT_MARK.encode_utf16().count();
    let mut units = 0;
    let mut end = 0;
    for (i, c) in s.char_indices() {
        units += c.len_utf16();
        if units > room {
            break;
        }
        end = i + c.len_utf8();
    }
    format!("{}{CUT_MARK}", &s[..end]).into()
}

/// Every decision, with the columns of decisions.csv.
fn decisions(
    wb: &mut Workbook,
    formats: &Formats,
    limit: u32,
    model: &ReportModel,
) -> std::result::Result<(), XlsxError> {
    let list = &model.all_decisions;
    let mut sheet = Sheet::new(wb, formats, SHEETS[0], &DECISIONS_HEADER, list.len(), limit)?;
    for d in list.iter().take(sheet.capacity) {
        sheet.row([
            Cell::number(d.rank),
            Cell::text(d.id.to_string()),
            Cell::text(d.kind.as_str()),
            Cell::text(d.sensitivity.as_str()),
            Cell::text(d.title()),
            Cell::text(&*d.account_id),
            Cell::text(d.principal_type.as_str()),
            Cell::text(&*d.principal_name),
            Cell::text(&*d.subject),
            Cell::count(u64::from(d.removes.critical)),
            Cell::count(u64::from(d.removes.high)),
            Cell::count(u64::from(d.removes.medium)),
            Cell::count(u64::from(d.removes.low)),
            Cell::text(risky_actions(d)),
            Cell::text(&*d.evidence),
            Cell::opt_text(d.files.as_deref()),
            Cell::opt_text(d.intentional.as_ref().map(|m| m.rule.as_str())),
            Cell::text(&*d.principal_arn),
        ])?;
    }
    sheet.finish("decisions.csv")
}

/// Every finding, in rank order: the columns of the one findings schema, typed by it. The date
/// columns carry the date format as their column format (the style [`splice`] reads). With
/// [`FindingRows::Spliced`], only the last row is written here; the others widen the columns
/// and are left to [`splice`]: returns how many (from the first).
fn findings(
    wb: &mut Workbook,
    formats: &Formats,
    limit: u32,
    an: &Analysis<'_>,
    granted_by: &[String],
    rows: FindingRows,
) -> std::result::Result<usize, XlsxError> {
    let columns = columns(an);
    let header: Vec<&str> = columns.iter().map(|c| c.name).collect();
    let mut sheet = Sheet::new(wb, formats, SHEETS[1], &header, an.findings.len(), limit)?;
    for (col, c) in (0u16..).zip(&columns) {
        if c.ty == Type::Time {
            sheet.ws.set_column_format(col, &formats.date)?;
        }
    }
    let written = &an.findings[..sheet.capacity];
    let spliced = match rows {
        FindingRows::Writer => 0,
        FindingRows::Spliced { .. } => written.len().saturating_sub(1),
    };
    let mut cells = Vec::with_capacity(columns.len());
    let (left, own) = written.split_at(spliced);
    for_each_row(an, left.iter().enumerate(), granted_by, |row| {
        sheet.skip_finding(&columns, row)
    })?;
    let own = own.iter().enumerate().map(|(k, f)| (spliced + k, f));
    for_each_row(an, own, granted_by, |row| {
        finding_cells(&columns, row, &mut cells)?;
        sheet.row(cells.drain(..))
    })?;
    sheet.finish("findings.csv (and findings.parquet)")?;
    Ok(spliced)
}

/// Every principal, with the columns of principals.csv.
fn principals(
    wb: &mut Workbook,
    formats: &Formats,
    limit: u32,
    an: &Analysis<'_>,
    model: &ReportModel,
) -> std::result::Result<(), XlsxError> {
    // The identity findings of each principal join its flags, as in principals.csv.
    let identity_flags = IdentityFlags::new(&model.identities);
    let mut sheet = Sheet::new(
        wb,
        formats,
        SHEETS[2],
        &PRINCIPALS_HEADER,
        an.principals.len(),
        limit,
    )?;
    for p in an.principals.iter().take(sheet.capacity) {
        let flags = identity_flags.flags(p);
        let s = &p.unused_by_sensitivity;
        let policies: Vec<String> = p
            .policies
            .iter()
            .map(|pi| an.label(pi).to_string())
            .collect();
        sheet.row([
            Cell::text(&*p.account_id),
            Cell::text(p.kind.as_str()),
            Cell::text(p.name()),
            Cell::text(p.arn()),
            Cell::text(p.id()),
            Cell::Time(p.created),
            Cell::Time(p.last_used),
            Cell::opt_text(p.last_used_region.as_deref()),
            Cell::Bool(p.service_linked),
            Cell::Bool(p.actionable),
            Cell::Bool(p.has_last_accessed),
            Cell::count(u64::from(p.counts.granted)),
            Cell::count(u64::from(p.counts.used)),
            Cell::count(u64::from(p.counts.unused)),
            Cell::count(u64::from(p.counts.unknown)),
            Cell::count(u64::from(p.counts.excluded)),
            Cell::count(u64::from(s.critical)),
            Cell::count(u64::from(s.high)),
            Cell::count(u64::from(s.medium)),
            Cell::count(u64::from(s.low)),
            Cell::count(u64::from(p.score)),
            Cell::text(flags.join(";")),
            Cell::text(policies.join("; ")),
            Cell::text(p.unmatched_patterns.join("; ")),
        ])?;
    }
    sheet.finish("principals.csv")
}

/// The identity findings, then the checks that could not run: the rows of credentials.csv.
fn identities(
    wb: &mut Workbook,
    formats: &Formats,
    limit: u32,
    model: &ReportModel,
) -> std::result::Result<(), XlsxError> {
    let ids = &model.identities;
    let total = ids.findings.len() + ids.checks_not_possible.len();
    let mut sheet = Sheet::new(wb, formats, SHEETS[3], &CREDENTIALS_HEADER, total, limit)?;
    for f in &ids.findings {
        sheet.row([
            Cell::number(f.rank),
            Cell::text(RESULT_FINDING),
            Cell::text(f.account_id.as_str()),
            Cell::text(f.kind.as_str()),
            Cell::text(f.sensitivity.as_str()),
            Cell::Bool(f.actionable),
            Cell::text(f.principal_type.as_str()),
            Cell::text(f.principal_name.as_str()),
            Cell::text(f.principal_arn.as_str()),
            Cell::opt_text(f.credential.as_deref()),
            Cell::Time(f.last_used),
            Cell::opt_int(f.age_days),
            Cell::opt_int(f.days_unused),
            Cell::text(f.detail.as_str()),
        ])?;
    }
    for n in &ids.checks_not_possible {
        let mut cells = vec![Cell::Empty; CREDENTIALS_HEADER.len()];
        cells[1] = Cell::text(RESULT_NOT_POSSIBLE);
        cells[2] = Cell::text(n.account_id.as_str());
        cells[3] = Cell::text(n.check.as_str());
        cells[13] = Cell::text(n.reason.as_str());
        sheet.row(cells)?;
    }
    sheet.finish("credentials.csv")
}

/// One Scope row: section, account, name, value, detail.
type ScopeRow = (&'static str, String, String, Cell<'static>, Cell<'static>);

/// A Scope row for each field of `value` but `skip` (nested fields named `a.b`).
fn field_rows(
    rows: &mut Vec<ScopeRow>,
    section: &'static str,
    account: &str,
    mut value: Json,
    skip: &[&str],
) {
    if let Json::Object(m) = &mut value {
        for key in skip {
            m.remove(*key);
        }
    }
    let mut fields = Vec::new();
    flatten("", &value, &mut fields);
    rows.extend(
        fields
            .into_iter()
            .map(|(name, v)| (section, account.to_string(), name, v, Cell::Empty)),
    );
}

/// What the review covers, as report.json says it: the tool, the catalog and the settings (each
/// field a row), each account's fields (nested ones as `a.b`), every input file with its SHA-256
/// (value) and size in bytes (detail), the organisation part's facts and files when there is
/// one, and every warning (code, message, and file and JSON path).
///
/// The fields (a few dozen rows an account) are made first; the input files and the warnings
/// are written from the model as they come. Held as rows with the fields, the input files (one
/// per last-accessed report, ~1.1 million at 1,000,000 roles) were ~0.23 GB of the workbook's
/// writer, the run's peak (docs/performance.md, "thirtieth pass").
fn scope(
    wb: &mut Workbook,
    formats: &Formats,
    limit: u32,
    model: &ReportModel,
) -> std::result::Result<(), XlsxError> {
    let mut fields: Vec<ScopeRow> = Vec::new();
    for (section, value) in [
        ("tool", json(&model.tool)?),
        ("catalog", json(&model.catalog)?),
        ("settings", json(&model.settings)?),
    ] {
        field_rows(&mut fields, section, "", value, &[]);
    }
    for a in model.accounts.iter() {
        let value = json(a)?;
        field_rows(
            &mut fields,
            "account",
            &a.account_id,
            value,
            &["account_id", "files"],
        );
    }
    let mut organization: Vec<ScopeRow> = Vec::new();
    if let Some(org) = &model.organization {
        field_rows(
            &mut organization,
            "organization",
            "",
            json(org)?,
            &["files"],
        );
    }
    let org_files = model
        .organization
        .as_ref()
        .map_or(&[][..], |o| &o.files[..]);
    let files = model.accounts.iter().map(|a| a.files.len()).sum::<usize>();
    let total = fields.len() + files + organization.len() + org_files.len() + model.warnings.len();
    let mut sheet = Sheet::new(wb, formats, SHEETS[4], &SCOPE_HEADER, total, limit)?;
    for (section, account, name, value, detail) in fields {
        scope_row(&mut sheet, section, &account, name.into(), value, detail)?;
    }
    for a in model.accounts.iter() {
        for (path, digest, bytes) in a.files.iter().map(file_cells) {
            scope_row(&mut sheet, "input_file", &a.account_id, path, digest, bytes)?;
        }
    }
    for (section, account, name, value, detail) in organization {
        scope_row(&mut sheet, section, &account, name.into(), value, detail)?;
    }
    for (path, digest, bytes) in org_files.iter().map(file_cells) {
        scope_row(&mut sheet, "organization_file", "", path, digest, bytes)?;
    }
    for w in model.warnings.iter() {
        let place = match (&w.warning.file, &w.warning.json_path) {
            (Some(f), Some(p)) => Cell::text(format!("{f} {p}")),
            (Some(f), None) => Cell::text(f.as_str()),
            (None, Some(p)) => Cell::text(p.as_str()),
            (None, None) => Cell::Empty,
        };
        let (code, message) = (&w.warning.code, Cell::text(w.warning.message.as_str()));
        scope_row(
            &mut sheet,
            "warning",
            &w.account_id,
            code.into(),
            message,
            place,
        )?;
    }
    sheet.finish("report.json")
}

/// An input file's name, value and detail cells: its path, SHA-256 and size in bytes.
fn file_cells(f: &crate::model::InputFile) -> (Cow<'_, str>, Cell<'_>, Cell<'_>) {
    let digest = Cell::text(f.sha256.to_string());
    (Cow::Borrowed(f.path.as_str()), digest, Cell::count(f.bytes))
}

/// Writes one Scope row (an empty account is an empty cell).
fn scope_row<'a>(
    sheet: &mut Sheet<'_>,
    section: &'static str,
    account: &'a str,
    name: Cow<'a, str>,
    value: Cell<'a>,
    detail: Cell<'a>,
) -> std::result::Result<(), XlsxError> {
    let account = if account.is_empty() {
        Cell::Empty
    } else {
        Cell::text(account)
    };
    sheet.row([
        Cell::text(section),
        account,
        Cell::text(name),
        value,
        detail,
    ])
}

fn json(v: &impl Serialize) -> std::result::Result<Json, XlsxError> {
    serde_json::to_value(v).map_err(|e| XlsxError::ParameterError(e.to_string()))
}

/// The scalar fields of a JSON value as (dotted name, typed cell): RFC 3339 strings become
/// dates, numbers numbers, lists of scalars `; `-separated text; nulls empty cells.
fn flatten(prefix: &str, v: &Json, out: &mut Vec<(String, Cell<'static>)>) {
    let join = |key: &str| {
        if prefix.is_empty() {
            key.to_string()
        } else {
            format!("{prefix}.{key}")
        }
    };
    match v {
        Json::Object(m) => {
            for (k, v) in m {
                flatten(&join(k), v, out);
            }
        }
        Json::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            let texts: Vec<String> = items.iter().map(scalar_text).collect();
            // A command line reads as one; other lists as the CSVs write them.
            let sep = if prefix.ends_with("command_line") {
                " "
            } else {
                "; "
            };
            out.push((prefix.to_string(), Cell::text(texts.join(sep))));
        }
        Json::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), item, out);
            }
        }
        Json::Null => out.push((prefix.to_string(), Cell::Empty)),
        Json::Bool(b) => out.push((prefix.to_string(), Cell::Bool(*b))),
        Json::Number(n) => out.push((
            prefix.to_string(),
            n.as_f64().map_or(Cell::text(n.to_string()), Cell::Number),
        )),
        Json::String(s) => {
            let cell = match chrono::DateTime::parse_from_rfc3339(s) {
                Ok(t) => Cell::Time(Some(t.to_utc())),
                Err(_) => Cell::text(s.clone()),
            };
            out.push((prefix.to_string(), cell));
        }
    }
}

fn scalar_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_to_a_cell_and_marked() {
        let long = "é".repeat(40_000);
        let cut = fit(Cow::Borrowed(long.as_str()));
        assert!(cut.encode_utf16().count() <= CELL_TEXT_MAX);
        assert!(cut.ends_with(CUT_MARK));
        assert_eq!(fit(Cow::Borrowed("short")), "short");
        // Astral characters count two UTF-16 units each.
        let astral = "𝄞".repeat(20_000);
        let cut = fit(Cow::Borrowed(astral.as_str()));
        assert!(cut.encode_utf16().count() <= CELL_TEXT_MAX, "{}", cut.len());
    }

    #[test]
    fn a_panic_of_the_workbook_writer_is_an_error_naming_the_file() {
        let err = guarded(|| panic!("Couldn't write to xml file: No space left on device"))
            .unwrap_err()
            .to_string();
        assert!(err.contains(FILE), "{err}");
        assert!(err.contains("No space left on device"), "{err}");
        assert!(err.contains("TMPDIR"), "{err}");
        let err = guarded(|| Err(XlsxError::IoError(std::io::ErrorKind::NotFound.into())))
            .unwrap_err()
            .to_string();
        assert!(err.contains(FILE), "{err}");
        assert!(err.contains("TMPDIR"), "{err}");
        assert!(
            err.contains(&std::env::temp_dir().display().to_string()),
            "{err}"
        );
        let err = guarded(|| Err(XlsxError::ParameterError("bad".into())))
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad"), "{err}");
        assert!(guarded(|| Ok(())).is_ok());
    }

    #[test]
    fn text_widths_count_characters_up_to_the_widest_column() {
        let w = |s: &str| width(&Cell::text(s.to_string()));
        assert_eq!(w("plain"), 5);
        assert_eq!(w("é ✓ 𝄞"), 5);
        // Neutralised as written: the quote counts.
        assert_eq!(w("=1+1"), 5);
        assert_eq!(w(&"x".repeat(WIDTH_MAX)), WIDTH_MAX);
        assert_eq!(w(&"x".repeat(WIDTH_MAX + 1)), WIDTH_MAX);
        // More bytes than WIDTH_MAX, fewer characters.
        assert_eq!(w(&"é".repeat(40)), 40);
        assert_eq!(w(&"é".repeat(70)), WIDTH_MAX);
    }

    #[test]
    fn number_widths() {
        assert_eq!(number_width(0.0), 1);
        assert_eq!(number_width(7.0), 1);
        assert_eq!(number_width(1805.0), 4);
        assert_eq!(number_width(-12.0), 3);
        assert_eq!(number_width(0.5), 12);
    }

    #[test]
    fn schema_cells_follow_the_column_type() {
        assert_eq!(
            schema_cell("rank", Type::U32, Value::U32(7)).unwrap(),
            Cell::Number(7.0)
        );
        assert_eq!(
            schema_cell("x", Type::OptStr, Value::OptStr(None)).unwrap(),
            Cell::Empty
        );
        assert!(schema_cell("rank", Type::Str, Value::U32(7)).is_err());
    }

    #[test]
    fn flatten_types_scalars_and_names_nested_fields() {
        let v = serde_json::json!({
            "days": 90, "as_of": "2026-11-20T09:13:20.000Z", "path": "a/b", "none": null,
            "ok": true, "tags": ["x", "y"], "manifest": {"tool": "t"},
            "command_line": ["iam-tighten", "report", "x"], "rules": [{"id": "a"}]
        });
        let mut out = Vec::new();
        flatten("", &v, &mut out);
        let names: Vec<&str> = out.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "days",
                "as_of",
                "path",
                "none",
                "ok",
                "tags",
                "manifest.tool",
                "command_line",
                "rules[0].id"
            ]
        );
        assert_eq!(out[0].1, Cell::Number(90.0));
        assert!(matches!(out[1].1, Cell::Time(Some(_))));
        assert_eq!(out[2].1, Cell::text("a/b"));
        assert_eq!(out[3].1, Cell::Empty);
        assert_eq!(out[4].1, Cell::Bool(true));
        assert_eq!(out[5].1, Cell::text("x; y"));
        assert_eq!(out[7].1, Cell::text("iam-tighten report x"));
    }
}
