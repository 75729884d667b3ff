//! `iam-tighten diff OLD NEW`: analyse every export of both sides the same way, one account at a
//! time (two at once), keep each as a compact [`Side`], compare account by account, write
//! diff.csv, diff.json and diff.html (permissions, and identity/credential findings of both
//! sides). Memory follows the largest account, not the organisation: an account's export and
//! analysis are freed as soon as its side is built. Exit 1 on `--exit-code` with changes or
//! `--fail-on-new` crossed; 3 on `--exit-code` when the sides look swapped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use iam_tighten::analysis;
use iam_tighten::analysis::identities::{self, identity_findings};
use iam_tighten::diff::model::{BuildInput, DiffSettings};
use iam_tighten::diff::{self, DiffLimits, DiffModel, DiffRun, KindCounts, Side, SideMeta};
use iam_tighten::input;
use iam_tighten::report::model::CatalogInfo;
use iam_tighten::report::page::thousands;

use super::config::DiffConfig;

/// The exit code of `--exit-code` when the sides look swapped.
const SWAPPED: u8 = 3;

/// One export of one side, analysed and reduced.
struct AccountSide {
    account: String,
    root: PathBuf,
    side: Side,
    meta: SideMeta,
}

/// Loads and analyses one export folder of the `label` side (`path` on the command line).
fn analyse(
    label: &str,
    path: &Path,
    folder: &Path,
    args: &DiffConfig,
) -> anyhow::Result<AccountSide> {
    let a = &args.analysis;
    let export = input::load_export(folder, &a.load)
        .with_context(|| format!("loading the {label} export {}", path.display()))?;
    let exports = std::slice::from_ref(&export);
    let an = analysis::analyze(exports, a.catalog.get(), &a.settings, &a.exclusions)
        .with_context(|| format!("analysing the {label} export {}", folder.display()))?;
    let side =
        Side::from_analysis(&an).with_identities(identity_findings(exports, &an, &args.identities));
    Ok(AccountSide {
        account: export.account_id.clone(),
        root: export.root.clone(),
        meta: SideMeta::new(path, exports, &an),
        side,
    })
}

/// The sides of every export folder of both sides, analysed two at a time: (old, new), each
/// sorted by account. Errors come in folder order, old side first.
fn analyse_all(args: &DiffConfig) -> anyhow::Result<(Vec<AccountSide>, Vec<AccountSide>)> {
    let mut jobs: Vec<(&str, &Path, PathBuf)> = Vec::new();
    for (label, path) in [("old", &args.old), ("new", &args.new)] {
        let folders = input::find_export_folders(std::slice::from_ref(path))
            .with_context(|| format!("loading the {label} export {}", path.display()))?;
        jobs.extend(folders.into_iter().map(|f| (label, path.as_path(), f)));
    }
    let done = iam_tighten::parallel::map_indexed(
        jobs.len(),
        || (),
        |(), i| {
            let (label, path, folder) = &jobs[i];
            analyse(label, path, folder, args)
        },
    );
    let (mut old, mut new) = (Vec::new(), Vec::new());
    for ((label, ..), side) in jobs.iter().zip(done) {
        let side = side?;
        if *label == "old" { &mut old } else { &mut new }.push(side);
    }
    for side in [&mut old, &mut new] {
        side.sort_by(|a, b| (&a.account, &a.root).cmp(&(&b.account, &b.root)));
        unique_accounts(side)?;
        rank_identities(side);
    }
    Ok((old, new))
}

/// Two exports of one account on one side are an error (as for `report`).
fn unique_accounts(sides: &[AccountSide]) -> anyhow::Result<()> {
    for pair in sides.windows(2) {
        if let [a, b] = pair
            && a.account == b.account
        {
            return Err(iam_tighten::Error::Input {
                path: b.root.clone(),
                message: format!(
                    "account {} is exported twice: here and in {}; give one export per account",
                    b.account,
                    a.root.display()
                ),
            }
            .into());
        }
    }
    Ok(())
}

/// Ranks a side's identity findings together, as one analysis of all its exports would.
fn rank_identities(sides: &mut [AccountSide]) {
    let mut all: Vec<_> = sides
        .iter_mut()
        .flat_map(|s| std::mem::take(&mut s.side.identities))
        .collect();
    identities::rank(&mut all);
    let index: BTreeMap<String, usize> = sides
        .iter()
        .enumerate()
        .map(|(i, s)| (s.account.clone(), i))
        .collect();
    for f in all {
        if let Some(i) = index.get(&f.account_id) {
            sides[*i].side.identities.push(f);
        }
    }
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
        &diff::TEMP_NAMES,
    )?;
    let timings = std::env::var_os("IAM_TIGHTEN_TIMINGS").is_some();
    let cat = args.analysis.catalog.get();
    let clock = Instant::now();
    let (old, new) = analyse_all(&args)?;
    let analysed = clock.elapsed();

    // Accounts in order; each compared with the other side's export of it, or with nothing.
    let clock = Instant::now();
    let limits = DiffLimits::default();
    let mut run = DiffRun::new(&args.out, cat, args.csv, limits);
    let mut accounts: BTreeMap<&str, (Option<&AccountSide>, Option<&AccountSide>)> =
        BTreeMap::new();
    for s in &old {
        accounts.entry(&s.account).or_default().0 = Some(s);
    }
    for s in &new {
        accounts.entry(&s.account).or_default().1 = Some(s);
    }
    let empty = Side::default();
    for (o, n) in accounts.values() {
        let (o, n) = (o.map_or(&empty, |s| &s.side), n.map_or(&empty, |s| &s.side));
        run.account(o, n)?;
    }
    let (collected, csv_path) = run.finish_csv()?;
    let compared = clock.elapsed();

    let clock = Instant::now();
    let meta = |sides: Vec<AccountSide>, path: &Path| {
        SideMeta::merge(path, sides.into_iter().map(|s| s.meta).collect())
    };
    let model = DiffModel::build(BuildInput {
        old_meta: meta(old, &args.old),
        new_meta: meta(new, &args.new),
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
        eprintln!("timing load_analyse {} ms", analysed.as_millis());
        eprintln!("timing compare_csv {} ms", compared.as_millis());
        eprintln!("timing model_outputs {} ms", clock.elapsed().as_millis());
    }
    summary(&model, &written);
    Ok(exit_code(&args, &model))
}

/// `12345` → `12,345`.
fn num(n: u64) -> String {
    thousands(&n.to_string())
}

fn summary(model: &DiffModel, written: &[PathBuf]) {
    let h = &model.headline;
    let c = &model.counts;
    eprintln!(
        "iam-tighten: unused critical/high permissions: {} → {}; {} change(s), {} revoked, {} newly granted, {} newly unused",
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
    for p in written {
        eprintln!("wrote {}", p.display());
    }
}

fn exit_code(args: &DiffConfig, model: &DiffModel) -> ExitCode {
    if !model.swapped_accounts.is_empty() {
        eprintln!(
            "iam-tighten: warning: the sides look swapped: the \"old\" export is newer than the \"new\" one for account(s) {}; every change reads backwards (run `iam-tighten diff {} {}`){}",
            model.swapped_accounts.join(", "),
            args.new.display(),
            args.old.display(),
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
                "iam-tighten: {} newly granted, newly unused or new identity finding(s) at or above {} (--fail-on-new)",
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
