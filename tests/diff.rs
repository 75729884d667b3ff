//! `iam-tighten diff`: properties of the comparison on generated tables, CLI behaviour and exit
//! codes on `sample-data/`, and snapshots of diff.csv / diff.json for 2026-q3 → 2026-q4.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use assert_cmd::Command;
use iam_tighten::analysis::identities::{
    IdentityFinding, IdentityKind, IdentityPrincipalType, NotPossible,
};
use iam_tighten::analysis::{Reason, Sensitivity, Status};
use iam_tighten::diff::{ChangeKind, KindCounts, Side, SideFinding, SidePrincipal, compare};
use predicates::prelude::*;
use proptest::prelude::*;
use sha2::{Digest, Sha256};

// ---- properties -------------------------------------------------------------------------------

const ACCOUNTS: [&str; 3] = ["111111111111", "222222222222", "333333333333"];
const NAMES: [&str; 4] = ["a", "b", "=1+1", "</script>"];
const ACTIONS: [&str; 5] = [
    "s3:GetObject",
    "s3:DeleteBucket",
    "iam:PassRole",
    "ec2:RunInstances",
    "sts:AssumeRole",
];

fn status_strategy() -> impl Strategy<Value = Status> {
    prop_oneof![
        Just(Status::Used),
        Just(Status::Unused),
        Just(Status::Unknown)
    ]
}

fn sensitivity_strategy() -> impl Strategy<Value = Sensitivity> {
    prop_oneof![
        Just(Sensitivity::Low),
        Just(Sensitivity::Medium),
        Just(Sensitivity::High),
        Just(Sensitivity::Critical)
    ]
}

fn reason_for(s: Status) -> Reason {
    match s {
        Status::Used => Reason::AccessedInWindow,
        Status::Unused => Reason::ActionNotAccessed,
        Status::Unknown => Reason::NotObservable,
    }
}

const IDENTITY_KINDS: [IdentityKind; 4] = [
    IdentityKind::AccessKeyUnused,
    IdentityKind::AccessKeyOld,
    IdentityKind::PasswordWithoutMfa,
    IdentityKind::UnusedUser,
];

/// Identity findings on users of the side's accounts (keyed like the diff keys them) and a few
/// checks that could not run.
fn identity_strategy() -> impl Strategy<Value = (Vec<IdentityFinding>, Vec<NotPossible>)> {
    let finding = (
        0..ACCOUNTS.len(),
        0..NAMES.len(),
        0..IDENTITY_KINDS.len(),
        0usize..3,
        sensitivity_strategy(),
        any::<bool>(),
    );
    let gap = (0..ACCOUNTS.len(), 0..IDENTITY_KINDS.len());
    (
        proptest::collection::vec(finding, 0..12),
        proptest::collection::btree_set(gap, 0..3),
    )
        .prop_map(|(fs, gaps)| {
            let mut findings: BTreeMap<(usize, usize, usize, usize), IdentityFinding> =
                BTreeMap::new();
            for (a, n, k, c, sensitivity, actionable) in fs {
                findings.entry((a, n, k, c)).or_insert(IdentityFinding {
                    rank: 0,
                    account_id: ACCOUNTS[a].into(),
                    kind: IDENTITY_KINDS[k],
                    principal_type: IdentityPrincipalType::User,
                    principal_name: NAMES[n].into(),
                    principal_arn: format!("arn:aws:iam::{}:user/{}", ACCOUNTS[a], NAMES[n]),
                    credential: ["", "password", "access_key_1"]
                        .get(c)
                        .filter(|c| !c.is_empty())
                        .map(|c| c.to_string()),
                    sensitivity,
                    actionable,
                    last_used: None,
                    age_days: None,
                    days_unused: None,
                    detail: "x".into(),
                });
            }
            let gaps = gaps
                .into_iter()
                .map(|(a, k)| NotPossible {
                    account_id: ACCOUNTS[a].into(),
                    check: IDENTITY_KINDS[k],
                    reason: "no credential report".into(),
                })
                .collect();
            (findings.into_values().collect(), gaps)
        })
}

