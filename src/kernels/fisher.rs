//! Fisher's exact test for a rule (issue 34), as arules' `interestMeasure(x, "fishersExactTest")`
//! computes it, and the multiple-testing corrections of R's `p.adjust`.

use statrs::function::factorial::ln_binomial;

/// Rule "rule p-value": the one-sided Fisher exact test of positive association, P[C >= n11] for C
/// hypergeometric (population `n` orders, `nx1` of them hold the consequent, `n1x` drawn: the
/// orders holding the antecedent). `n11` orders hold both.
///
/// The tail is summed from the end nearer the mode outwards, each term from the last by the
/// pmf's ratio, until the terms no longer change the sum: past the mode the upper tail itself,
/// before it one minus the lower tail (which is then at most about a half).
pub fn fisher_greater(n11: u64, n1x: u64, nx1: u64, n: u64) -> f64 {
    let lo = (n1x + nx1).saturating_sub(n);
    let hi = n1x.min(nx1);
    if n11 <= lo {
        return 1.0;
    }
    if n11 > hi {
        return 0.0;
    }
    let ln_pmf = |k: u64| ln_binomial(nx1, k) + ln_binomial(n - nx1, n1x - k) - ln_binomial(n, n1x);
    let (a, b, m) = (n1x as f64, nx1 as f64, n as f64);
    let mode = ((a + 1.0) * (b + 1.0) / (m + 2.0)).floor() as u64;
    if n11 > mode {
        // Upper tail from n11 up: every term smaller than the one before.
        let (mut t, mut sum, mut k) = (1.0f64, 1.0f64, n11);
        while k < hi {
            let kf = k as f64;
            t *= (b - kf) * (a - kf) / ((kf + 1.0) * (m - a - b + kf + 1.0));
            sum += t;
            k += 1;
            if t < sum * 1e-17 {
                break;
            }
        }
        (ln_pmf(n11).exp() * sum).min(1.0)
    } else {
        // 1 − P[C <= n11 − 1], the lower tail from n11 − 1 down.
        let top = n11 - 1;
        let (mut t, mut sum, mut k) = (1.0f64, 1.0f64, top);
        while k > lo {
            let kf = k as f64;
            t *= kf * (m - a - b + kf) / ((b - kf + 1.0) * (a - kf + 1.0));
            sum += t;
            k -= 1;
            if t < sum * 1e-17 {
                break;
            }
        }
        (1.0 - ln_pmf(top).exp() * sum).clamp(0.0, 1.0)
    }
}

/// Bonferroni: each p × m, at most 1.
pub fn bonferroni(p: &[f64]) -> Vec<f64> {
    let m = p.len() as f64;
    p.iter().map(|x| (x * m).min(1.0)).collect()
}

/// The positions of `p` by ascending p-value (ties by position, so the order is fixed).
fn ascending(p: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&i, &j| p[i].total_cmp(&p[j]).then(i.cmp(&j)));
    order
}

/// Holm: the k-th smallest (k from 1) p × (m − k + 1), at most 1, never below a smaller p's.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut out = vec![0.0; m];
    let mut run = 0.0f64;
    for (rank, i) in ascending(p).into_iter().enumerate() {
        run = run.max(((m - rank) as f64 * p[i]).min(1.0));
        out[i] = run;
    }
    out
}

/// Benjamini-Hochberg: the k-th smallest p × m / k, at most 1, never above a larger p's.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let order = ascending(p);
    let mut out = vec![0.0; m];
    let mut run = 1.0f64;
    for rank in (0..m).rev() {
        let i = order[rank];
        run = run.min((m as f64 / (rank + 1) as f64 * p[i]).min(1.0));
        out[i] = run;
    }
    out
}
