//! SPEC "Table customers" and the cleaning rules, on hand-worked dumps.

use crate::common::*;

#[test]
fn customers_without_a_purchase_order_are_absent() {
    let r = run_lines(
        &[line(Some(1), 1, "2024-01-01 10:00", 10.0), line(Some(4), 2, "2024-01-02 10:00", -10.0)],
        Some("2024-02-01"),
    );
    assert!(r.has_customer(1));
    assert!(!r.has_customer(4), "only a return: no purchase order");
    assert!(r.customer(1).is_null("avg_days_between_orders"), "null when frequency = 1");
    assert!(r.customer(1).is_null("favourite_product"), "null without a product column");
}

#[test]
fn future_lines_are_excluded_and_counted() {
    let r = run_lines(
        &[
            line(Some(1), 1, "2024-02-29 23:59:59", 10.0),
            line(Some(1), 2, "2024-03-01 00:00", 99.0), // ts >= D 00:00: future
            line(Some(2), 3, "2024-03-05 12:00", 5.0),  // future; customer 2 vanishes
        ],
        Some("2024-03-01"),
    );
    assert_eq!(r.counts.future_lines, 2);
    assert_eq!(r.counts.lines_used, 1);
    assert_eq!(r.customer(1).f("monetary"), 10.0);
    assert!(!r.has_customer(2));
}

#[test]
fn default_as_of_is_the_day_after_the_latest_line() {
    let r = run_lines(&[line(Some(1), 1, "2024-05-01 08:00", 10.0), line(None, 2, "2024-05-09 22:00", 3.0)], None);
    assert_eq!(r.as_of.to_string(), "2024-05-10", "latest line (a guest's) is on May 9");
    assert_eq!(r.customer(1).i("recency_days"), 9);
    assert_eq!(r.counts.future_lines, 0);
}

#[test]
fn guest_lines_count_for_nothing_customer_level() {
    let r = run_lines(
        &[line(Some(1), 1, "2024-01-01 10:00", 10.0), line(None, 2, "2024-01-01 11:00", 500.0)],
        Some("2024-01-02"),
    );
    assert_eq!(r.counts.guest_lines, 1);
    assert_eq!(r.table("customers").height(), 1);
    assert_eq!(r.counts.purchase_orders, 2, "the guest order is still a purchase order");
}

#[test]
fn null_order_timestamp_or_amount_lines_are_rejected_by_reason() {
    let mut df = frame(&[
        line(Some(1), 1, "2024-01-01 10:00", 10.0),
        line(Some(1), 2, "2024-01-01 10:00", 10.0),
        line(Some(1), 3, "2024-01-01 10:00", 10.0),
        line(Some(1), 4, "2024-01-01 10:00", 10.0),
    ]);
    use polars::prelude::*;
    df = df
        .lazy()
        .with_columns([
            when(col("order_id").eq(lit(2i64))).then(lit(NULL)).otherwise(col("order_id")).alias("order_id"),
            when(col("order_id").eq(lit(3i64))).then(lit(NULL)).otherwise(col("ts")).alias("ts"),
            when(col("order_id").eq(lit(4i64))).then(lit(NULL)).otherwise(col("amount")).alias("amount"),
        ])
        .collect()
        .unwrap();
    let (_d, p) = dump_frame(&mut df);
    let r = compute(settings(&p, Some("2024-02-01")));
    assert_eq!(r.counts.rejected["null_order"], 1);
    assert_eq!(r.counts.rejected["null_timestamp"], 1);
    assert_eq!(r.counts.rejected["null_amount"], 1);
    assert_eq!(r.counts.lines_used, 1);
    assert_eq!(r.customer(1).f("monetary"), 10.0);
}

#[test]
fn an_order_naming_two_customers_is_rejected_whole() {
    let r = run_lines(
        &[
            line(Some(1), 7, "2024-01-01 10:00", 10.0),
            line(Some(2), 7, "2024-01-01 10:00", 20.0),
            line(None, 7, "2024-01-01 10:00", 1.0),
            line(Some(1), 8, "2024-01-02 10:00", 5.0),
        ],
        Some("2024-02-01"),
    );
    assert_eq!(r.counts.rejected["order_customer_conflict"], 3);
    assert_eq!(r.counts.orders_rejected_conflict, 1);
    assert_eq!(r.customer(1).f("monetary"), 5.0);
    assert!(!r.has_customer(2));
}

#[test]
fn guest_lines_of_a_rejected_order_are_not_counted_as_guest_lines() {
    // Order 7 names customers 1 and 2 and has a guest line: rejected whole, its guest line with it.
    // Order 9 is a guest order: its two lines are the only guest lines left.
    let r = run_lines(
        &[
            line(Some(1), 7, "2024-01-01 10:00", 10.0),
            line(None, 7, "2024-01-01 10:00", 1.0),
            line(Some(2), 7, "2024-01-01 10:00", 20.0),
            line(None, 9, "2024-01-03 10:00", 4.0),
            line(None, 9, "2024-01-03 10:00", 2.0),
            line(Some(1), 8, "2024-01-02 10:00", 5.0),
        ],
        Some("2024-02-01"),
    );
    assert_eq!(r.counts.guest_lines, 2);
    assert_eq!(r.counts.lines_used, 3);
    assert_eq!(r.counts.purchase_orders, 2, "orders 8 and 9");
}

