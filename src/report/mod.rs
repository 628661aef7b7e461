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

pub mod page;
pub mod svg;

use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{one_line, Error, Result};

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

fn unreadable(file: &Path, why: impl std::fmt::Display) -> Error {
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
struct Tables {
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
const CHARTED: [&str; 10] = [
    "customers",
    "clv",
    "cohorts",
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
    ("clv", &["clv", "clv_decile", "recency_days", "p_alive"]),
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

/// A JSON value of one cell (dates as `YYYY-MM-DD`).
fn cell(v: AnyValue) -> Value {
    match v {
        AnyValue::Null => Value::Null,
        AnyValue::Boolean(b) => b.into(),
        AnyValue::Int8(x) => x.into(),
        AnyValue::Int16(x) => x.into(),
        AnyValue::Int32(x) => x.into(),
        AnyValue::Int64(x) => x.into(),
        AnyValue::UInt8(x) => x.into(),
        AnyValue::UInt16(x) => x.into(),
        AnyValue::UInt32(x) => x.into(),
        AnyValue::UInt64(x) => x.into(),
        AnyValue::Float32(x) => f64::from(x).into(),
        AnyValue::Float64(x) => {
            if x.is_finite() {
                x.into()
            } else {
                Value::Null
            }
        }
        AnyValue::String(s) => s.into(),
        AnyValue::StringOwned(s) => s.to_string().into(),
        AnyValue::Date(d) => {
            let date = chrono::NaiveDate::from_num_days_from_ce_opt(d + 719_163);
            date.map(|d| d.to_string()).into()
        }
        other => other.to_string().into(),
    }
}

/// The frame's rows as JSON objects.
fn rows(df: &DataFrame) -> Vec<Map<String, Value>> {
    let cols = df.columns();
    (0..df.height())
        .map(|i| cols.iter().map(|c| (c.name().to_string(), c.get(i).map(cell).unwrap_or(Value::Null))).collect())
        .collect()
}

fn num(row: &Map<String, Value>, key: &str) -> f64 {
    row.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN)
}

fn text(row: &Map<String, Value>, key: &str) -> String {
    match row.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "–".to_string(),
        Some(v) => v.to_string(),
    }
}

/// Per group: rows, the exact sum of the values rounded to minor units, their min and max, and
/// their plain sum (for means). Grouping a held column by a handful of small keys is one pass over
/// the arrays: no hash table of Polars' group-by needed for 10 or 25 groups.
#[derive(Debug, Clone, Copy)]
struct Group {
    n: i64,
    minor: i128,
    min: f64,
    max: f64,
    sum: f64,
}

fn groups<K: Ord + Copy + std::hash::Hash>(
    keys: impl Iterator<Item = Option<K>>,
    values: impl Iterator<Item = Option<f64>>,
    decimals: i32,
) -> std::collections::BTreeMap<K, Group> {
    let scale = 10f64.powi(decimals);
    let mut out: hashbrown::HashMap<K, Group> = hashbrown::HashMap::new();
    for (k, v) in keys.zip(values) {
        let (Some(k), Some(v)) = (k, v) else { continue };
        let g = out.entry(k).or_insert(Group { n: 0, minor: 0, min: f64::INFINITY, max: f64::NEG_INFINITY, sum: 0.0 });
        g.n += 1;
        g.minor += i128::from((v * scale).round() as i64);
        g.min = g.min.min(v);
        g.max = g.max.max(v);
        g.sum += v;
    }
    out.into_iter().collect()
}

/// A held column as integers, or as floats.
fn int_col(df: &DataFrame, name: &str) -> Result<Int64Chunked> {
    Ok(df.column(name)?.cast(&DataType::Int64)?.i64()?.clone())
}

fn float_col(df: &DataFrame, name: &str) -> Result<Float64Chunked> {
    Ok(df.column(name)?.cast(&DataType::Float64)?.f64()?.clone())
}

/// A column's values without a copy, chunk by chunk: the values slice, with a validity check only
/// in chunks that have nulls.
fn values<T: PolarsNumericType>(ca: &ChunkedArray<T>) -> impl Iterator<Item = Option<T::Native>> + '_ {
    ca.downcast_iter().flat_map(|a| {
        let validity = a.validity().filter(|v| v.unset_bits() > 0);
        a.values().iter().enumerate().map(move |(i, v)| validity.is_none_or(|b| b.get_bit(i)).then_some(*v))
    })
}

