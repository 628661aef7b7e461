//! Issue 9, never lose a user's data: hostile cases in every class of the issue. Each failing case
//! asserts its exit code, a one-line message, and that nothing anywhere in its folder changed (the
//! previous output byte for byte, the inputs, no leftovers); each succeeding case asserts what the
//! rule promises. Expected values are worked out by hand.

use std::collections::BTreeMap;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use polars::prelude::*;

use crate::common::*;

/// Everything under `dir`, symlinks not followed: files with their bytes, links with their target,
/// folders and other entries by kind. Equal trees mean nothing was created, changed or removed.
fn tree(dir: &Path) -> BTreeMap<PathBuf, String> {
    fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let t = m.file_type();
            if t.is_symlink() {
                out.insert(p.clone(), format!("link {}", std::fs::read_link(&p).unwrap().display()));
            } else if t.is_dir() {
                out.insert(p.clone(), "dir".into());
                walk(&p, out);
            } else if t.is_file() {
                out.insert(p.clone(), format!("file {}", blake(&std::fs::read(&p).unwrap())));
            } else {
                out.insert(p.clone(), "special".into());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, &mut out);
    out
}

fn blake(b: &[u8]) -> String {
    // A cheap content fingerprint (length and a few sums) is enough to see a change.
    let s: u64 =
        b.iter().enumerate().map(|(i, &x)| (i as u64 + 1).wrapping_mul(x as u64 + 7)).fold(0, u64::wrapping_add);
    format!("{}:{s}", b.len())
}

fn put(dir: &Path, name: &str, mut df: DataFrame) -> String {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    write_parquet(&mut df, &p);
    p.display().to_string()
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn args(v: &[&str]) -> Vec<String> {
    v.iter().map(|a| a.to_string()).collect()
}

fn run(d: &Path, input: &str) -> Vec<String> {
    args(&["run", "--input", input, "--out", &s(&d.join("out")), "--as-of", "2024-02-01"])
}

fn evergreen(a: &[String]) -> Output {
    run_clean(&a.iter().map(String::as_str).collect::<Vec<_>>())
}

fn stderr(o: &Output) -> String {
    stderr_of(o)
}

/// A case that must fail: it builds its input in the folder (which already holds `good.parquet`
/// and a previous output `out/` made from it) and returns the arguments.
struct Refused {
    name: &'static str,
    build: fn(&Path) -> Vec<String>,
    code: i32,
    says: &'static [&'static str],
}

fn amounts(v: &[f64]) -> DataFrame {
    let lines: Vec<Line> =
        v.iter().enumerate().map(|(i, &a)| line(Some(i as i64 % 3), i as i64, "2024-01-05 10:00", a)).collect();
    frame(&lines)
}

fn ts_column(dtype: DataType, raw: i64) -> DataFrame {
    let mut df = good_frame();
    let c = Column::new("ts".into(), vec![raw; df.height()]).cast(&dtype).unwrap();
    df.with_column(c).unwrap();
    df
}

