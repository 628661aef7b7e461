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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::config::{Columns, Discount, OptionalColumn};
use crate::error::{one_line, Error, Result};

pub use crate::facts::{col_names, Present};
use col_names as c;

pub mod sigbus;

/// One Parquet file of the dump, with the hive partition values found in its path.
#[derive(Debug, Clone)]
pub struct InputFile {
    pub path: PathBuf,
    pub hive: BTreeMap<String, String>,
}

/// How to read a slice of one input file: its path, the input columns to read, the hive partition
/// columns to add and the canonical columns to make.
struct Stream {
    path: PathBuf,
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
    /// `--where`: the predicate and its text, to name it when it fails on a file's values.
    filter: Option<(Expr, String)>,
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
            // Every column reads: a `--where` that fails on the values (a CAST of text that is no
            // number) is the input's fault, exit 4 naming the file and the expression.
            if let Some((keep, w)) = &self.filter {
                if let Err(e) = lf.clone().select([keep.clone()]).collect() {
                    return Err(Error::BadFilter { file: f.path.clone(), expr: w.clone(), reason: one_line(&e.to_string()) });
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

const TS_EXPECTED: &str = "a timestamp, a date or an ISO-8601 string";
const ID_EXPECTED: &str = "integers or strings";
const NUM_EXPECTED: &str = "numbers (float, decimal or integer)";

/// Input entries that were not read, counted for the manifest (each also logged as a warning).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Skipped {
    /// A file reached a second time (through a symlink, a repeated `--input`, an overlapping glob):
    /// every file is read once, whatever the paths that name it.
    pub duplicate_files: u64,
    /// A symlinked folder leading back into a folder being walked.
    pub symlink_loops: u64,
    /// Entries named like Parquet files that are not regular files (FIFOs, sockets, devices).
    pub not_regular: u64,
}

/// The resolved input: files in reading order, and what was skipped.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    pub files: Vec<InputFile>,
    pub skipped: Skipped,
}

/// The (device, inode) of a path, following symlinks.
fn file_id(p: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()))
}

/// Walking state: the files already taken (by device and inode) and the skip counts.
#[derive(Default)]
struct Walk {
    out: Resolved,
    seen: std::collections::HashSet<(u64, u64)>,
}

impl Walk {
    /// Take a file found at `path`: regular files only, each (device, inode) once.
    fn take(&mut self, path: PathBuf, hive: BTreeMap<String, String>, named: bool) -> Result<()> {
        let meta =
            std::fs::metadata(&path).map_err(|e| Error::Unreadable { file: path.clone(), reason: e.to_string() })?;
        if !meta.is_file() {
            if named {
                return Err(Error::Unreadable { file: path, reason: "not a regular file".into() });
            }
            tracing::warn!("skipped {}: not a regular file", path.display());
            self.out.skipped.not_regular += 1;
            return Ok(());
        }
        if file_id(&path).is_some_and(|id| !self.seen.insert(id)) {
            tracing::warn!("skipped {}: the same file was already read", path.display());
            self.out.skipped.duplicate_files += 1;
            return Ok(());
        }
        self.out.files.push(InputFile { path, hive });
        Ok(())
    }
}

/// Resolve the `--input` paths: files, folders (recursively, hive `key=value` folders recorded) and
/// globs. Inside folders only `*.parquet`, `*.parq` and `*.pq` files are read; names starting with
/// `_` or `.` (such as `_SUCCESS`) are skipped. Every file is read once (by device and inode),
/// symlink loops are not followed, and only regular files are read; each skip is counted.
pub fn resolve_inputs(inputs: &[String]) -> Result<Resolved> {
    let mut walk = Walk::default();
    for input in inputs {
        let before = walk.out.files.len() as u64 + walk.out.skipped.duplicate_files;
        let p = Path::new(input);
        if p.is_dir() {
            walk_dir(p, p, &mut walk, &mut Vec::new())?;
        } else if p.exists() {
            walk.take(p.to_path_buf(), BTreeMap::new(), true)?;
        } else if input.contains(['*', '?', '[']) {
            let paths = glob::glob(input).map_err(|e| Error::Config(format!("--input {input}: bad glob: {e}")))?;
            let mut matched: Vec<PathBuf> = paths.filter_map(|r| r.ok()).collect();
            matched.sort();
            for m in matched {
                if m.is_dir() {
                    walk_dir(&m, &m, &mut walk, &mut Vec::new())?;
                } else {
                    walk.take(m, BTreeMap::new(), false)?;
                }
            }
        }
        if walk.out.files.len() as u64 + walk.out.skipped.duplicate_files == before {
            return Err(Error::NoInput { path: input.clone() });
        }
    }
    Ok(walk.out)
}

