//! Intentional access: roles and users that exist to be powerful — the role AWS Organizations
//! creates for the management account, break-glass roles, IAM Identity Center administrator
//! permission sets, CI deploy roles with administrator access. Their unused permissions are not
//! "what to remove first": each one is a single decision (confirm it as intentional with an
//! exclusion that has an owner, a reason and an expiry, or reduce it). Detected by documented
//! rules (docs/methodology.md, "Intentional access"), which `--config` can extend or switch off;
//! the report says which rule matched.

use globset::GlobMatcher;
use serde::Serialize;

use crate::model::{Principal, PrincipalType};

/// Why a principal is intentional access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntentionalMatch {
    /// The rule's id: a built-in one (`organization_access_role`, `break_glass`,
    /// `sso_admin_permission_set`, `ci_deploy_admin`) or one from `--config`.
    pub rule: String,
    /// What the rule says, in one sentence.
    pub reason: String,
}

/// A rule from `--config` (`[[intentional.rule]]`).
#[derive(Debug, Clone, Serialize)]
pub struct IntentionalRule {
    pub id: String,
    pub principal: Option<String>,
    pub path: Option<String>,
    pub policy: Option<String>,
    pub reason: String,
    #[serde(skip)]
    pub(crate) principal_glob: Option<GlobMatcher>,
    #[serde(skip)]
    pub(crate) policy_glob: Option<GlobMatcher>,
}

/// The `[intentional]` part of `--config`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IntentionalConfig {
    /// Built-in rules switched off (`disable = ["ci_deploy_admin"]`).
    pub disabled: Vec<String>,
    /// Rules of the organisation's own, tried after the built-in ones.
    pub rules: Vec<IntentionalRule>,
}

/// The built-in rules, in the order they are tried: (id, what it matches).
pub const BUILTIN: [(&str, &str); 4] = [
    (
        "organization_access_role",
        "a role named OrganizationAccountAccessRole: AWS Organizations creates it in member accounts so that the management account has administrator access",
    ),
    (
        "break_glass",
        "a role or user whose name says break-glass or emergency access (*breakglass*, *break-glass*, *break_glass*, *emergency*)",
    ),
    (
        "sso_admin_permission_set",
        "an IAM Identity Center role (path /aws-reserved/sso.amazonaws.com/, AWSReservedSSO_*) of an administrator permission set (it holds AdministratorAccess, or its name says Admin)",
    ),
    (
        "ci_deploy_admin",
        "a role a CI system assumes (GitHub Actions, GitLab, Bitbucket, Terraform Cloud or CircleCI by OIDC, or AWS CodeBuild / CodePipeline) that holds AdministratorAccess or PowerUserAccess",
    ),
];

/// OIDC issuers of CI systems (in `Federated` trust principals).
const CI_ISSUERS: [&str; 5] = [
    "token.actions.githubusercontent.com",
    "gitlab.com",
    "api.bitbucket.org",
    "app.terraform.io",
    "oidc.circleci.com",
];

/// Services that run CI builds and deployments.
const CI_SERVICES: [&str; 2] = ["codebuild.amazonaws.com", "codepipeline.amazonaws.com"];

/// Whether one of the `granting` policies (names) is one of `names`, in any case.
fn holds(granting: &[&str], names: &[&str]) -> bool {
    granting
        .iter()
        .any(|p| names.iter().any(|n| p.eq_ignore_ascii_case(n)))
}

fn builtin_match(id: &str, p: &Principal, policies: &[&str]) -> bool {
    let lower = p.name.to_ascii_lowercase();
    match id {
        "organization_access_role" => {
            p.kind == PrincipalType::Role && p.name == "OrganizationAccountAccessRole"
        }
        "break_glass" => {
            p.kind != PrincipalType::Group
                && ["breakglass", "break-glass", "break_glass", "emergency"]
                    .iter()
                    .any(|w| lower.contains(w))
        }
        "sso_admin_permission_set" => {
            p.kind == PrincipalType::Role
                && p.path.starts_with("/aws-reserved/sso.amazonaws.com/")
                && p.name.starts_with("AWSReservedSSO_")
                && (holds(policies, &["AdministratorAccess"]) || lower.contains("admin"))
        }
        "ci_deploy_admin" => {
            let ci = p.trusted.iter().any(|t| match t.kind.as_str() {
                "Federated" => CI_ISSUERS.iter().any(|i| t.value.contains(i)),
                "Service" => CI_SERVICES.contains(&t.value.as_str()),
                _ => false,
            });
            p.kind == PrincipalType::Role
                && ci
                && holds(policies, &["AdministratorAccess", "PowerUserAccess"])
        }
        _ => false,
    }
}

