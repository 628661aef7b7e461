//! Per-order records to customer facts: the step both engines share. The memory engine hands it
//! every order of the dump at once; the partitioned engine hands it the orders of one range of
//! customers at a time (customers never span two ranges), so the facts are the same either way.

use polars::prelude::*;
use rayon::prelude::*;

use crate::error::Result;
use crate::facts::{CustomerFacts, PurchaseDays};
use super::records::{utc_day, OrderRecords};
use crate::kernels::baskets::customer_items;
use crate::kernels::codes::NONE;
use crate::kernels::money::{self, Exact};

/// What [`customer_facts`] returns besides the facts.
pub struct CustomerPass {
    pub facts: CustomerFacts,
    /// Per item code: distinct customers whose purchase orders hold it (with baskets).
    pub item_customers: Option<Vec<u32>>,
}

/// Customer facts from order records. `keys` holds the customer_id of each customer code;
/// `items` the item key of each item code (for the favourite product, when `favourite`).
pub fn customer_facts(
    r: &OrderRecords,
    keys: &Column,
    items: Option<&Column>,
    favourite: bool,
    has_cost: bool,
    days: bool,
    activity: bool,
) -> Result<CustomerPass> {
    let n = keys.len();
    let mut frequency = vec![0u32; n];
    let mut amount: Vec<Exact> = vec![0; n];
    let mut profit: Vec<Exact> = if has_cost { vec![0; n] } else { Vec::new() };
    let has_discount = !r.discount.is_empty();
    let mut discount: Vec<Exact> = if has_discount { vec![0; n] } else { Vec::new() };
    let mut first = vec![i64::MAX; n];
    let mut last = vec![i64::MIN; n];
    for (o, &cu) in r.customer.iter().enumerate() {
        if cu == NONE {
            continue;
        }
        let cu = cu as usize;
        amount[cu] = amount[cu].wrapping_add(r.amount[o]);
        if has_cost {
            profit[cu] = profit[cu].wrapping_add(r.profit.get(o).copied().unwrap_or(0));
        }
        if has_discount {
            discount[cu] = discount[cu].wrapping_add(r.discount[o]);
        }
        if r.purchase[o] {
            frequency[cu] += 1;
            let at = r.ordered_at.get(o).copied().unwrap_or(i64::MAX);
            first[cu] = first[cu].min(at);
            last[cu] = last[cu].max(at);
        }
    }
    let who: Vec<usize> = (0..n).filter(|&cu| frequency[cu] > 0).collect();
    let idx: Vec<IdxSize> = who.iter().map(|&cu| cu as IdxSize).collect();
    let pass = r.baskets.zip(items).map(|(b, item_keys)| customer_items(r.customer, n, b, item_keys.len(), favourite));
    let favourite_product = match (&pass, items) {
        (Some(p), Some(item_keys)) if favourite => {
            let picks: IdxCa = who
                .iter()
                .map(|&cu| Some(p.favourite[cu]).filter(|&it| it != NONE).map(|it| it as IdxSize))
                .collect();
            Some(item_keys.take(&picks)?)
        }
        _ => None,
    };
    // Basket sizes (the distinct products of each purchase order; other orders have empty
    // baskets), as the items pass counted them.
    let basket_items = pass
        .as_ref()
        .filter(|_| favourite)
        .map(|p| who.iter().map(|&cu| u64::from(p.basket_items[cu])).collect());
    let facts = CustomerFacts {
        basket_items,
        customer_id: keys.take_slice(&idx)?,
        frequency: who.iter().map(|&cu| frequency[cu]).collect(),
        monetary: who.iter().map(|&cu| money::to_f64(amount[cu])).collect(),
        profit: has_cost.then(|| who.iter().map(|&cu| money::to_f64(profit[cu])).collect()),
        discount: has_discount.then(|| who.iter().map(|&cu| money::to_f64(discount[cu])).collect()),
        first_purchase: who.iter().map(|&cu| first[cu]).collect(),
        last_purchase: who.iter().map(|&cu| last[cu]).collect(),
        favourite_product,
        days: days.then(|| purchase_days(r, n, &who, &amount)),
        activity: activity.then(|| super::activity::customer_activity(r, &who)),
    };
    Ok(CustomerPass { facts, item_customers: pass.map(|p| p.customers) })
}

