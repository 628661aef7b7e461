//! Decile analyses (SPEC "monetary_deciles" and "purchase_deciles").
//!
//! Both order customers by monetary descending, then customer_id ascending.
//! Monetary decile: position p = 0..N-1, `decile = 1 + floor(10 * p / N)` (equal customer counts).
//! Purchase decile: the tenth of total revenue in which a customer's spend begins,
//! `clamp(1 + floor(10 * cum_before / total), 1, 10)`, computed in exact integer minor units
//! (cents for 2 decimals) so no boundary depends on floating-point addition.

use polars::prelude::*;

use crate::exprs::{count_rows, round_money, slice_of};
use crate::facts::col_names as c;

/// Customers sorted by the money column `key` descending, then customer_id ascending, with
/// `decile` = `1 + floor(10 p / N)` for position p, and the key's exact minor units (cents for 2
/// decimals) of the customers strictly before each one (`_cum_before`) and of all (`_total`),
/// which the caller reads and then drops with [`RANK_TEMPORARIES`].
pub fn ranked_by(customers: LazyFrame, key: &str, decile: &str, money_decimals: u32) -> LazyFrame {
    let scale = 10f64.powi(money_decimals as i32);
    let minor = (col(key) * lit(scale)).round(0, RoundMode::HalfAwayFromZero).cast(DataType::Int64);
    customers
        .sort_by_exprs([col(key), col(c::CUSTOMER)], SortMultipleOptions::default().with_order_descending_multi([true, false]))
        .with_columns([
            slice_of(int_range(lit(0i64), count_rows(), 1, DataType::Int64), count_rows(), 10)
                .cast(DataType::Int32)
                .alias(decile),
            minor.alias("_minor"),
        ])
        .with_columns([
            (col("_minor").cum_sum(false) - col("_minor")).alias("_cum_before"),
            col("_minor").sum().alias("_total"),
        ])
}

/// The working columns [`ranked_by`] adds.
pub const RANK_TEMPORARIES: [&str; 3] = ["_minor", "_cum_before", "_total"];

/// Sort customers by monetary descending, then customer_id ascending (the order both analyses
/// use, and the row order of the `customers` table), and add `monetary_decile` and `purchase_decile`.
pub fn add_deciles(customers: LazyFrame, money_decimals: u32) -> LazyFrame {
    ranked_by(customers, "monetary", "monetary_decile", money_decimals)
        .with_column(
            when(col("_total").gt(lit(0i64)))
                .then(slice_of(col("_cum_before"), col("_total"), 10).clip(lit(1i64), lit(10i64)))
                .otherwise(lit(1i64))
                .cast(DataType::Int32)
                .alias("purchase_decile"),
        )
        .drop(cols(RANK_TEMPORARIES))
}

/// Share of a money column in its total (0 when the total is 0). The total is a money sum, so it
/// is rounded: the share then never depends on how the sum was split across threads.
fn share(e: Expr, money_decimals: u32) -> Expr {
    let total = round_money(e.clone().sum(), money_decimals);
    share_of_total(e, total)
}

/// `part / total`, and 0 when the total is 0 (refunds cancelling all revenue): a share is never NaN.
fn share_of_total(part: Expr, total: Expr) -> Expr {
    when(total.clone().neq(lit(0.0))).then(part / total).otherwise(lit(0.0))
}

/// `monetary_deciles`: per monetary decile its customers, revenue, orders, monetary range and shares.
pub fn monetary_deciles(customers: LazyFrame, money_decimals: u32, has_cost: bool) -> LazyFrame {
    let mut aggs = vec![
        count_rows().alias("customers"),
        round_money(col("monetary").sum(), money_decimals).alias("revenue"),
        col("frequency").sum().alias("orders"),
        col("monetary").min().alias("min_monetary"),
        col("monetary").max().alias("max_monetary"),
    ];
    if has_cost {
        aggs.push(round_money(col("profit").sum(), money_decimals).alias("profit"));
    }
    let mut lf = customers
        .group_by([col("monetary_decile").alias("decile")])
        .agg(aggs)
        .sort(["decile"], SortMultipleOptions::default())
        .with_columns([
            share(col("revenue"), money_decimals).alias("revenue_share"),
            share_of_total(
                round_money(col("revenue").cum_sum(false), money_decimals),
                round_money(col("revenue").sum(), money_decimals),
            )
            .alias("cumulative_revenue_share"),
        ]);
    if has_cost {
        lf = lf.with_column(share(col("profit"), money_decimals).alias("profit_share"));
    }
    lf
}

/// `purchase_deciles`: per tenth of revenue, how many customers make it and their spend range.
pub fn purchase_deciles(customers: LazyFrame, money_decimals: u32) -> LazyFrame {
    customers
        .group_by([col("purchase_decile").alias("decile")])
        .agg([
            count_rows().alias("customers"),
            round_money(col("monetary").sum(), money_decimals).alias("revenue"),
            col("monetary").min().alias("min_monetary"),
            col("monetary").max().alias("max_monetary"),
        ])
        .sort(["decile"], SortMultipleOptions::default())
        .with_columns([
            (col("customers").cast(DataType::Float64) / col("customers").sum().cast(DataType::Float64))
                .alias("customer_share"),
            share(col("revenue"), money_decimals).alias("revenue_share"),
        ])
        .select([
            col("decile"),
            col("customers"),
            col("customer_share"),
            col("revenue"),
            col("revenue_share"),
            col("min_monetary"),
            col("max_monetary"),
        ])
}

/// `profit_deciles` (with a cost column): per profit decile (customers by profit descending, then
/// customer_id; equal customer counts) its customers, profit, revenue, profit range and shares.
pub fn profit_deciles(customers: LazyFrame, money_decimals: u32) -> LazyFrame {
    customers
        .group_by([col("profit_decile").alias("decile")])
        .agg([
            count_rows().alias("customers"),
            round_money(col("profit").sum(), money_decimals).alias("profit"),
            round_money(col("monetary").sum(), money_decimals).alias("revenue"),
            col("profit").min().alias("min_profit"),
            col("profit").max().alias("max_profit"),
        ])
        .sort(["decile"], SortMultipleOptions::default())
        .with_columns([
            share(col("profit"), money_decimals).alias("profit_share"),
            share_of_total(
                round_money(col("profit").cum_sum(false), money_decimals),
                round_money(col("profit").sum(), money_decimals),
            )
            .alias("cumulative_profit_share"),
        ])
}
