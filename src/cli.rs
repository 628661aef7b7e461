//! The command line: clap definitions, turned into [`Settings`] and laid over the config file.
//! Every flag can also come from an `EVERGREEN_*` environment variable; precedence is
//! flag > environment > config file > default.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{parse_as_of, ColumnSettings, ScoringMethod, Settings};
use crate::error::Result;

const ABOUT: &str = "Customer-value tables from Parquet transaction dumps: RFM scores, lapse buckets, \
monetary and purchase deciles.";

const RUN_LONG: &str = "\
Reads a transaction dump (one row per order line) and writes customers, score_bins, \
monetary_deciles and purchase_deciles as <table>.parquet into --out, with _manifest.json and \
_SUCCESS. The folder is replaced atomically: a failed run leaves the previous output untouched.

Semantics:
  as-of D      lines with ts >= D 00:00 are future lines (excluded, counted); default: the day after the latest line.
  purchase     an order whose net (sum of its lines, rounded to money_decimals) is > 0.
  recency      D minus the date of the last purchase, in whole days (bought the day before D: 1).
  scores       rank (default): rank = 1 + customers with a strictly smaller key, score = 1 + floor(B*(rank-1)/N); \
ties share a score. ntile: equal counts, ties broken by customer_id ascending. R's key is -recency.
  deciles      customers by monetary desc, then customer_id asc; monetary decile = 1 + floor(10*p/N); \
purchase decile = the tenth of total revenue in which the customer's spend begins.
  money        every money sum is rounded to money_decimals (default 2), halves away from zero.
  memory       the needed columns of the dump are held in memory (about 40 bytes per line).

Exit codes: 0 ok, 1 internal error, 2 bad arguments/config, 3 input not found/unreadable, \
4 input does not fit the contract, 5 output not writable.";

/// evergreen's command line.
#[derive(Debug, Parser)]
#[command(name = "evergreen", version, about = ABOUT)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compute the customer tables from a dump and write them into --out.
    #[command(long_about = RUN_LONG)]
    Run(RunArgs),
}

/// Flags of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Parquet file, folder (recursive, hive partitions) or glob; repeatable.
    #[arg(long, short = 'i', num_args = 1.., env = "EVERGREEN_INPUT", value_delimiter = ',')]
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
    /// Number of score bins B, 2..=9 [default: 5].
    #[arg(long, env = "EVERGREEN_BINS", value_parser = clap::value_parser!(u8).range(2..=9))]
    pub bins: Option<u8>,
    /// Scoring method [default: rank].
    #[arg(long, env = "EVERGREEN_SCORING", value_enum)]
    pub scoring: Option<ScoringArg>,
    /// Ascending recency thresholds in days for lapse buckets [default: 30,60,90,120].
    #[arg(long, env = "EVERGREEN_LAPSE_THRESHOLDS", value_delimiter = ',')]
    pub lapse_thresholds: Option<Vec<u32>>,
    /// Decimals every money sum is rounded to, 0..=6 [default: 2].
    #[arg(long, env = "EVERGREEN_MONEY_DECIMALS", value_parser = clap::value_parser!(u32).range(0..=6))]
    pub money_decimals: Option<u32>,
    #[command(flatten)]
    pub columns: ColumnArgs,
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
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ScoringArg {
    Rank,
    Ntile,
}

fn as_of_parser(s: &str) -> std::result::Result<String, String> {
    parse_as_of(s).map(|d| d.to_string()).map_err(|e| e.to_string())
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
        }
    }
}

impl RunArgs {
    /// The flag layer laid over the config file (if any), validated.
    pub fn to_config(self) -> Result<crate::Config> {
        let file = match &self.config {
            Some(p) => Settings::from_toml_file(p)?,
            None => Settings::default(),
        };
        let flags = Settings {
            input: if self.input.is_empty() { None } else { Some(self.input) },
            out: self.out,
            as_of: self.as_of,
            bins: self.bins,
            scoring: self.scoring.map(|s| match s {
                ScoringArg::Rank => ScoringMethod::Rank,
                ScoringArg::Ntile => ScoringMethod::Ntile,
            }),
            lapse_thresholds: self.lapse_thresholds,
            money_decimals: self.money_decimals,
            columns: self.columns.settings(),
        };
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
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let recorded: Vec<String> = args.iter().map(|a| a.to_string_lossy().to_string()).collect();
    match dispatch(cli, recorded) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("evergreen: {e}");
            e.exit_code()
        }
    }
}

fn dispatch(cli: Cli, recorded: Vec<String>) -> Result<()> {
    match cli.command {
        Command::Run(args) => {
            let cfg = args.to_config()?;
            let m = crate::pipeline::run(&cfg, recorded)?;
            let customers = m.tables.get("customers").map(|t| t.rows).unwrap_or(0);
            eprintln!(
                "evergreen: wrote {} tables to {} (as_of {}, {} lines read, {} used, {} customers)",
                m.tables.len(),
                cfg.out.display(),
                m.as_of,
                m.counts.lines_read,
                m.counts.lines_used,
                customers
            );
            Ok(())
        }
    }
}
