//! The Findings sheet's data rows, written into the workbook's zip as XML instead of through
//! rust_xlsxwriter's cell table (issue 18: the sheet holds up to a million rows and was the longest
//! writer of the report).
//!
//! rust_xlsxwriter builds the workbook with the Findings sheet holding its header, its **last**
//! data row and the note row (so that the sheet's dimension, autofilter, defined names, frozen
//! pane and column widths are its own); [`write`] then copies that workbook entry by entry into
//! the output and, in the Findings sheet's XML, inserts the other data rows after the header.
//! [`RowXml`] writes each cell as rust_xlsxwriter's constant-memory sheets write it (inline
//! strings, the same escapes, the same number text, the same style indices) but without its
//! optional cell reference ([`RowXml::row`]), so the workbook's parts are byte for byte those
//! rust_xlsxwriter writes alone once [`without_cell_references`] takes the references out of
//! the spliced rows: tests/xlsx.rs compares both workbooks part by part, and the unit tests below
//! compare single cells.

use std::io::{Read as _, Write};

use rust_xlsxwriter::XlsxError;

use super::{Cell, excel_time, fit};
use crate::report::csv::{neutralise, ts};

/// The part rust_xlsxwriter writes for the sheet at `index` (0-based, workbook order).
pub(super) fn sheet_part(index: usize) -> String {
    format!("xl/worksheets/sheet{}.xml", index + 1)
}

fn bad(what: impl std::fmt::Display) -> XlsxError {
    XlsxError::ParameterError(format!("splicing the Findings rows: {what}"))
}

