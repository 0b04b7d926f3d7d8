//! `POST /v1/explain` and `/v1/explain/batch` answer the libraries' own explanations
//! (the committed `<name>.explain.csv` fixtures: shap.TreeExplainer, XGBoost's
//! `pred_contribs`, LightGBM's `pred_contrib`), through the same code the component
//! runs, for models converted from each fixture.

use edgewood_spin::api::{handle, Body, Config, Request};

/// Reads `tests/fixtures/<file>` as (header, rows of cells).
fn csv(file: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let path = format!("{}/../tests/fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut lines = text
        .lines()
        .map(|l| l.split(',').map(str::to_owned).collect::<Vec<_>>());
    let header = lines.next().unwrap();
    (header, lines.collect())
}

fn post(model: &[u8], path: &str, body: &str) -> (u16, serde_json::Value) {
    let headers = vec![("Content-Type".to_string(), "application/json".to_string())];
    let req = Request {
        method: "POST",
        path,
        headers: &headers,
        body: Body::Bytes(body.as_bytes()),
    };
    let resp = handle(&Config::new("m"), edgewood_core::Model::open(model), &req);
    let json = serde_json::from_slice(&resp.body).unwrap();
    (resp.status, json)
}

/// Converts fixture `model_file` (fit on bare arrays) with the feature names of its
/// input file's header, and `classes` if given.
fn convert(model_file: &str, name: &str, classes: Option<&[&str]>) -> Vec<u8> {
    let source = std::fs::read(format!(
        "{}/../tests/fixtures/{model_file}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let mut options = edgewood_import::ImportOptions::default();
    options.feature_names = Some(csv(&format!("{name}.input.csv")).0);
    options.class_names = classes.map(|c| c.iter().map(|s| s.to_string()).collect());
    edgewood_import::convert(&source, &options).unwrap().ewm
}

const IRIS: &[&str] = &["setosa", "versicolor", "virginica"];

/// Explains every fixture row without a missing value through `/v1/explain/batch` and
/// compares each class's contributions and base with the library's, within `bound` of
/// the row's scale (its base plus the magnitudes of its contributions), the bound the
/// core's parity tests use. Returns the rows checked.
fn check(model_file: &str, name: &str, bound: f64) -> usize {
    let ewm = convert(model_file, name, None);
    let (features, inputs) = csv(&format!("{name}.input.csv"));
    let (header, expected) = csv(&format!("{name}.explain.csv"));
    let n_outputs = (header.len() - 1) / (features.len() + 1);
    let mut instances = Vec::new();
    let mut wanted = Vec::new();
    for row in &expected {
        let input = &inputs[row[0].parse::<usize>().unwrap()];
        if input.iter().any(String::is_empty) {
            continue; // JSON has no NaN: missing values are the CLI's tests.
        }
        let fields: Vec<String> = features
            .iter()
            .zip(input)
            .map(|(f, v)| format!("\"{f}\":{v}"))
            .collect();
        instances.push(format!("{{{}}}", fields.join(",")));
        wanted.push(
            row[1..]
                .iter()
                .map(|c| c.parse::<f64>().unwrap())
                .collect::<Vec<_>>(),
        );
    }
    let body = format!(r#"{{"instances":[{}]}}"#, instances.join(","));
    let (status, answer) = post(&ewm, "/v1/explain/batch", &body);
    assert_eq!(status, 200, "{name}: {answer}");
    let answers = answer["explanations"].as_array().unwrap();
    assert_eq!(answers.len(), wanted.len());
    let stride = features.len() + 1;
    for (a, want) in answers.iter().zip(&wanted) {
        let e = &a["explanation"];
        // (class or regressor output, its values: contributions in feature order, base)
        let outputs: Vec<(String, Vec<f64>)> = match e.get("classes") {
            Some(classes) => classes
                .as_object()
                .unwrap()
                .iter()
                .map(|(c, v)| {
                    let mut values: Vec<f64> = features
                        .iter()
                        .map(|f| v["contributions"][f].as_f64().unwrap())
                        .collect();
                    values.push(v["base"].as_f64().unwrap());
                    (c.clone(), values)
                })
                .collect(),
            None => {
                let mut values: Vec<f64> = features
                    .iter()
                    .map(|f| e["contributions"][f].as_f64().unwrap())
                    .collect();
                values.push(e["base"].as_f64().unwrap());
                vec![("value".into(), values)]
            }
        };
        for (k, (class, got)) in outputs.iter().enumerate() {
            // A binary boosted model explains one margin, the second class's; the first
            // class's is its negation.
            let (theirs, sign) = if n_outputs == 1 && outputs.len() == 2 {
                (&want[..stride], if k == 0 { -1.0 } else { 1.0 })
            } else {
                (&want[k * stride..(k + 1) * stride], 1.0)
            };
            let scale: f64 = theirs.iter().map(|x| x.abs()).sum::<f64>().max(1e-300);
            for (f, (g, t)) in got.iter().zip(theirs).enumerate() {
                let diff = (g - sign * t).abs();
                assert!(
                    diff <= bound * scale,
                    "{name} class {class} value {f}: {g} against {}",
                    sign * t
                );
            }
        }
        // The base plus the contributions is what the space says, here the prediction
        // for forests (the probabilities) and regressors.
        if e["space"] == "probability" {
            for (class, got) in &outputs {
                let p = a["probabilities"][class].as_f64().unwrap();
                let sum: f64 = got.iter().sum();
                assert!((sum - p).abs() <= 1e-12, "{name} {class}: {sum} vs {p}");
            }
        }
    }
    wanted.len()
}

#[test]
fn explanations_over_http_match_the_libraries() {
    let checked = [
        check("iris_rf10.joblib", "iris_rf10", 1e-9),
        check("rf_regressor.joblib", "rf_regressor", 1e-9),
        check("skl_gb_binary.joblib", "skl_gb_binary", 1e-9),
        check("xgb_binary.json", "xgb_binary", 1e-6),
        check("xgb_multiclass.json", "xgb_multiclass", 1e-6),
        check("lgbm_multiclass.txt", "lgbm_multiclass", 1e-9),
        check("lgbm_regression.txt", "lgbm_regression", 1e-9),
        check("cb_multiclass.cbm", "cb_multiclass", 1e-9),
        check("cb_onehot.json", "cb_onehot", 1e-9),
    ];
    assert!(checked.iter().all(|&n| n >= 10), "{checked:?}");
}

#[test]
fn one_row_answers_the_prediction_its_explanation_and_the_input() {
    let ewm = convert("iris_rf10.joblib", "iris_rf10", Some(IRIS));
    let body = r#"{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}"#;
    let (status, a) = post(&ewm, "/v1/explain", body);
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["prediction"], "setosa");
    assert_eq!(a["input"]["sepal_length"], 5.1);
    assert_eq!(a["explanation"]["space"], "probability");
    let setosa = &a["explanation"]["classes"]["setosa"];
    let sum = setosa["base"].as_f64().unwrap()
        + setosa["contributions"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_f64().unwrap())
            .sum::<f64>();
    assert!((sum - a["probabilities"]["setosa"].as_f64().unwrap()).abs() < 1e-12);

    // The same answer, less the input, as the first of a batch.
    let (_, batch) = post(
        &ewm,
        "/v1/explain/batch",
        &format!(r#"{{"instances":[{body},[6.7,3.0,5.2,2.3]]}}"#),
    );
    assert_eq!(batch["explanations"][0]["explanation"], a["explanation"]);
    assert_eq!(batch["explanations"][1]["prediction"], "virginica");
}

#[test]
fn bad_bodies_are_the_predict_errors_and_a_model_without_cover_is_a_501() {
    let ewm = convert("iris_rf10.joblib", "iris_rf10", Some(IRIS));
    let (status, a) = post(&ewm, "/v1/explain", r#"{"sepal_length":5.1}"#);
    assert_eq!(status, 422, "{a}");
    assert_eq!(a["detail"][0]["loc"][1], "sepal_width");
    let (status, _) = post(&ewm, "/v1/explain/batch", r#"{"instances":[]}"#);
    assert_eq!(status, 422);

    // The CLI's and npm's built-in Iris is stored without cover (the component's has it).
    let built_in = edgewood_core::iris::EWM;
    let body = r#"{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}"#;
    for (path, body) in [
        ("/v1/explain", body.to_string()),
        ("/v1/explain/batch", format!(r#"{{"instances":[{body}]}}"#)),
    ] {
        let (status, a) = post(built_in, path, &body);
        assert_eq!(status, 501, "{path}: {a}");
        assert!(a["detail"].as_str().unwrap().contains("cover"), "{a}");
    }
}
