//! What a run and a compare record: `_manifest.json`'s fields, the as_of column every table
//! carries, the money reconciliation and the segment query's digest.

use std::collections::BTreeMap;
use std::path::PathBuf;

use polars::prelude::*;
use serde::Serialize;

use crate::config::Config;
use crate::engine::EngineReport;
use crate::error::Result;
use crate::facts::Counts;
use crate::input;
use crate::queries;
use crate::tables::basket::BasketStats;
use crate::tables::clv;
use crate::tables::patterns::PatternStats;

/// Per table: its file and row count, for the manifest.
#[derive(Debug, Clone, Serialize)]
pub struct TableInfo {
    pub file: String,
    pub rows: u64,
    /// BLAKE3 of the file's bytes: equal inputs and arguments give equal hashes.
    pub blake3: String,
}

/// Rule "as_of in every table" (issue 15): a table without an `as_of` column gets one, last, the
/// run's analysis date (a table that has one, such as kpis, keeps it), so a table read on its own
/// still says which date it describes.
pub fn with_as_of(df: &mut DataFrame, as_of: chrono::NaiveDate) -> Result<()> {
    if df.column("as_of").is_ok() {
        return Ok(());
    }
    let days = crate::exprs::epoch_days(as_of) as i32;
    let c = Column::new_scalar("as_of".into(), Scalar::new(DataType::Int32, AnyValue::Int32(days)), df.height())
        .cast(&DataType::Date)?;
    df.with_column(c)?;
    Ok(())
}

/// What `_manifest.json` holds.
#[derive(Debug, Serialize)]
pub struct Manifest {
    /// The folder the tables landed in (`--out`, or its `as_of=` partition).
    #[serde(skip)]
    pub out: PathBuf,
    /// Always `evergreen`: with `files`, the proof that a folder may be replaced by a later run.
    pub tool: &'static str,
    pub version: &'static str,
    /// Every file of the output besides `_manifest.json` and `_SUCCESS`.
    pub files: Vec<String>,
    pub arguments: Vec<String>,
    pub config: Config,
    pub as_of: Option<String>,
    pub input_files: Vec<String>,
    /// `--state`: whether the run was incremental (and why not), what it read, the state's size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<super::state::StateReport>,
    /// Input entries not read: duplicates of a file already read, symlink loops, non-regular files.
    pub input_skipped: input::Skipped,
    pub counts: Counts,
    /// The engine that computed the facts, its memory limit, partitions and spilled bytes.
    pub engine: EngineReport,
    /// Pair-counting facts (threshold, items kept, orders skipped as too large…).
    pub basket: Option<BasketStats>,
    /// The CLV models' fit: parameters, log-likelihood, iterations, convergence, the holdout check.
    pub clv: Option<clv::Report>,
    /// Itemsets and sequences: thresholds, itemsets per size, rules, sequence rows, peak memory.
    pub patterns: Option<PatternStats>,
    /// The segment query the run used (its BLAKE3: `compare` refuses snapshots of two maps).
    pub segments: Option<SegmentsUsed>,
    /// `--compare-with`: the snapshot the migration tables compare against.
    pub compared_with: Option<String>,
    pub tables: BTreeMap<String, TableInfo>,
    /// Seconds per stage.
    pub timings: BTreeMap<String, f64>,
    /// Peak resident memory of the run in bytes (Linux).
    pub peak_memory_bytes: Option<u64>,
}

/// Where the run's segment query came from, and the BLAKE3 of its text.
#[derive(Debug, Clone, Serialize)]
pub struct SegmentsUsed {
    pub origin: String,
    pub blake3: String,
}

/// What the `_manifest.json` of `evergreen compare` holds.
#[derive(Debug, Serialize)]
pub struct CompareManifest {
    /// Always `evergreen`: with `files`, the proof that a folder may be replaced by a later run.
    pub tool: &'static str,
    pub version: &'static str,
    pub files: Vec<String>,
    pub arguments: Vec<String>,
    pub from: String,
    pub to: String,
    pub from_as_of: String,
    pub to_as_of: String,
    pub tables: BTreeMap<String, TableInfo>,
}

/// Rule "money reconciled": the day totals summed over every day, exactly, then rounded.
pub(super) fn revenue_counts(d: &crate::facts::DayTotals, money_decimals: u32) -> crate::facts::RevenueCounts {
    use crate::kernels::money;
    let sum = |v: &[i128]| v.iter().fold(0i128, |a, x| a.wrapping_add(*x));
    let (net, guests, returns) = (sum(&d.net), sum(&d.guest), sum(&d.returns));
    let round = |x: i128| crate::exprs::round_money_value(money::to_f64(x), money_decimals) + 0.0;
    let orders: u64 = d.orders.iter().map(|&n| u64::from(n)).sum();
    let purchases: u64 = d.purchase_orders.iter().map(|&n| u64::from(n)).sum();
    crate::facts::RevenueCounts {
        total: round(net),
        customers: round(net.wrapping_sub(guests)),
        guests: round(guests),
        returns: round(returns.wrapping_neg()),
        non_purchase_orders: orders - purchases,
    }
}

/// The segment query of a run: where it came from, and the BLAKE3 of its text with the run's
/// parameters in (`${as_of}` left as written: every snapshot has its own).
pub(super) fn segments_used(cfg: &Config, set: &queries::QuerySet) -> SegmentsUsed {
    let sql = queries::substitute(&set.segments.sql, cfg, None);
    SegmentsUsed {
        origin: set.segments.origin.display().to_string(),
        blake3: blake3::hash(sql.as_bytes()).to_hex().to_string(),
    }
}

