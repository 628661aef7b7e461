//! The `customers` table (SPEC "Table customers"): recency, frequency, monetary and the columns
//! derived from them, per customer with at least one purchase order.

use chrono::NaiveDate;
use polars::prelude::*;

use crate::basket;
use crate::codes::NONE;
use crate::error::Result;
use crate::exprs::{days_until, fractional_days, round_money};
use crate::orders::Cleaned;
use crate::input::col_names as c;
use crate::orders::order_cols as o;

/// Per-customer recency, frequency, monetary (and profit with a cost column) from the order frame.
///
/// frequency = purchase orders; monetary = the customer's line amounts over all kept orders
/// (returns included), rounded; first/last purchase = earliest/latest purchase order timestamp.
pub fn rfm(orders: LazyFrame, as_of: NaiveDate, money_decimals: u32, has_cost: bool) -> LazyFrame {
    let purchase = col(o::IS_PURCHASE);
    let mut aggs = vec![
        purchase.clone().cast(DataType::Int64).sum().alias("frequency"),
        col(o::CUSTOMER_AMOUNT).sum().alias("_monetary_raw"),
        col("_purchase_at").min().alias("first_purchase_at"),
        col("_purchase_at").max().alias("last_purchase_at"),
    ];
    if has_cost {
        aggs.push(round_money(col(o::CUSTOMER_PROFIT).sum(), money_decimals).alias("profit"));
    }
    let freq = col("frequency");
    let mut lf = orders
        .filter(col(c::CUSTOMER).is_not_null())
        .with_column(when(purchase.clone()).then(col(o::ORDERED_AT)).otherwise(lit(NULL)).alias("_purchase_at"))
        .group_by([col(c::CUSTOMER)])
        .agg(aggs)
        .filter(freq.clone().gt(lit(0i64)))
        .with_columns([
            round_money(col("_monetary_raw"), money_decimals).alias("monetary"),
            days_until(as_of, col("last_purchase_at")).alias("recency_days"),
            days_until(as_of, col("first_purchase_at")).alias("tenure_days"),
            when(freq.clone().gt(lit(1i64)))
                .then(
                    fractional_days(col("last_purchase_at"), col("first_purchase_at"))
                        / (freq.clone() - lit(1i64)).cast(DataType::Float64),
                )
                .otherwise(lit(NULL).cast(DataType::Float64))
                .alias("avg_days_between_orders"),
        ])
        .with_column((col("monetary") / freq.cast(DataType::Float64)).alias("avg_order_value"));
    if !has_cost {
        lf = lf.with_column(lit(NULL).cast(DataType::Float64).alias("profit"));
    }
    lf
}

/// Lapse bucket labels for ascending thresholds: `0-30`, `31-60`, …, `121+`.
pub fn lapse_labels(thresholds: &[u32]) -> Vec<String> {
    let mut labels = Vec::with_capacity(thresholds.len() + 1);
    let mut lo = 0;
    for &t in thresholds {
        labels.push(format!("{lo}-{t}"));
        lo = t + 1;
    }
    labels.push(format!("{lo}+"));
    labels
}

/// The lapse bucket of a recency in days: the first threshold it does not exceed.
pub fn lapse_bucket(recency_days: Expr, thresholds: &[u32]) -> Expr {
    let labels = lapse_labels(thresholds);
    let last = lit(labels[thresholds.len()].clone());
    thresholds.iter().zip(&labels).rev().fold(last, |otherwise, (t, label)| {
        when(recency_days.clone().lt_eq(lit(*t as i64))).then(lit(label.clone())).otherwise(otherwise)
    })
}

/// Favourite product per customer: the product on the positive lines of most of the customer's
/// purchase orders; ties go to the smallest product id. Returns `customer_id, favourite_product`.
pub fn favourite_products(cleaned: &Cleaned, b: &basket::Baskets, per_customer: &basket::CustomerItems) -> Result<DataFrame> {
    let best = &per_customer.favourite;
    let who: Vec<usize> = (0..best.len()).filter(|&cu| best[cu] != NONE).collect();
    let customer_rows: Vec<IdxSize> = who.iter().map(|&cu| cleaned.index.line_customer.first_row[cu]).collect();
    let items: Vec<IdxSize> = who.iter().map(|&cu| best[cu] as IdxSize).collect();
    Ok(DataFrame::new_infer_height(vec![
        cleaned.lines.column(c::CUSTOMER)?.take_slice(&customer_rows)?,
        b.keys.take_slice(&items)?.with_name("favourite_product".into()),
    ])?)
}

/// Column order of the `customers` table (profit only with a cost column).
pub fn columns(has_cost: bool) -> Vec<&'static str> {
    let mut v = vec![
        "customer_id",
        "first_purchase_at",
        "last_purchase_at",
        "recency_days",
        "tenure_days",
        "frequency",
        "monetary",
        "avg_order_value",
        "r_score",
        "f_score",
        "m_score",
        "rfm_cell",
        "segment",
        "lapse_bucket",
        "monetary_decile",
        "purchase_decile",
        "favourite_product",
        "avg_days_between_orders",
    ];
    if has_cost {
        v.push("profit");
    }
    v
}
