//! Names and attributes beside ids (issue 15): each product's name in `products` (`name`) and
//! `basket_pairs` (`name_a`, `name_b`), the favourite product's name in `customers`
//! (`favourite_product_name`), and the `--customer-attr` columns at the end of `customers`.
//! The engines pick the values (see `engine::passes::attributes`); this family only places them.

use polars::prelude::*;

use crate::error::{Error, Result};

/// A left join that keeps the left rows in their order.
fn left_join() -> JoinArgs {
    JoinArgs { maintain_order: MaintainOrderJoin::Left, ..JoinArgs::new(JoinType::Left) }
}

/// `table` with `key`'s name from `names` (`product_id`, `name`) inserted after column `after`
/// as `out` (null for a product without a name). Rows keep their order.
fn with_name(table: &DataFrame, names: &DataFrame, key: &str, after: &str, out: &str) -> Result<DataFrame> {
    let lookup = names.clone().lazy().select([col("product_id").alias(key), col("name").alias(out)]);
    let joined = table.clone().lazy().join(lookup, [col(key)], [col(key)], left_join()).collect()?;
    let mut order: Vec<String> = Vec::with_capacity(table.width() + 1);
    for c in table.get_column_names() {
        order.push(c.to_string());
        if c.as_str() == after {
            order.push(out.to_string());
        }
    }
    Ok(joined.select(order)?)
}

/// `products` with `name` after `product_id`.
pub fn products_with_names(products: &DataFrame, names: &DataFrame) -> Result<DataFrame> {
    with_name(products, names, "product_id", "product_id", "name")
}

/// `basket_pairs` with `name_a` and `name_b` after `product_b`.
pub fn pairs_with_names(pairs: &DataFrame, names: &DataFrame) -> Result<DataFrame> {
    let a = with_name(pairs, names, "product_a", "product_b", "name_a")?;
    with_name(&a, names, "product_b", "name_a", "name_b")
}

/// `customers` with `favourite_product_name` after `favourite_product` (when names are read) and
/// the attribute columns of `attrs` (`customer_id` and one column per attribute) at the end. An
/// attribute named like a column customers already has is a config error (exit 2).
pub fn customers_with_attributes(
    customers: &DataFrame,
    names: Option<&DataFrame>,
    attrs: Option<&DataFrame>,
) -> Result<DataFrame> {
    let mut out = match names {
        Some(n) => with_name(customers, n, "favourite_product", "favourite_product", "favourite_product_name")?,
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
        out = out.lazy().join(a.clone().lazy(), [col("customer_id")], [col("customer_id")], left_join()).collect()?;
    }
    Ok(out)
}
