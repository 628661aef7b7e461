//! The basket family (SPEC "Table products" and "Table basket_pairs"): `products` and
//! `basket_pairs` from item and pair facts.
//!
//! Items of an order are the distinct items on its positive lines; only purchase orders count,
//! guest orders included. pair_orders = purchase orders holding both a and b (a < b); support =
//! pair_orders / purchase orders; confidence_a_to_b = pair_orders / orders(a); lift =
//! pair_orders * total / (orders(a) * orders(b)).

use polars::prelude::*;
use rayon::prelude::*;
use serde::Serialize;

use crate::config::BasketOptions;
use crate::error::Result;
use crate::exprs::round_money_value;
use crate::facts::{col_names as c, ItemFacts, PairFacts};

/// The two tables and what the kernel did.
pub struct BasketTables {
    pub products: DataFrame,
    pub basket_pairs: DataFrame,
    pub stats: BasketStats,
}

/// Pair-counting facts for the manifest.
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

/// `products` and `basket_pairs` (with the top-K per item of `opts`), and the manifest's stats.
pub fn tables(items: &ItemFacts, pairs: &PairFacts, opts: &BasketOptions, money_decimals: u32) -> Result<BasketTables> {
    let products = products_table(items, money_decimals)?;
    let basket_pairs =
        pairs_table(&pairs.pairs, &items.item, &items.orders, items.total_purchase_orders, opts.top_per_item)?;
    let stats = BasketStats {
        threshold: pairs.threshold,
        total_purchase_orders: items.total_purchase_orders,
        items: products.height() as u64,
        items_kept_for_pairing: pairs.items_kept,
        orders_paired: pairs.baskets_paired,
        orders_skipped_too_large: pairs.baskets_skipped,
        distinct_pairs_counted: pairs.pairs.len() as u64,
        pairs_kept: basket_pairs.height() as u64,
    };
    Ok(BasketTables { products, basket_pairs, stats })
}

/// `products`: per item on a positive line of a purchase order, its orders, support, distinct
/// known customers, quantity and revenue; sorted by orders descending, then item. Columns the dump
/// lacks (customer, quantity, amount) are unknown (null).
fn products_table(f: &ItemFacts, money_decimals: u32) -> Result<DataFrame> {
    let item_orders = &f.orders;
    let mut order: Vec<u32> = (0..item_orders.len() as u32).filter(|&i| item_orders[i as usize] > 0).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(item_orders[i as usize]), i));
    let idx: Vec<IdxSize> = order.iter().map(|&i| i as IdxSize).collect();
    let total = f.total_purchase_orders.max(1) as f64;
    let pick_f = |v: Option<&Vec<f64>>, round: bool| -> Column {
        let vals: Vec<Option<f64>> = order
            .iter()
            .map(|&i| v.map(|v| if round { round_money_value(v[i as usize], money_decimals) } else { v[i as usize] }))
            .collect();
        Column::new("".into(), vals)
    };
    let columns = vec![
        f.item.take_slice(&idx)?.with_name(c::PRODUCT.into()),
        Column::new("orders".into(), order.iter().map(|&i| item_orders[i as usize] as i64).collect::<Vec<_>>()),
        Column::new(
            "support".into(),
            order.iter().map(|&i| item_orders[i as usize] as f64 / total).collect::<Vec<_>>(),
        ),
        Column::new(
            "customers".into(),
            order.iter().map(|&i| f.customers.as_ref().map(|v| v[i as usize] as i64)).collect::<Vec<_>>(),
        ),
        pick_f(f.quantity.as_ref(), false).with_name("quantity".into()),
        pick_f(f.revenue.as_ref(), true).with_name("revenue".into()),
    ];
    Ok(DataFrame::new_infer_height(columns)?)
}

/// `basket_pairs` from the counted pairs: measures, the optional top-K per item, the sort, keys.
fn pairs_table(
    pairs: &[(u32, u32, u32)],
    keys: &Column,
    item_orders: &[u32],
    total: u64,
    top: Option<usize>,
) -> Result<DataFrame> {
    let t = total as f64;
    let lift = |&(a, b, n): &(u32, u32, u32)| {
        (n as f64 * t) / (item_orders[a as usize] as f64 * item_orders[b as usize] as f64)
    };
    // `pairs` come ordered by (a, b): a stable sort on pair_orders descending gives the SPEC order.
    let sel = match top {
        None => by_count_desc(pairs),
        Some(k) => by_count_desc(&top_per_item(pairs, k, &lift).into_iter().map(|i| pairs[i]).collect::<Vec<_>>()),
    };
    // Columns of up to millions of rows, each built on both cores.
    let float = |name: &str, g: &(dyn Fn(&(u32, u32, u32)) -> f64 + Sync)| {
        Float64Chunked::from_vec(name.into(), sel.par_iter().map(g).collect()).into_column()
    };
    let int_keys = keys.i64().ok().and_then(|k| k.cont_slice().ok());
    let side = |name: &str, pick: fn(&(u32, u32, u32)) -> u32| -> Result<Column> {
        if let Some(k) = int_keys {
            // Integer items (the usual case): read the keys directly.
            return Ok(Int64Chunked::from_vec(name.into(), sel.par_iter().map(|p| k[pick(p) as usize]).collect())
                .into_column());
        }
        let idx: Vec<IdxSize> = sel.par_iter().map(|p| pick(p) as IdxSize).collect();
        Ok(keys.take_slice(&idx)?.with_name(name.into()))
    };
    let columns = vec![
        side("product_a", |p| p.0)?,
        side("product_b", |p| p.1)?,
        Int64Chunked::from_vec("pair_orders".into(), sel.par_iter().map(|p| p.2 as i64).collect()).into_column(),
        float("support", &|p| p.2 as f64 / t),
        float("confidence_a_to_b", &|p| p.2 as f64 / item_orders[p.0 as usize] as f64),
        float("confidence_b_to_a", &|p| p.2 as f64 / item_orders[p.1 as usize] as f64),
        float("lift", &|p| lift(p)),
    ];
    Ok(DataFrame::new_infer_height(columns)?)
}

