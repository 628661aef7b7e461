//! Writing a run's output folder so that a user's data is never lost.
//!
//! * **Ownership.** evergreen replaces only a folder it can prove it wrote: its `_manifest.json`
//!   names the tool and lists every file of the output, and the folder holds nothing else (see
//!   [`check_owned`]). Anything else is refused (exit 5) naming the unexpected entry.
//! * **One writer.** A lock file beside the target (`.NAME.evergreen-lock`, `flock`) admits one run
//!   at a time; a second run waits up to `--lock-timeout` and then fails naming the first one's pid.
//! * **Atomic swap.** Every table, the manifest and `_SUCCESS` go into a temporary folder beside the
//!   target, which is then exchanged with the target in one step (`renameat2(RENAME_EXCHANGE)`). Where
//!   the filesystem has no exchange, the old output is first renamed aside to `.NAME.evergreen-old-*`
//!   and the next run restores it if a crash came between the two renames ([`recover`]).
//! * A symlinked `--out` is followed: the link keeps pointing at the same path, which then holds the
//!   new output.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use polars::prelude::*;

use crate::error::{crash_point, Error, Result};

/// Marker written last into a complete output folder.
pub const SUCCESS: &str = "_SUCCESS";
/// The run manifest's file name.
pub const MANIFEST: &str = "_manifest.json";
/// The manifest's `tool` value: the proof (with the file list) that a folder is evergreen's.
pub const TOOL: &str = "evergreen";
const TMP_TAG: &str = ".evergreen-tmp-";
const OLD_TAG: &str = ".evergreen-old-";
const LOCK_TAG: &str = ".evergreen-lock";

fn out_err(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::Output { path: path.to_path_buf(), reason: reason.to_string() }
}


/// A unique suffix for this process's temporary folders: the time first (fixed width), so that
/// names sort by age and [`recover`] restores the latest saved output.
fn stamp() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{nanos:020}-{}", std::process::id())
}

/// A fresh hidden name beside `target` for what is written before it replaces `target`
/// (`.NAME.evergreen-tmp-<time>-<pid>`): evergreen's own, so a killed run's leftover is recognised.
pub fn temp_beside(target: &Path) -> Result<PathBuf> {
    Ok(parent_of(target).join(format!("{}{}", beside_prefix(target, TMP_TAG)?, stamp())))
}

/// File names longer than this are refused by Linux filesystems (`NAME_MAX`).
const NAME_MAX: usize = 255;
/// Room left after a prefix for [`stamp`] (20 digits, `-`, a pid of up to 10 digits).
const STAMP_ROOM: usize = 32;

/// The start of every hidden name evergreen puts beside `target` with `tag` (`.NAME<tag>`). A long
/// NAME is cut at a character boundary and ended by 16 hex digits of its BLAKE3 hash, so the whole
/// name (with the stamp) stays within 255 bytes and still names its target alone: a valid 230-byte
/// `--out` gets a temporary name the filesystem accepts, and recovery finds it again.
fn beside_prefix(target: &Path, tag: &str) -> Result<String> {
    let name = file_name(target)?;
    let whole = format!(".{name}{tag}");
    if whole.len() + STAMP_ROOM <= NAME_MAX {
        return Ok(whole);
    }
    let hash = blake3::hash(name.as_bytes()).to_hex();
    let room = NAME_MAX - STAMP_ROOM - tag.len() - 1 - 1 - 16;
    let mut cut = room.min(name.len());
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    Ok(format!(".{}~{}{tag}", &name[..cut], &hash[..16]))
}

/// The folder a `--out` path really names: a symlink is followed (the link keeps pointing at it);
/// a dangling link is refused.
fn real_target(target: &Path) -> Result<PathBuf> {
    // `link/` would follow the link in symlink_metadata: compare without trailing separators.
    let target: PathBuf = target.components().collect();
    let target = target.as_path();
    match fs::symlink_metadata(target) {
        Ok(m) if m.file_type().is_symlink() => fs::canonicalize(target)
            .map_err(|e| out_err(target, format!("is a symlink whose target cannot be used ({e}); refusing it"))),
        _ => Ok(target.to_path_buf()),
    }
}

