//! review.xlsx read back with calamine: every sheet agrees with its CSV cell for cell, the
//! Decisions sheet with report.json, cells are typed (account ids as text with their leading
//! zero, dates as dates, counts as numbers), hostile text stays inert, the row limit ends a sheet
//! with a note, and the same inputs give the same bytes.

use std::fs;
use std::io::{Cursor, Read as _};
use std::path::{Path, PathBuf};

use calamine::{Data, Reader, Xlsx, open_workbook, open_workbook_from_rs};
use chrono::SecondsFormat;
use iam_tighten::analysis::identities::{IdentitySettings, identity_findings};
use iam_tighten::analysis::{self, Config, Settings};
use iam_tighten::catalog::Catalog;
use iam_tighten::input::{self, LoadOptions};
use iam_tighten::report::csv::neutralise;
use iam_tighten::report::model::RunInfo;
use iam_tighten::report::{Limits, ReportModel, xlsx};

/// The account of the fixture: a leading zero, which a CSV opened in Excel loses.
const ACCT: &str = "022222222222";
/// The fixture's role whose name is a formula (a valid IAM name: `[\w+=,.@-]+`).
const HOSTILE: &str = "=1+1";

/// The sample's account 222222222222 as account 022222222222, with its role `dev-sandbox`
/// renamed `=1+1` (files renamed, every mention rewritten).
fn fixture(dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/2026-q4/222222222222");
    let dst = dir.join(ACCT);
    copy_rewritten(&src, &dst);
    dst
}

fn rewrite(text: &str) -> String {
    text.replace("222222222222", ACCT)
        .replace("dev-sandbox", HOSTILE)
}

fn copy_rewritten(src: &Path, dst: &Path) {
    fs::create_dir_all(dst).unwrap();
    for entry in fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let name = rewrite(&entry.file_name().to_string_lossy());
        let to = dst.join(name);
        if entry.file_type().unwrap().is_dir() {
            copy_rewritten(&entry.path(), &to);
        } else {
            fs::write(&to, rewrite(&fs::read_to_string(entry.path()).unwrap())).unwrap();
        }
    }
}

fn run_report(export: &Path, out: &Path) {
    assert_cmd::Command::cargo_bin("iam-tighten")
        .unwrap()
        .arg("report")
        .arg(export)
        .arg("--out")
        .arg(out)
        .assert()
        .success();
}

/// One report of the fixture for the tests of this module.
fn report() -> &'static Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        let export = fixture(d.path());
        run_report(&export, &d.path().join("out"));
        d
    })
    .path()
}

fn out() -> PathBuf {
    report().join("out")
}

/// One report of the whole sample organisation (with its organisation part: the findings files
/// have the `control_effect` and `control_detail` columns).
fn organization_out() -> &'static Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/2026-q4");
        run_report(&sample, d.path());
        d
    })
    .path()
}

fn sheet(path: &Path, name: &str) -> Vec<Vec<Data>> {
    let mut wb: Xlsx<_> = open_workbook(path).unwrap();
    rows(&mut wb, name)
}

fn rows<R: std::io::Read + std::io::Seek>(wb: &mut Xlsx<R>, name: &str) -> Vec<Vec<Data>> {
    let range = wb.worksheet_range(name).unwrap();
    assert_eq!(range.start(), Some((0, 0)), "{name} starts at A1");
    range.rows().map(<[Data]>::to_vec).collect()
}

/// A date cell's time, to the second.
fn seconds(serial: f64) -> i64 {
    ((serial - 25_569.0) * 86_400.0).round() as i64
}

/// A cell as the CSVs write it.
fn csv_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Int(n) => n.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => chrono::DateTime::from_timestamp(seconds(d.as_f64()), 0)
            .unwrap()
            .to_rfc3339_opts(SecondsFormat::Secs, true),
        other => panic!("unexpected cell {other:?}"),
    }
}

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(path)
        .unwrap();
    rdr.records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

fn texts(rows: &[Vec<Data>]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.iter().map(csv_text).collect())
        .collect()
}

