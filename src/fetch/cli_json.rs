//! SDK output → the JSON the AWS CLI v2 prints for the same call, byte for byte.
//!
//! What the CLI does, and so what we do (reference §1.3, §2.3, §2.4):
//! - keys in the order of the botocore model's members (the XML parser walks the shape's members);
//!   absent members are left out, an empty list that IAM sent stays `[]`;
//! - timestamps as Python's `datetime.isoformat()` (CLI v2's default `iso8601`): microseconds,
//!   dropped when zero, and `+00:00`;
//! - policy documents (`policyDocumentType`) URL-decoded (`+` stays `+`) and parsed as JSON;
//!   left as the original string when that fails, as botocore does;
//! - GAAD pages merged into the four lists, without `IsTruncated`/`Marker` (botocore's
//!   `build_full_result`);
//! - printed with `json.dumps(indent=4, ensure_ascii=False)` and a newline.
//!
//! The tests in `tests/fetch.rs` compare our files with what awscli prints against the emulator.

use aws_sdk_iam::operation::get_account_authorization_details::GetAccountAuthorizationDetailsOutput;
use aws_sdk_iam::operation::get_service_last_accessed_details::GetServiceLastAccessedDetailsOutput;
use aws_sdk_iam::types as t;
use aws_smithy_types::DateTime;
use serde::Serialize;
use serde_json::{Map, Value};

/// A timestamp as CLI v2 prints it: `2019-10-01T03:50:35.929000+00:00`, `2019-09-30T23:02:00+00:00`.
pub fn timestamp(dt: &DateTime) -> String {
    let micros = dt.subsec_nanos() / 1_000;
    match chrono::DateTime::from_timestamp(dt.secs(), micros * 1_000) {
        Some(t) if micros == 0 => t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string(),
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string(),
        None => dt.to_string(),
    }
}

/// A policy document as botocore leaves it: `json.loads(unquote(raw))`, or `raw` when that fails.
/// Unlike `json.loads`, a document that gives a key twice is left as `raw` too: parsed, the last
/// value would silently win, and `report` could no longer see (and refuse) the repeated key. So is
/// one that is not IAM's encoding (a `%` without two hex digits, bytes that are not UTF-8), which
/// `unquote` would keep as it is or replace: `report` refuses it, as it refuses such text.
pub fn policy_document(raw: &str) -> Value {
    crate::model::json::parse_document_text(raw).unwrap_or_else(|_| Value::String(raw.to_string()))
}

/// `json.dumps(value, indent=4, ensure_ascii=False)` plus the newline the CLI prints.
pub fn to_cli_bytes(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    // Serializing a `Value` into a Vec cannot fail.
    let _ = value.serialize(&mut ser);
    out.push(b'\n');
    out
}

/// An object under construction, keys in insertion (= model) order.
pub(super) struct Obj(Map<String, Value>);

impl Obj {
    pub(super) fn new() -> Obj {
        Obj(Map::new())
    }
    pub(super) fn put(mut self, key: &str, value: Option<Value>) -> Obj {
        if let Some(v) = value {
            self.0.insert(key.to_string(), v);
        }
        self
    }
    pub(super) fn s(self, key: &str, value: Option<&str>) -> Obj {
        self.put(key, value.map(|v| Value::String(v.to_string())))
    }
    fn ts(self, key: &str, value: Option<&DateTime>) -> Obj {
        self.put(key, value.map(|v| Value::String(timestamp(v))))
    }
    fn int(self, key: &str, value: Option<i32>) -> Obj {
        self.put(key, value.map(Value::from))
    }
    pub(super) fn bool(self, key: &str, value: bool) -> Obj {
        self.put(key, Some(Value::Bool(value)))
    }
    fn doc(self, key: &str, value: Option<&str>) -> Obj {
        self.put(key, value.map(policy_document))
    }
    pub(super) fn list<T>(self, key: &str, value: Option<&[T]>, f: impl Fn(&T) -> Value) -> Obj {
        self.put(
            key,
            value.map(|items| Value::Array(items.iter().map(f).collect())),
        )
    }
    pub(super) fn done(self) -> Value {
        Value::Object(self.0)
    }
}

fn policy_detail(p: &t::PolicyDetail) -> Value {
    Obj::new()
        .s("PolicyName", p.policy_name.as_deref())
        .doc("PolicyDocument", p.policy_document.as_deref())
        .done()
}

