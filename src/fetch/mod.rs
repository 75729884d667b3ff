//! `iam-tighten fetch`: dump one AWS account into an export folder (`docs/export-format.md`)
//! with the official AWS SDK for Rust. Built only with the `fetch` feature; `report` and `diff`
//! never import this module.
//!
//! Order of work (see `docs/fetch.md`):
//! 0. `--out` must be new, empty, or an export of this tool (`store::check_out`), checked before
//!    any AWS call; the credentials are loaded (`--profile` wins over the environment), then
//!    `sts:GetCallerIdentity` gives the account and partition, printed with where the
//!    credentials came from. `manifest.json` is written with `"finished": false`.
//! 1. `authorization-details.json`: every GAAD page, merged and printed as the AWS CLI v2 does.
//!    Reused when it exists (resume) unless `--refresh`, so one export is one snapshot; a new one
//!    replaces every data file of the old snapshot.
//! 2. `credential-report.csv` of an earlier run is removed: it is fetched again in step 5.
//! 3. Files kept from an earlier run are checked (a finished job, of a principal in the
//!    snapshot); the others are removed and fetched again.
//! 4. One ACTION_LEVEL last-accessed job per role, user and group (unless `--no-groups`), at most
//!    `--concurrency` at once: generate, poll with growing pauses until not `IN_PROGRESS`, read
//!    every page, write the merged file atomically. A FAILED job is generated again; after the
//!    last attempt the principal is recorded as missing. Throttling and lost connections are
//!    retried within `--retry-budget` per principal (`retry.rs`); a connection that stays lost
//!    stops the fetch (exit 2) and leaves the export unfinished and resumable.
//! 5. `credential-report.csv`: generate until `COMPLETE`, get, the decoded bytes as-is. Fetched
//!    in every run, after the jobs, so that its dates reach the newest job (the as-of time).
//! 6. `manifest.json` again, last: `"finished": true`, SHA-256 of every file, `missing`, the
//!    runs (start and end of the first run and of each resume), `created` from the data and the
//!    credential report's `GeneratedTime`.
//!
//! With `--organization` (and `--organization-only`) the organisation part is written too:
//! `organization/`.
//!
//! Credentials are never written: the export holds only what IAM returned about the account.

mod accounts;
mod cli_json;
mod client;
mod error;
mod organization;
mod progress;
mod retry;
mod store;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_iam::operation::get_service_last_accessed_details::GetServiceLastAccessedDetailsOutput;
use aws_sdk_iam::types::{AccessAdvisorUsageGranularityType, JobStatusType, ReportStateType};
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

pub use accounts::{
    AccountSource, AccountsSummary, MultiConfig, fetch_accounts, read_accounts_file,
};
pub use error::{FetchError, Result};
pub use organization::{OrgSummary, fetch_organization};
pub use progress::say;
pub use retry::Backoff;
pub use store::{CreatedFrom, Kind, SUMMARY_FILE};

use crate::model::Timestamp;
use client::{Clients, Identity, IdentityError};
use progress::Console;
use retry::{CallError, Retrier, Severity};
use store::{Layout, OutFolder, Run};

/// IAM returns at most this many items per page.
const MAX_ITEMS: i32 = 1000;
/// A job that returns more pages than this is treated as broken (the marker never ends).
const MAX_PAGES: usize = 10_000;
/// `GetCallerIdentity` at the start may retry a failing connection for at most this long: an
/// endpoint that cannot be reached at all is a setup problem, reported quickly.
const STARTUP_BUDGET: Duration = Duration::from_secs(10);

