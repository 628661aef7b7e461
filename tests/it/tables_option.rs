//! Issue 29: `--tables LIST` computes and writes only the named tables and the facts they need.
//! Every table written is the same, byte for byte, as the full run's; a query's table brings the
//! tables it reads; a name that is no table of the job is exit 2 naming the job's tables.

use std::path::Path;

use super::common::{bin, manifest};

fn sample() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data-samples/transactions.parquet")
}

fn run(out: &Path, extra: &[&str]) -> std::process::Output {
    bin().arg("run").arg("-i").arg(sample()).arg("-o").arg(out).arg("-q").args(extra).output().unwrap()
}

fn parquet_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".parquet"))
        .collect();
    v.sort();
    v
}

/// Issue 29: the customer tables alone (with the CLV models, a query's table, the activity
/// tables, the pair tables) are the full run's tables, and the run computes no fact it does not need.
#[test]
fn tables_writes_only_the_named_tables_each_equal_to_the_full_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let full = tmp.path().join("full");
    assert!(run(&full, &["--clv"]).status.success());
    let cases: [(&str, &[&str], &[&str]); 4] = [
        // (list, files expected, timings that must be absent)
        (
            "customers,score_bins,monetary_deciles,purchase_deciles",
            &["customers.parquet", "monetary_deciles.parquet", "purchase_deciles.parquet", "score_bins.parquet"],
            &["item_and_pair_facts", "basket_tables", "activity_tables", "day_totals"],
        ),
        ("top_customers", &["top_customers.parquet"], &["item_and_pair_facts", "basket_tables"]),
        ("kpis,cohorts", &["cohorts.parquet", "kpis.parquet"], &["clv_tables", "item_and_pair_facts", "customer_tables"]),
        ("top_pairs", &["top_pairs.parquet"], &["clv_tables", "customer_facts", "activity_tables"]),
    ];
    for (list, files, absent) in cases {
        let out = tmp.path().join(list.replace(',', "_"));
        let o = run(&out, &["--clv", "--tables", list]);
        assert!(o.status.success(), "{list}: {}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(parquet_files(&out), files.iter().map(|f| f.to_string()).collect::<Vec<_>>(), "{list}");
        for f in files {
            assert_eq!(std::fs::read(out.join(f)).unwrap(), std::fs::read(full.join(f)).unwrap(), "{list}: {f} differs from the full run's");
        }
        let m = manifest(&out);
        for stage in absent {
            assert!(m["timings"].get(stage).is_none(), "{list}: computed {stage}");
        }
        assert_eq!(m["config"]["tables"], serde_json::json!(list.split(',').collect::<Vec<_>>()));
    }
    // A run without --tables records no `tables` key (manifests of earlier runs unchanged).
    assert!(manifest(&full)["config"].get("tables").is_none());
}

/// Issue 29: an unknown name, or a table of another job, is refused before any data is read.
#[test]
fn tables_refuses_a_name_that_is_no_table_of_the_job() {
    let tmp = tempfile::tempdir().unwrap();
    let o = run(&tmp.path().join("a"), &["--tables", "customers,nope"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("`nope` is not a table of `run`") && err.contains("score_bins"), "{err}");
    let o = bin()
        .args(["basket", "-i"])
        .arg(sample())
        .arg("-o")
        .arg(tmp.path().join("b"))
        .args(["--tables", "customers"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("its tables: products, basket_pairs, top_pairs"));
    assert!(!tmp.path().join("a").exists() && !tmp.path().join("b").exists());
}
