//! "Does the model track what happened?": cumulative repeat purchases, actual against the
//! calibration fit, through calibration and holdout (Fader, Hardie & Lee 2005's tracking plot).

use serde_json::{Map, Value};

use crate::error::Result;
use crate::report::frames::{num, rows as table_rows, text};
use crate::report::svg;
use crate::report::{Chart, Tables};

/// The columns of `clv_tracking` the two tracking charts read.
pub(crate) const COLUMNS: [&str; 7] = [
    "week",
    "week_start",
    "period",
    "actual_repeat_purchases",
    "expected_repeat_purchases",
    "cumulative_actual",
    "cumulative_expected",
];

/// `clv_tracking`'s rows (written with `--holdout-from`), or None.
pub(crate) fn tracking_rows(t: &Tables) -> Result<Option<Vec<Map<String, Value>>>> {
    if !t.has_columns("clv_tracking", &COLUMNS)? {
        return Ok(None);
    }
    let Some(lf) = t.scan("clv_tracking")? else { return Ok(None) };
    let df = t.collect("clv_tracking", lf.select(COLUMNS.iter().map(|c| polars::prelude::col(*c)).collect::<Vec<_>>()))?;
    let rows = table_rows(&df);
    Ok((!rows.is_empty()).then_some(rows))
}

/// The week the holdout starts (the first `holdout` row), for the charts' mark.
pub(crate) fn holdout_week(rows: &[Map<String, Value>]) -> Option<f64> {
    rows.iter().find(|r| text(r, "period") == "holdout").map(|r| num(r, "week"))
}

/// A line chart of two `clv_tracking` columns, actual (solid) and the model (dashed), by week.
pub(crate) fn weekly_lines(rows: &[Map<String, Value>], actual: &str, expected: &str, y_label: &str) -> svg::LineChart {
    let weeks = rows.iter().map(|r| num(r, "week")).fold(1.0f64, f64::max);
    let top = rows.iter().map(|r| num(r, actual).max(num(r, expected))).fold(1.0f64, f64::max);
    let xt = svg::ticks(0.0, weeks, 8);
    let yt = svg::ticks(0.0, top, 5);
    let point_text = |r: &Map<String, Value>| {
        format!(
            "week {} (from {}, {}): actual {}, model {:.1}",
            text(r, "week"),
            text(r, "week_start"),
            text(r, "period"),
            text(r, actual),
            num(r, expected)
        )
    };
    svg::LineChart {
        x_label: "week since the first customer's first purchase".into(),
        y_label: y_label.into(),
        x_range: (0.0, *xt.last().unwrap_or(&weeks)),
        y_range: (0.0, *yt.last().unwrap_or(&top)),
        x_ticks: xt.iter().map(|v| (*v, format!("{v:.0}"))).collect(),
        y_fmt: svg::short,
        series: vec![
            svg::Series {
                name: "actual".into(),
                points: rows.iter().map(|r| (num(r, "week"), num(r, actual))).collect(),
                color: svg::BLUE,
                dashed: false,
                dots: Some(rows.iter().map(point_text).collect()),
            },
            svg::Series {
                name: "model (fitted on the calibration weeks)".into(),
                points: rows.iter().map(|r| (num(r, "week"), num(r, expected))).collect(),
                color: svg::ORANGE,
                dashed: true,
                dots: None,
            },
        ],
        marks: holdout_week(rows)
            .map(|w| {
                let at = rows.iter().find(|r| num(r, "week") == w).map(|r| num(r, actual)).unwrap_or(0.0);
                vec![svg::Mark { at: (w, at), label: "holdout starts".into(), color: svg::GREY }]
            })
            .unwrap_or_default(),
        height: 320.0,
    }
}

/// Cumulative repeat purchase days, actual against the model, week by week.
pub(crate) fn tracking(t: &Tables) -> Result<Option<Chart>> {
    let Some(rows) = tracking_rows(t)? else { return Ok(None) };
    let chart = weekly_lines(&rows, "cumulative_actual", "cumulative_expected", "cumulative repeat purchase days");
    let n = rows.len();
    Ok(Some(Chart {
        id: "clv_tracking",
        title: "Does the model track what happened? Cumulative repeat purchases".into(),
        guide: "The calibration customers' repeat purchase days added up week by week (solid) and what the purchase model fitted on the weeks before the holdout expected of them (dashed). Before the mark the model saw the data; after it, the lines show how well it forecasts: lines that part after the mark mean the forecast drifts.".into(),
        source: "clv_tracking (--holdout-from)".into(),
        svg: chart.svg("clv_tracking", "Cumulative repeat purchases, actual and model, by week"),
        rows,
        total_rows: n,
        cap_note: None,
        partial_period: None,
    }))
}
