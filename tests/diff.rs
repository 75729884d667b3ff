//! `iam-tighten diff` on `sample-data/`: CLI behaviour and exit codes, both forms of diff.csv,
//! and snapshots of diff.csv / diff.json for 2026-q3 → 2026-q4. The comparison's properties and
//! its per-action semantics are in `diff_semantics.rs`.

use crate::common::{copy_dir, sha256_hex as sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use assert_cmd::Command;
use iam_tighten::diff::ChangeKind;
use predicates::prelude::*;

// ---- CLI on sample-data ---------------------------------------------------------------------------

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn cmd() -> Command {
    let mut c = Command::cargo_bin("iam-tighten").expect("the binary is built");
    c.current_dir(root());
    c
}

pub(crate) struct Run {
    out: tempfile::TempDir,
    pub(crate) code: i32,
    pub(crate) stderr: String,
}

impl Run {
    pub(crate) fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.out.path().join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    }
}

/// `iam-tighten diff OLD NEW --out <temp> EXTRA…`, run from the crate root.
pub(crate) fn diff(old: &str, new: &str, extra: &[&str]) -> Run {
    let out = tempfile::tempdir().expect("temp dir");
    let o = cmd()
        .arg("diff")
        .arg(old)
        .arg(new)
        .arg("--out")
        .arg(out.path())
        .args(extra)
        .output()
        .expect("run iam-tighten");
    Run {
        code: o.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        out,
    }
}

fn kinds_in_csv(text: &str) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for line in text.lines().skip(1) {
        let kind = line.split(',').next().unwrap_or_default();
        *counts.entry(kind.to_string()).or_insert(0) += 1;
    }
    counts
}

/// q3 → q4 with `--exit-code`, shared by the tests that only read its outputs (grouped
/// diff.csv, changes only).
fn q3_q4() -> &'static Run {
    static RUN: std::sync::OnceLock<Run> = std::sync::OnceLock::new();
    RUN.get_or_init(|| {
        diff(
            "sample-data/2026-q3",
            "sample-data/2026-q4",
            &["--exit-code"],
        )
    })
}

/// q3 → q4 with every row, one per action (`--per-action --include-unchanged`).
fn q3_q4_per_action() -> &'static Run {
    static RUN: std::sync::OnceLock<Run> = std::sync::OnceLock::new();
    RUN.get_or_init(|| {
        diff(
            "sample-data/2026-q3",
            "sample-data/2026-q4",
            &["--per-action", "--include-unchanged"],
        )
    })
}

/// q3 → q4 with every row, grouped (`--include-unchanged`).
fn q3_q4_all_grouped() -> &'static Run {
    static RUN: std::sync::OnceLock<Run> = std::sync::OnceLock::new();
    RUN.get_or_init(|| {
        diff(
            "sample-data/2026-q3",
            "sample-data/2026-q4",
            &["--include-unchanged"],
        )
    })
}

/// A CSV read with a real reader (details hold commas), cells by column name.
struct Csv {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Csv {
    fn parse(text: &str) -> Csv {
        let mut r = csv::ReaderBuilder::new().from_reader(text.as_bytes());
        let header = r.headers().unwrap().iter().map(str::to_string).collect();
        let rows = r
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect();
        Csv { header, rows }
    }

    fn col(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    }

    fn get<'a>(&self, row: &'a [String], name: &str) -> &'a str {
        &row[self.col(name)]
    }
}

