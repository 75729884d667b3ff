//! One timestamp, as every reader parses the date fields of every input file.
//! Drives `iam_tighten::input::parse_timestamp` and checks what its documentation and
//! `docs/input-errors.md` promise:
//! - `T`, `t` and a space between date and time are the same timestamp (or all refused);
//! - an accepted timestamp has RFC 3339's four-digit year (`+10000-…` and `-0001-…` are refused);
//! - an accepted timestamp, written back as RFC 3339, reads back as the same instant.
#![no_main]

use iam_tighten::input::parse_timestamp;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = parse_timestamp(s);
    let trimmed = s.trim();
    if let Some(t) = parsed {
        let b = trimmed.as_bytes();
        assert!(
            b.len() > 4 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-',
            "{s:?} accepted as {t:?}: not a four-digit year"
        );
        let written = t.to_rfc3339();
        assert_eq!(
            parse_timestamp(&written),
            Some(t),
            "{s:?} accepted as {t:?}, but {written:?} does not read back"
        );
    }
    if trimmed.len() > 10 && trimmed.is_char_boundary(10) && trimmed.is_char_boundary(11) {
        let (date, rest) = trimmed.split_at(10);
        if rest.starts_with(['T', 't', ' ']) {
            for sep in ['T', 't', ' '] {
                let other = format!("{date}{sep}{}", &rest[1..]);
                assert_eq!(
                    parse_timestamp(&other),
                    parsed,
                    "{s:?} and {other:?} differ only in the date-time separator"
                );
            }
        }
    }
});
