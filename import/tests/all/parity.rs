//! Bit-exact parity with scikit-learn: every RandomForest / ExtraTrees / DecisionTree /
//! ExtraTree fixture in `tests/fixtures/manifest.json` is imported, encoded, reopened
//! and asked to predict every input row; probabilities and values must equal the
//! library's output bit for bit (`to_bits`), and labels must be equal.

use edgewood_core::{Model, Prediction};
use edgewood_import::{import_bytes, ImportOptions};

use crate::util::{cell, csv, data, fixture, sklearn_manifest};

/// Imports one fixture and checks every row; returns the number of rows checked.
fn check(name: &str, model_file: &str, expected: &str) -> usize {
    let model_bytes = fixture(model_file);
    let inputs = csv(fixture(&format!("{expected}.input.csv")));
    let outputs = csv(fixture(&format!("{expected}.expected.csv")));
    // The fixtures were fit on numpy arrays (no feature_names_in_): sklearn's x0, x1, ….
    let names: Vec<String> = (0..inputs.0.len()).map(|i| format!("x{i}")).collect();
    check_rows(name, &model_bytes, inputs, outputs, &names)
}

/// Imports `model_bytes`, checks the feature names, then predicts every input row and
/// compares bit for bit.
fn check_rows(
    name: &str,
    model_bytes: &[u8],
    (header, inputs): (Vec<String>, Vec<Vec<String>>),
    (out_header, outputs): (Vec<String>, Vec<Vec<String>>),
    names: &[String],
) -> usize {
    let ensemble = import_bytes(model_bytes, &ImportOptions::default())
        .unwrap_or_else(|e| panic!("{name}: import failed: {e}"));
    let ewm = ensemble.encode().unwrap_or_else(|e| panic!("{name}: {e}"));
    let model = Model::open_validated(&ewm).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(inputs.len(), outputs.len(), "{name}: row counts differ");
    assert_eq!(header.len(), model.n_features(), "{name}: feature count");
    for (i, n) in names.iter().enumerate() {
        assert_eq!(model.feature_name(i), n, "{name}: feature {i}");
    }
    for (r, (input, want)) in inputs.iter().zip(&outputs).enumerate() {
        let row: Vec<f64> = input.iter().map(|c| cell(c)).collect();
        match model
            .predict(&row)
            .unwrap_or_else(|e| panic!("{name} row {r}: {e}"))
        {
            Prediction::Value(v) => {
                let w = cell(&want[0]);
                assert_eq!(v.to_bits(), w.to_bits(), "{name} row {r}: {v:?} != {w:?}");
            }
            Prediction::Class {
                label,
                probabilities,
                ..
            } => {
                assert_eq!(model.class_label(label), want[0], "{name} row {r}: label");
                assert_eq!(probabilities.len() + 1, out_header.len(), "{name}: columns");
                for (k, p) in probabilities.iter().enumerate() {
                    let w = cell(&want[k + 1]);
                    assert_eq!(
                        p.to_bits(),
                        w.to_bits(),
                        "{name} row {r} {}: {p:?} != {w:?}",
                        out_header[k + 1]
                    );
                }
            }
        }
    }
    inputs.len()
}

