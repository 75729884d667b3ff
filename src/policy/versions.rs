//! When a managed policy's default version came to grant each of its actions, as far as the
//! versions in the export date it. `PolicyVersionList` holds every version IAM still stores,
//! each with its document and `CreateDate`, but not when each one was the default. The rule
//! (docs/methodology.md, "Policy versions"):
//!
//! - A version made before the default one may have been in force until the default version
//!   became the default, which is at its `CreateDate` at the earliest (`CreatePolicyVersion`
//!   makes a version the default only when asked: a staged version can be made the default
//!   later). An action such a version lacks is held, at the earliest, since the default
//!   version's `CreateDate`.
//! - A version made after the default one (the default set back since, as a rollback does) may
//!   have been in force until the default was set back, at a time not recorded, which may be
//!   the as-of time itself: an action it lacks is dated [`UNKNOWN_MS`] (`grant_too_new` in any
//!   window) for as long as the export lists that version. So is one a version without a
//!   `CreateDate` lacks, or any version when the default one has none (AWS writes it; an edited
//!   file may not).
//! - An action's date is the latest of those over the versions that lack it. A version lacks an
//!   action the default version grants more broadly: one it does not allow; one it allows only
//!   on some resources or under a condition where the default allows it on every resource
//!   without one; one a Deny of its own covers where the default version's Denies of it are
//!   narrower (none; or only under a condition or on some resources, where this version's Deny
//!   applies to every resource without one). Either way the date can only be later.
//!
//! A later date is the cautious side: an action held for less than the window is
//! `grant_too_new`, never unused. Versions deleted since are not in the export: what they lacked
//! is not known, and a decision on such a policy says so (`recommend::plan`).

use crate::catalog::{ActionId, ActionSet};
use crate::model::document::Effect;
use crate::model::{ManagedPolicy, PolicyDocument, Timestamp};
use crate::policy::expand::DocumentExpansion;

/// The actions of a managed policy's default version that its other versions date: each with
/// the earliest time the policy can have granted it without a break to the as-of time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddedActions {
    /// By action index, each with its date (milliseconds since 1970): looked up for every
    /// action of every principal that holds the policy.
    by_action: Box<[(u32, i64)]>,
}

impl AddedActions {
    /// The earliest time (milliseconds since 1970) the policy can have granted `a` since, where
    /// the versions date it later than the policy itself; `None` where they do not.
    pub fn since(&self, a: ActionId) -> Option<i64> {
        let key = u32::try_from(a.index()).ok()?;
        self.by_action
            .binary_search_by_key(&key, |(i, _)| *i)
            .ok()
            .map(|at| self.by_action[at].1)
    }
}

/// The date of an action a version may have lacked until a time not recorded (the as-of time,
/// at the latest): the latest millisecond chrono reads back as a date, after any as-of time.
pub const UNKNOWN_MS: i64 = 8_210_266_876_799_999;

/// How broadly a policy version grants each action, for [`added_actions`].
#[derive(Debug, Clone)]
pub struct VersionGrants {
    /// Allowed by some Allow statement.
    allowed: ActionSet,
    /// Allowed by an Allow statement on every resource without a condition.
    everywhere: ActionSet,
    /// Covered by some Deny statement (under a condition or on some resources too).
    denied: ActionSet,
    /// Denied by a Deny statement on every resource without a condition.
    denied_everywhere: ActionSet,
}

impl VersionGrants {
    /// How broadly an expanded version document grants each action.
    pub fn of(expansion: &DocumentExpansion) -> VersionGrants {
        let mut everywhere = ActionSet::empty(expansion.allowed.universe());
        let mut denied = everywhere.clone();
        let mut denied_everywhere = everywhere.clone();
        for s in &expansion.statements {
            let absolute = !s.scoped && !s.conditional;
            match s.effect {
                Effect::Allow if absolute => everywhere.union_with(&s.actions),
                Effect::Allow => {}
                Effect::Deny => {
                    denied.union_with(&s.actions);
                    if absolute {
                        denied_everywhere.union_with(&s.actions);
                    }
                }
            }
        }
        VersionGrants {
            allowed: expansion.allowed.clone(),
            everywhere,
            denied,
            denied_everywhere,
        }
    }

