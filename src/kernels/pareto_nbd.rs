//! The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987; fitted by maximum likelihood as in
//! Fader, Hardie & Lee 2005, "A note on implementing the Pareto/NBD model in MATLAB"): while alive
//! a customer buys at a Poisson rate λ ~ Gamma(r, α), and their lifetime is exponential with a rate
//! μ ~ Gamma(s, β): unlike BG/NBD, a customer can drop out at any moment, not only after a
//! purchase. Same summary (x, t_x, T) and collapsed rows as [`super::bgnbd`].
//!
//! The likelihood (FHL 2005, eq. 22):
//!
//! `L = Γ(r+x) α^r β^s / Γ(r) · [ (α+T)^-(r+x) (β+T)^-s + s/(r+s+x) · A0 ]`
//!
//! with, for α ≥ β, `A0 = F(t_x) − F(T)`, `F(t) = 2F1(r+s+x, s+1; r+s+x+1; (α−β)/(α+t)) / (α+t)^(r+s+x)`
//! (for α < β: 2F1(r+s+x, r+x; ...; (β−α)/(β+t)) / (β+t)^(r+s+x)). A0 is the expected density of
//! dying between t_x and T after x purchases, so it is ≥ 0 and 0 when t_x = T.
//!
//! Numerics: every 2F1 here has a, b, c > 0 and 0 ≤ z < 1, so its Gauss series has positive terms
//! only; it is summed with the scale kept as a logarithm (nothing overflows for large x), and
//! differentiated term by term with forward-mode dual numbers, so the gradient is exact (no finite
//! differences). F(t_x) − F(T) is taken in log space (`ln F(t_x) + ln(1 − F(T)/F(t_x))`), and the
//! two branches of L are added by log-sum-exp. The 2F1 depends on the row only through x and one
//! time value, so each evaluation computes it once per distinct (x, t) and the rows look it up.

use rayon::prelude::*;
use statrs::function::gamma::{digamma, ln_gamma};

use super::bgnbd::Row;
use super::mle::{self, Objective};

/// The fitted parameters: purchase rate λ ~ Gamma(r, α), drop-out rate μ ~ Gamma(s, β).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    pub r: f64,
    pub alpha: f64,
    pub s: f64,
    pub beta: f64,
}

/// A fit: parameters, the log-likelihood (a sum over customers), and what the optimiser did.
pub type Fitted = mle::Fitted<Params>;

pub const NAMES: [&str; 4] = ["r", "alpha", "s", "beta"];

/// Pairs per chunk of the parallel 2F1 pass and rows per chunk of the sums (fixed, so the sums do
/// not depend on the thread count).
const CHUNK: usize = 1024;

/// A value and its derivatives in (r, α, s, β): forward-mode automatic differentiation.
/// `K` derivatives: 4 for the likelihood's gradient, 0 where only the value is wanted (P(alive)
/// under each of the intervals' parameter draws), which then costs what plain f64 does.
#[derive(Debug, Clone, Copy)]
struct Dn<const K: usize> {
    v: f64,
    d: [f64; K],
}

/// The likelihood's dual numbers: a value and its 4 derivatives.
type D = Dn<4>;

impl<const K: usize> Dn<K> {
    fn c(v: f64) -> Self {
        Dn { v, d: [0.0; K] }
    }
    fn var(v: f64, i: usize) -> Self {
        let mut d = [0.0; K];
        d[i] = 1.0;
        Dn { v, d }
    }
    fn map(self, v: f64, dv: f64) -> Self {
        Dn { v, d: self.d.map(|x| x * dv) }
    }
    fn ln(self) -> Self {
        self.map(self.v.ln(), 1.0 / self.v)
    }
    fn exp(self) -> Self {
        let e = self.v.exp();
        self.map(e, e)
    }
    fn scale(self, k: f64) -> Self {
        self.map(self.v * k, k)
    }
}

