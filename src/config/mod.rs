//! The typed run configuration. Flags (and their `EVERGREEN_*` environment variables) and the TOML
//! config file both produce a [`Settings`] (every field optional); the flag layer is laid over the
//! file layer and [`Settings::resolve`] validates the result into a [`Config`] before anything runs.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

mod basket;
mod clv;
mod columns;
mod engine;
mod output;
mod patterns;
mod scores;
mod sql;
mod switching;
mod trends;
pub use basket::{BasketLimits, BasketOptions};
pub use columns::{ColumnSettings, LineSettings, ZeroNetOrders};
pub use clv::{
    ClvAgeTo, ClvModel, ClvOptions, ClvSettings, ClvUnit, DEFAULT_CLV_MONTHS, DEFAULT_DISCOUNT_RATE, DEFAULT_HORIZON_DAYS,
};
pub use engine::{
    default_memory_limit, parse_bytes, EngineChoice, EngineOptions, EngineSettings, SparkOptions, DEFAULT_MEMORY_LIMIT,
};
pub use output::{OutputOptions, OutputSettings, DEFAULT_MONEY_DECIMALS};
pub use patterns::{
    Adjust, PatternOptions, PatternSettings, RulesFilter, DEFAULT_ITEMSET_SUPPORT, DEFAULT_MAX_ITEMSETS, DEFAULT_MAX_LEN, DEFAULT_MAX_RULES,
    DEFAULT_MIN_CONFIDENCE, DEFAULT_MIN_FOLLOWERS, DEFAULT_WINDOW_DAYS,
};
pub use scores::{ScoreOptions, ScoreSettings, ScoringMethod, DEFAULT_BINS, DEFAULT_LAPSE_THRESHOLDS};
pub use sql::{SqlOptions, SqlSettings};
pub use switching::{LineGroup, Period, SwitchingOptions, SwitchingSettings, MAX_GROUPS};
pub use trends::{CohortPeriod, Tier, Tiers, TrendOptions, TrendSettings, DEFAULT_KPI_WINDOW_DAYS, DEFAULT_TREND_DAYS};

/// How a settings layer's field lies over the layer below: an `Option` set here wins, a list
/// given here (non-empty) wins.
pub trait Layer {
    fn over(self, base: Self) -> Self;
}

impl<T> Layer for Option<T> {
    fn over(self, base: Self) -> Self {
        self.or(base)
    }
}

/// An on/off flag without a variable or a config key (`--no-itemsets`): on when given.
impl Layer for bool {
    fn over(self, base: Self) -> Self {
        self || base
    }
}

impl<T> Layer for Vec<T> {
    fn over(self, base: Self) -> Self {
        if self.is_empty() {
            base
        } else {
            self
        }
    }
}

