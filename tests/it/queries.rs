//! queries/: the segment map, the shipped queries, analysts' own SQL, and their errors.

use std::collections::HashMap;

use crate::common::*;

/// The shipped map, read from queries/segments.sql: segment → cells.
fn shipped_map() -> HashMap<String, Vec<String>> {
    let sql = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/queries/segments.sql")).unwrap();
    let mut m = HashMap::new();
    for line in sql.lines().filter(|l| l.trim_start().starts_with("WHEN rfm_cell IN (")) {
        let inside = &line[line.find('(').unwrap() + 1..line.find(')').unwrap()];
        let name = line.rsplit("THEN '").next().unwrap().trim_end_matches('\'').to_string();
        let cells: Vec<String> = inside.split(',').map(|c| c.trim().trim_matches('\'').to_string()).collect();
        m.insert(name, cells);
    }
    m
}

#[test]
fn shipped_map_covers_all_125_cells_once_in_11_segments() {
    let m = shipped_map();
    assert_eq!(m.len(), 11);
    let mut seen: HashMap<String, u32> = HashMap::new();
    for cells in m.values() {
        for c in cells {
            *seen.entry(c.clone()).or_default() += 1;
        }
    }
    assert_eq!(seen.len(), 125);
    assert!(seen.values().all(|n| *n == 1));
    // Spot checks against the SPEC's table.
    assert!(m["Champions"].contains(&"555".to_string()));
    assert!(m["Lost"].contains(&"111".to_string()));
    assert!(m["New Customers"].contains(&"311".to_string()));
    assert!(m["Cannot Lose Them"].contains(&"155".to_string()));
    assert!(m["Hibernating"].contains(&"211".to_string()));
}

fn sample_run() -> Run {
    let (_d, p) = {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t.parquet");
        std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/data-samples/transactions.parquet"), &p).unwrap();
        (d, p)
    };
    compute(settings(&p, Some("2025-01-01")))
}

#[test]
fn every_customer_gets_the_segment_of_its_cell() {
    let r = sample_run();
    let c = r.table("customers");
    let m = shipped_map();
    let cell_to_seg: HashMap<&str, &str> =
        m.iter().flat_map(|(s, cells)| cells.iter().map(move |c| (c.as_str(), s.as_str()))).collect();
    let cells = c.column("rfm_cell").unwrap().str().unwrap();
    let segs = c.column("segment").unwrap().str().unwrap();
    assert!(c.height() > 1000);
    for (cell, seg) in cells.iter().zip(segs.iter()) {
        assert_eq!(cell_to_seg[cell.unwrap()], seg.expect("every customer has a segment"));
    }
}

#[test]
fn segment_summary_adds_up_to_the_customers_table() {
    let r = sample_run();
    let c = r.table("customers");
    let s = r.table("segment_summary");
    assert_eq!(ints(s, "customers").iter().sum::<i64>(), c.height() as i64);
    assert_eq!(ints(s, "orders").iter().sum::<i64>(), ints(c, "frequency").iter().sum::<i64>());
    let rev: f64 = floats(s, "revenue").iter().sum();
    let mon: f64 = floats(c, "monetary").iter().sum();
    assert!((rev - mon).abs() < 0.01, "{rev} vs {mon}");
    assert!((floats(s, "customer_share").iter().sum::<f64>() - 1.0).abs() < 1e-9);
    assert!((floats(s, "revenue_share").iter().sum::<f64>() - 1.0).abs() < 1e-6);
    let revs = floats(s, "revenue");
    assert!(revs.windows(2).all(|w| w[0] >= w[1]), "largest revenue first");
}

#[test]
fn lapsed_customers_are_past_the_first_threshold_most_valuable_first() {
    let r = sample_run();
    let l = r.table("lapsed_customers");
    let c = r.table("customers");
    let rec = ints(l, "recency_days");
    assert!(rec.iter().all(|d| *d > 30));
    let expected = ints(c, "recency_days").iter().filter(|d| **d > 30).count();
    assert_eq!(l.height(), expected);
    let m = floats(l, "monetary");
    assert!(m.windows(2).all(|w| w[0] >= w[1]));
}

