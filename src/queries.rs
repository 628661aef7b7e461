//! Business definitions in SQL (the `queries/` folder), run through Polars SQL over the tables.
//!
//! Order: `segments.sql` runs first and its `segment` is written into `customers`; then every other
//! shipped query in file-name order, then the user's `--queries DIR` files in file-name order. Each
//! result is registered under its file stem as soon as it exists, so a query can read the tables
//! and any query that ran before it. A user file named like a shipped one replaces it.
//!
//! Parameters: `${money_decimals}`, `${min_lapse_days}`, `${max_lapse_days}`, `${bins}`,
//! `${trend_days}`, `${kpi_window_days}` and `${as_of}` in a query's text are replaced by the run's
//! values before it is parsed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use polars::sql::SQLContext;

use crate::config::Config;
use crate::error::{one_line, Error, Result};

/// The queries shipped in the repository's `queries/` folder (compiled in).
pub const SHIPPED: [(&str, &str); 6] = [
    ("segments", include_str!("../queries/segments.sql")),
    ("segment_descriptions", include_str!("../queries/segment_descriptions.sql")),
    ("customer_tags", include_str!("../queries/customer_tags.sql")),
    ("lapsed_customers", include_str!("../queries/lapsed_customers.sql")),
    ("segment_summary", include_str!("../queries/segment_summary.sql")),
    ("top_customers", include_str!("../queries/top_customers.sql")),
];

/// The name of the segment query.
pub const SEGMENTS: &str = "segments";
/// The segments' order, descriptions and suggested actions (issue 15): run right after the
/// segment query; its `segment_order` goes into customers.
pub const SEGMENT_DESCRIPTIONS: &str = "segment_descriptions";

/// The lifecycle query (run when the CLV models are fitted; its `lifecycle_stage` goes into
/// customers), and the lapsed list that replaces the shipped one then.
pub const LIFECYCLE: (&str, &str) = ("lifecycle", include_str!("../queries/lifecycle.sql"));
pub const LAPSED_WITH_CLV: (&str, &str) = ("lapsed_customers", include_str!("../queries/clv/lapsed_customers.sql"));

/// One query: its table name (file stem), where it came from, and its SQL text.
#[derive(Debug, Clone)]
pub struct Query {
    pub name: String,
    pub origin: PathBuf,
    pub sql: String,
    /// `--allow-file-reads`: the query may call table functions.
    pub allow_file_reads: bool,
}

/// The queries of a run, in run order, the segment query apart.
#[derive(Debug, Clone)]
pub struct QuerySet {
    pub segments: Query,
    /// segment_descriptions (unless a user file of that name is removed... it is always shipped).
    pub descriptions: Option<Query>,
    /// With the CLV models: the lifecycle query.
    pub lifecycle: Option<Query>,
    pub others: Vec<Query>,
}

/// Shipped queries, overridden or extended by `*.sql` files of `user_dir`, and the segment map
/// from `segment_map` (TOML) when given. Checked before anything runs: the segment query must give
/// every cell of `bins` exactly one segment.
///
/// With `clv` (the run fits the CLV models) the lifecycle query runs too, and the lapsed list is
/// the one of `queries/clv/` (with p_alive and clv); a user file of the same name replaces either.
pub fn load(
    user_dir: Option<&Path>,
    segment_map: Option<&Path>,
    bins: u8,
    allow_file_reads: bool,
    clv: bool,
) -> Result<QuerySet> {
    let shipped = |n: &str, origin: String, sql: &str| {
        (n.to_string(), Query { name: n.to_string(), origin: PathBuf::from(origin), sql: sql.to_string(), allow_file_reads })
    };
    let mut by_name: BTreeMap<String, Query> =
        SHIPPED.iter().map(|(n, sql)| shipped(n, format!("queries/{n}.sql"), sql)).collect();
    if clv {
        let (n, sql) = LAPSED_WITH_CLV;
        by_name.insert(n.to_string(), shipped(n, format!("queries/clv/{n}.sql"), sql).1);
        let (n, sql) = LIFECYCLE;
        by_name.insert(n.to_string(), shipped(n, format!("queries/{n}.sql"), sql).1);
    }
    let mut user: Vec<Query> = Vec::new();
    if let Some(dir) = user_dir {
        let rd = std::fs::read_dir(dir)
            .map_err(|e| Error::Config(format!("--queries {}: cannot read folder: {e}", dir.display())))?;
        let mut files: Vec<PathBuf> =
            rd.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "sql")).collect();
        files.sort();
        for f in files {
            let name = f.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
            check_name(&name, &f)?;
            let sql =
                std::fs::read_to_string(&f).map_err(|e| Error::Query { file: f.clone(), reason: e.to_string() })?;
            check_reads_only_tables(&f, &without_parameters(&sql), None, allow_file_reads)?;
            let q = Query { name: name.clone(), origin: f, sql, allow_file_reads };
            match by_name.get_mut(&name) {
                Some(shipped) => *shipped = q,
                None => user.push(q),
            }
        }
    }
    let mut segments = by_name.remove(SEGMENTS).expect("shipped segments query");
    if let Some(map) = segment_map {
        let sql = segment_sql_from_map(map, bins)?;
        segments = Query { name: SEGMENTS.into(), origin: map.to_path_buf(), sql, allow_file_reads };
    }
    check_segments(&segments, bins)?;
    let lifecycle = by_name.remove(LIFECYCLE.0);
    let descriptions = by_name.remove(SEGMENT_DESCRIPTIONS);
    let mut others: Vec<Query> = by_name.into_values().collect();
    others.extend(user);
    Ok(QuerySet { segments, descriptions, lifecycle, others })
}

