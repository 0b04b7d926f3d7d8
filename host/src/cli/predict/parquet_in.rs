//! Parquet input for `edgewood predict`: the model's features read column by column,
//! one row group at a time, in batches of a chunk's rows.
//!
//! Columns are matched to the model's features by name, with the CSV rules (leaf
//! columns, named by their dotted path). A feature's column must hold numbers
//! (DOUBLE, FLOAT, INT32 or INT64) and must not be repeated; a null is a missing value
//! (NaN), as an empty CSV cell is. Rows are then checked by the same rules as CSV rows
//! and a bad one is named by its row number (from 1). Only the columns the model uses
//! are read, and memory stays that of a few chunks whatever the file's size, though a
//! column chunk's compressed pages are read as the Parquet reader reads them.
//!
//! The reader is the `parquet` crate without its Arrow layer: uncompressed, Snappy,
//! gzip and LZ4 pages are read; another codec is an error that names it.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use anyhow::{bail, Context};
use edgewood_core::Model;
use parquet::basic::Type as PhysicalType;
use parquet::column::reader::{get_typed_column_reader, ColumnReader, ColumnReaderImpl};
use parquet::data_type::{DataType, DoubleType, FloatType, Int32Type, Int64Type};
use parquet::file::reader::{FileReader, SerializedFileReader};

use super::columns;

/// Whether the file at `path` is a Parquet file: `PAR1` at both ends.
pub fn is_parquet(path: &Path) -> bool {
    let Ok(mut file) = File::open(path) else {
        return false;
    };
    let (mut head, mut tail) = ([0u8; 4], [0u8; 4]);
    file.read_exact(&mut head).is_ok()
        && file.seek(SeekFrom::End(-4)).is_ok()
        && file.read_exact(&mut tail).is_ok()
        && &head == b"PAR1"
        && &tail == b"PAR1"
}

/// One feature's column in the current row group.
enum Column {
    Double(ColumnReaderImpl<DoubleType>),
    Float(ColumnReaderImpl<FloatType>),
    Int32(ColumnReaderImpl<Int32Type>),
    Int64(ColumnReaderImpl<Int64Type>),
}

/// A Parquet file being read.
pub struct ParquetInput {
    file: SerializedFileReader<File>,
    /// For each model feature, its leaf column, and that column's highest
    /// definition level (0 when it cannot be null).
    columns: Vec<(usize, i16)>,
    next_group: usize,
    readers: Vec<Column>,
    /// Rows left in the current row group.
    left: usize,
    /// Buffers for one column's batch.
    defs: Vec<i16>,
    batch: Vec<f64>,
    f64s: Vec<f64>,
    f32s: Vec<f32>,
    i32s: Vec<i32>,
    i64s: Vec<i64>,
}

impl ParquetInput {
    /// Opens `path` and matches its columns to `model`'s features.
    pub fn open(path: &Path, model: &Model<'_>, in_name: &str) -> anyhow::Result<ParquetInput> {
        let file = File::open(path).with_context(|| format!("cannot open {in_name}"))?;
        let file = SerializedFileReader::new(file)
            .with_context(|| format!("{in_name}: cannot read the Parquet file"))?;
        let schema = file.metadata().file_metadata().schema_descr_ptr();
        let names: Vec<String> = schema.columns().iter().map(|c| c.path().string()).collect();
        let header = csv::ByteRecord::from(names.clone());
        let mut columns = Vec::new();
        for c in columns::match_columns(model, &header, in_name)? {
            let descr = schema.column(c);
            if descr.max_rep_level() > 0 {
                bail!(
                    "{in_name}: column '{}' is repeated (a list): a feature needs one number per row",
                    names[c]
                );
            }
            match descr.physical_type() {
                PhysicalType::DOUBLE
                | PhysicalType::FLOAT
                | PhysicalType::INT32
                | PhysicalType::INT64 => {}
                other => bail!(
                    "{in_name}: column '{}' holds {other} values: a feature needs numbers \
                     (DOUBLE, FLOAT, INT32 or INT64)",
                    names[c]
                ),
            }
            columns.push((c, descr.max_def_level()));
        }
        Ok(ParquetInput {
            file,
            columns,
            next_group: 0,
            readers: Vec::new(),
            left: 0,
            defs: Vec::new(),
            batch: Vec::new(),
            f64s: Vec::new(),
            f32s: Vec::new(),
            i32s: Vec::new(),
            i64s: Vec::new(),
        })
    }