/// Writes data rows as rust_xlsxwriter's constant-memory worksheets do, but for the cell
/// references: see [`RowXml::row`].
#[derive(Clone)]
pub(super) struct RowXml {
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
    ///
    /// Its cells are rust_xlsxwriter's without their reference (`r="B12"`), which is optional
    /// (ECMA-376 Part 1, 18.3.1.4): a cell without one is in the column after the previous
    /// cell's. So a blank column between two cells is an empty cell with the column's style
    /// (`<c/>`, `<c s="3"/>`), where rust_xlsxwriter writes nothing; blanks at the end of the
    /// row are not written. The references, different in every row, kept deflate from matching
    /// one row's text against the next: without them the Findings XML deflates to about a third
    /// of the bytes, in about half the time.
    pub(super) fn row<'a>(&mut self, r: u32, cells: impl IntoIterator<Item = Cell<'a>>) {
        self.buf.extend_from_slice(b"<row r=\"");
        self.buf
            .extend_from_slice(itoa::Buffer::new().format(r).as_bytes());
        self.buf.extend_from_slice(b"\">");
        // The first blank column not written yet.
        let mut blank_from = None;
        for (col, cell) in cells.into_iter().enumerate().take(self.styles.len()) {
            if is_blank(&cell) {
                blank_from.get_or_insert(col);
                continue;
            }
            for blank in blank_from.take().unwrap_or(col)..col {
                self.open(self.styles[blank]);
                self.buf.extend_from_slice(b"/>");
            }
            self.cell(col, cell);
        }
        self.buf.extend_from_slice(b"</row>");
    }

    fn open(&mut self, style: u32) {
        self.buf.extend_from_slice(b"<c");
        if style > 0 {
            self.buf.extend_from_slice(b" s=\"");
            self.buf
                .extend_from_slice(itoa::Buffer::new().format(style).as_bytes());
            self.buf.push(b'"');
        }
    }

    /// A cell that is not blank ([`is_blank`]).
    fn cell(&mut self, col: usize, cell: Cell<'_>) {
        let style = self.styles[col];
        match cell {
            Cell::Text(s) => self.text(style, &fit(neutralise(&s))),
            Cell::Number(n) => self.number(style, n),
            Cell::Bool(b) => {
                self.open(style);
                self.buf.extend_from_slice(if b {
                    b" t=\"b\"><v>1</v></c>"
                } else {
                    b" t=\"b\"><v>0</v></c>"
                });
            }
            Cell::Time(None) | Cell::Empty => {}
            Cell::Time(Some(t)) => match excel_time(t) {
                Some(d) => self.number(self.date_style, d.to_excel()),
                None => self.text(style, &ts(Some(t))),
            },
        }
    }

    /// An inline string (never empty: [`is_blank`]).
    fn text(&mut self, style: u32, s: &str) {
        self.open(style);
        self.buf.extend_from_slice(b" t=\"inlineStr\"><is><t");
        if s.starts_with(['\t', '\n', ' ']) || s.ends_with(['\t', '\n', ' ']) {
            self.buf.extend_from_slice(b" xml:space=\"preserve\"");
        }
        self.buf.push(b'>');
        push_text(&mut self.buf, s);
        self.buf.extend_from_slice(b"</t></is></c>");
    }

    /// A number as Rust prints an `f64` (whole numbers without a fraction).
    fn number(&mut self, style: u32, n: f64) {
        self.open(style);
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

/// `sheet` (a worksheet's XML as rust_xlsxwriter writes it) with the cell references of the rows
/// numbered `rows` taken out as [`RowXml::row`] leaves them out: what splicing those rows
/// writes. For tests, which compare the two workbooks part by part.
#[doc(hidden)]
pub fn without_cell_references(
    sheet: &str,
    rows: std::ops::RangeInclusive<u32>,
) -> Result<String, XlsxError> {
    let styles = column_styles(sheet)?;
    let mut out = String::with_capacity(sheet.len());
    let mut rest = sheet;
    while let Some(at) = rest.find("<row r=\"") {
        let (before, row) = rest.split_at(at);
        out.push_str(before);
        let end = row.find("</row>").map_or(row.len(), |e| e + "</row>".len());
        let (row, after) = row.split_at(end);
        let number = row["<row r=\"".len()..]
            .split('"')
            .next()
            .and_then(|n| n.parse::<u32>().ok())
            .ok_or_else(|| bad(format!("a row without its number: {row}")))?;
        if rows.contains(&number) {
            compact_row(row, &styles, &mut out)?;
        } else {
            out.push_str(row);
        }
        rest = after;
    }
    out.push_str(rest);
    Ok(out)
}

/// One row of [`without_cell_references`].
fn compact_row(row: &str, styles: &[u32], out: &mut String) -> Result<(), XlsxError> {
    let mut next = 0;
    let mut rest = row;
    while let Some(at) = rest.find("<c r=\"") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "<c r=\"".len()..];
        let reference = after
            .split('"')
            .next()
            .ok_or_else(|| bad("a cell reference without its end"))?;
        let letters = reference.trim_end_matches(|c: char| c.is_ascii_digit());
        let col = letters
            .bytes()
            .try_fold(0usize, |n, b| {
                b.is_ascii_uppercase()
                    .then(|| n * 26 + usize::from(b - b'A') + 1)
            })
            .and_then(|n| n.checked_sub(1))
            .ok_or_else(|| bad(format!("a cell reference {reference:?}")))?;
        for blank in next..col {
            out.push_str("<c");
            match styles.get(blank) {
                Some(&style) if style > 0 => out.push_str(&format!(" s=\"{style}\"/>")),
                _ => out.push_str("/>"),
            }
        }
        next = col + 1;
        out.push_str("<c");
        rest = &after[reference.len() + 1..];
    }
    out.push_str(rest);
    Ok(())
}

/// A cell rust_xlsxwriter writes nothing for: no value, or empty text (neutralising and fitting
/// keep an empty text empty, and a non-empty one non-empty).
fn is_blank(cell: &Cell<'_>) -> bool {
    match cell {
        Cell::Empty | Cell::Time(None) => true,
        Cell::Text(s) => s.is_empty(),
        Cell::Number(_) | Cell::Bool(_) | Cell::Time(Some(_)) => false,
    }
}

