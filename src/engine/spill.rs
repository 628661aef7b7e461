//! The partitioned engine's spill folder and its files.
//!
//! Spill files are evergreen's own and short-lived, so they use the simplest format that is fast to
//! write and read back: batches of raw little-endian column values (a Parquet encoder spends most
//! of its time on dictionaries and statistics nobody reads here). A batch is `rows: u64`, then per
//! column of the file's schema: a validity flag byte (and, when set, one byte per row), then the
//! values: for Int64 / Datetime an encoding byte and 4 or 8 bytes per row ([`IntCode`]: 4 when
//! the values fit in 32 bits, or as u32 steps above a base, which fits a timestamp of whole
//! seconds), for Float64 an encoding byte and 8 bytes a row, or 4 when every value is an exact
//! number of cents ([`FloatCode`]), 1 for Boolean, and for String the byte length (u64), one u32
//! length per row and the bytes. Fewer bytes matter: the spill is written and read back within
//! seconds, and the kernel throttles a writer whose dirty pages outgrow its share of memory.
//!
//! The folder (`.evergreen-spill-<pid>-<nanos>`, holding a marker file) is removed when the run
//! ends, fails or is interrupted by an error; after a crash, the next run that spills into the same
//! place removes it (no process holds its marker's lock any more). Nothing else in the spill root
//! is touched.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use polars::prelude::*;
use polars_arrow::array::{Array, BooleanArray, Utf8ViewArray};
use polars_arrow::bitmap::Bitmap;

use crate::error::{Error, Result};

/// The name prefix of spill folders (`.evergreen-spill-<pid>-<nanos>`).
const SPILL_PREFIX: &str = ".evergreen-spill-";
/// The marker file inside a spill folder: proof that evergreen made it.
const SPILL_MARKER: &str = "EVERGREEN_SPILL";

/// A spill write or read that failed (a full disk, most often): exit 5, the output untouched.
pub fn spill_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Output { path: path.to_path_buf(), reason: format!("cannot write the spill folder (--spill-dir): {e}") }
}

/// A spill folder evergreen made, removed when dropped (on success and on error alike).
pub struct SpillDir {
    pub path: PathBuf,
    /// Bytes of the files already removed (for the manifest's spilled bytes).
    removed: u64,
    /// The marker file, locked (`flock`) for the whole run: the proof, for other runs, that this
    /// folder is in use (a pid is not: pids are recycled and differ between containers).
    _marker: File,
}

/// Take an exclusive `flock` on `file` without waiting; false when another process holds it.
fn try_lock(file: &File) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a file descriptor this process owns; no memory is involved.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

/// Open a spill folder's marker file without following a symlink.
fn open_marker(dir: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().read(true).write(true).custom_flags(libc::O_NOFOLLOW).open(dir.join(SPILL_MARKER))
}

