//! `iam-tighten diff OLD NEW`: analyse every export of both sides the same way, each on its
//! own (two at a time), reduce it to a compact [`Side`], and compare an account as soon as both
//! its sides are there; write diff.csv, diff.json, diff.html and diff-permission-sets.csv
//! (permissions, identity/credential findings of both sides, the permission sets rolled up).
//! Memory follows the largest account, not the organisation: an export's analysis is freed once
//! its side is built, and a side once its account is compared. Exit 1 on `--exit-code` with changes or `--fail-on-new` crossed; 3 on
//! `--exit-code` when the sides look swapped.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use iam_tighten::analysis;
use iam_tighten::analysis::identities::{self, IdentityCollector, PolicyNamed};
use iam_tighten::analysis::model::PermissionSetInfo;
use iam_tighten::diff::model::{BuildInput, DiffSettings, OrganizationMeta};
use iam_tighten::diff::{self, DiffLimits, DiffModel, DiffRun, KindCounts, Side, SideMeta};
use iam_tighten::input;
use iam_tighten::model::grouped as num;
use iam_tighten::model::organization::Organization;
use iam_tighten::report::model::CatalogInfo;

use super::config::DiffConfig;

/// How many bytes of authorization details may be analysed at once (an export larger than this
/// is analysed alone). At 100,000 roles in 26 MB exports: 1.8 GiB peak one at a time, 2.6 GiB two
/// at once (docs/performance.md, "diff at organisation scale").
const ANALYSIS_BUDGET: u64 = 32 << 20;

/// The exit code of `--exit-code` when the sides look swapped.
const SWAPPED: u8 = 3;

/// One export folder to analyse.
struct Job {
    /// The old side (else the new one).
    old: bool,
    /// The folder given on the command line.
    arg: PathBuf,
    folder: PathBuf,
}

impl Job {
    fn label(&self) -> &'static str {
        if self.old { "old" } else { "new" }
    }
}

/// One export of one side, analysed and reduced.
struct AccountSide {
    account: String,
    root: PathBuf,
    side: Side,
    meta: SideMeta,
}

/// Loads and analyses one export folder. `sets`: the permission sets of its side's organisation
/// part (none without one), which its identity checks need: the export is analysed alone.
fn analyse(
    job: &Job,
    args: &DiffConfig,
    (sets, required): (&[PermissionSetInfo], &[PolicyNamed]),
) -> anyhow::Result<AccountSide> {
    let (label, a) = (job.label(), &args.analysis);
    let export = input::load_export(&job.folder, &a.load)
        .with_context(|| format!("loading the {label} export {}", job.arg.display()))?;
    let exports = std::slice::from_ref(&export);
    let an = analysis::analyze(exports, a.catalog.get(), &a.settings, &a.exclusions)
        .with_context(|| format!("analysing the {label} export {}", job.folder.display()))?;
    if a.load.strict
        && let Some(e) = analysis::strict_error(&an.warnings)
    {
        return Err(anyhow::Error::from(e).context(format!(
            "analysing the {label} export {}",
            job.folder.display()
        )));
    }
    let mut identities = IdentityCollector::new(&an, &args.identities)
        .with_permission_sets(sets)
        .with_required_policies(required)
        .without_as_of_flag();
    identities.add(0, &export);
    let side = Side::from_analysis(&an).with_identities(identities.finish());
    if std::env::var_os("IAM_TIGHTEN_TIMINGS").is_some() {
        let (groups, lists, actions) = side.sizes();
        eprintln!(
            "side {label} {}: {groups} groups, {lists} action lists of {actions} actions",
            export.account_id
        );
    }
    Ok(AccountSide {
        account: export.account_id.clone(),
        root: export.root.clone(),
        meta: SideMeta::new(&job.arg, exports, &an),
        side,
    })
}

