//! Basket co-occurrence (SPEC "Table products" and "Table basket_pairs").
//!
//! Items of an order are the distinct items on its positive lines; only purchase orders count,
//! guest orders included. The pair counting is a purpose-built kernel rather than a self-join:
//! items are encoded to dense ids in item order (so `a < b` on ids is `a < b` on items), each
//! purchase order's ids are sorted and deduplicated into one flat array (CSR), items seen in fewer
//! orders than the threshold are dropped before pairing (a pair is never more frequent than either
//! of its items), and pairs are counted item by item: the later items `b` of every order holding
//! `a` are gathered into a bucket per `a` (a one-pass bucket sort, filled on both cores), and each
//! bucket is counted with a small dense counter per thread. Memory: the CSR (one u32 per distinct
//! order item), the buckets (one u32 per pair occurrence, at most 256 MiB per pass over a
//! range of first items), a counter of one u32 per item per thread, and the kept pairs. No
//! order × item matrix exists.

use polars::prelude::*;
use rayon::prelude::*;
use serde::Serialize;

use crate::codes::{self, NONE};
use crate::error::Result;
use crate::exprs::round_money_value;
use crate::input::col_names as c;
use crate::orders::Cleaned;
use crate::pipeline::Stopwatch;

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

/// The distinct items of every purchase order, as CSR over order codes: order `o` holds
/// `items[offsets[o]..offsets[o + 1]]`, sorted ascending, no duplicates. Item codes are in key
/// order. Orders that are not purchases hold nothing.
pub struct Baskets {
    pub offsets: Vec<usize>,
    pub items: Vec<u32>,
    /// Item key per item code.
    pub keys: Column,
    /// Item code of each line ([`NONE`] for a null item).
    pub line_items: Vec<u32>,
}

impl Baskets {
    /// Number of item codes.
    pub fn n_items(&self) -> usize {
        self.keys.len()
    }

    /// The items of order `o`.
    pub fn of(&self, o: usize) -> &[u32] {
        &self.items[self.offsets[o]..self.offsets[o + 1]]
    }
}

/// Whether a line is an item line: a positive line of a purchase order.
fn item_line(cleaned: &Cleaned, row: usize) -> bool {
    cleaned.index.purchase[cleaned.index.line_order[row] as usize] && cleaned.index.positive[row]
}

/// Item codes of every line, numbered in item order, and the item of each code.
pub struct ItemCodes {
    codes: codes::Codes,
    keys: Column,
}

/// Code the item column `column` (the product, or another item column) of the used lines. Needs
/// only the lines, so it can run beside the order index (see [`crate::orders::clean`]).
pub fn encode_items(lines: &DataFrame, column: &str) -> Result<ItemCodes> {
    let col = lines.column(column)?;
    let mut codes = codes::encode(col)?;
    codes.sort_by_key(col)?;
    let keys = codes.keys(col)?;
    Ok(ItemCodes { codes, keys })
}

/// Build the baskets from the coded items of the cleaned lines.
pub fn baskets(cleaned: &Cleaned, items: ItemCodes) -> Baskets {
    let ItemCodes { codes: item_codes, keys } = items;
    let line_order = &cleaned.index.line_order;
    let is_item = |row: usize| item_codes.codes[row] != NONE && item_line(cleaned, row);
    // When each order's lines are consecutive, one streaming pass builds the baskets.
    let (offsets, items) = if cleaned.index.clustered {
        clustered_baskets(line_order, &item_codes.codes, cleaned.index.len(), is_item)
    } else {
        scattered_baskets(line_order, &item_codes.codes, cleaned.index.len(), is_item)
    };
    Baskets { offsets, items, keys, line_items: item_codes.codes }
}

/// Sort and deduplicate `items[from..]` in place; returns the new end.
fn sort_dedup_tail(items: &mut Vec<u32>, from: usize) -> usize {
    items[from..].sort_unstable();
    let mut w = from;
    for r in from..items.len() {
        if w == from || items[r] != items[w - 1] {
            items[w] = items[r];
            w += 1;
        }
    }
    items.truncate(w);
    w
}