fn obj(pairs: Vec<(&str, Value)>) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
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
    type Builder = fn(&Tables, i32) -> Result<Option<Chart>>;
    let builders: [(&str, Builder); 10] = [
        ("revenue_concentration", |t, _| concentration(t)),
        ("monetary_deciles", |t, _| monetary_deciles(t)),
        ("rf_heatmap", rf_heatmap),
        ("segments", |t, _| segments(t)),
        ("lapse_buckets", lapse_buckets),
        ("top_pairs", |t, _| top_pairs(t)),
        ("clv_deciles", clv_deciles),
        ("p_alive_recency", |t, _| p_alive_by_recency(t)),
        ("cohort_retention", |t, _| cohort_retention(t)),
        ("segment_movement", |t, _| segment_movement(t)),
    ];
    let built = side_by_side(&builders, "a chart", |(name, build)| {
        let started = std::time::Instant::now();
        let chart = build(&t, decimals);
        tracing::debug!("report: {name} in {:.3} s", started.elapsed().as_secs_f64());
        chart
    });
    for chart in built {
        charts.extend(chart?);
    }
    if kpis.len() >= 2 {
        charts.push(kpi_lines(kpis));
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

/// Revenue concentration: the purchase deciles as a curve of cumulative customer share against
/// cumulative revenue share, the diagonal (everyone spends alike) and the 20 %/80 % point.
fn concentration(t: &Tables) -> Result<Option<Chart>> {
    if !t.has_columns("purchase_deciles", &["decile", "customers", "customer_share", "revenue_share"])? {
        return Ok(None);
    }
    let Some(lf) = t.scan("purchase_deciles")? else { return Ok(None) };
    let df = t.collect(
        "purchase_deciles",
        lf.select([col("decile"), col("customers"), col("customer_share"), col("revenue_share")])
            .sort(["decile"], Default::default()),
    )?;
    let mut rows = rows(&df);
    let (mut cc, mut cr) = (0.0, 0.0);
    for r in rows.iter_mut() {
        cc += num(r, "customer_share");
        cr += num(r, "revenue_share");
        r.insert("cumulative_customer_share".into(), cc.into());
        r.insert("cumulative_revenue_share".into(), cr.into());
    }
    let mut curve = vec![(0.0, 0.0)];
    curve.extend(rows.iter().map(|r| (num(r, "cumulative_customer_share"), num(r, "cumulative_revenue_share"))));
    let dots: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "revenue tenth {}: {} of customers make {} of revenue",
                text(r, "decile"),
                svg::pct(num(r, "cumulative_customer_share")),
                svg::pct(num(r, "cumulative_revenue_share"))
            )
        })
        .collect();
    let mut dot_titles = vec!["0".to_string()];
    dot_titles.extend(dots);
    let chart = svg::LineChart {
        x_label: "share of customers, best first (%)".into(),
        y_label: "share of revenue (%)".into(),
        x_range: (0.0, 1.0),
        y_range: (0.0, 1.0),
        x_ticks: (0..=5).map(|i| (i as f64 / 5.0, format!("{}", i * 20))).collect(),
        y_fmt: |v| format!("{:.0}", v * 100.0),
        series: vec![
            svg::Series {
                name: "customers, best first".into(),
                points: curve,
                color: svg::BLUE,
                dashed: false,
                dots: Some(dot_titles),
            },
            svg::Series {
                name: "everyone alike".into(),
                points: vec![(0.0, 0.0), (1.0, 1.0)],
                color: svg::GREY,
                dashed: true,
                dots: None,
            },
        ],
        marks: vec![svg::Mark { at: (0.2, 0.8), label: "20 % / 80 %".into(), color: svg::ORANGE }],
        height: 340.0,
    };
    let n = rows.len();
    Ok(Some(Chart {
        id: "revenue_concentration",
        title: "Revenue concentration".into(),
        guide: "The further the blue curve bows above the grey diagonal, the more revenue depends on a few customers; the orange dot is the 80/20 rule.".into(),
        source: "purchase_deciles".into(),
        svg: chart.svg("revenue_concentration", "Revenue concentration curve"),
        rows,
        total_rows: n,
        cap_note: None,
        partial_period: None,
    }))
}

