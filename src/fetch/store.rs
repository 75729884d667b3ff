//! The export folder on disk: which `--out` folders fetch may write into, atomic writes, what a
//! resume keeps, and `manifest.json`.
//!
//! **Ownership.** `fetch` writes only into a folder that is new or empty, or that holds a
//! `manifest.json` written by `iam-tighten fetch` (finished or not): such a folder is an export of
//! this tool, and the files of the export layout in it (`authorization-details.json`,
//! `credential-report.csv`, `manifest.json`, `last-accessed/{roles,users,groups}/*.json`, our
//! hidden temporaries) are ours to replace or remove. Any other file is never changed. With
//! `--allow-non-empty` a folder holding other files is accepted too, as long as none of them is
//! a file of the export layout.
//!
//! **The manifest is written first and last.** Before the first AWS call that writes anything,
//! `manifest.json` is written with `"finished": false` and the run's start time; at the end it is
//! written again with `"finished": true`, the SHA-256 of every file and `missing`. An export whose
//! manifest says `"finished": false` is an unfinished fetch (interrupted, or stopped by a lost
//! network), and `report` warns about it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use chrono::SecondsFormat;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::{FetchError, Result};
use crate::input::object::{objects_only, serialize_derived};
use crate::input::{AUTHORIZATION_DETAILS, CREDENTIAL_REPORT, LAST_ACCESSED_DIR, MANIFEST};
use crate::model::Timestamp;