fn column(rows: &[Vec<Data>], name: &str) -> usize {
    rows[0]
        .iter()
        .position(|h| *h == Data::String(name.into()))
        .unwrap_or_else(|| panic!("no column {name}"))
}

#[test]
fn sheets_are_in_order() {
    let wb: Xlsx<_> = open_workbook(out().join("review.xlsx")).unwrap();
    assert_eq!(wb.sheet_names(), xlsx::SHEETS.map(String::from).to_vec());
}

/// The sheets that hold a CSV's rows, with that CSV.
const SHEET_CSVS: [(&str, &str); 4] = [
    ("Decisions", "decisions.csv"),
    ("Findings", "findings.csv"),
    ("Principals", "principals.csv"),
    ("Identities", "credentials.csv"),
];

/// Decisions, Findings, Principals and Identities hold exactly the rows and cells of
/// decisions.csv, findings.csv, principals.csv and credentials.csv (typed cells written as the
/// CSV writes them), for the fixture and for the sample organisation, whose findings have the
/// organisation part's two columns.
#[test]
fn sheets_agree_with_the_csvs_cell_for_cell() {
    for dir in [out(), organization_out().to_path_buf()] {
        let book = dir.join("review.xlsx");
        for (name, csv) in SHEET_CSVS {
            let expected = csv_rows(&dir.join(csv));
            let got = texts(&sheet(&book, name));
            assert!(expected.len() > 1, "{csv} has rows");
            assert_eq!(got[0], expected[0], "{name} header");
            assert_eq!(got.len(), expected.len(), "{name} rows");
            for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
                assert_eq!(g, e, "{name} row {i}");
            }
        }
    }
    let header = &csv_rows(&organization_out().join("findings.csv"))[0];
    assert!(header.iter().any(|c| c == "control_effect"), "{header:?}");
}

/// report.json's decisions are the Decisions sheet's first rows (report.json lists at most
/// `limits.decisions`; `decisions_total` counts them all).
#[test]
fn decisions_agree_with_report_json() {
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out().join("report.json")).unwrap()).unwrap();
    let rows = sheet(&out().join("review.xlsx"), "Decisions");
    let listed = json["decisions"].as_array().unwrap();
    assert!(!listed.is_empty());
    assert_eq!(
        json["decisions_total"].as_u64().unwrap() as usize,
        rows.len() - 1
    );
    for (d, row) in listed.iter().zip(&rows[1..]) {
        let cell = |name: &str| csv_text(&row[column(&rows, name)]);
        // Text cells are neutralised; report.json has the text as it is.
        let text = |key: &str| neutralise(d[key].as_str().unwrap()).into_owned();
        assert_eq!(cell("rank"), d["rank"].to_string());
        assert_eq!(cell("id"), text("id"));
        assert_eq!(cell("decision"), text("kind"));
        assert_eq!(cell("sensitivity"), text("sensitivity"));
        assert_eq!(cell("title"), text("title"));
        assert_eq!(cell("account_id"), text("account_id"));
        assert_eq!(cell("principal_name"), text("principal_name"));
        assert_eq!(cell("subject"), text("subject"));
        assert_eq!(cell("evidence"), text("evidence"));
        assert_eq!(cell("principal_arn"), text("principal_arn"));
        assert_eq!(
            cell("critical_removed"),
            d["removes"]["critical"].to_string()
        );
    }
}

