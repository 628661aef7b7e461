//! Reading the staged facts back: the Parquet folders the SQL steps wrote, as [`Facts`] checked by
//! the same rules as the local engines.

use std::path::{Path, PathBuf};
use polars::prelude::*;
use serde_json::Value;
use crate::engine::clean;
use crate::engine::passes::{groups, orders};
use crate::engine::{check_money_range, no_customers, require_lines, AbsSum, Setup};
use crate::facts::{
    col_names as c, Counts, CustomerActivity, CustomerFacts, DayTotals, Facts, HierarchyFacts, ItemFacts, ItemsetFacts,
    PairFacts, Plan,
    Present, PurchaseDays, SequenceFacts,
};
use crate::config::Columns;
use crate::error::{Error, Result};
use crate::kernels::codes::{self, NONE};
use crate::kernels::money::{self, Exact};
use crate::kernels::sequences::Timelines;

fn u64_of(v: &Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or(0)
}

/// A fixed-point sum the runner sent as a decimal string (null: the sum overflowed).
fn exact_of(v: &Value, k: &str) -> Option<Exact> {
    v[k].as_str().and_then(|s| s.parse::<i128>().ok())
}

/// The facts from result.json and the Parquet the job staged.
pub(super) fn read_facts(
    result: &Value,
    dir: &Path,
    s: &Setup,
    cols: &Columns,
    known: Option<Present>,
) -> Result<(Facts, std::collections::BTreeMap<String, u64>)> {
    let ls = &result["line_stats"];
    let mut counts =
        Counts { lines_read: u64_of(ls, "lines_read"), filtered_lines: u64_of(ls, "filtered_lines"), ..Default::default() };
    for reason in orders::REASONS {
        counts.rejected.insert(reason.to_string(), u64_of(ls, reason));
    }
    let has = match known {
        Some(h) => h,
        None => present_from(&result["present"]),
    };
    // Remote inputs: the roles the job found decide what the plan can hold (a pattern table asked
    // for is never silently left out; local inputs were checked before the job).
    crate::engine::require_pattern_roles(s.plan, has, &s.inputs, cols)?;
    let plan = s.plan.given(has);
    let max_ts = ls["max_ts"].as_i64();
    let as_of = clean::as_of_date(s.as_of, max_ts, has, &counts, &s.inputs, &s.amount_column)?;
    counts.future_lines = u64_of(ls, "future_lines");
    let os = &result["order_stats"];
    counts.orders = u64_of(os, "orders");
    counts.purchase_orders = u64_of(os, "purchase_orders");
    counts.orders_rejected_conflict = u64_of(os, "orders_rejected_conflict");
    counts.rejected.insert("order_customer_conflict".into(), u64_of(os, "conflict_lines"));
    counts.guest_lines = u64_of(os, "guest_lines");
    counts.lines_used = u64_of(os, "lines_used");
    if u64_of(os, "max_order_lines") >= LIMB_LINES as u64 {
        return Err(Error::Internal(
            "engine spark: an order of 2^31 lines or more: beyond the exact sums of the Spark engine".into(),
        ));
    }
    require_lines(s, &counts)?;
    let mr = &result["order_stats"];
    let abs = |fx: &str, large: &str, shown: &str| {
        let exact = exact_of(mr, fx);
        AbsSum {
            exact: exact.unwrap_or(0),
            too_large: mr[large].as_bool().unwrap_or(false) || exact.is_none(),
            shown: mr[shown].as_f64().unwrap_or(f64::INFINITY),
        }
    };
    check_money_range(
        s,
        [
            abs("abs_amount_fx", "amount_too_large", "abs_amount_shown"),
            abs("abs_cost_fx", "cost_too_large", "abs_cost_shown"),
            abs("abs_discount_fx", "discount_too_large", "abs_discount_shown"),
        ],
    )?;
    let mut bytes = std::collections::BTreeMap::new();
    let mut customers = None;
    if plan.customers {
        let df = read_dir(dir, "customers", &mut bytes)?;
        let mut f = customer_facts(&df, plan, has)?;
        if f.is_empty() {
            return Err(no_customers(s, &counts));
        }
        if plan.activity {
            f.activity = Some(customer_activity(&read_dir(dir, "customer_days", &mut bytes)?, &f.customer_id)?);
        }
        customers = Some(f);
    }
    let (mut items, mut pairs) = (None, None);
    if let Some(item_column) = plan.items {
        let items_df = read_dir(dir, "items", &mut bytes)?;
        let pairs_df = if plan.pairs { Some(read_dir(dir, "pairs", &mut bytes)?) } else { None };
        let (i, p) =
            item_and_pair_facts(items_df, pairs_df, &result["pair_stats"], s, item_column, has, counts.purchase_orders)?;
        items = Some(i);
        pairs = p;
    }
    let hierarchy = match (&items, plan.hierarchy) {
        (Some(i), true) => Some(hierarchy_facts(&read_dir(dir, "hierarchy_pairs", &mut bytes)?, i, &result["basket_customers"], s)?),
        _ => None,
    };
    let (mut itemsets, mut sequences) = (None, None);
    if let (Some(item_facts), true) = (items.as_ref(), plan.itemsets || plan.sequences) {
        let df = read_dir(dir, "pattern_orders", &mut bytes)?;
        (itemsets, sequences) = pattern_facts(&df, item_facts, s, plan, as_of, counts.purchase_orders)?;
    }
    let days = if plan.day_totals { Some(day_totals(&read_dir(dir, "day_totals", &mut bytes)?)?) } else { None };
    // Step 23's rows: the local engines' parts, added up the same way.
    let groups = if plan.groups {
        let df = read_dir(dir, "group_rows", &mut bytes)?;
        let key = key_column(&df, "customer_id", c::CUSTOMER)?;
        let df = df.drop("customer_id")?.hstack(&[key])?;
        Some(groups::merge(vec![df], has.quantity)?)
    } else {
        None
    };
    // Steps 21 and 22: names and attributes, keyed like the local engines' frames.
    let product_names = if cols.product_name.is_some() && has.product {
        let df = read_dir(dir, "product_names", &mut bytes)?;
        let frame = DataFrame::new_infer_height(vec![
            key_column(&df, "product_id", c::PRODUCT)?,
            df.column("name")?.cast(&DataType::String)?,
        ])?;
        Some(frame.sort([c::PRODUCT], SortMultipleOptions::default())?)
    } else {
        None
    };
    let customer_attrs = if plan.customers && !cols.customer_attrs.is_empty() {
        let df = read_dir(dir, "customer_attrs", &mut bytes)?;
        let mut columns = vec![key_column(&df, "customer_id", c::CUSTOMER)?];
        for (i, name) in cols.customer_attrs.iter().enumerate() {
            columns.push(df.column(&c::attr_column(i))?.clone().with_name(name.as_str().into()));
        }
        Some(DataFrame::new_infer_height(columns)?.sort([c::CUSTOMER], SortMultipleOptions::default())?)
    } else {
        None
    };
    Ok((
        Facts {
            as_of,
            has,
            counts,
            customers,
            items,
            pairs,
            itemsets,
            sequences,
            days,
            groups,
            hierarchy,
            product_names,
            customer_attrs,
        },
        bytes,
    ))
}

