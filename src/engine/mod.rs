//! Engines: order lines in, [`Facts`] out. The engines share the cleaning sequence ([`clean`]),
//! the named passes ([`passes`]: order index, item passes, customer facts, activity, attributes)
//! and the kernels; [`choose`] is the one place that picks an [`Engine`], [`facts`] the one entry.
//!
//! - `memory`: the dump's needed columns in memory (about 100 bytes a line at the peak).
//! - `partitioned`: streams the dump slice by slice into a spill folder, partitioned by order, so
//!   its memory follows `--memory-limit` instead of the dump's size (see [`partitioned`]).
//! - `spark`: the same facts from Spark SQL steps (see [`spark`]), for dumps beyond one machine.

pub mod clean;
pub mod memory;
pub mod partitioned;
pub mod passes;
pub mod patterns;
pub mod spark;
pub mod spill;
pub mod stopwatch;

use std::path::PathBuf;

use chrono::NaiveDate;
use polars::prelude::*;
use serde::Serialize;

use crate::config::{BasketOptions, Config, EngineChoice, PatternOptions, ZeroNetOrders};
use crate::error::{Error, Result};
use crate::facts::{col_names as c, Counts, Facts, Plan, Present};
use crate::input::{self, Mode};
use stopwatch::Stopwatch;

/// What an engine needs to know about the run: the plan and the rules' parameters.
pub struct Setup {
    pub plan: Plan,
    pub has: Present,
    pub as_of: Option<NaiveDate>,
    pub money_decimals: u32,
    /// Whether an order whose net is exactly 0 is a purchase.
    pub zero_net_orders: ZeroNetOrders,
    pub basket: BasketOptions,
    /// Itemset and sequence options (issue 13).
    pub patterns: PatternOptions,
    /// The inputs as given, for messages.
    pub inputs: String,
    /// The user's amount and cost column names, for messages.
    pub amount_column: String,
    pub cost_column: String,
    /// The discount (or list price) column's name, for messages.
    pub discount_column: String,
    /// The partitioned engine's order partitions, when given (`--partitions`).
    pub partitions: Option<u32>,
    /// Product names are read (`--product-name-col`, with a product column).
    pub product_names: bool,
    /// The `--customer-attr` columns (with the customer tables).
    pub customer_attrs: Vec<String>,
    /// The two periods the switching tables compare (with the group facts).
    pub periods: Option<(crate::config::Period, crate::config::Period)>,
    /// The products of product_hierarchy (with the hierarchy facts).
    pub hierarchy_products: usize,
    /// A run with a state (issue 33): the lines of the state's files that its parts do not hold
    /// (`--where`'s and the line rules'), added to the counts right after the line rules, so every
    /// count and message covers every input file.
    pub carried: Counts,
}

impl Setup {
    /// The setup of a run of `cfg` with `plan` over a dump with the roles `has`.
    pub fn new(cfg: &Config, plan: Plan, has: Present) -> Setup {
        Setup {
            plan,
            has,
            as_of: cfg.as_of,
            money_decimals: cfg.output.money_decimals,
            zero_net_orders: cfg.columns.zero_net_orders,
            basket: cfg.basket.clone(),
            patterns: cfg.patterns.clone(),
            inputs: cfg.inputs.join(" "),
            amount_column: cfg.columns.amount.name.clone(),
            cost_column: cfg.columns.cost.name.clone(),
            discount_column: match &cfg.columns.discount {
                Some(crate::config::Discount::Column(n)) | Some(crate::config::Discount::ListPrice(n)) => n.clone(),
                None => String::new(),
            },
            partitions: cfg.engine.partitions,
            product_names: cfg.columns.product_name.is_some() && has.product,
            customer_attrs: if plan.customers { cfg.columns.customer_attrs.clone() } else { Vec::new() },
            periods: cfg.switching.periods,
            hierarchy_products: cfg.switching.hierarchy_products.unwrap_or(0),
            carried: Counts::default(),
        }
    }
}