/// Each set `items[offsets[i]..offsets[i + 1]]` sorted and without repeats, as a new CSR. Large
/// inputs are cut into consecutive ranges of sets, one per thread.
fn distinct_sets(offsets: &[usize], items: &[u32]) -> (Vec<usize>, Vec<u32>) {
    if offsets.len() < 2 {
        return (vec![0], Vec::new());
    }
    let n = offsets.len() - 1;
    let parts = if items.len() < codes::PARALLEL_MIN { 1 } else { rayon::current_num_threads().max(1) };
    let cuts: Vec<usize> = (0..=parts).map(|p| n * p / parts).collect();
    let pieces: Vec<(Vec<usize>, Vec<u32>)> = (0..parts)
        .into_par_iter()
        .map(|p| {
            let sets = &offsets[cuts[p]..=cuts[p + 1]];
            let mut out: Vec<u32> = Vec::with_capacity(sets[sets.len() - 1] - sets[0]);
            let mut out_offsets = Vec::with_capacity(sets.len());
            out_offsets.push(0);
            for w in sets.windows(2) {
                let start = out.len();
                out.extend_from_slice(&items[w[0]..w[1]]);
                out_offsets.push(sort_dedup_tail(&mut out, start));
            }
            (out_offsets, out)
        })
        .collect();
    concat_csr(pieces)
}

/// CSR pieces over consecutive ranges of sets, joined into one.
fn concat_csr(pieces: Vec<(Vec<usize>, Vec<u32>)>) -> (Vec<usize>, Vec<u32>) {
    let mut pieces = pieces.into_iter();
    let (mut offsets, mut items) = pieces.next().unwrap_or_else(|| (vec![0], Vec::new()));
    for (off, its) in pieces {
        let shift = items.len();
        offsets.extend(off.iter().skip(1).map(|o| o + shift));
        items.extend_from_slice(&its);
    }
    (offsets, items)
}

/// Baskets from lines whose order codes never decrease: append, and close each order as it ends.
/// Enough lines are cut in two at an order boundary and the halves built on both cores: each half
/// holds a consecutive range of orders, so the two results simply follow each other.
fn clustered_baskets(
    line_order: &[u32],
    line_items: &[u32],
    n_orders: usize,
    is_item: impl Fn(usize) -> bool + Sync,
) -> (Vec<usize>, Vec<u32>) {
    let rows = line_order.len();
    let mut mid = rows / 2;
    while mid > 0 && mid < rows && line_order[mid] == line_order[mid - 1] {
        mid += 1;
    }
    if rows < codes::PARALLEL_MIN || mid == 0 || mid >= rows {
        return clustered_range(line_order, line_items, 0..rows, 0, n_orders, &is_item);
    }
    let split = line_order[mid] as usize;
    let (a, b) = rayon::join(
        || clustered_range(line_order, line_items, 0..mid, 0, split, &is_item),
        || clustered_range(line_order, line_items, mid..rows, split, n_orders, &is_item),
    );
    concat_csr(vec![a, b])
}

/// The baskets of orders `first..end` from the lines `rows` (which hold exactly those orders).
fn clustered_range(
    line_order: &[u32],
    line_items: &[u32],
    rows: std::ops::Range<usize>,
    first: usize,
    end: usize,
    is_item: &(impl Fn(usize) -> bool + Sync),
) -> (Vec<usize>, Vec<u32>) {
    let mut offsets = Vec::with_capacity(end - first + 1);
    let mut items = Vec::with_capacity(rows.len());
    offsets.push(0);
    let mut start = 0;
    for row in rows {
        let o = line_order[row] as usize - first;
        while offsets.len() <= o {
            start = sort_dedup_tail(&mut items, start);
            offsets.push(start);
        }
        if is_item(row) {
            items.push(line_items[row]);
        }
    }
    while offsets.len() <= end - first {
        start = sort_dedup_tail(&mut items, start);
        offsets.push(start);
    }
    (offsets, items)
}

/// Baskets from lines in any order: count per order, place, then sort and deduplicate each.
fn scattered_baskets(
    line_order: &[u32],
    line_items: &[u32],
    n_orders: usize,
    is_item: impl Fn(usize) -> bool + Sync,
) -> (Vec<usize>, Vec<u32>) {
    let order_of: Vec<u32> =
        (0..line_order.len()).into_par_iter().map(|row| if is_item(row) { line_order[row] } else { NONE }).collect();
    let (offsets, rows) = codes::group_by_code(n_orders, &order_of);
    drop(order_of);
    let items: Vec<u32> = rows.par_iter().map(|&row| line_items[row as usize]).collect();
    distinct_sets(&offsets, &items)
}

