//! The line filters: `--where` (SQL over the dump's own columns) and `--exclude-items`.

use std::path::Path;
use polars::prelude::*;
use crate::config::Columns;
use crate::error::{one_line, Error, Result};
use crate::facts::col_names as c;
use super::IdKind;
use super::roles::Agreed;

/// Rule "line filter": the `--where` predicate, parsed as SQL (Polars' dialect, the same syntax
/// as the amount expression). Unparseable: exit 4 naming the expression.
pub(super) fn where_expr(file: &Path, flag: &str, w: &str) -> Result<Expr> {
    polars::sql::sql_expr(w).map_err(|e| Error::BadFilter {
        file: file.to_path_buf(),
        flag: flag.to_string(),
        expr: w.to_string(),
        reason: one_line(&e.to_string()),
    })
}

/// The predicate checked against one file: every column it names exists, it evaluates, and it is
/// boolean (else exit 4 naming the file and the expression).
pub(super) fn checked_where(file: &Path, flag: &str, lf: &LazyFrame, schema: &Schema, keep: &Expr, w: &str) -> Result<Expr> {
    let bad = |reason: String| Error::BadFilter { file: file.to_path_buf(), flag: flag.to_string(), expr: w.to_string(), reason };
    for name in keep.clone().meta().root_names() {
        if !schema.contains(name.as_str()) {
            return Err(bad(format!("no column `{name}` in this file")));
        }
    }
    let dt = lf
        .clone()
        .select([keep.clone().alias(c::KEEP)])
        .collect_schema()
        .map_err(|e| bad(one_line(&e.to_string())))?
        .get(c::KEEP)
        .cloned()
        .unwrap_or(DataType::Null);
    match dt {
        DataType::Boolean => Ok(keep.clone()),
        // A predicate that is null for every line (`NULL`) keeps none.
        DataType::Null => Ok(keep.clone().cast(DataType::Boolean)),
        other => Err(bad(format!("not a true/false condition (it gives {other})"))),
    }
}

/// `--exclude-items`: an id of the list reads as no product (or item) on its lines. The ids are
/// matched as the column is read (integers for an integer column: a non-integer id is exit 4).
pub(super) fn exclude_items(e: Expr, cols: &Columns, role: &'static str, column: &str, agreed: &Agreed) -> Result<Expr> {
    let Some(ex) = &cols.filter.exclude_items else { return Ok(e) };
    let name = e.clone().meta().output_name().map(|n| n.to_string()).unwrap_or_default();
    let list = match agreed.kinds.get(role).map(|k| k.0) {
        Some(IdKind::Str) | None => Series::new("ids".into(), &ex.ids),
        Some(_) => {
            let mut v = Vec::with_capacity(ex.ids.len());
            for id in &ex.ids {
                v.push(id.parse::<i64>().map_err(|_| Error::BadExcludedItem {
                    file: ex.file.clone(),
                    id: id.clone(),
                    role,
                    column: column.to_string(),
                    expected: "an integer column",
                })?);
            }
            Series::new("ids".into(), v)
        }
    };
    let listed = e.clone().is_in(lit(list).implode(true), false).fill_null(lit(false));
    Ok(when(listed).then(lit(NULL)).otherwise(e).alias(name))
}