/// Monetary deciles: each tenth's share of revenue, and the running total.
fn monetary_deciles(t: &Tables) -> Result<Option<Chart>> {
    if !t.has_columns(
        "monetary_deciles",
        &["decile", "customers", "revenue", "revenue_share", "cumulative_revenue_share"],
    )? {
        return Ok(None);
    }
    let Some(lf) = t.scan("monetary_deciles")? else { return Ok(None) };
    let df = t.collect(
        "monetary_deciles",
        lf.select([
            col("decile"),
            col("customers"),
            col("revenue"),
            col("revenue_share"),
            col("cumulative_revenue_share"),
        ])
        .sort(["decile"], Default::default()),
    )?;
    let rows = rows(&df);
    let titles = |key: &'static str| -> Vec<String> {
        rows.iter()
            .map(|r| {
                format!(
                    "decile {}: {} customers, revenue {}, {} ({key})",
                    text(r, "decile"),
                    text(r, "customers"),
                    svg::thousands(num(r, "revenue"), 2),
                    svg::pct(num(r, key))
                )
            })
            .collect()
    };
    let chart = svg::BarChart {
        categories: rows.iter().map(|r| text(r, "decile")).collect(),
        bars: vec![svg::Bars {
            name: "share of revenue".into(),
            values: rows.iter().map(|r| num(r, "revenue_share")).collect(),
            color: svg::BLUE,
            titles: titles("revenue_share"),
        }],
        line: Some(svg::Bars {
            name: "cumulative share".into(),
            values: rows.iter().map(|r| num(r, "cumulative_revenue_share")).collect(),
            color: svg::ORANGE,
            titles: titles("cumulative_revenue_share"),
        }),
        x_label: "monetary decile (1 = the top tenth of customers by monetary)".into(),
        y_label: "share of revenue (%)".into(),
        y_fmt: |v| format!("{:.0}", v * 100.0),
        value_labels: false,
        height: 320.0,
    };
    let n = rows.len();
    Ok(Some(Chart {
        id: "monetary_deciles",
        title: "Revenue by monetary decile".into(),
        guide: "Bars: what each tenth of customers (best first) brings; the line: what the top tenths bring together."
            .into(),
        source: "monetary_deciles".into(),
        svg: chart.svg("monetary_deciles", "Revenue share by monetary decile"),
        rows,
        total_rows: n,
        cap_note: None,
        partial_period: None,
    }))
}

