//! `edgewood convert`: source model to `.ewm`, with overrides, written atomically.

use edgewood_core::{iris, Model};

use crate::util::*;

/// The committed Iris RF100 joblib fixture (the embedded model's source).
fn iris_joblib() -> std::path::PathBuf {
    fixtures().join("iris_rf100.joblib")
}

#[test]
fn iris_joblib_converts_to_the_embedded_model_byte_for_byte() {
    // The embedded model is this fixture, named, bounded 0–10 and refusing missing
    // values like the reference service, without covers: the same flags give the
    // same bytes.
    let dir = tempdir();
    let src = iris_joblib();
    let out = edgewood(
        dir.path(),
        &[
            "convert",
            src.to_str().unwrap(),
            "-o",
            "iris.ewm",
            "--feature-names",
            "sepal_length,sepal_width,petal_length,petal_width",
            "--range",
            "*=0:10",
            "--missing",
            "refuse",
            "--no-cover",
        ],
    )
    .ok();
    assert_eq!(out.lines().count(), 1, "a one-line summary: {out}");
    assert!(out.contains("100 trees"), "{out}");
    assert!(out.contains("scikit-learn pickle"), "{out}");
    let written = std::fs::read(dir.path().join("iris.ewm")).unwrap();
    assert!(
        written == iris::EWM,
        "the converted model differs from the embedded one"
    );
}

#[test]
fn missing_values_can_be_allowed_or_refused() {
    let dir = tempdir();
    let src = iris_joblib();
    for (flag, allowed) in [("allow", true), ("refuse", false)] {
        edgewood(
            dir.path(),
            &[
                "convert",
                src.to_str().unwrap(),
                "-o",
                "m.ewm",
                "--missing",
                flag,
            ],
        )
        .ok();
        let bytes = std::fs::read(dir.path().join("m.ewm")).unwrap();
        let m = Model::open_validated(&bytes).unwrap();
        assert!((0..4).all(|i| m.allows_missing(i) == allowed), "{flag}");
    }
}

#[test]
fn overrides_rename_and_bound_features() {
    let dir = tempdir();
    let src = iris_joblib();
    edgewood(
        dir.path(),
        &[
            "convert",
            src.to_str().unwrap(),
            "-o",
            "renamed.ewm",
            "--feature-names",
            "sl,sw,pl,pw",
            "--class-names",
            "a,b,c",
            "--range",
            "*=0:10",
            "--range",
            "pw=0:3",
        ],
    )
    .ok();
    let bytes = std::fs::read(dir.path().join("renamed.ewm")).unwrap();
    let m = Model::open_validated(&bytes).unwrap();
    let names: Vec<&str> = (0..4).map(|i| m.feature_name(i)).collect();
    assert_eq!(names, ["sl", "sw", "pl", "pw"]);
    let classes: Vec<&str> = (0..3).map(|i| m.class_label(i)).collect();
    assert_eq!(classes, ["a", "b", "c"]);
    assert_eq!(m.valid_range(0), Some((0.0, 10.0)));
    assert_eq!(m.valid_range(3), Some((0.0, 3.0)));

    // The new schema is what predict enforces.
    write(dir.path(), "in.csv", "sl,sw,pl,pw\n5.1,3.5,1.4,3.5\n");
    let line = edgewood(dir.path(), &["predict", "renamed.ewm", "in.csv"]).fails();
    assert_eq!(
        line,
        "edgewood: in.csv:2: feature 'pw' must be between 0 and 3, got 3.5"
    );
}

#[test]
fn bad_overrides_are_refused_by_name() {
    let dir = tempdir();
    let src = iris_joblib();
    let src = src.to_str().unwrap();
    for (args, needle) in [
        (
            &["--feature-names", "a,b,c"][..],
            "3 feature names given, the model has 4",
        ),
        (
            &["--class-names", "a,b"],
            "2 class names given, the model has 3",
        ),
        (&["--feature-names", "a,b,a,d"], "'a' is given twice"),
        (&["--range", "petal_widht=0:1"], "petal_widht"),
    ] {
        let mut all = vec!["convert", src, "-o", "x.ewm"];
        all.extend_from_slice(args);
        let line = edgewood(dir.path(), &all).fails();
        assert!(line.contains(needle), "{args:?}: {line}");
        assert!(!dir.path().join("x.ewm").exists());
    }
}