impl SpillDir {
    /// A new spill folder inside `root`, after removing the folders of earlier runs that died.
    pub fn create(root: &Path) -> Result<SpillDir> {
        std::fs::create_dir_all(root).map_err(|e| spill_error(root, e))?;
        remove_stale(root);
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let path = root.join(format!("{SPILL_PREFIX}{}-{nanos}", std::process::id()));
        std::fs::create_dir(&path).map_err(|e| spill_error(&path, e))?;
        std::fs::write(path.join(SPILL_MARKER), std::process::id().to_string()).map_err(|e| spill_error(&path, e))?;
        let marker = open_marker(&path).map_err(|e| spill_error(&path, e))?;
        if !try_lock(&marker) {
            return Err(spill_error(&path, "cannot lock the spill folder's marker"));
        }
        Ok(SpillDir { path, removed: 0, _marker: marker })
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Remove one spill file once it has been read back (its bytes still count as spilled).
    pub fn remove(&mut self, file: &Path) -> Result<()> {
        self.removed += std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
        std::fs::remove_file(file).map_err(|e| spill_error(file, e))
    }

    /// Bytes written to the folder so far (files still there and files removed).
    pub fn bytes(&self) -> u64 {
        let present: u64 = std::fs::read_dir(&self.path)
            .map(|d| d.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum())
            .unwrap_or(0);
        present + self.removed
    }
}

impl Drop for SpillDir {
    fn drop(&mut self) {
        remove_spill(&self.path);
    }
}

/// Remove a spill folder: the files evergreen writes there and the sub-folders its Spark job wrote
/// (the staged facts; removed without following symlinks), then the folder; a folder without the
/// marker is not evergreen's and is left alone.
fn remove_spill(path: &Path) {
    if !path.join(SPILL_MARKER).is_file() {
        return;
    }
    if let Ok(entries) = std::fs::read_dir(path) {
        for e in entries.flatten() {
            match e.file_type() {
                Ok(t) if t.is_file() => {
                    let _ = std::fs::remove_file(e.path());
                }
                Ok(t) if t.is_dir() => {
                    let _ = std::fs::remove_dir_all(e.path());
                }
                _ => {}
            }
        }
    }
    let _ = std::fs::remove_dir(path);
}

/// Spill folders in `root` left by runs that stopped: real folders (not symlinks) named like a
/// spill folder whose marker file no process holds locked. A run that is still going holds its lock,
/// whatever its pid or container; a folder without a marker is not evergreen's.
fn remove_stale(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if !name.starts_with(SPILL_PREFIX) || !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let Ok(marker) = open_marker(&e.path()) else { continue };
        if !marker.metadata().is_ok_and(|m| m.is_file()) || !try_lock(&marker) {
            continue;
        }
        tracing::info!(folder = %e.path().display(), "removing the spill folder of an earlier run that stopped");
        remove_spill(&e.path());
    }
}