impl IntentionalConfig {
    /// The first rule (built-in, then the config's own) that `p` matches; `policies` are the
    /// names of its policies that grant (not its permissions boundary).
    pub fn find(&self, p: &Principal, policies: &[&str]) -> Option<IntentionalMatch> {
        for (id, what) in BUILTIN {
            if !self.disabled.iter().any(|d| d == id) && builtin_match(id, p, policies) {
                return Some(IntentionalMatch {
                    rule: id.to_string(),
                    reason: what.to_string(),
                });
            }
        }
        self.rules
            .iter()
            .find(|r| {
                r.principal_glob
                    .as_ref()
                    .is_none_or(|g| g.is_match(&p.name) || g.is_match(&p.arn))
                    && r.path
                        .as_ref()
                        .is_none_or(|pre| p.path.starts_with(pre.as_str()))
                    && r.policy_glob
                        .as_ref()
                        .is_none_or(|g| policies.iter().any(|name| g.is_match(name)))
            })
            .map(|r| IntentionalMatch {
                rule: r.id.clone(),
                reason: r.reason.clone(),
            })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::TrustedPrincipal;

    fn role(name: &str, path: &str) -> Principal {
        Principal {
            kind: PrincipalType::Role,
            name: name.into(),
            id: "AROA".into(),
            arn: format!("arn:aws:iam::111111111111:role{path}{name}"),
            path: path.into(),
            created: None,
            inline_policies: Vec::new(),
            attached_policies: Vec::new(),
            groups: Vec::new(),
            permissions_boundary: None,
            tags: Default::default(),
            role_last_used: None,
            service_linked: false,
            trusted: Vec::new(),
        }
    }

    /// A granting policy's name, as `find` is given it.
    fn policy(name: &str) -> &str {
        name
    }

    fn rule_of(c: &IntentionalConfig, p: &Principal, pols: &[&str]) -> Option<String> {
        c.find(p, pols).map(|m| m.rule)
    }

    #[test]
    fn builtin_rules() {
        let c = IntentionalConfig::default();
        let admin = [policy("AdministratorAccess")];
        assert_eq!(
            rule_of(&c, &role("OrganizationAccountAccessRole", "/"), &[]).as_deref(),
            Some("organization_access_role")
        );
        assert_eq!(
            rule_of(&c, &role("BreakGlassAdmin", "/"), &admin).as_deref(),
            Some("break_glass")
        );
        assert_eq!(
            rule_of(
                &c,
                &role(
                    "AWSReservedSSO_AdministratorAccess_0123456789abcdef",
                    "/aws-reserved/sso.amazonaws.com/"
                ),
                &admin
            )
            .as_deref(),
            Some("sso_admin_permission_set")
        );
        // A read-only permission set is not intentional admin access.
        assert_eq!(
            rule_of(
                &c,
                &role(
                    "AWSReservedSSO_ReadOnly_0123456789abcdef",
                    "/aws-reserved/sso.amazonaws.com/"
                ),
                &[policy("ReadOnlyAccess")]
            ),
            None
        );
        let mut ci = role("ci-deploy", "/");
        ci.trusted = vec![TrustedPrincipal {
            kind: "Federated".into(),
            value: "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"
                .into(),
        }];
        assert_eq!(rule_of(&c, &ci, &admin).as_deref(), Some("ci_deploy_admin"));
        // The same CI role without admin access is an ordinary role.
        assert_eq!(rule_of(&c, &ci, &[policy("AmazonS3ReadOnlyAccess")]), None);
        // A role merely named admin is not intentional by name alone.
        assert_eq!(rule_of(&c, &role("platform-admin", "/"), &admin), None);
    }

    #[test]
    fn rules_can_be_switched_off_and_added() {
        let mut c = IntentionalConfig {
            disabled: vec!["break_glass".into()],
            rules: Vec::new(),
        };
        assert_eq!(rule_of(&c, &role("BreakGlassAdmin", "/"), &[]), None);
        c.rules.push(IntentionalRule {
            id: "platform_admins".into(),
            principal: Some("platform-*".into()),
            path: None,
            policy: Some("AdministratorAccess".into()),
            reason: "reviewed quarterly".into(),
            principal_glob: Some(globset::Glob::new("platform-*").unwrap().compile_matcher()),
            policy_glob: Some(
                globset::Glob::new("AdministratorAccess")
                    .unwrap()
                    .compile_matcher(),
            ),
        });
        let admin = [policy("AdministratorAccess")];
        assert_eq!(
            rule_of(&c, &role("platform-admin", "/"), &admin).as_deref(),
            Some("platform_admins")
        );
        assert_eq!(rule_of(&c, &role("platform-admin", "/"), &[]), None);
    }
}
