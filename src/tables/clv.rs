//! The CLV family (issue 12): is a customer still a customer, and what will they be worth?
//! BG/NBD (purchases and drop-out) and Gamma-Gamma (spend per purchase) fitted by maximum
//! likelihood on the customers' purchase days, then per customer P(alive), expected purchases and
//! CLV over a horizon. Tables `clv`, `clv_params` and, with a holdout date, `clv_holdout`.
//!
//! Each rule is one function here: [`summary`] (x, t_x, T and the average repeat value per
//! customer), [`fit`] (both models and when the data cannot support them), [`discounted_purchases`]
//! (the CLV's discounting), [`clv_table`], [`params_table`] and [`holdout`].

use chrono::NaiveDate;
use polars::prelude::*;
use rayon::prelude::*;
use serde::Serialize;

use crate::config::{ClvAgeTo, ClvModel, ClvOptions, ClvUnit};
use crate::error::{Error, Result};
use crate::exprs::{epoch_days, round_money_value};
use crate::facts::{col_names as c, CustomerFacts};
use crate::kernels::{bgnbd, dert, draws, gamma_gamma, mle, pareto_nbd};

/// A fit needs at least this many customers with a repeat purchase day: with fewer, the four
/// BG/NBD parameters are not identified (and Gamma-Gamma has fewer spend averages than that).
pub const MIN_REPEAT_BUYERS: usize = 10;

/// Days of one CLV discounting step (a month of 30 days).
pub const STEP_DAYS: u32 = 30;

/// What the CLV family reads from the config: its own resolved options (defined once, in
/// [`ClvOptions`]) and the money decimals.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    pub clv: &'a ClvOptions,
    pub money_decimals: u32,
}

/// Per customer (in the facts' order): the BTYD summary in whole days.
#[derive(Debug, Clone)]
pub struct Summary {
    pub customer_id: Column,
    /// x: purchase days after the first.
    pub repeat_purchases: Vec<u32>,
    /// t_x: days from the first to the last purchase day.
    pub repeat_span_days: Vec<u32>,
    /// T: days from the first purchase day to as_of.
    pub customer_age_days: Vec<u32>,
    /// Days from the last purchase day to as_of (the customers table's recency_days).
    pub recency_days: Vec<u32>,
    /// Mean value of a repeat purchase day net of returns ([`net_repeat_average`], unrounded);
    /// `None` when x = 0.
    pub avg_repeat_value: Vec<Option<f64>>,
    pub last_gap_days: Vec<Option<u32>>,
}

/// The summary of each customer: x = purchase days - 1, t_x = last - first purchase day,
/// T = as_of - first purchase day (with `ClvAgeTo::LastDay`, as_of - 1 - first purchase day),
/// average repeat value = the repeat days' value net of returns / x ([`net_repeat_average`]). Days
/// are UTC calendar days.
pub fn summary(f: &CustomerFacts, as_of: NaiveDate, age_to: ClvAgeTo) -> Result<Summary> {
    let days = f.days.as_ref().ok_or_else(|| Error::Internal("CLV without purchase-day facts".into()))?;
    let d = epoch_days(as_of);
    let age_end = match age_to {
        ClvAgeTo::AsOf => d,
        ClvAgeTo::LastDay => d - 1,
    };
    let day = |us: i64| us.div_euclid(86_400_000_000);
    let n = f.len();
    let mut s = Summary {
        customer_id: f.customer_id.clone(),
        repeat_purchases: Vec::with_capacity(n),
        repeat_span_days: Vec::with_capacity(n),
        customer_age_days: Vec::with_capacity(n),
        recency_days: Vec::with_capacity(n),
        avg_repeat_value: Vec::with_capacity(n),
        last_gap_days: days.last_gap_days.clone(),
    };
    for i in 0..n {
        let (first, last) = (day(f.first_purchase[i]), day(f.last_purchase[i]));
        let x = days.count[i].saturating_sub(1);
        s.repeat_purchases.push(x);
        s.repeat_span_days.push((last - first).max(0) as u32);
        s.customer_age_days.push((age_end - first).max(0) as u32);
        s.recency_days.push((d - last).max(0) as u32);
        s.avg_repeat_value.push((x > 0).then(|| net_repeat_average(days.net_repeat_value[i], x)));
    }
    Ok(s)
}

/// The average value of a repeat purchase day that the spend model reads: the repeat days' value
/// net of every return order (the customer's net spend minus their first purchase day's value),
/// over x, and never below 0 (issue 31: a purchase cancelled by a separate return invoice no longer
/// counts at full value; a customer whose returns cancel all their repeat value averages 0).
pub fn net_repeat_average(net_repeat_value: f64, x: u32) -> f64 {
    (net_repeat_value / x as f64).max(0.0) + 0.0
}

/// A purchase model: how customers buy and drop out (the spend model is Gamma-Gamma for all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Btyd {
    #[serde(rename = "bgnbd")]
    BgNbd,
    #[serde(rename = "mbgnbd")]
    MbgNbd,
    #[serde(rename = "pareto_nbd")]
    ParetoNbd,
}

impl Btyd {
    /// Every purchase model, in the order `clv_params` lists them.
    pub const ALL: [Btyd; 3] = [Btyd::BgNbd, Btyd::MbgNbd, Btyd::ParetoNbd];

    /// The name in `clv_params` and the manifest.
    pub fn name(self) -> &'static str {
        match self {
            Btyd::BgNbd => "bgnbd",
            Btyd::MbgNbd => "mbgnbd",
            Btyd::ParetoNbd => "pareto_nbd",
        }
    }

    /// The name in messages.
    pub fn label(self) -> &'static str {
        match self {
            Btyd::BgNbd => "BG/NBD",
            Btyd::MbgNbd => "MBG/NBD",
            Btyd::ParetoNbd => "Pareto/NBD",
        }
    }

    /// Parameter names, in the order of [`PurchaseFit::params`].
    pub fn parameters(self) -> [&'static str; 4] {
        match self {
            Btyd::BgNbd | Btyd::MbgNbd => ["r", "alpha", "a", "b"],
            Btyd::ParetoNbd => pareto_nbd::NAMES,
        }
    }

    fn of(m: ClvModel) -> Option<Btyd> {
        match m {
            ClvModel::Auto => None,
            ClvModel::Bgnbd => Some(Btyd::BgNbd),
            ClvModel::Mbgnbd => Some(Btyd::MbgNbd),
            ClvModel::ParetoNbd => Some(Btyd::ParetoNbd),
        }
    }

    fn variant(self) -> bgnbd::Variant {
        match self {
            Btyd::MbgNbd => bgnbd::Variant::MbgNbd,
            _ => bgnbd::Variant::BgNbd,
        }
    }
}

/// One fitted purchase model.
#[derive(Debug, Clone)]
pub struct PurchaseFit {
    pub kind: Btyd,
    /// The fit, its parameters as (r, α, a, b) or, for Pareto/NBD, (r, α, s, β).
    pub fit: mle::Fitted<[f64; 4]>,
    /// Standard errors of the parameters from the Hessian; `None` when it is not positive definite.
    pub standard_errors: Option<[f64; 4]>,
    /// The covariance of the parameters' logarithms (the inverse Hessian), which the intervals'
    /// parameter draws come from; `None` with the standard errors.
    pub log_covariance: Option<Vec<Vec<f64>>>,
    /// Why the data cannot tell this model's drop-out process (see [`unidentified`]); `None` when
    /// they can.
    pub unidentified: Option<String>,
}

/// Below this, a drop-out process is at its edge: BG/NBD's and MBG/NBD's mean drop-out chance per
/// purchase a/(a+b), Pareto/NBD's share of customers whose lifetime ends within the mean customer
/// age, 1 − (β/(β+T̄))^s.
pub const MIN_DROPOUT: f64 = 0.001;

/// Whether the data pin a purchase model's drop-out process down; the reason when they do not:
/// a parameter on the optimiser's bound, a Hessian that is not positive definite (no standard
/// errors), or drop-out at its edge (below [`MIN_DROPOUT`]: everybody is "alive" whatever their
/// silence, as a year of wholesale buying gives). `mean_age` is T̄ in the model's unit.
pub fn unidentified(f: &PurchaseFit, mean_age: f64) -> Option<String> {
    let label = f.kind.label();
    if !f.fit.at_bound.is_empty() {
        return Some(format!("{label}: parameter(s) {} ended on the optimiser's bound", f.fit.at_bound.join(", ")));
    }
    let [_, _, c, d] = f.fit.params;
    let edge = match f.kind {
        Btyd::BgNbd | Btyd::MbgNbd => {
            let mean = c / (c + d);
            (mean < MIN_DROPOUT).then(|| {
                format!("{label}: a = {c:.3e}, b = {d:.4}: the mean drop-out chance per purchase a/(a+b) = {mean:.2e} is below {MIN_DROPOUT}")
            })
        }
        Btyd::ParetoNbd => {
            let share = -(c * (d / (d + mean_age)).ln()).exp_m1();
            (share < MIN_DROPOUT).then(|| {
                format!("{label}: s = {c:.3e}, beta = {d:.4}: the share of customers whose lifetime ends within the mean customer age, {share:.2e}, is below {MIN_DROPOUT}")
            })
        }
    };
    edge.or_else(|| {
        f.standard_errors
            .is_none()
            .then(|| format!("{label}: the likelihood is flat along some direction (its Hessian is not positive definite)"))
    })
}

/// Free parameters of every purchase model.
const MODEL_PARAMETERS: f64 = 4.0;

impl PurchaseFit {
    fn bg(&self) -> bgnbd::Params {
        let [r, alpha, a, b] = self.fit.params;
        bgnbd::Params { r, alpha, a, b }
    }

    fn pnbd(&self) -> pareto_nbd::Params {
        let [r, alpha, s, beta] = self.fit.params;
        pareto_nbd::Params { r, alpha, s, beta }
    }

    /// Akaike's information criterion: 2k − 2 LL.
    pub fn aic(&self) -> f64 {
        2.0 * MODEL_PARAMETERS - 2.0 * self.fit.log_likelihood
    }

