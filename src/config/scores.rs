//! The customers' scores and lapse buckets (`run`).

use serde::{Deserialize, Serialize};

use super::options;
use crate::error::{Error, Result};

/// How the 1..B scores are assigned (SPEC "Scores").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ScoringMethod {
    /// `1 + floor(B * (rank - 1) / N)` with rank = 1 + number of strictly smaller keys: ties share a score.
    Rank,
    /// Equal counts: ordered by key, ties by customer_id ascending, `1 + floor(B * (row - 1) / N)`.
    Ntile,
}

options! {
    /// Scores and lapse buckets: the flags and the config file's keys.
    pub struct ScoreSettings {
        /// Number of score bins B, 2..=9 [default: 5].
        #[arg(long, env = "EVERGREEN_BINS", value_parser = clap::value_parser!(u8).range(2..=9))]
        pub bins: Option<u8>,
        /// Scoring method [default: rank].
        #[arg(long, env = "EVERGREEN_SCORING", value_enum)]
        pub scoring: Option<ScoringMethod>,
        /// Ascending recency thresholds in days for lapse buckets [default: 30,60,90,120].
        #[arg(long, env = "EVERGREEN_LAPSE_THRESHOLDS", value_delimiter = ',')]
        pub lapse_thresholds: Option<Vec<u32>>,
    }
}

/// The score settings after defaults and checks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreOptions {
    /// Number of score bins B (2..=9).
    pub bins: u8,
    pub scoring: ScoringMethod,
    /// Ascending recency thresholds in days, e.g. [30, 60, 90, 120].
    pub lapse_thresholds: Vec<u32>,
}

pub const DEFAULT_BINS: u8 = 5;
pub const DEFAULT_LAPSE_THRESHOLDS: [u32; 4] = [30, 60, 90, 120];

impl ScoreSettings {
    /// Defaults and checks: 2..=9 bins, ascending positive thresholds.
    pub fn resolve(self) -> Result<ScoreOptions> {
        let bins = self.bins.unwrap_or(DEFAULT_BINS);
        if !(2..=9).contains(&bins) {
            return Err(Error::Config(format!("bins: expected 2..=9, found {bins}")));
        }
        let lapse_thresholds = self.lapse_thresholds.unwrap_or_else(|| DEFAULT_LAPSE_THRESHOLDS.to_vec());
        check_thresholds(&lapse_thresholds)?;
        Ok(ScoreOptions {
            bins,
            scoring: self.scoring.unwrap_or(ScoringMethod::Rank),
            lapse_thresholds,
        })
    }
}

/// Lapse thresholds must be positive and strictly ascending.
fn check_thresholds(t: &[u32]) -> Result<()> {
    let ok = !t.is_empty() && t[0] > 0 && t.windows(2).all(|w| w[0] < w[1]);
    if ok {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "lapse_thresholds: expected positive, strictly ascending days such as 30,60,90,120, found {t:?}"
        )))
    }
}
