//! Frequent itemsets (the kernel behind `itemsets` and `rules`): every set of 1..=`max_len` item
//! codes held by at least `threshold` baskets, with its count.
//!
//! The method is depth-first pattern growth over projected databases with occurrence delivery
//! (the scheme of Uno et al.'s LCM and of FP-growth's conditional databases, on flat arrays rather
//! than a tree):
//!
//! 1. Items in fewer baskets than the threshold are dropped (an itemset is never more frequent
//!    than its items). The frequent ones are ranked by ascending count, and every basket becomes
//!    the sorted ranks of its frequent items, so a prefix starts with its rarest item and its
//!    projected database stays small.
//! 2. The projected database of a prefix is the list of `(basket, position)` pairs whose suffix
//!    `basket[position..]` follows the prefix's last item. One counting pass over those suffixes
//!    gives the count of every one-item extension; the frequent extensions are reported, and, when
//!    they can still grow, their own projected databases are delivered in one more pass (a bucket
//!    sort by extension item).
//! 3. The first items are shared out over the threads; each thread has its own counters and
//!    buckets. The result is sorted, so it never depends on the thread count.
//!
//! Memory: the ranked baskets (4 bytes an item occurrence), the first-level databases (8 bytes an
//! occurrence), one projected database per depth per thread, and the itemsets found. Never a
//! basket × item matrix (mlxtend's one-hot frame) and never a candidate set of all k-subsets.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rayon::prelude::*;

use super::baskets::Csr;

/// Frequent itemsets as one flat array: `(offsets, items, orders)`, set `i` being
/// `items[offsets[i]..offsets[i + 1]]` (item codes ascending), held by `orders[i]` baskets; sorted by
/// size, then by codes lexicographically.
pub type Itemsets = (Vec<usize>, Vec<u32>, Vec<u32>);

/// More itemsets than the cap: mining stopped (the count reached when it stopped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooMany(pub usize);

/// One pass's scratch: a counter per ranked item and the list of items it touched.
struct Scratch {
    count: Vec<u32>,
    touched: Vec<u32>,
    /// Per ranked item, its bucket while a projected database is delivered (else `u32::MAX`).
    slot: Vec<u32>,
}

/// Every itemset of 1..=`max_len` items held by at least `threshold` (>= 1) baskets of `baskets`
/// (each basket's codes sorted ascending without repeats, as [`Csr`] baskets are). Stops with
/// [`TooMany`] as soon as more than `cap` itemsets are found.
pub fn mine(baskets: &Csr, n_items: usize, threshold: u32, max_len: usize, cap: usize) -> Result<Itemsets, TooMany> {
    let threshold = threshold.max(1);
    // 1. Frequent items, ranked by ascending count (ties: smaller code first).
    let mut item_count = vec![0u32; n_items];
    for &it in &baskets.items {
        item_count[it as usize] += 1;
    }
    let mut frequent: Vec<u32> = (0..n_items as u32).filter(|&i| item_count[i as usize] >= threshold).collect();
    frequent.sort_unstable_by_key(|&i| (item_count[i as usize], i));
    if frequent.len() > cap {
        return Err(TooMany(frequent.len()));
    }
    let n = frequent.len();
    if n == 0 || max_len == 0 {
        return Ok((vec![0], Vec::new(), Vec::new()));
    }
    const NO_RANK: u32 = u32::MAX;
    let mut rank = vec![NO_RANK; n_items];
    for (r, &code) in frequent.iter().enumerate() {
        rank[code as usize] = r as u32;
    }
    // The ranked baskets (only those with at least two frequent items can extend a prefix).
    let mut offsets = vec![0usize];
    let mut ranked: Vec<u32> = Vec::new();
    let mut rank_count = vec![0u32; n];
    for i in 0..baskets.len() {
        let start = ranked.len();
        ranked.extend(baskets.of(i).iter().map(|&c| rank[c as usize]).filter(|&r| r != NO_RANK));
        for &r in &ranked[start..] {
            rank_count[r as usize] += 1;
        }
        if ranked.len() - start < 2 {
            ranked.truncate(start);
            continue;
        }
        ranked[start..].sort_unstable();
        offsets.push(ranked.len());
    }
    let db = Csr { offsets, items: ranked };

    // The size-1 itemsets, then the growth from each first item.
    let found = AtomicUsize::new(n);
    let stop = AtomicBool::new(false);
    let mut out: Vec<(Vec<u32>, u32)> = (0..n).map(|r| (vec![r as u32], rank_count[r])).collect();
    if max_len >= 2 {
        // First-level databases: for each rank r, the (basket, position after r) of its occurrences.
        let mut first_off = vec![0usize; n + 1];
        for &r in &db.items {
            first_off[r as usize + 1] += 1;
        }
        for r in 0..n {
            first_off[r + 1] += first_off[r];
        }
        let mut fill = first_off.clone();
        let mut first: Vec<(u32, u32)> = vec![(0, 0); db.items.len()];
        for b in 0..db.len() {
            let base = db.offsets[b];
            for (p, &r) in db.of(b).iter().enumerate() {
                let pos = (base + p + 1) as u32;
                first[fill[r as usize]] = (b as u32, pos);
                fill[r as usize] += 1;
            }
        }
        drop(fill);
        let grown: Vec<Vec<(Vec<u32>, u32)>> = (0..n)
            .into_par_iter()
            .map_init(
                || Scratch { count: vec![0; n], touched: Vec::new(), slot: vec![u32::MAX; n] },
                |scratch, r| {
                    let mut local = Vec::new();
                    if !stop.load(Ordering::Relaxed) {
                        let proj = &first[first_off[r]..first_off[r + 1]];
                        let mut prefix = vec![r as u32];
                        grow(&db, proj, &mut prefix, max_len, threshold, scratch, &mut local, &found, cap, &stop);
                    }
                    local
                },
            )
            .collect();
        if stop.load(Ordering::Relaxed) {
            return Err(TooMany(found.load(Ordering::Relaxed)));
        }
        out.extend(grown.into_iter().flatten());
    }
    // Back to item codes, each set ascending; sorted by size, then codes.
    let mut sets: Vec<(Vec<u32>, u32)> = out
        .into_iter()
        .map(|(ranks, count)| {
            let mut codes: Vec<u32> = ranks.iter().map(|&r| frequent[r as usize]).collect();
            codes.sort_unstable();
            (codes, count)
        })
        .collect();
    sets.par_sort_unstable_by(|a, b| a.0.len().cmp(&b.0.len()).then_with(|| a.0.cmp(&b.0)));
    let mut offsets = Vec::with_capacity(sets.len() + 1);
    let (mut items, mut orders) = (Vec::new(), Vec::with_capacity(sets.len()));
    offsets.push(0);
    for (codes, count) in sets {
        items.extend_from_slice(&codes);
        offsets.push(items.len());
        orders.push(count);
    }
    Ok((offsets, items, orders))
}