/// [`PurchaseDays`] of the customers `who` (codes, ascending): each purchase order as (customer,
/// day, amount), sorted, then one pass per customer.
fn purchase_days(r: &OrderRecords, n: usize, who: &[usize], amount: &[Exact]) -> PurchaseDays {
    let mut v: Vec<(u32, i64, Exact)> = r
        .customer
        .iter()
        .enumerate()
        .filter(|&(o, &cu)| cu != NONE && r.purchase[o])
        .map(|(o, &cu)| (cu, utc_day(r.ordered_at.get(o).copied().unwrap_or(0)), r.amount[o]))
        .collect();
    v.par_sort_unstable_by_key(|&(cu, day, _)| (cu, day));
    let mut count = vec![0u32; n];
    let mut repeat: Vec<Exact> = vec![0; n];
    let mut first: Vec<Exact> = vec![0; n];
    let mut gap: Vec<Option<u32>> = vec![None; n];
    let mut i = 0;
    while i < v.len() {
        let cu = v[i].0 as usize;
        let first_day = v[i].1;
        let (mut days, mut last, mut prev) = (0u32, i64::MIN, None::<i64>);
        while i < v.len() && v[i].0 as usize == cu {
            let (_, day, amount) = v[i];
            if day != last {
                if days > 0 {
                    prev = Some(last);
                }
                days += 1;
                last = day;
            }
            if day > first_day {
                repeat[cu] = repeat[cu].wrapping_add(amount);
            } else {
                first[cu] = first[cu].wrapping_add(amount);
            }
            i += 1;
        }
        count[cu] = days;
        gap[cu] = prev.map(|p| (last - p) as u32);
    }
    PurchaseDays {
        count: who.iter().map(|&cu| count[cu]).collect(),
        repeat_value: who.iter().map(|&cu| money::to_f64(repeat[cu])).collect(),
        net_repeat_value: who.iter().map(|&cu| money::to_f64(amount[cu].wrapping_sub(first[cu]))).collect(),
        last_gap_days: who.iter().map(|&cu| gap[cu]).collect(),
    }
}

/// Customer facts of disjoint sets of customers, as one.
pub fn concat_customer_facts(parts: Vec<CustomerFacts>) -> Result<Option<CustomerFacts>> {
    let mut parts = parts.into_iter();
    let Some(mut all) = parts.next() else { return Ok(None) };
    for p in parts {
        all.customer_id.append(&p.customer_id)?;
        all.frequency.extend(p.frequency);
        all.monetary.extend(p.monetary);
        if let (Some(a), Some(b)) = (all.profit.as_mut(), p.profit) {
            a.extend(b);
        }
        if let (Some(a), Some(b)) = (all.discount.as_mut(), p.discount) {
            a.extend(b);
        }
        if let (Some(a), Some(b)) = (all.basket_items.as_mut(), p.basket_items) {
            a.extend(b);
        }
        all.first_purchase.extend(p.first_purchase);
        all.last_purchase.extend(p.last_purchase);
        if let (Some(a), Some(b)) = (all.favourite_product.as_mut(), p.favourite_product.as_ref()) {
            a.append(b)?;
        }
        if let (Some(a), Some(b)) = (all.days.as_mut(), p.days) {
            a.count.extend(b.count);
            a.repeat_value.extend(b.repeat_value);
            a.net_repeat_value.extend(b.net_repeat_value);
            a.last_gap_days.extend(b.last_gap_days);
        }
        if let (Some(a), Some(b)) = (all.activity.as_mut(), p.activity) {
            a.append(b);
        }
    }
    Ok(Some(all))
}
