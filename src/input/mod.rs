//! Reading export folders: AWS's JSON and CSV shapes, leniently, into the typed [`model`].
//!
//! An export is one AWS account at one moment (see `docs/export-format.md`):
//!
//! ```text
//! authorization-details.json            aws iam get-account-authorization-details
//! last-accessed/{roles,users,groups}/<Name>.json   aws iam get-service-last-accessed-details
//! credential-report.csv                 optional, decoded aws iam get-credential-report
//! manifest.json                         optional, written by `iam-tighten fetch`
//! ```
//!
//! Readers accept every shape the AWS CLI v1/v2, boto3 and moto produce. What is an error and
//! what is a warning is listed in `docs/input-errors.md`. The serde types stay private here.
//!
//! [`model`]: crate::model

pub(crate) mod authz;
pub(crate) mod credential_report;
pub(crate) mod last_accessed;
pub(crate) mod manifest;
pub(crate) mod object;
pub mod organization;
mod policy_file;
mod time;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::model::json::{json_path, push_key};
use crate::model::{Details, Export, InputFile, Manifest, Warning};

pub use policy_file::{parse_policy_text, read_policy_file};
pub use time::parse_timestamp;

/// File names inside an export folder.
pub const AUTHORIZATION_DETAILS: &str = "authorization-details.json";
pub const LAST_ACCESSED_DIR: &str = "last-accessed";
pub const CREDENTIAL_REPORT: &str = "credential-report.csv";
pub const MANIFEST: &str = "manifest.json";

/// How to load exports.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Turn every input warning into an [`Error::Input`].
    pub strict: bool,
    /// Counts export folders found and loaded, for a progress line.
    pub progress: Option<std::sync::Arc<LoadProgress>>,
    /// AWS managed policy documents already loaded, shared by every export loaded with these
    /// options (and their clones).
    pub documents: std::sync::Arc<SharedDocuments>,
    /// Read, check and hash each export's last-accessed reports as usual (every error, warning
    /// and `--strict` failure is the same), then drop them: [`Export::last_accessed_deferred`].
    /// `analysis::analyze_organization_freeing` reads them again ([`reload_last_accessed`]), one
    /// export at a time just before collecting it, so an organisation's reports are never all
    /// held at once (they were most of the heap while loading and collecting: ~5.5 KB per
    /// principal of the synthetic organisations).
    pub defer_last_accessed: bool,
    /// With [`LoadOptions::defer_last_accessed`]: an export whose report files fit in what is
    /// left of this budget keeps its reports (and is not deferred), so a small organisation's
    /// are read once, not twice. Exports take from it as they finish loading; none when `None`.
    pub keep_last_accessed: Option<std::sync::Arc<KeepBudget>>,
    /// Keep the principals and policies of the exports whose `authorization-details.json` fits
    /// in what is left of this budget (taken from as exports finish loading); the others' are
    /// dropped once the analysis has collected them and read again by planning
    /// ([`Details::DropWhenCollected`], [`reload_details`]). `None`: every export keeps them.
    pub keep_details: Option<std::sync::Arc<KeepBudget>>,
}

/// How many bytes of last-accessed report files the exports being loaded may keep, in all
/// ([`LoadOptions::keep_last_accessed`]). Parsed, the synthetic organisations' reports take
/// about half their files' size (~5.5 KB per principal held, from ~10.7 KB of files).
#[derive(Debug)]
pub struct KeepBudget {
    left: std::sync::atomic::AtomicU64,
}

impl KeepBudget {
    /// A budget of `bytes`.
    pub fn new(bytes: u64) -> Self {
        KeepBudget {
            left: std::sync::atomic::AtomicU64::new(bytes),
        }
    }

