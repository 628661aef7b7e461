//! Phase 4: item facts from the merged item sums, and from the basket spill the pair facts (in
//! memory, or pass by pass over ranges of first items when the baskets do not fit), the itemsets
//! and the sequence pairs.

use crate::engine::passes::items;
use crate::engine::{patterns, Setup};
use crate::error::{Error, Result};
use crate::facts::{ItemFacts, ItemsetFacts, PairFacts, SequenceFacts};
use crate::kernels::baskets::Csr;
use crate::kernels::money;
use crate::kernels::pairs::{count_pairs_streamed, BasketPasses};
use crate::kernels::sequences::Timelines;

use super::customers::CustomerPass;
use super::orders::OrderPass;
use super::parts::{read_sets, BasketFile};

/// The item-level facts of the dump.
pub(super) struct ItemPass {
    pub items: Option<ItemFacts>,
    pub pairs: Option<PairFacts>,
    pub itemsets: Option<ItemsetFacts>,
    pub sequences: Option<SequenceFacts>,
    /// The pair kernel read the baskets from the spill (they did not fit a quarter of the limit).
    pub pairs_streamed: bool,
}

/// Phase 4 over `o` and `cp`, `total` purchase orders, within `limit`.
pub(super) fn item_facts(
    o: &OrderPass,
    cp: &mut CustomerPass,
    s: &Setup,
    as_of: Option<chrono::NaiveDate>,
    total: u64,
    limit: u64,
) -> Result<ItemPass> {
    let has = s.has;
    let (mut item_facts, mut pair_facts, mut pairs_streamed) = (None, None, false);
    let (mut itemset_facts, mut sequence_facts) = (None, None);
    let (sums, basket_path, timelines) = (&o.sums, &o.basket_path, &cp.timelines);
    let mut item_customers = std::mem::take(&mut cp.item_customers);
    if let (Some((keys, remap)), Some(_)) = (o.basket_keys(), s.plan.items) {
        let n = keys.len();
        let orders = o.basket_orders();
        let mut revenue = vec![0i128; n];
        let mut quantity = vec![0i128; n];
        for (id, &code) in remap.iter().enumerate() {
            let code = code as usize;
            revenue[code] = sums.revenue.get(id).copied().unwrap_or(0);
            quantity[code] = sums.quantity.get(id).copied().unwrap_or(0);
        }
        // The baskets in memory when they take at most a quarter of the limit (a CSR takes about
        // 1.5 times the file), else read from the spill once per pass of the pair kernel.
        let file_bytes = std::fs::metadata(&basket_path).map(|m| m.len()).unwrap_or(u64::MAX);
        pairs_streamed = s.plan.pairs && file_bytes.saturating_mul(3) / 2 > limit / 4;
        pair_facts = if !s.plan.pairs {
            None
        } else if !pairs_streamed {
            let b = read_sets(&basket_path, Some(remap))?;
            let budget = ((limit / 4) / 4).clamp(1 << 16, crate::kernels::pairs::PAIR_BUDGET as u64) as usize;
            Some(items::pair_facts(&b, n, s, total, budget))
        } else {
            let threshold = s.basket.threshold(total);
            let budget = ((limit / 3) / 4).max(1 << 16) as usize;
            let passes = BasketFile { path: basket_path.clone(), remap };
            let counted =
                count_pairs_streamed(&passes, n, items::kernel_threshold(threshold), s.basket.limits.max_basket_items, budget)?;
            Some(items::into_pair_facts(counted, threshold))
        };
        if s.plan.itemsets {
            // The baskets again, holding only the items frequent enough for an itemset (an
            // itemset is never more frequent than its items), too-large baskets emptied first.
            let threshold = s.patterns.min_support.threshold(total);
            let mut b = Csr { offsets: vec![0], items: Vec::new() };
            let mut too_big = false;
            BasketFile { path: basket_path.clone(), remap }.each(&mut |set: &[u32]| {
                if !too_big && s.basket.limits.max_basket_items.is_none_or(|m| set.len() <= m) {
                    b.items.extend(set.iter().filter(|&&it| orders[it as usize] as u64 >= threshold));
                    too_big = miner_bytes(&b) > limit;
                }
                b.offsets.push(b.items.len());
            })?;
            if too_big {
                return Err(Error::Config(format!(
                    "--memory-limit {limit} bytes is too small for the itemsets of this dump: the baskets of items in at least {threshold} orders need more ({MINER_ITEM_BYTES} bytes an item occurrence while mining); give more, or raise --itemset-min-support"
                )));
            }
            itemset_facts = Some(patterns::itemset_facts(&b, n, s, total)?);
        }
        if let (true, Some(as_of)) = (s.plan.sequences, as_of) {
            let t = Timelines {
                customer: &timelines.customer,
                purchase: &timelines.purchase,
                ordered_at: &timelines.ordered_at,
                baskets: &timelines.baskets,
                n_customers: timelines.n_customers,
            };
            sequence_facts = Some(patterns::sequence_facts(&t, n, s, as_of)?);
        }
        item_facts = Some(ItemFacts {
            item: keys.clone(),
            orders,
            customers: has.customer.then(|| std::mem::take(&mut item_customers)),
            quantity: has.quantity.then(|| quantity.iter().map(|q| money::to_f64(*q)).collect()),
            revenue: has.amount.then(|| revenue.iter().map(|r| money::to_f64(*r)).collect()),
            total_purchase_orders: total,
        });
    }
    Ok(ItemPass { items: item_facts, pairs: pair_facts, itemsets: itemset_facts, sequences: sequence_facts, pairs_streamed })
}

/// Bytes the itemset miner holds per item occurrence of the baskets it reads (the baskets, their
/// ranked copy and the first-level projected databases), and per basket.
const MINER_ITEM_BYTES: u64 = 16;
const MINER_BASKET_BYTES: u64 = 16;

/// What the itemset miner will hold for the baskets `b`, about.
fn miner_bytes(b: &Csr) -> u64 {
    b.items.len() as u64 * MINER_ITEM_BYTES + b.offsets.len() as u64 * MINER_BASKET_BYTES
}