impl<const K: usize> std::ops::Add for Dn<K> {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        Dn { v: self.v + o.v, d: std::array::from_fn(|i| self.d[i] + o.d[i]) }
    }
}
impl<const K: usize> std::ops::Sub for Dn<K> {
    type Output = Self;
    fn sub(self, o: Self) -> Self {
        Dn { v: self.v - o.v, d: std::array::from_fn(|i| self.d[i] - o.d[i]) }
    }
}
impl<const K: usize> std::ops::Mul for Dn<K> {
    type Output = Self;
    fn mul(self, o: Self) -> Self {
        Dn { v: self.v * o.v, d: std::array::from_fn(|i| self.d[i] * o.v + self.v * o.d[i]) }
    }
}
impl<const K: usize> std::ops::Div for Dn<K> {
    type Output = Self;
    fn div(self, o: Self) -> Self {
        let q = self.v / o.v;
        Dn { v: q, d: std::array::from_fn(|i| (self.d[i] - q * o.d[i]) / o.v) }
    }
}
impl<const K: usize> std::ops::Add<f64> for Dn<K> {
    type Output = Self;
    fn add(self, o: f64) -> Self {
        Dn { v: self.v + o, d: self.d }
    }
}
impl<const K: usize> std::ops::Mul<f64> for Dn<K> {
    type Output = Self;
    fn mul(self, o: f64) -> Self {
        self.scale(o)
    }
}

/// ln(e^a + e^b) without overflow (either may be −∞).
fn log_add_exp<const K: usize>(a: Dn<K>, b: Dn<K>) -> Dn<K> {
    if b.v == f64::NEG_INFINITY {
        return a;
    }
    if a.v == f64::NEG_INFINITY {
        return b;
    }
    let m = a.v.max(b.v);
    ((a + -m).exp() + (b + -m).exp()).ln() + m
}

/// Terms of one series before it is given up (z this close to 1 needs more: the fit steps back).
const MAX_TERMS: u32 = 1_000_000;

/// ln 2F1(a, b; c; z) for a, b, c > 0 and 0 ≤ z < 1, with its derivatives: the Gauss series
/// (A&S 15.1.1), all of whose terms are positive here, each term from the last by its ratio, the
/// sum divided by 2^900 whenever it passes it (the scale kept as a logarithm). NaN when the terms
/// have not become negligible after [`MAX_TERMS`].
fn ln_hyp2f1<const K: usize>(a: Dn<K>, b: Dn<K>, c: Dn<K>, z: Dn<K>) -> Dn<K> {
    const BIG: f64 = 8.452712498170644e270; // 2^900
    let ln_big = 900.0 * std::f64::consts::LN_2;
    let (mut sum, mut term, mut ln_scale) = (Dn::<K>::c(1.0), Dn::<K>::c(1.0), 0.0);
    for k in 0..MAX_TERMS {
        let k = k as f64;
        let ratio = (a + k) * (b + k) / ((c + k) * (k + 1.0)) * z;
        term = term * ratio;
        sum = sum + term;
        if sum.v > BIG {
            sum = sum.scale(1.0 / BIG);
            term = term.scale(1.0 / BIG);
            ln_scale += ln_big;
        }
        // Past the largest term (ratio < 1) the rest is below a geometric tail; the derivatives'
        // terms grow at most like ln k times the value's.
        if ratio.v < 1.0
            && term.v <= 1e-17 * sum.v
            && term.d.iter().zip(&sum.d).all(|(t, s)| t.abs() <= 1e-15 * (s.abs() + sum.v))
        {
            return sum.ln() + ln_scale;
        }
    }
    Dn::<K>::c(f64::NAN)
}

/// The parameters as dual numbers.
fn duals(p: &[f64]) -> [D; 4] {
    std::array::from_fn(|i| D::var(p[i], i))
}

/// The parameters as plain values (no derivatives).
fn values(p: &[f64]) -> [Dn<0>; 4] {
    std::array::from_fn(|i| Dn::<0>::c(p[i]))
}

