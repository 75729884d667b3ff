//! The Findings sheet's data rows, written into the workbook's zip as XML instead of through
//! rust_xlsxwriter's cell table (issue 18: the sheet holds up to a million rows and was the longest
//! writer of the report).
//!
//! rust_xlsxwriter builds the workbook with the Findings sheet holding its header, its **last**
//! data row and the note row (so that the sheet's dimension, autofilter, defined names, frozen
//! pane and column widths are its own); [`write`] then copies that workbook entry by entry into
//! the output and, in the Findings sheet's XML, inserts the other data rows after the header.
//! [`RowXml`] writes each cell exactly as rust_xlsxwriter's constant-memory sheets write it
//! (inline strings, the same escapes, the same number text, the same style indices), so the
//! workbook's parts are byte for byte those rust_xlsxwriter writes alone: tests/xlsx.rs compares
//! both workbooks part by part, and the unit tests below compare single cells.

use std::io::{Read as _, Write};

use rust_xlsxwriter::XlsxError;
use rust_xlsxwriter::utility::column_number_to_name;
use zip::write::SimpleFileOptions;

use super::{Cell, excel_time, fit};
use crate::report::csv::{neutralise, ts};

/// The part rust_xlsxwriter writes for the sheet at `index` (0-based, workbook order).
pub(super) fn sheet_part(index: usize) -> String {
    format!("xl/worksheets/sheet{}.xml", index + 1)
}

fn bad(what: impl std::fmt::Display) -> XlsxError {
    XlsxError::ParameterError(format!("splicing the Findings rows: {what}"))
}

/// Writes data rows as rust_xlsxwriter's constant-memory worksheets do.
pub(super) struct RowXml {
    /// Column letters: A, B, …
    names: Vec<String>,
    /// Each column's style index (its column format; 0 when it has none).
    styles: Vec<u32>,
    /// The style index of the date format.
    date_style: u32,
    buf: Vec<u8>,
}

impl RowXml {
    /// A writer for `columns` columns with these column styles (missing ones are 0).
    pub(super) fn new(columns: u16, mut styles: Vec<u32>, date_style: u32) -> RowXml {
        styles.resize(usize::from(columns), 0);
        RowXml {
            names: (0..columns).map(column_number_to_name).collect(),
            styles,
            date_style,
            buf: Vec::with_capacity(1 << 16),
        }
    }

    /// The XML written since the last [`RowXml::clear`].
    pub(super) fn xml(&self) -> &[u8] {
        &self.buf
    }

    pub(super) fn clear(&mut self) {
        self.buf.clear();
    }

    /// Appends row `r` (1-based, as the XML counts). Cells past the columns are ignored, as
    /// `Sheet::row` ignores them.
    pub(super) fn row<'a>(&mut self, r: u32, cells: impl IntoIterator<Item = Cell<'a>>) {
        let mut row = itoa::Buffer::new();
        let row = row.format(r);
        self.buf.extend_from_slice(b"<row r=\"");
        self.buf.extend_from_slice(row.as_bytes());
        self.buf.extend_from_slice(b"\">");
        for (col, cell) in cells.into_iter().enumerate().take(self.names.len()) {
            self.cell(col, row, cell);
        }
        self.buf.extend_from_slice(b"</row>");
    }

    fn open(&mut self, col: usize, row: &str, style: u32) {
        self.buf.extend_from_slice(b"<c r=\"");
        self.buf.extend_from_slice(self.names[col].as_bytes());
        self.buf.extend_from_slice(row.as_bytes());
        self.buf.push(b'"');
        if style > 0 {
            self.buf.extend_from_slice(b" s=\"");
            self.buf
                .extend_from_slice(itoa::Buffer::new().format(style).as_bytes());
            self.buf.push(b'"');
        }
    }

    fn cell(&mut self, col: usize, row: &str, cell: Cell<'_>) {
        let style = self.styles[col];
        match cell {
            Cell::Text(s) => self.text(col, row, style, &fit(neutralise(&s))),
            Cell::Number(n) => self.number(col, row, style, n),
            Cell::Bool(b) => {
                self.open(col, row, style);
                self.buf.extend_from_slice(if b {
                    b" t=\"b\"><v>1</v></c>"
                } else {
                    b" t=\"b\"><v>0</v></c>"
                });
            }
            Cell::Time(None) | Cell::Empty => {}
            Cell::Time(Some(t)) => match excel_time(t) {
                Some(d) => self.number(col, row, self.date_style, d.to_excel()),
                None => self.text(col, row, style, &ts(Some(t))),
            },
        }
    }

    /// An inline string; rust_xlsxwriter writes no cell for an empty one.
    fn text(&mut self, col: usize, row: &str, style: u32, s: &str) {
        if s.is_empty() {
            return;
        }
        self.open(col, row, style);
        self.buf.extend_from_slice(b" t=\"inlineStr\"><is><t");
        if s.starts_with(['\t', '\n', ' ']) || s.ends_with(['\t', '\n', ' ']) {
            self.buf.extend_from_slice(b" xml:space=\"preserve\"");
        }
        self.buf.push(b'>');
        push_text(&mut self.buf, s);
        self.buf.extend_from_slice(b"</t></is></c>");
    }

    /// A number as Rust prints an `f64` (whole numbers without a fraction).
    fn number(&mut self, col: usize, row: &str, style: u32, n: f64) {
        self.open(col, row, style);
        self.buf.extend_from_slice(b"><v>");
        #[allow(clippy::cast_possible_truncation)]
        if n.fract() == 0.0 && n.abs() < 1e15 && !(n == 0.0 && n.is_sign_negative()) {
            self.buf
                .extend_from_slice(itoa::Buffer::new().format(n as i64).as_bytes());
        } else {
            write!(self.buf, "{n}").expect("writing to a Vec does not fail");
        }
        self.buf.extend_from_slice(b"</v></c>");
    }
}

