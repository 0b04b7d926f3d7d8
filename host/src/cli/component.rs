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
    /// The model: scikit-learn joblib/pickle, XGBoost JSON/UBJSON, LightGBM text, ONNX,
    /// CatBoost JSON or .cbm, or .ewm.
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
    /// Also write the deployment manifests into DIR: spin.toml (for `spin up` and
    /// `spin registry push`), spinapp.yaml (a SpinKube SpinApp) and hpa.yaml (a
    /// HorizontalPodAutoscaler for it).
    #[arg(long, value_name = "DIR")]
    spin_manifest: Option<PathBuf>,
    /// The OCI image the SpinApp runs (where `spin registry push` publishes the app).
    #[arg(long, value_name = "REF", requires = "spin_manifest")]
    image: Option<String>,
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
    // The manifests are checked before anything is written.
    let manifests = match &args.spin_manifest {
        Some(dir) => Some((dir, manifests_for(&args, dir, &packaged.name)?)),
        None => None,
    };
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
    if let Some((dir, m)) = manifests {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        for (file, text) in [
            ("spin.toml", &m.spin_toml),
            ("spinapp.yaml", &m.spinapp_yaml),
            ("hpa.yaml", &m.hpa_yaml),
        ] {
            write_output(&dir.join(file), |out| {
                out.write_all(text.as_bytes())?;
                Ok(())
            })?;
        }
        eprintln!("{}: spin.toml, spinapp.yaml, hpa.yaml", dir.display());
    }
    Ok(())
}

/// The manifests for `args`, with spin.toml naming the component relative to `dir`.
fn manifests_for(
    args: &Args,
    dir: &Path,
    name: &str,
) -> anyhow::Result<crate::component::manifests::Manifests> {
    anyhow::ensure!(
        args.output != Path::new("-"),
        "--spin-manifest needs the component in a file (-o APP.wasm), not stdout"
    );
    let source = relative_path(&args.output, dir)?;
    let image = match &args.image {
        Some(image) => image.clone(),
        None => format!(
            "ghcr.io/OWNER/{}:0.1.0",
            crate::component::manifests::kubernetes_name(name)
        ),
    };
    crate::component::manifests::manifests(&source, name, &image)
}

/// `file` as a path from directory `dir` (both taken from the current directory).
fn relative_path(file: &Path, dir: &Path) -> anyhow::Result<String> {
    use std::path::Component;
    let cwd = std::env::current_dir()?;
    // Lexically: `a/./b/../c` is `a/c` (no symbolic links are followed).
    let absolute = |p: &Path| {
        let mut out: Vec<std::ffi::OsString> = Vec::new();
        for c in cwd.join(p).components() {
            match c {
                Component::CurDir => {}
                Component::ParentDir => {
                    out.pop();
                }
                c => out.push(c.as_os_str().to_owned()),
            }
        }
        out
    };
    let (file, dir) = (absolute(file), absolute(dir));
    let common = file.iter().zip(&dir).take_while(|(a, b)| a == b).count();
    let mut rel = PathBuf::new();
    for _ in common..dir.len() {
        rel.push("..");
    }
    for c in &file[common..] {
        rel.push(c);
    }
    rel.to_str()
        .map(str::to_owned)
        .context("the component's path is not UTF-8")
}
