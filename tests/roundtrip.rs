//! Acting on the plan, end to end against the IAM emulator (`tests/emulator/`, see
//! tests/fetch.rs): fetch → report → run EVERY recommendation folder's apply block with the
//! folder's own `apply-recommendation.sh --profile` and the venv's real `aws` CLI (awscli v1,
//! pointed at the loopback emulator with `AWS_ENDPOINT_URL`) → fetch again → report and `diff`
//! (per action) the two exports. Then the rollback blocks, and a third fetch that `diff` finds
//! unchanged once the new policy versions the rollback leaves are deleted (before, only what
//! they lack changes: `grant_too_new`). A second account rolls every folder back with no apply,
//! then after half of each folder's apply lines ran: both times the same.
//!
//! The account is `seed.py --roundtrip`: the fetch tests' principals plus a wildcard inline
//! policy, a customer managed policy two principals tighten alike (a new version), one they
//! tighten differently (a copy), an AWS managed policy (replaced by a copy), an Allow `NotAction`
//! (rewritten into an `Action` list) and a group whose members use different parts of its
//! policy; and, as the management account of an organisation, an IAM Identity Center permission
//! set provisioned to it (an inline policy to narrow, an AWS managed policy whose kept statements
//! are merged into it, one detached, one left, a customer managed policy reference) with its
//! `AWSReservedSSO_` role, which the emulator rewrites on `ProvisionPermissionSet` as Identity
//! Center does. Fetched with `--organization`, so the set is planned. Skips with a message
//! without `.venv-emulator/`, unless `IAM_TIGHTEN_REQUIRE_EMULATOR` is set (`.ci/run` sets it),
//! like the fetch tests.

#[cfg(feature = "fetch")]
mod emulated {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;
    use std::process::Command as StdCommand;

    use crate::fetch::emulated::{ACCOUNT, Emulator, aws_env, fetch_at, venv_bin};
    use iam_tighten::catalog::Catalog;
    use iam_tighten::policy::{Expander, expand_notation};

    type Row = BTreeMap<String, String>;
    /// (principal type, principal name, action in lower case).
    type Grant = (String, String, String);

    fn rows(path: &Path) -> Vec<Row> {
        csv::Reader::from_path(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .deserialize()
            .map(|r| r.expect("csv row"))
            .collect()
    }

    fn json(path: &Path) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json")
    }

