//! Embeds the built-in model: the reference Iris forest with its covers
//! (`models/iris.ewm`, so the default service explains). Another model goes into a
//! built component without a compiler: `edgewood component MODEL -o app.wasm`. The file
//! is validated in full here, so the component never serves a corrupt model, and
//! `Model::open` at request time is O(1).

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let path = manifest.join("models/iris.ewm");
    println!("cargo:rerun-if-changed={}", path.display());
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("cannot read the built-in model {}: {e}", path.display()));
    if let Err(e) = edgewood_core::Model::open_validated(&bytes) {
        panic!("{} is not a usable .ewm model: {e}", path.display());
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    std::fs::write(out.join("model.ewm"), &bytes).unwrap();
    std::fs::write(out.join("model_name.txt"), "iris").unwrap();
}
