//! The BG/NBD model (Fader, Hardie & Lee 2005, "Counting your customers the easy way") and its
//! MBG/NBD variant (Batislam, Denizel & Filiztekin 2007): while alive a customer buys at a Poisson
//! rate λ ~ Gamma(r, α); after each repeat purchase (BG/NBD), or also right after the first one
//! (MBG/NBD, so one-time buyers can drop out), they drop out with probability p ~ Beta(a, b). A
//! customer is summarised by (x, t_x, T): repeat purchases, time of the last purchase and age, all
//! measured from the first purchase.
//!
//! [`fit`] is maximum likelihood (the paper's equation 6) over rows with identical (x, t_x, T)
//! collapsed into weights; [`p_alive`] and [`expected_purchases`] are the paper's equations 13 and
//! 10. MBG/NBD's are the same expressions with b + 1 in place of b where b + x − 1 or b + x appear
//! (its drop-out chances are one purchase ahead), with the drop-out branch for x = 0 too. Every sum
//! runs over fixed chunks of the sorted rows, added in chunk order, so the fit has the same bits
//! whatever the thread count and the customers' order.

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

/// Which drop-out process: after repeat purchases only (BG/NBD) or after every purchase, the first
/// included (MBG/NBD).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    BgNbd,
    MbgNbd,
}

impl Variant {
    /// How far the drop-out chances are shifted: b + x − 1 + shift is the Beta's second parameter
    /// after x repeat purchases.
    fn shift(self) -> f64 {
        match self {
            Variant::BgNbd => 0.0,
            Variant::MbgNbd => 1.0,
        }
    }

    /// Whether a customer without repeat purchases can have dropped out.
    fn first_purchase_drops(self) -> bool {
        self == Variant::MbgNbd
    }
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
pub type Fitted = mle::Fitted<Params>;

const NAMES: [&str; 4] = ["r", "alpha", "a", "b"];

/// Rows per chunk of the likelihood's sums (fixed, so sums do not depend on the thread count).
const CHUNK: usize = 4096;

/// Collapse (x, t_x, T) triples into weighted rows, sorted by (x, t_x, T). Returns the rows and,
/// per input triple, the index of its row. One hash pass over the triples, then a sort of the
/// distinct ones (a million customers make a few hundred thousand in days).
pub fn collapse(x: &[u32], t_x: &[f64], t: &[f64]) -> (Vec<Row>, Vec<u32>) {
    let mut ids: hashbrown::HashMap<(u32, u64, u64), u32> = hashbrown::HashMap::with_capacity(x.len() / 4 + 16);
    let mut keys: Vec<(u32, u64, u64)> = Vec::new();
    let mut weight: Vec<f64> = Vec::new();
    let mut index: Vec<u32> = Vec::with_capacity(x.len());
    for i in 0..x.len() {
        let k = (x[i], t_x[i].to_bits(), t[i].to_bits());
        let id = *ids.entry(k).or_insert_with(|| {
            keys.push(k);
            weight.push(0.0);
            keys.len() as u32 - 1
        });
        weight[id as usize] += 1.0;
        index.push(id);
    }
    // Sort by (x, t_x, T) as numbers (all values are >= 0, so their bits sort the same way).
    let mut order: Vec<u32> = (0..keys.len() as u32).collect();
    order.par_sort_unstable_by_key(|&id| keys[id as usize]);
    let mut rank = vec![0u32; keys.len()];
    for (pos, &id) in order.iter().enumerate() {
        rank[id as usize] = pos as u32;
    }
    let rows = order
        .iter()
        .map(|&id| {
            let (x, tx, t) = keys[id as usize];
            Row { x, t_x: f64::from_bits(tx), t: f64::from_bits(t), weight: weight[id as usize] }
        })
        .collect();
    for v in index.iter_mut() {
        *v = rank[*v as usize];
    }
    (rows, index)
}

/// The likelihood over collapsed rows sorted by x. Per row it needs ln(α + T) and ln(α + t_x):
/// computed once per evaluation for each distinct value (a few hundred in days), looked up per row.
/// Per distinct x of rows sorted by x (ascending): x and its rows' total weight, for the
/// likelihoods' x-only terms.
pub(crate) fn weights_by_x(rows: &[Row]) -> Vec<(u32, f64)> {
    let mut xs: Vec<(u32, f64)> = Vec::new();
    for r in rows {
        match xs.last_mut() {
            Some((x, w)) if *x == r.x => *w += r.weight,
            _ => xs.push((r.x, r.weight)),
        }
    }
    xs
}

struct Likelihood<'a> {
    rows: &'a [Row],
    variant: Variant,
    /// Per distinct x (ascending): x, its total weight.
    xs: Vec<(u32, f64)>,
    /// Distinct values of T and t_x, and per row the index of its T and of its t_x among them.
    values: Vec<f64>,
    at: Vec<(u32, u32)>,
    total_weight: f64,
}

