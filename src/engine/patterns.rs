//! The pattern facts every engine computes the same way once it holds the baskets and the
//! customers' orders: frequent itemsets ([`itemset_facts`]) and sequence pairs
//! ([`sequence_facts`]). The kernels do the work; this is where the options meet them.

use chrono::NaiveDate;

use super::Setup;
use crate::error::{Error, Result};
use crate::facts::{ItemsetFacts, SequenceFacts, SequencePair};
use crate::kernels::baskets::Csr;
use crate::kernels::{itemsets, prefixspan, sequences};

/// The baskets the miner reads: those of `b`, with baskets of more than `--max-basket-items`
/// distinct items emptied (the same baskets the pair kernel pairs).
pub fn mined_baskets(b: &Csr, max_items: Option<usize>) -> std::borrow::Cow<'_, Csr> {
    let Some(max) = max_items else { return std::borrow::Cow::Borrowed(b) };
    if (0..b.len()).all(|i| b.of(i).len() <= max) {
        return std::borrow::Cow::Borrowed(b);
    }
    let mut out = Csr { offsets: vec![0], items: Vec::new() };
    for i in 0..b.len() {
        let set = b.of(i);
        if set.len() <= max {
            out.items.extend_from_slice(set);
        }
        out.offsets.push(out.items.len());
    }
    std::borrow::Cow::Owned(out)
}

/// Frequent itemsets of the baskets `b` (item codes `0..n_items`): sets of 1..=`--max-len` items
/// held by at least `ceil(support × purchase orders)` (or the count given) purchase orders.
/// More than `--max-itemsets` stops the run (exit 2) before memory runs out.
pub fn itemset_facts(b: &Csr, n_items: usize, s: &Setup, total_purchase_orders: u64) -> Result<ItemsetFacts> {
    let p = &s.patterns;
    let threshold = p.min_support.threshold(total_purchase_orders);
    let baskets = mined_baskets(b, s.basket.limits.max_basket_items);
    // The miner addresses item occurrences with u32 positions.
    if baskets.items.len() >= u32::MAX as usize {
        return Err(Error::Config(format!(
            "itemsets: the baskets hold {} item occurrences, more than the miner addresses (2^32 - 1); raise --itemset-min-support",
            baskets.items.len()
        )));
    }
    let kernel_threshold = threshold.min(u32::MAX as u64) as u32;
    let (offsets, items, orders) = itemsets::mine(&baskets, n_items, kernel_threshold, p.max_len, p.max_itemsets).map_err(|_| {
        Error::Config(format!(
            "itemsets: more than --max-itemsets {} itemsets at support >= {threshold} purchase orders; raise --itemset-min-support (now {}), lower --max-len (now {}) or raise --max-itemsets",
            p.max_itemsets, p.min_support, p.max_len
        ))
    })?;
    Ok(ItemsetFacts { offsets, items, orders, threshold })
}

/// Items a sequential pattern may hold in all (the miner's depth: one level an item).
pub const MAX_PATTERN_ITEMS: usize = 64;

/// Sequence pairs of the customers' purchase timelines `t` (item codes `0..n_items`) for every
/// `--sequence-window-days` window at the analysis date D (00:00 UTC) (with `--sequences`), and
/// the sequential patterns of up to `--max-sequence-len` steps (issue 34). More patterns than
/// `--max-sequence-patterns` stop the run (exit 2).
pub fn sequence_facts(t: &sequences::Timelines, n_items: usize, s: &Setup, as_of: NaiveDate) -> Result<SequenceFacts> {
    let p = &s.patterns;
    let as_of_us = as_of.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc().timestamp_micros();
    let counts = if p.sequences { sequences::count(t, n_items, &p.windows, as_of_us, p.min_followers) } else { Default::default() };
    let rows = counts
        .rows
        .into_iter()
        .map(|r| SequencePair {
            a: r.a,
            b: r.b,
            window: r.window,
            eligible: r.eligible,
            followers: r.followers,
            median_days: r.median_days,
        })
        .collect();
    let (mut patterns, mut pattern_customers, mut pattern_threshold) = (Vec::new(), 0, 0);
    if let Some(steps) = p.max_sequence_len {
        let seqs = prefixspan::Sequences::of(t);
        pattern_customers = seqs.customers() as u64;
        pattern_threshold = p.sequence_min_support.threshold(pattern_customers);
        let limits = prefixspan::Limits {
            min_customers: pattern_threshold,
            max_steps: steps,
            max_items: MAX_PATTERN_ITEMS,
            max_gap_days: p.sequence_max_gap.map(i64::from),
            max_patterns: p.max_sequence_patterns,
        };
        let (found, truncated) = prefixspan::mine(&seqs, n_items, limits);
        if truncated {
            return Err(Error::Config(format!(
                "sequence_patterns: more than --max-sequence-patterns {} patterns followed by at least {pattern_threshold} customers; raise --sequence-min-support (now {}), lower --max-sequence-len (now {steps}) or raise --max-sequence-patterns",
                p.max_sequence_patterns, p.sequence_min_support
            )));
        }
        patterns = found.into_iter().map(|q| (q.steps, q.customers)).collect();
    }
    Ok(SequenceFacts {
        rows,
        item_customers: counts.item_customers,
        customers: counts.customers,
        windows: p.windows.clone(),
        patterns,
        pattern_customers,
        pattern_threshold,
    })
}
