//! Snapshot tests of the report for the shipped `sample-data/2026-q4` (reviewed with
//! `cargo insta review`). CSV and JSON files too large to read in a review are pinned by SHA-256
//! plus a readable excerpt; small ones are pinned whole. HTML pages are pinned as an outline a
//! reviewer can read (markup and text, without the CSS and JS, tables cut to their first rows);
//! Parquet by its columns and rows (its bytes depend on the polars version). Also checks
//! byte-identical reruns.

use crate::common::sha256_file as sha;
use std::fs;
use std::path::{Path, PathBuf};

const OUTPUTS: [&str; 8] = [
    "findings.csv",
    "findings.parquet",
    "principals.csv",
    "report.html",
    "report.json",
    "review.xlsx",
    "services.csv",
    "credentials.csv",
];

/// Outputs pinned by digest (HTML and Parquet have readable checks of their own).
const DIGESTED: [&str; 6] = [
    "decisions.csv",
    "findings.csv",
    "principals.csv",
    "report.json",
    "services.csv",
    "credentials.csv",
];

/// A readable outline of an HTML page: `<style>` and `<script>` bodies dropped (they are files
/// in templates/), one tag or text run per line, whitespace collapsed, and each `<tbody>` cut to
/// its first `rows` rows (with how many were left out).
pub fn html_outline(html: &str, rows: usize) -> String {
    let mut text = html.to_string();
    for tag in ["style", "script"] {
        let mut out = String::new();
        let mut rest = text.as_str();
        while let Some(i) = rest.find(&format!("<{tag}")) {
            let Some(j) = rest[i..].find(&format!("</{tag}>")) else {
                break;
            };
            let open_end = rest[i..].find('>').map_or(i, |k| i + k + 1);
            out.push_str(&rest[..open_end]);
            out.push_str(&format!("[{tag} omitted]"));
            rest = &rest[i + j..];
        }
        out.push_str(rest);
        text = out;
    }
    let mut lines = Vec::new();
    let mut in_body = 0usize;
    let mut row = 0usize;
    let mut skipped = 0usize;
    for piece in text.split_inclusive('>') {
        let (before, tag) = match piece.rfind('<') {
            Some(i) => (&piece[..i], &piece[i..]),
            None => (piece, ""),
        };
        let words = before.split_whitespace().collect::<Vec<_>>().join(" ");
        let tag = tag.split_whitespace().collect::<Vec<_>>().join(" ");
        if tag.starts_with("<tbody") {
            in_body += 1;
            row = 0;
        }
        if tag.starts_with("<tr") && in_body > 0 {
            row += 1;
        }
        let hide = in_body > 0 && row > rows;
        if tag.starts_with("</tbody") {
            if skipped > 0 {
                lines.push(format!("… {skipped} more rows"));
            }
            skipped = 0;
            in_body = in_body.saturating_sub(1);
        } else if hide {
            if tag.starts_with("<tr") {
                skipped += 1;
            }
            continue;
        }
        if !words.is_empty() {
            lines.push(words);
        }
        if !tag.is_empty() {
            lines.push(tag);
        }
    }
    lines.join("\n")
}

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/2026-q4")
}

fn run_report(out: &Path) {
    assert_cmd::Command::cargo_bin("iam-tighten")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["report", "sample-data/2026-q4", "--out"])
        .arg(out)
        .assert()
        .success();
}

/// One shared report run for the snapshot tests in this module.
fn report_dir() -> &'static Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        run_report(d.path());
        d
    })
    .path()
}

#[test]
fn sample_exists() {
    assert!(
        sample()
            .join("111111111111/authorization-details.json")
            .is_file()
    );
}

#[test]
fn outputs_are_byte_identical_across_runs() {
    let first = report_dir();
    let second = tempfile::tempdir().unwrap();
    run_report(second.path());
    for name in OUTPUTS {
        let a = first.join(name);
        if !a.exists() {
            continue;
        }
        assert_eq!(
            sha(&a),
            sha(&second.path().join(name)),
            "{name} differs between runs"
        );
    }
}

