//! Builds the Spin component (`spin-app`, for wasm32-wasip2) that `edgewood serve`
//! carries inside the binary, so a fresh clone's `cargo build` or `cargo test` needs no
//! extra step.
//!
//! `EDGEWOOD_COMPONENT=path.wasm` embeds an already-built component instead (what
//! `cargo xtask serve` and CI do after building it once). Otherwise this script runs
//! `cargo build -p edgewood-spin --target wasm32-wasip2 --profile component-release` with its
//! own target directory (`<target>/component`, where `cargo xtask spin` and
//! `spin build` build it too, so it is built once): a separate directory has its own
//! lock, so the nested cargo never waits on the outer one.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=EDGEWOOD_COMPONENT");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let dest = out.join("edgewood_spin.wasm");
    let wasm = match std::env::var("EDGEWOOD_COMPONENT") {
        Ok(p) if !p.is_empty() => {
            println!("cargo:rerun-if-changed={p}");
            PathBuf::from(p)
        }
        _ => build_component(&out),
    };
    let bytes = std::fs::read(&wasm)
        .unwrap_or_else(|e| panic!("cannot read the component {}: {e}", wasm.display()));
    // A component starts with `\0asm` and layer 1 (core modules have layer 0).
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" || bytes[6..8] != [1, 0] {
        panic!("{} is not a WebAssembly component", wasm.display());
    }
    std::fs::write(&dest, &bytes).unwrap();
}

fn build_component(out: &Path) -> PathBuf {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest.parent().unwrap().to_path_buf();
    for dir in [
        "spin-app/src",
        "spin-app/Cargo.toml",
        "spin-app/build.rs",
        "spin-app/models",
        "core/src",
        "core/models",
        "core/Cargo.toml",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    // OUT_DIR is <target>/[<triple>/]<profile>/build/<pkg>-<hash>/out: the target dir is
    // the ancestor holding the `build` directory's profile directory.
    let target = out
        .ancestors()
        .find(|a| a.file_name().is_some_and(|n| n == "build"))
        .and_then(|b| b.parent()?.parent())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| root.join("target"));
    let target = if target.join("CACHEDIR.TAG").exists() || target.ends_with("target") {
        target
    } else {
        // Built for an explicit --target: <target>/<triple>/<profile>.
        target.parent().map(Path::to_path_buf).unwrap_or(target)
    };
    let component_target = target.join("component");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args([
            "build",
            "-p",
            "edgewood-spin",
            "--target",
            "wasm32-wasip2",
            "--profile",
            "component-release",
        ])
        .arg("--target-dir")
        .arg(&component_target);
    // The outer build's settings (target, flags, profile, jobserver) are not the
    // component's.
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        let keep = k == "CARGO_HOME"
            || k == "CARGO_NET_OFFLINE"
            || k == "CARGO_REGISTRIES_CRATES_IO_PROTOCOL";
        if !keep
            && (k.starts_with("CARGO_")
                || k.starts_with("RUSTC")
                || [
                    "RUSTFLAGS",
                    "RUSTDOCFLAGS",
                    "TARGET",
                    "HOST",
                    "PROFILE",
                    "OUT_DIR",
                    "OPT_LEVEL",
                    "DEBUG",
                    "NUM_JOBS",
                    "MAKEFLAGS",
                    "MFLAGS",
                ]
                .contains(&k.as_ref()))
        {
            cmd.env_remove(k.as_ref());
        }
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo to build the Spin component: {e}"));
    if !status.success() {
        panic!(
            "building the Spin component (spin-app for wasm32-wasip2) failed ({status}).\n\
             If the target is missing: `rustup target add wasm32-wasip2` (or `cargo xtask setup`).\n\
             Or build it once and point EDGEWOOD_COMPONENT at the .wasm: `cargo xtask spin`."
        );
    }
    component_target.join("wasm32-wasip2/component-release/edgewood_spin.wasm")
}
