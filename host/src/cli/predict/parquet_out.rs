//! Parquet output for `edgewood predict` (`-o predictions.parquet`): the columns the
//! CSV output has, with the same names, in row groups written as the rows come.
//!
//! A classifier's `label` is a string column (the text the CSV holds); probabilities,
//! regression values and `--explain` contributions are DOUBLE columns holding the very
//! f64s the CSV prints in shortest round-trip form; `--leaves` columns are unsigned
//! 32-bit integers. Every column is REQUIRED: an output value is never missing.
//!
//! The prediction threads leave each chunk's output as columns ([`Columns`]); the
//! writing thread gathers chunks into a row group of up to [`ROW_GROUP_VALUES`] values
//! and writes it, so memory stays that of one row group whatever the input's size.
//! (Encoding row groups on a thread of their own was tried and dropped: on two cores,
//! 1M Iris rows, same runs alternated, 0.28 s against 0.29 s median, with 4 MB more
//! memory; the work is the same, only moved.)
//! Pages are Snappy-compressed (pure Rust; pyarrow's default too) and
//! dictionary-encoded, the parquet crate's default: a forest's probabilities repeat a
//! lot; a column whose distinct values pass 1 MiB falls back to plain values.

use std::io::Write;
use std::sync::Arc;

use anyhow::Context;
use parquet::basic::{Compression, LogicalType, Repetition, Type as PhysicalType};
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int32Type};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;

/// Values (rows × columns) in a row group: 8 MB of doubles, 200,000 rows of a
/// three-class forest's output.
const ROW_GROUP_VALUES: usize = 1 << 20;

/// The most rows in a row group (DuckDB writes about 123,000; pyarrow up to a million).
const MAX_GROUP_ROWS: usize = 1 << 17;

/// Labels handed to the writer at once.
const LABEL_BATCH: usize = 4096;

/// A chunk's output as columns, each `rows` long, one after the other.
#[derive(Default)]
pub struct Columns {
    pub rows: usize,
    /// Each row's class (classifiers only).
    pub classes: Vec<u32>,
    /// The DOUBLE columns: predictions, then contributions.
    pub floats: Vec<f64>,
    /// The leaf columns, as the INT32 values of unsigned integers.
    pub leaves: Vec<i32>,
}

impl Columns {
    /// Empties the columns and makes room for `rows` rows of `floats` DOUBLE and
    /// `leaves` leaf columns, every value of which is to be set (what the last chunk
    /// left there is not zeroed first).
    pub fn reset(&mut self, rows: usize, floats: usize, leaves: usize) {
        self.rows = rows;
        self.classes.clear();
        self.floats.resize(rows * floats, 0.0);
        self.leaves.resize(rows * leaves, 0);
    }
}

/// The shape of the output: which of its columns are which.
pub struct Shape<'a> {
    /// Every column's name, as the CSV header has them.
    pub names: &'a [String],
    /// Each class label, for a classifier (whose first column is `label`).
    pub labels: Option<Vec<&'a str>>,
    /// The number of `leaf_<tree>` columns, which come last.
    pub leaves: usize,
}

/// A label as a Parquet string whose copies cost no count: leaked, a few bytes per
/// class for the life of the process, so that each row's copy of it (a `ByteArray`
/// per row, as the writer takes them) is that of a pointer, not an atomic increment
/// and decrement (a tenth of the writing thread's time on the Iris bench).
fn static_label(label: &str) -> ByteArray {
    let leaked: &'static [u8] = Box::leak(label.as_bytes().to_vec().into_boxed_slice());
    ByteArray::from(bytes::Bytes::from_static(leaked))
}

/// A Parquet file being written.
pub struct ParquetOutput<W: Write + Send> {
    writer: SerializedFileWriter<W>,
    /// The output as messages name it.
    name: String,
    /// The class labels as Parquet strings (classifiers only).
    labels: Option<Vec<ByteArray>>,
    /// The row group being gathered: `rows` rows of each column.
    rows: usize,
    group_rows: usize,
    classes: Vec<u32>,
    floats: Vec<Vec<f64>>,
    leaves: Vec<Vec<i32>>,
    /// Labels on their way to the writer.
    label_batch: Vec<ByteArray>,
}

