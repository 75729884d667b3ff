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
        .env_remove("GLIBC_TUNABLES")
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

/// The allocator's parameters (`tune_allocator` in src/main.rs) change no byte: a run with
/// glibc's own parameters (a `GLIBC_TUNABLES` naming a malloc setting leaves them alone) writes
/// the same files as a run with ours; `IAM_TIGHTEN_TIMINGS` says which parameters each run had.
#[test]
fn outputs_do_not_depend_on_the_allocator_parameters() {
    let args = ["report", "sample-data/2026-q4", "--recommendations", "all"];
    let timings = ("IAM_TIGHTEN_TIMINGS", "1");
    let (ours, said) = run_with(&args, false, &[timings]);
    let glibc = ("GLIBC_TUNABLES", "glibc.malloc.arena_max=8");
    let (theirs, said_glibc) = run_with(&args, false, &[timings, glibc]);
    if cfg!(all(target_os = "linux", target_env = "gnu")) {
        assert!(
            said.contains(" arenas, mmap from 4 MiB, trim past 32 MiB"),
            "{said}"
        );
        assert!(
            said_glibc.contains("allocator glibc, as GLIBC_TUNABLES sets it"),
            "{said_glibc}"
        );
        // What the heap held at each point where memory is given back, in the stages' order
        // (a number of MiB each); none when glibc is left alone (nothing is given back).
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
                "before_outputs"
            ],
            "{said}"
        );
        assert!(!said_glibc.contains("\nheap "), "{said_glibc}");
    }
    // `diff` keeps glibc's own parameters.
    let diff = ["diff", "sample-data/2026-q3", "sample-data/2026-q4"];
    let (_, said_diff) = run_with(&diff, false, &[timings]);
    assert!(
        said_diff.contains("allocator its own parameters (only `report` sets them)"),
        "{said_diff}"
    );
    let (ours, theirs) = (tree(ours.path()), tree(theirs.path()));
    assert!(ours.len() >= 3, "{ours:?}");
    assert_eq!(
        ours, theirs,
        "the outputs differ with glibc's own parameters"
    );
}
