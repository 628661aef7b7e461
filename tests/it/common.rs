//! Helpers: build tiny dumps as Parquet, run the job, read the tables back.

use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;
use evergreen::config::Settings;
use polars::prelude::*;

/// One order line of a test dump in the default layout.
#[derive(Clone, Debug)]
pub struct Line {
    pub customer: Option<i64>,
    pub order: i64,
    pub ts: &'static str,
    pub amount: f64,
    pub product: Option<i64>,
}

/// `line(customer, order, "2024-02-01 10:00", amount)` with no product.
pub fn line(customer: Option<i64>, order: i64, ts: &'static str, amount: f64) -> Line {
    Line { customer, order, ts, amount, product: None }
}

/// Same with a product.
pub fn pline(customer: Option<i64>, order: i64, ts: &'static str, amount: f64, product: i64) -> Line {
    Line { customer, order, ts, amount, product: Some(product) }
}

/// Microseconds since the epoch of "YYYY-MM-DD HH:MM[:SS]".
pub fn micros(ts: &str) -> i64 {
    let full = if ts.len() == 16 { format!("{ts}:00") } else { ts.to_string() };
    NaiveDateTime::parse_from_str(&full, "%Y-%m-%d %H:%M:%S").expect("test timestamp").and_utc().timestamp_micros()
}

/// A frame of lines in the default column names.
pub fn frame(lines: &[Line]) -> DataFrame {
    let ts: Vec<i64> = lines.iter().map(|l| micros(l.ts)).collect();
    let mut df = df!(
        "customer_id" => lines.iter().map(|l| l.customer).collect::<Vec<_>>(),
        "order_id" => lines.iter().map(|l| l.order).collect::<Vec<_>>(),
        "ts" => ts,
        "amount" => lines.iter().map(|l| l.amount).collect::<Vec<_>>(),
    )
    .unwrap();
    df.apply("ts", |s| s.cast(&DataType::Datetime(TimeUnit::Microseconds, None)).unwrap()).unwrap();
    if lines.iter().any(|l| l.product.is_some()) {
        df.with_column(Column::new("product_id".into(), lines.iter().map(|l| l.product).collect::<Vec<_>>())).unwrap();
    }
    df
}

/// Write a frame as Parquet.
pub fn write_parquet(df: &mut DataFrame, path: &Path) {
    let f = std::fs::File::create(path).unwrap();
    ParquetWriter::new(f).finish(df).unwrap();
}

/// Read a Parquet file (an output table, or a sample).
pub fn read_parquet(path: &Path) -> DataFrame {
    ParquetReader::new(std::fs::File::open(path).unwrap()).finish().unwrap()
}

/// The `_manifest.json` of an output folder.
pub fn manifest(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(out.join("_manifest.json")).unwrap()).unwrap()
}

/// A temp folder holding `dump.parquet` made of `lines`.
pub fn dump(lines: &[Line]) -> (tempfile::TempDir, PathBuf) {
    dump_frame(&mut frame(lines))
}

pub fn dump_frame(df: &mut DataFrame) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("dump.parquet");
    write_parquet(df, &p);
    (dir, p)
}

/// Settings for a run over `input` into `<dir>/out`.
pub fn settings(input: &Path, as_of: Option<&str>) -> Settings {
    Settings {
        input: Some(vec![input.display().to_string()]),
        out: Some(input.parent().unwrap().join("out")),
        as_of: as_of.map(String::from),
        ..Default::default()
    }
}

/// The tables of a run, computed in memory.
pub struct Run {
    pub tables: Vec<(String, DataFrame)>,
    pub counts: evergreen::facts::Counts,
    pub as_of: chrono::NaiveDate,
}

impl Run {
    pub fn table(&self, name: &str) -> &DataFrame {
        &self.tables.iter().find(|(n, _)| *n == name).unwrap_or_else(|| panic!("no table {name}")).1
    }

    /// The row of `customers` for an integer customer id, as (column → value) lookups.
    pub fn customer(&self, id: i64) -> Row<'_> {
        let df = self.table("customers");
        let ids = df.column("customer_id").unwrap().i64().unwrap();
        let idx = ids.iter().position(|v| v == Some(id)).unwrap_or_else(|| panic!("customer {id} not in table"));
        Row { df, idx }
    }

    pub fn has_customer(&self, id: i64) -> bool {
        let df = self.table("customers");
        df.column("customer_id").unwrap().i64().unwrap().iter().any(|v| v == Some(id))
    }
}

pub struct Row<'a> {
    df: &'a DataFrame,
    idx: usize,
}

impl Row<'_> {
    pub fn get(&self, c: &str) -> AnyValue<'_> {
        self.df.column(c).unwrap_or_else(|_| panic!("no column {c}")).get(self.idx).unwrap()
    }
    pub fn i(&self, c: &str) -> i64 {
        self.get(c).extract::<i64>().unwrap_or_else(|| panic!("{c} is not an integer: {:?}", self.get(c)))
    }
    pub fn f(&self, c: &str) -> f64 {
        self.get(c).extract::<f64>().unwrap_or_else(|| panic!("{c} is not a number: {:?}", self.get(c)))
    }
    pub fn s(&self, c: &str) -> String {
        match self.get(c) {
            AnyValue::String(s) => s.to_string(),
            AnyValue::StringOwned(s) => s.to_string(),
            v => panic!("{c} is not a string: {v:?}"),
        }
    }
    pub fn is_null(&self, c: &str) -> bool {
        matches!(self.get(c), AnyValue::Null)
    }
}

