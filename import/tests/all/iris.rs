//! The embedded default model (`core/models/iris.ewm`) must be exactly the conversion
//! of its source fixture, so the two can never drift apart.
//!
//! After a deliberate change to the importer or the format, regenerate it with
//! `EDGEWOOD_BLESS=1 cargo test -p edgewood-import --test all iris`.

use edgewood_core::{Model, Prediction};
use edgewood_import::{import_bytes, FeatureRange, ImportOptions};

use crate::util::fixture;

/// The reference Python service's schema: four named features, each validated to
/// 0–10 (so NaN is refused too), and the three Iris species.
fn iris_options() -> ImportOptions {
    let mut options = ImportOptions::default();
    options.feature_names = Some(
        ["sepal_length", "sepal_width", "petal_length", "petal_width"]
            .map(String::from)
            .to_vec(),
    );
    options.class_names = Some(
        ["setosa", "versicolor", "virginica"]
            .map(String::from)
            .to_vec(),
    );
    options.valid_ranges = vec![FeatureRange {
        feature: None,
        min: 0.0,
        max: 10.0,
    }];
    options.allow_missing = Some(false);
    options
}

fn committed_path() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../core/models/iris.ewm")
}

/// Compares `ewm` with the committed file at `path` (`EDGEWOOD_BLESS=1` rewrites it).
fn check_committed(path: &std::path::Path, ewm: &[u8]) {
    let committed = std::fs::read(path).unwrap_or_default();
    if committed != ewm {
        if std::env::var_os("EDGEWOOD_BLESS").is_some() {
            std::fs::write(path, ewm).unwrap();
        } else {
            panic!(
                "{} is not the conversion of tests/fixtures/iris_rf100.joblib; \
                 regenerate it with `EDGEWOOD_BLESS=1 cargo test -p edgewood-import --test all iris`",
                path.display()
            );
        }
    }
}

/// The HTTP component's built-in model (`spin-app/models/iris.ewm`) is the same Iris
/// with its covers, so the default service explains (`/v1/explain`): the component's
/// budget counts its code, not its model.
#[test]
fn the_components_iris_model_is_the_conversion_with_covers() {
    let ewm = import_bytes(&fixture("iris_rf100.joblib"), &iris_options())
        .unwrap()
        .encode()
        .unwrap();
    let path =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../spin-app/models/iris.ewm");
    check_committed(&path, &ewm);
    let model = Model::open_validated(&ewm).unwrap();
    assert!(model.has_cover());
    let explainer = edgewood_core::Explainer::untabled(model).unwrap();
    let mut out = vec![0.0; explainer.explanation_len()];
    explainer
        .explain_into(&[5.1, 3.5, 1.4, 0.2], &mut out)
        .unwrap();
}

#[test]
fn embedded_iris_model_is_the_conversion_of_its_fixture() {
    let mut ensemble = import_bytes(&fixture("iris_rf100.joblib"), &iris_options()).unwrap();
    // The embedded model carries no covers (§11): they would add 2.7 KB to the npm
    // engine's gzip (58.0 of its 60 KB); explanations load a model that has them.
    assert!(ensemble.trees.iter().all(|t| t.stats.is_some()));
    for tree in &mut ensemble.trees {
        tree.stats = None;
    }
    let ewm = ensemble.encode().unwrap();
    check_committed(&committed_path(), &ewm);
    let model = Model::open_validated(&ewm).unwrap();
    assert_eq!(model.n_trees(), 100);
    assert_eq!(model.feature_name(2), "petal_length");
    assert_eq!(model.valid_range(3), Some((0.0, 10.0)));
    assert!(!model.allows_missing(0));
    assert!(model.validate_row(&[5.1, 3.5, 1.4, f64::NAN]).is_err());
    assert!(model.validate_row(&[5.1, 3.5, 1.4, 10.5]).is_err());
    let Prediction::Class { label, .. } = model.predict(&[5.1, 3.5, 1.4, 0.2]).unwrap() else {
        panic!("not a classifier")
    };
    assert_eq!(model.class_label(label), "setosa");
    println!(
        "iris.ewm: {} bytes, {} split nodes, {} node bytes ({:.2} bytes per split node)",
        ewm.len(),
        model.n_split_nodes(),
        model.node_bytes(),
        model.node_bytes() as f64 / model.n_split_nodes() as f64
    );
}

#[test]
fn iris_options_refuse_wrong_lengths() {
    let mut options = iris_options();
    options.feature_names = Some(vec!["a".into()]);
    let err = import_bytes(&fixture("iris_rf100.joblib"), &options).unwrap_err();
    assert!(
        err.to_string()
            .contains("1 feature names given, the model has 4"),
        "{err}"
    );
}
