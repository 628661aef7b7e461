//! Issue 26, trust at the edges: the SQL that may run (an allowlist over the parsed statement),
//! spreadsheet formulas in CSV, Excel's 1900 dates, shares at a zero total, temporary names and
//! leftovers. Each hostile case builds its input, then asserts the exit code, the one line, and
//! what is (not) on disk after. Expected values are worked out by hand.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::*;

/// A finished output of the good dump in `dir/out`, and a secret file beside it that no query may
/// read: its text must never reach stdout, stderr or a file evergreen writes.
fn output_and_secret() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let (d, p) = dump_frame(&mut good_frame());
    let dir = d.path().to_path_buf();
    let out = dir.join("out");
    let o = bin().args(["run", "-q", "--as-of", "2024-02-01", "-i"]).arg(&p).arg("-o").arg(&out).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let secret = dir.join("secret.csv");
    std::fs::write(&secret, "word\nTOPSECRET\n").unwrap();
    (d, out, secret)
}

fn query(tables: &Path, sql: &str, extra: &[&str]) -> Output {
    bin().args(["query", "--tables"]).arg(tables).args(extra).arg(sql).output().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).to_string(), String::from_utf8_lossy(&o.stderr).to_string())
}

/// Every spelling of a file read, and every statement that is not a plain read of the tables:
/// refused before Polars sees it (exit 4, one line naming the reason), the secret nowhere.
const HOSTILE: [(&str, &str); 16] = [
    ("a dotted table function", "SELECT * FROM read_csv.x('{secret}')"),
    ("a quoted table function", "SELECT * FROM \"read_csv\"('{secret}')"),
    ("upper case with a space", "select * from READ_CSV ('{secret}')"),
    ("a schema-qualified function", "SELECT * FROM public.read_csv('{secret}')"),
    ("read_parquet in a WHERE subquery", "SELECT * FROM customers WHERE customer_id IN (SELECT 1 FROM read_csv('{secret}'))"),
    ("read_csv in a CTE", "WITH s AS (SELECT * FROM read_csv('{secret}')) SELECT * FROM s"),
    ("read_csv in a join", "SELECT * FROM customers c JOIN read_csv('{secret}') s ON true"),
    ("read_csv in a scalar subquery", "SELECT (SELECT MAX(word) FROM read_csv('{secret}')) AS w FROM customers"),
    ("read_ipc", "SELECT * FROM read_ipc('{secret}')"),
    ("read_json", "SELECT * FROM read_json('{secret}')"),
    ("TABLE(...)", "SELECT * FROM TABLE(read_csv('{secret}'))"),
    ("CREATE TABLE AS", "CREATE TABLE t AS SELECT * FROM read_csv('{secret}')"),
    ("EXPLAIN", "EXPLAIN SELECT * FROM read_csv('{secret}')"),
    ("two statements", "SELECT 1 AS a FROM customers; SELECT * FROM read_csv('{secret}')"),
    ("a table that is not in the output", "SELECT * FROM secret"),
    ("a dotted table name", "SELECT * FROM main.customers"),
];

/// Issue 26 (1): `query` runs only a SELECT over the output's tables; no spelling of a table function
/// reads a file.
#[test]
fn query_refuses_every_file_read_and_every_other_statement() {
    let (_d, out, secret) = output_and_secret();
    for (name, sql) in HOSTILE {
        let sql = sql.replace("{secret}", &secret.display().to_string());
        let o = query(&out, &sql, &[]);
        let (stdout, stderr) = text(&o);
        assert_eq!(o.status.code(), Some(4), "{name}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{name}: one line: {stderr}");
        assert!(stderr.contains("query error: <command line>"), "{name}: {stderr}");
        assert!(!stdout.contains("TOPSECRET") && !stderr.contains("TOPSECRET"), "{name} leaked");
    }
}

