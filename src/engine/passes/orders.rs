//! Cleaning rules and the order index (SPEC "Cleaning rules"): rejected and future lines, orders
//! naming two customers, order nets and the purchase flag. Each rule is one function below; both
//! engines apply them (the partitioned engine to each part of the dump), and every rule is counted
//! in [`Counts`], which the run manifest carries.

use chrono::NaiveDate;
use polars::prelude::*;
use rayon::prelude::*;

use crate::config::ZeroNetOrders;
use crate::error::{Error, Result};
use crate::exprs::{date_to_micros, round_money_value};
use crate::facts::{col_names as c, Counts, Present};
use crate::kernels::codes::{self, Codes, NONE};
use crate::kernels::money::{self, Exact};

/// The date after the one holding `micros` (microseconds since the epoch).
fn day_after(micros: i64) -> NaiveDate {
    let day = micros.div_euclid(86_400_000_000);
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch") + chrono::Duration::days(day + 1)
}

/// The u64 in the first row of column `name`.
fn count(df: &DataFrame, name: &str) -> Result<u64> {
    let v = df.column(name)?.get(0)?;
    Ok(v.extract::<u64>().unwrap_or(0))
}

/// The line rules' rejection reasons, in the order they apply (a line counts under its first).
pub const REASONS: [&str; 4] = ["null_order", "null_timestamp", "null_amount", "non_finite_amount"];

/// What the line rules find before any line is removed: rejected lines per reason of
/// [`REASONS`], and the latest timestamp among the valid lines.
struct LineStats {
    rejected: [u64; 4],
    max_ts: Option<i64>,
}

impl LineStats {
    /// Without a masked pass, when no line can be rejected: no null order, timestamp or amount,
    /// and every amount finite (the usual dump). `None` otherwise.
    fn quick(raw: &DataFrame, has: Present) -> Result<Option<LineStats>> {
        let nulls = |name: &str| -> Result<usize> { Ok(raw.column(name)?.null_count()) };
        if nulls(c::ORDER)? > 0 || nulls(c::AMOUNT)? > 0 || (has.timestamp && nulls(c::TS)? > 0) {
            return Ok(None);
        }
        let amount = raw.column(c::AMOUNT)?.f64()?;
        if amount.downcast_iter().any(|a| a.values().iter().any(|v| !v.is_finite())) {
            return Ok(None);
        }
        let max_ts = if has.timestamp { raw.column(c::TS)?.cast(&DataType::Int64)?.i64()?.max() } else { None };
        Ok(Some(LineStats { rejected: [0; 4], max_ts }))
    }

    /// From the one-row frame of the general query (one column per reason, `max_ts`).
    fn from_frame(stats: &DataFrame) -> Result<LineStats> {
        let mut rejected = [0u64; 4];
        for (n, reason) in rejected.iter_mut().zip(REASONS) {
            *n = count(stats, reason)?;
        }
        let max_ts = stats.column("max_ts")?.get(0)?.extract::<i64>();
        Ok(LineStats { rejected, max_ts })
    }
}

/// Rule "line filter": the lines `--where` leaves out (its predicate false or null) are removed
/// first and counted apart. Returns the lines read, the lines filtered out, and the lines left
/// (without the filter's column).
pub fn filter_lines(raw: DataFrame) -> Result<(u64, u64, DataFrame)> {
    let read = raw.height() as u64;
    let Ok(keep) = raw.column(c::KEEP) else { return Ok((read, 0, raw)) };
    let kept = keep.bool()?.sum().unwrap_or(0) as u64;
    let raw = if kept == read {
        raw.drop(c::KEEP)?
    } else {
        raw.lazy().filter(col(c::KEEP).fill_null(lit(false))).drop(cols([c::KEEP])).collect()?
    };
    Ok((read, read - kept, raw))
}

