//! The `import_xgboost`, `import_lightgbm`, `import_onnx` and `import_catboost` fuzz
//! targets' oracle on stable Rust: every seed in `fuzz/seeds/<target>/` imports (a
//! `hostile-*` seed, one edit away from a real model, is refused), then thousands of
//! reproducible mutations of each go through the oracle (error, or a model that
//! encodes, validates and predicts; never a panic).

use edgewood_import::fuzzing::{convert_then_predict, fuzz_options, mutate, Rng};

use crate::seeds::seed_corpus;

fn replay(target: &str, mutations: usize) {
    for (name, bytes) in seed_corpus(target) {
        let imported = edgewood_import::import_bytes(&bytes, &fuzz_options());
        if name.starts_with("hostile-") {
            assert!(imported.is_err(), "seed {target}/{name} imports");
        } else if let Err(e) = imported {
            panic!("seed {target}/{name} does not import: {e}");
        }
        let mut rng = Rng::new(bytes.len() as u64 * 31 + 7);
        for _ in 0..mutations {
            convert_then_predict(&mutate(&bytes, &mut rng));
        }
    }
}

#[test]
fn import_xgboost_seeds_and_mutations() {
    replay("import_xgboost", 1500);
}

#[test]
fn import_lightgbm_seeds_and_mutations() {
    replay("import_lightgbm", 1500);
}

#[test]
fn import_onnx_seeds_and_mutations() {
    replay("import_onnx", 1500);
}

#[test]
fn import_catboost_seeds_and_mutations() {
    replay("import_catboost", 1500);
}