/// One family's options, defined once (Ruff's `CombineOptions` habit): the struct is the family's
/// flags (clap, with the environment variable beside each flag; flattened into every subcommand
/// that uses the family), its keys in the config file (serde, flattened into [`Settings`]) and a
/// settings layer, whose derived `over` lays it over a lower layer field by field (flag and
/// variable over file; defaults and checks come last, in the family's `resolve`). Every field is an
/// `Option` (unset) or a `Vec` (empty: unset). Adding an option is one field here, and its use in
/// the family's resolved options.
macro_rules! options {
    ($(#[$m:meta])* pub struct $name:ident { $( $(#[$fm:meta])* pub $f:ident : $t:ty, )* }) => {
        #[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize, clap::Args)]
        $(#[$m])*
        pub struct $name { $( $(#[$fm])* pub $f: $t, )* }

        impl $name {
            /// This layer laid over `base`: every field set here wins.
            pub fn over(self, base: Self) -> Self {
                Self { $( $f: $crate::config::Layer::over(self.$f, base.$f), )* }
            }
        }

        /// A group nested in another (flattened) lies over its base field by field too.
        impl $crate::config::Layer for $name {
            fn over(self, base: Self) -> Self {
                $name::over(self, base)
            }
        }
    };
}
use options;

/// `args` with the value of each of `flags` (`--flag VALUE` or `--flag=VALUE`) passed through
/// `redact`: how a manifest records a command line without its secrets (`--spark-conf` keys,
/// `--publish` connection strings).
pub fn redact_flag_values(args: &[String], flags: &[&str], redact: &dyn Fn(&str) -> String) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut next_is_value = false;
    for a in args {
        if next_is_value {
            out.push(redact(a));
            next_is_value = false;
            continue;
        }
        match a.split_once('=') {
            Some((flag, value)) if flags.contains(&flag) => out.push(format!("{flag}={}", redact(value))),
            _ => {
                next_is_value = flags.contains(&a.as_str());
                out.push(a.clone());
            }
        }
    }
    out
}


/// One layer of settings (the config file, or the flags). Every field is optional; see
/// [`Settings::over`] for precedence and [`Settings::resolve`] for defaults and checks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub input: Option<Vec<String>>,
    pub out: Option<PathBuf>,
    /// `"2024-01-01"` or a TOML date `2024-01-01`.
    #[serde(default, deserialize_with = "date_or_string")]
    pub as_of: Option<String>,
    /// The scores' keys (bins, scoring, lapse_thresholds).
    #[serde(flatten)]
    pub scores: ScoreSettings,
    /// The pair table's keys (min_pair_orders, min_support, top_per_item, max_basket_items).
    #[serde(flatten)]
    pub basket: BasketOptions,
    /// The analysts' queries' keys (queries, segment_map, allow_file_reads).
    #[serde(flatten)]
    pub sql: SqlSettings,
    /// The output's keys (money_decimals, partition_by_as_of, lock_timeout).
    #[serde(flatten)]
    pub output: OutputSettings,
    /// The engine's keys (engine, memory_limit, spill_dir, partitions, spark_*).
    #[serde(flatten)]
    pub engine: EngineSettings,
    /// The CLV family's keys (clv, horizon_days, discount_rate, clv_unit, holdout_from).
    #[serde(flatten)]
    pub clv: ClvSettings,
    /// The pattern family's keys (itemsets, rules, sequence_pairs): the `[patterns]` table.
    #[serde(default)]
    pub patterns: PatternSettings,
    /// The trend family's keys (trend_days, kpi_window_days, cohort_period, tiers).
    #[serde(flatten)]
    pub trends: TrendSettings,
    /// The switching family's keys (period_a, period_b).
    #[serde(flatten)]
    pub switching: SwitchingSettings,
    /// An earlier output (or a root of as_of partitions) to write segment and decile migration against.
    pub compare_with: Option<PathBuf>,
    /// The line filters' keys (`where`, exclude_items).
    #[serde(flatten)]
    pub lines: LineSettings,
    #[serde(default)]
    pub columns: ColumnSettings,
    /// Keys of the file that no option has: refused when the file is read, so a typo never passes
    /// silently (serde's `deny_unknown_fields` does not work beside the families' flattened keys).
    #[serde(flatten, skip_serializing)]
    pub unknown: std::collections::BTreeMap<String, toml::Value>,
}

/// Column roles after defaults: required roles always have a name; optional roles carry whether
/// the user named them (then the column must exist) or they are the default name (used if present).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Columns {
    /// Required by `run`; optional for `basket`.
    pub customer: OptionalColumn,
    pub order: String,
    /// Required by `run`; optional for `basket`.
    pub timestamp: OptionalColumn,
    /// `--ts-format`: the strftime layout of string timestamps, when not ISO-8601.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ts_format: Option<String>,
    /// A column name or an expression over columns such as `Quantity * UnitPrice`.
    /// Required by `run`; optional for `basket` (without it every line counts as positive).
    pub amount: OptionalColumn,
    pub product: OptionalColumn,
    pub cost: OptionalColumn,
    pub quantity: OptionalColumn,
    /// The basket item column; `None` means the product.
    pub item: Option<String>,
    /// `--discount-col` (the line's discount) or `--list-price-col` (the line at list price), never both.
    pub discount: Option<Discount>,
    /// The product name column (strings), when given.
    pub product_name: Option<String>,
    /// Customer attribute columns (strings or integers), in the order given.
    pub customer_attrs: Vec<String>,
    /// The product groups of the switching tables (`--group NAME=PREDICATE`), in the order given.
    pub groups: Vec<LineGroup>,
    /// Which lines are read, and which items count as items.
    pub filter: LineFilter,
    /// Whether an order whose net is exactly 0 is a purchase (`--zero-net-orders`).
    pub zero_net_orders: ZeroNetOrders,
}

/// Rule "line filter" (issue 15): applied before every other rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LineFilter {
    /// `--where`: a SQL predicate over the dump's own columns; a line is read when it is true
    /// (false or null: the line is filtered out, counted as `counts.filtered_lines`).
    #[serde(rename = "where", skip_serializing_if = "Option::is_none")]
    pub where_sql: Option<String>,
    /// `--exclude-items FILE`: the ids listed (one a line, blank lines and `#` comments ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude_items: Option<ExcludedItems>,
}

/// Item ids whose lines count for money and orders but hold no product or item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExcludedItems {
    pub file: PathBuf,
    #[serde(skip)]
    pub ids: Vec<String>,
    /// How many distinct ids the file lists.
    pub count: usize,
}

