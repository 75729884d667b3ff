//! A policy document in a file of its own (`iam-tighten expand --policy FILE`): a bare document,
//! as a JSON object, a JSON string or URL-encoded text, or the output of the AWS CLI commands that
//! print one (`get-policy-version`, `get-role-policy`, `get-user-policy`, `get-group-policy`).

use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::PolicyDocument;
use crate::model::json::parse_document_text;

/// Reads a policy file (see the module docs). Anything that holds no `Statement` is an error: an
/// empty expansion would look like "this policy grants nothing".
pub fn read_policy_file(path: &Path) -> Result<PolicyDocument> {
    let text = crate::files::read_text(path)?;
    parse_policy_text(path, &text)
}

/// [`read_policy_file`] on text already read (`path` names it in errors).
pub fn parse_policy_text(path: &Path, text: &str) -> Result<PolicyDocument> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value = decode(path, "$", text)?;
    let (value, at) = unwrap_cli_output(path, value)?;
    let has_statement = value
        .as_object()
        .is_some_and(|o| o.get("Statement").is_some_and(|s| !s.is_null()));
    if !has_statement {
        return Err(Error::parse(
            path,
            at,
            "no Statement: not a policy document (give a document, or the output of aws iam get-policy-version, get-role-policy, get-user-policy or get-group-policy)",
        ));
    }
    PolicyDocument::from_value(value).map_err(|e| {
        let inner = e.json_path.strip_prefix('$').unwrap_or(&e.json_path);
        Error::parse(path, format!("{at}{inner}"), e.message)
    })
}

/// The JSON value of a document given as JSON (an object, or a string holding the document) or
/// as URL-encoded text ([`parse_document_text`]). A key given twice in any object is an error.
fn decode(path: &Path, at: &str, text: &str) -> Result<Value> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(Error::parse(
            path,
            at,
            "empty: expected a policy document (JSON)",
        ));
    }
    let value = parse_document_text(trimmed)
        .map_err(|e| super::text_error(path, at, e, "not valid JSON", ""))?;
    match value {
        // A document stored as a JSON string (what raw API callers and some exports write).
        Value::String(inner) => decode(path, at, &inner),
        other => Ok(other),
    }
}

/// The document inside the AWS CLI's output, and the JSON path where it sits.
fn unwrap_cli_output(path: &Path, value: Value) -> Result<(Value, &'static str)> {
    let Value::Object(mut obj) = value else {
        return Err(Error::parse(
            path,
            "$",
            "expected a policy document (a JSON object)",
        ));
    };
    // `aws iam get-policy-version`: {"PolicyVersion": {"Document": …, "VersionId": …}}
    if let Some(Value::Object(mut version)) = obj.remove("PolicyVersion") {
        let at = "$.PolicyVersion.Document";
        let doc = version
            .remove("Document")
            .ok_or_else(|| Error::parse(path, "$.PolicyVersion", "no Document"))?;
        return Ok((document_value(path, at, doc)?, at));
    }
    // `aws iam get-role-policy` / `get-user-policy` / `get-group-policy`:
    // {"RoleName": …, "PolicyName": …, "PolicyDocument": …}
    if let Some(doc) = obj.remove("PolicyDocument") {
        let at = "$.PolicyDocument";
        return Ok((document_value(path, at, doc)?, at));
    }
    Ok((Value::Object(obj), "$"))
}

/// A document inside a CLI output: an object, or a (URL-encoded) string.
fn document_value(path: &Path, at: &str, doc: Value) -> Result<Value> {
    match doc {
        Value::String(text) => decode(path, at, &text),
        other => Ok(other),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn actions(text: &str) -> Result<Vec<String>> {
        let doc = parse_policy_text(Path::new("p.json"), text)?;
        Ok(doc
            .statements
            .iter()
            .map(|s| format!("{:?}", s.actions))
            .collect())
    }

    const DOC: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;

    #[test]
    fn every_shape_gives_the_same_document() {
        let want = actions(DOC).unwrap();
        assert_eq!(want.len(), 1);
        let encoded: String =
            percent_encoding::utf8_percent_encode(DOC, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        for text in [
            format!("\u{feff}{DOC}"),
            serde_json::to_string(DOC).unwrap(),
            encoded.clone(),
            format!(
                r#"{{"PolicyVersion":{{"Document":{DOC},"VersionId":"v1","IsDefaultVersion":true}}}}"#
            ),
            format!(r#"{{"PolicyVersion":{{"Document":"{encoded}","VersionId":"v1"}}}}"#),
            format!(r#"{{"RoleName":"r","PolicyName":"p","PolicyDocument":{DOC}}}"#),
            format!(r#"{{"UserName":"u","PolicyName":"p","PolicyDocument":"{encoded}"}}"#),
            format!(
                r#"{{"GroupName":"g","PolicyName":"p","PolicyDocument":{}}}"#,
                serde_json::to_string(DOC).unwrap()
            ),
        ] {
            assert_eq!(actions(&text).unwrap(), want, "{text}");
        }
    }

    #[test]
    fn anything_without_statements_is_an_error() {
        for (text, at) in [
            ("", "$"),
            ("{}", "$"),
            (r#"{"Version":"2012-10-17"}"#, "$"),
            (
                r#"{"Policy":{"PolicyName":"x","Arn":"arn:aws:iam::aws:policy/x"}}"#,
                "$",
            ),
            (
                r#"{"PolicyVersion":{"Document":{}}}"#,
                "$.PolicyVersion.Document",
            ),
            (
                r#"{"RoleName":"r","PolicyDocument":"%7B%7D"}"#,
                "$.PolicyDocument",
            ),
            ("[1,2]", "$"),
            ("\"just text\"", "$"),
        ] {
            let e = actions(text).unwrap_err().to_string();
            assert!(e.starts_with(&format!("p.json: {at}:")), "{text}: {e}");
        }
    }

    /// A key given twice, in the document or in the CLI output around it, is an error naming
    /// the key at the JSON path of the object that repeats it (serde_json's `Value` kept the
    /// last one).
    #[test]
    fn a_key_given_twice_is_an_error() {
        let twice =
            r#"{"Statement":[{"Effect":"Deny","Effect":"Allow","Action":"*","Resource":"*"}]}"#;
        for (text, want) in [
            (
                twice.to_string(),
                "p.json: $.Statement[0]: duplicate key \"Effect\"",
            ),
            (
                format!(r#"{{"PolicyVersion":{{"Document":{twice}}}}}"#),
                "p.json: $.PolicyVersion.Document.Statement[0]: duplicate key \"Effect\"",
            ),
            (
                format!(
                    r#"{{"RoleName":"r","PolicyDocument":{}}}"#,
                    serde_json::to_string(twice).unwrap()
                ),
                "p.json: $.PolicyDocument.Statement[0]: duplicate key \"Effect\"",
            ),
            (
                format!(r#"{{"PolicyDocument":{DOC},"PolicyDocument":{DOC}}}"#),
                "p.json: $: duplicate key \"PolicyDocument\"",
            ),
        ] {
            let e = actions(&text).unwrap_err().to_string();
            assert!(e.starts_with(want), "{text}: {e}");
        }
    }

    #[test]
    fn errors_inside_a_wrapped_document_point_into_it() {
        let e = actions(
            r#"{"PolicyVersion":{"Document":{"Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("$.PolicyVersion.Document.Statement[0].Effect"),
            "{e}"
        );
    }
}
