//! `expand PATTERN...`: one pattern per line, expanded against the embedded catalog.
//! Drives `iam_tighten::fuzzing::expand_patterns`, and checks the expansion against the plain
//! wildcard matcher `policy::expand::matches`: on a spread of the actions expanded, each matches
//! the pattern, and on a spread of catalog actions "expanded" and "matches" agree. (Spreads, not
//! every action: `*` expands to the whole catalog, and checking 22,000 actions per line would
//! leave the fuzzer at a few executions a second.)
#![no_main]

use iam_tighten::catalog::Catalog;
use iam_tighten::policy::expand::matches;
use libfuzzer_sys::fuzz_target;

/// How many actions of an expansion, and of the catalog, are checked against each pattern.
const SAMPLE: usize = 64;

fuzz_target!(|data: &[u8]| {
    let catalog = Catalog::embedded();
    let step = (catalog.len() / SAMPLE).max(1);
    for (pattern, set) in iam_tighten::fuzzing::expand_patterns(data) {
        let set_step = (set.len() / SAMPLE).max(1);
        for id in set.iter().step_by(set_step) {
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