/// The advisory lock of one target, held for a whole run; released (and its file removed) on drop.
pub struct RunLock {
    _file: fs::File,
    path: PathBuf,
}

impl RunLock {
    /// Take the lock of `target`, waiting up to `timeout` for another run to finish.
    pub fn acquire(target: &Path, shown: &Path, timeout: Duration) -> Result<RunLock> {
        use std::io::{Read, Seek, Write};
        use std::os::fd::AsRawFd;
        use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
        let path = parent_of(target).join(beside_prefix(target, LOCK_TAG)?);
        let deadline = Instant::now().checked_add(timeout);
        loop {
            let mut file = fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&path)
                .map_err(|e| out_err(shown, format!("cannot create the lock file {}: {e}", path.display())))?;
            // SAFETY: flock on a file descriptor this function owns.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
                // The file may have been removed by the run that just finished: then lock anew.
                let same = match (fs::metadata(&path), file.metadata()) {
                    (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
                    _ => false,
                };
                if !same {
                    continue;
                }
                let _ = file.set_len(0);
                let _ = file.seek(std::io::SeekFrom::Start(0));
                let _ = write!(file, "{}", std::process::id());
                return Ok(RunLock { _file: file, path });
            }
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EWOULDBLOCK) {
                return Err(out_err(shown, format!("cannot lock {}: {err}", path.display())));
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                let pid = pid.trim().parse::<u32>().map(|p| p.to_string()).unwrap_or_else(|_| "unknown".into());
                return Err(Error::Locked { path: shown.to_path_buf(), pid });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Remove while still holding the lock; a waiter then sees a different file and locks anew.
        let _ = fs::remove_file(&self.path);
        // Closing `file` (after this) releases the lock.
    }
}

/// A temporary output folder being filled; [`Staging::commit`] moves it into place.
pub struct Staging {
    /// The path as the user gave it (messages, the result).
    shown: PathBuf,
    /// The folder really replaced (a symlink followed).
    target: PathBuf,
    tmp: PathBuf,
    committed: bool,
    _lock: RunLock,
}

impl Staging {
    /// Lock the target, restore a previous output a crash left aside, check that the target is
    /// absent, empty or evergreen's own output ([`check_owned`]), and create an empty temporary
    /// folder beside it.
    pub fn new(target: &Path, lock_timeout: Duration) -> Result<Staging> {
        let shown = target.to_path_buf();
        let target = real_target(target)?;
        let parent = parent_of(&target);
        fs::create_dir_all(&parent).map_err(|e| out_err(&shown, format!("cannot create its parent folder: {e}")))?;
        let lock = RunLock::acquire(&target, &shown, lock_timeout)?;
        recover(&target)?;
        check_owned(&target)?;
        let tmp = temp_beside(&target)?;
        fs::create_dir(&tmp).map_err(|e| out_err(&shown, format!("cannot create a folder beside it: {e}")))?;
        Ok(Staging { shown, target, tmp, committed: false, _lock: lock })
    }

    /// Where files of this run go before the commit.
    pub fn dir(&self) -> &Path {
        &self.tmp
    }

    /// Write one table as `<name>.parquet`; returns the file name and the BLAKE3 hash of its
    /// bytes (the same input and arguments give the same hash).
    pub fn write_table(&self, name: &str, df: &mut DataFrame) -> Result<(String, String)> {
        let file = format!("{name}.parquet");
        let path = self.tmp.join(&file);
        let bytes = table_bytes(df).map_err(|e| out_err(&path, crate::error::one_line(&e.to_string())))?;
        write_synced(&path, &bytes)?;
        Ok((file, blake3::hash(&bytes).to_hex().to_string()))
    }

    /// Write a small text file (the manifest).
    pub fn write_text(&self, name: &str, text: &str) -> Result<()> {
        write_synced(&self.tmp.join(name), text.as_bytes())
    }