/// A validated fetch configuration (built from the flags by `cmd/fetch.rs`).
#[derive(Debug, Clone)]
pub struct FetchConfig {
    pub out: PathBuf,
    pub profile: Option<String>,
    pub region: Option<String>,
    /// Send every AWS call here instead of AWS (a testing aid: the moto emulator).
    pub endpoint_url: Option<String>,
    /// Last-accessed jobs in flight at once.
    pub concurrency: usize,
    /// Fetch everything again, even files that exist, and remove what the account no longer has.
    pub refresh: bool,
    /// Also fetch `last-accessed/groups/` (default; `--no-groups` turns it off).
    pub groups: bool,
    /// Accept a non-empty `--out` that is not an export of this tool (its files are left alone).
    pub allow_non_empty: bool,
    /// Give up on a job still `IN_PROGRESS` after this long.
    pub job_timeout: Duration,
    /// First pause between polls; it grows by half each poll up to `max_poll_interval`.
    pub poll_interval: Duration,
    pub max_poll_interval: Duration,
    /// Jobs per principal: a FAILED job is generated again until this many have failed.
    pub job_attempts: u32,
    /// The SDK's adaptive retry mode (client-side rate limiting after throttling); else standard.
    /// Either way the SDK sends one request per call: retries are ours.
    pub adaptive_retry: bool,
    /// The shape of our backoff (throttling, 5xx, lost connections).
    pub backoff: Backoff,
    /// Total time one principal (or one account-wide step) may spend on failed requests and
    /// the pauses between them (`--retry-budget`).
    pub retry_budget: Duration,
    /// Without a terminal, print a progress line every this many principals.
    pub progress_every: usize,
}

impl FetchConfig {
    /// Defaults for `out`; every field can be changed afterwards.
    pub fn new(out: PathBuf) -> FetchConfig {
        FetchConfig {
            out,
            profile: None,
            region: None,
            endpoint_url: None,
            concurrency: 4,
            refresh: false,
            groups: true,
            allow_non_empty: false,
            job_timeout: Duration::from_secs(300),
            poll_interval: Duration::from_secs(2),
            max_poll_interval: Duration::from_secs(15),
            job_attempts: 3,
            adaptive_retry: true,
            backoff: Backoff {
                base: Duration::from_millis(500),
                cap: Duration::from_secs(20),
            },
            retry_budget: Duration::from_secs(300),
            progress_every: 25,
        }
    }
}

/// What a fetch did.
#[derive(Debug, Clone)]
pub struct FetchSummary {
    pub out: PathBuf,
    pub account_id: String,
    pub partition: String,
    /// The caller, from `sts:GetCallerIdentity` (printed, never written to the export).
    pub caller_arn: String,
    pub principals: usize,
    pub fetched: usize,
    /// Kept from an earlier run (resume): their file existed and is a finished job.
    pub skipped: usize,
    /// Files removed: an earlier snapshot's (`--refresh`), unusable ones, or of principals not
    /// in `authorization-details.json`.
    pub removed: usize,
    /// This run continued an earlier one (the manifest lists every run).
    pub resumed: bool,
    pub authorization_details_reused: bool,
    /// `role/Name` (or `credential-report.csv`) → why it is not in the export.
    pub missing: BTreeMap<String, String>,
    pub created: Timestamp,
    pub created_from: CreatedFrom,
}

/// Fetches one account into `cfg.out`. Blocks; runs its own single-threaded tokio runtime.
pub fn fetch(cfg: &FetchConfig) -> Result<FetchSummary> {
    // Before any AWS call: --out must be a folder we may write into.
    let out = store::check_out(&cfg.out, cfg.allow_non_empty)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| FetchError::Setup(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let console = Console::default();
        let base = client::base_config(cfg).await?;
        let clients = Clients::new(&base.sdk);
        let who = caller_identity(cfg, &clients, &base.endpoint, &console).await?;
        say(&format!(
            "fetch: account {} ({}) as {}, credentials from {}, into {}",
            who.account_id,
            who.partition,
            who.arn,
            base.credentials_from,
            cfg.out.display()
        ));
        let ctx = Ctx {
            endpoint: base.endpoint,
            console,
        };
        run(cfg, &clients, &who, out, &ctx).await
    })
}

/// Where requests go (for messages) and where notes are printed.
#[derive(Clone)]
struct Ctx {
    endpoint: String,
    console: Console,
}

