//! Issue 12: BG/NBD, Gamma-Gamma, P(alive) and CLV. Expected values come from the papers (Fader,
//! Hardie & Lee 2005; Fader & Hardie 2013) and from lifetimes 0.11.3 run on the CDNOW sample at
//! test-writing time (`bench/cdnow_reference.py` wrote `tests/fixtures/cdnow/reference.json`), or
//! are worked out by hand.

use std::path::{Path, PathBuf};

use evergreen::kernels::{bgnbd, gamma_gamma};
use polars::prelude::*;
use serde_json::Value;

use crate::common::*;

fn cdnow() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cdnow")
}

fn reference() -> Value {
    serde_json::from_slice(&std::fs::read(cdnow().join("reference.json")).unwrap()).unwrap()
}

/// The paper's calibration summary: (id, x, t_x, T, zbar) in weeks.
fn paper_summary() -> Vec<(i64, u32, f64, f64, f64)> {
    let text = std::fs::read_to_string(cdnow().join("summary.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].parse().unwrap(), f[1].parse().unwrap(), f[2].parse().unwrap(), f[3].parse().unwrap(), f[4].parse().unwrap())
        })
        .collect()
}

fn close(got: f64, want: f64, rel: f64, what: &str) {
    assert!((got - want).abs() <= rel * want.abs().max(1e-12), "{what}: got {got}, want {want} (rel {rel})");
}

/// `evergreen <args>` into a fresh folder; returns the folder (kept alive by the TempDir).
fn evergreen(args: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = bin().args(args).args(["-o", out.to_str().unwrap()]).env_remove("EVERGREEN_INPUT").output().unwrap();
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    (dir, out)
}

/// clv_params as (model, parameter) -> value.
fn params(out: &Path) -> std::collections::HashMap<(String, String), f64> {
    let df = read_parquet(&out.join("clv_params.parquet"));
    let m = df.column("model").unwrap().str().unwrap().clone();
    let p = df.column("parameter").unwrap().str().unwrap().clone();
    let v = df.column("value").unwrap().f64().unwrap().clone();
    (0..df.height()).map(|i| ((m.get(i).unwrap().into(), p.get(i).unwrap().into()), v.get(i).unwrap_or(f64::NAN))).collect()
}

/// One row of a table by integer customer_id: column -> f64 (null -> NaN).
fn row(df: &DataFrame, id: i64) -> std::collections::HashMap<String, f64> {
    let ids = df.column("customer_id").unwrap().i64().unwrap();
    let i = ids.iter().position(|v| v == Some(id)).unwrap_or_else(|| panic!("customer {id}"));
    df.columns()
        .iter()
        .filter(|c| c.dtype().is_primitive_numeric())
        .map(|c| (c.name().to_string(), c.cast(&DataType::Float64).unwrap().f64().unwrap().get(i).unwrap_or(f64::NAN)))
        .collect()
}

/// Issue 12.
#[test]
fn bgnbd_reproduces_the_paper_on_the_cdnow_summary() {
    let s = paper_summary();
    assert_eq!(s.len(), 2357);
    let x: Vec<u32> = s.iter().map(|r| r.1).collect();
    let tx: Vec<f64> = s.iter().map(|r| r.2).collect();
    let t: Vec<f64> = s.iter().map(|r| r.3).collect();
    let (rows, _) = bgnbd::collapse(&x, &tx, &t);
    assert!(rows.len() < s.len(), "identical rows are collapsed into weights");
    let fit = bgnbd::fit(&rows, bgnbd::Variant::BgNbd).unwrap();
    let p = fit.params;
    // Fader, Hardie & Lee (2005), section 5: r = 0.243, α = 4.414, a = 0.793, b = 2.426, LL = -9582.4.
    assert_eq!(format!("{:.3} {:.3} {:.3} {:.3}", p.r, p.alpha, p.a, p.b), "0.243 4.414 0.793 2.426");
    assert_eq!(format!("{:.1}", fit.log_likelihood), "-9582.4");
    assert!(fit.converged && fit.at_bound.is_empty(), "{fit:?}");
    // And lifetimes' fit on the same summary, to 4 significant digits and beyond.
    let r = &reference()["paper_weeks"];
    for (got, k) in [(p.r, "r"), (p.alpha, "alpha"), (p.a, "a"), (p.b, "b")] {
        close(got, r["bgnbd"][k].as_f64().unwrap(), 1e-5, k);
    }
    close(fit.log_likelihood, r["bgnbd_log_likelihood"].as_f64().unwrap(), 1e-9, "log-likelihood");
}

