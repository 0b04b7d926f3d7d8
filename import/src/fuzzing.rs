//! Fuzzing oracles and a tiny mutator, shared by the `fuzz/` targets and by
//! `cargo test` (which replays the seed corpus and random mutations on stable Rust).
//! Built only with the `fuzzing` feature: it is no part of the importer's API.
//!
//! An oracle never returns an error: it panics when an invariant breaks, which is what
//! a fuzzer reports. The invariants: importing arbitrary bytes returns an error or an
//! ensemble; an imported ensemble always encodes, reopens, validates and predicts; opening
//! arbitrary `.ewm` bytes returns an error or a model that, once validated, predicts
//! (or refuses a row whose sums overflow, never answering NaN), and whose every walk
//! (the byte walk, the prepared walk; one row at a time and in batches) answers bit for
//! bit as the others do.

use edgewood_core::{Explainer, Model, PredictError, PreparedModel};

use crate::{convert, pickle, ImportError, ImportOptions};

/// Options that keep a fuzz iteration small: a 16 MiB decompression cap and a
/// 64 MiB pickle allocation budget.
pub fn fuzz_options() -> ImportOptions {
    ImportOptions {
        max_decompressed: 16 << 20,
        pickle_limits: pickle::Limits {
            max_alloc: 64 << 20,
            ..pickle::Limits::default()
        },
        ..ImportOptions::default()
    }
}

/// The oracle of every import target (bytes of any format, whatever the seeds):
/// bytes → [`convert`]; a converted model must open and predict. [`convert`] validates
/// what it encodes, so a refusal by that validation ([`ImportError::Validate`]) is a
/// finding.
pub fn convert_then_predict(bytes: &[u8]) {
    let ewm = match convert(bytes, &fuzz_options()) {
        Ok(converted) => converted.ewm,
        Err(ImportError::Validate(e)) => panic!("an encoded model does not validate: {e}"),
        Err(_) => return,
    };
    let model = match Model::open(&ewm) {
        Ok(m) => m,
        Err(e) => panic!("a converted model does not open: {e}"),
    };
    let zeros = vec![0.0; model.n_features()];
    match model.predict(&zeros) {
        Ok(_) | Err(PredictError::NotFinite { row: 0 }) => {}
        Err(e) => panic!("a validated model cannot predict a zero row: {e}"),
    }
}

/// Bytes → [`Model::open`] → [`Model::validate`] → predict a zero row when valid.
pub fn decode_ewm(bytes: &[u8]) {
    let Ok(model) = Model::open(bytes) else {
        return;
    };
    let zeros = vec![0.0; model.n_features()];
    let validated = model.validate().is_ok();
    let predicted = model.predict(&zeros);
    if validated {
        match predicted {
            // Finite leaves can still sum past float range (§9): an error, not a value.
            Ok(_) | Err(PredictError::NotFinite { row: 0 }) => {}
            Err(e) => panic!("a validated model cannot predict a zero row: {e}"),
        }
    }
    // The prepared walk (what the CLI and the npm package run) refuses a structure it
    // cannot walk, and otherwise answers exactly as the model it was built from.
    let Ok(prepared) = PreparedModel::new(model) else {
        return;
    };
    if validated {
        let rows = every_walk_agrees(&prepared, &model, bytes);
        if model.has_cover() {
            explanations_agree(&model, &rows);
        }
    }
}

/// One row's answer from one walk: its output bits, or the error.
type RowAnswer = Result<Vec<u64>, PredictError>;

