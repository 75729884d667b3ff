//! Effective grants of one principal: which catalog actions its identity policies allow, after
//! unconditional Deny and the permissions boundary, and where each grant comes from.
//!
//! The model (and what it leaves out) is described in `docs/grant-model.md`.

use std::collections::BTreeSet;

use foldhash::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::Serialize;

use crate::catalog::{ActionId, ActionSet};
use crate::model::document::{Effect, PolicyDocument};
use crate::model::{Export, InlinePolicy, ManagedPolicy, Principal, PrincipalType};
use crate::policy::expand::{DocumentExpansion, Expander};

/// Where a policy comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyKind {
    Inline,
    CustomerManaged,
    AwsManaged,
}

impl PolicyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::Inline => "inline",
            PolicyKind::CustomerManaged => "customer_managed",
            PolicyKind::AwsManaged => "aws_managed",
        }
    }
}

/// One policy that contributed to a principal's grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyRef {
    /// Inline policy name, or the managed policy's name.
    pub name: String,
    /// Managed policies only.
    pub arn: Option<String>,
    pub kind: PolicyKind,
    /// The group the policy reaches a user through; `None` when attached to the principal itself.
    pub via_group: Option<String>,
    /// True for the permissions boundary (it limits, never grants).
    pub boundary: bool,
}

/// One statement of one policy and the actions it covers.
#[derive(Debug, Clone)]
pub struct StatementGrant {
    /// Index into [`PrincipalGrants::policies`].
    pub policy: usize,
    /// Index of the statement in the policy's `Statement` list.
    pub statement: usize,
    /// Sid, else `#index`.
    pub label: String,
    pub actions: Arc<ActionSet>,
    /// Resource is not `*` (a list of ARNs, or `NotResource`).
    pub scoped: bool,
    /// Has a `Condition`.
    pub conditional: bool,
}

/// A pattern that matched no catalog action (typo, retired service, or newer than the catalog).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct UnmatchedPattern {
    pub pattern: String,
    /// Index into [`PrincipalGrants::policies`].
    pub policy: usize,
    pub statement: usize,
}

/// A policy ARN the principal references that is not in the export.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct MissingPolicy {
    pub arn: String,
    /// The group through which a user references it.
    pub via_group: Option<String>,
    /// True when the missing policy is the permissions boundary (then no boundary is applied).
    pub boundary: bool,
}

impl fmt::Display for MissingPolicy {
    /// The ARN, with how it is referenced: `arn (permissions boundary)`, `arn (via group devs)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.arn)?;
        if self.boundary {
            f.write_str(" (permissions boundary)")?;
        }
        if let Some(g) = &self.via_group {
            write!(f, " (via group {g})")?;
        }
        Ok(())
    }
}

/// Everything a principal is granted, with provenance.
#[derive(Debug, Clone)]
pub struct PrincipalGrants {
    /// Identity policies in evaluation order (inline, attached, then each group's inline and
    /// attached, groups sorted by name), then the boundary if present in the export.
    pub policies: Vec<PolicyRef>,
    /// Every Allow statement of the identity policies (not the boundary's).
    pub allows: Vec<StatementGrant>,
    /// Union of all Allow statements, before Deny and boundary.
    pub allowed: ActionSet,
    /// Actions removed by unconditional, all-resource Deny statements of the identity policies.
    pub denied: ActionSet,
    /// Deny statements that were *not* subtracted because they have a Condition or a scoped
    /// Resource / NotResource (flags tell which); from identity policies and the boundary.
    pub partial_denies: Vec<StatementGrant>,
    /// The boundary's effective allowed set (its Allow minus its unconditional Deny), when a
    /// boundary is set and its policy is in the export.
    pub boundary: Option<ActionSet>,
    /// `(allowed − denied) ∩ boundary`.
    pub effective: ActionSet,
    /// Sorted.
    pub unmatched: Vec<UnmatchedPattern>,
    /// Sorted, deduplicated.
    pub missing_policies: Vec<MissingPolicy>,
    /// Group names a user lists that are not in the export. Sorted.
    pub missing_groups: Vec<String>,
}