    /// What this (earlier or later) version lacks of what `default` grants: not allowed, or
    /// allowed only on some resources or under a condition where `default` allows it on every
    /// resource without one, or denied more broadly than `default` denies it.
    fn lacks(&self, default: &VersionGrants) -> ActionSet {
        let mut new_denies = self.denied.clone();
        new_denies.difference_with(&default.denied);
        let mut broader = self.denied_everywhere.clone();
        broader.difference_with(&default.denied_everywhere);
        new_denies.union_with(&broader);

        let mut granted = self.allowed.clone();
        granted.difference_with(&new_denies);
        let mut lacks = default.allowed.clone();
        lacks.difference_with(&granted);
        let mut narrower = default.everywhere.clone();
        narrower.difference_with(&self.everywhere);
        lacks.union_with(&narrower);
        lacks
    }
}

/// What the other versions of `managed` date of what its default version grants (`default`);
/// `grants(document)`: another version's ([`VersionGrants::of`]). `None` when they date nothing:
/// no other version is listed, or every other version grants all the default one does as
/// broadly.
pub fn added_actions(
    managed: &ManagedPolicy,
    default: &VersionGrants,
    mut grants: impl FnMut(&PolicyDocument) -> VersionGrants,
) -> Option<AddedActions> {
    if managed.other_versions.is_empty() {
        return None;
    }
    let mut lacking: Vec<(i64, ActionSet)> = Vec::new();
    for v in &managed.other_versions {
        let lacks = grants(&v.document).lacks(default);
        if lacks.is_empty() {
            continue;
        }
        lacking.push((in_force_until(v.created, managed.default_created), lacks));
    }
    // Newest first: each action takes the latest date of the versions that lack it.
    lacking.sort_by_key(|(t, _)| std::cmp::Reverse(*t));
    let mut dated = default.allowed.clone();
    dated.complement();
    let mut by_action = Vec::new();
    for (ms, mut lacks) in lacking {
        lacks.difference_with(&dated);
        dated.union_with(&lacks);
        by_action.extend(
            lacks
                .iter()
                .filter_map(|a| Some((u32::try_from(a.index()).ok()?, ms))),
        );
    }
    by_action.sort_unstable();
    (!by_action.is_empty()).then(|| AddedActions {
        by_action: by_action.into_boxed_slice(),
    })
}

