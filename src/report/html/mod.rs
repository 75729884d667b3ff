//! `report.html`: one self-contained, audit-ready page rendered by tera from the report model.
//!
//! ```text
//! mod.rs      templates, CSS and JS (embedded), the CSP, rendering within the size limit
//! view.rs     the view the templates read: tables, cards, the sections' order
//! section.rs  each principal's section, written without tera (the page's largest part)
//! table.rs    the table of every principal, written without tera (it grows with the principals)
//! chart.rs    the inline SVG chart
//! ```
//!
//! Everything that comes from an export goes through tera's autoescape (or
//! [`page::escape`](super::page::escape) for the SVG chart, the principal sections and the table
//! of principals); `| safe` is used only on strings built here (CSS, JS, the chart, the table's
//! rows, and the principal sections, each written before the page). The page carries a
//! Content-Security-Policy that allows exactly the one inline script, by its SHA-256. Output is
//! deterministic: no clock, no random ids.

mod chart;
mod section;
mod table;
mod view;

use std::io::Write;

use super::ReportModel;
use super::page;
use crate::error::{Error, Result};

const TEMPLATES: [(&str, &str); 11] = [
    (
        "decisions.html",
        include_str!("../../../templates/decisions.html"),
    ),
    (
        "signoff.html",
        include_str!("../../../templates/signoff.html"),
    ),
    (
        "identities.html",
        include_str!("../../../templates/identities.html"),
    ),
    (
        "report.html",
        include_str!("../../../templates/report.html"),
    ),
    (
        "macros.html",
        include_str!("../../../templates/macros.html"),
    ),
    (
        "header.html",
        include_str!("../../../templates/header.html"),
    ),
    (
        "summary.html",
        include_str!("../../../templates/summary.html"),
    ),
    (
        "findings.html",
        include_str!("../../../templates/findings.html"),
    ),
    (
        "principals.html",
        include_str!("../../../templates/principals.html"),
    ),
    (
        "methodology.html",
        include_str!("../../../templates/methodology.html"),
    ),
    (
        "filters.html",
        include_str!("../../../templates/filters.html"),
    ),
];

/// The stylesheet, inlined in `<style>`.
pub const CSS: &str = include_str!("../../../templates/report.css");
/// The one script, inlined in `<script>`; its hash is in the CSP.
pub const JS: &str = include_str!("../../../templates/report.js");

/// The CSP source for the inline script: `'sha256-<base64>'`.
pub fn script_hash() -> String {
    page::script_hash(JS)
}

/// The full Content-Security-Policy of the page.
pub fn content_security_policy() -> String {
    format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src {}; img-src data:; \
         base-uri 'none'; form-action 'none'",
        script_hash()
    )
}

/// The largest page written (a little under the 10 MB the report promises).
pub const MAX_BYTES: usize = 9_500_000;

/// Principal sections a page keeps (of those configured) before its table of principals loses
/// rows: from ~30,000 principals the table alone filled the page, and cutting sections first left
/// none, although the sections of the highest-scoring principals are what a review reads and the
/// table's lowest rows are all in `principals.csv`.
pub const MIN_SECTIONS: usize = 50;

/// Renders the self-contained HTML report, within [`MAX_BYTES`]: when the full page would be
/// larger, principal sections are cut down to [`MIN_SECTIONS`], then rows of the principals table
/// (lowest score first), then the remaining sections (the page says so; the CSV/Parquet files
/// carry everything). Deterministic: the cuts depend on the model only.
///
/// Each candidate page is rendered with markers where the principal sections and the table of
/// principals' rows go: the sections are rendered once each, beforehand, and the rows' lengths
/// are known (`table.rs`), so the page's size is known without them, and they are written into
/// the chosen page only.
pub fn render(model: &ReportModel, w: &mut dyn Write) -> Result<()> {
    render_beside(model, &[], w)
}

