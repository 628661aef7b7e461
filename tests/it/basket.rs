//! SPEC "Table products" and "Table basket_pairs", on hand-worked baskets, and the kernel
//! against a naive all-pairs count.

use std::collections::HashMap;

use evergreen::config::BasketOptions;
use evergreen::kernels::pairs::{count_pairs, count_pairs_within};
use proptest::prelude::*;

use crate::common::*;

/// Five purchase orders and some that must not count:
///   o1: A B C      o2: A B (B twice)      o3: A C      o4: B C (guest)      o5: A B
///   o6: A B with a return line of C and net 0 → not a purchase
///   o7: D with a negative line only → not a purchase
/// Products are 1 = A, 2 = B, 3 = C, 4 = D.
fn baskets() -> Vec<Line> {
    vec![
        pline(Some(1), 1, "2024-01-01 10:00", 5.0, 1),
        pline(Some(1), 1, "2024-01-01 10:00", 5.0, 2),
        pline(Some(1), 1, "2024-01-01 10:00", 5.0, 3),
        pline(Some(2), 2, "2024-01-02 10:00", 4.0, 1),
        pline(Some(2), 2, "2024-01-02 10:00", 3.0, 2),
        pline(Some(2), 2, "2024-01-02 10:00", 3.0, 2),
        pline(Some(1), 3, "2024-01-03 10:00", 2.0, 1),
        pline(Some(1), 3, "2024-01-03 10:00", 2.0, 3),
        pline(None, 4, "2024-01-04 10:00", 1.0, 2),
        pline(None, 4, "2024-01-04 10:00", 1.0, 3),
        pline(Some(3), 5, "2024-01-05 10:00", 1.0, 1),
        pline(Some(3), 5, "2024-01-05 10:00", 1.0, 2),
        pline(Some(3), 5, "2024-01-05 10:00", -1.0, 3),
        pline(Some(3), 6, "2024-01-06 10:00", 1.0, 1),
        pline(Some(3), 6, "2024-01-06 10:00", 1.0, 2),
        pline(Some(3), 6, "2024-01-06 10:00", -2.0, 3),
        pline(Some(4), 7, "2024-01-07 10:00", -3.0, 4),
    ]
}

fn strings(df: &polars::prelude::DataFrame, c: &str) -> Vec<String> {
    let s = df.column(c).unwrap().cast(&polars::prelude::DataType::String).unwrap();
    s.str().unwrap().iter().map(|v| v.unwrap().to_string()).collect()
}

#[test]
fn thresholds_as_count_and_as_fraction() {
    let (_d, path) = dump(&baskets());
    let mut s = settings(&path, Some("2024-02-01"));
    s.basket.min_pair_orders = Some(3);
    assert_eq!(ints(compute(s.clone()).table("basket_pairs"), "pair_orders"), vec![3]);
    // min_support 0.5 of 5 orders → ceil(2.5) = 3 orders.
    s.basket.min_pair_orders = None;
    s.basket.min_support = Some(0.5);
    assert_eq!(ints(compute(s.clone()).table("basket_pairs"), "pair_orders"), vec![3]);
    // Both: 0.2 * 5 = 1 vs 2 → the larger (2) wins.
    s.basket.min_support = Some(0.2);
    s.basket.min_pair_orders = Some(2);
    assert_eq!(ints(compute(s.clone()).table("basket_pairs"), "pair_orders"), vec![3, 2, 2]);
    s.basket.min_pair_orders = None;
    s.basket.min_support = Some(0.2);
    assert_eq!(compute(s).table("basket_pairs").height(), 3, "threshold 1: every pair");
}

#[test]
fn threshold_rule() {
    let o = |c: Option<u64>, s: Option<f64>| BasketOptions { min_pair_orders: c, min_support: s, ..Default::default() };
    assert_eq!(o(None, None).threshold(1000), 2);
    assert_eq!(o(Some(5), None).threshold(1000), 5);
    assert_eq!(o(None, Some(0.0105)).threshold(1000), 11, "ceil(10.5)");
    assert_eq!(o(None, Some(0.01)).threshold(1000), 10, "exactly 10, not 11");
    assert_eq!(o(Some(20), Some(0.01)).threshold(1000), 20);
}

