//! The analysts' SQL run after the tables (`run`): their own queries, the segment map, file reads.

use std::path::PathBuf;

use serde::Serialize;

use super::options;
use crate::error::Result;

options! {
    /// The queries `run` runs over its tables: the flags and the config file's keys.
    pub struct SqlSettings {
        /// Folder of your own *.sql queries, run after the shipped ones (file-name order); each result
        /// is written as STEM.parquet (the file stem). A file named like a shipped query replaces it.
        #[arg(long, env = "EVERGREEN_QUERIES")]
        pub queries: Option<PathBuf>,
        /// TOML segment map (Segment = ["555", ...]) replacing queries/segments.sql; every cell of
        /// --bins must be in exactly one segment.
        #[arg(long, env = "EVERGREEN_SEGMENT_MAP")]
        pub segment_map: Option<PathBuf>,
        /// Let SQL queries read files with table functions (read_parquet, read_csv, ...); by default
        /// a query can read only the run's tables.
        #[arg(long, env = "EVERGREEN_ALLOW_FILE_READS", num_args = 0, default_missing_value = "true",
              value_parser = clap::builder::BoolishValueParser::new())]
        pub allow_file_reads: Option<bool>,
    }
}

/// The query settings after defaults (flattened into the manifest's config).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SqlOptions {
    /// Folder of the analyst's own `*.sql` queries.
    pub queries: Option<PathBuf>,
    /// TOML segment map replacing queries/segments.sql.
    pub segment_map: Option<PathBuf>,
    /// SQL queries may read files through table functions (`read_parquet`, `read_csv`, ...).
    pub allow_file_reads: bool,
}

impl SqlSettings {
    /// Defaults: the shipped queries and segments only, no file reads.
    pub fn resolve(self) -> Result<SqlOptions> {
        Ok(SqlOptions {
            queries: self.queries,
            segment_map: self.segment_map,
            allow_file_reads: self.allow_file_reads.unwrap_or(false),
        })
    }
}
