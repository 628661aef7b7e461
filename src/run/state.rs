//! The incremental state (issue 33): `--state DIR` keeps, after each successful run, the lines
//! every input file gave after `--where` and the line rules (canonical columns, Parquet parts, one
//! per run), and the identity of every file read (path, size, modification time, checksum). The
//! next run with the same DIR reads only the input files the state does not hold, keeping their
//! lines in a new part, and the engines then read the state's parts as the dump: the same lines,
//! so the same facts and the same tables, byte for byte, as a full run over every file. Every input
//! file is parsed once, when its lines are kept (a CSV history is never parsed again).
//!
//! A run is full (every file read again, the state written anew) when there is no state yet, a
//! file the state holds changed or is gone, the settings that decide which lines are kept or how
//! they read differ, the new files read with other roles or column types, the state was written
//! by another version, or `--full-run` asks for it; with `--incremental-only` such a run stops
//! (exit 2) instead. The log says which, in one line, and the manifest's `state` records it.
//!
//! The state folder is written like an output ([`Staging`]: a lock, a temporary folder swapped in
//! whole, what a killed run left recovered by the next). It is swapped in right after the output,
//! so a crash before the output's swap leaves the previous output and the previous state.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::engine::stopwatch::Split;
use crate::engine::{clean, Increment};
use crate::error::{Error, Result};
use crate::facts::{col_names as c, Counts, Present};
use crate::input::{self, Format, InputFile, Mode, Resolved};
use crate::output::{ParallelWriter, Staging, MANIFEST, SUCCESS, TOOL};

/// The layout of the state folder; a state of another layout (or another evergreen version) is
/// not read: the run is full.
pub const STATE_FORMAT: u32 = 1;

/// Lines per slice when the kept lines are written into a part (about 0.5 GB at the memory
/// engine's bytes a line).
const PART_SLICE_LINES: usize = 4 << 20;

/// Lines per row group of a part: a slice in four, so its groups' columns are encoded in
/// parallel. On 10M shuffled lines (2 threads): groups of 262,144 lines write in 0.8 s into 266 MB,
/// of 1M in 0.85 s into 251 MB, of 4M (one group a slice, only its 5 columns in parallel) in 1.8 s
/// into 225 MB.
const PART_ROW_GROUP: usize = 1 << 20;

/// One input file as the state knows it: a changed size, modification time or checksum makes the
/// next run full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileIdentity {
    /// The absolute path.
    pub path: String,
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub modified_ns: i64,
    /// BLAKE3 of a Parquet file's footer (its schema, row groups and statistics), of a CSV file's
    /// bytes.
    pub checksum: String,
    /// The lines the file holds.
    pub lines: u64,
}

impl FileIdentity {
    /// The same file, unchanged: path, size, modification time and checksum (the lines are
    /// counted only when a file is read).
    fn same_file(&self, other: &FileIdentity) -> bool {
        (&self.path, self.size, self.modified_ns, &self.checksum) == (&other.path, other.size, other.modified_ns, &other.checksum)
    }
}

/// One part of the state: the kept lines of the files one run read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Part {
    pub file: String,
    pub lines: u64,
    pub bytes: u64,
}

/// The state folder's `_manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StateManifest {
    /// `evergreen`; with `files`, what lets a later run replace the folder.
    pub tool: String,
    pub version: String,
    /// Always `state`: an output folder is not a state.
    pub kind: String,
    pub format: u32,
    /// The parts' file names.
    pub files: Vec<String>,
    /// The settings the kept lines depend on (the job's roles and columns, `--where`,
    /// `--exclude-items`, `--ts-format`...): a run with other ones is full.
    pub settings: serde_json::Value,
    /// The roles the lines carry, their canonical columns and types, and the input columns they
    /// are made from with their types in the files.
    pub roles: Present,
    pub columns: Vec<(String, String)>,
    pub input_types: Vec<(String, String)>,
    /// The local layout the string timestamps were read in (found by evergreen), if any.
    pub ts_layout: Option<String>,
    /// Every input file read, in the order first read.
    pub inputs: Vec<FileIdentity>,
    pub parts: Vec<Part>,
    /// Lines of those files, those `--where` left out, and those each line rule rejected.
    pub lines_read: u64,
    pub filtered_lines: u64,
    pub rejected: BTreeMap<String, u64>,
    /// The analysis date of the run that wrote the state.
    pub as_of: Option<String>,
    /// The run that wrote the state and its output folder (whose manifest names the same id): a
    /// run killed after its output's swap left this state finished beside the folder, and the
    /// next run swaps it in ([`finished_commit`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<Commit>,
}

