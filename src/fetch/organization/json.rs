//! Organizations and IAM Identity Center (sso-admin) output → the JSON the AWS CLI prints for the
//! same command (`docs/export-format.md`, the organisation part), as `cli_json` does for IAM.
//!
//! What botocore and the CLI do with these JSON-protocol answers, and so what we do:
//! - keys in the order of the botocore model's members; members the service did not send (or
//!   sent as `null`) are left out;
//! - a paginated command (every `list-*` here) prints its pages merged: the result key's lists
//!   concatenated (present when any page had it), no `NextToken` (botocore's
//!   `build_full_result`);
//! - timestamps, which these services send as epoch seconds (a float), as CLI v2's `iso8601`
//!   prints them: Python's `datetime.fromtimestamp(value).isoformat()`, which **rounds** to the
//!   microsecond (the SDK's `DateTime` truncates the float to nanoseconds, so `….458` arrives as
//!   `….457999944` and must be rounded, not cut), in UTC;
//! - policy documents (`Content`, `InlinePolicy`) stay strings: these services send them as JSON
//!   strings and botocore does not parse them.
//!
//! The emulator tests compare every file with what the AWS CLI prints (`tests/fetch.rs`).

use aws_sdk_organizations::operation::describe_organization::DescribeOrganizationOutput;
use aws_sdk_organizations::operation::describe_policy::DescribePolicyOutput;
use aws_sdk_organizations::types as org;
use aws_sdk_ssoadmin::operation::describe_permission_set::DescribePermissionSetOutput;
use aws_sdk_ssoadmin::operation::get_inline_policy_for_permission_set::GetInlinePolicyForPermissionSetOutput;
use aws_sdk_ssoadmin::operation::get_permissions_boundary_for_permission_set::GetPermissionsBoundaryForPermissionSetOutput;
use aws_sdk_ssoadmin::types as sso;
use aws_smithy_types::DateTime;
use serde_json::{Map, Value};

use crate::fetch::cli_json::Obj;

/// An epoch-seconds timestamp as CLI v2 prints it: rounded to the microsecond (Python's
/// `fromtimestamp`), microseconds dropped when zero, `+00:00`.
pub fn epoch_timestamp(dt: &DateTime) -> String {
    let mut secs = dt.secs();
    let mut micros = (dt.subsec_nanos() + 500) / 1_000;
    if micros >= 1_000_000 {
        secs += 1;
        micros -= 1_000_000;
    }
    match chrono::DateTime::from_timestamp(secs, micros * 1_000) {
        Some(t) if micros == 0 => t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string(),
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string(),
        None => dt.to_string(),
    }
}

fn ts(value: Option<&DateTime>) -> Option<Value> {
    value.map(|v| Value::String(epoch_timestamp(v)))
}

/// `{key: [every page's items]}`: the pages of a paginated command merged as the CLI merges
/// them; `{}` when no page had the key.
pub fn merged<'a, T: 'a>(
    key: &str,
    pages: impl IntoIterator<Item = Option<&'a [T]>>,
    item: impl Fn(&T) -> Value,
) -> Value {
    let mut items: Option<Vec<Value>> = None;
    for page in pages.into_iter().flatten() {
        items
            .get_or_insert_with(Vec::new)
            .extend(page.iter().map(&item));
    }
    let mut out = Map::new();
    if let Some(items) = items {
        out.insert(key.to_string(), Value::Array(items));
    }
    Value::Object(out)
}

/// One string of a list of strings (`PermissionSets`, `AccountIds`).
pub fn string<S: AsRef<str>>(s: &S) -> Value {
    Value::String(s.as_ref().to_string())
}

// --- Organizations ------------------------------------------------------------------------

