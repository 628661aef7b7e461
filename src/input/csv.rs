//! Delimited text input: CSV and TSV files (plain, gzip or zstd), read by Polars' CSV reader into
//! the same lazy frame a Parquet file gives, so the roles, rules and tables are the same.
//!
//! A file's format comes from its name inside folders (`.csv`, `.tsv`, each optionally `.gz` or
//! `.zst`); a file named on the command line is recognised by its first bytes as well, so a dump
//! without the usual extension still reads, and a spreadsheet or JSON file gets a hint instead of
//! "not Parquet". Columns are typed by reading the whole file (integers, then floats, else
//! strings): a column whose late values are not numbers is a string column, as in the Parquet
//! file a careful export writes.

use std::io::Read;
use std::path::Path;

use polars::prelude::*;

use crate::error::{one_line, Error, Result};

/// How a text file is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// The format of one input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Parquet,
    /// Delimited text with a header row.
    Csv { separator: u8, compression: Compression },
}

impl Format {
    /// The format a file's name says, for files found in folders and globs: Parquet
    /// (`.parquet`, `.parq`, `.pq`), CSV or TSV (`.csv`, `.tsv`, with `.gz` or `.zst`); `None`
    /// for any other name.
    pub fn from_name(name: &str) -> Option<Format> {
        let lower = name.to_ascii_lowercase();
        if [".parquet", ".parq", ".pq"].iter().any(|ext| lower.ends_with(ext)) {
            return Some(Format::Parquet);
        }
        let (stem, compression) = match lower.rsplit_once('.') {
            Some((stem, "gz")) => (stem, Compression::Gzip),
            Some((stem, "zst")) => (stem, Compression::Zstd),
            _ => (lower.as_str(), Compression::None),
        };
        if stem.ends_with(".csv") {
            Some(Format::Csv { separator: b',', compression })
        } else if stem.ends_with(".tsv") {
            Some(Format::Csv { separator: b'\t', compression })
        } else {
            None
        }
    }

    /// The format of a file named on the command line: its name when that says Parquet, CSV or
    /// TSV, else its first bytes (Parquet's `PAR1`, a gzip or zstd stream, or text with a header
    /// line). Spreadsheets and JSON are refused with a hint on converting them (exit 3).
    pub fn of_named_file(path: &Path) -> Result<Format> {
        let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        if let Some(f) = Format::from_name(&name) {
            return Ok(f);
        }
        let head = read_head(path).map_err(|e| Error::Unreadable { file: path.to_path_buf(), reason: e.to_string() })?;
        if let Some(reason) = not_a_dump(&head) {
            return Err(Error::NotADump { file: path.to_path_buf(), reason });
        }
        let sniff = |compression| {
            let text = match compression {
                Compression::None => head.clone(),
                // The header line is in the first decompressed bytes.
                _ => decompress_prefix(&head, compression),
            };
            Format::Csv { separator: separator_of(&text), compression }
        };
        Ok(match head.as_slice() {
            [b'P', b'A', b'R', b'1', ..] => Format::Parquet,
            [0x1f, 0x8b, ..] => sniff(Compression::Gzip),
            [0x28, 0xb5, 0x2f, 0xfd, ..] => sniff(Compression::Zstd),
            _ if looks_like_text(&head) => sniff(Compression::None),
            _ => Format::Parquet,
        })
    }
}

/// Whether a file is read as CSV (its name says so, or its first bytes, for other names).
pub fn is_csv(path: &Path) -> bool {
    matches!(Format::of_named_file(path), Ok(Format::Csv { .. }))
}

/// The first 64 KiB of a file.
fn read_head(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(64 << 10);
    std::fs::File::open(path)?.take(64 << 10).read_to_end(&mut head)?;
    Ok(head)
}

/// What a file that is no dump is, and how to convert it: a spreadsheet or JSON.
fn not_a_dump(head: &[u8]) -> Option<String> {
    if head.starts_with(b"PK\x03\x04") {
        return Some(
            "this is a spreadsheet (xlsx), not Parquet or CSV; save it as CSV first, e.g. \
             python3 -c \"import pandas as pd; pd.read_excel('FILE.xlsx').to_csv('FILE.csv', index=False)\""
                .into(),
        );
    }
    looks_like_json(head).then(|| {
        "this is JSON, not Parquet or CSV; convert it first, e.g. \
         python3 -c \"import polars as pl; pl.read_ndjson('FILE.json').write_parquet('FILE.parquet')\" \
         (read_json for one JSON array)"
            .into()
    })
}

/// A hint for a file read as Parquet that is not: what it looks like instead (a spreadsheet, JSON
/// or CSV text), or `None` when it looks like nothing else (a damaged Parquet file).
pub fn not_parquet_hint(path: &Path) -> Option<String> {
    let head = read_head(path).ok()?;
    if head.starts_with(b"PAR1") {
        return None;
    }
    not_a_dump(&head).or_else(|| {
        looks_like_text(&head).then(|| {
            "this looks like CSV text, not Parquet: name the file .csv (or .tsv) to read it as CSV".to_string()
        })
    })
}

/// JSON lines or a JSON array: the first non-blank byte opens an object or an array.
fn looks_like_json(head: &[u8]) -> bool {
    matches!(head.iter().find(|b| !b.is_ascii_whitespace()), Some(b'{') | Some(b'['))
}

/// Text: a first line of printable UTF-8 (a header row) ended by a newline.
fn looks_like_text(head: &[u8]) -> bool {
    let Some(end) = head.iter().position(|&b| b == b'\n') else { return false };
    let line = &head[..end];
    !line.is_empty() && std::str::from_utf8(line).is_ok_and(|s| s.chars().all(|c| !c.is_control() || c == '\t' || c == '\r'))
}

