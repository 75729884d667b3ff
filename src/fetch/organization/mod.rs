//! The organisation part: `OUT/organization/` (`docs/export-format.md`), written by
//! `fetch --assume-role R --organization` beside the account folders, or alone by
//! `fetch --organization-only`, always with the base credentials (the management account or a
//! delegated administrator), never an assumed role.
//!
//! Order of work (a file per AWS CLI command, pages merged, as the CLI prints it: `json.rs`):
//! 1. `describe-organization.json`, asked on every run: it names the organisation these
//!    credentials see, which must be the one an earlier run fetched;
//! 2. `list-roots.json`, `list-accounts.json`;
//! 3. the tree, from the roots: `ous/<parent>.json` and `accounts/<parent>.json` per root and OU;
//! 4. per policy type (SCP, RCP) enabled in the root: `policy/<id>.json` and `targets/<id>.json`
//!    of every policy, then `policies/<TYPE>.json`; a type not enabled gets no file and a note;
//! 5. IAM Identity Center: per instance and permission set its six files, then
//!    `list-permission-sets.json`, then `list-instances.json` (`permissions-boundary.json` only
//!    when the set has one). No instance, or no access, is not a failure: a note, or `missing`.
//! 6. `manifest.json`: the SHA-256 of every file, `missing`, `notes`.
//!
//! A listing is written after the files it lists, so a listing on disk means its files are
//! complete. **Resume**: a rerun keeps every file an earlier run left that is whole (JSON, the
//! right top-level key, no `NextToken`) without asking AWS again, and walks kept listings as if
//! fetched; what is absent or unusable is fetched. `--refresh` fetches everything. Either way,
//! files of the layout that this snapshot does not hold (a deleted OU's, a policy type no
//! longer enabled) are removed at the end. Calls are made one at a time (Organizations allows
//! few requests per second), each with its own `--retry-budget` (`retry.rs`).
//!
//! What fails the part: anything in steps 1–3 (the tree is what the rest hangs on), a lost
//! network, refused credentials. A policy type or an Identity Center instance that cannot be
//! read is recorded in `missing` and the rest goes on.

mod files;
mod json;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::error::Error as StdError;
use std::future::Future;
use std::path::{Path, PathBuf};

use aws_sdk_iam::config::http::HttpResponse;
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use serde_json::Value;

use super::cli_json::to_cli_bytes;
use super::client::{self, Identity};
use super::error::{FetchError, Result};
use super::progress::{Console, say};
use super::retry::{CallError, Failure, Retrier, Severity};
use super::store::{self, ManifestFile, Run};
use super::{Ctx, FetchConfig, MAX_PAGES};
pub use files::DIR;
use files::{Kept, OrgDir, PERMISSION_SET_FILES, Shape};

/// The policy types whose policies are written (`policies/<TYPE>.json`).
const POLICY_TYPES: [&str; 2] = ["SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"];
/// Error codes that mean "this policy type is not enabled" (ListPolicies documents none, but a
/// type disabled between ListRoots and ListPolicies may answer so).
const NOT_ENABLED_CODES: [&str; 2] = [
    "PolicyTypeNotEnabledException",
    "PolicyTypeNotAvailableForOrganizationException",
];
/// More parents (roots and OUs) than this is a broken answer, not an organisation (AWS allows
/// 2,000 OUs at most).
const MAX_PARENTS: usize = 100_000;

/// What the organisation part holds after a fetch.
#[derive(Debug, Clone)]
pub struct OrgSummary {
    /// `OUT/organization`.
    pub dir: PathBuf,
    pub organization_id: String,
    /// The account it was read from (management or delegated administrator).
    pub account_id: String,
    /// Files of the part (the manifest aside).
    pub files: usize,
    /// Written by this run.
    pub fetched: usize,
    /// Kept from an earlier run (resume).
    pub kept: usize,
    /// Files of an earlier snapshot, or unusable ones, removed.
    pub removed: usize,
    /// This run continued an earlier one.
    pub resumed: bool,
    /// File (or folder) → why it could not be fetched.
    pub missing: BTreeMap<String, String>,
    /// File (or folder) → why it is absent on purpose (a policy type not enabled, no Identity
    /// Center instance).
    pub notes: BTreeMap<String, String>,
}

/// Checks `OUT/organization/` before any AWS call: new, empty, or written by `fetch`.
pub(super) fn check(out: &Path) -> Result<()> {
    OrgDir::new(out).check().map(|_| ())
}

