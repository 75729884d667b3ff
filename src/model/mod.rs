//! The typed domain model that every stage after `input` works on.
//!
//! `input` turns AWS's lenient JSON/CSV shapes into these types; nothing below this layer sees
//! serde input types. Collections that reach an output are ordered (`BTreeMap`, sorted `Vec`s).

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub mod arn;
pub mod document;
pub mod json;
pub mod organization;

pub use document::{
    ActionClause, DocumentError, Effect, PolicyDocument, ResourceClause, Statement,
};
pub use organization::{
    IDENTITY_CENTER_PATH, Organization, identity_center_set, permission_set_of_role,
};

/// Texts shared instead of copied (service namespaces, action names, regions, service names):
/// one `Arc<str>` per distinct text, so a value repeated across millions of rows is one
/// allocation. Handing out clones of the same `Arc` changes no output: it is the same text.
#[derive(Debug, Default)]
pub struct SharedTexts(HashSet<Arc<str>>);

impl SharedTexts {
    /// The shared copy of `text`, made on first sight.
    pub fn get(&mut self, text: &str) -> Arc<str> {
        if let Some(t) = self.0.get(text) {
            return t.clone();
        }
        let t: Arc<str> = Arc::from(text);
        self.0.insert(t.clone());
        t
    }
}

/// A point in time, always UTC.
pub type Timestamp = DateTime<Utc>;

/// `t` minus `days` whole days, or `None` when that is not a representable time. Every date
/// computed from input goes through this (or [`days_after`]): never a panicking `t - Duration`.
/// Representable means within the years 0000–9999, as the inputs are: an output writes every
/// time as RFC 3339, which has four-digit years (`-0001-10-03` is not RFC 3339).
pub fn days_before(t: Timestamp, days: u32) -> Option<Timestamp> {
    t.checked_sub_signed(chrono::TimeDelta::try_days(i64::from(days))?)
        .filter(rfc3339_year)
}

/// `t` plus `days` whole days, or `None` when that is not a representable time (as
/// [`days_before`]).
pub fn days_after(t: Timestamp, days: u32) -> Option<Timestamp> {
    t.checked_add_signed(chrono::TimeDelta::try_days(i64::from(days))?)
        .filter(rfc3339_year)
}

/// A year RFC 3339 writes: 0000–9999.
fn rfc3339_year(t: &Timestamp) -> bool {
    (0..=9999).contains(&chrono::Datelike::year(t))
}

