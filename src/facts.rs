//! The engine boundary. An engine ([`crate::engine`]) turns order lines into these facts; the
//! table families ([`crate::tables`]) compute every table from them and from nothing else, so a
//! table is the same whichever engine produced its facts.
//!
//! | fact, one row per | holds | read by |
//! |---|---|---|
//! | customer ([`CustomerFacts`]) | first/last purchase, frequency, monetary, profit, favourite product | customers, scores, deciles, lapse |
//! | customer purchase days ([`PurchaseDays`]) | distinct purchase days, repeat-day value, last gap | clv |
//! | customer day ([`CustomerActivity`]) | purchase orders and the customer's amount per UTC day | trend columns, cohorts, kpis |
//! | day ([`DayTotals`]) | orders, purchase orders, net, guest amount, returns per UTC day | kpis |
//! | item ([`ItemFacts`]) | purchase orders, customers, quantity, revenue | products, basket_pairs |
//! | pair ([`PairFacts`]) | purchase orders holding both items | basket_pairs |
//! | itemset ([`ItemsetFacts`]) | purchase orders holding every item of a frequent set | itemsets, rules |
//! | sequence pair ([`SequenceFacts`]) | eligible customers and followers of A then B within a window | sequence_pairs |
//! | run ([`Counts`]) | cleaning counts | manifest |
//!
//! Every fact is mergeable: counts add, first/last take min/max, money sums are exact fixed-point
//! sums ([`crate::kernels::money`]), so a partitioned engine computes them per partition and
//! merges them to the same bits.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use polars::prelude::*;
use serde::{Deserialize, Serialize};

/// Canonical column names of the line frame (see [`crate::input`], the only reader of the user's
/// column names).
pub mod col_names {
    pub const CUSTOMER: &str = "customer_id";
    pub const ORDER: &str = "order_id";
    pub const TS: &str = "ts";
    pub const AMOUNT: &str = "amount";
    pub const PRODUCT: &str = "product_id";
    pub const COST: &str = "cost";
    pub const QUANTITY: &str = "quantity";
    /// The basket item (the product, or `--item-col`).
    pub const ITEM: &str = "item";
    /// The line's discount in money (`--discount-col`, or list price - amount).
    pub const DISCOUNT: &str = "discount";
    /// Whether the line passes `--where` (only with a predicate; dropped by the line rules).
    pub const KEEP: &str = "__evergreen_where";
    /// The product's name on the line (`--product-name-col`).
    pub const PRODUCT_NAME: &str = "product_name";
    /// The line's product group (`--group`): 1.. for the first group whose predicate holds, 0 for
    /// none (only with groups, in `run`).
    pub const GROUP: &str = "line_group";

    /// The canonical column of the `i`-th `--customer-attr`.
    pub fn attr_column(i: usize) -> String {
        format!("__attr_{i}")
    }
}

/// Which roles the canonical frame carries from the dump. An absent customer is a null
/// `customer_id`, an absent amount is `1.0` per line (every line positive); an absent timestamp
/// has no column and turns off the time rules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Present {
    pub customer: bool,
    pub timestamp: bool,
    pub amount: bool,
    pub product: bool,
    pub item: bool,
    pub cost: bool,
    pub quantity: bool,
    pub discount: bool,
}

/// What the cleaning rules did, for the manifest.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Counts {
    pub lines_read: u64,
    /// Lines `--where` left out (before every other rule; not in `rejected`).
    pub filtered_lines: u64,
    pub lines_used: u64,
    pub future_lines: u64,
    /// Rejected lines by reason: `null_order`, `null_timestamp`, `null_amount`,
    /// `non_finite_amount`, `order_customer_conflict`. A line is counted under its first reason.
    pub rejected: BTreeMap<String, u64>,
    pub guest_lines: u64,
    pub orders: u64,
    pub purchase_orders: u64,
    pub orders_rejected_conflict: u64,
    /// The money of the kept lines, reconciled (`run`: from the day totals).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revenue: Option<RevenueCounts>,
}

