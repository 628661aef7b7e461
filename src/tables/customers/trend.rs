//! Trend columns, loyalty tiers and profit groups of the `customers` table (issue 14).
//!
//! Trend (N = `--trend-days`): an order's "days ago" is as-of minus the UTC date of its timestamp
//! (bought the day before as-of: 1). `recent_*` covers days ago 1..=N, `prior_*` N+1..=2N;
//! `*_orders` counts purchase orders, `*_spend` sums the customer's lines' amounts of every kept
//! order (returns included, as monetary), exact then rounded.

use chrono::NaiveDate;
use polars::prelude::*;

use crate::config::Tier;
use crate::exprs::{epoch_days, round_money_value};
use crate::facts::CustomerFacts;
use crate::kernels::money::{self, Exact};

/// The trend columns' names, in table order.
pub const COLUMNS: [&str; 7] =
    ["recent_orders", "recent_spend", "prior_orders", "prior_spend", "orders_change_pct", "spend_change_pct", "declining"];

/// recent_orders, recent_spend, prior_orders, prior_spend of every customer (the facts' rows), from
/// their days of activity; `None` without activity facts.
pub fn window_sums(f: &CustomerFacts, as_of: NaiveDate, n: u32, money_decimals: u32) -> Option<Vec<Column>> {
    let a = f.activity.as_ref()?;
    let today = epoch_days(as_of);
    let n = i64::from(n);
    let rows = f.len();
    let (mut ro, mut po) = (vec![0i64; rows], vec![0i64; rows]);
    let (mut rs, mut ps) = (vec![0.0f64; rows], vec![0.0f64; rows]);
    for i in 0..rows {
        let (mut recent, mut prior): (Exact, Exact) = (0, 0);
        for k in a.of(i) {
            let ago = today - i64::from(a.day[k]);
            if (1..=n).contains(&ago) {
                ro[i] += i64::from(a.purchase_orders[k]);
                recent = recent.wrapping_add(a.amount[k]);
            } else if (n + 1..=2 * n).contains(&ago) {
                po[i] += i64::from(a.purchase_orders[k]);
                prior = prior.wrapping_add(a.amount[k]);
            }
        }
        rs[i] = round_money_value(money::to_f64(recent), money_decimals) + 0.0;
        ps[i] = round_money_value(money::to_f64(prior), money_decimals) + 0.0;
    }
    Some(vec![
        Column::new("recent_orders".into(), ro),
        Column::new("recent_spend".into(), rs),
        Column::new("prior_orders".into(), po),
        Column::new("prior_spend".into(), ps),
    ])
}

/// `100 * (recent - prior) / prior`, null when prior <= 0.
fn change_pct(recent: Expr, prior: Expr) -> Expr {
    let (recent, prior) = (recent.cast(DataType::Float64), prior.cast(DataType::Float64));
    when(prior.clone().gt(lit(0.0)))
        .then(lit(100.0) * (recent - prior.clone()) / prior)
        .otherwise(lit(NULL).cast(DataType::Float64))
}

/// Rule "declining": bought in the prior window, and in the recent one placed fewer purchase
/// orders or spent at most half as much (`2 x recent_spend <= prior_spend`). Never null.
pub fn declining() -> Expr {
    col("prior_orders").gt(lit(0i64)).and(
        col("recent_orders")
            .lt(col("prior_orders"))
            .or((lit(2.0) * col("recent_spend")).lt_eq(col("prior_spend"))),
    )
}

/// orders_change_pct, spend_change_pct and declining from the window sums.
pub fn derived() -> [Expr; 3] {
    [
        change_pct(col("recent_orders"), col("prior_orders")).alias("orders_change_pct"),
        change_pct(col("recent_spend"), col("prior_spend")).alias("spend_change_pct"),
        declining().alias("declining"),
    ]
}

/// Rule "tier": the first tier (in the order given) whose every threshold the customer meets
/// (`monetary >= m`, `frequency >= f`); null when none.
pub fn tier(tiers: &[Tier]) -> Expr {
    tiers.iter().rev().fold(lit(NULL).cast(DataType::String), |otherwise, t| {
        let mut meets = lit(true);
        if let Some(m) = t.monetary {
            meets = meets.and(col("monetary").gt_eq(lit(m)));
        }
        if let Some(f) = t.frequency {
            meets = meets.and(col("frequency").gt_eq(lit(i64::from(f))));
        }
        when(meets).then(lit(t.name.clone())).otherwise(otherwise)
    })
}

/// Rule "profit decile" and "profit group". Customers ordered by profit descending, then
/// customer_id: `profit_decile = 1 + floor(10 p / N)`; with cum_before the profit of the customers
/// before (exact minor units) and total all of it: `top` when profit > 0 and cum_before < 10 % of
/// total, `next` when profit > 0 and cum_before < 50 %, else `declining` when profit > 0 and the
/// customer is declining (with the trend columns), else null.
pub fn add_profit_ranks(customers: LazyFrame, money_decimals: u32, has_trend: bool) -> LazyFrame {
    let profitable = col("profit").gt(lit(0.0));
    super::deciles::ranked_by(customers, "profit", "profit_decile", money_decimals)
        .with_column(
            when(profitable.clone().and((col("_cum_before") * lit(10i64)).lt(col("_total"))))
                .then(lit("top"))
                .when(profitable.clone().and((col("_cum_before") * lit(2i64)).lt(col("_total"))))
                .then(lit("next"))
                .when(profitable.and(if has_trend { col("declining") } else { lit(false) }))
                .then(lit("declining"))
                .otherwise(lit(NULL).cast(DataType::String))
                .alias("profit_group"),
        )
        .drop(cols(super::deciles::RANK_TEMPORARIES))
}
