//! What service and resource control policies do to an account's grants (docs/grant-model.md,
//! "Organisation policies").
//!
//! SCPs: an action is possible in a member account only if, at **every** level from the root
//! through each OU to the account, some SCP attached there allows it, and no SCP on the path
//! denies it. Expanded against the catalog like identity policies:
//!
//! - **blocked**: a level where no attached SCP has an Allow statement covering the action (an
//!   allow-list that replaced `FullAWSAccess`), or a Deny without a condition on every resource;
//! - **restricted**: allowed at some level only by Allow statements with a condition or for some
//!   resources, or denied by a Deny with a condition or for some resources — the grant may or may
//!   not work, which the data cannot decide;
//! - RCPs limit what may be done to the account's **resources**, by anyone; a principal's grant
//!   can still act on other accounts' resources, so an RCP Deny is a restriction, never a block.
//!
//! Not modelled (said in the outputs): conditions are not evaluated; the management account and
//! service-linked roles are not subject to SCPs (the caller skips them).

use crate::catalog::{ActionId, ActionSet};
use crate::model::Effect;
use crate::model::organization::{ControlPolicyType, NodeKind, OrgNode, Organization};

use super::Expander;

/// Whether a control policy makes a grant impossible or only conditional.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlEffect {
    Blocked,
    Restricted,
}

impl ControlEffect {
    pub fn as_str(self) -> &'static str {
        match self {
            ControlEffect::Blocked => "blocked",
            ControlEffect::Restricted => "restricted",
        }
    }
}

/// Why an action is blocked or restricted, in words, with the policies that do it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct ControlNote {
    pub effect: ControlEffect,
    /// `SCP DenySageMaker`, `SCPs at OU Sandbox`, …
    pub policies: String,
    /// One sentence: what and where.
    pub detail: String,
}

/// The control policies in force for one account, as action sets.
#[derive(Debug, Clone, Default)]
pub struct AccountControls {
    /// Blocks first, then restrictions, each in root-to-account order: the first entry that
    /// contains an action explains it.
    entries: Vec<(ActionSet, ControlNote)>,
    /// Levels of the path with no SCP attached (incomplete data): nothing is modelled there.
    pub levels_without_scp: Vec<String>,
}

impl AccountControls {
    /// The note that applies to `a`, if any.
    pub fn note(&self, a: ActionId) -> Option<&ControlNote> {
        self.note_index(a).map(|i| &self.entries[i].1)
    }

    /// The position, in [`AccountControls::notes`], of the note that applies to `a`, if any.
    pub fn note_index(&self, a: ActionId) -> Option<usize> {
        self.entries.iter().position(|(set, _)| set.contains(a))
    }

