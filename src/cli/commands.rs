//! Each subcommand: hand its Config to the run (or the report, publish, query, compare) and log
//! its one summary line.

use std::path::PathBuf;

use clap::CommandFactory;

use crate::error::Result;
use super::print_stdout;
use super::args::{Cli, Command, CompareArgs, LogFormat, PublishArgs, QueryArgs, ReportArgs, StateArgs, misplaced_no_itemsets};
use crate::run::Job;

pub(super) fn dispatch(cli: Cli, recorded: Vec<String>, progress: bool) -> Result<()> {
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
        Command::State(s) => return state(s),
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
    if job == Job::Patterns && args.flags.columns.product_name.is_some() {
        // Itemsets, rules and sequence pairs carry item codes; accepting the flag would say otherwise.
        return Err(crate::Error::Config(
            "--product-name-col: the pattern tables (itemsets, rules, sequence_pairs) carry item codes, not names; \
             `run` puts names into products, basket_pairs and customers"
                .into(),
        ));
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
    let mut df = crate::queries::ad_hoc(
        &q.tables,
        &crate::output::complete_partitions(&q.tables),
        &q.sql,
        q.allow_file_reads,
        &|dir| crate::snapshot::folder_tables(dir, &q.sql),
    )?;
    let Some(out) = q.out else {
        let text = crate::output::render(&df, q.format, q.limit, crate::output::terminal_width())?;
        return print_stdout(&text);
    };
    crate::output::write_result(&mut df, &out, &q.tables, q.keep_formulas)
}

/// `evergreen state DIR`: what an incremental state holds (issue 33).
fn state(a: StateArgs) -> Result<()> {
    let m = crate::run::state::read_manifest(&a.dir)?.ok_or_else(|| crate::Error::Config(format!(
        "{}: no finished evergreen state here (a run with --state {} writes one)",
        a.dir.display(),
        a.dir.display()
    )))?;
    if a.format == LogFormat::Json {
        let json = serde_json::to_string_pretty(&m).map_err(|e| crate::Error::Internal(e.to_string()))?;
        return print_stdout(&format!("{json}\n"));
    }
    let rejected: u64 = m.rejected.values().sum();
    let mut out = format!(
        "state {} (evergreen {}, format {})\n\
         as of      {}\n\
         files      {}\n\
         lines      {} read, {} kept, {} left out by --where, {} rejected\n\
         parts      {} ({} bytes, {:.1} bytes a kept line)\n\
         roles      {}\n",
        a.dir.display(),
        m.version,
        m.format,
        m.as_of.as_deref().unwrap_or("-"),
        m.inputs.len(),
        m.lines_read,
        m.lines_kept(),
        m.filtered_lines,
        rejected,
        m.parts.len(),
        m.bytes(),
        m.bytes() as f64 / m.lines_kept().max(1) as f64,
        m.columns.iter().map(|(n, t)| format!("{n} {t}")).collect::<Vec<_>>().join(", "),
    );
    for f in &m.inputs {
        out.push_str(&format!("  {}  {} lines  {} bytes\n", f.path, f.lines, f.size));
    }
    print_stdout(&out)
}