/// Table names must be plain identifiers (and not the names of the core tables).
fn check_name(name: &str, file: &Path) -> Result<()> {
    let plain = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if !plain {
        return Err(Error::Query {
            file: file.to_path_buf(),
            reason: "expected a file name made of letters, digits and _".into(),
        });
    }
    if crate::tables::REGISTRY.iter().any(|(core, _)| *core == name) {
        return Err(Error::Query {
            file: file.to_path_buf(),
            reason: format!("`{name}` is a core table; name the query otherwise"),
        });
    }
    Ok(())
}

/// Replace `${name}` parameters with the run's values.
pub fn substitute(sql: &str, cfg: &Config, as_of: Option<chrono::NaiveDate>) -> String {
    let mut s = sql
        .replace("${money_decimals}", &cfg.output.money_decimals.to_string())
        .replace("${money_scale}", &10u64.pow(cfg.output.money_decimals).to_string())
        .replace("${min_lapse_days}", &cfg.scores.lapse_thresholds[0].to_string())
        .replace("${max_lapse_days}", &cfg.scores.lapse_thresholds[cfg.scores.lapse_thresholds.len() - 1].to_string())
        .replace("${bins}", &cfg.scores.bins.to_string())
        .replace("${trend_days}", &cfg.trends.trend_days.to_string())
        .replace("${kpi_window_days}", &cfg.trends.kpi_window_days.to_string());
    if let Some(d) = as_of {
        s = s.replace("${as_of}", &format!("'{d}'"));
    }
    s
}

fn query_err(q: &Query, e: impl std::fmt::Display) -> Error {
    Error::Query { file: q.origin.clone(), reason: one_line(&e.to_string()) }
}

