//! Issue 16: `evergreen report`, one self-contained HTML page. The embedded JSON is checked value by
//! value against the Parquet tables (each expected value recomputed here from the table's rows with
//! plain loops), the page is opened in a real headless Chromium (screenshot, console, chart sizes,
//! print to PDF), and the refusals leave nothing behind.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use crate::common::*;
use polars::prelude::*;
use serde_json::Value;

fn ok(o: std::process::Output) -> std::process::Output {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o
}

/// `evergreen run` of the transactions sample (with CLV) into `dir/NAME`.
fn sample_run(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join(name);
    ok(bin()
        .args(["run", "-q", "-i", "data-samples/transactions.parquet", "-o"])
        .arg(&out)
        .args(extra)
        .output()
        .unwrap());
    out
}

fn report(tables: &Path, page: &Path) -> std::process::Output {
    bin().args(["report", "-q", "--tables"]).arg(tables).arg("--out").arg(page).output().unwrap()
}

/// The page's embedded JSON block.
fn data(page: &Path) -> Value {
    let html = std::fs::read_to_string(page).unwrap();
    let open = r#"<script type="application/json" id="evergreen-data">"#;
    let start = html.find(open).expect("the data block") + open.len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).expect("the data block is JSON")
}

fn chart<'a>(d: &'a Value, id: &str) -> &'a Vec<Value> {
    let c = d["charts"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("no chart {id}"));
    c["rows"].as_array().unwrap()
}

fn has_chart(d: &Value, id: &str) -> bool {
    d["charts"].as_array().unwrap().iter().any(|c| c["id"] == id)
}

fn close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{what}: page {a}, table {b}");
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

fn i(v: &Value) -> i64 {
    v.as_i64().unwrap()
}

fn strings(df: &DataFrame, c: &str) -> Vec<String> {
    let s = df.column(c).unwrap().cast(&DataType::String).unwrap();
    s.str().unwrap().iter().map(|v| v.unwrap_or("").to_string()).collect()
}

/// Money summed in cents, as the tables' money is (two decimals).
fn cents(v: f64) -> i64 {
    (v * 100.0).round() as i64
}

