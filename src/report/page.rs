//! The report page: headline numbers, one card per chart, the data as JSON, print styles. No
//! script runs and nothing is fetched: the CSS and every chart are inside the file.

use std::fmt::Write as _;

use super::svg::{esc, pct, short, thousands};
use super::{Data, Headline};

/// "1 chart", "2 charts".
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

const CSS: &str = r#"
:root { --ink: #1d232b; --muted: #5b6470; --line: #e1e5ea; --card: #fff; --bg: #f4f6f8; --blue: #2f6fb3; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
header { padding: 22px 28px 8px; }
header h1 { margin: 0 0 2px; font-size: 22px; }
header p { margin: 0; color: var(--muted); }
main { padding: 8px 28px 28px; max-width: 1500px; margin: 0 auto; }
.headline { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 12px; margin: 14px 0 18px; }
.kpi { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.kpi .label { color: var(--muted); font-size: 12px; }
.kpi .value { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.kpi .sub { color: var(--muted); font-size: 12px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 16px; }
figure.card { margin: 0; background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px 10px; break-inside: avoid; page-break-inside: avoid; }
figure.card h2 { margin: 0 0 2px; font-size: 16px; }
figure.card p.guide { margin: 0 0 8px; color: var(--muted); font-size: 12.5px; }
figure.card svg { display: block; width: 100%; height: auto; }
figure.card figcaption { color: var(--muted); font-size: 11.5px; margin-top: 4px; }
.input { color: var(--muted); font-size: 12.5px; margin: 0 0 6px; }
footer { color: var(--muted); font-size: 12px; padding: 0 28px 24px; max-width: 1500px; margin: 0 auto; }
.empty { color: var(--muted); }
@media (max-width: 640px) { .grid { grid-template-columns: 1fr; } main, header, footer { padding-left: 12px; padding-right: 12px; } }
@page { size: A4; margin: 12mm; }
@media print {
  body { background: #fff; font-size: 11px; }
  header, main, footer { padding-left: 0; padding-right: 0; max-width: none; }
  .grid { grid-template-columns: 1fr 1fr; gap: 10px; }
  figure.card { border-color: #ccc; padding: 8px 10px 6px; }
  .kpi { border-color: #ccc; padding: 6px 10px; }
  .kpi .value { font-size: 16px; }
  .headline { grid-template-columns: repeat(4, 1fr); }
}
"#;

/// The JSON block, safe inside `<script>`: `<`, `>` and `&` as JSON escapes.
fn json_block(data: &Data) -> String {
    let json = serde_json::to_string(data).unwrap_or_else(|_| "{}".into());
    json.replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
}

fn kpi(out: &mut String, label: &str, value: &str, sub: &str) {
    let _ = write!(
        out,
        r#"<div class="kpi"><div class="label">{}</div><div class="value">{}</div><div class="sub">{}</div></div>"#,
        esc(label),
        esc(value),
        esc(sub)
    );
}

fn headline(data: &Data) -> String {
    let h = &data.headline;
    let mut out = String::from(r#"<section class="headline" aria-label="headline numbers">"#);
    match (&data.as_of, &data.from_as_of, &data.to_as_of) {
        (None, Some(from), Some(to)) => {
            kpi(&mut out, "compared from", from, "the as-of date of the earlier snapshot");
            kpi(&mut out, "to", to, "the as-of date of the later snapshot");
        }
        (as_of, _, _) => kpi(&mut out, "as of", as_of.as_deref().unwrap_or("–"), "the analysis date (data before it)"),
    }
    let customers = h.customers.map(|c| thousands(c as f64, 0));
    if let Some(c) = &customers {
        kpi(&mut out, "customers", c, "with a purchase order (guests, with no customer id, are not counted)");
    }
    // With customers, money and orders are split: the customers' part (what the deciles and the
    // top 10 % share out) beside the count, the guests' part apart, then the total.
    if let (Some(c), Some(r)) = (&customers, h.customer_revenue) {
        kpi(&mut out, "customers' revenue", &short(r), &format!("{} from these {c} customers, net of returns", thousands(r, 2)));
    }
    if let (Some(c), Some(o)) = (&customers, h.customer_orders) {
        kpi(&mut out, "customers' orders", &thousands(o as f64, 0), &format!("purchase orders of these {c} customers"));
    }
    if let (Some(_), Some(g)) = (&customers, h.guest_revenue) {
        let orders = h.guest_orders.map(|o| format!("{} guest orders; ", thousands(o as f64, 0))).unwrap_or_default();
        kpi(
            &mut out,
            "guests' revenue (no customer id)",
            &short(g),
            &format!("{}, {orders}in no customer figure", thousands(g, 2)),
        );
    }
    if let Some(r) = h.revenue {
        let orders = h.orders.map(|o| format!(" in {} orders", thousands(o as f64, 0))).unwrap_or_default();
        let (label, sub) = if customers.is_some() && h.customer_revenue.is_some() {
            ("all revenue", format!("{}{orders}: customers' + guests', net of returns", thousands(r, 2)))
        } else {
            ("revenue", format!("{}{orders} (net of returns)", thousands(r, 2)))
        };
        kpi(&mut out, label, &short(r), &sub);
    }
    if h.revenue.is_none() || customers.is_none() {
        if let Some(o) = h.orders {
            kpi(&mut out, "orders", &thousands(o as f64, 0), "purchase orders");
        }
    }
    let of = if h.customer_revenue.is_some() { "of the customers' revenue" } else { "of revenue" };
    if let Some(s) = h.top10_revenue_share {
        kpi(&mut out, "top 10 % of customers", &pct(s), of);
    }
    if let Some(s) = h.top20_revenue_share {
        kpi(&mut out, "top 20 % of customers", &pct(s), of);
    }
    for l in &h.lapsed {
        let share =
            h.customers.filter(|c| *c > 0).map(|c| format!(" ({} of customers)", pct(l.customers as f64 / c as f64)));
        kpi(
            &mut out,
            &format!("lapsed over {} days", l.days),
            &thousands(l.customers as f64, 0),
            &format!("customers with no purchase for more than {} days{}", l.days, share.unwrap_or_default()),
        );
    }
    out.push_str("</section>");
    out
}

fn input_line(h: &Headline) -> String {
    let mut parts = Vec::new();
    if let Some(job) = &h.job {
        parts.push(format!("evergreen {job}"));
    }
    if h.input_files > 0 {
        parts.push(plural(h.input_files, "input file", "input files"));
    }
    if let Some(r) = h.lines_read {
        parts.push(format!("{} lines read", thousands(r as f64, 0)));
    }
    if let Some(f) = h.filtered_lines.filter(|f| *f > 0) {
        parts.push(format!("{} left out by --where", thousands(f as f64, 0)));
    }
    if let Some(u) = h.lines_used {
        parts.push(format!("{} used", thousands(u as f64, 0)));
    }
    if let Some(e) = &h.engine {
        parts.push(format!("{e} engine"));
    }
    parts.join(" · ")
}

/// The whole page.
pub fn render(data: &Data) -> String {
    let mut out = String::with_capacity(256 * 1024);
    let title = match (&data.as_of, &data.from_as_of, &data.to_as_of) {
        (Some(d), _, _) => format!("Customer report, as of {d}"),
        (None, Some(from), Some(to)) => format!("Customer report, from {from} to {to}"),
        _ => "Customer report".to_string(),
    };
    let _ = write!(
        out,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="{gen}"><title>{title}</title><style>{CSS}</style></head>
<body><header><h1>{title}</h1><p>From the tables in <code>{tables}</code>.</p></header><main>"#,
        gen = esc(&data.generator),
        title = esc(&title),
        tables = esc(&data.tables),
    );
    out.push_str(&headline(data));
    let _ = write!(out, r#"<p class="input">{}</p>"#, esc(&input_line(&data.headline)));
    if data.charts.is_empty() {
        out.push_str(r#"<p class="empty">This output has no table the report charts.</p>"#);
    }
    out.push_str(r#"<div class="grid">"#);
    for c in &data.charts {
        let _ = write!(
            out,
            r#"<figure class="card" id="chart-{id}"><h2>{title}</h2><p class="guide">{guide}</p>{svg}<figcaption>Source: {source}{cap}.</figcaption></figure>"#,
            id = c.id,
            title = esc(&c.title),
            guide = esc(&c.guide),
            svg = c.svg,
            source = esc(&c.source),
            cap = c.cap_note.as_deref().map(|n| format!("; {}", esc(n))).unwrap_or_default(),
        );
    }
    out.push_str("</div></main>");
    let _ = write!(
        out,
        r#"<footer>Made by {gen}. Every charted number is in the JSON block <code>evergreen-data</code> inside this file. Money is in the dump's own units.</footer>
<script type="application/json" id="evergreen-data">{json}</script>
</body></html>
"#,
        gen = esc(&data.generator),
        json = json_block(data),
    );
    out
}
