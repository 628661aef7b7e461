//! Reading a transaction dump: resolving `--input` paths to Parquet files, checking each file's
//! columns against the roles of the config, and building one lazy frame of canonical order lines.
//!
//! Everything downstream sees only the canonical columns below; no other module looks at the
//! user's column names or types.
//!
//! | column        | type                         | from role          |
//! |---------------|------------------------------|--------------------|
//! | `customer_id` | Int64 or String (as input)   | customer           |
//! | `order_id`    | Int64 or String              | order              |
//! | `ts`          | Datetime(µs), naive UTC      | timestamp          |
//! | `amount`      | Float64                      | amount (or expr)   |
//! | `product_id`  | Int64 or String (optional)   | product            |
//! | `cost`        | Float64 (optional)           | cost               |
//! | `quantity`    | Float64 (optional)           | quantity           |
//! | `item`        | as product (optional)        | item, else product |

mod columns;
mod csv;
mod filter;
mod files;
mod roles;
mod timestamps;

use std::collections::BTreeMap;
use std::path::PathBuf;

use polars::prelude::*;

use crate::config::{Columns, OptionalColumn};
use crate::error::{one_line, Error, Result};

pub use crate::facts::{col_names, Present};
pub use csv::{Compression, Format};
pub use timestamps::strptime_micros;
pub use files::{read_whole, resolve_inputs, Resolved, Skipped};
use filter::*;
use files::*;
use roles::*;
use columns::*;
use timestamps::*;
use crate::facts::col_names as c;

pub mod sigbus;

/// One file of the dump (Parquet, or CSV / TSV), with the hive partition values found in its path.
#[derive(Debug, Clone)]
pub struct InputFile {
    pub path: PathBuf,
    pub hive: BTreeMap<String, String>,
    pub format: Format,
}

/// How to read a slice of one input file: its path, the input columns to read, the hive partition
/// columns to add and the canonical columns to make.
struct Stream {
    path: PathBuf,
    /// A CSV file is sliced from its lazy scan (its text is in memory); Parquet row groups are
    /// read directly.
    csv: bool,
    columns: Vec<String>,
    extra: Vec<Expr>,
    select: Vec<Expr>,
}

/// The kind an id column is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdKind {
    Int,
    WholeFloat,
    Str,
}

/// A dump ready to compute on: its files, and the canonical lines as a lazy frame.
pub struct Dump {
    pub files: Vec<InputFile>,
    pub lines: LazyFrame,
    /// Per file: its canonical lines (`lines` is their union).
    pub frames: Vec<LazyFrame>,
    /// Per file: how to read a slice of it (see [`Dump::collect_slice`]).
    streams: Vec<Stream>,
    pub has: Present,
    /// Per file: its scan and the input columns the lines read, to name the culprit when reading fails.
    sources: Vec<(LazyFrame, Vec<String>)>,
    /// The input's timestamp column, when the lines carry one.
    ts_column: Option<String>,
    /// `--where` and the `--group` predicates: each predicate, its option and its text, to name
    /// it when it fails on a file's values.
    filters: Vec<(Expr, String, String)>,
    /// The canonical lines of the CSV file being sliced (its index), parsed once.
    csv_lines: std::sync::Mutex<Option<(usize, DataFrame)>>,
    /// The local layout the string timestamps were read in, when evergreen found it (no
    /// `--ts-format`, not ISO-8601): an incremental run reads its new files in the same one.
    pub ts_layout: Option<String>,
}

