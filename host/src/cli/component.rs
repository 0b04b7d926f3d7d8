//! `edgewood component`: any model file becomes a ready-to-deploy HTTP component.
//!
//! The binary carries the prebuilt component; the model is converted (any format the
//! CLI reads, or `.ewm`) and packaged into it (see `crate::component`), with no
//! compiler, no cargo and no source tree. The output is written atomically: a model
//! that fails to import leaves no file behind.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;

use super::io::write_output;
use super::load::{load, ImportArgs};

/// Arguments of `edgewood component`.
#[derive(clap::Args)]
pub struct Args {
    /// The model: scikit-learn joblib/pickle, XGBoost JSON/UBJSON, LightGBM text, ONNX
    /// or .ewm.
    model: PathBuf,
    /// The component to write (`-` for stdout); deploy it with `spin up` or
    /// `edgewood serve --component`.
    #[arg(short, long, value_name = "APP.wasm")]
    output: PathBuf,
    /// The model's name in V2 paths (`/v2/models/NAME/infer`); default: the file's stem.
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// The host to run it: they serve different pre-releases of `wasi:config`, the one
    /// interface that differs (everything else is standard WASI 0.2).
    #[arg(long = "for", value_enum, default_value_t, value_name = "HOST")]
    host: crate::component::Host,
    #[command(flatten)]
    import: ImportArgs,
}

/// A packaged component and the name its model answers to.
pub struct Packaged {
    /// The component's bytes.
    pub wasm: Vec<u8>,
    /// The model's name in V2 paths.
    pub name: String,
}

/// Converts the model at `path` and packages it into the built-in component.
pub fn package_file(
    path: &Path,
    import: &ImportArgs,
    name: Option<&str>,
    host: crate::component::Host,
) -> anyhow::Result<Packaged> {
    let loaded = load(Some(path), import)?;
    let name = match name {
        Some(n) => n.to_string(),
        None => crate::component::name_from_path(path),
    };
    let wasm = crate::component::package(crate::component::BUILT_IN, &loaded.bytes, &name, host)
        .with_context(|| format!("cannot package {}", loaded.name))?;
    Ok(Packaged { wasm, name })
}

/// Runs `edgewood component`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let packaged = package_file(&args.model, &args.import, args.name.as_deref(), args.host)?;
    write_output(&args.output, |out| {
        out.write_all(&packaged.wasm)?;
        Ok(())
    })?;
    eprintln!(
        "{} -> {}: component of {} bytes, model '{}', in {} ms",
        args.model.display(),
        args.output.display(),
        packaged.wasm.len(),
        packaged.name,
        started.elapsed().as_millis()
    );
    Ok(())
}
