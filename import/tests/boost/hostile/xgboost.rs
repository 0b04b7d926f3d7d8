//! XGBoost JSON and UBJSON models with one thing wrong: children out of range, cycles,
//! mismatched lengths, absurd sizes, unknown objectives, truncations and byte flips.

use std::time::{Duration, Instant};

use edgewood_import::xgboost;
use serde_json::Value;

use super::flips;
use crate::common::fixtures;

fn xgb_json(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(fixtures().join(name)).unwrap()).unwrap()
}

fn xgb_err(v: &Value) -> String {
    match xgboost::read(&serde_json::to_vec(v).unwrap()) {
        Ok(_) => panic!("a malformed XGBoost model was accepted"),
        Err(e) => e.to_string(),
    }
}

fn tree0(v: &mut Value) -> &mut Value {
    &mut v["learner"]["gradient_booster"]["model"]["trees"][0]
}

#[test]
fn xgboost_child_out_of_range() {
    let mut v = xgb_json("xgb_binary.json");
    tree0(&mut v)["left_children"][0] = Value::from(4096);
    let e = xgb_err(&v);
    assert!(e.contains("tree 0 node 0") && e.contains("4096"), "{e}");
}

#[test]
fn xgboost_cycle() {
    let mut v = xgb_json("xgb_binary.json");
    // Node 1's right child points back to node 1.
    tree0(&mut v)["right_children"][1] = Value::from(1);
    let e = xgb_err(&v);
    assert!(e.contains("reached twice"), "{e}");
}

/// Issue 13 item 4: the root pointing at itself, and two nodes appended as a cycle
/// that the root does not reach.
#[test]
fn xgboost_root_self_loop_and_detached_cycle() {
    let mut v = xgb_json("xgb_binary.json");
    tree0(&mut v)["left_children"][0] = Value::from(0);
    let e = xgb_err(&v);
    assert!(e.contains("node 0: child index 0 out of range"), "{e}");
    let mut v = xgb_json("xgb_binary.json");
    let t = tree0(&mut v);
    let n = t["left_children"].as_array().unwrap().len();
    let keys: Vec<String> = t.as_object().unwrap().keys().cloned().collect();
    for k in keys {
        if let Some(a) = t[&k].as_array_mut() {
            if a.len() == n {
                let first = a[0].clone();
                a.push(first.clone());
                a.push(first);
            }
        }
    }
    for (side, a, b) in [("left_children", n + 1, n), ("right_children", n + 1, n)] {
        t[side][n] = Value::from(a);
        t[side][n + 1] = Value::from(b);
    }
    t["tree_param"]["num_nodes"] = Value::from((n + 2).to_string());
    let e = xgb_err(&v);
    assert!(
        e.contains(&format!("split node {n} is not reached from the root")),
        "{e}"
    );
}

#[test]
fn xgboost_mismatched_lengths() {
    let mut v = xgb_json("xgb_binary.json");
    tree0(&mut v)["split_conditions"]
        .as_array_mut()
        .unwrap()
        .pop();
    let e = xgb_err(&v);
    assert!(
        e.contains("split_conditions") && e.contains("entries"),
        "{e}"
    );
}

#[test]
fn xgboost_absurd_sizes() {
    let mut v = xgb_json("xgb_binary.json");
    tree0(&mut v)["tree_param"]["num_nodes"] = Value::from("99999999999");
    let e = xgb_err(&v);
    assert!(e.contains("num_nodes"), "{e}");
    let mut v = xgb_json("xgb_binary.json");
    tree0(&mut v)["split_indices"][0] = Value::from(70_000);
    let e = xgb_err(&v);
    assert!(e.contains("feature 70000"), "{e}");
    let mut v = xgb_json("xgb_categorical.json");
    tree0(&mut v)["categories"][0] = Value::from(1u64 << 30);
    let e = xgb_err(&v);
    assert!(e.contains("category"), "{e}");
    let mut v = xgb_json("xgb_multiclass.json");
    v["learner"]["gradient_booster"]["model"]["tree_info"][0] = Value::from(7);
    let e = xgb_err(&v);
    assert!(e.contains("output group 7"), "{e}");
}

#[test]
fn xgboost_unknown_objective_is_named() {
    let mut v = xgb_json("xgb_binary.json");
    v["learner"]["objective"]["name"] = Value::from("rank:ndcg");
    let e = xgb_err(&v);
    assert!(e.contains("rank:ndcg"), "{e}");
}

#[test]
fn ubjson_truncations_are_errors() {
    let bytes = std::fs::read(fixtures().join("xgb_binary.ubj")).unwrap();
    let start = Instant::now();
    let step = (bytes.len() / 400).max(1);
    for cut in (0..bytes.len()).step_by(step) {
        let e = xgboost::read(&bytes[..cut]).expect_err("a truncated model was accepted");
        if cut > 16 {
            assert!(e.to_string().contains("truncated"), "cut {cut}: {e}");
        }
    }
    assert!(start.elapsed() < Duration::from_secs(30));
}

#[test]
fn ubjson_absurd_count_is_refused_before_allocating() {
    let mut bytes = std::fs::read(fixtures().join("xgb_binary.ubj")).unwrap();
    // The first counted container (`feature_names`, `[#L` + 8-byte count): claim 2^62.
    let at = bytes.windows(3).position(|w| w == b"[#L").unwrap() + 3;
    bytes[at..at + 8].copy_from_slice(&(1u64 << 62).to_be_bytes());
    let e = xgboost::read(&bytes).unwrap_err().to_string();
    assert!(e.contains("exceeds the rest of the file"), "{e}");
}

#[test]
fn xgboost_byte_flips_never_panic() {
    for name in ["xgb_categorical.ubj", "xgb_multiclass.ubj", "xgb_nan.json"] {
        let bytes = std::fs::read(fixtures().join(name)).unwrap();
        flips(&bytes, 300, |b| match xgboost::read(b) {
            // Whatever is accepted must also predict without error.
            Ok(e) => {
                let ewm = e.encode().unwrap();
                let m = edgewood_core::Model::open_validated(&ewm).unwrap();
                m.predict(&vec![0.5; m.n_features()]).unwrap();
                true
            }
            Err(_) => false,
        });
    }
}