/// Appends `s` as cell text: Excel's `_xHHHH_` escape sequences already in the text get their
/// underscore escaped (`_x005F`), then XML's `&`, `<`, `>`, control characters and the two
/// non-characters are escaped as rust_xlsxwriter escapes them.
fn push_text(buf: &mut Vec<u8>, s: &str) {
    let mut from = 0;
    for (i, _) in s.match_indices("_x") {
        if is_excel_escape(s, i) {
            push_escaped(buf, &s[from..i]);
            buf.extend_from_slice(b"_x005F");
            from = i;
        }
    }
    push_escaped(buf, &s[from..]);
}

/// `_xHHHH_` at `i` (four hex digits).
fn is_excel_escape(s: &str, i: usize) -> bool {
    s.get(i + 2..i + 7).is_some_and(|rest| {
        let b = rest.as_bytes();
        b.len() == 5 && b[..4].iter().all(u8::is_ascii_hexdigit) && b[4] == b'_'
    })
}

fn push_escaped(buf: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut from = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let special = match b {
            b'&' | b'<' | b'>' => true,
            0x00..=0x1f => b != b'\t' && b != b'\n',
            // U+FFFE and U+FFFF: EF BF BE / EF BF BF.
            0xef => {
                bytes.get(i + 1) == Some(&0xbf) && matches!(bytes.get(i + 2), Some(0xbe | 0xbf))
            }
            _ => false,
        };
        if !special {
            i += 1;
            continue;
        }
        buf.extend_from_slice(&bytes[from..i]);
        match b {
            b'&' => buf.extend_from_slice(b"&amp;"),
            b'<' => buf.extend_from_slice(b"&lt;"),
            b'>' => buf.extend_from_slice(b"&gt;"),
            0xef => {
                buf.extend_from_slice(if bytes[i + 2] == 0xbe {
                    b"_xFFFE_"
                } else {
                    b"_xFFFF_"
                });
                i += 2;
            }
            control => {
                write!(buf, "_x{control:04X}_").expect("writing to a Vec does not fail");
            }
        }
        i += 1;
        from = i;
    }
    buf.extend_from_slice(&bytes[from..]);
}

/// The style index of each column of a sheet's XML, from its `<col min= max= style=>` elements
/// (1-based, inclusive ranges); columns without one are 0.
pub(super) fn column_styles(sheet: &str) -> Result<Vec<u32>, XlsxError> {
    let mut styles = Vec::new();
    let Some(start) = sheet.find("<cols>") else {
        return Ok(styles);
    };
    let end = sheet[start..]
        .find("</cols>")
        .ok_or_else(|| bad("<cols> is not closed"))?;
    for col in sheet[start..start + end].split("<col ").skip(1) {
        let col = format!(" {col}");
        let attr = |name: &str| -> Option<u32> {
            let at = col
                .find(&format!(" {name}=\""))
                .map(|i| i + name.len() + 3)?;
            let rest = &col[at..];
            rest[..rest.find('"')?].parse().ok()
        };
        let (Some(min), Some(max)) = (attr("min"), attr("max")) else {
            return Err(bad("a <col> without min and max"));
        };
        if min == 0 || min > max {
            return Err(bad(format!("a <col> from {min} to {max}")));
        }
        let Some(style) = attr("style") else { continue };
        let max = usize::try_from(max).map_err(bad)?;
        if styles.len() < max {
            styles.resize(max, 0);
        }
        for s in &mut styles[usize::try_from(min - 1).map_err(bad)?..max] {
            *s = style;
        }
    }
    Ok(styles)
}

