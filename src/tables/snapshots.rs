//! The snapshots family (issue 14): how customers moved between two snapshots, from the
//! `customers` tables of an earlier run (A) and a later one (B).
//!
//! Customers are matched on customer_id (a full outer join). A customer only in B comes `from`
//! `new`; one only in A goes `to` `gone`. Per (from, to): customers, revenue_before = their
//! monetary in A (0 for new), revenue_after = their monetary in B (0 for gone), sums rounded.

use chrono::NaiveDate;
use polars::prelude::*;

use crate::error::{Error, Result};
use crate::exprs::round_money;
use crate::facts::col_names as c;

/// The label of customers present in the later snapshot only, and in the earlier one only.
pub const NEW: &str = "new";
pub const GONE: &str = "gone";

/// segment_migration and decile_migration.
pub fn tables(
    from: &DataFrame,
    to: &DataFrame,
    from_as_of: NaiveDate,
    to_as_of: NaiveDate,
    money_decimals: u32,
) -> Result<Vec<(String, DataFrame)>> {
    let (a, b) = (from.column(c::CUSTOMER)?.dtype().clone(), to.column(c::CUSTOMER)?.dtype().clone());
    if a != b {
        return Err(Error::Config(format!(
            "compare: customer_id is {a} in the earlier snapshot and {b} in the later one; snapshots of one dump have one id type"
        )));
    }
    let side = |df: &DataFrame, suffix: &str| -> Result<LazyFrame> {
        Ok(df
            .clone()
            .lazy()
            .select([
                col(c::CUSTOMER),
                col("segment").alias(format!("segment_{suffix}")),
                col("monetary_decile").cast(DataType::Int32).alias(format!("decile_{suffix}")),
                col("monetary").alias(format!("monetary_{suffix}")),
                lit(true).alias(format!("in_{suffix}")),
            ]))
    };
    // Joined once, then grouped twice.
    let joined = side(from, "a")?
        .join(
            side(to, "b")?,
            [col(c::CUSTOMER)],
            [col(c::CUSTOMER)],
            JoinArgs::new(JoinType::Full).with_coalesce(JoinCoalesce::CoalesceColumns),
        )
        .drop(cols([c::CUSTOMER]))
        .collect()?
        .lazy();
    // One table per compared column (`segment`, `decile`): its label in each snapshot, `new` and
    // `gone` for customers on one side only; rows in `order` (default: by label).
    let moved = |what: &str, order: Option<[Expr; 2]>| -> Result<DataFrame> {
        let label = |side: &str, missing: &str| {
            when(col(format!("in_{side}")).is_null())
                .then(lit(missing.to_string()))
                .otherwise(col(format!("{what}_{side}")).cast(DataType::String))
        };
        // Sums of rounded monetary values in exact minor units (cents at 2 decimals): no sum
        // depends on the order of the rows.
        let scale = 10f64.powi(money_decimals as i32);
        let minor = |c: &str| (col(c).fill_null(lit(0.0)) * lit(scale)).round(0, RoundMode::HalfAwayFromZero).cast(DataType::Int64);
        let money = |c: &str| round_money(col(c).sum().cast(DataType::Float64) / lit(scale), money_decimals);
        let mut lf = joined
            .clone()
            .with_columns([label("a", NEW).alias("from"), label("b", GONE).alias("to")])
            .with_columns([minor("monetary_a").alias("_before"), minor("monetary_b").alias("_after")])
            .group_by([col("from"), col("to")])
            .agg([
                len().cast(DataType::Int64).alias("customers"),
                money("_before").alias("revenue_before"),
                money("_after").alias("revenue_after"),
            ]);
        lf = match order {
            Some([fo, to]) => lf
                .with_columns([fo.alias("_from_order"), to.alias("_to_order")])
                .sort(["_from_order", "_to_order"], SortMultipleOptions::default())
                .drop(cols(["_from_order", "_to_order"])),
            None => lf.sort(["from", "to"], SortMultipleOptions::default()),
        };
        Ok(lf
            .select([
                lit(from_as_of).cast(DataType::Date).alias("from_as_of"),
                lit(to_as_of).cast(DataType::Date).alias("to_as_of"),
                col("from").alias(format!("from_{what}")),
                col("to").alias(format!("to_{what}")),
                col("customers"),
                col("revenue_before"),
                col("revenue_after"),
                (col("revenue_after") - col("revenue_before")).round(money_decimals, RoundMode::HalfAwayFromZero).alias("revenue_change"),
            ])
            .collect()?)
    };
    let segments = moved("segment", None)?;
    // Deciles sort as numbers: new first, 1..10, gone last.
    let rank = |e: Expr, missing: i32| when(e.clone().eq(lit(NEW)).or(e.clone().eq(lit(GONE)))).then(lit(missing)).otherwise(e.cast(DataType::Int32));
    let deciles = moved("decile", Some([rank(col("from"), 0), rank(col("to"), 11)]))?;
    Ok(vec![("segment_migration".to_string(), segments), ("decile_migration".to_string(), deciles)])
}