/// services.csv is written right after the analysis and put in place with the other outputs:
/// a run that fails later leaves the previous run's services.csv, and no temporary file.
#[test]
fn a_run_that_fails_later_leaves_the_previous_services_csv() {
    let out = tempfile::tempdir().unwrap();
    run_report(out.path());
    let services = out.path().join("services.csv");
    assert!(
        fs::read_to_string(&services)
            .unwrap()
            .starts_with("account_id,")
    );
    fs::write(&services, "the previous run's\n").unwrap();
    // findings.csv, which the CSV writer renames into place before services.csv, cannot be
    // replaced: a folder holds its place. The run refuses that before writing anything (a
    // failure while the outputs are put in place, which nothing on the command line can cause
    // any more, is `files::tests::a_failed_commit_names_the_output_and_cleans_up`).
    let findings = out.path().join("findings.csv");
    fs::remove_file(&findings).unwrap();
    fs::create_dir(&findings).unwrap();
    let failed = assert_cmd::Command::cargo_bin("iam-tighten")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["report", "sample-data/2026-q4", "--format", "csv", "--out"])
        .arg(out.path())
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&failed.get_output().stderr).into_owned();
    assert!(
        stderr.contains("findings.csv: is a folder, where iam-tighten writes a file"),
        "{stderr}"
    );
    assert_eq!(
        fs::read_to_string(&services).unwrap(),
        "the previous run's\n"
    );
    let temps: Vec<String> = fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(temps.is_empty(), "{temps:?}");
    // Once the place is free again, the next run writes it.
    fs::remove_dir(&findings).unwrap();
    run_report(out.path());
    assert!(
        fs::read_to_string(&services)
            .unwrap()
            .starts_with("account_id,")
    );
}

#[test]
fn output_digests() {
    let dir = report_dir();
    let mut lines = Vec::new();
    for name in DIGESTED {
        let p = dir.join(name);
        if p.exists() {
            lines.push(format!(
                "{name} {} bytes={}",
                sha(&p),
                fs::metadata(&p).unwrap().len()
            ));
        }
    }
    insta::assert_snapshot!("output_digests", lines.join("\n"));
}

#[test]
fn findings_csv_excerpt_and_counts() {
    let text = fs::read_to_string(report_dir().join("findings.csv")).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let header = rdr.headers().unwrap().clone();
    let status = header.iter().position(|h| h == "status").unwrap();
    let reason = header.iter().position(|h| h == "reason").unwrap();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let actions = col("actions");
    let levels = ["critical", "high", "medium", "low"].map(|s| (s, col(&format!("{s}_actions"))));
    // Actions (not rows) per status, reason and sensitivity: a row is a group of actions.
    let mut counts = std::collections::BTreeMap::new();
    for rec in rdr.records() {
        let rec = rec.unwrap();
        let n: u64 = rec[actions].parse().unwrap();
        let mut sum = 0;
        for (level, i) in levels {
            let k: u64 = rec[i].parse().unwrap();
            sum += k;
            if k > 0 {
                *counts
                    .entry(format!("{} {} {level}", &rec[status], &rec[reason]))
                    .or_insert(0u64) += k;
            }
        }
        assert_eq!(sum, n, "per-sensitivity counts add up to `actions`");
    }
    let counts: Vec<String> = counts
        .into_iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    insta::assert_snapshot!("findings_counts", counts.join("\n"));
    let head: Vec<&str> = text.lines().take(120).collect();
    insta::assert_snapshot!("findings_head", head.join("\n"));
    // Every verdict reason appears in the sample, but the one that needs an --as-of earlier
    // than the data (tests/cmd/report_as_of_before_data.toml shows it on the same sample), the
    // permission-set one when the sample has no organisation part, `grant_too_new`
    // (tests/adversarial.rs, `a_grant_younger_than_the_window_is_too_new`) and `used_after_data`
    // (tests/analysis.rs, `a_role_used_after_its_stale_report_is_not_called_unused`).
    let with_org = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sample-data/2026-q4/organization")
        .is_dir();
    for r in iam_tighten::analysis::Reason::ALL.into_iter().filter(|r| {
        *r != iam_tighten::analysis::Reason::AccessedAfterAsOf
            && *r != iam_tighten::analysis::Reason::GrantTooNew
            && *r != iam_tighten::analysis::Reason::UsedAfterData
            && (with_org || *r != iam_tighten::analysis::Reason::PermissionSetIncomplete)
    }) {
        assert!(
            text.contains(&format!(",{},", r.as_str())),
            "sample lacks {}",
            r.as_str()
        );
    }
}

