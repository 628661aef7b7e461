//! The `run` job: input → cleaning → customers, scores, deciles → atomic output with manifest.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use polars::prelude::*;
use serde::Serialize;

use crate::config::Config;
use crate::customers;
use crate::deciles;
use crate::error::{Error, Result};
use crate::input::{self, col_names as c};
use crate::orders::{self, Counts};
use crate::output::{Staging, MANIFEST};
use crate::scores;

/// Per table: its file and row count, for the manifest.
#[derive(Debug, Clone, Serialize)]
pub struct TableInfo {
    pub file: String,
    pub rows: u64,
}

/// What `_manifest.json` holds.
#[derive(Debug, Serialize)]
pub struct Manifest {
    pub tool: &'static str,
    pub version: &'static str,
    pub arguments: Vec<String>,
    pub config: Config,
    pub as_of: String,
    pub input_files: Vec<String>,
    pub counts: Counts,
    pub tables: BTreeMap<String, TableInfo>,
    /// Seconds per stage.
    pub timings: BTreeMap<String, f64>,
}

/// The computed tables of a run, in memory, before writing.
pub struct Tables {
    pub as_of: chrono::NaiveDate,
    pub counts: Counts,
    pub files: Vec<PathBuf>,
    pub tables: Vec<(&'static str, DataFrame)>,
}

/// Seconds per stage, as the manifest reports them.
pub struct Stopwatch {
    t: Instant,
    timings: BTreeMap<String, f64>,
}

impl Stopwatch {
    /// Start timing now.
    pub fn start() -> Self {
        Stopwatch { t: Instant::now(), timings: BTreeMap::new() }
    }

    fn lap(&mut self, stage: &str) {
        let now = Instant::now();
        self.timings.insert(stage.to_string(), (now - self.t).as_secs_f64());
        self.t = now;
    }
}

/// Compute every table of the run without writing anything.
pub fn compute(cfg: &Config, sw: &mut Stopwatch) -> Result<Tables> {
    let files = input::resolve_inputs(&cfg.inputs)?;
    let dump = input::load(files, &cfg.columns)?;
    let d = cfg.money_decimals;
    let cleaned = orders::clean(dump.lines, cfg.as_of, d, dump.has_cost)?;
    sw.lap("scan_and_clean");
    if cleaned.counts.lines_used == 0 {
        return Err(Error::Empty {
            what: cfg.inputs.join(" "),
            reason: format!(
                "no line left after the cleaning rules ({} read, {} future, rejected {:?})",
                cleaned.counts.lines_read, cleaned.counts.future_lines, cleaned.counts.rejected
            ),
        });
    }

    let rfm = customers::rfm(cleaned.orders.clone().lazy(), cleaned.as_of, d, dump.has_cost);
    let with_fav = if dump.has_product {
        let fav = customers::favourite_products(orders::purchase_lines(&cleaned));
        rfm.join(fav, [col(c::CUSTOMER)], [col(c::CUSTOMER)], JoinArgs::new(JoinType::Left))
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
    let columns: Vec<Expr> = customers::columns(dump.has_cost).into_iter().map(col).collect();
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
    let monetary_deciles = deciles::monetary_deciles(cust.clone(), d, dump.has_cost).collect()?;
    let purchase_deciles = deciles::purchase_deciles(cust, d).collect()?;
    sw.lap("deciles");
    Ok(Tables {
        as_of: cleaned.as_of,
        counts: cleaned.counts,
        files: dump.files.into_iter().map(|f| f.path).collect(),
        tables: vec![
            ("customers", customers_df),
            ("score_bins", score_bins),
            ("monetary_deciles", monetary_deciles),
            ("purchase_deciles", purchase_deciles),
        ],
    })
}

/// Run the whole job: compute every table, then write them, the manifest and `_SUCCESS` into
/// `cfg.out` atomically. `arguments` are recorded in the manifest.
pub fn run(cfg: &Config, arguments: Vec<String>) -> Result<Manifest> {
    let mut sw = Stopwatch::start();
    let staging = Staging::new(&cfg.out)?;
    let mut computed = compute(cfg, &mut sw)?;
    let mut tables = BTreeMap::new();
    for (name, df) in computed.tables.iter_mut() {
        let file = staging.write_table(name, df)?;
        tables.insert(name.to_string(), TableInfo { file, rows: df.height() as u64 });
    }
    sw.lap("write");
    let manifest = Manifest {
        tool: "evergreen",
        version: env!("CARGO_PKG_VERSION"),
        arguments,
        config: cfg.clone(),
        as_of: computed.as_of.to_string(),
        input_files: computed.files.iter().map(|p| p.display().to_string()).collect(),
        counts: computed.counts,
        tables,
        timings: sw.timings,
    };
    let json = serde_json::to_string_pretty(&manifest).map_err(|e| Error::Internal(e.to_string()))?;
    staging.write_text(MANIFEST, &json)?;
    staging.commit()?;
    Ok(manifest)
}