/// `sts:GetCallerIdentity` with the base credentials, with a short retry budget.
async fn caller_identity(
    cfg: &FetchConfig,
    clients: &Clients,
    endpoint: &str,
    console: &Console,
) -> Result<Identity> {
    let mut retrier = Retrier::new(
        "caller identity",
        cfg.backoff,
        cfg.retry_budget.min(STARTUP_BUDGET),
        console,
    );
    client::identity(&clients.sts, &mut retrier)
        .await
        .map_err(|e| match e {
            IdentityError::Call(e) => fatal(&e, endpoint, None),
            IdentityError::Invalid(message) => FetchError::Setup(message),
        })
}

/// One principal to fetch last-accessed data for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PrincipalRef {
    pub kind: Kind,
    pub name: String,
    pub arn: String,
}

impl PrincipalRef {
    /// `role/Name`: the manifest's `missing` key.
    pub fn key(&self) -> String {
        format!("{}/{}", self.kind.as_str(), self.name)
    }
}

/// Fetches the account of `clients` (whose identity is `who`) into `cfg.out`, which
/// `store::check_out` found to be `out`. The manifest says `"finished": false` from the start
/// until the end; a run that stops records why.
async fn run(
    cfg: &FetchConfig,
    clients: &Clients,
    who: &Identity,
    out: OutFolder,
    ctx: &Ctx,
) -> Result<FetchSummary> {
    let layout = Layout::new(&cfg.out);
    let previous = match out {
        OutFolder::Ours(m) => Some(*m),
        OutFolder::New | OutFolder::Beside => None,
    };
    if let Some(m) = &previous
        && m.account_id != who.account_id
    {
        return Err(FetchError::out(
            &cfg.out,
            format!(
                "the export of account {} ({}), but these credentials are account {}: give \
                 another --out (fetch never replaces one account's export with another's)",
                m.account_id,
                crate::input::MANIFEST,
                who.account_id
            ),
        ));
    }
    layout.prepare()?;
    let resumed = previous.is_some() && !cfg.refresh;
    // The runs that made the export's snapshot. A `--refresh` keeps them until its new
    // authorization details replace the snapshot ([`collect`]): one stopped before that leaves
    // the earlier snapshot, whose first run is when its details were fetched (`report` ends a
    // role's `RoleLastUsed` window there), to be resumed as it was.
    let mut runs = previous.map(|m| m.runs).unwrap_or_default();
    if resumed && let Some(note) = runs.first().and_then(old_snapshot) {
        ctx.console.line(&note);
    }
    runs.push(Run::start(cfg.refresh));
    store::write_unfinished_manifest(&layout, &who.account_id, &who.partition, &runs)?;

    let collected = match collect(cfg, clients, &layout, who, ctx, &mut runs).await {
        Ok(collected) => collected,
        Err(e) => {
            if let Some(run) = runs.last_mut() {
                let why = e.to_string();
                run.end(format!(
                    "stopped: {}",
                    why.lines().next().unwrap_or_default()
                ));
            }
            // Best effort: the manifest already says "finished": false.
            let _ =
                store::write_unfinished_manifest(&layout, &who.account_id, &who.partition, &runs);
            return Err(e);
        }
    };
    if let Some(run) = runs.last_mut() {
        run.end("finished");
    }
    let (created, created_from) = store::write_manifest(
        &layout,
        &who.account_id,
        &who.partition,
        collected.report_time,
        &runs,
        &collected.missing,
    )?;
    Ok(FetchSummary {
        out: cfg.out.clone(),
        account_id: who.account_id.clone(),
        partition: who.partition.clone(),
        caller_arn: who.arn.clone(),
        principals: collected.principals,
        fetched: collected.fetched,
        skipped: collected.kept,
        removed: collected.removed,
        resumed,
        authorization_details_reused: collected.gaad_reused,
        missing: collected.missing,
        created,
        created_from,
    })
}

/// What [`collect`] gathered.
struct Collected {
    principals: usize,
    fetched: usize,
    kept: usize,
    removed: usize,
    gaad_reused: bool,
    report_time: Option<Timestamp>,
    missing: BTreeMap<String, String>,
}

