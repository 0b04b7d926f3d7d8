//! `cargo xtask bench-explain`: exact TreeSHAP, Edgewood against the libraries' own
//! explanations in one run, one thread: Iris RF100 against `shap.TreeExplainer`
//! (one row per call), and the bench-boost XGBoost model (300 trees, depth 8, 50
//! features) against `pred_contribs` on 1,000 rows. Prints ratios against the goals
//! (≥ 20× shap on Iris, ≥ 2× XGBoost).
//!
//! Not a test: timings on a shared machine are noisy. The peers run in `bench/.venv`
//! (`bench/explain_peers.py`, pinned versions); the native side is the
//! `xtask/benches/explain.rs` harness in the release profile, which also checks every
//! contribution against the library's.

use std::process::Command;

use anyhow::Context;
use serde_json::Value;

use crate::peers;
use crate::util::{self, cargo, root};

/// Versions the peers are measured with (lightgbm: boost_peers.py trains with it too).
const PINS: &[(&str, &str, &str)] = &[
    ("scikit-learn", "sklearn", "1.9.1"),
    ("shap", "shap", "0.51.0"),
    ("xgboost", "xgboost", "3.2.0"),
    ("lightgbm", "lightgbm", "4.7.0"),
];

/// Arguments of `cargo xtask bench-explain`.
#[derive(clap::Args)]
pub struct Args {
    /// Rows of the XGBoost batch.
    #[arg(long, default_value_t = 1_000)]
    rows: usize,
}

/// Runs the benchmark.
pub fn run(args: Args) -> anyhow::Result<()> {
    let python = peers::venv(PINS)?;
    let dir = root().join("target/bench/boost");
    std::fs::create_dir_all(&dir)?;
    let fixtures = root().join("tests/fixtures");
    eprintln!("explaining with shap and XGBoost (training first if needed) ...");
    let out = util::output(
        Command::new(&python)
            .arg(root().join("bench/explain_peers.py"))
            .arg("--out")
            .arg(&dir)
            .arg("--fixtures")
            .arg(&fixtures)
            .arg("--rows")
            .arg(args.rows.to_string())
            .env("OMP_NUM_THREADS", "1"),
    )?;
    let peers = peers::last_json(&out).context("bench/explain_peers.py printed no JSON")?;
    let mut cmd = cargo();
    cmd.args(["bench", "-p", "xtask", "--bench", "explain", "--", "--dir"])
        .arg(&dir)
        .arg("--fixtures")
        .arg(&fixtures);
    eprintln!("$ {}", util::show(&cmd));
    let native =
        peers::last_json(&util::output(&mut cmd)?).context("the native harness printed no JSON")?;
    print_table(&native, &peers);
    Ok(())
}

fn print_table(native: &Value, peers: &Value) {
    println!(
        "\nexact TreeSHAP, one thread (shap {}, scikit-learn {}, xgboost {})",
        peers["shap"], peers["sklearn"], peers["xgboost"]
    );
    println!(
        "{:<44} {:>12} {:>12} {:>9} {:>8} {:>12}",
        "model", "Edgewood", "library", "ratio", "goal", "off bounds"
    );
    println!("{}", "-".repeat(104));
    for (key, name, peer, goal) in [
        (
            "iris",
            "Iris RF100 vs shap.TreeExplainer (per row)",
            "iris_shap_us",
            20.0,
        ),
        (
            "xgb",
            "XGBoost 300×8 vs pred_contribs (per row)",
            "xgb_pred_contribs_us",
            2.0,
        ),
    ] {
        let ours = peers::num(native, &format!("{key}_ns")) / 1000.0;
        let theirs = peers::num(peers, peer);
        let ratio = theirs / ours;
        println!(
            "{:<44} {:>9.2} µs {:>9.2} µs {:>8.1}× {:>7}× {:>5} of {:<5} {}",
            name,
            ours,
            theirs,
            ratio,
            goal,
            native[format!("{key}_off")],
            native[format!("{key}_rows")],
            if ratio >= goal { "met" } else { "NOT met" },
        );
    }
    println!(
        "(prepared once per model: Iris {:.1} ms, XGBoost {:.1} ms; not in the per-row times)",
        peers::num(native, "iris_prepare_ms"),
        peers::num(native, "xgb_prepare_ms")
    );
}
