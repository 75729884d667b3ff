//! The organisation parts of both sides compared (docs/usage.md, "diff"): IAM Identity Center
//! permission sets (matched by ARN), SCPs and RCPs (matched by id) and the organisation's
//! accounts (by id). A permission set change explains the changes of every account's
//! `AWSReservedSSO_…` role that follow from it; an SCP change, what the grants can do. One
//! [`Change`] per permission set, control policy or account that changed, with what changed in
//! words in its `detail`.

use crate::model::document::normalised;
use std::collections::{BTreeMap, BTreeSet};

use super::compare::Change;
use super::kinds::ChangeKind;
use crate::model::organization::{
    Boundary, ControlPolicy, ControlPolicyType, Organization, PermissionSet,
};

/// The changes between the organisation parts of the two sides (sorted as `diff.csv` lists
/// them), and notes for the page when only one side has one.
pub fn compare_organizations(
    old: Option<&Organization>,
    new: Option<&Organization>,
) -> (Vec<Change>, Vec<String>) {
    let (old, new) = match (old, new) {
        (None, None) => return (Vec::new(), Vec::new()),
        (Some(_), None) | (None, Some(_)) => {
            let which = if old.is_some() { "old" } else { "new" };
            return (
                Vec::new(),
                vec![format!(
                    "Only the {which} side has an organisation part: permission sets, SCPs and \
                     RCPs are not compared."
                )],
            );
        }
        (Some(o), Some(n)) => (o, n),
    };
    let mut notes = Vec::new();
    if old.id != new.id {
        notes.push(format!(
            "The organisation parts are of different organisations ({} → {}): permission sets \
             and control policies are compared by ARN and id all the same.",
            old.id, new.id
        ));
    }
    let mut changes = Vec::new();
    permission_sets(old, new, &mut changes);
    for kind in [ControlPolicyType::Scp, ControlPolicyType::Rcp] {
        let (o, n) = (
            old.control_types.contains(&kind),
            new.control_types.contains(&kind),
        );
        match (o, n) {
            (true, true) => control_policies(old, new, kind, &mut changes),
            (false, false) => {}
            _ => notes.push(format!(
                "{}s are listed only on the {} side (the type is enabled, or was exported, on \
                 one side only): they are not compared.",
                kind.short(),
                if o { "old" } else { "new" }
            )),
        }
    }
    accounts(old, new, &mut changes);
    changes.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    (changes, notes)
}

/// A row about an organisation object (no actions, no sensitivity).
fn row(kind: ChangeKind, account: &str, type_: &str, name: &str, arn: &str, d: String) -> Change {
    Change {
        principal_type: type_.to_string(),
        principal_name: name.to_string(),
        principal_arn: arn.to_string(),
        ..Change::account(kind, account, d)
    }
}

/// `a, b and c`.
fn list<I: IntoIterator<Item = String>>(items: I) -> String {
    let v: Vec<String> = items.into_iter().collect();
    match v.len() {
        0 => String::new(),
        1 => v[0].clone(),
        n => format!("{} and {}", v[..n - 1].join(", "), v[n - 1]),
    }
}

/// What is only in `a` and what is only in `b`.
fn sets<T: Ord + Clone>(a: &[T], b: &[T]) -> (Vec<T>, Vec<T>) {
    let (a, b): (BTreeSet<&T>, BTreeSet<&T>) = (a.iter().collect(), b.iter().collect());
    (
        a.difference(&b).map(|x| (*x).clone()).collect(),
        b.difference(&a).map(|x| (*x).clone()).collect(),
    )
}

fn boundary(b: &Option<Boundary>) -> String {
    match b {
        None => "none".into(),
        Some(Boundary::AwsManaged(arn)) => format!("AWS managed {arn}"),
        Some(Boundary::CustomerManaged(r)) => format!("customer managed {}{}", r.path, r.name),
    }
}

