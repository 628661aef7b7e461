//! The partitioned engine: memory that follows `--memory-limit`, not the dump's size. Its phases,
//! one file each, named like the shared passes they run:
//!
//! 1. [`scan`]: **stream and partition by order.** Each input file is read a slice of lines at a
//!    time (never the whole dump); the line rules run on the slice, and each valid line is
//!    appended to the spill file of its order's partition (a hash of the order id), so every order
//!    lies whole in one partition.
//! 2. [`orders`]: **orders, per order partition.** One partition at a time goes through the shared
//!    passes (future rule, order index, item codes, baskets). What comes out is small and
//!    mergeable: the counts, per item its purchase orders, revenue and quantity (exact sums, merged
//!    by item key), the baskets (appended to a basket spill), and one record per customer order
//!    (customer, purchase flag, time, amounts, items), appended to the spill of the customer's
//!    partition (a hash of the customer id).
//! 3. [`customers`]: **customers, per customer partition.** A customer's orders all lie in one
//!    customer partition: the shared pass turns each into customer facts, which are concatenated
//!    (customer facts are held in memory: about 100 bytes a customer).
//! 4. [`items`]: **items and pairs.** The baskets are read back and counted by the pair kernel, in
//!    passes over ranges of first items whose buffers fit the limit.
//!
//! Every fact is a count, a min/max or an exact sum, so the facts (and the tables) are the bits the
//! memory engine computes. The spill folder is removed at the end, on error, and (after a crash) by
//! the next run that uses the same spill folder.

mod customers;
mod items;
mod orders;
mod parts;
mod scan;

use std::path::Path;

use polars::prelude::*;

use super::passes::{attributes, groups};
use super::spill::{raise_open_file_limit, SpillDir};
use super::stopwatch::Stopwatch;
use super::{check_money_range, clean, no_customers, require_lines, Setup, MEMORY_BYTES_PER_LINE};
use crate::error::Result;
use crate::facts::{DayTotals, Facts, HierarchyFacts};
use crate::input::Dump;

/// What the spill did, for the manifest.
pub struct SpillReport {
    pub partitions: u64,
    pub customer_partitions: u64,
    pub bytes: u64,
    /// The pair kernel read the baskets from the spill, pass by pass (they did not fit the limit).
    pub pairs_streamed: bool,
}

/// Bytes one customer's facts take in memory (ids, counts, sums, times, favourite, and the
/// customers table built from them).
pub const CUSTOMER_FACT_BYTES: u64 = 160;

/// Bytes the CLV models add per customer at their peak (purchase days, the summary, collapsed
/// rows, predictions, and the clv table with its sorted copy): measured 510 bytes a customer for
/// the whole run at 1M and 10M customers (bench/clv_bench.py), of which about 350 are the CLV's.
pub const CLV_CUSTOMER_BYTES: u64 = 350;
/// Bytes a customer's day of activity takes in the facts (day, purchase orders, exact amount).
pub const ACTIVITY_ROW_BYTES: u64 = 28;

/// How many order partitions: enough that one partition's lines (at the memory engine's bytes a
/// line) take at most half the limit.
pub fn plan_partitions(lines: u64, limit: u64, given: Option<u32>) -> u32 {
    given.unwrap_or_else(|| {
        let per_partition = (limit / 2).max(1);
        lines.saturating_mul(MEMORY_BYTES_PER_LINE).div_ceil(per_partition).clamp(1, 4096) as u32
    })
}

/// Facts of the dump, streamed through a spill folder in `spill_root`.
///
/// `file_lines` holds each input file's lines (from its Parquet footer).
pub fn facts(
    dump: &Dump,
    file_lines: &[u64],
    s: &Setup,
    limit: u64,
    spill_root: &Path,
    sw: &mut Stopwatch,
) -> Result<(Facts, SpillReport)> {
    let lines: u64 = file_lines.iter().sum();
    let n_parts = plan_partitions(lines, limit, s.partitions);
    let n_cparts = n_parts;
    raise_open_file_limit();
    let mut spill = SpillDir::create(spill_root)?;
    tracing::debug!(partitions = n_parts, spill = %spill.path.display(), "partitioned engine");

    let scanned = scan::partition_by_order(dump, file_lines, s.has, n_parts, limit, &spill)?;
    crate::error::crash_point("after-spill");
    sw.lap("scan_and_partition");
    let mut counts = scanned.counts.clone();
    counts.merge(&s.carried);
    let as_of = clean::as_of_date(s.as_of, scanned.max_ts, s.has, &counts, &s.inputs, &s.amount_column)?;

    let o = orders::order_partitions(&scanned, s, as_of, n_cparts, limit, &mut spill, &mut counts)?;
    sw.lap("orders");
    require_lines(s, &counts)?;
    check_money_range(s, o.money_totals)?;

    let mut cp = customers::customer_partitions(&o, s, limit, n_cparts)?;
    sw.lap("customer_facts");
    let customers = cp.customers.take();
    if s.plan.customers && customers.as_ref().is_none_or(|f| f.is_empty()) {
        return Err(no_customers(s, &counts));
    }

    let i = items::item_facts(&o, &mut cp, s, as_of, counts.purchase_orders, limit)?;
    if i.items.is_some() {
        sw.lap("item_and_pair_facts");
    }
    let report =
        SpillReport { partitions: n_parts as u64, customer_partitions: n_cparts as u64, bytes: spill.bytes(), pairs_streamed: i.pairs_streamed };
    drop(spill);
    let hierarchy = match (cp.hierarchy.take(), o.basket_keys()) {
        (Some((top, co)), Some((keys, _))) => {
            let rows: Vec<IdxSize> = top.iter().map(|&t| t as IdxSize).collect();
            Some(HierarchyFacts { items: keys.take_slice(&rows)?, customers: co.customers, single: co.single, both: co.both })
        }
        _ => None,
    };
    let orders::OrderPass { day_parts, group_parts, name_parts, attr_parts, .. } = o;
    let group_facts = if s.plan.groups { Some(groups::merge(group_parts, s.has.quantity)?) } else { None };
    Ok((
        Facts {
            as_of,
            has: s.has,
            counts,
            customers,
            items: i.items,
            pairs: i.pairs,
            itemsets: i.itemsets,
            sequences: i.sequences,
            days: s.plan.day_totals.then(|| DayTotals::merge(day_parts)),
            groups: group_facts,
            hierarchy,
            product_names: if s.product_names {
                Some(attributes::pick_names(concat(name_parts, UnionArgs::default())?.collect()?)?)
            } else {
                None
            },
            customer_attrs: if s.customer_attrs.is_empty() {
                None
            } else {
                Some(attributes::pick_attrs(attr_parts, &s.customer_attrs)?)
            },
        },
        report,
    ))
}
