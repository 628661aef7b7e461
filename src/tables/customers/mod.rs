//! The customers family (SPEC "Table customers", "Scores", "monetary_deciles",
//! "purchase_deciles"): recency, frequency, monetary and the columns derived from them, per
//! customer with at least one purchase order, and the tables over them.

pub mod deciles;
mod finish;
pub mod scores;
pub mod trend;

pub use finish::{finish, Extra};

use chrono::NaiveDate;
use polars::prelude::*;

use crate::config::{ScoringMethod, Tier};
use crate::error::{Error, Result};
use crate::exprs::{days_until, fractional_days, money_average_expr, round_money_value};
use crate::facts::{col_names as c, CustomerFacts};

/// What the customers family reads from the config.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    pub bins: u8,
    pub scoring: ScoringMethod,
    pub lapse_thresholds: &'a [u32],
    pub money_decimals: u32,
    /// N of the trend columns (last N days vs the N before).
    pub trend_days: u32,
    /// Loyalty tiers, first match wins; none: no tier column.
    pub tiers: &'a [Tier],
}

/// customers, score_bins, monetary_deciles, purchase_deciles (and profit_deciles with a cost
/// column), from the customer facts.
pub fn tables(f: &CustomerFacts, as_of: NaiveDate, o: Options) -> Result<Vec<(String, DataFrame)>> {
    let d = o.money_decimals;
    let has_cost = f.profit.is_some();
    let mut base = rfm_facts(f, d)?.lazy();
    let sums = trend::window_sums(f, as_of, o.trend_days, d);
    let has_trend = sums.is_some();
    if let Some(sums) = sums {
        let sums = DataFrame::new_infer_height(sums)?.lazy();
        base = concat_lf_horizontal([base, sums], HConcatOptions::default())?;
    }
    // The profit group reads `declining`, so with a cost column the trend's derived columns come
    // first; otherwise after the order below, like the other derived columns.
    let trend_first = has_trend && has_cost;
    if trend_first {
        base = base.with_columns(trend::derived());
    }
    if has_cost {
        base = trend::add_profit_ranks(base, d, has_trend);
    }
    // The table's order (monetary descending, then customer_id) is set on the facts' columns, so
    // the many columns derived below are computed in that order instead of being moved into it
    // (at millions of customers, moving a column costs as much as computing it).
    base = deciles::add_deciles(base, d).with_columns(rfm_columns(as_of, d));
    if has_trend && !trend_first {
        base = base.with_columns(trend::derived());
    }
    if !o.tiers.is_empty() {
        base = base.with_column(trend::tier(o.tiers).alias("tier"));
    }
    let layout = Layout { has_cost, has_trend, has_tier: !o.tiers.is_empty() };
    let scored = scores::add_scores(
        base.with_columns([
            lapse_bucket(col("recency_days"), o.lapse_thresholds).alias("lapse_bucket"),
            lapse_bucket_order(col("recency_days"), o.lapse_thresholds).alias("lapse_bucket_order"),
            lit(NULL).cast(DataType::String).alias("segment"),
            lit(NULL).cast(DataType::Int32).alias("segment_order"),
        ]),
        o.bins,
        o.scoring,
    );
    let select: Vec<Expr> = layout.columns().into_iter().map(col).collect();
    let customers = scored.select(select).collect()?;
    if customers.height() == 0 {
        return Err(Error::Internal("customer tables over no customer".into()));
    }
    let cust = customers.clone().lazy();
    let score_bins = scores::score_bins(cust.clone())?.collect()?;
    let monetary_deciles = deciles::monetary_deciles(cust.clone(), d, has_cost).collect()?;
    let purchase_deciles = deciles::purchase_deciles(cust.clone(), d).collect()?;
    let mut out = vec![
        ("customers".to_string(), customers),
        ("score_bins".to_string(), score_bins),
        ("monetary_deciles".to_string(), monetary_deciles),
        ("purchase_deciles".to_string(), purchase_deciles),
    ];
    if layout.has_cost {
        out.push(("profit_deciles".to_string(), deciles::profit_deciles(cust, d).collect()?));
    }
    Ok(out)
}