    /// The Bayesian information criterion: k ln n − 2 LL, n the customers fitted.
    pub fn bic(&self, customers: usize) -> f64 {
        MODEL_PARAMETERS * (customers.max(1) as f64).ln() - 2.0 * self.fit.log_likelihood
    }

    pub fn p_alive(&self, r: &bgnbd::Row) -> f64 {
        match self.kind {
            Btyd::ParetoNbd => pareto_nbd::p_alive(self.pnbd(), r.x, r.t_x, r.t),
            k => bgnbd::p_alive(k.variant(), self.bg(), r.x, r.t_x, r.t),
        }
    }

    /// Expected purchases in (T, T + h] of a customer alive at T (h in the model's unit).
    /// Discounted expected residual purchases at continuous rate δ per unit ([`dert`]), given
    /// P(alive) (which is all t_x changes: rows of one (x, T) share the rest).
    fn dert(&self, r: &bgnbd::Row, p_alive: f64, delta: f64, table: Option<&dert::Tail>) -> f64 {
        match (self.kind, table) {
            (Btyd::ParetoNbd, _) => dert::pareto_nbd(self.pnbd(), r.x, r.t, p_alive, delta),
            (k, Some(table)) => dert::bgnbd(k.variant(), self.bg(), r.x, r.t, p_alive, delta, table),
            (k, None) => dert::bgnbd(k.variant(), self.bg(), r.x, r.t, p_alive, delta, &dert::bgnbd_table(self.bg(), delta)),
        }
    }

    fn expected_while_alive(&self, r: &bgnbd::Row, h: f64) -> f64 {
        match self.kind {
            Btyd::ParetoNbd => pareto_nbd::expected_while_alive(self.pnbd(), r.x, r.t, h),
            k => bgnbd::expected_while_alive(k.variant(), self.bg(), r.x, r.t, h),
        }
    }

    /// P(the first purchase after T comes within `window` | alive at T).
    /// E[X(t)]: the expected repeat purchases by t (in the model's unit) of a customer acquired at
    /// 0, the model's conditional expectation at x = t_x = T = 0 (clv_new_customers, clv_tracking).
    fn new_customer_purchases(&self, t: f64) -> f64 {
        let origin = bgnbd::Row { x: 0, t_x: 0.0, t: 0.0, weight: 1.0 };
        self.expected_while_alive(&origin, t) * self.p_alive(&origin)
    }

    /// P(alive) of rows that share x and T (their t_x in `t_xs`).
    fn p_alive_group(&self, x: u32, t: f64, t_xs: &[f64]) -> Vec<f64> {
        match self.kind {
            Btyd::ParetoNbd => pareto_nbd::p_alive_group(self.pnbd(), x, t, t_xs),
            k => t_xs.iter().map(|&t_x| bgnbd::p_alive(k.variant(), self.bg(), x, t_x, t)).collect(),
        }
    }

    /// P(X(t) = x) of a customer acquired at 0 (t in the model's unit).
    pub fn pmf(&self, t: f64, x: u32) -> f64 {
        match self.kind {
            Btyd::ParetoNbd => pareto_nbd::pmf(self.pnbd(), t, x),
            k => bgnbd::pmf(k.variant(), self.bg(), t, x),
        }
    }

    fn first_purchase_within(&self, r: &bgnbd::Row, window: f64) -> f64 {
        match self.kind {
            Btyd::ParetoNbd => pareto_nbd::first_purchase_within(self.pnbd(), r.x, r.t, window),
            _ => bgnbd::first_purchase_within(self.bg(), r.x, r.t, window),
        }
    }

    /// The time after T by which a customer alive at T has bought again with probability ½, when
    /// that is within `limit`.
    fn median_wait(&self, r: &bgnbd::Row, limit: f64) -> Option<f64> {
        match self.kind {
            Btyd::ParetoNbd => pareto_nbd::median_wait(self.pnbd(), r.x, r.t, limit),
            _ => Some(bgnbd::median_wait(self.bg(), r.x, r.t)).filter(|w| *w <= limit),
        }
    }
}

/// Fit one purchase model on the collapsed rows; `None` when no start point gives a finite
/// likelihood.
fn fit_purchases(kind: Btyd, rows: &[bgnbd::Row]) -> Option<PurchaseFit> {
    let (fit, log_covariance) = match kind {
        Btyd::ParetoNbd => {
            let f = pareto_nbd::fit(rows)?;
            let cov = pareto_nbd::log_covariance(rows, f.params);
            (f.map(|p| [p.r, p.alpha, p.s, p.beta]), cov)
        }
        k => {
            let f = bgnbd::fit(rows, k.variant())?;
            let cov = bgnbd::log_covariance(rows, f.params, k.variant());
            (f.map(|p| [p.r, p.alpha, p.a, p.b]), cov)
        }
    };
    let standard_errors = log_covariance.as_ref().and_then(|c| mle::errors_of(&fit.params, c)).map(|e| [e[0], e[1], e[2], e[3]]);
    Some(PurchaseFit { kind, fit, standard_errors, log_covariance, unidentified: None })
}

/// The fitted models: every purchase model that could be fitted, the one the predictions come
/// from, and Gamma-Gamma.
#[derive(Debug, Clone)]
pub struct Model {
    pub unit: ClvUnit,
    /// In [`Btyd::ALL`]'s order; a model whose fit failed is left out (with a warning).
    pub fits: Vec<PurchaseFit>,
    /// Index into `fits` of the model the predictions come from.
    pub chosen: usize,
    /// Why it was chosen (the manifest's `clv.choice`).
    pub why: String,
    /// Distinct (x, t_x, T) rows the likelihoods ran over (in the model's unit), and each
    /// customer's row (the predictions are made once per row).
    pub rows: Vec<bgnbd::Row>,
    pub row_of: Vec<u32>,
    pub customers: usize,
    pub gamma_gamma: gamma_gamma::Fitted,
    /// Standard errors of (p, q, γ); `None` when the Hessian is not positive definite.
    pub gamma_gamma_standard_errors: Option<[f64; 3]>,
    /// The covariance of (ln p, ln q, ln γ), for the intervals' draws.
    pub gamma_gamma_log_covariance: Option<Vec<Vec<f64>>>,
    /// Customers the Gamma-Gamma model was fitted on (x > 0 and a positive average value), and the
    /// distinct (x, m̄) rows they make.
    pub spend_customers: usize,
    pub spend_rows: usize,
    /// The mean spend per purchase of the population, pγ/(q-1): the expected order value of
    /// customers without repeat purchases.
    pub population_value: f64,
}

impl Model {
    /// The model the predictions come from.
    pub fn purchases(&self) -> &PurchaseFit {
        &self.fits[self.chosen]
    }
}

/// The per-customer inputs of the purchase models, in the model's unit: collapsed rows and each
/// customer's row index.
fn bgnbd_rows(s: &Summary, unit: ClvUnit) -> (Vec<bgnbd::Row>, Vec<u32>) {
    let u = unit.days();
    let tx: Vec<f64> = s.repeat_span_days.iter().map(|&v| v as f64 / u).collect();
    let t: Vec<f64> = s.customer_age_days.iter().map(|&v| v as f64 / u).collect();
    bgnbd::collapse(&s.repeat_purchases, &tx, &t)
}

/// Which purchase model the predictions use: `choice` when one is named, else (auto) the one with
/// the smallest BIC (all have four parameters, so the largest likelihood). Returns the index into
/// `fits` and the reason.
fn choose(fits: &[PurchaseFit], choice: ClvModel, customers: usize) -> Result<(usize, String)> {
    if let Some(kind) = Btyd::of(choice) {
        let i = fits.iter().position(|f| f.kind == kind).ok_or_else(|| Error::Fit {
            model: kind.label(),
            reason: "no start point gives a finite likelihood on this data".into(),
        })?;
        return Ok((i, format!("--clv-model {}", kind.name())));
    }
    let best = (0..fits.len())
        .min_by(|&a, &b| fits[a].bic(customers).total_cmp(&fits[b].bic(customers)))
        .ok_or_else(|| Error::Fit { model: "BG/NBD", reason: "no start point gives a finite likelihood on this data".into() })?;
    Ok((best, format!("auto: the smallest BIC ({:.1}) of {} fitted models", fits[best].bic(customers), fits.len())))
}

/// Fit every purchase model on every customer and Gamma-Gamma on the customers with repeat
/// purchase days, and choose the purchase model (`choice`; auto: by BIC). A [`Error::Fit`]
/// (exit 4) when fewer than [`MIN_REPEAT_BUYERS`] customers have a repeat day, when no purchase
/// model (or not the one named) gives a finite likelihood, or when Gamma-Gamma's q <= 1 (no
/// finite mean spend).
pub fn fit(s: &Summary, unit: ClvUnit, choice: ClvModel) -> Result<Model> {
    fit_models(s, unit, choice, &Btyd::ALL)
}

