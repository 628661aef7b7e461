//! Each role's column checked in each file: present, of a type the role takes, the same kind of
//! id in every file, and every value representable; one-line errors naming file and column.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use polars::prelude::*;
use crate::error::{one_line, Error, Result};
use super::{ID_EXPECTED, IdKind, InputFile};
use super::files::unreadable;

/// What one role needs to know while checking files.
pub(super) struct RoleCheck<'a> {
    pub role: &'static str,
    pub column: &'a str,
}

impl RoleCheck<'_> {
    pub fn missing(&self, file: &Path, schema: &Schema, expected: &'static str) -> Error {
        let found: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
        let mut listed = found.join(", ");
        if let Some(hint) = missing_hint(self.role, self.column, &found) {
            listed.push_str(&format!(" ({hint})"));
        }
        Error::MissingColumn { file: file.to_path_buf(), column: self.column.to_string(), role: self.role, expected, found: listed }
    }
    pub fn bad(&self, file: &Path, expected: &str, found: impl Into<String>) -> Error {
        Error::BadColumn {
            file: file.to_path_buf(),
            column: self.column.to_string(),
            role: self.role,
            expected: expected.to_string(),
            found: found.into(),
        }
    }
}

/// What a newcomer most likely meant when a role's column is missing: a dump with quantity and
/// price columns but no amount gets the expression to give, else the closest column names.
pub(super) fn missing_hint(role: &str, column: &str, found: &[String]) -> Option<String> {
    let squash = |s: &str| s.chars().filter(|c| c.is_alphanumeric()).collect::<String>().to_lowercase();
    if role == "amount" && column == "amount" {
        let find = |words: &[&str]| found.iter().find(|n| words.iter().any(|w| squash(n).contains(w)));
        if let (Some(q), Some(p)) = (find(&["quantity", "qty"]), find(&["price"])) {
            return Some(format!("no amount column: give the line's money as an expression, e.g. --amount \"{q} * {p}\""));
        }
    }
    let want = squash(column);
    let mut scored: Vec<(usize, &String)> = found
        .iter()
        .map(|n| {
            let have = squash(n);
            let d = if have == want || (!want.is_empty() && (have.contains(&want) || (have.len() >= 4 && want.contains(&have)))) {
                0
            } else {
                edit_distance(&have, &want)
            };
            (d, n)
        })
        .filter(|(d, n)| *d <= 2.max(column.len() / 4) && n.as_str() != column)
        .collect();
    scored.sort();
    let names: Vec<String> = scored.iter().take(3).map(|(_, n)| format!("`{n}`")).collect();
    (!names.is_empty()).then(|| format!("did you mean {}?", names.join(" or ")))
}

/// Levenshtein distance between two short names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

pub(super) fn id_kind(dt: &DataType) -> Option<IdKind> {
    match dt {
        d if d.is_integer() => Some(IdKind::Int),
        DataType::Float32 | DataType::Float64 => Some(IdKind::WholeFloat),
        DataType::String => Some(IdKind::Str),
        DataType::Categorical(_, _) | DataType::Enum(_, _) => Some(IdKind::Str),
        _ => None,
    }
}

pub(super) fn is_numeric(dt: &DataType) -> bool {
    dt.is_primitive_numeric() || matches!(dt, DataType::Decimal(_, _))
}

pub(super) fn ts_ok(dt: &DataType) -> bool {
    matches!(dt, DataType::Datetime(_, _) | DataType::Date | DataType::String)
}

/// The kinds chosen for the id roles, agreed across files.
#[derive(Default)]
pub(super) struct Agreed {
    pub kinds: BTreeMap<&'static str, (IdKind, PathBuf, DataType)>,
    pub ts: Option<(DataType, PathBuf)>,
}

impl Agreed {
    pub fn id(&mut self, rc: &RoleCheck, file: &Path, dt: &DataType) -> Result<IdKind> {
        let kind = id_kind(dt).ok_or_else(|| rc.bad(file, ID_EXPECTED, dt.to_string()))?;
        // Ints and whole floats agree with each other (both become Int64); strings agree only with strings.
        let class = |k: IdKind| k == IdKind::Str;
        match self.kinds.get(rc.role) {
            Some((k0, f0, dt0)) if class(*k0) != class(kind) => Err(Error::SchemaMismatch {
                file: file.to_path_buf(),
                other_file: f0.clone(),
                column: rc.column.to_string(),
                role: rc.role,
                expected: dt0.to_string(),
                found: dt.to_string(),
            }),
            Some(_) => Ok(kind),
            None => {
                self.kinds.insert(rc.role, (kind, file.to_path_buf(), dt.clone()));
                Ok(kind)
            }
        }
    }
}

/// Expression turning an id column into its canonical type (Int64 or String). An empty or
/// blank string id is no id: it reads as null (a guest line for customers, a rejected line for orders).
pub(super) fn id_expr(name: &str, kind: IdKind) -> Expr {
    match kind {
        IdKind::Int | IdKind::WholeFloat => col(name).strict_cast(DataType::Int64),
        IdKind::Str => {
            let s = col(name).cast(DataType::String);
            let blank = s.clone().str().strip_chars(lit(NULL)).str().len_bytes().eq(lit(0u32));
            when(blank).then(lit(NULL).cast(DataType::String)).otherwise(s)
        }
    }
}

/// The first value of `column` on a row where `bad` holds, if any: the "found" of a value error.
pub(super) fn first_bad_value(f: &InputFile, lf: &LazyFrame, column: &str, bad: Expr) -> Result<Option<String>> {
    let df = lf
        .clone()
        .filter(bad)
        .select([col(column)])
        .limit(1)
        .collect()
        .map_err(|e| unreadable(&f.path, one_line(&e.to_string())))?;
    if df.height() == 0 {
        return Ok(None);
    }
    Ok(Some(df.column(column)?.get(0).map(|v| v.to_string()).unwrap_or_default()))
}

/// No value of the column may make `bad` true: a float id column (pandas writes integer ids with
/// nulls as floats) must hold whole numbers, an unsigned id must fit Int64, a timestamp its range.
pub(super) fn check_values(f: &InputFile, lf: &LazyFrame, rc: &RoleCheck, bad: Expr, expected: &str) -> Result<()> {
    match first_bad_value(f, lf, rc.column, bad)? {
        Some(v) => Err(rc.bad(&f.path, expected, format!("the value {v}"))),
        None => Ok(()),
    }
}
