//! Byte-level entry points for the coverage-guided fuzz targets in `fuzz/` (see
//! `docs/fuzzing.md`). Not part of the API: hidden from the docs, no stability promise.
//!
//! Each function takes a file's bytes and runs them through the same functions a real run uses on
//! that file, under a fake path, so whatever a fuzz target finds here is a bug of `report`,
//! `diff` or `expand`. Input errors are `Err`; a panic, hang or unbounded allocation is a bug.

use std::path::{Path, PathBuf};

use crate::analysis::config::Config;
use crate::catalog::{ActionSet, Catalog};
use crate::error::{Error, Result};
use crate::input::{self, Warnings, authz, credential_report, last_accessed, manifest};
use crate::model::{CredentialReportRow, LastAccessed, Manifest};
use crate::policy::{DocumentExpansion, Expander, PolicyDocument};

/// Where the fake export folder of every input is.
const ROOT: &str = "fuzz-export";

fn fake(rel: &str) -> PathBuf {
    Path::new(ROOT).join(rel)
}

/// UTF-8 with a byte-order mark dropped, as the export reader's `Files::read_text` decodes
/// every export file.
fn export_text(path: &Path, bytes: &[u8]) -> Result<String> {
    let text = std::str::from_utf8(bytes).map_err(|e| Error::NotUtf8 {
        path: path.to_path_buf(),
        offset: e.valid_up_to(),
    })?;
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text).to_string())
}

/// UTF-8 without byte-order-mark handling, as `Config::load` and `expand --policy` read a file.
fn plain_text(path: &Path, bytes: &[u8]) -> Result<String> {
    String::from_utf8(bytes.to_vec()).map_err(|e| Error::NotUtf8 {
        path: path.to_path_buf(),
        offset: e.utf8_error().valid_up_to(),
    })
}

/// `authorization-details.json`: parsed as `load_export` does (principals, managed policies,
/// their policy documents, warnings), then the account and partition taken from the ARNs.
/// Returns (principals, managed policies).
pub fn parse_authorization_details(bytes: &[u8]) -> Result<(usize, usize)> {
    let path = fake(input::AUTHORIZATION_DETAILS);
    let text = export_text(&path, bytes)?;
    let mut warnings = Warnings::default();
    let details = authz::parse(
        &path,
        &text,
        &input::SharedDocuments::default(),
        &mut warnings,
    )?;
    input::account(Path::new(ROOT), None, &details)?;
    Ok((details.principals.len(), details.policies.len()))
}

/// One `last-accessed/roles/<Name>.json` file, parsed and checked for completeness as
/// `load_export` does, but for the entities it names (there is no principal to check them
/// against). `Ok(None)` is an incomplete report (a warning in a real run).
pub fn parse_last_accessed(bytes: &[u8]) -> Result<Option<LastAccessed>> {
    let rel = "last-accessed/roles/fuzz-role.json";
    let path = fake(rel);
    let text = export_text(&path, bytes)?;
    let report: last_accessed::Report = input::parse_json(&path, &text)?;
    last_accessed::complete(
        &path,
        rel,
        report,
        None,
        &mut crate::model::SharedTexts::default(),
        &mut Warnings::default(),
    )
}

/// `credential-report.csv`, as `load_export` parses it.
pub fn parse_credential_report(bytes: &[u8]) -> Result<Vec<CredentialReportRow>> {
    let path = fake(input::CREDENTIAL_REPORT);
    let text = export_text(&path, bytes)?;
    credential_report::parse(&path, &text)
}

/// `manifest.json`, as `load_export` parses it. Checking the listed files against the disk
/// (`manifest::verify`) is file-system work and not driven here.
pub fn parse_manifest(bytes: &[u8]) -> Result<Manifest> {
    let path = fake(input::MANIFEST);
    let text = export_text(&path, bytes)?;
    manifest::parse(&path, &text).map(|(m, _)| m)
}

/// A policy document file, as `expand --policy` reads it: parsed, then expanded against the
/// embedded catalog by a fresh expander.
pub fn expand_policy_document(bytes: &[u8]) -> Result<DocumentExpansion> {
    let path = Path::new("fuzz-policy.json");
    let text = plain_text(path, bytes)?;
    let document = PolicyDocument::from_str_any(&text)
        .map_err(|e| Error::parse(path, e.json_path, e.message))?;
    Ok(Expander::new(Catalog::embedded()).document(&document))
}

/// The `--config` TOML file, as `Config::load` reads it.
pub fn parse_config(bytes: &[u8]) -> Result<Config> {
    let path = Path::new("fuzz-config.toml");
    let text = plain_text(path, bytes)?;
    Config::parse(path, &text)
}

/// `expand PATTERN...`: one pattern per line (command-line arguments are UTF-8 strings, so the
/// bytes are decoded lossily), each expanded against the embedded catalog by one expander, as
/// `iam-tighten expand` does. Returns each pattern with its expansion.
pub fn expand_patterns(bytes: &[u8]) -> Vec<(String, ActionSet)> {
    let text = String::from_utf8_lossy(bytes);
    let mut expander = Expander::new(Catalog::embedded());
    text.split('\n')
        .map(|p| (p.to_string(), (*expander.expand_pattern(p)).clone()))
        .collect()
}

/// A finding's group notation (`lambda:* except lambda:Add* lambda:Get*`), as `expand` reads its
/// arguments and every `action` cell of findings.csv: parsed, then expanded against the embedded
/// catalog. `Err` is a notation error (a word that is not a pattern, `except` misplaced).
pub fn parse_group_notation(bytes: &[u8]) -> std::result::Result<ActionSet, String> {
    let text = String::from_utf8_lossy(bytes);
    let mut expander = Expander::new(Catalog::embedded());
    crate::policy::notation::expand_notation(&text, &mut expander)
        .map(|e| e.actions)
        .map_err(|e| e.to_string())
}
