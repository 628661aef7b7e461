//! "Who does the model get right?": holdout purchases by calibration frequency, actual against
//! predicted (Fader, Hardie & Lee 2005's conditional expectations).

use serde_json::{Map, Value};

use crate::error::Result;
use crate::report::frames::{num, obj, rows as table_rows, text};
use crate::report::svg;
use crate::report::{Chart, Tables};

/// Calibration repeat purchases at and above this are one group ("7+", as the paper draws it).
const TOP: i64 = 7;

/// Per number of calibration repeat purchase days (0, 1, ..., 7+): customers, and their mean
/// holdout purchase days, actual and predicted by the chosen model.
pub(crate) fn conditional(t: &Tables) -> Result<Option<Chart>> {
    let want = ["repeat_purchases", "predicted_purchases", "actual_purchases"];
    if !t.has_columns("clv_holdout", &want)? {
        return Ok(None);
    }
    let Some(lf) = t.scan("clv_holdout")? else { return Ok(None) };
    use polars::prelude::*;
    let df = t.collect(
        "clv_holdout",
        lf.select([
            col("repeat_purchases").cast(DataType::Int64).clip_max(lit(TOP)).alias("group"),
            col("predicted_purchases").cast(DataType::Float64),
            col("actual_purchases").cast(DataType::Float64),
        ])
        .group_by([col("group")])
        .agg([
            len().cast(DataType::Int64).alias("customers"),
            col("actual_purchases").mean().alias("mean_actual"),
            col("predicted_purchases").mean().alias("mean_predicted"),
        ])
        .sort(["group"], SortMultipleOptions::default()),
    )?;
    let rows: Vec<Map<String, Value>> = table_rows(&df)
        .into_iter()
        .map(|r| {
            let g = num(&r, "group") as i64;
            obj(vec![
                ("repeat_purchases", if g >= TOP { format!("{TOP}+") } else { g.to_string() }.into()),
                ("customers", r["customers"].clone()),
                ("mean_actual_purchases", r["mean_actual"].clone()),
                ("mean_predicted_purchases", r["mean_predicted"].clone()),
            ])
        })
        .collect();
    if rows.is_empty() {
        return Ok(None);
    }
    let top = rows.iter().map(|r| num(r, "mean_actual_purchases").max(num(r, "mean_predicted_purchases"))).fold(0.5f64, f64::max);
    let yt = svg::ticks(0.0, top, 5);
    let at = |i: usize| i as f64;
    let hover = |r: &Map<String, Value>| {
        format!(
            "{} repeat purchase days before the holdout: {} customers, holdout purchase days on average {:.2} actual, {:.2} predicted",
            text(r, "repeat_purchases"),
            text(r, "customers"),
            num(r, "mean_actual_purchases"),
            num(r, "mean_predicted_purchases")
        )
    };
    let chart = svg::LineChart {
        x_label: "repeat purchase days before the holdout".into(),
        y_label: "holdout purchase days per customer".into(),
        x_range: (0.0, (rows.len() - 1).max(1) as f64),
        y_range: (0.0, *yt.last().unwrap_or(&top)),
        x_ticks: rows.iter().enumerate().map(|(i, r)| (at(i), text(r, "repeat_purchases"))).collect(),
        y_fmt: |v| format!("{v:.1}"),
        series: vec![
            svg::Series {
                name: "actual".into(),
                points: rows.iter().enumerate().map(|(i, r)| (at(i), num(r, "mean_actual_purchases"))).collect(),
                color: svg::BLUE,
                dashed: false,
                dots: Some(rows.iter().map(hover).collect()),
            },
            svg::Series {
                name: "predicted (the chosen model, fitted before the holdout)".into(),
                points: rows.iter().enumerate().map(|(i, r)| (at(i), num(r, "mean_predicted_purchases"))).collect(),
                color: svg::ORANGE,
                dashed: true,
                dots: None,
            },
        ],
        marks: Vec::new(),
        height: 300.0,
    };
    let n = rows.len();
    Ok(Some(Chart {
        id: "clv_conditional",
        title: "Who does the model get right? Holdout purchases by past frequency".into(),
        guide: "Customers grouped by how many repeat purchase days they had before the holdout (7+ together): the average purchase days each group then had in the holdout (solid) and what the model predicted for them (dashed). A model that fits follows the actual line across the groups; a gap at the right says it misjudges the best customers.".into(),
        source: "clv_holdout (grouped by repeat_purchases)".into(),
        svg: chart.svg("clv_conditional", "Holdout purchases by calibration frequency, actual and predicted"),
        rows,
        total_rows: n,
        cap_note: None,
        partial_period: None,
    }))
}
