//! Issue 5, scheduled-job hardening: a bad dump fails loudly and cleanly (exit code, one line
//! naming file and column, previous output byte-for-byte untouched), a good one lands the same
//! way every time, and an operator can see what happened.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use polars::prelude::*;

use crate::common::*;

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut m = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        m.insert(e.path(), std::fs::read(e.path()).unwrap());
    }
    m
}

/// Folders beside `out` whose names start with '.' (temporary folders).
fn hidden_beside(out: &Path) -> Vec<String> {
    std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with('.'))
        .collect()
}

fn with(mut df: DataFrame, name: &str, c: Column) -> DataFrame {
    df.with_column(c.with_name(name.into())).unwrap();
    df
}

fn without(df: DataFrame, name: &str) -> DataFrame {
    df.drop(name).unwrap()
}

/// What a case expects.
enum Expect {
    /// Exit code and substrings of the one-line message.
    Error(i32, &'static [&'static str]),
    /// Success; then a check of the manifest.
    Ok(fn(&serde_json::Value)),
}

struct Case {
    name: &'static str,
    /// Builds the input in the folder; returns the arguments (without --out).
    build: fn(&Path) -> Vec<String>,
    expect: Expect,
}

fn file(dir: &Path, name: &str, mut df: DataFrame) -> String {
    let p = dir.join(name);
    write_parquet(&mut df, &p);
    p.display().to_string()
}

fn run_args(input: String) -> Vec<String> {
    vec!["run".into(), "--input".into(), input, "--as-of".into(), "2024-02-01".into()]
}

