//! Files in and out, safely: every input is read as a regular file under a size cap, and every
//! output is written aside and renamed into place (a file) or swapped in (a folder), so a reader
//! never sees a half-written output, and a killed run leaves the previous run's outputs whole.

use std::fs;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The largest input file read: 4 GiB. The largest real export file is `authorization-details.json`
/// (about 1 MB per 100 roles with their policies; an account at IAM's default quota of 1,000 roles
/// is ~10 MB, at the 5,000 maximum ~50 MB). A file beyond the cap is refused, naming it, rather
/// than read until memory runs out.
pub const MAX_INPUT_BYTES: u64 = 4 << 30;

/// Reads a regular file (following symlinks) of at most [`MAX_INPUT_BYTES`]. A named pipe, socket
/// or device (or a symlink to one, such as `/dev/zero`) is refused by name, before it is opened:
/// reading one could block forever or never end.
pub fn read_regular(path: &Path) -> Result<Vec<u8>> {
    read_regular_capped(path, MAX_INPUT_BYTES)
}

/// [`read_regular`] with another cap (tests).
pub fn read_regular_capped(path: &Path, cap: u64) -> Result<Vec<u8>> {
    let meta = fs::metadata(path).map_err(|e| Error::read(path, e))?;
    check_regular(path, &meta)?;
    if meta.len() > cap {
        return Err(too_large(path, meta.len(), cap));
    }
    let mut open = fs::OpenOptions::new();
    open.read(true);
    // A file that reads like a stream (`/proc/kmsg`: a regular file to `stat`) fails at once
    // rather than waits for data; a file on disk ignores the flag.
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        open.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    let file = open.open(path).map_err(|e| Error::read(path, e))?;
    // The file may have been swapped or may grow between the check and the read.
    let meta = file.metadata().map_err(|e| Error::read(path, e))?;
    check_regular(path, &meta)?;
    // No more than the size the file gives, and a byte to tell it holds more: a file on disk
    // holds its size; one that holds more grew while read, or is not on disk (`/proc` gives a
    // size of 0 and endless content), and reading it to the cap took gigabytes.
    let size = meta.len().min(cap);
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(size.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| Error::read(path, e))?;
    if bytes.len() as u64 > cap {
        return Err(too_large(path, bytes.len() as u64, cap));
    }
    if bytes.len() as u64 > size {
        return Err(Error::Input {
            path: path.to_path_buf(),
            message: format!(
                "holds more than the {size} bytes its size gives: it grew while read, or is not \
                 a file on disk (such as one under /proc); copy the export's files and give the \
                 copy"
            ),
        });
    }
    Ok(bytes)
}

/// Reads a regular UTF-8 text file; a UTF-8 byte-order mark is dropped.
pub fn read_text(path: &Path) -> Result<String> {
    text(path, read_regular(path)?)
}