/// Compute the tables for `settings`.
pub fn compute(s: Settings) -> Run {
    let cfg = s.resolve().expect("valid settings");
    let t = evergreen::run::compute(&cfg, &mut evergreen::run::Stopwatch::start()).expect("run succeeds");
    Run { tables: t.tables, counts: t.counts, as_of: t.as_of.unwrap() }
}

/// Compute over `lines` with an as-of date.
pub fn run_lines(lines: &[Line], as_of: Option<&str>) -> Run {
    let (_dir, p) = dump(lines);
    compute(settings(&p, as_of))
}

/// An integer column of a table, in row order.
pub fn ints(df: &DataFrame, c: &str) -> Vec<i64> {
    let s = df.column(c).unwrap().cast(&DataType::Int64).unwrap();
    s.i64().unwrap().iter().map(|v| v.unwrap()).collect()
}

/// A float column of a table, in row order.
pub fn floats(df: &DataFrame, c: &str) -> Vec<f64> {
    let s = df.column(c).unwrap().cast(&DataType::Float64).unwrap();
    s.f64().unwrap().iter().map(|v| v.unwrap()).collect()
}

/// The evergreen binary built for these tests.
pub fn bin() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_evergreen"))
}

/// The binary with `args`, started (stderr discarded) and held `ms` milliseconds just before its
/// commit (`EVERGREEN_TEST_PAUSE_BEFORE_COMMIT_MS`), for a test to act on it there.
pub fn spawn_held_before_commit<S: AsRef<std::ffi::OsStr>>(args: &[S], ms: u32) -> std::process::Child {
    bin()
        .args(args)
        .env("EVERGREEN_TEST_PAUSE_BEFORE_COMMIT_MS", ms.to_string())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// Poll `ready` every 20 ms until it holds; after 60 s fail with "the run never `what`".
pub fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let t0 = std::time::Instant::now();
    while !ready() {
        assert!(t0.elapsed().as_secs() < 60, "the run never {what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Run the binary with `args`, without the caller's `EVERGREEN_*` variables, and wait for it.
pub fn run_clean(args: &[&str]) -> std::process::Output {
    let mut cmd = bin();
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("EVERGREEN_")) {
        cmd.env_remove(k);
    }
    cmd.args(args).output().unwrap()
}

/// A process's stderr as text.
pub fn stderr_of(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// A segment map putting every cell of `bins` into one segment "All" (for runs with bins != 5).
pub fn any_segment_map(dir: &Path, bins: u8) -> PathBuf {
    let cells: Vec<String> = (1..=bins)
        .flat_map(|r| (1..=bins).flat_map(move |f| (1..=bins).map(move |m| format!("\"{r}{f}{m}\""))))
        .collect();
    let p = dir.join(format!("all_{bins}.toml"));
    std::fs::write(&p, format!("All = [{}]\n", cells.join(", "))).unwrap();
    p
}

/// A small good dump: customer 1 orders once (10 + 3), customer 2 twice (20, then 5), and a guest
/// order; products 7 and 8.
pub fn good_frame() -> DataFrame {
    frame(&[
        pline(Some(1), 1, "2024-01-05 10:00", 10.0, 7),
        pline(Some(1), 1, "2024-01-05 10:00", 3.0, 8),
        pline(Some(2), 2, "2024-01-06 10:00", 20.0, 7),
        pline(Some(2), 3, "2024-01-07 10:00", 5.0, 8),
        pline(None, 4, "2024-01-07 11:00", 4.0, 7),
    ])
}

/// Tests that did nothing because a service was missing, for the summary printed at exit.
static SKIPPED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Say that `test` is skipped and why (issue 27: a skipped test is visible). The line goes to the
/// terminal at once (past the harness's capture), and after the harness's own result line the run
/// ends with a summary of every skipped test, so "N passed" never hides tests that did nothing.
pub fn skip(test: &str, why: &str) {
    use std::io::Write;
    let line = format!("SKIPPED {test}: {why}");
    let _ = writeln!(std::io::stderr(), "{line}");
    let mut list = SKIPPED.lock().unwrap_or_else(|e| e.into_inner());
    if list.is_empty() {
        extern "C" fn summary() {
            let list = SKIPPED.lock().unwrap_or_else(|e| e.into_inner());
            let mut text = format!(
                "\n{} test(s) SKIPPED: they passed without checking anything (CI sets EVERGREEN_REQUIRE_POSTGRES, \
                 EVERGREEN_REQUIRE_BROWSER and EVERGREEN_REQUIRE_SPARK so they fail instead):\n",
                list.len()
            );
            for l in list.iter() {
                text.push_str(&format!("  {l}\n"));
            }
            let _ = std::io::Write::write_all(&mut std::io::stderr(), text.as_bytes());
        }
        // SAFETY: registers a plain function run once by exit(), after the harness's summary.
        unsafe { libc::atexit(summary) };
    }
    list.push(line);
}
