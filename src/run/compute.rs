//! A job's tables, in memory: the engine's facts for the plan, then each planned family's step in
//! registry order (each family's facts freed once no later family reads them), then the queries.

use crate::config::Config;
use crate::engine::stopwatch::Stopwatch;
use crate::engine::{self, Source};
use crate::error::{Error, Result};
use crate::facts::Plan;
use crate::input;
use crate::output;
use crate::queries;
use crate::tables::{Family, REGISTRY};

use super::compare::Earlier;
use super::families::{self, Work, FAMILIES};
use super::manifest::{revenue_counts, segments_used, with_as_of};
use super::plan::JobPlan;
use super::{spill_root, Tables};

/// Where a table may go as soon as it is made, instead of being held until every table is done:
/// the run's staging folder. Called with the table's name and its final frame.
pub type Sink<'a> = &'a mut dyn FnMut(&str, &mut polars::prelude::DataFrame) -> Result<()>;

/// Every table of the planned job, over input `source`. Without `sink` nothing is written and
/// every table is returned; with it, the families' tables that no query reads go to `sink` before
/// the queries run (and are not returned), so they no longer add to the peak memory.
/// With `inc` (an incremental run, issue 33), `source` holds the new files and the engines read
/// the state's parts beside them.
pub fn compute(
    cfg: &Config,
    plan: &JobPlan,
    source: Source,
    inc: Option<&engine::Increment>,
    sw: &mut Stopwatch,
    sink: Option<Sink>,
) -> Result<Tables> {
    let queries = plan.queries.as_ref();
    // The segment query's digest: for the manifest, and to compare snapshots.
    let segments = queries.map(|set| segments_used(cfg, set));
    // `--compare-with`: the snapshot found and its settings checked before any data is read.
    let earlier = match (&cfg.compare_with, &segments) {
        (Some(dir), Some(used)) if plan.migration => Some(Earlier::prepare(cfg, dir, used)?),
        _ => None,
    };
    let skipped = match &source {
        Source::Local(files) => files.skipped.clone(),
        Source::Remote(_) => input::Skipped::default(),
    };
    // The holdout check's calibration facts: the same engine on the lines before the holdout date.
    let calibration = match plan.holdout_from {
        Some(from) => {
            let cal_cfg = Config { as_of: Some(from), ..cfg.clone() };
            let cal_plan = families::needs(Family::Clv, cfg);
            let (f, _, _) = engine::facts(&cal_cfg, cal_plan, plan.mode, source.clone(), inc, &spill_root(cfg), sw)?;
            sw.lap("clv_holdout_facts");
            Some((f.customers.ok_or_else(|| Error::Internal("holdout without customer facts".into()))?, from))
        }
        None => None,
    };
    let (facts, report, paths) = engine::facts(cfg, plan.facts, plan.mode, source, inc, &spill_root(cfg), sw)?;
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
    let mut counts = facts.counts.clone();
    if let Some(d) = &facts.days {
        counts.revenue = Some(revenue_counts(d, cfg.output.money_decimals));
    }
    let as_of = facts.as_of;
    let mut w = Work {
        cfg,
        facts,
        calibration,
        tables: Vec::new(),
        clv_table: None,
        clv: None,
        basket: None,
        patterns: None,
        peak_after_facts: output::peak_memory_bytes(),
        sw,
    };
    let planned: Vec<_> = FAMILIES.iter().filter(|(f, _)| plan.families.contains(f)).collect();
    let mut sink = sink;
    // The tables some query reads: they stay in memory until the queries have run.
    let read_by_queries: std::collections::BTreeSet<String> = queries
        .map(|set| {
            [Some(&set.segments), set.descriptions.as_ref(), set.lifecycle.as_ref()]
                .into_iter()
                .flatten()
                .chain(set.others.iter())
                .flat_map(|q| queries::tables_read(&q.sql))
                .collect()
        })
        .unwrap_or_default();
    for (i, (_, step)) in planned.iter().enumerate() {
        step(&mut w)?;
        let later = planned[i + 1..].iter().fold(Plan::NOTHING, |p, (f, _)| p.and(families::needs(*f, cfg)));
        w.release(later);
        // What nothing later reads leaves memory now, not at the end.
        if let Some(s) = sink.as_mut() {
            w.tables = write_early(std::mem::take(&mut w.tables), &read_by_queries, plan, as_of, &mut **s)?;
            w.sw.lap_sum("write_early");
        }
    }
    drop(w.calibration.take());
    // The families' tables in the registry's order (the queries' come after).
    w.tables.sort_by_key(|(name, _)| REGISTRY.iter().position(|(n, _)| n == name));
    let mut tables = w.tables;
    let mut compared_with = None;
    if let Some(set) = queries {
        queries::run_segments(set, cfg, as_of, &mut tables)?;
        // The migration tables come before the other queries, so a query can read them.
        if let (Some(earlier), Some(as_of), Some(used)) = (earlier, as_of, &segments) {
            compared_with = earlier.migrate(cfg, as_of, used, &mut tables)?;
            w.sw.lap("migration");
        }
        match sink.as_mut() {
            Some(s) => {
                let mut emit = |name: &str, df: polars::prelude::DataFrame| emit_table(name, df, plan, as_of, &mut **s);
                queries::run_others(set, cfg, as_of, &mut tables, Some(&mut emit))?
            }
            None => queries::run_others(set, cfg, as_of, &mut tables, None)?,
        }
        w.sw.lap("queries");
    }
    if !plan.tables.is_empty() {
        // `--tables`: the tables wanted, not those computed only because a wanted one reads them.
        tables.retain(|(name, _)| plan.tables.contains(name));
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
        basket: w.basket,
        clv: w.clv,
        patterns: w.patterns,
        files: paths,
        skipped,
        tables,
    })
}

/// The families' tables that nothing after them reads, written to `sink` (with their as_of
/// column) and dropped; the rest returned. `customers` stays (the segment query writes its
/// columns, migration reads it), and so does every table a query names. A table made only
/// because a wanted one reads it (`--tables`) is dropped unwritten.
fn write_early(
    tables: Vec<(String, polars::prelude::DataFrame)>,
    read: &std::collections::BTreeSet<String>,
    plan: &JobPlan,
    as_of: Option<chrono::NaiveDate>,
    sink: Sink,
) -> Result<Vec<(String, polars::prelude::DataFrame)>> {
    let mut kept = Vec::new();
    for (name, df) in tables {
        if name == "customers" || read.contains(&name) {
            kept.push((name, df));
            continue;
        }
        emit_table(&name, df, plan, as_of, &mut *sink)?;
    }
    Ok(kept)
}

/// A finished table to `sink`, with its as_of column; a table made only because a wanted one
/// reads it (`--tables`) is dropped unwritten.
fn emit_table(
    name: &str,
    mut df: polars::prelude::DataFrame,
    plan: &JobPlan,
    as_of: Option<chrono::NaiveDate>,
    sink: Sink,
) -> Result<()> {
    if !plan.tables.is_empty() && !plan.tables.iter().any(|t| t == name) {
        return Ok(());
    }
    if let Some(d) = as_of {
        with_as_of(&mut df, d)?;
    }
    sink(name, &mut df)
}