/// The pairs stably sorted by pair_orders, largest first (a counting sort: counts are small).
fn by_count_desc(pairs: &[(u32, u32, u32)]) -> Vec<(u32, u32, u32)> {
    let max = pairs.iter().map(|p| p.2).max().unwrap_or(0) as usize;
    if max > 4 * pairs.len() + 1024 {
        let mut out = pairs.to_vec();
        out.sort_by_key(|p| std::cmp::Reverse(p.2));
        return out;
    }
    let mut start = vec![0usize; max + 2];
    for p in pairs {
        start[max - p.2 as usize + 1] += 1;
    }
    for k in 1..start.len() {
        start[k] += start[k - 1];
    }
    let mut out = vec![(0u32, 0u32, 0u32); pairs.len()];
    for &p in pairs {
        let slot = &mut start[max - p.2 as usize];
        out[*slot] = p;
        *slot += 1;
    }
    out
}

/// Indices of the pairs that are among the K strongest partners of either of their items:
/// strongest = most pair_orders, then highest lift, then smallest partner.
fn top_per_item(pairs: &[(u32, u32, u32)], k: usize, lift: &dyn Fn(&(u32, u32, u32)) -> f64) -> Vec<usize> {
    // Each pair seen from both items: (item, partner, pair index).
    let mut half: Vec<(u32, u32, usize)> = Vec::with_capacity(pairs.len() * 2);
    for (i, p) in pairs.iter().enumerate() {
        half.push((p.0, p.1, i));
        half.push((p.1, p.0, i));
    }
    half.sort_by(|x, y| {
        let (px, py) = (&pairs[x.2], &pairs[y.2]);
        x.0.cmp(&y.0).then(py.2.cmp(&px.2)).then(lift(py).total_cmp(&lift(px))).then(x.1.cmp(&y.1))
    });
    let mut keep = vec![false; pairs.len()];
    let mut r = 0;
    while r < half.len() {
        let item = half[r].0;
        let mut taken = 0;
        while r < half.len() && half[r].0 == item {
            if taken < k {
                keep[half[r].2] = true;
                taken += 1;
            }
            r += 1;
        }
    }
    (0..pairs.len()).filter(|&i| keep[i]).collect()
}

/// Partners `top_pairs` keeps per product.
pub const TOP_PAIRS_PER_PRODUCT: u32 = 5;
/// Purchase orders a pair must share to be ranked in `top_pairs` (lift of rarer pairs is noise).
pub const TOP_PAIRS_MIN_ORDERS: i64 = 5;
/// `basket_pairs` rows past which the run warns (worth a higher threshold or `--top-per-item`).
pub const LARGE_PAIR_TABLE: usize = 1_000_000;

/// `top_pairs` (issue 15): per product, its strongest partners, for a "bought together" panel. A
/// pair of `basket_pairs` with at least [`TOP_PAIRS_MIN_ORDERS`] purchase orders is a partner of
/// both its products; each product's partners are ranked by lift (highest first), then
/// pair_orders (most first), then partner id, and the first [`TOP_PAIRS_PER_PRODUCT`] are kept.
/// Columns: `product_id`, `rank`, `partner_id`, `pair_orders`, `support`, `confidence` (of the
/// product's orders, the share with the partner), `lift`; with names, `name` and `partner_name`
/// after the ids. Sorted by product_id, then rank.
pub fn top_pairs(basket_pairs: &DataFrame) -> Result<DataFrame> {
    let named = basket_pairs.column("name_a").is_ok();
    let side = |me: &str, other: &str, me_name: &str, other_name: &str, confidence: &str| {
        let mut cols = vec![col(me).alias("product_id")];
        if named {
            cols.push(col(me_name).alias("name"));
        }
        cols.push(col(other).alias("partner_id"));
        if named {
            cols.push(col(other_name).alias("partner_name"));
        }
        cols.extend([col("pair_orders"), col("support"), col(confidence).alias("confidence"), col("lift")]);
        basket_pairs.clone().lazy().filter(col("pair_orders").cast(DataType::Int64).gt_eq(lit(TOP_PAIRS_MIN_ORDERS))).select(cols)
    };
    let both = concat(
        [
            side("product_a", "product_b", "name_a", "name_b", "confidence_a_to_b"),
            side("product_b", "product_a", "name_b", "name_a", "confidence_b_to_a"),
        ],
        UnionArgs::default(),
    )?;
    let ranked = both
        .sort_by_exprs(
            [col("product_id"), col("lift"), col("pair_orders"), col("partner_id")],
            SortMultipleOptions::default().with_order_descending_multi([false, true, true, false]),
        )
        .with_column((int_range(lit(0), len(), 1, DataType::Int32).over([col("product_id")])? + lit(1)).alias("rank"))
        .filter(col("rank").lt_eq(lit(TOP_PAIRS_PER_PRODUCT as i32)));
    let mut order = vec![col("product_id")];
    if named {
        order.push(col("name"));
    }
    order.extend([col("rank"), col("partner_id")]);
    if named {
        order.push(col("partner_name"));
    }
    order.extend([col("pair_orders"), col("support"), col("confidence"), col("lift")]);
    Ok(ranked.select(order).collect()?)
}