impl ExcludedItems {
    /// Read the file: one id a line, surrounding blanks trimmed; blank lines and lines starting
    /// with `#` are skipped. A missing or unreadable file is a config error (exit 2).
    pub fn read(file: &Path) -> Result<ExcludedItems> {
        let text = std::fs::read_to_string(file)
            .map_err(|e| Error::Config(format!("exclude_items: {}: cannot read: {e}", file.display())))?;
        let mut ids: Vec<String> =
            text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(String::from).collect();
        ids.sort();
        ids.dedup();
        let count = ids.len();
        Ok(ExcludedItems { file: file.to_path_buf(), ids, count })
    }
}

/// Where a line's discount comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Discount {
    /// A column holding the line's discount in money.
    Column(String),
    /// A column holding the line's value at list price: discount = list price - amount.
    ListPrice(String),
}

/// An optional role's column name, and whether the user asked for it explicitly.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptionalColumn {
    pub name: String,
    pub explicit: bool,
}

impl OptionalColumn {
    fn new(given: Option<String>, default: &str) -> Self {
        match given {
            Some(name) => OptionalColumn { name, explicit: true },
            None => OptionalColumn { name: default.to_string(), explicit: false },
        }
    }
}

/// The validated configuration of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    pub inputs: Vec<String>,
    pub out: PathBuf,
    /// The analysis date D; `None` means the day after the latest line's date.
    pub as_of: Option<NaiveDate>,
    /// Scores and lapse buckets (flattened: the manifest's `bins`, `scoring` and `lapse_thresholds`).
    #[serde(flatten)]
    pub scores: ScoreOptions,
    pub columns: Columns,
    pub basket: BasketOptions,
    /// The analysts' queries (flattened: the manifest's `queries`, `segment_map`, `allow_file_reads`).
    #[serde(flatten)]
    pub sql: SqlOptions,
    /// Money rounding, as-of partitions, the lock wait (flattened: the manifest's `money_decimals`,
    /// `partition_by_as_of`, `lock_timeout_secs`).
    #[serde(flatten)]
    pub output: OutputOptions,
    /// The engine, its memory and the Spark settings (flattened: the manifest's `engine`,
    /// `memory_limit_bytes`, `spill_dir`, `partitions` and `spark` keys).
    #[serde(flatten)]
    pub engine: EngineOptions,
    pub clv: ClvOptions,
    pub patterns: PatternOptions,
    pub trends: TrendOptions,
    pub switching: SwitchingOptions,
    /// `run --compare-with DIR`: the earlier snapshot of segment_migration and decile_migration.
    pub compare_with: Option<PathBuf>,
}