impl Dump {
    /// The microsecond timestamps read must lie in the years 0001..=9999: one min/max over the
    /// lines; only when that fails are the files scanned again to name the first bad one.
    fn check_ts_range(&self, df: DataFrame) -> Result<DataFrame> {
        let Ok(ts) = df.column(c::TS) else { return Ok(df) };
        let (lo, hi) =
            physical_range(&DataType::Datetime(TimeUnit::Microseconds, None)).unwrap_or((i64::MIN, i64::MAX));
        // One vectorised pass over the raw values when there is no null (the usual dump).
        let phys = ts.cast(&DataType::Int64)?;
        let phys = phys.i64()?;
        let (min, max) = if phys.null_count() == 0 {
            phys.downcast_iter()
                .map(|a| a.values().iter().fold((i64::MAX, i64::MIN), |(x, y), &v| (x.min(v), y.max(v))))
                .fold((i64::MAX, i64::MIN), |(a, b), (x, y)| (a.min(x), b.max(y)))
        } else {
            (phys.min().unwrap_or(lo), phys.max().unwrap_or(hi))
        };
        if min >= lo && max <= hi {
            return Ok(df);
        }
        for (f, (lf, _)) in self.files.iter().zip(&self.sources) {
            let schema = lf.clone().collect_schema().map_err(|e| unreadable(&f.path, one_line(&e.to_string())))?;
            if let Some((name, dt)) = self.ts_column.as_deref().and_then(|n| schema.get(n).map(|dt| (n, dt.clone()))) {
                check_ts_range(f, lf, name, &dt)?;
            }
        }
        Ok(df)
    }

    /// The input columns the lines are made from, with their types in the files (a column read
    /// with two types lists both): what a state compares, since `--where` and the amount expression
    /// read these, and CSV files are typed from the dump's files together (issue 33).
    pub fn read_types(&self) -> Result<Vec<(String, String)>> {
        let mut out = std::collections::BTreeSet::new();
        for (f, (lf, columns)) in self.files.iter().zip(&self.sources) {
            let schema = lf.clone().collect_schema().map_err(|e| unreadable(&f.path, one_line(&e.to_string())))?;
            for name in columns {
                if let Some(dt) = schema.get(name) {
                    out.insert((name.clone(), dt.to_string()));
                }
            }
        }
        Ok(out.into_iter().collect())
    }

    /// Read the canonical lines. A failure while decoding (invalid UTF-8 in a string column, a
    /// file damaged or changed during the run) is traced to its file and column: bad values are
    /// exit 4 naming both, a file that cannot be read is exit 3 naming it.
    pub fn collect(&self) -> Result<DataFrame> {
        self.collect_frame(self.lines.clone(), 0..self.files.len())
    }

    /// Read `len` canonical lines of file `file` from line `offset` on (the partitioned engine
    /// streams the dump this way), with the same checks and diagnosis as [`Dump::collect`].
    pub fn collect_slice(&self, file: usize, offset: usize, len: usize) -> Result<DataFrame> {
        let st = &self.streams[file];
        if st.csv {
            // A CSV file is parsed once, when its first slice is asked for; its lines are then
            // sliced from memory until the next file's first slice.
            let mut cache = self.csv_lines.lock().unwrap_or_else(|e| e.into_inner());
            if cache.as_ref().is_none_or(|(k, _)| *k != file) {
                *cache = None;
                *cache = Some((file, self.collect_frame(self.frames[file].clone(), file..file + 1)?));
            }
            let (_, lines) = cache.as_ref().expect("filled above");
            return Ok(lines.slice(offset as i64, len));
        }
        // Parquet's reader skips the row groups outside the slice (a lazy slice decodes the file
        // from its start each time); the canonical columns are then made as for the whole dump.
        let read = || -> PolarsResult<DataFrame> {
            let reader = std::fs::File::open(&st.path)?;
            let columns = (!st.columns.is_empty()).then(|| st.columns.clone());
            let df = ParquetReader::new(reader).with_columns(columns).with_slice(Some((offset, len))).finish()?;
            let mut lf = df.lazy();
            if !st.extra.is_empty() {
                lf = lf.with_columns(st.extra.clone());
            }
            lf.select(st.select.clone()).collect()
        };
        match read() {
            Ok(df) => self.check_ts_range(df),
            // Read it again the general way, which names the file and column at fault.
            Err(_) => self.collect_frame(self.frames[file].clone().slice(offset as i64, len as IdxSize), file..file + 1),
        }
    }

