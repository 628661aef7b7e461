//! The last columns of `customers`, from other families' results and the engines' lookups:
//! `p_alive`, `p_purchase_90` and `clv` from the clv table, `favourite_product_name`, the `--customer-attr`
//! columns. (The segment and lifecycle columns are filled by the analysts' queries, in SQL.)

use polars::prelude::*;

use crate::error::{Error, Result};
use crate::facts::col_names as c;

/// What finishes `customers` beyond its own facts; each part is optional.
#[derive(Default, Clone, Copy)]
pub struct Extra<'a> {
    /// The clv table (`customer_id`, `p_alive`, `p_purchase_90`, `clv`, ...), with `--clv`.
    pub clv: Option<&'a DataFrame>,
    /// Product names (`product_id`, `name`), with `--product-name-col`.
    pub product_names: Option<&'a DataFrame>,
    /// `customer_id` and one column per `--customer-attr`.
    pub attributes: Option<&'a DataFrame>,
}

/// `customers` finished: the CLV columns (and the lifecycle_stage placeholder), then the favourite
/// product's name and the attributes. Rows stay in their order.
pub fn finish(customers: &DataFrame, extra: Extra) -> Result<DataFrame> {
    let mut out = match extra.clv {
        Some(clv) => with_clv_columns(customers, clv)?,
        None => customers.clone(),
    };
    if extra.product_names.is_some() || extra.attributes.is_some() {
        out = with_attributes(&out, extra.product_names, extra.attributes)?;
    }
    Ok(out)
}

/// The customers table with p_alive, p_purchase_90 and clv from the clv table, and a lifecycle_stage placeholder
/// that the lifecycle query fills; rows stay in their order.
fn with_clv_columns(customers: &DataFrame, clv_table: &DataFrame) -> Result<DataFrame> {
    let mut order: Vec<Expr> = customers.get_column_names().iter().map(|n| col(n.as_str())).collect();
    order.extend([col("p_alive"), col("p_purchase_90"), col("clv"), col("lifecycle_stage")]);
    let right = clv_table.clone().lazy().select([col(c::CUSTOMER), col("p_alive"), col("p_purchase_90"), col("clv")]);
    Ok(customers
        .clone()
        .lazy()
        .join(right, [col(c::CUSTOMER)], [col(c::CUSTOMER)], JoinArgs::new(JoinType::Left))
        .with_column(lit(NULL).cast(DataType::String).alias("lifecycle_stage"))
        .select(order)
        .collect()?)
}

/// `customers` with `favourite_product_name` after `favourite_product` (when names are read) and
/// the attribute columns of `attrs` (`customer_id` and one column per attribute) at the end. An
/// attribute named like a column customers already has is a config error (exit 2).
fn with_attributes(
    customers: &DataFrame,
    names: Option<&DataFrame>,
    attrs: Option<&DataFrame>,
) -> Result<DataFrame> {
    let mut out = match names {
        Some(n) => crate::exprs::with_looked_up(customers, n, "favourite_product", "favourite_product", "favourite_product_name")?,
        None => customers.clone(),
    };
    if let Some(a) = attrs {
        for name in a.get_column_names().into_iter().filter(|n| n.as_str() != "customer_id") {
            if out.get_column_names().contains(&name) {
                return Err(Error::Config(format!(
                    "customer_attr: `{name}` is already a column of customers; rename it in the dump or leave it out"
                )));
            }
        }
        out = out.lazy().join(a.clone().lazy(), [col("customer_id")], [col("customer_id")], crate::exprs::left_join()).collect()?;
    }
    Ok(out)
}
