//! The HTTP API answers for boosted models (XGBoost, LightGBM, scikit-learn GB) exactly
//! as the libraries do: the same code the component runs, given a model converted from
//! each fixture instead of the embedded Iris forest (as `edgewood component` packages one).

use edgewood_spin::api::{handle, Body, Config, Request};

/// Reads `tests/fixtures/<name>.csv` as (header, rows of cells).
fn csv(name: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let path = format!(
        "{}/../tests/fixtures/{name}.csv",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut lines = text
        .lines()
        .map(|l| l.split(',').map(str::to_owned).collect::<Vec<_>>());
    let header = lines.next().unwrap();
    (header, lines.collect())
}

/// POSTs `body` to `/v1/predict` and returns the parsed JSON answer.
fn predict(config: &Config, model: &[u8], body: &str) -> serde_json::Value {
    let headers = vec![("Content-Type".to_string(), "application/json".to_string())];
    let req = Request {
        method: "POST",
        path: "/v1/predict",
        headers: &headers,
        body: Body::Bytes(body.as_bytes()),
    };
    let resp = handle(config, edgewood_core::Model::open(model), &req);
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    serde_json::from_slice(&resp.body).unwrap()
}

/// Every fixture row without a missing value, as JSON, answers the library's outputs.
fn check(model_file: &str, name: &str) -> usize {
    let source = std::fs::read(format!(
        "{}/../tests/fixtures/{model_file}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let (features, inputs) = csv(&format!("{name}.input"));
    // Models fit on arrays have no feature names: give them the fixture's header.
    let mut options = edgewood_import::ImportOptions::default();
    options.feature_names = Some(features.clone());
    let ensemble = edgewood_import::import_bytes(&source, &options).unwrap();
    let bytes = ensemble.encode().unwrap();
    let model = edgewood_core::Model::open_validated(&bytes).unwrap();
    let config = Config::new(name);
    let (columns, expected) = csv(&format!("{name}.expected"));
    let mut checked = 0;
    for (row, want) in inputs.iter().zip(&expected) {
        if row.iter().any(String::is_empty) {
            continue; // JSON has no NaN; missing values are covered by the CLI tests.
        }
        let body = serde_json::Value::Object(
            features
                .iter()
                .zip(row)
                .map(|(f, v)| (f.clone(), serde_json::json!(v.parse::<f64>().unwrap())))
                .collect(),
        )
        .to_string();
        let answer = predict(&config, &bytes, &body);
        if columns[0] == "value" {
            let got = answer["prediction"].as_f64().unwrap();
            assert_eq!(
                got.to_bits(),
                want[0].parse::<f64>().unwrap().to_bits(),
                "{name} {row:?}"
            );
        } else {
            let label = &answer["prediction"];
            let label = label
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| label.to_string());
            assert_eq!(label, want[0], "{name} {row:?}");
            for (k, column) in columns.iter().enumerate().skip(1) {
                let class = column.strip_prefix("p_").unwrap();
                let got = answer["probabilities"][class].as_f64().unwrap();
                assert_eq!(
                    got.to_bits(),
                    want[k].parse::<f64>().unwrap().to_bits(),
                    "{name} {row:?} {class}"
                );
            }
        }
        checked += 1;
    }
    assert_eq!(model.n_features(), features.len());
    checked
}

#[test]
fn xgboost_binary_multiclass_and_regression_answer_as_xgboost() {
    assert!(check("xgb_binary.json", "xgb_binary") > 50);
    assert!(check("xgb_multiclass.ubj", "xgb_multiclass") > 50);
    assert!(check("xgb_poisson.json", "xgb_poisson") > 50);
}

#[test]
fn lightgbm_and_scikit_learn_boosting_answer_as_their_libraries() {
    assert!(check("lgbm_multiclass.txt", "lgbm_multiclass") > 50);
    assert!(check("lgbm_regression.txt", "lgbm_regression") > 50);
    assert!(check("skl_gb_binary.joblib", "skl_gb_binary") > 50);
}