/// Rule "rejected lines": null order, null timestamp, null amount, non-finite amount (a line
/// counts under its first reason), after the line filter ([`filter_lines`]). Returns the counts
/// (lines read and filtered out, rejected per reason), the latest timestamp among the valid lines,
/// and the valid lines.
pub fn reject_invalid_lines(raw: DataFrame, has: Present) -> Result<(Counts, Option<i64>, DataFrame)> {
    let (lines_read, filtered_lines, raw) = filter_lines(raw)?;
    let (order, ts, amount) = (col(c::ORDER), col(c::TS), col(c::AMOUNT));
    let null_order = order.clone().is_null();
    let (null_ts, valid_so_far, max_ts) = if has.timestamp {
        (
            null_order.clone().not().and(ts.clone().is_null()),
            order.clone().is_not_null().and(ts.clone().is_not_null()),
            ts.clone().cast(DataType::Int64),
        )
    } else {
        (lit(false), order.clone().is_not_null(), lit(NULL).cast(DataType::Int64))
    };
    let null_amount = valid_so_far.clone().and(amount.clone().is_null());
    let non_finite = valid_so_far.clone().and(amount.clone().is_not_null()).and(amount.clone().is_finite().not());
    let valid = valid_so_far.and(amount.clone().is_finite());

    let stats = match LineStats::quick(&raw, has)? {
        Some(stats) => stats,
        None => LineStats::from_frame(
            &raw.clone()
                .lazy()
                .select([
                    null_order.sum().cast(DataType::UInt64).alias(REASONS[0]),
                    null_ts.sum().cast(DataType::UInt64).alias(REASONS[1]),
                    null_amount.sum().cast(DataType::UInt64).alias(REASONS[2]),
                    non_finite.sum().cast(DataType::UInt64).alias(REASONS[3]),
                    max_ts.filter(valid.clone()).max().alias("max_ts"),
                ])
                .collect()?,
        )?,
    };
    let mut counts = Counts { lines_read, filtered_lines, ..Default::default() };
    for (reason, n) in REASONS.iter().zip(stats.rejected) {
        counts.rejected.insert(reason.to_string(), n);
    }
    // Filtering copies every column: skip it when no rule removes a line.
    let valid_lines = if stats.rejected.iter().all(|n| *n == 0) { raw } else { raw.lazy().filter(valid).collect()? };
    Ok((counts, stats.max_ts, valid_lines))
}

/// Days after the latest line's date beyond which a given as-of date gets a warning.
pub const AS_OF_WARN_DAYS: i64 = 31;

/// Rule "as-of": the analysis date D is the given one, or the day after the latest valid line.
/// A given D more than [`AS_OF_WARN_DAYS`] days past it is kept, with a warning.
/// A dump with a timestamp column but no valid line has no D: an error.
pub fn as_of_date(
    given: Option<NaiveDate>,
    max_ts: Option<i64>,
    has: Present,
    counts: &Counts,
    inputs: &str,
    amount_column: &str,
) -> Result<Option<NaiveDate>> {
    if !has.timestamp {
        return Ok(None);
    }
    match max_ts {
        Some(t) => {
            let after = day_after(t);
            let latest = after.pred_opt().unwrap_or(after);
            if let Some(d) = given.filter(|d| (*d - latest).num_days() > AS_OF_WARN_DAYS) {
                tracing::warn!(
                    "--as-of {d} is {} days after the latest line ({latest}): recency counts those days, so customers look lapsed; is the dump current?",
                    (d - latest).num_days()
                );
            }
            Ok(Some(given.unwrap_or(after)))
        }
        None => Err(Error::Empty { what: inputs.to_string(), reason: no_usable_line(counts, amount_column) }),
    }
}