#[test]
fn cells_are_typed() {
    let book = out().join("review.xlsx");
    let findings = sheet(&book, "Findings");
    let (acct, rank, last, actions, conditional, days) = (
        column(&findings, "account_id"),
        column(&findings, "rank"),
        column(&findings, "last_accessed"),
        column(&findings, "actions"),
        column(&findings, "conditional"),
        column(&findings, "days_since_access"),
    );
    let mut dates = 0;
    for row in &findings[1..] {
        assert_eq!(row[acct], Data::String(ACCT.into()), "account ids are text");
        assert!(matches!(row[rank], Data::Float(_)), "{:?}", row[rank]);
        assert!(matches!(row[actions], Data::Float(n) if n >= 1.0));
        assert!(matches!(row[conditional], Data::Bool(_)));
        assert!(matches!(row[days], Data::Float(_) | Data::Empty));
        match &row[last] {
            Data::DateTime(d) => {
                assert!(d.is_datetime());
                dates += 1;
            }
            Data::Empty => {}
            other => panic!("last_accessed {other:?}"),
        }
    }
    assert!(dates > 0, "some findings have a last access");

    let principals = sheet(&book, "Principals");
    let name = column(&principals, "principal_name");
    let created = column(&principals, "created");
    assert!(
        principals[1..]
            .iter()
            .any(|r| r[name] == Data::String(format!("'{HOSTILE}"))),
        "the role named {HOSTILE} is inert text"
    );
    assert!(
        principals[1..]
            .iter()
            .all(|r| matches!(r[created], Data::DateTime(_)))
    );
    // No cell anywhere is a formula or starts like one.
    let mut wb: Xlsx<_> = open_workbook(&book).unwrap();
    for name in xlsx::SHEETS {
        let formulas = wb.worksheet_formula(name).unwrap();
        assert!(
            formulas.used_cells().next().is_none(),
            "{name} has formulas"
        );
        for row in rows(&mut wb, name) {
            for cell in row {
                if let Data::String(s) = cell {
                    assert!(
                        !s.starts_with(['=', '+', '-', '@', '\t', '\r']),
                        "{name}: {s}"
                    );
                }
            }
        }
    }
}

/// Scope: the account (as text, with its zero) and its as-of date, the settings, and every input
/// file with its SHA-256 and size, as report.json has them.
#[test]
fn scope_lists_accounts_settings_and_input_files() {
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out().join("report.json")).unwrap()).unwrap();
    let rows = sheet(&out().join("review.xlsx"), "Scope");
    assert_eq!(
        rows[0],
        xlsx::SCOPE_HEADER.map(|h| Data::String(h.into())).to_vec()
    );
    let find = |section: &str, name: &str| {
        rows.iter()
            .find(|r| csv_text(&r[0]) == section && csv_text(&r[2]) == name)
            .unwrap_or_else(|| panic!("no {section} {name}"))
    };
    let as_of = find("account", "as_of");
    assert_eq!(as_of[1], Data::String(ACCT.into()));
    let Data::DateTime(d) = &as_of[3] else {
        panic!("as_of is a date: {:?}", as_of[3]);
    };
    let json_as_of =
        chrono::DateTime::parse_from_rfc3339(json["accounts"][0]["as_of"].as_str().unwrap())
            .unwrap();
    assert_eq!(seconds(d.as_f64()), json_as_of.timestamp());
    assert_eq!(
        find("settings", "unused_after_days")[3],
        Data::Float(json["settings"]["unused_after_days"].as_f64().unwrap())
    );
    assert_eq!(
        csv_text(&find("catalog", "version")[3]),
        json["catalog"]["version"].as_str().unwrap()
    );
    let command: Vec<&str> = json["settings"]["command_line"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(command[..2], ["iam-tighten", "report"]);
    assert_eq!(
        csv_text(&find("settings", "command_line")[3]),
        command.join(" ")
    );
    let files: Vec<(String, String, f64)> = rows
        .iter()
        .filter(|r| csv_text(&r[0]) == "input_file")
        .map(|r| {
            assert_eq!(r[1], Data::String(ACCT.into()));
            let Data::Float(bytes) = r[4] else {
                panic!("bytes is a number: {:?}", r[4]);
            };
            (csv_text(&r[2]), csv_text(&r[3]), bytes)
        })
        .collect();
    let expected: Vec<(String, String, f64)> = json["accounts"][0]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["sha256"].as_str().unwrap().to_string(),
                f["bytes"].as_f64().unwrap(),
            )
        })
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(files, expected);
}

