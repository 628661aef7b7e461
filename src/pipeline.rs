//! One job end to end: config → engine (facts) → table families → queries → atomic output with
//! manifest. The only module that knows every family; it decides the stages' order and timing.

use std::collections::BTreeMap;
use std::path::PathBuf;

use polars::prelude::*;
use serde::Serialize;

use crate::config::{Config, EngineChoice};
use crate::engine::clean;
use crate::engine::passes::orders;
use crate::engine::{self, EngineReport};
use crate::error::{Error, Result};
use crate::facts::{col_names as c, Counts, Facts, Plan};
use crate::input::{self, Mode};
use crate::output::{self, Staging, MANIFEST};
use crate::queries;
use crate::tables::attributes;
use crate::tables::basket::{self, BasketStats};
use crate::tables::patterns::{self, PatternStats};
use crate::snapshot;
use crate::tables::{activity, clv, customers, snapshots};
pub use crate::engine::stopwatch::Stopwatch;

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

/// The computed tables of a run, in memory, before writing.
pub struct Tables {
    pub segments: Option<SegmentsUsed>,
    pub compared_with: Option<String>,
    pub as_of: Option<chrono::NaiveDate>,
    pub counts: Counts,
    pub engine: EngineReport,
    pub basket: Option<BasketStats>,
    pub clv: Option<clv::Report>,
    pub patterns: Option<PatternStats>,
    pub files: Vec<PathBuf>,
    pub skipped: input::Skipped,
    pub tables: Vec<(String, DataFrame)>,
}

/// Which family of tables a job computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// `run`: the customer tables, plus products and basket_pairs when the dump has products.
    Run,
    /// `basket`: products and basket_pairs only; needs only order and item columns.
    Basket,
    /// `clv`: clv, clv_params (and clv_holdout) only.
    Clv,
    /// `patterns`: itemsets and rules (unless `--no-itemsets`), sequence_pairs with `--sequences`.
    Patterns,
}

impl Job {
    /// The job fits the CLV models.
    fn fits_clv(self, cfg: &Config) -> bool {
        self == Job::Clv || (self == Job::Run && cfg.clv.enabled)
    }

    /// The job mines itemsets (and rules).
    fn mines_itemsets(self, cfg: &Config) -> bool {
        matches!(self, Job::Run | Job::Patterns) && cfg.patterns.itemsets
    }

    /// The job counts sequence pairs.
    fn counts_sequences(self, cfg: &Config) -> bool {
        matches!(self, Job::Run | Job::Patterns) && cfg.patterns.sequences
    }
}

/// Compute every table of the job without writing anything.
pub fn compute_job(cfg: &Config, job: Job, sw: &mut Stopwatch) -> Result<Tables> {
    let (files, remote) = resolve(cfg)?;
    compute_files(cfg, job, files, remote, sw)
}

/// The inputs: local files resolved here, or, for the Spark engine, paths only Spark reads
/// (`hdfs://`, `s3a://`...), passed on as they are.
fn resolve(cfg: &Config) -> Result<(input::Resolved, Option<Vec<String>>)> {
    let remote = cfg.inputs.iter().filter(|p| engine::spark::is_remote(p)).count();
    if remote == 0 {
        return Ok((input::resolve_inputs(&cfg.inputs)?, None));
    }
    if cfg.engine.choice != EngineChoice::Spark {
        return Err(Error::Config(format!(
            "input: {} is a remote path; only --engine spark reads those (the local engines read local files)",
            cfg.inputs.iter().find(|p| engine::spark::is_remote(p)).map(String::as_str).unwrap_or("")
        )));
    }
    if remote != cfg.inputs.len() {
        return Err(Error::Config("input: mix of local and remote paths; give either local files or paths Spark reads".into()));
    }
    Ok((input::Resolved { files: Vec::new(), skipped: Default::default() }, Some(cfg.inputs.clone())))
}

/// Where the partitioned engine spills: `--spill-dir`, else the folder that holds `--out`.
pub fn spill_root(cfg: &Config) -> PathBuf {
    cfg.engine.spill_dir.clone().unwrap_or_else(|| match cfg.out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    })
}