/// The 2F1 series is summed only when its terms peak early and then fall fast: z ≤ 0.9 and
/// b·z/(1 − z) (about where the terms peak) ≤ 200. Past that it needs thousands of terms or more
/// (z → 1 when one of α, β runs far beyond the other, b in the millions when the optimiser tries
/// a huge r or s, as it does when the data do not pin drop-out down), and F comes from its
/// integral form instead ([`ln_f_by_quadrature`]).
const SERIES_MAX_Z: f64 = 0.9;
const SERIES_MAX_PEAK: f64 = 200.0;

/// ln F(t) = ln 2F1(r+s+x, b'; r+s+x+1; |α−β|/(m+t)) − (r+s+x) ln(m+t), m = max(α, β),
/// b' = s + 1 when α ≥ β, else r + x.
fn ln_f<const K: usize>(p: &[Dn<K>; 4], x: u32, t: f64) -> Dn<K> {
    let [r, alpha, s, beta] = *p;
    let xf = x as f64;
    let rsx = r + s + xf;
    let (m, b, diff) = if alpha.v >= beta.v { (alpha, s + 1.0, alpha - beta) } else { (beta, r + xf, beta - alpha) };
    let mt = m + t;
    let z = diff / mt;
    if z.v > SERIES_MAX_Z || b.v * z.v / (1.0 - z.v) > SERIES_MAX_PEAK {
        return ln_f_by_quadrature(p, x, t);
    }
    ln_hyp2f1(rsx, b, rsx + 1.0, z) - rsx * mt.ln()
}

/// ln F(t) from F(t) = (r+s+x) ∫_t^∞ (α+τ)^−(r+x) (β+τ)^−(s+1) dτ (F(∞) = 0; the integrand is
/// the density of dying at τ after x purchases), by Gauss–Legendre in y = ln(min(α, β) + τ). There
/// the integrand's logarithm is concave (one peak) and falls at the local rate
/// ρ = (r+x)(m+τ)/(α+τ) + (s+1)(m+τ)/(β+τ) − 1, which only grows with τ; each panel is
/// 8/(|ρ|+1) wide at its start, halved until the rate at its end times its width is at most 16,
/// so it spans at most ~16 e-folds (16 points integrate that to ~1e-12), and panels run until the
/// integrand is e^−45 below its largest value (at most 512). The nodes are placed with the parameters' values (the same rule whatever the
/// derivatives), so the dual numbers give the derivative of the quadrature sum.
fn ln_f_by_quadrature<const K: usize>(p: &[Dn<K>; 4], x: u32, t: f64) -> Dn<K> {
    let [r, alpha, s, beta] = *p;
    let xf = x as f64;
    let rsx = r + s + xf;
    let m = alpha.v.min(beta.v);
    let (big_r, big_s) = (r.v + xf, s.v + 1.0);
    // ln of integrand × dτ/dy at y, as a dual number (τ = e^y − m, a constant of the rule).
    let ln_g = |y: f64| -> Dn<K> {
        let tau = y.exp() - m;
        ((alpha + tau).ln() * (r + xf) + (beta + tau).ln() * (s + 1.0)) * -1.0 + y
    };
    let rate = |y: f64| {
        let mt = y.exp();
        let tau = mt - m;
        big_r * mt / (alpha.v + tau) + big_s * mt / (beta.v + tau) - 1.0
    };
    let mut vals: Vec<(Dn<K>, f64)> = Vec::with_capacity(16 * 8);
    let mut top = f64::NEG_INFINITY;
    let mut lo = (m + t).ln();
    for k in 0..512 {
        // Beyond e^700 the time scale is meaningless (and e^y overflows): the rest is dropped.
        if lo > 700.0 {
            break;
        }
        // 8 / (|ρ| + 1) wide, halved while the rate at the panel's end would make it span more.
        let mut h = 8.0 / (rate(lo).abs() + 1.0);
        while h > 1e-6 && (rate(lo + h).abs() + 1.0) * h > 16.0 {
            h *= 0.5;
        }
        if !h.is_finite() {
            break;
        }
        let mut last = f64::NEG_INFINITY;
        for &(node, w) in nodes() {
            let g = ln_g(lo + h * node);
            top = top.max(g.v);
            last = g.v;
            vals.push((g, w * h));
        }
        lo += h;
        // Past the peak and far below it: the rest is negligible.
        if last < top - 45.0 && k > 0 {
            break;
        }
    }
    let mut sum = Dn::<K>::c(0.0);
    for (g, w) in vals {
        sum = sum + (g + -top).exp() * w;
    }
    sum.ln() + top + rsx.ln()
}