/// The engine that ran, for the manifest.
#[derive(Debug, Clone, Serialize)]
pub struct EngineReport {
    pub name: &'static str,
    /// The memory limit the run was held to, in bytes.
    pub memory_limit_bytes: u64,
    /// Lines of the dump (from the Parquet footers).
    pub input_lines: u64,
    /// Partitioned engine: order partitions, customer partitions, bytes written to the spill folder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partitions: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_partitions: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spilled_bytes: Option<u64>,
    /// Partitioned engine: the pair kernel read the baskets from the spill pass by pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pairs_streamed: Option<bool>,
    /// Spark engine: the cluster, Spark's version, the job's seconds and the facts' bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spark: Option<spark::SparkReport>,
}

impl EngineReport {
    /// The report of engine `name`, before its own fields are filled in.
    pub fn new(name: &'static str, memory_limit_bytes: u64, input_lines: u64) -> EngineReport {
        EngineReport {
            name,
            memory_limit_bytes,
            input_lines,
            partitions: None,
            customer_partitions: None,
            spilled_bytes: None,
            pairs_streamed: None,
            spark: None,
        }
    }
}

/// Bytes a line takes in the memory engine at its peak (measured: 1.2 GB for 10M lines with
/// every table; the partitioned engine plans its partitions with the same figure).
pub const MEMORY_BYTES_PER_LINE: u64 = 110;

/// The engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Memory,
    Partitioned,
    Spark,
}

/// Where a job's lines come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Local files, resolved (and checked against the roles before any engine runs).
    Local(input::Resolved),
    /// Paths only Spark reads (`hdfs://`, `s3a://`...), passed on as they are: the Spark job
    /// checks the roles itself.
    Remote(Vec<String>),
}

/// The one place an engine is picked. Remote inputs and `--engine spark` go to Spark; `auto`
/// takes the memory engine when its peak (`lines` × [`MEMORY_BYTES_PER_LINE`]) fits the limit,
/// the partitioned one otherwise.
pub fn choose(choice: EngineChoice, source: &Source, lines: u64, limit: u64) -> Engine {
    match (choice, source) {
        (EngineChoice::Spark, _) | (_, Source::Remote(_)) => Engine::Spark,
        (EngineChoice::Memory, _) => Engine::Memory,
        (EngineChoice::Partitioned, _) => Engine::Partitioned,
        (EngineChoice::Auto, _) if lines.saturating_mul(MEMORY_BYTES_PER_LINE) <= limit => Engine::Memory,
        (EngineChoice::Auto, _) => Engine::Partitioned,
    }
}

/// What a run with a state reads instead of the input files (issue 33): the state's parts,
/// canonical lines that passed `--where` and the line rules when their files were read, and what
/// those rules removed (added to the counts, so the manifest counts every file's lines).
#[derive(Debug, Clone)]
pub struct Increment {
    pub parts: Vec<PathBuf>,
    /// The roles and canonical columns the state's lines have.
    pub has: Present,
    pub names: Vec<String>,
    /// Lines of the state's files that `--where` and each line rule removed.
    pub filtered_lines: u64,
    pub rejected: std::collections::BTreeMap<String, u64>,
}

impl Increment {
    /// The lines the state's files had and its parts do not: `--where`'s and the line rules'.
    fn removed(&self) -> u64 {
        self.filtered_lines + self.rejected.values().sum::<u64>()
    }

    /// Those lines as counts, to add to the counts over the parts.
    fn carried(&self) -> Counts {
        Counts {
            lines_read: self.removed(),
            filtered_lines: self.filtered_lines,
            rejected: self.rejected.clone(),
            ..Default::default()
        }
    }
}

