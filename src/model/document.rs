//! Typed IAM policy documents, parsed from any shape AWS accepts.
//!
//! `Statement` may be an object or a list; `Action`, `NotAction`, `Resource`, `NotResource` a
//! string or a list. `Principal` is ignored (identity policies). The original JSON is kept so that
//! recommendations can rewrite a document without losing anything.

use serde::Serialize;
use serde_json::Value;

use super::json::TextError;

/// Why a policy document could not be understood. `json_path` is relative to the document root
/// (`$.Statement[1].Action`); the caller prefixes it with where the document sits in its file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{json_path}: {message}")]
pub struct DocumentError {
    pub json_path: String,
    pub message: String,
}

fn err(json_path: impl Into<String>, message: impl Into<String>) -> DocumentError {
    DocumentError {
        json_path: json_path.into(),
        message: message.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Effect {
    Allow,
    Deny,
}

/// `Action` or `NotAction` of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionClause {
    Action(Vec<String>),
    NotAction(Vec<String>),
}

/// `Resource` or `NotResource` of a statement (absent is treated as `Resource: *` is NOT assumed:
/// an identity statement without either is invalid in AWS; we keep `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceClause {
    Resource(Vec<String>),
    NotResource(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// Position in the `Statement` list (0 for a single-object statement).
    pub index: usize,
    pub sid: Option<String>,
    pub effect: Effect,
    pub actions: ActionClause,
    pub resources: Option<ResourceClause>,
    /// The `Condition` block, when present and non-empty.
    pub condition: Option<Value>,
}

impl Statement {
    /// True when the statement applies to every resource of an account of `partition` (when
    /// known): one of its `Resource` patterns matches every ARN there ([`matches_every_resource`]).
    /// `NotResource` is never unscoped.
    pub fn applies_to_all_resources(&self, partition: Option<&str>) -> bool {
        match &self.resources {
            Some(ResourceClause::Resource(r)) => {
                r.iter().any(|r| matches_every_resource(r, partition))
            }
            Some(ResourceClause::NotResource(_)) => false,
            None => true,
        }
    }

    /// True when the statement applies to no resource of an account of `partition` (when
    /// known): a `NotResource` one of whose patterns matches every resource there (`"*"`), or an
    /// empty `Resource` list. Such a statement allows or denies nothing; IAM accepts the first
    /// and rejects the second, which a hand-edited export may still hold. A pattern whose
    /// partition is not known is not taken to match everything ([`matches_every_resource`]),
    /// so such a statement is read as applying to some resources.
    pub fn applies_to_no_resource(&self, partition: Option<&str>) -> bool {
        match &self.resources {
            Some(ResourceClause::NotResource(r)) => {
                r.iter().any(|r| matches_every_resource(r, partition))
            }
            Some(ResourceClause::Resource(r)) => r.is_empty(),
            None => false,
        }
    }

    pub fn is_conditional(&self) -> bool {
        self.condition.is_some()
    }

    /// A human label: the Sid, else `#<index>`.
    pub fn label(&self) -> String {
        match &self.sid {
            Some(s) if !s.is_empty() => s.clone(),
            _ => format!("#{}", self.index),
        }
    }
}

/// True for a `Resource` pattern that matches every resource of an account of `partition`:
/// `*` (or `**`…), or an ARN of six segments whose service, region, account and resource
/// segments are all wildcards and whose partition is a wildcard or `partition`:
/// `arn:*:*:*:*:*`, and `arn:aws:*:*:*:*` in the `aws` partition. A pattern naming another
/// partition matches nothing the account holds, and one whose partition is not known (`None`)
/// is taken as scoped, never as every resource (a Deny would then block what it does not). The
/// pattern's own colons are literal, so `arn:aws:*:*:*:*:*` matches only ARNs whose resource
/// part holds a colon; an empty segment (`arn:aws:*::*:*`) matches only resources whose segment
/// is empty, and `?` matches one character: all stay scoped.
pub fn matches_every_resource(pattern: &str, partition: Option<&str>) -> bool {
    let wild = |s: &str| !s.is_empty() && s.bytes().all(|b| b == b'*');
    if wild(pattern) {
        return true;
    }
    let parts: Vec<&str> = pattern.split(':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && (wild(parts[1]) || partition == Some(parts[1]))
        && parts[2..].iter().all(|s| wild(s))
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PolicyDocument {
    pub version: Option<String>,
    pub statements: Vec<Statement>,
    /// The document exactly as decoded from the export.
    pub raw: RawDocument,
}

/// A policy document's JSON as decoded from the export: parsed, or as compact JSON text, parsed
/// again when read ([`RawDocument::value`]). Principals' inline policies are held as text
/// ([`PolicyDocument::compact`]): only their recommendations read them, once, and a parsed
/// document with its keys in order took ~7 times its compact text (at 300 accounts × 100 roles,
/// ~0.2 MB an account of the parsed exports, held until planning ends).
#[derive(Debug, Clone)]
pub enum RawDocument {
    Value(Value),
    /// Compact JSON, keys in the order decoded, that parses back as the same value (checked
    /// when made).
    Text(Box<str>),
}

impl Default for RawDocument {
    fn default() -> Self {
        RawDocument::Value(Value::Null)
    }
}

impl From<Value> for RawDocument {
    fn from(value: Value) -> Self {
        RawDocument::Value(value)
    }
}

impl RawDocument {
    /// The document as JSON. Parsing a text gives back the value it was written from: a text is
    /// only made of a value nested at most [`COMPACT_DEPTH`] deep, within serde_json's limit of
    /// 128, and without fractional numbers, and serde_json reads back every string and integer
    /// it writes (a property test holds it to this). The `null` of a failed parse is unreachable.
    pub fn value(&self) -> std::borrow::Cow<'_, Value> {
        match self {
            RawDocument::Value(v) => std::borrow::Cow::Borrowed(v),
            RawDocument::Text(t) => {
                std::borrow::Cow::Owned(serde_json::from_str(t).unwrap_or(Value::Null))
            }
        }
    }

    /// The compact JSON text of the document, as `serde_json::to_string` writes its value.
    pub fn compact_text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            RawDocument::Value(v) => std::borrow::Cow::Owned(v.to_string()),
            RawDocument::Text(t) => std::borrow::Cow::Borrowed(t),
        }
    }
}

