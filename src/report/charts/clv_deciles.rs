//! CLV deciles: predicted value per tenth of the customers.

use serde_json::{Map, Value};

use crate::error::Result;
use crate::report::svg;
use crate::report::frames::{float_col, groups, int_col, num, obj, text, values};
use crate::report::{Chart, Tables};

/// The CLV distribution: customers, total and average CLV per CLV decile.
pub(crate) fn clv_deciles(t: &Tables, decimals: i32) -> Result<Option<Chart>> {
    let cols = t.columns("clv")?;
    if !["clv", "clv_decile"].iter().all(|c| cols.iter().any(|x| x == c)) {
        return Ok(None);
    }
    let df = t.frame("clv")?;
    let (dec, clv) = (int_col(&df, "clv_decile")?, float_col(&df, "clv")?);
    let scale = 10f64.powi(decimals);
    let rows: Vec<Map<String, Value>> = groups(values(&dec), values(&clv), decimals)
        .into_iter()
        .map(|(d, g)| {
            let total = g.minor as f64 / scale;
            obj(vec![
                ("clv_decile", d.into()),
                ("customers", g.n.into()),
                ("clv", total.into()),
                ("min_clv", g.min.into()),
                ("max_clv", g.max.into()),
                ("avg_clv", (total / g.n as f64).into()),
            ])
        })
        .collect();
    if rows.is_empty() {
        return Ok(None);
    }
    let chart = svg::BarChart {
        categories: rows.iter().map(|r| text(r, "clv_decile")).collect(),
        bars: vec![svg::Bars {
            name: "average CLV per customer".into(),
            values: rows.iter().map(|r| num(r, "avg_clv")).collect(),
            color: svg::BLUE,
            titles: rows
                .iter()
                .map(|r| {
                    format!(
                        "CLV decile {}: {} customers, CLV {} to {}, total {}",
                        text(r, "clv_decile"),
                        text(r, "customers"),
                        svg::thousands(num(r, "min_clv"), 2),
                        svg::thousands(num(r, "max_clv"), 2),
                        svg::thousands(num(r, "clv"), 2)
                    )
                })
                .collect(),
        }],
        line: None,
        x_label: "CLV decile (1 = the most valuable tenth)".into(),
        y_label: "average CLV (money units)".into(),
        y_fmt: svg::short,
        value_labels: true,
        height: 300.0,
    };
    let n = rows.len();
    Ok(Some(Chart {
        id: "clv_deciles",
        title: "Customer lifetime value by decile".into(),
        guide: "Expected value of each tenth of customers over the CLV horizon; a steep drop after decile 1 means a few customers carry the future too.".into(),
        source: "clv (grouped by clv_decile)".into(),
        svg: chart.svg("clv_deciles", "Average CLV per CLV decile"),
        rows,
        total_rows: n,
        cap_note: None,
        partial_period: None,
    }))
}