/// Bytes as UTF-8 text, without a leading byte-order mark.
pub fn text(path: &Path, bytes: Vec<u8>) -> Result<String> {
    let text = String::from_utf8(bytes).map_err(|e| Error::NotUtf8 {
        path: path.to_path_buf(),
        offset: e.utf8_error().valid_up_to(),
    })?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

fn too_large(path: &Path, len: u64, cap: u64) -> Error {
    Error::Input {
        path: path.to_path_buf(),
        message: format!(
            "{len} bytes: larger than the {cap}-byte limit for one input file; no real export file is that large"
        ),
    }
}

fn check_regular(path: &Path, meta: &fs::Metadata) -> Result<()> {
    if meta.is_file() {
        return Ok(());
    }
    Err(Error::Input {
        path: path.to_path_buf(),
        message: format!(
            "not a regular file but {}; only regular files are read",
            kind(&meta.file_type())
        ),
    })
}

/// What a non-regular file is, in words.
pub fn kind(t: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() || t.is_char_device() {
            return "a device";
        }
    }
    if t.is_dir() {
        "a folder"
    } else if t.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

/// Writes `path` through a temporary file in the same folder (`.<name>.<pid>.tmp`), synced, then
/// renamed into place, so a reader never sees a half-written file. On error the temporary file is
/// removed; a killed run's leftovers are removed by [`remove_stale_temps`] at the next run.
pub fn write_atomic<F>(path: &Path, body: F) -> Result<()>
where
    F: FnOnce(&mut (dyn Write + Send)) -> Result<()>,
{
    write_through(path, &temp_path(path), body, |e| Error::write(path, e))
}

/// The one atomic write: `body` writes into `tmp` (in `path`'s folder), which is flushed, synced
/// and renamed over `path`; on any error `tmp` is removed. `io_error` turns an I/O error into the
/// caller's error type ([`write_atomic`] for outputs; `fetch` names its temporary files its own
/// way, so that resuming can clean them up).
pub fn write_through<E>(
    path: &Path,
    tmp: &Path,
    body: impl FnOnce(&mut (dyn Write + Send)) -> std::result::Result<(), E>,
    io_error: impl Fn(std::io::Error) -> E,
) -> std::result::Result<(), E> {
    let result =
        write_synced(tmp, body, &io_error).and_then(|()| fs::rename(tmp, path).map_err(&io_error));
    if result.is_err() {
        let _ = fs::remove_file(tmp);
    }
    result
}

/// `body` written into `tmp` through a buffer, flushed and synced: the first half of
/// [`write_through`] and all of [`stage`].
fn write_synced<E>(
    tmp: &Path,
    body: impl FnOnce(&mut (dyn Write + Send)) -> std::result::Result<(), E>,
    io_error: &impl Fn(std::io::Error) -> E,
) -> std::result::Result<(), E> {
    let file = fs::File::create(tmp).map_err(io_error)?;
    let mut w = BufWriter::new(file);
    body(&mut w)?;
    let file = w.into_inner().map_err(|e| io_error(e.into_error()))?;
    file.sync_all().map_err(io_error)
}

/// An output written ahead of the others and put in place with them: its temporary file
/// ([`temp_path`]) is written, flushed and synced by [`stage`], and renamed over the output only
/// by [`Staged::commit`]; dropped uncommitted (the run failed first), it is removed. Until then
/// the output folder shows the previous run's file, as for [`write_atomic`].
#[derive(Debug)]
pub struct Staged {
    path: PathBuf,
    tmp: Option<PathBuf>,
}

/// Writes `path`'s temporary file now, for [`Staged::commit`] later (see [`Staged`]).
pub fn stage<F>(path: &Path, body: F) -> Result<Staged>
where
    F: FnOnce(&mut (dyn Write + Send)) -> Result<()>,
{
    let tmp = temp_path(path);
    let staged = Staged {
        path: path.to_path_buf(),
        tmp: Some(tmp.clone()),
    };
    // `staged` removes the temporary file if this fails.
    write_synced(&tmp, body, &|e| Error::write(path, e))?;
    Ok(staged)
}

impl Staged {
    /// The output's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the staged file over its output.
    pub fn commit(mut self) -> Result<PathBuf> {
        if let Some(tmp) = self.tmp.take()
            && let Err(e) = fs::rename(&tmp, &self.path)
        {
            let _ = fs::remove_file(&tmp);
            return Err(Error::write(&self.path, e));
        }
        Ok(std::mem::take(&mut self.path))
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(tmp) = self.tmp.take() {
            let _ = fs::remove_file(tmp);
        }
    }
}

/// `.<name>.<pid>.tmp` beside `path`: where [`write_atomic`] and [`replace_dir`] build an output.
pub fn temp_path(path: &Path) -> PathBuf {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    dir.join(format!(".{name}.{}.tmp", std::process::id()))
}

/// Puts the folder `built` in the place of `dest` so that at every instant `dest` is either the
/// previous complete folder or the new one: on Linux by one atomic exchange (`renameat2` with
/// `RENAME_EXCHANGE`), after which the previous folder (now at `built`'s path) is removed. Where
/// the exchange is not supported, the previous folder is first renamed aside, so for a moment
/// there is no folder at `dest`, but never a partial one.
pub fn replace_dir(built: &Path, dest: &Path) -> Result<()> {
    let werr = |e: std::io::Error| Error::write(dest, e);
    if !dest.exists() {
        return fs::rename(built, dest).map_err(werr);
    }
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        if renameat_with(CWD, built, CWD, dest, RenameFlags::EXCHANGE).is_ok() {
            // `built` now names the previous folder.
            return fs::remove_dir_all(built).map_err(|e| Error::write(built, e));
        }
    }
    let old = dest.with_file_name(format!(
        ".{}.old.{}.tmp",
        dest.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    fs::rename(dest, &old).map_err(werr)?;
    if let Err(e) = fs::rename(built, dest) {
        // Put the previous folder back.
        let _ = fs::rename(&old, dest);
        return Err(werr(e));
    }
    fs::remove_dir_all(&old).map_err(|e| Error::write(&old, e))
}

/// Makes `out` ready to take outputs: refuses an `out` that is something other than a folder,
/// that lies inside one of `inputs` (the outputs would be read as part of that export by the next
/// run) or that holds one (an organisation folder, or a parent of the exports: `recommendations/`
/// would make the organisation folder unreadable, and an output could replace an input named like
/// it), creates it, refuses an output of `written` (what this run writes) whose name something
/// else takes ([`check_out_names`], [`check_own_folders`]), and only then removes stale temporary
/// files of `names` (every output's) left by a killed run (see [`remove_stale_temps`]), which it
/// returns.
pub fn prepare_out_dir(
    out: &Path,
    inputs: &[PathBuf],
    (names, written): (&[&str], &[&str]),
) -> Result<Vec<PathBuf>> {
    if let Ok(meta) = fs::metadata(out)
        && !meta.is_dir()
    {
        return Err(Error::Usage(format!(
            "--out {}: is {}, not a folder; give a folder to write the outputs into (it is created when missing)",
            out.display(),
            kind(&meta.file_type())
        )));
    }
    let out_abs = resolve(out);
    for input in inputs {
        let Ok(input_abs) = input.canonicalize() else {
            continue;
        };
        if out_abs.starts_with(&input_abs) {
            return Err(Error::Usage(format!(
                "--out {} is inside the input {}: the next run would read the outputs as part of the export; write them elsewhere",
                out.display(),
                input.display()
            )));
        }
        if input_abs.starts_with(&out_abs) {
            return Err(Error::Usage(format!(
                "--out {} holds the input {}: the outputs would mix with the exports \
                 (recommendations/ would be read back as an export, and an export named like an \
                 output would be replaced); give an --out outside the inputs",
                out.display(),
                input.display()
            )));
        }
    }
    fs::create_dir_all(out).map_err(|e| Error::write(out, e))?;
    // Refused before anything is touched, for what this run writes.
    check_out_names(out, written)?;
    check_own_folders(out, written)?;
    Ok(remove_stale_temps(out, names))
}

/// Refuses an output's name taken by something of another kind (a folder where a file is
/// written, a file where a folder is): each output replaces its predecessor atomically, but the
/// set is written one output after another, so one that cannot be replaced would fail the run
/// with some outputs new and the others from the run before. Names with an extension are files,
/// the others folders. Checked before anything is written.
fn check_out_names(out: &Path, names: &[&str]) -> Result<()> {
    for name in names {
        let path = out.join(name);
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        let folder = !name.contains('.');
        let kind_ok = if folder {
            meta.is_dir()
        } else {
            !meta.is_dir()
        };
        if !kind_ok {
            return Err(Error::Usage(format!(
                "{}: is {}, where iam-tighten writes {}; move it away or give another --out \
                 (nothing was written)",
                path.display(),
                kind(&meta.file_type()),
                if folder { "a folder" } else { "a file" }
            )));
        }
    }
    Ok(())
}

/// The file in `recommendations/` that lists the files the run put there, one path (relative to
/// the folder) a line, sorted. The next run replaces the folder whole, so it first checks that
/// the folder holds nothing else ([`check_own_folder`]): a reviewer's notes or sign-off saved in
/// it would be lost. `findings/`, a dataset engines read whole, has none: its shape is checked
/// ([`earlier_output`]).
pub const OWN_LIST: &str = ".iam-tighten-files";

/// Files a file manager leaves in any folder it shows (Finder's `.DS_Store`, Explorer's
/// `Thumbs.db` and `desktop.ini`): nothing a reviewer wrote, so not a reason to refuse.
const FILE_MANAGER_FILES: [&str; 3] = [".DS_Store", "Thumbs.db", "desktop.ini"];

/// Writes [`OWN_LIST`] into `dir`, listing every file under it.
pub fn write_own_list(dir: &Path) -> Result<()> {
    let mut entries = Vec::new();
    entries_under(dir, Path::new(""), &mut entries).map_err(|e| Error::write(dir, e))?;
    let mut files: Vec<String> = entries
        .into_iter()
        .filter(|(_, folder)| !folder)
        .map(|(path, _)| path)
        .collect();
    files.sort_unstable();
    let mut body = files.join("\n");
    body.push('\n');
    let path = dir.join(OWN_LIST);
    fs::write(&path, body).map_err(|e| Error::write(&path, e))
}

/// Every entry (files, and folders as `true`; symlinks not followed, and listed as files) under
/// `root/rel`, as paths relative to `root` with `/` between their parts.
fn entries_under(root: &Path, rel: &Path, out: &mut Vec<(String, bool)>) -> std::io::Result<()> {
    for entry in fs::read_dir(root.join(rel))? {
        let entry = entry?;
        let path = rel.join(entry.file_name());
        let folder = entry.file_type()?.is_dir();
        let parts: Vec<String> = path
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        out.push((parts.join("/"), folder));
        if folder {
            entries_under(root, &path, out)?;
        }
    }
    Ok(())
}

/// Refuses to replace the output folders among `names` (the outputs this run writes into `out`;
/// names with an extension are files) when one holds a file this tool did not write there
/// ([`check_own_folder`]). Called before anything is written.
pub fn check_own_folders(out: &Path, names: &[&str]) -> Result<()> {
    for name in names.iter().filter(|n| !n.contains('.')) {
        let path = out.join(name);
        if fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
            check_own_folder(&path, true)?;
        }
    }
    Ok(())
}

/// Refuses to replace the output folder `path` when it holds a file or folder this tool did not
/// write there: a file its [`OWN_LIST`] does not name (or a folder holding none it names), or,
/// in a folder without the list (written before it was), one not shaped like that folder's
/// outputs. A file manager's own files are ignored ([`FILE_MANAGER_FILES`]). Checked before
/// anything is written (`before`), and again just before the folder is replaced (a note saved
/// while the run went on).
pub fn check_own_folder(path: &Path, before: bool) -> Result<()> {
    let list = path.join(OWN_LIST);
    let listed: Option<std::collections::HashSet<String>> = match fs::symlink_metadata(&list) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        _ => {
            // `--recommendations all` at 1,000,000 roles lists ~10 million files, ~0.6 GB.
            let text = text(&list, read_regular(&list)?)?;
            Some(text.lines().map(str::to_string).collect())
        }
    };
    let mut entries = Vec::new();
    entries_under(path, Path::new(""), &mut entries).map_err(|e| Error::read(path, e))?;
    entries.sort_unstable();
    // The folders that hold a listed file.
    let parents: std::collections::HashSet<&str> = listed
        .iter()
        .flatten()
        .flat_map(|f| f.match_indices('/').map(move |(i, _)| &f[..i]))
        .collect();
    let foreign: Vec<&String> = entries
        .iter()
        .filter(|(entry, folder)| {
            let name = entry.rsplit('/').next().unwrap_or(entry);
            if !folder && FILE_MANAGER_FILES.contains(&name) {
                return false;
            }
            match &listed {
                Some(_) if *folder => !parents.contains(entry.as_str()),
                Some(listed) => entry != OWN_LIST && !listed.contains(entry),
                None => !earlier_output(path, entry, *folder),
            }
        })
        .map(|(entry, _)| entry)
        .collect();
    let Some(first) = foreign.first() else {
        return Ok(());
    };
    Err(Error::Usage(format!(
        "{}: holds {} file(s) or folder(s) iam-tighten did not write there ({}{}): the folder is \
         replaced whole on every run, so they would be lost; move them out of it, or give another \
         --out ({})",
        path.display(),
        foreign.len(),
        path.join(first).display(),
        if foreign.len() > 1 { ", ..." } else { "" },
        if before {
            "nothing was written"
        } else {
            "saved while this run went on: the folder was kept as it was, and the run's other \
             outputs may be new; run again once they are moved"
        }
    )))
}

