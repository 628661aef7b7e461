//! The tracking plot week by week: repeat purchases in each week, actual against the model.

use crate::error::Result;
use crate::report::charts::clv_tracking::{tracking_rows, weekly_lines};
use crate::report::{Chart, Tables};

/// Repeat purchase days per week, actual against the calibration fit.
pub(crate) fn tracking_weekly(t: &Tables) -> Result<Option<Chart>> {
    let Some(rows) = tracking_rows(t)? else { return Ok(None) };
    let chart = weekly_lines(&rows, "actual_repeat_purchases", "expected_repeat_purchases", "repeat purchase days in the week");
    let n = rows.len();
    Ok(Some(Chart {
        id: "clv_tracking_weekly",
        title: "Does the model track what happened? Repeat purchases per week".into(),
        guide: "The same customers' repeat purchase days in each week (solid) and the model's expectation (dashed): the model draws the smooth trend a base of customers follows, not its week-to-week noise, holidays or campaigns.".into(),
        source: "clv_tracking (--holdout-from)".into(),
        svg: chart.svg("clv_tracking_weekly", "Repeat purchases per week, actual and model"),
        rows,
        total_rows: n,
        cap_note: None,
        partial_period: None,
    }))
}
