//! `edgewood inspect`.

/// Arguments of `edgewood inspect`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `edgewood inspect`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`edgewood inspect` is not built yet")
}
