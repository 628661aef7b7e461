//! `--input` paths to Parquet and CSV files: globs and folders walked (each file once, regular files only,
//! symlink loops skipped), hive partition values, and each file scanned with a one-line error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use polars::prelude::*;
use crate::error::{one_line, Error, Result};
use super::csv::{self, Format};
use super::InputFile;

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
    /// CSV or TSV files in a folder that holds Parquet files: a folder is read as Parquet when it
    /// has any, so a stray export beside the dump changes nothing.
    #[serde(skip_serializing_if = "is_zero")]
    pub text_beside_parquet: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The resolved input: files in reading order, and what was skipped.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    pub files: Vec<InputFile>,
    pub skipped: Skipped,
}

/// The (device, inode) of a path, following symlinks.
pub(super) fn file_id(p: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()))
}

/// Walking state: the files already taken (by device and inode) and the skip counts.
#[derive(Default)]
pub(super) struct Walk {
    out: Resolved,
    seen: std::collections::HashSet<(u64, u64)>,
}

impl Walk {
    /// A folder walked from file `first` on that holds Parquet files keeps only those; its CSV
    /// and TSV files are skipped (counted, and logged as a warning).
    fn parquet_only(&mut self, first: usize) {
        let found = &self.out.files[first..];
        if !found.iter().any(|f| f.format == Format::Parquet) {
            return;
        }
        let text: Vec<InputFile> = found.iter().filter(|f| f.format != Format::Parquet).cloned().collect();
        for f in &text {
            tracing::warn!("skipped {}: a CSV file in a folder of Parquet files", f.path.display());
        }
        self.out.skipped.text_beside_parquet += text.len() as u64;
        let kept: Vec<InputFile> = self.out.files.drain(first..).filter(|f| f.format == Format::Parquet).collect();
        self.out.files.extend(kept);
    }

    /// Take a file found at `path`: regular files only, each (device, inode) once. A file found in
    /// a folder has the format its name says; a file named or globbed is also recognised by its
    /// first bytes ([`Format::of_named_file`]).
    fn take(&mut self, path: PathBuf, hive: BTreeMap<String, String>, named: bool, format: Option<Format>) -> Result<()> {
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
        let format = match format {
            Some(f) => f,
            None => Format::of_named_file(&path)?,
        };
        self.out.files.push(InputFile { path, hive, format });
        Ok(())
    }
}

