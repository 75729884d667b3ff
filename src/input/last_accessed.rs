//! `last-accessed/{roles,users,groups}/<Name>.json`: the output of
//! `aws iam get-service-last-accessed-details` (reference §1.2), one file per principal, pages
//! merged. Only complete reports reach the model; anything else is a warning.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::object::objects_only;
use super::time::Time;
use super::{
    Files, LAST_ACCESSED_DIR, Warnings, has_extension, in_export, parse_json, sorted_entries,
};
use crate::error::{Error, Result};
use crate::model::{
    JobType, LastAccessed, Manifest, Principal, PrincipalType, ServiceAccess, SharedTexts,
    TrackedAction,
};

#[derive(Debug, Default, Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase", default)]
pub(crate) struct Report {
    job_status: Option<String>,
    job_type: Option<String>,
    job_creation_date: Option<Time>,
    job_completion_date: Option<Time>,
    services_last_accessed: Option<Vec<Service>>,
    is_truncated: Option<bool>,
    error: Option<ErrorDetails>,
    /// A key of the authorization details, to say so when that file is given here by mistake.
    role_detail_list: Option<IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase", default)]
struct ErrorDetails {
    message: Option<String>,
    code: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase", default)]
struct Service {
    // `ServiceName` and `TotalAuthenticatedEntities` are not read: serde skips them without
    // allocating (a report holds one entry per granted service).
    service_namespace: Option<String>,
    last_authenticated: Option<Time>,
    /// Who used the service: checked to be able to belong to the principal ([`Owner`]). Only a
    /// used service has one.
    last_authenticated_entity: Option<String>,
    last_authenticated_region: Option<String>,
    tracked_actions_last_accessed: Option<Vec<Tracked>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase", default)]
struct Tracked {
    action_name: Option<String>,
    /// Checked like [`Service::last_authenticated_entity`].
    last_accessed_entity: Option<String>,
    last_accessed_time: Option<Time>,
    last_accessed_region: Option<String>,
}

objects_only!(Report, ErrorDetails, Service, Tracked);

const KINDS: [PrincipalType; 3] = [
    PrincipalType::Role,
    PrincipalType::User,
    PrincipalType::Group,
];

/// Reads every last-accessed file; returns the complete reports by (kind, principal name).
///
/// The files are read and parsed on every core ([`REPORTS_AHEAD`] at most waiting), and checked
/// in the order of their names on the caller's thread, as one by one: the first file that fails
/// is the error, and every warning is the one a one-by-one read gives. An export of one account
/// of 10,000 roles reads 11,000 of them (docs/performance.md, "fortieth pass").
pub(super) fn load(
    files: &mut Files,
    principals: &[Principal],
    manifest: Option<&Manifest>,
    warnings: &mut Warnings,
) -> Result<BTreeMap<(PrincipalType, String), LastAccessed>> {
    let known: BTreeMap<(PrincipalType, &str), &Principal> = principals
        .iter()
        .map(|p| ((p.kind, p.name.as_str()), p))
        .collect();
    let mut reports = BTreeMap::new();
    // Each principal's report file, by the principal it is named after.
    let mut seen: BTreeMap<(PrincipalType, String), &str> = BTreeMap::new();
    // One copy of each namespace, action name and region for the whole export.
    let mut texts = SharedTexts::default();

    let (entries, unlisted) = entries(files)?;
    let root = files.root.clone();
    let mut failed = None;
    crate::parallel::stream_ordered(
        entries.len(),
        REPORTS_AHEAD,
        || (),
        |(), i| match &entries[i] {
            Entry::Report { rel, .. } => Some(read_report(&root, rel)),
            Entry::Unexpected { .. } => None,
        },
        |i, read| {
            let (kind, rel, principal) = match &entries[i] {
                Entry::Unexpected { rel, why } => {
                    warn_unexpected(warnings, rel, why);
                    return true;
                }
                Entry::Report {
                    kind,
                    rel,
                    principal,
                } => (*kind, rel, principal),
            };
            let step = read.transpose().and_then(|read| {
                let Some((file, report)) = read else {
                    return Ok(());
                };
                files.record(file);
                let Some(owner) = known.get(&(kind, principal.as_str())) else {
                    warnings.push(
                        "last_accessed_unknown_principal",
                        Some(rel),
                        None,
                        format!(
                            "no {kind} named {principal:?} in authorization-details.json; file \
                             ignored"
                        ),
                    );
                    return Ok(());
                };
                // `Name.json` and `Name.JSON` are two files for one principal on a case-sensitive
                // file system: which one counts cannot be guessed (and keeping the later one
                // silently could keep an older job).
                if let Some(first) = seen.insert((kind, principal.clone()), rel) {
                    return Err(Error::Input {
                        path: files.abs(rel),
                        message: format!(
                            "a second last-accessed report for {kind} {principal:?}: {first} is \
                             one too; keep only the file of its newest job"
                        ),
                    });
                }
                let owner = Owner {
                    kind,
                    name: &owner.name,
                    arn: &owner.arn,
                };
                let path = files.abs(rel);
                if let Some(report) =
                    complete(&path, rel, report, Some(&owner), &mut texts, warnings)?
                {
                    reports.insert((kind, principal.clone()), report);
                }
                Ok(())
            });
            step.map_err(|e| failed = Some(e)).is_ok()
        },
    );
    // A folder that could not be listed comes after every entry the walk met before it.
    if let Some(e) = failed.or(unlisted) {
        return Err(e);
    }
    warn_missing(principals, &seen, manifest, warnings);
    Ok(reports)
}

/// Parsed report files that may wait for their turn to be checked (`load`): a report of a
/// principal granted every service is ~100 KB parsed, and an organisation's exports load on
/// every core, each with its own. As fast as 64 (docs/performance.md, "fortieth pass").
const REPORTS_AHEAD: usize = 16;

/// What `load` meets in `last-accessed/`, in the order of the names.
enum Entry {
    /// A report file of a principal of `kind`, named after it.
    Report {
        kind: PrincipalType,
        rel: String,
        principal: String,
    },
    /// Anything else there: warned about, not read.
    Unexpected { rel: String, why: String },
}

/// The entries of `last-accessed/` (none when there is no such folder; a warning when it is a
/// file), and the error of a kind's folder that could not be listed: the walk stops there, and
/// the error is `load`'s unless a file met before it fails first, as one by one.
fn entries(files: &Files) -> Result<(Vec<Entry>, Option<Error>)> {
    let mut found = Vec::new();
    let unexpected = |rel: String, why: &str| Entry::Unexpected {
        rel,
        why: why.to_string(),
    };
    let dir = files.abs(LAST_ACCESSED_DIR);
    if !dir.is_dir() {
        if dir.exists() {
            found.push(unexpected(LAST_ACCESSED_DIR.into(), "not a folder"));
        }
        return Ok((found, None));
    }
    for entry in sorted_entries(&dir)? {
        let Some(name) = visible_name(&entry) else {
            continue;
        };
        let folder = format!("{LAST_ACCESSED_DIR}/{name}");
        match KINDS.into_iter().find(|k| k.folder() == name) {
            Some(kind) if entry.is_dir() => {
                let listed = match sorted_entries(&entry) {
                    Ok(listed) => listed,
                    Err(e) => return Ok((found, Some(e))),
                };
                for file in listed {
                    let Some(file_name) = visible_name(&file) else {
                        continue;
                    };
                    let rel = format!("{folder}/{file_name}");
                    // A folder named as a report (`r.json/`) is where a report file should
                    // be: read, so refused as any input that is not a regular file.
                    if file.is_dir() && !has_extension(&file, "json") {
                        found.push(unexpected(rel, "a folder, not a report file"));
                    } else if !has_extension(&file, "json") {
                        found.push(unexpected(rel, "not a .json file"));
                    } else {
                        let principal = file
                            .file_stem()
                            .map(|s| s.to_string_lossy().into_owned())
                            .unwrap_or_default();
                        found.push(Entry::Report {
                            kind,
                            rel,
                            principal,
                        });
                    }
                }
            }
            Some(kind) => found.push(unexpected(
                folder,
                &format!(
                    "a file, not a folder: {name}/ holds a report file per {kind}, so none of \
                     its {kind}s' reports is read"
                ),
            )),
            None => found.push(unexpected(
                folder,
                "not one of the folders roles/, users/, groups/",
            )),
        }
    }
    Ok((found, None))
}

/// Reads and parses the report file at `rel` of the export folder `root` (on any thread).
fn read_report(root: &Path, rel: &str) -> Result<(crate::model::InputFile, Report)> {
    let (file, text) = Files::read_text_apart(root, rel)?;
    let report = parse_json(&in_export(root, rel), &text)?;
    Ok((file, report))
}

/// Whether `load` reads the file at `rel` (relative to the export folder, `/`-separated) as a
/// report: `last-accessed/<roles|users|groups>/<visible name>.json`.
pub(super) fn is_report_path(rel: &str) -> bool {
    let parts: Vec<&str> = rel.split('/').collect();
    match parts[..] {
        [dir, folder, file] => {
            dir == LAST_ACCESSED_DIR
                && KINDS.iter().any(|k| k.folder() == folder)
                && !file.starts_with('.')
                && has_extension(Path::new(file), "json")
        }
        _ => false,
    }
}

/// The file name, unless it is hidden (`.DS_Store`); one that is not UTF-8 is read lossily.
fn visible_name(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_string_lossy().into_owned();
    (!name.starts_with('.')).then_some(name)
}

fn warn_unexpected(warnings: &mut Warnings, rel: &str, why: &str) {
    warnings.push(
        "last_accessed_unexpected_file",
        Some(rel),
        None,
        format!("{why}; ignored"),
    );
}

/// The principal a report is filed under (by its folder and file name), whose ARN the entities
/// the report names are checked against ([`check_entities`]).
pub(crate) struct Owner<'a> {
    pub kind: PrincipalType,
    pub name: &'a str,
    pub arn: &'a str,
}

/// Why a report's job gives no usable data (the JSON path and the message of its
/// `last_accessed_incomplete` warning), or `None` when it completed; an error for a file with no
/// `JobStatus`, which is not a report at all.
fn job_unusable(path: &Path, r: &Report) -> Result<Option<(&'static str, String)>> {
    let error = || {
        let e = r.error.as_ref();
        format!(
            "{} ({})",
            e.and_then(|e| e.message.as_deref()).unwrap_or("no message"),
            e.and_then(|e| e.code.as_deref()).unwrap_or("no code")
        )
    };
    Ok(match r.job_status.as_deref() {
        // AWS fills `Error` only for a FAILED job: a COMPLETED one with it says two things, and
        // the one that may be true (some data missing) could make a used permission look unused.
        Some("COMPLETED") if r.error.is_some() => Some((
            "$.Error",
            format!(
                "JobStatus is COMPLETED but the job also reports an Error: {}; AWS gives an Error \
                 only for a FAILED job, so the data may be partial: fetch it again",
                error()
            ),
        )),
        Some("COMPLETED") => None,
        Some("IN_PROGRESS") => Some((
            "$.JobStatus",
            "job still IN_PROGRESS when the file was written: fetch it again".into(),
        )),
        Some("FAILED") => Some(("$.JobStatus", format!("job FAILED: {}", error()))),
        Some(other) => Some(("$.JobStatus", format!("unknown JobStatus {other:?}"))),
        None => {
            let hint = if r.role_detail_list.is_some() {
                " (this looks like authorization-details.json)"
            } else {
                ""
            };
            return Err(Error::parse(
                path,
                "$",
                format!(
                    "no JobStatus: not the output of `aws iam get-service-last-accessed-details`{hint}"
                ),
            ));
        }
    })
}

/// The model's report when the job completed and all pages are present; else a warning. The
/// entities it names are checked against `owner` when given (the fuzzing harness gives none).
pub(crate) fn complete(
    path: &Path,
    rel: &str,
    r: Report,
    owner: Option<&Owner>,
    texts: &mut SharedTexts,
    warnings: &mut Warnings,
) -> Result<Option<LastAccessed>> {
    let mut incomplete = |json_path: &str, message: String| {
        warnings.push(
            "last_accessed_incomplete",
            Some(rel),
            Some(json_path.into()),
            format!("{message}; this principal has no usable last-accessed data"),
        );
        Ok(None)
    };
    if let Some((json_path, message)) = job_unusable(path, &r)? {
        return incomplete(json_path, message);
    }
    if r.is_truncated == Some(true) {
        return incomplete(
            "$.IsTruncated",
            "IsTruncated is true: only the first page; fetch the rest with --marker and merge \
             the ServicesLastAccessed lists (incomplete data)"
                .into(),
        );
    }

    if let Some(owner) = owner
        && let Some((json_path, message)) = check_entities(path, &r, owner)?
    {
        return incomplete(&json_path, message);
    }
    let end = job_end(path, &r)?;
    let mut services = r
        .services_last_accessed
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, s)| service(path, s, i, texts))
        .collect::<Result<Vec<_>>>()?;
    let Some(job_completion) = end else {
        // AWS writes a JobCompletionDate for every completed job. A JobCreationDate alone is as
        // unchecked as a completion alone: a wrong one would become the account's as-of time.
        return incomplete(
            "$.JobCompletionDate",
            "COMPLETED without a JobCompletionDate (AWS writes one for every completed job): \
             when its data ends is not known, and a JobCreationDate alone cannot be checked: a \
             wrong one would move the account's as-of time, and every window, over time nobody \
             observed (fetch it again)"
                .into(),
        );
    };
    if r.job_creation_date.is_none() {
        // AWS always writes it (required in the API model): without it the completion date,
        // the account's as-of time if it is the newest, cannot be checked (`job_end`).
        return incomplete(
            "$.JobCreationDate",
            "COMPLETED with a JobCompletionDate but no JobCreationDate (AWS always writes one): \
             the completion date cannot be checked against the job's creation, and a wrong one \
             would move the account's as-of time, and every window, over time nobody observed \
             (fetch it again)"
                .into(),
        );
    }
    warn_after_job(rel, &services, job_completion, warnings);
    lift_service_times(rel, &mut services, warnings);
    services.sort_by(|a, b| a.namespace.cmp(&b.namespace));
    let merged = merge_duplicates(&mut services);
    if merged > 0 {
        warnings.push(
            "last_accessed_duplicate_entry",
            Some(rel),
            Some("$.ServicesLastAccessed".into()),
            format!(
                "{merged} service or tracked-action entr{} appear more than once (pages merged \
                 twice?); each is read as its latest recorded use, never as the entry without one",
                if merged == 1 { "y" } else { "ies" }
            ),
        );
    }
    Ok(Some(LastAccessed {
        job_type: match r.job_type.as_deref() {
            Some("SERVICE_LEVEL") => Some(JobType::ServiceLevel),
            Some("ACTION_LEVEL") => Some(JobType::ActionLevel),
            _ => None,
        },
        job_creation: r.job_creation_date.map(|t| t.0),
        job_completion: Some(job_completion),
        services,
    }))
}

