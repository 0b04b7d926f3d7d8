//! `cargo xtask serve` (alias `run`): the quickest way to see Edgewood work.
//!
//! For now it sets the machine up and predicts `xtask/samples/iris.csv` with the
//! embedded Iris model through the native CLI; serving the Spin component over HTTP
//! replaces this once the component and its wasmtime host are built.

use crate::util::{self, cargo};

/// Arguments of `cargo xtask serve`.
#[derive(clap::Args)]
pub struct Args {}

/// Sets up, then predicts the sample CSV with the embedded Iris model.
pub fn run(_args: Args) -> anyhow::Result<()> {
    crate::setup::all()?;
    util::run(cargo().args([
        "run",
        "--quiet",
        "-p",
        "edgewood",
        "--",
        "predict",
        "xtask/samples/iris.csv",
    ]))
}
