//! Outputs do not depend on the number of threads (issue 18: "byte-identical between 1 and 2
//! threads"): `report` and `diff` run pinned to one core (`taskset -c 0`, which is what
//! `available_parallelism` and polars' pool size follow, plus `POLARS_MAX_THREADS=1`) write the
//! same bytes, file for file, as runs on every core of the machine. Needs `taskset`
//! (util-linux, on every Debian) and at least two cores to mean something; says so otherwise.

use std::path::Path;

use crate::common::tree;
use assert_cmd::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs iam-tighten with `args` and `--out` a new folder, on one core or on all of them.
fn run(args: &[&str], one_core: bool) -> tempfile::TempDir {
    run_with(args, one_core, &[]).0
}

/// [`run`] with `env` set; also returns the run's stderr.
fn run_with(args: &[&str], one_core: bool, env: &[(&str, &str)]) -> (tempfile::TempDir, String) {
    let out = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("iam-tighten");
    let mut c = if one_core {
        let mut c = Command::new("taskset");
        c.arg("-c").arg("0").arg(bin).env("POLARS_MAX_THREADS", "1");
        c
    } else {
        Command::new(bin)
    };
    c.current_dir(root())
        .env_remove("_RJEM_MALLOC_CONF")
        .args(args)
        .arg("--out")
        .arg(out.path())
        .env("IAM_TIGHTEN_NO_PROGRESS", "1")
        .envs(env.iter().copied());
    let done = c.assert().success();
    let stderr = String::from_utf8_lossy(&done.get_output().stderr).into_owned();
    (out, stderr)
}

fn can_pin() -> bool {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let taskset = std::process::Command::new("taskset")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if cores < 2 || !taskset {
        eprintln!("SKIP: needs taskset and 2 cores (cores: {cores}, taskset: {taskset})");
        return false;
    }
    true
}

fn same_on_one_and_all_cores(args: &[&str]) {
    if !can_pin() {
        return;
    }
    let one = tree(run(args, true).path());
    let all = tree(run(args, false).path());
    assert!(one.len() >= 3, "{one:?}");
    assert_eq!(
        one.keys().collect::<Vec<_>>(),
        all.keys().collect::<Vec<_>>()
    );
    for (name, digest) in &one {
        assert_eq!(
            Some(digest),
            all.get(name),
            "{name} differs between 1 and all cores"
        );
    }
}

#[test]
fn report_is_the_same_on_one_core_and_on_all() {
    same_on_one_and_all_cores(&[
        "report",
        "sample-data/2026-q4",
        "--parquet-dataset",
        "--recommendations",
        "all",
    ]);
}

#[test]
fn diff_is_the_same_on_one_core_and_on_all() {
    same_on_one_and_all_cores(&[
        "diff",
        "sample-data/2026-q3",
        "sample-data/2026-q4",
        "--include-unchanged",
    ]);
}

/// The allocator's parameters (`allocator` in src/main.rs) change no byte: a run with other
/// jemalloc options (`_RJEM_MALLOC_CONF`, read after ours, and then nothing is purged between
/// stages) writes the same files as a run with ours; `IAM_TIGHTEN_TIMINGS` says which each had,
/// as jemalloc itself reports them (so a build where our options did not reach jemalloc fails).
#[test]
fn outputs_do_not_depend_on_the_allocator_parameters() {
    let args = ["report", "sample-data/2026-q4", "--recommendations", "all"];
    let timings = ("IAM_TIGHTEN_TIMINGS", "1");
    let (ours, said) = run_with(&args, false, &[timings]);
    let other = ("_RJEM_MALLOC_CONF", "percpu_arena:disabled,narenas:8");
    let (theirs, said_other) = run_with(&args, false, &[timings, other]);
    if cfg!(target_os = "linux") {
        assert!(
            said.lines().any(|l| l
                .starts_with("allocator jemalloc, percpu_arena percpu, narenas ")
                && l.ends_with(", dirty_decay_ms 1000, purged between stages")),
            "{said}"
        );
        assert!(
            said_other.contains("allocator jemalloc, as _RJEM_MALLOC_CONF sets it"),
            "{said_other}"
        );
        // What the heap held at each point where memory is given back, in the stages' order
        // (a number of MiB each); none when the options are the environment's (nothing is
        // purged then).
        let stages: Vec<&str> = said
            .lines()
            .filter_map(|l| l.strip_prefix("heap "))
            .map(|l| {
                let (stage, mib) = l.split_once(' ').unwrap();
                assert!(
                    mib.strip_suffix(" MiB").unwrap().parse::<u64>().is_ok(),
                    "{l}"
                );
                stage
            })
            .collect();
        assert_eq!(
            stages,
            [
                "after_collect",
                "after_join",
                "after_analysis",
                "after_planning",
                "before_decisions",
                "after_decisions",
                "before_outputs",
                "after_outputs"
            ],
            "{said}"
        );
        assert!(!said_other.contains("\nheap "), "{said_other}");
        // `diff` runs with the same options and purges nothing.
        let diff = ["diff", "sample-data/2026-q3", "sample-data/2026-q4"];
        let (_, said_diff) = run_with(&diff, false, &[timings]);
        assert!(
            said_diff.lines().any(
                |l| l.starts_with("allocator jemalloc, percpu_arena percpu, ")
                    && l.ends_with(", nothing purged (only `report` purges between stages)")
            ),
            "{said_diff}"
        );
    }
    let (ours, theirs) = (tree(ours.path()), tree(theirs.path()));
    assert!(ours.len() >= 3, "{ours:?}");
    assert_eq!(
        ours, theirs,
        "the outputs differ with glibc's own parameters"
    );
}

/// Reading the exports' principals and policies again for planning (what `report` does past
/// `KEEP_DETAILS_BYTES` of them, forced here with `IAM_TIGHTEN_KEEP_DETAILS_BYTES=0`) changes no
/// byte: with the organisation part (its permission sets read every export, so all are read
/// again before them) and for one export alone. `IAM_TIGHTEN_TIMINGS` says how many were read
/// again. A value that is not a number of bytes is refused before anything is written.
#[test]
fn outputs_do_not_depend_on_reading_the_exports_again() {
    let timings = ("IAM_TIGHTEN_TIMINGS", "1");
    let again = ("IAM_TIGHTEN_KEEP_DETAILS_BYTES", "0");
    for (export, n) in [
        ("sample-data/2026-q4", 2),
        ("sample-data/2026-q4/111111111111", 1),
    ] {
        let args = ["report", export, "--recommendations", "all"];
        let (held, said) = run_with(&args, false, &[timings]);
        assert!(said.contains("\nexports_read_again 0\n"), "{said}");
        let (read, said) = run_with(&args, false, &[timings, again]);
        assert!(
            said.contains(&format!("\nexports_read_again {n}\n")),
            "{said}"
        );
        let (held, read) = (tree(held.path()), tree(read.path()));
        assert!(held.len() >= 3, "{held:?}");
        assert_eq!(held, read, "{export}: the outputs differ when read again");
    }
    let out = tempfile::tempdir().unwrap();
    let report = out.path().join("report");
    Command::new(assert_cmd::cargo::cargo_bin("iam-tighten"))
        .current_dir(root())
        .args(["report", "sample-data/2026-q4", "--out"])
        .arg(&report)
        .env("IAM_TIGHTEN_KEEP_DETAILS_BYTES", "lots")
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "IAM_TIGHTEN_KEEP_DETAILS_BYTES=\"lots\": expected a number of bytes",
        ));
    assert!(!report.exists());
}