/// How deeply a document's arrays and objects may nest for [`PolicyDocument::compact`] to hold
/// it as text (well within serde_json's limit of 128).
pub const COMPACT_DEPTH: usize = 100;

/// True when `v` reads back from its compact text as the same value: its arrays and objects
/// nest at most `limit` deep, and it holds no fractional number (serde_json parses a float's
/// shortest text to the nearest double only with its `float_roundtrip` feature, which would
/// change how every input's numbers are read: a property test found a value one unit in the last
/// place away). Walked without recursion.
fn reads_back(v: &Value, limit: usize) -> bool {
    let mut stack = vec![(v, 0usize)];
    while let Some((v, depth)) = stack.pop() {
        match v {
            Value::Array(_) | Value::Object(_) if depth >= limit => return false,
            Value::Array(a) => stack.extend(a.iter().map(|c| (c, depth + 1))),
            Value::Object(o) => stack.extend(o.values().map(|c| (c, depth + 1))),
            Value::Number(n) if n.is_f64() => return false,
            _ => {}
        }
    }
    true
}

/// The same document, as [`Value`]s compare (objects whatever their keys' order).
impl PartialEq for RawDocument {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (RawDocument::Value(a), RawDocument::Value(b)) => a == b,
            (RawDocument::Text(a), RawDocument::Text(b)) if a == b => true,
            _ => *self.value() == *other.value(),
        }
    }
}

