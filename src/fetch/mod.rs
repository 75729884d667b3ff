//! `iam-tighten fetch`: dump one AWS account into an export folder (`docs/export-format.md`)
//! with the official AWS SDK for Rust. Built only with the `fetch` feature; `report` and `diff`
//! never import this module.
//!
//! Order of work (see `docs/fetch.md`):
//! 1. `sts:GetCallerIdentity` → account id and partition.
//! 2. `authorization-details.json`: every GAAD page, merged and printed as the AWS CLI v2 does.
//!    Reused when it exists (resume) unless `--refresh`, so one export is one snapshot.
//! 3. `credential-report.csv`: generate until `COMPLETE`, get, the decoded bytes as-is (reused
//!    likewise).
//! 4. One ACTION_LEVEL last-accessed job per role and user (and group with `--groups`), at most
//!    `--concurrency` at once: generate, poll with growing pauses until not `IN_PROGRESS`, read
//!    every page, write the merged file atomically. A principal whose file exists is skipped
//!    unless `--refresh`. A FAILED job is generated again; after the last attempt the principal is
//!    recorded as missing.
//! 5. `manifest.json`, last: SHA-256 of every file, `missing`, and `created` from the data.
//!
//! Credentials are never written: the export holds only what IAM returned about the account.

mod accounts;
mod cli_json;
mod client;
mod error;
mod progress;
mod retry;
mod store;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_iam::operation::get_service_last_accessed_details::GetServiceLastAccessedDetailsOutput;
use aws_sdk_iam::types::{AccessAdvisorUsageGranularityType, JobStatusType, ReportStateType};
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

pub use accounts::{
    AccountSource, AccountsSummary, MultiConfig, SUMMARY_FILE, fetch_accounts, read_accounts_file,
};
pub use error::{FetchError, Result};
pub use retry::Backoff;
pub use store::{CreatedFrom, Kind};

use crate::model::Timestamp;
use client::{Clients, Identity};
use retry::CallError;
use store::Layout;

/// IAM returns at most this many items per page.
const MAX_ITEMS: i32 = 1000;
/// A job that returns more pages than this is treated as broken (the marker never ends).
const MAX_PAGES: usize = 10_000;

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
    /// Fetch everything again, even files that exist.
    pub refresh: bool,
    /// Also fetch `last-accessed/groups/` (optional for the analysis).
    pub groups: bool,
    /// Give up on a job still `IN_PROGRESS` after this long.
    pub job_timeout: Duration,
    /// First pause between polls; it grows by half each poll up to `max_poll_interval`.
    pub poll_interval: Duration,
    pub max_poll_interval: Duration,
    /// Jobs per principal: a FAILED job is generated again until this many have failed.
    pub job_attempts: u32,
    /// SDK attempts per call.
    pub max_attempts: u32,
    /// The SDK's adaptive retry mode (client-side rate limiting after throttling); else standard.
    pub adaptive_retry: bool,
    /// Our backoff above the SDK's (throttling, 5xx).
    pub backoff: Backoff,
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
            groups: false,
            job_timeout: Duration::from_secs(300),
            poll_interval: Duration::from_secs(2),
            max_poll_interval: Duration::from_secs(15),
            job_attempts: 3,
            max_attempts: 5,
            adaptive_retry: true,
            backoff: Backoff {
                base: Duration::from_millis(500),
                cap: Duration::from_secs(20),
                retries: 6,
            },
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
    /// Skipped because their file existed (resume).
    pub skipped: usize,
    pub authorization_details_reused: bool,
    pub credential_report_reused: bool,
    /// `role/Name` (or `credential-report.csv`) → why it is not in the export.
    pub missing: BTreeMap<String, String>,
    pub created: Timestamp,
    pub created_from: CreatedFrom,
}

