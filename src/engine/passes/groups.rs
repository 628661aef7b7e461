//! Group facts (issue 34): each customer's kept orders, lines, amounts and quantities by window
//! (every kept line, period A, period B) and product group ([`GroupFacts`]). The memory engine
//! makes one part over the whole dump, the partitioned engine one per order partition (an order
//! lies whole in one), Spark one in SQL (step 23); [`merge`] adds the parts up by customer, window
//! and group, so every engine's facts are the same bits.
//!
//! A part is a frame: `customer_id`, `win`, `line_group`, `orders`, `lines`, and the exact sums as
//! four BIGINT limbs (`amount_0`..`amount_3`, `units_0`..`units_3`: the value is the sum of
//! `limb_k * 2^(32k)`), which add up exactly in any engine's SUM.

use polars::prelude::*;
use rayon::prelude::*;

use super::records::{utc_day, Ordered};
use crate::config::Period;
use crate::error::{Error, Result};
use crate::facts::{col_names as c, GroupFacts};
use crate::kernels::codes::{self, NONE};
use crate::kernels::money::{self, Exact};

/// The part's columns beside the customer id.
const WIN: &str = "win";
const ORDERS: &str = "orders";
const LINES: &str = "lines";

/// The limb `k` (0..4) of `v`: 32 bits each, the top one signed.
fn limb(v: Exact, k: u32) -> i64 {
    if k == 3 {
        (v >> 96) as i64
    } else {
        ((v >> (32 * k)) & 0xFFFF_FFFF) as i64
    }
}

/// Lines in one group, summed (one order's, then a customer's in a window).
#[derive(Clone, Copy, Default)]
struct Acc {
    orders: u64,
    lines: u64,
    amount: Exact,
    units: Exact,
}

impl Acc {
    fn add(&mut self, o: &Acc) {
        self.orders += o.orders;
        self.lines += o.lines;
        self.amount = self.amount.wrapping_add(o.amount);
        self.units = self.units.wrapping_add(o.units);
    }
}

/// The part of the group facts made from the orders of `o`: one row per customer, window and
/// group with a line. `periods` are the two periods compared (none: only the all-time window).
/// Customers are walked one at a time (their kept orders, each order's lines), so what is held
/// beside the lines is one customer's sums and the rows made.
pub fn group_rows(o: &Ordered, periods: Option<(Period, Period)>, quantity: bool) -> Result<DataFrame> {
    let ix = &o.index;
    let t0 = std::time::Instant::now();
    // Without --group (revenue_tree over every line alone) every line is in no group.
    let group: Vec<u8> = match o.lines.column(c::GROUP) {
        Ok(g) => g.cast(&DataType::UInt8)?.u8()?.iter().map(|g| g.unwrap_or(0)).collect(),
        Err(_) => vec![0; o.lines.height()],
    };
    let amount: Vec<f64> = codes::f64_values(o.lines.column(c::AMOUNT)?)?.iter().collect();
    let qty: Option<Vec<f64>> =
        if quantity { Some(codes::f64_values(o.lines.column(c::QUANTITY)?)?.iter().collect()) } else { None };
    // Slots: the groups 0..n_groups-1, then every line; a window's slots follow the previous'.
    let n_groups = group.iter().copied().max().unwrap_or(0) as usize + 1;
    let per_window = n_groups + 1;
    let n_windows = if periods.is_some() { 3 } else { 1 };
    // Each line's customer, group, amount and quantity side by side: the walk below reads the
    // lines order by order (scattered over the dump), one cache line a line.
    let cust = &ix.line_customer.codes;
    // A quantity beyond any exact sum (2^56 and more) counts 0, as Spark's null limbs do.
    let units = |q: f64| if q.abs() < 72_057_594_037_927_936.0 { q } else { 0.0 };
    let lines: Vec<(f64, f64, u32, u8)> = (0..group.len())
        .map(|r| (amount[r], qty.as_ref().map_or(0.0, |q| units(q[r])), cust[r], group[r]))
        .collect();
    drop((amount, qty, group));
    let t_lines = t0.elapsed().as_secs_f64();
    let kept = ix.kept_customer();
    let (line_off, line_of) = codes::group_by_code(ix.len(), &ix.line_order);
    let (order_off, order_of) = codes::group_by_code(ix.line_customer.len(), &kept);
    let n_customers = ix.line_customer.len();
    let t_index = t0.elapsed().as_secs_f64();
    // Customers in ranges, one range at a time per thread; rows come out in customer order.
    let ranges: Vec<(usize, usize)> = {
        let step = n_customers.div_ceil(64).max(1);
        (0..n_customers).step_by(step).map(|a| (a, (a + step).min(n_customers))).collect()
    };
    let customer_rows = |(from, to): (usize, usize)| -> Vec<(u32, u8, u8, Acc)> {
        let mut rows = Vec::new();
        let mut slots = vec![Acc::default(); n_windows * per_window];
        let mut order = vec![Acc::default(); per_window];
        for customer in from..to {
            let orders = &order_of[order_off[customer]..order_off[customer + 1]];
            if orders.is_empty() {
                continue;
            }
            slots.iter_mut().for_each(|a| *a = Acc::default());
            for &k in orders {
                let k = k as usize;
                order.iter_mut().for_each(|a| *a = Acc::default());
                for &row in &line_of[line_off[k]..line_off[k + 1]] {
                    let (a, u, cu, g) = lines[row as usize];
                    if cu == NONE {
                        continue;
                    }
                    let (a, u) = (money::exact(a), if quantity { money::exact(u) } else { 0 });
                    for slot in [g as usize, n_groups] {
                        let acc = &mut order[slot];
                        acc.orders = 1;
                        acc.lines += 1;
                        acc.amount = acc.amount.wrapping_add(a);
                        acc.units = acc.units.wrapping_add(u);
                    }
                }
                let day = utc_day(ix.ordered_at[k]);
                let period = periods.and_then(|(a, b)| {
                    if a.holds(day) {
                        Some(GroupFacts::PERIOD_A as usize)
                    } else if b.holds(day) {
                        Some(GroupFacts::PERIOD_B as usize)
                    } else {
                        None
                    }
                });
                for w in std::iter::once(GroupFacts::ALL_TIME as usize).chain(period) {
                    for (slot, acc) in order.iter().enumerate().filter(|(_, a)| a.lines > 0) {
                        slots[w * per_window + slot].add(acc);
                    }
                }
            }
            for (i, acc) in slots.iter().enumerate().filter(|(_, a)| a.lines > 0) {
                let (w, slot) = (i / per_window, i % per_window);
                let g = if slot == n_groups { GroupFacts::EVERY_LINE } else { slot as u8 };
                rows.push((customer as u32, w as u8, g, *acc));
            }
        }
        rows
    };
    let rows: Vec<(u32, u8, u8, Acc)> = ranges.into_par_iter().map(customer_rows).flatten().collect();
    let t_walk = t0.elapsed().as_secs_f64();
    let customer_codes: Vec<IdxSize> = rows.iter().map(|r| r.0 as IdxSize).collect();
    let keys = ix.line_customer.keys(o.lines.column(c::CUSTOMER)?)?;
    let ids = keys.take_slice(&customer_codes)?;
    let mut columns = vec![
        ids.with_name(c::CUSTOMER.into()),
        Column::new(WIN.into(), rows.iter().map(|r| r.1).collect::<Vec<u8>>()),
        Column::new(c::GROUP.into(), rows.iter().map(|r| r.2).collect::<Vec<u8>>()),
        Column::new(ORDERS.into(), rows.iter().map(|r| r.3.orders as i64).collect::<Vec<i64>>()),
        Column::new(LINES.into(), rows.iter().map(|r| r.3.lines as i64).collect::<Vec<i64>>()),
    ];
    for (name, units) in [("amount", false), ("units", true)] {
        if units && !quantity {
            continue;
        }
        for k in 0..4u32 {
            let v: Vec<i64> = rows.iter().map(|r| limb(if units { r.3.units } else { r.3.amount }, k)).collect();
            columns.push(Column::new(format!("{name}_{k}").into(), v));
        }
    }
    tracing::debug!(lines = t_lines, index = t_index - t_lines, walk = t_walk - t_index, frame = t0.elapsed().as_secs_f64() - t_walk, rows = rows.len(), "group rows");
    Ok(DataFrame::new_infer_height(columns)?)
}

