//! `cargo xtask test`: exactly what CI runs (`.ci/run` calls it), as an ordered list
//! of steps. To add a step (wasm package tests, browser tests, HTTP tests), append it
//! to [`STEPS`] with a function in your own module.

use crate::util::{self, cargo, Step};

/// The CI steps, in order. Cheap checks first, so a typo fails in seconds.
pub const STEPS: &[Step] = &[
    Step {
        name: "setup",
        run: crate::setup::all,
    },
    Step {
        name: "tidy",
        run: crate::tidy::check,
    },
    Step {
        name: "cargo test --workspace",
        run: workspace_tests,
    },
    Step {
        name: "core builds for wasm32-unknown-unknown without default features (no_std)",
        run: core_no_std,
    },
    Step {
        name: "core builds for wasm32-wasip2",
        run: core_wasip2,
    },
    Step {
        name: "Spin component: wasm32-wasip2 build within its size budget",
        run: crate::spin::check,
    },
    Step {
        name: "bench smoke",
        run: crate::bench::smoke,
    },
    Step {
        name: "npm package: build, Node, npm pack + Vite + webpack, and Chromium tests",
        run: crate::web::test,
    },
];

/// Arguments of `cargo xtask test`.
#[derive(clap::Args)]
pub struct Args {
    /// Skip the steps whose name contains this text (repeatable), e.g. `--skip bench`.
    #[arg(long, value_name = "TEXT")]
    skip: Vec<String>,
    /// List the steps and exit.
    #[arg(long)]
    list: bool,
}

/// Runs the CI steps in order.
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.list {
        for (i, s) in STEPS.iter().enumerate() {
            println!("{}. {}", i + 1, s.name);
        }
        return Ok(());
    }
    util::run_steps("test", STEPS, &args.skip)
}

fn workspace_tests() -> anyhow::Result<()> {
    util::run(cargo().args(["test", "--workspace"]))
}

fn core_no_std() -> anyhow::Result<()> {
    util::run(cargo().args([
        "build",
        "-p",
        "edgewood-core",
        "--target",
        "wasm32-unknown-unknown",
        "--no-default-features",
    ]))
}

fn core_wasip2() -> anyhow::Result<()> {
    util::run(cargo().args(["build", "-p", "edgewood-core", "--target", "wasm32-wasip2"]))
}
