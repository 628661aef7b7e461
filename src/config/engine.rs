//! Which engine computes the facts, its memory, and the Spark engine's cluster settings.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::options;
use crate::error::{Error, Result};

/// Which engine computes the facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum EngineChoice {
    /// The memory engine when the dump's estimated peak (110 bytes a line) fits --memory-limit,
    /// the partitioned engine otherwise.
    Auto,
    /// The whole dump's needed columns in memory.
    Memory,
    /// Stream the dump into a spill folder partitioned by order; memory follows --memory-limit.
    Partitioned,
    /// Compute the line-level facts on Apache Spark (`spark-submit` with the runner and SQL of
    /// src/engine/spark/), then the tables here, from the facts.
    Spark,
}

options! {
    /// Which engine computes the facts, and its memory: the flags and the config file's keys.
    pub struct EngineSettings {
        /// auto: the memory engine when the dump's estimated peak (110 bytes a line, from the Parquet
        /// footers) fits --memory-limit, else partitioned. memory: the whole dump's needed columns in
        /// memory. partitioned: stream the dump slice by slice into --spill-dir, partitioned by order,
        /// holding about --memory-limit. Every engine writes the same tables, byte for byte [default: auto].
        #[arg(long, env = "EVERGREEN_ENGINE", value_enum)]
        pub engine: Option<EngineChoice>,
        /// Memory the run may hold, e.g. 4GB or 512MiB; picks the engine and sizes the partitioned
        /// engine's partitions [default: 3GB, or half the machine's memory when less].
        #[arg(long, env = "EVERGREEN_MEMORY_LIMIT", value_name = "SIZE")]
        pub memory_limit: Option<String>,
        /// Folder for the partitioned engine's spill files (a `.evergreen-spill-*` folder inside it,
        /// removed at the end, or by the next run after a crash) [default: the folder holding --out].
        #[arg(long, env = "EVERGREEN_SPILL_DIR", value_name = "DIR")]
        pub spill_dir: Option<PathBuf>,
        /// Order partitions of the partitioned engine [default: enough that one partition's lines
        /// take half of --memory-limit].
        #[arg(long, env = "EVERGREEN_PARTITIONS", value_parser = clap::value_parser!(u32).range(1..=4096))]
        pub partitions: Option<u32>,
        /// --engine spark: the cluster, as `spark-submit --master` takes it: local[*], local[N],
        /// spark://host:7077, yarn, k8s://https://host:443 [default: local[*]].
        #[arg(long, env = "EVERGREEN_SPARK_MASTER", value_name = "URL")]
        pub spark_master: Option<String>,
        /// --engine spark: a Spark setting passed to spark-submit as --conf KEY=VALUE, e.g.
        /// spark.executor.memory=8g; repeatable.
        #[arg(long, value_name = "KEY=VALUE")]
        #[serde(default)]
        pub spark_conf: Vec<String>,
        /// --engine spark: a folder the cluster can write (local, hdfs://, s3a://) where the job stages
        /// its facts, in a run-unique folder removed after [default: evergreen's local work folder,
        /// beside --out, which only a local or single-machine cluster can write].
        #[arg(long, env = "EVERGREEN_SPARK_STAGING", value_name = "URI")]
        pub spark_staging: Option<String>,
        /// --engine spark: the spark-submit to start [default: $SPARK_HOME/bin/spark-submit, else
        /// spark-submit on PATH (pip install pyspark provides one)].
        #[arg(long, env = "EVERGREEN_SPARK_SUBMIT", value_name = "PATH")]
        pub spark_submit: Option<PathBuf>,
        /// Keep the lines read in state folder DIR, so the next run with the same DIR reads only
        /// the input files it has not read yet (an incremental run, the same tables byte for byte);
        /// a file changed or gone, or other line settings, make a full run. Local engines only.
        #[arg(long, env = "EVERGREEN_STATE", value_name = "DIR")]
        pub state: Option<PathBuf>,
        /// With --state: stop (exit 2) instead of making a full run when the run cannot be incremental.
        #[arg(long, env = "EVERGREEN_INCREMENTAL_ONLY", num_args = 0, default_missing_value = "true",
              value_parser = clap::builder::BoolishValueParser::new())]
        pub incremental_only: Option<bool>,
        /// With --state: read every input file again and write the state anew (a full run).
        #[arg(long, env = "EVERGREEN_FULL_RUN", num_args = 0, default_missing_value = "true",
              value_parser = clap::builder::BoolishValueParser::new(), conflicts_with = "incremental_only")]
        pub full_run: Option<bool>,
    }
}

/// The engine settings after defaults and checks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EngineOptions {
    #[serde(rename = "engine")]
    pub choice: EngineChoice,
    /// Bytes the run may hold (default: 3 GB, or half the machine's memory when less).
    pub memory_limit_bytes: u64,
    /// Where the partitioned engine spills (default: the folder holding `out`).
    pub spill_dir: Option<PathBuf>,
    /// The partitioned engine's order partitions (default: planned from the memory limit).
    pub partitions: Option<u32>,
    /// The Spark engine's cluster and submit settings.
    pub spark: SparkOptions,
    /// `--state DIR`: the incremental state folder (issue 33).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<PathBuf>,
    /// `--incremental-only`: exit 2 rather than a full run.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub incremental_only: bool,
    /// `--full-run`: read every file again and write the state anew.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub full_run: bool,
}