impl Settings {
    /// Read a TOML config file. Unknown keys are an error, so a typo never passes silently.
    /// Relative paths in it (input, out, queries, segment_map, spill_dir, spark_submit,
    /// compare_with) are relative to the file's folder, wherever evergreen is started from; remote
    /// inputs (`hdfs://...`) are left as they are.
    pub fn from_toml_file(path: &Path) -> Result<Settings> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("{}: cannot read config file: {e}", path.display())))?;
        let s: Settings = toml::from_str(&text)
            .map_err(|e| Error::Config(format!("{}: {}", path.display(), crate::error::one_line(&e.to_string()))))?;
        if let Some(key) = s.unknown.keys().next() {
            return Err(Error::Config(format!(
                "{}: unknown key `{key}` (the keys are the flags' names with _)",
                path.display()
            )));
        }
        let base = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Ok(s.relative_to(&base))
    }

    /// Relative paths of this layer joined to `base`.
    fn relative_to(self, base: &Path) -> Settings {
        let path = |p: Option<PathBuf>| p.map(|p| if p.is_absolute() { p } else { base.join(p) });
        Settings {
            input: self.input.map(|v| {
                v.into_iter()
                    .map(|p| {
                        if p.contains("://") || Path::new(&p).is_absolute() {
                            p
                        } else {
                            base.join(&p).display().to_string()
                        }
                    })
                    .collect()
            }),
            out: path(self.out),
            sql: SqlSettings { queries: path(self.sql.queries), segment_map: path(self.sql.segment_map), ..self.sql },
            engine: EngineSettings {
                spill_dir: path(self.engine.spill_dir),
                spark_submit: path(self.engine.spark_submit),
                state: path(self.engine.state),
                ..self.engine
            },
            compare_with: path(self.compare_with),
            lines: LineSettings { exclude_items: path(self.lines.exclude_items), ..self.lines },
            ..self
        }
    }

    /// This layer laid over `base`: every field set here wins.
    pub fn over(self, base: Settings) -> Settings {
        Settings {
            input: self.input.or(base.input),
            out: self.out.or(base.out),
            as_of: self.as_of.or(base.as_of),
            scores: self.scores.over(base.scores),
            basket: self.basket.over(base.basket),
            sql: self.sql.over(base.sql),
            output: self.output.over(base.output),
            engine: self.engine.over(base.engine),
            clv: self.clv.over(base.clv),
            patterns: self.patterns.over(base.patterns),
            trends: self.trends.over(base.trends),
            switching: self.switching.over(base.switching),
            compare_with: self.compare_with.or(base.compare_with),
            unknown: self.unknown,
            lines: self.lines.over(base.lines),
            columns: self.columns.over(base.columns),
        }
    }

    /// Apply defaults and check every value; the first problem is a [`Error::Config`].
    pub fn resolve(self) -> Result<Config> {
        let inputs = self.input.unwrap_or_default();
        if inputs.is_empty() {
            return Err(Error::Config("no input: give --input PATH (or `input` in the config file)".into()));
        }
        let out = self
            .out
            .ok_or_else(|| Error::Config("no output folder: give --out DIR (or `out` in the config file)".into()))?;
        let as_of = self.as_of.as_deref().map(parse_as_of).transpose()?;
        let scores = self.scores.resolve()?;
        let basket = self.basket.resolve()?;
        let c = self.columns;
        let mut switching = self.switching;
        for (v, what) in [
            (&c.customer, "customer"),
            (&c.order, "order"),
            (&c.timestamp, "timestamp"),
            (&c.amount, "amount"),
            (&c.product, "product"),
            (&c.cost, "cost"),
            (&c.quantity, "quantity"),
            (&c.item, "item"),
            (&c.discount, "discount"),
            (&c.list_price, "list price"),
            (&c.product_name, "product name"),
        ] {
            if v.as_deref().is_some_and(|v| v.trim().is_empty()) {
                return Err(Error::Config(format!("{what} column: expected a name, found an empty string")));
            }
        }
        let columns = Columns {
            customer: OptionalColumn::new(c.customer, "customer_id"),
            order: c.order.unwrap_or_else(|| "order_id".to_string()),
            timestamp: OptionalColumn::new(c.timestamp, "ts"),
            ts_format: c.ts_format.map(check_ts_format).transpose()?,
            amount: OptionalColumn::new(c.amount, "amount"),
            product: OptionalColumn::new(c.product, "product_id"),
            cost: OptionalColumn::new(c.cost, "cost"),
            quantity: OptionalColumn::new(c.quantity, "quantity"),
            item: c.item,
            discount: match (c.discount, c.list_price) {
                (Some(_), Some(_)) => {
                    return Err(Error::Config(
                        "discount and list price columns: give one (--discount-col or --list-price-col), not both"
                            .into(),
                    ))
                }
                (Some(d), None) => Some(Discount::Column(d)),
                (None, Some(l)) => Some(Discount::ListPrice(l)),
                (None, None) => None,
            },
            product_name: c.product_name,
            customer_attrs: customer_attrs(c.customer_attr)?,
            groups: switching::line_groups(std::mem::take(&mut switching.group))?,
            filter: LineFilter {
                where_sql: match self.lines.where_sql {
                    Some(w) if w.trim().is_empty() => {
                        return Err(Error::Config("where: expected a SQL predicate, found an empty string".into()))
                    }
                    w => w,
                },
                exclude_items: self.lines.exclude_items.as_deref().map(ExcludedItems::read).transpose()?,
            },
            zero_net_orders: self.lines.zero_net_orders.unwrap_or_default(),
        };
        Ok(Config {
            inputs,
            out,
            as_of,
            scores,
            columns,
            basket,
            sql: self.sql.resolve()?,
            output: self.output.resolve()?,
            engine: self.engine.resolve()?,
            clv: self.clv.resolve(as_of)?,
            patterns: self.patterns.resolve()?,
            trends: self.trends.resolve()?,
            switching: switching.resolve()?,
            compare_with: self.compare_with,
        })
    }
}

