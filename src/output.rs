//! Writing a run's output folder atomically: every table, `_manifest.json`, then `_SUCCESS`, all
//! into a temporary folder beside the target, which then replaces the target in one step.
//! A run that fails or is killed leaves the previous output exactly as it was.

use std::fs;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::error::{Error, Result};

/// Marker written last into a complete output folder.
pub const SUCCESS: &str = "_SUCCESS";
/// The run manifest's file name.
pub const MANIFEST: &str = "_manifest.json";
const TMP_TAG: &str = ".evergreen-tmp-";
const OLD_TAG: &str = ".evergreen-old-";

/// A temporary output folder being filled; [`Staging::commit`] moves it into place.
pub struct Staging {
    target: PathBuf,
    tmp: PathBuf,
    committed: bool,
}

fn out_err(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::Output { path: path.to_path_buf(), reason: reason.to_string() }
}

impl Staging {
    /// Check the target and create an empty temporary folder beside it. The target may be absent,
    /// an empty folder, or a previous evergreen output (it holds `_manifest.json`); anything else
    /// is refused so that a typo in `--out` never deletes someone's files.
    pub fn new(target: &Path) -> Result<Staging> {
        check_target(target)?;
        let parent = parent_of(target);
        let name = file_name(target)?;
        remove_stale(&parent, &name);
        let stamp =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let tmp = parent.join(format!(".{name}{TMP_TAG}{}-{stamp}", std::process::id()));
        fs::create_dir_all(&tmp).map_err(|e| out_err(target, format!("cannot create a folder beside it: {e}")))?;
        Ok(Staging { target: target.to_path_buf(), tmp, committed: false })
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
        // One chunk per column, so the file layout (row groups, pages) never depends on how many
        // threads produced the frame.
        df.rechunk_mut();
        let bytes = parquet_bytes(df).map_err(|e| out_err(&path, crate::error::one_line(&e.to_string())))?;
        fs::write(&path, &bytes).map_err(|e| out_err(&path, e))?;
        Ok((file, blake3::hash(&bytes).to_hex().to_string()))
    }

    /// Write a small text file (the manifest).
    pub fn write_text(&self, name: &str, text: &str) -> Result<()> {
        let path = self.tmp.join(name);
        fs::write(&path, text).map_err(|e| out_err(&path, e))
    }

    /// Write `_SUCCESS` and move the folder into place, replacing the previous output.
    pub fn commit(mut self) -> Result<PathBuf> {
        // Test hook for the crash-safety test: hold the finished temporary folder for a while,
        // so a test can kill the process before the swap.
        if let Some(ms) = std::env::var("EVERGREEN_TEST_PAUSE_BEFORE_COMMIT_MS").ok().and_then(|v| v.parse().ok()) {
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
        self.write_text(SUCCESS, "")?;
        sync_dir(&self.tmp);
        if self.target.exists() {
            let old =
                parent_of(&self.target).join(format!(".{}{OLD_TAG}{}", file_name(&self.target)?, std::process::id()));
            let _ = fs::remove_dir_all(&old);
            fs::rename(&self.target, &old).map_err(|e| out_err(&self.target, format!("cannot move aside: {e}")))?;
            if let Err(e) = fs::rename(&self.tmp, &self.target) {
                let _ = fs::rename(&old, &self.target);
                return Err(out_err(&self.target, e));
            }
            let _ = fs::remove_dir_all(&old);
        } else {
            fs::rename(&self.tmp, &self.target).map_err(|e| out_err(&self.target, e))?;
        }
        sync_dir(&parent_of(&self.target));
        self.committed = true;
        Ok(self.target.clone())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.tmp);
        }
    }
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
    use polars_parquet::write::{array_to_columns, CompressedPage, Compressor, Version, WriteOptions};
    use rayon::prelude::*;
    let compression = ParquetCompression::Snappy;
    let options = WriteOptions {
        statistics: StatisticsOptions::default(),
        version: Version::V1,
        compression: compression.into(),
        data_page_size: None,
    };
    let arrow_schema = df.schema().to_arrow(CompatLevel::newest());
    let encodings = get_encodings(&arrow_schema);
    let mut bytes: Vec<u8> = Vec::new();
    let mut writer = ParquetWriter::new(&mut bytes).with_compression(compression).batched(df.schema())?;
    let types = writer.parquet_schema().fields().to_vec();
    let (groups, width) = (df.height().div_ceil(ROW_GROUP_ROWS), df.width());
    let encode = |task: usize| -> PolarsResult<Vec<Vec<CompressedPage>>> {
        let (g, c) = (task / width, task % width);
        let part = df.columns()[c].slice((g * ROW_GROUP_ROWS) as i64, ROW_GROUP_ROWS);
        let array = part.as_materialized_series().rechunk().to_arrow(0, CompatLevel::newest());
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
    let encoded: Vec<PolarsResult<Vec<Vec<CompressedPage>>>> =
        (0..groups * width).into_par_iter().map(encode).collect();
    let mut encoded = encoded.into_iter();
    for g in 0..groups {
        let mut columns = Vec::with_capacity(width);
        for _ in 0..width {
            columns.extend(encoded.next().into_iter().flatten().flatten());
        }
        let rows = ROW_GROUP_ROWS.min(df.height() - g * ROW_GROUP_ROWS);
        writer.write_row_group(rows as u64, &columns)?;
    }
    writer.finish()?;
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

/// Peak resident memory of this process in bytes, where the OS tells it (Linux).
pub fn peak_memory_bytes() -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn check_target(target: &Path) -> Result<()> {
    if !target.exists() {
        return Ok(());
    }
    if !target.is_dir() {
        return Err(out_err(target, "expected a folder, found an existing file"));
    }
    let mut entries = fs::read_dir(target).map_err(|e| out_err(target, e))?;
    let empty = entries.next().is_none();
    if empty || target.join(MANIFEST).exists() || target.join(SUCCESS).exists() {
        Ok(())
    } else {
        Err(out_err(
            target,
            "expected an empty folder or a previous evergreen output, found other files; refusing to replace it",
        ))
    }
}

/// Remove temporary folders left by killed runs for the same target.
fn remove_stale(parent: &Path, name: &str) {
    let Ok(rd) = fs::read_dir(parent) else { return };
    for e in rd.flatten() {
        let n = e.file_name().to_string_lossy().to_string();
        if n.starts_with(&format!(".{name}{TMP_TAG}")) || n.starts_with(&format!(".{name}{OLD_TAG}")) {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

fn sync_dir(p: &Path) {
    if let Ok(f) = fs::File::open(p) {
        let _ = f.sync_all();
    }
}
