//! The CLV models' options (issue 12): `run --clv` and `evergreen clv`.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::options;
use crate::error::{Error, Result};

/// The time unit the CLV models are fitted in (the parameter α is per unit; the tables' columns
/// stay in days).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ClvUnit {
    Days,
    Weeks,
}

impl ClvUnit {
    /// Days in one unit.
    pub fn days(self) -> f64 {
        match self {
            ClvUnit::Days => 1.0,
            ClvUnit::Weeks => 7.0,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ClvUnit::Days => "days",
            ClvUnit::Weeks => "weeks",
        }
    }
}

/// Which purchase model the `clv` table's predictions come from (`--clv-model`): every model is
/// fitted and reported in `clv_params`; `auto` picks by holdout error with `--holdout-from`, by BIC
/// otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ClvModel {
    Auto,
    Bgnbd,
    Mbgnbd,
    ParetoNbd,
}

/// Where the models' customer age T ends (`--clv-age-to`): at as-of D, the exclusive end of the
/// data (the default: a customer who first bought on D − 1 has been watched for one day), or at
/// the last day of the data, D − 1, as Fader, Hardie & Lee's CDNOW summary and lifetimes'
/// `observation_period_end = D − 1` count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ClvAgeTo {
    AsOf,
    LastDay,
}

/// The CLV family's settings (`--clv`, `--horizon-days`, `--discount-rate`, `--clv-unit`,
/// `--holdout-from`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClvOptions {
    /// `run` also writes the CLV tables and the customers' lifecycle columns.
    pub enabled: bool,
    /// Days ahead that expected purchases and CLV look.
    pub horizon_days: u32,
    /// Annual discount rate of the CLV (0.1 = 10 % a year).
    pub discount_rate: f64,
    pub unit: ClvUnit,
    /// Fit a second model on the lines before this date and compare its predictions with what the
    /// customers bought from it to as_of (`clv_holdout`).
    pub holdout_from: Option<NaiveDate>,
    /// The purchase model the predictions come from.
    pub model: ClvModel,
    /// Days of each `p_purchase_<t>` column, ascending, distinct; 90 always among them.
    pub purchase_windows: Vec<u32>,
    pub age_to: ClvAgeTo,
    /// The level of the parameters' intervals in clv_params (and of the customers' bounds).
    pub interval: f64,
    /// `--interval` was given: the clv table gets each customer's bounds.
    pub customer_intervals: bool,
    pub interval_draws: u32,
    pub seed: u64,
    /// Months of clv_periods (written only when given) and of clv_new_customers (12 when not).
    pub clv_months: Option<u32>,
}

/// clv_new_customers' months without `--clv-months`: a year.
pub const DEFAULT_CLV_MONTHS: u32 = 12;

/// The default level of the intervals: 90 %.
pub const DEFAULT_INTERVAL: f64 = 0.9;
/// The default number of parameter draws of the per-customer intervals.
pub const DEFAULT_INTERVAL_DRAWS: u32 = 200;

pub const DEFAULT_PURCHASE_WINDOWS: [u32; 2] = [30, 90];
/// The window of the `p_purchase_90` column that lifecycle_stage and the win-back list read: always
/// among the windows.
pub const LIFECYCLE_PURCHASE_WINDOW: u32 = 90;

pub const DEFAULT_HORIZON_DAYS: u32 = 90;
pub const DEFAULT_DISCOUNT_RATE: f64 = 0.10;

options! {
    /// The CLV models' flags (`run --clv` and `evergreen clv`) and config keys.
    #[command(next_help_heading = "CLV models (run --clv and evergreen clv)")]
    pub struct ClvSettings {
        /// run: also fit the CLV models (BG/NBD, MBG/NBD, Pareto/NBD, Gamma-Gamma) and write clv,
        /// clv_params and clv_new_customers (clv_holdout with --holdout-from, clv_periods with
        /// --clv-months);
        /// customers gains p_alive, p_purchase_90, clv and lifecycle_stage, lapsed_customers the same.
        /// `evergreen clv` writes the CLV tables alone.
        #[arg(long, env = "EVERGREEN_CLV", num_args = 0, default_missing_value = "true",
              value_parser = clap::builder::BoolishValueParser::new())]
        pub clv: Option<bool>,
        /// Days ahead that expected_purchases and clv look, 1..=3650 [default: 90].
        #[arg(long, env = "EVERGREEN_HORIZON_DAYS", value_name = "DAYS")]
        pub horizon_days: Option<u32>,
        /// Annual discount rate of the CLV, e.g. 0.1 for 10 % a year: each 30-day step's expected
        /// purchases are divided by (1 + rate)^(days to the step's end / 365) [default: 0.1].
        #[arg(long, env = "EVERGREEN_DISCOUNT_RATE", value_name = "RATE")]
        pub discount_rate: Option<f64>,
        /// Time unit the models are fitted in (alpha is per unit; tables stay in days) [default: days].
        #[arg(long, env = "EVERGREEN_CLV_UNIT", value_enum)]
        pub clv_unit: Option<ClvUnit>,
        /// Also fit the models on the lines before this date and compare their predictions with the
        /// purchases from it to as-of: writes clv_holdout and the errors into clv_params.
        #[arg(long, env = "EVERGREEN_HOLDOUT_FROM", value_name = "YYYY-MM-DD", value_parser = super::as_of_parser)]
        #[serde(default, deserialize_with = "super::date_or_string")]
        pub holdout_from: Option<String>,
        /// The purchase model of the clv table: bgnbd, mbgnbd, pareto-nbd, or auto (the best by
        /// holdout error with --holdout-from, by BIC otherwise); all are fitted into clv_params
        /// [default: auto].
        #[arg(long, env = "EVERGREEN_CLV_MODEL", value_enum)]
        pub clv_model: Option<ClvModel>,
        /// Days of each p_purchase_<DAYS> column: P(at least one purchase in the next DAYS days),
        /// 1..=3650 each; p_purchase_90 is always written (lifecycle_stage reads it) [default: 30,90].
        #[arg(long, env = "EVERGREEN_PURCHASE_WINDOWS", value_delimiter = ',', value_name = "DAYS,...")]
        pub purchase_windows: Option<Vec<u32>>,
        /// Where the models' customer age T ends: as-of (the exclusive end of the data) or last-day
        /// (the day before, as the BTYD papers' CDNOW summary and lifetimes'
        /// observation_period_end count it) [default: as-of].
        #[arg(long, env = "EVERGREEN_CLV_AGE_TO", value_enum)]
        pub clv_age_to: Option<ClvAgeTo>,
        /// Write clv_periods: each customer's expected purchases and value in each of the next MONTHS
        /// months of 30 days (MONTHS rows a customer), 1..=120; also clv_new_customers' months
        /// [default: no clv_periods; clv_new_customers has 12 months].
        #[arg(long, env = "EVERGREEN_CLV_MONTHS", value_name = "MONTHS")]
        pub clv_months: Option<u32>,
        /// Level of the intervals, between 0 and 1 such as 0.9 for 90 %: every parameter's in
        /// clv_params (ci_lower, ci_upper; 0.9 when not given) and, when given, each customer's
        /// bounds in clv (p_alive, expected_purchases, p_purchase_*, clv) and the totals', from
        /// draws of the parameters.
        #[arg(long, env = "EVERGREEN_INTERVAL", value_name = "LEVEL")]
        pub interval: Option<f64>,
        /// Parameter draws of the per-customer intervals, 20..=100000 [default: 200].
        #[arg(long, env = "EVERGREEN_INTERVAL_DRAWS", value_name = "N")]
        pub interval_draws: Option<u32>,
        /// Seed of the intervals' parameter draws: the same seed, data and settings give the same
        /// bounds [default: 0].
        #[arg(long, env = "EVERGREEN_SEED", value_name = "SEED")]
        pub seed: Option<u64>,
    }
}

