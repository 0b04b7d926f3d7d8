//! The `edgewood` command: a thin binary over `edgewood-core` and `edgewood-import`.
//!
//! Each subcommand lives in its own module with its own `Args`; this file only parses
//! the command line and maps the outcome to an exit code (0 success, 1 failure,
//! 2 usage), printing any error as one line on stderr.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;
mod component;
mod serve;

/// Run trained tree ensembles (random forests, gradient boosting) anywhere.
#[derive(Parser)]
#[command(name = "edgewood", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Convert a model (scikit-learn joblib/pickle, …) to the compact .ewm format.
    Convert(cli::convert::Args),
    /// Describe a model: kind, trees, nodes, depth, features, classes, size.
    Inspect(cli::inspect::Args),
    /// Predict every row of a CSV or Parquet file.
    Predict(cli::predict::Args),
    /// Package a model into the HTTP component (WASI HTTP 0.2: Spin, wasmtime serve), no compiler.
    Component(cli::component::Args),
    /// Serve the Spin HTTP component locally under wasmtime.
    Serve(serve::Args),
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Convert(args) => cli::convert::run(args),
        Command::Inspect(args) => cli::inspect::run(args),
        Command::Predict(args) => cli::predict::run(args),
        Command::Component(args) => cli::component::run(args),
        Command::Serve(args) => serve::run(args),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A closed stdout (`edgewood predict … | head`) is not a failure.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("edgewood: {e:#}");
            ExitCode::FAILURE
        }
    }
}