    /// Write `_SUCCESS` and swap the folder into place. At every instant the target is either the
    /// previous output or the new one, whole (or, without an exchange, the previous one is saved
    /// beside it and [`recover`] puts it back).
    pub fn commit(mut self) -> Result<PathBuf> {
        // Test hook for the crash-safety test: hold the finished temporary folder for a while,
        // so a test can kill the process before the swap.
        if let Some(ms) = std::env::var("EVERGREEN_TEST_PAUSE_BEFORE_COMMIT_MS").ok().and_then(|v| v.parse().ok()) {
            std::thread::sleep(Duration::from_millis(ms));
        }
        crash_point("before-success");
        self.write_text(SUCCESS, "")?;
        sync_dir(&self.tmp);
        crash_point("before-swap");
        // A file a user put into the old output while this run computed is not evergreen's.
        check_owned(&self.target)?;
        let parent = parent_of(&self.target);
        if fs::symlink_metadata(&self.target).is_ok() {
            if exchange(&self.tmp, &self.target)? {
                // The temporary path now holds the previous output.
                self.committed = true;
                crash_point("after-exchange");
                remove_ours(&self.tmp);
            } else {
                let old = parent.join(format!("{}{}", beside_prefix(&self.target, OLD_TAG)?, stamp()));
                fs::rename(&self.target, &old).map_err(|e| out_err(&self.shown, format!("cannot move aside: {e}")))?;
                crash_point("after-move-aside");
                if let Err(e) = fs::rename(&self.tmp, &self.target) {
                    let _ = fs::rename(&old, &self.target);
                    return Err(out_err(&self.shown, e));
                }
                self.committed = true;
                crash_point("after-move-in");
                remove_ours(&old);
            }
        } else {
            fs::rename(&self.tmp, &self.target).map_err(|e| out_err(&self.shown, e))?;
            self.committed = true;
        }
        sync_dir(&parent);
        crash_point("after-commit");
        Ok(self.shown.clone())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.tmp);
        }
    }
}

/// Exchange two paths atomically. `Ok(false)` when the filesystem (or the test hook
/// `EVERGREEN_TEST_NO_EXCHANGE`) offers no exchange: the caller falls back to two renames.
fn exchange(a: &Path, b: &Path) -> Result<bool> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    if std::env::var_os("EVERGREEN_TEST_NO_EXCHANGE").is_some() {
        return Ok(false);
    }
    let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).map_err(|e| out_err(p, e));
    let (ca, cb) = (c(a)?, c(b)?);
    // SAFETY: two NUL-terminated paths relative to the working directory.
    let r = unsafe { libc::renameat2(libc::AT_FDCWD, ca.as_ptr(), libc::AT_FDCWD, cb.as_ptr(), libc::RENAME_EXCHANGE) };
    if r == 0 {
        return Ok(true);
    }
    let err = std::io::Error::last_os_error();
    match err.raw_os_error() {
        // EPERM: seccomp filters of some container runtimes refuse renameat2.
        Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::ENOTSUP) | Some(libc::EPERM) => Ok(false),
        _ => Err(out_err(b, format!("cannot swap in the new output: {err}"))),
    }
}

/// A file name evergreen writes into an output folder: a table or one of its markers.
fn written_by_evergreen(name: &str) -> bool {
    name == MANIFEST || name == SUCCESS || name.ends_with(".parquet")
}

/// Remove a previous output (or a killed run's folder) file by file: only plain files evergreen
/// writes (the manifest's list, `_manifest.json`, `_SUCCESS`, `*.parquet`), then the folder if that
/// left it empty. A file someone put there in the meantime is kept, with a warning.
fn remove_ours(dir: &Path) {
    let listed = listed_files(dir).unwrap_or_default();
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().to_string();
            if (written_by_evergreen(&n) || listed.contains(&n)) && e.file_type().is_ok_and(|t| t.is_file()) {
                let _ = fs::remove_file(e.path());
            }
        }
    }
    if fs::remove_dir(dir).is_err() && dir.exists() {
        tracing::warn!("kept {}: it holds files evergreen did not write", dir.display());
    }
}

/// Write a file and flush it to disk, so a crash after the swap never shows a short table.
fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut f = fs::File::create(path).map_err(|e| out_err(path, e))?;
    f.write_all(bytes).and_then(|()| f.sync_data()).map_err(|e| out_err(path, e))
}

