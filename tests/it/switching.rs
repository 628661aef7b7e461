//! Issue 34 (points 1-4): the switching tables' and product_hierarchy's options and what they refuse. The tables' values
//! are worked by hand in `tests/cases/switching_groups` and `tests/cases/switching_revenue_tree`
//! (run on every engine) and compared with openretailscience by `bench/switching_reference.py`.

use crate::common::*;
use polars::prelude::*;

/// Four orders of two customers in January and February, with a `category` column.
fn category_dump() -> (tempfile::TempDir, std::path::PathBuf) {
    let mut df = frame(&[
        pline(Some(1), 1, "2024-01-05 10:00", 10.0, 100),
        pline(Some(1), 1, "2024-01-05 10:00", 5.0, 200),
        pline(Some(1), 2, "2024-02-05 10:00", 4.0, 100),
        pline(Some(2), 3, "2024-01-07 10:00", 6.0, 200),
        pline(Some(2), 4, "2024-02-07 10:00", 9.0, 100),
    ]);
    let category = ["dairy", "bakery", "dairy", "bakery", "dairy"];
    df.with_column(Column::new("category".into(), category)).unwrap();
    dump_frame(&mut df)
}

const PERIODS: [&str; 4] = ["--period-a", "2024-01-01..2024-01-31", "--period-b", "2024-02-01..2024-02-29"];

fn run(dump: &std::path::Path, out: &std::path::Path, extra: &[&str]) -> std::process::Output {
    bin().args(["run", "-q", "--as-of", "2024-03-01", "-i"]).arg(dump).arg("-o").arg(out).args(extra).output().unwrap()
}

/// Issue 34: options that make no switching table, or make an ambiguous one, are exit 2 before
/// anything is read or written.
#[test]
fn switching_options_that_cannot_be_computed_are_config_errors() {
    let (d, p) = category_dump();
    let out = d.path().join("out");
    let dairy = "dairy=category = 'dairy'";
    let cases: [(&[&str], &str); 9] = [
        (&["--product-hierarchy", "1"], "expected 2..=128 products"),
        (&["--product-hierarchy", "129"], "expected 2..=128 products"),
        (&["--group", dairy], "needs --period-a and --period-b"),
        (&["--period-a", "2024-01-01..2024-01-31"], "give both periods"),
        (&["--period-a", "2024-01-01..2024-02-10", "--period-b", "2024-02-01..2024-02-29"], "overlap"),
        (&["--period-a", "2024-01-31..2024-01-01", "--period-b", "2024-02-01..2024-02-29"], "after the second"),
        (&["--period-a", "2024-01-01", "--period-b", "2024-02-01..2024-02-29"], "no `..`"),
        (&["--group", dairy, "--group", "dairy=category = 'bakery'"], "given twice"),
        (&["--group", "a=1=1", "--group", "b=1=1", "--group", "c=1=1", "--group", "d=1=1"], "at most 3 groups"),
    ];
    for (args, says) in cases {
        let o = run(&p, &out, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr_of(&o));
        assert!(stderr_of(&o).contains(says), "{args:?}: {}", stderr_of(&o));
        assert!(!out.exists(), "{args:?} wrote an output");
    }
    // A config file's `group` key given to `basket`, which has no switching table.
    let cfg = d.path().join("c.toml");
    std::fs::write(&cfg, "group = [\"dairy=category = 'dairy'\"]\n").unwrap();
    let o = bin().args(["basket", "-q", "-i"]).arg(&p).arg("-o").arg(&out).arg("--config").arg(&cfg).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr_of(&o));
    assert!(stderr_of(&o).contains("tables of `run`"), "{}", stderr_of(&o));
}

/// Issue 34: a group's predicate that names a missing column (or is not true/false) stops the run
/// with exit 4 naming the group, the file and the predicate; nothing is written.
#[test]
fn a_bad_group_predicate_names_the_group_and_the_file() {
    let (d, p) = category_dump();
    let out = d.path().join("out");
    let mut args = vec!["--group", "dairy=category = 'dairy'", "--group", "bad=aisle = 3"];
    args.extend(PERIODS);
    let o = run(&p, &out, &args);
    assert_eq!(o.status.code(), Some(4), "{}", stderr_of(&o));
    let e = stderr_of(&o);
    assert!(e.contains("--group bad `aisle = 3`") && e.contains(p.to_str().unwrap()) && e.contains("aisle"), "{e}");
    // A predicate that fails on the values (text that is no number) is the input's fault too.
    let mut args = vec!["--group", "dairy=category = 'dairy'", "--group", "num=CAST(category AS INT) > 5"];
    args.extend(PERIODS);
    let o = run(&p, &out, &args);
    assert_eq!(o.status.code(), Some(4), "{}", stderr_of(&o));
    assert!(stderr_of(&o).contains("--group num `CAST(category AS INT) > 5`"), "{}", stderr_of(&o));
    let o = run(&p, &out, &["--group", "dairy=category", "--group", "b=category = 'bakery'"]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr_of(&o));
    assert!(stderr_of(&o).contains("not a true/false condition"), "{}", stderr_of(&o));
    assert!(!out.exists());
}