/// The two branches of ln L without the x-only part A1: (alive at T, died between t_x and T),
/// given ln F(t_x) and ln F(T).
fn branches<const K: usize>(p: &[Dn<K>; 4], x: u32, t: f64, lf_tx: Dn<K>, lf_t: Dn<K>, same: bool) -> (Dn<K>, Dn<K>) {
    let [r, alpha, s, beta] = *p;
    let xf = x as f64;
    let alive = (r + xf) * (alpha + t).ln() * -1.0 + s * (beta + t).ln() * -1.0;
    if same {
        return (alive, Dn::<K>::c(f64::NEG_INFINITY));
    }
    // ln(F(t_x) − F(T)) = ln F(t_x) + ln(1 − e^w), w = ln F(T) − ln F(t_x) < 0.
    let w = lf_t - lf_tx;
    let one_minus = -w.v.exp_m1();
    if !(one_minus > 0.0) {
        return (alive, Dn::<K>::c(f64::NEG_INFINITY));
    }
    // d ln(1 − e^w) = −e^w / (1 − e^w) dw.
    let ln_one_minus = w.map(one_minus.ln(), -w.v.exp() / one_minus);
    let died = s.ln() + lf_tx + ln_one_minus - (r + s + xf).ln();
    (alive, died)
}

/// The likelihood over collapsed rows sorted by x.
struct Likelihood<'a> {
    rows: &'a [Row],
    /// Per distinct x (ascending): x and its total weight.
    xs: Vec<(u32, f64)>,
    /// Distinct (x, t) the rows need F at (t = t_x or T), and per row the index of its (x, t_x) and
    /// of its (x, T).
    pairs: Vec<(u32, f64)>,
    at: Vec<(u32, u32)>,
    total_weight: f64,
}

impl<'a> Likelihood<'a> {
    fn new(rows: &'a [Row]) -> Likelihood<'a> {
        let xs = super::bgnbd::weights_by_x(rows);
        let mut pairs: Vec<(u32, u64)> = rows.iter().flat_map(|r| [(r.x, r.t.to_bits()), (r.x, r.t_x.to_bits())]).collect();
        pairs.sort_unstable();
        pairs.dedup();
        let find = |x: u32, t: f64| pairs.binary_search(&(x, t.to_bits())).unwrap_or(0) as u32;
        let at = rows.iter().map(|r| (find(r.x, r.t_x), find(r.x, r.t))).collect();
        let pairs = pairs.into_iter().map(|(x, t)| (x, f64::from_bits(t))).collect();
        let total_weight = rows.iter().map(|r| r.weight).sum();
        Likelihood { rows, xs, pairs, at, total_weight }
    }

    /// Sum of the log-likelihood and its gradient in (r, α, s, β).
    fn sums(&self, p: &[f64]) -> (f64, [f64; 4]) {
        let (r, alpha, s, beta) = (p[0], p[1], p[2], p[3]);
        let dp = duals(p);
        // A1 = ln Γ(r+x) − ln Γ(r) + r ln α + s ln β, per distinct x.
        let (lg_r, dg_r) = (ln_gamma(r), digamma(r));
        let mut ll = 0.0;
        let mut g = [0.0; 4];
        for &(x, w) in &self.xs {
            let xf = x as f64;
            ll += w * (ln_gamma(r + xf) - lg_r + r * alpha.ln() + s * beta.ln());
            g[0] += w * (digamma(r + xf) - dg_r + alpha.ln());
            g[1] += w * r / alpha;
            g[2] += w * beta.ln();
            g[3] += w * s / beta;
        }
        let lf: Vec<D> = self
            .pairs
            .par_chunks(CHUNK)
            .flat_map_iter(|chunk| chunk.iter().map(|&(x, t)| ln_f(&dp, x, t)).collect::<Vec<_>>())
            .collect();
        let parts: Vec<(f64, [f64; 4])> = self
            .rows
            .par_chunks(CHUNK)
            .zip(self.at.par_chunks(CHUNK))
            .map(|(chunk, at)| {
                let mut ll = 0.0;
                let mut g = [0.0; 4];
                for (row, &(itx, it)) in chunk.iter().zip(at) {
                    let (alive, died) = branches(&dp, row.x, row.t, lf[itx as usize], lf[it as usize], itx == it);
                    let v = log_add_exp(alive, died);
                    ll += row.weight * v.v;
                    for k in 0..4 {
                        g[k] += row.weight * v.d[k];
                    }
                }
                (ll, g)
            })
            .collect();
        mle::add_in_order((ll, g), parts)
    }
}

impl Objective for Likelihood<'_> {
    fn eval(&self, p: &[f64]) -> (f64, Vec<f64>) {
        let (ll, g) = self.sums(p);
        mle::mean_negative(ll, &g, p, self.total_weight)
    }
}