/// Why `sql` may not run: `None` when it is one `SELECT` (or `WITH … SELECT`) whose every table
/// reference names a table of the output, a CTE or a subquery alias of the same statement.
///
/// An allowlist over the statement polars-sql itself parses (the same `sqlparser` version, dialect
/// and options), not a denylist of names: a table function in any spelling (`read_csv(…)`,
/// `"read_csv"(…)`, `read_csv.x(…)`, `TABLE(…)`, `LATERAL f(…)`), a dotted or unknown table name,
/// and any statement other than a query (`CREATE TABLE`, `DROP`, `EXPLAIN`, `SHOW`, …) are refused
/// before Polars sees the text. `tables` are the names registered so far; `None` skips the name
/// check (a query file read before the tables exist: the names are checked again as it runs).
/// With `allow_file_reads`, named table functions are let through (the explicit opt-in).
pub fn unsafe_sql(sql: &str, tables: Option<&[String]>, allow_file_reads: bool) -> Option<String> {
    use sqlparser::ast::{ObjectName, Statement, TableFactor, Visit, Visitor};
    use std::ops::ControlFlow;

    let statements = match parse(sql) {
        Ok(s) => s,
        Err(e) => return Some(format!("cannot parse the SQL: {}", one_line(&e.to_string()))),
    };
    let [statement] = statements.as_slice() else {
        return Some(format!("expected one SELECT statement, found {}", statements.len()));
    };
    if !matches!(statement, Statement::Query(_)) {
        let first = statement.to_string();
        let word = first.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
        return Some(format!("expected a SELECT statement, found `{word}`; queries only read the tables"));
    }

    let local = local_names(statement);

    struct Check<'a> {
        tables: Option<&'a [String]>,
        local: &'a [String],
        allow_file_reads: bool,
    }
    impl Check<'_> {
        fn plain(name: &ObjectName) -> Option<&str> {
            match name.0.as_slice() {
                [one] => one.as_ident().map(|i| i.value.as_str()),
                _ => None,
            }
        }
    }
    impl Visitor for Check<'_> {
        type Break = String;
        fn pre_visit_table_factor(&mut self, t: &TableFactor) -> ControlFlow<String> {
            match t {
                TableFactor::Table { name, args: Some(_), .. } => {
                    if self.allow_file_reads {
                        return ControlFlow::Continue(());
                    }
                    let spelled: Vec<String> = name
                        .0
                        .iter()
                        .map(|p| p.as_ident().map(|i| i.value.to_lowercase()).unwrap_or_else(|| p.to_string()))
                        .collect();
                    ControlFlow::Break(format!(
                        "calls the table function {}(), which reads files outside the tables; queries read \
                         only the tables unless --allow-file-reads is given",
                        spelled.join(".")
                    ))
                }
                TableFactor::Table { name, .. } => {
                    let Some(plain) = Self::plain(name) else {
                        return ControlFlow::Break(format!(
                            "reads `{name}`: expected the plain name of a table of the output (no schema or dots)"
                        ));
                    };
                    let known = self.local.iter().any(|l| l == plain)
                        || self.tables.is_none_or(|ts| ts.iter().any(|t| t == plain));
                    if known {
                        ControlFlow::Continue(())
                    } else {
                        let ts = self.tables.unwrap_or_default();
                        ControlFlow::Break(format!(
                            "reads `{plain}`, which is not a table of the output (tables: {})",
                            ts.join(", ")
                        ))
                    }
                }
                TableFactor::Derived { .. } | TableFactor::NestedJoin { .. } | TableFactor::UNNEST { .. } => {
                    ControlFlow::Continue(())
                }
                other => {
                    let text = other.to_string();
                    let head: String = text.chars().take(40).collect();
                    ControlFlow::Break(format!(
                        "reads `{head}`, which is not a table of the output; queries read only the tables"
                    ))
                }
            }
        }
    }
    let mut check = Check { tables, local: &local, allow_file_reads };
    match statement.visit(&mut check) {
        ControlFlow::Break(why) => Some(why),
        ControlFlow::Continue(()) => None,
    }
}