/// What one pass over each customer's purchase orders finds (see [`customer_items`]).
pub struct CustomerItems {
    /// Per customer code: the item on most of the customer's purchase orders, ties to the
    /// smallest item; [`NONE`] for customers without item lines. Empty unless asked for.
    pub favourite: Vec<u32>,
    /// Per item code: distinct known customers whose purchase orders hold it.
    pub customers: Vec<u32>,
}

/// Per item, its distinct customers; with `favourite`, also each customer's favourite item (per
/// customer, count per item the purchase orders holding it). Customers are shared out across threads.
pub fn customer_items(cleaned: &Cleaned, b: &Baskets, favourite: bool) -> CustomerItems {
    let ix = &cleaned.index;
    let n_customers = ix.line_customer.len();
    let n_items = b.n_items();
    // The items of each customer's orders, customer after customer: a counting sort of the baskets
    // by customer that reads them once, in order (looking each order's basket up customer by
    // customer instead waits on memory for every order).
    let mut counts = vec![0u32; n_customers];
    for o in 0..ix.len() {
        if ix.customer(o) != NONE {
            counts[ix.customer(o) as usize] += b.of(o).len() as u32;
        }
    }
    let offsets = codes::offsets_from_counts(&counts);
    let mut cursor = offsets.clone();
    let mut items = vec![0u32; offsets[n_customers]];
    for o in 0..ix.len() {
        if ix.customer(o) != NONE {
            let at = &mut cursor[ix.customer(o) as usize];
            // Baskets hold a few items: a plain loop beats a memcpy call per basket.
            for &it in b.of(o) {
                items[*at] = it;
                *at += 1;
            }
        }
    }
    drop(cursor);
    let parts = (rayon::current_num_threads() * 4).max(1);
    // Per range of customers: (customer, favourite item) pairs and per-item customer counts.
    type Part = (Vec<(u32, u32)>, Vec<u32>);
    let results: Vec<Part> = (0..parts)
        .into_par_iter()
        .map(|p| {
            let customers = n_customers * p / parts..n_customers * (p + 1) / parts;
            let items_of = |cu: usize| &items[offsets[cu]..offsets[cu + 1]];
            let (mut fav, mut per_item) = (Vec::new(), vec![0u32; n_items]);
            if favourite {
                // The items of all the customer's orders, sorted: each basket holds an item at
                // most once, so each run of one item is one order holding it.
                let mut scratch = Vec::<u32>::new();
                for cu in customers {
                    scratch.clear();
                    scratch.extend_from_slice(items_of(cu));
                    scratch.sort_unstable();
                    let (mut best, mut best_n) = (NONE, 0u32);
                    for run in scratch.chunk_by(|x, y| x == y) {
                        per_item[run[0] as usize] += 1;
                        // Items ascend, so a strict `>` keeps the smallest among ties.
                        if run.len() as u32 > best_n {
                            best_n = run.len() as u32;
                            best = run[0];
                        }
                    }
                    if best != NONE {
                        fav.push((cu as u32, best));
                    }
                }
            } else {
                // Distinct customers only: the last customer counted for each item, no sorting.
                let mut last = vec![NONE; n_items];
                for cu in customers {
                    for &it in items_of(cu) {
                        if last[it as usize] != cu as u32 {
                            last[it as usize] = cu as u32;
                            per_item[it as usize] += 1;
                        }
                    }
                }
            }
            (fav, per_item)
        })
        .collect();
    let mut customers = vec![0u32; n_items];
    let mut favourite_of = if favourite { vec![NONE; n_customers] } else { Vec::new() };
    for (fav, per_item) in results {
        customers.iter_mut().zip(&per_item).for_each(|(x, y)| *x += y);
        for (cu, item) in fav {
            favourite_of[cu as usize] = item;
        }
    }
    CustomerItems { favourite: favourite_of, customers }
}

/// What the pair kernel found.
pub struct PairCounts {
    /// `(a, b, pair_orders)` with `a < b` and pair_orders >= threshold, ordered by a, then b.
    pub pairs: Vec<(u32, u32, u32)>,
    pub items_kept: u64,
    pub baskets_paired: u64,
    pub baskets_skipped: u64,
}