    /// Replaces `values` with the next rows (at most `max_rows`), row by row, the
    /// model's features in order; returns whether more rows may follow.
    pub fn fill(&mut self, values: &mut Vec<f64>, max_rows: usize) -> anyhow::Result<bool> {
        values.clear();
        while self.left == 0 {
            if self.next_group == self.file.num_row_groups() {
                return Ok(false);
            }
            let group = self.file.get_row_group(self.next_group)?;
            self.left = usize::try_from(group.metadata().num_rows()).unwrap_or(0);
            self.readers = self
                .columns
                .iter()
                .map(|&(c, _)| {
                    Ok(match group.get_column_reader(c)? {
                        r @ ColumnReader::DoubleColumnReader(_) => {
                            Column::Double(get_typed_column_reader(r))
                        }
                        r @ ColumnReader::FloatColumnReader(_) => {
                            Column::Float(get_typed_column_reader(r))
                        }
                        r @ ColumnReader::Int32ColumnReader(_) => {
                            Column::Int32(get_typed_column_reader(r))
                        }
                        r @ ColumnReader::Int64ColumnReader(_) => {
                            Column::Int64(get_typed_column_reader(r))
                        }
                        _ => unreachable!("checked when the file was opened"),
                    })
                })
                .collect::<parquet::errors::Result<_>>()?;
            self.next_group += 1;
        }
        let n = self.left.min(max_rows.max(1));
        let nf = self.columns.len();
        values.resize(n * nf, 0.0);
        for i in 0..nf {
            let max_def = self.columns[i].1;
            let got = match &mut self.readers[i] {
                Column::Double(r) => batch(
                    r,
                    n,
                    max_def,
                    &mut self.defs,
                    &mut self.f64s,
                    &mut self.batch,
                    |&x| x,
                ),
                Column::Float(r) => batch(
                    r,
                    n,
                    max_def,
                    &mut self.defs,
                    &mut self.f32s,
                    &mut self.batch,
                    |&x| f64::from(x),
                ),
                Column::Int32(r) => batch(
                    r,
                    n,
                    max_def,
                    &mut self.defs,
                    &mut self.i32s,
                    &mut self.batch,
                    |&x| f64::from(x),
                ),
                // As pandas and NumPy convert: to the nearest f64.
                Column::Int64(r) => batch(
                    r,
                    n,
                    max_def,
                    &mut self.defs,
                    &mut self.i64s,
                    &mut self.batch,
                    |&x| x as f64,
                ),
            }?;
            if got != n {
                bail!(
                    "column {} ends after {got} of its row group's {n} remaining rows",
                    self.columns[i].0
                );
            }
            for (row, &x) in values.chunks_exact_mut(nf).zip(&self.batch) {
                row[i] = x;
            }
        }
        self.left -= n;
        Ok(self.left > 0 || self.next_group < self.file.num_row_groups())
    }
}

/// Reads `n` rows of one column into `out` as f64, a null as NaN; returns the rows read.
fn batch<T: DataType>(
    reader: &mut ColumnReaderImpl<T>,
    n: usize,
    max_def: i16,
    defs: &mut Vec<i16>,
    values: &mut Vec<T::T>,
    out: &mut Vec<f64>,
    to_f64: impl Fn(&T::T) -> f64,
) -> anyhow::Result<usize> {
    defs.clear();
    values.clear();
    out.clear();
    let mut rows = 0;
    while rows < n {
        let defs = (max_def > 0).then_some(&mut *defs);
        let (records, _, _) = reader.read_records(n - rows, defs, None, values)?;
        if records == 0 {
            break;
        }
        rows += records;
    }
    if max_def == 0 {
        out.extend(values.iter().map(&to_f64));
    } else {
        let mut next = values.iter();
        for &d in defs.iter() {
            out.push(if d == max_def {
                next.next().map_or(f64::NAN, &to_f64)
            } else {
                f64::NAN
            });
        }
    }
    Ok(rows)
}