/// The plain table names a query reads (its CTEs and aliased subqueries left out), with its
/// `${...}` parameters blanked; none when it does not parse (it is refused when it runs). The
/// planner follows them so that `--tables` computes what a wanted query reads.
pub fn tables_read(sql: &str) -> Vec<String> {
    use sqlparser::ast::{TableFactor, Visit, Visitor};
    use std::ops::ControlFlow;

    /// Every plain table name a statement reads.
    struct Read(Vec<String>);
    impl Visitor for Read {
        type Break = ();
        fn pre_visit_table_factor(&mut self, t: &TableFactor) -> ControlFlow<()> {
            if let TableFactor::Table { name, args: None, .. } = t {
                if let [one] = name.0.as_slice() {
                    if let Some(i) = one.as_ident() {
                        self.0.push(i.value.clone());
                    }
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut read = Vec::new();
    for statement in parse(&without_parameters(sql)).unwrap_or_default() {
        let local = local_names(&statement);
        let mut names = Read(Vec::new());
        let _ = statement.visit(&mut names);
        read.extend(names.0.into_iter().filter(|n| !local.contains(n)));
    }
    read.sort();
    read.dedup();
    read
}

/// `sql` parsed as polars-sql parses it (the same `sqlparser` version, dialect and options).
fn parse(sql: &str) -> std::result::Result<Vec<sqlparser::ast::Statement>, sqlparser::parser::ParserError> {
    use sqlparser::parser::{Parser, ParserOptions};
    Parser::new(&sqlparser::dialect::GenericDialect {})
        .with_options(ParserOptions { trailing_commas: true, ..Default::default() })
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_statements())
}

/// The names a statement itself introduces: its CTEs and aliased subqueries.
fn local_names(statement: &sqlparser::ast::Statement) -> Vec<String> {
    use sqlparser::ast::{Query as Select, TableFactor, Visit, Visitor};
    use std::ops::ControlFlow;

    struct Local(Vec<String>);
    impl Visitor for Local {
        type Break = ();
        fn pre_visit_query(&mut self, q: &Select) -> ControlFlow<()> {
            if let Some(with) = &q.with {
                self.0.extend(with.cte_tables.iter().map(|c| c.alias.name.value.clone()));
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_table_factor(&mut self, t: &TableFactor) -> ControlFlow<()> {
            if let TableFactor::Derived { alias: Some(a), .. } = t {
                self.0.push(a.name.value.clone());
            }
            ControlFlow::Continue(())
        }
    }
    let mut local = Local(Vec::new());
    let _ = statement.visit(&mut local);
    local.0
}

/// `sql` with every `${name}` parameter replaced by `NULL`, so a query file can be checked (and
/// refused) before the run's values exist; it is checked again after the real substitution.
fn without_parameters(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        match rest[i..].find('}') {
            Some(j) => {
                out.push_str("NULL");
                rest = &rest[i + j + 1..];
            }
            None => {
                rest = &rest[i..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// SQL reads only the tables ([`unsafe_sql`]); refused with the query's file in the message.
pub fn check_reads_only_tables(file: &Path, sql: &str, tables: Option<&[String]>, allow_file_reads: bool) -> Result<()> {
    match unsafe_sql(sql, tables, allow_file_reads) {
        Some(reason) => Err(Error::Query { file: file.to_path_buf(), reason }),
        None => Ok(()),
    }
}

/// Run one query over the registered tables and collect its result. The SQL is checked again
/// as it runs (after `${...}` substitution, against the tables registered by then), so a
/// parameter cannot turn a literal into a call.
fn execute(ctx: &mut SQLContext, q: &Query, sql: &str) -> Result<DataFrame> {
    check_reads_only_tables(&q.origin, sql, Some(&ctx.get_tables()), q.allow_file_reads)?;
    let started = std::time::Instant::now();
    let df = ctx.execute(sql).and_then(|lf| lf.collect()).map_err(|e| query_err(q, e))?;
    tracing::debug!(query = %q.name, rows = df.height(), "query {} in {:.3} s", q.name, started.elapsed().as_secs_f64());
    Ok(df)
}

/// All B³ cells as strings, e.g. "111" … "555".
fn all_cells(bins: u8) -> Vec<String> {
    let b = bins as u32;
    (0..b.pow(3)).map(|i| format!("{}{}{}", i / (b * b) + 1, (i / b) % b + 1, i % b + 1)).collect()
}

/// Check the segment query on a table holding every cell once: each must get exactly one
/// non-null segment. The error lists the cells without one (or with two).
pub fn check_segments(q: &Query, bins: u8) -> Result<()> {
    let cells = all_cells(bins);
    let digit = |k: usize| -> Vec<i32> { cells.iter().map(|c| (c.as_bytes()[k] - b'0') as i32).collect() };
    let probe = DataFrame::new_infer_height(vec![
        Column::new("customer_id".into(), (0..cells.len() as i64).collect::<Vec<_>>()),
        Column::new("r_score".into(), digit(0)),
        Column::new("f_score".into(), digit(1)),
        Column::new("m_score".into(), digit(2)),
        Column::new("rfm_cell".into(), cells.clone()),
    ])?;
    let mut ctx = SQLContext::new();
    ctx.register("customers", probe.lazy());
    let out = execute(&mut ctx, q, &q.sql)?;
    let seg = out.column("segment").map_err(|_| query_err(q, "expected a `segment` column"))?;
    let ids = out.column("customer_id").map_err(|_| query_err(q, "expected a `customer_id` column"))?;
    let ids = ids.cast(&DataType::Int64)?;
    let mut per_cell = vec![0u32; cells.len()];
    for (id, s) in ids.i64()?.iter().zip(seg.as_materialized_series().iter()) {
        if let (Some(id), false) = (id, s.is_null()) {
            if let Some(n) = per_cell.get_mut(id as usize) {
                *n += 1;
            }
        }
    }
    let none: Vec<&str> = cells.iter().zip(&per_cell).filter(|(_, n)| **n == 0).map(|(c, _)| c.as_str()).collect();
    let many: Vec<&str> = cells.iter().zip(&per_cell).filter(|(_, n)| **n > 1).map(|(c, _)| c.as_str()).collect();
    if !none.is_empty() {
        return Err(query_err(q, format!("cells in no segment (bins = {bins}): {}", none.join(", "))));
    }
    if !many.is_empty() {
        return Err(query_err(q, format!("cells in more than one segment: {}", many.join(", "))));
    }
    Ok(())
}

/// Turn a TOML segment map (`Segment = ["555", "554", …]`) into the segment query, after checking
/// that every cell of `bins` is in exactly one segment and that no cell is malformed.
pub fn segment_sql_from_map(path: &Path, bins: u8) -> Result<String> {
    let err = |reason: String| Error::Config(format!("{}: {reason}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read segment map: {e}")))?;
    let map: BTreeMap<String, Vec<String>> = toml::from_str(&text)
        .map_err(|e| err(format!("expected `Segment = [\"555\", …]` lines: {}", one_line(&e.to_string()))))?;
    let cells = all_cells(bins);
    let mut owner: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut bad = Vec::new();
    for (seg, list) in &map {
        for c in list {
            if cells.contains(c) {
                owner.entry(c.as_str()).or_default().push(seg.as_str());
            } else {
                bad.push(c.clone());
            }
        }
    }
    if !bad.is_empty() {
        return Err(err(format!("cells that are not scores 1..{bins} (three digits): {}", bad.join(", "))));
    }
    let none: Vec<&str> = cells.iter().map(|c| c.as_str()).filter(|c| !owner.contains_key(c)).collect();
    if !none.is_empty() {
        return Err(err(format!("cells in no segment (bins = {bins}): {}", none.join(", "))));
    }
    let many: Vec<String> =
        owner.iter().filter(|(_, s)| s.len() > 1).map(|(c, s)| format!("{c} ({})", s.join(", "))).collect();
    if !many.is_empty() {
        return Err(err(format!("cells in more than one segment: {}", many.join("; "))));
    }
    let mut sql = String::from("SELECT customer_id, CASE\n");
    for (seg, list) in &map {
        let cells: Vec<String> = list.iter().map(|c| format!("'{c}'")).collect();
        sql.push_str(&format!("  WHEN rfm_cell IN ({}) THEN '{}'\n", cells.join(", "), seg.replace('\'', "''")));
    }
    sql.push_str("END AS segment FROM customers\n");
    Ok(sql)
}

/// Give `customers` its `segment` from the segment query, then run every other query, adding
/// each result to `tables` under its name.
pub fn run_all(
    set: &QuerySet,
    cfg: &Config,
    as_of: Option<chrono::NaiveDate>,
    tables: &mut Vec<(String, DataFrame)>,
) -> Result<()> {
    run_segments(set, cfg, as_of, tables)?;
    run_others(set, cfg, as_of, tables, None)
}

/// Every table registered under its name (one chunk per column: reductions then see the rows in
/// one fixed order).
fn context(tables: &mut [(String, DataFrame)]) -> SQLContext {
    let ctx = SQLContext::new();
    for (name, df) in tables.iter_mut() {
        df.rechunk_mut();
        ctx.register(name, df.clone().lazy());
    }
    ctx
}

/// The first half of [`run_all`]: `segment` (and, with the CLV models, `lifecycle_stage`) written
/// into `customers`.
pub fn run_segments(
    set: &QuerySet,
    cfg: &Config,
    as_of: Option<chrono::NaiveDate>,
    tables: &mut Vec<(String, DataFrame)>,
) -> Result<()> {
    let mut ctx = context(tables);
    if let Some(pos) = tables.iter().position(|(n, _)| n == "customers") {
        write_column(&mut ctx, tables, pos, &set.segments, "segment", cfg, as_of)?;
        if let Some(q) = &set.descriptions {
            // The descriptions table, then each customer's segment_order from it.
            let df = execute(&mut ctx, q, &substitute(&q.sql, cfg, as_of))?;
            for needed in ["segment", "segment_order"] {
                if df.column(needed).is_err() {
                    return Err(query_err(q, format!("expected a `{needed}` column")));
                }
            }
            ctx.register(&q.name, df.clone().lazy());
            tables.push((q.name.clone(), df));
            let order = Query {
                sql: "SELECT c.customer_id, d.segment_order FROM customers c \
                      LEFT JOIN segment_descriptions d ON c.segment = d.segment"
                    .into(),
                ..q.clone()
            };
            write_column(&mut ctx, tables, pos, &order, "segment_order", cfg, as_of)?;
        }
        if let Some(q) = set.lifecycle.as_ref().filter(|_| tables.iter().any(|(n, _)| n == "clv")) {
            write_column(&mut ctx, tables, pos, q, "lifecycle_stage", cfg, as_of)?;
        }
    }
    Ok(())
}

/// The second half of [`run_all`]: every other query, in run order, over the tables (and the
/// results before it).
///
/// With `sink`, a result that no later query reads goes there at once instead of into `tables`
/// (so only the results still to be read stay in memory).
pub fn run_others(
    set: &QuerySet,
    cfg: &Config,
    as_of: Option<chrono::NaiveDate>,
    tables: &mut Vec<(String, DataFrame)>,
    mut sink: Option<&mut dyn FnMut(&str, DataFrame) -> Result<()>>,
) -> Result<()> {
    let mut ctx = context(tables);
    for (i, q) in set.others.iter().enumerate() {
        let df = execute(&mut ctx, q, &substitute(&q.sql, cfg, as_of))?;
        let read_later = set.others[i + 1..].iter().any(|later| tables_read(&later.sql).contains(&q.name));
        match sink.as_mut() {
            Some(sink) if !read_later => sink(&q.name, df)?,
            _ => {
                ctx.register(&q.name, df.clone().lazy());
                tables.push((q.name.clone(), df));
            }
        }
    }
    Ok(())
}

/// Run `q` (one row per customer: customer_id and `column`) and write its `column` into the
/// customers table at `pos`, in place of the placeholder (and of its type), keeping the rows' order.
fn write_column(
    ctx: &mut SQLContext,
    tables: &mut [(String, DataFrame)],
    pos: usize,
    q: &Query,
    column: &str,
    cfg: &Config,
    as_of: Option<chrono::NaiveDate>,
) -> Result<()> {
    let got = execute(ctx, q, &substitute(&q.sql, cfg, as_of))?;
    // The column keeps the placeholder's type (segment: text; segment_order: integer).
    let dtype = tables[pos].1.column(column).map(|c| c.dtype().clone()).unwrap_or(DataType::String);
    let got = got
        .lazy()
        .select([col("customer_id"), col(column).strict_cast(dtype)])
        .collect()
        .map_err(|e| query_err(q, e))?;
    let customers = &tables[pos].1;
    // A query that keeps the customers' rows in their order (a projection of `customers`, as the
    // shipped ones are) gives its column as it is: the left join would give the same rows, and at
    // 8M customers it takes a second a column.
    if got.height() == customers.height() && got.column("customer_id")?.equals_missing(customers.column("customer_id")?) {
        let mut replaced = customers.clone();
        replaced.replace(column, got.column(column)?.clone())?;
        tables[pos].1 = replaced;
        ctx.register("customers", tables[pos].1.clone().lazy());
        return Ok(());
    }
    let order: Vec<Expr> = customers.get_column_names().iter().map(|n| col(n.as_str())).collect();
    let joined = customers
        .clone()
        .lazy()
        .drop(cols([column]))
        .join(got.lazy(), [col("customer_id")], [col("customer_id")], JoinArgs::new(JoinType::Left))
        .select(order)
        .collect()?;
    if joined.height() != customers.height() {
        return Err(query_err(q, "the query gave some customers more than one row"));
    }
    tables[pos].1 = joined;
    ctx.register("customers", tables[pos].1.clone().lazy());
    Ok(())
}

/// The `*.parquet` files of a folder, by table name (the file stem).
pub fn parquet_files(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let rd = std::fs::read_dir(dir)
        .map_err(|e| Error::Config(format!("--tables {}: cannot read folder: {e}", dir.display())))?;
    let mut files: Vec<(String, PathBuf)> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .map(|p| (p.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default(), p))
        .collect();
    files.sort();
    Ok(files)
}

/// How `ad_hoc` reads one folder's tables (`snapshot::folder_tables`: each read whole into memory,
/// an evergreen output's checked to be of one run).
pub type ReadFolder<'a> = &'a dyn Fn(&Path) -> Result<Vec<(String, LazyFrame)>>;

/// The tables of a root of `as_of=YYYY-MM-DD` partitions (`parts`: the complete ones, oldest
/// first), each partition's rows with an `as_of` date column in front (tables that have one, such
/// as kpis, keep theirs); partitions of different runs may differ in columns (absent ones are null).
fn partitioned_tables(
    root: &Path,
    parts: &[(chrono::NaiveDate, PathBuf)],
    folder_tables: ReadFolder,
) -> Result<Vec<(String, LazyFrame)>> {
    // Per table: each partition's frame and schema (as_of first), and every column seen, in order.
    type Parts = (Vec<(LazyFrame, Schema)>, Vec<(PlSmallStr, DataType)>);
    let mut by_table: BTreeMap<String, Parts> = BTreeMap::new();
    for (date, dir) in parts {
        let date = *date;
        for (name, mut lf) in folder_tables(dir)? {
            let p = dir.join(format!("{name}.parquet"));
            let unreadable = |e: PolarsError| Error::Unreadable { file: p.clone(), reason: one_line(&e.to_string()) };
            let schema = lf.collect_schema().map_err(unreadable)?;
            if !schema.contains("as_of") {
                let mut cols = vec![lit(date).cast(DataType::Date).alias("as_of")];
                cols.extend(schema.iter_names().map(|n| col(n.clone())));
                lf = lf.select(cols);
            }
            let schema = (*lf.collect_schema().map_err(unreadable)?).clone();
            let entry = by_table.entry(name).or_default();
            for (n, dt) in schema.iter() {
                if !entry.1.iter().any(|(seen, _)| seen == n) {
                    entry.1.push((n.clone(), dt.clone()));
                }
            }
            entry.0.push((lf, schema));
        }
    }
    by_table
        .into_iter()
        .map(|(name, (frames, columns))| {
            // Columns a partition lacks are null there.
            let aligned: Vec<LazyFrame> = frames
                .into_iter()
                .map(|(lf, schema)| {
                    let cols: Vec<Expr> = columns
                        .iter()
                        .map(|(n, dt)| if schema.contains(n) { col(n.clone()) } else { lit(NULL).cast(dt.clone()).alias(n.clone()) })
                        .collect();
                    lf.select(cols)
                })
                .collect();
            let all = concat(aligned, UnionArgs { to_supertypes: true, ..Default::default() })
                .map_err(|e| Error::Unreadable { file: root.join(&name), reason: one_line(&e.to_string()) })?;
            Ok((name, all))
        })
        .collect()
}

/// `evergreen query`: register every `*.parquet` of an output folder under its stem and run `sql`.
/// A root of `as_of=` partitions (no table of its own; `partitions` its complete ones) registers
/// each table over every partition, with `as_of` as a column.
pub fn ad_hoc(
    tables_dir: &Path,
    partitions: &[(chrono::NaiveDate, PathBuf)],
    sql: &str,
    allow_file_reads: bool,
    folder_tables: ReadFolder,
) -> Result<DataFrame> {
    let files = parquet_files(tables_dir)?;
    let tables: Vec<(String, LazyFrame)> =
        if files.is_empty() { partitioned_tables(tables_dir, partitions, folder_tables)? } else { folder_tables(tables_dir)? };
    let mut ctx = SQLContext::new();
    for (name, lf) in &tables {
        ctx.register(name, lf.clone());
    }
    if tables.is_empty() {
        return Err(Error::NoInput { path: tables_dir.display().to_string() });
    }
    check_reads_only_tables(Path::new("<command line>"), sql, Some(&ctx.get_tables()), allow_file_reads)?;
    ctx.execute(sql)
        .and_then(|lf| lf.collect())
        .map_err(|e| Error::Query { file: PathBuf::from("<command line>"), reason: one_line(&e.to_string()) })
}
