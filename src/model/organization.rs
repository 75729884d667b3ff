//! The organisation part of an export (`organization/`, see docs/export-format.md): the OU tree,
//! the service and resource control policies with their targets, and the IAM Identity Center
//! permission sets with the accounts they are provisioned to.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::{InputFile, PolicyDocument, Warning};

/// What kind of node of the organisation tree an id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    Root,
    OrganizationalUnit,
    Account,
}

impl NodeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Root => "root",
            NodeKind::OrganizationalUnit => "OU",
            NodeKind::Account => "account",
        }
    }
}

/// A root, OU or account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrgNode {
    pub id: String,
    pub name: String,
    pub kind: NodeKind,
    /// The parent's id; `None` for a root (and for an account the tree does not place).
    pub parent: Option<String>,
}

/// `SERVICE_CONTROL_POLICY` or `RESOURCE_CONTROL_POLICY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum ControlPolicyType {
    #[serde(rename = "SERVICE_CONTROL_POLICY")]
    Scp,
    #[serde(rename = "RESOURCE_CONTROL_POLICY")]
    Rcp,
}

impl ControlPolicyType {
    pub const ALL: [ControlPolicyType; 2] = [ControlPolicyType::Scp, ControlPolicyType::Rcp];

    /// The `--filter` value and file name (`SERVICE_CONTROL_POLICY`).
    pub fn api_name(self) -> &'static str {
        match self {
            ControlPolicyType::Scp => "SERVICE_CONTROL_POLICY",
            ControlPolicyType::Rcp => "RESOURCE_CONTROL_POLICY",
        }
    }

    /// `SCP` or `RCP`.
    pub fn short(self) -> &'static str {
        match self {
            ControlPolicyType::Scp => "SCP",
            ControlPolicyType::Rcp => "RCP",
        }
    }
}

/// An SCP or RCP with its document and the ids it is attached to.
#[derive(Debug, Clone, Serialize)]
pub struct ControlPolicy {
    pub id: String,
    pub name: String,
    pub kind: ControlPolicyType,
    pub aws_managed: bool,
    #[serde(skip)]
    pub document: PolicyDocument,
    /// Root, OU and account ids, sorted.
    pub targets: Vec<String>,
}

/// A customer managed policy a permission set refers to by name and path (it must exist in
/// every account the set is provisioned to).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PolicyReference {
    pub name: String,
    pub path: String,
}

/// A permission set's permissions boundary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Boundary {
    AwsManaged(String),
    CustomerManaged(PolicyReference),
}

/// An AWS managed policy attached to a permission set.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ManagedReference {
    pub name: String,
    pub arn: String,
}

/// An IAM Identity Center permission set.
#[derive(Debug, Clone, Serialize)]
pub struct PermissionSet {
    pub arn: String,
    /// `ps-…`.
    pub id: String,
    /// `ssoins-…`.
    pub instance_id: String,
    pub name: String,
    pub session_duration: Option<String>,
    #[serde(skip)]
    pub inline_policy: Option<PolicyDocument>,
    /// The inline policy as Identity Center stores it (for rollback), when there is one.
    #[serde(skip)]
    pub inline_raw: Option<serde_json::Value>,
    /// Its text exactly as `GetInlinePolicyForPermissionSet` returned it (the rollback sends it
    /// back byte for byte); `None` when the export holds the document as a JSON object.
    #[serde(skip)]
    pub inline_text: Option<String>,
    pub managed_policies: Vec<ManagedReference>,
    pub customer_managed_policies: Vec<PolicyReference>,
    pub boundary: Option<Boundary>,
    /// Accounts it is provisioned to, sorted.
    pub accounts: Vec<String>,
}

impl PermissionSet {
    /// Whether the role at `path` named `role_name` is this set's role
    /// ([`identity_center_set`]).
    pub fn owns_role(&self, path: &str, role_name: &str) -> bool {
        identity_center_set(path, role_name) == Some(self.name.as_str())
    }
}

/// The path of IAM Identity Center's roles (then the instance's region and `/`, for most).
pub const IDENTITY_CENTER_PATH: &str = "/aws-reserved/sso.amazonaws.com/";

/// The permission set an IAM Identity Center role belongs to, from the role's path and name:
/// Identity Center makes its roles under [`IDENTITY_CENTER_PATH`], named
/// `AWSReservedSSO_<set>_<hash>` ([`permission_set_of_role`]). A role of that name elsewhere is
/// not one of its roles.
pub fn identity_center_set<'n>(path: &str, role_name: &'n str) -> Option<&'n str> {
    path.starts_with(IDENTITY_CENTER_PATH)
        .then(|| permission_set_of_role(role_name))
        .flatten()
}

