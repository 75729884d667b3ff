//! Command-line flags (clap). Nothing below `cmd::*` sees these types: each command turns its
//! args into a validated library config first.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Find the AWS IAM permissions your roles and users hold but do not use, ranked by how
/// dangerous each one is, and how to remove them. `report` and `diff` work offline.
#[derive(Debug, Parser)]
#[command(name = "iam-tighten", version = iam_tighten::long_version(), about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyse one or more exports and write the report (HTML, CSV, JSON, Parquet).
    Report(ReportArgs),
    /// Compare two exports (e.g. last quarter and this quarter).
    Diff(DiffArgs),
    /// Dump an AWS account into an export folder (needs AWS credentials and network).
    Fetch(FetchArgs),
    /// Expand action patterns or a policy document against the action catalog.
    Expand(ExpandArgs),
}

/// Options shared by `report` and `diff`.
#[derive(Debug, Args, Clone)]
pub struct AnalysisArgs {
    /// A permission counts as unused when it was not accessed in this many days before the
    /// as-of time (1–400: AWS keeps last-accessed data for 400 days).
    #[arg(long, value_name = "DAYS", default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=400))]
    pub unused_after: u32,
    /// Use this action catalog file instead of the embedded one (see scripts/gen-catalog.py).
    #[arg(long, value_name = "FILE")]
    pub catalog: Option<PathBuf>,
    /// TOML file with exclusions (see docs/usage.md).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Treat every warning (incomplete last-accessed files, unknown principals, an as-of the
    /// data does not cover, ...) as an error, except a missing credential report.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Export folders, or organisation folders whose sub-folders are exports.
    #[arg(required = true, value_name = "EXPORT")]
    pub exports: Vec<PathBuf>,
    /// Folder to write the report into (created if missing; existing report files are replaced).
    #[arg(long, short, value_name = "DIR", default_value = "iam-tighten-report")]
    pub out: PathBuf,
    /// Output formats to write (repeat or comma-separate). Default: all.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "FORMAT")]
    pub format: Vec<OutputFormat>,
    /// Also write findings/, the findings as a Hive-partitioned Parquet dataset for query
    /// engines: findings/account_id=<ACCOUNT>/part-0.parquet, one part per account. Needs the
    /// parquet format (written by default).
    #[arg(long)]
    pub parquet_dataset: bool,
    /// Exit with code 1 when an unused, actionable finding (permission or identity) at or above
    /// this sensitivity exists.
    #[arg(long, value_enum, value_name = "SENSITIVITY")]
    pub fail_on: Option<SensitivityArg>,
    /// Active access keys older than this many days are reported (rotation limit; 1–36500).
    #[arg(long, value_name = "DAYS", default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub key_max_age: u32,
    /// How many principals get a folder under recommendations/ (highest score first), or `all`.
    /// Every principal's recommendation is summarised in recommendations/summary.json and the
    /// report either way.
    #[arg(long, value_name = "N|all", default_value = "1000", value_parser = parse_folder_limit)]
    pub recommendations: FolderLimit,
    /// The reference time (RFC 3339, e.g. 2026-11-20T00:00:00Z). Default: the newest
    /// JobCompletionDate in each export, else its manifest time. Never the wall clock.
    #[arg(long, value_name = "TIME")]
    pub as_of: Option<String>,
    #[command(flatten)]
    pub analysis: AnalysisArgs,
}

/// `--recommendations`: a number of principal folders, or every one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderLimit {
    All,
    Top(usize),
}

impl FolderLimit {
    pub fn get(self) -> Option<usize> {
        match self {
            FolderLimit::All => None,
            FolderLimit::Top(n) => Some(n),
        }
    }
}

fn parse_folder_limit(s: &str) -> Result<FolderLimit, String> {
    if s.eq_ignore_ascii_case("all") {
        return Ok(FolderLimit::All);
    }
    s.parse::<usize>()
        .map(FolderLimit::Top)
        .map_err(|_| format!("expected a number of principals or `all`, got {s:?}"))
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The older export (or organisation folder).
    #[arg(value_name = "OLD_EXPORT")]
    pub old: PathBuf,
    /// The newer export (or organisation folder).
    #[arg(value_name = "NEW_EXPORT")]
    pub new: PathBuf,
    /// Folder to write diff.csv, diff.json, diff.html and diff-permission-sets.csv into.
    #[arg(long, short, value_name = "DIR", default_value = "iam-tighten-diff")]
    pub out: PathBuf,
    /// Exit with code 1 when there are any changes (like `git diff --exit-code`), and with code
    /// 3 when the sides look swapped (the old export is newer than the new one).
    #[arg(long)]
    pub exit_code: bool,
    /// Exit with code 1 when newly granted or newly unused permissions, or new identity findings,
    /// at or above this level exist.
    #[arg(long, value_enum, value_name = "SENSITIVITY")]
    pub fail_on_new: Option<SensitivityArg>,
    /// Active access keys older than this many days are reported (rotation limit; 1–36500).
    #[arg(long, value_name = "DAYS", default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub key_max_age: u32,
    /// Also write the unchanged kinds (still_unused, still_unknown, unchanged_used,
    /// identity_unchanged) to diff.csv; they are always counted in diff.json and diff.html.
    #[arg(long)]
    pub include_unchanged: bool,
    /// Write diff.csv with one row per principal and action instead of one per principal,
    /// service, change kind and verdict (for pipelines; much larger).
    #[arg(long)]
    pub per_action: bool,
    /// Refused: each export is analysed at its own as-of time (hidden; it says why).
    #[arg(long, value_name = "TIME", hide = true)]
    pub as_of: Option<String>,
    #[command(flatten)]
    pub analysis: AnalysisArgs,
}