/// The separator of a header line: a tab when it has one, a semicolon when it has more of them
/// than commas (spreadsheets in decimal-comma locales write those), else a comma.
fn separator_of(text: &[u8]) -> u8 {
    let line = text.split(|&b| b == b'\n').next().unwrap_or_default();
    let count = |c: u8| line.iter().filter(|&&b| b == c).count();
    if count(b'\t') > 0 {
        b'\t'
    } else if count(b';') > count(b',') {
        b';'
    } else {
        b','
    }
}

/// The first decompressed bytes of a compressed prefix (as much as it yields; empty on error).
fn decompress_prefix(head: &[u8], compression: Compression) -> Vec<u8> {
    let mut out = Vec::new();
    let mut reader: Box<dyn Read> = match compression {
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(head)),
        Compression::Zstd => match zstd::stream::read::Decoder::new(head) {
            Ok(d) => Box::new(d),
            Err(_) => return out,
        },
        Compression::None => return head.to_vec(),
    };
    let _ = reader.by_ref().take(64 << 10).read_to_end(&mut out);
    out
}

/// The error for a CSV file that cannot be read (exit 3, naming the file).
pub fn unreadable_csv(file: &Path, reason: impl std::fmt::Display) -> Error {
    Error::UnreadableCsv { file: file.to_path_buf(), reason: one_line(&reason.to_string()) }
}

/// The file's text: read whole, decompressed when it is compressed.
pub fn read_text(path: &Path, compression: Compression, bytes: Vec<u8>) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let res = match compression {
        Compression::None => return Ok(bytes),
        Compression::Gzip => flate2::read::MultiGzDecoder::new(bytes.as_slice()).read_to_end(&mut out),
        Compression::Zstd => zstd::stream::read::Decoder::new(bytes.as_slice()).and_then(|mut d| d.read_to_end(&mut out)),
    };
    res.map_err(|e| unreadable_csv(path, format!("cannot decompress: {e}")))?;
    Ok(out)
}

/// A lazy scan of a CSV file's text (header row; every row read to type the columns; empty
/// fields are null; dates stay strings for the timestamp role to read). A `.csv` file's separator
/// is taken from its header line (a semicolon or a tab where the header has them), and a
/// semicolon-separated file whose numbers have decimal commas (`2,55`) reads them as numbers.
/// `overwrite` types columns as the dump's other CSV files have them ([`super::load`]).
pub fn scan_text(path: &Path, text: Vec<u8>, separator: u8, overwrite: Option<SchemaRef>) -> Result<LazyFrame> {
    let reader = text_reader(text, separator);
    // The types are inferred once, here, and then given: Polars infers them again (one thread,
    // the whole text) every time a scan without a schema is collected, and a file is collected
    // several times (its timestamps checked, its lines read), which made reading a CSV dump take
    // about a second per million lines per pass.
    let mut inferred = reader().with_dtype_overwrite(overwrite).finish().map_err(|e| unreadable_csv(path, e))?;
    let schema = inferred.collect_schema().map_err(|e| unreadable_csv(path, e))?;
    reader().with_schema(Some(schema)).finish().map_err(|e| unreadable_csv(path, e))
}

/// The rows of a CSV file's text (its header row apart), counted without typing its columns.
pub fn count_rows(path: &Path, text: Vec<u8>, separator: u8) -> Result<u64> {
    let lf = text_reader(text, separator)().with_infer_schema_length(Some(0)).finish().map_err(|e| unreadable_csv(path, e))?;
    let df = lf.select([len().cast(DataType::UInt64).alias("rows")]).collect().map_err(|e| unreadable_csv(path, e))?;
    Ok(df.column("rows")?.u64()?.get(0).unwrap_or(0))
}

/// The reader of a CSV text: a header row, the separator its header line shows for a `.csv`
/// file, decimal commas when its numbers have them, empty fields null, dates left as strings.
fn text_reader(text: Vec<u8>, separator: u8) -> impl Fn() -> LazyCsvReader {
    let head = &text[..text.len().min(64 << 10)];
    let separator = if separator == b',' { separator_of(head) } else { separator };
    let decimal_comma = separator == b';' && decimal_commas(head);
    let buffer = polars_buffer::Buffer::from_vec(text);
    move || {
        LazyCsvReader::new_with_sources(ScanSources::Buffers(vec![buffer.clone()].into()))
            .with_has_header(true)
            .with_separator(separator)
            .with_decimal_comma(decimal_comma)
            .with_infer_schema_length(None)
            .with_try_parse_dates(false)
            .with_missing_is_null(true)
    }
}

/// Whether the numbers of a text use decimal commas: some `9,9` and no `9.9` after the header.
fn decimal_commas(text: &[u8]) -> bool {
    let body = match text.iter().position(|&b| b == b'\n') {
        Some(i) => &text[i + 1..],
        None => return false,
    };
    let between = |sep: u8| body.windows(3).filter(|w| w[0].is_ascii_digit() && w[1] == sep && w[2].is_ascii_digit()).count();
    between(b',') > 0 && between(b'.') == 0
}

/// The type every column of the dump's CSV files takes: their common type where files differ
/// (integers in one file and floats in another are floats; anything beside text is text), so a
/// folder of daily exports reads as one dump (a day without `C` invoices still has string ids).
pub fn unified_types(schemas: &[&Schema]) -> Schema {
    let mut out = Schema::default();
    for schema in schemas {
        for (name, dt) in schema.iter() {
            let merged = match out.get(name) {
                None => dt.clone(),
                Some(old) if old == dt => continue,
                Some(old) if old.is_primitive_numeric() && dt.is_primitive_numeric() => DataType::Float64,
                Some(_) => DataType::String,
            };
            out.with_column(name.clone(), merged);
        }
    }
    out
}
