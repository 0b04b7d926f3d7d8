//! `cargo xtask wasm`: builds the npm package `edgewood` into `wasm/pkg/`.
//!
//! Steps: compile the engine crate (`edgewood-wasm`), the explainer crate
//! (`edgewood-wasm-explain`) and the converter crate (`edgewood-wasm-convert`) for
//! `wasm32-unknown-unknown` with the `wasm-release` profile; run `wasm-bindgen --target
//! web` on each; shrink them with `wasm-opt` from the npm package `binaryen` (Debian's
//! binaryen 108 corrupts wasm-bindgen output); copy the hand-written JavaScript,
//! TypeScript declarations, `package.json` and README from `wasm/js/`; bundle the
//! browser entry `index.js` with the modules it imports into one self-contained,
//! minified module (rolldown, from `web/node_modules`), so that a page fetches two files
//! (that module and the wasm) instead of five; print raw and gzip sizes and fail when the engine or
//! the explainer exceeds its budget. The three wasm files are separate so that pages
//! which only predict never download the explainer or the converter.
//!
//! The engine is built twice: `edgewood_bg.wasm` for every WebAssembly runtime, and
//! `edgewood_simd_bg.wasm` with SIMD (`-C target-feature=+simd128`), which also carries
//! the interval-mask walk (core compiles it where `target_feature = "simd128"`: the
//! Iris forest's batches walk about 2.5 times as fast). The package's loaders pick the
//! SIMD one when the runtime validates a SIMD instruction. Both come from the same
//! crate, so they share one wasm-bindgen glue (`edgewood.js`): the build checks that
//! the SIMD build's glue is the same, and ships only one. Each has the engine's gzip
//! budget.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, ensure, Context};

use crate::util::{self, cargo, root};

/// The wasm-bindgen version the crates pin (`=`); the CLI must be exactly this one.
pub const WASM_BINDGEN_VERSION: &str = "0.2.130";

/// The gzip budget of the engine wasm (the goal: ≤ 60 KB).
const ENGINE_GZIP_BUDGET: u64 = 60 * 1024;

/// The gzip budget of the lazily loaded explainer wasm (issue 17: ≤ 15 KB).
const EXPLAINER_GZIP_BUDGET: u64 = 15 * 1024;

/// Features that rustc enables by default for wasm32-unknown-unknown and that
/// wasm-opt must therefore accept (it must not add others).
const WASM_FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
];

/// Files copied verbatim from `wasm/js/` into the package.
const JS_FILES: &[&str] = &[
    "index.js",
    "node.js",
    "api.js",
    "simd.js",
    "error.js",
    "index.d.ts",
    "convert.js",
    "convert-node.js",
    "convert-api.js",
    "convert.d.ts",
    "explain.js",
    "explain-node.js",
    "package.json",
    "README.md",
];

/// One wasm-bindgen crate of the package.
struct Part {
    package: &'static str,
    /// The crate's artifact name (`edgewood_wasm.wasm`).
    artifact: &'static str,
    /// The name wasm-bindgen gives the outputs (`edgewood.js`, `edgewood_bg.wasm`; the
    /// SIMD build's wasm becomes `edgewood_simd_bg.wasm`).
    out_name: &'static str,
    /// rustc's opt-level, when not the `wasm-release` profile's size-first "s".
    opt_level: Option<&'static str>,
    /// wasm-opt's optimisation flags.
    wasm_opt: &'static [&'static str],
    /// Functions (wasm-bindgen's demangled names, `*` a wildcard) that wasm-opt must not
    /// inline into their only caller.
    no_inline: &'static [&'static str],
    /// Built with WebAssembly SIMD (`simd128`).
    simd: bool,
}

