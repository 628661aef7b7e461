//! The command line: clap definitions, turned into [`Settings`] and laid over the config file.
//! Every flag can also come from an `EVERGREEN_*` environment variable; precedence is
//! flag > environment > config file > default.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::config::{
    as_of_parser, BasketOptions, ClvSettings, ColumnSettings, EngineSettings, PatternSettings, OutputSettings, ScoreSettings, Settings, SqlSettings,
    TrendSettings,
};
use crate::error::Result;
use crate::pipeline::Job;

const ABOUT: &str = "Customer-value tables from Parquet transaction dumps: RFM scores and segments, lapse \
buckets, monetary and purchase deciles, and the products bought together.";

const RUN_LONG: &str = "\
Reads a transaction dump (one row per order line) and writes customers, score_bins, \
monetary_deciles, purchase_deciles, products, basket_pairs and top_pairs (with a product column), \
cohorts and kpis, and the results of the queries (segment_descriptions, segment_summary, \
lapsed_customers, top_customers, customer_tags, and --queries DIR) as <table>.parquet into --out, with \
_manifest.json and _SUCCESS; every table has an as_of column (D). The folder is replaced atomically: a \
failed or killed run leaves the previous output untouched. evergreen replaces only a folder it wrote \
(its manifest lists every file and the folder holds nothing else), never an input, and one run at a \
time (a lock beside --out; see --lock-timeout).

Semantics:
  as-of D      lines with ts >= D 00:00 are future lines (excluded, counted); default: the day after the latest line.
  purchase     an order whose net (sum of its lines, rounded to money_decimals) is > 0.
  recency      D minus the date of the last purchase, in whole days (bought the day before D: 1).
  scores       rank (default): rank = 1 + customers with a strictly smaller key, score = 1 + floor(B*(rank-1)/N); \
ties share a score. ntile: equal counts, ties broken by customer_id ascending. R's key is -recency.
  deciles      customers by monetary desc, then customer_id asc; monetary decile = 1 + floor(10*p/N); \
purchase decile = the tenth of total revenue in which the customer's spend begins.
  money        every money sum is rounded to money_decimals (default 2), halves away from zero.
  engines      memory: the needed columns of the dump in memory (about 110 bytes a line at the peak). \
partitioned: the dump streamed slice by slice into --spill-dir, partitioned by order, then by customer; \
memory follows --memory-limit (customer facts, about 160 bytes a customer, stay in memory). auto picks \
memory when lines x 110 bytes fit --memory-limit. Every engine writes the same bytes.
  money sums   exact fixed-point sums (independent of line order, threads and partitions), rounded once.

Exit codes: 0 ok, 1 internal error, 2 bad arguments/config, 3 input not found/unreadable, \
4 input does not fit the contract, 5 output not writable (not evergreen's, an input, or locked by another run).";

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
    /// Fit the CLV models (BG/NBD, Gamma-Gamma) and write clv and clv_params (and clv_holdout)
    /// only.
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
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) built from these definitions.
    Man,
}

const BASKET_LONG: &str = "\
Writes products, basket_pairs and top_pairs (and _manifest.json, _SUCCESS) into --out, atomically. Needs only an \
order column and an item column (--item-col, default the product column); amount, customer and \
timestamp are used when present. Without an amount column every line counts as positive.

Semantics:
  items        the distinct items on an order's positive lines; only purchase orders (net > 0) count, guest orders included.
  pair_orders  purchase orders holding both a and b (a < b).
  support      pair_orders / total purchase orders.   confidence_a_to_b = pair_orders / orders(a).
  lift         pair_orders * total / (orders(a) * orders(b)); above 1: bought together more than by chance.
  threshold    pairs kept when pair_orders >= max(--min-pair-orders, ceil(--min-support * total)); default 2.
  top          --top-per-item K keeps a pair when it is among the K strongest partners of either item \
(most pair_orders, then highest lift, then smallest partner).
  large orders --max-basket-items N skips orders with more than N distinct items (counted in the manifest).
  top_pairs    per product, its 5 partners of highest lift (then pair_orders, then partner) among the pairs \
in >= 5 purchase orders; a basket_pairs of more than 1,000,000 rows is kept whole, with a warning.
  memory       the order items (4 bytes each), pair occurrences bucketed by first item (at most 256 MiB per pass,
               more passes beyond), one counter per item per thread, and the kept pairs.

