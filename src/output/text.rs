//! A query's result as text on stdout: a table for people (numbers in full with thousands
//! separators, never in scientific notation; long text cut; as many columns as the terminal
//! shows), or CSV, JSON or Markdown for pipes.

use std::fmt::Write as _;

use polars::prelude::*;

use crate::error::{Error, Result};

/// How `query` prints its result (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TextFormat {
    /// Aligned columns for a terminal: numbers in full with thousands separators, text cut at 40
    /// characters, the columns that fit the terminal's width, --limit rows (50 by default).
    Table,
    /// Comma-separated values with a header row, every row, numbers as stored (for pipes).
    Csv,
    /// One JSON array of row objects, every row (for jq and scripts).
    Json,
    /// A GitHub-flavoured Markdown table, every row, numbers as in `table`.
    Markdown,
}

/// Longest text cell in `table` and `markdown` before it is cut.
const MAX_TEXT: usize = 40;

/// The result as text in `format`; `limit` caps the rows (`table` shows 50 when it is `None`),
/// `width` is the terminal's width for `table`.
pub fn render(df: &DataFrame, format: TextFormat, limit: Option<usize>, width: usize) -> Result<String> {
    let shown = match (format, limit) {
        (_, Some(n)) => n.min(df.height()),
        (TextFormat::Table, None) => 50.min(df.height()),
        (_, None) => df.height(),
    };
    let head = df.slice(0, shown);
    match format {
        TextFormat::Table => Ok(table(&head, df.height(), width)),
        TextFormat::Markdown => Ok(markdown(&head)),
        TextFormat::Csv => csv(&head),
        TextFormat::Json => json(&head),
    }
}

/// Whether a column's integers are ids or codes (printed as they are, without separators).
fn is_id_column(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.ends_with("id") || n.ends_with("code") || n.ends_with("year") || n == "rank" || n.ends_with("_order")
}

/// Digits with a comma every three (the integer part of a number's decimal text).
fn group_thousands(digits: &str) -> String {
    let (sign, digits) = digits.strip_prefix('-').map_or(("", digits), |d| ("-", d));
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    format!("{sign}{out}")
}

/// A float in full (Rust's shortest round-trip decimal, never an exponent), at most 6 decimals.
fn plain_float(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    let mut s = x.to_string();
    if let Some(dot) = s.find('.') {
        if s.len() - dot - 1 > 6 {
            s = format!("{x:.6}");
            s = s.trim_end_matches('0').trim_end_matches('.').to_string();
        }
    }
    if s == "-0" {
        s = "0".into();
    }
    s
}

/// One cell for people: numbers in full (grouped unless `id`), text as is, null empty.
fn cell(v: &AnyValue, id: bool) -> String {
    let grouped = |s: String| {
        if id {
            return s;
        }
        match s.split_once('.') {
            Some((int, frac)) => format!("{}.{frac}", group_thousands(int)),
            None => group_thousands(&s),
        }
    };
    match v {
        AnyValue::Null => String::new(),
        AnyValue::Float64(x) => grouped(plain_float(*x)),
        AnyValue::Float32(x) => grouped(plain_float(*x as f64)),
        v if v.is_integer() => grouped(v.to_string()),
        AnyValue::String(s) => s.to_string(),
        AnyValue::StringOwned(s) => s.to_string(),
        other => other.to_string().trim_matches('"').to_string(),
    }
}

/// A float column's cells padded with zeros to the most decimals any of them has (`561,925.00`
/// above `30,754.60`), so the points line up; each cell already has at most 6.
fn same_decimals(values: &mut [String]) {
    let decimals = |v: &str| v.split_once('.').map_or(0, |(_, f)| f.len());
    let most = values.iter().filter(|v| v.chars().any(|c| c.is_ascii_digit())).map(|v| decimals(v)).max().unwrap_or(0);
    for v in values.iter_mut().filter(|v| v.chars().any(|c| c.is_ascii_digit())) {
        let have = decimals(v);
        if have < most {
            if have == 0 {
                v.push('.');
            }
            v.push_str(&"0".repeat(most - have));
        }
    }
}

/// Text cut to `max` characters, with an ellipsis.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.replace(['\n', '\r', '\t'], " ");
    }
    let mut t: String = s.chars().take(max - 1).collect::<String>().replace(['\n', '\r', '\t'], " ");
    t.push('…');
    t
}

/// Each column's cells for people (header first), and whether it is numeric (right-aligned).
fn cells(df: &DataFrame) -> Vec<(Vec<String>, bool)> {
    df.columns()
        .iter()
        .map(|c| {
            let s = c.as_materialized_series();
            let numeric = s.dtype().is_primitive_numeric();
            let id = numeric && s.dtype().is_integer() && is_id_column(s.name());
            let mut out = vec![cut(s.name(), MAX_TEXT)];
            let mut values: Vec<String> = s.iter().map(|v| cell(&v, id)).collect();
            if s.dtype().is_float() {
                same_decimals(&mut values);
            }
            out.extend(values.iter().map(|v| cut(v, MAX_TEXT)));
            (out, numeric)
        })
        .collect()
}

