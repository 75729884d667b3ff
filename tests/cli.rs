//! Command-line cases as files (the typos / trycmd style): each `tests/cmd/<case>.toml` names the
//! arguments and the exit status; `<case>.stderr` and `<case>.stdout`, when present, pin what the
//! user sees, as text a reviewer reads in a diff.
//!
//! ```toml
//! # One line on what the case checks.
//! args = ["report", "{root}/sample-data/2026-q4", "--out", "{tmp}/out"]
//! status = 2
//! copy = "sample-data/2026-q4"   # optional: copied to {tmp}/in first
//! setup = "mkfifo in/x.json"     # optional: bash, run in {tmp} (after `copy`)
//! timeout = 120                  # optional, seconds (default 180): a hang is a failure
//! check = "test -s out/x.csv"    # optional: bash, run in {tmp} afterwards, must exit 0
//!                                # ({tmp}/stdout and {tmp}/stderr hold what the command printed)
//! ```
//!
//! `{root}` is the repository, `{tmp}` a fresh folder per case (also the working directory),
//! `{bin}` the binary under test.
//! In expected output, `[..]` matches any text within a line and a line `...` any number of
//! lines. `IAM_TIGHTEN_BLESS=1 cargo test cli_cases` rewrites the expected files that exist from
//! the actual output (review the diff before committing).

use crate::common::copy_dir;
use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    args: Vec<String>,
    status: i32,
    #[serde(default)]
    copy: Option<String>,
    #[serde(default)]
    setup: Option<String>,
    #[serde(default)]
    timeout: Option<u64>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    /// Bash run in {tmp} after the command; it must exit 0 (e.g. checks on the files written).
    #[serde(default)]
    check: Option<String>,
}

/// The binary under test: this build's, or `IAM_TIGHTEN_BIN` (to show that a case fails on an
/// older build).
fn bin() -> String {
    std::env::var("IAM_TIGHTEN_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_iam-tighten").into())
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Whether `actual` matches `expected` (see the module docs for `[..]` and `...`).
fn matches(expected: &str, actual: &str) -> bool {
    let exp: Vec<&str> = expected.lines().collect();
    let act: Vec<&str> = actual.lines().collect();
    match_lines(&exp, &act)
}

fn match_lines(exp: &[&str], act: &[&str]) -> bool {
    match exp.split_first() {
        None => act.is_empty(),
        Some((&"...", rest)) => (0..=act.len()).any(|skip| match_lines(rest, &act[skip..])),
        Some((line, rest)) => {
            !act.is_empty() && match_line(line, act[0]) && match_lines(rest, &act[1..])
        }
    }
}