/// [`fit`] of the purchase models `kinds` only (simulation checks that need one model).
pub fn fit_models(s: &Summary, unit: ClvUnit, choice: ClvModel, kinds: &[Btyd]) -> Result<Model> {
    let repeat = s.repeat_purchases.iter().filter(|&&x| x > 0).count();
    if repeat < MIN_REPEAT_BUYERS {
        let why = if repeat == 0 {
            format!("none of the {} customers has a second purchase day (all bought on one day only)", s.repeat_purchases.len())
        } else {
            format!("only {repeat} of {} customers have a second purchase day", s.repeat_purchases.len())
        };
        let model = Btyd::of(choice).unwrap_or(Btyd::BgNbd).label();
        return Err(Error::Fit {
            model,
            reason: format!("{why}; a fit needs at least {MIN_REPEAT_BUYERS} repeat buyers (a longer history helps)"),
        });
    }
    // The purchase and spend models are independent: fitted side by side (each also spreads its
    // sums over the threads; the results do not depend on the schedule).
    let (bg_side, gg_side) = rayon::join(
        || {
            let (rows, row_of) = bgnbd_rows(s, unit);
            let fits: Vec<Option<PurchaseFit>> = kinds
                .iter()
                .map(|&k| {
                    let start = std::time::Instant::now();
                    let f = fit_purchases(k, &rows);
                    tracing::debug!(model = k.name(), seconds = start.elapsed().as_secs_f64(), "purchase model fitted");
                    f
                })
                .collect();
            (rows, row_of, fits)
        },
        || {
            let spend = gamma_gamma::collapse(
                s.repeat_purchases
                    .iter()
                    .zip(&s.avg_repeat_value)
                    .filter_map(|(&x, m)| m.filter(|&m| x > 0 && m > 0.0).map(|m| (x, m))),
            );
            let customers: usize = spend.iter().map(|r| r.weight as usize).sum();
            let gg = (customers >= MIN_REPEAT_BUYERS)
                .then(|| gamma_gamma::fit(&spend).map(|f| (gamma_gamma::log_covariance(&spend, f.params), f)));
            (spend.len(), customers, gg)
        },
    );
    let (rows, row_of, fits) = bg_side;
    let weight: f64 = rows.iter().map(|r| r.weight).sum();
    let mean_age = rows.iter().map(|r| r.weight * r.t).sum::<f64>() / weight.max(1.0);
    let mut fitted = Vec::new();
    for (kind, f) in kinds.iter().zip(fits) {
        match f {
            Some(mut f) => {
                f.unidentified = unidentified(&f, mean_age);
                if let Some(why) = &f.unidentified {
                    tracing::warn!("{why}: the data cannot tell whether silent customers are gone (identified = 0 in clv_params); p_purchase_* still says how likely a purchase is");
                }
                fitted.push(f)
            }
            None => tracing::warn!("{}: no start point gives a finite likelihood on this data; left out", kind.label()),
        }
    }
    let customers = s.repeat_purchases.len();
    let (chosen, why) = choose(&fitted, choice, customers)?;
    let (spend_rows, spend_customers, gg) = gg_side;
    let (gg_log_covariance, gg) = gg
        .ok_or_else(|| Error::Fit {
            model: "Gamma-Gamma",
            reason: format!(
                "only {spend_customers} repeat buyers have a positive average repeat value; a fit needs at least {MIN_REPEAT_BUYERS}"
            ),
        })?
        .ok_or_else(|| Error::Fit {
            model: "Gamma-Gamma",
            reason: "no start point gives a finite likelihood on the repeat buyers' average values".into(),
        })?;
    let p = gg.params;
    if p.q <= 1.0 {
        return Err(Error::Fit {
            model: "Gamma-Gamma",
            reason: format!("fitted q = {:.4} <= 1: the mean spend per purchase is infinite; the spend averages are too dispersed for this model", p.q),
        });
    }
    let purchase_checks = fitted.iter().map(|f| (f.kind.label(), &f.fit.at_bound, f.fit.converged));
    for (model, names, converged) in purchase_checks.chain([("Gamma-Gamma", &gg.at_bound, gg.converged)]) {
        if !names.is_empty() {
            tracing::warn!("{model}: parameter(s) {} ended on the optimiser's bound (e^±30): the data do not pin them down", names.join(", "));
        } else if !converged {
            tracing::warn!("{model}: the optimiser stopped before its tolerance (converged = 0 in clv_params): the likelihood is flat along some direction, often a model without heterogeneity (q and gamma growing together)");
        }
    }
    Ok(Model {
        unit,
        fits: fitted,
        chosen,
        why,
        rows,
        row_of,
        customers,
        population_value: gamma_gamma::expected_value(p, 0, 0.0),
        gamma_gamma: gg,
        gamma_gamma_standard_errors: gg_log_covariance
            .as_ref()
            .and_then(|c| mle::errors_of(&[p.p, p.q, p.gamma], c))
            .map(|e| [e[0], e[1], e[2]]),
        gamma_gamma_log_covariance: gg_log_covariance,
        spend_customers,
        spend_rows,
    })
}

/// The discounted expected purchases over `horizon_days`: the horizon in steps of [`STEP_DAYS`]
/// (the last one shorter when the horizon is not a multiple), each step's expected purchases
/// E(t_k) - E(t_k-1) divided by (1 + annual rate)^(t_k / 365), t_k the step's end in days.
/// Returns (discounted purchases, E(horizon)): the last step's E is the undiscounted total.
pub fn discounted_purchases(m: &PurchaseFit, unit: ClvUnit, row: &bgnbd::Row, horizon_days: u32, rate: f64) -> (f64, f64) {
    let at = |days: u32| -> f64 { days as f64 / unit.days() };
    let alive = m.p_alive(row);
    discount_steps(horizon_days, rate, |days| m.expected_while_alive(row, at(days)) * alive)
}

/// The discounted sum of `e(t_k) - e(t_k-1)` over the horizon's steps, and e(horizon).
fn discount_steps(horizon_days: u32, rate: f64, e: impl Fn(u32) -> f64) -> (f64, f64) {
    if rate == 0.0 {
        let total = e(horizon_days);
        return (total, total);
    }
    let mut total = 0.0;
    let mut before = 0.0;
    let mut end = 0;
    while end < horizon_days {
        end = (end + STEP_DAYS).min(horizon_days);
        let now = e(end);
        total += (now - before) / discount_divisor(rate, end);
        before = now;
    }
    (total, before)
}

/// Below this P(alive) a customer gets no expected next purchase date (the `lost` stage's line).
pub const NEXT_PURCHASE_MIN_P_ALIVE: f64 = 0.1;

/// Per customer (facts' order), from the chosen purchase model: p_alive, expected purchases over
/// the horizon and the discounted ones, P(a purchase within each window), and the days from as-of
/// to the expected next purchase; computed once per distinct (x, t_x, T).
pub struct Predictions {
    pub p_alive: Vec<f64>,
    pub expected_purchases: Vec<f64>,
    pub discounted_purchases: Vec<f64>,
    /// Per window of `windows`: P(at least one purchase in the next window days).
    pub p_purchase: Vec<Vec<f64>>,
    /// Days after as-of of the expected next purchase (see [`next_purchase_offset`]).
    pub next_purchase_days: Vec<Option<i32>>,
    /// Discounted expected residual purchases (issue 32); `None` when infinite (no discounting
    /// and a drop-out too slow for the sum to end) or not computed (the holdout's fits).
    pub dert: Vec<Option<f64>>,
}

/// The day of the expected next purchase, as days after as-of D: the first day by whose end a
/// customer who is alive has bought again with probability ½, i.e. D + ceil(w) − 1 for the median
/// wait w (in days). `None` when P(alive) is below [`NEXT_PURCHASE_MIN_P_ALIVE`] or w is beyond
/// the horizon.
pub fn next_purchase_offset(m: &PurchaseFit, unit: ClvUnit, row: &bgnbd::Row, p_alive: f64, horizon_days: u32) -> Option<i32> {
    if p_alive < NEXT_PURCHASE_MIN_P_ALIVE {
        return None;
    }
    let w = m.median_wait(row, horizon_days as f64 / unit.days())? * unit.days();
    Some((w.ceil() as i32 - 1).max(0))
}

pub fn predict(m: &Model, horizon_days: u32, rate: f64, windows: &[u32]) -> Result<Predictions> {
    predict_with(m, m.purchases(), horizon_days, rate, windows, true)
}

/// The predictions of one fitted purchase model of `m`; without `next` the next purchase days are
/// all `None` (the holdout check does not need them).
fn predict_with(m: &Model, fit: &PurchaseFit, horizon_days: u32, rate: f64, windows: &[u32], next: bool) -> Result<Predictions> {
    let (rows, index) = (&m.rows, &m.row_of);
    let u = m.unit.days();
    struct PerRow {
        alive: f64,
        expected: f64,
        discounted: f64,
        purchase: Vec<f64>,
        next: Option<i32>,
        dert: Option<f64>,
    }
    // DERT's continuous rate per model unit: e^(−δ·365 days) = 1/(1 + annual rate). DERT / P(alive)
    // depends on (x, T) only: computed once per distinct pair.
    let delta = (1.0 + rate).ln() * u / 365.0;
    let mut pairs: Vec<(u32, u64)> = if next { rows.iter().map(|r| (r.x, r.t.to_bits())).collect() } else { Vec::new() };
    pairs.sort_unstable();
    pairs.dedup();
    let table = (next && fit.kind != Btyd::ParetoNbd).then(|| dert::bgnbd_table(fit.bg(), delta));
    let alive_dert: Vec<f64> = pairs
        .par_iter()
        .map(|&(x, t)| fit.dert(&bgnbd::Row { x, t_x: 0.0, t: f64::from_bits(t), weight: 1.0 }, 1.0, delta, table.as_ref()))
        .collect();
    let dert_of = |r: &bgnbd::Row| -> f64 {
        let i = pairs.binary_search(&(r.x, r.t.to_bits())).expect("every row's pair");
        alive_dert[i]
    };
    let per_row: Vec<PerRow> = rows
        .par_iter()
        .map(|r| {
            let (discounted, expected) = discounted_purchases(fit, m.unit, r, horizon_days, rate);
            let alive = fit.p_alive(r);
            PerRow {
                alive,
                expected,
                discounted,
                purchase: windows.iter().map(|&w| alive * fit.first_purchase_within(r, w as f64 / u)).collect(),
                next: if next { next_purchase_offset(fit, m.unit, r, alive, horizon_days) } else { None },
                dert: if next { Some(alive * dert_of(r)).filter(|d| d.is_finite()) } else { None },
            }
        })
        .collect();
    let finite = |v: &PerRow| v.alive.is_finite() && v.expected.is_finite() && v.discounted.is_finite() && v.purchase.iter().all(|p| p.is_finite());
    if let Some((r, _)) = rows.iter().zip(&per_row).find(|(_, v)| !finite(v)) {
        let names = fit.kind.parameters();
        return Err(Error::Fit {
            model: fit.kind.label(),
            reason: format!(
                "predictions are not finite for x = {}, t_x = {}, T = {} at {}",
                r.x,
                r.t_x,
                r.t,
                names.iter().zip(fit.fit.params).map(|(n, v)| format!("{n} = {v}")).collect::<Vec<_>>().join(", ")
            ),
        });
    }
    let pick = |f: &dyn Fn(&PerRow) -> f64| -> Vec<f64> { index.iter().map(|&i| f(&per_row[i as usize])).collect() };
    Ok(Predictions {
        p_alive: pick(&|v| v.alive),
        expected_purchases: pick(&|v| v.expected),
        discounted_purchases: pick(&|v| v.discounted),
        p_purchase: (0..windows.len()).map(|k| pick(&|v| v.purchase[k])).collect(),
        next_purchase_days: index.iter().map(|&i| per_row[i as usize].next).collect(),
        dert: index.iter().map(|&i| per_row[i as usize].dert).collect(),
    })
}