/// `2026-11-20T09:13:20.189Z`: RFC 3339 in UTC with `Z`, the fraction only when there is one.
pub fn rfc3339(t: Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// `"12345"` → `"12,345"` (ASCII digits only).
pub fn thousands(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    thousands_into(&mut out, digits);
    out
}

/// [`thousands`], appended to `out`.
fn thousands_into(out: &mut String, digits: &str) {
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
}

/// `12345` → `12,345`: counts in sentences written for people.
pub fn grouped(n: u64) -> String {
    let mut out = String::new();
    grouped_into(&mut out, n);
    out
}

/// [`grouped`], appended to `out`.
pub fn grouped_into(out: &mut String, n: u64) {
    thousands_into(out, itoa::Buffer::new().format(n));
}

/// Makes a cell inert in spreadsheets by prefixing `'` (OWASP's CSV-injection advice), so Excel,
/// LibreOffice and Sheets show it as text: a cell that starts with `=`, `+`, `-`, `@`, TAB, CR,
/// LF or NUL, or with blank or invisible characters (spaces, no-break and ideographic spaces, a
/// zero-width space or BOM, other control characters) followed by one of `=`, `+`, `-`, `@`, or
/// with their full-width forms `＝ ＋ － ＠` (U+FF1D, U+FF0B, U+FF0D, U+FF20), which some
/// spreadsheet locales read as formulas too. Every CSV writer and the xlsx writer use it.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    // Fast path, on every cell of the largest CSVs: a printable ASCII first byte decides alone
    // (the rest is out of line, so this stays as fast as the first-byte check it replaced).
    let live = match cell.as_bytes().first() {
        None => false,
        Some(b'=' | b'+' | b'-' | b'@') => true,
        Some(&b) if b > b' ' && b < 0x7f => false,
        Some(_) => formula_behind_blanks(cell),
    };
    if live {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// The slow path of [`neutralise`], for a cell whose first character is a control character, a
/// space or not ASCII.
#[cold]
#[inline(never)]
fn formula_behind_blanks(cell: &str) -> bool {
    if cell.starts_with(['\t', '\r', '\n', '\0']) {
        return true;
    }
    let blank =
        |c: char| c.is_whitespace() || c.is_control() || matches!(c, '\u{feff}' | '\u{200b}');
    cell.trim_start_matches(blank).starts_with([
        '=', '+', '-', '@', '\u{ff1d}', '\u{ff0b}', '\u{ff0d}', '\u{ff20}',
    ])
}

/// A character that shows nothing itself but can change how the text around it reads: a format
/// character (Unicode category Cf, as of Unicode 15: the bidi embeddings and overrides U+202A–
/// U+202E and isolates U+2066–U+2069, the marks U+200E, U+200F and U+061C, zero-width spaces
/// and joiners, the soft hyphen, the BOM, tag characters …) or a control character (Cc) other
/// than tab, line feed and carriage return. `old-reporting` + U+202E + ` — removes 6 actions`
/// reads reversed after the name: names, paths, tags and SIDs come from the export, which an
/// attacker may have written, so pages show these as [`push_visible`] text.
pub fn is_hidden(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        || matches!(u32::from(c),
            0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x890..=0x891 | 0x8e2 | 0x180e
            | 0x200b..=0x200f | 0x202a..=0x202e | 0x2060..=0x2064 | 0x2066..=0x206f | 0xfeff
            | 0xfff9..=0xfffb | 0x110bd | 0x110cd | 0x13430..=0x1343f | 0x1bca0..=0x1bca3
            | 0x1d173..=0x1d17a | 0xe0001 | 0xe0020..=0xe007f)
}

/// How a page (`report.html`, `diff.html`, a recommendation's README) shows an [`is_hidden`]
/// character: `[U+202E]`, plain ASCII that reorders nothing and reads the same in text, in an
/// attribute and in Markdown.
pub fn push_visible(out: &mut String, c: char) {
    let _ = write!(out, "[U+{:04X}]", u32::from(c));
}

/// `text` with each [`is_hidden`] character written as [`push_visible`] shows it.
pub fn visible(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(is_hidden) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_hidden(c) {
            push_visible(&mut out, c);
        } else {
            out.push(c);
        }
    }
    out.into()
}

/// "3 critical actions and 1 high-sensitivity action": the non-zero counts, each with its
/// singular or plural noun, joined with commas and a final "and".
pub fn count_phrase(parts: &[(u64, &str, &str)]) -> String {
    let words: Vec<String> = parts
        .iter()
        .filter(|(n, _, _)| *n > 0)
        .map(|(n, one, many)| format!("{n} {}", if *n == 1 { one } else { many }))
        .collect();
    match words.as_slice() {
        [] => "nothing".to_string(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The first `at_most` of `names`, `, `-separated, then `, and N more`: how a warning or an
/// evidence text lists principals, actions or files.
pub fn listed<S: AsRef<str>>(names: &[S], at_most: usize) -> String {
    let mut text = names
        .iter()
        .take(at_most)
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > at_most {
        let _ = write!(text, ", and {} more", names.len() - at_most);
    }
    text
}

/// Whole days from `earlier` to `later` (negative when `earlier` is the later one). Cannot
/// overflow: any two representable times are less than 2^63 milliseconds apart.
pub fn whole_days(earlier: Timestamp, later: Timestamp) -> i64 {
    later.signed_duration_since(earlier).num_days()
}

/// The kind of IAM principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalType {
    Role,
    User,
    Group,
    /// An IAM Identity Center permission set (from the organisation part): one principal for
    /// every `AWSReservedSSO_*` role it is provisioned as.
    PermissionSet,
}

impl PrincipalType {
    /// The lower-case word used in CSV columns and folder names (`role`, `user`, `group`).
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalType::Role => "role",
            PrincipalType::User => "user",
            PrincipalType::Group => "group",
            PrincipalType::PermissionSet => "permission_set",
        }
    }

    /// The kind in a sentence: `role`, `user`, `group`, `permission set`.
    pub fn noun(self) -> &'static str {
        match self {
            PrincipalType::PermissionSet => "permission set",
            k => k.as_str(),
        }
    }

    /// The folder under `last-accessed/` that holds files for this kind (`roles`, `users`, `groups`).
    pub fn folder(self) -> &'static str {
        match self {
            PrincipalType::Role => "roles",
            PrincipalType::User => "users",
            PrincipalType::Group => "groups",
            PrincipalType::PermissionSet => "permission-sets",
        }
    }
}

impl fmt::Display for PrincipalType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An inline policy embedded in a role, user or group.
#[derive(Debug, Clone)]
pub struct InlinePolicy {
    pub name: String,
    pub document: PolicyDocument,
}