/// Walk a folder; `stack` holds the (device, inode) of the folders above, to stop symlink loops.
fn walk_dir(root: &Path, dir: &Path, walk: &mut Walk, stack: &mut Vec<(u64, u64)>) -> Result<()> {
    if let Some(id) = file_id(dir) {
        if stack.contains(&id) {
            tracing::warn!("skipped {}: a symlink loop back into a folder being read", dir.display());
            walk.out.skipped.symlink_loops += 1;
            return Ok(());
        }
        stack.push(id);
    }
    let rd =
        std::fs::read_dir(dir).map_err(|e| Error::Unreadable { file: dir.to_path_buf(), reason: e.to_string() })?;
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        if name.starts_with('_') || name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            walk_dir(root, &path, walk, stack)?;
        } else if [".parquet", ".parq", ".pq"].iter().any(|ext| name.ends_with(ext)) {
            walk.take(path.clone(), hive_values(root, &path), false)?;
        }
    }
    stack.pop();
    Ok(())
}

/// `key=value` folder names between the scanned root and the file.
fn hive_values(root: &Path, file: &Path) -> BTreeMap<String, String> {
    let rel = file.strip_prefix(root).unwrap_or(file);
    let mut m = BTreeMap::new();
    if let Some(parent) = rel.parent() {
        for comp in parent.components() {
            let s = comp.as_os_str().to_string_lossy();
            if let Some((k, v)) = s.split_once('=') {
                // Percent-decoded, as Spark and DuckDB read them (`ACME%2FEU` is `ACME/EU`).
                let decode = |x: &str| percent_encoding::percent_decode_str(x).decode_utf8_lossy().to_string();
                m.insert(decode(k), decode(v));
            }
        }
    }
    m
}

/// Scan one file from its bytes read into memory. Files are never memory-mapped: a mapped file
/// that another process truncates kills the reader with SIGBUS, while a short read here is a
/// clean "cannot read Parquet" error naming the file.
///
/// `streamed` (the partitioned engine, which reads a file slice by slice) scans the open file
/// instead: only the slice being read is in memory.
fn scan_file(f: &InputFile, streamed: bool) -> Result<(LazyFrame, SchemaRef, Vec<Expr>)> {
    let args = ScanArgsParquet {
        hive_options: HiveOptions { enabled: Some(false), ..Default::default() },
        glob: false,
        ..Default::default()
    };
    let (buffer, sources) = if streamed {
        let file = std::fs::File::open(&f.path).map_err(|e| Error::Unreadable { file: f.path.clone(), reason: e.to_string() })?;
        (polars_buffer::Buffer::from_vec(Vec::new()), ScanSources::Files(vec![file].into()))
    } else {
        let bytes = read_whole(&f.path).map_err(|e| Error::Unreadable { file: f.path.clone(), reason: e.to_string() })?;
        let buffer = polars_buffer::Buffer::from_vec(bytes);
        (buffer.clone(), ScanSources::Buffers(vec![buffer].into()))
    };
    let scanned = LazyFrame::scan_parquet_sources(sources, args)
        .and_then(|mut lf| lf.collect_schema().map(|schema| (lf, schema)));
    let (mut lf, schema) = match scanned {
        Ok(v) => v,
        Err(e) => {
            let bytes = if streamed { std::fs::read(&f.path).unwrap_or_default() } else { buffer.to_vec() };
            return Err(unreadable_or_too_wide(&f.path, &bytes, one_line(&e.to_string())));
        }
    };
    if !f.hive.is_empty() {
        let extra: Vec<Expr> = f
            .hive
            .iter()
            .filter(|(k, _)| !schema.contains(k))
            .map(|(k, v)| hive_literal(v).alias(k.as_str()))
            .collect();
        if !extra.is_empty() {
            lf = lf.with_columns(extra.clone());
            // The partition columns are part of the file's schema now.
            let schema = file_schema(f, &mut lf)?;
            return Ok((lf, schema, extra));
        }
    }
    Ok((lf, schema, Vec::new()))
}

