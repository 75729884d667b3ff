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
