//! Maximum likelihood over log-parameters: the one optimiser both CLV models use.
//!
//! A model gives its mean negative log-likelihood and its gradient in the log-parameters
//! θ = ln(params) (so every parameter stays positive whatever step the optimiser takes), and this
//! module minimises it with argmin's L-BFGS and Moré–Thuente line search. θ is clamped to
//! [`LOG_BOUND`] before use, so a fit can never leave the range where the likelihood is finite;
//! a parameter that ends on the bound is reported (the data do not pin it down). A start point
//! whose run fails or ends non-finite is followed by the next; the best finite one wins, so a fit
//! never returns NaN.

use std::sync::Mutex;

use argmin::core::{CostFunction, Executor, Gradient, State, TerminationReason, TerminationStatus};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;

/// |ln(param)| never exceeds this: parameters stay within e^±30 (1e-13 .. 1e13).
pub const LOG_BOUND: f64 = 30.0;

/// Iteration cap of one start point.
pub const MAX_ITERS: u64 = 500;

/// A likelihood in log-parameters: mean negative log-likelihood and its gradient, in one pass
/// over the data (both are needed at every point the line search tries).
pub trait Objective: Sync {
    /// (mean negative log-likelihood, gradient in θ) at the parameters `exp(θ)`.
    fn eval(&self, params: &[f64]) -> (f64, Vec<f64>);
}

/// What one fit found.
#[derive(Debug, Clone)]
pub struct Fit {
    pub params: Vec<f64>,
    /// Mean negative log-likelihood at `params`.
    pub mean_nll: f64,
    pub iterations: u64,
    /// Likelihood evaluations (each with its gradient).
    pub evaluations: u64,
    /// L-BFGS stopped on its gradient or cost tolerance (not on the iteration cap or an error).
    pub converged: bool,
    /// Indices of parameters that ended on the bound e^±[`LOG_BOUND`].
    pub at_bound: Vec<usize>,
    /// Start points tried.
    pub starts: usize,
}

/// A fit in a model's own parameters, as the kernels return it: the log-likelihood as a sum over
/// customers and the bound parameters by name.
#[derive(Debug, Clone)]
pub struct Fitted<P> {
    pub params: P,
    pub log_likelihood: f64,
    pub iterations: u64,
    /// Likelihood evaluations (each with its gradient).
    pub evaluations: u64,
    pub converged: bool,
    /// Names of parameters that ended on the optimiser's bound.
    pub at_bound: Vec<&'static str>,
    pub starts: usize,
}

impl<P> Fitted<P> {
    /// The same fit with its parameters in another form.
    pub fn map<Q>(self, f: impl FnOnce(P) -> Q) -> Fitted<Q> {
        Fitted {
            params: f(self.params),
            log_likelihood: self.log_likelihood,
            iterations: self.iterations,
            evaluations: self.evaluations,
            converged: self.converged,
            at_bound: self.at_bound,
            starts: self.starts,
        }
    }
}

impl Fit {
    /// This fit in a model's terms: `params` builds its parameters, `names` names them (for the
    /// bound ones), `total_weight` turns the mean negative log-likelihood back into a sum.
    pub fn named<P>(self, total_weight: f64, names: &[&'static str], params: impl FnOnce(&[f64]) -> P) -> Fitted<P> {
        Fitted {
            params: params(&self.params),
            log_likelihood: -self.mean_nll * total_weight,
            iterations: self.iterations,
            evaluations: self.evaluations,
            converged: self.converged,
            at_bound: self.at_bound.iter().map(|&i| names[i]).collect(),
            starts: self.starts,
        }
    }
}

/// `total` plus each chunk's (log-likelihood, gradient) sums, added in chunk order: the same bits
/// whatever the thread count.
pub fn add_in_order<const K: usize>(total: (f64, [f64; K]), parts: Vec<(f64, [f64; K])>) -> (f64, [f64; K]) {
    let (mut ll, mut g) = total;
    for (l, pg) in parts {
        ll += l;
        for k in 0..K {
            g[k] += pg[k];
        }
    }
    (ll, g)
}

/// What [`Objective::eval`] returns, from a log-likelihood sum over `n` customers and its gradient
/// in the parameters `p`: the mean negative log-likelihood and its gradient in θ = ln(p)
/// (d/dθ = p · d/dp).
pub fn mean_negative(ll: f64, g: &[f64], p: &[f64], n: f64) -> (f64, Vec<f64>) {
    (-ll / n, g.iter().zip(p).map(|(g, p)| -g * p / n).collect())
}

/// The last evaluation: θ, cost and gradient.
type Cached = Option<(Vec<f64>, f64, Vec<f64>)>;

/// argmin's view of an [`Objective`]: cost and gradient share one evaluation (cached by θ).
struct Problem<'a, O> {
    objective: &'a O,
    last: Mutex<Cached>,
    /// Likelihood evaluations (cache misses), counted outside the problem: argmin's line search
    /// takes the problem out of the solver and may not hand it back when it fails.
    evals: &'a std::sync::atomic::AtomicU64,
}

