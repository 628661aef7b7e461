//! The Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value curves";
//! Fader & Hardie 2013, "The Gamma-Gamma model of monetary value"): a customer's purchase values
//! are Gamma(p, ν) around their own mean, with ν ~ Gamma(q, γ) across customers. It is fitted on
//! customers with repeat purchases (x > 0) and a positive average repeat value m̄.
//!
//! [`fit`] is maximum likelihood over (x, m̄) rows (identical rows collapsed into weights, summed in
//! fixed chunks of the sorted rows); [`expected_value`] is the conditional mean spend per purchase,
//! `p(γ + x·m̄) / (p·x + q - 1)`, which for x = 0 is the population mean `pγ / (q - 1)`.

use rayon::prelude::*;
use statrs::function::gamma::{digamma, ln_gamma};

use super::mle::{self, Objective};

/// One (x, m̄) row with its weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    pub x: u32,
    pub m: f64,
    pub weight: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    pub p: f64,
    pub q: f64,
    pub gamma: f64,
}

pub type Fitted = mle::Fitted<Params>;

pub const NAMES: [&str; 3] = ["p", "q", "gamma"];
const CHUNK: usize = 4096;

/// Collapse (x, m̄) pairs (x > 0, m̄ > 0) into weighted rows sorted by (x, m̄).
pub fn collapse(pairs: impl Iterator<Item = (u32, f64)>) -> Vec<Row> {
    let mut v: Vec<(u32, f64)> = pairs.collect();
    v.par_sort_unstable_by_key(|&(x, m)| (x, m.to_bits()));
    let mut rows: Vec<Row> = Vec::new();
    for (x, m) in v {
        match rows.last_mut() {
            Some(r) if r.x == x && r.m.to_bits() == m.to_bits() => r.weight += 1.0,
            _ => rows.push(Row { x, m, weight: 1.0 }),
        }
    }
    rows
}

struct Likelihood<'a> {
    rows: &'a [Row],
    /// Per row: ln m̄ and ln x (constant over the fit).
    logs: Vec<(f64, f64)>,
    total_weight: f64,
}

impl Likelihood<'_> {
    fn sums(&self, p: &[f64]) -> (f64, [f64; 3]) {
        let (pp, q, g) = (p[0], p[1], p[2]);
        let (lg_q, dg_q, ln_g) = (ln_gamma(q), digamma(q), g.ln());
        let parts: Vec<(f64, [f64; 3])> = self
            .rows
            .par_chunks(CHUNK)
            .zip(self.logs.par_chunks(CHUNK))
            .map(|(rows, logs)| {
                let mut ll = 0.0;
                let mut d = [0.0; 3];
                // Rows are sorted by x: the gamma terms change only when x does.
                let mut cur = u32::MAX;
                let (mut lg, mut dg_pxq, mut dg_px) = (0.0, 0.0, 0.0);
                for (row, &(ln_m, ln_x)) in rows.iter().zip(logs) {
                    let x = row.x as f64;
                    let px = pp * x;
                    if row.x != cur {
                        cur = row.x;
                        lg = ln_gamma(px + q) - ln_gamma(px) - lg_q;
                        dg_pxq = digamma(px + q);
                        dg_px = digamma(px);
                    }
                    let gxm = g + x * row.m;
                    let ln_gxm = gxm.ln();
                    let w = row.weight;
                    ll += w * (lg + q * ln_g + (px - 1.0) * ln_m + px * ln_x - (px + q) * ln_gxm);
                    d[0] += w * x * (dg_pxq - dg_px + ln_m + ln_x - ln_gxm);
                    d[1] += w * (dg_pxq - dg_q + ln_g - ln_gxm);
                    d[2] += w * (q / g - (px + q) / gxm);
                }
                (ll, d)
            })
            .collect();
        mle::add_in_order((0.0, [0.0; 3]), parts)
    }
}

impl Objective for Likelihood<'_> {
    fn eval(&self, p: &[f64]) -> (f64, Vec<f64>) {
        let (ll, d) = self.sums(p);
        mle::mean_negative(ll, &d, p, self.total_weight)
    }
}

fn likelihood(rows: &[Row]) -> Likelihood<'_> {
    Likelihood {
        rows,
        logs: rows.iter().map(|r| (r.m.ln(), (r.x as f64).ln())).collect(),
        total_weight: rows.iter().map(|r| r.weight).sum(),
    }
}

/// Fit by maximum likelihood; `None` when no start point gives a finite likelihood.
pub fn fit(rows: &[Row]) -> Option<Fitted> {
    let lik = likelihood(rows);
    let w = lik.total_weight;
    let mean_m = rows.iter().map(|r| r.weight * r.m).sum::<f64>() / w;
    // p = 1, q = 2 and γ = the mean spend put the population mean pγ/(q-1) at the observed mean.
    let starts = vec![vec![1.0, 2.0, mean_m.max(1e-9)], vec![1.0, 1.0, 1.0], vec![5.0, 5.0, (4.0 * mean_m).max(1e-9)]];
    let f = mle::minimise(&lik, &starts)?;
    Some(f.named(w, &NAMES, |p| Params { p: p[0], q: p[1], gamma: p[2] }))
}

/// Standard errors of (p, q, γ) at the fit, from the Hessian of the log-likelihood
/// ([`mle::standard_errors`]); `None` when it is not positive definite (q and γ growing together).
pub fn standard_errors(rows: &[Row], p: Params) -> Option<[f64; 3]> {
    let lik = likelihood(rows);
    let se = mle::standard_errors(&lik, &[p.p, p.q, p.gamma], lik.total_weight)?;
    Some([se[0], se[1], se[2]])
}

/// The covariance of (ln p, ln q, ln γ) at the fit ([`mle::log_covariance`]).
pub fn log_covariance(rows: &[Row], p: Params) -> Option<Vec<Vec<f64>>> {
    let lik = likelihood(rows);
    mle::log_covariance(&lik, &[p.p, p.q, p.gamma], lik.total_weight)
}

/// E[spend per purchase | x, m̄]: `p(γ + x·m̄) / (p·x + q - 1)`; the population mean `pγ/(q-1)`
/// for x = 0 (m̄ is not used then).
pub fn expected_value(p: Params, x: u32, m: f64) -> f64 {
    let xf = x as f64;
    let m = if x == 0 { 0.0 } else { m };
    p.p * (p.gamma + xf * m) / (p.p * xf + p.q - 1.0)
}
