//! `iam-tighten fetch` end to end against a local IAM emulator: moto's server plus the
//! last-accessed calls moto lacks (`tests/emulator/`). The emulator runs from `.venv-emulator/`
//! (create it with `tests/emulator/setup.sh`). Without it these tests skip with a message,
//! unless `IAM_TIGHTEN_REQUIRE_EMULATOR` is set (CI sets it), in which case they fail.
//!
//! Fixture data: `tests/emulator/last-accessed.json` (hand-written last-accessed answers: pages,
//! IN_PROGRESS polls, injected `Throttling`, a job that always FAILS) and
//! `tests/emulator/seed.py` (the roles, users, group and policies, created through the IAM API).

#[cfg(not(feature = "fetch"))]
#[test]
fn fetch_without_the_feature_says_so() {
    use assert_cmd::Command;
    use predicates::str::contains;
    let dir = tempfile::tempdir().expect("tempdir");
    Command::cargo_bin("iam-tighten")
        .expect("binary")
        .args(["fetch", "--out"])
        .arg(dir.path().join("out"))
        .assert()
        .code(2)
        .stderr(contains("this build has no network code"))
        .stderr(contains("scripts/export-with-aws-cli.sh"));
}

#[cfg(feature = "fetch")]
mod emulated {
    use std::collections::BTreeMap;
    use std::net::{TcpListener, TcpStream};
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command as StdCommand, Stdio};
    use std::time::{Duration, Instant};

    use assert_cmd::Command;
    use iam_tighten::input::{LoadOptions, load_export};

    const ACCOUNT: &str = "123456789012";

    fn crate_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    fn venv_bin(name: &str) -> PathBuf {
        crate_dir().join(".venv-emulator").join("bin").join(name)
    }

    /// A running emulator; killed on drop.
    struct Emulator {
        child: Child,
        url: String,
    }

    impl Drop for Emulator {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    impl Emulator {
        /// Starts the emulator on a free loopback port and seeds it; `None` means "skip".
        fn start(job_seconds: f64) -> Option<Emulator> {
            Emulator::start_with(job_seconds, &[], &[])
        }

        /// [`Emulator::start`] with more server flags, seeding `accounts` (through assumed-role
        /// sessions) instead of the default account when given.
        fn start_with(
            job_seconds: f64,
            server_args: &[&str],
            accounts: &[&str],
        ) -> Option<Emulator> {
            let python = venv_bin("python");
            if !python.exists() {
                let msg = format!(
                    "{} is missing: run tests/emulator/setup.sh",
                    python.display()
                );
                if std::env::var_os("IAM_TIGHTEN_REQUIRE_EMULATOR").is_some() {
                    panic!("IAM_TIGHTEN_REQUIRE_EMULATOR is set but {msg}");
                }
                eprintln!("SKIPPED fetch emulator test: {msg}");
                return None;
            }
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("free port")
                .port();
            let child = StdCommand::new(&python)
                .arg(crate_dir().join("tests/emulator/server.py"))
                .args(["--port", &port.to_string()])
                .args(["--job-seconds", &job_seconds.to_string()])
                .args(server_args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start the emulator");
            let emulator = Emulator {
                child,
                url: format!("http://127.0.0.1:{port}"),
            };
            let deadline = Instant::now() + Duration::from_secs(60);
            while TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "emulator did not start on port {port}"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
            let seeded = StdCommand::new(&python)
                .arg(crate_dir().join("tests/emulator/seed.py"))
                .arg(&emulator.url)
                .args(accounts)
                .output()
                .expect("run seed.py");
            assert!(
                seeded.status.success(),
                "seed.py failed: {}",
                String::from_utf8_lossy(&seeded.stderr)
            );
            Some(emulator)
        }
    }

    /// Hermetic AWS environment: test credentials, no profile files, no instance metadata
    /// (so nothing but the loopback emulator is ever contacted).
    fn aws_env(cmd: &mut StdCommand, home: &Path) {
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", home.join("aws-config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", home.join("aws-credentials"));
    }

    fn fetch_command(em: &Emulator, home: &Path, out: &Path, concurrency: u8) -> StdCommand {
        let mut cmd = StdCommand::new(assert_cmd::cargo::cargo_bin("iam-tighten"));
        aws_env(&mut cmd, home);
        cmd.args(["fetch", "--endpoint-url", &em.url, "--out"])
            .arg(out)
            .args(["--concurrency", &concurrency.to_string()])
            // Fast polls and backoff; standard retries (adaptive mode rate-limits the client for
            // seconds after the emulator's deliberate throttling); SDK gives up after 2 attempts
            // so our own backoff gets exercised.
            .args([
                "--poll-interval-ms",
                "20",
                "--backoff-ms",
                "5",
                "--max-attempts",
                "2",
            ])
            .args(["--retry-mode", "standard", "--job-timeout", "60"]);
        cmd
    }

    /// Every file under `dir`, by relative path, with its bytes.
    fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
        fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
            for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(root, &path, out);
                } else {
                    let rel = path
                        .strip_prefix(root)
                        .expect("prefix")
                        .to_string_lossy()
                        .into_owned();
                    out.insert(rel, std::fs::read(&path).expect("read"));
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(dir, dir, &mut out);
        out
    }

    fn last_accessed_files(dir: &Path) -> usize {
        tree(dir)
            .keys()
            .filter(|k| k.starts_with("last-accessed/"))
            .count()
    }

    /// The AWS CLI v1 from the venv, printing timestamps as CLI v2 does (`iso8601`).
    fn aws_cli(em: &Emulator, home: &Path, args: &[&str]) -> Vec<u8> {
        std::fs::write(
            home.join("aws-config"),
            "[default]\ncli_timestamp_format = iso8601\n",
        )
        .expect("write aws config");
        let mut cmd = StdCommand::new(venv_bin("aws"));
        aws_env(&mut cmd, home);
        let out = cmd
            .args(["--endpoint-url", &em.url])
            .args(args)
            .output()
            .expect("run aws");
        assert!(
            out.status.success(),
            "aws {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    #[test]
    fn fetch_writes_a_loadable_export_the_aws_cli_would_write() {
        let Some(em) = Emulator::start(0.0) else {
            return;
        };
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("export");

        let run = fetch_command(&em, tmp.path(), &out, 4)
            .output()
            .expect("run fetch");
        let stderr = String::from_utf8_lossy(&run.stderr);
        // One role's job always FAILS: the export is written, incomplete, exit 1.
        assert_eq!(run.status.code(), Some(1), "stderr: {stderr}");
        assert!(stderr.contains("role/legacy-batch"), "stderr: {stderr}");

        let export = load_export(&out, &LoadOptions::default()).expect("load_export");
        assert_eq!(export.account_id, ACCOUNT);
        assert_eq!(export.partition, "aws");
        // 4 roles + 2 users, less the FAILED one; groups are fetched only with --groups.
        assert_eq!(export.last_accessed.len(), 5);
        let manifest = export.manifest.as_ref().expect("manifest");
        let reason = &manifest.missing["role/legacy-batch"];
        assert!(
            reason.contains("FAILED") && reason.contains("gave up after 3 jobs"),
            "{reason}"
        );
        assert_eq!(manifest.missing.len(), 1);
        assert!(
            export
                .warnings
                .iter()
                .any(|w| w.code == "last_accessed_missing")
        );
        let files = tree(&out);
        assert!(
            !files.keys().any(|k| k.contains("iam-tighten-tmp")),
            "{:?}",
            files.keys()
        );
        assert_eq!(
            manifest.files.len(),
            files.len() - 1,
            "every file but the manifest"
        );
        // created comes from the data (the newest JobCompletionDate), not the clock.
        let text = String::from_utf8_lossy(&files["manifest.json"]).into_owned();
        assert!(
            text.contains("\"created_from\": \"job_completion_date\""),
            "{text}"
        );

        // Three pages (page_size 1), IN_PROGRESS polls and Throttling on the way: merged.
        let deployer: serde_json::Value =
            serde_json::from_slice(&files["last-accessed/roles/app-deployer.json"]).expect("json");
        assert_eq!(
            deployer["ServicesLastAccessed"].as_array().map(Vec::len),
            Some(3)
        );
        assert_eq!(deployer["IsTruncated"], false);
        assert!(deployer.get("Marker").is_none());

        // Byte for byte what the AWS CLI prints (v1 with v2's timestamp format).
        let home = tmp.path();
        assert_eq!(
            String::from_utf8_lossy(&aws_cli(
                &em,
                home,
                &[
                    "iam",
                    "get-account-authorization-details",
                    "--output",
                    "json"
                ]
            )),
            String::from_utf8_lossy(&files["authorization-details.json"]),
        );
        let job = aws_cli(
            &em,
            home,
            &[
                "iam",
                "generate-service-last-accessed-details",
                "--arn",
                "arn:aws:iam::123456789012:role/readonly-audit",
                "--granularity",
                "ACTION_LEVEL",
                "--query",
                "JobId",
                "--output",
                "text",
            ],
        );
        let job = String::from_utf8_lossy(&job).trim().to_string();
        assert_eq!(
            String::from_utf8_lossy(&aws_cli(
                &em,
                home,
                &[
                    "iam",
                    "get-service-last-accessed-details",
                    "--job-id",
                    &job,
                    "--max-items",
                    "1000",
                    "--output",
                    "json"
                ],
            )),
            String::from_utf8_lossy(&files["last-accessed/roles/readonly-audit.json"]),
        );
        let report = StdCommand::new(venv_bin("python"))
            .args([
                "-c",
                "import sys, boto3; sys.stdout.buffer.write(boto3.client('iam', endpoint_url=sys.argv[1], \
                 region_name='us-east-1', aws_access_key_id='test', aws_secret_access_key='test')\
                 .get_credential_report()['Content'])",
                &em.url,
            ])
            .output()
            .expect("boto3");
        assert!(
            report.status.success(),
            "{}",
            String::from_utf8_lossy(&report.stderr)
        );
        assert_eq!(report.stdout, files["credential-report.csv"]);

        // And the analysis reads it: RunInstances is tracked and never used.
        let rep = tmp.path().join("report");
        Command::cargo_bin("iam-tighten")
            .expect("binary")
            .args(["report", "--format", "csv", "--out"])
            .arg(&rep)
            .arg(&out)
            .assert()
            .success();
        let mut csv = csv::Reader::from_path(rep.join("findings.csv")).expect("findings.csv");
        let headers = csv.headers().expect("headers").clone();
        let col = |name: &str| headers.iter().position(|h| h == name).expect(name);
        let (who, action, status, why) = (
            col("principal_name"),
            col("action"),
            col("status"),
            col("reason"),
        );
        let mut verdicts = BTreeMap::new();
        for row in csv.records() {
            let row = row.expect("row");
            if &row[who] == "app-deployer" {
                verdicts.insert(
                    row[action].to_string(),
                    (row[status].to_string(), row[why].to_string()),
                );
            }
        }
        assert_eq!(
            verdicts.get("ec2:RunInstances"),
            Some(&("unused".to_string(), "action_not_accessed".to_string())),
            "{verdicts:?}"
        );
        assert_eq!(
            verdicts.get("ec2:DescribeInstances").map(|v| v.0.as_str()),
            Some("used")
        );
    }

    #[test]
    fn an_interrupted_fetch_resumes_to_the_same_export() {
        // Every job stays IN_PROGRESS for 0.4 s, so the fetch can be killed midway.
        let Some(em) = Emulator::start(0.4) else {
            return;
        };
        let tmp = tempfile::tempdir().expect("tempdir");
        let whole = tmp.path().join("whole");
        let resumed = tmp.path().join("resumed");

        let run = fetch_command(&em, tmp.path(), &whole, 4)
            .output()
            .expect("fetch");
        assert_eq!(
            run.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );

        let mut child = fetch_command(&em, tmp.path(), &resumed, 1)
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn fetch");
        let deadline = Instant::now() + Duration::from_secs(120);
        while !resumed.is_dir() || last_accessed_files(&resumed) < 2 {
            assert!(Instant::now() < deadline, "no progress before the kill");
            assert!(
                child.try_wait().expect("try_wait").is_none(),
                "fetch ended before the kill"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill().expect("kill");
        let _ = child.wait();
        let partial = last_accessed_files(&resumed);
        assert!(partial < 5, "killed too late: {partial} files");
        assert!(
            !resumed.join("manifest.json").exists(),
            "the manifest is written last"
        );

        let run = fetch_command(&em, tmp.path(), &resumed, 2)
            .output()
            .expect("fetch");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("already fetched"), "{stderr}");

        // Same bytes everywhere, manifest included (its time comes from the data).
        let (a, b) = (tree(&whole), tree(&resumed));
        assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
        for (path, bytes) in &a {
            assert!(bytes == &b[path], "{path} differs after resume");
        }
        load_export(&resumed, &LoadOptions::default()).expect("load_export");
    }

    #[test]
    fn assume_role_fetches_each_account_into_its_own_export() {
        const A: &str = "111111111111";
        const B: &str = "222222222222";
        const DENIED: &str = "333333333333";
        let Some(em) = Emulator::start_with(0.0, &["--deny-assume-role", DENIED], &[A, B]) else {
            return;
        };
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("org");
        let list = tmp.path().join("accounts.txt");
        std::fs::write(
            &list,
            format!("# prod\n{A}\n\n{DENIED}  # no role there\n{B}\n"),
        )
        .expect("write accounts");
        let multi = |concurrency| {
            let mut cmd = fetch_command(&em, tmp.path(), &out, concurrency);
            cmd.args(["--assume-role", "iam-tighten-read", "--accounts"])
                .arg(&list);
            cmd
        };

        let run = multi(4).output().expect("run fetch");
        let stderr = String::from_utf8_lossy(&run.stderr);
        // The denied account fails, the others are fetched: exit 1.
        assert_eq!(run.status.code(), Some(1), "stderr: {stderr}");
        assert!(
            stderr.contains(&format!("account {DENIED} FAILED")) && stderr.contains("AccessDenied"),
            "stderr: {stderr}"
        );

        let exports =
            iam_tighten::input::load_exports(std::slice::from_ref(&out), &LoadOptions::default())
                .expect("load_exports");
        let ids: Vec<_> = exports.iter().map(|e| e.account_id.as_str()).collect();
        assert_eq!(ids, [A, B]);
        for export in &exports {
            assert_eq!(export.root, out.join(&export.account_id));
            // Each account's own IAM: its roles carry its account id.
            let gaad = String::from_utf8_lossy(
                &std::fs::read(export.root.join("authorization-details.json")).expect("gaad"),
            )
            .into_owned();
            assert!(
                gaad.contains(&format!(
                    "arn:aws:iam::{}:role/app-deployer",
                    export.account_id
                )),
                "{gaad}"
            );
            assert!(
                !gaad.contains(&format!("arn:aws:iam::{ACCOUNT}:")),
                "default account leaked into {}",
                export.account_id
            );
            assert!(
                export.last_accessed.len() >= 5,
                "{}",
                export.last_accessed.len()
            );
        }
        assert!(!out.join(DENIED).join("authorization-details.json").exists());

        let summary: serde_json::Value = serde_json::from_slice(
            &std::fs::read(out.join("fetch-summary.json")).expect("fetch-summary.json"),
        )
        .expect("summary json");
        assert_eq!(summary["role_name"], "iam-tighten-read");
        assert!(
            summary["done"][A].is_object() && summary["done"][B].is_object(),
            "{summary}"
        );
        let reason = summary["failed"][DENIED].as_str().unwrap_or_default();
        assert!(reason.contains("AccessDenied"), "{summary}");
        assert!(
            reason.contains(&format!("arn:aws:iam::{DENIED}:role/iam-tighten-read")),
            "{summary}"
        );
        // No credentials anywhere in the output.
        for (path, bytes) in tree(&out) {
            let text = String::from_utf8_lossy(&bytes);
            for secret in ["SecretAccessKey", "SessionToken", "ASIA"] {
                assert!(!text.contains(secret), "{path} contains {secret}");
            }
        }

        // `report` reads the organisation folder.
        let rep = tmp.path().join("report");
        Command::cargo_bin("iam-tighten")
            .expect("binary")
            .args(["report", "--format", "csv", "--out"])
            .arg(&rep)
            .arg(&out)
            .assert()
            .success();
        let findings = std::fs::read_to_string(rep.join("findings.csv")).expect("findings.csv");
        assert!(findings.contains(A) && findings.contains(B));

        // A rerun resumes each account: finished principals are kept.
        let run = multi(2).output().expect("rerun fetch");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "stderr: {stderr}");
        assert_eq!(
            stderr.matches("already fetched").count(),
            2,
            "stderr: {stderr}"
        );
        iam_tighten::input::load_exports(std::slice::from_ref(&out), &LoadOptions::default())
            .expect("load_exports after resume");
    }

    #[test]
    fn organization_fetches_every_active_account() {
        let Some(em) = Emulator::start(0.0) else {
            return;
        };
        // moto's Organizations: the caller's account (123456789012) is the management account.
        let created = StdCommand::new(venv_bin("python"))
            .args([
                "-c",
                "import sys, boto3; o = boto3.client('organizations', endpoint_url=sys.argv[1], \
                 region_name='us-east-1', aws_access_key_id='test', aws_secret_access_key='test'); \
                 o.create_organization(FeatureSet='ALL'); \
                 [o.create_account(Email=n + '@example.com', AccountName=n) for n in ('a', 'b')]",
                &em.url,
            ])
            .output()
            .expect("boto3");
        assert!(
            created.status.success(),
            "{}",
            String::from_utf8_lossy(&created.stderr)
        );
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("org");
        let run = fetch_command(&em, tmp.path(), &out, 4)
            .args(["--assume-role", "iam-tighten-read", "--organization"])
            .output()
            .expect("run fetch");
        let stderr = String::from_utf8_lossy(&run.stderr);
        // The management account's legacy-batch job FAILS: incomplete, exit 1.
        assert_eq!(run.status.code(), Some(1), "stderr: {stderr}");
        assert!(stderr.contains("3 accounts done"), "stderr: {stderr}");
        let exports =
            iam_tighten::input::load_exports(std::slice::from_ref(&out), &LoadOptions::default())
                .expect("load_exports");
        assert_eq!(exports.len(), 3);
        assert!(exports.iter().any(|e| e.account_id == ACCOUNT));
    }

    #[test]
    fn a_bad_accounts_file_is_a_usage_error_naming_it() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let list = tmp.path().join("accounts.txt");
        std::fs::write(&list, "# ok\n111111111111\n11111111111x\n").expect("write");
        let mut cmd = StdCommand::new(assert_cmd::cargo::cargo_bin("iam-tighten"));
        aws_env(&mut cmd, tmp.path());
        let run = cmd
            // Nothing listens there: the file is checked before any call.
            .args(["fetch", "--endpoint-url", "http://127.0.0.1:9", "--out"])
            .arg(tmp.path().join("org"))
            .args(["--assume-role", "iam-tighten-read", "--accounts"])
            .arg(&list)
            .output()
            .expect("run fetch");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "stderr: {stderr}");
        assert!(
            stderr.contains(&format!("{}:3:", list.display())) && stderr.contains("11111111111x"),
            "stderr: {stderr}"
        );
        assert!(!tmp.path().join("org").exists());

        // --accounts without --assume-role is refused by the flag parser.
        let mut cmd = StdCommand::new(assert_cmd::cargo::cargo_bin("iam-tighten"));
        aws_env(&mut cmd, tmp.path());
        let run = cmd
            .args(["fetch", "--out"])
            .arg(tmp.path().join("org"))
            .arg("--accounts")
            .arg(&list)
            .output()
            .expect("run fetch");
        assert_eq!(run.status.code(), Some(2));
    }
}