/// Appends `s` as cell text: Excel's `_xHHHH_` escape sequences already in the text get their
/// underscore escaped (`_x005F`), then XML's `&`, `<`, `>`, control characters and the two
/// non-characters are escaped as rust_xlsxwriter escapes them.
fn push_text(buf: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut from = 0;
    // Each `_` followed by `x` (as `match_indices("_x")` finds them, without its searcher's set-up
    // for every cell: most cells hold no `_` at all).
    let mut at = 0;
    while let Some(off) = bytes[at..].iter().position(|&b| b == b'_') {
        let i = at + off;
        if bytes.get(i + 1) == Some(&b'x') && is_excel_escape(s, i) {
            push_escaped(buf, &s[from..i]);
            buf.extend_from_slice(b"_x005F");
            from = i;
        }
        at = i + 1;
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

/// The bytes [`push_escaped`] looks at: `&`, `<`, `>`, control characters but tab and newline,
/// and 0xEF (the first byte of U+FFFE and U+FFFF, and of other characters, checked further).
const LOOK: [bool; 256] = {
    let mut look = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        look[b] = b != b'\t' as usize && b != b'\n' as usize;
        b += 1;
    }
    look[b'&' as usize] = true;
    look[b'<' as usize] = true;
    look[b'>' as usize] = true;
    look[0xef] = true;
    look
};

fn push_escaped(buf: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut from = 0;
    let mut i = 0;
    // Most text has nothing to escape: skip to the next byte to look at, a table lookup each.
    while let Some(off) = bytes[i..].iter().position(|&b| LOOK[usize::from(b)]) {
        i += off;
        let b = bytes[i];
        // U+FFFE and U+FFFF: EF BF BE / EF BF BF.
        let special = b != 0xef
            || (bytes.get(i + 1) == Some(&0xbf) && matches!(bytes.get(i + 2), Some(0xbe | 0xbf)));
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

/// Copies the workbook `book` (written by rust_xlsxwriter) into `w`, with the XML of `pieces`
/// pieces of whole `<row>` elements inserted after the header row of the sheet `part`:
/// `prepare` makes the row writer from the sheet's XML (its column styles), `piece(i, rows)`
/// writes piece `i` into a clear copy of it. The other parts are copied as they are,
/// compressed bytes included.
///
/// The pieces are made and compressed on every core, each on its own as a raw deflate stream
/// ended by a sync flush (pigz's independent blocks), and joined in order: the entry is one
/// valid deflate stream, and its bytes do not depend on how many threads made it. The
/// compressed entry waits in an anonymous temporary file; at most [`AHEAD`] pieces wait in
/// memory.
pub(super) fn write<R, W, P, F>(
    book: R,
    part: &str,
    level: u8,
    prepare: P,
    pieces: usize,
    piece: F,
    w: W,
) -> Result<(), XlsxError>
where
    R: std::io::Read + std::io::Seek,
    W: Write + Send,
    P: FnOnce(&str) -> Result<RowXml, XlsxError>,
    F: Fn(usize, &mut RowXml) -> Result<(), XlsxError> + Sync,
{
    let mut archive = zip::ZipArchive::new(book)?;
    let mut out = zip::ZipWriter::new_stream(w);
    let mut prepare = Some(prepare);
    for i in 0..archive.len() {
        if archive.by_index_raw(i)?.name()? != part {
            out.raw_copy_file(archive.by_index_raw(i)?)?;
            continue;
        }
        let mut xml = String::new();
        archive.by_index(i)?.read_to_string(&mut xml)?;
        let (head, tail) = split_after_header(&xml)?;
        let prepare = prepare.take().ok_or_else(|| bad(format!("{part} twice")))?;
        let rows = prepare(&xml)?;
        let entry = deflate_sheet(head, tail, level, &rows, pieces, &piece)?;
        let zip64 = entry.size >= u64::from(u32::MAX) || entry.compressed >= u64::from(u32::MAX);
        let header = local_header(part, &entry, zip64)?;
        let mut data = std::io::Read::chain(&header[..], std::io::BufReader::new(entry.file));
        let file = zip::read::read_zipfile_from_stream(&mut data)?
            .ok_or_else(|| bad("the compressed sheet has no entry"))?;
        // The time and mode rust_xlsxwriter gives its own parts (src/packager.rs).
        out.raw_copy_file_touch(file, zip::DateTime::default(), Some(0o600))?;
    }
    if prepare.is_some() {
        return Err(bad(format!("the workbook has no {part}")));
    }
    out.finish()?;
    Ok(())
}

/// Pieces made and compressed ahead of the one being written to the temporary file.
const AHEAD: usize = 4;

/// A sheet's XML, compressed: the raw deflate stream in a temporary file (read from its start),
/// the CRC-32 and length of the XML, and the stream's length.
struct Deflated {
    file: std::fs::File,
    crc: u32,
    size: u64,
    compressed: u64,
}

/// Compresses `head`, the pieces and `tail` as one raw deflate stream (see [`write`]).
fn deflate_sheet<F>(
    head: &str,
    tail: &str,
    level: u8,
    rows: &RowXml,
    pieces: usize,
    piece: &F,
) -> Result<Deflated, XlsxError>
where
    F: Fn(usize, &mut RowXml) -> Result<(), XlsxError> + Sync,
{
    use std::io::Seek as _;
    let level = flate2::Compression::new(u32::from(level));
    let mut sink = std::io::BufWriter::new(tempfile::tempfile()?);
    let mut crc = crc32fast::Hasher::new();
    let (mut size, mut compressed) = (0u64, 0u64);
    let mut put = |p: Piece| -> std::io::Result<()> {
        sink.write_all(&p.deflated)?;
        crc.combine(&p.crc);
        size += p.size;
        compressed += p.deflated.len() as u64;
        Ok(())
    };
    let mut c = flate2::Compress::new(level, false);
    put(deflate(&mut c, head.as_bytes(), false)?)?;
    let mut failed = None;
    crate::parallel::stream_ordered(
        pieces,
        AHEAD,
        || (rows.clone(), flate2::Compress::new(level, false)),
        |(rows, c), i| {
            rows.clear();
            piece(i, rows)?;
            Ok::<_, XlsxError>(deflate(c, rows.xml(), false)?)
        },
        |_, made| match made.and_then(|p| put(p).map_err(XlsxError::from)) {
            Ok(()) => true,
            Err(e) => {
                failed = Some(e);
                false
            }
        },
    );
    if let Some(e) = failed {
        return Err(e);
    }
    put(deflate(&mut c, tail.as_bytes(), true)?)?;
    let mut file = sink.into_inner().map_err(|e| e.into_error())?;
    file.rewind()?;
    Ok(Deflated {
        file,
        crc: crc.finalize(),
        size,
        compressed,
    })
}

/// A piece of the sheet, compressed on its own.
struct Piece {
    deflated: Vec<u8>,
    crc: crc32fast::Hasher,
    size: u64,
}

/// `input` as a raw deflate stream of its own (`c` is reset first), ended by a sync flush (so
/// that the next piece's stream can follow it) or, for the `last` piece, by the final block.
fn deflate(c: &mut flate2::Compress, input: &[u8], last: bool) -> std::io::Result<Piece> {
    use flate2::{FlushCompress, Status};
    c.reset();
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut deflated = Vec::with_capacity(input.len() / 4 + 64);
    let mut rest = input;
    loop {
        if deflated.len() == deflated.capacity() {
            deflated.reserve(deflated.capacity().max(1 << 12));
        }
        let before = c.total_in();
        let status = c
            .compress_vec(rest, &mut deflated, flush)
            .map_err(std::io::Error::other)?;
        let used = usize::try_from(c.total_in() - before).map_err(std::io::Error::other)?;
        rest = &rest[used..];
        // A flush is complete when all input is taken and output room is left over.
        let done = match status {
            Status::StreamEnd => true,
            Status::Ok | Status::BufError => {
                !last && rest.is_empty() && deflated.len() < deflated.capacity()
            }
        };
        if done {
            break;
        }
    }
    let mut crc = crc32fast::Hasher::new();
    crc.update(input);
    Ok(Piece {
        deflated,
        crc,
        size: input.len() as u64,
    })
}

/// The local file header of a deflated entry `name` (with ZIP64 sizes when `zip64`: needed
/// when either size reaches 4 GiB), for the zip reader to hand the entry to the zip writer as a
/// raw copy.
fn local_header(name: &str, entry: &Deflated, zip64: bool) -> Result<Vec<u8>, XlsxError> {
    let name_len = u16::try_from(name.len()).map_err(|_| bad("a part name too long"))?;
    let mut h = Vec::with_capacity(30 + name.len() + 20);
    h.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    // Version 2.0 (4.5 for ZIP64) on Unix (the high byte, 3): the zip reader takes the
    // entry's system from it, and the writer gives a Unix entry its mode as rust_xlsxwriter does.
    h.extend_from_slice(&(0x300 | if zip64 { 45u16 } else { 20 }).to_le_bytes());
    h.extend_from_slice(&0u16.to_le_bytes()); // flags
    h.extend_from_slice(&8u16.to_le_bytes()); // deflated
    h.extend_from_slice(&0u16.to_le_bytes()); // time 00:00
    h.extend_from_slice(&0x21u16.to_le_bytes()); // date 1980-01-01
    h.extend_from_slice(&entry.crc.to_le_bytes());
    let small = |n: u64| {
        if zip64 {
            u32::MAX
        } else {
            u32::try_from(n).unwrap_or(u32::MAX)
        }
    };
    h.extend_from_slice(&small(entry.compressed).to_le_bytes());
    h.extend_from_slice(&small(entry.size).to_le_bytes());
    h.extend_from_slice(&name_len.to_le_bytes());
    h.extend_from_slice(&(if zip64 { 20u16 } else { 0 }).to_le_bytes());
    h.extend_from_slice(name.as_bytes());
    if zip64 {
        h.extend_from_slice(&1u16.to_le_bytes());
        h.extend_from_slice(&16u16.to_le_bytes());
        h.extend_from_slice(&entry.size.to_le_bytes());
        h.extend_from_slice(&entry.compressed.to_le_bytes());
    }
    Ok(h)
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

    /// A workbook of three sheets, the second with a header row and one data row.
    fn book() -> Vec<u8> {
        let mut wb = Workbook::new();
        wb.set_zip_compression_level(3);
        for name in ["One", "Findings", "Three"] {
            let ws = wb.add_worksheet_with_constant_memory().unwrap();
            ws.set_name(name).unwrap();
            ws.write_string(0, 0, "header").unwrap();
            ws.write_string(1, 0, format!("{name} last")).unwrap();
        }
        wb.save_to_buffer().unwrap()
    }

    /// A part's name, its bytes, its modification time and mode.
    type Part = (String, Vec<u8>, Option<zip::DateTime>, Option<u32>);

    /// Every part of a workbook, decompressed (the zip reader checks each CRC-32).
    fn parts(book: &[u8]) -> Vec<Part> {
        let mut archive = zip::ZipArchive::new(Cursor::new(book)).unwrap();
        (0..archive.len())
            .map(|i| {
                let mut f = archive.by_index(i).unwrap();
                let mut data = Vec::new();
                f.read_to_end(&mut data).unwrap();
                (
                    f.name().unwrap().into_owned(),
                    data,
                    f.last_modified(),
                    f.unix_mode(),
                )
            })
            .collect()
    }

    /// Pieces (some empty) written into the sheet: every other part is as it was, the sheet
    /// is its header, the pieces in order, then its own rows, whatever the number of pieces;
    /// the same input gives the same bytes.
    #[test]
    fn pieces_are_joined_in_order_into_one_valid_entry() {
        let book = book();
        let before = parts(&book);
        for pieces in [0, 1, 2, 7, 40] {
            let splice = || {
                let mut out = Vec::new();
                write(
                    Cursor::new(&book),
                    &sheet_part(1),
                    3,
                    |_| Ok(RowXml::new(1, Vec::new(), 0)),
                    pieces,
                    |i, rows| {
                        // Piece 3 is empty; the others hold i % 5 + 1 rows.
                        for k in 0..if i == 3 { 0 } else { i % 5 + 1 } {
                            let r = u32::try_from(1000 * i + k).unwrap();
                            rows.row(r, [Cell::Text(format!("piece {i} row {k}").into())]);
                        }
                        Ok(())
                    },
                    &mut out,
                )
                .unwrap();
                out
            };
            let out = splice();
            assert_eq!(out, splice(), "{pieces} pieces: not the same bytes twice");
            let after = parts(&out);
            assert_eq!(after.len(), before.len());
            for (a, b) in after.iter().zip(&before) {
                assert_eq!((&a.0, &a.2, &a.3), (&b.0, &b.2, &b.3), "{pieces} pieces");
                if a.0 != sheet_part(1) {
                    assert!(a.1 == b.1, "{}: changed", a.0);
                    continue;
                }
                let xml = String::from_utf8(a.1.clone()).unwrap();
                let original = String::from_utf8(b.1.clone()).unwrap();
                let (head, tail) = split_after_header(&original).unwrap();
                let mut rows = RowXml::new(1, Vec::new(), 0);
                for i in (0..pieces).filter(|i| *i != 3) {
                    for k in 0..i % 5 + 1 {
                        let r = u32::try_from(1000 * i + k).unwrap();
                        rows.row(r, [Cell::Text(format!("piece {i} row {k}").into())]);
                    }
                }
                let inserted = String::from_utf8(rows.xml().to_vec()).unwrap();
                assert_eq!(xml, format!("{head}{inserted}{tail}"), "{pieces} pieces");
            }
        }
    }

    /// A piece's error is the write's error, and nothing after it is asked for.
    #[test]
    fn a_failing_piece_fails_the_workbook() {
        let asked = std::sync::atomic::AtomicUsize::new(0);
        let err = write(
            Cursor::new(book()),
            &sheet_part(1),
            3,
            |_| Ok(RowXml::new(1, Vec::new(), 0)),
            1000,
            |i, _| {
                asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if i == 5 {
                    return Err(bad("piece five"));
                }
                Ok(())
            },
            Vec::new(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("piece five"), "{err}");
        assert!(asked.load(std::sync::atomic::Ordering::SeqCst) < 20);
    }

    /// The ZIP64 form of the local header (used from 4 GiB) reads back as the same entry.
    #[test]
    fn a_zip64_local_header_reads_back() {
        let text = b"<row r=\"2\"></row>".repeat(100);
        let mut c = flate2::Compress::new(flate2::Compression::new(3), false);
        let piece = deflate(&mut c, &text, true).unwrap();
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&piece.deflated).unwrap();
        std::io::Seek::rewind(&mut file).unwrap();
        let entry = Deflated {
            file,
            crc: piece.crc.finalize(),
            size: piece.size,
            compressed: piece.deflated.len() as u64,
        };
        for zip64 in [false, true] {
            let header = local_header("xl/x.xml", &entry, zip64).unwrap();
            let mut data = std::io::Read::chain(&header[..], &piece.deflated[..]);
            let mut f = zip::read::read_zipfile_from_stream(&mut data)
                .unwrap()
                .unwrap();
            assert_eq!(f.name().unwrap(), "xl/x.xml");
            assert_eq!(f.size(), text.len() as u64);
            let mut back = Vec::new();
            f.read_to_end(&mut back).unwrap();
            assert!(back == text, "zip64 {zip64}");
        }
    }

    const TEXTS: [&str; 16] = [
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
        "__x0041_, _X0041_ (capital X), x_x0041_ and an underscore last_",
        "non-characters \u{fffe}\u{ffff} and \u{fffd}",
        "other EF-led characters: \u{feff} \u{ffef} \u{fbff}, last \u{fffe}",
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
        rows.push(vec![
            Cell::text("no date"),
            Cell::Number(1.0),
            Cell::Bool(true),
            Cell::Time(None),
            Cell::text("after a blank in the date column"),
        ]);
        rows.push(vec![
            Cell::text("blanks at the end"),
            Cell::Empty,
            Cell::text(""),
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
        assert!(xml.contains("<c r=\"B2\""), "{xml}");
        let compact = without_cell_references(&xml, 2..=u32::MAX).unwrap();
        let (head, tail) = split_after_header(&compact).unwrap();
        let theirs = tail.split("</sheetData>").next().unwrap();
        // Theirs has a reference on every cell, ours none: a blank between two cells is an
        // empty cell instead (with the date column's style in that column), blanks at the end
        // of a row are left out.
        assert!(!theirs.contains(" r=\"B"), "{theirs}");
        assert!(theirs.contains("<row r=\"19\"><c/><c/><c>"), "{theirs}");
        let date_blank = format!("<c t=\"b\"><v>1</v></c><c s=\"{}\"/><c t=", styles[3]);
        assert!(theirs.contains(&date_blank), "{theirs}");
        assert!(
            theirs.contains("<t>blanks at the end</t></is></c></row>"),
            "{theirs}"
        );
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
