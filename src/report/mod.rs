//! Report outputs. The report model is built once (`model`), then projected into every format.
//! File names are chosen and files written atomically here, at the edge.

pub mod credentials;
pub mod csv;
pub mod dataset;
pub mod html;
pub mod model;
pub mod page;
pub mod xlsx;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use model::{Limits, ReportModel};

use crate::analysis::{self, Analysis};
use crate::error::{Error, Result};
use crate::files::{Staged, write_atomic};

/// The files and folders `report` writes into its output folder (and whose temporary files of a
/// killed run it may clean up).
pub const OUTPUT_NAMES: [&str; 11] = [
    "credentials.csv",
    "decisions.csv",
    dataset::DIR,
    "findings.csv",
    "findings.parquet",
    "principals.csv",
    "report.html",
    "report.json",
    "review.xlsx",
    SERVICES_CSV,
    crate::recommend::DIR,
];

/// An output format of `report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Format {
    Html,
    Csv,
    Json,
    Parquet,
    Xlsx,
    /// `findings/`, the Hive-partitioned Parquet dataset (`--parquet-dataset`; not in
    /// [`Format::ALL`], which is the default set).
    ParquetDataset,
}

impl Format {
    /// The formats written by default.
    pub const ALL: [Format; 5] = [
        Format::Html,
        Format::Csv,
        Format::Json,
        Format::Parquet,
        Format::Xlsx,
    ];

    /// The outputs (files, and the `findings/` folder) this format writes into `--out`.
    pub fn outputs(self) -> &'static [&'static str] {
        match self {
            Format::Html => &["report.html"],
            Format::Csv => &[
                "credentials.csv",
                "decisions.csv",
                "findings.csv",
                "principals.csv",
                SERVICES_CSV,
            ],
            Format::Json => &["report.json"],
            Format::Parquet => &["findings.parquet"],
            Format::Xlsx => &[xlsx::FILE],
            Format::ParquetDataset => &[dataset::DIR],
        }
    }
}

/// The outputs a run with `formats` writes into `--out` (the recommendations folder always),
/// sorted: a subset of [`OUTPUT_NAMES`].
pub fn output_names(formats: &[Format]) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = formats.iter().flat_map(|f| f.outputs()).copied().collect();
    names.push(crate::recommend::DIR);
    names.sort_unstable();
    names.dedup();
    names
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::write(path, e)
}

/// Writes the requested formats into `out_dir`; returns the files written, sorted.
pub fn write_report(
    an: &Analysis<'_>,
    model: &ReportModel,
    out_dir: &Path,
    formats: &[Format],
) -> Result<Vec<PathBuf>> {
    write_report_timed(an, model, out_dir, formats, None).map(|(written, _)| written)
}

/// services.csv of `an` into `out_dir`, written now and put in place by
/// [`write_report_timed`] with the other outputs: `report` writes it right after the analysis,
/// then keeps only the last-accessed facts the report model reads
/// (`Analysis::keep_service_facts_of`).
pub fn stage_services(an: &Analysis<'_>, out_dir: &Path) -> Result<Staged> {
    fs::create_dir_all(out_dir).map_err(|e| Error::write(out_dir, e))?;
    let p = out_dir.join(SERVICES_CSV);
    crate::files::stage(&p, |w| csv::write_services(an, w).map_err(io(&p)))
}

/// The file [`stage_services`] writes.
const SERVICES_CSV: &str = "services.csv";

