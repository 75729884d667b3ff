//! `iam-tighten fetch`: flags → [`FetchConfig`], run, print a summary.
//!
//! Exit codes: 0 the export is complete; 1 it was written but some principals (or the
//! credential report) are missing, listed in `manifest.json`; 2 usage, credentials, permission,
//! network or I/O error (after a lost network the export is unfinished and a rerun resumes it).
//! A build without the `fetch` feature has no network code and exits 2.
//! With `--assume-role` (several accounts): 0 every account complete; 1 an account failed or is
//! incomplete (see `OUT/fetch-summary.json`), or (with `--organization`) the organisation part
//! failed or is incomplete; 2 nothing could start, or the network was lost.
//! With `--organization-only`: 0 the organisation part is complete; 1 written, but some of it is
//! missing (listed in `organization/manifest.json`); 2 as above.
//!
//! Everything is printed with `fetch::say`, which ignores a closed stderr, and errors are
//! printed here rather than by `main`: `fetch … 2>&1 | head -3` must neither stop nor crash it.

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

    use iam_tighten::fetch::{self, FetchConfig, say};

    let mut cfg = FetchConfig::new(args.out);
    cfg.profile = args.profile;
    cfg.region = args.region;
    cfg.endpoint_url = args.endpoint_url;
    cfg.concurrency = usize::from(args.concurrency);
    cfg.refresh = args.refresh;
    cfg.groups = !args.no_groups;
    cfg.allow_non_empty = args.allow_non_empty;
    cfg.job_timeout = Duration::from_secs(args.job_timeout);
    cfg.retry_budget = Duration::from_secs(args.retry_budget);
    cfg.adaptive_retry = args.retry_mode == crate::cli::RetryMode::Adaptive;
    cfg.poll_interval = Duration::from_millis(args.poll_interval_ms.max(1));
    cfg.max_poll_interval = cfg.max_poll_interval.max(cfg.poll_interval);
    cfg.backoff.base = Duration::from_millis(args.backoff_ms.max(1));
    cfg.backoff.cap = cfg.backoff.cap.max(cfg.backoff.base);

    if args.organization && args.assume_role.is_none() {
        say(
            "error: --organization fetches every account of the organisation, each through \
             --assume-role ROLE-NAME, and the organisation part beside them\n  to fetch only \
             the organisation part (OU tree, SCPs, RCPs, IAM Identity Center permission sets) \
             with these credentials, give --organization-only",
        );
        return Ok(ExitCode::from(2));
    }
    if args.organization_only {
        return Ok(organization_only(&cfg));
    }
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
        return Ok(multi_account(&multi));
    }

    let summary = match fetch::fetch(&cfg) {
        Ok(summary) => summary,
        Err(e) => return Ok(failed(&e)),
    };
    say(&format!(
        "fetch: wrote {}: account {}, {} principals ({} fetched, {} kept from an earlier run, \
         {} missing{}), created {} (from {:?})",
        summary.out.display(),
        summary.account_id,
        summary.principals,
        summary.fetched,
        summary.skipped,
        summary.missing.len(),
        if summary.removed > 0 {
            format!(", {} stale files removed", summary.removed)
        } else {
            String::new()
        },
        summary
            .created
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        summary.created_from,
    ));
    if summary.missing.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    say("fetch: incomplete export; not fetched (rerun with the same --out to retry them):");
    for (what, why) in &summary.missing {
        say(&format!("  {what}: {why}"));
    }
    Ok(ExitCode::from(1))
}

/// Prints a fetch error (one line, plus an indented hint line where there is one) and gives
/// exit code 2.
#[cfg(feature = "fetch")]
fn failed(e: &iam_tighten::fetch::FetchError) -> ExitCode {
    iam_tighten::fetch::say(&format!("error: {e}"));
    ExitCode::from(2)
}

/// `--organization-only`: exit 0 when the organisation part is complete, 1 when some of it is
/// missing, 2 when it could not be written.
#[cfg(feature = "fetch")]
fn organization_only(cfg: &iam_tighten::fetch::FetchConfig) -> ExitCode {
    use iam_tighten::fetch::{self, say};

    let org = match fetch::fetch_organization(cfg) {
        Ok(org) => org,
        Err(e) => return failed(&e),
    };
    say(&format!(
        "fetch: wrote {}: organisation {} (read in account {}), {} files ({} fetched, {} kept \
         from an earlier run, {} missing{})",
        org.dir.display(),
        org.organization_id,
        org.account_id,
        org.files,
        org.fetched,
        org.kept,
        org.missing.len(),
        if org.removed > 0 {
            format!(", {} stale files removed", org.removed)
        } else {
            String::new()
        },
    ));
    for (what, why) in &org.notes {
        say(&format!("  note: {what}: {why}"));
    }
    if org.missing.is_empty() {
        return ExitCode::SUCCESS;
    }
    say("fetch: incomplete organisation part; not fetched (rerun with the same --out to retry):");
    for (what, why) in &org.missing {
        say(&format!("  {what}: {why}"));
    }
    ExitCode::from(1)
}

/// `--assume-role` with `--accounts`/`--organization`: exit 0 when every account is complete,
/// 1 when one failed or is incomplete, 2 when nothing could start or the network was lost.
#[cfg(feature = "fetch")]
fn multi_account(multi: &iam_tighten::fetch::MultiConfig) -> ExitCode {
    use iam_tighten::fetch::{self, say};

    let summary = match fetch::fetch_accounts(multi) {
        Ok(summary) => summary,
        Err(e) => return failed(&e),
    };
    let incomplete: Vec<_> = summary
        .done
        .iter()
        .filter(|d| !d.missing.is_empty())
        .collect();
    say(&format!(
        "fetch: wrote {}: {} accounts done ({} incomplete), {} failed, {} skipped (not ACTIVE); \
         see {}",
        summary.out.display(),
        summary.done.len(),
        incomplete.len(),
        summary.failed.len(),
        summary.skipped.len(),
        summary.out.join(fetch::SUMMARY_FILE).display(),
    ));
    for d in &incomplete {
        for (what, why) in &d.missing {
            say(&format!("  {}: {what}: {why}", d.account_id));
        }
    }
    for (account, why) in &summary.failed {
        say(&format!("  account {account} FAILED: {why}"));
    }
    match &summary.organization {
        Some(Ok(org)) => {
            for (what, why) in &org.notes {
                say(&format!("  organization: note: {what}: {why}"));
            }
            for (what, why) in &org.missing {
                say(&format!("  organization: {what}: {why}"));
            }
        }
        Some(Err(why)) => say(&format!("  organisation part FAILED: {why}")),
        None => {}
    }
    if summary.complete() {
        ExitCode::SUCCESS
    } else {
        say(
            "fetch: rerun the same command to retry what is missing (finished principals are kept)",
        );
        ExitCode::from(1)
    }
}
