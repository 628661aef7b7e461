//! The pattern family (issue 13): `itemsets` and `rules` from itemset facts, `sequence_pairs` from
//! sequence facts, each with the item keys of the item facts.
//!
//! - itemsets: sets of 1..=max_len distinct items held by at least the threshold of purchase
//!   orders ([`itemsets_table`]).
//! - rules: antecedent → one consequent item, from every frequent itemset of two or more items,
//!   kept at confidence >= `--min-confidence`, compared exactly ([`rules_table`], [`rule_measures`]).
//! - sequence_pairs: A then B within W days ([`sequence_table`]).

use polars::prelude::*;
use rayon::prelude::*;
use serde::Serialize;

use crate::config::{Adjust, PatternOptions};
use crate::error::{Error, Result};
use crate::facts::{ItemFacts, ItemsetFacts, SequenceFacts};
use crate::kernels::fisher;

/// What the family made, for the manifest.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PatternStats {
    /// Itemsets: the count threshold, the purchase orders it is a share of, itemsets per size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub itemset_threshold: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_purchase_orders: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub itemsets_by_size: Vec<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules: Option<u64>,
    /// Sequences: customers with a purchase order, rows kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_customers: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_rows: Option<u64>,
    /// Sequential patterns: customers with a sequence, the customers a pattern needed, patterns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern_customers: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern_threshold: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_patterns: Option<u64>,
    /// Peak resident memory of the run once the engine's facts (the mined itemsets, the counted
    /// sequences) were made, bytes (Linux); set by the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_memory_bytes_after_facts: Option<u64>,
}

/// The family's tables, in registry order, and its stats.
pub struct PatternTables {
    pub tables: Vec<(String, DataFrame)>,
    pub stats: PatternStats,
}

/// `itemsets` and `rules` (when the itemset facts are there) and `sequence_pairs` (when the
/// sequence facts are).
pub fn tables(
    items: &ItemFacts,
    itemsets: Option<&ItemsetFacts>,
    sequences: Option<&SequenceFacts>,
    opts: &PatternOptions,
) -> Result<PatternTables> {
    let mut out = PatternTables { tables: Vec::new(), stats: PatternStats::default() };
    if let Some(f) = itemsets {
        let total = items.total_purchase_orders;
        out.tables.push(("itemsets".into(), itemsets_table(f, &items.item, total)?));
        let rules = rules_table(f, &items.item, total, opts)?;
        out.stats.rules = Some(rules.height() as u64);
        out.tables.push(("rules".into(), rules));
        out.stats.itemset_threshold = Some(f.threshold);
        out.stats.total_purchase_orders = Some(total);
        let mut by_size = vec![0u64; opts.max_len];
        for i in 0..f.len() {
            by_size[f.of(i).len() - 1] += 1;
        }
        out.stats.itemsets_by_size = by_size;
    }
    if let (Some(f), true) = (sequences, opts.sequences) {
        let table = sequence_table(f, &items.item)?;
        out.stats.sequence_customers = Some(f.customers);
        out.stats.sequence_rows = Some(table.height() as u64);
        out.tables.push(("sequence_pairs".into(), table));
    }
    if let (Some(f), Some(_)) = (sequences, opts.max_sequence_len) {
        let table = sequence_patterns_table(f, &items.item)?;
        out.stats.pattern_customers = Some(f.pattern_customers);
        out.stats.pattern_threshold = Some(f.pattern_threshold);
        out.stats.sequence_patterns = Some(table.height() as u64);
        out.tables.push(("sequence_patterns".into(), table));
    }
    Ok(out)
}

