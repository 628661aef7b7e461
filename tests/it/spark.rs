//! Issue 11: `--engine spark`. The conformance of every table against the local engines runs in
//! bench/spark_check.py (every sample, generated dumps, local[2] and a loopback cluster, from
//! .ci/run). Here: a hand-worked dump on real Spark, and how Spark's failures become evergreen's
//! one-line errors with the usual exit codes, leaving the previous output untouched.
//!
//! The tests that start Spark need `spark-submit` (pip install pyspark) and Java; without them they
//! say they are skipped, unless EVERGREEN_REQUIRE_SPARK=1 (set by .ci/run), when they fail.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::common::*;

/// Whether real Spark can run here; panics when it must (CI) and cannot.
fn spark_available(test: &str) -> bool {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("spark-submit").is_file()))
        .unwrap_or(false);
    let home = std::env::var_os("SPARK_HOME").is_some_and(|h| Path::new(&h).join("bin/spark-submit").is_file());
    if on_path || home {
        return true;
    }
    if std::env::var("EVERGREEN_REQUIRE_SPARK").is_ok_and(|v| v == "1") {
        panic!("{test}: EVERGREEN_REQUIRE_SPARK=1 but no spark-submit is installed");
    }
    skip(test, "no spark-submit on this machine (pip install pyspark; set EVERGREEN_REQUIRE_SPARK=1 to fail instead)");
    false
}

/// Run the binary with Spark on loopback; returns (exit code, stderr).
fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = bin();
    cmd.args(args).env("SPARK_LOCAL_IP", "127.0.0.1").env_remove("EVERGREEN_INPUT").env_remove("EVERGREEN_OUT");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).to_string())
}

/// A stand-in `spark-submit`: a shell script with `body` (the job file is its last argument).
fn fake_submit(dir: &Path, body: &str) -> PathBuf {
    let p = dir.join("spark-submit");
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

/// Names in `dir` starting with a dot (work folders left behind).
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with('.'))
        .collect()
}

/// A dump whose answers are worked out by hand below.
///
/// - order 1 (customer 1): 10.00 + a guest line of 5.00 (the guest line is not the customer's money);
/// - order 2 (customer 1): a return, -4.00;
/// - order 3 (customer 2): 0.125 + 0.125 + 0.25 = 0.50 exactly;
/// - order 4: lines naming customers 2 and 3: rejected (2 lines);
/// - order 5 (customer 3): 7.00 on 2024-03-10, after --as-of 2024-03-01: a future line;
/// - order 6: a guest order of 3.00;
/// - a line with a null amount (order 7).
fn hand_dump() -> (tempfile::TempDir, PathBuf) {
    let mut df = frame(&[
        pline(Some(1), 1, "2024-02-01 10:00", 10.0, 100),
        pline(None, 1, "2024-02-01 10:00", 5.0, 101),
        pline(Some(1), 2, "2024-02-10 09:00", -4.0, 100),
        pline(Some(2), 3, "2024-02-20 12:00", 0.125, 100),
        pline(Some(2), 3, "2024-02-20 12:00", 0.125, 102),
        pline(Some(2), 3, "2024-02-20 12:01", 0.25, 101),
        pline(Some(2), 4, "2024-02-21 12:00", 1.0, 100),
        pline(Some(3), 4, "2024-02-21 12:00", 1.0, 101),
        pline(Some(3), 5, "2024-03-10 12:00", 7.0, 100),
        pline(None, 6, "2024-02-25 12:00", 3.0, 101),
    ]);
    let mut extra = frame(&[pline(Some(4), 7, "2024-02-26 12:00", 1.0, 100)]);
    extra.with_column(Column::full_null("amount".into(), 1, &DataType::Float64)).unwrap();
    df.vstack_mut(&extra).unwrap();
    dump_frame(&mut df)
}

use polars::prelude::*;

