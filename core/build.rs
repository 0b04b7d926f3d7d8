//! Build script of `edgewood-core`: sets the cfg `interval_walk` in the builds that
//! carry the interval-mask walk (`src/intervals.rs`): every native build, and
//! WebAssembly built with SIMD (`-C target-feature=+simd128`), which is the npm
//! package's second engine (see `xtask/src/wasm.rs`). The baseline WebAssembly builds
//! (the npm package's engine for browsers without SIMD, the Spin component) leave it
//! out: the npm engine's 60 KB gzip budget has no room for it beside the node walk.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(interval_walk)");
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    if arch != "wasm32" || features.split(',').any(|f| f == "simd128") {
        println!("cargo::rustc-cfg=interval_walk");
    }
}
