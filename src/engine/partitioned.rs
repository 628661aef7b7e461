//! The partitioned engine: memory that follows `--memory-limit`, not the dump's size.
//!
//! 1. **Stream and partition by order.** Each input file is read a slice of lines at a time (never
//!    the whole dump); the line rules run on the slice, and each valid line is appended to the
//!    spill file of its order's partition (a hash of the order id), so every order lies whole in
//!    one partition.
//! 2. **Orders, per order partition.** One partition at a time goes through the memory engine's
//!    steps (future rule, order index, item codes, baskets). What comes out is small and
//!    mergeable: the counts, per item its purchase orders, revenue and quantity (exact sums, merged
//!    by item key), the baskets (appended to a basket spill), and one record per customer order
//!    (customer, purchase flag, time, amounts, items), appended to the spill of the customer's
//!    partition (a hash of the customer id).
//! 3. **Customers, per customer partition.** A customer's orders all lie in one customer partition:
//!    the shared step [`super::customers::customer_facts`] turns each into customer facts, which
//!    are concatenated (customer facts are held in memory: about 100 bytes a customer).
//! 4. **Pairs.** The baskets are read back and counted by the pair kernel, in passes over ranges of
//!    first items whose buffers fit the limit.
//!
//! Every fact is a count, a min/max or an exact sum, so the facts (and the tables) are the bits the
//! memory engine computes. The spill folder is removed at the end, on error, and (after a crash) by
//! the next run that uses the same spill folder.

use std::path::{Path, PathBuf};

use hashbrown::HashMap;
use polars::prelude::*;

use super::passes::customers::{concat_customer_facts, customer_facts};
use super::passes::items::{self, item_orders};
use super::passes::records::{order_lines, OrderRecords, Ordered};
use super::passes::{activity, attributes, orders};
use super::spill::{buffer_size, raise_open_file_limit, read_frames, read_words, spill_error, FrameFile, Prepared, SetFile, SpillDir};
use super::clean;
use super::stopwatch::Stopwatch;
use super::{check_money_range, no_customers, patterns, require_lines, Setup, MEMORY_BYTES_PER_LINE};
use crate::error::{Error, Result};
use crate::facts::{col_names as c, Counts, DayTotals, Facts, ItemFacts};
use crate::kernels::pairs::{count_pairs_streamed, BasketPasses};
use crate::input::Dump;
use crate::kernels::baskets::{self, Csr};
use crate::kernels::codes::{self, NONE};
use crate::kernels::money::{self, Exact};
use crate::kernels::sequences::Timelines;

/// What the spill did, for the manifest.
pub struct SpillReport {
    pub partitions: u64,
    pub customer_partitions: u64,
    pub bytes: u64,
    /// The pair kernel read the baskets from the spill, pass by pass (they did not fit the limit).
    pub pairs_streamed: bool,
}

/// Bytes one customer's facts take in memory (ids, counts, sums, times, favourite, and the
/// customers table built from them).
pub const CUSTOMER_FACT_BYTES: u64 = 160;

/// Bytes the CLV models add per customer at their peak (purchase days, the summary, collapsed
/// rows, predictions, and the clv table with its sorted copy): measured 510 bytes a customer for
/// the whole run at 1M and 10M customers (bench/clv_bench.py), of which about 350 are the CLV's.
pub const CLV_CUSTOMER_BYTES: u64 = 350;
/// Bytes a customer's day of activity takes in the facts (day, purchase orders, exact amount).
pub const ACTIVITY_ROW_BYTES: u64 = 28;