/// Every sheet has a frozen header row, an autofilter over its rows and set column widths;
/// the document properties are fixed (author, creation time = the data's as-of time); every zip
/// entry carries the same fixed time.
#[test]
fn layout_and_fixed_properties() {
    let bytes = fs::read(out().join("review.xlsx")).unwrap();
    let mut zip = zip::ZipArchive::new(Cursor::new(&bytes)).unwrap();
    let mut entry = |name: &str| {
        let mut text = String::new();
        zip.by_name(name)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        text
    };
    let core = entry("docProps/core.xml");
    assert!(
        core.contains("<dc:creator>iam-tighten</dc:creator>"),
        "{core}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out().join("report.json")).unwrap()).unwrap();
    let as_of =
        chrono::DateTime::parse_from_rfc3339(json["accounts"][0]["as_of"].as_str().unwrap())
            .unwrap()
            .to_utc()
            .to_rfc3339_opts(SecondsFormat::Secs, true);
    assert!(
        core.contains(&format!(
            r#"<dcterms:created xsi:type="dcterms:W3CDTF">{as_of}</dcterms:created>"#
        )),
        "{core}"
    );
    for (i, name) in xlsx::SHEETS.iter().enumerate() {
        let xml = entry(&format!("xl/worksheets/sheet{}.xml", i + 1));
        assert!(
            xml.contains(
                r#"<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>"#
            ),
            "{name}: frozen header"
        );
        assert!(xml.contains("<autoFilter ref=\"A1:"), "{name}: autofilter");
        assert!(xml.contains("<cols><col "), "{name}: column widths");
    }
    let workbook = entry("xl/workbook.xml");
    assert!(workbook.contains("_xlnm._FilterDatabase"), "{workbook}");
    for i in 0..zip.len() {
        let f = zip.by_index(i).unwrap();
        let t = f.last_modified().unwrap();
        assert_eq!(
            (
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            ),
            (1980, 1, 1, 0, 0, 0),
            "{:?}",
            f.name()
        );
    }
}

/// Same inputs, same bytes (the CLI's second run is in tests/snapshots.rs; this one writes the
/// same model twice in one process).
#[test]
fn same_model_same_bytes() {
    // The export the CLI read (its path is in the Scope sheet).
    let (exports, catalog) = load(&report().join(ACCT));
    with_model(&exports, catalog, |an, model| {
        let a = xlsx::workbook(an, model).unwrap();
        let b = xlsx::workbook(an, model).unwrap();
        assert!(a == b, "two workbooks of one model differ");
        assert!(
            a == fs::read(out().join("review.xlsx")).unwrap(),
            "the CLI wrote other bytes"
        );
    });
}

/// With a row limit, a sheet holds the header, the first rows and a note saying how many rows
/// are only in the CSV; the autofilter covers the data rows only.
#[test]
fn row_limit_ends_a_sheet_with_a_note() {
    let tmp = tempfile::tempdir().unwrap();
    let export = fixture(tmp.path());
    let (exports, catalog) = load(&export);
    let limited = with_model(&exports, catalog, |an, model| {
        let full_book = xlsx::workbook(an, model).unwrap();
        let mut full: Xlsx<_> = open_workbook_from_rs(Cursor::new(full_book)).unwrap();
        let limited = xlsx::workbook_with_limit(an, model, 5).unwrap();
        let mut wb: Xlsx<_> = open_workbook_from_rs(Cursor::new(limited.clone())).unwrap();
        for name in xlsx::SHEETS {
            let all = rows(&mut full, name);
            let cut = rows(&mut wb, name);
            if all.len() <= 5 {
                assert_eq!(cut, all, "{name} fits");
                continue;
            }
            assert_eq!(cut.len(), 5, "{name}");
            assert_eq!(cut[..4], all[..4], "{name}: header and first rows");
            let note = csv_text(&cut[4][0]);
            let left_out = all.len() - 4;
            assert!(
                note.starts_with(&format!("… {left_out} more rows are not in this sheet")),
                "{name}: {note}"
            );
            assert!(cut[4][1..].iter().all(|c| *c == Data::Empty));
        }
        assert!(an.findings.len() > 4, "the findings sheet was cut");
        limited
    });
    let mut zip = zip::ZipArchive::new(Cursor::new(&limited)).unwrap();
    let mut xml = String::new();
    zip.by_name("xl/worksheets/sheet2.xml")
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    assert!(xml.contains("<autoFilter ref=\"A1:AB4\"/>"), "{xml}");
}

fn load(export: &Path) -> (Vec<iam_tighten::model::Export>, &'static Catalog) {
    let exports = input::load_exports(&[export.to_path_buf()], &LoadOptions::default()).unwrap();
    (exports, Catalog::embedded())
}

/// `f` of the model as `report` builds it (defaults: 90 days, the exports' own as-of times).
fn with_model<T>(
    exports: &[iam_tighten::model::Export],
    catalog: &Catalog,
    f: impl FnOnce(&analysis::Analysis<'_>, &ReportModel<'_>) -> T,
) -> T {
    let settings = Settings::new(90, None).unwrap();
    let an = analysis::analyze(exports, catalog, &settings, &Config::default()).unwrap();
    let ids = identity_findings(
        exports,
        &an,
        &IdentitySettings {
            unused_after_days: 90,
            key_max_age_days: 90,
        },
    );
    let planned = iam_tighten::recommend::plan_all(exports, &an, Some(1000));
    let decisions = iam_tighten::decisions::decide(&an, &planned.plans, &planned.summary, &ids);
    // What the CLI records for `iam-tighten report EXPORT --out DIR` (tests/xlsx.rs's runs).
    let export = exports[0].root.display().to_string();
    let run = RunInfo {
        key_max_age_days: Some(90),
        recommendation_folders: Some(1000),
        command_line: ["iam-tighten", "report", &export, "--out", "OUT"]
            .map(String::from)
            .to_vec(),
    };
    let model = ReportModel::build(
        &an,
        ids,
        Some(&planned.summary),
        &decisions,
        &run,
        Limits::default(),
    );
    f(&an, &model)
}

/// docs/report-fields.md describes every decisions.csv column, every sheet and the Scope columns.
#[test]
fn decisions_and_sheets_are_documented() {
    use iam_tighten::report::csv::DECISIONS_HEADER;
    let doc =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report-fields.md"))
            .unwrap();
    for name in DECISIONS_HEADER
        .iter()
        .chain(&xlsx::SCOPE_HEADER)
        .chain(&xlsx::SHEETS)
    {
        assert!(
            doc.contains(&format!("`{name}`")),
            "docs/report-fields.md does not document `{name}`"
        );
    }
}

/// On the sample organisation (with its organisation part), Scope lists the organisation's facts
/// and every file of the part with its SHA-256 and size, as report.json does.
#[test]
fn scope_has_the_organisation_part() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/2026-q4");
    assert_cmd::Command::cargo_bin("iam-tighten")
        .unwrap()
        .arg("report")
        .arg(&sample)
        .args(["--format", "xlsx,json", "--recommendations", "0", "--out"])
        .arg(tmp.path())
        .assert()
        .success();
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(tmp.path().join("report.json")).unwrap()).unwrap();
    let org = &json["organization"];
    assert!(org.is_object(), "the sample has an organisation part");
    let rows = sheet(&tmp.path().join("review.xlsx"), "Scope");
    let of = |section: &str| -> Vec<&Vec<Data>> {
        rows.iter().filter(|r| csv_text(&r[0]) == section).collect()
    };
    let id = of("organization")
        .into_iter()
        .find(|r| csv_text(&r[2]) == "id")
        .unwrap();
    assert_eq!(csv_text(&id[3]), org["id"].as_str().unwrap());
    let files: Vec<(String, String, String)> = of("organization_file")
        .iter()
        .map(|r| (csv_text(&r[2]), csv_text(&r[3]), csv_text(&r[4])))
        .collect();
    let expected: Vec<(String, String, String)> = org["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["sha256"].as_str().unwrap().to_string(),
                f["bytes"].to_string(),
            )
        })
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(files, expected);
    // Both accounts, their ids as text.
    let accounts: std::collections::BTreeSet<String> =
        of("account").iter().map(|r| csv_text(&r[1])).collect();
    assert_eq!(
        accounts.into_iter().collect::<Vec<_>>(),
        ["111111111111", "222222222222"]
    );
}