impl PolicyDocument {
    /// Parses a decoded policy document.
    pub fn from_value(value: Value) -> Result<PolicyDocument, DocumentError> {
        let obj = value.as_object().ok_or_else(|| {
            err(
                "$",
                format!("expected a policy object, found {}", kind(&value)),
            )
        })?;
        let version = match obj.get("Version") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                return Err(err(
                    "$.Version",
                    format!("expected a string, found {}", kind(other)),
                ));
            }
        };
        let statements = match obj.get("Statement") {
            // IAM refuses a policy without statements: one read as granting nothing would hide
            // an edit (a misspelt `"Statment"`) behind a quiet report.
            None | Some(Value::Null) => {
                return Err(err(
                    "$",
                    "no Statement: IAM requires one in every policy (was the key misspelt?)",
                ));
            }
            Some(Value::Object(_)) => vec![parse_statement(&obj["Statement"], 0, "$.Statement")?],
            Some(Value::Array(list)) => list
                .iter()
                .enumerate()
                .map(|(i, s)| parse_statement(s, i, &format!("$.Statement[{i}]")))
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(err(
                    "$.Statement",
                    format!("expected an object or a list, found {}", kind(other)),
                ));
            }
        };
        Ok(PolicyDocument {
            version,
            statements,
            raw: RawDocument::Value(value),
        })
    }

    /// The same document with its JSON held as compact text ([`RawDocument`]), when the text
    /// parses back as the same value: a document nested deeper than [`COMPACT_DEPTH`] (serde_json
    /// refuses to parse text nested 128 deep) or holding a fractional number keeps its value.
    pub fn compact(mut self) -> PolicyDocument {
        if let RawDocument::Value(v) = &self.raw
            && reads_back(v, COMPACT_DEPTH)
        {
            self.raw = RawDocument::Text(v.to_string().into_boxed_str());
        }
        self
    }

    /// Parses a document given as a JSON string, URL-encoded or not (what raw API callers store).
    /// A key given twice in any of its objects is an error ([`super::json`]).
    pub fn from_str_any(text: &str) -> Result<PolicyDocument, DocumentError> {
        let value = super::json::parse_document_text(text).map_err(|e| match e {
            TextError::Duplicate { json_path, message } => {
                err(json_path, format!("{message} (in the policy text)"))
            }
            other => err(
                "$",
                other.message("policy text is not JSON").unwrap_or_default(),
            ),
        })?;
        PolicyDocument::from_value(value)
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn string_or_list(v: &Value, path: &str) -> Result<Vec<String>, DocumentError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s.clone()),
                other => Err(err(
                    format!("{path}[{i}]"),
                    format!("expected a string, found {}", kind(other)),
                )),
            })
            .collect(),
        other => Err(err(
            path,
            format!(
                "expected a string or a list of strings, found {}",
                kind(other)
            ),
        )),
    }
}

fn parse_statement(v: &Value, index: usize, path: &str) -> Result<Statement, DocumentError> {
    let obj = v.as_object().ok_or_else(|| {
        err(
            path,
            format!("expected a statement object, found {}", kind(v)),
        )
    })?;
    let effect = match obj.get("Effect") {
        Some(Value::String(s)) if s == "Allow" => Effect::Allow,
        Some(Value::String(s)) if s == "Deny" => Effect::Deny,
        Some(Value::String(s)) => {
            return Err(err(
                format!("{path}.Effect"),
                format!("expected \"Allow\" or \"Deny\", found {s:?}"),
            ));
        }
        Some(other) => {
            return Err(err(
                format!("{path}.Effect"),
                format!("expected a string, found {}", kind(other)),
            ));
        }
        None => return Err(err(path, "statement has no Effect")),
    };
    let actions = match (obj.get("Action"), obj.get("NotAction")) {
        (Some(a), None) => ActionClause::Action(string_or_list(a, &format!("{path}.Action"))?),
        (None, Some(n)) => {
            ActionClause::NotAction(string_or_list(n, &format!("{path}.NotAction"))?)
        }
        (Some(_), Some(_)) => {
            return Err(err(path, "statement has both Action and NotAction"));
        }
        (None, None) => return Err(err(path, "statement has neither Action nor NotAction")),
    };
    let resources = match (obj.get("Resource"), obj.get("NotResource")) {
        (Some(r), None) => Some(ResourceClause::Resource(string_or_list(
            r,
            &format!("{path}.Resource"),
        )?)),
        (None, Some(n)) => Some(ResourceClause::NotResource(string_or_list(
            n,
            &format!("{path}.NotResource"),
        )?)),
        (Some(_), Some(_)) => {
            return Err(err(path, "statement has both Resource and NotResource"));
        }
        (None, None) => None,
    };
    let sid = match obj.get("Sid") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(err(
                format!("{path}.Sid"),
                format!("expected a string, found {}", kind(other)),
            ));
        }
    };
    let condition = match obj.get("Condition") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) if m.is_empty() => None,
        Some(c @ Value::Object(_)) => Some(c.clone()),
        Some(other) => {
            return Err(err(
                format!("{path}.Condition"),
                format!("expected an object, found {}", kind(other)),
            ));
        }
    };
    Ok(Statement {
        index,
        sid,
        effect,
        actions,
        resources,
        condition,
    })
}

