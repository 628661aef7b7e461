//! Sequential patterns (issue 34, point 5): PrefixSpan over the customers' purchase timelines.
//!
//! A customer's sequence is their purchase orders in time order, each a set of basket items; orders
//! at the same instant are one element (their items together). A pattern is a sequence of item sets
//! `<X1, ..., Xk>`; a customer supports it when elements e1 < ... < ek of their sequence hold X1 ⊆
//! e1, ..., Xk ⊆ ek, and, with a maximum gap of G days, each step lies at most G days (UTC dates)
//! after the one before. This is Spark MLlib's `PrefixSpan` without a gap (Pei et al. 2001; MLlib's
//! itemset patterns), and SPADE's max-gap constraint with one.
//!
//! Mining is depth first from each frequent item. A prefix's projection keeps, per supporting
//! customer, every element where the prefix can end (not only the first: with a gap a later end
//! may be the one a next step can follow), so extensions are exact: an item extends the last set
//! (i-extension, items above the set's last) where it lies in an end element, and adds a step
//! (s-extension) where it lies in a later element within the gap of some end.

use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use super::sequences::{Timelines, DAY_US};
use super::codes::NONE;

/// The customers' sequences: elements laid out customer by customer.
pub struct Sequences {
    /// Customer `c`'s elements are `elements[seq[c]..seq[c + 1]]`.
    seq: Vec<usize>,
    /// Element `e`'s items (ascending) are `items[elem[e]..elem[e + 1]]`.
    elem: Vec<usize>,
    items: Vec<u32>,
    /// Element `e`'s UTC day.
    day: Vec<i64>,
}

impl Sequences {
    /// The purchase orders of `t` with a customer and a basket item, per customer in time order;
    /// orders at the same instant merged into one element.
    pub fn of(t: &Timelines) -> Sequences {
        let mut orders: Vec<(u32, i64, u32)> = (0..t.customer.len())
            .filter(|&o| t.purchase[o] && t.customer[o] != NONE && o < t.baskets.len() && !t.baskets.of(o).is_empty())
            .map(|o| (t.customer[o], t.ordered_at[o], o as u32))
            .collect();
        orders.par_sort_unstable();
        let mut s = Sequences { seq: vec![0], elem: vec![0], items: Vec::new(), day: Vec::new() };
        let mut merged: Vec<u32> = Vec::new();
        let mut i = 0;
        while i < orders.len() {
            let (c, at) = (orders[i].0, orders[i].1);
            merged.clear();
            while i < orders.len() && orders[i].0 == c && orders[i].1 == at {
                merged.extend_from_slice(t.baskets.of(orders[i].2 as usize));
                i += 1;
            }
            merged.sort_unstable();
            merged.dedup();
            s.items.extend_from_slice(&merged);
            s.elem.push(s.items.len());
            s.day.push(at.div_euclid(DAY_US));
            if i == orders.len() || orders[i].0 != c {
                s.seq.push(s.day.len());
            }
        }
        s
    }

    /// Customers with at least one element.
    pub fn customers(&self) -> usize {
        self.seq.len() - 1
    }

    fn items_of(&self, e: usize) -> &[u32] {
        &self.items[self.elem[e]..self.elem[e + 1]]
    }
}

/// One frequent pattern: its steps (item sets, items ascending) and the customers supporting it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    pub steps: Vec<Vec<u32>>,
    pub customers: u64,
}

/// What to mine.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Customers a pattern needs (at least 1).
    pub min_customers: u64,
    /// Steps a pattern may have.
    pub max_steps: usize,
    /// Items a pattern may have in all (MLlib's `maxPatternLength`; it bounds the search's depth).
    pub max_items: usize,
    /// The most days from one step to the next (None: any).
    pub max_gap_days: Option<i64>,
    /// Stop after this many patterns (depth-first order); `truncated` says so.
    pub max_patterns: usize,
}

