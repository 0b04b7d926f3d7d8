//! The fuzz targets' oracles on stable Rust: every seed in `fuzz/seeds/<target>/`, then
//! thousands of reproducible random mutations of each, must not panic.
//!
//! `cargo fuzz` (nightly) explores far more; this keeps the oracles and seeds honest
//! in every `cargo test`.

use edgewood_core::Model;
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