    /// Takes `bytes` from the budget when that many are left: true when taken.
    pub fn take(&self, bytes: u64) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        self.left
            .fetch_update(Relaxed, Relaxed, |left| left.checked_sub(bytes))
            .is_ok()
    }

    /// What is left.
    pub fn left(&self) -> u64 {
        self.left.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The documents of AWS managed policies, one per (ARN, default version): every account's
/// `authorization-details.json` repeats the AWS managed policies attached in it, and each copy
/// held its own parsed document (~0.8 MB per account of the synthetic organisations, ~1 GB at
/// 1,000 accounts). An AWS managed policy version never changes, but a copy is shared only when
/// its document is the same as the one kept (a hand-edited export keeps its own).
#[derive(Debug, Default)]
pub struct SharedDocuments {
    /// By ARN, then default version id: looked up by `&str` without a key allocated (~1 M
    /// lookups at 1,000 accounts).
    by_version: std::sync::Mutex<
        std::collections::HashMap<
            String,
            std::collections::HashMap<String, std::sync::Arc<crate::model::PolicyDocument>>,
        >,
    >,
}

impl SharedDocuments {
    /// `document`, the default version `version` of AWS managed policy `arn`: the one already
    /// kept when it is the same, else this one (kept when it is the first).
    pub fn share(
        &self,
        arn: &str,
        version: &str,
        document: crate::model::PolicyDocument,
    ) -> std::sync::Arc<crate::model::PolicyDocument> {
        // A poisoned lock (a panic while another export held it) leaves a whole map: use it.
        let mut map = self
            .by_version
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match map.get(arn).and_then(|versions| versions.get(version)) {
            Some(kept) if kept.raw == document.raw => std::sync::Arc::clone(kept),
            Some(_) => std::sync::Arc::new(document),
            None => {
                let kept = std::sync::Arc::new(document);
                map.entry(arn.to_string())
                    .or_default()
                    .insert(version.to_string(), std::sync::Arc::clone(&kept));
                kept
            }
        }
    }

    /// Forgets every document kept (exports keep theirs): for a caller that loads no more
    /// exports and frees them later, so that their documents go with them.
    pub fn forget(&self) {
        self.by_version
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    /// How many documents are kept.
    pub fn len(&self) -> usize {
        self.by_version
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .map(std::collections::HashMap::len)
            .sum()
    }

    /// True when no document is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How far [`load_exports`] is: folders found, folders loaded.
#[derive(Debug, Default)]
pub struct LoadProgress {
    pub total: std::sync::atomic::AtomicUsize,
    pub done: std::sync::atomic::AtomicUsize,
}

/// Loads every export named by `paths`: export folders, or organisation folders whose
/// sub-folders are exports. The result is sorted by account id; two exports of the same account
/// are an error.
pub fn load_exports(paths: &[PathBuf], opts: &LoadOptions) -> Result<Vec<Export>> {
    let mut folders = Vec::new();
    for path in paths {
        folders.extend(export_folders(path)?);
    }
    // Export folders are independent: loaded in parallel. Results keep the folders' order, so
    // the first error reported is the same as when loading one by one.
    use std::sync::atomic::Ordering::Relaxed;
    if let Some(p) = &opts.progress {
        p.total.store(folders.len(), Relaxed);
    }
    let mut exports = crate::parallel::map_indexed(
        folders.len(),
        || (),
        |(), i| {
            let export = load_export(&folders[i], opts);
            if let Some(p) = &opts.progress {
                p.done.fetch_add(1, Relaxed);
            }
            export
        },
    )
    .into_iter()
    .collect::<Result<Vec<_>>>()?;
    exports.sort_by(|a, b| (&a.account_id, &a.root).cmp(&(&b.account_id, &b.root)));
    for pair in exports.windows(2) {
        if let [a, b] = pair
            && a.account_id == b.account_id
        {
            return Err(Error::Input {
                path: b.root.clone(),
                message: format!(
                    "account {} is exported twice: here and in {}; give one export per account",
                    b.account_id,
                    a.root.display()
                ),
            });
        }
    }
    Ok(exports)
}

/// The export folders `paths` stand for (export folders, or the sub-folders of organisation
/// folders), in order: what [`load_exports`] loads. For callers that load exports one at a time.
pub fn find_export_folders(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut folders = Vec::new();
    for path in paths {
        folders.extend(export_folders(path)?);
    }
    Ok(folders)
}

/// Loads one export folder.
pub fn load_export(path: &Path, opts: &LoadOptions) -> Result<Export> {
    check_dir(path)?;
    let mut files = Files::new(path);
    let mut warnings = Warnings::default();

    let mut unfinished = false;
    let manifest = match files.read_text_if_exists(MANIFEST)? {
        Some(text) => {
            let (manifest, finished) = manifest::parse(&files.abs(MANIFEST), &text)?;
            unfinished = !finished;
            if !finished {
                warnings.push(
                    "fetch_unfinished",
                    Some(MANIFEST),
                    Some("$.finished".into()),
                    "the fetch that wrote this export did not finish (interrupted, or stopped \
                     by a lost network): principals may be absent without being listed as \
                     missing; rerun `iam-tighten fetch` with the same --out to complete it"
                        .into(),
                );
            }
            Some(manifest)
        }
        None => None,
    };
    if let Some(m) = &manifest {
        manifest::verify(m, &mut files)?;
    }

    if fs::symlink_metadata(files.abs(AUTHORIZATION_DETAILS)).is_err() {
        let why = if unfinished {
            "missing: the fetch that writes this export did not finish (manifest.json says \
             \"finished\": false); rerun `iam-tighten fetch` with the same --out"
        } else {
            "missing: every export needs the output of \
             `aws iam get-account-authorization-details`"
        };
        return Err(Error::Input {
            path: files.abs(AUTHORIZATION_DETAILS),
            message: why.into(),
        });
    }
    let text = files.read_text(AUTHORIZATION_DETAILS)?;
    let details = authz::parse(
        &files.abs(AUTHORIZATION_DETAILS),
        &text,
        &opts.documents,
        &mut warnings,
    )?;
    let (account_id, partition) = account(path, manifest.as_ref(), &details)?;

    let last_accessed = last_accessed::load(
        &mut files,
        &details.principals,
        manifest.as_ref(),
        &mut warnings,
    )?;
    let data_time = last_accessed
        .values()
        .filter_map(|la| la.job_completion)
        .max()
        .or(manifest.as_ref().and_then(|m| m.created));
    let export = credential_report::Export {
        account_id: &account_id,
        principals: &details.principals,
        time: data_time,
    };
    let credential_report = credential_report::load(&mut files, &export, &mut warnings)?;
    if let Some(m) = manifest.as_ref().filter(|m| !m.files.is_empty()) {
        unlisted_files(m, &files, &mut warnings);
    }

    let warnings = warnings.finish();
    if opts.strict
        && let Some(e) = strict_error(path, &files, &warnings)
    {
        return Err(e);
    }

    let files = files.finish();
    let deferred = defers_last_accessed(opts, &files);
    let held = holds_details(opts, &files);
    let last_accessed = if deferred {
        BTreeMap::new()
    } else {
        last_accessed
    };
    Ok(Export {
        root: path.to_path_buf(),
        account_id,
        partition,
        principals: details.principals,
        policies: details.policies,
        last_accessed,
        last_accessed_deferred: deferred,
        details: held,
        credential_report,
        manifest,
        data_time,
        files,
        warnings,
    })
}

/// With `--strict`, the error for the first of an export's warnings (naming its file and JSON
/// path, and how many more there are). The credential report is optional in the export format:
/// its absence is reported (the identity checks say they were not possible) but never fails a
/// --strict run.
fn strict_error(path: &Path, files: &Files, warnings: &[Warning]) -> Option<Error> {
    let strict_failures: Vec<&Warning> = warnings
        .iter()
        .filter(|w| w.code != STRICT_EXEMPT)
        .collect();
    let first = strict_failures.first()?;
    let location = first
        .json_path
        .as_ref()
        .map(|p| format!("{p}: "))
        .unwrap_or_default();
    Some(Error::Input {
        path: first
            .file
            .as_ref()
            .map_or_else(|| path.to_path_buf(), |f| files.abs(f)),
        message: format!("{location}{}", strict_message(first, strict_failures.len())),
    })
}

/// The one warning `--strict` never fails on.
pub(crate) const STRICT_EXEMPT: &str = "credential_report_missing";

/// `--strict`'s words for the first of `count` warnings that fail a run (the loader's here,
/// the analysis's in `analysis::strict_error`).
pub(crate) fn strict_message(first: &Warning, count: usize) -> String {
    let more = match count.saturating_sub(1) {
        0 => String::new(),
        n => format!(" (and {n} more warnings)"),
    };
    format!(
        "{} [warning {} is an error with --strict]{more}",
        first.message, first.code
    )
}

/// Whether an export that read `files` holds its principals and policies until planning
/// ([`LoadOptions::keep_details`]): when there is no budget, or its `authorization-details.json`
/// fits in what is left of it.
fn holds_details(opts: &LoadOptions, files: &[InputFile]) -> Details {
    match &opts.keep_details {
        Some(budget) if !budget.take(file_bytes(files, |p| p == AUTHORIZATION_DETAILS)) => {
            Details::DropWhenCollected
        }
        _ => Details::Held,
    }
}

/// Whether an export that read `files` drops its last-accessed reports until the analysis reads
/// them again: with [`LoadOptions::defer_last_accessed`], unless its report files fit in what is
/// left of [`LoadOptions::keep_last_accessed`] (then their size is taken from it).
fn defers_last_accessed(opts: &LoadOptions, files: &[InputFile]) -> bool {
    if !opts.defer_last_accessed {
        return false;
    }
    let report_bytes = file_bytes(files, last_accessed::is_report_path);
    !opts
        .keep_last_accessed
        .as_ref()
        .is_some_and(|budget| budget.take(report_bytes))
}

/// The bytes of the files read whose path `which` accepts.
fn file_bytes(files: &[InputFile], which: impl Fn(&str) -> bool) -> u64 {
    files
        .iter()
        .filter(|f| which(&f.path))
        .fold(0u64, |sum, f| sum.saturating_add(f.bytes))
}

/// Reads the principals and policies of an export whose details were dropped
/// ([`Details::Dropped`]) again, parsed as [`load_export`] parsed them (AWS managed policy
/// documents shared through `documents`); an export that holds them is left as it is. A changed
/// or removed `authorization-details.json` is an error naming it: the plans would no longer
/// rest on the data the analysis read.
pub fn reload_details(export: &mut Export, documents: &SharedDocuments) -> Result<()> {
    if export.details != Details::Dropped {
        return Ok(());
    }
    let mut files = Files::new(&export.root);
    let path = files.abs(AUTHORIZATION_DETAILS);
    let changed = |what: &str| Error::Input {
        path: path.clone(),
        message: format!(
            "{what} while iam-tighten was reading the exports (read once to analyse them, again \
             to plan the recommendations): run it again when nothing writes to the export"
        ),
    };
    let text = match files.read_text(AUTHORIZATION_DETAILS) {
        Ok(text) => text,
        Err(_) if fs::symlink_metadata(&path).is_err() => return Err(changed("disappeared")),
        Err(e) => return Err(e),
    };
    let read = files.finish();
    let was = export
        .files
        .iter()
        .find(|f| f.path == AUTHORIZATION_DETAILS);
    match (was, read.first()) {
        (Some(was), Some(now)) if was.sha256 == now.sha256 && was.bytes == now.bytes => {}
        _ => return Err(changed("changed")),
    }
    // Its warnings were given when the export was loaded.
    let mut warnings = Warnings::default();
    let details = authz::parse(&path, &text, documents, &mut warnings)?;
    export.principals = details.principals;
    export.policies = details.policies;
    export.details = Details::Held;
    Ok(())
}

/// The last-accessed reports of an export loaded with [`LoadOptions::defer_last_accessed`], read
/// again: the same files, parsed as [`load_export`] parsed them. A file added, removed or changed
/// since the export was loaded is an error naming it (its reports would no longer be the ones
/// whose SHA-256 the report lists, and a verdict could rest on data nobody can verify).
pub fn reload_last_accessed(
    export: &Export,
) -> Result<BTreeMap<(crate::model::PrincipalType, String), crate::model::LastAccessed>> {
    let mut files = Files::new(&export.root);
    // Their warnings were given when the export was loaded.
    let mut warnings = Warnings::default();
    let reports = last_accessed::load(
        &mut files,
        &export.principals,
        export.manifest.as_ref(),
        &mut warnings,
    )?;
    let loaded: BTreeMap<&str, &InputFile> = export
        .files
        .iter()
        .filter(|f| last_accessed::is_report_path(&f.path))
        .map(|f| (f.path.as_str(), f))
        .collect();
    let read = files.finish();
    let changed = |rel: &str, what: &str| Error::Input {
        path: in_export(&export.root, rel),
        message: format!(
            "{what} while iam-tighten was reading the exports (read once to load them, again to \
             analyse them): run it again when nothing writes to the export"
        ),
    };
    for f in &read {
        match loaded.get(f.path.as_str()) {
            None => return Err(changed(&f.path, "appeared")),
            Some(was) if was.sha256 != f.sha256 || was.bytes != f.bytes => {
                return Err(changed(&f.path, "changed"));
            }
            Some(_) => {}
        }
    }
    if read.len() != loaded.len() {
        let read: BTreeSet<&str> = read.iter().map(|f| f.path.as_str()).collect();
        if let Some(gone) = loaded.keys().find(|p| !read.contains(*p)) {
            return Err(changed(gone, "disappeared"));
        }
    }
    Ok(reports)
}

/// The export folders a command-line argument stands for.
fn export_folders(path: &Path) -> Result<Vec<PathBuf>> {
    check_dir(path)?;
    let looks_like_export = [LAST_ACCESSED_DIR, MANIFEST, CREDENTIAL_REPORT]
        .iter()
        .any(|name| path.join(name).exists());
    if path.join(AUTHORIZATION_DETAILS).exists() || looks_like_export {
        // Both an export and an organisation folder: reading only the top-level export would
        // silently drop every account folder in it.
        if let Some(member) = sorted_entries(path)?
            .into_iter()
            .find(|entry| entry.is_dir() && entry.join(AUTHORIZATION_DETAILS).exists())
        {
            return Err(Error::Input {
                path: path.to_path_buf(),
                message: format!(
                    "both an export (it holds {}) and an organisation folder ({} holds an \
                     export): move the top-level export into its own folder, or give the \
                     export folders one by one",
                    [
                        AUTHORIZATION_DETAILS,
                        MANIFEST,
                        LAST_ACCESSED_DIR,
                        CREDENTIAL_REPORT
                    ]
                    .into_iter()
                    .find(|name| path.join(name).exists())
                    .unwrap_or(AUTHORIZATION_DETAILS),
                    member.display()
                ),
            });
        }
        // An export without authorization details is reported by `load_export`.
        return Ok(vec![path.to_path_buf()]);
    }
    // Hidden folders (`.vscode`, `.Trash`, ...) and the `__MACOSX` folder of a zip made on a Mac
    // are not exports: skipped, as the files of an export skip them. One that holds an export's
    // authorization details is read (an account is never left out without a word).
    let mut entries = sorted_entries(path)?;
    entries.retain(|e| {
        let hidden = e
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.') || n == "__MACOSX");
        !hidden || e.join(AUTHORIZATION_DETAILS).exists()
    });
    // A folder of organisations (one per quarter, say): name them rather than call the first
    // an incomplete export.
    let mut orgs = Vec::new();
    let is_org_part = |e: &Path| {
        e.file_name()
            .is_some_and(|n| n == organization::ORGANIZATION_DIR)
    };
    for entry in &entries {
        if entry.is_dir()
            && !is_org_part(entry)
            && !entry.join(AUTHORIZATION_DETAILS).exists()
            && sorted_entries(entry)?
                .iter()
                .any(|e| e.is_dir() && e.join(AUTHORIZATION_DETAILS).exists())
        {
            orgs.push(entry.clone());
        }
    }
    if !orgs.is_empty() {
        let names: Vec<String> = orgs.iter().map(|o| o.display().to_string()).collect();
        let shown = if names.len() > 6 {
            format!("{}, … ({} in all)", names[..6].join(", "), names.len())
        } else {
            names.join(", ")
        };
        return Err(Error::Input {
            path: path.to_path_buf(),
            message: format!(
                "a folder of organisation folders ({shown}), not an export or an organisation: \
                 give `report` one of them (`iam-tighten report {}`), or give `diff` two \
                 (`iam-tighten diff OLD NEW`)",
                names[names.len() - 1]
            ),
        });
    }
    let mut found = Vec::new();
    for entry in entries {
        if !entry.is_dir() || is_org_part(&entry) {
            continue;
        }
        if entry.join(AUTHORIZATION_DETAILS).exists() {
            found.push(entry);
        } else if let Some(json) = find_json(&entry, 4)? {
            return Err(Error::Input {
                path: entry,
                message: format!(
                    "no {AUTHORIZATION_DETAILS}, yet it holds {}: an incomplete export? \
                     In an organisation folder every sub-folder with JSON must be an export",
                    json.display()
                ),
            });
        }
    }
    if found.is_empty() {
        return Err(Error::Input {
            path: path.to_path_buf(),
            message: format!(
                "not an export: no {AUTHORIZATION_DETAILS} here or in any sub-folder \
                 (an organisation folder holds one export folder per account)"
            ),
        });
    }
    Ok(found)
}

fn check_dir(path: &Path) -> Result<()> {
    let meta = fs::metadata(path).map_err(|e| Error::read(path, e))?;
    if meta.is_dir() {
        Ok(())
    } else {
        Err(Error::Input {
            path: path.to_path_buf(),
            message: "not a folder: give the export folder, not a file in it".into(),
        })
    }
}

/// Entries of a folder, sorted by name.
fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut entries = fs::read_dir(dir)
        .map_err(|e| Error::read(dir, e))?
        .map(|entry| entry.map(|e| e.path()).map_err(|e| Error::read(dir, e)))
        .collect::<Result<Vec<_>>>()?;
    entries.sort();
    Ok(entries)
}

/// The first `.json` file at or below `dir` (depth-limited), if any.
fn find_json(dir: &Path, depth: usize) -> Result<Option<PathBuf>> {
    for entry in sorted_entries(dir)? {
        if entry.is_dir() {
            if depth > 0
                && let Some(found) = find_json(&entry, depth - 1)?
            {
                return Ok(Some(found));
            }
        } else if has_extension(&entry, "json") {
            return Ok(Some(entry));
        }
    }
    Ok(None)
}

fn has_extension(path: &Path, ext: &str) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case(ext))
}

