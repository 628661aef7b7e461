//! Parameter draws for the CLV intervals (issue 32): the fitted parameters' logarithms drawn from
//! their asymptotic normal distribution N(θ̂, Σ), Σ the inverse Hessian ([`super::mle::log_covariance`]).
//!
//! The generator is written here, not taken from a crate, because `--seed` promises the same
//! intervals from the same data in every evergreen version: a crate's stream may change between
//! releases. SplitMix64 (Steele, Lea & Flood 2014) for the uniforms, Box–Muller for the normals:
//! both fixed, documented and a few lines long.

use super::mle;

/// SplitMix64: a 64-bit state stepped by the golden-ratio increment, its output mixed.
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform in (0, 1): the top 53 bits, centred in their cell (never 0, never 1).
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Two independent standard normals (Box–Muller).
    pub fn normal_pair(&mut self) -> (f64, f64) {
        let (u, v) = (self.uniform(), self.uniform());
        let radius = (-2.0 * u.ln()).sqrt();
        let angle = 2.0 * std::f64::consts::PI * v;
        (radius * angle.cos(), radius * angle.sin())
    }
}

/// `n` draws of positive parameters whose logarithms are N(ln `center`, `cov`), from `seed`.
/// `None` when `cov` is not positive definite.
pub fn log_normal(center: &[f64], cov: &[Vec<f64>], n: usize, seed: u64) -> Option<Vec<Vec<f64>>> {
    let l = mle::cholesky(cov)?;
    let k = center.len();
    let theta: Vec<f64> = center.iter().map(|c| c.ln()).collect();
    let mut rng = SplitMix64::new(seed);
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let mut z = Vec::with_capacity(k + 1);
        while z.len() < k {
            let (a, b) = rng.normal_pair();
            z.push(a);
            z.push(b);
        }
        out.push((0..k).map(|i| (theta[i] + (0..=i).map(|j| l[i][j] * z[j]).sum::<f64>()).exp()).collect());
    }
    Some(out)
}

/// The `q` quantile of `values` (sorted in place): linear between the order statistics at
/// (n − 1)·q (Hyndman & Fan's type 7, R's and NumPy's default).
pub fn quantile(values: &mut [f64], q: f64) -> f64 {
    values.sort_unstable_by(|a, b| a.total_cmp(b));
    quantile_sorted(values, q)
}

/// The `lo` and `hi` quantiles (as [`quantile`]) of `values`, reordered in place, by selection
/// rather than a full sort: each needs only the order statistics at floor((n − 1)·q) and the one
/// after it.
pub fn quantile_pair(values: &mut [f64], lo: f64, hi: f64) -> (f64, f64) {
    let n = values.len();
    let mut at = |q: f64| -> f64 {
        let h = (n - 1) as f64 * q;
        let i = h.floor() as usize;
        let (_, v, rest) = values.select_nth_unstable_by(i, |a, b| a.total_cmp(b));
        let v = *v;
        let next = rest.iter().copied().min_by(|a, b| a.total_cmp(b)).unwrap_or(v);
        v + (h - i as f64) * (next - v)
    };
    (at(lo), at(hi))
}

/// [`quantile`] of values already sorted.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}
