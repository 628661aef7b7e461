//! Issue 14: trend columns, cohorts, kpis, tiers, profit groups and segment / decile migration.
//! Every expected value below is worked out by hand from the dump in the comments.

use std::path::Path;

use evergreen::config::{CohortPeriod, Tier, Tiers};
use polars::prelude::*;

use crate::common::*;

/// As-of 2024-07-01. Days ago: 06-30 is 1, 06-01 is 30, 05-31 is 31, 05-02 is 60, 05-01 is 61,
/// 03-01 is 122, 01-10 is 173.
///
/// - customer 1: 100 (05-01), 50 (05-31), 20 (06-01), a return order of -5 (06-30): monetary 165
/// - customer 2: 40 and 10 (two orders on 05-02), 30 (06-15) plus a guest line of 7 in that order
/// - customer 3: one order on 06-20 of 200 and a return line of -20: monetary 180
/// - customer 4: 70 (01-10), then 60 (06-25): back after 167 days
/// - customer 5: 25 (03-01), and a future line on 07-01
/// - a guest order of 12 (06-28); order 701 names customers 1 and 2 (rejected)
fn dump_lines() -> Vec<Line> {
    vec![
        line(Some(1), 101, "2024-05-01 10:00", 100.0),
        line(Some(1), 102, "2024-05-31 10:00", 50.0),
        line(Some(1), 103, "2024-06-01 10:00", 20.0),
        line(Some(1), 104, "2024-06-30 10:00", -5.0),
        line(Some(2), 201, "2024-05-02 09:00", 40.0),
        line(Some(2), 202, "2024-05-02 18:00", 10.0),
        line(Some(2), 203, "2024-06-15 10:00", 30.0),
        line(None, 203, "2024-06-15 10:05", 7.0),
        line(Some(3), 301, "2024-06-20 10:00", 200.0),
        line(Some(3), 301, "2024-06-20 10:00", -20.0),
        line(Some(4), 401, "2024-01-10 10:00", 70.0),
        line(Some(4), 402, "2024-06-25 10:00", 60.0),
        line(Some(5), 501, "2024-03-01 10:00", 25.0),
        line(None, 601, "2024-06-28 10:00", 12.0),
        line(Some(1), 701, "2024-06-29 10:00", 99.0),
        line(Some(2), 701, "2024-06-29 10:00", 1.0),
        line(Some(5), 502, "2024-07-01 10:00", 500.0),
    ]
}

fn run_with(lines: &[Line], f: impl FnOnce(&mut evergreen::config::Settings)) -> Run {
    let (_dir, p) = dump(lines);
    let mut s = settings(&p, Some("2024-07-01"));
    f(&mut s);
    compute(s)
}

/// Issue 14.
#[test]
fn trend_columns_hand_worked() {
    let r = run_with(&dump_lines(), |s| s.trends.trend_days = Some(30));
    // (recent_orders, recent_spend, prior_orders, prior_spend, declining)
    let expect = [
        (1, (1, 15.0, 1, 50.0, true)),  // 06-01 and the return in [1, 30]; 05-31 in [31, 60]; 2 x 15 <= 50
        (2, (1, 30.0, 2, 50.0, true)),  // fewer orders than before (the guest line is not theirs)
        (3, (1, 180.0, 0, 0.0, false)), // nothing before: never declining
        (4, (1, 60.0, 0, 0.0, false)),
        (5, (0, 0.0, 0, 0.0, false)),
    ];
    for (id, (ro, rs, po, ps, declining)) in expect {
        let c = r.customer(id);
        assert_eq!((c.i("recent_orders"), c.f("recent_spend"), c.i("prior_orders"), c.f("prior_spend")), (ro, rs, po, ps), "customer {id}");
        assert_eq!(c.get("declining"), AnyValue::Boolean(declining), "customer {id}");
    }
    assert_eq!(r.customer(1).f("orders_change_pct"), 0.0);
    assert_eq!(r.customer(1).f("spend_change_pct"), -70.0);
    assert_eq!(r.customer(2).f("orders_change_pct"), -50.0);
    assert_eq!(r.customer(2).f("spend_change_pct"), -40.0);
    assert!(r.customer(3).is_null("spend_change_pct") && r.customer(3).is_null("orders_change_pct"));
    // The lapsed list (recency > 30: customer 5 only) carries the trend.
    let lapsed = r.table("lapsed_customers");
    assert_eq!(ints(lapsed, "customer_id"), vec![5]);
    for c in ["recent_orders", "recent_spend", "prior_orders", "prior_spend", "spend_change_pct", "declining"] {
        assert!(lapsed.column(c).is_ok(), "lapsed_customers has no {c}");
    }
}

