//! `authorization-details.json`: the output of `aws iam get-account-authorization-details`
//! (reference §2). The CLI merges its pages, so the file holds four lists.

use std::collections::{BTreeMap, HashMap, btree_map::Entry};
use std::path::Path;

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;

use super::object::objects_only;
use super::time::Time;
use super::{AUTHORIZATION_DETAILS, SharedDocuments, Warnings, listed, parse_json};
use crate::error::{Error, Result};
use crate::model::json::{UniqueKeys, parse_document_text};
use crate::model::{InlinePolicy, ManagedPolicy, Principal, PrincipalType, RoleLastUsed};
use crate::model::{PolicyDocument, TrustedPrincipal};

#[derive(Debug, Default, Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase", default)]
struct Gaad {
    user_detail_list: Option<Vec<Detail>>,
    group_detail_list: Option<Vec<Detail>>,
    role_detail_list: Option<Vec<Detail>>,
    policies: Option<Vec<PolicyDetail>>,
    /// Present only with `--no-paginate` / `--max-items`: the CLI did not merge every page.
    is_truncated: Option<bool>,
    next_token: Option<String>,
    /// Keys of a last-accessed report, to say so when one is given here by mistake.
    job_status: Option<IgnoredAny>,
}

/// `UserDetail`, `GroupDetail` and `RoleDetail` differ only in the prefix of a few keys and in
/// which optional keys they carry, so one shape reads all three.
#[derive(Debug, Default, Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase", default)]
struct Detail {
    path: Option<String>,
    // Three fields each rather than serde aliases, so that an error (a duplicate key, a wrong
    // type) names the key as the file spells it, not an internal name.
    role_name: Option<String>,
    user_name: Option<String>,
    group_name: Option<String>,
    role_id: Option<String>,
    user_id: Option<String>,
    group_id: Option<String>,
    arn: Option<String>,
    create_date: Option<Time>,
    role_policy_list: Option<Vec<InlineDetail>>,
    /// Roles: the trust policy (object, JSON string or URL-encoded string). Policy documents are
    /// read with each key once ([`UniqueKeys`]), at any depth.
    assume_role_policy_document: Option<UniqueKeys>,
    user_policy_list: Option<Vec<InlineDetail>>,
    group_policy_list: Option<Vec<InlineDetail>>,
    group_list: Option<Vec<String>>,
    attached_managed_policies: Option<Vec<AttachedPolicy>>,
    permissions_boundary: Option<Boundary>,
    tags: Option<Vec<Tag>>,
    role_last_used: Option<RoleLastUsedDetail>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase", default)]
struct InlineDetail {
    policy_name: Option<String>,
    policy_document: Option<UniqueKeys>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase", default)]
struct AttachedPolicy {
    policy_arn: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase", default)]
struct Boundary {
    permissions_boundary_arn: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase", default)]
struct Tag {
    key: Option<String>,
    value: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase", default)]
struct RoleLastUsedDetail {
    last_used_date: Option<Time>,
    region: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase", default)]
struct PolicyDetail {
    policy_name: Option<String>,
    arn: Option<String>,
    path: Option<String>,
    default_version_id: Option<String>,
    attachment_count: Option<u32>,
    permissions_boundary_usage_count: Option<u32>,
    create_date: Option<Time>,
    update_date: Option<Time>,
    policy_version_list: Option<Vec<PolicyVersion>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase", default)]
struct PolicyVersion {
    document: Option<UniqueKeys>,
    version_id: Option<String>,
    is_default_version: Option<bool>,
    create_date: Option<Time>,
}

objects_only!(
    Gaad,
    Detail,
    InlineDetail,
    AttachedPolicy,
    Boundary,
    Tag,
    RoleLastUsedDetail,
    PolicyDetail,
    PolicyVersion
);

/// What the authorization details hold, in model types.
#[derive(Debug)]
pub(crate) struct Details {
    /// Sorted by (kind, name).
    pub principals: Vec<Principal>,
    pub policies: BTreeMap<String, std::sync::Arc<ManagedPolicy>>,
}

/// The parts of an ARN this module needs: `arn:<partition>:<service>:<region>:<account>:<resource>`.
pub(super) struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    pub fn parse(arn: &'a str) -> Option<Arn<'a>> {
        let mut parts = arn.splitn(6, ':');
        let (prefix, partition, service, _region, account, resource) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        (prefix == "arn" && !partition.is_empty() && !account.is_empty()).then_some(Arn {
            partition,
            service,
            account,
            resource,
        })
    }

    /// The last `/`-separated segment of the resource: the entity's name.
    fn name(&self) -> &'a str {
        self.resource.rsplit('/').next().unwrap_or(self.resource)
    }
}

pub(crate) fn parse(
    path: &Path,
    text: &str,
    shared: &SharedDocuments,
    warnings: &mut Warnings,
) -> Result<Details> {
    let gaad: Gaad = parse_json(path, text)?;
    if gaad.user_detail_list.is_none()
        && gaad.group_detail_list.is_none()
        && gaad.role_detail_list.is_none()
        && gaad.policies.is_none()
    {
        let hint = if gaad.job_status.is_some() {
            " (this is a last-accessed report, which belongs under last-accessed/)"
        } else {
            ""
        };
        return Err(Error::parse(
            path,
            "$",
            format!(
                "none of UserDetailList, GroupDetailList, RoleDetailList, Policies: not the output \
                 of `aws iam get-account-authorization-details`{hint}"
            ),
        ));
    }
    if gaad.is_truncated == Some(true) || gaad.next_token.is_some() {
        let key = if gaad.next_token.is_some() {
            "$.NextToken"
        } else {
            "$.IsTruncated"
        };
        return Err(Error::parse(
            path,
            key,
            "only some pages: rerun `aws iam get-account-authorization-details` without \
             --no-paginate or --max-items so the CLI merges every page",
        ));
    }

    let mut principals = BTreeMap::new();
    // Each principal's ARN, and where it was first met.
    let mut arns: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let lists = [
        (
            PrincipalType::Role,
            "RoleDetailList",
            "RolePolicyList",
            gaad.role_detail_list,
        ),
        (
            PrincipalType::User,
            "UserDetailList",
            "UserPolicyList",
            gaad.user_detail_list,
        ),
        (
            PrincipalType::Group,
            "GroupDetailList",
            "GroupPolicyList",
            gaad.group_detail_list,
        ),
    ];
    // IAM names ignore case (no `Admins` beside `admins`): two such are an edited export, and
    // their recommendation folders would be one on a file system that ignores case.
    let mut folded: HashMap<(PrincipalType, String), String> = HashMap::new();
    for (kind, list_key, policy_key, list) in lists {
        for (i, detail) in list.unwrap_or_default().into_iter().enumerate() {
            let at = format!("$.{list_key}[{i}]");
            let principal = principal(path, kind, detail, &at, policy_key)?;
            check_principal(path, &principal, &at, &mut arns, warnings)?;
            let key = (kind, principal.name.to_lowercase());
            if let Some(first) = folded.insert(key, at.clone())
                && !principals.contains_key(&(kind, principal.name.clone()))
            {
                return Err(case_twin(path, at, &principal, &first));
            }
            match principals.entry((kind, principal.name.clone())) {
                Entry::Vacant(slot) => {
                    slot.insert(principal);
                }
                Entry::Occupied(_) => {
                    return Err(Error::parse(
                        path,
                        at,
                        format!("{kind} {:?} appears twice", principal.name),
                    ));
                }
            }
        }
    }

    let mut policies = BTreeMap::new();
    for (i, detail) in gaad.policies.unwrap_or_default().into_iter().enumerate() {
        let at = format!("$.Policies[{i}]");
        let policy = managed_policy(path, detail, &at, shared)?;
        if policies.contains_key(&policy.arn) {
            return Err(Error::parse(
                path,
                at,
                format!("policy {} appears twice", policy.arn),
            ));
        }
        policies.insert(policy.arn.clone(), std::sync::Arc::new(policy));
    }

    let principals: Vec<Principal> = principals.into_values().collect();
    warn_missing_policies(&principals, &policies, warnings);
    Ok(Details {
        principals,
        policies,
    })
}

/// A name IAM accepts for a role, user or group: 1–128 characters of `[A-Za-z0-9+=,.@_-]` (roles
/// and users are limited to 64, groups to 128; the longer limit is used for all).
fn is_iam_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

/// Who a trust policy lets assume the role: every `Principal` of its `Allow` statements, as
/// (`AWS` / `Service` / `Federated` / `CanonicalUser`, value); `"*"` is (`*`, `*`). Only what
/// the intentional-access rules read: conditions and `NotPrincipal` are not modelled.
fn trusted_principals(path: &Path, doc: Value, at: &str) -> Result<Vec<TrustedPrincipal>> {
    let doc = match doc {
        Value::String(text) => parse_document_text(&text).map_err(|e| {
            let in_text = " (in the trust policy's text)";
            super::text_error(path, at, e, "trust policy is not JSON", in_text)
        })?,
        other => other,
    };
    let statements = match doc.get("Statement") {
        Some(Value::Array(list)) => list.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for s in statements {
        if s.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        match s.get("Principal") {
            Some(Value::String(star)) => out.push(TrustedPrincipal {
                kind: "*".into(),
                value: star.clone(),
            }),
            Some(Value::Object(map)) => {
                for (kind, v) in map {
                    let values = match v {
                        Value::String(one) => vec![one.clone()],
                        Value::Array(list) => list
                            .iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect(),
                        _ => Vec::new(),
                    };
                    out.extend(values.into_iter().map(|value| TrustedPrincipal {
                        kind: kind.clone(),
                        value,
                    }));
                }
            }
            _ => {}
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// `arn` parsed as an IAM ARN, else an error at `<at>.Arn`.
fn iam_arn<'a>(path: &Path, at: &str, arn: &'a str) -> Result<Arn<'a>> {
    Arn::parse(arn)
        .filter(|a| a.service == "iam")
        .ok_or_else(|| {
            Error::parse(
                path,
                format!("{at}.Arn"),
                format!("not an IAM ARN: {arn:?}"),
            )
        })
}

/// A 12-digit AWS account id.
fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Warns of a name IAM would reject; refuses an ARN met before (`arns`: each ARN and where).
fn check_principal(
    path: &Path,
    principal: &Principal,
    at: &str,
    arns: &mut std::collections::HashMap<String, String>,
    warnings: &mut Warnings,
) -> Result<()> {
    let kind = principal.kind;
    if !is_iam_name(&principal.name) {
        warnings.push(
            "name_not_iam",
            Some(AUTHORIZATION_DETAILS),
            Some(format!("{at}.{}", name_key(kind))),
            format!(
                "{kind} name {:?} is not one IAM accepts (1–128 characters of A–Z a–z 0–9 + = , . @ _ -): the export was edited or is not from AWS; its recommendation folder gets a name of its own (see docs/recommendations.md)",
                principal.name.chars().take(200).collect::<String>()
            ),
        );
    }
    if let Some(first) = arns.insert(principal.arn.clone(), at.to_string()) {
        return Err(Error::parse(
            path,
            format!("{at}.Arn"),
            format!("{} appears twice (first at {first})", principal.arn),
        ));
    }
    Ok(())
}

/// The error of `principal` (at `at`) whose name differs from the one at `first` only in case.
fn case_twin(path: &Path, at: String, principal: &Principal, first: &str) -> Error {
    Error::parse(
        path,
        at,
        format!(
            "{} {:?} differs from the one at {first} only in case: IAM names ignore case, so AWS \
             has no such pair (was the export edited?)",
            principal.kind, principal.name
        ),
    )
}

/// The key of a principal's name in the authorization details.
fn name_key(kind: PrincipalType) -> &'static str {
    match kind {
        PrincipalType::Role => "RoleName",
        PrincipalType::User => "UserName",
        PrincipalType::Group | PrincipalType::PermissionSet => "GroupName",
    }
}

fn principal(
    path: &Path,
    kind: PrincipalType,
    d: Detail,
    at: &str,
    policy_key: &str,
) -> Result<Principal> {
    let arn = d
        .arn
        .ok_or_else(|| Error::parse(path, at, format!("{kind} has no Arn")))?;
    let parsed = iam_arn(path, at, &arn)?;
    if !is_account_id(parsed.account) {
        return Err(Error::parse(
            path,
            format!("{at}.Arn"),
            format!(
                "{arn:?} names account {:?}: a {kind} lives in a 12-digit AWS account",
                parsed.account
            ),
        ));
    }
    let (name, id, policy_list) = match kind {
        PrincipalType::Role => (d.role_name, d.role_id, d.role_policy_list),
        PrincipalType::User => (d.user_name, d.user_id, d.user_policy_list),
        PrincipalType::Group | PrincipalType::PermissionSet => {
            (d.group_name, d.group_id, d.group_policy_list)
        }
    };
    let name = name.unwrap_or_else(|| parsed.name().to_string());
    if name != parsed.name() {
        // The name and the ARN would name two principals: which one a verdict, a folder or a
        // diff row speaks of would depend on which field each reads.
        return Err(Error::parse(
            path,
            format!("{at}.{}", name_key(kind)),
            format!(
                "{kind} name {name:?} is not the name its Arn {arn:?} ends with: the export was \
                 edited"
            ),
        ));
    }
    let path_str = d.path.unwrap_or_else(|| "/".to_string());

    let inline_policies = policy_list
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(j, p)| {
            let at = format!("{at}.{policy_key}[{j}]");
            // Held as text until planning: only its recommendation reads the JSON again.
            let document = document(
                path,
                p.policy_document.map(|UniqueKeys(v)| v),
                &format!("{at}.PolicyDocument"),
            )?;
            Ok(InlinePolicy {
                name: p.policy_name.unwrap_or_default(),
                document: document.compact(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let attached_policies = d
        .attached_managed_policies
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(j, a)| {
            a.policy_arn.ok_or_else(|| {
                Error::parse(
                    path,
                    format!("{at}.AttachedManagedPolicies[{j}]"),
                    "no PolicyArn",
                )
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let tags = d
        .tags
        .unwrap_or_default()
        .into_iter()
        .filter_map(|t| Some((t.key?, t.value.unwrap_or_default())))
        .collect();
    let trusted = match d.assume_role_policy_document {
        Some(UniqueKeys(doc)) if kind == PrincipalType::Role => {
            trusted_principals(path, doc, &format!("{at}.AssumeRolePolicyDocument"))?
        }
        _ => Vec::new(),
    };
    // Absent (or null) is not AWS's `{}` ("not used in its tracking period"): no evidence
    // either way, so it stays `None` and never makes a role look unused on its own.
    let role_last_used = d
        .role_last_used
        .filter(|_| kind == PrincipalType::Role)
        .map(|r| RoleLastUsed {
            date: r.last_used_date.map(|t| t.0),
            region: r.region,
        });
    Ok(Principal {
        kind,
        service_linked: kind == PrincipalType::Role && path_str.starts_with("/aws-service-role/"),
        name,
        id: id.unwrap_or_default(),
        arn,
        path: path_str,
        created: d.create_date.map(|t| t.0),
        inline_policies,
        attached_policies,
        groups: d.group_list.unwrap_or_default(),
        permissions_boundary: d
            .permissions_boundary
            .and_then(|b| b.permissions_boundary_arn),
        tags,
        role_last_used,
        trusted,
    })
}

fn managed_policy(
    path: &Path,
    d: PolicyDetail,
    at: &str,
    shared: &SharedDocuments,
) -> Result<ManagedPolicy> {
    let arn = d
        .arn
        .ok_or_else(|| Error::parse(path, at, "managed policy has no Arn"))?;
    let parsed = iam_arn(path, at, &arn)?;
    let aws_managed = parsed.account == "aws";
    if !aws_managed && !is_account_id(parsed.account) {
        return Err(Error::parse(
            path,
            format!("{at}.Arn"),
            format!(
                "{arn:?} names account {:?}: a managed policy is AWS's (account \"aws\") or lives in a 12-digit AWS account",
                parsed.account
            ),
        ));
    }
    // moto omits PolicyName (and PolicyId): the name is the ARN's last segment.
    let name = d.policy_name.unwrap_or_else(|| parsed.name().to_string());

    let mut versions = d.policy_version_list.unwrap_or_default();
    let index = default_version(path, at, &arn, d.default_version_id.as_deref(), &versions)?;
    let count = u8::try_from(versions.len()).unwrap_or(u8::MAX);
    let oldest_other_version = (!aws_managed && count >= crate::model::MAX_POLICY_VERSIONS)
        .then(|| oldest_other(&versions, index))
        .flatten();
    let document_value = versions
        .get_mut(index)
        .and_then(|v| v.document.take())
        .map(|UniqueKeys(v)| v);
    let document = document(
        path,
        document_value,
        &format!("{at}.PolicyVersionList[{index}].Document"),
    )?;
    let document = match (&d.default_version_id, aws_managed) {
        (Some(version), true) => shared.share(&arn, version, document),
        _ => std::sync::Arc::new(document),
    };
    let default_created = versions
        .get(index)
        .and_then(|v| v.create_date.as_ref().map(|t| t.0));
    let other_versions = other_versions(path, at, (&arn, aws_managed), versions, index, shared)?;
    Ok(ManagedPolicy {
        name,
        path: d.path.unwrap_or_else(|| "/".to_string()),
        aws_managed,
        default_version_id: d.default_version_id,
        attachment_count: d.attachment_count,
        boundary_uses: d.permissions_boundary_usage_count,
        create_date: d.create_date.map(|t| t.0),
        update_date: d.update_date.map(|t| t.0),
        document,
        arn,
        versions: count,
        oldest_other_version,
        default_created,
        other_versions,
    })
}

/// The versions of `versions` but the default one (at `default`) that have a `VersionId` and a
/// `Document` (AWS writes both, and a `CreateDate`), oldest first: what each allowed dates
/// the actions a later version added (`policy::versions`). A document that cannot be read is an
/// error naming its path, as the default version's is, and so is a `VersionId` listed twice
/// (which document that version holds cannot be told). An AWS managed policy's are shared across
/// exports, as its default version's document is.
fn other_versions(
    path: &Path,
    at: &str,
    (arn, aws_managed): (&str, bool),
    versions: Vec<PolicyVersion>,
    default: usize,
    shared: &SharedDocuments,
) -> Result<Box<[crate::model::OtherVersion]>> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, v) in versions.iter().enumerate() {
        let Some(id) = v.version_id.as_deref() else {
            continue;
        };
        if let Some(first) = seen.insert(id, i) {
            return Err(Error::parse(
                path,
                format!("{at}.PolicyVersionList[{i}].VersionId"),
                format!(
                    "policy {arn}: version {id} is listed twice (first at \
                     {at}.PolicyVersionList[{first}]); which document it holds cannot be told \
                     (was the export edited?)"
                ),
            ));
        }
    }
    let mut out = Vec::new();
    for (i, v) in versions.into_iter().enumerate() {
        let created = v.create_date.map(|t| t.0);
        let (Some(id), Some(UniqueKeys(value))) = (v.version_id, v.document) else {
            continue;
        };
        if i == default {
            continue;
        }
        let document = document(
            path,
            Some(value),
            &format!("{at}.PolicyVersionList[{i}].Document"),
        )?;
        let document = if aws_managed {
            shared.share(arn, &id, document)
        } else {
            std::sync::Arc::new(document)
        };
        out.push(crate::model::OtherVersion {
            id: id.into(),
            created,
            document,
        });
    }
    out.sort_by_key(|v| (v.created, crate::model::version_number(&v.id), v.id.clone()));
    Ok(out.into_boxed_slice())
}

/// The oldest of `versions` but the default one (at `default`): by `CreateDate`, then by number
/// (`v3` before `v12`); `None` when no other version has an id.
fn oldest_other(versions: &[PolicyVersion], default: usize) -> Option<Box<str>> {
    let number = crate::model::version_number;
    versions
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != default)
        .filter_map(|(_, v)| {
            Some((
                v.create_date.as_ref().map(|t| t.0),
                v.version_id.as_deref()?,
            ))
        })
        // A version without a date sorts after the dated ones.
        .min_by_key(|&(date, id)| (date.is_none(), date, number(id), id))
        .map(|(_, id)| id.into())
}

/// The index of a managed policy's default version in `versions`: the one with
/// `IsDefaultVersion: true`, else the one whose `VersionId` is `default_id` (moto-style exports).
/// A policy has exactly one default version, so two versions marked default, or one marked
/// default that is not `default_id`, are an error naming the path (which of the two documents
/// is in force cannot be told, and they grant different things); so is no default at all.
fn default_version(
    path: &Path,
    at: &str,
    arn: &str,
    default_id: Option<&str>,
    versions: &[PolicyVersion],
) -> Result<usize> {
    // Made only for an error: this runs for every managed policy of every export.
    let list = || format!("{at}.PolicyVersionList");
    let mut marked = versions
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_default_version == Some(true))
        .map(|(i, _)| i);
    let (first, second) = (marked.next(), marked.next());
    let version = |i: usize| {
        versions[i]
            .version_id
            .as_deref()
            .unwrap_or("(no VersionId)")
    };
    if let (Some(first), Some(second)) = (first, second) {
        return Err(Error::parse(
            path,
            format!("{}[{second}].IsDefaultVersion", list()),
            format!(
                "policy {arn}: versions {} ({}[{first}]) and {} are both marked \
                 IsDefaultVersion true; a policy has one default version, so which document \
                 is in force cannot be told (was the export edited?)",
                version(first),
                list(),
                version(second)
            ),
        ));
    }
    if let (Some(first), Some(id)) = (first, default_id)
        && versions[first].version_id.as_deref() != Some(id)
    {
        return Err(Error::parse(
            path,
            format!("{}[{first}].IsDefaultVersion", list()),
            format!(
                "policy {arn}: version {} is marked IsDefaultVersion true but DefaultVersionId \
                 is {id:?}; which document is in force cannot be told (was the export edited?)",
                version(first)
            ),
        ));
    }
    first
        .or_else(|| {
            let id = default_id?;
            versions
                .iter()
                .position(|v| v.version_id.as_deref() == Some(id))
        })
        .ok_or_else(|| {
            Error::parse(
                path,
                list(),
                format!(
                    "policy {arn}: no version has IsDefaultVersion true or matches \
                     DefaultVersionId {:?}",
                    default_id.unwrap_or("(absent)")
                ),
            )
        })
}

/// A policy document given as an object, a JSON string or a URL-encoded string. Errors point into
/// the document: `$.RoleDetailList[3].RolePolicyList[0].PolicyDocument.Statement[1].Action`.
fn document(path: &Path, value: Option<Value>, at: &str) -> Result<PolicyDocument> {
    let parsed = match value {
        None => return Err(Error::parse(path, at, "policy document is missing")),
        Some(Value::String(text)) => PolicyDocument::from_str_any(&text),
        Some(value) => PolicyDocument::from_value(value),
    };
    parsed.map_err(|e| {
        let inner = e.json_path.strip_prefix('$').unwrap_or(&e.json_path);
        Error::parse(path, format!("{at}{inner}"), e.message)
    })
}

/// One warning per attached policy or permissions boundary that `Policies` lacks (its
/// permissions are unknown), and one per group that a user belongs to but `GroupDetailList`
/// lacks (its policies are not counted), each listing the principals concerned.
fn warn_missing_policies(
    principals: &[Principal],
    policies: &BTreeMap<String, std::sync::Arc<ManagedPolicy>>,
    warnings: &mut Warnings,
) {
    let mut missing: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut missing_groups: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let groups: std::collections::BTreeSet<&str> = principals
        .iter()
        .filter(|p| p.kind == PrincipalType::Group)
        .map(|p| p.name.as_str())
        .collect();
    for p in principals {
        for arn in p.attached_policies.iter().chain(&p.permissions_boundary) {
            if !policies.contains_key(arn) {
                missing
                    .entry(arn)
                    .or_default()
                    .push(format!("{}/{}", p.kind, p.name));
            }
        }
        for g in &p.groups {
            if !groups.contains(g.as_str()) {
                missing_groups
                    .entry(g)
                    .or_default()
                    .push(format!("{}/{}", p.kind, p.name));
            }
        }
    }
    for (arn, mut holders) in missing {
        holders.dedup();
        warnings.push(
            "policy_missing",
            Some(AUTHORIZATION_DETAILS),
            Some("$.Policies".into()),
            format!(
                "{arn} is attached to {} but is not in Policies (was the export filtered?); \
                 its permissions are unknown",
                listed(&holders)
            ),
        );
    }
    for (group, members) in missing_groups {
        warnings.push(
            "group_missing",
            Some(AUTHORIZATION_DETAILS),
            Some("$.GroupDetailList".into()),
            format!(
                "group {group:?} has members ({}) but is not in GroupDetailList (was the export filtered?); \
                 its policies are not counted",
                listed(&members)
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_parts() {
        let a = Arn::parse("arn:aws-us-gov:iam::123456789012:role/a/b/My+Role").expect("arn");
        assert_eq!(
            (a.partition, a.account, a.name()),
            ("aws-us-gov", "123456789012", "My+Role")
        );
        let p = Arn::parse("arn:aws:iam::aws:policy/service-role/AWSLambdaRole").expect("arn");
        assert_eq!((p.account, p.name()), ("aws", "AWSLambdaRole"));
        assert!(Arn::parse("role/x").is_none());
        assert!(Arn::parse("arn:aws:iam:::role/x").is_none());
    }
}