/// Which of `n` partitions a key goes to (a fixed mix of the key's bits, so both passes agree).
fn partition_ids(keys: &Column, n: u32, seed: u64) -> Result<Vec<u32>> {
    let mix = |mut z: u64| {
        z = z.wrapping_add(seed).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let of = |h: u64| (((h >> 32) * n as u64) >> 32) as u32;
    match keys.dtype() {
        DataType::String => Ok(keys
            .str()?
            .iter()
            .map(|k| {
                let bytes = k.unwrap_or("").as_bytes();
                let h = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
                of(mix(h))
            })
            .collect()),
        _ => {
            let ints = keys.cast(&DataType::Int64)?;
            Ok(ints.i64()?.iter().map(|k| of(mix(k.unwrap_or(0) as u64))).collect())
        }
    }
}

/// One spill file per partition, each appended batch by batch (all with one schema).
struct Writers {
    files: Vec<FrameFile>,
    schema: Option<Schema>,
    /// Each file's write buffer.
    buffer: usize,
}

impl Writers {
    fn new(dir: &SpillDir, prefix: &str, n: u32, buffer: usize) -> Writers {
        Writers {
            files: (0..n).map(|p| FrameFile::new(dir.file(&format!("{prefix}-{p}.bin")), buffer)).collect(),
            schema: None,
            buffer,
        }
    }

    /// Append each row of `df` to the file of its partition (`ids`), keeping the rows' order.
    /// Returns the rows of each partition (`members[offsets[p]..offsets[p + 1]]`).
    fn write_split(&mut self, df: &DataFrame, ids: &[u32]) -> Result<(Vec<usize>, Vec<u32>)> {
        if self.schema.is_none() {
            self.schema = Some(df.schema().as_ref().clone());
        }
        let n = self.files.len();
        let (offsets, rows) = codes::group_by_code(n, ids);
        let frame = Prepared::new(df)?;
        for p in 0..n {
            if offsets[p + 1] > offsets[p] {
                self.files[p].write_rows(&frame, &rows[offsets[p]..offsets[p + 1]])?;
            }
        }
        Ok((offsets, rows))
    }

    /// Close every file; per partition, its file when it holds rows, and the schema.
    fn finish(self) -> Result<(Vec<Option<PathBuf>>, Schema)> {
        let files = self.files.into_iter().map(|f| f.finish()).collect::<Result<_>>()?;
        Ok((files, self.schema.unwrap_or_default()))
    }
}

/// Item keys of all partitions: a provisional id per distinct key as partitions report them, and
/// at the end the key-order codes the memory engine gives the same items.
#[derive(Default)]
struct KeyMap {
    ints: HashMap<i64, u32>,
    strs: HashMap<String, u32>,
    keys: Option<Column>,
}

impl KeyMap {
    /// Provisional ids of `keys` (distinct, non-null), new keys added.
    fn ids(&mut self, keys: &Column) -> Result<Vec<u32>> {
        let start = self.keys.as_ref().map_or(0, |k| k.len()) as u32;
        let mut fresh: Vec<IdxSize> = Vec::new();
        let mut next = start;
        let mut add = |found: Option<u32>, row: usize, fresh: &mut Vec<IdxSize>| -> u32 {
            found.unwrap_or_else(|| {
                fresh.push(row as IdxSize);
                next += 1;
                next - 1
            })
        };
        let ids: Vec<u32> = match keys.dtype() {
            DataType::String => {
                let ca = keys.str()?;
                let mut out = Vec::with_capacity(ca.len());
                for (row, k) in ca.iter().enumerate() {
                    let k = k.unwrap_or("");
                    let id = add(self.strs.get(k).copied(), row, &mut fresh);
                    self.strs.entry(k.to_string()).or_insert(id);
                    out.push(id);
                }
                out
            }
            _ => {
                let ints = keys.cast(&DataType::Int64)?;
                let mut out = Vec::with_capacity(ints.len());
                for (row, k) in ints.i64()?.iter().enumerate() {
                    let k = k.unwrap_or(0);
                    let id = add(self.ints.get(&k).copied(), row, &mut fresh);
                    self.ints.entry(k).or_insert(id);
                    out.push(id);
                }
                out
            }
        };
        let new_keys = keys.take_slice(&fresh)?;
        match self.keys.as_mut() {
            Some(all) => {
                all.append(&new_keys)?;
            }
            None => self.keys = Some(new_keys),
        }
        Ok(ids)
    }

    /// The keys in key order, and each provisional id's code in that order.
    fn finish(self) -> Result<Option<(Column, Vec<u32>)>> {
        let Some(keys) = self.keys else { return Ok(None) };
        let order = keys.arg_sort(SortOptions::default());
        let mut remap = vec![0u32; keys.len()];
        for (code, old) in order.iter().flatten().enumerate() {
            remap[old as usize] = code as u32;
        }
        let sorted = keys.take(&order)?;
        Ok(Some((sorted, remap)))
    }
}

/// Per provisional item id: purchase orders, revenue and quantity, merged over partitions.
#[derive(Default)]
struct ItemSums {
    orders: Vec<u32>,
    revenue: Vec<Exact>,
    quantity: Vec<Exact>,
}

impl ItemSums {
    fn add(&mut self, ids: &[u32], orders: &[u32], revenue: &[Exact], quantity: &[Exact]) {
        let n = ids.iter().map(|&i| i as usize + 1).max().unwrap_or(0).max(self.orders.len());
        self.orders.resize(n, 0);
        self.revenue.resize(n, 0);
        self.quantity.resize(n, 0);
        for (local, &id) in ids.iter().enumerate() {
            let id = id as usize;
            self.orders[id] += orders[local];
            self.revenue[id] = self.revenue[id].wrapping_add(revenue[local]);
            if let Some(q) = quantity.get(local) {
                self.quantity[id] = self.quantity[id].wrapping_add(*q);
            }
        }
    }
}

/// The sets of a [`SetFile`]; with `remap`, each item mapped through it and the set sorted.
fn read_sets(path: &Path, remap: Option<&[u32]>) -> Result<Csr> {
    let words = read_words(path)?;
    let mut csr = Csr { offsets: vec![0], items: Vec::with_capacity(words.len()) };
    let mut at = 0;
    while at < words.len() {
        let n = words[at] as usize;
        let start = csr.items.len();
        match remap {
            Some(remap) => {
                csr.items.extend(words[at + 1..at + 1 + n].iter().map(|&id| remap[id as usize]));
                csr.items[start..].sort_unstable();
            }
            None => csr.items.extend_from_slice(&words[at + 1..at + 1 + n]),
        }
        csr.offsets.push(csr.items.len());
        at += 1 + n;
    }
    Ok(csr)
}

/// The baskets of a basket spill file, read block by block, each mapped to final item codes and
/// sorted (the pair kernel's streamed passes).
struct BasketFile<'a> {
    path: PathBuf,
    remap: &'a [u32],
}