/// Issue 12.
#[test]
fn gamma_gamma_matches_lifetimes_on_the_cdnow_summary() {
    let s = paper_summary();
    let rows = gamma_gamma::collapse(s.iter().filter(|r| r.1 > 0).map(|r| (r.1, r.4)));
    assert_eq!(rows.iter().map(|r| r.weight).sum::<f64>(), 946.0, "the paper's 946 repeat buyers");
    let fit = gamma_gamma::fit(&rows).unwrap();
    let r = &reference()["paper_weeks"]["gamma_gamma"];
    close(fit.params.p, r["p"].as_f64().unwrap(), 1e-5, "p");
    close(fit.params.q, r["q"].as_f64().unwrap(), 1e-5, "q");
    close(fit.params.gamma, r["v"].as_f64().unwrap(), 1e-5, "gamma");
}

/// Issue 12.
#[test]
fn predictions_match_lifetimes_for_cdnow_customers() {
    let s = paper_summary();
    let x: Vec<u32> = s.iter().map(|r| r.1).collect();
    let tx: Vec<f64> = s.iter().map(|r| r.2).collect();
    let t: Vec<f64> = s.iter().map(|r| r.3).collect();
    let bg = bgnbd::fit(&bgnbd::collapse(&x, &tx, &t).0, bgnbd::Variant::BgNbd).unwrap().params;
    let gg = gamma_gamma::fit(&gamma_gamma::collapse(s.iter().filter(|r| r.1 > 0).map(|r| (r.1, r.4)))).unwrap().params;
    let r = &reference()["paper_weeks"];
    let horizon = r["horizon"].as_f64().unwrap();
    for c in r["customers"].as_array().unwrap() {
        let (cx, ctx, ct) = (c["x"].as_u64().unwrap() as u32, c["t_x"].as_f64().unwrap(), c["T"].as_f64().unwrap());
        let m = s.iter().find(|v| v.0 == c["customer_id"].as_i64().unwrap()).unwrap().4;
        close(bgnbd::p_alive(bgnbd::Variant::BgNbd, bg, cx, ctx, ct), c["p_alive"].as_f64().unwrap(), 1e-4, "p_alive");
        close(bgnbd::expected_purchases(bgnbd::Variant::BgNbd, bg, cx, ctx, ct, horizon), c["expected_purchases"].as_f64().unwrap(), 1e-4, "E[purchases]");
        close(gamma_gamma::expected_value(gg, cx, m), c["expected_order_value"].as_f64().unwrap(), 1e-4, "E[value]");
    }
}

/// Parameters where a + b < 1, as the UCI Online Retail sample gives: 2F1's c is negative for
/// x = 0. The values are lifetimes 0.11.3's (scipy's hyp2f1) for the same parameters.
/// (Issue 12.)
#[test]
fn expected_purchases_with_a_plus_b_below_one_match_scipy() {
    let p = bgnbd::Params { r: 1.334001925599978, alpha: 66.1443412367305, a: 0.022124672062136162, b: 0.1558292049146377 };
    close(bgnbd::expected_purchases(bgnbd::Variant::BgNbd, p, 0, 0.0, 183.0, 90.0), 0.46309112269276514, 1e-9, "x = 0");
    close(bgnbd::expected_purchases(bgnbd::Variant::BgNbd, p, 3, 100.0, 183.0, 90.0), 1.4693622978593257, 1e-9, "x = 3");
    close(bgnbd::expected_purchases(bgnbd::Variant::BgNbd, p, 30, 170.0, 183.0, 90.0), 11.230196179828932, 1e-9, "x = 30");
    close(bgnbd::p_alive(bgnbd::Variant::BgNbd, p, 3, 100.0, 183.0), 0.94391703, 1e-7, "p_alive");
    // 2F1(a, b; c; z) at a few points against closed forms: 2F1(1, 1; 2; z) = -ln(1-z)/z.
    close(bgnbd::scaled_hyp2f1(1.0, 1.0, 2.0, 0.9, 0.0), -(0.1f64.ln()) / 0.9, 1e-13, "2F1(1,1;2;0.9)");
    assert!(bgnbd::scaled_hyp2f1(1.0, 1.0, -2.0, 0.5, 0.0).is_nan(), "c a non-positive integer");
}

