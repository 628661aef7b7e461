//! Issue 15 (point 5): `evergreen publish` into a real PostgreSQL server. The tests need one:
//! EVERGREEN_TEST_POSTGRES=postgresql://user@127.0.0.1:PORT/db (`.ci/run` starts a throwaway
//! cluster with bench/pg_cluster.sh). Without it they say they are skipped, unless
//! EVERGREEN_REQUIRE_POSTGRES=1 (set by .ci/run), when they fail.

use std::path::Path;

use crate::common::*;
use polars::prelude::*;

/// The server's URL, or `None` (the test is skipped) when none is configured.
pub fn server(test: &str) -> Option<String> {
    if let Ok(url) = std::env::var("EVERGREEN_TEST_POSTGRES") {
        return Some(url);
    }
    if std::env::var("EVERGREEN_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
        panic!("{test}: EVERGREEN_REQUIRE_POSTGRES=1 but EVERGREEN_TEST_POSTGRES names no server");
    }
    skip(test, "no PostgreSQL server (set EVERGREEN_TEST_POSTGRES; bench/pg_cluster.sh starts one; EVERGREEN_REQUIRE_POSTGRES=1 fails instead)");
    None
}

pub fn client(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).expect("connect to the test server")
}

/// A fresh schema name per test (the tests share one server).
pub fn schema(test: &str, url: &str) -> String {
    let name = format!("t_{test}");
    let mut c = client(url);
    for s in [name.clone(), format!("{name}__evergreen_staging")] {
        c.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{s}\" CASCADE")).unwrap();
    }
    name
}