/// A managed policy (customer- or AWS-managed), with its default version's document.
#[derive(Debug, Clone)]
pub struct ManagedPolicy {
    pub arn: String,
    /// `PolicyName`, or the last segment of the ARN when the export lacks it (moto).
    pub name: String,
    pub path: String,
    /// True for `arn:<partition>:iam::aws:policy/...`.
    pub aws_managed: bool,
    pub default_version_id: Option<String>,
    /// `AttachmentCount`: roles, users and groups it is attached to (its uses as a permissions
    /// boundary not counted).
    pub attachment_count: Option<u32>,
    /// `PermissionsBoundaryUsageCount`: roles and users that use it as their permissions boundary,
    /// which a filtered export may leave out.
    pub boundary_uses: Option<u32>,
    pub create_date: Option<Timestamp>,
    pub update_date: Option<Timestamp>,
    /// The document of the default version: one allocation shared by every export that holds the
    /// same AWS managed policy version with the same document (`input::SharedDocuments`).
    pub document: std::sync::Arc<PolicyDocument>,
    /// How many versions its `PolicyVersionList` holds (at most 255 counted).
    pub versions: u8,
    /// Of a customer managed policy that has as many versions as IAM keeps
    /// ([`MAX_POLICY_VERSIONS`]): its oldest version other than the default (by `CreateDate`,
    /// else by number), which must be deleted before a new version can be made.
    pub oldest_other_version: Option<Box<str>>,
    /// `CreateDate` of the default version.
    pub default_created: Option<Timestamp>,
    /// The other versions its `PolicyVersionList` holds with a `VersionId` and a `Document`,
    /// oldest first (undated ones first): what each allowed tells which of the default version's
    /// actions a version made later added (`policy::versions`).
    pub other_versions: Box<[OtherVersion]>,
}

/// A version of a managed policy other than its default one, as `PolicyVersionList` holds it.
#[derive(Debug, Clone)]
pub struct OtherVersion {
    /// `VersionId` (`v3`).
    pub id: Box<str>,
    /// `CreateDate` (AWS always writes it; an edited file may not).
    pub created: Option<Timestamp>,
    /// Shared as the default version's is, for an AWS managed policy.
    pub document: Arc<PolicyDocument>,
}

/// The number of policy version `id` (`v12`: 12); `None` when it has none.
pub fn version_number(id: &str) -> Option<u64> {
    id.strip_prefix('v').and_then(|n| n.parse::<u64>().ok())
}

/// How many versions IAM keeps of a managed policy: `CreatePolicyVersion` fails with
/// `LimitExceeded` on a policy that has them all.
pub const MAX_POLICY_VERSIONS: u8 = 5;

impl ManagedPolicy {
    /// Whether IAM counts a principal that uses it as its permissions boundary
    /// (`PermissionsBoundaryUsageCount`): one the export may leave out, whose permissions a change
    /// of the policy would change, unseen.
    pub fn is_a_boundary(&self) -> bool {
        self.boundary_uses.is_some_and(|n| n > 0)
    }

    /// Whether the export lists every version the policy ever had, each with its `CreateDate`
    /// and document (`v1` to the newest, none deleted, and none made after the newest listed:
    /// `UpdateDate`, when its newest version was made, is no later): then they date what each
    /// version added (`policy::versions`). Else a version deleted since may have lacked an action
    /// the default version grants, and what the versions date may be too early.
    pub fn versions_complete(&self) -> bool {
        let default = self.default_version_id.as_deref().and_then(version_number);
        let (Some(default), Some(default_created)) = (default, self.default_created) else {
            return false;
        };
        if self.other_versions.iter().any(|v| v.created.is_none()) {
            return false;
        }
        let newest = self
            .other_versions
            .iter()
            .filter_map(|v| v.created)
            .chain([default_created])
            .max();
        if self
            .update_date
            .is_some_and(|u| newest.is_none_or(|n| u > n))
        {
            return false;
        }
        let mut numbers: Vec<u64> = Vec::with_capacity(self.other_versions.len() + 1);
        numbers.push(default);
        for v in &self.other_versions {
            match version_number(&v.id) {
                Some(n) => numbers.push(n),
                None => return false,
            }
        }
        numbers.sort_unstable();
        usize::from(self.versions) == numbers.len()
            && numbers
                .iter()
                .zip(1u64..)
                .all(|(n, expected)| *n == expected)
    }

    /// When its newest version was made: `UpdateDate`, else the newest `CreateDate` its listed
    /// versions have (a hand-made export may lack `UpdateDate`; AWS always writes it).
    pub fn newest_version_date(&self) -> Option<Timestamp> {
        self.update_date.or_else(|| {
            self.other_versions
                .iter()
                .filter_map(|v| v.created)
                .chain(self.default_created)
                .max()
        })
    }