/// Days since the last purchase over the customer's mean gap between purchase days
/// (repeat_span_days / repeat_purchases); `None` without a repeat purchase day. 1 = due now.
pub fn overdue_ratio(recency_days: u32, span_days: u32, x: u32) -> Option<f64> {
    (x > 0 && span_days > 0).then(|| recency_days as f64 / (span_days as f64 / x as f64))
}

/// Column order of `clv`: `p_purchase_<days>` for each window go after expected_purchases.
pub fn clv_columns(windows: &[u32], bounds: bool) -> Vec<String> {
    let mut cols: Vec<String> = ["customer_id", "repeat_purchases", "repeat_span_days", "customer_age_days", "avg_repeat_order_value", "p_alive", "expected_purchases"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    cols.extend(windows.iter().map(|w| p_purchase_column(*w)));
    cols.extend(
        ["expected_next_purchase_date", "expected_order_value", "clv", "clv_decile", "dert", "recency_days", "last_gap_days", "overdue_ratio", "horizon_days"]
            .iter()
            .map(|s| s.to_string()),
    );
    if bounds {
        for base in bound_bases(windows) {
            cols.push(format!("{base}_lower"));
            cols.push(format!("{base}_upper"));
        }
    }
    cols
}

/// The columns that get `_lower` and `_upper` bounds with `--interval`, in order.
fn bound_bases(windows: &[u32]) -> Vec<String> {
    let mut v = vec!["p_alive".to_string(), "expected_purchases".to_string()];
    v.extend(windows.iter().map(|w| p_purchase_column(*w)));
    v.push("clv".into());
    v
}

/// The column of P(a purchase within `days` days).
pub fn p_purchase_column(days: u32) -> String {
    format!("p_purchase_{days}")
}

/// The `clv` table: one row per customer, by clv descending, then customer_id ascending; the clv
/// decile is 1 + floor(10 p / N) over that order (1 = the tenth with the highest CLV).
/// Also returns the table's row order (indexes into the facts' order) and each customer's expected
/// order value (unrounded, facts' order), which `clv_periods` follows.
pub fn clv_table(
    s: &Summary,
    m: &Model,
    pr: &Predictions,
    iv: Option<&Intervals>,
    as_of: NaiveDate,
    o: Options,
) -> Result<(DataFrame, Vec<IdxSize>, Vec<f64>)> {
    let d = o.money_decimals;
    let gg = m.gamma_gamma.params;
    let n = s.repeat_purchases.len();
    let mut value = Vec::with_capacity(n);
    let mut clv = Vec::with_capacity(n);
    for i in 0..n {
        let x = s.repeat_purchases[i];
        // Customers without repeat days get the population mean; an average of 0 (returns cancel
        // the repeat value) gets Gamma-Gamma's conditional mean at 0, pγ/(px + q − 1).
        let ev = match s.avg_repeat_value[i] {
            Some(mv) if x > 0 => gamma_gamma::expected_value(gg, x, mv),
            _ => m.population_value,
        };
        value.push(ev);
        clv.push(round_money_value(ev * pr.discounted_purchases[i], d) + 0.0);
    }
    let overdue: Vec<Option<f64>> =
        (0..n).map(|i| overdue_ratio(s.recency_days[i], s.repeat_span_days[i], s.repeat_purchases[i])).collect();
    let u32s = |v: &[u32], name: &str| Column::new(name.into(), v.iter().map(|&x| x as i64).collect::<Vec<i64>>());
    let d0 = epoch_days(as_of) as i32;
    let next = Column::new(
        "expected_next_purchase_date".into(),
        pr.next_purchase_days.iter().map(|v| v.map(|k| d0 + k)).collect::<Vec<Option<i32>>>(),
    )
    .cast(&DataType::Date)?;
    let mut cols = vec![
        s.customer_id.clone().with_name(c::CUSTOMER.into()),
        u32s(&s.repeat_purchases, "repeat_purchases"),
        u32s(&s.repeat_span_days, "repeat_span_days"),
        u32s(&s.customer_age_days, "customer_age_days"),
        Column::new(
            "avg_repeat_order_value".into(),
            s.avg_repeat_value.iter().map(|v| v.map(|v| round_money_value(v, d) + 0.0)).collect::<Vec<Option<f64>>>(),
        ),
        Column::new("p_alive".into(), &pr.p_alive),
        Column::new("expected_purchases".into(), &pr.expected_purchases),
        next,
        Column::new("expected_order_value".into(), value.iter().map(|v| round_money_value(*v, d) + 0.0).collect::<Vec<f64>>()),
        Column::new("clv".into(), clv),
        Column::new("dert".into(), &pr.dert),
        u32s(&s.recency_days, "recency_days"),
        Column::new(
            "last_gap_days".into(),
            s.last_gap_days.iter().map(|v| v.map(|v| v as i64)).collect::<Vec<Option<i64>>>(),
        ),
        Column::new("overdue_ratio".into(), overdue),
        Column::new("horizon_days".into(), vec![o.clv.horizon_days as i64; n]),
        Column::new("_row".into(), (0..n as IdxSize).collect::<Vec<IdxSize>>()),
    ];
    for (w, p) in o.clv.purchase_windows.iter().zip(&pr.p_purchase) {
        cols.push(Column::new(p_purchase_column(*w).into(), p));
    }
    if o.clv.customer_intervals {
        // Null bounds when the draws could not be made (a Hessian that is not positive definite).
        let mut pairs: Vec<Option<&Vec<(f64, f64)>>> = vec![iv.map(|v| &v.p_alive), iv.map(|v| &v.expected_purchases)];
        pairs.extend((0..o.clv.purchase_windows.len()).map(|w| iv.map(|v| &v.p_purchase[w])));
        pairs.push(iv.map(|v| &v.clv));
        for (k, (base, b)) in bound_bases(&o.clv.purchase_windows).into_iter().zip(pairs).enumerate() {
            let money = k == 2 + o.clv.purchase_windows.len();
            let side = |pick: fn(&(f64, f64)) -> f64| -> Vec<Option<f64>> {
                match b {
                    Some(v) => v.iter().map(|x| Some(if money { round_money_value(pick(x), d) + 0.0 } else { pick(x) })).collect(),
                    None => vec![None; n],
                }
            };
            cols.push(Column::new(format!("{base}_lower").into(), side(|x| x.0)));
            cols.push(Column::new(format!("{base}_upper").into(), side(|x| x.1)));
        }
    }
    let df = DataFrame::new_infer_height(cols)?;
    // Row order: clv descending, then customer_id ascending (a total order: ids are unique).
    let order: Vec<IdxSize> = match s.customer_id.dtype() {
        DataType::Int64 => {
            // (clv descending as an order-preserving integer, id, row): one sort over plain keys.
            let desc = |v: f64| {
                let b = v.to_bits();
                !(if b >> 63 == 1 { !b } else { b | (1 << 63) })
            };
            let clv_col = df.column("clv")?.f64()?;
            let mut keys: Vec<(u64, i64, IdxSize)> = s
                .customer_id
                .i64()?
                .into_no_null_iter()
                .zip(clv_col.into_no_null_iter())
                .enumerate()
                .map(|(i, (id, v))| (desc(v), id, i as IdxSize))
                .collect();
            keys.par_sort_unstable();
            keys.into_iter().map(|k| k.2).collect()
        }
        _ => df
            .sort(["clv", c::CUSTOMER], SortMultipleOptions::default().with_order_descending_multi([true, false]))?
            .column("_row")?
            .idx()?
            .into_no_null_iter()
            .collect(),
    };
    let mut sorted = df.drop("_row")?.take(&IdxCa::from_vec("idx".into(), order.clone()))?;
    let decile: Vec<i32> = (0..n).map(|p| (1 + 10 * p / n.max(1)) as i32).collect();
    sorted.with_column(Column::new("clv_decile".into(), decile))?;
    Ok((sorted.select(clv_columns(&o.clv.purchase_windows, o.clv.customer_intervals))?, order, value))
}

/// What expected purchases made by the end of day `days` are divided by: (1 + annual rate)^(days /
/// 365), the one discounting rule of clv, clv_periods and clv_new_customers.
fn discount_divisor(rate: f64, days: u32) -> f64 {
    (1.0 + rate).powf(days as f64 / 365.0)
}

/// `clv_periods` (issue 32): per customer (in the clv table's order) and month k = 1..months, a
/// month being [`STEP_DAYS`] days: the chosen model's expected purchases in days (30(k−1), 30k]
/// after as-of, P(alive) · (E(30k) − E(30(k−1))) with E the expected purchases of a customer who
/// is alive, and their value: those purchases × the customer's expected order value, discounted
/// at the month's end as the clv column's steps are (so over `horizon_days` = 30 · months the
/// values add up to clv, up to each value's rounding to money decimals).
pub fn periods_table(s: &Summary, m: &Model, order: &[IdxSize], value: &[f64], months: u32, o: Options) -> Result<DataFrame> {
    let fit = m.purchases();
    let months = months as usize;
    let at = |days: u32| days as f64 / m.unit.days();
    // Per distinct (x, t_x, T) row: each month's expected purchases.
    let per_row: Vec<Vec<f64>> = m
        .rows
        .par_iter()
        .map(|r| {
            let alive = fit.p_alive(r);
            let mut before = 0.0;
            (1..=months as u32)
                .map(|k| {
                    let now = fit.expected_while_alive(r, at(k * STEP_DAYS)) * alive;
                    let month = (now - before).max(0.0);
                    before = now;
                    month
                })
                .collect()
        })
        .collect();
    let divisors: Vec<f64> = (1..=months as u32).map(|k| discount_divisor(o.clv.discount_rate, k * STEP_DAYS)).collect();
    let n = order.len() * months;
    let (mut idx, mut month, mut purchases, mut money) =
        (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    for &i in order {
        let row = &per_row[m.row_of[i as usize] as usize];
        for k in 0..months {
            idx.push(i);
            month.push(k as i32 + 1);
            purchases.push(row[k]);
            money.push(round_money_value(row[k] * value[i as usize] / divisors[k], o.money_decimals) + 0.0);
        }
    }
    Ok(DataFrame::new_infer_height(vec![
        s.customer_id.take(&IdxCa::from_vec("idx".into(), idx))?.with_name(c::CUSTOMER.into()),
        Column::new("month".into(), month),
        Column::new("expected_purchases".into(), purchases),
        Column::new("expected_value".into(), money),
    ])?)
}

/// `clv_new_customers` (issue 32): what a customer acquired today is worth, for acquisition
/// planning: per fitted purchase model and month k = 1..months, the expected repeat purchases by
/// day 30k (the unconditional E[X(t)] of a customer whose first purchase is today: FHL 2005 eq. 9
/// for BG/NBD, `b/(a−1)·[1 − (α/(α+t))^r 2F1(r, b+1; a+b; t/(α+t))]` for MBG/NBD,
/// `rβ/(α(s−1))·[1 − (β/(β+t))^(s−1)]` for Pareto/NBD: each model's conditional expectation at
/// x = t_x = T = 0), and their value at the population's mean order value pγ/(q−1), discounted
/// month by month as clv is, both cumulative.
pub fn new_customers_table(m: &Model, o: Options) -> Result<DataFrame> {
    let months = o.clv.clv_months.unwrap_or(crate::config::DEFAULT_CLV_MONTHS);
    let at = |days: u32| days as f64 / m.unit.days();
    let (mut model, mut month, mut days, mut chosen, mut purchases, mut money) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (i, f) in m.fits.iter().enumerate() {
        let (mut before, mut total) = (0.0, 0.0);
        for k in 1..=months {
            let now = f.new_customer_purchases(at(k * STEP_DAYS));
            total += (now - before) * m.population_value / discount_divisor(o.clv.discount_rate, k * STEP_DAYS);
            before = now;
            model.push(f.kind.name());
            month.push(k as i32);
            days.push((k * STEP_DAYS) as i32);
            chosen.push(i == m.chosen);
            purchases.push(now);
            money.push(round_money_value(total, o.money_decimals) + 0.0);
        }
    }
    Ok(DataFrame::new_infer_height(vec![
        Column::new("model".into(), model),
        Column::new("month".into(), month),
        Column::new("days".into(), days),
        Column::new("chosen".into(), chosen),
        Column::new("expected_purchases".into(), purchases),
        Column::new("expected_value".into(), money),
    ])?)
}

/// Per-customer and total intervals (issue 32, `--interval`): each bound pair is (lower, upper).
pub struct Intervals {
    pub level: f64,
    pub draws: usize,
    /// Per customer, in the facts' order.
    pub p_alive: Vec<(f64, f64)>,
    pub expected_purchases: Vec<(f64, f64)>,
    /// Per window of `--purchase-windows`.
    pub p_purchase: Vec<Vec<(f64, f64)>>,
    pub clv: Vec<(f64, f64)>,
    /// The whole base's expected purchases and CLV over the horizon.
    pub total_purchases: (f64, f64),
    pub total_clv: (f64, f64),
}

/// The customers (facts' indexes) in customer_id order: sums over customers taken in it do not
/// depend on the order the engine gave the facts in.
fn id_order(s: &Summary) -> Vec<usize> {
    s.customer_id.as_materialized_series().arg_sort(SortOptions::default()).into_no_null_iter().map(|i| i as usize).collect()
}

/// The intervals' parameter draws: `draws` draws of the chosen purchase model's parameters and
/// of Gamma-Gamma's from their asymptotic distributions (normal in the logarithms, the covariance
/// the inverse Hessian), from `seed` (Gamma-Gamma's stream from seed + 1). Every prediction is
/// recomputed under each draw; a customer's bounds are the (1 ∓ level)/2 quantiles of their
/// values over the draws, and so are the totals' (summed per draw). `None` when a model has no
/// covariance (its Hessian is not positive definite: the data do not pin it down).
///
/// The work is grouped by (x, T): the expected purchases while alive, their discounted sum and the
/// purchase probabilities while alive depend on nothing else, so each group computes them once per
/// draw, then its rows' P(alive) and its customers' order values.
pub fn intervals(s: &Summary, m: &Model, o: Options) -> Option<Intervals> {
    let (draws, seed) = (o.clv.interval_draws as usize, o.clv.seed);
    let fit = m.purchases();
    let p_draws = draws::log_normal(&fit.fit.params, fit.log_covariance.as_ref()?, draws, seed)?;
    let g = m.gamma_gamma.params;
    let g_draws = draws::log_normal(&[g.p, g.q, g.gamma], m.gamma_gamma_log_covariance.as_ref()?, draws, seed.wrapping_add(1))?;
    let fits: Vec<PurchaseFit> = p_draws
        .iter()
        .map(|p| {
            let mut f = fit.clone();
            f.fit.params = [p[0], p[1], p[2], p[3]];
            f
        })
        .collect();
    let spend: Vec<gamma_gamma::Params> = g_draws.iter().map(|v| gamma_gamma::Params { p: v[0], q: v[1], gamma: v[2] }).collect();
    let (lo_q, hi_q) = ((1.0 - o.clv.interval) / 2.0, (1.0 + o.clv.interval) / 2.0);
    let u = m.unit.days();
    let windows = &o.clv.purchase_windows;
    // Rows grouped by (x, T); customers by row.
    let mut by_pair: Vec<u32> = (0..m.rows.len() as u32).collect();
    by_pair.sort_unstable_by(|&a, &b| {
        let (ra, rb) = (&m.rows[a as usize], &m.rows[b as usize]);
        (ra.x, ra.t.to_bits(), a).cmp(&(rb.x, rb.t.to_bits(), b))
    });
    let mut groups: Vec<std::ops::Range<usize>> = Vec::new();
    let mut start = 0;
    for i in 1..=by_pair.len() {
        let same = i < by_pair.len() && {
            let (a, b) = (&m.rows[by_pair[i - 1] as usize], &m.rows[by_pair[i] as usize]);
            (a.x, a.t.to_bits()) == (b.x, b.t.to_bits())
        };
        if !same {
            groups.push(start..i);
            start = i;
        }
    }
    let mut first = vec![0usize; m.rows.len() + 1];
    for &r in &m.row_of {
        first[r as usize + 1] += 1;
    }
    for i in 0..m.rows.len() {
        first[i + 1] += first[i];
    }
    // Each row's customers in customer_id order, so the per-draw totals are summed in one order
    // whatever order the engine gave the facts in.
    let by_id = id_order(s);
    let mut fill = first.clone();
    let mut customers = vec![0u32; m.row_of.len()];
    for &c in &by_id {
        let r = m.row_of[c];
        customers[fill[r as usize]] = c as u32;
        fill[r as usize] += 1;
    }
    let ev = |g: &gamma_gamma::Params, c: usize| match s.avg_repeat_value[c] {
        Some(mv) if s.repeat_purchases[c] > 0 => gamma_gamma::expected_value(*g, s.repeat_purchases[c], mv),
        _ => gamma_gamma::expected_value(*g, 0, 0.0),
    };
    struct Out {
        /// (customer, p_alive, expected, windows..., clv) bounds.
        rows: Vec<(u32, Vec<(f64, f64)>)>,
        purchases: Vec<f64>,
        value: Vec<f64>,
    }
    let bounds = |v: &mut [f64]| draws::quantile_pair(v, lo_q, hi_q);
    let outs: Vec<Out> = groups
        .par_iter()
        .map(|g| {
            let first_row = &m.rows[by_pair[g.start] as usize];
            let pair = bgnbd::Row { x: first_row.x, t_x: 0.0, t: first_row.t, weight: 1.0 };
            // Per draw, while alive: (discounted, expected, each window's probability).
            let alive_vals: Vec<(f64, f64, Vec<f64>)> = fits
                .iter()
                .map(|f| {
                    let (disc, exp) = discount_steps(o.clv.horizon_days, o.clv.discount_rate, |d| f.expected_while_alive(&pair, d as f64 / u));
                    (disc, exp, windows.iter().map(|&w| f.first_purchase_within(&pair, w as f64 / u)).collect())
                })
                .collect();
            let mut out = Out { rows: Vec::new(), purchases: vec![0.0; draws], value: vec![0.0; draws] };
            let mut col = vec![0.0; draws];
            // P(alive) per draw (outer) and row of the group (inner).
            let t_xs: Vec<f64> = by_pair[g.clone()].iter().map(|&ri| m.rows[ri as usize].t_x).collect();
            let alive_by_draw: Vec<Vec<f64>> = fits.iter().map(|f| f.p_alive_group(pair.x, pair.t, &t_xs)).collect();
            for (gi, &ri) in by_pair[g.clone()].iter().enumerate() {
                let row = &m.rows[ri as usize];
                let alive: Vec<f64> = alive_by_draw.iter().map(|a| a[gi]).collect();
                let mut row_bounds = Vec::with_capacity(3 + windows.len());
                col.iter_mut().zip(&alive).for_each(|(c, a)| *c = *a);
                row_bounds.push(bounds(&mut col));
                for (k, c) in col.iter_mut().enumerate() {
                    *c = alive[k] * alive_vals[k].1;
                }
                row_bounds.push(bounds(&mut col));
                for w in 0..windows.len() {
                    for (k, c) in col.iter_mut().enumerate() {
                        *c = alive[k] * alive_vals[k].2[w];
                    }
                    row_bounds.push(bounds(&mut col));
                }
                for k in 0..draws {
                    out.purchases[k] += alive[k] * alive_vals[k].1 * row.weight;
                }
                for &c in &customers[first[ri as usize]..first[ri as usize + 1]] {
                    for k in 0..draws {
                        col[k] = ev(&spend[k], c as usize) * alive[k] * alive_vals[k].0;
                        out.value[k] += col[k];
                    }
                    let mut b = row_bounds.clone();
                    b.push(bounds(&mut col));
                    out.rows.push((c, b));
                }
            }
            out
        })
        .collect();
    let n = s.repeat_purchases.len();
    let mut per: Vec<Vec<(f64, f64)>> = vec![Vec::new(); n];
    let (mut purchases, mut value) = (vec![0.0; draws], vec![0.0; draws]);
    for o in outs {
        for (c, b) in o.rows {
            per[c as usize] = b;
        }
        for k in 0..draws {
            purchases[k] += o.purchases[k];
            value[k] += o.value[k];
        }
    }
    let pick = |i: usize| -> Vec<(f64, f64)> { per.iter().map(|b| b[i]).collect() };
    Some(Intervals {
        level: o.clv.interval,
        draws,
        p_alive: pick(0),
        expected_purchases: pick(1),
        p_purchase: (0..windows.len()).map(|w| pick(2 + w)).collect(),
        clv: pick(2 + windows.len()),
        total_purchases: bounds(&mut purchases),
        total_clv: bounds(&mut value),
    })
}

/// The fit's report (manifest `clv` and the `clv_params` rows).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub time_unit: &'static str,
    pub horizon_days: u32,
    pub discount_rate: f64,
    /// The purchase model the predictions come from, and why.
    pub model: &'static str,
    pub choice: String,
    /// Every fitted purchase model by name (`bgnbd`, `mbgnbd`, `pareto_nbd`).
    #[serde(flatten)]
    pub purchase_models: std::collections::BTreeMap<&'static str, ModelReport>,
    pub gamma_gamma: ModelReport,
    /// The level of the parameters' intervals in `clv_params` (`ci_lower`, `ci_upper`).
    pub interval: f64,
    /// With `--interval`: the per-customer draws and the totals' intervals.
    pub intervals: Option<IntervalReport>,
    pub population_order_value: f64,
    pub holdout: Option<HoldoutReport>,
    /// Where the CLV stage's time went.
    pub seconds: Seconds,
}

/// Seconds of the CLV stage's parts: the summary and every fit (rows collapsed, likelihoods
/// maximised, standard errors), the predictions (P(alive), expected purchases, discounted
/// purchases, purchase probabilities, next purchase dates), the `clv` table (values, order,
/// deciles), and the holdout check (its fits and table).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Seconds {
    pub fit: f64,
    pub predict: f64,
    pub table: f64,
    pub holdout: f64,
    /// The per-customer intervals' draws (`--interval`).
    pub intervals: f64,
}