/// Steps 1–4: GAAD, the credential report, the check of kept files, the last-accessed jobs.
/// `runs`: the export's runs, this one last; when this run writes a new snapshot, it becomes
/// the first (the earlier runs made the snapshot it replaces), in the manifest too.
async fn collect(
    cfg: &FetchConfig,
    clients: &Clients,
    layout: &Layout,
    who: &Identity,
    ctx: &Ctx,
    runs: &mut Vec<Run>,
) -> Result<Collected> {
    // 1. GAAD: the one kept from an earlier run (resume), else a new snapshot.
    let reused = if cfg.refresh {
        None
    } else {
        reused_authorization_details(layout, &ctx.console)?
    };
    let mut removed = 0;
    let gaad_reused = reused.is_some();
    let gaad = match reused {
        Some(gaad) => gaad,
        None => {
            let gaad = authorization_details(cfg, clients, layout, ctx).await?;
            // A new snapshot: nothing of an earlier one may stay (deleted principals, a
            // credential report from before).
            removed += layout.clear_data()?;
            if removed > 0 {
                ctx.console.line(&format!(
                    "fetch: removed {removed} files of the earlier snapshot (--refresh fetches \
                     everything again)"
                ));
            }
            // The earlier snapshot is gone (its authorization details first): its runs go too,
            // before the new details are written, so that no stop in between pairs them.
            let this = runs.pop();
            runs.clear();
            runs.extend(this);
            store::write_unfinished_manifest(layout, &who.account_id, &who.partition, runs)?;
            layout.write(
                &layout.authorization_details(),
                &cli_json::to_cli_bytes(&gaad),
            )?;
            gaad
        }
    };
    let every = principals(&gaad, layout)?;
    check_account(&every, who, layout)?;
    let selected: Vec<PrincipalRef> = every
        .iter()
        .filter(|p| cfg.groups || p.kind != Kind::Group)
        .cloned()
        .collect();

    // 2. The credential report of an earlier run goes: it is fetched again last (step 5), so
    // that its dates reach the newest last-accessed job (the as-of time), and an export this run
    // leaves unfinished holds none older than its jobs.
    let report = layout.credential_report();
    if report.is_file() {
        layout.remove(&report)?;
    }
    let mut missing = BTreeMap::new();

    // 3. What an earlier run left: keep finished jobs of principals in this snapshot.
    let (kept, dropped) = check_kept_files(layout, &every, &selected, &ctx.console)?;
    removed += dropped;

    // 4. The last-accessed jobs.
    let mut todo = Vec::new();
    let mut kept_count = 0;
    for p in &selected {
        if p.name.starts_with('.') {
            // Readers skip hidden files, so such a file would never be read.
            missing.insert(
                p.key(),
                "name starts with '.', which readers treat as a hidden file".into(),
            );
        } else if kept.contains(&(p.kind, p.name.clone())) {
            kept_count += 1;
        } else {
            todo.push(p.clone());
        }
    }
    if kept_count > 0 {
        ctx.console.line(&format!(
            "fetch: {kept_count} principals already fetched (resume; --refresh fetches them again)"
        ));
    }
    let fetched_missing = last_accessed_all(cfg, clients, layout, todo.clone(), ctx).await?;
    let fetched = todo.len() - fetched_missing.len();
    missing.extend(fetched_missing);

    // 5. The credential report, after every job: a use or a key it shows is as recent as the
    // newest job, which is the as-of time its checks are judged at.
    let report_time = match credential_report(cfg, clients, layout, ctx).await {
        Ok(generated) => generated,
        Err(CredentialReportError::Fatal(e)) => return Err(e),
        Err(CredentialReportError::Missing(reason)) => {
            ctx.console
                .line(&format!("fetch: credential report not fetched: {reason}"));
            missing.insert(crate::input::CREDENTIAL_REPORT.to_string(), reason);
            None
        }
    };
    Ok(Collected {
        principals: selected.len(),
        fetched,
        kept: kept_count,
        removed,
        gaad_reused,
        report_time,
        missing,
    })
}