/// The files an evergreen output lists in its manifest (`files`, or the `tables` of manifests
/// written before `files` existed), when `dir/_manifest.json` is evergreen's. `None` otherwise.
fn listed_files(dir: &Path) -> Option<Vec<String>> {
    let text = fs::read(dir.join(MANIFEST)).ok()?;
    let m: serde_json::Value = serde_json::from_slice(&text).ok()?;
    if m.get("tool")?.as_str()? != TOOL {
        return None;
    }
    if let Some(files) = m.get("files").and_then(|f| f.as_array()) {
        return files.iter().map(|f| f.as_str().map(String::from)).collect();
    }
    m.get("tables")?.as_object()?.values().map(|t| t.get("file")?.as_str().map(String::from)).collect()
}

/// The ownership rule: `dir` may be replaced when it is absent, empty, or holds exactly files its
/// evergreen manifest lists (plus `_manifest.json` and `_SUCCESS`), each a plain file. Anything
/// else is an error naming the first unexpected entry (exit 5).
pub fn check_owned(dir: &Path) -> Result<()> {
    let meta = match fs::symlink_metadata(dir) {
        Err(_) => return Ok(()),
        Ok(m) => m,
    };
    if !meta.is_dir() {
        return Err(out_err(dir, "expected a folder, found an existing file; refusing to replace it"));
    }
    let mut names: Vec<(String, fs::FileType)> = fs::read_dir(dir)
        .map_err(|e| out_err(dir, e))?
        .flatten()
        .map(|e| (e.file_name().to_string_lossy().to_string(), e.file_type().unwrap_or_else(|_| meta.file_type())))
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    names.sort_by(|a, b| a.0.cmp(&b.0));
    let Some(listed) = listed_files(dir) else {
        return Err(out_err(
            dir,
            format!(
                "holds `{}` and no evergreen manifest: not a folder evergreen wrote; refusing to replace it",
                names[0].0
            ),
        ));
    };
    for (name, kind) in &names {
        let ours = name == MANIFEST || name == SUCCESS || listed.iter().any(|f| f == name);
        if !ours || !kind.is_file() {
            return Err(out_err(
                dir,
                format!(
                    "holds `{name}`, which evergreen did not write; move it elsewhere or choose another --out \
                     (nothing was replaced)"
                ),
            ));
        }
    }
    Ok(())
}

/// Before a run: put back a previous output that a crash left aside (the target is missing and a
/// whole `.NAME.evergreen-old-*` is beside it), then remove what killed runs left beside the target
/// (their temporary folders, and saved copies whose swap completed). Runs under the lock, so no
/// other run's folder is touched; a leftover holding anything evergreen does not write is kept.
pub fn recover(target: &Path) -> Result<()> {
    let parent = parent_of(target);
    let (tmp, old) = (beside_prefix(target, TMP_TAG)?, beside_prefix(target, OLD_TAG)?);
    let Ok(rd) = fs::read_dir(&parent) else { return Ok(()) };
    let mut left: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(&tmp) || n.starts_with(&old))
        .map(|n| parent.join(n))
        .collect();
    left.sort();
    if fs::symlink_metadata(target).is_err() {
        let saved = left.iter().rev().find(|p| {
            p.file_name().is_some_and(|n| n.to_string_lossy().contains(OLD_TAG))
                && p.join(SUCCESS).exists()
                && listed_files(p).is_some()
        });
        if let Some(saved) = saved.cloned() {
            fs::rename(&saved, target).map_err(|e| out_err(target, format!("cannot restore the saved output: {e}")))?;
            tracing::warn!("restored the previous output of {} that an interrupted run left aside", target.display());
            left.retain(|p| *p != saved);
        }
    }
    for p in left {
        let only_ours = fs::read_dir(&p).map(|rd| {
            rd.flatten().all(|e| {
                let n = e.file_name().to_string_lossy().to_string();
                e.file_type().is_ok_and(|t| t.is_file()) && written_by_evergreen(&n)
            })
        });
        if only_ours.unwrap_or(false) {
            remove_ours(&p);
        } else {
            tracing::warn!("kept {}: it holds files evergreen did not write", p.display());
        }
    }
    Ok(())
}

/// Whether a float column holds a -0.0 (one vectorised pass over the raw values).
fn has_negative_zero(ca: &Float64Chunked) -> bool {
    ca.downcast_iter().any(|a| a.values().iter().any(|v| v.to_bits() == (-0.0f64).to_bits()))
}

