//! `diff.csv`: one row per change, every row (also the unchanged kinds), in [`compare`] order.
//! Identity rows (`identity_*`) carry the identity finding kind in `action`, the credential and
//! the evidence in `detail`, and each side's last use in the `*_last_accessed` columns.
//! Headers are stable snake_case, documented in `docs/usage.md`; cells are neutralised like the
//! report's CSVs.
//!
//! [`compare`]: super::compare

use std::io::Write;

use super::{Change, State};
use crate::report::csv::{neutralise, ts};

pub const HEADER: [&str; 20] = [
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

fn cells(c: &Change) -> [String; 20] {
    let s = |st: &Option<State>, f: fn(&State) -> String| st.as_ref().map(f).unwrap_or_default();
    let sens = |x: Option<crate::analysis::Sensitivity>| {
        x.map(|x| x.as_str().to_string()).unwrap_or_default()
    };
    let excluded = c
        .new
        .as_ref()
        .or(c.old.as_ref())
        .is_some_and(|x| x.excluded);
    [
        c.kind.as_str().to_string(),
        c.account_id.clone(),
        c.principal_type.clone(),
        c.principal_name.clone(),
        c.principal_arn.clone(),
        c.action.clone(),
        c.service.clone(),
        s(&c.old, |x| x.status.as_str().to_string()),
        s(&c.new, |x| x.status.as_str().to_string()),
        s(&c.old, |x| x.reason.as_str().to_string()),
        s(&c.new, |x| x.reason.as_str().to_string()),
        sens(c.old_sensitivity),
        sens(c.new_sensitivity),
        match &c.identity {
            Some(i) => ts(i.old.as_ref().and_then(|f| f.last_used)),
            None => s(&c.old, |x| ts(x.last_accessed)),
        },
        match &c.identity {
            Some(i) => ts(i.new.as_ref().and_then(|f| f.last_used)),
            None => s(&c.new, |x| ts(x.last_accessed)),
        },
        s(&c.old, |x| x.granted_by.clone()),
        s(&c.new, |x| x.granted_by.clone()),
        if c.actionable { "true" } else { "false" }.to_string(),
        if excluded { "true" } else { "false" }.to_string(),
        c.detail.clone(),
    ]
}

/// Writes the header and every change.
pub fn write_changes<W: Write>(changes: &[Change], w: W) -> std::io::Result<()> {
    let mut out = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(w);
    out.write_record(HEADER).map_err(std::io::Error::other)?;
    for c in changes {
        let row = cells(c);
        out.write_record(row.iter().map(|cell| neutralise(cell).into_owned()))
            .map_err(std::io::Error::other)?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::ChangeKind;

    #[test]
    fn formulas_are_neutralised() {
        let c = Change {
            principal_type: "role".into(),
            principal_name: "=1+1".into(),
            principal_arn: "arn:aws:iam::111111111111:role/=1+1".into(),
            ..Change::account(ChangeKind::PrincipalAdded, "111111111111", "@x".into())
        };
        let mut buf = Vec::new();
        write_changes(&[c], &mut buf).expect("write to a Vec");
        let text = String::from_utf8(buf).expect("utf-8");
        let row = text.lines().nth(1).expect("a data row");
        assert!(row.contains(",'=1+1,"), "{row}");
        assert!(row.ends_with(",'@x"), "{row}");
        assert!(text.starts_with("kind,account_id,"));
    }
}
