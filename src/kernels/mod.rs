//! Array algorithms over plain slices: dense codes, exact money sums, basket CSR, pair counting.
//! No Polars types in the signatures beyond the key columns codes are made from; no tables, no I/O.

pub mod baskets;
pub mod codes;
pub mod money;
pub mod pairs;
