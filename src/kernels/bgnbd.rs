//! The BG/NBD model (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): while
//! alive a customer buys at a Poisson rate λ ~ Gamma(r, α); after each purchase they drop out with
//! probability p ~ Beta(a, b). A customer is summarised by (x, t_x, T): repeat purchases, time of the
//! last purchase and age, all measured from the first purchase.
//!
//! [`fit`] is maximum likelihood (the paper's equation 6) over rows with identical (x, t_x, T)
//! collapsed into weights; [`p_alive`] and [`expected_purchases`] are the paper's equations 13 and
//! 10. Every sum runs over fixed chunks of the sorted rows, added in chunk order, so the fit has the
//! same bits whatever the thread count and the customers' order.

use rayon::prelude::*;
use statrs::function::gamma::{digamma, ln_gamma};

use super::mle::{self, Objective};

/// One summary row with its weight (customers sharing it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    pub x: u32,
    pub t_x: f64,
    pub t: f64,
    pub weight: f64,
}

/// The fitted parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

/// A fit: parameters, the log-likelihood (a sum over customers), and what the optimiser did.
#[derive(Debug, Clone)]
pub struct Fitted {
    pub params: Params,
    pub log_likelihood: f64,
    pub iterations: u64,
    pub converged: bool,
    /// Names of parameters that ended on the optimiser's bound.
    pub at_bound: Vec<&'static str>,
    pub starts: usize,
}

const NAMES: [&str; 4] = ["r", "alpha", "a", "b"];

/// Rows per chunk of the likelihood's sums (fixed, so sums do not depend on the thread count).
const CHUNK: usize = 4096;

/// Collapse (x, t_x, T) triples into weighted rows, sorted by (x, t_x, T). Returns the rows and,
/// per input triple, the index of its row.
pub fn collapse(x: &[u32], t_x: &[f64], t: &[f64]) -> (Vec<Row>, Vec<u32>) {
    let mut order: Vec<u32> = (0..x.len() as u32).collect();
    let key = |i: u32| (x[i as usize], t_x[i as usize].to_bits(), t[i as usize].to_bits());
    order.par_sort_unstable_by_key(|&i| key(i));
    let mut rows: Vec<Row> = Vec::new();
    let mut index = vec![0u32; x.len()];
    let mut prev = None;
    for &i in &order {
        let k = key(i);
        if prev != Some(k) {
            rows.push(Row { x: k.0, t_x: t_x[i as usize], t: t[i as usize], weight: 0.0 });
            prev = Some(k);
        }
        let last = rows.len() - 1;
        rows[last].weight += 1.0;
        index[i as usize] = last as u32;
    }
    (rows, index)
}

/// The likelihood over collapsed rows sorted by x.
struct Likelihood<'a> {
    rows: &'a [Row],
    /// Per distinct x (ascending): x, its total weight.
    xs: Vec<(u32, f64)>,
    total_weight: f64,
}

impl<'a> Likelihood<'a> {
    fn new(rows: &'a [Row]) -> Likelihood<'a> {
        let mut xs: Vec<(u32, f64)> = Vec::new();
        for r in rows {
            match xs.last_mut() {
                Some((x, w)) if *x == r.x => *w += r.weight,
                _ => xs.push((r.x, r.weight)),
            }
        }
        let total_weight = rows.iter().map(|r| r.weight).sum();
        Likelihood { rows, xs, total_weight }
    }

    /// Sum of log-likelihood and of its gradient in (r, α, a, b).
    fn sums(&self, p: &[f64]) -> (f64, [f64; 4]) {
        let (r, alpha, a, b) = (p[0], p[1], p[2], p[3]);
        // The terms that depend on x alone (A1 + A2 of the paper's appendix), per distinct x.
        let (lg_r, lg_ab, lg_b) = (ln_gamma(r), ln_gamma(a + b), ln_gamma(b));
        let (dg_r, dg_ab, dg_b) = (digamma(r), digamma(a + b), digamma(b));
        let mut ll = 0.0;
        let mut g = [0.0; 4];
        for &(x, w) in &self.xs {
            let xf = x as f64;
            ll += w * (ln_gamma(r + xf) - lg_r + r * alpha.ln() + lg_ab + ln_gamma(b + xf) - lg_b - ln_gamma(a + b + xf));
            g[0] += w * (digamma(r + xf) - dg_r + alpha.ln());
            g[1] += w * r / alpha;
            g[2] += w * (dg_ab - digamma(a + b + xf));
            g[3] += w * (dg_ab + digamma(b + xf) - dg_b - digamma(a + b + xf));
        }
        // The terms that depend on t_x and T: ln(e^A3 + [x > 0] e^A4), per row.
        let ln_a = a.ln();
        let parts: Vec<(f64, [f64; 4])> = self
            .rows
            .par_chunks(CHUNK)
            .map(|chunk| {
                let mut ll = 0.0;
                let mut g = [0.0; 4];
                for row in chunk {
                    let rx = r + row.x as f64;
                    let at = alpha + row.t;
                    let lt = at.ln();
                    let a3 = -rx * lt;
                    if row.x == 0 {
                        ll += row.weight * a3;
                        g[0] -= row.weight * lt;
                        g[1] -= row.weight * rx / at;
                        continue;
                    }
                    let atx = alpha + row.t_x;
                    let ltx = atx.ln();
                    let bx1 = b + row.x as f64 - 1.0;
                    let a4 = ln_a - bx1.ln() - rx * ltx;
                    let d = a4 - a3;
                    // ln(e^a3 + e^a4) and the weight of the A4 branch, without overflow.
                    let (lse, w4) = if d > 0.0 {
                        let e = (-d).exp();
                        (a4 + e.ln_1p(), 1.0 / (1.0 + e))
                    } else {
                        let e = d.exp();
                        (a3 + e.ln_1p(), e / (1.0 + e))
                    };
                    let w3 = 1.0 - w4;
                    ll += row.weight * lse;
                    g[0] -= row.weight * (w3 * lt + w4 * ltx);
                    g[1] -= row.weight * rx * (w3 / at + w4 / atx);
                    g[2] += row.weight * w4 / a;
                    g[3] -= row.weight * w4 / bx1;
                }
                (ll, g)
            })
            .collect();
        for (l, pg) in parts {
            ll += l;
            for k in 0..4 {
                g[k] += pg[k];
            }
        }
        (ll, g)
    }
}

impl Objective for Likelihood<'_> {
    fn eval(&self, p: &[f64]) -> (f64, Vec<f64>) {
        let (ll, g) = self.sums(p);
        let n = self.total_weight;
        // d/dθ = param · d/dparam; minimise the mean negative log-likelihood.
        (-ll / n, (0..4).map(|k| -g[k] * p[k] / n).collect())
    }
}

