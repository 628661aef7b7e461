//! Dense integer codes for key columns (orders, customers, items), so that per-order,
//! per-customer and per-item work runs over plain arrays instead of repeated hash group-bys.
//!
//! Encoding is one pass; consecutive rows with the same key (dumps list an order's lines together)
//! reuse the previous code without a hash lookup.

use std::hash::Hash;

use hashbrown::HashMap;
use polars::prelude::*;

use crate::error::{Error, Result};

/// The code of a null key.
pub const NONE: u32 = u32::MAX;

/// Per-row codes of a key column and, per code, the first row holding that key.
#[derive(Debug, Clone, Default)]
pub struct Codes {
    /// Code of each row, [`NONE`] for a null key. Codes are 0..len() in order of first appearance,
    /// or in key order after [`Codes::sort_by_key`].
    pub codes: Vec<u32>,
    /// For each code, the first row holding its key.
    pub first_row: Vec<IdxSize>,
}

impl Codes {
    /// Number of distinct non-null keys.
    pub fn len(&self) -> usize {
        self.first_row.len()
    }

    pub fn is_empty(&self) -> bool {
        self.first_row.is_empty()
    }

    /// The key of every code, in code order.
    pub fn keys(&self, column: &Column) -> Result<Column> {
        Ok(column.take_slice(&self.first_row)?)
    }

    /// Renumber codes so that code order is key order (ascending): then `a < b` on codes is
    /// `a < b` on keys (numbers numerically, strings by bytes).
    pub fn sort_by_key(&mut self, column: &Column) -> Result<()> {
        let keys = self.keys(column)?;
        let order = keys.arg_sort(SortOptions::default());
        let mut remap = vec![0u32; self.len()];
        let mut first_row = Vec::with_capacity(self.len());
        for (new, old) in order.into_no_null_iter().enumerate() {
            remap[old as usize] = new as u32;
            first_row.push(self.first_row[old as usize]);
        }
        for c in self.codes.iter_mut().filter(|c| **c != NONE) {
            *c = remap[*c as usize];
        }
        self.first_row = first_row;
        Ok(())
    }
}

/// Encode a canonical key column (Int64 or String).
pub fn encode(column: &Column) -> Result<Codes> {
    match column.dtype() {
        DataType::Int64 => {
            let ca = column.i64()?;
            if let Some((lo, hi)) = min_max(ca) {
                // Keys in a compact range: a direct-address table instead of hashing.
                let span = (hi as i128 - lo as i128) as u128;
                if span < (ca.len() as u128 * 4).max(1 << 20) {
                    return Ok(encode_dense(ca, lo, span as usize + 1));
                }
            }
            if ca.null_count() == 0 {
                Ok(encode_iter(ca.downcast_iter().flat_map(|a| a.values().iter().map(|v| Some(*v))), ca.len()))
            } else {
                Ok(encode_iter(ca.iter(), ca.len()))
            }
        }
        DataType::String => Ok(encode_iter(column.str()?.iter(), column.len())),
        DataType::Null => Ok(Codes { codes: vec![NONE; column.len()], first_row: Vec::new() }),
        other => Err(Error::Internal(format!("cannot encode a key column of type {other}"))),
    }
}

/// The smallest and largest non-null key, in one pass.
fn min_max(ca: &Int64Chunked) -> Option<(i64, i64)> {
    let mut acc: Option<(i64, i64)> = None;
    let mut merge = |lo: i64, hi: i64| acc = Some(acc.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))));
    for arr in ca.downcast_iter() {
        let values = arr.values().as_slice();
        match arr.validity().filter(|v| v.unset_bits() > 0) {
            None if !values.is_empty() => {
                // A plain loop over the whole slice, which the compiler vectorizes.
                let (mut lo, mut hi) = (values[0], values[0]);
                for &k in values {
                    lo = lo.min(k);
                    hi = hi.max(k);
                }
                merge(lo, hi);
            }
            None => {}
            Some(valid) => {
                let (mut lo, mut hi, mut any) = (i64::MAX, i64::MIN, false);
                for (&k, ok) in values.iter().zip(valid.iter()) {
                    if ok {
                        lo = lo.min(k);
                        hi = hi.max(k);
                        any = true;
                    }
                }
                if any {
                    merge(lo, hi);
                }
            }
        }
    }
    acc
}

/// How many rows ahead the loops over scattered table entries ask for the entry they will need.
pub const PREFETCH_AHEAD: usize = 16;