#[test]
fn principals_and_services_csv() {
    let dir = report_dir();
    insta::assert_snapshot!(
        "principals_csv",
        fs::read_to_string(dir.join("principals.csv")).unwrap()
    );
    // services.csv is ~1.5k rows; pin the non-admin principals whole.
    let text = fs::read_to_string(dir.join("services.csv")).unwrap();
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| {
            !l.contains("BreakGlassAdmin")
                && !l.contains("OrganizationAccountAccessRole")
                && !l.contains("platform-ops")
                && !l.contains("SecurityAuditor")
        })
        .collect();
    insta::assert_snapshot!("services_csv_excerpt", rows.join("\n"));
}

#[test]
fn report_json_model() {
    let text = fs::read_to_string(report_dir().join("report.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    // Paths of the exports depend on nothing but the command line; keep them.
    // Per-principal service lists and finding lists are pinned by the digest; keep a summary.
    if let Some(ps) = v.get_mut("principals").and_then(|p| p.as_array_mut()) {
        for p in ps {
            let o = p.as_object_mut().unwrap();
            let n = o
                .get("services")
                .and_then(|s| s.as_array())
                .map_or(0, Vec::len);
            o.insert(
                "services".into(),
                serde_json::json!(format!("{n} services")),
            );
            let u = o
                .get("unused")
                .and_then(|s| s.as_array())
                .map_or(0, Vec::len);
            o.insert("unused".into(), serde_json::json!(format!("{u} listed")));
        }
    }
    if let Some(t) = v.get_mut("top_findings").and_then(|p| p.as_array_mut()) {
        t.truncate(25);
    }
    insta::assert_json_snapshot!("report_json_model", v);
}

/// findings.parquet has the same rows and columns as findings.csv (read back with polars, as a
/// query engine would).
#[test]
fn parquet_matches_csv() {
    use polars::prelude::*;
    let dir = report_dir();
    let file = fs::File::open(dir.join("findings.parquet")).unwrap();
    let df = ParquetReader::new(file).finish().unwrap();
    let csv_text = fs::read_to_string(dir.join("findings.csv")).unwrap();
    let mut rdr = csv::Reader::from_reader(csv_text.as_bytes());
    let header: Vec<String> = rdr.headers().unwrap().iter().map(str::to_string).collect();
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(names, header);
    let rows = rdr.records().count();
    assert_eq!(df.height(), rows);
    // Spot-check the first row (rank 1) against the CSV.
    let first = csv_text.lines().nth(1).unwrap();
    let action = df
        .column("action")
        .unwrap()
        .str()
        .unwrap()
        .get(0)
        .unwrap()
        .to_string();
    assert!(
        first.contains(&format!(",{action},")),
        "{first} vs {action}"
    );
    assert_eq!(df.column("rank").unwrap().u32().unwrap().get(0), Some(1));
}

#[test]
fn every_csv_column_is_documented() {
    use iam_tighten::report::csv::{
        DECISIONS_HEADER, PRINCIPALS_HEADER, SERVICES_HEADER, findings_header,
    };
    let doc = fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report-fields.md"),
    )
    .unwrap();
    for column in findings_header()
        .iter()
        .chain(&SERVICES_HEADER)
        .chain(&PRINCIPALS_HEADER)
        .chain(&DECISIONS_HEADER)
        .chain(&iam_tighten::analysis::schema::ORGANIZATION.map(|c| c.name))
        .chain(&iam_tighten::recommend::ACTIONS_HEADER)
    {
        assert!(
            doc.contains(&format!("`{column}`")),
            "docs/report-fields.md does not document `{column}`"
        );
    }
}

/// Every `action` cell of the sample's findings.csv, read back the way `iam-tighten expand` reads
/// its arguments, names exactly as many actions as its `actions` column, all of the row's
/// service; and the command itself agrees on a sample of cells (issue 14).
#[test]
fn every_findings_action_cell_expands_to_its_actions() {
    use iam_tighten::catalog::Catalog;
    use iam_tighten::policy::{Expander, expand_notation};
    let text = std::fs::read_to_string(report_dir().join("findings.csv")).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let header = rdr.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (action, actions, service) = (col("action"), col("actions"), col("service"));
    let cat = Catalog::embedded();
    let mut e = Expander::new(cat);
    let mut rows = 0;
    let mut with_except = Vec::new();
    for rec in rdr.records() {
        let rec = rec.unwrap();
        let set = expand_notation(&rec[action], &mut e).unwrap().actions;
        let n: usize = rec[actions].parse().unwrap();
        assert_eq!(set.len(), n, "{}", &rec[action]);
        assert!(set.iter().all(|id| *cat.action(id).service == rec[service]));
        if rec[action].contains(" except ") {
            with_except.push((rec[action].to_string(), n));
        }
        rows += 1;
    }
    assert!(rows > 100 && !with_except.is_empty(), "{rows} rows");
    // The binary, on the cells with `except` (quoted, as a shell user pastes them).
    for (cell, n) in with_except.iter().take(8) {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_iam-tighten"))
            .args(["expand", cell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{cell}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).lines().count(),
            *n,
            "{cell}"
        );
    }
}

/// report.json's findings carry the findings schema's columns, in order (the per-sensitivity
/// counts nested in `actions_by_sensitivity`), with the same values as findings.csv.
#[test]
fn report_json_findings_follow_the_findings_schema() {
    use iam_tighten::analysis::schema::findings_header;
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(report_dir().join("report.json")).unwrap()).unwrap();
    let first = &json["top_findings"][0];
    let mut keys: Vec<String> = Vec::new();
    for (k, v) in first.as_object().unwrap() {
        if k == "actions_by_sensitivity" {
            for level in v.as_object().unwrap().keys() {
                keys.push(format!("{level}_actions"));
            }
        } else {
            keys.push(k.clone());
        }
    }
    assert_eq!(keys, findings_header().map(str::to_string));
    // The first CSV row is the same finding.
    let csv_text = fs::read_to_string(report_dir().join("findings.csv")).unwrap();
    let mut rdr = csv::Reader::from_reader(csv_text.as_bytes());
    let row = rdr.records().next().unwrap().unwrap();
    assert_eq!(&row[5], first["action"].as_str().unwrap());
    assert_eq!(&row[0], first["rank"].to_string());
}

