//! Cells for spreadsheets: formulas neutralised for CSV, dates as Excel serials, one xlsx sheet.

use polars::prelude::*;

use crate::error::{Error, Result};

/// Whether a text cell would be run as a formula by a spreadsheet opening a CSV (OWASP's "CSV
/// injection" rule): it starts with `=`, `+`, `-`, `@`, a tab or a carriage return, and is not
/// simply a number (`-5`, `+1.5e3` read as the numbers they are).
pub fn is_formula(cell: &str) -> bool {
    let starts = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    starts && !cell.parse::<f64>().is_ok_and(|v| v.is_finite())
}

/// `df` with every text cell that [`is_formula`] given a leading `'`, the mark spreadsheets read
/// as "this is text" (`query --out FILE.csv` unless `--keep-formulas`). Other columns are untouched.
pub fn without_formulas(df: &DataFrame) -> PolarsResult<DataFrame> {
    let columns = df
        .columns()
        .iter()
        .map(|c| {
            if c.dtype() != &DataType::String {
                return Ok(c.clone());
            }
            let ca = c.str()?;
            if !ca.iter().flatten().any(is_formula) {
                return Ok(c.clone());
            }
            let safe: StringChunked = ca
                .iter()
                .map(|v| v.map(|t| if is_formula(t) { format!("'{t}") } else { t.to_string() }))
                .collect();
            Ok(safe.with_name(c.name().clone()).into_column())
        })
        .collect::<PolarsResult<Vec<_>>>()?;
    DataFrame::new(df.height(), columns)
}

/// Excel's serial day number of a moment `days` days after 1970-01-01 (fractions are the time of
/// day), or `None` before 1900-01-01, which Excel cannot show as a date (written as text then).
///
/// Excel's 1900 date system counts a 29 February 1900 that never was (serial 60, kept for Lotus
/// 1-2-3): from 1900-03-01 (serial 61) on, serial = days + 25,569; before it, one less, so
/// 1900-01-15 is serial 15 and shows as 1900-01-15.
pub fn excel_serial(days: f64) -> Option<f64> {
    const EPOCH: f64 = 25_569.0;
    let serial = days + EPOCH;
    let serial = if serial < 61.0 { serial - 1.0 } else { serial };
    (serial >= 1.0).then_some(serial)
}

/// Rows an Excel sheet holds, the header included.
pub const XLSX_MAX_ROWS: usize = 1_048_576;

