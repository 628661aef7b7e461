//! `evergreen report` (issue 16): one self-contained HTML page with charts of an output folder, for
//! people who read pictures, not Parquet.
//!
//! The page is built in three steps: [`gather`] reads the output's tables and aggregates what each
//! chart shows into small rows (the R × F grid, lapse buckets, recency bands: a few hundred numbers
//! whatever the dump size; long lists are capped and say so); [`page::render`] draws them as inline
//! SVG ([`svg`]) and embeds the same rows as a JSON block (`<script type="application/json"
//! id="evergreen-data">`), so a test, or an analyst, can check every charted value against the
//! tables; [`write`] puts the file in place atomically (a hidden temporary name beside it, renamed
//! over it when complete). The page has no script and loads nothing: it opens offline, in a mail
//! attachment, and prints to PDF.

pub mod charts;
mod frames;
pub mod page;
pub mod svg;

use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{one_line, Error, Result};
use frames::{int_col, num, rows, text, values};

pub use charts::{band_width, partial_period, PAIRS_RANKED_BY};

/// The version of the embedded JSON's layout.
pub const DATA_FORMAT: u32 = 2;
/// Rows of the strongest-pairs chart.
pub const TOP_PAIRS: usize = 15;
/// Cohorts (the latest 24) and periods (0 to 24, so 25 columns) of the retention heatmap.
pub const COHORTS: usize = 24;
pub const PERIODS: i64 = 24;
/// Segments charted (in segment order); more are left out and said so.
pub const SEGMENTS: usize = 30;
/// Bands of the P(alive) vs recency chart (about this many, of a round width in days).
pub const RECENCY_BANDS: usize = 15;

/// Everything the page shows, as embedded in it.
#[derive(Debug, Serialize)]
pub struct Data {
    pub format: u32,
    pub generator: String,
    /// The folder charted (the latest complete partition of a root).
    pub tables: String,
    pub as_of: Option<String>,
    /// For a `compare` output: the as-of dates of the earlier and the later snapshot.
    pub from_as_of: Option<String>,
    pub to_as_of: Option<String>,
    pub headline: Headline,
    pub charts: Vec<Chart>,
}

