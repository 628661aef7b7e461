//! evergreen's one integration-test binary. Expected values are worked out by hand in each test.

// evergreen's errors are large by design (see src/lib.rs); tests pass them through closures.
#![allow(clippy::result_large_err)]

mod basket;
mod bi;
mod cases;
mod clv;
mod clv_models;
mod clv_uncertainty;
mod common;
mod csv_input;
mod customers;
mod edges;
mod engines;
mod incremental;
mod deciles;
mod errors;
mod filters;
mod hardening;
mod input;
mod data_safety;
mod layout;
mod patterns;
mod properties;
mod publish;
mod publish_edges;
mod queries;
mod report;
mod scheduler;
mod scores;
mod snapshots;
mod trends;
mod walkthrough;
mod spark;
mod switching;
mod tables_option;
