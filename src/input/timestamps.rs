//! The timestamp role: a timestamp, a date or a string, to naive UTC microseconds, with its range
//! checked and the first unparseable value named. Strings are ISO-8601, or in the layout given
//! with `--ts-format`, or else in the one local layout (day-first or month-first) that reads every
//! value; when both read every value the column is refused, never guessed.

use polars::prelude::*;
use crate::error::{Error, Result};
use crate::facts::col_names as c;
use super::{InputFile, TS_EXPECTED};
use super::roles::{Agreed, RoleCheck, first_bad_value, ts_ok};
use crate::kernels::iso_time::iso_micros;

/// ISO-8601 layouts accepted in string timestamps, tried in order.
pub(super) const NAIVE_FORMATS: [&str; 10] = [
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S%.fZ",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%d",
    "%Y%m%d",
];
pub(super) const ZONED_FORMATS: [&str; 2] = ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%z"];

/// Date layouts tried when string timestamps are not ISO-8601 and no `--ts-format` is given: day
/// first and month first, with `/`, `.` or `-`, each with no time, hours and minutes, or seconds
/// too. `true` marks the day-first ones.
fn local_layouts() -> Vec<(bool, String)> {
    let mut out = Vec::with_capacity(18);
    for day_first in [true, false] {
        for sep in ['/', '.', '-'] {
            let date = if day_first { format!("%d{sep}%m{sep}%Y") } else { format!("%m{sep}%d{sep}%Y") };
            for time in ["", " %H:%M", " %H:%M:%S"] {
                out.push((day_first, format!("{date}{time}")));
            }
        }
    }
    out
}

/// Microseconds (UTC) of string timestamps in one strftime layout: a layout without a time of day
/// reads dates (midnight), one with an offset (%z) keeps the instant; unparseable values are null.
fn layout_micros(name: &str, fmt: &str) -> Expr {
    let opts = StrptimeOptions { format: Some(fmt.into()), strict: false, exact: true, cache: true };
    let s = col(name).str().strip_chars(lit(LiteralValue::untyped_null()));
    let has = |items: &[&str]| items.iter().any(|i| fmt.contains(i));
    if !has(&["%H", "%I", "%k", "%l", "%M", "%S", "%T", "%R", "%r", "%c", "%s", "%+"]) {
        return s.str().to_date(opts).dt().timestamp(TimeUnit::Microseconds);
    }
    let tz = has(&["%z", "%:z", "%#z", "%+"]).then_some(TimeZone::UTC);
    s.str().to_datetime(Some(TimeUnit::Microseconds), tz, opts, lit("raise")).dt().timestamp(TimeUnit::Microseconds)
}

/// Microseconds since the epoch (UTC) of a timestamp column of any accepted type, as Int64.
/// Zoned timestamps keep their instant; naive ones are read as UTC. Unparseable strings give null.
/// Strings are read by the ISO kernel ([`iso_micros`]); a batch of the column (Polars hands the
/// expression the column a batch at a time) with a value the kernel does not read is read by the
/// layouts ([`strptime_micros`]) instead, which give the same microseconds for every value the
/// kernel reads, so how the column is cut into batches never changes a value.
pub(super) fn ts_micros(name: &str, dt: &DataType) -> Expr {
    match dt {
        DataType::Datetime(_, _) | DataType::Date => col(name).dt().timestamp(TimeUnit::Microseconds),
        _ => {
            let layouts = strptime_micros(name);
            col(name).map(
                move |c| iso_or_layouts(c, &layouts),
                |_, f| Ok(Field::new(f.name().clone(), DataType::Int64)),
            )
        }
    }
}

/// A batch of a string column in microseconds by the ISO kernel; when some value is not one of
/// its shapes, the whole batch by `layouts` (the old reading, so every value reads as it always did).
fn iso_or_layouts(c: Column, layouts: &Expr) -> PolarsResult<Column> {
    let strings = c.cast(&DataType::String)?;
    let ca = strings.str()?;
    let mut out = Vec::with_capacity(ca.len());
    for v in ca.iter() {
        match v {
            None => out.push(None),
            Some(s) => match iso_micros(s.as_bytes()) {
                Some(us) => out.push(Some(us)),
                None => {
                    let df = DataFrame::new_infer_height(vec![c.clone()])?;
                    return Ok(df.lazy().select([layouts.clone()]).collect()?.columns()[0].clone());
                }
            },
        }
    }
    Ok(Int64Chunked::from_iter_options(c.name().clone(), out.into_iter()).into_column())
}