/// Fit by maximum likelihood. `None` when no start point gives a finite likelihood.
pub fn fit(rows: &[Row]) -> Option<Fitted> {
    let lik = Likelihood::new(rows);
    let w = lik.total_weight;
    let mean_t = rows.iter().map(|r| r.weight * r.t).sum::<f64>() / w;
    let mean_x = rows.iter().map(|r| r.weight * r.x as f64).sum::<f64>() / w;
    // α and β are time scales: start both at the mean age over the mean purchases, and at the mean
    // age (a lifetime about as long as the history), then at the all-ones of lifetimes.
    let alpha0 = (mean_t / (mean_x + 1.0)).max(1e-6);
    let starts = vec![
        vec![1.0, alpha0, 1.0, mean_t.max(1e-6)],
        vec![1.0, 1.0, 1.0, 1.0],
        vec![0.5, alpha0, 0.5, 10.0 * mean_t.max(1e-6)],
    ];
    let f = mle::minimise(&lik, &starts)?;
    Some(f.named(w, &NAMES, |p| Params { r: p[0], alpha: p[1], s: p[2], beta: p[3] }))
}

/// The log-likelihood (a sum) of `rows` at `p`.
pub fn log_likelihood(rows: &[Row], p: Params) -> f64 {
    Likelihood::new(rows).sums(&[p.r, p.alpha, p.s, p.beta]).0
}

/// Standard errors of (r, α, s, β) at the fit: from the Hessian of the log-likelihood.
/// The covariance of (ln r, ln α, ln s, ln β) at the fit ([`mle::log_covariance`]).
pub fn log_covariance(rows: &[Row], p: Params) -> Option<Vec<Vec<f64>>> {
    let lik = Likelihood::new(rows);
    mle::log_covariance(&lik, &[p.r, p.alpha, p.s, p.beta], lik.total_weight)
}

pub fn standard_errors(rows: &[Row], p: Params) -> Option<[f64; 4]> {
    let lik = Likelihood::new(rows);
    let se = mle::standard_errors(&lik, &[p.r, p.alpha, p.s, p.beta], lik.total_weight)?;
    Some([se[0], se[1], se[2], se[3]])
}

/// P(alive | x, t_x, T) = 1 / (1 + e^(died − alive)) (FHL 2005, eq. 18 in this form).
/// [`p_alive`] of customers who share x and T (their t_x in `t_xs`): ln F(T) taken once.
pub fn p_alive_group(p: Params, x: u32, t: f64, t_xs: &[f64]) -> Vec<f64> {
    let dp = values(&[p.r, p.alpha, p.s, p.beta]);
    let lf_t = ln_f(&dp, x, t);
    t_xs.iter()
        .map(|&t_x| {
            let (alive, died) = branches(&dp, x, t, ln_f(&dp, x, t_x), lf_t, t_x == t);
            1.0 / (1.0 + (died.v - alive.v).exp())
        })
        .collect()
}