/// Issue 14.
#[test]
fn kpis_hand_worked() {
    let r = run_with(&dump_lines(), |_| {});
    let k = r.table("kpis");
    assert_eq!(k.height(), 1);
    let i = |c: &str| ints(k, c)[0];
    let f = |c: &str| floats(k, c)[0];
    assert_eq!(k.column("as_of").unwrap().get(0).unwrap().to_string(), "2024-07-01");
    assert_eq!((i("window_days"), i("customers")), (30, 5));
    assert_eq!(f("repeat_rate"), 0.6); // customers 1, 2 and 4
    // Recency: 30, 16, 11, 6, 122; only customer 5 is beyond 30, and beyond 120.
    assert_eq!([i("lapsed_30"), i("lapsed_60"), i("lapsed_90"), i("lapsed_120")], [1, 1, 1, 1]);
    // Every kept line: 165 + 80 + 180 + 130 + 25 (customers) + 7 + 12 (guests); not order 701.
    assert_eq!(f("revenue"), 599.0);
    assert_eq!(i("orders"), 11); // purchase orders: all but the return 104 and the rejected 701
    // 599 / 11 = 54.4545…, rounded like money (issue 15).
    assert_eq!(f("avg_order_value"), 54.45);
    assert_eq!(f("revenue_per_customer"), 116.0); // 580 / 5
    assert_eq!((f("guest_revenue"), f("returns")), (19.0, 25.0));
    // The window: orders dated 06-01 ..= 06-30.
    assert_eq!((i("window_active"), i("window_new"), i("window_returning")), (4, 1, 3));
    assert_eq!(i("window_reactivated"), 1); // customer 4: 167 days > 120 between purchase days
    assert_eq!(f("window_repeat_rate"), 0.0); // one purchase order each in the window (104 is a return)
    assert_eq!(f("window_revenue"), 304.0); // 20 - 5 + 30 + 7 + 200 - 20 + 60 + 12
    assert_eq!(i("window_orders"), 5);
    assert_eq!(f("window_avg_order_value"), 60.8);
    assert_eq!(f("window_revenue_per_customer"), 71.25); // (15 + 30 + 180 + 60) / 4
    assert_eq!((f("window_guest_revenue"), f("window_returns")), (19.0, 25.0));
    // Issue 15: the manifest reconciles the same money (order 104 is the one kept non-purchase).
    let rc = r.counts.revenue.as_ref().expect("counts.revenue");
    assert_eq!((rc.total, rc.customers, rc.guests, rc.returns, rc.non_purchase_orders), (599.0, 580.0, 19.0, 25.0, 1));
}

