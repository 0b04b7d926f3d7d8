//! `cargo xtask bench-catboost`: two CatBoost models of CatBoost's default shape
//! (oblivious trees of depth 6; a 1000-tree Logloss and a 500-round 3-class MultiClass
//! model, 50 features), trained by `bench/catboost_peers.py`, through Edgewood natively
//! and through CatBoost's own `predict`, single thread, in one run: single-row p50 and
//! p99 over varied rows and a 10k-row batch, printed as ratios against the goals.
//!
//! Not a test: timings on a shared machine are noisy. The peer runs in `bench/.venv`
//! with CatBoost pinned (installed here on first run); the native side is the
//! `xtask/benches/catboost.rs` harness in the release profile, which also counts the
//! probabilities that differ from CatBoost's own.

use std::process::Command;

use anyhow::Context;
use serde_json::Value;

use crate::peers;
use crate::util::{self, cargo, root};

/// Versions the peer is measured with (those of the CatBoost fixtures).
const PINS: &[(&str, &str, &str)] = &[("catboost", "catboost", "1.2.10"), ("numpy", "numpy", "2.4.6")];

/// Arguments of `cargo xtask bench-catboost`.
#[derive(clap::Args)]
pub struct Args {
    /// Rows in the batch.
    #[arg(long, default_value_t = 10_000)]
    rows: usize,
}

/// Runs the benchmark.
pub fn run(args: Args) -> anyhow::Result<()> {
    let python = peers::venv(PINS)?;
    let dir = root().join("target/bench/catboost");
    std::fs::create_dir_all(&dir)?;
    eprintln!("training (first run only) and timing CatBoost ...");
    let out = util::output(
        Command::new(&python)
            .arg(root().join("bench/catboost_peers.py"))
            .arg("--out")
            .arg(&dir)
            .arg("--rows")
            .arg(args.rows.to_string())
            .env("OMP_NUM_THREADS", "1"),
    )?;
    let peer = peers::last_json(&out).context("bench/catboost_peers.py printed no JSON")?;
    let mut cmd = cargo();
    cmd.args(["bench", "-p", "xtask", "--bench", "catboost", "--", "--dir"])
        .arg(&dir);
    eprintln!("$ {}", util::show(&cmd));
    let native =
        peers::last_json(&util::output(&mut cmd)?).context("the native harness printed no JSON")?;
    print_table(&native, &peer);
    Ok(())
}

fn print_table(native: &Value, peer: &Value) {
    println!(
        "\n{} rows of 50 features, one thread (catboost {}; vector code: {}; load average {})",
        native["rows"],
        peer["catboost"],
        native["vector_isa"].as_str().unwrap_or("?"),
        util::load_average()
    );
    println!(
        "{:<40} {:>10} {:>10} {:>14} {:>8} {:>8}",
        "model / engine", "1 row p50", "1 row p99", "batch", "1-row ×", "batch ×"
    );
    println!("{}", "-".repeat(96));
    for (key, name) in [
        ("binary", "Logloss, 1000 trees of depth 6"),
        ("multiclass", "MultiClass (3), 500 rounds of depth 6"),
    ] {
        let (cp50, cp99) = (
            peers::num(peer, &format!("{key}_single_p50_us")),
            peers::num(peer, &format!("{key}_single_p99_us")),
        );
        let cbatch = peers::num(peer, &format!("{key}_batch_rows_per_s"));
        println!(
            "{:<40} {:>7.2} µs {:>7.2} µs {:>10.0} r/s",
            format!("{name}: CatBoost"),
            cp50,
            cp99,
            cbatch
        );
        for (walk, label) in [
            ("oblivious", "oblivious walk"),
            ("oblivious_portable", "oblivious, portable code"),
            ("model", "model walk"),
        ] {
            let field = |f: &str| peers::num(native, &format!("{key}_{walk}_{f}"));
            let (p50, p99) = (field("single_p50_ns") / 1000.0, field("single_p99_ns") / 1000.0);
            let batch = field("batch_rows_per_s");
            println!(
                "{:<40} {:>7.2} µs {:>7.2} µs {:>10.0} r/s {:>7.1}× {:>7.1}×",
                format!("  Edgewood, {label}"),
                p50,
                p99,
                batch,
                cp50 / p50,
                batch / cbatch
            );
        }
        let p50 = peers::num(native, &format!("{key}_oblivious_single_p50_ns")) / 1000.0;
        let batch = peers::num(native, &format!("{key}_oblivious_batch_rows_per_s"));
        println!(
            "    goals (oblivious walk): 1 row ≥ 10× ({}), batch ≥ 3× ({}); {} of {} probabilities differ from CatBoost's (max {} ulp)",
            if cp50 / p50 >= 10.0 { "met" } else { "NOT met" },
            if batch / cbatch >= 3.0 { "met" } else { "NOT met" },
            native[format!("{key}_oblivious_differ")],
            native[format!("{key}_values")],
            native[format!("{key}_oblivious_max_ulps")],
        );
    }
    println!(
        "(CatBoost's single row through its {} path; `model walk` is the .ewm bytes walk the Spin component takes)",
        peer["binary_single_path"].as_str().unwrap_or("?")
    );
}
