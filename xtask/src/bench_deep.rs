//! `cargo xtask bench-deep`: a random forest far bigger than the CPU's caches (150
//! trees of unlimited depth, about 5 million nodes, trained by `bench/deep_peers.py`)
//! through Edgewood natively and through scikit-learn `predict_proba`, one thread, the
//! same 100,000 rows, in one run: seconds per batch and the ratio.
//!
//! Not a test: timings on a shared machine are noisy, and training takes minutes (the
//! first run only). The peer runs in `bench/.venv` with scikit-learn pinned as in
//! `cargo xtask bench`; the native side is the `xtask/benches/deep.rs` harness in the
//! release profile, which also checks every probability against scikit-learn's.

use std::process::Command;

use anyhow::Context;

use crate::peers;
use crate::util::{self, cargo, root};

/// The version the peer is measured with.
const PINS: &[(&str, &str, &str)] = &[("scikit-learn", "sklearn", "1.9.1")];

/// Arguments of `cargo xtask bench-deep`.
#[derive(clap::Args)]
pub struct Args {
    /// Rows in the batch.
    #[arg(long, default_value_t = 100_000)]
    rows: usize,
}

/// Runs the benchmark.
pub fn run(args: Args) -> anyhow::Result<()> {
    let python = peers::venv(PINS)?;
    let dir = root().join("target/bench/deep");
    std::fs::create_dir_all(&dir)?;
    eprintln!("training (first run only, minutes) and timing scikit-learn ...");
    let out = util::output(
        Command::new(&python)
            .arg(root().join("bench/deep_peers.py"))
            .arg("--out")
            .arg(&dir)
            .arg("--rows")
            .arg(args.rows.to_string()),
    )?;
    let peer = peers::last_json(&out).context("bench/deep_peers.py printed no JSON")?;
    let mut cmd = cargo();
    cmd.args(["bench", "-p", "xtask", "--bench", "deep", "--", "--dir"])
        .arg(&dir);
    eprintln!("$ {}", util::show(&cmd));
    let native =
        peers::last_json(&util::output(&mut cmd)?).context("the native harness printed no JSON")?;
    let sklearn = peers::num(&peer, "sklearn_s");
    println!(
        "\n{} rows, forest of {} trees, {} split nodes, depth {} ({} MB .ewm, {} MB joblib); one thread; load average {}",
        native["rows"],
        native["trees"],
        native["split_nodes"],
        native["depth"],
        peers::num(&native, "ewm_bytes") as u64 >> 20,
        peers::num(&peer, "joblib_bytes") as u64 >> 20,
        util::load_average(),
    );
    println!("{:<40} {:>10} {:>14}", "engine", "seconds", "× scikit-learn");
    for (name, secs) in [
        (format!("scikit-learn {} predict_proba", peer["sklearn"].as_str().unwrap_or("?")), sklearn),
        ("Edgewood, decoded walk".into(), peers::num(&native, "prepared_s")),
        ("Edgewood, bytes walk".into(), peers::num(&native, "bytes_s")),
    ] {
        println!("{name:<40} {secs:>10.3} {:>13.2}×", sklearn / secs);
    }
    println!(
        "convert {:.2} s, prepare {:.2} s; {} probabilities differ from scikit-learn's",
        peers::num(&native, "convert_s"),
        peers::num(&native, "prepare_s"),
        native["differ"]
    );
    Ok(())
}
