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

use crate::config::ClvUnit;
use crate::error::{Error, Result};
use crate::exprs::{epoch_days, round_money_value};
use crate::facts::{col_names as c, CustomerFacts};
use crate::kernels::{bgnbd, gamma_gamma};

/// A fit needs at least this many customers with a repeat purchase day: with fewer, the four
/// BG/NBD parameters are not identified (and Gamma-Gamma has fewer spend averages than that).
pub const MIN_REPEAT_BUYERS: usize = 10;

/// Days of one CLV discounting step (a month of 30 days).
pub const STEP_DAYS: u32 = 30;

/// What the CLV family reads from the config.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub horizon_days: u32,
    pub discount_rate: f64,
    pub unit: ClvUnit,
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
    /// Mean value of a repeat purchase day (exact sum / x, unrounded); `None` when x = 0.
    pub avg_repeat_value: Vec<Option<f64>>,
    pub last_gap_days: Vec<Option<u32>>,
}

/// The summary of each customer: x = purchase days - 1, t_x = last - first purchase day,
/// T = as_of - first purchase day, average repeat value = the purchase-order amounts of the repeat
/// days / x. Days are UTC calendar days.
pub fn summary(f: &CustomerFacts, as_of: NaiveDate) -> Result<Summary> {
    let days = f.days.as_ref().ok_or_else(|| Error::Internal("CLV without purchase-day facts".into()))?;
    let d = epoch_days(as_of);
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
        s.customer_age_days.push((d - first).max(0) as u32);
        s.recency_days.push((d - last).max(0) as u32);
        s.avg_repeat_value.push((x > 0).then(|| days.repeat_value[i] / x as f64));
    }
    Ok(s)
}

/// Both fitted models.
#[derive(Debug, Clone)]
pub struct Model {
    pub unit: ClvUnit,
    pub bgnbd: bgnbd::Fitted,
    /// Distinct (x, t_x, T) rows the BG/NBD likelihood ran over (in the model's unit), and each
    /// customer's row (the predictions are made once per row).
    pub rows: Vec<bgnbd::Row>,
    pub row_of: Vec<u32>,
    pub customers: usize,
    pub gamma_gamma: gamma_gamma::Fitted,
    /// Customers the Gamma-Gamma model was fitted on (x > 0 and a positive average value), and the
    /// distinct (x, m̄) rows they make.
    pub spend_customers: usize,
    pub spend_rows: usize,
    /// The mean spend per purchase of the population, pγ/(q-1): the expected order value of
    /// customers without repeat purchases.
    pub population_value: f64,
}

/// The per-customer inputs of both models, in the model's unit: collapsed BG/NBD rows and each
/// customer's row index.
fn bgnbd_rows(s: &Summary, unit: ClvUnit) -> (Vec<bgnbd::Row>, Vec<u32>) {
    let u = unit.days();
    let tx: Vec<f64> = s.repeat_span_days.iter().map(|&v| v as f64 / u).collect();
    let t: Vec<f64> = s.customer_age_days.iter().map(|&v| v as f64 / u).collect();
    bgnbd::collapse(&s.repeat_purchases, &tx, &t)
}