/// Our temporary files start with this (hidden, so readers skip them; removed on the next run).
pub(super) const TEMP_PREFIX: &str = ".iam-tighten-tmp.";
/// What a manifest's `tool` starts with when `iam-tighten fetch` wrote it.
const TOOL_PREFIX: &str = "iam-tighten ";
/// The multi-account summary at the top of an organisation folder.
pub const SUMMARY_FILE: &str = "fetch-summary.json";

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
    pub fn new(root: &Path) -> Layout {
        Layout {
            root: root.to_path_buf(),
        }
    }

    /// Creates the folder and removes our stale temporary files. Sub-folders are created when
    /// a file is written into them (no empty `groups/` for an account without groups).
    pub fn prepare(&self) -> Result<()> {
        fs::create_dir_all(&self.root)
            .map_err(|e| FetchError::io(&self.root, "cannot create folder", e))?;
        let mut dirs = vec![self.root.clone()];
        dirs.extend(Kind::ALL.map(|k| self.kind_dir(k)));
        for dir in dirs {
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        Ok(())
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

    pub fn manifest(&self) -> PathBuf {
        self.root.join(MANIFEST)
    }

    /// Writes a file of the export atomically, creating its folder first.
    pub fn write(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|e| FetchError::io(dir, "cannot create folder", e))?;
        }
        write_atomic(path, bytes)
    }

    /// Removes a file of the export (ours: see the module documentation); absent is fine.
    pub fn remove(&self, path: &Path) -> Result<()> {
        match fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(FetchError::io(path, "cannot remove", e))
            }
            _ => Ok(()),
        }
    }

    /// The last-accessed files now in the export: `(kind, name, path)` for each visible `.json`
    /// directly under `last-accessed/{roles,users,groups}/`, sorted.
    pub fn principal_files(&self) -> Result<Vec<(Kind, String, PathBuf)>> {
        let mut out = Vec::new();
        for kind in Kind::ALL {
            let dir = self.kind_dir(kind);
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(FetchError::io(&dir, "cannot list", e)),
            };
            for entry in entries.flatten() {
                let file = entry.file_name().to_string_lossy().into_owned();
                let path = entry.path();
                let Some(name) = file.strip_suffix(".json") else {
                    continue;
                };
                if file.starts_with('.') || !path.is_file() {
                    continue;
                }
                out.push((kind, name.to_string(), path));
            }
        }
        out.sort();
        Ok(out)
    }

    /// Removes every data file of the export (GAAD, credential report, last-accessed files):
    /// a new `authorization-details.json` starts a new snapshot, so nothing of the old one may
    /// stay. Files outside the export layout are not touched.
    pub fn clear_data(&self) -> Result<usize> {
        let mut removed = 0;
        for path in [self.authorization_details(), self.credential_report()] {
            if path.is_file() {
                self.remove(&path)?;
                removed += 1;
            }
        }
        for (_, _, path) in self.principal_files()? {
            self.remove(&path)?;
            removed += 1;
        }
        Ok(removed)
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
        for (kind, name, path) in self.principal_files()? {
            files.push((
                format!("{LAST_ACCESSED_DIR}/{}/{name}.json", kind.folder()),
                path,
            ));
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
    let io = |e| FetchError::io(path, "cannot write", e);
    crate::files::write_through(path, &tmp, |w| w.write_all(bytes).map_err(io), io)
}

// --- Which --out folders fetch may write into --------------------------------------------

/// What `--out` holds before a single-account fetch.
#[derive(Debug)]
pub enum OutFolder {
    /// Missing or empty: a new export.
    New,
    /// Holds a manifest written by `iam-tighten fetch`: resume it (or refresh it).
    Ours(Box<ManifestFile>),
    /// Holds other files (accepted with `--allow-non-empty`), none of them in the export layout.
    Beside,
}

/// Refuses an `--out` inside an existing export (a folder above it holds
/// `authorization-details.json`): the export written there would make the outer one unreadable,
/// as `report` refuses a folder that is both an export and an organisation folder.
fn check_not_inside_an_export(root: &Path) -> Result<()> {
    let abs = crate::files::resolve(root);
    match abs
        .ancestors()
        .skip(1)
        .find(|dir| dir.join(AUTHORIZATION_DETAILS).is_file())
    {
        Some(export) => Err(FetchError::out(
            root,
            format!(
                "inside the export {} (it holds {AUTHORIZATION_DETAILS}): an export written in \
                 another makes the outer one unreadable; give an --out outside it, such as a \
                 folder beside it",
                export.display()
            ),
        )),
        None => Ok(()),
    }
}

/// Checks `--out` for a single-account fetch, before any AWS call.
pub fn check_out(root: &Path, allow_non_empty: bool) -> Result<OutFolder> {
    check_not_inside_an_export(root)?;
    let entries = match visible_entries(root)? {
        None => return Ok(OutFolder::New),
        Some(entries) => entries,
    };
    if let Some(account) = organisation_member(root, &entries) {
        return Err(FetchError::out(
            root,
            format!(
                "an organisation folder (it holds the export {account}/): give \
                 --out {}/<account-id> to fetch one account, or --assume-role with --accounts \
                 or --organization to fetch them all",
                root.display()
            ),
        ));
    }
    let manifest = root.join(MANIFEST);
    if manifest.exists() {
        return match read_manifest(&manifest) {
            Some(m) => Ok(OutFolder::Ours(Box::new(m))),
            None => Err(FetchError::out(
                root,
                format!(
                    "{MANIFEST} here was not written by iam-tighten fetch, so this folder is \
                     not an export of this tool; fetch never changes files it did not write: \
                     give a new or empty --out"
                ),
            )),
        };
    }
    if entries.is_empty() {
        return Ok(OutFolder::New);
    }
    if !allow_non_empty {
        return Err(FetchError::out(
            root,
            format!(
                "not empty and not an export written by iam-tighten fetch (no {MANIFEST} of \
                 ours); fetch never changes files it did not write: give a new or empty --out, \
                 or --allow-non-empty to write the export beside the files already there"
            ),
        ));
    }
    if let Some(conflict) = layout_file_in_the_way(root)? {
        return Err(FetchError::out(
            &conflict,
            "exists and was not written by iam-tighten fetch, which never overwrites such a \
             file: move it away, or give another --out",
        ));
    }
    Ok(OutFolder::Beside)
}

/// Checks `--out` for a multi-account fetch (`--assume-role`): an organisation folder, new or
/// holding only account folders and our summary (anything else needs `--allow-non-empty`).
/// Each account folder is then checked by [`check_out`].
pub fn check_organisation_out(root: &Path, allow_non_empty: bool) -> Result<()> {
    check_not_inside_an_export(root)?;
    let Some(entries) = visible_entries(root)? else {
        return Ok(());
    };
    for name in [
        AUTHORIZATION_DETAILS,
        MANIFEST,
        LAST_ACCESSED_DIR,
        CREDENTIAL_REPORT,
    ] {
        if root.join(name).exists() {
            return Err(FetchError::out(
                root,
                format!(
                    "an export of one account (it holds {name}), not an organisation folder: \
                     with --assume-role, --out is the folder that gets one sub-folder per account"
                ),
            ));
        }
    }
    let summary = root.join(SUMMARY_FILE);
    if summary.exists() && !is_our_summary(&summary) {
        return Err(FetchError::out(
            &summary,
            "exists and was not written by iam-tighten fetch, which never overwrites such a \
             file: move it away, or give another --out",
        ));
    }
    let other = entries.iter().find(|name| {
        let is_account_dir = is_account_id(name) && root.join(name.as_str()).is_dir();
        let is_organization_part =
            name.as_str() == super::organization::DIR && root.join(name.as_str()).is_dir();
        !(is_account_dir || is_organization_part || name.as_str() == SUMMARY_FILE)
    });
    if let Some(other) = other
        && !allow_non_empty
    {
        return Err(FetchError::out(
            root,
            format!(
                "holds {other}, which is neither an account folder nor written by iam-tighten \
                 fetch; give a new or empty --out, or --allow-non-empty to write beside it"
            ),
        ));
    }
    Ok(())
}

/// The names in `root`, less our temporaries; `None` when `root` does not exist.
fn visible_entries(root: &Path) -> Result<Option<Vec<String>>> {
    let entries = match fs::read_dir(root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(_) if root.exists() && !root.is_dir() => {
            return Err(FetchError::out(
                root,
                "not a folder: give a folder for --out",
            ));
        }
        Err(e) => return Err(FetchError::io(root, "cannot list", e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| FetchError::io(root, "cannot list", e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(TEMP_PREFIX) {
            names.push(name);
        }
    }
    names.sort();
    Ok(Some(names))
}

/// The first sub-folder that is an export (or the summary of a multi-account fetch, or the
/// organisation part): `root` is an organisation folder then.
fn organisation_member(root: &Path, entries: &[String]) -> Option<String> {
    if entries.iter().any(|n| n == SUMMARY_FILE) {
        return Some(SUMMARY_FILE.to_string());
    }
    let part = super::organization::DIR;
    if entries.iter().any(|n| n == part) && root.join(part).join(MANIFEST).is_file() {
        return Some(part.to_string());
    }
    entries
        .iter()
        .find(|name| {
            let dir = root.join(name.as_str());
            dir.is_dir()
                && (dir.join(AUTHORIZATION_DETAILS).is_file() || dir.join(MANIFEST).is_file())
        })
        .cloned()
}

/// A file of the export layout that exists in a folder that is not ours.
fn layout_file_in_the_way(root: &Path) -> Result<Option<PathBuf>> {
    let layout = Layout::new(root);
    for path in [layout.authorization_details(), layout.credential_report()] {
        if path.exists() {
            return Ok(Some(path));
        }
    }
    Ok(layout
        .principal_files()?
        .into_iter()
        .next()
        .map(|(_, _, p)| p))
}

fn is_account_id(id: &str) -> bool {
    id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())
}

fn is_our_summary(path: &Path) -> bool {
    #[derive(Deserialize)]
    #[serde(remote = "Self")]
    struct Summary {
        tool: String,
    }
    objects_only!(Summary);
    fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Summary>(&bytes).ok())
        .is_some_and(|s| s.tool.starts_with(TOOL_PREFIX))
}

// --- Checking what a resume keeps --------------------------------------------------------

/// Why a kept last-accessed file cannot be kept, or `None` when it is a finished job: it parses,
/// `JobStatus` is `COMPLETED`, `IsTruncated` is false.
pub fn unusable_last_accessed(bytes: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    #[serde(remote = "Self", rename_all = "PascalCase")]
    struct Job {
        job_status: Option<String>,
        is_truncated: Option<bool>,
        services_last_accessed: Option<serde_json::Value>,
    }
    objects_only!(Job);
    let job: Job = match serde_json::from_slice(bytes) {
        Ok(job) => job,
        Err(e) if e.is_eof() => return Some(format!("truncated JSON ({e})")),
        Err(e) => return Some(format!("not a last-accessed report ({e})")),
    };
    match job.job_status.as_deref() {
        Some("COMPLETED") => {}
        Some(other) => return Some(format!("JobStatus is {other}, not COMPLETED")),
        None => return Some("no JobStatus".into()),
    }
    if job.is_truncated == Some(true) {
        return Some("IsTruncated is true (pages not merged)".into());
    }
    if !job
        .services_last_accessed
        .as_ref()
        .is_some_and(|s| s.is_array())
    {
        return Some("no ServicesLastAccessed list".into());
    }
    None
}

/// Names of principals, as `(kind, name)`, for matching files against GAAD.
pub type PrincipalSet = BTreeSet<(Kind, String)>;

// --- manifest.json -----------------------------------------------------------------------

/// Where the manifest's `created` came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CreatedFrom {
    /// The newest `JobCompletionDate` of the last-accessed files.
    JobCompletionDate,
    /// The credential report's `GeneratedTime`.
    CredentialReport,
    /// The wall clock when the manifest was written (no data had a time).
    Clock,
}

/// One run of `fetch` into this export: the first, and each resume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct Run {
    /// Wall clock when the run started (RFC 3339, UTC).
    pub started: String,
    /// When it ended; absent for a run that was killed or interrupted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<String>,
    /// `finished`, or `stopped: <why>` (e.g. the network was lost); absent like `ended`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// The run was started with `--refresh` (everything fetched again).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub refresh: bool,
}

