//! Which component `edgewood serve` runs: the one built into this binary, a `.wasm`
//! file, or one built for a `.ewm` model from the source tree.

use std::borrow::Cow;
use std::path::PathBuf;

use anyhow::{bail, Context as _};

use super::Args;

/// The component built for the embedded model (by host/build.rs).
static COMPONENT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/edgewood_spin.wasm"));

/// The component bytes the flags ask for.
pub(super) fn select(args: &Args) -> anyhow::Result<Cow<'static, [u8]>> {
    Ok(match (&args.model, &args.component) {
        (Some(model), _) => build_for_model(model)?.into(),
        (None, Some(path)) => std::fs::read(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .into(),
        (None, None) => COMPONENT.into(),
    })
}

/// Builds a component embedding `model` with the source tree this binary was built
/// from, and returns its bytes.
fn build_for_model(model: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    let model = model
        .canonicalize()
        .with_context(|| format!("cannot read the model {}", model.display()))?;
    let bytes = std::fs::read(&model)
        .with_context(|| format!("cannot read the model {}", model.display()))?;
    edgewood_core::Model::open_validated(&bytes).with_context(|| {
        format!(
            "{} is not a usable .ewm model (convert other formats with `edgewood convert`)",
            model.display()
        )
    })?;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    if !root.join("spin-app/Cargo.toml").exists() {
        bail!(
            "--model needs the Edgewood source tree to build a component for the model; \
             build one with `EDGEWOOD_MODEL=FILE cargo xtask spin` and pass it with --component"
        );
    }
    let target = root.join("target/model-components");
    eprintln!(
        "edgewood serve: building a component for {} …",
        model.display()
    );
    let status =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(&root)
            .args([
                "build",
                "--quiet",
                "-p",
                "edgewood-spin",
                "--target",
                "wasm32-wasip2",
                "--profile",
                "wasm-release",
                "--target-dir",
            ])
            .arg(&target)
            .env("EDGEWOOD_MODEL", &model)
            .status()
            .context("cannot run cargo to build the component")?;
    if !status.success() {
        bail!(
            "building the component for {} failed ({status})",
            model.display()
        );
    }
    let wasm = target.join("wasm32-wasip2/wasm-release/edgewood_spin.wasm");
    std::fs::read(&wasm).with_context(|| format!("cannot read {}", wasm.display()))
}