/// Account id and partition: the manifest's when present, else the one the ARNs agree on.
pub(crate) fn account(
    root: &Path,
    manifest: Option<&Manifest>,
    details: &authz::Details,
) -> Result<(String, String)> {
    let mut accounts = BTreeSet::new();
    let mut partitions = BTreeSet::new();
    let arns = details.principals.iter().map(|p| p.arn.as_str());
    for arn in arns.chain(details.policies.keys().map(String::as_str)) {
        if let Some(a) = authz::Arn::parse(arn) {
            partitions.insert(a.partition.to_string());
            if a.account != "aws" {
                accounts.insert(a.account.to_string());
            }
        }
    }
    let input_err = |message: String| Error::Input {
        path: root.join(AUTHORIZATION_DETAILS),
        message,
    };
    let list = |set: &BTreeSet<String>| set.iter().cloned().collect::<Vec<_>>().join(", ");
    if accounts.len() > 1 {
        return Err(input_err(format!(
            "ARNs name several accounts ({}); an export is one account",
            list(&accounts)
        )));
    }
    if partitions.len() > 1 {
        return Err(input_err(format!(
            "ARNs name several partitions ({})",
            list(&partitions)
        )));
    }
    let from_arns = accounts.into_iter().next();
    let account_id = match (manifest.and_then(|m| m.account_id.clone()), from_arns) {
        (Some(m), Some(a)) if m != a => {
            return Err(input_err(format!(
                "ARNs name account {a} but {MANIFEST} says {m}"
            )));
        }
        (Some(id), _) | (None, Some(id)) => id,
        (None, None) => {
            return Err(input_err(format!(
                "no roles, users, groups or customer policies, and no {MANIFEST}: \
                 cannot tell which account this export is"
            )));
        }
    };
    // The partition decides which all-wildcard ARNs match every resource (grant-model.md).
    let from_arns = partitions.into_iter().next();
    let partition = match (manifest.and_then(|m| m.partition.clone()), from_arns) {
        (Some(m), Some(a)) if m != a => {
            return Err(input_err(format!(
                "ARNs name partition {a} but {MANIFEST} says {m}"
            )));
        }
        (Some(p), _) | (None, Some(p)) => p,
        (None, None) => "aws".to_string(),
    };
    Ok((account_id, partition))
}

