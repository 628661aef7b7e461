//! One file's canonical columns: each role's column checked and renamed (the roles' checks in
//! [`super::roles`], the timestamp's in [`super::timestamps`], the filters in [`super::filter`]).

use polars::prelude::*;
use crate::config::{Columns, Discount};
use crate::error::Result;
use crate::facts::Present;
use crate::facts::col_names as c;
use super::{ID_EXPECTED, IdKind, InputFile, Mode, NUM_EXPECTED};
use super::filter::{checked_where, exclude_items};
use super::roles::{Agreed, RoleCheck, check_values, id_expr, id_kind, is_numeric};
use super::timestamps::timestamp_expr;

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
    ts_layout: Option<&str>,
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
        select.push(checked_where(file, super::WHERE_FLAG, lf, schema, keep, w)?.alias(c::KEEP));
    }
    if has.timestamp {
        select.push(timestamp_expr(f, lf, schema, &cols.timestamp.name, (ts_layout, cols.ts_format.is_some()), agreed)?);
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

    // The product groups (issue 34): the first group whose predicate is true on the line.
    if mode == Mode::Customers && !cols.groups.is_empty() {
        let mut chain: Option<Expr> = None;
        for (i, g) in cols.groups.iter().enumerate().rev() {
            let flag = format!("--group {}", g.name);
            let p = super::filter::where_expr(&f.path, &flag, &g.predicate)?;
            let p = checked_where(&f.path, &flag, lf, schema, &p, &g.predicate)?.fill_null(lit(false));
            let rest = chain.take().unwrap_or_else(|| lit(0u8));
            chain = Some(when(p).then(lit(i as u8 + 1)).otherwise(rest));
        }
        // Int64: the type every engine's spill and state part carry.
        select.push(chain.expect("a group").cast(DataType::Int64).alias(c::GROUP));
    }

    for (role, column, bad, expected) in value_checks {
        check_values(f, lf, &RoleCheck { role, column: &column }, bad, expected)?;
    }
    Ok(select)
}