/// Checks every `LastAuthenticatedEntity` and `LastAccessedEntity` of `r` against the principal
/// the file is filed under. AWS names there the role itself in a role's report, the user itself
/// in a user's, and the member user who last used the group's policies in a group's (reference
/// §1.2). An entity that cannot be the owner's (another account, another role, a role in a
/// user's or a group's report) is an error: the file is another principal's report filed under
/// this name, whose verdicts would be given to the wrong principal. Another user's name in a
/// user's report is returned instead (the JSON path and why), for a warning that leaves the
/// principal without data: IAM can rename a user, and whether AWS then reports the old ARN is
/// not documented.
fn check_entities(path: &Path, r: &Report, owner: &Owner) -> Result<Option<(String, String)>> {
    let mut other_user = None;
    for (i, s) in r.services_last_accessed.iter().flatten().enumerate() {
        // JSON paths are written only for an entity that does not fit (a report has one entry
        // per granted service, and most name no entity).
        let service = || format!("$.ServicesLastAccessed[{i}]");
        let entity = s.last_authenticated_entity.as_deref();
        let at = || format!("{}.LastAuthenticatedEntity", service());
        check_entity(path, owner, entity, at, &mut other_user)?;
        for (j, t) in s.tracked_actions_last_accessed.iter().flatten().enumerate() {
            let entity = t.last_accessed_entity.as_deref();
            let at = || {
                format!(
                    "{}.TrackedActionsLastAccessed[{j}].LastAccessedEntity",
                    service()
                )
            };
            check_entity(path, owner, entity, at, &mut other_user)?;
        }
    }
    Ok(other_user)
}

