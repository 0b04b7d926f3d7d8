//! A chunk of input rows on its way through `edgewood predict`: a block of whole CSV
//! records read in input order ([`Chunk::read`]); parsed, checked, predicted and
//! written as CSV text or as Parquet columns, possibly on another thread
//! ([`Chunk::predict`]); then handed to the output in input order ([`Chunk::done`]).
//!
//! A chunk keeps its buffers between uses, so the steady state allocates nothing per
//! row or per chunk. A bad row ends the chunk: it keeps the rows before it and the
//! error, and [`Chunk::predict`] reports the first bad row in input order (a row whose
//! prediction overflows may come before the row that stopped the parsing). Lines are
//! counted from the block's start; the writer, which sees the blocks in order, knows
//! where each starts and names the line in the whole input.

use std::io::{Read, Write as _};

use anyhow::bail;
use edgewood_core::{first_max, Explainer, Model, PredictError, PreparedModel, TaskKind};

use super::blocks::{BlockReader, Fields, Records, Sink};
use super::float_text::FloatText;
use super::parquet_in::ParquetInput;
use super::parquet_out::Columns;
use super::Explain;

/// What every chunk of a run shares: the model, the extra columns, how the input is
/// named in messages and how the class labels are written.
pub struct Job<'a> {
    pub prepared: &'a PreparedModel<'a>,
    pub explain: Option<(Explainer<'a>, Explain)>,
    pub leaves: bool,
    /// The input as messages name it (`input.csv`, `<stdin>`).
    pub in_name: &'a str,
    /// For each model feature, the input column holding it.
    pub columns: Vec<usize>,
    /// The number of columns the header names (every record must have as many).
    pub n_columns: usize,
    /// Each class label as a CSV field (quoted when it must be), then the delimiter.
    pub labels: Vec<Vec<u8>>,
    /// What each feature admits ([`Limit::of`]).
    pub limits: Vec<Limit>,
    /// Whether a bad row is named by its row number (Parquet) rather than its line.
    pub by_row_number: bool,
    /// Rows per chunk when the reader gives values, not text (Parquet).
    pub rows: usize,
    /// Whether the output is columns for a Parquet file rather than CSV text.
    pub parquet_out: bool,
    /// The number of output columns.
    pub out_columns: usize,
}

/// What one feature admits, as `Model::validate_value` checks it, read once from the
/// model (where each check decodes the feature's record) rather than per cell.
#[derive(Clone, Copy)]
pub struct Limit {
    allows_missing: bool,
    min: f64,
    max: f64,
}

impl Limit {
    /// Every feature's limits.
    pub fn of(model: &Model<'_>) -> Vec<Limit> {
        (0..model.n_features())
            .map(|i| {
                let (min, max) = model
                    .valid_range(i)
                    .unwrap_or((f64::NEG_INFINITY, f64::INFINITY));
                Limit {
                    allows_missing: model.allows_missing(i),
                    min,
                    max,
                }
            })
            .collect()
    }

    /// Whether the model's check would accept `x`: a missing value where allowed, else
    /// a finite value within the valid range.
    fn admits(self, x: f64) -> bool {
        if x.is_nan() {
            self.allows_missing
        } else {
            x.is_finite() && x >= self.min && x <= self.max
        }
    }
}