/// Why no line is left to date the run: the lines read and, for each rule that removed some,
/// how many it removed and on which column ("2 with a non-finite amount (`amount` is NaN or
/// infinite)"), so the message blames the column at fault.
fn no_usable_line(k: &Counts, amount_column: &str) -> String {
    let n = |reason: &str| k.rejected.get(reason).copied().unwrap_or(0);
    let mut why: Vec<String> = Vec::new();
    if k.filtered_lines > 0 {
        why.push(format!("{} left out by --where", k.filtered_lines));
    }
    for (reason, text) in [
        ("null_order", "without an order id".to_string()),
        ("null_timestamp", "without a timestamp".to_string()),
        ("null_amount", format!("without an amount (`{amount_column}` is null)")),
        ("non_finite_amount", format!("with a non-finite amount (`{amount_column}` is NaN or infinite)")),
    ] {
        if n(reason) > 0 {
            why.push(format!("{} {text}", n(reason)));
        }
    }
    format!("no usable line among {} read: {}", k.lines_read, why.join(", "))
}

/// Rule "future lines": lines with `ts >= D 00:00` are excluded (and counted).
pub fn exclude_future_lines(valid: DataFrame, as_of: Option<NaiveDate>) -> Result<(DataFrame, u64)> {
    let Some(as_of) = as_of else { return Ok((valid, 0)) };
    let ts = valid.column(c::TS)?.cast(&DataType::Int64)?;
    let limit = date_to_micros(as_of);
    let ts = ts.i64()?;
    let future: u64 = if ts.null_count() == 0 {
        ts.downcast_iter().map(|a| a.values().iter().filter(|&&t| t >= limit).count() as u64).sum()
    } else {
        ts.iter().filter(|t| t.is_some_and(|t| t >= limit)).count() as u64
    };
    if future == 0 {
        return Ok((valid, 0));
    }
    let keep = ts.lt(limit);
    Ok((valid.filter(&keep)?, future))
}

/// The counts the order index adds (rule "orders naming two customers", guest lines, orders,
/// purchase orders, lines used), merged into the line counts.
pub fn count_orders(counts: &mut Counts, index: &OrderIndex, used_lines: usize) {
    counts.orders_rejected_conflict = index.conflict.iter().filter(|c| **c).count() as u64;
    let conflict_lines: u64 = (0..index.len()).filter(|&o| index.conflict[o]).map(|o| index.lines(o) as u64).sum();
    counts.rejected.insert("order_customer_conflict".into(), conflict_lines);
    counts.lines_used = used_lines as u64 - conflict_lines;
    counts.guest_lines = index.guest_lines;
    counts.orders = (index.len() as u64) - counts.orders_rejected_conflict;
    counts.purchase_orders = index.purchase.iter().filter(|p| **p).count() as u64;
}

/// What the order pass adds up per order, in one record: when an order's lines are scattered over
/// the dump, each line then touches one cache line instead of one per array. Packed to 8-byte
/// alignment (24 bytes instead of the 32 an i128's 16-byte alignment would round it to).
#[derive(Debug, Clone, Copy)]
#[repr(C, packed(8))]
struct OrderSum {
    net: Exact,
    lines: u32,
}

/// Per-order facts computed in one pass over the lines, by dense order code. An order's customer
/// is the one its lines name; an order whose lines name two customers is a conflict.
pub struct OrderIndex {
    /// Order code of each line.
    pub line_order: Vec<u32>,
    /// Customer codes of the lines ([`NONE`] for guest lines).
    pub line_customer: Codes,
    /// Per order: first line.
    pub first_row: Vec<IdxSize>,
    /// Each order's lines are consecutive (order codes never decrease along the lines).
    pub clustered: bool,
    /// Per order: net and line count.
    sums: Vec<OrderSum>,
    /// Per order: the customer its lines name (see [`OrderIndex::customer`]).
    customer: Vec<u32>,
    /// Per order: its net, rounded to the money decimals.
    pub net: Vec<f64>,
    /// Per order: lines name two different customers (the order is rejected).
    pub conflict: Vec<bool>,
    /// Per order: kept and net > 0.
    pub purchase: Vec<bool>,
    /// Per line: amount > 0 (empty when the dump has no item column: only baskets read it).
    pub positive: Vec<bool>,
    /// Lines without a customer, in orders that are kept.
    pub guest_lines: u64,
    /// Per order (customer tables only): the customer's lines' amounts, and amount - cost (with a
    /// cost column), exact.
    pub customer_amount: Vec<Exact>,
    pub customer_profit: Vec<Exact>,
    /// Per order (customer tables, with a discount column): the customer's lines' discounts, exact.
    pub customer_discount: Vec<Exact>,
    /// Per order (customer tables, with a timestamp): its earliest line time.
    pub ordered_at: Vec<i64>,
}