/// A `--ts-format` layout: strftime items chrono understands, with a year, a month and a day.
fn check_ts_format(f: String) -> Result<String> {
    use chrono::format::{Item, StrftimeItems};
    if StrftimeItems::new(&f).any(|i| matches!(i, Item::Error)) {
        return Err(Error::Config(format!("ts_format: `{f}` is no strftime layout (such as %m/%d/%Y %H:%M)")));
    }
    // Padding modifiers (%-m, %_d, %0e) name the same fields.
    let plain = f.replace("%-", "%").replace("%_", "%").replace("%0", "%");
    let has = |items: &[&str]| items.iter().any(|i| plain.contains(i));
    if !(has(&["%Y", "%y", "%G"]) && has(&["%m", "%b", "%B", "%h"]) && has(&["%d", "%e"]))
        && !has(&["%F", "%D", "%s", "%c", "%+"])
    {
        return Err(Error::Config(format!(
            "ts_format: `{f}` has no year, month and day (%Y, %m and %d, e.g. %m/%d/%Y %H:%M)"
        )));
    }
    Ok(f)
}

/// Customer attribute columns: names, each once, none of the output's own customer columns.
fn customer_attrs(names: Vec<String>) -> Result<Vec<String>> {
    let mut seen = std::collections::BTreeSet::new();
    for n in &names {
        if n.trim().is_empty() {
            return Err(Error::Config("customer_attr: expected a column name, found an empty string".into()));
        }
        if !seen.insert(n.as_str()) {
            return Err(Error::Config(format!("customer_attr: `{n}` is given twice")));
        }
    }
    Ok(names)
}

/// A date flag's value parser (`--as-of`, `--holdout-from`): `YYYY-MM-DD`, kept as text.
pub fn as_of_parser(s: &str) -> std::result::Result<String, String> {
    parse_as_of(s).map(|d| d.to_string()).map_err(|e| e.to_string())
}

/// Parse an `--as-of` date, `YYYY-MM-DD`.
pub fn parse_as_of(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| Error::Config(format!("as_of: expected a date YYYY-MM-DD, found `{s}`")))
}

/// A share or a count as the user wrote it: `2500` (a count) or `0.001` (a fraction, kept as the
/// decimal digits written, so thresholds are exact integer arithmetic: no float threshold bugs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Share {
    /// A count of purchase orders (>= 1).
    Count(u64),
    /// `num / 10^scale`, in (0, 1].
    Fraction { num: u64, scale: u32 },
}

