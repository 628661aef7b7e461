//! The Spark engine: the line-level work runs on a Spark cluster, the tables are computed here.
//!
//! evergreen writes the PySpark runner and the SQL steps of `queries/spark/` (compiled into the
//! binary) with a job file into a local work folder, and starts `spark-submit --master M runner.py
//! job.json`. The steps apply the same cleaning rules as [`super::orders`], with money in the same
//! fixed point ([`crate::kernels::money`]), and write per-customer, per-item and per-pair facts as
//! Parquet into the staging folder; one-row statistics come back in `result.json`. Here those
//! facts become [`Facts`], checked by the same rules ([`require_lines`], the money range, the
//! customers) in the same order as the local engines, and the shared table code does the rest.
//!
//! No line crosses into this process or Spark's driver: the facts are one row per customer
//! (about 60 bytes plus the ids), per item and per kept pair.

use std::io::Read;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use polars::prelude::*;
use serde::Serialize;
use serde_json::{json, Value};

use super::spill::SpillDir;
use super::clean;
use super::stopwatch::Stopwatch;
use super::passes::orders;
use super::{check_money_range, no_customers, require_lines, AbsSum, Setup};
use crate::config::{Columns, Discount, SparkOptions};
use crate::error::{one_line, Error, Result};
use crate::facts::{
    col_names as c, Counts, CustomerActivity, CustomerFacts, DayTotals, Facts, ItemFacts, ItemsetFacts, PairFacts, Plan,
    Present, PurchaseDays, SequenceFacts,
};
use crate::input::Mode;
use crate::kernels::codes::{self, NONE};
use crate::kernels::money::{self, Exact};
use crate::kernels::sequences::Timelines;

/// The runner and its SQL steps, written into the work folder at every run.
const FILES: [(&str, &str); 23] = [
    ("runner.py", include_str!("../../queries/spark/runner.py")),
    ("01_lines.sql", include_str!("../../queries/spark/01_lines.sql")),
    ("02_line_stats.sql", include_str!("../../queries/spark/02_line_stats.sql")),
    ("03_current_lines.sql", include_str!("../../queries/spark/03_current_lines.sql")),
    ("04_orders.sql", include_str!("../../queries/spark/04_orders.sql")),
    ("05_order_stats.sql", include_str!("../../queries/spark/05_order_stats.sql")),
    ("06_customers.sql", include_str!("../../queries/spark/06_customers.sql")),
    ("07_purchase_lines.sql", include_str!("../../queries/spark/07_purchase_lines.sql")),
    ("08_favourites.sql", include_str!("../../queries/spark/08_favourites.sql")),
    ("09_basket_items.sql", include_str!("../../queries/spark/09_basket_items.sql")),
    ("10_items.sql", include_str!("../../queries/spark/10_items.sql")),
    ("11_pair_threshold.sql", include_str!("../../queries/spark/11_pair_threshold.sql")),
    ("12_fitting_baskets.sql", include_str!("../../queries/spark/12_fitting_baskets.sql")),
    ("13_kept_items.sql", include_str!("../../queries/spark/13_kept_items.sql")),
    ("14_pair_baskets.sql", include_str!("../../queries/spark/14_pair_baskets.sql")),
    ("15_pairs.sql", include_str!("../../queries/spark/15_pairs.sql")),
    ("16_pair_stats.sql", include_str!("../../queries/spark/16_pair_stats.sql")),
    ("17_purchase_days.sql", include_str!("../../queries/spark/17_purchase_days.sql")),
    ("18_pattern_orders.sql", include_str!("../../queries/spark/18_pattern_orders.sql")),
    ("19_customer_days.sql", include_str!("../../queries/spark/19_customer_days.sql")),
    ("20_day_totals.sql", include_str!("../../queries/spark/20_day_totals.sql")),
    ("21_product_names.sql", include_str!("../../queries/spark/21_product_names.sql")),
    ("22_customer_attrs.sql", include_str!("../../queries/spark/22_customer_attrs.sql")),
];

/// What the manifest says about the Spark job.
#[derive(Debug, Clone, Serialize)]
pub struct SparkReport {
    pub master: String,
    pub spark_version: String,
    pub default_parallelism: u64,
    /// Seconds from spark-submit to the job's end (JVM start-up included).
    pub job_seconds: f64,
    /// Bytes of the facts read back (Parquet), per fact (customers, items, pairs).
    pub fact_bytes: std::collections::BTreeMap<String, u64>,
    /// Rows of each fact.
    pub fact_rows: std::collections::BTreeMap<String, u64>,
    /// Seconds per step inside the job (session start, each one-row step, each staged fact).
    pub steps: std::collections::BTreeMap<String, f64>,
    /// Spark jobs the steps ran, and the stages among them that ran tasks (a stage whose shuffle
    /// output was reused is not counted): what a cluster schedules, beyond the rows.
    pub jobs: u64,
    pub stages: u64,
}

