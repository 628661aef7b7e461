//! Cleaning rules and the order table (SPEC "Cleaning rules"): rejected and future lines,
//! orders naming two customers, order nets and the purchase flag. Every rule is counted in
//! [`Counts`], which the run manifest carries.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use polars::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::exprs::{date_to_micros, round_money};
use crate::input::{col_names as c, Present};

/// Canonical column names of the order frame (besides `order_id` and `customer_id`).
pub mod order_cols {
    /// Timestamp of the order's earliest line.
    pub const ORDERED_AT: &str = "ordered_at";
    /// Sum of all the order's line amounts, rounded to money_decimals.
    pub const NET: &str = "net";
    /// Unrounded sum of the amounts of the order's lines that name its customer.
    pub const CUSTOMER_AMOUNT: &str = "customer_amount";
    /// Unrounded sum of (amount - cost) of those lines; only with a cost column.
    pub const CUSTOMER_PROFIT: &str = "customer_profit";
    /// net > 0.
    pub const IS_PURCHASE: &str = "is_purchase";
    /// Number of lines.
    pub const LINES: &str = "lines";
}
use order_cols as o;

/// What the cleaning rules did, for the manifest.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    pub lines_read: u64,
    pub lines_used: u64,
    pub future_lines: u64,
    /// Rejected lines by reason: `null_order`, `null_timestamp`, `null_amount`,
    /// `non_finite_amount`, `order_customer_conflict`. A line is counted under its first reason.
    pub rejected: BTreeMap<String, u64>,
    pub guest_lines: u64,
    pub orders: u64,
    pub purchase_orders: u64,
    pub orders_rejected_conflict: u64,
}

/// The cleaned dump: used lines, orders, the as-of date and the counts.
pub struct Cleaned {
    /// The analysis date D; `None` when the dump has no timestamp (basket-only dumps).
    pub as_of: Option<NaiveDate>,
    /// Lines that passed every rule, canonical columns.
    pub lines: DataFrame,
    /// One row per kept order: order_id, customer_id (null for guest orders) and [`order_cols`].
    pub orders: DataFrame,
    pub counts: Counts,
}

/// The date after the one holding `micros` (microseconds since the epoch).
fn day_after(micros: i64) -> NaiveDate {
    let day = micros.div_euclid(86_400_000_000);
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch") + chrono::Duration::days(day + 1)
}

fn count(df: &DataFrame, name: &str) -> Result<u64> {
    let v = df.column(name)?.get(0)?;
    Ok(v.extract::<u64>().unwrap_or(0))
}

