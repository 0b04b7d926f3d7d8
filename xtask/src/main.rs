//! `cargo xtask`: the one entry point for people and CI.
//!
//! Each subcommand lives in its own module. `setup` installs what a fresh machine
//! lacks (rustup targets, wasm-bindgen-cli, Chromium, npm packages); `test` is what CI
//! runs; `serve` builds the component and serves the embedded Iris model.

use clap::{Parser, Subcommand};

mod util;

/// Build, test, bench and serve Edgewood.
#[derive(Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {}
}