/// Compute the facts of a job: count the lines, pick the engine ([`choose`]), load the dump
/// (lazily) and run the engine. Returns the facts, the engine's report and the files read.
/// With `inc`, the state's parts are the dump (`source` then holds no file).
pub fn facts(
    cfg: &Config,
    plan: Plan,
    mode: Mode,
    source: Source,
    inc: Option<&Increment>,
    spill_dir: &std::path::Path,
    sw: &mut Stopwatch,
) -> Result<(Facts, EngineReport, Vec<PathBuf>)> {
    let limit = cfg.engine.memory_limit_bytes;
    if cfg.engine.choice == EngineChoice::Spark || matches!(source, Source::Remote(_)) {
        // Spark's inputs, refused before any CSV file is read to count its lines.
        refuse_text_input(&source, &cfg.columns)?;
    }
    let mut file_lines = match &source {
        Source::Local(r) => input::file_lines(&r.files)?,
        Source::Remote(_) => Vec::new(),
    };
    if let Some(i) = inc {
        let parts: Vec<input::InputFile> = i
            .parts
            .iter()
            .map(|p| input::InputFile { path: p.clone(), hive: Default::default(), format: input::Format::Parquet })
            .collect();
        file_lines.extend(input::file_lines(&parts)?);
    }
    let lines: u64 = file_lines.iter().sum();
    let engine = choose(cfg.engine.choice, &source, lines, limit);
    let files = match source {
        Source::Remote(paths) => return spark_facts(cfg, plan, mode, spark::SparkInputs::Remote(paths), None, sw, spill_dir),
        Source::Local(r) => r.files,
    };
    let streamed = engine != Engine::Memory;
    let dump = match inc {
        None => input::load(files, &cfg.columns, mode, streamed)?,
        Some(i) => input::from_parts(&i.parts, i.has, &i.names, streamed)?,
    };
    crate::error::pause_point("after-input-scan");
    require_pattern_roles(plan, dump.has, &cfg.inputs.join(" "), &cfg.columns)?;
    require_product_for_names(dump.has, &cfg.columns)?;
    let paths: Vec<PathBuf> = dump.files.iter().map(|f| f.path.clone()).collect();
    if engine == Engine::Spark {
        refuse_hive_roles(&dump, &cfg.columns)?;
        let absolute = paths.iter().map(|f| std::path::absolute(f).unwrap_or_else(|_| f.clone())).collect();
        let inputs = spark::SparkInputs::Local { files: absolute, base_path: None };
        let (facts, report, _) = spark_facts(cfg, plan.given(dump.has), mode, inputs, Some((dump.has, lines)), sw, spill_dir)?;
        return Ok((facts, report, paths));
    }
    let mut setup = Setup::new(cfg, plan.given(dump.has), dump.has);
    if let Some(i) = inc {
        setup.carried = i.carried();
    }
    let mut report = EngineReport::new("memory", limit, lines + inc.map_or(0, |i| i.removed()));
    let facts = if engine == Engine::Partitioned {
        report.name = "partitioned";
        let (facts, spill) = partitioned::facts(&dump, &file_lines, &setup, limit, spill_dir, sw)?;
        report.partitions = Some(spill.partitions);
        report.customer_partitions = Some(spill.customer_partitions);
        report.spilled_bytes = Some(spill.bytes);
        report.pairs_streamed = Some(spill.pairs_streamed);
        facts
    } else {
        memory::facts(&dump, &setup, sw)?
    };
    Ok((facts, report, paths))
}

/// The Spark engine reads Parquet and ISO-8601 timestamps only: CSV input and `--ts-format` are
/// refused (exit 2) before any cluster time is spent.
fn refuse_text_input(source: &Source, cols: &crate::config::Columns) -> Result<()> {
    if let Source::Local(r) = source {
        if let Some(f) = r.files.iter().find(|f| f.format != input::Format::Parquet) {
            return Err(Error::Config(format!(
                "engine spark reads Parquet files only, and {} is CSV; use a local engine (memory or partitioned), or write the dump as Parquet first",
                f.path.display()
            )));
        }
    }
    if let Some(fmt) = &cols.ts_format {
        return Err(Error::Config(format!(
            "engine spark reads ISO-8601 timestamps only; --ts-format `{fmt}` needs a local engine (memory or partitioned)"
        )));
    }
    Ok(())
}

