//! Sequence pairs (the kernel behind `sequence_pairs`): per customer, the timeline of purchase
//! orders; for items A ≠ B and a window of W days, the customers whose first purchase of A is
//! followed by a purchase of B within W days.
//!
//! No self-join: the customers' purchase orders are laid out customer by customer in time order
//! (a counting sort, then each customer's orders sorted by time), with each order's time and items
//! copied beside it so a timeline is read in one sweep. Each customer's first order of every item
//! is found in one pass (ranges of customers on all threads), and these (customer, first A)
//! occurrences are bucketed by A. Then, item A by item A on all threads, every occurrence scans the
//! same customer's later orders up to the widest window and notes each other item's earliest time
//! there; the notes are sorted by (B, window, delay) and counted, and the median delay is read off
//! the sorted run. Memory: about 40 bytes a purchase order (timelines, their index and copy), 12 a
//! distinct customer-item pair, and per thread the notes of one item A; never a customer × item
//! matrix and never the pairs of all customers at once.

use rayon::prelude::*;

use super::baskets::Csr;
use super::codes::NONE;

/// Microseconds in a day.
pub const DAY_US: i64 = 86_400_000_000;

/// The orders a sequence count reads, one entry per order code.
pub struct Timelines<'a> {
    /// The order's customer ([`NONE`] for guest or rejected orders).
    pub customer: &'a [u32],
    /// The order is a purchase (net > 0).
    pub purchase: &'a [bool],
    /// The order's time (its earliest line), microseconds since the epoch.
    pub ordered_at: &'a [i64],
    /// The order's basket items (codes ascending).
    pub baskets: &'a Csr,
    /// Customer codes are `0..n_customers`.
    pub n_customers: usize,
}

/// One kept (A, B, window) row.
#[derive(Debug, Clone, PartialEq)]
pub struct SequenceRow {
    pub a: u32,
    pub b: u32,
    /// Index into the windows given to [`count`].
    pub window: usize,
    /// Customers whose first purchase of A lies at least the window before as-of.
    pub eligible: u32,
    /// Of those, the customers who bought B in a later order within the window.
    pub followers: u32,
    /// Median of the followers' delays (first A to their earliest B in the window), days.
    pub median_days: f64,
}

/// What the sequence kernel found.
#[derive(Debug, Clone, Default)]
pub struct SequenceCounts {
    /// Rows with followers >= the minimum, ordered by a, then b, then window.
    pub rows: Vec<SequenceRow>,
    /// Per item code: customers with at least one purchase order holding it.
    pub item_customers: Vec<u32>,
    /// Customers with at least one purchase order.
    pub customers: u64,
}

