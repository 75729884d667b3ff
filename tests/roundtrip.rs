//! Acting on the plan, end to end against the IAM emulator (`tests/emulator/`, see
//! tests/fetch.rs): fetch → report → run EVERY recommendation folder's apply block with the
//! folder's own `apply-recommendation.sh` and the venv's real `aws` CLI (awscli v1, pointed at
//! the loopback emulator with `AWS_ENDPOINT_URL`) → fetch again → report and `diff` (per action)
//! the two exports. Then the rollback blocks, and a third fetch that `diff` finds unchanged.
//!
//! The account is `seed.py --roundtrip`: the fetch tests' principals plus a wildcard inline
//! policy, a customer managed policy two principals tighten alike (a new version), one they
//! tighten differently (a copy), an AWS managed policy (replaced by a copy), an Allow `NotAction`
//! (rewritten into an `Action` list) and a group whose members use different parts of its
//! policy. Skips with a message without `.venv-emulator/`, unless `IAM_TIGHTEN_REQUIRE_EMULATOR`
//! is set (`.ci/run` sets it), like the fetch tests.

#[cfg(feature = "fetch")]
mod emulated {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;
    use std::process::Command as StdCommand;

    use crate::fetch::emulated::{Emulator, aws_env, fetch_at, venv_bin};
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

    /// `iam-tighten fetch` into `out`: complete but for `role/legacy-batch`, whose jobs always
    /// fail (exit 1; it stays without data, so nothing of it may be removed).
    fn fetch(em: &Emulator, home: &Path, out: &Path) {
        run(&mut fetch_at(&em.url, home, out, 4), &[1]);
        let manifest = json(&out.join("manifest.json"));
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

    /// Runs the apply (or rollback) block of every folder in `summary.json`, in the summary's
    /// order (rollback: reversed), with the helper `report` copied into `recommendations/`.
    fn apply_all(em: &Emulator, home: &Path, report: &Path, rollback: bool) -> usize {
        let summary = json(&report.join("recommendations/summary.json"));
        assert_eq!(summary["folders_omitted"], 0, "every folder is written");
        let mut folders: Vec<&str> = summary["principals"]
            .as_array()
            .expect("principals")
            .iter()
            .filter_map(|p| p["path"].as_str())
            .collect();
        if rollback {
            folders.reverse();
        }
        let path = std::env::join_paths(
            std::iter::once(venv_bin("aws").parent().expect("bin").to_path_buf()).chain(
                std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
            ),
        )
        .expect("PATH");
        for folder in &folders {
            let mut cmd = StdCommand::new(report.join("recommendations/apply-recommendation.sh"));
            aws_env(&mut cmd, home);
            cmd.env("PATH", &path)
                .env("AWS_ENDPOINT_URL", &em.url)
                .arg("--apply")
                .args(rollback.then_some("--rollback"))
                .arg(report.join(folder));
            let stderr = run(&mut cmd, &[0]);
            assert!(stderr.contains("command(s) ran"), "{folder}: {stderr}");
        }
        folders.len()
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

    #[test]
    fn applying_every_recommendation_removes_what_the_plan_says_and_nothing_used() {
        let Some((em, _)) =
            Emulator::start_seeded(0.0, &["--aws-managed-policies"], &["--roundtrip"])
        else {
            return;
        };
        let tmp = tempfile::tempdir().expect("tempdir");
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
        // The plan this account is made for: every kind of change is in it.
        let kinds: BTreeSet<String> = plan
            .values()
            .flat_map(|p| p["policies"].as_array().cloned().unwrap_or_default())
            .map(|p| p["apply"]["kind"].as_str().expect("kind").to_string())
            .collect();
        let want = ["delete_inline", "new_version", "put_inline", "replace"];
        assert_eq!(kinds, want.map(String::from).into(), "{plan:?}");
        let rewritten = &plan[&("role".to_string(), "almost-admin".to_string())]["policies"][0];
        assert_eq!(rewritten["not_action_rewritten"], true, "{rewritten}");
        assert!(apply_all(&em, home, &r1, false) >= 7);

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
        let used = used_in(&old);
        assert!(used.len() >= 10, "{used:?}");
        let lost: Vec<&Grant> = used.difference(&granted_after).collect();
        assert!(lost.is_empty(), "used actions no longer granted: {lost:?}");
        for r in diff.iter().filter(|r| r["kind"] == "revoked") {
            assert_eq!(r["old_status"], "unused", "{r:?}");
        }

        // (b) What diff calls revoked is what the plans remove: a principal's own plan, and for
        // a user, the plans of its groups (shared by every member), no more and no less.
        let groups = groups_of(&old);
        let mut expected = removes.clone();
        for (user, gs) in &groups {
            let of_groups = removes
                .iter()
                .filter(|(t, g, _)| t == "group" && gs.contains(g));
            for (_, _, action) in of_groups {
                expected.insert(("user".into(), user.clone(), action.clone()));
            }
        }
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
        let shared = managed_policy(&new, "shared-s3");
        let versions = shared["PolicyVersionList"].as_array().expect("versions");
        assert_eq!(versions.len(), 2, "{shared}");
        assert_eq!(shared["DefaultVersionId"], "v2");

        // Rolling every folder back restores the account: diff finds no change at all.
        apply_all(&em, home, &r1, true);
        let back = dir.join("back");
        fetch(&em, home, &back);
        let same = ["diff", "--exit-code", "--out"];
        run(
            &mut tool(&same, &[&dir.join("diff-back"), &old, &back]),
            &[0],
        );
    }
}