/// Issue 14.
#[test]
fn cohorts_hand_worked() {
    let r = run_with(&dump_lines(), |_| {});
    let c = r.table("cohorts");
    let cohort: Vec<String> = c.column("cohort").unwrap().cast(&DataType::String).unwrap().str().unwrap().iter().map(|v| v.unwrap().to_string()).collect();
    let rows: Vec<(String, i64, i64, i64, f64)> = (0..c.height())
        .map(|k| {
            (cohort[k].clone(), ints(c, "period_index")[k], ints(c, "cohort_customers")[k], ints(c, "active_customers")[k], floats(c, "revenue")[k])
        })
        .collect();
    let row = |m: &str, k: i64, n: i64, a: i64, rev: f64| (m.to_string(), k, n, a, rev);
    assert_eq!(
        rows,
        vec![
            // Customer 4: January, back in June (period 5).
            row("2024-01-01", 0, 1, 1, 70.0),
            row("2024-01-01", 1, 1, 0, 0.0),
            row("2024-01-01", 2, 1, 0, 0.0),
            row("2024-01-01", 3, 1, 0, 0.0),
            row("2024-01-01", 4, 1, 0, 0.0),
            row("2024-01-01", 5, 1, 1, 60.0),
            row("2024-03-01", 0, 1, 1, 25.0),
            row("2024-03-01", 1, 1, 0, 0.0),
            row("2024-03-01", 2, 1, 0, 0.0),
            row("2024-03-01", 3, 1, 0, 0.0),
            // Customers 1 and 2; June holds customer 1's return.
            row("2024-05-01", 0, 2, 2, 200.0),
            row("2024-05-01", 1, 2, 2, 45.0),
            row("2024-06-01", 0, 1, 1, 180.0),
        ]
    );
    assert_eq!(floats(c, "retention")[5], 1.0);
    assert_eq!(floats(c, "revenue_per_customer")[11], 22.5);
    // Weeks: customer 3's cohort is the week of Monday 2024-06-17, and 06-30 (a Sunday) is in
    // the week of 06-24: two rows.
    let w = run_with(&dump_lines(), |s| s.trends.cohort_period = Some(CohortPeriod::Week));
    let wc = w.table("cohorts");
    let starts: Vec<String> = wc.column("cohort").unwrap().cast(&DataType::String).unwrap().str().unwrap().iter().map(|v| v.unwrap().to_string()).collect();
    let last: Vec<&str> = starts.iter().map(String::as_str).filter(|s| *s == "2024-06-17").collect();
    assert_eq!(last.len(), 2);
    let first = starts.iter().position(|s| s == "2024-01-08").expect("customer 4's week of Monday 01-08");
    assert_eq!(ints(wc, "period_index")[first], 0);
}

/// Issue 14.
#[test]
fn tiers_first_match_in_order() {
    let r = run_with(&dump_lines(), |s| {
        s.trends.tiers = Some(Tiers(vec![
            Tier { name: "gold".into(), monetary: Some(150.0), frequency: Some(3) },
            Tier { name: "silver".into(), monetary: Some(100.0), frequency: None },
        ]))
    });
    assert_eq!(r.customer(1).s("tier"), "gold"); // 165 and 3 orders
    assert_eq!(r.customer(3).s("tier"), "silver"); // 180, one order
    assert_eq!(r.customer(4).s("tier"), "silver");
    assert!(r.customer(2).is_null("tier") && r.customer(5).is_null("tier"));
    // The config file's [tiers] keeps the order written, not the alphabet.
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("e.toml");
    std::fs::write(&toml, "[tiers]\nsilver = {monetary = 100}\ngold = {monetary = 150, frequency = 3}\n").unwrap();
    let s = evergreen::config::Settings::from_toml_file(&toml).unwrap();
    let names: Vec<String> = s.trends.tiers.unwrap().0.into_iter().map(|t| t.name).collect();
    assert_eq!(names, ["silver", "gold"]);
    // A tier without a threshold is refused.
    let (_d, p) = dump(&dump_lines());
    let mut s = settings(&p, None);
    s.trends.tiers = Some(Tiers(vec![Tier { name: "vip".into(), monetary: None, frequency: None }]));
    assert!(s.resolve().unwrap_err().to_string().contains("`vip` has no threshold"));
}

