//! Basket co-occurrence (SPEC "Table products" and "Table basket_pairs").
//!
//! Items of an order are the distinct items on its positive lines; only purchase orders count,
//! guest orders included. The pair counting is a purpose-built kernel rather than a self-join:
//! items are encoded to dense ids in item order (so `a < b` on ids is `a < b` on items), items
//! seen in fewer orders than the threshold are dropped before pairing (a pair is never more
//! frequent than either of its items), each order's ids are sorted and deduplicated, and pair
//! counts go into hash maps keyed by `(a << 32) | b`, one per thread, merged at the end, so memory
//! is sized by the pairs that actually occur among surviving items. No order × item matrix exists.

use hashbrown::HashMap;
use polars::prelude::*;
use rayon::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::exprs::round_money;
use crate::input::col_names as c;

/// Thresholds and limits of the pair table.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BasketOptions {
    /// Keep pairs with at least this many orders (default 2 when no threshold is given).
    pub min_pair_orders: Option<u64>,
    /// Keep pairs with `pair_orders >= ceil(min_support * total purchase orders)`.
    pub min_support: Option<f64>,
    /// Keep, for each item, only its K strongest partners (by pair_orders, then lift, then partner).
    pub top_per_item: Option<usize>,
    /// Skip orders with more distinct items than this (counted in the manifest).
    pub max_basket_items: Option<usize>,
}

impl BasketOptions {
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

/// The two tables and what the kernel did.
pub struct BasketTables {
    pub products: DataFrame,
    pub basket_pairs: DataFrame,
    pub stats: BasketStats,
}

/// Kernel facts for the manifest.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BasketStats {
    pub threshold: u64,
    pub total_purchase_orders: u64,
    pub items: u64,
    pub items_kept_for_pairing: u64,
    pub orders_paired: u64,
    pub orders_skipped_too_large: u64,
    pub distinct_pairs_counted: u64,
    pub pairs_kept: u64,
}

/// Count, for every pair of ids `a < b`, the baskets holding both. Each basket is
/// `values[offsets[i]..offsets[i+1]]`; ids may repeat and come in any order within a basket.
/// Work is split across threads by basket; the per-thread maps are merged.
pub fn count_pairs(offsets: &[i64], values: &[u32]) -> HashMap<u64, u32> {
    let n = offsets.len().saturating_sub(1);
    let threads = rayon::current_num_threads().max(1);
    let chunk = n.div_ceil(threads * 4).max(1);
    let maps: Vec<HashMap<u64, u32>> = (0..n)
        .into_par_iter()
        .with_min_len(chunk)
        .fold(
            || (HashMap::<u64, u32>::new(), Vec::<u32>::new()),
            |(mut map, mut buf), i| {
                let (lo, hi) = (offsets[i] as usize, offsets[i + 1] as usize);
                if hi - lo >= 2 {
                    buf.clear();
                    buf.extend_from_slice(&values[lo..hi]);
                    buf.sort_unstable();
                    buf.dedup();
                    for (k, &a) in buf.iter().enumerate() {
                        let hi_key = (a as u64) << 32;
                        for &b in &buf[k + 1..] {
                            *map.entry(hi_key | b as u64).or_insert(0) += 1;
                        }
                    }
                }
                (map, buf)
            },
        )
        .map(|(m, _)| m)
        .collect();
    let mut maps = maps.into_iter();
    let mut acc = maps.next().unwrap_or_default();
    for m in maps {
        let (mut big, small) = if m.len() > acc.len() { (m, acc) } else { (acc, m) };
        for (k, v) in small {
            *big.entry(k).or_insert(0) += v;
        }
        acc = big;
    }
    acc
}

