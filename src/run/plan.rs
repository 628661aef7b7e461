//! The planner: the one place that maps a job and its flags to what must be computed. A job is a
//! list of table families ([`families`]); each family says which facts it reads
//! ([`super::families::FAMILIES`]); the engine's [`Plan`] is the union of those, and the roles the
//! dump must have ([`Mode`]) follow from the facts. Nothing else branches on the job.

use std::collections::BTreeSet;

use chrono::NaiveDate;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::facts::Plan;
use crate::input::Mode;
use crate::queries::{self, QuerySet};
use crate::tables::{Family, REGISTRY};

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

impl Job {
    /// The subcommand's name.
    pub fn name(self) -> &'static str {
        match self {
            Job::Run => "run",
            Job::Basket => "basket",
            Job::Clv => "clv",
            Job::Patterns => "patterns",
        }
    }
}

/// What one job computes, decided before any data is read.
#[derive(Debug, Clone)]
pub struct JobPlan {
    /// The table families made from facts, in the order they are computed (CLV before customers:
    /// customers takes its p_alive and clv columns).
    pub families: Vec<Family>,
    /// The facts the engine computes: every family's needs together.
    pub facts: Plan,
    /// The roles the dump must have: a customer and a timestamp when a family reads customers.
    pub mode: Mode,
    /// The analysts' queries (segments, lifecycle, the rest of `--queries`), loaded and checked,
    /// run after the families (`run` only; with `--tables`, only the wanted ones and what they read).
    pub queries: Option<QuerySet>,
    /// `--compare-with`'s migration tables, made between the segment query and the others.
    pub migration: bool,
    /// `--tables`: the tables written; empty: every table the job makes.
    pub tables: Vec<String>,
    /// The holdout check: the calibration facts (CLV's needs) over the lines before this date.
    pub holdout_from: Option<NaiveDate>,
}

/// The plan of `job` under `cfg`; a job left with nothing to compute is a config error (exit 2).
pub fn plan(cfg: &Config, job: Job) -> Result<JobPlan> {
    let mut families = families(cfg, job)?;
    let mut queries = if job == Job::Run { Some(super::load_queries(cfg)?) } else { None };
    let mut migration = job == Job::Run && cfg.compare_with.is_some();
    let wanted = &cfg.output.tables;
    if !wanted.is_empty() {
        let needed = needed_tables(job, &families, queries.as_ref(), wanted)?;
        families.retain(|f| REGISTRY.iter().any(|(t, of)| of == f && needed.contains(*t)));
        if let Some(set) = &mut queries {
            set.others.retain(|q| needed.contains(&q.name));
        }
        migration &= needed.contains("segment_migration") || needed.contains("decile_migration");
    }
    let facts = families.iter().fold(Plan::NOTHING, |p, f| p.and(super::families::needs(*f, cfg)));
    let fits_clv = families.contains(&Family::Clv);
    Ok(JobPlan {
        mode: mode_for(facts),
        facts,
        queries,
        migration,
        tables: wanted.clone(),
        holdout_from: cfg.clv.holdout_from.filter(|_| fits_clv),
        families,
    })
}

/// `--tables`: the wanted tables and every table they need, each wanted name checked against the
/// job's tables (exit 2 naming them). `customers` needs the clv table when the job fits the CLV
/// models (its p_alive and clv columns), the migration tables need `customers`, and a query needs
/// the tables its SQL reads ([`queries::tables_read`]), until nothing is added.
fn needed_tables(job: Job, families: &[Family], queries: Option<&QuerySet>, wanted: &[String]) -> Result<BTreeSet<String>> {
    let mut known: Vec<String> =
        REGISTRY.iter().filter(|(_, f)| families.contains(f)).map(|(t, _)| t.to_string()).collect();
    let mut sql: Vec<(String, String)> = Vec::new();
    if let Some(set) = queries {
        known.extend(["segment_migration".to_string(), "decile_migration".to_string()]);
        for q in set.descriptions.iter().chain(&set.others) {
            known.push(q.name.clone());
            sql.push((q.name.clone(), q.sql.clone()));
        }
    }
    if let Some(w) = wanted.iter().find(|w| !known.contains(w)) {
        return Err(Error::Config(format!(
            "tables: `{w}` is not a table of `{}` (its tables: {})",
            job.name(),
            known.join(", ")
        )));
    }
    let mut needed: BTreeSet<String> = wanted.iter().cloned().collect();
    loop {
        let before = needed.len();
        if needed.contains("customers") && families.contains(&Family::Clv) {
            needed.insert("clv".into());
        }
        if needed.contains("segment_migration") || needed.contains("decile_migration") {
            needed.insert("customers".into());
        }
        for (name, text) in &sql {
            if needed.contains(name) {
                needed.extend(queries::tables_read(text));
            }
        }
        if needed.len() == before {
            return Ok(needed);
        }
    }
}

/// The families of a job, in computing order.
fn families(cfg: &Config, job: Job) -> Result<Vec<Family>> {
    let patterns = cfg.patterns.itemsets || cfg.patterns.timelines();
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
            if switching(cfg)? {
                f.push(Family::Switching);
            }
            if cfg.switching.hierarchy_products.is_some() {
                f.push(Family::Hierarchy);
            }
            f
        }
        _ if !cfg.columns.groups.is_empty() => {
            return Err(Error::Config(format!(
                "group: gain_loss, cross_shop and revenue_tree are tables of `run`, not of `{}`",
                job.name()
            )))
        }
        Job::Basket => vec![Family::Basket],
        Job::Clv => vec![Family::Clv],
        Job::Patterns if !patterns => {
            return Err(Error::Config("patterns: nothing to compute (--no-itemsets without --sequences or --max-sequence-len)".into()))
        }
        Job::Patterns => vec![Family::Patterns],
    })
}

/// Whether `run` makes the switching tables: gain_loss with a group and two periods, cross_shop
/// with 2 or 3 groups, revenue_tree with two periods. Groups that make none of them are exit 2.
fn switching(cfg: &Config) -> Result<bool> {
    let (groups, periods) = (cfg.columns.groups.len(), cfg.switching.periods.is_some());
    if groups == 0 && !periods {
        return Ok(false);
    }
    if groups == 1 && !periods {
        return Err(Error::Config(
            "group: one group makes gain_loss, which needs --period-a and --period-b; cross_shop needs 2 or 3 groups".into(),
        ));
    }
    Ok(groups > 0 || periods)
}

/// The roles a plan needs: customer facts and customer timelines need a customer, a timestamp
/// and an amount; everything else only orders and items.
fn mode_for(facts: Plan) -> Mode {
    if facts.customers || facts.sequences || facts.groups || facts.hierarchy {
        Mode::Customers
    } else {
        Mode::Basket
    }
}
