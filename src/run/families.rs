//! The registry of table families as the run sees them: for each, the facts it reads and the step
//! that turns them into its tables (the tables themselves are listed in [`crate::tables::REGISTRY`]).
//! A new family is one entry here, one arm in [`needs`], and its folder under `tables/`.

use polars::prelude::*;

use crate::config::Config;
use crate::engine::stopwatch::Stopwatch;
use crate::error::{Error, Result};
use crate::facts::{col_names as c, CustomerFacts, Facts, Plan};
use crate::tables::basket::{self, BasketStats};
use crate::tables::patterns::{self, PatternStats};
use crate::tables::{activity, attributes, clv, customers, hierarchy, switching, Family};


/// The facts not yet turned into tables, the tables made so far, and what the manifest reports.
pub struct Work<'a> {
    pub cfg: &'a Config,
    pub facts: Facts,
    /// The holdout check's calibration customer facts and the holdout date.
    pub calibration: Option<(CustomerFacts, chrono::NaiveDate)>,
    pub tables: Vec<(String, DataFrame)>,
    /// The clv table, for customers' p_alive and clv columns.
    pub clv_table: Option<DataFrame>,
    pub clv: Option<clv::Report>,
    pub basket: Option<BasketStats>,
    pub patterns: Option<PatternStats>,
    /// Peak memory once the facts were made (the patterns family reports it).
    pub peak_after_facts: Option<u64>,
    pub sw: &'a mut Stopwatch,
}

impl Work<'_> {
    /// Free the facts that none of `later`'s families reads.
    pub(super) fn release(&mut self, later: Plan) {
        let f = &mut self.facts;
        if !later.customers {
            f.customers = None;
            f.customer_attrs = None;
        }
        if !later.day_totals {
            f.days = None;
        }
        if !later.pairs {
            f.pairs = None;
        }
        if !later.itemsets {
            f.itemsets = None;
        }
        if !later.sequences {
            f.sequences = None;
        }
        if !later.groups {
            f.groups = None;
        }
        if !later.hierarchy {
            f.hierarchy = None;
        }
    }
}

/// A family's step: its tables from the facts in `work`, added to `work.tables`.
pub type Step = fn(&mut Work) -> Result<()>;

/// Every family made from facts, with its step, in the order a job computes them.
pub const FAMILIES: [(Family, Step); 7] = [
    // The basket tables first: their pair facts and `basket_pairs` (the largest facts and table on
    // a big dump) are freed and written before the customer tables are made.
    (Family::Basket, basket_tables),
    (Family::Clv, clv_tables),
    (Family::Customers, customer_tables),
    (Family::Activity, activity_tables),
    (Family::Patterns, pattern_tables),
    (Family::Switching, switching_tables),
    (Family::Hierarchy, hierarchy_tables),
];

/// The facts a family reads.
pub fn needs(family: Family, cfg: &Config) -> Plan {
    let items = Some(if cfg.columns.item.is_some() { c::ITEM } else { c::PRODUCT });
    let none = Plan::NOTHING;
    match family {
        // The customers' days too: the trend columns (recent_orders...) come from them.
        Family::Customers => Plan { customers: true, favourite: true, activity: true, ..none },
        Family::Activity => Plan { customers: true, activity: true, day_totals: true, ..none },
        // The customers' days of activity too with a holdout: clv_tracking counts repeat purchase
        // days week by week.
        Family::Clv => Plan { customers: true, purchase_days: true, activity: cfg.clv.holdout_from.is_some(), ..none },
        Family::Basket => Plan { items, pairs: true, ..none },
        Family::Patterns => Plan { items, itemsets: cfg.patterns.itemsets, sequences: cfg.patterns.timelines(), ..none },
        Family::Switching => Plan { groups: true, ..none },
        Family::Hierarchy => Plan { items, hierarchy: true, ..none },
        // Two snapshots' customers tables, not facts.
        Family::Snapshots => none,
    }
}

/// clv, clv_params (and clv_holdout): the CLV models fitted on the customers' purchase days.
fn clv_tables(w: &mut Work) -> Result<()> {
    let Some(f) = w.facts.customers.as_ref() else { return Ok(()) };
    let as_of = w.facts.as_of.ok_or_else(|| Error::Internal("CLV tables need a timestamp".into()))?;
    if let Some((_, from)) = &w.calibration {
        if *from >= as_of {
            return Err(Error::Config(format!(
                "holdout_from: {from} is not before as_of {as_of}; the holdout period is [holdout_from, as_of)"
            )));
        }
    }
    let cfg = w.cfg;
    let opts = clv::Options { clv: &cfg.clv, money_decimals: cfg.output.money_decimals };
    let made = clv::tables(f, as_of, w.calibration.as_ref().map(|(c, d)| (c, *d)), opts)?;
    w.clv_table = made.tables.first().map(|(_, t)| t.clone());
    w.tables.extend(made.tables);
    w.clv = Some(made.report);
    w.sw.lap("clv_tables");
    Ok(())
}

