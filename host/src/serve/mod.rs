//! `edgewood serve`: the Spin component under wasmtime.

/// Arguments of `edgewood serve`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `edgewood serve`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`edgewood serve` is not built yet")
}