/// A chunk's output.
pub enum Output<'c> {
    /// CSV lines.
    Text(&'c [u8]),
    /// Columns for a Parquet file.
    Columns(&'c Columns),
}

/// Why a chunk's rows cannot all be written.
enum Failure {
    /// A row is bad: its line, counted from 1 at the block's start, and why.
    Row { line: u64, what: String },
    /// Anything else (the input cannot be read, an explanation fails).
    Other(anyhow::Error),
}

/// Rows of input, their predictions and their output text.
pub struct Chunk {
    /// The block of whole records.
    input: Vec<u8>,
    /// Why the input could not be read after the block.
    read_error: Option<anyhow::Error>,
    /// Whether the reader gave values, not a block of text (Parquet).
    given: bool,
    records: Records,
    /// Line feeds in the block.
    newlines: u64,
    /// `n × n_features` values.
    values: Vec<f64>,
    /// The line of each row in the block, to name a row the model refuses.
    lines: Vec<u64>,
    /// The bad row that ended the parsing, if there is one.
    stop: Option<Failure>,
    preds: Vec<f64>,
    contributions: Vec<f64>,
    leaves: Vec<u32>,
    floats: FloatText,
    /// The output of the chunk's rows, as CSV text or as Parquet columns, or why
    /// there is none.
    text: Vec<u8>,
    columns: Columns,
    error: Option<Failure>,
}

impl Chunk {
    /// An empty chunk sized for `job`.
    pub fn new(job: &Job<'_>) -> Chunk {
        let model = job.prepared.model();
        Chunk {
            input: Vec::new(),
            read_error: None,
            given: false,
            records: Records::new(),
            newlines: 0,
            values: Vec::new(),
            lines: Vec::new(),
            stop: None,
            preds: Vec::new(),
            contributions: match &job.explain {
                Some((explainer, _)) => vec![0.0; explainer.explanation_len()],
                None => Vec::new(),
            },
            leaves: vec![0; if job.leaves { model.n_trees() } else { 0 }],
            floats: FloatText::new(),
            text: Vec::new(),
            columns: Columns::default(),
            error: None,
        }
    }

    /// Fills the chunk with the next block of records; returns whether more may
    /// follow (false at the input's end, or when it cannot be read: the chunk keeps the
    /// error).
    pub fn read<R: Read>(&mut self, job: &Job<'_>, blocks: &mut BlockReader<R>) -> bool {
        self.read_error = None;
        self.given = false;
        match blocks.next_block(&mut self.input) {
            Ok(more) => more,
            Err(e) => {
                self.input.clear();
                self.read_error =
                    Some(anyhow::Error::new(e).context(format!("cannot read {}", job.in_name)));
                false
            }
        }
    }

    /// Fills the chunk with the next rows of a Parquet file; returns whether more
    /// may follow (false at the end, or when it cannot be read: the chunk keeps the
    /// error).
    pub fn read_parquet(&mut self, job: &Job<'_>, input: &mut ParquetInput) -> bool {
        self.read_error = None;
        self.given = true;
        match input.fill(&mut self.values, job.rows) {
            Ok(more) => more,
            Err(e) => {
                self.values.clear();
                self.read_error = Some(e.context(format!("cannot read {}", job.in_name)));
                false
            }
        }
    }

    /// Parses and checks the chunk's rows, up to the first bad one.
    fn parse(&mut self, job: &Job<'_>) {
        if self.given {
            self.check_given(job);
        } else {
            self.parse_text(job);
        }
        if self.stop.is_none() {
            if let Some(e) = self.read_error.take() {
                self.stop = Some(Failure::Other(e));
            }
        }
    }

    /// Checks the rows the reader gave (one per line), up to the first bad one.
    fn check_given(&mut self, job: &Job<'_>) {
        let model = job.prepared.model();
        let nf = model.n_features().max(1);
        let n = self.values.len() / nf;
        self.lines.clear();
        self.stop = None;
        self.newlines = n as u64;
        for (r, row) in self.values.chunks_exact(nf).enumerate() {
            let valid = row
                .iter()
                .zip(&job.limits)
                .all(|(&x, limit)| limit.admits(x));
            if !valid {
                if let Err(e) = model.validate_row(row) {
                    self.stop = Some(Failure::Row {
                        line: r as u64 + 1,
                        what: e.to_string(),
                    });
                    self.values.truncate(r * nf);
                    return;
                }
            }
            self.lines.push(r as u64 + 1);
        }
    }

    /// Parses the block of text into rows, each checked against the model's schema,
    /// up to the first bad one.
    fn parse_text(&mut self, job: &Job<'_>) {
        let nf = job.prepared.model().n_features();
        self.values.clear();
        self.lines.clear();
        self.stop = None;
        let mut rows = Rows {
            job,
            in_order: job.n_columns == nf && job.columns.iter().copied().eq(0..nf),
            values: &mut self.values,
            lines: &mut self.lines,
            stop: &mut self.stop,
        };
        self.newlines = self.records.parse(&self.input, &mut rows);
    }

    /// The number of rows read.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Predicts the chunk's rows and writes their output lines, or finds the first bad
    /// row: one whose prediction overflows, else the one that ended the input.
    pub fn predict(&mut self, job: &Job<'_>) {
        self.parse(job);
        self.text.clear();
        self.error = self.predict_rows(job).err().or_else(|| self.stop.take());
        if self.error.is_none() {
            if let Err(e) = self.write_rows(job) {
                self.error = Some(Failure::Other(e));
            }
        }
    }

    /// The chunk's output, or its error, naming a bad row by its line in the input:
    /// `first_line` is the line the chunk's block starts on (or its first row's
    /// number, for Parquet). With the output, the line (or row) after the chunk.
    pub fn done(&mut self, first_line: u64, job: &Job<'_>) -> anyhow::Result<(Output<'_>, u64)> {
        let in_name = job.in_name;
        match self.error.take() {
            Some(Failure::Row { line, what }) if job.by_row_number => {
                bail!("{in_name}: row {}: {what}", first_line + line - 1)
            }
            Some(Failure::Row { line, what }) => {
                bail!("{in_name}:{}: {what}", first_line + line - 1)
            }
            Some(Failure::Other(e)) => return Err(e),
            None => {}
        }
        let output = if job.parquet_out {
            Output::Columns(&self.columns)
        } else {
            Output::Text(&self.text)
        };
        Ok((output, first_line + self.newlines))
    }

    fn predict_rows(&mut self, job: &Job<'_>) -> Result<(), Failure> {
        let width = job.prepared.model().prediction_len();
        // Not cleared first: `predict_batch` sets every value, and zeroing the buffer
        // again for each chunk was a memset of 8 bytes per output value.
        self.preds.resize(self.len() * width, 0.0);
        if self.len() == 0 {
            return Ok(());
        }
        // A row whose sums overflow (FORMAT.md §9) stops the run with its line, never
        // printed as NaN.
        job.prepared
            .predict_batch(&self.values, &mut self.preds)
            .map_err(|e| match e {
                PredictError::NotFinite { row } => Failure::Row {
                    line: self.lines[row],
                    what: "the prediction is NaN or infinite: the model's sums overflow \
                           float range on this row"
                        .into(),
                },
                e => Failure::Other(e.into()),
            })
    }

    /// The output rows: as CSV lines, or as columns for a Parquet file.
    fn write_rows(&mut self, job: &Job<'_>) -> anyhow::Result<()> {
        let n = self.len();
        let rows = Outputs {
            preds: &self.preds,
            values: &self.values,
            contributions: &mut self.contributions,
            leaves: &mut self.leaves,
        };
        if job.parquet_out {
            let model = job.prepared.model();
            let n_leaves = if job.leaves { model.n_trees() } else { 0 };
            let n_floats =
                job.out_columns - usize::from(model.task() == TaskKind::Classification) - n_leaves;
            self.columns.reset(n, n_floats, n_leaves);
            rows.emit(
                job,
                &mut ColumnSink {
                    columns: &mut self.columns,
                    n,
                },
            )
        } else {
            rows.emit(
                job,
                &mut TextSink {
                    text: &mut self.text,
                    floats: &mut self.floats,
                },
            )
        }
    }
}

/// A chunk's predictions and what it needs to compute the extra columns.
struct Outputs<'c> {
    preds: &'c [f64],
    values: &'c [f64],
    /// Scratch space for a row's contributions.
    contributions: &'c mut Vec<f64>,
    /// Scratch space for a row's leaves.
    leaves: &'c mut Vec<u32>,
}