/// Step 19's rows (customer, day, purchase orders, amount) as the activity of the customers whose
/// ids are `ids` (the customer facts' rows; rows of other customers are dropped).
fn customer_activity(df: &DataFrame, ids: &Column) -> Result<CustomerActivity> {
    let row = codes_of(ids, &key_column(df, "customer_id", c::CUSTOMER)?)?;
    let day = i64_column(df, "day")?;
    let purchases = u32_column(df, "purchase_orders")?;
    let amount = exact_column(df, "amount")?;
    let mut v: Vec<(u32, i32, u32, Exact)> = (0..df.height())
        .filter(|&i| row[i] != NONE)
        .map(|i| (row[i], day[i] as i32, purchases[i], amount[i]))
        .collect();
    v.sort_unstable_by_key(|&(r, d, _, _)| (r, d));
    let mut a = CustomerActivity { offsets: vec![0; ids.len() + 1], ..Default::default() };
    for &(r, d, p, x) in &v {
        a.offsets[r as usize + 1] += 1;
        a.day.push(d);
        a.purchase_orders.push(p);
        a.amount.push(x);
    }
    for i in 0..ids.len() {
        a.offsets[i + 1] += a.offsets[i];
    }
    Ok(a)
}

/// Step 20's rows as the day totals.
fn day_totals(df: &DataFrame) -> Result<DayTotals> {
    let df = df.sort(["day"], SortMultipleOptions::default())?;
    Ok(DayTotals {
        day: i64_column(&df, "day")?.into_iter().map(|d| d as i32).collect(),
        orders: u32_column(&df, "orders")?,
        purchase_orders: u32_column(&df, "purchase_orders")?,
        net: exact_column(&df, "net")?,
        guest: exact_column(&df, "guest")?,
        returns: exact_column(&df, "returns")?,
    })
}