Exit codes as for `run`.";

const CLV_LONG: &str = "\
Fits BG/NBD (purchases and drop-out) and Gamma-Gamma (spend per purchase) by maximum likelihood and \
writes clv (one row per customer) and clv_params (the fit) into --out, atomically; with \
--holdout-from also clv_holdout. Same inputs, columns and engines as `run`.

Semantics:
  purchase day      a UTC calendar day with at least one purchase order of the customer; several \
orders on one day are one purchase day.
  repeat_purchases  x = purchase days - 1.   repeat_span_days  t_x = last - first purchase day.
  customer_age_days T = as-of - first purchase day.
  avg_repeat_order_value  the purchase-order amounts of the repeat days / x (return orders are not \
in it; return lines inside a purchase order lower it).
  p_alive           P(still a customer | x, t_x, T); 1 for customers without a repeat day.
  expected_purchases  repeat purchase days expected in the next --horizon-days.
  expected_order_value  Gamma-Gamma's conditional mean spend; customers without repeat days (or a \
positive average) get the population mean p*gamma/(q-1).
  clv               expected_order_value x the expected purchases of each 30-day step of the \
horizon, discounted at --discount-rate a year.
  fit               needs at least 10 customers with a repeat purchase day (else exit 4).

Exit codes as for `run`.";

const PATTERNS_LONG: &str = "\
Writes itemsets and rules (and, with --sequences, sequence_pairs) into --out, atomically. Itemsets \
need only an order column and an item column (--item-col, default the product column); --sequences \
also needs customer, timestamp and amount columns. Same inputs and engines as `run`, --engine spark included.

Semantics:
  baskets       the same as basket_pairs': the distinct items on an order's positive lines; only purchase \
orders (net > 0) count, guest orders included; --max-basket-items skips larger orders.
  itemsets      every set of 1..=--max-len items held by at least T purchase orders, T = \
--itemset-min-support as a count, or ceil(F x purchase orders) for a fraction F (exact integer arithmetic).
  rules         for every frequent itemset I of 2+ items and each item c in I: (I minus c) -> c, kept when \
orders(I) / orders(I minus c) >= --min-confidence. support = orders(I) / purchase orders; lift = \
confidence / support(c); leverage = support(I) - support(A) support(c); conviction = (1 - support(c)) / \
(1 - confidence), null when confidence = 1.
  sequences     per customer, the purchase orders in time (an order's time is its earliest line). \
eligible(A, W) = customers whose first purchase of A is at least W days before as-of 00:00; \
followers(A, B, W) = those with B in an order at t, first(A) < t <= first(A) + W x 24 h. confidence = \
followers / eligible; b_share = customers who bought B / customers with a purchase order; lift = \
confidence / b_share; median_days_to_b over the followers' first B. Kept at followers >= --min-followers.
  limits        more than --max-itemsets itemsets or --max-rules rules stop the run (exit 2) before memory runs out.

Exit codes as for `run`.";

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
    pub output: OutputSettings,
    #[command(flatten)]
    pub engine: EngineSettings,
    #[command(flatten)]
    pub columns: ColumnArgs,
    #[command(flatten)]
    pub lines: LineArgs,
    #[command(flatten)]
    pub publishing: PublishingArgs,
    #[command(flatten)]
    pub clv: ClvSettings,
    #[command(flatten)]
    pub patterns: PatternSettings,
    #[command(flatten)]
    pub trends: TrendSettings,
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
    pub output: OutputSettings,
    #[command(flatten)]
    pub engine: EngineSettings,
    #[command(flatten)]
    pub columns: ColumnArgs,
    #[command(flatten)]
    pub lines: LineArgs,
    #[command(flatten)]
    pub publishing: PublishingArgs,
}

/// Flags of `clv`: the CLV models', and what every job takes.
#[derive(Debug, Args)]
pub struct ClvArgs {
    #[command(flatten)]
    pub job: JobArgs,
    #[command(flatten)]
    pub output: OutputSettings,
    #[command(flatten)]
    pub engine: EngineSettings,
    #[command(flatten)]
    pub columns: ColumnArgs,
    #[command(flatten)]
    pub lines: LineArgs,
    #[command(flatten)]
    pub publishing: PublishingArgs,
    #[command(flatten)]
    pub clv: ClvSettings,
}

