//! Reading table rows into the charts' JSON rows: cells, columns, groups.

use polars::prelude::*;
use serde_json::{Map, Value};

use crate::error::Result;

/// A JSON value of one cell (dates as `YYYY-MM-DD`).
pub(crate) fn cell(v: AnyValue) -> Value {
    match v {
        AnyValue::Null => Value::Null,
        AnyValue::Boolean(b) => b.into(),
        AnyValue::Int8(x) => x.into(),
        AnyValue::Int16(x) => x.into(),
        AnyValue::Int32(x) => x.into(),
        AnyValue::Int64(x) => x.into(),
        AnyValue::UInt8(x) => x.into(),
        AnyValue::UInt16(x) => x.into(),
        AnyValue::UInt32(x) => x.into(),
        AnyValue::UInt64(x) => x.into(),
        AnyValue::Float32(x) => f64::from(x).into(),
        AnyValue::Float64(x) => {
            if x.is_finite() {
                x.into()
            } else {
                Value::Null
            }
        }
        AnyValue::String(s) => s.into(),
        AnyValue::StringOwned(s) => s.to_string().into(),
        AnyValue::Date(d) => {
            let date = chrono::NaiveDate::from_num_days_from_ce_opt(d + 719_163);
            date.map(|d| d.to_string()).into()
        }
        other => other.to_string().into(),
    }
}

/// The frame's rows as JSON objects.
pub(crate) fn rows(df: &DataFrame) -> Vec<Map<String, Value>> {
    let cols = df.columns();
    (0..df.height())
        .map(|i| cols.iter().map(|c| (c.name().to_string(), c.get(i).map(cell).unwrap_or(Value::Null))).collect())
        .collect()
}

pub(crate) fn num(row: &Map<String, Value>, key: &str) -> f64 {
    row.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN)
}

pub(crate) fn text(row: &Map<String, Value>, key: &str) -> String {
    match row.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "–".to_string(),
        Some(v) => v.to_string(),
    }
}

/// Per group: rows, the exact sum of the values rounded to minor units, their min and max, and
/// their plain sum (for means). Grouping a held column by a handful of small keys is one pass over
/// the arrays: no hash table of Polars' group-by needed for 10 or 25 groups.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Group {
    pub n: i64,
    pub minor: i128,
    pub min: f64,
    pub max: f64,
    pub sum: f64,
}

pub(crate) fn groups<K: Ord + Copy + std::hash::Hash>(
    keys: impl Iterator<Item = Option<K>>,
    values: impl Iterator<Item = Option<f64>>,
    decimals: i32,
) -> std::collections::BTreeMap<K, Group> {
    let scale = 10f64.powi(decimals);
    let mut out: hashbrown::HashMap<K, Group> = hashbrown::HashMap::new();
    for (k, v) in keys.zip(values) {
        let (Some(k), Some(v)) = (k, v) else { continue };
        let g = out.entry(k).or_insert(Group { n: 0, minor: 0, min: f64::INFINITY, max: f64::NEG_INFINITY, sum: 0.0 });
        g.n += 1;
        g.minor += i128::from((v * scale).round() as i64);
        g.min = g.min.min(v);
        g.max = g.max.max(v);
        g.sum += v;
    }
    out.into_iter().collect()
}

/// A held column as integers, or as floats.
pub(crate) fn int_col(df: &DataFrame, name: &str) -> Result<Int64Chunked> {
    Ok(df.column(name)?.cast(&DataType::Int64)?.i64()?.clone())
}

pub(crate) fn float_col(df: &DataFrame, name: &str) -> Result<Float64Chunked> {
    Ok(df.column(name)?.cast(&DataType::Float64)?.f64()?.clone())
}

/// A column's values without a copy, chunk by chunk: the values slice, with a validity check only
/// in chunks that have nulls.
pub(crate) fn values<T: PolarsNumericType>(ca: &ChunkedArray<T>) -> impl Iterator<Item = Option<T::Native>> + '_ {
    ca.downcast_iter().flat_map(|a| {
        let validity = a.validity().filter(|v| v.unset_bits() > 0);
        a.values().iter().enumerate().map(move |(i, v)| validity.is_none_or(|b| b.get_bit(i)).then_some(*v))
    })
}

pub(crate) fn obj(pairs: Vec<(&str, Value)>) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}
