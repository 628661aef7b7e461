//! Names and attributes beside ids (issue 15): each product's name in `products` (`name`) and
//! `basket_pairs` (`name_a`, `name_b`), the favourite product's name in `customers`
//! (`favourite_product_name`), and the `--customer-attr` columns at the end of `customers`.
//! The engines pick the values (see `engine::passes::attributes`); this family places the product
//! names; the customers family places the favourite's name and the attributes (`finish`).

use polars::prelude::*;

use crate::error::Result;

/// `products` with `name` after `product_id`.
pub fn products_with_names(products: &DataFrame, names: &DataFrame) -> Result<DataFrame> {
    Ok(crate::exprs::with_looked_up(products, names, "product_id", "product_id", "name")?)
}

/// `basket_pairs` with `name_a` and `name_b` after `product_b`.
pub fn pairs_with_names(pairs: &DataFrame, names: &DataFrame) -> Result<DataFrame> {
    let a = crate::exprs::with_looked_up(pairs, names, "product_a", "product_b", "name_a")?;
    Ok(crate::exprs::with_looked_up(&a, names, "product_b", "name_a", "name_b")?)
}