/// A list column named `name`: row `r` holds `keys[codes[offsets[r]..offsets[r + 1]]]`.
fn list_column(name: &str, keys: &Column, offsets: &[i64], codes: &[u32]) -> Result<Column> {
    use polars_arrow::array::ListArray;
    use polars_arrow::offset::OffsetsBuffer;
    let idx: Vec<IdxSize> = codes.iter().map(|&c| c as IdxSize).collect();
    let values = keys.take_slice(&idx)?.as_materialized_series().rechunk();
    let array = values.to_arrow(0, CompatLevel::newest());
    let dtype = ListArray::<i64>::default_datatype(array.dtype().clone());
    let offsets =
        OffsetsBuffer::try_from(offsets.to_vec()).map_err(|e| Error::Internal(format!("list offsets: {e}")))?;
    let list = ListArray::<i64>::new(dtype, offsets, array, None);
    let series = Series::try_from((PlSmallStr::from(name), Box::new(list) as ArrayRef))?;
    Ok(series.into_column())
}

/// `itemsets`: items (a list, ascending), size, orders (purchase orders holding every item), and
/// support = orders / purchase orders; sorted by orders descending, then size, then items.
pub fn itemsets_table(sets: &ItemsetFacts, keys: &Column, total: u64) -> Result<DataFrame> {
    let mut order: Vec<usize> = (0..sets.len()).collect();
    order.par_sort_unstable_by(|&x, &y| {
        sets.orders[y]
            .cmp(&sets.orders[x])
            .then_with(|| sets.of(x).len().cmp(&sets.of(y).len()))
            .then_with(|| sets.of(x).cmp(sets.of(y)))
    });
    let mut offsets = vec![0i64];
    let mut codes = Vec::with_capacity(sets.items.len());
    for &i in &order {
        codes.extend_from_slice(sets.of(i));
        offsets.push(codes.len() as i64);
    }
    let t = total.max(1) as f64;
    Ok(DataFrame::new_infer_height(vec![
        list_column("items", keys, &offsets, &codes)?,
        Column::new("size".into(), order.iter().map(|&i| sets.of(i).len() as i64).collect::<Vec<_>>()),
        Column::new("orders".into(), order.iter().map(|&i| sets.orders[i] as i64).collect::<Vec<_>>()),
        Column::new("support".into(), order.iter().map(|&i| sets.orders[i] as f64 / t).collect::<Vec<_>>()),
    ])?)
}

/// One rule's measures, from counts: `n` orders hold antecedent and consequent, `n_a` the
/// antecedent, `n_c` the consequent, of `total` purchase orders.
///
/// support = n / total; confidence = n / n_a; lift = n × total / (n_a × n_c);
/// leverage = n / total − (n_a / total)(n_c / total);
/// conviction = (1 − n_c / total) / (1 − confidence), null when confidence is 1 (infinite).
pub fn rule_measures(n: u32, n_a: u32, n_c: u32, total: u64) -> [Option<f64>; 5] {
    let (n, n_a, n_c, t) = (n as f64, n_a as f64, n_c as f64, total.max(1) as f64);
    let confidence = n / n_a;
    let conviction = (n < n_a).then(|| (1.0 - n_c / t) / (1.0 - confidence));
    [Some(n / t), Some(confidence), Some((n * t) / (n_a * n_c)), Some(n / t - (n_a / t) * (n_c / t)), conviction]
}

