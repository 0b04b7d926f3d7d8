//! Every importer that has per-node cover carries it into the model (§11); ONNX has none.

use edgewood_core::Model;
use edgewood_import::{import_bytes, ImportOptions};

use crate::util::fixture;

#[test]
fn libraries_with_cover_give_every_tree_its_statistics() {
    for name in [
        "iris_rf10.joblib",
        "old_sklearn_rf.joblib",
        "extra_trees_regressor.joblib",
        "skl_gb_multiclass.joblib",
        "skl_hgb_binary_nan.joblib",
        "skl_hgb_categorical.joblib",
        "xgb_binary.json",
        "xgb_multiclass.json",
        "xgb_categorical.json",
        "xgb_dart.json",
        "lgbm_binary.txt",
        "lgbm_multiclass.txt",
        "lgbm_categorical.txt",
        "lgbm_rf.txt",
    ] {
        let ensemble = import_bytes(&fixture(name), &ImportOptions::default()).unwrap();
        let bytes = ensemble.encode().unwrap();
        let model = Model::open_validated(&bytes).unwrap();
        assert!(model.has_cover(), "{name}: no cover");
        assert_eq!(model.format_version(), 2, "{name}");
    }
}

#[test]
fn onnx_models_have_no_cover() {
    let ensemble = import_bytes(&fixture("rf_iris.onnx"), &ImportOptions::default()).unwrap();
    let bytes = ensemble.encode().unwrap();
    let model = Model::open_validated(&bytes).unwrap();
    assert!(!model.has_cover());
    assert_eq!(model.format_version(), 1);
}
