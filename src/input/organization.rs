//! Reads the organisation part of an organisation folder (`organization/`, docs/export-format.md):
//! every file exactly as the AWS CLI prints it. Errors name the file and the JSON path.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;

use super::object::objects_only;
use super::{Files, Warnings, manifest, parse_json};
use crate::error::{Error, Result};
use crate::model::json::{UniqueKeys, parse_unique};
use crate::model::organization::{
    Boundary, ControlPolicy, ControlPolicyType, ManagedReference, NodeKind, OrgNode, Organization,
    PermissionSet, PolicyReference,
};
use crate::model::{PolicyDocument, permission_set_of_role};

/// The folder name of the organisation part inside an organisation folder.
pub const ORGANIZATION_DIR: &str = "organization";

#[derive(Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
struct DescribeOrganization {
    organization: Option<OrgFacts>,
}

#[derive(Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
struct OrgFacts {
    id: String,
    master_account_id: String,
}

#[derive(Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
struct Named {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
struct Root {
    id: String,
    #[serde(default)]
    name: Option<String>,
    /// The policy types enabled in the root (`list-roots` prints them).
    #[serde(default)]
    policy_types: Option<Vec<PolicyTypeSummary>>,
}

#[derive(Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
struct PolicyTypeSummary {
    #[serde(rename = "Type")]
    kind: Option<String>,
    status: Option<String>,
}

#[derive(Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
struct Roots {
    roots: Option<Vec<Root>>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
struct Accounts {
    accounts: Option<Vec<Named>>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
struct Ous {
    organizational_units: Option<Vec<Named>>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
struct PolicySummary {
    id: String,
    name: String,
    #[serde(rename = "Type")]
    kind: Option<String>,
    #[serde(default)]
    aws_managed: bool,
}

#[derive(Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
struct Policies {
    policies: Option<Vec<PolicySummary>>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
struct DescribePolicy {
    policy: Option<PolicyBody>,
}

#[derive(Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
struct PolicyBody {
    policy_summary: PolicySummary,
    /// Read with each key once, at any depth ([`UniqueKeys`]); so is a permission set's policy.
    content: Option<UniqueKeys>,
}

#[derive(Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
struct Target {
    target_id: String,
}

#[derive(Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
struct Targets {
    targets: Option<Vec<Target>>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
struct Instance {
    instance_arn: String,
}

#[derive(Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
struct Instances {
    instances: Option<Vec<Instance>>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
struct PermissionSets {
    permission_sets: Option<Vec<String>>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
struct DescribePermissionSet {
    permission_set: Option<PermissionSetFacts>,
}

#[derive(Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
struct PermissionSetFacts {
    name: String,
    permission_set_arn: String,
    session_duration: Option<String>,
}

#[derive(Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
struct InlinePolicy {
    inline_policy: Option<UniqueKeys>,
}

#[derive(Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
struct ManagedPolicies {
    attached_managed_policies: Option<Vec<ManagedRef>>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
struct ManagedRef {
    name: String,
    arn: String,
}

#[derive(Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
struct CustomerPolicies {
    customer_managed_policy_references: Option<Vec<CustomerRef>>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
struct CustomerRef {
    name: String,
    #[serde(default)]
    path: Option<String>,
}

#[derive(Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
struct PermissionsBoundary {
    permissions_boundary: Option<BoundaryBody>,
}

#[derive(Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
struct BoundaryBody {
    customer_managed_policy_reference: Option<CustomerRef>,
    managed_policy_arn: Option<String>,
}

#[derive(Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
struct ProvisionedAccounts {
    account_ids: Option<Vec<String>>,
    next_token: Option<String>,
}

objects_only!(
    DescribeOrganization,
    OrgFacts,
    Named,
    Root,
    PolicyTypeSummary,
    Roots,
    Accounts,
    Ous,
    PolicySummary,
    Policies,
    DescribePolicy,
    PolicyBody,
    Target,
    Targets,
    Instance,
    Instances,
    PermissionSets,
    DescribePermissionSet,
    PermissionSetFacts,
    InlinePolicy,
    ManagedPolicies,
    ManagedRef,
    CustomerPolicies,
    CustomerRef,
    PermissionsBoundary,
    BoundaryBody,
    ProvisionedAccounts
);

/// A key the file must have: `aws organizations list-roots` prints `Roots`.
fn required<T>(path: &Path, value: Option<T>, key: &str, command: &str) -> Result<T> {
    value.ok_or_else(|| {
        Error::parse(
            path,
            "$",
            format!("no {key}: not the output of `{command}`"),
        )
    })
}

/// A `NextToken` left in a file means the CLI did not merge every page.
fn complete(path: &Path, next_token: Option<&String>, command: &str) -> Result<()> {
    match next_token {
        None => Ok(()),
        Some(_) => Err(Error::parse(
            path,
            "$.NextToken",
            format!(
                "only some pages: rerun `{command}` without --no-paginate or --max-items so the \
                 CLI merges every page"
            ),
        )),
    }
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Ids become file names: refuse anything that could leave the folder.
fn safe_id(path: &Path, at: &str, id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::parse(
            path,
            at,
            format!(
                "{:?} is not an AWS Organizations or Identity Center id",
                id.chars().take(60).collect::<String>()
            ),
        ))
    }
}

/// A policy document given as a JSON string (describe-policy's `Content`, the permission set's
/// `InlinePolicy`) or an object; `None` for an empty string. A key given twice in it is an error
/// at the JSON path of the object that repeats it.
fn document_of(
    path: &Path,
    at: &str,
    UniqueKeys(value): UniqueKeys,
) -> Result<Option<(PolicyDocument, serde_json::Value)>> {
    let raw = match value {
        serde_json::Value::String(s) if s.trim().is_empty() => return Ok(None),
        serde_json::Value::String(s) => parse_unique(&s).map_err(|e| {
            let in_text = " (in the policy's text)";
            super::text_error(path, at, e, "not a JSON policy document", in_text)
        })?,
        serde_json::Value::Null => return Ok(None),
        v => v,
    };
    let doc = PolicyDocument::from_value(raw.clone()).map_err(|e| {
        let inner = e.json_path.strip_prefix('$').unwrap_or(&e.json_path);
        Error::parse(path, format!("{at}{inner}"), e.message)
    })?;
    Ok(Some((doc, raw)))
}

struct Reader {
    files: Files,
}

impl Reader {
    fn json<T: serde::de::DeserializeOwned>(
        &mut self,
        rel: &str,
    ) -> Result<(T, std::path::PathBuf)> {
        let text = self.files.read_text(rel)?;
        let path = self.files.abs(rel);
        Ok((parse_json(&path, &text)?, path))
    }