/// report.html of a small export, as an outline a reviewer reads.
#[test]
fn report_html_outline_of_a_small_export() {
    let out = tempfile::tempdir().unwrap();
    assert_cmd::Command::cargo_bin("iam-tighten")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "report",
            "tests/fixtures/input/cli-v2",
            "--format",
            "html",
            "--out",
        ])
        .arg(out.path())
        .assert()
        .success();
    let html = fs::read_to_string(out.path().join("report.html")).unwrap();
    insta::assert_snapshot!("report_html_outline", html_outline(&html, 6));
}

/// diff.html of the sample's quarters, as an outline (tables cut to their first rows).
#[test]
fn diff_html_outline_of_the_sample() {
    let out = tempfile::tempdir().unwrap();
    assert_cmd::Command::cargo_bin("iam-tighten")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "diff",
            "sample-data/2026-q3",
            "sample-data/2026-q4",
            "--out",
        ])
        .arg(out.path())
        .assert()
        .success();
    let html = fs::read_to_string(out.path().join("diff.html")).unwrap();
    insta::assert_snapshot!("diff_html_outline", html_outline(&html, 3));
}

/// One recommendation folder of the sample, whole (ExampleCorpQA: an AWS managed policy
/// replaced by a tightened copy), and its rows of `recommendations/actions.csv`.
#[test]
fn recommendation_folder_of_example_corp_qa() {
    let dir = report_dir().join("recommendations/111111111111/role/ExampleCorpQA");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut text = String::new();
    for name in names {
        let body = fs::read_to_string(dir.join(&name)).unwrap();
        text.push_str(&format!("===== {name}\n{body}\n"));
    }
    // Its rows of the one actions.csv for every folder, with the header.
    let csv = fs::read_to_string(report_dir().join("recommendations/actions.csv")).unwrap();
    text.push_str("===== ../../../actions.csv (the header and this role's rows)\n");
    for line in csv.lines().enumerate().filter_map(|(i, l)| {
        (i == 0 || l.starts_with("111111111111,role,ExampleCorpQA,")).then_some(l)
    }) {
        text.push_str(line);
        text.push('\n');
    }
    insta::assert_snapshot!("recommendation_example_corp_qa", text);
}

