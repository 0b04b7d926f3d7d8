//! A chunk of input rows on its way through `edgewood predict`: read and checked in
//! input order ([`Chunk::read`]), predicted and written as CSV text, possibly on another
//! thread ([`Chunk::predict`]), then copied to the output in input order.
//!
//! A chunk keeps its buffers between uses, so the steady state allocates nothing per
//! row or per chunk. A bad row ends the input: the chunk keeps the rows before it and
//! the error, and [`Chunk::predict`] reports the first bad row in input order (a row
//! whose prediction overflows may come before the row that stopped the reading).

use std::io::{Read, Write};

use anyhow::anyhow;
use edgewood_core::{first_max, Explainer, PredictError, PreparedModel, TaskKind};

use super::float_text::FloatText;
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
    /// Each class label as a CSV field (quoted when it must be), then the delimiter.
    pub labels: Vec<Vec<u8>>,
    /// Rows per chunk.
    pub rows: usize,
}

/// Rows of input, their predictions and their output text.
pub struct Chunk {
    /// `n × n_features` values.
    values: Vec<f64>,
    /// The input line of each row, to name a row the model refuses.
    lines: Vec<u64>,
    /// The bad row that ended the input, if it is in this chunk: why.
    stop: Option<anyhow::Error>,
    preds: Vec<f64>,
    contributions: Vec<f64>,
    leaves: Vec<u32>,
    floats: FloatText,
    /// The output text of the chunk's rows, or why there is none.
    text: Vec<u8>,
    error: Option<anyhow::Error>,
}

impl Chunk {
    /// An empty chunk sized for `job`.
    pub fn new(job: &Job<'_>) -> Chunk {
        let model = job.prepared.model();
        Chunk {
            values: Vec::with_capacity(job.rows * model.n_features()),
            lines: Vec::with_capacity(job.rows),
            stop: None,
            preds: Vec::with_capacity(job.rows * model.prediction_len()),
            contributions: match &job.explain {
                Some((explainer, _)) => vec![0.0; explainer.explanation_len()],
                None => Vec::new(),
            },
            leaves: vec![0; if job.leaves { model.n_trees() } else { 0 }],
            floats: FloatText::new(),
            text: Vec::new(),
            error: None,
        }
    }

    /// Fills the chunk with the next rows of `csv_in`, each parsed and checked against
    /// the model's schema; returns whether the input may have more rows (false at its
    /// end or at a bad row, which the chunk keeps as its error).
    pub fn read<R: Read>(
        &mut self,
        job: &Job<'_>,
        csv_in: &mut csv::Reader<R>,
        record: &mut csv::ByteRecord,
    ) -> bool {
        let model = job.prepared.model();
        let nf = model.n_features();
        self.values.clear();
        self.lines.clear();
        self.stop = None;
        while self.lines.len() < job.rows {
            match csv_in.read_byte_record(record) {
                Ok(true) => {}
                Ok(false) => return false,
                Err(e) => {
                    self.stop = Some(csv_read_error(job.in_name, e));
                    return false;
                }
            }
            let line = record.position().map_or(0, |p| p.line());
            let start = self.values.len();
            for (i, &c) in job.columns.iter().enumerate() {
                let cell = record.get(c).unwrap_or_default();
                let Some(value) = parse_cell(cell) else {
                    self.stop = Some(anyhow!(
                        "{}:{line}: feature '{}': cannot read '{}' as a number",
                        job.in_name,
                        model.feature_name(i),
                        String::from_utf8_lossy(cell)
                    ));
                    self.values.truncate(start);
                    return false;
                };
                self.values.push(value);
            }
            if let Err(e) = model.validate_row(&self.values[start..start + nf]) {
                self.stop = Some(anyhow!("{}:{line}: {e}", job.in_name));
                self.values.truncate(start);
                return false;
            }
            self.lines.push(line);
        }
        true
    }

    /// The number of rows read.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Predicts the chunk's rows and writes their output lines, or finds the first bad
    /// row: one whose prediction overflows, else the one that ended the input.
    pub fn predict(&mut self, job: &Job<'_>) {
        self.text.clear();
        self.error = self.predict_rows(job).err().or_else(|| self.stop.take());
        if self.error.is_none() {
            if let Err(e) = self.write_rows(job) {
                self.error = Some(e);
            }
        }
    }