/// Issue 26 (1): the same statements in a `--queries` file stop the run before anything is written.
#[test]
fn query_files_that_read_files_stop_the_run_with_no_output() {
    let (d, _out, secret) = output_and_secret();
    let dir = d.path();
    for (i, (name, sql)) in HOSTILE.iter().enumerate() {
        let q = dir.join(format!("q{i}"));
        std::fs::create_dir(&q).unwrap();
        std::fs::write(q.join("leak.sql"), sql.replace("{secret}", &secret.display().to_string())).unwrap();
        let target = dir.join(format!("o{i}"));
        let o = bin()
            .args(["run", "-q", "--as-of", "2024-02-01", "-i"])
            .arg(dir.join("dump.parquet"))
            .arg("-o")
            .arg(&target)
            .arg("--queries")
            .arg(&q)
            .output()
            .unwrap();
        let (_, stderr) = text(&o);
        assert_eq!(o.status.code(), Some(4), "{name}: {stderr}");
        assert!(stderr.contains("leak.sql"), "{name}: {stderr}");
        assert!(!target.exists(), "{name}: an output was written");
    }
}

/// Issue 26 (1): what analysts write still runs: CTEs, subquery aliases, joins of tables, and
/// function names inside strings and comments.
#[test]
fn plain_reads_of_the_tables_still_run() {
    let (_d, out, _secret) = output_and_secret();
    for (sql, expected) in [
        ("WITH big AS (SELECT * FROM customers WHERE monetary > 14) SELECT COUNT(*) AS n FROM big", "n\n1\n"),
        ("SELECT COUNT(*) AS n FROM (SELECT customer_id FROM customers) AS t", "n\n2\n"),
        (
            "SELECT COUNT(*) AS n FROM customers c JOIN segment_summary s ON c.segment = s.segment WHERE c.customer_id = 2",
            "n\n1\n",
        ),
        ("SELECT 'read_csv(x)' AS s FROM customers WHERE customer_id = 1 -- read_parquet('y')", "s\nread_csv(x)\n"),
        (
            "SELECT customer_id FROM customers WHERE customer_id IN (SELECT customer_id FROM customers WHERE frequency = 2)",
            "customer_id\n2\n",
        ),
    ] {
        let file = out.parent().unwrap().join("r.csv");
        let o = query(&out, sql, &["--out", file.to_str().unwrap()]);
        assert!(o.status.success(), "{sql}: {}", text(&o).1);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), expected, "{sql}");
    }
}

/// Issue 26 (3): a `.csv` cell that a spreadsheet would run as a formula gets a leading `'`; numbers
/// (and text that is only a number) stay as they are; `--keep-formulas` writes the cells unchanged.
#[test]
fn csv_cells_that_start_a_formula_are_neutralised() {
    let (_d, out, _secret) = output_and_secret();
    let file = out.parent().unwrap().join("f.csv");
    let sql = "SELECT '=HYPERLINK(\"http://x\",\"y\")' AS a, '@SUM(1)' AS b, '+1+cmd' AS c, '-2+3' AS d, \
               '-5' AS e, 'plain' AS f, -3 AS g, '\tx' AS h FROM customers WHERE customer_id = 1";
    let o = query(&out, sql, &["--out", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o).1);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "a,b,c,d,e,f,g,h\n\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",'@SUM(1),'+1+cmd,'-2+3,-5,plain,-3,'\tx\n"
    );
    let o = query(&out, sql, &["--out", file.to_str().unwrap(), "--keep-formulas"]);
    assert!(o.status.success(), "{}", text(&o).1);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "a,b,c,d,e,f,g,h\n\"=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",@SUM(1),+1+cmd,-2+3,-5,plain,-3,\tx\n"
    );
}