/// Flags of `patterns`: the pattern family's and the basket limits (--max-basket-items), and
/// what every job takes.
#[derive(Debug, Args)]
pub struct PatternsArgs {
    #[command(flatten)]
    pub job: JobArgs,
    #[command(flatten)]
    pub basket: BasketOptions,
    #[command(flatten)]
    pub output: OutputSettings,
    #[command(flatten)]
    pub engine: EngineSettings,
    #[command(flatten)]
    pub columns: ColumnArgs,
    #[command(flatten)]
    pub lines: LineArgs,
    #[command(flatten)]
    pub publishing: PublishingArgs,
    #[command(flatten)]
    pub patterns: PatternSettings,
}

/// A job's flags split into what every job takes, its settings layer (the groups the subcommand
/// has; the others stay unset, so the config file or the defaults decide) and its publishing.
struct JobFlags {
    job: JobArgs,
    flags: Settings,
    publishing: PublishingArgs,
}

impl RunArgs {
    fn split(self) -> JobFlags {
        let flags = Settings {
            scores: self.scores,
            basket: self.basket,
            sql: self.sql,
            output: self.output,
            engine: self.engine,
            clv: self.clv,
            patterns: self.patterns,
            trends: self.trends,
            compare_with: self.compare_with,
            ..lines_and_columns(self.columns, self.lines)
        };
        JobFlags { job: self.job, flags, publishing: self.publishing }
    }
}

impl BasketArgs {
    fn split(self) -> JobFlags {
        let flags = Settings {
            basket: self.basket,
            output: self.output,
            engine: self.engine,
            ..lines_and_columns(self.columns, self.lines)
        };
        JobFlags { job: self.job, flags, publishing: self.publishing }
    }
}

impl ClvArgs {
    fn split(self) -> JobFlags {
        let flags =
            Settings { output: self.output, engine: self.engine, clv: self.clv, ..lines_and_columns(self.columns, self.lines) };
        JobFlags { job: self.job, flags, publishing: self.publishing }
    }
}

impl PatternsArgs {
    fn split(self) -> JobFlags {
        let flags = Settings {
            basket: self.basket,
            output: self.output,
            engine: self.engine,
            patterns: self.patterns,
            ..lines_and_columns(self.columns, self.lines)
        };
        JobFlags { job: self.job, flags, publishing: self.publishing }
    }
}

/// `--no-itemsets` given to `run` or `validate`, which take the pattern flags for
/// `run --itemsets/--sequences` but where it would do nothing. (Each subcommand has only its own
/// groups of flags, so a scheduler's variables for another command's flags are never read.)
fn misplaced_no_itemsets(patterns: &PatternSettings, job: Job) -> Option<&'static str> {
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

const COMPARE_LONG: &str = "\
Writes segment_migration and decile_migration (and _manifest.json, _SUCCESS) into --out, atomically, \
from the customers tables of two snapshots. Both must come from `run` with the same bins, scoring, \
money decimals and segment map, and --from must be the earlier as-of; otherwise exit 2 naming the difference.

Semantics:
  match          customers are matched on customer_id; one only in --to comes from `new`, one only in \
--from goes to `gone`.
  rows           one per (from, to) pair that has customers: customers, revenue_before (their monetary \
in --from, 0 for new), revenue_after (in --to, 0 for gone), revenue_change; money rounded.
  deciles        decile_migration labels are monetary_decile as text ('1'..'10'), `new` and `gone`, \
sorted as numbers with new first and gone last.

Exit codes as for `run`.";

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

const PUBLISH_LONG: &str = "\
Loads every table of an output into PostgreSQL with binary COPY, in one transaction, each table \
with its as_of DATE column (added first to a table that lacks one).

Semantics:
  replace       (default) the tables go into a staging schema SCHEMA__evergreen_staging, which then \
replaces SCHEMA, all in one transaction: a dashboard sees the old snapshot or the new one, never half; \
a failed or killed load leaves SCHEMA as it was.
  append        --append adds the snapshot to SCHEMA's tables (created on first use); rows with the \
same as_of are deleted first, so a rerun of a date replaces it. A table whose columns differ is exit 5.
  ownership     evergreen marks its schemas with a comment; a schema without it is never dropped or \