/// The numbers at the top of the page.
#[derive(Debug, Serialize, Default)]
pub struct Headline {
    pub customers: Option<i64>,
    /// Every purchase order, customers' and guests' (`kpis.orders`).
    pub orders: Option<i64>,
    /// Every kept line's amount, customers' and guests', net of returns (`kpis.revenue`).
    pub revenue: Option<f64>,
    /// The customers' part: their purchase orders (the sum of `customers.frequency`) and the amount
    /// of the lines naming a customer (`counts.revenue.customers`), which the deciles share out.
    pub customer_orders: Option<i64>,
    pub customer_revenue: Option<f64>,
    /// The guests' part (lines with no customer): orders − customer_orders, and
    /// `counts.revenue.guests` (or `kpis.guest_revenue`).
    pub guest_orders: Option<i64>,
    pub guest_revenue: Option<f64>,
    /// Minus the lines below zero, inside both parts (`counts.revenue.returns`).
    pub returns: Option<f64>,
    /// Share of revenue from the top 10 % and 20 % of customers by monetary (`monetary_deciles`).
    pub top10_revenue_share: Option<f64>,
    pub top20_revenue_share: Option<f64>,
    /// Customers with recency_days above each lapse threshold.
    pub lapsed: Vec<Lapsed>,
    pub input_files: usize,
    pub lines_read: Option<i64>,
    pub lines_used: Option<i64>,
    pub filtered_lines: Option<i64>,
    pub engine: Option<String>,
    pub job: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Lapsed {
    pub days: i64,
    pub customers: i64,
}

/// One chart: what it is, where its numbers come from, and the numbers.
#[derive(Debug, Serialize)]
pub struct Chart {
    pub id: &'static str,
    pub title: String,
    /// One line on how to read it.
    pub guide: String,
    /// The table (or tables) the rows come from.
    pub source: String,
    /// The rows charted, in the chart's order; column names as in the source table.
    pub rows: Vec<Map<String, Value>>,
    /// Rows of the source before the cap: the aggregated rows, or for a listing (top_pairs) the
    /// source table's rows, where a pair appears once per product ranking it.
    pub total_rows: usize,
    /// Said under the chart when rows were left out.
    pub cap_note: Option<String>,
    /// Cohorts: the period holding the day before the as-of date when it is not over (its cells
    /// are hatched and left out of the colour scale).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partial_period: Option<PartialPeriod>,
    #[serde(skip)]
    pub svg: String,
}

/// A cohort period the as-of date falls inside: its first day, the days of it before the as-of
/// date, and its length.
#[derive(Debug, Serialize, Clone, PartialEq)]
pub struct PartialPeriod {
    pub start: String,
    pub days: i64,
    pub of_days: i64,
    /// As shown: `Dec 2011 (9 of 31 days)`, `week of 2024-03-04 (2 of 7 days)`.
    pub label: String,
}

/// What `report` wrote, for the log line.
#[derive(Debug, Serialize)]
pub struct Written {
    pub out: String,
    pub tables: String,
    pub charts: usize,
    pub bytes: u64,
    pub seconds: f64,
}

pub(crate) fn unreadable(file: &Path, why: impl std::fmt::Display) -> Error {
    Error::Unreadable { file: file.to_path_buf(), reason: one_line(&why.to_string()) }
}

/// `evergreen report`: read `tables` (an output folder or a root of `as_of=` partitions), write
/// the page to `out`.
pub fn report(tables: &Path, out: &Path) -> Result<Written> {
    let started = std::time::Instant::now();
    check_out(tables, out)?;
    let data = gather(tables)?;
    let html = page::render(&data);
    write(out, &html)?;
    Ok(Written {
        out: out.display().to_string(),
        tables: data.tables.clone(),
        charts: data.charts.len(),
        bytes: html.len() as u64,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The page must be an `.html` file outside the output it charts (an extra file in an output
/// folder would make the next run refuse to replace it).
pub fn check_out(tables: &Path, out: &Path) -> Result<()> {
    let ext = out.extension().map(|e| e.to_string_lossy().to_lowercase()).unwrap_or_default();
    if ext != "html" && ext != "htm" {
        return Err(Error::Config(format!("--out {}: expected an .html file", out.display())));
    }
    if out.is_dir() {
        return Err(Error::Output { path: out.to_path_buf(), reason: "is a folder; expected an .html file".into() });
    }
    if crate::output::resolved(out).starts_with(crate::output::resolved(tables)) {
        return Err(Error::Output {
            path: out.to_path_buf(),
            reason: format!("lies inside the output folder {}; write the report beside it", tables.display()),
        });
    }
    Ok(())
}

/// Write the page atomically: a hidden temporary file beside `out`, renamed over it.
fn write(out: &Path, html: &str) -> Result<()> {
    let err = |e: &dyn std::fmt::Display| Error::Output { path: out.to_path_buf(), reason: one_line(&e.to_string()) };
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.is_dir() {
            return Err(err(&"its folder does not exist"));
        }
    }
    let tmp = crate::output::temp_beside(out)?;
    let done = std::fs::write(&tmp, html)
        .and_then(|_| std::fs::File::open(&tmp)?.sync_all())
        .and_then(|_| std::fs::rename(&tmp, out));
    if let Err(e) = done {
        let _ = std::fs::remove_file(&tmp);
        return Err(err(&e));
    }
    Ok(())
}

/// Run `f` on every item on its own thread; the results in the items' order (a panic is an
/// internal error naming `what`).
fn side_by_side<I: Sync, T: Send>(items: &[I], what: &str, f: impl Fn(&I) -> Result<T> + Sync) -> Vec<Result<T>> {
    std::thread::scope(|s| {
        let handles: Vec<_> = items.iter().map(|item| s.spawn(|| f(item))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(Error::Internal(format!("report: {what} panicked")))))
            .collect()
    })
}

/// The output's tables; those several charts read are held in memory (read once, in parallel).
pub struct Tables {
    dir: PathBuf,
    files: Vec<String>,
    /// The run's score bins (the R × F grid's size).
    bins: Option<i64>,
    /// The analysis date and the cohort period (`month` or `week`) of the run.
    as_of: Option<chrono::NaiveDate>,
    cohort_period: Option<String>,
    held: std::collections::HashMap<&'static str, DataFrame>,
    /// The tables' bytes, read whole and checked against the manifest.
    snap: crate::snapshot::ConsistentSnapshot,
}

/// Every table a chart or the headline reads: only these are read (and checked against the
/// manifest), so the output's largest tables that no chart shows (basket_pairs, lapsed_customers,
/// customer_tags) cost the report nothing.
const CHARTED: [&str; 15] = [
    "customers",
    "clv",
    "clv_frequency",
    "clv_holdout",
    "clv_tracking",
    "cohorts",
    "cross_shop",
    "gain_loss",
    "kpis",
    "monetary_deciles",
    "purchase_deciles",
    "segment_descriptions",
    "segment_migration",
    "segment_summary",
    "top_pairs",
];

/// Tables read by more than one chart, and the columns they need.
const HELD: [(&str, &[&str]); 3] = [
    ("customers", &["r_score", "f_score", "monetary", "lapse_bucket", "lapse_bucket_order", "recency_days", "frequency"]),
    ("clv", &["clv", "clv_decile", "recency_days", "p_alive", "p_purchase_90"]),
    ("cohorts", &["cohort", "period_index", "cohort_customers", "active_customers", "retention"]),
];

impl Tables {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.parquet"))
    }

    fn has(&self, name: &str) -> bool {
        self.files.iter().any(|f| f == &format!("{name}.parquet")) && self.snap.table(name).is_some()
    }

    /// Read the [`HELD`] tables' columns (those each has) into memory, side by side.
    fn hold(&mut self) -> Result<()> {
        let read =
            side_by_side(&HELD, "reading a table", |(name, cols)| -> Result<Option<(&'static str, DataFrame)>> {
                let started = std::time::Instant::now();
                let have = self.columns(name)?;
                let Some(lf) = self.scan(name)? else { return Ok(None) };
                let keep: Vec<Expr> = cols.iter().filter(|c| have.iter().any(|h| h == *c)).map(|c| col(*c)).collect();
                let df = self.collect(name, lf.select(keep))?;
                tracing::debug!("report: read {name} in {:.3} s", started.elapsed().as_secs_f64());
                Ok(Some((*name, df)))
            });
        for r in read {
            if let Some((name, df)) = r? {
                self.held.insert(name, df);
            }
        }
        Ok(())
    }

    /// The table (its held columns, or all of the file), or None when the output has no such table.
    fn scan(&self, name: &str) -> Result<Option<LazyFrame>> {
        if !self.has(name) {
            return Ok(None);
        }
        if let Some(df) = self.held.get(name) {
            return Ok(Some(df.clone().lazy()));
        }
        self.snap.table(name).map(|t| t.lazy()).transpose()
    }

    /// Whether the output has the table with all these columns (a table of an older version
    /// may lack some: its chart is then left out, not the whole report).
    fn has_columns(&self, name: &str, want: &[&str]) -> Result<bool> {
        let have = self.columns(name)?;
        Ok(!have.is_empty() && want.iter().all(|w| have.iter().any(|h| h == w)))
    }

    /// A held table's columns in memory.
    fn frame(&self, name: &str) -> Result<DataFrame> {
        self.held.get(name).cloned().ok_or_else(|| Error::Internal(format!("report: {name} is not held")))
    }

    fn columns(&self, name: &str) -> Result<Vec<String>> {
        if let Some(df) = self.held.get(name) {
            return Ok(df.get_column_names().iter().map(|n| n.to_string()).collect());
        }
        let Some(mut lf) = self.scan(name)? else { return Ok(Vec::new()) };
        let schema = lf.collect_schema().map_err(|e| unreadable(&self.path(name), e))?;
        Ok(schema.iter_names().map(|n| n.to_string()).collect())
    }

    fn collect(&self, name: &str, lf: LazyFrame) -> Result<DataFrame> {
        lf.collect().map_err(|e| unreadable(&self.path(name), e))
    }
}

/// Read the output and aggregate what every chart shows.
pub fn gather(tables_arg: &Path) -> Result<Data> {
    // One run's tables, whole: a run replacing the folder meanwhile never gives a mix (issue 26).
    let snap = crate::snapshot::read_consistent_only(tables_arg, &|name| CHARTED.contains(&name))?;
    let dir = snap.dir.clone();
    let partitions = if dir == tables_arg { Vec::new() } else { crate::output::complete_partitions(tables_arg) };
    let manifest = snap.manifest.clone();
    let files: Vec<String> = manifest["files"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let bins = manifest["config"]["bins"].as_i64();
    let as_of = manifest["as_of"].as_str().map(str::to_string);
    let mut t = Tables {
        dir: dir.clone(),
        files,
        bins,
        as_of: as_of.as_deref().and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
        cohort_period: manifest["config"]["trends"]["cohort_period"].as_str().map(str::to_string),
        held: Default::default(),
        snap,
    };
    t.hold()?;
    let decimals = manifest["config"]["money_decimals"].as_i64().unwrap_or(2) as i32;

    let mut charts = Vec::new();
    let mut headline = headline(&manifest);
    let kpis = kpi_rows(&t, &partitions)?;
    // The headline is the charted snapshot's (a root's latest partition), never an older one's.
    if let Some(k) = kpis.iter().rev().find(|k| as_of.as_deref().is_some_and(|d| text(k, "as_of") == d)) {
        headline.customers = k.get("customers").and_then(Value::as_i64);
        headline.orders = k.get("orders").and_then(Value::as_i64);
        headline.revenue = k.get("revenue").and_then(Value::as_f64);
        headline.guest_revenue = headline.guest_revenue.or_else(|| k.get("guest_revenue").and_then(Value::as_f64));
        headline.returns = headline.returns.or_else(|| k.get("returns").and_then(Value::as_f64));
        headline.lapsed = k
            .iter()
            .filter_map(|(name, v)| {
                Some(Lapsed { days: name.strip_prefix("lapsed_")?.parse().ok()?, customers: v.as_i64()? })
            })
            .collect();
        headline.lapsed.sort_by_key(|l| l.days);
    }
    // Every chart reads its own table(s): built side by side, kept in this order.
    let built = side_by_side(&charts::BUILDERS, "a chart", |(name, build)| {
        let started = std::time::Instant::now();
        let chart = build(&t, decimals);
        tracing::debug!("report: {name} in {:.3} s", started.elapsed().as_secs_f64());
        chart
    });
    for chart in built {
        charts.extend(chart?);
    }
    if kpis.len() >= 2 {
        charts.push(charts::kpi_lines(kpis));
    }
    if headline.customers.is_none() && t.has("customers") {
        let lf = t.scan("customers")?.expect("has customers").select([len().cast(DataType::Int64).alias("n")]);
        headline.customers = t.collect("customers", lf)?.column("n")?.i64()?.get(0);
    }
    if headline.lapsed.is_empty() && t.columns("customers")?.iter().any(|c| c == "recency_days") {
        // An output without kpis (an older one): count from the customers' recency.
        let thresholds: Vec<i64> = manifest["config"]["lapse_thresholds"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_i64).collect())
            .unwrap_or_default();
        let recency = int_col(&t.frame("customers")?, "recency_days")?;
        let mut lapsed: Vec<Lapsed> = thresholds.iter().map(|&days| Lapsed { days, customers: 0 }).collect();
        for r in values(&recency).flatten() {
            for l in lapsed.iter_mut().filter(|l| r > l.days) {
                l.customers += 1;
            }
        }
        headline.lapsed = lapsed;
    }
    // The customers' part and the guests': every headline number says what it counts.
    if t.columns("customers")?.iter().any(|c| c == "frequency") {
        let freq = int_col(&t.frame("customers")?, "frequency")?;
        headline.customer_orders = Some(values(&freq).flatten().sum());
    }
    if headline.customers.is_some() {
        headline.guest_orders = headline.orders.zip(headline.customer_orders).map(|(all, c)| (all - c).max(0));
        if headline.customer_revenue.is_none() {
            let scale = 10f64.powi(decimals);
            headline.customer_revenue =
                headline.revenue.zip(headline.guest_revenue).map(|(all, g)| ((all - g) * scale).round() / scale);
        }
    } else {
        // No customers (a basket output): the orders are all there is, none split.
        headline.customer_revenue = None;
        headline.guest_revenue = None;
        headline.returns = None;
    }
    // Top 10 % / 20 %: monetary deciles 1 and 2, from 10 customers up (with fewer, a decile is
    // not a tenth of the customers).
    let tenths = headline.customers.is_none_or(|n| n >= 10);
    if let Some(md) = charts.iter().find(|c| c.id == "monetary_deciles").filter(|_| tenths) {
        let at = |d: i64| {
            md.rows
                .iter()
                .find(|r| r.get("decile").and_then(Value::as_i64) == Some(d))
                .map(|r| num(r, "cumulative_revenue_share"))
        };
        headline.top10_revenue_share = at(1);
        headline.top20_revenue_share = at(2);
    }
    Ok(Data {
        format: DATA_FORMAT,
        generator: format!("{} {}", crate::output::TOOL, env!("CARGO_PKG_VERSION")),
        tables: dir.display().to_string(),
        as_of,
        from_as_of: manifest["from_as_of"].as_str().map(str::to_string),
        to_as_of: manifest["to_as_of"].as_str().map(str::to_string),
        headline,
        charts,
    })
}

/// The input summary from the manifest (orders and revenue too, for outputs without kpis).
fn headline(m: &Value) -> Headline {
    let c = &m["counts"];
    Headline {
        orders: c["purchase_orders"].as_i64().or_else(|| m["basket"]["total_purchase_orders"].as_i64()),
        revenue: c["revenue"]["total"].as_f64(),
        customer_revenue: c["revenue"]["customers"].as_f64(),
        guest_revenue: c["revenue"]["guests"].as_f64(),
        returns: c["revenue"]["returns"].as_f64(),
        input_files: m["input_files"].as_array().map_or(0, Vec::len),
        lines_read: c["lines_read"].as_i64(),
        lines_used: c["lines_used"].as_i64(),
        filtered_lines: c["filtered_lines"].as_i64(),
        engine: m["engine"]["name"].as_str().map(str::to_string),
        // The subcommand: the first argument after the program that is not a flag.
        job: m["arguments"]
            .as_array()
            .and_then(|a| a.iter().skip(1).filter_map(Value::as_str).find(|w| !w.starts_with('-')))
            .map(str::to_string),
        ..Headline::default()
    }
}

/// The kpis rows of every partition of the root (oldest first), or of the one output.
fn kpi_rows(t: &Tables, partitions: &[(chrono::NaiveDate, PathBuf)]) -> Result<Vec<Map<String, Value>>> {
    let mut out = Vec::new();
    if partitions.is_empty() {
        if let Some(k) = t.snap.table("kpis") {
            out.extend(rows(&k.frame()?));
        }
    }
    for (_, d) in partitions {
        // Each partition whole too (a rerun of its date may replace it meanwhile).
        let snap = if *d == t.dir { None } else { Some(crate::snapshot::read_consistent_only(d, &|n| n == "kpis")?) };
        let snap = snap.as_ref().unwrap_or(&t.snap);
        if let Some(k) = snap.table("kpis") {
            out.extend(rows(&k.frame()?));
        }
    }
    out.sort_by_key(|r| text(r, "as_of"));
    Ok(out)
}