/// Fit BG/NBD on every customer and Gamma-Gamma on the customers with repeat purchase days. A
/// [`Error::Fit`] (exit 4) when fewer than [`MIN_REPEAT_BUYERS`] customers have a repeat day, when
/// no start point gives a finite likelihood, or when Gamma-Gamma's q <= 1 (no finite mean spend).
pub fn fit(s: &Summary, unit: ClvUnit) -> Result<Model> {
    let repeat = s.repeat_purchases.iter().filter(|&&x| x > 0).count();
    if repeat < MIN_REPEAT_BUYERS {
        let why = if repeat == 0 {
            format!("none of the {} customers has a second purchase day (all bought on one day only)", s.repeat_purchases.len())
        } else {
            format!("only {repeat} of {} customers have a second purchase day", s.repeat_purchases.len())
        };
        return Err(Error::Fit {
            model: "BG/NBD",
            reason: format!("{why}; a fit needs at least {MIN_REPEAT_BUYERS} repeat buyers (a longer history helps)"),
        });
    }
    // The two models are independent: fitted side by side (each also spreads its sums over the
    // threads; the results do not depend on the schedule).
    let (bg_side, gg_side) = rayon::join(
        || {
            let (rows, row_of) = bgnbd_rows(s, unit);
            let bg = bgnbd::fit(&rows);
            (rows, row_of, bg)
        },
        || {
            let spend = gamma_gamma::collapse(
                s.repeat_purchases
                    .iter()
                    .zip(&s.avg_repeat_value)
                    .filter_map(|(&x, m)| m.filter(|&m| x > 0 && m > 0.0).map(|m| (x, m))),
            );
            let customers: usize = spend.iter().map(|r| r.weight as usize).sum();
            let gg = (customers >= MIN_REPEAT_BUYERS).then(|| gamma_gamma::fit(&spend));
            (spend.len(), customers, gg)
        },
    );
    let (rows, row_of, bg) = bg_side;
    let bg = bg.ok_or_else(|| Error::Fit {
        model: "BG/NBD",
        reason: "no start point gives a finite likelihood on this data".into(),
    })?;
    let (spend_rows, spend_customers, gg) = gg_side;
    let gg = gg
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
    for (model, names, converged) in [("BG/NBD", &bg.at_bound, bg.converged), ("Gamma-Gamma", &gg.at_bound, gg.converged)] {
        if !names.is_empty() {
            tracing::warn!("{model}: parameter(s) {} ended on the optimiser's bound (e^±30): the data do not pin them down", names.join(", "));
        } else if !converged {
            tracing::warn!("{model}: the optimiser stopped before its tolerance (converged = 0 in clv_params): the likelihood is flat along some direction, often a model without heterogeneity (q and gamma growing together)");
        }
    }
    Ok(Model {
        unit,
        rows,
        row_of,
        customers: s.repeat_purchases.len(),
        population_value: gamma_gamma::expected_value(p, 0, 0.0),
        bgnbd: bg,
        gamma_gamma: gg,
        spend_customers,
        spend_rows,
    })
}

/// The discounted expected purchases over `horizon_days`: the horizon in steps of [`STEP_DAYS`]
/// (the last one shorter when the horizon is not a multiple), each step's expected purchases
/// E(t_k) - E(t_k-1) divided by (1 + annual rate)^(t_k / 365), t_k the step's end in days.
/// Returns (discounted purchases, E(horizon)): the last step's E is the undiscounted total.
pub fn discounted_purchases(p: bgnbd::Params, unit: ClvUnit, row: &bgnbd::Row, horizon_days: u32, rate: f64) -> (f64, f64) {
    let at = |days: u32| -> f64 { days as f64 / unit.days() };
    if rate == 0.0 || (p.a - 1.0).abs() < 1e-6 {
        // No discounting, or a = 1 (equation 10's limit, taken by expected_purchases): step by step.
        let e = |days: u32| bgnbd::expected_purchases(p, row.x, row.t_x, row.t, at(days));
        return discount_steps(horizon_days, rate, e);
    }
    let alive = bgnbd::p_alive(p, row.x, row.t_x, row.t);
    discount_steps(horizon_days, rate, |days| bgnbd::expected_while_alive(p, row.x, row.t, at(days)) * alive)
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
        total += (now - before) / (1.0 + rate).powf(end as f64 / 365.0);
        before = now;
    }
    (total, before)
}

/// Per customer (facts' order): p_alive, expected purchases over the horizon and the discounted
/// ones, computed once per distinct (x, t_x, T).
pub struct Predictions {
    pub p_alive: Vec<f64>,
    pub expected_purchases: Vec<f64>,
    pub discounted_purchases: Vec<f64>,
}

pub fn predict(m: &Model, horizon_days: u32, rate: f64) -> Result<Predictions> {
    let (rows, index) = (&m.rows, &m.row_of);
    let p = m.bgnbd.params;
    let per_row: Vec<(f64, f64, f64)> = rows
        .par_iter()
        .map(|r| {
            let (discounted, expected) = discounted_purchases(p, m.unit, r, horizon_days, rate);
            (bgnbd::p_alive(p, r.x, r.t_x, r.t), expected, discounted)
        })
        .collect();
    if let Some((r, _)) = rows.iter().zip(&per_row).find(|(_, v)| !(v.0.is_finite() && v.1.is_finite() && v.2.is_finite())) {
        return Err(Error::Fit {
            model: "BG/NBD",
            reason: format!(
                "predictions are not finite for x = {}, t_x = {}, T = {} at r = {}, alpha = {}, a = {}, b = {}",
                r.x, r.t_x, r.t, p.r, p.alpha, p.a, p.b
            ),
        });
    }
    let pick = |k: usize| -> Vec<f64> {
        index
            .iter()
            .map(|&i| {
                let v = per_row[i as usize];
                [v.0, v.1, v.2][k]
            })
            .collect()
    };
    Ok(Predictions { p_alive: pick(0), expected_purchases: pick(1), discounted_purchases: pick(2) })
}