/// A frame as one Excel worksheet (`query --out FILE.xlsx`): a bold header, then one row per row.
/// Integers and floats are numbers (integers beyond 2^53, which Excel would round, and non-finite
/// floats are text), dates and timestamps are Excel dates (`yyyy-mm-dd`, `yyyy-mm-dd hh:mm:ss.000`,
/// UTC), booleans are booleans, nulls are empty cells, anything else is its text.
pub fn xlsx_bytes(df: &DataFrame) -> std::result::Result<Vec<u8>, String> {
    use rust_xlsxwriter::{Format, Workbook};
    if df.height() + 1 > XLSX_MAX_ROWS {
        return Err(format!(
            "{} rows: an Excel sheet holds at most {} (write .parquet or .csv instead)",
            df.height(),
            XLSX_MAX_ROWS - 1
        ));
    }
    let e = |e: rust_xlsxwriter::XlsxError| e.to_string();
    let p = |e: PolarsError| e.to_string();
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let stamp = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss.000");
    const EXACT: i64 = 1 << 53;
    for (j, column) in df.columns().iter().enumerate() {
        let j = u16::try_from(j).map_err(|_| "more columns than an Excel sheet holds".to_string())?;
        ws.write_string_with_format(0, j, column.name().as_str(), &bold).map_err(e)?;
        let s = column.as_materialized_series();
        let row = |i: usize| (i + 1) as u32;
        match s.dtype() {
            dt if dt.is_integer() => {
                for (i, v) in s.cast(&DataType::Int64).map_err(p)?.i64().map_err(p)?.iter().enumerate() {
                    match v {
                        Some(v) if (-EXACT..=EXACT).contains(&v) => ws.write_number(row(i), j, v as f64).map(|_| ()),
                        Some(v) => ws.write_string(row(i), j, v.to_string()).map(|_| ()),
                        None => Ok(()),
                    }
                    .map_err(e)?;
                }
            }
            dt if dt.is_float() => {
                for (i, v) in s.cast(&DataType::Float64).map_err(p)?.f64().map_err(p)?.iter().enumerate() {
                    match v {
                        Some(v) if v.is_finite() => ws.write_number(row(i), j, v).map(|_| ()),
                        Some(v) => ws.write_string(row(i), j, v.to_string()).map(|_| ()),
                        None => Ok(()),
                    }
                    .map_err(e)?;
                }
            }
            DataType::Boolean => {
                for (i, v) in s.bool().map_err(p)?.iter().enumerate() {
                    if let Some(v) = v {
                        ws.write_boolean(row(i), j, v).map_err(e)?;
                    }
                }
            }
            DataType::Date => {
                for (i, v) in s.cast(&DataType::Int32).map_err(p)?.i32().map_err(p)?.iter().enumerate() {
                    if let Some(d) = v {
                        match excel_serial(f64::from(d)) {
                            Some(x) => ws.write_number_with_format(row(i), j, x, &date).map(|_| ()),
                            None => ws.write_string(row(i), j, s.get(i).map_err(p)?.to_string()).map(|_| ()),
                        }
                        .map_err(e)?;
                    }
                }
            }
            DataType::Datetime(unit, _) => {
                let per_day = match unit {
                    TimeUnit::Nanoseconds => 86_400e9,
                    TimeUnit::Microseconds => 86_400e6,
                    TimeUnit::Milliseconds => 86_400e3,
                };
                for (i, v) in s.cast(&DataType::Int64).map_err(p)?.i64().map_err(p)?.iter().enumerate() {
                    if let Some(t) = v {
                        match excel_serial(t as f64 / per_day) {
                            Some(x) => ws.write_number_with_format(row(i), j, x, &stamp).map(|_| ()),
                            None => ws.write_string(row(i), j, s.get(i).map_err(p)?.to_string()).map(|_| ()),
                        }
                        .map_err(e)?;
                    }
                }
            }
            _ => {
                for i in 0..s.len() {
                    let v = s.get(i).map_err(p)?;
                    if !v.is_null() {
                        let text = match v {
                            AnyValue::String(t) => t.to_string(),
                            AnyValue::StringOwned(t) => t.to_string(),
                            other => other.to_string(),
                        };
                        ws.write_string(row(i), j, text).map_err(e)?;
                    }
                }
            }
        }
    }
    wb.save_to_buffer().map_err(e)
}

/// `query --out FILE`: the result as Parquet, CSV (formulas neutralised unless `keep_formulas`) or
/// Excel, by the file's extension; written under a hidden name beside it and renamed over it when
/// complete; never into the output folder `tables` being queried.
pub fn write_result(df: &mut DataFrame, out: &std::path::Path, tables: &std::path::Path, keep_formulas: bool) -> Result<()> {
    let err = |e: &dyn std::fmt::Display| Error::Output {
        path: out.to_path_buf(),
        reason: crate::error::one_line(&e.to_string()),
    };
    let ext = out.extension().map(|e| e.to_string_lossy().to_lowercase()).unwrap_or_default();
    if !matches!(ext.as_str(), "parquet" | "csv" | "xlsx") {
        return Err(Error::Config(format!("--out {}: expected a .parquet, .csv or .xlsx file", out.display())));
    }
    // Never into (or over) the output folder being queried: it holds only what its run wrote.
    super::check_not_input(out, &[tables.display().to_string()], &[], &[])?;
    if std::fs::metadata(out).is_ok_and(|m| m.is_dir()) {
        return Err(err(&"is a folder; expected a file name (nothing was written)"));
    }
    // A hidden name of evergreen's own beside the result, renamed over it when complete.
    let tmp = super::temp_beside(out)?;
    let f = std::fs::File::create(&tmp).map_err(|e| err(&e))?;
    let written = match ext.as_str() {
        "parquet" => super::table_bytes(df)
            .and_then(|b| std::io::Write::write_all(&mut { f }, &b).map_err(PolarsError::from)),
        "xlsx" => xlsx_bytes(df)
            .map_err(|m| PolarsError::ComputeError(m.into()))
            .and_then(|b| std::io::Write::write_all(&mut { f }, &b).map_err(PolarsError::from)),
        // Timestamps as Excel reads them: `2024-01-05 10:00:00.000` (milliseconds, UTC).
        _ => {
            if !keep_formulas {
                *df = without_formulas(df).map_err(|e| err(&e))?;
            }
            CsvWriter::new(f).with_datetime_format(Some("%Y-%m-%d %H:%M:%S%.3f".into())).finish(df)
        }
    };
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(err(&e));
    }
    std::fs::rename(&tmp, out).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(&e)
    })
}