/// Money of every kept line before as-of, each sum exact then rounded: `total` = `customers` +
/// `guests`; `returns` is minus the lines below zero (already inside both parts).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RevenueCounts {
    pub total: f64,
    /// The lines that name a customer.
    pub customers: f64,
    /// Guest lines (no customer), in guest orders and inside customers' orders.
    pub guests: f64,
    pub returns: f64,
    /// Kept orders that are not purchase orders (net <= 0 after rounding).
    pub non_purchase_orders: u64,
}

impl Counts {
    /// Counts of two disjoint parts of a dump (partitions hold whole orders) added up.
    pub fn merge(&mut self, other: &Counts) {
        self.lines_read += other.lines_read;
        self.filtered_lines += other.filtered_lines;
        self.lines_used += other.lines_used;
        self.future_lines += other.future_lines;
        for (k, v) in &other.rejected {
            *self.rejected.entry(k.clone()).or_insert(0) += v;
        }
        self.guest_lines += other.guest_lines;
        self.orders += other.orders;
        self.purchase_orders += other.purchase_orders;
        self.orders_rejected_conflict += other.orders_rejected_conflict;
    }
}

/// One row per customer with at least one purchase order, in no particular order (the tables
/// order customers themselves).
#[derive(Debug, Clone)]
pub struct CustomerFacts {
    /// `customer_id` (Int64 or String, as the dump has it).
    pub customer_id: Column,
    /// Purchase orders.
    pub frequency: Vec<u32>,
    /// The customer's line amounts over all kept orders (returns included), exact, unrounded.
    pub monetary: Vec<f64>,
    /// amount - cost over the same lines; `None` without a cost column.
    pub profit: Option<Vec<f64>>,
    /// The discount of the same lines (nulls as 0), exact, unrounded; `None` without a discount
    /// or list-price column.
    pub discount: Option<Vec<f64>>,
    /// Earliest / latest purchase order time, microseconds since the epoch.
    pub first_purchase: Vec<i64>,
    pub last_purchase: Vec<i64>,
    /// The product on the positive lines of most of the customer's purchase orders (ties: the
    /// smallest product); null for customers without product lines. `None` without a product column.
    pub favourite_product: Option<Column>,
    /// The distinct products of each of the customer's purchase orders, added up (its basket
    /// sizes); `None` without a product column.
    pub basket_items: Option<Vec<u64>>,
    /// Purchase-day facts for the CLV models; `None` unless the plan asks for them.
    pub days: Option<PurchaseDays>,
    /// The customer's kept orders by day (trend, cohorts, kpis); `None` unless the plan asks for them.
    pub activity: Option<CustomerActivity>,
}

/// Per customer, in the rows' order: the UTC days on which they have a kept order (purchase or
/// return), ascending. Customer `i`'s days are `offsets[i]..offsets[i + 1]`.
#[derive(Debug, Clone, Default)]
pub struct CustomerActivity {
    pub offsets: Vec<usize>,
    /// Days since 1970-01-01 of the orders' timestamps (an order's is its earliest line's).
    pub day: Vec<i32>,
    /// Purchase orders that day (0 on a day of return orders only).
    pub purchase_orders: Vec<u32>,
    /// The customer's lines' amounts over their kept orders that day (returns included, guest lines
    /// of their orders not), in the fixed point of [`crate::kernels::money`], exact.
    pub amount: Vec<i128>,
}

impl CustomerActivity {
    /// Customer `i`'s rows.
    pub fn of(&self, i: usize) -> std::ops::Range<usize> {
        self.offsets[i]..self.offsets[i + 1]
    }

    /// Another set of customers' activity appended (their rows after these).
    pub fn append(&mut self, other: CustomerActivity) {
        let base = *self.offsets.last().unwrap_or(&0);
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        self.offsets.extend(other.offsets.iter().skip(1).map(|o| o + base));
        self.day.extend(other.day);
        self.purchase_orders.extend(other.purchase_orders);
        self.amount.extend(other.amount);
    }
}

