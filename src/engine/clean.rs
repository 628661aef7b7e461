//! The cleaning sequence, written once: the line rules (the `--where` filter first, then the
//! rejected lines), the as-of date D, the future rule (lines at or after D), and the check that
//! some line is left. The memory engine and `validate` run it over the whole dump with
//! [`clean_lines`]; the partitioned engine runs the same rules by phase (the line rules per slice,
//! D once over every slice's latest line, the future rule per partition), and the Spark engine
//! takes D from its SQL's line statistics: each through the functions below, never a copy.

use chrono::NaiveDate;
use polars::prelude::*;

use super::passes::orders;
use crate::error::{Error, Result};
use crate::facts::{Counts, Present};

pub use super::passes::orders::{as_of_date, exclude_future_lines, reject_invalid_lines};

/// The dump's lines after the cleaning rules, their counts, and the as-of date D (none without a
/// timestamp column).
pub struct Cleaned {
    pub lines: DataFrame,
    pub counts: Counts,
    pub as_of: Option<NaiveDate>,
}

/// The whole dump through the line rules, the as-of date and the future rule. `given` is
/// `--as-of`; the default D is the day after the latest valid line, so nothing lies in its future.
pub fn clean_lines(raw: DataFrame, has: Present, given: Option<NaiveDate>, inputs: &str, amount_column: &str) -> Result<Cleaned> {
    let (mut counts, max_ts, valid) = orders::reject_invalid_lines(raw, has)?;
    let as_of = orders::as_of_date(given, max_ts, has, &counts, inputs, amount_column)?;
    let (lines, future) = orders::exclude_future_lines(valid, given.and(as_of))?;
    counts.future_lines = future;
    Ok(Cleaned { lines, counts, as_of })
}

/// A dump with no line left after the cleaning rules is an error, not an empty output.
pub fn require_lines(inputs: &str, k: &Counts) -> Result<()> {
    if k.lines_used > 0 {
        return Ok(());
    }
    Err(Error::Empty {
        what: inputs.to_string(),
        reason: format!(
            "no line left after the cleaning rules ({} read, {} future, rejected {:?})",
            k.lines_read, k.future_lines, k.rejected
        ),
    })
}
