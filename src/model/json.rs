//! JSON read with every key of every object given once, for policy documents.
//!
//! serde_json's [`Value`] keeps the last of two values given for one key, and JSON readers
//! disagree on which one counts (RFC 8259 §4 leaves it open). Policy text is written by whoever
//! may edit a policy: `"Effect": "Deny", "Effect": "Allow"`, or a second `Statement`, would show
//! a reviewer one policy and this tool another. [`UniqueKeys`] reads a value while it is parsed
//! (no second pass: loading reads up to a million roles' documents) and refuses a key given
//! twice; the rest of an export is read into serde types, whose fields refuse it already.

use std::fmt::{self, Write as _};

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// A JSON value in which no object gives a key twice (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct UniqueKeys(pub Value);

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueVisitor).map(UniqueKeys)
    }
}

/// Builds a [`Value`] as serde_json's own visitor does (without its `arbitrary_precision` and
/// `raw_value` features, which this crate does not enable), but refuses a key given twice.
struct UniqueVisitor;

impl<'de> Visitor<'de> for UniqueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Number(n.into()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::Number(n.into()))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(UniqueKeys(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let UniqueKeys(value) = map.next_value()?;
            // One lookup, as `insert` would make: the check costs nothing more.
            match object.entry(key) {
                serde_json::map::Entry::Vacant(slot) => {
                    slot.insert(value);
                }
                serde_json::map::Entry::Occupied(first) => {
                    return Err(de::Error::custom(format_args!(
                        "duplicate key {:?} in a policy document: JSON readers disagree on \
                         which of the two counts",
                        first.key().chars().take(100).collect::<String>()
                    )));
                }
            }
        }
        Ok(Value::Object(object))
    }
}

/// Why [`parse_unique`] or [`parse_document_text`] refused a text.
#[derive(Debug)]
pub enum TextError {
    /// Not JSON: serde_json's error, with the line and column in the text.
    NotJson(serde_json::Error),
    /// A key given twice: the JSON path (from `$`) of the object that repeats it, and serde_json's
    /// message naming the key.
    Duplicate { json_path: String, message: String },
    /// URL-encoded text that is not IAM's encoding ([`url_decode`]): why, and where.
    NotUrlEncoded(String),
    /// URL-encoded text that is not JSON once decoded: serde_json's error (its line and column
    /// are the decoded text's), and whether the encoded text holds a `+`.
    DecodedNotJson(serde_json::Error, bool),
}

impl TextError {
    /// The message of an error that is not a repeated key, `not_json` saying which text is not
    /// JSON ("policy text is not JSON"); `None` for [`TextError::Duplicate`], which callers
    /// place at its JSON path.
    pub fn message(&self, not_json: &str) -> Option<String> {
        match self {
            TextError::NotJson(e) => Some(format!("{not_json}: {e}")),
            TextError::NotUrlEncoded(why) => Some(why.clone()),
            TextError::DecodedNotJson(e, plus) => {
                let hint = if *plus {
                    " (a + in URL-encoded text is a plus sign: IAM encodes a space as %20 and a \
                     plus as %2B, RFC 3986; was the text form-encoded, with + for a space?)"
                } else {
                    ""
                };
                Some(format!("{not_json} once URL-decoded: {e}{hint}"))
            }
            TextError::Duplicate { .. } => None,
        }
    }
}

/// Percent-decodes URL-encoded policy text as IAM encodes it (RFC 3986, what IAM's API returns
/// and botocore decodes with `urllib.parse.unquote`): `%` and two hex digits is a byte, any other
/// character is itself, so `+` is a plus (IAM writes a plus as `%2B`, a space as `%20`). A `%`
/// not followed by two hex digits is refused, naming it and its place: IAM writes a `%` as `%25`,
/// and decoding on would leave `%ZZ` in the document or report a JSON error at a column of a
/// text the file does not hold. So are decoded bytes that are not UTF-8.
pub fn url_decode(text: &str) -> Result<std::borrow::Cow<'_, str>, TextError> {
    let bytes = text.as_bytes();
    for (i, _) in text.match_indices('%') {
        let escape = bytes.get(i + 1..i + 3);
        if !escape.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
            let shown: String = text[i..].chars().take(3).collect();
            return Err(TextError::NotUrlEncoded(format!(
                "URL-encoded text has {shown:?} at character {}: not a % and two hex digits \
                 (RFC 3986, as IAM encodes a policy; a % is written %25)",
                text[..i].chars().count() + 1
            )));
        }
    }
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map_err(|e| TextError::NotUrlEncoded(format!("URL-encoded text is not UTF-8: {e}")))
}