/// Issue 16.
#[test]
fn every_charted_value_matches_the_tables() {
    let dir = tempfile::tempdir().unwrap();
    let out = sample_run(dir.path(), "out", &["--clv"]);
    let page = dir.path().join("report.html");
    ok(report(&out, &page));
    let d = data(&page);
    let html = std::fs::read_to_string(&page).unwrap();
    let t = |name: &str| read_parquet(&out.join(format!("{name}.parquet")));

    // Headline: counts from the customers' own rows, money from kpis and monetary_deciles.
    let customers = t("customers");
    let kpis = t("kpis");
    let h = &d["headline"];
    assert_eq!(i(&h["customers"]), customers.height() as i64);
    assert_eq!(i(&h["orders"]), ints(&kpis, "orders")[0]);
    close(f(&h["revenue"]), floats(&kpis, "revenue")[0], "revenue");
    let md = t("monetary_deciles");
    close(f(&h["top10_revenue_share"]), floats(&md, "cumulative_revenue_share")[0], "top 10 %");
    close(f(&h["top20_revenue_share"]), floats(&md, "cumulative_revenue_share")[1], "top 20 %");
    let recency = ints(&customers, "recency_days");
    let lapsed: Vec<(i64, i64)> =
        h["lapsed"].as_array().unwrap().iter().map(|l| (i(&l["days"]), i(&l["customers"]))).collect();
    assert_eq!(lapsed.iter().map(|l| l.0).collect::<Vec<_>>(), vec![30, 60, 90, 120]);
    for (days, n) in lapsed {
        assert_eq!(n, recency.iter().filter(|r| **r > days).count() as i64, "lapsed over {days}");
    }
    assert_eq!(d["as_of"], "2025-01-19");
    assert_eq!(i(&h["lines_read"]), 57527);

    // Revenue concentration: purchase_deciles in decile order, and their running sums.
    let pd = t("purchase_deciles");
    let rows = chart(&d, "revenue_concentration");
    assert_eq!(rows.len(), pd.height());
    let (mut cc, mut cr) = (0.0, 0.0);
    for (k, r) in rows.iter().enumerate() {
        assert_eq!(i(&r["decile"]), ints(&pd, "decile")[k]);
        assert_eq!(i(&r["customers"]), ints(&pd, "customers")[k]);
        close(f(&r["customer_share"]), floats(&pd, "customer_share")[k], "customer_share");
        close(f(&r["revenue_share"]), floats(&pd, "revenue_share")[k], "revenue_share");
        cc += floats(&pd, "customer_share")[k];
        cr += floats(&pd, "revenue_share")[k];
        close(f(&r["cumulative_customer_share"]), cc, "cumulative customers");
        close(f(&r["cumulative_revenue_share"]), cr, "cumulative revenue");
    }
    assert!((cr - 1.0).abs() < 1e-9, "the curve ends at 100 %");

    // Monetary deciles: the table's rows.
    let rows = chart(&d, "monetary_deciles");
    assert_eq!(rows.len(), 10);
    for (k, r) in rows.iter().enumerate() {
        for c in ["revenue", "revenue_share", "cumulative_revenue_share"] {
            close(f(&r[c]), floats(&md, c)[k], c);
        }
        assert_eq!(i(&r["customers"]), ints(&md, "customers")[k]);
    }

    // R × F: every cell's customers and revenue, from the customers' rows.
    let (rs, fs, money) = (ints(&customers, "r_score"), ints(&customers, "f_score"), floats(&customers, "monetary"));
    let mut cells: BTreeMap<(i64, i64), (i64, i64)> = BTreeMap::new();
    for k in 0..customers.height() {
        let e = cells.entry((rs[k], fs[k])).or_default();
        e.0 += 1;
        e.1 += cents(money[k]);
    }
    let rows = chart(&d, "rf_heatmap");
    assert_eq!(rows.len(), cells.len());
    for r in rows {
        let (n, c) = cells[&(i(&r["r_score"]), i(&r["f_score"]))];
        assert_eq!(i(&r["customers"]), n);
        assert_eq!(cents(f(&r["revenue"])), c, "revenue of cell {r}");
    }

    // Segments: segment_summary in segment order.
    let ss = t("segment_summary");
    let mut order: Vec<usize> = (0..ss.height()).collect();
    order.sort_by_key(|k| ints(&ss, "segment_order")[*k]);
    let rows = chart(&d, "segments");
    assert_eq!(rows.len(), ss.height());
    for (r, k) in rows.iter().zip(order) {
        assert_eq!(r["segment"].as_str().unwrap(), strings(&ss, "segment")[k]);
        assert_eq!(i(&r["customers"]), ints(&ss, "customers")[k]);
        for c in ["customer_share", "revenue", "revenue_share"] {
            close(f(&r[c]), floats(&ss, c)[k], c);
        }
    }
    assert_eq!(chart(&d, "segments")[0]["segment"], "Champions");

    // Lapse buckets: customers and revenue per bucket, in bucket order.
    let (buckets, border) = (strings(&customers, "lapse_bucket"), ints(&customers, "lapse_bucket_order"));
    let mut per: BTreeMap<i64, (String, i64, i64)> = BTreeMap::new();
    for k in 0..customers.height() {
        let e = per.entry(border[k]).or_insert((buckets[k].clone(), 0, 0));
        e.1 += 1;
        e.2 += cents(money[k]);
    }
    let rows = chart(&d, "lapse_buckets");
    let got: Vec<(String, i64, i64)> = rows
        .iter()
        .map(|r| (r["lapse_bucket"].as_str().unwrap().to_string(), i(&r["customers"]), cents(f(&r["revenue"]))))
        .collect();
    assert_eq!(got, per.into_values().collect::<Vec<_>>());
    assert_eq!(got[0].0, "0-30");

    // Strongest pairs (issue 26): every unordered pair of top_pairs once, by orders beyond chance
    // (pair_orders − pair_orders / lift), then orders, then lift, first 15.
    let tp = t("top_pairs");
    let (a, b, po, lift) =
        (ints(&tp, "product_id"), ints(&tp, "partner_id"), ints(&tp, "pair_orders"), floats(&tp, "lift"));
    let mut seen = HashSet::new();
    let mut pairs: Vec<(i64, i64, i64, f64)> = (0..tp.height())
        .filter(|k| seen.insert((a[*k].min(b[*k]), a[*k].max(b[*k]))))
        .map(|k| (a[k].min(b[k]), a[k].max(b[k]), po[k], lift[k]))
        .collect();
    let beyond = |p: &(i64, i64, i64, f64)| p.2 as f64 - p.2 as f64 / p.3;
    pairs.sort_by(|x, y| {
        beyond(y).total_cmp(&beyond(x)).then(y.2.cmp(&x.2)).then(y.3.total_cmp(&x.3)).then(x.0.cmp(&y.0)).then(x.1.cmp(&y.1))
    });
    let rows = chart(&d, "top_pairs");
    assert_eq!(rows.len(), 15);
    for (r, p) in rows.iter().zip(&pairs) {
        let (x, y) = (i(&r["product_id"]), i(&r["partner_id"]));
        assert_eq!((x.min(y), x.max(y)), (p.0, p.1));
        assert_eq!(i(&r["pair_orders"]), p.2);
        close(f(&r["lift"]), p.3, "lift");
    }
    let c = d["charts"].as_array().unwrap().iter().find(|c| c["id"] == "top_pairs").unwrap();
    assert_eq!(i(&c["total_rows"]), tp.height() as i64);
    assert!(c["cap_note"].as_str().unwrap().contains("15 pairs"));

    // CLV by decile, and P(alive) by recency band.
    let clv = t("clv");
    let (dec, value) = (ints(&clv, "clv_decile"), floats(&clv, "clv"));
    let mut per: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for k in 0..clv.height() {
        let e = per.entry(dec[k]).or_default();
        e.0 += 1;
        e.1 += cents(value[k]);
    }
    let rows = chart(&d, "clv_deciles");
    assert_eq!(
        rows.iter()
            .map(|r| (i(&r["clv_decile"]), (i(&r["customers"]), cents(f(&r["clv"])))))
            .collect::<BTreeMap<_, _>>(),
        per
    );
    for r in rows {
        let these: Vec<f64> = (0..clv.height()).filter(|k| dec[*k] == i(&r["clv_decile"])).map(|k| value[k]).collect();
        close(f(&r["min_clv"]), these.iter().copied().fold(f64::INFINITY, f64::min), "min_clv");
        close(f(&r["max_clv"]), these.iter().copied().fold(f64::NEG_INFINITY, f64::max), "max_clv");
        close(f(&r["avg_clv"]), f(&r["clv"]) / these.len() as f64, "avg_clv");
    }
    let (rec, alive) = (ints(&clv, "recency_days"), floats(&clv, "p_alive"));
    let buy = floats(&clv, "p_purchase_90");
    let rows = chart(&d, "p_alive_recency");
    let width = i(&rows[0]["recency_to"]) - i(&rows[0]["recency_from"]) + 1;
    // Bands of the smallest round width (1, 2, 5 × 10^k days) giving at most 15 bands over 0..=max.
    let max = *rec.iter().max().unwrap();
    let round = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
    let want = *round.iter().find(|w| (max + 1) as f64 / **w as f64 <= 15.0).unwrap();
    assert_eq!(width, want, "band width for recency up to {max}");
    assert_eq!(rows.iter().map(|r| i(&r["customers"])).sum::<i64>(), clv.height() as i64);
    for r in rows {
        let from = i(&r["recency_from"]);
        let inside: Vec<f64> =
            (0..clv.height()).filter(|k| rec[*k] >= from && rec[*k] < from + width).map(|k| alive[k]).collect();
        assert_eq!(i(&r["customers"]), inside.len() as i64);
        close(f(&r["mean_p_alive"]), inside.iter().sum::<f64>() / inside.len() as f64, "mean p_alive");
        // Issue 31: beside P(alive), the band's mean chance of a purchase in the next 90 days.
        let p90: Vec<f64> = (0..clv.height()).filter(|k| rec[*k] >= from && rec[*k] < from + width).map(|k| buy[k]).collect();
        close(f(&r["mean_p_purchase_90"]), p90.iter().sum::<f64>() / p90.len() as f64, "mean p_purchase_90");
        assert!(f(&r["mean_p_purchase_90"]) <= f(&r["mean_p_alive"]) + 1e-12);
    }

    // Cohorts: the table's rows (the sample has 12 cohorts, under the cap of 24).
    let co = t("cohorts");
    let rows = chart(&d, "cohort_retention");
    assert_eq!(rows.len(), co.height());
    let table: BTreeMap<(String, i64), f64> = (0..co.height())
        .map(|k| ((strings(&co, "cohort")[k].clone(), ints(&co, "period_index")[k]), floats(&co, "retention")[k]))
        .collect();
    for r in rows {
        close(
            f(&r["retention"]),
            table[&(r["cohort"].as_str().unwrap().to_string(), i(&r["period_index"]))],
            "retention",
        );
    }

    // Every chart is drawn, and the page fetches nothing.
    for c in d["charts"].as_array().unwrap() {
        assert!(html.contains(&format!("data-chart=\"{}\"", c["id"].as_str().unwrap())), "{} drawn", c["id"]);
    }
    assert_eq!(d["charts"].as_array().unwrap().len(), 9, "no migration or kpi series in one plain output");
    for needle in [" src=", "href=", "url(", "@import", "<link", "http://", "https://"] {
        let hits = html.matches(needle).count();
        // The namespace, and the hatch of a partial cohort period (issue 26): a fragment of the page.
        let allowed = match needle {
            "http://" => html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count(),
            "url(" => html.matches("url(#").count(),
            _ => 0,
        };
        assert_eq!(hits, allowed, "the page must load nothing, found {needle}");
    }
    assert!(html.len() < 2 * 1024 * 1024);
}