/// Fetches one account into `cfg.out`. Blocks; runs its own single-threaded tokio runtime.
pub fn fetch(cfg: &FetchConfig) -> Result<FetchSummary> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| FetchError::Setup(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let clients = client::connect(cfg).await?;
        run(cfg, &clients, None).await
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

/// Fetches the account of `clients` into `cfg.out`. `assumed`: the account we assumed a role
/// into and the role's ARN (multi-account mode); its caller identity must be that account.
async fn run(
    cfg: &FetchConfig,
    clients: &Clients,
    assumed: Option<(&str, &str)>,
) -> Result<FetchSummary> {
    let who = match assumed {
        None => client::identity(&clients.sts, &cfg.backoff).await?,
        Some((account, role_arn)) => {
            let who = client::identity_or(&clients.sts, &cfg.backoff, |e| {
                FetchError::AccessDenied(format!("sts:AssumeRole into {role_arn} failed: {e}"))
            })
            .await?;
            if who.account_id != account {
                return Err(FetchError::Setup(format!(
                    "the session of {role_arn} is in account {}, not {account}",
                    who.account_id
                )));
            }
            who
        }
    };
    let layout = Layout::prepare(&cfg.out)?;
    eprintln!(
        "fetch: account {} ({}) as {} into {}",
        who.account_id,
        who.partition,
        who.arn,
        cfg.out.display()
    );

    // A reused GAAD must be this account's; check before touching the export.
    let reused = reused_authorization_details(cfg, &layout)?;
    if let Some(gaad) = &reused {
        check_account(&principals(gaad, cfg.groups, &layout)?, &who, &layout)?;
    }
    layout.remove_manifest()?;
    let gaad_reused = reused.is_some();
    let gaad = match reused {
        Some(gaad) => gaad,
        None => authorization_details(cfg, clients, &layout).await?,
    };
    let principals = principals(&gaad, cfg.groups, &layout)?;
    check_account(&principals, &who, &layout)?;

    let mut missing = BTreeMap::new();
    let (report_time, report_reused) = match credential_report(cfg, clients, &layout).await {
        Ok(got) => got,
        Err(CredentialReportError::Fatal(e)) => return Err(e),
        Err(CredentialReportError::Missing(reason)) => {
            eprintln!("fetch: credential report not fetched: {reason}");
            missing.insert(crate::input::CREDENTIAL_REPORT.to_string(), reason);
            (None, false)
        }
    };

    let mut todo = Vec::new();
    let mut skipped = 0;
    for p in &principals {
        if p.name.starts_with('.') {
            // Readers skip hidden files, so such a file would never be read.
            missing.insert(
                p.key(),
                "name starts with '.', which readers treat as a hidden file".into(),
            );
        } else if !cfg.refresh && layout.principal_file(p.kind, &p.name).is_file() {
            skipped += 1;
        } else {
            todo.push(p.clone());
        }
    }
    if skipped > 0 {
        eprintln!(
            "fetch: {skipped} principals already fetched (resume; --refresh fetches them again)"
        );
    }
    let fetched_missing = last_accessed_all(cfg, clients, &layout, todo.clone()).await?;
    let fetched = todo.len() - fetched_missing.len();
    missing.extend(fetched_missing);

    let (created, created_from) = store::write_manifest(
        &layout,
        &who.account_id,
        &who.partition,
        report_time,
        &missing,
    )?;
    Ok(FetchSummary {
        out: cfg.out.clone(),
        account_id: who.account_id,
        partition: who.partition,
        caller_arn: who.arn,
        principals: principals.len(),
        fetched,
        skipped,
        authorization_details_reused: gaad_reused,
        credential_report_reused: report_reused,
        missing,
        created,
        created_from,
    })
}

/// The `authorization-details.json` of an earlier run (resume), unless `--refresh`.
fn reused_authorization_details(cfg: &FetchConfig, layout: &Layout) -> Result<Option<Value>> {
    let path = layout.authorization_details();
    if cfg.refresh || !path.is_file() {
        return Ok(None);
    }
    let bytes = std::fs::read(&path).map_err(|e| FetchError::io(&path, "cannot read", e))?;
    let value = serde_json::from_slice(&bytes).map_err(|e| FetchError::Resume {
        path: path.clone(),
        message: format!("not valid JSON: {e}"),
    })?;
    eprintln!("fetch: reusing {} (resume)", path.display());
    Ok(Some(value))
}

/// GAAD: every page fetched, merged as the CLI merges them, written atomically.
async fn authorization_details(
    cfg: &FetchConfig,
    clients: &Clients,
    layout: &Layout,
) -> Result<Value> {
    let path = layout.authorization_details();
    let mut pages = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = retry::call("GetAccountAuthorizationDetails", &cfg.backoff, || {
            clients
                .iam
                .get_account_authorization_details()
                .max_items(MAX_ITEMS)
                .set_marker(marker.clone())
                .send()
        })
        .await
        .map_err(fatal)?;
        let next = page.marker.clone().filter(|_| page.is_truncated);
        pages.push(page);
        match next {
            Some(m) if pages.len() < MAX_PAGES => marker = Some(m),
            _ => break,
        }
    }
    let value = cli_json::authorization_details(&pages);
    store::write_atomic(&path, &cli_json::to_cli_bytes(&value))?;
    Ok(value)
}

