//! `cargo xtask web`: builds the npm package and serves the demo page locally; also the
//! set-up and test steps of the package (npm dependencies, Chromium, Node and browser
//! tests) that `setup.rs` and `test.rs` list.

use std::path::Path;
use std::process::Command;

use anyhow::{ensure, Context};

use crate::util::{self, root};

/// Arguments of `cargo xtask web`.
#[derive(clap::Args)]
pub struct Args {
    /// The port to serve on (127.0.0.1 only).
    #[arg(long, default_value_t = 8080)]
    port: u16,
}

/// Builds the package, then serves the demo until interrupted.
pub fn run(args: Args) -> anyhow::Result<()> {
    crate::wasm::build()?;
    util::run(
        Command::new("node")
            .arg("web/server.mjs")
            .args(["--port", &args.port.to_string()]),
    )
}

/// Set-up step: the npm packages of `web/` (wasm-opt from `binaryen`, playwright-core,
/// vite, webpack, onnxruntime-web), installed exactly as locked.
pub fn setup_npm() -> anyhow::Result<()> {
    let web = root().join("web");
    if web.join("node_modules/.package-lock.json").exists()
        && newer(
            &web.join("node_modules/.package-lock.json"),
            &web.join("package-lock.json"),
        )
    {
        eprintln!("web/node_modules is up to date");
        return Ok(());
    }
    util::run(Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--prefix", "web"]))
}

/// Whether `a` was modified after `b`.
fn newer(a: &Path, b: &Path) -> bool {
    let m = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((m(a), m(b)), (Some(a), Some(b)) if a >= b)
}

/// Set-up step: wasm-bindgen-cli at exactly the version the crates pin.
pub fn setup_wasm_bindgen() -> anyhow::Result<()> {
    if crate::wasm::check_wasm_bindgen().is_ok() {
        eprintln!(
            "wasm-bindgen {} already installed",
            crate::wasm::WASM_BINDGEN_VERSION
        );
        return Ok(());
    }
    // Without --locked: the locked tree has a yanked transitive dependency.
    util::run(util::cargo().args([
        "install",
        "wasm-bindgen-cli",
        "--version",
        crate::wasm::WASM_BINDGEN_VERSION,
    ]))
}

/// Where the browser tests find Chromium (Debian's package).
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Set-up step: Debian's Chromium for the browser tests and the web benchmark.
pub fn setup_chromium() -> anyhow::Result<()> {
    if Path::new(CHROMIUM).exists() {
        eprintln!("{CHROMIUM} is installed");
        return Ok(());
    }
    util::run(Command::new("apt-get").arg("update"))?;
    util::run(Command::new("apt-get").args(["install", "-y", "chromium"]))
}

/// Test step: build the package and the native CLI (the browser tests compare the
/// page's predictions with the CLI's), then run the Node, package (npm pack, then a
/// Vite and a webpack build each run in Chromium) and Chromium tests.
pub fn test() -> anyhow::Result<()> {
    crate::wasm::run(crate::wasm::Args {})?;
    ensure!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: run `cargo xtask setup`"
    );
    util::run(util::cargo().args(["build", "-p", "edgewood"]))?;
    let cli = crate::wasm::target_dir().join("debug/edgewood");
    util::run(
        Command::new("npm")
            .args(["test", "--prefix", "web"])
            .env("EDGEWOOD_CLI", cli),
    )
    .context("the web tests failed (run `npm test --prefix web` to repeat them)")
}