/// The sequence pairs of `t` for each window (whole days, > 0; at most 64 windows) at the
/// analysis instant `as_of_us` (D 00:00), keeping rows with at least `min_followers` followers.
pub fn count(t: &Timelines, n_items: usize, windows_days: &[u32], as_of_us: i64, min_followers: u32) -> SequenceCounts {
    // The purchase orders of known customers, customer by customer, in time order.
    let n_orders = t.customer.len();
    let mut per_customer = vec![0u32; t.n_customers + 1];
    for o in 0..n_orders {
        if t.purchase[o] && t.customer[o] != NONE {
            per_customer[t.customer[o] as usize + 1] += 1;
        }
    }
    for c in 0..t.n_customers {
        per_customer[c + 1] += per_customer[c];
    }
    let customers = (0..t.n_customers).filter(|&c| per_customer[c + 1] > per_customer[c]).count() as u64;
    let mut fill: Vec<u32> = per_customer[..t.n_customers].to_vec();
    let mut timeline = vec![0u32; per_customer[t.n_customers] as usize];
    for o in 0..n_orders {
        if t.purchase[o] && t.customer[o] != NONE {
            let c = t.customer[o] as usize;
            timeline[fill[c] as usize] = o as u32;
            fill[c] += 1;
        }
    }
    drop(fill);
    let at = t.ordered_at;
    // Each customer's orders by time (then order code: orders at one instant have no order).
    {
        let mut rest: &mut [u32] = &mut timeline;
        let mut parts: Vec<&mut [u32]> = Vec::with_capacity(t.n_customers);
        for c in 0..t.n_customers {
            let len = (per_customer[c + 1] - per_customer[c]) as usize;
            let (head, tail) = rest.split_at_mut(len);
            parts.push(head);
            rest = tail;
        }
        parts.par_iter_mut().for_each(|p| {
            if p.len() > 1 {
                p.sort_unstable_by_key(|&o| (at[o as usize], o));
            }
        });
    }
    // The timelines as contiguous arrays: per position its time and its items (a copy of the
    // order's basket), so a customer's orders are read in one sweep, not one lookup each.
    let tl_at: Vec<i64> = timeline.par_iter().map(|&o| at[o as usize]).collect();
    let mut tl_off: Vec<usize> = Vec::with_capacity(timeline.len() + 1);
    tl_off.push(0);
    for &o in &timeline {
        tl_off.push(tl_off[tl_off.len() - 1] + t.baskets.of(o as usize).len());
    }
    let tl_items: Vec<u32> = timeline.par_iter().flat_map_iter(|&o| t.baskets.of(o as usize).iter().copied()).collect();
    drop(timeline);
    // First order of every item per customer: (item, position in the timeline, end of the
    // customer's timeline), found for ranges of customers on all threads.
    let chunk = t.n_customers.div_ceil(4 * rayon::current_num_threads().max(1)).max(1);
    let firsts: Vec<Vec<(u32, u32, u32)>> = (0..t.n_customers.div_ceil(chunk))
        .into_par_iter()
        .map(|k| {
            let mut seen = vec![NONE; n_items];
            let mut out = Vec::new();
            for c in k * chunk..((k + 1) * chunk).min(t.n_customers) {
                let end = per_customer[c + 1];
                for pos in per_customer[c]..end {
                    for &it in &tl_items[tl_off[pos as usize]..tl_off[pos as usize + 1]] {
                        if seen[it as usize] != c as u32 {
                            seen[it as usize] = c as u32;
                            out.push((it, pos, end));
                        }
                    }
                }
            }
            out
        })
        .collect();
    let mut item_customers = vec![0u32; n_items];
    for part in &firsts {
        for &(it, _, _) in part {
            item_customers[it as usize] += 1;
        }
    }
    let mut occ_off = vec![0usize; n_items + 1];
    for (it, &n) in item_customers.iter().enumerate() {
        occ_off[it + 1] = occ_off[it] + n as usize;
    }
    let mut fill = occ_off.clone();
    let mut occurrences = vec![(0u32, 0u32); occ_off[n_items]];
    for part in firsts {
        for (it, pos, end) in part {
            occurrences[fill[it as usize]] = (pos, end);
            fill[it as usize] += 1;
        }
    }
    drop(fill);
    let windows_us: Vec<i64> = windows_days.iter().map(|&w| w as i64 * DAY_US).collect();
    let widest = windows_us.iter().copied().max().unwrap_or(0);
    // Item A by item A: notes (B, window, delay) of each eligible occurrence, then counted.
    let rows: Vec<Vec<SequenceRow>> = (0..n_items)
        .into_par_iter()
        .map_init(
            || (vec![i64::MIN; n_items], Vec::<u32>::new(), Vec::<(u32, u32, i64)>::new()),
            |(first_b, touched, notes), a| {
                let occ = &occurrences[occ_off[a]..occ_off[a + 1]];
                if occ.len() < min_followers as usize {
                    return Vec::new();
                }
                let mut eligible = vec![0u32; windows_us.len()];
                notes.clear();
                for &(pos, end) in occ {
                    let first_a = tl_at[pos as usize];
                    // Bit w: the whole window w lies before as-of.
                    let open: u64 = windows_us
                        .iter()
                        .enumerate()
                        .filter(|&(_, &w)| first_a <= as_of_us - w)
                        .fold(0, |m, (w, _)| m | 1 << w);
                    if open == 0 {
                        continue;
                    }
                    for (w, e) in eligible.iter_mut().enumerate() {
                        *e += (open >> w & 1) as u32;
                    }
                    for q in pos as usize + 1..end as usize {
                        let ts = tl_at[q];
                        if ts - first_a > widest {
                            break;
                        }
                        if ts <= first_a {
                            continue;
                        }
                        for &b in &tl_items[tl_off[q]..tl_off[q + 1]] {
                            if b as usize != a && first_b[b as usize] == i64::MIN {
                                first_b[b as usize] = ts - first_a;
                                touched.push(b);
                            }
                        }
                    }
                    for &b in touched.iter() {
                        let delay = first_b[b as usize];
                        for (w, &wu) in windows_us.iter().enumerate() {
                            if open >> w & 1 == 1 && delay <= wu {
                                notes.push((b, w as u32, delay));
                            }
                        }
                        first_b[b as usize] = i64::MIN;
                    }
                    touched.clear();
                }
                notes.sort_unstable();
                let mut out = Vec::new();
                let mut i = 0;
                while i < notes.len() {
                    let (b, w, _) = notes[i];
                    let mut j = i;
                    while j < notes.len() && notes[j].0 == b && notes[j].1 == w {
                        j += 1;
                    }
                    let n = j - i;
                    if n >= min_followers as usize && n > 0 {
                        let run = &notes[i..j];
                        let median_us = if n % 2 == 1 {
                            run[n / 2].2 as f64
                        } else {
                            (run[n / 2 - 1].2 as f64 + run[n / 2].2 as f64) / 2.0
                        };
                        out.push(SequenceRow {
                            a: a as u32,
                            b,
                            window: w as usize,
                            eligible: eligible[w as usize],
                            followers: n as u32,
                            median_days: median_us / DAY_US as f64,
                        });
                    }
                    i = j;
                }
                out
            },
        )
        .collect();
    SequenceCounts { rows: rows.into_iter().flatten().collect(), item_customers, customers }
}