/// Days since the last purchase over the customer's mean gap between purchase days
/// (repeat_span_days / repeat_purchases); `None` without a repeat purchase day. 1 = due now.
pub fn overdue_ratio(recency_days: u32, span_days: u32, x: u32) -> Option<f64> {
    (x > 0 && span_days > 0).then(|| recency_days as f64 / (span_days as f64 / x as f64))
}

/// Column order of `clv`.
pub const CLV_COLUMNS: [&str; 14] = [
    "customer_id",
    "repeat_purchases",
    "repeat_span_days",
    "customer_age_days",
    "avg_repeat_order_value",
    "p_alive",
    "expected_purchases",
    "expected_order_value",
    "clv",
    "clv_decile",
    "recency_days",
    "last_gap_days",
    "overdue_ratio",
    "horizon_days",
];

/// The `clv` table: one row per customer, by clv descending, then customer_id ascending; the clv
/// decile is 1 + floor(10 p / N) over that order (1 = the tenth with the highest CLV).
pub fn clv_table(s: &Summary, m: &Model, pr: &Predictions, o: Options) -> Result<DataFrame> {
    let d = o.money_decimals;
    let gg = m.gamma_gamma.params;
    let n = s.repeat_purchases.len();
    let mut value = Vec::with_capacity(n);
    let mut clv = Vec::with_capacity(n);
    for i in 0..n {
        let x = s.repeat_purchases[i];
        // Customers without repeat days, or whose average is not positive, get the population mean.
        let ev = match s.avg_repeat_value[i] {
            Some(mv) if x > 0 && mv > 0.0 => gamma_gamma::expected_value(gg, x, mv),
            _ => m.population_value,
        };
        value.push(ev);
        clv.push(round_money_value(ev * pr.discounted_purchases[i], d) + 0.0);
    }
    let overdue: Vec<Option<f64>> =
        (0..n).map(|i| overdue_ratio(s.recency_days[i], s.repeat_span_days[i], s.repeat_purchases[i])).collect();
    let u32s = |v: &[u32], name: &str| Column::new(name.into(), v.iter().map(|&x| x as i64).collect::<Vec<i64>>());
    let df = DataFrame::new_infer_height(vec![
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
        Column::new("expected_order_value".into(), value.iter().map(|v| round_money_value(*v, d) + 0.0).collect::<Vec<f64>>()),
        Column::new("clv".into(), clv),
        u32s(&s.recency_days, "recency_days"),
        Column::new(
            "last_gap_days".into(),
            s.last_gap_days.iter().map(|v| v.map(|v| v as i64)).collect::<Vec<Option<i64>>>(),
        ),
        Column::new("overdue_ratio".into(), overdue),
        Column::new("horizon_days".into(), vec![o.horizon_days as i64; n]),
        Column::new("_row".into(), (0..n as IdxSize).collect::<Vec<IdxSize>>()),
    ])?;
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
    let mut sorted = df.drop("_row")?.take(&IdxCa::from_vec("idx".into(), order))?;
    let decile: Vec<i32> = (0..n).map(|p| (1 + 10 * p / n.max(1)) as i32).collect();
    sorted.with_column(Column::new("clv_decile".into(), decile))?;
    Ok(sorted.select(CLV_COLUMNS)?)
}

/// One row of `clv_params`.
#[derive(Debug, Clone, Serialize)]
pub struct Param {
    pub model: &'static str,
    pub parameter: &'static str,
    pub value: f64,
}

/// The fit's report (manifest `clv` and the `clv_params` rows).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub time_unit: &'static str,
    pub horizon_days: u32,
    pub discount_rate: f64,
    pub bgnbd: ModelReport,
    pub gamma_gamma: ModelReport,
    pub population_order_value: f64,
    pub holdout: Option<HoldoutReport>,
    /// Where the CLV stage's time went.
    pub seconds: Seconds,
}

/// Seconds of the CLV stage's parts: the summary and both fits (rows collapsed, likelihoods
/// maximised), the predictions (P(alive), expected purchases, discounted purchases), the `clv`
/// table (values, order, deciles), and the holdout check (its fit and table).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Seconds {
    pub fit: f64,
    pub predict: f64,
    pub table: f64,
    pub holdout: f64,
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
    pub log_likelihood: f64,
    pub iterations: u64,
    pub evaluations: u64,
    pub converged: bool,
    pub at_bound: Vec<&'static str>,
    pub start_points_tried: usize,
    pub customers: usize,
    /// Distinct rows the likelihood ran over (identical rows collapsed into weights).
    pub distinct_rows: usize,
}