/// The earliest time (milliseconds) an action that a version made at `created` lacks can be
/// held through the policy without a break since: the default version's `CreateDate`
/// (`default_created`), for a version made before it (the default version became the default
/// then at the earliest); [`UNKNOWN_MS`] for one made after it (in force until the default was
/// set back, at a time not recorded), or when either date is missing.
fn in_force_until(created: Option<Timestamp>, default_created: Option<Timestamp>) -> i64 {
    match (created, default_created) {
        (Some(c), Some(d)) if c <= d => d.timestamp_millis(),
        _ => UNKNOWN_MS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::model::OtherVersion;
    use crate::policy::Expander;
    use serde_json::json;
    use std::sync::Arc;

    /// A document of `statements` (a JSON list).
    fn document(statements: serde_json::Value) -> Arc<PolicyDocument> {
        let doc = json!({"Version": "2012-10-17", "Statement": statements});
        Arc::new(PolicyDocument::from_value(doc).unwrap())
    }

    fn doc(actions: &[&str]) -> Arc<PolicyDocument> {
        document(json!([{"Effect": "Allow", "Action": actions, "Resource": "*"}]))
    }

    fn at(day: u32) -> Timestamp {
        chrono::DateTime::parse_from_rfc3339(&format!("2026-01-{day:02}T00:00:00Z"))
            .unwrap()
            .to_utc()
    }

    /// A customer managed policy whose default version (made on `default.0`) allows
    /// `default.1`, and whose other versions are `others` (day, actions).
    fn policy(default: (u32, &[&str]), others: &[(u32, &[&str])]) -> ManagedPolicy {
        let mut other_versions: Vec<OtherVersion> = others
            .iter()
            .enumerate()
            .map(|(i, (day, actions))| OtherVersion {
                id: format!("v{}", i + 1).into(),
                created: Some(at(*day)),
                document: doc(actions),
            })
            .collect();
        other_versions.sort_by_key(|v| v.created);
        ManagedPolicy {
            arn: "arn:aws:iam::111111111111:policy/p".into(),
            name: "p".into(),
            path: "/".into(),
            aws_managed: false,
            default_version_id: Some("v9".into()),
            attachment_count: Some(1),
            boundary_uses: Some(0),
            create_date: Some(at(1)),
            update_date: Some(at(default.0)),
            document: doc(default.1),
            versions: 1 + others.len() as u8,
            oldest_other_version: None,
            default_created: Some(at(default.0)),
            other_versions: other_versions.into_boxed_slice(),
        }
    }

    /// Each of `names` with the day the versions date it (`None`: none; 99: unknown).
    fn dated(p: &ManagedPolicy, names: &[&str]) -> Vec<Option<u32>> {
        let catalog = Catalog::embedded();
        let mut expander = Expander::new(catalog);
        let default = VersionGrants::of(&expander.document_in(&p.document, None));
        let added = added_actions(p, &default, |d| {
            VersionGrants::of(&expander.document_in(d, None))
        });
        names
            .iter()
            .map(|n| {
                let id = catalog.lookup_full(n).unwrap();
                let ms = added.as_ref()?.since(id)?;
                // 99: not before the as-of time (`UNKNOWN_MS`).
                (ms == UNKNOWN_MS)
                    .then_some(99)
                    .or_else(|| (1..=31).find(|d| at(*d).timestamp_millis() == ms))
            })
            .collect()
    }

    #[test]
    fn an_action_a_new_default_version_added_dates_from_that_version() {
        let p = policy(
            (20, &["s3:GetObject", "s3:PutObject"]),
            &[(2, &["s3:GetObject"])],
        );
        assert_eq!(
            dated(&p, &["s3:GetObject", "s3:PutObject"]),
            [None, Some(20)]
        );
    }

    #[test]
    fn an_action_taken_away_and_given_back_dates_from_its_return() {
        // v1 (day 2) grants it, v2 (day 10) does not, v3 (day 20, the default) grants it again.
        let p = policy(
            (20, &["s3:GetObject", "s3:PutObject"]),
            &[
                (2, &["s3:GetObject", "s3:PutObject"]),
                (10, &["s3:GetObject"]),
            ],
        );
        assert_eq!(
            dated(&p, &["s3:GetObject", "s3:PutObject"]),
            [None, Some(20)]
        );
        // Added by v2 (day 10), kept by the default v3 (day 20): v2 may never have been the
        // default (a staged version), so v1 may have been in force until v3 became the default.
        let p = policy(
            (20, &["s3:GetObject", "s3:PutObject"]),
            &[
                (2, &["s3:GetObject"]),
                (10, &["s3:GetObject", "s3:PutObject"]),
            ],
        );
        assert_eq!(
            dated(&p, &["s3:GetObject", "s3:PutObject"]),
            [None, Some(20)]
        );
    }

    #[test]
    fn a_version_made_after_the_default_may_have_been_in_force_until_the_as_of_time() {
        // The default v1 (day 2) grants it; v2 (day 5) does not; v3 (day 25) does; the default
        // set back to v1 since, at a time not recorded: v2 may have been in force until then, v3
        // never (it dated v2's lack from v3, round 3 of review pass 46).
        let p = policy(
            (2, &["s3:GetObject", "s3:PutObject"]),
            &[
                (5, &["s3:GetObject"]),
                (25, &["s3:GetObject", "s3:PutObject"]),
            ],
        );
        assert_eq!(
            dated(&p, &["s3:GetObject", "s3:PutObject"]),
            [None, Some(99)]
        );
        // The newest lacks it (a rollback of a tightened version): not from v2's own date.
        let p = policy(
            (5, &["s3:GetObject", "s3:PutObject"]),
            &[(25, &["s3:GetObject"])],
        );
        assert_eq!(
            dated(&p, &["s3:GetObject", "s3:PutObject"]),
            [None, Some(99)]
        );
    }

    #[test]
    fn a_version_without_a_date_may_have_been_in_force_until_the_as_of_time() {
        let mut p = policy(
            (20, &["s3:GetObject", "s3:PutObject"]),
            &[(2, &["s3:GetObject"])],
        );
        let mut versions = p.other_versions.to_vec();
        versions[0].created = None;
        p.other_versions = versions.into_boxed_slice();
        assert_eq!(dated(&p, &["s3:PutObject"]), [Some(99)]);
        let mut p = policy(
            (20, &["s3:GetObject", "s3:PutObject"]),
            &[(2, &["s3:GetObject"])],
        );
        p.default_created = None;
        assert_eq!(dated(&p, &["s3:PutObject"]), [Some(99)]);
    }

    #[test]
    fn a_deny_an_earlier_version_had_everywhere_dates_what_the_default_denies_less() {
        // v1 denied DeleteQueue outright; the default denies it only outside eu-west-1 (or on
        // one queue): it is granted now where it was not.
        let allow = json!({"Effect": "Allow", "Action": ["sqs:SendMessage", "sqs:DeleteQueue"],
            "Resource": "*"});
        let narrow_denies = [
            json!({"Effect": "Deny", "Action": "sqs:DeleteQueue", "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}}}),
            json!({"Effect": "Deny", "Action": "sqs:DeleteQueue",
                "Resource": "arn:aws:sqs:eu-west-1:111111111111:q"}),
        ];
        for narrow in narrow_denies {
            let mut p = policy((20, &[]), &[]);
            p.document = document(json!([allow.clone(), narrow]));
            let deny = json!({"Effect": "Deny", "Action": "sqs:DeleteQueue", "Resource": "*"});
            p.other_versions = vec![version(2, json!([allow.clone(), deny]))].into_boxed_slice();
            assert_eq!(
                dated(&p, &["sqs:SendMessage", "sqs:DeleteQueue"]),
                [None, Some(20)]
            );
        }
    }

    #[test]
    fn a_version_that_denies_an_action_lacks_it_and_wildcards_are_expanded() {
        // A Deny without a condition, one under a condition, one on some resources: each makes
        // the version lack the action.
        let denies = [
            json!({"Effect": "Deny", "Action": "s3:PutObject", "Resource": "*"}),
            json!({"Effect": "Deny", "Action": "s3:PutObject", "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}}}),
            json!({"Effect": "Deny", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*"}),
        ];
        for deny in denies {
            let mut p = policy((20, &["s3:Get*", "s3:PutObject"]), &[]);
            let all = json!({"Effect": "Allow", "Action": "s3:*", "Resource": "*"});
            p.other_versions = vec![version(2, json!([all, deny]))].into_boxed_slice();
            assert_eq!(
                dated(&p, &["s3:GetObject", "s3:PutObject"]),
                [None, Some(20)]
            );
        }
    }

    /// A version with a document of its own (`statements`), made on `day`.
    fn version(day: u32, statements: serde_json::Value) -> OtherVersion {
        OtherVersion {
            id: "v1".into(),
            created: Some(at(day)),
            document: document(statements),
        }
    }

    #[test]
    fn a_deny_the_default_version_keeps_dates_nothing() {
        // A region guard in both versions: only what v2 added is dated (it dated every action,
        // review pass 46 round 2).
        let guard = json!({"Effect": "Deny", "NotAction": ["iam:*", "sts:*"], "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}}});
        let allow =
            |actions: &[&str]| json!({"Effect": "Allow", "Action": actions, "Resource": "*"});
        let mut p = policy((20, &[]), &[]);
        p.document = document(json!([
            allow(&["sqs:SendMessage", "sqs:DeleteQueue"]),
            guard.clone()
        ]));
        p.other_versions =
            vec![version(2, json!([allow(&["sqs:SendMessage"]), guard]))].into_boxed_slice();
        assert_eq!(
            dated(&p, &["sqs:SendMessage", "sqs:DeleteQueue"]),
            [None, Some(20)]
        );
    }

    #[test]
    fn a_grant_widened_to_every_resource_or_without_its_condition_dates_from_then() {
        let narrow = [
            json!({"Effect": "Allow", "Action": "sqs:PurgeQueue",
                "Resource": "arn:aws:sqs:eu-west-1:111111111111:placeholder"}),
            json!({"Effect": "Allow", "Action": "sqs:PurgeQueue", "Resource": "*",
                "Condition": {"StringEquals": {"aws:RequestedRegion": "ap-east-2"}}}),
        ];
        for narrow in narrow {
            let mut p = policy((20, &["sqs:PurgeQueue", "sqs:SendMessage"]), &[]);
            let send = json!({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"});
            p.other_versions = vec![version(2, json!([narrow, send]))].into_boxed_slice();
            assert_eq!(
                dated(&p, &["sqs:PurgeQueue", "sqs:SendMessage"]),
                [Some(20), None]
            );
        }
        // Scoped in both: the same breadth as far as the tool tells; not dated.
        let mut p = policy((20, &[]), &[]);
        let scoped = json!({"Effect": "Allow", "Action": "sqs:PurgeQueue",
            "Resource": "arn:aws:sqs:eu-west-1:111111111111:a"});
        p.document = document(json!([scoped]));
        p.other_versions = vec![version(2, json!([scoped]))].into_boxed_slice();
        assert_eq!(dated(&p, &["sqs:PurgeQueue"]), [None]);
    }

    #[test]
    fn nothing_is_dated_without_other_versions() {
        let p = policy((20, &["s3:PutObject"]), &[]);
        assert_eq!(dated(&p, &["s3:PutObject"]), [None]);
        let mut p = policy((20, &["s3:PutObject"]), &[(2, &["s3:GetObject"])]);
        p.default_created = None;
        assert_eq!(dated(&p, &["s3:PutObject"]), [Some(99)]);
    }
}
