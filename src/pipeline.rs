//! The `run` job: input → cleaning → customers, scores, deciles → atomic output with manifest.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use polars::prelude::*;
use serde::Serialize;

use crate::basket::{self, BasketStats};
use crate::config::Config;
use crate::customers;
use crate::deciles;
use crate::error::{Error, Result};
use crate::input::{self, col_names as c, Mode, Present};
use crate::orders::{self, Counts};
use crate::output::{self, Staging, MANIFEST};
use crate::queries;
use crate::scores;

/// Per table: its file and row count, for the manifest.
#[derive(Debug, Clone, Serialize)]
pub struct TableInfo {
    pub file: String,
    pub rows: u64,
    /// BLAKE3 of the file's bytes: equal inputs and arguments give equal hashes.
    pub blake3: String,
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
    /// Pair-counting facts (threshold, items kept, orders skipped as too large…).
    pub basket: Option<BasketStats>,
    pub tables: BTreeMap<String, TableInfo>,
    /// Seconds per stage.
    pub timings: BTreeMap<String, f64>,
    /// Peak resident memory of the run in bytes (Linux).
    pub peak_memory_bytes: Option<u64>,
}

/// The computed tables of a run, in memory, before writing.
pub struct Tables {
    pub as_of: Option<chrono::NaiveDate>,
    pub counts: Counts,
    pub basket: Option<BasketStats>,
    pub files: Vec<PathBuf>,
    pub skipped: input::Skipped,
    pub tables: Vec<(String, DataFrame)>,
}

/// Seconds per stage, as the manifest reports them.
pub struct Stopwatch {
    t: Instant,
    timings: BTreeMap<String, f64>,
    /// A spinner on the terminal naming the stage just finished; `None` when not a terminal.
    progress: Option<indicatif::ProgressBar>,
}

impl Stopwatch {
    /// Start timing now.
    pub fn start() -> Self {
        Stopwatch { t: Instant::now(), timings: BTreeMap::new(), progress: None }
    }

    /// Start timing now, with a spinner on stderr (for people at a terminal).
    pub fn start_with_progress() -> Self {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} evergreen {elapsed} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar.set_message("reading…");
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Stopwatch { t: Instant::now(), timings: BTreeMap::new(), progress: Some(bar) }
    }

    /// Record the time since the last lap under `stage` (and log it at debug level).
    pub fn lap(&mut self, stage: &str) {
        let now = Instant::now();
        let secs = (now - self.t).as_secs_f64();
        tracing::debug!(stage, seconds = secs, "stage done");
        if let Some(bar) = &self.progress {
            bar.set_message(format!("{stage} done ({secs:.2}s)…"));
        }
        self.timings.insert(stage.to_string(), secs);
        self.t = now;
    }
}

impl Drop for Stopwatch {
    fn drop(&mut self) {
        if let Some(bar) = &self.progress {
            bar.finish_and_clear();
        }
    }
}

/// Which family of tables a job computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// `run`: the customer tables, plus products and basket_pairs when the dump has products.
    Run,
    /// `basket`: products and basket_pairs only; needs only order and item columns.
    Basket,
}

/// Compute every table of the job without writing anything.
pub fn compute_job(cfg: &Config, job: Job, sw: &mut Stopwatch) -> Result<Tables> {
    let files = input::resolve_inputs(&cfg.inputs)?;
    compute_files(cfg, job, files, sw)
}

