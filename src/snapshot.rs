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
        return Err(Error::NotADump {
            file: dir.to_path_buf(),
            reason: "no such snapshot: the folder does not exist (give an earlier run's --out, or a root of as_of= partitions)".into(),
        });
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
        bins: cfg["bins"].as_u64().ok_or_else(|| missing("config.scores.bins"))?,
        scoring: cfg["scoring"].as_str().ok_or_else(|| missing("config.scores.scoring"))?.to_string(),
        money_decimals: cfg["money_decimals"].as_u64().ok_or_else(|| missing("config.output.money_decimals"))?,
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

/// How many times [`read_consistent`] reads a folder that keeps changing before it gives up.
const TRIES: u32 = 5;

/// One table of a [`ConsistentSnapshot`]: its name, its file, and its bytes (read whole into
/// memory, never mapped: a file a run replaces or truncates meanwhile cannot change them).
pub struct TableBytes {
    pub name: String,
    pub file: PathBuf,
    pub bytes: polars_buffer::Buffer<u8>,
}

impl TableBytes {
    /// The table as a lazy frame over the bytes in memory (projections and filters still pushed
    /// down into the Parquet reader).
    pub fn lazy(&self) -> Result<LazyFrame> {
        let sources = ScanSources::Buffers(std::sync::Arc::from([self.bytes.clone()]));
        // No hive partitioning (the bytes have no path; Polars would refuse to look for one).
        let args = ScanArgsParquet {
            hive_options: HiveOptions::new_disabled(),
            ..Default::default()
        };
        LazyFrame::scan_parquet_sources(sources, args)
            .map_err(|e| Error::Unreadable { file: self.file.clone(), reason: one_line(&e.to_string()) })
    }

    /// The whole table.
    pub fn frame(&self) -> Result<DataFrame> {
        self.lazy()?
            .collect()
            .map_err(|e| Error::Unreadable { file: self.file.clone(), reason: one_line(&e.to_string()) })
    }
}

/// A snapshot read whole (issue 26, item 4): a manifest and every table it lists, each file's
/// bytes checked against the manifest's BLAKE3, so all of them are of one run.
pub struct ConsistentSnapshot {
    /// The folder read (the latest complete partition, for a root of them).
    pub dir: PathBuf,
    pub manifest: Value,
    /// The manifest's tables, in its order.
    pub tables: Vec<TableBytes>,
    /// Files the manifest lists that are not there (removed by hand: no run was replacing the
    /// folder, whose manifest stayed the same).
    pub missing: Vec<PathBuf>,
}

impl ConsistentSnapshot {
    pub fn table(&self, name: &str) -> Option<&TableBytes> {
        self.tables.iter().find(|t| t.name == name)
    }
}

/// Why one read of a folder was not a consistent snapshot.
enum Attempt {
    /// A run replaced (part of) it meanwhile: worth reading again.
    Raced(String),
    /// It is not a complete output (no manifest, no `_SUCCESS`): an error, unless an earlier read
    /// saw a run replacing it.
    NotOutput(Error),
}

/// Read the snapshot `dir` names (an output folder, or a root of `as_of=` partitions: its latest
/// complete one) whole and consistent: the manifest, then every table it lists, read fully into
/// memory, each file's BLAKE3 compared with the manifest's `blake3` for it. A file missing or
/// differing while the manifest changed too means a run replaced the folder meanwhile: it is read
/// again from the manifest, up to 5 times with a short pause, then exit 5 naming the folder (a
/// file missing or edited under an unchanged manifest is no race: taken as it is). A folder that is
/// not a complete output is exit 3 as before.
pub fn read_consistent(dir: &Path) -> Result<ConsistentSnapshot> {
    read_snapshot(dir, &|_| true, true)
}

/// The tables `keep` accepts of one run's snapshot (the others are neither read nor in the result),
/// for `report` and `query`: read like [`read_consistent`], but instead of hashing every file the
/// manifest is read again after the tables. Every run writes a new manifest (its timings differ),
/// and a run swaps the whole folder in one step, so an unchanged manifest means every table read
/// was that manifest's run's (and were it ever another run's with the same bytes, its hashes, and so
/// its tables, would be the same). This saves BLAKE3 over tens of MB on every report.
pub fn read_consistent_only(dir: &Path, keep: &dyn Fn(&str) -> bool) -> Result<ConsistentSnapshot> {
    read_snapshot(dir, keep, false)
}

fn read_snapshot(dir: &Path, keep: &dyn Fn(&str) -> bool, hashes: bool) -> Result<ConsistentSnapshot> {
    let mut raced: Option<String> = None;
    for attempt in 0..TRIES {
        if attempt > 0 {
            std::thread::sleep(std::time::Duration::from_millis(50 * u64::from(attempt)));
        }
        let folder = match resolve(dir, None) {
            Ok(f) => f,
            Err(e) if raced.is_none() => return Err(e),
            Err(e) => {
                raced = Some(one_line(&e.to_string()));
                continue;
            }
        };
        match read_once(&folder, keep, hashes) {
            Ok(s) => return Ok(s),
            Err(Attempt::Raced(why)) => {
                tracing::debug!("{}: a run replaced it while it was read ({why}); reading it again", folder.display());
                raced = Some(why)
            }
            Err(Attempt::NotOutput(e)) if raced.is_none() => return Err(e),
            Err(Attempt::NotOutput(e)) => raced = Some(one_line(&e.to_string())),
        }
    }
    Err(Error::Output {
        path: dir.to_path_buf(),
        reason: format!(
            "another evergreen run kept replacing it while it was read ({TRIES} tries, the last: {}); nothing was read from it: try again when the run has finished",
            raced.unwrap_or_default()
        ),
    })
}