/// Resolve the `--input` paths: files, folders (recursively, hive `key=value` folders recorded) and
/// globs. Inside folders only Parquet (`*.parquet`, `*.parq`, `*.pq`) and CSV / TSV files (`*.csv`,
/// `*.tsv`, each optionally `.gz` or `.zst`) are read; names starting with
/// `_` or `.` (such as `_SUCCESS`) are skipped. Every file is read once (by device and inode),
/// symlink loops are not followed, and only regular files are read; each skip is counted.
pub fn resolve_inputs(inputs: &[String]) -> Result<Resolved> {
    let mut walk = Walk::default();
    for input in inputs {
        let before = walk.out.files.len() as u64 + walk.out.skipped.duplicate_files;
        let p = Path::new(input);
        if p.is_dir() {
            let first = walk.out.files.len();
            walk_dir(p, p, &mut walk, &mut Vec::new())?;
            walk.parquet_only(first);
        } else if p.exists() {
            walk.take(p.to_path_buf(), BTreeMap::new(), true, None)?;
        } else if input.contains(['*', '?', '[']) {
            let paths = glob::glob(input).map_err(|e| Error::Config(format!("--input {input}: bad glob: {e}")))?;
            let mut matched: Vec<PathBuf> = paths.filter_map(|r| r.ok()).collect();
            matched.sort();
            for m in matched {
                if m.is_dir() {
                    let first = walk.out.files.len();
                    walk_dir(&m, &m, &mut walk, &mut Vec::new())?;
                    walk.parquet_only(first);
                } else {
                    walk.take(m, BTreeMap::new(), false, None)?;
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
pub(super) fn walk_dir(root: &Path, dir: &Path, walk: &mut Walk, stack: &mut Vec<(u64, u64)>) -> Result<()> {
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
        } else if let Some(format) = Format::from_name(&name) {
            walk.take(path.clone(), hive_values(root, &path), false, Some(format))?;
        }
    }
    stack.pop();
    Ok(())
}

/// `key=value` folder names between the scanned root and the file.
pub(super) fn hive_values(root: &Path, file: &Path) -> BTreeMap<String, String> {
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
pub(super) fn scan_file(f: &InputFile, streamed: bool) -> Result<(LazyFrame, SchemaRef, Vec<Expr>)> {
    if let Format::Csv { .. } = f.format {
        return scan_csv(f, None);
    }
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
    let (lf, schema) = match scanned {
        Ok(v) => v,
        Err(e) => {
            let bytes = if streamed { std::fs::read(&f.path).unwrap_or_default() } else { buffer.to_vec() };
            return Err(unreadable_or_too_wide(&f.path, &bytes, one_line(&e.to_string())));
        }
    };
    with_hive(f, lf, schema)
}

/// Scan a CSV file: its text read whole (decompressed when compressed), so the CSV reader types
/// each column from all of its values; `overwrite` gives columns the dump's common type.
pub(super) fn scan_csv(f: &InputFile, overwrite: Option<SchemaRef>) -> Result<(LazyFrame, SchemaRef, Vec<Expr>)> {
    let Format::Csv { separator, compression } = f.format else {
        return Err(Error::Internal(format!("{} is not a CSV file", f.path.display())));
    };
    let bytes = read_whole(&f.path).map_err(|e| Error::Unreadable { file: f.path.clone(), reason: e.to_string() })?;
    let text = csv::read_text(&f.path, compression, bytes)?;
    let mut lf = csv::scan_text(&f.path, text, separator, overwrite)?;
    let schema = lf.collect_schema().map_err(|e| csv::unreadable_csv(&f.path, e))?;
    with_hive(f, lf, schema)
}

/// A scanned file with its hive partition values as columns (those the file does not hold).
fn with_hive(f: &InputFile, mut lf: LazyFrame, schema: SchemaRef) -> Result<(LazyFrame, SchemaRef, Vec<Expr>)> {
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
pub fn read_whole(path: &Path) -> std::io::Result<Vec<u8>> {
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
pub(super) fn unreadable_or_too_wide(file: &Path, bytes: &[u8], reason: String) -> Error {
    match too_wide_decimal(bytes) {
        Some((column, found)) => Error::BadColumn {
            file: file.to_path_buf(),
            column,
            role: "number",
            expected: "numbers of at most 38 digits (decimal128, float or integer)".into(),
            found,
        },
        None => match csv::not_parquet_hint(file) {
            Some(hint) => Error::Unreadable { file: file.to_path_buf(), reason: format!("{reason}; {hint}") },
            None => Error::Unreadable { file: file.to_path_buf(), reason },
        },
    }
}

/// [`unreadable_or_too_wide`] reading the file again (on the error path only).
pub(super) fn unreadable(file: &Path, reason: String) -> Error {
    if csv::is_csv(file) {
        return csv::unreadable_csv(file, reason);
    }
    let bytes = read_whole(file).unwrap_or_default();
    unreadable_or_too_wide(file, &bytes, reason)
}

/// The first column of a Parquet file whose decimal type is wider than polars reads (precision
/// above 38, such as Arrow's decimal256), with its type: a contract error, not an unreadable file.
pub(super) fn too_wide_decimal(bytes: &[u8]) -> Option<(String, String)> {
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
pub(super) fn hive_literal(v: &str) -> Expr {
    match v.parse::<i64>() {
        Ok(i) => lit(i),
        Err(_) => lit(v.to_string()),
    }
}

pub(super) fn file_schema(f: &InputFile, lf: &mut LazyFrame) -> Result<SchemaRef> {
    lf.collect_schema().map_err(|e| unreadable(&f.path, one_line(&e.to_string())))
}
