//! `edgewood predict`: every row of a CSV file through a model, streamed.
//!
//! Input columns are matched to the model's features by header name (extra columns
//! are ignored with one warning; a missing one is an error). A model that stored no
//! names (its features are placeholders such as `x0, x1, …`) takes a CSV with as many
//! columns as it has features by position, with one warning, as scikit-learn does.
//! An empty cell is a missing value (NaN). Each row is validated against the model's schema, and a bad
//! row stops the run with its line number and feature. Rows go through
//! `predict_batch` in chunks of [`CHUNK`], so memory stays constant whatever the file
//! size. Output: classifiers `label,p_<class>…`, regressors `value`, floats in
//! shortest round-trip form (see [`super::io`]). `--explain` adds each feature's
//! TreeSHAP contribution (`shap_<feature>…,shap_base`), `--leaves` each tree's leaf.
//!
//! Contributions are to the raw output: the margin (log-odds) of a boosted model, the
//! probability or value of a forest; base + contributions = that raw output. For a
//! classifier they are those of the predicted class (`--explain all`: every class,
//! `shap_<class>_<feature>`). A binary boosted model has one margin, that of the second
//! class; the first class's contributions are its negation.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context};
use edgewood_core::{first_max, Explainer, Model, PredictError, PreparedModel, TaskKind};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::io::{display_name, fmt_f64, write_output, Input};
use super::load::{load, ImportArgs};

/// Rows predicted per `predict_batch` call.
const CHUNK: usize = 1024;

/// Arguments of `edgewood predict`.
#[derive(clap::Args)]
pub struct Args {
    /// `[MODEL] INPUT`: the model (an .ewm file or a source format; the embedded Iris
    /// model when left out), then the input CSV (`-` for stdin). The CSV header names
    /// the features.
    #[arg(value_name = "[MODEL] INPUT", num_args = 1..=2, required = true)]
    paths: Vec<PathBuf>,
    /// Where to write the predictions (`-` for stdout).
    #[arg(short, long, value_name = "OUT.csv", default_value = "-")]
    output: PathBuf,
    /// Add each feature's contribution to the prediction (exact TreeSHAP):
    /// `shap_<feature>` columns and `shap_base`, for the predicted class; `all` gives
    /// every class's (`shap_<class>_<feature>`). Give it after the paths, or as
    /// `--explain=all`.
    #[arg(long, num_args = 0..=1, value_name = "all", value_parser = ["all"])]
    explain: Option<Option<String>>,
    /// Add one `leaf_<tree>` column per tree: the leaf the row reaches, numbered as the
    /// source library does (XGBoost and LightGBM `pred_leaf`, scikit-learn `apply`).
    #[arg(long)]
    leaves: bool,
    #[command(flatten)]
    import: ImportArgs,
}

/// What `--explain` adds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Explain {
    /// The predicted class's contributions (a regressor's only ones).
    Predicted,
    /// Every class's.
    All,
}

/// The extra columns of a run.
struct Extras<'a> {
    explain: Option<(Explainer<'a>, Explain)>,
    leaves: bool,
}

/// Runs `edgewood predict`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let (model_path, input_path) = match args.paths.as_slice() {
        [input] => (None, input),
        [model, input] => (Some(model.as_path()), input),
        _ => bail!("expected [MODEL] INPUT"),
    };
    let loaded = load(model_path, &args.import)?;
    let model = loaded.model()?;
    // Decoding the trees once costs about one pass over the model and makes every
    // batch several times faster (see core/src/prepared.rs).
    let prepared = PreparedModel::new(model)?;
    let explain = match &args.explain {
        None => None,
        Some(all) => {
            let explainer =
                Explainer::new(model).with_context(|| format!("cannot explain {}", loaded.name))?;
            let mode = if all.is_some() {
                Explain::All
            } else {
                Explain::Predicted
            };
            Some((explainer, mode))
        }
    };
    let extras = Extras {
        explain,
        leaves: args.leaves,
    };
    let input = Input::open(input_path)?;
    let in_name = display_name(input_path, "<stdin>");

    let progress = progress_bar(input.size());
    let reader: Box<dyn Read> = match &progress {
        Some(bar) => Box::new(bar.wrap_read(input.into_reader())),
        None => input.into_reader(),
    };
    let rows = write_output(&args.output, |out| {
        predict_csv(&prepared, &extras, reader, &in_name, out)
    })?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
        eprintln!("edgewood: predicted {rows} rows with {}", loaded.name);
    }
    Ok(())
}

/// A byte-count progress bar on stderr, only when stderr is a terminal.
fn progress_bar(size: Option<u64>) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = match size {
        Some(size) => ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr())
            .with_style(
                ProgressStyle::with_template(
                    "{wide_bar} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                )
                .expect("a valid template"),
            ),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template("{spinner} {bytes} read, {bytes_per_sec}")
                .expect("a valid template"),
        ),
    };
    Some(bar)
}

