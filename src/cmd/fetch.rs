//! `iam-tighten fetch`: flags → [`FetchConfig`], run, print a summary.
//!
//! Exit codes: 0 the export is complete; 1 it was written but some principals (or the
//! credential report) are missing, listed in `manifest.json`; 2 usage, credentials, permission or
//! I/O error. A build without the `fetch` feature has no network code and exits 2.

use std::process::ExitCode;

use crate::cli::FetchArgs;

#[cfg(not(feature = "fetch"))]
pub fn run(_args: FetchArgs) -> anyhow::Result<ExitCode> {
    eprintln!(
        "error: this build has no network code (built with --no-default-features); \
         use scripts/export-with-aws-cli.sh or a full build (cargo build --features fetch)"
    );
    Ok(ExitCode::from(2))
}

#[cfg(feature = "fetch")]
pub fn run(args: FetchArgs) -> anyhow::Result<ExitCode> {
    use std::time::Duration;

    use iam_tighten::fetch::{self, FetchConfig};

    let mut cfg = FetchConfig::new(args.out);
    cfg.profile = args.profile;
    cfg.region = args.region;
    cfg.endpoint_url = args.endpoint_url;
    cfg.concurrency = usize::from(args.concurrency);
    cfg.refresh = args.refresh;
    cfg.groups = args.groups;
    cfg.job_timeout = Duration::from_secs(args.job_timeout);
    cfg.max_attempts = args.max_attempts;
    cfg.adaptive_retry = args.retry_mode == "adaptive";
    cfg.poll_interval = Duration::from_millis(args.poll_interval_ms.max(1));
    cfg.max_poll_interval = cfg.max_poll_interval.max(cfg.poll_interval);
    cfg.backoff.base = Duration::from_millis(args.backoff_ms.max(1));
    cfg.backoff.cap = cfg.backoff.cap.max(cfg.backoff.base);

    let summary = fetch::fetch(&cfg)?;
    eprintln!(
        "fetch: wrote {}: account {}, {} principals ({} fetched, {} kept from an earlier run, {} missing), \
         created {} (from {:?})",
        summary.out.display(),
        summary.account_id,
        summary.principals,
        summary.fetched,
        summary.skipped,
        summary.missing.len(),
        summary
            .created
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        summary.created_from,
    );
    if summary.missing.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("fetch: incomplete export; not fetched (rerun with the same --out to retry them):");
    for (what, why) in &summary.missing {
        eprintln!("  {what}: {why}");
    }
    Ok(ExitCode::from(1))
}
