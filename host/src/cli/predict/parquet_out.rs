//! Parquet output for `edgewood predict` (`-o predictions.parquet`): the columns the
//! CSV output has, with the same names, in row groups written as the rows come.
//!
//! A classifier's `label` is a string column (the text the CSV holds); probabilities,
//! regression values and `--explain` contributions are DOUBLE columns holding the very
//! f64s the CSV prints in shortest round-trip form; `--leaves` columns are unsigned
//! 32-bit integers. Every column is REQUIRED: an output value is never missing.
//!
//! The prediction threads leave each chunk's output as columns ([`Columns`]); the
//! thread that hands chunks out gathers them in order into a row group of up to
//! [`ROW_GROUP_VALUES`] values, which one more thread encodes and writes, so memory
//! stays that of two row groups whatever the input's size.
//! Pages are Snappy-compressed (pure Rust; pyarrow's default too) and
//! dictionary-encoded, the parquet crate's default: a forest's probabilities repeat a
//! lot; a column whose distinct values pass 1 MiB falls back to plain values.

use std::io::Write;
use std::sync::{mpsc, Arc};

use anyhow::{anyhow, Context};
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
    /// The class labels as Parquet strings (classifiers only).
    labels: Option<Vec<ByteArray>>,
    /// Labels on their way to the writer.
    label_batch: Vec<ByteArray>,
    /// An empty row group of the file's columns, and its rows.
    empty: Group,
    group_rows: usize,
}

/// Rows gathered for a row group, column by column.
#[derive(Clone)]
struct Group {
    rows: usize,
    classes: Vec<u32>,
    floats: Vec<Vec<f64>>,
    leaves: Vec<Vec<i32>>,
}

impl Group {
    fn clear(&mut self) {
        self.rows = 0;
        self.classes.clear();
        self.floats.iter_mut().for_each(Vec::clear);
        self.leaves.iter_mut().for_each(Vec::clear);
    }
}

/// Takes the chunks' columns in order and hands each full row group to the thread
/// that writes them ([`ParquetOutput::write_from`]).
pub struct Groups {
    current: Group,
    group_rows: usize,
    full: mpsc::SyncSender<Group>,
    /// Groups the writing thread is done with, to be filled again.
    spare: mpsc::Receiver<Group>,
    empty: Group,
}

impl Groups {
    /// Adds a chunk's rows, handing the row group over when enough are gathered.
    pub fn append(&mut self, columns: &Columns) -> anyhow::Result<()> {
        let n = columns.rows;
        if n == 0 {
            return Ok(());
        }
        let group = &mut self.current;
        group.classes.extend_from_slice(&columns.classes);
        for (k, column) in group.floats.iter_mut().enumerate() {
            column.extend_from_slice(&columns.floats[k * n..(k + 1) * n]);
        }
        for (t, column) in group.leaves.iter_mut().enumerate() {
            column.extend_from_slice(&columns.leaves[t * n..(t + 1) * n]);
        }
        group.rows += n;
        if group.rows >= self.group_rows {
            self.hand_over()?;
        }
        Ok(())
    }

    /// Sends the current group to the writing thread and starts another.
    fn hand_over(&mut self) -> anyhow::Result<()> {
        let next = self.spare.try_recv().unwrap_or_else(|_| self.empty.clone());
        let full = std::mem::replace(&mut self.current, next);
        self.full
            .send(full)
            .map_err(|_| anyhow!("the Parquet writing thread stopped"))
    }
}

impl<W: Write + Send> ParquetOutput<W> {
    /// Starts a Parquet file of `shape`'s columns on `out`.
    pub fn new(out: W, shape: &Shape<'_>) -> anyhow::Result<ParquetOutput<W>> {
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
        let writer =
            SerializedFileWriter::new(out, Arc::new(schema), Arc::new(props)).map_err(io_first)?;
        let width = shape.names.len().max(1);
        Ok(ParquetOutput {
            writer,
            labels: shape
                .labels
                .as_ref()
                .map(|labels| labels.iter().map(|&l| static_label(l)).collect()),
            label_batch: Vec::with_capacity(LABEL_BATCH),
            empty: Group {
                rows: 0,
                classes: Vec::new(),
                floats: vec![Vec::new(); n_floats],
                leaves: vec![Vec::new(); shape.leaves],
            },
            group_rows: (ROW_GROUP_VALUES / width).clamp(1, MAX_GROUP_ROWS),
        })
    }

    /// Runs `fill`, which hands the chunks' columns in order to [`Groups`], while
    /// another thread encodes and writes each full row group; then writes the last
    /// one and the file's footer. A write that fails names the output, `out_name`.
    ///
    /// Encoding a row group (dictionaries, Snappy) takes a few milliseconds; on the
    /// thread that also reads the input and hands chunks out, the prediction threads
    /// ran out of work meanwhile. At most two groups are held at once, one being
    /// filled and one being written.
    pub fn write_from<T>(
        mut self,
        out_name: &str,
        fill: impl FnOnce(&mut Groups) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let (full, to_write) = mpsc::sync_channel::<Group>(0);
        let (written, spare) = mpsc::channel::<Group>();
        let mut groups = Groups {
            current: self.empty.clone(),
            group_rows: self.group_rows,
            full,
            spare,
            empty: self.empty.clone(),
        };
        std::thread::scope(|scope| {
            let writer = scope.spawn(move || -> anyhow::Result<()> {
                for mut group in to_write {
                    self.write_group(&group).map_err(io_first)?;
                    group.clear();
                    // The filling side may be gone (it failed): nothing to reuse.
                    let _ = written.send(group);
                }
                self.writer.close().map_err(io_first)?;
                Ok(())
            });
            let value = fill(&mut groups);
            let last = match &value {
                Ok(_) if groups.current.rows > 0 => groups.hand_over(),
                _ => Ok(()),
            };
            // Ends the writing thread's loop.
            drop(groups);
            let wrote = writer
                .join()
                .unwrap_or_else(|_| Err(anyhow!("the Parquet writing thread panicked")));
            // The writing thread's own error first: the filling side only sees that
            // it stopped.
            wrote.with_context(|| format!("cannot write {out_name}"))?;
            last?;
            value
        })
    }

    /// Writes `rows` as one row group.
    fn write_group(&mut self, rows: &Group) -> parquet::errors::Result<()> {
        let mut group = self.writer.next_row_group()?;
        let missing = || ParquetError::General("fewer columns than the schema".into());
        if let Some(labels) = &self.labels {
            let mut column = group.next_column()?.ok_or_else(missing)?;
            let writer = column.typed::<ByteArrayType>();
            for classes in rows.classes.chunks(LABEL_BATCH) {
                self.label_batch.clear();
                self.label_batch
                    .extend(classes.iter().map(|&c| labels[c as usize].clone()));
                writer.write_batch(&self.label_batch, None, None)?;
            }
            column.close()?;
        }
        for values in &rows.floats {
            let mut column = group.next_column()?.ok_or_else(missing)?;
            column
                .typed::<DoubleType>()
                .write_batch(values, None, None)?;
            column.close()?;
        }
        for values in &rows.leaves {
            let mut column = group.next_column()?.ok_or_else(missing)?;
            column
                .typed::<Int32Type>()
                .write_batch(values, None, None)?;
            column.close()?;
        }
        group.close()?;
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