/// Every part of a zip, in order: (name, uncompressed bytes).
fn parts(book: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(Cursor::new(book)).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes).unwrap();
            (f.name().unwrap().to_string(), bytes)
        })
        .collect()
}

/// `reference` (every part of the workbook rust_xlsxwriter writes alone, `limit` rows a sheet,
/// for `findings` findings) as splicing writes it: the Findings rows between the header and the
/// last data row without their cell references (`xlsx::without_cell_references`).
fn spliced_form(
    mut reference: Vec<(String, Vec<u8>)>,
    findings: usize,
    limit: u32,
) -> Vec<(String, Vec<u8>)> {
    let room = limit as usize - 1;
    let written = if findings <= room { findings } else { room - 1 };
    let last_spliced = u32::try_from(written).unwrap(); // rows 2..=written: all but the last
    let sheet = reference
        .iter_mut()
        .find(|(n, _)| n == "xl/worksheets/sheet2.xml")
        .unwrap();
    let xml = String::from_utf8(sheet.1.clone()).unwrap();
    let compact = xlsx::without_cell_references(&xml, 2..=last_spliced).unwrap();
    if last_spliced >= 2 {
        assert!(compact.len() < xml.len(), "no reference taken out");
    }
    sheet.1 = compact.into_bytes();
    reference
}

