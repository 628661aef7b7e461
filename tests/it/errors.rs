//! Bad input: a one-line error naming file and column, a documented exit code, and no output.

use crate::common::*;

fn write_sample() -> (tempfile::TempDir, std::path::PathBuf) {
    dump(&[line(Some(1), 1, "2024-01-05 10:00", 10.0), line(Some(2), 2, "2024-01-06 10:00", 20.0)])
}

/// Run the binary; returns (exit code, stderr).
fn run_cli(args: &[&str]) -> (i32, String) {
    let out = bin().args(args).env_remove("EVERGREEN_INPUT").env_remove("EVERGREEN_OUT").output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).to_string())
}

#[test]
fn a_good_run_writes_every_table_manifest_and_success() {
    let (d, p) = write_sample();
    let out = d.path().join("out");
    let (code, err) = run_cli(&["run", "--input", p.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    for f in [
        "customers.parquet",
        "score_bins.parquet",
        "monetary_deciles.parquet",
        "purchase_deciles.parquet",
        "_manifest.json",
        "_SUCCESS",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let m: serde_json::Value = manifest(&out);
    assert_eq!(m["as_of"], "2024-01-07");
    assert_eq!(m["counts"]["lines_read"], 2);
    assert_eq!(m["tables"]["customers"]["rows"], 2);
}

#[test]
fn missing_column_names_file_and_column_and_leaves_previous_output() {
    let (d, p) = write_sample();
    let out = d.path().join("out");
    let (code, _) = run_cli(&["run", "--input", p.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0);
    let before = std::fs::read(out.join("customers.parquet")).unwrap();
    let (code, err) = run_cli(&[
        "run",
        "--input",
        p.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--customer-col",
        "CustomerID",
    ]);
    assert_eq!(code, 4);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains("dump.parquet") && err.contains("`CustomerID`") && err.contains("found columns"), "{err}");
    assert_eq!(std::fs::read(out.join("customers.parquet")).unwrap(), before, "previous output untouched");
    let leftovers: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "no temporary folder left behind");
}

#[test]
fn wrong_type_is_named() {
    let (d, p) = write_sample();
    let out = d.path().join("out");
    let (code, err) =
        run_cli(&["run", "--input", p.to_str().unwrap(), "--out", out.to_str().unwrap(), "--ts-col", "amount"]);
    assert_eq!(code, 4);
    assert!(
        err.contains("`amount` (timestamp)") && err.contains("expected a timestamp") && err.contains("found f64"),
        "{err}"
    );
    assert!(!out.exists(), "nothing written");
}

#[test]
fn no_matching_file_is_exit_3() {
    let d = tempfile::tempdir().unwrap();
    let pat = format!("{}/nothing-*.parquet", d.path().display());
    let (code, err) = run_cli(&["run", "--input", &pat, "--out", d.path().join("out").to_str().unwrap()]);
    assert_eq!(code, 3);
    assert!(err.contains("no Parquet file matches"), "{err}");
}

#[test]
fn corrupt_parquet_is_exit_3() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("bad.parquet");
    std::fs::write(&p, b"PAR1 this is not parquet").unwrap();
    let (code, err) =
        run_cli(&["run", "--input", p.to_str().unwrap(), "--out", d.path().join("out").to_str().unwrap()]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("bad.parquet"), "{err}");
}

#[test]
fn unparseable_timestamp_string_is_named() {
    use polars::prelude::*;
    let mut df = df!("customer_id" => [1i64, 2], "order_id" => [1i64, 2], "ts" => ["2024-01-01", "yesterday"], "amount" => [1.0, 2.0]).unwrap();
    let (d, p) = dump_frame(&mut df);
    let (code, err) =
        run_cli(&["run", "--input", p.to_str().unwrap(), "--out", d.path().join("out").to_str().unwrap()]);
    assert_eq!(code, 4);
    assert!(err.contains("`ts`") && err.contains("yesterday"), "{err}");
}

#[test]
fn bad_flags_are_exit_2() {
    let (code, _) = run_cli(&["run", "--input", "x.parquet", "--out", "o", "--bins", "12"]);
    assert_eq!(code, 2);
    let (code, err) = run_cli(&["run", "--input", "x.parquet", "--out", "o", "--as-of", "2024-13-01"]);
    assert_eq!(code, 2);
    assert!(err.contains("YYYY-MM-DD"), "{err}");
}

#[test]
fn unknown_config_keys_are_an_error() {
    let (d, p) = write_sample();
    let cfg = d.path().join("e.toml");
    std::fs::write(&cfg, "binz = 4\n").unwrap();
    let (code, err) = run_cli(&[
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--input",
        p.to_str().unwrap(),
        "--out",
        d.path().join("o").to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("binz"), "{err}");
}

#[test]
fn out_that_is_a_file_or_a_foreign_folder_is_refused() {
    let (d, p) = write_sample();
    let f = d.path().join("file");
    std::fs::write(&f, "keep me").unwrap();
    let (code, _) = run_cli(&["run", "--input", p.to_str().unwrap(), "--out", f.to_str().unwrap()]);
    assert_eq!(code, 5);
    let foreign = d.path().join("docs");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "keep me").unwrap();
    let (code, err) = run_cli(&["run", "--input", p.to_str().unwrap(), "--out", foreign.to_str().unwrap()]);
    assert_eq!(code, 5, "{err}");
    assert_eq!(std::fs::read_to_string(foreign.join("notes.txt")).unwrap(), "keep me");
}

#[test]
fn as_of_before_all_data_is_an_empty_input_error() {
    let (d, p) = write_sample();
    let out = d.path().join("out");
    let (code, err) =
        run_cli(&["run", "--input", p.to_str().unwrap(), "--out", out.to_str().unwrap(), "--as-of", "2020-01-01"]);
    assert_eq!(code, 4);
    assert!(err.contains("no line left") && err.contains("2 future"), "{err}");
    assert!(!out.exists());
}

#[test]
fn flags_override_the_config_file_and_env() {
    let (d, p) = write_sample();
    let cfg = d.path().join("c.toml");
    let map = any_segment_map(d.path(), 3);
    std::fs::write(
        &cfg,
        format!(
            "bins = 3\nas_of = \"2024-01-10\"\nsegment_map = {:?}\n[columns]\ncustomer = \"nope\"\n",
            map.display().to_string()
        ),
    )
    .unwrap();
    let out = d.path().join("out");
    let st = bin()
        .args([
            "run",
            "--config",
            cfg.to_str().unwrap(),
            "--input",
            p.to_str().unwrap(),
            "--customer-col",
            "customer_id",
        ])
        .env("EVERGREEN_OUT", out.to_str().unwrap())
        .output()
        .unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    let m: serde_json::Value = manifest(&out);
    assert_eq!(m["config"]["bins"], 3, "from the file");
    assert_eq!(m["as_of"], "2024-01-10", "from the file");
    assert_eq!(m["config"]["columns"]["customer"]["name"], "customer_id", "the flag wins");
}
