//! `cargo xtask spin`: build the Spin component (wasm32-wasip2, `component-release`, with the
//! built-in Iris model) and check its size budget: at most 500 KB without the model.
//!
//! It builds into `<target>/component`, where `edgewood`'s build script builds the
//! component it carries and where `spin-app/spin.toml` looks: one build serves all three.
//! Another model goes into the built component with `edgewood component`, no compiler.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{self, cargo};

/// The budget of the component without its model, in bytes.
// The goal. JWT (HS256/RS256/ES256 verification) adds ~190 KB, ~70 KB of it
// big-integer arithmetic; printing floats without core's formatting (`float_text`)
// saved ~19 KB.
pub const BUDGET: u64 = 500 * 1000;

/// Arguments of `cargo xtask spin`.
#[derive(clap::Args)]
pub struct Args {}

/// Builds the component and reports its size.
pub fn run(_args: Args) -> anyhow::Result<()> {
    let wasm = build()?;
    report(&wasm)?;
    println!("component: {}", wasm.display());
    println!("run it:    cargo xtask serve   (or: spin up -f spin-app/spin.toml)");
    println!("your model in it: edgewood component MODEL -o app.wasm");
    Ok(())
}

/// The CI step: build with the Iris model and fail over the size budget.
pub fn check() -> anyhow::Result<()> {
    report(&build()?)
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

/// Builds the component into `<target>/component` and returns the .wasm path.
pub fn build() -> anyhow::Result<PathBuf> {
    ensure_target()?;
    let dir = target_dir().join("component");
    util::run(
        cargo()
            .args([
                "build",
                "-p",
                "edgewood-spin",
                "--target",
                "wasm32-wasip2",
                "--profile",
                "component-release",
            ])
            .arg("--target-dir")
            .arg(&dir),
    )?;
    Ok(dir.join("wasm32-wasip2/component-release/edgewood_spin.wasm"))
}

/// Prints the component's size with and without the model; fails over the budget.
fn report(wasm: &Path) -> anyhow::Result<()> {
    let total = std::fs::metadata(wasm)?.len();
    let model_path = util::root().join("spin-app/models/iris.ewm");
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