    fn json_if_exists<T: serde::de::DeserializeOwned>(
        &mut self,
        rel: &str,
    ) -> Result<Option<(T, std::path::PathBuf)>> {
        match self.files.read_text_if_exists(rel)? {
            None => Ok(None),
            Some(text) => {
                let path = self.files.abs(rel);
                Ok(Some((parse_json(&path, &text)?, path)))
            }
        }
    }
}

/// Reads `dir` (an `organization/` folder).
pub fn load_organization(dir: &Path) -> Result<Organization> {
    let mut r = Reader {
        files: Files::new(dir),
    };
    let mut warnings = Warnings::default();
    if let Some(text) = r.files.read_text_if_exists(super::MANIFEST)? {
        let (m, _) = manifest::parse(&r.files.abs(super::MANIFEST), &text)?;
        manifest::verify(&m, &mut r.files)?;
    }

    let (d, path): (DescribeOrganization, _) = r.json("describe-organization.json")?;
    let facts = required(
        &path,
        d.organization,
        "Organization",
        "aws organizations describe-organization",
    )?;
    if !is_account_id(&facts.master_account_id) {
        return Err(Error::parse(
            &path,
            "$.Organization.MasterAccountId",
            "not a 12-digit account id",
        ));
    }
    let mut org = Organization {
        root: dir.to_path_buf(),
        id: facts.id,
        management_account: facts.master_account_id,
        ..Organization::default()
    };

    let (accounts, path): (Accounts, _) = r.json("list-accounts.json")?;
    complete(
        &path,
        accounts.next_token.as_ref(),
        "aws organizations list-accounts",
    )?;
    for (i, a) in required(
        &path,
        accounts.accounts,
        "Accounts",
        "aws organizations list-accounts",
    )?
    .into_iter()
    .enumerate()
    {
        if !is_account_id(&a.id) {
            return Err(Error::parse(
                &path,
                format!("$.Accounts[{i}].Id"),
                "not a 12-digit account id",
            ));
        }
        org.accounts.insert(
            a.id,
            (a.name.unwrap_or_default(), a.status.unwrap_or_default()),
        );
    }

    let enabled = tree(&mut r, &mut org)?;
    for kind in ControlPolicyType::ALL {
        control_policies(&mut r, &mut org, kind)?;
        if !org.control_types.contains(&kind)
            && let Some(at) = enabled.get(&kind)
        {
            warnings.push(
                "control_policies_missing",
                Some("list-roots.json"),
                Some(at.clone()),
                format!(
                    "the root has {} enabled, but there is no policies/{}.json (a file name's \
                     letter case counts): no {} is modelled, so no grant is marked as blocked or \
                     restricted by one; add the output of `aws organizations list-policies \
                     --filter {}` and each policy's files",
                    kind.api_name(),
                    kind.api_name(),
                    kind.short(),
                    kind.api_name()
                ),
            );
        }
    }
    permission_sets(&mut r, &mut org, &mut warnings)?;

    // Accounts the list names but the tree does not place: no SCP can be applied to them.
    let unplaced: Vec<&String> = org
        .accounts
        .keys()
        .filter(|a| !org.nodes.contains_key(a.as_str()))
        .collect();
    if !unplaced.is_empty() {
        warnings.push(
            "organization_account_not_placed",
            Some("list-accounts.json"),
            None,
            format!(
                "{} account(s) are listed but in no OU or root of the tree (ous/ and accounts/ \
                 lack them): {}; no SCP or RCP is applied to them",
                unplaced.len(),
                unplaced
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    org.files = r.files.finish();
    org.warnings = warnings.finish();
    Ok(org)
}

/// The roots, then per parent its OUs and accounts, breadth first. Returns the control policy
/// types a root has `ENABLED`, each with the JSON path that says so.
fn tree(r: &mut Reader, org: &mut Organization) -> Result<BTreeMap<ControlPolicyType, String>> {
    let (roots, path): (Roots, _) = r.json("list-roots.json")?;
    complete(
        &path,
        roots.next_token.as_ref(),
        "aws organizations list-roots",
    )?;
    let roots = required(&path, roots.roots, "Roots", "aws organizations list-roots")?;
    let mut queue = Vec::new();
    let mut enabled = BTreeMap::new();
    for (i, root) in roots.into_iter().enumerate() {
        for (j, t) in root.policy_types.iter().flatten().enumerate() {
            let kind = ControlPolicyType::ALL
                .into_iter()
                .find(|k| t.kind.as_deref() == Some(k.api_name()));
            if let Some(kind) = kind
                && t.status.as_deref() == Some("ENABLED")
            {
                enabled
                    .entry(kind)
                    .or_insert_with(|| format!("$.Roots[{i}].PolicyTypes[{j}]"));
            }
        }
        let at = format!("$.Roots[{i}].Id");
        safe_id(&path, &at, &root.id)?;
        once_in_tree(org, &path, &at, &root.id)?;
        queue.push(root.id.clone());
        org.nodes.insert(
            root.id.clone(),
            OrgNode {
                name: root.name.unwrap_or_else(|| "Root".into()),
                id: root.id,
                kind: NodeKind::Root,
                parent: None,
            },
        );
    }
    let mut seen = BTreeSet::new();
    while let Some(parent) = queue.pop() {
        if !seen.insert(parent.clone()) {
            continue;
        }
        let command =
            format!("aws organizations list-organizational-units-for-parent --parent-id {parent}");
        let (ous, path): (Ous, _) = r.json(&format!("ous/{parent}.json"))?;
        complete(&path, ous.next_token.as_ref(), &command)?;
        for (i, ou) in required(
            &path,
            ous.organizational_units,
            "OrganizationalUnits",
            &command,
        )?
        .into_iter()
        .enumerate()
        {
            let at = format!("$.OrganizationalUnits[{i}].Id");
            safe_id(&path, &at, &ou.id)?;
            once_in_tree(org, &path, &at, &ou.id)?;
            queue.push(ou.id.clone());
            org.nodes.insert(
                ou.id.clone(),
                OrgNode {
                    name: ou.name.unwrap_or_default(),
                    id: ou.id,
                    kind: NodeKind::OrganizationalUnit,
                    parent: Some(parent.clone()),
                },
            );
        }
        let command = format!("aws organizations list-accounts-for-parent --parent-id {parent}");
        let (accounts, path): (Accounts, _) = r.json(&format!("accounts/{parent}.json"))?;
        complete(&path, accounts.next_token.as_ref(), &command)?;
        for (i, a) in required(&path, accounts.accounts, "Accounts", &command)?
            .into_iter()
            .enumerate()
        {
            let at = format!("$.Accounts[{i}].Id");
            if !is_account_id(&a.id) {
                return Err(Error::parse(&path, at, "not a 12-digit account id"));
            }
            once_in_tree(org, &path, &at, &a.id)?;
            let name = a
                .name
                .or_else(|| org.accounts.get(&a.id).map(|(n, _)| n.clone()))
                .unwrap_or_default();
            org.nodes.insert(
                a.id.clone(),
                OrgNode {
                    id: a.id,
                    name,
                    kind: NodeKind::Account,
                    parent: Some(parent.clone()),
                },
            );
        }
    }
    Ok(enabled)
}

/// An id the tree already holds may not be placed again: an account has one parent, and an OU
/// listed under itself or below (a root listed as an OU) would make the tree a loop. Taking the
/// last one read changed which SCPs apply.
fn once_in_tree(org: &Organization, path: &Path, at: &str, id: &str) -> Result<()> {
    let Some(first) = org.nodes.get(id) else {
        return Ok(());
    };
    let listed = match (&first.parent, first.kind) {
        (None, _) => "list-roots.json".to_string(),
        (Some(p), NodeKind::Account) => format!("accounts/{p}.json"),
        (Some(p), _) => format!("ous/{p}.json"),
    };
    let (what, rule) = match first.kind {
        NodeKind::Account => ("the account", "an account has one parent"),
        NodeKind::OrganizationalUnit => (
            "the OU",
            "an OU has one parent, and one listed under itself or below would make a loop",
        ),
        NodeKind::Root => (
            "the root",
            "a root has no parent, and one listed under an OU would make a loop",
        ),
    };
    Err(Error::parse(
        path,
        at,
        format!(
            "{id} is already in the tree, as {what} {} listed by {listed}: {rule}",
            first.name
        ),
    ))
}

fn control_policies(r: &mut Reader, org: &mut Organization, kind: ControlPolicyType) -> Result<()> {
    let command = format!(
        "aws organizations list-policies --filter {}",
        kind.api_name()
    );
    let Some((list, path)) =
        r.json_if_exists::<Policies>(&format!("policies/{}.json", kind.api_name()))?
    else {
        return Ok(());
    };
    complete(&path, list.next_token.as_ref(), &command)?;
    org.control_types.push(kind);
    for (i, p) in required(&path, list.policies, "Policies", &command)?
        .into_iter()
        .enumerate()
    {
        safe_id(&path, &format!("$.Policies[{i}].Id"), &p.id)?;
        if p.kind.as_deref().is_some_and(|k| k != kind.api_name()) {
            return Err(Error::parse(
                &path,
                format!("$.Policies[{i}].Type"),
                format!(
                    "a {} in the list of {}",
                    p.kind.unwrap_or_default(),
                    kind.api_name()
                ),
            ));
        }
        let describe = format!("aws organizations describe-policy --policy-id {}", p.id);
        let (d, dpath): (DescribePolicy, _) = r.json(&format!("policy/{}.json", p.id))?;
        let body = required(&dpath, d.policy, "Policy", &describe)?;
        if body.policy_summary.id != p.id {
            return Err(Error::parse(
                &dpath,
                "$.Policy.PolicySummary.Id",
                format!("describes {}, not {}", body.policy_summary.id, p.id),
            ));
        }
        let content = required(&dpath, body.content, "Policy.Content", &describe)?;
        let Some((document, _)) = document_of(&dpath, "$.Policy.Content", content)? else {
            return Err(Error::parse(
                &dpath,
                "$.Policy.Content",
                "the policy document is empty",
            ));
        };
        let tcommand = format!(
            "aws organizations list-targets-for-policy --policy-id {}",
            p.id
        );
        let (t, tpath): (Targets, _) = r.json(&format!("targets/{}.json", p.id))?;
        complete(&tpath, t.next_token.as_ref(), &tcommand)?;
        let mut targets: Vec<String> = required(&tpath, t.targets, "Targets", &tcommand)?
            .into_iter()
            .map(|t| t.target_id)
            .collect();
        targets.sort();
        targets.dedup();
        org.control_policies.push(ControlPolicy {
            id: p.id,
            name: body.policy_summary.name,
            kind,
            aws_managed: p.aws_managed || body.policy_summary.aws_managed,
            document,
            targets,
        });
    }
    org.control_policies
        .sort_by(|a, b| (a.kind, &a.name, &a.id).cmp(&(b.kind, &b.name, &b.id)));
    Ok(())
}

/// The last part of an ARN (`…/ps-0123`), checked as a safe id.
fn arn_tail<'a>(path: &Path, at: &str, arn: &'a str) -> Result<&'a str> {
    let tail = crate::model::arn::name(arn);
    safe_id(path, at, tail)?;
    Ok(tail)
}

fn permission_sets(r: &mut Reader, org: &mut Organization, warnings: &mut Warnings) -> Result<()> {
    let Some((instances, path)) = r.json_if_exists::<Instances>("sso/list-instances.json")? else {
        return Ok(());
    };
    complete(
        &path,
        instances.next_token.as_ref(),
        "aws sso-admin list-instances",
    )?;
    let instances = required(
        &path,
        instances.instances,
        "Instances",
        "aws sso-admin list-instances",
    )?;
    for (i, inst) in instances.iter().enumerate() {
        let instance_id = arn_tail(
            &path,
            &format!("$.Instances[{i}].InstanceArn"),
            &inst.instance_arn,
        )?
        .to_string();
        let command = format!(
            "aws sso-admin list-permission-sets --instance-arn {}",
            inst.instance_arn
        );
        let Some((sets, spath)) = r.json_if_exists::<PermissionSets>(&format!(
            "sso/{instance_id}/list-permission-sets.json"
        ))?
        else {
            warnings.push(
                "permission_sets_missing",
                Some("sso/list-instances.json"),
                Some(format!("$.Instances[{i}]")),
                format!(
                    "no sso/{instance_id}/list-permission-sets.json: the permission sets of this \
                     Identity Center instance are not known, so its roles are analysed one by one"
                ),
            );
            continue;
        };
        complete(&spath, sets.next_token.as_ref(), &command)?;
        for (j, arn) in required(&spath, sets.permission_sets, "PermissionSets", &command)?
            .iter()
            .enumerate()
        {
            let ps_id = arn_tail(&spath, &format!("$.PermissionSets[{j}]"), arn)?.to_string();
            let ps = permission_set(r, &instance_id, &ps_id, arn)?;
            org.permission_sets.push(ps);
        }
    }
    org.permission_sets
        .sort_by(|a, b| (&a.name, &a.arn).cmp(&(&b.name, &b.arn)));
    for pair in org.permission_sets.windows(2) {
        if let [a, b] = pair
            && a.name == b.name
        {
            return Err(Error::Input {
                path: r.files.abs("sso"),
                message: format!(
                    "two permission sets are named {:?} ({} and {}): their roles cannot be told apart",
                    a.name, a.arn, b.arn
                ),
            });
        }
    }
    Ok(())
}

fn permission_set(
    r: &mut Reader,
    instance_id: &str,
    ps_id: &str,
    arn: &str,
) -> Result<PermissionSet> {
    let dir = format!("sso/{instance_id}/{ps_id}");
    let (d, path): (DescribePermissionSet, _) =
        r.json(&format!("{dir}/describe-permission-set.json"))?;
    let facts = required(
        &path,
        d.permission_set,
        "PermissionSet",
        "aws sso-admin describe-permission-set",
    )?;
    if facts.permission_set_arn != arn {
        return Err(Error::parse(
            &path,
            "$.PermissionSet.PermissionSetArn",
            format!("describes {}, not {arn}", facts.permission_set_arn),
        ));
    }
    if permission_set_of_role(&format!("AWSReservedSSO_{}_0", facts.name))
        != Some(facts.name.as_str())
    {
        return Err(Error::parse(
            &path,
            "$.PermissionSet.Name",
            "not a permission set name",
        ));
    }
    let (inline, path): (InlinePolicy, _) = r.json(&format!("{dir}/inline-policy.json"))?;
    let inline_text = match &inline.inline_policy {
        Some(UniqueKeys(serde_json::Value::String(s))) => Some(s.clone()),
        _ => None,
    };
    let inline = match inline.inline_policy {
        None => None,
        Some(v) => document_of(&path, "$.InlinePolicy", v)?,
    };
    let managed = managed_policies(r, &dir)?;
    let customer = customer_policies(r, &dir)?;
    let boundary = boundary(r, &dir)?;
    let accounts = provisioned_accounts(r, &dir)?;
    let (inline_policy, inline_raw, inline_text) = match inline {
        Some((d, raw)) => (Some(d), Some(raw), inline_text),
        None => (None, None, None),
    };
    Ok(PermissionSet {
        arn: arn.to_string(),
        id: ps_id.to_string(),
        instance_id: instance_id.to_string(),
        name: facts.name,
        session_duration: facts.session_duration,
        inline_policy,
        inline_raw,
        inline_text,
        managed_policies: managed,
        customer_managed_policies: customer,
        boundary,
        accounts,
    })
}

/// `managed-policies.json` of a permission set's folder `dir`, sorted.
fn managed_policies(r: &mut Reader, dir: &str) -> Result<Vec<ManagedReference>> {
    let command = "aws sso-admin list-managed-policies-in-permission-set";
    let (m, path): (ManagedPolicies, _) = r.json(&format!("{dir}/managed-policies.json"))?;
    complete(&path, m.next_token.as_ref(), command)?;
    let mut managed: Vec<ManagedReference> = required(
        &path,
        m.attached_managed_policies,
        "AttachedManagedPolicies",
        command,
    )?
    .into_iter()
    .map(|m| ManagedReference {
        name: m.name,
        arn: m.arn,
    })
    .collect();
    managed.sort();
    Ok(managed)
}

/// `customer-managed-policies.json` of a permission set's folder, sorted (path `/` when absent).
fn customer_policies(r: &mut Reader, dir: &str) -> Result<Vec<PolicyReference>> {
    let command = "aws sso-admin list-customer-managed-policy-references-in-permission-set";
    let (c, path): (CustomerPolicies, _) =
        r.json(&format!("{dir}/customer-managed-policies.json"))?;
    complete(&path, c.next_token.as_ref(), command)?;
    let mut customer: Vec<PolicyReference> = required(
        &path,
        c.customer_managed_policy_references,
        "CustomerManagedPolicyReferences",
        command,
    )?
    .into_iter()
    .map(|c| PolicyReference {
        name: c.name,
        path: c.path.unwrap_or_else(|| "/".into()),
    })
    .collect();
    customer.sort();
    Ok(customer)
}

/// `permissions-boundary.json` of a permission set's folder, when there is one.
fn boundary(r: &mut Reader, dir: &str) -> Result<Option<Boundary>> {
    let Some((b, path)) =
        r.json_if_exists::<PermissionsBoundary>(&format!("{dir}/permissions-boundary.json"))?
    else {
        return Ok(None);
    };
    let b = required(
        &path,
        b.permissions_boundary,
        "PermissionsBoundary",
        "aws sso-admin get-permissions-boundary-for-permission-set",
    )?;
    Ok(
        match (b.customer_managed_policy_reference, b.managed_policy_arn) {
            (Some(c), _) => Some(Boundary::CustomerManaged(PolicyReference {
                name: c.name,
                path: c.path.unwrap_or_else(|| "/".into()),
            })),
            (None, Some(arn)) => Some(Boundary::AwsManaged(arn)),
            (None, None) => None,
        },
    )
}

/// `accounts.json` of a permission set's folder: 12-digit ids, sorted, once each.
fn provisioned_accounts(r: &mut Reader, dir: &str) -> Result<Vec<String>> {
    let command = "aws sso-admin list-accounts-for-provisioned-permission-set";
    let (a, path): (ProvisionedAccounts, _) = r.json(&format!("{dir}/accounts.json"))?;
    complete(&path, a.next_token.as_ref(), command)?;
    let mut accounts = required(&path, a.account_ids, "AccountIds", command)?;
    for (i, id) in accounts.iter().enumerate() {
        if !is_account_id(id) {
            return Err(Error::parse(
                &path,
                format!("$.AccountIds[{i}]"),
                "not a 12-digit account id",
            ));
        }
    }
    accounts.sort();
    accounts.dedup();
    Ok(accounts)
}

/// The organisation part of the organisation folders among `paths`, if any (at most one).
pub fn find(paths: &[std::path::PathBuf]) -> Result<Option<Organization>> {
    let mut found: Option<Organization> = None;
    for p in paths {
        let dir = p.join(ORGANIZATION_DIR);
        if p.join(super::AUTHORIZATION_DETAILS).exists() {
            continue;
        }
        if !dir.is_dir() {
            // A file by that name is not an absent part: refused rather than run without it.
            if std::fs::symlink_metadata(&dir).is_ok() {
                return Err(Error::Input {
                    path: dir,
                    message: "a file, not a folder: the organisation part is a folder of the \
                              AWS CLI's outputs (see docs/export-format.md)"
                        .into(),
                });
            }
            continue;
        }
        let org = load_organization(&dir)?;
        if let Some(first) = &found {
            return Err(Error::Input {
                path: dir,
                message: format!(
                    "a second organisation part (the first is {}): give one organisation's \
                     folders per run",
                    first.root.display()
                ),
            });
        }
        found = Some(org);
    }
    Ok(found)
}