/// `file_not_in_manifest`: files read that the manifest (which lists every file the fetch
/// wrote, with its SHA-256) does not list: added after the fetch, so nothing vouches for them,
/// and they are read like the others.
fn unlisted_files(m: &Manifest, files: &Files, warnings: &mut Warnings) {
    let unlisted: Vec<&str> = files
        .read
        .keys()
        .map(String::as_str)
        .filter(|rel| *rel != MANIFEST && !m.files.contains_key(*rel))
        .collect();
    if let Some(first) = unlisted.first() {
        warnings.push(
            "file_not_in_manifest",
            Some(first),
            None,
            format!(
                "{} file(s) read are not among those {MANIFEST} lists with their SHA-256 ({}): \
                 added after the fetch, so nothing vouches for them; they are read like the \
                 others (fetch again, or remove them, to report only what was fetched)",
                unlisted.len(),
                crate::model::listed(&unlisted, 5)
            ),
        );
    }
}

/// The files of one export that were read, with their SHA-256.
struct Files {
    root: PathBuf,
    read: BTreeMap<String, InputFile>,
}

impl Files {
    fn new(root: &Path) -> Files {
        Files {
            root: root.to_path_buf(),
            read: BTreeMap::new(),
        }
    }

    /// `rel` is `/`-separated, relative to the export folder.
    fn abs(&self, rel: &str) -> PathBuf {
        in_export(&self.root, rel)
    }