impl<O: Objective> Problem<'_, O> {
    fn at(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((t, c, g)) = last.as_ref() {
            if t.as_slice() == theta {
                return (*c, g.clone());
            }
        }
        let clamped: Vec<f64> = theta.iter().map(|t| t.clamp(-LOG_BOUND, LOG_BOUND)).collect();
        let params: Vec<f64> = clamped.iter().map(|t| t.exp()).collect();
        let (cost, mut grad) = self.objective.eval(&params);
        self.evals.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Outside the bound the clamped objective is flat: no gradient pulls further out.
        for (g, (t, c)) in grad.iter_mut().zip(theta.iter().zip(&clamped)) {
            if t != c {
                *g = 0.0;
            }
        }
        let (cost, grad) = if cost.is_finite() && grad.iter().all(|g| g.is_finite()) {
            (cost, grad)
        } else {
            (f64::INFINITY, vec![0.0; theta.len()])
        };
        *last = Some((theta.to_vec(), cost, grad.clone()));
        (cost, grad)
    }
}

impl<O: Objective> CostFunction for Problem<'_, O> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, theta: &Vec<f64>) -> Result<f64, argmin::core::Error> {
        Ok(self.at(theta).0)
    }
}

impl<O: Objective> Gradient for Problem<'_, O> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, theta: &Vec<f64>) -> Result<Vec<f64>, argmin::core::Error> {
        Ok(self.at(theta).1)
    }
}

/// One L-BFGS run from `start` (parameters, not logs); `None` when argmin fails or ends non-finite.
fn run_from<O: Objective>(objective: &O, start: &[f64]) -> Option<Fit> {
    let evals = std::sync::atomic::AtomicU64::new(0);
    let problem = Problem { objective, last: Mutex::new(None), evals: &evals };
    let theta0: Vec<f64> = start.iter().map(|p| p.ln().clamp(-LOG_BOUND, LOG_BOUND)).collect();
    let (c0, _) = problem.at(&theta0);
    if !c0.is_finite() {
        return None;
    }
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), 10)
        .with_tolerance_grad(1e-8)
        .ok()?
        .with_tolerance_cost(1e-12)
        .ok()?;
    let res = Executor::new(problem, solver).configure(|s| s.param(theta0).max_iters(MAX_ITERS)).run().ok()?;
    let evaluations = evals.load(std::sync::atomic::Ordering::Relaxed);
    let state = res.state();
    let theta = state.get_best_param()?.clone();
    let cost = state.get_best_cost();
    if !cost.is_finite() {
        return None;
    }
    let converged = matches!(
        state.get_termination_status(),
        TerminationStatus::Terminated(TerminationReason::SolverConverged)
    );
    let clamped: Vec<f64> = theta.iter().map(|t| t.clamp(-LOG_BOUND, LOG_BOUND)).collect();
    let at_bound = clamped.iter().enumerate().filter(|(_, t)| t.abs() >= LOG_BOUND - 1e-9).map(|(i, _)| i).collect();
    Some(Fit {
        params: clamped.iter().map(|t| t.exp()).collect(),
        mean_nll: cost,
        iterations: state.get_iter(),
        evaluations,
        converged,
        at_bound,
        starts: 1,
    })
}

/// Minimise from each start point in turn until one converges; the best finite fit of those
/// tried. `None` only when no start point gives a finite likelihood.
pub fn minimise<O: Objective>(objective: &O, starts: &[Vec<f64>]) -> Option<Fit> {
    let mut best: Option<Fit> = None;
    let mut tried = 0;
    for start in starts {
        tried += 1;
        let Some(fit) = run_from(objective, start) else { continue };
        let done = fit.converged && fit.at_bound.is_empty();
        if best.as_ref().is_none_or(|b| fit.mean_nll < b.mean_nll) {
            best = Some(fit);
        }
        if done {
            break;
        }
    }
    best.map(|b| Fit { starts: tried, ..b })
}

