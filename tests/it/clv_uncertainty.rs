//! Issue 32: how sure the CLV models are. Parameter intervals in `clv_params`, checked against
//! lifetimes' standard errors and the documented transformation.

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

/// Issue 32: a level outside (0, 1) is a config error (exit 2) with no output.
#[test]
fn an_interval_level_outside_0_1_is_exit_2() {
    let input = crate::clv_models::cdnow().join("transactions.parquet");
    for level in ["0", "1", "90", "nan"] {
        let dir = tempfile::tempdir().unwrap();
        let o = bin()
            .args(["clv", "-i", input.to_str().unwrap(), "-o", dir.path().join("o").to_str().unwrap(), "--interval", level])
            .env_remove("EVERGREEN_INPUT")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{level}: {err}");
        assert!(err.contains("interval"), "{err}");
        assert!(!dir.path().join("o").exists());
    }
}
