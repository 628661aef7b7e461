//! `evergreen publish` (issue 15): an output's tables loaded into PostgreSQL so dashboards
//! (Metabase, Superset) read a database, never half a snapshot.
//!
//! - **Replace** (default): one transaction creates a staging schema `S__evergreen_staging`, loads
//!   every table into it with binary `COPY`, drops the live schema `S` and renames the staging one
//!   to `S`. PostgreSQL's DDL is transactional: until the commit every other session sees the old
//!   `S` whole; a load that fails or is killed rolls back and leaves it untouched.
//! - **Append** (`--append`): one transaction adds the snapshot to the tables of `S` (created on
//!   first use), after deleting rows of the same `as_of` (a rerun of a date replaces it).
//!
//! Every published table has an `as_of DATE` column (the tables carry one; a table of an older
//! output without one gets it first). A schema that
//! exists without evergreen's comment is never dropped or written (exit 5): evergreen changes only
//! what it wrote.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime};
use polars::prelude::*;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
use postgres::{Client, NoTls, Transaction};
use serde::Serialize;

use crate::error::{one_line, Error, Result};
use crate::output::MANIFEST;

/// The comment evergreen puts on the schemas it writes; the proof a schema may be replaced.
const MARK: &str = "written by evergreen";
/// Suffix of the staging schema of a replace.
const STAGING_SUFFIX: &str = "__evergreen_staging";

/// What to publish where.
#[derive(Debug, Clone)]
pub struct Target {
    /// `postgresql://user[:password]@host[:port]/database` (or a libpq key=value string); the
    /// password may also come from `PGPASSWORD`.
    pub url: String,
    pub schema: String,
    pub append: bool,
    /// Replace even when objects outside the schema read its tables, dropping them with it.
    pub drop_dependents: bool,
}

/// What a publish did, for the log line and `--format json`.
#[derive(Debug, Serialize)]
pub struct Report {
    pub tables_dir: String,
    pub target: String,
    pub schema: String,
    pub mode: &'static str,
    pub as_of: String,
    pub rows: std::collections::BTreeMap<String, u64>,
    /// Objects outside the schema that read its tables, kept working by loading in place.
    pub kept_dependents: Vec<String>,
    /// Objects outside the schema dropped with it (`--drop-dependents` only).
    pub dropped_dependents: Vec<String>,
    pub seconds: f64,
}

/// A publish failure: exit 5, naming the connection string redacted, the reason scrubbed of the
/// password (a server or driver text that would echo it).
fn failed(target: &Target, reason: impl std::fmt::Display) -> Error {
    let mut reason = one_line(&reason.to_string());
    let in_string = postgres::Config::from_str(&target.url).ok().and_then(|c| c.get_password().map(<[u8]>::to_vec));
    for p in [in_string, std::env::var("PGPASSWORD").ok().map(String::into_bytes)] {
        reason = crate::connstr::scrub(&reason, p.as_deref());
    }
    Error::Output { path: PathBuf::from(crate::connstr::redact(&target.url)), reason }
}


/// Check `target` before anything runs: its schema name (exit 2) and its connection string parses
/// (exit 2, redacted); nothing connects.
pub fn check_target(target: &Target) -> Result<()> {
    check_schema(&target.schema)?;
    crate::connstr::parse(&target.url).map(|_| ())
}

/// A schema name evergreen accepts: a plain identifier (letters, digits, `_`; not starting with a
/// digit; at most 40 bytes, so the staging suffix fits PostgreSQL's 63).
pub fn check_schema(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("pg_")
        && name != "public"
        && name != "information_schema";
    if ok {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "schema: expected a plain name (letters, digits, _; at most 40; not public, information_schema or pg_*), found `{name}`"
        )))
    }
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// One table of the output, read back.
struct Table {
    name: String,
    frame: DataFrame,
}

