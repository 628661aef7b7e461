//! The Spark engine: the line-level work runs on a Spark cluster, the tables are computed here.
//!
//! evergreen writes the PySpark runner (`runner.py`) and the SQL steps of `sql/` beside this file
//! (compiled into the binary) with a job file into a local work folder, and starts `spark-submit --master M runner.py
//! job.json`. The steps apply the same cleaning rules as [`super::orders`], with money in the same
//! fixed point ([`crate::kernels::money`]), and write per-customer, per-item and per-pair facts as
//! Parquet into the staging folder; one-row statistics come back in `result.json`. Here those
//! facts become [`Facts`], checked by the same rules ([`require_lines`], the money range, the
//! customers) in the same order as the local engines, and the shared table code does the rest.
//!
//! No line crosses into this process or Spark's driver: the facts are one row per customer
//! (about 60 bytes plus the ids), per item and per kept pair.

mod read;
mod submit;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde::Serialize;
use serde_json::{json, Value};

use super::spill::SpillDir;
use super::stopwatch::Stopwatch;
use super::Setup;
use crate::config::{Columns, Discount, SparkOptions};
use crate::error::{Error, Result};
use crate::facts::{
    col_names as c, Facts,
    Present,
};
use crate::input::Mode;

/// The runner and its SQL steps, written into the work folder at every run.
const FILES: [(&str, &str); 26] = [
    ("runner.py", include_str!("runner.py")),
    ("01_lines.sql", include_str!("sql/01_lines.sql")),
    ("02_line_stats.sql", include_str!("sql/02_line_stats.sql")),
    ("03_current_lines.sql", include_str!("sql/03_current_lines.sql")),
    ("04_orders.sql", include_str!("sql/04_orders.sql")),
    ("05_order_stats.sql", include_str!("sql/05_order_stats.sql")),
    ("06_customers.sql", include_str!("sql/06_customers.sql")),
    ("07_purchase_lines.sql", include_str!("sql/07_purchase_lines.sql")),
    ("08_favourites.sql", include_str!("sql/08_favourites.sql")),
    ("09_basket_items.sql", include_str!("sql/09_basket_items.sql")),
    ("10_items.sql", include_str!("sql/10_items.sql")),
    ("11_pair_threshold.sql", include_str!("sql/11_pair_threshold.sql")),
    ("12_fitting_baskets.sql", include_str!("sql/12_fitting_baskets.sql")),
    ("13_kept_items.sql", include_str!("sql/13_kept_items.sql")),
    ("14_pair_baskets.sql", include_str!("sql/14_pair_baskets.sql")),
    ("15_pairs.sql", include_str!("sql/15_pairs.sql")),
    ("16_pair_stats.sql", include_str!("sql/16_pair_stats.sql")),
    ("17_purchase_days.sql", include_str!("sql/17_purchase_days.sql")),
    ("18_pattern_orders.sql", include_str!("sql/18_pattern_orders.sql")),
    ("19_customer_days.sql", include_str!("sql/19_customer_days.sql")),
    ("20_day_totals.sql", include_str!("sql/20_day_totals.sql")),
    ("21_product_names.sql", include_str!("sql/21_product_names.sql")),
    ("22_customer_attrs.sql", include_str!("sql/22_customer_attrs.sql")),
    ("23_group_rows.sql", include_str!("sql/23_group_rows.sql")),
    ("24_hierarchy_pairs.sql", include_str!("sql/24_hierarchy_pairs.sql")),
    ("25_basket_customers.sql", include_str!("sql/25_basket_customers.sql")),
];

/// What the manifest says about the Spark job.
#[derive(Debug, Clone, Serialize)]
pub struct SparkReport {
    pub master: String,
    pub spark_version: String,
    pub default_parallelism: u64,
    /// Seconds from spark-submit to the job's end (JVM start-up included).
    pub job_seconds: f64,
    /// Bytes of the facts read back (Parquet), per fact (customers, items, pairs).
    pub fact_bytes: std::collections::BTreeMap<String, u64>,
    /// Rows of each fact.
    pub fact_rows: std::collections::BTreeMap<String, u64>,
    /// Seconds per step inside the job (session start, each one-row step, each staged fact).
    pub steps: std::collections::BTreeMap<String, f64>,
    /// Spark jobs the steps ran, and the stages among them that ran tasks (a stage whose shuffle
    /// output was reused is not counted): what a cluster schedules, beyond the rows.
    pub jobs: u64,
    pub stages: u64,
}

/// The inputs as Spark is given them: local files evergreen resolved and checked, or the user's
/// paths as they are when Spark alone can read them (`hdfs://`, `s3a://`...).
pub enum SparkInputs {
    Local { files: Vec<PathBuf>, base_path: Option<PathBuf> },
    Remote(Vec<String>),
}

