//! Deciding across principals how each managed policy change is applied.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::{Apply, Flag, PrincipalPlan, Replacement};
use crate::model::{Export, ManagedPolicy, Principal, PrincipalType};
use crate::policy::PolicyKind;

/// Chooses how each managed policy change is applied, looking across principals: a
/// customer-managed policy gets a new default version only when every principal it is attached
/// to would get the same document; otherwise, and for AWS managed policies, the principal gets its
/// own replacement policy.
pub(super) fn decide_managed(
    plans: &mut [PrincipalPlan],
    exports: &[Export],
    analysis: &crate::analysis::Analysis<'_>,
) {
    let docs = tightened_documents(plans, analysis);
    let uses = uses_per_account(exports);
    let export_of = super::plan::export_index(exports);
    let mut names = CopyNames::of(exports);
    for plan in plans.iter_mut() {
        // A permission set's managed policies are detached, never copied (permission_set.rs).
        if plan.permission_set.is_some() {
            continue;
        }
        let Some(export) = export_of.get(&*plan.account_id).map(|&i| &exports[i]) else {
            continue;
        };
        let Some(uses) = uses.get(&*plan.account_id) else {
            continue;
        };
        let mut notes = Vec::new();
        let owner = Owner {
            name: &plan.name,
            partition: &plan.partition,
            account: &plan.account_id,
        };
        for (i, p) in plan.policies.iter_mut().enumerate() {
            if p.policy.kind == PolicyKind::Inline || p.tightened.empty {
                continue;
            }
            let Some(arn) = p.policy.arn.clone() else {
                continue;
            };
            let managed = export.policies.get(&arn);
            let holders = if p.policy.kind == PolicyKind::CustomerManaged {
                let who = docs
                    .get(&(plan.account_id.clone(), arn.clone()))
                    .and_then(|by_doc| by_doc.get(&p.tightened_digest.get()));
                uses.holders(&arn, managed.map(|m| &**m), who)
            } else {
                Holders::Differ
            };
            if let Holders::Agree(n @ 2..) = holders {
                notes.push(Flag::from(format!(
                    "{}: attached to {n} principals, and every one of them gets the same tightened document, so the policy itself gets a new version",
                    p.policy.name,
                )));
            }
            let agreed = matches!(holders, Holders::Agree(_));
            if agreed && let Some(full) = managed.and_then(|m| versions_full(m)) {
                notes.push(Flag::from(format!("{}: {full}", p.policy.name)));
            }
            p.apply = if agreed {
                Apply::NewVersion {
                    previous_default: managed
                        .and_then(|m| m.default_version_id.as_deref())
                        .map(Into::into),
                }
            } else {
                let r = names.free_copy(&p.policy.name, &owner);
                if r.number != 0 {
                    notes.push(Flag::from(names.renamed_note(&p.policy.name, &owner, &r)));
                }
                if let Holders::Uncounted(why) = &holders {
                    notes.push(Flag::from(format!(
                        "{}: {why}: this principal gets its own copy {}",
                        p.policy.name, r.new_name
                    )));
                } else if p.policy.kind == PolicyKind::CustomerManaged {
                    // Rendered when read, from the policy's name and the principal's.
                    match u32::try_from(i) {
                        Ok(i) => notes.push(Flag::OwnCopy {
                            policy: i,
                            number: r.number,
                        }),
                        Err(_) => notes.push(Flag::from(super::own_copy_note(
                            &p.policy.name,
                            &r.new_name,
                        ))),
                    }
                }
                Apply::Replace(Box::new(r))
            };
        }
        plan.flags.extend(notes);
    }
}

/// What to do first when a policy that gets a new version has as many versions as IAM keeps:
/// `create-policy-version` fails until one is deleted.
fn versions_full(m: &crate::model::ManagedPolicy) -> Option<String> {
    if m.versions < crate::model::MAX_POLICY_VERSIONS {
        return None;
    }
    let what = format!(
        "it has {} versions, the most IAM keeps, so create-policy-version fails (LimitExceeded) \
         until one is deleted; delete one other than the default first",
        m.versions
    );
    Some(match &m.oldest_other_version {
        Some(v) => format!(
            "{what}, such as the oldest ({v}; its document is in the export's PolicyVersionList): \
             aws iam delete-policy-version --policy-arn {} --version-id {v}",
            m.arn
        ),
        None => format!(
            "{what} (aws iam list-policy-versions --policy-arn {})",
            m.arn
        ),
    })
}