written (exit 5).
  dependents    objects outside SCHEMA that read its tables (a view in another schema) are never \
dropped silently: with the same columns the snapshot is loaded into the existing tables in place (one \
transaction), else exit 5 naming them; --drop-dependents drops them with the schema.
  types         Int64 BIGINT, Int32 INTEGER, Int8/16 SMALLINT, UInt32/64 BIGINT, Float64 DOUBLE PRECISION, \
Float32 REAL, String TEXT, Boolean BOOLEAN, Date DATE, Datetime TIMESTAMP, lists TEXT[] or BIGINT[].

  snapshot      the manifest and every table it lists are read into memory and checked against the \
manifest's BLAKE3: a run replacing the folder meanwhile makes publish read it again (5 tries, then exit 5), \
never load a mix.
  passwords     keep them out of --postgres: PGPASSWORD, PGPASSFILE (~/.pgpass, mode 0600) or PGSERVICE. \
Every password in a connection string is shown as *** wherever evergreen prints or records it.

Exit codes: 2 bad flags, schema name or connection string, or a compare output; 3 unreadable output \
folder; 5 connection or load failed (the server's SQLSTATE and message), an --append type change, a name \
over 63 bytes, a dependent object outside the schema, or a folder another run kept replacing.";

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

const REPORT_LONG: &str = "\
Writes one self-contained HTML page from an output folder: headline numbers (customers beside \
their revenue and orders, the guests' revenue and orders apart, all revenue, the top 10 % and 20 % \
customers' share of the customers' revenue, customers lapsed beyond each threshold, the as-of date \
(a compare output: both dates) and input summary) and the charts the output's tables allow: \
revenue concentration (purchase deciles), monetary deciles, recency x frequency, segments, lapse \
buckets, the strongest pairs by orders beyond chance, and with their tables CLV by decile, P(alive) \
against recency, cohort retention (a period the as-of date falls in hatched), segment movement \
(segment_migration) and KPIs over as_of partitions.

Semantics:
  offline       charts are inline SVG and the styles inline: no script, nothing fetched; it prints \
to PDF as laid out.
  data          every charted value is embedded as JSON (<script type=\"application/json\" \
id=\"evergreen-data\">): per chart its rows, named after the source table's columns (sums, shares \
and bands under their own names, listed in the README).
  size          charts aggregate (R x F cells, buckets, bands) and lists are capped (15 pairs, the \
latest 24 cohorts x 25 periods, 30 segments), each cap said under its chart: the page stays small \
whatever the dump size.

Exit codes: 2 bad flags (--out not .html), 3 unreadable output folder, 5 --out not writable or \
inside the output folder.";

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
    /// Rows to print (ignored with --out).
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
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

/// Column-role flags shared by the subcommands.
#[derive(Debug, Args, Clone)]
pub struct ColumnArgs {
    /// Customer id column (integer or string) [default: customer_id].
    #[arg(long, env = "EVERGREEN_CUSTOMER_COL")]
    pub customer_col: Option<String>,
    /// Order id column (integer or string) [default: order_id].
    #[arg(long, env = "EVERGREEN_ORDER_COL")]
    pub order_col: Option<String>,
    /// Timestamp column (timestamp, date or ISO-8601 string) [default: ts].
    #[arg(long, env = "EVERGREEN_TS_COL")]
    pub ts_col: Option<String>,
    /// Amount column, or a SQL expression over columns such as "Quantity * UnitPrice" [default: amount].
    #[arg(long, env = "EVERGREEN_AMOUNT")]
    pub amount: Option<String>,
    /// Product column [default: product_id, used when present].
    #[arg(long, env = "EVERGREEN_PRODUCT_COL")]
    pub product_col: Option<String>,
    /// Cost column; enables profit columns [default: cost, used when present].
    #[arg(long, env = "EVERGREEN_COST_COL")]
    pub cost_col: Option<String>,
    /// Quantity column [default: quantity, used when present].
    #[arg(long, env = "EVERGREEN_QUANTITY_COL")]
    pub quantity_col: Option<String>,
    /// Basket item column, when not the product (a category, a brand) [default: the product column].
    #[arg(long, env = "EVERGREEN_ITEM_COL")]
    pub item_col: Option<String>,
    /// The line's discount in money (how much below list price it sold); adds discount and
    /// discount_share (discount / (monetary + discount)) to customers and the `deal_seeker` tag.
    #[arg(long, env = "EVERGREEN_DISCOUNT_COL", conflicts_with = "list_price_col")]
    pub discount_col: Option<String>,
    /// The line's value at list price; its discount is list price - amount (else as --discount-col).
    #[arg(long, env = "EVERGREEN_LIST_PRICE_COL")]
    pub list_price_col: Option<String>,
}

/// Line filters and attributes (issue 15), shared by the subcommands.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Line filters and attributes")]
pub struct LineArgs {
    /// Read only the lines where this SQL predicate over the dump's own columns is true, before
    /// every other rule (false or null: filtered out, counted as counts.filtered_lines), e.g.
    /// "StockCode NOT IN ('POST', 'DOT', 'M')". Comparisons, AND/OR/NOT, IN, LIKE, IS NULL and
    /// arithmetic mean the same on every engine.
    #[arg(long = "where", env = "EVERGREEN_WHERE", value_name = "PREDICATE")]
    pub where_sql: Option<String>,
    /// A text file of item ids, one a line (blank lines and # comments skipped): their lines still
    /// count for money, orders and customers, but hold no product or item (left out of products,
    /// basket_pairs, favourite_product, itemsets and sequences).
    #[arg(long, env = "EVERGREEN_EXCLUDE_ITEMS", value_name = "FILE")]
    pub exclude_items: Option<PathBuf>,
    /// Product name column (strings): each product's most frequent name (ties: the smallest) goes
    /// into products (name), basket_pairs (name_a, name_b) and customers (favourite_product_name).
    #[arg(long, env = "EVERGREEN_PRODUCT_NAME_COL")]
    pub product_name_col: Option<String>,
    /// A column (strings or integers) copied into customers: its value on the customer's latest
    /// line that has one (ties: the smallest). Repeatable, e.g. --customer-attr Country.
    #[arg(long, env = "EVERGREEN_CUSTOMER_ATTR", value_delimiter = ',')]
    pub customer_attr: Vec<String>,
}


impl ColumnArgs {
    fn settings(self) -> ColumnSettings {
        ColumnSettings {
            customer: self.customer_col,
            order: self.order_col,
            timestamp: self.ts_col,
            amount: self.amount,
            product: self.product_col,
            cost: self.cost_col,
            quantity: self.quantity_col,
            item: self.item_col,
            discount: self.discount_col,
            list_price: self.list_price_col,
            product_name: None,
            customer_attr: None,
        }
    }
}

/// The settings layer of the line filters' and the column roles' flags (their config keys are the
/// `[columns]` table and the top-level `where` and `exclude_items`).
fn lines_and_columns(columns: ColumnArgs, lines: LineArgs) -> Settings {
    Settings {
        where_sql: lines.where_sql,
        exclude_items: lines.exclude_items,
        columns: ColumnSettings {
            product_name: lines.product_name_col,
            customer_attr: (!lines.customer_attr.is_empty()).then_some(lines.customer_attr),
            ..columns.settings()
        },
        ..Settings::default()
    }
}

impl JobFlags {
    /// The flag layer laid over the config file (if any), validated.
    fn to_config(self) -> Result<crate::Config> {
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

/// Run the command line; returns the process exit code. Errors are printed as one line on stderr.
pub fn main<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version: clap's own text on stdout (a closed pipe is not an error).
            let _ = print_stdout(&e.render().to_string());
            return 0;
        }
        Err(e) => {
            print_error(&clap_one_line(&e), 2, wants_json(&args));
            return 2;
        }
    };
    init_logging(&cli);
    let json = cli.log_format == LogFormat::Json;
    use std::io::IsTerminal;
    let progress = !json && !cli.quiet && std::io::stderr().is_terminal();
    let recorded: Vec<String> = args.iter().map(|a| a.to_string_lossy().to_string()).collect();
    match dispatch(cli, recorded, progress) {
        Ok(()) => 0,
        Err(e) => {
            if json {
                tracing::error!(exit_code = e.exit_code(), "{}", crate::error::one_line(&e.to_string()));
            } else {
                print_error(&e.to_string(), e.exit_code(), false);
            }
            e.exit_code()
        }
    }
}

/// clap's error as one line: its first line without the `error: ` prefix, then its tips, then
/// where to look for help (clap prints a usage block over several lines).
fn clap_one_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("invalid arguments").trim_start_matches("error:").trim().to_string();
    let tips: Vec<&str> = lines.filter(|l| l.starts_with("tip:")).collect();
    let mut out = format!("argument error: {first}");
    for tip in tips {
        out.push_str(&format!(" ({tip})"));
    }
    out.push_str("; see --help");
    out
}

