//! Discounted expected residual transactions (DERT, issue 32): the expected number of a customer's
//! future purchases, each discounted continuously at rate δ per unit of time from now,
//! `∫_0^∞ e^(−δt) dE[X(t)]`. Fader, Hardie & Lee (2005, "RFM and CLV") give it for Pareto/NBD; the
//! same route serves BG/NBD and MBG/NBD.
//!
//! Given the rates, a customer who is alive now makes `λ/(δ + μ)` discounted purchases under
//! Pareto/NBD (buying at rate λ until an exponential death at rate μ) and `λ/(δ + λp)` under
//! (M)BG/NBD (dying after each purchase with probability p, so at rate λp). DERT is P(alive) times
//! the mean of that over the customer's posterior given alive: λ ~ Gamma(r + x, α + T),
//! μ ~ Gamma(s, β + T), p ~ Beta(a, b + x) (BG/NBD) or Beta(a, b + x + 1) (MBG/NBD). The means
//! come down to one function, [`tail`], computed by quadrature.

use super::{bgnbd, pareto_nbd};
use statrs::function::gamma::ln_gamma;

/// `J(z, s) = ∫_0^∞ e^(−z·w) (1 + w)^(−s) dw` (Tricomi's U(1, 2 − s, z)), for z ≥ 0, s > 0:
/// the mean `E[1/(c + λ)] = A · J(A·c, s)` of λ ~ Gamma(s, A). Infinite when z = 0 and s ≤ 1.
///
/// For z ≥ 2, Legendre's continued fraction of the incomplete gamma function Γ(1 − s, z) (J is
/// e^z z^(s−1) Γ(1 − s, z)): J = 1/(z + s − 1·s/(z + s + 2 − 2(s + 1)/(z + s + 4 − ...))), by
/// Lentz's method. Below, by quadrature: in y = ln(1 + w) the integrand is `e^(L(y))`,
/// L(y) = (1 − s)·y − z·(e^y − 1), smooth, with at most one peak (at e^y = (1 − s)/z when s < 1),
/// then falling ever faster; panels of 16 Gauss–Legendre points, each as wide as lets L change by
/// about 2 (at most 1), until L is 40 below its peak and falling (e^(−40): past every digit).
pub fn tail(z: f64, s: f64) -> f64 {
    if z <= 0.0 {
        return if s > 1.0 { 1.0 / (s - 1.0) } else { f64::INFINITY };
    }
    if z >= 2.0 {
        return continued_fraction(z, s);
    }
    let l = |y: f64| (1.0 - s) * y - z * y.exp_m1();
    let slope = |y: f64| (1.0 - s) - z * y.exp();
    let peak = if s < 1.0 { ((1.0 - s) / z).ln().max(0.0) } else { 0.0 };
    let top = l(peak);
    let nodes = pareto_nbd::legendre_16();
    let (mut y, mut total) = (0.0f64, 0.0);
    for _ in 0..4096 {
        let width = (2.0 / slope(y).abs().max(1e-300)).min(1.0);
        for &(node, w) in nodes {
            total += w * width * (l(y + width * node) - top).exp();
        }
        y += width;
        if y > peak && l(y) < top - 40.0 {
            break;
        }
    }
    total * top.exp()
}

/// [`tail`] for z ≥ 2 by the continued fraction (modified Lentz, to 1e-15).
fn continued_fraction(z: f64, s: f64) -> f64 {
    const TINY: f64 = 1e-300;
    // J = 1 / (b0 − a1/(b1 − a2/(b2 − ...))), b_k = z + s + 2k, a_k = k(k − 1 + s).
    let mut f = z + s;
    let (mut c, mut d) = (f, 0.0);
    for k in 1..10_000 {
        let kf = k as f64;
        let a = -kf * (kf - 1.0 + s);
        let b = z + s + 2.0 * kf;
        d = b + a * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = b + a / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let delta = c * d;
        f *= delta;
        if (delta - 1.0).abs() < 1e-15 {
            break;
        }
    }
    1.0 / f
}

