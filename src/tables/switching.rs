//! The switching family (issue 34): `gain_loss`, `cross_shop` and `revenue_tree`, from the
//! customers' orders and money by window and product group ([`GroupFacts`]). The definitions are
//! openretailscience's (`GainLoss`, `CrossShop`, `RevenueTree`), on evergreen's lines: a
//! customer's lines of kept orders (guest lines not), returns included, an order in the period of
//! its day. docs/switching.md has every column.

use polars::prelude::*;

use crate::config::{LineGroup, Period};
use crate::error::Result;
use crate::facts::GroupFacts;
use crate::kernels::money::{self, Exact};

/// What the family reads from the config.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    pub groups: &'a [LineGroup],
    pub periods: Option<(Period, Period)>,
    pub money_decimals: u32,
}

/// The family's tables: gain_loss (a group and two periods), cross_shop (two or three groups),
/// revenue_tree (two periods).
pub fn tables(f: &GroupFacts, o: Options) -> Result<Vec<(String, DataFrame)>> {
    let mut out = Vec::new();
    if let (Some(periods), false) = (o.periods, o.groups.is_empty()) {
        out.push(("gain_loss".to_string(), gain_loss(f, o.groups, periods, o.money_decimals)?));
    }
    if o.groups.len() >= 2 {
        out.push(("cross_shop".to_string(), cross_shop(f, o.groups, o.money_decimals)?));
    }
    if let Some(periods) = o.periods {
        out.push(("revenue_tree".to_string(), revenue_tree(f, o.groups, periods, o.money_decimals)?));
    }
    Ok(out)
}

/// The rows of each customer: `(start, end)` ranges of the facts' rows (sorted by customer).
fn customers(f: &GroupFacts) -> Result<Vec<(usize, usize)>> {
    let n = f.window.len();
    let mut out = Vec::new();
    if n == 0 {
        return Ok(out);
    }
    // A new customer starts where the id differs from the row before.
    let ids = f.customer_id.as_materialized_series();
    let shifted = ids.shift(1);
    let same = ids.equal_missing(&shifted)?;
    let mut start = 0;
    for (i, s) in same.iter().enumerate().skip(1) {
        if s != Some(true) {
            out.push((start, i));
            start = i;
        }
    }
    out.push((start, n));
    Ok(out)
}

/// A customer's amount in a window and group (0 without a row).
fn amount_in(f: &GroupFacts, rows: (usize, usize), window: u8, group: u8) -> Exact {
    (rows.0..rows.1).find(|&r| f.window[r] == window && f.group[r] == group).map_or(0, |r| f.amount[r])
}

/// Rule "money in minor units" (gain_loss): an exact sum rounded to the money decimals, halves away from zero,
/// as an integer count of the smallest unit (cents), so parts add up exactly.
fn minor(v: Exact, decimals: u32) -> i128 {
    (money::to_f64(v) * 10f64.powi(decimals as i32)).round() as i128
}

fn from_minor(v: i128, decimals: u32) -> f64 {
    v as f64 / 10f64.powi(decimals as i32) + 0.0
}

fn period_text(p: Period) -> String {
    format!("{}..{}", p.from, p.to)
}

/// Rule "gain-loss split" (openretailscience's `GainLoss.process_customer_group`): one customer's
/// change in the focus group, `focus_b - focus_a`, split into new, lost, increased, decreased,
/// switched from and switched to the comparison group; the six parts add up to the change.
///
/// - No spend in either group in period A: all of period B's focus spend is new.
/// - None in period B: all of period A's focus spend is lost.
/// - Focus up: increased by as much as the comparison also went up (or the whole change when it
///   did), the rest switched from the comparison (at most what it lost).
/// - Focus down or flat: when the comparison went down too, the change is decreased; otherwise
///   switched to the comparison (at most what it gained), the rest decreased.
pub fn gain_loss_split(focus_a: i128, focus_b: i128, comparison_a: i128, comparison_b: i128) -> [i128; 6] {
    if focus_a == 0 && comparison_a == 0 {
        return [focus_b, 0, 0, 0, 0, 0];
    }
    if focus_b == 0 && comparison_b == 0 {
        return [0, -focus_a, 0, 0, 0, 0];
    }
    let (fd, cd) = (focus_b - focus_a, comparison_b - comparison_a);
    let inc_dec = if fd > 0 {
        if cd > 0 {
            fd
        } else {
            (cd + fd).max(0)
        }
    } else if cd < 0 {
        fd
    } else {
        (cd + fd).min(0)
    };
    let transfer = fd - inc_dec;
    [0, 0, inc_dec.max(0), inc_dec.min(0), transfer.max(0), transfer.min(0)]
}

