//! The command line: parse (`args`), dispatch each subcommand (`commands`), print its one summary
//! line or its one error line. Every flag can also come from an `EVERGREEN_*` environment variable; precedence
//! is flag > environment > config file > default.

mod args;
mod commands;
mod help;

use std::ffi::OsString;

use clap::Parser;

pub use args::*;
use crate::error::Result;

/// Run the command line; returns the process exit code. Errors are printed as one line on stderr.
pub fn main<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version: clap's own text on stdout (a closed pipe is not an error).
            let _ = print_stdout(&e.render().to_string());
            return 0;
        }
        Err(e) => {
            print_error(&clap_one_line(&e), 2, wants_json(&args));
            return 2;
        }
    };
    init_logging(&cli);
    let json = cli.log_format == LogFormat::Json;
    use std::io::IsTerminal;
    let progress = !json && !cli.quiet && std::io::stderr().is_terminal();
    let recorded: Vec<String> = args.iter().map(|a| a.to_string_lossy().to_string()).collect();
    match commands::dispatch(cli, recorded, progress) {
        Ok(()) => 0,
        Err(e) => {
            if json {
                tracing::error!(exit_code = e.exit_code(), "{}", crate::error::one_line(&e.to_string()));
            } else {
                print_error(&e.to_string(), e.exit_code(), false);
            }
            e.exit_code()
        }
    }
}

/// clap's error as one line: its first line without the `error: ` prefix, then its tips, then
/// where to look for help (clap prints a usage block over several lines).
fn clap_one_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("invalid arguments").trim_start_matches("error:").trim().to_string();
    let tips: Vec<&str> = lines.filter(|l| l.starts_with("tip:")).collect();
    let mut out = format!("argument error: {first}");
    for tip in tips {
        out.push_str(&format!(" ({tip})"));
    }
    out.push_str("; see --help");
    out
}

/// Whether the arguments (or EVERGREEN_LOG_FORMAT) ask for JSON logs, read before clap parses them
/// so that an argument error is one JSON object too.
fn wants_json(args: &[OsString]) -> bool {
    let args: Vec<String> = args.iter().map(|a| a.to_string_lossy().to_string()).collect();
    for (i, a) in args.iter().enumerate() {
        if a == "--log-format=json" || (a == "--log-format" && args.get(i + 1).is_some_and(|v| v == "json")) {
            return true;
        }
        if a == "--log-format" || a.starts_with("--log-format=") {
            return false;
        }
    }
    std::env::var("EVERGREEN_LOG_FORMAT").is_ok_and(|v| v == "json")
}

/// One error line on stderr: `evergreen: MESSAGE`, or with JSON logs one object in the shape of
/// the JSON log lines (`level`, `fields.message`, `fields.exit_code`).
fn print_error(message: &str, exit_code: i32, json: bool) {
    let message = crate::error::one_line(message);
    if json {
        let obj = serde_json::json!({
            "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "level": "ERROR",
            "fields": { "message": message, "exit_code": exit_code },
        });
        eprintln!("{obj}");
    } else {
        eprintln!("evergreen: {message}");
    }
}

/// Write to stdout; a reader that closed the pipe early (`| head`) is not an error.
fn print_stdout(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(crate::Error::Output { path: "<stdout>".into(), reason: e.to_string() })
        }
        _ => Ok(()),
    }
}

/// Logs go to stderr. Level: -q errors, default info (one summary line after a successful run),
/// -v debug (files, cleaning counts, stage timings), -vv trace; without -v/-q the EVERGREEN_LOG
/// variable (a tracing filter such as `debug`) decides. Nothing but the error is printed before
/// a failure at the default level, so a failed run leaves exactly one line on stderr.
fn init_logging(cli: &Cli) {
    use tracing_subscriber::EnvFilter;
    let flag_level = match (cli.quiet, cli.verbose) {
        (true, _) => Some("error"),
        (false, 0) => None,
        (false, 1) => Some("debug"),
        (false, _) => Some("trace"),
    };
    let filter = match flag_level {
        Some(level) => EnvFilter::new(format!("evergreen={level}")),
        None => EnvFilter::try_from_env("EVERGREEN_LOG").unwrap_or_else(|_| EnvFilter::new("evergreen=info")),
    };
    let builder = tracing_subscriber::fmt().with_writer(std::io::stderr).with_env_filter(filter).with_target(false);
    let _ = match cli.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.without_time().with_ansi(false).try_init(),
    };
}