    /// Reads a regular file (see [`crate::files::read_regular`]) and records it (once) with its
    /// SHA-256.
    fn read_bytes(&mut self, rel: &str) -> Result<Vec<u8>> {
        let path = self.abs(rel);
        let bytes = crate::files::read_regular_capped(&path, cap_of(rel))?;
        self.read
            .entry(rel.to_string())
            .or_insert_with(|| InputFile::of(rel, &bytes));
        Ok(bytes)
    }

    /// Records a file read off this value (on another thread, by [`Files::read_text_apart`]),
    /// as [`Files::read_bytes`] records the files it reads.
    fn record(&mut self, file: InputFile) {
        self.read.entry(file.path.clone()).or_insert(file);
    }

    /// [`Files::read_text`] without recording the file: for reading on several threads, the
    /// record handed back to [`Files::record`].
    fn read_text_apart(root: &Path, rel: &str) -> Result<(InputFile, String)> {
        let path = in_export(root, rel);
        let bytes = crate::files::read_regular_capped(&path, cap_of(rel))?;
        let file = InputFile::of(rel, &bytes);
        Ok((file, crate::files::text(&path, bytes)?))
    }

    fn sha256(&mut self, rel: &str) -> Result<String> {
        self.read_bytes(rel)?;
        Ok(self
            .read
            .get(rel)
            .map(|f| f.sha256.to_string())
            .unwrap_or_default())
    }

