//! Timestamps as every AWS client writes them (see the reference, §1.3).
//!
//! CLI v1 prints the wire form (`2019-10-01T03:50:35.929Z`), CLI v2 Python's `isoformat()`
//! (`2019-10-01T03:50:35.929000+00:00`), a boto3 script with `json.dumps(default=str)` uses a space
//! (`2019-10-01 03:50:35.929000+00:00`), moto writes microseconds plus `Z`. All become UTC.

use chrono::{DateTime, Datelike, Utc};
use serde::de::{self, Deserialize, Deserializer, Visitor};

use crate::model::Timestamp;

/// Parses an RFC 3339 timestamp with `T`, `t` or a space between date and time, 0–9 fraction
/// digits (more are truncated to nanoseconds) and `Z`, `z` or any `±hh:mm` / `±hhmm` offset;
/// returns it in UTC. A time without an offset is rejected: it is ambiguous, and no AWS client
/// writes one. The year has exactly four digits (RFC 3339: 0000–9999), so every timestamp that
/// parses is far enough from chrono's limits for any window or age arithmetic on it.
pub fn parse_timestamp(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    let b = s.as_bytes();
    // `YYYY-MM-DD` then a separator: anything else (`+10000-01-01`, `2019/10/01`) is not RFC 3339.
    let shape = b.len() > 19
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && matches!(b[10], b'T' | b't' | b' ');
    if !shape {
        return None;
    }
    let mut normalized = String::with_capacity(s.len() + 1);
    normalized.push_str(&s[..10]);
    normalized.push('T');
    let rest = &s[11..];
    // The offset: `Z`/`z`, or `±hh:mm`, or `±hhmm` (written by some clients), made `±hh:mm`.
    let (time, offset) = if let Some(t) = rest.strip_suffix(['Z', 'z']) {
        (t, "Z".to_string())
    } else {
        let at = rest.rfind(['+', '-'])?;
        let (t, off) = rest.split_at(at);
        let digits = off[1..].replace(':', "");
        if digits.len() != 4 || !digits.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        (t, format!("{}{}:{}", &off[..1], &digits[..2], &digits[2..]))
    };
    normalized.push_str(time);
    normalized.push_str(&offset);
    DateTime::parse_from_rfc3339(&normalized)
        .ok()
        .map(|t| t.with_timezone(&Utc))
        .filter(|t| (MIN_YEAR..=MAX_YEAR).contains(&t.year()))
}

/// The years a timestamp may have (RFC 3339's four-digit years). In UTC, an offset can move a
/// `0000-01-01T00:00:00+01:00` into year −1: refused as well.
pub const MIN_YEAR: i32 = 0;
pub const MAX_YEAR: i32 = 9999;

/// Epoch seconds as a timestamp, within [`MIN_YEAR`]..=[`MAX_YEAR`].
fn from_epoch(secs: i64, nanos: u32) -> Option<Timestamp> {
    DateTime::from_timestamp(secs, nanos).filter(|t| (MIN_YEAR..=MAX_YEAR).contains(&t.year()))
}

/// A timestamp field in an AWS JSON file: an RFC 3339 string (see [`parse_timestamp`]) or epoch
/// seconds. Anything else is a deserialization error, so the caller reports the JSON path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Time(pub Timestamp);

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TimeVisitor)
    }
}

struct TimeVisitor;