/// Build `products` and `basket_pairs` from the positive lines of purchase orders.
///
/// `lines` has `order_id`, `item` and, when known, `customer_id`, `quantity`, `amount`.
/// `total_orders` is the number of purchase orders (the support denominator).
pub fn basket_tables(
    lines: LazyFrame,
    total_orders: u64,
    known: Known,
    opts: &BasketOptions,
    money_decimals: u32,
) -> Result<BasketTables> {
    let lines = lines.filter(col(ITEM).is_not_null()).collect()?;
    let products = products_table(lines.clone().lazy(), total_orders, known, money_decimals).collect()?;
    let threshold = opts.threshold(total_orders);
    let mut stats = BasketStats {
        threshold,
        total_purchase_orders: total_orders,
        items: products.height() as u64,
        ..Default::default()
    };

    // Items that can reach the threshold, with dense ids in item order.
    let frequent = products
        .clone()
        .lazy()
        .filter(col("orders").gt_eq(lit(threshold as i64)))
        .select([col(c::PRODUCT).alias(ITEM), col("orders")])
        .sort([ITEM], SortMultipleOptions::default())
        .with_row_index("id", None)
        .collect()?;
    stats.items_kept_for_pairing = frequent.height() as u64;

    let mut per_order = lines
        .lazy()
        .select([col(c::ORDER), col(ITEM)])
        .join(
            frequent.clone().lazy().select([col(ITEM), col("id")]),
            [col(ITEM)],
            [col(ITEM)],
            JoinArgs::new(if opts.max_basket_items.is_some() { JoinType::Left } else { JoinType::Inner }),
        )
        .group_by([col(c::ORDER)])
        .agg([
            col("id").drop_nulls().alias("ids"),
            col("id").count().cast(DataType::Int64).alias("n_ids"),
            col(ITEM).n_unique().cast(DataType::Int64).alias("n_items"),
        ]);
    if let Some(max) = opts.max_basket_items {
        let sizes = per_order.clone().select([col("n_items").gt(lit(max as i64)).sum().alias("skipped")]).collect()?;
        stats.orders_skipped_too_large = sizes.column("skipped")?.get(0)?.extract::<u64>().unwrap_or(0);
        per_order = per_order.filter(col("n_items").lt_eq(lit(max as i64)));
    }
    let per_order = per_order.select([col("ids"), col("n_ids")]).collect()?;
    stats.orders_paired = per_order.height() as u64;

    let lists = per_order.column("ids")?.list()?.rechunk();
    let mut offsets: Vec<i64> = Vec::with_capacity(lists.len() + 1);
    offsets.push(0);
    for len in per_order.column("n_ids")?.i64()?.into_no_null_iter() {
        offsets.push(offsets[offsets.len() - 1] + len);
    }
    let inner = lists.get_inner();
    let ids: Vec<u32> = inner.idx()?.into_no_null_iter().map(|v| v as u32).collect();
    if ids.len() as i64 != offsets[offsets.len() - 1] {
        return Err(Error::Internal("basket kernel: list offsets do not match their values".into()));
    }
    let counts = count_pairs(&offsets, &ids);
    stats.distinct_pairs_counted = counts.len() as u64;

    let (mut a, mut b, mut n) = (Vec::new(), Vec::new(), Vec::new());
    for (k, v) in counts {
        if v as u64 >= threshold {
            a.push((k >> 32) as IdxSize);
            b.push((k & 0xffff_ffff) as IdxSize);
            n.push(v as i64);
        }
    }
    let pairs = DataFrame::new_infer_height(vec![
        Column::new("a_id".into(), a),
        Column::new("b_id".into(), b),
        Column::new("pair_orders".into(), n),
    ])?;
    let basket_pairs = pairs_table(pairs.lazy(), frequent.lazy(), total_orders, opts.top_per_item)?.collect()?;
    stats.pairs_kept = basket_pairs.height() as u64;
    Ok(BasketTables { products, basket_pairs, stats })
}

/// Canonical name of the basket item column (the product, or `--item-col`).
pub const ITEM: &str = "item";

/// Which optional columns the lines carry.
#[derive(Debug, Clone, Copy)]
pub struct Known {
    pub customer: bool,
    pub quantity: bool,
    pub amount: bool,
}