pub fn p_alive(p: Params, x: u32, t_x: f64, t: f64) -> f64 {
    let dp = values(&[p.r, p.alpha, p.s, p.beta]);
    let (lf_tx, lf_t) = (ln_f(&dp, x, t_x), ln_f(&dp, x, t));
    let (alive, died) = branches(&dp, x, t, lf_tx, lf_t, t_x == t);
    1.0 / (1.0 + (died.v - alive.v).exp())
}

/// E[purchases in (T, T + h] | alive at T] = (r+x)(β+T) / ((α+T)(s−1)) · [1 − ((β+T)/(β+T+h))^(s−1)]
/// (FHL 2005, eq. 41 without its P(alive)); at s = 1 the bracket over s − 1 is its limit ln((β+T+h)/(β+T)).
pub fn expected_while_alive(p: Params, x: u32, t: f64, h: f64) -> f64 {
    if h <= 0.0 {
        return 0.0;
    }
    let l = ((p.beta + t) / (p.beta + t + h)).ln();
    let k = p.s - 1.0;
    let bracket = if k.abs() < 1e-12 { -l } else { -(k * l).exp_m1() / k };
    (p.r + x as f64) * (p.beta + t) / (p.alpha + t) * bracket
}

/// E[purchases in (T, T + h] | x, t_x, T] (FHL 2005, eq. 41).
pub fn expected_purchases(p: Params, x: u32, t_x: f64, t: f64, h: f64) -> f64 {
    expected_while_alive(p, x, t, h) * p_alive(p, x, t_x, t)
}

/// Gauss–Legendre nodes and weights on [0, 1] (n points), by Newton's method on P_n.
fn gauss_legendre(n: usize) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let mut x = (std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
        let mut dp = 0.0;
        for _ in 0..100 {
            let (mut p0, mut p1) = (1.0, x);
            for k in 2..=n {
                let kf = k as f64;
                let p2 = ((2.0 * kf - 1.0) * x * p1 - (kf - 1.0) * p0) / kf;
                p0 = p1;
                p1 = p2;
            }
            dp = n as f64 * (x * p1 - p0) / (x * x - 1.0);
            let dx = p1 / dp;
            x -= dx;
            if dx.abs() < 1e-16 {
                break;
            }
        }
        let w = 2.0 / ((1.0 - x * x) * dp * dp);
        out.push(((1.0 - x) / 2.0, w / 2.0));
    }
    out
}

/// P(X(t) = x): the probability that a customer acquired at 0 makes x repeat purchases in (0, t]
/// (issue 32, the calibration frequency histogram). Alive throughout with probability
/// (β/(β+t))^s, making NBD_x(t) purchases ([`crate::kernels::bgnbd::ln_nbd`]); or dead at u < t,
/// the lifetime's density s/β · (1 + u/β)^(−s−1), having made NBD_x(u):
/// P = NB_x(t)·(β/(β+t))^s + ∫_0^t NB_x(u) f(u) du, the integral by Gauss–Legendre in
/// v = ln(1 + u/β), where f(u) du = s·e^(−s·v) dv (panels at most ½ wide, 16 points each).
pub fn pmf(p: Params, t: f64, x: u32) -> f64 {
    use crate::kernels::bgnbd::ln_nbd;
    let survive = (-p.s * (t / p.beta).ln_1p()).exp();
    let v_end = (t / p.beta).ln_1p();
    let panels = ((v_end / 0.5).ceil() as usize).clamp(1, 4096);
    let width = v_end / panels as f64;
    let mut dead = 0.0;
    for k in 0..panels {
        for &(node, w) in nodes() {
            let v = (k as f64 + node) * width;
            let u = p.beta * v.exp_m1();
            dead += w * width * p.s * (-p.s * v).exp() * ln_nbd(p.r, p.alpha, u, x).exp();
        }
    }
    ln_nbd(p.r, p.alpha, t, x).exp() * survive + dead
}