fn policy_type_summary(p: &org::PolicyTypeSummary) -> Value {
    Obj::new()
        .s("Type", p.r#type.as_ref().map(|t| t.as_str()))
        .s("Status", p.status.as_ref().map(|s| s.as_str()))
        .done()
}

/// `aws organizations describe-organization`.
pub fn describe_organization(out: &DescribeOrganizationOutput) -> Value {
    Obj::new()
        .put(
            "Organization",
            out.organization.as_ref().map(|o| {
                Obj::new()
                    .s("Id", o.id.as_deref())
                    .s("Arn", o.arn.as_deref())
                    .s("FeatureSet", o.feature_set.as_ref().map(|f| f.as_str()))
                    .s("MasterAccountArn", o.master_account_arn.as_deref())
                    .s("MasterAccountId", o.master_account_id.as_deref())
                    .s("MasterAccountEmail", o.master_account_email.as_deref())
                    .list(
                        "AvailablePolicyTypes",
                        o.available_policy_types.as_deref(),
                        policy_type_summary,
                    )
                    .done()
            }),
        )
        .done()
}

/// An item of `Roots`.
pub fn root(r: &org::Root) -> Value {
    Obj::new()
        .s("Id", r.id.as_deref())
        .s("Arn", r.arn.as_deref())
        .s("Name", r.name.as_deref())
        .list(
            "PolicyTypes",
            r.policy_types.as_deref(),
            policy_type_summary,
        )
        .done()
}

/// An item of `Accounts` (list-accounts, list-accounts-for-parent).
#[allow(deprecated)] // `Status`: deprecated in favour of `State`, still sent and printed.
pub fn account(a: &org::Account) -> Value {
    Obj::new()
        .s("Id", a.id.as_deref())
        .s("Arn", a.arn.as_deref())
        .s("Email", a.email.as_deref())
        .s("Name", a.name.as_deref())
        .s("Status", a.status.as_ref().map(|s| s.as_str()))
        .s("State", a.state.as_ref().map(|s| s.as_str()))
        .list("Paths", a.paths.as_deref(), string)
        .s("JoinedMethod", a.joined_method.as_ref().map(|j| j.as_str()))
        .put("JoinedTimestamp", ts(a.joined_timestamp.as_ref()))
        .done()
}

/// An item of `OrganizationalUnits`.
pub fn organizational_unit(ou: &org::OrganizationalUnit) -> Value {
    Obj::new()
        .s("Id", ou.id.as_deref())
        .s("Arn", ou.arn.as_deref())
        .s("Name", ou.name.as_deref())
        .s("Path", ou.path.as_deref())
        .done()
}

/// An item of `Policies`, and `Policy.PolicySummary`.
pub fn policy_summary(p: &org::PolicySummary) -> Value {
    Obj::new()
        .s("Id", p.id.as_deref())
        .s("Arn", p.arn.as_deref())
        .s("Name", p.name.as_deref())
        .s("Description", p.description.as_deref())
        .s("Type", p.r#type.as_ref().map(|t| t.as_str()))
        .bool("AwsManaged", p.aws_managed)
        .done()
}

/// `aws organizations describe-policy`: the document stays a string in `Content`.
pub fn describe_policy(out: &DescribePolicyOutput) -> Value {
    Obj::new()
        .put(
            "Policy",
            out.policy.as_ref().map(|p| {
                Obj::new()
                    .put(
                        "PolicySummary",
                        p.policy_summary.as_ref().map(policy_summary),
                    )
                    .s("Content", p.content.as_deref())
                    .done()
            }),
        )
        .done()
}

/// An item of `Targets`.
pub fn target(t: &org::PolicyTargetSummary) -> Value {
    Obj::new()
        .s("TargetId", t.target_id.as_deref())
        .s("Arn", t.arn.as_deref())
        .s("Name", t.name.as_deref())
        .s("Type", t.r#type.as_ref().map(|t| t.as_str()))
        .done()
}

// --- IAM Identity Center (sso-admin) --------------------------------------------------------

/// An item of `Instances`.
pub fn instance(i: &sso::InstanceMetadata) -> Value {
    Obj::new()
        .s("InstanceArn", i.instance_arn.as_deref())
        .s("IdentityStoreId", i.identity_store_id.as_deref())
        .s("IdentityStoreArn", i.identity_store_arn.as_deref())
        .s("OwnerAccountId", i.owner_account_id.as_deref())
        .s("Name", i.name.as_deref())
        .put("CreatedDate", ts(i.created_date.as_ref()))
        .s("Status", i.status.as_ref().map(|s| s.as_str()))
        .s("StatusReason", i.status_reason.as_deref())
        .s("PrimaryRegion", i.primary_region.as_deref())
        .list("Regions", i.regions.as_deref(), |r| {
            Obj::new()
                .s("RegionName", r.region_name.as_deref())
                .s("Status", r.status.as_ref().map(|s| s.as_str()))
                .put("AddedDate", ts(r.added_date.as_ref()))
                .bool("IsPrimaryRegion", r.is_primary_region)
                .done()
        })
        .done()
}

/// `aws sso-admin describe-permission-set`.
pub fn describe_permission_set(out: &DescribePermissionSetOutput) -> Value {
    Obj::new()
        .put(
            "PermissionSet",
            out.permission_set.as_ref().map(|p| {
                Obj::new()
                    .s("Name", p.name.as_deref())
                    .s("PermissionSetArn", p.permission_set_arn.as_deref())
                    .s("Description", p.description.as_deref())
                    .put("CreatedDate", ts(p.created_date.as_ref()))
                    .s("SessionDuration", p.session_duration.as_deref())
                    .s("RelayState", p.relay_state.as_deref())
                    .done()
            }),
        )
        .done()
}

/// `aws sso-admin get-inline-policy-for-permission-set`: the document as a string (empty when
/// the permission set has none).
pub fn inline_policy(out: &GetInlinePolicyForPermissionSetOutput) -> Value {
    Obj::new()
        .s("InlinePolicy", out.inline_policy.as_deref())
        .done()
}

/// An item of `AttachedManagedPolicies`.
pub fn attached_managed_policy(p: &sso::AttachedManagedPolicy) -> Value {
    Obj::new()
        .s("Name", p.name.as_deref())
        .s("Arn", p.arn.as_deref())
        .done()
}

/// An item of `CustomerManagedPolicyReferences`, and a boundary's reference.
pub fn customer_managed_policy_reference(r: &sso::CustomerManagedPolicyReference) -> Value {
    Obj::new()
        .s("Name", Some(&r.name))
        .s("Path", r.path.as_deref())
        .done()
}

/// `aws sso-admin get-permissions-boundary-for-permission-set`.
pub fn permissions_boundary(out: &GetPermissionsBoundaryForPermissionSetOutput) -> Value {
    Obj::new()
        .put(
            "PermissionsBoundary",
            out.permissions_boundary.as_ref().map(|b| {
                Obj::new()
                    .put(
                        "CustomerManagedPolicyReference",
                        b.customer_managed_policy_reference
                            .as_ref()
                            .map(customer_managed_policy_reference),
                    )
                    .s("ManagedPolicyArn", b.managed_policy_arn.as_deref())
                    .done()
            }),
        )
        .done()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::cli_json::to_cli_bytes;

    #[test]
    fn epoch_timestamps_round_to_the_microsecond_like_python() {
        // Organizations sends JoinedTimestamp as 1481830215.458; the f64 is 1481830215.4579999…
        // and the SDK keeps its nanoseconds truncated: 457999944. Python prints .458000.
        let dt = DateTime::from_secs_f64(1_481_830_215.458);
        assert_eq!(dt.subsec_nanos() / 1_000, 457_999, "the SDK truncates");
        assert_eq!(epoch_timestamp(&dt), "2016-12-15T19:30:15.458000+00:00");
        // moto's microsecond floats.
        let dt = DateTime::from_secs_f64(1_795_966_975.704_026);
        assert_eq!(epoch_timestamp(&dt), "2026-11-29T15:42:55.704026+00:00");
        // Whole seconds drop the fraction; a fraction that rounds up carries into the second.
        assert_eq!(
            epoch_timestamp(&DateTime::from_secs(1_700_000_000)),
            "2023-11-14T22:13:20+00:00"
        );
        assert_eq!(
            epoch_timestamp(&DateTime::from_secs_and_nanos(1_700_000_000, 999_999_600)),
            "2023-11-14T22:13:21+00:00"
        );
    }

    #[test]
    fn pages_merge_into_one_list_without_next_token() {
        let a = ["a".to_string()];
        let b = ["b".to_string(), "c".to_string()];
        let all = merged("AccountIds", [Some(&a[..]), None, Some(&b[..])], string);
        assert_eq!(
            String::from_utf8_lossy(&to_cli_bytes(&all)),
            "{\n    \"AccountIds\": [\n        \"a\",\n        \"b\",\n        \"c\"\n    ]\n}\n"
        );
        // A key no page had is left out, as the CLI does; an empty list stays.
        assert_eq!(
            merged("Targets", [None::<&[String]>], string),
            serde_json::json!({})
        );
        let none: [String; 0] = [];
        assert_eq!(
            merged("Targets", [Some(&none[..])], string),
            serde_json::json!({"Targets": []})
        );
    }

    #[test]
    fn keys_follow_the_model_and_absent_members_are_left_out() {
        let summary = org::PolicySummary::builder()
            .id("p-12345678")
            .name("deny-ec2")
            .r#type(org::PolicyType::ServiceControlPolicy)
            .aws_managed(false)
            .build();
        let out = DescribePolicyOutput::builder()
            .policy(
                org::Policy::builder()
                    .policy_summary(summary)
                    .content(r#"{"Version":"2012-10-17","Statement":[]}"#)
                    .build(),
            )
            .build();
        let text = String::from_utf8_lossy(&to_cli_bytes(&describe_policy(&out))).into_owned();
        assert_eq!(
            text,
            "{\n    \"Policy\": {\n        \"PolicySummary\": {\n            \"Id\": \"p-12345678\",\n            \
             \"Name\": \"deny-ec2\",\n            \"Type\": \"SERVICE_CONTROL_POLICY\",\n            \
             \"AwsManaged\": false\n        },\n        \"Content\": \
             \"{\\\"Version\\\":\\\"2012-10-17\\\",\\\"Statement\\\":[]}\"\n    }\n}\n"
        );
        let boundary = GetPermissionsBoundaryForPermissionSetOutput::builder()
            .permissions_boundary(
                sso::PermissionsBoundary::builder()
                    .customer_managed_policy_reference(
                        sso::CustomerManagedPolicyReference::builder()
                            .name("dev-boundary")
                            .path("/")
                            .build()
                            .unwrap_or_else(|e| panic!("{e}")),
                    )
                    .build(),
            )
            .build();
        assert_eq!(
            permissions_boundary(&boundary),
            serde_json::json!({"PermissionsBoundary": {"CustomerManagedPolicyReference": {"Name": "dev-boundary", "Path": "/"}}})
        );
    }
}