    /// This policy under another ARN with another document (its other facts copied, its own
    /// document not).
    pub fn with_document(&self, arn: String, document: PolicyDocument) -> ManagedPolicy {
        ManagedPolicy {
            arn,
            name: self.name.clone(),
            path: self.path.clone(),
            aws_managed: self.aws_managed,
            default_version_id: self.default_version_id.clone(),
            attachment_count: self.attachment_count,
            boundary_uses: self.boundary_uses,
            create_date: self.create_date,
            update_date: self.update_date,
            document: std::sync::Arc::new(document),
            versions: self.versions,
            oldest_other_version: self.oldest_other_version.clone(),
            // Another document: the versions' dates do not tell what it added.
            default_created: None,
            other_versions: Box::default(),
        }
    }
}

/// A principal's tags, sorted by key, one value per key: of two with the same key, the later one
/// (as a map filled in order keeps). A boxed slice, because a principal has a few tags and is held
/// twice (the export, the analysis) for ~110,000 principals at 100,000 roles: a `BTreeMap`'s
/// first node is ~550 bytes however few entries it holds, a tag here is 32 bytes. The analysis
/// holds its principals' tags shared ([`Tags::shared`]): keys and values repeat across roles.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Tags(Box<[(Arc<str>, Arc<str>)]>);

impl Tags {
    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(k, _)| (**k).cmp(key))
            .ok()
            .map(|i| &*self.0[i].1)
    }

    /// Every (key, value), by key.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (&**k, &**v))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The same tags, their texts the shared copies of `texts`.
    pub fn shared(&self, texts: &mut SharedTexts) -> Tags {
        Tags(
            self.0
                .iter()
                .map(|(k, v)| (texts.get(k), texts.get(v)))
                .collect(),
        )
    }
}

impl FromIterator<(String, String)> for Tags {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(tags: I) -> Tags {
        let mut all: Vec<(String, String)> = tags.into_iter().collect();
        // Stable: of equal keys, the last given is the last here, and it is the one kept.
        all.sort_by(|a, b| a.0.cmp(&b.0));
        let mut kept: Vec<(String, String)> = Vec::with_capacity(all.len());
        for tag in all {
            match kept.last_mut() {
                Some(last) if last.0 == tag.0 => *last = tag,
                _ => kept.push(tag),
            }
        }
        Tags(
            kept.into_iter()
                .map(|(k, v)| (Arc::from(k), Arc::from(v)))
                .collect(),
        )
    }
}

/// As a map prints: `{"key": "value"}`.
impl fmt::Debug for Tags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// As a map: `{"key": "value", …}`, by key.
impl Serialize for Tags {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

/// `RoleLastUsed` from the authorization details.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleLastUsed {
    pub date: Option<Timestamp>,
    pub region: Option<String>,
}

/// A role, user or group with everything that grants it permissions.
#[derive(Debug, Clone)]
pub struct Principal {
    pub kind: PrincipalType,
    pub name: String,
    /// `RoleId` / `UserId` / `GroupId`.
    pub id: String,
    pub arn: String,
    pub path: String,
    pub created: Option<Timestamp>,
    pub inline_policies: Vec<InlinePolicy>,
    /// ARNs of attached managed policies, in export order.
    pub attached_policies: Vec<String>,
    /// Group names (users only).
    pub groups: Vec<String>,
    /// ARN of the permissions boundary policy (roles and users).
    pub permissions_boundary: Option<String>,
    pub tags: Tags,
    /// Roles only, and only when the export has the field (`{}` is `Some` with no date: AWS saw
    /// no use in its tracking period; absent is `None`: nothing is known).
    pub role_last_used: Option<RoleLastUsed>,
    /// Roles only: path `/aws-service-role/`.
    pub service_linked: bool,
    /// Roles only: who the trust policy lets assume it (sorted).
    pub trusted: Vec<TrustedPrincipal>,
}

/// One principal a role's trust policy allows: `kind` is `AWS`, `Service`, `Federated`,
/// `CanonicalUser`, or `*` for `"Principal": "*"`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct TrustedPrincipal {
    pub kind: String,
    pub value: String,
}

/// One tracked action inside a service entry of a last-accessed report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedAction {
    /// The bare action name as AWS wrote it (`CreateFleet`); a `service:` prefix is stripped.
    /// Names and regions are shared across a load's reports ([`SharedTexts`]).
    pub name: Arc<str>,
    pub last_accessed: Option<Timestamp>,
    pub region: Option<Arc<str>>,
}