fn attached_policy(p: &t::AttachedPolicy) -> Value {
    Obj::new()
        .s("PolicyName", p.policy_name.as_deref())
        .s("PolicyArn", p.policy_arn.as_deref())
        .done()
}

fn boundary(b: &t::AttachedPermissionsBoundary) -> Value {
    Obj::new()
        .s(
            "PermissionsBoundaryType",
            b.permissions_boundary_type.as_ref().map(|x| x.as_str()),
        )
        .s(
            "PermissionsBoundaryArn",
            b.permissions_boundary_arn.as_deref(),
        )
        .done()
}

fn tag(tag: &t::Tag) -> Value {
    Obj::new()
        .s("Key", Some(&tag.key))
        .s("Value", Some(&tag.value))
        .done()
}

fn role_last_used(r: &t::RoleLastUsed) -> Value {
    Obj::new()
        .ts("LastUsedDate", r.last_used_date.as_ref())
        .s("Region", r.region.as_deref())
        .done()
}

/// The `Role` shape nested in `InstanceProfileList[].Roles[]`. The SDK does not model
/// `MaxSigninSessionDuration` yet, so that (rare, nested) member cannot be written.
fn role(r: &t::Role) -> Value {
    Obj::new()
        .s("Path", Some(&r.path))
        .s("RoleName", Some(&r.role_name))
        .s("RoleId", Some(&r.role_id))
        .s("Arn", Some(&r.arn))
        .ts("CreateDate", Some(&r.create_date))
        .doc(
            "AssumeRolePolicyDocument",
            r.assume_role_policy_document.as_deref(),
        )
        .s("Description", r.description.as_deref())
        .int("MaxSessionDuration", r.max_session_duration)
        .put(
            "PermissionsBoundary",
            r.permissions_boundary.as_ref().map(boundary),
        )
        .list("Tags", r.tags.as_deref(), tag)
        .put(
            "RoleLastUsed",
            r.role_last_used.as_ref().map(role_last_used),
        )
        .put(
            "SourceRoleTemplate",
            r.source_role_template.as_ref().map(|s| {
                Obj::new()
                    .s("TemplateArn", Some(&s.template_arn))
                    .int("TemplateMinorVersion", Some(s.template_minor_version))
                    .done()
            }),
        )
        .done()
}

fn instance_profile(p: &t::InstanceProfile) -> Value {
    Obj::new()
        .s("Path", Some(&p.path))
        .s("InstanceProfileName", Some(&p.instance_profile_name))
        .s("InstanceProfileId", Some(&p.instance_profile_id))
        .s("Arn", Some(&p.arn))
        .ts("CreateDate", Some(&p.create_date))
        .list("Roles", Some(&p.roles), role)
        .list("Tags", p.tags.as_deref(), tag)
        .done()
}

fn user_detail(u: &t::UserDetail) -> Value {
    Obj::new()
        .s("Path", u.path.as_deref())
        .s("UserName", u.user_name.as_deref())
        .s("UserId", u.user_id.as_deref())
        .s("Arn", u.arn.as_deref())
        .ts("CreateDate", u.create_date.as_ref())
        .list(
            "UserPolicyList",
            u.user_policy_list.as_deref(),
            policy_detail,
        )
        .list("GroupList", u.group_list.as_deref(), |g| {
            Value::String(g.clone())
        })
        .list(
            "AttachedManagedPolicies",
            u.attached_managed_policies.as_deref(),
            attached_policy,
        )
        .put(
            "PermissionsBoundary",
            u.permissions_boundary.as_ref().map(boundary),
        )
        .list("Tags", u.tags.as_deref(), tag)
        .done()
}

fn group_detail(g: &t::GroupDetail) -> Value {
    Obj::new()
        .s("Path", g.path.as_deref())
        .s("GroupName", g.group_name.as_deref())
        .s("GroupId", g.group_id.as_deref())
        .s("Arn", g.arn.as_deref())
        .ts("CreateDate", g.create_date.as_ref())
        .list(
            "GroupPolicyList",
            g.group_policy_list.as_deref(),
            policy_detail,
        )
        .list(
            "AttachedManagedPolicies",
            g.attached_managed_policies.as_deref(),
            attached_policy,
        )
        .done()
}

