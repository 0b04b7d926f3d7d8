//! `cargo xtask bench-boost`: a 300-tree depth-8 XGBoost model (50 features) and a
//! 300-tree 255-leaf LightGBM model, trained by `bench/boost_peers.py`, through
//! Edgewood natively and through each library itself, single thread, in one run:
//! single-row latency and a 10k-row batch, printed as ratios against the goals.
//!
//! The stronger peers run on the same model files and rows in the same run: tl2cgen
//! (compiled C) and daal4py / oneDAL (`daal4py.mb.convert_model`) always, lleaves
//! (LightGBM through LLVM) with `--lleaves`; their compiled libraries are cached under
//! `target/bench/boost`. Each peer's outputs are compared with the library's.
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
    ("treelite", "treelite", "4.8.1"),
    ("tl2cgen", "tl2cgen", "1.0.0"),
    ("scikit-learn-intelex", "daal4py", "2026.2.0"),
];

/// lleaves and its LLVM binding, installed only for `--lleaves`: lleaves 1.3.0 uses
/// `llvmlite.binding.PassManagerBuilder`, which llvmlite 0.45 and later no longer have.
const LLEAVES_PINS: &[(&str, &str, &str)] = &[
    ("lleaves", "lleaves", "1.3.0"),
    ("llvmlite", "llvmlite", "0.44.0"),
];

/// Arguments of `cargo xtask bench-boost`.
#[derive(clap::Args)]
pub struct Args {
    /// Rows in the batch.
    #[arg(long, default_value_t = 10_000)]
    rows: usize,
    /// Also lleaves for LightGBM. Its first compile of the 255-leaf model took
    /// 16-19 minutes (8.5 min of CPU) and 7.6-8 GB here; the library is cached
    /// under `target/bench/boost/lleaves` afterwards and loads in 0.1 s.
    #[arg(long)]
    lleaves: bool,
    /// Only each library itself (no tl2cgen, no daal4py).
    #[arg(long)]
    no_stronger: bool,
}