#[test]
fn every_sklearn_forest_fixture_is_bit_exact() {
    let entries = sklearn_manifest();
    assert!(
        entries.len() >= 20,
        "expected the forest fixtures in the manifest, found {}",
        entries.len()
    );
    let mut failures = Vec::new();
    for (name, model, expected, _) in &entries {
        match std::panic::catch_unwind(|| check(name, model, expected)) {
            Ok(rows) => assert!(rows > 0, "{name}: no rows"),
            Err(e) => failures.push(
                e.downcast_ref::<String>()
                    .cloned()
                    .unwrap_or_else(|| format!("{name}: panic")),
            ),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn sources_name_estimator_container_and_protocol() {
    let e = import_bytes(&fixture("iris_rf10_zlib.joblib"), &ImportOptions::default()).unwrap();
    assert_eq!(
        e.source,
        "scikit-learn 1.9.1 RandomForestClassifier (joblib, zlib, protocol 4)"
    );
    let e = import_bytes(&fixture("iris_rf10.pkl"), &ImportOptions::default()).unwrap();
    assert_eq!(
        e.source,
        "scikit-learn 1.9.1 RandomForestClassifier (pickle, protocol 4)"
    );
}

#[test]
fn missing_values_follow_the_writing_version() {
    // scikit-learn 1.9 forests accept NaN; 1.2.2 ones (no missing_go_to_left) refuse it.
    let new = import_bytes(&fixture("iris_rf10.joblib"), &ImportOptions::default()).unwrap();
    assert!(new.features.iter().all(|f| f.allow_missing));
    let old = import_bytes(&fixture("old_sklearn_rf.joblib"), &ImportOptions::default()).unwrap();
    assert!(old.features.iter().all(|f| !f.allow_missing));
}

#[test]
fn dataframe_feature_names_and_unicode_labels() {
    // Fit on a DataFrame with '<U10' string labels, saved gzip-compressed: the names come
    // from feature_names_in_ (a nested object-array pickle), the classes from a 'U' array.
    let inputs = csv(data("frame_rf3.input.csv"));
    let names = inputs.0.clone();
    let rows = check_rows(
        "frame_rf3",
        &data("frame_rf3.joblib"),
        inputs,
        csv(data("frame_rf3.expected.csv")),
        &names,
    );
    assert_eq!(rows, 22);
    let e = import_bytes(&data("frame_rf3.joblib"), &ImportOptions::default()).unwrap();
    assert_eq!(
        e.task,
        edgewood_core::Task::Classification {
            classes: vec!["setosa".into(), "versicolor".into(), "virginica".into()],
            integer_labels: false
        }
    );
}

#[test]
fn integer_labels_are_kept_as_integers() {
    let e = import_bytes(&fixture("cancer_rf.joblib"), &ImportOptions::default()).unwrap();
    assert_eq!(
        e.task,
        edgewood_core::Task::Classification {
            classes: vec!["0".into(), "1".into()],
            integer_labels: true
        }
    );
}

#[test]
fn detect_recognises_every_container_and_ewm() {
    use edgewood_import::{convert, detect, Compression, ImportError, SourceFormat};
    let cases = [
        ("iris_rf10.joblib", Compression::None),
        ("iris_rf10.pkl", Compression::None),
        ("iris_rf10_zlib.joblib", Compression::Zlib),
        ("iris_rf10_gzip.joblib", Compression::Gzip),
        ("iris_rf10_bz2.joblib", Compression::Bz2),
        ("iris_rf10_xz.joblib", Compression::Xz),
        ("iris_rf10_lzma.joblib", Compression::Lzma),
        ("iris_rf10_lz4.joblib", Compression::Lz4),
    ];
    for (file, compression) in cases {
        let bytes = fixture(file);
        assert_eq!(
            detect(&bytes),
            Some(SourceFormat::SklearnPickle(compression)),
            "{file}"
        );
        let converted = convert(&bytes, &ImportOptions::default()).unwrap();
        assert_eq!(converted.format, SourceFormat::SklearnPickle(compression));
        let ewm = converted.ewm;
        assert_eq!(detect(&ewm), Some(SourceFormat::Ewm));
        // .ewm input is validated and returned unchanged.
        let again = convert(&ewm, &ImportOptions::default()).unwrap();
        assert_eq!((again.ewm, again.format), (ewm.clone(), SourceFormat::Ewm));
        assert_eq!(
            import_bytes(&ewm, &ImportOptions::default()).unwrap_err(),
            ImportError::AlreadyEwm
        );
        // Options cannot apply to an .ewm model.
        let mut renamed = ImportOptions::default();
        renamed.allow_missing = Some(true);
        assert_eq!(
            convert(&ewm, &renamed).unwrap_err(),
            ImportError::AlreadyEwm
        );
    }
    assert_eq!(detect(b"hello"), None);
    assert_eq!(
        convert(b"hello", &ImportOptions::default()).unwrap_err(),
        ImportError::UnknownFormat
    );
}
