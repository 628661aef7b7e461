//! The command line: parse (`args`), dispatch each subcommand, print its one summary line or its
//! one error line. Every flag can also come from an `EVERGREEN_*` environment variable; precedence
//! is flag > environment > config file > default.

mod args;
mod help;

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{CommandFactory, Parser};

pub use args::*;
use crate::error::Result;
use crate::run::Job;

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
    match dispatch(cli, recorded, progress) {
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

fn dispatch(cli: Cli, recorded: Vec<String>, progress: bool) -> Result<()> {
    let started = std::time::Instant::now();
    let json_log = cli.log_format == LogFormat::Json;
    let mut report_json = false;
    let (args, job, validate_only) = match cli.command {
        Command::Run(args) => (args.split(), Job::Run, false),
        Command::Basket(args) => (args.split(), Job::Basket, false),
        Command::Clv(args) => (args.split(), Job::Clv, false),
        Command::Patterns(args) => (args.split(), Job::Patterns, false),
        Command::Validate(v) => {
            report_json = v.format == LogFormat::Json;
            (v.run.split(), Job::Run, true)
        }
        Command::Query(q) => return query(q),
        Command::Publish(p) => return publish(p),
        Command::Report(r) => return report(r),
        Command::Compare(c) => return compare(c, recorded),
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "evergreen", &mut buf);
            return print_stdout(&String::from_utf8_lossy(&buf));
        }
        Command::Man => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut buf)
                .map_err(|e| crate::Error::Output { path: "<stdout>".into(), reason: e.to_string() })?;
            return print_stdout(&String::from_utf8_lossy(&buf));
        }
    };
    let mut args = args;
    if validate_only && args.job.out.is_none() {
        // validate writes nothing; the output folder is not needed.
        args.job.out = Some(PathBuf::from("-"));
    }
    let no_itemsets = args.flags.patterns.no_itemsets;
    let p = &mut args.publishing;
    let publish = p.publish.take().map(|url| crate::publish::Target {
        url,
        schema: p.publish_schema.clone(),
        append: p.publish_append,
        drop_dependents: p.publish_drop_dependents,
    });
    if let Some(t) = &publish {
        // A bad schema name or connection string is exit 2 before the run (nothing connects).
        crate::publish::check_target(t)?;
    }
    let report_to = args.publishing.report.take();
    if let (Some(page), Some(out)) = (&report_to, &args.job.out) {
        crate::report::check_out(out, page)?;
    }
    if let Some(flag) = misplaced_no_itemsets(&args.flags.patterns, job) {
        return Err(crate::Error::Config(format!("{flag} applies to `patterns` only")));
    }
    let mut cfg = args.to_config()?;
    if job == Job::Patterns {
        // `patterns` mines itemsets unless told not to (the `itemsets` key is `run`'s switch).
        cfg.patterns.itemsets = !no_itemsets;
    }
    if validate_only {
        let mut report = crate::run::validate(&cfg)?;
        report.publish = publish.as_ref().map(|t| crate::run::PublishCheck {
            target: crate::connstr::redact(&t.url),
            schema: t.schema.clone(),
            mode: if t.append { "append" } else { "replace" },
        });
        let text = if report_json {
            serde_json::to_string_pretty(&report).map_err(|e| crate::Error::Internal(e.to_string()))? + "\n"
        } else {
            report.text()
        };
        return print_stdout(&text);
    }
    let m = crate::run::run(&cfg, job, recorded, progress)?;
    let rows: Vec<String> = m.tables.iter().map(|(name, t)| format!("{name} {}", t.rows)).collect();
    let message = format!(
        "wrote {} to {} (as_of {}, {} lines read, {} used)",
        rows.join(", "),
        m.out.display(),
        m.as_of.as_deref().unwrap_or("-"),
        m.counts.lines_read,
        m.counts.lines_used,
    );
    if json_log {
        // One object a scheduler can read without parsing the message.
        let per_table: serde_json::Map<String, serde_json::Value> =
            m.tables.iter().map(|(name, t)| (name.clone(), t.rows.into())).collect();
        tracing::info!(
            out = %m.out.display(),
            as_of = m.as_of.as_deref().unwrap_or(""),
            rows = %serde_json::Value::Object(per_table),
            lines_read = m.counts.lines_read,
            lines_used = m.counts.lines_used,
            seconds = started.elapsed().as_secs_f64(),
            peak_memory_bytes = m.peak_memory_bytes.unwrap_or(0),
            "{message}"
        );
    } else {
        tracing::info!("{message}");
    }
    if let Some(target) = publish {
        log_published(&crate::publish::publish(&m.out, &target)?);
    }
    if let Some(page) = report_to {
        let root = if cfg.output.partition_by_as_of { cfg.out.clone() } else { m.out.clone() };
        log_report(&crate::report::report(&root, &page)?);
    }
    Ok(())
}

/// `evergreen report`: the HTML page of an output.
fn report(r: ReportArgs) -> Result<()> {
    let w = crate::report::report(&r.tables, &r.out)?;
    if r.format == LogFormat::Json {
        return print_stdout(&(serde_json::to_string(&w).map_err(|e| crate::Error::Internal(e.to_string()))? + "\n"));
    }
    log_report(&w);
    Ok(())
}