/// The output folder to publish: `dir` itself when it holds a manifest, else the latest complete
/// `as_of=` partition of the root `dir`, read whole and consistent ([`crate::snapshot::read_consistent`]:
/// a run replacing the folder meanwhile never gives a mix). Returns the folder, its as-of date and
/// its tables.
fn read_output(dir: &Path) -> Result<(PathBuf, NaiveDate, Vec<Table>)> {
    let snap = crate::snapshot::read_consistent(dir)?;
    let (folder, m) = (&snap.dir, &snap.manifest);
    if let Some(why) = compare_output(m) {
        return Err(Error::Config(format!("--tables {}: {why}", folder.display())));
    }
    let as_of = m["as_of"].as_str().and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()).ok_or_else(|| {
        Error::Unreadable { file: folder.join(MANIFEST), reason: "no as_of date (publish needs one)".into() }
    })?;
    if let Some(file) = snap.missing.first() {
        return Err(Error::Unreadable { file: file.clone(), reason: "listed in the manifest but not there".into() });
    }
    let tables =
        snap.tables.iter().map(|t| Ok(Table { name: t.name.clone(), frame: t.frame()? })).collect::<Result<_>>()?;
    Ok((folder.clone(), as_of, tables))
}

/// What an output of `evergreen compare` is, when the manifest `m` is one's (its `from_as_of`
/// and `to_as_of`, no `as_of`): it holds the migration between two snapshots, not a snapshot.
fn compare_output(m: &serde_json::Value) -> Option<String> {
    let (from, to) = (m["from_as_of"].as_str()?, m["to_as_of"].as_str()?);
    if m.get("as_of").is_some_and(|v| !v.is_null()) {
        return None;
    }
    let tables: Vec<&str> = m["tables"].as_object().map(|t| t.keys().map(String::as_str).collect()).unwrap_or_default();
    Some(format!(
        "a compare output ({} from {from} to {to}) holds no snapshot to publish; publish the run outputs themselves (the later one's own tables carry the migration when it ran with --compare-with)",
        tables.join(" and ")
    ))
}

/// The PostgreSQL type of a table column (the type table in docs/publish.md).
fn pg_type(dt: &DataType) -> Option<Type> {
    Some(match dt {
        DataType::Boolean => Type::BOOL,
        DataType::Int8 | DataType::Int16 | DataType::UInt8 => Type::INT2,
        DataType::Int32 | DataType::UInt16 => Type::INT4,
        DataType::Int64 | DataType::UInt32 | DataType::UInt64 => Type::INT8,
        DataType::Float32 => Type::FLOAT4,
        DataType::Float64 => Type::FLOAT8,
        DataType::String => Type::TEXT,
        DataType::Date => Type::DATE,
        DataType::Datetime(_, None) => Type::TIMESTAMP,
        DataType::List(inner) => match inner.as_ref() {
            DataType::String => Type::TEXT_ARRAY,
            d if d.is_integer() => Type::INT8_ARRAY,
            _ => return None,
        },
        d if d.is_integer() => Type::INT8,
        _ => return None,
    })
}

/// A column's values, typed for the binary COPY.
enum Values {
    Bool(Vec<Option<bool>>),
    I16(Vec<Option<i16>>),
    I32(Vec<Option<i32>>),
    I64(Vec<Option<i64>>),
    F32(Vec<Option<f32>>),
    F64(Vec<Option<f64>>),
    Text(Vec<Option<String>>),
    Date(Vec<Option<NaiveDate>>),
    Ts(Vec<Option<NaiveDateTime>>),
    TextArr(Vec<Option<Vec<Option<String>>>>),
    I64Arr(Vec<Option<Vec<Option<i64>>>>),
}

impl Values {
    fn at(&self, i: usize) -> &(dyn ToSql + Sync) {
        match self {
            Values::Bool(v) => &v[i],
            Values::I16(v) => &v[i],
            Values::I32(v) => &v[i],
            Values::I64(v) => &v[i],
            Values::F32(v) => &v[i],
            Values::F64(v) => &v[i],
            Values::Text(v) => &v[i],
            Values::Date(v) => &v[i],
            Values::Ts(v) => &v[i],
            Values::TextArr(v) => &v[i],
            Values::I64Arr(v) => &v[i],
        }
    }
}