    /// Every note, blocks first.
    pub fn notes(&self) -> impl Iterator<Item = &ControlNote> {
        self.entries.iter().map(|(_, n)| n)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn level_name(n: &OrgNode) -> String {
    match n.kind {
        NodeKind::Account => format!("account {}", n.id),
        k => format!("{} {}", k.as_str(), n.name),
    }
}

/// Notes in the making: what is blocked and what is restricted, in the order found.
#[derive(Default)]
struct Notes {
    blocked: Vec<(ActionSet, ControlNote)>,
    restricted: Vec<(ActionSet, ControlNote)>,
}

/// The SCPs and RCPs in force for `account` (the caller leaves out the management account), of
/// `partition` when known (an all-wildcard ARN naming it matches every resource; unknown, it is
/// taken as scoped).
pub fn account_controls(
    org: &Organization,
    account: &str,
    partition: Option<&str>,
    expander: &mut Expander<'_>,
) -> AccountControls {
    let chain = org.chain(account);
    let mut notes = Notes::default();
    let mut out = AccountControls::default();
    if chain.is_empty() {
        return out;
    }
    if org.control_types.contains(&ControlPolicyType::Scp) {
        for level in &chain {
            let attached = org.attached(ControlPolicyType::Scp, &level.id);
            if attached.is_empty() {
                out.levels_without_scp.push(level_name(level));
                continue;
            }
            scp_level(level, &attached, partition, expander, &mut notes);
        }
    }
    if org.control_types.contains(&ControlPolicyType::Rcp) {
        for level in &chain {
            rcp_level(org, level, partition, expander, &mut notes);
        }
    }
    out.entries = notes.blocked.into_iter().chain(notes.restricted).collect();
    out
}

/// The SCPs attached at one level of the path (an action must be allowed at every level): their
/// absolute denies block, their other denies restrict, what none allows is blocked, what they
/// allow only with a condition or on some resources is restricted.
fn scp_level(
    level: &OrgNode,
    attached: &[&crate::model::organization::ControlPolicy],
    partition: Option<&str>,
    expander: &mut Expander<'_>,
    notes: &mut Notes,
) {
    let catalog = expander.catalog();
    let where_ = level_name(level);
    let names = attached
        .iter()
        .map(|p| p.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let mut allow_any = catalog.empty_set();
    let mut allow_full = catalog.empty_set();
    for p in attached {
        for s in &expander.document_in(&p.document, partition).statements {
            match s.effect {
                Effect::Allow => {
                    allow_any.union_with(&s.actions);
                    if !s.scoped && !s.conditional {
                        allow_full.union_with(&s.actions);
                    }
                }
                Effect::Deny if s.is_absolute_deny() => notes.blocked.push((
                    (*s.actions).clone(),
                    ControlNote {
                        effect: ControlEffect::Blocked,
                        policies: format!("SCP {}", p.name),
                        detail: format!("denied by SCP {} attached to {where_}", p.name),
                    },
                )),
                Effect::Deny => notes.restricted.push((
                    (*s.actions).clone(),
                    ControlNote {
                        effect: ControlEffect::Restricted,
                        policies: format!("SCP {}", p.name),
                        detail: format!(
                            "SCP {} attached to {where_} denies it {}",
                            p.name,
                            if s.conditional {
                                "under a condition"
                            } else {
                                "on some resources"
                            }
                        ),
                    },
                )),
            }
        }
    }
    let mut none = allow_any.clone();
    none.complement();
    if !none.is_empty() {
        notes.blocked.push((
            none,
            ControlNote {
                effect: ControlEffect::Blocked,
                policies: format!("SCPs at {where_}"),
                detail: format!("no SCP attached to {where_} allows it (attached: {names})"),
            },
        ));
    }
    let mut partial = allow_any;
    partial.difference_with(&allow_full);
    if !partial.is_empty() {
        notes.restricted.push((
            partial,
            ControlNote {
                effect: ControlEffect::Restricted,
                policies: format!("SCPs at {where_}"),
                detail: format!(
                    "the SCPs attached to {where_} ({names}) allow it only under a \
                     condition or on some resources"
                ),
            },
        ));
    }
}

/// The services whose actions RCPs apply to, by service prefix: AWS Organizations' user guide,
/// "Resource control policies (RCPs)", "List of AWS services that support RCPs" (Amazon S3, AWS
/// STS, AWS KMS, Amazon SQS and AWS Secrets Manager since RCPs came in November 2024; Amazon ECR
/// and Amazon OpenSearch Serverless since June 2025; Amazon Cognito and Amazon CloudWatch Logs
/// since January 2026; Amazon DynamoDB since February 2026). An RCP statement denies nothing of
/// any other service: AWS does not evaluate RCPs for it. AWS names "Amazon Cognito" without
/// saying whether user pools (`cognito-idp`), identity pools (`cognito-identity`) or both: both
/// are listed, so that a restriction is shown rather than missed (the mark changes no verdict).
pub const RCP_SERVICES: [&str; 11] = [
    "s3",
    "sts",
    "kms",
    "sqs",
    "secretsmanager",
    "ecr",
    "aoss",
    "cognito-identity",
    "cognito-idp",
    "logs",
    "dynamodb",
];

/// The actions of [`RCP_SERVICES`] in the expander's catalog.
fn rcp_actions(expander: &Expander<'_>) -> ActionSet {
    let catalog = expander.catalog();
    let mut set = catalog.empty_set();
    for service in RCP_SERVICES {
        set.insert_all(catalog.service_actions(service));
    }
    set
}

/// The RCPs attached at one level of the path: their denies restrict the actions of the services
/// RCPs apply to ([`RCP_SERVICES`]).
fn rcp_level(
    org: &Organization,
    level: &OrgNode,
    partition: Option<&str>,
    expander: &mut Expander<'_>,
    notes: &mut Notes,
) {
    let where_ = level_name(level);
    let attached = org.attached(ControlPolicyType::Rcp, &level.id);
    if attached.is_empty() {
        return;
    }
    let supported = rcp_actions(expander);
    for p in attached {
        for s in &expander.document_in(&p.document, partition).statements {
            if s.effect != Effect::Deny {
                continue;
            }
            let mut actions = (*s.actions).clone();
            actions.intersect_with(&supported);
            if actions.is_empty() {
                continue;
            }
            notes.restricted.push((
                actions,
                ControlNote {
                    effect: ControlEffect::Restricted,
                    policies: format!("RCP {}", p.name),
                    detail: format!(
                        "RCP {} attached to {where_} denies it on this account's \
                         resources{}",
                        p.name,
                        if s.conditional {
                            " under a condition"
                        } else {
                            ""
                        }
                    ),
                },
            ));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::catalog::small_test_catalog;
    use crate::model::PolicyDocument;
    use crate::model::organization::{ControlPolicy, OrgNode};
    use serde_json::json;

    fn node(id: &str, kind: NodeKind, parent: Option<&str>) -> (String, OrgNode) {
        (
            id.to_string(),
            OrgNode {
                id: id.into(),
                name: id.to_uppercase(),
                kind,
                parent: parent.map(str::to_string),
            },
        )
    }

    fn policy(
        name: &str,
        kind: ControlPolicyType,
        doc: serde_json::Value,
        targets: &[&str],
    ) -> ControlPolicy {
        ControlPolicy {
            id: format!("p-{name}"),
            name: name.into(),
            kind,
            aws_managed: false,
            document: PolicyDocument::from_value(doc).unwrap(),
            targets: targets.iter().map(|t| t.to_string()).collect(),
        }
    }

    fn full() -> serde_json::Value {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    }

    /// root r → OU ou → account 111111111111; FullAWSAccess everywhere plus `extra`.
    fn org(extra: Vec<ControlPolicy>) -> Organization {
        let mut o = Organization {
            nodes: [
                node("r", NodeKind::Root, None),
                node("ou", NodeKind::OrganizationalUnit, Some("r")),
                node("111111111111", NodeKind::Account, Some("ou")),
            ]
            .into_iter()
            .collect(),
            control_types: vec![ControlPolicyType::Scp, ControlPolicyType::Rcp],
            ..Organization::default()
        };
        o.control_policies.push(policy(
            "FullAWSAccess",
            ControlPolicyType::Scp,
            full(),
            &["r", "ou", "111111111111"],
        ));
        o.control_policies.extend(extra);
        o
    }

    fn effect(o: &Organization, action: &str) -> Option<(ControlEffect, String)> {
        let catalog = small_test_catalog();
        let mut e = Expander::new(catalog);
        let c = account_controls(o, "111111111111", Some("aws"), &mut e);
        let id = catalog.lookup_full(action).unwrap();
        c.note(id).map(|n| (n.effect, n.detail.clone()))
    }

    #[test]
    fn full_access_everywhere_changes_nothing() {
        let o = org(vec![]);
        assert_eq!(effect(&o, "s3:GetObject"), None);
    }

    #[test]
    fn an_unconditional_deny_anywhere_on_the_path_blocks() {
        let o = org(vec![policy(
            "DenyS3",
            ControlPolicyType::Scp,
            json!({"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}),
            &["ou"],
        )]);
        let (e, why) = effect(&o, "s3:DeleteBucket").unwrap();
        assert_eq!(e, ControlEffect::Blocked);
        assert!(why.contains("DenyS3") && why.contains("OU OU"), "{why}");
        assert_eq!(effect(&o, "ec2:RunInstances"), None);
    }

    #[test]
    fn an_allow_list_at_one_level_blocks_what_it_does_not_list() {
        // The OU's FullAWSAccess is replaced by an allow-list of ec2 and s3.
        let mut o = org(vec![policy(
            "AllowEc2S3",
            ControlPolicyType::Scp,
            json!({"Statement": [{"Effect": "Allow", "Action": ["ec2:*", "s3:*"], "Resource": "*"}]}),
            &["ou"],
        )]);
        o.control_policies[0].targets.retain(|t| t != "ou");
        let (e, why) = effect(&o, "iam:CreateUser").unwrap();
        assert_eq!(e, ControlEffect::Blocked);
        assert!(why.contains("no SCP attached to OU OU allows it"), "{why}");
        assert_eq!(effect(&o, "ec2:RunInstances"), None);
    }

    #[test]
    fn conditional_or_resource_scoped_statements_only_restrict() {
        let o = org(vec![policy(
            "Guard",
            ControlPolicyType::Scp,
            json!({"Statement": [
                {"Effect": "Deny", "Action": "ec2:TerminateInstances", "Resource": "*",
                 "Condition": {"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}}},
                {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "arn:aws:s3:::logs"}
            ]}),
            &["r"],
        )]);
        let (e, why) = effect(&o, "ec2:TerminateInstances").unwrap();
        assert_eq!(e, ControlEffect::Restricted);
        assert!(why.contains("under a condition"), "{why}");
        let (e, why) = effect(&o, "s3:DeleteBucket").unwrap();
        assert_eq!(e, ControlEffect::Restricted);
        assert!(why.contains("on some resources"), "{why}");
    }

    #[test]
    fn a_block_wins_over_a_restriction() {
        let o = org(vec![
            policy(
                "Cond",
                ControlPolicyType::Scp,
                json!({"Statement": [{"Effect": "Deny", "Action": "sqs:*", "Resource": "*",
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}),
                &["r"],
            ),
            policy(
                "DenySqs",
                ControlPolicyType::Scp,
                json!({"Statement": [{"Effect": "Deny", "Action": "sqs:SendMessage", "Resource": "*"}]}),
                &["111111111111"],
            ),
        ]);
        assert_eq!(
            effect(&o, "sqs:SendMessage").unwrap().0,
            ControlEffect::Blocked
        );
    }

    #[test]
    fn not_action_and_letter_case_read_as_in_identity_policies() {
        // The OU's FullAWSAccess replaced by "everything but IAM"; at the root, a deny of
        // everything but IAM and S3 outside one region, and an unconditional deny written in
        // other letter case.
        let mut o = org(vec![
            policy(
                "AllButIam",
                ControlPolicyType::Scp,
                json!({"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}),
                &["ou"],
            ),
            policy(
                "Region",
                ControlPolicyType::Scp,
                json!({"Statement": [
                    {"Effect": "Deny", "NotAction": ["iam:*", "s3:*"], "Resource": "*",
                     "Condition": {"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}}},
                    {"Effect": "Deny", "Action": "S3:deleteBUCKET", "Resource": "*"}
                ]}),
                &["r"],
            ),
        ]);
        o.control_policies[0].targets.retain(|t| t != "ou");
        let (e, why) = effect(&o, "iam:CreateUser").unwrap();
        assert_eq!(e, ControlEffect::Blocked);
        assert!(why.contains("no SCP attached to OU OU allows it"), "{why}");
        let (e, why) = effect(&o, "ec2:RunInstances").unwrap();
        assert_eq!(e, ControlEffect::Restricted);
        assert!(
            why.contains("SCP Region") && why.contains("under a condition"),
            "{why}"
        );
        assert_eq!(effect(&o, "s3:GetObject"), None);
        let (e, why) = effect(&o, "s3:DeleteBucket").unwrap();
        assert_eq!(e, ControlEffect::Blocked);
        assert!(why.contains("denied by SCP Region"), "{why}");
    }

    #[test]
    fn an_rcp_deny_restricts_and_never_blocks() {
        let o = org(vec![policy(
            "DenyS3Everything",
            ControlPolicyType::Rcp,
            json!({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}]}),
            &["r"],
        )]);
        let (e, why) = effect(&o, "s3:GetObject").unwrap();
        assert_eq!(e, ControlEffect::Restricted);
        assert!(why.contains("RCP DenyS3Everything"), "{why}");
    }

    /// RCPs apply only to the actions of the services AWS lists ([`RCP_SERVICES`]): an RCP
    /// `Deny *` restricts S3, not EC2 or IAM (it marked every action of every service).
    #[test]
    fn an_rcp_deny_restricts_only_the_services_rcps_apply_to() {
        let o = org(vec![policy(
            "DataPerimeter",
            ControlPolicyType::Rcp,
            json!({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*",
                "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-x"}}}]}),
            &["r"],
        )]);
        let (e, why) = effect(&o, "s3:GetObject").unwrap();
        assert_eq!(e, ControlEffect::Restricted);
        assert!(why.contains("RCP DataPerimeter"), "{why}");
        assert_eq!(effect(&o, "ec2:RunInstances"), None);
        assert_eq!(effect(&o, "iam:PassRole"), None);
        // Only EC2 denied: no note at all.
        let o = org(vec![policy(
            "DenyEc2",
            ControlPolicyType::Rcp,
            json!({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "ec2:*", "Resource": "*"}]}),
            &["r"],
        )]);
        let catalog = small_test_catalog();
        let mut e = Expander::new(catalog);
        assert!(account_controls(&o, "111111111111", Some("aws"), &mut e).is_empty());
    }

    /// Each of [`RCP_SERVICES`] is a service prefix of the embedded catalog.
    #[test]
    fn the_rcp_services_are_catalog_services() {
        let catalog = crate::catalog::Catalog::embedded();
        for service in RCP_SERVICES {
            assert!(
                catalog.service_actions(service).len() > 0,
                "{service} is not in the catalog"
            );
        }
    }

    #[test]
    fn a_level_without_any_scp_is_reported_and_not_modelled() {
        let mut o = org(vec![]);
        o.control_policies[0].targets.retain(|t| t != "ou");
        let catalog = small_test_catalog();
        let mut e = Expander::new(catalog);
        let c = account_controls(&o, "111111111111", Some("aws"), &mut e);
        assert_eq!(c.levels_without_scp, vec!["OU OU".to_string()]);
        assert!(c.is_empty());
    }

    #[test]
    fn scps_not_in_the_export_model_nothing() {
        let mut o = org(vec![policy(
            "DenyS3",
            ControlPolicyType::Scp,
            json!({"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}),
            &["r"],
        )]);
        o.control_types.clear();
        assert_eq!(effect(&o, "s3:GetObject"), None);
    }
}
