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
//!
//! One file a job: [`staging`] (ownership, the lock, the atomic swap, recovery), [`parquet`] (tables
//! every reader opens), [`partitions`] (`as_of=` folders), [`export`] (CSV and xlsx cells), [`text`] (a query's result
//! on stdout), and here
//! the guard that `--out` is never the input.

mod export;
mod parquet;
mod partitions;
mod staging;
mod text;

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub use export::{excel_serial, is_formula, without_formulas, write_result, xlsx_bytes};
pub use parquet::{for_every_reader, table_bytes, ParallelWriter};
pub use partitions::{check_partition_root, complete_partitions, partition_dir};
pub use staging::{check_owned, recover, temp_beside, RunLock, Staging};
pub use text::{render, terminal_width, TextFormat};

/// Marker written last into a complete output folder.
pub const SUCCESS: &str = "_SUCCESS";
/// The run manifest's file name.
pub const MANIFEST: &str = "_manifest.json";
/// The manifest's `tool` value: the proof (with the file list) that a folder is evergreen's.
pub const TOOL: &str = "evergreen";
const TMP_TAG: &str = ".evergreen-tmp-";
const OLD_TAG: &str = ".evergreen-old-";
const LOCK_TAG: &str = ".evergreen-lock";

pub(super) fn out_err(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::Output { path: path.to_path_buf(), reason: reason.to_string() }
}

pub(super) fn parent_of(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

pub(super) fn file_name(p: &Path) -> Result<String> {
    p.file_name()
        .map(|n| n.to_string_lossy().to_string())
        .ok_or_else(|| out_err(p, "expected a folder name, found none"))
}

/// Peak resident memory of this process in bytes, where the OS tells it (Linux).
pub fn peak_memory_bytes() -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

pub(super) fn sync_dir(p: &Path) {
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