/// Count, for every pair of item ids `a < b`, the baskets holding both, keeping pairs with at
/// least `threshold` baskets. Basket `i` is `items[offsets[i]..offsets[i + 1]]` (any order,
/// duplicates allowed). Baskets with more than `max_items` distinct items are skipped.
pub fn count_pairs(
    offsets: &[usize],
    items: &[u32],
    n_items: usize,
    threshold: u32,
    max_items: Option<usize>,
) -> PairCounts {
    count_pairs_within(offsets, items, n_items, threshold, max_items, PAIR_BUDGET)
}

/// [`count_pairs`] holding at most `budget` pair occurrences in memory per pass.
pub fn count_pairs_within(
    offsets: &[usize],
    items: &[u32],
    n_items: usize,
    threshold: u32,
    max_items: Option<usize>,
    budget: usize,
) -> PairCounts {
    let n_baskets = offsets.len().saturating_sub(1);
    // Distinct items per basket (copied only when some basket is unsorted or repeats an item).
    let distinct = (0..n_baskets).all(|i| items[offsets[i]..offsets[i + 1]].windows(2).all(|w| w[0] < w[1]));
    let (clean, clean_off): (std::borrow::Cow<[u32]>, std::borrow::Cow<[usize]>) = if distinct {
        (items.into(), offsets.into())
    } else {
        let (clean_off, clean) = distinct_sets(offsets, items);
        (clean.into(), clean_off.into())
    };
    // Baskets too large to pair, and how many baskets hold each item.
    let too_large = |i: usize| max_items.is_some_and(|m| clean_off[i + 1] - clean_off[i] > m);
    let mut skipped = 0u64;
    let mut item_baskets = vec![0u32; n_items];
    for i in 0..n_baskets {
        if too_large(i) {
            skipped += 1;
        } else {
            for &it in &clean[clean_off[i]..clean_off[i + 1]] {
                item_baskets[it as usize] += 1;
            }
        }
    }
    // Keep only items that can reach the threshold; baskets of fewer than two kept items drop out.
    // When nothing is dropped the baskets are paired as they are (no copy).
    let keep: Vec<bool> = item_baskets.iter().map(|&n| n >= threshold).collect();
    let items_kept = keep.iter().filter(|k| **k).count();
    let (f_items, f_off): (std::borrow::Cow<[u32]>, std::borrow::Cow<[usize]>) =
        if skipped == 0 && items_kept == item_baskets.iter().filter(|n| **n > 0).count() {
            (clean, clean_off)
        } else {
            let mut f_items: Vec<u32> = Vec::with_capacity(clean.len());
            let mut f_off: Vec<usize> = vec![0];
            for i in (0..n_baskets).filter(|&i| !too_large(i)) {
                let start = f_items.len();
                f_items.extend(clean[clean_off[i]..clean_off[i + 1]].iter().copied().filter(|&it| keep[it as usize]));
                if f_items.len() - start < 2 {
                    f_items.truncate(start);
                } else {
                    f_off.push(f_items.len());
                }
            }
            (f_items.into(), f_off.into())
        };
    let paired = f_off.windows(2).filter(|w| w[1] - w[0] >= 2).count();
    let pairs = count_sorted_pairs(&f_items, &f_off, n_items, threshold, budget);
    PairCounts { pairs, items_kept: items_kept as u64, baskets_paired: paired as u64, baskets_skipped: skipped }
}

/// Pair occurrences held in memory at once (u32 each): 64M = 256 MiB. Larger inputs are counted
/// in several passes over the baskets, one range of first items at a time.
const PAIR_BUDGET: usize = 64 << 20;

