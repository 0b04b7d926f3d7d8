//! `cargo xtask bench-boost`: a 300-tree depth-8 XGBoost model (50 features) and a
//! 300-tree 255-leaf LightGBM model, trained by `bench/boost_peers.py`, through
//! Edgewood natively and through each library itself, single thread, in one run:
//! single-row latency and a 10k-row batch, printed as ratios against the goals.
//!
//! Not a test: timings on a shared machine are noisy. The peers run in `bench/.venv`
//! with pinned versions (created or completed here); the native side is the
//! `xtask/benches/boost.rs` harness in the release profile, which also checks that
//! every prediction equals the library's own.

use std::process::Command;

use anyhow::Context;
use serde_json::Value;

use crate::peers;
use crate::util::{self, cargo, root};

/// Versions the peers are measured with.
const PINS: &[(&str, &str, &str)] = &[
    ("xgboost", "xgboost", "3.2.0"),
    ("lightgbm", "lightgbm", "4.7.0"),
];

/// Arguments of `cargo xtask bench-boost`.
#[derive(clap::Args)]
pub struct Args {
    /// Rows in the batch.
    #[arg(long, default_value_t = 10_000)]
    rows: usize,
}

/// Runs the benchmark.
pub fn run(args: Args) -> anyhow::Result<()> {
    let python = peers::venv(PINS)?;
    let dir = root().join("target/bench/boost");
    std::fs::create_dir_all(&dir)?;
    eprintln!("training (first run only) and timing XGBoost and LightGBM ...");
    let out = util::output(
        Command::new(&python)
            .arg(root().join("bench/boost_peers.py"))
            .arg("--out")
            .arg(&dir)
            .arg("--rows")
            .arg(args.rows.to_string())
            .env("OMP_NUM_THREADS", "1"),
    )?;
    let peers = peers::last_json(&out).context("bench/boost_peers.py printed no JSON")?;
    let mut cmd = cargo();
    cmd.args(["bench", "-p", "xtask", "--bench", "boost", "--", "--dir"])
        .arg(&dir);
    eprintln!("$ {}", util::show(&cmd));
    let native =
        peers::last_json(&util::output(&mut cmd)?).context("the native harness printed no JSON")?;
    print_table(&native, &peers);
    Ok(())
}

fn print_table(native: &Value, peers: &Value) {
    println!(
        "\n{} rows of 50 features, one thread (xgboost {}, lightgbm {})",
        native["rows"], peers["xgboost"], peers["lightgbm"]
    );
    println!(
        "{:<34} {:>12} {:>16} {:>10} {:>10}",
        "model / engine", "1 row", "batch", "1-row ×", "batch ×"
    );
    println!("{}", "-".repeat(86));
    for (key, name, peer_single, peer_batch, goal) in [
        (
            "xgb",
            "XGBoost 300 trees depth 8",
            "xgb_single_us",
            "xgb_batch_rows_per_s",
            2.0,
        ),
        (
            "lgbm",
            "LightGBM 300 trees 255 leaves",
            "lgbm_single_us",
            "lgbm_batch_rows_per_s",
            5.0,
        ),
    ] {
        let single = peers::num(native, &format!("{key}_single_ns")) / 1000.0;
        let batch = peers::num(native, &format!("{key}_batch_rows_per_s"));
        let (ps, pb) = (peers::num(peers, peer_single), peers::num(peers, peer_batch));
        println!(
            "{:<34} {:>9.2} µs {:>11.0} r/s {:>10} {:>10}",
            format!("{name}: Edgewood"),
            single,
            batch,
            "",
            ""
        );
        println!(
            "{:<34} {:>9.2} µs {:>11.0} r/s {:>9.1}× {:>9.1}×",
            format!("{name}: library"),
            ps,
            pb,
            ps / single,
            batch / pb
        );
        println!(
            "    goals: 1 row ≥ 5× ({}), batch ≥ {goal}× ({}); {} of {} predictions differ from the library's",
            if ps / single >= 5.0 { "met" } else { "NOT met" },
            if batch / pb >= goal { "met" } else { "NOT met" },
            native[format!("{key}_differ")],
            native["rows"],
        );
    }
    if let Some(x) = peers["xgb_batch_dmatrix_rows_per_s"].as_f64() {
        println!(
            "(XGBoost through a DMatrix: {:.2} µs per row, {:.0} rows/s; the table uses inplace_predict, its faster path)",
            peers::num(peers, "xgb_single_dmatrix_us"),
            x
        );
    }
}