/// (r, α, a), x, t_x, T, horizon, E[purchases] with b = 2.5 (mpmath 1.3, `mp.hyp2f1` at 50 digits;
/// the a = 1 rows as the mean of a = 1 ± 1e-20).
#[allow(clippy::excessive_precision, clippy::type_complexity)] // mpmath's digits, as printed
const MPMATH: [((f64, f64, f64), u32, f64, f64, f64, f64); 9] = [
    ((100.0, 100.0, 0.8), 0, 0.0, 1.0, 365.0, 21.281955821335844),
    ((100.0, 1000.0, 0.8), 0, 0.0, 1.0, 3650.0, 21.340449116191563),
    ((200.0, 2000.0, 0.8), 0, 0.0, 1.0, 3650.0, 21.356767954920732),
    ((200.0, 2000.0, 0.8), 5, 300.0, 365.0, 3650.0, 1.1032920611088176),
    ((0.243, 30.8, 0.8), 0, 0.0, 273.0, 90.0, 0.069040010409036292),
    ((0.243, 30.8, 0.8), 40, 250.0, 260.0, 90.0, 10.383851603165089),
    ((0.243, 30.8, 0.8), 500, 360.0, 365.0, 3650.0, 771.81388231632233),
    ((0.243, 30.8, 1.0), 3, 100.0, 200.0, 90.0, 0.46962232510617232),
    ((0.243, 30.8, 1.0), 0, 0.0, 50.0, 365.0, 0.69963690313110577),
];

/// Large r (the near-Poisson limit) and a = 1 exactly: the values of mpmath 1.3 (50 digits) for
/// equation 10, computed at test-writing time.
/// (Issue 12.)
#[test]
fn expected_purchases_for_large_r_and_a_equal_to_one() {
    let p = |r: f64, alpha: f64, a: f64| bgnbd::Params { r, alpha, a, b: 2.5 };
    for (params, x, t_x, t, h, want) in MPMATH {
        let (r, alpha, a) = params;
        close(bgnbd::expected_purchases(bgnbd::Variant::BgNbd, p(r, alpha, a), x, t_x, t, h), want, 1e-9, &format!("{params:?} x={x} h={h}"));
    }
}

/// `evergreen clv` on the CDNOW transactions equals lifetimes on the summary evergreen's rules give
/// (purchase days before 1997-10-01, days; zero-value transactions are not purchases).
/// (Issue 12.)
#[test]
fn clv_command_on_cdnow_matches_lifetimes() {
    let input = cdnow().join("transactions.parquet");
    let (_d, out) = evergreen(&["clv", "-i", input.to_str().unwrap(), "--as-of", "1997-10-01", "--clv-model", "bgnbd"]);
    let r = &reference()["evergreen_days"];
    let p = params(&out);
    let get = |m: &str, k: &str| p[&(m.to_string(), k.to_string())];
    for k in ["r", "alpha", "a", "b"] {
        close(get("bgnbd", k), r["bgnbd"][k].as_f64().unwrap(), 1e-4, k);
    }
    close(get("bgnbd", "log_likelihood"), r["bgnbd_log_likelihood"].as_f64().unwrap(), 1e-8, "LL");
    assert_eq!(get("bgnbd", "converged"), 1.0);
    assert_eq!(get("bgnbd", "customers"), 2349.0);
    assert_eq!(get("gamma_gamma", "customers"), 946.0);
    // Gamma-Gamma on the exact amounts gives the published p = 6.25, q = 3.74, γ = 15.44 (Fader &
    // Hardie 2013) to their precision.
    assert_eq!(format!("{:.2} {:.2} {:.2}", get("gamma_gamma", "p"), get("gamma_gamma", "q"), get("gamma_gamma", "gamma")), "6.25 3.74 15.44");
    for (k, rk) in [("p", "p"), ("q", "q"), ("gamma", "v")] {
        close(get("gamma_gamma", k), r["gamma_gamma"][rk].as_f64().unwrap(), 1e-4, k);
    }
    let clv = read_parquet(&out.join("clv.parquet"));
    assert_eq!(clv.height(), 2349);
    for c in r["customers"].as_array().unwrap() {
        let got = row(&clv, c["customer_id"].as_i64().unwrap());
        assert_eq!(got["repeat_purchases"], c["x"].as_f64().unwrap());
        assert_eq!(got["repeat_span_days"], c["t_x"].as_f64().unwrap());
        assert_eq!(got["customer_age_days"], c["T"].as_f64().unwrap());
        close(got["p_alive"], c["p_alive"].as_f64().unwrap(), 1e-4, "p_alive");
        close(got["expected_purchases"], c["expected_purchases"].as_f64().unwrap(), 1e-4, "expected_purchases");
        assert!((got["expected_order_value"] - c["expected_order_value"].as_f64().unwrap()).abs() <= 0.006);
    }
    // Ordered by clv descending; deciles of equal counts, 1 = the highest CLV.
    let v = floats(&clv, "clv");
    assert!(v.windows(2).all(|w| w[0] >= w[1]));
    let d = ints(&clv, "clv_decile");
    assert_eq!((d[0], d[234], d[235], d[2348]), (1, 1, 2, 10));
    let m = manifest(&out);
    assert_eq!(m["clv"]["bgnbd"]["converged"], true);
    assert!(m["clv"]["bgnbd"]["distinct_rows"].as_u64().unwrap() < 2349);
}