/// [`check_entities`] for one entity, found at `at()`: an error when it cannot be the owner's,
/// else the first other user's name in `other_user` (its JSON path and why).
fn check_entity(
    path: &Path,
    owner: &Owner,
    entity: Option<&str>,
    at: impl Fn() -> String,
    other_user: &mut Option<(String, String)>,
) -> Result<()> {
    let Some(entity) = entity.map(str::trim).filter(|e| !e.is_empty()) else {
        return Ok(());
    };
    match entity_fits(owner, entity) {
        Ok(true) => Ok(()),
        Ok(false) => {
            other_user.get_or_insert_with(|| {
                let message = format!(
                    "names user {entity}, not user {}: this is another user's report, or the \
                     user was renamed since (fetch it again)",
                    owner.name
                );
                (at(), message)
            });
            Ok(())
        }
        Err(why) => {
            let message = format!(
                "{entity} cannot be in the report of {} {:?} ({why}): this is another \
                 principal's report filed under its name; fetch it again",
                owner.kind, owner.name
            );
            Err(Error::parse(path, at(), message))
        }
    }
}

/// Whether `entity` can be named in `owner`'s report: `Ok(true)` yes, `Ok(false)` another user in
/// a user's report, `Err` never (and why).
fn entity_fits(owner: &Owner, entity: &str) -> std::result::Result<bool, String> {
    use super::authz::Arn;
    let Some(own) = Arn::parse(owner.arn) else {
        // The authorization details refuse a principal whose ARN does not parse.
        return Ok(true);
    };
    let Some(arn) = Arn::parse(entity) else {
        return Err("not an ARN".into());
    };
    if (arn.partition, arn.account) != (own.partition, own.account) {
        return Err(format!(
            "of account {} in partition {}, the principal's is {} in {}",
            arn.account, arn.partition, own.account, own.partition
        ));
    }
    // The entity's kind and name: `role/path/Name`, `assumed-role/Name/session`, `user/path/Name`.
    let (kind, name) = match (arn.service, arn.resource.split_once('/')) {
        ("iam", Some(("role", rest))) => (PrincipalType::Role, rest.rsplit('/').next()),
        ("sts", Some(("assumed-role", rest))) => (PrincipalType::Role, rest.split('/').next()),
        ("iam", Some(("user", rest))) => (PrincipalType::User, rest.rsplit('/').next()),
        _ => return Err("not a role or a user".into()),
    };
    // IAM names are unique without regard to case.
    let same_name = name.is_some_and(|n| n.eq_ignore_ascii_case(owner.name));
    match owner.kind {
        PrincipalType::Role if kind == PrincipalType::Role && same_name => Ok(true),
        PrincipalType::Role => Err("a role's report names the role itself".into()),
        PrincipalType::User if kind == PrincipalType::User => Ok(same_name),
        PrincipalType::User => Err("a user's report names the user itself".into()),
        PrincipalType::Group | PrincipalType::PermissionSet if kind == PrincipalType::User => {
            Ok(true)
        }
        PrincipalType::Group | PrincipalType::PermissionSet => {
            Err("a group's report names the member user who used its policies".into())
        }
    }
}

