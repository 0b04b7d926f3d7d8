//! `edgewood component`: packaging a model into the HTTP component, deterministic,
//! atomic, with the errors of `convert`. Serving the result is tested in tests/http.

use std::os::unix::fs::PermissionsExt;

use crate::util::{edgewood, fixtures, tempdir, write};

/// The built-in component's size without its model: the budget the packaged one keeps.
const BUDGET: usize = 500_000;

#[test]
fn the_same_model_gives_the_same_component() {
    let dir = tempdir();
    let model = fixtures().join("xgb_binary.ubj");
    let model = model.to_str().unwrap();
    edgewood(dir.path(), &["component", model, "-o", "a.wasm"]).ok();
    edgewood(dir.path(), &["component", model, "-o", "b.wasm"]).ok();
    let a = std::fs::read(dir.path().join("a.wasm")).unwrap();
    let b = std::fs::read(dir.path().join("b.wasm")).unwrap();
    assert!(a == b, "two packagings of one model differ");
    assert!(a.starts_with(b"\0asm\x0d\x00\x01\x00"), "not a component");

    // The model's .ewm is in there, and the rest is the component as built.
    edgewood(dir.path(), &["convert", model, "-o", "m.ewm"]).ok();
    let ewm = std::fs::read(dir.path().join("m.ewm")).unwrap();
    assert!(
        a.windows(ewm.len()).any(|w| w == ewm),
        "the converted model is not in the component"
    );
    assert!(a.len() < BUDGET + ewm.len(), "{} bytes", a.len());

    // An ordinary file for whoever deploys it, not a private temporary one.
    let mode = std::fs::metadata(dir.path().join("a.wasm"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o044, 0o044, "mode {mode:o}");
}

#[test]
fn a_model_that_fails_to_import_fails_as_convert_does_and_leaves_no_file() {
    let dir = tempdir();
    write(dir.path(), "junk.bin", b"\x00\x01 definitely not a model");
    let convert = edgewood(dir.path(), &["convert", "junk.bin", "-o", "out.ewm"]).fails();
    let component = edgewood(dir.path(), &["component", "junk.bin", "-o", "app.wasm"]).fails();
    assert_eq!(component, convert);
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(left, ["junk.bin"], "files left behind");
}

#[test]
fn a_name_that_is_not_a_path_segment_is_refused() {
    let dir = tempdir();
    let model = fixtures().join("iris_rf10.joblib");
    let model = model.to_str().unwrap();
    for name in ["a/b", "", "..", "x y"] {
        let line = edgewood(
            dir.path(),
            &["component", model, "--name", name, "-o", "app.wasm"],
        )
        .fails();
        assert!(line.contains("path segment"), "{name:?}: {line}");
    }
    assert!(!dir.path().join("app.wasm").exists());
}

/// The names a component imports (its top level, not its inner modules').
fn imports(component: &[u8]) -> Vec<String> {
    use wasmparser::{Parser, Payload};
    let mut depth = 0;
    let mut names = Vec::new();
    for payload in Parser::new(0).parse_all(component) {
        match payload.expect("the component parses") {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth -= 1,
            Payload::ComponentImportSection(reader) if depth == 0 => {
                for import in reader {
                    names.push(import.unwrap().name.name.to_string());
                }
            }
            _ => {}
        }
    }
    names
}

#[test]
fn the_component_imports_standard_wasi_interfaces_only() {
    let dir = tempdir();
    let model = fixtures().join("lgbm_binary.txt");
    let model = model.to_str().unwrap();
    for (host, config) in [
        ("spin", "wasi:config/store@0.2.0-draft-2024-09-27"),
        ("wasmtime", "wasi:config/store@0.2.0-rc.1"),
    ] {
        edgewood(
            dir.path(),
            &["component", model, "--for", host, "-o", "app.wasm"],
        )
        .ok();
        let names = imports(&std::fs::read(dir.path().join("app.wasm")).unwrap());
        let foreign: Vec<_> = names.iter().filter(|n| !n.starts_with("wasi:")).collect();
        assert!(
            foreign.is_empty(),
            "--for {host}: non-WASI imports {foreign:?}"
        );
        for needed in [config, "wasi:http/types@0.2."] {
            assert!(
                names.iter().any(|n| n.starts_with(needed)),
                "--for {host}: no {needed} in {names:?}"
            );
        }
        let configs = names
            .iter()
            .filter(|n| n.starts_with("wasi:config/"))
            .count();
        assert_eq!(configs, 1, "--for {host}: {names:?}");
    }
}
