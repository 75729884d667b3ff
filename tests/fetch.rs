//! `iam-tighten fetch` end to end against a local IAM emulator: moto's server plus the
//! last-accessed calls moto lacks (`tests/emulator/`). The emulator runs from `.venv-emulator/`
//! (create it with `tests/emulator/setup.sh`). Without it these tests skip with a message,
//! unless `IAM_TIGHTEN_REQUIRE_EMULATOR` is set (CI sets it), in which case they fail.
//!
//! Fixture data: `tests/emulator/last-accessed.json` (hand-written last-accessed answers: pages,
//! IN_PROGRESS polls, injected `Throttling`, a job that always FAILS) and
//! `tests/emulator/seed.py` (the roles, users, group and policies, created through the IAM API).
//!
//! What moto cannot do, `tests/emulator/server.py` adds (and the tests say where they use it):
//! a principal throttled for ever (`--always-throttle`), a lost network (`/_emulator/outage/on`
//! closes every connection without an answer), and `/_emulator/calls` (the requests it got).
//! What neither can reproduce (an expiring session, a GAAD dump that pages) is unit-tested in
//! `src/fetch/`. The tests of bad endpoints and of `--out` rules need no emulator: they run a
//! tiny local HTTP server, or none at all.

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
pub(crate) mod emulated {
    use std::collections::BTreeMap;
    use std::net::{TcpListener, TcpStream};
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command as StdCommand, Stdio};
    use std::time::{Duration, Instant};

    use assert_cmd::Command;
    use iam_tighten::input::{LoadOptions, load_export};

    pub(crate) const ACCOUNT: &str = "123456789012";

    fn crate_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    pub(crate) fn venv_bin(name: &str) -> PathBuf {
        crate_dir().join(".venv-emulator").join("bin").join(name)
    }

    /// A running emulator; killed on drop.
    pub(crate) struct Emulator {
        child: Child,
        pub(crate) url: String,
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
            Emulator::start_seeded(job_seconds, server_args, accounts).map(|(em, _)| em)
        }

        /// The default account as the management account of an organisation (`seed.py
        /// --organization`: OUs, accounts, an SCP, an RCP, Identity Center permission sets), and
        /// the ids seed.py made.
        fn start_organization(server_args: &[&str]) -> Option<(Emulator, serde_json::Value)> {
            let (em, stdout) = Emulator::start_seeded(0.0, server_args, &["--organization"])?;
            let seed = serde_json::from_slice(&stdout).expect("seed.py prints its ids as JSON");
            Some((em, seed))
        }

        /// Starts the emulator and runs seed.py with `seed_args`; returns seed.py's stdout too.
        pub(crate) fn start_seeded(
            job_seconds: f64,
            server_args: &[&str],
            seed_args: &[&str],
        ) -> Option<(Emulator, Vec<u8>)> {
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
            // The server takes a free port itself and writes it down once it listens: a port
            // chosen here first could be taken by another process before the server binds it.
            let dir = tempfile::tempdir().expect("tempdir");
            let port_file = dir.path().join("port");
            let log = dir.path().join("stderr");
            let mut child = StdCommand::new(&python)
                .arg(crate_dir().join("tests/emulator/server.py"))
                .args(["--port", "0", "--port-file"])
                .arg(&port_file)
                .args(["--job-seconds", &job_seconds.to_string()])
                .args(server_args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).expect("emulator log"))
                .spawn()
                .expect("start the emulator");
            let deadline = Instant::now() + Duration::from_secs(60);
            let port = loop {
                if let Some(port) = std::fs::read_to_string(&port_file)
                    .ok()
                    .and_then(|p| p.trim().parse::<u16>().ok())
                {
                    break port;
                }
                if let Some(status) = child.try_wait().expect("try_wait") {
                    let said = std::fs::read_to_string(&log).unwrap_or_default();
                    panic!("the emulator ended ({status}) before it listened: {said}");
                }
                assert!(
                    Instant::now() < deadline,
                    "the emulator did not start in 60 s"
                );
                std::thread::sleep(Duration::from_millis(50));
            };
            let emulator = Emulator {
                child,
                url: format!("http://127.0.0.1:{port}"),
            };
            let seeded = StdCommand::new(&python)
                .arg(crate_dir().join("tests/emulator/seed.py"))
                .arg(&emulator.url)
                .args(seed_args)
                .output()
                .expect("run seed.py");
            assert!(
                seeded.status.success(),
                "seed.py failed: {}",
                String::from_utf8_lossy(&seeded.stderr)
            );
            Some((emulator, seeded.stdout))
        }
    }

    /// Hermetic AWS environment: test credentials, no profile files, no instance metadata
    /// (so nothing but the loopback emulator is ever contacted).
    pub(crate) fn aws_env(cmd: &mut StdCommand, home: &Path) {
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
        fetch_at(&em.url, home, out, concurrency)
    }

    /// `iam-tighten fetch` against `url`, with fast polls and backoff.
    pub(crate) fn fetch_at(url: &str, home: &Path, out: &Path, concurrency: u8) -> StdCommand {
        fetch_with(url, home, out, concurrency, &[])
    }

    /// [`fetch_at`] with some of its testing defaults replaced, e.g. `("--retry-budget", "2")`.
    fn fetch_with(
        url: &str,
        home: &Path,
        out: &Path,
        concurrency: u8,
        overrides: &[(&str, &str)],
    ) -> StdCommand {
        let mut cmd = StdCommand::new(assert_cmd::cargo::cargo_bin("iam-tighten"));
        aws_env(&mut cmd, home);
        cmd.args(["fetch", "--endpoint-url", url, "--out"])
            .arg(out)
            .args(["--concurrency", &concurrency.to_string()]);
        // Fast polls and backoff; standard retry mode (adaptive mode rate-limits the client for
        // seconds after the emulator's deliberate throttling); a retry budget that outlasts the
        // emulator's injected throttling.
        let defaults = [
            ("--poll-interval-ms", "20"),
            ("--backoff-ms", "5"),
            ("--retry-mode", "standard"),
            ("--job-timeout", "60"),
            ("--retry-budget", "30"),
        ];
        for (flag, value) in defaults {
            let value = overrides
                .iter()
                .find(|(f, _)| *f == flag)
                .map_or(value, |(_, v)| *v);
            cmd.args([flag, value]);
        }
        cmd
    }

    impl Emulator {
        /// `GET /_emulator/PATH` (the emulator's control endpoints, see server.py).
        pub(crate) fn control(&self, path: &str) -> String {
            http_get(&self.url, &format!("/_emulator/{path}"))
        }

        /// How many `action` calls (`Generate`, `Get`) the emulator got for `key`.
        fn calls(&self, action: &str, key: &str) -> usize {
            self.call_log()
                .iter()
                .filter(|(a, k)| a == action && k == key)
                .count()
        }

        /// Every logged call (`Generate` and `Get` of last-accessed jobs, with the principal;
        /// `GetCredentialReport`), in order.
        fn call_log(&self) -> Vec<(String, String)> {
            serde_json::from_str(&self.control("calls")).expect("calls json")
        }
    }

    /// A plain HTTP/1.0 GET; returns the body.
    fn http_get(url: &str, path: &str) -> String {
        use std::io::{Read, Write};
        let host = url.trim_start_matches("http://");
        let mut stream = TcpStream::connect(host).expect("connect");
        write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").expect("send");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("read");
        answer
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_string())
            .unwrap_or_default()
    }

    fn read_manifest(dir: &Path) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).expect("manifest"))
            .expect("manifest json")
    }

    /// Waits for a child, at most `secs` seconds.
    fn wait_for(child: &mut Child, secs: u64) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("fetch still running after {secs} s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A fetch started in the background, with no standard input and its stderr read as it
    /// comes (by a thread, so that a full pipe never stalls it), for a failure to show.
    struct Running {
        child: Child,
        stderr: Option<std::thread::JoinHandle<String>>,
    }

    impl Running {
        fn spawn(mut cmd: StdCommand) -> Running {
            let mut child = cmd
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn fetch");
            let mut pipe = child.stderr.take().expect("stderr");
            let stderr = std::thread::spawn(move || {
                let mut text = String::new();
                let _ = std::io::Read::read_to_string(&mut pipe, &mut text);
                text
            });
            Running {
                child,
                stderr: Some(stderr),
            }
        }

        /// Waits until `dir` holds `n` last-accessed files; the fetch must still be running.
        fn wait_files(&mut self, dir: &Path, n: usize) {
            let deadline = Instant::now() + Duration::from_secs(120);
            while !dir.is_dir() || last_accessed_files(dir) < n {
                assert!(Instant::now() < deadline, "no progress");
                if let Some(status) = self.child.try_wait().expect("try_wait") {
                    panic!(
                        "fetch ended ({status}) before {n} last-accessed files: {}",
                        self.stderr_text()
                    );
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }

        /// Waits at most `secs` seconds for the end; its status and all it printed on stderr.
        fn finish(mut self, secs: u64) -> (std::process::ExitStatus, String) {
            let status = wait_for(&mut self.child, secs);
            (status, self.stderr_text())
        }

        fn stderr_text(&mut self) -> String {
            self.stderr
                .take()
                .map(|t| t.join().unwrap_or_default())
                .unwrap_or_default()
        }
    }

    /// No SDK debug structures in what a person reads.
    fn assert_no_debug_dump(stderr: &str) {
        for dump in [
            "DispatchFailure",
            "ConnectorError",
            "source:",
            "kind:",
            "ResponseError",
            "{ ",
        ] {
            assert!(!stderr.contains(dump), "{dump:?} in stderr: {stderr}");
        }
    }

    /// The temporary access key ids in `text`: runs of letters and digits that are exactly
    /// `ASIA` and 16 upper-case letters or digits (what STS gives an assumed role).
    fn temporary_key_ids(text: &str) -> impl Iterator<Item = &str> {
        text.split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|t| {
                t.len() == 20
                    && t.starts_with("ASIA")
                    && t.bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            })
    }

    #[test]
    fn temporary_key_ids_are_found_and_random_ids_are_not() {
        let found = |text| temporary_key_ids(text).collect::<Vec<_>>();
        assert_eq!(
            found(r#"{"AccessKeyId": "ASIAQWERTYUIOP123456"}"#),
            ["ASIAQWERTYUIOP123456"]
        );
        // A policy or role id of 21 characters with "ASIA" in it, a lower-case run, a short one.
        assert!(
            found("AASIAQWERTYUIOP123456 AROAASIAQWERTYUIOP12 asiaqwertyuiop123456 ASIA1")
                .is_empty()
        );
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

    /// Finished last-accessed files in `dir` (names only: the fetch may be renaming its
    /// temporary files while we look).
    fn last_accessed_files(dir: &Path) -> usize {
        ["roles", "users", "groups"]
            .iter()
            .filter_map(|kind| std::fs::read_dir(dir.join("last-accessed").join(kind)).ok())
            .flat_map(|entries| entries.flatten())
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
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
        // 4 roles + 2 users + 1 group (groups are fetched by default), less the FAILED one.
        assert_eq!(export.last_accessed.len(), 6);
        assert!(out.join("last-accessed/groups/devs.json").is_file());
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
        // A finished fetch, one run with its times.
        let m = read_manifest(&out);
        assert_eq!(m["finished"], true, "{m}");
        let runs = m["runs"].as_array().expect("runs");
        assert_eq!(runs.len(), 1, "{m}");
        assert_eq!(runs[0]["outcome"], "finished");
        assert!(
            runs[0]["started"].is_string() && runs[0]["ended"].is_string(),
            "{m}"
        );
        // The first line says who we are and where the credentials came from, before any
        // IAM call is made.
        let first = stderr.lines().next().unwrap_or_default();
        assert!(
            first.starts_with(&format!("fetch: account {ACCOUNT} (aws) as arn:aws:"))
                && first.contains("credentials from environment (AWS_ACCESS_KEY_ID)"),
            "{stderr}"
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
        assert!(partial < 6, "killed too late: {partial} files");
        // The manifest written at the start says the fetch did not finish, and `report` warns.
        let m = read_manifest(&resumed);
        assert_eq!(m["finished"], false, "{m}");
        assert!(
            m.get("files").is_none() && m.get("missing").is_none(),
            "{m}"
        );
        let killed =
            load_export(&resumed, &LoadOptions::default()).expect("load the killed export");
        assert!(
            killed.warnings.iter().any(|w| w.code == "fetch_unfinished"),
            "{:?}",
            killed.warnings
        );

        let reports = |log: &[(String, String)]| {
            log.iter()
                .filter(|(a, _)| a == "GetCredentialReport")
                .count()
        };
        let before = em.call_log();
        let run = fetch_command(&em, tmp.path(), &resumed, 2)
            .output()
            .expect("fetch");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("already fetched"), "{stderr}");
        assert!(!stderr.contains("resuming a snapshot"), "{stderr}");
        // The resumed run fetched the credential report again, after its last job: its dates
        // reach the newest job, the as-of time of its checks.
        let log = em.call_log();
        let tail = &log[log.len().saturating_sub(4)..];
        assert_eq!(reports(&log), reports(&before) + 1, "{tail:?}");
        assert_eq!(
            log.last().map(|(a, _)| a.as_str()),
            Some("GetCredentialReport"),
            "{tail:?}"
        );

        // Same bytes everywhere; the manifest too (its time comes from the data), but for its
        // record of the runs.
        let (a, b) = (tree(&whole), tree(&resumed));
        assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
        for (path, bytes) in &a {
            if path != "manifest.json" {
                assert!(bytes == &b[path], "{path} differs after resume");
            }
        }
        // The credential report is fetched again by each run, after its jobs: its generation
        // time is the run's (the wall clock's, on the emulator), at or after the run started.
        let without_runs = |dir: &Path| {
            let mut m = read_manifest(dir);
            let o = m.as_object_mut().expect("object");
            o.remove("runs");
            let generated = o.remove("credential_report_generated");
            (m, generated)
        };
        let ((whole_m, _), (resumed_m, generated)) = (without_runs(&whole), without_runs(&resumed));
        assert_eq!(whole_m, resumed_m);
        // The manifest records the resume: the killed run (no end), then the one that finished.
        let m = read_manifest(&resumed);
        let runs = m["runs"].as_array().expect("runs");
        assert_eq!(runs.len(), 2, "{m}");
        assert!(
            runs[0]["started"].is_string() && runs[0].get("ended").is_none(),
            "{m}"
        );
        assert_eq!(runs[1]["outcome"], "finished", "{m}");
        assert!(
            runs[0]["started"].as_str() <= runs[1]["started"].as_str(),
            "{m}"
        );
        let generated = generated.and_then(|g| g.as_str().map(str::to_string));
        let started = |r: &serde_json::Value| {
            iam_tighten::input::parse_timestamp(r["started"].as_str().expect("started"))
        };
        let generated = generated
            .as_deref()
            .and_then(iam_tighten::input::parse_timestamp);
        assert!(generated.is_some() && generated >= started(&runs[1]), "{m}");
        let export = load_export(&resumed, &LoadOptions::default()).expect("load_export");
        assert!(!export.warnings.iter().any(|w| w.code == "fetch_unfinished"));
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
        // No credentials anywhere in the output: no credential fields, and no temporary access
        // key id (a token of exactly `ASIA` and 16 upper-case letters or digits; moto's policy
        // and role ids are 21 random characters, which may contain "ASIA" by chance).
        for (path, bytes) in tree(&out) {
            let text = String::from_utf8_lossy(&bytes);
            for secret in ["SecretAccessKey", "SessionToken"] {
                assert!(!text.contains(secret), "{path} contains {secret}");
            }
            let key = temporary_key_ids(&text).next();
            assert!(key.is_none(), "{path} contains {key:?}");
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
                 ids = [o.create_account(Email=n + '@example.com', AccountName=n)\
                 ['CreateAccountStatus']['AccountId'] for n in ('a', 'b', 'closed')]; \
                 o.close_account(AccountId=ids[2]); print(ids[2])",
                &em.url,
            ])
            .output()
            .expect("boto3");
        assert!(
            created.status.success(),
            "{}",
            String::from_utf8_lossy(&created.stderr)
        );
        let closed = String::from_utf8_lossy(&created.stdout).trim().to_string();
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
        // The closed (SUSPENDED) account is skipped, and says so.
        assert!(
            stderr.contains(&format!("skipping account {closed}: it is SUSPENDED")),
            "stderr: {stderr}"
        );
        let summary: serde_json::Value = serde_json::from_slice(
            &std::fs::read(out.join("fetch-summary.json")).expect("fetch-summary.json"),
        )
        .expect("summary json");
        assert_eq!(summary["skipped"][&closed], "SUSPENDED", "{summary}");
        assert!(!out.join(&closed).exists());
        let exports = account_exports(&out);
        assert_eq!(exports.len(), 3);
        assert!(exports.iter().any(|e| e.account_id == ACCOUNT));
        // The organisation part is written beside the accounts: no policy type is enabled in
        // this organisation, and moto's Identity Center instance has no permission set.
        let org = out.join("organization");
        let m = read_manifest(&org);
        assert_eq!(m["finished"], true, "{m}");
        for policy_type in ["SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"] {
            let rel = format!("policies/{policy_type}.json");
            assert!(!org.join(&rel).exists());
            let note = m["notes"][&rel].as_str().unwrap_or_default();
            assert!(note.contains("not enabled in the root"), "{m}");
        }
        assert_eq!(summary["organization"]["complete"], true, "{summary}");
    }

    /// The account exports of an organisation folder as `report` loads them (the organisation
    /// part, `organization/`, is read by its own reader and is not an export).
    fn account_exports(org: &Path) -> Vec<iam_tighten::model::Export> {
        iam_tighten::input::load_exports(&[org.to_path_buf()], &LoadOptions::default())
            .expect("load_exports")
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

    /// Credentials of `account` from moto (`sts:AssumeRole` into any role of it), as a profile
    /// `name` in the test's credentials file.
    fn profile_for(em: &Emulator, home: &Path, name: &str, account: &str) {
        let out = StdCommand::new(venv_bin("python"))
            .args([
                "-c",
                "import sys, boto3; c = boto3.client('sts', endpoint_url=sys.argv[1], \
                 region_name='us-east-1', aws_access_key_id='test', aws_secret_access_key='test')\
                 .assume_role(RoleArn='arn:aws:iam::' + sys.argv[2] + ':role/other', \
                 RoleSessionName='test')['Credentials']; \
                 print('[' + sys.argv[3] + ']\\naws_access_key_id = ' + c['AccessKeyId'] + \
                 '\\naws_secret_access_key = ' + c['SecretAccessKey'] + \
                 '\\naws_session_token = ' + c['SessionToken'])",
                &em.url,
                account,
                name,
            ])
            .output()
            .expect("boto3");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(home.join("aws-credentials"), &out.stdout).expect("credentials file");
    }

    #[test]
    fn profile_on_the_command_line_wins_over_environment_keys() {
        const OTHER: &str = "111111111111";
        // Seeds account OTHER; the environment's `test` key is moto's default account.
        let Some(em) = Emulator::start_with(0.0, &[], &[OTHER]) else {
            return;
        };
        let tmp = tempfile::tempdir().expect("tempdir");
        profile_for(&em, tmp.path(), "other", OTHER);

        // AWS_ACCESS_KEY_ID is set (aws_env), yet --profile decides, as in the AWS CLI.
        let out = tmp.path().join("other");
        let run = fetch_command(&em, tmp.path(), &out, 4)
            .args(["--profile", "other"])
            .output()
            .expect("fetch");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{stderr}");
        assert_eq!(read_manifest(&out)["account_id"], OTHER, "{stderr}");
        let first = stderr.lines().next().unwrap_or_default();
        assert!(
            first.starts_with(&format!(
                "fetch: account {OTHER} (aws) as arn:aws:sts::{OTHER}:"
            )) && first.contains("credentials from profile other (--profile)"),
            "{stderr}"
        );

        // Without --profile, the environment's keys: the default account.
        let env_out = tmp.path().join("env");
        let run = fetch_command(&em, tmp.path(), &env_out, 4)
            .output()
            .expect("fetch");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(0), "{stderr}");
        assert_eq!(read_manifest(&env_out)["account_id"], ACCOUNT);
        assert!(
            stderr.contains("credentials from environment (AWS_ACCESS_KEY_ID)"),
            "{stderr}"
        );

        // An unknown profile is an error, before anything is written.
        let nosuch = tmp.path().join("nosuch");
        let run = fetch_command(&em, tmp.path(), &nosuch, 4)
            .args(["--profile", "nosuch"])
            .output()
            .expect("fetch");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("--profile nosuch") && stderr.contains("~/.aws/config"),
            "{stderr}"
        );
        assert_eq!(
            stderr.lines().filter(|l| l.starts_with("error:")).count(),
            1,
            "{stderr}"
        );
        assert!(!nosuch.exists());

        // Another account's credentials into an export are refused, even with --refresh (the
        // old message advised --refresh, which mixed two accounts' files).
        let before = tree(&env_out);
        let run = fetch_command(&em, tmp.path(), &env_out, 4)
            .args(["--profile", "other", "--refresh"])
            .output()
            .expect("fetch");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!("the export of account {ACCOUNT}"))
                && stderr.contains(&format!("these credentials are account {OTHER}")),
            "{stderr}"
        );
        assert_eq!(tree(&env_out), before, "nothing changed");
    }

    #[test]
    fn out_must_be_new_empty_or_an_export_of_this_tool() {
        // All refused before any AWS call: nothing listens on port 9.
        let tmp = tempfile::tempdir().expect("tempdir");
        let refused = |out: &Path, extra: &[&str], needle: &str| {
            let before = tree(out);
            let run = fetch_at("http://127.0.0.1:9", tmp.path(), out, 4)
                .args(extra)
                .output()
                .expect("fetch");
            let stderr = String::from_utf8_lossy(&run.stderr);
            assert_eq!(run.status.code(), Some(2), "{stderr}");
            assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
            assert_eq!(tree(out), before, "{} changed", out.display());
        };

        // Someone's manifest.json: not ours, never removed or overwritten.
        let webapp = tmp.path().join("webapp");
        std::fs::create_dir(&webapp).expect("mkdir");
        std::fs::write(webapp.join("manifest.json"), r#"{"name":"x"}"#).expect("write");
        refused(&webapp, &[], "not written by iam-tighten fetch");
        refused(
            &webapp,
            &["--allow-non-empty"],
            "not written by iam-tighten fetch",
        );

        // A folder with other files: only with --allow-non-empty, and never over a file of
        // the export layout.
        let notes = tmp.path().join("notes");
        std::fs::create_dir(&notes).expect("mkdir");
        std::fs::write(notes.join("notes.txt"), "mine").expect("write");
        refused(&notes, &[], "--allow-non-empty");
        std::fs::write(notes.join("authorization-details.json"), "{}").expect("write");
        refused(&notes, &["--allow-non-empty"], "authorization-details.json");

        // An organisation folder, without --assume-role: it would get a top-level export that
        // hides its account folders from `report`.
        let org = tmp.path().join("org");
        std::fs::create_dir_all(org.join("111111111111")).expect("mkdir");
        std::fs::write(org.join("111111111111/authorization-details.json"), "{}").expect("write");
        refused(&org, &[], "organisation folder");
        refused(&org, &["--allow-non-empty"], "organisation folder");

        // With --assume-role, --out must not be one account's export.
        let list = tmp.path().join("accounts.txt");
        std::fs::write(&list, "111111111111\n").expect("write");
        let single = tmp.path().join("single");
        std::fs::create_dir(&single).expect("mkdir");
        std::fs::write(single.join("authorization-details.json"), "{}").expect("write");
        let accounts = list.to_string_lossy().into_owned();
        refused(
            &single,
            &["--assume-role", "r", "--accounts", &accounts],
            "an export of one account",
        );

        // Inside an export (here one of the organisation's): the new export would make the
        // outer one unreadable (an export and an organisation folder at once), so nothing is
        // written, with or without --assume-role.
        let outer = org.join("111111111111");
        let nested = outer.join("222222222222");
        for extra in [
            &[][..],
            &["--assume-role", "r", "--accounts", &accounts][..],
        ] {
            let before = tree(&outer);
            let run = fetch_at("http://127.0.0.1:9", tmp.path(), &nested, 4)
                .args(extra)
                .output()
                .expect("fetch");
            let stderr = String::from_utf8_lossy(&run.stderr);
            assert_eq!(run.status.code(), Some(2), "{stderr}");
            assert!(stderr.contains("inside the export"), "{stderr}");
            assert_eq!(tree(&outer), before);
            assert!(!nested.exists());
        }

        // --out inside a file: one line, the cause said once.
        let file = tmp.path().join("file.txt");
        std::fs::write(&file, "x").expect("write");
        let run = fetch_at("http://127.0.0.1:9", tmp.path(), &file.join("out"), 4)
            .output()
            .expect("fetch");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert_eq!(stderr.matches("Not a directory").count(), 1, "{stderr}");
    }

    #[test]
    fn allow_non_empty_writes_beside_files_it_leaves_alone() {
        let Some(em) = Emulator::start(0.0) else {
            return;
        };
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("out");
        std::fs::create_dir_all(out.join("last-accessed/roles")).expect("mkdir");
        std::fs::write(out.join("notes.txt"), "mine").expect("write");
        std::fs::write(out.join("last-accessed/roles/README"), "mine too").expect("write");
        let run = fetch_command(&em, tmp.path(), &out, 4)
            .args(["--allow-non-empty", "--no-groups"])
            .output()
            .expect("fetch");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{stderr}");
        assert_eq!(
            std::fs::read_to_string(out.join("notes.txt"))
                .ok()
                .as_deref(),
            Some("mine")
        );
        assert_eq!(
            std::fs::read_to_string(out.join("last-accessed/roles/README"))
                .ok()
                .as_deref(),
            Some("mine too")
        );
        let files = read_manifest(&out)["files"].clone();
        assert!(files.get("notes.txt").is_none(), "{files}");
        // --no-groups: no group files, and no empty groups/ folder.
        assert!(!out.join("last-accessed/groups").exists());
        // Now ours: a rerun resumes without --allow-non-empty.
        let run = fetch_command(&em, tmp.path(), &out, 4)
            .output()
            .expect("fetch");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("already fetched"), "{stderr}");
        assert!(
            out.join("last-accessed/groups/devs.json").is_file(),
            "groups by default"
        );
    }

    #[test]
    fn a_lost_network_stops_the_fetch_and_leaves_it_resumable() {
        // moto cannot lose the network: server.py's /_emulator/outage/on closes every
        // connection without an answer until /_emulator/outage/off.
        let Some(em) = Emulator::start(0.3) else {
            return;
        };
        let tmp = tempfile::tempdir().expect("tempdir");
        // 1. A short outage within the retry budget: the fetch waits, says so, and finishes.
        let brief = tmp.path().join("brief");
        let mut running = Running::spawn(fetch_command(&em, tmp.path(), &brief, 1));
        running.wait_files(&brief, 1);
        em.control("outage/on");
        std::thread::sleep(Duration::from_millis(1500));
        em.control("outage/off");
        let (status, stderr) = running.finish(120);
        assert_eq!(status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("the connection was closed before an answer; retrying in"),
            "{stderr}"
        );
        let m = read_manifest(&brief);
        assert_eq!(m["finished"], true);
        let missing: Vec<_> = m["missing"].as_object().expect("missing").keys().collect();
        assert_eq!(
            missing,
            ["role/legacy-batch"],
            "a lost connection is not missing data"
        );

        // 2. An outage longer than the budget: exit 2, one clear message, the export unfinished
        //    (no principal recorded as missing), resumable.
        let lost = tmp.path().join("lost");
        let mut running = Running::spawn(fetch_with(
            &em.url,
            tmp.path(),
            &lost,
            1,
            &[("--retry-budget", "2")],
        ));
        running.wait_files(&lost, 2);
        em.control("outage/on");
        let started = Instant::now();
        let (status, stderr) = running.finish(60);
        assert_eq!(status.code(), Some(2), "{stderr}");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{:?}",
            started.elapsed()
        );
        let error: Vec<_> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(error.len(), 1, "{stderr}");
        assert!(
            error[0].contains("cannot reach") && error[0].contains(&em.url),
            "{stderr}"
        );
        assert!(
            stderr.contains("is unfinished: rerun the command (without --refresh) to resume"),
            "{stderr}"
        );
        assert!(stderr.len() < 8_000, "{} bytes of stderr", stderr.len());
        assert_no_debug_dump(&stderr);
        let m = read_manifest(&lost);
        assert_eq!(m["finished"], false, "{m}");
        assert!(m.get("missing").is_none(), "{m}");
        let outcome = m["runs"][0]["outcome"].as_str().unwrap_or_default();
        assert!(
            outcome.starts_with("stopped: ") && outcome.contains("cannot reach"),
            "{m}"
        );

        em.control("outage/off");
        let run = fetch_command(&em, tmp.path(), &lost, 2)
            .output()
            .expect("fetch");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("already fetched"), "{stderr}");
        let m = read_manifest(&lost);
        assert_eq!(m["finished"], true);
        assert_eq!(m["runs"].as_array().map(Vec::len), Some(2));
        load_export(&lost, &LoadOptions::default()).expect("load_export");
    }

    #[test]
    fn refresh_keeps_nothing_the_account_no_longer_has() {
        let Some(em) = Emulator::start(0.0) else {
            return;
        };
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("out");
        let run = fetch_command(&em, tmp.path(), &out, 4)
            .output()
            .expect("fetch");
        assert_eq!(run.status.code(), Some(1));
        assert!(
            out.join("last-accessed/roles/readonly-audit.json")
                .is_file()
        );

        let deleted = StdCommand::new(venv_bin("python"))
            .args([
                "-c",
                "import sys, boto3; i = boto3.client('iam', endpoint_url=sys.argv[1], \
                 region_name='us-east-1', aws_access_key_id='test', aws_secret_access_key='test'); \
                 i.delete_role_policy(RoleName='readonly-audit', PolicyName='audit'); \
                 i.delete_role(RoleName='readonly-audit')",
                &em.url,
            ])
            .output()
            .expect("boto3");
        assert!(
            deleted.status.success(),
            "{}",
            String::from_utf8_lossy(&deleted.stderr)
        );

        let generated = em.calls("Generate", "user/alice");
        let run = fetch_command(&em, tmp.path(), &out, 4)
            .arg("--refresh")
            .output()
            .expect("fetch");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{stderr}");
        // Everything fetched again: nothing kept, a new job for a principal that did not change.
        assert!(
            stderr.contains("6 principals (5 fetched, 0 kept from an earlier run, 1 missing"),
            "{stderr}"
        );
        assert!(stderr.contains("files of the earlier snapshot"), "{stderr}");
        assert_eq!(em.calls("Generate", "user/alice"), generated + 1);
        assert!(
            !out.join("last-accessed/roles/readonly-audit.json").exists(),
            "{stderr}"
        );
        let gaad = std::fs::read_to_string(out.join("authorization-details.json")).expect("gaad");
        assert!(!gaad.contains("readonly-audit"));
        let m = read_manifest(&out);
        let files = m["files"].as_object().expect("files");
        assert!(!files.keys().any(|k| k.contains("readonly-audit")), "{m}");
        assert_eq!(
            files.len(),
            tree(&out).len() - 1,
            "every file but the manifest: {m}"
        );
        assert_eq!(
            m["runs"].as_array().map(Vec::len),
            Some(1),
            "a refresh starts anew"
        );
        assert_eq!(m["runs"][0]["refresh"], true);
        load_export(&out, &LoadOptions::default()).expect("load_export");
    }

    /// A `--refresh` that stops before its new authorization details are written leaves the
    /// earlier snapshot, and the manifest keeps the runs that made it: `report` takes the first
    /// run's start as when the details were fetched (a role's `RoleLastUsed` window ends there),
    /// and a plain rerun resumes that snapshot. The runs were dropped at the refresh's start, so
    /// the resumed export claimed a snapshot as new as the refresh (a review found a false
    /// `delete_role` from it). The stop says how to resume.
    #[test]
    fn a_refresh_stopped_before_its_snapshot_keeps_the_earlier_runs() {
        let Some(em) = Emulator::start(0.0) else {
            return;
        };
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("out");
        let run = fetch_command(&em, tmp.path(), &out, 4)
            .output()
            .expect("fetch");
        assert_eq!(run.status.code(), Some(1));
        let first = read_manifest(&out)["runs"][0].clone();
        let gaad = std::fs::read(out.join("authorization-details.json")).expect("gaad");

        em.control("fail/gaad/on");
        let run = fetch_with(&em.url, tmp.path(), &out, 4, &[("--retry-budget", "1")])
            .arg("--refresh")
            .output()
            .expect("fetch");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("rerun the command (without --refresh) to resume"),
            "{stderr}"
        );
        let m = read_manifest(&out);
        let runs = m["runs"].as_array().expect("runs");
        assert_eq!(runs.len(), 2, "{m}");
        assert_eq!(runs[0], first, "{m}");
        assert_eq!(runs[1]["refresh"], true, "{m}");

        em.control("fail/gaad/off");
        let run = fetch_command(&em, tmp.path(), &out, 4)
            .output()
            .expect("fetch");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("(resume)"), "{stderr}");
        assert_eq!(
            std::fs::read(out.join("authorization-details.json")).expect("gaad"),
            gaad
        );
        let m = read_manifest(&out);
        assert_eq!(m["runs"][0], first, "the snapshot's first run: {m}");
        assert_eq!(m["finished"], true);
        load_export(&out, &LoadOptions::default()).expect("load_export");
    }

    #[test]
    fn a_resume_keeps_only_finished_jobs_of_principals_in_the_snapshot() {
        let Some(em) = Emulator::start(0.0) else {
            return;
        };
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("out");
        let run = fetch_command(&em, tmp.path(), &out, 4)
            .output()
            .expect("fetch");
        assert_eq!(run.status.code(), Some(1));
        let before = tree(&out);

        // Damage the export as an interrupted copy or a hand edit would.
        let roles = out.join("last-accessed/roles");
        let deployer = &before["last-accessed/roles/app-deployer.json"];
        std::fs::write(
            roles.join("app-deployer.json"),
            &deployer[..deployer.len() / 2],
        )
        .expect("truncate");
        let audit = String::from_utf8_lossy(&before["last-accessed/roles/readonly-audit.json"])
            .replace("COMPLETED", "IN_PROGRESS");
        std::fs::write(roles.join("readonly-audit.json"), audit).expect("write");
        std::fs::write(
            roles.join("ghost.json"),
            &before["last-accessed/roles/flaky-batch.json"],
        )
        .expect("write");
        std::fs::write(out.join("credential-report.csv"), "half a re").expect("write");
        // As if the first run had been a week ago: the resume says how old the snapshot is.
        let mut m = read_manifest(&out);
        m["runs"][0]["started"] = "2020-01-01T00:00:00Z".into();
        std::fs::write(out.join("manifest.json"), m.to_string()).expect("write");

        let run = fetch_command(&em, tmp.path(), &out, 4)
            .output()
            .expect("fetch");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{stderr}");
        for needle in [
            "app-deployer.json: truncated JSON",
            "readonly-audit.json: JobStatus is IN_PROGRESS",
            "ghost.json: role/ghost is not in authorization-details.json",
            "resuming a snapshot whose first run started 2020-01-01T00:00:00Z",
        ] {
            assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
        }
        let after = tree(&out);
        assert_eq!(
            before.keys().collect::<Vec<_>>(),
            after.keys().collect::<Vec<_>>()
        );
        for (path, bytes) in &before {
            if path != "manifest.json" {
                assert!(bytes == &after[path], "{path} differs");
            }
        }
        load_export(&out, &LoadOptions::default()).expect("load_export");
    }

    /// A tiny HTTP server on a free loopback port that answers every request with `answer`.
    fn serve(answer: &'static str) -> String {
        use std::io::{Read, Write};
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut stream = stream;
                let mut buf = [0u8; 8192];
                let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        url
    }

    #[test]
    fn each_cause_gets_its_own_one_line_message() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let fails = |url: &str, needles: &[&str]| {
            let out = tmp.path().join("out");
            let started = Instant::now();
            // The tests' retry budget is 30 s; at the start at most 10 s are spent retrying.
            let run = fetch_at(url, tmp.path(), &out, 4).output().expect("fetch");
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{:?}",
                started.elapsed()
            );
            let stderr = String::from_utf8_lossy(&run.stderr);
            assert_eq!(run.status.code(), Some(2), "{url}: {stderr}");
            let errors: Vec<_> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
            assert_eq!(errors.len(), 1, "{url}: {stderr}");
            for needle in needles {
                assert!(errors[0].contains(needle), "{needle:?} not in {stderr}");
            }
            assert_no_debug_dump(&stderr);
            assert!(!tmp.path().join("out").exists(), "nothing written");
            errors[0].to_string()
        };
        // A port nothing listens on. Not one freed after `bind("127.0.0.1:0")`: while fetch
        // retried (10 s), an emulator of a test running beside this one was handed that port and
        // answered. Port 1 is below the range the kernel hands out for port 0, which is where
        // every other test's servers listen.
        let closed = "http://127.0.0.1:1".to_string();
        let refused = fails(&closed, &["cannot reach", &closed, "connection refused"]);
        let page = serve(
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 22\r\n\
             Connection: close\r\n\r\n<html>not found</html>",
        );
        let not_aws = fails(
            &page,
            &["HTTP 404", "not an AWS API response", "--endpoint-url"],
        );
        let tls = fails(
            &page.replace("http://", "https://"),
            &["TLS", "SSL_CERT_FILE"],
        );
        let scheme = fails(
            page.trim_start_matches("http://"),
            &["is not an http:// or https:// URL", "http://127.0.0.1:5000"],
        );
        // Each cause is told apart; none blames the credentials.
        for e in [&refused, &not_aws, &tls, &scheme] {
            assert!(!e.contains("credentials"), "{e}");
        }

        // No credentials at all: that, and what to check.
        let mut cmd = StdCommand::new(assert_cmd::cargo::cargo_bin("iam-tighten"));
        cmd.env_clear()
            .env("HOME", tmp.path())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", tmp.path().join("none"))
            .env("AWS_SHARED_CREDENTIALS_FILE", tmp.path().join("none"))
            .args(["fetch", "--endpoint-url", &closed, "--out"])
            .arg(tmp.path().join("out"));
        let run = cmd.output().expect("fetch");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.starts_with("error: no usable AWS credentials")
                && stderr.contains("AWS_ACCESS_KEY_ID"),
            "{stderr}"
        );
        assert_no_debug_dump(&stderr);
    }

    #[test]
    fn a_closed_stderr_does_not_stop_the_fetch() {
        // `fetch … 2>&1 | head -3`: the reader goes away after a line.
        let Some(em) = Emulator::start(0.0) else {
            return;
        };
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("out");
        let mut child = fetch_command(&em, tmp.path(), &out, 4)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut first = String::new();
        {
            let mut reader = std::io::BufReader::new(child.stderr.take().expect("stderr"));
            std::io::BufRead::read_line(&mut reader, &mut first).expect("read a line");
        } // the pipe's read end is closed here
        let status = wait_for(&mut child, 120);
        // Its first line: the account, or a note that a first call is being retried.
        assert!(first.starts_with("fetch: "), "{first}");
        let manifest = std::fs::read_to_string(out.join("manifest.json")).unwrap_or_default();
        assert_eq!(
            status.code(),
            Some(1),
            "not a panic (101): the export is written; manifest: {manifest}"
        );
        assert_eq!(read_manifest(&out)["finished"], true);
        load_export(&out, &LoadOptions::default()).expect("load_export");
    }

    #[test]
    fn a_principal_throttled_for_ever_costs_its_retry_budget_and_says_so() {
        // moto never throttles: server.py's --always-throttle makes every Generate call for
        // this role answer Throttling.
        const ROLE: &str = "role/readonly-audit";
        let Some(em) = Emulator::start_with(0.0, &["--always-throttle", ROLE], &[]) else {
            return;
        };
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("out");
        let started = Instant::now();
        let run = fetch_with(
            &em.url,
            tmp.path(),
            &out,
            4,
            &[("--retry-budget", "2"), ("--backoff-ms", "50")],
        )
        .output()
        .expect("fetch");
        let took = started.elapsed();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{stderr}");
        assert!(took < Duration::from_secs(30), "{took:?}");
        // What is being waited on is printed, even without a terminal.
        assert!(
            stderr.contains(&format!(
                "fetch: {ROLE}: GenerateServiceLastAccessedDetails: Throttling: Rate exceeded; \
                 retrying in"
            )),
            "{stderr}"
        );
        // The reason says the real number of requests: the emulator counted them.
        let requests = em.calls("Generate", ROLE);
        assert!(requests > 2, "{requests}");
        let m = read_manifest(&out);
        let reason = m["missing"][ROLE].as_str().unwrap_or_default();
        assert!(
            reason.starts_with(&format!(
                "GenerateServiceLastAccessedDetails: Throttling: Rate exceeded (gave up after \
                 {requests} requests over "
            )),
            "{reason} ({requests} requests)"
        );
    }

    // --- The organisation part (fetch --organization, --organization-only) -------------------

    fn json_file(dir: &Path, rel: &str) -> serde_json::Value {
        let path = dir.join(rel);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// `value[list][][key]`, in the order listed.
    fn listed(value: &serde_json::Value, list: &str, key: &str) -> Vec<String> {
        value[list]
            .as_array()
            .unwrap_or_else(|| panic!("no {list} list in {value}"))
            .iter()
            .map(|item| {
                if key.is_empty() { item } else { &item[key] }
                    .as_str()
                    .unwrap_or_else(|| panic!("{list}[].{key} in {value}"))
                    .to_string()
            })
            .collect()
    }

    /// The ids seed.py made: `seed["accounts"]["dev"]` → "447891582757".
    fn id(seed: &serde_json::Value, path: &[&str]) -> String {
        let mut v = seed;
        for key in path {
            v = &v[*key];
        }
        v.as_str()
            .unwrap_or_else(|| panic!("{path:?} in {seed}"))
            .to_string()
    }

    fn last_part(arn: &str) -> String {
        arn.rsplit('/').next().unwrap_or(arn).to_string()
    }

    /// Every file the organisation part must hold for the seed of `seed.py --organization`.
    fn expected_organization_files(seed: &serde_json::Value) -> Vec<String> {
        let root = id(seed, &["root"]);
        let workloads = id(seed, &["ous", "workloads"]);
        let prod = id(seed, &["ous", "prod"]);
        let mut files = vec![
            "describe-organization.json".to_string(),
            "list-roots.json".into(),
            "list-accounts.json".into(),
            "policies/SERVICE_CONTROL_POLICY.json".into(),
            "policies/RESOURCE_CONTROL_POLICY.json".into(),
            "sso/list-instances.json".into(),
        ];
        for parent in [&root, &workloads, &prod] {
            files.push(format!("ous/{parent}.json"));
            files.push(format!("accounts/{parent}.json"));
        }
        let policies = [
            "p-FullAWSAccess".to_string(),
            "p-RCPFullAWSAccess".into(),
            id(seed, &["policies", "scp"]),
            id(seed, &["policies", "rcp"]),
        ];
        for p in &policies {
            files.push(format!("policy/{p}.json"));
            files.push(format!("targets/{p}.json"));
        }
        let instance = last_part(&id(seed, &["instance"]));
        files.push(format!("sso/{instance}/list-permission-sets.json"));
        for name in ["admin", "readonly", "developer"] {
            let ps = last_part(&id(seed, &["permission_sets", name]));
            for file in [
                "describe-permission-set.json",
                "inline-policy.json",
                "managed-policies.json",
                "customer-managed-policies.json",
                "accounts.json",
            ] {
                files.push(format!("sso/{instance}/{ps}/{file}"));
            }
            if name == "developer" {
                files.push(format!("sso/{instance}/{ps}/permissions-boundary.json"));
            }
        }
        files.sort();
        files
    }

    fn sha256_hex(bytes: &[u8]) -> String {
        use sha2::Digest;
        format!("{:x}", sha2::Sha256::digest(bytes))
    }

    /// The manifest is finished and lists every file of the part (itself aside) with its SHA-256.
    fn assert_manifest_matches(org: &Path) -> serde_json::Value {
        let m = read_manifest(org);
        assert_eq!(m["finished"], true, "{m}");
        let files = m["files"].as_object().expect("files");
        let on_disk = tree(org);
        let listed: Vec<&String> = files.keys().collect();
        let present: Vec<&String> = on_disk.keys().filter(|k| *k != "manifest.json").collect();
        assert_eq!(listed, present, "the manifest lists every file");
        for (rel, hash) in files {
            assert_eq!(
                hash.as_str(),
                Some(sha256_hex(&on_disk[rel]).as_str()),
                "{rel}"
            );
        }
        m
    }

    #[test]
    fn organization_part_is_what_the_aws_cli_prints() {
        // One item per page on every Organizations and sso-admin list: fetch and the AWS CLI
        // both have to merge the pages.
        let Some((em, seed)) = Emulator::start_organization(&["--org-page-size", "1"]) else {
            return;
        };
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("org");
        let run = fetch_command(&em, tmp.path(), &out, 4)
            .args(["--assume-role", "iam-tighten-read", "--organization"])
            .output()
            .expect("run fetch");
        let stderr = String::from_utf8_lossy(&run.stderr);
        // The management account's legacy-batch job FAILS: incomplete, exit 1; the organisation
        // part itself is complete.
        assert_eq!(run.status.code(), Some(1), "stderr: {stderr}");
        assert!(
            stderr.contains("fetch: organisation part ") && stderr.contains("0 missing)"),
            "stderr: {stderr}"
        );
        let org = out.join("organization");
        let files = tree(&org);
        let mut names: Vec<String> = files
            .keys()
            .filter(|k| *k != "manifest.json")
            .cloned()
            .collect();
        names.sort();
        assert_eq!(names, expected_organization_files(&seed));
        for (rel, bytes) in &files {
            let text = String::from_utf8_lossy(bytes);
            assert!(!text.contains("NextToken"), "{rel} has a NextToken");
            assert!(!rel.contains("iam-tighten-tmp"), "{rel}");
        }

        // The structure.
        let (root, workloads, prod) = (
            id(&seed, &["root"]),
            id(&seed, &["ous", "workloads"]),
            id(&seed, &["ous", "prod"]),
        );
        let (dev, shop, closed) = (
            id(&seed, &["accounts", "dev"]),
            id(&seed, &["accounts", "shop"]),
            id(&seed, &["accounts", "closed"]),
        );
        let management = id(&seed, &["management"]);
        assert_eq!(management, ACCOUNT);
        assert_eq!(
            json_file(&org, "describe-organization.json")["Organization"]["Id"],
            id(&seed, &["organization"]).as_str()
        );
        assert_eq!(
            listed(&json_file(&org, "list-roots.json"), "Roots", "Id"),
            [root.as_str()]
        );
        let accounts = json_file(&org, "list-accounts.json");
        let mut all = listed(&accounts, "Accounts", "Id");
        all.sort();
        let mut want = vec![
            management.clone(),
            dev.clone(),
            shop.clone(),
            closed.clone(),
        ];
        want.sort();
        assert_eq!(all, want, "every page of ListAccounts");
        let closed_state = accounts["Accounts"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["Id"] == closed.as_str()))
            .map(|x| x["State"].clone());
        assert_eq!(closed_state, Some(serde_json::json!("SUSPENDED")));
        let ous = |parent: &str| {
            listed(
                &json_file(&org, &format!("ous/{parent}.json")),
                "OrganizationalUnits",
                "Id",
            )
        };
        assert_eq!(ous(&root), [workloads.as_str()]);
        assert_eq!(ous(&workloads), [prod.as_str()]);
        assert!(ous(&prod).is_empty());
        let placed = |parent: &str| {
            let mut ids = listed(
                &json_file(&org, &format!("accounts/{parent}.json")),
                "Accounts",
                "Id",
            );
            ids.sort();
            ids
        };
        assert_eq!(placed(&workloads), [dev.as_str()]);
        assert_eq!(placed(&prod), [shop.as_str()]);
        let mut in_root = vec![management.clone(), closed.clone()];
        in_root.sort();
        assert_eq!(placed(&root), in_root);

        // The SCP: listed, its document (a JSON string in Content) is the one created, and it
        // targets the OU it was attached to. Likewise the RCP.
        for (kind, policy_type, document, target) in [
            ("scp", "SERVICE_CONTROL_POLICY", "scp_document", &workloads),
            ("rcp", "RESOURCE_CONTROL_POLICY", "rcp_document", &prod),
        ] {
            let policy = id(&seed, &["policies", kind]);
            let list = listed(
                &json_file(&org, &format!("policies/{policy_type}.json")),
                "Policies",
                "Id",
            );
            assert!(list.contains(&policy), "{list:?}");
            let described = json_file(&org, &format!("policy/{policy}.json"));
            assert_eq!(described["Policy"]["PolicySummary"]["Type"], policy_type);
            let content = described["Policy"]["Content"]
                .as_str()
                .expect("Content is a JSON string, as the CLI prints it");
            let parsed: serde_json::Value = serde_json::from_str(content).expect("document");
            assert_eq!(parsed, seed["policies"][document]);
            let targets = json_file(&org, &format!("targets/{policy}.json"));
            assert_eq!(listed(&targets, "Targets", "TargetId"), [target.as_str()]);
            assert_eq!(targets["Targets"][0]["Type"], "ORGANIZATIONAL_UNIT");
        }

        // IAM Identity Center.
        let instance_arn = id(&seed, &["instance"]);
        let instance = last_part(&instance_arn);
        assert_eq!(
            listed(
                &json_file(&org, "sso/list-instances.json"),
                "Instances",
                "InstanceArn"
            ),
            [instance_arn.as_str()]
        );
        let mut sets = listed(
            &json_file(&org, &format!("sso/{instance}/list-permission-sets.json")),
            "PermissionSets",
            "",
        );
        sets.sort();
        let mut want: Vec<String> = ["admin", "readonly", "developer"]
            .iter()
            .map(|n| id(&seed, &["permission_sets", n]))
            .collect();
        want.sort();
        assert_eq!(sets, want, "every page of ListPermissionSets");
        let ps = |name: &str, file: &str| {
            let ps = last_part(&id(&seed, &["permission_sets", name]));
            json_file(&org, &format!("sso/{instance}/{ps}/{file}"))
        };
        for (name, managed, provisioned) in [
            (
                "admin",
                Some("AdministratorAccess"),
                vec![management.as_str(), dev.as_str()],
            ),
            (
                "readonly",
                Some("ReadOnlyAccess"),
                vec![dev.as_str(), shop.as_str()],
            ),
            ("developer", None, vec![dev.as_str()]),
        ] {
            let described = ps(name, "describe-permission-set.json");
            assert_eq!(described["PermissionSet"]["SessionDuration"], "PT4H");
            assert_eq!(
                described["PermissionSet"]["PermissionSetArn"],
                id(&seed, &["permission_sets", name]).as_str()
            );
            let attached = listed(
                &ps(name, "managed-policies.json"),
                "AttachedManagedPolicies",
                "Name",
            );
            assert_eq!(attached, managed.into_iter().collect::<Vec<_>>(), "{name}");
            assert_eq!(
                listed(&ps(name, "accounts.json"), "AccountIds", ""),
                provisioned,
                "{name}: every page of ListAccountsForProvisionedPermissionSet"
            );
        }
        assert_eq!(ps("admin", "inline-policy.json")["InlinePolicy"], "");
        let inline = ps("developer", "inline-policy.json");
        let inline: serde_json::Value =
            serde_json::from_str(inline["InlinePolicy"].as_str().expect("a JSON string"))
                .expect("document");
        assert_eq!(inline, seed["dev_inline"]);
        assert_eq!(
            ps("developer", "customer-managed-policies.json"),
            serde_json::json!({"CustomerManagedPolicyReferences": [{"Name": "dev-extra", "Path": "/teams/"}]})
        );
        assert_eq!(
            ps("developer", "permissions-boundary.json"),
            serde_json::json!({"PermissionsBoundary": {"CustomerManagedPolicyReference": {"Name": "dev-boundary", "Path": "/"}}})
        );

        // The manifest: finished, in the account manifest's shape, every file hashed.
        let m = assert_manifest_matches(&org);
        assert_eq!(m["account_id"], ACCOUNT);
        assert_eq!(m["partition"], "aws");
        assert_eq!(m["organization_id"], id(&seed, &["organization"]).as_str());
        assert_eq!(m["missing"], serde_json::json!({}));
        assert_eq!(m["notes"], serde_json::json!({}));
        assert_eq!(m["runs"][0]["outcome"], "finished");
        let summary = json_file(&out, "fetch-summary.json");
        assert_eq!(
            summary["organization"],
            serde_json::json!({"folder": "organization", "complete": true, "files": names.len(), "missing": 0})
        );
        // The accounts were fetched beside it, the closed one skipped.
        let exports = account_exports(&out);
        let ids: Vec<&str> = exports.iter().map(|e| e.account_id.as_str()).collect();
        let mut active = vec![management.as_str(), dev.as_str(), shop.as_str()];
        active.sort();
        assert_eq!(ids, active);
        // The report reads what fetch wrote: the organisation part with its manifest verified,
        // the permission sets and SCPs in report.json.
        let org_read = iam_tighten::input::organization::find(std::slice::from_ref(&out))
            .expect("organisation part reads")
            .expect("organisation part found");
        assert_eq!(org_read.permission_sets.len(), 3);
        let report_out = tmp.path().join("report");
        let report = StdCommand::new(assert_cmd::cargo::cargo_bin("iam-tighten"))
            .args(["report"])
            .arg(&out)
            .args(["--format", "json", "--out"])
            .arg(&report_out)
            .output()
            .expect("run report");
        assert!(
            report.status.success(),
            "report on the fetched organisation: {}",
            String::from_utf8_lossy(&report.stderr)
        );
        let model = json_file(&report_out, "report.json");
        assert_eq!(
            model["organization"]["permission_sets"]
                .as_array()
                .map(Vec::len),
            Some(3),
            "{}",
            model["organization"]
        );

        // Byte for byte what the AWS CLI prints: scripts/export-with-aws-cli.sh --organization
        // against the same emulator (awscli v1 with CLI v2's timestamp format, in UTC).
        let script_home = tmp.path().join("script-home");
        std::fs::create_dir_all(&script_home).expect("mkdir");
        std::fs::write(
            script_home.join("aws-config"),
            "[default]\ncli_timestamp_format = iso8601\n",
        )
        .expect("write aws config");
        let mut script = StdCommand::new("bash");
        aws_env(&mut script, &script_home);
        let path = format!(
            "{}:{}",
            venv_bin("aws").parent().expect("venv bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let by_cli = tmp.path().join("by-cli");
        let run = script
            .env("PATH", path)
            .env("TZ", "UTC")
            .env("AWS_ENDPOINT_URL", &em.url)
            .arg(crate_dir().join("scripts/export-with-aws-cli.sh"))
            .arg("--organization")
            .arg(&by_cli)
            .output()
            .expect("run the script");
        let script_err = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(0), "{script_err}");
        let cli_files = tree(&by_cli.join("organization"));
        let ours: BTreeMap<&String, &Vec<u8>> = files
            .iter()
            .filter(|(k, _)| *k != "manifest.json")
            .collect();
        assert_eq!(
            cli_files.keys().collect::<Vec<_>>(),
            ours.keys().copied().collect::<Vec<_>>(),
            "the same files"
        );
        for (rel, bytes) in &cli_files {
            assert_eq!(
                String::from_utf8_lossy(ours[rel]),
                String::from_utf8_lossy(bytes),
                "{rel}"
            );
        }
    }

    #[cfg(unix)]
    fn inode(path: &Path) -> u64 {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).expect("metadata").ino()
    }

    #[cfg(unix)]
    #[test]
    fn organization_only_resumes_refreshes_and_does_without_identity_center() {
        let Some((em, seed)) = Emulator::start_organization(&[]) else {
            return;
        };
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("org");
        let org_only = || {
            let mut cmd = fetch_command(&em, tmp.path(), &out, 4);
            cmd.arg("--organization-only");
            cmd
        };

        // Only the organisation part: no account export, with the base credentials.
        let run = org_only().output().expect("fetch");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(0), "{stderr}");
        let first = stderr.lines().next().unwrap_or_default();
        assert!(
            first.starts_with(&format!(
                "fetch: organisation part from account {ACCOUNT} (aws)"
            )),
            "{stderr}"
        );
        let top: Vec<String> = std::fs::read_dir(&out)
            .expect("read_dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(top, ["organization"]);
        let org = out.join("organization");
        let before = tree(&org);
        assert_manifest_matches(&org);

        // Resume: deleted and damaged files come back, byte for byte; the others are kept as
        // they are (not even rewritten: same inode), without asking AWS again.
        let instance = last_part(&id(&seed, &["instance"]));
        let developer = last_part(&id(&seed, &["permission_sets", "developer"]));
        let scp = id(&seed, &["policies", "scp"]);
        let root = id(&seed, &["root"]);
        let deleted = [
            format!("targets/{scp}.json"),
            format!("policy/{scp}.json"),
            format!("sso/{instance}/{developer}/permissions-boundary.json"),
            format!("sso/{instance}/list-permission-sets.json"),
        ];
        for rel in &deleted {
            std::fs::remove_file(org.join(rel)).expect("remove");
        }
        let damaged = format!("ous/{root}.json");
        let bytes = &before[&damaged];
        std::fs::write(org.join(&damaged), &bytes[..bytes.len() / 2]).expect("truncate");
        let paged = "list-accounts.json";
        std::fs::write(
            org.join(paged),
            r#"{"Accounts": [], "NextToken": "page-2"}"#,
        )
        .expect("write a lone page");
        let inodes: BTreeMap<String, u64> = before
            .keys()
            .filter(|k| *k != "manifest.json")
            .filter(|k| !deleted.contains(k) && **k != damaged && *k != paged)
            .map(|k| (k.clone(), inode(&org.join(k))))
            .collect();
        let run = org_only().output().expect("fetch");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(0), "{stderr}");
        assert!(
            stderr.contains(&format!("{damaged}: truncated JSON"))
                && stderr.contains("list-accounts.json: has a NextToken"),
            "{stderr}"
        );
        let after = tree(&org);
        assert_eq!(
            before.keys().collect::<Vec<_>>(),
            after.keys().collect::<Vec<_>>()
        );
        for (rel, bytes) in &before {
            if rel != "manifest.json" {
                assert!(bytes == &after[rel], "{rel} differs after the resume");
            }
        }
        for (rel, ino) in &inodes {
            assert_eq!(inode(&org.join(rel)), *ino, "{rel} was rewritten");
        }
        let m = assert_manifest_matches(&org);
        assert_eq!(m["runs"].as_array().map(Vec::len), Some(2), "{m}");

        // RCPs disabled, then --refresh: no RCP file is left, and the manifest says why.
        let disabled = StdCommand::new(venv_bin("python"))
            .args([
                "-c",
                "import sys, boto3; o = boto3.client('organizations', endpoint_url=sys.argv[1], \
                 region_name='us-east-1', aws_access_key_id='test', aws_secret_access_key='test'); \
                 o.disable_policy_type(RootId=sys.argv[2], PolicyType='RESOURCE_CONTROL_POLICY')",
                &em.url,
                &root,
            ])
            .output()
            .expect("boto3");
        assert!(
            disabled.status.success(),
            "{}",
            String::from_utf8_lossy(&disabled.stderr)
        );
        let run = org_only().arg("--refresh").output().expect("fetch");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(0), "{stderr}");
        let rcp = id(&seed, &["policies", "rcp"]);
        for rel in [
            "policies/RESOURCE_CONTROL_POLICY.json".to_string(),
            format!("policy/{rcp}.json"),
            format!("targets/{rcp}.json"),
            "policy/p-RCPFullAWSAccess.json".into(),
        ] {
            assert!(!org.join(&rel).exists(), "{rel} is left");
        }
        assert!(org.join(format!("policy/{scp}.json")).is_file());
        let m = assert_manifest_matches(&org);
        let note = m["notes"]["policies/RESOURCE_CONTROL_POLICY.json"]
            .as_str()
            .unwrap_or_default();
        assert!(
            note.contains("RESOURCE_CONTROL_POLICY is not enabled in the root"),
            "{m}"
        );
        assert_eq!(
            m["runs"].as_array().map(Vec::len),
            Some(1),
            "a refresh starts anew"
        );
        assert_eq!(m["runs"][0]["refresh"], true);

        // Identity Center refused (server.py denies every sso-admin call): the rest is written,
        // sso/ is not, the manifest says why, exit 1 — not a failed fetch.
        em.control("deny/sso-admin/on");
        let run = org_only().arg("--refresh").output().expect("fetch");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{stderr}");
        assert!(!org.join("sso").exists(), "{stderr}");
        assert!(org.join("list-roots.json").is_file());
        let m = assert_manifest_matches(&org);
        let reason = m["missing"]["sso/list-instances.json"]
            .as_str()
            .unwrap_or_default();
        assert!(
            reason.contains("ListInstances: AccessDeniedException"),
            "{m}"
        );
        assert!(
            stderr.contains("sso/list-instances.json: IAM Identity Center"),
            "{stderr}"
        );
        // Allowed again, a rerun completes it.
        em.control("deny/sso-admin/off");
        let run = org_only().output().expect("fetch");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(0), "{stderr}");
        let m = assert_manifest_matches(&org);
        assert_eq!(m["missing"], serde_json::json!({}));
        assert!(
            org.join(format!(
                "sso/{instance}/{developer}/permissions-boundary.json"
            ))
            .is_file()
        );

        // Credentials of another organisation (account OTHER manages its own) are refused
        // before anything is written: the manifest is left as it was.
        const OTHER: &str = "222222222222";
        let created = StdCommand::new(venv_bin("python"))
            .args([
                "-c",
                "import sys, boto3; k = dict(endpoint_url=sys.argv[1], region_name='us-east-1'); \
                 c = boto3.client('sts', aws_access_key_id='test', aws_secret_access_key='test', **k)\
                 .assume_role(RoleArn='arn:aws:iam::' + sys.argv[2] + ':role/x', \
                 RoleSessionName='test')['Credentials']; \
                 boto3.client('organizations', aws_access_key_id=c['AccessKeyId'], \
                 aws_secret_access_key=c['SecretAccessKey'], aws_session_token=c['SessionToken'], \
                 **k).create_organization(FeatureSet='ALL')",
                &em.url,
                OTHER,
            ])
            .output()
            .expect("boto3");
        assert!(
            created.status.success(),
            "{}",
            String::from_utf8_lossy(&created.stderr)
        );
        profile_for(&em, tmp.path(), "other", OTHER);
        let manifest = std::fs::read_to_string(org.join("manifest.json")).expect("manifest");
        let run = org_only()
            .args(["--profile", "other"])
            .output()
            .expect("fetch");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!(
                "the organisation part of {} (manifest.json), but these credentials see \
                 organisation o-",
                id(&seed, &["organization"])
            )),
            "{stderr}"
        );
        assert_eq!(
            std::fs::read_to_string(org.join("manifest.json")).ok(),
            Some(manifest),
            "the manifest is untouched"
        );

        // An organisation part that fetch did not write is never changed.
        let foreign = tmp.path().join("foreign");
        std::fs::create_dir_all(foreign.join("organization")).expect("mkdir");
        std::fs::write(foreign.join("organization/list-roots.json"), "{}").expect("write");
        let run = fetch_command(&em, tmp.path(), &foreign, 4)
            .arg("--organization-only")
            .output()
            .expect("fetch");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("export-with-aws-cli.sh"), "{stderr}");
        assert_eq!(
            std::fs::read_to_string(foreign.join("organization/list-roots.json")).ok(),
            Some("{}".to_string())
        );

        // --organization alone (without --assume-role) says what to give.
        let run = fetch_command(&em, tmp.path(), &tmp.path().join("x"), 4)
            .arg("--organization")
            .output()
            .expect("fetch");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.starts_with("error: --organization fetches every account")
                && stderr.contains("--organization-only"),
            "{stderr}"
        );
        assert!(!tmp.path().join("x").exists());
    }
}
