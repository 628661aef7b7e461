//! Top pairs: the products bought together most beyond chance.

use polars::prelude::*;
use serde_json::{Map, Value};

use crate::error::Result;
use crate::report::svg;
use crate::report::frames::{num, rows, text};
use crate::report::{Chart, TOP_PAIRS, Tables};

/// The measure the pairs are ranked by: the orders holding both beyond what chance would put there,
/// `pair_orders × (1 − 1 / lift)` (leverage in orders). It weighs support: a pair of 5 orders with
/// a lift in the thousands counts 5 at most, a pair of 500 orders with lift 3 counts 333.
pub const PAIRS_RANKED_BY: &str = "orders together beyond chance, pair_orders × (1 − 1/lift)";

/// The strongest pairs (each unordered pair once) by orders together beyond chance, with what
/// chance would give, their lift and support.
pub(crate) fn top_pairs(t: &Tables) -> Result<Option<Chart>> {
    let cols = t.columns("top_pairs")?;
    if !t.has_columns("top_pairs", &["product_id", "partner_id", "pair_orders", "support", "lift"])? {
        return Ok(None);
    }
    let named = cols.iter().any(|c| c == "name") && cols.iter().any(|c| c == "partner_name");
    let orders = || col("pair_orders").cast(DataType::Float64);
    let expected = || orders() / col("lift").cast(DataType::Float64);
    let excess = || orders() - expected();
    let mut select = vec![col("product_id"), col("partner_id")];
    if named {
        select.extend([col("name"), col("partner_name")]);
    }
    select.extend([
        col("pair_orders"),
        col("support"),
        col("lift"),
        expected().alias("expected_orders"),
        excess().alias("excess_orders"),
    ]);
    let lf = t.scan("top_pairs")?.expect("has top_pairs");
    // Each pair appears once per product that ranks it: twice at most. 2 × the cap plus ties is
    // enough to find the first TOP_PAIRS distinct pairs; only rows with an excess at least the
    // K-th largest can be among them, so the sort sees those alone.
    let k = TOP_PAIRS * 2 + 2;
    let ex = t.collect("top_pairs", lf.clone().select([excess().alias("excess_orders")]))?;
    let total_rows = ex.height();
    let mut ex: Vec<f64> = ex.column("excess_orders")?.f64()?.iter().flatten().filter(|v| v.is_finite()).collect();
    let lf = if ex.len() > k {
        let (_, cut, _) = ex.select_nth_unstable_by(k - 1, |a, b| b.total_cmp(a));
        lf.filter(excess().gt_eq(lit(*cut)))
    } else {
        lf
    };
    let sorted = lf.select(select).sort(
        ["excess_orders", "pair_orders", "lift", "product_id", "partner_id"],
        SortMultipleOptions::default()
            .with_order_descending_multi([true, true, true, false, false])
            .with_nulls_last(true),
    );
    let df = t.collect("top_pairs", sorted.limit(k as IdxSize))?;
    let mut seen = std::collections::HashSet::new();
    let rows: Vec<Map<String, Value>> = rows(&df)
        .into_iter()
        .filter(|r| r.get("excess_orders").and_then(Value::as_f64).is_some())
        .filter(|r| {
            let (a, b) = (r["product_id"].to_string(), r["partner_id"].to_string());
            seen.insert(if a <= b { (a, b) } else { (b, a) })
        })
        .take(TOP_PAIRS)
        .collect();
    if rows.is_empty() {
        return Ok(None);
    }
    let label = |r: &Map<String, Value>, id: &str, name: &str| -> String {
        let id_text = text(r, id);
        match r.get(name).and_then(Value::as_str) {
            Some(n) if named => n.trim().to_string(),
            _ => id_text,
        }
    };
    let title = |r: &Map<String, Value>| {
        format!(
            "{} ({}) + {} ({}): in {} orders, {} by chance, lift {:.2}, support {}",
            label(r, "product_id", "name"),
            text(r, "product_id"),
            label(r, "partner_id", "partner_name"),
            text(r, "partner_id"),
            text(r, "pair_orders"),
            svg::thousands(num(r, "expected_orders"), 1),
            num(r, "lift"),
            svg::pct(num(r, "support"))
        )
    };
    let chart = svg::HBarChart {
        labels: rows.iter().map(|r| label(r, "product_id", "name")).collect(),
        sublabels: rows.iter().map(|r| format!("+ {}", label(r, "partner_id", "partner_name"))).collect(),
        bars: vec![
            svg::Bars {
                name: "orders holding both".into(),
                values: rows.iter().map(|r| num(r, "pair_orders")).collect(),
                color: svg::GREEN,
                titles: rows.iter().map(title).collect(),
            },
            svg::Bars {
                name: "by chance (if bought independently)".into(),
                values: rows.iter().map(|r| num(r, "expected_orders")).collect(),
                color: svg::GREY,
                titles: rows.iter().map(title).collect(),
            },
        ],
        x_label: "purchase orders".into(),
        x_fmt: |v| if v.fract() == 0.0 { svg::short(v) } else { svg::thousands(v, 1) },
        notes: rows
            .iter()
            .map(|r| {
                format!(
                    "lift {} · {:.2} %",
                    if num(r, "lift") >= 100.0 { format!("{:.0}", num(r, "lift")) } else { format!("{:.1}", num(r, "lift")) },
                    num(r, "support") * 100.0
                )
            })
            .collect(),
        label_width: 250.0,
    };
    let shown = rows.len();
    Ok(Some(Chart {
        id: "top_pairs",
        title: "Bought together: the strongest pairs".into(),
        guide: "Ranked by the orders holding both beyond what chance would give (orders × (1 − 1/lift)), so a pair seen in a handful of orders cannot top the list on a huge lift. Green: orders holding both; grey: what chance would give; right: lift and the share of all orders (support).".into(),
        source: "top_pairs".into(),
        svg: chart.svg("top_pairs", "Strongest product pairs by orders together beyond chance"),
        rows,
        total_rows,
        cap_note: (total_rows > shown).then(|| {
            format!(
                "the {shown} pairs with the most orders beyond chance among the {total_rows} rows of top_pairs (each product's {} strongest partners in at least {} orders; a pair appears once per product ranking it)",
                crate::tables::basket::TOP_PAIRS_PER_PRODUCT,
                crate::tables::basket::TOP_PAIRS_MIN_ORDERS
            )
        }),
        partial_period: None,
    }))
}
