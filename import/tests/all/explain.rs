//! Explanation parity: Edgewood's TreeSHAP and leaves against each library's own on
//! its committed fixtures (`<name>.explain.csv`, `<name>.leaves.csv`, written by
//! `tests/fixtures/generate.py --explain`): scikit-learn against
//! `shap.TreeExplainer(feature_perturbation="tree_path_dependent")`, XGBoost against
//! `pred_contribs` / `pred_leaf`, LightGBM against `pred_contrib` / `pred_leaf`, CatBoost
//! against `get_feature_importance(type='ShapValues')`.

use edgewood_core::{Explainer, Model};
use edgewood_import::{convert, ImportOptions};

use crate::util::{cell, csv, fixture, fixtures};

/// How far a contribution may be from the library's: `|ours − theirs| ≤ bound × scale`,
/// where the scale of a row is its base plus the magnitudes of its contributions.
struct Tolerance {
    bound: f64,
    /// Why this bound.
    why: &'static str,
}

/// shap and LightGBM explain in float64, in the operation order Edgewood follows.
const FLOAT64: Tolerance = Tolerance {
    bound: 1e-9,
    why: "float64 as the library",
};
/// XGBoost's TreeSHAP keeps its path weights and sums in float32: about 2^-24 per
/// operation over paths of depth ≤ 6 and 30 rounds (1.4e-7 of a row's scale seen).
const XGBOOST: Tolerance = Tolerance {
    bound: 1e-6,
    why: "XGBoost computes in float32",
};

const FIXTURES: &[(&str, &str, Tolerance)] = &[
    ("iris_rf10", "iris_rf10.joblib", FLOAT64),
    ("cancer_rf", "cancer_rf.joblib", FLOAT64),
    ("rf_regressor", "rf_regressor.joblib", FLOAT64),
    ("rf_nan", "rf_nan.joblib", FLOAT64),
    (
        "extra_trees_classifier",
        "extra_trees_classifier.joblib",
        FLOAT64,
    ),
    (
        "extra_trees_regressor",
        "extra_trees_regressor.joblib",
        FLOAT64,
    ),
    ("skl_gb_binary", "skl_gb_binary.joblib", FLOAT64),
    ("skl_gb_regressor", "skl_gb_regressor.joblib", FLOAT64),
    ("skl_hgb_binary_nan", "skl_hgb_binary_nan.joblib", FLOAT64),
    (
        "skl_hgb_multiclass_nan",
        "skl_hgb_multiclass_nan.joblib",
        FLOAT64,
    ),
    (
        "skl_hgb_regressor_nan",
        "skl_hgb_regressor_nan.joblib",
        FLOAT64,
    ),
    ("xgb_binary", "xgb_binary.json", XGBOOST),
    ("xgb_multiclass", "xgb_multiclass.json", XGBOOST),
    ("xgb_regression", "xgb_regression.json", XGBOOST),
    ("xgb_nan", "xgb_nan.json", XGBOOST),
    ("xgb_categorical", "xgb_categorical.json", XGBOOST),
    ("lgbm_binary", "lgbm_binary.txt", FLOAT64),
    ("lgbm_multiclass", "lgbm_multiclass.txt", FLOAT64),
    ("lgbm_regression", "lgbm_regression.txt", FLOAT64),
    ("lgbm_nan", "lgbm_nan.txt", FLOAT64),
    ("lgbm_categorical", "lgbm_categorical.txt", FLOAT64),
    ("lgbm_zero_as_missing", "lgbm_zero_as_missing.txt", FLOAT64),
    ("cb_regression", "cb_regression.json", FLOAT64),
    ("cb_binary", "cb_binary.json", FLOAT64),
    ("cb_multiclass", "cb_multiclass.json", FLOAT64),
    ("cb_nan", "cb_nan.json", FLOAT64),
    ("cb_nan_max", "cb_nan_max.json", FLOAT64),
    ("cb_onehot", "cb_onehot.cbm", FLOAT64),
];