/// (account, policy ARN) of a customer managed policy.
type Key = (std::sync::Arc<str>, String);
/// The principals (type, name) that would get one tightened document.
type Who = BTreeSet<(PrincipalType, String)>;

/// Per customer managed policy, per tightened document (the digest of its compact JSON), the
/// principals that would get it.
fn tightened_documents(
    plans: &[PrincipalPlan],
    analysis: &crate::analysis::Analysis<'_>,
) -> HashMap<Key, HashMap<[u8; 32], Who>> {
    let mut docs: HashMap<Key, HashMap<[u8; 32], Who>> = HashMap::new();
    for plan in plans {
        // Intentional access is confirmed, not changed: its decision is `confirm_intentional`, so
        // a new version would narrow it under a decision that names only the others. Left out
        // here, it never agrees, and the others get copies.
        let intentional = analysis
            .principals
            .get(plan.analysis_index)
            .is_some_and(|p| p.intentional.is_some());
        if plan.skipped.is_some() || intentional {
            continue;
        }
        for p in &plan.policies {
            if let (PolicyKind::CustomerManaged, Some(arn)) = (p.policy.kind, &p.policy.arn) {
                docs.entry((plan.account_id.clone(), arn.clone()))
                    .or_default()
                    .entry(p.tightened_digest.get())
                    .or_default()
                    .insert((plan.kind, plan.name.clone()));
            }
        }
    }
    docs
}

/// Who each managed policy of one account is attached to, and which serve as a permissions
/// boundary, from the export's principals.
struct Uses<'e> {
    attached: HashMap<&'e str, Vec<&'e Principal>>,
    boundaries: BTreeSet<&'e str>,
    /// The kinds of principal the export lists none of ([`Export::kinds_not_listed`]).
    not_listed: Vec<&'static str>,
}

/// Whether the principals that hold a customer managed policy would all get one document.
enum Holders {
    /// Every one of them (how many) gets it, and no one else holds the policy: it gets a new
    /// version.
    Agree(usize),
    /// Some need another document, are intentional access, use it as a permissions boundary, or
    /// are not in the export (its `AttachmentCount` says more).
    Differ,
    /// Those the export shows agree, but it cannot tell whether they are all (why, in words):
    /// a count the export lacks, and a kind of principal it does not list.
    Uncounted(String),
}

impl<'e> Uses<'e> {
    /// [`Holders`] of customer managed policy `arn` (`managed`, as the export lists it), of
    /// which `who` get the principal's tightened document.
    fn holders(&self, arn: &str, managed: Option<&ManagedPolicy>, who: Option<&Who>) -> Holders {
        let attached: &[&Principal] = self.attached.get(arn).map_or(&[], Vec::as_slice);
        // A boundary of a principal the export leaves out (`--filter`) counts too: a new
        // version would narrow that principal's permissions, unseen.
        let boundary_use =
            self.boundaries.contains(arn) || managed.is_some_and(|m| m.is_a_boundary());
        let count = managed.and_then(|m| m.attachment_count);
        let same = who.is_some_and(|who| {
            attached
                .iter()
                .all(|x| who.contains(&(x.kind, x.name.clone())))
        });
        if boundary_use || count.is_some_and(|n| n as usize != attached.len()) || !same {
            return Holders::Differ;
        }
        // Without a count, only the principals listed tell who holds the policy, and they say
        // nothing about a kind the export leaves out.
        let missing: Vec<&str> = [
            ("AttachmentCount", count.is_none()),
            (
                "PermissionsBoundaryUsageCount",
                managed.is_none_or(|m| m.boundary_uses.is_none()),
            ),
        ]
        .into_iter()
        .filter_map(|(name, absent)| absent.then_some(name))
        .collect();
        if missing.is_empty() || self.not_listed.is_empty() {
            return Holders::Agree(attached.len());
        }
        Holders::Uncounted(format!(
            "the export has no {} for it and lists no {} (authorization details fetched with \
             --filter?), so whether other principals hold it{} cannot be told, and a new version \
             would narrow their permissions too",
            missing.join(" or "),
            self.not_listed.join(" and no "),
            if missing.contains(&"PermissionsBoundaryUsageCount") {
                " or use it as their permissions boundary"
            } else {
                ""
            }
        ))
    }
}

