//! The one integration-test binary (ripgrep style): a module per area.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod adversarial;
mod analysis;
mod catalog;
mod cli;
mod common;
mod diff;
mod diff_semantics;
mod engines;
mod fetch;
mod html;
mod identities;
mod input;
mod layering;
mod offline;
mod organization;
mod parquet_dataset;
mod permission_sets;
mod policy;
mod recommend;
mod roundtrip;
mod snapshots;
mod threads;
mod xlsx;