/// The run a state belongs to: an id, the output folder the run committed with it, and the id of
/// the state it was made from (none for a first state).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Commit {
    pub id: String,
    pub output: PathBuf,
    #[serde(default)]
    pub previous: Option<String>,
}

impl StateManifest {
    /// The kept lines (the parts' lines).
    pub fn lines_kept(&self) -> u64 {
        self.parts.iter().map(|p| p.lines).sum()
    }

    /// The parts' bytes on disk.
    pub fn bytes(&self) -> u64 {
        self.parts.iter().map(|p| p.bytes).sum()
    }
}

/// What the run's manifest records about the state (`state`).
#[derive(Debug, Clone, Serialize)]
pub struct StateReport {
    pub dir: String,
    /// `incremental` or `full`.
    pub run: &'static str,
    /// Why the run is full.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Input files the state already held (read from its parts), and the files read now.
    pub files_from_state: u64,
    pub files_read: u64,
    /// Lines of the input files read now (the new ones, or every one in a full run).
    pub lines_read: u64,
    /// Kept lines read from the state's parts.
    pub lines_from_state: u64,
    /// The state after this run: parts, kept lines and bytes.
    pub parts: u64,
    pub lines_kept: u64,
    pub bytes: u64,
    /// The id of this run's commit, which the state's manifest names too ([`Commit`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// A run with `--state`: the state folder being written, the files to read, and what the engines
/// add from the previous state.
pub struct Prepared {
    staging: Staging,
    manifest: StateManifest,
    pub report: StateReport,
    /// The input files the engine reads (the new ones, or all in a full run).
    pub source: Resolved,
    /// What the engines read from the previous state (incremental runs).
    pub increment: Option<Increment>,
    /// The commit id of the state this one replaces, if it has one ([`Commit::previous`]).
    previous_commit: Option<String>,
}

/// Why a run cannot be incremental: a full run says why (`Full`), bad input stops the run (`Fail`).
enum NotIncremental {
    Full(String),
    Fail(Error),
}
use NotIncremental::{Fail, Full};

/// The settings the kept lines depend on, as the state records them: the column roles and line
/// settings, and the job's mode. `--zero-net-orders`, the money decimals and every table option
/// act after the kept lines, so an incremental run takes them as they are given.
fn line_settings(cfg: &Config, mode: Mode) -> Result<serde_json::Value> {
    let mut columns = serde_json::to_value(&cfg.columns).map_err(|e| Error::Internal(e.to_string()))?;
    if let Some(m) = columns.as_object_mut() {
        m.remove("zero_net_orders");
    }
    // The excluded ids themselves (the manifest's columns name the file and count them only).
    let excluded = cfg.columns.filter.exclude_items.as_ref().map(|x| blake3::hash(x.ids.join("\n").as_bytes()).to_hex().to_string());
    Ok(serde_json::json!({ "mode": format!("{mode:?}"), "columns": columns, "excluded_ids": excluded }))
}

/// The identity of input file `f`: its absolute path, size, modification time, checksum and lines.
fn identity(f: &InputFile) -> Result<FileIdentity> {
    let unreadable = |e: std::io::Error| Error::Unreadable { file: f.path.clone(), reason: e.to_string() };
    let meta = std::fs::metadata(&f.path).map_err(unreadable)?;
    let modified_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    let checksum = match f.format {
        Format::Parquet => parquet_footer_hash(&f.path, meta.len()).map_err(unreadable)?,
        Format::Csv { .. } => {
            let mut h = blake3::Hasher::new();
            h.update_reader(std::fs::File::open(&f.path).map_err(unreadable)?).map_err(unreadable)?;
            h.finalize().to_hex().to_string()
        }
    };
    let path = std::path::absolute(&f.path).unwrap_or_else(|_| f.path.clone()).display().to_string();
    Ok(FileIdentity { path, size: meta.len(), modified_ns, checksum, lines: 0 })
}

/// BLAKE3 of a Parquet file's footer: the metadata length and `PAR1` of its last 8 bytes, and the
/// metadata before them (schema, row groups, column statistics).
fn parquet_footer_hash(path: &Path, size: u64) -> std::io::Result<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path)?;
    if size < 8 {
        return Ok(blake3::hash(&std::fs::read(path)?).to_hex().to_string());
    }
    let mut tail = [0u8; 8];
    f.seek(SeekFrom::Start(size - 8))?;
    f.read_exact(&mut tail)?;
    let meta_len = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]) as u64;
    let start = size.saturating_sub(8 + meta_len);
    let mut footer = Vec::with_capacity((size - start) as usize);
    f.seek(SeekFrom::Start(start))?;
    f.take(size - start).read_to_end(&mut footer)?;
    Ok(blake3::hash(&footer).to_hex().to_string())
}