/// The Findings rows written into the zip by `xlsx::splice` give the workbook rust_xlsxwriter
/// writes when it writes every row itself: the same parts, in the same order, byte for byte once
/// the spliced rows' optional cell references are taken out of it, and the same cells as calamine
/// reads them (the hostile fixture and the whole sample organisation; with and without a row
/// limit, so with the note row and with 0, 1 and 2 data rows).
#[test]
fn spliced_findings_rows_are_the_rows_rust_xlsxwriter_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/2026-q4");
    let mut checked = 0;
    for export in [fixture(tmp.path()), sample] {
        let exports =
            input::load_exports(std::slice::from_ref(&export), &LoadOptions::default()).unwrap();
        with_model(&exports, Catalog::embedded(), |an, model| {
            assert!(
                an.findings.len() > 50,
                "{}: {} findings",
                export.display(),
                an.findings.len()
            );
            for limit in [3, 4, 5, 50, xlsx::SHEET_ROWS] {
                let unspliced = xlsx::workbook_without_splice(an, model, limit).unwrap();
                let spliced = xlsx::workbook_with_limit(an, model, limit).unwrap();
                // As a reader sees them: every sheet's cells the same.
                let mut a: Xlsx<_> = open_workbook_from_rs(Cursor::new(&unspliced)).unwrap();
                let mut b: Xlsx<_> = open_workbook_from_rs(Cursor::new(&spliced)).unwrap();
                for name in xlsx::SHEETS {
                    assert!(
                        rows(&mut a, name) == rows(&mut b, name),
                        "{}, limit {limit}: sheet {name} reads differently",
                        export.display()
                    );
                }
                let reference = spliced_form(parts(&unspliced), an.findings.len(), limit);
                // Many pieces (of 1, 7 and 50 rows, some past the sheet's end) join into the
                // same sheet as one.
                for per_piece in [1, 7, 50] {
                    let pieces = xlsx::workbook_in_pieces(an, model, limit, per_piece).unwrap();
                    assert!(
                        parts(&pieces) == reference,
                        "{}, limit {limit}, {per_piece} rows per piece: not the reference",
                        export.display()
                    );
                }
                let ours = parts(&xlsx::workbook_with_limit(an, model, limit).unwrap());
                let names =
                    |p: &[(String, Vec<u8>)]| p.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
                assert_eq!(names(&ours), names(&reference), "limit {limit}");
                for ((name, a), (_, b)) in ours.iter().zip(&reference) {
                    assert!(
                        a == b,
                        "{}, limit {limit}: {name} differs:\n{}\n{}",
                        export.display(),
                        String::from_utf8_lossy(&a[..a.len().min(3000)]),
                        String::from_utf8_lossy(&b[..b.len().min(3000)])
                    );
                }
                let findings = &ours
                    .iter()
                    .find(|(n, _)| n == "xl/worksheets/sheet2.xml")
                    .unwrap()
                    .1;
                let rows = String::from_utf8_lossy(findings).matches("<row ").count();
                let expected = if limit == xlsx::SHEET_ROWS {
                    an.findings.len() + 1
                } else {
                    limit as usize
                };
                assert_eq!(rows, expected, "limit {limit}: rows of the Findings sheet");
                checked += 1;
            }
        });
    }
    assert_eq!(checked, 10);
}