/// Every reference an output makes to a recommendation file names one that exists (issue 18):
/// decisions.csv's `files`, every `recommendations/…` string of report.json and summary.json
/// (folders and files), summary.json's policy `file`s, report.html's links, and every `file://`
/// of each README's apply and rollback blocks. Each kind of reference is found at least once, so
/// the test cannot pass by finding nothing.
#[test]
fn every_reference_to_a_recommendation_file_exists() {
    use serde_json::Value;
    let dir = report_dir();
    let exists = |what: &str, rel: &str| {
        assert!(
            dir.join(rel).exists(),
            "{what} refers to {rel}, which does not exist"
        );
    };
    // decisions.csv
    let mut r = csv::Reader::from_path(dir.join("decisions.csv")).unwrap();
    let col = r
        .headers()
        .unwrap()
        .iter()
        .position(|c| c == "files")
        .unwrap();
    let mut files = 0;
    for rec in r.records() {
        let rec = rec.unwrap();
        if !rec[col].is_empty() {
            assert!(
                dir.join(&rec[col]).is_file(),
                "decisions.csv: {}",
                &rec[col]
            );
            files += 1;
        }
    }
    assert!(files > 10, "{files} decisions with files");
    // report.json and summary.json: every string naming something under recommendations/
    fn strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::String(s) if s.starts_with("recommendations/") => out.push(s),
            Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
            Value::Object(o) => o.values().for_each(|v| strings(v, out)),
            _ => {}
        }
    }
    for name in ["report.json", "recommendations/summary.json"] {
        let v: Value = serde_json::from_slice(&fs::read(dir.join(name)).unwrap()).unwrap();
        let mut found = Vec::new();
        strings(&v, &mut found);
        assert!(found.len() > 10, "{name}: {found:?}");
        for s in found {
            exists(name, s);
        }
    }
    let summary: Value =
        serde_json::from_slice(&fs::read(dir.join("recommendations/summary.json")).unwrap())
            .unwrap();
    let mut folders = Vec::new();
    let mut policy_files = 0;
    for p in summary["principals"].as_array().unwrap() {
        let Some(path) = p["path"].as_str() else {
            continue;
        };
        folders.push(path.to_string());
        for pol in p["policies"].as_array().unwrap() {
            if let Some(f) = pol["file"].as_str() {
                exists("summary.json", &format!("{path}/{f}"));
                policy_files += 1;
            }
        }
    }
    assert!(policy_files > 5);
    // report.html: links into recommendations/ (tera escapes `/` as `&#x2F;`)
    let html = fs::read_to_string(dir.join("report.html"))
        .unwrap()
        .replace("&#x2F;", "/");
    let links: Vec<&str> = html
        .split("href=\"")
        .skip(1)
        .filter_map(|h| h.split('"').next())
        .filter(|h| h.starts_with("recommendations/"))
        .collect();
    assert!(links.len() > 5, "{links:?}");
    for l in links {
        exists("report.html", l);
    }
    // Each folder's README: its commands send only files of the folder.
    let mut sent = 0;
    for folder in &folders {
        let readme = fs::read_to_string(dir.join(folder).join("README.md")).unwrap();
        for block in ["apply", "rollback"] {
            for line in super::recommend::readme_block(&readme, block) {
                for word in line.split(' ').filter_map(|w| w.strip_prefix("file://")) {
                    exists(&format!("{folder}/README.md"), &format!("{folder}/{word}"));
                    sent += 1;
                }
            }
        }
    }
    assert!(sent > 10, "{sent} files sent by commands");
}

/// The sensitivity levels are described in docs/methodology.md with the same words the report's
/// cards use (one source: `Sensitivity::meaning`).
#[test]
fn sensitivity_meanings_are_the_methodology_s() {
    use iam_tighten::analysis::Sensitivity;
    let doc = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/methodology.md"))
        .unwrap();
    for s in Sensitivity::ALL_DESC {
        let line = format!("- **{}**: {}", s.as_str(), s.meaning());
        assert!(doc.contains(&line), "docs/methodology.md lacks: {line}");
    }
}