    /// Reads a UTF-8 text file; a UTF-8 byte-order mark is dropped.
    fn read_text(&mut self, rel: &str) -> Result<String> {
        let bytes = self.read_bytes(rel)?;
        crate::files::text(&self.abs(rel), bytes)
    }

    /// Reads the file if there is anything at that name (a folder or a pipe there is an error,
    /// not an absent file).
    fn read_text_if_exists(&mut self, rel: &str) -> Result<Option<String>> {
        if fs::symlink_metadata(self.abs(rel)).is_ok() {
            self.read_text(rel).map(Some)
        } else {
            Ok(None)
        }
    }

    fn finish(self) -> Vec<InputFile> {
        self.read.into_values().collect()
    }
}

/// The largest file of an export other than `authorization-details.json` read: 256 MiB. A
/// credential report lists at most IAM's 5,000 users (~2 MB), a last-accessed report the ~450
/// services a principal can be granted with their tracked actions (~1 MB). Parsing holds a file
/// about twice over, so the 4 GiB cap of every input took ~8 GB for a credential report.
pub const MAX_SMALL_FILE_BYTES: u64 = 256 << 20;

/// The size cap of export file `rel`: [`crate::files::MAX_INPUT_BYTES`] for the authorization
/// details, [`MAX_SMALL_FILE_BYTES`] for the others.
fn cap_of(rel: &str) -> u64 {
    if rel == AUTHORIZATION_DETAILS {
        crate::files::MAX_INPUT_BYTES
    } else {
        MAX_SMALL_FILE_BYTES
    }
}