/// Issue 34: a line is in the first group whose predicate holds, so groups never overlap; a run
/// with groups keeps every other table as without them.
#[test]
fn a_line_is_in_the_first_group_that_holds_and_other_tables_are_unchanged() {
    let (d, p) = category_dump();
    let (plain, grouped) = (d.path().join("plain"), d.path().join("grouped"));
    assert!(run(&p, &plain, &[]).status.success());
    // Every line matches `all`, but the dairy lines are dairy's first.
    let mut args = vec!["--group", "dairy=category = 'dairy'", "--group", "all=TRUE"];
    args.extend(PERIODS);
    let o = run(&p, &grouped, &args);
    assert!(o.status.success(), "{}", stderr_of(&o));
    let cs = read_parquet(&grouped.join("cross_shop.parquet"));
    // Customer 1 bought dairy and bakery (in `all`), customer 2 too: one region, both groups.
    assert_eq!(cs.height(), 1);
    assert_eq!(ints(&cs, "customers"), vec![2]);
    assert_eq!(floats(&cs, "amount"), vec![34.0]);
    let gl = read_parquet(&grouped.join("gain_loss.parquet"));
    // Dairy: customer 1 10 -> 4, customer 2 0 -> 9. Against `all` (bakery lines only here):
    // customer 1 bakery 5 -> 0, focus -6, comparison -5: decreased -6; customer 2 bakery 6 -> 0,
    // focus +9, comparison -6: switched from 6, increased 3.
    assert_eq!(floats(&gl, "focus_change"), vec![3.0, 3.0]);
    assert_eq!(floats(&gl, "decreased"), vec![-6.0, -6.0]);
    assert_eq!(floats(&gl, "switched_from_comparison"), vec![6.0, 6.0]);
    assert_eq!(floats(&gl, "increased"), vec![3.0, 3.0]);
    for t in ["customers", "products", "kpis", "cohorts", "basket_pairs"] {
        assert_eq!(
            std::fs::read(plain.join(format!("{t}.parquet"))).unwrap(),
            std::fs::read(grouped.join(format!("{t}.parquet"))).unwrap(),
            "{t} changed with --group"
        );
    }
}

/// Issue 34 with issue 33: the groups are kept with the state's lines; an incremental run writes
/// the switching tables of a full run, and other groups force a full run.
#[test]
fn switching_tables_of_an_incremental_run_are_a_full_runs() {
    let (d, p) = category_dump();
    let input = d.path().join("in");
    std::fs::create_dir(&input).unwrap();
    std::fs::rename(&p, input.join("a.parquet")).unwrap();
    let mut later = frame(&[pline(Some(3), 5, "2024-02-20 10:00", 7.0, 100), pline(Some(1), 6, "2024-02-21 10:00", 2.0, 200)]);
    later.with_column(Column::new("category".into(), ["dairy", "bakery"])).unwrap();
    let state = d.path().join("state");
    let mut args = vec!["--group", "dairy=category = 'dairy'", "--group", "bakery=category = 'bakery'", "--state", state.to_str().unwrap()];
    args.extend(PERIODS);
    let inc = d.path().join("inc");
    assert!(run(&input, &inc, &args).status.success());
    write_parquet(&mut later, &input.join("b.parquet"));
    let o = run(&input, &inc, &args);
    assert!(o.status.success(), "{}", stderr_of(&o));
    assert_eq!(manifest(&inc)["state"]["run"], "incremental");
    let full = d.path().join("full");
    assert!(run(&input, &full, &args[..4].iter().chain(&PERIODS).copied().collect::<Vec<_>>()).status.success());
    for t in ["gain_loss", "cross_shop", "revenue_tree"] {
        assert_eq!(
            std::fs::read(inc.join(format!("{t}.parquet"))).unwrap(),
            std::fs::read(full.join(format!("{t}.parquet"))).unwrap(),
            "{t}"
        );
    }
    // Another predicate changes which group a kept line is in: the state's lines cannot be reused.
    args[1] = "dairy=category = 'dairy' OR amount > 100";
    let o = run(&input, &inc, &args);
    assert!(o.status.success(), "{}", stderr_of(&o));
    assert_eq!(manifest(&inc)["state"]["run"], "full");
    assert!(manifest(&inc)["state"]["reason"].as_str().unwrap().contains("settings"), "{}", manifest(&inc)["state"]);
}

/// Issue 34 (point 4): Yule's Q by hand: 30 both, 10 first only, 20 second only, 40 neither:
/// (30·40 − 10·20) / (30·40 + 10·20) = 1000 / 1400; no customer choosing one over the other is 1.
#[test]
fn yule_q_of_tables_worked_by_hand() {
    use evergreen::kernels::hierarchy::yule_q;
    assert!((yule_q(30, 10, 20, 40) - 1000.0 / 1400.0).abs() < 1e-15);
    assert_eq!(yule_q(0, 5, 5, 5), -1.0);
    assert_eq!(yule_q(0, 0, 5, 5), 1.0);
}

/// Issue 34 (point 4): items ranked by purchase orders, ties by the smaller code, none that is in
/// no order; four points on a line at 0, 1, 3, 7 (|x − y| distances): average linkage joins 0 and
/// 1 at 1; then {0,1} and 3 at (3 + 2) / 2 = 2.5; then that and 7 at (7 + 6 + 4) / 3 = 17/3.
#[test]
fn ranking_and_average_linkage_worked_by_hand() {
    use evergreen::kernels::hierarchy::{average_linkage, top_items, Merge};
    assert_eq!(top_items(&[3, 0, 5, 3], 4), vec![2, 0, 3]);
    assert_eq!(top_items(&[3, 0, 5, 3], 2), vec![2, 0]);
    let x = [0.0f64, 1.0, 3.0, 7.0];
    let dist: Vec<f64> = (0..16).map(|k| (x[k / 4] - x[k % 4]).abs()).collect();
    let m = average_linkage(4, &dist);
    assert_eq!(m[0], Merge { left: 0, right: 1, distance: 1.0, size: 2 });
    assert_eq!(m[1], Merge { left: 2, right: 4, distance: 2.5, size: 3 });
    assert_eq!((m[2].left, m[2].right, m[2].size), (3, 5, 4));
    assert!((m[2].distance - 17.0 / 3.0).abs() < 1e-12);
}