/// Checks the last-accessed files an earlier run left. A file is kept when its principal is in
/// this snapshot and it is a finished job (parses, `COMPLETED`, not truncated); the others are
/// removed (ours: `store` explains why), and fetched again when their kind is fetched. Returns
/// the kept `(kind, name)`s and how many files were removed.
fn check_kept_files(
    layout: &Layout,
    every: &[PrincipalRef],
    selected: &[PrincipalRef],
    console: &Console,
) -> Result<(store::PrincipalSet, usize)> {
    let known: store::PrincipalSet = every.iter().map(|p| (p.kind, p.name.clone())).collect();
    let wanted: store::PrincipalSet = selected.iter().map(|p| (p.kind, p.name.clone())).collect();
    let mut kept = BTreeSet::new();
    let mut removed = 0;
    for (kind, name, path) in layout.principal_files()? {
        let key = (kind, name);
        let why = if known.contains(&key) {
            let bytes =
                std::fs::read(&path).map_err(|e| FetchError::io(&path, "cannot read", e))?;
            store::unusable_last_accessed(&bytes)
        } else {
            Some(format!(
                "{}/{} is not in {}",
                kind.as_str(),
                key.1,
                crate::input::AUTHORIZATION_DETAILS
            ))
        };
        match why {
            None => {
                kept.insert(key);
            }
            Some(why) => {
                layout.remove(&path)?;
                removed += 1;
                let again = if wanted.contains(&key) {
                    "; fetching it again"
                } else {
                    ""
                };
                console.line(&format!("fetch: removed {}: {why}{again}", path.display()));
            }
        }
    }
    Ok((kept, removed))
}

/// A resume of a snapshot taken more than a day ago (its first run's start): what that means.
fn old_snapshot(first: &Run) -> Option<String> {
    let started = crate::input::parse_timestamp(&first.started)?;
    let days = chrono::Utc::now().signed_duration_since(started).num_days();
    (days >= 1).then(|| {
        format!(
            "fetch: resuming a snapshot whose first run started {} ({days} day(s) ago): its \
             authorization details are that old, so a role with no last-accessed data is judged \
             on its RoleLastUsed only up to then; --refresh takes a new snapshot",
            first.started
        )
    })
}

/// The `authorization-details.json` of an earlier run (resume).
fn reused_authorization_details(layout: &Layout, console: &Console) -> Result<Option<Value>> {
    let path = layout.authorization_details();
    if !path.is_file() {
        return Ok(None);
    }
    let bytes = std::fs::read(&path).map_err(|e| FetchError::io(&path, "cannot read", e))?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| FetchError::Resume {
        path: path.clone(),
        message: format!("not valid JSON: {e}"),
    })?;
    if !value.get("RoleDetailList").is_some_and(Value::is_array) {
        return Err(FetchError::Resume {
            path,
            message: "not the output of GetAccountAuthorizationDetails (no RoleDetailList)".into(),
        });
    }
    console.line(&format!("fetch: reusing {} (resume)", path.display()));
    Ok(Some(value))
}

/// GAAD: every page fetched, merged as the CLI merges them (written by the caller).
async fn authorization_details(
    cfg: &FetchConfig,
    clients: &Clients,
    layout: &Layout,
    ctx: &Ctx,
) -> Result<Value> {
    let mut retrier = Retrier::new(
        "authorization details",
        cfg.backoff,
        cfg.retry_budget,
        &ctx.console,
    );
    let mut pages = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = retrier
            .call("GetAccountAuthorizationDetails", || {
                clients
                    .iam
                    .get_account_authorization_details()
                    .max_items(MAX_ITEMS)
                    .set_marker(marker.clone())
                    .send()
            })
            .await
            .map_err(|e| fatal(&e, &ctx.endpoint, Some(&layout.root)))?;
        let next = page.marker.clone().filter(|_| page.is_truncated);
        pages.push(page);
        match next {
            Some(m) if pages.len() < MAX_PAGES => marker = Some(m),
            _ => break,
        }
    }
    Ok(cli_json::authorization_details(&pages))
}

