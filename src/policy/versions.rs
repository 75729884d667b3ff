//! When a managed policy's default version came to grant each of its actions, as far as the
//! versions in the export date it. `PolicyVersionList` holds every version IAM still stores,
//! each with its document and `CreateDate`, but not when each one was the default. The rule
//! (docs/methodology.md, "Policy versions"):
//!
//! - A version is made the default when it is created (`--set-as-default`, as the console and
//!   infrastructure-as-code tools do): of the listed versions in date order (the default one
//!   among them), each was in force, if ever, until the next one was made. An action a version
//!   lacks was not held through the policy then, so the principal holds it at the earliest since
//!   the next listed version's `CreateDate`.
//! - The newest listed version, when it is not the default (the default set back to an older
//!   version since, as a rollback does), was in force from its `CreateDate` until an unknown
//!   time: an action it lacks is held since its `CreateDate` at the earliest.
//! - An action's date is the latest of those over the versions that lack it. What a version
//!   lacks is read from its Allow statements less every one of its Deny statements, conditional
//!   and resource-scoped ones too: a version that allowed an action only under a Deny counts as
//!   lacking it, which can only date it later.
//!
//! A later date is the cautious side: an action held for less than the window is
//! `grant_too_new`, never unused. Versions deleted since are not in the export, and a default
//! set back and forth leaves no date: the methodology names both limits.

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

/// What a version's document grants for sure, for [`added_actions`]: what its Allow statements
/// allow less what any of its Deny statements denies (under a condition or on some resources
/// too).
pub fn surely_allowed(expansion: &DocumentExpansion) -> ActionSet {
    let mut allowed = expansion.allowed.clone();
    for s in &expansion.statements {
        if s.effect == Effect::Deny {
            allowed.difference_with(&s.actions);
        }
    }
    allowed
}

/// What the other versions of `managed` date of `default` (the actions its default version
/// allows); `granted(document)`: what a version's document grants for sure
/// ([`surely_allowed`]). `None` when they date nothing: no other version is listed, the default
/// version has no `CreateDate`, or every other version grants all of `default`.
pub fn added_actions(
    managed: &ManagedPolicy,
    default: &ActionSet,
    mut granted: impl FnMut(&PolicyDocument) -> ActionSet,
) -> Option<AddedActions> {
    let default_created = managed.default_created?;
    if managed.other_versions.is_empty() {
        return None;
    }
    let mut lacking: Vec<(Timestamp, ActionSet)> = Vec::new();
    for (i, v) in managed.other_versions.iter().enumerate() {
        let mut lacks = default.clone();
        lacks.difference_with(&granted(&v.document));
        if lacks.is_empty() {
            continue;
        }
        lacking.push((in_force_until(managed, i, default_created), lacks));
    }
    // Newest first: each action takes the latest date of the versions that lack it.
    lacking.sort_by_key(|(t, _)| std::cmp::Reverse(*t));
    let mut dated = default.clone();
    dated.complement();
    let mut by_action = Vec::new();
    for (t, mut lacks) in lacking {
        lacks.difference_with(&dated);
        dated.union_with(&lacks);
        let ms = t.timestamp_millis();
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

/// The earliest time an action that version `i` of `managed` lacks can be held through the
/// policy without a break since: the `CreateDate` of the next version listed after it (another,
/// or the default one made at `default_created`); its own for the newest listed, made after the
/// default one (in force from then until the default was set back, at a time not recorded).
fn in_force_until(managed: &ManagedPolicy, i: usize, default_created: Timestamp) -> Timestamp {
    let v = &managed.other_versions[i];
    // `other_versions` is oldest first: the next one listed, or the default when it comes first.
    let next = managed.other_versions.get(i + 1).map(|next| next.created);
    let default_next = (default_created >= v.created).then_some(default_created);
    match (next, default_next) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b).unwrap_or(v.created),
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

    fn doc(actions: &[&str]) -> PolicyDocument {
        PolicyDocument::from_value(json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]
        }))
        .unwrap()
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
                created: at(*day),
                document: Arc::new(doc(actions)),
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
            document: Arc::new(doc(default.1)),
            versions: 1 + others.len() as u8,
            oldest_other_version: None,
            default_created: Some(at(default.0)),
            other_versions: other_versions.into_boxed_slice(),
        }
    }

    /// Each of `names` with the date the versions give it (`None`: none).
    fn dated(p: &ManagedPolicy, names: &[&str]) -> Vec<Option<u32>> {
        let catalog = Catalog::embedded();
        let mut expander = Expander::new(catalog);
        let default = expander.document_in(&p.document, None).allowed;
        let added = added_actions(p, &default, |d| {
            surely_allowed(&expander.document_in(d, None))
        });
        names
            .iter()
            .map(|n| {
                let id = catalog.lookup_full(n).unwrap();
                let ms = added.as_ref()?.since(id)?;
                (1..=31).find(|d| at(*d).timestamp_millis() == ms)
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
        // Added by v2 (day 10): it dates from v2, which the default kept.
        let p = policy(
            (20, &["s3:GetObject", "s3:PutObject"]),
            &[
                (2, &["s3:GetObject"]),
                (10, &["s3:GetObject", "s3:PutObject"]),
            ],
        );
        assert_eq!(
            dated(&p, &["s3:GetObject", "s3:PutObject"]),
            [None, Some(10)]
        );
    }

    #[test]
    fn a_version_made_after_the_default_is_in_force_until_the_next_one() {
        // The default v1 (day 2) grants it; v2 (day 5) does not; v3 (day 25) does; the default
        // set back to v1 since: it was taken away on day 5 and given back on day 25.
        let p = policy(
            (2, &["s3:GetObject", "s3:PutObject"]),
            &[
                (5, &["s3:GetObject"]),
                (25, &["s3:GetObject", "s3:PutObject"]),
            ],
        );
        assert_eq!(
            dated(&p, &["s3:GetObject", "s3:PutObject"]),
            [None, Some(25)]
        );
    }

    #[test]
    fn a_default_set_back_is_held_since_the_newer_version_at_the_earliest() {
        // The default (day 5) is older than v2 (day 25), which lacks PutObject: it may have been
        // in force from day 25, and the default set back since.
        let p = policy(
            (5, &["s3:GetObject", "s3:PutObject"]),
            &[(25, &["s3:GetObject"])],
        );
        assert_eq!(
            dated(&p, &["s3:GetObject", "s3:PutObject"]),
            [None, Some(25)]
        );
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
            let v1 = PolicyDocument::from_value(json!({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, deny]
            }))
            .unwrap();
            p.other_versions = vec![OtherVersion {
                id: "v1".into(),
                created: at(2),
                document: Arc::new(v1),
            }]
            .into_boxed_slice();
            assert_eq!(
                dated(&p, &["s3:GetObject", "s3:PutObject"]),
                [None, Some(20)]
            );
        }
    }

    #[test]
    fn nothing_is_dated_without_other_versions_or_the_default_versions_date() {
        let p = policy((20, &["s3:PutObject"]), &[]);
        assert_eq!(dated(&p, &["s3:PutObject"]), [None]);
        let mut p = policy((20, &["s3:PutObject"]), &[(2, &["s3:GetObject"])]);
        p.default_created = None;
        assert_eq!(dated(&p, &["s3:PutObject"]), [None]);
    }
}