/// A policy document in a normal form, for telling a real edit from a cosmetic one: `Statement`
/// as a list, sorted (by its compact JSON); in each statement `Action`, `NotAction`, `Resource`,
/// `NotResource`, the values of `Principal` / `NotPrincipal` and of each `Condition` key as
/// sorted lists without repeats (a string is a one-element list, as IAM reads it), actions in
/// lower case (IAM matches them case-insensitively). Everything else (`Version`, `Sid`,
/// `Effect`, a `Principal` of `"*"`, keys' order and whitespace, which JSON values ignore) is
/// kept as it is, so two documents with equal normal forms grant and deny the same.
pub fn normalised(doc: &Value) -> Value {
    let Value::Object(top) = doc else {
        return doc.clone();
    };
    let mut top = top.clone();
    if let Some(statements) = top.get_mut("Statement") {
        let mut list = match statements.take() {
            Value::Array(a) => a,
            one => vec![one],
        };
        for st in &mut list {
            normalise_statement(st);
        }
        list.sort_by_cached_key(Value::to_string);
        *statements = Value::Array(list);
    }
    Value::Object(top)
}

fn normalise_statement(st: &mut Value) {
    let Value::Object(st) = st else {
        return;
    };
    for (key, lower) in [
        ("Action", true),
        ("NotAction", true),
        ("Resource", false),
        ("NotResource", false),
    ] {
        if let Some(v) = st.get_mut(key) {
            as_set(v, lower);
        }
    }
    for key in ["Principal", "NotPrincipal"] {
        if let Some(Value::Object(p)) = st.get_mut(key) {
            p.values_mut().for_each(|v| as_set(v, false));
        }
    }
    if let Some(Value::Object(c)) = st.get_mut("Condition") {
        for keys in c.values_mut() {
            if let Value::Object(keys) = keys {
                keys.values_mut().for_each(|v| as_set(v, false));
            }
        }
    }
}

