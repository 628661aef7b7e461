//! The pattern family's options (issue 13): frequent itemsets and rules, sequence pairs.

use serde::Serialize;

use super::{options, Share};
use crate::error::{Error, Result};

options! {
    /// The pattern family's flags (`run --itemsets`, `run --sequences`, `evergreen patterns`) and
    /// the config file's `[patterns]` table.
    #[command(next_help_heading = "Patterns: itemsets, rules, sequence_pairs, sequence_patterns (run --itemsets/--sequences/--max-sequence-len, evergreen patterns)")]
    #[serde(deny_unknown_fields)]
    pub struct PatternSettings {
        /// run: also mine frequent itemsets and association rules (the itemsets and rules tables).
        /// `evergreen patterns` writes them unless --no-itemsets.
        #[arg(long, env = "EVERGREEN_ITEMSETS", num_args = 0, default_missing_value = "true",
              value_parser = clap::builder::BoolishValueParser::new())]
        pub itemsets: Option<bool>,
        /// patterns: leave out itemsets and rules (with --sequences: sequence_pairs alone).
        #[arg(long)]
        #[serde(skip)]
        pub no_itemsets: bool,
        /// run and patterns: also write sequence_pairs (who buys B within W days of first buying A;
        /// needs customer and timestamp columns).
        #[arg(long, env = "EVERGREEN_SEQUENCES", num_args = 0, default_missing_value = "true",
              value_parser = clap::builder::BoolishValueParser::new())]
        pub sequences: Option<bool>,
        /// An itemset is frequent when at least this many purchase orders hold all its items: a count
        /// (2500) or a fraction of the purchase orders (0.001 means ceil(0.001 x purchase orders),
        /// computed exactly) [default: 0.01].
        #[arg(long, env = "EVERGREEN_ITEMSET_MIN_SUPPORT", value_name = "COUNT|FRACTION")]
        #[serde(default, deserialize_with = "super::number_or_string")]
        pub itemset_min_support: Option<String>,
        /// Largest itemset, 1..=32 items; rules come from itemsets of 2 or more [default: 3].
        #[arg(long, env = "EVERGREEN_MAX_LEN", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=32))]
        pub max_len: Option<usize>,
        /// Keep rules A -> c with orders(A and c) / orders(A) >= F, compared exactly, 0 < F <= 1
        /// [default: 0.5].
        #[arg(long, env = "EVERGREEN_MIN_CONFIDENCE", value_name = "FRACTION")]
        #[serde(default, deserialize_with = "super::number_or_string")]
        pub min_confidence: Option<String>,
        /// Stop (exit 2) instead of holding more itemsets than this [default: 1000000].
        #[arg(long, env = "EVERGREEN_MAX_ITEMSETS", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
        pub max_itemsets: Option<usize>,
        /// Stop (exit 2) instead of writing more rules than this [default: 1000000].
        #[arg(long, env = "EVERGREEN_MAX_RULES", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
        pub max_rules: Option<usize>,
        /// Sequence windows W in days, ascending, e.g. 30,90: B counts when bought in a later order
        /// within W x 24 h after the customer's first A [default: 90].
        #[arg(long, env = "EVERGREEN_SEQUENCE_WINDOW_DAYS", value_delimiter = ',', value_name = "DAYS")]
        pub sequence_window_days: Option<Vec<u32>>,
        /// Keep sequence rows with at least N followers [default: 5].
        #[arg(long, env = "EVERGREEN_MIN_FOLLOWERS", value_parser = clap::value_parser!(u32).range(1..))]
        pub min_followers: Option<u32>,
        /// Keep only rules whose lift (confidence / the consequent's share of the purchase orders,
        /// the table's lift column) is at least L, e.g. 1.2 for rules 20 % above chance [default: all].
        #[arg(long, env = "EVERGREEN_MIN_LIFT", value_name = "L")]
        pub min_lift: Option<f64>,
        /// Keep only the rules that pass these filters (comma-separated): significant (Fisher's
        /// exact test, one-sided, p after --rules-adjust <= --rules-alpha), non-redundant (no rule
        /// with the same consequent and fewer antecedent items has at least its confidence: arules'
        /// improvement > 0) [default: every rule; the p_value, p_adjusted and improvement columns
        /// are always written].
        #[arg(long, env = "EVERGREEN_RULES_FILTER", value_name = "LIST", value_delimiter = ',')]
        pub rules_filter: Option<Vec<String>>,
        /// The significance level of --rules-filter significant [default: 0.01].
        #[arg(long, env = "EVERGREEN_RULES_ALPHA", value_name = "ALPHA")]
        pub rules_alpha: Option<f64>,
        /// How the rules' p-values are corrected for testing every rule: bonferroni, holm, bh
        /// (Benjamini-Hochberg) or none, as R's p.adjust [default: bonferroni].
        #[arg(long, env = "EVERGREEN_RULES_ADJUST", value_enum)]
        pub rules_adjust: Option<Adjust>,
        /// run and patterns: also write sequence_patterns, the sequential patterns of up to STEPS
        /// steps (each a set of items bought in one order), 1..=10 (PrefixSpan; needs customer and
        /// timestamp columns).
        #[arg(long, env = "EVERGREEN_MAX_SEQUENCE_LEN", value_name = "STEPS",
              value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10))]
        pub max_sequence_len: Option<usize>,
        /// A sequential pattern is kept when at least this many customers follow it: a count (50) or
        /// a fraction of the customers with a sequence (a purchase order holding a basket item;
        /// 0.01: ceil(0.01 x those customers), exactly) [default: 0.01].
        #[arg(long, env = "EVERGREEN_SEQUENCE_MIN_SUPPORT", value_name = "COUNT|FRACTION")]
        #[serde(default, deserialize_with = "super::number_or_string")]
        pub sequence_min_support: Option<String>,
        /// The most days from one step of a sequential pattern to the next (UTC dates) [default: any].
        #[arg(long, env = "EVERGREEN_SEQUENCE_MAX_GAP", value_name = "DAYS")]
        pub sequence_max_gap: Option<u32>,
        /// Stop (exit 2) instead of writing more sequential patterns than this [default: 1000000].
        #[arg(long, env = "EVERGREEN_MAX_SEQUENCE_PATTERNS", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
        pub max_sequence_patterns: Option<usize>,
    }
}