    /// Writes the output lines of the chunk to `out`, or returns the chunk's error.
    pub fn write_to(&mut self, out: &mut dyn Write) -> anyhow::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        // An `io::Error` as such, so that a closed pipe (`… | head`) is recognised.
        out.write_all(&self.text).map_err(anyhow::Error::new)
    }

    fn predict_rows(&mut self, job: &Job<'_>) -> anyhow::Result<()> {
        let width = job.prepared.model().prediction_len();
        self.preds.clear();
        if self.len() == 0 {
            return Ok(());
        }
        self.preds.resize(self.len() * width, 0.0);
        // A row whose sums overflow (FORMAT.md §9) stops the run with its line, never
        // printed as NaN.
        job.prepared
            .predict_batch(&self.values, &mut self.preds)
            .map_err(|e| match e {
                PredictError::NotFinite { row } => anyhow!(
                    "{}:{}: the prediction is NaN or infinite: the model's sums \
                     overflow float range on this row",
                    job.in_name,
                    self.lines[row]
                ),
                e => e.into(),
            })
    }

    /// The output lines: `label,p_<class>…` or `value`, then the extra columns.
    fn write_rows(&mut self, job: &Job<'_>) -> anyhow::Result<()> {
        let model = job.prepared.model();
        let nf = model.n_features();
        let width = model.prediction_len();
        let classification = model.task() == TaskKind::Classification;
        let text = &mut self.text;
        for (p, row) in self
            .preds
            .chunks_exact(width)
            .zip(self.values.chunks_exact(nf))
        {
            if classification {
                text.extend_from_slice(&job.labels[first_max(p)]);
            }
            for (k, &x) in p.iter().enumerate() {
                if k > 0 {
                    text.push(b',');
                }
                self.floats.push(text, x);
            }
            if let Some((explainer, mode)) = &job.explain {
                explainer.explain_into(row, &mut self.contributions)?;
                let classes = match (model.task(), mode) {
                    (TaskKind::Regression, _) => 0..1,
                    (TaskKind::Classification, Explain::Predicted) => {
                        let c = first_max(p);
                        c..c + 1
                    }
                    (TaskKind::Classification, Explain::All) => 0..model.n_classes(),
                };
                for class in classes {
                    for x in explainer.class_contributions(&self.contributions, class) {
                        text.push(b',');
                        self.floats.push(text, x);
                    }
                }
            }
            if job.leaves {
                model.leaves_into(row, &mut self.leaves)?;
                for leaf in &self.leaves {
                    // Writing to a Vec cannot fail.
                    let _ = write!(text, ",{leaf}");
                }
            }
            text.push(b'\n');
        }
        Ok(())
    }
}

/// A cell's value: empty means missing (NaN); otherwise a decimal number.
fn parse_cell(cell: &[u8]) -> Option<f64> {
    let cell = cell.trim_ascii();
    if cell.is_empty() {
        return Some(f64::NAN);
    }
    std::str::from_utf8(cell).ok()?.parse().ok()
}

/// A CSV reading error as one line naming the input and line.
pub fn csv_read_error(in_name: &str, e: csv::Error) -> anyhow::Error {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => {
            let line = pos.as_ref().map_or(0, |p| p.line());
            anyhow!("{in_name}:{line}: {len} fields, but the header has {expected_len}")
        }
        _ => match e.into_kind() {
            csv::ErrorKind::Io(io) => {
                anyhow::Error::new(io).context(format!("cannot read {in_name}"))
            }
            kind => anyhow!("{in_name}: {kind:?}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells() {
        assert!(parse_cell(b"").unwrap().is_nan());
        assert!(parse_cell(b"  ").unwrap().is_nan());
        assert_eq!(parse_cell(b" 5.1 "), Some(5.1));
        assert_eq!(parse_cell(b"1e3"), Some(1000.0));
        assert_eq!(parse_cell(b"abc"), None);
        assert_eq!(parse_cell(b"\xff"), None);
    }
}
