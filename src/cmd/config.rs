//! Flags → one validated configuration per command (ripgrep's low-level → high-level args):
//! every flag is parsed and checked here, once; the commands and the library below them never see
//! a clap type.

use std::path::{Path, PathBuf};

use anyhow::Context;
use iam_tighten::analysis::identities::IdentitySettings;
use iam_tighten::analysis::{Config, Sensitivity, Settings};
use iam_tighten::catalog::Catalog;
use iam_tighten::diff::CsvOptions;
use iam_tighten::input::{self, LoadOptions};
use iam_tighten::report::Format;

use crate::cli::{AnalysisArgs, DiffArgs, OutputFormat, ReportArgs, SensitivityArg};

/// The catalog to use: `--catalog FILE` or the embedded one.
pub enum CatalogChoice {
    Embedded(&'static Catalog),
    Loaded(Box<Catalog>),
}

impl CatalogChoice {
    pub fn load(path: Option<&Path>) -> anyhow::Result<CatalogChoice> {
        Ok(match path {
            None => CatalogChoice::Embedded(Catalog::embedded()),
            Some(p) => CatalogChoice::Loaded(Box::new(Catalog::from_path(p)?)),
        })
    }

    pub fn get(&self) -> &Catalog {
        match self {
            CatalogChoice::Embedded(c) => c,
            CatalogChoice::Loaded(c) => c,
        }
    }
}

/// What `report` and `diff` analyse with.
pub struct AnalysisConfig {
    pub settings: Settings,
    pub exclusions: Config,
    pub load: LoadOptions,
    pub catalog: CatalogChoice,
}

impl AnalysisConfig {
    fn from_args(args: &AnalysisArgs, as_of: Option<&str>) -> anyhow::Result<AnalysisConfig> {
        let as_of = match as_of {
            None => None,
            Some(text) => Some(input::parse_timestamp(text).with_context(|| {
                format!(
                    "--as-of {text:?} is not a timestamp (use RFC 3339, e.g. 2026-11-20T00:00:00Z)"
                )
            })?),
        };
        Ok(AnalysisConfig {
            settings: Settings::new(args.unused_after, as_of)?,
            exclusions: match &args.config {
                None => Config::default(),
                Some(p) => Config::load(p)?,
            },
            load: LoadOptions {
                strict: args.strict,
                ..LoadOptions::default()
            },
            catalog: CatalogChoice::load(args.catalog.as_deref())?,
        })
    }
}

/// Everything `report` runs on.
pub struct ReportConfig {
    pub exports: Vec<PathBuf>,
    pub out: PathBuf,
    /// Sorted, without duplicates.
    pub formats: Vec<Format>,
    pub fail_on: Option<Sensitivity>,
    pub identities: IdentitySettings,
    /// Recommendation folders to write (`None`: all).
    pub folders: Option<usize>,
    pub analysis: AnalysisConfig,
}

impl ReportConfig {
    pub fn from_args(args: ReportArgs) -> anyhow::Result<ReportConfig> {
        let analysis = AnalysisConfig::from_args(&args.analysis, args.as_of.as_deref())?;
        let mut formats: Vec<Format> = if args.format.is_empty() {
            Format::ALL.to_vec()
        } else {
            args.format.iter().copied().map(format).collect()
        };
        if args.parquet_dataset {
            if !formats.contains(&Format::Parquet) {
                anyhow::bail!(
                    "--parquet-dataset writes Parquet, but --format leaves parquet out: add \
                     parquet to --format, or drop --parquet-dataset"
                );
            }
            formats.push(Format::ParquetDataset);
        }
        formats.sort();
        formats.dedup();
        Ok(ReportConfig {
            exports: args.exports,
            out: args.out,
            formats,
            fail_on: args.fail_on.map(sensitivity),
            identities: IdentitySettings {
                unused_after_days: analysis.settings.unused_after_days,
                key_max_age_days: args.key_max_age,
            },
            folders: args.recommendations.get(),
            analysis,
        })
    }
}

/// Everything `diff` runs on.
pub struct DiffConfig {
    pub old: PathBuf,
    pub new: PathBuf,
    pub out: PathBuf,
    pub exit_code: bool,
    pub fail_on_new: Option<Sensitivity>,
    pub identities: IdentitySettings,
    /// What diff.csv holds.
    pub csv: CsvOptions,
    pub analysis: AnalysisConfig,
}

impl DiffConfig {
    pub fn from_args(args: DiffArgs) -> anyhow::Result<DiffConfig> {
        if args.as_of.is_some() {
            anyhow::bail!(
                "--as-of is not supported by diff: each export is analysed at its own as-of time \
                 (its newest JobCompletionDate, else its manifest time)"
            );
        }
        let analysis = AnalysisConfig::from_args(&args.analysis, None)?;
        Ok(DiffConfig {
            old: args.old,
            new: args.new,
            out: args.out,
            exit_code: args.exit_code,
            fail_on_new: args.fail_on_new.map(sensitivity),
            identities: IdentitySettings {
                unused_after_days: analysis.settings.unused_after_days,
                key_max_age_days: args.key_max_age,
            },
            csv: CsvOptions {
                per_action: args.per_action,
                include_unchanged: args.include_unchanged,
            },
            analysis,
        })
    }
}

fn format(f: OutputFormat) -> Format {
    match f {
        OutputFormat::Html => Format::Html,
        OutputFormat::Csv => Format::Csv,
        OutputFormat::Json => Format::Json,
        OutputFormat::Parquet => Format::Parquet,
        OutputFormat::Xlsx => Format::Xlsx,
    }
}

fn sensitivity(s: SensitivityArg) -> Sensitivity {
    match s {
        SensitivityArg::Critical => Sensitivity::Critical,
        SensitivityArg::High => Sensitivity::High,
        SensitivityArg::Medium => Sensitivity::Medium,
        SensitivityArg::Low => Sensitivity::Low,
    }
}
