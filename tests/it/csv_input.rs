//! Issue 30 (points 1 and 2): dumps as they come. CSV and TSV files (plain, gzip, zstd, in a
//! folder) give the same tables as the Parquet file of the same data, byte for byte; string
//! timestamps in a local layout read with `--ts-format`, or alone when only one layout fits, and
//! are refused when day-first and month-first both fit; a newcomer's usual mistakes get a hint.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::common::*;
use polars::prelude::*;

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data-samples/online_retail.parquet");
const CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data-samples/online_retail.toml");

/// The Online Retail sample with its dates written as `layout` (chrono strftime).
fn sample_as_csv(layout: &str, separator: u8) -> Vec<u8> {
    let mut df = read_parquet(Path::new(SAMPLE));
    let mut buf = Vec::new();
    CsvWriter::new(&mut buf)
        .include_header(true)
        .with_separator(separator)
        .with_datetime_format(Some(layout.into()))
        .finish(&mut df)
        .unwrap();
    buf
}

/// `run` over `input` with the sample's config and one as-of, into `out`; the exit code and stderr.
fn run(input: &Path, out: &Path, extra: &[&str]) -> (i32, String) {
    let o = bin()
        .args(["run", "-q", "--config", CONFIG, "--as-of", "2025-01-01", "--product-name-col", "Description", "--customer-attr", "Country", "--input"])
        .arg(input)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stderr).to_string())
}

/// Every table file of an output folder (the manifest aside), by name.
fn tables(out: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(out)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    v.sort();
    v
}

