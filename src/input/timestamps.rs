//! The timestamp role: a timestamp, a date or an ISO-8601 string, to naive UTC microseconds, with
//! its range checked and the first unparseable value named.

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
pub(super) fn timestamp_expr(f: &InputFile, lf: &LazyFrame, schema: &Schema, column: &str, agreed: &mut Agreed) -> Result<Expr> {
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
    let ts = ts_micros(column, &ts_dt);
    if ts_dt == DataType::String {
        check_timestamps(f, lf, column, ts.clone())?;
    } else if !matches!(ts_dt, DataType::Datetime(TimeUnit::Microseconds, _)) {
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

/// String timestamps must all parse; the first that does not is named in the error.
pub(super) fn check_timestamps(f: &InputFile, lf: &LazyFrame, column: &str, parsed: Expr) -> Result<()> {
    let unparsed = col(column).is_not_null().and(parsed.is_null());
    match first_bad_value(f, lf, column, unparsed)? {
        Some(v) => {
            let rc = RoleCheck { role: "timestamp", column };
            Err(rc.bad(&f.path, "ISO-8601 timestamps such as 2024-03-01T12:30:00", format!("the value {v}")))
        }
        None => Ok(()),
    }
}
