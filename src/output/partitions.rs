//! `--partition-by-as-of`: one `as_of=YYYY-MM-DD` folder per run under a root.

use std::fs;
use std::path::{Path, PathBuf};

use super::{out_err, SUCCESS};
use crate::error::Result;

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