#[test]
fn top_customers_make_the_first_fifth_of_revenue() {
    let r = sample_run();
    let t = r.table("top_customers");
    assert!(ints(t, "purchase_decile").iter().all(|d| *d <= 2));
    let cum = floats(t, "cumulative_revenue_share");
    let share = floats(t, "revenue_share");
    // Each starts before 20% of revenue: cumulative before it < 0.2.
    for (c, s) in cum.iter().zip(&share) {
        assert!(c - s < 0.2 + 1e-9);
    }
    // And the next customer (not listed) would start at or after 20%.
    assert!(*cum.last().unwrap() >= 0.2 - 1e-9);
}

/// Run the binary with extra args over a tiny dump; returns (code, stderr, out dir).
fn run_with(extra: &[&str], files: &[(&str, &str)]) -> (i32, String, std::path::PathBuf, tempfile::TempDir) {
    let (d, p) = dump(&[
        line(Some(1), 1, "2024-01-05 10:00", 10.0),
        line(Some(2), 2, "2024-01-06 10:00", 20.0),
        line(Some(3), 3, "2023-09-06 10:00", 5.0),
    ]);
    let qdir = d.path().join("q");
    std::fs::create_dir(&qdir).unwrap();
    for (name, text) in files {
        std::fs::write(qdir.join(name), text).unwrap();
    }
    let out = d.path().join("out");
    let mut args = vec!["run", "--input", p.to_str().unwrap(), "--out", out.to_str().unwrap()];
    let q = qdir.to_str().unwrap().to_string();
    args.extend(["--queries", q.as_str()]);
    args.extend(extra);
    let o = bin().args(&args).output().unwrap();
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stderr).to_string(), out, d)
}

#[test]
fn a_user_query_can_read_a_shipped_querys_result() {
    let (code, err, out, _d) =
        run_with(&[], &[("champions_value.sql", "SELECT COUNT(*) AS n, SUM(revenue) AS revenue FROM segment_summary")]);
    assert_eq!(code, 0, "{err}");
    let df = read_parquet(&out.join("champions_value.parquet"));
    assert_eq!(
        ints(&df, "n"),
        vec![ints(&read_parquet(&out.join("segment_summary.parquet")), "customers").len() as i64]
    );
    assert_eq!(floats(&df, "revenue"), vec![35.0]);
}

#[test]
fn a_broken_query_names_its_file_and_writes_nothing() {
    let (code, err, out, _d) = run_with(&[], &[("oops.sql", "SELEC nothing FROM customers")]);
    assert_eq!(code, 4);
    assert!(err.contains("oops.sql") && err.trim().lines().count() == 1, "{err}");
    assert!(!out.exists());
    let (code, err, out, _d) = run_with(&[], &[("missing.sql", "SELECT * FROM no_such_table")]);
    assert_eq!(code, 4);
    assert!(err.contains("missing.sql") && err.contains("no_such_table"), "{err}");
    assert!(!out.exists());
    let (code, err, _, _d) = run_with(&[], &[("col.sql", "SELECT no_such_column FROM customers")]);
    assert_eq!(code, 4);
    assert!(err.contains("col.sql") && err.contains("no_such_column"), "{err}");
}

#[test]
fn a_user_segments_file_replaces_the_shipped_one() {
    let sql = "SELECT customer_id, CASE WHEN m_score >= 3 THEN 'Big' ELSE 'Small' END AS segment FROM customers";
    let (code, err, out, _d) = run_with(&[], &[("segments.sql", sql)]);
    assert_eq!(code, 0, "{err}");
    let c = read_parquet(&out.join("customers.parquet"));
    let segs: Vec<String> =
        c.column("segment").unwrap().str().unwrap().iter().map(|s| s.unwrap().to_string()).collect();
    // Monetary 20, 10, 5 (sorted desc): m ranks 3, 2, 1 of N = 3 → scores 4, 2, 1.
    assert_eq!(segs, vec!["Big", "Small", "Small"]);
}

