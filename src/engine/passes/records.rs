//! What the engines' passes share: the orders of one part of the dump ([`Ordered`]: the cleaned
//! lines, the order index, the item codes and baskets), the orders' records by position
//! ([`OrderRecords`], what the customer, activity and attribute passes read) and the UTC day. The
//! passes (`customers`, `activity`, `attributes`) and the engines (`memory`, `partitioned`) import
//! these from here, so no pass imports an engine and no two passes import each other.

use polars::prelude::*;

use super::orders::{self, OrderIndex};
use crate::engine::stopwatch::Stopwatch;
use crate::engine::Setup;
use crate::error::Result;
use crate::facts::{col_names as c, Counts};
use crate::kernels::baskets::{self, Csr};
use crate::kernels::codes::{self, Codes};
use crate::kernels::money::Exact;

/// Item codes of every line, numbered in item order, and the item of each code.
pub struct ItemCodes {
    pub codes: Codes,
    pub keys: Column,
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

/// Orders by position; every slice as long as `customer` (optional ones may be empty).
pub struct OrderRecords<'a> {
    /// Customer code per order; [`NONE`] for orders that do not count for a customer (guests,
    /// orders rejected for naming two customers).
    pub customer: &'a [u32],
    pub purchase: &'a [bool],
    /// Earliest line time (empty without a timestamp column).
    pub ordered_at: &'a [i64],
    /// The customer's lines' amounts, exact.
    pub amount: &'a [Exact],
    /// amount - cost, exact (empty without a cost column).
    pub profit: &'a [Exact],
    /// The customer's lines' discounts, exact (empty without a discount column).
    pub discount: &'a [Exact],
    /// The items of each order (purchase orders only), for favourite_product and per-item customers.
    pub baskets: Option<&'a Csr>,
}

/// Microseconds in a day.
const DAY_MICROS: i64 = 86_400_000_000;

/// The UTC calendar day (days since 1970-01-01) of a timestamp in microseconds.
pub fn utc_day(micros: i64) -> i64 {
    micros.div_euclid(DAY_MICROS)
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

/// Orders from lines that passed the line rules (and the future rule): the order index and, beside
/// it on the other core, the item codes; then the baskets of purchase orders.
pub fn order_lines(lines: DataFrame, mut counts: Counts, s: &Setup, sw: &mut Stopwatch) -> Result<Ordered> {
    let has = s.has;
    let need_products = has.product && (s.plan.favourite || s.plan.items == Some(c::PRODUCT));
    let need_items = s.plan.items == Some(c::ITEM);
    let (index, (products, items)) = rayon::join(
        || OrderIndex::build(&lines, has, s.plan.customers || s.plan.sequences || s.plan.groups, s.money_decimals, s.zero_net_orders),
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
