//! `iam-tighten diff OLD NEW`: analyse both exports the same way, compare, write diff.csv,
//! diff.json and diff.html (permissions, and identity/credential findings of both sides). Exit 1 on `--exit-code` with changes or `--fail-on-new` crossed.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use iam_tighten::analysis::identities::identity_findings;
use iam_tighten::analysis::{self, Analysis};
use iam_tighten::diff::model::{BuildInput, DiffSettings};
use iam_tighten::diff::{self, DiffLimits, DiffModel, KindCounts, Side, SideMeta};
use iam_tighten::input;
use iam_tighten::model::Export;
use iam_tighten::report::model::CatalogInfo;

use super::config::{AnalysisConfig, DiffConfig};

fn load<'c>(
    label: &str,
    path: &Path,
    a: &'c AnalysisConfig,
) -> anyhow::Result<(Vec<Export>, Analysis<'c>)> {
    let exports = input::load_exports(&[path.to_path_buf()], &a.load)
        .with_context(|| format!("loading the {label} export {}", path.display()))?;
    let an = analysis::analyze(&exports, a.catalog.get(), &a.settings, &a.exclusions)
        .with_context(|| format!("analysing the {label} export {}", path.display()))?;
    Ok((exports, an))
}

pub fn run(args: DiffConfig) -> anyhow::Result<ExitCode> {
    super::report::prepare_out(
        &args.out,
        &[args.old.clone(), args.new.clone()],
        &diff::OUTPUT_NAMES,
    )?;
    let cat = args.analysis.catalog.get();
    let (old_exports, old_an) = load("old", &args.old, &args.analysis)?;
    let (new_exports, new_an) = load("new", &args.new, &args.analysis)?;
    let old = Side::from_analysis(&old_an).with_identities(identity_findings(
        &old_exports,
        &old_an,
        &args.identities,
    ));
    let new = Side::from_analysis(&new_an).with_identities(identity_findings(
        &new_exports,
        &new_an,
        &args.identities,
    ));
    let changes = diff::compare(&old, &new);

    let model = DiffModel::build(BuildInput {
        old_meta: SideMeta::new(&args.old, &old_exports, &old_an),
        new_meta: SideMeta::new(&args.new, &new_exports, &new_an),
        old: &old,
        new: &new,
        changes: &changes,
        catalog: CatalogInfo {
            source: cat.source().to_string(),
            version: cat.version().to_string(),
            updated: cat.updated().to_string(),
            actions: cat.len(),
        },
        settings: DiffSettings {
            unused_after_days: args.analysis.settings.unused_after_days,
            config_file: args
                .analysis
                .exclusions
                .path
                .as_ref()
                .map(|p| p.display().to_string()),
        },
        limits: DiffLimits::default(),
    });
    let written = diff::write_diff(&model, &changes, &args.out)?;

    let h = &model.headline;
    eprintln!(
        "iam-tighten: unused critical/high permissions: {} → {}; {} change(s), {} revoked, {} newly granted, {} newly unused",
        h.unused_critical_high.old,
        h.unused_critical_high.new,
        h.changes,
        model.counts.revoked,
        model.counts.newly_granted,
        model.counts.newly_unused
    );
    eprintln!(
        "iam-tighten: identity/credential findings: {} → {}; {} new, {} resolved, {} unknown (not checkable on the new side)",
        h.identity_findings.old,
        h.identity_findings.new,
        model.counts.identity_new,
        model.counts.identity_resolved,
        model.counts.identity_unknown
    );
    for p in &written {
        eprintln!("wrote {}", p.display());
    }

    let mut code = ExitCode::SUCCESS;
    if let Some(level) = args.fail_on_new {
        let n = model.new_risk.at_or_above(level);
        if n > 0 {
            eprintln!(
                "iam-tighten: {n} newly granted, newly unused or new identity finding(s) at or above {} (--fail-on-new)",
                level.as_str()
            );
            code = ExitCode::from(1);
        }
    }
    if args.exit_code && KindCounts::changes(&model.counts) > 0 {
        code = ExitCode::from(1);
    }
    Ok(code)
}