impl Outputs<'_> {
    /// Hands every row's output to `sink`: the label, `p_<class>…` or `value`, then
    /// the extra columns.
    fn emit(self, job: &Job<'_>, sink: &mut impl RowSink) -> anyhow::Result<()> {
        let model = job.prepared.model();
        let nf = model.n_features();
        let width = model.prediction_len();
        let classification = model.task() == TaskKind::Classification;
        for (r, (p, row)) in self
            .preds
            .chunks_exact(width)
            .zip(self.values.chunks_exact(nf))
            .enumerate()
        {
            if classification {
                sink.class(r, first_max(p), &job.labels);
            }
            for (k, &x) in p.iter().enumerate() {
                sink.float(r, k, x);
            }
            if let Some((explainer, mode)) = &job.explain {
                explainer.explain_into(row, self.contributions)?;
                let classes = match (model.task(), mode) {
                    (TaskKind::Regression, _) => 0..1,
                    (TaskKind::Classification, Explain::Predicted) => {
                        let c = first_max(p);
                        c..c + 1
                    }
                    (TaskKind::Classification, Explain::All) => 0..model.n_classes(),
                };
                let mut k = width;
                for class in classes {
                    for x in explainer.class_contributions(self.contributions, class) {
                        sink.float(r, k, x);
                        k += 1;
                    }
                }
            }
            if job.leaves {
                model.leaves_into(row, self.leaves)?;
                for (t, &leaf) in self.leaves.iter().enumerate() {
                    sink.leaf(r, t, leaf);
                }
            }
            sink.end_row();
        }
        Ok(())
    }
}