/// A file's bytes, read in parallel blocks (as fast as a memory map, without the SIGBUS a mapped
/// file that shrinks causes). A file that changes size while it is read is an error.
fn read_whole(path: &Path) -> std::io::Result<Vec<u8>> {
    use rayon::prelude::*;
    use std::os::unix::fs::FileExt;
    const BLOCK: usize = 8 << 20;
    let file = std::fs::File::open(path)?;
    let len = file.metadata()?.len() as usize;
    let mut bytes = vec![0u8; len];
    bytes.par_chunks_mut(BLOCK).enumerate().try_for_each(|(i, block)| file.read_exact_at(block, (i * BLOCK) as u64))?;
    if file.metadata()?.len() as usize != len {
        return Err(std::io::Error::other("the file changed size while it was read"));
    }
    Ok(bytes)
}

/// Why a file could not be read: a decimal too wide for polars is the contract's exit 4 naming the
/// column; anything else is exit 3.
fn unreadable_or_too_wide(file: &Path, bytes: &[u8], reason: String) -> Error {
    match too_wide_decimal(bytes) {
        Some((column, found)) => Error::BadColumn {
            file: file.to_path_buf(),
            column,
            role: "number",
            expected: "numbers of at most 38 digits (decimal128, float or integer)".into(),
            found,
        },
        None => Error::Unreadable { file: file.to_path_buf(), reason },
    }
}

/// [`unreadable_or_too_wide`] reading the file again (on the error path only).
fn unreadable(file: &Path, reason: String) -> Error {
    let bytes = read_whole(file).unwrap_or_default();
    unreadable_or_too_wide(file, &bytes, reason)
}

/// The first column of a Parquet file whose decimal type is wider than polars reads (precision
/// above 38, such as Arrow's decimal256), with its type: a contract error, not an unreadable file.
fn too_wide_decimal(bytes: &[u8]) -> Option<(String, String)> {
    use polars_parquet::parquet::schema::types::{PrimitiveConvertedType, PrimitiveLogicalType};
    let meta = polars_parquet::parquet::read::read_metadata(&mut std::io::Cursor::new(bytes)).ok()?;
    meta.schema().columns().iter().find_map(|c| {
        let t = &c.descriptor.primitive_type;
        let (p, s) = match (&t.logical_type, &t.converted_type) {
            (Some(PrimitiveLogicalType::Decimal(p, s)), _) | (_, Some(PrimitiveConvertedType::Decimal(p, s))) => {
                (*p, *s)
            }
            _ => return None,
        };
        (p > 38).then(|| (t.field_info.name.to_string(), format!("decimal({p}, {s})")))
    })
}

/// A hive partition value as a literal: an integer when it reads as one, else a string.
fn hive_literal(v: &str) -> Expr {
    match v.parse::<i64>() {
        Ok(i) => lit(i),
        Err(_) => lit(v.to_string()),
    }
}

fn file_schema(f: &InputFile, lf: &mut LazyFrame) -> Result<SchemaRef> {
    lf.collect_schema().map_err(|e| unreadable(&f.path, one_line(&e.to_string())))
}

/// What one role needs to know while checking files.
struct RoleCheck<'a> {
    role: &'static str,
    column: &'a str,
}