/// Extend `prefix` (whose projected database is `proj`) by one item, report the frequent
/// extensions into `out` and recurse while the sets may still grow.
#[allow(clippy::too_many_arguments)]
fn grow(
    db: &Csr,
    proj: &[(u32, u32)],
    prefix: &mut Vec<u32>,
    max_len: usize,
    threshold: u32,
    s: &mut Scratch,
    out: &mut Vec<(Vec<u32>, u32)>,
    found: &AtomicUsize,
    cap: usize,
    stop: &AtomicBool,
) {
    if proj.len() < threshold as usize || prefix.len() >= max_len || stop.load(Ordering::Relaxed) {
        return;
    }
    // Count every extension over the suffixes.
    for &(b, pos) in proj {
        let end = db.offsets[b as usize + 1];
        for &r in &db.items[pos as usize..end] {
            let c = &mut s.count[r as usize];
            if *c == 0 {
                s.touched.push(r);
            }
            *c += 1;
        }
    }
    let mut frequent: Vec<(u32, u32)> = Vec::new();
    for &r in &s.touched {
        let c = s.count[r as usize];
        if c >= threshold {
            frequent.push((r, c));
        }
        s.count[r as usize] = 0;
    }
    s.touched.clear();
    if frequent.is_empty() {
        return;
    }
    frequent.sort_unstable();
    if found.fetch_add(frequent.len(), Ordering::Relaxed) + frequent.len() > cap {
        stop.store(true, Ordering::Relaxed);
        return;
    }
    for &(r, c) in &frequent {
        let mut set = prefix.clone();
        set.push(r);
        out.push((set, c));
    }
    if prefix.len() + 1 >= max_len {
        return;
    }
    // Deliver the projected databases of the frequent extensions (a bucket sort by item).
    let mut off = vec![0usize; frequent.len() + 1];
    for (k, &(r, c)) in frequent.iter().enumerate() {
        s.slot[r as usize] = k as u32;
        off[k + 1] = off[k] + c as usize;
    }
    let mut fill = off.clone();
    let mut child: Vec<(u32, u32)> = vec![(0, 0); off[frequent.len()]];
    for &(b, pos) in proj {
        let end = db.offsets[b as usize + 1];
        for q in pos as usize..end {
            let k = s.slot[db.items[q] as usize];
            if k != u32::MAX {
                child[fill[k as usize]] = (b, (q + 1) as u32);
                fill[k as usize] += 1;
            }
        }
    }
    for &(r, _) in &frequent {
        s.slot[r as usize] = u32::MAX;
    }
    for (k, &(r, _)) in frequent.iter().enumerate() {
        prefix.push(r);
        grow(db, &child[off[k]..off[k + 1]], prefix, max_len, threshold, s, out, found, cap, stop);
        prefix.pop();
    }
}