#[derive(Debug, Args)]
// Without the `fetch` feature the flags are parsed (so `--help` documents them) but not read.
#[cfg_attr(not(feature = "fetch"), allow(dead_code))]
pub struct FetchArgs {
    /// Folder to write the export into: new, empty, or an export written by fetch (rerunning
    /// resumes it; files that exist and are finished are kept, see --refresh).
    #[arg(long, short, value_name = "DIR")]
    pub out: PathBuf,
    /// AWS profile to use. Wins over AWS_ACCESS_KEY_ID and AWS_PROFILE in the environment, as
    /// in the AWS CLI; an unknown profile is an error. Default: the standard credential chain.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// AWS region for the API endpoint (default: from the profile or environment, else
    /// us-east-1; IAM is global, so set it only for other partitions, e.g. cn-north-1).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Last-accessed jobs to run at once.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Fetch everything again, even files that already exist in --out; files of principals the
    /// account no longer has are removed.
    #[arg(long)]
    pub refresh: bool,
    /// Do not fetch last-accessed data for groups (fetched by default: without it every
    /// group's own permissions are rated unknown; users' files cover what they inherit).
    #[arg(long)]
    pub no_groups: bool,
    /// Accept a non-empty --out that is not an export written by fetch: the export is written
    /// beside the files already there, which are never changed (a file of the export layout
    /// already there is still refused).
    #[arg(long)]
    pub allow_non_empty: bool,
    /// Give up on a last-accessed job still running after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub job_timeout: u64,
    /// Total time one principal may spend on failed requests (throttling, server errors, a lost
    /// connection) and the pauses between retrying them. Then a throttled principal is recorded
    /// as missing, and a lost connection stops the fetch (resumable).
    #[arg(long, value_name = "SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub retry_budget: u64,
    /// Fetch several accounts: assume this role (a name, e.g. iam-tighten-read) in each account
    /// of --accounts or --organization, and write one export per account into OUT/ACCOUNT-ID/.
    #[arg(long, value_name = "ROLE-NAME", requires = "account_list")]
    pub assume_role: Option<String>,
    /// With --assume-role: a file with one 12-digit account id per line (`#` comments and
    /// blank lines allowed).
    #[arg(
        long,
        value_name = "FILE",
        group = "account_list",
        requires = "assume_role"
    )]
    pub accounts: Option<PathBuf>,
    /// With --assume-role: every ACTIVE account of the organisation (organizations:ListAccounts,
    /// from the management or a delegated administrator account), and the organisation part,
    /// OUT/organization/ (OU tree, SCPs, RCPs, IAM Identity Center permission sets), read with
    /// the base credentials.
    #[arg(long, group = "account_list")]
    pub organization: bool,
    /// Fetch only the organisation part, OUT/organization/ (OU tree, SCPs, RCPs, IAM Identity
    /// Center permission sets), with these credentials (the management or a delegated
    /// administrator account); no account is exported. OUT is the organisation folder that
    /// holds (or will hold) one export per account.
    #[arg(long, conflicts_with_all = ["assume_role", "accounts", "organization"])]
    pub organization_only: bool,
    /// Testing aid: send every AWS call to this endpoint (e.g. the moto emulator in
    /// tests/emulator). Never needed against AWS.
    #[arg(long, value_name = "URL", hide = true)]
    pub endpoint_url: Option<String>,
    /// Testing aid: first pause between polls of a job, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 2000, hide = true)]
    pub poll_interval_ms: u64,
    /// Testing aid: base of our retry backoff, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 500, hide = true)]
    pub backoff_ms: u64,
    /// Testing aid: the SDK's retry mode. `adaptive` (default) rate-limits the client after
    /// throttling, which is right for AWS and slow against an emulator that throttles on
    /// purpose. Either way the SDK sends one request per call; retries are ours.
    #[arg(long, value_name = "MODE", value_enum, default_value_t = RetryMode::Adaptive, hide = true)]
    pub retry_mode: RetryMode,
}

/// `--retry-mode` (testing aid).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RetryMode {
    Adaptive,
    Standard,
}

#[derive(Debug, Args)]
pub struct ExpandArgs {
    /// Action patterns such as `s3:Get*`, `ec2:*`, `*`, `iam:?assRole`, or an `action` cell of
    /// findings.csv verbatim (`'lambda:* except lambda:Add* lambda:Get*'`): the patterns after
    /// `except` are taken out.
    #[arg(value_name = "PATTERN", required_unless_present = "policy")]
    pub patterns: Vec<String>,
    /// Expand a whole policy document and print its effective allowed actions: a document (JSON
    /// object, JSON string or URL-encoded), or the output of `aws iam get-policy-version`,
    /// `get-role-policy`, `get-user-policy` or `get-group-policy`.
    #[arg(long, value_name = "FILE", conflicts_with = "patterns")]
    pub policy: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExpandFormat::Text)]
    pub format: ExpandFormat,
    /// Use this action catalog file instead of the embedded one.
    #[arg(long, value_name = "FILE")]
    pub catalog: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExpandFormat {
    Text,
    Csv,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum OutputFormat {
    Html,
    Csv,
    Json,
    Parquet,
    Xlsx,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SensitivityArg {
    Critical,
    High,
    Medium,
    Low,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }
}