/// The counting core. Baskets are sorted and distinct (those of fewer than two items add nothing). For a range of
/// first items `a`, every basket's later items `b` are copied into a bucket per `a` (a one-pass
/// bucket sort), then each bucket is counted with a dense per-thread counter, items in parallel.
/// Ranges are chosen so a pass holds at most `budget` occurrences.
fn count_sorted_pairs(
    items: &[u32],
    offsets: &[usize],
    n_items: usize,
    threshold: u32,
    budget: usize,
) -> Vec<(u32, u32, u32)> {
    let n = offsets.len() - 1;
    // Baskets are split into parts filled in parallel; per part, the occurrences per first item
    // (a at position p of a basket of length L has L - p - 1 partners).
    let parts = (rayon::current_num_threads() * 2).clamp(1, n.max(1));
    let bounds: Vec<usize> = (0..=parts).map(|p| n * p / parts).collect();
    let per_part: Vec<Vec<usize>> = (0..parts)
        .into_par_iter()
        .map(|p| {
            let mut v = vec![0usize; n_items];
            for bk in bounds[p]..bounds[p + 1] {
                let seg = &items[offsets[bk]..offsets[bk + 1]];
                for (i, &a) in seg.iter().enumerate() {
                    v[a as usize] += seg.len() - i - 1;
                }
            }
            v
        })
        .collect();
    let per_a: Vec<usize> = (0..n_items).map(|a| per_part.iter().map(|v| v[a]).sum()).collect();
    let mut out = Vec::new();
    let mut lo = 0usize;
    while lo < n_items {
        // The largest range [lo, hi) within the budget (at least one item).
        let mut hi = lo;
        let mut size = 0usize;
        while hi < n_items && (hi == lo || size + per_a[hi] <= budget) {
            size += per_a[hi];
            hi += 1;
        }
        if size > 0 {
            let split = Split { items, offsets, bounds: &bounds, per_part: &per_part };
            out.extend(count_range(&split, &per_a, lo as u32, hi as u32, n_items, threshold));
        }
        lo = hi;
    }
    out
}

/// Baskets in CSR form, split into parts with their per-item occurrence counts.
struct Split<'a> {
    items: &'a [u32],
    offsets: &'a [usize],
    bounds: &'a [usize],
    per_part: &'a [Vec<usize>],
}

fn count_range(s: &Split, per_a: &[usize], lo: u32, hi: u32, n_items: usize, threshold: u32) -> Vec<(u32, u32, u32)> {
    let width = (hi - lo) as usize;
    let mut start = Vec::with_capacity(width + 1);
    start.push(0usize);
    for a in lo..hi {
        start.push(start[start.len() - 1] + per_a[a as usize]);
    }
    let mut partners = vec![0u32; start[width]];
    let buf = codes::DisjointWrites(partners.as_mut_ptr());
    let buf = &buf;
    (0..s.per_part.len()).into_par_iter().for_each(|p| {
        // This part's sub-range of each bucket starts after the earlier parts' shares.
        let mut cursor: Vec<usize> =
            (0..width).map(|k| start[k] + s.per_part[..p].iter().map(|v| v[lo as usize + k]).sum::<usize>()).collect();
        for bk in s.bounds[p]..s.bounds[p + 1] {
            let seg = &s.items[s.offsets[bk]..s.offsets[bk + 1]];
            // Items are sorted: the first items in range form one run.
            let from = seg.partition_point(|&x| x < lo);
            for i in from..seg.len().saturating_sub(1) {
                let a = seg[i];
                if a >= hi {
                    break;
                }
                let k = (a - lo) as usize;
                let rest = &seg[i + 1..];
                // SAFETY: [cursor[k], cursor[k] + rest.len()) lies inside this part's share of
                // bucket k, which no other part writes; the counts were computed from the same baskets.
                // (A plain loop: the copies are a few items long, too short for a memcpy call.)
                for (j, &x) in rest.iter().enumerate() {
                    unsafe { buf.0.add(cursor[k] + j).write(x) };
                }
                cursor[k] += rest.len();
            }
        }
    });
    let partners = &partners;
    let per_item: Vec<Vec<(u32, u32, u32)>> = (lo..hi)
        .into_par_iter()
        .with_max_len(16)
        .map_init(
            || (vec![0u32; n_items], Vec::<u32>::new()),
            |(counter, touched), a| {
                let k = (a - lo) as usize;
                for &b in &partners[start[k]..start[k + 1]] {
                    let slot = &mut counter[b as usize];
                    if *slot == 0 {
                        touched.push(b);
                    }
                    *slot += 1;
                }
                let mut found = Vec::new();
                for &b in touched.iter() {
                    let c = std::mem::take(&mut counter[b as usize]);
                    if c >= threshold {
                        found.push((a, b, c));
                    }
                }
                touched.clear();
                // Only the kept pairs need ordering by b (most touched pairs fall below the threshold).
                found.sort_unstable_by_key(|p| p.1);
                found
            },
        )
        .collect();
    per_item.into_iter().flatten().collect()
}

/// Canonical name of the basket item column (the product, or `--item-col`).
pub const ITEM: &str = "item";