/// 16 Gauss–Legendre nodes and weights on [0, 1], for the CLV quadratures (DERT's too).
pub(crate) fn legendre_16() -> &'static [(f64, f64)] {
    nodes()
}

/// Gauss–Legendre nodes of the quadrature of [`first_purchase_within`] (16 a panel).
fn nodes() -> &'static [(f64, f64)] {
    static NODES: std::sync::OnceLock<Vec<(f64, f64)>> = std::sync::OnceLock::new();
    NODES.get_or_init(|| gauss_legendre(16))
}

/// ∫_0^q(y) (1 + u(q')/B)^(−s) dq', q(y) = 1 − e^(−y), u(q') = A((1 − q')^(−1/R) − 1): the
/// probability that a customer alive at T buys before dying and before u(q(y)), with q' the
/// probability that their λ-waiting time is below u (so dq' is the waiting time's density). The
/// integrand has a logarithmic end point singularity as q' → 1, so the panels are uniform in
/// y = −ln(1 − q') (each at most 2 wide, up to 512), each with 16 Gauss–Legendre points placed in
/// d = 1 − q' directly (no digits lost near q' = 1).
fn alive_share_to(p: Params, x: u32, t: f64, y: f64) -> f64 {
    let (r, a, b) = (p.r + x as f64, p.alpha + t, p.beta + t);
    let panels = ((y / 2.0).ceil() as usize).clamp(1, 512);
    let mut total = 0.0;
    for k in 0..panels {
        let (d_lo, d_hi) = ((-y * k as f64 / panels as f64).exp(), (-y * (k + 1) as f64 / panels as f64).exp());
        let width = d_lo - d_hi;
        for &(node, w) in nodes() {
            let d = d_lo - width * node;
            let u = a * (-d.ln() / r).exp_m1();
            total += w * width * (-p.s * (u / b).ln_1p()).exp();
        }
    }
    total
}

/// P(the first purchase after T comes within `window`, before drop-out | alive at T):
/// `∫_0^w E[λ e^(−λu)] E[e^(−μu)] du` over the posteriors λ ~ Gamma(r+x, α+T), μ ~ Gamma(s, β+T),
/// integrated in the variable q = P(λ-waiting time ≤ u) by Gauss–Legendre ([`alive_share_to`]).
/// Times P(alive), it is P(at least one purchase in (T, T + window]).
pub fn first_purchase_within(p: Params, x: u32, t: f64, window: f64) -> f64 {
    if window <= 0.0 {
        return 0.0;
    }
    // q(w) = 1 − ((α+T)/(α+T+w))^(r+x), so y = (r+x) ln(1 + w/(α+T)).
    alive_share_to(p, x, t, (p.r + x as f64) * (window / (p.alpha + t)).ln_1p())
}

/// The time after T by which a customer alive at T has bought again with probability ½, when that
/// is within `limit`; `None` otherwise (a Pareto/NBD customer may die before buying, so the ½ may
/// never be reached). Newton's method in y = −ln(1 − q) from y = ln 2 (q = ½): the share is
/// concave in y and below ½ there, so the steps approach the root from below.
pub fn median_wait(p: Params, x: u32, t: f64, limit: f64) -> Option<f64> {
    if !(first_purchase_within(p, x, t, limit) >= 0.5) {
        return None;
    }
    let (r, a, b) = (p.r + x as f64, p.alpha + t, p.beta + t);
    let u_of = |y: f64| a * (y / r).exp_m1();
    let mut y = std::f64::consts::LN_2;
    for _ in 0..100 {
        let g = alive_share_to(p, x, t, y) - 0.5;
        // d share / dy = (1 + u/B)^(−s) · e^(−y).
        let slope = (-p.s * (u_of(y) / b).ln_1p() - y).exp();
        let step = -g / slope;
        y += step;
        if step.abs() <= 1e-13 * y {
            break;
        }
    }
    let wait = u_of(y);
    wait.is_finite().then(|| wait.min(limit))
}