fn log_report(w: &crate::report::Written) {
    let charts = crate::report::page::plural(w.charts, "chart", "charts");
    tracing::info!(
        "wrote the report {} ({charts}, {} KB) from {} in {:.2} s",
        w.out,
        w.bytes.div_ceil(1024),
        w.tables,
        w.seconds
    );
}

/// `evergreen publish`: an output's tables into PostgreSQL.
fn publish(p: PublishArgs) -> Result<()> {
    let target = crate::publish::Target {
        url: p.postgres,
        schema: p.target.schema,
        append: p.target.append,
        drop_dependents: p.target.drop_dependents,
    };
    let r = crate::publish::publish(&p.tables, &target)?;
    if p.format == LogFormat::Json {
        return print_stdout(&(serde_json::to_string(&r).map_err(|e| crate::Error::Internal(e.to_string()))? + "\n"));
    }
    log_published(&r);
    Ok(())
}

fn log_published(r: &crate::publish::Report) {
    let rows: u64 = r.rows.values().sum();
    tracing::info!(
        "published {} tables ({rows} rows, as_of {}) from {} to {} schema {} ({}) in {:.1} s",
        r.rows.len(),
        r.as_of,
        r.tables_dir,
        r.target,
        r.schema,
        r.mode,
        r.seconds
    );
    if !r.kept_dependents.is_empty() {
        tracing::info!(
            "loaded in place, keeping what reads schema {} from outside: {}",
            r.schema,
            r.kept_dependents.join(", ")
        );
    }
}

/// `evergreen compare`: the migration tables of two snapshots, written atomically.
fn compare(c: CompareArgs, recorded: Vec<String>) -> Result<()> {
    let m = crate::run::compare(&c.from, &c.to, &c.out, std::time::Duration::from_secs(c.lock_timeout), recorded)?;
    let rows: Vec<String> = m.tables.iter().map(|(name, t)| format!("{name} {}", t.rows)).collect();
    tracing::info!("wrote {} to {} ({} -> {})", rows.join(", "), c.out.display(), m.from_as_of, m.to_as_of);
    Ok(())
}

/// `evergreen query`: print the result as a table, or write it as Parquet, CSV or Excel.
fn query(q: QueryArgs) -> Result<()> {
    use polars::prelude::*;
    let mut df = crate::queries::ad_hoc(
        &q.tables,
        &crate::output::complete_partitions(&q.tables),
        &q.sql,
        q.allow_file_reads,
        &|dir| crate::snapshot::folder_tables(dir, &q.sql),
    )?;
    let Some(out) = q.out else {
        std::env::set_var("POLARS_FMT_MAX_ROWS", q.limit.to_string());
        std::env::set_var("POLARS_FMT_MAX_COLS", "30");
        std::env::set_var("POLARS_FMT_STR_LEN", "40");
        if std::env::var_os("POLARS_TABLE_WIDTH").is_none() {
            std::env::set_var("POLARS_TABLE_WIDTH", "200");
        }
        return print_stdout(&format!("{df}\n"));
    };
    let err = |e: &dyn std::fmt::Display| crate::Error::Output {
        path: out.clone(),
        reason: crate::error::one_line(&e.to_string()),
    };
    let ext = out.extension().map(|e| e.to_string_lossy().to_lowercase()).unwrap_or_default();
    if !matches!(ext.as_str(), "parquet" | "csv" | "xlsx") {
        return Err(crate::Error::Config(format!("--out {}: expected a .parquet, .csv or .xlsx file", out.display())));
    }
    // Never into (or over) the output folder being queried: it holds only what its run wrote.
    crate::output::check_not_input(&out, &[q.tables.display().to_string()], &[], &[])?;
    if std::fs::metadata(&out).is_ok_and(|m| m.is_dir()) {
        return Err(err(&"is a folder; expected a file name (nothing was written)"));
    }
    // A hidden name of evergreen's own beside the result, renamed over it when complete.
    let tmp = crate::output::temp_beside(&out)?;
    let f = std::fs::File::create(&tmp).map_err(|e| err(&e))?;
    let written = match ext.as_str() {
        "parquet" => crate::output::table_bytes(&mut df)
            .and_then(|b| std::io::Write::write_all(&mut { f }, &b).map_err(PolarsError::from)),
        "xlsx" => crate::output::xlsx_bytes(&df)
            .map_err(|m| PolarsError::ComputeError(m.into()))
            .and_then(|b| std::io::Write::write_all(&mut { f }, &b).map_err(PolarsError::from)),
        // Timestamps as Excel reads them: `2024-01-05 10:00:00.000` (milliseconds, UTC).
        _ => {
            if !q.keep_formulas {
                df = crate::output::without_formulas(&df).map_err(|e| err(&e))?;
            }
            CsvWriter::new(f).with_datetime_format(Some("%Y-%m-%d %H:%M:%S%.3f".into())).finish(&mut df)
        }
    };
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(err(&e));
    }
    std::fs::rename(&tmp, &out).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(&e)
    })
}
