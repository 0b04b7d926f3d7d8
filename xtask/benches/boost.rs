//! The native half of `cargo xtask bench-boost`: the XGBoost and LightGBM models that
//! `bench/boost_peers.py` trained, imported and predicted by Edgewood on the same rows;
//! checks every prediction against the library's own, then prints one JSON line.
//!
//! Run through `cargo bench -p xtask --bench boost -- --dir DIR [--smoke]`.

mod common;

use common::{dir_arg, f64s, median};
use std::hint::black_box;
use std::time::Instant;

use edgewood_core::{Model, PreparedModel};

/// What both predictors offer: the bytes-walking [`Model`] and the [`PreparedModel`].
trait Predictor {
    fn row(&self, row: &[f64], out: &mut [f64]);
    fn batch(&self, rows: &[f64], out: &mut [f64]);
}

impl Predictor for Model<'_> {
    fn row(&self, row: &[f64], out: &mut [f64]) {
        self.predict_into(row, out).unwrap()
    }
    fn batch(&self, rows: &[f64], out: &mut [f64]) {
        self.predict_batch(rows, out).unwrap()
    }
}

impl Predictor for PreparedModel<'_> {
    fn row(&self, row: &[f64], out: &mut [f64]) {
        self.predict_into(row, out).unwrap()
    }
    fn batch(&self, rows: &[f64], out: &mut [f64]) {
        self.predict_batch(rows, out).unwrap()
    }
}

/// (single-row ns, batch rows/s, rows whose P(class 1) differs from the library's,
/// p50 and p99 ns of rows timed one by one).
fn measure(
    model: &Model<'_>,
    predictor: &impl Predictor,
    rows: &[f64],
    expected: &[f64],
    reps: usize,
) -> (f64, f64, usize, f64, f64) {
    let nf = model.n_features();
    let width = model.prediction_len();
    let n = rows.len() / nf;
    let mut preds = vec![0.0; n * width];
    predictor.batch(rows, &mut preds);
    let differ = preds
        .chunks_exact(width)
        .zip(expected)
        .filter(|(p, e)| (p[width - 1] as f32).to_bits() != (**e as f32).to_bits())
        .count();
    let mut out = vec![0.0; width];
    let mut single = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        for r in rows.chunks_exact(nf) {
            predictor.row(black_box(r), &mut out);
            black_box(&out);
        }
        single.push(t.elapsed().as_nanos() as f64 / n as f64);
    }
    let mut batch = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        predictor.batch(black_box(rows), &mut preds);
        black_box(&preds);
        batch.push(n as f64 / t.elapsed().as_secs_f64());
    }
    // One row at a time over varied rows, each timed (each figure includes one clock
    // read): the latency distribution, as the peers report it.
    let mut latencies = Vec::with_capacity(n * reps.min(3));
    for _ in 0..reps.min(3) {
        for r in rows.chunks_exact(nf) {
            let t = Instant::now();
            predictor.row(black_box(r), &mut out);
            black_box(&out);
            latencies.push(t.elapsed().as_nanos() as f64);
        }
    }
    latencies.sort_by(f64::total_cmp);
    let p99 = latencies[latencies.len() * 99 / 100];
    (
        median(single),
        median(batch),
        differ,
        median(latencies),
        p99,
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let smoke = args.iter().any(|a| a == "--smoke");
    let dir = dir_arg(&args, "boost");
    let dir = dir.as_path();
    let rows = f64s(&dir.join("rows.f64"));
    let reps = if smoke { 1 } else { 9 };
    let mut report = Vec::new();
    for (key, file, pred) in [
        ("xgb", "xgb_bench.json", "xgb_pred.f64"),
        ("lgbm", "lgbm_bench.txt", "lgbm_pred.f64"),
    ] {
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let ewm = edgewood_import::convert(&bytes, &Default::default())
            .unwrap_or_else(|e| panic!("{file}: {e}"))
            .ewm;
        let model = Model::open_validated(&ewm).unwrap();
        let expected = f64s(&dir.join(pred));
        let prepared = PreparedModel::new(model).unwrap();
        assert!(
            prepared.is_decoded(),
            "{file}: the decoded walk does not cover it"
        );
        let (single, batch, differ, p50, p99) = measure(&model, &prepared, &rows, &expected, reps);
        // The plain node walk too when the complete-tree walk or complete tops are
        // taken: what they are worth, in the same run.
        let node_walk = if prepared.is_complete() || prepared.has_complete_tops() {
            let nodes = PreparedModel::new_node_walk(model).unwrap();
            let (_, batch, differ, _, _) = measure(&model, &nodes, &rows, &expected, reps);
            assert_eq!(differ, 0, "{file}: the node walk differs from the library");
            format!(",\"{key}_node_walk_batch_rows_per_s\":{batch:.0}")
        } else {
            String::new()
        };
        let (bytes_single, bytes_batch, bytes_differ, _, _) =
            measure(&model, &model, &rows, &expected, reps);
        report.push(format!(
            "\"{key}_trees\":{},\"{key}_split_nodes\":{},\"{key}_depth\":{},\"{key}_single_ns\":{single:.1},\"{key}_batch_rows_per_s\":{batch:.0},\"{key}_differ\":{},\"{key}_bytes_single_ns\":{bytes_single:.1},\"{key}_bytes_batch_rows_per_s\":{bytes_batch:.0},\"{key}_p50_ns\":{p50:.1},\"{key}_p99_ns\":{p99:.1},\"{key}_walk\":\"{}\"{node_walk}",
            model.n_trees(),
            model.n_split_nodes(),
            model.max_depth(),
            differ + bytes_differ,
            walk_name(&prepared),
        ));
    }
    println!("{{\"rows\":{},{}}}", rows.len() / 50, report.join(","));
}

/// The walk `prepared` takes for big batches, as the table names it.
fn walk_name(prepared: &PreparedModel) -> String {
    let rounds = match prepared.compacted_trees() {
        0 => String::new(),
        n => format!(", {n} trees in rounds"),
    };
    if prepared.is_complete() {
        "complete walk".into()
    } else if prepared.has_complete_tops() {
        format!("tops + node walk{rounds}")
    } else {
        format!("node walk{rounds}")
    }
}
