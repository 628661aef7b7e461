//! The `evergreen` binary: hands the arguments to the library's CLI and exits with its code.

// mimalloc keeps freed pages for reuse: the engines allocate and free large buffers per stage and
// per partition, which glibc's allocator hands back to the kernel and faults in again each time.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // No transparent huge pages for this process (issue 29). mimalloc asks for them on its 1 GiB
    // arenas and then purges freed pages; each purged huge page is zeroed again, 2 MiB at a time,
    // when reused: at 10M lines that was 1.3 s of system time in a 2.3 s run (perf: 43 % of the
    // samples in the kernel's clear_page), against 0.55 s and 1.6 s without. Harmless where THP is
    // off; other processes keep their setting.
    #[cfg(target_os = "linux")]
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
    std::process::exit(evergreen::cli::main(std::env::args_os()));
}