/// What each job needs from the engine.
fn plan(cfg: &Config, job: Job) -> Plan {
    let items = if cfg.columns.item.is_some() { c::ITEM } else { c::PRODUCT };
    Plan {
        customers: matches!(job, Job::Run | Job::Clv),
        favourite: job == Job::Run,
        items: (job != Job::Clv).then_some(items),
        purchase_days: job.fits_clv(cfg),
        pairs: matches!(job, Job::Run | Job::Basket),
        itemsets: job.mines_itemsets(cfg),
        sequences: job.counts_sequences(cfg),
        activity: job == Job::Run,
    }
}

/// [`compute_job`] over input files already resolved.
fn compute_files(
    cfg: &Config,
    job: Job,
    files: input::Resolved,
    remote: Option<Vec<String>>,
    sw: &mut Stopwatch,
) -> Result<Tables> {
    let mode = match job {
        Job::Basket => Mode::Basket,
        Job::Patterns if !cfg.patterns.sequences => Mode::Basket,
        _ => Mode::Customers,
    };
    if job == Job::Patterns && !cfg.patterns.itemsets && !cfg.patterns.sequences {
        return Err(Error::Config("patterns: nothing to compute (--no-itemsets without --sequences)".into()));
    }
    let queries = if job == Job::Run { Some(load_queries(cfg)?) } else { None };
    // The segment query's digest: for the manifest, and to compare snapshots.
    let segments = queries.as_ref().map(|set| segments_used(cfg, set));
    // `--compare-with`: the snapshot found and its settings checked before any data is read.
    let earlier = match (&cfg.compare_with, &segments) {
        (Some(dir), Some(used)) => Some(Earlier::prepare(cfg, dir, used)?),
        _ => None,
    };
    tracing::debug!(files = files.files.len(), "reading {} Parquet file(s)", files.files.len());
    let skipped = files.skipped;
    // The holdout check's calibration facts: the same engine on the lines before the holdout date.
    let calibration = match cfg.clv.holdout_from.filter(|_| job.fits_clv(cfg)) {
        Some(from) => {
            let cal_cfg = Config { as_of: Some(from), ..cfg.clone() };
            let cal_plan = Plan {
                customers: true,
                favourite: false,
                items: None,
                purchase_days: true,
                pairs: false,
                itemsets: false,
                sequences: false,
                activity: false,
            };
            let (f, _, _) = match &remote {
                Some(paths) => engine::spark_facts(&cal_cfg, cal_plan, mode, engine::SparkSource::Remote(paths.clone()), &spill_root(cfg), sw)?,
                None => engine::facts(&cal_cfg, cal_plan, mode, files.files.clone(), &spill_root(cfg), sw)?,
            };
            sw.lap("clv_holdout_facts");
            Some((f.customers.ok_or_else(|| Error::Internal("holdout without customer facts".into()))?, from))
        }
        None => None,
    };
    let (facts, report, paths) = match remote {
        Some(paths) => engine::spark_facts(cfg, plan(cfg, job), mode, engine::SparkSource::Remote(paths), &spill_root(cfg), sw)?,
        None => engine::facts(cfg, plan(cfg, job), mode, files.files, &spill_root(cfg), sw)?,
    };
    let k = &facts.counts;
    tracing::debug!(
        engine = report.name,
        lines_read = k.lines_read,
        lines_used = k.lines_used,
        future_lines = k.future_lines,
        guest_lines = k.guest_lines,
        purchase_orders = k.purchase_orders,
        "cleaned: {} of {} lines used, {} future, {} rejected",
        k.lines_used,
        k.lines_read,
        k.future_lines,
        k.rejected.values().sum::<u64>()
    );
    let mut tables = Vec::new();
    // Each family's facts are freed as soon as its tables are made (the pair facts of a large dump
    // take hundreds of megabytes).
    let peak_after_facts = output::peak_memory_bytes();
    let Facts {
        as_of,
        mut counts,
        customers: customer_facts,
        items,
        pairs,
        itemsets,
        sequences,
        days,
        product_names,
        customer_attrs,
        ..
    } = facts;
    if let Some(d) = &days {
        counts.revenue = Some(revenue_counts(d, cfg.output.money_decimals));
    }
    let mut clv_report = None;
    let mut clv_columns = None;
    if let Some(f) = customer_facts.as_ref().filter(|_| job.fits_clv(cfg)) {
        let as_of = as_of.ok_or_else(|| Error::Internal("CLV tables need a timestamp".into()))?;
        if let Some((_, from)) = &calibration {
            if *from >= as_of {
                return Err(Error::Config(format!(
                    "holdout_from: {from} is not before as_of {as_of}; the holdout period is [holdout_from, as_of)"
                )));
            }
        }
        let opts = clv::Options {
            horizon_days: cfg.clv.horizon_days,
            discount_rate: cfg.clv.discount_rate,
            unit: cfg.clv.unit,
            money_decimals: cfg.output.money_decimals,
        };
        let made = clv::tables(f, as_of, calibration.as_ref().map(|(c, d)| (c, *d)), opts)?;
        clv_columns = made.tables.first().map(|(_, t)| t.clone());
        tables.extend(made.tables);
        clv_report = Some(made.report);
        sw.lap("clv_tables");
    }
    if let Some(f) = customer_facts.filter(|_| job == Job::Run) {
        let as_of = as_of.ok_or_else(|| Error::Internal("customer tables need a timestamp".into()))?;
        let opts = customers::Options {
            bins: cfg.scores.bins,
            scoring: cfg.scores.scoring,
            lapse_thresholds: &cfg.scores.lapse_thresholds,
            money_decimals: cfg.output.money_decimals,
            trend_days: cfg.trends.trend_days,
            tiers: &cfg.trends.tiers,
        };
        let mut made = customers::tables(&f, as_of, opts)?;
        sw.lap("customer_tables");
        if let Some(clv_table) = &clv_columns {
            made[0].1 = with_clv_columns(&made[0].1, clv_table)?;
        }
        if product_names.is_some() || customer_attrs.is_some() {
            made[0].1 = attributes::customers_with_attributes(&made[0].1, product_names.as_ref(), customer_attrs.as_ref())?;
        }
        if let Some(days) = &days {
            let opts = activity::Options {
                cohort_period: cfg.trends.cohort_period,
                kpi_window_days: cfg.trends.kpi_window_days,
                lapse_thresholds: &cfg.scores.lapse_thresholds,
                money_decimals: cfg.output.money_decimals,
            };
            made.extend(activity::tables(&f, days, as_of, opts)?);
            sw.lap("activity_tables");
        }
        // The customer tables come first (the manifest and the queries list them in that order).
        tables.splice(0..0, made);
    }
    let mut basket_stats = None;
    // Pair facts exist only for jobs whose plan asks for them (run, basket).
    if let (Some(items), Some(pairs)) = (items.as_ref(), pairs) {
        let mut b = basket::tables(items, &pairs, &cfg.basket, cfg.output.money_decimals)?;
        // Names go beside product ids (not beside another --item-col).
        if let (Some(names), None) = (&product_names, &cfg.columns.item) {
            b.products = attributes::products_with_names(&b.products, names)?;
            b.basket_pairs = attributes::pairs_with_names(&b.basket_pairs, names)?;
        }
        if b.basket_pairs.height() > basket::LARGE_PAIR_TABLE {
            tracing::warn!(
                "basket_pairs has {} rows (pairs in at least {} of {} purchase orders): worth a second look; a higher --min-pair-orders or --min-support, or --top-per-item, keeps the strong ones (top_pairs already holds each product's {} strongest partners)",
                b.basket_pairs.height(),
                b.stats.threshold,
                b.stats.total_purchase_orders,
                basket::TOP_PAIRS_PER_PRODUCT
            );
        }
        let top = basket::top_pairs(&b.basket_pairs)?;
        tables.push(("products".to_string(), b.products));
        tables.push(("basket_pairs".to_string(), b.basket_pairs));
        tables.push(("top_pairs".to_string(), top));
        basket_stats = Some(b.stats);
        sw.lap("basket_tables");
    }
    let mut pattern_stats = None;
    if let (Some(items), true) = (&items, itemsets.is_some() || sequences.is_some()) {
        let made = patterns::tables(items, itemsets.as_ref(), sequences.as_ref(), &cfg.patterns)?;
        tables.extend(made.tables);
        pattern_stats = Some(PatternStats { peak_memory_bytes_after_facts: peak_after_facts, ..made.stats });
        sw.lap("pattern_tables");
    }
    let mut compared_with = None;
    if let Some(set) = &queries {
        queries::run_segments(set, cfg, as_of, &mut tables)?;
        // The migration tables come before the other queries, so a query can read them.
        if let (Some(earlier), Some(as_of), Some(used)) = (earlier, as_of, &segments) {
            compared_with = earlier.migrate(cfg, as_of, used, &mut tables)?;
            sw.lap("migration");
        }
        queries::run_others(set, cfg, as_of, &mut tables)?;
        sw.lap("queries");
    }
    if let Some(d) = as_of {
        for (_, df) in tables.iter_mut() {
            with_as_of(df, d)?;
        }
    }
    Ok(Tables {
        segments,
        compared_with,
        as_of,
        counts,
        engine: report,
        basket: basket_stats,
        clv: clv_report,
        patterns: pattern_stats,
        files: paths,
        skipped,
        tables,
    })
}