/// The inputs as Spark is given them: local files evergreen resolved and checked, or the user's
/// paths as they are when Spark alone can read them (`hdfs://`, `s3a://`...).
pub enum SparkInputs {
    Local { files: Vec<PathBuf>, base_path: Option<PathBuf> },
    Remote(Vec<String>),
}

/// A path given as a URI (`hdfs://`, `s3a://`, `file://`...): Spark reads it and checks it
/// against the roles; evergreen does not open it.
pub fn is_remote(path: &str) -> bool {
    match path.split_once("://") {
        Some((scheme, _)) => !scheme.is_empty() && scheme.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '+'),
        None => false,
    }
}

/// The roles the runner maps, with the input reader's rules ([`crate::input::load`]): for local
/// inputs the roles evergreen found present; for remote ones each role's name and whether the run
/// requires it (an optional role is used when the dump has the column).
fn roles(cols: &Columns, has: Option<Present>, mode: Mode, plan_items: Option<&str>) -> Value {
    let run = mode == Mode::Customers;
    let role = |present: Option<bool>, name: &str, required: bool| -> Value {
        match present {
            Some(true) => json!({"name": name, "required": true}),
            Some(false) => Value::Null,
            None => json!({"name": name, "required": required}),
        }
    };
    let item_name = cols.item.clone().unwrap_or_else(|| cols.product.name.clone());
    let items_from_item = plan_items == Some(c::ITEM);
    json!({
        "customer": role(has.map(|h| h.customer), &cols.customer.name, run || cols.customer.explicit),
        "order": json!({"name": cols.order, "required": true}),
        "timestamp": role(has.map(|h| h.timestamp), &cols.timestamp.name, run || cols.timestamp.explicit),
        "amount": role(has.map(|h| h.amount), &cols.amount.name, run || cols.amount.explicit),
        "product": role(has.map(|h| h.product), &cols.product.name, cols.product.explicit),
        "item": if items_from_item { role(has.map(|h| h.item), &item_name, true) } else { Value::Null },
        "cost": role(has.map(|h| h.cost), &cols.cost.name, cols.cost.explicit),
        "quantity": role(has.map(|h| h.quantity), &cols.quantity.name, cols.quantity.explicit),
        "discount": match &cols.discount {
            Some(Discount::Column(n)) => json!({"name": n, "required": true, "list_price": false}),
            Some(Discount::ListPrice(n)) => json!({"name": n, "required": true, "list_price": true}),
            None => Value::Null,
        },
    })
}