/// A role column taken from hive partition folders: the Spark engine reads the files' own
/// columns only, so such a dump is refused (exit 2) before any cluster time is spent.
fn refuse_hive_roles(dump: &input::Dump, cols: &crate::config::Columns) -> Result<()> {
    let role_names =
        [&cols.customer.name, &cols.order, &cols.timestamp.name, &cols.product.name, &cols.cost.name, &cols.quantity.name];
    let named = |k: &String| {
        role_names.contains(&k)
            || cols.item.as_ref() == Some(k)
            || cols.amount.name.split(|ch: char| !(ch.is_alphanumeric() || ch == '_')).any(|w| w == k)
    };
    match dump.files.iter().flat_map(|f| f.hive.keys()).find(|k| named(k)) {
        Some(k) => Err(Error::Config(format!(
            "engine spark: the role column `{k}` comes from hive partition folders, which the Spark engine does not read; use a local engine"
        ))),
        None => Ok(()),
    }
}

/// The Spark engine's facts ([`spark`]); `known` is the dump's roles and line count when
/// evergreen read the files' footers itself (local inputs).
fn spark_facts(
    cfg: &Config,
    plan: Plan,
    mode: Mode,
    inputs: spark::SparkInputs,
    known: Option<(Present, u64)>,
    sw: &mut Stopwatch,
    work_root: &std::path::Path,
) -> Result<(Facts, EngineReport, Vec<PathBuf>)> {
    let listed = match &inputs {
        spark::SparkInputs::Remote(p) => p.iter().map(PathBuf::from).collect(),
        spark::SparkInputs::Local { .. } => Vec::new(),
    };
    let setup = Setup::new(cfg, plan, known.map(|k| k.0).unwrap_or_default());
    let (facts, spark_report) =
        spark::facts(inputs, &cfg.columns, &setup, known.map(|k| k.0), mode, &cfg.engine.spark, work_root, sw)?;
    let mut report =
        EngineReport::new("spark", cfg.engine.memory_limit_bytes, known.map(|k| k.1).unwrap_or(facts.counts.lines_read));
    report.spark = Some(spark_report);
    Ok((facts, report, listed))
}

/// Itemsets need a basket item (a product column or `--item-col`); sequence pairs also a customer
/// and a timestamp. A pattern table the plan asks for but [`Plan::given`] has to drop for the
/// dump's roles stops the run (exit 2) instead of being left out. `inputs` names the dump.
pub fn require_pattern_roles(plan: Plan, has: Present, inputs: &str, cols: &crate::config::Columns) -> Result<()> {
    let given = plan.given(has);
    if given.itemsets == plan.itemsets && given.sequences == plan.sequences {
        return Ok(());
    }
    Err(Error::Config(if !has.item {
        let column = cols.item.as_deref().unwrap_or(&cols.product.name);
        format!(
            "{inputs}: itemsets, sequence_pairs and sequence_patterns need a basket item, and column `{column}` is not in the dump; give --product-col or --item-col"
        )
    } else {
        format!(
            "{inputs}: sequence_pairs and sequence_patterns need a customer column (`{}`) and a timestamp column (`{}`)",
            cols.customer.name, cols.timestamp.name
        )
    }))
}

/// A product name names a product: without a product column it has nothing to name (exit 2).
pub fn require_product_for_names(has: Present, cols: &crate::config::Columns) -> Result<()> {
    match &cols.product_name {
        Some(name) if !has.product => Err(Error::Config(format!(
            "--product-name-col {name}: the dump has no product column `{}`; give --product-col",
            cols.product.name
        ))),
        _ => Ok(()),
    }
}

/// A dump with no line left after the cleaning rules is an error, not an empty output
/// ([`clean::require_lines`]).
pub fn require_lines(s: &Setup, k: &Counts) -> Result<()> {
    clean::require_lines(&s.inputs, k)
}