    fn collect_frame(&self, lf: LazyFrame, files: std::ops::Range<usize>) -> Result<DataFrame> {
        let err = match lf.collect() {
            Ok(df) => return self.check_ts_range(df),
            Err(e) => e,
        };
        for (f, (lf, columns)) in self.files[files.clone()].iter().zip(&self.sources[files]) {
            for column in columns {
                let Err(e) = lf.clone().select([col(column.as_str())]).collect() else { continue };
                let reason = one_line(&e.to_string());
                if reason.to_lowercase().contains("utf-8") || reason.to_lowercase().contains("utf8") {
                    return Err(Error::BadColumn {
                        file: f.path.clone(),
                        column: column.clone(),
                        role: "string",
                        expected: "valid UTF-8 strings".into(),
                        found: reason,
                    });
                }
                return Err(unreadable(&f.path, reason));
            }
            // Every column reads: a `--where` or `--group` predicate that fails on the values (a
            // CAST of text that is no number) is the input's fault, exit 4 naming the file, the
            // option and the expression.
            for (keep, flag, w) in &self.filters {
                if let Err(e) = lf.clone().select([keep.clone()]).collect() {
                    return Err(Error::BadFilter { file: f.path.clone(), flag: flag.clone(), expr: w.clone(), reason: one_line(&e.to_string()) });
                }
            }
        }
        Err(err.into())
    }
}

/// What a subcommand needs from the dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `run`: customer, order, timestamp and amount required; product, cost, quantity optional.
    Customers,
    /// `basket`: order and item required; the rest optional.
    Basket,
}

/// How a `--where` error names its option (a `--group`'s names its group).
const WHERE_FLAG: &str = "--where";
const TS_EXPECTED: &str = "a timestamp, a date or an ISO-8601 string";
const ID_EXPECTED: &str = "integers or strings";
const NUM_EXPECTED: &str = "numbers (float, decimal or integer)";