/// Reads a CSV from `reader`, writes the predictions to `out`; returns the row count.
fn predict_csv(
    prepared: &PreparedModel<'_>,
    extras: &Extras<'_>,
    reader: impl Read,
    in_name: &str,
    out: &mut dyn Write,
) -> anyhow::Result<u64> {
    let model = prepared.model();
    let mut csv_in = csv::ReaderBuilder::new()
        .has_headers(true)
        .buffer_capacity(1 << 16)
        .from_reader(reader);
    let header = csv_in
        .byte_headers()
        .map_err(|e| csv_read_error(in_name, e))?
        .clone();
    if header.is_empty() || (header.len() == 1 && header[0].trim_ascii().is_empty()) {
        bail!("{in_name}: empty input: the first line must name the model's features");
    }
    let columns = match_columns(model, &header, in_name)?;

    let nf = model.n_features();
    let width = model.prediction_len();
    let mut csv_out = csv::WriterBuilder::new().from_writer(out);
    match model.task() {
        TaskKind::Classification => {
            csv_out.write_field("label").map_err(csv_write_error)?;
            for c in 0..model.n_classes() {
                csv_out
                    .write_field(format!("p_{}", model.class_label(c)))
                    .map_err(csv_write_error)?;
            }
        }
        TaskKind::Regression => csv_out.write_field("value").map_err(csv_write_error)?,
    }
    for name in extra_columns(model, extras) {
        csv_out.write_field(name).map_err(csv_write_error)?;
    }
    csv_out
        .write_record(None::<&[u8]>)
        .map_err(csv_write_error)?;

    let mut record = csv::ByteRecord::new();
    let mut rows: Vec<f64> = Vec::with_capacity(CHUNK * nf);
    let mut preds = vec![0.0; CHUNK * width];
    let mut n = 0;
    // The input line of each row of the chunk, to name a row the model refuses.
    let mut lines: Vec<u64> = Vec::with_capacity(CHUNK);
    let mut total = 0u64;
    let mut buf = ryu::Buffer::new();
    let mut contributions = match &extras.explain {
        Some((explainer, _)) => vec![0.0; explainer.explanation_len()],
        None => Vec::new(),
    };
    let mut leaves = vec![0u32; if extras.leaves { model.n_trees() } else { 0 }];
    loop {
        let more = csv_in
            .read_byte_record(&mut record)
            .map_err(|e| csv_read_error(in_name, e))?;
        if more {
            let line = record.position().map_or(0, |p| p.line());
            for (i, &c) in columns.iter().enumerate() {
                let cell = record.get(c).unwrap_or_default();
                let value = parse_cell(cell).ok_or_else(|| {
                    anyhow!(
                        "{in_name}:{line}: feature '{}': cannot read '{}' as a number",
                        model.feature_name(i),
                        String::from_utf8_lossy(cell)
                    )
                })?;
                rows.push(value);
            }
            model
                .validate_row(&rows[n * nf..])
                .map_err(|e| anyhow!("{in_name}:{line}: {e}"))?;
            lines.push(line);
            n += 1;
        }
        if n == CHUNK || (!more && n > 0) {
            let preds = &mut preds[..n * width];
            // A row whose sums overflow (FORMAT.md §9) stops the run with its line,
            // never printed as NaN.
            prepared.predict_batch(&rows, preds).map_err(|e| match e {
                PredictError::NotFinite { row } => anyhow!(
                    "{in_name}:{}: the prediction is NaN or infinite: the model's sums \
                         overflow float range on this row",
                    lines[row]
                ),
                e => e.into(),
            })?;
            for (p, row) in preds.chunks_exact(width).zip(rows.chunks_exact(nf)) {
                if model.task() == TaskKind::Classification {
                    csv_out
                        .write_field(model.class_label(first_max(p)))
                        .map_err(csv_write_error)?;
                }
                for &x in p {
                    csv_out
                        .write_field(fmt_f64(&mut buf, x))
                        .map_err(csv_write_error)?;
                }
                if let Some((explainer, mode)) = &extras.explain {
                    explainer.explain_into(row, &mut contributions)?;
                    let classes: Vec<usize> = match (model.task(), mode) {
                        (TaskKind::Regression, _) => vec![0],
                        (TaskKind::Classification, Explain::Predicted) => vec![first_max(p)],
                        (TaskKind::Classification, Explain::All) => {
                            (0..model.n_classes()).collect()
                        }
                    };
                    for class in classes {
                        for x in explainer.class_contributions(&contributions, class) {
                            csv_out
                                .write_field(fmt_f64(&mut buf, x))
                                .map_err(csv_write_error)?;
                        }
                    }
                }
                if extras.leaves {
                    model.leaves_into(row, &mut leaves)?;
                    for leaf in &leaves {
                        csv_out
                            .write_field(leaf.to_string())
                            .map_err(csv_write_error)?;
                    }
                }
                csv_out
                    .write_record(None::<&[u8]>)
                    .map_err(csv_write_error)?;
            }
            total += n as u64;
            rows.clear();
            lines.clear();
            n = 0;
        }
        if !more {
            break;
        }
    }
    csv_out.flush().context("cannot write the predictions")?;
    Ok(total)
}