/// How long after its creation a job may complete: AWS completes one in seconds to minutes.
const JOB_AT_MOST_HOURS: i64 = 24;

/// When a completed job's data ends: its `JobCompletionDate` (`None` without one: [`complete`]
/// gives such a file no usable data, as a `JobCreationDate` alone cannot be checked). A
/// completion before the creation, or more than [`JOB_AT_MOST_HOURS`] after it, is not a time
/// AWS writes: refused, as it would move the window (the account's as-of time is its newest job)
/// over time nobody observed. A completion without a creation cannot be checked either:
/// [`complete`] gives such a file no usable data.
fn job_end(path: &Path, r: &Report) -> Result<Option<crate::model::Timestamp>> {
    let created = r.job_creation_date.as_ref().map(|t| t.0);
    let Some(done) = r.job_completion_date.as_ref().map(|t| t.0) else {
        return Ok(None);
    };
    if let Some(created) = created {
        let hours = done.signed_duration_since(created).num_hours();
        if done < created || hours >= JOB_AT_MOST_HOURS {
            let how = if done < created {
                "before its JobCreationDate".to_string()
            } else {
                format!("{hours} hours after its JobCreationDate")
            };
            return Err(Error::parse(
                path,
                "$.JobCompletionDate",
                format!(
                    "JobCompletionDate {} is {how} {}: AWS completes a job within minutes, so \
                     the file was edited or assembled from different jobs; its window would \
                     cover time the data does not (fetch it again)",
                    crate::model::rfc3339(done),
                    crate::model::rfc3339(created)
                ),
            ));
        }
    }
    Ok(Some(done))
}

