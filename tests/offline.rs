//! "`report` and `diff` never touch the network" (README), checked on the system calls: each
//! command runs under `strace -f -e trace=%network` and may make no network system call at all
//! (only the `socketpair(AF_UNIX, …)` a runtime uses to wake its own threads, which never leaves
//! the process). Needs strace (Debian package `strace`); `.ci/run` installs it and sets
//! `IAM_TIGHTEN_REQUIRE_STRACE=1` so that the test cannot skip there.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn strace_available() -> bool {
    let found = Command::new("strace").arg("-V").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("IAM_TIGHTEN_REQUIRE_STRACE").is_none(),
            "strace is required (IAM_TIGHTEN_REQUIRE_STRACE is set) but not installed"
        );
        eprintln!("skipping: strace is not installed");
    }
    found
}

/// The network system calls a command made (one line each, as strace prints them).
fn network_calls(log_dir: &Path, args: &[&str]) -> Vec<String> {
    let log = log_dir.join("strace.log");
    let status = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=%network", "-o"])
        .arg(&log)
        .arg(env!("CARGO_BIN_EXE_iam-tighten"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let text = std::fs::read_to_string(&log).unwrap();
    text.lines()
        .filter(|l| !l.contains("socketpair(AF_UNIX"))
        .map(str::to_string)
        .collect()
}

#[test]
fn report_diff_and_expand_make_no_network_system_call() {
    if !strace_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("report");
    let diff = tmp.path().join("diff");
    let runs: [Vec<&str>; 3] = [
        vec![
            "report",
            "sample-data/2026-q4",
            "--out",
            out.to_str().unwrap(),
            "--parquet-dataset",
        ],
        vec![
            "diff",
            "sample-data/2026-q3",
            "sample-data/2026-q4",
            "--out",
            diff.to_str().unwrap(),
        ],
        vec!["expand", "s3:Get*"],
    ];
    for args in runs {
        let calls = network_calls(tmp.path(), &args);
        assert!(calls.is_empty(), "{args:?} made network calls: {calls:#?}");
    }
}

#[test]
fn the_check_sees_network_calls() {
    // The same tracing does see a connection attempt (so an empty log means something).
    if !strace_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("strace.log");
    let _ = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=%network", "-o"])
        .arg(&log)
        .args(["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9 || true"])
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("connect("), "{text}");
}