/// Whether the arguments (or EVERGREEN_LOG_FORMAT) ask for JSON logs, read before clap parses them
/// so that an argument error is one JSON object too.
fn wants_json(args: &[OsString]) -> bool {
    let args: Vec<String> = args.iter().map(|a| a.to_string_lossy().to_string()).collect();
    for (i, a) in args.iter().enumerate() {
        if a == "--log-format=json" || (a == "--log-format" && args.get(i + 1).is_some_and(|v| v == "json")) {
            return true;
        }
        if a == "--log-format" || a.starts_with("--log-format=") {
            return false;
        }
    }
    std::env::var("EVERGREEN_LOG_FORMAT").is_ok_and(|v| v == "json")
}

/// One error line on stderr: `evergreen: MESSAGE`, or with JSON logs one object in the shape of
/// the JSON log lines (`level`, `fields.message`, `fields.exit_code`).
fn print_error(message: &str, exit_code: i32, json: bool) {
    let message = crate::error::one_line(message);
    if json {
        let obj = serde_json::json!({
            "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "level": "ERROR",
            "fields": { "message": message, "exit_code": exit_code },
        });
        eprintln!("{obj}");
    } else {
        eprintln!("evergreen: {message}");
    }
}

/// Write to stdout; a reader that closed the pipe early (`| head`) is not an error.
fn print_stdout(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(crate::Error::Output { path: "<stdout>".into(), reason: e.to_string() })
        }
        _ => Ok(()),
    }
}

