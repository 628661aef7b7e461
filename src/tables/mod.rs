//! Table families: facts in, tables out. A family imports [`crate::facts`], the plain options of
//! [`crate::config`], [`crate::exprs`], [`crate::error`] and the array algorithms of
//! [`crate::kernels`] only: never an engine, the output writer, the CLI or another family
//! (`tests/it/layout.rs` checks it).

pub mod activity;
pub mod attributes;
pub mod basket;
pub mod clv;
pub mod customers;
pub mod hierarchy;
pub mod patterns;
pub mod snapshots;
pub mod switching;

/// Every table a run writes, by family, in the order the manifest lists them (queries come after).
pub const REGISTRY: [(&str, Family); 27] = [
    ("customers", Family::Customers),
    ("score_bins", Family::Customers),
    ("monetary_deciles", Family::Customers),
    ("purchase_deciles", Family::Customers),
    ("profit_deciles", Family::Customers),
    ("cohorts", Family::Activity),
    ("kpis", Family::Activity),
    ("products", Family::Basket),
    ("basket_pairs", Family::Basket),
    ("top_pairs", Family::Basket),
    ("clv", Family::Clv),
    ("clv_params", Family::Clv),
    ("clv_holdout", Family::Clv),
    ("clv_periods", Family::Clv),
    ("clv_new_customers", Family::Clv),
    ("clv_tracking", Family::Clv),
    ("clv_frequency", Family::Clv),
    ("itemsets", Family::Patterns),
    ("rules", Family::Patterns),
    ("sequence_pairs", Family::Patterns),
    ("sequence_patterns", Family::Patterns),
    ("gain_loss", Family::Switching),
    ("cross_shop", Family::Switching),
    ("revenue_tree", Family::Switching),
    ("product_hierarchy", Family::Hierarchy),
    ("segment_migration", Family::Snapshots),
    ("decile_migration", Family::Snapshots),
];

/// The table families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// customers, score_bins, monetary_deciles, purchase_deciles (needs customer facts), and
    /// profit_deciles with a cost column.
    Customers,
    /// cohorts, kpis (needs the customers' days of activity and the day totals; `run`).
    Activity,
    /// segment_migration, decile_migration: two snapshots' customers tables compared (`evergreen
    /// compare`, `run --compare-with`).
    Snapshots,
    /// products, basket_pairs, top_pairs (needs item and pair facts).
    Basket,
    /// clv, clv_params, clv_holdout, clv_periods, clv_new_customers (needs customer facts with purchase days; `--clv` or `evergreen clv`).
    Clv,
    /// itemsets, rules (`run --itemsets`, `evergreen patterns`) and sequence_pairs (`--sequences`).
    Patterns,
    /// gain_loss, cross_shop, revenue_tree (`run --group`, `--period-a`/`--period-b`; needs the
    /// group facts).
    Switching,
    /// product_hierarchy (`run --product-hierarchy N`; needs the hierarchy facts).
    Hierarchy,
}
