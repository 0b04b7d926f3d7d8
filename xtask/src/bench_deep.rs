//! `cargo xtask bench-deep`: a random forest far bigger than the CPU's caches (150
//! trees of unlimited depth, about 5 million nodes, trained by `bench/deep_peers.py`)
//! through Edgewood natively and through scikit-learn `predict_proba`, one thread, the
//! same 100,000 rows, in one run: seconds per batch and the ratio. Then the memory
//! bounds of issue 16 (item 3), read with GNU time off the release `edgewood` binary
//! as a user runs it: `edgewood convert` of the joblib against the uncompressed
//! pickle's size, and `edgewood predict --threads 1` of the rows (as CSV) against the
//! `.ewm`'s, each at most 2×.
//!
//! Not a test: timings on a shared machine are noisy, and training takes minutes (the
//! first run only). The peer runs in `bench/.venv` with scikit-learn pinned as in
//! `cargo xtask bench`; the native side is the `xtask/benches/deep.rs` harness in the
//! release profile, which also checks every probability against scikit-learn's.

use std::path::Path;
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
    let walk = native["walk"].as_str().unwrap_or("?");
    for (name, secs) in [
        (format!("scikit-learn {} predict_proba", peer["sklearn"].as_str().unwrap_or("?")), sklearn),
        (format!("Edgewood, {walk}"), peers::num(&native, "prepared_s")),
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
    memory(&dir, peers::num(&peer, "joblib_bytes"))
}

/// The memory bounds: peak RSS of `edgewood convert` and of `edgewood predict`, each
/// against the file it reads (the joblib is saved uncompressed: its size is the
/// pickle's).
fn memory(dir: &Path, pickle_bytes: f64) -> anyhow::Result<()> {
    util::run(cargo().args(["build", "--release", "-p", "edgewood"]))?;
    let exe = root().join("target/release/edgewood");
    let ewm = dir.join("deep_forest.ewm");
    let csv = dir.join("rows.csv");
    if !csv.exists() {
        write_csv(&dir.join("rows.f64"), &csv)?;
    }
    let (convert_s, convert_kb) = util::run_measured(
        Command::new(&exe)
            .arg("convert")
            .arg(dir.join("deep_forest.joblib"))
            // Past the default cap on what an import may unpack: this file is the point.
            .args(["--max-model-mib", "4096", "-o"])
            .arg(&ewm),
    )?;
    let ewm_bytes = std::fs::metadata(&ewm)?.len() as f64;
    let (predict_s, predict_kb) = util::run_measured(
        Command::new(&exe)
            .arg("predict")
            .arg(&ewm)
            .arg(&csv)
            .args(["--threads", "1", "-o"])
            .arg(dir.join("predictions.csv")),
    )?;
    println!("\n{:<40} {:>10} {:>10} {:>12} {:>12}", "command (release build)", "seconds", "peak RSS", "of the file", "goal");
    for (name, secs, kb, file, of) in [
        ("edgewood convert (the joblib)", convert_s, convert_kb, pickle_bytes, "pickle"),
        ("edgewood predict --threads 1 (CSV)", predict_s, predict_kb, ewm_bytes, ".ewm"),
    ] {
        let (rss, ratio) = kb.map_or(("?".into(), "? (no /usr/bin/time)".into()), |kb| {
            let bytes = kb as f64 * 1024.0;
            (format!("{:.0} MB", bytes / 1e6), format!("{:.2}×", bytes / file))
        });
        println!("{name:<40} {secs:>10.2} {rss:>10} {ratio:>12} {:>12}", format!("≤ 2× {of}"));
    }
    println!("(pickle {:.0} MB uncompressed, .ewm {:.0} MB)", pickle_bytes / 1e6, ewm_bytes / 1e6);
    Ok(())
}

/// The rows (float64, row after row, 20 features) as a CSV whose header names the
/// features as scikit-learn does for a model trained on an array (`x0`, `x1`, …).
fn write_csv(rows: &Path, csv: &Path) -> anyhow::Result<()> {
    use std::io::Write;
    const FEATURES: usize = 20;
    let bytes = std::fs::read(rows).with_context(|| format!("cannot read {}", rows.display()))?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(csv)?);
    let header: Vec<String> = (0..FEATURES).map(|f| format!("x{f}")).collect();
    writeln!(out, "{}", header.join(","))?;
    for row in bytes.chunks_exact(8 * FEATURES) {
        let cells: Vec<String> = row
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8])).to_string())
            .collect();
        writeln!(out, "{}", cells.join(","))?;
    }
    out.flush()?;
    Ok(())
}