/// The permission set name in an Identity Center role name: `AWSReservedSSO_Dev_Ops_0123abcd…`
/// → `Dev_Ops` (the name may itself contain `_`; the suffix after the last `_` is the hash).
pub fn permission_set_of_role(role_name: &str) -> Option<&str> {
    let rest = role_name.strip_prefix("AWSReservedSSO_")?;
    let (name, hash) = rest.rsplit_once('_')?;
    (!name.is_empty() && !hash.is_empty() && hash.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then_some(name)
}

/// The organisation part, read from `<organisation folder>/organization/`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Organization {
    /// The `organization/` folder.
    pub root: PathBuf,
    pub id: String,
    pub management_account: String,
    /// Roots, OUs and accounts by id.
    pub nodes: BTreeMap<String, OrgNode>,
    /// Account id → (name, status) from `list-accounts.json`.
    pub accounts: BTreeMap<String, (String, String)>,
    /// Every SCP and RCP, sorted by (type, name, id). Empty for a type whose list file is
    /// absent (the type is not enabled, or was not exported).
    pub control_policies: Vec<ControlPolicy>,
    /// Which control policy types the export lists (their `policies/<TYPE>.json` exists).
    pub control_types: Vec<ControlPolicyType>,
    /// Sorted by name.
    pub permission_sets: Vec<PermissionSet>,
    /// Every file read, sorted by path (relative to the organisation folder).
    pub files: Vec<InputFile>,
    pub warnings: Vec<Warning>,
}

impl Organization {
    /// The path from a root down to `id` (root first, `id` last); just `[id]` when the tree does
    /// not place it.
    pub fn chain(&self, id: &str) -> Vec<&OrgNode> {
        let mut out = Vec::new();
        let mut at = self.nodes.get(id);
        while let Some(n) = at {
            if out.iter().any(|o: &&OrgNode| o.id == n.id) {
                break; // a cycle in hand-made data: stop rather than loop
            }
            out.push(n);
            at = n.parent.as_ref().and_then(|p| self.nodes.get(p));
        }
        out.reverse();
        out
    }

    /// The control policies of `kind` attached directly to `id`.
    pub fn attached(&self, kind: ControlPolicyType, id: &str) -> Vec<&ControlPolicy> {
        self.control_policies
            .iter()
            .filter(|p| p.kind == kind && p.targets.iter().any(|t| t == id))
            .collect()
    }

    /// The permission set an Identity Center role belongs to: its path and name name the set
    /// ([`identity_center_set`]). The set's `accounts` may not list the role's account: Identity
    /// Center deletes a set's role where it deprovisions the set, so such a role is the set's, and
    /// the organisation part older than the export (`analysis::organization` warns of it).
    pub fn permission_set_for(&self, path: &str, role_name: &str) -> Option<&PermissionSet> {
        let name = identity_center_set(path, role_name)?;
        self.permission_sets.iter().find(|ps| ps.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::{identity_center_set, permission_set_of_role};

    #[test]
    fn role_names_name_their_permission_set() {
        assert_eq!(
            permission_set_of_role("AWSReservedSSO_Developer_0a1b2c3d4e5f6789"),
            Some("Developer")
        );
        assert_eq!(
            permission_set_of_role("AWSReservedSSO_Dev_Ops_0a1b2c3d4e5f6789"),
            Some("Dev_Ops")
        );
        assert_eq!(permission_set_of_role("AWSReservedSSO_"), None);
        assert_eq!(permission_set_of_role("AWSReservedSSO_Developer"), None);
        assert_eq!(permission_set_of_role("Developer_0a1b"), None);
    }

    #[test]
    fn identity_center_roles_are_under_its_path() {
        let name = "AWSReservedSSO_Dev_Ops_0a1b2c3d4e5f6789";
        let sso = "/aws-reserved/sso.amazonaws.com/eu-west-1/";
        assert_eq!(identity_center_set(sso, name), Some("Dev_Ops"));
        assert_eq!(
            identity_center_set("/aws-reserved/sso.amazonaws.com/", name),
            Some("Dev_Ops")
        );
        assert_eq!(identity_center_set("/", name), None);
        assert_eq!(identity_center_set("/team/", name), None);
        assert_eq!(identity_center_set(sso, "admin"), None);
    }
}
