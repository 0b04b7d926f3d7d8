//! Fixture loading and comparison helpers for the boosting parity tests.

use std::path::PathBuf;

use edgewood_core::{
    Aggregation, Ensemble, Link, Model, Prediction, PreparedModel, Task, VectorIsa,
};
use serde_json::Value;

/// `tests/fixtures` at the workspace root.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

/// The manifest entries whose format is one of `formats`.
pub fn manifest(formats: &[&str]) -> Vec<Value> {
    let text = std::fs::read_to_string(fixtures().join("manifest.json")).expect("manifest.json");
    let all: Vec<Value> = serde_json::from_str(&text).expect("manifest is JSON");
    all.into_iter()
        .filter(|e| formats.contains(&e["format"].as_str().unwrap_or("")))
        .collect()
}

/// A CSV of numbers with a header; an empty cell is NaN.
pub fn csv(name: &str) -> (Vec<String>, Vec<Vec<f64>>) {
    let (header, rows) = csv_text(name);
    let rows = rows
        .into_iter()
        .map(|cells| {
            cells
                .iter()
                .map(|c| {
                    if c.is_empty() {
                        f64::NAN
                    } else {
                        c.parse().unwrap_or_else(|_| panic!("{name}: {c:?}"))
                    }
                })
                .collect()
        })
        .collect();
    (header, rows)
}

/// Distance in units in the last place between two doubles (0 = identical bits).
pub fn ulps(a: f64, b: f64) -> u64 {
    if a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()) {
        return 0;
    }
    let key = |x: f64| {
        let b = x.to_bits() as i64;
        if b < 0 {
            i64::MIN - b
        } else {
            b
        }
    };
    key(a).abs_diff(key(b))
}

/// Predictions of every row: (label index or NaN, values).
pub fn predict_all(ensemble: &Ensemble, rows: &[Vec<f64>]) -> Vec<(Option<usize>, Vec<f64>)> {
    let bytes = ensemble.encode().expect("encodes");
    let model = Model::open_validated(&bytes).expect("opens");
    // The blocked, interleaved batch path must answer exactly as row by row.
    let len = model.prediction_len();
    let flat: Vec<f64> = rows.concat();
    let mut batch = vec![0.0; rows.len() * len];
    model
        .predict_batch(&flat, &mut batch)
        .expect("predicts a batch");
    // So must the decoded walk the CLI and the npm package use, row by row and in batch,
    // through every vector path this CPU runs (the portable code, AVX2, AVX-512), each
    // forced in turn.
    let prepared = PreparedModel::new(model).expect("prepares");
    let mut prepared_batch = vec![0.0; rows.len() * len];
    prepared
        .predict_batch(&flat, &mut prepared_batch)
        .expect("prepared batch");
    // The rows again and again, past the length where big batches change walks (the
    // span walk, and the vector tops before it).
    let many: Vec<f64> = flat
        .iter()
        .copied()
        .cycle()
        .take(flat.len() * 700usize.div_ceil(rows.len().max(1)))
        .collect();
    for isa in VectorIsa::ALL
        .into_iter()
        .filter(|&isa| isa <= VectorIsa::detected())
    {
        let mut forced = vec![0.0; many.len() / flat.len().max(1) * rows.len() * len];
        prepared
            .clone()
            .with_vector_isa(isa)
            .predict_batch(&many, &mut forced)
            .expect("prepared batch");
        let same = forced
            .iter()
            .zip(prepared_batch.iter().cycle())
            .all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(same, "the {isa:?} path differs from the detected one's");
    }
    for (i, ((r, b), pb)) in rows
        .iter()
        .zip(batch.chunks_exact(len))
        .zip(prepared_batch.chunks_exact(len))
        .enumerate()
    {
        let mut one = vec![0.0; len];
        model.predict_into(r, &mut one).unwrap();
        let same = one.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(same, "row {i}: batch {b:?} != single {one:?}");
        let mut p = vec![0.0; len];
        prepared.predict_into(r, &mut p).unwrap();
        let mut pairs = p.iter().chain(pb).zip(one.iter().chain(&one));
        assert!(
            pairs.all(|(x, y)| x.to_bits() == y.to_bits()),
            "row {i}: prepared {p:?} / prepared batch {pb:?} != model {one:?}"
        );
    }
    rows.iter()
        .map(|r| match model.predict(r).expect("predicts") {
            Prediction::Value(v) => (None, vec![v]),
            Prediction::Class {
                label,
                probabilities,
                ..
            } => (Some(label), probabilities),
        })
        .collect()
}

/// The same ensemble answering raw margins (identity link, regression-shaped when it
/// has one output), to compare with a fixture's `.margin.csv`.
pub fn margins_of(ensemble: &Ensemble) -> Ensemble {
    let mut e = ensemble.clone();
    if let Aggregation::Sum {
        link,
        divide_by_rounds,
        ..
    } = &mut e.aggregation
    {
        *link = Link::Identity;
        // LightGBM's raw scores are the sums, before rf averaging.
        *divide_by_rounds = false;
    }
    if e.n_outputs() == 1 {
        e.task = Task::Regression;
    }
    e
}

/// Outcome of comparing one column of outputs.
#[derive(Debug, Default)]
pub struct Tally {
    pub values: usize,
    pub inexact: usize,
    pub max_ulps: u64,
    pub first: Option<String>,
}

impl Tally {
    pub fn add(&mut self, row: usize, col: &str, got: f64, want: f64) {
        self.values += 1;
        let d = ulps(got, want);
        if d != 0 {
            self.inexact += 1;
            self.max_ulps = self.max_ulps.max(d);
            if self.first.is_none() {
                self.first = Some(format!("row {row} {col}: got {got:?}, expected {want:?}"));
            }
        }
    }
}

/// A CSV as text cells (labels may be strings).
pub fn csv_text(name: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let text =
        std::fs::read_to_string(fixtures().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut lines = text.lines();
    let header = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let rows = lines
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    (header, rows)
}
