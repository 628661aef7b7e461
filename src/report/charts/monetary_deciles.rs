//! Monetary deciles: each tenth of the customers by spend, its revenue share.

use polars::prelude::*;

use crate::error::Result;
use crate::report::svg;
use crate::report::frames::{num, rows, text};
use crate::report::{Chart, Tables};

/// Monetary deciles: each tenth's share of revenue, and the running total.
pub(crate) fn monetary_deciles(t: &Tables) -> Result<Option<Chart>> {
    if !t.has_columns(
        "monetary_deciles",
        &["decile", "customers", "revenue", "revenue_share", "cumulative_revenue_share"],
    )? {
        return Ok(None);
    }
    let Some(lf) = t.scan("monetary_deciles")? else { return Ok(None) };
    let df = t.collect(
        "monetary_deciles",
        lf.select([
            col("decile"),
            col("customers"),
            col("revenue"),
            col("revenue_share"),
            col("cumulative_revenue_share"),
        ])
        .sort(["decile"], Default::default()),
    )?;
    let rows = rows(&df);
    let titles = |key: &'static str| -> Vec<String> {
        rows.iter()
            .map(|r| {
                format!(
                    "decile {}: {} customers, revenue {}, {} ({key})",
                    text(r, "decile"),
                    text(r, "customers"),
                    svg::thousands(num(r, "revenue"), 2),
                    svg::pct(num(r, key))
                )
            })
            .collect()
    };
    let chart = svg::BarChart {
        categories: rows.iter().map(|r| text(r, "decile")).collect(),
        bars: vec![svg::Bars {
            name: "share of revenue".into(),
            values: rows.iter().map(|r| num(r, "revenue_share")).collect(),
            color: svg::BLUE,
            titles: titles("revenue_share"),
        }],
        line: Some(svg::Bars {
            name: "cumulative share".into(),
            values: rows.iter().map(|r| num(r, "cumulative_revenue_share")).collect(),
            color: svg::ORANGE,
            titles: titles("cumulative_revenue_share"),
        }),
        x_label: "monetary decile (1 = the top tenth of customers by monetary)".into(),
        y_label: "share of revenue (%)".into(),
        y_fmt: |v| format!("{:.0}", v * 100.0),
        value_labels: false,
        height: 320.0,
    };
    let n = rows.len();
    Ok(Some(Chart {
        id: "monetary_deciles",
        title: "Revenue by monetary decile".into(),
        guide: "Bars: what each tenth of customers (best first) brings; the line: what the top tenths bring together."
            .into(),
        source: "monetary_deciles".into(),
        svg: chart.svg("monetary_deciles", "Revenue share by monetary decile"),
        rows,
        total_rows: n,
        cap_note: None,
        partial_period: None,
    }))
}
