//! The memory engine: the dump's needed columns in memory, dense codes for orders, customers and
//! items, and one pass per fact over plain arrays. About 100 bytes a line at its peak; the
//! partitioned engine runs the same steps on one part of the dump at a time.

use super::passes::customers::customer_facts;
use super::passes::items::{item_orders, item_sums, pair_facts};
use super::passes::records::{order_lines, OrderRecords};
use super::passes::{activity, attributes, groups};
use super::clean;
use super::stopwatch::Stopwatch;
use super::{no_customers, patterns, require_lines, require_representable_money, Setup};
use crate::error::Result;
use crate::facts::{col_names as c, Facts, HierarchyFacts, ItemFacts};
use crate::kernels::hierarchy;
use crate::input::Dump;
use crate::kernels::baskets;
use crate::kernels::money;
use crate::kernels::pairs;
use crate::kernels::sequences::Timelines;

/// Facts of the whole dump, held in memory.
pub fn facts(dump: &Dump, s: &Setup, sw: &mut Stopwatch) -> Result<Facts> {
    let raw = dump.collect()?;
    sw.lap("scan");
    let has = s.has;
    let clean::Cleaned { lines, mut counts, as_of } = clean::clean_lines(raw, has, s.as_of, &s.inputs, &s.amount_column)?;
    counts.merge(&s.carried);
    sw.lap("line_rules");
    let o = order_lines(lines, counts, s, sw)?;
    require_lines(s, &o.counts)?;
    require_representable_money(s, &o.lines)?;
    let ix = &o.index;
    let kept_customer = ix.kept_customer();
    let customer_keys = || ix.line_customer.keys(o.lines.column(c::CUSTOMER)?);
    let item_is_product = s.plan.items == Some(c::PRODUCT);
    let mut customer_pass = None;
    if s.plan.customers {
        let records = OrderRecords {
            customer: &kept_customer,
            purchase: &ix.purchase,
            ordered_at: &ix.ordered_at,
            amount: &ix.customer_amount,
            profit: &ix.customer_profit,
            discount: &ix.customer_discount,
            baskets: o.products.as_ref().map(|p| &p.1),
        };
        let keys = customer_keys()?;
        let product_keys = o.products.as_ref().map(|p| &p.0.keys);
        customer_pass = Some(customer_facts(
            &records,
            &keys,
            product_keys,
            s.plan.favourite,
            has.cost,
            s.plan.purchase_days,
            s.plan.activity,
        )?);
        sw.lap("customer_facts");
    }
    let (mut items, mut pairs, mut itemsets, mut sequences, mut hier) = (None, None, None, None, None);
    if let Some((codes, b)) = o.basket().filter(|_| s.plan.items.is_some()) {
        let n_items = codes.keys.len();
        let total = o.counts.purchase_orders;
        // The per-item sums and customers are serial passes: they run beside the pair kernel.
        let (item_facts, pair_facts) = rayon::join(
            || -> Result<ItemFacts> {
                let (revenue, qty) = item_sums(&o, codes, has)?;
                let customers = match customer_pass.as_ref().and_then(|p| p.item_customers.clone()) {
                    Some(c) if item_is_product => c,
                    _ => baskets::customer_items(&kept_customer, ix.line_customer.len(), b, n_items, false).customers,
                };
                Ok(ItemFacts {
                    item: codes.keys.clone(),
                    orders: item_orders(b, n_items),
                    customers: has.customer.then_some(customers),
                    quantity: has.quantity.then(|| qty.iter().map(|q| money::to_f64(*q)).collect()),
                    revenue: has.amount.then(|| revenue.iter().map(|r| money::to_f64(*r)).collect()),
                    total_purchase_orders: total,
                })
            },
            || s.plan.pairs.then(|| pair_facts(b, n_items, s, total, pairs::PAIR_BUDGET)),
        );
        let item_facts = item_facts?;
        if s.plan.hierarchy {
            let top = hierarchy::top_items(&item_facts.orders, s.hierarchy_products);
            let co = hierarchy::co_customers(&kept_customer, ix.line_customer.len(), b, &top, n_items);
            let rows: Vec<polars::prelude::IdxSize> = top.iter().map(|&t| t as polars::prelude::IdxSize).collect();
            hier = Some(HierarchyFacts {
                items: codes.keys.take_slice(&rows)?,
                customers: co.customers,
                single: co.single,
                both: co.both,
            });
        }
        items = Some(item_facts);
        pairs = pair_facts;
        sw.lap("item_and_pair_facts");
        if s.plan.itemsets {
            itemsets = Some(patterns::itemset_facts(b, n_items, s, total)?);
            sw.lap("itemset_facts");
        }
        if let (true, Some(as_of)) = (s.plan.sequences, as_of) {
            let t = Timelines {
                customer: &kept_customer,
                purchase: &ix.purchase,
                ordered_at: &ix.ordered_at,
                baskets: b,
                n_customers: ix.line_customer.len(),
            };
            sequences = Some(patterns::sequence_facts(&t, n_items, s, as_of)?);
            sw.lap("sequence_facts");
        }
    }
    let days = if s.plan.day_totals { Some(activity::day_totals(&o)?) } else { None };
    if days.is_some() {
        sw.lap("day_totals");
    }
    let group_facts =
        if s.plan.groups { Some(groups::merge(vec![groups::group_rows(&o, s.periods, has.quantity)?], has.quantity)?) } else { None };
    if group_facts.is_some() {
        sw.lap("group_facts");
    }
    let customers = customer_pass.map(|p| p.facts);
    if s.plan.customers && customers.as_ref().is_none_or(|f| f.is_empty()) {
        return Err(no_customers(s, &o.counts));
    }
    let product_names = if s.product_names { Some(attributes::pick_names(attributes::name_votes(&o)?)?) } else { None };
    let customer_attrs =
        if s.customer_attrs.is_empty() {
            None
        } else {
            Some(attributes::pick_attrs(vec![attributes::attr_candidates(&o, s.customer_attrs.len())?], &s.customer_attrs)?)
        };
    if product_names.is_some() || customer_attrs.is_some() {
        sw.lap("attributes");
    }
    let counts = o.counts.clone();
    // The lines and the indexes take tens of milliseconds to free: let that happen beside the write.
    std::thread::spawn(move || drop(o));
    Ok(Facts {
        as_of,
        has,
        counts,
        customers,
        items,
        pairs,
        itemsets,
        sequences,
        days,
        groups: group_facts,
        hierarchy: hier,
        product_names,
        customer_attrs,
    })
}
