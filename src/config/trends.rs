//! Trend columns, cohorts, kpis and tiers (issue 14): the options of `run`'s trend family.

use serde::{Deserialize, Serialize};

use super::options;
use crate::error::{Error, Result};

/// Cohort periods (`--cohort-period`): a cohort is the period of a customer's first purchase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum CohortPeriod {
    /// Calendar months (a period starts on the 1st).
    Month,
    /// ISO weeks (a period starts on a Monday).
    Week,
}

/// One loyalty tier: a customer meets it when every threshold given is met (`monetary >= m`,
/// `frequency >= f`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    #[serde(skip_deserializing)]
    pub name: String,
    pub monetary: Option<f64>,
    pub frequency: Option<u32>,
}

/// The tiers in the order written (the first one a customer meets is theirs).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tiers(pub Vec<Tier>);

impl Serialize for Tiers {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = ser.serialize_seq(Some(self.0.len()))?;
        for t in &self.0 {
            seq.serialize_element(t)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Tiers {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> std::result::Result<Tiers, D::Error> {
        struct InOrder;
        impl<'de> serde::de::Visitor<'de> for InOrder {
            type Value = Tiers;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("tiers such as `gold = {monetary = 1000, frequency = 5}`")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> std::result::Result<Tiers, A::Error> {
                let mut tiers = Vec::new();
                while let Some((name, tier)) = map.next_entry::<String, Tier>()? {
                    tiers.push(Tier { name, ..tier });
                }
                Ok(Tiers(tiers))
            }
        }
        de.deserialize_map(InOrder)
    }
}

impl Tier {
    /// `--tier NAME:monetary=1000,frequency=5`.
    pub fn parse(text: &str) -> Result<Tier> {
        let bad = |why: &str| {
            Error::Config(format!(
                "--tier {text}: {why}; expected NAME:monetary=1000,frequency=5 (either threshold may be left out)"
            ))
        };
        let (name, rest) = text.split_once(':').ok_or_else(|| bad("no `:` after the tier's name"))?;
        let mut tier = Tier { name: name.trim().to_string(), monetary: None, frequency: None };
        for part in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').ok_or_else(|| bad(&format!("`{part}` is not key=value")))?;
            match k.trim() {
                "monetary" => {
                    tier.monetary = Some(v.trim().parse().map_err(|_| bad(&format!("monetary `{v}` is not a number")))?)
                }
                "frequency" => {
                    tier.frequency =
                        Some(v.trim().parse().map_err(|_| bad(&format!("frequency `{v}` is not a whole number")))?)
                }
                other => return Err(bad(&format!("unknown threshold `{other}`"))),
            }
        }
        Ok(tier)
    }
}

/// Trend columns, cohorts, kpis and tiers (issue 14).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendOptions {
    /// N: the trend compares the last N days with the N days before.
    pub trend_days: u32,
    /// The kpis' window, days.
    pub kpi_window_days: u32,
    pub cohort_period: CohortPeriod,
    /// Loyalty tiers, first match wins (none: no tier column).
    pub tiers: Vec<Tier>,
}

pub const DEFAULT_TREND_DAYS: u32 = 90;
pub const DEFAULT_KPI_WINDOW_DAYS: u32 = 30;

options! {
    /// Trend columns, cohorts, kpis and tiers (`run`): the flags and the config file's keys.
    #[command(next_help_heading = "Trends, cohorts, kpis and tiers (run)")]
    pub struct TrendSettings {
        /// N: customers' recent_* columns cover the orders of the last N days before as-of, prior_*
        /// the N days before those; declining = bought in the prior N days, and in the last N days
        /// fewer purchase orders or at most half the spend [default: 90].
        #[arg(long, env = "EVERGREEN_TREND_DAYS", value_parser = clap::value_parser!(u32).range(1..=3650))]
        pub trend_days: Option<u32>,
        /// kpis: the window_* columns count the orders of the last N days before as-of [default: 30].
        #[arg(long, env = "EVERGREEN_KPI_WINDOW_DAYS", value_parser = clap::value_parser!(u32).range(1..=3650))]
        pub kpi_window_days: Option<u32>,
        /// cohorts: a cohort is the month (from the 1st) or ISO week (from Monday) of a customer's
        /// first purchase [default: month].
        #[arg(long, env = "EVERGREEN_COHORT_PERIOD", value_enum)]
        pub cohort_period: Option<CohortPeriod>,
        /// A loyalty tier, NAME:monetary=1000,frequency=5 (either threshold may be left out);
        /// repeatable, in order: a customer's tier is the first one whose every threshold they meet
        /// (>=). Replaces the config file's tiers table.
        #[arg(long, value_name = "NAME:THRESHOLDS")]
        #[serde(skip)]
        pub tier: Vec<String>,
        /// The config file's loyalty tiers, in the file's order: `[tiers] gold = {monetary = 1000, frequency = 5}`.
        #[arg(skip)]
        pub tiers: Option<Tiers>,
    }
}

impl TrendSettings {
    /// The trend settings after defaults and checks (`--tier` flags replace the file's tiers).
    pub fn resolve(self) -> Result<TrendOptions> {
        let trend_days = self.trend_days.unwrap_or(DEFAULT_TREND_DAYS);
        if !(1..=3650).contains(&trend_days) {
            return Err(Error::Config(format!("trend_days: expected 1..=3650 days, found {trend_days}")));
        }
        let kpi_window_days = self.kpi_window_days.unwrap_or(DEFAULT_KPI_WINDOW_DAYS);
        if !(1..=3650).contains(&kpi_window_days) {
            return Err(Error::Config(format!("kpi_window_days: expected 1..=3650 days, found {kpi_window_days}")));
        }
        let tiers = if self.tier.is_empty() {
            self.tiers.map(|t| t.0).unwrap_or_default()
        } else {
            self.tier.iter().map(|t| Tier::parse(t)).collect::<Result<Vec<_>>>()?
        };
        let mut names = std::collections::BTreeSet::new();
        for t in &tiers {
            if t.name.trim().is_empty() {
                return Err(Error::Config("tiers: a tier without a name".into()));
            }
            if !names.insert(t.name.as_str()) {
                return Err(Error::Config(format!("tiers: `{}` is given twice", t.name)));
            }
            if t.monetary.is_none() && t.frequency.is_none() {
                return Err(Error::Config(format!(
                    "tiers: `{}` has no threshold (give monetary, frequency or both)",
                    t.name
                )));
            }
            if t.monetary.is_some_and(|m| !m.is_finite()) {
                return Err(Error::Config(format!("tiers: `{}`: monetary must be a finite number", t.name)));
            }
        }
        Ok(TrendOptions {
            trend_days,
            kpi_window_days,
            cohort_period: self.cohort_period.unwrap_or(CohortPeriod::Month),
            tiers,
        })
    }
}