fn assert_same_tables(a: &Path, b: &Path, what: &str) {
    let (ta, tb) = (tables(a), tables(b));
    assert!(ta.len() >= 10, "{what}: only {} tables", ta.len());
    assert_eq!(ta.iter().map(|t| &t.0).collect::<Vec<_>>(), tb.iter().map(|t| &t.0).collect::<Vec<_>>(), "{what}");
    for ((name, x), (_, y)) in ta.iter().zip(&tb) {
        assert!(x == y, "{what}: {name} differs from the Parquet run's");
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Issue 30 (1): the same dump as Parquet, CSV, TSV, gzip and zstd CSV, a folder of CSV files, and
/// a CSV with US dates read with --ts-format: every table byte for byte the same.
#[test]
fn csv_and_tsv_dumps_give_the_parquet_dumps_tables_byte_for_byte() {
    let d = tempfile::tempdir().unwrap();
    let base = d.path().join("parquet-out");
    let (code, err) = run(Path::new(SAMPLE), &base, &[]);
    assert_eq!(code, 0, "{err}");

    let iso = sample_as_csv("%Y-%m-%d %H:%M:%S", b',');
    let us = sample_as_csv("%-m/%-d/%Y %-H:%M", b',');
    let folder = d.path().join("folder");
    std::fs::create_dir(&folder).unwrap();
    // The folder: the same lines split into two files at a line boundary, plus a file that is no dump.
    let text = String::from_utf8(iso.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let half = lines.len() / 2;
    std::fs::write(folder.join("a.csv"), format!("{}\n{}\n", lines[0], lines[1..half].join("\n"))).unwrap();
    std::fs::write(folder.join("b.csv.gz"), gzip(format!("{}\n{}\n", lines[0], lines[half..].join("\n")).as_bytes())).unwrap();
    std::fs::write(folder.join("notes.txt"), "not read").unwrap();

    let cases: Vec<(&str, PathBuf, Vec<u8>, Vec<&str>)> = vec![
        ("csv", d.path().join("dump.csv"), iso.clone(), vec![]),
        ("tsv", d.path().join("dump.tsv"), sample_as_csv("%Y-%m-%d %H:%M:%S", b'\t'), vec![]),
        ("gzip csv", d.path().join("dump.csv.gz"), gzip(&iso), vec![]),
        ("zstd csv", d.path().join("dump.csv.zst"), zstd::encode_all(iso.as_slice(), 3).unwrap(), vec![]),
        ("csv without its extension", d.path().join("dump.txt"), iso.clone(), vec![]),
        ("US dates with --ts-format", d.path().join("us.csv"), us.clone(), vec!["--ts-format", "%m/%d/%Y %H:%M"]),
        ("US dates, the one layout that fits", d.path().join("us2.csv"), us, vec![]),
    ];
    for (what, path, bytes, extra) in cases {
        std::fs::write(&path, bytes).unwrap();
        let out = d.path().join(format!("out-{}", what.replace(' ', "-")));
        let (code, err) = run(&path, &out, &extra);
        assert_eq!(code, 0, "{what}: {err}");
        assert_same_tables(&base, &out, what);
    }
    let out = d.path().join("out-folder");
    let (code, err) = run(&folder, &out, &[]);
    assert_eq!(code, 0, "folder: {err}");
    assert_same_tables(&base, &out, "a folder of CSV files");
    assert_eq!(manifest(&out)["input_files"].as_array().map(|a| a.len()), Some(2), "the two CSV files, not notes.txt");

    // The partitioned engine reads CSV slice by slice and gives the same bytes.
    let out = d.path().join("out-partitioned");
    let (code, err) = run(&d.path().join("dump.csv"), &out, &["--engine", "partitioned", "--partitions", "3"]);
    assert_eq!(code, 0, "{err}");
    assert_same_tables(&base, &out, "partitioned engine over CSV");
}

/// A CSV dump of five lines with timestamps `ts` (one a line).
fn small_csv(dir: &Path, name: &str, ts: [&str; 5]) -> PathBuf {
    let mut text = String::from("customer_id,order_id,ts,amount\n");
    for (i, t) in ts.iter().enumerate() {
        text.push_str(&format!("{},{},{t},{}.5\n", i % 2 + 1, i + 1, i + 10));
    }
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn run_small(input: &Path, out: &Path, extra: &[&str]) -> (i32, String) {
    let o = bin().args(["run", "-q", "--input"]).arg(input).arg("--out").arg(out).args(extra).output().unwrap();
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stderr).to_string())
}

/// Issue 30 (1): dates whose day and month are all 12 or less read both ways: a refusal naming
/// the column and --ts-format, not a guess; --ts-format then decides.
#[test]
fn ambiguous_local_dates_are_refused_until_ts_format_says_which() {
    let d = tempfile::tempdir().unwrap();
    let p = small_csv(d.path(), "dump.csv", ["01/02/2024 10:00", "03/04/2024 10:00", "05/06/2024 11:30", "07/08/2024 09:00", "11/12/2024 08:00"]);
    let (code, err) = run_small(&p, &d.path().join("out"), &[]);
    assert_eq!(code, 4, "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("dump.csv") && err.contains("`ts`") && err.contains("--ts-format"), "{err}");
    assert!(err.contains("day-first") && err.contains("month-first"), "{err}");
    assert!(!d.path().join("out").exists(), "no partial output");

    // Month first: the last purchase is 2024-11-12, day first 2024-12-11.
    for (layout, last) in [("%m/%d/%Y %H:%M", "2024-11-12"), ("%d/%m/%Y %H:%M", "2024-12-11")] {
        let out = d.path().join(format!("out-{}", &layout[1..2]));
        let (code, err) = run_small(&p, &out, &["--ts-format", layout]);
        assert_eq!(code, 0, "{err}");
        let c = read_parquet(&out.join("customers.parquet"));
        let latest = c.column("last_purchase_at").unwrap().cast(&DataType::String).unwrap();
        let latest: Vec<String> = latest.str().unwrap().iter().flatten().map(String::from).collect();
        assert!(latest.iter().any(|t| t.starts_with(last)), "{layout}: {latest:?}");
    }
}

/// Issue 30 (1): a value the given layout cannot read is named (exit 4); a layout with no day is
/// a config error (exit 2).
#[test]
fn ts_format_names_the_first_value_it_cannot_read() {
    let d = tempfile::tempdir().unwrap();
    let p = small_csv(d.path(), "dump.csv", ["12/31/2024 10:00", "1/2/2024 10:00", "yesterday", "2/3/2024 9:00", "3/4/2024 8:00"]);
    let (code, err) = run_small(&p, &d.path().join("out"), &["--ts-format", "%m/%d/%Y %H:%M"]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("yesterday") && err.contains("%m/%d/%Y %H:%M"), "{err}");
    let (code, err) = run_small(&p, &d.path().join("out"), &["--ts-format", "%m/%Y"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("ts_format"), "{err}");
}

/// Issue 30 (2): a spreadsheet or JSON given as input says what it is and how to convert it; a
/// missing column names the closest ones; quantity and price without an amount get the
/// expression to give.
#[test]
fn a_newcomers_usual_mistakes_get_a_hint() {
    let d = tempfile::tempdir().unwrap();
    let json = d.path().join("dump.json");
    std::fs::write(&json, "{\"customer_id\": 1, \"order_id\": 1}\n").unwrap();
    let (code, err) = run_small(&json, &d.path().join("out"), &[]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("JSON") && err.contains("write_parquet"), "{err}");
    let xlsx = d.path().join("Online Retail.xlsx");
    std::fs::write(&xlsx, b"PK\x03\x04 rest of a zip").unwrap();
    let (code, err) = run_small(&xlsx, &d.path().join("out"), &[]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("spreadsheet") && err.contains("to_csv"), "{err}");
    // CSV text named .parquet: read as Parquet, and the error says what it looks like.
    let fake = d.path().join("dump.parquet");
    std::fs::write(&fake, "a,b\n1,2\n").unwrap();
    let (code, err) = run_small(&fake, &d.path().join("out"), &[]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("cannot read Parquet") && err.contains("looks like CSV"), "{err}");

    let p = d.path().join("retail.csv");
    std::fs::write(&p, "InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n1,7,2024-01-02 10:00,2,1.5\n").unwrap();
    let (code, err) = run_small(&p, &d.path().join("out"), &["--order-col", "InvoiceNo", "--ts-col", "InvoiceDate"]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("`customer_id`") && err.contains("did you mean `CustomerID`"), "{err}");
    let (code, err) =
        run_small(&p, &d.path().join("out"), &["--order-col", "InvoiceNo", "--ts-col", "InvoiceDate", "--customer-col", "CustomerID"]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("--amount \"Quantity * UnitPrice\""), "{err}");
    let (code, err) = run_small(
        &p,
        &d.path().join("out"),
        &["--order-col", "InvoiceNo", "--ts-col", "InvoiceDate", "--customer-col", "CustomerID", "--amount", "Quantity * UnitPrice"],
    );
    assert_eq!(code, 0, "{err}");
}

/// Issue 30 (1): the Spark engine reads Parquet only: CSV is refused before Spark starts (exit 2).
#[test]
fn the_spark_engine_refuses_csv_input_before_starting() {
    let d = tempfile::tempdir().unwrap();
    let p = small_csv(d.path(), "dump.csv", ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-06"]);
    let (code, err) = run_small(&p, &d.path().join("out"), &["--engine", "spark"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("engine spark reads Parquet") && err.contains("dump.csv"), "{err}");
}

/// Issue 30 (1): a folder of daily CSV exports reads as one dump: a day whose invoice numbers are
/// all digits beside a day with `C` invoices (ids as text in both), and a day whose dates fit
/// both orders beside one that fits month-first only (month-first for both); a stray CSV beside
/// Parquet files is skipped.
#[test]
fn a_folder_of_daily_csv_exports_reads_as_one_dump() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("daily");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("day1.csv"), "customer_id,order_id,ts,amount\n1,536365,12/1/2010 8:26,10.5\n2,536366,12/1/2010 9:00,4\n").unwrap();
    std::fs::write(dir.join("day2.csv"), "customer_id,order_id,ts,amount\n1,C536367,12/13/2010 8:26,-2.5\n1,536368,12/13/2010 10:00,7.25\n").unwrap();
    let out = d.path().join("out");
    let (code, err) = run_small(&dir, &out, &["--as-of", "2010-12-14"]);
    assert_eq!(code, 0, "{err}");
    let c = read_parquet(&out.join("customers.parquet")).sort(["customer_id"], Default::default()).unwrap();
    // Customer 1: 10.5 on Dec 1, then 7.25 - 2.5 on Dec 13 (the return is its own order, net < 0).
    let first = c.column("first_purchase_at").unwrap().cast(&DataType::String).unwrap();
    assert!(first.str().unwrap().get(0).unwrap().starts_with("2010-12-01 08:26"), "{c}");
    assert_eq!(manifest(&out)["counts"]["lines_used"], 4);

    // Parquet files and a CSV export in one folder: the folder is Parquet; the CSV is skipped.
    let mixed = d.path().join("mixed");
    std::fs::create_dir(&mixed).unwrap();
    write_parquet(&mut good_frame(), &mixed.join("part-0.parquet"));
    std::fs::write(mixed.join("export.csv"), "customer_id,order_id,ts,amount\n9,9,2024-01-01,1\n").unwrap();
    let out = d.path().join("out-mixed");
    let (code, err) = run_small(&mixed, &out, &[]);
    assert_eq!(code, 0, "{err}");
    let m = manifest(&out);
    assert_eq!(m["input_skipped"]["text_beside_parquet"], 1, "{m}");
    assert_eq!(m["counts"]["lines_read"], 5);
}

/// Issue 30 (1): a semicolon-separated export with decimal commas (as spreadsheets in many
/// locales write it) reads its money as numbers; a two-digit year fits no layout but `%y`.
#[test]
fn semicolons_decimal_commas_and_two_digit_years() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("export.csv");
    std::fs::write(&p, "customer_id;order_id;ts;amount\n1;1;2024-01-02 10:00;2,55\n2;2;2024-01-03 10:00;10\n1;3;2024-01-04 10:00;1,45\n").unwrap();
    let out = d.path().join("out");
    let (code, err) = run_small(&p, &out, &[]);
    assert_eq!(code, 0, "{err}");
    let c = read_parquet(&out.join("customers.parquet"));
    let monetary = floats(&c.sort(["customer_id"], Default::default()).unwrap(), "monetary");
    assert_eq!(monetary, vec![4.0, 10.0]);

    let p = small_csv(d.path(), "short.csv", ["12/31/24 10:00", "1/2/24 10:00", "2/3/24 9:00", "3/4/24 8:00", "4/5/24 8:00"]);
    let (code, err) = run_small(&p, &d.path().join("out2"), &[]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("12/31/24 10:00") && err.contains("--ts-format"), "{err}");
    let (code, err) = run_small(&p, &d.path().join("out3"), &["--ts-format", "%m/%d/%y %H:%M"]);
    assert_eq!(code, 0, "{err}");
}

/// The ISO timestamp shapes the kernel reads, written from `us` microseconds since 1970 (UTC):
/// dates, minutes, seconds, 1 to 9 fraction digits, `Z` and offsets, `T` or a space.
fn iso_shapes(us: i64, k: u64) -> Vec<String> {
    let t = chrono::DateTime::from_timestamp_micros(us).unwrap().naive_utc();
    let frac = |n: usize| format!("{:09}", t.and_utc().timestamp_subsec_nanos())[..n].to_string();
    let off_min = (k % (24 * 60)) as i64 * if k % 2 == 0 { 1 } else { -1 };
    let local = t + chrono::Duration::minutes(off_min);
    let sign = if off_min < 0 { '-' } else { '+' };
    let (oh, om) = (off_min.abs() / 60, off_min.abs() % 60);
    vec![
        t.format("%Y-%m-%d").to_string(),
        t.format("%Y%m%d").to_string(),
        t.format("%Y-%m-%dT%H:%M").to_string(),
        t.format("%Y-%m-%d %H:%M").to_string(),
        t.format("%Y-%m-%dT%H:%M:%S").to_string(),
        t.format("%Y-%m-%d %H:%M:%S").to_string(),
        format!("{}.{}", t.format("%Y-%m-%dT%H:%M:%S"), frac(1 + (k % 9) as usize)),
        format!("{}.{}", t.format("%Y-%m-%d %H:%M:%S"), frac(6)),
        format!("{}Z", t.format("%Y-%m-%dT%H:%M:%S")),
        format!("{}.{}Z", t.format("%Y-%m-%dT%H:%M:%S"), frac(3)),
        format!("{}{sign}{oh:02}:{om:02}", local.format("%Y-%m-%dT%H:%M:%S")),
        format!("{}.{}{sign}{oh:02}{om:02}", local.format("%Y-%m-%dT%H:%M:%S"), frac(6)),
        format!("  {} ", t.format("%Y-%m-%dT%H:%M:%S")),
    ]
}

/// Issue 33 (noticed: reading a CSV dump took seconds per million lines): the ISO kernel reads
/// every value it reads exactly as the strptime layouts do (chrono through Polars, the reading it
/// replaces), reads every shape an export writes across the years 0001-9999, and leaves to the
/// layouts every value it does not read (impossible dates and times, leap seconds, other shapes).
#[test]
fn iso_kernel_reads_every_value_as_strptime_does() {
    use evergreen::kernels::iso_time::iso_micros;
    let mut strings: Vec<String> = Vec::new();
    let mut canonical = 0;
    // A fixed pseudo-random walk over 0001-01-02 .. 9999-12-30 (splitmix64).
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for k in 0..4000u64 {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let (lo, hi) = (-62_135_596_800_000_000i64 + 86_400_000_000, 253_402_300_799_999_999i64 - 86_400_000_000);
        let us = lo + (z % (hi - lo) as u64) as i64;
        let shapes = iso_shapes(us, k);
        canonical += shapes.len();
        strings.extend(shapes);
    }
    let edges = [
        "2024-02-29", "2023-02-29", "1900-02-29", "2000-02-29", "2024-04-31", "2024-13-01", "2024-00-10",
        "2024-01-00", "2024-01-32", "2024-01-01T24:00:00", "2024-01-01T23:60:00", "2024-06-30T23:59:60",
        "2024-01-01T12:00:00.", "2024-01-01T12:00:00.1234567891", "2024-01-01 12:00:00Z",
        "2024-01-01 12:00:00+02:00", "2024-01-01T12:00:00+24:00", "2024-01-01T12:00:00+02:60",
        "2024-01-01T12:00:00+02", "2024-01-01T12:00+02:00", "2024-01-01t12:00:00", "2024-01-01T12:00:00z",
        "2024-1-01", "24-01-01", "2024/01/01", "20240230", "202401011", "2024-01-01T1:00:00",
        "2024-01-01T12:00:00 ", "\t2024-01-01\n", "0000-01-01", "0001-01-01T00:00:00", "9999-12-31T23:59:59.999999",
        "1969-12-31T23:59:59.9999999", "1970-01-01T00:00:00.000001-00:01", "+2024-01-01", "2024-01-01T12:00:00.5Z ",
        "2024-01-01T12", "2024-01-01T12:0", "2024-01-01T12:00:0", "", " ", "2024-01-01T12:00:00+0530",
        "2024-01-01T12:00:00-23:59", "2024-01-01T12:00:00.000+00:00",
    ];
    strings.extend(edges.iter().map(|s| s.to_string()));
    let df = DataFrame::new_infer_height(vec![Column::new("ts".into(), &strings)]).unwrap();
    let reference = df.lazy().select([evergreen::input::strptime_micros("ts")]).collect().unwrap();
    let reference: Vec<Option<i64>> = reference.columns()[0].i64().unwrap().iter().collect();
    for (s, expected) in strings.iter().zip(&reference) {
        if let Some(us) = iso_micros(s.as_bytes()) {
            assert_eq!(Some(us), *expected, "{s:?}: the kernel reads {us}, strptime {expected:?}");
        }
    }
    let generated_read = strings[..canonical].iter().filter(|s| iso_micros(s.as_bytes()).is_some()).count();
    assert_eq!(generated_read, canonical, "the kernel reads every generated ISO shape");
    // The edge values the kernel reads (the rest go to the layouts).
    let kernel_reads: Vec<&str> = edges.iter().filter(|s| iso_micros(s.as_bytes()).is_some()).copied().collect();
    for must in ["2024-02-29", "2000-02-29", "0001-01-01T00:00:00", "9999-12-31T23:59:59.999999", "1969-12-31T23:59:59.9999999"] {
        assert!(kernel_reads.contains(&must), "{must} is read by the kernel: {kernel_reads:?}");
    }
    for never in ["2023-02-29", "1900-02-29", "2024-01-01T24:00:00", "2024-06-30T23:59:60", "2024-01-01 12:00:00Z"] {
        assert!(!kernel_reads.contains(&never), "{never} is left to the layouts");
    }
}