/// Merges the entries of a service listed more than once (sorted by namespace) and the tracked
/// actions listed more than once in a service (in any case: IAM action names ignore it) into one
/// each, with the latest recorded use (and its region): keeping the first one met, a used
/// service or action listed again without its time read as unused. Returns how many entries
/// were merged away.
fn merge_duplicates(services: &mut Vec<ServiceAccess>) -> usize {
    let before = services.len();
    services.dedup_by(|later, kept| {
        if later.namespace != kept.namespace {
            return false;
        }
        if later.last_authenticated > kept.last_authenticated {
            kept.last_authenticated = later.last_authenticated;
            kept.region = later.region.take();
        }
        if let Some(more) = later.tracked_actions.take() {
            kept.tracked_actions
                .get_or_insert_with(Vec::new)
                .extend(more);
        }
        true
    });
    let mut merged = before - services.len();
    // IAM action names ignore case: `RunInstances` and `runinstances` are one action. Checked
    // by sorting the names without case (no allocation per action; AWS lists each action once,
    // so this is the path).
    fn folded(a: &TrackedAction) -> impl Iterator<Item = u8> + '_ {
        a.name.bytes().map(|b| b.to_ascii_lowercase())
    }
    let mut order: Vec<usize> = Vec::new();
    for s in services.iter_mut() {
        let Some(actions) = s.tracked_actions.as_mut() else {
            continue;
        };
        order.clear();
        order.extend(0..actions.len());
        order.sort_unstable_by(|x, y| folded(&actions[*x]).cmp(folded(&actions[*y])));
        let same = |w: &[usize]| actions[w[0]].name.eq_ignore_ascii_case(&actions[w[1]].name);
        if !order.windows(2).any(same) {
            continue;
        }
        // In the order first met, each with its latest use.
        let mut at: HashMap<String, usize> = HashMap::new();
        let mut kept: Vec<TrackedAction> = Vec::with_capacity(actions.len());
        for a in actions.drain(..) {
            match at.entry(a.name.to_ascii_lowercase()) {
                std::collections::hash_map::Entry::Occupied(i) => {
                    merged += 1;
                    let i = *i.get();
                    if a.last_accessed > kept[i].last_accessed {
                        kept[i] = a;
                    }
                }
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(kept.len());
                    kept.push(a);
                }
            }
        }
        *actions = kept;
    }
    merged
}