/// One column ready to be written row by row: its values in one contiguous array.
enum Source<'a> {
    Int(&'a [i64], Option<&'a Bitmap>),
    Float(&'a [f64], Option<&'a Bitmap>),
    Bool(&'a BooleanArray),
    Str(&'a Utf8ViewArray),
}

/// The physical column a spill stores for `c` (Datetime as its Int64 microseconds), in one chunk.
fn physical(c: &Column) -> Result<Series> {
    let s = c.as_materialized_series();
    let s = match s.dtype() {
        DataType::Datetime(_, _) => s.cast(&DataType::Int64)?,
        DataType::Null => s.cast(&DataType::Int64)?,
        _ => s.clone(),
    };
    Ok(s.rechunk())
}

/// How a batch's integers are written.
#[derive(Debug, Clone, Copy, PartialEq)]
enum IntCode {
    /// 8 bytes a value.
    Wide,
    /// 4 bytes a value: every value fits in i32 (ids and codes mostly do).
    Narrow,
    /// `base: i64`, `step: i64`, then 4 bytes a value: `(v - base) / step` as u32 (a timestamp
    /// of whole seconds over up to 136 years; step 1 for any other close range).
    Steps { base: i64, step: i64 },
}

impl IntCode {
    fn tag(self) -> u8 {
        match self {
            IntCode::Wide => 0,
            IntCode::Narrow => 1,
            IntCode::Steps { .. } => 2,
        }
    }

    /// The smallest encoding that holds every value exactly.
    fn of(v: &[i64]) -> IntCode {
        if v.is_empty() {
            return IntCode::Narrow;
        }
        let (lo, hi) = v.iter().fold((i64::MAX, i64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
        if lo >= i32::MIN as i64 && hi <= i32::MAX as i64 {
            return IntCode::Narrow;
        }
        let span = hi as i128 - lo as i128;
        if span <= u32::MAX as i128 {
            return IntCode::Steps { base: lo, step: 1 };
        }
        const SECOND: i64 = 1_000_000;
        if span / SECOND as i128 <= u32::MAX as i128 && v.iter().all(|&x| (x - lo) % SECOND == 0) {
            return IntCode::Steps { base: lo, step: SECOND };
        }
        IntCode::Wide
    }
}

/// How a batch's floats are written.
#[derive(Debug, Clone, Copy, PartialEq)]
enum FloatCode {
    /// 8 bytes a value.
    Raw,
    /// 4 bytes a value: cents as i32, every value exactly `cents as f64 / 100.0` (bit for bit).
    Cents,
}

impl FloatCode {
    fn of(v: &[f64]) -> FloatCode {
        let exact = |x: f64| {
            let c = (x * 100.0).round();
            c.abs() <= i32::MAX as f64 && (c as i32 as f64 / 100.0).to_bits() == x.to_bits()
        };
        if v.iter().all(|&x| exact(x)) {
            FloatCode::Cents
        } else {
            FloatCode::Raw
        }
    }
}

/// A column's encoding in a prepared frame.
#[derive(Debug, Clone, Copy)]
enum Code {
    Int(IntCode),
    Float(FloatCode),
    Other,
}

/// A frame's columns in the form spill files are written from (one contiguous physical array per
/// column), made once and then written in pieces to many files.
pub struct Prepared(Vec<Series>, Vec<Code>);

impl Prepared {
    /// The columns, and per column the smallest exact encoding of its values ([`IntCode`],
    /// [`FloatCode`]). The values of null rows count too (whatever they hold, it round-trips).
    pub fn new(df: &DataFrame) -> Result<Prepared> {
        let series: Vec<Series> = df.columns().iter().map(physical).collect::<Result<_>>()?;
        let codes = series
            .iter()
            .map(|s| match s.dtype() {
                DataType::Int64 => {
                    Code::Int(s.i64().ok().and_then(|ca| ca.downcast_iter().next()).map_or(IntCode::Wide, |a| IntCode::of(a.values())))
                }
                DataType::Float64 => Code::Float(
                    s.f64().ok().and_then(|ca| ca.downcast_iter().next()).map_or(FloatCode::Raw, |a| FloatCode::of(a.values())),
                ),
                _ => Code::Other,
            })
            .collect();
        Ok(Prepared(series, codes))
    }
}

/// The write buffer of each of `files` spill files open at once: an eighth of `limit` shared
/// between them, from 16 KiB to 1 MiB each.
pub fn buffer_size(limit: u64, files: u32) -> usize {
    (limit / 8 / files.max(1) as u64).clamp(16 << 10, 1 << 20) as usize
}

/// Raise this process's open-file limit to its hard limit (spilling keeps a file open per
/// partition; the usual soft limit of 1024 is below what `--partitions 4096` needs).
pub fn raise_open_file_limit() {
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// A spill file of frames that share one schema, appended batch by batch.
pub struct FrameFile {
    path: PathBuf,
    out: Option<BufWriter<File>>,
    buf: Vec<u8>,
    capacity: usize,
}

impl FrameFile {
    /// A spill file written through a buffer of `capacity` bytes.
    pub fn new(path: PathBuf, capacity: usize) -> FrameFile {
        FrameFile { path, out: None, buf: Vec::new(), capacity }
    }

    /// Append the rows `rows` (ascending indices) of a prepared frame as one batch.
    pub fn write_rows(&mut self, frame: &Prepared, rows: &[u32]) -> Result<()> {
        let mut sources = Vec::with_capacity(frame.0.len());
        for s in &frame.0 {
            sources.push(match s.dtype() {
                DataType::Int64 => {
                    let a = s.i64()?.downcast_iter().next().ok_or_else(|| Error::Internal("empty column".into()))?;
                    Source::Int(a.values().as_slice(), a.validity())
                }
                DataType::Float64 => {
                    let a = s.f64()?.downcast_iter().next().ok_or_else(|| Error::Internal("empty column".into()))?;
                    Source::Float(a.values().as_slice(), a.validity())
                }
                DataType::Boolean => Source::Bool(s.bool()?.downcast_iter().next().ok_or_else(|| Error::Internal("empty column".into()))?),
                DataType::String => Source::Str(s.str()?.downcast_iter().next().ok_or_else(|| Error::Internal("empty column".into()))?),
                other => return Err(Error::Internal(format!("cannot spill a column of type {other}"))),
            });
        }
        let b = &mut self.buf;
        b.clear();
        b.extend_from_slice(&(rows.len() as u64).to_le_bytes());
        let validity = |b: &mut Vec<u8>, v: Option<&Bitmap>| match v.filter(|v| v.unset_bits() > 0) {
            None => b.push(0),
            Some(v) => {
                b.push(1);
                b.extend(rows.iter().map(|&r| v.get_bit(r as usize) as u8));
            }
        };
        for (src, &code) in sources.iter().zip(&frame.1) {
            match src {
                Source::Int(values, v) => {
                    validity(b, *v);
                    let code = match code {
                        Code::Int(c) => c,
                        _ => IntCode::Wide,
                    };
                    b.push(code.tag());
                    match code {
                        IntCode::Narrow => {
                            let picked: Vec<i32> = rows.iter().map(|&r| values[r as usize] as i32).collect();
                            extend_le(b, &picked);
                        }
                        IntCode::Steps { base, step } => {
                            b.extend_from_slice(&base.to_le_bytes());
                            b.extend_from_slice(&step.to_le_bytes());
                            let picked: Vec<u32> = rows.iter().map(|&r| ((values[r as usize] - base) / step) as u32).collect();
                            extend_le(b, &picked);
                        }
                        IntCode::Wide => {
                            let picked: Vec<i64> = rows.iter().map(|&r| values[r as usize]).collect();
                            extend_le(b, &picked);
                        }
                    }
                }
                Source::Float(values, v) => {
                    validity(b, *v);
                    if let Code::Float(FloatCode::Cents) = code {
                        b.push(1);
                        let picked: Vec<i32> = rows.iter().map(|&r| (values[r as usize] * 100.0).round() as i32).collect();
                        extend_le(b, &picked);
                    } else {
                        b.push(0);
                        let picked: Vec<f64> = rows.iter().map(|&r| values[r as usize]).collect();
                        extend_le(b, &picked);
                    }
                }
                Source::Bool(a) => {
                    validity(b, a.validity());
                    b.extend(rows.iter().map(|&r| a.value(r as usize) as u8));
                }
                Source::Str(a) => {
                    validity(b, a.validity());
                    let total: usize = rows.iter().map(|&r| a.value(r as usize).len()).sum();
                    b.extend_from_slice(&(total as u64).to_le_bytes());
                    let lens: Vec<u32> = rows.iter().map(|&r| a.value(r as usize).len() as u32).collect();
                    extend_le(b, &lens);
                    for &r in rows {
                        b.extend_from_slice(a.value(r as usize).as_bytes());
                    }
                }
            }
        }
        if self.out.is_none() {
            let file = File::create(&self.path).map_err(|e| spill_error(&self.path, e))?;
            self.out = Some(BufWriter::with_capacity(self.capacity, file));
        }
        if let Some(out) = self.out.as_mut() {
            out.write_all(b).map_err(|e| spill_error(&self.path, e))?;
        }
        Ok(())
    }

    /// Close the file; its path when it holds any batch.
    pub fn finish(self) -> Result<Option<PathBuf>> {
        match self.out {
            Some(mut out) => {
                out.flush().map_err(|e| spill_error(&self.path, e))?;
                Ok(Some(self.path))
            }
            None => Ok(None),
        }
    }
}

/// Plain numbers (i32, i64, u32, f64) as their little-endian bytes, appended in one copy.
fn extend_le<T: Copy>(b: &mut Vec<u8>, values: &[T]) {
    #[cfg(target_endian = "little")]
    {
        // SAFETY: T is a plain number type (no padding, every bit pattern valid as bytes); the
        // slice covers exactly the values' memory.
        let bytes = unsafe { std::slice::from_raw_parts(values.as_ptr() as *const u8, std::mem::size_of_val(values)) };
        b.extend_from_slice(bytes);
    }
    #[cfg(not(target_endian = "little"))]
    compile_error!("spill files assume a little-endian machine");
}

/// Read a little-endian u64 / u32 at `at`, advancing it.
fn take<'a>(bytes: &'a [u8], at: &mut usize, n: usize, path: &Path) -> Result<&'a [u8]> {
    let end = at.checked_add(n).filter(|&e| e <= bytes.len()).ok_or_else(|| spill_error(path, "spill file cut short"))?;
    let out = &bytes[*at..end];
    *at = end;
    Ok(out)
}

fn u64_at(bytes: &[u8], at: &mut usize, path: &Path) -> Result<u64> {
    let b = take(bytes, at, 8, path)?;
    Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
}

/// Where one batch's part of one column lies in a spill file: its rows, its validity bytes (if
/// any), its encoding tag and header, and its value bytes.
struct Segment<'a> {
    rows: usize,
    validity: Option<&'a [u8]>,
    tag: u8,
    header: &'a [u8],
    values: &'a [u8],
}

/// A spill file's bytes, read whole in parallel blocks by the reader input files use (spill files
/// are read back right after they were written, so they come from the page cache).
fn read_spill(path: &Path) -> Result<Vec<u8>> {
    crate::input::read_whole(path).map_err(|e| spill_error(path, e))
}

/// Read a [`FrameFile`] back as one frame of `schema` (the schema its frames had): one pass over
/// the batches finds each column's segments, then the columns are decoded on every core.
pub fn read_frames(path: &Path, schema: &Schema) -> Result<DataFrame> {
    use rayon::prelude::*;
    let bytes = read_spill(path)?;
    let n_cols = schema.len();
    let mut segments: Vec<Vec<Segment>> = (0..n_cols).map(|_| Vec::new()).collect();
    let mut at = 0usize;
    while at < bytes.len() {
        let rows = u64_at(&bytes, &mut at, path)? as usize;
        for (k, (_, dtype)) in schema.iter().enumerate() {
            let validity = match take(&bytes, &mut at, 1, path)?[0] {
                1 => Some(take(&bytes, &mut at, rows, path)?),
                _ => None,
            };
            let (tag, header, values) = match dtype {
                DataType::Int64 | DataType::Datetime(_, _) | DataType::Null => {
                    let tag = take(&bytes, &mut at, 1, path)?[0];
                    let header = take(&bytes, &mut at, if tag == 2 { 16 } else { 0 }, path)?;
                    (tag, header, take(&bytes, &mut at, rows * if tag == 0 { 8 } else { 4 }, path)?)
                }
                DataType::Float64 => {
                    let tag = take(&bytes, &mut at, 1, path)?[0];
                    (tag, &[][..], take(&bytes, &mut at, rows * if tag == 1 { 4 } else { 8 }, path)?)
                }
                DataType::Boolean => (0, &[][..], take(&bytes, &mut at, rows, path)?),
                DataType::String => {
                    let total = u64_at(&bytes, &mut at, path)? as usize;
                    let header = take(&bytes, &mut at, rows * 4, path)?;
                    (0, header, take(&bytes, &mut at, total, path)?)
                }
                other => return Err(Error::Internal(format!("cannot read a spilled column of type {other}"))),
            };
            segments[k].push(Segment { rows, validity, tag, header, values });
        }
    }
    let fields: Vec<(&PlSmallStr, &DataType)> = schema.iter().collect();
    let columns: Vec<Column> = fields
        .par_iter()
        .zip(segments.par_iter())
        .map(|(&(name, dtype), segs)| decode_column(path, name, dtype, segs))
        .collect::<Result<_>>()?;
    Ok(DataFrame::new_infer_height(columns)?)
}

/// One column of a spill file from its segments.
fn decode_column(path: &Path, name: &PlSmallStr, dtype: &DataType, segs: &[Segment]) -> Result<Column> {
    let rows: usize = segs.iter().map(|s| s.rows).sum();
    let validity: Option<Vec<bool>> = segs.iter().any(|s| s.validity.is_some()).then(|| {
        let mut v = Vec::with_capacity(rows);
        for s in segs {
            match s.validity {
                Some(b) => v.extend(b.iter().map(|&x| x == 1)),
                None => v.extend(std::iter::repeat_n(true, s.rows)),
            }
        }
        v
    });
    let bitmap = || validity.as_ref().map(|v| Bitmap::from_iter(v.iter().copied()));
    let u32s = |b: &[u8]| b.chunks_exact(4).map(|w| u32::from_le_bytes(w.try_into().expect("4 bytes"))).collect::<Vec<_>>();
    Ok(match dtype {
        DataType::Int64 | DataType::Datetime(_, _) | DataType::Null => {
            let mut values: Vec<i64> = Vec::with_capacity(rows);
            for s in segs {
                match s.tag {
                    1 => values.extend(s.values.chunks_exact(4).map(|w| i32::from_le_bytes(w.try_into().expect("4 bytes")) as i64)),
                    2 => {
                        let base = i64::from_le_bytes(s.header[..8].try_into().expect("8 bytes"));
                        let step = i64::from_le_bytes(s.header[8..16].try_into().expect("8 bytes"));
                        values.extend(
                            s.values.chunks_exact(4).map(|w| base + u32::from_le_bytes(w.try_into().expect("4 bytes")) as i64 * step),
                        );
                    }
                    _ => values.extend(s.values.chunks_exact(8).map(|w| i64::from_le_bytes(w.try_into().expect("8 bytes")))),
                }
            }
            Int64Chunked::from_vec_validity(name.clone(), values, bitmap()).into_column().cast(dtype)?
        }
        DataType::Float64 => {
            let mut values: Vec<f64> = Vec::with_capacity(rows);
            for s in segs {
                if s.tag == 1 {
                    values.extend(s.values.chunks_exact(4).map(|w| i32::from_le_bytes(w.try_into().expect("4 bytes")) as f64 / 100.0));
                } else {
                    values.extend(s.values.chunks_exact(8).map(|w| f64::from_le_bytes(w.try_into().expect("8 bytes"))));
                }
            }
            Float64Chunked::from_vec_validity(name.clone(), values, bitmap()).into_column()
        }
        DataType::Boolean => {
            let ok = |i: usize| validity.as_ref().is_none_or(|v| v[i]);
            let values = segs.iter().flat_map(|s| s.values.iter().map(|&x| x == 1));
            values.enumerate().map(|(i, x)| ok(i).then_some(x)).collect::<BooleanChunked>().with_name(name.clone()).into_column()
        }
        _ => {
            let ok = |i: usize| validity.as_ref().is_none_or(|v| v[i]);
            let mut out: Vec<Option<&str>> = Vec::with_capacity(rows);
            for s in segs {
                let mut pos = 0usize;
                for len in u32s(s.header) {
                    let end = pos + len as usize;
                    let bytes = s.values.get(pos..end).ok_or_else(|| spill_error(path, "spill file cut short"))?;
                    let text = std::str::from_utf8(bytes).map_err(|e| spill_error(path, e))?;
                    out.push(ok(out.len()).then_some(text));
                    pos = end;
                }
            }
            StringChunked::from_iter(out).with_name(name.clone()).into_column()
        }
    })
}

/// Sets of u32 appended to a file as `len, items...`, read back as one CSR.
pub struct SetFile {
    path: PathBuf,
    out: BufWriter<File>,
    buf: Vec<u8>,
}

impl SetFile {
    pub fn create(path: PathBuf, capacity: usize) -> Result<SetFile> {
        let file = File::create(&path).map_err(|e| spill_error(&path, e))?;
        Ok(SetFile { out: BufWriter::with_capacity(capacity, file), path, buf: Vec::new() })
    }

    pub fn push(&mut self, set: impl ExactSizeIterator<Item = u32>) -> Result<()> {
        self.buf.clear();
        self.buf.extend_from_slice(&(set.len() as u32).to_le_bytes());
        for x in set {
            self.buf.extend_from_slice(&x.to_le_bytes());
        }
        self.out.write_all(&self.buf).map_err(|e| spill_error(&self.path, e))
    }

    pub fn finish(mut self) -> Result<PathBuf> {
        self.out.flush().map_err(|e| spill_error(&self.path, e))?;
        Ok(self.path)
    }
}

/// The u32 words of a [`SetFile`].
pub fn read_words(path: &Path) -> Result<Vec<u32>> {
    let bytes = read_spill(path)?;
    Ok(bytes.chunks_exact(4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]])).collect())
}
