//! `edgewood component --spin-manifest`: spin.toml, a SpinKube SpinApp and its
//! HorizontalPodAutoscaler, validated by third-party validators against the published
//! schemas (tests/schemas, and Kubernetes' own shipped with `kubernetes-validate`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{edgewood, fixtures, tempdir};

/// The validators' venv (`cargo xtask setup` makes it). Required under CI; elsewhere a
/// missing one skips these checks with a note.
fn tool(name: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/.venv/bin")
        .join(name);
    if path.is_file() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} is missing: run `cargo xtask setup`",
        path.display()
    );
    eprintln!("note: no {name} (tests/.venv); schema validation skipped");
    None
}

fn schema(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/schemas")
        .join(file)
}

/// Runs a validator; returns whether it accepted, and what it said.
fn validate(program: &Path, args: &[&std::ffi::OsStr]) -> (bool, String) {
    let out = Command::new(program).args(args).output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

/// check-jsonschema's verdict on `file` against `schema`.
fn check_jsonschema(schema: &Path, file: &Path) -> Option<(bool, String)> {
    let program = tool("check-jsonschema")?;
    Some(validate(
        &program,
        &[
            "--schemafile".as_ref(),
            schema.as_os_str(),
            file.as_os_str(),
        ],
    ))
}

/// kubernetes-validate's strict verdict on `file` (Kubernetes' own schemas).
fn kubernetes_validate(file: &Path) -> Option<(bool, String)> {
    let program = tool("kubernetes-validate")?;
    Some(validate(
        &program,
        &["--strict".as_ref(), "--quiet".as_ref(), file.as_os_str()],
    ))
}

#[test]
fn the_manifests_validate_against_the_published_schemas() {
    let dir = tempdir();
    let model = fixtures().join("xgb_binary.ubj");
    edgewood(
        dir.path(),
        &[
            "component",
            model.to_str().unwrap(),
            "-o",
            "app.wasm",
            "--spin-manifest",
            "deploy",
            "--image",
            "registry.example/ml/xgb:1.0",
        ],
    )
    .ok();
    let deploy = dir.path().join("deploy");
    let spin_toml = std::fs::read_to_string(deploy.join("spin.toml")).unwrap();
    assert!(
        spin_toml.contains("source = \"../app.wasm\""),
        "{spin_toml}"
    );
    let spinapp = std::fs::read_to_string(deploy.join("spinapp.yaml")).unwrap();
    assert!(spinapp.contains("image: \"registry.example/ml/xgb:1.0\""));
    assert!(spinapp.contains("name: xgb-binary"));

    let checks = [
        (
            check_jsonschema(&schema("spin-manifest-v2.json"), &deploy.join("spin.toml")),
            "spin.toml",
        ),
        (
            check_jsonschema(
                &schema("spin-manifest-v2.json"),
                &Path::new(env!("CARGO_MANIFEST_DIR")).join("../spin-app/spin.toml"),
            ),
            "spin-app/spin.toml",
        ),
        (
            check_jsonschema(
                &schema("spinapp-v1alpha1.json"),
                &deploy.join("spinapp.yaml"),
            ),
            "spinapp.yaml",
        ),
        (kubernetes_validate(&deploy.join("hpa.yaml")), "hpa.yaml"),
    ];
    for (verdict, what) in checks {
        if let Some((ok, said)) = verdict {
            assert!(ok, "{what} does not validate:\n{said}");
        }
    }
}

/// The validators are not lenient: one wrong field in each manifest is caught.
#[test]
fn the_validators_catch_a_wrong_field_in_each_manifest() {
    let dir = tempdir();
    let model = fixtures().join("lgbm_binary.txt");
    edgewood(
        dir.path(),
        &[
            "component",
            model.to_str().unwrap(),
            "-o",
            "app.wasm",
            "--spin-manifest",
            ".",
        ],
    )
    .ok();
    let broken = |file: &str, from: &str, to: &str| {
        let text = std::fs::read_to_string(dir.path().join(file)).unwrap();
        assert!(text.contains(from), "{file} has no {from:?}");
        let path = dir.path().join(format!("broken-{file}"));
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
        path
    };
    let verdicts = [
        check_jsonschema(
            &schema("spin-manifest-v2.json"),
            &broken("spin.toml", "route = ", "rout = "),
        ),
        check_jsonschema(
            &schema("spinapp-v1alpha1.json"),
            &broken("spinapp.yaml", "  image: ", "  imag: "),
        ),
        kubernetes_validate(&broken("hpa.yaml", "minReplicas", "minReplica")),
    ];
    for verdict in verdicts.into_iter().flatten() {
        assert!(!verdict.0, "a broken manifest passed:\n{}", verdict.1);
    }
}

#[test]
fn a_bad_image_reference_or_stdout_output_is_refused_and_nothing_is_written() {
    let dir = tempdir();
    let model = fixtures().join("lgbm_binary.txt");
    let model = model.to_str().unwrap();
    let line = edgewood(
        dir.path(),
        &[
            "component",
            model,
            "-o",
            "app.wasm",
            "--spin-manifest",
            "d",
            "--image",
            "a b",
        ],
    )
    .fails();
    assert!(line.contains("--image"), "{line}");
    let line = edgewood(
        dir.path(),
        &["component", model, "-o", "-", "--spin-manifest", "d"],
    )
    .fails();
    assert!(line.contains("stdout"), "{line}");
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}