#[test]
fn q3_to_q4_shows_every_change_kind_and_exits_1() {
    let run = q3_q4();
    assert_eq!(run.code, 1, "{}", run.stderr);
    let json: serde_json::Value = serde_json::from_str(&run.file("diff.json")).unwrap();
    let per_action = kinds_in_csv(&q3_q4_per_action().file("diff.csv"));
    let grouped = kinds_in_csv(&run.file("diff.csv"));
    for kind in ChangeKind::ALL {
        if kind == ChangeKind::AccountAdded {
            continue; // q3 → q4 only closes an account; the reverse direction opens it (below).
        }
        if matches!(
            kind,
            ChangeKind::GrantUnknown | ChangeKind::UnusedWasUnknown | ChangeKind::PrincipalRenamed
        ) {
            // The sample lacks no policy, renames nobody, and its unknown → unused actions are
            // all action_not_tracked (newly_unused); see
            // a_missing_policy_is_not_a_revoked_or_new_grant,
            // unused_after_unknown_is_not_new_risk and a_renamed_user_is_paired_by_id.
            continue;
        }
        if kind.is_organization()
            && !matches!(
                kind,
                ChangeKind::PermissionSetChanged | ChangeKind::OrganizationAccountChanged
            )
        {
            continue; // the sample's organisation changes only these (the other kinds: below)
        }
        let n = json["counts"][kind.as_str()].as_u64().unwrap();
        assert!(n > 0, "no {} in diff.json counts", kind.as_str());
        // diff.json counts principal × action pairs: the rows of the per-action diff.csv.
        assert_eq!(per_action.get(kind.as_str()), Some(&n), "{}", kind.as_str());
        // The grouped diff.csv has every kind but the unchanged ones (without
        // --include-unchanged): the change kinds and identity_unknown.
        assert_eq!(
            grouped.contains_key(kind.as_str()),
            !kind.is_unchanged(),
            "{}",
            kind.as_str()
        );
    }
    assert!(run.stderr.contains("wrote "), "{}", run.stderr);
    for name in ["diff.csv", "diff.json", "diff.html"] {
        assert!(run.out.path().join(name).is_file(), "{name}");
    }
    // The parts of diff.csv are gone.
    let left: Vec<String> = std::fs::read_dir(run.out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// The per-action form with every kind is byte for byte the diff.csv `diff` wrote before it
/// compared groups (commit 04b5cd7 on the sample of then; bda7b10, the last commit before
/// grouping, on today's sample with its organisation part), but for the `actionable` column of
/// the IAM Identity Center roles' rows, `false` since they are never actionable (an IAM edit of
/// such a role is undone by Identity Center): every one of the 119,782 changed lines of that
/// change was such a row and only that column. An unused access key's detail has since named
/// the key's creation date (`, created or last rotated on <date>,`), taken out here. The
/// forty-sixth pass changed 8 rows, and only those, checked against the binary of b84beb1: role
/// ci-deploy's actions that ci-deploy-policy's v2 added, `unused` then, `grant_too_new` now;
/// and added one, the dev account's `root_without_mfa` (`identity_unchanged`: both quarters).
#[test]
fn per_action_csv_is_the_diff_csv_before_grouping() {
    const SINCE: &str = ", created or last rotated on ";
    let since = |l: &str| match l.find(SINCE) {
        // The clause, its date (10 bytes) and its closing comma.
        Some(at) => format!("{}{}", &l[..at], &l[at + SINCE.len() + 11..]),
        None => l.to_string(),
    };
    // Without the rows of the organisation parts' comparison, which came later.
    let csv: String = q3_q4_per_action()
        .file("diff.csv")
        .split_inclusive('\n')
        .filter(|l| !l.starts_with("permission_set_") && !l.starts_with("organization_"))
        .map(since)
        .collect();
    assert_eq!(
        sha256(&csv),
        "f9b83bc0b57c10318b7764361ee278c5cae4fe62901cc5647406a07bcdb3a653"
    );
    assert_eq!(csv.lines().count(), 135822);
}

#[test]
fn q3_to_q4_tells_the_sample_story() {
    let csv = q3_q4_per_action().file("diff.csv");
    let has = |kind: &str, principal: &str, action: &str| {
        csv.lines().any(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            cells.first() == Some(&kind)
                && cells.get(3) == Some(&principal)
                && cells.get(5) == Some(&action)
        })
    };
    assert!(has("revoked", "ExampleCorpQA", "s3:DeleteBucket"));
    assert!(has("newly_granted", "ci-deploy", "lambda:PublishVersion"));
    assert!(has("newly_granted", "ci-deploy", "lambda:UpdateAlias"));
    assert!(has(
        "newly_unused",
        "ExampleCorpQA",
        "ec2:TerminateInstances"
    ));
    assert!(has(
        "newly_unused",
        "ci-deploy",
        "lambda:UpdateFunctionConfiguration"
    ));
    assert!(has("newly_used", "ExampleCorpQA", "ec2:CreateTags"));
    assert!(has("newly_used", "BreakGlassAdmin", "iam:GetRole"));
    assert!(has("still_unused", "ExampleCorpQA", "ec2:CreateFleet"));
    assert!(has("still_unused", "ExampleCorpQA", "ec2:RunInstances"));
    assert!(has(
        "unchanged_used",
        "ExampleCorpQA",
        "ec2:DescribeInstances"
    ));
    // The sample README lists ci-bot's ecr:PutImage as unchanged; ecr has no action-level
    // last-accessed data, so the analysis calls it unknown on both sides.
    assert!(has("still_unknown", "ci-bot", "ecr:PutImage"));
    assert!(has("principal_added", "data-pipeline-2026", ""));
    assert!(has("principal_removed", "migration-2026q2", ""));
    assert!(has("principal_recreated", "etl-runner", ""));
    assert!(
        csv.lines()
            .any(|l| l.starts_with("account_removed,333333333333,"))
    );
    // The inline policy named `=1+1` must not be a live formula.
    assert!(!csv.contains(",=1+1"), "a formula cell in diff.csv");
    assert!(!q3_q4().file("diff.csv").contains(",=1+1"));
}

/// The verdict columns a grouped row and its per-action rows share.
const VERDICT: [&str; 12] = [
    "kind",
    "principal_arn",
    "service",
    "old_status",
    "new_status",
    "old_reason",
    "new_reason",
    "old_last_accessed",
    "new_last_accessed",
    "granted_by_old",
    "granted_by_new",
    "excluded",
];

/// Every grouped row's notation names exactly the actions of the per-action rows with its kind,
/// principal and verdicts, and its counts count them.
#[test]
fn grouped_rows_name_exactly_their_actions() {
    let cat = iam_tighten::catalog::Catalog::embedded();
    let mut expander = iam_tighten::policy::Expander::new(cat);
    let per = Csv::parse(&q3_q4_per_action().file("diff.csv"));
    let grouped = Csv::parse(&q3_q4_all_grouped().file("diff.csv"));
    let key = |t: &Csv, r: &[String]| VERDICT.map(|c| t.get(r, c).to_string());
    let mut want: BTreeMap<[String; 12], (BTreeSet<String>, [u64; 4])> = BTreeMap::new();
    for r in per
        .rows
        .iter()
        .filter(|r| !per.get(r, "service").is_empty())
    {
        let e = want.entry(key(&per, r)).or_default();
        e.0.insert(per.get(r, "action").to_lowercase());
        let s = ["critical", "high", "medium", "low"];
        let current = match per.get(r, "new_sensitivity") {
            "" => per.get(r, "old_sensitivity"),
            s => s,
        };
        e.1[s.iter().position(|x| *x == current).unwrap()] += 1;
    }
    let mut got: BTreeMap<[String; 12], (BTreeSet<String>, [u64; 4])> = BTreeMap::new();
    for r in grouped
        .rows
        .iter()
        .filter(|r| !grouped.get(r, "service").is_empty())
    {
        let text = grouped.get(r, "action");
        let actions = iam_tighten::policy::expand_notation(text, &mut expander)
            .unwrap()
            .actions;
        let names: BTreeSet<String> = actions
            .iter()
            .map(|id| cat.full_name(id).to_lowercase())
            .collect();
        let n = |c: &str| grouped.get(r, c).parse::<u64>().unwrap();
        assert_eq!(n("actions"), names.len() as u64, "{text}");
        let counts = [
            n("critical_actions"),
            n("high_actions"),
            n("medium_actions"),
            n("low_actions"),
        ];
        assert_eq!(counts.iter().sum::<u64>(), n("actions"));
        let e = got.entry(key(&grouped, r)).or_default();
        assert!(e.0.is_disjoint(&names), "{text}: two rows share an action");
        e.0.extend(names);
        for (a, b) in e.1.iter_mut().zip(counts) {
            *a += b;
        }
    }
    assert_eq!(got.len(), want.len());
    for (k, v) in &want {
        assert_eq!(got.get(k), Some(v), "{k:?}");
    }
    // The policy detach of the sample: dev-sandbox lost AmazonS3FullAccess, 206 actions in a
    // handful of rows (one per service and old verdict).
    let detach: Vec<&Vec<String>> = grouped
        .rows
        .iter()
        .filter(|r| {
            grouped.get(r, "kind") == "revoked" && grouped.get(r, "principal_name") == "dev-sandbox"
        })
        .collect();
    let total: u64 = detach
        .iter()
        .map(|r| grouped.get(r, "actions").parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, 206);
    assert!(detach.len() < 10, "{}", detach.len());
}

#[test]
fn q4_to_q3_opens_the_account() {
    let run = diff("sample-data/2026-q4", "sample-data/2026-q3", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let counts = kinds_in_csv(&run.file("diff.csv"));
    assert_eq!(counts.get("account_added"), Some(&1));
    assert_eq!(counts.get("account_removed"), None);
}

#[test]
fn q4_against_itself_has_no_changes() {
    let run = diff(
        "sample-data/2026-q4",
        "sample-data/2026-q4",
        &["--exit-code", "--fail-on-new", "low"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    // diff.csv holds changes: here none, only the header.
    assert_eq!(run.file("diff.csv").lines().count(), 1);
    let json: serde_json::Value =
        serde_json::from_str(&run.file("diff.json")).expect("diff.json is JSON");
    assert_eq!(json["headline"]["changes"], 0);
    // The unchanged kinds are counted in diff.json and written with --include-unchanged.
    let run = diff(
        "sample-data/2026-q4",
        "sample-data/2026-q4",
        &["--include-unchanged"],
    );
    let counts = kinds_in_csv(&run.file("diff.csv"));
    let kinds: BTreeSet<&str> = counts.keys().map(String::as_str).collect();
    let unchanged = [
        "identity_unchanged",
        "still_unknown",
        "still_unused",
        "unchanged_used",
    ];
    assert_eq!(kinds, BTreeSet::from(unchanged));
    for k in unchanged {
        assert_eq!(
            json["row_counts"][k].as_u64(),
            counts.get(k).copied(),
            "{k}"
        );
        assert!(json["counts"][k].as_u64() >= counts.get(k).copied(), "{k}");
    }
}

#[test]
fn fail_on_new_looks_at_the_level() {
    // q3 → q4 brings one critical newly unused permission (ci-deploy
    // lambda:UpdateFunctionConfiguration) and a high newly granted one.
    let run = diff(
        "sample-data/2026-q3",
        "sample-data/2026-q4",
        &["--fail-on-new", "critical"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("--fail-on-new"), "{}", run.stderr);
    // Without --exit-code or --fail-on-new, changes alone do not fail.
    let run = diff("sample-data/2026-q3", "sample-data/2026-q4", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn q3_to_q4_identity_changes_follow_the_data() {
    let t = Csv::parse(&q3_q4_all_grouped().file("diff.csv"));
    let rows = &t.rows;
    let find = |kind: &str, principal: &str, finding: &str| {
        rows.iter()
            .filter(|r| {
                t.get(r, "kind") == kind
                    && t.get(r, "principal_name") == principal
                    && t.get(r, "action") == finding
            })
            .collect::<Vec<_>>()
    };
    // former-contractor's key 1 was used on 2026-06-18: inside q3's window, before q4's.
    let key = find("identity_new", "former-contractor", "access_key_unused");
    assert_eq!(key.len(), 1, "{rows:?}");
    let key = key[0];
    assert_eq!(t.get(key, "account_id"), "222222222222");
    assert_eq!(t.get(key, "new_sensitivity"), "high");
    // No finding on the old side; on the new side the key's last use.
    assert_eq!(t.get(key, "old_last_accessed"), "");
    assert_eq!(t.get(key, "new_last_accessed"), "2026-06-18T17:56:12Z");
    let detail = t.get(key, "detail");
    assert!(detail.starts_with("credential access_key_1: "), "{detail}");
    // With it the user and its password became unused too.
    assert_eq!(
        find("identity_new", "former-contractor", "unused_user").len(),
        1
    );
    assert_eq!(
        find("identity_new", "former-contractor", "password_unused").len(),
        1
    );
    // Already found in q3, still there in q4.
    assert_eq!(
        find("identity_unchanged", "former-contractor", "access_key_old").len(),
        1
    );
    assert_eq!(
        find("identity_unchanged", "bob", "access_key_unused").len(),
        1
    );
    // BreakGlassAdmin was used within q4's window: its unused_role finding is resolved.
    assert_eq!(
        find("identity_resolved", "BreakGlassAdmin", "unused_role").len(),
        1
    );
    // Account 333333333333 is only in q3 (and has no credential report): its finding is unknown,
    // never resolved.
    let unknown = find(
        "identity_unknown",
        "OrganizationAccountAccessRole",
        "unused_role",
    );
    assert_eq!(unknown.len(), 1);
    let detail = t.get(unknown[0], "detail");
    assert!(detail.contains("could not run this check"), "{detail}");
    let by_kind = |k: &str| rows.iter().filter(|r| t.get(r, "kind") == k).count();
    assert_eq!(by_kind("identity_resolved"), 1);
    assert_eq!(by_kind("identity_unknown"), 1);
    assert!(!rows.iter().any(
        |r| t.get(r, "kind") == "identity_resolved" && t.get(r, "account_id") == "333333333333"
    ));

    let json: serde_json::Value =
        serde_json::from_str(&q3_q4().file("diff.json")).expect("diff.json is JSON");
    assert_eq!(json["counts"]["identity_resolved"], 1);
    assert_eq!(json["counts"]["identity_unknown"], 1);
    let notes = json["notes"].as_array().expect("notes");
    assert!(
        notes
            .iter()
            .any(|n| n.as_str().is_some_and(|n| n
                .contains("Identity checks not possible on the old side (account 333333333333"))),
        "{notes:?}"
    );
    let html = q3_q4().file("diff.html");
    assert!(html.contains("Identities and credentials"));
    assert!(html.contains("access_key_unused"));
}

/// q4 against a copy of q4 where former-contractor's key was last used within the window: the
/// permissions are identical, only identity findings differ.
#[test]
fn fail_on_new_counts_new_identity_findings() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let old = tmp.path().join("old");
    copy_dir(&root().join("sample-data/2026-q4"), &old);
    let report = old.join("222222222222/credential-report.csv");
    let text = std::fs::read_to_string(&report).expect("credential report");
    let used = text.replace(
        "2025-02-03T09:10:00+00:00,2026-06-18T17:56:12+00:00",
        "2025-02-03T09:10:00+00:00,2026-11-01T17:56:12+00:00",
    );
    assert_ne!(text, used, "the sample's former-contractor row changed");
    std::fs::write(&report, used).expect("write");
    let old = old.to_str().expect("utf-8 path");

    let run = diff(old, "sample-data/2026-q4", &["--fail-on-new", "high"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("--fail-on-new"), "{}", run.stderr);
    let counts = kinds_in_csv(&run.file("diff.csv"));
    assert_eq!(counts.get("identity_new"), Some(&2), "{counts:?}"); // key and user
    for k in [
        "newly_granted",
        "newly_unused",
        "principal_added",
        "identity_resolved",
    ] {
        assert_eq!(counts.get(k), None, "{k}: {counts:?}");
    }
    // The new key finding is high, the user medium: nothing critical is new.
    let run = diff(old, "sample-data/2026-q4", &["--fail-on-new", "critical"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // --exit-code counts identity changes.
    let run = diff(old, "sample-data/2026-q4", &["--exit-code"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    // The other way round the key finding is resolved (the key was used again).
    let run = diff("sample-data/2026-q4", old, &["--fail-on-new", "low"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let counts = kinds_in_csv(&run.file("diff.csv"));
    assert_eq!(counts.get("identity_resolved"), Some(&2), "{counts:?}");
}

/// Without `--include-unchanged`, diff.csv leaves out only the four unchanged kinds: account
/// 333333333333's old `unused_role` finding, which q4 could not check, is an `identity_unknown`
/// row of diff.csv, as diff.json counts it and diff.html says.
#[test]
fn identity_unknown_rows_are_in_diff_csv() {
    let run = q3_q4();
    let t = Csv::parse(&run.file("diff.csv"));
    let of_kind = |k: &str| {
        t.rows
            .iter()
            .filter(|r| t.get(r, "kind") == k)
            .collect::<Vec<_>>()
    };
    let unknown = of_kind("identity_unknown");
    assert_eq!(unknown.len(), 1, "{:?}", t.rows.len());
    let cell = |name: &str| t.get(unknown[0], name);
    assert_eq!(cell("account_id"), "333333333333");
    assert_eq!(cell("principal_name"), "OrganizationAccountAccessRole");
    assert_eq!(cell("action"), "unused_role");
    assert_eq!(cell("old_sensitivity"), "high");
    // Every kind diff.json counts is in diff.csv, row for row, but the unchanged ones.
    let json: serde_json::Value = serde_json::from_str(&run.file("diff.json")).unwrap();
    for kind in ChangeKind::ALL {
        let unchanged = matches!(
            kind,
            ChangeKind::StillUnused
                | ChangeKind::StillUnknown
                | ChangeKind::UnchangedUsed
                | ChangeKind::IdentityUnchanged
        );
        let rows = json["row_counts"][kind.as_str()].as_u64().unwrap();
        let want = if unchanged { 0 } else { rows as usize };
        assert_eq!(of_kind(kind.as_str()).len(), want, "{}", kind.as_str());
    }
    // Each identity table of diff.html says how many rows diff.csv has: it has them.
    let html = run.file("diff.html");
    for (id, kind) in [
        ("identity-new", "identity_new"),
        ("identity-resolved", "identity_resolved"),
        ("identity-unknown", "identity_unknown"),
    ] {
        let cap = format!("id=\"{id}-cap\"");
        let at = html.find(&cap).unwrap_or_else(|| panic!("{cap}"));
        let note = &html[at..];
        let n = note["— ".len() + note.find("— ").unwrap()..]
            .split(' ')
            .next()
            .unwrap();
        assert_eq!(n, of_kind(kind).len().to_string(), "{id}");
    }
}

/// The still-unused table points to diff.csv for its rows' hidden parts only where diff.csv has
/// those rows: `--include-unchanged`. Without it, it says that flag (it sent the reader to
/// diff.csv, which had none of them; review pass 45).
#[test]
fn still_unused_rows_point_to_diff_csv_only_when_it_has_them() {
    let table = |run: &Run| {
        let html = run.file("diff.html");
        let at = html.find("id=\"still-unused-table\"").expect("the table");
        let end = at + html[at..].find("</table>").expect("its end");
        html[at..end].to_string()
    };
    let default = table(q3_q4());
    assert!(
        default.contains("more in diff.csv with --include-unchanged."),
        "{default}"
    );
    assert!(!default.contains("more in diff.csv."), "{default}");
    let all = table(q3_q4_all_grouped());
    assert!(all.contains("more in diff.csv."), "{all}");
    assert!(!all.contains("with --include-unchanged"), "{all}");
}

/// The rows of a permission table of diff.html (`new-risk`, `revoked`, `still-unused`): for
/// each, its principal, its sensitivity label and its counts (`8 high · 78 medium · 71 low`).
fn table_labels(html: &str, id: &str) -> Vec<(String, String, String)> {
    let start = html
        .find(&format!("id=\"{id}-table\""))
        .unwrap_or_else(|| panic!("the {id} table"));
    let end = start + html[start..].find("</table>").expect("its end");
    let after = |row: &str, from: &str, to: &str| -> String {
        let i = row.find(from).map(|i| i + from.len()).unwrap_or(row.len());
        row[i..].split(to).next().unwrap_or_default().to_string()
    };
    html[start..end]
        .split("<tr>")
        .skip(2) // the header, then the body rows
        .filter(|row| !row.contains("class=\"empty\""))
        .map(|row| {
            let th = "<th scope=\"row\">";
            let who = &row[th.len() + row.find(th).expect("a principal")..];
            let counts = &who[who.find("</th><td>").expect("the actions cell")..];
            (
                after(who, "\">", "<"),
                after(row, "<span class=\"sev ", "\""),
                after(counts, "<span class=\"sub\">", "<"),
            )
        })
        .collect()
}

/// Every row of diff.html's permission tables is labelled by the highest sensitivity its counts
/// name (counts of the new side; of the old side for revoked).
fn assert_labels_match_counts(html: &str) {
    for id in ["new-risk", "revoked", "still-unused", "not-settled"] {
        for (who, label, counts) in table_labels(html, id) {
            let highest = counts.split(" · ").next().and_then(|c| c.split(' ').nth(1));
            assert_eq!(Some(label.as_str()), highest, "{id}: {who}: {counts}");
        }
    }
}

/// The "New risk" table ranks and labels by the new side's sensitivity, as its counts,
/// diff.json's `new_risk` and `--fail-on-new` do. ExampleCorpQA holds iam:PassRole in q3 only,
/// which makes its ec2:RunInstances critical there (medium in q4); RunInstances, used on
/// 2026-08-10, is used in q3's window and not in q4's: newly unused, critical → medium.
#[test]
fn new_risk_table_goes_by_the_new_side() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (old, new) = (tmp.path().join("q3"), tmp.path().join("q4"));
    copy_dir(&root().join("sample-data/2026-q3"), &old);
    copy_dir(&root().join("sample-data/2026-q4"), &new);
    // Edits a file of account 111111111111 and its SHA-256 in manifest.json.
    let edit = |side: &Path, file: &str, change: &dyn Fn(&mut serde_json::Value)| {
        let acct = side.join("111111111111");
        let read = |p: &Path| -> serde_json::Value {
            serde_json::from_str(&std::fs::read_to_string(p).expect("read")).expect("JSON")
        };
        let mut doc = read(&acct.join(file));
        change(&mut doc);
        let text = serde_json::to_string_pretty(&doc).expect("serialise");
        std::fs::write(acct.join(file), &text).expect("write");
        let mut manifest = read(&acct.join("manifest.json"));
        manifest["files"][file] = sha256(&text).into();
        let manifest = serde_json::to_string_pretty(&manifest).expect("serialise");
        std::fs::write(acct.join("manifest.json"), manifest).expect("write");
    };
    edit(&old, "authorization-details.json", &|doc| {
        let roles = doc["RoleDetailList"].as_array_mut().expect("roles");
        let qa = roles
            .iter_mut()
            .find(|r| r["RoleName"] == "ExampleCorpQA")
            .expect("ExampleCorpQA");
        let statements = qa["RolePolicyList"][0]["PolicyDocument"]["Statement"]
            .as_array_mut()
            .expect("its inline policy");
        statements.push(serde_json::json!(
            {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}
        ));
    });
    for side in [&old, &new] {
        edit(side, "last-accessed/roles/ExampleCorpQA.json", &|doc| {
            let ec2 = doc["ServicesLastAccessed"]
                .as_array_mut()
                .expect("services")
                .iter_mut()
                .find(|s| s["ServiceNamespace"] == "ec2")
                .expect("ec2");
            let run = ec2["TrackedActionsLastAccessed"]
                .as_array_mut()
                .expect("actions")
                .iter_mut()
                .find(|a| a["ActionName"] == "RunInstances")
                .expect("RunInstances");
            run["LastAccessedTime"] = "2026-08-10T10:13:00+00:00".into();
        });
    }
    let run = diff(
        old.to_str().expect("utf-8"),
        new.to_str().expect("utf-8"),
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The row as described: critical before, medium now, counted as medium.
    let t = Csv::parse(&run.file("diff.csv"));
    let row = t
        .rows
        .iter()
        .find(|r| {
            t.get(r, "kind") == "newly_unused"
                && t.get(r, "principal_name") == "ExampleCorpQA"
                && t.get(r, "action") == "ec2:RunInstances"
        })
        .expect("ExampleCorpQA's ec2:RunInstances newly unused");
    assert_eq!(t.get(row, "old_sensitivity"), "critical");
    assert_eq!(t.get(row, "new_sensitivity"), "medium");
    assert_eq!(t.get(row, "critical_actions"), "0");
    let json: serde_json::Value = serde_json::from_str(&run.file("diff.json")).unwrap();
    assert_eq!(json["new_risk"]["newly_unused"]["critical"], 1); // ci-deploy's, as in the sample
    // ExampleCorpQA's newly unused group is high (its cloudwatch actions), not critical, and
    // holds only the rows that are high or critical now: not ec2:RunInstances.
    let html = run.file("diff.html");
    let qa: Vec<_> = table_labels(&html, "new-risk")
        .into_iter()
        .filter(|(who, _, _)| who == "ExampleCorpQA")
        .collect();
    assert_eq!(
        qa,
        vec![(
            "ExampleCorpQA".to_string(),
            "high".to_string(),
            "8 high · 78 medium · 71 low".to_string()
        )]
    );
    assert_labels_match_counts(&html);
    assert_labels_match_counts(&q3_q4().file("diff.html"));
}

#[test]
fn missing_folder_exits_2_and_names_it() {
    let run = diff("sample-data/2026-q3", "sample-data/no-such-quarter", &[]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no-such-quarter"), "{}", run.stderr);
    assert!(run.stderr.contains("new export"), "{}", run.stderr);
    assert!(!run.out.path().join("diff.csv").exists());
}

#[test]
fn as_of_is_refused_and_not_offered() {
    cmd()
        .args([
            "diff",
            "sample-data/2026-q3",
            "sample-data/2026-q4",
            "--as-of",
            "2026-11-20T00:00:00Z",
        ])
        .arg("--out")
        .arg(tempfile::tempdir().expect("temp dir").path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--as-of is not supported by diff"));
    // `diff --help` offers only flags that work; `report --help` keeps --as-of.
    cmd()
        .args(["diff", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--as-of").not())
        .stdout(predicate::str::contains("--include-unchanged"))
        .stdout(predicate::str::contains("--per-action"));
    cmd()
        .args(["report", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--as-of"));
}

/// q4 as the old side and q3 as the new: stderr warns, diff.html says so at the top, and
/// `--exit-code` exits 3 (not 1, though there are changes).
#[test]
fn swapped_sides_warn_and_exit_3_under_exit_code() {
    let run = diff("sample-data/2026-q4", "sample-data/2026-q3", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("the sides look swapped"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("111111111111, 222222222222"),
        "{}",
        run.stderr
    );
    let html = run.file("diff.html");
    assert!(html.contains("id=\"swapped\""), "no alert in diff.html");
    let json: serde_json::Value = serde_json::from_str(&run.file("diff.json")).unwrap();
    assert_eq!(
        json["swapped_accounts"],
        serde_json::json!(["111111111111", "222222222222"])
    );
    let run = diff(
        "sample-data/2026-q4",
        "sample-data/2026-q3",
        &["--exit-code"],
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("exit 3"), "{}", run.stderr);
    // The right way round: no warning.
    assert!(!q3_q4().stderr.contains("swapped"), "{}", q3_q4().stderr);
    assert!(!q3_q4().file("diff.html").contains("id=\"swapped\""));
    assert!(
        run.stderr.contains("(run `iam-tighten diff"),
        "{}",
        run.stderr
    );

    // One account swapped of two: swapping the folders would swap the other (review pass 47).
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (dir.path().join("old"), dir.path().join("new"));
    for (side, a, quarter) in [
        (&old, "111111111111", "2026-q3"),
        (&old, "222222222222", "2026-q4"),
        (&new, "111111111111", "2026-q4"),
        (&new, "222222222222", "2026-q3"),
    ] {
        let from = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("sample-data")
            .join(quarter)
            .join(a);
        crate::common::copy_dir(&from, &side.join(a));
    }
    let run = diff(old.to_str().unwrap(), new.to_str().unwrap(), &[]);
    assert!(
        run.stderr.contains("for account(s) 222222222222;")
            && run.stderr.contains("exchange those accounts' exports")
            && !run.stderr.contains("(run `iam-tighten diff"),
        "{}",
        run.stderr
    );
}

#[test]
fn stderr_summary_groups_digits() {
    let err = &q3_q4().stderr;
    assert!(
        err.contains("unused critical/high permissions: 2,134 → 1,562; 1,137 change(s)"),
        "{err}"
    );
}

/// Issue 16: dev-sandbox lost AmazonS3FullAccess (206 actions in two services, four old
/// verdicts): one row of the Revoked table, with the actions one click away.
#[test]
fn html_shows_a_policy_detach_as_one_row() {
    let html = q3_q4().file("diff.html");
    let start = html
        .find("id=\"revoked-table\"")
        .expect("the revoked table");
    let end = start + html[start..].find("</table>").expect("its end");
    let table = &html[start..end];
    let rows: Vec<&str> = table.split("<tr>").skip(2).collect(); // header, then body rows
    let sandbox: Vec<&&str> = rows
        .iter()
        .filter(|r| r.contains(">dev-sandbox<"))
        .collect();
    assert_eq!(sandbox.len(), 1, "{table}");
    let row = sandbox[0];
    assert!(
        row.contains("<b>206 actions</b> in s3, s3-object-lambda"),
        "{row}"
    );
    assert!(row.contains("aws:AmazonS3FullAccess"), "{row}");
    assert!(row.contains("<details"), "{row}");
    assert!(
        row.contains("<code>s3:AbortMultipartUpload</code>"),
        "{row}"
    );
    // Four rows in all: the detach, ExampleCorpQA's s3:DeleteBucket, and the Developer
    // permission set's s3-object-lambda grant removed in the set, one row per account's role.
    assert_eq!(rows.len(), 4, "{table}");
    assert_eq!(
        rows.iter()
            .filter(|r| r.contains(">AWSReservedSSO_Developer_"))
            .count(),
        2,
        "{table}"
    );
}

/// A principal no IAM change tightens is labelled with why: an IAM Identity Center role (its
/// permission set is what changes) is not "service-linked", as every such row read before.
#[test]
fn html_says_why_a_principal_is_not_actionable() {
    let html = q3_q4().file("diff.html");
    let label = |prefix: &str| -> Vec<&str> {
        // A principal's cell: `<span title="ARN">NAME</span> <span class="sub">…</span>`.
        let sub = "</span> <span class=\"sub\">";
        html.match_indices(&format!("\">{prefix}"))
            .filter_map(|(i, _)| {
                let rest = &html[i..];
                let name_end = rest.find('<')?;
                let label = rest[name_end..].strip_prefix(sub)?;
                Some(&label[..label.find("</span>")?])
            })
            .collect()
    };
    let sso = label("AWSReservedSSO_");
    assert!(sso.len() > 5, "{sso:?}");
    for l in &sso {
        assert!(
            l.ends_with("· IAM Identity Center role: its permission set is what changes"),
            "{l}"
        );
    }
    let linked = label("AWSServiceRoleFor");
    assert!(!linked.is_empty());
    for l in &linked {
        assert!(l.ends_with("· service-linked"), "{l}");
    }
}

#[test]
fn outputs_are_byte_identical_across_runs() {
    let again = diff(
        "sample-data/2026-q3",
        "sample-data/2026-q4",
        &["--exit-code"],
    );
    for name in ["diff.csv", "diff.json", "diff.html"] {
        assert!(
            q3_q4().file(name) == again.file(name),
            "{name} differs between two runs"
        );
    }
}

#[test]
fn html_is_self_contained_and_escaped() {
    let html = q3_q4().file("diff.html");
    assert!(html.contains("default-src 'none'; style-src 'unsafe-inline'"));
    assert!(!html.contains("<script"), "diff.html has no script");
    assert!(html.contains("Unused critical/high permissions"));
    assert!(html.contains(" → "));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external resources"
    );
    assert!(html.len() < 2_000_000, "diff.html is {} bytes", html.len());
}

// ---- snapshots ------------------------------------------------------------------------------------

/// The grouped diff.csv of q3 → q4 (changes only) in full, and its rows per kind with
/// `--include-unchanged`. (The per-action form is pinned by its digest above.)
#[test]
fn snapshot_diff_csv() {
    let csv = q3_q4().file("diff.csv");
    let all = q3_q4_all_grouped().file("diff.csv");
    let mut snap = format!(
        "lines {}\n---- rows per kind with --include-unchanged\n",
        csv.lines().count()
    );
    for (kind, n) in kinds_in_csv(&all) {
        snap.push_str(&format!("{kind} {n}\n"));
    }
    snap.push_str("---- diff.csv\n");
    for line in csv.lines() {
        snap.push_str(line);
        snap.push('\n');
    }
    insta::assert_snapshot!("diff_csv_q3_q4", snap);
}

/// diff.json is ~260 KB; the snapshot pins its SHA-256 and the model with `rows` cut to the
/// first 300 (all other fields in full).
#[test]
fn snapshot_diff_json() {
    let text = q3_q4().file("diff.json");
    let mut json: serde_json::Value = serde_json::from_str(&text).expect("diff.json is JSON");
    let rows = json["rows"].as_array().map_or(0, Vec::len);
    if let Some(r) = json["rows"].as_array_mut() {
        r.truncate(300);
    }
    let snap = format!(
        "sha256 {}\nrows {rows}\n{}",
        sha256(&text),
        serde_json::to_string_pretty(&json).expect("serialise")
    );
    insta::assert_snapshot!("diff_json_q3_q4", snap);
}

/// The real-browser test of diff.html (tests/browser/run.sh --diff: Debian chromium driven by
/// playwright-core, offline) on the sample's q3 → q4: a policy detach is one row, nothing
/// overflows a 1,280 px window, and an emulated print on A4 portrait and Letter landscape keeps
/// every column on the page. Runs when chromium, node and the browser test's node_modules are
/// present; with IAM_TIGHTEN_REQUIRE_BROWSER set (CI) their absence is a failure.
#[test]
fn real_browser_on_sample_diff() {
    let page = q3_q4().out.path().join("diff.html");
    crate::common::real_browser_test(&["--diff".as_ref(), page.as_os_str()]);
}

/// One account exported twice on one side is an error, as for `report`.
#[test]
fn an_account_twice_on_one_side_is_an_error() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let org = tmp.path().join("org");
    copy_dir(
        &root().join("sample-data/2026-q4/111111111111"),
        &org.join("a"),
    );
    copy_dir(
        &root().join("sample-data/2026-q4/111111111111"),
        &org.join("b"),
    );
    let run = diff(
        org.to_str().expect("utf-8 path"),
        "sample-data/2026-q4",
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("account 111111111111 is exported twice"),
        "{}",
        run.stderr
    );
}

// ---- the organisation parts (issue 19) ------------------------------------------------------------

/// q3 → q4: the Developer permission set lost AmazonS3ReadOnlyAccess and account 333333333333,
/// and the hackathon account was suspended (sample-data/README.md, "What changed").
#[test]
fn q3_to_q4_compares_the_organisation_parts() {
    let run = q3_q4();
    let csv = run.file("diff.csv");
    let rows: Vec<&str> = csv
        .lines()
        .filter(|l| {
            ChangeKind::ALL
                .iter()
                .any(|k| k.is_organization() && l.starts_with(&format!("{},", k.as_str())))
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            "permission_set_changed,999999999999,permission_set,Developer,\
             arn:aws:sso:::permissionSet/ssoins-7223a1b2c3d4e5f6/ps-516951693ea7b98f,,,,,,,,,,,,,,,,,,\
             true,false,AWS managed AmazonS3ReadOnlyAccess detached; no longer provisioned to \
             333333333333",
            "organization_account_changed,333333333333,account,examplecorp-hackathon,,,,,,,,,,,,,,,,,,,\
             true,false,status ACTIVE → SUSPENDED",
        ]
    );
    assert!(
        run.stderr.contains(
            "organisation: 1 permission set(s) added, removed or changed; 0 SCP/RCP(s) added, \
             removed or changed; 1 account(s) of the organisation changed"
        ),
        "{}",
        run.stderr
    );
    let html = run.file("diff.html");
    let start = html.find("id=\"organization-table\"").expect("the table");
    let table = &html[start..start + html[start..].find("</table>").unwrap()];
    assert_eq!(table.matches("<tr>").count(), 3, "{table}"); // header + 2
    assert!(table.contains("AWS managed AmazonS3ReadOnlyAccess detached"));
    assert!(html.contains("<a href=\"#organization\">Organisation</a>"));
    let json: serde_json::Value = serde_json::from_str(&run.file("diff.json")).unwrap();
    for side in ["old", "new"] {
        assert_eq!(
            json[side]["organization"]["management_account"],
            "999999999999"
        );
    }
    assert_eq!(json["counts"]["permission_set_changed"], 1);
    assert_eq!(json["row_counts"]["organization_account_changed"], 1);
}

/// A copy of q4 whose SCP DenySageMaker moved from the Sandbox OU to account 111111111111 and
/// whose Developer set got a shorter session: two changes, and `--exit-code` fails on them.
#[test]
fn an_scp_and_a_permission_set_edit_are_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let new = tmp.path().join("q4-edited");
    copy_dir(&root().join("sample-data/2026-q4"), &new);
    let org = new.join("organization");
    std::fs::write(
        org.join("targets/p-3aa73e12.json"),
        r#"{"Targets": [{"TargetId": "111111111111", "Arn": "arn:aws:organizations::999999999999:account/o-exmp1234ab/111111111111", "Name": "examplecorp-prod", "Type": "ACCOUNT"}]}"#,
    )
    .unwrap();
    let set = std::fs::read_dir(org.join("sso/ssoins-7223a1b2c3d4e5f6"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("ps-516951693ea7b98f"))
        .expect("the Developer set's folder");
    let describe = set.join("describe-permission-set.json");
    let text = std::fs::read_to_string(&describe).unwrap();
    assert!(text.contains("\"PT8H\""), "{text}");
    std::fs::write(&describe, text.replace("\"PT8H\"", "\"PT1H\"")).unwrap();

    let run = diff(
        "sample-data/2026-q4",
        new.to_str().unwrap(),
        &["--exit-code"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let csv = run.file("diff.csv");
    let detail = |kind: &str| -> Vec<String> {
        csv.lines()
            .filter(|l| l.starts_with(&format!("{kind},")))
            .map(|l| l.rsplit(",false,").next().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        detail("control_policy_changed"),
        vec![
            "SCP p-3aa73e12: attached to account examplecorp-prod (111111111111); detached from \
             OU Sandbox (ou-exmp-sandbox1)"
        ]
    );
    assert_eq!(
        detail("permission_set_changed"),
        vec!["session duration PT8H → PT1H"]
    );
    // Only the organisation changed: no permission row.
    assert_eq!(csv.lines().count(), 3, "{csv}");
}

/// An organisation part on one side only is a note, not a list of changes; a broken one is an
/// error that names the side and the file.
#[test]
fn organisation_part_on_one_side_or_broken() {
    let tmp = tempfile::tempdir().unwrap();
    let new = tmp.path().join("q4-no-org");
    copy_dir(&root().join("sample-data/2026-q4"), &new);
    std::fs::remove_dir_all(new.join("organization")).unwrap();
    let run = diff("sample-data/2026-q4", new.to_str().unwrap(), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json: serde_json::Value = serde_json::from_str(&run.file("diff.json")).unwrap();
    assert!(
        json["notes"].as_array().unwrap().iter().any(|n| n
            .as_str()
            .unwrap()
            .starts_with("Only the old side has an organisation part")),
        "{}",
        json["notes"]
    );
    assert!(json["new"].get("organization").is_none());
    assert!(!run.file("diff.html").contains("id=\"organization\""));
    assert!(!run.stderr.contains("organisation:"), "{}", run.stderr);

    let broken = tmp.path().join("q4-broken");
    copy_dir(&root().join("sample-data/2026-q4"), &broken);
    std::fs::write(
        broken.join("organization/list-accounts.json"),
        "{\"Accounts\": 7}",
    )
    .unwrap();
    let run = diff("sample-data/2026-q4", broken.to_str().unwrap(), &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("loading the new organisation part"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("list-accounts.json"), "{}", run.stderr);
    assert!(run.stderr.contains("Accounts"), "{}", run.stderr);
}

// ---- what the sides cannot compare (thirty-sixth pass) ------------------------------------

/// A copy of the sample's account 111111111111 (q4) under `dir`, without its manifest (whose
/// hashes an edit would break), its authorization details edited by `edit`.
fn edited_account(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    copy_dir(&root().join("sample-data/2026-q4/111111111111"), dir);
    std::fs::remove_file(dir.join("manifest.json")).unwrap();
    let path = dir.join("authorization-details.json");
    let mut details: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut details);
    std::fs::write(&path, serde_json::to_string_pretty(&details).unwrap()).unwrap();
    dir.to_str().unwrap().to_string()
}

/// Leaves policy `name` out of `Policies` (as a filtered GAAD does: `policy_missing`).
fn without_policy(name: &'static str) -> impl FnOnce(&mut serde_json::Value) {
    move |d| {
        let policies = d["Policies"].as_array_mut().unwrap();
        let before = policies.len();
        policies.retain(|p| p["PolicyName"] != name);
        assert_eq!(policies.len() + 1, before, "{name} is in the sample");
    }
}

/// A grant through a policy whose document one side lacks (`policy_missing`) is not revoked nor
/// newly granted: nobody can tell. It is `grant_unknown` in diff.csv, and not a change for
/// `--exit-code` or `--fail-on-new`.
#[test]
fn a_missing_policy_is_not_a_revoked_or_new_grant() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = edited_account(&tmp.path().join("whole"), |_| {});
    let lacking = edited_account(
        &tmp.path().join("lacking"),
        without_policy("DataPipelineAccess"),
    );
    for (old, new, held) in [(&whole, &lacking, "old"), (&lacking, &whole, "new")] {
        let run = diff(old, new, &["--exit-code", "--fail-on-new", "low"]);
        assert_eq!(run.code, 0, "{held}: {}", run.stderr);
        let csv = Csv::parse(&run.file("diff.csv"));
        let kinds: BTreeSet<&str> = csv.rows.iter().map(|r| csv.get(r, "kind")).collect();
        assert_eq!(kinds, BTreeSet::from(["grant_unknown"]), "{held}");
        let actions: u64 = csv
            .rows
            .iter()
            .map(|r| csv.get(r, "actions").parse::<u64>().unwrap())
            .sum();
        assert_eq!(
            actions, 8,
            "{held}: the policy's s3, athena and glue actions"
        );
        for r in &csv.rows {
            assert_eq!(csv.get(r, "principal_name"), "data-pipeline-2026");
            let status = csv.get(r, &format!("{held}_status"));
            assert!(!status.is_empty(), "{held}: {r:?}");
            assert!(
                csv.get(r, "detail").contains("policy_missing"),
                "{}",
                csv.get(r, "detail")
            );
        }
        let json: serde_json::Value = serde_json::from_str(&run.file("diff.json")).unwrap();
        assert_eq!(json["counts"]["grant_unknown"], 8);
        assert_eq!(json["headline"]["changes"], 0);
        assert!(
            run.file("diff.html").contains("grant_unknown"),
            "diff.html names the kind"
        );
    } // `report` flags the principal whose policy the export lacks.
    let out = tempfile::tempdir().unwrap();
    cmd()
        .args(["report", &lacking, "--out"])
        .arg(out.path())
        .assert()
        .success();
    let principals =
        Csv::parse(&std::fs::read_to_string(out.path().join("principals.csv")).unwrap());
    for r in &principals.rows {
        let flagged = principals.get(r, "flags").contains("policy_missing");
        assert_eq!(
            flagged,
            principals.get(r, "principal_name") == "data-pipeline-2026",
            "{r:?}"
        );
    }
}

/// Attaches a managed policy `DenyEc2` (Deny `ec2:*`) to ExampleCorpQA (AmazonEC2FullAccess),
/// with its document in `Policies` when `whole`.
fn with_deny_ec2(whole: bool) -> impl FnOnce(&mut serde_json::Value) {
    move |d| {
        let arn = "arn:aws:iam::111111111111:policy/DenyEc2";
        let roles = d["RoleDetailList"].as_array_mut().unwrap();
        let qa = roles
            .iter_mut()
            .find(|r| r["RoleName"] == "ExampleCorpQA")
            .unwrap();
        qa["AttachedManagedPolicies"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"PolicyName": "DenyEc2", "PolicyArn": arn}));
        if whole {
            let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Deny", "Action": "ec2:*", "Resource": "*"}]});
            d["Policies"]
                .as_array_mut()
                .unwrap()
                .push(serde_json::json!({
                    "PolicyName": "DenyEc2", "PolicyId": "ANPADENYEC2", "Arn": arn, "Path": "/",
                    "DefaultVersionId": "v1", "AttachmentCount": 1, "IsAttachable": true,
                    "CreateDate": "2024-01-01T00:00:00+00:00",
                    "UpdateDate": "2024-01-01T00:00:00+00:00",
                    "PolicyVersionList": [{"Document": doc, "VersionId": "v1",
                        "IsDefaultVersion": true, "CreateDate": "2024-01-01T00:00:00+00:00"}]
                }));
        }
    }
}

/// A managed policy that holds a Deny and is missing from one side (`policy_missing`): that side
/// shows grants the Deny takes away. Missing from the old side, what the Deny took away there is
/// not newly granted but `grant_unknown`, and says why. Missing from the new side, what it takes
/// away is not revoked: `newly_granted`, still new risk for the gate (a missing policy is nearly
/// always an Allow, and must not silence `--fail-on-new`), its detail saying what is missing.
#[test]
fn a_missing_deny_policy_is_not_a_revocation_and_keeps_the_gate() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = edited_account(&tmp.path().join("whole"), with_deny_ec2(true));
    let lacking = edited_account(&tmp.path().join("lacking"), with_deny_ec2(false));
    for (old, new, lacks) in [(&whole, &lacking, "new"), (&lacking, &whole, "old")] {
        let run = diff(old, new, &["--exit-code", "--fail-on-new", "low"]);
        let kind = if lacks == "new" {
            "newly_granted"
        } else {
            "grant_unknown"
        };
        let code = if lacks == "new" { 1 } else { 0 };
        assert_eq!(run.code, code, "{lacks}: {}", run.stderr);
        let csv = Csv::parse(&run.file("diff.csv"));
        assert!(!csv.rows.is_empty(), "{lacks}");
        for r in &csv.rows {
            assert_eq!(csv.get(r, "kind"), kind, "{lacks}: {r:?}");
            assert_eq!(csv.get(r, "principal_name"), "ExampleCorpQA");
            assert_eq!(csv.get(r, "service"), "ec2");
            let why = if lacks == "new" {
                "The new side's export lacks a managed policy or group of this principal \
                 (policy_missing, group_missing), which may deny some of these actions."
            } else {
                "the old side's export lacks a managed policy or group of this principal \
                 (policy_missing, group_missing), which may deny these actions"
            };
            assert!(csv.get(r, "detail").contains(why), "{r:?}");
        }
    }
}

/// An old export without a time of its own (no last-accessed job dates, no manifest) cannot run
/// the checks that need one. `diff` says so without advising `--as-of`, which it refuses (each
/// export is judged at its own time); `report`, which takes the flag, names it.
#[test]
fn no_as_of_time_is_not_told_to_give_an_as_of_flag_diff_refuses() {
    let tmp = tempfile::tempdir().unwrap();
    let timeless = edited_account(&tmp.path().join("timeless"), |_| {});
    std::fs::remove_dir_all(Path::new(&timeless).join("last-accessed")).unwrap();
    let whole = edited_account(&tmp.path().join("whole"), |_| {});
    let run = diff(&timeless, &whole, &[]);
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
    let why = "no as-of time: the export has no last-accessed job dates and no manifest time";
    for file in ["diff.json", "diff.html", "diff.csv"] {
        let text = run.file(file);
        assert!(!text.contains("--as-of"), "{file}");
        if file != "diff.csv" {
            assert!(text.contains(why), "{file}");
        }
    }
    let out = tempfile::tempdir().unwrap();
    cmd()
        .args(["report", &timeless, "--out"])
        .arg(out.path())
        .assert()
        .success();
    let report = std::fs::read_to_string(out.path().join("report.json")).unwrap();
    assert!(
        report.contains(&format!("{why}, and --as-of was not given")),
        "report names the flag it takes"
    );
}

/// The part of diff.html from `start` to the first `end` after it.
fn html_part<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let i = html
        .find(start)
        .unwrap_or_else(|| panic!("{start} in diff.html"));
    let j = i + html[i..]
        .find(end)
        .unwrap_or_else(|| panic!("{end} after {start}"));
    &html[i..j]
}

/// diff.html shows the grants one side's data cannot settle (`grant_unknown`): their number in
/// the headline area ("Not settled"), and a table of them per principal and granting policies
/// with the reason, which side lacks what; the missing side reads "grant unknown", not "not
/// granted". Checked in a real browser too. The sample has none: the card says 0, the table
/// says so.
#[test]
fn diff_html_shows_what_is_not_settled() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = edited_account(&tmp.path().join("whole"), |_| {});
    let lacking = edited_account(
        &tmp.path().join("lacking"),
        without_policy("DataPipelineAccess"),
    );
    for (old, new, lacks) in [(&whole, &lacking, "new"), (&lacking, &whole, "old")] {
        let run = diff(old, new, &[]);
        let html = run.file("diff.html");
        let card = html_part(&html, "id=\"not-settled-card\"", "</div>");
        assert!(
            card.contains("<span class=\"n\">8</span>"),
            "{lacks}: {card}"
        );
        let table = html_part(&html, "id=\"not-settled-table\"", "</table>");
        assert!(table.contains("holding 8 permissions"), "{lacks}: {table}");
        let rows: Vec<&str> = table.split("<tr>").skip(2).collect();
        assert!(!rows.is_empty(), "{table}");
        for row in &rows {
            assert!(row.contains(">data-pipeline-2026<"), "{row}");
            assert!(
                row.contains("<span class=\"flag\">grant_unknown</span>"),
                "{row}"
            );
            let why = format!(
                "<span class=\"sub why\">Not comparable: the {lacks} side&#39;s export lacks a \
                 managed policy or group of this principal"
            );
            assert!(row.contains(&why), "{lacks}: {row}");
            let verdicts = if lacks == "new" {
                "→ grant unknown</td>"
            } else {
                "<td>grant unknown → "
            };
            assert!(row.contains(verdicts), "{lacks}: {row}");
            assert!(!row.contains("not granted"), "{lacks}: {row}");
        }
        assert_labels_match_counts(&html);
        if lacks == "new" {
            let page = run.out.path().join("diff.html");
            crate::common::real_browser_test(&[
                "--diff".as_ref(),
                page.as_os_str(),
                "data-pipeline-2026".as_ref(),
            ]);
        }
    }
    let sample = q3_q4().file("diff.html");
    let card = html_part(&sample, "id=\"not-settled-card\"", "</div>");
    assert!(card.contains("<span class=\"n\">0</span>"), "{card}");
    let table = html_part(&sample, "id=\"not-settled-table\"", "</table>");
    assert!(table.contains("class=\"empty\""), "{table}");
}

/// The permission set an Identity Center role of a diff.csv row belongs to.
fn set_of_row(csv: &Csv, r: &[String]) -> Option<String> {
    iam_tighten::diff::permission_sets::set_of(
        csv.get(r, "principal_type"),
        csv.get(r, "principal_name"),
        csv.get(r, "principal_arn"),
    )
    .map(str::to_string)
}

/// Pairs per (set, kind), distinct actions per (set, kind), unused pairs per (set, side).
type PerSet = (
    BTreeMap<(String, String), u64>,
    BTreeMap<(String, String), BTreeSet<String>>,
    BTreeMap<(String, &'static str), u64>,
);

/// Per permission set (by its roles' rows of a per-action diff.csv with every kind): pairs per
/// kind, the distinct actions of its `newly_granted` and `revoked` rows, and unused pairs per side.
fn per_set(all: &Csv) -> PerSet {
    let mut counts: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut distinct: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    let mut unused: BTreeMap<(String, &'static str), u64> = BTreeMap::new();
    for r in &all.rows {
        let Some(set) = set_of_row(all, r) else {
            continue;
        };
        let kind = all.get(r, "kind").to_string();
        *counts.entry((set.clone(), kind.clone())).or_default() += 1;
        if kind == "newly_granted" || kind == "revoked" {
            let action = all.get(r, "action").to_string();
            distinct
                .entry((set.clone(), kind.clone()))
                .or_default()
                .insert(action);
        }
        for side in ["old", "new"] {
            if all.get(r, &format!("{side}_status")) == "unused" {
                *unused.entry((set.clone(), side)).or_default() += 1;
            }
        }
        // A role on one side only is one row, its grants counted in `detail`.
        let side = match kind.as_str() {
            "principal_removed" => "old",
            "principal_added" => "new",
            _ => continue,
        };
        let detail = all.get(r, "detail"); // `N granted: N used, N unused, N unknown`
        let n = detail
            .split(", ")
            .find_map(|p| p.strip_suffix(" unused"))
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("{detail}"));
        *unused.entry((set, side)).or_default() += n;
    }
    (counts, distinct, unused)
}

/// Each IAM Identity Center permission set is rolled up over its `AWSReservedSSO_…` roles of
/// every account, in diff.json `permission_sets`, `diff-permission-sets.csv` and diff.html: its
/// roles' rows per kind are those of the per-action diff.csv (every kind), the actions it newly
/// grants or no longer grants are the distinct actions of those rows, the unused pairs on each
/// side those rows' statuses, and the set's own change is its `permission_set_*` row. On the
/// sample the Developer set lost `AmazonS3ReadOnlyAccess` (12 actions no longer granted, 24
/// permissions over its two roles) and account 333333333333 (its role there is removed).
#[test]
fn permission_sets_are_rolled_up() {
    let json: serde_json::Value = serde_json::from_str(&q3_q4().file("diff.json")).unwrap();
    let sets = json["permission_sets"].as_array().expect("permission_sets");
    let names: Vec<&str> = sets.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["AdministratorAccess", "Developer", "ReadOnly"]);
    let (counts, distinct, unused) = per_set(&Csv::parse(&q3_q4_per_action().file("diff.csv")));
    assert!(!counts.is_empty(), "the sample has Identity Center roles");
    for s in sets {
        let name = s["name"].as_str().unwrap().to_string();
        for k in ChangeKind::ALL {
            let want = counts.get(&(name.clone(), k.as_str().into())).copied();
            assert_eq!(s["counts"][k.as_str()], want.unwrap_or(0), "{name} {k:?}");
        }
        for (field, kind) in [
            ("newly_granted_actions", "newly_granted"),
            ("revoked_actions", "revoked"),
        ] {
            let want = distinct
                .get(&(name.clone(), kind.into()))
                .map_or(0, |d| d.len());
            assert_eq!(s[field], want, "{name} {field}");
        }
        for side in ["old", "new"] {
            let want = unused.get(&(name.clone(), side)).copied().unwrap_or(0);
            assert_eq!(s[side]["unused"], want, "{name} {side} (no exclusions)");
            let (g, u, n, x) = (
                &s[side]["granted"],
                &s[side]["used"],
                &s[side]["unknown"],
                &s[side]["excluded"],
            );
            let parts = [u, &s[side]["unused"], n, x].map(|v| v.as_u64().unwrap());
            assert_eq!(
                g.as_u64().unwrap(),
                parts.iter().sum::<u64>(),
                "{name} {side}"
            );
        }
        assert!(
            s["arn"]
                .as_str()
                .unwrap()
                .starts_with("arn:aws:sso:::permissionSet/")
        );
    }
    let dev = &sets[1];
    assert_eq!(
        (dev["old"]["roles"].as_u64(), dev["new"]["roles"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(dev["old"]["provisioned"], 3);
    assert_eq!(dev["new"]["provisioned"], 2);
    assert_eq!(
        (
            dev["revoked_actions"].as_u64(),
            dev["counts"]["revoked"].as_u64()
        ),
        (Some(12), Some(24))
    );
    assert_eq!(dev["counts"]["principal_removed"], 1);
    let revoked = "s3-object-lambda:Get* s3-object-lambda:List*";
    assert_eq!(dev["revoked_notation"], revoked);
    assert_eq!(dev["newly_granted_notation"], "");
    assert_eq!(dev["definitions"].as_array().unwrap().len(), 1);
    assert_eq!(dev["definitions"][0]["kind"], "permission_set_changed");
    assert_eq!(dev["definitions"][0]["arn"], dev["arn"]);
    assert!(
        dev["definitions"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("AmazonS3ReadOnlyAccess detached")
    );
    assert_eq!(
        sets[0]["definitions"],
        serde_json::json!([]),
        "AdministratorAccess did not change"
    );
    // The CSV has the same numbers, one row per set.
    let file = Csv::parse(&q3_q4().file("diff-permission-sets.csv"));
    assert_eq!(file.rows.len(), sets.len());
    for (r, s) in file.rows.iter().zip(sets) {
        assert_eq!(file.get(r, "permission_set"), s["name"].as_str().unwrap());
        for (col, side, field) in [
            ("old_roles", "old", "roles"),
            ("new_roles", "new", "roles"),
            ("old_unused", "old", "unused"),
            ("new_unused", "new", "unused"),
            ("old_granted", "old", "granted"),
            ("new_granted", "new", "granted"),
        ] {
            assert_eq!(file.get(r, col), s[side][field].to_string(), "{col}");
        }
        assert_eq!(
            file.get(r, "revoked_actions"),
            s["revoked_actions"].to_string()
        );
        assert_eq!(file.get(r, "revoked"), s["counts"]["revoked"].to_string());
        assert_eq!(file.get(r, "revoked_notation"), s["revoked_notation"]);
    }
    // diff.html: one row per set.
    let html = q3_q4().file("diff.html");
    let table = html_part(&html, "id=\"permission-sets-table\"", "</table>");
    let rows: Vec<&str> = table.split("<tr>").skip(2).collect();
    assert_eq!(rows.len(), 3, "{table}");
    assert!(rows[1].contains(">Developer</span>"), "{}", rows[1]);
    assert!(
        rows[1].contains("<td class=\"num\">3 → 2</td>"),
        "{}",
        rows[1]
    );
    assert!(rows[1].contains("+0 / −12"), "{}", rows[1]);
    assert!(
        rows[1].contains(&format!("revoked: <code>{revoked}</code>")),
        "{}",
        rows[1]
    );
    assert!(rows[1].contains("24 revoked"), "{}", rows[1]);
}

/// Without Identity Center roles or an organisation part, diff-permission-sets.csv is its
/// header alone, diff.json's `permission_sets` is empty and diff.html has no such section.
#[test]
fn no_permission_sets_without_identity_center() {
    let tmp = tempfile::tempdir().unwrap();
    let one = edited_account(&tmp.path().join("one"), |d| {
        let roles = d["RoleDetailList"].as_array_mut().unwrap();
        roles.retain(|r| {
            !r["RoleName"]
                .as_str()
                .unwrap()
                .starts_with("AWSReservedSSO_")
        });
    });
    let run = diff(&one, &one, &[]);
    let csv = run.file("diff-permission-sets.csv");
    assert_eq!(csv.lines().count(), 1, "{csv}");
    assert!(
        csv.starts_with("permission_set,permission_set_arn,"),
        "{csv}"
    );
    let json: serde_json::Value = serde_json::from_str(&run.file("diff.json")).unwrap();
    assert_eq!(json["permission_sets"], serde_json::json!([]));
    assert!(!run.file("diff.html").contains("id=\"permission-sets\""));
}

/// An account exported on one side only is warned about (stderr, diff.json `warnings`, the top
/// of diff.html), naming it, the side and its principals: its principals are added or removed
/// and the headline's totals hold it on one side, which is not a permission change.
#[test]
fn an_account_on_one_side_only_is_warned_about() {
    for (run, side, other) in [
        (q3_q4(), "old", "new"),
        (
            &diff("sample-data/2026-q4", "sample-data/2026-q3", &[]),
            "new",
            "old",
        ),
    ] {
        let want =
            format!("account 333333333333 (3 principals) was exported on the {side} side only");
        let warning = run
            .stderr
            .lines()
            .find(|l| l.starts_with("iam-tighten: warning: ") && l.contains(&want))
            .unwrap_or_else(|| panic!("no warning {want:?}: {}", run.stderr));
        assert!(
            warning.contains(&format!("not exported on the {other} side")),
            "{warning}"
        );
        let json: serde_json::Value = serde_json::from_str(&run.file("diff.json")).unwrap();
        let warnings: Vec<&str> = json["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap())
            .collect();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warning.ends_with(warnings[0]),
            "{warning} / {}",
            warnings[0]
        );
        let html = run.file("diff.html");
        let alert = html
            .split("id=\"warnings\"")
            .nth(1)
            .expect("a warnings block");
        assert!(alert.contains(&want), "diff.html");
    }
    // Both sides with the same accounts: no warning.
    let same = diff("sample-data/2026-q4", "sample-data/2026-q4", &[]);
    assert!(!same.stderr.contains("warning"), "{}", same.stderr);
    assert!(!same.file("diff.html").contains("id=\"warnings\""));
}

/// An action unknown on the old side (here: no last-accessed file for the role) and unused on
/// the new one is `unused_was_unknown`: a change, shown and counted, but not `newly_unused` and
/// not new risk for `--fail-on-new` (the grant was there; only the evidence is new).
#[test]
fn unused_after_unknown_is_not_new_risk() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = edited_account(&tmp.path().join("whole"), |_| {});
    let blind = edited_account(&tmp.path().join("blind"), |_| {});
    std::fs::remove_file(Path::new(&blind).join("last-accessed/roles/ExampleCorpQA.json")).unwrap();
    let run = diff(&blind, &whole, &["--fail-on-new", "low"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let csv = Csv::parse(&run.file("diff.csv"));
    let qa: Vec<&Vec<String>> = csv
        .rows
        .iter()
        .filter(|r| csv.get(r, "principal_name") == "ExampleCorpQA")
        .collect();
    assert!(!qa.is_empty());
    let mut unused = 0;
    for r in &qa {
        assert_eq!(csv.get(r, "old_status"), "unknown", "{r:?}");
        assert_eq!(csv.get(r, "old_reason"), "no_last_accessed_data", "{r:?}");
        let kind = csv.get(r, "kind");
        if csv.get(r, "new_status") == "unused" {
            assert_eq!(kind, "unused_was_unknown", "{r:?}");
            unused += csv.get(r, "actions").parse::<u64>().unwrap();
        } else {
            assert_ne!(kind, "newly_unused", "{r:?}");
        }
    }
    assert!(unused > 0);
    let json: serde_json::Value = serde_json::from_str(&run.file("diff.json")).unwrap();
    assert_eq!(json["counts"]["unused_was_unknown"], unused);
    assert_eq!(json["counts"]["newly_unused"], 0);
    assert_eq!(json["headline"]["new_risk_high_plus"], 0);
    assert!(json["headline"]["changes"].as_u64().unwrap() >= unused);
    // A change all the same: the verdict moved.
    let run = diff(&blind, &whole, &["--exit-code"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
}

/// An exclusion that expires between the two as-of times applies on the old side only: the
/// counts move with no permission change. The warning (stderr, diff.json, diff.html) names the
/// rule, its expiry, the accounts and what it excluded; rules that expire before both sides or
/// after both do not warn.
#[test]
fn an_exclusion_expiring_between_the_sides_is_warned_about() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("exclusions.toml");
    std::fs::write(
        &config,
        "[[exclude]]\nprincipal = \"SecurityAuditor\"\nreason = \"long gone\"\nexpires = 2026-01-31\n\n\
         [[exclude]]\nprincipal = \"ExampleCorpQA\"\nreason = \"QA, until October\"\nexpires = 2026-10-31\n\n\
         [[exclude]]\nprincipal = \"BreakGlassAdmin\"\nreason = \"break-glass\"\nexpires = 2027-06-30\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let run = diff(
        "sample-data/2026-q3",
        "sample-data/2026-q4",
        &["--config", config],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json: serde_json::Value = serde_json::from_str(&run.file("diff.json")).unwrap();
    let expiry: Vec<&str> = json["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .filter(|w| w.contains("exclusion"))
        .collect();
    assert_eq!(expiry.len(), 1, "{expiry:?}");
    let w = expiry[0];
    for part in [
        "exclusion 2 (\"QA, until October\") expired on 2026-10-31",
        "account 111111111111",
        "on the old side only",
    ] {
        assert!(w.contains(part), "{part:?} in {w}");
    }
    assert!(
        run.stderr.contains(&format!("iam-tighten: warning: {w}")),
        "{}",
        run.stderr
    );
    assert!(run.file("diff.html").contains("expired on 2026-10-31"));
    // The old side's unused critical/high lost what the rule excluded; without the rule it
    // would not have.
    let plain: serde_json::Value = serde_json::from_str(&q3_q4().file("diff.json")).unwrap();
    let old = |j: &serde_json::Value| j["headline"]["unused_critical_high"]["old"].as_u64();
    assert!(old(&json) < old(&plain));
}

/// Rewrites a policy document held as JSON text in `file` at `pointer` (an SCP's `Content`, a
/// permission set's `InlinePolicy`) with `edit`, written compact.
fn edit_policy_text(file: &Path, pointer: &str, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut outer: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let text = outer
        .pointer(pointer)
        .unwrap()
        .as_str()
        .unwrap()
        .to_string();
    let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    edit(&mut doc);
    *outer.pointer_mut(pointer).unwrap() = doc.to_string().into();
    std::fs::write(file, serde_json::to_string_pretty(&outer).unwrap()).unwrap();
}

/// An SCP or a permission set's inline policy rewritten without changing what it says (a
/// string for a one-element list, lists and statements reordered, actions in another case,
/// whitespace) is not `control_policy_changed` / `permission_set_changed`; a real edit is.
#[test]
fn cosmetic_policy_edits_are_not_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let org = |name: &str| {
        let side = tmp.path().join(name);
        copy_dir(&root().join("sample-data/2026-q4"), &side);
        side
    };
    let scp = "organization/policy/p-0643d0e9.json";
    let set = "organization/sso/ssoins-7223a1b2c3d4e5f6/ps-516951693ea7b98f/inline-policy.json";
    let cosmetic = org("cosmetic");
    edit_policy_text(&cosmetic.join(scp), "/Policy/Content", |d| {
        let s = &mut d["Statement"][0];
        let mut actions: Vec<serde_json::Value> = s["Action"].as_array().unwrap().clone();
        actions.reverse();
        actions[0] = actions[0].as_str().unwrap().to_uppercase().into();
        s["Action"] = actions.into();
        // A single statement as an object, the condition's value as a list.
        let mut c = s["Condition"]["ArnNotLike"]["aws:PrincipalArn"].take();
        c = serde_json::json!([c]);
        s["Condition"]["ArnNotLike"]["aws:PrincipalArn"] = c;
        d["Statement"] = s.take();
    });
    edit_policy_text(&cosmetic.join(set), "/InlinePolicy", |d| {
        let s = &mut d["Statement"][0];
        let mut actions = s["Action"].as_array().unwrap().clone();
        actions.rotate_left(2);
        s["Action"] = actions.into();
        s["Resource"] = serde_json::json!(["*"]);
        d["Statement"].as_array_mut().unwrap().insert(
            0,
            serde_json::json!({"Effect": "Deny", "Action": "iam:*", "Resource": "*"}),
        );
        // Statements reordered: the Deny second.
        d["Statement"].as_array_mut().unwrap().swap(0, 1);
    });
    let real = org("real");
    edit_policy_text(&real.join(set), "/InlinePolicy", |d| {
        d["Statement"].as_array_mut().unwrap().insert(
            0,
            serde_json::json!({"Effect": "Deny", "Action": "iam:*", "Resource": "*"}),
        );
    });
    // The cosmetic side against the real one: only the set's statement order and form differ.
    let run = diff(
        real.to_str().unwrap(),
        cosmetic.to_str().unwrap(),
        &["--exit-code"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The real edit is a change, and the cosmetic SCP still is none.
    let run = diff(
        "sample-data/2026-q4",
        cosmetic.to_str().unwrap(),
        &["--exit-code"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let csv = run.file("diff.csv");
    let changed: Vec<&str> = csv.lines().filter(|l| l.contains("_changed,")).collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert!(
        changed[0].starts_with("permission_set_changed,"),
        "{changed:?}"
    );
    assert!(changed[0].contains("inline policy changed"), "{changed:?}");
}

/// A user renamed with UpdateUser keeps its id: it is `principal_renamed` (old name and ARN in
/// `detail`) and its actions are compared as usual, not a removed and an added user.
#[test]
fn a_renamed_user_is_paired_by_id() {
    let tmp = tempfile::tempdir().unwrap();
    let old = edited_account(&tmp.path().join("old"), |_| {});
    let new = alice_renamed(&tmp.path().join("new"), |_| {});
    let run = diff(&old, &new, &["--fail-on-new", "low"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let csv = Csv::parse(&run.file("diff.csv"));
    let kinds: BTreeSet<&str> = csv
        .rows
        .iter()
        .filter(|r| !csv.get(r, "kind").starts_with("identity_"))
        .map(|r| csv.get(r, "kind"))
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from(["principal_renamed"]),
        "{}",
        run.file("diff.csv")
    );
    let row = csv
        .rows
        .iter()
        .find(|r| csv.get(r, "kind") == "principal_renamed")
        .unwrap();
    assert_eq!(csv.get(row, "principal_name"), "alice.smith");
    assert_eq!(
        csv.get(row, "detail"),
        "renamed from alice (arn:aws:iam::111111111111:user/alice); id AIDAXP55G73TVSUMFB2F4"
    );
    let json: serde_json::Value = serde_json::from_str(&run.file("diff.json")).unwrap();
    assert_eq!(json["counts"]["principal_added"], 0);
    assert_eq!(json["counts"]["principal_removed"], 0);
    assert!(json["counts"]["unchanged_used"].as_u64().unwrap() > 0);
}

/// A user renamed and its old name given to a new user (another id) is one rename and one new
/// user. Paired by ARN first, it was a re-creation of `alice` whose grants were all "revoked"
/// (alice.smith still held them, unlisted as an added user) and the new user's compared with
/// alice's history.
#[test]
fn a_renamed_user_whose_old_name_is_reused_is_paired_by_id() {
    let tmp = tempfile::tempdir().unwrap();
    let old = edited_account(&tmp.path().join("old"), |_| {});
    let new = alice_renamed(&tmp.path().join("new"), |users| {
        users.push(serde_json::json!({
            "Path": "/", "UserName": "alice", "UserId": "AIDAXNEWALICE0000000",
            "Arn": "arn:aws:iam::111111111111:user/alice",
            "CreateDate": "2026-11-01T00:00:00Z", "GroupList": [], "AttachedManagedPolicies": [],
            "UserPolicyList": [{"PolicyName": "publish", "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}]}}]
        }));
    });
    let run = diff(&old, &new, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let csv = Csv::parse(&run.file("diff.csv"));
    let rows: BTreeSet<(&str, &str)> = csv
        .rows
        .iter()
        .filter(|r| !csv.get(r, "kind").starts_with("identity_"))
        .map(|r| (csv.get(r, "kind"), csv.get(r, "principal_name")))
        .collect();
    assert_eq!(
        rows,
        BTreeSet::from([
            ("principal_added", "alice"),
            ("principal_renamed", "alice.smith")
        ]),
        "{}",
        run.file("diff.csv")
    );
}

/// A principal id left empty on one side (a hand-made export) is no evidence of a re-creation:
/// it was `principal_recreated` ("id AIDA… → ").
#[test]
fn an_empty_id_on_one_side_is_not_a_recreation() {
    let tmp = tempfile::tempdir().unwrap();
    let old = edited_account(&tmp.path().join("old"), |_| {});
    let new = edited_account(&tmp.path().join("new"), |d| {
        let users = d["UserDetailList"].as_array_mut().unwrap();
        let alice = users.iter_mut().find(|u| u["UserName"] == "alice").unwrap();
        alice["UserId"] = "".into();
    });
    let run = diff(&old, &new, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let csv = run.file("diff.csv");
    assert!(!csv.contains("principal_recreated"), "{csv}");
}

/// A copy of the sample's account 111111111111 in which user alice is renamed alice.smith (same
/// id), its last-accessed report and credential-report row with it; `more` edits the users.
fn alice_renamed(dir: &Path, more: impl FnOnce(&mut Vec<serde_json::Value>)) -> String {
    let new = edited_account(dir, |d| {
        let users = d["UserDetailList"].as_array_mut().unwrap();
        let alice = users.iter_mut().find(|u| u["UserName"] == "alice").unwrap();
        alice["UserName"] = "alice.smith".into();
        alice["Arn"] = "arn:aws:iam::111111111111:user/alice.smith".into();
        more(users);
    });
    let users = Path::new(&new).join("last-accessed/users");
    // Its report, fetched after the rename, names the user by its new ARN.
    let report = std::fs::read_to_string(users.join("alice.json")).unwrap();
    std::fs::remove_file(users.join("alice.json")).unwrap();
    std::fs::write(
        users.join("alice.smith.json"),
        report.replace(":user/alice\"", ":user/alice.smith\""),
    )
    .unwrap();
    let report = Path::new(&new).join("credential-report.csv");
    let text = std::fs::read_to_string(&report).unwrap();
    std::fs::write(
        &report,
        text.replace(
            "alice,arn:aws:iam::111111111111:user/alice,",
            "alice.smith,arn:aws:iam::111111111111:user/alice.smith,",
        ),
    )
    .unwrap();
    new
}

/// The per-account breakdown adds up to the headline's changes: the organisation parts' rows
/// (permission sets, SCPs and RCPs, the organisation's accounts) are in no account's counts, so
/// diff.json has them in `organization_counts` and diff.html's per-account table in a row of
/// their own.
#[test]
fn per_account_counts_and_the_organisation_add_up_to_the_headline() {
    let run = q3_q4();
    let json: serde_json::Value = serde_json::from_str(&run.file("diff.json")).unwrap();
    let changes = |counts: &serde_json::Value| -> u64 {
        ChangeKind::ALL
            .iter()
            .filter(|k| k.is_change())
            .map(|k| counts[k.as_str()].as_u64().unwrap())
            .sum()
    };
    let accounts: u64 = json["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| changes(&a["counts"]))
        .sum();
    let organization = changes(&json["organization_counts"]);
    assert!(organization > 0);
    assert_eq!(
        accounts + organization,
        json["headline"]["changes"].as_u64().unwrap()
    );
    let html = run.file("diff.html");
    let table = html
        .split("id=\"accounts-table\"")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .unwrap();
    let row = table
        .split("<tr>")
        .find(|r| r.starts_with("<th scope=\"row\">organisation</th>"))
        .expect("an organisation row");
    assert!(row.contains(&format!(">{organization}<")), "{row}");
}

/// diff.csv of the identities fixture `creds` (old side) against the export `new`.
fn diff_of_creds_and(new: &Path) -> Csv {
    let run = diff(
        "tests/fixtures/identities/creds",
        new.to_str().expect("utf-8 path"),
        &[],
    );
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
    Csv::parse(&run.file("diff.csv"))
}

/// A new side whose authorization details list no users (fetched with `--filter`) could not check
/// them: an old user finding (stale's unused access key) is `identity_unknown` there, never
/// `identity_resolved` ("the key was deleted or used again").
#[test]
fn user_findings_are_unknown_when_the_new_side_lists_no_users() {
    let (_dir, new) = crate::identities::creds_without_users();
    let t = diff_of_creds_and(&new);
    let kinds: Vec<&str> = t
        .rows
        .iter()
        .filter(|r| {
            t.get(r, "principal_name") == "stale" && t.get(r, "action") == "access_key_unused"
        })
        .map(|r| t.get(r, "kind"))
        .collect();
    assert_eq!(kinds, ["identity_unknown"]);
    assert!(
        !t.rows.iter().any(
            |r| t.get(r, "kind") == "identity_resolved" && t.get(r, "principal_type") == "user"
        ),
        "a user finding is called resolved"
    );
}

/// The same for roles: a new side whose authorization details list no roles could not check
/// them, so the old side's unused roles are `identity_unknown`, never `identity_resolved`.
#[test]
fn role_findings_are_unknown_when_the_new_side_lists_no_roles() {
    let (_dir, new) = crate::identities::creds_without_roles();
    let t = diff_of_creds_and(&new);
    let kinds: Vec<&str> = t
        .rows
        .iter()
        .filter(|r| t.get(r, "action") == "unused_role")
        .map(|r| t.get(r, "kind"))
        .collect();
    assert!(!kinds.is_empty(), "the old side has unused roles");
    assert!(kinds.iter().all(|k| *k == "identity_unknown"), "{kinds:?}");
}

/// A new side without `RoleLastUsed` for some roles could not check only those: an old unused
/// role among them is `identity_unknown`, and one it could check that is used again is
/// `identity_resolved` (the check is not possible for the account's other roles).
#[test]
fn only_the_roles_without_role_last_used_are_unknown() {
    let (_dir, new) = crate::identities::creds_with_roles(|role| match role["RoleName"].as_str() {
        Some("unused-role") => {
            role.as_object_mut().expect("role").remove("RoleLastUsed");
        }
        // Used again within the new side's window (2026-03-03 to 2026-06-01).
        Some("admin-idle") => {
            role["RoleLastUsed"] = serde_json::json!({"LastUsedDate": "2026-05-20T10:00:00Z"});
        }
        _ => {}
    });
    let t = diff_of_creds_and(&new);
    let kind_of = |name: &str| -> Vec<&str> {
        t.rows
            .iter()
            .filter(|r| t.get(r, "action") == "unused_role" && t.get(r, "principal_name") == name)
            .map(|r| t.get(r, "kind"))
            .collect()
    };
    assert_eq!(kind_of("unused-role"), ["identity_unknown"]);
    assert_eq!(kind_of("admin-idle"), ["identity_resolved"]);
    let unknown = t
        .rows
        .iter()
        .find(|r| t.get(r, "principal_name") == "unused-role")
        .map(|r| t.get(r, "detail"))
        .unwrap_or_default();
    assert!(
        unknown.contains("the export has no RoleLastUsed for role unused-role"),
        "{unknown}"
    );
}

/// The same for customer managed policies: a new side whose `Policies` lack one that a role
/// attaches was cut, so an old unattached policy it does not list is `identity_unknown`; when
/// only that policy is gone (deleted) it is `identity_resolved`.
#[test]
fn unattached_policies_are_unknown_when_the_new_sides_policies_were_cut() {
    let orphan_kind = |names: &[&str]| {
        let (_dir, new) = crate::identities::creds_without_policies(names);
        let run = diff(
            "tests/fixtures/identities/creds",
            new.to_str().expect("utf-8 path"),
            &[],
        );
        assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
        let t = Csv::parse(&run.file("diff.csv"));
        let kinds: Vec<String> = t
            .rows
            .iter()
            .filter(|r| t.get(r, "action") == "policy_unattached")
            .filter(|r| t.get(r, "principal_name") == "orphan")
            .map(|r| t.get(r, "kind").to_string())
            .collect();
        kinds
    };
    assert_eq!(orphan_kind(&["orphan"]), ["identity_resolved"]);
    assert_eq!(orphan_kind(&["orphan", "attached"]), ["identity_unknown"]);
}

/// `diff` analyses each export alone, but its identity checks see the side's organisation part:
/// a customer managed policy that a permission set provisioned to the account references is not
/// `policy_unattached` there (Identity Center attaches it when it provisions the set, and fails
/// where the account lacks it), as in `report`. Without the organisation part nothing tells, and
/// the same policy is a new unattached policy.
#[test]
fn a_policy_a_permission_set_references_is_not_a_new_unattached_policy() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/organization");
    let tmp = tempfile::tempdir().expect("temp dir");
    let new = tmp.path().join("new");
    crate::identities::organization_with_an_unattached_set_policy(&new);
    let unattached = |old: &Path, new: &Path| {
        let run = diff(
            old.to_str().expect("utf-8"),
            new.to_str().expect("utf-8"),
            &[],
        );
        assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
        let t = Csv::parse(&run.file("diff.csv"));
        t.rows
            .iter()
            .filter(|r| t.get(r, "action") == "policy_unattached")
            .map(|r| format!("{} {}", t.get(r, "kind"), t.get(r, "principal_name")))
            .collect::<Vec<_>>()
    };
    assert_eq!(unattached(&root, &new), Vec::<String>::new());
    // The same exports without their organisation parts.
    let (old_bare, new_bare) = (tmp.path().join("old-bare"), tmp.path().join("new-bare"));
    for (from, to) in [(&root, &old_bare), (&new, &new_bare)] {
        crate::common::copy_dir(&from.join("111111111111"), &to.join("111111111111"));
        crate::common::copy_dir(&from.join("222222222222"), &to.join("222222222222"));
    }
    assert_eq!(
        unattached(&old_bare, &new_bare),
        ["identity_new developer-extras"]
    );
}

/// A permission set provisioned to an account the side did not export (the management account,
/// say) has rows that sum only the exported accounts' roles: the side says so in a warning
/// (diff.json, stderr), naming the set and how many of its accounts were exported.
#[test]
fn a_permission_set_provisioned_beyond_the_exports_is_warned_about() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/organization");
    let tmp = tempfile::tempdir().expect("temp dir");
    let new = tmp.path().join("new");
    crate::common::copy_dir(&root, &new);
    // Developer is provisioned to both exported accounts; now also to the management account.
    let accounts =
        new.join("organization/sso/ssoins-7223a1b2c3d4e5f6/ps-0a1b2c3d4e5f6a7b/accounts.json");
    std::fs::write(
        &accounts,
        r#"{"AccountIds": ["111111111111", "222222222222", "999999999999"]}"#,
    )
    .expect("write");
    let warnings = |new: &Path| {
        let run = diff(
            root.to_str().expect("utf-8"),
            new.to_str().expect("utf-8"),
            &[],
        );
        assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
        let json: serde_json::Value =
            serde_json::from_str(&run.file("diff.json")).expect("diff.json");
        let warnings: Vec<String> = json["warnings"]
            .as_array()
            .expect("warnings")
            .iter()
            .filter_map(|w| w.as_str())
            .filter(|w| w.contains("permission set"))
            .map(str::to_string)
            .collect();
        let html = run.file("diff.html");
        for w in &warnings {
            assert!(
                run.stderr.contains(w.as_str()),
                "{w} not on stderr: {}",
                run.stderr
            );
            // As the page escapes it (the warning has an apostrophe).
            let escaped = w
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
                .replace('\'', "&#39;");
            assert!(html.contains(&escaped), "{w} not in diff.html");
        }
        warnings
    };
    assert_eq!(warnings(&root), Vec::<String>::new());
    let w = warnings(&new);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with(
            "on the new side, a permission set is provisioned to accounts that were not exported"
        ) && w[0].contains("Developer (2 of 3 accounts)"),
        "{}",
        w[0]
    );
}

/// Accounts exported on one side only are named in a warning that reads right for one account
/// and for several ("its principals" of two accounts, review pass 47).
#[test]
fn one_side_accounts_are_named_with_their_number() {
    let run = diff(
        "sample-data/2026-q3",
        "sample-data/2026-q4/222222222222",
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "accounts 111111111111 (14 principals), 333333333333 (3 principals) were exported on \
             the old side only (not exported on the new side): their principals are listed as \
             principal_removed"
        ) && run
            .stderr
            .contains("if they were not closed, export them on the new side too"),
        "{}",
        run.stderr
    );
    let run = diff("sample-data/2026-q3", "sample-data/2026-q4", &[]);
    assert!(
        run.stderr
            .contains("account 333333333333 (3 principals) was exported on the old side only")
            && run.stderr.contains(": its principals are listed"),
        "{}",
        run.stderr
    );
}
