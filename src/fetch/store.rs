//! The export folder on disk: atomic writes, resume, and `manifest.json` (written last).

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::SecondsFormat;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::error::{FetchError, Result};
use crate::input::{AUTHORIZATION_DETAILS, CREDENTIAL_REPORT, LAST_ACCESSED_DIR, MANIFEST};
use crate::model::Timestamp;

/// Our temporary files start with this (hidden, so readers skip them; removed on the next run).
const TEMP_PREFIX: &str = ".iam-tighten-tmp.";

/// Principal kinds we write last-accessed files for, with their folder under `last-accessed/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Role,
    User,
    Group,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Role, Kind::User, Kind::Group];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Role => "role",
            Kind::User => "user",
            Kind::Group => "group",
        }
    }

    pub fn folder(self) -> &'static str {
        match self {
            Kind::Role => "roles",
            Kind::User => "users",
            Kind::Group => "groups",
        }
    }
}

/// The export folder being written.
#[derive(Debug, Clone)]
pub struct Layout {
    pub root: PathBuf,
}

impl Layout {
    /// Creates the folders and removes our stale temporary files.
    pub fn prepare(root: &Path) -> Result<Layout> {
        let layout = Layout {
            root: root.to_path_buf(),
        };
        for kind in Kind::ALL {
            let dir = layout.kind_dir(kind);
            fs::create_dir_all(&dir)
                .map_err(|e| FetchError::io(&dir, "cannot create folder", e))?;
        }
        let mut dirs = vec![layout.root.clone()];
        dirs.extend(Kind::ALL.map(|k| layout.kind_dir(k)));
        for dir in dirs {
            let entries = fs::read_dir(&dir).map_err(|e| FetchError::io(&dir, "cannot list", e))?;
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        Ok(layout)
    }

    /// Removes the old manifest before anything is written: its presence means "a fetch
    /// finished here", and it is written again at the end.
    pub fn remove_manifest(&self) -> Result<()> {
        let manifest = self.root.join(MANIFEST);
        match fs::remove_file(&manifest) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(FetchError::io(
                manifest,
                "cannot remove the old manifest",
                e,
            )),
            _ => Ok(()),
        }
    }

    pub fn kind_dir(&self, kind: Kind) -> PathBuf {
        self.root.join(LAST_ACCESSED_DIR).join(kind.folder())
    }

    pub fn principal_file(&self, kind: Kind, name: &str) -> PathBuf {
        self.kind_dir(kind).join(format!("{name}.json"))
    }

    pub fn authorization_details(&self) -> PathBuf {
        self.root.join(AUTHORIZATION_DETAILS)
    }

    pub fn credential_report(&self) -> PathBuf {
        self.root.join(CREDENTIAL_REPORT)
    }

    /// Every file the manifest lists: GAAD, the credential report, and each visible `.json`
    /// under `last-accessed/{roles,users,groups}/`, by `/`-separated relative path.
    fn export_files(&self) -> Result<Vec<(String, PathBuf)>> {
        let mut files = Vec::new();
        for name in [AUTHORIZATION_DETAILS, CREDENTIAL_REPORT] {
            let path = self.root.join(name);
            if path.is_file() {
                files.push((name.to_string(), path));
            }
        }
        for kind in Kind::ALL {
            let dir = self.kind_dir(kind);
            let entries = fs::read_dir(&dir).map_err(|e| FetchError::io(&dir, "cannot list", e))?;
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let path = entry.path();
                if name.starts_with('.') || !name.ends_with(".json") || !path.is_file() {
                    continue;
                }
                files.push((
                    format!("{LAST_ACCESSED_DIR}/{}/{name}", kind.folder()),
                    path,
                ));
            }
        }
        files.sort();
        Ok(files)
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, flushed to disk,
/// then renamed over `path`. A crash leaves either the old file or the new one, never half.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!("{TEMP_PREFIX}{}.{name}", std::process::id()));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        FetchError::io(path, "cannot write", e)
    })
}

