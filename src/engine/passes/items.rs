//! The item passes: per item, revenue and quantity and its purchase orders; the pair facts.

use super::records::{ItemCodes, Ordered};
use crate::engine::Setup;
use crate::error::Result;
use crate::facts::{col_names as c, PairFacts, Present};
use crate::kernels::baskets::Csr;
use crate::kernels::codes::{self, NONE};
use crate::kernels::money::{self, Exact};
use crate::kernels::pairs;

/// Per item code: revenue and quantity over the item lines (positive lines of purchase orders), exact.
pub fn item_sums(o: &Ordered, codes: &ItemCodes, has: Present) -> Result<(Vec<Exact>, Vec<Exact>)> {
    let n_items = codes.keys.len();
    let ix = &o.index;
    let line_items = &codes.codes.codes;
    let amount = codes::f64_values(o.lines.column(c::AMOUNT)?)?;
    let quantity: Option<Vec<Option<f64>>> =
        if has.quantity { Some(o.lines.column(c::QUANTITY)?.f64()?.iter().collect()) } else { None };
    let mut revenue: Vec<Exact> = vec![0; n_items];
    let mut qty: Vec<Exact> = if quantity.is_some() { vec![0; n_items] } else { Vec::new() };
    for (row, a) in amount.iter().enumerate() {
        let it = line_items[row];
        if it != NONE && ix.purchase[ix.line_order[row] as usize] && ix.positive[row] {
            money::add(&mut revenue[it as usize], a);
            if let Some(Some(q)) = quantity.as_ref().map(|v| v[row]) {
                money::add(&mut qty[it as usize], q);
            }
        }
    }
    Ok((revenue, qty))
}

/// Purchase orders holding each item code.
pub fn item_orders(b: &Csr, n_items: usize) -> Vec<u32> {
    let mut orders = vec![0u32; n_items];
    for &it in &b.items {
        orders[it as usize] += 1;
    }
    orders
}

/// Count the pairs of the baskets (threshold and size limit from the options).
pub fn pair_facts(b: &Csr, n_items: usize, s: &Setup, total_purchase_orders: u64, budget: usize) -> PairFacts {
    let threshold = s.basket.threshold(total_purchase_orders);
    let counted =
        pairs::count_pairs_within(&b.offsets, &b.items, n_items, kernel_threshold(threshold), s.basket.limits.max_basket_items, budget);
    into_pair_facts(counted, threshold)
}

/// The pair threshold as the kernels take it (a count of baskets).
pub fn kernel_threshold(threshold: u64) -> u32 {
    threshold.min(u32::MAX as u64) as u32
}

/// What a pair kernel counted, as pair facts.
pub fn into_pair_facts(counted: pairs::PairCounts, threshold: u64) -> PairFacts {
    PairFacts {
        pairs: counted.pairs,
        threshold,
        items_kept: counted.items_kept,
        baskets_paired: counted.baskets_paired,
        baskets_skipped: counted.baskets_skipped,
    }
}