fn role_detail(r: &t::RoleDetail) -> Value {
    Obj::new()
        .s("Path", r.path.as_deref())
        .s("RoleName", r.role_name.as_deref())
        .s("RoleId", r.role_id.as_deref())
        .s("Arn", r.arn.as_deref())
        .ts("CreateDate", r.create_date.as_ref())
        .doc(
            "AssumeRolePolicyDocument",
            r.assume_role_policy_document.as_deref(),
        )
        .list(
            "InstanceProfileList",
            r.instance_profile_list.as_deref(),
            instance_profile,
        )
        .list(
            "RolePolicyList",
            r.role_policy_list.as_deref(),
            policy_detail,
        )
        .list(
            "AttachedManagedPolicies",
            r.attached_managed_policies.as_deref(),
            attached_policy,
        )
        .put(
            "PermissionsBoundary",
            r.permissions_boundary.as_ref().map(boundary),
        )
        .list("Tags", r.tags.as_deref(), tag)
        .put(
            "RoleLastUsed",
            r.role_last_used.as_ref().map(role_last_used),
        )
        .done()
}

fn policy_version(v: &t::PolicyVersion) -> Value {
    Obj::new()
        .doc("Document", v.document.as_deref())
        .s("VersionId", v.version_id.as_deref())
        .bool("IsDefaultVersion", v.is_default_version)
        .ts("CreateDate", v.create_date.as_ref())
        .done()
}

fn managed_policy(p: &t::ManagedPolicyDetail) -> Value {
    Obj::new()
        .s("PolicyName", p.policy_name.as_deref())
        .s("PolicyId", p.policy_id.as_deref())
        .s("Arn", p.arn.as_deref())
        .s("Path", p.path.as_deref())
        .s("DefaultVersionId", p.default_version_id.as_deref())
        .int("AttachmentCount", p.attachment_count)
        .int(
            "PermissionsBoundaryUsageCount",
            p.permissions_boundary_usage_count,
        )
        .bool("IsAttachable", p.is_attachable)
        .s("Description", p.description.as_deref())
        .ts("CreateDate", p.create_date.as_ref())
        .ts("UpdateDate", p.update_date.as_ref())
        .list(
            "PolicyVersionList",
            p.policy_version_list.as_deref(),
            policy_version,
        )
        .done()
}

/// All GAAD pages merged the way the CLI's paginator does: each of the four lists concatenated,
/// a list present when any page had it, no `IsTruncated`/`Marker`.
pub fn authorization_details(pages: &[GetAccountAuthorizationDetailsOutput]) -> Value {
    let mut out = Map::new();
    for page in pages {
        let lists: [(&str, Option<Vec<Value>>); 4] = [
            (
                "UserDetailList",
                page.user_detail_list
                    .as_ref()
                    .map(|l| l.iter().map(user_detail).collect()),
            ),
            (
                "GroupDetailList",
                page.group_detail_list
                    .as_ref()
                    .map(|l| l.iter().map(group_detail).collect()),
            ),
            (
                "RoleDetailList",
                page.role_detail_list
                    .as_ref()
                    .map(|l| l.iter().map(role_detail).collect()),
            ),
            (
                "Policies",
                page.policies
                    .as_ref()
                    .map(|l| l.iter().map(managed_policy).collect()),
            ),
        ];
        for (key, items) in lists {
            let Some(items) = items else { continue };
            match out.get_mut(key) {
                Some(Value::Array(existing)) => existing.extend(items),
                _ => {
                    out.insert(key.to_string(), Value::Array(items));
                }
            }
        }
    }
    Value::Object(out)
}

fn tracked_action(a: &t::TrackedActionLastAccessed) -> Value {
    Obj::new()
        .s("ActionName", a.action_name.as_deref())
        .s("LastAccessedEntity", a.last_accessed_entity.as_deref())
        .ts("LastAccessedTime", a.last_accessed_time.as_ref())
        .s("LastAccessedRegion", a.last_accessed_region.as_deref())
        .done()
}

