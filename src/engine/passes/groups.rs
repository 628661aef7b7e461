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

/// One order's lines in one group, summed.
#[derive(Clone, Copy, Default)]
struct Acc {
    lines: u64,
    amount: Exact,
    units: Exact,
}

/// The part of the group facts made from the orders of `o`: one row per customer, window and
/// group with a line. `periods` are the two periods compared (none: only the all-time window).
pub fn group_rows(o: &Ordered, periods: Option<(Period, Period)>, quantity: bool) -> Result<DataFrame> {
    let ix = &o.index;
    // Without --group (revenue_tree over every line alone) every line is in no group.
    let group: Vec<u8> = match o.lines.column(c::GROUP) {
        Ok(g) => g.cast(&DataType::UInt8)?.u8()?.iter().map(|g| g.unwrap_or(0)).collect(),
        Err(_) => vec![0; o.lines.height()],
    };
    let amount: Vec<f64> = codes::f64_values(o.lines.column(c::AMOUNT)?)?.iter().collect();
    let qty: Option<Vec<f64>> =
        if quantity { Some(codes::f64_values(o.lines.column(c::QUANTITY)?)?.iter().collect()) } else { None };
    let n_groups = group.iter().copied().max().unwrap_or(0) as usize + 1;
    let (offsets, members) = codes::group_by_code(ix.len(), &ix.line_order);
    let cust = &ix.line_customer.codes;
    // (customer, window, group) packed, and the sums of one order in it.
    let mut rows: Vec<(u64, Acc)> = Vec::new();
    let mut accs = vec![Acc::default(); n_groups];
    for k in 0..ix.len() {
        if ix.conflict[k] {
            continue;
        }
        let mut customer = NONE;
        accs.iter_mut().for_each(|a| *a = Acc::default());
        for &row in &members[offsets[k]..offsets[k + 1]] {
            let row = row as usize;
            if cust[row] == NONE {
                continue;
            }
            customer = cust[row];
            let a = &mut accs[group[row] as usize];
            a.lines += 1;
            money::add(&mut a.amount, amount[row]);
            if let Some(q) = &qty {
                money::add(&mut a.units, q[row]);
            }
        }
        if customer == NONE {
            continue;
        }
        let day = utc_day(ix.ordered_at[k]);
        let mut windows = [Some(GroupFacts::ALL_TIME), None];
        if let Some((a, b)) = periods {
            windows[1] = if a.holds(day) {
                Some(GroupFacts::PERIOD_A)
            } else if b.holds(day) {
                Some(GroupFacts::PERIOD_B)
            } else {
                None
            };
        }
        let every = accs.iter().fold(Acc::default(), |t, a| Acc {
            lines: t.lines + a.lines,
            amount: t.amount.wrapping_add(a.amount),
            units: t.units.wrapping_add(a.units),
        });
        for w in windows.into_iter().flatten() {
            let key = |g: u8| (customer as u64) << 16 | (w as u64) << 8 | g as u64;
            for (g, a) in accs.iter().enumerate().filter(|(_, a)| a.lines > 0) {
                rows.push((key(g as u8), *a));
            }
            rows.push((key(GroupFacts::EVERY_LINE), every));
        }
    }
    rows.sort_unstable_by_key(|r| r.0);
    // Summed per (customer, window, group): the orders are the rows summed.
    let mut out: Vec<(u64, u64, Acc)> = Vec::new();
    for (key, a) in rows {
        match out.last_mut() {
            Some((k, n, t)) if *k == key => {
                *n += 1;
                t.lines += a.lines;
                t.amount = t.amount.wrapping_add(a.amount);
                t.units = t.units.wrapping_add(a.units);
            }
            _ => out.push((key, 1, a)),
        }
    }
    let customer_codes: Vec<IdxSize> = out.iter().map(|r| (r.0 >> 16) as IdxSize).collect();
    let keys = ix.line_customer.keys(o.lines.column(c::CUSTOMER)?)?;
    let ids = keys.take_slice(&customer_codes)?;
    let mut columns = vec![
        ids.with_name(c::CUSTOMER.into()),
        Column::new(WIN.into(), out.iter().map(|r| (r.0 >> 8 & 0xFF) as u8).collect::<Vec<u8>>()),
        Column::new(c::GROUP.into(), out.iter().map(|r| (r.0 & 0xFF) as u8).collect::<Vec<u8>>()),
        Column::new(ORDERS.into(), out.iter().map(|r| r.1 as i64).collect::<Vec<i64>>()),
        Column::new(LINES.into(), out.iter().map(|r| r.2.lines as i64).collect::<Vec<i64>>()),
    ];
    for (name, units) in [("amount", false), ("units", true)] {
        if units && !quantity {
            continue;
        }
        for k in 0..4u32 {
            let v: Vec<i64> = out.iter().map(|r| limb(if units { r.2.units } else { r.2.amount }, k)).collect();
            columns.push(Column::new(format!("{name}_{k}").into(), v));
        }
    }
    Ok(DataFrame::new_infer_height(columns)?)
}

/// The exact sums of the limb columns `name_0`..`name_3` (null limbs: 0).
fn joined(df: &DataFrame, name: &str) -> Result<Vec<Exact>> {
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
    let mut sums = vec![col(ORDERS).sum(), col(LINES).sum()];
    for name in if quantity { &["amount", "units"][..] } else { &["amount"][..] } {
        sums.extend((0..4).map(|k| col(format!("{name}_{k}")).cast(DataType::Int64).sum()));
    }
    let lazy: Vec<LazyFrame> = parts.into_iter().map(|p| p.lazy()).collect();
    if lazy.is_empty() {
        return Err(Error::Internal("group facts without a part".into()));
    }
    let all = concat(lazy, UnionArgs { rechunk: false, to_supertypes: true, ..Default::default() })?;
    let df = all
        .with_columns([col(WIN).cast(DataType::UInt8), col(c::GROUP).cast(DataType::UInt8)])
        .group_by([col(c::CUSTOMER), col(WIN), col(c::GROUP)])
        .agg(sums)
        .sort([c::CUSTOMER, WIN, c::GROUP], SortMultipleOptions::default())
        .collect()?;
    let u64s = |name: &str| -> Result<Vec<u64>> {
        Ok(df.column(name)?.cast(&DataType::Int64)?.i64()?.iter().map(|v| v.unwrap_or(0) as u64).collect())
    };
    let u8s = |name: &str| -> Result<Vec<u8>> { Ok(df.column(name)?.u8()?.iter().map(|v| v.unwrap_or(0)).collect()) };
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
