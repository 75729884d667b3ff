//! `iam-tighten report`: load exports, analyse, write every requested format.

use std::process::ExitCode;

use iam_tighten::analysis::{self, identities::IdentityCollector};
use iam_tighten::input;
use iam_tighten::model::grouped;
use iam_tighten::report::{self, Limits, ReportModel};

use super::config::ReportConfig;

/// Refuses a bad `--out` before any work, and removes a killed run's temporary files there.
pub fn prepare_out(
    out: &std::path::Path,
    inputs: &[std::path::PathBuf],
    names: (&[&str], &[&str]),
) -> anyhow::Result<()> {
    for stale in iam_tighten::files::prepare_out_dir(out, inputs, names)? {
        eprintln!(
            "iam-tighten: removed {}, left by an interrupted run",
            stale.display()
        );
    }
    Ok(())
}

/// Bytes of last-accessed report files that `report` keeps from loading to the analysis instead
/// of reading them twice (~130 MB parsed): ~20 accounts of 1,000 roles of the synthetic
/// organisations, all of a small organisation, the first exports' of a larger one
/// (docs/performance.md, "Issue 18, twentieth pass").
const KEEP_LAST_ACCESSED_BYTES: u64 = 256 << 20;

/// Bytes of `authorization-details.json` files whose exports keep their principals and policies
/// from loading to planning; the others' are dropped once the analysis has collected them and
/// read again when planning reaches them (at 1,000,000 roles, held, they were ~2.6 GB of the
/// analysis stages and of planning's start). ~170 accounts of 1,000 roles of the synthetic
/// organisations: an organisation of 100,000 roles is read once (docs/performance.md, "Issue
/// 18, twenty-fifth pass").
const KEEP_DETAILS_BYTES: u64 = 512 << 20;

/// [`KEEP_DETAILS_BYTES`], or the bytes `IAM_TIGHTEN_KEEP_DETAILS_BYTES` gives (0: every export is
/// read again; for a machine short of memory, and for the tests that compare both ways).
fn keep_details_bytes() -> anyhow::Result<u64> {
    match std::env::var("IAM_TIGHTEN_KEEP_DETAILS_BYTES") {
        Err(std::env::VarError::NotPresent) => Ok(KEEP_DETAILS_BYTES),
        Ok(v) => v.trim().parse().map_err(|_| {
            anyhow::anyhow!("IAM_TIGHTEN_KEEP_DETAILS_BYTES={v:?}: expected a number of bytes")
        }),
        Err(e) => Err(anyhow::anyhow!("IAM_TIGHTEN_KEEP_DETAILS_BYTES: {e}")),
    }
}