/// Issue 16.
#[test]
fn a_partition_root_gives_kpi_lines_and_segment_movement() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let page = dir.path().join("root.html");
    for as_of in ["2024-10-01", "2024-12-01", "2025-01-19"] {
        let mut args = vec!["--partition-by-as-of", "--as-of", as_of, "--compare-with", root.to_str().unwrap()];
        if as_of == "2025-01-19" {
            // The last scheduled run writes the report of the whole root.
            args.extend(["--report", page.to_str().unwrap()]);
        }
        sample_run(dir.path(), "root", &args);
    }
    let d = data(&page);
    assert_eq!(d["as_of"], "2025-01-19");
    assert!(d["tables"].as_str().unwrap().ends_with("as_of=2025-01-19"));
    let rows = chart(&d, "kpis");
    assert_eq!(rows.len(), 3);
    for (r, as_of) in rows.iter().zip(["2024-10-01", "2024-12-01", "2025-01-19"]) {
        let k = read_parquet(&root.join(format!("as_of={as_of}/kpis.parquet")));
        assert_eq!(r["as_of"], as_of);
        assert_eq!(i(&r["customers"]), ints(&k, "customers")[0]);
        close(f(&r["revenue"]), floats(&k, "revenue")[0], "revenue");
        close(f(&r["window_revenue"]), floats(&k, "window_revenue")[0], "window revenue");
    }
    // Movement from the latest partition's segment_migration (December to January).
    let m = read_parquet(&root.join("as_of=2025-01-19/segment_migration.parquet"));
    let rows = chart(&d, "segment_movement");
    assert_eq!(rows.len(), m.height());
    let table: BTreeMap<(String, String), i64> = (0..m.height())
        .map(|k| {
            ((strings(&m, "from_segment")[k].clone(), strings(&m, "to_segment")[k].clone()), ints(&m, "customers")[k])
        })
        .collect();
    for r in rows {
        assert_eq!(r["from_as_of"], "2024-12-01");
        let key = (r["from_segment"].as_str().unwrap().to_string(), r["to_segment"].as_str().unwrap().to_string());
        assert_eq!(i(&r["customers"]), table[&key]);
    }
    // The report of the same root from `evergreen report` is the same page.
    let again = dir.path().join("again.html");
    ok(report(&root, &again));
    assert_eq!(data(&again), d);
}

/// Issue 16.
#[test]
fn basket_and_compare_outputs_chart_what_they_have() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("baskets");
    ok(bin()
        .args([
            "basket",
            "-q",
            "-i",
            "data-samples/baskets.parquet",
            "--order-col",
            "basket_id",
            "--item-col",
            "item",
            "-o",
        ])
        .arg(&out)
        .output()
        .unwrap());
    let page = dir.path().join("b.html");
    ok(report(&out, &page));
    let d = data(&page);
    let ids: Vec<&str> = d["charts"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["top_pairs"]);
    assert_eq!(d["headline"]["orders"], manifest(&out)["basket"]["total_purchase_orders"]);
    assert!(d["headline"]["customers"].is_null() && d["as_of"].is_null());

    let a = sample_run(dir.path(), "a", &["--as-of", "2024-10-01"]);
    let b = sample_run(dir.path(), "b", &[]);
    let mov = dir.path().join("mov");
    ok(bin().args(["compare", "-q", "--from"]).arg(&a).arg("--to").arg(&b).arg("--out").arg(&mov).output().unwrap());
    let page = dir.path().join("m.html");
    ok(report(&mov, &page));
    let d = data(&page);
    assert!(has_chart(&d, "segment_movement") && d["charts"].as_array().unwrap().len() == 1);
    let m = read_parquet(&mov.join("segment_migration.parquet"));
    assert_eq!(
        chart(&d, "segment_movement").iter().map(|r| i(&r["customers"])).sum::<i64>(),
        ints(&m, "customers").iter().sum::<i64>()
    );
}

/// Issue 16.
#[test]
fn cohorts_are_capped_to_the_latest_24_and_say_so() {
    // Week cohorts: the sample has more than 24, so the heatmap keeps the latest 24, periods 0..=24.
    let dir = tempfile::tempdir().unwrap();
    let out = sample_run(dir.path(), "out", &["--cohort-period", "week"]);
    let page = dir.path().join("r.html");
    ok(report(&out, &page));
    let d = data(&page);
    let co = read_parquet(&out.join("cohorts.parquet"));
    let names = strings(&co, "cohort");
    let mut all: Vec<String> = names.clone();
    all.sort();
    all.dedup();
    assert!(all.len() > 24, "{} week cohorts", all.len());
    let latest: HashSet<&String> = all[all.len() - 24..].iter().collect();
    let (period, active, size) =
        (ints(&co, "period_index"), ints(&co, "active_customers"), ints(&co, "cohort_customers"));
    let want: Vec<(String, i64, i64, i64)> = (0..co.height())
        .filter(|k| latest.contains(&names[*k]) && period[*k] <= 24)
        .map(|k| (names[k].clone(), period[k], active[k], size[k]))
        .collect();
    let mut want = want;
    want.sort();
    let rows = chart(&d, "cohort_retention");
    let got: Vec<(String, i64, i64, i64)> = rows
        .iter()
        .map(|r| {
            (
                r["cohort"].as_str().unwrap().to_string(),
                i(&r["period_index"]),
                i(&r["active_customers"]),
                i(&r["cohort_customers"]),
            )
        })
        .collect();
    assert_eq!(got, want);
    let c = d["charts"].as_array().unwrap().iter().find(|c| c["id"] == "cohort_retention").unwrap();
    assert_eq!(i(&c["total_rows"]), co.height() as i64);
    assert!(
        c["cap_note"].as_str().unwrap().contains(&format!("the latest 24 of {} cohorts", all.len())),
        "{}",
        c["cap_note"]
    );
}

/// Issue 16.
#[test]
fn string_ids_and_names_from_the_online_retail_layout() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("retail");
    ok(bin()
        .args(["run", "-q", "--config", "data-samples/online_retail.toml", "-i", "data-samples/online_retail.parquet"])
        .args(["--product-name-col", "Description", "-o"])
        .arg(&out)
        .output()
        .unwrap());
    let page = dir.path().join("r.html");
    ok(report(&out, &page));
    let d = data(&page);
    let tp = read_parquet(&out.join("top_pairs.parquet"));
    let (a, b, name, lift) =
        (strings(&tp, "product_id"), strings(&tp, "partner_id"), strings(&tp, "name"), floats(&tp, "lift"));
    let rows = chart(&d, "top_pairs");
    assert_eq!(rows.len(), 15);
    for r in rows {
        // Each charted pair is a row of top_pairs, with its name and lift.
        let (x, y) = (r["product_id"].as_str().unwrap(), r["partner_id"].as_str().unwrap());
        let k = (0..tp.height()).find(|k| a[*k] == x && b[*k] == y).expect("a row of top_pairs");
        assert_eq!(r["name"].as_str().unwrap(), name[k]);
        close(f(&r["lift"]), lift[k], "lift");
    }
    // No pair of top_pairs has more orders beyond chance than the last one charted, unless it is
    // charted (issue 26: ranked by pair_orders × (1 − 1/lift), not by lift).
    let po = ints(&tp, "pair_orders");
    let beyond = |orders: f64, lift: f64| orders - orders / lift;
    let last = beyond(f(&rows[14]["pair_orders"]), f(&rows[14]["lift"]));
    let charted: HashSet<(String, String)> = rows
        .iter()
        .map(|r| {
            let (x, y) = (r["product_id"].as_str().unwrap().to_string(), r["partner_id"].as_str().unwrap().to_string());
            if x <= y {
                (x, y)
            } else {
                (y, x)
            }
        })
        .collect();
    for k in 0..tp.height() {
        let key = if a[k] <= b[k] { (a[k].clone(), b[k].clone()) } else { (b[k].clone(), a[k].clone()) };
        let b = beyond(po[k] as f64, lift[k]);
        assert!(b <= last + 1e-9 || charted.contains(&key), "{key:?} {b} beyond chance missing");
    }
}