/// A permission set's contents in words (for added and removed sets).
fn contents(ps: &PermissionSet) -> String {
    let mut parts = Vec::new();
    if ps.inline_policy.is_some() {
        parts.push("an inline policy".to_string());
    }
    for m in &ps.managed_policies {
        parts.push(format!("AWS managed {}", m.name));
    }
    for r in &ps.customer_managed_policies {
        parts.push(format!("customer managed {}{}", r.path, r.name));
    }
    let grants = if parts.is_empty() {
        "no policies".to_string()
    } else {
        list(parts)
    };
    format!(
        "{grants}; provisioned to {}",
        if ps.accounts.is_empty() {
            "no account".to_string()
        } else {
            list(ps.accounts.iter().cloned())
        }
    )
}

fn permission_sets(old: &Organization, new: &Organization, out: &mut Vec<Change>) {
    let o: BTreeMap<&str, &PermissionSet> = old
        .permission_sets
        .iter()
        .map(|p| (p.arn.as_str(), p))
        .collect();
    let n: BTreeMap<&str, &PermissionSet> = new
        .permission_sets
        .iter()
        .map(|p| (p.arn.as_str(), p))
        .collect();
    for (arn, ps) in &n {
        if !o.contains_key(arn) {
            out.push(row(
                ChangeKind::PermissionSetAdded,
                &new.management_account,
                "permission_set",
                &ps.name,
                arn,
                contents(ps),
            ));
        }
    }
    for (arn, ps) in &o {
        let Some(now) = n.get(arn) else {
            out.push(row(
                ChangeKind::PermissionSetRemoved,
                &old.management_account,
                "permission_set",
                &ps.name,
                arn,
                format!("had {}", contents(ps)),
            ));
            continue;
        };
        let what = permission_set_delta(ps, now);
        if !what.is_empty() {
            out.push(row(
                ChangeKind::PermissionSetChanged,
                &new.management_account,
                "permission_set",
                &now.name,
                arn,
                what.join("; "),
            ));
        }
    }
}

/// What changed in a permission set, one phrase per aspect (empty: nothing).
fn permission_set_delta(a: &PermissionSet, b: &PermissionSet) -> Vec<String> {
    let mut what = Vec::new();
    if a.name != b.name {
        what.push(format!("renamed from {}", a.name));
    }
    match (&a.inline_raw, &b.inline_raw) {
        (None, Some(_)) => what.push("inline policy added".into()),
        (Some(_), None) => what.push("inline policy removed".into()),
        (Some(x), Some(y)) if normalised(x) != normalised(y) => {
            what.push("inline policy changed".into())
        }
        _ => {}
    }
    let (gone, came) = sets(&a.managed_policies, &b.managed_policies);
    if !came.is_empty() {
        what.push(format!(
            "AWS managed {} attached",
            list(came.into_iter().map(|m| m.name))
        ));
    }
    if !gone.is_empty() {
        what.push(format!(
            "AWS managed {} detached",
            list(gone.into_iter().map(|m| m.name))
        ));
    }
    let (gone, came) = sets(&a.customer_managed_policies, &b.customer_managed_policies);
    let name = |r: crate::model::organization::PolicyReference| format!("{}{}", r.path, r.name);
    if !came.is_empty() {
        what.push(format!(
            "customer managed reference {} attached",
            list(came.into_iter().map(name))
        ));
    }
    if !gone.is_empty() {
        what.push(format!(
            "customer managed reference {} detached",
            list(gone.into_iter().map(name))
        ));
    }
    if a.boundary != b.boundary {
        what.push(format!(
            "permissions boundary {} → {}",
            boundary(&a.boundary),
            boundary(&b.boundary)
        ));
    }
    if a.session_duration != b.session_duration {
        let d = |s: &Option<String>| s.clone().unwrap_or_else(|| "default".into());
        what.push(format!(
            "session duration {} → {}",
            d(&a.session_duration),
            d(&b.session_duration)
        ));
    }
    let (gone, came) = sets(&a.accounts, &b.accounts);
    if !came.is_empty() {
        what.push(format!("now provisioned to {}", list(came)));
    }
    if !gone.is_empty() {
        what.push(format!("no longer provisioned to {}", list(gone)));
    }
    what
}

