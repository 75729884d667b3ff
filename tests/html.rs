//! report.html: escaping of hostile export strings, no external URLs, the CSP script hash,
//! determinism and the size bound. The models are built by hand so every field can carry a
//! payload; `tests/browser/` checks the page in a real browser.

use std::path::Path;

use chrono::{DateTime, Utc};
use iam_tighten::analysis::config::Config;
use iam_tighten::analysis::{
    AccountWarning, AsOfSource, BySensitivity, Counts, ExportInfo, LabelId, PolicyInfo,
    PolicyLabel, PrincipalInfo, PrincipalNames, Reason, Sensitivity, ServiceSummary, Status,
};
use iam_tighten::decisions::{Decision, DecisionKind};
use iam_tighten::model::{InputFile, PrincipalType, Sha256Sum, Warning};
use iam_tighten::report::html;
use iam_tighten::report::model::{
    CatalogInfo, FindingView, IntentionalRuleInfo, PrincipalRank, PrincipalView, Principals,
    ReasonCount, ReasonCounts, ServiceRisk, SettingsInfo, Shared, Summary, ToolInfo,
};
use iam_tighten::report::{Limits, ReportModel};
use sha2::{Digest, Sha256};

/// Every payload below must come out as text, never as markup.
const PAYLOADS: [&str; 7] = [
    "<img src=x onerror=alert(1)>",
    "</script><script>alert(2)</script>",
    "\"><svg onload=alert(3)>",
    "'><iframe src=javascript:alert(4)>",
    "</style><style>body{display:none}</style>",
    // The marks `html::render` measures a page with and fills in after (escaped, they cannot be
    // taken for them).
    "<!-- iam-tighten: the principal sections -->",
    "<!-- iam-tighten: the rows of the table of principals -->",
];

fn ts(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("timestamp")
        .with_timezone(&Utc)
}

/// A string field: the `i`-th payload when hostile, else `plain`.
fn s(hostile: bool, i: usize, plain: &str) -> String {
    if hostile {
        format!("{plain}{}", PAYLOADS[i % PAYLOADS.len()])
    } else {
        plain.to_string()
    }
}

fn finding(
    hostile: bool,
    account: &str,
    name: &str,
    n: usize,
    sens: Sensitivity,
    reason: Reason,
) -> FindingView {
    let service = ["iam", "ec2", "s3", "lambda"][n % 4];
    FindingView {
        account_id: account.to_string(),
        principal_type: "role",
        principal_name: name.to_string(),
        principal_arn: format!("arn:aws:iam::{account}:role/{name}"),
        service: service.to_string(),
        action: s(hostile, n, &format!("{service}:Action{n}")),
        action_summary: iam_tighten::analysis::explain::ActionSummary {
            text: s(hostile, n + 5, "3 of the 10 actions granted"),
            siblings: vec![iam_tighten::analysis::explain::Sibling {
                action: s(hostile, n + 6, &format!("{service}:Other{n}")),
                status: "unused",
                rank: 7,
            }],
            others: 1,
        },
        actions: 1 + (n % 3) as u32,
        access_level: "Write",
        status: Status::Unused,
        reason,
        sensitivity: sens,
        actions_by_sensitivity: BySensitivity {
            critical: u64::from(sens == Sensitivity::Critical),
            high: u64::from(sens == Sensitivity::High),
            medium: u64::from(sens == Sensitivity::Medium),
            low: u64::from(sens == Sensitivity::Low) + (n % 3) as u64,
        },
        risk_categories: vec!["privilege_escalation"],
        risky_actions: (sens >= Sensitivity::High)
            .then(|| iam_tighten::analysis::named::NamedAction {
                action: s(hostile, n + 3, &format!("{service}:Risky{n}")),
                sensitivity: sens,
                why: s(hostile, n + 4, "privilege_escalation (with iam:PassRole)"),
            })
            .into_iter()
            .collect(),
        last_accessed: n.is_multiple_of(3).then(|| ts("2025-10-01T10:00:00Z")),
        last_accessed_region: Some(s(hostile, n + 1, "us-east-1").into()),
        days_since_access: n.is_multiple_of(3).then_some(415),
        granted_by: s(hostile, n + 2, "aws:AdministratorAccess"),
        resource_scope: if n.is_multiple_of(2) { "all" } else { "scoped" },
        rank: n as u32 + 1,
        conditional: n.is_multiple_of(5),
        actionable: true,
        excluded: false,
        exclusion_reason: None,
        control_effect: None,
        control_detail: None,
    }
}