/// Fit by maximum likelihood. `None` when no start point gives a finite likelihood.
pub fn fit(rows: &[Row]) -> Option<Fitted> {
    let lik = Likelihood::new(rows);
    let w = lik.total_weight;
    let mean_t = rows.iter().map(|r| r.weight * r.t).sum::<f64>() / w;
    let mean_x = rows.iter().map(|r| r.weight * r.x as f64).sum::<f64>() / w;
    // α is a time scale: start it at the mean age over the mean purchases (r = 1 gives rate 1/α).
    let alpha0 = (mean_t / (mean_x + 1.0)).max(1e-6);
    let starts = vec![vec![1.0, alpha0, 1.0, 1.0], vec![1.0, 1.0, 1.0, 1.0], vec![0.5, alpha0, 0.5, 5.0]];
    let f = mle::minimise(&lik, &starts)?;
    let params = Params { r: f.params[0], alpha: f.params[1], a: f.params[2], b: f.params[3] };
    Some(Fitted {
        params,
        log_likelihood: -f.mean_nll * w,
        iterations: f.iterations,
        converged: f.converged,
        at_bound: f.at_bound.iter().map(|&i| NAMES[i]).collect(),
        starts: f.starts,
    })
}

/// The log-likelihood (a sum) of `rows` at `p`.
pub fn log_likelihood(rows: &[Row], p: Params) -> f64 {
    Likelihood::new(rows).sums(&[p.r, p.alpha, p.a, p.b]).0
}

/// P(alive | x, t_x, T) (equation 13): 1 for customers without repeat purchases.
pub fn p_alive(p: Params, x: u32, t_x: f64, t: f64) -> f64 {
    if x == 0 {
        return 1.0;
    }
    let rx = p.r + x as f64;
    let log_div = rx * ((p.alpha + t) / (p.alpha + t_x)).ln() + (p.a / (p.b + x as f64 - 1.0)).ln();
    1.0 / (1.0 + log_div.exp())
}

/// E[purchases in (T, T + horizon] | x, t_x, T] (equation 10), written with Euler's transformation
/// of its 2F1 so no term overflows for large x:
/// `(a+b+x-1)/(a-1) · [1 - (1-z)^(a-1) · 2F1(a+b-1-r, a-1; a+b+x-1; z)] · P(alive)`,
/// z = horizon / (α + T + horizon).
pub fn expected_purchases(p: Params, x: u32, t_x: f64, t: f64, horizon: f64) -> f64 {
    if horizon <= 0.0 {
        return 0.0;
    }
    let xf = x as f64;
    let z = horizon / (p.alpha + t + horizon);
    let c = p.a + p.b + xf - 1.0;
    let f = hyp2f1(p.a + p.b - 1.0 - p.r, p.a - 1.0, c, z);
    let one_minus = (p.alpha + t) / (p.alpha + t + horizon);
    c / (p.a - 1.0) * (1.0 - one_minus.powf(p.a - 1.0) * f) * p_alive(p, x, t_x, t)
}

/// The Gauss hypergeometric function 2F1(a, b; c; z) for 0 <= z < 1, by its series (A&S 15.1.1),
/// summed until a term no longer changes the sum. The series converges for |z| < 1 whenever c is
/// not 0, -1, -2, ... (c = a + b + x - 1 is negative when a + b < 1 and x = 0, which real dumps
/// give); here z = h / (α + T + h) < 1 always. NaN when c is a non-positive integer or the series
/// has not settled after 100,000 terms (z within about 1e-4 of 1), which the caller reports.
///
/// Written here because no maintained pure-Rust crate has 2F1: the Cephes binding
/// (`special-fun`) redefines libm's `log`, `exp` and `pow` for the whole binary and prints
/// errors to stdout, and `scirs2-special` brings a framework of its own.
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    if !(0.0..1.0).contains(&z) || (c <= 0.0 && c.fract() == 0.0) {
        return f64::NAN;
    }
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 0..100_000u32 {
        let k = k as f64;
        term *= (a + k) * (b + k) / ((c + k) * (k + 1.0)) * z;
        let next = sum + term;
        if next == sum {
            return sum;
        }
        sum = next;
    }
    f64::NAN
}
