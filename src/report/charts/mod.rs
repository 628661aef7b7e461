//! The charts, one a file (like one lint rule a file): each reads its own table(s) and returns
//! its rows, or nothing when the output lacks them. [`BUILDERS`] lists them in page order.

mod clv_conditional;
mod clv_deciles;
mod clv_frequency;
mod clv_tracking;
mod clv_tracking_weekly;
mod cohort_retention;
mod cross_shop;
mod gain_loss;
mod kpi_lines;
mod lapse_buckets;
mod monetary_deciles;
mod p_alive_recency;
mod revenue_concentration;
mod rf_heatmap;
mod segment_movement;
mod segments;
mod top_pairs;

use crate::error::Result;
use crate::report::{Chart, Tables};

pub use cohort_retention::partial_period;
pub use kpi_lines::kpi_lines;
pub use p_alive_recency::band_width;
pub use top_pairs::PAIRS_RANKED_BY;

/// A chart from the tables and the money decimals.
pub type Builder = fn(&Tables, i32) -> Result<Option<Chart>>;

/// Every chart built from one snapshot, by id, in the page's order (built side by side).
pub const BUILDERS: [(&str, Builder); 16] = [
    ("revenue_concentration", |t, _| revenue_concentration::concentration(t)),
    ("monetary_deciles", |t, _| monetary_deciles::monetary_deciles(t)),
    ("rf_heatmap", rf_heatmap::rf_heatmap),
    ("segments", |t, _| segments::segments(t)),
    ("lapse_buckets", lapse_buckets::lapse_buckets),
    ("top_pairs", |t, _| top_pairs::top_pairs(t)),
    ("gain_loss", gain_loss::gain_loss),
    ("cross_shop", |t, _| cross_shop::cross_shop(t)),
    ("clv_deciles", clv_deciles::clv_deciles),
    ("p_alive_recency", |t, _| p_alive_recency::p_alive_by_recency(t)),
    ("clv_tracking", |t, _| clv_tracking::tracking(t)),
    ("clv_tracking_weekly", |t, _| clv_tracking_weekly::tracking_weekly(t)),
    ("clv_frequency", |t, _| clv_frequency::frequency(t)),
    ("clv_conditional", |t, _| clv_conditional::conditional(t)),
    ("cohort_retention", |t, _| cohort_retention::cohort_retention(t)),
    ("segment_movement", |t, _| segment_movement::segment_movement(t)),
];