impl PrincipalGrants {
    /// The Allow statements that grant `a` (whether or not it survives Deny and boundary).
    pub fn sources(&self, a: ActionId) -> impl Iterator<Item = &StatementGrant> {
        self.allows.iter().filter(move |g| g.actions.contains(a))
    }

    /// The policy a statement grant belongs to.
    pub fn policy(&self, grant: &StatementGrant) -> &PolicyRef {
        &self.policies[grant.policy]
    }

    /// True when `a` is effectively granted.
    pub fn grants(&self, a: ActionId) -> bool {
        self.effective.contains(a)
    }

    /// True when every Allow granting `a` is scoped to resources (false when none grants it).
    pub fn is_scoped(&self, a: ActionId) -> bool {
        let mut any = false;
        self.sources(a).all(|g| {
            any = true;
            g.scoped
        }) && any
    }

    /// True when every Allow granting `a` has a Condition (false when none grants it).
    pub fn is_conditional(&self, a: ActionId) -> bool {
        let mut any = false;
        self.sources(a).all(|g| {
            any = true;
            g.conditional
        }) && any
    }

    /// True when no Allow grants `a` on every resource without a condition (false when none
    /// grants it). Weaker than `is_scoped || is_conditional`: a scoped grant plus a conditional
    /// grant is restricted.
    pub fn is_restricted(&self, a: ActionId) -> bool {
        let mut any = false;
        self.sources(a).all(|g| {
            any = true;
            g.scoped || g.conditional
        }) && any
    }
}

/// Expansions of the documents of one or more exports, keyed by the address of the document,
/// which the `'e` borrow keeps alive and unchanged. Reuse one across all principals of the
/// exports it borrows: a managed policy attached to 10,000 roles is then expanded once, and each
/// further role pays a hash lookup instead of re-reading the policy's patterns. An AWS managed
/// policy is also found by its ARN and version in every export the cache borrows (its document
/// compared, so a hand-edited copy is expanded on its own): the 1,523 AWS managed policies are
/// in every account's export, and one cache per export kept ~10 KB per policy per export.
#[derive(Debug, Default)]
pub struct GrantCache<'e> {
    documents: HashMap<usize, Arc<DocumentExpansion>>,
    /// AWS managed policies by (ARN, default version): the first document seen, and its expansion.
    aws_managed: HashMap<(&'e str, &'e str), (&'e PolicyDocument, Arc<DocumentExpansion>)>,
    _borrow: PhantomData<&'e PolicyDocument>,
}

impl<'e> GrantCache<'e> {
    pub fn new() -> GrantCache<'e> {
        GrantCache::default()
    }

    /// `partition`: the export's (one document is in exports of one partition only: AWS
    /// managed documents are shared by ARN, which names it).
    fn get(
        &mut self,
        expander: &mut Expander<'_>,
        document: &'e PolicyDocument,
        partition: &str,
    ) -> Arc<DocumentExpansion> {
        // Sound because every key comes from a `&'e PolicyDocument`: while this cache lives, those
        // documents are borrowed, so no other document can occupy the same address.
        let key = std::ptr::from_ref(document) as usize;
        Arc::clone(
            self.documents
                .entry(key)
                .or_insert_with(|| Arc::new(expander.document_in(document, Some(partition)))),
        )
    }

    /// A managed policy's expansion: by address, else (AWS managed) by ARN and version when the
    /// document is the same, else expanded.
    fn get_managed(
        &mut self,
        expander: &mut Expander<'_>,
        managed: &'e ManagedPolicy,
        partition: &str,
    ) -> Arc<DocumentExpansion> {
        let document: &'e PolicyDocument = &managed.document;
        let key = std::ptr::from_ref(document) as usize;
        if let Some(found) = self.documents.get(&key) {
            return Arc::clone(found);
        }
        let version = managed.default_version_id.as_deref();
        let (Some(version), true) = (version, managed.aws_managed) else {
            return self.get(expander, document, partition);
        };
        let shared = match self.aws_managed.get(&(managed.arn.as_str(), version)) {
            Some((seen, expansion)) if *seen == document => Arc::clone(expansion),
            Some(_) => return self.get(expander, document, partition),
            None => {
                let expansion = self.get(expander, document, partition);
                self.aws_managed.insert(
                    (managed.arn.as_str(), version),
                    (document, Arc::clone(&expansion)),
                );
                return expansion;
            }
        };
        self.documents.insert(key, Arc::clone(&shared));
        shared
    }
}