/// gain_loss: the focus group (the first `--group`) against each other group, then against every
/// line outside it (comparison_group null); one row each.
pub fn gain_loss(f: &GroupFacts, groups: &[LineGroup], periods: (Period, Period), decimals: u32) -> Result<DataFrame> {
    let per_customer = customers(f)?;
    let (a, b) = (GroupFacts::PERIOD_A, GroupFacts::PERIOD_B);
    let comparisons: Vec<Option<u8>> = (2..=groups.len() as u8).map(Some).chain([None]).collect();
    let n = comparisons.len();
    let mut name = Vec::with_capacity(n);
    let (mut fa_col, mut fb_col, mut change) = (Vec::new(), Vec::new(), Vec::new());
    let mut parts: [Vec<f64>; 6] = Default::default();
    let mut counts: [Vec<i64>; 6] = Default::default();
    for comparison in &comparisons {
        let (mut fa_t, mut fb_t) = (0i128, 0i128);
        let mut sums = [0i128; 6];
        let mut who = [0i64; 6];
        for &rows in &per_customer {
            let focus_a = amount_in(f, rows, a, 1);
            let focus_b = amount_in(f, rows, b, 1);
            let (comp_a, comp_b) = match comparison {
                Some(g) => (amount_in(f, rows, a, *g), amount_in(f, rows, b, *g)),
                None => (
                    amount_in(f, rows, a, GroupFacts::EVERY_LINE).wrapping_sub(focus_a),
                    amount_in(f, rows, b, GroupFacts::EVERY_LINE).wrapping_sub(focus_b),
                ),
            };
            let (fa, fb) = (minor(focus_a, decimals), minor(focus_b, decimals));
            let split = gain_loss_split(fa, fb, minor(comp_a, decimals), minor(comp_b, decimals));
            fa_t += fa;
            fb_t += fb;
            for k in 0..6 {
                sums[k] += split[k];
                who[k] += i64::from(split[k] != 0);
            }
        }
        name.push(comparison.map(|g| groups[g as usize - 1].name.clone()));
        fa_col.push(from_minor(fa_t, decimals));
        fb_col.push(from_minor(fb_t, decimals));
        change.push(from_minor(fb_t - fa_t, decimals));
        for k in 0..6 {
            parts[k].push(from_minor(sums[k], decimals));
            counts[k].push(who[k]);
        }
    }
    let [new, lost, inc, dec, from, to] = parts;
    let [c_new, c_lost, c_inc, c_dec, c_from, c_to] = counts;
    Ok(DataFrame::new_infer_height(vec![
        Column::new("focus_group".into(), vec![groups[0].name.clone(); n]),
        Column::new("comparison_group".into(), name),
        Column::new("comparison_order".into(), (1..=n as i64).collect::<Vec<i64>>()),
        Column::new("period_a".into(), vec![period_text(periods.0); n]),
        Column::new("period_b".into(), vec![period_text(periods.1); n]),
        Column::new("focus_a".into(), fa_col),
        Column::new("focus_b".into(), fb_col),
        Column::new("focus_change".into(), change),
        Column::new("new".into(), new),
        Column::new("lost".into(), lost),
        Column::new("increased".into(), inc),
        Column::new("decreased".into(), dec),
        Column::new("switched_from_comparison".into(), from),
        Column::new("switched_to_comparison".into(), to),
        Column::new("new_customers".into(), c_new),
        Column::new("lost_customers".into(), c_lost),
        Column::new("increased_customers".into(), c_inc),
        Column::new("decreased_customers".into(), c_dec),
        Column::new("switched_from_customers".into(), c_from),
        Column::new("switched_to_customers".into(), c_to),
    ])?)
}

