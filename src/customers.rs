//! The `customers` table (SPEC "Table customers"): recency, frequency, monetary and the columns
//! derived from them, per customer with at least one purchase order.

use chrono::NaiveDate;
use polars::prelude::*;

use crate::basket;
use crate::codes::NONE;
use crate::error::Result;
use crate::exprs::{days_until, fractional_days, round_money_value};
use crate::input::col_names as c;
use crate::orders::Cleaned;

/// Per-customer recency, frequency, monetary (and profit with a cost column), one row per
/// customer with at least one purchase order.
///
/// frequency = purchase orders; monetary = the customer's line amounts over all kept orders
/// (returns included), rounded; first/last purchase = earliest/latest purchase order timestamp.
pub fn rfm(cleaned: &Cleaned, as_of: NaiveDate, money_decimals: u32, has_cost: bool) -> Result<LazyFrame> {
    let t = cleaned.index.customer_totals();
    let who: Vec<usize> = (0..t.frequency.len()).filter(|&cu| t.frequency[cu] > 0).collect();
    let rows: Vec<IdxSize> = who.iter().map(|&cu| cleaned.index.line_customer.first_row[cu]).collect();
    let datetime = DataType::Datetime(TimeUnit::Microseconds, None);
    let pick_ts = |v: &[i64], name: &str| -> Result<Column> {
        Ok(Column::new(name.into(), who.iter().map(|&cu| v[cu]).collect::<Vec<i64>>()).cast(&datetime)?)
    };
    let profit: Vec<Option<f64>> =
        who.iter().map(|&cu| has_cost.then(|| round_money_value(t.profit[cu], money_decimals))).collect();
    let base = DataFrame::new_infer_height(vec![
        cleaned.lines.column(c::CUSTOMER)?.take_slice(&rows)?,
        Column::new("frequency".into(), who.iter().map(|&cu| t.frequency[cu] as i64).collect::<Vec<i64>>()),
        Column::new(
            "monetary".into(),
            who.iter().map(|&cu| round_money_value(t.amount[cu], money_decimals)).collect::<Vec<f64>>(),
        ),
        pick_ts(&t.first_purchase, "first_purchase_at")?,
        pick_ts(&t.last_purchase, "last_purchase_at")?,
        Column::new("profit".into(), profit),
    ])?;
    let freq = col("frequency");
    Ok(base.lazy().with_columns([
        days_until(as_of, col("last_purchase_at")).alias("recency_days"),
        days_until(as_of, col("first_purchase_at")).alias("tenure_days"),
        (col("monetary") / freq.clone().cast(DataType::Float64)).alias("avg_order_value"),
        when(freq.clone().gt(lit(1i64)))
            .then(
                fractional_days(col("last_purchase_at"), col("first_purchase_at"))
                    / (freq - lit(1i64)).cast(DataType::Float64),
            )
            .otherwise(lit(NULL).cast(DataType::Float64))
            .alias("avg_days_between_orders"),
    ]))
}

/// Lapse bucket labels for ascending thresholds: `0-30`, `31-60`, …, `121+`.
pub fn lapse_labels(thresholds: &[u32]) -> Vec<String> {
    let mut labels = Vec::with_capacity(thresholds.len() + 1);
    let mut lo = 0u64;
    for &t in thresholds {
        labels.push(format!("{lo}-{t}"));
        lo = u64::from(t) + 1;
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
pub fn favourite_products(
    cleaned: &Cleaned,
    b: &basket::Baskets,
    per_customer: &basket::CustomerItems,
) -> Result<DataFrame> {
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