/// A multiple-testing correction of the rules' p-values (R's `p.adjust` methods).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Adjust {
    /// p × m, at most 1 (m: the rules tested).
    #[default]
    Bonferroni,
    /// Holm's step-down: the k-th smallest p × (m − k + 1), never below a smaller p's.
    Holm,
    /// Benjamini-Hochberg: the k-th smallest p × m / k, never above a larger p's (false discovery rate).
    Bh,
    /// The p-values as they are.
    None,
}

/// `--rules-filter`: which rules are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct RulesFilter {
    /// Only rules whose adjusted p-value is at most the level.
    pub significant: bool,
    /// Only rules with a positive improvement.
    pub non_redundant: bool,
}

pub const DEFAULT_RULES_ALPHA: f64 = 0.01;

/// The pattern family's settings (issue 13): frequent itemsets and rules, sequence pairs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatternOptions {
    /// `run` (with `--itemsets`) and `patterns` (unless `--no-itemsets`) write itemsets and rules.
    pub itemsets: bool,
    /// Also write sequence_pairs (`--sequences`).
    pub sequences: bool,
    /// An itemset is frequent when held by at least this many purchase orders (or this share).
    pub min_support: Share,
    /// Itemsets of 1..=max_len items.
    pub max_len: usize,
    /// Rules kept at confidence >= this fraction.
    pub min_confidence: Share,
    /// Stop (exit 2) rather than hold more itemsets / rules than these.
    pub max_itemsets: usize,
    pub max_rules: usize,
    /// Sequence windows in days, ascending.
    pub windows: Vec<u32>,
    /// Sequence rows kept with at least this many followers.
    pub min_followers: u32,
    /// Rules kept at lift >= this (none: every rule that reaches the confidence).
    pub min_lift: Option<f64>,
    /// `--rules-filter`, `--rules-alpha`, `--rules-adjust` (issue 34).
    pub rules_filter: RulesFilter,
    pub rules_alpha: f64,
    pub rules_adjust: Adjust,
    /// sequence_patterns (issue 34): steps at most, customers needed, the gap, the cap.
    pub max_sequence_len: Option<usize>,
    pub sequence_min_support: Share,
    pub sequence_max_gap: Option<u32>,
    pub max_sequence_patterns: usize,
}

impl PatternOptions {
    /// The customers' timelines are needed: sequence_pairs or sequence_patterns.
    pub fn timelines(&self) -> bool {
        self.sequences || self.max_sequence_len.is_some()
    }
}

