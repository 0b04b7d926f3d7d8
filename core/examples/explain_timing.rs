//! Times [`Explainer::explain_into`] on one thread: `explain_timing MODEL.ewm ROWS.csv
//! [N]` explains the first `N` (default 1,000) complete rows of the CSV (header skipped,
//! columns in the model's order) twice and prints microseconds per row. For comparing
//! with `shap.TreeExplainer` and the libraries' `pred_contribs` on the same rows.

use std::time::Instant;

use edgewood_core::{Explainer, Model};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, model, rows, ..] = args.as_slice() else {
        eprintln!("usage: explain_timing MODEL.ewm ROWS.csv [N]");
        std::process::exit(2);
    };
    let bytes = std::fs::read(model).expect("readable model");
    let model = Model::open_validated(&bytes).expect("a valid .ewm model");
    let limit: usize = args
        .get(3)
        .map_or(1000, |s| s.parse().expect("a row count"));
    let text = std::fs::read_to_string(rows).expect("readable rows");
    let rows: Vec<Vec<f64>> = text
        .lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .map(|c| c.parse().unwrap_or(f64::NAN))
                .collect()
        })
        .filter(|r: &Vec<f64>| r.iter().all(|x| !x.is_nan()))
        .take(limit)
        .collect();
    let start = Instant::now();
    let explainer = Explainer::new(model).expect("a model with cover");
    println!("prepared in {:?}", start.elapsed());
    let mut out = vec![0.0; explainer.explanation_len()];
    let mut checksum = 0.0;
    for round in 0..2 {
        let start = Instant::now();
        for row in &rows {
            explainer.explain_into(row, &mut out).expect("explained");
            checksum += out[0];
        }
        let elapsed = start.elapsed();
        println!(
            "round {round}: {} rows, {:.2} µs per row",
            rows.len(),
            elapsed.as_secs_f64() * 1e6 / rows.len() as f64
        );
    }
    println!("checksum {checksum}");
}