/// [`tail`] J(z, s) for every s = s0 + k (k = 0, 1, 2, ...) and every z ≥ `z_min`, fast: J(z, s0)
/// is tabulated once (its logarithm on a grid of ln z, 100 points per unit, read back by
/// four-point Lagrange interpolation: 1e-10 relative) below z = 2, and J(z, s0 + k) follows by
/// the recurrence J(z, s + 1) = (1 − z·J(z, s))/s (from integrating by parts; stable for z < 2,
/// where z·J < 1 and each step damps an error by z/s); at z ≥ 2 the continued fraction.
pub struct Tail {
    s0: f64,
    ln_z0: f64,
    ln_j: Vec<f64>,
}

/// Grid points of [`Tail`]'s table per unit of ln z.
const PER_UNIT: f64 = 100.0;

impl Tail {
    /// The table for s0 ∈ (0, 1] over [z_min, 2].
    pub fn new(s0: f64, z_min: f64) -> Tail {
        let ln_z0 = z_min.max(1e-300).ln() - 2.0 / PER_UNIT;
        let n = ((2f64.ln() - ln_z0) * PER_UNIT).ceil() as usize + 4;
        let ln_j = (0..n).map(|i| tail((ln_z0 + i as f64 / PER_UNIT).exp(), s0).ln()).collect();
        Tail { s0, ln_z0, ln_j }
    }

    /// J(z, s0 + k).
    pub fn j(&self, z: f64, k: u32) -> f64 {
        if z >= 2.0 {
            return continued_fraction(z, self.s0 + k as f64);
        }
        let at = ((z.ln() - self.ln_z0) * PER_UNIT).max(1.0);
        let i = (at.floor() as usize).clamp(1, self.ln_j.len() - 3);
        let f = at - i as f64;
        let y = &self.ln_j[i - 1..i + 3];
        // Lagrange through (−1, 0, 1, 2).
        let ln_j = -f * (f - 1.0) * (f - 2.0) / 6.0 * y[0] + (f + 1.0) * (f - 1.0) * (f - 2.0) / 2.0 * y[1]
            - (f + 1.0) * f * (f - 2.0) / 2.0 * y[2]
            + (f + 1.0) * f * (f - 1.0) / 6.0 * y[3];
        let mut j = ln_j.exp();
        for step in 0..k {
            let s = self.s0 + step as f64;
            j = (1.0 - z * j) / s;
        }
        j
    }
}

/// The [`Tail`] table a BG/NBD or MBG/NBD fit's DERT reads: s = r + x + 1 = s0 + k, for
/// z = δ(α + T)/p ≥ δα. Without discounting (δ = 0) [`bgnbd`] never reads it: an empty table.
pub fn bgnbd_table(p: bgnbd::Params, delta: f64) -> Tail {
    let frac = p.r - p.r.floor();
    let s0 = if frac > 0.0 { frac } else { 1.0 };
    if !(delta > 0.0) {
        return Tail { s0, ln_z0: 0.0, ln_j: Vec::new() };
    }
    Tail::new(s0, delta * p.alpha)
}

/// DERT of a Pareto/NBD customer with x repeat purchases and age T who is alive with probability
/// `p_alive`, at continuous rate δ per unit: `P(alive) · E[λ] · E[1/(δ + μ)]`
/// = P(alive) · (r + x)/(α + T) · (β + T) · J(δ(β + T), s). Infinite when δ = 0 and s ≤ 1.
pub fn pareto_nbd(p: pareto_nbd::Params, x: u32, t: f64, p_alive: f64, delta: f64) -> f64 {
    let (r, a, b) = (p.r + x as f64, p.alpha + t, p.beta + t);
    p_alive * r / a * b * tail(delta * b, p.s)
}

