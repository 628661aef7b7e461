//! Array algorithms over plain slices: dense codes, exact money sums, basket CSR, pair counting,
//! frequent itemsets, sequence pairs, ISO-8601 timestamps, and the CLV models' likelihoods and predictions (BG/NBD, Gamma-Gamma, the optimiser).
//! No Polars types in the signatures beyond the key columns codes are made from; no tables, no I/O.

pub mod baskets;
pub mod bgnbd;
pub mod codes;
pub mod dert;
pub mod draws;
pub mod fisher;
pub mod gamma_gamma;
pub mod hierarchy;
pub mod iso_time;
pub mod itemsets;
pub mod mle;
pub mod money;
pub mod pareto_nbd;
pub mod prefixspan;
pub mod pairs;
pub mod sequences;