fn plus(mut v: Vec<String>, extra: &[&str]) -> Vec<String> {
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "missing required column",
            build: |d| run_args(file(d, "x.parquet", without(good_frame(), "customer_id"))),
            expect: Expect::Error(4, &["x.parquet", "`customer_id` (customer) not found", "found columns"]),
        },
        Case {
            name: "customer of a wrong type",
            build: |d| {
                run_args(file(
                    d,
                    "x.parquet",
                    with(good_frame(), "customer_id", Column::new("".into(), [true, false, true, true, false])),
                ))
            },
            expect: Expect::Error(
                4,
                &["x.parquet", "`customer_id` (customer)", "expected integers or strings", "found bool"],
            ),
        },
        Case {
            name: "order of a wrong type",
            build: |d| {
                run_args(file(
                    d,
                    "x.parquet",
                    with(good_frame(), "order_id", Column::new("".into(), [true, false, true, true, false])),
                ))
            },
            expect: Expect::Error(4, &["`order_id` (order)", "found bool"]),
        },
        Case {
            name: "timestamp of a wrong type",
            build: |d| {
                run_args(file(
                    d,
                    "x.parquet",
                    with(good_frame(), "ts", Column::new("".into(), [1.0, 2.0, 3.0, 4.0, 5.0])),
                ))
            },
            expect: Expect::Error(
                4,
                &["`ts` (timestamp)", "expected a timestamp, a date or an ISO-8601 string", "found f64"],
            ),
        },
        Case {
            name: "amount of a wrong type",
            build: |d| {
                run_args(file(
                    d,
                    "x.parquet",
                    with(good_frame(), "amount", Column::new("".into(), ["1", "2", "3", "4", "5"])),
                ))
            },
            expect: Expect::Error(4, &["`amount` (amount)", "expected numbers", "found str"]),
        },
        Case {
            name: "product with fractions",
            build: |d| {
                run_args(file(
                    d,
                    "x.parquet",
                    with(good_frame(), "product_id", Column::new("".into(), [1.5, 2.0, 3.0, 4.0, 5.0])),
                ))
            },
            expect: Expect::Error(4, &["`product_id` (product)", "whole numbers", "1.5"]),
        },
        Case {
            name: "cost of a wrong type",
            build: |d| {
                run_args(file(
                    d,
                    "x.parquet",
                    with(good_frame(), "cost", Column::new("".into(), ["a", "b", "c", "d", "e"])),
                ))
            },
            expect: Expect::Error(4, &["`cost` (cost)", "found str"]),
        },
        Case {
            name: "binary (non-UTF-8) customer ids",
            build: |d| {
                let ids: Vec<&[u8]> = vec![b"\xff\x01", b"\xfe", b"\xff\x01", b"\x00", b"\x80"];
                run_args(file(d, "x.parquet", with(good_frame(), "customer_id", Column::new("".into(), ids))))
            },
            expect: Expect::Error(4, &["`customer_id` (customer)", "found binary"]),
        },
        Case {
            name: "NaN in a float customer id",
            build: |d| {
                run_args(file(
                    d,
                    "x.parquet",
                    with(good_frame(), "customer_id", Column::new("".into(), [1.0, f64::NAN, 1.0, 2.0, 2.0])),
                ))
            },
            expect: Expect::Error(4, &["`customer_id` (customer)", "whole numbers", "NaN"]),
        },
        Case {
            name: "empty file",
            build: |d| run_args(file(d, "x.parquet", good_frame().slice(0, 0))),
            expect: Expect::Error(4, &["no usable line among 0 read"]),
        },
        Case {
            name: "zero rows after the cleaning rules",
            build: |d| {
                run_args(file(d, "x.parquet", with(good_frame(), "amount", Column::new("".into(), [None::<f64>; 5]))))
            },
            expect: Expect::Error(4, &["no usable line among 5 read"]),
        },
        Case {
            name: "as_of before all data",
            build: |d| {
                plus(
                    vec!["run".into(), "--input".into(), file(d, "x.parquet", good_frame())],
                    &["--as-of", "2020-01-01"],
                )
            },
            expect: Expect::Error(4, &["no line left after the cleaning rules", "5 future"]),
        },
        Case {
            name: "only guest lines",
            build: |d| {
                run_args(file(
                    d,
                    "x.parquet",
                    with(good_frame(), "customer_id", Column::new("".into(), [None::<i64>; 5])),
                ))
            },
            expect: Expect::Error(4, &["no customer has a purchase order", "5 guest lines"]),
        },
        Case {
            name: "only returns",
            build: |d| run_args(file(d, "x.parquet", with(good_frame(), "amount", Column::new("".into(), [-1.0; 5])))),
            expect: Expect::Error(4, &["no customer has a purchase order", "0 purchase orders"]),
        },
        Case {
            name: "no file matches the glob",
            build: |d| run_args(format!("{}/nothing*.parquet", d.display())),
            expect: Expect::Error(3, &["nothing*.parquet", "no Parquet file matches"]),
        },
        Case {
            name: "folder without Parquet files",
            build: |d| {
                let f = d.join("dump");
                std::fs::create_dir(&f).unwrap();
                std::fs::write(f.join("notes.txt"), "hello").unwrap();
                run_args(f.display().to_string())
            },
            expect: Expect::Error(3, &["dump", "no Parquet file matches"]),
        },
        Case {
            name: "truncated Parquet",
            build: |d| {
                let p = file(d, "x.parquet", good_frame());
                let bytes = std::fs::read(&p).unwrap();
                std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
                run_args(p)
            },
            expect: Expect::Error(3, &["x.parquet", "cannot read Parquet"]),
        },
        Case {
            name: "corrupt Parquet",
            build: |d| {
                let p = d.join("x.parquet");
                std::fs::write(&p, b"PAR1 garbage garbage garbage PAR1").unwrap();
                run_args(p.display().to_string())
            },
            expect: Expect::Error(3, &["x.parquet", "cannot read Parquet"]),
        },
        Case {
            name: "a column renamed in one file",
            build: |d| {
                let f = d.join("dump");
                std::fs::create_dir(&f).unwrap();
                file(&f, "a.parquet", good_frame());
                let mut b = good_frame();
                b.rename("customer_id", "CustomerID".into()).unwrap();
                file(&f, "b.parquet", b);
                run_args(f.display().to_string())
            },
            expect: Expect::Error(4, &["b.parquet", "`customer_id` (customer) not found", "CustomerID"]),
        },
        Case {
            name: "integer ids in one file, strings in another",
            build: |d| {
                let f = d.join("dump");
                std::fs::create_dir(&f).unwrap();
                file(&f, "a.parquet", good_frame());
                file(
                    &f,
                    "b.parquet",
                    with(good_frame(), "customer_id", Column::new("".into(), ["1", "2", "1", "2", "3"])),
                );
                run_args(f.display().to_string())
            },
            expect: Expect::Error(4, &["b.parquet", "a.parquet", "all files of one dump must agree"]),
        },
        Case {
            name: "unparseable timestamp strings",
            build: |d| {
                run_args(file(
                    d,
                    "x.parquet",
                    with(
                        good_frame(),
                        "ts",
                        Column::new("".into(), ["2024-01-05", "2024-01-06", "5 Jan", "2024-01-07", "2024-01-07"]),
                    ),
                ))
            },
            expect: Expect::Error(4, &["`ts` (timestamp)", "ISO-8601", "5 Jan"]),
        },
        Case {
            name: "a bad amount expression",
            build: |d| plus(run_args(file(d, "x.parquet", good_frame())), &["--amount", "amount * * 2"]),
            expect: Expect::Error(4, &["amount expression `amount * * 2`"]),
        },
        Case {
            name: "an amount expression naming a missing column",
            build: |d| plus(run_args(file(d, "x.parquet", good_frame())), &["--amount", "Quantity * UnitPrice"]),
            expect: Expect::Error(4, &["`Quantity` (amount) not found"]),
        },
        Case {
            name: "unknown config key",
            build: |d| {
                let c = d.join("c.toml");
                std::fs::write(&c, "bins = 5\nscorng = \"rank\"\n").unwrap();
                plus(run_args(file(d, "x.parquet", good_frame())), &["--config", c.to_str().unwrap()])
            },
            expect: Expect::Error(2, &["c.toml", "scorng"]),
        },
        Case {
            name: "missing config file",
            build: |d| plus(run_args(file(d, "x.parquet", good_frame())), &["--config", "/nonexistent/evergreen.toml"]),
            expect: Expect::Error(2, &["evergreen.toml", "cannot read config file"]),
        },
        Case {
            name: "missing queries folder",
            build: |d| plus(run_args(file(d, "x.parquet", good_frame())), &["--queries", "/nonexistent/queries"]),
            expect: Expect::Error(2, &["--queries /nonexistent/queries"]),
        },
        Case {
            name: "bins out of range",
            build: |d| plus(run_args(file(d, "x.parquet", good_frame())), &["--bins", "10"]),
            expect: Expect::Error(2, &["--bins"]),
        },
        Case {
            name: "a bad as_of date",
            build: |d| {
                plus(
                    vec!["run".into(), "--input".into(), file(d, "x.parquet", good_frame())],
                    &["--as-of", "2024-02-30"],
                )
            },
            expect: Expect::Error(2, &["YYYY-MM-DD", "2024-02-30"]),
        },
        Case {
            name: "an unknown scoring method",
            build: |d| plus(run_args(file(d, "x.parquet", good_frame())), &["--scoring", "quantile"]),
            expect: Expect::Error(2, &["quantile"]),
        },
        Case {
            name: "min_support out of range",
            build: |d| plus(run_args(file(d, "x.parquet", good_frame())), &["--min-support", "1.5"]),
            expect: Expect::Error(2, &["fraction", "1.5"]),
        },
        Case {
            name: "lapse thresholds not ascending",
            build: |d| plus(run_args(file(d, "x.parquet", good_frame())), &["--lapse-thresholds", "60,30"]),
            expect: Expect::Error(2, &["lapse_thresholds", "ascending"]),
        },
        // Counted, not fatal: each of these lands, with the manifest saying what happened.
        Case {
            name: "null ids, timestamps and amounts are counted",
            build: |d| {
                let df = good_frame()
                    .lazy()
                    .with_columns([
                        when(col("order_id").eq(lit(2i64))).then(lit(NULL)).otherwise(col("amount")).alias("amount"),
                        when(col("order_id").eq(lit(3i64))).then(lit(NULL)).otherwise(col("ts")).alias("ts"),
                        when(col("order_id").eq(lit(4i64)))
                            .then(lit(NULL))
                            .otherwise(col("order_id"))
                            .alias("order_id"),
                    ])
                    .collect()
                    .unwrap();
                run_args(file(d, "x.parquet", df))
            },
            expect: Expect::Ok(|m| {
                assert_eq!(m["counts"]["rejected"]["null_amount"], 1);
                assert_eq!(m["counts"]["rejected"]["null_timestamp"], 1);
                assert_eq!(m["counts"]["rejected"]["null_order"], 1);
                assert_eq!(m["counts"]["lines_used"], 2);
            }),
        },
        Case {
            name: "NaN and infinite amounts are counted",
            build: |d| {
                run_args(file(
                    d,
                    "x.parquet",
                    with(good_frame(), "amount", Column::new("".into(), [10.0, f64::NAN, 20.0, f64::INFINITY, 4.0])),
                ))
            },
            expect: Expect::Ok(|m| assert_eq!(m["counts"]["rejected"]["non_finite_amount"], 2)),
        },
        Case {
            name: "duplicate lines both count",
            build: |d| {
                let df = good_frame();
                let dup = df.vstack(&df.slice(0, 1)).unwrap();
                run_args(file(d, "x.parquet", dup))
            },
            expect: Expect::Ok(|m| assert_eq!(m["counts"]["lines_used"], 6)),
        },
        Case {
            name: "empty-string customer ids are guests",
            build: |d| {
                run_args(file(
                    d,
                    "x.parquet",
                    with(good_frame(), "customer_id", Column::new("".into(), ["a", "a", "", " ", "b"])),
                ))
            },
            expect: Expect::Ok(|m| {
                assert_eq!(m["counts"]["guest_lines"], 2);
                assert_eq!(m["tables"]["customers"]["rows"], 2);
            }),
        },
        Case {
            name: "far-future timestamps are future lines",
            build: |d| {
                let far = micros("2199-01-01 00:00");
                let ts = Column::new(
                    "".into(),
                    [micros("2024-01-05 10:00"), far, micros("2024-01-06 10:00"), micros("1901-01-01 00:00"), far],
                )
                .cast(&DataType::Datetime(TimeUnit::Microseconds, None))
                .unwrap();
                run_args(file(d, "x.parquet", with(good_frame(), "ts", ts)))
            },
            expect: Expect::Ok(|m| assert_eq!(m["counts"]["future_lines"], 2)),
        },
        Case {
            name: "huge amounts stay exact",
            build: |d| {
                run_args(file(
                    d,
                    "x.parquet",
                    with(good_frame(), "amount", Column::new("".into(), [1e12, 0.01, 5e11, 1.0, 4.0])),
                ))
            },
            expect: Expect::Ok(|m| assert_eq!(m["tables"]["customers"]["rows"], 2)),
        },
        Case {
            name: "mixed time zones across files",
            build: |d| {
                let f = d.join("dump");
                std::fs::create_dir(&f).unwrap();
                let zoned = |tz: &str| {
                    let c = Column::new(
                        "".into(),
                        [
                            micros("2024-01-05 10:00"),
                            micros("2024-01-05 10:00"),
                            micros("2024-01-06 10:00"),
                            micros("2024-01-07 10:00"),
                            micros("2024-01-07 11:00"),
                        ],
                    )
                    .cast(&DataType::Datetime(
                        TimeUnit::Microseconds,
                        Some(TimeZone::opt_try_new(Some(tz)).unwrap().unwrap()),
                    ))
                    .unwrap();
                    with(good_frame(), "ts", c)
                };
                file(&f, "a.parquet", zoned("UTC"));
                let b = zoned("Europe/Paris").lazy().with_column(col("order_id") + lit(100i64)).collect().unwrap();
                file(&f, "b.parquet", b);
                run_args(f.display().to_string())
            },
            expect: Expect::Ok(|m| assert_eq!(m["counts"]["lines_used"], 10)),
        },
        Case {
            name: "a non-Parquet file beside the dump is skipped",
            build: |d| {
                let f = d.join("dump");
                std::fs::create_dir(&f).unwrap();
                file(&f, "a.parquet", good_frame());
                std::fs::write(f.join("README.txt"), "notes").unwrap();
                std::fs::write(f.join("_SUCCESS"), "").unwrap();
                run_args(f.display().to_string())
            },
            expect: Expect::Ok(|m| assert_eq!(m["input_files"].as_array().unwrap().len(), 1)),
        },
        Case {
            name: "a column added and a type widened in a later file",
            build: |d| {
                let f = d.join("dump");
                std::fs::create_dir(&f).unwrap();
                let mut a = good_frame();
                a.apply("customer_id", |s| s.cast(&DataType::Int32).unwrap()).unwrap();
                file(&f, "a.parquet", a);
                let b = with(good_frame(), "Country", Column::new("".into(), ["UK"; 5]))
                    .lazy()
                    .with_column(col("order_id") + lit(100i64))
                    .collect()
                    .unwrap();
                file(&f, "b.parquet", b);
                run_args(f.display().to_string())
            },
            expect: Expect::Ok(|m| assert_eq!(m["counts"]["lines_used"], 10)),
        },
    ]
}