/// A table as every reader opens it: strings as plain UTF-8 (not the string_view that pyarrow < 15
/// cannot read), unsigned integers as Int64, and `-0.0` as `0.0` in float columns.
pub fn for_every_reader(df: &DataFrame) -> PolarsResult<DataFrame> {
    let columns = df
        .columns()
        .iter()
        .map(|c| -> PolarsResult<Column> {
            Ok(match c.dtype() {
                d if d.is_unsigned_integer() => c.cast(&DataType::Int64)?,
                // -0.0 == 0.0, so both become +0.0; every other value (NaN included) is unchanged.
                // Columns without a -0.0 (nearly all) are kept as they are: no copy of a large table.
                DataType::Float64 if !has_negative_zero(c.f64()?) => c.clone(),
                DataType::Float64 => {
                    c.f64()?.apply_values(|v| if v == 0.0 { 0.0 } else { v }).into_series().into_column()
                }
                DataType::Float32 => {
                    c.f32()?.apply_values(|v| if v == 0.0 { 0.0 } else { v }).into_series().into_column()
                }
                _ => c.clone(),
            })
        })
        .collect::<PolarsResult<Vec<Column>>>()?;
    DataFrame::new(df.height(), columns)
}

/// A table as the bytes of its Parquet file, in the types every reader opens ([`for_every_reader`]).
pub fn table_bytes(df: &mut DataFrame) -> PolarsResult<Vec<u8>> {
    *df = for_every_reader(df)?;
    // One chunk per column, so the file layout (row groups, pages) never depends on how many
    // threads produced the frame.
    df.rechunk_mut();
    parquet_bytes(df)
}

/// Rows per Parquet row group (polars' own default size).
const ROW_GROUP_ROWS: usize = 512 * 512;

/// `df` as a Snappy-compressed Parquet file. Polars' writer encodes and compresses a frame's pages
/// on one thread, which made the 2M-row pair table's write the slowest stage of `basket`; here every
/// (row group, column) is encoded on the thread pool and the row groups are then written in order,
/// through polars' own file writer (same schema, statistics and metadata). The bytes depend only on
/// `df`, never on the number of threads.
fn parquet_bytes(df: &DataFrame) -> PolarsResult<Vec<u8>> {
    use polars_parquet::parquet::error::ParquetError;
    use polars_parquet::write::{
        array_to_columns, fallible_streaming_iterator, CompressedPage, Compressor, DynIter, DynStreamingIterator,
        FileWriter, Version, WriteOptions,
    };
    use rayon::prelude::*;
    let compression = ParquetCompression::Snappy;
    let options = WriteOptions {
        statistics: StatisticsOptions::default(),
        version: Version::V1,
        compression: compression.into(),
        data_page_size: None,
    };
    let arrow_schema = df.schema().to_arrow(CompatLevel::oldest());
    let encodings = get_encodings(&arrow_schema);
    let mut bytes: Vec<u8> = Vec::new();
    // The oldest compatibility level: the Arrow schema embedded in the file declares plain (large)
    // strings, which pyarrow < 15 reads, not string_view (polars' own writer embeds the newest).
    let mut writer = FileWriter::try_new(&mut bytes, arrow_schema, options)?;
    let types = writer.parquet_schema().fields().to_vec();
    let (groups, width) = (df.height().div_ceil(ROW_GROUP_ROWS), df.width());
    let encode = |task: usize| -> PolarsResult<Vec<Vec<CompressedPage>>> {
        let (g, c) = (task / width, task % width);
        let part = df.columns()[c].slice((g * ROW_GROUP_ROWS) as i64, ROW_GROUP_ROWS);
        let array = part.as_materialized_series().rechunk().to_arrow(0, CompatLevel::oldest());
        let mut leaves = Vec::new();
        for pages in array_to_columns(array, types[c].clone(), options, &encodings[c])? {
            let compressed = Compressor::new_from_vec(
                pages.map(|p| p.map_err(|e| ParquetError::OutOfSpec(e.to_string()))),
                options.compression,
                vec![],
            );
            leaves.push(compressed.collect::<std::result::Result<Vec<CompressedPage>, ParquetError>>()?);
        }
        Ok(leaves)
    };
    // A few row groups at a time, encoded in parallel and written in order: the compressed pages of
    // one window are held, never the whole table's (the file's bytes stay the same either way).
    const WINDOW: usize = 4;
    for first in (0..groups).step_by(WINDOW) {
        let last = (first + WINDOW).min(groups);
        let encoded: Vec<PolarsResult<Vec<Vec<CompressedPage>>>> =
            (first * width..last * width).into_par_iter().map(encode).collect();
        let mut encoded = encoded.into_iter();
        for g in first..last {
            let mut columns = Vec::with_capacity(width);
            for _ in 0..width {
                columns.extend(encoded.next().into_iter().flatten().flatten());
            }
            let rows = ROW_GROUP_ROWS.min(df.height() - g * ROW_GROUP_ROWS);
            let pages = DynIter::new(columns.iter().map(|col_pages| {
                Ok(DynStreamingIterator::new(fallible_streaming_iterator::convert(col_pages.iter().map(PolarsResult::Ok))))
            }));
            writer.write(rows as u64, pages)?;
        }
    }
    writer.end(None)?;
    drop(writer);
    Ok(bytes)
}