/// Apply every cleaning rule of the SPEC, in this order: null order / timestamp / amount (and
/// non-finite amounts) rejected; future lines (`ts >= as_of`) excluded; orders whose lines name two
/// different customers rejected whole. Then build the order table.
pub fn clean(raw: LazyFrame, as_of: Option<NaiveDate>, money_decimals: u32, has: Present) -> Result<Cleaned> {
    let raw = raw.collect()?;
    let (order, ts, amount) = (col(c::ORDER), col(c::TS), col(c::AMOUNT));
    let null_order = order.clone().is_null();
    let (null_ts, valid_so_far, max_ts) = if has.timestamp {
        (
            null_order.clone().not().and(ts.clone().is_null()),
            order.clone().is_not_null().and(ts.clone().is_not_null()),
            ts.clone().max().cast(DataType::Int64),
        )
    } else {
        (lit(false), order.clone().is_not_null(), lit(NULL).cast(DataType::Int64))
    };
    let null_amount = valid_so_far.clone().and(amount.clone().is_null());
    let non_finite = valid_so_far.clone().and(amount.clone().is_not_null()).and(amount.clone().is_finite().not());
    let valid = valid_so_far.and(amount.clone().is_finite());

    let stats = raw
        .clone()
        .lazy()
        .select([
            len().cast(DataType::UInt64).alias("lines_read"),
            null_order.sum().cast(DataType::UInt64).alias("null_order"),
            null_ts.sum().cast(DataType::UInt64).alias("null_timestamp"),
            null_amount.sum().cast(DataType::UInt64).alias("null_amount"),
            non_finite.sum().cast(DataType::UInt64).alias("non_finite_amount"),
            max_ts.filter(valid.clone()).alias("max_ts"),
        ])
        .collect()?;
    let mut counts = Counts { lines_read: count(&stats, "lines_read")?, ..Default::default() };
    for reason in ["null_order", "null_timestamp", "null_amount", "non_finite_amount"] {
        counts.rejected.insert(reason.to_string(), count(&stats, reason)?);
    }
    let max_ts = stats.column("max_ts")?.get(0)?.extract::<i64>();
    if max_ts.is_none() && stats.height() > 0 && has.timestamp {
        return Err(Error::Empty {
            what: "input".into(),
            reason: format!(
                "no usable line among {} read (every line lacks an order, timestamp or amount)",
                counts.lines_read
            ),
        });
    }
    let valid_lines = raw.lazy().filter(valid);
    let (as_of, current) = if has.timestamp {
        let as_of = as_of.unwrap_or_else(|| day_after(max_ts.unwrap_or(0)));
        let as_of_ts = lit(date_to_micros(as_of)).cast(DataType::Datetime(TimeUnit::Microseconds, None));
        let future = valid_lines.clone().filter(ts.clone().gt_eq(as_of_ts.clone()));
        counts.future_lines = count(&future.select([len().cast(DataType::UInt64).alias("n")]).collect()?, "n")?;
        (Some(as_of), valid_lines.filter(ts.clone().lt(as_of_ts)).collect()?)
    } else {
        (None, valid_lines.collect()?)
    };

    // Orders, with the conflict check: min and max of the non-null customers differ.
    let customer = col(c::CUSTOMER);
    let known = customer.clone().is_not_null();
    let mut aggs = vec![
        customer.clone().min().alias("cmin"),
        customer.clone().max().alias("cmax"),
        amount.clone().sum().alias("net_raw"),
        amount.clone().filter(known.clone()).sum().alias(o::CUSTOMER_AMOUNT),
        len().alias(o::LINES),
    ];
    if has.timestamp {
        aggs.push(ts.clone().min().alias(o::ORDERED_AT));
    }
    if has.cost {
        aggs.push((amount.clone() - col(c::COST)).filter(known).sum().alias(o::CUSTOMER_PROFIT));
    }
    let grouped = current.clone().lazy().group_by([col(c::ORDER)]).agg(aggs).collect()?;
    let conflict = col("cmin").is_not_null().and(col("cmin").neq(col("cmax")));
    let conflicts = grouped.clone().lazy().filter(conflict.clone()).select([col(c::ORDER), col(o::LINES)]).collect()?;
    counts.orders_rejected_conflict = conflicts.height() as u64;
    let conflict_lines: u64 = conflicts.column(o::LINES)?.as_materialized_series().sum::<u64>().unwrap_or(0);
    counts.rejected.insert("order_customer_conflict".into(), conflict_lines);

    let lines = if conflicts.height() == 0 {
        current
    } else {
        let bad = conflicts.column(c::ORDER)?.as_materialized_series().clone();
        current.lazy().filter(col(c::ORDER).is_in(lit(bad).implode(false), false).not()).collect()?
    };
    let orders = grouped
        .lazy()
        .filter(conflict.not())
        .with_columns([
            col("cmin").alias(c::CUSTOMER),
            round_money(col("net_raw"), money_decimals).alias(o::NET),
        ])
        .with_column(col(o::NET).gt(lit(0.0)).alias(o::IS_PURCHASE))
        .drop(cols(["cmin", "cmax", "net_raw"]))
        .collect()?;

    counts.lines_used = lines.height() as u64;
    counts.guest_lines = lines.column(c::CUSTOMER)?.null_count() as u64;
    counts.orders = orders.height() as u64;
    counts.purchase_orders = orders.column(o::IS_PURCHASE)?.as_materialized_series().bool()?.sum().unwrap_or(0) as u64;
    Ok(Cleaned { as_of, lines, orders, counts })
}

/// Lines of purchase orders only (for products, baskets and favourite product).
pub fn purchase_lines(cleaned: &Cleaned) -> LazyFrame {
    let purchase_ids = cleaned.orders.clone().lazy().filter(col(o::IS_PURCHASE)).select([col(c::ORDER)]);
    cleaned.lines.clone().lazy().semi_join(purchase_ids, col(c::ORDER), col(c::ORDER))
}
