//! "Still a customer?": mean P(alive), and mean P(a purchase in the next 90 days), by recency band.

use serde_json::{Map, Value};

use crate::error::Result;
use crate::report::svg;
use crate::report::frames::{float_col, groups, int_col, num, obj, text, values};
use crate::report::{Chart, RECENCY_BANDS, Tables};

/// P(alive) against recency: the average P(alive) of customers per band of recency days, and
/// beside it the average `p_purchase_90` when the clv table has it (issue 31: where the data
/// cannot tell drop-out, P(alive) is a flat line near 100 % while the purchase probability still
/// falls with silence).
pub(crate) fn p_alive_by_recency(t: &Tables) -> Result<Option<Chart>> {
    let cols = t.columns("clv")?;
    if !["p_alive", "recency_days"].iter().all(|c| cols.iter().any(|x| x == c)) {
        return Ok(None);
    }
    let df = t.frame("clv")?;
    let (rec, alive) = (int_col(&df, "recency_days")?, float_col(&df, "p_alive")?);
    let known = || values(&rec).zip(values(&alive)).filter_map(|(r, a)| r.zip(a));
    let Some(max) = known().map(|(r, _)| r).max() else { return Ok(None) };
    let width = band_width(max);
    let band = |r: i64| Some(r.div_euclid(width) * width);
    let bands = groups(known().map(|(r, _)| band(r)), known().map(|(_, a)| Some(a)), 0);
    // The same bands' mean purchase probability (same customers: p_purchase_90 is never null).
    let purchase = if cols.iter().any(|c| c == "p_purchase_90") {
        let p = float_col(&df, "p_purchase_90")?;
        let pairs: Vec<(i64, f64)> = values(&rec).zip(values(&p)).filter_map(|(r, p)| r.zip(p)).collect();
        Some(groups(pairs.iter().map(|(r, _)| band(*r)), pairs.iter().map(|(_, p)| Some(*p)), 0))
    } else {
        None
    };
    let rows: Vec<Map<String, Value>> = bands
        .into_iter()
        .map(|(from, g)| {
            let mut fields = vec![
                ("recency_from", from.into()),
                ("recency_to", (from + width - 1).into()),
                ("customers", g.n.into()),
                ("mean_p_alive", (g.sum / g.n as f64).into()),
            ];
            if let Some(pg) = purchase.as_ref().and_then(|p| p.get(&from)) {
                fields.push(("mean_p_purchase_90", (pg.sum / pg.n as f64).into()));
            }
            obj(fields)
        })
        .collect();
    let mid = |r: &Map<String, Value>| (num(r, "recency_from") + num(r, "recency_to")) / 2.0;
    let x_max = rows.iter().map(|r| num(r, "recency_to")).fold(1.0f64, f64::max);
    let xt = svg::ticks(0.0, x_max, 6);
    let chart = svg::LineChart {
        x_label: "recency: days since the last purchase".into(),
        y_label: "average P(alive) (%)".into(),
        x_range: (0.0, *xt.last().unwrap_or(&x_max)),
        y_range: (0.0, 1.0),
        x_ticks: xt.iter().map(|v| (*v, format!("{v:.0}"))).collect(),
        y_fmt: |v| format!("{:.0}", v * 100.0),
        series: std::iter::once(svg::Series {
            name: format!("P(alive), customers in bands of {width} days"),
            points: rows.iter().map(|r| (mid(r), num(r, "mean_p_alive"))).collect(),
            color: svg::BLUE,
            dashed: false,
            dots: Some(
                rows.iter()
                    .map(|r| {
                        format!(
                            "{}–{} days: {} customers, average P(alive) {}",
                            text(r, "recency_from"),
                            text(r, "recency_to"),
                            text(r, "customers"),
                            svg::pct(num(r, "mean_p_alive"))
                        )
                    })
                    .collect(),
            ),
        })
        .chain(purchase.is_some().then(|| svg::Series {
            name: "P(a purchase in the next 90 days)".into(),
            points: rows.iter().map(|r| (mid(r), num(r, "mean_p_purchase_90"))).collect(),
            color: svg::ORANGE,
            dashed: true,
            dots: Some(
                rows.iter()
                    .map(|r| {
                        format!(
                            "{}–{} days: average P(a purchase in the next 90 days) {}",
                            text(r, "recency_from"),
                            text(r, "recency_to"),
                            svg::pct(num(r, "mean_p_purchase_90"))
                        )
                    })
                    .collect(),
            ),
        }))
        .collect(),
        marks: Vec::new(),
        height: 320.0,
    };
    let n = rows.len();
    Ok(Some(Chart {
        id: "p_alive_recency",
        title: "Still a customer? P(alive) against recency".into(),
        guide: "The chosen model's chance that a customer is still a customer (P(alive), solid) and that they buy in the next 90 days (dashed), averaged per band of days since their last purchase; where P(alive) falls below 50 %, win-back starts. When the data cannot tell whether silent customers are gone (clv_params: identified = 0), P(alive) stays near 100 % and the purchase probability is the line to read.".into(),
        source: "clv (grouped by bands of recency_days)".into(),
        svg: chart.svg("p_alive_recency", "Average P(alive) by recency"),
        rows,
        total_rows: n,
        cap_note: None,
        partial_period: None,
    }))
}

/// The width in days of the recency bands: a round number giving about [`RECENCY_BANDS`] bands.
pub fn band_width(max_recency: i64) -> i64 {
    let raw = (max_recency + 1) as f64 / RECENCY_BANDS as f64;
    if raw <= 1.0 {
        return 1;
    }
    svg::nice_step(raw).round().max(1.0) as i64
}