/// A column read into [`Values`] of type `ty`; an unsigned value above i64::MAX is an error.
fn values(c: &Column, ty: &Type, table: &str) -> Result<Values> {
    let too_big =
        || Error::Internal(format!("publish: {table}.{}: an unsigned value above 9223372036854775807", c.name()));
    Ok(match *ty {
        Type::BOOL => Values::Bool(c.bool()?.iter().collect()),
        Type::INT2 => Values::I16(c.cast(&DataType::Int16)?.i16()?.iter().collect()),
        Type::INT4 => Values::I32(c.cast(&DataType::Int32)?.i32()?.iter().collect()),
        Type::INT8 => {
            if c.dtype() == &DataType::UInt64 && c.u64()?.max().is_some_and(|m| m > i64::MAX as u64) {
                return Err(too_big());
            }
            Values::I64(c.cast(&DataType::Int64)?.i64()?.iter().collect())
        }
        Type::FLOAT4 => Values::F32(c.f32()?.iter().collect()),
        Type::FLOAT8 => Values::F64(c.f64()?.iter().collect()),
        Type::TEXT => Values::Text(c.str()?.iter().map(|v| v.map(String::from)).collect()),
        Type::DATE => {
            let d = c.cast(&DataType::Int32)?;
            let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
            Values::Date(
                d.i32()?
                    .iter()
                    .map(|v| v.and_then(|x| epoch.checked_add_signed(chrono::Duration::days(x as i64))))
                    .collect(),
            )
        }
        Type::TIMESTAMP => {
            let us = c.cast(&DataType::Datetime(TimeUnit::Microseconds, None))?.cast(&DataType::Int64)?;
            Values::Ts(
                us.i64()?
                    .iter()
                    .map(|v| v.and_then(|x| chrono::DateTime::from_timestamp_micros(x).map(|t| t.naive_utc())))
                    .collect(),
            )
        }
        Type::TEXT_ARRAY => Values::TextArr(
            c.list()?
                .amortized_iter()
                .map(|s| {
                    s.map(|s| {
                        s.as_ref().str().map(|ca| ca.iter().map(|v| v.map(String::from)).collect()).unwrap_or_default()
                    })
                })
                .collect(),
        ),
        Type::INT8_ARRAY => Values::I64Arr(
            c.list()?
                .amortized_iter()
                .map(|s| {
                    s.and_then(|s| s.as_ref().cast(&DataType::Int64).ok())
                        .map(|s| s.i64().map(|ca| ca.iter().collect()).unwrap_or_default())
                })
                .collect(),
        ),
        _ => return Err(Error::Internal(format!("publish: {table}.{}: no PostgreSQL type", c.name()))),
    })
}

