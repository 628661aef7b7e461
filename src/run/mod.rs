//! One job end to end: the plan ([`plan`]), the engine's facts, the table families' steps
//! ([`families`], looped over in [`compute`]), the queries, then the atomic output with its
//! manifest ([`manifest`]). The only module that knows every family; it decides the stages'
//! order and timing. `validate` and `compare` live beside it.

mod compare;
pub mod compute;
pub mod families;
pub mod manifest;
pub mod plan;
pub mod state;
mod validate;

use std::collections::BTreeMap;
use std::path::PathBuf;

use polars::prelude::*;

use crate::config::{Config, EngineChoice};
use crate::engine::{self, EngineReport, Source};
use crate::error::{Error, Result};
use crate::facts::Counts;
use crate::input;
use crate::output::{self, Staging, MANIFEST};
use crate::queries;
use crate::tables::basket::BasketStats;
use crate::tables::clv;
use crate::tables::patterns::PatternStats;

pub use crate::engine::stopwatch::Stopwatch;
pub use compare::compare;
pub use manifest::{with_as_of, CompareManifest, Manifest, SegmentsUsed, TableInfo};
pub use plan::Job;
pub use validate::{validate, ColumnInfo, OutCheck, PublishCheck, ValidateReport};

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

/// Compute every table of the job without writing anything.
pub fn compute_job(cfg: &Config, job: Job, sw: &mut Stopwatch) -> Result<Tables> {
    let plan = plan::plan(cfg, job)?;
    compute::compute(cfg, &plan, resolve(cfg)?, None, sw, None)
}

/// The inputs: local files resolved here, or, for the Spark engine, paths only Spark reads
/// (`hdfs://`, `s3a://`...), passed on as they are.
fn resolve(cfg: &Config) -> Result<Source> {
    let remote = cfg.inputs.iter().filter(|p| engine::spark::is_remote(p)).count();
    if remote == 0 {
        return Ok(Source::Local(input::resolve_inputs(&cfg.inputs)?));
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
    Ok(Source::Remote(cfg.inputs.clone()))
}

/// Where the partitioned engine spills: `--spill-dir`, else the folder that holds `--out`.
pub fn spill_root(cfg: &Config) -> PathBuf {
    cfg.engine.spill_dir.clone().unwrap_or_else(|| match cfg.out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    })
}

/// Compute the `run` tables (kept for callers that only want those).
pub fn compute(cfg: &Config, sw: &mut Stopwatch) -> Result<Tables> {
    compute_job(cfg, Job::Run, sw)
}

/// The run's queries, checked before any data is read. The shipped segment map needs bins = 5.
pub(crate) fn load_queries(cfg: &Config) -> Result<queries::QuerySet> {
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
    let plan = plan::plan(cfg, job)?;
    let source = resolve(cfg)?;
    let paths: Vec<PathBuf> = match &source {
        Source::Local(r) => r.files.iter().map(|f| f.path.clone()).collect(),
        Source::Remote(_) => Vec::new(),
    };
    output::check_not_input(&cfg.out, &cfg.inputs, &paths, &output_tables())?;
    if let Some(dir) = &cfg.engine.state {
        // A glob over the inputs must not match the state's parts either.
        output::check_not_input(dir, &cfg.inputs, &paths, &[&state::part_stem(0)])?;
        let (state, out) = (output::resolved(dir), output::resolved(&cfg.out));
        if state.starts_with(&out) || out.starts_with(&state) {
            return Err(Error::Config(
                "--state: the state folder and the output folder must not be the same or one inside the other; give another DIR"
                    .into(),
            ));
        }
    }
    let early = if cfg.output.partition_by_as_of {
        output::check_partition_root(&cfg.out)?;
        None
    } else {
        Some(Staging::new(&cfg.out, lock_timeout)?)
    };
    // `--state`: the state folder locked, the run found incremental or full, the new lines kept.
    let mut prepared = match &source {
        Source::Local(r) => state::prepare(cfg, plan.mode, r)?,
        Source::Remote(_) if cfg.engine.state.is_some() => {
            return Err(Error::Config("--state: remote inputs are read by the Spark engine, which makes full runs only".into()))
        }
        Source::Remote(_) => None,
    };
    if prepared.is_some() {
        sw.lap("state_write");
    }
    let (source, increment) = match &prepared {
        Some(p) => (Source::Local(p.source.clone()), p.increment.clone()),
        None => (source, None),
    };
    // Tables that no query reads are written into the staging folder as soon as they are made
    // (not with --partition-by-as-of, whose folder is known only after the facts).
    let mut tables = BTreeMap::new();
    let mut computed = match &early {
        Some(staging) => {
            let mut sink = |name: &str, df: &mut polars::prelude::DataFrame| -> Result<()> {
                let (file, blake3) = staging.write_table(name, df)?;
                tables.insert(name.to_string(), TableInfo { file, rows: df.height() as u64, blake3 });
                Ok(())
            };
            compute::compute(cfg, &plan, source, increment.as_ref(), &mut sw, Some(&mut sink))?
        }
        None => compute::compute(cfg, &plan, source, increment.as_ref(), &mut sw, None)?,
    };
    let staging = match early {
        Some(s) => s,
        None => {
            let as_of = computed.as_of.ok_or_else(|| {
                Error::Config("--partition-by-as-of needs a timestamp column (the partition is the as_of date)".into())
            })?;
            Staging::new(&output::partition_dir(&cfg.out, as_of)?, lock_timeout)?
        }
    };
    // The state finished beside its folder, naming this output (swapped in after it).
    if let Some(p) = prepared.as_mut() {
        p.ready(&staging.target(), computed.as_of)?;
    }
    // The rest are encoded and written in parallel (each to its own file).
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
        // With a state, every input file (the engine read the older ones' lines from the state).
        input_files: if prepared.is_some() { paths.iter() } else { computed.files.iter() }
            .map(|p| p.display().to_string())
            .collect(),
        state: prepared.as_ref().map(|p| p.final_report()),
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
    // The state after the output: a crash before the output's swap leaves both as they were; one
    // between the swaps leaves the state finished beside its folder, and the next run swaps it in.
    if let Some(p) = prepared {
        crate::error::crash_point("before-state-swap");
        p.commit()?;
    }
    drop(sw);
    Ok(Manifest { out: written, ..manifest })
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