/// A service was used whenever one of its actions was: a tracked action used later than its
/// service's `LastAuthenticated` (or with none) moves the service's last use to the action's (and
/// its region). Kept as written, the service would read as unused in a window its action was
/// used in, and its untracked actions as unused with it. One warning per file, naming the first,
/// when a service has no time or one a day or more earlier ([`LIFT_WARNED_AFTER_HOURS`]): AWS
/// writes the service's time as its latest use, and a few seconds between the two are not worth
/// a warning (which `--strict` makes an error).
fn lift_service_times(rel: &str, services: &mut [ServiceAccess], warnings: &mut Warnings) {
    let mut lifted: Vec<(String, &str)> = Vec::new();
    for (i, s) in services.iter_mut().enumerate() {
        let latest = s
            .tracked_actions
            .iter()
            .flatten()
            .filter(|a| a.last_accessed.is_some())
            .max_by_key(|a| a.last_accessed);
        let Some(action) = latest else {
            continue;
        };
        if action.last_accessed <= s.last_authenticated {
            continue;
        }
        let far = match (s.last_authenticated, action.last_accessed) {
            (Some(service), Some(used)) => {
                used.signed_duration_since(service).num_hours() >= LIFT_WARNED_AFTER_HOURS
            }
            _ => true,
        };
        s.last_authenticated = action.last_accessed;
        s.region.clone_from(&action.region);
        if far {
            let path = format!("$.ServicesLastAccessed[{i}].LastAuthenticated");
            lifted.push((path, &*s.namespace));
        }
    }
    let Some((first, _)) = lifted.first() else {
        return;
    };
    let services: BTreeSet<&str> = lifted.iter().map(|(_, ns)| *ns).collect();
    warnings.push(
        "last_accessed_service_before_action",
        Some(rel),
        Some(first.clone()),
        format!(
            "{} service(s) ({}) have no LastAuthenticated, or one a day or more earlier than one \
             of their actions' LastAccessedTime, although AWS writes the service's time as its \
             latest use: each is read as used when its latest action was, so its other actions \
             are not called unused for that time — fetch it again",
            services.len(),
            services.into_iter().collect::<Vec<_>>().join(", ")
        ),
    );
}