/// A side: some accounts, principals in them (id drawn from two, so re-creation happens), and
/// some of their actions with a status, plus identity findings.
fn side_strategy() -> impl Strategy<Value = Side> {
    let principal = (0..ACCOUNTS.len(), 0..NAMES.len(), 0u8..2, any::<bool>());
    let finding = (
        0usize..64,
        0..ACTIONS.len(),
        status_strategy(),
        sensitivity_strategy(),
        any::<bool>(),
    );
    (
        proptest::collection::vec(principal, 0..8),
        proptest::collection::vec(finding, 0..40),
        proptest::collection::btree_set(0..ACCOUNTS.len(), 0..=ACCOUNTS.len()),
        identity_strategy(),
    )
        .prop_map(|(ps, fs, accts, (identities, gaps))| {
            let mut principals: BTreeMap<String, SidePrincipal> = BTreeMap::new();
            let mut accounts: BTreeSet<String> =
                accts.iter().map(|i| ACCOUNTS[*i].to_string()).collect();
            for (a, n, id, actionable) in ps {
                let arn = format!("arn:aws:iam::{}:role/{}", ACCOUNTS[a], NAMES[n]);
                accounts.insert(ACCOUNTS[a].to_string());
                principals.entry(arn.clone()).or_insert(SidePrincipal {
                    account_id: ACCOUNTS[a].into(),
                    principal_type: "role".into(),
                    name: NAMES[n].into(),
                    arn,
                    id: format!("AROA{id}"),
                    created: None,
                    actionable,
                });
            }
            let list: Vec<&SidePrincipal> = principals.values().collect();
            let mut findings: BTreeMap<(String, String), SideFinding> = BTreeMap::new();
            if !list.is_empty() {
                for (p, a, status, sensitivity, excluded) in fs {
                    let p = list[p % list.len()];
                    let action = ACTIONS[a];
                    findings.insert(
                        (p.arn.clone(), action.into()),
                        SideFinding {
                            principal_arn: p.arn.clone(),
                            action: action.into(),
                            service: action.split(':').next().unwrap_or_default().into(),
                            status,
                            reason: reason_for(status),
                            sensitivity,
                            last_accessed: None,
                            granted_by: "inline:p".into(),
                            excluded: excluded && status == Status::Unused,
                        },
                    );
                }
            }
            // Identity findings and gaps only in exported accounts.
            let identities: Vec<IdentityFinding> = identities
                .into_iter()
                .filter(|f| accounts.contains(&f.account_id))
                .collect();
            let gaps: Vec<NotPossible> = gaps
                .into_iter()
                .filter(|g| accounts.contains(&g.account_id))
                .collect();
            Side {
                accounts: accounts.into_iter().collect(),
                principals: principals.into_values().collect(),
                findings: findings.into_values().collect(),
                identities,
                identity_checks_not_possible: gaps,
            }
        })
}

fn keyed(
    changes: &[iam_tighten::diff::Change],
    kind: ChangeKind,
) -> BTreeSet<(String, String, String)> {
    changes
        .iter()
        .filter(|c| c.kind == kind)
        .map(|c| {
            (
                c.account_id.clone(),
                c.principal_arn.clone(),
                c.action.clone(),
            )
        })
        .collect()
}

/// Identity rows of one kind, keyed as the diff keys them (account, principal, finding,
/// credential).
fn identity_keyed(
    changes: &[iam_tighten::diff::Change],
    kind: ChangeKind,
) -> BTreeSet<(String, String, String, Option<String>)> {
    changes
        .iter()
        .filter(|c| c.kind == kind)
        .map(|c| {
            (
                c.account_id.clone(),
                c.principal_arn.clone(),
                c.action.clone(),
                c.identity.as_ref().and_then(|i| i.credential.clone()),
            )
        })
        .collect()
}