/// The names of the `--explain` and `--leaves` columns.
fn extra_columns(model: &Model<'_>, extras: &Extras<'_>) -> Vec<String> {
    let mut names = Vec::new();
    let features = || (0..model.n_features()).map(|i| model.feature_name(i));
    match (&extras.explain, model.task()) {
        (None, _) => {}
        (Some((_, Explain::All)), TaskKind::Classification) => {
            for c in 0..model.n_classes() {
                let class = model.class_label(c);
                names.extend(features().map(|f| format!("shap_{class}_{f}")));
                names.push(format!("shap_{class}_base"));
            }
        }
        (Some(_), _) => {
            names.extend(features().map(|f| format!("shap_{f}")));
            names.push("shap_base".into());
        }
    }
    if extras.leaves {
        names.extend((0..model.n_trees()).map(|t| format!("leaf_{t}")));
    }
    names
}

/// For each model feature, the input column holding it.
fn match_columns(
    model: &Model<'_>,
    header: &csv::ByteRecord,
    in_name: &str,
) -> anyhow::Result<Vec<usize>> {
    let names: Vec<String> = header
        .iter()
        .map(|h| String::from_utf8_lossy(h.trim_ascii()).into_owned())
        .collect();
    let nf = model.n_features();
    let by_name = (0..nf).all(|i| names.iter().any(|n| n == model.feature_name(i)));
    if !by_name && names.len() == nf && has_placeholder_names(model) {
        // scikit-learn's rule for a model fit on a bare array: columns by position.
        eprintln!(
            "edgewood: warning: {in_name}: the model stored no feature names ({}, …): taking the {nf} columns in order",
            model.feature_name(0)
        );
        return Ok((0..nf).collect());
    }
    let mut columns = Vec::with_capacity(nf);
    for i in 0..nf {
        let feature = model.feature_name(i);
        let mut at = names.iter().enumerate().filter(|(_, n)| *n == feature);
        let Some((c, _)) = at.next() else {
            let all: Vec<&str> = (0..model.n_features())
                .map(|i| model.feature_name(i))
                .collect();
            bail!(
                "{in_name}:1: missing column '{feature}' (the model's features are {})",
                all.join(", ")
            );
        };
        if at.next().is_some() {
            bail!("{in_name}:1: column '{feature}' appears more than once");
        }
        columns.push(c);
    }
    let unused: Vec<&str> = names
        .iter()
        .enumerate()
        .filter(|(c, _)| !columns.contains(c))
        .map(|(_, n)| n.as_str())
        .collect();
    if !unused.is_empty() {
        eprintln!(
            "edgewood: warning: {in_name}: ignoring columns the model does not use: {}",
            unused.join(", ")
        );
    }
    Ok(columns)
}

/// Whether the model's feature names are the placeholders an importer gives a model
/// that stored none: one prefix, not ending in a digit, then the column index (`x0`,
/// `f0`, `Column_0`, `X_0`).
fn has_placeholder_names(model: &Model<'_>) -> bool {
    let Some(prefix) = model.feature_name(0).strip_suffix('0') else {
        return false;
    };
    !prefix.ends_with(|c: char| c.is_ascii_digit())
        && (0..model.n_features()).all(|i| {
            let name = model.feature_name(i);
            name.strip_prefix(prefix) == Some(i.to_string().as_str())
        })
}

/// A cell's value: empty means missing (NaN); otherwise a decimal number.
fn parse_cell(cell: &[u8]) -> Option<f64> {
    let cell = cell.trim_ascii();
    if cell.is_empty() {
        return Some(f64::NAN);
    }
    std::str::from_utf8(cell).ok()?.parse().ok()
}

/// A CSV reading error as one line naming the input and line.
fn csv_read_error(in_name: &str, e: csv::Error) -> anyhow::Error {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => {
            let line = pos.as_ref().map_or(0, |p| p.line());
            anyhow!("{in_name}:{line}: {len} fields, but the header has {expected_len}")
        }
        _ => match e.into_kind() {
            csv::ErrorKind::Io(io) => {
                anyhow::Error::new(io).context(format!("cannot read {in_name}"))
            }
            kind => anyhow!("{in_name}: {kind:?}"),
        },
    }
}

/// A CSV writing error; an I/O error stays an `io::Error` so that a closed pipe
/// (`edgewood predict … | head`) is recognised as such.
fn csv_write_error(e: csv::Error) -> anyhow::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => anyhow::Error::new(io),
        kind => anyhow!("cannot write the predictions: {kind:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells() {
        assert!(parse_cell(b"").unwrap().is_nan());
        assert!(parse_cell(b"  ").unwrap().is_nan());
        assert_eq!(parse_cell(b" 5.1 "), Some(5.1));
        assert_eq!(parse_cell(b"1e3"), Some(1000.0));
        assert_eq!(parse_cell(b"abc"), None);
        assert_eq!(parse_cell(b"\xff"), None);
    }
}
