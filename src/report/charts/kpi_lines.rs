//! KPI lines: the headline KPIs across as_of partitions.

use serde_json::{Map, Value};

use crate::report::svg;
use crate::report::frames::{num, text};
use crate::report::Chart;

/// The KPIs of every partition as lines (customers, revenue, repeat rate, active in the window).
pub fn kpi_lines(kpis: Vec<Map<String, Value>>) -> Chart {
    let keep = ["as_of", "customers", "revenue", "repeat_rate", "window_active", "window_revenue"];
    let rows: Vec<Map<String, Value>> =
        kpis.into_iter().map(|r| r.into_iter().filter(|(k, _)| keep.contains(&k.as_str())).collect()).collect();
    let dates: Vec<chrono::NaiveDate> = rows
        .iter()
        .map(|r| chrono::NaiveDate::parse_from_str(&text(r, "as_of"), "%Y-%m-%d").unwrap_or_default())
        .collect();
    let day = |d: &chrono::NaiveDate| (*d - dates[0]).num_days() as f64;
    let span = dates.last().map(day).unwrap_or(1.0).max(1.0);
    let tick_every = (dates.len() as f64 / 6.0).ceil().max(1.0) as usize;
    let x_ticks: Vec<(f64, String)> =
        dates.iter().enumerate().filter(|(i, _)| i % tick_every == 0).map(|(_, d)| (day(d), d.to_string())).collect();
    // Each KPI as an index of its first value would hide units; so two panels: counts and money.
    let series = |key: &str, name: &str, color: &'static str| -> svg::Series {
        svg::Series {
            name: name.into(),
            points: rows.iter().zip(&dates).map(|(r, d)| (day(d), num(r, key))).collect(),
            color,
            dashed: false,
            dots: Some(
                rows.iter()
                    .map(|r| {
                        format!(
                            "{}: {name} {}",
                            text(r, "as_of"),
                            svg::thousands(num(r, key), if key.contains("revenue") { 2 } else { 0 })
                        )
                    })
                    .collect(),
            ),
        }
    };
    let max_of = |keys: &[&str]| {
        keys.iter().flat_map(|k| rows.iter().map(|r| num(r, k))).filter(|v| v.is_finite()).fold(0.0f64, f64::max)
    };
    let counts = svg::LineChart {
        x_label: "as-of date of the snapshot".into(),
        y_label: "customers".into(),
        x_range: (0.0, span),
        y_range: (0.0, max_of(&["customers", "window_active"]).max(1.0)),
        x_ticks: x_ticks.clone(),
        y_fmt: svg::short,
        series: vec![
            series("customers", "customers", svg::BLUE),
            series("window_active", "active in the window", svg::ORANGE),
        ],
        marks: Vec::new(),
        height: 280.0,
    };
    let money = svg::LineChart {
        x_label: "as-of date of the snapshot".into(),
        y_label: "revenue (money units)".into(),
        x_range: (0.0, span),
        y_range: (0.0, max_of(&["revenue", "window_revenue"]).max(1.0)),
        x_ticks,
        y_fmt: svg::short,
        series: vec![
            series("revenue", "revenue, all history", svg::BLUE),
            series("window_revenue", "revenue in the window", svg::ORANGE),
        ],
        marks: Vec::new(),
        height: 280.0,
    };
    let n = rows.len();
    Chart {
        id: "kpis",
        title: "KPIs over the snapshots".into(),
        guide:
            "One point per as_of partition: customers and revenue to date (blue) and within the KPI window (orange)."
                .into(),
        source: "kpis (every as_of partition)".into(),
        svg: counts.svg("kpis", "Customers per snapshot") + &money.svg("kpis", "Revenue per snapshot"),
        rows,
        total_rows: n,
        cap_note: None,
        partial_period: None,
    }
}