/// A string, number or list as a sorted list without repeats (strings in lower case when
/// `lower`); an object is left as it is.
fn as_set(v: &mut Value, lower: bool) {
    let mut items = match v.take() {
        Value::Array(a) => a,
        o @ Value::Object(_) => {
            *v = o;
            return;
        }
        one => vec![one],
    };
    if lower {
        for item in &mut items {
            if let Value::String(s) = item {
                *s = s.to_lowercase();
            }
        }
    }
    items.sort_by_cached_key(Value::to_string);
    items.dedup();
    *v = Value::Array(items);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn normal_form_ignores_form_not_meaning() {
        let n = |v: Value| normalised(&v);
        let a = serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject", "ec2:RunInstances"], "Resource": "*"},
            {"Effect": "Deny", "Action": "iam:*", "Resource": "*",
             "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}}
        ]});
        let b = serde_json::json!({"Statement": [
            {"Resource": ["*"], "Effect": "Deny", "Action": ["IAM:*", "iam:*"],
             "Condition": {"StringEquals": {"aws:RequestedRegion": ["eu-west-1"]}}},
            {"Effect": "Allow", "Action": ["ec2:RunInstances", "S3:GetObject"], "Resource": "*"}
        ], "Version": "2012-10-17"});
        assert_eq!(n(a.clone()), n(b));
        let one = serde_json::json!({"Version": "2012-10-17", "Statement":
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}});
        let listed = serde_json::json!({"Version": "2012-10-17", "Statement":
            [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["*"]}]});
        assert_eq!(n(one), n(listed.clone()));
        // Real edits stay edits: another action, effect, resource (case kept), condition value.
        for edit in [
            serde_json::json!({"Version": "2012-10-17", "Statement":
                [{"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": ["*"]}]}),
            serde_json::json!({"Version": "2012-10-17", "Statement":
                [{"Effect": "Deny", "Action": ["s3:GetObject"], "Resource": ["*"]}]}),
            serde_json::json!({"Version": "2012-10-17", "Statement":
                [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::B/*"]}]}),
            serde_json::json!({"Version": "2012-10-17", "Statement":
                [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["*"], "Sid": "x"}]}),
        ] {
            assert_ne!(n(edit.clone()), n(listed.clone()), "{edit}");
        }
        let cond = |v: &str| {
            serde_json::json!({"Statement": [{"Effect": "Deny", "Action": "*",
            "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalTag/team": v}}}]})
        };
        assert_ne!(n(cond("Red")), n(cond("red")));
        assert_ne!(n(a), n(cond("red")));
    }

    #[test]
    fn single_statement_object_and_string_action() {
        let d = PolicyDocument::from_value(json!({
            "Version": "2012-10-17",
            "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
        }))
        .unwrap();
        assert_eq!(d.statements.len(), 1);
        assert_eq!(
            d.statements[0].actions,
            ActionClause::Action(vec!["s3:GetObject".into()])
        );
        assert!(d.statements[0].applies_to_all_resources(None));
    }

    #[test]
    fn resource_patterns_that_match_every_resource() {
        for (p, partition) in [
            ("*", None),
            ("**", None),
            ("arn:*:*:*:*:*", None),
            ("arn:aws:*:*:*:*", Some("aws")),
            ("arn:aws-us-gov:*:*:*:*", Some("aws-us-gov")),
        ] {
            assert!(matches_every_resource(p, partition), "{p}");
        }
        // Another partition, or one not known.
        for (p, partition) in [
            ("arn:aws-cn:*:*:*:*", Some("aws")),
            ("arn:aws:*:*:*:*", Some("aws-cn")),
            ("arn:aws:*:*:*:*", None),
        ] {
            assert!(
                !matches_every_resource(p, partition),
                "{p} in {partition:?}"
            );
        }
        for p in [
            "",
            "arn:aws:*:*:*:*:*",
            "arn:*:*:*:*:*:*",
            "arn:aws:*:*:*:*/x",
            "arn:aws:*::*:*",
            "arn:aws:s3:::*",
            "arn:aws:*:*:123456789012:*",
            "arn:aws:*:*:*",
            "arn:*",
            "arn::*:*:*:*",
            "arn:aws:?:*:*:*",
            "ARN:aws:*:*:*:*",
        ] {
            assert!(!matches_every_resource(p, Some("aws")), "{p}");
        }
    }

    #[test]
    fn not_action_list_with_scoped_resource_and_condition() {
        let d = PolicyDocument::from_value(json!({
            "Statement": [{"Sid": "X", "Effect": "Deny", "NotAction": ["iam:*"],
                "Resource": ["arn:aws:s3:::b"], "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}]
        }))
        .unwrap();
        let s = &d.statements[0];
        assert_eq!(s.effect, Effect::Deny);
        assert!(matches!(s.actions, ActionClause::NotAction(_)));
        assert!(!s.applies_to_all_resources(None));
        assert!(s.is_conditional());
        assert_eq!(s.label(), "X");
    }

    #[test]
    fn url_encoded_and_plain_strings() {
        let enc = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3AGet%2A%22%2C%22Resource%22%3A%22arn%3Aaws%3As3%3A%3A%3Aa%2Bb%22%7D%5D%7D%0A";
        let d = PolicyDocument::from_str_any(enc).unwrap();
        assert_eq!(
            d.statements[0].resources,
            Some(ResourceClause::Resource(vec!["arn:aws:s3:::a+b".into()]))
        );
        let plain = r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
        assert_eq!(
            PolicyDocument::from_str_any(plain)
                .unwrap()
                .statements
                .len(),
            1
        );
    }

    /// A policy without statements (IAM refuses one) is an error, not a policy that grants
    /// nothing; an empty list is a policy that grants nothing.
    #[test]
    fn a_policy_without_statement_is_an_error() {
        for doc in [
            json!({"Version": "2012-10-17"}),
            json!({"Version": "2012-10-17", "Statement": null}),
            json!({"Version": "2012-10-17", "Statment": [{"Effect": "Allow", "Action": "*"}]}),
        ] {
            let e = PolicyDocument::from_value(doc).unwrap_err();
            assert_eq!(e.json_path, "$");
            assert!(e.message.contains("no Statement"), "{}", e.message);
        }
        let empty = json!({"Version": "2012-10-17", "Statement": []});
        assert!(
            PolicyDocument::from_value(empty)
                .unwrap()
                .statements
                .is_empty()
        );
    }

    #[test]
    fn errors_carry_json_path() {
        let e =
            PolicyDocument::from_value(json!({"Statement": [{"Effect": "Allow", "Action": "*"},
            {"Effect": "Allow", "Action": [1]}]}))
            .unwrap_err();
        assert_eq!(e.json_path, "$.Statement[1].Action[0]");
        let e =
            PolicyDocument::from_value(json!({"Statement": [{"Effect": "Maybe", "Action": "*"}]}))
                .unwrap_err();
        assert_eq!(e.json_path, "$.Statement[0].Effect");
        assert!(PolicyDocument::from_value(json!([1])).is_err());
    }

    /// A key given twice in a document given as text is an error at the JSON path of the object
    /// that repeats it, naming the key; the same key in two objects is not.
    #[test]
    fn a_key_given_twice_in_a_text_is_an_error() {
        let e = PolicyDocument::from_str_any(
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},
                {"Effect":"Deny","Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        )
        .unwrap_err();
        assert_eq!(e.json_path, "$.Statement[1]");
        assert!(
            e.message
                .starts_with("duplicate key \"Effect\" in a policy document"),
            "{e}"
        );
        let e =
            PolicyDocument::from_str_any("%7B%22Version%22%3A%221%22%2C%22Version%22%3A%222%22%7D")
                .unwrap_err();
        assert_eq!(e.json_path, "$");
        assert!(e.message.contains("\"Version\""), "{e}");
    }

    /// A compacted document reads back as the same JSON, keys in their order (what a folder
    /// writes as the original), compares equal to its parsed form whatever the order of keys,
    /// and keeps its statements.
    #[test]
    fn compact_documents_read_back_the_same() {
        let value = json!({"Statement": [{"Sid": "B", "Effect": "Allow", "Action": ["s3:Get*"],
            "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}],
            "Version": "2012-10-17", "Extra": [1, -7, u64::MAX, null, "x\u{0}y"]});
        let parsed = PolicyDocument::from_value(value.clone()).unwrap();
        let compact = parsed.clone().compact();
        assert!(matches!(compact.raw, RawDocument::Text(_)));
        assert_eq!(*compact.raw.value(), value);
        assert_eq!(compact.raw.compact_text(), value.to_string());
        let keys = |raw: &RawDocument| -> Vec<String> {
            raw.value().as_object().unwrap().keys().cloned().collect()
        };
        assert_eq!(keys(&compact.raw), ["Statement", "Version", "Extra"]);
        assert_eq!(compact, parsed);
        assert_eq!(compact.statements, parsed.statements);
        // The same document with its keys in another order is the same document.
        let reordered = PolicyDocument::from_value(json!({"Version": "2012-10-17",
            "Extra": [1, -7, u64::MAX, null, "x\u{0}y"], "Statement": value["Statement"].clone()}))
        .unwrap()
        .compact();
        assert_eq!(reordered.raw, compact.raw);
        let other = PolicyDocument::from_value(json!({"Statement": []}))
            .unwrap()
            .compact();
        assert_ne!(other.raw, compact.raw);
        assert_ne!(other.raw, parsed.raw);
        // A fractional number keeps the document parsed (see `reads_back`).
        let float = PolicyDocument::from_value(json!({"Statement": [], "N": 2.5})).unwrap();
        assert!(matches!(float.clone().compact().raw, RawDocument::Value(_)));
    }

    /// A document nested deeper than serde_json parses again keeps its value: its text would
    /// not read back.
    #[test]
    fn too_deep_documents_stay_parsed() {
        let mut deep = json!("leaf");
        for _ in 0..200 {
            deep = json!([deep]);
        }
        let d = PolicyDocument::from_value(json!({"Statement": [], "Deep": deep})).unwrap();
        let compact = d.clone().compact();
        assert!(matches!(compact.raw, RawDocument::Value(_)));
        assert_eq!(compact, d);
        // At the limit (the document's own object is one level): text, and it reads back.
        let mut deep = json!(1);
        for _ in 0..COMPACT_DEPTH - 1 {
            deep = json!([deep]);
        }
        let d = PolicyDocument::from_value(json!({"Statement": [], "Deep": deep})).unwrap();
        let compact = d.clone().compact();
        assert!(matches!(compact.raw, RawDocument::Text(_)));
        assert_eq!(*compact.raw.value(), d.raw.value().into_owned());
    }

    /// Any JSON, with fractional numbers or not.
    fn json(floats: bool) -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let float = any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(Value::from);
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<String>().prop_map(Value::from),
            float.prop_map(move |f| if floats { f } else { Value::Null }),
        ];
        leaf.prop_recursive(8, 64, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::vec((any::<String>(), inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    fn has_float(v: &Value) -> bool {
        match v {
            Value::Number(n) => n.is_f64(),
            Value::Array(a) => a.iter().any(has_float),
            Value::Object(o) => o.values().any(has_float),
            _ => false,
        }
    }

    proptest::proptest! {
        /// JSON without fractional numbers is held as text and reads back from it as the same
        /// value, keys in the same order.
        #[test]
        fn compact_text_reads_back_json_without_floats(extra in json(false)) {
            let doc = PolicyDocument::from_value(json!({"Statement": [], "Extra": extra}))
                .unwrap();
            let compact = doc.clone().compact();
            proptest::prop_assert!(matches!(compact.raw, RawDocument::Text(_)));
            let back = compact.raw.value().into_owned();
            proptest::prop_assert_eq!(back.to_string(), doc.raw.value().to_string());
            proptest::prop_assert_eq!(&back, &*doc.raw.value());
        }

        /// Any JSON reads back the same, as text or (with a fractional number, which serde_json
        /// may read back one unit in the last place away) as its value.
        #[test]
        fn compact_documents_read_back_any_json(extra in json(true)) {
            let floats = has_float(&extra);
            let doc = PolicyDocument::from_value(json!({"Statement": [], "Extra": extra}))
                .unwrap();
            let compact = doc.clone().compact();
            proptest::prop_assert_eq!(matches!(compact.raw, RawDocument::Value(_)), floats);
            proptest::prop_assert_eq!(
                compact.raw.value().to_string(),
                doc.raw.value().to_string()
            );
        }
    }
}
