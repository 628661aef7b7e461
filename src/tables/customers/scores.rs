//! RFM scores (SPEC "Scores") and the `score_bins` table.
//!
//! R's key is `-recency_days`, F's is `frequency`, M's is `monetary`; a higher key is a higher score.

use polars::prelude::*;

use crate::config::ScoringMethod;
use crate::exprs::{count_rows, position, slice_of};
use crate::facts::col_names as c;

/// The three dimensions: value column, score column, and whether a larger value is better.
pub const DIMENSIONS: [(&str, &str, bool); 3] =
    [("recency_days", "r_score", false), ("frequency", "f_score", true), ("monetary", "m_score", true)];

/// The score of one dimension as an expression over the customers frame.
///
/// `rank`: rank = 1 + number of customers whose key is strictly smaller, `score = 1 + floor(B * (rank - 1) / N)`,
/// so equal keys share a score. `ntile`: customers ordered by key, ties by customer_id ascending,
/// `score = 1 + floor(B * (row_number - 1) / N)`.
pub fn score(value: &str, larger_is_better: bool, bins: u8, method: ScoringMethod) -> Expr {
    let below = match method {
        // rank(Min) counts strictly smaller keys + 1; descending when a smaller value is better.
        ScoringMethod::Rank => {
            col(value)
                .rank(RankOptions { method: RankMethod::Min, descending: !larger_is_better }, None)
                .cast(DataType::Int64)
                - lit(1i64)
        }
        ScoringMethod::Ntile => position(vec![col(value), col(c::CUSTOMER)], vec![!larger_is_better, false]),
    };
    slice_of(below, count_rows(), bins as i64).cast(DataType::Int32)
}

/// Add `r_score`, `f_score`, `m_score` and `rfm_cell` (e.g. `"545"`).
pub fn add_scores(customers: LazyFrame, bins: u8, method: ScoringMethod) -> LazyFrame {
    let scores: Vec<Expr> = DIMENSIONS.iter().map(|(v, s, better)| score(v, *better, bins, method).alias(*s)).collect();
    // Scores are single digits (bins <= 9), so the cell's three digits are those of one number:
    // one cast instead of three casts and a concatenation.
    let cell = col("r_score").cast(DataType::Int32) * lit(100i32)
        + col("f_score").cast(DataType::Int32) * lit(10i32)
        + col("m_score").cast(DataType::Int32);
    customers.with_columns(scores).with_column(cell.cast(DataType::String).alias("rfm_cell"))
}

/// `score_bins`: one row per (dimension, score) that has customers, with the value range and count.
pub fn score_bins(customers: LazyFrame) -> PolarsResult<LazyFrame> {
    let parts: Vec<LazyFrame> = DIMENSIONS
        .iter()
        .enumerate()
        .map(|(i, (value, score, _))| {
            customers
                .clone()
                .group_by([col(*score).alias("score")])
                .agg([
                    col(*value).cast(DataType::Float64).min().alias("min_value"),
                    col(*value).cast(DataType::Float64).max().alias("max_value"),
                    count_rows().alias("customers"),
                ])
                .with_columns([lit(*value).alias("dimension"), lit(i as i32).alias("_dim")])
        })
        .collect();
    Ok(concat(parts, UnionArgs::default())?
        .sort_by_exprs([col("_dim"), col("score")], SortMultipleOptions::default())
        .select([col("dimension"), col("score"), col("min_value"), col("max_value"), col("customers")]))
}