/// R × F: customers and their revenue per (r_score, f_score) cell.
fn rf_heatmap(t: &Tables, decimals: i32) -> Result<Option<Chart>> {
    let cols = t.columns("customers")?;
    if !["r_score", "f_score", "monetary"].iter().all(|c| cols.iter().any(|x| x == c)) {
        return Ok(None);
    }
    let df = t.frame("customers")?;
    let (r, f, m) = (int_col(&df, "r_score")?, int_col(&df, "f_score")?, float_col(&df, "monetary")?);
    let keys = values(&r).zip(values(&f)).map(|(r, f)| r.zip(f));
    let scale = 10f64.powi(decimals);
    let rows: Vec<Map<String, Value>> = groups(keys, values(&m), decimals)
        .into_iter()
        .map(|((r, f), g)| {
            obj(vec![
                ("r_score", r.into()),
                ("f_score", f.into()),
                ("customers", g.n.into()),
                ("revenue", (g.minor as f64 / scale).into()),
            ])
        })
        .collect();
    let max_score = rows.iter().flat_map(|r| [num(r, "r_score"), num(r, "f_score")]).fold(0.0f64, f64::max) as i64;
    let bins = t.bins.unwrap_or(0).max(max_score).max(1);
    // Rows: R from best (top) to worst; columns: F from 1 to best.
    let r_labels: Vec<i64> = (1..=bins).rev().collect();
    let f_labels: Vec<i64> = (1..=bins).collect();
    let find =
        |r: i64, f: i64| rows.iter().find(|x| x["r_score"].as_i64() == Some(r) && x["f_score"].as_i64() == Some(f));
    let grid = |g: &dyn Fn(&Map<String, Value>) -> String| -> Vec<Vec<String>> {
        r_labels.iter().map(|r| f_labels.iter().map(|f| find(*r, *f).map(g).unwrap_or_default()).collect()).collect()
    };
    let chart = svg::Heatmap {
        rows: r_labels.iter().map(|r| format!("R {r}")).collect(),
        cols: f_labels.iter().map(|f| format!("F {f}")).collect(),
        values: r_labels
            .iter()
            .map(|r| f_labels.iter().map(|f| find(*r, *f).map(|x| num(x, "customers"))).collect())
            .collect(),
        texts: grid(&|x| format!("{} · {}", svg::short(num(x, "customers")), svg::short(num(x, "revenue")))),
        titles: r_labels
            .iter()
            .map(|r| {
                f_labels
                    .iter()
                    .map(|f| match find(*r, *f) {
                        Some(x) => format!(
                            "R {r}, F {f}: {} customers, revenue {}",
                            text(x, "customers"),
                            svg::thousands(num(x, "revenue"), decimals as usize)
                        ),
                        None => format!("R {r}, F {f}: no customers"),
                    })
                    .collect()
            })
            .collect(),
        x_label: "frequency score F →".into(),
        y_label: "recency score R".into(),
        partial: Vec::new(),
        partial_note: None,
        row_label_width: 40.0,
        legend: "customers per cell".into(),
        scale_fmt: svg::short,
    };
    let n = rows.len();
    Ok(Some(Chart {
        id: "rf_heatmap",
        title: "Recency × frequency".into(),
        guide: "Each cell: customers · their revenue. Higher R: bought more recently; higher F: more orders. Top right are the best customers, bottom left the ones slipping away.".into(),
        source: "customers (grouped by r_score, f_score)".into(),
        svg: chart.svg("rf_heatmap", "Customers and revenue per recency and frequency score"),
        rows,
        total_rows: n,
        cap_note: None,
        partial_period: None,
    }))
}

/// Segment sizes and revenue shares, in segment order.
fn segments(t: &Tables) -> Result<Option<Chart>> {
    if !t.has_columns(
        "segment_summary",
        &["segment", "segment_order", "customers", "customer_share", "revenue", "revenue_share"],
    )? {
        return Ok(None);
    }
    let Some(lf) = t.scan("segment_summary")? else { return Ok(None) };
    let df = t.collect(
        "segment_summary",
        lf.select([
            col("segment"),
            col("segment_order"),
            col("customers"),
            col("customer_share"),
            col("revenue"),
            col("revenue_share"),
        ])
        .sort(["segment_order", "segment"], SortMultipleOptions::default().with_nulls_last(true)),
    )?;
    let all = rows(&df);
    let total = all.len();
    let rows: Vec<_> = all.into_iter().take(SEGMENTS).collect();
    let chart = svg::HBarChart {
        labels: rows.iter().map(|r| text(r, "segment")).collect(),
        sublabels: Vec::new(),
        bars: vec![
            svg::Bars {
                name: "share of customers".into(),
                values: rows.iter().map(|r| num(r, "customer_share")).collect(),
                color: svg::GREY,
                titles: rows
                    .iter()
                    .map(|r| {
                        format!(
                            "{}: {} customers ({})",
                            text(r, "segment"),
                            text(r, "customers"),
                            svg::pct(num(r, "customer_share"))
                        )
                    })
                    .collect(),
            },
            svg::Bars {
                name: "share of revenue".into(),
                values: rows.iter().map(|r| num(r, "revenue_share")).collect(),
                color: svg::BLUE,
                titles: rows
                    .iter()
                    .map(|r| {
                        format!(
                            "{}: revenue {} ({})",
                            text(r, "segment"),
                            svg::thousands(num(r, "revenue"), 2),
                            svg::pct(num(r, "revenue_share"))
                        )
                    })
                    .collect(),
            },
        ],
        x_label: "share of all customers / of all revenue (%)".into(),
        x_fmt: |v| format!("{:.0}", v * 100.0),
        notes: rows.iter().map(|r| format!("{} customers", svg::short(num(r, "customers")))).collect(),
        label_width: 150.0,
    };
    Ok(Some(Chart {
        id: "segments",
        title: "Segments: size and revenue".into(),
        guide: "Where the blue bar is longer than the grey one, the segment brings more than its share of revenue."
            .into(),
        source: "segment_summary".into(),
        svg: chart.svg("segments", "Segment sizes and revenue shares"),
        total_rows: total,
        cap_note: (total > rows.len())
            .then(|| format!("the first {} of {total} segments, in segment order", rows.len())),
        partial_period: None,
        rows,
    }))
}

