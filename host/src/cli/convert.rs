//! `edgewood convert`: a source-format model to `.ewm`, once, ahead of time.
//!
//! The format is detected from the content, never from the file name. Names and
//! valid ranges can be set while converting (`--feature-names`, `--class-names`,
//! `--range`); the output is written atomically (a temporary file renamed into place).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use edgewood_core::{layout, Model, TaskKind};

use super::io::write_output;
use super::load::{convert, import_options, ImportArgs};

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
    let mut options = import_options(&args.import)?;
    options.covers = !args.no_cover;
    let converted = convert(bytes, &name, &options)?;
    let encoded = converted.ewm;
    // `convert` validated the bytes: a file that fails there is never written.
    let model = Model::open(&encoded)?;
    write_output(&args.output, |out| {
        out.write_all(&encoded)?;
        Ok(())
    })?;
    let kind = match model.task() {
        TaskKind::Classification => format!("{} classes", model.n_classes()),
        TaskKind::Regression => "regression".to_string(),
    };
    let summary = format!(
        "{} -> {}: {}, {}, {} trees, {} split nodes, {} features, {kind}, {} bytes",
        name,
        args.output.display(),
        converted.format,
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