/// Runs the benchmark.
pub fn run(args: Args) -> anyhow::Result<()> {
    let mut pins = PINS.to_vec();
    if args.lleaves {
        pins.extend_from_slice(LLEAVES_PINS);
    }
    let python = peers::venv(&pins)?;
    let dir = root().join("target/bench/boost");
    std::fs::create_dir_all(&dir)?;
    eprintln!(
        "training (first run only), compiling peers (first run only) and timing ..."
    );
    let mut cmd = Command::new(&python);
    cmd.arg(root().join("bench/boost_peers.py"))
        .arg("--out")
        .arg(&dir)
        .arg("--rows")
        .arg(args.rows.to_string())
        .env("OMP_NUM_THREADS", "1");
    if !args.no_stronger {
        cmd.arg("--stronger");
    }
    if args.lleaves {
        cmd.arg("--lleaves");
    }
    let out = util::output(&mut cmd)?;
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
    let versions: Vec<String> = ["xgboost", "lightgbm", "tl2cgen", "daal4py", "lleaves"]
        .iter()
        .filter_map(|k| Some(format!("{k} {}", peers[*k].as_str()?)))
        .collect();
    println!(
        "\n{} rows of 50 features, one thread, load average {} ({})",
        native["rows"],
        util::load_average(),
        versions.join(", ")
    );
    println!(
        "{:<38} {:>10} {:>10} {:>12} {:>9} {:>9} {:>14}",
        "model / engine", "1 row p50", "p99", "batch r/s", "1-row ×", "batch ×", "max diff"
    );
    println!("{}", "-".repeat(107));
    for (key, name, goal) in [
        ("xgb", "XGBoost 300 trees depth 8", 2.0),
        ("lgbm", "LightGBM 300 trees 255 leaves", 5.0),
    ] {
        // Edgewood's rows timed one by one, like the peers' (the mean of blocks of
        // calls where the harness gives no distribution).
        let single = native[format!("{key}_p50_ns")]
            .as_f64()
            .unwrap_or(peers::num(native, &format!("{key}_single_ns")))
            / 1000.0;
        let batch = peers::num(native, &format!("{key}_batch_rows_per_s"));
        let walk = native[format!("{key}_walk")].as_str().unwrap_or("node walk");
        println!(
            "{:<38} {:>7.2} µs {:>7.1} µs {:>12.0}",
            format!("{name}: Edgewood ({walk})"),
            single,
            peers::num(native, &format!("{key}_p99_ns")) / 1000.0,
            batch,
        );
        // What the walk taken is worth: the node walk on the same rows, same run.
        if let Some(nodes) = native[format!("{key}_node_walk_batch_rows_per_s")].as_f64() {
            println!(
                "{:<38} {:>10} {:>10} {:>12.0} {:>9} {:>8.2}×",
                "    Edgewood, node walk",
                "",
                "",
                nodes,
                "",
                batch / nodes
            );
        }
        // (label, JSON key prefix): the library first, then the stronger peers.
        let mut rows = vec![("library".to_string(), key.to_string())];
        for p in ["tl2cgen", "daal4py", "lleaves"] {
            if peers.get(format!("{key}_{p}_batch_rows_per_s")).is_some() {
                rows.push((p.to_string(), format!("{key}_{p}")));
            }
        }
        let mut ratios = Vec::new();
        for (label, k) in &rows {
            let ps = peers::num(peers, &format!("{k}_single_us"));
            let pb = peers::num(peers, &format!("{k}_batch_rows_per_s"));
            let diff = peers[format!("{k}_max_abs_diff")]
                .as_f64()
                .map_or("(ref)".to_string(), |d| {
                    format!("{d:.1e} ({})", peers[format!("{k}_rows_off")])
                });
            println!(
                "{:<38} {:>7.2} µs {:>7.1} µs {:>12.0} {:>8.1}× {:>8.2}× {:>14}",
                format!("    {label}"),
                ps,
                peers::num(peers, &format!("{k}_single_p99_us")),
                pb,
                ps / single,
                batch / pb,
                diff
            );
            ratios.push((label.clone(), batch / pb));
        }
        let ratio = |l: &str| ratios.iter().find(|(x, _)| x == l).map(|r| r.1);
        let verdict = |r: f64, g: f64| if r >= g { "met" } else { "NOT met" };
        let lib_single = peers::num(peers, &format!("{key}_single_us")) / single;
        let mut goals = vec![
            format!("1 row ≥ 5× library ({})", verdict(lib_single, 5.0)),
            format!(
                "batch ≥ {goal}× library ({})",
                verdict(ratio("library").unwrap_or(f64::NAN), goal)
            ),
        ];
        if let Some(r) = ratio("daal4py") {
            goals.push(format!("batch ≥ 2× daal4py ({})", verdict(r, 2.0)));
        }
        if let Some(r) = ratio("lleaves") {
            goals.push(format!("batch ≥ 3× lleaves ({})", verdict(r, 3.0)));
        }
        println!(
            "    goals: {}; {} of {} Edgewood predictions differ from the library's",
            goals.join(", "),
            native[format!("{key}_differ")],
            native["rows"],
        );
    }
    println!(
        "(× = how many times faster Edgewood is; 1 row: each row timed on its own, each a \
         different row, a Python call for the peers, a native call for Edgewood; max diff = largest absolute difference from the library's outputs, \
         with the count of rows more than 1e-6 away)"
    );
    if let Some(x) = peers["xgb_batch_dmatrix_rows_per_s"].as_f64() {
        println!(
            "(XGBoost through a DMatrix: {:.2} µs per row, {:.0} rows/s; the table uses inplace_predict, its faster path)",
            peers::num(peers, "xgb_single_dmatrix_us"),
            x
        );
    }
    for (k, what) in [
        ("xgb_tl2cgen_build_s", "tl2cgen build of XGBoost"),
        ("lgbm_tl2cgen_build_s", "tl2cgen build of LightGBM"),
        ("lgbm_lleaves_compile_s", "lleaves compile (or load)"),
    ] {
        if let Some(s) = peers[k].as_f64().filter(|s| *s > 0.0) {
            println!("({what}: {s:.1} s)");
        }
    }
}