/// The unit changes only α's scale (and the log-likelihood by a constant): the predictions stay.
/// (Issue 12.)
#[test]
fn weeks_and_days_give_the_same_predictions() {
    let input = cdnow().join("transactions.parquet");
    let i = input.to_str().unwrap();
    let (_a, days) = evergreen(&["clv", "-i", i, "--as-of", "1997-10-01", "--clv-model", "bgnbd"]);
    let (_b, weeks) = evergreen(&["clv", "-i", i, "--as-of", "1997-10-01", "--clv-unit", "weeks", "--clv-model", "bgnbd"]);
    let (pd, pw) = (params(&days), params(&weeks));
    let k = |m: &std::collections::HashMap<(String, String), f64>, p: &str| m[&("bgnbd".to_string(), p.to_string())];
    close(k(&pw, "alpha") * 7.0, k(&pd, "alpha"), 1e-4, "alpha in weeks x 7");
    close(k(&pw, "r"), k(&pd, "r"), 1e-4, "r");
    let (cd, cw) = (read_parquet(&days.join("clv.parquet")), read_parquet(&weeks.join("clv.parquet")));
    for id in [1, 2, 3, 720, 1005] {
        close(row(&cw, id)["p_alive"], row(&cd, id)["p_alive"], 1e-4, "p_alive");
        close(row(&cw, id)["expected_purchases"], row(&cd, id)["expected_purchases"], 1e-4, "expected_purchases");
    }
    assert_eq!(read_parquet(&weeks.join("clv_params.parquet")).column("time_unit").unwrap().str().unwrap().get(0), Some("weeks"));
}

/// `--holdout-from 1997-10-01 --as-of 1998-07-01`: the calibration model's predicted repeat days in
/// the 273 holdout days, and the actual ones, equal lifetimes' and the transactions' counts.
/// (Issue 12.)
#[test]
fn holdout_on_cdnow_matches_lifetimes() {
    let input = cdnow().join("transactions.parquet");
    let (_d, out) = evergreen(&["clv", "-i", input.to_str().unwrap(), "--as-of", "1998-07-01", "--holdout-from", "1997-10-01", "--clv-model", "bgnbd"]);
    let r = &reference()["holdout"];
    let p = params(&out);
    let get = |k: &str| p[&("holdout".to_string(), k.to_string())];
    assert_eq!(get("holdout_days"), 273.0);
    assert_eq!(get("customers"), 2349.0);
    assert_eq!(get("actual_purchases"), r["actual_purchases"].as_f64().unwrap());
    close(get("predicted_purchases"), r["predicted_purchases"].as_f64().unwrap(), 1e-4, "predicted total");
    close(get("purchases_mae"), r["purchases_mae"].as_f64().unwrap(), 1e-4, "MAE");
    let pct = (get("predicted_purchases") - get("actual_purchases")) / get("actual_purchases") * 100.0;
    close(get("purchases_pct_error"), pct, 1e-12, "total % error");
    let h = read_parquet(&out.join("clv_holdout.parquet"));
    for c in r["per_customer"].as_array().unwrap() {
        let got = row(&h, c["customer_id"].as_i64().unwrap());
        assert_eq!(got["actual_purchases"], c["actual"].as_f64().unwrap());
        close(got["predicted_purchases"], c["predicted"].as_f64().unwrap(), 1e-4, "predicted");
    }
    // Customer 1 (ID 1 of the paper) bought once in the holdout, on 1997-12-12 for 26.48.
    assert_eq!(row(&h, 1)["actual_value"], 26.48);
}