/// The projection of a prefix: per supporting customer, the elements where the prefix can end.
struct Projected {
    customer: Vec<u32>,
    /// Customer k's ends are `ends[start[k]..start[k + 1]]`, ascending.
    start: Vec<usize>,
    ends: Vec<u32>,
}

/// The frequent patterns of `s` (depth first: each pattern before its extensions, extensions by
/// item, i-extensions before s-extensions), and whether `max_patterns` cut the search.
pub fn mine(s: &Sequences, n_items: usize, limits: Limits) -> (Vec<Pattern>, bool) {
    let n = s.customers();
    // The 1-item patterns: per item, the elements holding it, customer by customer.
    let mut root: Vec<Projected> = (0..n_items).map(|_| Projected { customer: Vec::new(), start: vec![0], ends: Vec::new() }).collect();
    for c in 0..n {
        for e in s.seq[c]..s.seq[c + 1] {
            for &it in s.items_of(e) {
                let p = &mut root[it as usize];
                if p.customer.last() != Some(&(c as u32)) {
                    if !p.customer.is_empty() {
                        p.start.push(p.ends.len());
                    }
                    p.customer.push(c as u32);
                }
                p.ends.push(e as u32);
            }
        }
    }
    for p in root.iter_mut().filter(|p| !p.customer.is_empty()) {
        p.start.push(p.ends.len());
    }
    // Each frequent item's patterns on its own (on all threads), then in item order: the same
    // patterns in the same order whatever the threads.
    let frequent: Vec<usize> = (0..n_items)
        .filter(|&it| root[it].customer.len() as u64 >= limits.min_customers.max(1) && limits.max_items > 0 && limits.max_steps > 0)
        .collect();
    // The patterns found so far on every thread: the cap bounds the work of them all (it is
    // passed exactly when the whole count passes it, so the outcome does not depend on threads).
    let found = AtomicUsize::new(0);
    let parts: Vec<(Vec<Pattern>, bool)> = frequent
        .par_iter()
        .map_init(
            || Scratch::new(n_items),
            |scratch, &it| {
                let mut out = Vec::new();
                let mut prefix = vec![vec![it as u32]];
                let whole = grow(s, &mut prefix, 1, &root[it], limits, scratch, &mut out, &found);
                (out, !whole)
            },
        )
        .collect();
    let truncated = parts.iter().any(|p| p.1);
    let out = if truncated { Vec::new() } else { parts.into_iter().flat_map(|p| p.0).collect() };
    (out, truncated)
}

/// Per-item counters reused across the search: how many customers support each extension, and
/// the last customer counted (so a customer counts once).
struct Scratch {
    i_count: Vec<u64>,
    s_count: Vec<u64>,
    i_seen: Vec<u32>,
    s_seen: Vec<u32>,
}

impl Scratch {
    fn new(n_items: usize) -> Scratch {
        Scratch { i_count: vec![0; n_items], s_count: vec![0; n_items], i_seen: vec![NONE; n_items], s_seen: vec![NONE; n_items] }
    }
}