/// Issue 14.
#[test]
fn profit_deciles_and_groups() {
    // Five customers, one order of 100 each; profit 40, 30, 12, 10, 8 (total 100). Customer 3's
    // order is in the prior 30 days only: declining.
    let ts = ["2024-06-20 10:00", "2024-06-20 10:00", "2024-05-15 10:00", "2024-06-20 10:00", "2024-06-20 10:00"];
    let mut df = df!(
        "customer_id" => [1i64, 2, 3, 4, 5],
        "order_id" => [1i64, 2, 3, 4, 5],
        "ts" => ts.iter().map(|t| micros(t)).collect::<Vec<_>>(),
        "amount" => [100.0; 5],
        "cost" => [60.0, 70.0, 88.0, 90.0, 92.0],
    )
    .unwrap();
    df.apply("ts", |s| s.cast(&DataType::Datetime(TimeUnit::Microseconds, None)).unwrap()).unwrap();
    let (_d, p) = dump_frame(&mut df);
    let mut s = settings(&p, Some("2024-07-01"));
    s.trends.trend_days = Some(30);
    let r = compute(s);
    // 40: nothing before it, top. 30: 40 before (< 50), next. 12: 70 before, declining.
    let groups: Vec<Option<String>> =
        (1..=5).map(|id| (!r.customer(id).is_null("profit_group")).then(|| r.customer(id).s("profit_group"))).collect();
    assert_eq!(groups, [Some("top".into()), Some("next".into()), Some("declining".into()), None, None]);
    let d = r.table("profit_deciles");
    assert_eq!(ints(d, "decile"), [1, 3, 5, 7, 9]);
    assert_eq!(floats(d, "profit"), [40.0, 30.0, 12.0, 10.0, 8.0]);
    // Shares of the rounded sums (to the last bit of a double).
    let close = |got: Vec<f64>, want: [f64; 5]| got.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-15);
    assert!(close(floats(d, "profit_share"), [0.4, 0.3, 0.12, 0.1, 0.08]));
    assert!(close(floats(d, "cumulative_profit_share"), [0.4, 0.7, 0.82, 0.92, 1.0]));
}

/// `evergreen ARGS`; its exit code and stderr.
fn cli(args: &[&str]) -> (i32, String) {
    let o = bin().args(args).output().unwrap();
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stderr).to_string())
}

fn text_column(df: &DataFrame, c: &str) -> Vec<String> {
    df.column(c).unwrap().cast(&DataType::String).unwrap().str().unwrap().iter().map(|v| v.unwrap().to_string()).collect()
}