/// Itemset and sequence facts from step 18's rows (purchase order, customer, time, item): the
/// baskets and the customers' timelines rebuilt here, then the local engines' kernels.
fn pattern_facts(
    df: &DataFrame,
    items: &ItemFacts,
    s: &Setup,
    plan: Plan,
    as_of: Option<chrono::NaiveDate>,
    total: u64,
) -> Result<(Option<ItemsetFacts>, Option<SequenceFacts>)> {
    let orders = codes::encode(df.column("order_id")?)?;
    let customer_col = key_column(df, "customer_id", c::CUSTOMER)?;
    let customers = codes::encode(&customer_col)?;
    let at = i64_column(df, "ordered_at")?;
    let key = &items.item;
    let item_codes = codes_of(key, df.column("item")?)?;
    let n_orders = orders.len();
    let mut order_customer = vec![NONE; n_orders];
    let mut order_at = vec![0i64; n_orders];
    for (row, &o) in orders.codes.iter().enumerate() {
        order_customer[o as usize] = customers.codes[row];
        order_at[o as usize] = at[row];
    }
    let baskets = crate::kernels::baskets::build(&orders.codes, &item_codes, n_orders, false, |_| true);
    let n_items = key.len();
    let itemsets = if plan.itemsets { Some(crate::engine::patterns::itemset_facts(&baskets, n_items, s, total)?) } else { None };
    let sequences = match (plan.sequences, as_of) {
        (true, Some(as_of)) => {
            let purchase = vec![true; n_orders];
            let t = Timelines {
                customer: &order_customer,
                purchase: &purchase,
                ordered_at: &order_at,
                baskets: &baskets,
                n_customers: customers.len(),
            };
            Some(crate::engine::patterns::sequence_facts(&t, n_items, s, as_of)?)
        }
        _ => None,
    };
    Ok((itemsets, sequences))
}

/// The code of each of `values` among the item keys `key` (sorted: a code is its key's rank),
/// [`NONE`] for a null or a value not among them. Staged facts carry item keys; the kernels and
/// the item facts work on codes.
fn codes_of(key: &Column, values: &Column) -> Result<Vec<u32>> {
    let values = values.cast(key.dtype())?;
    Ok(match key.dtype() {
        DataType::String => {
            let map: hashbrown::HashMap<&str, u32> =
                key.str()?.iter().enumerate().filter_map(|(i, k)| Some((k?, i as u32))).collect();
            values.str()?.iter().map(|v| v.and_then(|v| map.get(v).copied()).unwrap_or(NONE)).collect()
        }
        _ => {
            let (key, values) = (key.cast(&DataType::Int64)?, values.cast(&DataType::Int64)?);
            let map: hashbrown::HashMap<i64, u32> =
                key.i64()?.iter().enumerate().filter_map(|(i, k)| Some((k?, i as u32))).collect();
            values.i64()?.iter().map(|v| v.and_then(|v| map.get(&v).copied()).unwrap_or(NONE)).collect()
        }
    })
}

fn present_from(v: &Value) -> Present {
    let b = |k: &str| v[k].as_bool().unwrap_or(false);
    Present {
        customer: b("customer"),
        timestamp: b("timestamp"),
        amount: b("amount"),
        product: b("product"),
        item: b("item"),
        cost: b("cost"),
        quantity: b("quantity"),
        discount: b("discount"),
    }
}

