//! Each role's column checked in each file: present, of a type the role takes, the same kind of
//! id in every file, and every value representable; one-line errors naming file and column.

use super::*;

/// What one role needs to know while checking files.
pub(super) struct RoleCheck<'a> {
    pub role: &'static str,
    pub column: &'a str,
}

impl RoleCheck<'_> {
    pub fn missing(&self, file: &Path, schema: &Schema, expected: &'static str) -> Error {
        let found: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
        Error::MissingColumn {
            file: file.to_path_buf(),
            column: self.column.to_string(),
            role: self.role,
            expected,
            found: found.join(", "),
        }
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

/// What every file's roles are checked against: the config's columns, the roles the dump has,
/// the subcommand, the amount (a column or an expression and the columns it reads), the
/// `--where` predicate and the basket item's column.
pub(super) struct Roles<'a> {
    pub cols: &'a Columns,
    pub has: Present,
    pub mode: Mode,
    pub amount: Expr,
    pub amount_leaves: Vec<String>,
    pub keep: Option<Expr>,
    pub item_name: String,
}

/// The canonical columns of one file: each role's column checked (present, of a type the role
/// takes, the same kind of id as in the files before, every value representable) and renamed.
pub(super) fn canonical_columns(
    f: &InputFile,
    lf: &LazyFrame,
    schema: &Schema,
    r: &Roles,
    agreed: &mut Agreed,
) -> Result<Vec<Expr>> {
    let (cols, has, mode) = (r.cols, r.has, r.mode);
    let file = f.path.as_path();
    let get = |rc: &RoleCheck, expected: &'static str| -> Result<DataType> {
        schema.get(rc.column).cloned().ok_or_else(|| rc.missing(file, schema, expected))
    };
    let mut select: Vec<Expr> = Vec::with_capacity(7);
    let mut value_checks: Vec<(&'static str, String, Expr, &'static str)> = Vec::new();
    let mut id_role = |role: &'static str, column: &str, out: &str, agreed: &mut Agreed| -> Result<Expr> {
        let rc = RoleCheck { role, column };
        let dt = get(&rc, ID_EXPECTED)?;
        let kind = agreed.id(&rc, file, &dt)?;
        let e = col(column);
        if kind == IdKind::WholeFloat {
            // Whole numbers that fit Int64 (|x| < 2^63).
            let out_of_range = e.clone().abs().gt_eq(lit(2f64.powi(63)));
            value_checks.push((
                role,
                column.to_string(),
                e.clone().is_not_null().and(e.clone().neq(e.clone().floor()).or(e.is_nan()).or(out_of_range)),
                "whole numbers below 2^63 (a float id column must hold integers)",
            ));
        } else if dt == DataType::UInt64 {
            value_checks.push((
                role,
                column.to_string(),
                e.gt(lit(i64::MAX as u64)),
                "integer ids up to 9223372036854775807 (the largest signed 64-bit integer)",
            ));
        }
        let target = match agreed.kinds[role].0 {
            IdKind::Str => IdKind::Str,
            _ => kind,
        };
        Ok(id_expr(column, target).alias(out))
    };
    if has.customer {
        select.push(id_role("customer", &cols.customer.name, c::CUSTOMER, agreed)?);
    } else {
        select.push(lit(NULL).cast(DataType::Int64).alias(c::CUSTOMER));
    }
    select.push(id_role("order", &cols.order, c::ORDER, agreed)?);
    if has.product {
        let e = id_role("product", &cols.product.name, c::PRODUCT, agreed)?;
        select.push(exclude_items(e, cols, "product", &cols.product.name, agreed)?);
    }
    if has.item {
        let e = id_role("item", &r.item_name, c::ITEM, agreed)?;
        select.push(exclude_items(e, cols, "item", &r.item_name, agreed)?);
    }
    if let (Some(keep), Some(w)) = (&r.keep, cols.filter.where_sql.as_deref()) {
        select.push(checked_where(file, lf, schema, keep, w)?.alias(c::KEEP));
    }
    if has.timestamp {
        select.push(timestamp_expr(f, lf, schema, &cols.timestamp.name, agreed)?);
    }

    // Amount: a column or an expression over numeric columns; without one, every line is positive.
    if has.amount {
        for leaf in &r.amount_leaves {
            let rc = RoleCheck { role: "amount", column: leaf };
            let dt = get(&rc, NUM_EXPECTED)?;
            if !is_numeric(&dt) {
                return Err(rc.bad(file, NUM_EXPECTED, dt.to_string()));
            }
        }
        select.push(r.amount.clone().cast(DataType::Float64).alias(c::AMOUNT));
    } else {
        select.push(lit(1.0f64).alias(c::AMOUNT));
    }

    for (used, oc, role, out) in
        [(has.cost, &cols.cost, "cost", c::COST), (has.quantity, &cols.quantity, "quantity", c::QUANTITY)]
    {
        if used {
            let rc = RoleCheck { role, column: &oc.name };
            let dt = get(&rc, NUM_EXPECTED)?;
            if !is_numeric(&dt) {
                return Err(rc.bad(file, NUM_EXPECTED, dt.to_string()));
            }
            select.push(col(oc.name.as_str()).cast(DataType::Float64).alias(out));
        }
    }

    // The line's discount: a column, or list price - amount; a null discount is none.
    if let Some(d) = &cols.discount {
        let (role, column) = match d {
            Discount::Column(n) => ("discount", n.as_str()),
            Discount::ListPrice(n) => ("list price", n.as_str()),
        };
        let rc = RoleCheck { role, column };
        let dt = get(&rc, NUM_EXPECTED)?;
        if !is_numeric(&dt) {
            return Err(rc.bad(file, NUM_EXPECTED, dt.to_string()));
        }
        let value = col(column).cast(DataType::Float64);
        let discount = match d {
            Discount::Column(_) => value,
            Discount::ListPrice(_) => value - r.amount.clone().cast(DataType::Float64),
        };
        let finite = discount.clone().is_finite().fill_null(lit(false));
        select.push(when(finite).then(discount).otherwise(lit(0.0)).alias(c::DISCOUNT));
    }

    // Product name (strings) and customer attributes (strings or integers), as read.
    if let Some(name) = &cols.product_name {
        let rc = RoleCheck { role: "product name", column: name };
        let dt = get(&rc, "strings")?;
        if !matches!(id_kind(&dt), Some(IdKind::Str)) {
            return Err(rc.bad(file, "strings", dt.to_string()));
        }
        select.push(col(name.as_str()).cast(DataType::String).alias(c::PRODUCT_NAME));
    }
    if mode == Mode::Customers {
        for (i, name) in cols.customer_attrs.iter().enumerate() {
            let rc = RoleCheck { role: "customer attribute", column: name };
            let dt = get(&rc, "strings or integers")?;
            let target = match id_kind(&dt) {
                Some(IdKind::Str) => DataType::String,
                Some(IdKind::Int) => DataType::Int64,
                _ => return Err(rc.bad(file, "strings or integers", dt.to_string())),
            };
            select.push(col(name.as_str()).cast(target).alias(c::attr_column(i)));
        }
    }

    for (role, column, bad, expected) in value_checks {
        check_values(f, lf, &RoleCheck { role, column: &column }, bad, expected)?;
    }
    Ok(select)
}
