//! The subcommands and their flags. Each subcommand flattens only the option groups it uses
//! (`crate::config`'s groups, each defined once with its environment variable and config key);
//! [`JobFlags`] turns a job's flags into a settings layer laid over the config file.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use super::help::*;
use crate::config::{
    as_of_parser, BasketLimits, BasketOptions, ClvSettings, ColumnSettings, EngineSettings, LineSettings, PatternSettings, OutputSettings, ScoreSettings, Settings, SqlSettings,
    SwitchingSettings, TrendSettings,
};
use crate::error::Result;
use crate::run::Job;

/// evergreen's command line.
#[derive(Debug, Parser)]
#[command(name = "evergreen", version, about = ABOUT)]
pub struct Cli {
    /// More log detail on stderr: -v debug (stage timings), -vv trace. Overrides EVERGREEN_LOG.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Log errors only.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Log format on stderr: text for people, json (one object per line) for schedulers.
    #[arg(long, global = true, value_enum, env = "EVERGREEN_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compute the customer tables from a dump and write them into --out.
    #[command(long_about = RUN_LONG)]
    Run(RunArgs),
    /// Compute products, basket_pairs and top_pairs only; needs just an order and an item column.
    #[command(long_about = BASKET_LONG)]
    Basket(BasketArgs),
    /// Fit the CLV models (BG/NBD, MBG/NBD, Pareto/NBD, Gamma-Gamma) and write clv and clv_params
    /// (and clv_holdout) only.
    #[command(long_about = CLV_LONG)]
    Clv(ClvArgs),
    /// Mine frequent itemsets and association rules (itemsets, rules) and, with --sequences, the
    /// sequence pairs (sequence_pairs) only.
    #[command(long_about = PATTERNS_LONG)]
    Patterns(PatternsArgs),
    /// Write segment_migration and decile_migration: how customers moved between two snapshots.
    #[command(long_about = COMPARE_LONG)]
    Compare(CompareArgs),
    /// Run ad-hoc SQL over an output folder; print the result or write it to --out.
    Query(QueryArgs),
    /// Load an output's tables into PostgreSQL (binary COPY, one transaction, swapped in whole).
    #[command(long_about = PUBLISH_LONG)]
    Publish(PublishArgs),
    /// Write one self-contained HTML page with charts of an output (no network needed to view it).
    #[command(long_about = REPORT_LONG)]
    Report(ReportArgs),
    /// Check inputs, column roles and the segment map; print the resolved schema, row and
    /// rejection counts. Writes nothing; exit codes as for `run`.
    Validate(ValidateArgs),
    /// Print what a --state folder holds: its input files, lines, parts, bytes and the as-of of the
    /// run that wrote it. Writes nothing.
    State(StateArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) built from these definitions.
    Man,
}

/// What every job takes (`run`, `basket`, `clv`, `patterns`, `validate`): the dump, the output
/// folder, the config file and the analysis date.
#[derive(Debug, Args)]
pub struct JobArgs {
    /// Parquet file, folder (recursive, hive partitions) or glob; repeatable, each value one path
    /// (commas included). The EVERGREEN_INPUT variable may list several paths separated by commas.
    #[arg(long, short = 'i', num_args = 1..)]
    pub input: Vec<String>,
    /// Output folder; replaced atomically (must be absent, empty or a previous evergreen output).
    #[arg(long, short = 'o', env = "EVERGREEN_OUT")]
    pub out: Option<PathBuf>,
    /// TOML config file (same keys as the flags; flags win).
    #[arg(long, env = "EVERGREEN_CONFIG")]
    pub config: Option<PathBuf>,
    /// Analysis date D (YYYY-MM-DD); lines on or after D are excluded as future lines.
    #[arg(long, env = "EVERGREEN_AS_OF", value_parser = as_of_parser)]
    pub as_of: Option<String>,
}

