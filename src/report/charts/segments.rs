//! Segments: customers and revenue per named segment.

use polars::prelude::*;

use crate::error::Result;
use crate::report::svg;
use crate::report::frames::{num, rows, text};
use crate::report::{Chart, SEGMENTS, Tables};

/// Segment sizes and revenue shares, in segment order.
pub(crate) fn segments(t: &Tables) -> Result<Option<Chart>> {
    if !t.has_columns(
        "segment_summary",
        &["segment", "segment_order", "customers", "customer_share", "revenue", "revenue_share"],
    )? {
        return Ok(None);
    }
    let Some(lf) = t.scan("segment_summary")? else { return Ok(None) };
    let df = t.collect(
        "segment_summary",
        lf.select([
            col("segment"),
            col("segment_order"),
            col("customers"),
            col("customer_share"),
            col("revenue"),
            col("revenue_share"),
        ])
        .sort(["segment_order", "segment"], SortMultipleOptions::default().with_nulls_last(true)),
    )?;
    let all = rows(&df);
    let total = all.len();
    let rows: Vec<_> = all.into_iter().take(SEGMENTS).collect();
    let chart = svg::HBarChart {
        labels: rows.iter().map(|r| text(r, "segment")).collect(),
        sublabels: Vec::new(),
        bars: vec![
            svg::Bars {
                name: "share of customers".into(),
                values: rows.iter().map(|r| num(r, "customer_share")).collect(),
                color: svg::GREY,
                titles: rows
                    .iter()
                    .map(|r| {
                        format!(
                            "{}: {} customers ({})",
                            text(r, "segment"),
                            text(r, "customers"),
                            svg::pct(num(r, "customer_share"))
                        )
                    })
                    .collect(),
            },
            svg::Bars {
                name: "share of revenue".into(),
                values: rows.iter().map(|r| num(r, "revenue_share")).collect(),
                color: svg::BLUE,
                titles: rows
                    .iter()
                    .map(|r| {
                        format!(
                            "{}: revenue {} ({})",
                            text(r, "segment"),
                            svg::thousands(num(r, "revenue"), 2),
                            svg::pct(num(r, "revenue_share"))
                        )
                    })
                    .collect(),
            },
        ],
        x_label: "share of all customers / of all revenue (%)".into(),
        x_fmt: |v| format!("{:.0}", v * 100.0),
        notes: rows.iter().map(|r| format!("{} customers", svg::short(num(r, "customers")))).collect(),
        label_width: 150.0,
    };
    Ok(Some(Chart {
        id: "segments",
        title: "Segments: size and revenue".into(),
        guide: "Where the blue bar is longer than the grey one, the segment brings more than its share of revenue."
            .into(),
        source: "segment_summary".into(),
        svg: chart.svg("segments", "Segment sizes and revenue shares"),
        total_rows: total,
        cap_note: (total > rows.len())
            .then(|| format!("the first {} of {total} segments, in segment order", rows.len())),
        partial_period: None,
        rows,
    }))
}
