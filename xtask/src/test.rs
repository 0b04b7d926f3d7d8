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
        name: "rustfmt --check",
        run: rustfmt_check,
    },
    Step {
        name: "clippy -D warnings (workspace, wasm32-unknown-unknown, wasm32-wasip2)",
        run: clippy,
    },
    Step {
        name: "cargo doc -D warnings (private items too)",
        run: doc,
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

fn rustfmt_check() -> anyhow::Result<()> {
    util::run(cargo().args(["fmt", "--all", "--", "--check"]))
}

/// Clippy natively on every target of the workspace, then on the crates built for
/// WebAssembly for their own targets (libraries only: the test dependencies are native).
fn clippy() -> anyhow::Result<()> {
    let deny = ["--", "-D", "warnings"];
    util::run(
        cargo()
            .args(["clippy", "--workspace", "--all-targets"])
            .args(deny),
    )?;
    util::run(
        cargo()
            .args(["clippy", "--target", "wasm32-unknown-unknown"])
            .args(["-p", "edgewood-wasm", "-p", "edgewood-wasm-convert"])
            .args(deny),
    )?;
    // Alone: it is no_std in wasm, and built with the others it would get wasm-bindgen's
    // "std" feature (and std's panic handler beside its own).
    util::run(
        cargo()
            .args(["clippy", "--target", "wasm32-unknown-unknown"])
            .args(["-p", "edgewood-wasm-explain"])
            .args(deny),
    )?;
    util::run(
        cargo()
            .args(["clippy", "--target", "wasm32-unknown-unknown", "--no-default-features"])
            .args(["-p", "edgewood-core"])
            .args(deny),
    )?;
    // The npm engine's SIMD build, which compiles the interval walk into WebAssembly
    // (a target directory of its own: other RUSTFLAGS would rebuild everything).
    util::run(
        cargo()
            .args(["clippy", "--target", "wasm32-unknown-unknown", "-p", "edgewood-wasm"])
            .args(deny)
            .env("RUSTFLAGS", "-C target-feature=+simd128")
            .env("CARGO_TARGET_DIR", crate::wasm::target_dir().join("clippy-simd")),
    )?;
    util::run(
        cargo()
            .args(["clippy", "--target", "wasm32-wasip2", "-p", "edgewood-spin"])
            .args(deny),
    )
}

/// The API docs of every crate, private items included, with broken links as errors.
fn doc() -> anyhow::Result<()> {
    util::run(
        cargo()
            .args(["doc", "--workspace", "--no-deps", "--document-private-items"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )
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
