//! The activity family (issue 14): `cohorts` and `kpis`, from each customer's days of activity
//! ([`CustomerActivity`]) and the day totals ([`DayTotals`]), so every engine gives the same rows.
//!
//! Days: an order's day is the UTC date of its timestamp (its earliest line's); its "days ago" is
//! as-of minus that date (bought the day before as-of: 1). Money sums are exact, then rounded to
//! the money decimals; ratios come from the rounded sums.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use polars::prelude::*;

use crate::config::CohortPeriod;
use crate::error::{Error, Result};
use crate::exprs::{epoch_days, money_average, round_money_value};
use crate::facts::{CustomerActivity, CustomerFacts, DayTotals};
use crate::kernels::money::{self, Exact};

/// What the family reads from the config.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    pub cohort_period: CohortPeriod,
    pub kpi_window_days: u32,
    pub lapse_thresholds: &'a [u32],
    pub money_decimals: u32,
}

/// cohorts and kpis.
pub fn tables(f: &CustomerFacts, days: &DayTotals, as_of: NaiveDate, o: Options) -> Result<Vec<(String, DataFrame)>> {
    let a = f.activity.as_ref().ok_or_else(|| Error::Internal("cohorts and kpis need activity facts".into()))?;
    Ok(vec![
        ("cohorts".to_string(), cohorts(a, as_of, o.cohort_period, o.money_decimals)?),
        ("kpis".to_string(), kpis(f, a, days, as_of, o)?),
    ])
}

fn money(v: Exact, decimals: u32) -> f64 {
    round_money_value(money::to_f64(v), decimals) + 0.0
}

/// The proleptic Gregorian (year, month 1..=12) of a day (days since 1970-01-01), in integer
/// arithmetic valid for every day a timestamp can hold (H. Hinnant's `civil_from_days`).
fn year_month(day: i64) -> (i64, i64) {
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month)
}