/// [`render`], for a run that did not write `not_written` (the data files a `--format` left
/// out): the page, which points to them for what it leaves out, says so at its top.
pub fn render_beside(
    model: &ReportModel,
    not_written: &[&'static str],
    w: &mut dyn Write,
) -> Result<()> {
    let t = page::engine("report.html", &TEMPLATES)?;
    let table = table::Table::new(model);
    let all_sections = view::sections_html(model);
    // A page without its sections and rows, its size with them, and the rows' share of it.
    let page = |sections: usize, rows: usize| -> Result<Candidate> {
        let view = view::view(
            model,
            &table,
            &all_sections,
            (sections, rows),
            not_written,
            false,
        );
        let html = page::render(&t, "report.html", "report.html", &view)?;
        let size = html.len() - view::ROWS_MARK.len() - view::SECTIONS_MARK.len()
            + view.rows_bytes
            + view.sections_bytes;
        Ok(Candidate {
            html,
            size,
            rows_bytes: view.rows_bytes,
        })
    };
    let mut sections = all_sections.len();
    let mut rows = model.principals.len();
    let floor = MIN_SECTIONS.min(sections);
    let mut candidate = page(sections, rows)?;
    if candidate.size > MAX_BYTES && sections > floor {
        // Too large: measure the page with the floor's sections once, and keep as many more as
        // the room left allows at their average size (then shrink further if still too large).
        let base = page(floor, rows)?;
        let per_section = (candidate.size.saturating_sub(base.size) / (sections - floor)).max(1);
        let room = MAX_BYTES.saturating_sub(base.size);
        let more = ((room as f64 * 0.95) as usize / per_section).min(sections - floor - 1);
        sections = floor + more;
        candidate = if more == 0 {
            base
        } else {
            page(sections, rows)?
        };
    }
    while candidate.size > MAX_BYTES && (sections > 0 || rows > 0) {
        // Shrink in proportion to the overshoot, with a margin: sections down to the floor, then
        // the table's rows by the bytes they must give up, then the floor's sections.
        let ratio = MAX_BYTES as f64 / candidate.size as f64;
        let keep = |n: usize| (n as f64 * ratio * 0.9) as usize;
        if sections > floor {
            sections = keep(sections).clamp(floor, sections - 1);
        } else if rows > 0 {
            let over = candidate.size - MAX_BYTES;
            let share = 1.0 - over as f64 / candidate.rows_bytes.max(1) as f64;
            rows = ((rows as f64 * share.max(0.0) * 0.98) as usize).min(rows - 1);
        } else {
            sections = keep(sections).min(sections - 1);
        }
        candidate = page(sections, rows)?;
    }
    let Candidate { html, size, .. } = candidate;
    // The marks are text no export can put on the page (their `<` would be escaped).
    let marks = (
        html.match_indices(view::ROWS_MARK).count(),
        html.match_indices(view::SECTIONS_MARK).count(),
    );
    let rows_html;
    let full;
    let pieces: Vec<&str> = match marks {
        (1, 1) => {
            // The page shows the first `sections` of those rendered (`view::view`), written
            // piece by piece: the filled page is never one string beside its parts.
            let n = sections.min(all_sections.len());
            rows_html = view::rows_html(model, &table, sections, rows);
            let mut out = Vec::with_capacity(n + 3);
            for piece in split(&html, &[view::SECTIONS_MARK, view::ROWS_MARK]) {
                match piece {
                    Piece::Text(text) => out.push(text),
                    Piece::Mark(0) => out.extend(all_sections[..n].iter().map(String::as_str)),
                    Piece::Mark(_) => out.push(rows_html.as_str()),
                }
            }
            out
        }
        _ => {
            full = page::render(
                &t,
                "report.html",
                "report.html",
                &view::view(
                    model,
                    &table,
                    &all_sections,
                    (sections, rows),
                    not_written,
                    true,
                ),
            )?;
            vec![full.as_str()]
        }
    };
    let written: usize = pieces.iter().map(|p| p.len()).sum();
    if written != size {
        return Err(Error::render(
            "report.html",
            format!("the page is {written} bytes, measured as {size}"),
        ));
    }
    for piece in pieces {
        w.write_all(piece.as_bytes())
            .map_err(|e| Error::write("report.html", e))?;
    }
    Ok(())
}

/// A page measured with marks where its sections and rows go.
struct Candidate {
    html: String,
    /// Its size with the sections and rows.
    size: usize,
    /// The rows' part of `size`.
    rows_bytes: usize,
}

/// A part of a page: its own text, or where mark `i` (of those given to [`split`]) was.
#[derive(Debug, PartialEq)]
enum Piece<'a> {
    Text(&'a str),
    Mark(usize),
}

/// `page` cut at each mark (the first place each is found), in page order: nothing put in a
/// mark's place is searched for the others.
fn split<'a>(page: &'a str, marks: &[&str]) -> Vec<Piece<'a>> {
    let mut at: Vec<(usize, usize)> = marks
        .iter()
        .enumerate()
        .filter_map(|(k, mark)| page.find(mark).map(|i| (i, k)))
        .collect();
    at.sort_unstable();
    let mut out = Vec::with_capacity(2 * at.len() + 1);
    let mut from = 0;
    for (i, k) in at {
        out.push(Piece::Text(&page[from..i]));
        out.push(Piece::Mark(k));
        from = i + marks[k].len();
    }
    out.push(Piece::Text(&page[from..]));
    out
}

#[cfg(test)]
mod tests {
    use super::{Piece, split};

    /// `page` with each mark's place filled with its text.
    fn fill(page: &str, marks: &[(&str, &str)]) -> String {
        let names: Vec<&str> = marks.iter().map(|m| m.0).collect();
        split(page, &names)
            .into_iter()
            .map(|p| match p {
                Piece::Text(t) => t,
                Piece::Mark(k) => marks[k].1,
            })
            .collect()
    }

    #[test]
    fn fill_replaces_each_mark_once_in_any_order_and_never_searches_what_it_inserted() {
        let marks = [("<B>", "b <A> b"), ("<A>", "a <B> a")];
        assert_eq!(fill("1<A>2<B>3", &marks), "1a <B> a2b <A> b3");
        assert_eq!(fill("1<B>2<A>3", &marks), "1b <A> b2a <B> a3");
        // A mark that is missing is skipped, the rest is copied as it is.
        assert_eq!(fill("1<A>2", &marks), "1a <B> a2");
        assert_eq!(
            split("<A>x", &["<A>"]),
            [Piece::Text(""), Piece::Mark(0), Piece::Text("x")]
        );
    }
}