/// Copies the workbook `book` (written by rust_xlsxwriter) into `w`, with the XML of `rows`
/// (whole `<row>` elements, numbered from 2) inserted after the header row of the sheet `part`.
/// `rows` is called with the sheet's XML (to read its column styles) and a sink for the rows.
/// The other parts are copied as they are, compressed bytes included.
pub(super) fn write<R: std::io::Read + std::io::Seek, W: Write + Send>(
    book: R,
    part: &str,
    level: u8,
    rows: impl FnOnce(&str, &mut dyn FnMut(&[u8]) -> std::io::Result<()>) -> Result<(), XlsxError>,
    w: W,
) -> Result<(), XlsxError> {
    let mut archive = zip::ZipArchive::new(book)?;
    let mut out = zip::ZipWriter::new_stream(w);
    let mut rows = Some(rows);
    for i in 0..archive.len() {
        if archive.by_index_raw(i)?.name()? != part {
            out.raw_copy_file(archive.by_index_raw(i)?)?;
            continue;
        }
        let mut xml = String::new();
        archive.by_index(i)?.read_to_string(&mut xml)?;
        let (head, tail) = split_after_header(&xml)?;
        // The options rust_xlsxwriter gives its own XML parts (src/packager.rs).
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(i64::from(level)))
            .unix_permissions(0o600)
            .last_modified_time(zip::DateTime::default());
        out.start_file(part, options)?;
        out.write_all(head.as_bytes())?;
        let write_rows = rows.take().ok_or_else(|| bad(format!("{part} twice")))?;
        write_rows(&xml, &mut |bytes| out.write_all(bytes))?;
        out.write_all(tail.as_bytes())?;
    }
    if rows.is_some() {
        return Err(bad(format!("the workbook has no {part}")));
    }
    out.finish()?;
    Ok(())
}

