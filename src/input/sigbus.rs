//! Input files read through a memory map (the partitioned engine decodes each file slice by slice
//! straight from the open file, so that only the slice is in memory) cannot kill the run with a
//! raw SIGBUS when another process truncates one of them mid-read: a handler names the file that
//! shrank, in the one-line error format, and exits 3 (input unreadable), like the memory engine's
//! clean "cannot read Parquet" error for the same event.
//!
//! The handler only does what is async-signal-safe: it reads a list prepared beforehand (C paths,
//! sizes and messages behind one atomic pointer), calls `stat`, `write` and `_exit`.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicPtr, Ordering};

/// One watched file: its path, its size when the run opened it, and the message naming it.
struct Watched {
    path: CString,
    size: i64,
    message: Vec<u8>,
}

/// The files of the current run (a leaked list; replaced, never freed, when a process runs twice).
static WATCHED: AtomicPtr<Vec<Watched>> = AtomicPtr::new(std::ptr::null_mut());
/// Said when no watched file shrank (another mapping failed): still one line, still exit 3.
const UNKNOWN: &[u8] = b"evergreen: input error: an input file could not be read while it was memory-mapped (SIGBUS: was it truncated or replaced during the run?)\n";

/// Watch `files` (with their sizes now) and install the handler (once per process).
pub fn watch<'a>(files: impl Iterator<Item = &'a Path>) {
    let list: Vec<Watched> = files
        .filter_map(|p| {
            let size = std::fs::metadata(p).ok()?.len() as i64;
            let path = CString::new(p.as_os_str().as_bytes()).ok()?;
            let message = format!(
                "evergreen: input error: {}: cannot read Parquet (the file shrank from {size} bytes while it was read; was it truncated or replaced during the run?)\n",
                p.display()
            )
            .into_bytes();
            Some(Watched { path, size, message })
        })
        .collect();
    WATCHED.store(Box::into_raw(Box::new(list)), Ordering::SeqCst);
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        // SAFETY: a plain sigaction with a handler that only calls async-signal-safe functions.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_sigbus as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(libc::SIGBUS, &sa, std::ptr::null_mut());
        }
    });
}

extern "C" fn on_sigbus(_sig: libc::c_int, _info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: only stat, write and _exit, over a list that is never freed.
    unsafe {
        let list = WATCHED.load(Ordering::SeqCst);
        if !list.is_null() {
            for w in (*list).iter() {
                let mut st: libc::stat = std::mem::zeroed();
                let gone = libc::stat(w.path.as_ptr(), &mut st) != 0;
                if gone || st.st_size < w.size {
                    libc::write(2, w.message.as_ptr().cast(), w.message.len());
                    libc::_exit(3);
                }
            }
        }
        libc::write(2, UNKNOWN.as_ptr().cast(), UNKNOWN.len());
        libc::_exit(3);
    }
}