impl EngineSettings {
    /// The engine settings after defaults and checks.
    pub fn resolve(self) -> Result<EngineOptions> {
        if self.state.is_none() && (self.incremental_only == Some(true) || self.full_run == Some(true)) {
            let flag = if self.full_run == Some(true) { "--full-run" } else { "--incremental-only" };
            return Err(Error::Config(format!("{flag} needs --state DIR (the state folder it is about)")));
        }
        Ok(EngineOptions {
            choice: self.engine.unwrap_or(EngineChoice::Auto),
            memory_limit_bytes: match self.memory_limit.as_deref() {
                Some(v) => parse_bytes(v)?,
                None => default_memory_limit(),
            },
            spill_dir: self.spill_dir,
            partitions: match self.partitions {
                Some(0) => return Err(Error::Config("partitions: expected at least 1, found 0".into())),
                p => p,
            },
            spark: SparkOptions {
                master: self.spark_master.unwrap_or_else(|| "local[*]".to_string()),
                conf: SparkOptions::parse_conf(&self.spark_conf)?,
                staging: self.spark_staging,
                submit: self.spark_submit,
                service: std::env::var_os("EVERGREEN_SPARK_SERVICE").filter(|v| !v.is_empty()).map(PathBuf::from),
            },
            incremental_only: self.incremental_only.unwrap_or(false),
            full_run: self.full_run.unwrap_or(false),
            state: self.state,
        })
    }
}

/// Where and how the Spark engine submits its job (`--spark-*`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SparkOptions {
    /// `local[*]`, `spark://host:7077`, `yarn`, `k8s://...`: passed to `spark-submit --master`.
    pub master: String,
    /// `--conf KEY=VALUE` pairs passed to `spark-submit`, in order (in the manifest, the values of
    /// credential keys are redacted: see [`SparkOptions::redact`]).
    #[serde(serialize_with = "redacted_conf")]
    pub conf: Vec<(String, String)>,
    /// A folder the cluster can write (local, `hdfs://`, `s3a://`); the facts are staged in a
    /// run-unique folder inside it and removed after. Default: evergreen's local work folder.
    pub staging: Option<String>,
    /// The `spark-submit` to start (default: `$SPARK_HOME/bin/spark-submit`, else on PATH).
    pub submit: Option<PathBuf>,
    /// `EVERGREEN_SPARK_SERVICE=SPOOL` (environment only): hand the job to a resident runner
    /// (`spark-submit runner.py --serve SPOOL`) instead of starting spark-submit, so many jobs
    /// share one Spark session (CI's Spark stage; a scheduler running many jobs). Not in the
    /// manifest: it changes where the job runs, never what it computes.
    #[serde(skip)]
    pub service: Option<PathBuf>,
}

fn redacted_conf<S: serde::Serializer>(conf: &[(String, String)], ser: S) -> std::result::Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = ser.serialize_seq(Some(conf.len()))?;
    for (k, v) in conf {
        seq.serialize_element(&(k, SparkOptions::redact(k, v)))?;
    }
    seq.end()
}

impl SparkOptions {
    /// A setting's value as the manifest may record it: `<redacted>` for keys that name a secret
    /// (secret, password, token, credential, access key), the value itself otherwise.
    pub fn redact<'a>(key: &str, value: &'a str) -> &'a str {
        let k = key.to_ascii_lowercase();
        if ["secret", "password", "token", "credential", "access.key", "accesskey"].iter().any(|w| k.contains(w)) {
            "<redacted>"
        } else {
            value
        }
    }

    /// Command-line arguments with the values of secret `--spark-conf` settings redacted.
    pub fn redact_arguments(args: &[String]) -> Vec<String> {
        super::redact_flag_values(args, &["--spark-conf"], &|kv| match kv.split_once('=') {
            Some((k, v)) => format!("{k}={}", SparkOptions::redact(k, v)),
            None => kv.to_string(),
        })
    }

    /// `--spark-conf` values as pairs; each must be `KEY=VALUE` with a non-empty key.
    pub fn parse_conf(values: &[String]) -> Result<Vec<(String, String)>> {
        values
            .iter()
            .map(|v| match v.split_once('=') {
                Some((k, val)) if !k.trim().is_empty() => Ok((k.trim().to_string(), val.to_string())),
                _ => Err(Error::Config(format!("spark_conf: expected KEY=VALUE, found `{v}`"))),
            })
            .collect()
    }
}

/// The default memory limit: 3 GB, or half the machine's memory (MemTotal in /proc/meminfo) when
/// that is less. Dumps up to about 27M lines then run in memory (the fastest way), larger ones in
/// the partitioned engine, which is about as fast at 100M lines and leaves the rest of a shared
/// warehouse machine alone; `--memory-limit` raises it.
pub const DEFAULT_MEMORY_LIMIT: u64 = 3_000_000_000;

pub fn default_memory_limit() -> u64 {
    let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        m.lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<u64>().ok()))
    });
    total.map(|kb| (kb * 1024 / 2).min(DEFAULT_MEMORY_LIMIT)).unwrap_or(DEFAULT_MEMORY_LIMIT)
}

/// A byte size: a number with an optional unit (B, KB, MB, GB, TB in powers of 1000; KiB, MiB,
/// GiB, TiB in powers of 1024; case ignored), e.g. `4GB`, `512MiB`, `2000000`.
pub fn parse_bytes(s: &str) -> Result<u64> {
    let t = s.trim();
    let split = t.find(|ch: char| !(ch.is_ascii_digit() || ch == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" | "k" => 1_000,
        "mb" | "m" => 1_000_000,
        "gb" | "g" => 1_000_000_000,
        "tb" | "t" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => 0,
    };
    match num.parse::<f64>() {
        Ok(v) if scale > 0 && v.is_finite() && v * scale as f64 >= 1.0 && v * (scale as f64) < 1.8e19 => {
            Ok((v * scale as f64) as u64)
        }
        _ => Err(Error::Config(format!("memory_limit: expected a size such as 4GB or 512MiB, found `{s}`"))),
    }
}