/// [`compute_job`] over input files already resolved.
fn compute_files(cfg: &Config, job: Job, files: input::Resolved, sw: &mut Stopwatch) -> Result<Tables> {
    let mode = if job == Job::Run { Mode::Customers } else { Mode::Basket };
    let queries = if job == Job::Run { Some(load_queries(cfg)?) } else { None };
    tracing::debug!(files = files.files.len(), "reading {} Parquet file(s)", files.files.len());
    let skipped = files.skipped;
    let dump = input::load(files.files, &cfg.columns, mode)?;
    let raw = dump.collect()?;
    sw.lap("scan");
    let d = cfg.money_decimals;
    let has = dump.has;
    // The product baskets serve favourite_product and, when the item is the product, the pairs.
    let item_is_product = cfg.columns.item.is_none();
    let need_products = has.product && (job == Job::Run || item_is_product);
    let need_items = has.item && !item_is_product;
    // Item coding needs only the lines: it runs beside the order index.
    let (cleaned, (product_codes, item_codes)) = orders::clean(raw, cfg.as_of, d, has, job == Job::Run, sw, |lines| {
        let code = |wanted: bool, column: &str| wanted.then(|| basket::encode_items(lines, column)).transpose();
        (code(need_products, c::PRODUCT), code(need_items, basket::ITEM))
    })?;
    let (product_codes, item_codes) = (product_codes?, item_codes?);
    let k = &cleaned.counts;
    tracing::debug!(
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
    require_lines(cfg, &cleaned.counts)?;
    require_representable_money(cfg, &cleaned)?;
    let product_baskets = product_codes.map(|codes| basket::baskets(&cleaned, codes));
    sw.lap("basket_lists");
    // favourite_product (customer tables) needs the per-customer pass before the customer tables;
    // otherwise basket_tables runs it beside the pair kernel.
    let product_customers = match (&product_baskets, job) {
        (Some(b), Job::Run) => {
            let pc = basket::customer_items(&cleaned, b, true);
            sw.lap("customer_items");
            Some(pc)
        }
        _ => None,
    };
    let mut tables = Vec::new();
    if job == Job::Run {
        let fav = product_baskets.as_ref().zip(product_customers.as_ref());
        tables.extend(customer_tables(cfg, &cleaned, has, fav, sw)?);
    }
    let mut basket_stats = None;
    if has.item {
        let own;
        let (item_baskets, item_customers) = match (&product_baskets, item_codes) {
            (Some(b), _) if item_is_product => (b, product_customers.as_ref()),
            (_, codes) => {
                let codes = codes.ok_or_else(|| Error::Internal("item column not coded".into()))?;
                own = basket::baskets(&cleaned, codes);
                (&own, None)
            }
        };
        let b = basket::basket_tables(&cleaned, item_baskets, item_customers, &cfg.basket, d, sw)?;
        tables.push(("products".to_string(), b.products));
        tables.push(("basket_pairs".to_string(), b.basket_pairs));
        basket_stats = Some(b.stats);
    }
    if let Some(set) = &queries {
        queries::run_all(set, cfg, cleaned.as_of, &mut tables)?;
        sw.lap("queries");
    }
    let (as_of, counts) = (cleaned.as_of, cleaned.counts.clone());
    // The lines and the indexes take tens of milliseconds to free: let that happen beside the write.
    std::thread::spawn(move || drop((cleaned, product_baskets, product_customers)));
    let files = dump.files.into_iter().map(|f| f.path).collect();
    Ok(Tables { as_of, counts, basket: basket_stats, files, skipped, tables })
}

/// A dump with no line left after the cleaning rules is an error, not an empty output.
fn require_lines(cfg: &Config, k: &Counts) -> Result<()> {
    if k.lines_used > 0 {
        return Ok(());
    }
    Err(Error::Empty {
        what: cfg.inputs.join(" "),
        reason: format!(
            "no line left after the cleaning rules ({} read, {} future, rejected {:?})",
            k.lines_read, k.future_lines, k.rejected
        ),
    })
}

/// Money sums are exact in minor units (cents at 2 decimals) only while they stay below 2^53 minor
/// units (the integers a 64-bit float holds exactly): 9.0e13 at 2 decimals, 9.0e9 at 6. The sum
/// of the absolute line amounts (and costs) bounds every sum a table holds, so when it is below
/// the limit no sum can overflow, lose a cent or become infinite; above it the run stops (exit 4).
fn require_representable_money(cfg: &Config, cleaned: &orders::Cleaned) -> Result<()> {
    let limit = 2f64.powi(53) / 10f64.powi(cfg.money_decimals as i32);
    let abs_sum = |name: &str| -> Result<f64> {
        let Ok(column) = cleaned.lines.column(name) else { return Ok(0.0) };
        // Over the raw values, vectorised (a null slot holds 0, or at worst makes the check stricter).
        let values = crate::codes::f64_values(column)?;
        Ok(values.chunks().map(|c| c.iter().map(|v| v.abs()).sum::<f64>()).sum())
    };
    for (canonical, role, column) in
        [(c::AMOUNT, "amount", cfg.columns.amount.name.as_str()), (c::COST, "cost", cfg.columns.cost.name.as_str())]
    {
        let total = abs_sum(canonical)?;
        if total.is_nan() || total >= limit {
            return Err(Error::BadColumn {
                file: PathBuf::from(cfg.inputs.join(" ")),
                column: column.to_string(),
                role,
                expected: format!(
                    "amounts whose absolute values add up to less than {limit:.3e} (2^53 minor units at {} money decimals), the largest money total that stays exact",
                    cfg.money_decimals
                ),
                found: format!("a total of {total:.3e}"),
            });
        }
    }
    Ok(())
}

/// Compute the `run` tables (kept for callers that only want those).
pub fn compute(cfg: &Config, sw: &mut Stopwatch) -> Result<Tables> {
    compute_job(cfg, Job::Run, sw)
}

/// customers, score_bins, monetary_deciles, purchase_deciles.
fn customer_tables(
    cfg: &Config,
    cleaned: &orders::Cleaned,
    has: Present,
    product_baskets: Option<(&basket::Baskets, &basket::CustomerItems)>,
    sw: &mut Stopwatch,
) -> Result<Vec<(String, DataFrame)>> {
    let d = cfg.money_decimals;
    let as_of = cleaned.as_of.ok_or_else(|| Error::Internal("customer tables need a timestamp".into()))?;
    let rfm = customers::rfm(cleaned, as_of, d, has.cost)?;
    let with_fav = if let Some((b, per_customer)) = product_baskets {
        let fav = customers::favourite_products(cleaned, b, per_customer)?;
        sw.lap("favourite_product");
        rfm.join(fav.lazy(), [col(c::CUSTOMER)], [col(c::CUSTOMER)], JoinArgs::new(JoinType::Left))
    } else {
        rfm.with_column(lit(NULL).cast(DataType::String).alias("favourite_product"))
    };
    let scored = scores::add_scores(
        with_fav.with_columns([
            customers::lapse_bucket(col("recency_days"), &cfg.lapse_thresholds).alias("lapse_bucket"),
            lit(NULL).cast(DataType::String).alias("segment"),
        ]),
        cfg.bins,
        cfg.scoring,
    );
    let columns: Vec<Expr> = customers::columns(has.cost).into_iter().map(col).collect();
    let customers_df = deciles::add_deciles(scored, d).select(columns).collect()?;
    if customers_df.height() == 0 {
        return Err(Error::Empty {
            what: cfg.inputs.join(" "),
            reason: format!(
                "no customer has a purchase order ({} orders, {} purchase orders, {} guest lines)",
                cleaned.counts.orders, cleaned.counts.purchase_orders, cleaned.counts.guest_lines
            ),
        });
    }
    sw.lap("customers");
    let cust = customers_df.clone().lazy();
    let score_bins = scores::score_bins(cust.clone())?.collect()?;
    let monetary_deciles = deciles::monetary_deciles(cust.clone(), d, has.cost).collect()?;
    let purchase_deciles = deciles::purchase_deciles(cust, d).collect()?;
    sw.lap("deciles");
    Ok(vec![
        ("customers".to_string(), customers_df),
        ("score_bins".to_string(), score_bins),
        ("monetary_deciles".to_string(), monetary_deciles),
        ("purchase_deciles".to_string(), purchase_deciles),
    ])
}

/// The run's queries, checked before any data is read. The shipped segment map needs bins = 5.
fn load_queries(cfg: &Config) -> Result<queries::QuerySet> {
    let set = queries::load(cfg.queries.as_deref(), cfg.segment_map.as_deref(), cfg.bins, cfg.allow_file_reads)?;
    let shipped = set.segments.sql == queries::SHIPPED[0].1;
    if shipped && cfg.bins != 5 {
        return Err(Error::Config(format!(
            "bins = {}: the shipped segment map (queries/segments.sql) needs bins = 5; give --segment-map FILE \
             or your own segments.sql in --queries",
            cfg.bins
        )));
    }
    Ok(set)
}

/// Run the whole job: compute every table, then write them, the manifest and `_SUCCESS` into
/// `cfg.out` atomically. `arguments` are recorded in the manifest.
/// With `progress`, a spinner on stderr names the stages as they finish.
pub fn run(cfg: &Config, job: Job, arguments: Vec<String>, progress: bool) -> Result<Manifest> {
    let mut sw = if progress { Stopwatch::start_with_progress() } else { Stopwatch::start() };
    let lock_timeout = std::time::Duration::from_secs(cfg.lock_timeout_secs);
    // Check the output before any data is read: never the input itself, and (under its lock)
    // absent, empty or evergreen's own; with as_of partitions the folder is known only after.
    let files = input::resolve_inputs(&cfg.inputs)?;
    let paths: Vec<PathBuf> = files.files.iter().map(|f| f.path.clone()).collect();
    output::check_not_input(&cfg.out, &cfg.inputs, &paths)?;
    let early = if cfg.partition_by_as_of {
        output::check_partition_root(&cfg.out)?;
        None
    } else {
        Some(Staging::new(&cfg.out, lock_timeout)?)
    };
    let mut computed = compute_files(cfg, job, files, &mut sw)?;
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
        arguments,
        config: cfg.clone(),
        as_of: computed.as_of.map(|d| d.to_string()),
        input_files: computed.files.iter().map(|p| p.display().to_string()).collect(),
        input_skipped: computed.skipped,
        counts: computed.counts,
        basket: computed.basket,
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

/// `evergreen validate`: check the inputs, roles and segment map, and describe what a run would
/// read, without writing anything.
pub fn validate(cfg: &Config) -> Result<String> {
    use std::fmt::Write;
    let set = load_queries(cfg)?;
    let files = input::resolve_inputs(&cfg.inputs)?;
    let mut dump = input::load(files.files, &cfg.columns, Mode::Customers)?;
    let schema = dump.lines.collect_schema()?;
    let mut sw = Stopwatch::start();
    let (cleaned, ()) = orders::clean(dump.collect()?, cfg.as_of, cfg.money_decimals, dump.has, true, &mut sw, |_| ())?;
    let k = &cleaned.counts;
    let mut r = String::new();
    let _ = writeln!(r, "files: {}", dump.files.len());
    for f in &dump.files {
        let _ = writeln!(r, "  {}", f.path.display());
    }
    let _ = writeln!(r, "columns (canonical name: type):");
    for (name, dtype) in schema.iter() {
        let _ = writeln!(r, "  {name}: {dtype}");
    }
    let _ = writeln!(r, "as_of: {}", cleaned.as_of.map(|d| d.to_string()).unwrap_or_else(|| "-".into()));
    let _ = writeln!(
        r,
        "lines: {} read, {} used, {} future, {} guest",
        k.lines_read, k.lines_used, k.future_lines, k.guest_lines
    );
    let rejected: Vec<String> = k.rejected.iter().map(|(why, n)| format!("{why} {n}")).collect();
    let _ = writeln!(r, "rejected lines: {}", rejected.join(", "));
    let _ = writeln!(
        r,
        "orders: {} kept, {} purchase, {} rejected for naming two customers",
        k.orders, k.purchase_orders, k.orders_rejected_conflict
    );
    let _ = writeln!(r, "segments: {} ({} bins, every cell in one segment)", set.segments.origin.display(), cfg.bins);
    let names: Vec<&str> = set.others.iter().map(|q| q.name.as_str()).collect();
    let _ = writeln!(r, "queries: {}", names.join(", "));
    require_lines(cfg, k)?;
    let _ = writeln!(r, "ok: nothing written");
    Ok(r)
}