/// The sheet's XML up to the end of its first row (the header), and the rest.
fn split_after_header(xml: &str) -> Result<(&str, &str), XlsxError> {
    let data = xml
        .find("<sheetData><row r=\"1\"")
        .ok_or_else(|| bad("the sheet does not start with its header row"))?;
    let end = xml[data..]
        .find("</row>")
        .ok_or_else(|| bad("the header row is not closed"))?;
    Ok(xml.split_at(data + end + "</row>".len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Timestamp;
    use chrono::TimeZone as _;
    use rust_xlsxwriter::{Format, Workbook};
    use std::io::Cursor;

    const TEXTS: [&str; 14] = [
        "plain",
        "a & b < c > d",
        " leading space",
        "trailing tab\t",
        "\nnewline first",
        "inner\nnewline",
        "control \u{1} \u{1f} \r chars",
        "_x0041_ looks like an escape",
        "_x004g_ does not; _x12345_ is five; _x_x0000_ two",
        "end _x1",
        "non-characters \u{fffe}\u{ffff} and \u{fffd}",
        "unicode: é ✓ 𝄞",
        "=1+1",
        "",
    ];

    /// Each cell as rust_xlsxwriter writes it in a constant-memory sheet with a date column
    /// format, and as [`RowXml`] writes it.
    #[test]
    fn cells_are_written_as_rust_xlsxwriter_writes_them() {
        let date = Format::new().set_num_format(super::super::DATE_FORMAT);
        let bold = Format::new().set_bold();
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet_with_constant_memory().unwrap();
        ws.write_string_with_format(0, 0, "header", &bold).unwrap();
        ws.set_column_format(3, &date).unwrap();
        let t = |y, s| -> Timestamp { chrono::Utc.with_ymd_and_hms(y, 5, 6, 7, 8, s).unwrap() };
        let mut rows: Vec<Vec<Cell<'static>>> = Vec::new();
        for (i, text) in TEXTS.iter().enumerate() {
            let i = i as f64;
            rows.push(vec![
                Cell::text(*text),
                Cell::Number(i * 1000.0 - 3.0),
                Cell::Bool((i as u32).is_multiple_of(2)),
                Cell::Time(Some(t(2020 + i as i32, i as u32))),
                Cell::text(format!("col E {text}")),
            ]);
        }
        rows.push(vec![
            Cell::Number(0.5),
            Cell::Number(-0.0),
            Cell::Number(1e15),
            Cell::text("not a date"),
            Cell::Number(123_456_789_012.0),
        ]);
        rows.push(vec![
            Cell::Empty,
            Cell::Time(None),
            Cell::Number(f64::from(u32::MAX) * 1000.0),
            Cell::Time(Some(t(1899, 0))),
            Cell::Number(-7.25),
        ]);
        for (r, cells) in (1u32..).zip(&rows) {
            for (c, cell) in (0u16..).zip(cells) {
                match cell {
                    Cell::Text(s) => {
                        ws.write_string(r, c, neutralise(s).as_ref()).unwrap();
                    }
                    Cell::Number(n) => {
                        ws.write_number(r, c, *n).unwrap();
                    }
                    Cell::Bool(b) => {
                        ws.write_boolean(r, c, *b).unwrap();
                    }
                    Cell::Time(Some(t)) => match excel_time(*t) {
                        Some(d) => {
                            ws.write_datetime_with_format(r, c, &d, &date).unwrap();
                        }
                        None => {
                            ws.write_string(r, c, ts(Some(*t)).as_str()).unwrap();
                        }
                    },
                    Cell::Time(None) | Cell::Empty => {}
                }
            }
        }
        let mut book = Vec::new();
        wb.save_to_writer(&mut book).unwrap();
        let mut archive = zip::ZipArchive::new(Cursor::new(book)).unwrap();
        let mut xml = String::new();
        archive
            .by_name(&sheet_part(0))
            .unwrap()
            .read_to_string(&mut xml)
            .unwrap();
        let styles = column_styles(&xml).unwrap();
        assert!(styles.len() == 4 && styles[3] > 0, "{styles:?} in {xml}");
        let mut ours = RowXml::new(5, styles.clone(), styles[3]);
        for (r, cells) in (2u32..).zip(&rows) {
            ours.row(r, cells.iter().cloned());
        }
        let (head, tail) = split_after_header(&xml).unwrap();
        let theirs = tail.split("</sheetData>").next().unwrap();
        assert!(head.ends_with("</row>"), "{head}");
        for escaped in [
            "_x005F_x0041_",
            "xml:space=\"preserve\"",
            "_x0001_",
            "_xFFFE_",
            "&amp;",
            "t=\"b\"",
        ] {
            assert!(theirs.contains(escaped), "{escaped} in {theirs}");
        }
        assert_eq!(String::from_utf8(ours.xml().to_vec()).unwrap(), theirs);
    }

    #[test]
    fn column_styles_read_ranges() {
        let xml = r#"<cols><col min="1" max="2" width="9" customWidth="1"/><col min="3" max="4" width="9" style="7" customWidth="1"/><col min="6" max="6" style="2"/></cols>"#;
        assert_eq!(column_styles(xml).unwrap(), vec![0, 0, 7, 7, 0, 2]);
        assert_eq!(column_styles("<sheetData/>").unwrap(), Vec::<u32>::new());
        assert!(column_styles("<cols><col width=\"1\"/></cols>").is_err());
        assert!(column_styles("<cols><col min=\"1\" max=\"1\"/>").is_err());
        assert!(column_styles("<cols><col min=\"3\" max=\"2\" style=\"1\"/></cols>").is_err());
        assert!(column_styles("<cols><col min=\"0\" max=\"2\" style=\"1\"/></cols>").is_err());
    }

    #[test]
    fn a_sheet_without_its_header_row_is_an_error() {
        assert!(split_after_header("<sheetData/>").is_err());
        assert!(split_after_header("<sheetData><row r=\"1\"><c/>").is_err());
        let (h, t) =
            split_after_header("x<sheetData><row r=\"1\"><c/></row><row r=\"2\"/>").unwrap();
        assert_eq!(
            (h, t),
            ("x<sheetData><row r=\"1\"><c/></row>", "<row r=\"2\"/>")
        );
    }
}
