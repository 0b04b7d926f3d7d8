//! `edgewood predict`: every row of a CSV file (or a Parquet file: [`parquet_in`])
//! through a model, streamed to a CSV (or Parquet) file.
//!
//! Input columns are matched to the model's features by header name (extra columns
//! are ignored with one warning; a missing one is an error). A model that stored no
//! names (its features are placeholders such as `x0, x1, …`) takes a CSV with as many
//! columns as it has features by position, with one warning, as scikit-learn does.
//! An empty cell is a missing value (NaN). Each row is validated against the model's
//! schema, and the first bad row in input order stops the run with its line number and
//! feature. The input is cut into blocks of whole records ([`blocks`], [`block_bytes`]),
//! each parsed, checked, predicted (`predict_batch`) and formatted on one of
//! `--threads` threads and written in input order ([`pipeline`]); a bounded number of
//! blocks is in flight, so memory stays constant whatever the file size, and the output
//! is the same byte for byte whatever the thread count. Output: classifiers
//! `label,p_<class>…`, regressors `value`, floats in shortest round-trip form (see
//! [`super::io`]); or the same columns and values as a Parquet file ([`parquet_out`]). `--explain` adds each feature's TreeSHAP contribution
//! (`shap_<feature>…,shap_base`), `--leaves` each tree's leaf.
//!
//! Contributions are to the raw output: the margin (log-odds) of a boosted model, the
//! probability or value of a forest; base + contributions = that raw output. For a
//! classifier they are those of the predicted class (`--explain all`: every class,
//! `shap_<class>_<feature>`). A binary boosted model has one margin, that of the second
//! class; the first class's contributions are its negation.

use std::io::{IsTerminal, Read, Write};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use edgewood_core::{Explainer, Model, PreparedModel, TaskKind};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::io::{self, display_name, write_output};
use super::load::{load, ImportArgs};
use blocks::BlockReader;
use chunk::{Chunk, Job};
use parquet_in::ParquetInput;

mod blocks;
mod chunk;
mod columns;
mod float_text;
mod parquet_in;
mod parquet_out;
mod pipeline;

/// Input bytes per block: about 8,000 Iris rows, enough that a thread's share of the
/// work dwarfs the hand-over between threads (a few microseconds), and few enough that
/// a block's values and text stay in the cache while it is predicted and formatted.
const BLOCK_BYTES: usize = 128 << 10;

/// The smallest block, for outputs much wider than their input.
const MIN_BLOCK_BYTES: usize = 4 << 10;

/// Values (features or output columns) per chunk of a Parquet input: 512 KB of floats.
const PARQUET_CHUNK_VALUES: usize = 1 << 16;

/// The most rows in a chunk of a Parquet input (as many as a CSV block of Iris rows).
const PARQUET_CHUNK_ROWS: usize = 8192;

/// Chunks in flight per thread: one being predicted, one waiting, so that a worker
/// never waits for the reader while the writer is busy.
const IN_FLIGHT_PER_THREAD: usize = 2;

/// Arguments of `edgewood predict`.
#[derive(clap::Args)]
pub struct Args {
    /// `[MODEL] INPUT`: the model (an .ewm file or a source format; the embedded Iris
    /// model when left out), then the input CSV (`-` for stdin) or Parquet file. The
    /// CSV header (the Parquet column names) names the features.
    #[arg(value_name = "[MODEL] INPUT", num_args = 1..=2, required = true)]
    paths: Vec<PathBuf>,
    /// Where to write the predictions (`-` for stdout): CSV, or a Parquet file when
    /// the name ends in `.parquet` (the same columns and values).
    #[arg(short, long, value_name = "OUT.csv|OUT.parquet", default_value = "-")]
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
    /// Threads predicting at once (default: all cores). Rows are read and written in
    /// input order on one more thread; the output is the same for every N.
    #[arg(long, value_name = "N")]
    threads: Option<NonZeroUsize>,
    #[command(flatten)]
    import: ImportArgs,
}

