//! The findings schema, written once: every column of `findings.csv` and `findings.parquet`, in
//! order, with its type and how to read it from a finding. The CSV writer (`report::csv`), the
//! Parquet writer (`parquet.rs`) and the documentation check (every column is described in
//! `docs/report-fields.md`) all iterate [`FINDINGS`]; `report.json`'s finding view has the same
//! fields (its per-sensitivity counts nested), which a test checks.

use super::model::{Analysis, Finding, PrincipalInfo};
use super::sensitivity::category;
use crate::model::Timestamp;

/// The type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    /// Text, never null.
    Str,
    /// Text or null (empty in CSV).
    OptStr,
    U32,
    U64,
    /// A whole number or null.
    OptI64,
    Bool,
    /// A UTC time or null: RFC 3339 to the second in CSV, a millisecond timestamp in Parquet.
    Time,
}

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Str(&'a str),
    Owned(String),
    OptStr(Option<&'a str>),
    U32(u32),
    U64(u64),
    OptI64(Option<i64>),
    Bool(bool),
    Time(Option<Timestamp>),
}

/// What a column reads a cell from: a finding with its principal and precomputed texts.
pub struct Row<'a> {
    pub an: &'a Analysis<'a>,
    pub f: &'a Finding,
    /// The finding's rank ([`Analysis::rank`]).
    pub rank: u32,
    pub p: &'a PrincipalInfo,
    /// `granted_by` text of the finding (computed once per distinct list by the writers).
    pub granted_by: &'a str,
    /// Its SCP/RCP note ([`Analysis::control_note`]).
    pub control: Option<&'a crate::policy::control::ControlNote>,
}

/// A column: its header, type and extractor.
pub struct Column {
    pub name: &'static str,
    pub ty: Type,
    pub get: for<'a> fn(&Row<'a>) -> Value<'a>,
}

const fn col(name: &'static str, ty: Type, get: for<'a> fn(&Row<'a>) -> Value<'a>) -> Column {
    Column { name, ty, get }
}

/// Every findings column, in file order: what a reviewer scans first (rank, sensitivity, who,
/// what, the verdict and the named risky actions), then the details.
pub const FINDINGS: [Column; 28] = [
    col("rank", Type::U32, |r| Value::U32(r.rank)),
    col("sensitivity", Type::Str, |r| {
        Value::Str(r.an.sensitivity(r.f).as_str())
    }),
    col("account_id", Type::Str, |r| Value::Str(&r.p.account_id)),
    col("principal_type", Type::Str, |r| {
        Value::Str(r.p.kind.as_str())
    }),
    col("principal_name", Type::Str, |r| Value::Str(r.p.name())),
    col("action", Type::Str, |r| match r.an.action_text(r.f) {
        std::borrow::Cow::Borrowed(s) => Value::Str(s),
        std::borrow::Cow::Owned(s) => Value::Owned(s),
    }),
    col("action_summary", Type::Str, |r| {
        Value::Owned(r.an.action_summary_text(r.f))
    }),
    col("actions", Type::U32, |r| Value::U32(r.an.count(r.f))),
    col("status", Type::Str, |r| Value::Str(r.f.status().as_str())),
    col("reason", Type::Str, |r| Value::Str(r.f.reason.as_str())),
    col("risky_actions", Type::Str, |r| {
        Value::Owned(r.an.named_actions_text(r.f))
    }),
    col("critical_actions", Type::U64, |r| {
        Value::U64(r.an.sensitivity_counts(r.f).critical)
    }),
    col("high_actions", Type::U64, |r| {
        Value::U64(r.an.sensitivity_counts(r.f).high)
    }),
    col("medium_actions", Type::U64, |r| {
        Value::U64(r.an.sensitivity_counts(r.f).medium)
    }),
    col("low_actions", Type::U64, |r| {
        Value::U64(r.an.sensitivity_counts(r.f).low)
    }),
    col("risk_categories", Type::Str, |r| {
        Value::Str(category::joined(r.an.categories(r.f)))
    }),
    col("service", Type::Str, |r| Value::Str(r.an.service_name(r.f))),
    col("access_level", Type::Str, |r| {
        Value::Str(r.an.access_level(r.f))
    }),
    col("last_accessed", Type::Time, |r| {
        Value::Time(r.f.last_accessed())
    }),
    col("last_accessed_region", Type::OptStr, |r| {
        Value::OptStr(r.an.region(r.f).map(|r| &**r))
    }),
    col("days_since_access", Type::OptI64, |r| {
        Value::OptI64(r.an.days_since_access(r.f))
    }),
    col("granted_by", Type::Str, |r| Value::Str(r.granted_by)),
    col("resource_scope", Type::Str, |r| {
        Value::Str(if r.f.scoped() { "scoped" } else { "all" })
    }),
    col("conditional", Type::Bool, |r| {
        Value::Bool(r.f.conditional())
    }),
    col("actionable", Type::Bool, |r| Value::Bool(r.p.actionable)),
    col("excluded", Type::Bool, |r| {
        Value::Bool(r.f.exclusion.is_some())
    }),
    col("exclusion_reason", Type::OptStr, |r| {
        Value::OptStr(
            r.f.exclusion
                .and_then(|id| r.an.exclusion(id))
                .map(|rule| rule.reason.as_str()),
        )
    }),
    col("principal_arn", Type::Str, |r| Value::Str(r.p.arn())),
];

/// The column names, in order.
pub fn findings_header() -> [&'static str; 28] {
    FINDINGS.map(|c| c.name)
}

/// Columns only an analysis with an organisation part has (inserted before `principal_arn`):
/// exports without one keep exactly the columns above.
pub const ORGANIZATION: [Column; 2] = [
    col("control_effect", Type::OptStr, |r| {
        Value::OptStr(r.control.map(|n| n.effect.as_str()))
    }),
    col("control_detail", Type::OptStr, |r| {
        Value::OptStr(r.control.map(|n| n.detail.as_str()))
    }),
];

/// The columns of this analysis's findings files, in order.
pub fn columns(an: &Analysis<'_>) -> Vec<&'static Column> {
    let (head, last) = FINDINGS.split_at(FINDINGS.len() - 1);
    let org: &'static [Column] = if an.organization.is_some() {
        &ORGANIZATION
    } else {
        &[]
    };
    head.iter().chain(org).chain(last).collect()
}

/// Calls `each` with every finding's row, in the order given (rank order for a whole file),
/// with the `granted_by` texts computed once per distinct list.
pub fn for_each_row<'a, E>(
    an: &'a Analysis<'a>,
    findings: impl IntoIterator<Item = (usize, &'a Finding)>,
    granted_by: &'a [String],
    mut each: impl FnMut(&Row<'a>) -> Result<(), E>,
) -> Result<(), E> {
    for (index, f) in findings {
        let row = Row {
            an,
            f,
            rank: Analysis::rank(index),
            p: an.principal(f),
            granted_by: granted_by
                .get(f.granted_by.0 as usize)
                .map_or("", String::as_str),
            control: an.control_note(index),
        };
        each(&row)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_snake_case() {
        let names = findings_header();
        let set: std::collections::BTreeSet<_> = names.iter().collect();
        assert_eq!(set.len(), names.len());
        for n in names {
            assert!(
                n.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{n}"
            );
        }
    }
}