/// Build `products` and `basket_pairs` from the baskets of the cleaned lines. `per_customer` is
/// the per-customer pass over these baskets when the caller has it already.
pub fn basket_tables(
    cleaned: &Cleaned,
    b: &Baskets,
    per_customer: Option<&CustomerItems>,
    opts: &BasketOptions,
    money_decimals: u32,
    sw: &mut Stopwatch,
) -> Result<BasketTables> {
    let total_orders = cleaned.counts.purchase_orders;
    let n_items = b.n_items();
    let mut item_orders = vec![0u32; n_items];
    for &it in &b.items {
        item_orders[it as usize] += 1;
    }
    let threshold = opts.threshold(total_orders);
    // The products table (and the per-customer pass, when not done already) is mostly serial
    // passes: they run beside the pair kernel and fill its serial stretches.
    let (products, counted) = rayon::join(
        || {
            let own;
            let per_customer = match per_customer {
                Some(pc) => pc,
                None => {
                    own = customer_items(cleaned, b, false);
                    &own
                }
            };
            products_table(cleaned, b, per_customer, &item_orders, money_decimals)
        },
        || count_pairs(&b.offsets, &b.items, n_items, threshold.min(u32::MAX as u64) as u32, opts.max_basket_items),
    );
    let products = products?;
    sw.lap("products_and_pair_count");
    let basket_pairs = pairs_table(&counted.pairs, &b.keys, &item_orders, total_orders, opts.top_per_item)?;
    sw.lap("pairs_table");
    let stats = BasketStats {
        threshold,
        total_purchase_orders: total_orders,
        items: products.height() as u64,
        items_kept_for_pairing: counted.items_kept,
        orders_paired: counted.baskets_paired,
        orders_skipped_too_large: counted.baskets_skipped,
        distinct_pairs_counted: counted.pairs.len() as u64,
        pairs_kept: basket_pairs.height() as u64,
    };
    Ok(BasketTables { products, basket_pairs, stats })
}

/// `products`: per item on a positive line of a purchase order, its orders, support, distinct
/// known customers, quantity and revenue; sorted by orders descending, then item.
fn products_table(
    cleaned: &Cleaned,
    b: &Baskets,
    per_customer: &CustomerItems,
    item_orders: &[u32],
    money_decimals: u32,
) -> Result<DataFrame> {
    // Columns the dump lacks (customer, quantity, amount) are reported as unknown (null).
    let known = cleaned.has;
    let n_items = b.n_items();
    let customers = &per_customer.customers;
    let amount = codes::f64_values(cleaned.lines.column(c::AMOUNT)?)?;
    let quantity: Option<Vec<Option<f64>>> =
        if known.quantity { Some(cleaned.lines.column(c::QUANTITY)?.f64()?.iter().collect()) } else { None };
    let mut revenue = vec![0f64; n_items];
    let mut qty = vec![0f64; n_items];
    for (row, a) in amount.iter().enumerate() {
        let it = b.line_items[row];
        if it != NONE && item_line(cleaned, row) {
            revenue[it as usize] += a;
            if let Some(Some(q)) = quantity.as_ref().map(|v| v[row]) {
                qty[it as usize] += q;
            }
        }
    }
    let mut order: Vec<u32> = (0..n_items as u32).filter(|&i| item_orders[i as usize] > 0).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(item_orders[i as usize]), i));
    let idx: Vec<IdxSize> = order.iter().map(|&i| i as IdxSize).collect();
    let total = cleaned.counts.purchase_orders.max(1) as f64;
    let pick_f = |v: &[f64], known: bool| -> Column {
        let vals: Vec<Option<f64>> = order.iter().map(|&i| known.then(|| v[i as usize])).collect();
        Column::new("".into(), vals)
    };
    let columns = vec![
        b.keys.take_slice(&idx)?.with_name(c::PRODUCT.into()),
        Column::new("orders".into(), order.iter().map(|&i| item_orders[i as usize] as i64).collect::<Vec<_>>()),
        Column::new(
            "support".into(),
            order.iter().map(|&i| item_orders[i as usize] as f64 / total).collect::<Vec<_>>(),
        ),
        Column::new(
            "customers".into(),
            order.iter().map(|&i| known.customer.then(|| customers[i as usize] as i64)).collect::<Vec<_>>(),
        ),
        pick_f(&qty, known.quantity).with_name("quantity".into()),
        pick_f(&revenue.iter().map(|r| round_money_value(*r, money_decimals)).collect::<Vec<_>>(), known.amount)
            .with_name("revenue".into()),
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