/// Issue 26 (8): Excel's 1900 date system counts a 29 February 1900 that never was; a date before
/// 1900-03-01 is one serial lower than the plain day count, and before 1900 there is none.
#[test]
fn excel_serials_around_the_1900_leap_year() {
    let days = |d: &str| {
        (chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap() - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap())
            .num_days() as f64
    };
    // Excel: 1900-01-01 is 1, 1900-01-15 is 15, 1900-02-28 is 59, (60 is the phantom 29 Feb),
    // 1900-03-01 is 61, 1970-01-01 is 25569; noon adds 0.5.
    assert_eq!(evergreen::output::excel_serial(days("1900-01-01")), Some(1.0));
    assert_eq!(evergreen::output::excel_serial(days("1900-01-15")), Some(15.0));
    assert_eq!(evergreen::output::excel_serial(days("1900-02-28") + 0.5), Some(59.5));
    assert_eq!(evergreen::output::excel_serial(days("1900-03-01")), Some(61.0));
    assert_eq!(evergreen::output::excel_serial(days("1970-01-01")), Some(25_569.0));
    assert_eq!(evergreen::output::excel_serial(days("1899-12-31")), None);
}

/// Issue 26 (7): when refunds cancel all revenue, every share column of every table is 0 (or a
/// finite fraction of customers), never NaN.
#[test]
fn every_share_column_is_finite_at_a_zero_total() {
    let lines = [
        pline(Some(1), 1, "2024-01-05 10:00", 10.0, 7),
        pline(Some(1), 2, "2024-01-06 10:00", -10.0, 7),
        pline(Some(2), 3, "2024-01-05 10:00", 4.0, 8),
        pline(Some(2), 4, "2024-01-07 10:00", -4.0, 8),
    ];
    let (d, p) = dump(&lines);
    let out = d.path().join("out");
    let o = bin()
        .args(["run", "-q", "--as-of", "2024-02-01", "--min-pair-orders", "1", "-i"])
        .arg(&p)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut seen = 0;
    for e in std::fs::read_dir(&out).unwrap().flatten() {
        let path = e.path();
        if path.extension().is_none_or(|x| x != "parquet") {
            continue;
        }
        let df = read_parquet(&path);
        for c in df.get_column_names() {
            if !c.contains("share") {
                continue;
            }
            seen += 1;
            let v = df.column(c).unwrap().cast(&polars::prelude::DataType::Float64).unwrap();
            for x in v.f64().unwrap().iter().flatten() {
                assert!(x.is_finite(), "{}.{c}: {x}", path.display());
                if c.contains("revenue") {
                    assert_eq!(x, 0.0, "{}.{c}", path.display());
                }
            }
        }
    }
    assert!(seen >= 6, "share columns checked: {seen}");
}