/// One service entry of a last-accessed report: what the verdicts read of it (the service's
/// display name and the last authenticated entity are not kept: nothing reads them, and at
/// 100,000 roles the parsed reports were the largest part of the heap).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccess {
    /// `ServiceNamespace`, lower-cased (`ec2`). Namespaces and regions are shared across a
    /// load's reports ([`SharedTexts`]): a report repeats the same few hundred texts, and at
    /// 100,000 roles one allocation per text left a fragmented heap behind once freed.
    pub namespace: Arc<str>,
    pub last_authenticated: Option<Timestamp>,
    pub region: Option<Arc<str>>,
    /// `TrackedActionsLastAccessed`: `None` when the key is absent, `Some(vec![])` when empty.
    pub tracked_actions: Option<Vec<TrackedAction>>,
}

/// Granularity of a last-accessed job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobType {
    ServiceLevel,
    ActionLevel,
}

/// A complete (`COMPLETED`, not truncated) last-accessed report for one principal.
#[derive(Debug, Clone)]
pub struct LastAccessed {
    pub job_type: Option<JobType>,
    pub job_creation: Option<Timestamp>,
    /// `JobCompletionDate`, or `JobCreationDate` when the file has none (its data is no newer
    /// than the job); a file with neither is not a usable report. `None` only when built by hand.
    pub job_completion: Option<Timestamp>,
    /// Sorted by namespace.
    pub services: Vec<ServiceAccess>,
}

/// Credential report value that may be a date or one of AWS's sentinels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum ReportDate {
    Date(Timestamp),
    /// `N/A`
    NotApplicable,
    /// `no_information`
    NoInformation,
    /// `not_supported`
    NotSupported,
}

impl ReportDate {
    pub fn date(self) -> Option<Timestamp> {
        match self {
            ReportDate::Date(d) => Some(d),
            _ => None,
        }
    }
}

/// One access key (or certificate) slot of a credential report row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKeyInfo {
    pub active: bool,
    pub last_rotated: ReportDate,
    pub last_used_date: ReportDate,
    pub last_used_region: Option<String>,
    pub last_used_service: Option<String>,
}

/// One row of the credential report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialReportRow {
    /// `<root_account>` for the root user.
    pub user: String,
    pub arn: String,
    pub user_creation_time: ReportDate,
    /// `None` for `not_supported` (root).
    pub password_enabled: Option<bool>,
    pub password_last_used: ReportDate,
    pub password_last_changed: ReportDate,
    pub password_next_rotation: ReportDate,
    pub mfa_active: bool,
    pub access_keys: [AccessKeyInfo; 2],
    pub certs_active: [bool; 2],
}

impl CredentialReportRow {
    pub fn is_root(&self) -> bool {
        self.user == "<root_account>"
    }

    /// The user's last use of its password or an access key, as the report shows it.
    pub fn last_used(&self) -> Option<Timestamp> {
        let [k1, k2] = &self.access_keys;
        [
            self.password_last_used,
            k1.last_used_date,
            k2.last_used_date,
        ]
        .into_iter()
        .filter_map(ReportDate::date)
        .max()
    }

    /// The latest thing this row shows happening (a creation, a use, a change, a rotation; not
    /// the next rotation, which is due): the report was generated no earlier.
    pub fn newest_date(&self) -> Option<Timestamp> {
        let [k1, k2] = &self.access_keys;
        [
            self.user_creation_time,
            self.password_last_changed,
            k1.last_rotated,
            k2.last_rotated,
        ]
        .into_iter()
        .filter_map(ReportDate::date)
        .chain(self.last_used())
        .max()
    }
}

/// A file that was read, with its SHA-256, for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct InputFile {
    /// Path relative to the export folder, `/`-separated.
    pub path: String,
    pub sha256: Sha256Sum,
    pub bytes: u64,
}

impl InputFile {
    /// The record of the file at `path` (relative to the export folder) that holds `bytes`.
    pub fn of(path: &str, bytes: &[u8]) -> InputFile {
        InputFile {
            path: path.to_string(),
            sha256: Sha256Sum::of(bytes),
            bytes: bytes.len() as u64,
        }
    }
}

/// A SHA-256 digest: its 32 bytes (one per file read, held to the last writer: as 64 hex digits
/// in a `String` it took 88 bytes, ~60 MB more at 1,000,000 roles). Written (`Display`, JSON) as
/// 64 lowercase hex digits, and ordered as that text is.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sha256Sum(pub [u8; 32]);

impl Sha256Sum {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Sha256Sum {
        use sha2::Digest;
        Sha256Sum(sha2::Sha256::digest(bytes).into())
    }
}