/// The engine's options, for its baseline and its SIMD build.
const ENGINE: Part = Part {
    package: "edgewood-wasm",
    artifact: "edgewood_wasm",
    out_name: "edgewood",
    // The engine is built for speed: in Chromium, opt-level 3 walks Iris rows about
    // 10% faster and deep forests up to twice as fast as "s", for ~5 KB of gzip
    // (still well inside the budget). wasm-opt -O3 on top made batches 25% slower
    // than -Oz, so -Oz it stays. `--converge` repeats -Oz while it still shrinks;
    // `--low-memory-unused` lets it fold constant offsets into loads and stores (Rust
    // lays the stack out first, so the lowest KB is never addressed): together
    // 430 B of the package test's zlib gzip (170 B of gzip -9), room the split
    // walks below needed.
    opt_level: Some("3"),
    wasm_opt: &["-Oz", "--converge", "--low-memory-unused"],
    // V8 compiles a wasm function on its first call: kept apart, the decoded walks
    // are not compiled on a page's first prediction, which walks the model's bytes
    // (see `Walk` in wasm/src/lib.rs).
    no_inline: &["edgewood_wasm::predict_decoded::*"],
    simd: false,
};

const PARTS: &[Part] = &[
    ENGINE,
    Part {
        simd: true,
        // opt-level 2: 3 made the SIMD engine 2 KB of gzip bigger, over the budget,
        // and walked the Iris forest no faster in Chromium (3.07 against 3.03M rows/s
        // in batches of 10,000); the node walks of other models alike.
        opt_level: Some("2"),
        ..ENGINE
    },
    Part {
        package: "edgewood-wasm-explain",
        artifact: "edgewood_wasm_explain",
        out_name: "edgewood_explain",
        // Size first, for its budget: "s" came out smaller than "z" (14.7 against
        // 14.8 KB gzipped).
        opt_level: None,
        wasm_opt: &["-Oz"],
        no_inline: &[],
        simd: false,
    },
    Part {
        package: "edgewood-wasm-convert",
        artifact: "edgewood_wasm_convert",
        out_name: "edgewood_convert",
        // Converting runs once per model: size first.
        opt_level: None,
        wasm_opt: &["-Oz"],
        no_inline: &[],
        simd: false,
    },
];

/// Sizes of one built wasm file.
pub struct Size {
    pub name: String,
    pub raw: u64,
    pub gzip: u64,
}

/// The directory the package is built into.
pub fn pkg_dir() -> PathBuf {
    root().join("wasm").join("pkg")
}

/// Cargo's target directory (honouring `CARGO_TARGET_DIR`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root().join(p) })
        .unwrap_or_else(|| root().join("target"))
}

/// Where cargo builds `part`: parts with an opt-level or target features of their own
/// get a directory of their own inside the target directory.
fn part_target_dir(part: &Part) -> PathBuf {
    let simd = if part.simd { "-simd" } else { "" };
    match part.opt_level {
        Some(level) => target_dir().join(format!("wasm-opt-level-{level}{simd}")),
        None if part.simd => target_dir().join("wasm-simd"),
        None => target_dir(),
    }
}

/// `wasm-opt` from the npm package `binaryen`, installed in `web/node_modules`.
fn wasm_opt() -> anyhow::Result<PathBuf> {
    let path = root().join("web/node_modules/.bin/wasm-opt");
    ensure!(
        path.exists(),
        "wasm-opt from the npm package binaryen is missing: run `cargo xtask setup` \
         (or `npm ci` in web/)"
    );
    Ok(path)
}

/// `rolldown` from `web/node_modules` (a dependency of `web/package.json`).
fn rolldown() -> anyhow::Result<PathBuf> {
    let path = root().join("web/node_modules/.bin/rolldown");
    ensure!(
        path.exists(),
        "rolldown is missing: run `cargo xtask setup` (or `npm ci` in web/)"
    );
    Ok(path)
}

