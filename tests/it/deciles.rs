//! SPEC "monetary_deciles" and "purchase_deciles" with N = 7 (not divisible by 10).

use crate::common::*;

/// Seven customers with monetary 10, 20, 20, 30, 40, 40, 50 (ids 1..7); total 210.
fn seven() -> Run {
    let lines: Vec<Line> = [10.0, 20.0, 20.0, 30.0, 40.0, 40.0, 50.0]
        .iter()
        .enumerate()
        .map(|(i, m)| line(Some(i as i64 + 1), 100 + i as i64, "2024-01-10 10:00", *m))
        .collect();
    run_lines(&lines, Some("2024-02-01"))
}

#[test]
fn monetary_decile_is_position_in_tenths() {
    // Order (monetary desc, id asc): 7, 5, 6, 4, 2, 3, 1 at p = 0..6; decile = 1 + floor(10 p / 7).
    let r = seven();
    let got: Vec<i64> = [7, 5, 6, 4, 2, 3, 1].iter().map(|&i| r.customer(i).i("monetary_decile")).collect();
    assert_eq!(got, vec![1, 2, 3, 5, 6, 8, 9]);
    let md = r.table("monetary_deciles");
    assert_eq!(ints(md, "decile"), vec![1, 2, 3, 5, 6, 8, 9]);
    assert_eq!(floats(md, "revenue"), vec![50.0, 40.0, 40.0, 30.0, 20.0, 20.0, 10.0]);
    assert_eq!(ints(md, "orders"), vec![1; 7]);
    let cum = floats(md, "cumulative_revenue_share");
    assert!((cum[1] - 90.0 / 210.0).abs() < 1e-12);
    assert!((cum[6] - 1.0).abs() < 1e-12);
}

#[test]
fn purchase_decile_is_where_the_spend_begins() {
    // cum_before: 0, 50, 90, 130, 160, 180, 200 of 210 → 1 + floor(10 cum / 210) = 1, 3, 5, 7, 8, 9, 10.
    // Customer 7 straddles: spend 50 starts in the first tenth and runs into the third.
    let r = seven();
    let got: Vec<i64> = [7, 5, 6, 4, 2, 3, 1].iter().map(|&i| r.customer(i).i("purchase_decile")).collect();
    assert_eq!(got, vec![1, 3, 5, 7, 8, 9, 10]);
    let pd = r.table("purchase_deciles");
    assert_eq!(ints(pd, "decile"), vec![1, 3, 5, 7, 8, 9, 10]);
    assert_eq!(ints(pd, "customers"), vec![1; 7]);
    assert!((floats(pd, "customer_share")[0] - 1.0 / 7.0).abs() < 1e-12);
    assert!((floats(pd, "revenue_share")[0] - 50.0 / 210.0).abs() < 1e-12);
}

#[test]
fn purchase_decile_boundaries_are_exact_in_cents() {
    // Ten customers of 0.10 each: total 1.00, cum_before 0.00, 0.10, … exactly on each boundary, so
    // customer k (by id, all tied) begins decile k. Float sums of 0.1 would drift below the boundary.
    let lines: Vec<Line> = (1..=10).map(|i| line(Some(i), i, "2024-01-10 10:00", 0.1)).collect();
    let r = run_lines(&lines, Some("2024-02-01"));
    let got: Vec<i64> = (1..=10).map(|i| r.customer(i).i("purchase_decile")).collect();
    assert_eq!(got, (1..=10).collect::<Vec<_>>());
}
