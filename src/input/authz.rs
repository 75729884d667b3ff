//! `authorization-details.json`: the output of `aws iam get-account-authorization-details`
//! (reference §2). The CLI merges its pages, so the file holds four lists.

use std::collections::{BTreeMap, btree_map::Entry};
use std::path::Path;

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;

use super::time::Time;
use super::{AUTHORIZATION_DETAILS, Warnings, parse_json};
use crate::error::{Error, Result};
use crate::model::{InlinePolicy, ManagedPolicy, Principal, PrincipalType, RoleLastUsed};
use crate::policy::PolicyDocument;

#[derive(Debug, Default, Deserialize)]
#[serde(
    rename_all = "PascalCase",
    default,
    expecting = "the JSON object printed by `aws iam get-account-authorization-details`"
)]
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
#[serde(rename_all = "PascalCase", default)]
struct Detail {
    path: Option<String>,
    #[serde(alias = "RoleName", alias = "UserName", alias = "GroupName")]
    name: Option<String>,
    #[serde(alias = "RoleId", alias = "UserId", alias = "GroupId")]
    id: Option<String>,
    arn: Option<String>,
    create_date: Option<Time>,
    #[serde(
        alias = "RolePolicyList",
        alias = "UserPolicyList",
        alias = "GroupPolicyList"
    )]
    policy_list: Option<Vec<InlineDetail>>,
    group_list: Option<Vec<String>>,
    attached_managed_policies: Option<Vec<AttachedPolicy>>,
    permissions_boundary: Option<Boundary>,
    tags: Option<Vec<Tag>>,
    role_last_used: Option<RoleLastUsedDetail>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct InlineDetail {
    policy_name: Option<String>,
    policy_document: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct AttachedPolicy {
    policy_arn: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Boundary {
    permissions_boundary_arn: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Tag {
    key: Option<String>,
    value: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct RoleLastUsedDetail {
    last_used_date: Option<Time>,
    region: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct PolicyDetail {
    policy_name: Option<String>,
    arn: Option<String>,
    path: Option<String>,
    default_version_id: Option<String>,
    attachment_count: Option<u64>,
    create_date: Option<Time>,
    update_date: Option<Time>,
    policy_version_list: Option<Vec<PolicyVersion>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct PolicyVersion {
    document: Option<Value>,
    version_id: Option<String>,
    is_default_version: Option<bool>,
}

/// What the authorization details hold, in model types.
#[derive(Debug)]
pub(crate) struct Details {
    /// Sorted by (kind, name).
    pub principals: Vec<Principal>,
    pub policies: BTreeMap<String, ManagedPolicy>,
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

pub(crate) fn parse(path: &Path, text: &str, warnings: &mut Warnings) -> Result<Details> {
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
    for (kind, list_key, policy_key, list) in lists {
        for (i, detail) in list.unwrap_or_default().into_iter().enumerate() {
            let at = format!("$.{list_key}[{i}]");
            let principal = principal(path, kind, detail, &at, policy_key)?;
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
        let policy = managed_policy(path, detail, &at)?;
        if policies.contains_key(&policy.arn) {
            return Err(Error::parse(
                path,
                at,
                format!("policy {} appears twice", policy.arn),
            ));
        }
        policies.insert(policy.arn.clone(), policy);
    }

    let principals: Vec<Principal> = principals.into_values().collect();
    warn_missing_policies(&principals, &policies, warnings);
    Ok(Details {
        principals,
        policies,
    })
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
    let parsed = Arn::parse(&arn)
        .filter(|a| a.service == "iam")
        .ok_or_else(|| {
            Error::parse(
                path,
                format!("{at}.Arn"),
                format!("not an IAM ARN: {arn:?}"),
            )
        })?;
    let name = d.name.unwrap_or_else(|| parsed.name().to_string());
    let path_str = d.path.unwrap_or_else(|| "/".to_string());

    let inline_policies = d
        .policy_list
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(j, p)| {
            let at = format!("{at}.{policy_key}[{j}]");
            Ok(InlinePolicy {
                name: p.policy_name.unwrap_or_default(),
                document: document(path, p.policy_document, &format!("{at}.PolicyDocument"))?,
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
    let role_last_used = (kind == PrincipalType::Role).then(|| {
        let r = d.role_last_used.unwrap_or_default();
        RoleLastUsed {
            date: r.last_used_date.map(|t| t.0),
            region: r.region,
        }
    });
    Ok(Principal {
        kind,
        service_linked: kind == PrincipalType::Role && path_str.starts_with("/aws-service-role/"),
        name,
        id: d.id.unwrap_or_default(),
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
    })
}

fn managed_policy(path: &Path, d: PolicyDetail, at: &str) -> Result<ManagedPolicy> {
    let arn = d
        .arn
        .ok_or_else(|| Error::parse(path, at, "managed policy has no Arn"))?;
    let parsed = Arn::parse(&arn)
        .filter(|a| a.service == "iam")
        .ok_or_else(|| {
            Error::parse(
                path,
                format!("{at}.Arn"),
                format!("not an IAM ARN: {arn:?}"),
            )
        })?;
    let aws_managed = parsed.account == "aws";
    // moto omits PolicyName (and PolicyId): the name is the ARN's last segment.
    let name = d.policy_name.unwrap_or_else(|| parsed.name().to_string());

    let versions = d.policy_version_list.unwrap_or_default();
    let default = versions
        .iter()
        .position(|v| v.is_default_version == Some(true))
        .or_else(|| {
            let id = d.default_version_id.as_deref()?;
            versions
                .iter()
                .position(|v| v.version_id.as_deref() == Some(id))
        });
    let Some(index) = default else {
        return Err(Error::parse(
            path,
            format!("{at}.PolicyVersionList"),
            format!(
                "policy {arn}: no version has IsDefaultVersion true or matches DefaultVersionId {:?}",
                d.default_version_id.as_deref().unwrap_or("(absent)")
            ),
        ));
    };
    let document_value = versions.into_iter().nth(index).and_then(|v| v.document);
    let document = document(
        path,
        document_value,
        &format!("{at}.PolicyVersionList[{index}].Document"),
    )?;
    Ok(ManagedPolicy {
        name,
        path: d.path.unwrap_or_else(|| "/".to_string()),
        aws_managed,
        default_version_id: d.default_version_id,
        attachment_count: d.attachment_count,
        create_date: d.create_date.map(|t| t.0),
        update_date: d.update_date.map(|t| t.0),
        document,
        arn,
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

/// One warning per attached policy (or boundary) that `Policies` lacks: its permissions are unknown.
fn warn_missing_policies(
    principals: &[Principal],
    policies: &BTreeMap<String, ManagedPolicy>,
    warnings: &mut Warnings,
) {
    let mut missing: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for p in principals {
        for arn in &p.attached_policies {
            if !policies.contains_key(arn) {
                missing
                    .entry(arn)
                    .or_default()
                    .push(format!("{}/{}", p.kind, p.name));
            }
        }
    }
    for (arn, holders) in missing {
        warnings.push(
            "policy_missing",
            Some(AUTHORIZATION_DETAILS),
            Some("$.Policies".into()),
            format!(
                "{arn} is attached to {} but is not in Policies (was the export filtered?); \
                 its permissions are unknown",
                holders.join(", ")
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
