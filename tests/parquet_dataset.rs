//! `report --parquet-dataset` (issue 18): `findings/account_id=<id>/part-0.parquet`, the rows of
//! findings.parquet split by account, read back with polars on the shipped sample (two accounts
//! and an organisation part). The same dataset read by a real engine (DuckDB): `engines.rs`.

use crate::common::sha256_file as sha;
use std::fs;
use std::path::{Path, PathBuf};

use polars::prelude::*;

/// The sample's accounts with findings: its two member accounts and the management account of
/// its organisation part (whose permission sets have findings of their own).
const ACCOUNTS: [&str; 3] = ["111111111111", "222222222222", "999999999999"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `report --parquet-dataset --format csv,parquet` on `sample-data/<quarter>` into `out`;
/// returns stderr.
pub fn run_dataset_report(quarter: &str, out: &Path) -> String {
    let output = assert_cmd::Command::cargo_bin("iam-tighten")
        .unwrap()
        .current_dir(root())
        .args(["report", &format!("sample-data/{quarter}"), "--out"])
        .arg(out)
        .args(["--format", "csv,parquet", "--parquet-dataset"])
        .assert()
        .success()
        .get_output()
        .clone();
    String::from_utf8(output.stderr).unwrap()
}

/// One shared run on sample-data/2026-q4.
pub fn q4() -> &'static Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        run_dataset_report("2026-q4", d.path());
        d
    })
    .path()
}

fn read(path: &Path) -> DataFrame {
    ParquetReader::new(fs::File::open(path).unwrap())
        .finish()
        .unwrap()
}

/// Every file and folder under `dir`, relative, sorted (hidden ones too).
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            out.push(
                p.strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/"),
            );
            if p.is_dir() {
                todo.push(p);
            }
        }
    }
    out.sort();
    out
}

fn expected_tree() -> Vec<String> {
    let mut t: Vec<String> = ACCOUNTS
        .iter()
        .flat_map(|a| {
            [
                format!("account_id={a}"),
                format!("account_id={a}/part-0.parquet"),
            ]
        })
        .collect();
    t.sort();
    t
}

#[test]
fn the_dataset_is_one_folder_per_account_with_one_part() {
    assert_eq!(tree(&q4().join("findings")), expected_tree());
}

/// Each part holds exactly the rows of findings.parquet whose `account_id` is its folder's, in the
/// same (rank) order, with the same columns and types except `account_id`, which only the folder
/// name carries.
#[test]
fn each_part_is_findings_parquet_of_its_account_without_the_partition_column() {
    let whole = read(&q4().join("findings.parquet"));
    let accounts = whole.column("account_id").unwrap().str().unwrap().clone();
    let mut rows = 0;
    for account in ACCOUNTS {
        let part = read(
            &q4()
                .join("findings")
                .join(format!("account_id={account}"))
                .join("part-0.parquet"),
        );
        let mask: BooleanChunked = accounts.iter().map(|a| a == Some(account)).collect();
        let expected = whole.filter(&mask).unwrap().drop("account_id").unwrap();
        assert!(expected.height() > 0, "{account} has no findings");
        assert!(
            part.get_column_names()
                .iter()
                .all(|c| c.as_str() != "account_id"),
            "account_id is in the file of {account}"
        );
        assert_eq!(part.schema(), expected.schema(), "{account}");
        assert!(
            part.equals_missing(&expected),
            "{account}: the part differs from findings.parquet's rows\n{part}\n{expected}"
        );
        rows += part.height();
    }
    assert_eq!(rows, whole.height(), "every finding is in one part");
    // The organisation part's columns are there (the sample has one).
    assert!(
        whole
            .get_column_names()
            .iter()
            .any(|c| c.as_str() == "control_effect")
    );
}

/// `last_accessed` is an instant in UTC (Parquet `isAdjustedToUTC`), in findings.parquet and in
/// every part.
#[test]
fn last_accessed_is_a_utc_timestamp() {
    let utc = DataType::Datetime(TimeUnit::Milliseconds, Some(TimeZone::UTC));
    let part = q4()
        .join("findings")
        .join(format!("account_id={}", ACCOUNTS[0]))
        .join("part-0.parquet");
    for file in [q4().join("findings.parquet"), part] {
        let df = read(&file);
        let c = df.column("last_accessed").unwrap();
        assert_eq!(c.dtype(), &utc, "{}", file.display());
        assert!(c.null_count() < c.len(), "no time at all to check");
    }
}