/// The oracle of every walk the product ships: the byte walk ([`Model`], which the
/// Spin component runs) and the prepared walk ([`PreparedModel`], the CLI's and the
/// npm package's), each one row at a time and in batches (a short one, and past 512
/// rows the prepared span walk's when the model is narrow enough for that to stay
/// cheap). On every row they must agree bit for bit, or all refuse it with the same
/// error; a batch answers as its rows did one at a time, and refuses with the first
/// row that is refused alone.
///
/// The rows are cut from the model's own bytes, with NaN, zero and ±infinity among them.
fn every_walk_agrees(prepared: &PreparedModel<'_>, model: &Model<'_>, bytes: &[u8]) -> Vec<f64> {
    let nf = model.n_features();
    let width = model.prediction_len();
    let rows = if nf <= 16 { 520 } else { 8 };
    let mut rng = Rng::new(bytes.len() as u64 ^ 0x9e37_79b9_7f4a_7c15);
    let data: Vec<f64> = (0..rows * nf)
        .map(|_| match rng.next_u64() % 8 {
            0 => f64::NAN,
            1 => 0.0,
            2 => f64::INFINITY,
            3 => f64::NEG_INFINITY,
            _ => {
                let at = (rng.next_u64() as usize) % bytes.len().saturating_sub(3).max(1);
                let word = bytes
                    .get(at..at + 4)
                    .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
                f64::from(f32::from_bits(word))
            }
        })
        .collect();
    let bits = |out: &[f64]| out.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let singles: Vec<RowAnswer> = data
        .chunks_exact(nf)
        .enumerate()
        .map(|(r, row)| {
            let (mut a, mut b) = (vec![0.0; width], vec![0.0; width]);
            let by_model = model.predict_into(row, &mut a).map(|()| bits(&a));
            let by_prepared = prepared.predict_into(row, &mut b).map(|()| bits(&b));
            assert_eq!(
                by_model, by_prepared,
                "row {r}: the prepared walk differs from the byte walk"
            );
            by_model
        })
        .collect();
    for n in [rows, 7.min(rows)] {
        let want = singles[..n]
            .iter()
            .position(Result::is_err)
            .map_or(Ok(()), |r| Err(PredictError::NotFinite { row: r }));
        let (mut a, mut b) = (vec![0.0; n * width], vec![0.0; n * width]);
        let inputs = &data[..n * nf];
        let by_model = model.predict_batch(inputs, &mut a);
        let by_prepared = prepared.predict_batch(inputs, &mut b);
        assert_eq!(
            by_model, want,
            "{n}-row batch: the byte walk differs from its rows"
        );
        assert_eq!(
            by_prepared, want,
            "{n}-row batch: the prepared walk differs from its rows"
        );
        for (r, single) in singles[..n].iter().enumerate() {
            if let Ok(single) = single {
                let at = r * width..(r + 1) * width;
                assert_eq!(
                    &bits(&a[at.clone()]),
                    single,
                    "{n}-row batch, row {r}: the byte walk differs"
                );
                assert_eq!(
                    &bits(&b[at]),
                    single,
                    "{n}-row batch, row {r}: the prepared walk differs"
                );
            }
        }
    }
    data
}

/// The explanations (TreeSHAP, which the CLI, the HTTP API and the npm package ship)
/// of the first rows, by each of the explainer's routes: precomputed tables and cells
/// ([`Explainer::new`]), tables only ([`Explainer::without_cells`]) and the recursion
/// alone ([`Explainer::untabled`]). They never panic, fail alike, and, when every
/// split's cover is the sum of its children's (as every source library writes them),
/// agree to rounding. (Otherwise the tabled route answers differently from the
/// recursion, and nothing adds up to the prediction: `validate` does not yet require
/// consistent covers of §11. Nor is additivity checked here, for the same reason.)
fn explanations_agree(model: &Model<'_>, rows: &[f64]) {
    let nf = model.n_features();
    let routes = [
        Explainer::untabled(*model),
        Explainer::without_cells(*model),
        Explainer::new(*model),
    ];
    let routes: Vec<Explainer<'_>> = match routes {
        [Ok(a), Ok(b), Ok(c)] => vec![a, b, c],
        [Err(a), Err(b), Err(c)] if a == b && b == c => return,
        [a, b, c] => panic!(
            "the explainer's routes disagree on the model: {:?} / {:?} / {:?}",
            a.err(),
            b.err(),
            c.err()
        ),
    };
    let len = routes[0].explanation_len();
    let consistent = routes[0].covers_add_up(1e-6);
    for (r, row) in rows.chunks_exact(nf).take(8).enumerate() {
        let answers: Vec<_> = routes
            .iter()
            .map(|e| {
                let mut out = vec![0.0; len];
                e.explain_into(row, &mut out).map(|()| out)
            })
            .collect();
        let Ok(want) = &answers[0] else {
            assert!(
                answers.iter().all(|a| a == &answers[0]),
                "row {r}: the explainer's routes disagree: {answers:?}"
            );
            continue;
        };
        if !consistent || !want.iter().all(|x| x.is_finite()) {
            // Covers or leaves that overflow the arithmetic: nothing to compare to rounding.
            continue;
        }
        let scale: f64 = want.iter().map(|x| x.abs()).sum::<f64>() + 1.0;
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * scale;
        for (k, got) in answers.iter().enumerate().skip(1) {
            let got = got
                .as_ref()
                .unwrap_or_else(|e| panic!("row {r}: route {k} fails: {e}"));
            for (i, (&a, &b)) in want.iter().zip(got).enumerate() {
                assert!(
                    close(a, b) || (!b.is_finite() && scale.is_infinite()),
                    "row {r}, value {i}: route {k} explains {b}, the recursion {a}"
                );
            }
        }
    }
}

/// A xorshift generator, so mutations are reproducible from a seed without a
/// dependency.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (0 is replaced, xorshift needs a non-zero state).
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number below `n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// Applies one to four random edits (flip, set, insert, delete, truncate) to `bytes`.
pub fn mutate(bytes: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for _ in 0..1 + rng.below(4) {
        if out.is_empty() {
            out.push(rng.next_u64() as u8);
            continue;
        }
        let at = rng.below(out.len());
        match rng.below(6) {
            0 => out[at] ^= 1 << rng.below(8),
            1 => out[at] = rng.next_u64() as u8,
            2 => out[at] = [0x00, 0xff, 0x7f, 0x80][rng.below(4)],
            3 => out.insert(at, rng.next_u64() as u8),
            4 => {
                out.remove(at);
            }
            _ => out.truncate(at),
        }
    }
    out
}
