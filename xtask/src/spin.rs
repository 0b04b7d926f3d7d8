//! `cargo xtask spin`: build the Spin component (wasm32-wasip2, `wasm-release`) and check
//! its size budget: at most 400 KB without the embedded model.
//!
//! `--model FILE.ewm` embeds another model (through `EDGEWOOD_MODEL`); the output is the
//! file `spin-app/spin.toml` points at, ready for `spin up`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{self, cargo};

/// The budget of the component without its model, in bytes.
pub const BUDGET: u64 = 400 * 1000;

/// Arguments of `cargo xtask spin`.
#[derive(clap::Args)]
pub struct Args {
    /// Embed this .ewm model instead of the Iris default.
    #[arg(long, value_name = "FILE.ewm")]
    model: Option<PathBuf>,
}

/// Builds the component and reports its size.
pub fn run(args: Args) -> anyhow::Result<()> {
    let wasm = build(args.model.as_deref(), None)?;
    report(&wasm, args.model.as_deref())?;
    println!("component: {}", wasm.display());
    println!("run it:    cargo xtask serve   (or: spin up -f spin-app/spin.toml)");
    Ok(())
}

/// The CI step: build with the Iris model and fail over the size budget.
pub fn check() -> anyhow::Result<()> {
    let wasm = build(None, None)?;
    report(&wasm, None)
}

/// The cargo target directory in use (CARGO_TARGET_DIR or `<root>/target`).
pub fn target_dir() -> PathBuf {
    // Cargo runs in the workspace root (util::run), so a relative CARGO_TARGET_DIR is
    // relative to it; made absolute, the path still holds for build scripts.
    std::env::var_os("CARGO_TARGET_DIR")
        .map(|dir| util::root().join(dir))
        .unwrap_or_else(|| util::root().join("target"))
}

/// Makes sure the wasm32-wasip2 target is installed (idempotent, quick when it is).
pub fn ensure_target() -> anyhow::Result<()> {
    let installed = util::output(Command::new("rustup").args(["target", "list", "--installed"]))?;
    if !installed.lines().any(|l| l.trim() == "wasm32-wasip2") {
        util::run(Command::new("rustup").args(["target", "add", "wasm32-wasip2"]))?;
    }
    Ok(())
}

/// Builds the component embedding `model` (Iris when `None`) into `target_dir`
/// (the workspace's when `None`), and returns the .wasm path.
pub fn build(model: Option<&Path>, target_dir: Option<&Path>) -> anyhow::Result<PathBuf> {
    ensure_target()?;
    let mut cmd = cargo();
    cmd.args([
        "build",
        "-p",
        "edgewood-spin",
        "--target",
        "wasm32-wasip2",
        "--profile",
        "wasm-release",
    ]);
    if let Some(dir) = target_dir {
        cmd.arg("--target-dir").arg(dir);
    }
    match model {
        Some(m) => {
            let m = std::fs::canonicalize(m)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", m.display()))?;
            cmd.env("EDGEWOOD_MODEL", m);
        }
        None => {
            cmd.env_remove("EDGEWOOD_MODEL");
        }
    }
    util::run(&mut cmd)?;
    let dir = target_dir
        .map(Path::to_path_buf)
        .unwrap_or_else(target_dir_default);
    Ok(dir.join("wasm32-wasip2/wasm-release/edgewood_spin.wasm"))
}

fn target_dir_default() -> PathBuf {
    target_dir()
}

/// Prints the component's size with and without the model; fails over the budget.
fn report(wasm: &Path, model: Option<&Path>) -> anyhow::Result<()> {
    let total = std::fs::metadata(wasm)?.len();
    let model_path = model
        .map(Path::to_path_buf)
        .unwrap_or_else(|| util::root().join("spin-app/models/iris.ewm"));
    let model_size = std::fs::metadata(&model_path)?.len();
    let without = total.saturating_sub(model_size);
    println!(
        "Spin component: {total} bytes = {without} bytes of code + {model_size} bytes of model ({}); budget {BUDGET} bytes without the model",
        model_path.file_name().unwrap_or_default().to_string_lossy()
    );
    anyhow::ensure!(
        without <= BUDGET,
        "the component is {without} bytes without its model, over the {BUDGET}-byte budget"
    );
    Ok(())
}