/// Where the output rows go, value by value.
trait RowSink {
    /// Row `row`'s class, `class` (its label in `labels`).
    fn class(&mut self, row: usize, class: usize, labels: &[Vec<u8>]);
    /// Output column `column` of the floats (predictions, then contributions).
    fn float(&mut self, row: usize, column: usize, x: f64);
    /// The leaf of tree `tree`.
    fn leaf(&mut self, row: usize, tree: usize, leaf: u32);
    /// The row is complete.
    fn end_row(&mut self);
}

/// CSV lines.
struct TextSink<'c> {
    text: &'c mut Vec<u8>,
    floats: &'c mut FloatText,
}

impl RowSink for TextSink<'_> {
    fn class(&mut self, _: usize, class: usize, labels: &[Vec<u8>]) {
        // The label field ends with its delimiter.
        self.text.extend_from_slice(&labels[class]);
    }

    fn float(&mut self, _: usize, column: usize, x: f64) {
        if column > 0 {
            self.text.push(b',');
        }
        self.floats.push(self.text, x);
    }

    fn leaf(&mut self, _: usize, _: usize, leaf: u32) {
        // Writing to a Vec cannot fail.
        let _ = write!(self.text, ",{leaf}");
    }

    fn end_row(&mut self) {
        self.text.push(b'\n');
    }
}

/// Columns of `n` rows, for a Parquet file.
struct ColumnSink<'c> {
    columns: &'c mut Columns,
    n: usize,
}

impl RowSink for ColumnSink<'_> {
    fn class(&mut self, _: usize, class: usize, _: &[Vec<u8>]) {
        // A model has at most 65,535 classes (FORMAT.md, limits).
        self.columns.classes.push(class as u32);
    }

    fn float(&mut self, row: usize, column: usize, x: f64) {
        self.columns.floats[column * self.n + row] = x;
    }

    fn leaf(&mut self, row: usize, tree: usize, leaf: u32) {
        // The bits of an unsigned 32-bit Parquet integer.
        self.columns.leaves[tree * self.n + row] = leaf as i32;
    }

    fn end_row(&mut self) {}
}

/// Takes a block's records as checked rows of values, up to the first bad one.
struct Rows<'c, 'j> {
    job: &'c Job<'j>,
    /// Whether the input's columns are the model's features in its order (then a
    /// record of short decimals is read in one pass, with no fields split out).
    in_order: bool,
    values: &'c mut Vec<f64>,
    lines: &'c mut Vec<u64>,
    stop: &'c mut Option<Failure>,
}

impl Sink for Rows<'_, '_> {
    fn unsplit(&mut self, line: u64, record: &[u8]) -> Option<bool> {
        // Nearly every row of a numeric CSV; any other (a space, an exponent, an empty
        // cell, a bad value) goes the general way, which names what is wrong.
        if !self.in_order {
            return None;
        }
        // Read straight onto the values (a copy of a row of a length known only at run
        // time is a call to memcpy per row).
        let start = self.values.len();
        if !parse_short_decimals(record, self.job.limits.len(), self.values)
            || !self.values[start..]
                .iter()
                .zip(&self.job.limits)
                .all(|(&x, l)| l.admits(x))
        {
            self.values.truncate(start);
            return None;
        }
        self.lines.push(line);
        Some(true)
    }

    fn record(&mut self, line: u64, fields: Fields<'_>) -> bool {
        let job = self.job;
        let model = job.prepared.model();
        let nf = model.n_features();
        let values = &mut *self.values;
        if fields.len() != job.n_columns {
            *self.stop = Some(Failure::Row {
                line,
                what: format!(
                    "{} fields, but the header has {}",
                    fields.len(),
                    job.n_columns
                ),
            });
            return false;
        }
        let start = values.len();
        let mut valid = true;
        for (i, (&c, limit)) in job.columns.iter().zip(&job.limits).enumerate() {
            let cell = fields.get(c);
            let Some(value) = parse_cell(cell) else {
                *self.stop = Some(Failure::Row {
                    line,
                    what: format!(
                        "feature '{}': cannot read '{}' as a number",
                        model.feature_name(i),
                        String::from_utf8_lossy(cell)
                    ),
                });
                values.truncate(start);
                return false;
            };
            valid &= limit.admits(value);
            values.push(value);
        }
        // The model's own check names what is wrong.
        if !valid {
            if let Err(e) = model.validate_row(&values[start..start + nf]) {
                *self.stop = Some(Failure::Row {
                    line,
                    what: e.to_string(),
                });
                values.truncate(start);
                return false;
            }
        }
        self.lines.push(line);
        true
    }
}

