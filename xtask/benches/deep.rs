//! The native half of `cargo xtask bench-deep`: the forest `bench/deep_peers.py`
//! trained, far bigger than the caches, converted and predicted by Edgewood on the same
//! rows as scikit-learn, both walks (the one it chooses, and the bytes walk), one thread; checks every
//! probability against scikit-learn's bit for bit, then prints one JSON line.
//!
//! Run through `cargo bench -p xtask --bench deep -- --dir DIR [--smoke]`.

mod common;

use common::{dir_arg, f64s};
use std::hint::black_box;
use std::time::Instant;

use edgewood_core::{Model, PreparedModel};

/// Median seconds of `reps` runs of `batch` over `rows`, and how many of its
/// probabilities differ from `expected` in any bit.
fn measure(
    reps: usize,
    rows: &[f64],
    expected: &[f64],
    batch: impl Fn(&[f64], &mut [f64]),
) -> (f64, usize) {
    let mut out = vec![0.0; expected.len()];
    batch(rows, &mut out);
    let differ = out
        .iter()
        .zip(expected)
        .filter(|(a, b)| a.to_bits() != b.to_bits())
        .count();
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            batch(black_box(rows), &mut out);
            black_box(&out);
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], differ)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let smoke = args.iter().any(|a| a == "--smoke");
    let dir = dir_arg(&args, "deep");
    let dir = dir.as_path();
    let bytes = std::fs::read(dir.join("deep_forest.joblib")).unwrap();
    let t = Instant::now();
    // Past the default 256 MiB cap on what an import may unpack: this file is the point.
    let mut options = edgewood_import::ImportOptions::default();
    options.max_decompressed = 2 << 30;
    let ewm = edgewood_import::convert(&bytes, &options)
        .unwrap_or_else(|e| panic!("deep_forest.joblib: {e}"))
        .ewm;
    let convert_s = t.elapsed().as_secs_f64();
    drop(bytes);
    let model = Model::open_validated(&ewm).unwrap();
    let (nf, width) = (model.n_features(), model.prediction_len());
    let mut rows = f64s(&dir.join("rows.f64"));
    let mut expected = f64s(&dir.join("proba.f64"));
    if smoke {
        rows.truncate(1_000 * nf);
        expected.truncate(1_000 * width);
    }
    let reps = if smoke { 1 } else { 3 };
    let t = Instant::now();
    let prepared = PreparedModel::new(model).unwrap();
    let prepare_s = t.elapsed().as_secs_f64();
    let (prepared_s, prepared_differ) = measure(reps, &rows, &expected, |r, o| {
        prepared.predict_batch(r, o).unwrap()
    });
    let (bytes_s, bytes_differ) = measure(reps, &rows, &expected, |r, o| {
        model.predict_batch(r, o).unwrap()
    });
    println!(
        "{{\"rows\":{},\"trees\":{},\"split_nodes\":{},\"depth\":{},\"ewm_bytes\":{},\"convert_s\":{convert_s:.3},\"prepare_s\":{prepare_s:.3},\"walk\":\"{}\",\"prepared_s\":{prepared_s:.4},\"bytes_s\":{bytes_s:.4},\"differ\":{}}}",
        rows.len() / nf,
        model.n_trees(),
        model.n_split_nodes(),
        model.max_depth(),
        ewm.len(),
        if prepared.is_deep() {
            "deep walk"
        } else if prepared.is_decoded() {
            "node walk"
        } else {
            "bytes walk (not decoded)"
        },
        prepared_differ + bytes_differ,
    );
}
