//! Embeds the model: `EDGEWOOD_MODEL=path/to/model.ewm` names one, otherwise the
//! default Iris model (`models/iris.ewm`: `edgewood-core`'s with its covers, so the
//! default service explains). The file is validated in full here, so the component
//! never serves a corrupt model, and `Model::open` at request time is O(1).

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=EDGEWOOD_MODEL");
    println!("cargo:rerun-if-env-changed=EDGEWOOD_MODEL_NAME");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let (path, default_name) = match std::env::var("EDGEWOOD_MODEL") {
        Ok(p) if !p.is_empty() => {
            let path = PathBuf::from(&p);
            let path = if path.is_absolute() {
                path
            } else {
                std::env::current_dir().unwrap().join(path)
            };
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("model")
                .to_string();
            (path, stem)
        }
        _ => (manifest.join("models/iris.ewm"), "iris".to_string()),
    };
    println!("cargo:rerun-if-changed={}", path.display());
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "EDGEWOOD_MODEL: cannot read {}: {e}. Name a .ewm file (convert other formats with `edgewood convert`).",
            path.display()
        )
    });
    if let Err(e) = edgewood_core::Model::open_validated(&bytes) {
        panic!(
            "EDGEWOOD_MODEL: {} is not a usable .ewm model: {e}",
            path.display()
        );
    }
    let name = match std::env::var("EDGEWOOD_MODEL_NAME") {
        Ok(n) if !n.is_empty() => n,
        _ => default_name,
    };
    // V2 model names are URL path segments.
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    std::fs::write(out.join("model.ewm"), &bytes).unwrap();
    std::fs::write(out.join("model_name.txt"), name).unwrap();
}