/// `fetch --organization-only`: the organisation part alone into `cfg.out/organization/`, with
/// the base credentials. `cfg.out` is an organisation folder (the account exports go beside it).
pub fn fetch_organization(cfg: &FetchConfig) -> Result<OrgSummary> {
    store::check_organisation_out(&cfg.out, cfg.allow_non_empty)?;
    check(&cfg.out)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| FetchError::Setup(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let console = Console::default();
        let base = client::base_config(cfg).await?;
        let clients = client::Clients::new(&base.sdk);
        let who = super::caller_identity(cfg, &clients, &base.endpoint, &console).await?;
        say(&format!(
            "fetch: organisation part from account {} ({}) as {}, credentials from {}, into {}",
            who.account_id,
            who.partition,
            who.arn,
            base.credentials_from,
            OrgDir::new(&cfg.out).root.display()
        ));
        let ctx = Ctx {
            endpoint: base.endpoint,
            console,
        };
        fetch(cfg, &base.sdk, &who, &ctx).await
    })
}

/// Writes the organisation part of `cfg.out` with the base configuration `sdk` (whose identity
/// is `who`). The manifest says `"finished": false` until the end; a run that stops says why.
pub(super) async fn fetch(
    cfg: &FetchConfig,
    sdk: &aws_config::SdkConfig,
    who: &Identity,
    ctx: &Ctx,
) -> Result<OrgSummary> {
    let dir = OrgDir::new(&cfg.out);
    let previous: Option<ManifestFile> = dir.check()?;
    let region = sdk.region().map(ToString::to_string).unwrap_or_default();
    let expected = previous.as_ref().and_then(|m| m.organization_id.clone());
    let mut walk = Walk {
        cfg,
        ctx,
        dir: &dir,
        org: aws_sdk_organizations::Client::new(sdk),
        sso: aws_sdk_ssoadmin::Client::new(sdk),
        region: region.clone(),
        touched: BTreeSet::new(),
        fetched: 0,
        kept: 0,
        removed: 0,
        missing: BTreeMap::new(),
        notes: BTreeMap::new(),
    };
    // Before anything is written: which organisation these credentials see, and that it is the
    // one an earlier run fetched into this folder.
    let (organization_id, described) = walk.describe_organization(expected.as_deref()).await?;
    dir.prepare()?;
    let resumed = previous.is_some() && !cfg.refresh;
    let mut runs = match &previous {
        Some(m) if resumed => m.runs.clone(),
        _ => Vec::new(),
    };
    runs.push(Run::start(cfg.refresh));
    let manifest = |organization_id: Option<&str>, runs: &[Run], finished| {
        let m = files::OrgManifest {
            account_id: &who.account_id,
            partition: &who.partition,
            organization_id,
            region: &region,
            runs,
        };
        files::write_manifest(&dir, &m, finished)
    };
    manifest(Some(&organization_id), &runs, None)?;

    if let Err(e) = walk.run(&organization_id, &described).await {
        if let Some(run) = runs.last_mut() {
            let why = e.to_string();
            run.end(format!(
                "stopped: {}",
                why.lines().next().unwrap_or_default()
            ));
        }
        // Best effort: the manifest already says "finished": false.
        let _ = manifest(Some(&organization_id), &runs, None);
        return Err(e);
    }
    let gone = dir.remove_others(&walk.touched)?;
    if !gone.is_empty() {
        ctx.console.line(&format!(
            "fetch: organization: removed {} files this snapshot does not hold (e.g. {})",
            gone.len(),
            gone[0]
        ));
    }
    if let Some(run) = runs.last_mut() {
        run.end("finished");
    }
    manifest(
        Some(&organization_id),
        &runs,
        Some(files::Finished {
            missing: &walk.missing,
            notes: &walk.notes,
        }),
    )?;
    Ok(OrgSummary {
        dir: dir.root.clone(),
        organization_id,
        account_id: who.account_id.clone(),
        files: walk.touched.len(),
        fetched: walk.fetched,
        kept: walk.kept,
        removed: walk.removed + gone.len(),
        resumed,
        missing: walk.missing,
        notes: walk.notes,
    })
}

/// One walk of the organisation: what it wrote, kept and could not fetch.
struct Walk<'a> {
    cfg: &'a FetchConfig,
    ctx: &'a Ctx,
    dir: &'a OrgDir,
    org: aws_sdk_organizations::Client,
    sso: aws_sdk_ssoadmin::Client,
    region: String,
    /// Files of this snapshot (written or kept), by relative path.
    touched: BTreeSet<String>,
    fetched: usize,
    kept: usize,
    removed: usize,
    missing: BTreeMap<String, String>,
    notes: BTreeMap<String, String>,
}