/// The exact sums of the limb columns `name_0`..`name_3` (null limbs: 0), joined into i128: how
/// the partitioned parts and every Spark step's limbs become exact sums.
pub fn joined(df: &DataFrame, name: &str) -> Result<Vec<Exact>> {
    let mut total: Vec<Exact> = vec![0; df.height()];
    for k in 0..4u32 {
        let limb = df.column(&format!("{name}_{k}"))?.cast(&DataType::Int64)?;
        for (t, v) in total.iter_mut().zip(limb.i64()?.iter()) {
            *t = t.wrapping_add((v.unwrap_or(0) as i128) << (32 * k));
        }
    }
    Ok(total)
}

/// The parts added up by customer, window and group, sorted by them: the group facts.
pub fn merge(parts: Vec<DataFrame>, quantity: bool) -> Result<GroupFacts> {
    let t0 = std::time::Instant::now();
    let mut sums = vec![col(ORDERS).sum(), col(LINES).sum()];
    for name in if quantity { &["amount", "units"][..] } else { &["amount"][..] } {
        sums.extend((0..4).map(|k| col(format!("{name}_{k}")).cast(DataType::Int64).sum()));
    }
    let one = parts.len() == 1;
    let lazy: Vec<LazyFrame> = parts.into_iter().map(|p| p.lazy()).collect();
    if lazy.is_empty() {
        return Err(Error::Internal("group facts without a part".into()));
    }
    let all = concat(lazy, UnionArgs { rechunk: false, to_supertypes: true, ..Default::default() })?
        .with_columns([col(WIN).cast(DataType::UInt8), col(c::GROUP).cast(DataType::UInt8)]);
    // One part (the memory engine's, or Spark's rows, grouped by its SQL) holds each (customer,
    // window, group) once already; the partitioned engine's parts are added up.
    let all = if one { all } else { all.group_by([col(c::CUSTOMER), col(WIN), col(c::GROUP)]).agg(sums) };
    let df = all.sort([c::CUSTOMER, WIN, c::GROUP], SortMultipleOptions::default()).collect()?;
    let u64s = |name: &str| -> Result<Vec<u64>> {
        Ok(df.column(name)?.cast(&DataType::Int64)?.i64()?.iter().map(|v| v.unwrap_or(0) as u64).collect())
    };
    let u8s = |name: &str| -> Result<Vec<u8>> { Ok(df.column(name)?.u8()?.iter().map(|v| v.unwrap_or(0)).collect()) };
    tracing::debug!(seconds = t0.elapsed().as_secs_f64(), rows = df.height(), "group facts merged");
    Ok(GroupFacts {
        customer_id: df.column(c::CUSTOMER)?.clone(),
        window: u8s(WIN)?,
        group: u8s(c::GROUP)?,
        orders: u64s(ORDERS)?,
        lines: u64s(LINES)?,
        amount: joined(&df, "amount")?,
        units: if quantity { Some(joined(&df, "units")?) } else { None },
    })
}