/// The report of a fit.
pub fn report(m: &Model, o: Options, holdout: Option<HoldoutReport>) -> Report {
    let b = &m.bgnbd;
    let g = &m.gamma_gamma;
    let gg_rows = m.spend_customers;
    Report {
        time_unit: m.unit.name(),
        horizon_days: o.horizon_days,
        discount_rate: o.discount_rate,
        bgnbd: ModelReport {
            params: [("r", b.params.r), ("alpha", b.params.alpha), ("a", b.params.a), ("b", b.params.b)].into_iter().collect(),
            log_likelihood: b.log_likelihood,
            iterations: b.iterations,
            evaluations: b.evaluations,
            converged: b.converged,
            at_bound: b.at_bound.clone(),
            start_points_tried: b.starts,
            customers: m.customers,
            distinct_rows: m.rows.len(),
        },
        gamma_gamma: ModelReport {
            params: [("p", g.params.p), ("q", g.params.q), ("gamma", g.params.gamma)].into_iter().collect(),
            log_likelihood: g.log_likelihood,
            iterations: g.iterations,
            evaluations: g.evaluations,
            converged: g.converged,
            at_bound: g.at_bound.clone(),
            start_points_tried: g.starts,
            customers: gg_rows,
            distinct_rows: m.spend_rows,
        },
        population_order_value: m.population_value,
        holdout,
        seconds: Seconds::default(),
    }
}

/// `clv_params`: one row per (model, parameter): the fitted parameters, log-likelihood,
/// iterations, convergence (1/0), customers, and the horizon, rate and unit; the holdout's totals
/// and errors when there is one.
pub fn params_table(r: &Report) -> Result<DataFrame> {
    let mut rows: Vec<(&str, &str, f64)> = Vec::new();
    for (model, m) in [("bgnbd", &r.bgnbd), ("gamma_gamma", &r.gamma_gamma)] {
        let order: &[&str] = if model == "bgnbd" { &["r", "alpha", "a", "b"] } else { &["p", "q", "gamma"] };
        for k in order {
            rows.push((model, k, m.params[k]));
        }
        rows.push((model, "log_likelihood", m.log_likelihood));
        rows.push((model, "iterations", m.iterations as f64));
        rows.push((model, "converged", if m.converged { 1.0 } else { 0.0 }));
        rows.push((model, "parameters_at_bound", m.at_bound.len() as f64));
        rows.push((model, "customers", m.customers as f64));
    }
    rows.push(("gamma_gamma", "population_order_value", r.population_order_value));
    rows.push(("clv", "horizon_days", r.horizon_days as f64));
    rows.push(("clv", "discount_rate", r.discount_rate));
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
            rows.push(("holdout", k, v));
        }
    }
    let n = rows.len();
    Ok(DataFrame::new_infer_height(vec![
        Column::new("model".into(), rows.iter().map(|r| r.0).collect::<Vec<&str>>()),
        Column::new("parameter".into(), rows.iter().map(|r| r.1).collect::<Vec<&str>>()),
        // A percentage error of a zero actual total has no value: null, not NaN.
        Column::new("value".into(), rows.iter().map(|r| Some(r.2).filter(|v| v.is_finite())).collect::<Vec<Option<f64>>>()),
        Column::new("time_unit".into(), vec![r.time_unit; n]),
    ])?)
}

/// The holdout check's totals and errors.
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
}