impl Share {
    /// Parse `what`'s value: digits alone are a count (>= 1); digits with a decimal point are a
    /// fraction in (0, 1]. `counts` says whether a count is allowed.
    pub fn parse(what: &str, text: &str, counts: bool) -> Result<Share> {
        let t = text.trim();
        let expected = if counts {
            "a count of purchase orders such as 100, or a fraction of them in (0, 1] such as 0.001"
        } else {
            "a fraction in (0, 1] such as 0.5"
        };
        let bad = || Error::Config(format!("{what}: expected {expected}, found `{text}`"));
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        match t.split_once('.') {
            None if counts && digits(t) => match t.parse::<u64>() {
                Ok(n) if n >= 1 => Ok(Share::Count(n)),
                _ => Err(bad()),
            },
            Some((whole, frac))
                if (whole.is_empty() || digits(whole))
                    && (frac.is_empty() || digits(frac))
                    && !(whole.is_empty() && frac.is_empty()) =>
            {
                let frac = frac.trim_end_matches('0');
                let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| bad())? };
                if frac.len() > 18 || whole > 1 || (whole == 1 && !frac.is_empty()) {
                    return Err(bad());
                }
                let scale = frac.len() as u32;
                let frac_num: u64 = if frac.is_empty() { 0 } else { frac.parse().map_err(|_| bad())? };
                let num = whole * 10u64.pow(scale) + frac_num;
                if num == 0 {
                    return Err(bad());
                }
                Ok(Share::Fraction { num, scale })
            }
            _ => Err(bad()),
        }
    }

    /// The count threshold over `total` purchase orders: the count itself, or
    /// `ceil(num * total / 10^scale)` computed exactly; never below 1.
    pub fn threshold(self, total: u64) -> u64 {
        match self {
            Share::Count(n) => n.max(1),
            Share::Fraction { num, scale } => {
                let den = 10u128.pow(scale);
                let t = (num as u128 * total as u128).div_ceil(den);
                (t.min(u64::MAX as u128) as u64).max(1)
            }
        }
    }

    /// `part / whole >= self` exactly (a fraction; a count compares `part` with it).
    pub fn reached(self, part: u64, whole: u64) -> bool {
        match self {
            Share::Count(n) => part >= n,
            Share::Fraction { num, scale } => part as u128 * 10u128.pow(scale) >= num as u128 * whole as u128,
        }
    }
}

impl std::fmt::Display for Share {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Share::Count(n) => write!(f, "{n}"),
            Share::Fraction { num, scale } => {
                let den = 10u64.pow(scale);
                if num == den {
                    return write!(f, "1.0");
                }
                write!(f, "0.{:0width$}", num, width = scale as usize)
            }
        }
    }
}

impl Serialize for Share {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match *self {
            Share::Count(n) => s.serialize_u64(n),
            Share::Fraction { .. } => s.serialize_str(&self.to_string()),
        }
    }
}

/// A config-file date written as a TOML date (`2024-01-01`) or a string (`"2024-01-01"`), as text
/// (a TOML date-time keeps its time, which the date check then refuses).
pub(crate) fn date_or_string<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum V {
        D(toml::value::Datetime),
        S(String),
    }
    Ok(Option::<V>::deserialize(d)?.map(|v| match v {
        V::D(t) => t.to_string(),
        V::S(s) => s,
    }))
}

/// A config-file value written as a number or a string (`0.001`, `2500`, `"0.001"`), as text.
pub(crate) fn number_or_string<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum V {
        I(u64),
        F(f64),
        S(String),
    }
    Ok(Option::<V>::deserialize(d)?.map(|v| match v {
        V::I(n) => n.to_string(),
        // A TOML float is a fraction (1.0 = all orders), a TOML integer a count. Rust prints the
        // shortest text that reads back as the same float, never an exponent: 0.001 -> "0.001".
        V::F(x) => {
            let s = format!("{x}");
            if s.contains('.') {
                s
            } else {
                format!("{s}.0")
            }
        }
        V::S(s) => s,
    }))
}
