//! SPEC "monetary_deciles" and "purchase_deciles": exact boundaries (the N = 7 case is
//! tests/cases/deciles_of_seven, run on every engine).

use crate::common::*;

#[test]
fn purchase_decile_boundaries_are_exact_in_cents() {
    // Ten customers of 0.10 each: total 1.00, cum_before 0.00, 0.10, … exactly on each boundary, so
    // customer k (by id, all tied) begins decile k. Float sums of 0.1 would drift below the boundary.
    let lines: Vec<Line> = (1..=10).map(|i| line(Some(i), i, "2024-01-10 10:00", 0.1)).collect();
    let r = run_lines(&lines, Some("2024-02-01"));
    let got: Vec<i64> = (1..=10).map(|i| r.customer(i).i("purchase_decile")).collect();
    assert_eq!(got, (1..=10).collect::<Vec<_>>());
}
