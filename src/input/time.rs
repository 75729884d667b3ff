//! Timestamps as every AWS client writes them (see the reference, §1.3).
//!
//! CLI v1 prints the wire form (`2019-10-01T03:50:35.929Z`), CLI v2 Python's `isoformat()`
//! (`2019-10-01T03:50:35.929000+00:00`), a boto3 script with `json.dumps(default=str)` uses a space
//! (`2019-10-01 03:50:35.929000+00:00`), moto writes microseconds plus `Z`. All become UTC.

use chrono::{DateTime, Utc};
use serde::de::{self, Deserialize, Deserializer, Visitor};

use crate::model::Timestamp;

/// Parses an RFC 3339 timestamp with `T`, `t` or a space between date and time, 0–9 fraction
/// digits (more are truncated to nanoseconds) and `Z` or any `±hh:mm` / `±hhmm` offset; returns it in UTC. A time without an offset is
/// rejected: it is ambiguous, and no AWS client writes one.
pub fn parse_timestamp(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    // `±hhmm` offsets and a space separator, which some chrono versions' RFC 3339 parser refuse.
    let normalized: String = s
        .char_indices()
        .map(|(i, c)| if i == 10 && c == ' ' { 'T' } else { c })
        .collect();
    DateTime::parse_from_str(&normalized, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_str(&normalized, "%Y-%m-%dT%H:%M:%S%.fZ"))
        .ok()
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| {
            // `Z` with the format above parses as a naive time; take it as UTC explicitly.
            let naive = normalized.strip_suffix(['Z', 'z'])?;
            chrono::NaiveDateTime::parse_from_str(naive, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
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
            E::custom(format!(
                "malformed timestamp {v:?}: expected RFC 3339 like 2019-10-01T03:50:35.929Z"
            ))
        })
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Time, E> {
        DateTime::from_timestamp(v, 0)
            .map(Time)
            .ok_or_else(|| E::custom(format!("epoch seconds {v} out of range")))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Time, E> {
        let secs =
            i64::try_from(v).map_err(|_| E::custom(format!("epoch seconds {v} out of range")))?;
        self.visit_i64(secs)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Time, E> {
        let out_of_range = || E::custom(format!("epoch seconds {v} out of range"));
        if !v.is_finite() || v.abs() > 1e15 {
            return Err(out_of_range());
        }
        let secs = v.floor();
        // Both casts are in range: |secs| <= 1e15 and the fraction is in [0, 1).
        let nanos = ((v - secs) * 1e9).round().min(999_999_999.0) as u32;
        DateTime::from_timestamp(secs as i64, nanos)
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
        let e = serde_json::from_str::<Time>("\"soon\"").expect_err("malformed");
        assert!(
            e.to_string().contains("malformed timestamp \"soon\""),
            "{e}"
        );
        assert!(serde_json::from_str::<Time>("true").is_err());
    }
}