/// A run of the good dump into `dir/out_AS_OF` at `as_of`.
pub fn output(dir: &Path, as_of: &str) -> std::path::PathBuf {
    let out = dir.join(format!("out_{as_of}"));
    let o = bin()
        .args(["run", "-q", "--as-of", as_of, "-i"])
        .arg(dir.join("dump.parquet"))
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

pub fn publish(tables: &Path, url: &str, schema: &str, extra: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut c = bin();
    c.args(["publish", "--tables"]).arg(tables).args(["--postgres", url, "--schema", schema]).args(extra);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

pub fn count(url: &str, sql: &str) -> i64 {
    client(url).query_one(sql, &[]).unwrap().get::<_, i64>(0)
}

pub fn good_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    write_parquet(&mut good_frame(), &d.path().join("dump.parquet"));
    d
}

/// Issue 15.
#[test]
fn publish_loads_every_table_with_as_of_and_faithful_types() {
    let Some(url) = server("publish_loads_every_table_with_as_of_and_faithful_types") else { return };
    let s = schema("types", &url);
    let d = good_dir();
    let out = output(d.path(), "2024-01-10");
    let o = publish(&out, &url, &s, &["--format", "json"], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["mode"], "replace");
    // Every table of the manifest, with its row count.
    let m = manifest(&out);
    let tables = m["tables"].as_object().unwrap();
    for (name, info) in tables {
        assert_eq!(report["rows"][name], info["rows"], "{name}");
        let n = count(&url, &format!("SELECT count(*) FROM \"{s}\".\"{name}\""));
        assert_eq!(n as u64, info["rows"].as_u64().unwrap(), "{name}");
        let as_of = count(&url, &format!("SELECT count(*) FROM \"{s}\".\"{name}\" WHERE as_of = DATE '2024-01-10'"));
        assert_eq!(as_of, n, "{name}: every row carries the as_of date");
    }
    // Types as the README's table says.
    let mut c = client(&url);
    let types: std::collections::HashMap<String, String> = c
        .query(
            "SELECT column_name::text, data_type::text FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'customers'",
            &[&s],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    for (column, ty) in [
        ("as_of", "date"),
        ("customer_id", "bigint"),
        ("monetary", "double precision"),
        ("frequency", "bigint"),
        ("first_purchase_at", "timestamp without time zone"),
        ("segment", "text"),
    ] {
        assert_eq!(types.get(column).map(String::as_str), Some(ty), "customers.{column}");
    }
    // The values: customers' ids, monetary and first purchase as the Parquet holds them.
    let parquet = read_parquet(&out.join("customers.parquet")).sort(["customer_id"], Default::default()).unwrap();
    let rows = c
        .query(
            &format!("SELECT customer_id, monetary, first_purchase_at FROM \"{s}\".customers ORDER BY customer_id"),
            &[],
        )
        .unwrap();
    assert_eq!(rows.iter().map(|r| r.get::<_, i64>(0)).collect::<Vec<_>>(), ints(&parquet, "customer_id"));
    assert_eq!(rows.iter().map(|r| r.get::<_, f64>(1)).collect::<Vec<_>>(), floats(&parquet, "monetary"));
    let first: Vec<i64> =
        rows.iter().map(|r| r.get::<_, chrono::NaiveDateTime>(2).and_utc().timestamp_micros()).collect();
    let want: Vec<i64> = parquet
        .column("first_purchase_at")
        .unwrap()
        .cast(&DataType::Datetime(TimeUnit::Microseconds, None))
        .unwrap()
        .cast(&DataType::Int64)
        .unwrap()
        .i64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(first, want);
}

/// Issue 15.
#[test]
fn publish_append_adds_snapshots_and_a_rerun_replaces_its_date() {
    let Some(url) = server("publish_append_adds_snapshots_and_a_rerun_replaces_its_date") else { return };
    let s = schema("append", &url);
    let d = good_dir();
    let (a, b) = (output(d.path(), "2024-01-08"), output(d.path(), "2024-01-10"));
    for (out, extra) in [(&a, vec!["--append"]), (&b, vec!["--append"]), (&b, vec!["--append"])] {
        let o = publish(out, &url, &s, &extra, &[]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let rows = |out: &Path| manifest(out)["tables"]["customers"]["rows"].as_i64().unwrap();
    let total = count(&url, &format!("SELECT count(*) FROM \"{s}\".customers"));
    assert_eq!(total, rows(&a) + rows(&b), "the rerun of 2024-01-10 replaced its rows");
    assert_eq!(count(&url, &format!("SELECT count(DISTINCT as_of) FROM \"{s}\".kpis")), 2);
    // Replacing (no --append) leaves only the new snapshot.
    let o = publish(&a, &url, &s, &[], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(count(&url, &format!("SELECT count(*) FROM \"{s}\".customers")), rows(&a));
}

/// Issue 15.
#[test]
fn a_killed_load_leaves_the_live_schema_untouched() {
    let Some(url) = server("a_killed_load_leaves_the_live_schema_untouched") else { return };
    let s = schema("killed", &url);
    let d = good_dir();
    let (a, b) = (output(d.path(), "2024-01-08"), output(d.path(), "2024-01-10"));
    assert!(publish(&a, &url, &s, &[], &[]).status.success());
    let before = count(&url, &format!("SELECT count(*) FROM \"{s}\".customers"));
    // Killed after the first table's COPY, and just before the commit, replacing and appending:
    // the process dies without a word to the server, which rolls the transaction back.
    for (step, extra) in [
        ("publish-after-table", vec![]),
        ("publish-before-commit", vec![]),
        ("publish-before-commit", vec!["--append"]),
    ] {
        let o = publish(&b, &url, &s, &extra, &[("EVERGREEN_TEST_CRASH_AT", step)]);
        assert!(!o.status.success(), "{step}: the crash hook did not fire");
        let dates: Vec<chrono::NaiveDate> = client(&url)
            .query(&format!("SELECT DISTINCT as_of FROM \"{s}\".customers"), &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(dates, vec![chrono::NaiveDate::from_ymd_opt(2024, 1, 8).unwrap()], "{step} {extra:?}");
        assert_eq!(count(&url, &format!("SELECT count(*) FROM \"{s}\".customers")), before);
        let staging =
            count(&url, &format!("SELECT count(*) FROM pg_namespace WHERE nspname = '{s}__evergreen_staging'"));
        assert_eq!(staging, 0, "{step}: a staging schema was left behind");
    }
}

/// Issue 15.
#[test]
fn publish_never_touches_a_schema_it_did_not_write() {
    let Some(url) = server("publish_never_touches_a_schema_it_did_not_write") else { return };
    let s = schema("foreign", &url);
    client(&url).batch_execute(&format!("CREATE SCHEMA \"{s}\"; CREATE TABLE \"{s}\".mine (x int)")).unwrap();
    let d = good_dir();
    let a = output(d.path(), "2024-01-10");
    for extra in [vec![], vec!["--append"]] {
        let o = publish(&a, &url, &s, &extra, &[]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(5), "{err}");
        assert!(err.contains("evergreen did not write it"), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    assert_eq!(count(&url, &format!("SELECT count(*) FROM pg_tables WHERE schemaname = '{s}'")), 1);
    // A server that is not there: exit 5, the password not echoed.
    let o = publish(&a, "postgresql://evergreen:secret@127.0.0.1:1/db", "x", &[], &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(5), "{err}");
    assert!(!err.contains("secret") && err.contains("***"), "{err}");
    // A bad schema name: exit 2 before connecting.
    let o = publish(&a, &url, "bad-name", &[], &[]);
    assert_eq!(o.status.code(), Some(2));
}

/// Issue 15.
#[test]
fn run_publish_loads_what_the_run_wrote() {
    let Some(url) = server("run_publish_loads_what_the_run_wrote") else { return };
    let s = schema("runpub", &url);
    let d = good_dir();
    let out = d.path().join("out");
    let o = bin()
        .args(["run", "-q", "--as-of", "2024-01-10", "-i"])
        .arg(d.path().join("dump.parquet"))
        .arg("-o")
        .arg(&out)
        .args(["--publish", &url, "--publish-schema", &s])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows = manifest(&out)["tables"]["customers"]["rows"].as_i64().unwrap();
    assert_eq!(count(&url, &format!("SELECT count(*) FROM \"{s}\".customers")), rows);
    // A server that refuses: exit 5, and the run's output stays written.
    let out2 = d.path().join("out2");
    let o = bin()
        .args(["run", "-q", "--as-of", "2024-01-10", "-i"])
        .arg(d.path().join("dump.parquet"))
        .arg("-o")
        .arg(&out2)
        .args(["--publish", "postgresql://evergreen@127.0.0.1:1/db"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(5), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out2.join("_SUCCESS").is_file());
}
