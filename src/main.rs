fn main() {
    std::process::exit(evergreen::cli::main(std::env::args_os()));
}
