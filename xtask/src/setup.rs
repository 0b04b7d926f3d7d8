//! `cargo xtask setup`: install what a fresh machine lacks, idempotently.
//!
//! A fresh machine has rustup, cargo, node, npm and python3, nothing else. Each step
//! below checks before it installs, so running `setup` twice does nothing the second
//! time. To add a step, append it to [`STEPS`].

use std::process::Command;

use crate::util::{self, Step};

/// The set-up steps, in order.
pub const STEPS: &[Step] = &[
    Step {
        name: "rustup targets wasm32-unknown-unknown and wasm32-wasip2",
        run: rust_targets,
    },
    Step {
        name: "wasm-bindgen-cli (the version the wasm crates pin)",
        run: crate::web::setup_wasm_bindgen,
    },
    Step {
        name: "npm packages of web/ (binaryen's wasm-opt, playwright-core, vite, typescript)",
        run: crate::web::setup_npm,
    },
    Step {
        name: "Chromium for the browser tests",
        run: crate::web::setup_chromium,
    },
    Step {
        name: "wasmtime CLI (the reference WASI-HTTP host the HTTP tests also run on)",
        run: wasmtime_cli,
    },
    Step {
        name: "tests/.venv: the third-party validators and clients of tests/requirements.txt",
        run: test_venv,
    },
];

/// Arguments of `cargo xtask setup`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs every set-up step.
pub fn run(_args: Args) -> anyhow::Result<()> {
    all()
}

/// Runs every set-up step (also the first step of `cargo xtask test`).
pub fn all() -> anyhow::Result<()> {
    util::run_steps("setup", STEPS, &[])
}

/// The WebAssembly targets the npm package and the Spin component are built for.
const TARGETS: &[&str] = &["wasm32-unknown-unknown", "wasm32-wasip2"];

fn rust_targets() -> anyhow::Result<()> {
    let installed = util::output(Command::new("rustup").args(["target", "list", "--installed"]))?;
    let missing: Vec<&str> = TARGETS
        .iter()
        .copied()
        .filter(|t| !installed.lines().any(|l| l.trim() == *t))
        .collect();
    if missing.is_empty() {
        eprintln!("targets already installed: {}", TARGETS.join(", "));
        return Ok(());
    }
    util::run(
        Command::new("rustup")
            .args(["target", "add"])
            .args(&missing),
    )
}

/// The wasmtime CLI's version: the same wasmtime as `edgewood serve` embeds.
const WASMTIME_VERSION: &str = "48.0.8";

/// Only what `wasmtime serve` needs (the default build, with every proposal, WASI-NN,
/// Winch, Pulley and the GC collectors, takes about 21 minutes here; this one about six):
/// `run` + `serve` (WASI-HTTP), `wasi-config` (the component's settings), Cranelift,
/// and the pooling allocator `serve` uses by default.
const WASMTIME_FEATURES: &str = "run,serve,wasi-config,cranelift,parallel-compilation,\
                                 component-model-async,pooling-allocator";

fn wasmtime_cli() -> anyhow::Result<()> {
    let version = Command::new("wasmtime").arg("--version").output();
    if let Ok(out) = version {
        let line = String::from_utf8_lossy(&out.stdout);
        if line.split_whitespace().nth(1) == Some(WASMTIME_VERSION) {
            eprintln!("{} already installed", line.trim());
            return Ok(());
        }
    }
    util::run(util::cargo().args([
        "install",
        "wasmtime-cli",
        "--version",
        WASMTIME_VERSION,
        "--locked",
        "--no-default-features",
        "--features",
        WASMTIME_FEATURES,
    ]))
}

/// Creates `tests/.venv` with tests/requirements.txt, again whenever that file changes
/// (the venv keeps a copy of the file it was made from).
fn test_venv() -> anyhow::Result<()> {
    let root = util::root();
    let requirements = root.join("tests/requirements.txt");
    let venv = root.join("tests/.venv");
    let stamp = venv.join("requirements.installed.txt");
    let wanted = std::fs::read(&requirements)?;
    if std::fs::read(&stamp).is_ok_and(|had| had == wanted) {
        eprintln!("tests/.venv is up to date");
        return Ok(());
    }
    if venv.exists() {
        std::fs::remove_dir_all(&venv)?;
    }
    util::run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    util::run(
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(&requirements),
    )?;
    std::fs::write(&stamp, wanted)?;
    Ok(())
}
