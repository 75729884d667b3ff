//! Multi-account fetch: `--assume-role NAME` with `--accounts FILE` or `--organization`.
//!
//! The base credentials (the standard chain) name the partition (`sts:GetCallerIdentity`) and,
//! with `--organization`, list the organisation's ACTIVE accounts (`organizations:ListAccounts`).
//! Each account is then fetched, one after another, with credentials from `sts:AssumeRole` into
//! `arn:PARTITION:iam::ACCOUNT:role/NAME` (session `iam-tighten-fetch`), into `OUT/ACCOUNT/`: the
//! organisation layout `report` reads. One role session per account (the SDK's
//! `AssumeRoleProvider`, renewed before it expires), so every last-accessed job is generated and
//! read by the same session. An account that fails (AssumeRole refused, a permission missing in
//! the account) is reported and the others go on; `OUT/fetch-summary.json` lists the accounts
//! done and failed. With `--organization`, the organisation part (`OUT/organization/`: the OU
//! tree, SCPs, RCPs, Identity Center permission sets) is written first, with the base
//! credentials (`organization/`); if it fails the accounts still go on. Credentials are never
//! written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::error::{FetchError, Result};
use super::organization::{self, OrgSummary};
use super::progress::{Console, say};
use super::retry::{Retrier, Severity};
use super::store::{self, SUMMARY_FILE};
use super::{Ctx, FetchConfig, FetchSummary, client};

/// `RoleSessionName` of every assumed-role session (shows in the member accounts' CloudTrail).
const SESSION_NAME: &str = "iam-tighten-fetch";

/// Which accounts to fetch.
#[derive(Debug, Clone)]
pub enum AccountSource {
    /// One 12-digit account id per line; `#` comments and blank lines allowed.
    File(PathBuf),
    /// The organisation's ACTIVE accounts (`organizations:ListAccounts` with the base credentials).
    Organization,
}

/// A multi-account fetch: `fetch.out` is the organisation folder.
#[derive(Debug, Clone)]
pub struct MultiConfig {
    pub fetch: FetchConfig,
    /// The role assumed in every account (a name, not an ARN).
    pub role_name: String,
    pub accounts: AccountSource,
}

/// What a multi-account fetch did.
#[derive(Debug, Clone)]
pub struct AccountsSummary {
    pub out: PathBuf,
    /// Accounts whose export was written (complete or with `missing` principals).
    pub done: Vec<FetchSummary>,
    /// Account id → why it was not fetched.
    pub failed: BTreeMap<String, String>,
    /// Accounts of the organisation left out because they are not ACTIVE: id → state
    /// (`SUSPENDED`, `PENDING_CLOSURE`).
    pub skipped: BTreeMap<String, String>,
    /// With `--organization`: the organisation part, or why it failed.
    pub organization: Option<std::result::Result<OrgSummary, String>>,
}

impl AccountsSummary {
    /// Every account complete, and the organisation part (when asked for) too.
    pub fn complete(&self) -> bool {
        self.failed.is_empty()
            && self.done.iter().all(|d| d.missing.is_empty())
            && match &self.organization {
                None => true,
                Some(Ok(org)) => org.missing.is_empty(),
                Some(Err(_)) => false,
            }
    }
}

/// Reads an `--accounts` file: one 12-digit account id per line (surrounding spaces allowed),
/// `#` starts a comment, blank lines are skipped. Duplicates are dropped, order is kept.
pub fn read_accounts_file(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| FetchError::io(path, "cannot read the accounts file", e))?;
    let mut accounts: Vec<String> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let id = line.split('#').next().unwrap_or_default().trim();
        if id.is_empty() {
            continue;
        }
        if !is_account_id(id) {
            return Err(FetchError::AccountsFile {
                path: path.to_path_buf(),
                line: i + 1,
                message: format!("{id:?} is not a 12-digit AWS account id"),
            });
        }
        if !accounts.iter().any(|a| a == id) {
            accounts.push(id.to_string());
        }
    }
    if accounts.is_empty() {
        return Err(FetchError::AccountsFile {
            path: path.to_path_buf(),
            line: 0,
            message: "no account ids in the file".into(),
        });
    }
    Ok(accounts)
}

fn is_account_id(id: &str) -> bool {
    id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())
}