/// Check every file against the roles and build the canonical lazy line frame.
pub fn load(files: Vec<InputFile>, cols: &Columns, mode: Mode, streamed: bool) -> Result<Dump> {
    if streamed {
        // Decoded from a memory map: a file truncated mid-read is an input error, not a SIGBUS.
        sigbus::watch(files.iter().map(|f| f.path.as_path()));
    }
    let mut scans: Vec<(LazyFrame, SchemaRef)> = Vec::with_capacity(files.len());
    let mut extras: Vec<Vec<Expr>> = Vec::with_capacity(files.len());
    for f in &files {
        let (lf, schema, extra) = scan_file(f, streamed)?;
        scans.push((lf, schema));
        extras.push(extra);
    }
    // CSV files type their columns from their own values: where two disagree, both are read
    // again with the common type. A file with a header only has no values to type by: it takes
    // the others' types (a day without sales in a folder of daily exports).
    let is_csv = |f: &InputFile| f.format != Format::Parquet;
    let empty: Vec<bool> = files
        .iter()
        .zip(&scans)
        .map(|(f, (lf, _))| is_csv(f) && lf.clone().limit(1).collect().is_ok_and(|d| d.height() == 0))
        .collect();
    if !files.is_empty() && empty.iter().all(|e| *e) {
        return Err(Error::Empty {
            what: files.iter().map(|f| f.path.display().to_string()).collect::<Vec<_>>().join(", "),
            reason: "no lines: the CSV files hold a header row only".into(),
        });
    }
    let csv_schemas: Vec<&Schema> = files
        .iter()
        .zip(&scans)
        .zip(&empty)
        .filter(|((f, _), empty)| is_csv(f) && !**empty)
        .map(|((_, (_, s)), _)| s.as_ref())
        .collect();
    if !csv_schemas.is_empty() && files.iter().filter(|f| is_csv(f)).count() > 1 {
        let common = Arc::new(csv::unified_types(&csv_schemas));
        for (k, f) in files.iter().enumerate() {
            let differs = scans[k].1.iter().any(|(name, dt)| common.get(name).is_some_and(|c| c != dt));
            if f.format != Format::Parquet && differs {
                let (lf, schema, extra) = scan_csv(f, Some(common.clone()))?;
                scans[k] = (lf, schema);
                extras[k] = extra;
            }
        }
    }
    let amount_name = cols.amount.name.as_str();
    let amount_is_column = scans.iter().all(|(_, s)| s.contains(amount_name));
    let amount_expr = if amount_is_column || !cols.amount.explicit {
        col(amount_name)
    } else {
        polars::sql::sql_expr(amount_name).map_err(|e| Error::BadAmountExpr {
            file: files[0].path.clone(),
            expr: amount_name.to_string(),
            reason: one_line(&e.to_string()),
        })?
    };
    let amount_leaves: Vec<String> = amount_expr.clone().meta().root_names().iter().map(|s| s.to_string()).collect();
    let keep = cols.filter.where_sql.as_deref().map(|w| where_expr(&files[0].path, WHERE_FLAG, w)).transpose()?;
    // An optional role is used when named explicitly (then it must exist) or when its default
    // name is present in every file.
    let optional_used = |oc: &OptionalColumn| oc.explicit || scans.iter().all(|(_, s)| s.contains(&oc.name));
    let required_in_run = |oc: &OptionalColumn| mode == Mode::Customers || optional_used(oc);
    let item_name = cols.item.clone().unwrap_or_else(|| cols.product.name.clone());
    let has = Present {
        customer: required_in_run(&cols.customer),
        timestamp: required_in_run(&cols.timestamp),
        amount: mode == Mode::Customers
            || cols.amount.explicit
            || amount_leaves.iter().all(|l| scans.iter().all(|(_, s)| s.contains(l))),
        product: optional_used(&cols.product),
        item: mode == Mode::Basket || cols.item.is_some() || optional_used(&cols.product),
        cost: optional_used(&cols.cost),
        quantity: optional_used(&cols.quantity),
        discount: cols.discount.is_some(),
    };

    // The layout of each file's string timestamps: the given one, or the one local layout the
    // dump's non-ISO files all fit (decided over every file at once).
    let ts_layouts: Vec<Option<String>> = match (&cols.ts_format, has.timestamp) {
        (Some(fmt), true) => vec![Some(fmt.clone()); scans.len()],
        (None, true) => {
            let name = cols.timestamp.name.as_str();
            let entries: Vec<(&InputFile, &LazyFrame, bool)> = files
                .iter()
                .zip(&scans)
                .map(|(f, (lf, schema))| (f, lf, schema.get(name) == Some(&DataType::String)))
                .collect();
            dump_layouts(&entries, name)?
        }
        _ => vec![None; scans.len()],
    };
    let roles = Roles { cols, has, mode, amount: amount_expr, amount_leaves, keep: keep.clone(), item_name };
    let mut agreed = Agreed::default();
    let mut frames = Vec::with_capacity(scans.len());
    let mut sources = Vec::with_capacity(scans.len());
    let mut streams = Vec::with_capacity(scans.len());
    for (((f, (lf, schema)), extra), ts_layout) in files.iter().zip(scans).zip(extras).zip(&ts_layouts) {
        let select = canonical_columns(f, &lf, &schema, &roles, ts_layout.as_deref(), &mut agreed)?;
        let mut read: Vec<String> =
            select.iter().flat_map(|e| e.clone().meta().root_names()).map(|n| n.to_string()).collect();
        read.sort();
        read.dedup();
        read.retain(|n| schema.contains(n));
        let hive: Vec<String> = extra.iter().flat_map(|e| e.clone().meta().output_name().ok()).map(|n| n.to_string()).collect();
        streams.push(Stream {
            path: f.path.clone(),
            csv: matches!(f.format, Format::Csv { .. }),
            columns: read.iter().filter(|n| !hive.contains(n)).cloned().collect(),
            extra,
            select: select.clone(),
        });
        sources.push((lf.clone(), read));
        frames.push(lf.select(select));
    }
    let lines = union(&frames)?;
    let ts_column = has.timestamp.then(|| cols.timestamp.name.clone());
    let mut filters: Vec<(Expr, String, String)> =
        keep.zip(cols.filter.where_sql.clone()).map(|(e, w)| (e, WHERE_FLAG.to_string(), w)).into_iter().collect();
    if mode == Mode::Customers {
        for g in &cols.groups {
            let flag = format!("--group {}", g.name);
            filters.push((where_expr(&files[0].path, &flag, &g.predicate)?, flag, g.predicate.clone()));
        }
    }
    let ts_layout = if cols.ts_format.is_none() { ts_layouts.iter().flatten().next().cloned() } else { None };
    Ok(Dump { files, lines, frames, streams, has, sources, ts_column, filters, csv_lines: Default::default(), ts_layout })
}

