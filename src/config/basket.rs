//! The pair table's thresholds and limits (`run`, `basket`).

use crate::error::{Error, Result};

use super::options;

options! {
    /// Thresholds and limits of the pair table: the flags, the config file's keys, and (checked by
    /// [`BasketOptions::resolve`], no defaults to fill: an unset threshold means "not given") the
    /// resolved options the basket family reads.
    pub struct BasketOptions {
        /// Keep pairs bought together in at least N purchase orders [default: 2].
        #[arg(long, env = "EVERGREEN_MIN_PAIR_ORDERS", value_parser = clap::value_parser!(u64).range(1..))]
        pub min_pair_orders: Option<u64>,
        /// Keep pairs with support >= F (fraction of purchase orders, 0 < F <= 1); with
        /// --min-pair-orders too, the larger count wins.
        #[arg(long, env = "EVERGREEN_MIN_SUPPORT", value_parser = support_parser)]
        pub min_support: Option<f64>,
        /// Keep only each item's K strongest partners (by pair_orders, then lift).
        #[arg(long, env = "EVERGREEN_TOP_PER_ITEM", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
        pub top_per_item: Option<usize>,
        /// The basket limit, which `patterns` takes too.
        #[command(flatten)]
        #[serde(flatten)]
        pub limits: BasketLimits,
    }
}

options! {
    /// The basket limit every basket-reading job takes (`run`, `basket`, `patterns`).
    pub struct BasketLimits {
        /// Skip orders with more than N distinct items when pairing (counted in the manifest) [default: no limit].
        #[arg(long, env = "EVERGREEN_MAX_BASKET_ITEMS", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(2..))]
        pub max_basket_items: Option<usize>,
    }
}

impl BasketOptions {
    /// The options after their checks (a positive count, a support fraction in (0, 1], limits >= 1).
    pub fn resolve(self) -> Result<BasketOptions> {
        check_basket(&self)?;
        Ok(self)
    }

    /// The count threshold: the larger of `min_pair_orders` and `ceil(min_support * total)`;
    /// 2 when neither is given. Never below 1.
    pub fn threshold(&self, total_orders: u64) -> u64 {
        let by_support = self.min_support.map(|s| (s * total_orders as f64 - 1e-9).ceil().max(0.0) as u64);
        let t = match (self.min_pair_orders, by_support) {
            (None, None) => 2,
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (Some(a), Some(b)) => a.max(b),
        };
        t.max(1)
    }
}

/// Basket thresholds must make sense: a positive count, a support fraction in (0, 1], limits >= 1.
fn check_basket(b: &BasketOptions) -> Result<()> {
    if b.min_pair_orders == Some(0) {
        return Err(Error::Config("min_pair_orders: expected a count >= 1, found 0".into()));
    }
    if let Some(s) = b.min_support {
        if !(s > 0.0 && s <= 1.0) {
            return Err(Error::Config(format!("min_support: expected a fraction in (0, 1], found {s}")));
        }
    }
    if b.top_per_item == Some(0) {
        return Err(Error::Config("top_per_item: expected a count >= 1, found 0".into()));
    }
    if matches!(b.limits.max_basket_items, Some(m) if m < 2) {
        return Err(Error::Config("max_basket_items: expected at least 2 (a pair needs two items)".into()));
    }
    Ok(())
}

fn support_parser(s: &str) -> std::result::Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 1.0 => Ok(v),
        _ => Err(format!("expected a fraction 0 < F <= 1, found `{s}`")),
    }
}