/// Replaces the package's `index.js` with one minified ES module holding it and
/// everything it imports (the wasm-bindgen glue, api.js, error.js, simd.js). The two
/// `new URL('edgewood…_bg.wasm', import.meta.url)` that locate the engine's builds are
/// kept whole, so bundlers still find both; the other files stay in the package, as
/// written, for the Node entry and the converter.
///
/// Minified, a page's first prediction waits for 17 KB of JavaScript (5.2 KB gzip)
/// instead of 35 KB (9.5 KB): less to download and to parse before the engine's wasm is
/// even asked for. Names are kept (`EdgewoodError`, `Model` in stack traces), and the
/// first line is V8's compile hint `//# allFunctionsCalledOnLoad`: nearly every function
/// of the bundle runs before the first prediction (the glue's loader, the `Model`
/// constructor, `predict`), so Chromium compiles them while the file streams in rather
/// than one by one on the page's thread when first called.
fn bundle_browser_entry(pkg: &Path) -> anyhow::Result<()> {
    // Run inside the package so that the bundle's comments name the files relatively.
    util::run(
        Command::new(rolldown()?)
            .current_dir(pkg)
            .args([
                "index.js",
                // The explainer's loader stays a file of its own, imported on demand.
                "--external",
                "./explain.js",
                "--format",
                "esm",
                "--logLevel",
                "warn",
                "--minify",
                "--keepNames",
                // After minification, which would drop it as a comment.
                "--postBanner",
            ])
            .arg(
                "//# allFunctionsCalledOnLoad\n// The browser and bundler entry of `edgewood`: \
                 index.js bundled and minified with edgewood.js, api.js and error.js by \
                 `cargo xtask wasm` (the readable sources are beside it).",
            )
            .args(["--file", "index.bundle.js"]),
    )?;
    std::fs::rename(pkg.join("index.bundle.js"), pkg.join("index.js"))
        .context("replacing index.js with its bundle")
}

/// Checks that `wasm-bindgen` on PATH is the pinned version.
pub fn check_wasm_bindgen() -> anyhow::Result<()> {
    let out = Command::new("wasm-bindgen")
        .arg("--version")
        .output()
        .context("wasm-bindgen is not on PATH: run `cargo xtask setup`")?;
    let text = String::from_utf8_lossy(&out.stdout);
    ensure!(
        text.split_whitespace().nth(1) == Some(WASM_BINDGEN_VERSION),
        "wasm-bindgen {WASM_BINDGEN_VERSION} is needed, found `{}`: run `cargo xtask setup`",
        text.trim()
    );
    Ok(())
}

/// The gzip -9 size of a file (the size a server sends with compression).
pub fn gzip_size(path: &Path) -> anyhow::Result<u64> {
    let out = Command::new("gzip")
        .args(["-9", "-c"])
        .arg(path)
        .output()
        .context("running gzip")?;
    ensure!(out.status.success(), "gzip failed on {}", path.display());
    Ok(out.stdout.len() as u64)
}

