//! Lapse buckets: customers and revenue by days since their last purchase.

use serde_json::{Map, Value};

use crate::error::Result;
use crate::report::svg;
use crate::report::frames::{float_col, groups, int_col, num, obj, text, values};
use crate::report::{Chart, Tables};

/// Lapse buckets: customers and their revenue per bucket of days since the last purchase.
pub(crate) fn lapse_buckets(t: &Tables, decimals: i32) -> Result<Option<Chart>> {
    let cols = t.columns("customers")?;
    if !["lapse_bucket", "lapse_bucket_order", "monetary"].iter().all(|c| cols.iter().any(|x| x == c)) {
        return Ok(None);
    }
    let df = t.frame("customers")?;
    let (order, m) = (int_col(&df, "lapse_bucket_order")?, float_col(&df, "monetary")?);
    let labels = df.column("lapse_bucket")?.str()?.clone();
    let scale = 10f64.powi(decimals);
    let mut rows: Vec<Map<String, Value>> = Vec::new();
    for (k, g) in groups(values(&order), values(&m), decimals) {
        // The bucket's label: the one on its first row.
        let at = values(&order).position(|o| o == Some(k)).unwrap_or(0);
        let label = labels.get(at).unwrap_or_default();
        rows.push(obj(vec![
            ("lapse_bucket_order", k.into()),
            ("lapse_bucket", label.into()),
            ("customers", g.n.into()),
            ("revenue", (g.minor as f64 / scale).into()),
        ]));
    }
    let chart = svg::BarChart {
        categories: rows.iter().map(|r| text(r, "lapse_bucket")).collect(),
        bars: vec![svg::Bars {
            name: "customers".into(),
            values: rows.iter().map(|r| num(r, "customers")).collect(),
            color: svg::BLUE,
            titles: rows
                .iter()
                .map(|r| {
                    format!(
                        "{} days: {} customers, revenue {}",
                        text(r, "lapse_bucket"),
                        text(r, "customers"),
                        svg::thousands(num(r, "revenue"), decimals as usize)
                    )
                })
                .collect(),
        }],
        line: None,
        x_label: "days since the last purchase".into(),
        y_label: "customers".into(),
        y_fmt: svg::short,
        value_labels: true,
        height: 300.0,
    };
    let n = rows.len();
    Ok(Some(Chart {
        id: "lapse_buckets",
        title: "Lapse: days since the last purchase".into(),
        guide: "Customers by how long ago they last bought; the right-hand bars are the win-back list.".into(),
        source: "customers (grouped by lapse_bucket)".into(),
        svg: chart.svg("lapse_buckets", "Customers per lapse bucket"),
        rows,
        total_rows: n,
        cap_note: None,
        partial_period: None,
    }))
}