/// Every export folder of both sides, the two sides' folders of the same name next to each other
/// (organisation folders usually name them by account id), so that an account's two exports are
/// analysed at about the same time and compared and freed early.
fn jobs(args: &DiffConfig) -> anyhow::Result<Vec<Job>> {
    let mut sides = Vec::new();
    for (old, arg) in [(true, &args.old), (false, &args.new)] {
        let label = if old { "old" } else { "new" };
        let folders = input::find_export_folders(std::slice::from_ref(arg))
            .with_context(|| format!("loading the {label} export {}", arg.display()))?;
        let arg = arg.clone();
        sides.push(folders.into_iter().map(move |folder| Job {
            old,
            arg: arg.clone(),
            folder,
        }));
    }
    let (Some(new), Some(old)) = (sides.pop(), sides.pop()) else {
        return Ok(Vec::new());
    };
    let name = |j: &Job| j.folder.file_name().map(|n| n.to_os_string());
    let mut by_name: BTreeMap<_, Vec<Job>> = BTreeMap::new();
    for j in old.chain(new) {
        by_name.entry(name(&j)).or_default().push(j);
    }
    Ok(by_name.into_values().flatten().collect())
}

/// Sides waiting for the other side of their account, and the exports seen so far.
#[derive(Default)]
struct Pairing {
    waiting: BTreeMap<String, (Option<AccountSide>, Option<AccountSide>)>,
    /// (old side, account) → the export's root and job index.
    seen: BTreeMap<(bool, String), (PathBuf, usize)>,
    metas: (Vec<SideMeta>, Vec<SideMeta>),
}

impl Pairing {
    /// Takes one analysed export (job `i`); compares its account when both sides are there.
    fn accept(
        &mut self,
        i: usize,
        old: bool,
        s: AccountSide,
        run: &mut DiffRun<'_>,
    ) -> Result<(), (usize, anyhow::Error)> {
        let key = (old, s.account.clone());
        if let Some((root, j)) = self.seen.get(&key) {
            // Named as `report` names it: the later folder, and the earlier one.
            let (first, second) = if *root <= s.root {
                (root.clone(), s.root.clone())
            } else {
                (s.root.clone(), root.clone())
            };
            let err = iam_tighten::Error::Input {
                path: second,
                message: format!(
                    "account {} is exported twice: here and in {}; give one export per account",
                    s.account,
                    first.display()
                ),
            };
            return Err((i.max(*j), err.into()));
        }
        self.seen.insert(key.clone(), (s.root.clone(), i));
        let meta = s.meta.clone();
        if old {
            &mut self.metas.0
        } else {
            &mut self.metas.1
        }
        .push(meta);
        let slot = self.waiting.entry(s.account.clone()).or_default();
        if old {
            slot.0 = Some(s);
        } else {
            slot.1 = Some(s);
        }
        if let (Some(_), Some(_)) = slot
            && let Some((account, (Some(o), Some(n)))) = self.waiting.remove_entry(&key.1)
        {
            run.account(&account, &o.side, &n.side)
                .map_err(|e| (i, e.into()))?;
        }
        Ok(())
    }

    /// Compares the accounts exported on one side only.
    fn finish(self, run: &mut DiffRun<'_>) -> anyhow::Result<(Vec<SideMeta>, Vec<SideMeta>)> {
        let empty = Side::default();
        for (account, (o, n)) in &self.waiting {
            let o = o.as_ref().map_or(&empty, |s| &s.side);
            let n = n.as_ref().map_or(&empty, |s| &s.side);
            run.account(account, o, n)?;
        }
        Ok(self.metas)
    }
}

