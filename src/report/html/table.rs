//! The table of every principal (`#principals-table`), rendered here rather than by tera: at
//! 100,000 principals tera's context for the table's rows took 1.8 GB and most of the page's
//! rendering time. Every other part of the page stays in the templates. Each row's length is
//! known before the page is rendered, so `render` fits the page within its size limit by
//! arithmetic instead of rendering (and throwing away) pages with every row.
//!
//! The markup is what `templates/principals.html` rendered for a row, with the same escaping
//! ([`escape_into`]) and number and time formats (the sample report's snapshot and the page tests
//! read it).

use std::fmt::Write as _;

use super::view::Anchors;
use crate::model::grouped_into;
use crate::report::model::{PrincipalView, ReportModel};
use crate::report::page::{escape_into, words_into};

/// The principals in the order the table keeps them when it must be cut, and each row's length
/// without a link to a section.
pub(super) struct Table {
    /// Principal indexes, highest score first (ties: the model's order).
    by_score: Vec<usize>,
    /// Bytes of each principal's row, unlinked.
    unlinked: Vec<usize>,
}

impl Table {
    pub fn new(model: &ReportModel) -> Table {
        let principals = &model.principals;
        let mut by_score: Vec<usize> = (0..principals.len()).collect();
        by_score.sort_by(|a, b| {
            principals[*b]
                .info
                .score
                .cmp(&principals[*a].info.score)
                .then(a.cmp(b))
        });
        let mut buf = String::new();
        let unlinked = principals
            .iter()
            .map(|p| {
                buf.clear();
                row(&mut buf, p, None);
                buf.len()
            })
            .collect();
        Table { by_score, unlinked }
    }

    /// The principals a table of at most `max_rows` rows lists (those with the highest score),
    /// in the model's order.
    pub fn kept(&self, max_rows: usize) -> Vec<usize> {
        let mut kept = self.by_score[..max_rows.min(self.by_score.len())].to_vec();
        kept.sort_unstable();
        kept
    }

    /// The bytes [`html`] writes for `kept`, without writing it.
    pub fn bytes(&self, model: &ReportModel, kept: &[usize], ids: &Anchors) -> usize {
        let mut buf = String::new();
        kept.iter()
            .map(|&i| match ids.get(i) {
                None => self.unlinked[i],
                Some(id) => {
                    buf.clear();
                    row(&mut buf, &model.principals[i], Some(id));
                    buf.len()
                }
            })
            .sum()
    }
}

/// The rows of `kept`, each preceded by a newline; a principal with a section (`ids`) links to
/// it.
pub(super) fn html(model: &ReportModel, kept: &[usize], ids: &Anchors) -> String {
    let mut out = String::new();
    for &i in kept {
        row(&mut out, &model.principals[i], ids.get(i));
    }
    out
}

/// `unused` (has unused permissions), `unknown` (unknown ones only) or `used` (neither).
fn status(p: &PrincipalView) -> &'static str {
    if p.info.counts.unused > 0 {
        "unused"
    } else if p.info.counts.unknown > 0 {
        "unknown"
    } else {
        "used"
    }
}

fn num(out: &mut String, n: u64) {
    out.push_str("<td class=\"num\">");
    grouped_into(out, n);
    out.push_str("</td>");
}

fn row(out: &mut String, p: &PrincipalView, id: Option<&str>) {
    let i = &p.info;
    let kind = i.kind.as_str();
    let status = status(p);
    out.push_str("\n<tr data-account=\"");
    escape_into(out, &i.account_id);
    let _ = write!(
        out,
        "\" data-type=\"{kind}\" data-status=\"{status}\"><th scope=\"row\">"
    );
    match id {
        Some(id) => {
            out.push_str("<a href=\"#");
            escape_into(out, id);
            out.push_str("\">");
            escape_into(out, i.name());
            out.push_str("</a>");
        }
        None => escape_into(out, i.name()),
    }
    let _ = write!(out, "<div class=\"sub\">{kind} · ");
    escape_into(out, &i.account_id);
    let _ = write!(out, "</div></th><td>{status}</td>");
    let c = &i.counts;
    let s = &i.unused_by_sensitivity;
    for n in [
        i.score, c.granted, c.used, c.unused, c.unknown, c.excluded, s.critical, s.high,
    ] {
        num(out, u64::from(n));
    }
    match i.last_used {
        Some(t) => {
            let iso = crate::model::rfc3339(t);
            let _ = write!(
                out,
                "<td data-v=\"{iso}\"><time datetime=\"{iso}\">{}</time></td>",
                t.format("%Y-%m-%d %H:%M UTC")
            );
        }
        None => out.push_str("<td data-v=\"\"><span class=\"muted\">never</span></td>"),
    }
    out.push_str("<td>");
    for (k, f) in i.flags.iter().enumerate() {
        if k > 0 {
            out.push_str(", ");
        }
        words_into(out, f);
    }
    out.push_str("</td></tr>");
}