/// Issue 26 (14): a `query --out` naming a folder is refused and leaves nothing beside it.
#[test]
fn query_out_naming_a_folder_leaves_no_temporary_file() {
    let (d, out, _secret) = output_and_secret();
    let folder = d.path().join("r.csv");
    std::fs::create_dir(&folder).unwrap();
    let before: Vec<_> = std::fs::read_dir(d.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    let o = query(&out, "SELECT * FROM customers", &["--out", folder.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o).1);
    assert!(text(&o).1.contains("is a folder"), "{}", text(&o).1);
    let after: Vec<_> = std::fs::read_dir(d.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(before.len(), after.len(), "{after:?}");
}

/// Issue 26 (14): a valid 230-byte `--out` name works for `query` and `run` (the hidden names beside
/// it stay within 255 bytes), and a rerun replaces the output.
#[test]
fn long_output_names_get_short_enough_temporary_names() {
    let (d, out, _secret) = output_and_secret();
    let long = "n".repeat(226) + ".csv";
    let file = d.path().join(&long);
    let o = query(&out, "SELECT customer_id FROM customers ORDER BY customer_id", &["--out", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o).1);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "customer_id\n1\n2\n");
    let folder = d.path().join("o".repeat(230));
    for _ in 0..2 {
        let o = bin()
            .args(["run", "-q", "--as-of", "2024-02-01", "-i"])
            .arg(d.path().join("dump.parquet"))
            .arg("-o")
            .arg(&folder)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert!(folder.join("customers.parquet").is_file());
    let hidden: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "{hidden:?}");
}

/// Issue 26 (9): a `--where` that fails on the values as they are read (a CAST of text that is no
/// number) is exit 4 naming the file and the expression, not an internal error.
#[test]
fn a_where_failing_on_the_values_names_file_and_expression() {
    use polars::prelude::*;
    let mut df = good_frame();
    df.with_column(Column::new("code".into(), ["a", "1", "2", "b", "3"])).unwrap();
    let (d, p) = dump_frame(&mut df);
    for engine in ["memory", "partitioned"] {
        let o = bin()
            .args(["run", "-q", "--engine", engine, "--where", "CAST(code AS INTEGER) > 1", "-i"])
            .arg(&p)
            .arg("-o")
            .arg(d.path().join("out"))
            .output()
            .unwrap();
        let (_, stderr) = text(&o);
        assert_eq!(o.status.code(), Some(4), "{engine}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{engine}: {stderr}");
        assert!(
            stderr.contains(&format!("input error: {}: --where `CAST(code AS INTEGER) > 1`", p.display())),
            "{engine}: {stderr}"
        );
        assert!(!d.path().join("out").exists());
    }
}

/// Issue 26 (13): an output the input glob would read back (`in/**/*.parquet` over `in/out`) is
/// refused on the first run, as a plain input folder is, and nothing is written.
#[test]
fn an_output_inside_a_recursive_input_glob_is_refused_the_first_time() {
    let (d, _p) = dump_frame(&mut good_frame());
    let input = d.path().join("in/2024");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::rename(d.path().join("dump.parquet"), input.join("a.parquet")).unwrap();
    let glob = format!("{}/in/**/*.parquet", d.path().display());
    let out = d.path().join("in/out");
    let o = bin().args(["run", "-q", "-i", &glob, "-o"]).arg(&out).output().unwrap();
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("which the input glob") && stderr.contains("customers.parquet"), "{stderr}");
    assert!(!out.exists());
    // Beside the glob's folder it runs.
    let o = bin().args(["run", "-q", "-i", &glob, "-o"]).arg(d.path().join("out")).output().unwrap();
    assert!(o.status.success(), "{}", text(&o).1);
}

/// Issue 26 (14): when every amount is NaN or infinite, the message names the input and the amount
/// column that is at fault (not "every line lacks an order, timestamp or amount"), on every engine.
#[test]
fn all_non_finite_amounts_blame_the_amount_column() {
    let lines = [line(Some(1), 1, "2024-01-05 10:00", f64::NAN), line(Some(2), 2, "2024-01-06 10:00", f64::INFINITY)];
    let (d, p) = dump(&lines);
    for engine in ["memory", "partitioned"] {
        let o = bin().args(["run", "-q", "--engine", engine, "-i"]).arg(&p).arg("-o").arg(d.path().join("out")).output().unwrap();
        let (_, stderr) = text(&o);
        assert_eq!(o.status.code(), Some(4), "{engine}: {stderr}");
        assert_eq!(
            stderr.trim_end(),
            format!(
                "evergreen: input error: {}: no usable line among 2 read: 2 with a non-finite amount (`amount` is NaN or infinite)",
                p.display()
            ),
            "{engine}"
        );
    }
}

/// Issue 26 (15): the partitioned engine decodes inputs from a memory map; a file truncated by
/// another process mid-read (the SIGBUS that follows) is exit 3 naming that file, in one line.
#[test]
fn an_input_truncated_while_mapped_is_exit_3_naming_it() {
    let (d, p) = dump_frame(&mut good_frame());
    let child = bin()
        .args(["run", "-q", "--engine", "partitioned", "-i"])
        .arg(&p)
        .arg("-o")
        .arg(d.path().join("out"))
        .env("EVERGREEN_TEST_PAUSE_AT", "after-input-scan:1500")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let len = std::fs::metadata(&p).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&p).unwrap().set_len(len / 2).unwrap();
    // The fault a read of the mapped, now missing, pages raises.
    assert!(std::process::Command::new("kill").args(["-BUS", &child.id().to_string()]).status().unwrap().success());
    let o = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!("evergreen: input error: {}: cannot read Parquet (the file shrank from {len} bytes", p.display())),
        "{stderr}"
    );
    assert!(!d.path().join("out").exists());
}
