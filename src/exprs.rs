//! Small lazy-expression helpers shared by the table modules, so each rule is written once.

use chrono::NaiveDate;
use polars::prelude::*;

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Round a money sum to `decimals`, halves away from zero (as SQL `round` does).
pub fn round_money(e: Expr, decimals: u32) -> Expr {
    e.round(decimals, RoundMode::HalfAwayFromZero)
}

/// [`round_money`] for one value (the same arithmetic as Polars' `round`).
pub fn round_money_value(x: f64, decimals: u32) -> f64 {
    let m = 10f64.powi(decimals as i32);
    let r = (x * m).round() / m;
    if r.is_finite() {
        r
    } else {
        x
    }
}

/// Rule "money average" (issue 15): a money amount `total` (already rounded to `decimals`) shared
/// over `n` (orders, customers), rounded like money: in exact minor units (cents), halves away from
/// zero, so 71.55 over 2 orders is 35.78 whatever the float nearest 35.775. `n` = 0 gives 0.
pub fn money_average(total: f64, n: u64, decimals: u32) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let scale = 10f64.powi(decimals as i32);
    let minor = (total * scale).round() as i128;
    let n = n as i128;
    let q = (minor.abs() * 2 + n) / (2 * n);
    (minor.signum() * q) as f64 / scale + 0.0
}

/// [`money_average`] as an expression over a money column and a positive count column.
pub fn money_average_expr(total: Expr, n: Expr, decimals: u32) -> Expr {
    let scale = 10f64.powi(decimals as i32);
    let minor = (total * lit(scale)).round(0, RoundMode::HalfAwayFromZero).cast(DataType::Int64);
    let n = n.cast(DataType::Int64);
    let q = (minor.clone().abs() * lit(2i64) + n.clone()).floor_div(lit(2i64) * n);
    let signed = when(minor.lt(lit(0i64))).then(lit(0i64) - q.clone()).otherwise(q);
    signed.cast(DataType::Float64) / lit(scale)
}

/// Days since 1970-01-01 of a date.
pub fn epoch_days(d: NaiveDate) -> i64 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days()
}

/// Microseconds since the epoch of a date's midnight.
pub fn date_to_micros(d: NaiveDate) -> i64 {
    epoch_days(d) * MICROS_PER_DAY
}

/// Whole days from the date of a timestamp expression to `as_of` (bought the day before: 1).
pub fn days_until(as_of: NaiveDate, ts: Expr) -> Expr {
    lit(epoch_days(as_of)) - ts.dt().date().cast(DataType::Int32).cast(DataType::Int64)
}

/// Fractional days between two timestamp expressions (`later - earlier`).
pub fn fractional_days(later: Expr, earlier: Expr) -> Expr {
    (later.cast(DataType::Int64) - earlier.cast(DataType::Int64)).cast(DataType::Float64) / lit(MICROS_PER_DAY as f64)
}

/// 0-based position of each row when the frame is ordered by `by` (with per-key directions).
/// Keys must make the order total (end with a unique column) for the result not to depend on
/// input order.
pub fn position(by: Vec<Expr>, descending: Vec<bool>) -> Expr {
    arg_sort_by(by, SortMultipleOptions::default().with_order_descending_multi(descending))
        .arg_sort(false, false)
        .cast(DataType::Int64)
}

/// `1 + floor(parts * k / n)` for a 0-based `k` out of `n`: which of `parts` equal slices `k` falls in.
pub fn slice_of(k: Expr, n: Expr, parts: i64) -> Expr {
    lit(1i64) + (k * lit(parts)).floor_div(n)
}

/// Number of rows as Int64.
pub fn count_rows() -> Expr {
    len().cast(DataType::Int64)
}

/// A left join that keeps the left rows in their order.
pub fn left_join() -> JoinArgs {
    JoinArgs { maintain_order: MaintainOrderJoin::Left, ..JoinArgs::new(JoinType::Left) }
}

/// `table` with `key`'s name from `names` (`product_id`, `name`) inserted after column `after`
/// as `out` (null for a product without a name). Rows keep their order.
pub fn with_looked_up(table: &DataFrame, names: &DataFrame, key: &str, after: &str, out: &str) -> PolarsResult<DataFrame> {
    let lookup = names.clone().lazy().select([col("product_id").alias(key), col("name").alias(out)]);
    let joined = table.clone().lazy().join(lookup, [col(key)], [col(key)], left_join()).collect()?;
    let mut order: Vec<String> = Vec::with_capacity(table.width() + 1);
    for c in table.get_column_names() {
        order.push(c.to_string());
        if c.as_str() == after {
            order.push(out.to_string());
        }
    }
    joined.select(order)
}
