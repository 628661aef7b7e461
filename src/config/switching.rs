//! The switching family (issue 34): the product groups (`--group`, a line role kept with the
//! column roles) and the two periods (`--period-a`, `--period-b`) that gain_loss, cross_shop and
//! revenue_tree compare.

use chrono::NaiveDate;
use serde::Serialize;

use super::options;
use crate::error::{Error, Result};

/// At most this many products in product_hierarchy (the kernel holds a customer's purchases of
/// them as one 128-bit mask).
pub const MAX_HIERARCHY_PRODUCTS: usize = 128;

/// At most this many groups: cross_shop's Venn diagram has 2 or 3 circles.
pub const MAX_GROUPS: usize = 3;

/// One product group: its name and the SQL predicate over the dump's own columns that puts a line
/// into it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineGroup {
    pub name: String,
    pub predicate: String,
}

/// A period of whole UTC days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// `FROM..TO`, two dates `YYYY-MM-DD`, FROM not after TO.
    fn parse(flag: &str, text: &str) -> Result<Period> {
        let bad = |why: &str| Error::Config(format!("{flag}: {why}; expected FROM..TO such as 2024-01-01..2024-06-30, found `{text}`"));
        let (a, b) = text.split_once("..").ok_or_else(|| bad("no `..` between the two dates"))?;
        let day = |s: &str| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| bad(&format!("`{}` is not a date", s.trim())));
        let (from, to) = (day(a)?, day(b)?);
        if from > to {
            return Err(bad("the first date is after the second"));
        }
        Ok(Period { from, to })
    }

    /// Whether the UTC day `day` (days since 1970-01-01) lies in the period.
    pub fn holds(&self, day: i64) -> bool {
        (self.first_day()..=self.last_day()).contains(&day)
    }

    /// The first day, in days since 1970-01-01.
    pub fn first_day(&self) -> i64 {
        days_since_epoch(self.from)
    }

    /// The last day, in days since 1970-01-01.
    pub fn last_day(&self) -> i64 {
        days_since_epoch(self.to)
    }
}

fn days_since_epoch(d: NaiveDate) -> i64 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("the epoch")).num_days()
}

options! {
    /// The two periods the switching tables compare: the flags and the config file's keys.
    #[command(next_help_heading = "Switching: gain_loss, cross_shop, revenue_tree (run)")]
    pub struct SwitchingSettings {
        /// A product group: NAME=PREDICATE, the predicate SQL over the dump's own columns as in
        /// --where, e.g. --group "dairy=category = 'Dairy'". Repeatable, up to 3; a line is in the
        /// first group whose predicate is true. One group with the periods: gain_loss; two or three:
        /// cross_shop too.
        #[arg(long = "group", env = "EVERGREEN_GROUP", value_name = "NAME=PREDICATE")]
        #[serde(default)]
        pub group: Vec<String>,
        /// The first period, FROM..TO (dates, both included): an order is in it when its day is.
        /// With --period-b: revenue_tree, and gain_loss with a --group.
        #[arg(long = "period-a", env = "EVERGREEN_PERIOD_A", value_name = "FROM..TO")]
        pub period_a: Option<String>,
        /// The second period, FROM..TO; it must not overlap the first.
        #[arg(long = "period-b", env = "EVERGREEN_PERIOD_B", value_name = "FROM..TO")]
        pub period_b: Option<String>,
        /// Write product_hierarchy: the N basket items in the most purchase orders (2..=128),
        /// clustered by substitution (Yule's Q over the customers who bought them, average linkage).
        #[arg(long = "product-hierarchy", env = "EVERGREEN_PRODUCT_HIERARCHY", value_name = "N")]
        pub product_hierarchy: Option<u32>,
    }
}

/// The periods after checks: both or neither, not overlapping. (The groups are line roles: they
/// go to [`super::Columns::groups`], which a state records.)
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SwitchingOptions {
    pub periods: Option<(Period, Period)>,
    /// `--product-hierarchy N`: the products clustered.
    pub hierarchy_products: Option<usize>,
}

impl SwitchingSettings {
    /// The periods checked; the groups are taken by [`line_groups`] first.
    pub fn resolve(self) -> Result<SwitchingOptions> {
        let a = self.period_a.as_deref().map(|t| Period::parse("period_a", t)).transpose()?;
        let b = self.period_b.as_deref().map(|t| Period::parse("period_b", t)).transpose()?;
        let periods = match (a, b) {
            (None, None) => None,
            (Some(a), Some(b)) => {
                if a.from <= b.to && b.from <= a.to {
                    return Err(Error::Config(format!(
                        "period_a {}..{} and period_b {}..{} overlap: an order must fall in one period at most",
                        a.from, a.to, b.from, b.to
                    )));
                }
                Some((a, b))
            }
            _ => return Err(Error::Config("period_a and period_b: give both periods, or neither".into())),
        };
        let hierarchy_products = match self.product_hierarchy {
            Some(n) if !(2..=MAX_HIERARCHY_PRODUCTS as u32).contains(&n) => {
                return Err(Error::Config(format!("product_hierarchy: expected 2..={MAX_HIERARCHY_PRODUCTS} products, found {n}")))
            }
            n => n.map(|n| n as usize),
        };
        Ok(SwitchingOptions { periods, hierarchy_products })
    }
}

/// `--group NAME=PREDICATE` values: at most [`MAX_GROUPS`], names given once, neither part empty.
pub fn line_groups(given: Vec<String>) -> Result<Vec<LineGroup>> {
    if given.len() > MAX_GROUPS {
        return Err(Error::Config(format!("group: at most {MAX_GROUPS} groups, found {}", given.len())));
    }
    let mut out: Vec<LineGroup> = Vec::with_capacity(given.len());
    for g in given {
        let bad = |why: &str| Error::Config(format!("group `{g}`: {why}; expected NAME=PREDICATE such as \"dairy=category = 'Dairy'\""));
        let (name, predicate) = g.split_once('=').ok_or_else(|| bad("no `=` after the group's name"))?;
        let (name, predicate) = (name.trim(), predicate.trim());
        if name.is_empty() || predicate.is_empty() {
            return Err(bad("the name and the predicate must not be empty"));
        }
        if out.iter().any(|o| o.name == name) {
            return Err(bad("the name is given twice"));
        }
        out.push(LineGroup { name: name.to_string(), predicate: predicate.to_string() });
    }
    Ok(out)
}