/// Aligned columns that fit `width`, a rule under the header, and a footer saying what was left out.
fn table(df: &DataFrame, total_rows: usize, width: usize) -> String {
    let cols = cells(df);
    let widths: Vec<usize> = cols.iter().map(|(c, _)| c.iter().map(|s| s.chars().count()).max().unwrap_or(0)).collect();
    // As many columns as fit (at least one), two spaces apart.
    let mut used = 0;
    let mut fit = 0;
    for w in &widths {
        let need = if fit == 0 { *w } else { w + 2 };
        if fit > 0 && used + need > width {
            break;
        }
        used += need;
        fit += 1;
    }
    let mut out = String::new();
    let pad = |s: &str, w: usize, right: bool| {
        let n = w.saturating_sub(s.chars().count());
        if right {
            format!("{}{s}", " ".repeat(n))
        } else {
            format!("{s}{}", " ".repeat(n))
        }
    };
    for row in 0..=df.height() {
        let line: Vec<String> = cols[..fit].iter().zip(&widths).map(|((c, num), &w)| pad(&c[row], w, *num)).collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
        if row == 0 {
            let rule: Vec<String> = widths[..fit].iter().map(|&w| "-".repeat(w)).collect();
            let _ = writeln!(out, "{}", rule.join("  "));
        }
    }
    let mut notes = Vec::new();
    if df.height() < total_rows {
        notes.push(format!("{} of {} rows (--limit N shows more)", df.height(), group_thousands(&total_rows.to_string())));
    } else {
        notes.push(format!("{} rows", group_thousands(&total_rows.to_string())));
    }
    if fit < cols.len() {
        let rest: Vec<&str> = df.get_column_names().iter().skip(fit).map(|n| n.as_str()).collect();
        notes.push(format!(
            "{} more columns not shown: {} (select fewer, or --format csv)",
            rest.len(),
            rest.join(", ")
        ));
    }
    // The footer wrapped at the width, between words.
    let footer = format!("({})", notes.join("; "));
    let mut line = String::new();
    for word in footer.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            let _ = writeln!(out, "{line}");
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    let _ = writeln!(out, "{line}");
    out
}

/// A Markdown table: numbers as in `table`, `|` escaped.
fn markdown(df: &DataFrame) -> String {
    let cols = cells(df);
    let mut out = String::new();
    for row in 0..=df.height() {
        let line: Vec<String> = cols.iter().map(|(c, _)| c[row].replace('|', "\\|")).collect();
        let _ = writeln!(out, "| {} |", line.join(" | "));
        if row == 0 {
            let rule: Vec<&str> = cols.iter().map(|(_, num)| if *num { "---:" } else { "---" }).collect();
            let _ = writeln!(out, "| {} |", rule.join(" | "));
        }
    }
    out
}

/// CSV by Polars' writer: every value as stored, nulls empty.
fn csv(df: &DataFrame) -> Result<String> {
    let mut buf = Vec::new();
    let mut df = df.clone();
    CsvWriter::new(&mut buf).include_header(true).finish(&mut df)?;
    String::from_utf8(buf).map_err(|e| Error::Internal(e.to_string()))
}

/// One JSON value of a cell: numbers as numbers (non-finite floats as null), text as strings,
/// dates and times as their ISO text.
fn json_value(v: &AnyValue) -> serde_json::Value {
    use serde_json::Value;
    match v {
        AnyValue::Null => Value::Null,
        AnyValue::Boolean(b) => Value::Bool(*b),
        AnyValue::Float64(x) => serde_json::Number::from_f64(*x).map_or(Value::Null, Value::Number),
        AnyValue::Float32(x) => serde_json::Number::from_f64(*x as f64).map_or(Value::Null, Value::Number),
        AnyValue::Int64(x) => Value::from(*x),
        AnyValue::Int32(x) => Value::from(*x),
        AnyValue::Int16(x) => Value::from(*x),
        AnyValue::Int8(x) => Value::from(*x),
        AnyValue::UInt64(x) => Value::from(*x),
        AnyValue::UInt32(x) => Value::from(*x),
        AnyValue::UInt16(x) => Value::from(*x),
        AnyValue::UInt8(x) => Value::from(*x),
        AnyValue::String(s) => Value::String(s.to_string()),
        AnyValue::StringOwned(s) => Value::String(s.to_string()),
        // Wide integers (sums over partitions) and decimals: exact when they fit, else a float.
        other if other.dtype().is_primitive_numeric() || other.dtype().is_decimal() => {
            if let Some(i) = other.extract::<i64>().filter(|i| other.to_string() == i.to_string()) {
                Value::from(i)
            } else if let Some(u) = other.extract::<u64>().filter(|u| other.to_string() == u.to_string()) {
                Value::from(u)
            } else {
                other.extract::<f64>().and_then(serde_json::Number::from_f64).map_or(Value::Null, Value::Number)
            }
        }
        other => Value::String(other.to_string().trim_matches('"').to_string()),
    }
}

/// A JSON array of objects, one a row, keys in column order.
fn json(df: &DataFrame) -> Result<String> {
    let names: Vec<String> = df.get_column_names().iter().map(|n| n.to_string()).collect();
    let series: Vec<&Series> = df.columns().iter().map(|c| c.as_materialized_series()).collect();
    let mut rows = Vec::with_capacity(df.height());
    for r in 0..df.height() {
        let mut obj = serde_json::Map::with_capacity(names.len());
        for (n, s) in names.iter().zip(&series) {
            obj.insert(n.clone(), json_value(&s.get(r)?));
        }
        rows.push(serde_json::Value::Object(obj));
    }
    serde_json::to_string_pretty(&rows).map(|s| s + "\n").map_err(|e| Error::Internal(e.to_string()))
}

/// The terminal's width (`COLUMNS`, else the tty's, else 200 when stdout is no terminal).
pub fn terminal_width() -> usize {
    if let Some(w) = std::env::var("COLUMNS").ok().and_then(|c| c.parse::<usize>().ok()).filter(|&w| w > 0) {
        return w;
    }
    // SAFETY: TIOCGWINSZ fills a winsize struct owned here; stdout's descriptor is valid.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        if libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) == 0 && ws.ws_col > 0 {
            return ws.ws_col as usize;
        }
    }
    200
}