/// Logs go to stderr. Level: -q errors, default info (one summary line after a successful run),
/// -v debug (files, cleaning counts, stage timings), -vv trace; without -v/-q the EVERGREEN_LOG
/// variable (a tracing filter such as `debug`) decides. Nothing but the error is printed before
/// a failure at the default level, so a failed run leaves exactly one line on stderr.
fn init_logging(cli: &Cli) {
    use tracing_subscriber::EnvFilter;
    let flag_level = match (cli.quiet, cli.verbose) {
        (true, _) => Some("error"),
        (false, 0) => None,
        (false, 1) => Some("debug"),
        (false, _) => Some("trace"),
    };
    let filter = match flag_level {
        Some(level) => EnvFilter::new(format!("evergreen={level}")),
        None => EnvFilter::try_from_env("EVERGREEN_LOG").unwrap_or_else(|_| EnvFilter::new("evergreen=info")),
    };
    let builder = tracing_subscriber::fmt().with_writer(std::io::stderr).with_env_filter(filter).with_target(false);
    let _ = match cli.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.without_time().with_ansi(false).try_init(),
    };
}

fn dispatch(cli: Cli, recorded: Vec<String>, progress: bool) -> Result<()> {
    let started = std::time::Instant::now();
    let json_log = cli.log_format == LogFormat::Json;
    let mut report_json = false;
    let (args, job, validate_only) = match cli.command {
        Command::Run(args) => (args.split(), Job::Run, false),
        Command::Basket(args) => (args.split(), Job::Basket, false),
        Command::Clv(args) => (args.split(), Job::Clv, false),
        Command::Patterns(args) => (args.split(), Job::Patterns, false),
        Command::Validate(v) => {
            report_json = v.format == LogFormat::Json;
            (v.run.split(), Job::Run, true)
        }
        Command::Query(q) => return query(q),
        Command::Publish(p) => return publish(p),
        Command::Report(r) => return report(r),
        Command::Compare(c) => return compare(c, recorded),
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "evergreen", &mut buf);
            return print_stdout(&String::from_utf8_lossy(&buf));
        }
        Command::Man => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut buf)
                .map_err(|e| crate::Error::Output { path: "<stdout>".into(), reason: e.to_string() })?;
            return print_stdout(&String::from_utf8_lossy(&buf));
        }
    };
    let mut args = args;
    if validate_only && args.job.out.is_none() {
        // validate writes nothing; the output folder is not needed.
        args.job.out = Some(PathBuf::from("-"));
    }
    let no_itemsets = args.flags.patterns.no_itemsets;
    let p = &mut args.publishing;
    let publish = p.publish.take().map(|url| crate::publish::Target {
        url,
        schema: p.publish_schema.clone(),
        append: p.publish_append,
        drop_dependents: p.publish_drop_dependents,
    });
    if let Some(t) = &publish {
        // A bad schema name or connection string is exit 2 before the run (nothing connects).
        crate::publish::check_target(t)?;
    }
    let report_to = args.publishing.report.take();
    if let (Some(page), Some(out)) = (&report_to, &args.job.out) {
        crate::report::check_out(out, page)?;
    }
    if let Some(flag) = misplaced_no_itemsets(&args.flags.patterns, job) {
        return Err(crate::Error::Config(format!("{flag} applies to `patterns` only")));
    }
    let mut cfg = args.to_config()?;
    if job == Job::Patterns {
        // `patterns` mines itemsets unless told not to (the `itemsets` key is `run`'s switch).
        cfg.patterns.itemsets = !no_itemsets;
    }
    if validate_only {
        let mut report = crate::pipeline::validate(&cfg)?;
        report.publish = publish.as_ref().map(|t| crate::pipeline::PublishCheck {
            target: crate::connstr::redact(&t.url),
            schema: t.schema.clone(),
            mode: if t.append { "append" } else { "replace" },
        });
        let text = if report_json {
            serde_json::to_string_pretty(&report).map_err(|e| crate::Error::Internal(e.to_string()))? + "\n"
        } else {
            report.text()
        };
        return print_stdout(&text);
    }
    let m = crate::pipeline::run(&cfg, job, recorded, progress)?;
    let rows: Vec<String> = m.tables.iter().map(|(name, t)| format!("{name} {}", t.rows)).collect();
    let message = format!(
        "wrote {} to {} (as_of {}, {} lines read, {} used)",
        rows.join(", "),
        m.out.display(),
        m.as_of.as_deref().unwrap_or("-"),
        m.counts.lines_read,
        m.counts.lines_used,
    );
    if json_log {
        // One object a scheduler can read without parsing the message.
        let per_table: serde_json::Map<String, serde_json::Value> =
            m.tables.iter().map(|(name, t)| (name.clone(), t.rows.into())).collect();
        tracing::info!(
            out = %m.out.display(),
            as_of = m.as_of.as_deref().unwrap_or(""),
            rows = %serde_json::Value::Object(per_table),
            lines_read = m.counts.lines_read,
            lines_used = m.counts.lines_used,
            seconds = started.elapsed().as_secs_f64(),
            peak_memory_bytes = m.peak_memory_bytes.unwrap_or(0),
            "{message}"
        );
    } else {
        tracing::info!("{message}");
    }
    if let Some(target) = publish {
        log_published(&crate::publish::publish(&m.out, &target)?);
    }
    if let Some(page) = report_to {
        let root = if cfg.output.partition_by_as_of { cfg.out.clone() } else { m.out.clone() };
        log_report(&crate::report::report(&root, &page)?);
    }
    Ok(())
}

