//! Which input column plays which role, and the line filters: the options every job takes.
//! The config file keeps the roles in a `[columns]` table under short names (`customer`, `order`,
//! `timestamp`...), the flags are `--customer-col`, `--order-col`, `--ts-col`...

use std::path::PathBuf;

use super::options;

options! {
    /// The column roles: the flags and the `[columns]` table. `amount` may be an expression over
    /// columns. The product name and the customer attributes are listed under "Line filters and
    /// attributes" in `--help`, after the filters.
    #[serde(deny_unknown_fields)]
    pub struct ColumnSettings {
        /// Customer id column (integer or string) [default: customer_id].
        #[arg(long = "customer-col", value_name = "CUSTOMER_COL", env = "EVERGREEN_CUSTOMER_COL")]
        pub customer: Option<String>,
        /// Order id column (integer or string) [default: order_id].
        #[arg(long = "order-col", value_name = "ORDER_COL", env = "EVERGREEN_ORDER_COL")]
        pub order: Option<String>,
        /// Timestamp column (timestamp, date or ISO-8601 string) [default: ts].
        #[arg(long = "ts-col", value_name = "TS_COL", env = "EVERGREEN_TS_COL")]
        pub timestamp: Option<String>,
        /// The layout (strftime) of string timestamps that are not ISO-8601, e.g. "%m/%d/%Y %H:%M"
        /// [default: ISO-8601, else the one day-first or month-first layout that reads every value].
        #[arg(long = "ts-format", value_name = "TS_FORMAT", env = "EVERGREEN_TS_FORMAT")]
        pub ts_format: Option<String>,
        /// Amount column, or a SQL expression over columns such as "Quantity * UnitPrice" [default: amount].
        #[arg(long, env = "EVERGREEN_AMOUNT")]
        pub amount: Option<String>,
        /// Product column [default: product_id, used when present].
        #[arg(long = "product-col", value_name = "PRODUCT_COL", env = "EVERGREEN_PRODUCT_COL")]
        pub product: Option<String>,
        /// Cost column; enables profit columns [default: cost, used when present].
        #[arg(long = "cost-col", value_name = "COST_COL", env = "EVERGREEN_COST_COL")]
        pub cost: Option<String>,
        /// Quantity column [default: quantity, used when present].
        #[arg(long = "quantity-col", value_name = "QUANTITY_COL", env = "EVERGREEN_QUANTITY_COL")]
        pub quantity: Option<String>,
        /// Basket item column, when not the product (a category, a brand) [default: the product column].
        #[arg(long = "item-col", value_name = "ITEM_COL", env = "EVERGREEN_ITEM_COL")]
        pub item: Option<String>,
        /// The line's discount in money (how much below list price it sold); adds discount and
        /// discount_share (discount / (monetary + discount)) to customers and the `deal_seeker` tag.
        #[arg(long = "discount-col", value_name = "DISCOUNT_COL", env = "EVERGREEN_DISCOUNT_COL", conflicts_with = "list_price")]
        pub discount: Option<String>,
        /// The line's value at list price; its discount is list price - amount (else as --discount-col).
        #[arg(long = "list-price-col", value_name = "LIST_PRICE_COL", env = "EVERGREEN_LIST_PRICE_COL")]
        pub list_price: Option<String>,
        /// Product name column (strings): each product's most frequent name (ties: the smallest) goes
        /// into products (name), basket_pairs (name_a, name_b) and customers (favourite_product_name).
        #[arg(long = "product-name-col", value_name = "PRODUCT_NAME_COL", env = "EVERGREEN_PRODUCT_NAME_COL",
              help_heading = "Line filters and attributes", display_order = 1000)]
        pub product_name: Option<String>,
        /// A column (strings or integers) copied into customers: its value on the customer's latest
        /// line that has one (ties: the smallest). Repeatable, e.g. --customer-attr Country.
        #[arg(long = "customer-attr", env = "EVERGREEN_CUSTOMER_ATTR", value_delimiter = ',',
              help_heading = "Line filters and attributes", display_order = 1001)]
        #[serde(default)]
        pub customer_attr: Vec<String>,
    }
}

/// Rule "purchase order" (`--zero-net-orders`): whether an order whose net rounds to exactly 0
/// is a purchase. A kept order with a positive net always is; a negative net never is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ZeroNetOrders {
    /// Not a purchase (the default: a free sample is not a sale).
    #[default]
    Skip,
    /// A purchase, as the BTYD papers count CDNOW's $0 orders.
    Purchase,
}

impl ZeroNetOrders {
    /// The purchase rule on an order's net (already rounded to the money decimals).
    pub fn is_purchase(self, net: f64) -> bool {
        match self {
            ZeroNetOrders::Skip => net > 0.0,
            ZeroNetOrders::Purchase => net >= 0.0,
        }
    }
}

options! {
    /// The line filters (issue 15): the flags and the config file's top-level keys.
    #[command(next_help_heading = "Line filters and attributes")]
    pub struct LineSettings {
        /// Read only the lines where this SQL predicate over the dump's own columns is true, before
        /// every other rule (false or null: filtered out, counted as counts.filtered_lines), e.g.
        /// "StockCode NOT IN ('POST', 'DOT', 'M')". Comparisons, AND/OR/NOT, IN, LIKE, IS NULL and
        /// arithmetic mean the same on every engine.
        #[arg(long = "where", env = "EVERGREEN_WHERE", value_name = "PREDICATE")]
        #[serde(rename = "where")]
        pub where_sql: Option<String>,
        /// A text file of item ids, one a line (blank lines and # comments skipped): their lines still
        /// count for money, orders and customers, but hold no product or item (left out of products,
        /// basket_pairs, favourite_product, itemsets and sequences).
        #[arg(long, env = "EVERGREEN_EXCLUDE_ITEMS", value_name = "FILE")]
        pub exclude_items: Option<PathBuf>,
        /// An order whose net is exactly 0 at the money decimals (free items, a sample, lines that
        /// cancel out): skip (an order, not a purchase) or purchase (a purchase order everywhere,
        /// as the BTYD papers' CDNOW summary and lifetimes count a $0 order) [default: skip].
        #[arg(long, env = "EVERGREEN_ZERO_NET_ORDERS", value_enum)]
        pub zero_net_orders: Option<ZeroNetOrders>,
    }
}
