//! `edgewood convert`.

/// Arguments of `edgewood convert`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `edgewood convert`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`edgewood convert` is not built yet")
}
