//! `cargo xtask bench`: the Iris RF100 model natively, and the same rows through
//! scikit-learn `predict_proba`, ONNX Runtime and tl2cgen (the model compiled to C) in
//! the same run, as a table of ratios.
//!
//! Not a test: timings on a shared machine are noisy. The native side is the
//! `xtask/benches/iris.rs` harness (release profile); the peers run `bench/peers.py`
//! in `bench/.venv`, which this command creates with pinned versions; tl2cgen's
//! compiled library is cached under `target/bench/tl2cgen`. `--smoke` runs the native
//! harness for a few iterations without Python (a CI step).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;
use serde_json::Value;

use crate::peers;
use crate::util::{self, cargo, root};

/// Versions the peers are measured with (the figures in shared notes use these).
const PINS: &[(&str, &str, &str)] = &[
    ("scikit-learn", "sklearn", "1.9.1"),
    ("onnxruntime", "onnxruntime", "1.32.0"),
    ("skl2onnx", "skl2onnx", "1.20.0"),
    ("treelite", "treelite", "4.8.1"),
    ("tl2cgen", "tl2cgen", "1.0.0"),
];

/// Arguments of `cargo xtask bench`.
#[derive(clap::Args)]
pub struct Args {
    /// A few iterations of the native harness only (no Python, debug build).
    #[arg(long)]
    smoke: bool,
    /// Rows in the batch.
    #[arg(long, default_value_t = 100_000)]
    rows: usize,
    /// Only the native engine (no Python peers).
    #[arg(long)]
    native_only: bool,
}

/// Runs the benchmark.
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.smoke {
        return smoke();
    }
    let rows = write_rows(args.rows)?;
    let native = native(&rows, false)?;
    let peers = if args.native_only {
        None
    } else {
        let python = peers::venv(PINS)?;
        let out = util::output(
            Command::new(&python)
                .arg(root().join("bench/peers.py"))
                .arg("--rows")
                .arg(&rows)
                .arg("--model")
                .arg(root().join("tests/fixtures/iris_rf100.joblib"))
                .arg("--cache")
                .arg(root().join("target/bench/tl2cgen"))
                // One thread everywhere, like the engine.
                .env("OMP_NUM_THREADS", "1")
                .env("OPENBLAS_NUM_THREADS", "1")
                .env("MKL_NUM_THREADS", "1"),
        )?;
        Some(peers::last_json(&out).context("bench/peers.py printed no JSON")?)
    };
    print_table(&native, peers.as_ref());
    Ok(())
}

/// The CI smoke run: the native harness, few iterations, debug profile.
pub fn smoke() -> anyhow::Result<()> {
    let rows = write_rows(2_000)?;
    let v = native(&rows, true)?;
    anyhow::ensure!(
        v["batch_rows_per_s"].as_f64().is_some_and(|x| x > 0.0),
        "the native harness reported no throughput: {v}"
    );
    eprintln!("bench smoke: {v}");
    Ok(())
}

/// The rows of [`iris_rows`], written as little-endian float64, 4 per row.
fn write_rows(n: usize) -> anyhow::Result<PathBuf> {
    let dir = root().join("target/bench");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("iris_rows_{n}.f64"));
    let bytes: Vec<u8> = iris_rows(n)
        .iter()
        .flatten()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    std::fs::write(&path, bytes)?;
    Ok(path)
}

/// `n` deterministic Iris-like rows: each feature uniform over its training range, one
/// decimal like the data (`cargo xtask bench-predict` writes them as CSV).
pub fn iris_rows(n: usize) -> Vec<[f64; 4]> {
    const RANGES: [(f64, f64); 4] = [(4.3, 7.9), (2.0, 4.4), (1.0, 6.9), (0.1, 2.5)];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..n)
        .map(|_| {
            RANGES.map(|(lo, hi)| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let steps = ((hi - lo) * 10.0).round() as u64 + 1;
                let x = lo + (state % steps) as f64 / 10.0;
                (x * 10.0).round() / 10.0
            })
        })
        .collect()
}

/// Runs the native harness and returns its JSON report.
fn native(rows: &Path, smoke: bool) -> anyhow::Result<Value> {
    let mut cmd = cargo();
    cmd.args(["bench", "-p", "xtask", "--bench", "iris"]);
    if smoke {
        cmd.args(["--profile", "dev"]);
    }
    cmd.arg("--").arg("--rows").arg(rows);
    if smoke {
        cmd.arg("--smoke");
    }
    eprintln!("$ {}", util::show(&cmd));
    let out = util::output(&mut cmd)?;
    peers::last_json(&out).context("the native harness printed no JSON")
}

fn rate(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2}M rows/s", x / 1e6)
    } else {
        format!("{:.0}k rows/s", x / 1e3)
    }
}

