//! `edgewood convert`: a source-format model to `.ewm`, once, ahead of time.
//!
//! The format is detected from the content, never from the file name. Names and
//! valid ranges can be set while converting (`--feature-names`, `--class-names`,
//! `--range`); the output is written atomically (a temporary file renamed into place).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use edgewood_core::{layout, Model, Task};

use super::io::write_output;
use super::load::{import, ImportArgs};

/// Arguments of `edgewood convert`.
#[derive(clap::Args)]
pub struct Args {
    /// The source model (scikit-learn joblib/pickle, …).
    input: PathBuf,
    /// The `.ewm` file to write (`-` for stdout).
    #[arg(short, long, value_name = "OUT.ewm")]
    output: PathBuf,
    /// Leave out the trees' covers (§11): a smaller file that predicts the same but
    /// cannot explain its predictions.
    #[arg(long)]
    no_cover: bool,
    #[command(flatten)]
    import: ImportArgs,
}

/// Runs `edgewood convert`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let name = args.input.display().to_string();
    let bytes = std::fs::read(&args.input).with_context(|| format!("cannot read {name}"))?;
    if bytes.starts_with(&layout::MAGIC) {
        bail!("{name} is already an .ewm model: nothing to convert");
    }
    let (mut ensemble, format) = import(&bytes, &name, &args.import)?;
    if args.no_cover {
        ensemble.trees.iter_mut().for_each(|t| t.stats = None);
    }
    let encoded = ensemble
        .encode()
        .with_context(|| format!("{name}: cannot encode the imported model"))?;
    // Re-open what we are about to write: a file that fails here is never written.
    let model = Model::open_validated(&encoded).context("the encoded model does not validate")?;
    write_output(&args.output, |out| {
        out.write_all(&encoded)?;
        Ok(())
    })?;
    let kind = match &ensemble.task {
        Task::Classification { classes, .. } => format!("{} classes", classes.len()),
        Task::Regression => "regression".to_string(),
    };
    let summary = format!(
        "{} -> {}: {format}, {}, {} trees, {} split nodes, {} features, {kind}, {} bytes",
        name,
        args.output.display(),
        model.source(),
        model.n_trees(),
        model.n_split_nodes(),
        model.n_features(),
        encoded.len()
    );
    // With `-o -` the model goes to stdout, so the summary goes to stderr.
    if args.output.as_os_str() == "-" {
        eprintln!("{summary}");
    } else {
        writeln!(std::io::stdout().lock(), "{summary}")?;
    }
    Ok(())
}
