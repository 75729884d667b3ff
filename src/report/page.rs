//! What every HTML page of the tool shares (`report.html`, `diff.html`): one tera engine set up
//! the same way (autoescape with [`escape`], the same filters), HTML escaping, digit grouping, and
//! the Content-Security-Policy helpers. Pages are self-contained: templates are embedded, nothing
//! is looked up at run time, no clock (tera is built without its default features).

use std::collections::HashMap;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::model::{is_hidden, push_visible};

/// A tera engine for `output` (named in errors) with `templates` (name, source), autoescaping
/// every `.html` template with [`escape`] and with the filters every page may use.
pub fn engine(output: &str, templates: &[(&str, &str)]) -> Result<tera::Tera> {
    let mut t = tera::Tera::default();
    t.add_raw_templates(templates.iter().copied())
        .map_err(|e| Error::render(output, format!("template: {}", chain(&e))))?;
    t.autoescape_on(vec![".html"]);
    t.set_escape_fn(escape);
    t.register_filter("ts", filter_ts);
    t.register_filter("day", filter_day);
    t.register_filter("num", filter_num);
    t.register_filter("words", filter_words);
    t.register_filter("pct", filter_pct);
    t.register_filter("sevrank", filter_sevrank);
    t.register_filter("not_actionable", filter_not_actionable);
    Ok(t)
}

/// Renders template `name` of `t` with a serialisable context.
pub fn render<C: serde::Serialize>(
    t: &tera::Tera,
    output: &str,
    name: &str,
    ctx: &C,
) -> Result<String> {
    let ctx = tera::Context::from_serialize(ctx)
        .map_err(|e| Error::render(output, format!("context: {e}")))?;
    t.render(name, &ctx)
        .map_err(|e| Error::render(output, chain(&e)))
}

/// The CSP source for an inline script: `'sha256-<base64>'`.
pub fn script_hash(script: &str) -> String {
    format!("'sha256-{}'", base64(&Sha256::digest(script.as_bytes())))
}

/// Standard base64 with padding (RFC 4648 §4).
pub fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// HTML escaping for text and double-quoted attributes (tera's autoescape uses the same). Every
/// text of the export reaches the page through it, so it also writes each hidden character (a
/// bidi override, a zero-width or control character: [`is_hidden`]) as visible `[U+202E]`: a
/// role named `x` + U+202E would otherwise show the rest of its line reversed.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    escape_into(&mut out, s);
    out
}

/// [`escape`], appended to `out`.
pub fn escape_into(out: &mut String, s: &str) {
    let mut from = 0;
    for (i, b) in s.bytes().enumerate() {
        let with = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            // A control character (but tab, LF, CR), or the first byte of a non-ASCII one.
            0..0x09 | 0x0b | 0x0c | 0x0e..0x20 | 0x7f | 0xc0.. => {
                match s[i..].chars().next() {
                    Some(c) if is_hidden(c) => {
                        out.push_str(&s[from..i]);
                        push_visible(out, c);
                        from = i + c.len_utf8();
                    }
                    _ => {}
                }
                continue;
            }
            _ => continue,
        };
        out.push_str(&s[from..i]);
        out.push_str(with);
        from = i + 1;
    }
    out.push_str(&s[from..]);
}

/// What `{{ s | words }}` writes on the page, appended to `out`: underscores as spaces, escaped.
pub fn words_into(out: &mut String, s: &str) {
    for (k, part) in s.split('_').enumerate() {
        if k > 0 {
            out.push(' ');
        }
        escape_into(out, part);
    }
}

/// An error with its causes (tera nests the useful message).
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        msg = format!("{msg}: {s}");
        src = s.source();
    }
    msg
}

// ---- tera filters -------------------------------------------------------------------------

type Args = HashMap<String, Value>;

fn parse_ts(v: &Value) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    v.as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
}

/// `2026-11-20T09:12:00Z` → `2026-11-20 09:12 UTC`; null → empty.
fn filter_ts(v: &Value, _: &Args) -> tera::Result<Value> {
    Ok(Value::String(match parse_ts(v) {
        Some(t) => t
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%d %H:%M UTC")
            .to_string(),
        None => v.as_str().unwrap_or_default().to_string(),
    }))
}

/// `2026-11-20T09:12:00Z` → `2026-11-20`; null → empty.
fn filter_day(v: &Value, _: &Args) -> tera::Result<Value> {
    Ok(Value::String(match parse_ts(v) {
        Some(t) => t.with_timezone(&chrono::Utc).format("%Y-%m-%d").to_string(),
        None => v.as_str().unwrap_or_default().to_string(),
    }))
}

/// Integer with thousands separators: `12345` → `12,345`.
fn filter_num(v: &Value, _: &Args) -> tera::Result<Value> {
    let n = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return Ok(v.clone()),
    };
    let (sign, digits) = n.strip_prefix('-').map_or(("", n.as_str()), |d| ("-", d));
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(Value::String(n));
    }
    Ok(Value::String(format!("{sign}{}", thousands(digits))))
}

pub use crate::model::thousands;

/// Sort key of a sensitivity: critical 4 … low 1, none 0.
fn filter_sevrank(v: &Value, _: &Args) -> tera::Result<Value> {
    Ok(Value::from(match v.as_str() {
        Some("critical") => 4,
        Some("high") => 3,
        Some("medium") => 2,
        Some("low") => 1,
        _ => 0,
    }))
}

/// `action_not_accessed` → `action not accessed`.
fn filter_words(v: &Value, _: &Args) -> tera::Result<Value> {
    Ok(Value::String(
        v.as_str().unwrap_or_default().replace('_', " "),
    ))
}

