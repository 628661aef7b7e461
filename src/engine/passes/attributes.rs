//! Product names and customer attributes (issue 15): read from the kept lines (after the line
//! rules, the future rule and the order-conflict rule), on the local engines.
//!
//! - **Product name** (`--product-name-col`): per product, the name on most of its lines; ties go
//!   to the smallest name (byte order). Lines without a name do not vote.
//! - **Customer attribute** (`--customer-attr COL`): per customer, the value on their latest line
//!   that has one; ties at the same instant go to the smallest value.
//!
//! Both are small frames keyed like the tables (`product_id`, `customer_id`), so the partitioned
//! engine computes them per order partition and merges: name votes are added up, and each part's
//! latest value per customer competes again under the same rule.

use polars::prelude::*;

use super::records::Ordered;
use crate::error::Result;
use crate::facts::col_names as c;

/// The votes column of the name counts.
const VOTES: &str = "votes";

/// Per line: its order is kept (not rejected for naming two customers).
fn kept_lines(o: &Ordered) -> Column {
    let ix = &o.index;
    let kept: BooleanChunked = ix.line_order.iter().map(|&ord| Some(!ix.conflict[ord as usize])).collect();
    kept.with_name("__kept".into()).into_column()
}

/// Per (product, name): the kept lines naming it (one part's votes; [`pick_names`] merges parts).
pub fn name_votes(o: &Ordered) -> Result<DataFrame> {
    let lines = o.lines.select([c::PRODUCT, c::PRODUCT_NAME])?.hstack(&[kept_lines(o)])?;
    Ok(lines
        .lazy()
        .filter(col("__kept").and(col(c::PRODUCT).is_not_null()).and(col(c::PRODUCT_NAME).is_not_null()))
        .group_by([col(c::PRODUCT), col(c::PRODUCT_NAME)])
        .agg([len().cast(DataType::UInt64).alias(VOTES)])
        .collect()?)
}

/// Rule "product name": the name with the most votes, ties to the smallest; `votes` may hold the
/// same (product, name) several times (one row per part). Columns `product_id`, `name`.
pub fn pick_names(votes: DataFrame) -> Result<DataFrame> {
    Ok(votes
        .lazy()
        .group_by([col(c::PRODUCT), col(c::PRODUCT_NAME)])
        .agg([col(VOTES).sum()])
        .group_by([col(c::PRODUCT)])
        .agg([col(c::PRODUCT_NAME)
            .sort_by(
                [col(VOTES), col(c::PRODUCT_NAME)],
                SortMultipleOptions::default().with_order_descending_multi([true, false]),
            )
            .first()
            .alias("name")])
        .sort([c::PRODUCT], SortMultipleOptions::default())
        .collect()?)
}

/// Per attribute: each customer's latest kept line with a value, as (`customer_id`, `ts`,
/// canonical attribute column); one part's candidates ([`pick_attrs`] merges parts).
pub fn attr_candidates(o: &Ordered, n_attrs: usize) -> Result<Vec<DataFrame>> {
    let mut cols = vec![c::CUSTOMER.to_string(), c::TS.to_string()];
    cols.extend((0..n_attrs).map(c::attr_column));
    let lines = o
        .lines
        .select(cols)?
        .hstack(&[kept_lines(o)])?
        .lazy()
        .filter(col("__kept").and(col(c::CUSTOMER).is_not_null()));
    (0..n_attrs).map(|i| Ok(latest_value(lines.clone(), &c::attr_column(i)).collect()?)).collect()
}

/// Rule "customer attribute" on candidate rows: per customer, the value at the latest `ts`; ties
/// to the smallest value. Null values are not candidates.
fn latest_value(lines: LazyFrame, a: &str) -> LazyFrame {
    let by = SortMultipleOptions::default().with_order_descending_multi([true, false]);
    lines.filter(col(a).is_not_null()).group_by([col(c::CUSTOMER)]).agg([
        col(c::TS).sort_by([col(c::TS), col(a)], by.clone()).first(),
        col(a).sort_by([col(c::TS), col(a)], by).first(),
    ])
}

/// The attribute table: `customer_id`, then each attribute under its own name (`names[i]`), from
/// the candidates of every part (`parts[p][i]`: part p, attribute i). A customer without a value
/// has null.
pub fn pick_attrs(parts: Vec<Vec<DataFrame>>, names: &[String]) -> Result<DataFrame> {
    let mut per_attr: Vec<Vec<LazyFrame>> = vec![Vec::new(); names.len()];
    for part in parts {
        for (i, df) in part.into_iter().enumerate() {
            per_attr[i].push(df.lazy());
        }
    }
    let mut picked = Vec::with_capacity(names.len());
    for (i, frames) in per_attr.into_iter().enumerate() {
        let a = c::attr_column(i);
        let all = concat(frames, UnionArgs::default())?;
        picked.push(latest_value(all, &a).select([col(c::CUSTOMER), col(a.as_str()).alias(names[i].as_str())]));
    }
    let keys =
        concat(picked.iter().map(|p| p.clone().select([col(c::CUSTOMER)])).collect::<Vec<_>>(), UnionArgs::default())?
            .unique(None, UniqueKeepStrategy::Any);
    let mut out = keys;
    for p in picked {
        out = out.join(p, [col(c::CUSTOMER)], [col(c::CUSTOMER)], JoinArgs::new(JoinType::Left));
    }
    Ok(out.sort([c::CUSTOMER], SortMultipleOptions::default()).collect()?)
}