/// How much later than its service's `LastAuthenticated` a tracked action's time must be for
/// [`lift_service_times`] to warn (it lifts the service's time in any case).
const LIFT_WARNED_AFTER_HOURS: i64 = 24;

/// An access recorded after the job completed is impossible in data AWS wrote: the file was
/// edited or assembled from different jobs. One warning per file, pointing at the first such time.
fn warn_after_job(
    rel: &str,
    services: &[ServiceAccess],
    done: crate::model::Timestamp,
    warnings: &mut Warnings,
) {
    let mut later = Vec::new();
    for (i, s) in services.iter().enumerate() {
        if s.last_authenticated.is_some_and(|t| t > done) {
            later.push(format!("$.ServicesLastAccessed[{i}].LastAuthenticated"));
        }
        for (j, a) in s.tracked_actions.iter().flatten().enumerate() {
            if a.last_accessed.is_some_and(|t| t > done) {
                later.push(format!(
                    "$.ServicesLastAccessed[{i}].TrackedActionsLastAccessed[{j}].LastAccessedTime"
                ));
            }
        }
    }
    let Some(first) = later.first() else {
        return;
    };
    warnings.push(
        "last_accessed_after_job",
        Some(rel),
        Some(first.clone()),
        format!(
            "{} access time(s) are later than the JobCompletionDate {}: AWS cannot report an access after its job completed, so the file was edited or merged from different jobs; verdicts use the times as written — fetch it again",
            later.len(),
            crate::model::rfc3339(done)
        ),
    );
}