/// `rules`: for every frequent itemset I of two or more items and every item c of I, the rule
/// I \ {c} → c, kept when orders(I) / orders(I \ {c}) >= `--min-confidence` (integer arithmetic)
/// and, with `--min-lift L`, its lift (the column's value) >= L.
/// Every antecedent is itself frequent (a subset is never rarer), so its count is in `sets`.
/// Sorted by confidence descending, then orders(I) descending, then antecedent size, antecedent
/// items and consequent. More than `--max-rules` rules stop the run (exit 2).
pub fn rules_table(sets: &ItemsetFacts, keys: &Column, total: u64, opts: &PatternOptions) -> Result<DataFrame> {
    let index: hashbrown::HashMap<&[u32], u32> = (0..sets.len()).map(|i| (sets.of(i), sets.orders[i])).collect();
    // orders(c) from the mined size-1 sets, so every count of a rule is over the same baskets
    // (with --max-basket-items, the baskets left), as its antecedent's is.
    let item_orders = |c: u32| index.get([c].as_slice()).copied().unwrap_or(0);
    // (itemset, position of the consequent in it, antecedent orders)
    let mut rules: Vec<(u32, u8, u32)> = Vec::new();
    let mut antecedent = Vec::new();
    for i in 0..sets.len() {
        let set = sets.of(i);
        if set.len() < 2 {
            continue;
        }
        for k in 0..set.len() {
            antecedent.clear();
            antecedent.extend(set.iter().enumerate().filter(|&(j, _)| j != k).map(|(_, &it)| it));
            let n_a = *index
                .get(antecedent.as_slice())
                .ok_or_else(|| Error::Internal("rules: an antecedent is missing from the frequent itemsets".into()))?;
            let lift = || rule_measures(sets.orders[i], n_a, item_orders(set[k]), total)[2].unwrap_or(0.0);
            if opts.min_confidence.reached(sets.orders[i] as u64, n_a as u64) && opts.min_lift.is_none_or(|l| lift() >= l) {
                rules.push((i as u32, k as u8, n_a));
                if rules.len() > opts.max_rules {
                    return Err(Error::Config(format!(
                        "rules: more than --max-rules {} rules at confidence >= {}; raise --min-confidence or --itemset-min-support, or raise --max-rules",
                        opts.max_rules, opts.min_confidence
                    )));
                }
            }
        }
    }
    let antecedent_of = |&(i, k, _): &(u32, u8, u32)| -> Vec<u32> {
        sets.of(i as usize).iter().enumerate().filter(|&(j, _)| j != k as usize).map(|(_, &it)| it).collect()
    };
    let consequent_of = |&(i, k, _): &(u32, u8, u32)| sets.of(i as usize)[k as usize];
    rules.par_sort_unstable_by(|x, y| {
        let (nx, ny) = (sets.orders[x.0 as usize] as u128, sets.orders[y.0 as usize] as u128);
        // confidence y vs x, exactly: ny / ay  vs  nx / ax
        (ny * x.2 as u128)
            .cmp(&(nx * y.2 as u128))
            .then_with(|| ny.cmp(&nx))
            .then_with(|| sets.of(x.0 as usize).len().cmp(&sets.of(y.0 as usize).len()))
            .then_with(|| antecedent_of(x).cmp(&antecedent_of(y)))
            .then_with(|| consequent_of(x).cmp(&consequent_of(y)))
    });
    // Rules "rule p-value" and "rule improvement" over every rule kept so far, then --rules-filter.
    let n_c = |r: &(u32, u8, u32)| item_orders(consequent_of(r)) as u64;
    let p_value: Vec<f64> = rules
        .iter()
        .map(|r| fisher::fisher_greater(sets.orders[r.0 as usize] as u64, r.2 as u64, n_c(r), total))
        .collect();
    let p_adjusted = match opts.rules_adjust {
        Adjust::Bonferroni => fisher::bonferroni(&p_value),
        Adjust::Holm => fisher::holm(&p_value),
        Adjust::Bh => fisher::benjamini_hochberg(&p_value),
        Adjust::None => p_value.clone(),
    };
    let improvement = rule_improvement(&rules, sets, &antecedent_of, &consequent_of);
    let keep: Vec<usize> = (0..rules.len())
        .filter(|&i| !opts.rules_filter.significant || p_adjusted[i] <= opts.rules_alpha)
        .filter(|&i| !opts.rules_filter.non_redundant || improvement[i] > 0.0)
        .collect();
    let rules: Vec<(u32, u8, u32)> = keep.iter().map(|&i| rules[i]).collect();
    let pick = |v: &[f64]| keep.iter().map(|&i| v[i]).collect::<Vec<f64>>();
    let mut offsets = vec![0i64];
    let mut codes = Vec::new();
    for r in &rules {
        codes.extend(antecedent_of(r));
        offsets.push(codes.len() as i64);
    }
    let consequents: Vec<IdxSize> = rules.iter().map(|r| consequent_of(r) as IdxSize).collect();
    let measures: Vec<[Option<f64>; 5]> = rules
        .iter()
        .map(|r| rule_measures(sets.orders[r.0 as usize], r.2, item_orders(consequent_of(r)), total))
        .collect();
    let measure = |name: &str, k: usize| Column::new(name.into(), measures.iter().map(|m| m[k]).collect::<Vec<_>>());
    Ok(DataFrame::new_infer_height(vec![
        list_column("antecedent", keys, &offsets, &codes)?,
        keys.take_slice(&consequents)?.with_name("consequent".into()),
        measure("support", 0),
        measure("confidence", 1),
        measure("lift", 2),
        measure("leverage", 3),
        measure("conviction", 4),
        Column::new("antecedent_orders".into(), rules.iter().map(|r| r.2 as i64).collect::<Vec<_>>()),
        Column::new(
            "consequent_orders".into(),
            rules.iter().map(|r| item_orders(consequent_of(r)) as i64).collect::<Vec<_>>(),
        ),
        Column::new("p_value".into(), pick(&p_value)),
        Column::new("p_adjusted".into(), pick(&p_adjusted)),
        Column::new("improvement".into(), pick(&improvement)),
    ])?)
}