    /// Runs `cmd`, asserting it exits with one of `codes`; returns its stderr.
    fn run(cmd: &mut StdCommand, codes: &[i32]) -> String {
        let out = cmd.output().expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.code().is_some_and(|c| codes.contains(&c)),
            "{cmd:?}: {:?}\nstdout: {}\nstderr: {stderr}",
            out.status,
            String::from_utf8_lossy(&out.stdout)
        );
        stderr
    }

    /// `iam-tighten fetch --organization` into `out`: the organisation part and its one account,
    /// `out/ACCOUNT`, complete but for `role/legacy-batch`, whose jobs always fail (exit 1; it
    /// stays without data, so nothing of it may be removed).
    fn fetch(em: &Emulator, home: &Path, out: &Path) {
        let org = ["--assume-role", "iam-tighten-read", "--organization"];
        run(fetch_at(&em.url, home, out, 4).args(org), &[1]);
        let summary = json(&out.join("fetch-summary.json"));
        assert_eq!(summary["organization"]["complete"], true, "{summary}");
        let manifest = json(&out.join(ACCOUNT).join("manifest.json"));
        let missing: Vec<&String> = manifest["missing"]
            .as_object()
            .expect("missing")
            .keys()
            .collect();
        assert_eq!(missing, ["role/legacy-batch"], "{manifest}");
    }

    fn tool(args: &[&str], dirs: &[&Path]) -> StdCommand {
        let mut cmd = StdCommand::new(assert_cmd::cargo::cargo_bin("iam-tighten"));
        cmd.args(args).args(dirs);
        cmd
    }

    /// The AWS CLI profile the helper is given: credentials for the emulator, and a region other
    /// than Identity Center's (the sso-admin lines must name theirs).
    const PROFILE: &str = "roundtrip";

    fn write_profile(home: &Path) {
        let config = format!("[profile {PROFILE}]\nregion = eu-west-1\n");
        std::fs::write(home.join("aws-config"), config).expect("aws config");
        let credentials =
            format!("[{PROFILE}]\naws_access_key_id = test\naws_secret_access_key = test\n");
        std::fs::write(home.join("aws-credentials"), credentials).expect("aws credentials");
    }

    /// The emulator seeded with `seed.py --roundtrip` (and the AWS managed policies), the ids the
    /// seed printed, and a folder that is the HOME of the runs, with [`PROFILE`] written; `None`
    /// (the test skips) without the emulator.
    fn roundtrip_account() -> Option<(Emulator, serde_json::Value, tempfile::TempDir)> {
        let (em, seed) =
            Emulator::start_seeded(0.0, &["--aws-managed-policies"], &["--roundtrip"])?;
        let seed: serde_json::Value = serde_json::from_slice(&seed).expect("seed.py's ids");
        let tmp = tempfile::tempdir().expect("tempdir");
        write_profile(tmp.path());
        Some((em, seed, tmp))
    }

    /// Runs the helper `report` copied into `recommendations/` on `folder` with `--apply` and
    /// `args`, given `--profile` and no credentials or region in the environment: every line,
    /// `aws iam` or `aws sso-admin`, runs only if the helper passes the profile on. It must finish
    /// (exit 0); returns its stderr.
    fn helper(em: &Emulator, home: &Path, report: &Path, folder: &Path, args: &[&str]) -> String {
        let stderr = helper_exits(em, home, report, (folder, args), 0);
        assert!(stderr.contains("command(s) ran"), "{folder:?}: {stderr}");
        stderr
    }

    /// [`helper`], which must exit with `code`; returns its stderr.
    fn helper_exits(
        em: &Emulator,
        home: &Path,
        report: &Path,
        (folder, args): (&Path, &[&str]),
        code: i32,
    ) -> String {
        let path = std::env::join_paths(
            std::iter::once(venv_bin("aws").parent().expect("bin").to_path_buf()).chain(
                std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
            ),
        )
        .expect("PATH");
        let mut cmd = StdCommand::new(report.join("recommendations/apply-recommendation.sh"));
        aws_env(&mut cmd, home);
        for var in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("PATH", &path)
            .env("AWS_ENDPOINT_URL", &em.url)
            .args(["--apply", "--profile", PROFILE])
            .args(args)
            .arg(folder);
        run(&mut cmd, &[code])
    }

    /// The folders of `summary.json` (relative to `report`), in the summary's order.
    fn folders(report: &Path) -> Vec<String> {
        let summary = json(&report.join("recommendations/summary.json"));
        assert_eq!(summary["folders_omitted"], 0, "every folder is written");
        let principals = summary["principals"].as_array().expect("principals");
        let paths = principals.iter().filter_map(|p| p["path"].as_str());
        paths.map(String::from).collect()
    }

    /// Runs the apply (or rollback) block of every folder in `summary.json`, in the summary's
    /// order (rollback: reversed), with [`helper`]; returns each folder's stderr.
    fn apply_all(
        em: &Emulator,
        home: &Path,
        report: &Path,
        rollback: bool,
    ) -> BTreeMap<String, String> {
        let mut folders = folders(report);
        if rollback {
            folders.reverse();
        }
        let args: &[&str] = if rollback { &["--rollback"] } else { &[] };
        folders
            .into_iter()
            .map(|f| {
                let stderr = helper(em, home, report, &report.join(&f), args);
                (f, stderr)
            })
            .collect()
    }

    /// The (type, name, action) every `removed` row of `actions.csv` names, expanded.
    fn plan_removes(report: &Path) -> BTreeSet<Grant> {
        let cat = Catalog::embedded();
        let mut expander = Expander::new(cat);
        let mut out = BTreeSet::new();
        for r in rows(&report.join("recommendations/actions.csv")) {
            if r["decision"] != "removed" {
                continue;
            }
            let set = expand_notation(&r["action"], &mut expander)
                .expect("notation")
                .actions;
            assert_eq!(set.len().to_string(), r["actions"], "{r:?}");
            for id in set.iter() {
                out.insert((
                    r["principal_type"].clone(),
                    r["principal_name"].clone(),
                    cat.full_name(id).to_lowercase(),
                ));
            }
        }
        out
    }

    /// Every (type, name, action) a last-accessed file of `export` shows used (a
    /// `LastAccessedTime`), whatever the window.
    fn used_in(export: &Path) -> BTreeSet<Grant> {
        let mut out = BTreeSet::new();
        for (dir, kind) in [("roles", "role"), ("users", "user"), ("groups", "group")] {
            let Ok(entries) = std::fs::read_dir(export.join("last-accessed").join(dir)) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().replace(".json", "");
                let report = json(&entry.path());
                for svc in report["ServicesLastAccessed"].as_array().expect("services") {
                    let tracked = svc["TrackedActionsLastAccessed"].as_array();
                    for a in tracked.into_iter().flatten() {
                        if a.get("LastAccessedTime").is_some() {
                            let action = format!(
                                "{}:{}",
                                svc["ServiceNamespace"].as_str().expect("namespace"),
                                a["ActionName"].as_str().expect("name")
                            );
                            out.insert((kind.into(), name.clone(), action.to_lowercase()));
                        }
                    }
                }
            }
        }
        out
    }

    /// Each user's groups, from the export's authorization details.
    fn groups_of(export: &Path) -> BTreeMap<String, Vec<String>> {
        let gaad = json(&export.join("authorization-details.json"));
        gaad["UserDetailList"]
            .as_array()
            .expect("users")
            .iter()
            .map(|u| {
                let groups = u["GroupList"].as_array().expect("groups");
                let names = groups.iter().map(|g| g.as_str().expect("group").into());
                (
                    u["UserName"].as_str().expect("name").into(),
                    names.collect(),
                )
            })
            .collect()
    }

    /// The customer managed policy `name` in the export's authorization details.
    fn managed_policy(export: &Path, name: &str) -> serde_json::Value {
        let gaad = json(&export.join("authorization-details.json"));
        let suffix = format!(":policy/{name}");
        let policies = gaad["Policies"].as_array().expect("policies");
        let found = policies
            .iter()
            .find(|p| p["Arn"].as_str().is_some_and(|a| a.ends_with(&suffix)));
        found.expect(name).clone()
    }

    fn summary_by_name(report: &Path) -> BTreeMap<(String, String), serde_json::Value> {
        let summary = json(&report.join("recommendations/summary.json"));
        summary["principals"]
            .as_array()
            .expect("principals")
            .iter()
            .map(|p| {
                let key = (
                    p["principal_type"].as_str().expect("type").to_string(),
                    p["principal_name"].as_str().expect("name").to_string(),
                );
                (key, p.clone())
            })
            .collect()
    }

    /// The permission set as sso-admin holds it (read with boto3): its inline policy's text,
    /// its AWS managed policies' ARNs and its customer managed policy references (`path+name`).
    fn set_state(em: &Emulator, seed: &serde_json::Value) -> serde_json::Value {
        const READ: &str = "import sys, json, boto3\n\
            s = boto3.client('sso-admin', endpoint_url=sys.argv[1], region_name='us-east-1', \
            aws_access_key_id='test', aws_secret_access_key='test')\n\
            k = dict(InstanceArn=sys.argv[2], PermissionSetArn=sys.argv[3])\n\
            m = s.list_managed_policies_in_permission_set(**k)['AttachedManagedPolicies']\n\
            c = s.list_customer_managed_policy_references_in_permission_set(**k)\n\
            print(json.dumps({'inline': s.get_inline_policy_for_permission_set(**k)\
            ['InlinePolicy'], 'managed': [p['Arn'] for p in m], 'customer': [r['Path'] + \
            r['Name'] for r in c['CustomerManagedPolicyReferences']]}))";
        let field = |k: &str| seed[k].as_str().expect(k).to_string();
        let out = StdCommand::new(venv_bin("python"))
            .args(["-c", READ, &em.url])
            .args([field("instance"), field("permission_set")])
            .output()
            .expect("boto3");
        assert!(out.status.success(), "{out:?}");
        serde_json::from_slice(&out.stdout).expect("set json")
    }

    /// How many `ProvisionPermissionSet` calls for every provisioned account of `set` the
    /// emulator got.
    fn provisioned_all(em: &Emulator, set: &str) -> usize {
        let calls: Vec<(String, String)> =
            serde_json::from_str(&em.control("calls")).expect("calls json");
        let key = format!("{set} ALL_PROVISIONED_ACCOUNTS");
        calls
            .iter()
            .filter(|(a, k)| a == "Provision" && *k == key)
            .count()
    }

    /// Each role of permission set `name` in the export (`AWSReservedSSO_<name>_<hash>`).
    fn set_roles(export: &Path, name: &str) -> Vec<String> {
        let gaad = json(&export.join("authorization-details.json"));
        let prefix = format!("AWSReservedSSO_{name}_");
        gaad["RoleDetailList"]
            .as_array()
            .expect("roles")
            .iter()
            .filter_map(|r| r["RoleName"].as_str())
            .filter(|n| n.starts_with(&prefix))
            .map(String::from)
            .collect()
    }

    /// After applying: the set holds what its folder says. Its inline policy is the folder's
    /// `inline-policy.json` as sent, its AWS managed policies are the original ones but those
    /// the plan detaches (merged or not), in their order, its customer managed references are
    /// unchanged; and it was provisioned to every account.
    fn assert_set_applied(
        em: &Emulator,
        seed: &serde_json::Value,
        original: &serde_json::Value,
        (report, plan): (&Path, &serde_json::Value),
    ) {
        let now = set_state(em, seed);
        let folder = report.join(plan["path"].as_str().expect("path"));
        let sent = std::fs::read_to_string(folder.join("inline-policy.json")).expect("inline");
        assert_eq!(now["inline"], sent.as_str(), "{now}");
        let policies = plan["policies"].as_array().expect("policies");
        let detached: Vec<&str> = policies
            .iter()
            .filter(|p| p["kind"] == "aws_managed")
            .map(|p| p["arn"].as_str().expect("arn"))
            .collect();
        assert_eq!(detached.len(), 2, "{plan}");
        let left: Vec<&serde_json::Value> = original["managed"]
            .as_array()
            .expect("managed")
            .iter()
            .filter(|a| !detached.contains(&a.as_str().expect("arn")))
            .collect();
        assert_eq!(
            now["managed"].as_array().map(|m| m.iter().collect()),
            Some(left)
        );
        assert_eq!(now["customer"], original["customer"]);
        assert_eq!(now["customer"], serde_json::json!(["/teams/analyst-extra"]));
        let set = seed["permission_set"].as_str().expect("set");
        assert_eq!(
            provisioned_all(em, set),
            1,
            "provisioned once, to every account"
        );
    }

    /// After rolling back: the set is what it was. Its inline policy is the very text it held
    /// (`inline-policy.original.json` is Identity Center's, byte for byte); its AWS managed
    /// policies and customer managed references are the same (the managed policies' order is
    /// not compared: a policy attached again is listed last, and the order means nothing to a
    /// set); and it was provisioned again: `provisions` times in all.
    fn assert_set_rolled_back(
        em: &Emulator,
        seed: &serde_json::Value,
        original: &serde_json::Value,
        provisions: usize,
    ) {
        let now = set_state(em, seed);
        assert_eq!(now["inline"], original["inline"]);
        let sorted = |v: &serde_json::Value| {
            let list = v["managed"].as_array().expect("managed");
            list.iter()
                .map(ToString::to_string)
                .collect::<BTreeSet<_>>()
        };
        assert_eq!(sorted(&now), sorted(original), "{now} vs {original}");
        assert_eq!(now["customer"], original["customer"]);
        let set = seed["permission_set"].as_str().expect("set");
        assert_eq!(
            provisioned_all(em, set),
            provisions,
            "provisioned again by the rollback"
        );
    }

    /// The plan this account is made for has every kind of change in it; returns the permission
    /// set's entry, which narrows the inline policy, detaches an AWS managed policy and merges
    /// what another keeps.
    fn assert_every_kind(
        plan: &BTreeMap<(String, String), serde_json::Value>,
    ) -> &serde_json::Value {
        let kinds: BTreeSet<String> = plan
            .values()
            .flat_map(|p| p["policies"].as_array().cloned().unwrap_or_default())
            .map(|p| p["apply"]["kind"].as_str().expect("kind").to_string())
            .collect();
        let want = [
            "delete_inline",
            "detach",
            "merge_into_inline",
            "new_version",
            "put_inline",
            "replace",
        ];
        assert_eq!(kinds, want.map(String::from).into(), "{plan:?}");
        let rewritten = &plan[&("role".to_string(), "almost-admin".to_string())]["policies"][0];
        assert_eq!(rewritten["not_action_rewritten"], true, "{rewritten}");
        let set_plan = &plan[&("permission_set".to_string(), "DataAnalyst".to_string())];
        let set_kinds: Vec<&str> = set_plan["policies"]
            .as_array()
            .expect("policies")
            .iter()
            .map(|p| p["apply"]["kind"].as_str().expect("kind"))
            .collect();
        assert_eq!(
            set_kinds,
            ["put_inline", "detach", "merge_into_inline"],
            "{set_plan}"
        );
        set_plan
    }

    /// What applying the plans revokes: each principal's own plan; for a user, the plans of its
    /// groups (shared by every member); for a permission set's role, its set's plan
    /// (provisioning rewrote the role; a set has no grants of its own in `diff`).
    fn expected_revoked(removes: &BTreeSet<Grant>, export: &Path) -> BTreeSet<Grant> {
        let mut expected: BTreeSet<Grant> = removes
            .iter()
            .filter(|(t, _, _)| t != "permission_set")
            .cloned()
            .collect();
        for (_, set, action) in removes.iter().filter(|(t, _, _)| t == "permission_set") {
            for role in set_roles(export, set) {
                expected.insert(("role".into(), role, action.clone()));
            }
        }
        for (user, gs) in &groups_of(export) {
            let of_groups = removes
                .iter()
                .filter(|(t, g, _)| t == "group" && gs.contains(g));
            for (_, _, action) in of_groups {
                expected.insert(("user".into(), user.clone(), action.clone()));
            }
        }
        expected
    }

    /// Applies the first half (rounded down) of `folder`'s apply lines, as an apply that stopped
    /// there would leave the account (a throttle, a quota, a typo in the profile): the helper runs
    /// a copy of the folder, in `scratch`, whose apply block keeps only those lines. A folder of
    /// one line is left alone (never applied).
    fn apply_half(em: &Emulator, home: &Path, report: &Path, folder: &str, scratch: &Path) {
        let (from, to) = (report.join(folder), scratch.join(folder));
        std::fs::create_dir_all(&to).expect("mkdir");
        for entry in std::fs::read_dir(&from).expect("folder").flatten() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
        }
        let readme = std::fs::read_to_string(from.join("README.md")).expect("README");
        let block: Vec<&str> = readme
            .lines()
            .skip_while(|l| *l != "```sh apply")
            .skip(1)
            .take_while(|l| *l != "```")
            .collect();
        let half = &block[..block.len() / 2];
        if half.is_empty() {
            return;
        }
        let cut = readme.replacen(&block.join("\n"), &half.join("\n"), 1);
        assert_ne!(cut, readme, "{folder}");
        std::fs::write(to.join("README.md"), cut).expect("README");
        let stderr = helper(em, home, report, &to, &[]);
        assert!(
            stderr.contains(&format!("{} command(s) ran", half.len())),
            "{stderr}"
        );
    }

    /// The stderr of the folder whose path ends with `suffix`.
    fn log_of<'a>(logs: &'a BTreeMap<String, String>, suffix: &str) -> &'a str {
        let found = logs.iter().find(|(f, _)| f.ends_with(suffix));
        found.map(|(_, l)| l.as_str()).expect(suffix)
    }

    /// The rollback is the safety net of an apply that stopped halfway, and is run too for one
    /// that never ran. Then a line whose undo already holds fails in AWS, and the helper takes it
    /// as done (`=`, "already so") instead of stopping the rollback there: the permission set's
    /// attach of a policy never detached (`ConflictException`, and sso-admin lists it), the
    /// detach and the delete of a copy never attached or never made (`NoSuchEntity`). Either way
    /// every folder's rollback finishes, and `diff` finds the account as it was.
    #[test]
    fn rolling_back_after_a_partial_apply_or_none_restores_the_account() {
        let Some((em, seed, tmp)) = roundtrip_account() else {
            return;
        };
        let (home, dir) = (tmp.path(), tmp.path());
        let (old, r1) = (dir.join("old"), dir.join("r1"));
        fetch(&em, home, &old);
        let report = ["report", "--format", "csv", "--out"];
        run(&mut tool(&report, &[&r1, &old]), &[0]);
        let original_set = set_state(&em, &seed);
        let unchanged = |name: &str| unchanged_once_cleaned(&em, home, (dir, &old), name);
        let (set, etl, reader) = (
            "/permission_set/DataAnalyst",
            "/role/etl-runner",
            "/user/report-reader",
        );
        let (conflict, not_attached, no_policy) = (
            "(already so: ConflictException, and the permission set lists the policy)",
            "(already so: NoSuchEntity, the policy is not attached)",
            "(already so: NoSuchEntity, the policy does not exist)",
        );

        // Never applied: every rollback finishes and changes nothing. A copy that does not
        // exist is neither detached nor deleted: both lines are done without running.
        let logs = apply_all(&em, home, &r1, true);
        assert_eq!(log_of(&logs, set).matches(conflict).count(), 2, "{logs:?}");
        for who in [etl, reader] {
            let log = log_of(&logs, who);
            assert_eq!(log.matches(no_policy).count(), 2, "{log}");
            assert!(!log.contains(not_attached), "{log}");
        }
        assert_eq!(set_state(&em, &seed), original_set);
        unchanged("back-none");

        // Half applied: the set's new inline policy is in and one AWS managed policy detached;
        // etl-runner's copy of AmazonSQSReadOnlyAccess was never made, report-reader's was made
        // and never attached.
        let scratch = dir.join("half");
        for folder in folders(&r1) {
            apply_half(&em, home, &r1, &folder, &scratch);
        }
        let half = set_state(&em, &seed);
        assert_ne!(half["inline"], original_set["inline"]);
        let managed = half["managed"].to_string();
        assert!(
            managed.contains("AmazonSQSReadOnlyAccess") && !managed.contains("Kinesis"),
            "{half}"
        );
        let logs = apply_all(&em, home, &r1, true);
        assert_eq!(log_of(&logs, set).matches(conflict).count(), 1, "{logs:?}");
        let log = log_of(&logs, etl);
        assert_eq!(log.matches(no_policy).count(), 2, "{log}");
        let log = log_of(&logs, reader);
        assert!(
            log.contains(not_attached) && !log.contains(no_policy),
            "{log}"
        );
        assert_set_rolled_back(&em, &seed, &original_set, 2);
        unchanged("back-half");
    }

    /// The account fetched into `dir/name` after a rollback (or a failed apply) is the account
    /// fetched into `old` (`diff --exit-code`) once the policy versions the apply made, which the
    /// rollback leaves as they are (not the default), are deleted, as methodology.md advises once
    /// a rollback is settled ("Policy versions"). Before that, the only changes are what those
    /// versions lack, `unused` then and `grant_too_new` now: when the default was set back is
    /// not recorded, so they may have been in force until the as-of time.
    fn unchanged_once_cleaned(em: &Emulator, home: &Path, (dir, old): (&Path, &Path), name: &str) {
        let back = dir.join(name);
        fetch(em, home, &back);
        let out = dir.join(format!("diff-{name}"));
        run(
            &mut tool(&["diff", "--per-action", "--out"], &[&out, old, &back]),
            &[0],
        );
        for row in rows(&out.join("diff.csv")) {
            assert_eq!(
                (row["kind"].as_str(), row["new_reason"].as_str()),
                ("newly_unknown", "grant_too_new"),
                "{name}: {row:?}"
            );
        }
        let details = |root: &Path| json(&root.join(ACCOUNT).join("authorization-details.json"));
        let before = details(old);
        let listed = |doc: &serde_json::Value, arn: &str| -> BTreeSet<String> {
            let policies = doc["Policies"].as_array().into_iter().flatten();
            policies
                .filter(|p| p["Arn"] == arn)
                .flat_map(|p| p["PolicyVersionList"].as_array().into_iter().flatten())
                .filter_map(|v| Some(v["VersionId"].as_str()?.to_string()))
                .collect()
        };
        let after = details(&back);
        for p in after["Policies"].as_array().into_iter().flatten() {
            let arn = p["Arn"].as_str().expect("Arn");
            let had = listed(&before, arn);
            for v in p["PolicyVersionList"].as_array().into_iter().flatten() {
                let id = v["VersionId"].as_str().expect("VersionId");
                if had.is_empty() || had.contains(id) || v["IsDefaultVersion"] == true {
                    continue;
                }
                let version = ["--policy-arn", arn, "--version-id", id];
                aws(
                    em,
                    home,
                    &[&["iam", "delete-policy-version"][..], &version].concat(),
                );
            }
        }
        let clean = dir.join(format!("{name}-clean"));
        fetch(em, home, &clean);
        let out = dir.join(format!("diff-{name}-clean"));
        run(
            &mut tool(&["diff", "--exit-code", "--out"], &[&out, old, &clean]),
            &[0],
        );
    }

    /// The venv's `aws` CLI against the emulator, with the test's credentials, run from `home`;
    /// its stdout.
    fn aws(em: &Emulator, home: &Path, args: &[&str]) -> String {
        let mut cmd = StdCommand::new(venv_bin("aws"));
        aws_env(&mut cmd, home);
        cmd.env("AWS_ENDPOINT_URL", &em.url)
            .current_dir(home)
            .args(args);
        let out = cmd.output().expect("aws");
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Makes a policy of the name of the copy that etl-runner's folder `etl` (in report `r1`)
    /// makes, with another document, and attaches it to etl-runner; checks that the folder's
    /// apply fails on it and its rollback leaves it attached, with its document (the rollback
    /// lines the helper lists are run by hand). Returns its ARN.
    fn foreign_copy(em: &Emulator, home: &Path, (r1, etl): (&Path, &Path)) -> String {
        let readme = std::fs::read_to_string(etl.join("README.md")).expect("README");
        let create = readme
            .lines()
            .find(|l| l.starts_with("aws iam create-policy "));
        let name = create.expect("a copy").split(' ').nth(4).expect("name");
        let arn = format!("arn:aws:iam::{ACCOUNT}:policy/{name}");
        let statement =
            serde_json::json!({"Effect": "Allow", "Action": "sqs:ListQueues", "Resource": "*"});
        let foreign =
            serde_json::json!({"Version": "2012-10-17", "Statement": [statement]}).to_string();
        aws(
            em,
            home,
            &[
                "iam",
                "create-policy",
                "--policy-name",
                name,
                "--policy-document",
                &foreign,
            ],
        );
        let attach = ["--role-name", "etl-runner", "--policy-arn", &arn];
        aws(
            em,
            home,
            &[&["iam", "attach-role-policy"][..], &attach].concat(),
        );
        let stderr = helper_exits(em, home, r1, (etl, &[]), 1);
        assert!(
            stderr.contains(&format!(
                "a policy named {name} already exists and is not this folder's copy"
            )),
            "{stderr}"
        );
        let stderr = helper_exits(em, home, r1, (etl, &["--rollback"]), 1);
        assert!(
            stderr.contains(&format!("policy {arn} is not the copy this folder makes")),
            "{stderr}"
        );
        // The apply ran its lines before the create-policy: the rollback lines after the refused
        // one, which the helper lists, are run by hand, from the folder.
        let by_hand: Vec<&str> = stderr
            .lines()
            .skip_while(|l| !l.ends_with("in order:"))
            .filter_map(|l| l.strip_prefix("  aws "))
            .collect();
        assert_eq!(by_hand.len(), 2, "{stderr}");
        for line in by_hand {
            assert!(!line.contains(['\'', '"']), "{line}");
            aws(em, etl, &line.split(' ').collect::<Vec<_>>());
        }
        let listed = aws(
            em,
            home,
            &[
                "iam",
                "list-attached-role-policies",
                "--role-name",
                "etl-runner",
            ],
        );
        assert!(listed.contains(&arn), "detached: {listed}");
        let version = [
            "--policy-arn",
            &arn,
            "--version-id",
            "v1",
            "--query",
            "PolicyVersion.Document.Statement[0].Action",
        ];
        let kept = aws(
            em,
            home,
            &[&["iam", "get-policy-version"][..], &version].concat(),
        );
        assert_eq!(kept.trim(), "\"sqs:ListQueues\"", "not the same policy");
        arn
    }

    /// `logs`, the stderr of every folder's apply run whole again once everything is applied:
    /// every line is done already (`=`, each kind of "already so" of an apply among them) or
    /// succeeds as it is (IAM's attach of an attached policy, put-<type>-policy, sso-admin's
    /// put-inline-policy-to-permission-set and provision-permission-set).
    fn assert_every_line_done_or_idempotent(logs: &BTreeMap<String, String>) {
        let lines: Vec<&str> = logs.values().flat_map(|l| l.lines()).collect();
        let done: BTreeSet<&str> = lines
            .iter()
            .filter_map(|l| l.strip_prefix("= "))
            .filter_map(|l| l.split(" (already so: ").next())
            .collect();
        let ran: BTreeSet<&str> = lines
            .iter()
            .filter_map(|l| l.strip_prefix("+ "))
            .filter(|c| !done.contains(c))
            .map(|c| c.split(' ').nth(2).expect("verb"))
            .collect();
        let idempotent = [
            "attach-role-policy",
            "attach-user-policy",
            "provision-permission-set",
            "put-inline-policy-to-permission-set",
            "put-role-policy",
            "put-user-policy",
            "put-group-policy",
        ];
        assert!(ran.iter().all(|v| idempotent.contains(v)), "{ran:?}");
        assert!(ran.contains("attach-role-policy"), "{ran:?}");
        for why in [
            "EntityAlreadyExists, and its default version",
            "NoSuchEntity, the policy is not attached",
            "NoSuchEntity, the inline policy does not exist",
            "ResourceNotFoundException, and the permission set does not list",
        ] {
            let said = format!("(already so: {why}");
            assert!(lines.iter().any(|l| l.contains(&said)), "{said}: {logs:?}");
        }
    }

    /// A policy of the copy's name that the folder did not make (made after the fetch, or left
    /// out of a filtered one): the apply's `create-policy` fails on it, and the rollback, which
    /// detaches and deletes the copy, leaves it attached and in place. Then an apply that stopped
    /// halfway (every folder's first half of lines) is run again, whole, to the end: its
    /// `create-policy` of a copy already made and its detaches already done are done, and the
    /// permission set's provisioning is followed until it succeeds. The account is then as a
    /// single apply leaves it, and rolling back restores it (`diff --exit-code`).
    #[test]
    fn a_foreign_policy_is_never_taken_away_and_a_stopped_apply_runs_again_to_the_end() {
        let Some((em, seed, tmp)) = roundtrip_account() else {
            return;
        };
        let (home, dir) = (tmp.path(), tmp.path());
        let (old, r1) = (dir.join("old"), dir.join("r1"));
        fetch(&em, home, &old);
        run(
            &mut tool(&["report", "--format", "csv", "--out"], &[&r1, &old]),
            &[0],
        );
        let plan = summary_by_name(&r1);
        let set_plan = assert_every_kind(&plan);
        let original_set = set_state(&em, &seed);

        // Someone makes a policy of etl-runner's copy's name, and attaches it to etl-runner.
        let etl = plan[&("role".into(), "etl-runner".into())]["path"].as_str();
        let foreign = foreign_copy(&em, home, (&r1, &r1.join(etl.expect("path"))));
        // Its owner takes it away: the account is as fetched, the failed apply and the refused
        // rollback changed nothing.
        let attach = ["--role-name", "etl-runner", "--policy-arn", &foreign];
        aws(
            &em,
            home,
            &[&["iam", "detach-role-policy"][..], &attach].concat(),
        );
        aws(
            &em,
            home,
            &["iam", "delete-policy", "--policy-arn", &foreign],
        );
        // The failed apply made the new version of a shared policy before it stopped.
        unchanged_once_cleaned(&em, home, (dir, &old), "unchanged");

        // An apply that stopped halfway, run again.
        let scratch = dir.join("half");
        for folder in folders(&r1) {
            apply_half(&em, home, &r1, &folder, &scratch);
        }
        let logs = apply_all(&em, home, &r1, false);
        let again =
            "(already so: EntityAlreadyExists, and its default version is this folder's file)";
        let reader = log_of(&logs, "/user/report-reader");
        assert!(reader.contains(again), "{reader}");
        let set = log_of(&logs, "/permission_set/DataAnalyst");
        let detached = "(already so: ResourceNotFoundException, and the permission set does not \
                        list the policy)";
        assert!(set.contains(detached), "{set}");
        assert!(
            set.contains(": SUCCEEDED"),
            "the provisioning is followed: {set}"
        );
        assert!(em.control("calls").contains("DescribeProvisioning"));
        assert_set_applied(&em, &seed, &original_set, (&r1, set_plan));
        assert_every_line_done_or_idempotent(&apply_all(&em, home, &r1, false));
        let (new, r2) = (dir.join("new"), dir.join("r2"));
        fetch(&em, home, &new);
        run(
            &mut tool(&["report", "--format", "csv", "--out"], &[&r2, &new]),
            &[0],
        );
        let after = summary_by_name(&r2);
        for (who, p) in plan.iter().filter(|(_, p)| p["path"].is_string()) {
            let now = &after[who];
            assert_eq!(now["before"], p["after"], "{who:?}: {p} then {now}");
            assert_eq!(now["removed"], 0, "{who:?}: {now}");
        }

        apply_all(&em, home, &r1, true);
        assert_set_rolled_back(&em, &seed, &original_set, 3);
        unchanged_once_cleaned(&em, home, (dir, &old), "back");
    }

    #[test]
    fn applying_every_recommendation_removes_what_the_plan_says_and_nothing_used() {
        let Some((em, seed, tmp)) = roundtrip_account() else {
            return;
        };
        let (home, dir) = (tmp.path(), tmp.path());
        let (old, new) = (dir.join("old"), dir.join("new"));
        let (r1, r2, d) = (dir.join("r1"), dir.join("r2"), dir.join("diff"));

        fetch(&em, home, &old);
        run(
            &mut tool(&["report", "--format", "csv", "--out"], &[&r1, &old]),
            &[0],
        );
        let plan = summary_by_name(&r1);
        let removes = plan_removes(&r1);
        let set_plan = assert_every_kind(&plan);
        let original_set = set_state(&em, &seed);
        assert!(apply_all(&em, home, &r1, false).len() >= 8);
        assert_set_applied(&em, &seed, &original_set, (&r1, set_plan));

        fetch(&em, home, &new);
        run(
            &mut tool(&["report", "--format", "csv", "--out"], &[&r2, &new]),
            &[0],
        );
        let diff_args = ["diff", "--per-action", "--include-unchanged", "--out"];
        run(&mut tool(&diff_args, &[&d, &old, &new]), &[0]);
        let diff = rows(&d.join("diff.csv"));
        let key = |r: &Row| {
            let action = r["action"].to_lowercase();
            (
                r["principal_type"].clone(),
                r["principal_name"].clone(),
                action,
            )
        };
        let granted_after: BTreeSet<Grant> = diff
            .iter()
            .filter(|r| !r["action"].is_empty() && r["kind"] != "revoked")
            .map(key)
            .collect();
        let revoked: BTreeSet<Grant> = diff
            .iter()
            .filter(|r| r["kind"] == "revoked")
            .map(key)
            .collect();

        // (a) Every action the last-accessed data shows used is still granted to its principal,
        // and nothing that was used or unknown was revoked.
        let used = used_in(&old.join(ACCOUNT));
        assert!(used.len() >= 10, "{used:?}");
        let lost: Vec<&Grant> = used.difference(&granted_after).collect();
        assert!(lost.is_empty(), "used actions no longer granted: {lost:?}");
        for r in diff.iter().filter(|r| r["kind"] == "revoked") {
            assert_eq!(r["old_status"], "unused", "{r:?}");
        }

        // (b) What diff calls revoked is what the plans remove, no more and no less.
        let expected = expected_revoked(&removes, &old.join(ACCOUNT));
        let set_role = seed["role"].as_str().expect("role");
        assert!(
            expected.iter().any(|(_, n, _)| n == set_role),
            "{expected:?}"
        );
        assert_eq!(
            revoked, expected,
            "revoked (left) vs the plans' removals (right)"
        );
        // And each plan's counts: what it said it removes, and what is left.
        let after = summary_by_name(&r2);
        for (who, p) in plan.iter().filter(|(_, p)| p["path"].is_string()) {
            let own = removes
                .iter()
                .filter(|(t, n, _)| (t, n) == (&who.0, &who.1));
            assert_eq!(p["removed"], own.count(), "{who:?}");
            // (c) A tightened principal has nothing left to remove: the second report plans
            // nothing for it, so no unused finding of what was removed is left either.
            let now = &after[who];
            assert_eq!(now["before"], p["after"], "{who:?}: {p} then {now}");
            assert_eq!(now["removed"], 0, "{who:?}: {now}");
        }

        // The policy both principals tighten alike is in both folders, but gets one new version:
        // the second folder finds its document already the default and skips the line.
        let shared = managed_policy(&new.join(ACCOUNT), "shared-s3");
        let versions = shared["PolicyVersionList"].as_array().expect("versions");
        assert_eq!(versions.len(), 2, "{shared}");
        assert_eq!(shared["DefaultVersionId"], "v2");

        // Rolling every folder back restores the account and the permission set: diff finds no
        // change at all once the versions the apply made are deleted.
        apply_all(&em, home, &r1, true);
        assert_set_rolled_back(&em, &seed, &original_set, 2);
        unchanged_once_cleaned(&em, home, (dir, &old), "back");
    }
}
