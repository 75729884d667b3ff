//! The findings dataset (`report --parquet-dataset`) read by real query engines, DuckDB and
//! polars, and review.xlsx by openpyxl, from PyPI, pinned in `tests/engines/requirements.txt`,
//! in `.venv-engines/` (create it with `tests/engines/setup.sh`). Without it these tests skip
//! with a note, unless `IAM_TIGHTEN_REQUIRE_DUCKDB` is set (`.ci/run` sets it), in which case
//! they fail.
//!
//! What the engines see is checked against findings.csv, parsed here: rows and actions per
//! account and per verdict, each account's rows in rank order, the columns and their types; and
//! the query across two quarters in docs/usage.md gives the output printed there.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use iam_tighten::analysis::schema::{FINDINGS, ORGANIZATION, Type};
use serde_json::Value;

use crate::parquet_dataset::{q4, run_dataset_report};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The venv's python, or `None` (with a note) when it is missing and not required.
fn python() -> Option<PathBuf> {
    let python = root().join(".venv-engines/bin/python");
    if python.exists() {
        return Some(python);
    }
    let msg = format!(
        "{} is missing: run tests/engines/setup.sh",
        python.display()
    );
    if std::env::var_os("IAM_TIGHTEN_REQUIRE_DUCKDB").is_some() {
        panic!("IAM_TIGHTEN_REQUIRE_DUCKDB is set but {msg}");
    }
    eprintln!("SKIPPED engine test: {msg}");
    None
}

/// Runs `script` with the venv's python in `dir` (`sys.argv[1]` is `dir`); returns stdout.
fn run(python: &Path, dir: &Path, script: &str) -> String {
    let out = Command::new(python)
        .current_dir(dir)
        .arg("-c")
        .arg(script)
        .arg(dir)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// findings.csv of a report folder: its header and its rows as maps from column to cell.
fn findings_csv(dir: &Path) -> (Vec<String>, Vec<BTreeMap<String, String>>) {
    let text = fs::read_to_string(dir.join("findings.csv")).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = rdr.headers().unwrap().iter().map(str::to_string).collect();
    let rows = rdr
        .records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .cloned()
                .zip(r.iter().map(str::to_string))
                .collect()
        })
        .collect();
    (header, rows)
}

/// Rows and actions per value of `key`, as DuckDB's `count(*)` and `sum(actions)` give them.
fn counts(rows: &[BTreeMap<String, String>], key: &str) -> Value {
    let mut by: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for r in rows {
        let e = by.entry(r[key].clone()).or_default();
        e.0 += 1;
        e.1 += r["actions"].parse::<u64>().unwrap();
    }
    Value::Array(
        by.into_iter()
            .map(|(k, (n, a))| serde_json::json!([k, n, a]))
            .collect(),
    )
}

/// DuckDB's name for the type each findings column has in the files.
fn duckdb_type(ty: Type) -> &'static str {
    match ty {
        Type::Str | Type::OptStr => "VARCHAR",
        Type::U32 => "UINTEGER",
        Type::U64 => "UBIGINT",
        Type::OptI64 => "BIGINT",
        Type::Bool => "BOOLEAN",
        Type::Time => "TIMESTAMP WITH TIME ZONE",
    }
}

const DUCKDB_SCRIPT: &str = r#"
import duckdb, json, sys
c = duckdb.connect()
glob = 'findings/*/*.parquet'
src = f"read_parquet('{glob}', hive_partitioning = true, hive_types = {{'account_id': VARCHAR}})"
out = {
    'columns': [[r[0], r[1]] for r in c.sql(f'DESCRIBE SELECT * FROM {src}').fetchall()],
    'per_account': c.sql(f'SELECT account_id, count(*), sum(actions) FROM {src} GROUP BY 1 ORDER BY 1').fetchall(),
    'per_status': c.sql(f'SELECT status, count(*), sum(actions) FROM {src} GROUP BY 1 ORDER BY 1').fetchall(),
    'order': c.sql(
        f"SELECT account_id, list(rank ORDER BY file_row_number) FROM read_parquet('{glob}', "
        "hive_partitioning = true, hive_types = {'account_id': VARCHAR}, file_row_number = true) "
        "GROUP BY 1 ORDER BY 1").fetchall(),
    'autocast': c.sql(f"SELECT typeof(account_id) FROM read_parquet('{glob}', hive_partitioning = true) LIMIT 1").fetchall()[0][0],
    'file_columns': [r[0] for r in c.sql(f"DESCRIBE SELECT * FROM read_parquet('{glob}', hive_partitioning = false)").fetchall()],
}
print(json.dumps(out, default=int))
"#;

