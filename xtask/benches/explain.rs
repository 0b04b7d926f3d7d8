//! The native half of `cargo xtask bench-explain`: Edgewood's exact TreeSHAP on the
//! models and rows `bench/explain_peers.py` explained with the libraries, one thread.
//! Checks every contribution against the library's own (shap and XGBoost's bounds of
//! the parity tests: 1e-9 and 1e-6 of a row's scale), then prints one JSON line.
//!
//! Run through `cargo bench -p xtask --bench explain -- --dir DIR --fixtures DIR [--smoke]`.

mod common;

use common::{f64s, median};
use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use edgewood_core::{Explainer, Model};

fn arg<'a>(args: &'a [String], name: &str) -> &'a Path {
    let i = args
        .iter()
        .position(|a| a == name)
        .unwrap_or_else(|| panic!("usage: explain --dir DIR --fixtures DIR [--smoke]"));
    Path::new(&args[i + 1])
}

/// Explains every row (reps times) and returns the median ns per row, and the rows
/// whose contributions are off the library's (`theirs(row, output)`: n_features
/// contributions, for the outputs compared) by more than `bound` of the row's scale.
fn measure(
    explainer: &Explainer<'_>,
    rows: &[f64],
    reps: usize,
    bound: f64,
    theirs: impl Fn(usize, usize) -> Vec<f64>,
    outputs: usize,
) -> (f64, usize) {
    let nf = explainer.model().n_features();
    let n = rows.len() / nf;
    let mut out = vec![0.0; explainer.explanation_len()];
    let mut off = 0;
    for (r, row) in rows.chunks_exact(nf).enumerate() {
        explainer.explain_into(row, &mut out).unwrap();
        let wrong = (0..outputs).any(|k| {
            let want = theirs(r, k);
            let ours = &out[k * (nf + 1)..k * (nf + 1) + nf];
            let scale: f64 = want.iter().map(|x| x.abs()).sum::<f64>().max(1e-300);
            ours.iter()
                .zip(&want)
                .any(|(a, b)| (a - b).abs() > bound * scale)
        });
        off += usize::from(wrong);
    }
    let mut per_row = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        for row in rows.chunks_exact(nf) {
            explainer.explain_into(black_box(row), &mut out).unwrap();
            black_box(&out);
        }
        per_row.push(t.elapsed().as_nanos() as f64 / n as f64);
    }
    (median(per_row), off)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let smoke = args.iter().any(|a| a == "--smoke");
    let dir = arg(&args, "--dir");
    let fixtures = arg(&args, "--fixtures");
    let reps = if smoke { 1 } else { 7 };

    // Iris RF100 against shap.TreeExplainer (values per row, class, feature).
    let source = std::fs::read(fixtures.join("iris_rf100.joblib")).unwrap();
    let ewm = edgewood_import::convert(&source, &Default::default())
        .unwrap()
        .ewm;
    let iris = Model::open_validated(&ewm).unwrap();
    let t = Instant::now();
    let explainer = Explainer::new(iris).unwrap();
    let iris_prepare_ms = t.elapsed().as_secs_f64() * 1e3;
    let rows = f64s(&dir.join("iris_rows.f64"));
    let shap = f64s(&dir.join("iris_shap.f64"));
    let (classes, nf) = (iris.n_classes(), iris.n_features());
    let (iris_ns, iris_off) = measure(
        &explainer,
        &rows,
        reps * 20,
        1e-9,
        |r, k| shap[(r * classes + k) * nf..(r * classes + k + 1) * nf].to_vec(),
        classes,
    );

    // XGBoost 300 x depth 8 against pred_contribs (rows x (features + base)).
    let source = std::fs::read(dir.join("xgb_bench.json")).unwrap();
    let ewm = edgewood_import::convert(&source, &Default::default())
        .unwrap()
        .ewm;
    let xgb = Model::open_validated(&ewm).unwrap();
    let t = Instant::now();
    let explainer = Explainer::new(xgb).unwrap();
    let xgb_prepare_ms = t.elapsed().as_secs_f64() * 1e3;
    let rows = f64s(&dir.join("xgb_rows.f64"));
    let contribs = f64s(&dir.join("xgb_contribs.f64"));
    let nf = xgb.n_features();
    let rows = if smoke { &rows[..20 * nf] } else { &rows[..] };
    let (xgb_ns, xgb_off) = measure(
        &explainer,
        rows,
        if smoke { 1 } else { 3 },
        1e-6,
        |r, _| contribs[r * (nf + 1)..r * (nf + 1) + nf].to_vec(),
        1,
    );
    println!(
        "{{\"iris_rows\":{},\"iris_ns\":{iris_ns:.1},\"iris_off\":{iris_off},\"iris_prepare_ms\":{iris_prepare_ms:.2},\"xgb_rows\":{},\"xgb_ns\":{xgb_ns:.1},\"xgb_off\":{xgb_off},\"xgb_prepare_ms\":{xgb_prepare_ms:.2}}}",
        shap.len() / (classes * iris.n_features()),
        rows.len() / nf,
    );
}