/// The dump of a run with a state (issue 33): the state's `parts`, canonical lines that already
/// passed `--where` and the line rules, read as the dump's files. `has` is the roles the state was
/// written with, `names` its canonical columns.
pub fn from_parts(parts: &[PathBuf], has: Present, names: &[String], streamed: bool) -> Result<Dump> {
    let mut dump = Dump {
        files: Vec::new(),
        lines: DataFrame::empty().lazy(),
        frames: Vec::new(),
        streams: Vec::new(),
        has,
        sources: Vec::new(),
        ts_column: has.timestamp.then(|| c::TS.to_string()),
        filters: Vec::new(),
        csv_lines: Default::default(),
        ts_layout: None,
    };
    for path in parts {
        let f = InputFile { path: path.clone(), hive: BTreeMap::new(), format: Format::Parquet };
        let (lf, _, _) = scan_file(&f, streamed)?;
        let select: Vec<Expr> = names.iter().map(|n| col(n.as_str())).collect();
        dump.streams.push(Stream { path: path.clone(), csv: false, columns: names.to_vec(), extra: Vec::new(), select: select.clone() });
        dump.sources.push((lf.clone(), names.to_vec()));
        dump.frames.push(lf.select(select));
        dump.files.push(f);
    }
    dump.lines = union(&dump.frames)?;
    Ok(dump)
}

/// The files' canonical lines as one frame (types widened where files differ).
fn union(frames: &[LazyFrame]) -> Result<LazyFrame> {
    Ok(match frames {
        [one] => one.clone(),
        _ => concat(frames, UnionArgs { parallel: true, rechunk: false, to_supertypes: true, ..Default::default() })?,
    })
}

/// Lines of each file: a Parquet file's from its footer (no data read), a CSV file's by
/// counting its rows.
pub fn file_lines(files: &[InputFile]) -> Result<Vec<u64>> {
    files
        .iter()
        .map(|f| {
            if let Format::Csv { separator, compression } = f.format {
                let bytes = read_whole(&f.path).map_err(|e| Error::Unreadable { file: f.path.clone(), reason: e.to_string() })?;
                return csv::count_rows(&f.path, csv::read_text(&f.path, compression, bytes)?, separator);
            }
            let file = std::fs::File::open(&f.path)
                .map_err(|e| Error::Unreadable { file: f.path.clone(), reason: e.to_string() })?;
            ParquetReader::new(file)
                .num_rows()
                .map(|n| n as u64)
                .map_err(|e| {
                    let bytes = std::fs::read(&f.path).unwrap_or_default();
                    unreadable_or_too_wide(&f.path, &bytes, one_line(&e.to_string()))
                })
        })
        .collect()
}