/// Issue 16.
#[test]
fn an_output_without_kpis_counts_the_lapsed_from_customers() {
    // An output of an older version has no kpis table: the headline counts recency itself.
    let dir = tempfile::tempdir().unwrap();
    let out = sample_run(dir.path(), "out", &["--lapse-thresholds", "45,200"]);
    std::fs::remove_file(out.join("kpis.parquet")).unwrap();
    // And purchase_deciles of an older version without customer_share: that chart is left out.
    let mut pd = read_parquet(&out.join("purchase_deciles.parquet")).drop("customer_share").unwrap();
    write_parquet(&mut pd, &out.join("purchase_deciles.parquet"));
    let page = dir.path().join("r.html");
    ok(report(&out, &page));
    let d = data(&page);
    let recency = ints(&read_parquet(&out.join("customers.parquet")), "recency_days");
    let got: Vec<(i64, i64)> =
        d["headline"]["lapsed"].as_array().unwrap().iter().map(|l| (i(&l["days"]), i(&l["customers"]))).collect();
    let want: Vec<(i64, i64)> =
        [45, 200].iter().map(|t| (*t, recency.iter().filter(|r| *r > t).count() as i64)).collect();
    assert_eq!(got, want);
    assert!(!has_chart(&d, "kpis") && !has_chart(&d, "revenue_concentration"));
    assert!(has_chart(&d, "monetary_deciles") && has_chart(&d, "rf_heatmap"));
    assert_eq!(i(&d["headline"]["orders"]), manifest(&out)["counts"]["purchase_orders"].as_i64().unwrap());
}

/// Issue 16.
#[test]
fn names_reach_the_page_escaped() {
    // Product names with markup and a script end: shown as text, and the JSON block still parses.
    let dir = tempfile::tempdir().unwrap();
    let mut lines = Vec::new();
    let mut order = 0;
    for k in 0..6 {
        for _ in 0..=k {
            order += 1;
            lines.push(pline(Some(order % 3), order, "2024-01-05 10:00", 10.0, 1));
            lines.push(pline(Some(order % 3), order, "2024-01-05 10:00", 5.0, 2));
        }
    }
    let mut df = frame(&lines);
    let names: Vec<&str> =
        lines.iter().map(|l| if l.product == Some(1) { "</script><b>Tea & \"cake\"" } else { "Jam" }).collect();
    df.with_column(Column::new("name".into(), names)).unwrap();
    let (_d, input) = dump_frame(&mut df);
    let out = dir.path().join("out");
    ok(bin().args(["run", "-q", "--product-name-col", "name", "-i"]).arg(&input).arg("-o").arg(&out).output().unwrap());
    let page = dir.path().join("p.html");
    ok(report(&out, &page));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(!html.contains("<b>Tea"), "markup of a name is escaped");
    assert!(html.contains("&lt;/script&gt;&lt;b&gt;Tea &amp; &quot;cake&quot;"));
    let d = data(&page);
    let r = &chart(&d, "top_pairs")[0];
    let names = [r["name"].as_str().unwrap(), r["partner_name"].as_str().unwrap()];
    assert!(names.contains(&"</script><b>Tea & \"cake\"") && names.contains(&"Jam"), "{names:?}");
    // 21 orders hold both products: lift 1, support 100 %.
    assert_eq!(i(&r["pair_orders"]), 21);
    close(f(&r["lift"]), 1.0, "lift");
    close(f(&r["support"]), 1.0, "support");
}

/// Issue 16.
#[test]
fn refusals_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = sample_run(dir.path(), "out", &[]);
    let before: Vec<_> = std::fs::read_dir(&out).unwrap().flatten().map(|e| e.file_name()).collect();
    let cases: [(&str, PathBuf, i32, &str); 4] = [
        ("missing tables", dir.path().join("report.html"), 3, "no-such-output"),
        ("not .html", dir.path().join("report.pdf"), 2, "expected an .html file"),
        ("inside the output", out.join("report.html"), 5, "lies inside the output folder"),
        ("no such folder", dir.path().join("nope/report.html"), 5, "its folder does not exist"),
    ];
    for (what, page, code, says) in cases {
        let tables = if what == "missing tables" { dir.path().join("no-such-output") } else { out.clone() };
        let o = report(&tables, &page);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(code), "{what}: {err}");
        assert_eq!(err.lines().count(), 1, "{what}: one line: {err}");
        assert!(err.contains(says), "{what}: {err}");
        assert!(!page.exists(), "{what}: nothing written");
    }
    // `run --report` inside its own output is refused before the run: the output is unchanged.
    let o = bin()
        .args(["run", "-q", "-i", "data-samples/transactions.parquet", "-o"])
        .arg(&out)
        .arg("--report")
        .arg(out.join("r.html"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(5), "{}", String::from_utf8_lossy(&o.stderr));
    let after: Vec<_> = std::fs::read_dir(&out).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(before, after);
    // A report replaces an earlier one whole and leaves no temporary file.
    let page = dir.path().join("report.html");
    std::fs::write(&page, "old").unwrap();
    ok(report(&out, &page));
    assert!(std::fs::read_to_string(&page).unwrap().starts_with("<!DOCTYPE html>"));
    let names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name().to_string_lossy().to_string()).collect();
    assert!(names.iter().all(|n| !n.contains("evergreen-tmp")), "{names:?}");
}

// ---------------------------------------------------------------------------------------------
// In a real browser.

/// Headless Chromium, or `None` (skipped, said so) when there is none, unless
/// EVERGREEN_REQUIRE_BROWSER=1 (set by .ci/run), when the test fails.
fn chromium(test: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("EVERGREEN_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            if dir.join(name).is_file() {
                return Some(dir.join(name));
            }
        }
    }
    if std::env::var("EVERGREEN_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
        panic!("{test}: EVERGREEN_REQUIRE_BROWSER=1 but no chromium on PATH (apt-get install chromium)");
    }
    skip(test, "no headless browser (apt-get install chromium, or set EVERGREEN_CHROMIUM; EVERGREEN_REQUIRE_BROWSER=1 fails instead)");
    None
}

/// Chromium headless on a file, with `args`; returns (stdout, stderr). Killed after 120 s.
fn browse(chrome: &Path, profile: &Path, page: &Path, args: &[String]) -> (String, String) {
    let o = std::process::Command::new("timeout")
        .arg("120")
        .arg(chrome)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(o.status.success(), "chromium failed: {}", String::from_utf8_lossy(&o.stderr));
    (String::from_utf8_lossy(&o.stdout).to_string(), String::from_utf8_lossy(&o.stderr).to_string())
}

/// Lines where the page wrote to the console (Chromium logs them as `INFO:CONSOLE`).
fn console(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains(":CONSOLE")).collect()
}