impl RoleCheck<'_> {
    fn missing(&self, file: &Path, schema: &Schema, expected: &'static str) -> Error {
        let found: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
        Error::MissingColumn {
            file: file.to_path_buf(),
            column: self.column.to_string(),
            role: self.role,
            expected,
            found: found.join(", "),
        }
    }
    fn bad(&self, file: &Path, expected: &str, found: impl Into<String>) -> Error {
        Error::BadColumn {
            file: file.to_path_buf(),
            column: self.column.to_string(),
            role: self.role,
            expected: expected.to_string(),
            found: found.into(),
        }
    }
}

fn id_kind(dt: &DataType) -> Option<IdKind> {
    match dt {
        d if d.is_integer() => Some(IdKind::Int),
        DataType::Float32 | DataType::Float64 => Some(IdKind::WholeFloat),
        DataType::String => Some(IdKind::Str),
        DataType::Categorical(_, _) | DataType::Enum(_, _) => Some(IdKind::Str),
        _ => None,
    }
}

fn is_numeric(dt: &DataType) -> bool {
    dt.is_primitive_numeric() || matches!(dt, DataType::Decimal(_, _))
}

fn ts_ok(dt: &DataType) -> bool {
    matches!(dt, DataType::Datetime(_, _) | DataType::Date | DataType::String)
}

/// The kinds chosen for the id roles, agreed across files.
#[derive(Default)]
struct Agreed {
    kinds: BTreeMap<&'static str, (IdKind, PathBuf, DataType)>,
    ts: Option<(DataType, PathBuf)>,
}

impl Agreed {
    fn id(&mut self, rc: &RoleCheck, file: &Path, dt: &DataType) -> Result<IdKind> {
        let kind = id_kind(dt).ok_or_else(|| rc.bad(file, ID_EXPECTED, dt.to_string()))?;
        // Ints and whole floats agree with each other (both become Int64); strings agree only with strings.
        let class = |k: IdKind| k == IdKind::Str;
        match self.kinds.get(rc.role) {
            Some((k0, f0, dt0)) if class(*k0) != class(kind) => Err(Error::SchemaMismatch {
                file: file.to_path_buf(),
                other_file: f0.clone(),
                column: rc.column.to_string(),
                role: rc.role,
                expected: dt0.to_string(),
                found: dt.to_string(),
            }),
            Some(_) => Ok(kind),
            None => {
                self.kinds.insert(rc.role, (kind, file.to_path_buf(), dt.clone()));
                Ok(kind)
            }
        }
    }
}

/// Expression turning an id column into its canonical type (Int64 or String). An empty or
/// blank string id is no id: it reads as null (a guest line for customers, a rejected line for orders).
fn id_expr(name: &str, kind: IdKind) -> Expr {
    match kind {
        IdKind::Int | IdKind::WholeFloat => col(name).strict_cast(DataType::Int64),
        IdKind::Str => {
            let s = col(name).cast(DataType::String);
            let blank = s.clone().str().strip_chars(lit(NULL)).str().len_bytes().eq(lit(0u32));
            when(blank).then(lit(NULL).cast(DataType::String)).otherwise(s)
        }
    }
}

/// ISO-8601 layouts accepted in string timestamps, tried in order.
const NAIVE_FORMATS: [&str; 10] = [
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S%.fZ",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%d",
    "%Y%m%d",
];
const ZONED_FORMATS: [&str; 2] = ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%z"];