/// Whether `entry` (relative to the output folder `dir`; a folder when `folder`) is shaped like
/// what a run writes there without [`OWN_LIST`] (every run, for `findings/`; an earlier version,
/// for `recommendations/`): the recommendations' three top files, and the principals' folders
/// (`<12-digit account>/<kind>/<name>/`) with their `README.md` and policy files (`inline-`,
/// `managed-`, `aws-` … `.json`); or the dataset's parts (`account_id=<12 digits>/part-0.parquet`).
fn earlier_output(dir: &Path, entry: &str, folder: bool) -> bool {
    let parts: Vec<&str> = entry.split('/').collect();
    let account = |a: &str| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit());
    let kind = |k: &str| ["role", "user", "group", "permission_set"].contains(&k);
    match dir.file_name().and_then(|n| n.to_str()) {
        Some("recommendations") => match (parts.as_slice(), folder) {
            ([top], false) => {
                ["summary.json", "actions.csv", "apply-recommendation.sh"].contains(top)
            }
            ([a], true) => account(a),
            ([a, k], true) | ([a, k, _], true) => account(a) && kind(k),
            ([a, k, _, name], false) => {
                let policy = ["inline-", "managed-", "aws-"]
                    .iter()
                    .any(|p| name.starts_with(p))
                    && name.ends_with(".json");
                account(a) && kind(k) && (*name == "README.md" || policy)
            }
            _ => false,
        },
        Some("findings") => match (parts.as_slice(), folder) {
            ([part], true) => part.strip_prefix("account_id=").is_some_and(account),
            ([part, "part-0.parquet"], false) => {
                part.strip_prefix("account_id=").is_some_and(account)
            }
            _ => false,
        },
        _ => false,
    }
}

