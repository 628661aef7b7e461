//! The output folder's life: evergreen replaces only what it wrote, one run at a time (a lock
//! beside the target), every file staged in a temporary folder and exchanged with the target in
//! one step, and an interrupted swap recovered by the next run.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use polars::prelude::*;

use super::parquet::table_bytes;
use super::{file_name, out_err, parent_of, sync_dir, LOCK_TAG, MANIFEST, OLD_TAG, SUCCESS, TMP_TAG, TOOL};
use crate::error::{crash_point, Error, Result};

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
        Staging::new_completing(target, lock_timeout, &|_| false)
    }

    /// [`Staging::new`], after first swapping in the newest finished temporary folder a killed
    /// run left beside the target for which `finished(folder)` says its commit must complete (the
    /// state folder of a run killed between its output's swap and its state's, issue 33).
    pub fn new_completing(target: &Path, lock_timeout: Duration, finished: &dyn Fn(&Path) -> bool) -> Result<Staging> {
        let shown = target.to_path_buf();
        let target = real_target(target)?;
        let parent = parent_of(&target);
        fs::create_dir_all(&parent).map_err(|e| out_err(&shown, format!("cannot create its parent folder: {e}")))?;
        let lock = RunLock::acquire(&target, &shown, lock_timeout)?;
        complete_left_commit(&target, finished)?;
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

    /// The folder the commit replaces (symlinks followed), absolute.
    pub fn target(&self) -> PathBuf {
        std::path::absolute(&self.target).unwrap_or_else(|_| self.target.clone())
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

    /// Mark the temporary folder finished: `_SUCCESS` written and the folder's entries flushed to
    /// disk (by [`Staging::commit`], and earlier for a state finished before its output's swap,
    /// issue 33).
    pub fn seal(&self) -> Result<()> {
        self.write_text(SUCCESS, "")?;
        sync_dir(&self.tmp);
        Ok(())
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
        self.seal()?;
        crash_point("before-swap");
        // A file a user put into the old output while this run computed is not evergreen's.
        check_owned(&self.target)?;
        let parent = parent_of(&self.target);
        let previous = swap_in(&self.tmp, &self.target, &self.shown)?;
        self.committed = true;
        if let Some(p) = previous {
            remove_ours(&p);
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
    // `_SUCCESS` first: a folder a kill leaves half removed is never taken for a finished one.
    let _ = fs::remove_file(dir.join(SUCCESS));
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

/// Before [`recover`]: the newest temporary folder beside `target` holding `_SUCCESS` for which
/// `finished` holds is swapped in, and what it replaced removed.
fn complete_left_commit(target: &Path, finished: &dyn Fn(&Path) -> bool) -> Result<()> {
    let parent = parent_of(target);
    let tmp = beside_prefix(target, TMP_TAG)?;
    let Ok(rd) = fs::read_dir(&parent) else { return Ok(()) };
    let mut left: Vec<PathBuf> =
        rd.flatten().filter(|e| e.file_name().to_string_lossy().starts_with(&tmp)).map(|e| e.path()).collect();
    left.sort();
    let Some(done) = left.into_iter().rev().find(|p| p.join(SUCCESS).exists() && finished(p)) else { return Ok(()) };
    if let Some(p) = swap_in(&done, target, target)? {
        remove_ours(&p);
    }
    sync_dir(&parent);
    tracing::warn!("completed the commit of {} that an interrupted run left unfinished", target.display());
    Ok(())
}

/// Put the finished folder `new` in `target`'s place: exchanged atomically where the filesystem
/// can, else the target moved aside and `new` renamed in (the target moved back if that fails).
/// Returns the folder now holding the previous target, to remove; `None` when there was none.
fn swap_in(new: &Path, target: &Path, shown: &Path) -> Result<Option<PathBuf>> {
    if fs::symlink_metadata(target).is_err() {
        fs::rename(new, target).map_err(|e| out_err(shown, e))?;
        return Ok(None);
    }
    if exchange(new, target)? {
        // `new`'s path now holds the previous folder.
        crash_point("after-exchange");
        return Ok(Some(new.to_path_buf()));
    }
    let old = parent_of(target).join(format!("{}{}", beside_prefix(target, OLD_TAG)?, stamp()));
    fs::rename(target, &old).map_err(|e| out_err(shown, format!("cannot move aside: {e}")))?;
    crash_point("after-move-aside");
    if let Err(e) = fs::rename(new, target) {
        let _ = fs::rename(&old, target);
        return Err(out_err(shown, e));
    }
    crash_point("after-move-in");
    Ok(Some(old))
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
