//! Phase 2: one order partition at a time through the shared passes (future rule, order index,
//! item codes, baskets). What comes out is small and mergeable: the counts, per item its purchase
//! orders, revenue and quantity (exact sums, merged by item key), the baskets (appended to a basket
//! spill), and one record per customer order, appended to the spill of the customer's partition.

use std::path::PathBuf;

use polars::prelude::*;

use super::parts::{partition_ids, ItemSums, KeyMap, Writers};
use super::scan::Scanned;
use crate::engine::clean;
use crate::engine::passes::items::{self, item_orders};
use crate::engine::passes::records::{order_lines, Ordered};
use crate::engine::passes::{activity, attributes, groups};
use crate::engine::spill::{buffer_size, read_frames, SetFile, SpillDir};
use crate::engine::stopwatch::{Split, Stopwatch};
use crate::engine::{abs_money, AbsSum, Setup};
use crate::error::Result;
use crate::facts::{col_names as c, Counts, DayTotals};
use crate::kernels::codes::NONE;
use crate::kernels::money::{self, Exact};

/// What the order partitions left: the customer records by customer partition, the basket spill,
/// the items' keys (sorted, with each provisional id's final code) and sums, and the small parts.
pub(super) struct OrderPass {
    pub record_files: Vec<Option<PathBuf>>,
    pub record_schema: Schema,
    pub record_sets: Vec<Option<PathBuf>>,
    pub basket_path: PathBuf,
    pub products: Option<(Column, Vec<u32>)>,
    pub items: Option<(Column, Vec<u32>)>,
    /// The basket item is the product (no `--item-col`).
    pub item_is_product: bool,
    pub sums: ItemSums,
    pub day_parts: Vec<DayTotals>,
    /// The group facts' parts (see [`groups::merge`]).
    pub group_parts: Vec<DataFrame>,
    pub name_parts: Vec<LazyFrame>,
    pub attr_parts: Vec<Vec<DataFrame>>,
    pub money_totals: [AbsSum; 3],
}

impl OrderPass {
    /// The purchase orders of each basket item, by final code (merged by key in phase 2).
    pub fn basket_orders(&self) -> Vec<u32> {
        let Some((keys, remap)) = self.basket_keys() else { return Vec::new() };
        let mut orders = vec![0u32; keys.len()];
        for (id, &code) in remap.iter().enumerate() {
            orders[code as usize] = self.sums.orders.get(id).copied().unwrap_or(0);
        }
        orders
    }

    /// The basket items' keys and final codes: the products, or the `--item-col` items.
    pub fn basket_keys(&self) -> Option<&(Column, Vec<u32>)> {
        if self.item_is_product {
            self.products.as_ref()
        } else {
            self.items.as_ref()
        }
    }
}

/// Phase 2 over the order partitions of `scanned` (each removed once read), as of `as_of`, into
/// `n_cparts` customer partitions; the order rules' counts are added to `counts`.
pub(super) fn order_partitions(
    scanned: &Scanned,
    s: &Setup,
    as_of: Option<chrono::NaiveDate>,
    n_cparts: u32,
    limit: u64,
    spill: &mut SpillDir,
    counts: &mut Counts,
) -> Result<OrderPass> {
    let has = s.has;
    let mut products = KeyMap::default();
    let mut items = KeyMap::default();
    let mut sums = ItemSums::default();
    let mut money_totals = [AbsSum::default(); 3];
    let buffer = buffer_size(limit, 2 * n_cparts + 1);
    let mut records = Writers::new(spill, "orders", n_cparts, buffer);
    let mut record_sets: Vec<Option<SetFile>> = (0..n_cparts).map(|_| None).collect();
    let mut basket_file = SetFile::create(spill.file("baskets.bin"), buffer)?;
    let mut day_parts = Vec::new();
    let mut group_parts = Vec::new();
    let (mut name_parts, mut attr_parts) = (Vec::new(), Vec::new());
    let mut quiet = Stopwatch::start();
    let item_is_product = s.plan.items == Some(c::PRODUCT);
    counts.rejected.insert("order_customer_conflict".into(), 0);
    // Seconds spent per step over all partitions (logged at debug level): reading a partition
    // back, the order pass, what it leaves (item sums, baskets, customer records...), the rest.
    let mut split = Split::<4>::start();
    for path in scanned.files.iter().flatten() {
        split.tick(3);
        let part = read_frames(path, &scanned.schema)?;
        spill.remove(path)?;
        let (current, future) = clean::exclude_future_lines(part, s.as_of.and(as_of))?;
        for (total, part) in money_totals.iter_mut().zip(abs_money(&current)?) {
            total.add(part);
        }
        let part_counts = Counts { future_lines: future, ..Default::default() };
        split.tick(0);
        let o = order_lines(current, part_counts, s, &mut quiet)?;
        split.tick(1);
        // The partition's counts hold only what this pass adds (future lines and the order rules;
        // its lines were counted and their line rules applied in pass 1).
        counts.merge(&o.counts);
        // Provisional item ids of this partition's codes.
        let product_ids = o.products.as_ref().map(|(codes, _)| products.ids(&codes.keys)).transpose()?;
        let item_ids = o.items.as_ref().map(|(codes, _)| items.ids(&codes.keys)).transpose()?;
        let (basket_ids, basket) = match (&o.items, &item_ids, &o.products, &product_ids) {
            (Some((codes, b)), Some(ids), _, _) => (Some(ids), Some((codes, b))),
            (None, _, Some((codes, b)), Some(ids)) if item_is_product => (Some(ids), Some((codes, b))),
            _ => (None, None),
        };
        // What the partition leaves, in two independent halves on the two cores: the item sums
        // and the basket spill; the day totals, names, attributes and customer records.
        let spill_dir: &SpillDir = spill;
        let (items_done, rest_done) = rayon::join(
            || -> Result<()> {
                if let (Some(ids), Some((codes, b))) = (basket_ids, basket) {
                    let (revenue, qty) = items::item_sums(&o, codes, has)?;
                    sums.add(ids, &item_orders(b, codes.keys.len()), &revenue, &qty);
                    for set in 0..b.len() {
                        let its = b.of(set);
                        if !its.is_empty() {
                            basket_file.push(its.iter().map(|&it| ids[it as usize]))?;
                        }
                    }
                }
                Ok(())
            },
            || -> Result<()> {
                if s.plan.day_totals {
                    day_parts.push(activity::day_totals(&o)?);
                }
                if s.plan.groups {
                    group_parts.push(groups::group_rows(&o, s.periods, has.quantity)?);
                }
                // Names and attributes: small frames per part (name votes add up across parts; a
                // customer lies in one part).
                if s.product_names {
                    name_parts.push(attributes::name_votes(&o)?.lazy());
                }
                if !s.customer_attrs.is_empty() {
                    attr_parts.push(attributes::attr_candidates(&o, s.customer_attrs.len())?);
                }
                if s.plan.customers || (has.customer && s.plan.items.is_some()) {
                    let (p, i) = (product_ids.as_deref(), item_ids.as_deref());
                    write_customer_records(&o, p, i, &mut records, &mut record_sets, spill_dir, n_cparts)?;
                }
                Ok(())
            },
        );
        items_done?;
        rest_done?;
        split.tick(2);
    }
    split.tick(3);
    tracing::debug!(
        read_back = split.secs[0],
        order_pass = split.secs[1],
        items_baskets_and_records = split.secs[2],
        rest = split.secs[3],
        "order partitions"
    );
    let (record_files, record_schema) = records.finish()?;
    let record_sets: Vec<Option<PathBuf>> = record_sets.into_iter().map(|f| f.map(|f| f.finish()).transpose()).collect::<Result<_>>()?;
    let basket_path = basket_file.finish()?;
    let products = products.finish()?;
    let items = if item_is_product { None } else { items.finish()? };
    Ok(OrderPass {
        record_files,
        record_schema,
        record_sets,
        basket_path,
        products,
        items,
        item_is_product,
        sums,
        day_parts,
        group_parts,
        name_parts,
        attr_parts,
        money_totals,
    })
}

