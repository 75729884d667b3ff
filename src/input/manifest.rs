//! `manifest.json`: written by `iam-tighten fetch` (our format, snake_case keys).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::object::objects_only;
use super::time::Time;
use super::{Files, MANIFEST, parse_json, push_key};
use crate::error::{Error, Result};
use crate::model::Manifest;

#[derive(Debug, Default, Deserialize)]
#[serde(remote = "Self", default)]
struct ManifestFile {
    account_id: Option<String>,
    partition: Option<String>,
    created: Option<Time>,
    /// The credential report's `GeneratedTime` (fetch writes it).
    credential_report_generated: Option<Time>,
    /// The fetch's runs, first to last (only the first one's start is read).
    runs: Option<Vec<Run>>,
    tool: Option<String>,
    files: Option<BTreeMap<String, String>>,
    missing: Option<BTreeMap<String, String>>,
    /// `false` while `iam-tighten fetch` runs and after it was interrupted or stopped; absent
    /// in manifests written before the field existed (they were written only at the end).
    finished: Option<bool>,
}

/// One run of the fetch that wrote the export.
#[derive(Debug, Default, Deserialize)]
#[serde(remote = "Self", default)]
struct Run {
    started: Option<Time>,
}

objects_only!(ManifestFile, Run);

/// The manifest, and whether it says the fetch finished (`"finished": false` → `false`).
pub(crate) fn parse(path: &Path, text: &str) -> Result<(Manifest, bool)> {
    let m: ManifestFile = parse_json(path, text)?;
    if let Some(id) = &m.account_id
        && !(id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(Error::parse(
            path,
            "$.account_id",
            format!("expected a 12-digit AWS account id, found {id:?}"),
        ));
    }
    let finished = m.finished.unwrap_or(true);
    let manifest = Manifest {
        account_id: m.account_id,
        partition: m.partition,
        created: m.created.map(|t| t.0),
        credential_report_generated: m.credential_report_generated.map(|t| t.0),
        fetch_started: m
            .runs
            .as_ref()
            .and_then(|runs| runs.first())
            .and_then(|r| r.started.as_ref())
            .map(|t| t.0),
        tool: m.tool,
        files: m.files.unwrap_or_default(),
        missing: m.missing.unwrap_or_default(),
    };
    Ok((manifest, finished))
}

/// Every file the manifest lists must exist and have the SHA-256 it records.
pub(super) fn verify(manifest: &Manifest, files: &mut Files) -> Result<()> {
    let manifest_path = files.abs(MANIFEST);
    for (rel, want) in &manifest.files {
        let mut at = "$.files".to_string();
        push_key(&mut at, rel);
        let unsafe_path = rel.is_empty()
            || rel.starts_with('/')
            || rel.contains('\\')
            || rel.split('/').any(|part| part == ".." || part.is_empty());
        if unsafe_path {
            return Err(Error::parse(
                &manifest_path,
                at,
                "expected a /-separated path inside the export folder",
            ));
        }
        if rel == MANIFEST {
            continue;
        }
        if std::fs::symlink_metadata(files.abs(rel)).is_err() {
            return Err(Error::Input {
                path: files.abs(rel),
                message: format!("listed in {MANIFEST} but missing"),
            });
        }
        let got = files.sha256(rel)?;
        if !got.eq_ignore_ascii_case(want.trim()) {
            return Err(Error::Input {
                path: files.abs(rel),
                message: format!(
                    "SHA-256 mismatch: {MANIFEST} records {want}, the file has {got}; \
                     it changed after the export was written"
                ),
            });
        }
    }
    Ok(())
}