fn parent_of(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn file_name(p: &Path) -> Result<String> {
    p.file_name()
        .map(|n| n.to_string_lossy().to_string())
        .ok_or_else(|| out_err(p, "expected a folder name, found none"))
}

/// Check that `--out` can hold `as_of=YYYY-MM-DD` partitions: absent or a folder.
pub fn check_partition_root(root: &Path) -> Result<()> {
    if root.exists() && !root.is_dir() {
        return Err(out_err(root, "expected a folder for as_of partitions, found an existing file"));
    }
    Ok(())
}

/// The folder of one as-of partition, creating its parent.
pub fn partition_dir(root: &Path, as_of: chrono::NaiveDate) -> Result<PathBuf> {
    fs::create_dir_all(root).map_err(|e| out_err(root, format!("cannot create: {e}")))?;
    Ok(root.join(format!("as_of={as_of}")))
}

/// The complete `as_of=YYYY-MM-DD` partitions of a root (with `_SUCCESS`), oldest first; none
/// when `root` cannot be read.
pub fn complete_partitions(root: &Path) -> Vec<(chrono::NaiveDate, PathBuf)> {
    let Ok(rd) = fs::read_dir(root) else { return Vec::new() };
    let mut parts: Vec<(chrono::NaiveDate, PathBuf)> = rd
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let date = chrono::NaiveDate::parse_from_str(name.strip_prefix("as_of=")?, "%Y-%m-%d").ok()?;
            e.path().join(SUCCESS).is_file().then(|| (date, e.path()))
        })
        .collect();
    parts.sort();
    parts
}

/// Peak resident memory of this process in bytes, where the OS tells it (Linux).
pub fn peak_memory_bytes() -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn sync_dir(p: &Path) {
    if let Ok(f) = fs::File::open(p) {
        let _ = f.sync_all();
    }
}

/// A path with symlinks resolved as far as it exists (the rest appended as given), so two
/// spellings of one folder compare equal even before the output is created.
pub fn resolved(p: &Path) -> PathBuf {
    let abs = if p.is_absolute() { p.to_path_buf() } else { std::env::current_dir().unwrap_or_default().join(p) };
    let mut rest = Vec::new();
    let mut cur = abs.as_path();
    loop {
        if let Ok(real) = fs::canonicalize(cur) {
            let mut out = real;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return out;
        }
        match (cur.parent(), cur.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                cur = parent;
            }
            _ => return abs,
        }
    }
}

