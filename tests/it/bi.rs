//! Issue 15 (point 4, BI-friendly tables): an `as_of` column in every table, sort keys beside the
//! labels (`lapse_bucket_order`, `segment_order`), segment descriptions and suggested actions from
//! `queries/segment_descriptions.sql`, money-rounded averages, and `top_pairs`. Expected values are
//! worked by hand in each test.

use crate::common::*;
use polars::prelude::*;

fn run_out(lines: &[Line], as_of: &str, extra: &[&str]) -> (tempfile::TempDir, std::path::PathBuf) {
    let (d, p) = dump(lines);
    let out = d.path().join("out");
    let o = bin().args(["run", "-q", "--as-of", as_of, "-i"]).arg(&p).arg("-o").arg(&out).args(extra).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (d, out)
}

/// The shipped segments, in segment_descriptions.sql's order.
const SEGMENTS: [&str; 11] = [
    "Champions",
    "Loyal",
    "Potential Loyalist",
    "New Customers",
    "Promising",
    "Need Attention",
    "About To Sleep",
    "At Risk",
    "Cannot Lose Them",
    "Hibernating",
    "Lost",
];

/// Issue 15.
#[test]
fn every_table_says_its_as_of_date() {
    let (_d, out) = run_out(
        &[
            pline(Some(1), 1, "2024-01-05 10:00", 10.0, 7),
            pline(Some(1), 1, "2024-01-05 10:00", 3.0, 8),
            pline(Some(1), 2, "2024-01-06 10:00", 3.0, 8),
            pline(Some(2), 3, "2024-01-06 10:00", 20.0, 7),
            pline(Some(2), 3, "2024-01-06 10:00", 5.0, 8),
        ],
        "2024-02-01",
        &[],
    );
    let m = manifest(&out);
    let tables = m["tables"].as_object().unwrap();
    assert!(tables.len() >= 14, "{tables:?}");
    let want = chrono::NaiveDate::from_ymd_opt(2024, 2, 1).unwrap();
    for (name, info) in tables {
        let df = read_parquet(&out.join(info["file"].as_str().unwrap()));
        let c = df.column("as_of").unwrap_or_else(|_| panic!("{name}: no as_of column"));
        assert_eq!(c.dtype(), &DataType::Date, "{name}");
        let days = (want - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days() as i32;
        let phys = c.cast(&DataType::Int32).unwrap();
        assert!(phys.i32().unwrap().iter().all(|v| v == Some(days)), "{name}: as_of is not the run's date");
    }
}

/// Issue 15.
#[test]
fn labels_have_sort_keys_and_segments_have_descriptions() {
    // Recency on 2024-06-01: customer 1 bought 10 days before (bucket 0-30 -> 1), customer 2 45
    // days before (31-60 -> 2), customer 3 200 days before (121+ -> 5).
    let (_d, out) = run_out(
        &[
            line(Some(1), 1, "2024-05-22 10:00", 10.0),
            line(Some(1), 2, "2024-05-23 10:00", 20.0),
            line(Some(1), 3, "2024-05-24 10:00", 3.335),
            line(Some(2), 4, "2024-04-17 10:00", 7.0),
            line(Some(3), 5, "2023-11-14 10:00", 5.0),
        ],
        "2024-06-01",
        &[],
    );
    let c = read_parquet(&out.join("customers.parquet")).sort(["customer_id"], Default::default()).unwrap();
    let names: Vec<String> = c.get_column_names().iter().map(|n| n.to_string()).collect();
    let at = |n: &str| names.iter().position(|x| x == n).unwrap();
    assert_eq!(at("lapse_bucket_order"), at("lapse_bucket") + 1);
    assert_eq!(at("segment_order"), at("segment") + 1);
    let order: Vec<Option<i32>> = c.column("lapse_bucket_order").unwrap().i32().unwrap().iter().collect();
    assert_eq!(order, vec![Some(1), Some(2), Some(5)]);
    // Each customer's segment_order is its segment's place in segment_descriptions.sql.
    let seg = c.column("segment").unwrap().str().unwrap().clone();
    let so = c.column("segment_order").unwrap().i32().unwrap().clone();
    for i in 0..c.height() {
        let s = seg.get(i).unwrap();
        let want = SEGMENTS.iter().position(|x| *x == s).unwrap() as i32 + 1;
        assert_eq!(so.get(i), Some(want), "{s}");
    }
    // avg_order_value rounded like money: customer 1's 33.335 over 3 orders is 11.11 (not 11.111666…).
    assert_eq!(floats(&c, "avg_order_value")[0], 11.11);
    // segment_summary: every row has its order, a description and an action; averages rounded.
    let s = read_parquet(&out.join("segment_summary.parquet"));
    for col_name in ["segment_order", "description", "suggested_action"] {
        assert_eq!(s.column(col_name).unwrap().null_count(), 0, "{col_name}");
    }
    let (rev, orders, aov) = (floats(&s, "revenue"), ints(&s, "orders"), floats(&s, "avg_order_value"));
    for i in 0..s.height() {
        // In cents, halves away from zero.
        let cents = (rev[i] * 100.0).round() as i64;
        let want = ((cents * 2 + orders[i]) / (2 * orders[i])) as f64 / 100.0;
        assert_eq!(aov[i], want);
    }
    let d = read_parquet(&out.join("segment_descriptions.parquet"));
    assert_eq!(d.height(), 11);
    // The lapsed list carries both sort keys.
    let l = read_parquet(&out.join("lapsed_customers.parquet"));
    assert!(l.column("lapse_bucket_order").is_ok() && l.column("segment_order").is_ok());
}

/// Baskets (one customer, 15 purchase orders): {1,2} six times, {1,3} five times, {2,3} twice,
/// {3} twice. Orders: n1 = 11, n2 = 8, n3 = 9. Pair (1,2): 6 orders, lift 6·15/(11·8) = 90/88;
/// (1,3): 5 orders, lift 75/99; (2,3): 2 orders, under top_pairs' 5. So product 1's partners are
/// 2 then 3; product 2's is 1; product 3's is 1.
/// (Issue 15.)
#[test]
fn top_pairs_ranks_each_products_partners_by_lift() {
    let mut lines = Vec::new();
    let mut order = 0;
    let mut basket = |items: &[i64], times: usize, lines: &mut Vec<Line>| {
        for _ in 0..times {
            order += 1;
            for &p in items {
                lines.push(pline(Some(1), order, "2024-01-05 10:00", 1.0, p));
            }
        }
    };
    basket(&[1, 2], 6, &mut lines);
    basket(&[1, 3], 5, &mut lines);
    basket(&[2, 3], 2, &mut lines);
    basket(&[3], 2, &mut lines);
    let (_d, out) = run_out(&lines, "2024-02-01", &[]);
    let t = read_parquet(&out.join("top_pairs.parquet"));
    assert_eq!(ints(&t, "product_id"), vec![1, 1, 2, 3]);
    assert_eq!(ints(&t, "partner_id"), vec![2, 3, 1, 1]);
    let rank: Vec<i64> =
        t.column("rank").unwrap().cast(&DataType::Int64).unwrap().i64().unwrap().into_no_null_iter().collect();
    assert_eq!(rank, vec![1, 2, 1, 1]);
    assert_eq!(ints(&t, "pair_orders"), vec![6, 5, 6, 5]);
    let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12);
    assert!(close(&floats(&t, "confidence"), &[6.0 / 11.0, 5.0 / 11.0, 6.0 / 8.0, 5.0 / 9.0]));
    assert!(close(&floats(&t, "lift"), &[90.0 / 88.0, 75.0 / 99.0, 90.0 / 88.0, 75.0 / 99.0]));
}