/// Analyses every export (two at a time) and compares each account once both its sides are
/// there. Errors are those of a one-by-one run: the one of the first job that fails.
fn analyse_and_compare(
    args: &DiffConfig,
    orgs: &[Option<Organization>],
    run: &mut DiffRun<'_>,
) -> anyhow::Result<(Vec<SideMeta>, Vec<SideMeta>)> {
    let sets: Vec<Vec<PermissionSetInfo>> = orgs
        .iter()
        .map(|o| {
            o.as_ref()
                .map(analysis::permission_set_references)
                .unwrap_or_default()
        })
        .collect();
    let required: Vec<Vec<PolicyNamed>> = orgs
        .iter()
        .map(|o| identities::required_by_control_policies(o.as_ref()))
        .collect();
    let jobs = jobs(args)?;
    let mut pairing = Pairing::default();
    let mut errors: Vec<(usize, anyhow::Error)> = Vec::new();
    // What an export's analysis holds grows with its authorization details: weigh each job by
    // that file's size, so large accounts are analysed one or two at a time, small ones on
    // every core (docs/performance.md, "diff").
    let weights: Vec<u64> = jobs
        .iter()
        .map(|j| {
            std::fs::metadata(j.folder.join(input::AUTHORIZATION_DETAILS)).map_or(0, |m| m.len())
        })
        .collect();
    iam_tighten::parallel::stream_weighted(
        jobs.len(),
        |i| weights[i],
        ANALYSIS_BUDGET,
        || (),
        |(), i| {
            let side = usize::from(!jobs[i].old);
            analyse(&jobs[i], args, (&sets[side], &required[side]))
        },
        |i, result| {
            let accepted = result
                .map_err(|e| (i, e))
                .and_then(|s| pairing.accept(i, jobs[i].old, s, run));
            match accepted {
                Ok(()) => true,
                Err(e) => {
                    errors.push(e);
                    false
                }
            }
        },
    );
    if let Some((_, e)) = errors.into_iter().min_by_key(|(i, _)| *i) {
        return Err(e);
    }
    pairing.finish(run)
}

fn settings(args: &DiffConfig) -> DiffSettings {
    DiffSettings {
        unused_after_days: args.analysis.settings.unused_after_days,
        config_file: args
            .analysis
            .exclusions
            .path
            .as_ref()
            .map(|p| p.display().to_string()),
        csv: args.csv,
    }
}

pub fn run(args: DiffConfig) -> anyhow::Result<ExitCode> {
    super::report::prepare_out(
        &args.out,
        &[args.old.clone(), args.new.clone()],
        (&diff::TEMP_NAMES, &diff::OUTPUT_NAMES),
    )?;
    let timings = std::env::var_os("IAM_TIGHTEN_TIMINGS").is_some();
    let cat = args.analysis.catalog.get();
    let limits = DiffLimits::default();
    let mut orgs = Vec::new();
    for (label, arg) in [("old", &args.old), ("new", &args.new)] {
        orgs.push(
            input::organization::find(std::slice::from_ref(arg))
                .with_context(|| format!("loading the {label} organisation part"))?,
        );
    }
    let clock = Instant::now();
    let mut run = DiffRun::new(&args.out, cat, args.csv, limits);
    let (old_metas, new_metas) = analyse_and_compare(&args, &orgs, &mut run)?;
    let (org_changes, organization_notes) =
        diff::compare_organizations(orgs[0].as_ref(), orgs[1].as_ref());
    run.organization(orgs[0].as_ref(), orgs[1].as_ref(), &org_changes)?;
    let stages = run.timings;
    let (collected, csv_path) = run.finish_csv()?;
    let compared = clock.elapsed();

    let clock = Instant::now();
    let side = |arg, metas, org: &Option<_>| SideMeta {
        organization: org.as_ref().map(OrganizationMeta::of),
        ..SideMeta::merge(arg, metas)
    };
    let model = DiffModel::build(BuildInput {
        old_meta: side(&args.old, old_metas, &orgs[0]),
        new_meta: side(&args.new, new_metas, &orgs[1]),
        organization_notes,
        collected,
        catalog: CatalogInfo {
            source: cat.source().to_string(),
            version: cat.version().to_string(),
            updated: cat.updated().to_string(),
            actions: cat.len(),
        },
        settings: settings(&args),
        limits,
    });
    let mut written = diff::write_model(&model, &args.out)?;
    written.push(csv_path);
    written.sort();
    if timings {
        eprintln!("timing analyse_compare_csv {} ms", compared.as_millis());
        for (stage, t) in stages {
            eprintln!("timing diff_{stage} {} ms", t.as_millis());
        }
        eprintln!("timing model_outputs {} ms", clock.elapsed().as_millis());
    }
    summary(&model, &written);
    Ok(exit_code(&args, &model))
}