impl Visitor<'_> for TimeVisitor {
    type Value = Time;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a timestamp like 2019-10-01T03:50:35.929Z, or epoch seconds")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Time, E> {
        parse_timestamp(v).map(Time).ok_or_else(|| {
            // Valid RFC 3339 that its offset moves out of the four-digit years in UTC.
            if DateTime::parse_from_rfc3339(v.trim()).is_ok() {
                E::custom(format!(
                    "timestamp {v:?} is outside the years 0000-9999 in UTC, which the outputs \
                     write (RFC 3339)"
                ))
            } else {
                E::custom(format!(
                    "malformed timestamp {v:?}: expected RFC 3339 like 2019-10-01T03:50:35.929Z"
                ))
            }
        })
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Time, E> {
        from_epoch(v, 0)
            .map(Time)
            .ok_or_else(|| E::custom(format!("epoch seconds {v} out of range (years 0000–9999)")))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Time, E> {
        let secs =
            i64::try_from(v).map_err(|_| E::custom(format!("epoch seconds {v} out of range")))?;
        self.visit_i64(secs)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Time, E> {
        let out_of_range =
            || E::custom(format!("epoch seconds {v} out of range (years 0000–9999)"));
        if !v.is_finite() || v.abs() > 1e15 {
            return Err(out_of_range());
        }
        let secs = v.floor();
        // Both casts are in range: |secs| <= 1e15 and the fraction is in [0, 1).
        let nanos = ((v - secs) * 1e9).round().min(999_999_999.0) as u32;
        from_epoch(secs as i64, nanos)
            .map(Time)
            .ok_or_else(out_of_range)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, nanos: i64) -> Timestamp {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s)
            .single()
            .expect("valid test date")
            + chrono::TimeDelta::nanoseconds(nanos)
    }

    #[test]
    fn every_client_format() {
        let ms = utc(2019, 10, 1, 3, 50, 35, 929_000_000);
        for s in [
            "2019-10-01T03:50:35.929Z",         // CLI v1 / wire
            "2019-10-01T03:50:35.929000+00:00", // CLI v2
            "2019-10-01 03:50:35.929000+00:00", // boto3 str()
            "2019-10-01t03:50:35.929z",
            "  2019-10-01T03:50:35.929Z\n",
        ] {
            assert_eq!(parse_timestamp(s), Some(ms), "{s}");
        }
        let whole = utc(2019, 9, 30, 23, 2, 0, 0);
        for s in [
            "2019-09-30T23:02:00Z",
            "2019-09-30T23:02:00+00:00",
            "2019-09-30 23:02:00+00:00",
            "2019-09-30T23:02:00.000Z",
        ] {
            assert_eq!(parse_timestamp(s), Some(whole), "{s}");
        }
        assert_eq!(
            parse_timestamp("2026-11-28T22:12:35.507751Z"), // moto
            Some(utc(2026, 11, 28, 22, 12, 35, 507_751_000))
        );
    }

    #[test]
    fn fraction_digits_zero_to_nine() {
        assert_eq!(
            parse_timestamp("2020-01-01T00:00:00.1Z"),
            Some(utc(2020, 1, 1, 0, 0, 0, 100_000_000))
        );
        assert_eq!(
            parse_timestamp("2020-01-01T00:00:00.123456789Z"),
            Some(utc(2020, 1, 1, 0, 0, 0, 123_456_789))
        );
        // chrono keeps nanoseconds and drops further digits rather than failing.
        assert_eq!(
            parse_timestamp("2020-01-01T00:00:00.1234567891Z"),
            Some(utc(2020, 1, 1, 0, 0, 0, 123_456_789))
        );
    }

    #[test]
    fn offsets_convert_to_utc() {
        let t = utc(2020, 1, 1, 0, 0, 0, 0);
        assert_eq!(parse_timestamp("2020-01-01T05:30:00+05:30"), Some(t));
        assert_eq!(parse_timestamp("2019-12-31T19:00:00-05:00"), Some(t));
        assert_eq!(parse_timestamp("2019-12-31 19:00:00.000-0500"), Some(t));
    }

    #[test]
    fn lower_case_separators_and_compact_offsets() {
        // Documented in docs/input-errors.md: `t`, `z` and `±hhmm` are accepted together.
        assert_eq!(
            parse_timestamp("2026-11-18t13:00:00-1200"),
            Some(utc(2026, 11, 19, 1, 0, 0, 0))
        );
        assert_eq!(
            parse_timestamp("2026-11-18 13:00:00.5+0130"),
            Some(utc(2026, 11, 18, 11, 30, 0, 500_000_000))
        );
    }

    #[test]
    fn years_outside_rfc_3339_are_refused() {
        for s in [
            "+10000-01-01T00:00:00Z",
            "10000-01-01T00:00:00Z",
            "-0001-01-01T00:00:00Z",
            "0000-01-01T00:00:00+01:00", // year -1 in UTC
            "999-01-01T00:00:00Z",
            "2026-11-18T13:00:00+1",
            "2026-11-18T13:00:00+12:3x",
        ] {
            assert_eq!(parse_timestamp(s), None, "{s}");
        }
        assert!(parse_timestamp("9999-12-31T23:59:59Z").is_some());
        assert!(parse_timestamp("0000-01-01T00:00:00Z").is_some());
        assert!(serde_json::from_str::<Time>("253402300800").is_err());
        assert!(serde_json::from_str::<Time>("-62167219201").is_err());
        assert!(serde_json::from_str::<Time>("253402300799").is_ok());
        assert!(serde_json::from_str::<Time>("-9.2e14").is_err());
    }

    #[test]
    fn rejects_garbage_and_naive_times() {
        for s in [
            "",
            "yesterday",
            "2019-10-01",
            "2019-10-01T03:50:35",
            "2019-13-01T03:50:35Z",
            "2019-10-01T25:50:35Z",
            "2019/10/01 03:50:35Z",
            "1569901835",
        ] {
            assert_eq!(parse_timestamp(s), None, "{s}");
        }
    }

    #[test]
    fn json_field_accepts_strings_and_epoch_numbers() {
        let t: Time = serde_json::from_str("\"2019-09-30T23:02:00Z\"").expect("string");
        assert_eq!(t.0, utc(2019, 9, 30, 23, 2, 0, 0));
        let t: Time = serde_json::from_str("1569884520").expect("integer");
        assert_eq!(t.0, utc(2019, 9, 30, 23, 2, 0, 0));
        let t: Time = serde_json::from_str("1569884520.5").expect("float");
        assert_eq!(t.0, utc(2019, 9, 30, 23, 2, 0, 500_000_000));
        let e =
            serde_json::from_str::<Time>("\"9999-12-31T23:59:59-14:00\"").expect_err("year 10000");
        assert!(
            e.to_string()
                .contains("is outside the years 0000-9999 in UTC"),
            "{e}"
        );
        let e = serde_json::from_str::<Time>("\"soon\"").expect_err("malformed");
        assert!(
            e.to_string().contains("malformed timestamp \"soon\""),
            "{e}"
        );
        assert!(serde_json::from_str::<Time>("true").is_err());
    }
}