/// Issue 11.
#[test]
fn hand_worked_dump_on_spark_gives_the_hand_worked_facts_and_the_memory_tables() {
    if !spark_available("issue11_hand_worked_dump") {
        return;
    }
    let (d, p) = hand_dump();
    let (spark, memory) = (d.path().join("spark"), d.path().join("memory"));
    let common = ["run", "--input", p.to_str().unwrap(), "--as-of", "2024-03-01"];
    // A relative --out, as in the README (the work folder and the staged facts must still resolve).
    let o = bin()
        .current_dir(d.path())
        .args([&common[..], &["--out", "spark", "--engine", "spark", "--spark-master", "local[1]"]].concat())
        .env("SPARK_LOCAL_IP", "127.0.0.1")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let m = manifest(&spark);
    assert_eq!(m["engine"]["name"], "spark");
    let k = &m["counts"];
    assert_eq!(k["lines_read"], 11);
    assert_eq!(k["rejected"]["null_amount"], 1);
    assert_eq!(k["rejected"]["order_customer_conflict"], 2);
    assert_eq!(k["orders_rejected_conflict"], 1);
    assert_eq!(k["future_lines"], 1);
    assert_eq!(k["lines_used"], 7, "11 read - 1 null amount - 1 future - 2 in the rejected order");
    assert_eq!(k["guest_lines"], 2);
    assert_eq!(k["orders"], 4, "orders 1, 2, 3, 6");
    assert_eq!(k["purchase_orders"], 3, "orders 1, 3, 6 (order 2 is a return)");
    let customers = read_parquet(&spark.join("customers.parquet"));
    let ids: Vec<i64> = customers.column("customer_id").unwrap().i64().unwrap().into_no_null_iter().collect();
    let monetary: Vec<f64> = customers.column("monetary").unwrap().f64().unwrap().into_no_null_iter().collect();
    let mut by_id: Vec<(i64, f64)> = ids.into_iter().zip(monetary).collect();
    by_id.sort_by_key(|x| x.0);
    assert_eq!(by_id, vec![(1, 6.0), (2, 0.5)], "10 - 4 for customer 1 (not the guest line); 0.125 + 0.125 + 0.25");
    let (code, err) = run(&[&common[..], &["--out", memory.to_str().unwrap(), "--engine", "memory"]].concat(), &[]);
    assert_eq!(code, 0, "{err}");
    for t in ["customers", "score_bins", "monetary_deciles", "purchase_deciles", "products", "basket_pairs"] {
        let f = format!("{t}.parquet");
        assert_eq!(std::fs::read(spark.join(&f)).unwrap(), std::fs::read(memory.join(&f)).unwrap(), "{t}: same bytes");
    }
    assert!(leftovers(d.path()).is_empty(), "the work folder is removed: {:?}", leftovers(d.path()));
}

