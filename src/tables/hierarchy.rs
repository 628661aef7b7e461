//! `product_hierarchy` (issue 34, point 4): a customer decision hierarchy. The top products are
//! clustered by how they substitute for each other: two products bought by different customers
//! (Yule's Q over the customers near −1) are close, two bought by the same customers (Q near +1)
//! far. The table is the dendrogram, merge by merge, as scipy's `linkage` writes it.

use polars::prelude::*;

use crate::error::{Error, Result};
use crate::facts::HierarchyFacts;
use crate::kernels::hierarchy::{average_linkage, yule_q};

/// Rule "substitution distance": 1 + Q of two products (0: never bought by the same customer,
/// 2: always bought together), from the customers who bought both, one, the other, neither.
pub fn distances(f: &HierarchyFacts) -> Result<Vec<f64>> {
    let n = f.single.len();
    let mut d = vec![0.0; n * n];
    let inconsistent = || Error::Internal("product_hierarchy: co-customer counts that do not add up".into());
    for i in 0..n {
        for j in i + 1..n {
            let a = f.both[i * n + j];
            let b = f.single[i].checked_sub(a).ok_or_else(inconsistent)?;
            let c = f.single[j].checked_sub(a).ok_or_else(inconsistent)?;
            let neither = f.customers.checked_sub(a + b + c).ok_or_else(inconsistent)?;
            let v = 1.0 + yule_q(a, b, c, neither);
            d[i * n + j] = v;
            d[j * n + i] = v;
        }
    }
    Ok(d)
}

/// product_hierarchy: one row per merge of average linkage over the substitution distances.
pub fn product_hierarchy(f: &HierarchyFacts) -> Result<DataFrame> {
    let n = f.single.len();
    let merges = average_linkage(n, &distances(f)?);
    let product = |side: usize| -> Result<Option<AnyValue<'static>>> {
        Ok(if side < n { Some(f.items.get(side)?.into_static()) } else { None })
    };
    let side_column = |name: &str, pick: &dyn Fn(&crate::kernels::hierarchy::Merge) -> usize| -> Result<Column> {
        let values: Vec<AnyValue<'static>> =
            merges.iter().map(|m| Ok(product(pick(m))?.unwrap_or(AnyValue::Null))).collect::<Result<_>>()?;
        Ok(Series::from_any_values_and_dtype(name.into(), &values, f.items.dtype(), true)?.into_column())
    };
    Ok(DataFrame::new_infer_height(vec![
        Column::new("merge".into(), (1..=merges.len() as i64).collect::<Vec<i64>>()),
        Column::new("left".into(), merges.iter().map(|m| m.left as i64).collect::<Vec<i64>>()),
        Column::new("right".into(), merges.iter().map(|m| m.right as i64).collect::<Vec<i64>>()),
        side_column("left_product", &|m| m.left)?,
        side_column("right_product", &|m| m.right)?,
        Column::new("distance".into(), merges.iter().map(|m| m.distance).collect::<Vec<f64>>()),
        Column::new("size".into(), merges.iter().map(|m| m.size as i64).collect::<Vec<i64>>()),
    ])?)
}