/// Standard errors of the parameters at a maximum `params`: the Hessian H of the mean negative
/// log-likelihood in θ = ln(params) by central differences of the analytic gradient (step 1e-4
/// in θ), the covariance of θ as (n·H)⁻¹ for `n` customers, and by the delta method
/// SE(param) = param · SE(θ). `None` when H is not positive definite (a flat direction: the data
/// do not pin a parameter down).
pub fn standard_errors<O: Objective>(objective: &O, params: &[f64], n: f64) -> Option<Vec<f64>> {
    errors_of(params, &log_covariance(objective, params, n)?)
}

/// Standard errors of the parameters from the covariance of their logarithms (the delta method):
/// SE(param) = param · √cov(θ)ᵢᵢ.
pub fn errors_of(params: &[f64], cov: &[Vec<f64>]) -> Option<Vec<f64>> {
    (0..params.len())
        .map(|i| (cov[i][i] > 0.0 && cov[i][i].is_finite()).then(|| params[i] * cov[i][i].sqrt()))
        .collect()
}

/// The asymptotic covariance of θ = ln(params) at a maximum: (n·H)⁻¹, H the Hessian of the mean
/// negative log-likelihood in θ (see [`standard_errors`]); `None` when H is not positive definite.
/// Parameter draws for intervals come from N(θ̂, this).
pub fn log_covariance<O: Objective>(objective: &O, params: &[f64], n: f64) -> Option<Vec<Vec<f64>>> {
    let k = params.len();
    let theta: Vec<f64> = params.iter().map(|p| p.ln()).collect();
    let grad_at = |t: &[f64]| objective.eval(&t.iter().map(|v| v.exp()).collect::<Vec<f64>>()).1;
    const H: f64 = 1e-4;
    let mut hess = vec![vec![0.0; k]; k];
    for j in 0..k {
        let (mut up, mut down) = (theta.clone(), theta.clone());
        up[j] += H;
        down[j] -= H;
        let (gu, gd) = (grad_at(&up), grad_at(&down));
        for i in 0..k {
            hess[i][j] = (gu[i] - gd[i]) / (2.0 * H) * n;
        }
    }
    for i in 0..k {
        for j in 0..i {
            let m = 0.5 * (hess[i][j] + hess[j][i]);
            hess[i][j] = m;
            hess[j][i] = m;
        }
    }
    if !positive_definite(&hess) {
        return None;
    }
    invert(hess)
}

/// The lower-triangular Cholesky factor L of a symmetric positive definite matrix (L·Lᵀ = m);
/// `None` when it is not positive definite.
pub fn cholesky(m: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let k = m.len();
    let mut l = vec![vec![0.0; k]; k];
    for i in 0..k {
        for j in 0..=i {
            let dot: f64 = (0..j).map(|c| l[i][c] * l[j][c]).sum();
            if i == j {
                let d = m[i][i] - dot;
                if !(d > 0.0) {
                    return None;
                }
                l[i][i] = d.sqrt();
            } else {
                l[i][j] = (m[i][j] - dot) / l[j][j];
            }
        }
    }
    Some(l)
}

/// Whether a small symmetric matrix is positive definite: its Cholesky factorisation succeeds.
fn positive_definite(m: &[Vec<f64>]) -> bool {
    cholesky(m).is_some()
}

/// The inverse of a small square matrix by Gauss–Jordan elimination with partial pivoting; `None`
/// when it is singular.
fn invert(mut m: Vec<Vec<f64>>) -> Option<Vec<Vec<f64>>> {
    let k = m.len();
    let mut inv: Vec<Vec<f64>> = (0..k).map(|i| (0..k).map(|j| if i == j { 1.0 } else { 0.0 }).collect()).collect();
    for col in 0..k {
        let pivot = (col..k).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))?;
        if !(m[pivot][col].abs() > 1e-300) {
            return None;
        }
        m.swap(col, pivot);
        inv.swap(col, pivot);
        let d = m[col][col];
        for j in 0..k {
            m[col][j] /= d;
            inv[col][j] /= d;
        }
        for i in 0..k {
            if i != col {
                let f = m[i][col];
                for j in 0..k {
                    m[i][j] -= f * m[col][j];
                    inv[i][j] -= f * inv[col][j];
                }
            }
        }
    }
    Some(inv)
}
