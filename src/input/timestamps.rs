//! The timestamp role: a timestamp, a date or a string, to naive UTC microseconds, with its range
//! checked and the first unparseable value named. Strings are ISO-8601, or in the layout given
//! with `--ts-format`, or else in the one local layout (day-first or month-first) that reads every
//! value; when both read every value the column is refused, never guessed.

use polars::prelude::*;
use crate::error::{Error, Result};
use crate::facts::col_names as c;
use super::{InputFile, TS_EXPECTED};
use super::roles::{Agreed, RoleCheck, first_bad_value, ts_ok};

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
pub(super) fn ts_micros(name: &str, dt: &DataType) -> Expr {
    let e = col(name);
    match dt {
        DataType::Datetime(_, _) | DataType::Date => e.dt().timestamp(TimeUnit::Microseconds),
        _ => {
            let parse = |fmt: &str, tz: Option<TimeZone>| {
                let opts = StrptimeOptions { format: Some(fmt.into()), strict: false, exact: true, cache: true };
                let s = col(name).str().strip_chars(lit(LiteralValue::untyped_null()));
                if fmt == "%Y-%m-%d" || fmt == "%Y%m%d" {
                    s.str().to_date(opts).dt().timestamp(TimeUnit::Microseconds)
                } else {
                    s.str()
                        .to_datetime(Some(TimeUnit::Microseconds), tz, opts, lit("raise"))
                        .dt()
                        .timestamp(TimeUnit::Microseconds)
                }
            };
            let mut alts: Vec<Expr> = NAIVE_FORMATS.iter().map(|f| parse(f, None)).collect();
            alts.extend(ZONED_FORMATS.iter().map(|f| parse(f, Some(TimeZone::UTC))));
            coalesce(&alts)
        }
    }
}

/// The canonical `ts` expression for one file, after checking the column's type (and agreeing
/// with the other files) and, for strings, that every value parses.
pub(super) fn timestamp_expr(
    f: &InputFile,
    lf: &LazyFrame,
    schema: &Schema,
    column: &str,
    layout: Option<&str>,
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
        string_timestamps(f, lf, column, layout, agreed)?
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

/// The expression reading a string timestamp column, every value of which must parse: in the
/// `--ts-format` layout when given; else ISO-8601; else the local layout that an earlier file of
/// the dump was read in, or the one ([`local_layouts`]) that reads every value. Day-first and
/// month-first layouts that both read every value are refused (exit 4): the dates would be a guess.
fn string_timestamps(f: &InputFile, lf: &LazyFrame, column: &str, layout: Option<&str>, agreed: &mut Agreed) -> Result<Expr> {
    let rc = RoleCheck { role: "timestamp", column };
    let unparsed = |e: Expr| col(column).is_not_null().and(e.is_null());
    if let Some(fmt) = layout {
        let e = layout_micros(column, fmt);
        return match first_bad_value(f, lf, column, unparsed(e.clone()))? {
            Some(v) => Err(rc.bad(&f.path, &format!("timestamps in the layout {fmt} (--ts-format)"), format!("the value {v}"))),
            None => Ok(e),
        };
    }
    let iso = ts_micros(column, &DataType::String);
    let Some(first_bad) = first_bad_value(f, lf, column, unparsed(iso.clone()))? else { return Ok(iso) };
    if let Some(fmt) = agreed.ts_layout.clone() {
        let e = layout_micros(column, &fmt);
        if first_bad_value(f, lf, column, unparsed(e.clone()))?.is_none() {
            return Ok(e);
        }
    }
    // Every local layout's unparsed values, counted in one pass over the column.
    let layouts = local_layouts();
    let counts = lf
        .clone()
        .select(
            layouts
                .iter()
                .enumerate()
                .map(|(i, (_, fmt))| unparsed(layout_micros(column, fmt)).sum().cast(DataType::UInt64).alias(format!("l{i}")))
                .collect::<Vec<_>>(),
        )
        .collect()
        .map_err(|e| super::files::unreadable(&f.path, crate::error::one_line(&e.to_string())))?;
    let fits: Vec<&(bool, String)> = layouts
        .iter()
        .enumerate()
        .filter(|(i, _)| counts.column(&format!("l{i}")).ok().and_then(|c| c.u64().ok()?.get(0)) == Some(0))
        .map(|(_, l)| l)
        .collect();
    let day_first = fits.iter().find(|(d, _)| *d);
    let month_first = fits.iter().find(|(d, _)| !*d);
    match (day_first, month_first) {
        (Some((_, d)), Some((_, m))) => Err(rc.bad(
            &f.path,
            "timestamps in one layout",
            format!(
                "values such as {first_bad} that read both day-first ({d}) and month-first ({m}); say which with --ts-format, e.g. --ts-format '{m}'"
            ),
        )),
        (Some((_, fmt)), None) | (None, Some((_, fmt))) => {
            tracing::info!(
                "{}: timestamps of `{column}` read as {fmt} (the one layout that reads every value; --ts-format sets it)",
                f.path.display()
            );
            agreed.ts_layout = Some(fmt.clone());
            Ok(layout_micros(column, fmt))
        }
        (None, None) => Err(rc.bad(
            &f.path,
            "ISO-8601 timestamps such as 2024-03-01T12:30:00 (other layouts: --ts-format, e.g. --ts-format '%d/%m/%Y %H:%M')",
            format!("the value {first_bad}"),
        )),
    }
}
