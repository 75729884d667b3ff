//! The organisation part on disk: `OUT/organization/`, which of its files an earlier run left
//! that a resume can keep, and its `manifest.json`.
//!
//! **Ownership.** `fetch` writes into `OUT/organization/` only when the folder is new or empty,
//! or holds a `manifest.json` written by `iam-tighten fetch`: then every file of the layout in it
//! (`docs/export-format.md`) is ours to replace or remove, and other files are left alone. An
//! `organization/` written by the AWS CLI script or by hand is never changed.
//!
//! **The manifest is written first and last**, as for an account: `"finished": false` before the
//! first call, then the SHA-256 of every file, `missing` and `notes`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::fetch::error::{FetchError, Result};
use crate::fetch::store::{self, ManifestFile, Run};
use crate::input::MANIFEST;

/// The organisation part's folder, beside the account folders of an organisation folder.
pub const DIR: &str = "organization";

/// The files of one permission set (`sso/<instance-id>/<ps-id>/<name>`).
pub const PERMISSION_SET_FILES: [&str; 6] = [
    "describe-permission-set.json",
    "inline-policy.json",
    "managed-policies.json",
    "customer-managed-policies.json",
    "permissions-boundary.json",
    "accounts.json",
];

/// What a file must hold to be kept by a resume: a JSON object without `NextToken` and with
/// this top-level key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `{"Organization": {…}}`: the key must be there, holding an object.
    Object(&'static str),
    /// `{"Roots": […]}`: a list (absent only when the service sent none, as the CLI prints it).
    List(&'static str),
    /// `{"InlinePolicy": "…"}`: a string, or absent.
    Text(&'static str),
}

/// Why a kept file cannot be kept, or `None`.
pub fn unusable(bytes: &[u8], shape: Shape) -> Option<String> {
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(value) => value,
        Err(e) if e.is_eof() => return Some(format!("truncated JSON ({e})")),
        Err(e) => return Some(format!("not JSON ({e})")),
    };
    let Some(object) = value.as_object() else {
        return Some("not a JSON object".into());
    };
    if object.contains_key("NextToken") {
        return Some("has a NextToken: one page, not every page merged".into());
    }
    match shape {
        Shape::Object(key) if !object.get(key).is_some_and(Value::is_object) => {
            Some(format!("no {key} object"))
        }
        Shape::List(key) if !object.get(key).is_none_or(Value::is_array) => {
            Some(format!("{key} is not a list"))
        }
        Shape::Text(key) if !object.get(key).is_none_or(Value::is_string) => {
            Some(format!("{key} is not a string"))
        }
        _ => None,
    }
}

/// An id used as a file or folder name (`r-…`, `ou-…`, `p-…`, `ssoins-…`, `ps-…`): AWS's
/// patterns allow only letters, digits, `-` and `_`, so anything else is refused rather than
/// written as a path.
pub fn safe_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && !id.starts_with(['.', '-'])
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `rel` (`/`-separated, relative to `organization/`) is a file of the layout.
pub fn is_layout_file(rel: &str) -> bool {
    let parts: Vec<&str> = rel.split('/').collect();
    let json_id = |name: &str| name.strip_suffix(".json").is_some_and(safe_id);
    match parts.as_slice() {
        ["describe-organization.json" | "list-roots.json" | "list-accounts.json"] => true,
        ["ous" | "accounts" | "policies" | "policy" | "targets", name] => json_id(name),
        ["sso", "list-instances.json"] => true,
        ["sso", instance, "list-permission-sets.json"] => safe_id(instance),
        ["sso", instance, ps, name] => {
            safe_id(instance) && safe_id(ps) && PERMISSION_SET_FILES.contains(name)
        }
        _ => false,
    }
}

/// What an earlier run left for one file.
pub enum Kept {
    /// A usable file: its content.
    Usable(Value),
    /// No file.
    Absent,
    /// A file that cannot be kept (it was removed): why.
    Removed(String),
}

/// `OUT/organization/`.
#[derive(Debug, Clone)]
pub struct OrgDir {
    pub root: PathBuf,
}

impl OrgDir {
    pub fn new(out: &Path) -> OrgDir {
        OrgDir {
            root: out.join(DIR),
        }
    }

    /// The path of `rel` (`/`-separated).
    pub fn path(&self, rel: &str) -> PathBuf {
        rel.split('/')
            .fold(self.root.clone(), |p, part| p.join(part))
    }

    pub fn manifest(&self) -> PathBuf {
        self.root.join(MANIFEST)
    }

    /// Checks the folder before any AWS call: new, empty, or ours (its manifest, returned).
    pub fn check(&self) -> Result<Option<ManifestFile>> {
        match fs::read_dir(&self.root) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(_) if !self.root.is_dir() => {
                return Err(FetchError::out(
                    &self.root,
                    "not a folder: the organisation part is written into a folder of this name",
                ));
            }
            Err(e) => return Err(FetchError::io(&self.root, "cannot list", e)),
            Ok(mut entries) => {
                let empty = entries.all(|e| {
                    e.is_ok_and(|e| {
                        e.file_name()
                            .to_string_lossy()
                            .starts_with(store::TEMP_PREFIX)
                    })
                });
                if empty {
                    return Ok(None);
                }
            }
        }
        match store::read_manifest(&self.manifest()) {
            Some(m) => Ok(Some(m)),
            None => Err(FetchError::out(
                &self.root,
                format!(
                    "holds files but no {MANIFEST} written by iam-tighten fetch (an organisation \
                     part written by scripts/export-with-aws-cli.sh or by hand?); fetch never \
                     changes files it did not write: move the folder away, or give another --out"
                ),
            )),
        }
    }

    /// Creates the folder and removes our stale temporary files in it.
    pub fn prepare(&self) -> Result<()> {
        fs::create_dir_all(&self.root)
            .map_err(|e| FetchError::io(&self.root, "cannot create folder", e))?;
        for dir in self.dirs()? {
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                if entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with(store::TEMP_PREFIX)
                {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        Ok(())
    }

    /// The folder and every folder below it (the layout is at most three deep).
    fn dirs(&self) -> Result<Vec<PathBuf>> {
        let mut dirs = vec![self.root.clone()];
        let mut i = 0;
        while i < dirs.len() {
            if let Ok(entries) = fs::read_dir(&dirs[i]) {
                let mut below: Vec<PathBuf> = entries
                    .flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| e.path())
                    .collect();
                below.sort();
                dirs.extend(below);
            }
            i += 1;
            if dirs.len() > 1_000_000 {
                return Err(FetchError::out(&self.root, "holds too many folders"));
            }
        }
        Ok(dirs)
    }

    /// The kept file `rel`: usable, absent, or removed because it cannot be kept.
    pub fn kept(&self, rel: &str, shape: Shape) -> Result<Kept> {
        let path = self.path(rel);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Kept::Absent),
            Err(e) => return Err(FetchError::io(&path, "cannot read", e)),
        };
        match unusable(&bytes, shape) {
            None => Ok(Kept::Usable(
                serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            )),
            Some(why) => {
                self.remove(rel)?;
                Ok(Kept::Removed(why))
            }
        }
    }

    /// Writes `rel` atomically, creating its folder first.
    pub fn write(&self, rel: &str, bytes: &[u8]) -> Result<()> {
        let path = self.path(rel);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|e| FetchError::io(dir, "cannot create folder", e))?;
        }
        store::write_atomic(&path, bytes)
    }

    pub fn remove(&self, rel: &str) -> Result<()> {
        let path = self.path(rel);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(FetchError::io(&path, "cannot remove", e))
            }
            _ => Ok(()),
        }
    }

    /// The files of the layout now in the folder, by `/`-separated relative path, sorted.
    pub fn files(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for dir in self.dirs()? {
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(FetchError::io(&dir, "cannot list", e)),
            };
            for entry in entries.flatten() {
                if !entry.file_type().is_ok_and(|t| t.is_file()) {
                    continue;
                }
                let Ok(rel) = entry.path().strip_prefix(&self.root).map(|p| {
                    p.components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                        .join("/")
                }) else {
                    continue;
                };
                if is_layout_file(&rel) {
                    out.push(rel);
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Removes every file of the layout that this snapshot does not hold (`touched`: written or
    /// kept by this run), and the folders that leaves empty. Returns the files removed.
    pub fn remove_others(&self, touched: &BTreeSet<String>) -> Result<Vec<String>> {
        let mut removed = Vec::new();
        for rel in self.files()? {
            if !touched.contains(&rel) {
                self.remove(&rel)?;
                removed.push(rel);
            }
        }
        let mut dirs = self.dirs()?;
        dirs.reverse();
        for dir in dirs {
            if dir != self.root {
                // Only empty folders go; anything else (someone's file) keeps its folder.
                let _ = fs::remove_dir(&dir);
            }
        }
        Ok(removed)
    }
}

/// What the organisation part's manifest says beside the account manifest's fields.
pub struct OrgManifest<'a> {
    pub account_id: &'a str,
    pub partition: &'a str,
    pub organization_id: Option<&'a str>,
    pub region: &'a str,
    pub runs: &'a [Run],
}

/// What a finished organisation part records beside its files.
pub struct Finished<'a> {
    /// Could not be fetched.
    pub missing: &'a BTreeMap<String, String>,
    /// Absent on purpose.
    pub notes: &'a BTreeMap<String, String>,
}

/// Writes `organization/manifest.json`: unfinished (`None`), or finished with the SHA-256 of
/// every file of the layout, `missing` and `notes`. The account manifest's shape (so
/// `src/input/manifest.rs` reads it), plus `organization_id`, `region` and `notes`; no
/// `created` (no file of the part carries a time of its own: `runs` say when it was fetched).
pub fn write_manifest(
    dir: &OrgDir,
    m: &OrgManifest<'_>,
    finished: Option<Finished<'_>>,
) -> Result<()> {
    let mut manifest = ManifestFile {
        account_id: m.account_id.to_string(),
        partition: m.partition.to_string(),
        finished: false,
        created: None,
        created_from: None,
        credential_report_generated: None,
        tool: store::tool(),
        catalog: None,
        runs: m.runs.to_vec(),
        files: None,
        missing: None,
        organization_id: m.organization_id.map(str::to_string),
        region: Some(m.region.to_string()),
        notes: None,
    };
    if let Some(Finished { missing, notes }) = finished {
        let mut files = BTreeMap::new();
        for rel in dir.files()? {
            let path = dir.path(&rel);
            let bytes =
                fs::read(&path).map_err(|e| FetchError::io(&path, "cannot read back", e))?;
            files.insert(rel, format!("{:x}", Sha256::digest(&bytes)));
        }
        manifest.finished = true;
        manifest.files = Some(files);
        manifest.missing = Some(missing.clone());
        manifest.notes = Some(notes.clone());
    }
    let bytes = store::manifest_bytes(&manifest)?;
    store::write_atomic(&dir.manifest(), &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp() -> tempfile::TempDir {
        tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"))
    }

    #[test]
    fn a_resume_keeps_only_whole_files_of_the_right_shape() {
        let roots = br#"{"Roots": [{"Id": "r-abcd"}]}"#;
        assert_eq!(unusable(roots, Shape::List("Roots")), None);
        assert!(
            unusable(&roots[..roots.len() / 2], Shape::List("Roots"))
                .is_some_and(|w| w.contains("truncated"))
        );
        let page = br#"{"Roots": [], "NextToken": "x"}"#;
        assert!(unusable(page, Shape::List("Roots")).is_some_and(|w| w.contains("NextToken")));
        assert!(unusable(br#"{"Roots": {}}"#, Shape::List("Roots")).is_some());
        assert!(unusable(b"[]", Shape::List("Roots")).is_some());
        // The CLI prints `{}` for a list the service did not send.
        assert_eq!(unusable(b"{}", Shape::List("Targets")), None);
        assert!(unusable(b"{}", Shape::Object("Policy")).is_some());
        assert_eq!(
            unusable(br#"{"Policy": {"Content": "{}"}}"#, Shape::Object("Policy")),
            None
        );
        assert_eq!(
            unusable(br#"{"InlinePolicy": ""}"#, Shape::Text("InlinePolicy")),
            None
        );
        assert!(unusable(br#"{"InlinePolicy": 1}"#, Shape::Text("InlinePolicy")).is_some());
    }

    #[test]
    fn ids_become_file_names_only_when_safe() {
        for good in [
            "r-abcd",
            "ou-abcd-12345678",
            "p-FullAWSAccess",
            "ssoins-1234",
            "ps-12ab",
        ] {
            assert!(safe_id(good), "{good}");
        }
        for bad in ["", "..", ".hidden", "a/b", "a\\b", "-x", "p 1", "é"] {
            assert!(!safe_id(bad), "{bad}");
        }
        assert!(is_layout_file("ous/r-abcd.json"));
        assert!(is_layout_file("sso/ssoins-1/ps-2/inline-policy.json"));
        assert!(is_layout_file("sso/ssoins-1/list-permission-sets.json"));
        assert!(!is_layout_file("sso/ssoins-1/ps-2/notes.json"));
        assert!(!is_layout_file("manifest.json"));
        assert!(!is_layout_file("ous/.hidden.json"));
        assert!(!is_layout_file("notes.txt"));
    }

    #[test]
    fn the_folder_must_be_new_empty_or_ours() {
        let out = tmp();
        let dir = OrgDir::new(out.path());
        assert!(matches!(dir.check(), Ok(None)));
        assert!(fs::create_dir_all(&dir.root).is_ok());
        assert!(matches!(dir.check(), Ok(None)));
        // Written by the AWS CLI script: never ours.
        assert!(fs::write(dir.path("list-roots.json"), "{}").is_ok());
        let e = dir.check().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("export-with-aws-cli.sh"), "{e}");
        assert!(
            fs::write(
                dir.manifest(),
                r#"{"account_id":"111111111111","partition":"aws","tool":"iam-tighten 0.1.0"}"#
            )
            .is_ok()
        );
        assert!(matches!(dir.check(), Ok(Some(_))));
    }

    #[test]
    fn files_of_another_snapshot_are_removed_with_their_empty_folders() {
        let out = tmp();
        let dir = OrgDir::new(out.path());
        for rel in [
            "list-roots.json",
            "ous/r-abcd.json",
            "policy/p-old.json",
            "sso/ssoins-1/ps-old/accounts.json",
        ] {
            assert!(dir.write(rel, b"{}").is_ok());
        }
        assert!(fs::write(dir.path("policy/notes.txt"), "mine").is_ok());
        let touched: BTreeSet<String> = ["list-roots.json", "ous/r-abcd.json"]
            .map(String::from)
            .into();
        let removed = dir.remove_others(&touched).unwrap_or_default();
        assert_eq!(
            removed,
            ["policy/p-old.json", "sso/ssoins-1/ps-old/accounts.json"]
        );
        assert!(!dir.path("sso").exists(), "empty folders go");
        assert!(
            dir.path("policy/notes.txt").exists(),
            "someone's file stays"
        );
        assert_eq!(
            dir.files().unwrap_or_default(),
            ["list-roots.json", "ous/r-abcd.json"]
        );
    }
}