/// The path of `rel` (`/`-separated) inside the export folder `root`.
fn in_export(root: &Path, rel: &str) -> PathBuf {
    rel.split('/')
        .fold(root.to_path_buf(), |p, part| p.join(part))
}

/// Warnings of one export, in the order found; sorted at the end.
#[derive(Default)]
pub(crate) struct Warnings(Vec<Warning>);

impl Warnings {
    fn push(&mut self, code: &str, file: Option<&str>, json_path: Option<String>, message: String) {
        self.0.push(Warning {
            code: code.to_string(),
            file: file.map(str::to_string),
            json_path,
            message,
        });
    }

    fn finish(mut self) -> Vec<Warning> {
        self.0.sort();
        self.0.dedup();
        self.0
    }
}

/// At most ten names, then how many more: how a warning about an export lists principals.
fn listed(names: &[String]) -> String {
    crate::model::listed(names, 10)
}

/// Parses a whole JSON file into `T`; errors carry the JSON path where deserialization stopped
/// and serde_json's line and column.
/// A policy text's [`TextError`] as the input error at `at` (where the text sits) in `path`: not
/// JSON as `not_json` says it (serde_json's error after it), a repeated key at its JSON path
/// inside the text, its message followed by `within` (which text it is, or nothing).
pub(crate) fn text_error(
    path: &Path,
    at: &str,
    e: crate::model::json::TextError,
    not_json: &str,
    within: &str,
) -> Error {
    match e {
        crate::model::json::TextError::Duplicate { json_path, message } => Error::parse(
            path,
            format!("{at}{}", json_path.strip_prefix('$').unwrap_or(&json_path)),
            format!("{message}{within}"),
        ),
        other => Error::parse(path, at, other.message(not_json).unwrap_or_default()),
    }
}