/// Lapse buckets: customers and their revenue per bucket of days since the last purchase.
fn lapse_buckets(t: &Tables, decimals: i32) -> Result<Option<Chart>> {
    let cols = t.columns("customers")?;
    if !["lapse_bucket", "lapse_bucket_order", "monetary"].iter().all(|c| cols.iter().any(|x| x == c)) {
        return Ok(None);
    }
    let df = t.frame("customers")?;
    let (order, m) = (int_col(&df, "lapse_bucket_order")?, float_col(&df, "monetary")?);
    let labels = df.column("lapse_bucket")?.str()?.clone();
    let scale = 10f64.powi(decimals);
    let mut rows: Vec<Map<String, Value>> = Vec::new();
    for (k, g) in groups(values(&order), values(&m), decimals) {
        // The bucket's label: the one on its first row.
        let at = values(&order).position(|o| o == Some(k)).unwrap_or(0);
        let label = labels.get(at).unwrap_or_default();
        rows.push(obj(vec![
            ("lapse_bucket_order", k.into()),
            ("lapse_bucket", label.into()),
            ("customers", g.n.into()),
            ("revenue", (g.minor as f64 / scale).into()),
        ]));
    }
    let chart = svg::BarChart {
        categories: rows.iter().map(|r| text(r, "lapse_bucket")).collect(),
        bars: vec![svg::Bars {
            name: "customers".into(),
            values: rows.iter().map(|r| num(r, "customers")).collect(),
            color: svg::BLUE,
            titles: rows
                .iter()
                .map(|r| {
                    format!(
                        "{} days: {} customers, revenue {}",
                        text(r, "lapse_bucket"),
                        text(r, "customers"),
                        svg::thousands(num(r, "revenue"), decimals as usize)
                    )
                })
                .collect(),
        }],
        line: None,
        x_label: "days since the last purchase".into(),
        y_label: "customers".into(),
        y_fmt: svg::short,
        value_labels: true,
        height: 300.0,
    };
    let n = rows.len();
    Ok(Some(Chart {
        id: "lapse_buckets",
        title: "Lapse: days since the last purchase".into(),
        guide: "Customers by how long ago they last bought; the right-hand bars are the win-back list.".into(),
        source: "customers (grouped by lapse_bucket)".into(),
        svg: chart.svg("lapse_buckets", "Customers per lapse bucket"),
        rows,
        total_rows: n,
        cap_note: None,
        partial_period: None,
    }))
}

/// The measure the pairs are ranked by: the orders holding both beyond what chance would put there,
/// `pair_orders × (1 − 1 / lift)` (leverage in orders). It weighs support: a pair of 5 orders with
/// a lift in the thousands counts 5 at most, a pair of 500 orders with lift 3 counts 333.
pub const PAIRS_RANKED_BY: &str = "orders together beyond chance, pair_orders × (1 − 1/lift)";