/// `evergreen report`: the HTML page of an output.
fn report(r: ReportArgs) -> Result<()> {
    let w = crate::report::report(&r.tables, &r.out)?;
    if r.format == LogFormat::Json {
        return print_stdout(&(serde_json::to_string(&w).map_err(|e| crate::Error::Internal(e.to_string()))? + "\n"));
    }
    log_report(&w);
    Ok(())
}

fn log_report(w: &crate::report::Written) {
    let charts = crate::report::page::plural(w.charts, "chart", "charts");
    tracing::info!(
        "wrote the report {} ({charts}, {} KB) from {} in {:.2} s",
        w.out,
        w.bytes.div_ceil(1024),
        w.tables,
        w.seconds
    );
}

/// `evergreen publish`: an output's tables into PostgreSQL.
fn publish(p: PublishArgs) -> Result<()> {
    let target = crate::publish::Target {
        url: p.postgres,
        schema: p.target.schema,
        append: p.target.append,
        drop_dependents: p.target.drop_dependents,
    };
    let r = crate::publish::publish(&p.tables, &target)?;
    if p.format == LogFormat::Json {
        return print_stdout(&(serde_json::to_string(&r).map_err(|e| crate::Error::Internal(e.to_string()))? + "\n"));
    }
    log_published(&r);
    Ok(())
}

