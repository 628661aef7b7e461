//! Activity facts (issue 14): each customer's kept orders by UTC day ([`CustomerActivity`]) and
//! every kept order's totals by day ([`DayTotals`]). Both local engines call these on the orders
//! they hold (the partitioned engine once per part: customers and orders never span two parts, and
//! day totals add up), so the trend columns, cohorts and kpis are the same from every engine.

use rayon::prelude::*;

use super::records::{utc_day, OrderRecords, Ordered};
use crate::error::Result;
use crate::facts::{col_names as c, CustomerActivity, DayTotals};
use crate::kernels::codes::{self, NONE};
use crate::kernels::money::{self, Exact};

/// The activity of the customers `who` (codes, ascending; the customer facts' rows): every order
/// with a customer as (customer, day, purchase, amount), sorted, then summed per (customer, day).
pub fn customer_activity(r: &OrderRecords, who: &[usize]) -> CustomerActivity {
    let mut v: Vec<(u32, i32, bool, Exact)> = r
        .customer
        .iter()
        .enumerate()
        .filter(|&(_, &cu)| cu != NONE)
        .map(|(o, &cu)| (cu, utc_day(r.ordered_at.get(o).copied().unwrap_or(0)) as i32, r.purchase[o], r.amount[o]))
        .collect();
    v.par_sort_unstable_by_key(|&(cu, day, _, _)| (cu, day));
    let mut a = CustomerActivity { offsets: Vec::with_capacity(who.len() + 1), ..Default::default() };
    a.offsets.push(0);
    let mut i = 0;
    for &cu in who {
        // Customers without a purchase order have no row in the facts: skip their orders.
        while i < v.len() && (v[i].0 as usize) < cu {
            i += 1;
        }
        while i < v.len() && v[i].0 as usize == cu {
            let day = v[i].1;
            let (mut purchases, mut amount) = (0u32, 0 as Exact);
            while i < v.len() && v[i].0 as usize == cu && v[i].1 == day {
                purchases += u32::from(v[i].2);
                amount = amount.wrapping_add(v[i].3);
                i += 1;
            }
            a.day.push(day);
            a.purchase_orders.push(purchases);
            a.amount.push(amount);
        }
        a.offsets.push(a.day.len());
    }
    a
}

/// The day totals of the kept orders of `o` (orders rejected for naming two customers are not
/// kept). Lines count on their order's day.
pub fn day_totals(o: &Ordered) -> Result<DayTotals> {
    let ix = &o.index;
    let kept: Vec<usize> = (0..ix.len()).filter(|&k| !ix.conflict[k]).collect();
    let mut days: Vec<i32> = kept.iter().map(|&k| utc_day(ix.ordered_at[k]) as i32).collect();
    days.par_sort_unstable();
    days.dedup();
    // Each order's day as an index into `days` (NONE: not kept).
    let mut slot = vec![NONE; ix.len()];
    for &k in &kept {
        let d = utc_day(ix.ordered_at[k]) as i32;
        slot[k] = days.binary_search(&d).expect("day of a kept order") as u32;
    }
    let n = days.len();
    let mut t = DayTotals {
        day: days,
        orders: vec![0; n],
        purchase_orders: vec![0; n],
        net: vec![0; n],
        guest: vec![0; n],
        returns: vec![0; n],
    };
    for &k in &kept {
        let d = slot[k] as usize;
        t.orders[d] += 1;
        t.purchase_orders[d] += u32::from(ix.purchase[k]);
    }
    let amount = codes::f64_values(o.lines.column(c::AMOUNT)?)?;
    let guest = &ix.line_customer.codes;
    for (row, a) in amount.iter().enumerate() {
        let d = slot[ix.line_order[row] as usize];
        if d == NONE {
            continue;
        }
        let d = d as usize;
        money::add(&mut t.net[d], a);
        if guest[row] == NONE {
            money::add(&mut t.guest[d], a);
        }
        if a < 0.0 {
            money::add(&mut t.returns[d], a);
        }
    }
    Ok(t)
}