fn read_once(folder: &Path, keep: &dyn Fn(&str) -> bool, hashes: bool) -> std::result::Result<ConsistentSnapshot, Attempt> {
    let path = folder.join(MANIFEST);
    let first = std::fs::read(&path).map_err(|e| Attempt::NotOutput(bad(folder, format!("{MANIFEST}: {e}"))))?;
    let manifest: Value =
        serde_json::from_slice(&first).map_err(|e| Attempt::NotOutput(bad(folder, format!("{MANIFEST}: {e}"))))?;
    if manifest["tool"].as_str() != Some(crate::output::TOOL) || !folder.join(SUCCESS).is_file() {
        return Err(Attempt::NotOutput(bad(
            folder,
            "not a complete evergreen output (no tool in the manifest, or no _SUCCESS)",
        )));
    }
    // Test hook of the race tests: widen the window between the manifest and the tables.
    if let Some(ms) = std::env::var("EVERGREEN_TEST_PAUSE_AFTER_MANIFEST_MS").ok().and_then(|v| v.parse().ok()) {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
    let mut tables = Vec::new();
    let (mut missing, mut changed) = (Vec::new(), Vec::new());
    let listed: Vec<(&String, &Value)> =
        manifest["tables"].as_object().map(|m| m.iter().filter(|(n, _)| keep(n)).collect()).unwrap_or_default();
    // Each table read and hashed on its own thread (the largest one sets the time).
    let read: Vec<(PathBuf, std::io::Result<(Vec<u8>, bool)>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = listed
            .iter()
            .map(|(_, info)| {
                let file = folder.join(info["file"].as_str().unwrap_or_default());
                let want = info["blake3"].as_str();
                scope.spawn(move || {
                    let r = std::fs::read(&file).map(|bytes| {
                        let same = !hashes || want.is_some_and(|w| blake3::hash(&bytes).to_hex().as_str() == w);
                        (bytes, same)
                    });
                    (file, r)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a table read does not panic")).collect()
    });
    for ((name, _), (file, r)) in listed.iter().zip(read) {
        let (bytes, same) = match r {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                missing.push(file);
                continue;
            }
            Err(e) => return Err(Attempt::NotOutput(Error::Unreadable { file, reason: e.to_string() })),
        };
        if !same {
            changed.push(file.clone());
        }
        tables.push(TableBytes { name: (*name).clone(), file, bytes: polars_buffer::Buffer::from(bytes) });
    }
    // Without hashes every read is proved by the manifest read again; with them, only a file
    // missing or other than its manifest says. A manifest that changed meanwhile means a run swapped
    // the folder (every run writes a new one). When it did not, missing or edited files were removed
    // or edited by something else than a run: they are taken as they are (a missing one is in
    // `missing`).
    let suspect = missing.first().or(changed.first());
    if (!hashes || suspect.is_some()) && std::fs::read(&path).ok().as_deref() != Some(first.as_slice()) {
        return Err(Attempt::Raced(match suspect {
            Some(f) => format!("{} is not the file its manifest lists", f.display()),
            None => format!("{MANIFEST} changed while the tables were read"),
        }));
    }
    Ok(ConsistentSnapshot { dir: folder.to_path_buf(), manifest, tables, missing })
}

/// The tables of one folder that the query `sql` can name: an evergreen output's, read whole and consistent
/// ([`read_consistent`]: never a mix of two runs), else its `*.parquet` files, each read whole
/// into memory (never mapped: a file replaced or truncated meanwhile cannot fail the query).
pub fn folder_tables(dir: &Path, sql: &str) -> Result<Vec<(String, LazyFrame)>> {
    // Only the tables the SQL can name: every word of it, lower-cased (a superset of the tables
    // it reads; the others are not read at all).
    let words: std::collections::HashSet<String> = sql
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    // A query that names none of them (`SELECT 1`, a misspelt name) gets them all, as before.
    let names_some = crate::queries::parquet_files(dir)?.iter().any(|(n, _)| words.contains(&n.to_lowercase()));
    let keep = |name: &str| !names_some || words.contains(&name.to_lowercase());
    if dir.join(MANIFEST).is_file() && dir.join(SUCCESS).is_file() {
        let snap = read_consistent_only(dir, &keep)?;
        return snap.tables.iter().map(|t| Ok((t.name.clone(), t.lazy()?))).collect();
    }
    crate::queries::parquet_files(dir)?
        .into_iter()
        .filter(|(name, _)| keep(name))
        .map(|(name, p)| {
            let bytes = std::fs::read(&p).map_err(|e| Error::Unreadable { file: p.clone(), reason: e.to_string() })?;
            Ok((name, TableBytes { name: String::new(), file: p, bytes: bytes.into() }.lazy()?))
        })
        .collect()
}
