//! `cargo xtask`: the one entry point for people and CI.
//!
//! Each subcommand lives in its own module with its own `Args` (a `clap::Args`) and
//! `run(Args) -> anyhow::Result<()>`. To add one, write the module and add ONE line
//! (plus its `///` help) to the `commands!` list below. `setup` and `test` are
//! ordered lists of steps in `setup.rs` and `test.rs`: add a step there, not here.

use clap::{Parser, Subcommand};

mod peers;
mod util;

/// Declares the subcommands: each line `Name(module)` becomes a variant holding
/// `module::Args` and dispatches to `module::run`.
macro_rules! commands {
    ($($(#[$meta:meta])* $name:ident($module:ident),)*) => {
        $(mod $module;)*

        #[derive(Subcommand)]
        enum Command {
            $($(#[$meta])* $name($module::Args),)*
        }

        fn dispatch(command: Command) -> anyhow::Result<()> {
            match command {
                $(Command::$name(args) => $module::run(args),)*
            }
        }
    };
}

commands! {
    /// Install what a fresh machine lacks (rustup targets, …). Idempotent.
    Setup(setup),
    /// Run everything CI runs, in order (what `.ci/run` calls).
    Test(test),
    /// Check that every Rust file opens with a `//!` doc line.
    Tidy(tidy),
    /// Set up, build the Spin component and the host, and serve Iris on 127.0.0.1:3000.
    #[command(alias = "run")]
    Serve(serve),
    /// Benchmark the Iris RF100 model natively against scikit-learn and ONNX Runtime.
    Bench(bench),
    /// Build the npm package `edgewood` into wasm/pkg (wasm-bindgen, wasm-opt, sizes).
    Wasm(wasm),
    /// Build the npm package and serve the demo page on 127.0.0.1.
    Web(web),
    /// Benchmark the npm package against onnxruntime-web and m2cgen in Chromium.
    BenchWeb(bench_web),
    /// Benchmark `edgewood predict` of a 1M-row Iris CSV against pandas + scikit-learn.
    BenchPredict(bench_predict),
    /// Benchmark XGBoost and LightGBM models natively against the libraries themselves.
    BenchBoost(bench_boost),
    /// Benchmark a forest bigger than the caches natively against scikit-learn.
    BenchDeep(bench_deep),
    /// Benchmark CatBoost models (oblivious trees) natively against CatBoost itself.
    BenchCatboost(bench_catboost),
    /// Benchmark exact TreeSHAP against shap.TreeExplainer and XGBoost's pred_contribs.
    BenchExplain(bench_explain),
    /// Build the Spin component (wasm32-wasip2) and check its size budget.
    Spin(spin),
    /// HTTP load benchmark: edgewood serve vs the Python reference service (not in CI).
    Loadtest(loadtest),
    /// Fuzz with libFuzzer in fork mode, then a table of runs, coverage and findings (not in CI).
    Fuzz(fuzz),
}

/// Build, test, bench and serve Edgewood.
#[derive(Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

fn main() -> anyhow::Result<()> {
    if util::in_ci() {
        // Incremental caches only pay off on the next build of the same machine, which
        // CI never has; they cost gigabytes of its disk. Every cargo this runs inherits it.
        std::env::set_var("CARGO_INCREMENTAL", "0");
    }
    dispatch(Cli::parse().command)
}
