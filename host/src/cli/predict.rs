//! `edgewood predict`.

/// Arguments of `edgewood predict`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `edgewood predict`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`edgewood predict` is not built yet")
}