/// DuckDB reads the sample's dataset (two accounts and the organisation's management account)
/// with `hive_partitioning`: the same rows, actions and verdicts per account as findings.csv,
/// each account's rows in rank order, and findings.csv's columns with `account_id` (from the
/// folder names) last, typed as documented.
#[test]
fn duckdb_reads_the_dataset_as_findings_csv_says() {
    let Some(python) = python() else { return };
    let dir = q4();
    let got: Value = serde_json::from_str(&run(&python, dir, DUCKDB_SCRIPT)).unwrap();
    let (header, rows) = findings_csv(dir);
    assert!(rows.len() > 1000, "{} rows", rows.len());

    let per_account = counts(&rows, "account_id");
    assert_eq!(per_account.as_array().unwrap().len(), 3, "{per_account}");
    assert_eq!(got["per_account"], per_account);
    let per_status = counts(&rows, "status");
    assert_eq!(per_status.as_array().unwrap().len(), 3, "{per_status}");
    assert_eq!(got["per_status"], per_status);

    let mut order: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for r in &rows {
        order
            .entry(r["account_id"].clone())
            .or_default()
            .push(r["rank"].parse().unwrap());
    }
    let order: Value = order
        .into_iter()
        .map(|(a, r)| serde_json::json!([a, r]))
        .collect();
    assert_eq!(got["order"], order);

    // Columns: findings.csv's, `account_id` moved last; types from the findings schema.
    let mut names: Vec<&str> = header
        .iter()
        .map(String::as_str)
        .filter(|h| *h != "account_id")
        .collect();
    names.push("account_id");
    let types: BTreeMap<&str, &str> = FINDINGS
        .iter()
        .chain(&ORGANIZATION)
        .map(|c| (c.name, duckdb_type(c.ty)))
        .collect();
    let expected: Value = names
        .iter()
        .map(|n| serde_json::json!([n, types[n]]))
        .collect();
    assert_eq!(got["columns"], expected);
    // The files themselves have no account_id: only the folder names carry it.
    let file_columns: Vec<&str> = names[..names.len() - 1].to_vec();
    assert_eq!(got["file_columns"], serde_json::json!(file_columns));
    // Without hive_types, DuckDB guesses a number from the folder names (docs say so).
    assert_eq!(got["autocast"], "BIGINT");
}

const POLARS_SCRIPT: &str = r#"
import json, polars as pl
lf = pl.scan_parquet('findings/', hive_partitioning=True, hive_schema={'account_id': pl.String})
df = lf.group_by('account_id').agg(pl.len(), pl.col('actions').sum()).sort('account_id').collect()
guess = pl.scan_parquet('findings/', hive_partitioning=True).collect_schema()['account_id']
print(json.dumps({'per_account': df.rows(), 'guess': str(guess)}))
"#;

/// polars reads the same dataset with `hive_partitioning`: the same rows and actions per
/// account as findings.csv; without `hive_schema` it guesses a number for `account_id`.
#[test]
fn polars_reads_the_dataset_as_findings_csv_says() {
    let Some(python) = python() else { return };
    let dir = q4();
    let got: Value = serde_json::from_str(&run(&python, dir, POLARS_SCRIPT)).unwrap();
    let (_, rows) = findings_csv(dir);
    assert_eq!(got["per_account"], counts(&rows, "account_id"));
    assert_eq!(got["guess"], "Int64");
}

/// The fenced block of `docs/<doc>` whose first line is `first_line` (after "```<lang>"), and
/// what follows it in the doc.
fn doc_block(doc: &str, lang: &str, first_line: &str) -> (String, String) {
    let text = fs::read_to_string(root().join("docs").join(doc)).unwrap();
    let fence = format!("```{lang}\n");
    let start = text
        .find(&format!("{fence}{first_line}"))
        .unwrap_or_else(|| panic!("docs/{doc} has no {lang} block starting {first_line:?}"));
    let rest = &text[start + fence.len()..];
    let end = rest.find("```").unwrap();
    (rest[..end].to_string(), rest[end + 3..].to_string())
}