/// The totals' intervals in the manifest and clv_params (`--interval`): [value, lower, upper].
#[derive(Debug, Clone, Serialize)]
pub struct IntervalReport {
    pub level: f64,
    pub draws: usize,
    pub seed: u64,
    /// The whole base's expected purchases over the horizon.
    pub total_purchases: [f64; 3],
    /// The whole base's CLV over the horizon (unrounded).
    pub total_clv: [f64; 3],
}

struct Clock(std::time::Instant, Seconds);

impl Clock {
    /// Seconds since the last lap.
    fn lap(&mut self) -> f64 {
        let now = std::time::Instant::now();
        let s = (now - self.0).as_secs_f64();
        self.0 = now;
        s
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelReport {
    pub params: std::collections::BTreeMap<&'static str, f64>,
    /// Standard errors of the parameters (purchase models; absent when the Hessian is singular).
    pub standard_errors: std::collections::BTreeMap<&'static str, f64>,
    pub log_likelihood: f64,
    /// AIC and BIC (purchase models).
    pub aic: Option<f64>,
    pub bic: Option<f64>,
    pub chosen: bool,
    /// Purchase models: whether the data pin the drop-out process down, and if not, why.
    pub identified: Option<bool>,
    pub unidentified: Option<String>,
    pub iterations: u64,
    pub evaluations: u64,
    pub converged: bool,
    pub at_bound: Vec<&'static str>,
    pub start_points_tried: usize,
    pub customers: usize,
    /// Distinct rows the likelihood ran over (identical rows collapsed into weights).
    pub distinct_rows: usize,
    /// The holdout check of this model: predicted purchases, % error, MAE.
    pub holdout: Option<ModelHoldout>,
}

impl ModelReport {
    /// The report of any fit: its parameters by name, likelihood and what the optimiser did, for
    /// `customers` over `distinct_rows`; the purchase models' fields left empty (and `chosen`:
    /// Gamma-Gamma is always used).
    fn of<P>(
        f: &mle::Fitted<P>,
        params: impl IntoIterator<Item = (&'static str, f64)>,
        customers: usize,
        distinct_rows: usize,
    ) -> ModelReport {
        ModelReport {
            params: params.into_iter().collect(),
            standard_errors: Default::default(),
            log_likelihood: f.log_likelihood,
            aic: None,
            bic: None,
            chosen: true,
            identified: None,
            unidentified: None,
            iterations: f.iterations,
            evaluations: f.evaluations,
            converged: f.converged,
            at_bound: f.at_bound.clone(),
            start_points_tried: f.starts,
            customers,
            distinct_rows,
            holdout: None,
        }
    }
}

/// One purchase model's holdout totals.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ModelHoldout {
    pub predicted_purchases: f64,
    pub purchases_pct_error: Option<f64>,
    pub purchases_mae: f64,
}

/// The report of a fit.
pub fn report(m: &Model, o: Options, holdout: Option<HoldoutReport>) -> Report {
    let g = &m.gamma_gamma;
    let purchase_models = m
        .fits
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let names = f.kind.parameters();
            let rep = ModelReport {
                standard_errors: f.standard_errors.map(|se| names.iter().copied().zip(se).collect()).unwrap_or_default(),
                aic: Some(f.aic()),
                bic: Some(f.bic(m.customers)),
                chosen: i == m.chosen,
                identified: Some(f.unidentified.is_none()),
                unidentified: f.unidentified.clone(),
                holdout: holdout.as_ref().and_then(|h| h.models.iter().find(|(k, _)| *k == f.kind.name()).map(|(_, v)| *v)),
                ..ModelReport::of(&f.fit, names.iter().copied().zip(f.fit.params), m.customers, m.rows.len())
            };
            (f.kind.name(), rep)
        })
        .collect();
    Report {
        time_unit: m.unit.name(),
        horizon_days: o.clv.horizon_days,
        discount_rate: o.clv.discount_rate,
        model: m.purchases().kind.name(),
        choice: m.why.clone(),
        purchase_models,
        gamma_gamma: ModelReport {
            standard_errors: m
                .gamma_gamma_standard_errors
                .map(|se| gamma_gamma::NAMES.iter().copied().zip(se).collect())
                .unwrap_or_default(),
            ..ModelReport::of(g, [("p", g.params.p), ("q", g.params.q), ("gamma", g.params.gamma)], m.spend_customers, m.spend_rows)
        },
        interval: o.clv.interval,
        intervals: None,
        population_order_value: m.population_value,
        holdout,
        seconds: Seconds::default(),
    }
}