fn principal(
    hostile: bool,
    account: &str,
    i: usize,
    per_principal: usize,
) -> PrincipalView<'static> {
    let name = s(hostile, i, &format!("Role{i:05}"));
    let sens = [
        Sensitivity::Critical,
        Sensitivity::High,
        Sensitivity::Medium,
        Sensitivity::Low,
    ];
    let reasons = [
        Reason::ServiceNotAccessed,
        Reason::ActionNotAccessed,
        Reason::ActionLastAccessedBeforeWindow,
    ];
    let unused: Vec<FindingView> = (0..per_principal)
        .map(|n| {
            finding(
                hostile,
                account,
                &name,
                n,
                sens[n % 4],
                reasons[(n / 7) % 3],
            )
        })
        .collect();
    let counts = Counts::<u32> {
        granted: 400,
        used: 20,
        unused: per_principal as u32 + 50,
        unknown: 30,
        excluded: 2,
    };
    let services = (0..80)
        .map(|k| ServiceSummary {
            // A model built by hand lives for the whole test ('static).
            service: s(hostile, k, &format!("service{k:02}")).leak(),
            counts: Counts {
                granted: 5,
                used: u64::from(k % 9 == 0),
                unused: 3,
                unknown: 1,
                excluded: 0,
            },
            last_accessed: (k % 2 == 0).then(|| ts("2026-10-01T10:00:00Z")),
            last_accessed_region: Some(s(hostile, k, "eu-west-1").leak()),
            reported: k % 3 != 0,
            highest_unused_sensitivity: Some(sens[k % 4]),
        })
        .collect();
    PrincipalView::new(
        Shared::Owned(Box::new(PrincipalInfo {
            account_id: account.into(),
            kind: PrincipalType::Role,
            names: PrincipalNames::new(
                &name,
                &format!("arn:aws:iam::{account}:role/{name}"),
                &s(hostile, i + 1, &format!("AROA{i:016}")),
            )
            .expect("short texts"),
            tags: [
                (s(hostile, i + 5, "team"), s(hostile, i + 6, "payments")),
                (
                    "note".to_string(),
                    "</script><script>alert(1)</script>".to_string(),
                ),
            ]
            .into_iter()
            .collect(),
            created: Some(ts("2024-01-02T03:04:05Z")),
            last_used: i.is_multiple_of(2).then(|| ts("2026-11-01T00:00:00Z")),
            last_used_region: Some(s(hostile, i + 2, "us-east-1").into()),
            service_linked: false,
            actionable: true,
            intentional: None,
            permission_set: None,
            has_last_accessed: !i.is_multiple_of(7),
            as_of: Some(ts("2026-11-20T09:12:00Z")),
            // Named by label `i` (`labels`).
            policies: vec![PolicyInfo {
                kind: iam_tighten::policy::PolicyKind::AwsManaged,
                arn: Some(
                    s(
                        hostile,
                        i + 4,
                        "arn:aws:iam::aws:policy/AdministratorAccess",
                    )
                    .into(),
                ),
                boundary: false,
                grants: 400,
                unused: 300,
                label: LabelId(i as u32),
            }]
            .into(),
            unmatched_patterns: vec![s(hostile, i, "inline:x: ec2:Nonexistent*").into()].into(),
            counts,
            unused_by_sensitivity: BySensitivity {
                critical: 3,
                high: 10,
                medium: 20,
                low: 40,
            },
            score: 1000 - (i as u32 % 1000),
            flags: vec!["unused_role"].into_boxed_slice(),
        })),
        unused,
        50,
        ReasonCounts::from_iter([(Reason::NotObservable, 20), (Reason::ActionNotTracked, 10)]),
        None,
        services,
    )
}

/// The labels of `principal`'s policies: principal `i`'s is the `i`th.
fn labels(hostile: bool, n: usize) -> &'static [PolicyLabel] {
    let labels: Vec<PolicyLabel> = (0..n)
        .map(|i| PolicyLabel {
            kind: iam_tighten::policy::PolicyKind::AwsManaged,
            name: s(hostile, i + 3, "AdministratorAccess"),
            via_group: hostile.then(|| s(true, i, "admins")),
            boundary: false,
        })
        .collect();
    // A model built by hand lives for the whole test ('static).
    labels.leak()
}