fn print_table(native: &Value, peers: Option<&Value>) {
    // The product's figures are PreparedModel's (the CLI and the npm package);
    // the bytes walk (what a fresh Spin instance uses) is shown beside them.
    let single = peers::num(native, "prepared_single_row_ns") / 1000.0;
    let batch = peers::num(native, "prepared_batch_rows_per_s");
    let bytes_single = peers::num(native, "single_row_ns") / 1000.0;
    let single_v = peers::num(native, "single_row_validated_ns") / 1000.0;
    let bytes_batch = peers::num(native, "batch_rows_per_s");
    println!(
        "\nIris RF100 ({} trees, {} split nodes), {} rows, one thread, load average {}",
        native["trees"],
        native["split_nodes"],
        native["rows"],
        util::load_average()
    );
    println!(
        "{:<28} {:>12} {:>16} {:>16} {:>14}",
        "engine", "1 row", "batch", "Edgewood 1 row", "Edgewood batch"
    );
    println!("{}", "-".repeat(90));
    println!(
        "{:<28} {:>9.3} µs {:>16} {:>16} {:>14}",
        format!(
            "Edgewood native ({})",
            native["walk"].as_str().unwrap_or("prepared")
        ),
        single,
        rate(batch),
        "1×",
        "1×"
    );
    println!(
        "{:<28} {:>9.3} µs {:>16}",
        "  node walk",
        peers::num(native, "node_walk_single_row_ns") / 1000.0,
        rate(peers::num(native, "node_walk_batch_rows_per_s"))
    );
    // The batch through the vector paths below this CPU's best, as a CPU without the
    // better instructions takes it (no single-row figure: one row takes no kernel).
    if let Some(forced) = native["forced_isa_batch_rows_per_s"].as_object() {
        for (isa, rows_s) in forced {
            let rows_s = rows_s.as_f64().unwrap_or(f64::NAN);
            println!(
                "{:<28} {:>12} {:>16} {:>33.2}×",
                format!("  batch forced to {isa}"),
                "",
                rate(rows_s),
                batch / rows_s
            );
        }
    }
    println!(
        "{:<28} {:>9.3} µs {:>16}",
        "  from bytes (Spin path)",
        bytes_single,
        rate(bytes_batch)
    );
    println!(
        "{:<28} {:>9.3} µs {:>16}",
        "  from bytes + validate_row", single_v, ""
    );
    let row = |name: &str, us: f64, rows_s: f64, p99: f64| {
        println!(
            "{:<28} {:>9.3} µs {:>16} {:>15.1}× {:>13.2}×   p99 {:.1} µs",
            name,
            us,
            rate(rows_s),
            us / single,
            batch / rows_s,
            p99
        );
    };
    if let Some(p) = peers {
        row(
            &format!(
                "scikit-learn {}",
                p["sklearn_version"].as_str().unwrap_or("?")
            ),
            peers::num(p, "sklearn_single_us"),
            peers::num(p, "sklearn_batch_rows_per_s"),
            peers::num(p, "sklearn_single_p99_us"),
        );
        row(
            &format!(
                "ONNX Runtime {}",
                p["onnxruntime_version"].as_str().unwrap_or("?")
            ),
            peers::num(p, "ort_single_us"),
            peers::num(p, "ort_batch_rows_per_s"),
            peers::num(p, "ort_single_p99_us"),
        );
        row(
            &format!(
                "tl2cgen {} (compiled C)",
                p["tl2cgen_version"].as_str().unwrap_or("?")
            ),
            peers::num(p, "tl2cgen_single_us"),
            peers::num(p, "tl2cgen_batch_rows_per_s"),
            peers::num(p, "tl2cgen_single_p99_us"),
        );
    }
    println!(
        "(ratios: how many times faster Edgewood is; a peer's 1 row is the median of \
         single Python calls, each on a different row; Edgewood's is the mean of blocks of calls)"
    );
    if let Some(p) = peers {
        let ort = peers::num(p, "ort_single_us") / single;
        println!(
            "goal: 1 row ≥10× faster than ONNX Runtime in-process: {ort:.1}× — {}",
            if ort >= 10.0 { "met" } else { "NOT met" }
        );
        if let Some(d) = p["max_abs_diff_vs_sklearn"].as_f64() {
            println!("ONNX Runtime vs scikit-learn, largest probability difference: {d:e}");
        }
        if let Some(d) = p["tl2cgen_max_abs_diff_vs_sklearn"].as_f64() {
            println!(
                "tl2cgen vs scikit-learn, largest probability difference: {d:e} \
                 (batch with the DMatrix built in the call: {})",
                rate(peers::num(p, "tl2cgen_batch_with_dmatrix_rows_per_s"))
            );
        }
        let tl = peers::num(p, "tl2cgen_batch_rows_per_s");
        let b = batch / tl;
        println!(
            "goal: batch ≥2× tl2cgen ({}, this run): {b:.2}× — {}",
            rate(tl),
            if b >= 2.0 { "met" } else { "NOT met" }
        );
    }
    let (p50, p99) = (
        peers::num(native, "prepared_p50_ns") / 1000.0,
        peers::num(native, "prepared_p99_ns") / 1000.0,
    );
    println!(
        "goal: 1 row p50 ≤ 0.4 µs and p99 ≤ 1 µs (each row timed, varied rows): {p50:.3} / {p99:.3} µs — {}",
        if p50 <= 0.4 && p99 <= 1.0 { "met" } else { "NOT met" }
    );
}