/// Days since 1970-01-01 of the 1st of a month (`days_from_civil`).
fn first_of_month(year: i64, month: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Rule "period": the index of the period holding a day (days since 1970-01-01): months since
/// January 1970, or ISO weeks (Monday to Sunday) since the week of 1970-01-01, a Thursday.
pub fn period_index(day: i64, period: CohortPeriod) -> i64 {
    match period {
        CohortPeriod::Month => {
            let (y, m) = year_month(day);
            (y - 1970) * 12 + m - 1
        }
        CohortPeriod::Week => (day + 3).div_euclid(7),
    }
}

/// The first day (days since 1970-01-01) of the period with index `p`.
pub fn period_start(p: i64, period: CohortPeriod) -> i64 {
    match period {
        CohortPeriod::Month => first_of_month(1970 + p.div_euclid(12), p.rem_euclid(12) + 1),
        CohortPeriod::Week => p * 7 - 3,
    }
}

fn date_column(name: &str, days: Vec<i32>) -> Result<Column> {
    Ok(Column::new(name.into(), days).cast(&DataType::Date)?)
}

/// `cohorts`: a customer's cohort is the period of their first purchase order; per cohort and
/// period index 0 ..= the index of the period holding as-of minus one day, the cohort's customers,
/// those with a purchase order in the period (active), retention = active / cohort customers, and
/// the cohort customers' amount over their kept orders dated in the period (returns included).
/// Orders dated before a customer's cohort (a return before the first purchase) are in no row.
pub fn cohorts(a: &CustomerActivity, as_of: NaiveDate, period: CohortPeriod, money_decimals: u32) -> Result<DataFrame> {
    let last = period_index(epoch_days(as_of) - 1, period);
    let mut size: BTreeMap<i64, u64> = BTreeMap::new();
    let mut cells: BTreeMap<(i64, i64), (u64, Exact)> = BTreeMap::new();
    for i in 0..a.offsets.len().saturating_sub(1) {
        let rows = a.of(i);
        let Some(first) = rows.clone().find(|&k| a.purchase_orders[k] > 0) else { continue };
        let cohort = period_index(i64::from(a.day[first]), period);
        *size.entry(cohort).or_default() += 1;
        // Rows are in day order, so a period's rows are consecutive.
        let mut k = rows.start;
        while k < rows.end {
            let p = period_index(i64::from(a.day[k]), period);
            let (mut bought, mut amount) = (false, 0 as Exact);
            while k < rows.end && period_index(i64::from(a.day[k]), period) == p {
                bought |= a.purchase_orders[k] > 0;
                amount = amount.wrapping_add(a.amount[k]);
                k += 1;
            }
            if p >= cohort {
                let cell = cells.entry((cohort, p - cohort)).or_default();
                cell.0 += u64::from(bought);
                cell.1 = cell.1.wrapping_add(amount);
            }
        }
    }
    let (mut cohort_col, mut index, mut start) = (Vec::new(), Vec::new(), Vec::new());
    let (mut customers, mut active, mut retention, mut revenue, mut per_customer) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (&cohort, &n) in &size {
        for k in 0..=(last - cohort).max(0) {
            let (act, amount) = cells.get(&(cohort, k)).copied().unwrap_or((0, 0));
            let rev = money(amount, money_decimals);
            cohort_col.push(period_start(cohort, period) as i32);
            index.push(k as i32);
            start.push(period_start(cohort + k, period) as i32);
            customers.push(n as i64);
            active.push(act as i64);
            retention.push(act as f64 / n as f64);
            revenue.push(rev);
            per_customer.push(rev / n as f64 + 0.0);
        }
    }
    Ok(DataFrame::new_infer_height(vec![
        date_column("cohort", cohort_col)?,
        Column::new("period_index".into(), index),
        date_column("period_start", start)?,
        Column::new("cohort_customers".into(), customers),
        Column::new("active_customers".into(), active),
        Column::new("retention".into(), retention),
        Column::new("revenue".into(), revenue),
        Column::new("revenue_per_customer".into(), per_customer),
    ])?)
}

/// Sums of the day totals over the days with `day >= from`.
struct Totals {
    net: Exact,
    guest: Exact,
    returns: Exact,
    purchase_orders: u64,
}

fn totals(days: &DayTotals, from: i64) -> Totals {
    let mut t = Totals { net: 0, guest: 0, returns: 0, purchase_orders: 0 };
    for k in (0..days.day.len()).filter(|&k| i64::from(days.day[k]) >= from) {
        t.net = t.net.wrapping_add(days.net[k]);
        t.guest = t.guest.wrapping_add(days.guest[k]);
        t.returns = t.returns.wrapping_add(days.returns[k]);
        t.purchase_orders += u64::from(days.purchase_orders[k]);
    }
    t
}

/// `kpis`: one row for the as-of date; see docs/trends.md ("kpis") for every column's rule.
pub fn kpis(f: &CustomerFacts, a: &CustomerActivity, days: &DayTotals, as_of: NaiveDate, o: Options) -> Result<DataFrame> {
    let d = o.money_decimals;
    let today = epoch_days(as_of);
    let w = i64::from(o.kpi_window_days);
    let from = today - w;
    let max_lapse = i64::from(*o.lapse_thresholds.last().unwrap_or(&0));
    let n = f.len() as u64;
    let repeat = f.frequency.iter().filter(|&&x| x >= 2).count() as u64;
    let recency: Vec<i64> = f.last_purchase.iter().map(|&t| today - t.div_euclid(86_400_000_000)).collect();
    let (mut active, mut new, mut reactivated, mut repeat_in) = (0u64, 0u64, 0u64, 0u64);
    let (mut customer_total, mut customer_window): (Exact, Exact) = (0, 0);
    for i in 0..f.len() {
        let rows = a.of(i);
        let mut first_purchase = None;
        let mut last_before = None;
        let mut first_in = None;
        let mut orders_in = 0u64;
        for k in rows {
            let day = i64::from(a.day[k]);
            customer_total = customer_total.wrapping_add(a.amount[k]);
            if day >= from {
                customer_window = customer_window.wrapping_add(a.amount[k]);
            }
            if a.purchase_orders[k] == 0 {
                continue;
            }
            first_purchase.get_or_insert(day);
            if day < from {
                last_before = Some(day);
            } else {
                first_in.get_or_insert(day);
                orders_in += u64::from(a.purchase_orders[k]);
            }
        }
        let is_new = first_purchase.is_some_and(|fp| fp >= from);
        if let Some(fi) = first_in {
            active += 1;
            repeat_in += u64::from(orders_in >= 2);
            new += u64::from(is_new);
            if !is_new && last_before.is_some_and(|lb| fi - lb > max_lapse) {
                reactivated += 1;
            }
        }
    }
    let all = totals(days, i64::MIN);
    let win = totals(days, from);
    let ratio = |x: f64, n: u64| if n == 0 { 0.0 } else { x / n as f64 + 0.0 };
    // Money per order or per customer, rounded like money (issue 15).
    let money_ratio = |x: f64, n: u64| money_average(x, n, d);
    let (revenue, window_revenue) = (money(all.net, d), money(win.net, d));
    let mut cols = vec![
        date_column("as_of", vec![today as i32])?,
        Column::new("window_days".into(), [w as i32]),
        Column::new("customers".into(), [n as i64]),
        Column::new("repeat_rate".into(), [ratio(repeat as f64, n)]),
    ];
    for &t in o.lapse_thresholds {
        let lapsed = recency.iter().filter(|&&r| r > i64::from(t)).count() as i64;
        cols.push(Column::new(format!("lapsed_{t}").into(), [lapsed]));
    }
    cols.extend([
        Column::new("revenue".into(), [revenue]),
        Column::new("orders".into(), [all.purchase_orders as i64]),
        Column::new("avg_order_value".into(), [money_ratio(revenue, all.purchase_orders)]),
        Column::new("revenue_per_customer".into(), [money_ratio(money(customer_total, d), n)]),
        Column::new("guest_revenue".into(), [money(all.guest, d)]),
        Column::new("returns".into(), [money(all.returns.wrapping_neg(), d)]),
        Column::new("window_active".into(), [active as i64]),
        Column::new("window_new".into(), [new as i64]),
        Column::new("window_returning".into(), [(active - new) as i64]),
        Column::new("window_reactivated".into(), [reactivated as i64]),
        Column::new("window_repeat_rate".into(), [ratio(repeat_in as f64, active)]),
        Column::new("window_revenue".into(), [window_revenue]),
        Column::new("window_orders".into(), [win.purchase_orders as i64]),
        Column::new("window_avg_order_value".into(), [money_ratio(window_revenue, win.purchase_orders)]),
        Column::new("window_revenue_per_customer".into(), [money_ratio(money(customer_window, d), active)]),
        Column::new("window_guest_revenue".into(), [money(win.guest, d)]),
        Column::new("window_returns".into(), [money(win.returns.wrapping_neg(), d)]),
    ]);
    Ok(DataFrame::new_infer_height(cols)?)
}