proptest! {
    #[test]
    fn diff_with_itself_has_only_unchanged_kinds(a in side_strategy()) {
        let changes = compare(&a, &a);
        prop_assert!(changes.iter().all(|c| !c.kind.is_change()), "{changes:#?}");
        prop_assert_eq!(KindCounts::of(&changes).changes(), 0);
        // Every finding and identity finding appears exactly once; identity rows are all
        // identity_unchanged.
        prop_assert_eq!(changes.len(), a.findings.len() + a.identities.len());
        let identity: Vec<ChangeKind> =
            changes.iter().map(|c| c.kind).filter(|k| k.is_identity()).collect();
        prop_assert_eq!(identity.len(), a.identities.len());
        prop_assert!(identity.iter().all(|k| *k == ChangeKind::IdentityUnchanged));
    }

    #[test]
    fn identity_rows_match_both_ways(a in side_strategy(), b in side_strategy()) {
        let ab = compare(&a, &b);
        let ba = compare(&b, &a);
        let k = |c: &[iam_tighten::diff::Change], kind| identity_keyed(c, kind);
        prop_assert_eq!(
            k(&ab, ChangeKind::IdentityUnchanged),
            k(&ba, ChangeKind::IdentityUnchanged)
        );
        // Only on the old side: resolved or unknown one way, new the other way.
        let mut gone = k(&ab, ChangeKind::IdentityResolved);
        gone.extend(k(&ab, ChangeKind::IdentityUnknown));
        prop_assert_eq!(gone, k(&ba, ChangeKind::IdentityNew));
        // Unknown only where the new side could not check (gap or account not exported).
        for c in ab.iter().filter(|c| c.kind == ChangeKind::IdentityUnknown) {
            let check = c.identity.as_ref().map(|i| i.finding);
            prop_assert!(
                !b.accounts.contains(&c.account_id)
                    || b.identity_checks_not_possible
                        .iter()
                        .any(|g| g.account_id == c.account_id && Some(g.check) == check),
                "{c:?}"
            );
        }
        prop_assert_eq!(
            ab.iter().filter(|c| c.kind.is_identity()).count(),
            a.identities.len() + k(&ab, ChangeKind::IdentityNew).len()
        );
    }

    #[test]
    fn revoked_one_way_is_newly_granted_the_other(a in side_strategy(), b in side_strategy()) {
        let ab = compare(&a, &b);
        let ba = compare(&b, &a);
        let pairs = [
            (ChangeKind::Revoked, ChangeKind::NewlyGranted),
            (ChangeKind::PrincipalAdded, ChangeKind::PrincipalRemoved),
            (ChangeKind::AccountAdded, ChangeKind::AccountRemoved),
            (ChangeKind::PrincipalRecreated, ChangeKind::PrincipalRecreated),
            (ChangeKind::StillUnused, ChangeKind::StillUnused),
            (ChangeKind::UnchangedUsed, ChangeKind::UnchangedUsed),
        ];
        for (x, y) in pairs {
            prop_assert_eq!(keyed(&ab, x), keyed(&ba, y), "{:?} / {:?}", x, y);
            prop_assert_eq!(keyed(&ab, y), keyed(&ba, x), "{:?} / {:?}", y, x);
        }
        // Newly used one way is newly unused or newly unknown the other.
        let mut back = keyed(&ba, ChangeKind::NewlyUnused);
        back.extend(keyed(&ba, ChangeKind::NewlyUnknown));
        prop_assert!(keyed(&ab, ChangeKind::NewlyUsed).is_subset(&back));
    }

    #[test]
    fn compare_is_sorted_and_deterministic(a in side_strategy(), b in side_strategy()) {
        let one = compare(&a, &b);
        let mut shuffled = b.clone();
        shuffled.findings.reverse();
        shuffled.principals.reverse();
        prop_assert_eq!(&one, &compare(&a, &shuffled));
        prop_assert!(one.windows(2).all(|w| w[0].kind <= w[1].kind));
    }
}

// ---- CLI on sample-data ---------------------------------------------------------------------------

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn cmd() -> Command {
    let mut c = Command::cargo_bin("iam-tighten").expect("the binary is built");
    c.current_dir(root());
    c
}

struct Run {
    out: tempfile::TempDir,
    code: i32,
    stderr: String,
}

impl Run {
    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.out.path().join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    }
}

fn diff(old: &str, new: &str, extra: &[&str]) -> Run {
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

/// q3 → q4 with `--exit-code`, shared by the tests that only read its outputs.
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

#[test]
fn q3_to_q4_shows_every_change_kind_and_exits_1() {
    let run = q3_q4();
    assert_eq!(run.code, 1, "{}", run.stderr);
    let counts = kinds_in_csv(&run.file("diff.csv"));
    for kind in ChangeKind::ALL {
        if kind == ChangeKind::AccountAdded {
            continue; // q3 → q4 only closes an account; the reverse direction opens it (below).
        }
        assert!(
            counts.get(kind.as_str()).copied().unwrap_or(0) > 0,
            "no {} row in {counts:?}",
            kind.as_str()
        );
    }
    assert!(run.stderr.contains("wrote "), "{}", run.stderr);
    for name in ["diff.csv", "diff.json", "diff.html"] {
        assert!(run.out.path().join(name).is_file(), "{name}");
    }
}

#[test]
fn q3_to_q4_tells_the_sample_story() {
    let csv = q3_q4().file("diff.csv");
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
    let counts = kinds_in_csv(&run.file("diff.csv"));
    let kinds: BTreeSet<&str> = counts.keys().map(String::as_str).collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            "identity_unchanged",
            "still_unknown",
            "still_unused",
            "unchanged_used"
        ])
    );
    let json: serde_json::Value =
        serde_json::from_str(&run.file("diff.json")).expect("diff.json is JSON");
    assert_eq!(json["headline"]["changes"], 0);
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