struct Builder<'a, 'e, 'c> {
    export: &'e Export,
    expander: &'a mut Expander<'c>,
    cache: &'a mut GrantCache<'e>,
    policies: Vec<PolicyRef>,
    allows: Vec<StatementGrant>,
    allowed: ActionSet,
    denied: ActionSet,
    partial_denies: Vec<StatementGrant>,
    unmatched: Vec<UnmatchedPattern>,
    missing_policies: Vec<MissingPolicy>,
}

impl<'e> Builder<'_, 'e, '_> {
    /// The export's partition: an all-wildcard ARN naming it applies to every resource.
    fn partition(&self) -> Option<&'e str> {
        Some(self.export.partition.as_str())
    }

    /// Adds a document's statements. Returns the document's own effective set.
    fn add(&mut self, policy: PolicyRef, expansion: &DocumentExpansion) -> ActionSet {
        let is_boundary = policy.boundary;
        let index = self.policies.len();
        self.policies.push(policy);
        for s in &expansion.statements {
            for pattern in &s.unmatched {
                self.unmatched.push(UnmatchedPattern {
                    pattern: pattern.clone(),
                    policy: index,
                    statement: s.index,
                });
            }
            let absolute_deny = s.is_absolute_deny();
            let grant = StatementGrant {
                policy: index,
                statement: s.index,
                label: s.label.clone(),
                actions: Arc::clone(&s.actions),
                scoped: s.scoped,
                conditional: s.conditional,
            };
            match s.effect {
                Effect::Allow if !is_boundary => {
                    self.allowed.union_with(&grant.actions);
                    self.allows.push(grant);
                }
                Effect::Allow => {}
                Effect::Deny if absolute_deny => {
                    if !is_boundary {
                        self.denied.union_with(&grant.actions);
                    }
                }
                Effect::Deny => self.partial_denies.push(grant),
            }
        }
        expansion.effective.clone()
    }

    fn inline_ref(inline: &InlinePolicy, via_group: Option<&str>) -> PolicyRef {
        PolicyRef {
            name: inline.name.clone(),
            arn: None,
            kind: PolicyKind::Inline,
            via_group: via_group.map(str::to_string),
            boundary: false,
        }
    }

    /// The principal's own inline policies: not cached (each is seen once).
    fn add_own_inline(&mut self, principal: &Principal, changes: &PolicyChanges<'_>) {
        for (k, inline) in principal.inline_policies.iter().enumerate() {
            let document = match changes.inline_change(principal, k) {
                Some(None) => continue,
                Some(Some(changed)) => changed,
                None => &inline.document,
            };
            let expansion = self.expander.document_in(document, self.partition());
            self.add(Self::inline_ref(inline, None), &expansion);
        }
    }

    /// A group's inline policies: cached, since many users share a group.
    fn add_group_inline(&mut self, group: &'e Principal) {
        for inline in &group.inline_policies {
            let expansion = self
                .cache
                .get(self.expander, &inline.document, &self.export.partition);
            self.add(Self::inline_ref(inline, Some(&group.name)), &expansion);
        }
    }

    /// Attached managed policies; `changes` apply to the principal's own (`via_group` `None`).
    fn add_attached(
        &mut self,
        attached: &[String],
        via_group: Option<&str>,
        changes: &PolicyChanges<'_>,
    ) {
        for arn in attached {
            let export = self.export;
            let change = match via_group {
                None => changes.attached_change(arn),
                Some(_) => None,
            };
            if let Some(None) = change {
                continue;
            }
            match export.policies.get(arn) {
                Some(managed) => {
                    let policy = managed_ref(managed, via_group, false);
                    let expansion = match change {
                        Some(Some(changed)) => {
                            Arc::new(self.expander.document_in(changed, self.partition()))
                        }
                        _ => self
                            .cache
                            .get_managed(self.expander, managed, &export.partition),
                    };
                    self.add(policy, &expansion);
                }
                None => self.missing_policies.push(MissingPolicy {
                    arn: arn.clone(),
                    via_group: via_group.map(str::to_string),
                    boundary: false,
                }),
            }
        }
    }
}

