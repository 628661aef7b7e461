//! Issue 32: CLV people can trust. Parameter intervals in `clv_params` (checked against lifetimes'
//! standard errors and the documented transformation), CLV month by month (`clv_periods`), and what
//! a new customer is worth (`clv_new_customers`, against lifetimes).

use evergreen::kernels::gamma_gamma;

use crate::clv_models::{clv_run, close, params, reference};
use crate::common::*;

/// Issue 32: Gamma-Gamma's standard errors (the delta method from the Hessian in log-parameters)
/// equal lifetimes' on the paper's CDNOW summary (946 repeat buyers, x and zbar), which takes the
/// same Hessian exactly with autograd (bench/btyd_reference.py, `gamma_gamma_summary`).
#[test]
fn gamma_gamma_standard_errors_match_lifetimes_on_the_cdnow_summary() {
    let text = std::fs::read_to_string(crate::clv_models::cdnow().join("summary.csv")).unwrap();
    let pairs: Vec<(u32, f64)> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<&str>>())
        .map(|f| (f[1].parse::<u32>().unwrap(), f[4].parse::<f64>().unwrap()))
        .filter(|&(x, m)| x > 0 && m > 0.0)
        .collect();
    assert_eq!(pairs.len(), 946);
    let rows = gamma_gamma::collapse(pairs.into_iter());
    let f = gamma_gamma::fit(&rows).unwrap();
    let r = &reference()["gamma_gamma_summary"];
    let se = gamma_gamma::standard_errors(&rows, f.params).unwrap();
    for (i, (k, got)) in [("p", f.params.p), ("q", f.params.q), ("v", f.params.gamma)].into_iter().enumerate() {
        close(got, r["params"][k].as_f64().unwrap(), 1e-4, k);
        close(se[i], r["standard_errors"][k].as_f64().unwrap(), 2e-3, k);
    }
}

/// Issue 32: every parameter of every model has its interval in clv_params: at `--interval`
/// (default 0.9) the bounds are value · e^(∓z·se/value), the normal interval of the parameter's
/// logarithm carried back (z = 1.6448536 for 90 %, 0.6744898 for 50 %), so always positive and
/// wider above than below; the manifest records the level.
#[test]
fn clv_params_gives_each_parameter_an_interval_in_its_logarithm() {
    for (args, z) in [(vec![], 1.6448536269514722), (vec!["--interval", "0.5"], 0.6744897501960817)] {
        let mut a = vec!["--as-of", "1997-10-01", "--clv-unit", "weeks"];
        a.extend(args);
        let (_d, out) = clv_run(&a);
        let df = read_parquet(&out.join("clv_params.parquet"));
        let (lo, hi) = (df.column("ci_lower").unwrap().f64().unwrap().clone(), df.column("ci_upper").unwrap().f64().unwrap().clone());
        let p = params(&out);
        let model = df.column("model").unwrap().str().unwrap().clone();
        let name = df.column("parameter").unwrap().str().unwrap().clone();
        let mut with = 0;
        for i in 0..df.height() {
            if model.get(i) == Some("clv") {
                continue; // the totals' intervals come from draws (--interval given): checked below
            }
            let (v, se) = p[&(model.get(i).unwrap().to_string(), name.get(i).unwrap().to_string())];
            match (lo.get(i), hi.get(i)) {
                (Some(l), Some(h)) => {
                    close(l, v * (-z * se / v).exp(), 1e-12, "lower");
                    close(h, v * (z * se / v).exp(), 1e-12, "upper");
                    assert!(0.0 < l && l < v && v < h && h - v > v - l);
                    with += 1;
                }
                (None, None) => assert!(se.is_nan(), "row {i}: a standard error without an interval"),
                other => panic!("{other:?}"),
            }
        }
        // Four parameters of each purchase model and Gamma-Gamma's three.
        assert_eq!(with, 15);
        let level = if z > 1.0 { 0.9 } else { 0.5 };
        assert_eq!(manifest(&out)["clv"]["interval"].as_f64(), Some(level));
    }
}