/// A failure that stops the fetch: access denied says which permission is missing.
fn fatal(e: CallError) -> FetchError {
    if e.is_access_denied() {
        FetchError::AccessDenied(e.to_string())
    } else {
        FetchError::Aws(e.to_string())
    }
}

/// Roles and users (and groups) named in GAAD, sorted.
fn principals(gaad: &Value, groups: bool, layout: &Layout) -> Result<Vec<PrincipalRef>> {
    let mut kinds = vec![
        (Kind::Role, "RoleDetailList", "RoleName"),
        (Kind::User, "UserDetailList", "UserName"),
    ];
    if groups {
        kinds.push((Kind::Group, "GroupDetailList", "GroupName"));
    }
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
        let account = p.arn.split(':').nth(4).unwrap_or_default();
        if account != who.account_id {
            return Err(FetchError::Resume {
                path: layout.authorization_details(),
                message: format!(
                    "{} belongs to account {account}, but these credentials are account {}; \
                     use another --out",
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

/// The credential report: generate until COMPLETE, then get. Returns its `GeneratedTime`
/// (None when reused from disk) and whether it was reused.
async fn credential_report(
    cfg: &FetchConfig,
    clients: &Clients,
    layout: &Layout,
) -> std::result::Result<(Option<Timestamp>, bool), CredentialReportError> {
    let path = layout.credential_report();
    if !cfg.refresh && path.is_file() {
        return Ok((None, true));
    }
    let missing = |e: CallError| CredentialReportError::Missing(e.to_string());
    let deadline = Instant::now() + cfg.job_timeout;
    let mut pause = cfg.poll_interval;
    loop {
        let out = retry::call("GenerateCredentialReport", &cfg.backoff, || {
            clients.iam.generate_credential_report().send()
        })
        .await
        .map_err(missing)?;
        if out.state == Some(ReportStateType::Complete) {
            break;
        }
        if Instant::now() > deadline {
            return Err(CredentialReportError::Missing(format!(
                "GenerateCredentialReport: still {:?} after {}s",
                out.state.map(|s| s.as_str().to_string()),
                cfg.job_timeout.as_secs()
            )));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 3 / 2).min(cfg.max_poll_interval);
    }
    let out = retry::call("GetCredentialReport", &cfg.backoff, || {
        clients.iam.get_credential_report().send()
    })
    .await
    .map_err(missing)?;
    let Some(content) = out.content else {
        return Err(CredentialReportError::Missing(
            "GetCredentialReport returned no Content".into(),
        ));
    };
    store::write_atomic(&path, content.as_ref()).map_err(CredentialReportError::Fatal)?;
    let generated = out
        .generated_time
        .and_then(|t| chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos()));
    Ok((generated, false))
}

/// What one principal's task ended with.
enum Outcome {
    Written,
    Missing(String),
    /// Stop everything (access denied, or the export folder cannot be written).
    Fatal(FetchError),
}

/// Runs the last-accessed jobs, `--concurrency` at a time. Returns the principals recorded as
/// missing. Each file is written as soon as its job is read, so an interrupted fetch resumes.
async fn last_accessed_all(
    cfg: &FetchConfig,
    clients: &Clients,
    layout: &Layout,
    todo: Vec<PrincipalRef>,
) -> Result<BTreeMap<String, String>> {
    let mut progress = progress::Progress::new(todo.len(), cfg.progress_every);
    let permits = Arc::new(Semaphore::new(cfg.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for p in todo {
        let permits = Arc::clone(&permits);
        let iam = clients.iam.clone();
        let cfg = cfg.clone();
        let layout = layout.clone();
        tasks.spawn(async move {
            let Ok(_permit) = permits.acquire_owned().await else {
                return (p, Outcome::Missing("cancelled".into()));
            };
            let outcome = match last_accessed_one(&cfg, &iam, &p).await {
                Ok(value) => {
                    let bytes = cli_json::to_cli_bytes(&value);
                    match store::write_atomic(&layout.principal_file(p.kind, &p.name), &bytes) {
                        Ok(()) => Outcome::Written,
                        Err(e) => Outcome::Fatal(e),
                    }
                }
                Err(JobError::Fatal(e)) => Outcome::Fatal(e),
                Err(JobError::Missing(reason)) => Outcome::Missing(reason),
            };
            (p, outcome)
        });
    }
    let mut missing = BTreeMap::new();
    while let Some(joined) = tasks.join_next().await {
        let (p, outcome) = match joined {
            Ok(done) => done,
            Err(e) => {
                tasks.abort_all();
                return Err(FetchError::Aws(format!("a fetch task failed: {e}")));
            }
        };
        match outcome {
            Outcome::Written => progress.tick(&p.key(), true),
            Outcome::Missing(reason) => {
                progress.tick(&format!("{}: {reason}", p.key()), false);
                missing.insert(p.key(), reason);
            }
            Outcome::Fatal(e) => {
                tasks.abort_all();
                progress.finish();
                return Err(e);
            }
        }
    }
    progress.finish();
    Ok(missing)
}

enum JobError {
    Fatal(FetchError),
    Missing(String),
}

impl From<CallError> for JobError {
    fn from(e: CallError) -> JobError {
        if e.is_access_denied() {
            JobError::Fatal(FetchError::AccessDenied(e.to_string()))
        } else {
            JobError::Missing(e.to_string())
        }
    }
}

/// Generate → poll → read every page, for one principal. A FAILED job is generated again,
/// `job_attempts` jobs in all. All calls use the same client (same credentials, same session):
/// a job can only be read by the principal that generated it.
async fn last_accessed_one(
    cfg: &FetchConfig,
    iam: &aws_sdk_iam::Client,
    p: &PrincipalRef,
) -> std::result::Result<Value, JobError> {
    let attempts = cfg.job_attempts.max(1);
    let mut last_failure = String::new();
    for _ in 0..attempts {
        let job = retry::call("GenerateServiceLastAccessedDetails", &cfg.backoff, || {
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
        let first = poll(cfg, iam, &job_id).await?;
        match first.job_status {
            JobStatusType::Completed => return read_pages(cfg, iam, &job_id, first).await,
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
) -> std::result::Result<GetServiceLastAccessedDetailsOutput, JobError> {
    let deadline = Instant::now() + cfg.job_timeout;
    let mut pause = cfg.poll_interval;
    loop {
        let page = get_page(cfg, iam, job_id, None).await?;
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
    cfg: &FetchConfig,
    iam: &aws_sdk_iam::Client,
    job_id: &str,
    marker: Option<String>,
) -> std::result::Result<GetServiceLastAccessedDetailsOutput, CallError> {
    retry::call("GetServiceLastAccessedDetails", &cfg.backoff, || {
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
    cfg: &FetchConfig,
    iam: &aws_sdk_iam::Client,
    job_id: &str,
    first: GetServiceLastAccessedDetailsOutput,
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
        let page = get_page(cfg, iam, job_id, Some(marker)).await?;
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