/// A model of `n` principals in one account; every string carries a payload when `hostile`.
fn model(hostile: bool, n: usize, per_principal: usize) -> ReportModel<'static> {
    let account = "111111111111";
    let principals: Vec<PrincipalView> = (0..n)
        .map(|i| principal(hostile, account, i, per_principal))
        .collect();
    let limits = Limits::default();
    let top: Vec<FindingView> = principals
        .iter()
        .flat_map(|p| p.unused().iter().cloned())
        .take(limits.top_findings)
        .collect();
    let riskiest = principals
        .iter()
        .take(20)
        .map(|p| PrincipalRank {
            account_id: p.info.account_id.to_string(),
            principal_type: "role",
            principal_name: p.info.name().to_owned(),
            principal_arn: p.info.arn().to_owned(),
            score: u64::from(p.info.score),
            unused_by_sensitivity: p.info.unused_by_sensitivity.wide(),
            counts: p.info.counts.wide(),
            flags: p.info.flags.to_vec(),
            intentional: p.info.intentional.as_ref().map(|m| m.rule.clone()),
        })
        .collect();
    let config_text = format!(
        "[[exclude]]\nprincipal = {:?}\naction = \"iam:*\"\nreason = {:?}\nexpires = 2027-03-31\n",
        s(hostile, 0, "BreakGlass*"),
        s(hostile, 1, "break-glass role, reviewed quarterly"),
    );
    let config = Config::parse(Path::new("exclusions.toml"), &config_text).expect("config");
    ReportModel {
        tool: ToolInfo {
            name: "iam-tighten",
            version: "0.1.0",
        },
        catalog: CatalogInfo {
            source: s(hostile, 0, "embedded"),
            version: s(hostile, 1, "2026-11-01"),
            updated: s(hostile, 2, "2026-11-01"),
            actions: 17000,
        },
        settings: SettingsInfo {
            unused_after_days: 90,
            as_of_flag: None,
            config_file: Some(s(hostile, 3, "exclusions.toml")),
            config_sha256: Some("ab".repeat(32)),
            key_max_age_days: Some(90),
            recommendation_folders: Some(1000),
            command_line: vec![
                "iam-tighten".into(),
                "report".into(),
                s(hostile, 4, "exports/2026-q4"),
            ],
            intentional_rules: vec![IntentionalRuleInfo {
                id: s(hostile, 5, "break_glass_custom"),
                source: "config",
                enabled: true,
                matches: s(hostile, 6, "principal *-breakglass: reviewed quarterly"),
            }],
        },
        limits,
        accounts: vec![ExportInfo {
            account_id: account.to_string(),
            partition: "aws".to_string(),
            path: s(hostile, 4, "sample-data/2026-q4/111111111111"),
            as_of: Some(ts("2026-11-20T09:12:00Z")),
            as_of_source: AsOfSource::Export,
            window_start: Some(ts("2026-08-22T09:12:00Z")),
            principals: n,
            has_credential_report: true,
            files: vec![InputFile {
                path: s(hostile, 0, "authorization-details.json"),
                sha256: Sha256Sum([0xab; 32]),
                bytes: 123_456,
            }],
            manifest: Some(iam_tighten::analysis::ManifestFacts {
                tool: Some(s(hostile, 5, "iam-tighten fetch 0.1.0")),
                created: Some(ts("2026-11-20T09:00:00Z")),
                files_verified: 12,
            }),
        }]
        .into(),
        warnings: vec![AccountWarning {
            account_id: account.to_string(),
            warning: Warning {
                code: s(hostile, 2, "last_accessed_incomplete"),
                file: Some(s(hostile, 3, "last-accessed/roles/x.json")),
                json_path: Some(s(hostile, 4, "$.ServicesLastAccessed[3]")),
                message: s(hostile, 0, "job did not complete"),
            },
        }]
        .into(),
        summary: Summary {
            accounts: 1,
            principals: n,
            principals_with_unused: n,
            unused_roles: n / 3,
            totals: Counts {
                granted: 400 * n as u64,
                used: 20 * n as u64,
                unused: 300 * n as u64,
                unknown: 30 * n as u64,
                excluded: 2 * n as u64,
            },
            unused_by_sensitivity: BySensitivity {
                critical: 3 * n as u64,
                high: 10 * n as u64,
                medium: 20 * n as u64,
                low: 40 * n as u64,
            },
            reasons: Reason::ALL
                .iter()
                .map(|r| ReasonCount {
                    reason: *r,
                    status: r.status(),
                    explanation: r.explain(),
                    count: 7,
                })
                .collect(),
        },
        riskiest_principals: riskiest,
        unused_by_service: (0..30)
            .map(|k| ServiceRisk {
                service: s(hostile, k, &format!("service{k:02}")),
                by_sensitivity: BySensitivity {
                    critical: 30 - k as u64,
                    high: 2 * k as u64,
                    medium: 5,
                    low: 40,
                },
                total: 30 - k as u64 + 2 * k as u64 + 45,
            })
            .collect(),
        top_findings_omitted: 12345,
        top_findings: top,
        principals: Principals::new(principals, labels(hostile, n)),
        exclusions: config.exclusions,
        organization: None,
        identities: Default::default(),
        decisions: decisions(hostile, account, n),
        decisions_total: n + 2,
        decisions_omitted: 0,
        all_decisions: Vec::new().into(),
    }
}