/// Issue 5.
#[test]
fn bad_input_matrix() {
    let all = cases();
    assert!(all.len() >= 30);
    let mut failures = Vec::new();
    for case in all {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        // A previous good output to protect.
        let (_g, good) = dump_frame(&mut good_frame());
        let o =
            bin().args(["run", "--input", good.to_str().unwrap(), "--out", out.to_str().unwrap()]).output().unwrap();
        assert!(o.status.success());
        let before = snapshot(&out);
        let mut args = (case.build)(d.path());
        args.extend(["--out".to_string(), out.display().to_string()]);
        let o = bin().args(&args).output().unwrap();
        let code = o.status.code().unwrap_or(-1);
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        let mut problems = Vec::new();
        match case.expect {
            Expect::Error(want, parts) => {
                if code != want {
                    problems.push(format!("exit {code}, expected {want}"));
                }
                if !err.starts_with("error:") && err.trim().lines().count() != 1 {
                    problems.push("message is not one line".into());
                }
                for p in parts {
                    if !err.contains(p) {
                        problems.push(format!("message lacks `{p}`"));
                    }
                }
                if snapshot(&out) != before {
                    problems.push("previous output changed".into());
                }
            }
            Expect::Ok(check) => {
                if code != 0 {
                    problems.push(format!("exit {code}"));
                } else {
                    let m: serde_json::Value = manifest(&out);
                    if let Err(e) = std::panic::catch_unwind(|| check(&m)) {
                        problems.push(format!("manifest check failed: {e:?}"));
                    }
                }
            }
        }
        if !hidden_beside(&out).is_empty() {
            problems.push(format!("temporary folders left: {:?}", hidden_beside(&out)));
        }
        if !problems.is_empty() {
            failures.push(format!("{}: {} (stderr: {})", case.name, problems.join("; "), err.trim()));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Issue 5.
#[test]
fn killed_mid_write_leaves_previous_output_and_a_rerun_succeeds() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    let (_g, good) = dump_frame(&mut good_frame());
    let args = ["run", "--input", good.to_str().unwrap(), "--out", out.to_str().unwrap()];
    assert!(bin().args(args).output().unwrap().status.success());
    let before = snapshot(&out);
    let mut child = spawn_held_before_commit(&[&args[..], &["--as-of", "2024-03-01"]].concat(), 20000);
    // Wait until the run has written its tables and manifest into the temporary folder.
    wait_until("reached the write stage", || {
        hidden_beside(&out).iter().any(|n| d.path().join(n).join("_manifest.json").exists())
    });
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(snapshot(&out), before, "previous output intact");
    // The killed run's temporary folder, and its lock file (unlocked: the lock died with the process).
    let leftovers: Vec<String> = hidden_beside(&out).into_iter().filter(|n| n != ".out.evergreen-lock").collect();
    assert!(!leftovers.is_empty() && leftovers.iter().all(|n| n.starts_with(".out.evergreen-tmp-")));
    assert!(!leftovers.iter().any(|n| d.path().join(n).join("_SUCCESS").exists()), "a killed run never has _SUCCESS");
    // The rerun succeeds and clears the leftovers.
    let o = bin().args(args).args(["--as-of", "2024-03-01"]).output().unwrap();
    assert!(o.status.success());
    assert!(hidden_beside(&out).is_empty());
    let m: serde_json::Value = manifest(&out);
    assert_eq!(m["as_of"], "2024-03-01");
}

fn tables_bytes(out: &Path) -> BTreeMap<String, Vec<u8>> {
    snapshot(out)
        .into_iter()
        .filter(|(p, _)| p.extension().is_some_and(|e| e == "parquet"))
        .map(|(p, b)| (p.file_name().unwrap().to_string_lossy().to_string(), b))
        .collect()
}

/// Issue 5.
#[test]
fn same_input_gives_byte_identical_tables_across_threads_and_row_order() {
    let d = tempfile::tempdir().unwrap();
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/data-samples/transactions.parquet");
    let df = read_parquet(std::path::Path::new(src));
    let shuffled = d.path().join("shuffled.parquet");
    write_parquet(&mut df.sample_n_literal(df.height(), false, Some(true), Some(7)).unwrap(), &shuffled);
    let run = |input: &str, out: &str, threads: &str| {
        let o = bin()
            .args(["run", "--input", input, "--out", d.path().join(out).to_str().unwrap(), "--as-of", "2025-01-01"])
            .env("POLARS_MAX_THREADS", threads)
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        tables_bytes(&d.path().join(out))
    };
    let a = run(src, "a", "1");
    let b = run(src, "b", "2");
    let c = run(shuffled.to_str().unwrap(), "c", "2");
    // The core tables, profit_deciles, cohorts, kpis, products, basket_pairs, top_pairs and five
    // queries (segment_descriptions included).
    assert_eq!(a.len(), 15);
    for (name, bytes) in &a {
        assert!(b[name] == *bytes, "{name} differs across thread counts");
        assert!(c[name] == *bytes, "{name} differs after shuffling the input rows");
    }
    let hash = |out: &str| -> serde_json::Value {
        let m: serde_json::Value = manifest(&d.path().join(out));
        m["tables"]["customers"]["blake3"].clone()
    };
    assert_eq!(hash("a"), hash("c"));
    assert_eq!(hash("a").as_str().unwrap().len(), 64);
}

/// Issue 5.
#[test]
fn partition_by_as_of_keeps_one_folder_per_date() {
    let d = tempfile::tempdir().unwrap();
    let (_g, good) = dump_frame(&mut good_frame());
    let out = d.path().join("warehouse");
    let run = |as_of: &str| {
        let o = bin()
            .args(["run", "--input", good.to_str().unwrap(), "--out", out.to_str().unwrap(), "--partition-by-as-of"])
            .args(["--as-of", as_of])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    run("2024-02-01");
    run("2024-02-02");
    let first = snapshot(&out.join("as_of=2024-02-01"));
    assert!(out.join("as_of=2024-02-02/customers.parquet").exists());
    assert!(out.join("as_of=2024-02-01/_SUCCESS").exists());
    run("2024-02-01");
    let again = snapshot(&out.join("as_of=2024-02-01"));
    assert_eq!(first.len(), again.len());
    assert!(out.join("as_of=2024-02-02/_SUCCESS").exists(), "other dates kept");
    let names: Vec<String> =
        std::fs::read_dir(&out).unwrap().flatten().map(|e| e.file_name().to_string_lossy().to_string()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

fn stderr_of(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Issue 5.
#[test]
fn log_levels_and_json_logs() {
    let d = tempfile::tempdir().unwrap();
    let (_g, good) = dump_frame(&mut good_frame());
    let out = d.path().join("out");
    let base = |extra: &[&str]| {
        let mut c = bin();
        c.args(["run", "--input", good.to_str().unwrap(), "--out", out.to_str().unwrap()])
            .args(extra)
            .env_remove("EVERGREEN_LOG");
        c
    };
    assert_eq!(stderr_of(&mut base(&["-q"])), "");
    let info = stderr_of(&mut base(&[]));
    assert!(info.contains("wrote") && !info.contains("stage done"), "{info}");
    let debug = stderr_of(&mut base(&["-v"]));
    assert!(debug.contains("stage done") && debug.contains("seconds"), "{debug}");
    let from_env = stderr_of(base(&[]).env("EVERGREEN_LOG", "debug"));
    assert!(from_env.contains("stage done"), "{from_env}");
    let json = stderr_of(&mut base(&["--log-format", "json"]));
    for line in json.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON: {line}: {e}"));
        assert!(v["level"].is_string());
    }
    assert!(json.contains("wrote"), "{json}");
    let json_debug = stderr_of(&mut base(&["--log-format", "json", "-v"]));
    assert!(json_debug.contains("\"lines_read\":5"), "{json_debug}");
    let m: serde_json::Value = manifest(&out);
    assert!(m["timings"]["scan"].is_number());
    assert!(m["peak_memory_bytes"].as_u64().unwrap() > 1_000_000);
}

/// Issue 5.
#[test]
fn validate_writes_nothing_and_reports_schema_and_counts() {
    let d = tempfile::tempdir().unwrap();
    let (_g, good) = dump_frame(&mut good_frame());
    let out = d.path().join("out");
    let o = bin()
        .args(["validate", "--input", good.to_str().unwrap(), "--out", out.to_str().unwrap(), "--as-of", "2024-01-07"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    for want in [
        "files: 1",
        "customer_id: i64",
        "ts: datetime[μs]",
        "as_of: 2024-01-07",
        "lines: 5 read, 3 used, 2 future, 0 guest",
        "ok: nothing written",
    ] {
        assert!(text.contains(want), "lacks `{want}`:\n{text}");
    }
    assert!(!out.exists());
    let o = bin().args(["validate", "--input", good.to_str().unwrap(), "--customer-col", "nope"]).output().unwrap();
    assert_eq!(o.status.code(), Some(4));
}

/// Issue 5.
#[test]
fn completions_and_man_page_come_from_the_cli_definitions() {
    let o = bin().args(["completions", "bash"]).output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && text.contains("evergreen") && text.contains("--min-pair-orders"));
    let o = bin().arg("man").output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && text.contains(".TH evergreen") && text.contains("validate"));
}

#[test]
fn a_table_of_several_row_groups_reads_back_equal_and_its_bytes_ignore_the_thread_count() {
    // 600k rows: three row groups of at most 262,144 rows, encoded in parallel and written in order.
    let n = 600_000i64;
    let mut df = df!(
        "product_a" => (0..n).map(|i| i % 997).collect::<Vec<i64>>(),
        "name" => (0..n).map(|i| format!("p{}", i % 31)).collect::<Vec<String>>(),
        "lift" => (0..n).map(|i| (i as f64).sqrt()).collect::<Vec<f64>>(),
        "maybe" => (0..n).map(|i| (i % 5 != 0).then_some(i)).collect::<Vec<Option<i64>>>(),
    )
    .unwrap();
    // Write with `threads` threads; the BLAKE3 hash, the frame read back, and the row groups' sizes.
    let write = |threads: usize, df: &mut DataFrame| {
        let dir = tempfile::tempdir().unwrap();
        let staging = evergreen::output::Staging::new(&dir.path().join("out"), std::time::Duration::ZERO).unwrap();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let (file, hash) = pool.install(|| staging.write_table("t", df)).unwrap();
        let path = staging.dir().join(&file);
        let back = ParquetReader::new(std::fs::File::open(&path).unwrap()).finish().unwrap();
        let meta = polars_parquet::read::read_metadata(&mut std::fs::File::open(&path).unwrap()).unwrap();
        let groups: Vec<usize> = meta.row_groups.iter().map(|g| g.num_rows()).collect();
        (hash, back, groups)
    };
    let (one, back, groups) = write(1, &mut df);
    let (two, _, _) = write(2, &mut df);
    assert_eq!(one, two, "same bytes whatever the thread count");
    assert!(back.equals_missing(&df));
    assert_eq!(groups, vec![262_144, 262_144, 75_712]);
}