/// Per UTC day with a kept order (orders dated by their earliest line), ascending: what every kept
/// line and order adds up to, guests included. Sums are in the fixed point of
/// [`crate::kernels::money`], exact.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DayTotals {
    pub day: Vec<i32>,
    /// Kept orders and purchase orders dated that day.
    pub orders: Vec<u32>,
    pub purchase_orders: Vec<u32>,
    /// Every kept line's amount.
    pub net: Vec<i128>,
    /// The amounts of guest lines (no customer).
    pub guest: Vec<i128>,
    /// The amounts of lines below zero (a negative sum).
    pub returns: Vec<i128>,
}

impl DayTotals {
    /// Totals of disjoint sets of orders (partitions hold whole orders), added day by day.
    pub fn merge(parts: Vec<DayTotals>) -> DayTotals {
        let mut all: BTreeMap<i32, (u32, u32, i128, i128, i128)> = BTreeMap::new();
        for p in parts {
            for i in 0..p.day.len() {
                let e = all.entry(p.day[i]).or_default();
                e.0 += p.orders[i];
                e.1 += p.purchase_orders[i];
                e.2 = e.2.wrapping_add(p.net[i]);
                e.3 = e.3.wrapping_add(p.guest[i]);
                e.4 = e.4.wrapping_add(p.returns[i]);
            }
        }
        let mut t = DayTotals::default();
        for (day, (o, po, net, guest, ret)) in all {
            t.day.push(day);
            t.orders.push(o);
            t.purchase_orders.push(po);
            t.net.push(net);
            t.guest.push(guest);
            t.returns.push(ret);
        }
        t
    }
}

/// Per customer, their purchase days: the UTC calendar days on which they have at least one
/// purchase order (the day of the order's timestamp). Several purchase orders on one day are one
/// purchase day (BG/NBD counts repeat *days*, as the CLV literature does).
#[derive(Debug, Clone, Default)]
pub struct PurchaseDays {
    /// Distinct purchase days (>= 1).
    pub count: Vec<u32>,
    /// Sum of the customer's purchase-order amounts on the purchase days after the first one,
    /// exact, unrounded (0 with a single purchase day). Return orders (net <= 0) are not in it;
    /// return lines inside a purchase order are (they lower the order's net).
    pub repeat_value: Vec<f64>,
    /// The customer's net spend (`monetary`: every kept order, return orders included) minus their
    /// purchase-order amounts on the first purchase day, computed exactly, unrounded: the repeat
    /// days' value net of every return, whenever it came (issue 31). Equals `repeat_value` for a
    /// customer without return orders.
    pub net_repeat_value: Vec<f64>,
    /// Days between the last purchase day and the one before it; `None` with a single purchase day.
    pub last_gap_days: Vec<Option<u32>>,
}

impl CustomerFacts {
    pub fn len(&self) -> usize {
        self.frequency.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frequency.is_empty()
    }
}

/// One row per item (code) on a positive line of a purchase order, in item order.
#[derive(Debug, Clone)]
pub struct ItemFacts {
    /// Item keys, ascending; a pair's codes index this column.
    pub item: Column,
    /// Purchase orders holding the item.
    pub orders: Vec<u32>,
    /// Distinct known customers whose purchase orders hold it (`None` without a customer column).
    pub customers: Option<Vec<u32>>,
    /// Sum of quantity over the item lines (`None` without a quantity column).
    pub quantity: Option<Vec<f64>>,
    /// Sum of amount over the item lines, exact, unrounded (`None` without an amount column).
    pub revenue: Option<Vec<f64>>,
    /// Purchase orders of the dump (the support denominator).
    pub total_purchase_orders: u64,
}

/// Pairs of items bought together, with what the counting kernel did.
#[derive(Debug, Clone, Default)]
pub struct PairFacts {
    /// `(a, b, pair_orders)` item codes with `a < b` and pair_orders >= threshold, ordered by a, then b.
    pub pairs: Vec<(u32, u32, u32)>,
    pub threshold: u64,
    pub items_kept: u64,
    pub baskets_paired: u64,
    pub baskets_skipped: u64,
}

