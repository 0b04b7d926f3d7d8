//! `edgewood inspect`: text and JSON describe the same model.

use edgewood_core::iris;

use crate::util::*;

#[test]
fn embedded_iris_as_json() {
    let dir = tempdir();
    let out = edgewood(dir.path(), &["inspect", "--json"]).ok();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let model = iris::model().unwrap();
    assert_eq!(v["model"], "embedded Iris");
    assert_eq!(v["kind"], "classification");
    assert_eq!(v["aggregation"]["type"], "average");
    assert_eq!(v["trees"], model.n_trees());
    assert_eq!(v["split_nodes"], model.n_split_nodes());
    assert_eq!(v["leaves"], model.n_leaves());
    assert_eq!(v["max_depth"], model.max_depth());
    assert_eq!(v["bytes"], iris::EWM.len());
    assert_eq!(v["source"], model.source());
    let names: Vec<&str> = v["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    );
    assert_eq!(
        v["features"][3]["valid_range"],
        serde_json::json!([0.0, 10.0])
    );
    assert_eq!(
        v["classes"],
        serde_json::json!(["setosa", "versicolor", "virginica"])
    );
}

#[test]
fn embedded_iris_as_text() {
    let dir = tempdir();
    let out = edgewood(dir.path(), &["inspect"]).ok();
    assert!(out.contains("classification, 3 classes"), "{out}");
    assert!(out.contains("average of trees"), "{out}");
    assert!(out.contains("petal_width"), "{out}");
    assert!(out.contains("setosa, versicolor, virginica"), "{out}");
    assert!(out.contains(&format!("{} bytes", iris::EWM.len())), "{out}");
}

#[test]
fn a_regressor_file() {
    let dir = tempdir();
    write(dir.path(), "reg.ewm", regressor());
    let v: serde_json::Value =
        serde_json::from_str(&edgewood(dir.path(), &["inspect", "reg.ewm", "--json"]).ok())
            .unwrap();
    assert_eq!(v["kind"], "regression");
    assert_eq!(v["classes"], serde_json::Value::Null);
    assert_eq!(v["trees"], 1);
    assert_eq!(v["split_nodes"], 2);
    assert_eq!(v["leaves"], 3);
    assert_eq!(v["max_depth"], 2);
    assert_eq!(v["features"][0]["allow_missing"], true);
    assert_eq!(v["features"][1]["valid_range"], serde_json::Value::Null);
    let text = edgewood(dir.path(), &["inspect", "reg.ewm"]).ok();
    assert!(text.contains("regression"), "{text}");
    assert!(text.contains("0 .. 100"), "{text}");
}