/// Fetches every account. Errors only for what stops all accounts (the accounts file, `--out`,
/// the base credentials, listing the organisation, a lost network, writing the summary); a
/// failed account is in `failed`.
pub fn fetch_accounts(m: &MultiConfig) -> Result<AccountsSummary> {
    // The file and --out are checked before any network call.
    let listed = match &m.accounts {
        AccountSource::File(path) => Some(read_accounts_file(path)?),
        AccountSource::Organization => None,
    };
    if m.role_name.trim_matches('/').is_empty() || m.role_name.contains(':') {
        return Err(FetchError::Setup(format!(
            "--assume-role {:?}: give the role's name (e.g. iam-tighten-read), not an ARN",
            m.role_name
        )));
    }
    store::check_organisation_out(&m.fetch.out, m.fetch.allow_non_empty)?;
    if let AccountSource::Organization = m.accounts {
        organization::check(&m.fetch.out)?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| FetchError::Setup(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(run(m, listed))
}

async fn run(m: &MultiConfig, listed: Option<Vec<String>>) -> Result<AccountsSummary> {
    let cfg = &m.fetch;
    let console = Console::default();
    let base = client::base_config(cfg).await?;
    let base_clients = client::Clients::new(&base.sdk);
    let who = super::caller_identity(cfg, &base_clients, &base.endpoint, &console).await?;
    say(&format!(
        "fetch: base credentials: account {} ({}) as {}, credentials from {}",
        who.account_id, who.partition, who.arn, base.credentials_from
    ));
    let ctx = Ctx {
        endpoint: base.endpoint.clone(),
        console,
    };
    let mut summary = AccountsSummary {
        out: cfg.out.clone(),
        done: Vec::new(),
        failed: BTreeMap::new(),
        skipped: BTreeMap::new(),
        organization: None,
    };
    let accounts = match listed {
        Some(accounts) => accounts,
        None => organization_step(m, &base.sdk, &who, &ctx, &mut summary).await?,
    };
    say(&format!(
        "fetch: {} accounts with role {} into {}",
        accounts.len(),
        m.role_name,
        cfg.out.display()
    ));
    std::fs::create_dir_all(&cfg.out)
        .map_err(|e| FetchError::io(&cfg.out, "cannot create folder", e))?;

    for (n, account) in accounts.iter().enumerate() {
        let role_arn = format!(
            "arn:{}:iam::{account}:role/{}",
            who.partition,
            m.role_name.trim_matches('/')
        );
        say(&format!(
            "fetch: [{}/{}] account {account}: assuming {role_arn}",
            n + 1,
            accounts.len()
        ));
        let fetched = fetch_account(cfg, &base.sdk, account, &role_arn, &ctx).await;
        match fetched {
            Ok(done) => {
                say(&format!(
                    "fetch: account {account}: {} principals ({} fetched, {} kept, {} missing)",
                    done.principals,
                    done.fetched,
                    done.skipped,
                    done.missing.len()
                ));
                summary.done.push(done);
            }
            Err(e) if e.stops_everything() => {
                summary.failed.insert(account.clone(), e.to_string());
                write_summary(m, &summary)?;
                return Err(e);
            }
            Err(e) => {
                let reason = e.to_string();
                say(&format!(
                    "fetch: account {account} FAILED (the others go on): {reason}"
                ));
                summary.failed.insert(account.clone(), reason);
            }
        }
        write_summary(m, &summary)?;
    }
    Ok(summary)
}

/// With `--organization`: lists the organisation's ACTIVE accounts (the others are skipped
/// and said so), then writes the organisation part with the base credentials, before any role
/// is assumed. A failed part stops the run only when nothing can go on (`stops_everything`).
async fn organization_step(
    m: &MultiConfig,
    base: &aws_config::SdkConfig,
    who: &client::Identity,
    ctx: &Ctx,
    summary: &mut AccountsSummary,
) -> Result<Vec<String>> {
    let cfg = &m.fetch;
    let (active, skipped) = organization_accounts(base, cfg, ctx).await?;
    for (account, state) in &skipped {
        say(&format!(
            "fetch: skipping account {account}: it is {state}, not ACTIVE \
             (organizations:ListAccounts); only ACTIVE accounts can be fetched"
        ));
    }
    summary.skipped = skipped;
    match organization::fetch(cfg, base, who, ctx).await {
        Ok(org) => {
            say(&format!(
                "fetch: organisation part {}: {} files ({} fetched, {} kept, {} missing)",
                org.dir.display(),
                org.files,
                org.fetched,
                org.kept,
                org.missing.len()
            ));
            summary.organization = Some(Ok(org));
        }
        Err(e) if e.stops_everything() => {
            summary.organization = Some(Err(e.to_string()));
            write_summary(m, summary)?;
            return Err(e);
        }
        Err(e) => {
            let reason = e.to_string();
            say(&format!(
                "fetch: organisation part FAILED (the accounts go on): {reason}"
            ));
            summary.organization = Some(Err(reason));
        }
    }
    write_summary(m, summary)?;
    Ok(active)
}

/// One account: checks its folder, assumes `role_arn` and fetches into `OUT/ACCOUNT/`.
async fn fetch_account(
    cfg: &FetchConfig,
    base: &aws_config::SdkConfig,
    account: &str,
    role_arn: &str,
    ctx: &Ctx,
) -> Result<FetchSummary> {
    let mut account_cfg = cfg.clone();
    account_cfg.out = cfg.out.join(account);
    let out = store::check_out(&account_cfg.out, cfg.allow_non_empty)?;
    let sdk = client::assumed_config(base, role_arn, SESSION_NAME).await;
    let clients = client::Clients::new(&sdk);
    let session = assume(&clients, account, role_arn, cfg, ctx).await?;
    say(&format!("fetch: account {account} as {}", session.arn));
    super::run(&account_cfg, &clients, &session, out, ctx).await
}

/// Starts the account's role session (the first call resolves the assumed-role credentials),
/// returns its identity, and checks it is the account asked for. A refused `sts:AssumeRole`
/// becomes a short reason (code and message, not the SDK's chain).
async fn assume(
    clients: &client::Clients,
    account: &str,
    role_arn: &str,
    cfg: &FetchConfig,
    ctx: &Ctx,
) -> Result<client::Identity> {
    use aws_sdk_sts::config::http::HttpResponse;
    use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
    use aws_sdk_sts::operation::assume_role::AssumeRoleError;

    if let Err(err) = clients.sts.get_caller_identity().send().await {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
        while let Some(e) = source {
            if let Some(refused) = e.downcast_ref::<SdkError<AssumeRoleError, HttpResponse>>() {
                if let SdkError::ServiceError(_) = refused {
                    let code = refused.code().unwrap_or("error");
                    let message = refused.message().unwrap_or("no message");
                    let what = format!("sts:AssumeRole into {role_arn} refused: {code}: {message}");
                    return Err(if code.starts_with("AccessDenied") {
                        FetchError::AccessDenied(what)
                    } else {
                        FetchError::Aws(what)
                    });
                }
                break;
            }
            source = e.source();
        }
        // Anything else (a lost connection): the identity call below retries and explains it.
    }
    let mut retrier = Retrier::new(
        format!("account {account}"),
        cfg.backoff,
        cfg.retry_budget,
        &ctx.console,
    );
    let who = client::identity(&clients.sts, &mut retrier)
        .await
        .map_err(|e| match e {
            client::IdentityError::Call(e) if e.severity() == Severity::Network => {
                super::fatal(&e, &ctx.endpoint, Some(&cfg.out))
            }
            client::IdentityError::Call(e) => FetchError::AccessDenied(format!(
                "sts:AssumeRole into {role_arn}, then {}",
                e.describe(&ctx.endpoint)
            )),
            client::IdentityError::Invalid(message) => FetchError::Setup(message),
        })?;
    if who.account_id != account {
        return Err(FetchError::Setup(format!(
            "the session of {role_arn} is in account {}, not {account}",
            who.account_id
        )));
    }
    Ok(who)
}

/// The organisation's accounts, every page of `ListAccounts`: the ACTIVE ones (sorted), and the
/// others with their state.
async fn organization_accounts(
    base: &aws_config::SdkConfig,
    cfg: &FetchConfig,
    ctx: &Ctx,
) -> Result<(Vec<String>, BTreeMap<String, String>)> {
    let org = aws_sdk_organizations::Client::new(base);
    let mut retrier = Retrier::new("organization", cfg.backoff, cfg.retry_budget, &ctx.console);
    let mut accounts = Vec::new();
    let mut skipped = BTreeMap::new();
    let mut token: Option<String> = None;
    for _ in 0..super::MAX_PAGES {
        let page = retrier
            .call("ListAccounts", || {
                org.list_accounts().set_next_token(token.clone()).send()
            })
            .await
            .map_err(|e| {
                if e.is_access_denied() || e.code() == Some("AWSOrganizationsNotInUseException") {
                    FetchError::AccessDenied(format!(
                        "{}\n  --organization needs organizations:ListAccounts in the management \
                         (or a delegated administrator) account",
                        e.describe(&ctx.endpoint)
                    ))
                } else {
                    super::fatal(&e, &ctx.endpoint, None)
                }
            })?;
        for account in page.accounts() {
            let Some(id) = account.id().filter(|id| is_account_id(id)) else {
                continue;
            };
            match state(account) {
                Some(state) if state == "ACTIVE" => accounts.push(id.to_string()),
                state => {
                    skipped.insert(
                        id.to_string(),
                        state.unwrap_or_else(|| "without a state".into()),
                    );
                }
            }
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    accounts.sort();
    accounts.dedup();
    if accounts.is_empty() {
        return Err(FetchError::Aws(
            "ListAccounts returned no ACTIVE account".into(),
        ));
    }
    Ok((accounts, skipped))
}

/// The account's `State` (the newer field), else its older `Status`.
#[allow(deprecated)]
fn state(account: &aws_sdk_organizations::types::Account) -> Option<String> {
    match (account.state(), account.status()) {
        (Some(state), _) => Some(state.as_str().to_string()),
        (None, Some(status)) => Some(status.as_str().to_string()),
        (None, None) => None,
    }
}

#[derive(Serialize)]
struct SummaryFile<'a> {
    role_name: &'a str,
    accounts_from: String,
    tool: String,
    done: BTreeMap<&'a str, DoneAccount>,
    failed: &'a BTreeMap<String, String>,
    /// Accounts of the organisation that are not ACTIVE, with their state.
    skipped: &'a BTreeMap<String, String>,
    /// With `--organization`: the organisation part.
    #[serde(skip_serializing_if = "Option::is_none")]
    organization: Option<OrganizationPart>,
}

#[derive(Serialize)]
struct OrganizationPart {
    folder: &'static str,
    complete: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    files: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    missing: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failed: Option<String>,
}

#[derive(Serialize)]
struct DoneAccount {
    folder: String,
    complete: bool,
    principals: usize,
    fetched: usize,
    skipped: usize,
    missing: usize,
}

/// `OUT/fetch-summary.json`, rewritten after each account (no credentials: ids and reasons).
fn write_summary(m: &MultiConfig, s: &AccountsSummary) -> Result<()> {
    let file = SummaryFile {
        role_name: &m.role_name,
        accounts_from: match &m.accounts {
            AccountSource::File(path) => format!("file {}", path.display()),
            AccountSource::Organization => "organization".into(),
        },
        tool: format!("iam-tighten {}", crate::VERSION),
        done: s
            .done
            .iter()
            .map(|d| {
                (
                    d.account_id.as_str(),
                    DoneAccount {
                        folder: d.account_id.clone(),
                        complete: d.missing.is_empty(),
                        principals: d.principals,
                        fetched: d.fetched,
                        skipped: d.skipped,
                        missing: d.missing.len(),
                    },
                )
            })
            .collect(),
        failed: &s.failed,
        skipped: &s.skipped,
        organization: s.organization.as_ref().map(|org| match org {
            Ok(org) => OrganizationPart {
                folder: organization::DIR,
                complete: org.missing.is_empty(),
                files: Some(org.files),
                missing: Some(org.missing.len()),
                failed: None,
            },
            Err(why) => OrganizationPart {
                folder: organization::DIR,
                complete: false,
                files: None,
                missing: None,
                failed: Some(why.clone()),
            },
        }),
    };
    let mut bytes = serde_json::to_vec_pretty(&file)
        .map_err(|e| FetchError::Aws(format!("cannot serialize the summary: {e}")))?;
    bytes.push(b'\n');
    store::Layout::new(&s.out).write(&s.out.join(SUMMARY_FILE), &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Vec<String>> {
        let dir = tempfile::tempdir().map_err(|e| FetchError::Setup(e.to_string()))?;
        let path = dir.path().join("accounts.txt");
        std::fs::write(&path, text).map_err(|e| FetchError::Setup(e.to_string()))?;
        read_accounts_file(&path)
    }

    #[test]
    fn accounts_file_allows_comments_and_blank_lines() {
        let got = read("# prod\n111111111111\n\n  222222222222  # shared\n111111111111\n");
        assert_eq!(
            got.ok(),
            Some(vec!["111111111111".to_string(), "222222222222".to_string()])
        );
    }

    #[test]
    fn accounts_file_names_the_bad_line() {
        let err = read("111111111111\n# ok\n12345\n")
            .err()
            .map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(err.contains("accounts.txt:3:"), "{err}");
        assert!(err.contains("\"12345\""), "{err}");
        assert!(read("# only comments\n").is_err());
    }
}