/// The geometric panels of [`bgnbd`]'s mean over p: each `RATIO` times narrower than the last,
/// `ZERO_PANELS` of them towards p = 0 (down to ½·2^(−20) ≈ 5e-7) and `ONE_PANELS` towards p = 1
/// (at ratio 4 the agreement with mpmath was 1.5e-8; at 2 it is 1e-9).
const RATIO: f64 = 2.0;
const ZERO_PANELS: usize = 20;
const ONE_PANELS: usize = 8;

/// DERT of a BG/NBD or MBG/NBD customer: `P(alive) · E[λ/(δ + λp)]`, R = r + x, A = α + T. Given
/// p, the mean over λ ~ Gamma(R, A) is E_λ[λ/(δ + λp)] = R · J(δA/p, R + 1) / p ([`tail`]; it
/// tends to R/(δA) = E[λ]/δ as p → 0, a customer who never drops out). The mean over
/// p ~ Beta(a, b') is taken by Gauss–Legendre on panels: towards 0 in the variable u = p^a (which
/// takes the density's p^(a−1) into the measure), on [½·2^(−k−1), ½·2^(−k)] for k = 0..19 (E_λ
/// moves where p is near δA/R, often 0.001 to 0.5) and [0, ½·2^(−20)]; towards 1 in
/// v = (1 − p)^b' on the same kind of panels of 1 − p, eight of them. Infinite when δ = 0 and a ≤ 1 (the mean of 1/p
/// is). On CDNOW's parameters it agrees with mpmath's 30-digit double integral to 1e-9.
pub fn bgnbd(v: bgnbd::Variant, p: bgnbd::Params, x: u32, t: f64, p_alive: f64, delta: f64, table: &Tail) -> f64 {
    let (r, a_rate) = (p.r + x as f64, p.alpha + t);
    let b = p.b + x as f64 + if v == bgnbd::Variant::MbgNbd { 1.0 } else { 0.0 };
    let a = p.a;
    if delta <= 0.0 {
        // No discounting: every future purchase, λ/(λp) = 1/p, whose mean over Beta(a, b') is
        // (a + b' − 1)/(a − 1), infinite when a ≤ 1.
        return if a > 1.0 { p_alive * (a + b - 1.0) / (a - 1.0) } else { f64::INFINITY };
    }
    // s = r + x + 1 = s0 + k in the table.
    let k = (r + 1.0 - table.s0).round() as u32;
    // E_λ[λ/(δ + λp)] for one p.
    let given = |q: f64| -> f64 { r * table.j(delta * a_rate / q, k) / q };
    let ln_beta = ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b);
    let nodes = pareto_nbd::legendre_16();
    let mut total = 0.0;
    // ∫ over p in [lo, hi] of p^(a−1) (1 − p)^(b−1) g(p) dp, in u = p^a: du = a p^(a−1) dp.
    let mut near_zero = |lo: f64, hi: f64| {
        let (u0, u1) = (lo.powf(a), hi.powf(a));
        for &(node, w) in nodes {
            let q = (u0 + (u1 - u0) * node).powf(1.0 / a);
            total += w * (u1 - u0) / a * (1.0 - q).powf(b - 1.0) * given(q);
        }
    };
    let mut edge = 0.5;
    for _ in 0..ZERO_PANELS {
        near_zero(edge / RATIO, edge);
        edge /= RATIO;
    }
    near_zero(0.0, edge);
    // ∫ over 1 − p = d in [lo, hi], in v = d^b: dv = b d^(b−1) dd.
    let mut near_one = |lo: f64, hi: f64| {
        let (v0, v1) = (lo.powf(b), hi.powf(b));
        for &(node, w) in nodes {
            let q = 1.0 - (v0 + (v1 - v0) * node).powf(1.0 / b);
            total += w * (v1 - v0) / b * q.powf(a - 1.0) * given(q);
        }
    };
    let mut edge = 0.5;
    for _ in 0..ONE_PANELS {
        near_one(edge / RATIO, edge);
        edge /= RATIO;
    }
    near_one(0.0, edge);
    p_alive * total / ln_beta.exp()
}