fn service(path: &Path, s: Service, i: usize, texts: &mut SharedTexts) -> Result<ServiceAccess> {
    let at = || format!("$.ServicesLastAccessed[{i}]");
    let namespace = s
        .service_namespace
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| Error::parse(path, at(), "no ServiceNamespace"))?;
    let namespace = namespace.trim();
    // AWS's namespaces are letters, digits and `-`: `e?2` would be kept, as written, in a
    // tightened policy, where it matches `ec2`'s actions.
    if !namespace
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(Error::parse(
            path,
            format!("{}.ServiceNamespace", at()),
            format!(
                "ServiceNamespace {namespace:?} names no service: AWS's are letters, digits and -"
            ),
        ));
    }
    let namespace = if namespace.bytes().any(|b| b.is_ascii_uppercase()) {
        texts.get(&namespace.to_ascii_lowercase())
    } else {
        texts.get(namespace)
    };
    let tracked_actions = s
        .tracked_actions_last_accessed
        .map(|list| {
            list.into_iter()
                .enumerate()
                .map(|(j, t)| {
                    let name = t
                        .action_name
                        .filter(|n| !n.trim().is_empty())
                        .ok_or_else(|| {
                            Error::parse(
                                path,
                                format!("{}.TrackedActionsLastAccessed[{j}]", at()),
                                "no ActionName",
                            )
                        })?;
                    // `ec2:RunInstances` → `RunInstances`; a prefix naming another service
                    // would file a use under the wrong one.
                    let bare = match name.rsplit_once(':') {
                        Some((prefix, bare)) => {
                            let prefix = prefix.trim();
                            if !prefix.eq_ignore_ascii_case(&namespace) {
                                return Err(Error::parse(
                                    path,
                                    format!("{}.TrackedActionsLastAccessed[{j}].ActionName", at()),
                                    format!(
                                        "ActionName {name:?} names service {prefix:?}, but it is \
                                         listed under {namespace:?}: AWS lists a service's own \
                                         actions (was the file edited or merged?)"
                                    ),
                                ));
                            }
                            bare.trim()
                        }
                        None => name.trim(),
                    };
                    // AWS names one action: `ec2:` or `ec2:Run*` would be kept, as written, in a
                    // tightened policy.
                    if bare.is_empty() || bare.contains(['*', '?']) {
                        return Err(Error::parse(
                            path,
                            format!("{}.TrackedActionsLastAccessed[{j}].ActionName", at()),
                            format!("ActionName {name:?} names no single action"),
                        ));
                    }
                    let at =
                        || format!("{}.TrackedActionsLastAccessed[{j}].LastAccessedTime", at());
                    Ok(TrackedAction {
                        name: texts.get(bare),
                        last_accessed: access_time(path, at, t.last_accessed_time)?,
                        region: t.last_accessed_region.as_deref().map(|r| texts.get(r)),
                    })
                })
                .collect::<Result<Vec<_>>>()
        })
        .transpose()?;
    let last_authenticated = access_time(
        path,
        || format!("{}.LastAuthenticated", at()),
        s.last_authenticated,
    )?;
    Ok(ServiceAccess {
        namespace,
        last_authenticated,
        region: s.last_authenticated_region.as_deref().map(|r| texts.get(r)),
        tracked_actions,
    })
}

/// A last-access time, refused before 1970: AWS reports none (IAM began in 2010), and the
/// analysis holds a last access as milliseconds from 1970 (`analysis::model::LastAccess`).
fn access_time(
    path: &Path,
    at: impl Fn() -> String,
    time: Option<Time>,
) -> Result<Option<crate::model::Timestamp>> {
    match time {
        Some(Time(t)) if t.timestamp_millis() < 0 => Err(Error::parse(
            path,
            at(),
            format!(
                "last-access time {} is before 1970-01-01T00:00:00Z: AWS reports none that early \
                 (was the file edited?)",
                crate::model::rfc3339(t)
            ),
        )),
        t => Ok(t.map(|t| t.0)),
    }
}

/// One warning listing the roles and users that have no last-accessed file. Groups are not
/// listed: a user's report already covers the policies it inherits from its groups.
fn warn_missing(
    principals: &[Principal],
    seen: &BTreeMap<(PrincipalType, String), &str>,
    manifest: Option<&Manifest>,
    warnings: &mut Warnings,
) {
    let missing: Vec<String> = principals
        .iter()
        .filter(|p| p.kind != PrincipalType::Group)
        .filter(|p| !seen.contains_key(&(p.kind, p.name.clone())))
        .map(|p| {
            let key = format!("{}/{}", p.kind, p.name);
            match manifest.and_then(|m| m.missing.get(&key)) {
                Some(reason) => format!("{key} ({reason})"),
                None => key,
            }
        })
        .collect();
    if missing.is_empty() {
        return;
    }
    let listed = super::listed(&missing);
    let count = missing.len();
    let noun = if count == 1 {
        "principal has"
    } else {
        "principals have"
    };
    warnings.push(
        "last_accessed_missing",
        Some(LAST_ACCESSED_DIR),
        None,
        format!("{count} {noun} no last-accessed file, so no usable last-accessed data: {listed}"),
    );
}