/// `clv_holdout`: the models fitted on the calibration facts (as_of = `from`) predict each
/// calibration customer's repeat purchase days and spend in [from, as_of); the full facts say what
/// happened. Actual purchases = purchase days in the whole window minus those before `from`;
/// actual spend = the same difference of the repeat-day values.
pub fn holdout(
    cal: &CustomerFacts,
    full: &CustomerFacts,
    from: NaiveDate,
    as_of: NaiveDate,
    o: Options,
) -> Result<(DataFrame, HoldoutReport)> {
    let d = o.money_decimals;
    let s = summary(cal, from)?;
    let m = fit(&s, o.unit).map_err(|e| match e {
        Error::Fit { model, reason } => Error::Fit {
            model,
            reason: format!("the holdout check's fit on the lines before {from} (--holdout-from): {reason}; a later date gives it more history"),
        },
        e => e,
    })?;
    let days = (epoch_days(as_of) - epoch_days(from)).max(0) as u32;
    // No discounting: the check compares counts.
    let pr = predict(&m, days, 0.0)?;
    let fd = full.days.as_ref().ok_or_else(|| Error::Internal("holdout without purchase-day facts".into()))?;
    let cd = cal.days.as_ref().ok_or_else(|| Error::Internal("holdout without purchase-day facts".into()))?;
    let at = row_in(&cal.customer_id, &full.customer_id)?;
    let gg = m.gamma_gamma.params;
    let n = s.repeat_purchases.len();
    let (mut actual_n, mut actual_v, mut pred_v) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    for (i, j) in at.iter().enumerate() {
        let (cnt, val) = match *j {
            Some(j) => (fd.count[j].saturating_sub(cd.count[i]), fd.repeat_value[j] - cd.repeat_value[i]),
            None => (0, 0.0),
        };
        actual_n.push(cnt as i64);
        actual_v.push(round_money_value(val, d) + 0.0);
        let ev = match s.avg_repeat_value[i] {
            Some(mv) if s.repeat_purchases[i] > 0 && mv > 0.0 => gamma_gamma::expected_value(gg, s.repeat_purchases[i], mv),
            _ => m.population_value,
        };
        pred_v.push(round_money_value(ev * pr.expected_purchases[i], d) + 0.0);
    }
    let df = DataFrame::new_infer_height(vec![
        s.customer_id.clone().with_name(c::CUSTOMER.into()),
        Column::new("repeat_purchases".into(), s.repeat_purchases.iter().map(|&x| x as i64).collect::<Vec<i64>>()),
        Column::new("predicted_purchases".into(), &pr.expected_purchases),
        Column::new("actual_purchases".into(), actual_n),
        Column::new("predicted_value".into(), pred_v),
        Column::new("actual_value".into(), actual_v),
    ])?
    .sort([c::CUSTOMER], SortMultipleOptions::default())?;
    // Totals and errors in customer order, so they do not depend on the order of the facts.
    let f = |name: &str| -> Result<Vec<f64>> {
        Ok(df.column(name)?.cast(&DataType::Float64)?.f64()?.into_no_null_iter().collect())
    };
    let (pn, an, pv, av) = (f("predicted_purchases")?, f("actual_purchases")?, f("predicted_value")?, f("actual_value")?);
    let sum = |v: &[f64]| v.iter().fold(0.0, |a, b| a + b);
    let mae = |p: &[f64], a: &[f64]| p.iter().zip(a).fold(0.0, |t, (p, a)| t + (p - a).abs()) / n as f64;
    let (total_pred, total_actual) = (sum(&pn), sum(&an) as i64);
    let purchases_mae = mae(&pn, &an);
    let total_pred_v = round_money_value(sum(&pv), d);
    let total_actual_v = round_money_value(sum(&av), d);
    let value_mae = mae(&pv, &av);
    let pct = |p: f64, a: f64| (a != 0.0).then(|| (p - a) / a * 100.0);
    let rep = HoldoutReport {
        holdout_from: from.to_string(),
        holdout_days: days,
        customers: n,
        predicted_purchases: total_pred,
        actual_purchases: total_actual as u64,
        purchases_pct_error: pct(total_pred, total_actual as f64),
        purchases_mae,
        predicted_value: total_pred_v,
        actual_value: total_actual_v,
        value_pct_error: pct(total_pred_v, total_actual_v),
        value_mae,
    };
    Ok((df, rep))
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
/// facts as of the holdout date. Returns the tables, the report, and per customer (facts' order)
/// `(p_alive, clv)` for the customers table.
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
    let s = summary(f, as_of)?;
    let m = fit(&s, o.unit)?;
    clock.1.fit = clock.lap();
    let pr = predict(&m, o.horizon_days, o.discount_rate)?;
    clock.1.predict = clock.lap();
    let clv = clv_table(&s, &m, &pr, o)?;
    clock.1.table = clock.lap();
    let (holdout_table, holdout_report) = match calibration {
        Some((cal, from)) => {
            let (t, r) = holdout(cal, f, from, as_of, o)?;
            (Some(t), Some(r))
        }
        None => (None, None),
    };
    clock.1.holdout = clock.lap();
    let mut report = report(&m, o, holdout_report);
    report.seconds = clock.1;
    let mut tables = vec![("clv".to_string(), clv), ("clv_params".to_string(), params_table(&report)?)];
    if let Some(t) = holdout_table {
        tables.push(("clv_holdout".to_string(), t));
    }
    Ok(ClvTables { tables, report })
}
