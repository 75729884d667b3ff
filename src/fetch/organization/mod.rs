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
//! Files: this one drives the walk (`Walk`: keep, write, required/optional calls); `tree.rs`
//! steps 1–3, `policies.rs` step 4, `sso.rs` step 5; `files.rs` the folder and resume rules;
//! `json.rs` the CLI's JSON shapes.
//!
//! What fails the part: anything in steps 1–3 (the tree is what the rest hangs on), a lost
//! network, refused credentials. A policy type or an Identity Center instance that cannot be
//! read is recorded in `missing` and the rest goes on.

mod files;
mod json;
mod policies;
mod sso;
mod tree;

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
    crate::model::arn::name(arn)
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