/// The table with `as_of` (DATE) as its first column (kept when the table already has one), and
/// each column's PostgreSQL type; a column with no mapping is an error naming it.
fn prepared(t: &Table, as_of: NaiveDate) -> Result<(DataFrame, Vec<Type>)> {
    let mut df = t.frame.clone();
    if df.column("as_of").is_err() {
        let days = (as_of - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32;
        let c = Column::new_scalar("as_of".into(), Scalar::new(DataType::Int32, AnyValue::Int32(days)), df.height())
            .cast(&DataType::Date)?;
        let mut cols = vec![c];
        cols.extend(df.columns().iter().cloned());
        df = DataFrame::new(df.height(), cols)?;
    }
    let mut types = Vec::with_capacity(df.width());
    for c in df.columns() {
        let ty = pg_type(c.dtype()).ok_or_else(|| {
            Error::Internal(format!("publish: {}.{}: no PostgreSQL type for {}", t.name, c.name(), c.dtype()))
        })?;
        types.push(ty);
    }
    Ok((df, types))
}

fn column_list(df: &DataFrame, types: &[Type]) -> String {
    df.get_column_names()
        .iter()
        .zip(types)
        .map(|(n, t)| format!("{} {}", quote(n.as_str()), sql_type(t)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn sql_type(t: &Type) -> &'static str {
    match *t {
        Type::BOOL => "BOOLEAN",
        Type::INT2 => "SMALLINT",
        Type::INT4 => "INTEGER",
        Type::INT8 => "BIGINT",
        Type::FLOAT4 => "REAL",
        Type::FLOAT8 => "DOUBLE PRECISION",
        Type::TEXT => "TEXT",
        Type::DATE => "DATE",
        Type::TIMESTAMP => "TIMESTAMP",
        Type::TEXT_ARRAY => "TEXT[]",
        Type::INT8_ARRAY => "BIGINT[]",
        _ => "TEXT",
    }
}

/// Binary COPY of `df` into `schema.table`.
fn copy_in(tx: &mut Transaction, schema: &str, table: &str, df: &DataFrame, types: &[Type]) -> Result<u64> {
    let cols: Vec<Values> = df.columns().iter().zip(types).map(|(c, t)| values(c, t, table)).collect::<Result<_>>()?;
    let names = df.get_column_names().iter().map(|n| quote(n.as_str())).collect::<Vec<_>>().join(", ");
    let sink = tx.copy_in(&format!("COPY {}.{} ({names}) FROM STDIN (FORMAT binary)", quote(schema), quote(table)))?;
    let mut writer = BinaryCopyInWriter::new(sink, types);
    let mut row: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(cols.len());
    for i in 0..df.height() {
        row.clear();
        row.extend(cols.iter().map(|c| c.at(i)));
        writer.write(&row)?;
    }
    Ok(writer.finish()?)
}

/// A column of a table in the database: its name, its type's OID and the type as PostgreSQL
/// spells it (`bigint`, `text[]`).
struct DbColumn {
    name: String,
    oid: u32,
    shown: String,
}

/// The columns of `schema.table` in order (none when the table does not exist).
fn existing_columns(tx: &mut Transaction, schema: &str, table: &str) -> Result<Vec<DbColumn>> {
    let rows = tx.query(
        "SELECT a.attname::text, a.atttypid, format_type(a.atttypid, a.atttypmod) \
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped \
         ORDER BY a.attnum",
        &[&schema, &table],
    )?;
    Ok(rows.iter().map(|r| DbColumn { name: r.get(0), oid: r.get(1), shown: r.get(2) }).collect())
}

/// How the table's columns in the database differ from the output's (names in order, then each
/// column's type), or `None` when they are the same.
fn differs(have: &[DbColumn], df: &DataFrame, types: &[Type]) -> Option<String> {
    let names: Vec<&str> = df.get_column_names().iter().map(|n| n.as_str()).collect();
    if have.len() != names.len() || have.iter().zip(&names).any(|(h, n)| h.name != *n) {
        let added: Vec<&str> = names.iter().copied().filter(|n| !have.iter().any(|h| h.name == *n)).collect();
        let lacks: Vec<&str> = have.iter().map(|h| h.name.as_str()).filter(|h| !names.contains(h)).collect();
        let mut parts = Vec::new();
        if !added.is_empty() {
            parts.push(format!("this output adds column(s) {}", added.join(", ")));
        }
        if !lacks.is_empty() {
            parts.push(format!("this output lacks column(s) {}", lacks.join(", ")));
        }
        if parts.is_empty() {
            let (i, (h, n)) =
                have.iter().zip(&names).enumerate().find(|(_, (h, n))| h.name != **n).expect("a difference");
            parts.push(format!("the same columns in another order (column {} is {} there, {n} here)", i + 1, h.name));
        }
        return Some(parts.join("; "));
    }
    have.iter().zip(names.iter().zip(types)).find(|(h, (_, t))| h.oid != t.oid()).map(|(h, (n, t))| {
        format!("column {n} is {} in PostgreSQL but {} in this output", h.shown, sql_type(t).to_ascii_lowercase())
    })
}

/// PostgreSQL's limit on a name's length, in bytes (longer names are cut, silently).
const NAME_MAX: usize = 63;

/// Every table and column name fits [`NAME_MAX`]; else exit 5 naming the first that does not.
fn check_names(folder: &Path, prepared: &[(String, DataFrame, Vec<Type>)]) -> Result<()> {
    for (table, df, _) in prepared {
        let what = if table.len() > NAME_MAX {
            Some(format!("table name `{table}` is {} bytes", table.len()))
        } else {
            df.get_column_names()
                .iter()
                .find(|c| c.len() > NAME_MAX)
                .map(|c| format!("table `{table}`: column `{c}` is {} bytes", c.len()))
        };
        if let Some(what) = what {
            return Err(Error::Output {
                path: folder.to_path_buf(),
                reason: format!(
                    "cannot publish: {what}, over PostgreSQL's limit of {NAME_MAX} bytes for a name (it would be cut, and --append would no longer match it); rename it (the dump's column for --customer-attr, the file stem of a --queries file) and run again"
                ),
            });
        }
    }
    Ok(())
}

/// Whether schema `name` exists, and whether evergreen wrote it (its comment).
fn schema_state(tx: &mut Transaction, name: &str) -> Result<Option<bool>> {
    let rows = tx.query(
        "SELECT coalesce(obj_description(oid, 'pg_namespace'), '') FROM pg_namespace WHERE nspname = $1",
        &[&name],
    )?;
    Ok(rows.first().map(|r| r.get::<_, String>(0).starts_with(MARK)))
}

fn connect(target: &Target) -> Result<Client> {
    let mut config = crate::connstr::resolve(&target.url)?;
    config.application_name("evergreen");
    config.connect_timeout(std::time::Duration::from_secs(30));
    config.connect(NoTls).map_err(|e| {
        let m = crate::error::postgres_message(&e);
        if m.ends_with("password missing") {
            failed(target, "the server asks for a password and none was found (not in the connection string, PGPASSWORD, a PGSERVICE entry, PGPASSFILE or ~/.pgpass)")
        } else {
            failed(target, m)
        }
    })
}

/// Publish the output `dir` (a run's folder, or a root: its latest complete partition) to `target`.
pub fn publish(dir: &Path, target: &Target) -> Result<Report> {
    check_target(target)?;
    let started = std::time::Instant::now();
    let (folder, as_of, tables) = read_output(dir)?;
    let prepared: Vec<(String, DataFrame, Vec<Type>)> =
        tables.iter().map(|t| prepared(t, as_of).map(|(df, ty)| (t.name.clone(), df, ty))).collect::<Result<_>>()?;
    check_names(&folder, &prepared)?;
    let mut client = connect(target)?;
    type Loaded = (std::collections::BTreeMap<String, u64>, Vec<String>, Vec<String>);
    let mut load = || -> std::result::Result<Loaded, Error> {
        let mut tx = client.transaction()?;
        let live = target.schema.as_str();
        let mut rows = std::collections::BTreeMap::new();
        let (mut kept, mut dropped) = (Vec::new(), Vec::new());
        let comment = format!("{MARK} (as_of {as_of})");
        if target.append {
            match schema_state(&mut tx, live)? {
                Some(false) => return Err(not_ours(target, live)),
                Some(true) => {}
                None => {
                    tx.batch_execute(&format!("CREATE SCHEMA {}", quote(live)))?;
                }
            }
            tx.batch_execute(&format!("COMMENT ON SCHEMA {} IS '{}'", quote(live), comment.replace('\'', "''")))?;
            for (name, df, types) in &prepared {
                let existing = existing_columns(&mut tx, live, name)?;
                if existing.is_empty() {
                    tx.batch_execute(&format!(
                        "CREATE TABLE {}.{} ({})",
                        quote(live),
                        quote(name),
                        column_list(df, types)
                    ))?;
                } else {
                    if let Some(why) = differs(&existing, df, types) {
                        return Err(failed(
                            target,
                            format!(
                                "--append: table {live}.{name}: {why}; publish without --append to replace the schema"
                            ),
                        ));
                    }
                    tx.execute(&format!("DELETE FROM {}.{} WHERE as_of = $1", quote(live), quote(name)), &[&as_of])?;
                }
                rows.insert(name.clone(), copy_in(&mut tx, live, name, df, types)?);
                crate::error::crash_point("publish-after-table");
            }
        } else {
            let staging = format!("{live}{STAGING_SUFFIX}");
            if schema_state(&mut tx, live)? == Some(false) {
                return Err(not_ours(target, live));
            }
            let outside = dependents(&mut tx, live)?;
            if !outside.is_empty() && !target.drop_dependents {
                // Objects outside the schema read its tables: keep them working by loading into
                // the tables they read, in place (still one transaction), or refuse.
                rows = in_place(&mut tx, target, live, &outside, &prepared)?;
                kept = outside.iter().map(|d| d.object.clone()).collect();
                kept.dedup();
                tx.batch_execute(&format!("COMMENT ON SCHEMA {} IS '{}'", quote(live), comment.replace('\'', "''")))?;
            } else {
                match schema_state(&mut tx, &staging)? {
                    Some(false) => return Err(not_ours(target, &staging)),
                    Some(true) => tx.batch_execute(&format!("DROP SCHEMA {} CASCADE", quote(&staging)))?,
                    None => {}
                }
                tx.batch_execute(&format!("CREATE SCHEMA {}", quote(&staging)))?;
                tx.batch_execute(&format!(
                    "COMMENT ON SCHEMA {} IS '{}'",
                    quote(&staging),
                    comment.replace('\'', "''")
                ))?;
                for (name, df, types) in &prepared {
                    tx.batch_execute(&format!(
                        "CREATE TABLE {}.{} ({})",
                        quote(&staging),
                        quote(name),
                        column_list(df, types)
                    ))?;
                    rows.insert(name.clone(), copy_in(&mut tx, &staging, name, df, types)?);
                    crate::error::crash_point("publish-after-table");
                }
                // At the swap, with the live tables locked (no new view can start reading them),
                // look again: an object that appeared during the load is refused too.
                let tables: Vec<String> = tx
                    .query(
                        "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_class c \
                         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm')",
                        &[&live],
                    )?
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
                if !tables.is_empty() {
                    tx.batch_execute(&format!("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE", tables.join(", ")))?;
                }
                let outside = dependents(&mut tx, live)?;
                if !outside.is_empty() {
                    if !target.drop_dependents {
                        return Err(refuse_dependents(target, live, &outside, "appeared during the load"));
                    }
                    for d in &outside {
                        tracing::warn!("--drop-dependents: dropping {} (it depends on {live}.{})", d.object, d.table);
                    }
                    dropped = outside.iter().map(|d| d.object.clone()).collect();
                    dropped.dedup();
                }
                tx.batch_execute(&format!(
                    "DROP SCHEMA IF EXISTS {live_q} CASCADE; ALTER SCHEMA {} RENAME TO {live_q}",
                    quote(&staging),
                    live_q = quote(live)
                ))?;
            }
        }
        crate::error::crash_point("publish-before-commit");
        tx.commit()?;
        Ok((rows, kept, dropped))
    };
    let (rows, kept_dependents, dropped_dependents) = load().map_err(|e| match e {
        Error::Internal(m) if m.starts_with("publish:") => failed(target, m),
        Error::Postgres(e) => failed(target, crate::error::postgres_message(&e)),
        other => other,
    })?;
    Ok(Report {
        tables_dir: folder.display().to_string(),
        target: crate::connstr::redact(&target.url),
        schema: target.schema.clone(),
        mode: if target.append {
            "append"
        } else if kept_dependents.is_empty() {
            "replace"
        } else {
            "replace in place"
        },
        as_of: as_of.to_string(),
        rows,
        kept_dependents,
        dropped_dependents,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// An object outside schema `S` that depends on a table (or other object) of `S`.
struct Dependent {
    /// The table of `S` it depends on.
    table: String,
    /// What it is, as PostgreSQL describes it: `view public.v`, `function public.f()`.
    object: String,
}

/// The objects outside `schema` that depend on its relations, types or functions (views and
/// materialized views by their rewrite rule, functions with SQL bodies, anything pg_depend
/// records as a normal dependency), sorted.
fn dependents(tx: &mut Transaction, schema: &str) -> Result<Vec<Dependent>> {
    let rows = tx.query(
        "WITH ours AS ( \
           SELECT 'pg_class'::regclass AS classid, c.oid, c.relname::text AS name FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 \
           UNION ALL SELECT 'pg_type'::regclass, t.oid, t.typname::text FROM pg_type t \
             JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = $1 \
           UNION ALL SELECT 'pg_proc'::regclass, p.oid, p.proname::text FROM pg_proc p \
             JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1), \
         deps AS ( \
           SELECT DISTINCT o.name, d.classid, d.objid, d.objsubid FROM pg_depend d \
             JOIN ours o ON d.refclassid = o.classid AND d.refobjid = o.oid WHERE d.deptype = 'n') \
         SELECT DISTINCT deps.name, \
           CASE WHEN deps.classid = 'pg_rewrite'::regclass THEN \
             (CASE v.relkind WHEN 'm' THEN 'materialized view ' ELSE 'view ' END) \
               || quote_ident(vn.nspname) || '.' || quote_ident(v.relname) \
           ELSE pg_describe_object(deps.classid, deps.objid, deps.objsubid) END \
         FROM deps \
           LEFT JOIN pg_rewrite r ON deps.classid = 'pg_rewrite'::regclass AND r.oid = deps.objid \
           LEFT JOIN pg_class v ON v.oid = r.ev_class \
           LEFT JOIN pg_namespace vn ON vn.oid = v.relnamespace \
         WHERE NOT EXISTS (SELECT 1 FROM ours o WHERE (o.classid = deps.classid AND o.oid = deps.objid) \
                                                  OR (deps.classid = 'pg_rewrite'::regclass AND o.oid = r.ev_class)) \
           AND NOT (deps.classid = 'pg_type'::regclass) \
         ORDER BY 1, 2",
        &[&schema],
    )?;
    Ok(rows.iter().map(|r| Dependent { table: r.get(0), object: r.get(1) }).collect())
}

/// Exit 5 naming the objects outside `live` that depend on it, and the way out.
fn refuse_dependents(target: &Target, live: &str, outside: &[Dependent], why: &str) -> Error {
    let named: Vec<String> = outside.iter().map(|d| format!("{} (on {live}.{})", d.object, d.table)).collect();
    failed(
        target,
        format!(
            "objects outside schema {live} depend on it and {why}: {}; they are left alone and nothing was loaded: change or drop them, publish with --append, or pass --drop-dependents to drop them with the schema",
            named.join(", ")
        ),
    )
}

/// Replace the snapshot in `live`'s own tables, keeping the objects outside it that read them:
/// each table something depends on must be in this output with the same columns and types; its
/// rows are deleted and the new ones copied in. Every other table is dropped (never with CASCADE:
/// an object that started depending on it meanwhile makes the drop fail) and created anew. All in
/// the caller's transaction.
fn in_place(
    tx: &mut Transaction,
    target: &Target,
    live: &str,
    outside: &[Dependent],
    prepared: &[(String, DataFrame, Vec<Type>)],
) -> Result<std::collections::BTreeMap<String, u64>> {
    let held: std::collections::BTreeSet<&str> = outside.iter().map(|d| d.table.as_str()).collect();
    for table in &held {
        let on: Vec<Dependent> = outside
            .iter()
            .filter(|d| d.table == *table)
            .map(|d| Dependent { table: d.table.clone(), object: d.object.clone() })
            .collect();
        let Some((_, df, types)) = prepared.iter().find(|(n, _, _)| n == table) else {
            return Err(refuse_dependents(target, live, &on, &format!("this output has no table {table}")));
        };
        let have = existing_columns(tx, live, table)?;
        if let Some(why) = differs(&have, df, types) {
            return Err(refuse_dependents(
                target,
                live,
                &on,
                &format!("its table {table} differs from this output's ({why})"),
            ));
        }
    }
    let existing: Vec<String> = tx
        .query(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY 1",
            &[&live],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    for t in &existing {
        if !held.contains(t.as_str()) {
            tx.batch_execute(&format!("DROP TABLE {}.{}", quote(live), quote(t)))?;
        }
    }
    let mut rows = std::collections::BTreeMap::new();
    for (name, df, types) in prepared {
        if held.contains(name.as_str()) {
            tx.batch_execute(&format!("DELETE FROM {}.{}", quote(live), quote(name)))?;
        } else {
            tx.batch_execute(&format!("CREATE TABLE {}.{} ({})", quote(live), quote(name), column_list(df, types)))?;
        }
        rows.insert(name.clone(), copy_in(tx, live, name, df, types)?);
        crate::error::crash_point("publish-after-table");
    }
    Ok(rows)
}

fn not_ours(target: &Target, schema: &str) -> Error {
    failed(
        target,
        format!("schema `{schema}` exists and evergreen did not write it (no \"{MARK}\" comment); it is left alone: choose another --schema"),
    )
}