/// Issue 14.
#[test]
fn migration_between_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut a = frame(&dump_lines());
    // The later dump has lost customer 5: gone.
    let later: Vec<Line> = dump_lines().into_iter().filter(|l| l.customer != Some(5)).collect();
    let mut b = frame(&later);
    write_parquet(&mut a, &root.join("a.parquet"));
    write_parquet(&mut b, &root.join("b.parquet"));
    let p = |n: &str| root.join(n).display().to_string();
    assert_eq!(cli(&["run", "-q", "-i", &p("a.parquet"), "-o", &p("snap"), "--partition-by-as-of", "--as-of", "2024-06-01"]).0, 0);
    // run --compare-with a root: its latest partition before this run's as-of.
    let (code, err) = cli(&["run", "-q", "-i", &p("b.parquet"), "-o", &p("snap"), "--partition-by-as-of", "--as-of", "2024-07-01", "--compare-with", &p("snap")]);
    assert_eq!(code, 0, "{err}");
    let later_dir = root.join("snap/as_of=2024-07-01");
    // Monetary before: 1: 150, 4: 70, 2: 50, 5: 25 -> deciles 1, 3, 6, 8. After: 3: 180, 1: 165,
    // 4: 130, 2: 80 -> 1, 3, 6, 8.
    let d = read_parquet(&later_dir.join("decile_migration.parquet"));
    assert_eq!(text_column(&d, "from_decile"), ["new", "1", "3", "6", "8"]);
    assert_eq!(text_column(&d, "to_decile"), ["1", "3", "6", "8", "gone"]);
    assert_eq!(floats(&d, "revenue_before"), [0.0, 150.0, 70.0, 50.0, 25.0]);
    assert_eq!(floats(&d, "revenue_after"), [180.0, 165.0, 130.0, 80.0, 0.0]);
    assert_eq!(ints(&d, "customers"), [1, 1, 1, 1, 1]);
    let s = read_parquet(&later_dir.join("segment_migration.parquet"));
    assert_eq!(ints(&s, "customers").iter().sum::<i64>(), 5); // 1, 2 and 4 stayed, 3 new, 5 gone
    let new_rows: Vec<usize> = text_column(&s, "from_segment").iter().enumerate().filter(|(_, v)| *v == "new").map(|(k, _)| k).collect();
    assert_eq!(new_rows.len(), 1);
    assert_eq!(floats(&s, "revenue_after")[new_rows[0]], 180.0);
    // `evergreen compare` on the two partitions gives the same bytes.
    let (code, err) = cli(&["compare", "--from", &p("snap/as_of=2024-06-01"), "--to", &p("snap/as_of=2024-07-01"), "-o", &p("cmp")]);
    assert_eq!(code, 0, "{err}");
    for t in ["segment_migration", "decile_migration"] {
        let f = format!("{t}.parquet");
        assert_eq!(std::fs::read(root.join("cmp").join(&f)).unwrap(), std::fs::read(later_dir.join(&f)).unwrap(), "{t}");
    }
    // Refused: the wrong order, other bins, another segment map; nothing written.
    let (code, err) = cli(&["compare", "--from", &p("snap/as_of=2024-07-01"), "--to", &p("snap/as_of=2024-06-01"), "-o", &p("no1")]);
    assert_eq!(code, 2);
    assert!(err.contains("is not before") && err.lines().count() == 1, "{err}");
    let map = any_segment_map(root, 4);
    assert_eq!(cli(&["run", "-q", "-i", &p("b.parquet"), "-o", &p("b4"), "--bins", "4", "--segment-map", map.to_str().unwrap()]).0, 0);
    let (code, err) = cli(&["compare", "--from", &p("snap/as_of=2024-06-01"), "--to", &p("b4"), "-o", &p("no2")]);
    assert_eq!(code, 2);
    assert!(err.contains("bins 5") && err.contains("bins 4"), "{err}");
    let map5 = any_segment_map(root, 5);
    assert_eq!(cli(&["run", "-q", "-i", &p("b.parquet"), "-o", &p("b5"), "--segment-map", map5.to_str().unwrap()]).0, 0);
    let (code, err) = cli(&["compare", "--from", &p("snap/as_of=2024-06-01"), "--to", &p("b5"), "-o", &p("no3")]);
    assert_eq!(code, 2);
    assert!(err.contains("segment map"), "{err}");
    for n in ["no1", "no2", "no3"] {
        assert!(!Path::new(&p(n)).exists(), "{n} was written");
    }
}

/// Issue 14.
#[test]
fn same_tables_from_both_local_engines() {
    let dir = tempfile::tempdir().unwrap();
    let mut df = frame(&dump_lines());
    let input = dir.path().join("d.parquet");
    write_parquet(&mut df, &input);
    let out = |n: &str| dir.path().join(n).display().to_string();
    let args = ["run", "-q", "-i", input.to_str().unwrap(), "--as-of", "2024-07-01", "--trend-days", "30", "--tier", "gold:monetary=150"];
    assert_eq!(cli(&[&args[..], &["-o", &out("mem"), "--engine", "memory"]].concat()).0, 0);
    assert_eq!(cli(&[&args[..], &["-o", &out("part"), "--engine", "partitioned", "--partitions", "3"]].concat()).0, 0);
    for t in ["customers", "cohorts", "kpis", "lapsed_customers", "customer_tags"] {
        let f = format!("{t}.parquet");
        assert_eq!(std::fs::read(dir.path().join("mem").join(&f)).unwrap(), std::fs::read(dir.path().join("part").join(&f)).unwrap(), "{t}");
    }
}