/// The ```sql block of docs/usage.md that starts with `first_line`, and the ```text block after
/// it (its output).
fn doc_query(first_line: &str) -> (String, String) {
    let (sql, rest) = doc_block("usage.md", "sql", first_line);
    let (shown, _) = doc_block_in(&rest, "text");
    (sql, shown)
}

/// The first fenced block of `lang` in `text`.
fn doc_block_in(text: &str, lang: &str) -> (String, String) {
    let fence = format!("```{lang}\n");
    let start = text.find(&fence).unwrap() + fence.len();
    let end = text[start..].find("```").unwrap();
    (
        text[start..start + end].to_string(),
        text[start + end + 3..].to_string(),
    )
}

/// The DuckDB and polars examples of docs/report-fields.md run on the sample's dataset (in a
/// folder named as in the doc): the DuckDB query's sums are findings.csv's, and polars reads
/// `account_id` as text.
#[test]
fn the_examples_in_report_fields_md_run() {
    let Some(python) = python() else { return };
    let (sql, _) = doc_block(
        "report-fields.md",
        "sql",
        "-- DuckDB: unused actions per account",
    );
    let (py, _) = doc_block("report-fields.md", "python", "# polars");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("iam-tighten-report");
    fs::create_dir(&dir).unwrap();
    copy_tree(&q4().join("findings"), &dir.join("findings"));
    fs::write(tmp.path().join("query.sql"), &sql).unwrap();
    fs::write(tmp.path().join("example.py"), &py).unwrap();
    let got: Value = serde_json::from_str(&run(
        &python,
        tmp.path(),
        "import duckdb, json, runpy\n\
         rows = duckdb.connect().sql(open('query.sql').read()).fetchall()\n\
         findings = runpy.run_path('example.py')['findings']\n\
         print(json.dumps({'rows': rows, 'account_id': str(findings.collect_schema()['account_id']),\n\
                           'height': findings.collect().height}, default=int))",
    ))
    .unwrap();
    let (_, rows) = findings_csv(q4());
    let mut sums: BTreeMap<(String, String), u64> = BTreeMap::new();
    for r in rows.iter().filter(|r| {
        r["status"] == "unused" && r["actionable"] == "true" && r["excluded"] == "false"
    }) {
        *sums
            .entry((r["account_id"].clone(), r["sensitivity"].clone()))
            .or_default() += r["actions"].parse::<u64>().unwrap();
    }
    let expected: Value = sums
        .into_iter()
        .map(|((a, s), n)| serde_json::json!([a, s, n]))
        .collect();
    assert!(expected.as_array().unwrap().len() >= 6, "{expected}");
    assert_eq!(got["rows"], expected);
    assert_eq!(got["account_id"], "String");
    assert_eq!(got["height"], rows.len());
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_tree(&p, &dest);
        } else {
            fs::copy(&p, &dest).unwrap();
        }
    }
}

const FIRST_LINE: &str = "-- Unused in both quarters";

