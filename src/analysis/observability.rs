//! What AWS can observe: actions its last-accessed data never reports, whatever the service shows.

use crate::catalog::Catalog;

/// Actions AWS never reports in last-accessed data (documented with sources in methodology.md):
/// `iam:PassRole` is authorised inside other calls and never logged as its own event; Amazon S3
/// data events (object-level actions and the three bucket listings CloudTrail logs as data
/// events, `data/s3-data-actions.tsv`) are not available in action last-accessed information.
pub fn is_not_observable(service: &str, action: &str) -> bool {
    match service {
        "iam" => action.eq_ignore_ascii_case("PassRole"),
        "s3" => {
            let a = action.to_ascii_lowercase();
            if s3_data_actions().contains(a.as_str()) {
                return true;
            }
            // An s3 action the embedded catalog does not know (a newer `--catalog`): the list
            // cannot say, so judge by its name, on the side of "not observable".
            Catalog::embedded().lookup("s3", action).is_none()
                && (a.contains("object") || a.starts_with("listbucket") || a.contains("multipart"))
        }
        "s3-object-lambda" => true,
        _ => false,
    }
}

/// `data/s3-data-actions.tsv`, generated with the catalog by `scripts/gen-catalog.py`.
const S3_DATA_ACTIONS: &str = include_str!("../../data/s3-data-actions.tsv");

/// The S3 data-event actions, lower-cased.
fn s3_data_actions() -> &'static std::collections::HashSet<String> {
    static SET: std::sync::OnceLock<std::collections::HashSet<String>> = std::sync::OnceLock::new();
    SET.get_or_init(|| {
        S3_DATA_ACTIONS
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with("action\t") && !l.is_empty())
            .filter_map(|l| l.split('\t').next())
            .map(str::to_ascii_lowercase)
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_observability_follows_the_resource_type_not_the_name() {
        // Data events: object-level actions and the bucket listings CloudTrail logs as data.
        for a in [
            "GetObject",
            "PutObject",
            "DeleteObjectVersion",
            "GetObjectAcl",
            "PutObjectLegalHold",
            "RestoreObject",
            "AbortMultipartUpload",
            "ListMultipartUploadParts",
            "BypassGovernanceRetention",
            "ReplicateObject",
            "ListBucket",
            "ListBucketVersions",
            "ListBucketMultipartUploads",
        ] {
            assert!(is_not_observable("s3", a), "{a} is a data event");
        }
        // Bucket and access-point management that merely has `Object` in its name.
        for a in [
            "GetBucketObjectLockConfiguration",
            "PutBucketObjectLockConfiguration",
            "CreateAccessPointForObjectLambda",
            "PutAccessPointConfigurationForObjectLambda",
            "GetAccessPointPolicyForObjectLambda",
            "ListAccessPointsForObjectLambda",
            "CreateBucket",
            "ListAllMyBuckets",
            "PutBucketPolicy",
        ] {
            assert!(!is_not_observable("s3", a), "{a} is a management action");
        }
        // Case-insensitive, as IAM action names are.
        assert!(is_not_observable("s3", "getobject"));
        assert!(is_not_observable("iam", "passrole"));
        assert!(!is_not_observable("iam", "PassRoles"));
        assert!(is_not_observable("s3-object-lambda", "ListBucket"));
        // An s3 action newer than the embedded catalog is judged by its name, cautiously.
        assert!(is_not_observable("s3", "GetObjectFutureThing"));
        assert!(!is_not_observable("s3", "GetBucketFutureThing"));
    }

    #[test]
    fn every_listed_s3_data_action_is_in_the_catalog() {
        let c = Catalog::embedded();
        assert_eq!(s3_data_actions().len(), 47);
        for a in s3_data_actions() {
            assert!(c.lookup("s3", a).is_some(), "{a}");
        }
    }
}
