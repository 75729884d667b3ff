//! `expand PATTERN...`: one pattern per line, expanded against the embedded catalog.
//! Drives `iam_tighten::fuzzing::expand_patterns`, and checks the expansion against the plain
//! wildcard matcher `policy::expand::matches`: every action expanded matches the pattern, and on
//! a spread of catalog actions "expanded" and "matches" agree.
#![no_main]

use iam_tighten::catalog::Catalog;
use iam_tighten::policy::expand::matches;
use libfuzzer_sys::fuzz_target;

/// How many catalog actions, evenly spread, are checked against each pattern.
const SAMPLE: usize = 64;

fuzz_target!(|data: &[u8]| {
    let catalog = Catalog::embedded();
    let step = (catalog.len() / SAMPLE).max(1);
    for (pattern, set) in iam_tighten::fuzzing::expand_patterns(data) {
        for id in set.iter() {
            let name = catalog.full_name(id);
            assert!(
                matches(&pattern, &name),
                "{pattern:?} expanded to {name:?}, which it does not match"
            );
        }
        for id in catalog.ids().step_by(step) {
            let name = catalog.full_name(id);
            assert_eq!(
                set.contains(id),
                matches(&pattern, &name),
                "{pattern:?} and {name:?}: expansion and matcher disagree"
            );
        }
    }
});