/// A script, added to a copy of the page, that records every error event (resources included) and,
/// once loaded, writes each chart's size and the page's overflow into `<pre id="probe">`.
const PROBE_HEAD: &str = r#"<script>window.__errors=[];addEventListener('error',function(e){__errors.push(String(e.message||(e.target&&(e.target.src||e.target.href))||'error'))},true);</script>"#;
const PROBE_TAIL: &str = r#"<script>addEventListener('load',function(){var c=[].map.call(document.querySelectorAll('svg.chart'),function(s){var r=s.getBoundingClientRect();var vb=s.viewBox.baseVal;return {id:s.getAttribute('data-chart'),w:r.width,h:r.height,vbw:vb.width,vbh:vb.height,shapes:s.querySelectorAll('rect,circle,polyline,line').length}});var p=document.createElement('pre');p.id='probe';p.textContent=JSON.stringify({errors:__errors,charts:c,scroll:document.documentElement.scrollWidth,inner:innerWidth});document.body.appendChild(p)});</script>"#;

/// Issue 16.
#[test]
fn report_in_headless_chromium() {
    let Some(chrome) = chromium("report_in_headless_chromium") else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = sample_run(dir.path(), "out", &["--clv"]);
    let page = dir.path().join("report.html");
    ok(report(&out, &page));
    let html = std::fs::read_to_string(&page).unwrap();
    let d = data(&page);
    let expected: Vec<String> =
        d["charts"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_string()).collect();
    let profile = dir.path().join("profile");

    // The page as it is: nothing on the console.
    let (_, err) = browse(&chrome, &profile, &page, &["--window-size=1366,900".into(), "--dump-dom".into()]);
    assert!(console(&err).is_empty(), "console output: {:?}", console(&err));

    // A probed copy at a laptop width: no error event, every chart drawn at its size, no overflow.
    let probed = dir.path().join("probed.html");
    let copy = html.replacen("<head>", &format!("<head>{PROBE_HEAD}"), 1).replacen(
        "</body>",
        &format!("{PROBE_TAIL}</body>"),
        1,
    );
    std::fs::write(&probed, copy).unwrap();
    let (dom, err) = browse(&chrome, &profile, &probed, &["--window-size=1366,900".into(), "--dump-dom".into()]);
    assert!(console(&err).is_empty(), "console output: {:?}", console(&err));
    let start = dom.find("<pre id=\"probe\">").expect("the probe ran") + "<pre id=\"probe\">".len();
    let end = start + dom[start..].find("</pre>").unwrap();
    let probe: Value = serde_json::from_str(&dom[start..end].replace("&quot;", "\"").replace("&amp;", "&")).unwrap();
    assert_eq!(probe["errors"].as_array().unwrap().len(), 0, "errors: {}", probe["errors"]);
    assert!(i(&probe["scroll"]) <= i(&probe["inner"]), "no horizontal scrolling at 1366 px: {probe}");
    let charts = probe["charts"].as_array().unwrap();
    let mut drawn: Vec<String> = charts.iter().map(|c| c["id"].as_str().unwrap().to_string()).collect();
    drawn.dedup();
    assert_eq!(drawn, expected);
    for c in charts {
        let (w, h) = (f(&c["w"]), f(&c["h"]));
        // Two columns at 1366 px: each chart is about 600 px wide, its height as its view box says.
        assert!(w > 450.0 && w < 700.0, "{c}");
        assert!((h / w - f(&c["vbh"]) / f(&c["vbw"])).abs() < 0.01, "{c}");
        assert!(i(&c["shapes"]) >= 10, "{c}");
    }

    // A screenshot that is not blank: many colours, and a good part of it not the background.
    let shot = dir.path().join("shot.png");
    browse(&chrome, &profile, &page, &["--window-size=1366,2400".into(), format!("--screenshot={}", shot.display())]);
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (1366, 2400));
    let px = info.color_type.samples();
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(px).map(|p| &p[..3]).collect();
    let mut counts: std::collections::HashMap<&[u8], usize> = std::collections::HashMap::new();
    for p in &pixels {
        *counts.entry(p).or_default() += 1;
    }
    let background = counts.values().max().copied().unwrap();
    assert!(counts.len() > 200, "{} colours", counts.len());
    assert!(pixels.len() - background > pixels.len() / 10, "mostly one colour: {background} of {}", pixels.len());
    // Blue bars are on it.
    assert!(counts.contains_key(&[0x2f, 0x6f, 0xb3][..]), "the bars' blue");

    // Printed to PDF, as a manager forwards it: a few A4 pages.
    let pdf = dir.path().join("report.pdf");
    browse(&chrome, &profile, &page, &["--no-pdf-header-footer".into(), format!("--print-to-pdf={}", pdf.display())]);
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-"), "a PDF");
    let text = String::from_utf8_lossy(&bytes);
    let pages = text.matches("/Type /Page\n").count()
        + text.matches("/Type /Page ").count()
        + text.matches("/Type /Page>").count()
        + text.matches("/Type /Page/").count();
    assert!((2..=8).contains(&pages), "{pages} pages");
    assert!(bytes.len() > 20_000, "{} bytes", bytes.len());
}

// ---------------------------------------------------------------------------------------------
// Issue 26, item 16: the report must not mislead a manager.

/// `evergreen run` of `lines` (a dump written here) into `dir/NAME`, with `extra` flags.
fn run_dump(dir: &Path, name: &str, df: &mut DataFrame, extra: &[&str]) -> PathBuf {
    let input = dir.join(format!("{name}.parquet"));
    write_parquet(df, &input);
    let out = dir.join(name);
    ok(bin().args(["run", "-q", "-i"]).arg(&input).arg("-o").arg(&out).args(extra).output().unwrap());
    out
}

fn chart_of<'a>(d: &'a Value, id: &str) -> &'a Value {
    d["charts"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("no chart {id}"))
}

/// Ten customers with one order each (customer k spends 10 k; customer 10 buys 120 and returns 10
/// in the same order), and two guest orders of 7 and 8.
fn customers_and_guests() -> DataFrame {
    const DAYS: [&str; 10] = [
        "2024-01-01 10:00",
        "2024-01-02 10:00",
        "2024-01-03 10:00",
        "2024-01-04 10:00",
        "2024-01-05 10:00",
        "2024-01-06 10:00",
        "2024-01-07 10:00",
        "2024-01-08 10:00",
        "2024-01-09 10:00",
        "2024-01-10 10:00",
    ];
    let mut lines: Vec<Line> = (1..=9).map(|k| line(Some(k), k, DAYS[k as usize - 1], 10.0 * k as f64)).collect();
    lines.push(line(Some(10), 10, DAYS[9], 120.0));
    lines.push(line(Some(10), 10, DAYS[9], -10.0));
    lines.push(line(None, 11, "2024-01-11 10:00", 7.0));
    lines.push(line(None, 12, "2024-01-11 11:00", 8.0));
    frame(&lines)
}