/// Every page of a paginated call, following `NextToken`.
async fn pages<T, E, F, Fut>(
    retrier: &mut Retrier,
    operation: &'static str,
    mut call: F,
    next: impl Fn(&T) -> Option<&str>,
) -> std::result::Result<Vec<T>, CallError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = std::result::Result<T, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = retrier.call(operation, || call(token.clone())).await?;
        let next = next(&page).filter(|t| !t.is_empty()).map(str::to_string);
        pages.push(page);
        match next {
            None => return Ok(pages),
            Some(t) if pages.len() >= MAX_PAGES || token.as_ref() == Some(&t) => {
                return Err(CallError {
                    operation,
                    failure: Failure::Other(format!(
                        "the NextToken of page {} does not end the list (more than {MAX_PAGES} \
                         pages, or the same token again)",
                        pages.len()
                    )),
                    requests: 1,
                    waited: std::time::Duration::ZERO,
                });
            }
            Some(t) => token = Some(t),
        }
    }
}

/// The last part of an ARN: `ssoins-…` of an instance, `ps-…` of a permission set.
fn arn_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The `Id`s of `value[list][]`, in the order listed.
fn ids<'v>(value: &'v Value, list: &str, key: &str) -> Vec<&'v str> {
    value[list]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item[key].as_str())
        .collect()
}

/// Whether `policy_type` is ENABLED in a root of `roots` (`list-roots.json`); else its status.
fn policy_type_status(roots: &Value, policy_type: &str) -> std::result::Result<(), String> {
    let mut status = None;
    for root in roots["Roots"].as_array().into_iter().flatten() {
        for t in root["PolicyTypes"].as_array().into_iter().flatten() {
            if t["Type"] == policy_type {
                match t["Status"].as_str() {
                    Some("ENABLED") => return Ok(()),
                    other => status = other.map(str::to_string),
                }
            }
        }
    }
    Err(match status {
        Some(status) => format!("{policy_type} is {status} in the root, not ENABLED"),
        None => format!("{policy_type} is not enabled in the root"),
    })
}

/// Whether a failed `ListPolicies` says the policy type is not enabled.
fn says_not_enabled(e: &CallError) -> bool {
    e.code().is_some_and(|c| NOT_ENABLED_CODES.contains(&c))
}