/// Ask the CPU to fetch the cache line at `p` (a no-op off x86-64). Loops that read scattered
/// entries of a large table (ids or orders in no particular order) call it for the entry of a row a
/// few steps ahead, so those lookups overlap instead of waiting on memory one by one.
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint; it never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch(p as *const i8, std::arch::x86_64::_MM_HINT_T0)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Encoding through a table indexed by `key - lo` (keys span `span` values).
fn encode_dense(ca: &Int64Chunked, lo: i64, span: usize) -> Codes {
    // Prefetching pays only when the table outgrows the CPU caches and the keys jump around (a
    // dump sorted by order id walks the table in order): judge by the first few thousand keys.
    let first = ca.downcast_iter().next().map(|a| a.values().as_slice()).unwrap_or(&[]);
    let head = &first[..first.len().min(4096)];
    let scattered = span * size_of::<u32>() > 4 << 20 && !head.windows(2).all(|w| w[0] <= w[1]);
    if scattered {
        encode_dense_with::<true>(ca, lo, span)
    } else {
        encode_dense_with::<false>(ca, lo, span)
    }
}

fn encode_dense_with<const PREFETCH: bool>(ca: &Int64Chunked, lo: i64, span: usize) -> Codes {
    let mut table = vec![NONE; span];
    let mut codes = Vec::with_capacity(ca.len());
    let mut first_row: Vec<IdxSize> = Vec::new();
    let mut row = 0usize;
    let code_of = |table: &mut [u32], k: i64, row: usize, first_row: &mut Vec<IdxSize>| -> u32 {
        let slot = &mut table[(k - lo) as usize];
        if *slot == NONE {
            *slot = first_row.len() as u32;
            first_row.push(row as IdxSize);
        }
        *slot
    };
    for arr in ca.downcast_iter() {
        let values = arr.values().as_slice();
        let ahead = |table: &[u32], i: usize| {
            if let Some(&k) = values.get(i + PREFETCH_AHEAD).filter(|_| PREFETCH) {
                prefetch(table.as_ptr().wrapping_add(k.wrapping_sub(lo) as usize));
            }
        };
        match arr.validity() {
            None => {
                for (i, &k) in values.iter().enumerate() {
                    ahead(&table, i);
                    codes.push(code_of(&mut table, k, row, &mut first_row));
                    row += 1;
                }
            }
            Some(valid) => {
                for (i, (&k, ok)) in values.iter().zip(valid.iter()).enumerate() {
                    ahead(&table, i);
                    codes.push(if ok { code_of(&mut table, k, row, &mut first_row) } else { NONE });
                    row += 1;
                }
            }
        }
    }
    Codes { codes, first_row }
}

fn encode_iter<K: Hash + Eq + Copy>(values: impl Iterator<Item = Option<K>>, n: usize) -> Codes {
    let mut map: HashMap<K, u32> = HashMap::new();
    let mut codes = Vec::with_capacity(n);
    let mut first_row: Vec<IdxSize> = Vec::new();
    let mut last: Option<(K, u32)> = None;
    for (row, v) in values.enumerate() {
        let Some(k) = v else {
            codes.push(NONE);
            continue;
        };
        if let Some((lk, lc)) = last {
            if lk == k {
                codes.push(lc);
                continue;
            }
        }
        let next = first_row.len() as u32;
        let c = *map.entry(k).or_insert_with(|| {
            first_row.push(row as IdxSize);
            next
        });
        last = Some((k, c));
        codes.push(c);
    }
    Codes { codes, first_row }
}

/// The values of a numeric column in row order, read chunk by chunk where they lie (a column read
/// from Parquet holds one chunk per row group; gathering them into one buffer would copy tens of
/// megabytes into fresh memory). Nulls read as a fixed value.
pub struct Values<T: PolarsNumericType>(ChunkedArray<T>);

impl<T: PolarsNumericType> Values<T> {
    fn new(ca: &ChunkedArray<T>, null: T::Native) -> Self {
        if ca.null_count() == 0 {
            return Values(ca.clone());
        }
        Values(ca.iter().map(|v| Some(v.unwrap_or(null))).collect())
    }