pub(crate) fn parse_json<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T> {
    if text.trim().is_empty() {
        return Err(Error::parse(path, "$", "empty file: expected JSON"));
    }
    // serde would read a top-level list positionally, as a tuple struct: refuse it here.
    if !text.trim_start().starts_with('{')
        && let Ok(value) = serde_json::from_str::<serde_json::Value>(text)
    {
        let found = match value {
            serde_json::Value::Array(_) => "a list",
            serde_json::Value::String(_) => "a string",
            serde_json::Value::Number(_) => "a number",
            serde_json::Value::Bool(_) => "a boolean",
            serde_json::Value::Null => "null",
            serde_json::Value::Object(_) => "an object",
        };
        return Err(Error::parse(
            path,
            "$",
            format!("expected a JSON object, found {found}"),
        ));
    }
    // The fast way first; only a file that fails is read again with its path tracked (the same
    // parse, so the same error, now with where it stopped): tracking the path of every key of
    // every file cost more than the parse itself.
    if let Ok(value) = serde_json::from_str(text) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = match serde_path_to_error::deserialize(&mut de) {
        Ok(value) => de.end().map(|()| value).map_err(|e| ("$".to_string(), e)),
        Err(e) => Err((json_path(e.path()), e.into_inner())),
    };
    parsed.map_err(|(json_path, inner)| {
        let message = match inner.classify() {
            serde_json::error::Category::Eof => format!(
                "truncated: the file ends in the middle of the JSON (line {}, column {}); \
                 was the download or redirect interrupted?",
                inner.line(),
                inner.column()
            ),
            serde_json::error::Category::Syntax
                if inner.to_string().starts_with("trailing characters") =>
            {
                format!("not valid JSON: {inner}; were two outputs appended into one file?")
            }
            serde_json::error::Category::Syntax
                if inner.to_string().starts_with("trailing comma") =>
            {
                format!(
                    "not valid JSON: {inner}: a comma after the last item of a list or object (JSON allows none; was the file edited by hand?)"
                )
            }
            serde_json::error::Category::Syntax => format!("not valid JSON: {inner}"),
            serde_json::error::Category::Data | serde_json::error::Category::Io => {
                inner.to_string()
            }
        };
        Error::parse(path, json_path, message)
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::SharedDocuments;
    use crate::model::PolicyDocument;

    fn doc(action: &str) -> PolicyDocument {
        PolicyDocument::from_value(serde_json::json!({
            "Statement": {"Effect": "Allow", "Action": action, "Resource": "*"}
        }))
        .expect("document")
    }

    /// One document per (ARN, version) when the documents are the same; another version, another
    /// policy or another document is not shared.
    #[test]
    fn documents_are_shared_by_arn_version_and_content() {
        let shared = SharedDocuments::default();
        let arn = "arn:aws:iam::aws:policy/ReadOnlyAccess";
        let first = shared.share(arn, "v1", doc("s3:Get*"));
        let same = shared.share(arn, "v1", doc("s3:Get*"));
        assert!(Arc::ptr_eq(&first, &same));
        let edited = shared.share(arn, "v1", doc("s3:List*"));
        assert!(!Arc::ptr_eq(&first, &edited));
        assert_eq!(edited.raw, doc("s3:List*").raw);
        let next = shared.share(arn, "v2", doc("s3:Get*"));
        assert!(!Arc::ptr_eq(&first, &next));
        let other = shared.share("arn:aws:iam::aws:policy/Other", "v1", doc("s3:Get*"));
        assert!(!Arc::ptr_eq(&first, &other));
        // The first of each key is kept; an edited copy is not.
        assert_eq!(shared.len(), 3);
        assert!(Arc::ptr_eq(
            &shared.share(arn, "v1", doc("s3:Get*")),
            &first
        ));
        // Forgotten, none is kept: the next copy is not the first.
        shared.forget();
        assert!(shared.is_empty());
        assert!(!Arc::ptr_eq(
            &shared.share(arn, "v1", doc("s3:Get*")),
            &first
        ));
    }
}