/// A decision per principal (cut at 30) and one intentional-access decision, every string a
/// payload when `hostile`.
fn decisions(hostile: bool, account: &str, n: usize) -> Vec<Decision> {
    let mut list: Vec<Decision> = (0..n.min(30))
        .map(|i| Decision {
            rank: i as u32 + 1,
            id: iam_tighten::decisions::DecisionId::new(i as u64),
            kind: if i == 0 {
                DecisionKind::DeleteRootAccessKey
            } else {
                DecisionKind::ReplaceManagedPolicy
            },
            sensitivity: Sensitivity::Critical,
            score: 1000 - i as u64,
            account_id: account.into(),
            principal_type: iam_tighten::analysis::identities::IdentityPrincipalType::Role,
            principal_name: s(hostile, i, &format!("Role{i:05}")).into(),
            principal_arn: format!("arn:aws:iam::{account}:role/Role{i:05}").into(),
            subject: s(hostile, i + 1, "AdministratorAccess").into(),
            title: s(
                hostile,
                i + 2,
                "Replace AWS managed policy AdministratorAccess",
            )
            .into(),
            removes: BySensitivity {
                critical: 3,
                high: 10,
                medium: 20,
                low: 40,
            },
            risky_actions: vec![iam_tighten::analysis::named::NamedAction {
                action: s(hostile, i + 3, "iam:CreateAccessKey"),
                sensitivity: Sensitivity::Critical,
                why: s(hostile, i + 4, "privilege_escalation"),
            }]
            .into(),
            risky_more: 2,
            evidence: s(hostile, i + 5, "used 2 of 457 granted services").into(),
            files: Some(
                s(
                    hostile,
                    i + 6,
                    "recommendations/111111111111/role/x/aws-managed-x.json",
                )
                .into(),
            ),
            intentional: None,
        })
        .collect();
    list.push(Decision {
        rank: list.len() as u32 + 1,
        id: iam_tighten::decisions::DecisionId::new(0xff_ffff_ffff),
        kind: DecisionKind::ConfirmIntentional,
        sensitivity: Sensitivity::Critical,
        score: 1,
        account_id: account.into(),
        principal_type: iam_tighten::analysis::identities::IdentityPrincipalType::Role,
        principal_name: s(hostile, 1, "BreakGlassAdmin").into(),
        principal_arn: format!("arn:aws:iam::{account}:role/BreakGlassAdmin").into(),
        subject: "".into(),
        title: s(
            hostile,
            2,
            "Confirm role BreakGlassAdmin as intentional access",
        )
        .into(),
        removes: BySensitivity::default(),
        risky_actions: Vec::new().into(),
        risky_more: 0,
        evidence: s(hostile, 3, "5 unused permissions").into(),
        files: None,
        intentional: Some(Box::new(
            iam_tighten::analysis::intentional::IntentionalMatch {
                rule: s(hostile, 4, "break_glass"),
                reason: s(hostile, 5, "a break-glass role"),
            },
        )),
    });
    list
}

fn render(m: &ReportModel) -> String {
    let mut out = Vec::new();
    html::render(m, &mut out).expect("render");
    String::from_utf8(out).expect("utf-8")
}

/// The text of the one inline script.
fn inline_script(page: &str) -> &str {
    let start = page.find("<script>").expect("a <script>") + "<script>".len();
    let end = start + page[start..].find("</script>").expect("</script>");
    &page[start..end]
}

#[test]
fn hostile_strings_render_as_text() {
    let page = render(&model(true, 12, 30));
    for p in PAYLOADS {
        assert!(!page.contains(p), "payload {p:?} appears unescaped");
    }
    for needle in [
        "<img",
        "<svg onload",
        "<iframe",
        "<script>alert",
        "<style>body",
        "=\"x\" onerror",
    ] {
        assert!(!page.contains(needle), "{needle:?} appears unescaped");
    }
    assert_eq!(
        page.matches("<script").count(),
        1,
        "only the report's own script"
    );
    assert_eq!(page.matches("</script").count(), 1);
    assert_eq!(
        page.matches("<style").count(),
        1,
        "only the report's own stylesheet"
    );
    assert_eq!(inline_script(&page), html::JS);
    assert!(
        !page.contains("<!--"),
        "no mark is left, none is taken from the export"
    );
    // The escaped form is there: the payload is shown, as text.
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
}