/// Reads a record of exactly `n` comma-separated short decimals (as
/// [`parse_short_decimal`] takes them: an optional `-`, digits with at most one
/// point, no exponent, no spaces) onto `out`, in one pass; false for anything else,
/// which is then read field by field (`out` may then hold some of the values).
fn parse_short_decimals(record: &[u8], n: usize, out: &mut Vec<f64>) -> bool {
    let mut bytes = record.iter();
    for k in 0..n {
        let (mut mantissa, mut digits, mut scale, mut point) = (0u64, 0u32, 0usize, false);
        let mut negative = false;
        let mut first = true;
        loop {
            match bytes.next() {
                Some(&b @ b'0'..=b'9') => {
                    mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(b - b'0'));
                    digits += 1;
                    scale += usize::from(point);
                }
                Some(b'.') if !point => point = true,
                Some(b'-') if first => negative = true,
                Some(b',') if k + 1 < n => break,
                None if k + 1 == n => break,
                _ => return false,
            }
            first = false;
        }
        // 19 digits cannot overflow a u64; then as parse_short_decimal.
        if digits == 0 || digits > 19 || mantissa > 1 << 53 || scale >= POW10.len() {
            return false;
        }
        let x = mantissa as f64 / POW10[scale];
        out.push(if negative { -x } else { x });
    }
    true
}

/// A cell's value: empty means missing (NaN); otherwise a decimal number, as Rust's
/// `f64::from_str` reads it.
fn parse_cell(cell: &[u8]) -> Option<f64> {
    let cell = cell.trim_ascii();
    if cell.is_empty() {
        return Some(f64::NAN);
    }
    if let Some(x) = parse_short_decimal(cell) {
        return Some(x);
    }
    std::str::from_utf8(cell).ok()?.parse().ok()
}