/// Rule "rule improvement" (arules' `improvement`, whose `is.redundant` is improvement <= 0): a
/// rule's confidence minus the largest confidence of a rule among `rules` with the same
/// consequent whose antecedent is a non-empty proper subset of its own, or minus 0 when there is
/// none. Confidences are compared exactly (n × n_a' against n' × n_a); equal ones give exactly 0.
fn rule_improvement(
    rules: &[(u32, u8, u32)],
    sets: &ItemsetFacts,
    antecedent_of: &dyn Fn(&(u32, u8, u32)) -> Vec<u32>,
    consequent_of: &dyn Fn(&(u32, u8, u32)) -> u32,
) -> Vec<f64> {
    // (antecedent, consequent) -> (orders of both, orders of the antecedent)
    let counts: hashbrown::HashMap<(Vec<u32>, u32), (u64, u64)> = rules
        .iter()
        .map(|r| ((antecedent_of(r), consequent_of(r)), (sets.orders[r.0 as usize] as u64, r.2 as u64)))
        .collect();
    let mut by_consequent: hashbrown::HashMap<u32, Vec<usize>> = hashbrown::HashMap::new();
    for (i, r) in rules.iter().enumerate() {
        by_consequent.entry(consequent_of(r)).or_default().push(i);
    }
    let more_general = |a: &[u32], c: u32, i: usize| -> Vec<(u64, u64)> {
        if a.len() <= 16 {
            // Every non-empty proper subset of the antecedent, looked up.
            (1u32..(1u32 << a.len()) - 1)
                .filter_map(|mask| {
                    let sub: Vec<u32> = a.iter().enumerate().filter(|(j, _)| mask >> j & 1 == 1).map(|(_, &x)| x).collect();
                    counts.get(&(sub, c)).copied()
                })
                .collect()
        } else {
            // Long antecedents: the rules with the same consequent, tested for a proper subset.
            by_consequent[&c]
                .iter()
                .filter(|&&k| k != i)
                .map(|&k| (antecedent_of(&rules[k]), k))
                .filter(|(b, _)| b.len() < a.len() && b.iter().all(|x| a.binary_search(x).is_ok()))
                .map(|(_, k)| (sets.orders[rules[k].0 as usize] as u64, rules[k].2 as u64))
                .collect()
        }
    };
    rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let (a, c) = (antecedent_of(r), consequent_of(r));
            let (n, n_a) = (sets.orders[r.0 as usize] as u64, r.2 as u64);
            let best = more_general(&a, c, i)
                .into_iter()
                .max_by(|x, y| ((x.0 as u128) * (y.1 as u128)).cmp(&((y.0 as u128) * (x.1 as u128))));
            let conf = n as f64 / n_a as f64;
            match best {
                Some((m, m_a)) => conf - m as f64 / m_a as f64,
                None => conf,
            }
        })
        .collect()
}

