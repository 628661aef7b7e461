//! Earlier outputs read back as snapshots (issue 14): `evergreen compare` and `run --compare-with`.
//! A snapshot is an output folder evergreen wrote (its `_manifest.json`, `_SUCCESS` and
//! `customers.parquet`), or a root of `as_of=YYYY-MM-DD` partitions, of which the latest complete
//! one (before a given date, for `run --compare-with`) is taken.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use polars::prelude::*;
use serde_json::Value;

use crate::error::{one_line, Error, Result};
use crate::output::{MANIFEST, SUCCESS};

/// What two snapshots must share to be compared: the settings that decide segments and deciles.
#[derive(Debug, Clone, PartialEq)]
pub struct Basis {
    pub bins: u64,
    pub scoring: String,
    pub money_decimals: u64,
    /// BLAKE3 of the segment query the run used (`None` in outputs of earlier versions).
    pub segments: Option<String>,
}

/// One snapshot: where it is, its as-of date, what it was made with, and its customers.
pub struct Snapshot {
    pub dir: PathBuf,
    pub as_of: NaiveDate,
    pub basis: Basis,
    pub customers: DataFrame,
}

fn bad(dir: &Path, why: impl std::fmt::Display) -> Error {
    Error::Unreadable { file: dir.to_path_buf(), reason: format!("not a snapshot: {why}") }
}

/// The folder of the snapshot `dir` names: itself when it is an output, else its latest complete
/// `as_of=` partition (before `before`, when given).
pub fn resolve(dir: &Path, before: Option<NaiveDate>) -> Result<PathBuf> {
    if !dir.exists() {
        return Err(Error::NoInput { path: dir.display().to_string() });
    }
    if dir.join(MANIFEST).is_file() {
        return Ok(dir.to_path_buf());
    }
    match partition_before(dir, before)? {
        Some(p) => Ok(p),
        None => Err(bad(
            dir,
            match before {
                Some(b) => format!("no _manifest.json, and no complete as_of= partition before {b}"),
                None => "no _manifest.json and no complete as_of= partition".to_string(),
            },
        )),
    }
}

/// The latest complete `as_of=` partition of the root `dir` before `before` (any, without it).
pub fn partition_before(dir: &Path, before: Option<NaiveDate>) -> Result<Option<PathBuf>> {
    std::fs::read_dir(dir).map_err(|e| bad(dir, e))?;
    let mut dates = crate::output::complete_partitions(dir);
    dates.retain(|(d, _)| before.is_none_or(|b| *d < b));
    Ok(dates.pop().map(|(_, p)| p))
}

/// The basis recorded in the manifest of the snapshot `dir`; a field missing is an error naming it.
pub fn basis_of(dir: &Path, manifest: &Value) -> Result<Basis> {
    let cfg = &manifest["config"];
    let missing = |field: &str| bad(dir, format!("its {MANIFEST} has no {field}"));
    Ok(Basis {
        bins: cfg["bins"].as_u64().ok_or_else(|| missing("config.bins"))?,
        scoring: cfg["scoring"].as_str().ok_or_else(|| missing("config.scoring"))?.to_string(),
        money_decimals: cfg["money_decimals"].as_u64().ok_or_else(|| missing("config.money_decimals"))?,
        segments: manifest["segments"]["blake3"].as_str().map(str::to_string),
    })
}

/// The manifest of the complete evergreen output `dir` (a folder [`resolve`] gave).
pub fn manifest(dir: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(dir.join(MANIFEST)).map_err(|e| bad(dir, format!("{MANIFEST}: {e}")))?;
    let manifest: Value = serde_json::from_str(&text).map_err(|e| bad(dir, format!("{MANIFEST}: {e}")))?;
    if manifest["tool"].as_str() != Some(crate::output::TOOL) || !dir.join(SUCCESS).is_file() {
        return Err(bad(dir, "not a complete evergreen output (no tool in the manifest, or no _SUCCESS)"));
    }
    Ok(manifest)
}

/// Read the snapshot in `dir` (a folder [`resolve`] gave).
pub fn load(dir: &Path) -> Result<Snapshot> {
    let manifest = manifest(dir)?;
    let as_of = manifest["as_of"]
        .as_str()
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .ok_or_else(|| bad(dir, "the manifest has no as_of"))?;
    let path = dir.join("customers.parquet");
    if !path.is_file() {
        return Err(bad(dir, "no customers.parquet (made by `run`? basket, clv and patterns outputs have none)"));
    }
    let customers = LazyFrame::scan_parquet(PlRefPath::new(path.to_string_lossy().to_string()), Default::default())
        .and_then(|lf| lf.select([col("customer_id"), col("segment"), col("monetary_decile"), col("monetary")]).collect())
        .map_err(|e| Error::Unreadable { file: path.clone(), reason: one_line(&e.to_string()) })?;
    Ok(Snapshot { dir: dir.to_path_buf(), as_of, basis: basis_of(dir, &manifest)?, customers })
}

/// Rule "comparable snapshots": the earlier one is strictly earlier, and both were made with the
/// same bins, scoring method, money decimals and segment map; else a one-line error naming the
/// difference (exit 2).
pub fn check_comparable(from: (&Path, NaiveDate, &Basis), to: (&Path, NaiveDate, &Basis)) -> Result<()> {
    let (fd, fa, fb) = from;
    let (td, ta, tb) = to;
    check_basis((fd, fb), (td, tb))?;
    if fa >= ta {
        return Err(Error::Config(format!(
            "compare: the earlier snapshot {} (as_of {fa}) is not before {} (as_of {ta})",
            fd.display(),
            td.display()
        )));
    }
    Ok(())
}

/// The settings half of [`check_comparable`] (bins, scoring, money decimals, segment map), which
/// `run --compare-with` checks before reading any data.
pub fn check_basis(from: (&Path, &Basis), to: (&Path, &Basis)) -> Result<()> {
    let (fd, fb) = from;
    let (td, tb) = to;
    let differ = |what: &str, a: &dyn std::fmt::Display, b: &dyn std::fmt::Display| {
        Error::Config(format!(
            "compare: {} was made with {what} {a} and {} with {what} {b}; segments and deciles are comparable only when it is the same",
            fd.display(),
            td.display()
        ))
    };
    if fb.bins != tb.bins {
        return Err(differ("bins", &fb.bins, &tb.bins));
    }
    if fb.scoring != tb.scoring {
        return Err(differ("scoring", &fb.scoring, &tb.scoring));
    }
    if fb.money_decimals != tb.money_decimals {
        return Err(differ("money_decimals", &fb.money_decimals, &tb.money_decimals));
    }
    if fb.segments != tb.segments {
        let show = |s: &Option<String>| match s {
            Some(h) => format!("the segment map {}", h.chars().take(12).collect::<String>()),
            None => "an unrecorded segment map (an output of an earlier evergreen)".to_string(),
        };
        return Err(Error::Config(format!(
            "compare: {} was made with {} and {} with {}; segments are comparable only under one segment map",
            fd.display(),
            show(&fb.segments),
            td.display(),
            show(&tb.segments)
        )));
    }
    Ok(())
}