/// Frequent itemsets of the baskets (the same baskets as the pairs), over item codes that index
/// [`ItemFacts::item`]: set `i` is `items[offsets[i]..offsets[i + 1]]` (codes ascending), held by
/// `orders[i]` purchase orders; sorted by size, then codes.
#[derive(Debug, Clone, Default)]
pub struct ItemsetFacts {
    pub offsets: Vec<usize>,
    pub items: Vec<u32>,
    pub orders: Vec<u32>,
    /// The count threshold the sets reach (from `--itemset-min-support`).
    pub threshold: u64,
}

impl ItemsetFacts {
    pub fn len(&self) -> usize {
        self.orders.len()
    }

    pub fn is_empty(&self) -> bool {
        self.orders.is_empty()
    }

    /// The item codes of set `i`.
    pub fn of(&self, i: usize) -> &[u32] {
        &self.items[self.offsets[i]..self.offsets[i + 1]]
    }
}

/// Sequence pairs of the customers' purchase timelines, over item codes that index
/// [`ItemFacts::item`].
#[derive(Debug, Clone, Default)]
pub struct SequenceFacts {
    /// (a, b, window index, eligible, followers, median days to b) with followers >= the minimum.
    pub rows: Vec<SequencePair>,
    /// Per item code: customers with at least one purchase order holding it.
    pub item_customers: Vec<u32>,
    /// Customers with at least one purchase order.
    pub customers: u64,
    /// The windows, days, as the rows' `window` index them.
    pub windows: Vec<u32>,
    /// Sequential patterns (`--max-sequence-len`, issue 34): each pattern's steps (item codes,
    /// ascending) and its customers, in the miner's depth-first order.
    pub patterns: Vec<(Vec<Vec<u32>>, u64)>,
    /// Customers with a purchase order holding a basket item (the patterns' support base), and
    /// the customers a pattern needed.
    pub pattern_customers: u64,
    pub pattern_threshold: u64,
}

/// One (A, B, window) of [`SequenceFacts`].
#[derive(Debug, Clone, PartialEq)]
pub struct SequencePair {
    pub a: u32,
    pub b: u32,
    pub window: usize,
    /// Customers whose first purchase of A lies at least the window before as-of.
    pub eligible: u32,
    /// Of those, the customers who bought B in a later order within the window.
    pub followers: u32,
    /// Median of the followers' delays (first A to their earliest B in the window), days.
    pub median_days: f64,
}

/// What a job needs from an engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Customer facts (the `run` tables).
    pub customers: bool,
    /// The customers' favourite product (needs a product column).
    pub favourite: bool,
    /// Item and pair facts over this canonical column (`product_id` or `item`).
    pub items: Option<&'static str>,
    /// The customers' purchase days ([`PurchaseDays`], for the CLV models; needs a timestamp).
    pub purchase_days: bool,
    /// Pair facts (basket_pairs; needs item facts).
    pub pairs: bool,
    /// Frequent itemsets of the baskets ([`ItemsetFacts`]; needs item facts).
    pub itemsets: bool,
    /// Sequence pairs of the customers' timelines ([`SequenceFacts`]; needs item facts, a customer
    /// and a timestamp).
    pub sequences: bool,
    /// The customers' days ([`CustomerActivity`]: the trend columns, cohorts, kpis; needs customer
    /// facts and a timestamp).
    pub activity: bool,
    /// The [`DayTotals`] (cohorts, kpis, the money reconciliation; needs a timestamp).
    pub day_totals: bool,
    /// The [`GroupFacts`] (gain_loss, cross_shop, revenue_tree; needs a customer and a timestamp).
    pub groups: bool,
    /// The [`HierarchyFacts`] (product_hierarchy; needs item facts and a customer).
    pub hierarchy: bool,
}

impl Plan {
    /// No fact at all: the start of a union.
    pub const NOTHING: Plan = Plan {
        customers: false,
        favourite: false,
        items: None,
        purchase_days: false,
        pairs: false,
        itemsets: false,
        sequences: false,
        activity: false,
        day_totals: false,
        groups: false,
        hierarchy: false,
    };