/// The library's raw output of each input row: its margins, or (forests and plain
/// regressions) its expected probabilities or values.
fn raw_outputs(name: &str, n_outputs: usize) -> Vec<Vec<f64>> {
    let margin = fixtures().join(format!("{name}.margin.csv"));
    let (header, rows) = if margin.exists() {
        csv(std::fs::read(margin).unwrap())
    } else {
        csv(fixture(&format!("{name}.expected.csv")))
    };
    // Probabilities follow the label column.
    let skip = usize::from(header[0] == "label");
    rows.iter()
        .map(|r| r[skip..skip + n_outputs].iter().map(|c| cell(c)).collect())
        .collect()
}

#[test]
fn explanations_match_the_libraries() {
    let mut report = Vec::new();
    for (name, model_file, tolerance) in FIXTURES {
        let ewm = convert(&fixture(model_file), &ImportOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .ewm;
        let model = Model::open_validated(&ewm).unwrap();
        let explainer = Explainer::new(model).unwrap();
        let (nf, n_out) = (model.n_features(), explainer.n_outputs());
        let (_, inputs) = csv(fixture(&format!("{name}.input.csv")));
        let (header, expected) = csv(fixture(&format!("{name}.explain.csv")));
        assert_eq!(header.len(), 1 + n_out * (nf + 1), "{name}: outputs");
        let raw = raw_outputs(name, n_out);
        let mut out = vec![0.0; explainer.explanation_len()];
        let (mut max_abs, mut max_rel) = (0.0f64, 0.0f64);
        for line in &expected {
            let r: usize = line[0].parse().unwrap();
            let row: Vec<f64> = inputs[r].iter().map(|c| cell(c)).collect();
            explainer.explain_into(&row, &mut out).unwrap();
            let theirs: Vec<f64> = line[1..].iter().map(|c| cell(c)).collect();
            for (k, &raw_k) in raw[r].iter().enumerate() {
                let block = k * (nf + 1)..(k + 1) * (nf + 1);
                let scale: f64 = theirs[block.clone()].iter().map(|v| v.abs()).sum();
                for i in block.clone() {
                    let err = (out[i] - theirs[i]).abs();
                    max_abs = max_abs.max(err);
                    max_rel = max_rel.max(err / scale.max(f64::MIN_POSITIVE));
                    assert!(
                        err <= tolerance.bound * scale.max(1e-300),
                        "{name} row {r} output {k} column {}: {} vs the library's {} \
                         (bound {} × {scale}: {})",
                        i - block.start,
                        out[i],
                        theirs[i],
                        tolerance.bound,
                        tolerance.why
                    );
                }
                // Additivity: base + contributions = the raw output, on every row.
                let total: f64 = out[block].iter().sum();
                assert!(
                    (total - raw_k).abs() <= tolerance.bound * scale.max(1.0),
                    "{name} row {r} output {k}: base + contributions {total} ≠ raw output {raw_k}"
                );
            }
        }
        report.push(format!(
            "{name}: {} rows, max abs error {max_abs:.2e}, max error / row scale {max_rel:.2e}",
            expected.len()
        ));
    }
    println!("{}", report.join("\n"));
}

#[test]
fn leaves_match_the_libraries() {
    for (name, model_file, _) in FIXTURES {
        let path = fixtures().join(format!("{name}.leaves.csv"));
        if !path.exists() {
            continue; // HistGradientBoosting has no `apply`.
        }
        let ewm = convert(&fixture(model_file), &ImportOptions::default())
            .unwrap()
            .ewm;
        let model = Model::open_validated(&ewm).unwrap();
        let (_, inputs) = csv(fixture(&format!("{name}.input.csv")));
        let (_, expected) = csv(std::fs::read(path).unwrap());
        let mut leaves = vec![0; model.n_trees()];
        for line in &expected {
            let r: usize = line[0].parse().unwrap();
            let row: Vec<f64> = inputs[r].iter().map(|c| cell(c)).collect();
            model.leaves_into(&row, &mut leaves).unwrap();
            let theirs: Vec<u32> = line[1..].iter().map(|c| c.parse().unwrap()).collect();
            assert_eq!(leaves, theirs, "{name} row {r}");
        }
    }
}

#[test]
fn onnx_models_cannot_be_explained() {
    let ewm = convert(&fixture("rf_iris.onnx"), &ImportOptions::default())
        .unwrap()
        .ewm;
    let model = Model::open_validated(&ewm).unwrap();
    let err = Explainer::new(model).unwrap_err();
    assert!(err.to_string().contains("no cover"), "{err}");
}