/// `clv_params`: one row per (model, parameter): each purchase model's parameters (with their
/// standard errors), log-likelihood, AIC, BIC, whether it was chosen, iterations, convergence
/// (1/0), parameters at the bound, customers and, with a holdout, its holdout errors; Gamma-Gamma's;
/// the horizon and rate; the chosen model's holdout totals and errors.
pub fn params_table(r: &Report) -> Result<DataFrame> {
    let mut rows: Vec<(&str, &str, f64, Option<f64>)> = Vec::new();
    // Rows whose interval comes from the draws, not from a standard error.
    let mut drawn: Vec<(usize, (f64, f64))> = Vec::new();
    let flag = |b: bool| if b { 1.0 } else { 0.0 };
    let mut models: Vec<(&str, &ModelReport, Vec<&'static str>)> = Btyd::ALL
        .iter()
        .filter_map(|k| r.purchase_models.get(k.name()).map(|m| (k.name(), m, k.parameters().to_vec())))
        .collect();
    models.push(("gamma_gamma", &r.gamma_gamma, vec!["p", "q", "gamma"]));
    for (model, m, order) in models {
        for k in order {
            rows.push((model, k, m.params[k], m.standard_errors.get(k).copied()));
        }
        rows.push((model, "log_likelihood", m.log_likelihood, None));
        if let (Some(aic), Some(bic)) = (m.aic, m.bic) {
            rows.push((model, "aic", aic, None));
            rows.push((model, "bic", bic, None));
            rows.push((model, "chosen", flag(m.chosen), None));
            rows.push((model, "identified", flag(m.identified.unwrap_or(true)), None));
        }
        rows.push((model, "iterations", m.iterations as f64, None));
        rows.push((model, "converged", flag(m.converged), None));
        rows.push((model, "parameters_at_bound", m.at_bound.len() as f64, None));
        rows.push((model, "customers", m.customers as f64, None));
        if let Some(h) = &m.holdout {
            rows.push((model, "holdout_predicted_purchases", h.predicted_purchases, None));
            rows.push((model, "holdout_purchases_pct_error", h.purchases_pct_error.unwrap_or(f64::NAN), None));
            rows.push((model, "holdout_purchases_mae", h.purchases_mae, None));
        }
    }
    rows.push(("gamma_gamma", "population_order_value", r.population_order_value, None));
    rows.push(("clv", "horizon_days", r.horizon_days as f64, None));
    rows.push(("clv", "discount_rate", r.discount_rate, None));
    if let Some(iv) = &r.intervals {
        for (name, t) in [("total_expected_purchases", iv.total_purchases), ("total_clv", iv.total_clv)] {
            drawn.push((rows.len(), (t[1], t[2])));
            rows.push(("clv", name, t[0], None));
        }
    }
    if let Some(h) = &r.holdout {
        for (k, v) in [
            ("customers", h.customers as f64),
            ("holdout_days", h.holdout_days as f64),
            ("predicted_purchases", h.predicted_purchases),
            ("actual_purchases", h.actual_purchases as f64),
            ("purchases_pct_error", h.purchases_pct_error.unwrap_or(f64::NAN)),
            ("purchases_mae", h.purchases_mae),
            ("predicted_value", h.predicted_value),
            ("actual_value", h.actual_value),
            ("value_pct_error", h.value_pct_error.unwrap_or(f64::NAN)),
            ("value_mae", h.value_mae),
        ] {
            rows.push(("holdout", k, v, None));
        }
    }
    let n = rows.len();
    let level = r.interval;
    let mut bounds: Vec<Option<(f64, f64)>> = rows
        .iter()
        .map(|row| row.3.filter(|v| v.is_finite()).and_then(|se| parameter_interval(row.2, se, level)))
        .collect();
    for (i, b) in drawn {
        bounds[i] = Some(b);
    }
    Ok(DataFrame::new_infer_height(vec![
        Column::new("model".into(), rows.iter().map(|r| r.0).collect::<Vec<&str>>()),
        Column::new("parameter".into(), rows.iter().map(|r| r.1).collect::<Vec<&str>>()),
        // A percentage error of a zero actual total has no value: null, not NaN.
        Column::new("value".into(), rows.iter().map(|r| Some(r.2).filter(|v| v.is_finite())).collect::<Vec<Option<f64>>>()),
        Column::new("std_error".into(), rows.iter().map(|r| r.3.filter(|v| v.is_finite())).collect::<Vec<Option<f64>>>()),
        Column::new("ci_lower".into(), bounds.iter().map(|b| b.map(|b| b.0)).collect::<Vec<Option<f64>>>()),
        Column::new("ci_upper".into(), bounds.iter().map(|b| b.map(|b| b.1)).collect::<Vec<Option<f64>>>()),
        Column::new("time_unit".into(), vec![r.time_unit; n]),
    ])?)
}

/// The `level` interval of a positive parameter with standard error `se`, from the normal
/// approximation in its logarithm (where the likelihood was maximised and the Hessian taken):
/// θ = ln(value) has standard error se / value, so the bounds are value · e^(∓z·se/value), z the
/// normal quantile of (1 + level) / 2. Always inside (0, ∞), as the parameter is; `None` for a
/// non-positive value.
pub fn parameter_interval(value: f64, se: f64, level: f64) -> Option<(f64, f64)> {
    use statrs::distribution::{ContinuousCDF, Normal};
    if !(value > 0.0 && se >= 0.0) {
        return None;
    }
    let z = Normal::standard().inverse_cdf(0.5 + level / 2.0);
    let w = z * se / value;
    Some((value * (-w).exp(), value * w.exp()))
}

/// The holdout check's totals and errors (of the chosen purchase model), and every fitted model's.
#[derive(Debug, Clone, Serialize)]
pub struct HoldoutReport {
    pub holdout_from: String,
    pub holdout_days: u32,
    pub customers: usize,
    pub predicted_purchases: f64,
    pub actual_purchases: u64,
    /// (predicted - actual) / actual × 100; `None` when actual is 0.
    pub purchases_pct_error: Option<f64>,
    /// Mean over customers of |predicted - actual| purchases.
    pub purchases_mae: f64,
    pub predicted_value: f64,
    pub actual_value: f64,
    pub value_pct_error: Option<f64>,
    pub value_mae: f64,
    /// Per fitted purchase model (by name): its totals and errors.
    #[serde(skip)]
    pub models: Vec<(&'static str, ModelHoldout)>,
    /// The model with the smallest purchases MAE (auto's choice when the run has a holdout).
    pub best: Btyd,
}

/// `clv_holdout`: the models fitted on the calibration facts (as_of = `from`) predict each
/// calibration customer's repeat purchase days and spend in [from, as_of); the full facts say what
/// happened. Actual purchases = purchase days in the whole window minus those before `from`;
/// actual spend = the same difference of the repeat-day values. Every fitted purchase model
/// predicts (`predicted_purchases_<model>`); `predicted_purchases` and `predicted_value` are the
/// chosen one's: the named `--clv-model`, or under auto the one with the smallest MAE.
pub fn holdout(
    cal: &CustomerFacts,
    full: &CustomerFacts,
    from: NaiveDate,
    as_of: NaiveDate,
    o: Options,
) -> Result<(DataFrame, Vec<(&'static str, DataFrame)>, HoldoutReport)> {
    let d = o.money_decimals;
    let s = summary(cal, from, o.clv.age_to)?;
    let m = fit(&s, o.clv.unit, o.clv.model).map_err(|e| match e {
        Error::Fit { model, reason } => Error::Fit {
            model,
            reason: format!("the holdout check's fit on the lines before {from} (--holdout-from): {reason}; a later date gives it more history"),
        },
        e => e,
    })?;
    let days = (epoch_days(as_of) - epoch_days(from)).max(0) as u32;
    let fd = full.days.as_ref().ok_or_else(|| Error::Internal("holdout without purchase-day facts".into()))?;
    let cd = cal.days.as_ref().ok_or_else(|| Error::Internal("holdout without purchase-day facts".into()))?;
    let at = row_in(&cal.customer_id, &full.customer_id)?;
    let n = s.repeat_purchases.len();
    // Actual purchases and spend in customer_id order, so totals do not depend on the facts' order.
    let ids = id_order(&s);
    let (mut actual_n, mut actual_v) = (vec![0i64; n], vec![0f64; n]);
    for (i, j) in at.iter().enumerate() {
        if let Some(j) = *j {
            actual_n[i] = fd.count[j].saturating_sub(cd.count[i]) as i64;
            actual_v[i] = round_money_value(fd.repeat_value[j] - cd.repeat_value[i], d) + 0.0;
        }
    }
    let total_actual: i64 = ids.iter().map(|&i| actual_n[i]).sum();
    let pct = |p: f64, a: f64| (a != 0.0).then(|| (p - a) / a * 100.0);
    // No discounting: the check compares counts.
    let mut per_model: Vec<(&'static str, ModelHoldout, Vec<f64>)> = Vec::new();
    for f in &m.fits {
        let pr = predict_with(&m, f, days, 0.0, &[], false)?;
        let e = pr.expected_purchases;
        let total = ids.iter().fold(0.0, |t, &i| t + e[i]);
        let mae = ids.iter().fold(0.0, |t, &i| t + (e[i] - actual_n[i] as f64).abs()) / n as f64;
        per_model.push((f.kind.name(), ModelHoldout { predicted_purchases: total, purchases_pct_error: pct(total, total_actual as f64), purchases_mae: mae }, e));
    }
    let best_i = (0..per_model.len()).min_by(|&a, &b| per_model[a].1.purchases_mae.total_cmp(&per_model[b].1.purchases_mae)).unwrap_or(0);
    let chosen = if o.clv.model == ClvModel::Auto { best_i } else { m.chosen };
    let gg = m.gamma_gamma.params;
    let expected = &per_model[chosen].2;
    let pred_v: Vec<f64> = (0..n)
        .map(|i| {
            let ev = match s.avg_repeat_value[i] {
                Some(mv) if s.repeat_purchases[i] > 0 => gamma_gamma::expected_value(gg, s.repeat_purchases[i], mv),
                _ => m.population_value,
            };
            round_money_value(ev * expected[i], d) + 0.0
        })
        .collect();
    let mut cols = vec![
        s.customer_id.clone().with_name(c::CUSTOMER.into()),
        Column::new("repeat_purchases".into(), s.repeat_purchases.iter().map(|&x| x as i64).collect::<Vec<i64>>()),
        Column::new("predicted_purchases".into(), expected),
        Column::new("actual_purchases".into(), &actual_n),
        Column::new("predicted_value".into(), &pred_v),
        Column::new("actual_value".into(), &actual_v),
    ];
    for (name, _, e) in &per_model {
        cols.push(Column::new(format!("predicted_purchases_{name}").into(), e));
    }
    let df = DataFrame::new_infer_height(cols)?.sort([c::CUSTOMER], SortMultipleOptions::default())?;
    let (total_pred, chosen_mae) = (per_model[chosen].1.predicted_purchases, per_model[chosen].1.purchases_mae);
    let total_pred_v = round_money_value(ids.iter().fold(0.0, |t, &i| t + pred_v[i]), d);
    let total_actual_v = round_money_value(ids.iter().fold(0.0, |t, &i| t + actual_v[i]), d);
    let value_mae = ids.iter().fold(0.0, |t, &i| t + (pred_v[i] - actual_v[i]).abs()) / n as f64;
    let rep = HoldoutReport {
        holdout_from: from.to_string(),
        holdout_days: days,
        customers: n,
        predicted_purchases: total_pred,
        actual_purchases: total_actual as u64,
        purchases_pct_error: pct(total_pred, total_actual as f64),
        purchases_mae: chosen_mae,
        predicted_value: total_pred_v,
        actual_value: total_actual_v,
        value_pct_error: pct(total_pred_v, total_actual_v),
        value_mae,
        best: m.fits[best_i].kind,
        models: per_model.into_iter().map(|(k, h, _)| (k, h)).collect(),
    };
    let tracking = tracking_table(cal, full, &at, &m.fits[chosen], m.unit, from, as_of)?;
    let frequency = frequency_table(&s, &m, chosen)?;
    Ok((df, vec![("clv_tracking", tracking), ("clv_frequency", frequency)], rep))
}

/// Repeat purchases at and above this are one row of `clv_frequency` ("7 or more", as Fader,
/// Hardie & Lee draw it).
pub const FREQUENCY_TOP: u32 = 7;

/// `clv_frequency` (issue 32, with `--holdout-from`): the calibration frequency histogram. Per
/// number of calibration repeat purchase days x = 0..6 and 7 (meaning 7 or more): the calibration
/// customers who made x, and how many each fitted model expects, Σ over customers of P(X(T) = x)
/// at their age T ([`PurchaseFit::pmf`]; 7: one minus the rest). `expected_customers` is the chosen
/// model's.
fn frequency_table(s: &Summary, m: &Model, chosen: usize) -> Result<DataFrame> {
    let top = FREQUENCY_TOP as usize;
    let mut actual = vec![0i64; top + 1];
    for &x in &s.repeat_purchases {
        actual[(x as usize).min(top)] += 1;
    }
    let mut ages: std::collections::BTreeMap<u32, f64> = std::collections::BTreeMap::new();
    for &t in &s.customer_age_days {
        *ages.entry(t).or_default() += 1.0;
    }
    let expected: Vec<Vec<f64>> = m
        .fits
        .iter()
        .map(|f| {
            let mut e = vec![0.0; top + 1];
            for (&t, &n) in &ages {
                let t = t as f64 / m.unit.days();
                let p: Vec<f64> = (0..FREQUENCY_TOP).map(|x| f.pmf(t, x)).collect();
                for x in 0..top {
                    e[x] += n * p[x];
                }
                e[top] += n * (1.0 - p.iter().sum::<f64>()).max(0.0);
            }
            e
        })
        .collect();
    let mut cols = vec![
        Column::new("repeat_purchases".into(), (0..=FREQUENCY_TOP as i64).collect::<Vec<i64>>()),
        Column::new("customers".into(), actual),
        Column::new("expected_customers".into(), &expected[chosen]),
    ];
    for (f, e) in m.fits.iter().zip(&expected) {
        cols.push(Column::new(format!("expected_customers_{}", f.kind.name()).into(), e));
    }
    Ok(DataFrame::new_infer_height(cols)?)
}

/// `clv_tracking` (issue 32, with `--holdout-from`): Fader, Hardie & Lee's tracking plot as rows.
/// The calibration customers (first purchase before `from`), week by week from the week of the
/// earliest first purchase to as-of: their repeat purchase days in the week (from the full facts'
/// days of activity: days with a purchase order after the customer's first purchase day) and what
/// the calibration fit of the chosen model expected, Σ over customers of E[X(t)] at the week's end
/// minus at its start, E the expected repeat purchases of a customer t days after their first
/// purchase (the model's conditional expectation at x = t_x = T = 0, as in clv_new_customers), t
/// the days from the first purchase day to the week's exclusive end (as lifetimes'
/// `expected_cumulative_transactions` counts it); both also cumulative. Weeks are 7 days from the
/// earliest first purchase day; a week is `holdout` from the one that starts on or after `from`.
fn tracking_table(
    cal: &CustomerFacts,
    full: &CustomerFacts,
    at: &[Option<usize>],
    fit: &PurchaseFit,
    unit: ClvUnit,
    from: NaiveDate,
    as_of: NaiveDate,
) -> Result<DataFrame> {
    let activity = full.activity.as_ref().ok_or_else(|| Error::Internal("clv_tracking without activity facts".into()))?;
    let day = |us: i64| us.div_euclid(86_400_000_000);
    let firsts: Vec<i64> = cal.first_purchase.iter().map(|&us| day(us)).collect();
    let Some(&start) = firsts.iter().min() else {
        return Ok(DataFrame::empty());
    };
    let end = epoch_days(as_of);
    let weeks = ((end - start + 6) / 7).max(0) as usize;
    let mut actual = vec![0i64; weeks];
    for (i, j) in at.iter().enumerate() {
        let Some(j) = *j else { continue };
        for k in activity.of(j) {
            let d = activity.day[k] as i64;
            if activity.purchase_orders[k] > 0 && d > firsts[i] && d < end {
                actual[((d - start) / 7) as usize] += 1;
            }
        }
    }
    // Customers by first purchase day; the new-customer curve at each week's end.
    let mut by_day: std::collections::BTreeMap<i64, f64> = std::collections::BTreeMap::new();
    for &d in &firsts {
        *by_day.entry(d).or_default() += 1.0;
    }
    let curve = |t_days: i64| if t_days <= 0 { 0.0 } else { fit.new_customer_purchases(t_days as f64 / unit.days()) };
    let cumulative_at = |e: i64| -> f64 { by_day.iter().map(|(&d, &n)| n * curve(e - d)).sum() };
    let from_day = epoch_days(from);
    let (mut week, mut week_start, mut period, mut exp, mut cum_a, mut cum_e) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut before, mut total_a) = (0.0, 0i64);
    for w in 0..weeks {
        let (s, e) = (start + 7 * w as i64, (start + 7 * (w as i64 + 1)).min(end));
        let now = cumulative_at(e);
        total_a += actual[w];
        week.push(w as i32 + 1);
        week_start.push(s as i32);
        period.push(if s >= from_day { "holdout" } else { "calibration" });
        exp.push(now - before);
        cum_a.push(total_a);
        cum_e.push(now);
        before = now;
    }
    Ok(DataFrame::new_infer_height(vec![
        Column::new("week".into(), week),
        Column::new("week_start".into(), week_start).cast(&DataType::Date)?,
        Column::new("period".into(), period),
        Column::new("actual_repeat_purchases".into(), actual),
        Column::new("expected_repeat_purchases".into(), exp),
        Column::new("cumulative_actual".into(), cum_a),
        Column::new("cumulative_expected".into(), cum_e),
    ])?)
}

/// For each key of `keys`, its row in `within` (keys are unique on both sides).
fn row_in(keys: &Column, within: &Column) -> Result<Vec<Option<usize>>> {
    let left = DataFrame::new_infer_height(vec![
        keys.clone().with_name("k".into()),
        Column::new("i".into(), (0..keys.len() as u64).collect::<Vec<u64>>()),
    ])?;
    let right = DataFrame::new_infer_height(vec![
        within.clone().with_name("k".into()),
        Column::new("j".into(), (0..within.len() as u64).collect::<Vec<u64>>()),
    ])?;
    let joined = left
        .lazy()
        .join(right.lazy(), [col("k")], [col("k")], JoinArgs::new(JoinType::Left))
        .sort(["i"], SortMultipleOptions::default())
        .collect()?;
    Ok(joined.column("j")?.u64()?.iter().map(|v| v.map(|v| v as usize)).collect())
}

/// Every CLV table of a run: `clv`, `clv_params`, and `clv_holdout` when `calibration` holds the
/// facts as of the holdout date, and the report (the manifest's `clv`).
pub struct ClvTables {
    pub tables: Vec<(String, DataFrame)>,
    pub report: Report,
}

pub fn tables(
    f: &CustomerFacts,
    as_of: NaiveDate,
    calibration: Option<(&CustomerFacts, NaiveDate)>,
    o: Options,
) -> Result<ClvTables> {
    let mut clock = Clock(std::time::Instant::now(), Seconds::default());
    // The holdout check first: under auto its smallest error chooses the purchase model.
    let (holdout_table, tracking_table, holdout_report) = match calibration {
        Some((cal, from)) => {
            let (t, tracking, r) = holdout(cal, f, from, as_of, o)?;
            (Some(t), Some(tracking), Some(r))
        }
        None => (None, None, None),
    };
    clock.1.holdout = clock.lap();
    let s = summary(f, as_of, o.clv.age_to)?;
    let mut m = fit(&s, o.clv.unit, o.clv.model)?;
    if let (ClvModel::Auto, Some(h)) = (o.clv.model, &holdout_report) {
        if let Some(i) = m.fits.iter().position(|x| x.kind == h.best) {
            let mae = h.models.iter().find(|(k, _)| *k == h.best.name()).map(|(_, v)| v.purchases_mae).unwrap_or(f64::NAN);
            m.chosen = i;
            m.why = format!("auto: the smallest holdout error (purchases MAE {mae:.4} per customer) of {} fitted models", h.models.len());
        }
    }
    clock.1.fit = clock.lap();
    let pr = predict(&m, o.clv.horizon_days, o.clv.discount_rate, &o.clv.purchase_windows)?;
    clock.1.predict = clock.lap();
    let iv = if o.clv.customer_intervals {
        let iv = intervals(&s, &m, o);
        if iv.is_none() {
            tracing::warn!("--interval: no per-customer bounds (null): the chosen model's or Gamma-Gamma's Hessian is not positive definite, so there is no distribution to draw its parameters from");
        }
        iv
    } else {
        None
    };
    clock.1.intervals = clock.lap();
    let (clv, order, value) = clv_table(&s, &m, &pr, iv.as_ref(), as_of, o)?;
    let periods = o.clv.clv_months.map(|k| periods_table(&s, &m, &order, &value, k, o)).transpose()?;
    let new_customers = new_customers_table(&m, o)?;
    clock.1.table = clock.lap();
    tracing::info!("CLV: the {} model's predictions ({})", m.purchases().kind.label(), m.why);
    let mut report = report(&m, o, holdout_report);
    report.intervals = iv.as_ref().map(|v| {
        let by_id = id_order(&s);
        IntervalReport {
            level: v.level,
            draws: v.draws,
            seed: o.clv.seed,
            total_purchases: [by_id.iter().map(|&i| pr.expected_purchases[i]).sum(), v.total_purchases.0, v.total_purchases.1],
            total_clv: [by_id.iter().map(|&i| value[i] * pr.discounted_purchases[i]).sum(), v.total_clv.0, v.total_clv.1],
        }
    });
    report.seconds = clock.1;
    let mut tables = vec![
        ("clv".to_string(), clv),
        ("clv_params".to_string(), params_table(&report)?),
    ];
    if let Some(t) = periods {
        tables.push(("clv_periods".to_string(), t));
    }
    tables.push(("clv_new_customers".to_string(), new_customers));
    if let Some(t) = holdout_table {
        tables.push(("clv_holdout".to_string(), t));
    }
    for (name, t) in tracking_table.unwrap_or_default() {
        tables.push((name.to_string(), t));
    }
    Ok(ClvTables { tables, report })
}