/// Builds the package and returns the sizes of its wasm files.
pub fn build() -> anyhow::Result<Vec<Size>> {
    check_wasm_bindgen()?;
    let wasm_opt = wasm_opt()?;
    let pkg = pkg_dir();
    if pkg.exists() {
        std::fs::remove_dir_all(&pkg).with_context(|| format!("clearing {}", pkg.display()))?;
    }
    std::fs::create_dir_all(&pkg)?;

    for part in PARTS {
        let mut build = cargo();
        build.args([
            "build",
            "--target",
            "wasm32-unknown-unknown",
            "--profile",
            "wasm-release",
            "-p",
            part.package,
        ]);
        if let Some(level) = part.opt_level {
            build.env("CARGO_PROFILE_WASM_RELEASE_OPT_LEVEL", level);
        }
        if part.simd {
            let mut flags = std::env::var("RUSTFLAGS").unwrap_or_default();
            flags.push_str(" -C target-feature=+simd128");
            build.env("RUSTFLAGS", flags.trim());
        }
        if part.opt_level.is_some() || part.simd {
            // A target directory of its own: cargo keeps one build of a crate per
            // profile, so the shared core would otherwise be rebuilt on every switch.
            build.env("CARGO_TARGET_DIR", part_target_dir(part));
        }
        util::run(&mut build)?;
    }

    let mut sizes = Vec::new();
    for part in PARTS {
        let input = part_target_dir(part)
            .join("wasm32-unknown-unknown/wasm-release")
            .join(format!("{}.wasm", part.artifact));
        // The SIMD build is bound under the same name (the wasm imports its glue by
        // name), beside the package, and its wasm then moved in under a name of its own.
        let out_dir = if part.simd {
            part_target_dir(part).join("bindgen")
        } else {
            pkg.clone()
        };
        util::run(
            Command::new("wasm-bindgen")
                .args([
                    "--target",
                    "web",
                    "--no-typescript",
                    "--out-name",
                    part.out_name,
                ])
                .arg("--out-dir")
                .arg(&out_dir)
                .arg(&input),
        )?;
        let name = if part.simd {
            format!("{}_simd_bg.wasm", part.out_name)
        } else {
            format!("{}_bg.wasm", part.out_name)
        };
        let wasm = pkg.join(&name);
        if part.simd {
            same_glue(&out_dir, &pkg, part.out_name)?;
            std::fs::rename(out_dir.join(format!("{}_bg.wasm", part.out_name)), &wasm)?;
        }
        util::run(
            Command::new(&wasm_opt)
                // Before the optimisation flags: wasm-opt runs passes in the given order.
                .args(part.no_inline.iter().map(|f| format!("--no-inline={f}")))
                .args(part.wasm_opt)
                .args(WASM_FEATURES)
                .args(part.simd.then_some("--enable-simd"))
                // Custom sections that no runtime reads (the toolchain's names and the
                // linker's feature list): about 250 B of each file's gzip.
                .args(["--strip-producers", "--strip-target-features"])
                .arg(&wasm)
                .arg("-o")
                .arg(&wasm),
        )?;
        sizes.push(Size {
            name,
            raw: std::fs::metadata(&wasm)?.len(),
            gzip: gzip_size(&wasm)?,
        });
    }

    let js = root().join("wasm/js");
    for file in JS_FILES {
        std::fs::copy(js.join(file), pkg.join(file))
            .with_context(|| format!("copying wasm/js/{file}"))?;
    }
    bundle_browser_entry(&pkg)?;
    let manifest = std::fs::read_to_string(pkg.join("package.json"))?;
    let expected = format!("\"version\": \"{}\"", env!("CARGO_PKG_VERSION"));
    ensure!(
        manifest.contains(&expected),
        "wasm/js/package.json must have {expected} (the workspace version)"
    );
    Ok(sizes)
}

/// Checks that the glue wasm-bindgen wrote for the engine's SIMD build in `dir` is the
/// package's (`out_name.js` in `pkg`), byte for byte: the package's loaders instantiate
/// either wasm through that one glue.
fn same_glue(dir: &Path, pkg: &Path, out_name: &str) -> anyhow::Result<()> {
    let glue = format!("{out_name}.js");
    ensure!(
        std::fs::read(dir.join(&glue))? == std::fs::read(pkg.join(&glue))?,
        "wasm-bindgen wrote different glue for the SIMD engine ({}) than for the \
         baseline one: the package's loaders share one",
        dir.join(&glue).display()
    );
    Ok(())
}

/// Arguments of `cargo xtask wasm`.
#[derive(clap::Args)]
pub struct Args {}

/// `cargo xtask wasm`: build the package, print its sizes, enforce the budget.
pub fn run(_args: Args) -> anyhow::Result<()> {
    let sizes = build()?;
    println!("{:<28} {:>10} {:>10}", "file", "raw", "gzip -9");
    for s in &sizes {
        println!("{:<28} {:>10} {:>10}", s.name, s.raw, s.gzip);
    }
    println!("package: {}", pkg_dir().display());
    let budgets = [
        ("edgewood_bg.wasm", ENGINE_GZIP_BUDGET),
        ("edgewood_simd_bg.wasm", ENGINE_GZIP_BUDGET),
        ("edgewood_explain_bg.wasm", EXPLAINER_GZIP_BUDGET),
    ];
    for (name, budget) in budgets {
        let size = sizes
            .iter()
            .find(|s| s.name == name)
            .with_context(|| format!("{name} was not built"))?;
        if size.gzip > budget {
            bail!(
                "{name} is {} bytes gzipped, over the budget of {budget}",
                size.gzip
            );
        }
    }
    Ok(())
}