/// Read the state manifest of `dir`: `None` when there is no finished state there (no folder, or
/// an empty one).
pub fn read_manifest(dir: &Path) -> Result<Option<StateManifest>> {
    let path = dir.join(MANIFEST);
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read(&path).map_err(|e| Error::Unreadable { file: path.clone(), reason: e.to_string() })?;
    let not_state = |why: String| Error::Output { path: dir.to_path_buf(), reason: format!("{why}; give another --state") };
    let v: serde_json::Value =
        serde_json::from_slice(&text).map_err(|e| not_state(format!("is no evergreen state folder ({MANIFEST}: {e})")))?;
    if v["tool"] != TOOL {
        return Err(not_state("holds a manifest evergreen did not write: not a state folder".into()));
    }
    if v["kind"] != "state" {
        return Err(not_state("is an evergreen output, not a state folder".into()));
    }
    let m: StateManifest =
        serde_json::from_value(v).map_err(|e| not_state(format!("is no evergreen state folder ({MANIFEST}: {e})")))?;
    Ok(dir.join(SUCCESS).exists().then_some(m))
}

/// The canonical columns and types of a dump's lines (without the `--where` column).
fn columns_of(dump: &input::Dump) -> Result<Vec<(String, String)>> {
    Ok(dump
        .lines
        .clone()
        .collect_schema()?
        .iter()
        .filter(|(n, _)| n.as_str() != c::KEEP)
        .map(|(n, dt)| (n.to_string(), dt.to_string()))
        .collect())
}

