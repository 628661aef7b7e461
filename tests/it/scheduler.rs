//! Issue 15 (point 6, scheduler-friendly edges): TOML dates, config paths relative to the config
//! file, on/off variables that switch a config file's `true` off, and a structured success line.

use crate::common::*;

/// A config file in its own folder beside a dump, and the folder.
fn config_beside_dump(body: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    write_parquet(&mut good_frame(), &d.path().join("dump.parquet"));
    std::fs::write(d.path().join("evergreen.toml"), body).unwrap();
    d
}

/// Issue 15.
#[test]
fn config_paths_are_relative_to_the_config_file_and_dates_may_be_toml_dates() {
    let d = config_beside_dump("input = [\"dump.parquet\"]\nout = \"out\"\nas_of = 2024-01-10\n");
    let elsewhere = tempfile::tempdir().unwrap();
    let o = bin()
        .current_dir(elsewhere.path())
        .args(["run", "-q", "--config", d.path().join("evergreen.toml").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m = manifest(&d.path().join("out"));
    assert_eq!(m["as_of"], "2024-01-10");
    assert!(std::fs::read_dir(elsewhere.path()).unwrap().next().is_none(), "wrote into the working folder");
    // A TOML date-time is not a date: refused, naming the value.
    let d = config_beside_dump("as_of = 2024-01-10T10:00:00\n");
    let o = bin()
        .args(["run", "--config", d.path().join("evergreen.toml").to_str().unwrap(), "-i", "x", "-o", "y"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("2024-01-10T10:00:00"));
}

/// Issue 15.
#[test]
fn an_off_variable_switches_a_config_true_off() {
    let d = config_beside_dump("input = [\"dump.parquet\"]\nclv = true\nallow_file_reads = true\n");
    let run = |out: &str, var: Option<&str>| {
        let mut c = bin();
        c.args(["run", "-q", "--config", d.path().join("evergreen.toml").to_str().unwrap(), "-o"])
            .arg(d.path().join(out))
            .env_remove("EVERGREEN_CLV");
        if let Some(v) = var {
            c.env("EVERGREEN_CLV", v);
        }
        c.output().unwrap()
    };
    // The config asks for the CLV models; this dump cannot support a fit (exit 4).
    assert_eq!(run("a", None).status.code(), Some(4));
    let o = run("b", Some("false"));
    assert!(o.status.success(), "EVERGREEN_CLV=false: {}", String::from_utf8_lossy(&o.stderr));
    assert!(!d.path().join("b/clv.parquet").exists());
}

/// Issue 15.
#[test]
fn json_success_line_carries_structured_fields() {
    let (_d, p) = dump_frame(&mut good_frame());
    let out = p.parent().unwrap().join("out");
    let o = bin()
        .args(["run", "--log-format", "json", "-i", p.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .env_remove("EVERGREEN_LOG")
        .output()
        .unwrap();
    assert!(o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    let last: serde_json::Value = serde_json::from_str(stderr.lines().last().unwrap()).unwrap();
    let f = &last["fields"];
    assert_eq!(f["out"], out.display().to_string());
    assert_eq!(f["as_of"], "2024-01-08");
    assert_eq!((f["lines_read"].as_u64(), f["lines_used"].as_u64()), (Some(5), Some(5)));
    let rows: serde_json::Value = serde_json::from_str(f["rows"].as_str().unwrap()).unwrap();
    assert_eq!(rows["customers"], 2);
    assert!(f["seconds"].as_f64().unwrap() > 0.0 && f["peak_memory_bytes"].as_u64().unwrap() > 1_000_000);
}

/// Issue 15.
#[test]
fn query_reads_a_partition_root_with_as_of_as_a_column() {
    let d = tempfile::tempdir().unwrap();
    let (_g, p) = dump_frame(&mut good_frame());
    let root = d.path().join("root");
    let run = |as_of: &str, extra: &[&str]| {
        let o = bin()
            .args(["run", "-q", "-i", p.to_str().unwrap(), "-o", root.to_str().unwrap(), "--partition-by-as-of", "--as-of", as_of])
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    // The dump's orders are on 01-05 .. 01-07: one customer on 01-06, two on 01-08.
    run("2024-01-06", &[]);
    run("2024-01-08", &["--tier", "big:monetary=20"]);
    // A partition a killed run left without _SUCCESS is not read.
    std::fs::create_dir(root.join("as_of=2024-02-01")).unwrap();
    std::fs::copy(root.join("as_of=2024-01-08/customers.parquet"), root.join("as_of=2024-02-01/customers.parquet")).unwrap();
    let q = |sql: &str| {
        let out = d.path().join(format!("q{}.parquet", sql.len()));
        let o = bin().args(["query", "--tables", root.to_str().unwrap(), "--out", out.to_str().unwrap(), sql]).output().unwrap();
        assert!(o.status.success(), "{sql}: {}", String::from_utf8_lossy(&o.stderr));
        read_parquet(&out)
    };
    let per_date = q("SELECT CAST(as_of AS VARCHAR) AS d, COUNT(*) AS n, COUNT(tier) AS tiered FROM customers GROUP BY as_of ORDER BY as_of");
    assert_eq!(text(&per_date, "d"), ["2024-01-06", "2024-01-08"]);
    assert_eq!(ints(&per_date, "n"), [1, 2]);
    assert_eq!(ints(&per_date, "tiered"), [0, 1]); // the first run had no tier column: null there
    assert_eq!(ints(&q("SELECT COUNT(*) AS n FROM customers"), "n"), [3]);
    // kpis keep their own as_of (one column, one row per partition).
    let k = q("SELECT * FROM kpis ORDER BY as_of");
    assert_eq!(k.height(), 2);
    assert_eq!(k.get_column_names().iter().filter(|n| n.as_str() == "as_of").count(), 1);
}

fn text(df: &polars::prelude::DataFrame, c: &str) -> Vec<String> {
    df.column(c).unwrap().str().unwrap().iter().map(|v| v.unwrap().to_string()).collect()
}

/// Issue 15.
#[test]
fn far_as_of_warns_and_csv_timestamps_read_in_excel() {
    let (_d, p) = dump_frame(&mut good_frame());
    let dir = p.parent().unwrap();
    let out = dir.join("out");
    let run = |as_of: &str| {
        let o = bin()
            .args(["run", "-i", p.to_str().unwrap(), "-o", out.to_str().unwrap(), "--as-of", as_of])
            .env_remove("EVERGREEN_LOG")
            .output()
            .unwrap();
        assert!(o.status.success());
        String::from_utf8_lossy(&o.stderr).to_string()
    };
    // The latest line is on 2024-01-07: 2024-02-08 is 32 days after it, 2024-02-07 31.
    assert!(run("2024-02-08").contains("--as-of 2024-02-08 is 32 days after the latest line (2024-01-07)"));
    assert!(!run("2024-02-07").contains("WARN"));
    let csv = dir.join("c.csv");
    let o = bin()
        .args(["query", "--tables", out.to_str().unwrap(), "--out", csv.to_str().unwrap(), "SELECT customer_id, first_purchase_at FROM customers ORDER BY customer_id"])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), "customer_id,first_purchase_at\n1,2024-01-05 10:00:00.000\n2,2024-01-06 10:00:00.000\n");
}

/// Issue 15.
#[test]
fn validate_checks_the_output_folder_and_speaks_json() {
    let (_d, p) = dump_frame(&mut good_frame());
    let dir = p.parent().unwrap();
    let validate = |extra: &[&str]| bin().args(["validate", "-i", p.to_str().unwrap()]).args(extra).output().unwrap();
    let o = validate(&["--format", "json", "-o", dir.join("new").to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["counts"]["lines_read"], 5);
    assert_eq!(v["counts"]["purchase_orders"], 4);
    assert_eq!(v["columns"][0]["name"], "customer_id");
    assert_eq!(v["out"]["state"], "absent");
    assert!(!dir.join("new").exists());
    // A folder evergreen did not write: exit 5, as a run would; the input itself: exit 5 too.
    std::fs::create_dir(dir.join("mine")).unwrap();
    std::fs::write(dir.join("mine/notes.txt"), "x").unwrap();
    assert_eq!(validate(&["-o", dir.join("mine").to_str().unwrap()]).status.code(), Some(5));
    assert_eq!(validate(&["-o", p.to_str().unwrap()]).status.code(), Some(5));
    let text = String::from_utf8_lossy(&validate(&[]).stdout).to_string();
    assert!(text.contains("lines: 5 read") && text.ends_with("ok: nothing written\n"), "{text}");
}

/// Issue 15.
#[test]
fn query_writes_xlsx() {
    let (_d, p) = dump_frame(&mut good_frame());
    let dir = p.parent().unwrap();
    let out = dir.join("out");
    assert!(bin().args(["run", "-q", "-i", p.to_str().unwrap(), "-o", out.to_str().unwrap()]).status().unwrap().success());
    let q = |file: &str| {
        bin()
            .args(["query", "--tables", out.to_str().unwrap(), "--out", dir.join(file).to_str().unwrap(), "SELECT * FROM customers"])
            .output()
            .unwrap()
    };
    assert!(q("c.xlsx").status.success());
    // A zip holding the worksheet (bench/check_readers.py reads it back with openpyxl and compares
    // every value with the Parquet result).
    let bytes = std::fs::read(dir.join("c.xlsx")).unwrap();
    assert_eq!(&bytes[..2], b"PK");
    assert!(bytes.windows(24).any(|w| w == b"xl/worksheets/sheet1.xml"));
    let o = q("c.txt");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains(".parquet, .csv or .xlsx"));
}