fn log_published(r: &crate::publish::Report) {
    let rows: u64 = r.rows.values().sum();
    tracing::info!(
        "published {} tables ({rows} rows, as_of {}) from {} to {} schema {} ({}) in {:.1} s",
        r.rows.len(),
        r.as_of,
        r.tables_dir,
        r.target,
        r.schema,
        r.mode,
        r.seconds
    );
    if !r.kept_dependents.is_empty() {
        tracing::info!(
            "loaded in place, keeping what reads schema {} from outside: {}",
            r.schema,
            r.kept_dependents.join(", ")
        );
    }
}

/// `evergreen compare`: the migration tables of two snapshots, written atomically.
fn compare(c: CompareArgs, recorded: Vec<String>) -> Result<()> {
    let m = crate::pipeline::compare(&c.from, &c.to, &c.out, std::time::Duration::from_secs(c.lock_timeout), recorded)?;
    let rows: Vec<String> = m.tables.iter().map(|(name, t)| format!("{name} {}", t.rows)).collect();
    tracing::info!("wrote {} to {} ({} -> {})", rows.join(", "), c.out.display(), m.from_as_of, m.to_as_of);
    Ok(())
}

/// `evergreen query`: print the result as a table, or write it as Parquet, CSV or Excel.
fn query(q: QueryArgs) -> Result<()> {
    use polars::prelude::*;
    let mut df = crate::queries::ad_hoc(
        &q.tables,
        &crate::output::complete_partitions(&q.tables),
        &q.sql,
        q.allow_file_reads,
        &|dir| crate::snapshot::folder_tables(dir, &q.sql),
    )?;
    let Some(out) = q.out else {
        std::env::set_var("POLARS_FMT_MAX_ROWS", q.limit.to_string());
        std::env::set_var("POLARS_FMT_MAX_COLS", "30");
        std::env::set_var("POLARS_FMT_STR_LEN", "40");
        if std::env::var_os("POLARS_TABLE_WIDTH").is_none() {
            std::env::set_var("POLARS_TABLE_WIDTH", "200");
        }
        return print_stdout(&format!("{df}\n"));
    };
    let err = |e: &dyn std::fmt::Display| crate::Error::Output {
        path: out.clone(),
        reason: crate::error::one_line(&e.to_string()),
    };
    let ext = out.extension().map(|e| e.to_string_lossy().to_lowercase()).unwrap_or_default();
    if !matches!(ext.as_str(), "parquet" | "csv" | "xlsx") {
        return Err(crate::Error::Config(format!("--out {}: expected a .parquet, .csv or .xlsx file", out.display())));
    }
    // Never into (or over) the output folder being queried: it holds only what its run wrote.
    crate::output::check_not_input(&out, &[q.tables.display().to_string()], &[], &[])?;
    if std::fs::metadata(&out).is_ok_and(|m| m.is_dir()) {
        return Err(err(&"is a folder; expected a file name (nothing was written)"));
    }
    // A hidden name of evergreen's own beside the result, renamed over it when complete.
    let tmp = crate::output::temp_beside(&out)?;
    let f = std::fs::File::create(&tmp).map_err(|e| err(&e))?;
    let written = match ext.as_str() {
        "parquet" => crate::output::table_bytes(&mut df)
            .and_then(|b| std::io::Write::write_all(&mut { f }, &b).map_err(PolarsError::from)),
        "xlsx" => crate::output::xlsx_bytes(&df)
            .map_err(|m| PolarsError::ComputeError(m.into()))
            .and_then(|b| std::io::Write::write_all(&mut { f }, &b).map_err(PolarsError::from)),
        // Timestamps as Excel reads them: `2024-01-05 10:00:00.000` (milliseconds, UTC).
        _ => {
            if !q.keep_formulas {
                df = crate::output::without_formulas(&df).map_err(|e| err(&e))?;
            }
            CsvWriter::new(f).with_datetime_format(Some("%Y-%m-%d %H:%M:%S%.3f".into())).finish(&mut df)
        }
    };
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(err(&e));
    }
    std::fs::rename(&tmp, &out).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(&e)
    })
}