/// customers, score_bins and the deciles, with the CLV columns, names and attributes in place.
fn customer_tables(w: &mut Work) -> Result<()> {
    let Some(f) = w.facts.customers.as_ref() else { return Ok(()) };
    let as_of = w.facts.as_of.ok_or_else(|| Error::Internal("customer tables need a timestamp".into()))?;
    let cfg = w.cfg;
    let opts = customers::Options {
        bins: cfg.scores.bins,
        scoring: cfg.scores.scoring,
        lapse_thresholds: &cfg.scores.lapse_thresholds,
        money_decimals: cfg.output.money_decimals,
        trend_days: cfg.trends.trend_days,
        tiers: &cfg.trends.tiers,
    };
    let mut made = customers::tables(f, as_of, opts)?;
    w.sw.lap("customer_tables");
    let extra = customers::Extra {
        clv: w.clv_table.as_ref(),
        product_names: w.facts.product_names.as_ref(),
        attributes: w.facts.customer_attrs.as_ref(),
    };
    made[0].1 = customers::finish(&made[0].1, extra)?;
    w.tables.extend(made);
    Ok(())
}

/// cohorts and kpis, from the customers' days and the day totals.
fn activity_tables(w: &mut Work) -> Result<()> {
    let (Some(f), Some(days)) = (w.facts.customers.as_ref(), w.facts.days.as_ref()) else { return Ok(()) };
    let as_of = w.facts.as_of.ok_or_else(|| Error::Internal("activity tables need a timestamp".into()))?;
    let cfg = w.cfg;
    let opts = activity::Options {
        cohort_period: cfg.trends.cohort_period,
        kpi_window_days: cfg.trends.kpi_window_days,
        lapse_thresholds: &cfg.scores.lapse_thresholds,
        money_decimals: cfg.output.money_decimals,
    };
    let made = activity::tables(f, days, as_of, opts)?;
    w.tables.extend(made);
    w.sw.lap("activity_tables");
    Ok(())
}

/// products, basket_pairs and top_pairs, from the item and pair facts (the pair facts are freed
/// here: on a large dump they take hundreds of megabytes).
fn basket_tables(w: &mut Work) -> Result<()> {
    let (Some(items), Some(pairs)) = (w.facts.items.as_ref(), w.facts.pairs.take()) else { return Ok(()) };
    let cfg = w.cfg;
    let mut b = basket::tables(items, &pairs, &cfg.basket, cfg.output.money_decimals)?;
    drop(pairs);
    // Names go beside product ids (not beside another --item-col).
    if let (Some(names), None) = (&w.facts.product_names, &cfg.columns.item) {
        b.products = attributes::products_with_names(&b.products, names)?;
        b.basket_pairs = attributes::pairs_with_names(&b.basket_pairs, names)?;
    }
    if b.basket_pairs.height() > basket::LARGE_PAIR_TABLE {
        tracing::warn!(
            "basket_pairs has {} rows (pairs in at least {} of {} purchase orders): worth a second look; a higher --min-pair-orders or --min-support, or --top-per-item, keeps the strong ones (top_pairs already holds each product's {} strongest partners)",
            b.basket_pairs.height(),
            b.stats.threshold,
            b.stats.total_purchase_orders,
            basket::TOP_PAIRS_PER_PRODUCT
        );
    }
    let top = basket::top_pairs(&b.basket_pairs)?;
    w.tables.push(("products".to_string(), b.products));
    w.tables.push(("basket_pairs".to_string(), b.basket_pairs));
    w.tables.push(("top_pairs".to_string(), top));
    w.basket = Some::<BasketStats>(b.stats);
    w.sw.lap("basket_tables");
    Ok(())
}

/// gain_loss, cross_shop and revenue_tree, from the group facts.
fn switching_tables(w: &mut Work) -> Result<()> {
    let Some(f) = w.facts.groups.take() else { return Ok(()) };
    let cfg = w.cfg;
    let opts = switching::Options {
        groups: &cfg.columns.groups,
        periods: cfg.switching.periods,
        money_decimals: cfg.output.money_decimals,
    };
    w.tables.extend(switching::tables(&f, opts)?);
    w.sw.lap("switching_tables");
    Ok(())
}

/// product_hierarchy, from the hierarchy facts.
fn hierarchy_tables(w: &mut Work) -> Result<()> {
    let Some(f) = w.facts.hierarchy.take() else { return Ok(()) };
    w.tables.push(("product_hierarchy".to_string(), hierarchy::product_hierarchy(&f)?));
    w.sw.lap("hierarchy_tables");
    Ok(())
}

/// itemsets and rules, sequence_pairs: from the mined itemsets and the sequence pairs.
fn pattern_tables(w: &mut Work) -> Result<()> {
    let Some(items) = w.facts.items.as_ref() else { return Ok(()) };
    let (itemsets, sequences) = (w.facts.itemsets.take(), w.facts.sequences.take());
    if itemsets.is_none() && sequences.is_none() {
        return Ok(());
    }
    let made = patterns::tables(items, itemsets.as_ref(), sequences.as_ref(), &w.cfg.patterns)?;
    w.tables.extend(made.tables);
    w.patterns = Some(PatternStats { peak_memory_bytes_after_facts: w.peak_after_facts, ..made.stats });
    w.sw.lap("pattern_tables");
    Ok(())
}