/// Per-customer recency, frequency, monetary (and profit with a cost column) and the favourite
/// product, one row per customer with at least one purchase order, in the facts' row order:
/// customer_id, frequency, monetary (rounded), first/last purchase, profit, discount,
/// `_basket_items`, favourite_product ([`rfm_columns`] derives the rest).
///
/// frequency = purchase orders; monetary = the customer's line amounts over all kept orders
/// (returns included), rounded; first/last purchase = earliest/latest purchase order timestamp.
pub fn rfm_facts(f: &CustomerFacts, money_decimals: u32) -> Result<DataFrame> {
    let datetime = DataType::Datetime(TimeUnit::Microseconds, None);
    let ts = |v: &[i64], name: &str| -> Result<Column> { Ok(Column::new(name.into(), v).cast(&datetime)?) };
    let round = |v: &[f64]| v.iter().map(|x| round_money_value(*x, money_decimals)).collect::<Vec<f64>>();
    let profit: Column = match &f.profit {
        Some(p) => Column::new("profit".into(), round(p)),
        None => Column::full_null("profit".into(), f.len(), &DataType::Float64),
    };
    let basket_items: Column = match &f.basket_items {
        Some(v) => Column::new("_basket_items".into(), v.iter().map(|&x| x as f64).collect::<Vec<f64>>()),
        None => Column::full_null("_basket_items".into(), f.len(), &DataType::Float64),
    };
    let discount: Column = match &f.discount {
        Some(p) => Column::new("discount".into(), round(p)),
        None => Column::full_null("discount".into(), f.len(), &DataType::Float64),
    };
    let favourite = match &f.favourite_product {
        Some(fav) => fav.clone().with_name("favourite_product".into()),
        None => Column::full_null("favourite_product".into(), f.len(), &DataType::String),
    };
    Ok(DataFrame::new_infer_height(vec![
        f.customer_id.clone().with_name(c::CUSTOMER.into()),
        Column::new("frequency".into(), f.frequency.iter().map(|&n| n as i64).collect::<Vec<i64>>()),
        Column::new("monetary".into(), round(&f.monetary)),
        ts(&f.first_purchase, "first_purchase_at")?,
        ts(&f.last_purchase, "last_purchase_at")?,
        profit,
        discount,
        basket_items,
        favourite,
    ])?)
}

/// The columns derived from [`rfm_facts`]: recency, tenure, average order value, days between
/// orders, discount share, average basket items.
pub fn rfm_columns(as_of: NaiveDate, money_decimals: u32) -> [Expr; 6] {
    let freq = col("frequency");
    [
        days_until(as_of, col("last_purchase_at")).alias("recency_days"),
        days_until(as_of, col("first_purchase_at")).alias("tenure_days"),
        // Money per order, rounded like money (issue 15).
        money_average_expr(col("monetary"), freq.clone(), money_decimals).alias("avg_order_value"),
        when(freq.clone().gt(lit(1i64)))
            .then(
                fractional_days(col("last_purchase_at"), col("first_purchase_at"))
                    / (freq - lit(1i64)).cast(DataType::Float64),
            )
            .otherwise(lit(NULL).cast(DataType::Float64))
            .alias("avg_days_between_orders"),
        discount_share().alias("discount_share"),
        (col("_basket_items") / col("frequency").cast(DataType::Float64)).alias("avg_basket_items"),
    ]
}

/// Rule "discount share": discount / (monetary + discount), the share of what the customer would
/// have paid at list price that they did not pay; null without a discount column or when
/// monetary + discount <= 0.
pub fn discount_share() -> Expr {
    let list = col("monetary") + col("discount");
    when(col("discount").is_not_null().and(list.clone().gt(lit(0.0))))
        .then(col("discount") / list)
        .otherwise(lit(NULL).cast(DataType::Float64))
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

/// The lapse bucket of a recency in days: the first threshold it does not exceed. The label is
/// looked up by the bucket's number ([`lapse_bucket_order`]): a chain of string branches costs a
/// string column per threshold.
pub fn lapse_bucket(recency_days: Expr, thresholds: &[u32]) -> Expr {
    let labels = lapse_labels(thresholds);
    lapse_bucket_order(recency_days, thresholds).map(
        move |c| {
            let order = c.cast(&DataType::Int32)?;
            let order = order.i32()?;
            let out: StringChunked = order.iter().map(|k| k.and_then(|k| labels.get(k as usize - 1)).map(|l| l.as_str())).collect();
            Ok(out.with_name(c.name().clone()).into_column())
        },
        |_, f| Ok(Field::new(f.name().clone(), DataType::String)),
    )
}

/// The sort key of the lapse bucket (issue 15): 1 for the first bucket (`0-30`), up to the number
/// of thresholds + 1 for the last (`121+`), so a report sorts buckets by recency, not by text.
pub fn lapse_bucket_order(recency_days: Expr, thresholds: &[u32]) -> Expr {
    let last = lit(thresholds.len() as i32 + 1);
    thresholds.iter().enumerate().rev().fold(last, |otherwise, (i, t)| {
        when(recency_days.clone().lt_eq(lit(*t as i64))).then(lit(i as i32 + 1)).otherwise(otherwise)
    })
}

/// Which optional columns the `customers` table has.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    /// profit, profit_decile, profit_group (a cost column).
    pub has_cost: bool,
    /// The trend columns (a timestamp column).
    pub has_trend: bool,
    /// tier (tiers given).
    pub has_tier: bool,
}

impl Layout {
    /// Column order of the `customers` table.
    pub fn columns(self) -> Vec<&'static str> {
        let mut v = Vec::new();
        // The sort keys sit beside their labels (issue 15).
        for c in spec_columns() {
            v.push(c);
            match c {
                "segment" => v.push("segment_order"),
                "lapse_bucket" => v.push("lapse_bucket_order"),
                _ => {}
            }
        }
        v.push("avg_basket_items");
        if self.has_trend {
            v.extend(trend::COLUMNS);
        }
        if self.has_tier {
            v.push("tier");
        }
        v.extend(["discount", "discount_share"]);
        if self.has_cost {
            v.extend(["profit", "profit_decile", "profit_group"]);
        }
        v
    }
}

/// Column order of the SPEC's `customers` columns (profit comes later, see [`Layout`]).
pub fn spec_columns() -> Vec<&'static str> {
    let v = vec![
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
    v
}
