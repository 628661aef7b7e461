//! What every job's output takes (`run`, `basket`, `clv`, `patterns`): the money rounding, the
//! as-of partition, the wait for another run's lock.

use serde::Serialize;

use super::options;
use crate::error::{Error, Result};

options! {
    /// The output every job writes: the flags and the config file's keys.
    pub struct OutputSettings {
        /// Decimals every money sum is rounded to, 0..=6 [default: 2].
        #[arg(long, env = "EVERGREEN_MONEY_DECIMALS", value_parser = clap::value_parser!(u32).range(0..=6))]
        pub money_decimals: Option<u32>,
        /// Write into DIR/as_of=YYYY-MM-DD/ (a hive partition per analysis date); a rerun of the same
        /// date replaces that partition atomically, other dates are kept.
        #[arg(long, env = "EVERGREEN_PARTITION_BY_AS_OF", num_args = 0, default_missing_value = "true",
              value_parser = clap::builder::BoolishValueParser::new())]
        pub partition_by_as_of: Option<bool>,
        /// Seconds to wait when another evergreen run is writing the same --out; then exit 5
        /// [default: 0, fail at once].
        #[arg(long, env = "EVERGREEN_LOCK_TIMEOUT", value_name = "SECONDS")]
        pub lock_timeout: Option<u64>,
        /// Compute and write only these tables (comma-separated names, e.g.
        /// customers,score_bins,monetary_deciles), and only the facts they need; a query's table
        /// brings the tables it reads [default: every table of the job].
        #[arg(long = "tables", env = "EVERGREEN_RUN_TABLES", value_name = "LIST", value_delimiter = ',')]
        pub tables: Option<Vec<String>>,
    }
}

pub const DEFAULT_MONEY_DECIMALS: u32 = 2;

/// The output settings after defaults and checks (flattened into the manifest's config).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutputOptions {
    /// Decimals every money sum is rounded to.
    pub money_decimals: u32,
    /// Write into `out/as_of=YYYY-MM-DD/`; a rerun of the same date replaces that partition.
    pub partition_by_as_of: bool,
    /// How long to wait for another run's lock on the output.
    pub lock_timeout_secs: u64,
    /// `--tables`: the tables to compute and write; empty: every table of the job.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<String>,
}

impl OutputSettings {
    /// Defaults and checks: 0..=6 money decimals, no partitions and no wait unless asked.
    pub fn resolve(self) -> Result<OutputOptions> {
        let money_decimals = self.money_decimals.unwrap_or(DEFAULT_MONEY_DECIMALS);
        if money_decimals > 6 {
            return Err(Error::Config(format!("money_decimals: expected 0..=6, found {money_decimals}")));
        }
        Ok(OutputOptions {
            money_decimals,
            partition_by_as_of: self.partition_by_as_of.unwrap_or(false),
            lock_timeout_secs: self.lock_timeout.unwrap_or(0),
            tables: tables_list(self.tables.unwrap_or_default())?,
        })
    }
}

/// `--tables`: names trimmed, empty entries and repeats dropped (in the order given); a name that is
/// no table of the job is refused by the planner, which knows the job's tables.
fn tables_list(given: Vec<String>) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for name in given.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        if !out.iter().any(|o| o == name) {
            out.push(name.to_string());
        }
    }
    if !given.is_empty() && out.is_empty() {
        return Err(Error::Config("tables: expected table names, found none".into()));
    }
    Ok(out)
}