fn service(s: &t::ServiceLastAccessed) -> Value {
    Obj::new()
        .s("ServiceName", Some(&s.service_name))
        .ts("LastAuthenticated", s.last_authenticated.as_ref())
        .s("ServiceNamespace", Some(&s.service_namespace))
        .s(
            "LastAuthenticatedEntity",
            s.last_authenticated_entity.as_deref(),
        )
        .s(
            "LastAuthenticatedRegion",
            s.last_authenticated_region.as_deref(),
        )
        .int("TotalAuthenticatedEntities", s.total_authenticated_entities)
        .list(
            "TrackedActionsLastAccessed",
            s.tracked_actions_last_accessed.as_deref(),
            tracked_action,
        )
        .done()
}

/// A completed job's pages merged as `docs/export-format.md` says: the first page's fields, every
/// page's `ServicesLastAccessed`, `IsTruncated: false` and no `Marker`.
pub fn last_accessed(pages: &[GetServiceLastAccessedDetailsOutput]) -> Value {
    let Some(first) = pages.first() else {
        return Value::Object(Map::new());
    };
    let services: Vec<Value> = pages
        .iter()
        .flat_map(|p| p.services_last_accessed.iter().map(service))
        .collect();
    Obj::new()
        .s("JobStatus", Some(first.job_status.as_str()))
        .s("JobType", first.job_type.as_ref().map(|j| j.as_str()))
        .ts("JobCreationDate", Some(&first.job_creation_date))
        .put("ServicesLastAccessed", Some(Value::Array(services)))
        .ts("JobCompletionDate", Some(&first.job_completion_date))
        .bool("IsTruncated", false)
        .put(
            "Error",
            first.error.as_ref().map(|e| {
                Obj::new()
                    .s("Message", Some(&e.message))
                    .s("Code", Some(&e.code))
                    .done()
            }),
        )
        .done()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_look_like_cli_v2() {
        let whole = DateTime::from_secs(1_569_884_520);
        assert_eq!(timestamp(&whole), "2019-09-30T23:02:00+00:00");
        let millis = DateTime::from_secs_and_nanos(1_569_901_835, 929_000_000);
        assert_eq!(timestamp(&millis), "2019-10-01T03:50:35.929000+00:00");
        // Python keeps microseconds only.
        let nanos = DateTime::from_secs_and_nanos(1_569_901_835, 929_000_999);
        assert_eq!(timestamp(&nanos), "2019-10-01T03:50:35.929000+00:00");
    }

    #[test]
    fn policy_documents_are_decoded_like_botocore() {
        let raw = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3AGet%2A%22%2C%22Resource%22%3A%22arn%3Aaws%3As3%3A%3A%3Ax%2By%22%7D%5D%7D%0A";
        let doc = policy_document(raw);
        assert_eq!(doc["Statement"][0]["Resource"], "arn:aws:s3:::x+y");
        // Key order is the document's, not sorted.
        let keys: Vec<&String> = doc
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        assert_eq!(keys, ["Version", "Statement"]);
        // A literal `+` stays `+` (unquote, not unquote_plus).
        assert_eq!(policy_document("%7B%22a%22%3A%22b+c%22%7D")["a"], "b+c");
        // Not JSON after decoding: the original string, as botocore leaves it.
        assert_eq!(
            policy_document("not%20json"),
            Value::String("not%20json".into())
        );
    }

    #[test]
    fn cli_bytes_use_four_spaces_and_keep_unicode() {
        let v = serde_json::json!({"A": [], "B": {}, "C": ["é", 1]});
        let text = String::from_utf8(to_cli_bytes(&v)).unwrap_or_default();
        assert_eq!(
            text,
            "{\n    \"A\": [],\n    \"B\": {},\n    \"C\": [\n        \"é\",\n        1\n    ]\n}\n"
        );
    }

    #[test]
    fn gaad_pages_are_merged_without_pagination_keys() {
        let page = |role: &str, last: bool| {
            GetAccountAuthorizationDetailsOutput::builder()
                .role_detail_list(t::RoleDetail::builder().role_name(role).build())
                .set_user_detail_list(Some(vec![]))
                .is_truncated(!last)
                .set_marker((!last).then(|| "m".to_string()))
                .build()
        };
        let merged = authorization_details(&[page("a", false), page("b", true)]);
        let keys: Vec<&String> = merged
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        assert_eq!(keys, ["UserDetailList", "RoleDetailList"]);
        assert_eq!(merged["RoleDetailList"][1]["RoleName"], "b");
        assert_eq!(merged["UserDetailList"], serde_json::json!([]));
    }
}