/// A policy document's text parsed ([`parse_unique`]): JSON when it starts with `{`, `[` or `"`
/// (after blanks; IAM's encoding writes none of them as such), else URL-encoded JSON
/// ([`url_decode`]).
pub fn parse_document_text(text: &str) -> Result<Value, TextError> {
    if text.trim_start().starts_with(['{', '[', '"']) {
        return parse_unique(text);
    }
    let decoded = url_decode(text)?;
    parse_unique(&decoded).map_err(|e| match e {
        TextError::NotJson(e) => TextError::DecodedNotJson(e, text.contains('+')),
        other => other,
    })
}

/// Parses `text` as one JSON value in which no object gives a key twice. Only a text that fails
/// is parsed again, with its path tracked, to say where the repeated key is.
pub fn parse_unique(text: &str) -> Result<Value, TextError> {
    let first = match serde_json::from_str::<UniqueKeys>(text) {
        Ok(UniqueKeys(value)) => return Ok(value),
        Err(e) => e,
    };
    // Every JSON type is accepted: a data error is a repeated key, anything else is syntax.
    if first.classify() != serde_json::error::Category::Data {
        return Err(TextError::NotJson(first));
    }
    let mut de = serde_json::Deserializer::from_str(text);
    match serde_path_to_error::deserialize::<_, UniqueKeys>(&mut de) {
        Err(e) => Err(TextError::Duplicate {
            json_path: json_path(e.path()),
            message: e.into_inner().to_string(),
        }),
        // Not reached: the same parse failed above.
        Ok(_) => Err(TextError::Duplicate {
            json_path: "$".into(),
            message: first.to_string(),
        }),
    }
}

/// `$.RoleDetailList[3].RoleName` from serde_path_to_error's path; segments it could not name
/// (where the JSON itself is broken) are left off.
pub(crate) fn json_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::from("$");
    for segment in path {
        match segment {
            Segment::Seq { index } => {
                let _ = write!(out, "[{index}]");
            }
            Segment::Map { key } | Segment::Enum { variant: key } => push_key(&mut out, key),
            Segment::Unknown => break,
        }
    }
    out
}

/// Appends `.key`, or `["key"]` when the key is not a plain identifier.
pub(crate) fn push_key(out: &mut String, key: &str) {
    if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        out.push('.');
        out.push_str(key);
    } else {
        let _ = write!(out, "[{key:?}]");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// IAM's encoding (RFC 3986): `%2B` is a plus and a `+` stays a plus (botocore's `unquote`);
    /// a `%` without two hex digits, or bytes that are not UTF-8, are refused with where.
    #[test]
    fn url_decoding_is_iams() {
        assert_eq!(url_decode("x%2By+z%20w%25").unwrap(), "x+y+z w%");
        for (text, needle) in [
            ("ab%ZZcd", "\"%ZZ\" at character 3"),
            ("é%2", "\"%2\" at character 2"),
            ("%", "\"%\" at character 1"),
            ("%FF", "not UTF-8"),
        ] {
            match url_decode(text) {
                Err(TextError::NotUrlEncoded(why)) => assert!(why.contains(needle), "{why}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    /// The same value as serde_json's `Value` for any JSON without a repeated key, keys in
    /// their order; a repeated key at any depth is refused at the path of its object.
    #[test]
    fn reads_what_value_reads_and_refuses_repeated_keys() {
        let text = r#"{"b": [1, -2, 18446744073709551615, 2.5, 1e300, true, null, "x\u0000"],
            "a": {"k": {}, "K": []}, "": "empty key"}"#;
        let value = parse_unique(text).unwrap();
        assert_eq!(value, serde_json::from_str::<Value>(text).unwrap());
        assert_eq!(
            value.to_string(),
            serde_json::from_str::<Value>(text).unwrap().to_string()
        );
        for (text, path, key) in [
            (r#"{"a": 1, "a": 1}"#, "$", "\"a\""),
            (
                r#"[{"x": [{}, {"y": {"z": 1, "z": 2}}]}]"#,
                "$[0].x[1].y",
                "\"z\"",
            ),
            (r#"{"a:b": {"c": 1, "c": 1}}"#, "$[\"a:b\"]", "\"c\""),
        ] {
            match parse_unique(text) {
                Err(TextError::Duplicate { json_path, message }) => {
                    assert_eq!(json_path, path, "{text}");
                    assert!(
                        message.starts_with(&format!("duplicate key {key}")),
                        "{message}"
                    );
                }
                other => panic!("{text}: {other:?}"),
            }
        }
        assert!(matches!(
            parse_unique("{\"a\": "),
            Err(TextError::NotJson(_))
        ));
        assert!(matches!(parse_unique("{} {}"), Err(TextError::NotJson(_))));
    }
}
