//! Issue 27 (3): the hand-worked cases of `tests/cases/` (see its README), written once and run on
//! every local engine: the memory engine and the partitioned engine with 1, 3 and 7 partitions.
//! Every expected table must match, and every engine must write the same bytes.
//! (`bench/spark_check.py --full` runs the same cases on Spark.)

use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::common::*;

const ENGINES: [(&str, &[&str]); 4] = [
    ("memory", &["--engine", "memory"]),
    ("partitioned/1", &["--engine", "partitioned", "--partitions", "1"]),
    ("partitioned/3", &["--engine", "partitioned", "--partitions", "3"]),
    ("partitioned/7", &["--engine", "partitioned", "--partitions", "7"]),
];

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases")
}

/// CSV lines without comments and blank lines, split on commas (the cases need no quoting).
fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split(',').map(|c| c.trim().to_string()).collect())
        .collect()
}

/// A case's `dump.csv` as the Parquet dump evergreen reads: integer ids, UTC timestamps, float
/// amounts, text for anything else.
fn dump_frame_of(path: &Path) -> DataFrame {
    let rows = csv_rows(path);
    let (header, body) = rows.split_first().expect("a header row");
    let columns: Vec<Column> = header
        .iter()
        .enumerate()
        .map(|(j, name)| {
            let cells = body.iter().map(|r| r.get(j).map(String::as_str).filter(|c| !c.is_empty()));
            match name.as_str() {
                "customer_id" | "order_id" | "product_id" => {
                    Column::new(name.into(), cells.map(|c| c.map(|c| c.parse::<i64>().unwrap())).collect::<Vec<_>>())
                }
                "ts" => Column::new(name.into(), cells.map(|c| c.map(micros)).collect::<Vec<_>>())
                    .cast(&DataType::Datetime(TimeUnit::Microseconds, None))
                    .unwrap(),
                "amount" => {
                    Column::new(name.into(), cells.map(|c| c.map(|c| c.parse::<f64>().unwrap())).collect::<Vec<_>>())
                }
                _ => Column::new(name.into(), cells.collect::<Vec<_>>()),
            }
        })
        .collect();
    DataFrame::new_infer_height(columns).unwrap()
}

/// An expected cell: `a/b` is a fraction, else a number or text.
fn expected_number(cell: &str) -> Option<f64> {
    match cell.split_once('/') {
        Some((a, b)) => Some(a.trim().parse::<f64>().ok()? / b.trim().parse::<f64>().ok()?),
        None => cell.parse::<f64>().ok(),
    }
}

/// Differences between `expected/<table>.csv` and the table evergreen wrote.
fn compare_table(expected: &Path, written: &Path) -> Vec<String> {
    let rows = csv_rows(expected);
    let (header, want) = rows.split_first().expect("a header row");
    if !written.exists() {
        return vec![format!("{} was not written", written.display())];
    }
    let df = read_parquet(written);
    let mut problems = Vec::new();
    if df.height() != want.len() {
        problems.push(format!("{} rows, expected {}", df.height(), want.len()));
        return problems;
    }
    for (j, name) in header.iter().enumerate() {
        let Ok(col) = df.column(name) else {
            problems.push(format!("no column `{name}`"));
            continue;
        };
        for (i, row) in want.iter().enumerate() {
            let cell = row.get(j).map(String::as_str).unwrap_or("");
            let got = col.get(i).unwrap();
            let ok = match (&got, cell) {
                (AnyValue::Null, "") => true,
                (AnyValue::Null, _) | (_, "") => false,
                _ => match (got.extract::<f64>(), expected_number(cell)) {
                    (Some(g), Some(e)) if got.dtype().is_primitive_numeric() => {
                        (g - e).abs() <= 1e-12 * e.abs().max(1.0)
                    }
                    _ => got.str_value() == cell,
                },
            };
            if !ok {
                problems.push(format!("row {} `{name}`: {got}, expected {cell}", i + 1));
            }
        }
    }
    problems
}

/// Every case of `tests/cases/`, on every local engine, against its hand-worked tables.
#[test]
fn hand_worked_cases_hold_on_every_local_engine() {
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir(cases_dir()).unwrap().flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    assert!(dirs.len() >= 4, "cases found: {dirs:?}");
    let mut failures = Vec::new();
    for case in &dirs {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let spec: toml::Value = toml::from_str(&std::fs::read_to_string(case.join("case.toml")).unwrap()).unwrap();
        let args: Vec<String> = spec["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect();
        let work = tempfile::tempdir().unwrap();
        let dump = work.path().join("dump.parquet");
        write_parquet(&mut dump_frame_of(&case.join("dump.csv")), &dump);
        let mut outputs: Vec<(String, PathBuf)> = Vec::new();
        for (engine, flags) in ENGINES {
            let out = work.path().join(engine.replace('/', "_"));
            let o = bin()
                .args(["run", "-q", "--input"])
                .arg(&dump)
                .arg("--out")
                .arg(&out)
                .args(&args)
                .args(flags)
                .output()
                .unwrap();
            if !o.status.success() {
                failures.push(format!("{name} [{engine}]: exit {:?}: {}", o.status.code(), String::from_utf8_lossy(&o.stderr)));
                continue;
            }
            let mut expected: Vec<PathBuf> =
                std::fs::read_dir(case.join("expected")).unwrap().flatten().map(|e| e.path()).collect();
            expected.sort();
            for e in expected {
                let table = e.file_stem().unwrap().to_string_lossy().to_string();
                for p in compare_table(&e, &out.join(format!("{table}.parquet"))) {
                    failures.push(format!("{name} [{engine}] {table}: {p}"));
                }
            }
            outputs.push((engine.to_string(), out));
        }
        // The same bytes from every engine.
        if let Some(((first, a), rest)) = outputs.split_first() {
            for (engine, b) in rest {
                for e in std::fs::read_dir(a).unwrap().flatten() {
                    let f = e.file_name();
                    if f.to_string_lossy().ends_with(".parquet") && std::fs::read(e.path()).ok() != std::fs::read(b.join(&f)).ok() {
                        failures.push(format!("{name}: {} differs between {first} and {engine}", f.to_string_lossy()));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