/// Publishing the output and its report after a job (`run`, `basket`, `clv`, `patterns`).
#[derive(Debug, Args)]
#[command(next_help_heading = "Publishing")]
pub struct PublishingArgs {
    /// After the run, load its tables into this PostgreSQL database (see `evergreen publish`);
    /// a failed load is exit 5 and leaves the written output in place.
    #[arg(long, env = "EVERGREEN_PUBLISH", value_name = "URL")]
    pub publish: Option<String>,
    /// With --publish: the schema [default: evergreen] (see `evergreen publish --schema`).
    #[arg(
        long,
        env = "EVERGREEN_PUBLISH_SCHEMA",
        value_name = "NAME",
        default_value = "evergreen"
    )]
    pub publish_schema: String,
    /// With --publish: add the snapshot to the schema's tables (see `evergreen publish --append`).
    #[arg(long, env = "EVERGREEN_PUBLISH_APPEND")]
    pub publish_append: bool,
    /// With --publish: replace the schema even when objects outside it (a view) read its tables,
    /// dropping them (see `evergreen publish --drop-dependents`).
    #[arg(long, env = "EVERGREEN_PUBLISH_DROP_DEPENDENTS")]
    pub publish_drop_dependents: bool,
    /// After the run, write the HTML report of its output here (see `evergreen report`; with
    /// --partition-by-as-of, of the whole root: its latest partition and the KPI lines). Checked
    /// before the run (exit 2 not .html, 5 inside --out); a report failing after the run leaves the
    /// output in place.
    #[arg(long, env = "EVERGREEN_REPORT", value_name = "FILE.html")]
    pub report: Option<PathBuf>,
}

/// The groups every job takes after its own (in this order in each `--help`): the output, the
/// engine, the column roles, the line filters and publishing.
#[derive(Debug, Args)]
pub struct SharedArgs {
    #[command(flatten)]
    pub output: OutputSettings,
    #[command(flatten)]
    pub engine: EngineSettings,
    #[command(flatten)]
    pub columns: ColumnSettings,
    #[command(flatten)]
    pub lines: LineSettings,
    #[command(flatten)]
    pub publishing: PublishingArgs,
}

/// Flags of `run`: every family's groups.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub job: JobArgs,
    #[command(flatten)]
    pub scores: ScoreSettings,
    #[command(flatten)]
    pub basket: BasketOptions,
    #[command(flatten)]
    pub sql: SqlSettings,
    #[command(flatten)]
    pub shared: SharedArgs,
    #[command(flatten)]
    pub clv: ClvSettings,
    #[command(flatten)]
    pub patterns: PatternSettings,
    #[command(flatten)]
    pub trends: TrendSettings,
    #[command(flatten)]
    pub switching: SwitchingSettings,
    /// Also write segment_migration and decile_migration against an earlier output DIR (or, for a
    /// root of as_of= partitions, its latest complete partition before this run's as-of).
    #[arg(
        long,
        env = "EVERGREEN_COMPARE_WITH",
        value_name = "DIR",
        help_heading = "Trends, cohorts, kpis and tiers (run)"
    )]
    pub compare_with: Option<std::path::PathBuf>,
}

/// Flags of `basket`: the pair table's, and what every job takes.
#[derive(Debug, Args)]
pub struct BasketArgs {
    #[command(flatten)]
    pub job: JobArgs,
    #[command(flatten)]
    pub basket: BasketOptions,
    #[command(flatten)]
    pub shared: SharedArgs,
}

/// Flags of `clv`: the CLV models', and what every job takes.
#[derive(Debug, Args)]
pub struct ClvArgs {
    #[command(flatten)]
    pub job: JobArgs,
    #[command(flatten)]
    pub shared: SharedArgs,
    #[command(flatten)]
    pub clv: ClvSettings,
}

