//! Segment movement: customers moving between segments since the earlier snapshot.

use polars::prelude::*;

use crate::error::Result;
use crate::report::svg;
use crate::report::frames::{num, rows, text};
use crate::report::{Chart, Tables};

/// Segment movement between two snapshots: customers per (from, to) segment.
pub(crate) fn segment_movement(t: &Tables) -> Result<Option<Chart>> {
    if !t.has_columns("segment_migration", &["from_as_of", "to_as_of", "from_segment", "to_segment", "customers"])? {
        return Ok(None);
    }
    let Some(lf) = t.scan("segment_migration")? else { return Ok(None) };
    let df = t.collect(
        "segment_migration",
        lf.select([col("from_as_of"), col("to_as_of"), col("from_segment"), col("to_segment"), col("customers")])
            .sort(["from_segment", "to_segment"], Default::default()),
    )?;
    let rows = rows(&df);
    if rows.is_empty() {
        return Ok(None);
    }
    // Segment order from the descriptions when present; `new` first, `gone` last, others by name.
    let mut order: Vec<String> = Vec::new();
    if let Some(d) = t
        .scan("segment_descriptions")?
        .filter(|_| t.has_columns("segment_descriptions", &["segment", "segment_order"]).unwrap_or(false))
    {
        let d = t.collect(
            "segment_descriptions",
            d.select([col("segment"), col("segment_order")]).sort(["segment_order"], Default::default()),
        )?;
        order = self::rows(&d).iter().map(|r| text(r, "segment")).collect();
    }
    let rank = |s: &str| -> (usize, String) {
        match s {
            "new" => (0, String::new()),
            "gone" => (usize::MAX, String::new()),
            _ => (order.iter().position(|o| o == s).map_or(usize::MAX - 1, |p| p + 1), s.to_string()),
        }
    };
    let mut from: Vec<String> = rows.iter().map(|r| text(r, "from_segment")).collect();
    let mut to: Vec<String> = rows.iter().map(|r| text(r, "to_segment")).collect();
    for v in [&mut from, &mut to] {
        v.sort_by_key(|s| rank(s));
        v.dedup();
    }
    let find = |f: &str, t: &str| rows.iter().find(|r| text(r, "from_segment") == f && text(r, "to_segment") == t);
    let chart = svg::Heatmap {
        rows: from.clone(),
        cols: to.clone(),
        values: from.iter().map(|f| to.iter().map(|s| find(f, s).map(|r| num(r, "customers"))).collect()).collect(),
        texts: from
            .iter()
            .map(|f| {
                to.iter().map(|s| find(f, s).map(|r| svg::short(num(r, "customers"))).unwrap_or_default()).collect()
            })
            .collect(),
        titles: from
            .iter()
            .map(|f| {
                to.iter()
                    .map(|s| {
                        format!(
                            "{f} → {s}: {} customers",
                            find(f, s).map(|r| text(r, "customers")).unwrap_or_else(|| "0".into())
                        )
                    })
                    .collect()
            })
            .collect(),
        x_label: format!("segment on {} →", text(&rows[0], "to_as_of")),
        y_label: format!("segment on {}", text(&rows[0], "from_as_of")),
        partial: Vec::new(),
        partial_note: None,
        row_label_width: 130.0,
        legend: "customers who moved so".into(),
        scale_fmt: svg::short,
    };
    let n = rows.len();
    Ok(Some(Chart {
        id: "segment_movement",
        title: "Segment movement between snapshots".into(),
        guide: "Rows: the segment a customer was in at the earlier snapshot; columns: where they are now. The diagonal stayed; `new` and `gone` joined or left.".into(),
        source: "segment_migration".into(),
        svg: chart.svg("segment_movement", "Customers moving between segments"),
        rows,
        total_rows: n,
        cap_note: None,
        partial_period: None,
    }))
}