/// Every Parquet part file of the folder `name` Spark wrote, as one frame (its bytes counted).
fn read_dir(root: &Path, name: &str, bytes: &mut std::collections::BTreeMap<String, u64>) -> Result<DataFrame> {
    let dir = root.join(name);
    let dir = dir.as_path();
    let bytes = bytes.entry(name.to_string()).or_insert(0);
    let mut parts: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::Internal(format!("engine spark: the job staged no facts in {}: {e}", dir.display())))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    parts.sort();
    let mut frames = Vec::with_capacity(parts.len());
    for p in &parts {
        *bytes += std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let file = std::fs::File::open(p).map_err(|e| Error::Internal(format!("engine spark: {}: {e}", p.display())))?;
        frames.push(ParquetReader::new(file).finish()?);
    }
    let mut all = frames.pop().ok_or_else(|| Error::Internal(format!("engine spark: no Parquet in {}", dir.display())))?;
    for f in frames {
        all.vstack_mut(&f)?;
    }
    Ok(all)
}

/// Groups of at least this many lines could overflow a BIGINT limb sum (see 03_current_lines.sql).
const LIMB_LINES: i64 = 1 << 31;

/// The fixed-point sums of the limb columns `name_3` .. `name_0` (null limbs: 0), joined into i128.
fn exact_column(df: &DataFrame, name: &str) -> Result<Vec<Exact>> {
    if let Ok(lines) = df.column("lines") {
        if lines.cast(&DataType::Int64)?.i64()?.max().unwrap_or(0) >= LIMB_LINES {
            return Err(Error::Internal(format!(
                "engine spark: a group of 2^31 lines or more: beyond the exact sums of the Spark engine ({name})"
            )));
        }
    }
    groups::joined(df, name)
}

fn u32_column(df: &DataFrame, name: &str) -> Result<Vec<u32>> {
    let col = df.column(name)?.cast(&DataType::UInt32)?;
    Ok(col.u32()?.iter().map(|v| v.unwrap_or(0)).collect())
}

fn i64_column(df: &DataFrame, name: &str) -> Result<Vec<i64>> {
    let col = df.column(name)?.cast(&DataType::Int64)?;
    Ok(col.i64()?.iter().map(|v| v.unwrap_or(0)).collect())
}

/// An id column as the local engines type it (Int64 or String).
/// Step 24's rows (item_a <= item_b, customers) and step 25's count as the hierarchy facts of the
/// top items, ranked here from the item facts as the local engines rank them; the job's own
/// ranking must have picked the same items.
fn hierarchy_facts(df: &DataFrame, items: &ItemFacts, customers: &Value, s: &Setup) -> Result<HierarchyFacts> {
    let top = crate::kernels::hierarchy::top_items(&items.orders, s.hierarchy_products);
    let rows: Vec<IdxSize> = top.iter().map(|&t| t as IdxSize).collect();
    let keys = items.item.take_slice(&rows)?;
    let n = top.len();
    let rank: std::collections::HashMap<String, usize> =
        (0..n).map(|r| Ok((keys.get(r)?.str_value().to_string(), r))).collect::<Result<_>>()?;
    let (a, b) = (key_column(df, "item_a", "a")?, key_column(df, "item_b", "b")?);
    let count = df.column("customers")?.cast(&DataType::Int64)?;
    let (mut single, mut both) = (vec![0u64; n], vec![0u64; n * n]);
    for k in 0..df.height() {
        let find = |c: &Column| -> Result<usize> {
            let key = c.get(k)?.str_value().to_string();
            rank.get(&key).copied().ok_or_else(|| {
                Error::Internal(format!("engine spark: product_hierarchy ranked item {key} among the top items, evergreen does not"))
            })
        };
        let (i, j) = (find(&a)?, find(&b)?);
        let v = count.i64()?.get(k).unwrap_or(0) as u64;
        if i == j {
            single[i] = v;
        } else {
            both[i.min(j) * n + i.max(j)] = v;
        }
    }
    Ok(HierarchyFacts { items: keys, customers: customers.as_u64().unwrap_or(0), single, both })
}

fn key_column(df: &DataFrame, name: &str, out: &str) -> Result<Column> {
    let col = df.column(name)?;
    let col = match col.dtype() {
        DataType::String => col.clone(),
        DataType::Null => col.cast(&DataType::Int64)?,
        _ => col.cast(&DataType::Int64)?,
    };
    Ok(col.with_name(out.into()))
}