fn refused_cases() -> Vec<Refused> {
    vec![
        // 1. Ownership: only what evergreen wrote is replaced; never an input.
        Refused {
            name: "out is the input folder of a Spark dump (_SUCCESS)",
            build: |d| {
                put(d, "spark/part-0.parquet", good_frame());
                std::fs::write(d.join("spark/_SUCCESS"), "").unwrap();
                args(&["run", "--input", &s(&d.join("spark")), "--out", &s(&d.join("spark"))])
            },
            code: 5,
            says: &["is the input"],
        },
        Refused {
            name: "out is someone else's Spark dump (not the input)",
            build: |d| {
                put(d, "spark/part-0.parquet", good_frame());
                std::fs::write(d.join("spark/_SUCCESS"), "").unwrap();
                args(&["run", "--input", &s(&d.join("good.parquet")), "--out", &s(&d.join("spark"))])
            },
            code: 5,
            says: &["no evergreen manifest", "_SUCCESS"],
        },
        Refused {
            name: "a user's note inside a previous output",
            build: |d| {
                std::fs::write(d.join("out/notes.txt"), "mine").unwrap();
                run(d, &s(&d.join("good.parquet")))
            },
            code: 5,
            says: &["`notes.txt`", "did not write"],
        },
        Refused {
            name: "a sub-folder inside a previous output",
            build: |d| {
                std::fs::create_dir(d.join("out/keep")).unwrap();
                std::fs::write(d.join("out/keep/x"), "mine").unwrap();
                run(d, &s(&d.join("good.parquet")))
            },
            code: 5,
            says: &["`keep`"],
        },
        Refused {
            name: "a hidden file inside a previous output",
            build: |d| {
                std::fs::write(d.join("out/.DS_Store"), "x").unwrap();
                run(d, &s(&d.join("good.parquet")))
            },
            code: 5,
            says: &["`.DS_Store`"],
        },
        Refused {
            name: "a folder whose table became a folder",
            build: |d| {
                std::fs::remove_file(d.join("out/score_bins.parquet")).unwrap();
                std::fs::create_dir(d.join("out/score_bins.parquet")).unwrap();
                run(d, &s(&d.join("good.parquet")))
            },
            code: 5,
            says: &["`score_bins.parquet`"],
        },
        Refused {
            name: "a manifest written by another tool",
            build: |d| {
                std::fs::create_dir(d.join("other")).unwrap();
                std::fs::write(d.join("other/_manifest.json"), r#"{"tool":"spark","files":[]}"#).unwrap();
                std::fs::write(d.join("other/data.parquet"), "x").unwrap();
                args(&["run", "--input", &s(&d.join("good.parquet")), "--out", &s(&d.join("other"))])
            },
            code: 5,
            says: &["no evergreen manifest"],
        },
        Refused {
            name: "a manifest that is not JSON",
            build: |d| {
                std::fs::create_dir(d.join("other")).unwrap();
                std::fs::write(d.join("other/_manifest.json"), "not json").unwrap();
                args(&["run", "--input", &s(&d.join("good.parquet")), "--out", &s(&d.join("other"))])
            },
            code: 5,
            says: &["no evergreen manifest"],
        },
        Refused {
            name: "a file an evergreen manifest does not list",
            build: |d| {
                std::fs::write(d.join("out/extra.parquet"), "x").unwrap();
                run(d, &s(&d.join("good.parquet")))
            },
            code: 5,
            says: &["`extra.parquet`"],
        },
        Refused {
            name: "out inside the input folder",
            build: |d| {
                put(d, "dump/a.parquet", good_frame());
                args(&["run", "--input", &s(&d.join("dump")), "--out", &s(&d.join("dump/out"))])
            },
            code: 5,
            says: &["lies inside the input"],
        },
        Refused {
            name: "out containing the input file",
            build: |d| {
                put(d, "data/a.parquet", good_frame());
                args(&["run", "--input", &s(&d.join("data/a.parquet")), "--out", &s(&d.join("data"))])
            },
            code: 5,
            says: &["contains the input"],
        },
        Refused {
            name: "out is a symlink to the input folder",
            build: |d| {
                put(d, "dump/a.parquet", good_frame());
                symlink(d.join("dump"), d.join("alias")).unwrap();
                args(&["run", "--input", &s(&d.join("dump")), "--out", &s(&d.join("alias"))])
            },
            code: 5,
            says: &["is the input"],
        },
        Refused {
            name: "out spelled another way than the input (dots)",
            build: |d| {
                put(d, "dump/a.parquet", good_frame());
                let other = format!("{}/dump/../dump", d.display());
                args(&["run", "--input", &s(&d.join("dump")), "--out", &other])
            },
            code: 5,
            says: &["is the input"],
        },
        Refused {
            name: "out matched by an input glob",
            build: |d| {
                put(d, "parts/a.parquet", good_frame());
                let glob = format!("{}/parts/*", d.display());
                args(&["run", "--input", &glob, "--out", &s(&d.join("parts/new"))])
            },
            code: 5,
            says: &["matched by the input glob"],
        },
        Refused {
            name: "out is an existing file",
            build: |d| {
                std::fs::write(d.join("report.txt"), "mine").unwrap();
                args(&["run", "--input", &s(&d.join("good.parquet")), "--out", &s(&d.join("report.txt"))])
            },
            code: 5,
            says: &["found an existing file"],
        },
        Refused {
            name: "out is a dangling symlink",
            build: |d| {
                symlink(d.join("nowhere"), d.join("dangling")).unwrap();
                args(&["run", "--input", &s(&d.join("good.parquet")), "--out", &s(&d.join("dangling"))])
            },
            code: 5,
            says: &["symlink"],
        },
        Refused {
            name: "basket into the input folder",
            build: |d| {
                put(d, "dump/a.parquet", good_frame());
                args(&["basket", "--input", &s(&d.join("dump")), "--out", &s(&d.join("dump"))])
            },
            code: 5,
            says: &["is the input"],
        },
        Refused {
            name: "out inside a folder an input glob matches",
            build: |d| {
                put(d, "dump/a.parquet", good_frame());
                let glob = format!("{}/dum?", d.display());
                args(&["run", "--input", &glob, "--out", &s(&d.join("dump/out"))])
            },
            code: 5,
            says: &["lies inside the input"],
        },
        Refused {
            name: "the lock file is a symlink to a user's file",
            build: |d| {
                std::fs::write(d.join("victim.txt"), "precious").unwrap();
                symlink(d.join("victim.txt"), d.join(".out.evergreen-lock")).unwrap();
                run(d, &s(&d.join("good.parquet")))
            },
            code: 5,
            says: &["lock file"],
        },
        Refused {
            name: "an ad-hoc query written into the output folder it reads",
            build: |d| {
                args(&["query", "--tables", &s(&d.join("out")), "--out", &s(&d.join("out/mine.csv")), "SELECT 1 AS x"])
            },
            code: 5,
            says: &["lies inside the input"],
        },
        // 4. Input files: only regular files.
        Refused {
            name: "a FIFO given as the input",
            build: |d| {
                mkfifo(&d.join("pipe.parquet"));
                args(&["run", "--input", &s(&d.join("pipe.parquet")), "--out", &s(&d.join("out"))])
            },
            code: 3,
            says: &["pipe.parquet", "not a regular file"],
        },
        // 5. Numbers that cannot be represented exactly are an error, never inf, NaN or a wrap.
        Refused {
            name: "amounts of 1e300",
            build: |d| run(d, &put(d, "big.parquet", amounts(&[1e300, 5.0]))),
            code: 4,
            says: &["`amount`", "add up to less than"],
        },
        Refused {
            name: "amounts of -1e300",
            build: |d| run(d, &put(d, "big.parquet", amounts(&[-1e300, 5.0, 7.0]))),
            code: 4,
            says: &["`amount`", "add up to less than"],
        },
        Refused {
            name: "integer amounts near i64::MAX",
            build: |d| {
                let mut df = good_frame();
                df.with_column(Column::new("amount".into(), vec![i64::MAX - 1; 5])).unwrap();
                run(d, &put(d, "big.parquet", df))
            },
            code: 4,
            says: &["`amount`", "a total of 4.612e19"],
        },
        Refused {
            name: "a total above 2^53 cents (9.0e13 at 2 decimals)",
            build: |d| run(d, &put(d, "big.parquet", amounts(&[5e13, 5e13]))),
            code: 4,
            says: &["9.007e13", "a total of 1.000e14"],
        },
        Refused {
            name: "a total above 2^53 minor units at 6 money decimals",
            build: |d| {
                let mut a = run(d, &put(d, "big.parquet", amounts(&[6e9, 6e9])));
                a.extend(args(&["--money-decimals", "6"]));
                a
            },
            code: 4,
            says: &["9.007e9", "6 money decimals"],
        },
        // 7. No panic on values at the limits of their types.
        Refused {
            name: "a microsecond timestamp near i64::MAX",
            build: |d| {
                run(d, &put(d, "ts.parquet", ts_column(DataType::Datetime(TimeUnit::Microseconds, None), i64::MAX - 5)))
            },
            code: 4,
            says: &["`ts`", "between 0001-01-01 and 9999-12-31"],
        },
        Refused {
            name: "a far-future millisecond timestamp (year 300000)",
            build: |d| {
                let ms = 300_000i64 * 365 * 86_400_000;
                run(d, &put(d, "ts.parquet", ts_column(DataType::Datetime(TimeUnit::Milliseconds, None), ms)))
            },
            code: 4,
            says: &["`ts`", "between 0001-01-01 and 9999-12-31"],
        },
        Refused {
            name: "a far-past millisecond timestamp",
            build: |d| {
                run(d, &put(d, "ts.parquet", ts_column(DataType::Datetime(TimeUnit::Milliseconds, None), i64::MIN + 1)))
            },
            code: 4,
            says: &["`ts`"],
        },
        Refused {
            name: "a date near the limit of its i32 days",
            build: |d| run(d, &put(d, "ts.parquet", ts_column(DataType::Date, i32::MAX as i64))),
            code: 4,
            says: &["`ts`", "between 0001-01-01"],
        },
        Refused {
            name: "a lapse threshold beyond u32",
            build: |d| {
                let mut a = run(d, &s(&d.join("good.parquet")));
                a.extend(args(&["--lapse-thresholds", "30,4294967296"]));
                a
            },
            code: 2,
            says: &["argument error", "4294967296"],
        },
        Refused {
            name: "a truncated Parquet file",
            build: |d| {
                let p = put(d, "cut.parquet", good_frame());
                let bytes = std::fs::read(&p).unwrap();
                std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
                run(d, &p)
            },
            code: 3,
            says: &["cut.parquet", "cannot read Parquet"],
        },
        Refused {
            name: "an empty file named .parquet",
            build: |d| {
                std::fs::write(d.join("empty.parquet"), "").unwrap();
                run(d, &s(&d.join("empty.parquet")))
            },
            code: 3,
            says: &["empty.parquet"],
        },
        Refused {
            name: "a text file named .parquet",
            build: |d| {
                std::fs::write(d.join("text.parquet"), "customer_id,order_id\n1,2\n").unwrap();
                run(d, &s(&d.join("text.parquet")))
            },
            code: 3,
            says: &["text.parquet"],
        },
        // 8. Bad values are the contract's exit 4 naming file and column, never "internal error".
        Refused {
            name: "a uint64 customer id above i64::MAX",
            build: |d| {
                let mut df = good_frame();
                let ids = Column::new("customer_id".into(), vec![1u64, 1, 2, u64::MAX, 3]);
                df.with_column(ids).unwrap();
                run(d, &put(d, "u64.parquet", df))
            },
            code: 4,
            says: &["u64.parquet", "`customer_id`", "18446744073709551615"],
        },
        Refused {
            name: "a uint64 order id above i64::MAX",
            build: |d| {
                let mut df = good_frame();
                let ids = Column::new("order_id".into(), vec![1u64, 1, 2, 3, 1u64 << 63]);
                df.with_column(ids).unwrap();
                run(d, &put(d, "u64.parquet", df))
            },
            code: 4,
            says: &["`order_id`", "9223372036854775808"],
        },
        Refused {
            name: "a float customer id of 1e19",
            build: |d| {
                let mut df = good_frame();
                df.with_column(Column::new("customer_id".into(), vec![1.0, 1.0, 2.0, 1e19, 3.0])).unwrap();
                run(d, &put(d, "f.parquet", df))
            },
            code: 4,
            says: &["`customer_id`", "below 2^63"],
        },
        Refused {
            name: "a float order id of -1e19",
            build: |d| {
                let mut df = good_frame();
                df.with_column(Column::new("order_id".into(), vec![1.0, 1.0, 2.0, 3.0, -1e19])).unwrap();
                run(d, &put(d, "f.parquet", df))
            },
            code: 4,
            says: &["`order_id`"],
        },
        Refused {
            name: "a float id of exactly 2^63",
            build: |d| {
                let mut df = good_frame();
                df.with_column(Column::new("customer_id".into(), vec![1.0, 1.0, 2.0, 2f64.powi(63), 3.0])).unwrap();
                run(d, &put(d, "f.parquet", df))
            },
            code: 4,
            says: &["`customer_id`"],
        },
        Refused {
            name: "decimal256 amounts",
            build: |d| {
                let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/decimal256.parquet");
                std::fs::copy(fixture, d.join("d256.parquet")).unwrap();
                run(d, &s(&d.join("d256.parquet")))
            },
            code: 4,
            says: &["d256.parquet", "`amount`", "decimal(50, 2)"],
        },
        Refused {
            name: "invalid UTF-8 in a string product column",
            build: |d| run(d, &invalid_utf8_dump(d)),
            code: 4,
            says: &["bad_utf8.parquet", "`product_id`", "UTF-8"],
        },
        // 9. Every error is one line, also clap's.
        Refused {
            name: "a typo in a flag",
            build: |d| {
                let mut a = run(d, &s(&d.join("good.parquet")));
                a.push("--as-off".into());
                a
            },
            code: 2,
            says: &["argument error", "--as-off"],
        },
        Refused { name: "an unknown subcommand", build: |_| args(&["rnu"]), code: 2, says: &["argument error", "rnu"] },
        Refused {
            name: "a value out of range",
            build: |d| {
                let mut a = run(d, &s(&d.join("good.parquet")));
                a.extend(args(&["--bins", "12"]));
                a
            },
            code: 2,
            says: &["argument error", "12"],
        },
        Refused {
            name: "a missing value",
            build: |d| args(&["run", "--input", &s(&d.join("good.parquet")), "--out"]),
            code: 2,
            says: &["argument error", "--out"],
        },
        // 10. SQL reads only the tables.
        Refused {
            name: "a query file calling read_parquet",
            build: |d| {
                std::fs::create_dir(d.join("q")).unwrap();
                std::fs::write(d.join("secret.txt"), "password").unwrap();
                let sql = format!("SELECT * FROM read_parquet('{}')", d.join("good.parquet").display());
                std::fs::write(d.join("q/leak.sql"), sql).unwrap();
                let mut a = run(d, &s(&d.join("good.parquet")));
                a.extend(args(&["--queries", &s(&d.join("q"))]));
                a
            },
            code: 4,
            says: &["leak.sql", "read_parquet()", "--allow-file-reads"],
        },
        Refused {
            name: "a query file calling READ_CSV with a space before the parenthesis",
            build: |d| {
                std::fs::create_dir(d.join("q")).unwrap();
                std::fs::write(d.join("q/leak.sql"), "select * from READ_CSV ('/etc/passwd')").unwrap();
                let mut a = run(d, &s(&d.join("good.parquet")));
                a.extend(args(&["--queries", &s(&d.join("q"))]));
                a
            },
            code: 4,
            says: &["read_csv()"],
        },
        Refused {
            name: "a segments.sql override calling read_json",
            build: |d| {
                std::fs::create_dir(d.join("q")).unwrap();
                std::fs::write(d.join("q/segments.sql"), "SELECT * FROM read_json('/etc/hosts')").unwrap();
                let mut a = run(d, &s(&d.join("good.parquet")));
                a.extend(args(&["--queries", &s(&d.join("q"))]));
                a
            },
            code: 4,
            says: &["segments.sql", "read_json()"],
        },
        Refused {
            name: "an ad-hoc query calling read_parquet",
            build: |d| {
                let sql = format!("SELECT * FROM read_parquet('{}')", d.join("good.parquet").display());
                args(&["query", "--tables", &s(&d.join("out")), &sql])
            },
            code: 4,
            says: &["<command line>", "read_parquet()"],
        },
        Refused {
            name: "an ad-hoc query calling a quoted \"read_parquet\"",
            build: |d| args(&["query", "--tables", &s(&d.join("out")), "SELECT * FROM \"read_parquet\"('x.parquet')"]),
            code: 4,
            says: &["read_parquet()"],
        },
        Refused {
            name: "a parameter that would turn a literal into a call",
            build: |d| {
                std::fs::create_dir(d.join("q")).unwrap();
                let sql = "SELECT $5$ x $${bins}$ AS a, * FROM read_csv('/etc/hosts') -- $5$";
                std::fs::write(d.join("q/sneaky.sql"), sql).unwrap();
                let mut a = run(d, &s(&d.join("good.parquet")));
                a.extend(args(&["--queries", &s(&d.join("q"))]));
                a
            },
            code: 4,
            says: &["sneaky.sql", "read_csv()"],
        },
        Refused {
            name: "an ad-hoc query calling read_ipc, written to a file",
            build: |d| {
                args(&[
                    "query",
                    "--tables",
                    &s(&d.join("out")),
                    "--out",
                    &s(&d.join("r.csv")),
                    "SELECT * FROM read_ipc('x')",
                ])
            },
            code: 4,
            says: &["read_ipc()"],
        },
    ]
}

/// A dump whose string product column holds bytes that are not UTF-8: written with a marker value,
/// uncompressed, then the marker's bytes patched in the file.
fn invalid_utf8_dump(d: &Path) -> String {
    let mut df = good_frame();
    let names: Vec<&str> = vec!["apple", "QQQQZZZZ", "apple", "pear", "pear"];
    df.with_column(Column::new("product_id".into(), names)).unwrap();
    let p = d.join("bad_utf8.parquet");
    let f = std::fs::File::create(&p).unwrap();
    ParquetWriter::new(f)
        .with_compression(ParquetCompression::Uncompressed)
        .with_statistics(StatisticsOptions::empty())
        .finish(&mut df)
        .unwrap();
    let mut bytes = std::fs::read(&p).unwrap();
    let marker = b"QQQQZZZZ";
    let mut hits = 0;
    for i in 0..bytes.len() - marker.len() {
        if &bytes[i..i + marker.len()] == marker {
            bytes[i..i + 4].copy_from_slice(&[0xff, 0xfe, 0xfd, 0xfc]);
            hits += 1;
        }
    }
    assert!(hits > 0, "marker found in the file");
    std::fs::write(&p, bytes).unwrap();
    p.display().to_string()
}

fn mkfifo(p: &Path) {
    let st = Command::new("mkfifo").arg(p).status().unwrap();
    assert!(st.success());
}

/// A folder holding `good.parquet` and a previous output `out/` made from it.
fn folder_with_previous_output() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let good = put(d.path(), "good.parquet", good_frame());
    let o = evergreen(&run(d.path(), &good));
    assert!(o.status.success(), "{}", stderr(&o));
    d
}

