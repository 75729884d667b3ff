//! `findings.parquet`: the findings table for DuckDB, Athena or Spark.

use std::io::Write;

use polars::prelude::*;
use polars_io::parquet::write::{ParquetCompression, ParquetWriter};

use super::model::{Analysis, Finding};
use super::schema::{Type, Value, for_each_row};
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

/// One frame of findings: a column per [`FINDINGS`] column, typed by its [`Type`].
fn findings_frame(
    an: &Analysis<'_>,
    granted_by: &[String],
    f: &[Finding],
) -> PolarsResult<DataFrame> {
    let schema = super::schema::columns(an);
    let mut columns = Vec::with_capacity(schema.len());
    for c in schema {
        let mut cells: Vec<Value<'_>> = Vec::with_capacity(f.len());
        for_each_row(an, f, granted_by, |row| {
            cells.push((c.get)(row));
            Ok::<(), std::convert::Infallible>(())
        })
        .unwrap_or_else(|e| match e {});
        columns.push(column(c.name, c.ty, cells)?);
    }
    DataFrame::new_infer_height(columns)
}

/// A typed polars column from a schema column's cells.
fn column(name: &str, ty: Type, cells: Vec<Value<'_>>) -> PolarsResult<Column> {
    let name: PlSmallStr = name.into();
    let bad = || polars_err!(ComputeError: "column {name}: a cell does not have type {ty:?}");
    Ok(match ty {
        Type::Str => {
            let v = cells
                .into_iter()
                .map(|c| match c {
                    Value::Str(s) => Ok(s.to_string()),
                    Value::Owned(s) => Ok(s),
                    _ => Err(bad()),
                })
                .collect::<PolarsResult<Vec<String>>>()?;
            Column::new(name, v)
        }
        Type::OptStr => {
            let v = cells
                .into_iter()
                .map(|c| match c {
                    Value::OptStr(s) => Ok(s.map(str::to_string)),
                    _ => Err(bad()),
                })
                .collect::<PolarsResult<Vec<Option<String>>>>()?;
            Column::new(name, v)
        }
        Type::U32 => {
            let v = cells
                .into_iter()
                .map(|c| match c {
                    Value::U32(n) => Ok(n),
                    _ => Err(bad()),
                })
                .collect::<PolarsResult<Vec<u32>>>()?;
            Column::new(name, v)
        }
        Type::U64 => {
            let v = cells
                .into_iter()
                .map(|c| match c {
                    Value::U64(n) => Ok(n),
                    _ => Err(bad()),
                })
                .collect::<PolarsResult<Vec<u64>>>()?;
            Column::new(name, v)
        }
        Type::OptI64 => {
            let v = cells
                .into_iter()
                .map(|c| match c {
                    Value::OptI64(n) => Ok(n),
                    _ => Err(bad()),
                })
                .collect::<PolarsResult<Vec<Option<i64>>>>()?;
            Column::new(name, v)
        }
        Type::Bool => {
            let v = cells
                .into_iter()
                .map(|c| match c {
                    Value::Bool(b) => Ok(b),
                    _ => Err(bad()),
                })
                .collect::<PolarsResult<Vec<bool>>>()?;
            Column::new(name, v)
        }
        Type::Time => {
            let v = cells
                .into_iter()
                .map(|c| match c {
                    Value::Time(t) => Ok(t.map(|t| t.timestamp_millis())),
                    _ => Err(bad()),
                })
                .collect::<PolarsResult<Vec<Option<i64>>>>()?;
            Column::new(name, v).cast(&DataType::Datetime(
                TimeUnit::Milliseconds,
                Some(TimeZone::UTC),
            ))?
        }
    })
}