/// Issue 11.
#[test]
fn missing_column_found_by_spark_is_exit_4_and_the_previous_output_stays() {
    if !spark_available("issue11_missing_column_found_by_spark") {
        return;
    }
    let (d, p) = hand_dump();
    let out = d.path().join("out");
    let (code, err) = run(&["run", "--input", p.to_str().unwrap(), "--out", out.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{err}");
    let before = std::fs::read(out.join("customers.parquet")).unwrap();
    // A file:// URI: evergreen does not open it, so the check is the runner's, on Spark.
    let uri = format!("file://{}", p.display());
    let (code, err) = run(
        &["run", "--input", &uri, "--out", out.to_str().unwrap(), "--engine", "spark", "--spark-master", "local[1]",
          "--customer-col", "CustomerID"],
        &[],
    );
    assert_eq!(code, 4, "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains("`CustomerID`") && err.contains("customer") && err.contains("order_id"), "{err}");
    assert_eq!(std::fs::read(out.join("customers.parquet")).unwrap(), before, "previous output untouched");
    assert!(leftovers(d.path()).is_empty(), "{:?}", leftovers(d.path()));
}

/// Issue 11.
#[test]
fn unreachable_master_is_exit_2_at_once() {
    let (d, p) = hand_dump();
    let submit = fake_submit(d.path(), "exit 0");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let master = format!("spark://127.0.0.1:{port}");
    let started = std::time::Instant::now();
    let (code, err) = run(
        &["run", "--input", p.to_str().unwrap(), "--out", d.path().join("out").to_str().unwrap(), "--engine", "spark",
          "--spark-master", &master, "--spark-submit", submit.to_str().unwrap()],
        &[],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot reach the Spark master") && err.contains(&master), "{err}");
    assert!(started.elapsed().as_secs() < 10, "no minute of retries");
    assert!(!d.path().join("out").exists());
}

/// Issue 11.
#[test]
fn no_spark_submit_and_no_java_are_exit_2() {
    let (d, p) = hand_dump();
    let out = d.path().join("out");
    let empty = d.path().join("empty-bin");
    std::fs::create_dir(&empty).unwrap();
    let args = ["run", "--input", p.to_str().unwrap(), "--out", out.to_str().unwrap(), "--engine", "spark"];
    let mut cmd = bin();
    cmd.args(args).env("PATH", &empty).env_remove("SPARK_HOME").env_remove("EVERGREEN_SPARK_SUBMIT");
    let o = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("spark-submit not found") && err.contains("pip install pyspark"), "{err}");

    let submit = fake_submit(&empty, "exit 0");
    let mut cmd = bin();
    cmd.args(args).arg("--spark-submit").arg(&submit).env("PATH", &empty).env_remove("JAVA_HOME");
    let o = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("no Java found") && err.contains("JAVA_HOME"), "{err}");
    assert!(!out.exists());
}

/// Issue 11.
#[test]
fn a_failed_spark_job_is_one_line_and_leaves_the_previous_output() {
    let (d, p) = hand_dump();
    let out = d.path().join("out");
    let (code, err) = run(&["run", "--input", p.to_str().unwrap(), "--out", out.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{err}");
    let before = std::fs::read(out.join("customers.parquet")).unwrap();
    // The job dies in the middle (an executor lost, say): spark-submit exits 1 with a Java trace.
    let dying = fake_submit(
        d.path(),
        "echo 'Exception in thread \"main\" org.apache.spark.SparkException: Job aborted due to stage failure: lost executor' >&2\n\
         echo '\tat org.apache.spark.scheduler.DAGScheduler.failJobAndIndependentStages' >&2\nexit 1",
    );
    let base = ["run", "--input", p.to_str().unwrap(), "--out", out.to_str().unwrap(), "--engine", "spark"];
    let (code, err) = run(&[&base[..], &["--spark-submit", dying.to_str().unwrap()]].concat(), &[]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains("spark-submit exited with 1") && err.contains("lost executor"), "{err}");
    // The runner refuses a column (what it writes on a schema error): exit 4, the column named.
    std::fs::create_dir_all(d.path().join("bin")).unwrap();
    let refusing = fake_submit(
        &d.path().join("bin"),
        r#"for a; do job="$a"; done
dir=$(dirname "$job")
printf '%s' '{"kind": "bad_column", "message": "x", "column": "amount", "role": "amount", "expected": "numbers", "found": "string"}' > "$dir/error.json"
exit 3"#,
    );
    let (code, err) = run(&[&base[..], &["--spark-submit", refusing.to_str().unwrap()]].concat(), &[]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("`amount` (amount): expected numbers, found string"), "{err}");
    assert_eq!(std::fs::read(out.join("customers.parquet")).unwrap(), before, "previous output untouched");
    assert!(leftovers(d.path()).is_empty(), "{:?}", leftovers(d.path()));
}

/// Issue 11.
#[test]
fn remote_paths_need_the_spark_engine_and_spark_conf_needs_key_value() {
    let (d, _) = hand_dump();
    let out = d.path().join("out");
    let (code, err) = run(&["run", "--input", "hdfs://namenode/dumps/x.parquet", "--out", out.to_str().unwrap()], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("only --engine spark reads those"), "{err}");
    let (code, err) = run(
        &["run", "--input", "s3a://b/x.parquet", "--out", out.to_str().unwrap(), "--engine", "spark", "--spark-conf", "novalue"],
        &[],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("expected KEY=VALUE, found `novalue`"), "{err}");
}

/// Issue 11.
#[test]
fn secret_spark_settings_never_reach_the_manifest() {
    use evergreen::config::{EngineSettings, Settings, SparkOptions};
    let args: Vec<String> = [
        "run",
        "--spark-conf",
        "spark.hadoop.fs.s3a.secret.key=abc123",
        "--spark-conf=spark.hadoop.fs.s3a.access.key=AKIA",
        "--spark-conf",
        "spark.executor.memory=8g",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let shown = SparkOptions::redact_arguments(&args);
    assert_eq!(shown[2], "spark.hadoop.fs.s3a.secret.key=<redacted>");
    assert_eq!(shown[3], "--spark-conf=spark.hadoop.fs.s3a.access.key=<redacted>");
    assert_eq!(shown[5], "spark.executor.memory=8g");
    let settings = Settings {
        input: Some(vec!["x.parquet".into()]),
        out: Some("out".into()),
        engine: EngineSettings {
            spark_conf: vec!["spark.hadoop.fs.s3a.secret.key=abc123".into(), "spark.executor.cores=4".into()],
            ..Default::default()
        },
        ..Default::default()
    };
    let cfg = settings.resolve().unwrap();
    let json = serde_json::to_string(&cfg).unwrap();
    assert!(!json.contains("abc123") && json.contains("<redacted>") && json.contains("spark.executor.cores"), "{json}");
}