/// LibreOffice Calc (headless, Debian's `libreoffice-calc-nogui`), a spreadsheet application
/// rather than a library, opens review.xlsx and saves each sheet as CSV: Decisions, Findings,
/// Principals and Identities say what decisions.csv, findings.csv, principals.csv and
/// credentials.csv say, cell for cell (its booleans `TRUE`/`FALSE` and dates in the sheet's
/// date format read as the CSVs write them). The Findings rows carry no cell references, and
/// the hostile fixture's formula-like name stays text. Skips without `soffice`, unless
/// `IAM_TIGHTEN_REQUIRE_LIBREOFFICE` is set (`.ci/run` sets it).
#[test]
fn libreoffice_reads_every_sheet_as_the_csvs_say() {
    let have = std::process::Command::new("soffice")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        assert!(
            std::env::var_os("IAM_TIGHTEN_REQUIRE_LIBREOFFICE").is_none(),
            "IAM_TIGHTEN_REQUIRE_LIBREOFFICE is set but there is no `soffice`"
        );
        eprintln!("SKIPPED: no `soffice` (LibreOffice) to open review.xlsx");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // Its own profile, so that other runs of LibreOffice do not lock this one out.
    let profile = format!(
        "-env:UserInstallation=file://{}",
        tmp.path().join("p").display()
    );
    // UTF-8, comma-separated, every sheet into a file of its own (`review-<sheet>.csv`).
    let filter = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1";
    for (k, dir) in [out(), organization_out().to_path_buf()].iter().enumerate() {
        let conv = tmp.path().join(format!("conv{k}"));
        let status = std::process::Command::new("soffice")
            .args([
                profile.as_str(),
                "--headless",
                "--convert-to",
                filter,
                "--outdir",
            ])
            .arg(&conv)
            .arg(dir.join("review.xlsx"))
            .output()
            .unwrap();
        assert!(status.status.success(), "{status:?}");
        for (name, csv) in SHEET_CSVS {
            let expected = csv_rows(&dir.join(csv));
            let got = csv_rows(&conv.join(format!("review-{name}.csv")));
            assert!(expected.len() > 1, "{csv} has rows");
            assert_eq!(got.len(), expected.len(), "{name} rows");
            for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
                let mut g: Vec<String> = g
                    .iter()
                    .zip(e.iter().chain(std::iter::repeat(&String::new())))
                    .map(|(g, e)| match g.as_str() {
                        "TRUE" => "true".into(),
                        "FALSE" => "false".into(),
                        _ if e.ends_with('Z') && *g == e[..e.len() - 1].replace('T', " ") => {
                            e.clone()
                        }
                        _ => g.clone(),
                    })
                    .collect();
                // A row ends at its last cell.
                g.resize(e.len(), String::new());
                assert_eq!(&g, e, "{name} row {i} ({})", dir.display());
            }
        }
    }
}