#[test]
fn same_inputs_give_byte_identical_datasets() {
    let second = tempfile::tempdir().unwrap();
    run_dataset_report("2026-q4", second.path());
    let files: Vec<String> = expected_tree()
        .into_iter()
        .filter(|p| p.ends_with(".parquet"))
        .collect();
    assert_eq!(files.len(), ACCOUNTS.len());
    for f in files {
        assert_eq!(
            sha(&q4().join("findings").join(&f)),
            sha(&second.path().join("findings").join(&f)),
            "{f} differs between runs"
        );
    }
}

/// The dataset is swapped in whole: a part of an account the previous run had (or a file someone
/// put there) does not survive the next run, and a killed run's half-built dataset (a
/// `.findings.<pid>.tmp` folder of a process that is gone) is removed, with a note.
#[test]
fn a_run_replaces_the_previous_dataset_whole() {
    let out = tempfile::tempdir().unwrap();
    let old = out.path().join("findings/account_id=333333333333");
    fs::create_dir_all(&old).unwrap();
    fs::write(old.join("part-0.parquet"), "previous run").unwrap();
    // A pid above Linux's pid_max: no such process.
    let killed = out.path().join(format!(".findings.{}.tmp", 4_194_304 + 18));
    fs::create_dir_all(killed.join("account_id=111111111111")).unwrap();
    let stderr = run_dataset_report("2026-q4", out.path());
    assert_eq!(tree(&out.path().join("findings")), expected_tree());
    assert!(!killed.exists());
    assert!(
        stderr.contains(&format!(
            "removed {}, left by an interrupted run",
            killed.display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("wrote {}", out.path().join("findings").display())),
        "{stderr}"
    );
    // Nothing else is left beside the outputs.
    let hidden: Vec<String> = tree(out.path())
        .into_iter()
        .filter(|p| p.starts_with('.') || p.contains("/."))
        // The recommendations' list of what the run wrote there (`files::OWN_LIST`).
        .filter(|p| p != "recommendations/.iam-tighten-files")
        .collect();
    assert!(hidden.is_empty(), "{hidden:?}");
}

/// Without the flag no dataset is written (and the default formats do not include it).
#[test]
fn the_dataset_is_written_only_on_request() {
    let out = tempfile::tempdir().unwrap();
    assert_cmd::Command::cargo_bin("iam-tighten")
        .unwrap()
        .current_dir(root())
        .args(["report", "sample-data/2026-q4", "--out"])
        .arg(out.path())
        .args(["--format", "parquet"])
        .assert()
        .success();
    assert!(out.path().join("findings.parquet").is_file());
    assert!(!out.path().join("findings").exists());
}

/// A run that fails while writing the dataset leaves the previous one as it was, and no
/// half-built folder: here the last part cannot be written (its account id cannot name a
/// folder) after the others were.
#[test]
fn a_failed_write_leaves_the_previous_dataset_whole() {
    use iam_tighten::analysis::{self, Config, Settings};
    use iam_tighten::catalog::Catalog;
    use iam_tighten::input::{self, LoadOptions};
    use iam_tighten::report::dataset::write_findings_dataset;

    let exports = input::load_exports(
        &[root().join("sample-data/2026-q4")],
        &LoadOptions::default(),
    )
    .unwrap();
    let settings = Settings::new(90, None).unwrap();
    let mut an =
        analysis::analyze(&exports, Catalog::embedded(), &settings, &Config::default()).unwrap();
    let out = tempfile::tempdir().unwrap();
    let dest = write_findings_dataset(&an, out.path()).unwrap();
    assert_eq!(dest, out.path().join("findings"));
    let before = tree(&dest);
    assert_eq!(before.len(), 4, "{before:?}");
    let digests: Vec<String> = before
        .iter()
        .filter(|p| p.ends_with(".parquet"))
        .map(|p| sha(&dest.join(p)))
        .collect();

    for p in an
        .principals
        .iter_mut()
        .filter(|p| &*p.account_id == "222222222222")
    {
        p.account_id = "2222-broken".into();
    }
    let e = write_findings_dataset(&an, out.path())
        .unwrap_err()
        .to_string();
    assert!(e.contains("\"2222-broken\" is not 12 digits"), "{e}");
    assert_eq!(tree(&dest), before);
    let after: Vec<String> = before
        .iter()
        .filter(|p| p.ends_with(".parquet"))
        .map(|p| sha(&dest.join(p)))
        .collect();
    assert_eq!(after, digests);
    let left: Vec<String> = tree(out.path())
        .into_iter()
        .filter(|p| p.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