/// Microseconds since the epoch (UTC) of a timestamp column of any accepted type, as Int64.
/// Zoned timestamps keep their instant; naive ones are read as UTC. Unparseable strings give null.
fn ts_micros(name: &str, dt: &DataType) -> Expr {
    let e = col(name);
    match dt {
        DataType::Datetime(_, _) | DataType::Date => e.dt().timestamp(TimeUnit::Microseconds),
        _ => {
            let parse = |fmt: &str, tz: Option<TimeZone>| {
                let opts = StrptimeOptions { format: Some(fmt.into()), strict: false, exact: true, cache: true };
                let s = col(name).str().strip_chars(lit(LiteralValue::untyped_null()));
                if fmt == "%Y-%m-%d" || fmt == "%Y%m%d" {
                    s.str().to_date(opts).dt().timestamp(TimeUnit::Microseconds)
                } else {
                    s.str()
                        .to_datetime(Some(TimeUnit::Microseconds), tz, opts, lit("raise"))
                        .dt()
                        .timestamp(TimeUnit::Microseconds)
                }
            };
            let mut alts: Vec<Expr> = NAIVE_FORMATS.iter().map(|f| parse(f, None)).collect();
            alts.extend(ZONED_FORMATS.iter().map(|f| parse(f, Some(TimeZone::UTC))));
            coalesce(&alts)
        }
    }
}

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
    let keep = cols.filter.where_sql.as_deref().map(|w| where_expr(&files[0].path, w)).transpose()?;
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

    let mut agreed = Agreed::default();
    let mut frames = Vec::with_capacity(scans.len());
    let mut sources = Vec::with_capacity(scans.len());
    let mut streams = Vec::with_capacity(scans.len());
    for ((f, (lf, schema)), extra) in files.iter().zip(scans).zip(extras) {
        let file = f.path.as_path();
        let get = |rc: &RoleCheck, expected: &'static str| -> Result<DataType> {
            schema.get(rc.column).cloned().ok_or_else(|| rc.missing(file, &schema, expected))
        };
        let mut select: Vec<Expr> = Vec::with_capacity(7);
        let mut value_checks: Vec<(&'static str, String, Expr, &'static str)> = Vec::new();
        let mut id_role = |role: &'static str, column: &str, out: &str, agreed: &mut Agreed| -> Result<Expr> {
            let rc = RoleCheck { role, column };
            let dt = get(&rc, ID_EXPECTED)?;
            let kind = agreed.id(&rc, file, &dt)?;
            let e = col(column);
            if kind == IdKind::WholeFloat {
                // Whole numbers that fit Int64 (|x| < 2^63).
                let out_of_range = e.clone().abs().gt_eq(lit(2f64.powi(63)));
                value_checks.push((
                    role,
                    column.to_string(),
                    e.clone().is_not_null().and(e.clone().neq(e.clone().floor()).or(e.is_nan()).or(out_of_range)),
                    "whole numbers below 2^63 (a float id column must hold integers)",
                ));
            } else if dt == DataType::UInt64 {
                value_checks.push((
                    role,
                    column.to_string(),
                    e.gt(lit(i64::MAX as u64)),
                    "integer ids up to 9223372036854775807 (the largest signed 64-bit integer)",
                ));
            }
            let target = match agreed.kinds[role].0 {
                IdKind::Str => IdKind::Str,
                _ => kind,
            };
            Ok(id_expr(column, target).alias(out))
        };
        if has.customer {
            select.push(id_role("customer", &cols.customer.name, c::CUSTOMER, &mut agreed)?);
        } else {
            select.push(lit(NULL).cast(DataType::Int64).alias(c::CUSTOMER));
        }
        select.push(id_role("order", &cols.order, c::ORDER, &mut agreed)?);
        if has.product {
            let e = id_role("product", &cols.product.name, c::PRODUCT, &mut agreed)?;
            select.push(exclude_items(e, cols, "product", &cols.product.name, &agreed)?);
        }
        if has.item {
            let e = id_role("item", &item_name, c::ITEM, &mut agreed)?;
            select.push(exclude_items(e, cols, "item", &item_name, &agreed)?);
        }
        if let (Some(keep), Some(w)) = (&keep, cols.filter.where_sql.as_deref()) {
            select.push(checked_where(file, &lf, &schema, keep, w)?.alias(c::KEEP));
        }
        if has.timestamp {
            select.push(timestamp_expr(f, &lf, &schema, &cols.timestamp.name, &mut agreed)?);
        }

        // Amount: a column or an expression over numeric columns; without one, every line is positive.
        if has.amount {
            for leaf in &amount_leaves {
                let rc = RoleCheck { role: "amount", column: leaf };
                let dt = get(&rc, NUM_EXPECTED)?;
                if !is_numeric(&dt) {
                    return Err(rc.bad(file, NUM_EXPECTED, dt.to_string()));
                }
            }
            select.push(amount_expr.clone().cast(DataType::Float64).alias(c::AMOUNT));
        } else {
            select.push(lit(1.0f64).alias(c::AMOUNT));
        }

        for (used, oc, role, out) in
            [(has.cost, &cols.cost, "cost", c::COST), (has.quantity, &cols.quantity, "quantity", c::QUANTITY)]
        {
            if used {
                let rc = RoleCheck { role, column: &oc.name };
                let dt = get(&rc, NUM_EXPECTED)?;
                if !is_numeric(&dt) {
                    return Err(rc.bad(file, NUM_EXPECTED, dt.to_string()));
                }
                select.push(col(oc.name.as_str()).cast(DataType::Float64).alias(out));
            }
        }

        // The line's discount: a column, or list price - amount; a null discount is none.
        if let Some(d) = &cols.discount {
            let (role, column) = match d {
                Discount::Column(n) => ("discount", n.as_str()),
                Discount::ListPrice(n) => ("list price", n.as_str()),
            };
            let rc = RoleCheck { role, column };
            let dt = get(&rc, NUM_EXPECTED)?;
            if !is_numeric(&dt) {
                return Err(rc.bad(file, NUM_EXPECTED, dt.to_string()));
            }
            let value = col(column).cast(DataType::Float64);
            let discount = match d {
                Discount::Column(_) => value,
                Discount::ListPrice(_) => value - amount_expr.clone().cast(DataType::Float64),
            };
            let finite = discount.clone().is_finite().fill_null(lit(false));
            select.push(when(finite).then(discount).otherwise(lit(0.0)).alias(c::DISCOUNT));
        }

        // Product name (strings) and customer attributes (strings or integers), as read.
        if let Some(name) = &cols.product_name {
            let rc = RoleCheck { role: "product name", column: name };
            let dt = get(&rc, "strings")?;
            if !matches!(id_kind(&dt), Some(IdKind::Str)) {
                return Err(rc.bad(file, "strings", dt.to_string()));
            }
            select.push(col(name.as_str()).cast(DataType::String).alias(c::PRODUCT_NAME));
        }
        if mode == Mode::Customers {
            for (i, name) in cols.customer_attrs.iter().enumerate() {
                let rc = RoleCheck { role: "customer attribute", column: name };
                let dt = get(&rc, "strings or integers")?;
                let target = match id_kind(&dt) {
                    Some(IdKind::Str) => DataType::String,
                    Some(IdKind::Int) => DataType::Int64,
                    _ => return Err(rc.bad(file, "strings or integers", dt.to_string())),
                };
                select.push(col(name.as_str()).cast(target).alias(c::attr_column(i)));
            }
        }

        for (role, column, bad, expected) in value_checks {
            check_values(f, &lf, &RoleCheck { role, column: &column }, bad, expected)?;
        }
        let mut read: Vec<String> =
            select.iter().flat_map(|e| e.clone().meta().root_names()).map(|n| n.to_string()).collect();
        read.sort();
        read.dedup();
        read.retain(|n| schema.contains(n));
        let hive: Vec<String> = extra.iter().flat_map(|e| e.clone().meta().output_name().ok()).map(|n| n.to_string()).collect();
        streams.push(Stream {
            path: f.path.clone(),
            columns: read.iter().filter(|n| !hive.contains(n)).cloned().collect(),
            extra,
            select: select.clone(),
        });
        sources.push((lf.clone(), read));
        frames.push(lf.select(select));
    }
    let lines = if frames.len() == 1 {
        frames[0].clone()
    } else {
        concat(frames.clone(), UnionArgs { parallel: true, rechunk: false, to_supertypes: true, ..Default::default() })?
    };
    let ts_column = has.timestamp.then(|| cols.timestamp.name.clone());
    let filter = keep.zip(cols.filter.where_sql.clone());
    Ok(Dump { files, lines, frames, streams, has, sources, ts_column, filter })
}