/// A path given as a URI (`hdfs://`, `s3a://`, `file://`...): Spark reads it and checks it
/// against the roles; evergreen does not open it.
pub fn is_remote(path: &str) -> bool {
    match path.split_once("://") {
        Some((scheme, _)) => !scheme.is_empty() && scheme.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '+'),
        None => false,
    }
}

/// The roles the runner maps, with the input reader's rules ([`crate::input::load`]): for local
/// inputs the roles evergreen found present; for remote ones each role's name and whether the run
/// requires it (an optional role is used when the dump has the column).
fn roles(cols: &Columns, has: Option<Present>, mode: Mode, plan_items: Option<&str>) -> Value {
    let run = mode == Mode::Customers;
    let role = |present: Option<bool>, name: &str, required: bool| -> Value {
        match present {
            Some(true) => json!({"name": name, "required": true}),
            Some(false) => Value::Null,
            None => json!({"name": name, "required": required}),
        }
    };
    let item_name = cols.item.clone().unwrap_or_else(|| cols.product.name.clone());
    let items_from_item = plan_items == Some(c::ITEM);
    json!({
        "customer": role(has.map(|h| h.customer), &cols.customer.name, run || cols.customer.explicit),
        "order": json!({"name": cols.order, "required": true}),
        "timestamp": role(has.map(|h| h.timestamp), &cols.timestamp.name, run || cols.timestamp.explicit),
        "amount": role(has.map(|h| h.amount), &cols.amount.name, run || cols.amount.explicit),
        "product": role(has.map(|h| h.product), &cols.product.name, cols.product.explicit),
        "item": if items_from_item { role(has.map(|h| h.item), &item_name, true) } else { Value::Null },
        "cost": role(has.map(|h| h.cost), &cols.cost.name, cols.cost.explicit),
        "quantity": role(has.map(|h| h.quantity), &cols.quantity.name, cols.quantity.explicit),
        "discount": match &cols.discount {
            Some(Discount::Column(n)) => json!({"name": n, "required": true, "list_price": false}),
            Some(Discount::ListPrice(n)) => json!({"name": n, "required": true, "list_price": true}),
            None => Value::Null,
        },
    })
}