/// Exact powers of ten as f64 (10^22 is the largest).
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The common cell (`5.1`, `-0.25`, `12`): an optional sign, digits with at most one
/// point, no exponent, at most 2^53 once the point is dropped and at most 22 digits
/// after it. Its digits and its power of ten are then exact f64s, and one
/// (correctly rounded) division gives the correctly rounded value, the same bits as
/// `f64::from_str` (Clinger's fast path). Anything else is `None`, for the full parser.
fn parse_short_decimal(cell: &[u8]) -> Option<f64> {
    let (negative, digits) = match cell {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, cell),
    };
    // 19 digits cannot overflow a u64.
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let (mut mantissa, mut n_digits, mut after_point) = (0u64, 0usize, None);
    for (i, &b) in digits.iter().enumerate() {
        match b {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + u64::from(b - b'0');
                n_digits += 1;
            }
            b'.' if after_point.is_none() => after_point = Some(digits.len() - i - 1),
            _ => return None,
        }
    }
    let scale = after_point.unwrap_or(0);
    if n_digits == 0 || mantissa > 1 << 53 || scale >= POW10.len() {
        return None;
    }
    let x = mantissa as f64 / POW10[scale];
    Some(if negative { -x } else { x })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_records_of_short_decimals_read_as_cell_by_cell() {
        let records: &[&[u8]] = &[
            b"5.1,3.5,1.4,0.2",
            b"5,3,1,0",
            b"-0.5,.5,5.,-0",
            b"9007199254740992,0.0000000000000000000001,1,1",
            b"5.1,3.5,1.4",
            b"5.1,3.5,1.4,0.2,",
            b"5.1,3.5,1.4,0.2,7",
            b"5.1,,1.4,0.2",
            b"5.1, 3.5,1.4,0.2",
            b"5.1,3.5,1.4,0.2 ",
            b"5.1,3.5,1e4,0.2",
            b"5.1,+3.5,1.4,0.2",
            b"5.1,3.5,1.4.1,0.2",
            b"5.1,3-5,1.4,0.2",
            b"5.1,-,1.4,0.2",
            b"5.1,3.5,1.4,.",
            b"9007199254740993,1,1,1",
            b"12345678901234567890,1,1,1",
            b"1.00000000000000000000001,1,1,1",
            b"",
            b",,,",
        ];
        // Four values, or None where the record is not taken.
        let parse4 = |record: &[u8]| {
            let mut got = vec![-1.0];
            let taken = parse_short_decimals(record, 4, &mut got);
            taken.then(|| {
                assert_eq!(got[0], -1.0, "pushed after what was there");
                [got[1], got[2], got[3], got[4]]
            })
        };
        for record in records {
            let parsed = parse4(record);
            let (fast, got) = (parsed.is_some(), parsed.unwrap_or_default());
            let cells: Vec<&[u8]> = record.split(|&b| b == b',').collect();
            let want: Option<Vec<f64>> = (cells.len() == 4)
                .then(|| cells.iter().map(|c| parse_cell(c)).collect())
                .flatten();
            if fast {
                let want = want.unwrap_or_else(|| panic!("{record:?}: taken, but not by cells"));
                assert_eq!(
                    got.map(f64::to_bits).to_vec(),
                    want.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                    "{:?}",
                    String::from_utf8_lossy(record)
                );
            }
        }
        assert_eq!(parse4(b"5.1,3.5,1.4,0.2"), Some([5.1, 3.5, 1.4, 0.2]));
        assert!(
            parse4(b"5.1,,1.4,0.2").is_none(),
            "empty: NaN, the general way"
        );
        assert!(parse4(b"5.1,3.5,1.4").is_none());
        assert!(parse4(b"5.1,3.5,1.4,0.2,").is_none());
    }

    #[test]
    fn limits_admit_what_the_model_admits() {
        let model = edgewood_core::iris::model().unwrap();
        let limits = Limit::of(&model);
        let values = [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -1.0,
            -0.0,
            0.0,
            5.1,
            10.0,
            10.000000000000002,
            1e300,
        ];
        for (i, limit) in limits.iter().enumerate() {
            for x in values {
                assert_eq!(
                    limit.admits(x),
                    model.validate_value(i, x).is_ok(),
                    "feature {i}, {x}"
                );
            }
        }
    }

    #[test]
    fn cells() {
        assert!(parse_cell(b"").unwrap().is_nan());
        assert!(parse_cell(b"  ").unwrap().is_nan());
        assert_eq!(parse_cell(b" 5.1 "), Some(5.1));
        assert_eq!(parse_cell(b"1e3"), Some(1000.0));
        assert_eq!(parse_cell(b"abc"), None);
        assert_eq!(parse_cell(b"\xff"), None);
    }

    #[test]
    fn short_decimals_read_as_the_standard_parser_reads_them() {
        let mut cells: Vec<String> = [
            "0",
            "-0",
            "+0",
            "5.",
            ".5",
            "-.5",
            "+1.5",
            "0.1",
            "0.3",
            "1.000",
            "007.50",
            "9007199254740992",
            "9007199254740993",
            "0.9007199254740993",
            "1.7976931348623157",
            "123456789.123456789",
            "0.0000000000000000000001",
            "0.00000000000000000000001",
            "4.35",
            "2.675",
            ".",
            "-",
            "+",
            "",
            "1..2",
            "1.2.3",
            "1e5",
            "1-2",
            "--1",
            "inf",
            "NaN",
            "0x10",
            " 1",
            "1_0",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Every one-decimal and two-decimal value of a wide range, and pseudo-random
        // digits of every length and point position.
        cells.extend((0..20_000).map(|k| format!("{}.{}", k / 10, k % 10)));
        cells.extend((0..20_000).map(|k| format!("{}.{:02}", k / 100, k % 100)));
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..50_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let digits = format!("{state}");
            let len = 1 + (state % digits.len() as u64) as usize;
            let mut cell = digits[..len].to_string();
            let point = (state >> 32) as usize % (len + 1);
            cell.insert(point, '.');
            if state & 1 << 40 != 0 {
                cell.insert(0, '-');
            }
            cells.push(cell);
        }
        for cell in &cells {
            let want = cell.parse::<f64>().ok();
            let got = parse_short_decimal(cell.as_bytes());
            if let Some(got) = got {
                assert_eq!(
                    Some(got.to_bits()),
                    want.map(f64::to_bits),
                    "{cell:?}: {got:e} vs {want:?}"
                );
            }
            assert_eq!(
                parse_cell(cell.as_bytes()).map(f64::to_bits),
                if cell.is_empty() {
                    Some(f64::NAN.to_bits())
                } else {
                    cell.trim().parse::<f64>().ok().map(f64::to_bits)
                },
                "{cell:?}"
            );
        }
        // The fast path takes the common cells.
        for cell in ["5.1", "-0.25", "12", "0.0", "9007199254740992"] {
            assert!(parse_short_decimal(cell.as_bytes()).is_some(), "{cell}");
        }
    }
}