/// Forty repeat buyers with a rhythm of their own and a few one-day customers, so a model fits;
/// customer 1 is worked out by hand.
fn hand_dump() -> Vec<Line> {
    let mut v = vec![
        // Two orders on 2024-01-01 are one purchase day.
        line(Some(1), 1, "2024-01-01 10:00", 50.0),
        line(Some(1), 2, "2024-01-01 15:00", 30.0),
        line(Some(1), 3, "2024-01-10 09:00", 20.0),
        // A return order: not a purchase day, not in the repeat value.
        line(Some(1), 4, "2024-01-12 09:00", -10.0),
        // A purchase order with a return line: net 35.
        line(Some(1), 5, "2024-02-01 12:00", 40.0),
        line(Some(1), 5, "2024-02-01 12:00", -5.0),
        // A one-day customer.
        line(Some(2), 6, "2024-02-20 12:00", 10.0),
    ];
    const DAYS: [&str; 12] = [
        "2023-09-04 10:00", "2023-09-18 10:00", "2023-10-02 10:00", "2023-10-16 10:00", "2023-10-30 10:00",
        "2023-11-13 10:00", "2023-11-27 10:00", "2023-12-11 10:00", "2023-12-25 10:00", "2024-01-08 10:00",
        "2024-01-22 10:00", "2024-02-05 10:00",
    ];
    let mut order = 100;
    for c in 0..40i64 {
        // Customer 10 + c buys on every (c % 3 + 1)-th of the days from day c % 5, stopping at c % 7 + 4 days.
        let step = (c % 3 + 1) as usize;
        for (k, d) in DAYS.iter().enumerate().skip((c % 5) as usize).step_by(step).take((c % 7 + 2) as usize) {
            order += 1;
            v.push(line(Some(10 + c), order, d, 10.0 + (c * 7 + k as i64 * 3) as f64 % 40.0));
        }
    }
    v
}