/// Where the manifest's `created` came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CreatedFrom {
    /// The newest `JobCompletionDate` of the last-accessed files.
    JobCompletionDate,
    /// The credential report's `GeneratedTime`.
    CredentialReport,
    /// The wall clock when the manifest was written (no data had a time).
    Clock,
}

#[derive(Debug, Serialize)]
struct ManifestFile<'a> {
    account_id: &'a str,
    partition: &'a str,
    created: String,
    created_from: CreatedFrom,
    tool: String,
    catalog: String,
    files: BTreeMap<String, String>,
    missing: &'a BTreeMap<String, String>,
}

/// Writes `manifest.json` over every file now in the export; returns the `created` time used.
pub fn write_manifest(
    layout: &Layout,
    account_id: &str,
    partition: &str,
    credential_report_time: Option<Timestamp>,
    missing: &BTreeMap<String, String>,
) -> Result<(Timestamp, CreatedFrom)> {
    let mut files = BTreeMap::new();
    let mut newest_job: Option<Timestamp> = None;
    for (rel, path) in layout.export_files()? {
        let bytes = fs::read(&path).map_err(|e| FetchError::io(&path, "cannot read back", e))?;
        files.insert(rel.clone(), format!("{:x}", Sha256::digest(&bytes)));
        if rel.starts_with(LAST_ACCESSED_DIR)
            && let Some(done) = job_completion(&bytes)
        {
            newest_job = newest_job.max(Some(done));
        }
    }
    let (created, from) = match (newest_job, credential_report_time) {
        (Some(t), _) => (t, CreatedFrom::JobCompletionDate),
        (None, Some(t)) => (t, CreatedFrom::CredentialReport),
        (None, None) => (chrono::Utc::now(), CreatedFrom::Clock),
    };
    let manifest = ManifestFile {
        account_id,
        partition,
        created: created.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        created_from: from,
        tool: format!("iam-tighten {}", crate::VERSION),
        catalog: crate::catalog::Catalog::embedded().version().to_string(),
        files,
        missing,
    };
    let mut bytes = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| FetchError::Aws(format!("cannot serialize the manifest: {e}")))?;
    bytes.push(b'\n');
    write_atomic(&layout.root.join(MANIFEST), &bytes)?;
    Ok((created, from))
}

/// `JobCompletionDate` of a last-accessed file, if it has a readable one.
fn job_completion(bytes: &[u8]) -> Option<Timestamp> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Job {
        job_completion_date: Option<String>,
    }
    let job: Job = serde_json::from_slice(bytes).ok()?;
    crate::input::parse_timestamp(&job.job_completion_date?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().map_err(|e| e.to_string());
        let Ok(dir) = dir else { return };
        let path = dir.path().join("a.json");
        assert!(write_atomic(&path, b"one").is_ok());
        assert!(write_atomic(&path, b"two").is_ok());
        assert_eq!(fs::read(&path).ok(), Some(b"two".to_vec()));
        let names: Vec<_> = fs::read_dir(dir.path())
            .map(|r| r.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn prepare_removes_stale_temporaries() {
        let Ok(dir) = tempfile::tempdir() else { return };
        let Ok(layout) = Layout::prepare(dir.path()) else {
            panic!("prepare failed")
        };
        let stale = layout
            .kind_dir(Kind::Role)
            .join(format!("{TEMP_PREFIX}1.x.json"));
        assert!(fs::write(&stale, b"half").is_ok());
        assert!(fs::write(dir.path().join(MANIFEST), b"{}").is_ok());
        assert!(Layout::prepare(dir.path()).is_ok());
        assert!(!stale.exists());
        assert!(
            dir.path().join(MANIFEST).exists(),
            "kept until the account is checked"
        );
        assert!(layout.remove_manifest().is_ok());
        assert!(!dir.path().join(MANIFEST).exists());
    }
}