/// Run the Spark job and turn what it wrote into facts.
#[allow(clippy::too_many_arguments)]
pub fn facts(
    inputs: SparkInputs,
    cols: &Columns,
    s: &Setup,
    known: Option<Present>,
    mode: Mode,
    opts: &SparkOptions,
    work_root: &Path,
    sw: &mut Stopwatch,
) -> Result<(Facts, SparkReport)> {
    // Where the job runs, decided (and spark-submit, Java and the master checked) before any work.
    let launch = match &opts.service {
        Some(spool) => Launch::Service(spool),
        None => {
            let submit = find_submit(opts)?;
            check_java()?;
            check_master(&opts.master)?;
            Launch::Submit(submit)
        }
    };
    // Absolute paths: spark-submit runs in another folder, and the cluster resolves bare paths
    // against its default file system (HDFS on most clusters), so local paths travel as file:// URIs.
    let work_root = std::path::absolute(work_root).unwrap_or_else(|_| work_root.to_path_buf());
    let work = SpillDir::create(&work_root)?;
    for (name, text) in FILES {
        std::fs::write(work.file(name), text).map_err(|e| work_error(&work.path, e))?;
    }
    let local_facts = work.file("facts");
    // A remote staging folder gets a run-unique folder inside it: the only one the runner deletes.
    let staging = match &opts.staging {
        Some(root) => format!(
            "{}/{}",
            root.trim_end_matches('/'),
            work.path.file_name().map(|n| n.to_string_lossy().trim_start_matches('.').to_string()).unwrap_or_default()
        ),
        None => file_uri(&local_facts),
    };
    let (paths, base_path) = match &inputs {
        SparkInputs::Local { files, base_path } => (
            files.iter().map(|f| file_uri(f)).collect::<Vec<_>>(),
            base_path.as_ref().map(|b| file_uri(b)),
        ),
        SparkInputs::Remote(p) => (p.clone(), None),
    };
    let cutoff = s.as_of.map(crate::exprs::date_to_micros);
    let job = json!({
        "inputs": paths,
        "base_path": base_path,
        "roles": roles(cols, known, mode, s.plan.items),
        "where": cols.filter.where_sql,
        "product_name": cols.product_name,
        "customer_attrs": cols.customer_attrs,
        "exclude_items": cols.filter.exclude_items.as_ref().map(|e| &e.ids),
        "plan": {
            "customers": s.plan.customers,
            "favourite": s.plan.favourite,
            "items": s.plan.items,
            "purchase_days": s.plan.purchase_days,
            "pairs": s.plan.pairs,
            "itemsets": s.plan.itemsets,
            "sequences": s.plan.sequences,
            "activity": s.plan.activity,
            "product_names": cols.product_name.is_some(),
            "customer_attrs": if s.plan.customers { cols.customer_attrs.clone() } else { Vec::new() },
        },
        "basket": {
            "min_pair_orders": s.basket.min_pair_orders,
            "min_support": s.basket.min_support,
            "max_basket_items": s.basket.max_basket_items,
        },
        "cutoff_micros": cutoff,
        "money_decimals": s.money_decimals,
        "staging": staging,
        "staging_is_local": opts.staging.is_none(),
    });
    let job_file = work.file("job.json");
    std::fs::write(&job_file, serde_json::to_vec_pretty(&job).expect("json")).map_err(|e| work_error(&work.path, e))?;

    let started = Instant::now();
    let error_file = work.file("error.json");
    let result_file = work.file("result.json");
    // spark-submit's exit status and log, to explain a job that ended without a result.
    let submitted = match launch {
        Launch::Service(spool) => {
            run_in_service(spool, &job_file, &[&result_file, &error_file])?;
            None
        }
        Launch::Submit(submit) => {
            let log = work.file("spark-submit.log");
            let log_file = std::fs::File::create(&log).map_err(|e| work_error(&work.path, e))?;
            let mut cmd = Command::new(&submit);
            cmd.arg("--master").arg(&opts.master).arg("--name").arg("evergreen");
            for (k, v) in [
                ("spark.ui.enabled", "false"),
                ("spark.sql.catalogImplementation", "in-memory"),
                ("spark.sql.legacy.parquet.nanosAsLong", "true"),
            ] {
                if !opts.conf.iter().any(|(key, _)| key == k) {
                    cmd.arg("--conf").arg(format!("{k}={v}"));
                }
            }
            for (k, v) in &opts.conf {
                cmd.arg("--conf").arg(format!("{k}={v}"));
            }
            cmd.arg(work.file("runner.py")).arg(&job_file);
            cmd.stdin(Stdio::null()).stdout(log_file.try_clone().map_err(|e| work_error(&work.path, e))?).stderr(log_file);
            tracing::debug!(master = %opts.master, "submitting the Spark job ({})", submit.display());
            let status = cmd
                .status()
                .map_err(|e| Error::Config(format!("engine spark: cannot start {}: {e}", submit.display())))?;
            Some((status, log))
        }
    };
    sw.lap("spark_job");
    if error_file.exists() {
        return Err(runner_error(&error_file, s, cols));
    }
    if let Some((status, log)) = submitted {
        if !status.success() || !result_file.exists() {
            return Err(submit_error(&log, &opts.master, status.code()));
        }
    }
    let job_seconds = started.elapsed().as_secs_f64();
    let result: Value = serde_json::from_slice(&std::fs::read(&result_file).map_err(|e| work_error(&work.path, e))?)
        .map_err(|e| Error::Internal(format!("engine spark: result.json: {e}")))?;
    let (facts, fact_bytes) = read_facts(&result, &local_facts, s, cols, known)?;
    let fact_rows = [
        ("customers", facts.customers.as_ref().map(|f| f.len())),
        ("items", facts.items.as_ref().map(|f| f.orders.len())),
        ("pairs", facts.pairs.as_ref().map(|f| f.pairs.len())),
    ]
    .into_iter()
    .filter_map(|(k, n)| Some((k.to_string(), n? as u64)))
    .collect();
    sw.lap("spark_facts");
    let report = SparkReport {
        master: result["master"].as_str().unwrap_or(&opts.master).to_string(),
        spark_version: result["spark_version"].as_str().unwrap_or("").to_string(),
        default_parallelism: result["default_parallelism"].as_u64().unwrap_or(0),
        job_seconds,
        fact_bytes,
        fact_rows,
        steps: result["timings"]
            .as_object()
            .map(|o| o.iter().filter_map(|(k, v)| Some((k.clone(), v.as_f64()?))).collect())
            .unwrap_or_default(),
        jobs: result["spark_jobs"].as_u64().unwrap_or(0),
        stages: result["spark_stages"].as_u64().unwrap_or(0),
    };
    Ok((facts, report))
}

/// Where a Spark job runs: a resident runner (`EVERGREEN_SPARK_SERVICE`), or its own spark-submit.
enum Launch<'a> {
    Service(&'a Path),
    Submit(PathBuf),
}

/// Seconds without a heartbeat after which a Spark service counts as gone.
const SERVICE_TIMEOUT: Duration = Duration::from_secs(30);

