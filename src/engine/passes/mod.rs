//! The passes every engine shares, by the fact they make (Polars' habit: the same node name in
//! each engine). The memory engine runs each pass once over the whole dump; the partitioned engine
//! runs the same pass per partition and merges; Spark computes the same facts in SQL
//! (`src/engine/spark/sql/`) and evergreen finishes them with these passes where the facts meet.
//!
//! - [`orders`]: the line rules, the as-of date, and the order index (orders, customers, purchase flag)
//! - [`records`]: the orders of one part of the dump and their records by position, shared by the passes
//! - [`items`]: item sums, purchase orders per item, and the pair facts
//! - [`customers`]: customer facts (and purchase days)
//! - [`activity`]: customers' days of activity and the day totals
//! - [`attributes`]: product names and customer attributes
//! - [`groups`]: customers' orders and money by period and product group (the switching tables)
//!
//! A pass imports [`records`] and [`orders`], never an engine and never a pass that imports it.

pub mod activity;
pub mod attributes;
pub mod customers;
pub mod groups;
pub mod items;
pub mod orders;
pub mod records;