/// Sums of |amount|, |cost| and |discount| over lines (nulls read as 0), exact, to add up across
/// parts of a dump in any order. A non-finite value makes its sum NaN (then the check fails).
pub fn abs_money(lines: &DataFrame) -> Result<[AbsSum; 3]> {
    let abs_sum = |name: &str| -> Result<AbsSum> {
        let Ok(column) = lines.column(name) else { return Ok(AbsSum::default()) };
        let values = crate::kernels::codes::f64_values(column)?;
        let mut sum = AbsSum::default();
        for chunk in values.chunks() {
            sum.shown += chunk.iter().map(|v| v.abs()).sum::<f64>();
            for v in chunk {
                // Values beyond 2^56 saturate in fixed point: count them as too large at once.
                if !v.is_finite() || v.abs() >= 2f64.powi(56) {
                    sum.too_large = true;
                } else {
                    sum.exact = sum.exact.saturating_add(crate::kernels::money::exact(v.abs()));
                }
            }
        }
        Ok(sum)
    };
    Ok([abs_sum(c::AMOUNT)?, abs_sum(c::COST)?, abs_sum(c::DISCOUNT)?])
}

/// An exact sum of absolute money values, and whether some value was beyond any exact sum.
#[derive(Debug, Clone, Copy, Default)]
pub struct AbsSum {
    pub exact: crate::kernels::money::Exact,
    pub too_large: bool,
    /// The float sum, for the message only (the decision uses the exact sum).
    pub shown: f64,
}

impl AbsSum {
    /// Both parts of a dump together.
    pub fn add(&mut self, other: AbsSum) {
        self.exact = self.exact.saturating_add(other.exact);
        self.too_large |= other.too_large;
        self.shown += other.shown;
    }

    fn total(&self) -> f64 {
        if self.too_large {
            f64::INFINITY
        } else {
            crate::kernels::money::to_f64(self.exact)
        }
    }
}

/// Money sums are exact in minor units (cents at 2 decimals) only while they stay below 2^53 minor
/// units (the integers a 64-bit float holds exactly): 9.0e13 at 2 decimals, 9.0e9 at 6. The sum
/// of the absolute line amounts (and costs) bounds every sum a table holds, so when it is below
/// the limit no sum can overflow, lose a cent or become infinite; above it the run stops (exit 4).
pub fn check_money_range(s: &Setup, totals: [AbsSum; 3]) -> Result<()> {
    let limit = 2f64.powi(53) / 10f64.powi(s.money_decimals as i32);
    for (sum, role, column) in [
        (totals[0], "amount", s.amount_column.as_str()),
        (totals[1], "cost", s.cost_column.as_str()),
        (totals[2], "discount", s.discount_column.as_str()),
    ] {
        let total = sum.total();
        if total.is_nan() || total >= limit {
            return Err(Error::BadColumn {
                file: PathBuf::from(&s.inputs),
                column: column.to_string(),
                role,
                expected: format!(
                    "amounts whose absolute values add up to less than {limit:.3e} (2^53 minor units at {} money decimals), the largest money total that stays exact",
                    s.money_decimals
                ),
                found: format!("a total of {:.3e}", if sum.too_large { sum.shown } else { total }),
            });
        }
    }
    Ok(())
}

/// [`check_money_range`] over the used lines of the whole dump.
pub fn require_representable_money(s: &Setup, lines: &DataFrame) -> Result<()> {
    check_money_range(s, abs_money(lines)?)
}

/// The customer tables need at least one customer with a purchase order.
pub fn no_customers(s: &Setup, k: &Counts) -> Error {
    Error::Empty {
        what: s.inputs.clone(),
        reason: format!(
            "no customer has a purchase order ({} orders, {} purchase orders, {} guest lines)",
            k.orders, k.purchase_orders, k.guest_lines
        ),
    }
}