    /// Every value, in row order.
    pub fn iter(&self) -> impl Iterator<Item = T::Native> + '_ {
        self.chunks().flat_map(|c| c.iter().copied())
    }

    /// The values as consecutive slices, in row order.
    pub fn chunks(&self) -> impl Iterator<Item = &[T::Native]> + '_ {
        self.0.downcast_iter().map(|a| a.values().as_slice())
    }

    /// The values cut at the same places as `like` (a column of as many values), so two columns
    /// can be walked chunk by chunk together: the chunks themselves when they already line up (the
    /// usual case for columns of one frame), otherwise slices of a copy gathered into `scratch`.
    pub fn chunks_like<'a, U: PolarsNumericType>(
        &'a self,
        like: &Values<U>,
        scratch: &'a mut Vec<T::Native>,
    ) -> Vec<&'a [T::Native]> {
        if self.chunks().map(|c| c.len()).eq(like.chunks().map(|c| c.len())) {
            return self.chunks().collect();
        }
        scratch.clear();
        scratch.extend(self.iter());
        let all: &'a [T::Native] = scratch;
        let mut at = 0;
        like.chunks()
            .map(|c| {
                at += c.len();
                &all[at - c.len()..at]
            })
            .collect()
    }
}

/// A Float64 column's values (nulls as 0).
pub fn f64_values(column: &Column) -> Result<Values<Float64Type>> {
    Ok(Values::new(column.f64()?, 0.0))
}

/// The physical i64 values of a Datetime column (nulls as `i64::MAX`).
pub fn i64_values(column: &Column) -> Result<Values<Int64Type>> {
    let phys = column.cast(&DataType::Int64)?;
    Ok(Values::new(phys.i64()?, i64::MAX))
}

/// Offsets of a CSR layout from per-group counts: `offsets[g]..offsets[g + 1]`.
pub fn offsets_from_counts(counts: &[u32]) -> Vec<usize> {
    let mut offsets = Vec::with_capacity(counts.len() + 1);
    let mut acc = 0usize;
    offsets.push(0);
    for &c in counts {
        acc += c as usize;
        offsets.push(acc);
    }
    offsets
}

/// Inputs at least this long are split across threads (below it the split costs more than it saves).
pub const PARALLEL_MIN: usize = 1 << 16;

/// A pointer that threads may share because each writes a disjoint region of the buffer.
pub(crate) struct DisjointWrites(pub(crate) *mut u32);
// SAFETY: every user writes only precomputed, non-overlapping sub-ranges of the buffer from each
// thread, and the buffer outlives the parallel loop.
unsafe impl Sync for DisjointWrites {}
unsafe impl Send for DisjointWrites {}

/// Group the indices of `codes` by their code (a counting sort): members of group `g` are
/// `members[offsets[g]..offsets[g + 1]]`, ascending; indices coded [`NONE`] are left out.
/// Large inputs are cut into one range per thread, counted and placed in parallel (each range's
/// members of a group follow the earlier ranges', so members still ascend). The counter of the code
/// a few indices ahead is fetched early: codes that jump around would otherwise wait on memory.
pub fn group_by_code(n_groups: usize, codes: &[u32]) -> (Vec<usize>, Vec<u32>) {
    use rayon::prelude::*;
    let len = codes.len();
    let parts = if len < PARALLEL_MIN { 1 } else { rayon::current_num_threads().max(1) };
    let bounds: Vec<usize> = (0..=parts).map(|p| len * p / parts).collect();
    let ahead = |counter: &[u32], i: usize| {
        if let Some(&g) = codes.get(i + PREFETCH_AHEAD).filter(|g| **g != NONE) {
            prefetch(counter.as_ptr().wrapping_add(g as usize));
        }
    };
    let mut counts: Vec<Vec<u32>> = (0..parts)
        .into_par_iter()
        .map(|p| {
            let mut c = vec![0u32; n_groups];
            for i in bounds[p]..bounds[p + 1] {
                ahead(&c, i);
                if codes[i] != NONE {
                    c[codes[i] as usize] += 1;
                }
            }
            c
        })
        .collect();
    // Offsets, and each range's counts turned into where its members of each group go. Members are
    // u32 indices, so positions fit in u32 too.
    let mut offsets = Vec::with_capacity(n_groups + 1);
    let mut at = 0usize;
    for g in 0..n_groups {
        offsets.push(at);
        for c in counts.iter_mut() {
            let n = c[g] as usize;
            c[g] = at as u32;
            at += n;
        }
    }
    offsets.push(at);
    let mut members = vec![0u32; at];
    let out = DisjointWrites(members.as_mut_ptr());
    let out = &out;
    counts.into_par_iter().enumerate().for_each(|(p, mut cursor)| {
        for i in bounds[p]..bounds[p + 1] {
            ahead(&cursor, i);
            if codes[i] != NONE {
                let slot = &mut cursor[codes[i] as usize];
                // SAFETY: `slot` walks this range's share of group g, which no other range writes
                // and which lies inside `members` (the shares were counted from the same codes).
                unsafe { out.0.add(*slot as usize).write(i as u32) };
                *slot += 1;
            }
        }
    });
    (offsets, members)
}
