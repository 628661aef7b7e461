//! Pair counting over baskets (the kernel behind `basket_pairs`): for every pair of item codes
//! `a < b`, the baskets holding both. Items seen in fewer baskets than the threshold are dropped
//! before pairing (a pair is never more frequent than either of its items), and pairs are counted
//! item by item: the later items `b` of every basket holding `a` are gathered into a bucket per `a`
//! (a one-pass bucket sort, filled on both cores), and each bucket is counted with a small dense
//! counter per thread. Memory: the buckets (one u32 per pair occurrence, at most `budget` per pass
//! over a range of first items), a counter of one u32 per item per thread, and the kept pairs. No
//! basket × item matrix exists, and the work grows with pair occurrences, never with items².

use rayon::prelude::*;

use super::baskets::distinct_sets;
use super::codes;

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
pub const PAIR_BUDGET: usize = 64 << 20;

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
    count_buckets(&partners, &start, lo, hi, n_items, threshold)
}

/// Count the buckets of the first items `lo..hi` (bucket `a - lo` is `partners[start[k]..start[k + 1]]`,
/// the later items of every basket holding `a`) with a dense counter per thread, items in parallel:
/// the pairs `(a, b, n)` with `n >= threshold`, ordered by a, then b.
fn count_buckets(
    partners: &[u32],
    start: &[usize],
    lo: u32,
    hi: u32,
    n_items: usize,
    threshold: u32,
) -> Vec<(u32, u32, u32)> {
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

/// Baskets that can be read several times in a row, each time in the same order: the source of
/// [`count_pairs_streamed`] (a spill file read block by block). Each basket is handed over sorted
/// ascending without repeats.
pub trait BasketPasses {
    type Error;
    /// Call `f` on every basket, in order.
    fn each(&self, f: &mut dyn FnMut(&[u32])) -> Result<(), Self::Error>;
}

/// [`count_pairs_within`] over baskets that never need to be in memory together: the same pairs,
/// in the same order, holding at most `budget` pair occurrences (plus one counter per item per
/// thread). One pass finds each item's baskets (the threshold filter and the too-large baskets),
/// one counts each first item's partners, then one pass per range of first items fills its buckets.
pub fn count_pairs_streamed<B: BasketPasses>(
    baskets: &B,
    n_items: usize,
    threshold: u32,
    max_items: Option<usize>,
    budget: usize,
) -> Result<PairCounts, B::Error> {
    let too_large = |b: &[u32]| max_items.is_some_and(|m| b.len() > m);
    let mut skipped = 0u64;
    let mut item_baskets = vec![0u32; n_items];
    baskets.each(&mut |b| {
        if too_large(b) {
            skipped += 1;
        } else {
            for &it in b {
                item_baskets[it as usize] += 1;
            }
        }
    })?;
    let keep: Vec<bool> = item_baskets.iter().map(|&n| n >= threshold).collect();
    let items_kept = keep.iter().filter(|k| **k).count() as u64;
    // The kept items of a basket that can be paired (written into `scratch`).
    let kept = |b: &[u32], scratch: &mut Vec<u32>| -> bool {
        scratch.clear();
        if too_large(b) {
            return false;
        }
        scratch.extend(b.iter().copied().filter(|&it| keep[it as usize]));
        scratch.len() >= 2
    };
    let mut per_a = vec![0usize; n_items];
    let mut paired = 0u64;
    let mut scratch = Vec::new();
    baskets.each(&mut |b| {
        if kept(b, &mut scratch) {
            paired += 1;
            for (i, &a) in scratch.iter().enumerate() {
                per_a[a as usize] += scratch.len() - i - 1;
            }
        }
    })?;
    let mut pairs = Vec::new();
    let mut lo = 0usize;
    while lo < n_items {
        let mut hi = lo;
        let mut size = 0usize;
        while hi < n_items && (hi == lo || size + per_a[hi] <= budget) {
            size += per_a[hi];
            hi += 1;
        }
        if size > 0 {
            // Buckets of this range's first items, filled in basket order (so each bucket's
            // partners come in the same order as in the in-memory kernel).
            let width = hi - lo;
            let mut start = Vec::with_capacity(width + 1);
            start.push(0usize);
            for n in &per_a[lo..hi] {
                start.push(start[start.len() - 1] + n);
            }
            let mut cursor = start.clone();
            let mut partners = vec![0u32; size];
            baskets.each(&mut |b| {
                if kept(b, &mut scratch) {
                    let from = scratch.partition_point(|&x| (x as usize) < lo);
                    for i in from..scratch.len().saturating_sub(1) {
                        let a = scratch[i] as usize;
                        if a >= hi {
                            break;
                        }
                        let rest = &scratch[i + 1..];
                        let at = &mut cursor[a - lo];
                        partners[*at..*at + rest.len()].copy_from_slice(rest);
                        *at += rest.len();
                    }
                }
            })?;
            pairs.extend(count_buckets(&partners, &start, lo as u32, hi as u32, n_items, threshold));
        }
        lo = hi;
    }
    Ok(PairCounts { pairs, items_kept, baskets_paired: paired, baskets_skipped: skipped })
}
