//! Bit-exact parity with scikit-learn: every RandomForest / ExtraTrees / DecisionTree /
//! ExtraTree fixture in `tests/fixtures/manifest.json` is imported, encoded, reopened
//! and asked to predict every input row; probabilities and values must equal the
//! library's output bit for bit (`to_bits`), and labels must be equal.

use edgewood_core::{Model, Prediction};
use edgewood_import::{import_bytes, ImportOptions};

use crate::util::{cell, csv, fixture, sklearn_manifest};

/// Imports one fixture and checks every row; returns the number of rows checked.
fn check(name: &str, model_file: &str, expected: &str) -> usize {
    let ensemble = import_bytes(&fixture(model_file), &ImportOptions::default())
        .unwrap_or_else(|e| panic!("{name}: import failed: {e}"));
    let ewm = ensemble.encode().unwrap_or_else(|e| panic!("{name}: {e}"));
    let model = Model::open_validated(&ewm).unwrap_or_else(|e| panic!("{name}: {e}"));
    let (header, inputs) = csv(&format!("{expected}.input.csv"));
    let (out_header, outputs) = csv(&format!("{expected}.expected.csv"));
    assert_eq!(inputs.len(), outputs.len(), "{name}: row counts differ");
    // The fixtures were fit on numpy arrays (no feature_names_in_): sklearn's x0, x1, ….
    assert_eq!(header.len(), model.n_features(), "{name}: feature count");
    for i in 0..model.n_features() {
        assert_eq!(model.feature_name(i), format!("x{i}"), "{name}: feature {i}");
    }
    for (r, (input, want)) in inputs.iter().zip(&outputs).enumerate() {
        let row: Vec<f64> = input.iter().map(|c| cell(c)).collect();
        match model.predict(&row).unwrap_or_else(|e| panic!("{name} row {r}: {e}")) {
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
    assert_eq!(e.source, "scikit-learn 1.9.1 RandomForestClassifier (pickle, protocol 4)");
}

#[test]
fn missing_values_follow_the_writing_version() {
    // scikit-learn 1.9 forests accept NaN; 1.2.2 ones (no missing_go_to_left) refuse it.
    let new = import_bytes(&fixture("iris_rf10.joblib"), &ImportOptions::default()).unwrap();
    assert!(new.features.iter().all(|f| f.allow_missing));
    let old = import_bytes(&fixture("old_sklearn_rf.joblib"), &ImportOptions::default()).unwrap();
    assert!(old.features.iter().all(|f| !f.allow_missing));
}
