//! Cohort retention: the share of each first-purchase cohort buying again, period by period.

use polars::prelude::*;
use serde_json::Value;

use crate::error::Result;
use crate::report::svg;
use crate::report::frames::{num, rows, text};
use crate::report::{COHORTS, Chart, PERIODS, PartialPeriod, Tables, unreadable};

/// Cohort retention: the share of each cohort active per period, latest cohorts, first periods.
pub(crate) fn cohort_retention(t: &Tables) -> Result<Option<Chart>> {
    if !t.has_columns("cohorts", &["cohort", "period_index", "cohort_customers", "active_customers", "retention"])? {
        return Ok(None);
    }
    let Some(lf) = t.scan("cohorts")? else { return Ok(None) };
    let cohorts = t.collect("cohorts", lf.clone().select([col("cohort").unique().sort(Default::default())]))?;
    let all: Vec<Value> = rows(&cohorts).into_iter().map(|r| r["cohort"].clone()).collect();
    if all.is_empty() {
        return Ok(None);
    }
    let keep: Vec<String> = all
        .iter()
        .skip(all.len().saturating_sub(COHORTS))
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .collect();
    let first = keep[0].clone();
    let total_lf = lf.clone().select([len().cast(DataType::Int64).alias("n")]);
    let total = t.collect("cohorts", total_lf)?.column("n")?.i64()?.get(0).unwrap_or(0) as usize;
    let first_date =
        chrono::NaiveDate::parse_from_str(&first, "%Y-%m-%d").map_err(|e| unreadable(&t.path("cohorts"), e))?;
    let df = t.collect(
        "cohorts",
        lf.filter(col("cohort").gt_eq(lit(first_date)).and(col("period_index").lt_eq(lit(PERIODS))))
            .select([
                col("cohort"),
                col("period_index"),
                col("cohort_customers"),
                col("active_customers"),
                col("retention"),
            ])
            .sort(["cohort", "period_index"], Default::default()),
    )?;
    let mut rows = rows(&df);
    // The period holding the day before the as-of date, when it is not over: every cohort's cell
    // of it holds only its first days, which is no drop in retention.
    let week = match t.cohort_period.as_deref() {
        Some(p) => p == "week",
        None => keep.iter().any(|c| !c.ends_with("-01")),
    };
    let partial = t.as_of.and_then(|d| partial_period(d, week));
    let cell_start = |c: &str, p: i64| -> Option<chrono::NaiveDate> {
        let c = chrono::NaiveDate::parse_from_str(c, "%Y-%m-%d").ok()?;
        if week {
            c.checked_add_days(chrono::Days::new(7 * u64::try_from(p).ok()?))
        } else {
            c.checked_add_months(chrono::Months::new(u32::try_from(p).ok()?))
        }
    };
    let is_partial = |c: &str, p: i64| {
        partial.as_ref().is_some_and(|(start, _)| cell_start(c, p).is_some_and(|s| s == *start))
    };
    for r in rows.iter_mut() {
        let flag = is_partial(&text(r, "cohort"), num(r, "period_index") as i64);
        r.insert("partial_period".into(), flag.into());
    }
    let rows = rows;
    let max_period = rows.iter().map(|r| num(r, "period_index") as i64).max().unwrap_or(0);
    let periods: Vec<i64> = (0..=max_period).collect();
    let find = |c: &str, p: i64| {
        rows.iter().find(|r| r["cohort"].as_str() == Some(c) && r["period_index"].as_i64() == Some(p))
    };
    let size = |c: &str| {
        rows.iter().find(|r| r["cohort"].as_str() == Some(c)).map(|r| text(r, "cohort_customers")).unwrap_or_default()
    };
    let partial_label = partial.as_ref().map(|(_, p)| p.label.clone()).unwrap_or_default();
    let chart = svg::Heatmap {
        rows: keep.iter().map(|c| format!("{c} ({})", size(c))).collect(),
        cols: periods.iter().map(|p| p.to_string()).collect(),
        values: keep
            .iter()
            .map(|c| periods.iter().map(|p| find(c, *p).map(|r| num(r, "retention"))).collect())
            .collect(),
        texts: keep
            .iter()
            .map(|c| {
                periods
                    .iter()
                    .map(|p| find(c, *p).map(|r| format!("{:.0}", num(r, "retention") * 100.0)).unwrap_or_default())
                    .collect()
            })
            .collect(),
        titles: keep
            .iter()
            .map(|c| {
                periods
                    .iter()
                    .map(|p| match find(c, *p) {
                        Some(r) if is_partial(c, *p) => format!(
                            "cohort {c}, period {p}, in {partial_label}, not over: {} of {} active so far ({})",
                            text(r, "active_customers"),
                            text(r, "cohort_customers"),
                            svg::pct(num(r, "retention"))
                        ),
                        Some(r) => format!(
                            "cohort {c}, period {p}: {} of {} active ({})",
                            text(r, "active_customers"),
                            text(r, "cohort_customers"),
                            svg::pct(num(r, "retention"))
                        ),
                        None => format!("cohort {c}, period {p}: not reached yet"),
                    })
                    .collect()
            })
            .collect(),
        partial: keep.iter().map(|c| periods.iter().map(|p| is_partial(c, *p)).collect()).collect(),
        partial_note: partial.as_ref().map(|(_, p)| {
            format!("{}: not over, out of the colour scale", p.label)
        }),
        x_label: "periods since the first purchase (retention, %)".into(),
        y_label: "cohort: first purchase period (customers)".into(),
        row_label_width: 120.0,
        legend: "share of the cohort active".into(),
        scale_fmt: |v| format!("{:.0} %", v * 100.0),
    };
    let shown = rows.len();
    let mut guide = "Each row is the customers who first bought in one period; each cell the share of them buying again n periods later. Read down a column to see whether newer cohorts stay longer.".to_string();
    if let Some((_, p)) = &partial {
        guide.push_str(&format!(
            " Hatched: {}, the period the as-of date falls in; its cells count only its first days, so they are low for every cohort."
            , p.label
        ));
    }
    Ok(Some(Chart {
        id: "cohort_retention",
        title: "Cohort retention".into(),
        guide,
        source: "cohorts".into(),
        svg: chart.svg("cohort_retention", "Cohort retention heatmap"),
        cap_note: (shown < total).then(|| format!("the latest {} of {} cohorts, periods 0 to {PERIODS}", keep.len(), all.len())),
        rows,
        total_rows: total,
        partial_period: partial.map(|(_, p)| p),
    }))
}

/// The cohort period (a calendar month, or an ISO week from Monday) holding the day before `as_of`,
/// the last day the tables count, when that day is not the period's last: its first day and how
/// much of it was counted.
pub fn partial_period(as_of: chrono::NaiveDate, week: bool) -> Option<(chrono::NaiveDate, PartialPeriod)> {
    use chrono::Datelike;
    let last = as_of.pred_opt()?;
    let (start, len) = if week {
        let start = last - chrono::Days::new(u64::from(last.weekday().num_days_from_monday()));
        (start, 7)
    } else {
        let start = last.with_day(1)?;
        let next = start.checked_add_months(chrono::Months::new(1))?;
        (start, (next - start).num_days())
    };
    let days = (last - start).num_days() + 1;
    if days >= len {
        return None;
    }
    let label = if week {
        format!("week of {start} ({days} of 7 days)")
    } else {
        format!("{} ({days} of {len} days)", start.format("%b %Y"))
    };
    Some((start, PartialPeriod { start: start.to_string(), days, of_days: len, label }))
}