impl BasketPasses for BasketFile<'_> {
    type Error = Error;

    fn each(&self, f: &mut dyn FnMut(&[u32])) -> Result<()> {
        use std::io::Read;
        let file = std::fs::File::open(&self.path).map_err(|e| spill_error(&self.path, e))?;
        let mut r = std::io::BufReader::with_capacity(8 << 20, file);
        let (mut len, mut raw, mut items) = ([0u8; 4], Vec::new(), Vec::new());
        loop {
            match r.read_exact(&mut len) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
                Err(e) => return Err(spill_error(&self.path, e)),
            }
            raw.resize(u32::from_le_bytes(len) as usize * 4, 0);
            r.read_exact(&mut raw).map_err(|e| spill_error(&self.path, e))?;
            items.clear();
            items.extend(raw.chunks_exact(4).map(|w| self.remap[u32::from_le_bytes([w[0], w[1], w[2], w[3]]) as usize]));
            items.sort_unstable();
            f(&items);
        }
    }
}

/// How many order partitions: enough that one partition's lines (at the memory engine's bytes a
/// line) take at most half the limit.
pub fn plan_partitions(lines: u64, limit: u64, given: Option<u32>) -> u32 {
    given.unwrap_or_else(|| {
        let per_partition = (limit / 2).max(1);
        lines.saturating_mul(MEMORY_BYTES_PER_LINE).div_ceil(per_partition).clamp(1, 4096) as u32
    })
}

