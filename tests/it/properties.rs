//! Property tests: scores stay in 1..B, equal keys share a score, input order changes nothing.

use polars::prelude::*;
use proptest::prelude::*;

use crate::common::*;

fn arb_lines() -> impl Strategy<Value = Vec<(i64, i64, i64, i64)>> {
    // (customer 1..12, order 1..40, day 0..60, amount in cents -500..5000)
    prop::collection::vec((1i64..12, 1i64..40, 0i64..60, -500i64..5000), 1..80)
}

fn frame_of(rows: &[(i64, i64, i64, i64)]) -> DataFrame {
    // The order decides the customer so that no order names two customers.
    let mut df = df!(
        "customer_id" => rows.iter().map(|r| (r.1 * 7 + r.0 % 2) % 9).collect::<Vec<_>>(),
        "order_id" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        "ts" => rows.iter().map(|r| micros("2024-01-01 12:00") + r.2 * 86_400_000_000).collect::<Vec<_>>(),
        "amount" => rows.iter().map(|r| r.3 as f64 / 100.0).collect::<Vec<_>>(),
        "product_id" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
    )
    .unwrap();
    df.apply("ts", |s| s.cast(&DataType::Datetime(TimeUnit::Microseconds, None)).unwrap()).unwrap();
    df
}

fn tables_of(df: &mut DataFrame, bins: u8) -> Option<Run> {
    let (_d, p) = dump_frame(df);
    let mut s = settings(&p, Some("2024-03-15"));
    s.scores.bins = Some(bins);
    s.sql.segment_map = Some(any_segment_map(p.parent().unwrap(), bins));
    let cfg = s.resolve().unwrap();
    match evergreen::run::compute(&cfg, &mut evergreen::run::Stopwatch::start()) {
        Ok(t) => Some(Run { tables: t.tables, counts: t.counts, as_of: t.as_of.unwrap() }),
        // A random dump may hold no customer with a purchase order; anything else is a failure.
        Err(evergreen::Error::Empty { .. }) => None,
        Err(e) => panic!("run failed: {e}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn scores_in_range_and_ties_share_a_score(rows in arb_lines(), bins in 2u8..=9) {
        let Some(r) = tables_of(&mut frame_of(&rows), bins) else { return Ok(()); };
        let c = r.table("customers");
        for (value, score) in [("recency_days", "r_score"), ("frequency", "f_score"), ("monetary", "m_score")] {
            let v = floats(c, value);
            let s = ints(c, score);
            prop_assert!(s.iter().all(|x| (1..=bins as i64).contains(x)));
            for i in 0..v.len() {
                for j in 0..v.len() {
                    if v[i] == v[j] { prop_assert_eq!(s[i], s[j]); }
                    // Better key, never a lower score.
                    let better = if value == "recency_days" { v[i] < v[j] } else { v[i] > v[j] };
                    if better { prop_assert!(s[i] >= s[j]); }
                }
            }
        }
    }

    #[test]
    fn shuffling_rows_changes_no_table(rows in arb_lines(), seed in any::<u64>()) {
        let mut df = frame_of(&rows);
        let Some(a) = tables_of(&mut df, 5) else { return Ok(()); };
        let mut shuffled = df.sample_n_literal(df.height(), false, Some(true), Some(seed)).unwrap();
        let b = tables_of(&mut shuffled, 5).unwrap();
        for ((name, x), (_, y)) in a.tables.iter().zip(b.tables.iter()) {
            prop_assert!(x.equals_missing(y), "table {} differs after shuffling:\n{}\n{}", name, x, y);
        }
    }
}