impl std::fmt::Display for Sha256Sum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl std::fmt::Debug for Sha256Sum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl Serialize for Sha256Sum {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A problem in the input that does not stop the run; shown in every report.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Warning {
    /// Stable machine-readable code, e.g. `last_accessed_incomplete`.
    pub code: String,
    /// File the warning is about, relative to the export folder when inside it.
    pub file: Option<String>,
    /// JSON path inside the file, e.g. `$.ServicesLastAccessed[3]`.
    pub json_path: Option<String>,
    pub message: String,
}

/// Metadata from `manifest.json`, when present.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Manifest {
    pub account_id: Option<String>,
    pub partition: Option<String>,
    pub created: Option<Timestamp>,
    /// When the credential report was generated (`GeneratedTime`, which its CSV does not
    /// hold): its dates end there.
    pub credential_report_generated: Option<Timestamp>,
    /// When the first run of the fetch started (`runs[0].started`): the authorization details
    /// were fetched then or later (runs are only added to the list, and `--refresh` starts it
    /// again), so `RoleLastUsed` may show no use after this time.
    pub fetch_started: Option<Timestamp>,
    pub tool: Option<String>,
    /// Declared SHA-256 per relative path.
    pub files: BTreeMap<String, String>,
    /// Principals whose last-accessed data the fetch could not get, with the reason.
    pub missing: BTreeMap<String, String>,
}

/// Whether an export's principals and policies ([`Export::principals`], [`Export::policies`])
/// stay held from loading to planning. `report` drops those of a large organisation's exports
/// once the analysis has collected them and reads them again when planning reaches them
/// (`input::LoadOptions::keep_details`): held, they were ~2.6 GB of the analysis stages at
/// 1,000,000 roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Details {
    /// Held from loading on.
    #[default]
    Held,
    /// Held until the analysis has collected the export (`analysis::analyze_organization_freeing`),
    /// then dropped.
    DropWhenCollected,
    /// Dropped: `input::reload_details` reads them again.
    Dropped,
}

/// One AWS account at one moment: everything read from one export folder.
#[derive(Debug, Clone)]
pub struct Export {
    /// The export folder as given (or found under an organisation folder).
    pub root: PathBuf,
    pub account_id: String,
    pub partition: String,
    /// Roles, users and groups, sorted by (kind, name).
    pub principals: Vec<Principal>,
    /// Managed policies by ARN (shared: a copy of part of an export, as verification makes one
    /// per plan, shares them instead of copying their documents).
    pub policies: BTreeMap<String, Arc<ManagedPolicy>>,
    /// Complete last-accessed reports by (kind, principal name). Empty while
    /// `last_accessed_deferred`.
    pub last_accessed: BTreeMap<(PrincipalType, String), LastAccessed>,
    /// The reports were read, checked and dropped when the export was loaded
    /// (`input::LoadOptions::defer_last_accessed`): `input::reload_last_accessed` reads them again.
    pub last_accessed_deferred: bool,
    /// Whether `principals` and `policies` are held, or read again when needed.
    pub details: Details,
    pub credential_report: Option<Vec<CredentialReportRow>>,
    pub manifest: Option<Manifest>,
    /// Newest `JobCompletionDate` of the export's last-accessed files, else the manifest's time.
    pub data_time: Option<Timestamp>,
    /// Every file read, sorted by path.
    pub files: Vec<InputFile>,
    /// Sorted.
    pub warnings: Vec<Warning>,
}

impl Export {
    /// The time the export's data ends: the newest `JobCompletionDate` of the last-accessed
    /// reports it holds, else [`Export::data_time`] (which the loader sets to that, or to the
    /// manifest's time). `None`: the export has no time of its own, so an `--as-of` cannot be
    /// checked against it. Every part of the analysis asks this one question, so an export built
    /// by a library caller with job dates but no `data_time` is judged as the loaded one would be.
    pub fn own_time(&self) -> Option<Timestamp> {
        self.newest_job().or(self.data_time)
    }

