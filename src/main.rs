//! The `evergreen` binary: hands the arguments to the library's CLI and exits with its code.

fn main() {
    std::process::exit(evergreen::cli::main(std::env::args_os()));
}