/// How long each stage took, by name.
pub type StageTimes = Vec<(&'static str, Duration)>;

/// [`write_report`], also returning how long each format took. The formats are written in
/// parallel (each reads the same analysis and model and writes its own files). `services`, when
/// given, is services.csv as [`stage_services`] wrote it: the CSV writer puts it in place (with
/// the CSV files written before it) instead of writing it; without the CSV format it is
/// removed.
pub fn write_report_timed(
    an: &Analysis<'_>,
    model: &ReportModel,
    out_dir: &Path,
    formats: &[Format],
    services: Option<Staged>,
) -> Result<(Vec<PathBuf>, StageTimes)> {
    fs::create_dir_all(out_dir).map_err(|e| Error::write(out_dir, e))?;
    let mut services = services;
    let results: Vec<Result<(Vec<PathBuf>, &'static str, Duration)>> = std::thread::scope(|s| {
        let handles: Vec<_> = formats
            .iter()
            .map(|format| {
                // The CSV writer puts a staged services.csv in place instead of writing it.
                let staged = (*format == Format::Csv).then(|| services.take()).flatten();
                s.spawn(move || {
                    let clock = Instant::now();
                    let (written, name) =
                        write_format(an, model, out_dir, (*format, formats), staged)?;
                    Ok((written, name, clock.elapsed()))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let mut written = Vec::new();
    let mut timings = Vec::new();
    for r in results {
        let (files, name, took) = r?;
        written.extend(files);
        timings.push((name, took));
    }
    written.sort();
    Ok((written, timings))
}

/// The files that hold report.html's data in full, which the page points to for what it leaves
/// out.
const DATA_FILES: [&str; 8] = [
    "credentials.csv",
    "decisions.csv",
    "findings.csv",
    "findings.parquet",
    "principals.csv",
    "report.json",
    "review.xlsx",
    SERVICES_CSV,
];

fn write_format(
    an: &Analysis<'_>,
    model: &ReportModel,
    out_dir: &Path,
    (format, formats): (Format, &[Format]),
    services: Option<Staged>,
) -> Result<(Vec<PathBuf>, &'static str)> {
    let mut written = Vec::new();
    let name = match format {
        Format::Csv => {
            let p = out_dir.join("findings.csv");
            write_atomic(&p, |w| csv::write_findings(an, w).map_err(io(&p)))?;
            written.push(p);
            match services {
                Some(staged) => written.push(staged.commit()?),
                None => {
                    let p = out_dir.join(SERVICES_CSV);
                    write_atomic(&p, |w| csv::write_services(an, w).map_err(io(&p)))?;
                    written.push(p);
                }
            }
            let p = out_dir.join("principals.csv");
            write_atomic(&p, |w| {
                csv::write_principals(an, &model.identities, w).map_err(io(&p))
            })?;
            written.push(p);
            let p = out_dir.join("decisions.csv");
            write_atomic(&p, |w| {
                csv::write_decisions(&model.all_decisions, w).map_err(io(&p))
            })?;
            written.push(p);
            let p = out_dir.join("credentials.csv");
            write_atomic(&p, |w| {
                credentials::write_credentials(&model.identities, w).map_err(io(&p))
            })?;
            written.push(p);
            "render_csv"
        }
        Format::Json => {
            let p = out_dir.join("report.json");
            write_atomic(&p, |w| {
                serde_json::to_writer_pretty(&mut *w, model).map_err(|e| io(&p)(e.into()))?;
                w.write_all(b"\n").map_err(io(&p))
            })?;
            written.push(p);
            "render_json"
        }
        Format::Parquet => {
            let p = out_dir.join("findings.parquet");
            write_atomic(&p, |w| analysis::write_findings_parquet(an, w))?;
            written.push(p);
            "render_parquet"
        }
        Format::ParquetDataset => {
            written.push(dataset::write_findings_dataset(an, out_dir)?);
            "render_parquet_dataset"
        }
        Format::Xlsx => {
            let p = out_dir.join(xlsx::FILE);
            write_atomic(&p, |w| xlsx::write_workbook(an, model, w))?;
            written.push(p);
            "render_xlsx"
        }
        Format::Html => {
            let p = out_dir.join("report.html");
            let outputs = output_names(formats);
            let not_written: Vec<&'static str> = DATA_FILES
                .into_iter()
                .filter(|f| !outputs.contains(f))
                .collect();
            write_atomic(&p, |w| html::render_beside(model, &not_written, w))?;
            written.push(p);
            "render_html"
        }
    };
    Ok((written, name))
}

#[cfg(test)]
mod tests {
    use super::{Format, OUTPUT_NAMES, output_names};

    /// Every format's outputs together are `OUTPUT_NAMES` (the names a run checks and notes).
    #[test]
    fn the_formats_outputs_are_the_output_names() {
        let mut all = Format::ALL.to_vec();
        all.push(Format::ParquetDataset);
        let mut names = OUTPUT_NAMES.to_vec();
        names.sort_unstable();
        assert_eq!(output_names(&all), names);
    }
}
