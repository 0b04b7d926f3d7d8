//! The native half of `cargo xtask bench`: the embedded Iris RF100 model on the rows
//! `xtask bench` wrote, single-row latency and batch throughput, one JSON line out.
//!
//! Run through `cargo bench -p xtask --bench iris -- --rows FILE [--smoke]`.

mod common;

use common::median;
use std::hint::black_box;
use std::time::Instant;

use edgewood_core::{iris, PreparedModel, VectorIsa};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let smoke = args.iter().any(|a| a == "--smoke");
    let rows_path = args
        .iter()
        .position(|a| a == "--rows")
        .and_then(|i| args.get(i + 1))
        .expect("usage: iris --rows FILE [--smoke]");
    let bytes = std::fs::read(rows_path).expect("the rows file is readable");
    let rows: Vec<f64> = bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let model = iris::model().expect("the embedded model opens");
    model.validate().expect("the embedded model is valid");
    let nf = model.n_features();
    let width = model.prediction_len();
    let n = rows.len() / nf;
    assert!(n > 0, "no rows");
    let reps = if smoke { 2 } else { 15 };

    // Single row: blocks of calls, median of the per-call mean of each block.
    let block = n.min(if smoke { 500 } else { 10_000 });
    let mut out = vec![0.0; width];
    let mut single = Vec::new();
    let mut single_validated = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        for r in rows[..block * nf].chunks_exact(nf) {
            model.predict_into(black_box(r), &mut out).unwrap();
            black_box(&out);
        }
        single.push(t.elapsed().as_nanos() as f64 / block as f64);
        let t = Instant::now();
        for r in rows[..block * nf].chunks_exact(nf) {
            model.validate_row(black_box(r)).unwrap();
            model.predict_into(r, &mut out).unwrap();
            black_box(&out);
        }
        single_validated.push(t.elapsed().as_nanos() as f64 / block as f64);
    }

    // Batch: the whole file through predict_batch, median throughput.
    let mut preds = vec![0.0; n * width];
    let mut batch = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        model.predict_batch(black_box(&rows), &mut preds).unwrap();
        black_box(&preds);
        batch.push(n as f64 / t.elapsed().as_secs_f64());
    }

    // The same through PreparedModel (what the CLI and the npm package use); its
    // answers must equal the model's bit for bit.
    let prepared = PreparedModel::new(model).expect("the embedded model prepares");
    let mut prepared_preds = vec![0.0; n * width];
    prepared.predict_batch(&rows, &mut prepared_preds).unwrap();
    assert!(
        preds
            .iter()
            .zip(&prepared_preds)
            .all(|(a, b)| a.to_bits() == b.to_bits()),
        "PreparedModel differs from Model"
    );
    // (per-row ns one row at a time, batch rows/s) of a prepared walk, medians.
    let time_walk = |walk: &PreparedModel, preds: &mut Vec<f64>| {
        let (mut single, mut batch) = (Vec::new(), Vec::new());
        let mut out = vec![0.0; width];
        for _ in 0..reps {
            let t = Instant::now();
            for r in rows[..block * nf].chunks_exact(nf) {
                walk.predict_into(black_box(r), &mut out).unwrap();
                black_box(&out);
            }
            single.push(t.elapsed().as_nanos() as f64 / block as f64);
            let t = Instant::now();
            walk.predict_batch(black_box(&rows), preds).unwrap();
            black_box(&preds);
            batch.push(n as f64 / t.elapsed().as_secs_f64());
        }
        (median(single), median(batch))
    };
    let (prepared_single, prepared_batch) = time_walk(&prepared, &mut preds);
    // One row at a time over varied rows, each timed: the latency distribution (each
    // figure includes one clock read, some 20 ns).
    let mut latencies = Vec::with_capacity(block * 3);
    for _ in 0..3 {
        for r in rows[..block * nf].chunks_exact(nf) {
            let t = Instant::now();
            prepared.predict_into(black_box(r), &mut out).unwrap();
            black_box(&out);
            latencies.push(t.elapsed().as_nanos() as f64);
        }
    }
    latencies.sort_by(f64::total_cmp);
    let p99 = latencies[latencies.len() * 99 / 100];
    let p50 = median(latencies);
    // The batch through each vector path below the one this CPU runs (what a CPU
    // without the better instructions takes), in the same run; bit for bit the same.
    let mut forced = Vec::new();
    for isa in VectorIsa::ALL
        .into_iter()
        .filter(|&isa| isa < VectorIsa::detected())
    {
        let walk = prepared.clone().with_vector_isa(isa);
        let mut rates = Vec::new();
        for _ in 0..reps {
            let t = Instant::now();
            walk.predict_batch(black_box(&rows), &mut preds).unwrap();
            black_box(&preds);
            rates.push(n as f64 / t.elapsed().as_secs_f64());
        }
        assert!(
            preds
                .iter()
                .zip(&prepared_preds)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "the batch through {isa:?} differs from the prepared walk"
        );
        forced.push(format!("\"{isa:?}\":{:.0}", median(rates)));
    }
    // The same model through the node walk, for the walks' ratio.
    let nodes = PreparedModel::new_node_walk(model).expect("the embedded model prepares");
    let (node_single, node_batch) = time_walk(&nodes, &mut preds);
    assert!(
        preds
            .iter()
            .zip(&prepared_preds)
            .all(|(a, b)| a.to_bits() == b.to_bits()),
        "the node walk differs from the prepared walk"
    );
    println!(
        "{{\"walk\":{:?},\"vector_isa\":\"{:?}\",\"forced_isa_batch_rows_per_s\":{{{}}},\"prepared_p50_ns\":{:.1},\"prepared_p99_ns\":{:.1},\"node_walk_single_row_ns\":{:.1},\"node_walk_batch_rows_per_s\":{:.0},\"model\":{:?},\"trees\":{},\"split_nodes\":{},\"rows\":{},\"single_row_ns\":{:.1},\"single_row_validated_ns\":{:.1},\"batch_rows_per_s\":{:.0},\"prepared_single_row_ns\":{:.1},\"prepared_batch_rows_per_s\":{:.0}}}",
        if prepared.is_intervals() { "intervals" } else { "nodes" },
        VectorIsa::detected(),
        forced.join(","),
        p50,
        p99,
        node_single,
        node_batch,
        model.source(),
        model.n_trees(),
        model.n_split_nodes(),
        n,
        median(single),
        median(single_validated),
        median(batch),
        prepared_single,
        prepared_batch
    );
}