/// `path` made absolute with symlinks resolved, for the part of it that exists.
pub(crate) fn resolve(path: &Path) -> PathBuf {
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    loop {
        if let Ok(abs) = existing.canonicalize() {
            return rest.iter().rev().fold(abs, |p, part| p.join(part));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = if parent.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    parent.to_path_buf()
                };
            }
            _ => return path.to_path_buf(),
        }
    }
}

/// Removes what a killed run of this tool left in `dir`: `.<name>.<pid>.tmp` files and folders
/// (see [`temp_path`]) for one of `names`, whose process is no longer running. Anything else, and
/// the temporary files of a run still going on, are left alone. Returns what was removed.
pub fn remove_stale_temps(dir: &Path, names: &[&str]) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else {
            continue;
        };
        let Some(pid) = stale_temp_pid(file_name, names) else {
            continue;
        };
        if pid == std::process::id() || process_alive(pid) {
            continue;
        }
        let path = entry.path();
        // `symlink_metadata`: a symlink planted under a temp name is removed, not followed.
        let is_dir = fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
        let gone = if is_dir {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        if gone.is_ok() {
            removed.push(path);
        }
    }
    removed.sort();
    removed
}

/// The pid in `.<name>.<pid>.tmp` or `.<name>.old.<pid>.tmp` when `name` is one of `names`.
fn stale_temp_pid(file_name: &str, names: &[&str]) -> Option<u32> {
    let rest = file_name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (stem, pid) = rest.rsplit_once('.')?;
    let stem = stem.strip_suffix(".old").unwrap_or(stem);
    if !names.contains(&stem) || pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

/// Whether a process with this id is running (Unix: signal 0). Elsewhere: assume it is, so that
/// nothing is removed that might be in use.
fn process_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Some(pid) = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        else {
            return false;
        };
        match rustix::process::test_kill_process(pid) {
            Ok(()) => true,
            // Exists, but belongs to someone else.
            Err(e) => e == rustix::io::Errno::PERM,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A staged output shows the previous file until it is committed; dropped uncommitted, or
    /// when its body fails, it leaves the previous file and no temporary file.
    #[test]
    fn staged_outputs_replace_the_previous_file_only_when_committed() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("services.csv");
        let temps = || {
            fs::read_dir(tmp.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".tmp"))
                .collect::<Vec<_>>()
        };
        fs::write(&out, "previous").unwrap();
        let body =
            |w: &mut (dyn Write + Send)| w.write_all(b"new").map_err(|e| Error::write(&out, e));

        let staged = stage(&out, body).unwrap();
        assert_eq!(staged.path(), out);
        assert_eq!(fs::read_to_string(&out).unwrap(), "previous");
        assert_eq!(temps().len(), 1, "written aside, synced");
        drop(staged);
        assert_eq!(fs::read_to_string(&out).unwrap(), "previous");
        assert!(temps().is_empty(), "{:?}", temps());

        let failed = stage(&out, |w| {
            w.write_all(b"half").map_err(|e| Error::write(&out, e))?;
            Err(Error::write(&out, std::io::Error::other("disk full")))
        });
        let e = failed.unwrap_err();
        let source = std::error::Error::source(&e).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("disk full"), "{e}");
        assert_eq!(fs::read_to_string(&out).unwrap(), "previous");
        assert!(temps().is_empty(), "{:?}", temps());

        let staged = stage(&out, body).unwrap();
        assert_eq!(staged.commit().unwrap(), out);
        assert_eq!(fs::read_to_string(&out).unwrap(), "new");
        assert!(temps().is_empty(), "{:?}", temps());
    }

    /// A commit that cannot rename (the output's place is a folder) is an error naming the
    /// output, and removes the temporary file.
    #[test]
    fn a_failed_commit_names_the_output_and_cleans_up() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("services.csv");
        let staged = stage(&out, |w| {
            w.write_all(b"x").map_err(|e| Error::write(&out, e))
        })
        .unwrap();
        fs::create_dir(&out).unwrap();
        fs::write(out.join("keep"), "").unwrap();
        let e = staged.commit().unwrap_err().to_string();
        assert!(e.contains("services.csv"), "{e}");
        let left: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["services.csv"]);
    }

    #[test]
    fn refuses_what_is_not_a_regular_file() {
        let tmp = tempfile::tempdir().unwrap();
        let e = read_regular(tmp.path()).unwrap_err().to_string();
        assert!(e.contains("not a regular file but a folder"), "{e}");
        #[cfg(unix)]
        {
            let link = tmp.path().join("zero.json");
            std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
            let e = read_regular(&link).unwrap_err().to_string();
            assert!(e.contains("a device") && e.contains("zero.json"), "{e}");
        }
    }

    #[test]
    fn refuses_files_over_the_cap_without_reading_them() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("big.json");
        fs::write(&p, b"12345").unwrap();
        assert_eq!(read_regular_capped(&p, 5).unwrap(), b"12345");
        let e = read_regular_capped(&p, 4).unwrap_err().to_string();
        assert!(e.contains("5 bytes") && e.contains("4-byte limit"), "{e}");
        // A sparse file beyond the real cap is refused from its size alone (instantly).
        let f = fs::File::create(&p).unwrap();
        f.set_len(MAX_INPUT_BYTES + 1).unwrap();
        let e = read_regular(&p).unwrap_err().to_string();
        assert!(e.contains("4294967297 bytes"), "{e}");
    }

    #[test]
    fn text_drops_a_byte_order_mark_and_names_bad_utf8() {
        let p = Path::new("x.json");
        assert_eq!(text(p, b"\xef\xbb\xbf{}".to_vec()).unwrap(), "{}");
        let e = text(p, b"{\xff}".to_vec()).unwrap_err().to_string();
        assert!(e.contains("byte offset 1"), "{e}");
    }

    #[test]
    fn write_atomic_leaves_no_temp_file_on_error() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("out.csv");
        fs::write(&p, "old").unwrap();
        let r = write_atomic(&p, |_| Err(Error::Usage("boom".into())));
        assert!(r.is_err());
        assert_eq!(fs::read_to_string(&p).unwrap(), "old");
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
        write_atomic(&p, |w| w.write_all(b"new").map_err(|e| Error::write(&p, e))).unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "new");
    }

    /// A file under /proc gives a size of 0 and holds more (`/proc/self/pagemap` gigabytes):
    /// refused after one byte, not read to the cap.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_file_holding_more_than_its_size_is_refused() {
        let e = read_regular(Path::new("/proc/self/status"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("holds more than the 0 bytes"), "{e}");
        // Its reads must be whole entries: refused at the first.
        assert!(read_regular(Path::new("/proc/self/pagemap")).is_err());
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.json");
        fs::write(&file, "{}").unwrap();
        assert_eq!(read_regular(&file).unwrap(), b"{}");
    }

    #[test]
    fn replace_dir_swaps_whole_folders() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("recommendations");
        let built = tmp.path().join(".recommendations.1.tmp");
        fs::create_dir_all(dest.join("a")).unwrap();
        fs::write(dest.join("a/old.txt"), "old").unwrap();
        fs::create_dir_all(built.join("b")).unwrap();
        fs::write(built.join("b/new.txt"), "new").unwrap();
        replace_dir(&built, &dest).unwrap();
        assert!(dest.join("b/new.txt").exists());
        assert!(!dest.join("a").exists());
        assert!(!built.exists());
        // Into an empty place, too.
        let other = tmp.path().join("fresh");
        fs::create_dir_all(&built).unwrap();
        replace_dir(&built, &other).unwrap();
        assert!(other.is_dir() && !built.exists());
    }

    #[test]
    fn out_dir_must_be_a_folder_outside_the_inputs() {
        let tmp = tempfile::tempdir().unwrap();
        let input = tmp.path().join("org");
        fs::create_dir_all(input.join("111111111111")).unwrap();
        let file = tmp.path().join("file.txt");
        fs::write(&file, "x").unwrap();
        let e = prepare_out_dir(&file, &[], (&[], &[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("is a regular file, not a folder"), "{e}");
        #[cfg(unix)]
        {
            let e = prepare_out_dir(Path::new("/dev/null"), &[], (&[], &[]))
                .unwrap_err()
                .to_string();
            assert!(e.contains("is a device, not a folder"), "{e}");
        }
        for out in [input.join("report"), input.clone(), input.join("a/b/c")] {
            let e = prepare_out_dir(&out, std::slice::from_ref(&input), (&[], &[]))
                .unwrap_err()
                .to_string();
            assert!(e.contains("is inside the input"), "{e}");
        }
        // An `out` that holds an input: its organisation folder, a parent of that, a link to it.
        let parent = tmp.path().to_path_buf();
        let export = input.join("111111111111");
        for (out, input) in [(&input, &export), (&parent, &export), (&parent, &input)] {
            let e = prepare_out_dir(out, std::slice::from_ref(input), (&[], &[]))
                .unwrap_err()
                .to_string();
            assert!(e.contains("holds the input"), "{e}");
        }
        #[cfg(unix)]
        {
            let link = tmp.path().join("link");
            std::os::unix::fs::symlink(&input, &link).unwrap();
            let e = prepare_out_dir(&link, std::slice::from_ref(&export), (&[], &[]))
                .unwrap_err()
                .to_string();
            assert!(e.contains("holds the input"), "{e}");
        }
        let ok = tmp.path().join("report");
        prepare_out_dir(&ok, std::slice::from_ref(&input), (&[], &[])).unwrap();
        assert!(ok.is_dir());
    }

    /// An output's name taken by the wrong kind is refused before anything is written: the
    /// outputs of one run are never mixed with those of the run before.
    #[test]
    fn an_output_name_taken_by_another_kind_is_refused_up_front() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("report");
        let names = ["report.html", "findings.csv", "recommendations"];
        fs::create_dir_all(out.join("recommendations")).unwrap();
        fs::write(out.join("report.html"), "old").unwrap();
        // The right kinds: fine.
        prepare_out_dir(&out, &[], (&names, &names)).unwrap();
        fs::create_dir(out.join("findings.csv")).unwrap();
        let e = prepare_out_dir(&out, &[], (&names, &names))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("findings.csv: is a folder, where iam-tighten writes a file"),
            "{e}"
        );
        fs::remove_dir(out.join("findings.csv")).unwrap();
        fs::remove_dir(out.join("recommendations")).unwrap();
        fs::write(out.join("recommendations"), "x").unwrap();
        let e = prepare_out_dir(&out, &[], (&names, &names))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("recommendations: is a regular file, where iam-tighten writes a folder"),
            "{e}"
        );
        // Nothing the run would replace was touched.
        assert_eq!(fs::read_to_string(out.join("report.html")).unwrap(), "old");
    }

    #[test]
    fn stale_temps_of_dead_runs_only() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        // A pid that cannot be running (above Linux's pid_max).
        let dead = 4_194_304 + 17;
        fs::write(d.join(format!(".findings.csv.{dead}.tmp")), "x").unwrap();
        fs::create_dir_all(d.join(format!(".recommendations.{dead}.tmp/a"))).unwrap();
        fs::create_dir_all(d.join(format!(".recommendations.old.{dead}.tmp"))).unwrap();
        // Ours (alive), not ours, and not a temp name: kept.
        let me = std::process::id();
        fs::write(d.join(format!(".findings.csv.{me}.tmp")), "x").unwrap();
        fs::write(d.join(format!(".notes.txt.{dead}.tmp")), "x").unwrap();
        fs::write(d.join(".findings.csv.tmp"), "x").unwrap();
        let removed = remove_stale_temps(d, &["findings.csv", "recommendations"]);
        assert_eq!(removed.len(), 3, "{removed:?}");
        assert_eq!(fs::read_dir(d).unwrap().count(), 3);
    }
}
