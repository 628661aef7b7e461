//! Revenue concentration: the cumulative share of revenue by share of customers (a Lorenz curve).

use polars::prelude::*;

use crate::error::Result;
use crate::report::svg;
use crate::report::frames::{num, rows, text};
use crate::report::{Chart, Tables};

/// Revenue concentration: the purchase deciles as a curve of cumulative customer share against
/// cumulative revenue share, the diagonal (everyone spends alike) and the 20 %/80 % point.
pub(crate) fn concentration(t: &Tables) -> Result<Option<Chart>> {
    if !t.has_columns("purchase_deciles", &["decile", "customers", "customer_share", "revenue_share"])? {
        return Ok(None);
    }
    let Some(lf) = t.scan("purchase_deciles")? else { return Ok(None) };
    let df = t.collect(
        "purchase_deciles",
        lf.select([col("decile"), col("customers"), col("customer_share"), col("revenue_share")])
            .sort(["decile"], Default::default()),
    )?;
    let mut rows = rows(&df);
    let (mut cc, mut cr) = (0.0, 0.0);
    for r in rows.iter_mut() {
        cc += num(r, "customer_share");
        cr += num(r, "revenue_share");
        r.insert("cumulative_customer_share".into(), cc.into());
        r.insert("cumulative_revenue_share".into(), cr.into());
    }
    let mut curve = vec![(0.0, 0.0)];
    curve.extend(rows.iter().map(|r| (num(r, "cumulative_customer_share"), num(r, "cumulative_revenue_share"))));
    let dots: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "revenue tenth {}: {} of customers make {} of revenue",
                text(r, "decile"),
                svg::pct(num(r, "cumulative_customer_share")),
                svg::pct(num(r, "cumulative_revenue_share"))
            )
        })
        .collect();
    let mut dot_titles = vec!["0".to_string()];
    dot_titles.extend(dots);
    let chart = svg::LineChart {
        x_label: "share of customers, best first (%)".into(),
        y_label: "share of revenue (%)".into(),
        x_range: (0.0, 1.0),
        y_range: (0.0, 1.0),
        x_ticks: (0..=5).map(|i| (i as f64 / 5.0, format!("{}", i * 20))).collect(),
        y_fmt: |v| format!("{:.0}", v * 100.0),
        series: vec![
            svg::Series {
                name: "customers, best first".into(),
                points: curve,
                color: svg::BLUE,
                dashed: false,
                dots: Some(dot_titles),
            },
            svg::Series {
                name: "everyone alike".into(),
                points: vec![(0.0, 0.0), (1.0, 1.0)],
                color: svg::GREY,
                dashed: true,
                dots: None,
            },
        ],
        marks: vec![svg::Mark { at: (0.2, 0.8), label: "20 % / 80 %".into(), color: svg::ORANGE }],
        height: 340.0,
    };
    let n = rows.len();
    Ok(Some(Chart {
        id: "revenue_concentration",
        title: "Revenue concentration".into(),
        guide: "The further the blue curve bows above the grey diagonal, the more revenue depends on a few customers; the orange dot is the 80/20 rule.".into(),
        source: "purchase_deciles".into(),
        svg: chart.svg("revenue_concentration", "Revenue concentration curve"),
        rows,
        total_rows: n,
        cap_note: None,
        partial_period: None,
    }))
}