impl Walk<'_> {
    /// Steps 1–5, `described` being the organisation (`describe_organization`).
    async fn run(&mut self, id: &str, described: &Value) -> Result<()> {
        self.write_organization(described)?;
        let roots = self.required_roots().await?;
        self.required_accounts().await?;
        let parents = self.tree(&ids(&roots, "Roots", "Id")).await?;
        let accounts = self.placed_accounts(&parents);
        self.ctx.console.line(&format!(
            "fetch: organization {id}: {} roots and OUs, {accounts} accounts placed in them",
            parents.len()
        ));
        for policy_type in POLICY_TYPES {
            self.policies(&roots, policy_type).await?;
        }
        self.identity_center().await
    }

    fn retrier(&self, who: &str) -> Retrier {
        Retrier::new(
            format!("organization/{who}"),
            self.cfg.backoff,
            self.cfg.retry_budget,
            &self.ctx.console,
        )
    }

    /// The kept file `rel` (not with `--refresh`): its content when an earlier run left a whole
    /// one. An unusable one is removed and said.
    fn keep(&mut self, rel: &str, shape: Shape) -> Result<Option<Value>> {
        if self.cfg.refresh {
            return Ok(None);
        }
        match self.dir.kept(rel, shape)? {
            Kept::Usable(value) => {
                self.touched.insert(rel.to_string());
                self.kept += 1;
                Ok(Some(value))
            }
            Kept::Absent => Ok(None),
            Kept::Removed(why) => {
                self.removed += 1;
                self.ctx.console.line(&format!(
                    "fetch: removed {}: {why}; fetching it again",
                    self.dir.path(rel).display()
                ));
                Ok(None)
            }
        }
    }

    /// A kept listing whose listed files could not all be fetched is removed: a listing on disk
    /// means its files are complete.
    fn drop_listing(&mut self, rel: &str) -> Result<()> {
        if self.touched.remove(rel) {
            self.kept -= 1;
            self.dir.remove(rel)?;
        }
        Ok(())
    }

    /// Writes `rel` (a file of this snapshot).
    fn write(&mut self, rel: &str, value: &Value) -> Result<()> {
        self.dir.write(rel, &to_cli_bytes(value))?;
        self.touched.insert(rel.to_string());
        self.fetched += 1;
        Ok(())
    }

    /// A failure in steps 1–3: the part cannot be written without it.
    fn required(&self, e: &CallError) -> FetchError {
        match e.severity() {
            Severity::AccessDenied => FetchError::AccessDenied(format!(
                "{}; the organisation part is read with the base credentials, in the management \
                 account or a delegated administrator of AWS Organizations",
                e.describe(&self.ctx.endpoint)
            )),
            Severity::Principal if e.code() == Some("AWSOrganizationsNotInUseException") => {
                FetchError::Aws(format!(
                    "{}; these credentials' account is not in an organisation; the organisation \
                     part is read in the management account or a delegated administrator",
                    e.describe(&self.ctx.endpoint)
                ))
            }
            Severity::Principal => FetchError::Aws(e.describe(&self.ctx.endpoint)),
            _ => super::fatal(e, &self.ctx.endpoint, Some(&self.dir.root)),
        }
    }

    /// A failure in steps 4–5: `rel` is recorded as missing (the rest goes on), unless it stops
    /// everything (a lost network, refused credentials).
    fn optional(&mut self, rel: &str, what: &str, e: &CallError) -> Result<()> {
        match e.severity() {
            Severity::AccessDenied | Severity::Principal => {
                let reason = format!("{what}{}", e.describe(&self.ctx.endpoint));
                self.ctx.console.line(&format!(
                    "fetch: organization: not fetched: {rel}: {reason}"
                ));
                self.missing.insert(rel.to_string(), reason);
                Ok(())
            }
            _ => Err(super::fatal(e, &self.ctx.endpoint, Some(&self.dir.root))),
        }
    }

    /// Step 1: `DescribeOrganization`, asked on every run, before anything is written: the
    /// organisation these credentials see, which must be `expected` (an earlier run's). Returns
    /// its id and `describe-organization.json`'s content.
    async fn describe_organization(&self, expected: Option<&str>) -> Result<(String, Value)> {
        let rel = "describe-organization.json";
        let mut retrier = self.retrier(rel);
        let org = &self.org;
        let out = retrier
            .call("DescribeOrganization", || {
                org.describe_organization().send()
            })
            .await
            .map_err(|e| self.required(&e))?;
        let value = json::describe_organization(&out);
        let Some(id) = value["Organization"]["Id"].as_str().map(str::to_string) else {
            return Err(FetchError::Aws(
                "DescribeOrganization returned no Organization.Id".into(),
            ));
        };
        if let Some(expected) = expected
            && expected != id
        {
            return Err(FetchError::out(
                &self.dir.root,
                format!(
                    "the organisation part of {expected} (manifest.json), but these credentials \
                     see organisation {id}: give another --out (fetch never replaces one \
                     organisation's part with another's)"
                ),
            ));
        }
        Ok((id, value))
    }

    /// `describe-organization.json`, rewritten only when it changed (or with `--refresh`).
    fn write_organization(&mut self, value: &Value) -> Result<()> {
        let rel = "describe-organization.json";
        let same = !self.cfg.refresh
            && std::fs::read(self.dir.path(rel)).is_ok_and(|kept| kept == to_cli_bytes(value));
        if same {
            self.touched.insert(rel.to_string());
            self.kept += 1;
            Ok(())
        } else {
            self.write(rel, value)
        }
    }

    /// Step 2: `list-roots.json`.
    async fn required_roots(&mut self) -> Result<Value> {
        let rel = "list-roots.json";
        if let Some(kept) = self.keep(rel, Shape::List("Roots"))? {
            return Ok(kept);
        }
        let mut retrier = self.retrier(rel);
        let org = &self.org;
        let got = pages(
            &mut retrier,
            "ListRoots",
            |token| org.list_roots().set_next_token(token).send(),
            |p| p.next_token(),
        )
        .await
        .map_err(|e| self.required(&e))?;
        let value = json::merged("Roots", got.iter().map(|p| p.roots.as_deref()), json::root);
        self.write(rel, &value)?;
        Ok(value)
    }

    /// Step 2: `list-accounts.json`.
    async fn required_accounts(&mut self) -> Result<()> {
        let rel = "list-accounts.json";
        if self.keep(rel, Shape::List("Accounts"))?.is_some() {
            return Ok(());
        }
        let mut retrier = self.retrier(rel);
        let org = &self.org;
        let got = pages(
            &mut retrier,
            "ListAccounts",
            |token| org.list_accounts().set_next_token(token).send(),
            |p| p.next_token(),
        )
        .await
        .map_err(|e| self.required(&e))?;
        let value = json::merged(
            "Accounts",
            got.iter().map(|p| p.accounts.as_deref()),
            json::account,
        );
        self.write(rel, &value)
    }

    /// Step 3: the tree from the roots, breadth first; returns every parent (roots, then OUs).
    async fn tree(&mut self, roots: &[&str]) -> Result<Vec<String>> {
        let mut queue: VecDeque<String> = roots.iter().map(|r| r.to_string()).collect();
        let mut seen = BTreeSet::new();
        let mut parents = Vec::new();
        while let Some(parent) = queue.pop_front() {
            if !seen.insert(parent.clone()) {
                continue;
            }
            if !files::safe_id(&parent) || seen.len() > MAX_PARENTS {
                return Err(FetchError::Aws(format!(
                    "the organisation's tree names the parent {parent:?}, which is not a root or \
                     OU id (or has more than {MAX_PARENTS} parents)"
                )));
            }
            let ous = self.children_ous(&parent).await?;
            self.children_accounts(&parent).await?;
            queue.extend(
                ids(&ous, "OrganizationalUnits", "Id")
                    .into_iter()
                    .map(String::from),
            );
            parents.push(parent);
        }
        Ok(parents)
    }

    /// `ous/<parent>.json`.
    async fn children_ous(&mut self, parent: &str) -> Result<Value> {
        let rel = format!("ous/{parent}.json");
        if let Some(kept) = self.keep(&rel, Shape::List("OrganizationalUnits"))? {
            return Ok(kept);
        }
        let mut retrier = self.retrier(&rel);
        let org = &self.org;
        let got = pages(
            &mut retrier,
            "ListOrganizationalUnitsForParent",
            |token| {
                org.list_organizational_units_for_parent()
                    .parent_id(parent)
                    .set_next_token(token)
                    .send()
            },
            |p| p.next_token(),
        )
        .await
        .map_err(|e| self.required(&e))?;
        let value = json::merged(
            "OrganizationalUnits",
            got.iter().map(|p| p.organizational_units.as_deref()),
            json::organizational_unit,
        );
        self.write(&rel, &value)?;
        Ok(value)
    }

    /// `accounts/<parent>.json`.
    async fn children_accounts(&mut self, parent: &str) -> Result<()> {
        let rel = format!("accounts/{parent}.json");
        if self.keep(&rel, Shape::List("Accounts"))?.is_some() {
            return Ok(());
        }
        let mut retrier = self.retrier(&rel);
        let org = &self.org;
        let got = pages(
            &mut retrier,
            "ListAccountsForParent",
            |token| {
                org.list_accounts_for_parent()
                    .parent_id(parent)
                    .set_next_token(token)
                    .send()
            },
            |p| p.next_token(),
        )
        .await
        .map_err(|e| self.required(&e))?;
        let value = json::merged(
            "Accounts",
            got.iter().map(|p| p.accounts.as_deref()),
            json::account,
        );
        self.write(&rel, &value)
    }

    /// How many accounts the tree places (for the progress line).
    fn placed_accounts(&self, parents: &[String]) -> usize {
        parents
            .iter()
            .filter_map(|p| std::fs::read(self.dir.path(&format!("accounts/{p}.json"))).ok())
            .filter_map(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .map(|v| v["Accounts"].as_array().map_or(0, Vec::len))
            .sum()
    }

    /// Step 4 for one policy type: each listed policy's `policy/` and `targets/` files, then
    /// `policies/<TYPE>.json`. A type not enabled in the root gets no file and a note; a policy
    /// that cannot be read leaves the listing unwritten and is recorded as missing.
    async fn policies(&mut self, roots: &Value, policy_type: &'static str) -> Result<()> {
        let rel = format!("policies/{policy_type}.json");
        if let Err(why) = policy_type_status(roots, policy_type) {
            self.not_enabled(&rel, &why);
            return Ok(());
        }
        let listing = match self.keep(&rel, Shape::List("Policies"))? {
            Some(kept) => Some(kept),
            None => {
                let mut retrier = self.retrier(&rel);
                let org = &self.org;
                let filter = aws_sdk_organizations::types::PolicyType::from(policy_type);
                let got = pages(
                    &mut retrier,
                    "ListPolicies",
                    |token| {
                        org.list_policies()
                            .filter(filter.clone())
                            .set_next_token(token)
                            .send()
                    },
                    |p| p.next_token(),
                )
                .await;
                match got {
                    Ok(got) => {
                        let value = json::merged(
                            "Policies",
                            got.iter().map(|p| p.policies.as_deref()),
                            json::policy_summary,
                        );
                        // Written after its policies' files.
                        return self.policy_files(&rel, &value, true).await;
                    }
                    Err(e) if says_not_enabled(&e) => {
                        let why = format!(
                            "{policy_type} is not enabled ({})",
                            e.describe(&self.ctx.endpoint)
                        );
                        self.not_enabled(&rel, &why);
                        return Ok(());
                    }
                    Err(e) => {
                        self.optional(&rel, "", &e)?;
                        None
                    }
                }
            }
        };
        match listing {
            Some(kept) => self.policy_files(&rel, &kept, false).await,
            None => Ok(()),
        }
    }

    fn not_enabled(&mut self, rel: &str, why: &str) {
        let note = format!("{why}: no such policy applies, so none is written");
        self.ctx
            .console
            .line(&format!("fetch: organization: {rel}: {note}"));
        self.notes.insert(rel.to_string(), note);
    }

    /// The `policy/` and `targets/` files of every policy of `listing`; then the listing itself
    /// when `write_listing` (it was fetched) and every policy's files are there.
    async fn policy_files(
        &mut self,
        rel: &str,
        listing: &Value,
        write_listing: bool,
    ) -> Result<()> {
        let mut count = 0;
        for id in ids(listing, "Policies", "Id") {
            if !files::safe_id(id) {
                self.drop_listing(rel)?;
                self.missing.insert(
                    rel.to_string(),
                    format!("ListPolicies names the policy {id:?}, which is not a policy id"),
                );
                return Ok(());
            }
            let describe = format!("policy/{id}.json");
            if self.keep(&describe, Shape::Object("Policy"))?.is_none() {
                let mut retrier = self.retrier(&describe);
                let org = &self.org;
                match retrier
                    .call("DescribePolicy", || {
                        org.describe_policy().policy_id(id).send()
                    })
                    .await
                {
                    Ok(out) => self.write(&describe, &json::describe_policy(&out))?,
                    Err(e) => {
                        self.drop_listing(rel)?;
                        return self.optional(rel, &format!("{describe}: "), &e);
                    }
                }
            }
            let targets = format!("targets/{id}.json");
            if self.keep(&targets, Shape::List("Targets"))?.is_none() {
                let mut retrier = self.retrier(&targets);
                let org = &self.org;
                let got = pages(
                    &mut retrier,
                    "ListTargetsForPolicy",
                    |token| {
                        org.list_targets_for_policy()
                            .policy_id(id)
                            .set_next_token(token)
                            .send()
                    },
                    |p| p.next_token(),
                )
                .await;
                match got {
                    Ok(got) => {
                        let value = json::merged(
                            "Targets",
                            got.iter().map(|p| p.targets.as_deref()),
                            json::target,
                        );
                        self.write(&targets, &value)?;
                    }
                    Err(e) => {
                        self.drop_listing(rel)?;
                        return self.optional(rel, &format!("{targets}: "), &e);
                    }
                }
            }
            count += 1;
        }
        if write_listing {
            self.write(rel, listing)?;
        }
        self.ctx
            .console
            .line(&format!("fetch: organization: {rel}: {count} policies"));
        Ok(())
    }

    /// Step 5: IAM Identity Center. No instance is a note; a refused or failed `ListInstances`
    /// is recorded as missing; neither fails the part.
    async fn identity_center(&mut self) -> Result<()> {
        let rel = "sso/list-instances.json";
        let (listing, fetched) = match self.keep(rel, Shape::List("Instances"))? {
            Some(kept) => (kept, false),
            None => {
                let mut retrier = self.retrier(rel);
                let sso = &self.sso;
                let got = pages(
                    &mut retrier,
                    "ListInstances",
                    |token| sso.list_instances().set_next_token(token).send(),
                    |p| p.next_token(),
                )
                .await;
                match got {
                    Ok(got) => (
                        json::merged(
                            "Instances",
                            got.iter().map(|p| p.instances.as_deref()),
                            json::instance,
                        ),
                        true,
                    ),
                    Err(e) => {
                        let what = "IAM Identity Center (its permission sets are not in the \
                                    organisation part): ";
                        return self.optional(rel, what, &e);
                    }
                }
            }
        };
        let instances: Vec<String> = ids(&listing, "Instances", "InstanceArn")
            .into_iter()
            .map(String::from)
            .collect();
        if instances.is_empty() {
            let note = format!(
                "no IAM Identity Center instance in region {}: no permission sets are written \
                 (Identity Center is regional: if the organisation uses it, give --region its \
                 home region)",
                self.region
            );
            self.ctx
                .console
                .line(&format!("fetch: organization: sso/: {note}"));
            self.notes.insert("sso/".into(), note);
        }
        let mut complete = true;
        for arn in &instances {
            complete &= self.instance(arn).await?;
        }
        if !complete {
            self.drop_listing(rel)?;
        } else if fetched {
            self.write(rel, &listing)?;
        }
        Ok(())
    }

    /// One instance: every permission set's files, then `list-permission-sets.json`. Returns
    /// whether it is complete.
    async fn instance(&mut self, arn: &str) -> Result<bool> {
        let instance = arn_id(arn);
        let rel = format!("sso/{instance}/list-permission-sets.json");
        if !files::safe_id(instance) {
            self.missing.insert(
                rel,
                format!("ListInstances names the instance {arn:?}, whose id is not an id"),
            );
            return Ok(false);
        }
        let (listing, fetched) = match self.keep(&rel, Shape::List("PermissionSets"))? {
            Some(kept) => (kept, false),
            None => {
                let mut retrier = self.retrier(&rel);
                let sso = &self.sso;
                let got = pages(
                    &mut retrier,
                    "ListPermissionSets",
                    |token| {
                        sso.list_permission_sets()
                            .instance_arn(arn)
                            .set_next_token(token)
                            .send()
                    },
                    |p| p.next_token(),
                )
                .await;
                match got {
                    Ok(got) => (
                        json::merged(
                            "PermissionSets",
                            got.iter().map(|p| p.permission_sets.as_deref()),
                            json::string,
                        ),
                        true,
                    ),
                    Err(e) => {
                        self.optional(&rel, "", &e)?;
                        return Ok(false);
                    }
                }
            }
        };
        let sets: Vec<String> = listing["PermissionSets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(String::from))
            .collect();
        for (n, ps_arn) in sets.iter().enumerate() {
            if let Err(why) = self.permission_set(arn, ps_arn).await? {
                self.drop_listing(&rel)?;
                self.missing.insert(rel, why);
                return Ok(false);
            }
            let done = n + 1;
            if done % self.cfg.progress_every.max(1) == 0 && done < sets.len() {
                self.ctx.console.line(&format!(
                    "fetch: organization: {instance}: {done}/{} permission sets",
                    sets.len()
                ));
            }
        }
        if fetched {
            self.write(&rel, &listing)?;
        }
        self.ctx.console.line(&format!(
            "fetch: organization: IAM Identity Center {instance}: {} permission sets",
            sets.len()
        ));
        Ok(true)
    }

    /// The six files of one permission set (`permissions-boundary.json` only when it has one).
    /// `Ok(Err(why))`: one could not be fetched (the instance's listing is then not written).
    async fn permission_set(
        &mut self,
        instance_arn: &str,
        ps_arn: &str,
    ) -> Result<std::result::Result<(), String>> {
        let instance = arn_id(instance_arn);
        let ps = arn_id(ps_arn);
        if !files::safe_id(ps) {
            return Ok(Err(format!(
                "ListPermissionSets names {ps_arn:?}, whose id is not an id"
            )));
        }
        for name in PERMISSION_SET_FILES {
            let rel = format!("sso/{instance}/{ps}/{name}");
            let shape = match name {
                "describe-permission-set.json" => Shape::Object("PermissionSet"),
                "inline-policy.json" => Shape::Text("InlinePolicy"),
                "managed-policies.json" => Shape::List("AttachedManagedPolicies"),
                "customer-managed-policies.json" => Shape::List("CustomerManagedPolicyReferences"),
                "permissions-boundary.json" => Shape::Object("PermissionsBoundary"),
                _ => Shape::List("AccountIds"),
            };
            if self.keep(&rel, shape)?.is_some() {
                continue;
            }
            let mut retrier = self.retrier(&rel);
            let got = self
                .permission_set_file(name, instance_arn, ps_arn, &mut retrier)
                .await;
            match got {
                Ok(Some(value)) => self.write(&rel, &value)?,
                // No permissions boundary: no file.
                Ok(None) => {}
                Err(e) => match e.severity() {
                    Severity::AccessDenied | Severity::Principal => {
                        let why = format!("{ps}/{name}: {}", e.describe(&self.ctx.endpoint));
                        self.ctx
                            .console
                            .line(&format!("fetch: organization: not fetched: {rel}: {why}"));
                        return Ok(Err(why));
                    }
                    _ => return Err(super::fatal(&e, &self.ctx.endpoint, Some(&self.dir.root))),
                },
            }
        }
        Ok(Ok(()))
    }

    /// One file of a permission set, as the CLI prints it; `None` for a permissions boundary
    /// the set does not have (`ResourceNotFoundException`).
    async fn permission_set_file(
        &self,
        name: &str,
        instance_arn: &str,
        ps_arn: &str,
        retrier: &mut Retrier,
    ) -> std::result::Result<Option<Value>, CallError> {
        let sso = &self.sso;
        Ok(Some(match name {
            "describe-permission-set.json" => {
                let out = retrier
                    .call("DescribePermissionSet", || {
                        sso.describe_permission_set()
                            .instance_arn(instance_arn)
                            .permission_set_arn(ps_arn)
                            .send()
                    })
                    .await?;
                json::describe_permission_set(&out)
            }
            "inline-policy.json" => {
                let out = retrier
                    .call("GetInlinePolicyForPermissionSet", || {
                        sso.get_inline_policy_for_permission_set()
                            .instance_arn(instance_arn)
                            .permission_set_arn(ps_arn)
                            .send()
                    })
                    .await?;
                json::inline_policy(&out)
            }
            "managed-policies.json" => {
                let got = pages(
                    retrier,
                    "ListManagedPoliciesInPermissionSet",
                    |token| {
                        sso.list_managed_policies_in_permission_set()
                            .instance_arn(instance_arn)
                            .permission_set_arn(ps_arn)
                            .set_next_token(token)
                            .send()
                    },
                    |p| p.next_token(),
                )
                .await?;
                json::merged(
                    "AttachedManagedPolicies",
                    got.iter().map(|p| p.attached_managed_policies.as_deref()),
                    json::attached_managed_policy,
                )
            }
            "customer-managed-policies.json" => {
                let got = pages(
                    retrier,
                    "ListCustomerManagedPolicyReferencesInPermissionSet",
                    |token| {
                        sso.list_customer_managed_policy_references_in_permission_set()
                            .instance_arn(instance_arn)
                            .permission_set_arn(ps_arn)
                            .set_next_token(token)
                            .send()
                    },
                    |p| p.next_token(),
                )
                .await?;
                json::merged(
                    "CustomerManagedPolicyReferences",
                    got.iter()
                        .map(|p| p.customer_managed_policy_references.as_deref()),
                    json::customer_managed_policy_reference,
                )
            }
            "permissions-boundary.json" => {
                let got = retrier
                    .call("GetPermissionsBoundaryForPermissionSet", || {
                        sso.get_permissions_boundary_for_permission_set()
                            .instance_arn(instance_arn)
                            .permission_set_arn(ps_arn)
                            .send()
                    })
                    .await;
                match got {
                    Ok(out) => json::permissions_boundary(&out),
                    Err(e) if e.code() == Some("ResourceNotFoundException") => return Ok(None),
                    Err(e) => return Err(e),
                }
            }
            _ => {
                let got = pages(
                    retrier,
                    "ListAccountsForProvisionedPermissionSet",
                    |token| {
                        sso.list_accounts_for_provisioned_permission_set()
                            .instance_arn(instance_arn)
                            .permission_set_arn(ps_arn)
                            .set_next_token(token)
                            .send()
                    },
                    |p| p.next_token(),
                )
                .await?;
                json::merged(
                    "AccountIds",
                    got.iter().map(|p| p.account_ids.as_deref()),
                    json::string,
                )
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_policy_type_counts_only_when_enabled_in_the_root() {
        let roots = serde_json::json!({"Roots": [{"Id": "r-abcd", "PolicyTypes": [
            {"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"},
            {"Type": "RESOURCE_CONTROL_POLICY", "Status": "PENDING_ENABLE"}
        ]}]});
        assert_eq!(policy_type_status(&roots, "SERVICE_CONTROL_POLICY"), Ok(()));
        assert_eq!(
            policy_type_status(&roots, "RESOURCE_CONTROL_POLICY"),
            Err("RESOURCE_CONTROL_POLICY is PENDING_ENABLE in the root, not ENABLED".into())
        );
        // An organisation with consolidated billing only: no policy types at all.
        let billing = serde_json::json!({"Roots": [{"Id": "r-abcd", "PolicyTypes": []}]});
        assert!(
            policy_type_status(&billing, "SERVICE_CONTROL_POLICY")
                .is_err_and(|e| e.contains("not enabled"))
        );
    }

    #[test]
    fn a_not_enabled_answer_is_a_note_not_a_failure() {
        let e = |code: &str| CallError {
            operation: "ListPolicies",
            failure: Failure::Service {
                code: code.into(),
                message: "This operation can be performed only for enabled policy types.".into(),
                status: 400,
            },
            requests: 1,
            waited: Duration::ZERO,
        };
        assert!(says_not_enabled(&e("PolicyTypeNotEnabledException")));
        assert!(!says_not_enabled(&e("AccessDeniedException")));
        assert_eq!(
            e("AccessDeniedException").severity(),
            Severity::AccessDenied
        );
    }

    #[test]
    fn ids_come_from_the_last_part_of_an_arn() {
        assert_eq!(
            arn_id("arn:aws:sso:::instance/ssoins-1234567890abcdef"),
            "ssoins-1234567890abcdef"
        );
        assert_eq!(
            arn_id("arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-0123456789abcdef"),
            "ps-0123456789abcdef"
        );
        let listing = serde_json::json!({"Policies": [{"Id": "p-FullAWSAccess"}, {"Name": "x"}, {"Id": "p-12345678"}]});
        assert_eq!(
            ids(&listing, "Policies", "Id"),
            ["p-FullAWSAccess", "p-12345678"]
        );
    }
}
