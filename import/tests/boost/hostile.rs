//! Malformed and hostile files: every one is refused with an error that names the
//! problem, never a panic, an endless walk or an allocation the file merely claims.
//! (XGBoost 3.2 itself segfaults on a child out of range; LightGBM 4.7 loops on a cycle.)

use std::time::{Duration, Instant};

use edgewood_import::{lightgbm, xgboost};
use serde_json::Value;

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

/// Deterministic pseudo-random byte flips; each result must be Ok or Err, quickly.
fn flips(bytes: &[u8], rounds: usize, read: impl Fn(&[u8]) -> bool) -> usize {
    let mut state = 0x2545F4914F6CDD1Du64;
    let mut accepted = 0;
    let start = Instant::now();
    for _ in 0..rounds {
        let mut b = bytes.to_vec();
        for _ in 0..1 + (state % 4) as usize {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let i = (state % b.len() as u64) as usize;
            b[i] = (state >> 32) as u8;
        }
        accepted += read(&b) as usize;
    }
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "flips took {:?}",
        start.elapsed()
    );
    accepted
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

fn lgbm_text(name: &str) -> String {
    std::fs::read_to_string(fixtures().join(name)).unwrap()
}

/// Replaces the value of `key=` in the first tree block.
fn set_tree0(text: &str, key: &str, value: &str) -> String {
    let start = text.find("Tree=0").unwrap();
    let at = start + text[start..].find(&format!("\n{key}=")).unwrap() + 1;
    let end = at + text[at..].find('\n').unwrap();
    format!("{}{key}={value}{}", &text[..at], &text[end..])
}

fn tree0_field(text: &str, key: &str) -> Vec<String> {
    let start = text.find("Tree=0").unwrap();
    let at = start + text[start..].find(&format!("\n{key}=")).unwrap() + key.len() + 2;
    let end = at + text[at..].find('\n').unwrap();
    text[at..end].split(' ').map(str::to_string).collect()
}

fn lgbm_err(text: &str) -> String {
    match lightgbm::read(text.as_bytes()) {
        Ok(_) => panic!("a malformed LightGBM model was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn lightgbm_child_out_of_range() {
    let text = lgbm_text("lgbm_binary.txt");
    let mut left = tree0_field(&text, "left_child");
    left[0] = "4096".into();
    let e = lgbm_err(&set_tree0(&text, "left_child", &left.join(" ")));
    assert!(e.contains("Tree=0") && e.contains("4096"), "{e}");
}

#[test]
fn lightgbm_cycle() {
    let text = lgbm_text("lgbm_binary.txt");
    let mut right = tree0_field(&text, "right_child");
    let mut left = tree0_field(&text, "left_child");
    // Node 1 points at itself: LightGBM 4.7 loops forever here.
    left[1] = "1".into();
    right[1] = "1".into();
    let text = set_tree0(&text, "left_child", &left.join(" "));
    let e = lgbm_err(&set_tree0(&text, "right_child", &right.join(" ")));
    assert!(e.contains("reached twice"), "{e}");
}

#[test]
fn lightgbm_mismatched_lengths() {
    let text = lgbm_text("lgbm_binary.txt");
    let mut th = tree0_field(&text, "threshold");
    th.pop();
    let e = lgbm_err(&set_tree0(&text, "threshold", &th.join(" ")));
    assert!(e.contains("threshold has"), "{e}");
}

#[test]
fn lightgbm_absurd_sizes() {
    let text = lgbm_text("lgbm_binary.txt");
    let e = lgbm_err(&set_tree0(&text, "num_leaves", "4000000000"));
    assert!(e.contains("num_leaves"), "{e}");
    let text = lgbm_text("lgbm_categorical.txt");
    let e = lgbm_err(&set_tree0(&text, "cat_boundaries", "0 99999999"));
    assert!(e.contains("cat_boundaries"), "{e}");
}

#[test]
fn lightgbm_truncations_and_flips_never_panic() {
    let bytes = lgbm_text("lgbm_categorical.txt").into_bytes();
    let step = (bytes.len() / 300).max(1);
    // A cut anywhere before `end of trees` (even between two trees) is refused.
    let end = String::from_utf8_lossy(&bytes)
        .find("end of trees")
        .unwrap();
    for cut in (0..end).step_by(step) {
        assert!(
            lightgbm::read(&bytes[..cut]).is_err(),
            "cut {cut} was accepted"
        );
    }
    flips(&bytes, 300, |b| match lightgbm::read(b) {
        Ok(e) => {
            let ewm = e.encode().unwrap();
            let m = edgewood_core::Model::open_validated(&ewm).unwrap();
            m.predict(&vec![f64::NAN; m.n_features()]).unwrap();
            true
        }
        Err(_) => false,
    });
}