/// Issue 9.
#[test]
fn hostile_inputs_fail_with_one_line_and_change_nothing() {
    let mut problems = Vec::new();
    let cases = refused_cases();
    assert!(cases.len() >= 45, "{} refused cases", cases.len());
    for case in cases {
        let d = folder_with_previous_output();
        let a = (case.build)(d.path());
        let before = tree(d.path());
        let o = evergreen(&a);
        let err = stderr(&o);
        let lines: Vec<&str> = err.lines().collect();
        if o.status.code() != Some(case.code) {
            problems.push(format!("{}: exit {:?}, expected {} ({err})", case.name, o.status.code(), case.code));
        }
        if lines.len() != 1 || !lines[0].starts_with("evergreen: ") {
            problems.push(format!("{}: expected one `evergreen: ` line, found {err:?}", case.name));
        }
        for want in case.says {
            if !err.contains(want) {
                problems.push(format!("{}: message lacks `{want}`: {err}", case.name));
            }
        }
        if tree(d.path()) != before {
            problems.push(format!("{}: the folder changed (previous output, inputs or leftovers)", case.name));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// A successful hostile case: builds its input, returns the arguments, checks the result.
struct Accepted {
    name: &'static str,
    build: fn(&Path) -> Vec<String>,
    check: fn(&Path, &Output) -> Result<(), String>,
}

fn ensure(ok: bool, what: impl std::fmt::Display) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(what.to_string())
    }
}

/// The customers table of an output, as (customer_id, monetary, frequency).
fn customer_rows(out: &Path) -> Vec<(i64, f64, i64)> {
    let df = read_parquet(&out.join("customers.parquet"));
    let ids = ints(&df, "customer_id");
    let m = floats(&df, "monetary");
    let f = ints(&df, "frequency");
    (0..ids.len()).map(|i| (ids[i], m[i], f[i])).collect()
}

/// The good dump, computed by hand: customer 2 has orders 2 (20) and 3 (5): monetary 25,
/// frequency 2; customer 1 has order 1 (10 + 3): 13, frequency 1. Rows by monetary descending.
const GOOD: [(i64, f64, i64); 2] = [(2, 25.0, 2), (1, 13.0, 1)];

fn skipped(out: &Path, what: &str) -> u64 {
    manifest(out)["input_skipped"][what].as_u64().unwrap_or(u64::MAX)
}

fn accepted_cases() -> Vec<Accepted> {
    vec![
        Accepted {
            name: "a symlink loop in the input folder: every file read once",
            build: |d| {
                put(d, "dump/a.parquet", good_frame());
                symlink(d.join("dump"), d.join("dump/loop")).unwrap();
                run(d, &s(&d.join("dump")))
            },
            check: |d, _| {
                ensure(customer_rows(&d.join("out")) == GOOD, "totals as one file")?;
                ensure(skipped(&d.join("out"), "symlink_loops") == 1, "one loop counted")
            },
        },
        Accepted {
            name: "a file linked twice into the input folder",
            build: |d| {
                put(d, "dump/a.parquet", good_frame());
                symlink(d.join("dump/a.parquet"), d.join("dump/b.parquet")).unwrap();
                run(d, &s(&d.join("dump")))
            },
            check: |d, _| {
                ensure(customer_rows(&d.join("out")) == GOOD, "totals as one file")?;
                ensure(skipped(&d.join("out"), "duplicate_files") == 1, "one duplicate counted")
            },
        },
        Accepted {
            name: "a hard link beside its file",
            build: |d| {
                put(d, "dump/a.parquet", good_frame());
                std::fs::hard_link(d.join("dump/a.parquet"), d.join("dump/c.parquet")).unwrap();
                run(d, &s(&d.join("dump")))
            },
            check: |d, _| ensure(customer_rows(&d.join("out")) == GOOD, "totals as one file"),
        },
        Accepted {
            name: "the same file given twice, by two spellings",
            build: |d| {
                let p = put(d, "a.parquet", good_frame());
                let mut a = run(d, &p);
                a.extend(args(&["--input", &format!("{}/./a.parquet", d.display())]));
                a
            },
            check: |d, _| ensure(customer_rows(&d.join("out")) == GOOD, "totals as one file"),
        },
        Accepted {
            name: "a FIFO named x.parquet inside the input folder is skipped, not waited on",
            build: |d| {
                put(d, "dump/a.parquet", good_frame());
                mkfifo(&d.join("dump/x.parquet"));
                run(d, &s(&d.join("dump")))
            },
            check: |d, _| {
                ensure(customer_rows(&d.join("out")) == GOOD, "the regular file read")?;
                ensure(skipped(&d.join("out"), "not_regular") == 1, "the FIFO counted")
            },
        },
        Accepted {
            name: "a comma inside an --input path",
            build: |d| run(d, &put(d, "sales,2024.parquet", good_frame())),
            check: |d, _| ensure(customer_rows(&d.join("out")) == GOOD, "read whole"),
        },
        Accepted {
            name: "hive partition values are percent-decoded",
            build: |d| {
                let mut df = good_frame().drop("product_id").unwrap();
                df = df.head(Some(4));
                put(d, "dump/region=ACME%2FEU/part.parquet", df);
                let mut a = run(d, &s(&d.join("dump")));
                a.extend(args(&["--product-col", "region"]));
                a
            },
            check: |d, _| {
                let df = read_parquet(&d.join("out/customers.parquet"));
                let fav = df.column("favourite_product").unwrap().str().unwrap().get(0).map(String::from);
                ensure(fav.as_deref() == Some("ACME/EU"), format!("favourite_product {fav:?}"))
            },
        },
        Accepted {
            name: "a lapse threshold of u32::MAX",
            build: |d| {
                let mut a = run(d, &s(&d.join("good.parquet")));
                a.extend(args(&["--lapse-thresholds", "30,4294967295"]));
                a
            },
            check: |d, _| {
                let df = read_parquet(&d.join("out/customers.parquet"));
                let b: Vec<Option<&str>> = df.column("lapse_bucket").unwrap().str().unwrap().iter().collect();
                // Recency 25 (customer 2, 2024-01-07) and 27 (customer 1, 2024-01-05).
                ensure(b == vec![Some("0-30"), Some("0-30")], format!("{b:?}"))
            },
        },
        Accepted {
            name: "a lock timeout of u64::MAX seconds without another run",
            build: |d| {
                let mut a = run(d, &s(&d.join("good.parquet")));
                a.extend(args(&["--lock-timeout", "18446744073709551615"]));
                a
            },
            check: |d, _| ensure(customer_rows(&d.join("out")) == GOOD, "ran"),
        },
        Accepted {
            name: "a total just below the money limit keeps exact purchase deciles",
            build: |d| run(d, &put(d, "big.parquet", amounts(&[3e13, 2e13, 1e13]))),
            check: |d, _| {
                // Customers 0, 1, 2 spend 3e13, 2e13, 1e13 of 6e13: the tenths begin at 0, 5 and 8.33.
                let df = read_parquet(&d.join("out/customers.parquet"));
                let dec = ints(&df, "purchase_decile");
                ensure(dec == vec![1, 6, 9], format!("purchase deciles {dec:?}"))
            },
        },
        Accepted {
            name: "refunds cancelling all revenue: shares are 0, never NaN",
            build: |d| {
                let lines = [
                    line(Some(1), 1, "2024-01-05 10:00", 10.0),
                    line(Some(1), 2, "2024-01-06 10:00", -10.0),
                    line(Some(2), 3, "2024-01-05 10:00", 4.0),
                    line(Some(2), 4, "2024-01-07 10:00", -4.0),
                ];
                run(d, &put(d, "zero.parquet", frame(&lines)))
            },
            check: |d, _| {
                for (t, cols) in [
                    ("monetary_deciles", &["revenue_share", "cumulative_revenue_share"][..]),
                    ("purchase_deciles", &["revenue_share", "customer_share"][..]),
                ] {
                    let df = read_parquet(&d.join(format!("out/{t}.parquet")));
                    for c in cols {
                        let v = floats(&df, c);
                        ensure(v.iter().all(|x| x.is_finite()), format!("{t}.{c} {v:?}"))?;
                        if c.contains("revenue") {
                            ensure(v.iter().all(|x| *x == 0.0), format!("{t}.{c} {v:?}"))?;
                        }
                    }
                }
                Ok(())
            },
        },
        Accepted {
            name: "a monetary of -0.004 is written as 0.0, not -0.0",
            build: |d| {
                let lines = [
                    line(Some(1), 1, "2024-01-05 10:00", 5.0),
                    line(Some(1), 2, "2024-01-06 10:00", -5.004),
                    line(Some(2), 3, "2024-01-05 10:00", 4.0),
                ];
                run(d, &put(d, "neg.parquet", frame(&lines)))
            },
            check: |d, _| {
                let df = read_parquet(&d.join("out/customers.parquet"));
                let ids = ints(&df, "customer_id");
                let m = floats(&df, "monetary");
                let i = ids.iter().position(|&c| c == 1).unwrap();
                ensure(m[i] == 0.0 && m[i].is_sign_positive(), format!("monetary {:?}", m[i]))?;
                let aov = floats(&df, "avg_order_value");
                ensure(aov[i].is_sign_positive(), format!("avg_order_value {:?}", aov[i]))
            },
        },
        Accepted {
            name: "a string literal naming read_parquet is not a table function",
            build: |d| {
                std::fs::create_dir(d.join("q")).unwrap();
                std::fs::write(
                    d.join("q/note.sql"),
                    "SELECT 'read_parquet(x)' AS s, COUNT(*) AS n FROM customers -- read_csv(\n",
                )
                .unwrap();
                let mut a = run(d, &s(&d.join("good.parquet")));
                a.extend(args(&["--queries", &s(&d.join("q"))]));
                a
            },
            check: |d, _| {
                let df = read_parquet(&d.join("out/note.parquet"));
                ensure(ints(&df, "n") == vec![2], "the query ran")
            },
        },
        Accepted {
            name: "--allow-file-reads lets a query read a file",
            build: |d| {
                let sql = format!("SELECT COUNT(*) AS n FROM read_parquet('{}')", d.join("good.parquet").display());
                args(&[
                    "query",
                    "--allow-file-reads",
                    "--tables",
                    &s(&d.join("out")),
                    "--out",
                    &s(&d.join("n.csv")),
                    &sql,
                ])
            },
            check: |d, _| {
                let text = std::fs::read_to_string(d.join("n.csv")).unwrap();
                ensure(text.trim() == "n\n5", format!("{text:?}"))
            },
        },
        Accepted {
            name: "a previous output without a files list (older manifest) is still evergreen's",
            build: |d| {
                let p = d.join("out/_manifest.json");
                let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
                m.as_object_mut().unwrap().remove("files");
                std::fs::write(&p, m.to_string()).unwrap();
                run(d, &s(&d.join("good.parquet")))
            },
            check: |d, _| ensure(manifest(&d.join("out"))["files"].as_array().is_some_and(|f| f.len() >= 4), "files"),
        },
        Accepted {
            name: "a previous output missing one of its tables is replaced",
            build: |d| {
                std::fs::remove_file(d.join("out/score_bins.parquet")).unwrap();
                run(d, &s(&d.join("good.parquet")))
            },
            check: |d, _| ensure(d.join("out/score_bins.parquet").exists(), "score_bins written again"),
        },
    ]
}

/// Issue 9.
#[test]
fn hostile_inputs_that_must_succeed() {
    let mut problems = Vec::new();
    for case in accepted_cases() {
        let d = folder_with_previous_output();
        let a = (case.build)(d.path());
        let o = evergreen(&a);
        if !o.status.success() {
            problems.push(format!("{}: exit {:?}: {}", case.name, o.status.code(), stderr(&o)));
            continue;
        }
        if let Err(e) = (case.check)(d.path(), &o) {
            problems.push(format!("{}: {e}", case.name));
        }
        let left: Vec<String> = std::fs::read_dir(d.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| n.contains(".evergreen-"))
            .collect();
        if !left.is_empty() {
            problems.push(format!("{}: leftovers {left:?}", case.name));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// Issue 9.
#[test]
fn the_environment_variable_may_list_inputs_the_flag_may_not() {
    let d = tempfile::tempdir().unwrap();
    let a = put(d.path(), "a.parquet", good_frame().head(Some(2)));
    let b = put(d.path(), "b.parquet", good_frame().slice(2, 3));
    let out = d.path().join("out");
    let o = bin().args(["run", "--out", &s(&out)]).env("EVERGREEN_INPUT", format!("{a},{b}")).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(customer_rows(&out), GOOD);
    // The flag takes "a,b" as one path, which does not exist.
    let o = evergreen(&args(&["run", "--input", &format!("{a},{b}"), "--out", &s(&out)]));
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
}

/// Issue 9.
#[test]
fn json_logs_make_an_argument_error_one_json_object() {
    let o = evergreen(&args(&["--log-format", "json", "run", "--bogus"]));
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    let v: serde_json::Value = serde_json::from_str(err.trim()).expect("one JSON object");
    assert_eq!(v["level"], "ERROR");
    assert_eq!(v["fields"]["exit_code"], 2);
    assert!(v["fields"]["message"].as_str().unwrap().contains("--bogus"));
}

/// Issue 9.
#[test]
fn a_closed_stdout_pipe_is_not_a_panic() {
    let d = folder_with_previous_output();
    let out = s(&d.path().join("out"));
    let exe = env!("CARGO_BIN_EXE_evergreen");
    for cmd in [
        format!("'{exe}' query --tables '{out}' --limit 1000 'SELECT * FROM customers' | head -c 1"),
        format!("'{exe}' completions bash | head -n 1"),
        format!("'{exe}' man | head -n 1"),
        format!("'{exe}' validate --input '{}' | head -n 1", d.path().join("good.parquet").display()),
    ] {
        let o =
            Command::new("bash").arg("-c").arg(format!("{cmd} >/dev/null; echo ${{PIPESTATUS[0]}}")).output().unwrap();
        let code = String::from_utf8_lossy(&o.stdout).trim().to_string();
        let err = stderr(&o);
        assert_eq!(code, "0", "{cmd}: {err}");
        assert!(!err.contains("panicked"), "{cmd}: {err}");
    }
}

/// The tables of `out` with their bytes.
fn tables_of(out: &Path) -> BTreeMap<PathBuf, String> {
    tree(out)
}

/// Runs that crash at each step of the commit (the test hook aborts the process there) leave one
/// whole output, old or new; the next run restores a previous output saved aside and succeeds.
/// (Issue 9.)
#[test]
fn a_crash_at_each_step_of_the_commit_leaves_one_whole_output() {
    let steps: [(&str, bool); 7] = [
        ("before-success", false),
        ("before-swap", false),
        ("after-exchange", false),
        ("after-commit", false),
        ("before-swap", true),
        ("after-move-aside", true),
        ("after-move-in", true),
    ];
    for (step, no_exchange) in steps {
        let d = folder_with_previous_output();
        let out = d.path().join("out");
        let old = tables_of(&out);
        let mut a = run(d.path(), &s(&d.path().join("good.parquet")));
        let last = a.len() - 1;
        a[last] = "2024-03-01".into(); // another as-of: different tables
        let mut cmd = bin();
        cmd.args(&a).env("EVERGREEN_TEST_CRASH_AT", step);
        if no_exchange {
            cmd.env("EVERGREEN_TEST_NO_EXCHANGE", "1");
        }
        let o = cmd.output().unwrap();
        assert!(!o.status.success(), "{step}: the hook aborts");
        let now = if out.exists() { Some(tables_of(&out)) } else { None };
        let whole_new =
            now.as_ref().is_some_and(|_| manifest(&out)["as_of"] == "2024-03-01" && out.join("_SUCCESS").exists());
        match step {
            "after-move-aside" => assert!(now.is_none(), "{step}: the old output is saved aside"),
            "after-exchange" | "after-commit" | "after-move-in" => {
                assert!(whole_new, "{step}: the new output is in place")
            }
            _ => assert_eq!(now.as_ref(), Some(&old), "{step}: the previous output, byte for byte"),
        }
        // A failing next run (bad input) still restores a saved output and leaves it as it was.
        put(d.path(), "bad.parquet", good_frame().drop("amount").unwrap());
        let o = evergreen(&run(d.path(), &s(&d.path().join("bad.parquet"))));
        assert_eq!(o.status.code(), Some(4), "{step}: {}", stderr(&o));
        if step == "after-move-aside" {
            assert_eq!(tables_of(&out), old, "{step}: restored byte for byte");
        }
        assert!(out.join("_SUCCESS").exists(), "{step}: one whole output");
        // And a good run then succeeds and leaves nothing beside the output.
        let o = evergreen(&a);
        assert!(o.status.success(), "{step}: {}", stderr(&o));
        assert_eq!(manifest(&out)["as_of"], "2024-03-01");
        let left: Vec<String> = std::fs::read_dir(d.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(left.is_empty(), "{step}: leftovers {left:?}");
    }
}

/// Issue 9.
#[test]
fn a_symlinked_out_keeps_pointing_at_the_new_output() {
    let d = folder_with_previous_output();
    let real = d.path().join("real");
    std::fs::rename(d.path().join("out"), &real).unwrap();
    let link = d.path().join("out");
    symlink(&real, &link).unwrap();
    let mut a = run(d.path(), &s(&d.path().join("good.parquet")));
    let last = a.len() - 1;
    a[last] = "2024-03-01".into();
    let o = evergreen(&a);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "still a link");
    assert_eq!(std::fs::read_link(&link).unwrap(), real);
    assert_eq!(manifest(&link)["as_of"], "2024-03-01", "the link shows the new output");
}

/// Issue 9.
#[test]
fn a_symlinked_out_with_a_trailing_slash_is_the_link() {
    let d = folder_with_previous_output();
    let real = d.path().join("real");
    std::fs::rename(d.path().join("out"), &real).unwrap();
    let link = d.path().join("out");
    symlink(&real, &link).unwrap();
    let mut a = run(d.path(), &s(&d.path().join("good.parquet")));
    let last = a.len() - 1;
    a[last] = "2024-03-01".into();
    let out_at = a.iter().position(|x| x == "--out").unwrap() + 1;
    a[out_at] = format!("{}/", link.display());
    let o = evergreen(&a);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read_link(&link).unwrap(), real, "still the same link");
    assert_eq!(manifest(&real)["as_of"], "2024-03-01");
}

/// Issue 9.
#[test]
fn two_writers_on_one_out_one_waits_or_fails_naming_the_other() {
    let d = folder_with_previous_output();
    let a = run(d.path(), &s(&d.path().join("good.parquet")));
    let mut first = spawn_held_before_commit(&a, 4000);
    // Wait until the first run holds the lock (its temporary folder exists).
    wait_until("started writing", || {
        std::fs::read_dir(d.path()).unwrap().flatten().any(|e| e.file_name().to_string_lossy().contains("evergreen-tmp"))
    });
    let before = tree(&d.path().join("out"));
    let o = evergreen(&a);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    let want = format!("another evergreen run (pid {}) is writing", first.id());
    assert!(stderr(&o).contains(&want), "{}", stderr(&o));
    assert_eq!(stderr(&o).lines().count(), 1);
    assert_eq!(tree(&d.path().join("out")), before, "the second run touched nothing");
    // With a timeout, the second run waits for the first and then writes.
    let mut waiting = a.clone();
    waiting.extend(args(&["--lock-timeout", "60"]));
    let o = evergreen(&waiting);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(first.wait().unwrap().success());
    assert_eq!(customer_rows(&d.path().join("out")), GOOD);
}

/// Every table's columns: no unsigned integers (counts are Int64), timestamps in microseconds.
/// (Issue 9.)
#[test]
fn tables_use_types_every_reader_opens() {
    let d = folder_with_previous_output();
    let out = d.path().join("out");
    for f in manifest(&out)["files"].as_array().unwrap() {
        let df = read_parquet(&out.join(f.as_str().unwrap()));
        for c in df.columns() {
            let dt = c.dtype();
            assert!(!dt.is_unsigned_integer(), "{f}.{}: {dt}", c.name());
            if let DataType::Datetime(unit, _) = dt {
                assert_eq!(*unit, TimeUnit::Microseconds, "{f}.{}", c.name());
            }
        }
    }
}
