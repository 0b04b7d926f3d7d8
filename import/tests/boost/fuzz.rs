//! The `import_xgboost`, `import_lightgbm` and `import_onnx` fuzz targets' oracle on
//! stable Rust: every seed in `fuzz/seeds/<target>/` imports, then thousands of
//! reproducible mutations of each go through the oracle (error, or a model that
//! encodes, validates and predicts; never a panic).

use std::path::PathBuf;

use edgewood_import::fuzzing::{fuzz_options, import_pickle, mutate, Rng};

fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds")
        .join(target);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    assert!(out.len() >= 2, "{target}: too few seeds");
    out
}

fn replay(target: &str, mutations: usize) {
    for (name, bytes) in seeds(target) {
        edgewood_import::import_bytes(&bytes, &fuzz_options())
            .unwrap_or_else(|e| panic!("seed {target}/{name} does not import: {e}"));
        let mut rng = Rng::new(bytes.len() as u64 * 31 + 7);
        for _ in 0..mutations {
            import_pickle(&mutate(&bytes, &mut rng));
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