/// Rule "line filter": the `--where` predicate, parsed as SQL (Polars' dialect, the same syntax
/// as the amount expression). Unparseable: exit 4 naming the expression.
fn where_expr(file: &Path, w: &str) -> Result<Expr> {
    polars::sql::sql_expr(w).map_err(|e| Error::BadFilter {
        file: file.to_path_buf(),
        expr: w.to_string(),
        reason: one_line(&e.to_string()),
    })
}

/// The predicate checked against one file: every column it names exists, it evaluates, and it is
/// boolean (else exit 4 naming the file and the expression).
fn checked_where(file: &Path, lf: &LazyFrame, schema: &Schema, keep: &Expr, w: &str) -> Result<Expr> {
    let bad = |reason: String| Error::BadFilter { file: file.to_path_buf(), expr: w.to_string(), reason };
    for name in keep.clone().meta().root_names() {
        if !schema.contains(name.as_str()) {
            return Err(bad(format!("no column `{name}` in this file")));
        }
    }
    let dt = lf
        .clone()
        .select([keep.clone().alias(c::KEEP)])
        .collect_schema()
        .map_err(|e| bad(one_line(&e.to_string())))?
        .get(c::KEEP)
        .cloned()
        .unwrap_or(DataType::Null);
    match dt {
        DataType::Boolean => Ok(keep.clone()),
        // A predicate that is null for every line (`NULL`) keeps none.
        DataType::Null => Ok(keep.clone().cast(DataType::Boolean)),
        other => Err(bad(format!("not a true/false condition (it gives {other})"))),
    }
}

