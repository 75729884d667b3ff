//! `diff.html`: one self-contained page drawn by tera from the [`DiffModel`], in the report's
//! look (the same stylesheet, inlined, plus rules of its own). Everything from an export goes
//! through tera's autoescape; `| safe` is used only on the stylesheet and the CSP. No script: the
//! page's CSP is `default-src 'none'; style-src 'unsafe-inline'`, and lists fold with
//! `<details>`. Tables are capped (`limits.html_table`, and again to keep the page under
//! [`MAX_BYTES`]) and point to diff.csv for the rest. Numbers and times are formatted in
//! `view.rs`, so the template needs no filters and cannot read a clock.
//!
//! ```text
//! mod.rs   the CSP, the kinds' descriptions, rendering within the size limit
//! view.rs  the view the template reads: cards, tables, policy groups, built from the model
//! ```

mod view;

use std::io::Write;

use super::ChangeKind;
use super::DiffModel;
use crate::error::{Error, Result};
use crate::report::page;

const TEMPLATE: &str = include_str!("../../../templates/diff.html");
/// The report's stylesheet.
const CSS: &str = include_str!("../../../templates/report.css");
/// No script, no images, no frames: only inline styles.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

/// The largest page written (a little under the 10 MB promised).
pub const MAX_BYTES: usize = 9_500_000;

/// One sentence per kind, for the page and the docs.
pub fn describe(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::AccountAdded => "Account exported only on the new side.",
        ChangeKind::AccountRemoved => "Account exported only on the old side.",
        ChangeKind::PermissionSetAdded => {
            "IAM Identity Center permission set only on the new side."
        }
        ChangeKind::PermissionSetRemoved => "Permission set only on the old side.",
        ChangeKind::PermissionSetChanged => {
            "Permission set on both sides whose policies, boundary, session duration or accounts changed."
        }
        ChangeKind::ControlPolicyAdded => "SCP or RCP only on the new side.",
        ChangeKind::ControlPolicyRemoved => "SCP or RCP only on the old side.",
        ChangeKind::ControlPolicyChanged => {
            "SCP or RCP on both sides whose document, name or targets changed."
        }
        ChangeKind::OrganizationAccountChanged => {
            "Account of the organisation that joined, left, moved between OUs, was renamed or changed status."
        }
        ChangeKind::PrincipalAdded => {
            "Principal only on the new side; its grants are counted, not listed."
        }
        ChangeKind::PrincipalRemoved => {
            "Principal only on the old side; its grants are counted, not listed."
        }
        ChangeKind::PrincipalRecreated => {
            "Same ARN, new principal id: deleted and re-created. Its actions are compared as usual."
        }
        ChangeKind::PrincipalRenamed => {
            "User or group renamed (same id, new name and ARN). Its actions are compared as usual."
        }
        ChangeKind::NewlyGranted => "Granted now, not before.",
        ChangeKind::NewlyUnused => "Unused now; used before.",
        ChangeKind::UnusedWasUnknown => {
            "Unused now; unknown before (no data, too new, ...): the grant was there, the evidence is new. Not new risk."
        }
        ChangeKind::Revoked => "Granted before, not now.",
        ChangeKind::NewlyUsed => "Used now; unused or unknown before.",
        ChangeKind::NewlyUnknown => "Unknown now; used or unused before.",
        ChangeKind::GrantUnknown => {
            "Granted on one side only, but a side's export lacks a policy, group or boundary of the principal: not comparable, not a change."
        }
        ChangeKind::StillUnused => "Unused on both sides.",
        ChangeKind::StillUnknown => "Unknown on both sides.",
        ChangeKind::UnchangedUsed => "Used on both sides.",
        ChangeKind::IdentityNew => {
            "Identity or credential finding only on the new side (e.g. a key that became unused)."
        }
        ChangeKind::IdentityResolved => {
            "Identity finding only on the old side: the new side checked and found nothing."
        }
        ChangeKind::IdentityUnknown => {
            "Identity finding of the old side that the new side could not check; not resolved."
        }
        ChangeKind::IdentityUnchanged => "Identity finding on both sides.",
    }
}

/// Renders `diff.html` within [`MAX_BYTES`]: when the page would be larger, every table shows
/// fewer rows (the page says how many it shows; diff.csv has them all). Deterministic: the cuts
/// depend on the model only.
pub fn render(model: &DiffModel, w: &mut dyn Write) -> Result<()> {
    let html = render_within(model, MAX_BYTES)?;
    w.write_all(html.as_bytes())
        .map_err(|e| Error::write("diff.html", e))
}

/// The page, with as many rows per table as keep it within `max` bytes (none at worst).
pub(crate) fn render_within(model: &DiffModel, max: usize) -> Result<String> {
    let t = page::engine("diff.html", &[("diff.html", TEMPLATE)])?;
    let page = |rows: usize| page::render(&t, "diff.html", "diff.html", &view::view(model, rows));
    let mut rows = model.limits.html_table;
    let mut html = page(rows)?;
    while html.len() > max && rows > 0 {
        // Shrink in proportion to the overshoot, with a margin.
        let keep = (rows as f64 * (max as f64 / html.len() as f64) * 0.9) as usize;
        rows = keep.min(rows - 1);
        html = page(rows)?;
    }
    Ok(html)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::page::escape;

    #[test]
    fn escape_covers_markup() {
        assert_eq!(
            escape("</script><img src=x onerror='a'>&\""),
            "&lt;/script&gt;&lt;img src=x onerror=&#39;a&#39;&gt;&amp;&quot;"
        );
    }

    #[test]
    fn template_parses() {
        let mut t = tera::Tera::default();
        assert!(t.add_raw_template("diff.html", TEMPLATE).is_ok());
    }
}