/// One record per order of a known customer (kept, not rejected), appended to the spill of the
/// customer's partition: the columns to one Parquet file, the item sets to a set file.
#[allow(clippy::too_many_arguments)]
fn write_customer_records(
    o: &Ordered,
    product_ids: Option<&[u32]>,
    item_ids: Option<&[u32]>,
    records: &mut Writers,
    sets: &mut [Option<SetFile>],
    spill: &SpillDir,
    n: u32,
) -> Result<()> {
    let ix = &o.index;
    let kept = ix.kept_customer();
    let orders: Vec<usize> = (0..ix.len()).filter(|&o| kept[o] != NONE).collect();
    if orders.is_empty() {
        return Ok(());
    }
    let customer_rows: Vec<IdxSize> = orders.iter().map(|&ord| ix.line_customer.first_row[kept[ord] as usize]).collect();
    let customer = o.lines.column(c::CUSTOMER)?.take_slice(&customer_rows)?;
    let mut columns = vec![
        customer.clone(),
        Column::new("purchase".into(), orders.iter().map(|&ord| ix.purchase[ord]).collect::<Vec<bool>>()),
    ];
    if !ix.ordered_at.is_empty() {
        columns.push(Column::new("ordered_at".into(), orders.iter().map(|&ord| ix.ordered_at[ord]).collect::<Vec<i64>>()));
    }
    let mut halves = |name: &str, v: &[Exact]| {
        if v.is_empty() {
            return;
        }
        let (hi, lo): (Vec<i64>, Vec<i64>) = orders.iter().map(|&ord| money::split(v[ord])).unzip();
        columns.push(Column::new(format!("{name}_hi").into(), hi));
        columns.push(Column::new(format!("{name}_lo").into(), lo));
    };
    halves("amount", &ix.customer_amount);
    halves("profit", &ix.customer_profit);
    halves("discount", &ix.customer_discount);
    let df = DataFrame::new_infer_height(columns)?;
    let ids = partition_ids(&customer, n, 0x5EED)?;
    let product_sets = o.products.as_ref().map(|(_, b)| b).zip(product_ids);
    let item_sets = o.items.as_ref().map(|(_, b)| b).zip(item_ids);
    // Per record: the favourite-product set, then the basket-item set when both exist.
    let (first, second) = match product_sets {
        Some(p) => (Some(p), item_sets),
        None => (item_sets, None),
    };
    let (offsets, members) = records.write_split(&df, &ids)?;
    for q in 0..n as usize {
        if offsets[q + 1] == offsets[q] {
            continue;
        }
        let rows = &members[offsets[q]..offsets[q + 1]];
        if sets[q].is_none() {
            sets[q] = Some(SetFile::create(spill.file(&format!("orders-{q}.sets")), records.buffer)?);
        }
        let file = sets[q].as_mut().expect("created above");
        for &r in rows {
            let ord = orders[r as usize];
            for (b, ids) in [first, second].into_iter().flatten() {
                file.push(b.of(ord).iter().map(|&it| ids[it as usize]))?;
            }
            if first.is_none() {
                file.push(std::iter::empty())?;
            }
        }
    }
    Ok(())
}