/// `export.principals` is sorted by (kind, name): binary search, with a linear fallback in case a
/// hand-built export is not sorted.
fn find_group<'e>(export: &'e Export, name: &str) -> Option<&'e Principal> {
    export
        .principals
        .binary_search_by(|p| (p.kind, p.name.as_str()).cmp(&(PrincipalType::Group, name)))
        .ok()
        .and_then(|i| export.principals.get(i))
        .or_else(|| export.principal(PrincipalType::Group, name))
}

fn managed_ref(managed: &ManagedPolicy, via_group: Option<&str>, boundary: bool) -> PolicyRef {
    PolicyRef {
        name: managed.name.clone(),
        arn: Some(managed.arn.clone()),
        kind: if managed.aws_managed {
            PolicyKind::AwsManaged
        } else {
            PolicyKind::CustomerManaged
        },
        via_group: via_group.map(str::to_string),
        boundary,
    }
}

/// Computes the effective grants of `principal` in `export` (a convenience over
/// [`principal_grants_cached`] with a fresh cache; prefer that one in a loop over principals).
pub fn principal_grants(
    principal: &Principal,
    export: &Export,
    expander: &mut Expander<'_>,
) -> PrincipalGrants {
    principal_grants_cached(principal, export, expander, &mut GrantCache::new())
}

/// Computes the effective grants of `principal` in `export`, reusing `cache` across calls.
///
/// Union of the principal's inline and attached managed policies and, for users, their groups'
/// inline and attached policies; minus unconditional all-resource Deny; intersected with the
/// permissions boundary when its policy is in the export. Missing policies and groups are
/// recorded, never fatal.
pub fn principal_grants_cached<'e>(
    principal: &Principal,
    export: &'e Export,
    expander: &mut Expander<'_>,
    cache: &mut GrantCache<'e>,
) -> PrincipalGrants {
    principal_grants_changed(
        principal,
        export,
        expander,
        cache,
        &PolicyChanges::default(),
    )
}

/// Replacements for some of a principal's own policies (what a recommendation changes), for
/// [`principal_grants_changed`]. `None` deletes the inline policy, or detaches the managed one.
#[derive(Debug, Default)]
pub struct PolicyChanges<'d> {
    /// By policy name: the first inline policy of that name gets the new document; every one of
    /// that name is deleted.
    pub inline: Vec<(&'d str, Option<&'d PolicyDocument>)>,
    /// By ARN: every attachment of the policy to the principal itself (not through a group, not
    /// as its boundary).
    pub attached: Vec<(&'d str, Option<&'d PolicyDocument>)>,
}