/// `--out` must not be, hold, or lie inside any input (symlinks resolved), nor be matched by an
/// input glob: replacing it would delete the dump. Checked before any data is read.
/// `tables` are the names of the tables the output will hold (`NAME.parquet`, in the folder or in
/// an `as_of=` partition of it), each checked against the input globs.
pub fn check_not_input(out: &Path, inputs: &[String], files: &[PathBuf], tables: &[&str]) -> Result<()> {
    let out_real = resolved(out);
    let refuse = |what: String| {
        Err(out_err(out, format!("{what}; refusing to write there (it would replace the data being read)")))
    };
    for input in inputs {
        let p = Path::new(input);
        let is_glob = input.contains(['*', '?', '[']) && !p.exists();
        if is_glob {
            // The output would be read by the next run with the same glob.
            let opts = glob::MatchOptions { require_literal_separator: true, ..Default::default() };
            if let Ok(pattern) = glob::Pattern::new(input) {
                let abs = std::env::current_dir().unwrap_or_default().join(out);
                if [out, abs.as_path(), out_real.as_path()].iter().any(|o| pattern.matches_path_with(o, opts)) {
                    return refuse(format!("is matched by the input glob `{input}`"));
                }
                // Or the tables it will hold (`in/**/*.parquet` over `in/out`), as a folder or as a
                // root of as_of partitions: refused on the first run, not only on the rerun.
                for name in tables {
                    let file = format!("{name}.parquet");
                    for base in [out, abs.as_path(), out_real.as_path()] {
                        for table in [base.join(&file), base.join("as_of=2000-01-01").join(&file)] {
                            if pattern.matches_path_with(&table, opts) {
                                return refuse(format!(
                                    "would hold {}, which the input glob `{input}` matches",
                                    table.strip_prefix(base).unwrap_or(&table).display()
                                ));
                            }
                        }
                    }
                }
            }
        }
        let matches: Vec<PathBuf> = if is_glob {
            glob::glob(input).map(|m| m.flatten().collect()).unwrap_or_default()
        } else {
            vec![p.to_path_buf()]
        };
        for m in matches {
            let in_real = resolved(&m);
            if in_real == out_real {
                return refuse(format!("is the input `{input}`"));
            }
            if out_real.starts_with(&in_real) {
                return refuse(format!("lies inside the input `{input}`"));
            }
            if in_real.starts_with(&out_real) {
                return refuse(format!("contains the input `{input}`"));
            }
        }
    }
    for f in files {
        if resolved(f).starts_with(&out_real) {
            return refuse(format!("contains the input file {}", f.display()));
        }
    }
    Ok(())
}

/// Whether a text cell would be run as a formula by a spreadsheet opening a CSV (OWASP's "CSV
/// injection" rule): it starts with `=`, `+`, `-`, `@`, a tab or a carriage return, and is not
/// simply a number (`-5`, `+1.5e3` read as the numbers they are).
pub fn is_formula(cell: &str) -> bool {
    let starts = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    starts && !cell.parse::<f64>().is_ok_and(|v| v.is_finite())
}

/// `df` with every text cell that [`is_formula`] given a leading `'`, the mark spreadsheets read
/// as "this is text" (`query --out FILE.csv` unless `--keep-formulas`). Other columns are untouched.
pub fn without_formulas(df: &DataFrame) -> PolarsResult<DataFrame> {
    let columns = df
        .columns()
        .iter()
        .map(|c| {
            if c.dtype() != &DataType::String {
                return Ok(c.clone());
            }
            let ca = c.str()?;
            if !ca.iter().flatten().any(is_formula) {
                return Ok(c.clone());
            }
            let safe: StringChunked = ca
                .iter()
                .map(|v| v.map(|t| if is_formula(t) { format!("'{t}") } else { t.to_string() }))
                .collect();
            Ok(safe.with_name(c.name().clone()).into_column())
        })
        .collect::<PolarsResult<Vec<_>>>()?;
    DataFrame::new(df.height(), columns)
}

/// Excel's serial day number of a moment `days` days after 1970-01-01 (fractions are the time of
/// day), or `None` before 1900-01-01, which Excel cannot show as a date (written as text then).
///
/// Excel's 1900 date system counts a 29 February 1900 that never was (serial 60, kept for Lotus
/// 1-2-3): from 1900-03-01 (serial 61) on, serial = days + 25,569; before it, one less, so
/// 1900-01-15 is serial 15 and shows as 1900-01-15.
pub fn excel_serial(days: f64) -> Option<f64> {
    const EPOCH: f64 = 25_569.0;
    let serial = days + EPOCH;
    let serial = if serial < 61.0 { serial - 1.0 } else { serial };
    (serial >= 1.0).then_some(serial)
}

/// Rows an Excel sheet holds, the header included.
pub const XLSX_MAX_ROWS: usize = 1_048_576;

