//! The recency × frequency grid: customers and revenue per score cell.

use serde_json::{Map, Value};

use crate::error::Result;
use crate::report::svg;
use crate::report::frames::{float_col, groups, int_col, num, obj, text, values};
use crate::report::{Chart, Tables};

/// R × F: customers and their revenue per (r_score, f_score) cell.
pub(crate) fn rf_heatmap(t: &Tables, decimals: i32) -> Result<Option<Chart>> {
    let cols = t.columns("customers")?;
    if !["r_score", "f_score", "monetary"].iter().all(|c| cols.iter().any(|x| x == c)) {
        return Ok(None);
    }
    let df = t.frame("customers")?;
    let (r, f, m) = (int_col(&df, "r_score")?, int_col(&df, "f_score")?, float_col(&df, "monetary")?);
    let keys = values(&r).zip(values(&f)).map(|(r, f)| r.zip(f));
    let scale = 10f64.powi(decimals);
    let rows: Vec<Map<String, Value>> = groups(keys, values(&m), decimals)
        .into_iter()
        .map(|((r, f), g)| {
            obj(vec![
                ("r_score", r.into()),
                ("f_score", f.into()),
                ("customers", g.n.into()),
                ("revenue", (g.minor as f64 / scale).into()),
            ])
        })
        .collect();
    let max_score = rows.iter().flat_map(|r| [num(r, "r_score"), num(r, "f_score")]).fold(0.0f64, f64::max) as i64;
    let bins = t.bins.unwrap_or(0).max(max_score).max(1);
    // Rows: R from best (top) to worst; columns: F from 1 to best.
    let r_labels: Vec<i64> = (1..=bins).rev().collect();
    let f_labels: Vec<i64> = (1..=bins).collect();
    let find =
        |r: i64, f: i64| rows.iter().find(|x| x["r_score"].as_i64() == Some(r) && x["f_score"].as_i64() == Some(f));
    let grid = |g: &dyn Fn(&Map<String, Value>) -> String| -> Vec<Vec<String>> {
        r_labels.iter().map(|r| f_labels.iter().map(|f| find(*r, *f).map(g).unwrap_or_default()).collect()).collect()
    };
    let chart = svg::Heatmap {
        rows: r_labels.iter().map(|r| format!("R {r}")).collect(),
        cols: f_labels.iter().map(|f| format!("F {f}")).collect(),
        values: r_labels
            .iter()
            .map(|r| f_labels.iter().map(|f| find(*r, *f).map(|x| num(x, "customers"))).collect())
            .collect(),
        texts: grid(&|x| format!("{} · {}", svg::short(num(x, "customers")), svg::short(num(x, "revenue")))),
        titles: r_labels
            .iter()
            .map(|r| {
                f_labels
                    .iter()
                    .map(|f| match find(*r, *f) {
                        Some(x) => format!(
                            "R {r}, F {f}: {} customers, revenue {}",
                            text(x, "customers"),
                            svg::thousands(num(x, "revenue"), decimals as usize)
                        ),
                        None => format!("R {r}, F {f}: no customers"),
                    })
                    .collect()
            })
            .collect(),
        x_label: "frequency score F →".into(),
        y_label: "recency score R".into(),
        partial: Vec::new(),
        partial_note: None,
        row_label_width: 40.0,
        legend: "customers per cell".into(),
        scale_fmt: svg::short,
    };
    let n = rows.len();
    Ok(Some(Chart {
        id: "rf_heatmap",
        title: "Recency × frequency".into(),
        guide: "Each cell: customers · their revenue. Higher R: bought more recently; higher F: more orders. Top right are the best customers, bottom left the ones slipping away.".into(),
        source: "customers (grouped by r_score, f_score)".into(),
        svg: chart.svg("rf_heatmap", "Customers and revenue per recency and frequency score"),
        rows,
        total_rows: n,
        cap_note: None,
        partial_period: None,
    }))
}
