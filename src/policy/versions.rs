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
//!   without one; one the default allows on a `Resource` pattern or under a `Condition` where
//!   this version does not (`Reach`); one a Deny of its own covers where the default
//!   version's Denies do not. Patterns compare as written: either way the date can only be
//!   later.
//!
//! A later date is the cautious side: an action held for less than the window is
//! `grant_too_new`, never unused. Versions deleted since are not in the export: what they lacked
//! is not known, and a decision on such a policy says so (`recommend::plan`).

use crate::catalog::{ActionId, ActionSet};
use crate::model::document::{Effect, ResourceClause, Statement};
use crate::model::{ManagedPolicy, PolicyDocument, Timestamp};
use crate::policy::expand::DocumentExpansion;
use std::sync::Arc;

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
    /// Denied by a Deny statement on every resource without a condition.
    denied_everywhere: ActionSet,
    /// The other Allow statements' actions, by each resource they name and their condition.
    allows: Box<[(Reach, Arc<ActionSet>)]>,
    /// The other Deny statements' actions, likewise.
    denies: Box<[(Reach, Arc<ActionSet>)]>,
}

/// Where and when a statement on some resources or under a condition applies: one `Resource`
/// pattern as written (`*` for every resource; a `NotResource` list as a whole), and its
/// `Condition` block with its keys and lists of values sorted (`None` without one). Compared
/// as written: two
/// patterns that name the same resources differently differ, which can only date an action
/// later.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reach {
    resource: Box<str>,
    condition: Option<Box<str>>,
}

impl Reach {
    /// True when a statement applying at `self` applies wherever and whenever one at `other`
    /// does: on the same resource pattern or every resource, and without a condition or under
    /// the same one.
    fn covers(&self, other: &Reach) -> bool {
        (self.resource == other.resource || &*self.resource == "*")
            && (self.condition.is_none() || self.condition == other.condition)
    }

    /// Each reach of `statement`, which applies to every resource (`everywhere`) or not.
    fn of(statement: &Statement, everywhere: bool) -> Vec<Reach> {
        let condition = statement.condition.as_ref().map(|c| {
            let mut sorted = c.clone();
            sort_sets(&mut sorted);
            sorted.to_string().into_boxed_str()
        });
        let reach = |resource: &str| Reach {
            resource: resource.into(),
            condition: condition.clone(),
        };
        match &statement.resources {
            _ if everywhere => vec![reach("*")],
            Some(ResourceClause::Resource(patterns)) => patterns.iter().map(|r| reach(r)).collect(),
            Some(ResourceClause::NotResource(patterns)) => {
                let mut sorted = patterns.clone();
                sorted.sort_unstable();
                vec![reach(&format!("NotResource {}", sorted.join("\n")))]
            }
            None => vec![reach("*")],
        }
    }
}

/// Sorts a `Condition` block's keys and its lists of values, which IAM reads as sets: the same
/// condition written in another order is the same reach (review pass 47).
fn sort_sets(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Array(list) => {
            list.iter_mut().for_each(sort_sets);
            list.sort_by_cached_key(|v| v.to_string());
        }
        serde_json::Value::Object(map) => {
            map.values_mut().for_each(sort_sets);
            map.sort_keys();
        }
        _ => {}
    }
}

/// The union of the actions of `statements` at a reach that covers `at` ([`Reach::covers`]),
/// added to `base`.
fn covered_at(base: &ActionSet, statements: &[(Reach, Arc<ActionSet>)], at: &Reach) -> ActionSet {
    let mut covered = base.clone();
    for (reach, actions) in statements {
        if reach.covers(at) {
            covered.union_with(actions);
        }
    }
    covered
}

impl VersionGrants {
    /// How broadly an expanded version document (`expansion`, of `document`) grants each
    /// action.
    pub fn of(document: &PolicyDocument, expansion: &DocumentExpansion) -> VersionGrants {
        let mut everywhere = ActionSet::empty(expansion.allowed.universe());
        let mut denied_everywhere = everywhere.clone();
        let (mut allows, mut denies) = (Vec::new(), Vec::new());
        for (s, statement) in expansion.statements.iter().zip(&document.statements) {
            let absolute = !s.scoped && !s.conditional;
            match s.effect {
                Effect::Allow if absolute => everywhere.union_with(&s.actions),
                Effect::Deny if absolute => denied_everywhere.union_with(&s.actions),
                _ if s.actions.is_empty() => {}
                Effect::Allow | Effect::Deny => {
                    let at = if s.effect == Effect::Allow {
                        &mut allows
                    } else {
                        &mut denies
                    };
                    let reaches = Reach::of(statement, !s.scoped);
                    at.extend(reaches.into_iter().map(|r| (r, s.actions.clone())));
                }
            }
        }
        VersionGrants {
            allowed: expansion.allowed.clone(),
            everywhere,
            denied_everywhere,
            allows: allows.into_boxed_slice(),
            denies: denies.into_boxed_slice(),
        }
    }

