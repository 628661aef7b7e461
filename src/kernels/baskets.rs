//! Baskets: the distinct items of every purchase order as one flat array (CSR), built from coded
//! lines, and the per-customer pass over them (favourite item, distinct customers per item).
//!
//! Items of an order are the distinct items on its positive lines; only purchase orders count,
//! guest orders included. Item codes are in key order, so `a < b` on codes is `a < b` on items.

use rayon::prelude::*;

use super::codes::{self, NONE};

/// Sets of item codes in one flat array: set `i` is `items[offsets[i]..offsets[i + 1]]`. As
/// baskets, one set per order code (orders that are not purchases hold nothing), each sorted
/// ascending without repeats.
#[derive(Debug, Clone, Default)]
pub struct Csr {
    pub offsets: Vec<usize>,
    pub items: Vec<u32>,
}

impl Csr {
    /// Number of sets.
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The items of set `i`.
    pub fn of(&self, i: usize) -> &[u32] {
        &self.items[self.offsets[i]..self.offsets[i + 1]]
    }
}

/// The baskets of coded lines: per order code, the distinct item codes of the lines `is_item`
/// accepts. `clustered` says each order's lines are consecutive (one streaming pass then builds them).
pub fn build(
    line_order: &[u32],
    line_items: &[u32],
    n_orders: usize,
    clustered: bool,
    is_item: impl Fn(usize) -> bool + Sync,
) -> Csr {
    let is_item = |row: usize| line_items[row] != NONE && is_item(row);
    let (offsets, items) = if clustered {
        clustered_baskets(line_order, line_items, n_orders, is_item)
    } else {
        scattered_baskets(line_order, line_items, n_orders, is_item)
    };
    Csr { offsets, items }
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
pub(crate) fn distinct_sets(offsets: &[usize], items: &[u32]) -> (Vec<usize>, Vec<u32>) {
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
    /// Per customer code: the items of their orders' baskets added up (their basket sizes).
    pub basket_items: Vec<u32>,
}

/// Per item, its distinct customers; with `favourite`, also each customer's favourite item (per
/// customer, count per item the purchase orders holding it). Customers are shared out across threads.
///
/// `order_customer` holds each order's customer code ([`NONE`] for guest and rejected orders).
pub fn customer_items(order_customer: &[u32], n_customers: usize, b: &Csr, n_items: usize, favourite: bool) -> CustomerItems {
    // The items of each customer's orders, customer after customer: a counting sort of the baskets
    // by customer that reads them once, in order (looking each order's basket up customer by
    // customer instead waits on memory for every order).
    let mut counts = vec![0u32; n_customers];
    for (o, &cu) in order_customer.iter().enumerate() {
        if cu != NONE {
            counts[cu as usize] += b.of(o).len() as u32;
        }
    }
    let offsets = codes::offsets_from_counts(&counts);
    let mut cursor = offsets.clone();
    let mut items = vec![0u32; offsets[n_customers]];
    for (o, &cu) in order_customer.iter().enumerate() {
        if cu != NONE {
            let at = &mut cursor[cu as usize];
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
    CustomerItems { favourite: favourite_of, customers, basket_items: counts }
}