#[test]
fn no_external_urls() {
    for hostile in [false, true] {
        let page = render(&model(hostile, 5, 10));
        for attr in [
            "src=",
            "href=",
            "action=",
            "xlink:href=",
            "srcset=",
            "poster=",
            "data=",
        ] {
            for (i, _) in page.match_indices(attr) {
                let value: String = page[i + attr.len()..].chars().take(60).collect();
                let value = value.trim_start_matches(['"', '\'']);
                assert!(
                    !(value.starts_with("http")
                        || value.starts_with("//")
                        || value.contains("://")),
                    "external reference {attr}{value}"
                );
            }
        }
        if !hostile {
            // The only absolute URL allowed is the SVG namespace, which is never fetched.
            let without_ns = page.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
            assert!(!without_ns.contains("http://"), "http:// in the page");
            assert!(!without_ns.contains("https://"), "https:// in the page");
        }
        assert!(!page.contains("@import"));
        assert!(!page.contains("url("));
    }
}

#[test]
fn csp_allows_exactly_the_inline_script() {
    let page = render(&model(false, 3, 5));
    let script = inline_script(&page);
    let digest = Sha256::digest(script.as_bytes());
    let hash = format!("'sha256-{}'", base64(&digest));
    let meta = format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src {hash}; img-src data:;"
    );
    assert!(page.contains(&meta), "CSP meta with {hash} missing");
    assert_eq!(html::script_hash(), hash);
    // The CSP comes before any script or style.
    let csp_at = page.find("Content-Security-Policy").expect("csp");
    assert!(csp_at < page.find("<style").expect("style"));
    assert!(csp_at < page.find("<script").expect("script"));
    // No inline event handlers (CSP would block them anyway).
    assert!(!page.contains(" onclick="));
    assert!(!page.contains(" onload="));
}

/// Independent base64 (standard alphabet, padded) for the CSP check.
fn base64(bytes: &[u8]) -> String {
    let abc: Vec<char> = ('A'..='Z')
        .chain('a'..='z')
        .chain('0'..='9')
        .chain(['+', '/'])
        .collect();
    let mut bits = String::new();
    for b in bytes {
        bits.push_str(&format!("{b:08b}"));
    }
    while !bits.len().is_multiple_of(6) {
        bits.push('0');
    }
    let mut out: String = bits
        .as_bytes()
        .chunks(6)
        .map(|c| {
            abc[usize::from_str_radix(std::str::from_utf8(c).expect("bits"), 2).expect("bits")]
        })
        .collect();
    while !out.len().is_multiple_of(4) {
        out.push('=');
    }
    out
}

#[test]
fn rendering_is_deterministic() {
    let m = model(true, 25, 20);
    let a = render(&m);
    let b = render(&m);
    assert_eq!(a, b);
    assert_eq!(render(&model(true, 25, 20)), a);
}

#[test]
fn page_shows_every_section() {
    let m = model(false, 4, 12);
    let page = render(&m);
    for id in [
        "id=\"warnings\"",
        "id=\"scope\"",
        "id=\"summary\"",
        "id=\"remove-first\"",
        "id=\"principals\"",
        "id=\"all-principals\"",
        "id=\"methodology\"",
        "id=\"exclusions\"",
    ] {
        assert!(page.contains(id), "{id} missing");
    }
    for reason in Reason::ALL {
        assert!(
            page.contains(reason.as_str()),
            "reason {} not explained",
            reason.as_str()
        );
    }
    assert!(
        page.contains("12,345 more</strong>"),
        "omitted top findings are counted"
    );
    assert!(page.contains("findings.csv"));
    assert!(
        page.contains(&"ab".repeat(32)),
        "input file hashes are listed"
    );
    assert!(page.contains("<svg class=\"chart\""));
    assert!(page.contains("2026-11-20 09:12 UTC"));
}

#[test]
fn principal_sections_are_capped() {
    let mut m = model(false, 30, 3);
    m.limits.principal_sections = 7;
    let page = render(&m);
    assert_eq!(page.matches("<details class=\"principal\"").count(), 7);
    // Every principal is in the compact table.
    assert_eq!(
        page.matches("data-type=\"role\" data-status=\"unused\"")
            .count(),
        30
    );
}