/// Flags of `patterns`: the pattern family's and the basket limit (--max-basket-items), and
/// what every job takes.
#[derive(Debug, Args)]
pub struct PatternsArgs {
    #[command(flatten)]
    pub job: JobArgs,
    #[command(flatten)]
    pub basket: BasketLimits,
    #[command(flatten)]
    pub shared: SharedArgs,
    #[command(flatten)]
    pub patterns: PatternSettings,
}

/// A job's flags split into what every job takes, its settings layer (the groups the subcommand
/// has; the others stay unset, so the config file or the defaults decide) and its publishing.
pub(super) struct JobFlags {
    pub(super) job: JobArgs,
    pub(super) flags: Settings,
    pub(super) publishing: PublishingArgs,
}

impl SharedArgs {
    /// The job's flags: `own` (the layer of the subcommand's own groups) with the shared groups.
    fn with(self, job: JobArgs, own: Settings) -> JobFlags {
        let flags =
            Settings { output: self.output, engine: self.engine, columns: self.columns, lines: self.lines, ..own };
        JobFlags { job, flags, publishing: self.publishing }
    }
}

impl RunArgs {
    pub(super) fn split(self) -> JobFlags {
        let own = Settings {
            scores: self.scores,
            basket: self.basket,
            sql: self.sql,
            clv: self.clv,
            patterns: self.patterns,
            trends: self.trends,
            switching: self.switching,
            compare_with: self.compare_with,
            ..Settings::default()
        };
        self.shared.with(self.job, own)
    }
}

impl BasketArgs {
    pub(super) fn split(self) -> JobFlags {
        self.shared.with(self.job, Settings { basket: self.basket, ..Settings::default() })
    }
}

impl ClvArgs {
    pub(super) fn split(self) -> JobFlags {
        self.shared.with(self.job, Settings { clv: self.clv, ..Settings::default() })
    }
}

impl PatternsArgs {
    pub(super) fn split(self) -> JobFlags {
        let basket = BasketOptions { limits: self.basket, ..BasketOptions::default() };
        self.shared.with(self.job, Settings { basket, patterns: self.patterns, ..Settings::default() })
    }
}

/// `--no-itemsets` given to `run` or `validate`, which take the pattern flags for
/// `run --itemsets/--sequences` but where it would do nothing. (Each subcommand has only its own
/// groups of flags, so a scheduler's variables for another command's flags are never read.)
pub(super) fn misplaced_no_itemsets(patterns: &PatternSettings, job: Job) -> Option<&'static str> {
    (patterns.no_itemsets && job != Job::Patterns).then_some("--no-itemsets")
}

/// Flags of `validate`: those of `run`, and the report's format.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// The report: text for people, json (one object) for schedulers.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub format: LogFormat,
}

/// Flags of `state`.
#[derive(Debug, Args)]
pub struct StateArgs {
    /// The state folder (a --state DIR of an earlier run).
    #[arg(value_name = "DIR")]
    pub dir: std::path::PathBuf,
    /// text for people, json (the state's manifest) for schedulers.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub format: LogFormat,
}

/// Flags of `compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The earlier snapshot: an output folder of `run` (an as_of=YYYY-MM-DD partition is one), or
    /// a root of as_of partitions (its latest complete one).
    #[arg(long)]
    pub from: PathBuf,
    /// The later snapshot, likewise (a root: its latest complete partition).
    #[arg(long)]
    pub to: PathBuf,
    /// Output folder for the two tables; replaced atomically (absent, empty or evergreen's own).
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Seconds to wait when another evergreen run is writing the same --out; then exit 5.
    #[arg(long, env = "EVERGREEN_LOCK_TIMEOUT", value_name = "SECONDS", default_value_t = 0)]
    pub lock_timeout: u64,
}