/// Microseconds (UTC) of string timestamps read by the ISO-8601 layouts ([`NAIVE_FORMATS`], then
/// [`ZONED_FORMATS`]), the first that reads a value winning; unparseable values give null.
pub fn strptime_micros(name: &str) -> Expr {
    let parse = |fmt: &str, tz: Option<TimeZone>| {
        let opts = StrptimeOptions { format: Some(fmt.into()), strict: false, exact: true, cache: true };
        let s = col(name).str().strip_chars(lit(LiteralValue::untyped_null()));
        if fmt == "%Y-%m-%d" || fmt == "%Y%m%d" {
            s.str().to_date(opts).dt().timestamp(TimeUnit::Microseconds)
        } else {
            s.str().to_datetime(Some(TimeUnit::Microseconds), tz, opts, lit("raise")).dt().timestamp(TimeUnit::Microseconds)
        }
    };
    let mut alts: Vec<Expr> = NAIVE_FORMATS.iter().map(|f| parse(f, None)).collect();
    alts.extend(ZONED_FORMATS.iter().map(|f| parse(f, Some(TimeZone::UTC))));
    coalesce(&alts)
}

/// The canonical `ts` expression for one file, after checking the column's type (and agreeing
/// with the other files) and, for strings, that every value parses.
pub(super) fn timestamp_expr(
    f: &InputFile,
    lf: &LazyFrame,
    schema: &Schema,
    column: &str,
    layout: (Option<&str>, bool),
    agreed: &mut Agreed,
) -> Result<Expr> {
    let file = f.path.as_path();
    let ts_rc = RoleCheck { role: "timestamp", column };
    let ts_dt = schema.get(column).cloned().ok_or_else(|| ts_rc.missing(file, schema, TS_EXPECTED))?;
    if !ts_ok(&ts_dt) {
        return Err(ts_rc.bad(file, TS_EXPECTED, ts_dt.to_string()));
    }
    match &agreed.ts {
        Some((dt0, f0)) if std::mem::discriminant(dt0) != std::mem::discriminant(&ts_dt) => {
            return Err(Error::SchemaMismatch {
                file: file.to_path_buf(),
                other_file: f0.clone(),
                column: column.to_string(),
                role: "timestamp",
                expected: dt0.to_string(),
                found: ts_dt.to_string(),
            })
        }
        Some(_) => {}
        None => agreed.ts = Some((ts_dt.clone(), file.to_path_buf())),
    }
    let ts = if ts_dt == DataType::String {
        string_timestamps(f, lf, column, layout.0, layout.1)?
    } else {
        ts_micros(column, &ts_dt)
    };
    if !matches!(ts_dt, DataType::String | DataType::Datetime(TimeUnit::Microseconds, _)) {
        // Microseconds are checked on the lines read (Dump::collect), without a second decode;
        // other units overflow while converting, so they are checked first.
        check_ts_range(f, lf, column, &ts_dt)?;
    }
    Ok(ts.cast(DataType::Datetime(TimeUnit::Microseconds, None)).alias(c::TS))
}

/// Every timestamp of `column` must lie in the years 0001..=9999 ([`physical_range`]); the first
/// that does not is named with its raw number (it cannot be formatted as a date).
pub(super) fn check_ts_range(f: &InputFile, lf: &LazyFrame, column: &str, ts_dt: &DataType) -> Result<()> {
    let Some((lo, hi)) = physical_range(ts_dt) else { return Ok(()) };
    let raw = col(column).cast(DataType::Int64);
    let bad = raw.clone().lt(lit(lo)).or(raw.clone().gt(lit(hi)));
    let with_raw = lf.clone().with_column(raw.alias("__raw_ts"));
    match first_bad_value(f, &with_raw, "__raw_ts", bad)? {
        Some(v) => {
            let unit = if *ts_dt == DataType::Date { "days" } else { "in its unit" };
            Err(RoleCheck { role: "timestamp", column }.bad(
                &f.path,
                "timestamps between 0001-01-01 and 9999-12-31",
                format!("the value {v} ({unit} since 1970-01-01)"),
            ))
        }
        None => Ok(()),
    }
}

/// The physical values (in the type's own unit) of the years 0001..=9999, which every timestamp
/// must lie in: beyond them, converting to microseconds would overflow. `None`: every value fits.
pub(super) fn physical_range(dt: &DataType) -> Option<(i64, i64)> {
    const MIN_US: i64 = -62_135_596_800_000_000; // 0001-01-01T00:00:00
    const MAX_US: i64 = 253_402_300_799_999_999; // 9999-12-31T23:59:59.999999
    match dt {
        DataType::Datetime(TimeUnit::Milliseconds, _) => Some((MIN_US / 1000, MAX_US / 1000)),
        DataType::Datetime(TimeUnit::Microseconds, _) => Some((MIN_US, MAX_US)),
        DataType::Datetime(TimeUnit::Nanoseconds, _) => None,
        DataType::Date => Some((MIN_US / 86_400_000_000, MAX_US / 86_400_000_000)),
        _ => None,
    }
}