pub const DEFAULT_ITEMSET_SUPPORT: Share = Share::Fraction { num: 1, scale: 2 };
pub const DEFAULT_MAX_LEN: usize = 3;
pub const DEFAULT_MIN_CONFIDENCE: Share = Share::Fraction { num: 5, scale: 1 };
pub const DEFAULT_MAX_ITEMSETS: usize = 1_000_000;
pub const DEFAULT_MAX_RULES: usize = 1_000_000;
pub const DEFAULT_WINDOW_DAYS: u32 = 90;
pub const DEFAULT_MIN_FOLLOWERS: u32 = 5;

impl PatternSettings {
    /// The pattern settings after defaults and checks.
    pub fn resolve(&self) -> Result<PatternOptions> {
        let s = self;
        let min_support = match &s.itemset_min_support {
            Some(t) => Share::parse("itemset_min_support", t, true)?,
            None => DEFAULT_ITEMSET_SUPPORT,
        };
        let min_confidence = match &s.min_confidence {
            Some(t) => Share::parse("min_confidence", t, false)?,
            None => DEFAULT_MIN_CONFIDENCE,
        };
        let max_len = s.max_len.unwrap_or(DEFAULT_MAX_LEN);
        if !(1..=32).contains(&max_len) {
            return Err(Error::Config(format!("max_len: expected 1..=32 items, found {max_len}")));
        }
        let windows = s.sequence_window_days.clone().unwrap_or_else(|| vec![DEFAULT_WINDOW_DAYS]);
        let ok = !windows.is_empty()
            && windows.len() <= 16
            && windows[0] > 0
            && windows.windows(2).all(|w| w[0] < w[1])
            && windows.iter().all(|&w| w <= 36_500);
        if !ok {
            return Err(Error::Config(format!(
                "sequence_window_days: expected 1 to 16 positive, strictly ascending days (at most 36500) such as 30,90, found {windows:?}"
            )));
        }
        let min_followers = s.min_followers.unwrap_or(DEFAULT_MIN_FOLLOWERS);
        if min_followers == 0 {
            return Err(Error::Config("min_followers: expected a count >= 1, found 0".into()));
        }
        if s.max_sequence_len.is_some_and(|l| !(1..=10).contains(&l)) {
            return Err(Error::Config(format!(
                "max_sequence_len: expected 1..=10 steps, found {}",
                s.max_sequence_len.unwrap_or_default()
            )));
        }
        if s.max_sequence_patterns == Some(0) {
            return Err(Error::Config("max_sequence_patterns: expected a count >= 1, found 0".into()));
        }
        let max_itemsets = s.max_itemsets.unwrap_or(DEFAULT_MAX_ITEMSETS);
        let max_rules = s.max_rules.unwrap_or(DEFAULT_MAX_RULES);
        if max_itemsets == 0 || max_rules == 0 {
            return Err(Error::Config("max_itemsets, max_rules: expected a count >= 1, found 0".into()));
        }
        Ok(PatternOptions {
            itemsets: s.itemsets.unwrap_or(false),
            sequences: s.sequences.unwrap_or(false),
            min_support,
            max_len,
            min_confidence,
            max_itemsets,
            max_rules,
            windows,
            min_followers,
            min_lift: match s.min_lift {
                Some(l) if !(l.is_finite() && l > 0.0) => {
                    return Err(Error::Config(format!("min_lift: expected a positive number such as 1.2, found {l}")))
                }
                l => l,
            },
            rules_filter: rules_filter(s.rules_filter.as_deref().unwrap_or_default())?,
            rules_alpha: match s.rules_alpha {
                Some(a) if !(a > 0.0 && a < 1.0) => {
                    return Err(Error::Config(format!("rules_alpha: expected a level between 0 and 1 such as 0.01, found {a}")))
                }
                a => a.unwrap_or(DEFAULT_RULES_ALPHA),
            },
            rules_adjust: s.rules_adjust.unwrap_or_default(),
            max_sequence_len: s.max_sequence_len,
            sequence_min_support: match &s.sequence_min_support {
                Some(t) => Share::parse("sequence_min_support", t, true)?,
                None => DEFAULT_ITEMSET_SUPPORT,
            },
            sequence_max_gap: s.sequence_max_gap,
            max_sequence_patterns: s.max_sequence_patterns.unwrap_or(DEFAULT_MAX_ITEMSETS),
        })
    }
}

/// `--rules-filter` names: significant, non-redundant (each at most once).
fn rules_filter(names: &[String]) -> Result<RulesFilter> {
    let mut f = RulesFilter::default();
    for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        match name {
            "significant" => f.significant = true,
            "non-redundant" => f.non_redundant = true,
            other => {
                return Err(Error::Config(format!(
                    "rules_filter: expected significant and/or non-redundant, found `{other}`"
                )))
            }
        }
    }
    Ok(f)
}
