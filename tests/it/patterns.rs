//! Issue 13: frequent itemsets, rules and sequence pairs. Expected values are worked out by hand
//! here, or come from pyfim (Borgelt's C fpgrowth/arules) on the Belgian retail baskets
//! (tests/fixtures/belgian, made by bench/pyfim_reference.py).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use evergreen::config::Share;
use polars::prelude::*;

use crate::common::*;

/// Run `evergreen ARGS -o <temp>/out`; the temp folder and the output folder.
fn evergreen(args: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    let o = bin().args(args).args(["-o", out.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "evergreen {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    (d, out)
}

/// Items of a list cell as integers.
fn int_list(v: AnyValue) -> Vec<i64> {
    match v {
        AnyValue::List(s) => s.cast(&DataType::Int64).unwrap().i64().unwrap().into_no_null_iter().collect(),
        other => panic!("not a list: {other:?}"),
    }
}

/// `itemsets` as {items: orders}.
fn itemset_counts(df: &DataFrame) -> BTreeMap<Vec<i64>, i64> {
    let items = df.column("items").unwrap().as_materialized_series().clone();
    let orders = ints(df, "orders");
    (0..df.height()).map(|r| (int_list(items.get(r).unwrap()), orders[r])).collect()
}

/// `rules` as {(antecedent, consequent): (orders of both, antecedent orders, consequent orders)},
/// the rule's orders recovered from support × purchase orders.
fn rule_counts(df: &DataFrame, total: f64) -> BTreeMap<(Vec<i64>, i64), (i64, i64, i64)> {
    let ante = df.column("antecedent").unwrap().as_materialized_series().clone();
    let cons = ints(df, "consequent");
    let support = floats(df, "support");
    let (a, c) = (ints(df, "antecedent_orders"), ints(df, "consequent_orders"));
    (0..df.height())
        .map(|r| ((int_list(ante.get(r).unwrap()), cons[r]), ((support[r] * total).round() as i64, a[r], c[r])))
        .collect()
}

/// Five baskets: {1,2,3} {1,2} {1,3} {2,3} {1,2,3,4}. Item counts 4, 4, 4, 1; each pair 3; the
/// triple 2 (orders 1 and 5).
fn five_baskets() -> Vec<Line> {
    let baskets: [&[i64]; 5] = [&[1, 2, 3], &[1, 2], &[1, 3], &[2, 3], &[1, 2, 3, 4]];
    let mut lines = Vec::new();
    for (o, items) in baskets.iter().enumerate() {
        for &it in *items {
            lines.push(pline(Some(o as i64 + 1), o as i64 + 1, "2024-01-05 10:00", 2.0, it));
        }
    }
    lines
}

/// `--min-lift L` keeps the rules whose lift is at least L. In the five baskets (5 purchase
/// orders) every pair rule a -> b has lift 3 x 5 / (4 x 4) = 15/16 = 0.9375 and every rule
/// {a, b} -> c has lift 2 x 5 / (3 x 4) = 10/12 = 0.833...: at 0.9 the six pair rules stay, at
/// 0.9375 too (the bound is kept), at 0.94 none; the `[patterns]` key `min_lift` does the same,
/// and 0 is refused (exit 2).
/// (Issue 28: the option added to show what a new option costs.)
#[test]
fn min_lift_keeps_rules_at_or_above_the_lift() {
    let (d, p) = dump(&five_baskets());
    let input = p.to_str().unwrap();
    let rules = |extra: &[&str]| {
        let mut args = vec!["patterns", "-i", input, "--itemset-min-support", "2"];
        args.extend_from_slice(extra);
        let (_o, out) = evergreen(&args);
        read_parquet(&out.join("rules.parquet"))
    };
    assert_eq!(rules(&[]).height(), 9, "6 pair rules and 3 from the triple, at the default confidence 0.5");
    for (l, kept) in [("0.9", 6), ("0.9375", 6), ("0.94", 0)] {
        let r = rules(&["--min-lift", l]);
        assert_eq!(r.height(), kept, "--min-lift {l}");
        assert!(floats(&r, "lift").iter().all(|&x| x == 0.9375), "--min-lift {l}");
    }
    let cfg = d.path().join("lift.toml");
    std::fs::write(&cfg, "[patterns]\nmin_lift = 0.9\n").unwrap();
    assert_eq!(rules(&["--config", cfg.to_str().unwrap()]).height(), 6);
    let o = bin()
        .args(["patterns", "-i", input, "-o", d.path().join("o0").to_str().unwrap(), "--min-lift", "0"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("min_lift"), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Issue 13.
#[test]
fn itemsets_and_rules_hand_worked() {
    let (_d, p) = dump(&five_baskets());
    let (_o, out) = evergreen(&["patterns", "-i", p.to_str().unwrap(), "--itemset-min-support", "2"]);
    let sets = read_parquet(&out.join("itemsets.parquet"));
    // Size 1..3, support >= 2 orders: item 4 (1 order) is out.
    let expected: BTreeMap<Vec<i64>, i64> = [
        (vec![1], 4),
        (vec![2], 4),
        (vec![3], 4),
        (vec![1, 2], 3),
        (vec![1, 3], 3),
        (vec![2, 3], 3),
        (vec![1, 2, 3], 2),
    ]
    .into_iter()
    .collect();
    assert_eq!(itemset_counts(&sets), expected);
    // Sorted by orders descending, then size, then items.
    assert_eq!(ints(&sets, "orders"), vec![4, 4, 4, 3, 3, 3, 2]);
    assert_eq!(ints(&sets, "size"), vec![1, 1, 1, 2, 2, 2, 3]);
    assert_eq!(floats(&sets, "support")[6], 2.0 / 5.0);

    // Rules at the default confidence 0.5: six pair rules at 3/4 and three triple rules at 2/3.
    let rules = read_parquet(&out.join("rules.parquet"));
    assert_eq!(rules.height(), 9);
    let conf = floats(&rules, "confidence");
    assert!(conf[..6].iter().all(|&c| c == 0.75) && conf[6..].iter().all(|&c| c == 2.0 / 3.0), "{conf:?}");
    // 1 -> 2: support 3/5, lift 3*5/(4*4), leverage 3/5 - (4/5)(4/5), conviction (1 - 4/5) / (1 - 3/4).
    let first = int_list(rules.column("antecedent").unwrap().get(0).unwrap());
    assert_eq!((first, ints(&rules, "consequent")[0]), (vec![1], 2));
    assert_eq!(floats(&rules, "support")[0], 0.6);
    assert_eq!(floats(&rules, "lift")[0], 15.0 / 16.0);
    assert!((floats(&rules, "leverage")[0] - (0.6 - 0.64)).abs() < 1e-15);
    assert!((floats(&rules, "conviction")[0] - 0.8).abs() < 1e-15);
    assert_eq!(ints(&rules, "antecedent_orders")[0], 4);
    assert_eq!(ints(&rules, "consequent_orders")[0], 4);
    // {1,2} -> 3 is the first triple rule: 2 of the 3 orders holding 1 and 2.
    let seventh = int_list(rules.column("antecedent").unwrap().get(6).unwrap());
    assert_eq!((seventh, ints(&rules, "consequent")[6], ints(&rules, "antecedent_orders")[6]), (vec![1, 2], 3, 3));

    // A rule at exactly the minimum confidence is kept; above it, only the pair rules remain.
    let (_o2, out2) =
        evergreen(&["patterns", "-i", p.to_str().unwrap(), "--itemset-min-support", "2", "--min-confidence", "0.75"]);
    assert_eq!(read_parquet(&out2.join("rules.parquet")).height(), 6);
    let (_o3, out3) =
        evergreen(&["patterns", "-i", p.to_str().unwrap(), "--itemset-min-support", "0.4", "--max-len", "2"]);
    // 0.4 × 5 orders = 2: the same threshold; --max-len 2 leaves the triple out.
    assert_eq!(read_parquet(&out3.join("itemsets.parquet")).height(), 6);
    assert_eq!(manifest(&out3)["patterns"]["itemset_threshold"], 2);

    // --max-basket-items 3 leaves order 5 ({1,2,3,4}) out: items in 3 orders, pairs in 2, the
    // triple in 1 (below 2). Every count of a rule is over the baskets left: 1 -> 2 is 2 / 3.
    let (_o4, out4) =
        evergreen(&["patterns", "-i", p.to_str().unwrap(), "--itemset-min-support", "2", "--max-basket-items", "3"]);
    let sets = read_parquet(&out4.join("itemsets.parquet"));
    assert_eq!(ints(&sets, "orders"), vec![3, 3, 3, 2, 2, 2]);
    let rules = read_parquet(&out4.join("rules.parquet"));
    assert_eq!(rules.height(), 6);
    assert_eq!(ints(&rules, "antecedent_orders"), vec![3; 6]);
    assert_eq!(ints(&rules, "consequent_orders"), vec![3; 6]);
    assert_eq!(floats(&rules, "confidence"), vec![2.0 / 3.0; 6]);
    assert_eq!(floats(&rules, "lift")[0], 2.0 * 5.0 / 9.0);
}

/// Issue 13.
#[test]
fn support_and_confidence_thresholds_are_exact() {
    // 0.1 × 30 is 3.0000000000000004 in floating point: a float ceil would say 4.
    let s = |t: &str| Share::parse("itemset_min_support", t, true).unwrap();
    assert_eq!(s("0.1").threshold(30), 3);
    assert_eq!(s("0.07").threshold(100), 7);
    assert_eq!(s("0.001").threshold(88_162), 89);
    assert_eq!(s("0.005").threshold(88_162), 441);
    assert_eq!(s(".5").threshold(3), 2);
    assert_eq!(s("1.0").threshold(17), 17);
    assert_eq!(s("2500").threshold(1), 2500);
    let c = Share::parse("min_confidence", "0.3", false).unwrap();
    assert!(c.reached(3, 10) && !c.reached(29, 100));
    for bad in ["0", "0.0", "1.5", "-0.1", "abc", "1e-3", ""] {
        assert!(Share::parse("itemset_min_support", bad, true).is_err(), "{bad}");
    }
    assert!(Share::parse("min_confidence", "2", false).is_err());
}

/// The size-2 itemsets are basket_pairs' pairs, count for count, at the same threshold.
/// (Issue 13.)
#[test]
fn size_two_itemsets_equal_basket_pairs() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("data-samples/transactions.parquet");
    let (_o, out) = evergreen(&[
        "run",
        "-i",
        sample.to_str().unwrap(),
        "--itemsets",
        "--itemset-min-support",
        "4",
        "--min-pair-orders",
        "4",
    ]);
    let pairs = read_parquet(&out.join("basket_pairs.parquet"));
    let (a, b, n) = (ints(&pairs, "product_a"), ints(&pairs, "product_b"), ints(&pairs, "pair_orders"));
    let from_pairs: BTreeMap<Vec<i64>, i64> = (0..pairs.height()).map(|r| (vec![a[r], b[r]], n[r])).collect();
    let sets = itemset_counts(&read_parquet(&out.join("itemsets.parquet")));
    let twos: BTreeMap<Vec<i64>, i64> = sets.into_iter().filter(|(k, _)| k.len() == 2).collect();
    assert!(from_pairs.len() > 1000, "{}", from_pairs.len());
    assert_eq!(twos, from_pairs);
}

fn belgian() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/belgian")
}

/// pyfim's reference lines: `items<TAB>count` and `antecedent<TAB>consequent<TAB>n<TAB>n_a<TAB>n_c`.
fn tsv(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split('\t').map(String::from).collect())
        .collect()
}

fn int_set(s: &str) -> Vec<i64> {
    s.split(',').map(|v| v.parse().unwrap()).collect()
}

/// Belgian retail (88,162 baskets) at support 0.001 (89 orders) and 0.005 (441 orders), up to
/// three items: every itemset with its count, and every rule at confidence 0.5, as pyfim finds them.
/// (Issue 13.)
#[test]
fn belgian_retail_equals_pyfim() {
    let input = belgian().join("baskets.parquet");
    for (support, count) in [("0.001", 89), ("0.005", 441)] {
        let (_o, out) = evergreen(&[
            "patterns",
            "-i",
            input.to_str().unwrap(),
            "--order-col",
            "basket_id",
            "--item-col",
            "item",
            "--itemset-min-support",
            support,
        ]);
        let m = manifest(&out);
        assert_eq!(m["patterns"]["itemset_threshold"], count);
        assert_eq!(m["patterns"]["total_purchase_orders"], 88_162);
        let expected: BTreeMap<Vec<i64>, i64> = tsv(&belgian().join(format!("itemsets_s{count}.tsv")))
            .iter()
            .map(|r| (int_set(&r[0]), r[1].parse().unwrap()))
            .collect();
        let found = itemset_counts(&read_parquet(&out.join("itemsets.parquet")));
        assert_eq!(found.len(), expected.len(), "itemsets at {support}");
        assert!(found == expected, "itemsets at {support} differ from pyfim's");
        let expected_rules: BTreeMap<(Vec<i64>, i64), (i64, i64, i64)> =
            tsv(&belgian().join(format!("rules_s{count}_c50.tsv")))
                .iter()
                .map(|r| {
                    let n = |k: usize| r[k].parse::<i64>().unwrap();
                    ((int_set(&r[0]), n(1)), (n(2), n(3), n(4)))
                })
                .collect();
        let rules = rule_counts(&read_parquet(&out.join("rules.parquet")), 88_162.0);
        assert_eq!(rules.len(), expected_rules.len(), "rules at {support}");
        assert!(rules == expected_rules, "rules at {support} differ from pyfim's");
    }
}

/// Issue 13.
#[test]
fn caps_stop_the_run_with_one_line_and_write_nothing() {
    let (d, p) = dump(&five_baskets());
    for (flag, value, needle) in [
        ("--max-itemsets", "5", "more than --max-itemsets 5 itemsets"),
        ("--max-rules", "3", "more than --max-rules 3 rules"),
    ] {
        let out = d.path().join("out");
        let o = bin()
            .args([
                "patterns",
                "-i",
                p.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
                "--itemset-min-support",
                "2",
                flag,
                value,
            ])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{err}");
        assert!(!out.exists());
    }
    // Bad thresholds are argument errors before anything is read.
    for (flag, value) in
        [("--itemset-min-support", "0.0"), ("--min-confidence", "1.2"), ("--sequence-window-days", "90,30")]
    {
        let o =
            bin().args(["patterns", "-i", p.to_str().unwrap(), "-o", "/nonexistent/x", flag, value]).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{flag} {value}: {err}");
        assert!(err.contains(&flag[2..].replace('-', "_")), "{err}");
    }
    // Sequences need a customer and a timestamp; itemsets an item.
    let mut df = df!("order_id" => [1i64, 1, 2], "item" => ["a", "b", "a"]).unwrap();
    let (_e, bp) = dump_frame(&mut df);
    let o = bin()
        .args([
            "patterns",
            "--sequences",
            "-i",
            bp.to_str().unwrap(),
            "-o",
            d.path().join("o2").to_str().unwrap(),
            "--item-col",
            "item",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(4), "{}", String::from_utf8_lossy(&o.stderr));
    let mut no_item = frame(&[line(Some(1), 1, "2024-01-05 10:00", 2.0)]);
    let (_f, np) = dump_frame(&mut no_item);
    let o3 = d.path().join("o3");
    let o = bin().args(["run", "--itemsets", "-i", np.to_str().unwrap(), "-o", o3.to_str().unwrap()]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("product_id") && err.contains("--item-col"), "{err}");
    assert!(!o3.exists());
}

/// Four customers, items 1 (A), 2 (B), 3 (C), as-of 2024-03-01, windows 10 and 30 days. Worked
/// out in the comments of each row below.
fn sequence_lines() -> Vec<Line> {
    vec![
        // c1: A on Jan 1 10:00, B 4 days later, C 19 days later.
        pline(Some(1), 1, "2024-01-01 10:00", 5.0, 1),
        pline(Some(1), 2, "2024-01-05 10:00", 5.0, 2),
        pline(Some(1), 3, "2024-01-20 10:00", 5.0, 3),
        // c2: A and B in one order (B there does not follow A); C at the same instant (does not
        // follow either); B again exactly 10 days after the first A (counts: the window is closed).
        pline(Some(2), 4, "2024-01-02 09:00", 5.0, 1),
        pline(Some(2), 4, "2024-01-02 09:00", 5.0, 2),
        pline(Some(2), 5, "2024-01-02 09:00", 5.0, 3),
        pline(Some(2), 6, "2024-01-12 09:00", 5.0, 2),
        // c3: A on Feb 10 (within 30 days of as-of: not eligible for 30), B 2.5 days later.
        pline(Some(3), 7, "2024-02-10 00:00", 5.0, 1),
        pline(Some(3), 8, "2024-02-12 12:00", 5.0, 2),
        // c4: A, then B only in a return order (not a purchase), then C 3 days after A.
        pline(Some(4), 9, "2024-01-03 00:00", 5.0, 1),
        pline(Some(4), 10, "2024-01-04 00:00", -5.0, 2),
        pline(Some(4), 11, "2024-01-06 00:00", 5.0, 3),
        // A guest order holding A and B: no timeline.
        pline(None, 12, "2024-01-02 00:00", 5.0, 1),
        pline(None, 12, "2024-01-02 00:00", 5.0, 2),
        // A future line (after as-of) is not bought.
        pline(Some(1), 13, "2024-03-02 00:00", 5.0, 2),
    ]
}

/// Issue 13.
#[test]
fn sequence_pairs_hand_worked() {
    let (_d, p) = dump(&sequence_lines());
    let (_o, out) = evergreen(&[
        "patterns",
        "--sequences",
        "--no-itemsets",
        "-i",
        p.to_str().unwrap(),
        "--as-of",
        "2024-03-01",
        "--sequence-window-days",
        "10,30",
        "--min-followers",
        "1",
    ]);
    assert!(!out.join("itemsets.parquet").exists());
    let t = read_parquet(&out.join("sequence_pairs.parquet"));
    let cols = ["item_a", "item_b", "window_days", "eligible", "followers"];
    let rows: Vec<Vec<i64>> = (0..t.height()).map(|r| cols.iter().map(|c| ints(&t, c)[r]).collect()).collect();
    // Eligible for 30 days: first A on or before Jan 31 00:00 (c1, c2, c4); for 10: all four.
    // B is bought by c1, c2, c3 (c4's B is a return): b_share 3/4; C by c1, c2, c4: 3/4.
    let expected: Vec<(Vec<i64>, f64)> = vec![
        (vec![1, 2, 10, 4, 3], 4.0),  // c1 4 d, c2 10 d, c3 2.5 d: median 4
        (vec![1, 2, 30, 3, 2], 7.0),  // c1 4 d, c2 10 d
        (vec![1, 3, 30, 3, 2], 11.0), // c1 19 d, c4 3 d
        (vec![1, 3, 10, 4, 1], 3.0),  // c4 3 d
        (vec![2, 3, 30, 2, 1], 15.0), // first B: c1 Jan 5, c2 Jan 2 (C at that instant does not count); c1's C 15 d later
        (vec![3, 2, 10, 3, 1], 10.0), // first C: c1 Jan 20, c2 Jan 2 09:00, c4 Jan 6; c2's B 10 d later
        (vec![3, 2, 30, 3, 1], 10.0),
    ];
    assert_eq!(rows, expected.iter().map(|e| e.0.clone()).collect::<Vec<_>>());
    assert_eq!(floats(&t, "median_days_to_b"), expected.iter().map(|e| e.1).collect::<Vec<_>>());
    assert_eq!(floats(&t, "b_share"), vec![0.75; 7]);
    let conf = floats(&t, "confidence");
    assert_eq!(conf[0], 0.75);
    assert_eq!(conf[1], 2.0 / 3.0);
    assert_eq!(floats(&t, "lift")[1], (2.0 / 3.0) / 0.75);
    assert_eq!(manifest(&out)["patterns"]["sequence_customers"], 4);
    // The default minimum of 5 followers keeps nothing here.
    let (_o2, out2) =
        evergreen(&["patterns", "--sequences", "--no-itemsets", "-i", p.to_str().unwrap(), "--as-of", "2024-03-01"]);
    assert_eq!(read_parquet(&out2.join("sequence_pairs.parquet")).height(), 0);
}

/// Every engine, partition count, thread count and line order writes the same pattern tables.
/// (Issue 13.)
#[test]
fn engines_threads_and_line_order_write_identical_pattern_tables() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("data-samples/transactions.parquet");
    let flags = [
        "--itemsets",
        "--sequences",
        "--itemset-min-support",
        "5",
        "--min-followers",
        "3",
        "--sequence-window-days",
        "30,90",
    ];
    let mut df = read_parquet(&sample);
    let rev: Vec<IdxSize> = (0..df.height() as IdxSize).rev().collect();
    let mut reversed = df.take(&IdxCa::from_vec("i".into(), rev)).unwrap();
    let (_r, rp) = dump_frame(&mut reversed);
    let d = tempfile::tempdir().unwrap();
    let mut outs = Vec::new();
    for (k, (input, engine, threads)) in [
        (&sample, vec!["--engine", "memory"], "2"),
        (&sample, vec!["--engine", "memory"], "1"),
        (&sample, vec!["--engine", "partitioned", "--partitions", "1"], "2"),
        (&sample, vec!["--engine", "partitioned", "--partitions", "4"], "2"),
        (&rp, vec!["--engine", "memory"], "2"),
        (&rp, vec!["--engine", "partitioned", "--partitions", "3"], "1"),
    ]
    .into_iter()
    .enumerate()
    {
        let out = d.path().join(format!("out{k}"));
        let o = bin()
            .args(["run", "-i", input.to_str().unwrap(), "-o", out.to_str().unwrap()])
            .args(flags)
            .args(engine)
            .env("RAYON_NUM_THREADS", threads)
            .env("POLARS_MAX_THREADS", threads)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        outs.push(out);
    }
    for t in ["itemsets.parquet", "rules.parquet", "sequence_pairs.parquet"] {
        let first = std::fs::read(outs[0].join(t)).unwrap();
        assert!(read_parquet(&outs[0].join(t)).height() > 100, "{t}");
        for o in &outs[1..] {
            assert!(first == std::fs::read(o.join(t)).unwrap(), "{t}: {} differs", o.display());
        }
    }
    let _ = &mut df;
}

/// The `[patterns]` table of a config file: the same keys as the flags (numbers or strings for the
/// thresholds), flags winning, unknown keys refused.
/// (Issue 13.)
#[test]
fn config_file_patterns_table() {
    let (d, p) = dump(&five_baskets());
    let cfg = d.path().join("patterns.toml");
    std::fs::write(&cfg, "[patterns]\nitemset_min_support = 0.4\nmax_len = 2\nmin_confidence = \"0.75\"\n").unwrap();
    let (_o, out) = evergreen(&["patterns", "-i", p.to_str().unwrap(), "--config", cfg.to_str().unwrap()]);
    // 0.4 × 5 = 2 orders; up to pairs; the six pair rules at 3/4.
    assert_eq!(read_parquet(&out.join("itemsets.parquet")).height(), 6);
    assert_eq!(read_parquet(&out.join("rules.parquet")).height(), 6);
    let (_o2, out2) =
        evergreen(&["patterns", "-i", p.to_str().unwrap(), "--config", cfg.to_str().unwrap(), "--max-len", "3"]);
    assert_eq!(read_parquet(&out2.join("itemsets.parquet")).height(), 7);
    // A TOML float is a fraction: 1.0 is every order (confidence 1), never the count 1.
    std::fs::write(&cfg, "[patterns]\nitemset_min_support = 2\nmin_confidence = 1.0\n").unwrap();
    let (_o4, out4) = evergreen(&["patterns", "-i", p.to_str().unwrap(), "--config", cfg.to_str().unwrap()]);
    assert_eq!(read_parquet(&out4.join("rules.parquet")).height(), 0);
    std::fs::write(&cfg, "[patterns]\nitemset_min_support = 1.0\n").unwrap();
    let (_o5, out5) = evergreen(&["patterns", "-i", p.to_str().unwrap(), "--config", cfg.to_str().unwrap()]);
    assert_eq!(manifest(&out5)["patterns"]["itemset_threshold"], 5);
    std::fs::write(&cfg, "[patterns]\nmin_suport = 3\n").unwrap();
    let o = bin()
        .args([
            "patterns",
            "-i",
            p.to_str().unwrap(),
            "-o",
            d.path().join("o3").to_str().unwrap(),
            "--config",
            cfg.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("min_suport"), "{err}");
}

/// The partitioned engine holds the miner's baskets and the customers' timelines in memory: past
/// --memory-limit it stops with exit 2 and says which, writing nothing. `--no-itemsets` is for
/// `patterns` only.
/// (Issue 13.)
#[test]
fn partitioned_memory_limit_and_misplaced_flag() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("data-samples/transactions.parquet");
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    let run = |args: &[&str]| {
        bin().args(args).args(["-i", sample.to_str().unwrap(), "-o", out.to_str().unwrap()]).output().unwrap()
    };
    for (args, needle) in [
        (
            vec!["patterns", "--engine", "partitioned", "--memory-limit", "300KB", "--itemset-min-support", "1"],
            "too small for the itemsets of this dump",
        ),
        (
            vec!["patterns", "--sequences", "--no-itemsets", "--engine", "partitioned", "--memory-limit", "300KB"],
            "too small for sequence_pairs on this dump",
        ),
        (vec!["run", "--no-itemsets"], "--no-itemsets applies to `patterns` only"),
    ] {
        let o = run(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{err}");
        assert!(!out.exists());
    }
}

/// The reference of `bench/rules_significance_reference.py` (scipy's `fisher_exact` and a plain
/// loop over pyfim's rules): per (antecedent, consequent), the p-value, the Bonferroni, Holm and
/// BH adjusted p-values, and arules' improvement.
fn significance_reference(count: u32) -> BTreeMap<(Vec<i64>, i64), [f64; 5]> {
    tsv(&belgian().join(format!("significance_s{count}_c50.tsv")))
        .iter()
        .map(|r| {
            let f = |k: usize| r[k].parse::<f64>().unwrap();
            ((int_set(&r[0]), r[1].parse().unwrap()), [f(2), f(3), f(4), f(5), f(6)])
        })
        .collect()
}

/// Two floats agree to 1e-9 relative (p-values far below 1e-300 may differ in how they underflow).
fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()) || a.max(b) < 1e-300
}

/// SPEC "Significant and non-redundant rules": on Belgian retail at support 0.001 and 0.005 and
/// confidence 0.5, every rule's p-value (one-sided Fisher), its Bonferroni, Holm and BH adjusted
/// p-values and its improvement equal the reference's, and `--rules-filter significant,non-redundant`
/// keeps exactly the rules with adjusted p <= 0.01 and improvement > 0 (4,911 rules: 458 redundant,
/// 2,207 significant with Bonferroni). (Issue 34.)
#[test]
fn belgian_retail_rule_significance_and_redundancy_equal_the_reference() {
    let input = belgian().join("baskets.parquet");
    let base = ["patterns", "-i", input.to_str().unwrap(), "--order-col", "basket_id", "--item-col", "item"];
    for (support, count) in [("0.001", 89u32), ("0.005", 441)] {
        let reference = significance_reference(count);
        for (adjust, k) in [("bonferroni", 1), ("holm", 2), ("bh", 3)] {
            let mut args = base.to_vec();
            args.extend(["--itemset-min-support", support, "--rules-adjust", adjust]);
            let (_o, out) = evergreen(&args);
            let rules = read_parquet(&out.join("rules.parquet"));
            assert_eq!(rules.height(), reference.len());
            let ante = rules.column("antecedent").unwrap().as_materialized_series().clone();
            let cons = ints(&rules, "consequent");
            let (p, adj, imp) = (floats(&rules, "p_value"), floats(&rules, "p_adjusted"), floats(&rules, "improvement"));
            for r in 0..rules.height() {
                let key = (int_list(ante.get(r).unwrap()), cons[r]);
                let want = reference[&key];
                assert!(close(p[r], want[0]), "{key:?}: p {} vs {}", p[r], want[0]);
                assert!(close(adj[r], want[k]), "{key:?} {adjust}: {} vs {}", adj[r], want[k]);
                assert_eq!(imp[r], want[4], "{key:?}: improvement");
            }
        }
        let mut args = base.to_vec();
        args.extend(["--itemset-min-support", support, "--rules-filter", "significant,non-redundant"]);
        let (_o, out) = evergreen(&args);
        let kept = rule_counts(&read_parquet(&out.join("rules.parquet")), 88_162.0);
        let want: Vec<&(Vec<i64>, i64)> = reference.iter().filter(|(_, v)| v[1] <= 0.01 && v[4] > 0.0).map(|(k, _)| k).collect();
        assert_eq!(kept.len(), want.len(), "kept rules at {support}");
        assert!(want.iter().all(|k| kept.contains_key(*k)));
        assert!(want.len() < reference.len() && !want.is_empty());
    }
    let reference = significance_reference(89);
    assert_eq!(reference.values().filter(|v| v[4] <= 0.0).count(), 458);
    assert_eq!(reference.values().filter(|v| v[1] <= 0.01).count(), 2207);
}

/// Issue 34 (point 6), moved from the kernel's own tests (the library's unit tests are not run:
/// one test binary). Hand-worked: 10 orders, 4 hold A, 5 hold c, 4 hold both: P[C >= 4] =
/// C(5,4)C(5,0)/C(10,4) = 5/210; P[C >= 0] = 1; P[C >= 5] = 0.
#[test]
fn fisher_tails_worked_by_hand() {
    use evergreen::kernels::fisher::fisher_greater;
    assert!((fisher_greater(4, 4, 5, 10) - 5.0 / 210.0).abs() < 1e-15);
    assert!((fisher_greater(2, 4, 5, 10) - (1.0 - (5.0 + 50.0) / 210.0)).abs() < 1e-15);
    assert_eq!(fisher_greater(0, 4, 5, 10), 1.0);
    assert_eq!(fisher_greater(5, 4, 5, 10), 0.0);
}

/// Issue 34 (point 6): R's p.adjust(c(0.01, 0.04, 0.03, 0.2), "holm") = 0.04 0.09 0.09 0.2;
/// "BH" = 0.04 0.0533 0.0533 0.2; "bonferroni" = 0.04 0.16 0.12 0.8.
#[test]
fn p_value_corrections_as_r_computes_them() {
    use evergreen::kernels::fisher::{benjamini_hochberg, bonferroni, holm};
    let p = [0.01, 0.04, 0.03, 0.2];
    let h = holm(&p);
    for (x, y) in h.iter().zip([0.04, 0.09, 0.09, 0.2]) {
        assert!((x - y).abs() < 1e-12, "{h:?}");
    }
    let b = benjamini_hochberg(&p);
    for (x, y) in b.iter().zip([0.04, 0.16 / 3.0, 0.16 / 3.0, 0.2]) {
        assert!((x - y).abs() < 1e-12, "{b:?}");
    }
    assert_eq!(bonferroni(&p), vec![0.04, 0.16, 0.12, 0.8]);
}

/// Issue 34 (point 5): sequence_patterns without a gap are Spark MLlib's PrefixSpan patterns.
/// `tests/fixtures/prefixspan/transactions_c150_l3.tsv` is MLlib's own output on the transactions
/// sample's customer sequences (pyspark 4.3.0, `bench/prefixspan_reference.py --mllib`, at least 150
/// customers, patterns of at most 3 steps: 793 of them); evergreen must find the same patterns
/// with the same customers.
#[test]
fn sequence_patterns_are_mllib_prefixspans() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p");
    let o = bin()
        .args(["patterns", "-q", "--no-itemsets", "--max-sequence-len", "3", "--sequence-min-support", "150"])
        .args(["-i", "data-samples/transactions.parquet", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let t = read_parquet(&out.join("sequence_patterns.parquet"));
    let pattern = t.column("pattern").unwrap().str().unwrap().clone();
    let customers = ints(&t, "customers");
    let mut got: Vec<String> = (0..t.height()).map(|i| format!("{}\t{}", pattern.get(i).unwrap(), customers[i])).collect();
    got.sort();
    let want: Vec<String> = std::fs::read_to_string("tests/fixtures/prefixspan/transactions_c150_l3.tsv")
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    assert!(want.len() > 20, "the fixture holds patterns: {}", want.len());
    assert!(want.iter().any(|l| l.contains(" > ")), "and patterns of more than one step");
    assert_eq!(got, want);
}

/// Issue 34 (point 5): sequence_patterns' options out of range are exit 2 from a flag and from the
/// config file alike, and more patterns than --max-sequence-patterns stop the run (exit 2, nothing
/// written) instead of holding them.
#[test]
fn sequence_pattern_limits_are_refused_or_stop_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p");
    let run = |args: &[&str]| {
        bin().args(["patterns", "-q", "--no-itemsets", "-i", "data-samples/transactions.parquet", "-o"]).arg(&out).args(args).output().unwrap()
    };
    for bad in [["--max-sequence-len", "0"], ["--max-sequence-len", "11"]] {
        assert_eq!(run(&bad).status.code(), Some(2), "{bad:?}");
    }
    let cfg = dir.path().join("c.toml");
    for (key, says) in [("max_sequence_len = 0", "expected 1..=10 steps"), ("max_sequence_len = 50", "expected 1..=10 steps")] {
        std::fs::write(&cfg, format!("[patterns]\n{key}\n")).unwrap();
        let o = run(&["--config", cfg.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{key}: {}", String::from_utf8_lossy(&o.stderr));
        assert!(String::from_utf8_lossy(&o.stderr).contains(says), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let o = run(&["--max-sequence-len", "3", "--sequence-min-support", "150", "--max-sequence-patterns", "100"]);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("more than --max-sequence-patterns 100"));
    assert!(!out.exists());
}