/// Issue 12.
#[test]
fn summary_columns_by_hand() {
    let (_d, p) = dump(&hand_dump());
    let (_o, out) = evergreen(&["run", "-i", p.to_str().unwrap(), "--as-of", "2024-03-01", "--clv", "--clv-model", "bgnbd"]);
    let clv = read_parquet(&out.join("clv.parquet"));
    let c1 = row(&clv, 1);
    // Purchase days 01-01, 01-10, 02-01: x = 2, t_x = 31, T = 60 (Jan 31 + Feb 29), recency 29.
    assert_eq!(c1["repeat_purchases"], 2.0);
    assert_eq!(c1["repeat_span_days"], 31.0);
    assert_eq!(c1["customer_age_days"], 60.0);
    assert_eq!(c1["recency_days"], 29.0);
    // Repeat days' purchase orders: 20 and 35, net of the return order of 01-12 (-10, not a
    // purchase day): (125 net spend - 80 on the first day) / 2 = 22.5 (issue 31; 27.5 before).
    assert_eq!(c1["avg_repeat_order_value"], 22.5);
    assert_eq!(c1["last_gap_days"], 22.0);
    close(c1["overdue_ratio"], 29.0 / (31.0 / 2.0), 1e-15, "overdue_ratio");
    assert_eq!(c1["horizon_days"], 90.0);
    let c2 = row(&clv, 2);
    assert_eq!((c2["repeat_purchases"], c2["repeat_span_days"], c2["customer_age_days"]), (0.0, 0.0, 10.0));
    assert!(c2["avg_repeat_order_value"].is_nan() && c2["last_gap_days"].is_nan() && c2["overdue_ratio"].is_nan());
    assert_eq!(c2["p_alive"], 1.0);
    // A one-day customer's expected order value is the population mean pγ/(q-1).
    let p = params(&out);
    let pop = p[&("gamma_gamma".to_string(), "population_order_value".to_string())];
    assert!((c2["expected_order_value"] - pop).abs() <= 0.005);
    // CLV = expected order value x the discounted expected purchases, per 30-day step.
    let bg = bgnbd::Params {
        r: p[&("bgnbd".into(), "r".into())],
        alpha: p[&("bgnbd".into(), "alpha".into())],
        a: p[&("bgnbd".into(), "a".into())],
        b: p[&("bgnbd".into(), "b".into())],
    };
    let e = |t: f64| bgnbd::expected_purchases(bgnbd::Variant::BgNbd, bg, 2, 31.0, 60.0, t);
    let disc = e(30.0) / 1.1f64.powf(30.0 / 365.0) + (e(60.0) - e(30.0)) / 1.1f64.powf(60.0 / 365.0) + (e(90.0) - e(60.0)) / 1.1f64.powf(90.0 / 365.0);
    let gg = gamma_gamma::Params {
        p: p[&("gamma_gamma".into(), "p".into())],
        q: p[&("gamma_gamma".into(), "q".into())],
        gamma: p[&("gamma_gamma".into(), "gamma".into())],
    };
    let want = ((gamma_gamma::expected_value(gg, 2, 22.5) * disc) * 100.0).round() / 100.0;
    assert_eq!(c1["clv"], want);
    close(c1["expected_purchases"], e(90.0), 1e-15, "expected_purchases");
    // customers gets p_alive, p_purchase_90, clv and lifecycle_stage; the lapsed list p_alive,
    // p_purchase_90 and clv.
    let cust = read_parquet(&out.join("customers.parquet"));
    assert_eq!(row(&cust, 1)["clv"], c1["clv"]);
    let names: Vec<String> = cust.get_column_names().iter().map(|n| n.to_string()).collect();
    // ... and, last, the as_of date every table carries (issue 15).
    assert_eq!(&names[names.len() - 5..], ["p_alive", "p_purchase_90", "clv", "lifecycle_stage", "as_of"]);
    assert_eq!(row(&cust, 1)["p_purchase_90"], c1["p_purchase_90"]);
    let lapsed = read_parquet(&out.join("lapsed_customers.parquet"));
    assert!(["p_alive", "p_purchase_90", "clv"].iter().all(|c| lapsed.column(c).is_ok()));
    let v = floats(&lapsed, "clv");
    assert!(v.windows(2).all(|w| w[0] >= w[1]), "win-back list by expected value");
}

/// Issue 31: a purchase cancelled by a separate return invoice does not count at full value.
/// Customer 3 (like Online Retail's 16446) buys 2.90 on one day and 168,469.60 on another, and the
/// big order is cancelled by a return order the same day: net repeat value 0, so the spend model
/// reads an average of 0 and the expected order value is Gamma-Gamma's pγ/(px + q − 1), not a
/// six-figure one.
#[test]
fn a_cancelled_purchase_does_not_count_at_full_value() {
    let mut v = hand_dump();
    v.push(line(Some(3), 90_001, "2023-12-01 10:00", 2.90));
    v.push(line(Some(3), 90_002, "2024-02-09 10:00", 168_469.60));
    v.push(line(Some(3), 90_003, "2024-02-09 10:05", -168_469.60));
    let (_d, p) = dump(&v);
    let (_o, out) = evergreen(&["clv", "-i", p.to_str().unwrap(), "--as-of", "2024-03-01", "--clv-model", "bgnbd"]);
    let clv = read_parquet(&out.join("clv.parquet"));
    let c3 = row(&clv, 3);
    assert_eq!((c3["repeat_purchases"], c3["avg_repeat_order_value"]), (1.0, 0.0));
    let ps = params(&out);
    let g = |k: &str| ps[&("gamma_gamma".to_string(), k.to_string())];
    let want = g("p") * g("gamma") / (g("p") * 1.0 + g("q") - 1.0);
    assert!((c3["expected_order_value"] - want).abs() <= 0.005, "{} vs {want}", c3["expected_order_value"]);
    assert!(c3["expected_order_value"] < 100.0 && c3["clv"] < 1000.0, "{c3:?}");
    // Customer 1 is unchanged by customer 3's returns.
    assert_eq!(row(&clv, 1)["avg_repeat_order_value"], 22.5);
}