#[test]
fn max_basket_items_skips_large_orders() {
    let (_d, path) = dump(&baskets());
    let mut s = settings(&path, Some("2024-02-01"));
    s.basket.limits.max_basket_items = Some(2);
    let cfg = s.resolve().unwrap();
    let t = evergreen::run::compute(&cfg, &mut evergreen::run::Stopwatch::start()).unwrap();
    // o1 (3 items) skipped: AB = 2 (o2, o5), AC = 1, BC = 1 → only AB kept.
    assert_eq!(t.basket.as_ref().unwrap().orders_skipped_too_large, 1);
    let p = &t.tables.iter().find(|(n, _)| *n == "basket_pairs").unwrap().1;
    assert_eq!(ints(p, "pair_orders"), vec![2]);
}

#[test]
fn basket_only_dump_needs_just_order_and_item() {
    use polars::prelude::*;
    let mut df = df!(
        "basket" => [1i64, 1, 2, 2, 2, 3],
        "sku" => ["x", "y", "x", "y", "z", "z"],
    )
    .unwrap();
    let (_d, p) = dump_frame(&mut df);
    let out = p.parent().unwrap().join("out");
    let st = bin()
        .args([
            "basket",
            "--input",
            p.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--order-col",
            "basket",
            "--item-col",
            "sku",
        ])
        .output()
        .unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    let pairs = read_parquet(&out.join("basket_pairs.parquet"));
    assert_eq!(strings(&pairs, "product_a"), vec!["x"]);
    assert_eq!(strings(&pairs, "product_b"), vec!["y"]);
    assert_eq!(ints(&pairs, "pair_orders"), vec![2]);
    assert!((floats(&pairs, "support")[0] - 2.0 / 3.0).abs() < 1e-12);
    assert!(!out.join("customers.parquet").exists());
}

#[test]
fn top_per_item_keeps_each_items_strongest_partners() {
    let (_d, path) = dump(&baskets());
    let mut s = settings(&path, Some("2024-02-01"));
    s.basket.top_per_item = Some(1);
    // A's strongest: B (3). B's strongest: A (3). C's: A vs B both 2; lift AC = 10/12 > BC = 10/12? equal,
    // so the smaller partner (A) wins. Kept: AB, AC.
    let p = compute(s).table("basket_pairs").clone();
    assert_eq!(strings(&p, "product_a"), vec!["1", "1"]);
    assert_eq!(strings(&p, "product_b"), vec!["2", "3"]);
}

fn naive(baskets: &[Vec<u32>]) -> HashMap<u64, u32> {
    let mut m = HashMap::new();
    for b in baskets {
        let mut s = b.clone();
        s.sort_unstable();
        s.dedup();
        for i in 0..s.len() {
            for j in i + 1..s.len() {
                *m.entry(((s[i] as u64) << 32) | s[j] as u64).or_insert(0) += 1;
            }
        }
    }
    m
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn kernel_threshold_and_size_limit_match_the_naive_count(
        baskets in prop::collection::vec(prop::collection::vec(0u32..20, 0..10), 0..150),
        threshold in 1u32..5,
        max_items in 2usize..8,
        budget in 1usize..60,
    ) {
        let mut offsets = vec![0usize];
        let mut values = Vec::new();
        for b in &baskets {
            values.extend_from_slice(b);
            offsets.push(values.len());
        }
        let small: Vec<Vec<u32>> = baskets
            .iter()
            .filter(|b| { let mut s = (*b).clone(); s.sort_unstable(); s.dedup(); s.len() <= max_items })
            .cloned()
            .collect();
        let want: HashMap<u64, u32> = naive(&small).into_iter().filter(|(_, n)| *n >= threshold).collect();
        // A small budget forces many passes over the baskets, one range of first items at a time.
        let got = count_pairs_within(&offsets, &values, 20, threshold, Some(max_items), budget);
        let got_map: HashMap<u64, u32> = got.pairs.iter().map(|&(a, b, n)| (((a as u64) << 32) | b as u64, n)).collect();
        prop_assert_eq!(got_map, want);
        // Ordered by a, then b.
        prop_assert!(got.pairs.windows(2).all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1)));
        prop_assert_eq!(got.baskets_skipped as usize, baskets.len() - small.len());
    }
    #[test]
    fn kernel_matches_naive_all_pairs(baskets in prop::collection::vec(prop::collection::vec(0u32..30, 0..12), 0..200)) {
        let mut offsets = vec![0usize];
        let mut values = Vec::new();
        for b in &baskets {
            values.extend_from_slice(b);
            offsets.push(values.len());
        }
        let got: HashMap<u64, u32> = count_pairs(&offsets, &values, 30, 1, None)
            .pairs
            .into_iter()
            .map(|(a, b, n)| (((a as u64) << 32) | b as u64, n))
            .collect();
        prop_assert_eq!(got, naive(&baskets));
    }
}