/// The warnings (what moves the counts without being a change), the headline and the files.
fn summary(model: &DiffModel, written: &[PathBuf]) {
    for w in &model.warnings {
        eprintln!("iam-tighten: warning: {}", super::inert(w));
    }
    let h = &model.headline;
    let c = &model.counts;
    // The kinds that only some diffs have, named when they are there.
    let mut rare = String::new();
    for (n, what) in [
        (c.unused_was_unknown, "unused, unknown before"),
        (c.grant_unknown, "not comparable (grant_unknown)"),
    ] {
        if n > 0 {
            rare.push_str(&format!(", {} {what}", num(n)));
        }
    }
    eprintln!(
        "iam-tighten: unused critical/high permissions: {} → {}; {} change(s), {} revoked, {} newly granted, {} newly unused{rare}",
        num(h.unused_critical_high.old),
        num(h.unused_critical_high.new),
        num(h.changes),
        num(c.revoked),
        num(c.newly_granted),
        num(c.newly_unused)
    );
    eprintln!(
        "iam-tighten: identity/credential findings: {} → {}; {} new, {} resolved, {} unknown (not checkable on the new side)",
        num(h.identity_findings.old),
        num(h.identity_findings.new),
        num(c.identity_new),
        num(c.identity_resolved),
        num(c.identity_unknown)
    );
    if model.old.organization.is_some() && model.new.organization.is_some() {
        let n = |kinds: &[diff::ChangeKind]| kinds.iter().map(|k| c.get(*k)).sum::<u64>();
        use diff::ChangeKind as K;
        eprintln!(
            "iam-tighten: organisation: {} permission set(s) added, removed or changed; {} SCP/RCP(s) added, removed or changed; {} account(s) of the organisation changed",
            num(n(&[
                K::PermissionSetAdded,
                K::PermissionSetRemoved,
                K::PermissionSetChanged
            ])),
            num(n(&[
                K::ControlPolicyAdded,
                K::ControlPolicyRemoved,
                K::ControlPolicyChanged
            ])),
            num(c.organization_account_changed)
        );
    }
    if !model.permission_sets.is_empty() {
        let sets = &model.permission_sets;
        let sum = |f: fn(&diff::permission_sets::PermissionSetDiff) -> u64| {
            sets.iter().map(f).sum::<u64>()
        };
        let widened = sets.iter().filter(|s| s.newly_granted_actions > 0).count();
        eprintln!(
            "iam-tighten: IAM Identity Center permission sets, their roles rolled up: {} ({} granting new actions); their roles' unused critical/high permissions: {} → {} (diff-permission-sets.csv)",
            num(sets.len() as u64),
            num(widened as u64),
            num(sum(|s| s.old.unused_critical_high())),
            num(sum(|s| s.new.unused_critical_high()))
        );
    }
    for p in written {
        eprintln!("wrote {}", p.display());
    }
}

fn exit_code(args: &DiffConfig, model: &DiffModel) -> ExitCode {
    if !model.swapped_accounts.is_empty() {
        let compared = model
            .accounts
            .iter()
            .filter(|a| matches!(a.presence, diff::model::Presence::Both))
            .count();
        // Swapping the folders would swap the accounts in order too (review pass 47).
        let remedy = if model.swapped_accounts.len() < compared {
            "exchange those accounts' exports between the two folders and run it again; the other accounts are in order".to_string()
        } else {
            format!(
                "run `iam-tighten diff {} {}`",
                args.new.display(),
                args.old.display()
            )
        };
        eprintln!(
            "iam-tighten: warning: the sides look swapped: the \"old\" export is newer than the \"new\" one for account(s) {}; every change of theirs reads backwards ({remedy}){}",
            model.swapped_accounts.join(", "),
            if args.exit_code {
                " (--exit-code: exit 3)"
            } else {
                ""
            }
        );
        if args.exit_code {
            return ExitCode::from(SWAPPED);
        }
    }
    let mut code = ExitCode::SUCCESS;
    if let Some(level) = args.fail_on_new {
        let n = model.new_risk.at_or_above(level);
        if n > 0 {
            eprintln!(
                "iam-tighten: {} newly granted (to principals or permission sets), newly unused or new identity finding(s) at or above {} (--fail-on-new)",
                num(n),
                level.as_str()
            );
            code = ExitCode::from(1);
        }
    }
    if args.exit_code && KindCounts::changes(&model.counts) > 0 {
        code = ExitCode::from(1);
    }
    code
}