/// Rule "money reconciled": the day totals summed over every day, exactly, then rounded.
fn revenue_counts(d: &crate::facts::DayTotals, money_decimals: u32) -> crate::facts::RevenueCounts {
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
fn segments_used(cfg: &Config, set: &queries::QuerySet) -> SegmentsUsed {
    let sql = queries::substitute(&set.segments.sql, cfg, None);
    SegmentsUsed {
        origin: set.segments.origin.display().to_string(),
        blake3: blake3::hash(sql.as_bytes()).to_hex().to_string(),
    }
}

/// `run --compare-with DIR`, before the data is read: an output folder is loaded and its settings
/// checked; a root of as_of partitions is read once this run's as-of is known.
enum Earlier {
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

    fn prepare(cfg: &Config, dir: &std::path::Path, used: &SegmentsUsed) -> Result<Earlier> {
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
    fn migrate(
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

/// The customers table with p_alive and clv from the clv table, and a lifecycle_stage placeholder
/// that the lifecycle query fills; rows stay in their order.
fn with_clv_columns(customers: &DataFrame, clv_table: &DataFrame) -> Result<DataFrame> {
    let mut order: Vec<Expr> = customers.get_column_names().iter().map(|n| col(n.as_str())).collect();
    order.extend([col("p_alive"), col("clv"), col("lifecycle_stage")]);
    let right = clv_table.clone().lazy().select([col(c::CUSTOMER), col("p_alive"), col("clv")]);
    Ok(customers
        .clone()
        .lazy()
        .join(right, [col(c::CUSTOMER)], [col(c::CUSTOMER)], JoinArgs::new(JoinType::Left))
        .with_column(lit(NULL).cast(DataType::String).alias("lifecycle_stage"))
        .select(order)
        .collect()?)
}

/// Compute the `run` tables (kept for callers that only want those).
pub fn compute(cfg: &Config, sw: &mut Stopwatch) -> Result<Tables> {
    compute_job(cfg, Job::Run, sw)
}

/// The run's queries, checked before any data is read. The shipped segment map needs bins = 5.
fn load_queries(cfg: &Config) -> Result<queries::QuerySet> {
    let set = queries::load(cfg.sql.queries.as_deref(), cfg.sql.segment_map.as_deref(), cfg.scores.bins, cfg.sql.allow_file_reads, cfg.clv.enabled)?;
    let shipped = set.segments.sql == queries::SHIPPED[0].1;
    if shipped && cfg.scores.bins != 5 {
        return Err(Error::Config(format!(
            "bins = {}: the shipped segment map (queries/segments.sql) needs bins = 5; give --segment-map FILE \
             or your own segments.sql in --queries",
            cfg.scores.bins
        )));
    }
    Ok(set)
}

/// Run the whole job: compute every table, then write them, the manifest and `_SUCCESS` into
/// `cfg.out` atomically. `arguments` are recorded in the manifest.
/// With `progress`, a spinner on stderr names the stages as they finish.
pub fn run(cfg: &Config, job: Job, arguments: Vec<String>, progress: bool) -> Result<Manifest> {
    let mut sw = if progress { Stopwatch::start_with_progress() } else { Stopwatch::start() };
    let lock_timeout = std::time::Duration::from_secs(cfg.output.lock_timeout_secs);
    // Check the output before any data is read: never the input itself, and (under its lock)
    // absent, empty or evergreen's own; with as_of partitions the folder is known only after.
    let (files, remote) = resolve(cfg)?;
    let paths: Vec<PathBuf> = files.files.iter().map(|f| f.path.clone()).collect();
    output::check_not_input(&cfg.out, &cfg.inputs, &paths, &output_tables())?;
    let early = if cfg.output.partition_by_as_of {
        output::check_partition_root(&cfg.out)?;
        None
    } else {
        Some(Staging::new(&cfg.out, lock_timeout)?)
    };
    let mut computed = compute_files(cfg, job, files, remote, &mut sw)?;
    let staging = match early {
        Some(s) => s,
        None => {
            let as_of = computed.as_of.ok_or_else(|| {
                Error::Config("--partition-by-as-of needs a timestamp column (the partition is the as_of date)".into())
            })?;
            Staging::new(&output::partition_dir(&cfg.out, as_of)?, lock_timeout)?
        }
    };
    let mut tables = BTreeMap::new();
    // Tables are encoded and written in parallel (each to its own file).
    use rayon::prelude::*;
    let written: Vec<Result<(String, TableInfo)>> = computed
        .tables
        .par_iter_mut()
        .map(|(name, df)| {
            let (file, blake3) = staging.write_table(name, df)?;
            Ok((name.clone(), TableInfo { file, rows: df.height() as u64, blake3 }))
        })
        .collect();
    for w in written {
        let (name, info) = w?;
        tables.insert(name, info);
    }
    sw.lap("write");
    let manifest = Manifest {
        out: PathBuf::new(),
        tool: output::TOOL,
        version: env!("CARGO_PKG_VERSION"),
        files: tables.values().map(|t| t.file.clone()).collect(),
        arguments: crate::config::SparkOptions::redact_arguments(&crate::connstr::redact_arguments(&arguments)),
        config: cfg.clone(),
        as_of: computed.as_of.map(|d| d.to_string()),
        input_files: computed.files.iter().map(|p| p.display().to_string()).collect(),
        input_skipped: computed.skipped,
        counts: computed.counts,
        engine: computed.engine,
        basket: computed.basket,
        clv: computed.clv,
        patterns: computed.patterns,
        segments: computed.segments,
        compared_with: computed.compared_with,
        tables,
        timings: std::mem::take(&mut sw.timings),
        peak_memory_bytes: output::peak_memory_bytes(),
    };
    let json = serde_json::to_string_pretty(&manifest).map_err(|e| Error::Internal(e.to_string()))?;
    staging.write_text(MANIFEST, &json)?;
    let written = staging.commit()?;
    drop(sw);
    Ok(Manifest { out: written, ..manifest })
}

/// What `evergreen validate` found: the files, the canonical columns, the counts a run would get,
/// the segment map and queries, and the output folder.
#[derive(Debug, Serialize)]
pub struct ValidateReport {
    pub files: Vec<String>,
    /// Canonical columns and their types, in order.
    pub columns: Vec<ColumnInfo>,
    pub as_of: Option<String>,
    pub counts: Counts,
    pub segments: String,
    pub bins: u8,
    pub queries: Vec<String>,
    /// `--out` and what a run would do to it (`None` without `--out`).
    pub out: Option<OutCheck>,
    /// With `--publish`: where a run would publish (the connection string without its password;
    /// checked to parse, not connected to).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish: Option<PublishCheck>,
}

/// `validate --publish`: the target as a run would use it.
#[derive(Debug, Serialize)]
pub struct PublishCheck {
    pub target: String,
    pub schema: String,
    pub mode: &'static str,
}

/// A canonical column of the dump.
#[derive(Debug, Serialize)]
pub struct ColumnInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub dtype: String,
}

/// The output folder as a run would find it.
#[derive(Debug, Serialize)]
pub struct OutCheck {
    pub path: String,
    /// `absent`, `empty`, `evergreen output` (replaced by a run), or `partition root`.
    pub state: &'static str,
}

impl ValidateReport {
    /// The report for people.
    pub fn text(&self) -> String {
        use std::fmt::Write;
        let mut r = String::new();
        let _ = writeln!(r, "files: {}", self.files.len());
        for f in &self.files {
            let _ = writeln!(r, "  {f}");
        }
        let _ = writeln!(r, "columns (canonical name: type):");
        for c in &self.columns {
            let _ = writeln!(r, "  {}: {}", c.name, c.dtype);
        }
        let k = &self.counts;
        let _ = writeln!(r, "as_of: {}", self.as_of.as_deref().unwrap_or("-"));
        let _ = writeln!(r, "lines: {} read, {} used, {} future, {} guest", k.lines_read, k.lines_used, k.future_lines, k.guest_lines);
        let rejected: Vec<String> = k.rejected.iter().map(|(why, n)| format!("{why} {n}")).collect();
        let _ = writeln!(r, "rejected lines: {}", rejected.join(", "));
        let _ = writeln!(
            r,
            "orders: {} kept, {} purchase, {} rejected for naming two customers",
            k.orders, k.purchase_orders, k.orders_rejected_conflict
        );
        let _ = writeln!(r, "segments: {} ({} bins, every cell in one segment)", self.segments, self.bins);
        let _ = writeln!(r, "queries: {}", self.queries.join(", "));
        if let Some(o) = &self.out {
            let _ = writeln!(r, "out: {} ({})", o.path, o.state);
        }
        if let Some(p) = &self.publish {
            let _ = writeln!(r, "publish: {} schema {} ({})", p.target, p.schema, p.mode);
        }
        let _ = writeln!(r, "ok: nothing written");
        r
    }
}

/// `evergreen validate`: check the inputs, roles, segment map and (with `--out`) the output
/// folder, and describe what a run would read, without writing anything.
pub fn validate(cfg: &Config) -> Result<ValidateReport> {
    let set = load_queries(cfg)?;
    let files = input::resolve_inputs(&cfg.inputs)?;
    let out = if cfg.out.as_os_str() == "-" {
        None
    } else {
        let paths: Vec<PathBuf> = files.files.iter().map(|f| f.path.clone()).collect();
        output::check_not_input(&cfg.out, &cfg.inputs, &paths, &output_tables())?;
        let state = if cfg.output.partition_by_as_of {
            output::check_partition_root(&cfg.out)?;
            "partition root"
        } else {
            output::check_owned(&cfg.out)?;
            match std::fs::read_dir(&cfg.out).map(|mut rd| rd.next().is_none()) {
                Err(_) => "absent",
                Ok(true) => "empty",
                Ok(false) => "evergreen output: a run replaces it",
            }
        };
        Some(OutCheck { path: cfg.out.display().to_string(), state })
    };
    let mut dump = input::load(files.files, &cfg.columns, Mode::Customers, false)?;
    let schema = dump.lines.collect_schema()?;
    let inputs = cfg.inputs.join(" ");
    let clean::Cleaned { lines: current, counts: mut k, as_of } =
        clean::clean_lines(dump.collect()?, dump.has, cfg.as_of, &inputs, &cfg.columns.amount.name)?;
    let index = orders::OrderIndex::build(&current, dump.has, true, cfg.output.money_decimals)?;
    orders::count_orders(&mut k, &index, current.height());
    clean::require_lines(&inputs, &k)?;
    Ok(ValidateReport {
        files: dump.files.iter().map(|f| f.path.display().to_string()).collect(),
        columns: schema.iter().map(|(n, t)| ColumnInfo { name: n.to_string(), dtype: t.to_string() }).collect(),
        as_of: as_of.map(|d| d.to_string()),
        counts: k,
        segments: set.segments.origin.display().to_string(),
        bins: cfg.scores.bins,
        queries: set.others.iter().map(|q| q.name.clone()).collect(),
        out,
        publish: None,
    })
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

/// The names of the tables an output may hold (the families' and the shipped queries'), for the
/// check that no input glob would read them back ([`output::check_not_input`]).
fn output_tables() -> Vec<&'static str> {
    crate::tables::REGISTRY
        .iter()
        .map(|(n, _)| *n)
        .chain(queries::SHIPPED.iter().map(|(n, _)| *n))
        .chain([queries::LIFECYCLE.0])
        .collect()
}