impl Run {
    pub fn start(refresh: bool) -> Run {
        Run {
            started: now(),
            ended: None,
            outcome: None,
            refresh,
        }
    }

    pub fn end(&mut self, outcome: impl Into<String>) {
        self.ended = Some(now());
        self.outcome = Some(outcome.into());
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `manifest.json` as fetch writes (and, to resume, reads) it. Read from an object only, as what
/// `input` reads ([`objects_only!`]): a list read by position made a folder ours.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct ManifestFile {
    pub account_id: String,
    pub partition: String,
    /// The organisation part only (`organization/manifest.json`): the organisation's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    /// The organisation part only: the region IAM Identity Center was asked in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// False while a fetch runs, and after one was interrupted or stopped.
    #[serde(default = "yes")]
    pub finished: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_from: Option<CreatedFrom>,
    /// The credential report's `GeneratedTime` (RFC 3339, UTC): its dates end there, and
    /// `report` judges its checks at this time when it is earlier than the as-of time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_report_generated: Option<String>,
    pub tool: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog: Option<String>,
    #[serde(default)]
    pub runs: Vec<Run>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<BTreeMap<String, String>>,
    /// The organisation part only: files absent on purpose, with why (a policy type not
    /// enabled, no Identity Center instance), unlike `missing` (could not be fetched).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<BTreeMap<String, String>>,
}

objects_only!(Run, ManifestFile);
serialize_derived!(Run, ManifestFile);

/// Manifests written before `finished` existed were only written at the end of a fetch.
fn yes() -> bool {
    true
}

/// Our manifest in `path`, or `None` when it is not one `iam-tighten fetch` wrote.
pub(super) fn read_manifest(path: &Path) -> Option<ManifestFile> {
    let bytes = fs::read(path).ok()?;
    let m: ManifestFile = serde_json::from_slice(&bytes).ok()?;
    (m.tool.starts_with(TOOL_PREFIX) && is_account_id(&m.account_id)).then_some(m)
}

pub(super) fn tool() -> String {
    format!("{TOOL_PREFIX}{}", crate::VERSION)
}

/// Writes the manifest of a fetch under way (`"finished": false`): from now on the folder is
/// recognisably ours, and readers know the export is not complete.
pub fn write_unfinished_manifest(
    layout: &Layout,
    account_id: &str,
    partition: &str,
    runs: &[Run],
) -> Result<()> {
    let manifest = ManifestFile {
        account_id: account_id.to_string(),
        partition: partition.to_string(),
        finished: false,
        created: None,
        created_from: None,
        credential_report_generated: None,
        tool: tool(),
        catalog: None,
        runs: runs.to_vec(),
        files: None,
        missing: None,
        organization_id: None,
        region: None,
        notes: None,
    };
    layout.write(&layout.manifest(), &manifest_bytes(&manifest)?)
}

/// Writes the finished `manifest.json` over every file now in the export; returns the
/// `created` time used.
pub fn write_manifest(
    layout: &Layout,
    account_id: &str,
    partition: &str,
    credential_report_time: Option<Timestamp>,
    runs: &[Run],
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
        account_id: account_id.to_string(),
        partition: partition.to_string(),
        finished: true,
        created: Some(created.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        created_from: Some(from),
        credential_report_generated: credential_report_time
            .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        tool: tool(),
        catalog: Some(crate::catalog::Catalog::embedded().version().to_string()),
        runs: runs.to_vec(),
        files: Some(files),
        missing: Some(missing.clone()),
        organization_id: None,
        region: None,
        notes: None,
    };
    layout.write(&layout.manifest(), &manifest_bytes(&manifest)?)?;
    Ok((created, from))
}

pub(super) fn manifest_bytes(manifest: &ManifestFile) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(manifest)
        .map_err(|e| FetchError::Setup(format!("cannot serialize the manifest: {e}")))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// `JobCompletionDate` of a last-accessed file, if it has a readable one.
fn job_completion(bytes: &[u8]) -> Option<Timestamp> {
    #[derive(Deserialize)]
    #[serde(remote = "Self", rename_all = "PascalCase")]
    struct Job {
        job_completion_date: Option<String>,
    }
    objects_only!(Job);
    let job: Job = serde_json::from_slice(bytes).ok()?;
    crate::input::parse_timestamp(&job.job_completion_date?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp() -> tempfile::TempDir {
        match tempfile::tempdir() {
            Ok(dir) => dir,
            Err(e) => panic!("tempdir: {e}"),
        }
    }

    fn write(path: &Path, text: &str) {
        if let Some(dir) = path.parent() {
            assert!(fs::create_dir_all(dir).is_ok());
        }
        assert!(fs::write(path, text).is_ok());
    }

    fn error(r: Result<OutFolder>) -> String {
        match r {
            Ok(state) => panic!("accepted: {state:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn atomic_write_leaves_no_temporary_file() {
        let dir = tmp();
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
    fn prepare_removes_stale_temporaries_only() {
        let dir = tmp();
        let layout = Layout::new(dir.path());
        let stale = layout
            .kind_dir(Kind::Role)
            .join(format!("{TEMP_PREFIX}1.x.json"));
        write(&stale, "half");
        write(&dir.path().join("notes.txt"), "mine");
        assert!(layout.prepare().is_ok());
        assert!(!stale.exists());
        assert!(dir.path().join("notes.txt").exists());
        // No empty kind folders are created.
        assert!(!layout.kind_dir(Kind::Group).exists());
    }

    #[test]
    fn out_rules() {
        let dir = tmp();
        let root = dir.path().join("out");
        assert!(matches!(check_out(&root, false), Ok(OutFolder::New)));
        assert!(fs::create_dir(&root).is_ok());
        assert!(matches!(check_out(&root, false), Ok(OutFolder::New)));

        // Someone else's manifest: never ours, even with --allow-non-empty.
        write(&root.join(MANIFEST), r#"{"name":"x"}"#);
        let e = error(check_out(&root, true));
        assert!(e.contains("not written by iam-tighten fetch"), "{e}");

        // Not empty, no manifest.
        assert!(fs::remove_file(root.join(MANIFEST)).is_ok());
        write(&root.join("notes.txt"), "mine");
        let e = error(check_out(&root, false));
        assert!(e.contains("--allow-non-empty"), "{e}");
        assert!(matches!(check_out(&root, true), Ok(OutFolder::Beside)));
        // ... but never over a file of the layout we did not write.
        write(&root.join("last-accessed/roles/a.json"), "{}");
        let e = error(check_out(&root, true));
        assert!(
            e.contains("a.json") && e.contains("never overwrites"),
            "{e}"
        );

        // Ours.
        let ours = dir.path().join("ours");
        write(
            &ours.join(MANIFEST),
            r#"{"account_id":"111111111111","partition":"aws","tool":"iam-tighten 0.1.0"}"#,
        );
        match check_out(&ours, false) {
            Ok(OutFolder::Ours(m)) => {
                assert!(m.finished, "older manifests were written at the end");
                assert_eq!(m.account_id, "111111111111");
            }
            other => panic!("{other:?}"),
        }

        // An organisation folder is refused for a single account.
        let org = dir.path().join("org");
        write(&org.join("111111111111/authorization-details.json"), "{}");
        let e = error(check_out(&org, true));
        assert!(
            e.contains("organisation folder") && e.contains("111111111111"),
            "{e}"
        );
        assert!(check_organisation_out(&org, false).is_ok());
        // ... and a single export is refused as an organisation folder.
        let e = check_organisation_out(&ours, true)
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("an export of one account")));
        write(&org.join("notes.txt"), "mine");
        assert!(check_organisation_out(&org, false).is_err());
        assert!(check_organisation_out(&org, true).is_ok());
    }

    /// An export written inside another export (or an organisation folder inside one) would make
    /// the outer export unreadable: `report` refuses a folder that is both.
    #[test]
    fn out_inside_an_export_is_refused() {
        let dir = tmp();
        let export = dir.path().join("org/111111111111");
        write(&export.join(AUTHORIZATION_DETAILS), "{}");
        for out in [export.join("222222222222"), export.join("a/b")] {
            let e = error(check_out(&out, false));
            assert!(
                e.contains("inside the export") && e.contains("111111111111"),
                "{e}"
            );
            let e = check_organisation_out(&out, false)
                .err()
                .map(|e| e.to_string());
            assert!(e.is_some_and(|e| e.contains("inside the export")));
            assert!(!out.exists());
        }
        // Beside it, in its organisation folder, is where the next account goes.
        let beside = dir.path().join("org/222222222222");
        assert!(matches!(check_out(&beside, false), Ok(OutFolder::New)));
    }

    /// What a resume reads (its manifest, a kept job, the organisation summary) is read from JSON
    /// objects only: serde's derived readers took a list too, by position, so a manifest
    /// `["111111111111", "aws", …, "iam-tighten 0.1.0"]` made a folder ours (fetch then replaces
    /// its files) and `["COMPLETED", false, []]` was kept as a finished job.
    #[test]
    fn what_a_resume_reads_is_read_from_objects_only() {
        let dir = tmp();
        let manifest = dir.path().join(MANIFEST);
        let list = r#"["111111111111", "aws", null, null, true, null, null,
            "iam-tighten 0.1.0", null, [], null, null, null]"#;
        write(&manifest, list);
        assert!(
            read_manifest(&manifest).is_none(),
            "a list read as a manifest"
        );
        let object = r#"{"account_id": "111111111111", "partition": "aws",
            "tool": "iam-tighten 0.1.0", "runs": [["2026-11-20T09:00:00Z"]]}"#;
        write(&manifest, object);
        assert!(read_manifest(&manifest).is_none(), "a list read as a run");
        write(
            &manifest,
            &object.replace(r#"[["2026-11-20T09:00:00Z"]]"#, "[]"),
        );
        assert!(read_manifest(&manifest).is_some());
        assert!(
            unusable_last_accessed(br#"["COMPLETED", false, []]"#)
                .is_some_and(|why| why.contains("expected an object")),
            "a list kept as a finished job"
        );
        let summary = dir.path().join(SUMMARY_FILE);
        write(&summary, r#"["iam-tighten 0.1.0"]"#);
        assert!(!is_our_summary(&summary));
        write(&summary, r#"{"tool": "iam-tighten 0.1.0"}"#);
        assert!(is_our_summary(&summary));
        assert_eq!(job_completion(br#"["2026-11-20T09:00:00Z"]"#), None);
        let done = job_completion(br#"{"JobCompletionDate": "2026-11-20T09:00:00Z"}"#);
        assert!(done.is_some());
    }

    #[test]
    fn a_resume_keeps_only_finished_jobs() {
        let done =
            br#"{"JobStatus": "COMPLETED", "ServicesLastAccessed": [], "IsTruncated": false}"#;
        assert_eq!(unusable_last_accessed(done), None);
        let cut = &done[..done.len() / 2];
        assert!(unusable_last_accessed(cut).is_some_and(|w| w.contains("truncated")));
        let running =
            br#"{"JobStatus": "IN_PROGRESS", "ServicesLastAccessed": [], "IsTruncated": false}"#;
        assert!(unusable_last_accessed(running).is_some_and(|w| w.contains("IN_PROGRESS")));
        let page =
            br#"{"JobStatus": "COMPLETED", "ServicesLastAccessed": [], "IsTruncated": true}"#;
        assert!(unusable_last_accessed(page).is_some());
        assert!(unusable_last_accessed(b"[]").is_some());
    }
}
