//! Phase 3: one customer partition at a time (a customer's orders all lie in one): the shared
//! pass [`crate::engine::passes::customers::customer_facts`] turns each into customer facts,
//! concatenated; the customers per item and the purchase timelines are gathered on the way.

use crate::engine::passes::customers::{concat_customer_facts, customer_facts};
use crate::engine::passes::records::OrderRecords;
use crate::engine::spill::read_frames;
use crate::engine::Setup;
use crate::error::{Error, Result};
use crate::facts::{col_names as c, CustomerFacts};
use crate::kernels::baskets::{self, Csr};
use crate::kernels::hierarchy::{self, CoCustomers};
use crate::kernels::codes::{self, NONE};
use crate::kernels::money::{self, Exact};

use super::orders::OrderPass;
use super::parts::{add_counts, read_sets};
use super::{ACTIVITY_ROW_BYTES, CLV_CUSTOMER_BYTES, CUSTOMER_FACT_BYTES};

/// The customer facts, the distinct customers per basket item, and the purchase timelines (for
/// sequence_pairs).
pub(super) struct CustomerPass {
    pub customers: Option<CustomerFacts>,
    pub item_customers: Vec<u32>,
    pub timelines: GatheredTimelines,
    /// product_hierarchy: the top items (final codes, rank order) and their co-customer counts.
    pub hierarchy: Option<(Vec<u32>, CoCustomers)>,
}

/// Phase 3 over the customer records of `o`, `n_cparts` partitions, within `limit`.
pub(super) fn customer_partitions(o: &OrderPass, s: &Setup, limit: u64, n_cparts: u32) -> Result<CustomerPass> {
    let has = s.has;
    let (products, items, item_is_product) = (&o.products, &o.items, o.item_is_product);
    let basket_keys = o.basket_keys();
    // Which item sets the customer records carry (as the memory engine codes them).
    let need_products = has.product && (s.plan.favourite || item_is_product);
    let need_items = s.plan.items == Some(c::ITEM);
    let n_basket_items = basket_keys.map_or(0, |(k, _)| k.len());
    let mut item_customers = vec![0u32; n_basket_items];
    let mut customer_parts = Vec::new();
    let mut held = 0u64;
    // The customers' purchase orders, gathered for the sequence kernel (customer codes made global).
    let mut timelines = GatheredTimelines::default();
    // product_hierarchy: the top items by purchase orders (known after phase 2), and the counts of
    // the customers who bought them, added up partition by partition (a customer lies in one).
    let mut hierarchy = s.plan.hierarchy.then(|| {
        (hierarchy::top_items(&o.basket_orders(), s.hierarchy_products), CoCustomers::default())
    });
    for (q, (frame, sets)) in o.record_files.iter().zip(&o.record_sets).enumerate() {
        let (Some(frame), Some(sets)) = (frame, sets) else { continue };
        // The partition's records and their item sets: two files, read side by side.
        let (df, all_sets) = rayon::join(|| read_frames(frame, &o.record_schema), || read_sets(sets, None));
        let (df, all_sets) = (df?, all_sets?);
        let product_remap = products.as_ref().map(|(_, r)| r.as_slice()).unwrap_or(&[]);
        let item_remap = items.as_ref().map(|(_, r)| r.as_slice()).unwrap_or(&[]);
        let (first, second) = if need_products {
            split_record_sets(&all_sets, product_remap, need_items.then_some(item_remap))
        } else {
            split_record_sets(&all_sets, item_remap, None)
        };
        let product_sets = need_products.then_some(&first);
        let item_sets = if need_items { second.as_ref().or(Some(&first)) } else { product_sets.filter(|_| item_is_product) };
        let cust = codes::encode(df.column(c::CUSTOMER)?)?;
        let keys = cust.keys(df.column(c::CUSTOMER)?)?;
        let exact = |hi: &str, lo: &str| -> Result<Vec<Exact>> {
            let (Ok(h), Ok(l)) = (df.column(hi), df.column(lo)) else { return Ok(Vec::new()) };
            Ok(h.i64()?.into_no_null_iter().zip(l.i64()?.into_no_null_iter()).map(|(h, l)| money::join(h, l)).collect())
        };
        let purchase: Vec<bool> = df.column("purchase")?.bool()?.iter().map(|b| b.unwrap_or(false)).collect();
        let ordered_at: Vec<i64> = match df.column("ordered_at") {
            Ok(t) => t.i64()?.into_no_null_iter().collect(),
            Err(_) => Vec::new(),
        };
        let amount = exact("amount_hi", "amount_lo")?;
        let profit = exact("profit_hi", "profit_lo")?;
        let discount = exact("discount_hi", "discount_lo")?;
        if s.plan.customers {
            let records = OrderRecords {
                customer: &cust.codes,
                purchase: &purchase,
                ordered_at: &ordered_at,
                amount: &amount,
                profit: &profit,
                discount: &discount,
                baskets: product_sets,
            };
            let product_keys = products.as_ref().map(|(k, _)| k);
            let pass = customer_facts(
                &records,
                &keys,
                product_keys,
                s.plan.favourite,
                has.cost,
                s.plan.purchase_days,
                s.plan.activity,
            )?;
            if item_is_product {
                add_counts(&mut item_customers, pass.item_customers.as_deref());
            }
            let per_customer = CUSTOMER_FACT_BYTES + if s.plan.purchase_days { CLV_CUSTOMER_BYTES } else { 0 };
            held += pass.facts.len() as u64 * per_customer
                + pass.facts.activity.as_ref().map_or(0, |a| a.day.len() as u64 * ACTIVITY_ROW_BYTES);
            let done = (q + 1) as u64;
            if held.saturating_mul(n_cparts as u64) / done > limit {
                return Err(Error::Config(format!(
                    "--memory-limit {limit} bytes is too small for this dump: its customer facts alone need about {} bytes ({} bytes a customer{}); give at least that",
                    held.saturating_mul(n_cparts as u64) / done + limit / 4,
                    per_customer,
                    if s.plan.purchase_days { ", with the CLV models" } else { "" }
                )));
            }
            customer_parts.push(pass.facts);
        }
        if let (true, Some(b)) = (s.plan.sequences, item_sets) {
            timelines.add(&cust.codes, keys.len(), &purchase, &ordered_at, b);
            let need = timelines.bytes();
            if need > limit {
                return Err(Error::Config(format!(
                    "--memory-limit {limit} bytes is too small for sequence_pairs on this dump: the customers' purchase timelines need more than {need} bytes ({TIMELINE_ORDER_BYTES} a purchase order, {TIMELINE_ITEM_BYTES} an item in it); give more"
                )));
            }
        }
        if let (Some((top, co)), Some(b)) = (hierarchy.as_mut(), item_sets) {
            co.add(&hierarchy::co_customers(&cust.codes, keys.len(), b, top, n_basket_items));
        }
        if !(item_is_product && s.plan.customers) {
            if let Some(b) = item_sets {
                let pass = baskets::customer_items(&cust.codes, keys.len(), b, n_basket_items, false);
                add_counts(&mut item_customers, Some(&pass.customers));
            }
        }
    }
    Ok(CustomerPass { customers: concat_customer_facts(customer_parts)?, item_customers, timelines, hierarchy })
}