/// The strongest pairs (each unordered pair once) by orders together beyond chance, with what
/// chance would give, their lift and support.
fn top_pairs(t: &Tables) -> Result<Option<Chart>> {
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

/// The CLV distribution: customers, total and average CLV per CLV decile.
fn clv_deciles(t: &Tables, decimals: i32) -> Result<Option<Chart>> {
    let cols = t.columns("clv")?;
    if !["clv", "clv_decile"].iter().all(|c| cols.iter().any(|x| x == c)) {
        return Ok(None);
    }
    let df = t.frame("clv")?;
    let (dec, clv) = (int_col(&df, "clv_decile")?, float_col(&df, "clv")?);
    let scale = 10f64.powi(decimals);
    let rows: Vec<Map<String, Value>> = groups(values(&dec), values(&clv), decimals)
        .into_iter()
        .map(|(d, g)| {
            let total = g.minor as f64 / scale;
            obj(vec![
                ("clv_decile", d.into()),
                ("customers", g.n.into()),
                ("clv", total.into()),
                ("min_clv", g.min.into()),
                ("max_clv", g.max.into()),
                ("avg_clv", (total / g.n as f64).into()),
            ])
        })
        .collect();
    if rows.is_empty() {
        return Ok(None);
    }
    let chart = svg::BarChart {
        categories: rows.iter().map(|r| text(r, "clv_decile")).collect(),
        bars: vec![svg::Bars {
            name: "average CLV per customer".into(),
            values: rows.iter().map(|r| num(r, "avg_clv")).collect(),
            color: svg::BLUE,
            titles: rows
                .iter()
                .map(|r| {
                    format!(
                        "CLV decile {}: {} customers, CLV {} to {}, total {}",
                        text(r, "clv_decile"),
                        text(r, "customers"),
                        svg::thousands(num(r, "min_clv"), 2),
                        svg::thousands(num(r, "max_clv"), 2),
                        svg::thousands(num(r, "clv"), 2)
                    )
                })
                .collect(),
        }],
        line: None,
        x_label: "CLV decile (1 = the most valuable tenth)".into(),
        y_label: "average CLV (money units)".into(),
        y_fmt: svg::short,
        value_labels: true,
        height: 300.0,
    };
    let n = rows.len();
    Ok(Some(Chart {
        id: "clv_deciles",
        title: "Customer lifetime value by decile".into(),
        guide: "Expected value of each tenth of customers over the CLV horizon; a steep drop after decile 1 means a few customers carry the future too.".into(),
        source: "clv (grouped by clv_decile)".into(),
        svg: chart.svg("clv_deciles", "Average CLV per CLV decile"),
        rows,
        total_rows: n,
        cap_note: None,
        partial_period: None,
    }))
}

/// P(alive) against recency: the average P(alive) of customers per band of recency days.
fn p_alive_by_recency(t: &Tables) -> Result<Option<Chart>> {
    let cols = t.columns("clv")?;
    if !["p_alive", "recency_days"].iter().all(|c| cols.iter().any(|x| x == c)) {
        return Ok(None);
    }
    let df = t.frame("clv")?;
    let (rec, alive) = (int_col(&df, "recency_days")?, float_col(&df, "p_alive")?);
    let known = || values(&rec).zip(values(&alive)).filter_map(|(r, a)| r.zip(a));
    let Some(max) = known().map(|(r, _)| r).max() else { return Ok(None) };
    let width = band_width(max);
    let bands = groups(known().map(|(r, _)| Some(r.div_euclid(width) * width)), known().map(|(_, a)| Some(a)), 0);
    let rows: Vec<Map<String, Value>> = bands
        .into_iter()
        .map(|(from, g)| {
            obj(vec![
                ("recency_from", from.into()),
                ("recency_to", (from + width - 1).into()),
                ("customers", g.n.into()),
                ("mean_p_alive", (g.sum / g.n as f64).into()),
            ])
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
        series: vec![svg::Series {
            name: format!("customers in bands of {width} days"),
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
        }],
        marks: Vec::new(),
        height: 320.0,
    };
    let n = rows.len();
    Ok(Some(Chart {
        id: "p_alive_recency",
        title: "Still a customer? P(alive) against recency".into(),
        guide: "The BG/NBD model's chance that a customer still buys, averaged per band of days since their last purchase; where it falls below 50 %, win-back starts.".into(),
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

/// Cohort retention: the share of each cohort active per period, latest cohorts, first periods.
fn cohort_retention(t: &Tables) -> Result<Option<Chart>> {
    if !t.has_columns("cohorts", &["cohort", "period_index", "cohort_customers", "active_customers", "retention"])? {
        return Ok(None);
    }
    let Some(lf) = t.scan("cohorts")? else { return Ok(None) };
    let cohorts = t.collect("cohorts", lf.clone().select([col("cohort").unique().sort(Default::default())]))?;
    let all: Vec<Value> = rows(&cohorts).into_iter().map(|r| r["cohort"].clone()).collect();
    if all.is_empty() {
        return Ok(None);
    }
    let keep: Vec<String> = all
        .iter()
        .skip(all.len().saturating_sub(COHORTS))
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .collect();
    let first = keep[0].clone();
    let total_lf = lf.clone().select([len().cast(DataType::Int64).alias("n")]);
    let total = t.collect("cohorts", total_lf)?.column("n")?.i64()?.get(0).unwrap_or(0) as usize;
    let first_date =
        chrono::NaiveDate::parse_from_str(&first, "%Y-%m-%d").map_err(|e| unreadable(&t.path("cohorts"), e))?;
    let df = t.collect(
        "cohorts",
        lf.filter(col("cohort").gt_eq(lit(first_date)).and(col("period_index").lt_eq(lit(PERIODS))))
            .select([
                col("cohort"),
                col("period_index"),
                col("cohort_customers"),
                col("active_customers"),
                col("retention"),
            ])
            .sort(["cohort", "period_index"], Default::default()),
    )?;
    let mut rows = rows(&df);
    // The period holding the day before the as-of date, when it is not over: every cohort's cell
    // of it holds only its first days, which is no drop in retention.
    let week = match t.cohort_period.as_deref() {
        Some(p) => p == "week",
        None => keep.iter().any(|c| !c.ends_with("-01")),
    };
    let partial = t.as_of.and_then(|d| partial_period(d, week));
    let cell_start = |c: &str, p: i64| -> Option<chrono::NaiveDate> {
        let c = chrono::NaiveDate::parse_from_str(c, "%Y-%m-%d").ok()?;
        if week {
            c.checked_add_days(chrono::Days::new(7 * u64::try_from(p).ok()?))
        } else {
            c.checked_add_months(chrono::Months::new(u32::try_from(p).ok()?))
        }
    };
    let is_partial = |c: &str, p: i64| {
        partial.as_ref().is_some_and(|(start, _)| cell_start(c, p).is_some_and(|s| s == *start))
    };
    for r in rows.iter_mut() {
        let flag = is_partial(&text(r, "cohort"), num(r, "period_index") as i64);
        r.insert("partial_period".into(), flag.into());
    }
    let rows = rows;
    let max_period = rows.iter().map(|r| num(r, "period_index") as i64).max().unwrap_or(0);
    let periods: Vec<i64> = (0..=max_period).collect();
    let find = |c: &str, p: i64| {
        rows.iter().find(|r| r["cohort"].as_str() == Some(c) && r["period_index"].as_i64() == Some(p))
    };
    let size = |c: &str| {
        rows.iter().find(|r| r["cohort"].as_str() == Some(c)).map(|r| text(r, "cohort_customers")).unwrap_or_default()
    };
    let partial_label = partial.as_ref().map(|(_, p)| p.label.clone()).unwrap_or_default();
    let chart = svg::Heatmap {
        rows: keep.iter().map(|c| format!("{c} ({})", size(c))).collect(),
        cols: periods.iter().map(|p| p.to_string()).collect(),
        values: keep
            .iter()
            .map(|c| periods.iter().map(|p| find(c, *p).map(|r| num(r, "retention"))).collect())
            .collect(),
        texts: keep
            .iter()
            .map(|c| {
                periods
                    .iter()
                    .map(|p| find(c, *p).map(|r| format!("{:.0}", num(r, "retention") * 100.0)).unwrap_or_default())
                    .collect()
            })
            .collect(),
        titles: keep
            .iter()
            .map(|c| {
                periods
                    .iter()
                    .map(|p| match find(c, *p) {
                        Some(r) if is_partial(c, *p) => format!(
                            "cohort {c}, period {p}, in {partial_label}, not over: {} of {} active so far ({})",
                            text(r, "active_customers"),
                            text(r, "cohort_customers"),
                            svg::pct(num(r, "retention"))
                        ),
                        Some(r) => format!(
                            "cohort {c}, period {p}: {} of {} active ({})",
                            text(r, "active_customers"),
                            text(r, "cohort_customers"),
                            svg::pct(num(r, "retention"))
                        ),
                        None => format!("cohort {c}, period {p}: not reached yet"),
                    })
                    .collect()
            })
            .collect(),
        partial: keep.iter().map(|c| periods.iter().map(|p| is_partial(c, *p)).collect()).collect(),
        partial_note: partial.as_ref().map(|(_, p)| {
            format!("{}: not over, out of the colour scale", p.label)
        }),
        x_label: "periods since the first purchase (retention, %)".into(),
        y_label: "cohort: first purchase period (customers)".into(),
        row_label_width: 120.0,
        legend: "share of the cohort active".into(),
        scale_fmt: |v| format!("{:.0} %", v * 100.0),
    };
    let shown = rows.len();
    let mut guide = "Each row is the customers who first bought in one period; each cell the share of them buying again n periods later. Read down a column to see whether newer cohorts stay longer.".to_string();
    if let Some((_, p)) = &partial {
        guide.push_str(&format!(
            " Hatched: {}, the period the as-of date falls in; its cells count only its first days, so they are low for every cohort."
            , p.label
        ));
    }
    Ok(Some(Chart {
        id: "cohort_retention",
        title: "Cohort retention".into(),
        guide,
        source: "cohorts".into(),
        svg: chart.svg("cohort_retention", "Cohort retention heatmap"),
        cap_note: (shown < total).then(|| format!("the latest {} of {} cohorts, periods 0 to {PERIODS}", keep.len(), all.len())),
        rows,
        total_rows: total,
        partial_period: partial.map(|(_, p)| p),
    }))
}

/// The cohort period (a calendar month, or an ISO week from Monday) holding the day before `as_of`,
/// the last day the tables count, when that day is not the period's last: its first day and how
/// much of it was counted.
pub fn partial_period(as_of: chrono::NaiveDate, week: bool) -> Option<(chrono::NaiveDate, PartialPeriod)> {
    use chrono::Datelike;
    let last = as_of.pred_opt()?;
    let (start, len) = if week {
        let start = last - chrono::Days::new(u64::from(last.weekday().num_days_from_monday()));
        (start, 7)
    } else {
        let start = last.with_day(1)?;
        let next = start.checked_add_months(chrono::Months::new(1))?;
        (start, (next - start).num_days())
    };
    let days = (last - start).num_days() + 1;
    if days >= len {
        return None;
    }
    let label = if week {
        format!("week of {start} ({days} of 7 days)")
    } else {
        format!("{} ({days} of {len} days)", start.format("%b %Y"))
    };
    Some((start, PartialPeriod { start: start.to_string(), days, of_days: len, label }))
}

/// Segment movement between two snapshots: customers per (from, to) segment.
fn segment_movement(t: &Tables) -> Result<Option<Chart>> {
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

/// The KPIs of every partition as lines (customers, revenue, repeat rate, active in the window).
fn kpi_lines(kpis: Vec<Map<String, Value>>) -> Chart {
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