impl<'d> PolicyChanges<'d> {
    /// The change to the principal's `k`-th inline policy: `Some(None)` deleted, `Some(Some(d))`
    /// replaced by `d`, `None` unchanged.
    fn inline_change(&self, principal: &Principal, k: usize) -> Option<Option<&'d PolicyDocument>> {
        let name = principal.inline_policies.get(k)?.name.as_str();
        let (_, change) = self.inline.iter().find(|(n, _)| *n == name)?;
        match change {
            None => Some(None),
            // Only the first inline policy of the name is replaced.
            Some(d) => (principal
                .inline_policies
                .iter()
                .position(|i| i.name == name)
                == Some(k))
            .then_some(Some(*d)),
        }
    }

    /// The change to an attached policy: `Some(None)` detached, `Some(Some(d))` its document
    /// replaced by `d` (for this principal only), `None` unchanged.
    fn attached_change(&self, arn: &str) -> Option<Option<&'d PolicyDocument>> {
        self.attached
            .iter()
            .find(|(a, _)| *a == arn)
            .map(|(_, change)| *change)
    }
}

/// [`principal_grants_cached`] with some of the principal's own policies changed: its effective
/// grants once a recommendation is applied, computed on the export as it is (no copy of the
/// principal or of its policies). A replaced document is expanded afresh, never taken from
/// `cache`.
pub fn principal_grants_changed<'e>(
    principal: &Principal,
    export: &'e Export,
    expander: &mut Expander<'_>,
    cache: &mut GrantCache<'e>,
    changes: &PolicyChanges<'_>,
) -> PrincipalGrants {
    let catalog = expander.catalog();
    let mut b = Builder {
        export,
        cache,
        allowed: catalog.empty_set(),
        denied: catalog.empty_set(),
        expander,
        policies: Vec::new(),
        allows: Vec::new(),
        partial_denies: Vec::new(),
        unmatched: Vec::new(),
        missing_policies: Vec::new(),
    };
    b.add_own_inline(principal, changes);
    b.add_attached(&principal.attached_policies, None, changes);

    let mut missing_groups = Vec::new();
    if principal.kind == PrincipalType::User {
        let groups: BTreeSet<&str> = principal.groups.iter().map(String::as_str).collect();
        for name in groups {
            match find_group(export, name) {
                Some(group) => {
                    b.add_group_inline(group);
                    b.add_attached(&group.attached_policies, Some(name), changes);
                }
                None => missing_groups.push(name.to_string()),
            }
        }
    }

    let mut boundary = None;
    if let Some(arn) = &principal.permissions_boundary {
        match export.policies.get(arn) {
            Some(managed) => {
                let policy = managed_ref(managed, None, true);
                let expansion = b.cache.get_managed(b.expander, managed, &export.partition);
                boundary = Some(b.add(policy, &expansion));
            }
            None => b.missing_policies.push(MissingPolicy {
                arn: arn.clone(),
                via_group: None,
                boundary: true,
            }),
        }
    }

    let mut effective = b.allowed.clone();
    effective.difference_with(&b.denied);
    if let Some(limit) = &boundary {
        effective.intersect_with(limit);
    }
    b.unmatched.sort();
    b.missing_policies.sort();
    b.missing_policies.dedup();
    PrincipalGrants {
        policies: b.policies,
        allows: b.allows,
        allowed: b.allowed,
        denied: b.denied,
        partial_denies: b.partial_denies,
        boundary,
        effective,
        unmatched: b.unmatched,
        missing_policies: b.missing_policies,
        missing_groups,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use serde_json::{Value, json};
    use std::collections::BTreeMap;

    fn doc(v: Value) -> PolicyDocument {
        PolicyDocument::from_value(v).unwrap()
    }

    fn principal(kind: PrincipalType, name: &str) -> Principal {
        Principal {
            kind,
            name: name.into(),
            id: format!("ID{name}"),
            arn: format!("arn:aws:iam::123456789012:{}/{name}", kind.as_str()),
            path: "/".into(),
            created: None,
            inline_policies: Vec::new(),
            attached_policies: Vec::new(),
            groups: Vec::new(),
            permissions_boundary: None,
            tags: Default::default(),
            role_last_used: None,
            trusted: Vec::new(),
            service_linked: false,
        }
    }

    fn managed(name: &str, aws: bool, document: Value) -> ManagedPolicy {
        let arn = if aws {
            format!("arn:aws:iam::aws:policy/{name}")
        } else {
            format!("arn:aws:iam::123456789012:policy/{name}")
        };
        ManagedPolicy {
            arn,
            name: name.into(),
            path: "/".into(),
            aws_managed: aws,
            default_version_id: Some("v1".into()),
            attachment_count: None,
            boundary_uses: None,
            create_date: None,
            update_date: None,
            document: Arc::new(doc(document)),
            versions: 1,
            oldest_other_version: None,
            default_created: None,
            other_versions: Box::default(),
        }
    }

    fn export(principals: Vec<Principal>, policies: Vec<ManagedPolicy>) -> Export {
        Export {
            root: "x".into(),
            account_id: "123456789012".into(),
            partition: "aws".into(),
            principals,
            policies: policies
                .into_iter()
                .map(|p| (p.arn.clone(), std::sync::Arc::new(p)))
                .collect(),
            last_accessed: BTreeMap::new(),
            last_accessed_deferred: false,
            details: Default::default(),
            credential_report: None,
            manifest: None,
            data_time: None,
            files: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn names(c: &Catalog, s: &ActionSet) -> Vec<String> {
        s.iter().map(|i| c.full_name(i)).collect()
    }

    fn allow(action: &str) -> Value {
        json!({"Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]})
    }

    /// One cache over several exports expands an AWS managed policy once when its ARN, version
    /// and document are the same, and again when the document differs; a customer managed
    /// policy of the same name is its own account's.
    #[test]
    fn one_cache_shares_aws_managed_policies_across_exports() {
        let c = Catalog::embedded();
        let mut e = Expander::new(c);
        let read = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]});
        let edited = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}]});
        let exports = [
            export(
                vec![],
                vec![
                    managed("ReadOnly", true, read.clone()),
                    managed("Mine", false, read.clone()),
                ],
            ),
            export(
                vec![],
                vec![
                    managed("ReadOnly", true, read.clone()),
                    managed("Mine", false, read.clone()),
                ],
            ),
            export(vec![], vec![managed("ReadOnly", true, edited)]),
        ];
        let arn = "arn:aws:iam::aws:policy/ReadOnly";
        let mine = "arn:aws:iam::123456789012:policy/Mine";
        let mut cache = GrantCache::new();
        let aws: Vec<_> = exports
            .iter()
            .map(|x| cache.get_managed(&mut e, &x.policies[arn], "aws"))
            .collect();
        assert!(Arc::ptr_eq(&aws[0], &aws[1]));
        assert!(!Arc::ptr_eq(&aws[0], &aws[2]));
        assert_ne!(aws[0].effective, aws[2].effective);
        // Asked again, by address: the same expansions.
        assert!(Arc::ptr_eq(
            &aws[2],
            &cache.get_managed(&mut e, &exports[2].policies[arn], "aws")
        ));
        assert!(Arc::ptr_eq(
            &aws[1],
            &cache.get_managed(&mut e, &exports[1].policies[arn], "aws")
        ));
        let own: Vec<_> = exports[..2]
            .iter()
            .map(|x| cache.get_managed(&mut e, &x.policies[mine], "aws"))
            .collect();
        assert!(!Arc::ptr_eq(&own[0], &own[1]));
        assert_eq!(own[0].effective, aws[0].effective);
    }

    #[test]
    fn user_with_groups_deny_and_boundary() {
        let c = crate::catalog::small_test_catalog().clone();
        let mut e = Expander::new(&c);
        let s3 = managed("S3All", false, allow("s3:*"));
        let admin = managed("AdministratorAccess", true, allow("*"));
        let boundary = managed(
            "Boundary",
            false,
            json!({"Statement": [
                {"Effect": "Allow", "Action": ["s3:*", "ec2:*", "iam:GetRole"], "Resource": "*"},
                {"Effect": "Deny", "Action": "ec2:Run*", "Resource": "*"}
            ]}),
        );
        let mut group = principal(PrincipalType::Group, "devs");
        group.attached_policies = vec![admin.arn.clone()];
        group.inline_policies = vec![InlinePolicy {
            name: "deny-delete".into(),
            document: doc(json!({"Statement": [
                {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"},
                {"Sid": "MfaOnly", "Effect": "Deny", "Action": "iam:*", "Resource": "*",
                 "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}
            ]})),
        }];
        let mut user = principal(PrincipalType::User, "alice");
        user.attached_policies = vec![s3.arn.clone(), "arn:aws:iam::1:policy/Gone".into()];
        user.groups = vec!["devs".into(), "ghosts".into(), "devs".into()];
        user.permissions_boundary = Some(boundary.arn.clone());
        user.inline_policies = vec![InlinePolicy {
            name: "typo".into(),
            document: doc(json!({"Statement": {"Effect": "Allow",
                "Action": ["s3:Gett*", "iam:PassRole"], "Resource": "arn:aws:iam::1:role/r"}})),
        }];
        let ex = export(vec![group, user.clone()], vec![s3, admin, boundary]);
        let g = principal_grants(&user, &ex, &mut e);
        // The cached path gives the same answer, twice.
        let mut cache = GrantCache::new();
        for _ in 0..2 {
            let again = principal_grants_cached(&user, &ex, &mut e, &mut cache);
            assert_eq!(again.effective, g.effective);
            assert_eq!(again.policies, g.policies);
            assert_eq!(again.unmatched, g.unmatched);
            assert_eq!(again.boundary, g.boundary);
        }

        assert_eq!(g.allowed.len(), c.len());
        assert_eq!(names(&c, &g.denied), ["s3:DeleteObject"]);
        assert_eq!(
            names(&c, &g.effective),
            [
                "ec2:DescribeImages",
                "ec2:DescribeInstances",
                "ec2:TerminateInstances",
                "iam:GetRole",
                "s3:DeleteBucket",
                "s3:GetBucketPolicy",
                "s3:GetObject",
                "s3:PutObject"
            ]
        );
        assert_eq!(g.boundary.as_ref().map(ActionSet::len), Some(9));
        assert_eq!(g.partial_denies.len(), 1);
        assert_eq!(g.partial_denies[0].label, "MfaOnly");
        assert!(g.partial_denies[0].conditional);
        assert_eq!(g.missing_groups, ["ghosts"]);
        assert_eq!(g.missing_policies.len(), 1);
        assert_eq!(
            g.missing_policies[0].to_string(),
            "arn:aws:iam::1:policy/Gone"
        );
        assert_eq!(g.unmatched.len(), 1);
        assert_eq!(g.unmatched[0].pattern, "s3:Gett*");
        assert_eq!(g.policies[g.unmatched[0].policy].name, "typo");

        // Provenance.
        let get = c.lookup_full("s3:GetObject").unwrap();
        let from: Vec<&str> = g.sources(get).map(|s| g.policy(s).name.as_str()).collect();
        assert_eq!(from, ["S3All", "AdministratorAccess"]);
        let via: Vec<Option<&str>> = g
            .sources(get)
            .map(|s| g.policy(s).via_group.as_deref())
            .collect();
        assert_eq!(via, [None, Some("devs")]);
        assert!(!g.is_scoped(get));
        let pass = c.lookup_full("iam:PassRole").unwrap();
        assert!(!g.is_scoped(pass)); // also granted unscoped by AdministratorAccess
        assert!(!g.grants(pass)); // not in the boundary
        assert_eq!(g.policies.last().map(|p| p.boundary), Some(true));
    }

    #[test]
    fn scoped_conditional_flags_and_missing_boundary() {
        let c = crate::catalog::small_test_catalog().clone();
        let mut e = Expander::new(&c);
        let mut role = principal(PrincipalType::Role, "app");
        role.permissions_boundary = Some("arn:aws:iam::1:policy/NoSuchBoundary".into());
        role.inline_policies = vec![InlinePolicy {
            name: "p".into(),
            document: doc(json!({"Statement": [
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
                {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*",
                 "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}},
                {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::1:role/x"},
                {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
                 "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}},
                {"Effect": "Allow", "NotAction": ["s3:*", "iam:*"], "Resource": "*"},
                {"Effect": "Deny", "Action": "ec2:RunInstances", "NotResource": "arn:aws:ec2:*:*:instance/*"}
            ]})),
        }];
        // Groups only apply to users.
        role.groups = vec!["ignored".into()];
        let ex = export(vec![role.clone()], vec![]);
        let g = principal_grants(&role, &ex, &mut e);
        let id = |n| c.lookup_full(n).unwrap();
        assert!(g.boundary.is_none());
        assert_eq!(
            g.missing_policies[0].to_string(),
            "arn:aws:iam::1:policy/NoSuchBoundary (permissions boundary)"
        );
        assert!(g.missing_groups.is_empty());
        // All but the s3 and iam actions no statement allows.
        assert_eq!(g.effective.len(), c.len() - 6);
        for gone in [
            "s3:GetBucketPolicy",
            "s3:DeleteObject",
            "s3:DeleteBucket",
            "iam:ListRoles",
            "iam:GetRole",
            "iam:CreateUser",
        ] {
            assert!(!g.effective.contains(id(gone)), "{gone}");
        }
        assert!(g.is_scoped(id("s3:GetObject")) && !g.is_conditional(id("s3:GetObject")));
        assert!(g.is_conditional(id("s3:PutObject")) && !g.is_scoped(id("s3:PutObject")));
        let pass = id("iam:PassRole");
        assert!(!g.is_scoped(pass) && !g.is_conditional(pass) && g.is_restricted(pass));
        assert!(!g.is_restricted(id("ec2:RunInstances")));
        assert!(g.grants(id("ec2:RunInstances"))); // the NotResource Deny is partial
        assert_eq!(g.partial_denies.len(), 1);
        assert!(g.partial_denies[0].scoped);
        assert!(!g.is_scoped(id("iam:GetRole")) && !g.grants(id("iam:GetRole")));
    }

    /// A Deny on every ARN of the export's partition (`arn:aws:*:*:*:*` in `aws`) takes the
    /// action away, as `*` does; in an export of another partition it matches nothing there and
    /// only counts as a partial Deny.
    #[test]
    fn a_deny_on_every_arn_of_the_exports_partition_is_absolute() {
        let c = crate::catalog::small_test_catalog().clone();
        let mut e = Expander::new(&c);
        let mut role = principal(PrincipalType::Role, "app");
        role.inline_policies = vec![InlinePolicy {
            name: "p".into(),
            document: doc(json!({"Statement": [
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:*:*:*:*"},
                {"Effect": "Allow", "Action": "iam:*", "Resource": "*"},
                {"Effect": "Deny", "Action": "iam:CreateUser", "Resource": "arn:aws:*:*:*:*"}
            ]})),
        }];
        let id = |n| c.lookup_full(n).unwrap();
        let mut ex = export(vec![role.clone()], vec![]);
        let g = principal_grants(&role, &ex, &mut e);
        assert!(!g.grants(id("iam:CreateUser")));
        assert!(g.partial_denies.is_empty());
        assert!(!g.is_scoped(id("s3:GetObject")));
        ex.partition = "aws-cn".into();
        let g = principal_grants(&role, &ex, &mut e);
        assert!(g.grants(id("iam:CreateUser")));
        assert_eq!(g.partial_denies.len(), 1);
        assert!(g.is_scoped(id("s3:GetObject")));
    }
}