#[test]
fn a_segment_query_that_misses_cells_lists_them() {
    let sql = "SELECT customer_id, CASE WHEN r_score = 5 THEN 'Recent' END AS segment FROM customers";
    let (code, err, out, _d) = run_with(&[], &[("segments.sql", sql)]);
    assert_eq!(code, 4);
    assert!(err.contains("cells in no segment") && err.contains("111") && err.contains("455"), "{err}");
    assert!(!err.contains(" 555"), "555 is covered: {err}");
    assert!(!out.exists());
}

#[test]
fn segment_maps_are_checked_for_gaps_overlaps_and_bins() {
    let d = tempfile::tempdir().unwrap();
    let cells = |b: u8| -> Vec<String> {
        (1..=b).flat_map(|r| (1..=b).flat_map(move |f| (1..=b).map(move |m| format!("{r}{f}{m}")))).collect()
    };
    let map = |name: &str, body: String| {
        let p = d.path().join(name);
        std::fs::write(&p, body).unwrap();
        p
    };
    let quoted = |v: &[String]| v.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
    let all3 = cells(3);
    // Gap: 333 missing.
    let gap = map("gap.toml", format!("A = [{}]\n", quoted(&all3[..26])));
    // Overlap: 111 in two segments.
    let overlap = map("overlap.toml", format!("A = [{}]\nB = [\"111\"]\n", quoted(&all3)));
    // Cells of 5 bins given with --bins 3.
    let wrong = map("wrong.toml", format!("A = [{}]\n", quoted(&cells(5))));
    let good = map("good.toml", format!("Top = [\"333\"]\nRest = [{}]\n", quoted(&all3[..26])));
    let (_dd, p) = dump(&[line(Some(1), 1, "2024-01-05 10:00", 10.0), line(Some(2), 2, "2024-01-06 10:00", 20.0)]);
    let run = |m: &std::path::Path| {
        let o = bin()
            .args(["run", "--input", p.to_str().unwrap(), "--out", d.path().join("o").to_str().unwrap(), "--bins", "3"])
            .args(["--segment-map", m.to_str().unwrap()])
            .output()
            .unwrap();
        (o.status.code().unwrap(), String::from_utf8_lossy(&o.stderr).to_string())
    };
    let (code, err) = run(&gap);
    assert_eq!(code, 2);
    assert!(err.contains("cells in no segment (bins = 3): 333"), "{err}");
    let (code, err) = run(&overlap);
    assert_eq!(code, 2);
    assert!(err.contains("more than one segment: 111 (A, B)"), "{err}");
    let (code, err) = run(&wrong);
    assert_eq!(code, 2);
    assert!(err.contains("not scores 1..3") && err.contains("555"), "{err}");
    let (code, err) = run(&good);
    assert_eq!(code, 0, "{err}");
    // Without a map, bins = 3 does not fit the shipped 5-bin map.
    let o = bin()
        .args(["run", "--input", p.to_str().unwrap(), "--out", d.path().join("o2").to_str().unwrap(), "--bins", "3"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("needs bins = 5"));
}

#[test]
fn ad_hoc_query_prints_or_writes_csv_and_parquet() {
    let (code, err, out, d) = run_with(&[], &[]);
    assert_eq!(code, 0, "{err}");
    let o = bin()
        .args([
            "query",
            "--tables",
            out.to_str().unwrap(),
            "SELECT customer_id, monetary FROM customers ORDER BY customer_id",
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        text,
        "customer_id  monetary\n-----------  --------\n          1        10\n          2        20\n          3         5\n(3 rows)\n"
    );
    let csv = d.path().join("r.csv");
    let o = bin()
        .args([
            "query",
            "--tables",
            out.to_str().unwrap(),
            "--out",
            csv.to_str().unwrap(),
            "SELECT customer_id, monetary FROM customers ORDER BY customer_id",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), "customer_id,monetary\n1,10.0\n2,20.0\n3,5.0\n");
    let pq = d.path().join("r.parquet");
    let o = bin()
        .args(["query", "--tables", out.to_str().unwrap(), "--out", pq.to_str().unwrap(), "SELECT 1 AS x"])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_eq!(ints(&read_parquet(&pq), "x"), vec![1]);
    let o = bin().args(["query", "--tables", out.to_str().unwrap(), "SELECT * FROM nope"]).output().unwrap();
    assert_eq!(o.status.code(), Some(4));
}

/// Issue 30 (3): `query` prints money and counts in full (thousands separated, never 3.5e6), cuts
/// to --limit rows and the terminal's width, and writes csv, json and markdown for pipes.
#[test]
fn query_prints_numbers_in_full_and_in_formats_for_pipes() {
    let (code, err, out, _d) = run_with(&[], &[]);
    assert_eq!(code, 0, "{err}");
    let q = |extra: &[&str], sql: &str| {
        let o = bin().args(["query", "--tables", out.to_str().unwrap()]).args(extra).arg(sql).env("COLUMNS", "60").output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    let sql = "SELECT customer_id, monetary * 100000.5 AS revenue, frequency * 1234 AS orders FROM customers ORDER BY customer_id";
    assert_eq!(
        q(&[], sql),
        "customer_id      revenue  orders\n-----------  -----------  ------\n          1  1,000,005.0   1,234\n          2  2,000,010.0   1,234\n          3    500,002.5   1,234\n(3 rows)\n"
    );
    assert_eq!(q(&["--limit", "1"], sql).lines().last(), Some("(1 of 3 rows (--limit N shows more))"));
    assert_eq!(q(&["--format", "csv"], sql), "customer_id,revenue,orders\n1,1000005.0,1234\n2,2000010.0,1234\n3,500002.5,1234\n");
    let json: serde_json::Value = serde_json::from_str(&q(&["--format", "json"], sql)).unwrap();
    assert_eq!(json[2]["revenue"], serde_json::json!(500002.5));
    assert_eq!(json[1]["customer_id"], serde_json::json!(2));
    let md = q(&["--format", "markdown"], sql);
    assert!(md.starts_with("| customer_id | revenue | orders |\n| ---: | ---: | ---: |\n| 1 | 1,000,005.0 | 1,234 |\n"), "{md}");
    // Wider than the terminal: the columns that fit, and the names of the others.
    let wide = q(&[], "SELECT *, 'a long text to take space in the table' AS note FROM customers");
    assert!(wide.lines().all(|l| l.chars().count() <= 60), "{wide}");
    assert!(wide.contains("more columns not shown") && wide.contains("note"), "{wide}");
}

/// Issue 30 (3): the table format's numbers: full digits with separators (no exponent even at
/// 1e21), at most 6 decimals, ids without separators, nulls empty; markdown escapes `|`.
#[test]
fn table_cells_print_numbers_in_full() {
    use evergreen::output::{render, TextFormat};
    let df = polars::df!(
        "customer_id" => [17850i64, -3],
        "revenue" => [Some(8310500.125), None],
        "share" => [0.1234567891, -1234.5],
        "big" => [1e21, 4338.0],
        "note" => ["a|b", "x"],
    )
    .unwrap();
    let t = render(&df, TextFormat::Table, None, 200).unwrap();
    let rows: Vec<&str> = t.lines().collect();
    // Widths: customer_id 11, revenue 13, share 13, big 29, note 4; numbers right-aligned, each
    // float column's cells with as many decimals as its longest (share: 6).
    assert_eq!(rows[2], "      17850  8,310,500.125       0.123457  1,000,000,000,000,000,000,000  a|b");
    assert_eq!(rows[3], format!("         -3  {}  -1,234.500000  {}4,338  x", " ".repeat(13), " ".repeat(24)));
    let md = render(&df, TextFormat::Markdown, None, 200).unwrap();
    assert!(md.contains("| 17850 | 8,310,500.125 | 0.123457 | 1,000,000,000,000,000,000,000 | a\\|b |"), "{md}");
}
