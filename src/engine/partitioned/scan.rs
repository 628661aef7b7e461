//! Phase 1: stream the dump a slice at a time and partition its valid lines by order (a hash of
//! the order id), so every order lies whole in one partition. The line rules run on each slice.

use std::path::PathBuf;

use polars::prelude::*;

use super::parts::{partition_ids, Writers};
use crate::engine::clean;
use crate::engine::passes::orders;
use crate::engine::spill::{buffer_size, SpillDir};
use crate::engine::stopwatch::Split;
use crate::engine::MEMORY_BYTES_PER_LINE;
use crate::error::Result;
use crate::facts::{col_names as c, Counts, Present};
use crate::input::Dump;

/// The lines spilled by order partition, with the line rules' counts and the latest timestamp.
pub(super) struct Scanned {
    pub files: Vec<Option<PathBuf>>,
    pub schema: Schema,
    pub counts: Counts,
    pub max_ts: Option<i64>,
}

/// Phase 1 over `dump` (`file_lines`: each file's lines, from its footer) into `n_parts` order
/// partitions of `spill`; a slice of lines takes about a quarter of `limit`.
pub(super) fn partition_by_order(
    dump: &Dump,
    file_lines: &[u64],
    has: Present,
    n_parts: u32,
    limit: u64,
    spill: &SpillDir,
) -> Result<Scanned> {
    let slice = (limit / (4 * MEMORY_BYTES_PER_LINE)).clamp(1 << 14, 8 << 20) as usize;
    // Every rejection reason is reported, 0 when no line has it (as the memory engine does).
    let mut counts = Counts::default();
    for reason in orders::REASONS {
        counts.rejected.insert(reason.to_string(), 0);
    }
    let mut max_ts: Option<i64> = None;
    let mut writers = Writers::new(spill, "lines", n_parts, buffer_size(limit, n_parts));
    // Seconds reading the first slice, and then reading and writing side by side (logged at debug level).
    let mut split = Split::<4>::start();
    // The slices in reading order; the next one is read while the current one is written.
    let slices: Vec<(usize, usize)> = file_lines
        .iter()
        .enumerate()
        .flat_map(|(file, &n)| (0..n as usize).step_by(slice).map(move |offset| (file, offset)))
        .collect();
    let read = |k: usize| {
        let t = std::time::Instant::now();
        let lines = slices.get(k).map(|&(file, offset)| dump.collect_slice(file, offset, slice)).transpose();
        (lines, t.elapsed().as_secs_f64())
    };
    // Seconds of each side, summed over the slices: decoding, the line rules, partition ids, writing.
    let mut sides = [0f64; 4];
    let (first, _) = read(0);
    let mut next = first?;
    for k in 0..slices.len() {
        let Some(raw) = next.take() else { break };
        split.tick(0);
        let ((ahead, read_secs), written) = rayon::join(
            || read(k + 1),
            || -> Result<(Counts, Option<i64>, [f64; 3])> {
                let t = std::time::Instant::now();
                let (part_counts, part_max, valid) = clean::reject_invalid_lines(raw, has)?;
                let rules = t.elapsed().as_secs_f64();
                let (mut ids_secs, mut write_secs) = (0.0, 0.0);
                if valid.height() > 0 {
                    let t = std::time::Instant::now();
                    let ids = partition_ids(valid.column(c::ORDER)?, n_parts, 0)?;
                    ids_secs = t.elapsed().as_secs_f64();
                    let t = std::time::Instant::now();
                    writers.write_split(&valid, &ids)?;
                    write_secs = t.elapsed().as_secs_f64();
                }
                Ok((part_counts, part_max, [rules, ids_secs, write_secs]))
            },
        );
        let (part_counts, part_max, secs) = written?;
        sides[0] += read_secs;
        for (side, s) in sides[1..].iter_mut().zip(secs) {
            *side += s;
        }
        counts.merge(&part_counts);
        max_ts = max_ts.max(part_max);
        next = ahead?;
        split.tick(3);
    }
    tracing::debug!(
        first_read = split.secs[0],
        read_and_write = split.secs[3],
        slices = slices.len(),
        decode = sides[0],
        line_rules = sides[1],
        partition_ids = sides[2],
        write = sides[3],
        "scan and partition"
    );
    let (files, schema) = writers.finish()?;
    Ok(Scanned { files, schema, counts, max_ts })
}