fn customer_facts(df: &DataFrame, plan: Plan, has: Present) -> Result<CustomerFacts> {
    let monetary = exact_column(df, "monetary")?;
    Ok(CustomerFacts {
        customer_id: key_column(df, "customer_id", c::CUSTOMER)?,
        frequency: u32_column(df, "frequency")?,
        monetary: monetary.iter().map(|v| money::to_f64(*v)).collect(),
        profit: if has.cost { Some(exact_column(df, "profit")?.iter().map(|v| money::to_f64(*v)).collect()) } else { None },
        discount: if has.discount {
            Some(exact_column(df, "discount")?.iter().map(|v| money::to_f64(*v)).collect())
        } else {
            None
        },
        first_purchase: i64_column(df, "first_purchase")?,
        last_purchase: i64_column(df, "last_purchase")?,
        favourite_product: if plan.favourite {
            Some(key_column(df, "favourite_product", c::PRODUCT)?)
        } else {
            None
        },
        basket_items: if plan.favourite {
            Some(i64_column(df, "basket_items")?.into_iter().map(|v| v.max(0) as u64).collect())
        } else {
            None
        },
        days: if plan.purchase_days {
            let gap = df.column("last_gap_days")?.cast(&DataType::Int64)?;
            Some(PurchaseDays {
                count: u32_column(df, "purchase_days")?,
                repeat_value: exact_column(df, "repeat_value")?.iter().map(|v| money::to_f64(*v)).collect(),
                net_repeat_value: exact_column(df, "first_value")?
                    .iter()
                    .zip(&monetary)
                    .map(|(first, all)| money::to_f64(all.wrapping_sub(*first)))
                    .collect(),
                last_gap_days: gap.i64()?.iter().map(|v| v.map(|v| v as u32)).collect(),
            })
        } else {
            None
        },
        activity: None,
    })
}

fn item_and_pair_facts(
    items: DataFrame,
    pairs: Option<DataFrame>,
    stats: &Value,
    s: &Setup,
    key_name: &str,
    has: Present,
    total: u64,
) -> Result<(ItemFacts, Option<PairFacts>)> {
    let items = items.sort(["item"], SortMultipleOptions::default())?;
    let key = key_column(&items, "item", "item")?;
    let item_facts = ItemFacts {
        item: key.clone().with_name(key_name.into()),
        orders: u32_column(&items, "orders")?,
        customers: if has.customer { Some(u32_column(&items, "customers")?) } else { None },
        quantity: if has.quantity {
            Some(exact_column(&items, "quantity")?.iter().map(|v| money::to_f64(*v)).collect())
        } else {
            None
        },
        revenue: if has.amount {
            Some(exact_column(&items, "revenue")?.iter().map(|v| money::to_f64(*v)).collect())
        } else {
            None
        },
        total_purchase_orders: total,
    };
    let Some(pairs) = pairs else { return Ok((item_facts, None)) };
    let threshold = s.basket.threshold(total);
    let spark_threshold = stats["threshold"].as_u64().unwrap_or(0);
    if spark_threshold != threshold {
        return Err(Error::Internal(format!(
            "engine spark: the job's pair threshold {spark_threshold} differs from evergreen's {threshold}"
        )));
    }
    // Item keys to codes (their rank in key order), so pairs index the item facts.
    let (a, b) = (codes_of(&key, pairs.column("item_a")?)?, codes_of(&key, pairs.column("item_b")?)?);
    let n = pairs.column("pair_orders")?.cast(&DataType::UInt32)?;
    let mut list: Vec<(u32, u32, u32)> = a
        .iter()
        .zip(&b)
        .zip(n.u32()?.iter())
        .filter_map(|((&a, &b), n)| (a != NONE && b != NONE).then_some((a, b, n?)))
        .map(|(a, b, n)| if a < b { (a, b, n) } else { (b, a, n) })
        .collect();
    list.sort_unstable();
    let pair_facts = PairFacts {
        pairs: list,
        threshold,
        items_kept: u64_of(stats, "items_kept"),
        baskets_paired: u64_of(stats, "baskets_paired"),
        baskets_skipped: u64_of(stats, "baskets_skipped"),
    };
    Ok((item_facts, Some(pair_facts)))
}