/// lifecycle_stage is the documented rules (queries/lifecycle.sql) applied to the clv columns.
/// (Issue 12; issue 31 adds the p_purchase_90 rule.)
#[test]
fn lifecycle_stage_follows_the_documented_rules() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("data-samples/transactions.parquet");
    let (_o, out) = evergreen(&["run", "-i", sample.to_str().unwrap(), "--clv"]);
    let cust = read_parquet(&out.join("customers.parquet"));
    let clv = read_parquet(&out.join("clv.parquet"));
    let stage: std::collections::HashMap<i64, String> = ints(&cust, "customer_id")
        .into_iter()
        .zip(cust.column("lifecycle_stage").unwrap().str().unwrap().iter().map(|s| s.unwrap().to_string()))
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    let ids = ints(&clv, "customer_id");
    for id in ids {
        let r = row(&clv, id);
        let (x, age, rec, gap, p, od) =
            (r["repeat_purchases"], r["customer_age_days"], r["recency_days"], r["last_gap_days"], r["p_alive"], r["overdue_ratio"]);
        let p90 = r["p_purchase_90"];
        let want = if x == 0.0 && age <= 30.0 {
            "new"
        } else if gap > 120.0 && rec <= 30.0 {
            "reactivated"
        } else if p < 0.1 || p90 < 0.05 || (x == 0.0 && rec > 360.0) {
            "lost"
        } else if p < 0.5 || od > 3.0 || (x == 0.0 && rec > 120.0) {
            "lapsed"
        } else if od > 1.5 || (x == 0.0 && rec > 30.0) {
            "at risk"
        } else {
            "active"
        };
        assert_eq!(stage[&id], want, "customer {id}: {r:?}");
        seen.insert(want);
    }
    assert_eq!(seen.len(), 6, "every stage occurs in the sample: {seen:?}");
}

/// Issue 12.
#[test]
fn data_that_cannot_support_a_fit_is_exit_4() {
    // Three repeat buyers and twenty one-day customers.
    let mut lines = Vec::new();
    for c in 0..23i64 {
        lines.push(line(Some(c), c * 10, "2024-01-05 10:00", 20.0));
        if c < 3 {
            lines.push(line(Some(c), c * 10 + 1, "2024-01-20 10:00", 20.0));
        }
    }
    let (d, p) = dump(&lines);
    let out = d.path().join("out");
    let o = bin().args(["clv", "-i", p.to_str().unwrap(), "-o", out.to_str().unwrap()]).output().unwrap();
    assert_eq!(o.status.code(), Some(4));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("model error: BG/NBD: only 3 of 23 customers have a second purchase day"), "{err}");
    assert!(err.contains("at least 10 repeat buyers"), "{err}");
    assert!(!out.exists(), "nothing written");
    // Everyone on one day.
    let same: Vec<Line> = (0..20i64).map(|c| line(Some(c), c, "2024-01-05 10:00", 20.0)).collect();
    let (d, p) = dump(&same);
    let out = d.path().join("out");
    let o = bin().args(["run", "--clv", "-i", p.to_str().unwrap(), "-o", out.to_str().unwrap()]).output().unwrap();
    assert_eq!(o.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&o.stderr).contains("none of the 20 customers has a second purchase day"));
    assert!(!out.exists());
}

/// Issue 12.
#[test]
fn bad_clv_settings_are_exit_2() {
    let (d, p) = dump(&hand_dump());
    let out = d.path().join("out");
    for (args, msg) in [
        (vec!["--horizon-days", "0"], "horizon_days: expected 1..=3650"),
        (vec!["--discount-rate=-0.1"], "discount_rate: expected an annual rate"),
        (vec!["--as-of", "2024-03-01", "--holdout-from", "2024-03-01"], "holdout_from: 2024-03-01 is not before as_of"),
        (vec!["--holdout-from", "2030-01-01"], "is not before as_of"),
        (vec!["--clv-unit", "months"], "invalid value 'months'"),
    ] {
        let o = bin().args(["clv", "-i", p.to_str().unwrap(), "-o", out.to_str().unwrap()]).args(&args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&o.stderr).contains(msg), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
        assert!(!out.exists());
    }
}