/// Facts of the dump, streamed through a spill folder in `spill_root`.
///
/// `file_lines` holds each input file's lines (from its Parquet footer).
pub fn facts(
    dump: &Dump,
    file_lines: &[u64],
    s: &Setup,
    limit: u64,
    spill_root: &Path,
    sw: &mut Stopwatch,
) -> Result<(Facts, SpillReport)> {
    let has = s.has;
    let lines: u64 = file_lines.iter().sum();
    let n_parts = plan_partitions(lines, limit, s.partitions);
    let n_cparts = n_parts;
    raise_open_file_limit();
    let mut spill = SpillDir::create(spill_root)?;
    tracing::debug!(partitions = n_parts, spill = %spill.path.display(), "partitioned engine");

    // 1. Stream and partition by order.
    let slice = (limit / (4 * MEMORY_BYTES_PER_LINE)).clamp(1 << 14, 8 << 20) as usize;
    // Every rejection reason is reported, 0 when no line has it (as the memory engine does).
    let mut counts = Counts::default();
    for reason in orders::REASONS {
        counts.rejected.insert(reason.to_string(), 0);
    }
    let mut max_ts: Option<i64> = None;
    let mut writers = Writers::new(&spill, "lines", n_parts, buffer_size(limit, n_parts));
    // Seconds reading the first slice, and then reading and writing side by side (logged at debug level).
    let mut spent = [0f64; 4];
    let mut clock = std::time::Instant::now();
    let mut tick = |k: usize| {
        let now = std::time::Instant::now();
        spent[k] += (now - clock).as_secs_f64();
        clock = now;
    };
    // The slices in reading order; the next one is read while the current one is written.
    let slices: Vec<(usize, usize)> = file_lines
        .iter()
        .enumerate()
        .flat_map(|(file, &n)| (0..n as usize).step_by(slice).map(move |offset| (file, offset)))
        .collect();
    let read = |k: usize| slices.get(k).map(|&(file, offset)| dump.collect_slice(file, offset, slice)).transpose();
    let mut next = read(0)?;
    for k in 0..slices.len() {
        let Some(raw) = next.take() else { break };
        tick(0);
        let (ahead, written) = rayon::join(
            || read(k + 1),
            || -> Result<(Counts, Option<i64>)> {
                let (part_counts, part_max, valid) = clean::reject_invalid_lines(raw, has)?;
                if valid.height() > 0 {
                    let ids = partition_ids(valid.column(c::ORDER)?, n_parts, 0)?;
                    writers.write_split(&valid, &ids)?;
                }
                Ok((part_counts, part_max))
            },
        );
        let (part_counts, part_max) = written?;
        counts.merge(&part_counts);
        max_ts = max_ts.max(part_max);
        next = ahead?;
        tick(3);
    }
    tracing::debug!(first_read = spent[0], read_and_write = spent[3], slices = slices.len(), "scan and partition");
    let (line_files, line_schema) = writers.finish()?;
    crate::error::crash_point("after-spill");
    sw.lap("scan_and_partition");
    let as_of = clean::as_of_date(s.as_of, max_ts, has, &counts, &s.inputs, &s.amount_column)?;

    // 2. Orders, one order partition at a time.
    let mut products = KeyMap::default();
    let mut items = KeyMap::default();
    let mut sums = ItemSums::default();
    let mut money_totals = [super::AbsSum::default(); 3];
    let buffer = buffer_size(limit, 2 * n_cparts + 1);
    let mut records = Writers::new(&spill, "orders", n_cparts, buffer);
    let mut record_sets: Vec<Option<SetFile>> = (0..n_cparts).map(|_| None).collect();
    let mut basket_file = SetFile::create(spill.file("baskets.bin"), buffer)?;
    let mut day_parts = Vec::new();
    let (mut name_parts, mut attr_parts) = (Vec::new(), Vec::new());
    let mut quiet = Stopwatch::start();
    let item_is_product = s.plan.items == Some(c::PRODUCT);
    // Which item sets the customer records carry (as the memory engine codes them).
    let need_products = has.product && (s.plan.favourite || item_is_product);
    let need_items = s.plan.items == Some(c::ITEM);
    counts.rejected.insert("order_customer_conflict".into(), 0);
    for path in line_files.iter().flatten() {
        let part = read_frames(path, &line_schema)?;
        spill.remove(path)?;
        let (current, future) = clean::exclude_future_lines(part, s.as_of.and(as_of))?;
        for (total, part) in money_totals.iter_mut().zip(super::abs_money(&current)?) {
            total.add(part);
        }
        let part_counts = Counts { future_lines: future, ..Default::default() };
        let o = order_lines(current, part_counts, s, &mut quiet)?;
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
        if s.plan.activity {
            day_parts.push(activity::day_totals(&o)?);
        }
        // Names and attributes: small frames per part (name votes add up across parts; a customer
        // lies in one part).
        if s.product_names {
            name_parts.push(attributes::name_votes(&o)?.lazy());
        }
        if !s.customer_attrs.is_empty() {
            attr_parts.push(attributes::attr_candidates(&o, s.customer_attrs.len())?);
        }
        if s.plan.customers || (has.customer && s.plan.items.is_some()) {
            write_customer_records(&o, product_ids.as_deref(), item_ids.as_deref(), &mut records, &mut record_sets, &spill, n_cparts)?;
        }
    }
    let (record_files, record_schema) = records.finish()?;
    let record_sets: Vec<Option<PathBuf>> = record_sets.into_iter().map(|f| f.map(|f| f.finish()).transpose()).collect::<Result<_>>()?;
    let basket_path = basket_file.finish()?;
    sw.lap("orders");
    require_lines(s, &counts)?;
    check_money_range(s, money_totals)?;

    // 3. Customers, one customer partition at a time.
    let products = products.finish()?;
    let items = if item_is_product { None } else { items.finish()? };
    let basket_keys = if item_is_product { products.as_ref() } else { items.as_ref() };
    let n_basket_items = basket_keys.map_or(0, |(k, _)| k.len());
    let mut item_customers = vec![0u32; n_basket_items];
    let mut customer_parts = Vec::new();
    let mut held = 0u64;
    // The customers' purchase orders, gathered for the sequence kernel (customer codes made global).
    let mut timelines = GatheredTimelines::default();
    for (q, (frame, sets)) in record_files.iter().zip(&record_sets).enumerate() {
        let (Some(frame), Some(sets)) = (frame, sets) else { continue };
        let df = read_frames(frame, &record_schema)?;
        let product_remap = products.as_ref().map(|(_, r)| r.as_slice()).unwrap_or(&[]);
        let item_remap = items.as_ref().map(|(_, r)| r.as_slice()).unwrap_or(&[]);
        let all_sets = read_sets(sets, None)?;
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
        if !(item_is_product && s.plan.customers) {
            if let Some(b) = item_sets {
                let pass = baskets::customer_items(&cust.codes, keys.len(), b, n_basket_items, false);
                add_counts(&mut item_customers, Some(&pass.customers));
            }
        }
    }
    sw.lap("customer_facts");
    let customers = concat_customer_facts(customer_parts)?;
    if s.plan.customers && customers.as_ref().is_none_or(|f| f.is_empty()) {
        return Err(no_customers(s, &counts));
    }

    // 4. Item facts and pairs.
    let (mut item_facts, mut pair_facts, mut pairs_streamed) = (None, None, false);
    let (mut itemset_facts, mut sequence_facts) = (None, None);
    if let (Some((keys, remap)), Some(_)) = (basket_keys, s.plan.items) {
        let n = keys.len();
        let mut orders = vec![0u32; n];
        let mut revenue = vec![0i128; n];
        let mut quantity = vec![0i128; n];
        for (id, &code) in remap.iter().enumerate() {
            let code = code as usize;
            orders[code] = sums.orders.get(id).copied().unwrap_or(0);
            revenue[code] = sums.revenue.get(id).copied().unwrap_or(0);
            quantity[code] = sums.quantity.get(id).copied().unwrap_or(0);
        }
        let total = counts.purchase_orders;
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
                count_pairs_streamed(&passes, n, items::kernel_threshold(threshold), s.basket.max_basket_items, budget)?;
            Some(items::into_pair_facts(counted, threshold))
        };
        if s.plan.itemsets {
            // The baskets again, holding only the items frequent enough for an itemset (an
            // itemset is never more frequent than its items), too-large baskets emptied first.
            let threshold = s.patterns.min_support.threshold(total);
            let mut b = Csr { offsets: vec![0], items: Vec::new() };
            let mut too_big = false;
            BasketFile { path: basket_path.clone(), remap }.each(&mut |set: &[u32]| {
                if !too_big && s.basket.max_basket_items.is_none_or(|m| set.len() <= m) {
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
            sequence_facts = Some(patterns::sequence_facts(&t, n, s, as_of));
        }
        item_facts = Some(ItemFacts {
            item: keys.clone(),
            orders,
            customers: has.customer.then_some(item_customers),
            quantity: has.quantity.then(|| quantity.iter().map(|q| money::to_f64(*q)).collect()),
            revenue: has.amount.then(|| revenue.iter().map(|r| money::to_f64(*r)).collect()),
            total_purchase_orders: total,
        });
        sw.lap("item_and_pair_facts");
    }
    let report = SpillReport { partitions: n_parts as u64, customer_partitions: n_cparts as u64, bytes: spill.bytes(), pairs_streamed };
    drop(spill);
    Ok((
        Facts {
            as_of,
            has,
            counts,
            customers,
            items: item_facts,
            pairs: pair_facts,
            itemsets: itemset_facts,
            sequences: sequence_facts,
            days: s.plan.activity.then(|| DayTotals::merge(day_parts)),
            product_names: if s.product_names {
                Some(attributes::pick_names(concat(name_parts, UnionArgs::default())?.collect()?)?)
            } else {
                None
            },
            customer_attrs: if s.customer_attrs.is_empty() {
                None
            } else {
                Some(attributes::pick_attrs(attr_parts, &s.customer_attrs)?)
            },
        },
        report,
    ))
}

/// Bytes the itemset miner holds per item occurrence of the baskets it reads (the baskets, their
/// ranked copy and the first-level projected databases), and per basket.
const MINER_ITEM_BYTES: u64 = 16;
const MINER_BASKET_BYTES: u64 = 16;

/// What the itemset miner will hold for the baskets `b`, about.
fn miner_bytes(b: &Csr) -> u64 {
    b.items.len() as u64 * MINER_ITEM_BYTES + b.offsets.len() as u64 * MINER_BASKET_BYTES
}

/// Bytes the sequence kernel holds per purchase order (customer, time, offsets, its place in the
/// timelines) and per item in one (the item, and at most one first-purchase occurrence).
const TIMELINE_ORDER_BYTES: u64 = 40;
const TIMELINE_ITEM_BYTES: u64 = 16;

/// The purchase orders of every customer partition, one entry per order, customer codes made
/// global (each partition's codes shifted past the previous partitions' customers).
#[derive(Default)]
struct GatheredTimelines {
    customer: Vec<u32>,
    purchase: Vec<bool>,
    ordered_at: Vec<i64>,
    baskets: Csr,
    n_customers: usize,
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

fn add_counts(into: &mut [u32], from: Option<&[u32]>) {
    if let Some(from) = from {
        into.iter_mut().zip(from).for_each(|(a, b)| *a += b);
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