/// A line of [`tag_frame`]: customer, order, time, amount, product, discount.
type TagLine = (i64, i64, &'static str, f64, i64, Option<f64>);

/// Tags, basket sizes and discounts on one small dump (as-of 2024-07-01, kpi window 30 days):
///
/// - customer 1: orders 1 (products 7, 8, 9; 60) and 2 (product 7; 40), both in May: three
///   distinct products, then one: avg_basket_items 2; discount 10 + 0 + 0 + 30 = 40, so
///   discount_share = 40 / (100 + 40)
/// - customer 2: one order on 06-20 (product 7 on two lines; 20): a one-timer and new, 1 item
/// - customer 3: orders in January and March (product 8; 10 each), no discount column value (null)
/// - customer 4: orders on 06-01 and 06-02 (product 9; 300 and 200)
fn tag_frame() -> DataFrame {
    let rows: [TagLine; 9] = [
        (1, 1, "2024-05-10 10:00", 20.0, 7, Some(10.0)),
        (1, 1, "2024-05-10 10:00", 20.0, 8, Some(0.0)),
        (1, 1, "2024-05-10 10:00", 20.0, 9, None),
        (1, 2, "2024-05-20 10:00", 40.0, 7, Some(30.0)),
        (2, 3, "2024-06-20 10:00", 10.0, 7, None),
        (2, 3, "2024-06-20 10:00", 10.0, 7, None),
        (3, 4, "2024-01-15 10:00", 10.0, 8, None),
        (3, 5, "2024-03-15 10:00", 10.0, 8, None),
        (4, 6, "2024-06-01 10:00", 300.0, 9, Some(0.0)),
    ];
    let mut rows = rows.to_vec();
    rows.push((4, 7, "2024-06-02 10:00", 200.0, 9, Some(0.0)));
    let mut df = df!(
        "customer_id" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        "order_id" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        "ts" => rows.iter().map(|r| micros(r.2)).collect::<Vec<_>>(),
        "amount" => rows.iter().map(|r| r.3).collect::<Vec<_>>(),
        "product_id" => rows.iter().map(|r| r.4).collect::<Vec<_>>(),
        "disc" => rows.iter().map(|r| r.5).collect::<Vec<_>>(),
    )
    .unwrap();
    df.apply("ts", |s| s.cast(&DataType::Datetime(TimeUnit::Microseconds, None)).unwrap()).unwrap();
    df
}

/// Issue 14.
#[test]
fn basket_sizes_discounts_and_tags() {
    let (_d, p) = dump_frame(&mut tag_frame());
    let mut s = settings(&p, Some("2024-07-01"));
    s.columns.discount = Some("disc".into());
    let r = compute(s);
    let avg: Vec<f64> = (1..=4).map(|id| r.customer(id).f("avg_basket_items")).collect();
    assert_eq!(avg, [2.0, 1.0, 1.0, 1.0]);
    assert_eq!(r.customer(1).f("discount"), 40.0);
    assert_eq!(r.customer(1).f("discount_share"), 40.0 / 140.0);
    assert_eq!(r.customer(3).f("discount_share"), 0.0); // null discounts are none
    // Four customers: the top 10 % is rank 1 only (rank x 10 <= 4 never holds for rank >= 1...
    // 1 x 10 > 4): no high AOV, no big basket. Frequency ranks: 2 (rank 1, score 1), 1, 3, 4
    // share rank 2: 1 + floor(5 x 1 / 4) = 2; only the top score 5 is frequent: nobody.
    let t = r.table("customer_tags");
    let got: Vec<(i64, String)> = ints(t, "customer_id").into_iter().zip(text_column(t, "tag")).collect();
    let want: Vec<(i64, String)> = [
        // Customer 1: 140 of list price, 40 discounted (0.29 >= 0.25); recency 42 > 30 and
        // monetary decile 1 or 2 (100 is second of 4: decile 1 + floor(10 x 1 / 4) = 3): no.
        (1, "deal_seeker"),
        (2, "new"),
        (2, "one_timer"),
        // Customer 3: both orders (168 and 108 days ago) in the prior 90 days (91..=180), none
        // since: declining. Monetary 20 (fourth): decile 8, not lapsing high value.
        (3, "declining"),
        // Customer 4: first bought 06-01, 30 days before as-of: new (tenure <= 30); decile 1,
        // but last bought 29 days ago: not lapsing.
        (4, "new"),
    ]
    .into_iter()
    .map(|(c, t)| (c, t.to_string()))
    .collect();
    assert_eq!(got, want);
    // The list-price form: discount = list price - amount.
    let mut df = tag_frame();
    df.with_column(Column::new("list".into(), [25.0, 20.0, 20.0, 40.0, 10.0, 10.0, 10.0, 10.0, 300.0, 200.0])).unwrap();
    let (_d2, p2) = dump_frame(&mut df);
    let mut s = settings(&p2, Some("2024-07-01"));
    s.columns.list_price = Some("list".into());
    let r = compute(s);
    assert_eq!(r.customer(1).f("discount"), 5.0);
    assert_eq!(r.customer(1).f("discount_share"), 5.0 / 105.0);
    // Both at once: refused.
    let mut s = settings(&p2, None);
    s.columns.list_price = Some("list".into());
    s.columns.discount = Some("disc".into());
    assert!(s.resolve().unwrap_err().to_string().contains("not both"));
}

/// Issue 14.
#[test]
fn tags_at_the_top_tenth() {
    // Ten customers, one order each on 05-01 (61 days before as-of): customer k spends 10 x k over
    // k distinct products. The top tenth is rank 1: customer 10 is high AOV and big basket; the
    // monetary deciles 1 and 2 are customers 10 and 9, lapsing (61 > 30).
    let mut lines = Vec::new();
    for k in 1..=10i64 {
        for item in 0..k {
            lines.push(pline(Some(k), k, "2024-05-01 10:00", 10.0, item));
        }
    }
    let r = run_lines(&lines, Some("2024-07-01"));
    let t = r.table("customer_tags");
    let tagged = |tag: &str| -> Vec<i64> {
        ints(t, "customer_id").into_iter().zip(text_column(t, "tag")).filter(|(_, g)| g == tag).map(|(c, _)| c).collect()
    };
    assert_eq!(tagged("high_aov"), [10]);
    assert_eq!(tagged("big_basket"), [10]);
    assert_eq!(tagged("lapsing_high_value"), [9, 10]);
    assert_eq!(tagged("one_timer"), (1..=10).collect::<Vec<_>>());
    // Everyone has frequency 1: one rank, score 1; nobody is frequent.
    assert!(tagged("frequent").is_empty());
}

/// Issue 14.
#[test]
fn period_arithmetic_matches_the_calendar() {
    use chrono::{Datelike, Duration, NaiveDate};
    use evergreen::tables::activity::{period_index, period_start};
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    for day in (-800_000i64..800_000).step_by(37) {
        let d = epoch + Duration::days(day);
        let m = period_index(day, CohortPeriod::Month);
        assert_eq!(m, (i64::from(d.year()) - 1970) * 12 + i64::from(d.month0()), "{d}");
        let first = NaiveDate::from_ymd_opt(d.year(), d.month(), 1).unwrap();
        assert_eq!(period_start(m, CohortPeriod::Month), (first - epoch).num_days(), "{d}");
        let w = period_index(day, CohortPeriod::Week);
        let monday = d - Duration::days(i64::from(d.weekday().num_days_from_monday()));
        assert_eq!(period_start(w, CohortPeriod::Week), (monday - epoch).num_days(), "{d}");
    }
    // The farthest days a microsecond timestamp holds (beyond chrono's calendar): no panic.
    for day in [i64::MIN / 86_400_000_000, i64::MAX / 86_400_000_000] {
        for p in [CohortPeriod::Month, CohortPeriod::Week] {
            let k = period_index(day, p);
            assert!(period_start(k, p) <= day && day - period_start(k, p) < 31);
        }
    }
}

/// Issue 14.
#[test]
fn scheduled_compare_edges() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut a = frame(&dump_lines());
    write_parquet(&mut a, &root.join("a.parquet"));
    let p = |n: &str| root.join(n).display().to_string();
    // A query of the analyst's reads the migration tables.
    std::fs::create_dir(root.join("q")).unwrap();
    std::fs::write(root.join("q/moved.sql"), "SELECT to_segment, SUM(customers) AS n FROM segment_migration GROUP BY to_segment").unwrap();
    let sched = |as_of: &str| {
        cli(&["run", "-i", &p("a.parquet"), "-o", &p("snap"), "--partition-by-as-of", "--as-of", as_of, "--compare-with", &p("snap"), "--queries", &p("q")])
    };
    // First scheduled run: the root does not exist yet; a warning, no migration tables, and the
    // query on them fails (exit 4), nothing written. Without the query the run succeeds.
    let (code, err) = sched("2024-06-01");
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("moved.sql"), "{err}");
    assert!(!root.join("snap/as_of=2024-06-01").exists());
    let (code, err) = cli(&["run", "-i", &p("a.parquet"), "-o", &p("snap"), "--partition-by-as-of", "--as-of", "2024-06-01", "--compare-with", &p("snap")]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("no complete as_of partition before 2024-06-01"), "{err}");
    assert!(!root.join("snap/as_of=2024-06-01/segment_migration.parquet").exists());
    // The next run compares with it, and the query reads the result.
    let (code, err) = sched("2024-07-01");
    assert_eq!(code, 0, "{err}");
    let moved = read_parquet(&root.join("snap/as_of=2024-07-01/moved.parquet"));
    assert_eq!(ints(&moved, "n").iter().sum::<i64>(), 5);
    let m = manifest(&root.join("snap/as_of=2024-07-01"));
    assert!(m["compared_with"].as_str().unwrap().ends_with("as_of=2024-06-01"));
    // A snapshot path that does not exist (and is not the run's own root): exit 3.
    let (code, _) = cli(&["run", "-q", "-i", &p("a.parquet"), "-o", &p("x"), "--compare-with", &p("nowhere")]);
    assert_eq!(code, 3);
    // compare never writes over a run's tables.
    let (code, err) = cli(&["compare", "--from", &p("snap/as_of=2024-06-01"), "--to", &p("snap/as_of=2024-07-01"), "-o", &p("snap/as_of=2024-06-01")]);
    assert_eq!(code, 5, "{err}");
    assert!(root.join("snap/as_of=2024-06-01/customers.parquet").exists());
    // --tier belongs to run.
    assert_eq!(cli(&["basket", "-i", &p("a.parquet"), "-o", &p("b"), "--tier", "gold:monetary=1"]).0, 2);
}

/// Issue 14.
#[test]
fn discounts_keep_to_the_money_range() {
    let mut df = frame(&dump_lines());
    df.with_column(Column::new("disc".into(), (0..df.height()).map(|k| if k == 3 { 1e300 } else { 1.0 }).collect::<Vec<f64>>())).unwrap();
    let (_d, p) = dump_frame(&mut df);
    let out = p.parent().unwrap().join("out");
    for engine in ["memory", "partitioned"] {
        let (code, err) = cli(&["run", "-i", p.to_str().unwrap(), "-o", out.to_str().unwrap(), "--discount-col", "disc", "--engine", engine]);
        assert_eq!(code, 4, "{engine}: {err}");
        assert!(err.contains("`disc`") || err.contains("disc"), "{err}");
        assert!(!out.exists());
    }
}
