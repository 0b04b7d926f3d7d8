//! The fuzz targets' oracles on stable Rust: every seed in `fuzz/seeds/<target>/`, then
//! thousands of reproducible random mutations of each, must not panic.
//!
//! `cargo fuzz` (nightly) explores far more; this keeps the oracles and seeds honest
//! in every `cargo test`.

use edgewood_core::{Model, PredictError, PreparedModel};
use edgewood_import::fuzzing::{self, mutate, Rng};

use crate::seeds::seed_corpus;

#[test]
fn import_pickle_seeds_and_mutations() {
    let mut rng = Rng::new(1);
    let mut imported = 0;
    for (name, seed) in seed_corpus("import_pickle") {
        // Each seed is meaningful: real models import, the hostile one is refused.
        let ok = edgewood_import::import_bytes(&seed, &fuzzing::fuzz_options()).is_ok();
        assert_eq!(ok, name.ends_with(".joblib"), "{name}");
        fuzzing::convert_then_predict(&seed);
        for _ in 0..400 {
            let m = mutate(&seed, &mut rng);
            imported +=
                edgewood_import::import_bytes(&m, &fuzzing::fuzz_options()).is_ok() as usize;
            fuzzing::convert_then_predict(&m);
        }
    }
    println!("import_pickle: {imported} mutants imported");
}

#[test]
fn decode_ewm_seeds_and_mutations() {
    let mut rng = Rng::new(2);
    let (mut opened, mut valid) = (0, 0);
    for (name, seed) in seed_corpus("decode_ewm") {
        // `regression-*` seeds are inputs that once crashed; the others are valid models.
        if !name.starts_with("regression-") {
            assert!(
                Model::open_validated(&seed).is_ok(),
                "{name} is not a valid model"
            );
        }
        fuzzing::decode_ewm(&seed);
        for _ in 0..2000 {
            let m = mutate(&seed, &mut rng);
            if let Ok(model) = Model::open(&m) {
                opened += 1;
                valid += model.validate().is_ok() as usize;
            }
            fuzzing::decode_ewm(&m);
        }
    }
    println!("decode_ewm: {opened} mutants opened, {valid} validated");
}

/// The rule the eight `regression-nan-bits-*` findings led to (FORMAT.md §8, §9): a
/// NaN leaf value is refused by `validate`, and finite leaves whose sums overflow make
/// every walk refuse the row alike (`regression-overflowing-sums.ewm`).
#[test]
fn non_finite_leaves_are_refused_and_overflow_is_an_error() {
    let seeds = seed_corpus("decode_ewm");
    let nan_bits: Vec<_> = seeds
        .iter()
        .filter(|(name, _)| name.starts_with("regression-nan-bits-"))
        .collect();
    assert_eq!(nan_bits.len(), 8);
    for (name, bytes) in nan_bits {
        let e = Model::open_validated(bytes).expect_err(name).to_string();
        assert!(e.contains("leaf value is NaN or infinite"), "{name}: {e}");
    }
    let (_, overflow) = seeds
        .iter()
        .find(|(name, _)| name == "regression-overflowing-sums.ewm")
        .expect("the overflow seed");
    let model = Model::open_validated(overflow).unwrap();
    let prepared = PreparedModel::new(model).unwrap();
    let nf = model.n_features();
    let (mut refused, mut answered) = (0, 0);
    for x in [-1e9, -1.0, 0.0, 0.5, 1.0, 2.0, 3.0, 10.0, f64::NAN] {
        let row = vec![x; nf];
        let mut out = vec![0.0; model.prediction_len()];
        let by_model = model.predict_into(&row, &mut out);
        assert_eq!(by_model, prepared.predict_into(&row, &mut out));
        match by_model {
            Ok(()) => answered += 1,
            Err(PredictError::NotFinite { row: 0 }) => refused += 1,
            Err(e) => panic!("{e}"),
        }
    }
    fuzzing::decode_ewm(overflow);
    assert!(refused > 0, "no row overflows");
    println!("overflowing sums: {refused} rows refused, {answered} answered");
}
