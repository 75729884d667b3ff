//! `findings.parquet`: the findings table for DuckDB, Athena or Spark.

use std::io::Write;

use polars::prelude::*;
use polars_io::parquet::write::{ParquetCompression, ParquetWriter};

use super::Analysis;
use super::sensitivity::category;
use crate::error::{Error, Result};

/// Writes every finding, in rank order, with the same columns as `findings.csv` (timestamps as
/// UTC `Datetime[ms]`, counts as integers, lists as `;`-separated strings).
pub fn write_findings_parquet<W: Write>(analysis: &Analysis<'_>, out: W) -> Result<()> {
    write(analysis, out).map_err(|e| Error::render("findings.parquet", e))
}

/// Rows per row group: frames are built and written a batch at a time, so memory stays bounded
/// by the batch, not by the organisation.
const BATCH: usize = 256 * 1024;

fn write<W: Write>(an: &Analysis<'_>, out: W) -> PolarsResult<()> {
    let n = an.findings.len();
    let granted_by = an.granted_by_texts();
    let first = findings_frame(an, &granted_by, &an.findings[..n.min(BATCH)])?;
    let mut writer = ParquetWriter::new(out)
        .with_compression(ParquetCompression::Zstd(None))
        .batched(first.schema())?;
    writer.write_batch(&first)?;
    drop(first);
    let mut start = BATCH;
    while start < n {
        let end = (start + BATCH).min(n);
        writer.write_batch(&findings_frame(an, &granted_by, &an.findings[start..end])?)?;
        start = end;
    }
    writer.finish()?;
    Ok(())
}

fn findings_frame(
    an: &Analysis<'_>,
    granted_by: &[String],
    f: &[crate::analysis::Finding],
) -> PolarsResult<DataFrame> {
    let pr = |i: usize| an.principal(&f[i]);
    let n = f.len();
    let strs = |g: &dyn Fn(usize) -> String| (0..n).map(g).collect::<Vec<String>>();
    let cat = an.catalog;
    let counts: Vec<_> = f.iter().map(|x| an.sensitivity_counts(x)).collect();
    let last: Vec<Option<i64>> = f
        .iter()
        .map(|x| x.last_accessed.map(|t| t.timestamp_millis()))
        .collect();
    let last = Column::new("last_accessed".into(), last).cast(&DataType::Datetime(
        TimeUnit::Milliseconds,
        Some(TimeZone::UTC),
    ))?;
    DataFrame::new_infer_height(vec![
        Column::new("account_id".into(), strs(&|i| pr(i).account_id.clone())),
        Column::new(
            "principal_type".into(),
            strs(&|i| pr(i).kind.as_str().to_string()),
        ),
        Column::new("principal_name".into(), strs(&|i| pr(i).name.clone())),
        Column::new("principal_arn".into(), strs(&|i| pr(i).arn.clone())),
        Column::new(
            "service".into(),
            strs(&|i| cat.action(f[i].action).service.to_string()),
        ),
        Column::new(
            "action".into(),
            strs(&|i| an.action_text(&f[i]).to_string()),
        ),
        Column::new(
            "actions".into(),
            f.iter().map(|x| x.count).collect::<Vec<_>>(),
        ),
        Column::new(
            "access_level".into(),
            strs(&|i| an.access_level(&f[i]).to_string()),
        ),
        Column::new("status".into(), strs(&|i| f[i].status.as_str().to_string())),
        Column::new("reason".into(), strs(&|i| f[i].reason.as_str().to_string())),
        Column::new(
            "sensitivity".into(),
            strs(&|i| f[i].sensitivity.as_str().to_string()),
        ),
        Column::new(
            "critical_actions".into(),
            (0..n).map(|i| counts[i].critical).collect::<Vec<_>>(),
        ),
        Column::new(
            "high_actions".into(),
            (0..n).map(|i| counts[i].high).collect::<Vec<_>>(),
        ),
        Column::new(
            "medium_actions".into(),
            (0..n).map(|i| counts[i].medium).collect::<Vec<_>>(),
        ),
        Column::new(
            "low_actions".into(),
            (0..n).map(|i| counts[i].low).collect::<Vec<_>>(),
        ),
        Column::new(
            "risk_categories".into(),
            strs(&|i| category::names(f[i].categories).join(";")),
        ),
        last,
        Column::new(
            "last_accessed_region".into(),
            f.iter()
                .map(|x| x.last_accessed_region.clone())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "days_since_access".into(),
            f.iter().map(|x| x.days_since_access).collect::<Vec<_>>(),
        ),
        Column::new(
            "granted_by".into(),
            strs(&|i| granted_by[f[i].granted_by.0 as usize].clone()),
        ),
        Column::new(
            "resource_scope".into(),
            strs(&|i| if f[i].scoped { "scoped" } else { "all" }.to_string()),
        ),
        Column::new("rank".into(), f.iter().map(|x| x.rank).collect::<Vec<_>>()),
        Column::new(
            "conditional".into(),
            f.iter().map(|x| x.conditional).collect::<Vec<_>>(),
        ),
        Column::new(
            "actionable".into(),
            (0..n).map(|i| pr(i).actionable).collect::<Vec<_>>(),
        ),
        Column::new(
            "excluded".into(),
            f.iter().map(|x| x.exclusion.is_some()).collect::<Vec<_>>(),
        ),
        Column::new(
            "exclusion_reason".into(),
            f.iter()
                .map(|x| {
                    x.exclusion
                        .and_then(|id| an.exclusion(id))
                        .map(|r| r.reason.clone())
                })
                .collect::<Vec<_>>(),
        ),
    ])
}