/// `--exclude-items`: an id of the list reads as no product (or item) on its lines. The ids are
/// matched as the column is read (integers for an integer column: a non-integer id is exit 4).
fn exclude_items(e: Expr, cols: &Columns, role: &'static str, column: &str, agreed: &Agreed) -> Result<Expr> {
    let Some(ex) = &cols.filter.exclude_items else { return Ok(e) };
    let name = e.clone().meta().output_name().map(|n| n.to_string()).unwrap_or_default();
    let list = match agreed.kinds.get(role).map(|k| k.0) {
        Some(IdKind::Str) | None => Series::new("ids".into(), &ex.ids),
        Some(_) => {
            let mut v = Vec::with_capacity(ex.ids.len());
            for id in &ex.ids {
                v.push(id.parse::<i64>().map_err(|_| Error::BadExcludedItem {
                    file: ex.file.clone(),
                    id: id.clone(),
                    role,
                    column: column.to_string(),
                    expected: "an integer column",
                })?);
            }
            Series::new("ids".into(), v)
        }
    };
    let listed = e.clone().is_in(lit(list).implode(true), false).fill_null(lit(false));
    Ok(when(listed).then(lit(NULL)).otherwise(e).alias(name))
}

/// The canonical `ts` expression for one file, after checking the column's type (and agreeing
/// with the other files) and, for strings, that every value parses.
fn timestamp_expr(f: &InputFile, lf: &LazyFrame, schema: &Schema, column: &str, agreed: &mut Agreed) -> Result<Expr> {
    let file = f.path.as_path();
    let ts_rc = RoleCheck { role: "timestamp", column };
    let ts_dt = schema.get(column).cloned().ok_or_else(|| ts_rc.missing(file, schema, TS_EXPECTED))?;
    if !ts_ok(&ts_dt) {
        return Err(ts_rc.bad(file, TS_EXPECTED, ts_dt.to_string()));
    }
    match &agreed.ts {
        Some((dt0, f0)) if std::mem::discriminant(dt0) != std::mem::discriminant(&ts_dt) => {
            return Err(Error::SchemaMismatch {
                file: file.to_path_buf(),
                other_file: f0.clone(),
                column: column.to_string(),
                role: "timestamp",
                expected: dt0.to_string(),
                found: ts_dt.to_string(),
            })
        }
        Some(_) => {}
        None => agreed.ts = Some((ts_dt.clone(), file.to_path_buf())),
    }
    let ts = ts_micros(column, &ts_dt);
    if ts_dt == DataType::String {
        check_timestamps(f, lf, column, ts.clone())?;
    } else if !matches!(ts_dt, DataType::Datetime(TimeUnit::Microseconds, _)) {
        // Microseconds are checked on the lines read (Dump::collect), without a second decode;
        // other units overflow while converting, so they are checked first.
        check_ts_range(f, lf, column, &ts_dt)?;
    }
    Ok(ts.cast(DataType::Datetime(TimeUnit::Microseconds, None)).alias(c::TS))
}