#[test]
fn ten_thousand_principals_stay_under_10_mb() {
    let m = model(false, 10_000, Limits::default().per_principal);
    let page = render(&m);
    assert!(
        page.len() < 10_000_000,
        "report.html is {} bytes",
        page.len()
    );
    // The size bound may cut sections, never all of them, and the page says where the rest is.
    let sections = page.matches("<details class=\"principal\"").count();
    assert!(
        (1..=Limits::default().principal_sections).contains(&sections),
        "{sections} sections"
    );
    assert!(page.contains("findings.csv"));
    assert_eq!(page.matches("<script").count(), 1);
}

/// The real-browser test (tests/browser/run.sh: Debian chromium driven by playwright-core,
/// offline) on the sample report. Runs when chromium, node and the browser test's node_modules
/// are present; with IAM_TIGHTEN_REQUIRE_BROWSER set (CI) their absence is a failure.
#[test]
fn real_browser_on_sample_report() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().unwrap();
    assert_cmd::Command::cargo_bin("iam-tighten")
        .unwrap()
        .current_dir(root)
        .args(["report", "sample-data/2026-q4", "--format", "html", "--out"])
        .arg(out.path())
        .assert()
        .success();
    crate::common::real_browser_test(&[out.path().join("report.html").as_os_str()]);
}

/// Input files of these paths, each of 10 bytes with the same SHA-256.
fn input_files(paths: impl Iterator<Item = String>) -> Vec<InputFile> {
    paths
        .map(|path| InputFile {
            path,
            sha256: Sha256Sum([0xcd; 32]),
            bytes: 10,
        })
        .collect()
}

#[test]
fn input_file_lists_are_capped_per_account_and_counted() {
    let mut m = model(false, 3, 5);
    m.accounts.to_mut()[0].files = input_files(
        std::iter::once("authorization-details.json".to_string())
            .chain((0..5000).map(|i| format!("last-accessed/roles/r{i:05}.json")))
            .chain(std::iter::once("credential-report.csv".to_string())),
    );
    let page = render(&m);
    // The count is the full one; the list is bounded and keeps every non-last-accessed file.
    assert!(page.contains("SHA-256 of the 5,002 input files"), "count");
    let listed = page.matches("<td class=\"hash\">").count();
    assert_eq!(listed, 300, "files listed");
    assert!(page.contains("<code>credential-report.csv</code>"));
    assert!(page.contains("<code>last-accessed/roles/r00000.json</code>"));
    assert!(!page.contains("<code>last-accessed/roles/r00298.json</code>"));
    assert!(page.contains("4,702 more — all 5,002 are in report.json"));
    // A small export lists every file, with no note.
    let small = render(&model(false, 3, 5));
    assert!(!small.contains("more — all"));
}

/// Many accounts: the page lists 3,000 input files in all (files outside last-accessed/ first),
/// says so once, and stays under its size bound (1,000 accounts listing 300 files each made a
/// 59 MB page at 1,000,000 roles); past 3,000 accounts it lists none.
#[test]
fn input_file_lists_share_one_budget_across_many_accounts() {
    let account = |n: usize, last_accessed: usize| -> ExportInfo {
        let mut a = model(false, 1, 1).accounts.into_owned().remove(0);
        a.account_id = format!("{:012}", 100_000_000_000u64 + n as u64);
        a.path = format!("exports/{}", a.account_id);
        a.files = input_files(
            ["authorization-details.json", "credential-report.csv"]
                .into_iter()
                .map(str::to_string)
                .chain((0..last_accessed).map(|i| format!("last-accessed/roles/r{i:05}.json")))
                .chain(std::iter::once("manifest.json".to_string())),
        );
        a
    };
    let mut m = model(false, 20, 5);
    m.accounts = (0..1_000).map(|n| account(n, 100)).collect();
    let page = render(&m);
    assert!(
        page.len() < 9_500_000,
        "report.html is {} bytes",
        page.len()
    );
    assert_eq!(page.matches("<td class=\"hash\">").count(), 3_000);
    assert_eq!(page.matches("<details class=\"files\">").count(), 1_000);
    // Each account: its three files outside last-accessed/, in path order.
    assert_eq!(
        page.matches("<code>authorization-details.json</code>")
            .count(),
        1_000
    );
    assert_eq!(page.matches("<code>manifest.json</code>").count(), 1_000);
    assert!(!page.contains("r00000.json"));
    assert!(page.contains("100 more — all 103 are in report.json"));
    assert_eq!(page.matches("id=\"files-cap\"").count(), 1);
    assert!(page.contains(
        "With 1,000 accounts this page lists the SHA-256 of at most 3 input files per account"
    ));
    // Fewer accounts share the budget: 40 accounts list 75 files each.
    m.accounts = (0..40).map(|n| account(n, 100)).collect();
    let page = render(&m);
    assert_eq!(page.matches("<td class=\"hash\">").count(), 40 * 75);
    assert!(page.contains("at most 75 input files per account"));
    assert!(page.contains("<code>last-accessed/roles/r00071.json</code>"));
    assert!(!page.contains("<code>last-accessed/roles/r00072.json</code>"));
    // Past 3,000 accounts: no list, the note says where the hashes are.
    m.accounts = (0..3_001).map(|n| account(n, 1)).collect();
    let page = render(&m);
    assert_eq!(page.matches("<details class=\"files\">").count(), 0);
    assert!(page.contains("this page lists no input file’s SHA-256"));
    assert!(page.contains("accounts[].files"));
    // Ten accounts or fewer: 300 each, no note.
    m.accounts = (0..10).map(|n| account(n, 400)).collect();
    let page = render(&m);
    assert_eq!(page.matches("<td class=\"hash\">").count(), 3_000);
    assert!(!page.contains("id=\"files-cap\""));
}