fn match_line(exp: &str, act: &str) -> bool {
    let parts: Vec<&str> = exp.split("[..]").collect();
    if parts.len() == 1 {
        return exp == act;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !act.starts_with(first) || !act[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &act[first.len()..act.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

/// Runs one case; returns a description of every difference.
fn run_case(toml_path: &Path, bless: bool) -> Vec<String> {
    let name = toml_path
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let case: Case = toml::from_str(&fs::read_to_string(toml_path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", toml_path.display()));
    let tmp = tempfile::tempdir().unwrap();
    let tmp_path = tmp.path().canonicalize().unwrap();
    let root = root();
    let subst = |s: &str| {
        s.replace("{root}", &root.to_string_lossy())
            .replace("{tmp}", &tmp_path.to_string_lossy())
            .replace("{bin}", &bin())
    };
    if let Some(src) = &case.copy {
        copy_dir(&root.join(src), &tmp_path.join("in"));
    }
    if let Some(script) = &case.setup {
        let ok = Command::new("bash")
            .args(["-euo", "pipefail", "-c", script])
            .current_dir(&tmp_path)
            .env("ROOT", &root)
            .envs(case.env.iter().map(|(k, v)| (k, subst(v))))
            .status()
            .unwrap()
            .success();
        assert!(ok, "{name}: setup failed");
    }
    let mut cmd = Command::new(bin());
    cmd.args(case.args.iter().map(|a| subst(a)))
        .current_dir(&tmp_path)
        .env_remove("IAM_TIGHTEN_TIMINGS")
        .envs(case.env.iter().map(|(k, v)| (k, subst(v))))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    // Read both pipes on threads so a chatty command cannot block on a full pipe.
    let mut out_pipe = child.stdout.take().unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out_pipe.read_to_end(&mut v);
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err_pipe.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + Duration::from_secs(case.timeout.unwrap_or(180));
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let normalise = |bytes: Vec<u8>| {
        String::from_utf8_lossy(&bytes)
            .replace(&*tmp_path.to_string_lossy(), "{tmp}")
            .replace(&*root.to_string_lossy(), "{root}")
    };
    let stdout = normalise(out_t.join().unwrap());
    let stderr = normalise(err_t.join().unwrap());
    let mut problems = Vec::new();
    match status {
        None => problems.push(format!("{name}: still running after the timeout (a hang)")),
        Some(s) if s.code() != Some(case.status) => problems.push(format!(
            "{name}: exit status {:?}, expected {}\n--- stderr:\n{stderr}",
            s.code(),
            case.status
        )),
        Some(_) => {}
    }
    fs::write(tmp_path.join("stdout"), &stdout).unwrap();
    fs::write(tmp_path.join("stderr"), &stderr).unwrap();
    if let Some(script) = &case.check {
        let out = Command::new("bash")
            .args(["-euo", "pipefail", "-c", script])
            .current_dir(&tmp_path)
            .env("ROOT", &root)
            .envs(case.env.iter().map(|(k, v)| (k, subst(v))))
            .output()
            .unwrap();
        if !out.status.success() {
            problems.push(format!(
                "{name}: check failed: {script}\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    for (ext, actual) in [("stdout", &stdout), ("stderr", &stderr)] {
        let path = toml_path.with_extension(ext);
        let Ok(expected) = fs::read_to_string(&path) else {
            continue;
        };
        if !matches(&expected, actual) {
            if bless {
                fs::write(&path, actual).unwrap();
            }
            problems.push(format!(
                "{name}: {ext} differs\n--- expected ({}):\n{expected}\n--- actual:\n{actual}",
                path.display()
            ));
        }
    }
    problems
}

#[test]
fn cli_cases() {
    let dir = root().join("tests/cmd");
    let mut cases: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 10,
        "only {} cases in {}",
        cases.len(),
        dir.display()
    );
    let only = std::env::var("IAM_TIGHTEN_CASE").ok();
    let bless = std::env::var_os("IAM_TIGHTEN_BLESS").is_some();
    let problems: Vec<String> = cases
        .iter()
        .filter(|p| {
            only.as_deref().is_none_or(|o| {
                p.file_stem()
                    .is_some_and(|s| s.to_string_lossy().contains(o))
            })
        })
        .flat_map(|p| run_case(p, bless))
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn wildcard_matching() {
    assert!(matches("a [..] c\n", "a b c\n"));
    assert!(matches("a [..]\n...\nz\n", "a b\nx\ny\nz\n"));
    assert!(matches("...\n", ""));
    assert!(!matches("a\n", "a\nb\n"));
    assert!(!matches("a [..] c\n", "a b d\n"));
    assert!(matches("[..]x[..]y\n", "1x2y\n"));
    assert!(!matches("[..]x[..]y\n", "1y2x\n"));
}

/// On a terminal, `report` draws a progress line on stderr (issue 16); off a terminal it draws
/// nothing, and either way the outputs are the same bytes. `script` (util-linux) gives the run a
/// pseudo-terminal.
#[test]
fn progress_line_only_on_a_terminal_and_never_in_outputs() {
    let have_script = Command::new("sh")
        .args(["-c", "command -v script"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_script {
        eprintln!("skipped: no `script` (util-linux) to give the run a terminal");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let sample = root().join("sample-data/2026-q4");
    let tty_out = tmp.path().join("tty");
    let pipe_out = tmp.path().join("pipe");
    let log = tmp.path().join("typescript");
    let cmd = format!(
        "{} report {} --out {}",
        bin(),
        sample.display(),
        tty_out.display()
    );
    let ok = Command::new("script")
        .args(["-qec", &cmd])
        .arg(&log)
        .env_remove("IAM_TIGHTEN_NO_PROGRESS")
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let seen = String::from_utf8_lossy(&fs::read(&log).unwrap()).into_owned();
    assert!(
        seen.contains("iam-tighten report: reading the exports"),
        "no progress line on a terminal:\n{seen}"
    );
    let piped = Command::new(bin())
        .args(["report"])
        .arg(&sample)
        .arg("--out")
        .arg(&pipe_out)
        .output()
        .unwrap();
    assert!(piped.status.success());
    let err = String::from_utf8_lossy(&piped.stderr);
    assert!(
        !err.contains("reading the exports") && !err.contains('\r') && !err.contains('\u{1b}'),
        "progress drawn off a terminal:\n{err}"
    );
    for name in [
        "report.html",
        "findings.csv",
        "decisions.csv",
        "report.json",
    ] {
        assert_eq!(
            fs::read(tty_out.join(name)).unwrap(),
            fs::read(pipe_out.join(name)).unwrap(),
            "{name} differs between a terminal run and a piped run"
        );
    }
}

/// The summary `report` prints on stderr says the numbers report.json holds, and calls the
/// per-sensitivity counts what they are: the removable part of the unused total (the sample's
/// Identity Center and service-linked roles hold unused permissions that no IAM change removes,
/// so the counts add up to less than the total).
#[test]
fn stderr_summary_is_the_reports_numbers() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let run = Command::new(bin())
        .arg("report")
        .arg(root().join("sample-data/2026-q4"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("report.json")).unwrap()).unwrap();
    // As the summary prints it: thousands separated by commas.
    let n = |v: &serde_json::Value| iam_tighten::model::grouped(v.as_u64().unwrap());
    let t = &json["summary"]["totals"];
    let totals = format!(
        "{} granted, {} used, {} unused, {} unknown, {} excluded",
        n(&t["granted"]),
        n(&t["used"]),
        n(&t["unused"]),
        n(&t["unknown"]),
        n(&t["excluded"])
    );
    assert!(err.contains(&totals), "no `{totals}` in:\n{err}");
    let s = &json["summary"]["unused_by_sensitivity"];
    let removable = format!(
        "of these unused, removable by sensitivity (see the report's Summary): critical {}, high {}, medium {}, low {}\n",
        n(&s["critical"]),
        n(&s["high"]),
        n(&s["medium"]),
        n(&s["low"])
    );
    assert!(err.contains(&removable), "no `{removable}` in:\n{err}");
    let sum: u64 = ["critical", "high", "medium", "low"]
        .iter()
        .map(|k| s[k].as_u64().unwrap())
        .sum();
    assert!(
        0 < sum && sum < t["unused"].as_u64().unwrap(),
        "the sample's removable counts ({sum}) are not a proper part of its unused total"
    );
}

/// `diff`'s stderr line on the IAM Identity Center permission sets is diff.json's
/// `permission_sets`: how many, how many grant new actions, and their roles' unused critical and
/// high permissions summed on each side.
#[test]
fn diff_stderr_rolls_up_the_permission_sets_as_diff_json() {
    let run = crate::diff::diff("sample-data/2026-q3", "sample-data/2026-q4", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let err = &run.stderr;
    let json: serde_json::Value = serde_json::from_str(&run.file("diff.json")).unwrap();
    let sets = json["permission_sets"].as_array().unwrap();
    assert!(!sets.is_empty(), "the sample has permission sets");
    let n = iam_tighten::model::grouped;
    let side = |which: &str| -> u64 {
        sets.iter()
            .map(|s| {
                let u = &s[which]["unused_by_sensitivity"];
                u["critical"].as_u64().unwrap() + u["high"].as_u64().unwrap()
            })
            .sum()
    };
    let widened = sets
        .iter()
        .filter(|s| s["newly_granted_actions"].as_u64().unwrap() > 0)
        .count() as u64;
    let line = format!(
        "iam-tighten: IAM Identity Center permission sets, their roles rolled up: {} ({} granting new actions); their roles' unused critical/high permissions: {} → {} (diff-permission-sets.csv)\n",
        n(sets.len() as u64),
        n(widened),
        n(side("old")),
        n(side("new"))
    );
    assert!(err.contains(&line), "no `{line}` in:\n{err}");
}