/// cross_shop: the customers by the groups they bought in (a line in the group, in any period),
/// one row per combination that has customers, with their spend on every line.
pub fn cross_shop(f: &GroupFacts, groups: &[LineGroup], decimals: u32) -> Result<DataFrame> {
    let k = groups.len();
    // Per combination (a bit per group): customers and their exact spend.
    let mut regions = vec![(0i64, 0 as Exact); 1 << k];
    for rows in customers(f)? {
        let mut mask = 0usize;
        let mut spend = 0 as Exact;
        for r in rows.0..rows.1 {
            if f.window[r] != GroupFacts::ALL_TIME {
                continue;
            }
            match f.group[r] {
                GroupFacts::EVERY_LINE => spend = f.amount[r],
                g if g >= 1 && (g as usize) <= k => mask |= 1 << (g - 1),
                _ => {}
            }
        }
        regions[mask].0 += 1;
        regions[mask].1 = regions[mask].1.wrapping_add(spend);
    }
    let total_customers: i64 = regions.iter().map(|r| r.0).sum();
    let total = regions.iter().fold(0 as Exact, |t, r| t.wrapping_add(r.1));
    // Combinations in openretailscience's order: the flags (first group first) ascending.
    let mut order: Vec<usize> = (0..1usize << k).filter(|&m| regions[m].0 > 0).collect();
    order.sort_by_key(|&m| (0..k).map(|i| m >> i & 1).collect::<Vec<_>>());
    let mut columns = Vec::new();
    for i in 0..k {
        columns.push(Column::new(format!("group_{}", i + 1).into(), order.iter().map(|&m| m >> i & 1 == 1).collect::<Vec<bool>>()));
    }
    let label = |m: usize| {
        let names: Vec<&str> = (0..k).filter(|i| m >> i & 1 == 1).map(|i| groups[i].name.as_str()).collect();
        if names.is_empty() {
            "no group".to_string()
        } else {
            names.join(" + ")
        }
    };
    let total_f = money::to_f64(total);
    columns.extend([
        Column::new("groups".into(), order.iter().map(|&m| label(m)).collect::<Vec<String>>()),
        Column::new("customers".into(), order.iter().map(|&m| regions[m].0).collect::<Vec<i64>>()),
        Column::new(
            "customer_share".into(),
            order.iter().map(|&m| regions[m].0 as f64 / total_customers as f64).collect::<Vec<f64>>(),
        ),
        Column::new(
            "amount".into(),
            order.iter().map(|&m| crate::exprs::round_money_value(money::to_f64(regions[m].1), decimals) + 0.0).collect::<Vec<f64>>(),
        ),
        Column::new(
            "amount_share".into(),
            order
                .iter()
                .map(|&m| if total_f == 0.0 { None } else { Some(money::to_f64(regions[m].1) / total_f) })
                .collect::<Vec<Option<f64>>>(),
        ),
    ]);
    Ok(DataFrame::new_infer_height(columns)?)
}

/// One period's totals of a group: customers, orders, units, exact revenue.
#[derive(Default, Clone, Copy)]
struct Totals {
    customers: u64,
    orders: u64,
    units: Exact,
    lines: u64,
    revenue: Exact,
}

/// Rule "ratio": `x / y`, 0 when `y` is 0 (no customers, orders or units: nothing to share).
fn ratio(x: f64, y: f64) -> f64 {
    if y == 0.0 {
        0.0
    } else {
        x / y
    }
}