/// [`Uses`] per account, from the export's principals.
fn uses_per_account(exports: &[Export]) -> BTreeMap<&str, Uses<'_>> {
    exports
        .iter()
        .map(|e| {
            let mut attached: HashMap<&str, Vec<&Principal>> = HashMap::new();
            let mut boundaries = BTreeSet::new();
            for x in &e.principals {
                for a in &x.attached_policies {
                    let v = attached.entry(a.as_str()).or_default();
                    if v.last().is_none_or(|l| !std::ptr::eq(*l, x)) {
                        v.push(x);
                    }
                }
                if let Some(b) = &x.permissions_boundary {
                    boundaries.insert(b.as_str());
                }
            }
            let uses = Uses {
                attached,
                boundaries,
                not_listed: e.kinds_not_listed(),
            };
            (e.account_id.as_str(), uses)
        })
        .collect()
}

/// The names of the customer managed policies of each account, as IAM compares them (case
/// apart: `ReadOnly` and `readonly` cannot both exist), to name each copy with a name no policy
/// has: a copy named as an existing policy (one an earlier review left behind, say) fails the
/// apply's `create-policy`, and the folder's rollback would detach and delete that policy.
struct CopyNames<'e> {
    /// Per account, the names the export has: its policies, and those its principals have
    /// attached or use as a permissions boundary (a filtered export lists some only there).
    existing: HashMap<&'e str, HashSet<String>>,
    /// Per account, the copies named so far (two principals' copies can have one name:
    /// `a-tightened-b` of principal `c`, and `a` of principal `b-tightened-c`).
    chosen: HashMap<std::sync::Arc<str>, HashSet<String>>,
}

impl<'e> CopyNames<'e> {
    fn of(exports: &'e [Export]) -> CopyNames<'e> {
        let mut existing: HashMap<&str, HashSet<String>> = HashMap::new();
        for e in exports {
            let names = existing.entry(e.account_id.as_str()).or_default();
            let own =
                |arn: &&String| crate::model::arn::account(arn) == Some(e.account_id.as_str());
            let attached = e.principals.iter().flat_map(|x| {
                x.attached_policies
                    .iter()
                    .chain(x.permissions_boundary.as_ref())
            });
            for arn in e.policies.keys().chain(attached).filter(own) {
                names.insert(crate::model::arn::name(arn).to_ascii_lowercase());
            }
        }
        CopyNames {
            existing,
            chosen: HashMap::new(),
        }
    }

    fn taken(&self, account: &str, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        self.existing
            .get(account)
            .is_some_and(|n| n.contains(&name))
            || self.chosen.get(account).is_some_and(|n| n.contains(&name))
    }

    /// The copy of `policy` for `plan`'s principal: [`Replacement::of`]'s name when it is free,
    /// else the first free one of `-2`, `-3`, ... ([`Replacement::numbered`]).
    fn free_copy(&mut self, policy: &str, owner: &Owner<'_>) -> Replacement {
        let copy = |n| Replacement::numbered(policy, owner.name, owner.partition, owner.account, n);
        let mut r = copy(0);
        let mut n: u16 = 1;
        // 65,534 policies of one name's numbers would be needed to run out: then the last
        // number, whose name may be taken too (the apply's create-policy then fails).
        while self.taken(owner.account, &r.new_name) && n < u16::MAX {
            n += 1;
            r = copy(n);
        }
        self.chosen
            .entry(owner.account.clone())
            .or_default()
            .insert(r.new_name.to_ascii_lowercase());
        r
    }

    /// The flag of copy `r` of `policy`, named apart ([`Replacement::number`] not 0).
    fn renamed_note(&self, policy: &str, owner: &Owner<'_>, r: &Replacement) -> String {
        let usual = Replacement::of(policy, owner.name, "", "").new_name;
        let by = if self
            .existing
            .get(&**owner.account)
            .is_some_and(|n| n.contains(&usual.to_ascii_lowercase()))
        {
            "the account already has a policy of that name (a copy an earlier review left behind, \
             or another policy)"
        } else {
            "another principal's copy in this report has that name"
        };
        format!(
            "{policy}: this principal's copy would be named {usual}, but {by}, so it is named {}; \
             the policy named {usual} is not changed, and this folder's rollback does not touch it",
            r.new_name
        )
    }
}

/// The principal a copy is made for, and where.
struct Owner<'a> {
    name: &'a str,
    partition: &'a str,
    account: &'a std::sync::Arc<str>,
}
