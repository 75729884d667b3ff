//! `iam-tighten fetch`: flags → [`FetchConfig`], run, print a summary.
//!
//! Exit codes: 0 the export is complete; 1 it was written but some principals (or the
//! credential report) are missing, listed in `manifest.json`; 2 usage, credentials, permission or
//! I/O error. A build without the `fetch` feature has no network code and exits 2.
//! With `--assume-role` (several accounts): 0 every account complete; 1 an account failed or is
//! incomplete (see `OUT/fetch-summary.json`); 2 nothing could start (e.g. a bad accounts file).

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

    if let Some(role_name) = args.assume_role {
        let accounts = match args.accounts {
            Some(path) => fetch::AccountSource::File(path),
            None => fetch::AccountSource::Organization,
        };
        let multi = fetch::MultiConfig {
            fetch: cfg,
            role_name,
            accounts,
        };
        return multi_account(&multi);
    }

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

/// `--assume-role` with `--accounts`/`--organization`: exit 0 when every account is complete,
/// 1 when one failed or is incomplete, 2 when nothing could start.
#[cfg(feature = "fetch")]
fn multi_account(multi: &iam_tighten::fetch::MultiConfig) -> anyhow::Result<ExitCode> {
    use iam_tighten::fetch;

    let summary = fetch::fetch_accounts(multi)?;
    let incomplete: Vec<_> = summary
        .done
        .iter()
        .filter(|d| !d.missing.is_empty())
        .collect();
    eprintln!(
        "fetch: wrote {}: {} accounts done ({} incomplete), {} failed; see {}",
        summary.out.display(),
        summary.done.len(),
        incomplete.len(),
        summary.failed.len(),
        summary.out.join(fetch::SUMMARY_FILE).display(),
    );
    for d in &incomplete {
        for (what, why) in &d.missing {
            eprintln!("  {}: {what}: {why}", d.account_id);
        }
    }
    for (account, why) in &summary.failed {
        eprintln!("  account {account} FAILED: {why}");
    }
    if summary.failed.is_empty() && incomplete.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "fetch: rerun the same command to retry what is missing (finished principals are kept)"
        );
        Ok(ExitCode::from(1))
    }
}