#[test]
fn an_ewm_input_is_refused_and_output_replaced_atomically() {
    let dir = tempdir();
    write(dir.path(), "iris.ewm", iris::EWM);
    let line = edgewood(dir.path(), &["convert", "iris.ewm", "-o", "x.ewm"]).fails();
    assert!(line.contains("already an .ewm model"), "{line}");

    // Overwriting an existing file is fine.
    write(dir.path(), "out.ewm", "old");
    let src = iris_joblib();
    edgewood(
        dir.path(),
        &["convert", src.to_str().unwrap(), "-o", "out.ewm"],
    )
    .ok();
    let bytes = std::fs::read(dir.path().join("out.ewm")).unwrap();
    assert!(Model::open_validated(&bytes).is_ok());
}

#[test]
fn predict_and_inspect_import_on_the_fly() {
    let dir = tempdir();
    let src = iris_joblib();
    let src = src.to_str().unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&edgewood(dir.path(), &["inspect", src, "--json"]).ok()).unwrap();
    assert_eq!(v["trees"], 100);
    assert!(v["converted_from"].is_string());
    write(
        dir.path(),
        "in.csv",
        "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n",
    );
    // The fixture was fit on a bare array: its features are x0…x3 until named, and
    // a CSV of four columns is taken in order, with one warning (issue 13 item 1).
    let run = edgewood(dir.path(), &["predict", src, "in.csv"]);
    let warning = run.stderr.clone();
    let positional = run.ok();
    assert_eq!(
        warning.trim(),
        "edgewood: warning: in.csv: the model stored no feature names (x0, …): taking the 4 columns in order"
    );
    // Three columns, or a model with real names, still need the names.
    write(dir.path(), "three.csv", "a,b,c\n5.1,3.5,1.4\n");
    let line = edgewood(dir.path(), &["predict", src, "three.csv"]).fails();
    assert!(line.contains("missing column 'x0'"), "{line}");
    write(dir.path(), "other.csv", "a,b,c,d\n5.1,3.5,1.4,0.2\n");
    let line = edgewood(dir.path(), &["predict", "other.csv"]).fails();
    assert!(line.contains("missing column 'sepal_length'"), "{line}");
    let names = "sepal_length,sepal_width,petal_length,petal_width";
    let a = edgewood(
        dir.path(),
        &[
            "predict",
            src,
            "in.csv",
            "--feature-names",
            names,
            "--range",
            "*=0:10",
        ],
    )
    .ok();
    let b = edgewood(dir.path(), &["predict", "in.csv"]).ok();
    assert_eq!(a, b);
    assert_eq!(positional, b);
}

/// `-o` naming a pipe (or a device such as `/dev/null`) writes into it: the rename that
/// writes an ordinary file atomically would replace it, and did replace `/dev/null`
/// when run as root. The reader only gets the model if the pipe is still there.
#[cfg(unix)]
#[test]
fn output_to_a_pipe_is_written_into_it() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempdir();
    let pipe = dir.path().join("pipe");
    let made = std::process::Command::new("mkfifo").arg(&pipe).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    let reader = {
        let pipe = pipe.clone();
        std::thread::spawn(move || std::fs::read(pipe).unwrap())
    };
    let src = iris_joblib();
    edgewood(
        dir.path(),
        &["convert", src.to_str().unwrap(), "-o", "pipe"],
    )
    .ok();
    let kind = std::fs::metadata(&pipe).unwrap().file_type();
    assert!(kind.is_fifo(), "the pipe was replaced by {kind:?}");
    let got = reader.join().unwrap();
    Model::open_validated(&got).unwrap();
}