    /// Every fact either plan asks for (the item column of the first that has one).
    pub fn and(self, o: Plan) -> Plan {
        Plan {
            customers: self.customers || o.customers,
            favourite: self.favourite || o.favourite,
            items: self.items.or(o.items),
            purchase_days: self.purchase_days || o.purchase_days,
            pairs: self.pairs || o.pairs,
            itemsets: self.itemsets || o.itemsets,
            sequences: self.sequences || o.sequences,
            activity: self.activity || o.activity,
            day_totals: self.day_totals || o.day_totals,
            groups: self.groups || o.groups,
            hierarchy: self.hierarchy || o.hierarchy,
        }
    }

    /// The plan narrowed to what the dump has: no favourite without a product column, no item
    /// facts without a basket item.
    pub fn given(self, has: Present) -> Plan {
        Plan {
            favourite: self.favourite && has.product,
            items: self.items.filter(|_| has.item),
            purchase_days: self.purchase_days && has.timestamp,
            itemsets: self.itemsets && has.item,
            sequences: self.sequences && has.item && has.customer && has.timestamp,
            activity: self.activity && has.timestamp,
            day_totals: self.day_totals && has.timestamp,
            groups: self.groups && has.customer && has.timestamp,
            hierarchy: self.hierarchy && has.customer && has.item,
            ..self
        }
    }
}

/// The switching family's facts (issue 34): for each customer, window and line group, the kept
/// orders with a line of the customer in that group, those lines, and their exact amounts and
/// quantities. A window is every kept line ([`GroupFacts::ALL_TIME`]) or one of the two periods
/// (an order is in a period when its day is); a group is a `--group` (1..), no group (0) or
/// every line ([`GroupFacts::EVERY_LINE`]). Guest lines and orders naming two customers are not
/// in it. A row exists when the customer has a line in the window and group. Rows are sorted by
/// customer id, window, group.
#[derive(Debug, Clone)]
pub struct GroupFacts {
    pub customer_id: Column,
    pub window: Vec<u8>,
    pub group: Vec<u8>,
    pub orders: Vec<u64>,
    pub lines: Vec<u64>,
    pub amount: Vec<i128>,
    /// The quantities, with a quantity column.
    pub units: Option<Vec<i128>>,
}

impl GroupFacts {
    /// The window of every kept line, whatever its day.
    pub const ALL_TIME: u8 = 0;
    pub const PERIOD_A: u8 = 1;
    pub const PERIOD_B: u8 = 2;
    /// The group of every line (a row's orders count each order once).
    pub const EVERY_LINE: u8 = 255;
}

/// The product hierarchy's facts (issue 34): the basket items in the most purchase orders (ties:
/// the smaller item), most first, and the customers who bought each (a positive line in a purchase
/// order) and each pair of them (`both[i * n + j]`, i < j), beside the customers who bought any
/// basket item.
#[derive(Debug, Clone)]
pub struct HierarchyFacts {
    pub items: Column,
    pub customers: u64,
    pub single: Vec<u64>,
    pub both: Vec<u64>,
}

/// Everything an engine produces for one run.
pub struct Facts {
    /// The analysis date D; `None` when the dump has no timestamp (basket-only dumps).
    pub as_of: Option<NaiveDate>,
    pub has: Present,
    pub counts: Counts,
    pub customers: Option<CustomerFacts>,
    pub items: Option<ItemFacts>,
    pub pairs: Option<PairFacts>,
    pub itemsets: Option<ItemsetFacts>,
    pub sequences: Option<SequenceFacts>,
    /// Per-day totals (with [`Plan::day_totals`]).
    pub days: Option<DayTotals>,
    /// The customers' spend by period and product group (with [`Plan::groups`]).
    pub groups: Option<GroupFacts>,
    /// Which customers bought which of the top products (with [`Plan::hierarchy`]).
    pub hierarchy: Option<HierarchyFacts>,
    /// Each product's name, `product_id` and `name` ascending by product (`--product-name-col`).
    pub product_names: Option<DataFrame>,
    /// `customer_id` and one column per `--customer-attr`, under its own name.
    pub customer_attrs: Option<DataFrame>,
}