/// The query across two quarters in docs/usage.md, run by DuckDB on the reports of
/// sample-data/2026-q3 and 2026-q4, prints what the doc shows; and the whole join (without its
/// LIMIT) is what findings.csv of the two quarters give.
#[test]
fn the_two_quarter_query_in_usage_md_gives_the_output_shown() {
    let Some(python) = python() else { return };
    let (sql, shown) = doc_query(FIRST_LINE);
    let tmp = tempfile::tempdir().unwrap();
    let review = tmp.path().join("review");
    for q in ["2026-q3", "2026-q4"] {
        run_dataset_report(q, &review.join(q));
    }
    fs::write(tmp.path().join("query.sql"), &sql).unwrap();
    let printed = run(
        &python,
        tmp.path(),
        "import duckdb\nprint(duckdb.connect().sql(open('query.sql').read()))",
    );
    assert_eq!(
        printed.trim_end(),
        shown.trim_end(),
        "docs/usage.md is stale"
    );

    // The whole join, recomputed from findings.csv.
    let limit = sql.rfind("LIMIT").expect("the query has a LIMIT");
    fs::write(tmp.path().join("all.sql"), &sql[..limit]).unwrap();
    let all: Value = serde_json::from_str(&run(
        &python,
        tmp.path(),
        "import duckdb, json\n\
         rows = duckdb.connect().sql(open('all.sql').read()).fetchall()\n\
         print(json.dumps(rows, default=int))",
    ))
    .unwrap();
    let unused = |q: &str| {
        let (_, rows) = findings_csv(&review.join(q));
        let mut by: BTreeMap<(String, String, String), (String, u64, u64)> = BTreeMap::new();
        for r in rows.iter().filter(|r| {
            r["status"] == "unused" && r["actionable"] == "true" && r["excluded"] == "false"
        }) {
            let key = (
                r["account_id"].clone(),
                r["principal_arn"].clone(),
                r["service"].clone(),
            );
            let e = by.entry(key).or_insert((r["principal_name"].clone(), 0, 0));
            e.1 += r["actions"].parse::<u64>().unwrap();
            e.2 += r["critical_actions"].parse::<u64>().unwrap()
                + r["high_actions"].parse::<u64>().unwrap();
        }
        by
    };
    let (q3, q4) = (unused("2026-q3"), unused("2026-q4"));
    let mut expected: Vec<_> = q4
        .iter()
        .filter_map(|(k, (name, n4, ch4))| {
            q3.get(k)
                .map(|(_, n3, _)| (k.clone(), name.clone(), *n3, *n4, *ch4))
        })
        .collect();
    // ORDER BY critical_high_q4 DESC, unused_q4 DESC, principal_arn, service
    expected.sort_by(|a, b| (b.4, b.3, &a.0.1, &a.0.2).cmp(&(a.4, a.3, &b.0.1, &b.0.2)));
    let expected: Value = expected
        .into_iter()
        .map(|((account, _, service), name, n3, n4, ch4)| {
            serde_json::json!([account, name, service, n3, n4, ch4])
        })
        .collect();
    assert!(expected.as_array().unwrap().len() > 100);
    assert_eq!(all, expected);
}

/// openpyxl (what pandas' `read_excel` uses) reads review.xlsx's Findings sheet.
const OPENPYXL_SCRIPT: &str = r#"
import datetime, json, openpyxl
wb = openpyxl.load_workbook('review.xlsx', read_only=True, data_only=True)
def text(v):
    if v is None: return ''
    if isinstance(v, bool): return 'true' if v else 'false'
    if isinstance(v, datetime.datetime): return v.strftime('%Y-%m-%dT%H:%M:%SZ')
    if isinstance(v, float) and v.is_integer(): return str(int(v))
    return str(v)
rows = [[text(v) for v in row] for row in wb['Findings'].iter_rows(values_only=True)]
print(json.dumps(rows))
"#;

/// review.xlsx's Findings sheet, read by openpyxl (pandas' reader of .xlsx files, from PyPI):
/// the header and every row of findings.csv, cell for cell. Its rows carry no cell references
/// (docs/report-fields.md), which the format allows and this reader, like calamine
/// (tests/xlsx.rs), places by order.
#[test]
fn openpyxl_reads_the_findings_sheet_as_findings_csv_says() {
    let Some(python) = python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    assert_cmd::Command::cargo_bin("iam-tighten")
        .unwrap()
        .current_dir(root())
        .args([
            "report",
            "sample-data/2026-q4",
            "--format",
            "csv,xlsx",
            "--out",
        ])
        .arg(dir)
        .assert()
        .success();
    let got: Vec<Vec<String>> = serde_json::from_str(&run(&python, dir, OPENPYXL_SCRIPT)).unwrap();
    let text = fs::read_to_string(dir.join("findings.csv")).unwrap();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    let want: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    assert!(want.len() > 100, "{} rows", want.len());
    assert_eq!(got.len(), want.len(), "rows");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        // A row ends at its last cell; the blanks after it are not written.
        let mut g = g.clone();
        g.resize(w.len(), String::new());
        assert_eq!(&g, w, "row {i}");
    }
}