/// "Rounded like money" is decided in cents: 71.55 over 2 orders is 35.775, a half, so 35.78 (the
/// float nearest 35.775 lies below it, and rounding that float would give 35.77); -0.05 over 2
/// orders is -0.025, so -0.03.
/// (Issue 15.)
#[test]
fn money_averages_round_halves_away_from_zero_in_cents() {
    let (_d, out) = run_out(
        &[
            line(Some(1), 1, "2024-05-01 10:00", 35.0),
            line(Some(1), 2, "2024-05-02 10:00", 36.55),
            line(Some(2), 3, "2024-05-01 10:00", 10.0),
            line(Some(2), 4, "2024-05-02 10:00", 10.0),
            line(Some(2), 5, "2024-05-03 10:00", -20.05),
        ],
        "2024-06-01",
        &[],
    );
    let c = read_parquet(&out.join("customers.parquet")).sort(["customer_id"], Default::default()).unwrap();
    // Customer 2: monetary 10 + 10 - 20.05 = -0.05 over 2 purchase orders.
    assert_eq!(floats(&c, "avg_order_value"), vec![35.78, -0.03]);
    assert_eq!(evergreen::exprs::money_average(71.55, 2, 2), 35.78);
    assert_eq!(evergreen::exprs::money_average(-0.05, 2, 2), -0.03);
    assert_eq!(evergreen::exprs::money_average(1.0, 3, 2), 0.33);
    assert_eq!(evergreen::exprs::money_average(5.0, 0, 2), 0.0);
}