pub fn run(args: ReportConfig) -> anyhow::Result<ExitCode> {
    let keep_details = keep_details_bytes()?;
    let names = report::output_names(&args.formats);
    prepare_out(&args.out, &args.exports, (&report::OUTPUT_NAMES, &names))?;
    let a = &args.analysis;
    let timings = std::env::var_os("IAM_TIGHTEN_TIMINGS").is_some();
    let line = super::progress::Stages::new("report");
    let clock = std::time::Instant::now();
    let (mut exports, organization) = load(&args, &line, keep_details)?;
    let load = clock.elapsed();
    let read_again = exports
        .iter()
        .filter(|e| e.details == iam_tighten::model::Details::DropWhenCollected)
        .count();
    line.stage("analysing");
    // Only the analysis reads the last-accessed data, and it keeps what it needs: each export's
    // is freed as soon as it is collected, before the verdict join allocates (at 100,000 roles
    // it was 1.5 GB of the heap's peak).
    let analysis = analysis::analyze_organization_freeing(
        &mut exports,
        organization.as_ref(),
        a.catalog.get(),
        &a.settings,
        &a.exclusions,
    )?;
    if a.load.strict
        && let Some(e) = analysis::strict_error(&analysis.warnings)
    {
        return Err(e.into());
    }
    let mut stages: Vec<(&'static str, std::time::Duration)> = Vec::new();
    let mut analysis = analysis;
    let limits = Limits::default();
    let clock = std::time::Instant::now();
    let services = services_first(&mut analysis, &args, &limits)?;
    stages.push(("services_csv", clock.elapsed()));
    release(&mut stages, "release_after_analysis");
    line.stage("planning recommendations");
    let clock = std::time::Instant::now();
    // Everything after planning works from the analysis and the plans: the parsed input (the
    // largest structure for big organisations) is freed export by export as the plans are made
    // (and memory given back, `heap after_planning`). Planning
    // reads again the principals and policies the analysis dropped, a batch of exports at a
    // time: the identity findings are found there too, each export's while it holds them.
    let required = analysis::identities::required_by_control_policies(organization.as_ref());
    let mut identities =
        IdentityCollector::new(&analysis, &args.identities).with_required_policies(&required);
    let plans = iam_tighten::recommend::plan_all_organization_slim(
        exports,
        organization.as_ref(),
        &analysis,
        args.folders,
        &mut |i, export| identities.add(i, export),
    )?;
    let identities = identities.finish();
    stages.push(("recommendations_plan", clock.elapsed()));
    release(&mut stages, "release_before_decisions");
    let clock = std::time::Instant::now();
    // From here on only the folders read plans: the others are freed as they are summarised and
    // their decisions made.
    let (decisions, planned) =
        iam_tighten::decisions::decide_releasing(&analysis, plans, &identities);
    stages.push(("decisions", clock.elapsed()));
    release(&mut stages, "release_after_decisions");
    let recs = &planned.summary;
    let clock = std::time::Instant::now();
    let model = ReportModel::build(
        &analysis,
        identities,
        Some(recs),
        &decisions,
        &report::model::RunInfo {
            key_max_age_days: Some(args.identities.key_max_age_days),
            recommendation_folders: args.folders,
            command_line: report::model::RunInfo::command_line(std::env::args()),
        },
        limits,
    );
    stages.push(("model", clock.elapsed()));

    release(&mut stages, "release_before_outputs");
    line.stage("writing the outputs");
    let formats = &args.formats;
    // The recommendation folders and the report files are independent: written at the same time.
    let clock = std::time::Instant::now();
    let (written, render_stages, recs_written) = std::thread::scope(|s| {
        let recs_job = s.spawn(|| {
            let clock = std::time::Instant::now();
            planned
                .write(&analysis, &args.out)
                .map(|()| clock.elapsed())
        });
        let report = report::write_report_timed(&analysis, &model, &args.out, formats, services);
        let recs = recs_job
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        report.map(|(w, t)| (w, t, recs))
    })?;
    let recs_written = recs_written?;
    // What the writers left held (`heap after_outputs`): caches they filled, such as the action
    // lists' texts.
    iam_tighten::memory::release("after_outputs");
    line.finish();
    if timings {
        let outputs = clock.elapsed();
        eprintln!("exports_read_again {read_again}");
        print_timings(
            load,
            &analysis,
            &stages,
            outputs,
            recs_written,
            &render_stages,
        );
    }
    print_summary(&analysis, recs, &decisions, &model, &written, &args.out);
    note_earlier_outputs(&args.out, &names);
    Ok(fail_on(args.fail_on, &analysis, &model))
}

/// Outputs of an earlier run that this one's formats leave out (`names` are this run's) do not
/// match this report, which points readers to them: said, not removed (they are the reader's to
/// keep).
fn note_earlier_outputs(out: &std::path::Path, names: &[&str]) {
    for name in report::OUTPUT_NAMES.iter().filter(|n| !names.contains(n)) {
        let path = out.join(name);
        if std::fs::symlink_metadata(&path).is_ok() {
            eprintln!(
                "iam-tighten: {} was not written by this run: its --format (or no \
                 --parquet-dataset) leaves it out, so it does not match this report",
                path.display()
            );
        }
    }
}

/// Loads the exports (`report`'s options: last-accessed reports and principals kept within
/// their budgets, `keep_details` bytes of the latter, read again past them) and the
/// organisation part.
fn load(
    args: &ReportConfig,
    line: &super::progress::Stages,
    keep_details: u64,
) -> anyhow::Result<(
    Vec<iam_tighten::model::Export>,
    Option<iam_tighten::model::Organization>,
)> {
    let progress = std::sync::Arc::new(input::LoadProgress::default());
    // The last-accessed reports are read again one export at a time by the analysis, which
    // frees each export's once collected: an organisation's are never all held at once. Those
    // of the exports that fit in `KEEP_LAST_ACCESSED_BYTES` are kept instead of read twice.
    let load_opts = input::LoadOptions {
        progress: Some(progress.clone()),
        defer_last_accessed: true,
        keep_last_accessed: Some(std::sync::Arc::new(input::KeepBudget::new(
            KEEP_LAST_ACCESSED_BYTES,
        ))),
        keep_details: Some(std::sync::Arc::new(input::KeepBudget::new(keep_details))),
        ..args.analysis.load.clone()
    };
    let exports = line.loading(&progress, || input::load_exports(&args.exports, &load_opts))?;
    // The exports hold their documents and are freed after planning: so are the documents.
    load_opts.documents.forget();
    let organization = input::organization::find(&args.exports)?;
    Ok((exports, organization))
}

/// services.csv is the only output that reads every principal's last-accessed facts per
/// service: written (staged, put in place with the other outputs) right after the analysis,
/// then only the facts the report's principal sections show are kept (~0.5 GB less from there
/// to the last writer at 1,000,000 roles: docs/performance.md, "twenty-ninth pass").
fn services_first(
    analysis: &mut analysis::Analysis<'_>,
    args: &ReportConfig,
    limits: &Limits,
) -> anyhow::Result<Option<iam_tighten::files::Staged>> {
    let services = args
        .formats
        .contains(&report::Format::Csv)
        .then(|| report::stage_services(analysis, &args.out))
        .transpose()?;
    let shown = report::model::detail_principals(analysis, limits.principal_sections);
    analysis.keep_service_facts_of(&shown);
    Ok(services)
}

/// Gives freed memory back to the system between stages (`iam_tighten::memory`, which the
/// binary's `allocator` sets up for `report`), timed as `stage`.
fn release(stages: &mut Vec<(&'static str, std::time::Duration)>, stage: &'static str) {
    let clock = std::time::Instant::now();
    iam_tighten::memory::release(stage.trim_start_matches("release_"));
    stages.push((stage, clock.elapsed()));
}

/// `--fail-on`: exit code 1 when an unused permission or an identity finding is at or above the
/// level.
fn fail_on(
    level: Option<iam_tighten::analysis::Sensitivity>,
    analysis: &analysis::Analysis<'_>,
    model: &ReportModel<'_>,
) -> ExitCode {
    let Some(level) = level else {
        return ExitCode::SUCCESS;
    };
    let n = analysis.unused_by_sensitivity.at_or_above(level);
    let m = model.identities.count_at_or_above(level);
    if n + m as u64 > 0 {
        eprintln!(
            "iam-tighten: {} unused permission(s) and {} identity finding(s) at or above {} (--fail-on)",
            grouped(n),
            grouped(m as u64),
            level.as_str()
        );
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// `IAM_TIGHTEN_TIMINGS`: one `timing <stage> <ms>` line per stage, then one
/// `heap <stage> <MiB>` line per point where freed memory was given back (what the heap held
/// just before: live blocks, and those mapped on their own).
fn print_timings(
    load: std::time::Duration,
    analysis: &analysis::Analysis<'_>,
    stages: &[(&'static str, std::time::Duration)],
    outputs: std::time::Duration,
    recs_written: std::time::Duration,
    render_stages: &[(&'static str, std::time::Duration)],
) {
    eprintln!("timing load {} ms", load.as_millis());
    for (stage, t) in analysis.timings.iter().chain(stages) {
        eprintln!("timing {stage} {} ms", t.as_millis());
    }
    eprintln!("timing outputs {} ms", outputs.as_millis());
    eprintln!(
        "timing recommendations_write {} ms",
        recs_written.as_millis()
    );
    for (stage, t) in render_stages {
        eprintln!("timing {stage} {} ms", t.as_millis());
    }
    for (stage, bytes) in iam_tighten::memory::heap_in_use() {
        eprintln!("heap {stage} {} MiB", bytes >> 20);
    }
}

/// The summary on stderr: folders, counts, decisions, warnings, files written, identities.
fn print_summary(
    analysis: &analysis::Analysis<'_>,
    recs: &iam_tighten::recommend::RecommendationSummary,
    decisions: &iam_tighten::decisions::Decisions,
    model: &ReportModel,
    written: &[std::path::PathBuf],
    out: &std::path::Path,
) {
    let n = recs.principals.iter().filter(|r| r.path.is_some()).count();
    eprintln!(
        "wrote {} ({} principals)",
        out.join(iam_tighten::recommend::DIR).display(),
        grouped(n as u64)
    );
    if recs.folders_omitted > 0 {
        eprintln!(
            "iam-tighten: {} more principals have a recommendation (in summary.json and the report) without a folder: only the {} with the highest score get one; use --recommendations all (or a larger number) for every folder",
            grouped(recs.folders_omitted as u64),
            grouped(recs.folders_written as u64)
        );
    }

    let t = &analysis.totals;
    let s = &analysis.unused_by_sensitivity;
    eprintln!(
        "iam-tighten: {} principals in {} account(s): {} granted, {} used, {} unused, {} unknown, {} excluded",
        grouped(analysis.principals.len() as u64),
        grouped(analysis.exports.len() as u64),
        grouped(t.granted),
        grouped(t.used),
        grouped(t.unused),
        grouped(t.unknown),
        grouped(t.excluded)
    );
    eprintln!(
        "iam-tighten: of these unused, removable by sensitivity (see the report's Summary): critical {}, high {}, medium {}, low {}",
        grouped(s.critical),
        grouped(s.high),
        grouped(s.medium),
        grouped(s.low)
    );
    let to_make = decisions.to_make().count();
    eprintln!(
        "iam-tighten: {} decision(s) to make and {} intentional access to confirm (decisions.csv)",
        grouped(to_make as u64),
        grouped((decisions.list.len() - to_make) as u64)
    );
    if !analysis.warnings.is_empty() {
        eprintln!(
            "iam-tighten: {} warning(s); see the report's Warnings section",
            grouped(analysis.warnings.len() as u64)
        );
    }
    for p in written {
        eprintln!("wrote {}", p.display());
    }
    let ids = &model.identities;
    if !ids.findings.is_empty() || !ids.checks_not_possible.is_empty() {
        eprintln!(
            "iam-tighten: {} identity/credential finding(s); {} check(s) not possible",
            grouped(ids.findings.len() as u64),
            grouped(ids.checks_not_possible.len() as u64)
        );
    }
}