impl OrderIndex {
    /// Number of orders (kept or not).
    pub fn len(&self) -> usize {
        self.first_row.len()
    }

    pub fn is_empty(&self) -> bool {
        self.first_row.is_empty()
    }

    /// The customer code of order `o` ([`NONE`] for a guest order; for a rejected order, the
    /// first customer its lines name).
    pub fn customer(&self, o: usize) -> u32 {
        self.customer[o]
    }

    /// How many lines order `o` has.
    pub fn lines(&self, o: usize) -> u32 {
        self.sums[o].lines
    }

    pub fn build(
        lines: &DataFrame,
        has: Present,
        for_customers: bool,
        money_decimals: u32,
        zero_net_orders: ZeroNetOrders,
    ) -> Result<OrderIndex> {
        let times = for_customers && has.timestamp;
        // The extractions are independent: run them on both cores.
        let ((orders, line_customer), (amount, ts)) = rayon::join(
            || rayon::join(|| codes::encode(lines.column(c::ORDER)?), || codes::encode(lines.column(c::CUSTOMER)?)),
            || {
                rayon::join(
                    || -> Result<_> {
                        let amount = codes::f64_values(lines.column(c::AMOUNT)?)?;
                        let positive: Vec<bool> =
                            if has.item || has.product { amount.iter().map(|a| a > 0.0).collect() } else { Vec::new() };
                        Ok((amount, positive))
                    },
                    || -> Result<Option<codes::Values<Int64Type>>> {
                        if times {
                            Ok(Some(codes::i64_values(lines.column(c::TS)?)?))
                        } else {
                            Ok(None)
                        }
                    },
                )
            },
        );
        let (orders, line_customer, (amount, positive), ts) = (orders?, line_customer?, amount?, ts?);
        let cost: Option<Vec<Option<f64>>> =
            if has.cost && for_customers { Some(lines.column(c::COST)?.f64()?.iter().collect()) } else { None };
        let discount: Option<Vec<f64>> = if has.discount && for_customers {
            Some(lines.column(c::DISCOUNT)?.f64()?.iter().map(|v| v.unwrap_or(0.0)).collect())
        } else {
            None
        };
        let n = orders.len();
        let mut ix = OrderIndex {
            line_order: Vec::new(),
            line_customer,
            first_row: orders.first_row,
            // Codes number orders by first appearance: non-decreasing codes mean each order's
            // lines come together.
            clustered: orders.codes.par_windows(2).all(|w| w[0] <= w[1]),
            sums: vec![OrderSum { net: 0, lines: 0 }; n],
            customer: vec![NONE; n],
            net: Vec::new(),
            conflict: vec![false; n],
            purchase: vec![false; n],
            positive,
            guest_lines: 0,
            // Only what the job reads: the customer tables read the customer sums (profit with a
            // cost column) and order times.
            customer_amount: if for_customers { vec![0; n] } else { Vec::new() },
            customer_profit: if cost.is_some() { vec![0; n] } else { Vec::new() },
            customer_discount: if discount.is_some() { vec![0; n] } else { Vec::new() },
            ordered_at: if ts.is_some() { vec![i64::MAX; n] } else { Vec::new() },
        };
        // Two passes over the lines, side by side on both cores: one adds up each order (net, lines,
        // time), the other finds its customer (and the customer's share). Each walks the lines chunk
        // by chunk (the order times cut like the amounts) and writes its own per-order arrays.
        let mut scratch = Vec::new();
        let ts_chunks = ts.as_ref().map(|t| t.chunks_like(&amount, &mut scratch));
        let scattered = !ix.clustered;
        // The record of an order a few lines ahead, fetched early when orders are scattered.
        let ahead = |row: usize| orders.codes.get(row + codes::PREFETCH_AHEAD).filter(|_| scattered).copied();
        let order_pass = |sums: &mut [OrderSum], ordered_at: &mut [i64]| {
            let mut row = 0;
            for (k, chunk) in amount.chunks().enumerate() {
                let times = ts_chunks.as_ref().map(|t| t[k]);
                for (j, (&a, &oc)) in chunk.iter().zip(&orders.codes[row..]).enumerate() {
                    if let Some(next) = ahead(row) {
                        codes::prefetch(sums.as_ptr().wrapping_add(next as usize));
                    }
                    let o = oc as usize;
                    let rec = &mut sums[o];
                    let mut net = rec.net;
                    money::add(&mut net, a);
                    rec.net = net;
                    rec.lines += 1;
                    if let Some(t) = times {
                        ordered_at[o] = ordered_at[o].min(t[j]);
                    }
                    row += 1;
                }
            }
        };
        let line_customer = &ix.line_customer.codes;
        let customer_pass = |customer: &mut [u32],
                             conflict: &mut [bool],
                             amounts: &mut [Exact],
                             profit: &mut [Exact],
                             discounts: &mut [Exact]| {
            let mut guests = 0u64;
            let mut row = 0;
            for chunk in amount.chunks() {
                for (&a, (&oc, &cu)) in chunk.iter().zip(orders.codes[row..].iter().zip(&line_customer[row..])) {
                    if let Some(next) = ahead(row) {
                        codes::prefetch(customer.as_ptr().wrapping_add(next as usize));
                    }
                    let o = oc as usize;
                    if cu == NONE {
                        guests += 1;
                    } else {
                        if for_customers {
                            money::add(&mut amounts[o], a);
                        }
                        if let Some(Some(cost)) = cost.as_ref().map(|v| v[row]) {
                            money::add(&mut profit[o], a - cost);
                        }
                        if let Some(d) = discount.as_ref().map(|v| v[row]) {
                            money::add(&mut discounts[o], d);
                        }
                        if customer[o] == NONE {
                            customer[o] = cu;
                        } else if customer[o] != cu {
                            conflict[o] = true;
                        }
                    }
                    row += 1;
                }
            }
            guests
        };
        let ((), mut guests) = rayon::join(
            || order_pass(&mut ix.sums, &mut ix.ordered_at),
            || {
                customer_pass(
                    &mut ix.customer,
                    &mut ix.conflict,
                    &mut ix.customer_amount,
                    &mut ix.customer_profit,
                    &mut ix.customer_discount,
                )
            },
        );
        // Guest lines of rejected orders do not count (a second pass only when some order is rejected).
        if ix.conflict.iter().any(|c| *c) {
            guests -= (0..orders.codes.len())
                .filter(|&r| ix.line_customer.codes[r] == NONE && ix.conflict[orders.codes[r] as usize])
                .count() as u64;
        }
        ix.guest_lines = guests;
        ix.net = ix.sums.iter().map(|s| round_money_value(money::to_f64(s.net), money_decimals)).collect();
        for o in 0..n {
            ix.purchase[o] = !ix.conflict[o] && zero_net_orders.is_purchase(ix.net[o]);
        }
        ix.line_order = orders.codes;
        Ok(ix)
    }

    /// Each order's customer code for the customer facts: [`NONE`] for guest orders and for
    /// orders rejected for naming two customers.
    pub fn kept_customer(&self) -> Vec<u32> {
        self.customer.iter().zip(&self.conflict).map(|(&cu, &bad)| if bad { NONE } else { cu }).collect()
    }
}