/// Prepare a run with `--state`: lock the state folder, decide whether the run is incremental, and
/// write the kept lines of the files it reads (the new ones, or all in a full run) into a new part.
/// The engine then reads the state's parts only: every input file is parsed once, in this step.
/// `None` without `--state`.
pub fn prepare(cfg: &Config, mode: Mode, resolved: &Resolved) -> Result<Option<Prepared>> {
    let Some(dir) = cfg.engine.state.clone() else { return Ok(None) };
    if cfg.engine.choice == crate::config::EngineChoice::Spark {
        return Err(Error::Config(
            "--state: the Spark engine makes full runs only; drop --state, or use a local engine (memory or partitioned)"
                .into(),
        ));
    }
    let staging =
        Staging::new_completing(&dir, Duration::from_secs(cfg.output.lock_timeout_secs), &|tmp| finished_commit(&dir, tmp))?;
    let settings = line_settings(cfg, mode)?;
    let ids: Vec<FileIdentity> = resolved.files.iter().map(identity).collect::<Result<_>>()?;
    let previous = read_manifest(&dir)?;
    let previous_commit = previous.as_ref().and_then(|p| p.commit.as_ref()).map(|c| c.id.clone());
    let decided = match &previous {
        None => Err(Full("no state yet".into())),
        Some(_) if cfg.engine.full_run => Err(Full("--full-run".into())),
        Some(p) => incremental(cfg, mode, p, &settings, resolved, &ids),
    };
    let dir_shown = dir.display().to_string();
    let (mut manifest, read, dump, mut report) = match decided {
        Ok((new, dump)) => {
            let prev = previous.expect("an incremental run has a previous state");
            tracing::info!("state {dir_shown}: incremental run, {} new of {} input files", new.len(), resolved.files.len());
            let mut manifest = StateManifest { version: env!("CARGO_PKG_VERSION").to_string(), ..prev.clone() };
            // The previous parts, linked (not copied) into the new state.
            for p in &prev.parts {
                link_or_copy(&dir.join(&p.file), &staging.dir().join(&p.file))?;
            }
            let report = StateReport {
                dir: dir_shown,
                run: "incremental",
                reason: None,
                files_from_state: prev.inputs.len() as u64,
                files_read: new.len() as u64,
                lines_read: 0,
                lines_from_state: prev.lines_kept(),
                parts: 0,
                lines_kept: 0,
                bytes: 0,
                commit: None,
            };
            manifest.inputs.extend(new.iter().map(|&k| ids[k].clone()));
            // A layout the new files' string timestamps were found in holds for every later file.
            manifest.ts_layout = prev.ts_layout.clone().or_else(|| dump.as_ref().and_then(|d| d.ts_layout.clone()));
            let read: Vec<usize> = (prev.inputs.len()..manifest.inputs.len()).collect();
            (manifest, read, dump, report)
        }
        Err(Fail(e)) => return Err(e),
        Err(Full(reason)) => {
            if cfg.engine.incremental_only {
                return Err(Error::Config(format!(
                    "--incremental-only: state {dir_shown} cannot make this run incremental: {reason}"
                )));
            }
            if previous.is_some() {
                tracing::warn!("state {dir_shown}: full run: {reason}");
            } else {
                tracing::info!("state {dir_shown}: full run: {reason}");
            }
            let dump = load(cfg, mode, resolved, None)?;
            let manifest = StateManifest {
                tool: TOOL.to_string(),
                version: env!("CARGO_PKG_VERSION").to_string(),
                kind: "state".into(),
                format: STATE_FORMAT,
                files: Vec::new(),
                settings,
                roles: dump.has,
                columns: columns_of(&dump)?,
                input_types: dump.read_types()?,
                ts_layout: dump.ts_layout.clone(),
                inputs: ids,
                parts: Vec::new(),
                lines_read: 0,
                filtered_lines: 0,
                rejected: BTreeMap::new(),
                as_of: None,
                commit: None,
            };
            let report = StateReport {
                dir: dir_shown,
                run: "full",
                reason: Some(reason),
                files_from_state: 0,
                files_read: resolved.files.len() as u64,
                lines_read: 0,
                lines_from_state: 0,
                parts: 0,
                lines_kept: 0,
                bytes: 0,
                commit: None,
            };
            let read = (0..resolved.files.len()).collect();
            (manifest, read, Some(dump), report)
        }
    };
    let before = manifest.lines_read;
    if let Some(dump) = dump {
        let lines = write_part(&dump, &mut manifest, &staging)?;
        for (k, n) in read.into_iter().zip(lines) {
            manifest.inputs[k].lines = n;
        }
    }
    report.lines_read = manifest.lines_read - before;
    // No kept line at all: the engine reads the input files themselves, and says what a full run says.
    let (source, increment) = if manifest.parts.is_empty() {
        (resolved.clone(), None)
    } else {
        let increment = Increment {
            parts: manifest.parts.iter().map(|p| staging.dir().join(&p.file)).collect(),
            has: manifest.roles,
            names: manifest.columns.iter().map(|(n, _)| n.clone()).collect(),
            filtered_lines: manifest.filtered_lines,
            rejected: manifest.rejected.clone(),
        };
        (Resolved { files: Vec::new(), skipped: resolved.skipped.clone() }, Some(increment))
    };
    Ok(Some(Prepared { staging, manifest, report, source, increment, previous_commit }))
}

/// Whether the run can be incremental over state `prev`: the new files (indexes into `resolved`)
/// and their dump (none when no file is new). `Err` says why not.
fn incremental(
    cfg: &Config,
    mode: Mode,
    prev: &StateManifest,
    settings: &serde_json::Value,
    resolved: &Resolved,
    ids: &[FileIdentity],
) -> std::result::Result<(Vec<usize>, Option<input::Dump>), NotIncremental> {
    if prev.format != STATE_FORMAT || prev.version != env!("CARGO_PKG_VERSION") {
        return Err(Full(format!("the state was written by evergreen {} (state format {})", prev.version, prev.format)));
    }
    if &prev.settings != settings {
        return Err(Full(format!("the line settings differ from the state's ({})", differing(&prev.settings, settings))));
    }
    let by_path: BTreeMap<&str, usize> = ids.iter().enumerate().map(|(k, id)| (id.path.as_str(), k)).collect();
    let mut known = vec![false; ids.len()];
    for old in &prev.inputs {
        match by_path.get(old.path.as_str()) {
            None => return Err(Full(format!("input file {} is no longer among the inputs", old.path))),
            Some(&k) if !ids[k].same_file(old) => return Err(Full(format!("input file {} changed", old.path))),
            Some(&k) => known[k] = true,
        }
    }
    let new: Vec<usize> = (0..ids.len()).filter(|&k| !known[k]).collect();
    if new.is_empty() {
        return Ok((new, None));
    }
    let files = Resolved { files: new.iter().map(|&k| resolved.files[k].clone()).collect(), skipped: Default::default() };
    let dump = match load(cfg, mode, &files, prev.ts_layout.clone()) {
        Ok(d) => d,
        // Not in the state's timestamp layout, but readable on their own: a full run finds the layout
        // of every file together (or says that none reads them all).
        Err(e) if prev.ts_layout.is_some() && load(cfg, mode, &files, None).is_ok() => {
            return Err(Full(format!("the new files' timestamps do not read in the state's layout ({e})")))
        }
        // A day without lines (a CSV header alone) cannot be typed on its own: the full run types it.
        Err(Error::Empty { .. }) => return Err(Full("a new file holds no line to type its columns by".into())),
        Err(e) => return Err(Fail(e)),
    };
    if dump.has != prev.roles {
        return Err(Full("the new files carry other roles than the state's files".into()));
    }
    let columns = columns_of(&dump).map_err(Fail)?;
    // Every input column must read with a type the state's files read it with (CSV files are typed
    // together in a full run: a new type would change how the old files read).
    let typed = dump.read_types().map_err(Fail)?;
    if columns != prev.columns || !typed.iter().all(|t| prev.input_types.contains(t)) {
        return Err(Full("the new files' columns read with other types than the state's".into()));
    }
    Ok((new, Some(dump)))
}

