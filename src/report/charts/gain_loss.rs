//! Gain-loss waterfall (issue 34): how the focus group's spend went from period A to period B.

use polars::prelude::*;
use serde_json::{Map, Value};

use crate::error::Result;
use crate::report::frames::{num, obj, rows, text};
use crate::report::svg::{self, Svg, WIDTH};
use crate::report::{Chart, Tables};

/// The waterfall of `gain_loss`'s first row (the focus group against the first other group, or
/// against every other line when it is the only group): period A's spend, the six parts, period B's.
pub(crate) fn gain_loss(t: &Tables, decimals: i32) -> Result<Option<Chart>> {
    let parts = ["new", "lost", "increased", "decreased", "switched_from_comparison", "switched_to_comparison"];
    let mut want = vec!["focus_group", "comparison_group", "comparison_order", "focus_a", "focus_b"];
    want.extend(parts);
    if !t.has_columns("gain_loss", &want)? {
        return Ok(None);
    }
    let Some(lf) = t.scan("gain_loss")? else { return Ok(None) };
    let df = t.collect("gain_loss", lf.sort(["comparison_order"], SortMultipleOptions::default()))?;
    let all = rows(&df);
    let Some(first) = all.first() else { return Ok(None) };
    let comparison = match first.get("comparison_group") {
        Some(Value::String(s)) => s.clone(),
        _ => "every other line".to_string(),
    };
    let focus = text(first, "focus_group");
    // Each step: its label, its amount, and whether it is a total (drawn from 0).
    let mut steps: Vec<(String, f64, bool)> = vec![("period A".into(), num(first, "focus_a"), true)];
    let names = ["new customers", "lost customers", "spent more", "spent less", "switched from", "switched to"];
    for (p, name) in parts.iter().zip(names) {
        let label = if p.starts_with("switched") { format!("{name} {comparison}") } else { name.to_string() };
        steps.push((label, num(first, p), false));
    }
    steps.push(("period B".into(), num(first, "focus_b"), true));
    let mut chart_rows: Vec<Map<String, Value>> = Vec::new();
    let mut running = 0.0;
    for (label, amount, total) in &steps {
        let start = if *total { 0.0 } else { running };
        let end = if *total { *amount } else { running + amount };
        running = end;
        chart_rows.push(obj(vec![
            ("step", label.clone().into()),
            ("amount", (*amount).into()),
            ("start", start.into()),
            ("end", end.into()),
        ]));
    }
    let lo = chart_rows.iter().map(|r| num(r, "start").min(num(r, "end"))).fold(0.0, f64::min);
    let hi = chart_rows.iter().map(|r| num(r, "start").max(num(r, "end"))).fold(0.0, f64::max);
    let ticks = svg::ticks(lo, hi, 5);
    let range = (ticks.first().copied().unwrap_or(lo).min(lo), ticks.last().copied().unwrap_or(hi).max(hi));
    let (h, left, right, top, bottom) = (340.0, 70.0, WIDTH - 16.0, 24.0, 260.0);
    let y = |v: f64| bottom - (v - range.0) / (range.1 - range.0).max(f64::MIN_POSITIVE) * (bottom - top);
    let mut s = Svg::new(h);
    for &tk in &ticks {
        s.line((left, y(tk)), (right, y(tk)), "#e3e6ea", 1.0, false);
        s.text((left - 6.0, y(tk) + 4.0), &svg::short(tk), "end", 11.0, "#555");
    }
    s.line((left, y(0.0)), (right, y(0.0)), "#999", 1.0, false);
    s.vtext((14.0, (top + bottom) / 2.0), "spend", 12.0);
    let slot = (right - left) / chart_rows.len() as f64;
    for (i, (r, (_, _, total))) in chart_rows.iter().zip(&steps).enumerate() {
        let (a, b) = (num(r, "start"), num(r, "end"));
        let color = if *total {
            svg::BLUE
        } else if b >= a {
            svg::GREEN
        } else {
            svg::RED
        };
        let x = left + i as f64 * slot + slot * 0.15;
        let title = format!("{}: {}", text(r, "step"), svg::thousands(num(r, "amount"), decimals.max(0) as usize));
        s.rect(x, y(a.max(b)), slot * 0.7, (y(a.min(b)) - y(a.max(b))).max(1.0), color, Some(&title));
        s.text((x + slot * 0.35, y(a.max(b)) - 4.0), &svg::short(num(r, "amount")), "middle", 10.0, "#333");
        // Labels on two lines under the axis (the longer ones are cut, whole in the hover title).
        let label = text(r, "step");
        let (one, two) = label.split_once(' ').unwrap_or((label.as_str(), ""));
        s.text_fit((x + slot * 0.35, bottom + 16.0), one, slot - 4.0, "middle", 10.0, "#333");
        s.text_fit((x + slot * 0.35, bottom + 29.0), two, slot - 4.0, "middle", 10.0, "#333");
    }
    s.text(((left + right) / 2.0, h - 8.0), &format!("{focus}: period A to period B"), "middle", 12.0, "#333");
    let n = chart_rows.len();
    Ok(Some(Chart {
        id: "gain_loss",
        title: format!("Where {focus}'s spend went: gains and losses against {comparison}"),
        guide: "From period A's spend (left) to period B's (right): new and lost customers, customers who spent more or less, and spend that moved from or to the other group. Green adds, red takes away.".into(),
        source: "gain_loss (its first row)".into(),
        svg: s.finish("gain_loss", "Gain-loss waterfall"),
        rows: chart_rows,
        total_rows: n,
        cap_note: (all.len() > 1).then(|| format!("gain_loss has {} comparisons; the first is drawn", all.len())),
        partial_period: None,
    }))
}
