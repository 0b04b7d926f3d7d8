//! The native half of `cargo xtask bench-catboost`: the CatBoost models that
//! `bench/catboost_peers.py` trained, imported from their `.cbm` and predicted by
//! Edgewood on the same rows, through the oblivious walk (with the best vector code
//! this CPU runs, and portable) and through the model's own walk; checks every
//! probability against CatBoost's own, then prints one JSON line.
//!
//! Run through `cargo bench -p xtask --bench catboost -- --dir DIR [--smoke]
//! [--oblivious-only]`.

mod common;

use common::{dir_arg, f64s, median};
use std::hint::black_box;
use std::time::Instant;

use edgewood_core::{Model, PreparedModel, VectorIsa};

const N_FEATURES: usize = 50;

/// Single-row p50 and p99 in ns over every row in turn, and batch rows/s.
struct Timing {
    p50: f64,
    p99: f64,
    batch: f64,
}

fn time(n: usize, reps: usize, mut row: impl FnMut(usize), mut batch: impl FnMut()) -> Timing {
    let mut single = Vec::with_capacity(n * reps.min(3));
    for _ in 0..reps.min(3) {
        for r in 0..n {
            let t = Instant::now();
            row(r);
            single.push(t.elapsed().as_nanos() as f64);
        }
    }
    single.sort_by(f64::total_cmp);
    let p99 = single[single.len() * 99 / 100];
    let p50 = median(single);
    let mut rates = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        batch();
        rates.push(n as f64 / t.elapsed().as_secs_f64());
    }
    Timing {
        p50,
        p99,
        batch: median(rates),
    }
}

/// (values that differ from `expected`, the most ulps apart).
fn differ(got: &[f64], expected: &[f64]) -> (usize, u64) {
    assert_eq!(got.len(), expected.len());
    got.iter().zip(expected).fold((0, 0), |(n, m), (g, e)| {
        let d = (g.to_bits() as i64).abs_diff(e.to_bits() as i64);
        (n + (d != 0) as usize, m.max(d))
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let smoke = args.iter().any(|a| a == "--smoke");
    let dir = dir_arg(&args, "catboost");
    let dir = dir.as_path();
    let rows = f64s(&dir.join("rows.f64"));
    let n = rows.len() / N_FEATURES;
    let reps = if smoke { 1 } else { 9 };
    let mut report = vec![
        format!("\"rows\":{n}"),
        format!("\"vector_isa\":\"{:?}\"", VectorIsa::detected()),
    ];
    for name in ["binary", "multiclass"] {
        let bytes = std::fs::read(dir.join(format!("cb_{name}.cbm"))).unwrap();
        let ewm = edgewood_import::convert(&bytes, &Default::default())
            .unwrap_or_else(|e| panic!("cb_{name}.cbm: {e}"))
            .ewm;
        let model = Model::open_validated(&ewm).unwrap();
        let prepared = PreparedModel::new(model).unwrap();
        assert!(prepared.is_oblivious(), "{name}: not the oblivious walk");
        let len = model.prediction_len();
        // CatBoost writes P(class 1) alone for Logloss, every class for MultiClass.
        let expected = f64s(&dir.join(format!("cb_{name}_proba.f64")));
        let columns = expected.len() / n;
        let mut preds = vec![0.0; n * len];
        let mut out = vec![0.0; len];
        // `--oblivious-only`: for instruction counts under callgrind, which the model
        // walk's slow batches would only drag out.
        let portable = prepared.clone().with_vector_isa(VectorIsa::Baseline);
        let walks: &[(&str, Option<&PreparedModel>)] =
            if args.iter().any(|a| a == "--oblivious-only") {
                &[("oblivious", Some(&prepared))]
            } else {
                &[
                    ("oblivious", Some(&prepared)),
                    ("oblivious_portable", Some(&portable)),
                    ("model", None),
                ]
            };
        for &(walk, prepared) in walks {
            preds.iter_mut().for_each(|p| *p = 0.0);
            let t = if let Some(prepared) = prepared {
                prepared.predict_batch(&rows, &mut preds).unwrap();
                time(
                    n,
                    reps,
                    |r| {
                        let row = &rows[r * N_FEATURES..][..N_FEATURES];
                        prepared.predict_into(black_box(row), &mut out).unwrap();
                        black_box(&out);
                    },
                    || {
                        prepared
                            .predict_batch(black_box(&rows), &mut preds)
                            .unwrap();
                        black_box(&preds);
                    },
                )
            } else {
                model.predict_batch(&rows, &mut preds).unwrap();
                time(
                    n,
                    reps,
                    |r| {
                        let row = &rows[r * N_FEATURES..][..N_FEATURES];
                        model.predict_into(black_box(row), &mut out).unwrap();
                        black_box(&out);
                    },
                    || {
                        model.predict_batch(black_box(&rows), &mut preds).unwrap();
                        black_box(&preds);
                    },
                )
            };
            let got: Vec<f64> = preds
                .chunks_exact(len)
                .flat_map(|p| p[len - columns..].to_vec())
                .collect();
            let (count, ulps) = differ(&got, &expected);
            report.push(format!(
                "\"{name}_{walk}_single_p50_ns\":{:.1},\"{name}_{walk}_single_p99_ns\":{:.1},\"{name}_{walk}_batch_rows_per_s\":{:.0},\"{name}_{walk}_differ\":{count},\"{name}_{walk}_max_ulps\":{ulps}",
                t.p50, t.p99, t.batch
            ));
        }
        report.push(format!(
            "\"{name}_trees\":{},\"{name}_values\":{}",
            model.n_trees(),
            expected.len()
        ));
    }
    println!("{{{}}}", report.join(","));
}
