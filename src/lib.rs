//! iam-tighten: find the AWS IAM permissions that principals hold but do not use.
//!
//! Data flows one way (see `docs/architecture.md`):
//! `input` (AWS shapes) → `model` → `policy` + `catalog` (grants) → `analysis` (polars, private)
//! → `report` (html, csv, json, parquet). `diff` compares two analyses.

#![forbid(unsafe_code)]

pub mod analysis;
pub mod catalog;
pub mod decisions;
pub mod diff;
pub mod error;
#[cfg(feature = "fetch")]
pub mod fetch;
pub mod files;
#[doc(hidden)]
pub mod fuzzing;
pub mod input;
pub mod memory;
pub mod model;
pub mod parallel;
pub mod policy;
pub mod recommend;
pub mod report;

pub use error::{Error, Result};

/// The sample organisation of `sample-data/2026-q4` (its two accounts and its organisation
/// part), loaded and analysed with a 90-day window, for the library's unit tests.
#[cfg(test)]
pub(crate) fn sample_organization() -> (
    Vec<model::Export>,
    Option<model::Organization>,
    analysis::Analysis<'static>,
) {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sample-data/2026-q4");
    let paths = vec![root.join("111111111111"), root.join("222222222222")];
    let exports = input::load_exports(&paths, &input::LoadOptions::default()).unwrap();
    let org = input::organization::find(&[root]).unwrap();
    let an = analysis::analyze_organization(
        &exports,
        org.as_ref(),
        catalog::Catalog::embedded(),
        &analysis::Settings::new(90, None).unwrap(),
        &analysis::Config::default(),
    )
    .unwrap();
    (exports, org, an)
}

/// The tool's version, as printed by `--version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `--version` text: the tool's version and the embedded catalog's.
pub fn long_version() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        let cat = catalog::Catalog::embedded();
        format!(
            "{VERSION} (catalog: {}, data updated {})",
            cat.source(),
            cat.updated()
        )
    })
}