/// `sequence_pairs`: item_a, item_b, window_days, eligible, followers, confidence = followers /
/// eligible, b_share = customers who bought B / customers with a purchase order, lift =
/// confidence / b_share, median_days_to_b; sorted by followers descending, then item_a, item_b,
/// window_days.
pub fn sequence_table(f: &SequenceFacts, keys: &Column) -> Result<DataFrame> {
    let c = f;
    let mut rows: Vec<usize> = (0..c.rows.len()).collect();
    rows.sort_unstable_by(|&x, &y| {
        let (x, y) = (&c.rows[x], &c.rows[y]);
        y.followers.cmp(&x.followers).then(x.a.cmp(&y.a)).then(x.b.cmp(&y.b)).then(x.window.cmp(&y.window))
    });
    let customers = c.customers.max(1) as f64;
    let pick = |f: &dyn Fn(usize) -> IdxSize| rows.iter().map(|&r| f(r)).collect::<Vec<IdxSize>>();
    let b_share = |r: usize| c.item_customers[c.rows[r].b as usize] as f64 / customers;
    let confidence = |r: usize| c.rows[r].followers as f64 / c.rows[r].eligible as f64;
    Ok(DataFrame::new_infer_height(vec![
        keys.take_slice(&pick(&|r| c.rows[r].a as IdxSize))?.with_name("item_a".into()),
        keys.take_slice(&pick(&|r| c.rows[r].b as IdxSize))?.with_name("item_b".into()),
        Column::new("window_days".into(), rows.iter().map(|&r| f.windows[c.rows[r].window] as i64).collect::<Vec<_>>()),
        Column::new("eligible".into(), rows.iter().map(|&r| c.rows[r].eligible as i64).collect::<Vec<_>>()),
        Column::new("followers".into(), rows.iter().map(|&r| c.rows[r].followers as i64).collect::<Vec<_>>()),
        Column::new("confidence".into(), rows.iter().map(|&r| confidence(r)).collect::<Vec<_>>()),
        Column::new("b_share".into(), rows.iter().map(|&r| b_share(r)).collect::<Vec<_>>()),
        Column::new("lift".into(), rows.iter().map(|&r| confidence(r) / b_share(r)).collect::<Vec<_>>()),
        Column::new("median_days_to_b".into(), rows.iter().map(|&r| c.rows[r].median_days).collect::<Vec<_>>()),
    ])?)
}

/// sequence_patterns (issue 34): one row per sequential pattern, most customers first, then fewer
/// steps, then fewer items, then the items step by step (item codes are in key order). `pattern` writes
/// each step's items in braces, apart by a space, steps joined by ` > `: `{1001} > {1002 1005}`.
pub fn sequence_patterns_table(f: &SequenceFacts, keys: &Column) -> Result<DataFrame> {
    let mut rows: Vec<usize> = (0..f.patterns.len()).collect();
    let items = |r: usize| f.patterns[r].0.iter().map(Vec::len).sum::<usize>();
    rows.sort_by(|&x, &y| {
        let key = |r: usize| (std::cmp::Reverse(f.patterns[r].1), f.patterns[r].0.len(), items(r));
        key(x).cmp(&key(y)).then_with(|| f.patterns[x].0.cmp(&f.patterns[y].0))
    });
    let text = |r: usize| -> Result<String> {
        let mut steps = Vec::with_capacity(f.patterns[r].0.len());
        for step in &f.patterns[r].0 {
            let mut names = Vec::with_capacity(step.len());
            for &it in step {
                names.push(keys.get(it as usize)?.str_value().to_string());
            }
            steps.push(format!("{{{}}}", names.join(" ")));
        }
        Ok(steps.join(" > "))
    };
    let base = f.pattern_customers.max(1) as f64;
    Ok(DataFrame::new_infer_height(vec![
        Column::new("pattern".into(), rows.iter().map(|&r| text(r)).collect::<Result<Vec<String>>>()?),
        Column::new("steps".into(), rows.iter().map(|&r| f.patterns[r].0.len() as i64).collect::<Vec<_>>()),
        Column::new("items".into(), rows.iter().map(|&r| items(r) as i64).collect::<Vec<_>>()),
        Column::new("customers".into(), rows.iter().map(|&r| f.patterns[r].1 as i64).collect::<Vec<_>>()),
        Column::new("support".into(), rows.iter().map(|&r| f.patterns[r].1 as f64 / base).collect::<Vec<_>>()),
    ])?)
}