/// `products`: per item on a positive line of a purchase order, its orders, support, distinct
/// known customers, quantity and revenue; sorted by orders descending, then item.
fn products_table(lines: LazyFrame, total_orders: u64, known: Known, money_decimals: u32) -> LazyFrame {
    let null_f = || lit(NULL).cast(DataType::Float64);
    let customers = if known.customer {
        col(c::CUSTOMER).drop_nulls().n_unique().cast(DataType::Int64)
    } else {
        lit(NULL).cast(DataType::Int64)
    };
    let quantity = if known.quantity { col(c::QUANTITY).sum() } else { null_f() };
    let revenue = if known.amount { round_money(col(c::AMOUNT).sum(), money_decimals) } else { null_f() };
    lines
        .group_by([col(ITEM).alias(c::PRODUCT)])
        .agg([
            col(c::ORDER).n_unique().cast(DataType::Int64).alias("orders"),
            customers.alias("customers"),
            quantity.alias("quantity"),
            revenue.alias("revenue"),
        ])
        .with_column((col("orders").cast(DataType::Float64) / lit(total_orders as f64)).alias("support"))
        .sort_by_exprs(
            [col("orders"), col(c::PRODUCT)],
            SortMultipleOptions::default().with_order_descending_multi([true, false]),
        )
        .select([col(c::PRODUCT), col("orders"), col("support"), col("customers"), col("quantity"), col("revenue")])
}

/// `basket_pairs` from counted pairs: item values back from ids, the measures, the sort.
fn pairs_table(pairs: LazyFrame, items: LazyFrame, total: u64, top: Option<usize>) -> PolarsResult<LazyFrame> {
    let side = |name: &str, id: &str, orders: &str| {
        items.clone().select([col("id").alias(id), col(ITEM).alias(name), col("orders").alias(orders)])
    };
    let total_f = lit(total as f64);
    let n = col("pair_orders").cast(DataType::Float64);
    let mut lf = pairs
        .join(side("product_a", "a_id", "orders_a"), [col("a_id")], [col("a_id")], JoinArgs::new(JoinType::Inner))
        .join(side("product_b", "b_id", "orders_b"), [col("b_id")], [col("b_id")], JoinArgs::new(JoinType::Inner))
        .with_columns([
            (n.clone() / total_f.clone()).alias("support"),
            (n.clone() / col("orders_a").cast(DataType::Float64)).alias("confidence_a_to_b"),
            (n.clone() / col("orders_b").cast(DataType::Float64)).alias("confidence_b_to_a"),
            (n * total_f
                / (col("orders_a").cast(DataType::Float64) * col("orders_b").cast(DataType::Float64)))
            .alias("lift"),
        ]);
    if let Some(k) = top {
        // A pair stays when it is among the K strongest partners of either of its items:
        // strongest = most pair_orders, then highest lift, then smallest partner. Each pair is
        // seen from both of its items (two half-edges), ranked within the item.
        let indexed = lf.with_row_index("_pair", None);
        let half = |me: &str, other: &str| {
            indexed.clone().select([
                col("_pair"),
                col(me).alias("_item"),
                col(other).alias("_partner"),
                col("pair_orders"),
                col("lift"),
            ])
        };
        let kept = concat([half("a_id", "b_id"), half("b_id", "a_id")], UnionArgs::default())?
            .sort_by_exprs(
                [col("pair_orders"), col("lift"), col("_partner")],
                SortMultipleOptions::default().with_order_descending_multi([true, true, false]),
            )
            .with_column(int_range(lit(0i64), len(), 1, DataType::Int64).over([col("_item")])?.alias("_rank"))
            .filter(col("_rank").lt(lit(k as i64)))
            .select([col("_pair")])
            .unique(None, UniqueKeepStrategy::Any);
        lf = indexed.semi_join(kept, col("_pair"), col("_pair"));
    }
    Ok(lf.sort_by_exprs(
        [col("pair_orders"), col("a_id"), col("b_id")],
        SortMultipleOptions::default().with_order_descending_multi([true, false, false]),
    )
    .select([
        col("product_a"),
        col("product_b"),
        col("pair_orders"),
        col("support"),
        col("confidence_a_to_b"),
        col("confidence_b_to_a"),
        col("lift"),
    ]))
}
