//! The spill's building blocks: order and customer partition ids, per-partition frame writers, a
//! map from item keys to provisional ids, exact item sums, and basket set files read back.

use std::path::{Path, PathBuf};

use hashbrown::HashMap;
use polars::prelude::*;

use crate::engine::spill::{read_words, spill_error, FrameFile, Prepared, SpillDir};
use crate::error::{Error, Result};
use crate::kernels::baskets::Csr;
use crate::kernels::codes;
use crate::kernels::money::Exact;
use crate::kernels::pairs::BasketPasses;

/// Which of `n` partitions a key goes to (a fixed mix of the key's bits, so both passes agree).
pub(super) fn partition_ids(keys: &Column, n: u32, seed: u64) -> Result<Vec<u32>> {
    let mix = |mut z: u64| {
        z = z.wrapping_add(seed).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let of = |h: u64| (((h >> 32) * n as u64) >> 32) as u32;
    match keys.dtype() {
        DataType::String => Ok(keys
            .str()?
            .iter()
            .map(|k| {
                let bytes = k.unwrap_or("").as_bytes();
                let h = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
                of(mix(h))
            })
            .collect()),
        _ => {
            let ints = keys.cast(&DataType::Int64)?;
            Ok(ints.i64()?.iter().map(|k| of(mix(k.unwrap_or(0) as u64))).collect())
        }
    }
}

/// One spill file per partition, each appended batch by batch (all with one schema).
pub(super) struct Writers {
    files: Vec<FrameFile>,
    schema: Option<Schema>,
    /// Each file's write buffer.
    pub buffer: usize,
}

impl Writers {
    pub(super) fn new(dir: &SpillDir, prefix: &str, n: u32, buffer: usize) -> Writers {
        Writers {
            files: (0..n).map(|p| FrameFile::new(dir.file(&format!("{prefix}-{p}.bin")), buffer)).collect(),
            schema: None,
            buffer,
        }
    }

    /// Append each row of `df` to the file of its partition (`ids`), keeping the rows' order.
    /// Returns the rows of each partition (`members[offsets[p]..offsets[p + 1]]`).
    pub(super) fn write_split(&mut self, df: &DataFrame, ids: &[u32]) -> Result<(Vec<usize>, Vec<u32>)> {
        if self.schema.is_none() {
            self.schema = Some(df.schema().as_ref().clone());
        }
        let n = self.files.len();
        let (offsets, rows) = codes::group_by_code(n, ids);
        let frame = Prepared::new(df)?;
        // The partitions' files are independent: gathered, encoded and written on every core (the
        // write, most of it the kernel's, is the scan's longest side).
        use rayon::prelude::*;
        self.files.par_iter_mut().enumerate().try_for_each(|(p, file)| {
            if offsets[p + 1] > offsets[p] {
                file.write_rows(&frame, &rows[offsets[p]..offsets[p + 1]])?;
            }
            Ok::<(), crate::error::Error>(())
        })?;
        Ok((offsets, rows))
    }

    /// Close every file; per partition, its file when it holds rows, and the schema.
    pub(super) fn finish(self) -> Result<(Vec<Option<PathBuf>>, Schema)> {
        let files = self.files.into_iter().map(|f| f.finish()).collect::<Result<_>>()?;
        Ok((files, self.schema.unwrap_or_default()))
    }
}

/// Item keys of all partitions: a provisional id per distinct key as partitions report them, and
/// at the end the key-order codes the memory engine gives the same items.
#[derive(Default)]
pub(super) struct KeyMap {
    ints: HashMap<i64, u32>,
    strs: HashMap<String, u32>,
    keys: Option<Column>,
}

impl KeyMap {
    /// Provisional ids of `keys` (distinct, non-null), new keys added.
    pub(super) fn ids(&mut self, keys: &Column) -> Result<Vec<u32>> {
        let start = self.keys.as_ref().map_or(0, |k| k.len()) as u32;
        let mut fresh: Vec<IdxSize> = Vec::new();
        let mut next = start;
        let mut add = |found: Option<u32>, row: usize, fresh: &mut Vec<IdxSize>| -> u32 {
            found.unwrap_or_else(|| {
                fresh.push(row as IdxSize);
                next += 1;
                next - 1
            })
        };
        let ids: Vec<u32> = match keys.dtype() {
            DataType::String => {
                let ca = keys.str()?;
                let mut out = Vec::with_capacity(ca.len());
                for (row, k) in ca.iter().enumerate() {
                    let k = k.unwrap_or("");
                    let id = add(self.strs.get(k).copied(), row, &mut fresh);
                    self.strs.entry(k.to_string()).or_insert(id);
                    out.push(id);
                }
                out
            }
            _ => {
                let ints = keys.cast(&DataType::Int64)?;
                let mut out = Vec::with_capacity(ints.len());
                for (row, k) in ints.i64()?.iter().enumerate() {
                    let k = k.unwrap_or(0);
                    let id = add(self.ints.get(&k).copied(), row, &mut fresh);
                    self.ints.entry(k).or_insert(id);
                    out.push(id);
                }
                out
            }
        };
        let new_keys = keys.take_slice(&fresh)?;
        match self.keys.as_mut() {
            Some(all) => {
                all.append(&new_keys)?;
            }
            None => self.keys = Some(new_keys),
        }
        Ok(ids)
    }

    /// The keys in key order, and each provisional id's code in that order.
    pub(super) fn finish(self) -> Result<Option<(Column, Vec<u32>)>> {
        let Some(keys) = self.keys else { return Ok(None) };
        let order = keys.arg_sort(SortOptions::default());
        let mut remap = vec![0u32; keys.len()];
        for (code, old) in order.iter().flatten().enumerate() {
            remap[old as usize] = code as u32;
        }
        let sorted = keys.take(&order)?;
        Ok(Some((sorted, remap)))
    }
}

/// Per provisional item id: purchase orders, revenue and quantity, merged over partitions.
#[derive(Default)]
pub(super) struct ItemSums {
    pub orders: Vec<u32>,
    pub revenue: Vec<Exact>,
    pub quantity: Vec<Exact>,
}

impl ItemSums {
    pub(super) fn add(&mut self, ids: &[u32], orders: &[u32], revenue: &[Exact], quantity: &[Exact]) {
        let n = ids.iter().map(|&i| i as usize + 1).max().unwrap_or(0).max(self.orders.len());
        self.orders.resize(n, 0);
        self.revenue.resize(n, 0);
        self.quantity.resize(n, 0);
        for (local, &id) in ids.iter().enumerate() {
            let id = id as usize;
            self.orders[id] += orders[local];
            self.revenue[id] = self.revenue[id].wrapping_add(revenue[local]);
            if let Some(q) = quantity.get(local) {
                self.quantity[id] = self.quantity[id].wrapping_add(*q);
            }
        }
    }
}

/// The sets of a [`SetFile`]; with `remap`, each item mapped through it and the set sorted.
pub(super) fn read_sets(path: &Path, remap: Option<&[u32]>) -> Result<Csr> {
    let words = read_words(path)?;
    let mut csr = Csr { offsets: vec![0], items: Vec::with_capacity(words.len()) };
    let mut at = 0;
    while at < words.len() {
        let n = words[at] as usize;
        let start = csr.items.len();
        match remap {
            Some(remap) => {
                csr.items.extend(words[at + 1..at + 1 + n].iter().map(|&id| remap[id as usize]));
                csr.items[start..].sort_unstable();
            }
            None => csr.items.extend_from_slice(&words[at + 1..at + 1 + n]),
        }
        csr.offsets.push(csr.items.len());
        at += 1 + n;
    }
    Ok(csr)
}

/// The baskets of a basket spill file, read block by block, each mapped to final item codes and
/// sorted (the pair kernel's streamed passes).
pub(super) struct BasketFile<'a> {
    pub path: PathBuf,
    pub remap: &'a [u32],
}

impl BasketPasses for BasketFile<'_> {
    type Error = Error;

    fn each(&self, f: &mut dyn FnMut(&[u32])) -> Result<()> {
        use std::io::Read;
        let file = std::fs::File::open(&self.path).map_err(|e| spill_error(&self.path, e))?;
        let mut r = std::io::BufReader::with_capacity(8 << 20, file);
        let (mut len, mut raw, mut items) = ([0u8; 4], Vec::new(), Vec::new());
        loop {
            match r.read_exact(&mut len) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
                Err(e) => return Err(spill_error(&self.path, e)),
            }
            raw.resize(u32::from_le_bytes(len) as usize * 4, 0);
            r.read_exact(&mut raw).map_err(|e| spill_error(&self.path, e))?;
            items.clear();
            items.extend(raw.chunks_exact(4).map(|w| self.remap[u32::from_le_bytes([w[0], w[1], w[2], w[3]]) as usize]));
            items.sort_unstable();
            f(&items);
        }
    }
}

pub(super) fn add_counts(into: &mut [u32], from: Option<&[u32]>) {
    if let Some(from) = from {
        into.iter_mut().zip(from).for_each(|(a, b)| *a += b);
    }
}
