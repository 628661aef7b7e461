//! The planner: the one place that maps a job and its flags to what must be computed. A job is a
//! list of table families ([`families`]); each family says which facts it reads
//! ([`super::families::FAMILIES`]); the engine's [`Plan`] is the union of those, and the roles the
//! dump must have ([`Mode`]) follow from the facts. Nothing else branches on the job.

use chrono::NaiveDate;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::facts::Plan;
use crate::input::Mode;
use crate::tables::Family;

/// Which subcommand runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// `run`: the customer tables, plus products and basket_pairs when the dump has products.
    Run,
    /// `basket`: products and basket_pairs only; needs only order and item columns.
    Basket,
    /// `clv`: clv, clv_params (and clv_holdout) only.
    Clv,
    /// `patterns`: itemsets and rules (unless `--no-itemsets`), sequence_pairs with `--sequences`.
    Patterns,
}

/// What one job computes, decided before any data is read.
#[derive(Debug, Clone)]
pub struct JobPlan {
    pub job: Job,
    /// The table families made from facts, in the order they are computed (CLV before customers:
    /// customers takes its p_alive and clv columns).
    pub families: Vec<Family>,
    /// The facts the engine computes: every family's needs together.
    pub facts: Plan,
    /// The roles the dump must have: a customer and a timestamp when a family reads customers.
    pub mode: Mode,
    /// The analysts' queries (segments, lifecycle, the rest of `--queries`) after the families,
    /// and `--compare-with`'s migration tables between the segment query and the others.
    pub queries: bool,
    /// The holdout check: the calibration facts (CLV's needs) over the lines before this date.
    pub holdout_from: Option<NaiveDate>,
}

/// The plan of `job` under `cfg`; a job left with nothing to compute is a config error (exit 2).
pub fn plan(cfg: &Config, job: Job) -> Result<JobPlan> {
    let families = families(cfg, job)?;
    let facts = families.iter().fold(Plan::NOTHING, |p, f| p.and(super::families::needs(*f, cfg)));
    let fits_clv = families.contains(&Family::Clv);
    Ok(JobPlan {
        job,
        mode: mode_for(facts),
        facts,
        queries: job == Job::Run,
        holdout_from: cfg.clv.holdout_from.filter(|_| fits_clv),
        families,
    })
}

/// The families of a job, in computing order.
fn families(cfg: &Config, job: Job) -> Result<Vec<Family>> {
    let patterns = cfg.patterns.itemsets || cfg.patterns.sequences;
    Ok(match job {
        Job::Run => {
            let mut f = Vec::new();
            if cfg.clv.enabled {
                f.push(Family::Clv);
            }
            f.extend([Family::Customers, Family::Activity, Family::Basket]);
            if patterns {
                f.push(Family::Patterns);
            }
            f
        }
        Job::Basket => vec![Family::Basket],
        Job::Clv => vec![Family::Clv],
        Job::Patterns if !patterns => {
            return Err(Error::Config("patterns: nothing to compute (--no-itemsets without --sequences)".into()))
        }
        Job::Patterns => vec![Family::Patterns],
    })
}

/// The roles a plan needs: customer facts and customer timelines need a customer, a timestamp
/// and an amount; everything else only orders and items.
fn mode_for(facts: Plan) -> Mode {
    if facts.customers || facts.sequences {
        Mode::Customers
    } else {
        Mode::Basket
    }
}