/// revenue_tree: per group (first every line, then each `--group`), the revenue of each period
/// and its factors, with each factor's contribution to the revenue change (midpoint shares of
/// each product's change: openretailscience's `RevenueTree`; the leaves add up to the change).
pub fn revenue_tree(f: &GroupFacts, groups: &[LineGroup], periods: (Period, Period), decimals: u32) -> Result<DataFrame> {
    let units_are_lines = f.units.is_none();
    let slots: Vec<(Option<String>, u8)> = std::iter::once((None, GroupFacts::EVERY_LINE))
        .chain(groups.iter().enumerate().map(|(i, g)| (Some(g.name.clone()), i as u8 + 1)))
        .collect();
    let mut t = vec![[Totals::default(); 2]; slots.len()];
    for r in 0..f.window.len() {
        let p = match f.window[r] {
            GroupFacts::PERIOD_A => 0,
            GroupFacts::PERIOD_B => 1,
            _ => continue,
        };
        let Some(s) = slots.iter().position(|(_, g)| *g == f.group[r]) else { continue };
        let x = &mut t[s][p];
        x.customers += 1;
        x.orders += f.orders[r];
        x.lines += f.lines[r];
        x.revenue = x.revenue.wrapping_add(f.amount[r]);
        if let Some(u) = &f.units {
            x.units = x.units.wrapping_add(u[r]);
        }
    }
    let mut b = TreeRows::default();
    for (s, (name, _)) in slots.iter().enumerate() {
        let [p1, p2] = t[s];
        let rev = |x: &Totals| crate::exprs::round_money_value(money::to_f64(x.revenue), decimals);
        let units = |x: &Totals| if units_are_lines { x.lines as f64 } else { money::to_f64(x.units) };
        let (s1, s2) = (rev(&p1), rev(&p2));
        let (c1, c2) = (p1.customers as f64, p2.customers as f64);
        let (t1, t2) = (p1.orders as f64, p2.orders as f64);
        let (q1, q2) = (units(&p1), units(&p2));
        let (a1, a2) = (ratio(s1, c1), ratio(s2, c2));
        let (f1, f2) = (ratio(t1, c1), ratio(t2, c2));
        let (b1, b2) = (ratio(s1, t1), ratio(s2, t2));
        let (u1, u2) = (ratio(q1, t1), ratio(q2, t2));
        // Price per unit only where units carry the revenue (no units and some revenue: none).
        let priced = |q: f64, s: f64| q != 0.0 || s == 0.0;
        let has_price = priced(q1, s1) && priced(q2, s2);
        let (p1p, p2p) = (ratio(s1, q1), ratio(s2, q2));
        let (dc, da, df, db, du, dp) = (c2 - c1, a2 - a1, f2 - f1, b2 - b1, u2 - u1, p2p - p1p);
        let group = name.clone();
        b.push(&group, "revenue", None, s1, s2, Some(s2 - s1));
        b.push(&group, "customers", Some("revenue"), c1, c2, Some(dc * (a1 + a2) / 2.0));
        b.push(&group, "revenue_per_customer", Some("revenue"), a1, a2, Some(da * (c1 + c2) / 2.0));
        b.push(&group, "orders_per_customer", Some("revenue_per_customer"), f1, f2, Some(c2 * df * (b1 + b2) / 2.0 - dc * da / 4.0));
        b.push(&group, "revenue_per_order", Some("revenue_per_customer"), b1, b2, Some(c2 * db * (f1 + f2) / 2.0 - dc * da / 4.0));
        let contrib = |x: f64| has_price.then_some(x);
        b.push(
            &group,
            "units_per_order",
            Some("revenue_per_order"),
            u1,
            u2,
            contrib(c2 * (f2 * du * (p1p + p2p) / 2.0 - df * db / 4.0) - dc * da / 8.0),
        );
        b.push(
            &group,
            "price_per_unit",
            Some("revenue_per_order"),
            if has_price { p1p } else { f64::NAN },
            if has_price { p2p } else { f64::NAN },
            contrib(c2 * (f2 * dp * (u1 + u2) / 2.0 - df * db / 4.0) - dc * da / 8.0),
        );
        b.push(&group, "orders", None, t1, t2, None);
        b.push(&group, "units", None, q1, q2, None);
    }
    let n = b.kpi.len();
    let nan_null = |v: Vec<f64>| v.into_iter().map(|x| (!x.is_nan()).then_some(x + 0.0)).collect::<Vec<Option<f64>>>();
    let change: Vec<f64> = b.a.iter().zip(&b.b).map(|(x, y)| y - x).collect();
    let pct: Vec<Option<f64>> =
        b.a.iter().zip(&change).map(|(x, d)| if *x == 0.0 || x.is_nan() { None } else { Some(d / x + 0.0) }).collect();
    Ok(DataFrame::new_infer_height(vec![
        Column::new("group".into(), b.group),
        Column::new("group_order".into(), b.group_order),
        Column::new("kpi".into(), b.kpi),
        Column::new("kpi_order".into(), b.kpi_order),
        Column::new("parent".into(), b.parent),
        Column::new("period_a".into(), nan_null(b.a)),
        Column::new("period_b".into(), nan_null(b.b)),
        Column::new("change".into(), nan_null(change)),
        Column::new("change_share".into(), pct),
        Column::new("contribution".into(), b.contribution.into_iter().map(|c| c.filter(|x| !x.is_nan()).map(|x| x + 0.0)).collect::<Vec<_>>()),
        Column::new("period_a_range".into(), vec![period_text(periods.0); n]),
        Column::new("period_b_range".into(), vec![period_text(periods.1); n]),
    ])?)
}

/// The revenue tree's rows as they are made.
#[derive(Default)]
struct TreeRows {
    group: Vec<Option<String>>,
    group_order: Vec<i64>,
    kpi: Vec<String>,
    kpi_order: Vec<i64>,
    parent: Vec<Option<String>>,
    a: Vec<f64>,
    b: Vec<f64>,
    contribution: Vec<Option<f64>>,
}

impl TreeRows {
    fn push(&mut self, group: &Option<String>, kpi: &str, parent: Option<&str>, a: f64, b: f64, contribution: Option<f64>) {
        if self.kpi_order.last().is_none_or(|&k| k == 9) {
            self.group_order.push(self.group_order.last().map_or(0, |g| g + 1));
        } else {
            self.group_order.push(*self.group_order.last().expect("a row"));
        }
        self.kpi_order.push(if self.kpi_order.last().is_none_or(|&k| k == 9) { 1 } else { self.kpi_order.last().expect("a row") + 1 });
        self.group.push(group.clone());
        self.kpi.push(kpi.to_string());
        self.parent.push(parent.map(str::to_string));
        self.a.push(a);
        self.b.push(b);
        self.contribution.push(contribution);
    }
}