/// What `--explain` adds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Explain {
    /// The predicted class's contributions (a regressor's only ones).
    Predicted,
    /// Every class's.
    All,
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
    let threads = match args.threads {
        Some(n) => n.get(),
        None => std::thread::available_parallelism().map_or(1, NonZeroUsize::get),
    };
    let in_name = display_name(input_path, "<stdin>");
    let out_name = display_name(&args.output, "<stdout>");
    let setup = Setup {
        prepared: &prepared,
        explain,
        leaves: args.leaves,
        in_name: &in_name,
        threads,
        parquet_out: args
            .output
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("parquet")),
        out_name: &out_name,
    };
    if input_path.as_os_str() != "-" && parquet_in::is_parquet(input_path) {
        let rows = write_output(&args.output, |out| predict_parquet(setup, input_path, out))?;
        if std::io::stderr().is_terminal() {
            eprintln!("edgewood: predicted {rows} rows with {}", loaded.name);
        }
        return Ok(());
    }
    let input = io::Input::open(input_path)?;

    let progress = progress_bar(input.size());
    let reader: Box<dyn Read> = match &progress {
        Some(bar) => Box::new(bar.wrap_read(input.into_reader())),
        None => input.into_reader(),
    };
    let rows = write_output(&args.output, |out| predict_csv(setup, reader, out))?;
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

/// How a run predicts: everything but the input and output.
struct Setup<'a> {
    prepared: &'a PreparedModel<'a>,
    explain: Option<(Explainer<'a>, Explain)>,
    leaves: bool,
    in_name: &'a str,
    threads: usize,
    /// Whether the output is a Parquet file (named `*.parquet`) rather than CSV.
    parquet_out: bool,
    /// The output as messages name it (`out.csv`, `<stdout>`).
    out_name: &'a str,
}

/// Where the rows come from.
enum Source<R> {
    /// A CSV's blocks of records, after its header.
    Csv(BlockReader<R>),
    /// A Parquet file's columns.
    Parquet(ParquetInput),
}