/// Warnings beyond the 200 listed are counted in full (head, banner, the list's heading) and the
/// rest named in report.json; the identity findings' card counts them all (the page's context
/// carries their number, not the list, since a 100,000-role organisation has ~43,000).
#[test]
fn warnings_are_capped_and_counted() {
    let mut m = model(false, 3, 5);
    let one = m.warnings[0].clone();
    m.warnings = (0..1234)
        .map(|i| {
            let mut w = one.clone();
            w.warning.message = format!("warning number {i:04}");
            w
        })
        .collect();
    m.identities.findings = (0..2345)
        .map(|i| iam_tighten::analysis::identities::IdentityFinding {
            rank: i + 1,
            account_id: "111111111111".into(),
            kind: iam_tighten::analysis::identities::IdentityKind::UnusedRole,
            principal_type: iam_tighten::analysis::identities::IdentityPrincipalType::Role,
            principal_name: format!("r{i}"),
            principal_arn: format!("arn:aws:iam::111111111111:role/r{i}"),
            credential: None,
            sensitivity: iam_tighten::analysis::Sensitivity::Medium,
            actionable: true,
            last_used: None,
            age_days: None,
            days_unused: None,
            detail: "not used".into(),
        })
        .collect();
    let page = render(&m);
    assert!(
        page.contains("<a href=\"#warnings\">1,234 warnings</a>"),
        "head"
    );
    assert!(
        page.contains("<b>1,234 warnings while loading the exports</b>"),
        "banner"
    );
    assert!(
        page.contains("Warnings while loading the exports (1,234)"),
        "heading"
    );
    assert!(page.contains("warning number 0199"));
    assert!(!page.contains("warning number 0200"));
    assert!(page.contains("1,034 more warnings are listed in report.json."));
    assert!(
        page.contains("findings</span><span class=\"n\">2,345</span>"),
        "identity card"
    );
    // One warning: singular, listed, no note.
    let page = render(&model(false, 3, 5));
    assert!(page.contains("<a href=\"#warnings\">1 warning</a>"));
    assert!(!page.contains("more warnings are listed"));
}

