//! SPEC "Scores": ties share a score, N not divisible by B, both methods, score_bins.

use evergreen::config::ScoringMethod;

use crate::common::*;

/// Seven customers, one order each on the same day; monetary 10, 20, 20, 30, 40, 40, 50.
fn seven() -> Vec<Line> {
    [10.0, 20.0, 20.0, 30.0, 40.0, 40.0, 50.0]
        .iter()
        .enumerate()
        .map(|(i, m)| line(Some(i as i64 + 1), 100 + i as i64, "2024-01-10 10:00", *m))
        .collect()
}

fn m_scores(r: &Run) -> Vec<i64> {
    (1..=7).map(|i| r.customer(i).i("m_score")).collect()
}

#[test]
fn rank_scores_give_ties_the_same_score() {
    // rank (1 + strictly smaller): 1, 2, 2, 4, 5, 5, 7; score = 1 + floor(5 (rank-1) / 7).
    let r = run_lines(&seven(), Some("2024-02-01"));
    assert_eq!(m_scores(&r), vec![1, 1, 1, 3, 3, 3, 5]);
    // Everyone has the same recency and frequency: rank 1, score 1.
    assert!((1..=7).all(|i| r.customer(i).i("r_score") == 1 && r.customer(i).i("f_score") == 1));
    assert_eq!(r.customer(7).s("rfm_cell"), "115");
}

#[test]
fn ntile_scores_break_ties_by_customer_id() {
    // rows 0..6 in order (monetary, customer_id): score = 1 + floor(5 k / 7) = 1,1,2,3,3,4,5.
    let (_d, p) = dump(&seven());
    let mut s = settings(&p, Some("2024-02-01"));
    s.scores.scoring = Some(ScoringMethod::Ntile);
    let r = compute(s);
    assert_eq!(m_scores(&r), vec![1, 1, 2, 3, 3, 4, 5]);
    // Recency all equal: ordered by customer_id, same split.
    assert_eq!((1..=7).map(|i| r.customer(i).i("r_score")).collect::<Vec<_>>(), vec![1, 1, 2, 3, 3, 4, 5]);
}

#[test]
fn recency_scores_favour_recent_customers() {
    // D = 2024-02-01; recency 1, 5, 5, 20 days. Key -recency: ranks 4, 2, 2, 1 (ascending key).
    let r = run_lines(
        &[
            line(Some(1), 1, "2024-01-31 10:00", 1.0),
            line(Some(2), 2, "2024-01-27 10:00", 1.0),
            line(Some(3), 3, "2024-01-27 11:00", 1.0),
            line(Some(4), 4, "2024-01-12 10:00", 1.0),
        ],
        Some("2024-02-01"),
    );
    // B = 5, N = 4: 1 + floor(5 (rank-1) / 4): rank 4 → 4, rank 2 → 2, rank 1 → 1.
    let got: Vec<i64> = (1..=4).map(|i| r.customer(i).i("r_score")).collect();
    assert_eq!(got, vec![4, 2, 2, 1]);
}

#[test]
fn bins_flag_changes_the_range() {
    let (_d, p) = dump(&seven());
    let mut s = settings(&p, Some("2024-02-01"));
    s.scores.bins = Some(3);
    s.sql.segment_map = Some(any_segment_map(p.parent().unwrap(), 3));
    let r = compute(s);
    // 1 + floor(3 (rank-1) / 7) for ranks 1,2,2,4,5,5,7 → 1,1,1,2,2,2,3.
    assert_eq!(m_scores(&r), vec![1, 1, 1, 2, 2, 2, 3]);
}

#[test]
fn score_bins_report_the_ranges_used() {
    let r = run_lines(&seven(), Some("2024-02-01"));
    let sb = r.table("score_bins");
    // recency: one bin (score 1, 7 customers); frequency: one bin; monetary: scores 1, 3, 5.
    let dims: Vec<String> =
        sb.column("dimension").unwrap().str().unwrap().iter().map(|v| v.unwrap().to_string()).collect();
    assert_eq!(dims, vec!["recency_days", "frequency", "monetary", "monetary", "monetary"]);
    assert_eq!(ints(sb, "score"), vec![1, 1, 1, 3, 5]);
    assert_eq!(ints(sb, "customers"), vec![7, 7, 3, 3, 1]);
    assert_eq!(floats(sb, "min_value"), vec![22.0, 1.0, 10.0, 30.0, 50.0]);
    assert_eq!(floats(sb, "max_value"), vec![22.0, 1.0, 20.0, 40.0, 50.0]);
}