/// Every timestamp of `column` must lie in the years 0001..=9999 ([`physical_range`]); the first
/// that does not is named with its raw number (it cannot be formatted as a date).
fn check_ts_range(f: &InputFile, lf: &LazyFrame, column: &str, ts_dt: &DataType) -> Result<()> {
    let Some((lo, hi)) = physical_range(ts_dt) else { return Ok(()) };
    let raw = col(column).cast(DataType::Int64);
    let bad = raw.clone().lt(lit(lo)).or(raw.clone().gt(lit(hi)));
    let with_raw = lf.clone().with_column(raw.alias("__raw_ts"));
    match first_bad_value(f, &with_raw, "__raw_ts", bad)? {
        Some(v) => {
            let unit = if *ts_dt == DataType::Date { "days" } else { "in its unit" };
            Err(RoleCheck { role: "timestamp", column }.bad(
                &f.path,
                "timestamps between 0001-01-01 and 9999-12-31",
                format!("the value {v} ({unit} since 1970-01-01)"),
            ))
        }
        None => Ok(()),
    }
}

/// The physical values (in the type's own unit) of the years 0001..=9999, which every timestamp
/// must lie in: beyond them, converting to microseconds would overflow. `None`: every value fits.
fn physical_range(dt: &DataType) -> Option<(i64, i64)> {
    const MIN_US: i64 = -62_135_596_800_000_000; // 0001-01-01T00:00:00
    const MAX_US: i64 = 253_402_300_799_999_999; // 9999-12-31T23:59:59.999999
    match dt {
        DataType::Datetime(TimeUnit::Milliseconds, _) => Some((MIN_US / 1000, MAX_US / 1000)),
        DataType::Datetime(TimeUnit::Microseconds, _) => Some((MIN_US, MAX_US)),
        DataType::Datetime(TimeUnit::Nanoseconds, _) => None,
        DataType::Date => Some((MIN_US / 86_400_000_000, MAX_US / 86_400_000_000)),
        _ => None,
    }
}

/// The first value of `column` on a row where `bad` holds, if any: the "found" of a value error.
fn first_bad_value(f: &InputFile, lf: &LazyFrame, column: &str, bad: Expr) -> Result<Option<String>> {
    let df = lf
        .clone()
        .filter(bad)
        .select([col(column)])
        .limit(1)
        .collect()
        .map_err(|e| unreadable(&f.path, one_line(&e.to_string())))?;
    if df.height() == 0 {
        return Ok(None);
    }
    Ok(Some(df.column(column)?.get(0).map(|v| v.to_string()).unwrap_or_default()))
}

/// No value of the column may make `bad` true: a float id column (pandas writes integer ids with
/// nulls as floats) must hold whole numbers, an unsigned id must fit Int64, a timestamp its range.
fn check_values(f: &InputFile, lf: &LazyFrame, rc: &RoleCheck, bad: Expr, expected: &str) -> Result<()> {
    match first_bad_value(f, lf, rc.column, bad)? {
        Some(v) => Err(rc.bad(&f.path, expected, format!("the value {v}"))),
        None => Ok(()),
    }
}

/// String timestamps must all parse; the first that does not is named in the error.
fn check_timestamps(f: &InputFile, lf: &LazyFrame, column: &str, parsed: Expr) -> Result<()> {
    let unparsed = col(column).is_not_null().and(parsed.is_null());
    match first_bad_value(f, lf, column, unparsed)? {
        Some(v) => {
            let rc = RoleCheck { role: "timestamp", column };
            Err(rc.bad(&f.path, "ISO-8601 timestamps such as 2024-03-01T12:30:00", format!("the value {v}")))
        }
        None => Ok(()),
    }
}

/// Lines of each file, from its Parquet footer (no data read).
pub fn file_lines(files: &[InputFile]) -> Result<Vec<u64>> {
    files
        .iter()
        .map(|f| {
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