/// 15,000 customers with pseudo-random purchase days over two years: more distinct (x, t_x, T)
/// rows than one chunk of the likelihood's sums holds, so the thread count could matter.
fn many_customers() -> DataFrame {
    let mut state: u64 = 0x2545F4914F6CDD1D;
    let mut next = move |m: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % m
    };
    let (mut cust, mut order, mut ts, mut amount) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let start = micros("2023-01-01 00:00");
    for c in 0..15_000i64 {
        let first = next(700) as i64;
        let n = 1 + next(6) as i64 * next(3) as i64;
        for k in 0..n {
            let day = (first + k * (1 + next(40) as i64)).min(729);
            cust.push(c);
            order.push(order.len() as i64);
            ts.push(start + day * 86_400_000_000 + next(86_400) as i64 * 1_000_000);
            amount.push(5.0 + next(9000) as f64 / 100.0);
        }
    }
    let mut df = df!("customer_id" => cust, "order_id" => order, "ts" => ts, "amount" => amount).unwrap();
    df.apply("ts", |s| s.cast(&DataType::Datetime(TimeUnit::Microseconds, None)).unwrap()).unwrap();
    df
}

/// Issue 12.
#[test]
fn thread_count_does_not_change_the_clv_bytes() {
    let (d, p) = dump_frame(&mut many_customers());
    let mut outs = Vec::new();
    for (threads, engine) in [("2", "memory"), ("1", "memory"), ("2", "partitioned")] {
        let out = d.path().join(format!("out-{threads}-{engine}"));
        let o = bin()
            .args(["clv", "-i", p.to_str().unwrap(), "-o", out.to_str().unwrap(), "--engine", engine, "--as-of", "2025-01-01"])
            .env("RAYON_NUM_THREADS", threads)
            .env("POLARS_MAX_THREADS", threads)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        outs.push(out);
    }
    let rows = manifest(&outs[0])["clv"]["bgnbd"]["distinct_rows"].as_u64().unwrap();
    assert!(rows > 4096, "more distinct rows than one chunk: {rows}");
    for t in ["clv.parquet", "clv_params.parquet"] {
        let first = std::fs::read(outs[0].join(t)).unwrap();
        for o in &outs[1..] {
            assert!(first == std::fs::read(o.join(t)).unwrap(), "{t}: {} differs", o.display());
        }
    }
}

/// Every engine, partition count and line order writes the same CLV bytes.
/// (Issue 12.)
#[test]
fn engines_and_line_order_write_identical_clv_tables() {
    let input = cdnow().join("transactions.parquet");
    let i = input.to_str().unwrap();
    let base = ["clv", "-i", i, "--as-of", "1998-07-01", "--holdout-from", "1997-10-01"];
    let (_a, mem) = evergreen(&[&base[..], &["--engine", "memory"]].concat());
    let (_b, part) = evergreen(&[&base[..], &["--engine", "partitioned", "--partitions", "3"]].concat());
    let mut df = read_parquet(&input);
    let n = df.height() as u64;
    // Reversed line order.
    let rev: Vec<IdxSize> = (0..n as IdxSize).rev().collect();
    let mut shuffled = df.take(&IdxCa::from_vec("i".into(), rev)).unwrap();
    let (_c, sp) = dump_frame(&mut shuffled);
    let (_e, rev_out) = evergreen(&["clv", "-i", sp.to_str().unwrap(), "--as-of", "1998-07-01", "--holdout-from", "1997-10-01"]);
    // One thread (the fits' sums are over fixed chunks, added in order).
    let one = _a.path().join("one-thread");
    let o = bin()
        .args(base)
        .args(["--engine", "memory", "-o", one.to_str().unwrap()])
        .env("RAYON_NUM_THREADS", "1")
        .env("POLARS_MAX_THREADS", "1")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for t in ["clv.parquet", "clv_params.parquet", "clv_holdout.parquet"] {
        let m = std::fs::read(mem.join(t)).unwrap();
        assert!(m == std::fs::read(one.join(t)).unwrap(), "{t}: one thread differs");
        assert!(m == std::fs::read(part.join(t)).unwrap(), "{t}: partitioned differs");
        assert!(m == std::fs::read(rev_out.join(t)).unwrap(), "{t}: reversed lines differ");
    }
    let _ = &mut df;
}