/// Reads a CSV from `reader`, writes the predictions to `out`; returns the row count.
fn predict_csv(
    setup: Setup<'_>,
    reader: impl Read,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<u64> {
    let in_name = setup.in_name;
    let model = setup.prepared.model();
    let (mut blocks, header) =
        BlockReader::new(reader, BLOCK_BYTES).with_context(|| format!("cannot read {in_name}"))?;
    let (header, first_line) = (header.fields, header.next_line);
    if header.is_empty() || (header.len() == 1 && header[0].trim_ascii().is_empty()) {
        bail!("{in_name}: empty input: the first line must name the model's features");
    }
    let columns = columns::match_columns(model, &header, in_name)?;
    let names = output_names(&setup);
    blocks.set_block_bytes(block_bytes(header.len(), names.len()));
    let input = Input {
        source: Source::Csv(blocks),
        columns,
        n_columns: header.len(),
        first_line,
    };
    predict_rows(setup, input, &names, out)
}

/// Reads the Parquet file `path`, writes the predictions to `out`; returns the row
/// count.
fn predict_parquet(
    setup: Setup<'_>,
    path: &Path,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<u64> {
    let model = setup.prepared.model();
    let parquet = ParquetInput::open(path, model, setup.in_name)?;
    let names = output_names(&setup);
    let input = Input {
        source: Source::<std::io::Empty>::Parquet(parquet),
        columns: (0..model.n_features()).collect(),
        n_columns: model.n_features(),
        first_line: 1,
    };
    predict_rows(setup, input, &names, out)
}

/// The output's column names.
fn output_names(setup: &Setup<'_>) -> Vec<String> {
    let model = setup.prepared.model();
    let mut names = match model.task() {
        TaskKind::Classification => {
            let mut names = vec!["label".to_string()];
            names.extend((0..model.n_classes()).map(|c| format!("p_{}", model.class_label(c))));
            names
        }
        TaskKind::Regression => vec!["value".to_string()],
    };
    names.extend(extra_columns(
        model,
        setup.explain.as_ref().map(|(_, mode)| *mode),
        setup.leaves,
    ));
    names
}

/// An opened input: its rows, which of its columns hold the model's features and
/// how many it has, and the line (or row number) its first row is on.
struct Input<R> {
    source: Source<R>,
    columns: Vec<usize>,
    n_columns: usize,
    first_line: u64,
}

/// Predicts every row of `input`, writing the columns `names` to `out` (a CSV header
/// then one line per row, or a Parquet file); returns the row count.
fn predict_rows(
    setup: Setup<'_>,
    input: Input<impl Read>,
    names: &[String],
    out: &mut (dyn Write + Send),
) -> anyhow::Result<u64> {
    let Setup {
        prepared,
        explain,
        leaves,
        in_name,
        threads,
        parquet_out,
        out_name,
    } = setup;
    let model = prepared.model();
    let Input {
        mut source,
        columns,
        n_columns,
        first_line,
    } = input;
    let job = Job {
        prepared,
        labels: (0..model.n_classes())
            .map(|c| label_field(model.class_label(c)))
            .collect::<anyhow::Result<_>>()?,
        explain,
        leaves,
        in_name,
        columns,
        n_columns,
        limits: chunk::Limit::of(model),
        by_row_number: matches!(source, Source::Parquet(_)),
        rows: (PARQUET_CHUNK_VALUES / model.n_features().max(names.len()).max(1))
            .clamp(1, PARQUET_CHUNK_ROWS),
        parquet_out,
        out_columns: names.len(),
    };
    // Runs the chunks through the threads, handing each one's output to `sink`;
    // returns the row count.
    let mut run = |sink: &mut dyn FnMut(chunk::Output<'_>) -> anyhow::Result<()>| {
        let mut total = 0u64;
        let mut line = first_line;
        pipeline::run_ordered(
            threads,
            IN_FLIGHT_PER_THREAD * threads,
            || Chunk::new(&job),
            |chunk| match &mut source {
                Source::Csv(blocks) => chunk.read(&job, blocks),
                Source::Parquet(parquet) => chunk.read_parquet(&job, parquet),
            },
            |chunk| chunk.predict(&job),
            |chunk| {
                let rows = chunk.len() as u64;
                let (output, next) = chunk.done(line, &job)?;
                sink(output)?;
                line = next;
                total += rows;
                Ok(())
            },
        )?;
        Ok(total)
    };
    if parquet_out {
        let classification = model.task() == TaskKind::Classification;
        let shape = parquet_out::Shape {
            names,
            labels: classification.then(|| {
                (0..model.n_classes())
                    .map(|c| model.class_label(c))
                    .collect()
            }),
            leaves: if leaves { model.n_trees() } else { 0 },
        };
        let mut output = parquet_out::ParquetOutput::new(out, out_name, &shape)?;
        let rows = run(&mut |chunk| match chunk {
            chunk::Output::Columns(columns) => output.append(columns),
            chunk::Output::Text(_) => unreachable!("the chunks are made for Parquet"),
        })?;
        output.finish()?;
        Ok(rows)
    } else {
        let mut header_line = Vec::new();
        write_record(&mut header_line, names)?;
        let cannot_write = || format!("cannot write {out_name}");
        out.write_all(&header_line).with_context(cannot_write)?;
        run(&mut |output| match output {
            // An `io::Error` in the chain, so that a closed pipe (`… | head`) is
            // recognised.
            chunk::Output::Text(text) => out.write_all(text).with_context(cannot_write),
            chunk::Output::Columns(_) => unreachable!("the chunks are made for CSV"),
        })
    }
}

/// Input bytes per block for rows of `n_columns` cells giving `out_width` output
/// values: [`BLOCK_BYTES`], less when the output is much wider than the input (leaves
/// of hundreds of trees), so that a block's text stays about as small.
fn block_bytes(n_columns: usize, out_width: usize) -> usize {
    (BLOCK_BYTES * n_columns.max(1) / out_width.max(n_columns).max(1)).max(MIN_BLOCK_BYTES)
}

/// Appends `fields` as one CSV record, quoted as the csv crate quotes.
fn write_record(out: &mut Vec<u8>, fields: &[String]) -> anyhow::Result<()> {
    let mut csv_out = csv::WriterBuilder::new().from_writer(out);
    csv_out
        .write_record(fields)
        .and_then(|()| csv_out.flush().map_err(csv::Error::from))
        .map_err(|e| anyhow!("cannot write the predictions: {e}"))
}

/// A class label as the first field of an output line: quoted when it must be, then
/// the delimiter (written once per label, not once per row).
fn label_field(label: &str) -> anyhow::Result<Vec<u8>> {
    // A second, empty field: the csv crate quotes an empty field that is a record's
    // only one (`""`), not one that other fields follow, as probabilities do here.
    let mut text = Vec::new();
    write_record(&mut text, &[label.to_string(), String::new()])?;
    // The record ends with the empty second field and the terminator.
    text.truncate(text.len() - 1);
    Ok(text)
}

/// The names of the `--explain` and `--leaves` columns.
fn extra_columns(model: &Model<'_>, explain: Option<Explain>, leaves: bool) -> Vec<String> {
    let mut names = Vec::new();
    let features = || (0..model.n_features()).map(|i| model.feature_name(i));
    match (explain, model.task()) {
        (None, _) => {}
        (Some(Explain::All), TaskKind::Classification) => {
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
    if leaves {
        names.extend((0..model.n_trees()).map(|t| format!("leaf_{t}")));
    }
    names
}