    /// What this (earlier or later) version lacks of what `default` grants: not allowed;
    /// allowed only on some resources or under a condition where `default` allows it on every
    /// resource without one; not allowed on a resource (or under a condition) where `default`
    /// allows it there; or denied more broadly than `default` denies it (a Deny `default` lacks,
    /// or has only on other resources or under another condition).
    fn lacks(&self, default: &VersionGrants) -> ActionSet {
        let mut new_denies = self.denied_everywhere.clone();
        new_denies.difference_with(&default.denied_everywhere);
        for (reach, actions) in &self.denies {
            let mut denied = actions.as_ref().clone();
            denied.difference_with(&covered_at(
                &default.denied_everywhere,
                &default.denies,
                reach,
            ));
            new_denies.union_with(&denied);
        }

        let mut granted = self.allowed.clone();
        granted.difference_with(&new_denies);
        let mut lacks = default.allowed.clone();
        lacks.difference_with(&granted);
        let mut narrower = default.everywhere.clone();
        narrower.difference_with(&self.everywhere);
        lacks.union_with(&narrower);
        for (reach, actions) in &default.allows {
            let mut elsewhere = actions.as_ref().clone();
            elsewhere.difference_with(&covered_at(&self.everywhere, &self.allows, reach));
            lacks.union_with(&elsewhere);
        }
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
        let default = VersionGrants::of(&p.document, &expander.document_in(&p.document, None));
        let added = added_actions(p, &default, |d| {
            VersionGrants::of(d, &expander.document_in(d, None))
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
    }

    /// A policy whose default version (day 20) is `default` and whose other (day 2) is `other`
    /// (statement lists): what the versions date of `names`.
    fn dated_between(
        default: serde_json::Value,
        other: serde_json::Value,
        names: &[&str],
    ) -> Vec<Option<u32>> {
        let mut p = policy((20, &[]), &[]);
        p.document = document(default);
        p.other_versions = vec![version(2, other)].into_boxed_slice();
        dated(&p, names)
    }

    /// An Allow (or Deny, by `effect`) of `actions` on `resources`, under `condition` when not
    /// null.
    fn on(
        effect: &str,
        actions: &[&str],
        resources: &[&str],
        condition: serde_json::Value,
    ) -> serde_json::Value {
        let mut s = json!({"Effect": effect, "Action": actions, "Resource": resources});
        if !condition.is_null() {
            s["Condition"] = condition;
        }
        s
    }

    #[test]
    fn a_grant_moved_or_extended_to_another_resource_dates_from_then() {
        let (a, b) = ("arn:aws:s3:::a/*", "arn:aws:s3:::b/*");
        let names = ["s3:PutObject", "s3:GetObject"];
        let get = on("Allow", &["s3:GetObject"], &[a], json!(null));
        let put = |resources: &[&str]| on("Allow", &["s3:PutObject"], resources, json!(null));
        // Moved from bucket a to bucket b; extended to b: the grant on b is new (both were read
        // as the same breadth, "on some resources", before pass 47).
        for now in [put(&[b]), put(&[a, b])] {
            let dates = dated_between(json!([get, now]), json!([get, put(&[a])]), &names);
            assert_eq!(dates, [Some(20), None]);
        }
        // The same grants, written in other statements; or one resource fewer: nothing is new.
        let together = on(
            "Allow",
            &["s3:PutObject", "s3:GetObject"],
            &[a],
            json!(null),
        );
        let dates = dated_between(json!([together]), json!([get, put(&[a])]), &names);
        assert_eq!(dates, [None, None]);
        let dates = dated_between(json!([get, put(&[a])]), json!([get, put(&[a, b])]), &names);
        assert_eq!(dates, [None, None]);
        // Everywhere before covers any resource now.
        let all = on("Allow", &["s3:PutObject"], &["*"], json!(null));
        let dates = dated_between(json!([get, put(&[b])]), json!([get, all]), &names);
        assert_eq!(dates, [None, None]);
    }

    #[test]
    fn a_grant_under_another_condition_or_none_dates_from_then() {
        let q = "arn:aws:sqs:eu-west-1:111111111111:q";
        let region = |r: &str| json!({"StringEquals": {"aws:RequestedRegion": r, "aws:x": "1"}});
        let purge = |c: serde_json::Value| on("Allow", &["sqs:PurgeQueue"], &[q], c);
        let names = ["sqs:PurgeQueue"];
        // Another condition, or none where there was one: new.
        for now in [purge(region("eu-west-2")), purge(json!(null))] {
            let dates = dated_between(json!([now]), json!([purge(region("eu-west-1"))]), &names);
            assert_eq!(dates, [Some(20)]);
        }
        // The same condition with its keys or its values in another order, or a condition
        // added: not new.
        let reordered = json!({"StringEquals": {"aws:x": "1", "aws:RequestedRegion": "eu-west-1"}});
        let dates = dated_between(
            json!([purge(reordered)]),
            json!([purge(region("eu-west-1"))]),
            &names,
        );
        assert_eq!(dates, [None]);
        let regions = |r: [&str; 2]| json!({"StringEquals": {"aws:RequestedRegion": r}});
        let dates = dated_between(
            json!([purge(regions(["us-east-1", "eu-west-1"]))]),
            json!([purge(regions(["eu-west-1", "us-east-1"]))]),
            &names,
        );
        assert_eq!(dates, [None]);
        let dates = dated_between(
            json!([purge(region("eu-west-1"))]),
            json!([purge(json!(null))]),
            &names,
        );
        assert_eq!(dates, [None]);
    }

    #[test]
    fn a_deny_moved_to_another_resource_dates_what_it_denied() {
        let (a, b) = ("arn:aws:s3:::a/*", "arn:aws:s3:::b/*");
        let all = on(
            "Allow",
            &["s3:PutObject", "s3:GetObject"],
            &["*"],
            json!(null),
        );
        let deny = |r: &str| on("Deny", &["s3:PutObject"], &[r], json!(null));
        let names = ["s3:PutObject", "s3:GetObject"];
        // v1 denied writes to a, the default to b: a is writable now.
        let dates = dated_between(json!([all, deny(b)]), json!([all, deny(a)]), &names);
        assert_eq!(dates, [Some(20), None]);
        // The same Deny kept: nothing.
        let dates = dated_between(json!([all, deny(a)]), json!([all, deny(a)]), &names);
        assert_eq!(dates, [None, None]);
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