/// Record `prefix` (supported by `p`), then its frequent extensions. False when the pattern cap
/// was reached.
#[allow(clippy::too_many_arguments)]
fn grow(
    s: &Sequences,
    prefix: &mut Vec<Vec<u32>>,
    items: usize,
    p: &Projected,
    limits: Limits,
    sc: &mut Scratch,
    out: &mut Vec<Pattern>,
    found: &AtomicUsize,
) -> bool {
    if found.fetch_add(1, Ordering::Relaxed) >= limits.max_patterns {
        return false;
    }
    out.push(Pattern { steps: prefix.clone(), customers: p.customer.len() as u64 });
    if items >= limits.max_items {
        return true;
    }
    let last = *prefix.last().and_then(|x| x.last()).expect("a non-empty prefix");
    let can_step = prefix.len() < limits.max_steps;
    // Count, per item, the customers an extension keeps.
    let (mut i_items, mut s_items) = (Vec::new(), Vec::new());
    for (k, &c) in p.customer.iter().enumerate() {
        let ends = &p.ends[p.start[k]..p.start[k + 1]];
        for &e in ends {
            for &it in s.items_of(e as usize).iter().filter(|&&it| it > last) {
                if sc.i_seen[it as usize] != c {
                    sc.i_seen[it as usize] = c;
                    if sc.i_count[it as usize] == 0 {
                        i_items.push(it);
                    }
                    sc.i_count[it as usize] += 1;
                }
            }
        }
        if can_step {
            for_each_step(s, c as usize, ends, limits.max_gap_days, |e| {
                for &it in s.items_of(e) {
                    if sc.s_seen[it as usize] != c {
                        sc.s_seen[it as usize] = c;
                        if sc.s_count[it as usize] == 0 {
                            s_items.push(it);
                        }
                        sc.s_count[it as usize] += 1;
                    }
                }
            });
        }
    }
    let min = limits.min_customers.max(1);
    let take = |items: &mut Vec<u32>, count: &mut Vec<u64>, seen: &mut Vec<u32>| -> Vec<u32> {
        items.sort_unstable();
        let kept: Vec<u32> = items.iter().copied().filter(|&it| count[it as usize] >= min).collect();
        for &it in items.iter() {
            count[it as usize] = 0;
            seen[it as usize] = NONE;
        }
        kept
    };
    let i_ext = take(&mut i_items, &mut sc.i_count, &mut sc.i_seen);
    let s_ext = take(&mut s_items, &mut sc.s_count, &mut sc.s_seen);
    for it in i_ext {
        let q = project(p, |c, ends, push| {
            let _ = c;
            for &e in ends {
                if s.items_of(e as usize).binary_search(&it).is_ok() {
                    push(e);
                }
            }
        });
        prefix.last_mut().expect("a step").push(it);
        let ok = grow(s, prefix, items + 1, &q, limits, sc, out, found);
        prefix.last_mut().expect("a step").pop();
        if !ok {
            return false;
        }
    }
    for it in s_ext {
        let q = project(p, |c, ends, push| {
            for_each_step(s, c as usize, ends, limits.max_gap_days, |e| {
                if s.items_of(e).binary_search(&it).is_ok() {
                    push(e as u32);
                }
            });
        });
        prefix.push(vec![it]);
        let ok = grow(s, prefix, items + 1, &q, limits, sc, out, found);
        prefix.pop();
        if !ok {
            return false;
        }
    }
    true
}

/// The elements a next step may use after the ends `ends` of customer `c`: every later element
/// within `gap` days of some end (the latest end before it is the nearest), ascending.
fn for_each_step(s: &Sequences, c: usize, ends: &[u32], gap: Option<i64>, mut f: impl FnMut(usize)) {
    let (first, stop) = (ends[0] as usize + 1, s.seq[c + 1]);
    let mut k = 0;
    for e in first..stop {
        // The latest end before e.
        while k + 1 < ends.len() && (ends[k + 1] as usize) < e {
            k += 1;
        }
        if gap.is_none_or(|g| s.day[e] - s.day[ends[k] as usize] <= g) {
            f(e);
        }
    }
}

/// A projection: per customer of `p`, the new ends `ends_of` pushes (customers with none dropped).
fn project(p: &Projected, mut ends_of: impl FnMut(u32, &[u32], &mut dyn FnMut(u32))) -> Projected {
    let mut q = Projected { customer: Vec::new(), start: vec![0], ends: Vec::new() };
    for (k, &c) in p.customer.iter().enumerate() {
        let before = q.ends.len();
        let ends = &p.ends[p.start[k]..p.start[k + 1]];
        ends_of(c, ends, &mut |e| {
            if q.ends.len() == before || *q.ends.last().expect("an end") != e {
                q.ends.push(e)
            }
        });
        if q.ends.len() > before {
            q.customer.push(c);
            q.start.push(q.ends.len());
        }
    }
    q
}