/// The cells of diff.csv rows (a real CSV reader: details hold commas).
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .from_reader(text.as_bytes())
        .records()
        .map(|r| {
            r.expect("a CSV record")
                .iter()
                .map(str::to_string)
                .collect()
        })
        .collect()
}

#[test]
fn q3_to_q4_identity_changes_follow_the_data() {
    let rows = csv_rows(&q3_q4().file("diff.csv"));
    let find = |kind: &str, principal: &str, finding: &str| {
        rows.iter()
            .filter(|r| r[0] == kind && r[3] == principal && r[5] == finding)
            .collect::<Vec<_>>()
    };
    // former-contractor's key 1 was used on 2026-06-18: inside q3's window, before q4's.
    let key = find("identity_new", "former-contractor", "access_key_unused");
    assert_eq!(key.len(), 1, "{rows:?}");
    let key = key[0];
    assert_eq!(key[1], "222222222222");
    assert_eq!(key[12], "high"); // new_sensitivity
    assert_eq!(key[13], ""); // old_last_accessed: no finding on the old side
    assert_eq!(key[14], "2026-06-18T17:56:12Z"); // new_last_accessed: the key's last use
    assert!(
        key[19].starts_with("credential access_key_1: "),
        "{}",
        key[19]
    );
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
    assert!(
        unknown[0][19].contains("could not run this check"),
        "{}",
        unknown[0][19]
    );
    let by_kind = |k: &str| rows.iter().filter(|r| r[0] == k).count();
    assert_eq!(by_kind("identity_resolved"), 1);
    assert_eq!(by_kind("identity_unknown"), 1);
    assert!(
        !rows
            .iter()
            .any(|r| r[0] == "identity_resolved" && r[1] == "333333333333")
    );

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

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for e in std::fs::read_dir(from).expect("read dir") {
        let e = e.expect("dir entry");
        let target = to.join(e.file_name());
        if e.file_type().expect("file type").is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).expect("copy");
        }
    }
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

#[test]
fn missing_folder_exits_2_and_names_it() {
    let run = diff("sample-data/2026-q3", "sample-data/no-such-quarter", &[]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no-such-quarter"), "{}", run.stderr);
    assert!(run.stderr.contains("new export"), "{}", run.stderr);
    assert!(!run.out.path().join("diff.csv").exists());
}

#[test]
fn as_of_is_refused() {
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

fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The full diff.csv is ~20 MB (two `AdministratorAccess` roles and a power user hold ~22,000
/// actions each, nearly all still unused), so the snapshot pins its SHA-256, the rows per kind,
/// the header and every row of a change kind (~1,000 lines); the unchanged kinds
/// (`still_unused`, `still_unknown`, `unchanged_used`) are pinned by the digest and counts only.
#[test]
fn snapshot_diff_csv() {
    let csv = q3_q4().file("diff.csv");
    let mut snap = format!("sha256 {}\nlines {}\n", sha256(&csv), csv.lines().count());
    for (kind, n) in kinds_in_csv(&csv) {
        snap.push_str(&format!("{kind} {n}\n"));
    }
    snap.push_str("---- header and change rows\n");
    let unchanged = ["still_unused,", "still_unknown,", "unchanged_used,"];
    for line in csv
        .lines()
        .filter(|l| !unchanged.iter().any(|u| l.starts_with(u)))
    {
        snap.push_str(line);
        snap.push('\n');
    }
    insta::assert_snapshot!("diff_csv_q3_q4", snap);
}

/// diff.json is ~1 MB; the snapshot pins its SHA-256 and the model with `rows` cut to the first
/// 300 (all other fields in full).
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