#[test]
fn large_clustered_dumps_build_the_same_baskets_as_scattered_ones() {
    // Over 64k lines, a dump listing each order's lines together is built in two halves on both
    // cores; shuffled, the same lines take the counting-sort path (itself split across threads).
    // Every table must be identical.
    use polars::prelude::*;
    let n = 150_000usize;
    let lines: Vec<Line> = (0..n)
        .map(|i| Line {
            customer: Some((i / 4 % 997) as i64),
            order: (i / 4) as i64,
            ts: "2024-01-10 10:00",
            amount: if i % 11 == 0 { -1.0 } else { 1.0 + (i % 7) as f64 },
            product: Some(((i * 7919) % 300) as i64),
        })
        .collect();
    let mut clustered = frame(&lines);
    let mut shuffled = clustered.sample_n_literal(n, false, Some(true), Some(5)).unwrap();
    let run = |df: &mut DataFrame| {
        let (_d, p) = dump_frame(df);
        compute(settings(&p, Some("2024-02-01")))
    };
    let (a, b) = (run(&mut clustered), run(&mut shuffled));
    for name in ["basket_pairs", "products", "customers"] {
        assert!(a.table(name).equals_missing(b.table(name)), "{name} differs");
    }
    assert!(a.table("basket_pairs").height() > 100);
}

#[test]
fn grouping_by_code_on_all_threads_equals_a_stable_sort() {
    // Long enough to be split across threads; codes in a scrambled order, some left out.
    let n = 300_000usize;
    let code = |i: usize| (!(i * 7919 + 13).is_multiple_of(1009)).then(|| ((i * 2654435761) % 5003) as u32);
    let codes: Vec<u32> = (0..n).map(|i| code(i).unwrap_or(evergreen::kernels::codes::NONE)).collect();
    let (offsets, members) = evergreen::kernels::codes::group_by_code(5003, &codes);
    let mut want: Vec<(u32, u32)> = (0..n).filter_map(|i| code(i).map(|g| (g, i as u32))).collect();
    want.sort();
    assert_eq!(members, want.iter().map(|p| p.1).collect::<Vec<_>>());
    for g in 0..5003usize {
        assert!(members[offsets[g]..offsets[g + 1]].iter().all(|&i| code(i as usize) == Some(g as u32)));
    }
    assert_eq!(offsets[5003], want.len());
}

#[test]
fn dense_codes_of_scattered_ids_number_keys_by_first_appearance() {
    // 400k lines over ids spanning 1.6M values in scrambled order (the table outgrows the caches,
    // so the encoder prefetches); every 7th id is null. Codes must number keys by first appearance.
    use polars::prelude::*;
    let n = 400_000u64;
    let ids: Vec<Option<i64>> =
        (0..n).map(|i| (i % 7 != 3).then(|| ((i * 2_654_435_761) % 400_000 * 4) as i64)).collect();
    let codes = evergreen::kernels::codes::encode(&Column::new("order_id".into(), &ids)).unwrap();
    let mut seen = std::collections::HashMap::new();
    for (row, id) in ids.iter().enumerate() {
        let want = match id {
            None => evergreen::kernels::codes::NONE,
            Some(k) => {
                let next = seen.len() as u32;
                *seen.entry(*k).or_insert(next)
            }
        };
        assert_eq!(codes.codes[row], want, "row {row}");
    }
    assert_eq!(codes.len(), seen.len());
}
