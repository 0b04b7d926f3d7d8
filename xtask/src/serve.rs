//! `cargo xtask serve` (alias `run`): set up, build the Spin component and the
//! `edgewood` host, and serve the embedded Iris model on 127.0.0.1:3000.
//!
//! The host is built in release mode (the first build takes several minutes on a small
//! machine: wasmtime is large), with `EDGEWOOD_COMPONENT` pointing at the component just
//! built, so the host's build script does not build it a second time.

use crate::util::{self, cargo};

/// Arguments of `cargo xtask serve`.
#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: String,
    /// Serve this model instead of Iris (any format `edgewood convert` reads; packaged
    /// into the component as `edgewood component` does).
    #[arg(long, value_name = "FILE")]
    model: Option<std::path::PathBuf>,
    /// Further arguments for `edgewood serve` (after `--`), e.g. `-- --var api_key=secret`.
    #[arg(last = true)]
    rest: Vec<String>,
}

/// Builds everything and runs `edgewood serve` until Ctrl-C.
pub fn run(args: Args) -> anyhow::Result<()> {
    let wasm = crate::spin::build()?;
    let host = build_host(&wasm)?;
    let mut cmd = std::process::Command::new(host);
    cmd.args(["serve", "--listen", &args.listen]);
    if let Some(model) = &args.model {
        cmd.arg("--model").arg(model);
    }
    cmd.args(&args.rest);
    util::run(&mut cmd)
}

/// Builds the release host embedding `wasm`; returns the binary's path.
///
/// Without LTO and with 16 codegen units: wasmtime takes over ten minutes to build with
/// the workspace's `lto = true, codegen-units = 1` on two cores, for a host whose hot
/// path is the component's own (already optimised) code.
pub fn build_host(wasm: &std::path::Path) -> anyhow::Result<std::path::PathBuf> {
    util::run(
        cargo()
            .args(["build", "--release", "-p", "edgewood"])
            .env("EDGEWOOD_COMPONENT", wasm)
            .env("CARGO_PROFILE_RELEASE_LTO", "false")
            .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16"),
    )?;
    Ok(crate::spin::target_dir().join("release/edgewood"))
}
