//! Two snapshots compared: `evergreen compare`, and `run --compare-with` (the earlier snapshot
//! found and checked before the data is read, the migration tables added after the segments).

use std::collections::BTreeMap;
use std::path::PathBuf;

use polars::prelude::*;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::output::{self, Staging, MANIFEST};
use crate::snapshot;
use crate::tables::snapshots;

use super::manifest::{with_as_of, CompareManifest, SegmentsUsed, TableInfo};
use super::output_tables;

/// `run --compare-with DIR`, before the data is read: an output folder is loaded and its settings
/// checked; a root of as_of partitions is read once this run's as-of is known.
pub(super) enum Earlier {
    Loaded(snapshot::Snapshot),
    /// A partition root; `None` when it does not exist yet (the run's own `--out` root, before its
    /// first partition).
    Root(Option<PathBuf>),
}

impl Earlier {
    fn basis(cfg: &Config, used: &SegmentsUsed) -> snapshot::Basis {
        snapshot::Basis {
            bins: u64::from(cfg.scores.bins),
            scoring: serde_json::to_value(cfg.scores.scoring).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
            money_decimals: u64::from(cfg.output.money_decimals),
            segments: Some(used.blake3.clone()),
        }
    }

    pub(super) fn prepare(cfg: &Config, dir: &std::path::Path, used: &SegmentsUsed) -> Result<Earlier> {
        if !dir.exists() {
            // The scheduled form `run --partition-by-as-of --out ROOT --compare-with ROOT` on its
            // first run: nothing to compare with yet.
            if cfg.output.partition_by_as_of && dir == cfg.out {
                return Ok(Earlier::Root(None));
            }
            return Err(Error::NoInput { path: dir.display().to_string() });
        }
        if dir.join(MANIFEST).is_file() {
            let prev = snapshot::load(dir)?;
            snapshot::check_basis((&prev.dir, &prev.basis), (&cfg.out, &Self::basis(cfg, used)))?;
            return Ok(Earlier::Loaded(prev));
        }
        if !dir.is_dir() {
            return Err(Error::Unreadable { file: dir.to_path_buf(), reason: "not a snapshot: not a folder".into() });
        }
        Ok(Earlier::Root(Some(dir.to_path_buf())))
    }

    /// Add segment_migration and decile_migration against the earlier snapshot; the folder
    /// compared with, or `None` (with a warning) when a partition root has no partition before
    /// `as_of` yet.
    pub(super) fn migrate(
        self,
        cfg: &Config,
        as_of: chrono::NaiveDate,
        used: &SegmentsUsed,
        tables: &mut Vec<(String, DataFrame)>,
    ) -> Result<Option<String>> {
        let prev = match self {
            Earlier::Loaded(prev) => prev,
            Earlier::Root(root) => {
                let found = root.as_deref().map(|r| snapshot::partition_before(r, Some(as_of))).transpose()?.flatten();
                let Some(dir) = found else {
                    tracing::warn!(
                        "--compare-with {}: no complete as_of partition before {as_of} yet; segment_migration and decile_migration are left out of this run",
                        cfg.compare_with.as_deref().unwrap_or(std::path::Path::new("")).display()
                    );
                    return Ok(None);
                };
                snapshot::load(&dir)?
            }
        };
        let this = if cfg.output.partition_by_as_of { cfg.out.join(format!("as_of={as_of}")) } else { cfg.out.clone() };
        snapshot::check_comparable((&prev.dir, prev.as_of, &prev.basis), (&this, as_of, &Self::basis(cfg, used)))?;
        let current = &tables.iter().find(|(n, _)| n == "customers").ok_or_else(|| Error::Internal("no customers table".into()))?.1;
        let made = snapshots::tables(&prev.customers, current, prev.as_of, as_of, cfg.output.money_decimals)?;
        tables.extend(made);
        Ok(Some(prev.dir.display().to_string()))
    }
}

/// `evergreen compare`: segment_migration and decile_migration of two snapshots, written into
/// `out` atomically with their manifest.
pub fn compare(
    from: &std::path::Path,
    to: &std::path::Path,
    out: &std::path::Path,
    lock_timeout: std::time::Duration,
    arguments: Vec<String>,
) -> Result<CompareManifest> {
    let (a, b) = (snapshot::load(&snapshot::resolve(from, None)?)?, snapshot::load(&snapshot::resolve(to, None)?)?);
    snapshot::check_comparable((&a.dir, a.as_of, &a.basis), (&b.dir, b.as_of, &b.basis))?;
    let decimals = u32::try_from(a.basis.money_decimals).unwrap_or(2);
    output::check_not_input(out, &[from.display().to_string(), to.display().to_string()], &[], &output_tables())?;
    // Only into an empty folder or an earlier compare output: never over a run's tables.
    if let Ok(text) = std::fs::read_to_string(out.join(MANIFEST)) {
        let m: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        if m.get("from").is_none() || m.get("to").is_none() {
            return Err(Error::Output {
                path: out.to_path_buf(),
                reason: "holds an evergreen output that `compare` did not write (a run's tables); choose another --out".into(),
            });
        }
    }
    let staging = Staging::new(out, lock_timeout)?;
    let mut tables = BTreeMap::new();
    for (name, mut df) in snapshots::tables(&a.customers, &b.customers, a.as_of, b.as_of, decimals)? {
        with_as_of(&mut df, b.as_of)?;
        let (file, blake3) = staging.write_table(&name, &mut df)?;
        tables.insert(name, TableInfo { file, rows: df.height() as u64, blake3 });
    }
    let manifest = CompareManifest {
        tool: output::TOOL,
        version: env!("CARGO_PKG_VERSION"),
        files: tables.values().map(|t| t.file.clone()).collect(),
        arguments,
        from: a.dir.display().to_string(),
        to: b.dir.display().to_string(),
        from_as_of: a.as_of.to_string(),
        to_as_of: b.as_of.to_string(),
        tables,
    };
    let json = serde_json::to_string_pretty(&manifest).map_err(|e| Error::Internal(e.to_string()))?;
    staging.write_text(MANIFEST, &json)?;
    staging.commit()?;
    Ok(manifest)
}

