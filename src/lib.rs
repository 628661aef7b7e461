//! evergreen: customer-value tables (RFM scores, segments, lapse, deciles, baskets) from Parquet
//! transaction dumps, computed with lazy Polars pipelines.
//!
//! Flow of one line: [`input`] (files, roles, canonical columns) → [`orders`] (cleaning rules,
//! order net, purchase flag) → [`customers`] / [`scores`] / [`deciles`] (the tables) →
//! [`output`] (atomic folder, manifest). [`pipeline`] ties them together; [`cli`] is the skin.

// Errors carry the file, column, expectation and finding for their one-line message; they are
// returned once per run, never in a hot loop, so their size does not matter.
#![allow(clippy::result_large_err)]

pub mod basket;
pub mod cli;
pub mod codes;
pub mod config;
pub mod customers;
pub mod deciles;
pub mod error;
pub mod exprs;
pub mod input;
pub mod orders;
pub mod output;
pub mod pipeline;
pub mod queries;
pub mod scores;

pub use config::Config;
pub use error::{Error, Result};
