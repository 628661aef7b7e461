//! "Does the model fit who bought how often?": the calibration frequency histogram, actual
//! customers against each model's expectation (Fader, Hardie & Lee 2005's Figure 1).

use serde_json::{Map, Value};

use crate::error::Result;
use crate::report::frames::{num, obj, rows as table_rows, text};
use crate::report::svg;
use crate::report::{Chart, Tables};

/// Customers per number of calibration repeat purchase days (0..6, 7+), actual and the chosen
/// model's expectation, from `clv_frequency` (`--holdout-from`).
pub(crate) fn frequency(t: &Tables) -> Result<Option<Chart>> {
    let want = ["repeat_purchases", "customers", "expected_customers"];
    if !t.has_columns("clv_frequency", &want)? {
        return Ok(None);
    }
    let Some(lf) = t.scan("clv_frequency")? else { return Ok(None) };
    let df = t.collect("clv_frequency", lf.select(want.iter().map(|c| polars::prelude::col(*c)).collect::<Vec<_>>()))?;
    let top = crate::tables::clv::FREQUENCY_TOP as f64;
    let rows: Vec<Map<String, Value>> = table_rows(&df)
        .into_iter()
        .map(|r| {
            let x = num(&r, "repeat_purchases");
            obj(vec![
                ("repeat_purchases", if x >= top { format!("{top}+") } else { format!("{x}") }.into()),
                ("customers", r["customers"].clone()),
                ("expected_customers", r["expected_customers"].clone()),
            ])
        })
        .collect();
    if rows.is_empty() {
        return Ok(None);
    }
    let hover = |r: &Map<String, Value>| {
        format!(
            "{} repeat purchase days before the holdout: {} customers, the model expects {:.1}",
            text(r, "repeat_purchases"),
            text(r, "customers"),
            num(r, "expected_customers")
        )
    };
    let chart = svg::BarChart {
        categories: rows.iter().map(|r| text(r, "repeat_purchases")).collect(),
        bars: vec![
            svg::Bars {
                name: "customers".into(),
                values: rows.iter().map(|r| num(r, "customers")).collect(),
                color: svg::BLUE,
                titles: rows.iter().map(hover).collect(),
            },
            svg::Bars {
                name: "the model's expectation (the chosen model, fitted before the holdout)".into(),
                values: rows.iter().map(|r| num(r, "expected_customers")).collect(),
                color: svg::ORANGE,
                titles: rows.iter().map(hover).collect(),
            },
        ],
        line: None,
        x_label: "repeat purchase days before the holdout".into(),
        y_label: "customers".into(),
        y_fmt: svg::short,
        value_labels: true,
        height: 300.0,
    };
    let n = rows.len();
    Ok(Some(Chart {
        id: "clv_frequency",
        title: "Does the model fit how often customers bought? Calibration frequencies".into(),
        guide: "Customers by how many repeat purchase days they made before the holdout (7 and more together), as counted (blue) and as the model fitted on that period expects (orange): bars of equal height mean the model reproduces who bought once, twice and often.".into(),
        source: "clv_frequency (--holdout-from)".into(),
        svg: chart.svg("clv_frequency", "Customers by calibration repeat purchases, actual and model"),
        rows,
        total_rows: n,
        cap_note: None,
        partial_period: None,
    }))
}
