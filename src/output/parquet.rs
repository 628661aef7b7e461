//! Tables as Parquet every reader opens alike (no negative zero, plain types), with stable bytes.

use polars::prelude::*;

/// Whether a float column holds a -0.0 (one vectorised pass over the raw values).
fn has_negative_zero(ca: &Float64Chunked) -> bool {
    ca.downcast_iter().any(|a| a.values().iter().any(|v| v.to_bits() == (-0.0f64).to_bits()))
}

/// A table as every reader opens it: strings as plain UTF-8 (not the string_view that pyarrow < 15
/// cannot read), unsigned integers as Int64, and `-0.0` as `0.0` in float columns.
pub fn for_every_reader(df: &DataFrame) -> PolarsResult<DataFrame> {
    let columns = df
        .columns()
        .iter()
        .map(|c| -> PolarsResult<Column> {
            Ok(match c.dtype() {
                d if d.is_unsigned_integer() => c.cast(&DataType::Int64)?,
                // -0.0 == 0.0, so both become +0.0; every other value (NaN included) is unchanged.
                // Columns without a -0.0 (nearly all) are kept as they are: no copy of a large table.
                DataType::Float64 if !has_negative_zero(c.f64()?) => c.clone(),
                DataType::Float64 => {
                    c.f64()?.apply_values(|v| if v == 0.0 { 0.0 } else { v }).into_series().into_column()
                }
                DataType::Float32 => {
                    c.f32()?.apply_values(|v| if v == 0.0 { 0.0 } else { v }).into_series().into_column()
                }
                _ => c.clone(),
            })
        })
        .collect::<PolarsResult<Vec<Column>>>()?;
    DataFrame::new(df.height(), columns)
}

/// A table as the bytes of its Parquet file, in the types every reader opens ([`for_every_reader`]).
pub fn table_bytes(df: &mut DataFrame) -> PolarsResult<Vec<u8>> {
    *df = for_every_reader(df)?;
    // One chunk per column, so the file layout (row groups, pages) never depends on how many
    // threads produced the frame.
    df.rechunk_mut();
    parquet_bytes(df)
}

/// Rows per Parquet row group (polars' own default size).
const ROW_GROUP_ROWS: usize = 512 * 512;

/// `df` as a Snappy-compressed Parquet file ([`ParallelWriter`]). The bytes depend only on `df`,
/// never on the number of threads.
fn parquet_bytes(df: &DataFrame) -> PolarsResult<Vec<u8>> {
    let mut bytes: Vec<u8> = Vec::new();
    let mut writer = ParallelWriter::new(&mut bytes, df.schema(), ROW_GROUP_ROWS)?;
    writer.write(df)?;
    writer.finish()?;
    Ok(bytes)
}

/// A Snappy-compressed Parquet file written a frame at a time. Polars' writer encodes and
/// compresses a frame's pages on one thread, which made the 2M-row pair table's write the slowest
/// stage of `basket` (and writing a state's part take seconds per ten million lines); here every
/// (row group, column) is encoded on the thread pool and the row groups are then written in order,
/// through polars' own file writer (same schema, statistics and metadata). Each frame is cut into
/// row groups of the rows given.
pub struct ParallelWriter<W: std::io::Write> {
    writer: polars_parquet::write::FileWriter<W>,
    types: Vec<polars_parquet::write::ParquetType>,
    encodings: Vec<Vec<polars_parquet::write::Encoding>>,
    options: polars_parquet::write::WriteOptions,
    rows_per_group: usize,
}

impl<W: std::io::Write> ParallelWriter<W> {
    /// A writer of frames with `schema` into `sink`, in row groups of `rows_per_group` rows (tables:
    /// polars' default; a state's parts: larger, which compresses better).
    pub fn new(sink: W, schema: &Schema, rows_per_group: usize) -> PolarsResult<Self> {
        use polars_parquet::write::{FileWriter, Version, WriteOptions};
        let options = WriteOptions {
            statistics: StatisticsOptions::default(),
            version: Version::V1,
            compression: ParquetCompression::Snappy.into(),
            data_page_size: None,
        };
        // The oldest compatibility level: the Arrow schema embedded in the file declares plain
        // (large) strings, which pyarrow < 15 reads, not string_view (polars' own writer embeds the
        // newest).
        let arrow_schema = schema.to_arrow(CompatLevel::oldest());
        let encodings = get_encodings(&arrow_schema).to_vec();
        let writer = FileWriter::try_new(sink, arrow_schema, options)?;
        let types = writer.parquet_schema().fields().to_vec();
        Ok(ParallelWriter { writer, types, encodings, options, rows_per_group: rows_per_group.max(1) })
    }

    /// `df`'s rows as the next row groups.
    pub fn write(&mut self, df: &DataFrame) -> PolarsResult<()> {
        use polars_parquet::parquet::error::ParquetError;
        use polars_parquet::write::{
            array_to_columns, fallible_streaming_iterator, CompressedPage, Compressor, DynIter, DynStreamingIterator,
        };
        use rayon::prelude::*;
        let (types, encodings, options, rows) = (&self.types, &self.encodings, self.options, self.rows_per_group);
        let (groups, width) = (df.height().div_ceil(rows), df.width());
        let encode = |task: usize| -> PolarsResult<Vec<Vec<CompressedPage>>> {
            let (g, c) = (task / width, task % width);
            let part = df.columns()[c].slice((g * rows) as i64, rows);
            let array = part.as_materialized_series().rechunk().to_arrow(0, CompatLevel::oldest());
            let mut leaves = Vec::new();
            for pages in array_to_columns(array, types[c].clone(), options, &encodings[c])? {
                let compressed = Compressor::new_from_vec(
                    pages.map(|p| p.map_err(|e| ParquetError::OutOfSpec(e.to_string()))),
                    options.compression,
                    vec![],
                );
                leaves.push(compressed.collect::<std::result::Result<Vec<CompressedPage>, ParquetError>>()?);
            }
            Ok(leaves)
        };
        // A few row groups at a time, encoded in parallel and written in order: the compressed
        // pages of one window are held, never the whole frame's (the bytes are the same either way).
        const WINDOW: usize = 4;
        for first in (0..groups).step_by(WINDOW) {
            let last = (first + WINDOW).min(groups);
            let encoded: Vec<PolarsResult<Vec<Vec<CompressedPage>>>> =
                (first * width..last * width).into_par_iter().map(encode).collect();
            let mut encoded = encoded.into_iter();
            for g in first..last {
                let mut columns = Vec::with_capacity(width);
                for _ in 0..width {
                    columns.extend(encoded.next().into_iter().flatten().flatten());
                }
                let n = rows.min(df.height() - g * rows);
                let pages = DynIter::new(columns.iter().map(|col_pages| {
                    Ok(DynStreamingIterator::new(fallible_streaming_iterator::convert(
                        col_pages.iter().map(PolarsResult::Ok),
                    )))
                }));
                self.writer.write(n as u64, pages)?;
            }
        }
        Ok(())
    }

    /// The footer written; the sink back.
    pub fn finish(mut self) -> PolarsResult<W> {
        self.writer.end(None)?;
        Ok(self.writer.into_inner())
    }
}