    /// The users in group `group`.
    pub fn group_members<'e, 'g>(
        &'e self,
        group: &'g str,
    ) -> impl Iterator<Item = &'e Principal> + use<'e, 'g> {
        self.principals
            .iter()
            .filter(move |p| p.kind == PrincipalType::User && p.groups.iter().any(|g| g == group))
    }

    /// The kinds of principal the export lists none of ("users", "groups", "roles"; empty when it
    /// lists every kind). Where a managed policy's `AttachmentCount` or
    /// `PermissionsBoundaryUsageCount` is absent (a hand-made export: AWS always writes them), only
    /// the export's own principals tell who holds it, and they say nothing about a kind left out
    /// (authorization details fetched with `--filter`): a policy would be called unattached
    /// (`delete_policy` of a policy in use) or given a new version (narrowing principals unseen).
    pub fn kinds_not_listed(&self) -> Vec<&'static str> {
        [
            (PrincipalType::User, "users"),
            (PrincipalType::Group, "groups"),
            (PrincipalType::Role, "roles"),
        ]
        .into_iter()
        .filter(|&(kind, _)| !self.principals.iter().any(|p| p.kind == kind))
        .map(|(_, word)| word)
        .collect()
    }

    /// The oldest `JobCompletionDate` of the last-accessed reports it holds.
    pub fn oldest_job(&self) -> Option<Timestamp> {
        self.last_accessed
            .values()
            .filter_map(|la| la.job_completion)
            .min()
    }

    /// The newest `JobCompletionDate` of the last-accessed reports it holds.
    pub fn newest_job(&self) -> Option<Timestamp> {
        self.last_accessed
            .values()
            .filter_map(|la| la.job_completion)
            .max()
    }

    /// When its credential report was generated, as its manifest says
    /// ([`Manifest::credential_report_generated`]).
    pub fn credential_report_generated(&self) -> Option<Timestamp> {
        self.manifest
            .as_ref()
            .and_then(|m| m.credential_report_generated)
    }

    /// The earliest time its authorization details (and so every `RoleLastUsed` in them) may
    /// have been fetched: the manifest's `fetch_started`; without it, the later of the oldest
    /// last-accessed report's completion (as the credential report's time is bounded,
    /// `analysis::window::credential_report_time`) and the newest date the details show (a
    /// creation, a change, a use: they were fetched no earlier). `None` when neither is known.
    pub fn details_from(&self) -> Option<Timestamp> {
        if let Some(from) = self.manifest.as_ref().and_then(|m| m.fetch_started) {
            return Some(from);
        }
        let principals = self
            .principals
            .iter()
            .flat_map(|p| [p.created, p.role_last_used.as_ref().and_then(|r| r.date)]);
        let policies = self.policies.values().flat_map(|m| {
            let versions = m.other_versions.iter().map(|v| v.created);
            [m.create_date, m.update_date, m.default_created]
                .into_iter()
                .chain(versions)
        });
        let shown = principals.chain(policies).flatten().max();
        self.oldest_job().max(shown)
    }

    /// The principal of that kind and name. `principals` is sorted by (kind, name) when loaded,
    /// so this is a binary search; a hand-built, unsorted export still gets a linear scan.
    pub fn principal(&self, kind: PrincipalType, name: &str) -> Option<&Principal> {
        self.principals
            .binary_search_by(|p| (p.kind, p.name.as_str()).cmp(&(kind, name)))
            .ok()
            .and_then(|i| self.principals.get(i))
            .or_else(|| {
                self.principals
                    .iter()
                    .find(|p| p.kind == kind && p.name == name)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::{Sha256Sum, Tags, count_phrase, days_after, days_before, grouped, grouped_into};
    use super::{Timestamp, is_hidden, listed, thousands, visible};
    use std::collections::BTreeMap;

    #[test]
    fn hidden_characters_are_shown_as_their_code_point() {
        for c in [
            '\u{202e}',
            '\u{202a}',
            '\u{2066}',
            '\u{2069}',
            '\u{200e}',
            '\u{200f}',
            '\u{61c}',
            '\u{200b}',
            '\u{ad}',
            '\u{feff}',
            '\u{e0041}',
            '\u{0}',
            '\u{1b}',
            '\u{7f}',
            '\u{85}',
        ] {
            assert!(is_hidden(c), "{:x}", u32::from(c));
        }
        for c in [
            'a', '\t', '\n', '\r', ' ', 'é', '\u{2028}', '\u{2065}', '\u{3000}', '\u{5d0}',
        ] {
            assert!(!is_hidden(c), "{:x}", u32::from(c));
        }
        assert_eq!(
            visible("old-reporting\u{202e} x"),
            "old-reporting[U+202E] x"
        );
        assert_eq!(visible("a\u{1}\u{e0041}b"), "a[U+0001][U+E0041]b");
        assert!(matches!(
            visible("plain é"),
            std::borrow::Cow::Borrowed("plain é")
        ));
    }

    #[test]
    fn listed_names_at_most_then_how_many_more() {
        let names: Vec<String> = (1..=7).map(|i| format!("n{i}")).collect();
        assert_eq!(listed(&names[..0], 5), "");
        assert_eq!(listed(&names[..5], 5), "n1, n2, n3, n4, n5");
        assert_eq!(listed(&names, 5), "n1, n2, n3, n4, n5, and 2 more");
        assert_eq!(listed(&["a", "b"], 1), "a, and 1 more");
    }

    /// Dates computed from input stay in the years RFC 3339 writes (0000–9999), or are `None`.
    #[test]
    fn computed_dates_stay_within_four_digit_years() {
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        assert_eq!(
            days_before(t("0000-04-01T00:00:00Z"), 90),
            Some(t("0000-01-02T00:00:00Z"))
        );
        assert_eq!(days_before(t("0000-01-01T00:00:00Z"), 1), None);
        assert_eq!(days_before(t("0000-03-01T00:00:00Z"), u32::MAX), None);
        assert_eq!(
            days_after(t("9999-12-30T00:00:00Z"), 1),
            Some(t("9999-12-31T00:00:00Z"))
        );
        assert_eq!(days_after(t("9999-12-31T00:00:00Z"), 1), None);
    }

    /// A digest is written as the 64 lowercase hex digits `sha256sum` prints (FIPS 180-2's
    /// example), in JSON too, and digests order as those texts do.
    #[test]
    fn a_digest_is_written_and_ordered_as_its_hex_text() {
        let abc = Sha256Sum::of(b"abc");
        let hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(abc.to_string(), hex);
        assert_eq!(format!("{abc:?}"), hex);
        assert_eq!(serde_json::to_string(&abc).unwrap(), format!("\"{hex}\""));
        let digests: Vec<Sha256Sum> = [b"".as_slice(), b"a", b"abc", b"b", &[0xff; 3], &[0; 3]]
            .iter()
            .map(|b| Sha256Sum::of(b))
            .chain([
                Sha256Sum([0; 32]),
                Sha256Sum([0xff; 32]),
                Sha256Sum([0x9f; 32]),
            ])
            .collect();
        for a in &digests {
            for b in &digests {
                assert_eq!(a.cmp(b), a.to_string().cmp(&b.to_string()), "{a} {b}");
            }
        }
    }

    #[test]
    fn tags_keep_the_last_value_of_a_key_sorted_by_key_as_a_map_did() {
        let given = [
            ("team", "a"),
            ("env", "prod"),
            ("team", "b"),
            ("", "empty key"),
        ];
        let pairs = || given.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        let tags: Tags = pairs().collect();
        let map: BTreeMap<String, String> = pairs().collect();
        assert!(
            tags.iter()
                .eq(map.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        );
        assert_eq!(tags.len(), 3);
        // Shared: the same tags, each text one copy for every principal that has it.
        let mut texts = super::SharedTexts::default();
        let (one, two) = (tags.shared(&mut texts), tags.shared(&mut texts));
        assert!(one == tags && two == tags);
        assert!(one.0.iter().zip(two.0.iter()).all(|(a, b)| {
            std::sync::Arc::ptr_eq(&a.0, &b.0) && std::sync::Arc::ptr_eq(&a.1, &b.1)
        }));
        assert_eq!(tags.get("team"), Some("b"));
        assert_eq!(tags.get("owner"), None);
        assert_eq!(format!("{tags:?}"), format!("{map:?}"));
        assert_eq!(
            serde_json::to_string(&tags).expect("json"),
            serde_json::to_string(&map).expect("json")
        );
        assert!(Tags::default().is_empty());
    }

    #[test]
    fn grouped_puts_a_comma_before_every_third_digit_from_the_right() {
        for (n, text) in [
            (0, "0"),
            (999, "999"),
            (1_000, "1,000"),
            (12_345, "12,345"),
            (100_000, "100,000"),
            (1_234_567, "1,234,567"),
            (u64::MAX, "18,446,744,073,709,551,615"),
        ] {
            assert_eq!(grouped(n), text);
            assert_eq!(thousands(&n.to_string()), text);
            let mut out = String::from("<td>");
            grouped_into(&mut out, n);
            assert_eq!(out, format!("<td>{text}"));
        }
    }

    #[test]
    fn count_phrase_names_only_what_there_is() {
        let p = |c: u64, h: u64| {
            count_phrase(&[
                (c, "critical action", "critical actions"),
                (h, "high action", "high actions"),
            ])
        };
        assert_eq!(p(0, 1), "1 high action");
        assert_eq!(p(3, 1), "3 critical actions and 1 high action");
        assert_eq!(p(0, 0), "nothing");
        assert_eq!(
            count_phrase(&[(1, "a", "as"), (2, "b", "bs"), (3, "c", "cs")]),
            "1 a, 2 bs and 3 cs"
        );
    }
}
