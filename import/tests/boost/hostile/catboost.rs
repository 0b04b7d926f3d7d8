//! CatBoost JSON exports with one thing wrong, and models Edgewood refuses by design:
//! CTRs, a depth of 64, leaf counts that do not match the depth, splits on features that
//! do not exist, one-hot categories the file does not name.

use edgewood_import::catboost;
use serde_json::{json, Value};

use super::flips;
use crate::common::fixtures;

fn model(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(fixtures().join(name)).unwrap()).unwrap()
}

fn err(v: &Value) -> String {
    match catboost::read(&serde_json::to_vec(v).unwrap()) {
        Ok(_) => panic!("a malformed CatBoost model was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn catboost_ctr_models_are_refused_naming_ctrs() {
    for name in ["cb_ctr.json", "cb_ctr.cbm"] {
        let bytes = std::fs::read(fixtures().join(name)).unwrap();
        let e = match edgewood_import::import_bytes(&bytes, &Default::default()) {
            Ok(_) => panic!("{name}: a model with CTRs was accepted"),
            Err(e) => e.to_string(),
        };
        if name.ends_with(".json") || edgewood_import::detect(&bytes).is_some() {
            assert!(e.contains("CTRs"), "{name}: {e}");
            assert!(e.contains("not support"), "{name}: {e}");
        }
    }
    // A split of type OnlineCtr alone (without the ctr_data table) is refused the same way.
    let mut v = model("cb_regression.json");
    v["oblivious_trees"][2]["splits"][1] = json!({"split_type": "OnlineCtr", "split_index": 9});
    let e = err(&v);
    assert!(e.contains("oblivious_trees[2].splits[1] uses CTRs"), "{e}");
}

#[test]
fn catboost_depth_64_is_refused() {
    let mut v = model("cb_regression.json");
    let split = v["oblivious_trees"][0]["splits"][0].clone();
    v["oblivious_trees"][0]["splits"] = Value::Array(vec![split; 64]);
    let e = err(&v);
    assert!(e.contains("depth 64"), "{e}");
}

#[test]
fn catboost_leaf_count_must_match_the_depth() {
    let mut v = model("cb_regression.json");
    v["oblivious_trees"][1]["leaf_values"]
        .as_array_mut()
        .unwrap()
        .pop();
    let e = err(&v);
    assert!(e.contains("tree 1: 15 leaf values for depth 4"), "{e}");
    // Two values per leaf in one tree, one in the others.
    let mut v = model("cb_regression.json");
    let leaves = v["oblivious_trees"][1]["leaf_values"]
        .as_array()
        .unwrap()
        .clone();
    v["oblivious_trees"][1]["leaf_values"] = Value::Array([leaves.clone(), leaves].concat());
    let e = err(&v);
    assert!(e.contains("2 values per leaf"), "{e}");
    let mut v = model("cb_regression.json");
    v["oblivious_trees"][0]["leaf_weights"] = json!([1, 2]);
    assert!(err(&v).contains("2 leaf weights for 16 leaves"));
}

#[test]
fn catboost_splits_on_missing_features_are_refused() {
    let mut v = model("cb_regression.json");
    v["oblivious_trees"][0]["splits"][0]["float_feature_index"] = json!(6);
    let e = err(&v);
    assert!(e.contains("float feature 6 of 6"), "{e}");
    let v = model("cb_onehot.json");
    let first_onehot = v["oblivious_trees"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .find_map(|(t, tree)| {
            tree["splits"]
                .as_array()
                .unwrap()
                .iter()
                .position(|s| s["split_type"] == "OneHotFeature")
                .map(|i| (t, i))
        })
        .expect("a one-hot split");
    let (t, i) = first_onehot;
    let mut bad = v.clone();
    bad["oblivious_trees"][t]["splits"][i]["cat_feature_index"] = json!(1);
    assert!(err(&bad).contains("categorical feature 1 of 1"));
    // Without the category names (saved without the pool, or a .cbm), each hash is
    // matched to the integer code whose text has it: the same model.
    let mut v = model("cb_onehot.json");
    let named = catboost::read(&serde_json::to_vec(&v).unwrap()).unwrap();
    v["features_info"]["cat_features_hash"] = Value::Null;
    let unnamed = catboost::read(&serde_json::to_vec(&v).unwrap()).unwrap();
    assert_eq!(named.trees, unnamed.trees);
    // A hash that is no integer code's is refused, pointing at the pool.
    v["oblivious_trees"][t]["splits"][i]["value"] = json!(12345);
    let e = err(&v);
    assert!(e.contains("hash 12345") && e.contains("pool"), "{e}");
    // A category that is not an integer code.
    let mut v = model("cb_onehot.json");
    for h in v["features_info"]["cat_features_hash"]
        .as_array_mut()
        .unwrap()
    {
        let text = format!("red{}", h["value"].as_str().unwrap());
        h["value"] = json!(text);
    }
    assert!(err(&v).contains("integer codes"));
}

#[test]
fn catboost_other_losses_and_scales_are_refused() {
    let mut v = model("cb_regression.json");
    v["model_info"]["params"]["loss_function"]["type"] = json!("Poisson");
    assert!(err(&v).contains("loss function \"Poisson\""));
    let mut v = model("cb_regression.json");
    v["scale_and_bias"][0] = json!(0.3);
    assert!(err(&v).contains("scale 0.3"));
    // A power of two is applied exactly.
    let mut v = model("cb_regression.json");
    v["scale_and_bias"][0] = json!(2.0);
    catboost::read(&serde_json::to_vec(&v).unwrap()).unwrap();
    let mut v = model("cb_regression.json");
    v["oblivious_trees"][0]["splits"][0]["border"] = json!(0.1);
    assert!(err(&v).contains("not a float32 value"));
}

#[test]
fn catboost_json_survives_byte_flips() {
    let bytes = std::fs::read(fixtures().join("cb_multiclass.json")).unwrap();
    let accepted = flips(&bytes, 300, |b| catboost::read(b).is_ok());
    println!("{accepted} of 300 flipped files still read");
}

fn cbm(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(name)).unwrap()
}

fn cbm_err(bytes: &[u8]) -> String {
    match catboost::read(bytes) {
        Ok(_) => panic!("a malformed .cbm was accepted"),
        Err(e) => e.to_string(),
    }
}

/// Where `cb_regression.cbm`'s `TreeSizes` vector (30 trees of depth 4) starts: its
/// length word, then 30 fours.
fn tree_sizes_at(bytes: &[u8]) -> usize {
    let mut needle = 30u32.to_le_bytes().to_vec();
    for _ in 0..30 {
        needle.extend(4u32.to_le_bytes());
    }
    bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("TreeSizes in the file")
}

#[test]
fn catboost_cbm_depth_64_and_wrong_leaf_counts_are_refused() {
    let good = cbm("cb_regression.cbm");
    let at = tree_sizes_at(&good) + 4;
    let mut b = good.clone();
    b[at..at + 4].copy_from_slice(&64u32.to_le_bytes());
    let e = cbm_err(&b);
    assert!(e.contains("depth 64"), "{e}");
    // A first tree of another depth no longer starts the second where the file says.
    let mut b = good.clone();
    b[at..at + 4].copy_from_slice(&5u32.to_le_bytes());
    assert!(cbm_err(&b).contains("tree 1: start offset 4, expected 5"));
    // The last tree (no start offset after it): deeper takes splits the file lacks,
    // shallower leaves splits and leaf values over.
    let last = at + 4 * 29;
    let mut b = good.clone();
    b[last..last + 4].copy_from_slice(&5u32.to_le_bytes());
    let e = cbm_err(&b);
    assert!(
        e.contains("tree 29: 5 splits past the end of TreeSplits"),
        "{e}"
    );
    let mut b = good.clone();
    b[last..last + 4].copy_from_slice(&3u32.to_le_bytes());
    let e = cbm_err(&b);
    assert!(e.contains("trees use 119 splits, 472 leaf values"), "{e}");
    let mut b = good;
    b[at..at + 4].copy_from_slice(&(-1i32).to_le_bytes());
    assert!(cbm_err(&b).contains("depth -1"));
}

#[test]
fn catboost_cbm_truncations_and_wrong_offsets_are_refused() {
    let good = cbm("cb_multiclass.cbm");
    catboost::read(&good).unwrap();
    for len in (0..good.len()).step_by(7) {
        assert!(catboost::read(&good[..len]).is_err(), "truncated to {len}");
    }
    // The declared size past the end of the file.
    let mut b = good.clone();
    b[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(cbm_err(&b).contains("core of 4294967295 bytes"));
    // The root offset, and every 4-byte word in turn, pointing anywhere.
    for at in (8..good.len() - 4).step_by(16) {
        for v in [0u32, 1, 0x7fff_fff0, u32::MAX] {
            let mut b = good.clone();
            b[at..at + 4].copy_from_slice(&v.to_le_bytes());
            let _ = catboost::read(&b);
        }
    }
    let accepted = flips(&good, 300, |b| catboost::read(b).is_ok());
    println!("{accepted} of 300 flipped .cbm files still read");
}
