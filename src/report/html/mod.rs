//! `report.html`: one self-contained, audit-ready page rendered by tera from the report model.
//!
//! ```text
//! mod.rs    templates, CSS and JS (embedded), the CSP, rendering within the size limit
//! view.rs   the view the templates read: sections (each rendered on its own), tables, cards
//! table.rs  the table of every principal, rendered without tera (it grows with the principals)
//! chart.rs  the inline SVG chart
//! ```
//!
//! Everything that comes from an export goes through tera's autoescape (or
//! [`page::escape`](super::page::escape) for the SVG chart and the table of principals); `| safe`
//! is used only on strings built here (CSS, JS, the chart, the table's rows, and the principal
//! sections, each rendered by tera with autoescape on before the page). The page carries a
//! Content-Security-Policy that allows exactly the one inline script, by its SHA-256. Output is
//! deterministic: no clock, no random ids.

mod chart;
mod table;
mod view;

use std::io::Write;

use super::ReportModel;
use super::page;
use crate::error::{Error, Result};

const TEMPLATES: [(&str, &str); 12] = [
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
        "section.html",
        include_str!("../../../templates/section.html"),
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

/// Renders the self-contained HTML report, within [`MAX_BYTES`]: when the full page would be
/// larger, principal sections and then rows of the principals table are cut (the page says so;
/// the CSV/Parquet files carry everything). Deterministic: the cuts depend on the model only.
///
/// Each candidate page is rendered with markers where the principal sections and the table of
/// principals' rows go: the sections are rendered once each, beforehand, and the rows' lengths
/// are known (`table.rs`), so the page's size is known without them, and they are written into
/// the chosen page only.
pub fn render(model: &ReportModel, w: &mut dyn Write) -> Result<()> {
    let t = page::engine("report.html", &TEMPLATES)?;
    let table = table::Table::new(model);
    let all_sections = view::sections_html(model, &t)?;
    // A page without its sections and rows, and its size with them.
    let page = |sections: usize, rows: usize| -> Result<(String, usize)> {
        let view = view::view(model, &table, &all_sections, sections, rows, false);
        let html = page::render(&t, "report.html", "report.html", &view)?;
        let size = html.len() - view::ROWS_MARK.len() - view::SECTIONS_MARK.len()
            + view.rows_bytes
            + view.sections_bytes;
        Ok((html, size))
    };
    let mut sections = model.limits.principal_sections;
    let mut rows = model.principals.len();
    let (mut html, mut size) = page(sections, rows)?;
    if size > MAX_BYTES && sections > 0 {
        // Too large: measure the page without sections once, and keep as many sections as the
        // room left allows at their average size (then shrink further if still too large).
        let bare = page(0, rows)?;
        let per_section = (size.saturating_sub(bare.1) / sections).max(1);
        let room = MAX_BYTES.saturating_sub(bare.1);
        let fit = ((room as f64 * 0.95) as usize / per_section).min(sections - 1);
        sections = fit;
        (html, size) = if fit == 0 {
            bare
        } else {
            page(sections, rows)?
        };
    }
    while size > MAX_BYTES && (sections > 0 || rows > 0) {
        // Shrink in proportion to the overshoot, with a margin.
        let keep = |n: usize| (n as f64 * (MAX_BYTES as f64 / size as f64) * 0.9) as usize;
        if sections > 0 {
            sections = keep(sections).min(sections - 1);
        } else {
            rows = keep(rows).min(rows - 1);
        }
        (html, size) = page(sections, rows)?;
    }
    // The marks are text no export can put on the page (their `<` would be escaped).
    let marks = (
        html.match_indices(view::ROWS_MARK).count(),
        html.match_indices(view::SECTIONS_MARK).count(),
    );
    let html = match marks {
        (1, 1) => {
            // The page shows the first `sections` of those rendered (`view::view`).
            let n = sections.min(all_sections.len());
            fill(
                &html,
                &[
                    (view::SECTIONS_MARK, all_sections[..n].concat()),
                    (
                        view::ROWS_MARK,
                        view::rows_html(model, &table, sections, rows),
                    ),
                ],
            )
        }
        _ => page::render(
            &t,
            "report.html",
            "report.html",
            &view::view(model, &table, &all_sections, sections, rows, true),
        )?,
    };
    if html.len() != size {
        return Err(Error::render(
            "report.html",
            format!("the page is {} bytes, measured as {size}", html.len()),
        ));
    }
    w.write_all(html.as_bytes())
        .map_err(|e| Error::write("report.html", e))
}

/// `page` with each mark (found once, in any order) replaced by its text, in one pass: nothing
/// inserted is searched again.
fn fill(page: &str, marks: &[(&str, String)]) -> String {
    let mut at: Vec<(usize, &str, &str)> = marks
        .iter()
        .filter_map(|(mark, text)| page.find(mark).map(|i| (i, *mark, text.as_str())))
        .collect();
    at.sort_by_key(|(i, _, _)| *i);
    let mut out =
        String::with_capacity(page.len() + marks.iter().map(|m| m.1.len()).sum::<usize>());
    let mut from = 0;
    for (i, mark, text) in at {
        out.push_str(&page[from..i]);
        out.push_str(text);
        from = i + mark.len();
    }
    out.push_str(&page[from..]);
    out
}

#[cfg(test)]
mod tests {
    use super::fill;

    #[test]
    fn fill_replaces_each_mark_once_in_any_order_and_never_searches_what_it_inserted() {
        let marks = [
            ("<B>", "b <A> b".to_string()),
            ("<A>", "a <B> a".to_string()),
        ];
        assert_eq!(fill("1<A>2<B>3", &marks), "1a <B> a2b <A> b3");
        assert_eq!(fill("1<B>2<A>3", &marks), "1b <A> b2a <B> a3");
        // A mark that is missing is skipped, the rest is copied as it is.
        assert_eq!(fill("1<A>2", &marks), "1a <B> a2");
    }
}