impl<'a> Likelihood<'a> {
    fn new(rows: &'a [Row], variant: Variant) -> Likelihood<'a> {
        let xs = weights_by_x(rows);
        let mut values: Vec<f64> = rows.iter().flat_map(|r| [r.t, r.t_x]).collect();
        values.sort_unstable_by(f64::total_cmp);
        values.dedup();
        let find = |v: f64| values.binary_search_by(|p| p.total_cmp(&v)).unwrap_or(0) as u32;
        let at = rows.iter().map(|r| (find(r.t), find(r.t_x))).collect();
        let total_weight = rows.iter().map(|r| r.weight).sum();
        Likelihood { rows, variant, xs, values, at, total_weight }
    }

    /// Sum of log-likelihood and of its gradient in (r, α, a, b).
    fn sums(&self, p: &[f64]) -> (f64, [f64; 4]) {
        let (r, alpha, a, b) = (p[0], p[1], p[2], p[3]);
        let (shift, zero_drops) = (self.variant.shift(), self.variant.first_purchase_drops());
        // The terms that depend on x alone (A1 + A2 of the paper's appendix), per distinct x.
        // MBG/NBD: B(a, b + x + 1) / B(a, b) in place of B(a, b + x) / B(a, b).
        let (lg_r, lg_ab, lg_b) = (ln_gamma(r), ln_gamma(a + b), ln_gamma(b));
        let (dg_r, dg_ab, dg_b) = (digamma(r), digamma(a + b), digamma(b));
        let mut ll = 0.0;
        let mut g = [0.0; 4];
        for &(x, w) in &self.xs {
            let xf = x as f64;
            let xb = xf + shift;
            ll += w * (ln_gamma(r + xf) - lg_r + r * alpha.ln() + lg_ab + ln_gamma(b + xb) - lg_b - ln_gamma(a + b + xb));
            g[0] += w * (digamma(r + xf) - dg_r + alpha.ln());
            g[1] += w * r / alpha;
            g[2] += w * (dg_ab - digamma(a + b + xb));
            g[3] += w * (dg_ab + digamma(b + xb) - dg_b - digamma(a + b + xb));
        }
        // ln(α + v) and 1/(α + v) for every distinct T and t_x.
        let logs: Vec<(f64, f64)> = self.values.iter().map(|v| ((alpha + v).ln(), 1.0 / (alpha + v))).collect();
        // The terms that depend on t_x and T: ln(e^A3 + [x > 0] e^A4), per row (MBG/NBD: the A4
        // branch for every x, with b + x in place of b + x − 1).
        let (ln_a, inv_a) = (a.ln(), 1.0 / a);
        let parts: Vec<(f64, [f64; 4])> = self
            .rows
            .par_chunks(CHUNK)
            .zip(self.at.par_chunks(CHUNK))
            .map(|(chunk, at)| {
                let mut ll = 0.0;
                let mut g = [0.0; 4];
                // Rows are sorted by x: ln(b + x - 1) and its inverse change only when x does.
                let (mut cur, mut ln_bx1, mut inv_bx1) = (u32::MAX, 0.0, 0.0);
                for (row, &(it, itx)) in chunk.iter().zip(at) {
                    let rx = r + row.x as f64;
                    let (lt, inv_t) = logs[it as usize];
                    let a3 = -rx * lt;
                    if row.x == 0 && !zero_drops {
                        ll += row.weight * a3;
                        g[0] -= row.weight * lt;
                        g[1] -= row.weight * rx * inv_t;
                        continue;
                    }
                    if row.x != cur {
                        cur = row.x;
                        let bx1 = b + row.x as f64 - 1.0 + shift;
                        (ln_bx1, inv_bx1) = (bx1.ln(), 1.0 / bx1);
                    }
                    let (ltx, inv_tx) = logs[itx as usize];
                    let a4 = ln_a - ln_bx1 - rx * ltx;
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
                    let ww4 = row.weight * w4;
                    ll += row.weight * lse;
                    g[0] -= row.weight * (w3 * lt + w4 * ltx);
                    g[1] -= row.weight * rx * (w3 * inv_t + w4 * inv_tx);
                    g[2] += ww4 * inv_a;
                    g[3] -= ww4 * inv_bx1;
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
pub fn fit(rows: &[Row], variant: Variant) -> Option<Fitted> {
    let lik = Likelihood::new(rows, variant);
    let w = lik.total_weight;
    let mean_t = rows.iter().map(|r| r.weight * r.t).sum::<f64>() / w;
    let mean_x = rows.iter().map(|r| r.weight * r.x as f64).sum::<f64>() / w;
    // α is a time scale: start it at the mean age over the mean purchases (r = 1 gives rate 1/α).
    let alpha0 = (mean_t / (mean_x + 1.0)).max(1e-6);
    let starts = vec![vec![1.0, alpha0, 1.0, 1.0], vec![1.0, 1.0, 1.0, 1.0], vec![0.5, alpha0, 0.5, 5.0]];
    let f = mle::minimise(&lik, &starts)?;
    Some(f.named(w, &NAMES, |p| Params { r: p[0], alpha: p[1], a: p[2], b: p[3] }))
}

/// The log-likelihood (a sum) of `rows` at `p`.
pub fn log_likelihood(rows: &[Row], p: Params, variant: Variant) -> f64 {
    Likelihood::new(rows, variant).sums(&[p.r, p.alpha, p.a, p.b]).0
}

/// P(alive | x, t_x, T) (equation 13): BG/NBD gives 1 for customers without repeat purchases;
/// MBG/NBD's `1 / (1 + a/(b + x) · ((α + T)/(α + t_x))^(r+x))` holds for every x.
pub fn p_alive(v: Variant, p: Params, x: u32, t_x: f64, t: f64) -> f64 {
    if x == 0 && !v.first_purchase_drops() {
        return 1.0;
    }
    let rx = p.r + x as f64;
    let log_div = rx * ((p.alpha + t) / (p.alpha + t_x)).ln() + (p.a / (p.b + x as f64 - 1.0 + v.shift())).ln();
    1.0 / (1.0 + log_div.exp())
}

/// P(the first purchase after T comes within `window` | alive at T) = 1 − ((α+T)/(α+T+w))^(r+x),
/// for BG/NBD and MBG/NBD: a customer alive at T buys at their rate λ, whose posterior is
/// Gamma(r + x, α + T), until the first purchase (drop-out comes only after a purchase), so the
/// first purchase after T comes within w with probability 1 − E[e^(−λw)]. Times P(alive), it is
/// P(at least one purchase in (T, T + w]).
pub fn first_purchase_within(p: Params, x: u32, t: f64, window: f64) -> f64 {
    if window <= 0.0 {
        return 0.0;
    }
    -((p.r + x as f64) * ((p.alpha + t) / (p.alpha + t + window)).ln()).exp_m1()
}

/// The time after T by which a customer alive at T has bought again with probability ½:
/// (α + T)(2^(1/(r+x)) − 1), the median of the Lomax waiting time.
pub fn median_wait(p: Params, x: u32, t: f64) -> f64 {
    (p.alpha + t) * (std::f64::consts::LN_2 / (p.r + x as f64)).exp_m1()
}

/// E[purchases in (T, T + horizon] | x, t_x, T] (equation 10):
/// `(a+b+x-1)/(a-1) · [1 - (1-z)^(r+x) · 2F1(r+x, b+x; a+b+x-1; z)] · P(alive)`,
/// z = horizon / (α + T + horizon). The product `(1-z)^(r+x) · 2F1(...)` is summed in log space
/// ([`scaled_hyp2f1`]), so it neither overflows for large x nor loses digits for large r.
pub fn expected_purchases(v: Variant, p: Params, x: u32, t_x: f64, t: f64, horizon: f64) -> f64 {
    expected_while_alive(v, p, x, t, horizon) * p_alive(v, p, x, t_x, t)
}

/// Equation 10 without its P(alive) factor: the expected purchases of a customer known to be
/// alive at T (so the CLV's steps compute P(alive) once). At a = 1 the factor is 0/0; within 1e-6
/// of it the mean of a = 1 ± 2e-6 gives the limit. MBG/NBD (Batislam et al. 2007, eq. 14):
/// c = a + b + x and 2F1(r + x, b + x + 1; c; z).
pub fn expected_while_alive(v: Variant, p: Params, x: u32, t: f64, horizon: f64) -> f64 {
    if horizon <= 0.0 {
        return 0.0;
    }
    if (p.a - 1.0).abs() < 1e-6 {
        let at = |a: f64| expected_while_alive(v, Params { a, ..p }, x, t, horizon);
        return 0.5 * (at(1.0 - 2e-6) + at(1.0 + 2e-6));
    }
    let xf = x as f64;
    let b = p.b + v.shift();
    let z = horizon / (p.alpha + t + horizon);
    let c = p.a + b + xf - 1.0;
    let ln_one_minus = ((p.alpha + t) / (p.alpha + t + horizon)).ln();
    let scaled = scaled_hyp2f1(p.r + xf, b + xf, c, z, (p.r + xf) * ln_one_minus);
    c / (p.a - 1.0) * (1.0 - scaled)
}

/// The covariance of (ln r, ln α, ln a, ln b) at the fit ([`mle::log_covariance`]).
pub fn log_covariance(rows: &[Row], p: Params, variant: Variant) -> Option<Vec<Vec<f64>>> {
    let lik = Likelihood::new(rows, variant);
    mle::log_covariance(&lik, &[p.r, p.alpha, p.a, p.b], lik.total_weight)
}

/// ln of the NBD probability of j purchases in t at rate λ ~ Gamma(r, α):
/// Γ(r+j)/(Γ(r) j!) (α/(α+t))^r (t/(α+t))^j.
pub fn ln_nbd(r: f64, alpha: f64, t: f64, j: u32) -> f64 {
    let jf = j as f64;
    let w = if j == 0 { 0.0 } else { jf * (t / (alpha + t)).ln() };
    ln_gamma(r + jf) - ln_gamma(r) - ln_gamma(jf + 1.0) + r * (alpha / (alpha + t)).ln() + w
}

/// P(X(t) = x): the probability that a customer acquired at 0 makes x repeat purchases in (0, t]
/// (issue 32, the calibration frequency histogram). BG/NBD (Fader, Hardie & Lee 2005, eq. 8):
/// B(a, b+x)/B(a, b) · NB_x(t) + [x > 0] B(a+1, b+x−1)/B(a, b) · (1 − Σ_{j<x} NB_j(t)), NB_j the
/// NBD probability ([`ln_nbd`]): alive through all x purchases, or dropped out after the x-th.
/// MBG/NBD (Batislam et al. 2007) shifts b by one (its drop-out chance also follows the first
/// purchase), and its second term holds at x = 0 too (gone right after the first purchase).
pub fn pmf(v: Variant, p: Params, t: f64, x: u32) -> f64 {
    let shift = v.shift();
    let ln_b = |a: f64, b: f64| ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b);
    let base = ln_b(p.a, p.b);
    let xf = x as f64;
    let alive = (ln_b(p.a, p.b + xf + shift) - base + ln_nbd(p.r, p.alpha, t, x)).exp();
    if x == 0 && !v.first_purchase_drops() {
        return alive;
    }
    let below: f64 = (0..x).map(|j| ln_nbd(p.r, p.alpha, t, j).exp()).sum();
    alive + (ln_b(p.a + 1.0, p.b + xf - 1.0 + shift) - base).exp() * (1.0 - below)
}

/// Standard errors of (r, α, a, b) at the fit, from the Hessian of the log-likelihood.
pub fn standard_errors(rows: &[Row], p: Params, variant: Variant) -> Option<Params> {
    let lik = Likelihood::new(rows, variant);
    let se = mle::standard_errors(&lik, &[p.r, p.alpha, p.a, p.b], lik.total_weight)?;
    Some(Params { r: se[0], alpha: se[1], a: se[2], b: se[3] })
}

/// `e^ln_scale · 2F1(a, b; c; z)` for a, b > 0 and 0 <= z < 1, by the Gauss series (A&S 15.1.1):
/// each term from the last one by its ratio, the positive and the negative terms (negative ones come
/// from c + k < 0, when c < 0) summed apart, and the scale kept as a logarithm beside the sums (they
/// are divided by 2^900 whenever they pass it), added only at the end: no term overflows or
/// underflows, and positive terms never cancel. The series converges for |z| < 1 whenever c is not
/// 0, -1, -2, ...; here z = h / (α + T + h) < 1 always (c = a + b + x - 1 is negative when
/// a + b < 1 and x = 0, which real dumps give). NaN when c is a non-positive integer or the terms
/// have not become negligible after 1,000,000 of them.
///
/// Written here because no maintained pure-Rust crate has 2F1: the Cephes binding
/// (`special-fun`) redefines libm's `log`, `exp` and `pow` for the whole binary and prints
/// errors to stdout, and `scirs2-special` brings a framework of its own.
pub fn scaled_hyp2f1(a: f64, b: f64, c: f64, z: f64, ln_scale: f64) -> f64 {
    if !(0.0..1.0).contains(&z) || (c <= 0.0 && c.fract() == 0.0) || a <= 0.0 || b <= 0.0 {
        return f64::NAN;
    }
    const BIG: f64 = 8.452712498170644e270; // 2^900
    let ln_big = 900.0 * std::f64::consts::LN_2;
    let (mut pos, mut neg, mut term, mut ln_scale) = (1.0f64, 0.0f64, 1.0f64, ln_scale);
    for k in 0..1_000_000u32 {
        let k = k as f64;
        let ratio = (a + k) * (b + k) / ((c + k) * (k + 1.0));
        term *= ratio * z;
        if term > 0.0 {
            pos += term;
        } else {
            neg -= term;
        }
        if pos > BIG || neg > BIG {
            pos /= BIG;
            neg /= BIG;
            term /= BIG;
            ln_scale += ln_big;
        }
        // Past the largest term (|ratio| z < 1) the rest is below a geometric tail.
        if (ratio * z).abs() < 1.0 && term.abs() <= 1e-17 * (pos + neg) {
            let part = |v: f64| if v > 0.0 { (ln_scale + v.ln()).exp() } else { 0.0 };
            return part(pos) - part(neg);
        }
    }
    f64::NAN
}
