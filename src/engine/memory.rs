//! The memory engine: the dump's needed columns in memory, dense codes for orders, customers and
//! items, and one pass per fact over plain arrays. About 100 bytes a line at its peak; the
//! partitioned engine runs the same steps on one part of the dump at a time.

use polars::prelude::*;

use super::customers::{customer_facts, OrderRecords};
use super::orders::{self, OrderIndex};
use super::stopwatch::Stopwatch;
use super::{attributes, patterns, require_lines, require_representable_money, Setup};
use crate::error::{Error, Result};
use crate::facts::{col_names as c, Counts, Facts, ItemFacts, PairFacts, Present};
use crate::input::Dump;
use crate::kernels::baskets::{self, Csr};
use crate::kernels::codes::{self, Codes, NONE};
use crate::kernels::money::{self, Exact};
use crate::kernels::pairs;
use crate::kernels::sequences::Timelines;

/// Item codes of every line, numbered in item order, and the item of each code.
pub struct ItemCodes {
    pub codes: Codes,
    pub keys: Column,
}

/// Code the item column `column` (the product, or another item column) of the used lines, in key
/// order (so `a < b` on codes is `a < b` on items).
pub fn encode_items(lines: &DataFrame, column: &str) -> Result<ItemCodes> {
    let col = lines.column(column)?;
    let mut codes = codes::encode(col)?;
    codes.sort_by_key(col)?;
    let keys = codes.keys(col)?;
    Ok(ItemCodes { codes, keys })
}

/// The lines of one part of the dump (the whole dump in this engine) turned into orders: the
/// cleaned lines, the order index, the item codes and the baskets.
pub struct Ordered {
    pub lines: DataFrame,
    pub index: OrderIndex,
    pub counts: Counts,
    /// Product codes (favourite product; the basket items when no other item column is given).
    pub products: Option<(ItemCodes, Csr)>,
    /// Codes of `--item-col` when it is not the product.
    pub items: Option<(ItemCodes, Csr)>,
}

impl Ordered {
    /// The basket items: the item column's codes and baskets, else the product's.
    pub fn basket(&self) -> Option<&(ItemCodes, Csr)> {
        self.items.as_ref().or(self.products.as_ref())
    }
}

/// Orders from lines that passed the line rules (and the future rule): the order index and, beside
/// it on the other core, the item codes; then the baskets of purchase orders.
pub fn order_lines(lines: DataFrame, mut counts: Counts, s: &Setup, sw: &mut Stopwatch) -> Result<Ordered> {
    let has = s.has;
    let need_products = has.product && (s.plan.favourite || s.plan.items == Some(c::PRODUCT));
    let need_items = s.plan.items == Some(c::ITEM);
    let (index, (products, items)) = rayon::join(
        || OrderIndex::build(&lines, has, s.plan.customers || s.plan.sequences, s.money_decimals),
        || {
            let code = |wanted: bool, column: &str| wanted.then(|| encode_items(&lines, column)).transpose();
            (code(need_products, c::PRODUCT), code(need_items, c::ITEM))
        },
    );
    let (index, products, items) = (index?, products?, items?);
    orders::count_orders(&mut counts, &index, lines.height());
    sw.lap("orders");
    let basket = |codes: ItemCodes| {
        let is_item = |row: usize| index.purchase[index.line_order[row] as usize] && index.positive[row];
        let csr = baskets::build(&index.line_order, &codes.codes.codes, index.len(), index.clustered, is_item);
        (codes, csr)
    };
    let products = products.map(basket);
    let items = items.map(basket);
    sw.lap("basket_lists");
    Ok(Ordered { lines, index, counts, products, items })
}

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
        pairs::count_pairs_within(&b.offsets, &b.items, n_items, kernel_threshold(threshold), s.basket.max_basket_items, budget);
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

/// Facts of the whole dump, held in memory.
pub fn facts(dump: &Dump, s: &Setup, sw: &mut Stopwatch) -> Result<Facts> {
    let raw = dump.collect()?;
    sw.lap("scan");
    let has = s.has;
    let (mut counts, max_ts, valid) = orders::reject_invalid_lines(raw, has)?;
    let as_of = orders::as_of_date(s.as_of, max_ts, has, &counts, &s.inputs, &s.amount_column)?;
    // The default D is the day after the latest line: nothing lies in its future.
    let (current, future) = orders::exclude_future_lines(valid, s.as_of.and(as_of))?;
    counts.future_lines = future;
    sw.lap("line_rules");
    let o = order_lines(current, counts, s, sw)?;
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
    let (mut items, mut pairs, mut itemsets, mut sequences) = (None, None, None, None);
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
        items = Some(item_facts?);
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
            sequences = Some(patterns::sequence_facts(&t, n_items, s, as_of));
            sw.lap("sequence_facts");
        }
    }
    let days = if s.plan.activity { Some(super::activity::day_totals(&o)?) } else { None };
    if days.is_some() {
        sw.lap("day_totals");
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
    Ok(Facts { as_of, has, counts, customers, items, pairs, itemsets, sequences, days, product_names, customer_attrs })
}

/// The customer tables need at least one customer with a purchase order.
pub fn no_customers(s: &Setup, k: &Counts) -> Error {
    Error::Empty {
        what: s.inputs.clone(),
        reason: format!(
            "no customer has a purchase order ({} orders, {} purchase orders, {} guest lines)",
            k.orders, k.purchase_orders, k.guest_lines
        ),
    }
}
