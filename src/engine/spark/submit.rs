//! Starting the Spark job: a resident runner's spool or spark-submit (found, with Java and the
//! master checked first), and the runner's and spark-submit's failures as one-line errors.

use std::io::Read;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;
use serde_json::{json, Value};
use crate::engine::Setup;
use crate::config::{Columns, SparkOptions};
use crate::error::{one_line, Error, Result};

/// Where a Spark job runs: a resident runner (`EVERGREEN_SPARK_SERVICE`), or its own spark-submit.
pub(super) enum Launch<'a> {
    Service(&'a Path),
    Submit(PathBuf),
}

/// Seconds without a heartbeat after which a Spark service counts as gone.
const SERVICE_TIMEOUT: Duration = Duration::from_secs(30);

/// Hand `job` to the resident runner at `spool` (`runner.py --serve SPOOL`, see
/// `EVERGREEN_SPARK_SERVICE`) and wait until one of `done` exists. A spool whose heartbeat is older
/// than [`SERVICE_TIMEOUT`] (no service, or it died mid-job) is a one-line error, never a hang.
pub(super) fn run_in_service(spool: &Path, job: &Path, done: &[&Path]) -> Result<()> {
    let beat = spool.join("heartbeat");
    let alive = || {
        std::fs::metadata(&beat)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age < SERVICE_TIMEOUT))
    };
    let gone = || {
        Error::Config(format!(
            "engine spark: no Spark service answers at {} (EVERGREEN_SPARK_SERVICE): start one with \
             `spark-submit runner.py --serve {}` (src/engine/spark/runner.py), or unset the variable",
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
pub(super) fn file_uri(path: &Path) -> String {
    let mut out = String::from("file://");
    for ch in path.to_string_lossy().chars() {
        if matches!(ch, '[' | ']' | '{' | '}' | '*' | '?' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

pub(super) fn work_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Output { path: path.to_path_buf(), reason: format!("cannot write the Spark work folder: {e}") }
}

/// `--spark-submit`, else `$SPARK_HOME/bin/spark-submit`, else `spark-submit` on PATH.
pub(super) fn find_submit(opts: &SparkOptions) -> Result<PathBuf> {
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
pub(super) fn check_java() -> Result<()> {
    let from_home = std::env::var_os("JAVA_HOME").map(|h| PathBuf::from(h).join("bin").join("java"));
    if from_home.as_ref().is_some_and(|p| p.is_file()) || on_path("java").is_some() {
        return Ok(());
    }
    Err(Error::Config("engine spark: no Java found (Spark needs Java 17 or 21: install it, or set JAVA_HOME)".into()))
}

/// A standalone master (`spark://host:port[,host:port]`) must accept connections: Spark itself
/// would retry for a minute before giving up.
pub(super) fn check_master(master: &str) -> Result<()> {
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
pub(super) fn runner_error(path: &Path, s: &Setup, cols: &Columns) -> Error {
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
        // A --group's predicate names its flag and text; --where's is the config's.
        "bad_filter" => Error::BadFilter {
            file,
            flag: Some(text("flag")).filter(|f| !f.is_empty()).unwrap_or_else(|| "--where".into()),
            expr: Some(text("expr")).filter(|e| !e.is_empty()).or_else(|| cols.filter.where_sql.clone()).unwrap_or_default(),
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
pub(super) fn submit_error(log: &Path, master: &str, code: Option<i32>) -> Error {
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