/// A target id with its name when the side's tree names it (`OU Sandbox (ou-…)`).
fn target(org: &Organization, id: &str) -> String {
    match org.nodes.get(id) {
        Some(n) if !n.name.is_empty() => format!("{} {} ({id})", n.kind.as_str(), n.name),
        _ => id.to_string(),
    }
}

/// The control policies of `kind`, by id.
fn of_kind(org: &Organization, kind: ControlPolicyType) -> BTreeMap<&str, &ControlPolicy> {
    org.control_policies
        .iter()
        .filter(|p| p.kind == kind)
        .map(|p| (p.id.as_str(), p))
        .collect()
}

fn control_policies(
    old: &Organization,
    new: &Organization,
    kind: ControlPolicyType,
    out: &mut Vec<Change>,
) {
    let (o, n) = (of_kind(old, kind), of_kind(new, kind));
    let type_ = kind.short().to_ascii_lowercase();
    let attached = |org: &Organization, p: &ControlPolicy| {
        if p.targets.is_empty() {
            "attached to nothing".to_string()
        } else {
            format!(
                "attached to {}",
                list(p.targets.iter().map(|t| target(org, t)))
            )
        }
    };
    for (id, p) in &n {
        if !o.contains_key(id) {
            out.push(row(
                ChangeKind::ControlPolicyAdded,
                &new.management_account,
                &type_,
                &p.name,
                "",
                format!("{} {id}, {}", kind.short(), attached(new, p)),
            ));
        }
    }
    for (id, p) in &o {
        let Some(now) = n.get(id) else {
            out.push(row(
                ChangeKind::ControlPolicyRemoved,
                &old.management_account,
                &type_,
                &p.name,
                "",
                format!("{} {id}, was {}", kind.short(), attached(old, p)),
            ));
            continue;
        };
        let mut what = Vec::new();
        if p.name != now.name {
            what.push(format!("renamed from {}", p.name));
        }
        if normalised(&p.document.raw.value()) != normalised(&now.document.raw.value()) {
            what.push("document changed".to_string());
        }
        let (gone, came) = sets(&p.targets, &now.targets);
        if !came.is_empty() {
            what.push(format!(
                "attached to {}",
                list(came.iter().map(|t| target(new, t)))
            ));
        }
        if !gone.is_empty() {
            what.push(format!(
                "detached from {}",
                list(gone.iter().map(|t| target(old, t)))
            ));
        }
        if !what.is_empty() {
            out.push(row(
                ChangeKind::ControlPolicyChanged,
                &new.management_account,
                &type_,
                &now.name,
                "",
                format!("{} {id}: {}", kind.short(), what.join("; ")),
            ));
        }
    }
}

/// The OU path of an account (`Root / Workloads / Sandbox`), empty when the tree does not place
/// it.
fn path(org: &Organization, id: &str) -> String {
    let chain = org.chain(id);
    if chain.len() < 2 {
        return String::new();
    }
    chain[..chain.len() - 1]
        .iter()
        .map(|n| n.name.as_str())
        .collect::<Vec<_>>()
        .join(" / ")
}