/// Issue 32: a level outside (0, 1), too few or too many draws, or months outside 1..=120 are a
/// config error (exit 2) naming the setting, with no output.
#[test]
fn bad_interval_and_month_settings_are_exit_2() {
    let input = crate::clv_models::cdnow().join("transactions.parquet");
    for (flag, level) in [
        ("--interval", "0"),
        ("--interval", "1"),
        ("--interval", "90"),
        ("--interval", "nan"),
        ("--interval-draws", "5"),
        ("--interval-draws", "200000"),
        ("--clv-months", "0"),
        ("--clv-months", "121"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let o = bin()
            .args(["clv", "-i", input.to_str().unwrap(), "-o", dir.path().join("o").to_str().unwrap(), flag, level])
            .env_remove("EVERGREEN_INPUT")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{flag} {level}: {err}");
        let name = flag.trim_start_matches("--").replace('-', "_");
        assert!(err.contains(&name) || err.contains(flag), "{err}");
        assert!(!dir.path().join("o").exists());
    }
}

/// Issue 32: `clv_new_customers` is each model's expected repeat purchases of a customer acquired
/// today, by day 30k for k = 1..12: on CDNOW with the paper's conventions (the fits equal
/// lifetimes'), equal to lifetimes' `expected_number_of_purchases_up_to_time` of its BG/NBD, MBG/NBD
/// and Pareto/NBD fitters (bench/btyd_reference.py, `new_customer_weeks`); the value is the
/// month-by-month increments at the population mean order value, discounted at each month's end.
#[test]
fn new_customer_values_match_lifetimes_expected_purchases() {
    let (_d, out) = clv_run(&[
        "--as-of", "1997-10-01", "--clv-unit", "weeks", "--clv-age-to", "last-day", "--zero-net-orders", "purchase",
    ]);
    let r = &reference()["new_customer_weeks"];
    let t = read_parquet(&out.join("clv_new_customers.parquet"));
    let model = t.column("model").unwrap().str().unwrap().clone();
    let month = ints(&t, "month");
    let days = ints(&t, "days");
    let e = floats(&t, "expected_purchases");
    let v = floats(&t, "expected_value");
    assert_eq!(t.height(), 36);
    let p = params(&out);
    let pop = p[&("gamma_gamma".to_string(), "population_order_value".to_string())].0;
    for (i, m) in ["bgnbd", "mbgnbd", "pareto_nbd"].iter().enumerate() {
        let mut value = 0.0;
        for k in 0..12 {
            let row = i * 12 + k;
            assert_eq!((model.get(row).unwrap(), month[row], days[row]), (*m, k as i64 + 1, 30 * (k as i64 + 1)));
            close(e[row], r[m]["expected"][k].as_f64().unwrap(), 2e-3, m);
            let before = if k == 0 { 0.0 } else { e[row - 1] };
            value += (e[row] - before) * pop / 1.1f64.powf(30.0 * (k + 1) as f64 / 365.0);
            assert!((v[row] - value).abs() <= 0.005 + 1e-9, "{m} month {}: {} vs {value}", k + 1, v[row]);
        }
    }
}

/// Issue 32: `clv_periods` (with `--clv-months`) splits each customer's CLV by month: 12 rows a
/// customer in the clv table's order; with a horizon of 360 days the months' expected purchases add up to the clv
/// table's expected_purchases and their values to its clv (each value rounded to the cent).
#[test]
fn clv_periods_add_up_to_the_horizon_clv() {
    let (_d, out) = clv_run(&["--as-of", "1997-10-01", "--horizon-days", "360", "--clv-months", "12"]);
    let clv = read_parquet(&out.join("clv.parquet"));
    let per = read_parquet(&out.join("clv_periods.parquet"));
    assert_eq!(per.height(), 12 * clv.height());
    let (_e, plain) = clv_run(&["--as-of", "1997-10-01"]);
    assert!(!plain.join("clv_periods.parquet").exists(), "no clv_periods without --clv-months");
    let (ids, e, v) = (ints(&clv, "customer_id"), floats(&clv, "expected_purchases"), floats(&clv, "clv"));
    let (pid, month, pe, pv) =
        (ints(&per, "customer_id"), ints(&per, "month"), floats(&per, "expected_purchases"), floats(&per, "expected_value"));
    for (i, id) in ids.iter().enumerate() {
        let rows = i * 12..(i + 1) * 12;
        assert!(rows.clone().all(|j| pid[j] == *id));
        assert_eq!(rows.clone().map(|j| month[j]).collect::<Vec<i64>>(), (1..=12).collect::<Vec<i64>>());
        let (se, sv): (f64, f64) = (rows.clone().map(|j| pe[j]).sum(), rows.clone().map(|j| pv[j]).sum());
        assert!((se - e[i]).abs() <= 1e-9 * e[i].max(1.0), "customer {id}: {se} vs {}", e[i]);
        assert!((sv - v[i]).abs() <= 13.0 * 0.005 + 1e-9, "customer {id}: {sv} vs {}", v[i]);
        assert!(rows.clone().all(|j| pe[j] >= 0.0));
    }
}

/// DERT by the definition: δ ∫_0^∞ e^(−δt) E(t) dt (= ∫ e^(−δt) dE(t), E(0) = 0) for the expected
/// purchases curve E, by composite Simpson in y = ln t over [ln 1e-6, ln(60/δ)] (4,000 panels;
/// what lies outside is below 1e-12 of the total).
fn dert_by_integration(e: impl Fn(f64) -> f64, delta: f64) -> f64 {
    let (lo, hi) = (1e-6f64.ln(), (60.0 / delta).ln());
    let n = 4000;
    let h = (hi - lo) / n as f64;
    let f = |y: f64| {
        let t = y.exp();
        e(t) * delta * t * (-delta * t).exp()
    };
    let mut s = f(lo) + f(hi);
    for k in 1..n {
        s += f(lo + k as f64 * h) * if k % 2 == 1 { 4.0 } else { 2.0 };
    }
    s * h / 3.0
}

/// Issue 32: each model's DERT (discounted expected residual purchases, continuous discounting)
/// equals the numerical integral of its expected-purchases curve against the discount: on the
/// paper's CDNOW parameters (weeks, 10 % a year), for a one-time buyer, a customer like the paper's
/// customer 1 and a frequent one. The kernel computes it another way (the posterior mean of
/// λ/(δ + μ) or λ/(δ + λp)), so the two agree only if both are right.
#[test]
fn dert_equals_the_integral_of_the_expected_purchases_curve() {
    use evergreen::kernels::{bgnbd, dert, pareto_nbd};
    let delta = 1.1f64.ln() * 7.0 / 365.0;
    let bg = bgnbd::Params { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
    let pn = pareto_nbd::Params { r: 0.553, alpha: 10.578, s: 0.606, beta: 11.669 };
    for (x, t_x, t) in [(0u32, 0.0, 38.86), (2, 30.43, 38.86), (10, 36.0, 38.0), (1, 2.0, 38.86)] {
        for v in [bgnbd::Variant::BgNbd, bgnbd::Variant::MbgNbd] {
            let alive = bgnbd::p_alive(v, bg, x, t_x, t);
            let got = dert::bgnbd(v, bg, x, t, alive, delta, &dert::bgnbd_table(bg, delta));
            let want = dert_by_integration(|h| bgnbd::expected_purchases(v, bg, x, t_x, t, h), delta);
            close(got, want, 1e-9, &format!("{v:?} x = {x}"));
        }
        let alive = pareto_nbd::p_alive(pn, x, t_x, t);
        let got = dert::pareto_nbd(pn, x, t, alive, delta);
        let want = dert_by_integration(|h| pareto_nbd::expected_purchases(pn, x, t_x, t, h), delta);
        close(got, want, 1e-9, &format!("Pareto/NBD x = {x}"));
    }
}

/// Issue 32: the clv table's dert is the chosen model's, at the rate of --discount-rate, and more
/// than the horizon's discounted expected purchases (it runs on past the horizon).
#[test]
fn the_clv_table_has_each_customers_dert() {
    use evergreen::kernels::{dert, pareto_nbd};
    let (_d, out) = clv_run(&["--as-of", "1997-10-01", "--clv-model", "pareto-nbd", "--clv-unit", "weeks"]);
    let clv = read_parquet(&out.join("clv.parquet"));
    let p = params(&out);
    let g = |k: &str| p[&("pareto_nbd".to_string(), k.to_string())].0;
    let pn = pareto_nbd::Params { r: g("r"), alpha: g("alpha"), s: g("s"), beta: g("beta") };
    let delta = 1.1f64.ln() * 7.0 / 365.0;
    let (ids, x, age, alive, d, e) = (
        ints(&clv, "customer_id"),
        ints(&clv, "repeat_purchases"),
        ints(&clv, "customer_age_days"),
        floats(&clv, "p_alive"),
        floats(&clv, "dert"),
        floats(&clv, "expected_purchases"),
    );
    for i in 0..clv.height() {
        assert!(d[i] > e[i] / 1.1f64.powf(90.0 / 365.0), "customer {}: {} vs {}", ids[i], d[i], e[i]);
        if ids[i] <= 20 {
            let want = dert::pareto_nbd(pn, x[i] as u32, age[i] as f64 / 7.0, alive[i], delta);
            close(d[i], want, 1e-12, "dert");
        }
    }
}

/// A Gamma(shape, rate) draw (Marsaglia & Tsang; shapes below 1 boosted by U^(1/shape)).
fn gamma_draw(rng: &mut evergreen::kernels::draws::SplitMix64, shape: f64, rate: f64) -> f64 {
    if shape < 1.0 {
        let u = rng.uniform();
        return gamma_draw(rng, shape + 1.0, rate) * u.powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let z = rng.normal_pair().0;
        let v = (1.0 + c * z).powi(3);
        if v <= 0.0 {
            continue;
        }
        if rng.uniform().ln() < 0.5 * z * z + d - d * v + d * v.ln() {
            return d * v / rate;
        }
    }
}

/// Issue 32: the intervals are honest. 100 data sets simulated from a known BG/NBD (r = 0.5,
/// α = 10 days, a = 0.8, b = 2.5; 1,500 customers each, first purchases over the first 180 of
/// 365 days); on each, BG/NBD is fitted and the 90 % interval of the whole base's expected
/// purchases in the next 180 days is drawn (200 parameter draws). The truth is that total under
/// the true parameters, given each customer's history. A 90 % interval must cover it about 90
/// times in 100: the test asks for 85 to 95 (a binomial(100, 0.9) count falls there 92 % of the
/// time; the seeds below are fixed, so the count is too: 85; other seed bases gave 90, 86 and 88,
/// 349 of 400 in all, 87 %: Wald-type draws run a little short at 1,500 customers).
#[test]
fn the_90_percent_interval_of_total_purchases_covers_the_truth_90_times_in_100() {
    use evergreen::config::{ClvAgeTo, ClvModel, ClvOptions, ClvUnit};
    use evergreen::kernels::{bgnbd, draws::SplitMix64};
    use evergreen::tables::clv;
    let truth_params = bgnbd::Params { r: 0.5, alpha: 10.0, a: 0.8, b: 2.5 };
    let (customers, horizon) = (1500usize, 180u32);
    let mut covered = 0;
    for set in 0..100u64 {
        let mut rng = SplitMix64::new(1000 + set);
        let (mut x, mut tx, mut age, mut spend) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..customers {
            let first = (rng.uniform() * 180.0).floor();
            let end = 365.0 - first;
            let lambda = gamma_draw(&mut rng, truth_params.r, truth_params.alpha);
            let (ga, gb) = (gamma_draw(&mut rng, truth_params.a, 1.0), gamma_draw(&mut rng, truth_params.b, 1.0));
            let p = ga / (ga + gb);
            let (mut t, mut n, mut last) = (0.0, 0u32, 0.0);
            loop {
                t += -rng.uniform().ln() / lambda;
                if t >= end {
                    break;
                }
                n += 1;
                last = t;
                if rng.uniform() < p {
                    break;
                }
            }
            // Whole days, as evergreen's summary counts them; a spend per purchase around 25.
            spend.push(25.0 * gamma_draw(&mut rng, 4.0, 4.0) * gamma_draw(&mut rng, 6.0, 6.0));
            x.push(n);
            tx.push(last.floor() as u32);
            age.push(end as u32);
        }
        let n = customers;
        let s = clv::Summary {
            customer_id: polars::prelude::Column::new("customer_id".into(), (0..n as i64).collect::<Vec<i64>>()),
            repeat_purchases: x.clone(),
            repeat_span_days: tx.clone(),
            customer_age_days: age.clone(),
            recency_days: (0..n).map(|i| age[i] - tx[i]).collect(),
            avg_repeat_value: spend.iter().zip(&x).map(|(&m, &k)| (k > 0).then_some(m)).collect(),
            last_gap_days: vec![None; n],
        };
        let m = clv::fit_models(&s, ClvUnit::Days, ClvModel::Bgnbd, &[clv::Btyd::BgNbd]).unwrap();
        let settings = ClvOptions {
            enabled: true,
            horizon_days: horizon,
            discount_rate: 0.0,
            unit: ClvUnit::Days,
            holdout_from: None,
            model: ClvModel::Bgnbd,
            purchase_windows: Vec::new(),
            age_to: ClvAgeTo::AsOf,
            interval: 0.9,
            customer_intervals: true,
            interval_draws: 200,
            seed: set,
            clv_months: None,
        };
        let o = clv::Options { clv: &settings, money_decimals: 2 };
        let iv = clv::intervals(&s, &m, o).unwrap();
        let truth: f64 = (0..n)
            .map(|i| bgnbd::expected_purchases(bgnbd::Variant::BgNbd, truth_params, x[i], tx[i] as f64, age[i] as f64, horizon as f64))
            .sum();
        if iv.total_purchases.0 <= truth && truth <= iv.total_purchases.1 {
            covered += 1;
        }
    }
    assert!((85..=95).contains(&covered), "covered {covered} of 100");
    eprintln!("90 % intervals of the total covered the truth {covered} times in 100");
}

/// Issue 32: `--interval 0.9` gives every customer bounds for p_alive, expected_purchases, each
/// p_purchase_* and clv (lower ≤ upper, the estimate between them), clv_params the totals'
/// intervals; the same seed gives the same bytes, another seed other bounds; without
/// `--interval` there are no bound columns.
#[test]
fn interval_gives_each_customer_bounds_reproducible_by_seed() {
    let args = ["--as-of", "1997-10-01", "--clv-model", "bgnbd", "--interval", "0.9"];
    let (_a, one) = clv_run(&args);
    let (_b, again) = clv_run(&args);
    let mut other = args.to_vec();
    other.extend(["--seed", "7"]);
    let (_c, seeded) = clv_run(&other);
    let bytes = |d: &std::path::Path| std::fs::read(d.join("clv.parquet")).unwrap();
    assert_eq!(bytes(&one), bytes(&again), "same seed, same bytes");
    assert_ne!(bytes(&one), bytes(&seeded), "another seed, other draws");
    let clv = read_parquet(&one.join("clv.parquet"));
    for base in ["p_alive", "expected_purchases", "p_purchase_30", "p_purchase_90", "clv"] {
        let (v, lo, hi) = (floats(&clv, base), floats(&clv, &format!("{base}_lower")), floats(&clv, &format!("{base}_upper")));
        let inside = (0..clv.height()).filter(|&i| lo[i] <= v[i] + 0.005 && v[i] <= hi[i] + 0.005).count();
        assert!((0..clv.height()).all(|i| lo[i] <= hi[i]), "{base}");
        assert!(inside * 100 >= clv.height() * 99, "{base}: the estimate inside its bounds for {inside} of {}", clv.height());
    }
    let p = read_parquet(&one.join("clv_params.parquet"));
    let names: Vec<String> = p.column("parameter").unwrap().str().unwrap().iter().map(|s| s.unwrap().to_string()).collect();
    let i = names.iter().position(|n| n == "total_expected_purchases").unwrap();
    let at = |c: &str| p.column(c).unwrap().f64().unwrap().get(i).unwrap();
    let (v, lo, hi) = (at("value"), at("ci_lower"), at("ci_upper"));
    assert!(lo < v && v < hi, "{lo} {v} {hi}");
    close(v, floats(&clv, "expected_purchases").iter().sum(), 1e-9, "total");
    let (_d, plain) = clv_run(&["--as-of", "1997-10-01"]);
    let plain = read_parquet(&plain.join("clv.parquet"));
    assert!(plain.get_column_names().iter().all(|c| !c.ends_with("_lower")));
}

/// Issue 32: the bounds are type-7 quantiles (R's and NumPy's default), worked by hand: of
/// 3, 1, 2, 5, 4 the 0.25 quantile is the 2nd smallest (h = 4 · 0.25 = 1), 2; the 0.9 quantile lies
/// 0.6 of the way from the 4th to the 5th (h = 3.6), 4.6.
#[test]
fn bounds_are_type_7_quantiles() {
    use evergreen::kernels::draws;
    let mut v = vec![3.0, 1.0, 2.0, 5.0, 4.0];
    let (lo, hi) = draws::quantile_pair(&mut v, 0.25, 0.9);
    assert_eq!(lo, 2.0);
    assert!((hi - 4.6).abs() < 1e-12, "{hi}");
    assert!((draws::quantile(&mut v, 0.9) - 4.6).abs() < 1e-12);
}

/// Issue 32: `clv_tracking` is Fader, Hardie & Lee's tracking plot of CDNOW as rows: 78 weeks of
/// the calibration customers' repeat purchase days, actual and expected by the calibration fit,
/// equal to lifetimes' `expected_cumulative_transactions` (bench/btyd_reference.py,
/// `tracking_weeks`: the actual counts exactly, the expected to 1e-6, the fits agreeing to 1e-4);
/// 2,457 repeat days by week 39 (the paper summary's Σx), 4,339 by week 78.
#[test]
fn clv_tracking_matches_lifetimes_expected_cumulative_transactions() {
    let (_d, out) = clv_run(&[
        "--as-of", "1998-07-01", "--holdout-from", "1997-10-01", "--clv-unit", "weeks", "--clv-age-to", "last-day",
        "--zero-net-orders", "purchase", "--clv-model", "bgnbd",
    ]);
    let r = &reference()["tracking_weeks"];
    let t = read_parquet(&out.join("clv_tracking.parquet"));
    assert_eq!(t.height(), 78);
    let (week, actual, cum_a, inc_e, cum_e) = (
        ints(&t, "week"),
        ints(&t, "actual_repeat_purchases"),
        ints(&t, "cumulative_actual"),
        floats(&t, "expected_repeat_purchases"),
        floats(&t, "cumulative_expected"),
    );
    let period = t.column("period").unwrap().str().unwrap().clone();
    let mut running = (0, 0.0);
    for w in 0..78 {
        assert_eq!(week[w], w as i64 + 1);
        assert_eq!(cum_a[w], r["actual"][w].as_i64().unwrap(), "week {}", w + 1);
        close(cum_e[w], r["predicted"][w].as_f64().unwrap(), 1e-6, "cumulative expected");
        running = (running.0 + actual[w], running.1 + inc_e[w]);
        assert_eq!(running.0, cum_a[w]);
        close(running.1, cum_e[w], 1e-12, "increments add up");
        assert_eq!(period.get(w), Some(if w < 39 { "calibration" } else { "holdout" }));
    }
    assert_eq!((cum_a[38], cum_a[77]), (2457, 4339));
}

/// Issue 32: each model's P(X(t) = x) of a customer acquired at 0 equals lifetimes' at the paper's
/// parameters (bench/btyd_reference.py, `pmf_paper`: BG/NBD's eq. 8 and MBG/NBD's
/// `probability_of_n_purchases_up_to_time`, Pareto/NBD's conditional pmf at x = t_x = T = 0), for
/// x = 0..7 at t = 38.86 and 10 weeks.
#[test]
fn purchase_count_probabilities_match_lifetimes() {
    use evergreen::kernels::{bgnbd, pareto_nbd};
    let r = &reference()["pmf_paper"];
    let g = |m: &str, i: usize| r[m]["params"][i].as_f64().unwrap();
    let bg = bgnbd::Params { r: g("bgnbd", 0), alpha: g("bgnbd", 1), a: g("bgnbd", 2), b: g("bgnbd", 3) };
    let mb = bgnbd::Params { r: g("mbgnbd", 0), alpha: g("mbgnbd", 1), a: g("mbgnbd", 2), b: g("mbgnbd", 3) };
    let pn = pareto_nbd::Params { r: g("pareto_nbd", 0), alpha: g("pareto_nbd", 1), s: g("pareto_nbd", 2), beta: g("pareto_nbd", 3) };
    for (k, t) in [38.86, 10.0].into_iter().enumerate() {
        for x in 0..8u32 {
            let want = |m: &str| r[m]["pmf"][k][x as usize].as_f64().unwrap();
            close(bgnbd::pmf(bgnbd::Variant::BgNbd, bg, t, x), want("bgnbd"), 1e-10, "BG/NBD");
            close(bgnbd::pmf(bgnbd::Variant::MbgNbd, mb, t, x), want("mbgnbd"), 1e-10, "MBG/NBD");
            close(pareto_nbd::pmf(pn, t, x), want("pareto_nbd"), 1e-8, "Pareto/NBD");
        }
    }
}

/// Issue 32: `clv_frequency` is the calibration frequency histogram: customers per number of
/// calibration repeat purchase days (0..6, 7 = 7 or more), counted from clv_holdout, and each
/// model's expected customers Σ P(X(T) = x), which add up to the customers.
#[test]
fn clv_frequency_counts_the_calibration_customers_and_what_each_model_expects() {
    let (_d, out) = clv_run(&["--as-of", "1998-07-01", "--holdout-from", "1997-10-01", "--clv-unit", "weeks"]);
    let f = read_parquet(&out.join("clv_frequency.parquet"));
    let h = read_parquet(&out.join("clv_holdout.parquet"));
    let x = ints(&h, "repeat_purchases");
    assert_eq!(ints(&f, "repeat_purchases"), (0..=7).collect::<Vec<i64>>());
    let counts = ints(&f, "customers");
    for k in 0..=7i64 {
        let want = x.iter().filter(|&&v| if k == 7 { v >= 7 } else { v == k }).count() as i64;
        assert_eq!(counts[k as usize], want, "x = {k}");
    }
    for m in ["bgnbd", "mbgnbd", "pareto_nbd"] {
        let e = floats(&f, &format!("expected_customers_{m}"));
        close(e.iter().sum::<f64>(), h.height() as f64, 1e-9, m);
        assert!(e.iter().all(|v| *v >= 0.0));
    }
    // The model fits: 1,403 one-time buyers (of 2,349), about as many expected.
    assert_eq!(counts[0], 1403);
    let chosen = floats(&f, "expected_customers");
    assert!((chosen[0] - 1403.0).abs() < 0.05 * 1403.0, "{}", chosen[0]);
}

/// Issue 32: the intervals' shared-T path of Pareto/NBD's P(alive) gives each row's own value.
#[test]
fn pareto_p_alive_of_a_group_equals_each_rows() {
    use evergreen::kernels::pareto_nbd;
    let p = pareto_nbd::Params { r: 0.553, alpha: 10.578, s: 0.606, beta: 11.669 };
    for (x, t) in [(0u32, 38.86), (3, 30.0), (12, 52.0)] {
        let t_xs: Vec<f64> = if x == 0 { vec![0.0] } else { vec![1.0, 10.5, t - 0.5, t] };
        let group = pareto_nbd::p_alive_group(p, x, t, &t_xs);
        for (k, &t_x) in t_xs.iter().enumerate() {
            assert_eq!(group[k], pareto_nbd::p_alive(p, x, t_x, t), "x = {x}, t_x = {t_x}");
        }
    }
}

/// Issue 32: every CLV table, intervals, months, tracking and frequencies included, is the same
/// bytes on the partitioned engine (which hands the facts over in another order) as on the memory
/// engine: totals are summed in customer_id order.
#[test]
fn every_clv_table_is_identical_on_the_partitioned_engine() {
    let args = ["--as-of", "1998-07-01", "--holdout-from", "1997-10-01", "--interval", "0.8", "--clv-months", "6"];
    let (_a, memory) = clv_run(&args);
    let mut more = args.to_vec();
    more.extend(["--engine", "partitioned", "--partitions", "3"]);
    let (_b, partitioned) = clv_run(&more);
    for t in ["clv", "clv_params", "clv_holdout", "clv_periods", "clv_new_customers", "clv_tracking", "clv_frequency"] {
        let file = format!("{t}.parquet");
        assert_eq!(std::fs::read(memory.join(&file)).unwrap(), std::fs::read(partitioned.join(&file)).unwrap(), "{t}");
    }
}

/// Issue 32: without discounting DERT is the expected number of all future purchases: finite
/// under BG/NBD when a > 1 (the mean of 1/p is), a null where it is infinite; the run stays quick.
#[test]
fn dert_without_discounting_is_the_expected_lifetime_purchases_or_null() {
    use evergreen::kernels::{bgnbd, dert};
    let bg = bgnbd::Params { r: 0.243, alpha: 4.414, a: 1.793, b: 2.426 };
    let got = dert::bgnbd(bgnbd::Variant::BgNbd, bg, 2, 38.86, 1.0, 0.0, &dert::bgnbd_table(bg, 0.0));
    // Alive with λ ~ Gamma(R, A) and p ~ Beta(a, b + x): E[λ/(λp)] = E[1/p] = (a + b + x − 1)/(a − 1).
    close(got, (bg.a + bg.b + 2.0 - 1.0) / (bg.a - 1.0), 1e-9, "E[1/p]");
    let started = std::time::Instant::now();
    let (_d, out) = clv_run(&["--as-of", "1997-10-01", "--discount-rate", "0", "--clv-model", "bgnbd"]);
    assert!(started.elapsed().as_secs() < 20);
    let clv = read_parquet(&out.join("clv.parquet"));
    // CDNOW's BG/NBD has a = 0.79 < 1: no finite sum, so dert is null.
    assert_eq!(clv.column("dert").unwrap().null_count(), clv.height());
}
