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

#[test]
fn issue15_config_paths_are_relative_to_the_config_file_and_dates_may_be_toml_dates() {
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

#[test]
fn issue15_an_off_variable_switches_a_config_true_off() {
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
    for off in ["false"] {
        let o = run("b", Some(off));
        assert!(o.status.success(), "EVERGREEN_CLV={off}: {}", String::from_utf8_lossy(&o.stderr));
        assert!(!d.path().join("b/clv.parquet").exists());
    }
}

#[test]
fn issue15_json_success_line_carries_structured_fields() {
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
