//! evergreen's one integration-test binary. Expected values are worked out by hand in each test.

mod basket;
mod common;
mod customers;
mod deciles;
mod errors;
mod hardening;
mod input;
mod properties;
mod queries;
mod scores;
mod snapshots;