/// The first setting that differs between two recorded settings, for the log line: a column
/// setting's key, `excluded_ids` (the `--exclude-items` file's ids), or `mode` (the job).
fn differing(a: &serde_json::Value, b: &serde_json::Value) -> String {
    for key in ["mode", "excluded_ids"] {
        if a[key] != b[key] {
            return key.into();
        }
    }
    let (a, b) = (&a["columns"], &b["columns"]);
    if let (Some(a), Some(b)) = (a.as_object(), b.as_object()) {
        let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
        keys.sort();
        keys.dedup();
        if let Some(k) = keys.into_iter().find(|k| a.get(*k) != b.get(*k)) {
            return k.clone();
        }
    }
    "columns".into()
}

/// The dump of `files` as the engines read it (in the state's timestamp layout when it has one).
fn load(cfg: &Config, mode: Mode, files: &Resolved, ts_layout: Option<String>) -> Result<input::Dump> {
    let mut cols = cfg.columns.clone();
    cols.ts_format = cols.ts_format.or(ts_layout);
    input::load(files.files.clone(), &cols, mode, true)
}

/// A hard link of a previous part into the new state (a copy where links do not work).
fn link_or_copy(from: &Path, to: &Path) -> Result<()> {
    let err = |e: std::io::Error| Error::Output { path: to.to_path_buf(), reason: format!("cannot keep state part: {e}") };
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).map_err(err)?;
    }
    Ok(())
}

/// Write the kept lines of `dump` (after `--where` and the line rules, before the future rule,
/// which each run applies at its own as-of) as a new part, a slice at a time; count what the
/// rules removed into `m`.
fn write_part(dump: &input::Dump, m: &mut StateManifest, staging: &Staging) -> Result<Vec<u64>> {
    let name = part_file(m.parts.iter().map(|p| part_number(&p.file) + 1).max().unwrap_or(0));
    let path = staging.dir().join(&name);
    let out_err = |e: PolarsError| Error::Output { path: path.clone(), reason: crate::error::one_line(&e.to_string()) };
    let mut writer = None;
    let mut kept = 0u64;
    let mut counts = Counts::default();
    let mut per_file = Vec::with_capacity(dump.files.len());
    // Every slice in the dump's types (files may read a column with different types: the part
    // holds them as the engine's union would).
    let schema = dump.lines.clone().collect_schema()?;
    let cast: Vec<Expr> =
        schema.iter().filter(|(n, _)| n.as_str() != c::KEEP).map(|(n, dt)| col(n.as_str()).cast(dt.clone())).collect();
    // Seconds reading slices, applying the line rules, casting, writing (logged at debug level).
    let mut split = Split::<4>::start();
    for file in 0..dump.files.len() {
        let mut offset = 0;
        loop {
            let raw = dump.collect_slice(file, offset, PART_SLICE_LINES)?;
            split.tick(0);
            let n = raw.height();
            offset += n;
            let (k, _, valid) = clean::reject_invalid_lines(raw, dump.has)?;
            counts.merge(&k);
            split.tick(1);
            if valid.height() > 0 {
                let valid = valid.lazy().select(cast.clone()).collect()?;
                split.tick(2);
                if writer.is_none() {
                    let f = std::fs::File::create(&path)
                        .map_err(|e| Error::Output { path: path.clone(), reason: e.to_string() })?;
                    // Row groups encoded on every thread (polars' batched writer takes one).
                    let sink = std::io::BufWriter::with_capacity(1 << 20, f);
                    writer = Some(ParallelWriter::new(sink, valid.schema(), PART_ROW_GROUP).map_err(out_err)?);
                }
                kept += valid.height() as u64;
                writer.as_mut().expect("created above").write(&valid).map_err(out_err)?;
                split.tick(3);
            }
            if n < PART_SLICE_LINES {
                break;
            }
        }
        per_file.push(offset as u64);
    }
    m.lines_read += counts.lines_read;
    m.filtered_lines += counts.filtered_lines;
    for (reason, n) in counts.rejected {
        *m.rejected.entry(reason).or_default() += n;
    }
    let [read, rules, cast, write] = split.secs;
    tracing::debug!(read, rules, cast, write, "state part {name}: {kept} kept lines");
    if let Some(w) = writer {
        w.finish().map_err(out_err)?.into_inner().map_err(|e| Error::Output { path: path.clone(), reason: e.to_string() })?;
        std::fs::File::open(&path).and_then(|f| f.sync_all()).map_err(|e| Error::Output { path: path.clone(), reason: e.to_string() })?;
        let bytes = std::fs::metadata(&path).map(|md| md.len()).unwrap_or(0);
        m.parts.push(Part { file: name, lines: kept, bytes });
    }
    Ok(per_file)
}