/// A failure that stops the fetch, with its message. `out`: the export left unfinished, named
/// when the network is lost.
fn fatal(e: &CallError, endpoint: &str, out: Option<&Path>) -> FetchError {
    // Whatever stopped it, an export left unfinished is resumed by rerunning the command; with
    // --refresh that would start over.
    let text = match out {
        Some(out) => format!(
            "{}\n  the export in {} is unfinished: rerun the command (without --refresh) to \
             resume it (finished principals are kept)",
            e.describe(endpoint),
            out.display()
        ),
        None => e.describe(endpoint),
    };
    match e.severity() {
        Severity::AccessDenied => FetchError::AccessDenied(text),
        Severity::Credentials => FetchError::Credentials(text),
        Severity::Network => FetchError::Network(text),
        Severity::Setup => FetchError::Setup(text),
        Severity::Principal => FetchError::Aws(text),
    }
}

/// Roles, users and groups named in GAAD, sorted.
fn principals(gaad: &Value, layout: &Layout) -> Result<Vec<PrincipalRef>> {
    let kinds = [
        (Kind::Role, "RoleDetailList", "RoleName"),
        (Kind::User, "UserDetailList", "UserName"),
        (Kind::Group, "GroupDetailList", "GroupName"),
    ];
    let mut out = Vec::new();
    for (kind, list, name_key) in kinds {
        for (i, item) in gaad[list].as_array().into_iter().flatten().enumerate() {
            let (Some(name), Some(arn)) = (item[name_key].as_str(), item["Arn"].as_str()) else {
                return Err(FetchError::Resume {
                    path: layout.authorization_details(),
                    message: format!("$.{list}[{i}] has no {name_key} or Arn"),
                });
            };
            if name.contains(['/', '\\']) || name.is_empty() || name == ".." {
                return Err(FetchError::Resume {
                    path: layout.authorization_details(),
                    message: format!("$.{list}[{i}].{name_key} {name:?} is not a valid IAM name"),
                });
            }
            out.push(PrincipalRef {
                kind,
                name: name.to_string(),
                arn: arn.to_string(),
            });
        }
    }
    out.sort();
    Ok(out)
}

/// A reused `authorization-details.json` must be of the account we are fetching.
fn check_account(principals: &[PrincipalRef], who: &Identity, layout: &Layout) -> Result<()> {
    for p in principals {
        let account = crate::model::arn::account(&p.arn).unwrap_or_default();
        if account != who.account_id {
            return Err(FetchError::Resume {
                path: layout.authorization_details(),
                message: format!(
                    "{} belongs to account {account}, but these credentials are account {}",
                    p.arn, who.account_id
                ),
            });
        }
    }
    Ok(())
}

enum CredentialReportError {
    Fatal(FetchError),
    Missing(String),
}

/// The credential report: generate until COMPLETE, then get. Returns its `GeneratedTime`. A
/// refused permission or an AWS error leaves it missing; a lost network or refused credentials
/// stop the fetch.
async fn credential_report(
    cfg: &FetchConfig,
    clients: &Clients,
    layout: &Layout,
    ctx: &Ctx,
) -> std::result::Result<Option<Timestamp>, CredentialReportError> {
    let path = layout.credential_report();
    let mut retrier = Retrier::new(
        "credential report",
        cfg.backoff,
        cfg.retry_budget,
        &ctx.console,
    );
    let failed = |e: CallError| match e.severity() {
        Severity::Principal | Severity::AccessDenied => {
            CredentialReportError::Missing(e.describe(&ctx.endpoint))
        }
        _ => CredentialReportError::Fatal(fatal(&e, &ctx.endpoint, Some(&layout.root))),
    };
    let deadline = Instant::now() + cfg.job_timeout;
    let mut pause = cfg.poll_interval;
    loop {
        let out = retrier
            .call("GenerateCredentialReport", || {
                clients.iam.generate_credential_report().send()
            })
            .await
            .map_err(failed)?;
        if out.state == Some(ReportStateType::Complete) {
            break;
        }
        if Instant::now() > deadline {
            return Err(CredentialReportError::Missing(format!(
                "GenerateCredentialReport: still {} after {}s",
                out.state.as_ref().map_or("without a State", |s| s.as_str()),
                cfg.job_timeout.as_secs()
            )));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 3 / 2).min(cfg.max_poll_interval);
    }
    let out = retrier
        .call("GetCredentialReport", || {
            clients.iam.get_credential_report().send()
        })
        .await
        .map_err(failed)?;
    let Some(content) = out.content else {
        return Err(CredentialReportError::Missing(
            "GetCredentialReport returned no Content".into(),
        ));
    };
    layout
        .write(&path, content.as_ref())
        .map_err(CredentialReportError::Fatal)?;
    let generated = out
        .generated_time
        .and_then(|t| chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos()));
    Ok(generated)
}