impl<W: Write + Send> ParquetOutput<W> {
    /// Starts a Parquet file of `shape`'s columns on `out`, named `name` in messages.
    pub fn new(out: W, name: &str, shape: &Shape<'_>) -> anyhow::Result<ParquetOutput<W>> {
        let n_labels = usize::from(shape.labels.is_some());
        let n_floats = shape.names.len() - n_labels - shape.leaves;
        let mut fields = Vec::with_capacity(shape.names.len());
        for (k, name) in shape.names.iter().enumerate() {
            let column = if k < n_labels {
                Type::primitive_type_builder(name, PhysicalType::BYTE_ARRAY)
                    .with_logical_type(Some(LogicalType::String))
            } else if k < n_labels + n_floats {
                Type::primitive_type_builder(name, PhysicalType::DOUBLE)
            } else {
                Type::primitive_type_builder(name, PhysicalType::INT32)
                    .with_logical_type(Some(LogicalType::integer(32, false)))
            };
            fields.push(Arc::new(
                column.with_repetition(Repetition::REQUIRED).build()?,
            ));
        }
        let schema = Type::group_type_builder("predictions")
            .with_fields(fields)
            .build()?;
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        let writer = SerializedFileWriter::new(out, Arc::new(schema), Arc::new(props))
            .map_err(io_first)
            .with_context(|| format!("cannot write {name}"))?;
        let width = shape.names.len().max(1);
        Ok(ParquetOutput {
            writer,
            name: name.to_string(),
            labels: shape
                .labels
                .as_ref()
                .map(|labels| labels.iter().map(|&l| static_label(l)).collect()),
            rows: 0,
            group_rows: (ROW_GROUP_VALUES / width).clamp(1, MAX_GROUP_ROWS),
            classes: Vec::new(),
            floats: vec![Vec::new(); n_floats],
            leaves: vec![Vec::new(); shape.leaves],
            label_batch: Vec::with_capacity(LABEL_BATCH),
        })
    }

    /// Adds a chunk's rows, writing a row group when enough are gathered.
    pub fn append(&mut self, columns: &Columns) -> anyhow::Result<()> {
        let n = columns.rows;
        if n == 0 {
            return Ok(());
        }
        self.classes.extend_from_slice(&columns.classes);
        for (k, column) in self.floats.iter_mut().enumerate() {
            column.extend_from_slice(&columns.floats[k * n..(k + 1) * n]);
        }
        for (t, column) in self.leaves.iter_mut().enumerate() {
            column.extend_from_slice(&columns.leaves[t * n..(t + 1) * n]);
        }
        self.rows += n;
        if self.rows >= self.group_rows {
            self.write_group()
                .map_err(io_first)
                .with_context(|| format!("cannot write {}", self.name))?;
        }
        Ok(())
    }

    /// Writes the last row group and the file's footer.
    pub fn finish(mut self) -> anyhow::Result<()> {
        let name = std::mem::take(&mut self.name);
        (|| {
            if self.rows > 0 {
                self.write_group()?;
            }
            self.writer.close().map(drop)
        })()
        .map_err(io_first)
        .with_context(|| format!("cannot write {name}"))
    }

    /// Writes the rows gathered as one row group.
    fn write_group(&mut self) -> parquet::errors::Result<()> {
        let mut group = self.writer.next_row_group()?;
        let missing = || ParquetError::General("fewer columns than the schema".into());
        if let Some(labels) = &self.labels {
            let mut column = group.next_column()?.ok_or_else(missing)?;
            let writer = column.typed::<ByteArrayType>();
            for classes in self.classes.chunks(LABEL_BATCH) {
                self.label_batch.clear();
                self.label_batch
                    .extend(classes.iter().map(|&c| labels[c as usize].clone()));
                writer.write_batch(&self.label_batch, None, None)?;
            }
            column.close()?;
        }
        for values in &self.floats {
            let mut column = group.next_column()?.ok_or_else(missing)?;
            column
                .typed::<DoubleType>()
                .write_batch(values, None, None)?;
            column.close()?;
        }
        for values in &self.leaves {
            let mut column = group.next_column()?.ok_or_else(missing)?;
            column
                .typed::<Int32Type>()
                .write_batch(values, None, None)?;
            column.close()?;
        }
        group.close()?;
        self.rows = 0;
        self.classes.clear();
        self.floats.iter_mut().for_each(Vec::clear);
        self.leaves.iter_mut().for_each(Vec::clear);
        Ok(())
    }
}

/// A Parquet error as the error it wraps, when it wraps one (an I/O error: "No space
/// left on device", not "External: No space left on device" and the same again as
/// its cause).
fn io_first(e: ParquetError) -> anyhow::Error {
    match e {
        ParquetError::External(e) => anyhow::Error::from_boxed(e),
        e => e.into(),
    }
}