/// Bytes the sequence kernel holds per purchase order (customer, time, offsets, its place in the
/// timelines) and per item in one (the item, and at most one first-purchase occurrence).
const TIMELINE_ORDER_BYTES: u64 = 40;
const TIMELINE_ITEM_BYTES: u64 = 16;

/// The purchase orders of every customer partition, one entry per order, customer codes made
/// global (each partition's codes shifted past the previous partitions' customers).
#[derive(Default)]
pub(super) struct GatheredTimelines {
    pub customer: Vec<u32>,
    pub purchase: Vec<bool>,
    pub ordered_at: Vec<i64>,
    pub baskets: Csr,
    pub n_customers: usize,
}

impl GatheredTimelines {
    /// One customer partition's records: customer codes `0..n_customers`, purchase flags, times
    /// and basket items per record.
    fn add(&mut self, customer: &[u32], n_customers: usize, purchase: &[bool], ordered_at: &[i64], items: &Csr) {
        if self.baskets.offsets.is_empty() {
            self.baskets.offsets.push(0);
        }
        let base = self.n_customers as u32;
        for r in 0..customer.len() {
            if purchase[r] && customer[r] != NONE {
                self.customer.push(base + customer[r]);
                self.purchase.push(true);
                self.ordered_at.push(ordered_at[r]);
                self.baskets.items.extend_from_slice(items.of(r));
                self.baskets.offsets.push(self.baskets.items.len());
            }
        }
        self.n_customers += n_customers;
    }

    /// What the sequence kernel will hold for these timelines, about.
    fn bytes(&self) -> u64 {
        self.customer.len() as u64 * TIMELINE_ORDER_BYTES + self.baskets.items.len() as u64 * TIMELINE_ITEM_BYTES
    }
}

/// The record sets hold, per order, one set, or two (the favourite-product set, then the basket
/// item set) when `second` is given. Split them and map each to final codes.
fn split_record_sets(all: &Csr, first: &[u32], second: Option<&[u32]>) -> (Csr, Option<Csr>) {
    let map = |ids: &[u32], remap: &[u32], out: &mut Csr| {
        let start = out.items.len();
        out.items.extend(ids.iter().map(|&id| remap[id as usize]));
        out.items[start..].sort_unstable();
        out.offsets.push(out.items.len());
    };
    let mut a = Csr { offsets: vec![0], items: Vec::new() };
    let mut b = Csr { offsets: vec![0], items: Vec::new() };
    let step = if second.is_some() { 2 } else { 1 };
    let mut set = 0;
    while set + step <= all.len() {
        map(all.of(set), first, &mut a);
        if let Some(remap) = second {
            map(all.of(set + 1), remap, &mut b);
        }
        set += step;
    }
    (a, second.map(|_| b))
}