/// A table of principals too long for the page: the page keeps the sections of the
/// `html::MIN_SECTIONS` highest-scoring principals (cutting sections first left none from ~30,000
/// principals), the rows with the highest score are kept (ties: the model's order), in the
/// model's order, and the page says how many. The page is measured before it is written with the
/// table's rows (`html::render` refuses a page whose length differs from its measure), here with
/// hostile names whose escaping changes their length.
#[test]
fn a_table_too_long_for_the_page_keeps_the_highest_scores_and_says_so() {
    let n = 30_000;
    let mut m = model(true, n, 1);
    for (i, p) in m.principals.iter_mut().enumerate() {
        p.info.to_mut().score = ((i * 7919) % 1000) as u32;
        p.info.to_mut().last_used = (i % 3 == 0).then(|| ts("2026-10-01T10:00:00.250Z"));
    }
    let page = render(&m);
    assert!(page.len() <= html::MAX_BYTES, "{} bytes", page.len());
    let table = &page[page.find("id=\"principals-table\"").unwrap()..];
    let tbody = &table[table.find("<tbody>").unwrap()..table.find("</tbody>").unwrap()];
    let shown = tbody.matches("<tr ").count();
    assert!(shown > 100 && shown < n, "{shown} rows");
    let shown_text = iam_tighten::report::page::thousands(&shown.to_string());
    assert!(
        page.contains(&format!(
            "with the principal sections above, the table lists the {shown_text} principals with \
             the highest score; all 30,000 are in <code>principals.csv</code>"
        )),
        "the cut is not explained"
    );
    assert!(page.contains(&format!("All principals (30,000, {shown_text} listed)")));
    // The sections of the highest-scoring principals stay, and the text above them no longer
    // says every principal is in the table.
    let sections = page.matches("<details class=\"principal\"").count();
    assert_eq!(sections, html::MIN_SECTIONS, "sections kept");
    assert!(page.contains(&format!(
        "The other {} have no section on this page; their findings are in",
        iam_tighten::report::page::thousands(&(n - sections).to_string())
    )));
    assert!(page.contains(&format!(
        "The <a href=\"#all-principals\">table of principals</a> lists the {shown_text} with the \
         highest score; every principal analysed is in <code>principals.csv</code>."
    )));
    assert!(!page.contains("Every principal analysed is in the"));
    let mut kept: Vec<usize> = (0..n).collect();
    kept.sort_by_key(|i| (std::cmp::Reverse(m.principals[*i].info.score), *i));
    kept.truncate(shown);
    kept.sort_unstable();
    let mut at = 0;
    for i in kept {
        let name = iam_tighten::report::page::escape(m.principals[i].info.name());
        let row = "<tr data-account=\"111111111111\" data-type=\"role\" data-status=\"unused\"><th scope=\"row\">";
        let found = tbody[at..].find(row).expect("a row");
        at += found + row.len();
        let cell = &tbody[at..];
        assert!(
            cell.starts_with(&name) || cell.starts_with("<a href=\"#p"),
            "row of principal {i}: {}",
            &cell[..80]
        );
    }
    assert!(!page.contains("<img src=x"), "a name escaped the table");
    assert!(
        tbody.contains("<time datetime=\"2026-10-01T10:00:00.250Z\">2026-10-01 10:00 UTC</time>")
    );
}

/// A recommendation that changes nothing still shows its flags: they say why (a user whose
/// unused actions come only through a group, whose own recommendation changes them; a group
/// kept whole for a member that needs its actions).
#[test]
fn a_skipped_recommendation_shows_why() {
    let out = tempfile::tempdir().unwrap();
    assert_cmd::Command::cargo_bin("iam-tighten")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["report", "sample-data/2026-q4", "--format", "html", "--out"])
        .arg(out.path())
        .assert()
        .success();
    let page = std::fs::read_to_string(out.path().join("report.html")).unwrap();
    let skipped = "none — granted through groups only";
    assert!(page.contains(skipped), "no skipped recommendation");
    for (at, _) in page.match_indices(skipped) {
        let rest = &page[at + skipped.len()..];
        assert!(
            rest.starts_with(
                "<ul class=\"idf\"><li><span class=\"flag warn\">review</span> group "
            ),
            "{}",
            &rest[..rest.len().min(200)]
        );
    }
}

/// The decisions at a glance are the top decisions (`limits.top_decisions`), one line each, as
/// docs/html-report.md says: the list stopped at 12 of the 15 (a number of its own, in the
/// template).
#[test]
fn the_glance_lists_every_top_decision() {
    let m = model(false, 30, 5);
    let top = m
        .decisions
        .iter()
        .filter(|d| d.kind != DecisionKind::ConfirmIntentional)
        .count()
        .min(Limits::default().top_decisions);
    assert!(top > 12, "{top}");
    let page = render(&m);
    let start = page.find("<ol class=\"glance\"").expect("the glance list");
    let list = &page[start..start + page[start..].find("</ol>").unwrap()];
    assert_eq!(list.matches("<li>").count(), top, "{list}");
}

/// report.html points to the data files for what it leaves out ("… more in findings.csv"): a
/// run whose `--format` left some out says so at the page's top, naming them (the page sent the
/// reader to files that were not there; review pass 45). A run of every format says nothing.
#[test]
fn a_page_without_its_data_files_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/2026-q4");
    let page = |name: &str, args: &[&str]| {
        let out = dir.path().join(name);
        assert_cmd::Command::cargo_bin("iam-tighten")
            .unwrap()
            .arg("report")
            .arg(&sample)
            .arg("--out")
            .arg(&out)
            .args(args)
            .assert()
            .success();
        std::fs::read_to_string(out.join("report.html")).unwrap()
    };
    let html = page("html", &["--format", "html,json"]);
    assert!(
        html.contains("This run did not write credentials.csv, decisions.csv, findings.csv, findings.parquet, principals.csv, review.xlsx, services.csv</b>"),
        "{}",
        &html[..html.len().min(4000)]
    );
    assert!(!page("all", &[]).contains("This run did not write"));
}