/// Issue 26 (16.1): the headline's revenue and orders included guests while the customer count and
/// the top 10 % share counted customers only. Now the customers' revenue and orders stand beside
/// the customer count, the guests' apart, and the total says it is both.
#[test]
fn report_headline_says_revenue_counts_customers_and_guests_apart() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_dump(dir.path(), "out", &mut customers_and_guests(), &["--as-of", "2024-02-01"]);
    let page = dir.path().join("r.html");
    ok(report(&out, &page));
    let d = data(&page);
    let h = &d["headline"];
    // By hand: customers 10 + 20 + … + 90 = 450, and 120 − 10 = 110: 560 in 10 orders; guests
    // 7 + 8 = 15 in 2 orders; all 575 in 12 orders; returns 10.
    assert_eq!(i(&h["customers"]), 10);
    close(f(&h["customer_revenue"]), 560.0, "customers' revenue");
    assert_eq!(i(&h["customer_orders"]), 10);
    close(f(&h["guest_revenue"]), 15.0, "guests' revenue");
    assert_eq!(i(&h["guest_orders"]), 2);
    close(f(&h["revenue"]), 575.0, "all revenue");
    assert_eq!(i(&h["orders"]), 12);
    close(f(&h["returns"]), 10.0, "returns");
    // The top tenth is customer 10 (110 of the customers' 560), the top fifth adds customer 9 (90).
    close(f(&h["top10_revenue_share"]), 110.0 / 560.0, "top 10 %");
    close(f(&h["top20_revenue_share"]), 200.0 / 560.0, "top 20 %");
    let html = std::fs::read_to_string(&page).unwrap();
    let card = |label: &str, value: &str, sub: &str| {
        format!(r#"<div class="label">{label}</div><div class="value">{value}</div><div class="sub">{sub}</div>"#)
    };
    for want in [
        card("customers&#39; revenue", "560", "560.00 from these 10 customers, net of returns"),
        card("customers&#39; orders", "10", "purchase orders of these 10 customers"),
        card("guests&#39; revenue (no customer id)", "15", "15.00, 2 guest orders; in no customer figure"),
        card("all revenue", "575", "575.00 in 12 orders: customers&#39; + guests&#39;, net of returns"),
        card("top 10 % of customers", "19.6 %", "of the customers&#39; revenue"),
    ] {
        assert!(html.contains(&want), "missing {want}");
    }
    // No bare "orders" or "revenue" card that mixes the two.
    assert!(!html.contains(r#"<div class="label">revenue</div>"#) && !html.contains(r#"<div class="label">orders</div>"#));
}

/// A few customers over January to March 2024: 1 buys Jan 5, Feb 6 and Mar 5; 2 buys Jan 10 and
/// Mar 8; 3 buys Feb 12 and Mar 6; 4 buys Mar 4.
fn three_months() -> DataFrame {
    frame(&[
        line(Some(1), 1, "2024-01-05 10:00", 10.0),
        line(Some(1), 2, "2024-02-06 10:00", 10.0),
        line(Some(1), 3, "2024-03-05 10:00", 10.0),
        line(Some(2), 4, "2024-01-10 10:00", 10.0),
        line(Some(2), 5, "2024-03-08 10:00", 10.0),
        line(Some(3), 6, "2024-02-12 10:00", 10.0),
        line(Some(3), 7, "2024-03-06 10:00", 10.0),
        line(Some(4), 8, "2024-03-04 10:00", 10.0),
    ])
}

/// The cohort cells of the page flagged partial, as (cohort, period index).
fn partial_cells(d: &Value) -> Vec<(String, i64)> {
    let mut got: Vec<(String, i64)> = chart(d, "cohort_retention")
        .iter()
        .filter(|r| r["partial_period"] == true)
        .map(|r| (r["cohort"].as_str().unwrap().to_string(), i(&r["period_index"])))
        .collect();
    got.sort();
    got
}

/// Issue 26 (16.2, 16.3): the period the as-of date falls in is flagged, for month and week
/// cohorts (its cells hatched, out of the colour scale, the period named with its days), and the
/// colour scale speaks percent like the cells.
#[test]
fn report_flags_a_partial_cohort_period_and_its_legend_is_in_percent() {
    let dir = tempfile::tempdir().unwrap();
    // Months, as of 2024-03-10: the data ends on March 9, 9 of March's 31 days.
    let out = run_dump(dir.path(), "month", &mut three_months(), &["--as-of", "2024-03-10"]);
    let page = dir.path().join("month.html");
    ok(report(&out, &page));
    let d = data(&page);
    let c = chart_of(&d, "cohort_retention");
    assert_eq!(c["partial_period"]["start"], "2024-03-01");
    assert_eq!((i(&c["partial_period"]["days"]), i(&c["partial_period"]["of_days"])), (9, 31));
    assert_eq!(c["partial_period"]["label"], "Mar 2024 (9 of 31 days)");
    // March is period 2 of the January cohort, 1 of February's, 0 of March's.
    let want: Vec<(String, i64)> =
        vec![("2024-01-01".into(), 2), ("2024-02-01".into(), 1), ("2024-03-01".into(), 0)];
    assert_eq!(partial_cells(&d), want);
    assert_eq!(chart(&d, "cohort_retention").len(), 6, "3 + 2 + 1 cells");
    let html = std::fs::read_to_string(&page).unwrap();
    // Three cells hatched and the swatch under the grid; the period named there and in the guide.
    assert_eq!(html.matches(r#"fill="url(#cohort_retention-partial)""#).count(), 4);
    assert!(html.contains("Mar 2024 (9 of 31 days): not over, out of the colour scale"));
    assert!(c["guide"].as_str().unwrap().contains("Hatched: Mar 2024 (9 of 31 days)"));
    assert!(html.contains("cohort 2024-01-01, period 2, in Mar 2024 (9 of 31 days), not over: 2 of 2 active so far"));
    // The colour scale in percent, as the cells are printed (period 0 is 100 %).
    assert!(html.contains("share of the cohort active (0 % to 100 %)"), "the legend in percent");
    assert!(!html.contains("share of the cohort active (0 to 1"));

    // ISO weeks, as of Wednesday 2024-03-06: the data ends on Tuesday, 2 of the week's 7 days.
    let out = run_dump(dir.path(), "week", &mut three_months(), &["--as-of", "2024-03-06", "--cohort-period", "week"]);
    let page = dir.path().join("week.html");
    ok(report(&out, &page));
    let d = data(&page);
    let c = chart_of(&d, "cohort_retention");
    assert_eq!(c["partial_period"]["label"], "week of 2024-03-04 (2 of 7 days)");
    assert_eq!((i(&c["partial_period"]["days"]), i(&c["partial_period"]["of_days"])), (2, 7));
    // Cohorts: the weeks of Jan 1 (customer 1), Jan 8 (2), Feb 12 (3) and Mar 4 (4); the week of
    // Mar 4 is 9 weeks after Jan 1, 8 after Jan 8, 3 after Feb 12.
    let want: Vec<(String, i64)> = vec![
        ("2024-01-01".into(), 9),
        ("2024-01-08".into(), 8),
        ("2024-02-12".into(), 3),
        ("2024-03-04".into(), 0),
    ];
    assert_eq!(partial_cells(&d), want);

    // As of April 1st, March is whole: nothing flagged, nothing hatched.
    let out = run_dump(dir.path(), "whole", &mut three_months(), &["--as-of", "2024-04-01"]);
    let page = dir.path().join("whole.html");
    ok(report(&out, &page));
    let d = data(&page);
    assert!(chart_of(&d, "cohort_retention").get("partial_period").is_none());
    assert!(partial_cells(&d).is_empty());
    assert!(!std::fs::read_to_string(&page).unwrap().contains("-partial"));
}

/// Issue 26 (16.4): pairs ranked by orders beyond chance, not by a lift that a handful of orders
/// inflates; long names cut with an ellipsis, whole in a hover title.
#[test]
fn report_pairs_rank_by_orders_beyond_chance_and_cut_long_names() {
    // 200 purchase orders: 60 hold products 1 and 2, 20 product 1 alone, 10 product 2 alone, 5 hold
    // the rare products 100 and 101 (in no other order), 105 product 50 alone.
    let long = "WHITE HANGING HEART T-LIGHT HOLDER IN THE LARGE SIZE WITH A RIBBON AND A GIFT BOX <b>";
    let mut lines = Vec::new();
    let mut names = Vec::new();
    let mut order = 0;
    let mut add = |products: &[i64], n: usize, lines: &mut Vec<Line>, names: &mut Vec<&str>| {
        for _ in 0..n {
            order += 1;
            for p in products {
                lines.push(pline(Some(order % 9 + 1), order, "2024-01-05 10:00", 10.0, *p));
                names.push(match p {
                    1 => long,
                    2 => "Jam",
                    100 => "Rare A",
                    101 => "Rare B",
                    _ => "Filler",
                });
            }
        }
    };
    add(&[1, 2], 60, &mut lines, &mut names);
    add(&[1], 20, &mut lines, &mut names);
    add(&[2], 10, &mut lines, &mut names);
    add(&[100, 101], 5, &mut lines, &mut names);
    add(&[50], 105, &mut lines, &mut names);
    let mut df = frame(&lines);
    df.with_column(Column::new("name".into(), names)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = run_dump(dir.path(), "out", &mut df, &["--product-name-col", "name", "--as-of", "2024-02-01"]);
    let page = dir.path().join("p.html");
    ok(report(&out, &page));
    let d = data(&page);
    let rows = chart(&d, "top_pairs");
    let got: Vec<(i64, i64)> = rows
        .iter()
        .map(|r| {
            let (a, b) = (i(&r["product_id"]), i(&r["partner_id"]));
            (a.min(b), a.max(b))
        })
        .collect();
    // 1 + 2: lift 60 × 200 / (80 × 70) = 2.142857, by chance 80 × 70 / 200 = 28, beyond 32.
    // 100 + 101: lift 5 × 200 / (5 × 5) = 40, by chance 0.125, beyond 4.875: second, though its
    // lift is 19 times higher.
    assert_eq!(got, vec![(1, 2), (100, 101)]);
    close(f(&rows[0]["lift"]), 60.0 * 200.0 / (80.0 * 70.0), "lift 1 + 2");
    close(f(&rows[0]["expected_orders"]), 28.0, "by chance 1 + 2");
    close(f(&rows[0]["excess_orders"]), 32.0, "beyond chance 1 + 2");
    close(f(&rows[1]["lift"]), 40.0, "lift 100 + 101");
    close(f(&rows[1]["expected_orders"]), 0.125, "by chance 100 + 101");
    close(f(&rows[1]["excess_orders"]), 4.875, "beyond chance 100 + 101");
    let c = chart_of(&d, "top_pairs");
    assert!(c["guide"].as_str().unwrap().starts_with("Ranked by the orders holding both beyond what chance would give"));
    // The long name: cut with an ellipsis on the chart, whole (escaped) in the label's hover title.
    let html = std::fs::read_to_string(&page).unwrap();
    let svg_start = html.find(r#"data-chart="top_pairs""#).unwrap();
    let svg = &html[svg_start..svg_start + html[svg_start..].find("</svg>").unwrap()];
    let escaped = long.replace('<', "&lt;").replace('>', "&gt;");
    let at = svg.find(&format!("<title>{escaped}</title>")).expect("the whole name as a hover title");
    let shown = &svg[at..at + svg[at..].find("</text>").unwrap()];
    assert!(shown.ends_with('…') && shown.contains("WHITE HANGING"), "{shown}");
    assert!(!svg.contains("<b>"), "escaped");
    // The label margin is sized to the labels within its cap: the plot's axis starts right of
    // the labels and left of the picture's middle.
    let axis: f64 = svg
        .split("<line ")
        .filter(|l| l.contains(r##"stroke="#999""##))
        .find_map(|l| l.split("x1=\"").nth(1)?.split('"').next()?.parse().ok())
        .unwrap();
    assert!(axis > 200.0 && axis < 320.0, "axis at {axis}");
}

/// Issue 26 (16.5): the report of a `compare` output named no date ("as of –"), said "1 charts" and
/// cut a column header off.
#[test]
fn report_of_a_compare_output_names_both_dates_and_fits_its_headers() {
    let dir = tempfile::tempdir().unwrap();
    let a = run_dump(dir.path(), "a", &mut customers_and_guests(), &["--as-of", "2024-01-06"]);
    let b = run_dump(dir.path(), "b", &mut customers_and_guests(), &["--as-of", "2024-02-01"]);
    let mov = dir.path().join("mov");
    ok(bin().args(["compare", "-q", "--from"]).arg(&a).arg("--to").arg(&b).arg("--out").arg(&mov).output().unwrap());
    let page = dir.path().join("m.html");
    let o = ok(bin().args(["report", "--tables"]).arg(&mov).arg("--out").arg(&page).output().unwrap());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("(1 chart, ") && !err.contains("charts"), "{err}");
    let d = data(&page);
    assert_eq!((d["from_as_of"].as_str(), d["to_as_of"].as_str()), (Some("2024-01-06"), Some("2024-02-01")));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("<title>Customer report, from 2024-01-06 to 2024-02-01</title>"));
    assert!(html.contains(r#"<div class="label">compared from</div><div class="value">2024-01-06</div>"#));
    assert!(html.contains(r#"<div class="label">to</div><div class="value">2024-02-01</div>"#));
    assert!(!html.contains(r#"<div class="value">–</div>"#), "no as of –");
    // Every column header whole: each later segment is a header text of its own, uncut.
    let svg_start = html.find(r#"data-chart="segment_movement""#).unwrap();
    let svg = &html[svg_start..svg_start + html[svg_start..].find("</svg>").unwrap()];
    assert!(!svg.contains('…'), "no header cut");
    let mut to: Vec<String> =
        chart(&d, "segment_movement").iter().map(|r| r["to_segment"].as_str().unwrap().to_string()).collect();
    to.dedup();
    for s in to {
        assert!(svg.contains(&format!(">{s}</text>")), "header {s}");
    }
}

/// Issue 26 (16.4, 16.5) in a real browser: every text of every chart (pair labels, turned column
/// headers, legends) lies inside its chart's picture, for long product names and a compare output.
#[test]
fn report_text_stays_inside_every_chart_in_headless_chromium() {
    let Some(chrome) = chromium("report_text_stays_inside_every_chart_in_headless_chromium") else { return };
    let dir = tempfile::tempdir().unwrap();
    let pages = {
        let retail = dir.path().join("retail");
        ok(bin()
            .args(["run", "-q", "--config", "data-samples/online_retail.toml", "-i", "data-samples/online_retail.parquet"])
            .args(["--product-name-col", "Description", "--as-of", "2024-12-10", "-o"])
            .arg(&retail)
            .output()
            .unwrap());
        let a = sample_run(dir.path(), "a", &["--as-of", "2024-10-01"]);
        let b = sample_run(dir.path(), "b", &[]);
        let mov = dir.path().join("mov");
        ok(bin().args(["compare", "-q", "--from"]).arg(&a).arg("--to").arg(&b).arg("--out").arg(&mov).output().unwrap());
        // Issue 32: the CLV diagnostics (tracking, weekly, conditional expectations) of CDNOW.
        let cdnow = dir.path().join("cdnow");
        ok(bin()
            .args(["clv", "-q", "-i", "tests/fixtures/cdnow/transactions.parquet", "--as-of", "1998-07-01"])
            .args(["--holdout-from", "1997-10-01", "-o"])
            .arg(&cdnow)
            .output()
            .unwrap());
        [
            (retail, dir.path().join("retail.html")),
            (mov, dir.path().join("mov.html")),
            (cdnow, dir.path().join("cdnow.html")),
        ]
    };
    const PROBE: &str = r#"<script>addEventListener('load',function(){var bad=[];[].forEach.call(document.querySelectorAll('svg.chart'),function(s){var r=s.getBoundingClientRect();[].forEach.call(s.querySelectorAll('text'),function(t){var b=t.getBoundingClientRect();if(b.left<r.left-1||b.right>r.right+1||b.top<r.top-1||b.bottom>r.bottom+1)bad.push(s.getAttribute('data-chart')+': '+t.textContent)})});var p=document.createElement('pre');p.id='probe';p.textContent=JSON.stringify(bad);document.body.appendChild(p)});</script>"#;
    for (tables, page) in pages {
        ok(report(&tables, &page));
        let html = std::fs::read_to_string(&page).unwrap();
        let probed = page.with_extension("probed.html");
        std::fs::write(&probed, html.replacen("</body>", &format!("{PROBE}</body>"), 1)).unwrap();
        for width in [1366, 700] {
            let (dom, _) = browse(
                &chrome,
                &dir.path().join("profile"),
                &probed,
                &[format!("--window-size={width},900"), "--dump-dom".into()],
            );
            let start = dom.find("<pre id=\"probe\">").expect("the probe ran") + "<pre id=\"probe\">".len();
            let end = start + dom[start..].find("</pre>").unwrap();
            let bad: Vec<String> =
                serde_json::from_str(&dom[start..end].replace("&quot;", "\"").replace("&amp;", "&")).unwrap();
            assert!(bad.is_empty(), "{} at {width} px: text outside its chart: {bad:?}", page.display());
        }
    }
}

/// Issue 32: with a holdout the report draws the fit against what happened: the tracking plot
/// (cumulative and per week: clv_tracking's rows as they are) and the conditional expectations
/// (clv_holdout grouped by calibration repeat purchases, 7 and more together: customers and the
/// mean actual and predicted holdout purchases, recomputed here).
#[test]
fn clv_diagnostics_embed_the_tracking_and_holdout_rows() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cdnow");
    ok(bin()
        .args(["clv", "-q", "-i", "tests/fixtures/cdnow/transactions.parquet", "--as-of", "1998-07-01"])
        .args(["--holdout-from", "1997-10-01", "-o"])
        .arg(&out)
        .output()
        .unwrap());
    let page = dir.path().join("report.html");
    ok(report(&out, &page));
    let d = data(&page);
    let tr = read_parquet(&out.join("clv_tracking.parquet"));
    for id in ["clv_tracking", "clv_tracking_weekly"] {
        let rows = chart(&d, id);
        assert_eq!(rows.len(), tr.height());
        let (a, e) = (ints(&tr, "cumulative_actual"), floats(&tr, "expected_repeat_purchases"));
        for (k, r) in rows.iter().enumerate() {
            assert_eq!(i(&r["cumulative_actual"]), a[k]);
            close(f(&r["expected_repeat_purchases"]), e[k], "expected_repeat_purchases");
        }
    }
    let h = read_parquet(&out.join("clv_holdout.parquet"));
    let (x, pred, act) = (ints(&h, "repeat_purchases"), floats(&h, "predicted_purchases"), ints(&h, "actual_purchases"));
    let mut groups: BTreeMap<i64, (i64, f64, f64)> = BTreeMap::new();
    for k in 0..h.height() {
        let g = groups.entry(x[k].min(7)).or_default();
        g.0 += 1;
        g.1 += act[k] as f64;
        g.2 += pred[k];
    }
    // The calibration frequency histogram: clv_frequency's rows, 7 as "7+".
    let fq = read_parquet(&out.join("clv_frequency.parquet"));
    let rows = chart(&d, "clv_frequency");
    assert_eq!(rows.len(), 8);
    let (c, e) = (ints(&fq, "customers"), floats(&fq, "expected_customers"));
    for (k, r) in rows.iter().enumerate() {
        assert_eq!(r["repeat_purchases"].as_str().unwrap(), if k == 7 { "7+".to_string() } else { k.to_string() });
        assert_eq!(i(&r["customers"]), c[k]);
        close(f(&r["expected_customers"]), e[k], "expected_customers");
    }
    let rows = chart(&d, "clv_conditional");
    assert_eq!(rows.len(), groups.len());
    for (r, (g, (n, a, p))) in rows.iter().zip(groups) {
        let label = if g == 7 { "7+".to_string() } else { g.to_string() };
        assert_eq!(r["repeat_purchases"].as_str().unwrap(), label);
        assert_eq!(i(&r["customers"]), n);
        close(f(&r["mean_actual_purchases"]), a / n as f64, "mean actual");
        close(f(&r["mean_predicted_purchases"]), p / n as f64, "mean predicted");
    }
}

/// Issue 34: the gain-loss waterfall walks from period A's spend through the six parts to period
/// B's, as the first row of gain_loss says; the Venn counts are cross_shop's rows.
#[test]
fn gain_loss_waterfall_and_cross_shop_counts_are_the_tables() {
    let dir = tempfile::tempdir().unwrap();
    let out = sample_run(
        dir.path(),
        "switching",
        &[
            "--group",
            "low=product_id < 1010",
            "--group",
            "mid=product_id < 1036",
            "--period-a",
            "2024-01-01..2024-06-30",
            "--period-b",
            "2024-07-01..2024-12-31",
        ],
    );
    let page = dir.path().join("r.html");
    ok(report(&out, &page));
    let d = data(&page);
    let gl = read_parquet(&out.join("gain_loss.parquet"));
    let steps = chart(&d, "gain_loss");
    let cols = ["focus_a", "new", "lost", "increased", "decreased", "switched_from_comparison", "switched_to_comparison", "focus_b"];
    assert_eq!(steps.len(), cols.len());
    for (s, c) in steps.iter().zip(cols) {
        close(f(&s["amount"]), floats(&gl, c)[0], c);
    }
    // The steps join up: each starts where the one before ended, and the last bar is period B.
    for w in steps[1..steps.len() - 1].windows(2) {
        close(f(&w[1]["start"]), f(&w[0]["end"]), "start");
    }
    close(f(&steps[steps.len() - 2]["end"]), floats(&gl, "focus_b")[0], "the parts end at period B");
    let cs = read_parquet(&out.join("cross_shop.parquet"));
    let regions = chart(&d, "cross_shop");
    assert_eq!(regions.len(), cs.height());
    for (r, (n, share)) in regions.iter().zip(ints(&cs, "customers").into_iter().zip(floats(&cs, "amount_share"))) {
        assert_eq!(i(&r["customers"]), n);
        close(f(&r["amount_share"]), share, "amount_share");
    }
}