fn accounts(old: &Organization, new: &Organization, out: &mut Vec<Change>) {
    let ids: BTreeSet<&String> = old.accounts.keys().chain(new.accounts.keys()).collect();
    for id in ids {
        let (a, b) = (old.accounts.get(id), new.accounts.get(id));
        let mut what = Vec::new();
        match (a, b) {
            (None, Some((_, status))) => what.push(format!("joined the organisation ({status})")),
            (Some(_), None) => what.push("left the organisation".to_string()),
            (Some((_, s1)), Some((_, s2))) if s1 != s2 => what.push(format!("status {s1} → {s2}")),
            _ => {}
        }
        if let (Some(_), Some(_)) = (a, b) {
            let (p1, p2) = (path(old, id), path(new, id));
            if p1 != p2 && !p1.is_empty() && !p2.is_empty() {
                what.push(format!("moved from {p1} to {p2}"));
            }
            if a.map(|x| &x.0) != b.map(|x| &x.0) {
                what.push(format!("renamed from {}", a.map_or("", |x| x.0.as_str())));
            }
        }
        if what.is_empty() {
            continue;
        }
        let name = b.or(a).map_or("", |x| x.0.as_str());
        out.push(row(
            ChangeKind::OrganizationAccountChanged,
            id,
            "account",
            name,
            "",
            what.join("; "),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::organization::{ManagedReference, NodeKind, OrgNode, PolicyReference};

    fn set(name: &str, accounts: &[&str], managed: &[&str]) -> PermissionSet {
        PermissionSet {
            arn: format!("arn:aws:sso:::permissionSet/ssoins-1/ps-{name}"),
            id: format!("ps-{name}"),
            instance_id: "ssoins-1".into(),
            name: name.into(),
            session_duration: Some("PT8H".into()),
            inline_policy: None,
            inline_raw: None,
            inline_text: None,
            managed_policies: managed
                .iter()
                .map(|m| ManagedReference {
                    name: m.to_string(),
                    arn: format!("arn:aws:iam::aws:policy/{m}"),
                })
                .collect(),
            customer_managed_policies: vec![],
            boundary: None,
            accounts: accounts.iter().map(|a| a.to_string()).collect(),
        }
    }

    fn org(sets: Vec<PermissionSet>) -> Organization {
        let mut o = Organization {
            id: "o-1".into(),
            management_account: "999999999999".into(),
            permission_sets: sets,
            ..Organization::default()
        };
        for (id, name, kind, parent) in [
            ("r-1", "Root", NodeKind::Root, None),
            ("ou-1", "Sandbox", NodeKind::OrganizationalUnit, Some("r-1")),
            ("ou-2", "Prod", NodeKind::OrganizationalUnit, Some("r-1")),
            ("111111111111", "a", NodeKind::Account, Some("ou-1")),
        ] {
            o.nodes.insert(
                id.into(),
                OrgNode {
                    id: id.into(),
                    name: name.into(),
                    kind,
                    parent: parent.map(Into::into),
                },
            );
        }
        o.accounts
            .insert("111111111111".into(), ("a".into(), "ACTIVE".into()));
        o
    }

    #[test]
    fn only_one_side_is_a_note_not_a_change() {
        let o = org(vec![]);
        let (c, notes) = compare_organizations(Some(&o), None);
        assert!(c.is_empty());
        assert!(notes[0].contains("Only the old side"), "{notes:?}");
        assert_eq!(compare_organizations(None, None), (vec![], vec![]));
    }

    #[test]
    fn the_same_part_has_no_changes() {
        let o = org(vec![set("Dev", &["111111111111"], &["ReadOnlyAccess"])]);
        assert_eq!(compare_organizations(Some(&o), Some(&o)), (vec![], vec![]));
    }

    #[test]
    fn a_permission_set_change_says_what_changed() {
        let mut a = set("Dev", &["111111111111", "333333333333"], &["A", "B"]);
        a.customer_managed_policies = vec![PolicyReference {
            name: "extra".into(),
            path: "/".into(),
        }];
        let mut b = set("Dev", &["111111111111", "222222222222"], &["B", "C"]);
        b.inline_raw = Some(serde_json::json!({"Version": "2012-10-17"}));
        b.session_duration = Some("PT1H".into());
        let gone = set("Old", &[], &[]);
        let came = set("New", &["111111111111"], &["ReadOnlyAccess"]);
        let (c, _) = compare_organizations(Some(&org(vec![a, gone])), Some(&org(vec![b, came])));
        let got: Vec<(ChangeKind, &str, &str)> = c
            .iter()
            .map(|c| (c.kind, c.principal_name.as_str(), c.detail.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    ChangeKind::PermissionSetAdded,
                    "New",
                    "AWS managed ReadOnlyAccess; provisioned to 111111111111"
                ),
                (
                    ChangeKind::PermissionSetRemoved,
                    "Old",
                    "had no policies; provisioned to no account"
                ),
                (
                    ChangeKind::PermissionSetChanged,
                    "Dev",
                    "inline policy added; AWS managed C attached; AWS managed A detached; \
                     customer managed reference /extra detached; session duration PT8H → PT1H; \
                     now provisioned to 222222222222; no longer provisioned to 333333333333"
                ),
            ]
        );
        assert!(c.iter().all(|c| c.principal_type == "permission_set"
            && c.account_id == "999999999999"
            && c.kind.is_change()));
    }

    #[test]
    fn control_policy_and_account_changes() {
        let doc = |action: &str| {
            crate::model::PolicyDocument::from_value(serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Deny", "Action": action, "Resource": "*"}]
            }))
            .unwrap()
        };
        let scp = |id: &str, action: &str, targets: &[&str]| ControlPolicy {
            id: id.into(),
            name: format!("Deny-{id}"),
            kind: ControlPolicyType::Scp,
            aws_managed: false,
            document: doc(action),
            targets: targets.iter().map(|t| t.to_string()).collect(),
        };
        let mut a = org(vec![]);
        a.control_types = vec![ControlPolicyType::Scp];
        a.control_policies = vec![scp("p-1", "s3:*", &["ou-1"]), scp("p-2", "ec2:*", &["r-1"])];
        let mut b = a.clone();
        b.control_policies = vec![
            scp("p-1", "s3:Delete*", &["ou-2"]),
            scp("p-3", "iam:*", &["111111111111"]),
        ];
        b.nodes.get_mut("111111111111").unwrap().parent = Some("ou-2".into());
        b.accounts
            .insert("111111111111".into(), ("a".into(), "SUSPENDED".into()));
        b.accounts
            .insert("222222222222".into(), ("b".into(), "ACTIVE".into()));
        let (c, notes) = compare_organizations(Some(&a), Some(&b));
        assert!(notes.is_empty(), "{notes:?}");
        let got: Vec<(ChangeKind, &str, &str, &str)> = c
            .iter()
            .map(|c| {
                (
                    c.kind,
                    c.account_id.as_str(),
                    c.principal_name.as_str(),
                    c.detail.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    ChangeKind::ControlPolicyAdded,
                    "999999999999",
                    "Deny-p-3",
                    "SCP p-3, attached to account a (111111111111)"
                ),
                (
                    ChangeKind::ControlPolicyRemoved,
                    "999999999999",
                    "Deny-p-2",
                    "SCP p-2, was attached to root Root (r-1)"
                ),
                (
                    ChangeKind::ControlPolicyChanged,
                    "999999999999",
                    "Deny-p-1",
                    "SCP p-1: document changed; attached to OU Prod (ou-2); \
                     detached from OU Sandbox (ou-1)"
                ),
                (
                    ChangeKind::OrganizationAccountChanged,
                    "111111111111",
                    "a",
                    "status ACTIVE → SUSPENDED; moved from Root / Sandbox to Root / Prod"
                ),
                (
                    ChangeKind::OrganizationAccountChanged,
                    "222222222222",
                    "b",
                    "joined the organisation (ACTIVE)"
                ),
            ]
        );
        // RCPs listed on one side only: a note, no rows.
        b.control_types.push(ControlPolicyType::Rcp);
        let (_, notes) = compare_organizations(Some(&a), Some(&b));
        assert!(
            notes
                .iter()
                .any(|n| n.starts_with("RCPs are listed only on the new side"))
        );
    }
}
