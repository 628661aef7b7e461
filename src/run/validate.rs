//! `evergreen validate`: what a run would read and do, checked without writing anything; the
//! lines go through the one cleaning sequence ([`crate::engine::clean`]).

use std::path::PathBuf;

use serde::Serialize;

use crate::config::Config;
use crate::engine::clean;
use crate::engine::passes::orders;
use crate::error::Result;
use crate::facts::Counts;
use crate::input::{self, Mode};
use crate::output;

use super::{load_queries, output_tables};

/// What `evergreen validate` found: the files, the canonical columns, the counts a run would get,
/// the segment map and queries, and the output folder.
#[derive(Debug, Serialize)]
pub struct ValidateReport {
    pub files: Vec<String>,
    /// Canonical columns and their types, in order.
    pub columns: Vec<ColumnInfo>,
    pub as_of: Option<String>,
    pub counts: Counts,
    pub segments: String,
    pub bins: u8,
    pub queries: Vec<String>,
    /// `--out` and what a run would do to it (`None` without `--out`).
    pub out: Option<OutCheck>,
    /// With `--publish`: where a run would publish (the connection string without its password;
    /// checked to parse, not connected to).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish: Option<PublishCheck>,
}

/// `validate --publish`: the target as a run would use it.
#[derive(Debug, Serialize)]
pub struct PublishCheck {
    pub target: String,
    pub schema: String,
    pub mode: &'static str,
}

/// A canonical column of the dump.
#[derive(Debug, Serialize)]
pub struct ColumnInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub dtype: String,
}

/// The output folder as a run would find it.
#[derive(Debug, Serialize)]
pub struct OutCheck {
    pub path: String,
    /// `absent`, `empty`, `evergreen output` (replaced by a run), or `partition root`.
    pub state: &'static str,
}

impl ValidateReport {
    /// The report for people.
    pub fn text(&self) -> String {
        use std::fmt::Write;
        let mut r = String::new();
        let _ = writeln!(r, "files: {}", self.files.len());
        for f in &self.files {
            let _ = writeln!(r, "  {f}");
        }
        let _ = writeln!(r, "columns (canonical name: type):");
        for c in &self.columns {
            let _ = writeln!(r, "  {}: {}", c.name, c.dtype);
        }
        let k = &self.counts;
        let _ = writeln!(r, "as_of: {}", self.as_of.as_deref().unwrap_or("-"));
        let _ = writeln!(r, "lines: {} read, {} used, {} future, {} guest", k.lines_read, k.lines_used, k.future_lines, k.guest_lines);
        let rejected: Vec<String> = k.rejected.iter().map(|(why, n)| format!("{why} {n}")).collect();
        let _ = writeln!(r, "rejected lines: {}", rejected.join(", "));
        let _ = writeln!(
            r,
            "orders: {} kept, {} purchase, {} rejected for naming two customers",
            k.orders, k.purchase_orders, k.orders_rejected_conflict
        );
        let _ = writeln!(r, "segments: {} ({} bins, every cell in one segment)", self.segments, self.bins);
        let _ = writeln!(r, "queries: {}", self.queries.join(", "));
        if let Some(o) = &self.out {
            let _ = writeln!(r, "out: {} ({})", o.path, o.state);
        }
        if let Some(p) = &self.publish {
            let _ = writeln!(r, "publish: {} schema {} ({})", p.target, p.schema, p.mode);
        }
        let _ = writeln!(r, "ok: nothing written");
        r
    }
}

/// `evergreen validate`: check the inputs, roles, segment map and (with `--out`) the output
/// folder, and describe what a run would read, without writing anything.
pub fn validate(cfg: &Config) -> Result<ValidateReport> {
    let set = load_queries(cfg)?;
    let files = input::resolve_inputs(&cfg.inputs)?;
    let out = if cfg.out.as_os_str() == "-" {
        None
    } else {
        let paths: Vec<PathBuf> = files.files.iter().map(|f| f.path.clone()).collect();
        output::check_not_input(&cfg.out, &cfg.inputs, &paths, &output_tables())?;
        let state = if cfg.output.partition_by_as_of {
            output::check_partition_root(&cfg.out)?;
            "partition root"
        } else {
            output::check_owned(&cfg.out)?;
            match std::fs::read_dir(&cfg.out).map(|mut rd| rd.next().is_none()) {
                Err(_) => "absent",
                Ok(true) => "empty",
                Ok(false) => "evergreen output: a run replaces it",
            }
        };
        Some(OutCheck { path: cfg.out.display().to_string(), state })
    };
    let mut dump = input::load(files.files, &cfg.columns, Mode::Customers, false)?;
    let schema = dump.lines.collect_schema()?;
    let inputs = cfg.inputs.join(" ");
    let clean::Cleaned { lines: current, counts: mut k, as_of } =
        clean::clean_lines(dump.collect()?, dump.has, cfg.as_of, &inputs, &cfg.columns.amount.name)?;
    let index = orders::OrderIndex::build(&current, dump.has, true, cfg.output.money_decimals, cfg.columns.zero_net_orders)?;
    orders::count_orders(&mut k, &index, current.height());
    clean::require_lines(&inputs, &k)?;
    Ok(ValidateReport {
        files: dump.files.iter().map(|f| f.path.display().to_string()).collect(),
        columns: schema.iter().map(|(n, t)| ColumnInfo { name: n.to_string(), dtype: t.to_string() }).collect(),
        as_of: as_of.map(|d| d.to_string()),
        counts: k,
        segments: set.segments.origin.display().to_string(),
        bins: cfg.scores.bins,
        queries: set.others.iter().map(|q| q.name.clone()).collect(),
        out,
        publish: None,
    })
}