/// Why no IAM change tightens the principal of an ARN (one whose `actionable` is false), by its
/// path: `/aws-service-role/` is a service-linked role (AWS owns its policies);
/// `/aws-reserved/sso.amazonaws.com/` an IAM Identity Center role, which Identity Center
/// overwrites from its permission set (with or without an organisation part naming the set).
fn filter_not_actionable(v: &Value, _: &Args) -> tera::Result<Value> {
    let path = crate::model::arn::role_path(v.as_str().unwrap_or_default()).unwrap_or_default();
    Ok(Value::from(
        if path.starts_with(crate::model::organization::IDENTITY_CENTER_PATH) {
            "IAM Identity Center role: its permission set is what changes"
        } else if path.starts_with("/aws-service-role/") {
            "service-linked"
        } else {
            "not actionable"
        },
    ))
}

/// Share of `total` as a whole percentage (`pct(total=n)`).
fn filter_pct(v: &Value, args: &Args) -> tera::Result<Value> {
    let part = v.as_u64().unwrap_or(0);
    let total = args.get("total").and_then(Value::as_u64).unwrap_or(0);
    Ok(Value::String(match (part * 100).checked_div(total) {
        None => "0%".into(),
        Some(0) if part > 0 => "<1%".into(),
        Some(p) => format!("{p}%"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn numbers_get_separators() {
        let n = |v: Value| filter_num(&v, &Args::new()).ok();
        assert_eq!(n(Value::from(0)), Some(Value::from("0")));
        assert_eq!(n(Value::from(999)), Some(Value::from("999")));
        assert_eq!(n(Value::from(1000)), Some(Value::from("1,000")));
        assert_eq!(n(Value::from(1234567)), Some(Value::from("1,234,567")));
        assert_eq!(n(Value::from(-1234)), Some(Value::from("-1,234")));
        assert_eq!(n(Value::from("12a")), Some(Value::from("12a")));
        assert_eq!(n(Value::Null), Some(Value::Null));
    }

    #[test]
    fn timestamps_are_formatted_in_utc() {
        let v = Value::from("2026-11-20T09:12:00.123456+00:00");
        assert_eq!(
            filter_ts(&v, &Args::new()).ok(),
            Some(Value::from("2026-11-20 09:12 UTC"))
        );
        assert_eq!(
            filter_day(&v, &Args::new()).ok(),
            Some(Value::from("2026-11-20"))
        );
        // A time in another offset is shown in UTC; what is not a time is shown as is.
        let v = Value::from("2026-11-20T01:00:00-12:00");
        assert_eq!(
            filter_ts(&v, &Args::new()).ok(),
            Some(Value::from("2026-11-20 13:00 UTC"))
        );
        assert_eq!(
            filter_day(&Value::from("soon"), &Args::new()).ok(),
            Some(Value::from("soon"))
        );
        assert_eq!(
            filter_ts(&Value::Null, &Args::new()).ok(),
            Some(Value::from(""))
        );
    }

    #[test]
    fn words_ranks_and_shares() {
        let a = Args::new();
        assert_eq!(
            filter_words(&Value::from("action_not_accessed"), &a).ok(),
            Some(Value::from("action not accessed"))
        );
        for (s, n) in [
            ("critical", 4),
            ("high", 3),
            ("medium", 2),
            ("low", 1),
            ("x", 0),
        ] {
            assert_eq!(
                filter_sevrank(&Value::from(s), &a).ok(),
                Some(Value::from(n))
            );
        }
        let why = |arn: &str| filter_not_actionable(&Value::from(arn), &a).ok();
        assert_eq!(
            why("arn:aws:iam::1:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS"),
            Some(Value::from("service-linked"))
        );
        assert_eq!(
            why("arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_A_0"),
            Some(Value::from(
                "IAM Identity Center role: its permission set is what changes"
            ))
        );
        assert_eq!(
            why("arn:aws:iam::1:role/x/aws-service-role/y"),
            Some(Value::from("not actionable"))
        );
        let total = |n: u64| Args::from([("total".to_string(), Value::from(n))]);
        assert_eq!(
            filter_pct(&Value::from(1), &total(3)).ok(),
            Some(Value::from("33%"))
        );
        assert_eq!(
            filter_pct(&Value::from(1), &total(1000)).ok(),
            Some(Value::from("<1%"))
        );
        assert_eq!(
            filter_pct(&Value::from(0), &total(1000)).ok(),
            Some(Value::from("0%"))
        );
        assert_eq!(
            filter_pct(&Value::from(5), &total(0)).ok(),
            Some(Value::from("0%"))
        );
    }

    #[test]
    fn escaping_and_the_engine() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        let t = engine(
            "t.html",
            &[("t.html", "{{ v }}|{{ n | num }}|{{ s | safe }}")],
        )
        .unwrap();
        let out = render(
            &t,
            "t.html",
            "t.html",
            &serde_json::json!({"v": "<b>", "n": 12345, "s": "<i>"}),
        )
        .unwrap();
        assert_eq!(out, "&lt;b&gt;|12,345|<i>");
        // A hidden character of the export reads as its code point, in text and in attributes.
        assert_eq!(
            escape("a\u{202e}b\u{1}<\u{2066}é"),
            "a[U+202E]b[U+0001]&lt;[U+2066]é"
        );
        let t = engine("t.html", &[("t.html", "<p title=\"{{ v }}\">{{ v }}</p>")]).unwrap();
        let v = serde_json::json!({"v": "old-reporting\u{202e} x\ty"});
        assert_eq!(
            render(&t, "t.html", "t.html", &v).unwrap(),
            "<p title=\"old-reporting[U+202E] x\ty\">old-reporting[U+202E] x\ty</p>"
        );
        assert!(
            engine("bad.html", &[("bad.html", "{{ unclosed")])
                .unwrap_err()
                .to_string()
                .contains("bad.html: cannot render: template")
        );
    }
}
