//! Cross-shop Venn counts (issue 34): how many customers buy in which of two or three groups.

use serde_json::{Map, Value};

use crate::error::Result;
use crate::report::frames::{num, rows, text};
use crate::report::svg::{self, Svg, WIDTH};
use crate::report::{Chart, Tables};

/// Circles of a two- or three-group Venn diagram and where each region's numbers go.
fn layout(k: usize) -> (Vec<(f64, f64)>, f64) {
    let cx = WIDTH / 2.0;
    if k == 2 {
        (vec![(cx - 70.0, 160.0), (cx + 70.0, 160.0)], 115.0)
    } else {
        (vec![(cx - 70.0, 130.0), (cx + 70.0, 130.0), (cx, 240.0)], 105.0)
    }
}

/// The point inside the region whose groups are `flags` (a bit per group).
fn region_point(k: usize, flags: usize) -> (f64, f64) {
    let cx = WIDTH / 2.0;
    if k == 2 {
        match flags {
            0b01 => (cx - 120.0, 160.0),
            0b10 => (cx + 120.0, 160.0),
            _ => (cx, 160.0),
        }
    } else {
        match flags {
            0b001 => (cx - 120.0, 105.0),
            0b010 => (cx + 120.0, 105.0),
            0b100 => (cx, 300.0),
            0b011 => (cx, 85.0),
            0b101 => (cx - 75.0, 215.0),
            0b110 => (cx + 75.0, 215.0),
            _ => (cx, 168.0),
        }
    }
}

/// The Venn diagram of `cross_shop`: customers and their share of spend in each region.
pub(crate) fn cross_shop(t: &Tables) -> Result<Option<Chart>> {
    if !t.has_columns("cross_shop", &["group_1", "group_2", "groups", "customers", "amount_share"])? {
        return Ok(None);
    }
    let Some(lf) = t.scan("cross_shop")? else { return Ok(None) };
    let df = t.collect("cross_shop", lf)?;
    let k = if df.column("group_3").is_ok() { 3 } else { 2 };
    let all: Vec<Map<String, Value>> = rows(&df);
    let flags = |r: &Map<String, Value>| {
        (0..k).filter(|i| r.get(&format!("group_{}", i + 1)).and_then(Value::as_bool) == Some(true)).map(|i| 1 << i).sum::<usize>()
    };
    // Each group's name: from the region holding it alone, else from any region holding it.
    let mut names = vec![String::new(); k];
    for (i, name) in names.iter_mut().enumerate() {
        if let Some(r) = all.iter().find(|r| flags(r) & (1 << i) != 0) {
            let label = text(r, "groups");
            *name = if flags(r) == 1 << i { label } else { format!("group {}", i + 1) };
        }
    }
    let (centres, radius) = layout(k);
    let colors = [svg::BLUE, svg::ORANGE, svg::GREEN];
    let h = if k == 2 { 300.0 } else { 380.0 };
    let mut s = Svg::new(h);
    for (i, &(x, y)) in centres.iter().enumerate() {
        s.circle((x, y), radius, &format!("{}33", colors[i]), None);
        let ny = if i == 2 { y + radius + 16.0 } else { y - radius - 8.0 };
        let nx = match (k, i) {
            (_, 0) => x - 40.0,
            (_, 1) => x + 40.0,
            _ => x,
        };
        s.text((nx, ny), &names[i], "middle", 13.0, colors[i]);
    }
    for r in &all {
        let f = flags(r);
        let title = format!(
            "{}: {} customers ({}), {} of the spend",
            text(r, "groups"),
            text(r, "customers"),
            svg::pct(num(r, "customer_share")),
            svg::pct(num(r, "amount_share"))
        );
        let (x, y) = if f == 0 { (12.0, 20.0) } else { region_point(k, f) };
        let anchor = if f == 0 { "start" } else { "middle" };
        let shown = if f == 0 { format!("in no group: {} customers", text(r, "customers")) } else { text(r, "customers") };
        s.text((x, y), &shown, anchor, 14.0, "#222");
        s.text((x, y + 15.0), &format!("{} of spend", svg::pct(num(r, "amount_share"))), anchor, 10.0, "#555");
        // The region's exact numbers on hover, over its label.
        let w = if f == 0 { 200.0 } else { 70.0 };
        let x0 = if f == 0 { x } else { x - w / 2.0 };
        s.rect(x0, y - 16.0, w, 36.0, "#ffffff00", Some(&title));
    }
    let n = all.len();
    Ok(Some(Chart {
        id: "cross_shop",
        title: "Who buys in which groups".into(),
        guide: "Customers in each region of the groups (bought at least one line in the group), with their share of all customers' spend.".into(),
        source: "cross_shop".into(),
        svg: s.finish("cross_shop", "Cross-shop Venn counts"),
        rows: all,
        total_rows: n,
        cap_note: None,
        partial_period: None,
    }))
}