/// Where `publish` (and `run --publish`) loads the tables.
#[derive(Debug, Args, Clone)]
pub struct PostgresArgs {
    /// Schema to publish into [default: evergreen]; a plain name (letters, digits, _).
    #[arg(long, env = "EVERGREEN_PUBLISH_SCHEMA", value_name = "NAME", default_value = "evergreen")]
    pub schema: String,
    /// Add this snapshot to the schema's tables (rows of the same as_of are replaced) instead of
    /// replacing the schema.
    #[arg(long, env = "EVERGREEN_PUBLISH_APPEND")]
    pub append: bool,
    /// Replace the schema even when objects outside it (a view in another schema) read its tables:
    /// they are dropped with it. Without it such a schema is loaded in place (its tables keep
    /// their identity) when the columns match, else refused (exit 5).
    #[arg(long, env = "EVERGREEN_PUBLISH_DROP_DEPENDENTS")]
    pub drop_dependents: bool,
}

/// Flags of `publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// An evergreen output folder, or a root of as_of=YYYY-MM-DD partitions (its latest complete one).
    #[arg(long, env = "EVERGREEN_TABLES")]
    pub tables: PathBuf,
    /// postgresql://user@host[:port]/database or libpq key=value words; keep the password out of it: PGPASSWORD, PGPASSFILE (~/.pgpass) or PGSERVICE (it is shown as *** wherever printed).
    #[arg(long, env = "EVERGREEN_POSTGRES", value_name = "URL")]
    pub postgres: String,
    #[command(flatten)]
    pub target: PostgresArgs,
    /// Print the report as one JSON object.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub format: LogFormat,
}

/// Flags of `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// An evergreen output folder, or a root of as_of=YYYY-MM-DD partitions (its latest complete
    /// one is charted; the kpis of every partition make the KPI lines).
    #[arg(long, env = "EVERGREEN_TABLES")]
    pub tables: PathBuf,
    /// The page to write (.html), outside the output folder; replaced atomically.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Print what was written as one JSON object.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub format: LogFormat,
}

/// Flags of `query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// An evergreen output folder; each TABLE.parquet in it is a table of that name. A root of
    /// as_of=YYYY-MM-DD partitions reads every complete partition, with as_of as a column.
    #[arg(long, env = "EVERGREEN_TABLES")]
    pub tables: PathBuf,
    /// Write the result to FILE (.parquet, .csv or .xlsx) instead of printing it.
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// How to print the result: table (aligned, for people), csv, json or markdown (every row, for
    /// pipes). Ignored with --out.
    #[arg(long, value_enum, default_value_t = crate::output::TextFormat::Table, env = "EVERGREEN_QUERY_FORMAT")]
    pub format: crate::output::TextFormat,
    /// Rows to print [default: 50 for table, every row for csv, json and markdown]. Ignored with --out.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Let the SQL read files with table functions (read_parquet, read_csv, ...); by default it
    /// reads only the tables of --tables.
    #[arg(long)]
    pub allow_file_reads: bool,
    /// Write .csv text cells that start with =, +, -, @, a tab or a carriage return as they are. By
    /// default such a cell gets a leading ' so a spreadsheet shows it as text instead of running it
    /// as a formula (numbers stay numbers).
    #[arg(long)]
    pub keep_formulas: bool,
    /// The SQL (Polars SQL dialect), e.g. "SELECT segment, COUNT(*) FROM customers GROUP BY segment".
    pub sql: String,
}


impl JobFlags {
    /// The flag layer laid over the config file (if any), validated.
    pub(super) fn to_config(self) -> Result<crate::Config> {
        let job = self.job;
        let file = match &job.config {
            Some(p) => Settings::from_toml_file(p)?,
            None => Settings::default(),
        };
        // The flag takes each value whole; only the environment variable is split on commas.
        let input = if job.input.is_empty() {
            std::env::var("EVERGREEN_INPUT")
                .ok()
                .map(|v| v.split(',').map(str::trim).filter(|p| !p.is_empty()).map(String::from).collect::<Vec<_>>())
                .filter(|v| !v.is_empty())
        } else {
            Some(job.input)
        };
        let flags = Settings { input, out: job.out, as_of: job.as_of, ..self.flags };
        flags.over(file).resolve()
    }
}
