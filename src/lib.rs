//! evergreen: customer-value tables (RFM scores, segments, lapse, deciles, baskets) from Parquet
//! transaction dumps.
//!
//! Flow of one line: [`input`] (files, roles, canonical columns) → an [`engine`] (cleaning rules
//! in [`engine::passes::orders`], then per-order, per-customer, per-item and per-pair facts: [`facts`]) →
//! the table families in [`tables`] (facts in, tables out) → [`queries`] (SQL over the tables) →
//! [`output`] (atomic folder, manifest). [`run`] runs one job end to end; [`cli`] is the skin.
//!
//! Where each SPEC rule lives:
//!
//! | rule | function |
//! |---|---|
//! | rejected lines (null order / timestamp / amount, non-finite amount) | [`engine::passes::orders::reject_invalid_lines`] |
//! | as-of date D | [`engine::passes::orders::as_of_date`] |
//! | future lines (`ts >= D`) | [`engine::passes::orders::exclude_future_lines`] |
//! | orders naming two customers, purchase flag (net > 0; net ≥ 0 with `--zero-net-orders purchase`), guest lines | [`engine::passes::orders::OrderIndex::build`], [`engine::passes::orders::count_orders`] |
//! | money sums exact, rounded once | [`kernels::money`], [`exprs::round_money`] |
//! | money range (2^53 minor units) | [`engine::check_money_range`] |
//! | frequency, monetary, first/last purchase, favourite product | [`engine::passes::customers::customer_facts`] |
//! | recency, tenure, avg order value, days between orders | [`tables::customers::rfm_columns`] |
//! | lapse buckets | [`tables::customers::lapse_bucket`] |
//! | scores, score_bins | [`tables::customers::scores`] |
//! | monetary and purchase deciles | [`tables::customers::deciles`] |
//! | baskets (distinct items on positive lines of purchase orders) | [`kernels::baskets::build`] |
//! | pair counting and threshold | [`kernels::pairs::count_pairs`], [`config::BasketOptions::threshold`] |
//! | products, basket_pairs, top per item | [`tables::basket`] |
//! | purchase days, repeat-day value, last gap | [`engine::passes::customers::customer_facts`] (`PurchaseDays`) |
//! | x, t_x, T, average repeat value | [`tables::clv::summary`] |
//! | BG/NBD, MBG/NBD, Pareto/NBD and Gamma-Gamma fits, when data cannot support them | [`tables::clv::fit`], [`kernels::bgnbd::fit`], [`kernels::pareto_nbd::fit`], [`kernels::gamma_gamma::fit`], [`kernels::mle::minimise`] |
//! | standard errors, model choice, identification | [`kernels::mle::standard_errors`], [`tables::clv::fit`], [`tables::clv::unidentified`] |
//! | P(alive), expected purchases | [`kernels::bgnbd::p_alive`], [`kernels::bgnbd::expected_purchases`], [`kernels::pareto_nbd::p_alive`], [`kernels::pareto_nbd::expected_purchases`] |
//! | purchase probabilities, next purchase date | [`tables::clv::predict`], [`tables::clv::next_purchase_offset`], [`kernels::pareto_nbd::first_purchase_within`] |
//! | expected order value | [`kernels::gamma_gamma::expected_value`] |
//! | CLV discounting | [`tables::clv::discounted_purchases`] |
//! | overdue ratio | [`tables::clv::overdue_ratio`] |
//! | clv, clv_params, clv_holdout | [`tables::clv::clv_table`], [`tables::clv::params_table`], [`tables::clv::holdout`] |
//! | lifecycle stage | `queries/lifecycle.sql` (written into customers by [`queries::run_all`]) |
//! | itemset threshold (count or exact fraction), rule confidence | [`config::Share::threshold`], [`config::Share::reached`] |
//! | frequent itemsets (same baskets as the pairs, `--max-basket-items`, caps) | [`engine::patterns::itemset_facts`], [`kernels::itemsets::mine`] |
//! | itemsets, rules and their measures | [`tables::patterns::itemsets_table`], [`tables::patterns::rules_table`], [`tables::patterns::rule_measures`] |
//! | sequence pairs: first(A), eligible, followers, median delay | [`kernels::sequences::count`] |
//! | sequence_pairs (confidence, b_share, lift) | [`tables::patterns::sequence_table`] |
//! | customers' days of activity, day totals | [`engine::passes::activity::customer_activity`], [`engine::passes::activity::day_totals`] |
//! | trend windows, change %, declining | [`tables::customers::trend::window_sums`], [`tables::customers::trend::declining`] |
//! | loyalty tier (first match) | [`tables::customers::trend::tier`] |
//! | profit decile and group, profit_deciles | [`tables::customers::trend::add_profit_ranks`], [`tables::customers::deciles::profit_deciles`] |
//! | discount share | [`tables::customers::discount_share`] |
//! | cohort period (month, ISO week), cohorts | [`tables::activity::period_index`], [`tables::activity::cohorts`] |
//! | kpis | [`tables::activity::kpis`] |
//! | customer tags | `queries/customer_tags.sql` |
//! | comparable snapshots, migration | [`snapshot::check_comparable`], [`tables::snapshots::tables`] |
//! | line filter (`--where`), excluded items | [`engine::passes::orders::filter_lines`] (the predicate read by `input::load`) |
//! | product name (most votes), customer attribute (latest line) | [`engine::passes::attributes::pick_names`], [`engine::passes::attributes::pick_attrs`] |
//! | names and attributes in the tables | [`tables::attributes`] |
//! | product group of a line (the first `--group` whose predicate holds), group facts | `input` (the canonical columns), [`engine::passes::groups::group_rows`], [`engine::passes::groups::merge`] |
//! | top products, co-customer counts, Yule's Q, substitution distance, average linkage | [`kernels::hierarchy::top_items`], [`kernels::hierarchy::co_customers`], [`kernels::hierarchy::yule_q`], [`tables::hierarchy::distances`], [`kernels::hierarchy::average_linkage`] |
//! | gain-loss split, cross-shop regions, revenue tree contributions, ratio over nothing | [`tables::switching::gain_loss_split`], [`tables::switching::gain_loss`], [`tables::switching::cross_shop`], [`tables::switching::revenue_tree`] |
//! | money averages (cents, halves away from zero) | [`exprs::money_average`], [`exprs::money_average_expr`] |
//! | lapse bucket sort key | [`tables::customers::lapse_bucket_order`] |
//! | segment order, descriptions | `queries/segment_descriptions.sql` |
//! | top_pairs | [`tables::basket::top_pairs`] |
//! | as_of in every table | [`run::with_as_of`] |
//! | publish (staging swap, append) | [`publish::publish`] |
//! | report: charted rows, caps, the page | [`report::gather`], [`report::page::render`] |
//!
//! On `--engine spark` ([`engine::spark`]) the line-level rules above (rejected and future lines, orders
//! naming two customers, the purchase flag, the exact sums, favourite product, baskets and pairs)
//! run as the SQL steps of `engine/spark/sql/` (`01_lines.sql` .. `25_basket_customers.sql`), one step per
//! rule group, on the same fixed point; the as-of date, the money-range check and every table are
//! the functions above, over the facts Spark returns.

// Errors carry the file, column, expectation and finding for their one-line message; they are
// returned once per run, never in a hot loop, so their size does not matter.
#![allow(clippy::result_large_err)]

pub mod cli;
pub mod config;
pub mod connstr;
pub mod engine;
pub mod error;
pub mod exprs;
pub mod facts;
pub mod input;
pub mod kernels;
pub mod output;
pub mod run;
pub mod publish;
pub mod queries;
pub mod report;
pub mod snapshot;
pub mod tables;

pub use config::Config;
pub use error::{Error, Result};