#[test]
fn lapse_buckets_have_inclusive_upper_thresholds() {
    // D = 2024-06-01. Recency 30 → 0-30, 31 → 31-60, 120 → 91-120, 121 → 121+.
    let r = run_lines(
        &[
            line(Some(1), 1, "2024-05-02 10:00", 1.0), // 30 days
            line(Some(2), 2, "2024-05-01 10:00", 1.0), // 31
            line(Some(3), 3, "2024-02-02 10:00", 1.0), // 120
            line(Some(4), 4, "2024-02-01 10:00", 1.0), // 121
        ],
        Some("2024-06-01"),
    );
    let got: Vec<(i64, String)> =
        (1..=4).map(|i| (r.customer(i).i("recency_days"), r.customer(i).s("lapse_bucket"))).collect();
    assert_eq!(got, vec![(30, "0-30".into()), (31, "31-60".into()), (120, "91-120".into()), (121, "121+".into())]);
}

#[test]
fn favourite_product_counts_purchase_orders_and_breaks_ties_by_smallest_id() {
    let r = run_lines(
        &[
            // Customer 1: product 7 in two orders (twice in one order counts once), 5 in two orders.
            pline(Some(1), 1, "2024-01-01 10:00", 3.0, 7),
            pline(Some(1), 1, "2024-01-01 10:00", 3.0, 7),
            pline(Some(1), 1, "2024-01-01 10:00", 3.0, 5),
            pline(Some(1), 2, "2024-01-02 10:00", 3.0, 7),
            pline(Some(1), 2, "2024-01-02 10:00", 3.0, 5),
            // A return line of 9 and a non-purchase order with 9 do not count.
            pline(Some(1), 3, "2024-01-03 10:00", 9.0, 9),
            pline(Some(1), 3, "2024-01-03 10:00", -1.0, 9),
            pline(Some(1), 4, "2024-01-04 10:00", 2.0, 9),
            pline(Some(1), 4, "2024-01-04 10:00", -2.0, 9),
            pline(Some(1), 5, "2024-01-05 10:00", 2.0, 9),
            pline(Some(1), 5, "2024-01-05 10:00", 1.0, 11),
            // Customer 2: one product.
            pline(Some(2), 6, "2024-01-05 10:00", 2.0, 42),
        ],
        Some("2024-02-01"),
    );
    // Counts: 5 → orders {1,2} = 2, 7 → {1,2} = 2, 9 → {3,5} = 2 (order 4 nets 0), 11 → 1.
    assert_eq!(r.customer(1).i("favourite_product"), 5);
    assert_eq!(r.customer(2).i("favourite_product"), 42);
}

#[test]
fn cost_column_gives_profit() {
    use polars::prelude::*;
    let mut df = frame(&[
        line(Some(1), 1, "2024-01-01 10:00", 10.0),
        line(Some(1), 2, "2024-01-02 10:00", 20.0),
        line(Some(2), 3, "2024-01-03 10:00", 5.0),
    ]);
    df.with_column(Column::new("cost".into(), [4.0, 12.5, 1.0])).unwrap();
    let (_d, p) = dump_frame(&mut df);
    let r = compute(settings(&p, Some("2024-02-01")));
    assert_eq!(r.customer(1).f("profit"), 13.5, "(10-4) + (20-12.5)");
    assert_eq!(r.customer(2).f("profit"), 4.0);
    let md = r.table("monetary_deciles");
    // Two customers: deciles 1 (customer 1, monetary 30) and 6 (customer 2).
    assert_eq!(ints(md, "decile"), vec![1, 6]);
    assert_eq!(floats(md, "profit"), vec![13.5, 4.0]);
    let ps = floats(md, "profit_share");
    assert!((ps[0] - 13.5 / 17.5).abs() < 1e-12);
}

#[test]
fn default_as_of_ignores_rejected_lines() {
    // The latest timestamp belongs to a line without an amount: it is rejected, so D comes from
    // the latest usable line (regression: the maximum was once taken before the rejection).
    use polars::prelude::*;
    let mut df = frame(&[line(Some(1), 1, "2024-05-01 08:00", 10.0), line(Some(1), 2, "2024-06-30 08:00", 1.0)]);
    df = df
        .lazy()
        .with_column(when(col("order_id").eq(lit(2i64))).then(lit(NULL)).otherwise(col("amount")).alias("amount"))
        .collect()
        .unwrap();
    let (_d, p) = dump_frame(&mut df);
    let r = compute(settings(&p, None));
    assert_eq!(r.as_of.to_string(), "2024-05-02");
    assert_eq!(r.counts.rejected["null_amount"], 1);
}