/// Run the Spark job and turn what it wrote into facts.
#[allow(clippy::too_many_arguments)]
pub fn facts(
    inputs: SparkInputs,
    cols: &Columns,
    s: &Setup,
    known: Option<Present>,
    mode: Mode,
    opts: &SparkOptions,
    work_root: &Path,
    sw: &mut Stopwatch,
) -> Result<(Facts, SparkReport)> {
    // Where the job runs, decided (and spark-submit, Java and the master checked) before any work.
    let launch = match &opts.service {
        Some(spool) => Launch::Service(spool),
        None => {
            let submit = find_submit(opts)?;
            check_java()?;
            check_master(&opts.master)?;
            Launch::Submit(submit)
        }
    };
    // Absolute paths: spark-submit runs in another folder, and the cluster resolves bare paths
    // against its default file system (HDFS on most clusters), so local paths travel as file:// URIs.
    let work_root = std::path::absolute(work_root).unwrap_or_else(|_| work_root.to_path_buf());
    let work = SpillDir::create(&work_root)?;
    for (name, text) in FILES {
        std::fs::write(work.file(name), text).map_err(|e| work_error(&work.path, e))?;
    }
    let local_facts = work.file("facts");
    // A remote staging folder gets a run-unique folder inside it: the only one the runner deletes.
    let staging = match &opts.staging {
        Some(root) => format!(
            "{}/{}",
            root.trim_end_matches('/'),
            work.path.file_name().map(|n| n.to_string_lossy().trim_start_matches('.').to_string()).unwrap_or_default()
        ),
        None => file_uri(&local_facts),
    };
    let (paths, base_path) = match &inputs {
        SparkInputs::Local { files, base_path } => (
            files.iter().map(|f| file_uri(f)).collect::<Vec<_>>(),
            base_path.as_ref().map(|b| file_uri(b)),
        ),
        SparkInputs::Remote(p) => (p.clone(), None),
    };
    let cutoff = s.as_of.map(crate::exprs::date_to_micros);
    let job = json!({
        "inputs": paths,
        "base_path": base_path,
        "roles": roles(cols, known, mode, s.plan.items),
        "where": cols.filter.where_sql,
        "product_name": cols.product_name,
        "customer_attrs": cols.customer_attrs,
        "groups": if s.plan.groups { cols.groups.iter().map(|g| json!({"name": g.name, "predicate": g.predicate})).collect() } else { Vec::new() },
        "periods": s.periods.map(|(a, b)| [[a.first_day(), a.last_day()], [b.first_day(), b.last_day()]]),
        "exclude_items": cols.filter.exclude_items.as_ref().map(|e| &e.ids),
        "plan": {
            "customers": s.plan.customers,
            "favourite": s.plan.favourite,
            "items": s.plan.items,
            "purchase_days": s.plan.purchase_days,
            "pairs": s.plan.pairs,
            "itemsets": s.plan.itemsets,
            "sequences": s.plan.sequences,
            "activity": s.plan.activity,
            "day_totals": s.plan.day_totals,
            "groups": s.plan.groups,
            "hierarchy_products": if s.plan.hierarchy { s.hierarchy_products } else { 0 },
            "product_names": cols.product_name.is_some(),
            "customer_attrs": if s.plan.customers { cols.customer_attrs.clone() } else { Vec::new() },
        },
        "basket": {
            "min_pair_orders": s.basket.min_pair_orders,
            "min_support": s.basket.min_support,
            "max_basket_items": s.basket.limits.max_basket_items,
        },
        "cutoff_micros": cutoff,
        "money_decimals": s.money_decimals,
        "zero_net_orders_purchase": s.zero_net_orders == crate::config::ZeroNetOrders::Purchase,
        "staging": staging,
        "staging_is_local": opts.staging.is_none(),
    });
    let job_file = work.file("job.json");
    std::fs::write(&job_file, serde_json::to_vec_pretty(&job).expect("json")).map_err(|e| work_error(&work.path, e))?;

    let started = Instant::now();
    let error_file = work.file("error.json");
    let result_file = work.file("result.json");
    // spark-submit's exit status and log, to explain a job that ended without a result.
    let submitted = match launch {
        Launch::Service(spool) => {
            run_in_service(spool, &job_file, &[&result_file, &error_file])?;
            None
        }
        Launch::Submit(submit) => {
            let log = work.file("spark-submit.log");
            let log_file = std::fs::File::create(&log).map_err(|e| work_error(&work.path, e))?;
            let mut cmd = Command::new(&submit);
            cmd.arg("--master").arg(&opts.master).arg("--name").arg("evergreen");
            for (k, v) in [
                ("spark.ui.enabled", "false"),
                ("spark.sql.catalogImplementation", "in-memory"),
                ("spark.sql.legacy.parquet.nanosAsLong", "true"),
            ] {
                if !opts.conf.iter().any(|(key, _)| key == k) {
                    cmd.arg("--conf").arg(format!("{k}={v}"));
                }
            }
            for (k, v) in &opts.conf {
                cmd.arg("--conf").arg(format!("{k}={v}"));
            }
            cmd.arg(work.file("runner.py")).arg(&job_file);
            cmd.stdin(Stdio::null()).stdout(log_file.try_clone().map_err(|e| work_error(&work.path, e))?).stderr(log_file);
            tracing::debug!(master = %opts.master, "submitting the Spark job ({})", submit.display());
            let status = cmd
                .status()
                .map_err(|e| Error::Config(format!("engine spark: cannot start {}: {e}", submit.display())))?;
            Some((status, log))
        }
    };
    sw.lap("spark_job");
    if error_file.exists() {
        return Err(runner_error(&error_file, s, cols));
    }
    if let Some((status, log)) = submitted {
        if !status.success() || !result_file.exists() {
            return Err(submit_error(&log, &opts.master, status.code()));
        }
    }
    let job_seconds = started.elapsed().as_secs_f64();
    let result: Value = serde_json::from_slice(&std::fs::read(&result_file).map_err(|e| work_error(&work.path, e))?)
        .map_err(|e| Error::Internal(format!("engine spark: result.json: {e}")))?;
    let (facts, fact_bytes) = read_facts(&result, &local_facts, s, cols, known)?;
    let fact_rows = [
        ("customers", facts.customers.as_ref().map(|f| f.len())),
        ("items", facts.items.as_ref().map(|f| f.orders.len())),
        ("pairs", facts.pairs.as_ref().map(|f| f.pairs.len())),
    ]
    .into_iter()
    .filter_map(|(k, n)| Some((k.to_string(), n? as u64)))
    .collect();
    sw.lap("spark_facts");
    let report = SparkReport {
        master: result["master"].as_str().unwrap_or(&opts.master).to_string(),
        spark_version: result["spark_version"].as_str().unwrap_or("").to_string(),
        default_parallelism: result["default_parallelism"].as_u64().unwrap_or(0),
        job_seconds,
        fact_bytes,
        fact_rows,
        steps: result["timings"]
            .as_object()
            .map(|o| o.iter().filter_map(|(k, v)| Some((k.clone(), v.as_f64()?))).collect())
            .unwrap_or_default(),
        jobs: result["spark_jobs"].as_u64().unwrap_or(0),
        stages: result["spark_stages"].as_u64().unwrap_or(0),
    };
    Ok((facts, report))
}

use read::read_facts;
use submit::{check_java, check_master, file_uri, find_submit, run_in_service, runner_error, submit_error, work_error, Launch};
