//! The `evergreen` binary: hands the arguments to the library's CLI and exits with its code.

// mimalloc keeps freed pages for reuse: the engines allocate and free large buffers per stage and
// per partition, which glibc's allocator hands back to the kernel and faults in again each time.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(evergreen::cli::main(std::env::args_os()));
}