impl ClvSettings {
    /// The CLV settings after defaults and checks: a horizon of 1..=3650 days, a discount rate in
    /// [0, 10), a holdout date before `--as-of` when both are given.
    pub fn resolve(self, as_of: Option<NaiveDate>) -> Result<ClvOptions> {
        let horizon_days = self.horizon_days.unwrap_or(DEFAULT_HORIZON_DAYS);
        if !(1..=3650).contains(&horizon_days) {
            return Err(Error::Config(format!("horizon_days: expected 1..=3650 days, found {horizon_days}")));
        }
        let discount_rate = self.discount_rate.unwrap_or(DEFAULT_DISCOUNT_RATE);
        if !(discount_rate.is_finite() && (0.0..10.0).contains(&discount_rate)) {
            return Err(Error::Config(format!(
                "discount_rate: expected an annual rate in [0, 10) such as 0.1 for 10 %, found {discount_rate}"
            )));
        }
        let holdout_from = self
            .holdout_from
            .as_deref()
            .map(|s| {
                NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                    .map_err(|_| Error::Config(format!("holdout_from: expected a date YYYY-MM-DD, found `{s}`")))
            })
            .transpose()?;
        if let (Some(h), Some(d)) = (holdout_from, as_of) {
            if h >= d {
                return Err(Error::Config(format!(
                    "holdout_from: {h} is not before as_of {d}; the holdout period is [holdout_from, as_of)"
                )));
            }
        }
        let clv_months = self.clv_months;
        if let Some(m) = clv_months.filter(|m| !(1..=120).contains(m)) {
            return Err(Error::Config(format!("clv_months: expected 1..=120 months, found {m}")));
        }
        let interval_draws = self.interval_draws.unwrap_or(DEFAULT_INTERVAL_DRAWS);
        if !(20..=100_000).contains(&interval_draws) {
            return Err(Error::Config(format!("interval_draws: expected 20..=100000 draws, found {interval_draws}")));
        }
        let interval = self.interval.unwrap_or(DEFAULT_INTERVAL);
        if !(interval > 0.0 && interval < 1.0) {
            return Err(Error::Config(format!("interval: expected a level between 0 and 1 such as 0.9, found {interval}")));
        }
        let mut purchase_windows = self.purchase_windows.unwrap_or_else(|| DEFAULT_PURCHASE_WINDOWS.to_vec());
        if purchase_windows.is_empty() || purchase_windows.iter().any(|w| !(1..=3650).contains(w)) {
            return Err(Error::Config(format!(
                "purchase_windows: expected days in 1..=3650 such as 30,90, found {purchase_windows:?}"
            )));
        }
        // p_purchase_90 is always written: lifecycle_stage and the win-back list read it.
        purchase_windows.push(LIFECYCLE_PURCHASE_WINDOW);
        purchase_windows.sort_unstable();
        purchase_windows.dedup();
        Ok(ClvOptions {
            enabled: self.clv.unwrap_or(false),
            horizon_days,
            discount_rate,
            unit: self.clv_unit.unwrap_or(ClvUnit::Days),
            holdout_from,
            model: self.clv_model.unwrap_or(ClvModel::Auto),
            purchase_windows,
            age_to: self.clv_age_to.unwrap_or(ClvAgeTo::AsOf),
            interval,
            customer_intervals: self.interval.is_some(),
            interval_draws,
            seed: self.seed.unwrap_or(0),
            clv_months,
        })
    }
}
