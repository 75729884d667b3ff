//! A policy document as `expand --policy` reads it, parsed and expanded against the catalog.
//! Drives `iam_tighten::fuzzing::expand_policy_document`. An `Err` is a clean input error; a panic, a hang
//! or unbounded memory is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = iam_tighten::fuzzing::expand_policy_document(data) {
        // Errors are printed with `{:#}` in a real run: format them too.
        let _ = format!("{e:#}");
    }
});