/// The first microsecond of the year 1000: a local layout whose values read earlier than this
/// read a two-digit year as a four-digit one (`1/2/10` as the year 10), so it does not fit.
const YEAR_1000_US: i64 = -30_610_224_000_000_000;

/// The layout each file's string timestamps are read in when no `--ts-format` is given: `None`
/// (ISO-8601) for a file whose every value is ISO, else the one local layout ([`local_layouts`])
/// that reads every value of every such file of the dump, decided once for the dump (a file
/// whose dates all fit both orders is read as its neighbours are). Day-first and month-first
/// layouts that both read every value are refused (exit 4): the dates would be a guess.
/// `files` holds each file with its scan and whether its timestamp column holds strings.
pub(super) fn dump_layouts(files: &[(&InputFile, &LazyFrame, bool)], column: &str) -> Result<Vec<Option<String>>> {
    let unparsed = |e: Expr| col(column).is_not_null().and(e.is_null());
    let layouts = local_layouts();
    // The files that are not all ISO, with their first non-ISO value.
    let mut local: Vec<(usize, String)> = Vec::new();
    let mut fits = vec![true; layouts.len()];
    for (k, (f, lf, strings)) in files.iter().enumerate() {
        if !strings {
            continue;
        }
        let Some(first_bad) = first_bad_value(f, lf, column, unparsed(ts_micros(column, &DataType::String)))? else {
            continue;
        };
        // Every local layout's unfitting values, counted in one pass over the column.
        let counts = (*lf)
            .clone()
            .select(
                layouts
                    .iter()
                    .enumerate()
                    .map(|(i, (_, fmt))| {
                        let e = layout_micros(column, fmt);
                        col(column)
                            .is_not_null()
                            .and(e.clone().is_null().or(e.lt(lit(YEAR_1000_US))))
                            .sum()
                            .cast(DataType::UInt64)
                            .alias(format!("l{i}"))
                    })
                    .collect::<Vec<_>>(),
            )
            .collect()
            .map_err(|e| super::files::unreadable(&f.path, crate::error::one_line(&e.to_string())))?;
        for (i, fit) in fits.iter_mut().enumerate() {
            *fit &= counts.column(&format!("l{i}")).ok().and_then(|c| c.u64().ok()?.get(0)) == Some(0);
        }
        local.push((k, first_bad));
    }
    let Some((k0, first_bad)) = local.first().cloned() else { return Ok(vec![None; files.len()]) };
    let (f0, rc) = (files[k0].0, RoleCheck { role: "timestamp", column });
    let fitting: Vec<&(bool, String)> = layouts.iter().zip(&fits).filter(|(_, fit)| **fit).map(|(l, _)| l).collect();
    let day_first = fitting.iter().find(|(d, _)| *d);
    let month_first = fitting.iter().find(|(d, _)| !*d);
    let layout = match (day_first, month_first) {
        (Some((_, d)), Some((_, m))) => {
            return Err(rc.bad(
                &f0.path,
                "timestamps in one layout",
                format!(
                    "values such as {first_bad} that read both day-first ({d}) and month-first ({m}); say which with --ts-format, e.g. --ts-format '{m}'"
                ),
            ))
        }
        (Some((_, fmt)), None) | (None, Some((_, fmt))) => fmt.clone(),
        (None, None) => {
            return Err(rc.bad(
                &f0.path,
                "ISO-8601 timestamps such as 2024-03-01T12:30:00 (other layouts: --ts-format, e.g. --ts-format '%d/%m/%Y %H:%M')",
                format!("the value {first_bad}"),
            ))
        }
    };
    tracing::info!("timestamps of `{column}` read as {layout} (the one layout that reads every value; --ts-format sets it)");
    let mut out = vec![None; files.len()];
    for (k, _) in local {
        out[k] = Some(layout.clone());
    }
    Ok(out)
}

/// The expression reading a string timestamp column: in `layout` when given (`--ts-format`, every
/// value of which must parse, or the local layout [`dump_layouts`] found), else ISO-8601 (whose
/// values [`dump_layouts`] checked).
fn string_timestamps(f: &InputFile, lf: &LazyFrame, column: &str, layout: Option<&str>, given: bool) -> Result<Expr> {
    let Some(fmt) = layout else { return Ok(ts_micros(column, &DataType::String)) };
    let e = layout_micros(column, fmt);
    if given {
        let unparsed = col(column).is_not_null().and(e.clone().is_null());
        if let Some(v) = first_bad_value(f, lf, column, unparsed)? {
            let rc = RoleCheck { role: "timestamp", column };
            return Err(rc.bad(&f.path, &format!("timestamps in the layout {fmt} (--ts-format)"), format!("the value {v}")));
        }
    }
    Ok(e)
}