/// What one principal's task ended with.
enum Outcome {
    Written,
    Missing(String),
    /// Stop everything (access denied, lost network, or the export folder cannot be written).
    Fatal(FetchError),
}

/// Runs the last-accessed jobs, `--concurrency` at a time. Returns the principals recorded as
/// missing. Each file is written as soon as its job is read, so an interrupted fetch resumes.
async fn last_accessed_all(
    cfg: &FetchConfig,
    clients: &Clients,
    layout: &Layout,
    todo: Vec<PrincipalRef>,
    ctx: &Ctx,
) -> Result<BTreeMap<String, String>> {
    let mut progress = progress::Progress::new(
        &ctx.console,
        todo.len(),
        cfg.progress_every,
        cfg.concurrency,
    );
    let permits = Arc::new(Semaphore::new(cfg.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for p in todo {
        let permits = Arc::clone(&permits);
        let iam = clients.iam.clone();
        let cfg = cfg.clone();
        let layout = layout.clone();
        let ctx = ctx.clone();
        tasks.spawn(async move {
            let Ok(_permit) = permits.acquire_owned().await else {
                return (p, Outcome::Missing("cancelled".into()), Duration::ZERO);
            };
            let started = Instant::now();
            let outcome = match last_accessed_one(&cfg, &iam, &p, &ctx).await {
                Ok(value) => {
                    let bytes = cli_json::to_cli_bytes(&value);
                    match layout.write(&layout.principal_file(p.kind, &p.name), &bytes) {
                        Ok(()) => Outcome::Written,
                        Err(e) => Outcome::Fatal(e),
                    }
                }
                Err(JobError::Call(e)) => match e.severity() {
                    Severity::Principal => Outcome::Missing(e.describe(&ctx.endpoint)),
                    _ => Outcome::Fatal(fatal(&e, &ctx.endpoint, Some(&layout.root))),
                },
                Err(JobError::Missing(reason)) => Outcome::Missing(reason),
            };
            (p, outcome, started.elapsed())
        });
    }
    let mut missing = BTreeMap::new();
    while let Some(joined) = tasks.join_next().await {
        let (p, outcome, took) = match joined {
            Ok(done) => done,
            Err(e) => {
                tasks.abort_all();
                return Err(FetchError::Setup(format!("a fetch task failed: {e}")));
            }
        };
        match outcome {
            Outcome::Written => progress.tick(&p.key(), true, took),
            Outcome::Missing(reason) => {
                progress.tick(&format!("{}: {reason}", p.key()), false, took);
                missing.insert(p.key(), reason);
            }
            Outcome::Fatal(e) => {
                tasks.abort_all();
                return Err(e);
            }
        }
    }
    Ok(missing)
}

enum JobError {
    /// A call failed for good; its severity decides between missing and stopping.
    Call(CallError),
    /// The job itself could not be completed (FAILED, still running, broken pages).
    Missing(String),
}

impl From<CallError> for JobError {
    fn from(e: CallError) -> JobError {
        JobError::Call(e)
    }
}

/// Generate → poll → read every page, for one principal. A FAILED job is generated again,
/// `job_attempts` jobs in all. All calls use the same client (same credentials, same session):
/// a job can only be read by the principal that generated it. One retry budget for all of them.
async fn last_accessed_one(
    cfg: &FetchConfig,
    iam: &aws_sdk_iam::Client,
    p: &PrincipalRef,
    ctx: &Ctx,
) -> std::result::Result<Value, JobError> {
    let mut retrier = Retrier::new(p.key(), cfg.backoff, cfg.retry_budget, &ctx.console);
    let attempts = cfg.job_attempts.max(1);
    let mut last_failure = String::new();
    for _ in 0..attempts {
        let job = retrier
            .call("GenerateServiceLastAccessedDetails", || {
                iam.generate_service_last_accessed_details()
                    .arn(&p.arn)
                    .granularity(AccessAdvisorUsageGranularityType::ActionLevel)
                    .send()
            })
            .await?;
        let Some(job_id) = job.job_id else {
            return Err(JobError::Missing(
                "GenerateServiceLastAccessedDetails returned no JobId".into(),
            ));
        };
        let first = poll(cfg, iam, &job_id, &mut retrier).await?;
        match first.job_status {
            JobStatusType::Completed => return read_pages(iam, &job_id, first, &mut retrier).await,
            JobStatusType::Failed => {
                last_failure = match &first.error {
                    Some(e) => format!("{}: {}", e.code, e.message),
                    None => "no error details".into(),
                };
            }
            other => last_failure = format!("unexpected JobStatus {}", other.as_str()),
        }
    }
    Err(JobError::Missing(format!(
        "GetServiceLastAccessedDetails: job FAILED: {last_failure} (gave up after {attempts} jobs)"
    )))
}

/// Polls a job until it is not `IN_PROGRESS`; returns that (first) page.
async fn poll(
    cfg: &FetchConfig,
    iam: &aws_sdk_iam::Client,
    job_id: &str,
    retrier: &mut Retrier,
) -> std::result::Result<GetServiceLastAccessedDetailsOutput, JobError> {
    let deadline = Instant::now() + cfg.job_timeout;
    let mut pause = cfg.poll_interval;
    loop {
        let page = get_page(iam, job_id, None, retrier).await?;
        if page.job_status != JobStatusType::InProgress {
            return Ok(page);
        }
        if Instant::now() + pause > deadline {
            return Err(JobError::Missing(format!(
                "GetServiceLastAccessedDetails: job {job_id} still IN_PROGRESS after {}s",
                cfg.job_timeout.as_secs()
            )));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 3 / 2).min(cfg.max_poll_interval);
    }
}

async fn get_page(
    iam: &aws_sdk_iam::Client,
    job_id: &str,
    marker: Option<String>,
    retrier: &mut Retrier,
) -> std::result::Result<GetServiceLastAccessedDetailsOutput, CallError> {
    retrier
        .call("GetServiceLastAccessedDetails", || {
            iam.get_service_last_accessed_details()
                .job_id(job_id)
                .max_items(MAX_ITEMS)
                .set_marker(marker.clone())
                .send()
        })
        .await
}

/// Follows `IsTruncated`/`Marker` from the first page (there is no SDK paginator for this call)
/// and merges the pages.
async fn read_pages(
    iam: &aws_sdk_iam::Client,
    job_id: &str,
    first: GetServiceLastAccessedDetailsOutput,
    retrier: &mut Retrier,
) -> std::result::Result<Value, JobError> {
    let mut pages = vec![first];
    while let Some(last) = pages.last()
        && last.is_truncated
    {
        let Some(marker) = last.marker.clone() else {
            return Err(JobError::Missing(format!(
                "GetServiceLastAccessedDetails: page {} of job {job_id} says IsTruncated but has no Marker",
                pages.len()
            )));
        };
        if pages.len() >= MAX_PAGES {
            return Err(JobError::Missing(format!(
                "GetServiceLastAccessedDetails: job {job_id} has more than {MAX_PAGES} pages"
            )));
        }
        let page = get_page(iam, job_id, Some(marker), retrier).await?;
        if page.job_status != JobStatusType::Completed {
            return Err(JobError::Missing(format!(
                "GetServiceLastAccessedDetails: job {job_id} changed to {} while reading its pages",
                page.job_status.as_str()
            )));
        }
        pages.push(page);
    }
    Ok(cli_json::last_accessed(&pages))
}