/// Hand `job` to the resident runner at `spool` (`runner.py --serve SPOOL`, see
/// `EVERGREEN_SPARK_SERVICE`) and wait until one of `done` exists. A spool whose heartbeat is older
/// than [`SERVICE_TIMEOUT`] (no service, or it died mid-job) is a one-line error, never a hang.
fn run_in_service(spool: &Path, job: &Path, done: &[&Path]) -> Result<()> {
    let beat = spool.join("heartbeat");
    let alive = || {
        std::fs::metadata(&beat)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age < SERVICE_TIMEOUT))
    };
    let gone = || {
        Error::Config(format!(
            "engine spark: no Spark service answers at {} (EVERGREEN_SPARK_SERVICE): start one with \
             `spark-submit runner.py --serve {}` (queries/spark/runner.py), or unset the variable",
            spool.display(),
            spool.display()
        ))
    };
    if !alive() {
        return Err(gone());
    }
    let queue = spool.join("queue");
    let name = format!("{:020}-{}", std::time::UNIX_EPOCH.elapsed().map(|d| d.as_nanos()).unwrap_or(0), std::process::id());
    let request = json!({ "job": std::path::absolute(job).unwrap_or_else(|_| job.to_path_buf()) });
    let tmp = queue.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, request.to_string())
        .and_then(|_| std::fs::rename(&tmp, queue.join(format!("{name}.json"))))
        .map_err(|e| Error::Config(format!("engine spark: cannot queue the job at {}: {e}", queue.display())))?;
    tracing::debug!(spool = %spool.display(), "handed the Spark job to the service");
    loop {
        if done.iter().any(|p| p.exists()) {
            return Ok(());
        }
        if !alive() {
            return Err(gone());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A local path as a `file://` URI for Spark, with Hadoop's glob characters escaped (a file named
/// `sales[1].parquet` is that file, not a pattern).
fn file_uri(path: &Path) -> String {
    let mut out = String::from("file://");
    for ch in path.to_string_lossy().chars() {
        if matches!(ch, '[' | ']' | '{' | '}' | '*' | '?' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

fn work_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Output { path: path.to_path_buf(), reason: format!("cannot write the Spark work folder: {e}") }
}

/// `--spark-submit`, else `$SPARK_HOME/bin/spark-submit`, else `spark-submit` on PATH.
fn find_submit(opts: &SparkOptions) -> Result<PathBuf> {
    if let Some(p) = &opts.submit {
        return if p.is_file() {
            Ok(p.clone())
        } else {
            Err(Error::Config(format!("spark_submit: {} is not a file", p.display())))
        };
    }
    if let Some(home) = std::env::var_os("SPARK_HOME") {
        let p = PathBuf::from(home).join("bin").join("spark-submit");
        if p.is_file() {
            return Ok(p);
        }
    }
    on_path("spark-submit").ok_or_else(|| {
        Error::Config(
            "engine spark: spark-submit not found (install Spark, e.g. `pip install pyspark`, set SPARK_HOME, or pass --spark-submit)"
                .into(),
        )
    })
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).map(|d| d.join(name)).find(|p| p.is_file()))
        .unwrap_or(None)
}

/// Spark needs a JVM: `$JAVA_HOME/bin/java`, else `java` on PATH.
fn check_java() -> Result<()> {
    let from_home = std::env::var_os("JAVA_HOME").map(|h| PathBuf::from(h).join("bin").join("java"));
    if from_home.as_ref().is_some_and(|p| p.is_file()) || on_path("java").is_some() {
        return Ok(());
    }
    Err(Error::Config("engine spark: no Java found (Spark needs Java 17 or 21: install it, or set JAVA_HOME)".into()))
}

/// A standalone master (`spark://host:port[,host:port]`) must accept connections: Spark itself
/// would retry for a minute before giving up.
fn check_master(master: &str) -> Result<()> {
    let Some(hosts) = master.strip_prefix("spark://") else { return Ok(()) };
    for hp in hosts.split(',') {
        let reachable = hp
            .to_socket_addrs()
            .map(|mut addrs| addrs.any(|a| TcpStream::connect_timeout(&a, Duration::from_secs(5)).is_ok()))
            .unwrap_or(false);
        if reachable {
            return Ok(());
        }
    }
    Err(Error::Config(format!("spark_master: cannot reach the Spark master at {master} (is it running, and is the port right?)")))
}

/// The runner's error.json as evergreen's error.
fn runner_error(path: &Path, s: &Setup, cols: &Columns) -> Error {
    let v: Value = std::fs::read(path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or(Value::Null);
    let text = |k: &str| v[k].as_str().unwrap_or("").to_string();
    let file = PathBuf::from(&s.inputs);
    let role = |r: &str| -> &'static str {
        match r {
            "customer" => "customer",
            "order" => "order",
            "timestamp" => "timestamp",
            "amount" => "amount",
            "product" => "product",
            "item" => "item",
            "cost" => "cost",
            "quantity" => "quantity",
            _ => "column",
        }
    };
    match text("kind").as_str() {
        "missing_column" => Error::MissingColumn {
            file,
            column: text("column"),
            role: role(&text("role")),
            expected: "a column of the role's type",
            found: text("found"),
        },
        "bad_column" => Error::BadColumn {
            file,
            column: text("column"),
            role: role(&text("role")),
            expected: text("expected"),
            found: text("found"),
        },
        "no_input" => Error::NoInput { path: format!("{} ({})", s.inputs, short(&text("message"))) },
        "bad_expression" => {
            Error::BadAmountExpr { file, expr: cols.amount.name.clone(), reason: short(&text("message")) }
        }
        "bad_filter" => Error::BadFilter {
            file,
            expr: cols.filter.where_sql.clone().unwrap_or_default(),
            reason: short(&text("message")),
        },
        "bad_excluded_item" => Error::BadExcludedItem {
            file: cols.filter.exclude_items.as_ref().map(|e| e.file.clone()).unwrap_or_default(),
            id: text("id"),
            role: role(&text("role")),
            column: text("column"),
            expected: "an integer column",
        },
        _ => Error::Internal(format!("engine spark: the Spark job failed: {}", short(&text("message")))),
    }
}

/// The first line of a Spark message, without its stack and SQL excerpt.
fn short(message: &str) -> String {
    let first = message.split(" == SQL").next().unwrap_or(message);
    let first = first.split("JVM stacktrace").next().unwrap_or(first);
    one_line(first).chars().take(400).collect()
}

/// spark-submit ended without the runner's result: find why in its log.
fn submit_error(log: &Path, master: &str, code: Option<i32>) -> Error {
    let mut text = String::new();
    if let Ok(mut f) = std::fs::File::open(log) {
        let _ = f.read_to_string(&mut text);
    }
    let find = |needle: &str| text.lines().find(|l| l.contains(needle)).map(one_line);
    if let Some(l) = find("JAVA_HOME").or_else(|| find("java: not found")) {
        return Error::Config(format!("engine spark: Spark cannot start Java ({l})"));
    }
    if let Some(l) = find("All masters are unresponsive").or_else(|| find("Failed to connect to master")) {
        return Error::Config(format!("spark_master: cannot reach the Spark master at {master} ({l})"));
    }
    if let Some(l) = find("Master must either be").or_else(|| find("Could not parse Master URL")) {
        return Error::Config(format!("spark_master: {master}: {l}"));
    }
    let last = text
        .lines()
        .rev()
        .find(|l| l.contains("Exception") || l.contains("Error") || l.contains("error"))
        .map(one_line)
        .unwrap_or_else(|| "no message".into());
    // The whole log, for RUST_LOG=debug (the work folder holding it is removed).
    tracing::debug!("spark-submit log:\n{text}");
    Error::Internal(format!(
        "engine spark: spark-submit exited with {} ({}); rerun with -v for Spark's log",
        code.map(|c| c.to_string()).unwrap_or_else(|| "a signal".into()),
        short(&last),
    ))
}

fn u64_of(v: &Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or(0)
}

/// A fixed-point sum the runner sent as a decimal string (null: the sum overflowed).
fn exact_of(v: &Value, k: &str) -> Option<Exact> {
    v[k].as_str().and_then(|s| s.parse::<i128>().ok())
}

/// The facts from result.json and the Parquet the job staged.
fn read_facts(
    result: &Value,
    dir: &Path,
    s: &Setup,
    cols: &Columns,
    known: Option<Present>,
) -> Result<(Facts, std::collections::BTreeMap<String, u64>)> {
    let ls = &result["line_stats"];
    let mut counts =
        Counts { lines_read: u64_of(ls, "lines_read"), filtered_lines: u64_of(ls, "filtered_lines"), ..Default::default() };
    for reason in orders::REASONS {
        counts.rejected.insert(reason.to_string(), u64_of(ls, reason));
    }
    let has = match known {
        Some(h) => h,
        None => present_from(&result["present"]),
    };
    // Remote inputs: the roles the job found decide what the plan can hold (a pattern table asked
    // for is never silently left out; local inputs were checked before the job).
    super::require_pattern_roles(s.plan, has, &s.inputs, cols)?;
    let plan = s.plan.given(has);
    let max_ts = ls["max_ts"].as_i64();
    let as_of = clean::as_of_date(s.as_of, max_ts, has, &counts, &s.inputs, &s.amount_column)?;
    counts.future_lines = u64_of(ls, "future_lines");
    let os = &result["order_stats"];
    counts.orders = u64_of(os, "orders");
    counts.purchase_orders = u64_of(os, "purchase_orders");
    counts.orders_rejected_conflict = u64_of(os, "orders_rejected_conflict");
    counts.rejected.insert("order_customer_conflict".into(), u64_of(os, "conflict_lines"));
    counts.guest_lines = u64_of(os, "guest_lines");
    counts.lines_used = u64_of(os, "lines_used");
    if u64_of(os, "max_order_lines") >= LIMB_LINES as u64 {
        return Err(Error::Internal(
            "engine spark: an order of 2^31 lines or more: beyond the exact sums of the Spark engine".into(),
        ));
    }
    require_lines(s, &counts)?;
    let mr = &result["order_stats"];
    let abs = |fx: &str, large: &str, shown: &str| {
        let exact = exact_of(mr, fx);
        AbsSum {
            exact: exact.unwrap_or(0),
            too_large: mr[large].as_bool().unwrap_or(false) || exact.is_none(),
            shown: mr[shown].as_f64().unwrap_or(f64::INFINITY),
        }
    };
    check_money_range(
        s,
        [
            abs("abs_amount_fx", "amount_too_large", "abs_amount_shown"),
            abs("abs_cost_fx", "cost_too_large", "abs_cost_shown"),
            abs("abs_discount_fx", "discount_too_large", "abs_discount_shown"),
        ],
    )?;
    let mut bytes = std::collections::BTreeMap::new();
    let mut customers = None;
    if plan.customers {
        let df = read_dir(dir, "customers", &mut bytes)?;
        let mut f = customer_facts(&df, plan, has)?;
        if f.is_empty() {
            return Err(no_customers(s, &counts));
        }
        if plan.activity {
            f.activity = Some(customer_activity(&read_dir(dir, "customer_days", &mut bytes)?, &f.customer_id)?);
        }
        customers = Some(f);
    }
    let (mut items, mut pairs) = (None, None);
    if let Some(item_column) = plan.items {
        let items_df = read_dir(dir, "items", &mut bytes)?;
        let pairs_df = if plan.pairs { Some(read_dir(dir, "pairs", &mut bytes)?) } else { None };
        let (i, p) =
            item_and_pair_facts(items_df, pairs_df, &result["pair_stats"], s, item_column, has, counts.purchase_orders)?;
        items = Some(i);
        pairs = p;
    }
    let (mut itemsets, mut sequences) = (None, None);
    if let (Some(item_facts), true) = (items.as_ref(), plan.itemsets || plan.sequences) {
        let df = read_dir(dir, "pattern_orders", &mut bytes)?;
        (itemsets, sequences) = pattern_facts(&df, item_facts, s, plan, as_of, counts.purchase_orders)?;
    }
    let days = if plan.activity { Some(day_totals(&read_dir(dir, "day_totals", &mut bytes)?)?) } else { None };
    // Steps 21 and 22: names and attributes, keyed like the local engines' frames.
    let product_names = if cols.product_name.is_some() && has.product {
        let df = read_dir(dir, "product_names", &mut bytes)?;
        let frame = DataFrame::new_infer_height(vec![
            key_column(&df, "product_id", c::PRODUCT)?,
            df.column("name")?.cast(&DataType::String)?,
        ])?;
        Some(frame.sort([c::PRODUCT], SortMultipleOptions::default())?)
    } else {
        None
    };
    let customer_attrs = if plan.customers && !cols.customer_attrs.is_empty() {
        let df = read_dir(dir, "customer_attrs", &mut bytes)?;
        let mut columns = vec![key_column(&df, "customer_id", c::CUSTOMER)?];
        for (i, name) in cols.customer_attrs.iter().enumerate() {
            columns.push(df.column(&c::attr_column(i))?.clone().with_name(name.as_str().into()));
        }
        Some(DataFrame::new_infer_height(columns)?.sort([c::CUSTOMER], SortMultipleOptions::default())?)
    } else {
        None
    };
    Ok((Facts { as_of, has, counts, customers, items, pairs, itemsets, sequences, days, product_names, customer_attrs }, bytes))
}

/// Step 19's rows (customer, day, purchase orders, amount) as the activity of the customers whose
/// ids are `ids` (the customer facts' rows; rows of other customers are dropped).
fn customer_activity(df: &DataFrame, ids: &Column) -> Result<CustomerActivity> {
    let row = codes_of(ids, &key_column(df, "customer_id", c::CUSTOMER)?)?;
    let day = i64_column(df, "day")?;
    let purchases = u32_column(df, "purchase_orders")?;
    let amount = exact_column(df, "amount")?;
    let mut v: Vec<(u32, i32, u32, Exact)> = (0..df.height())
        .filter(|&i| row[i] != NONE)
        .map(|i| (row[i], day[i] as i32, purchases[i], amount[i]))
        .collect();
    v.sort_unstable_by_key(|&(r, d, _, _)| (r, d));
    let mut a = CustomerActivity { offsets: vec![0; ids.len() + 1], ..Default::default() };
    for &(r, d, p, x) in &v {
        a.offsets[r as usize + 1] += 1;
        a.day.push(d);
        a.purchase_orders.push(p);
        a.amount.push(x);
    }
    for i in 0..ids.len() {
        a.offsets[i + 1] += a.offsets[i];
    }
    Ok(a)
}

/// Step 20's rows as the day totals.
fn day_totals(df: &DataFrame) -> Result<DayTotals> {
    let df = df.sort(["day"], SortMultipleOptions::default())?;
    Ok(DayTotals {
        day: i64_column(&df, "day")?.into_iter().map(|d| d as i32).collect(),
        orders: u32_column(&df, "orders")?,
        purchase_orders: u32_column(&df, "purchase_orders")?,
        net: exact_column(&df, "net")?,
        guest: exact_column(&df, "guest")?,
        returns: exact_column(&df, "returns")?,
    })
}

/// Itemset and sequence facts from step 18's rows (purchase order, customer, time, item): the
/// baskets and the customers' timelines rebuilt here, then the local engines' kernels.
fn pattern_facts(
    df: &DataFrame,
    items: &ItemFacts,
    s: &Setup,
    plan: Plan,
    as_of: Option<chrono::NaiveDate>,
    total: u64,
) -> Result<(Option<ItemsetFacts>, Option<SequenceFacts>)> {
    let orders = codes::encode(df.column("order_id")?)?;
    let customer_col = key_column(df, "customer_id", c::CUSTOMER)?;
    let customers = codes::encode(&customer_col)?;
    let at = i64_column(df, "ordered_at")?;
    let key = &items.item;
    let item_codes = codes_of(key, df.column("item")?)?;
    let n_orders = orders.len();
    let mut order_customer = vec![NONE; n_orders];
    let mut order_at = vec![0i64; n_orders];
    for (row, &o) in orders.codes.iter().enumerate() {
        order_customer[o as usize] = customers.codes[row];
        order_at[o as usize] = at[row];
    }
    let baskets = crate::kernels::baskets::build(&orders.codes, &item_codes, n_orders, false, |_| true);
    let n_items = key.len();
    let itemsets = if plan.itemsets { Some(super::patterns::itemset_facts(&baskets, n_items, s, total)?) } else { None };
    let sequences = match (plan.sequences, as_of) {
        (true, Some(as_of)) => {
            let purchase = vec![true; n_orders];
            let t = Timelines {
                customer: &order_customer,
                purchase: &purchase,
                ordered_at: &order_at,
                baskets: &baskets,
                n_customers: customers.len(),
            };
            Some(super::patterns::sequence_facts(&t, n_items, s, as_of))
        }
        _ => None,
    };
    Ok((itemsets, sequences))
}

/// The code of each of `values` among the item keys `key` (sorted: a code is its key's rank),
/// [`NONE`] for a null or a value not among them. Staged facts carry item keys; the kernels and
/// the item facts work on codes.
fn codes_of(key: &Column, values: &Column) -> Result<Vec<u32>> {
    let values = values.cast(key.dtype())?;
    Ok(match key.dtype() {
        DataType::String => {
            let map: hashbrown::HashMap<&str, u32> =
                key.str()?.iter().enumerate().filter_map(|(i, k)| Some((k?, i as u32))).collect();
            values.str()?.iter().map(|v| v.and_then(|v| map.get(v).copied()).unwrap_or(NONE)).collect()
        }
        _ => {
            let (key, values) = (key.cast(&DataType::Int64)?, values.cast(&DataType::Int64)?);
            let map: hashbrown::HashMap<i64, u32> =
                key.i64()?.iter().enumerate().filter_map(|(i, k)| Some((k?, i as u32))).collect();
            values.i64()?.iter().map(|v| v.and_then(|v| map.get(&v).copied()).unwrap_or(NONE)).collect()
        }
    })
}

fn present_from(v: &Value) -> Present {
    let b = |k: &str| v[k].as_bool().unwrap_or(false);
    Present {
        customer: b("customer"),
        timestamp: b("timestamp"),
        amount: b("amount"),
        product: b("product"),
        item: b("item"),
        cost: b("cost"),
        quantity: b("quantity"),
        discount: b("discount"),
    }
}

/// Every Parquet part file of the folder `name` Spark wrote, as one frame (its bytes counted).
fn read_dir(root: &Path, name: &str, bytes: &mut std::collections::BTreeMap<String, u64>) -> Result<DataFrame> {
    let dir = root.join(name);
    let dir = dir.as_path();
    let bytes = bytes.entry(name.to_string()).or_insert(0);
    let mut parts: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::Internal(format!("engine spark: the job staged no facts in {}: {e}", dir.display())))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    parts.sort();
    let mut frames = Vec::with_capacity(parts.len());
    for p in &parts {
        *bytes += std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let file = std::fs::File::open(p).map_err(|e| Error::Internal(format!("engine spark: {}: {e}", p.display())))?;
        frames.push(ParquetReader::new(file).finish()?);
    }
    let mut all = frames.pop().ok_or_else(|| Error::Internal(format!("engine spark: no Parquet in {}", dir.display())))?;
    for f in frames {
        all.vstack_mut(&f)?;
    }
    Ok(all)
}

/// Groups of at least this many lines could overflow a BIGINT limb sum (see 03_current_lines.sql).
const LIMB_LINES: i64 = 1 << 31;

/// The fixed-point sums of the limb columns `name_3` .. `name_0` (null limbs: 0), joined into i128.
fn exact_column(df: &DataFrame, name: &str) -> Result<Vec<Exact>> {
    if let Ok(lines) = df.column("lines") {
        if lines.cast(&DataType::Int64)?.i64()?.max().unwrap_or(0) >= LIMB_LINES {
            return Err(Error::Internal(format!(
                "engine spark: a group of 2^31 lines or more: beyond the exact sums of the Spark engine ({name})"
            )));
        }
    }
    let mut total: Vec<Exact> = vec![0; df.height()];
    for k in 0..4u32 {
        let limb = df.column(&format!("{name}_{k}"))?.cast(&DataType::Int64)?;
        for (t, v) in total.iter_mut().zip(limb.i64()?.iter()) {
            *t = t.wrapping_add((v.unwrap_or(0) as i128) << (32 * k));
        }
    }
    Ok(total)
}

fn u32_column(df: &DataFrame, name: &str) -> Result<Vec<u32>> {
    let col = df.column(name)?.cast(&DataType::UInt32)?;
    Ok(col.u32()?.iter().map(|v| v.unwrap_or(0)).collect())
}

fn i64_column(df: &DataFrame, name: &str) -> Result<Vec<i64>> {
    let col = df.column(name)?.cast(&DataType::Int64)?;
    Ok(col.i64()?.iter().map(|v| v.unwrap_or(0)).collect())
}

/// An id column as the local engines type it (Int64 or String).
fn key_column(df: &DataFrame, name: &str, out: &str) -> Result<Column> {
    let col = df.column(name)?;
    let col = match col.dtype() {
        DataType::String => col.clone(),
        DataType::Null => col.cast(&DataType::Int64)?,
        _ => col.cast(&DataType::Int64)?,
    };
    Ok(col.with_name(out.into()))
}

fn customer_facts(df: &DataFrame, plan: Plan, has: Present) -> Result<CustomerFacts> {
    let monetary = exact_column(df, "monetary")?;
    Ok(CustomerFacts {
        customer_id: key_column(df, "customer_id", c::CUSTOMER)?,
        frequency: u32_column(df, "frequency")?,
        monetary: monetary.iter().map(|v| money::to_f64(*v)).collect(),
        profit: if has.cost { Some(exact_column(df, "profit")?.iter().map(|v| money::to_f64(*v)).collect()) } else { None },
        discount: if has.discount {
            Some(exact_column(df, "discount")?.iter().map(|v| money::to_f64(*v)).collect())
        } else {
            None
        },
        first_purchase: i64_column(df, "first_purchase")?,
        last_purchase: i64_column(df, "last_purchase")?,
        favourite_product: if plan.favourite {
            Some(key_column(df, "favourite_product", c::PRODUCT)?)
        } else {
            None
        },
        basket_items: if plan.favourite {
            Some(i64_column(df, "basket_items")?.into_iter().map(|v| v.max(0) as u64).collect())
        } else {
            None
        },
        days: if plan.purchase_days {
            let gap = df.column("last_gap_days")?.cast(&DataType::Int64)?;
            Some(PurchaseDays {
                count: u32_column(df, "purchase_days")?,
                repeat_value: exact_column(df, "repeat_value")?.iter().map(|v| money::to_f64(*v)).collect(),
                last_gap_days: gap.i64()?.iter().map(|v| v.map(|v| v as u32)).collect(),
            })
        } else {
            None
        },
        activity: None,
    })
}

fn item_and_pair_facts(
    items: DataFrame,
    pairs: Option<DataFrame>,
    stats: &Value,
    s: &Setup,
    key_name: &str,
    has: Present,
    total: u64,
) -> Result<(ItemFacts, Option<PairFacts>)> {
    let items = items.sort(["item"], SortMultipleOptions::default())?;
    let key = key_column(&items, "item", "item")?;
    let item_facts = ItemFacts {
        item: key.clone().with_name(key_name.into()),
        orders: u32_column(&items, "orders")?,
        customers: if has.customer { Some(u32_column(&items, "customers")?) } else { None },
        quantity: if has.quantity {
            Some(exact_column(&items, "quantity")?.iter().map(|v| money::to_f64(*v)).collect())
        } else {
            None
        },
        revenue: if has.amount {
            Some(exact_column(&items, "revenue")?.iter().map(|v| money::to_f64(*v)).collect())
        } else {
            None
        },
        total_purchase_orders: total,
    };
    let Some(pairs) = pairs else { return Ok((item_facts, None)) };
    let threshold = s.basket.threshold(total);
    let spark_threshold = stats["threshold"].as_u64().unwrap_or(0);
    if spark_threshold != threshold {
        return Err(Error::Internal(format!(
            "engine spark: the job's pair threshold {spark_threshold} differs from evergreen's {threshold}"
        )));
    }
    // Item keys to codes (their rank in key order), so pairs index the item facts.
    let (a, b) = (codes_of(&key, pairs.column("item_a")?)?, codes_of(&key, pairs.column("item_b")?)?);
    let n = pairs.column("pair_orders")?.cast(&DataType::UInt32)?;
    let mut list: Vec<(u32, u32, u32)> = a
        .iter()
        .zip(&b)
        .zip(n.u32()?.iter())
        .filter_map(|((&a, &b), n)| (a != NONE && b != NONE).then_some((a, b, n?)))
        .map(|(a, b, n)| if a < b { (a, b, n) } else { (b, a, n) })
        .collect();
    list.sort_unstable();
    let pair_facts = PairFacts {
        pairs: list,
        threshold,
        items_kept: u64_of(stats, "items_kept"),
        baskets_paired: u64_of(stats, "baskets_paired"),
        baskets_skipped: u64_of(stats, "baskets_skipped"),
    };
    Ok((item_facts, Some(pair_facts)))
}