/// The file name of part `n` (`lines-00003.parquet`); without the extension, what an input glob
/// must not match (the run checks it before reading anything).
fn part_file(n: u32) -> String {
    format!("{}.parquet", part_stem(n))
}

/// A part's name without `.parquet`.
pub fn part_stem(n: u32) -> String {
    format!("lines-{n:05}")
}

/// The number in a part's name (`lines-00003.parquet`: 3).
fn part_number(file: &str) -> u32 {
    file.trim_start_matches("lines-").trim_end_matches(".parquet").parse().unwrap_or(0)
}

/// Whether a state folder a killed run left finished beside the state `dir` is the one to swap
/// in: it was made from the state now in `dir` (so it is newer, never a previous state a swap moved
/// out), and the output folder it names holds a manifest naming its commit id (so the run was
/// killed between the two swaps). Then the state's swap completes (issue 33: the output and the
/// state stay together); any other leftover is removed.
fn finished_commit(dir: &Path, tmp: &Path) -> bool {
    let commit = |p: &Path| read_manifest(p).ok().flatten().and_then(|m| m.commit);
    let Some(Commit { id, output, previous }) = commit(tmp) else { return false };
    let current = commit(dir).map(|c| c.id);
    if previous != current {
        return false;
    }
    let out = std::fs::read(output.join(MANIFEST)).ok().and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
    out.is_some_and(|m| m["state"]["commit"].as_str() == Some(id.as_str()))
}

impl Prepared {
    /// Before the output's swap: the state finished in its temporary folder (manifest with the
    /// run's as-of and commit, `_SUCCESS`), naming the output folder `output` it goes with.
    pub fn ready(&mut self, output: &Path, as_of: Option<chrono::NaiveDate>) -> Result<()> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let id = format!("{}-{nanos}", std::process::id());
        self.manifest.as_of = as_of.map(|d| d.to_string());
        self.manifest.files = self.manifest.parts.iter().map(|p| p.file.clone()).collect();
        self.manifest.commit = Some(Commit { id, output: output.to_path_buf(), previous: self.previous_commit.clone() });
        let json = serde_json::to_string_pretty(&self.manifest).map_err(|e| Error::Internal(e.to_string()))?;
        self.staging.write_text(MANIFEST, &json)?;
        self.staging.seal()
    }

    /// Swap the new state into place, after the output ([`Prepared::ready`] first).
    pub fn commit(self) -> Result<StateReport> {
        let report = self.final_report();
        self.staging.commit()?;
        Ok(report)
    }

    /// The report with the state's size after this run.
    pub fn final_report(&self) -> StateReport {
        StateReport {
            parts: self.manifest.parts.len() as u64,
            lines_kept: self.manifest.lines_kept(),
            bytes: self.manifest.bytes(),
            commit: self.manifest.commit.as_ref().map(|c| c.id.clone()),
            ..self.report.clone()
        }
    }
}
