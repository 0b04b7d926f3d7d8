//! `cargo xtask bench-web`: the web benchmark (not a test). Builds the npm package,
//! writes the peers (m2cgen JavaScript of the Iris forest, the skl2onnx model) with a
//! Python venv of its own in `web/bench/.venv`, then runs `web/bench/run.mjs`, which
//! drives headless Chromium and prints the table with ratios (also written to
//! `artifacts/bench-web.md`). A baseline page without any engine is measured in the
//! same run, so the table shows Chromium's own navigation cost beside each engine's
//! share of its cold start.

use std::path::Path;
use std::process::Command;

use crate::util::{self, root};

/// Arguments of `cargo xtask bench-web`.
#[derive(clap::Args)]
pub struct Args {
    /// Fresh-profile page loads per engine for the cold-start median.
    #[arg(long, default_value_t = 5)]
    cold_runs: u32,
}

/// The Python packages that write the peers (exact versions).
const PYTHON_PACKAGES: &[&str] = &["m2cgen==0.10.0", "scikit-learn==1.9.1"];

/// Builds, prepares the peers, and runs the benchmark.
pub fn run(args: Args) -> anyhow::Result<()> {
    crate::wasm::build()?;
    crate::web::setup_chromium()?;
    let venv = root().join("web/bench/.venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        util::run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    if !has_packages(&python) {
        util::run(
            Command::new(venv.join("bin/pip"))
                .args(["install", "--quiet"])
                .args(PYTHON_PACKAGES),
        )?;
    }
    util::run(Command::new(&python).arg("web/bench/make_peers.py"))?;
    util::run(
        Command::new("node")
            .arg("web/bench/run.mjs")
            .env("COLD_RUNS", args.cold_runs.to_string()),
    )
}

fn has_packages(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import m2cgen, sklearn, joblib"])
        .status()
        .is_ok_and(|s| s.success())
}