/// A frame as one Excel worksheet (`query --out FILE.xlsx`): a bold header, then one row per row.
/// Integers and floats are numbers (integers beyond 2^53, which Excel would round, and non-finite
/// floats are text), dates and timestamps are Excel dates (`yyyy-mm-dd`, `yyyy-mm-dd hh:mm:ss.000`,
/// UTC), booleans are booleans, nulls are empty cells, anything else is its text.
pub fn xlsx_bytes(df: &DataFrame) -> std::result::Result<Vec<u8>, String> {
    use rust_xlsxwriter::{Format, Workbook};
    if df.height() + 1 > XLSX_MAX_ROWS {
        return Err(format!(
            "{} rows: an Excel sheet holds at most {} (write .parquet or .csv instead)",
            df.height(),
            XLSX_MAX_ROWS - 1
        ));
    }
    let e = |e: rust_xlsxwriter::XlsxError| e.to_string();
    let p = |e: PolarsError| e.to_string();
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let stamp = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss.000");
    const EXACT: i64 = 1 << 53;
    for (j, column) in df.columns().iter().enumerate() {
        let j = u16::try_from(j).map_err(|_| "more columns than an Excel sheet holds".to_string())?;
        ws.write_string_with_format(0, j, column.name().as_str(), &bold).map_err(e)?;
        let s = column.as_materialized_series();
        let row = |i: usize| (i + 1) as u32;
        match s.dtype() {
            dt if dt.is_integer() => {
                for (i, v) in s.cast(&DataType::Int64).map_err(p)?.i64().map_err(p)?.iter().enumerate() {
                    match v {
                        Some(v) if (-EXACT..=EXACT).contains(&v) => ws.write_number(row(i), j, v as f64).map(|_| ()),
                        Some(v) => ws.write_string(row(i), j, v.to_string()).map(|_| ()),
                        None => Ok(()),
                    }
                    .map_err(e)?;
                }
            }
            dt if dt.is_float() => {
                for (i, v) in s.cast(&DataType::Float64).map_err(p)?.f64().map_err(p)?.iter().enumerate() {
                    match v {
                        Some(v) if v.is_finite() => ws.write_number(row(i), j, v).map(|_| ()),
                        Some(v) => ws.write_string(row(i), j, v.to_string()).map(|_| ()),
                        None => Ok(()),
                    }
                    .map_err(e)?;
                }
            }
            DataType::Boolean => {
                for (i, v) in s.bool().map_err(p)?.iter().enumerate() {
                    if let Some(v) = v {
                        ws.write_boolean(row(i), j, v).map_err(e)?;
                    }
                }
            }
            DataType::Date => {
                for (i, v) in s.cast(&DataType::Int32).map_err(p)?.i32().map_err(p)?.iter().enumerate() {
                    if let Some(d) = v {
                        match excel_serial(f64::from(d)) {
                            Some(x) => ws.write_number_with_format(row(i), j, x, &date).map(|_| ()),
                            None => ws.write_string(row(i), j, s.get(i).map_err(p)?.to_string()).map(|_| ()),
                        }
                        .map_err(e)?;
                    }
                }
            }
            DataType::Datetime(unit, _) => {
                let per_day = match unit {
                    TimeUnit::Nanoseconds => 86_400e9,
                    TimeUnit::Microseconds => 86_400e6,
                    TimeUnit::Milliseconds => 86_400e3,
                };
                for (i, v) in s.cast(&DataType::Int64).map_err(p)?.i64().map_err(p)?.iter().enumerate() {
                    if let Some(t) = v {
                        match excel_serial(t as f64 / per_day) {
                            Some(x) => ws.write_number_with_format(row(i), j, x, &stamp).map(|_| ()),
                            None => ws.write_string(row(i), j, s.get(i).map_err(p)?.to_string()).map(|_| ()),
                        }
                        .map_err(e)?;
                    }
                }
            }
            _ => {
                for i in 0..s.len() {
                    let v = s.get(i).map_err(p)?;
                    if !v.is_null() {
                        let text = match v {
                            AnyValue::String(t) => t.to_string(),
                            AnyValue::StringOwned(t) => t.to_string(),
                            other => other.to_string(),
                        };
                        ws.write_string(row(i), j, text).map_err(e)?;
                    }
                }
            }
        }
    }
    wb.save_to_buffer().map_err(e)
}
