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

/// A tiny protobuf writer, to build ONNX files with one thing wrong.
mod pb {
    pub fn varint(mut v: u64, out: &mut Vec<u8>) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }
    pub fn bytes(n: u32, b: &[u8], out: &mut Vec<u8>) {
        varint(((n as u64) << 3) | 2, out);
        varint(b.len() as u64, out);
        out.extend_from_slice(b);
    }
    pub fn ints_attr(name: &str, v: &[i64]) -> Vec<u8> {
        let mut a = Vec::new();
        bytes(1, name.as_bytes(), &mut a);
        let mut packed = Vec::new();
        v.iter().for_each(|&x| varint(x as u64, &mut packed));
        bytes(8, &packed, &mut a);
        a
    }
    pub fn floats_attr(name: &str, v: &[f32]) -> Vec<u8> {
        let mut a = Vec::new();
        bytes(1, name.as_bytes(), &mut a);
        let packed: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        bytes(7, &packed, &mut a);
        a
    }
    pub fn strings_attr(name: &str, v: &[&str]) -> Vec<u8> {
        let mut a = Vec::new();
        bytes(1, name.as_bytes(), &mut a);
        v.iter().for_each(|s| bytes(9, s.as_bytes(), &mut a));
        a
    }
}

/// A one-split regressor `x0 <= 0.5 ? 1 : 2` as ONNX bytes, with `edit` applied to its
/// attributes (name → replacement) first.
fn onnx_regressor(edit: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut attrs = vec![
        ("nodes_treeids", pb::ints_attr("nodes_treeids", &[0, 0, 0])),
        ("nodes_nodeids", pb::ints_attr("nodes_nodeids", &[0, 1, 2])),
        (
            "nodes_featureids",
            pb::ints_attr("nodes_featureids", &[0, 0, 0]),
        ),
        (
            "nodes_values",
            pb::floats_attr("nodes_values", &[0.5, 0.0, 0.0]),
        ),
        (
            "nodes_modes",
            pb::strings_attr("nodes_modes", &["BRANCH_LEQ", "LEAF", "LEAF"]),
        ),
        (
            "nodes_truenodeids",
            pb::ints_attr("nodes_truenodeids", &[1, 0, 0]),
        ),
        (
            "nodes_falsenodeids",
            pb::ints_attr("nodes_falsenodeids", &[2, 0, 0]),
        ),
        ("target_treeids", pb::ints_attr("target_treeids", &[0, 0])),
        ("target_nodeids", pb::ints_attr("target_nodeids", &[1, 2])),
        ("target_ids", pb::ints_attr("target_ids", &[0, 0])),
        (
            "target_weights",
            pb::floats_attr("target_weights", &[1.0, 2.0]),
        ),
    ];
    for (name, value) in edit {
        attrs.iter_mut().find(|(n, _)| n == name).unwrap().1 = value.clone();
    }
    onnx_wrap(attrs.iter().map(|(_, a)| a))
}

/// A `TreeEnsembleRegressor` model with these encoded attributes.
fn onnx_wrap<'a>(attrs: impl Iterator<Item = &'a Vec<u8>>) -> Vec<u8> {
    let mut node = Vec::new();
    pb::bytes(4, b"TreeEnsembleRegressor", &mut node);
    pb::bytes(7, b"ai.onnx.ml", &mut node);
    for a in attrs {
        pb::bytes(5, a, &mut node);
    }
    let mut graph = Vec::new();
    pb::bytes(1, &node, &mut graph);
    let mut model = vec![0x08, 0x08];
    pb::bytes(7, &graph, &mut model);
    model
}

fn onnx_err(bytes: &[u8]) -> String {
    match edgewood_import::onnx::read(bytes) {
        Ok(_) => panic!("a malformed ONNX model was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn onnx_hand_built_model_predicts() {
    let e = edgewood_import::onnx::read(&onnx_regressor(&[])).unwrap();
    let ewm = e.encode().unwrap();
    let m = edgewood_core::Model::open_validated(&ewm).unwrap();
    assert_eq!(
        m.predict(&[0.5]).unwrap(),
        edgewood_core::Prediction::Value(1.0)
    );
    assert_eq!(
        m.predict(&[0.6]).unwrap(),
        edgewood_core::Prediction::Value(2.0)
    );
}

#[test]
fn onnx_child_out_of_range_cycle_and_lengths() {
    let e = onnx_err(&onnx_regressor(&[(
        "nodes_falsenodeids",
        pb::ints_attr("nodes_falsenodeids", &[9, 0, 0]),
    )]));
    assert!(e.contains("child 9 does not exist"), "{e}");
    let e = onnx_err(&onnx_regressor(&[(
        "nodes_modes",
        pb::strings_attr("nodes_modes", &["BRANCH_LEQ", "BRANCH_LEQ", "LEAF"]),
    )]));
    assert!(e.contains("cycle") || e.contains("reached twice"), "{e}");
    let e = onnx_err(&onnx_regressor(&[(
        "nodes_values",
        pb::floats_attr("nodes_values", &[0.5, 0.0]),
    )]));
    assert!(
        e.contains("nodes_values") && e.contains("2 entries for 3 nodes"),
        "{e}"
    );
}

/// One ONNX node: (id, mode, feature, value, true id, false id, tracks NaN).
type OnnxNode<'a> = (i64, &'a str, i64, f32, i64, i64, i64);

/// One tree from split nodes and `(id, weight)` leaves.
fn onnx_tree(splits: &[OnnxNode], leaves: &[(i64, f32)]) -> Vec<u8> {
    let mut n: Vec<OnnxNode> = splits.to_vec();
    n.extend(leaves.iter().map(|&(id, _)| (id, "LEAF", 0, 0.0, 0, 0, 0)));
    let col = |f: &dyn Fn(&OnnxNode) -> i64| -> Vec<i64> { n.iter().map(f).collect() };
    let modes: Vec<&str> = n.iter().map(|x| x.1).collect();
    let values: Vec<f32> = n.iter().map(|x| x.3).collect();
    let attrs = [
        pb::ints_attr("nodes_treeids", &vec![0; n.len()]),
        pb::ints_attr("nodes_nodeids", &col(&|x| x.0)),
        pb::ints_attr("nodes_featureids", &col(&|x| x.2)),
        pb::floats_attr("nodes_values", &values),
        pb::strings_attr("nodes_modes", &modes),
        pb::ints_attr("nodes_truenodeids", &col(&|x| x.4)),
        pb::ints_attr("nodes_falsenodeids", &col(&|x| x.5)),
        pb::ints_attr("nodes_missing_value_tracks_true", &col(&|x| x.6)),
        pb::ints_attr("target_treeids", &vec![0; leaves.len()]),
        pb::ints_attr(
            "target_nodeids",
            &leaves.iter().map(|l| l.0).collect::<Vec<_>>(),
        ),
        pb::ints_attr("target_ids", &vec![0; leaves.len()]),
        pb::floats_attr(
            "target_weights",
            &leaves.iter().map(|l| l.1).collect::<Vec<_>>(),
        ),
    ];
    onnx_wrap(attrs.iter())
}

fn onnx_predict(bytes: &[u8], rows: &[f64]) -> Vec<f64> {
    let e = edgewood_import::onnx::read(bytes).unwrap();
    let ewm = e.encode().unwrap();
    let m = edgewood_core::Model::open_validated(&ewm).unwrap();
    rows.iter()
        .map(|&x| match m.predict(&[x]).unwrap() {
            edgewood_core::Prediction::Value(v) => v,
            p => panic!("{p:?}"),
        })
        .collect()
}

/// ONNX Runtime's rules on one EQ and one NEQ node: `x == t` on the float32 input,
/// -0.0 equal to 0.0, NaN to the true side of EQ only when tracked, and always to the
/// true side of NEQ (`NaN != t`).
#[test]
fn onnx_eq_and_neq_follow_onnx_runtime() {
    let next_down = |x: f32| f32::from_bits(x.to_bits() - 1) as f64;
    let next_up = |x: f32| f32::from_bits(x.to_bits() + 1) as f64;
    let t = 0.1f32;
    let rows = [t as f64, 0.1, next_down(t), next_up(t), f64::NAN];
    for (tracks, nan) in [(0, 2.0), (1, 1.0)] {
        let eq = onnx_tree(
            &[(0, "BRANCH_EQ", 0, t, 1, 2, tracks)],
            &[(1, 1.0), (2, 2.0)],
        );
        assert_eq!(onnx_predict(&eq, &rows), [1.0, 1.0, 2.0, 2.0, nan]);
        let neq = onnx_tree(
            &[(0, "BRANCH_NEQ", 0, t, 1, 2, tracks)],
            &[(1, 1.0), (2, 2.0)],
        );
        assert_eq!(onnx_predict(&neq, &rows), [2.0, 2.0, 1.0, 1.0, 1.0]);
    }
    let zero = onnx_tree(&[(0, "BRANCH_EQ", 0, 0.0, 1, 2, 0)], &[(1, 1.0), (2, 2.0)]);
    let tiny = f32::from_bits(1) as f64;
    assert_eq!(
        onnx_predict(&zero, &[0.0, -0.0, tiny, -tiny]),
        [1.0, 1.0, 2.0, 2.0]
    );
}

/// EQ nodes whose "not equal" side holds the next EQ node with another true child
/// double the tree at each level: past the budget the file is refused, quickly.
#[test]
fn onnx_eq_duplication_is_bounded() {
    let depth = 40i64;
    let mut splits = Vec::new();
    let mut leaves = Vec::new();
    for i in 0..depth {
        // Node 2i tests x == i: true → leaf 2i+1, false → node 2i+2.
        splits.push((2 * i, "BRANCH_EQ", 0, i as f32, 2 * i + 1, 2 * i + 2, 0));
        leaves.push((2 * i + 1, i as f32));
    }
    leaves.push((2 * depth, -1.0));
    let bytes = onnx_tree(&splits, &leaves);
    let start = Instant::now();
    let e = onnx_err(&bytes);
    assert!(e.contains("BRANCH_EQ") && e.contains("refused"), "{e}");
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
    // A few levels fit the budget and predict as ONNX Runtime does.
    let small = onnx_tree(&splits[..3], &[(1, 0.0), (3, 1.0), (5, 2.0), (6, -1.0)]);
    assert_eq!(
        onnx_predict(&small, &[0.0, 1.0, 2.0, 3.0, 1.5, f64::NAN]),
        [0.0, 1.0, 2.0, -1.0, -1.0, -1.0]
    );
}

/// A chain of EQ nodes sharing its true child (onnxmltools' categorical split) is one
/// set test: no doubling, whatever its length. A chain that loops onto itself, and an
/// EQ node whose false side returns to itself, are cycles.
#[test]
fn onnx_eq_chain_and_cycles() {
    let n = 200i64;
    let mut splits: Vec<_> = (0..n)
        .map(|i| (i, "BRANCH_EQ", 0, (3 * i) as f32, n, i + 1, 0))
        .collect();
    splits.push((n + 1, "BRANCH_LEQ", 0, 10.0, n + 2, n + 3, 0));
    splits[n as usize - 1].5 = n + 1;
    let leaves = [(n, 1.0), (n + 2, 2.0), (n + 3, 4.0)];
    let got = onnx_predict(
        &onnx_tree(&splits, &leaves),
        &[0.0, 3.0, 597.0, 1.0, 600.0, 598.5],
    );
    assert_eq!(got, [1.0, 1.0, 1.0, 2.0, 4.0, 4.0]);
    // Node 1's false child is node 1 itself.
    let looped = onnx_tree(
        &[
            (0, "BRANCH_LEQ", 0, 0.5, 1, 2, 0),
            (1, "BRANCH_EQ", 0, 2.0, 2, 1, 0),
        ],
        &[(2, 1.0)],
    );
    let e = onnx_err(&looped);
    assert!(e.contains("cycle"), "{e}");
    // Nodes 1 → 2 → 1, through an EQ chain and a LEQ split.
    let looped = onnx_tree(
        &[
            (0, "BRANCH_EQ", 0, 1.0, 3, 1, 0),
            (1, "BRANCH_EQ", 0, 2.0, 4, 2, 0),
            (2, "BRANCH_LEQ", 0, 2.0, 1, 3, 0),
        ],
        &[(3, 1.0), (4, 2.0)],
    );
    let e = onnx_err(&looped);
    assert!(e.contains("cycle"), "{e}");
}

#[test]
fn onnx_truncations_and_flips_never_panic() {
    let bytes = std::fs::read(fixtures().join("rf_iris_ml3.onnx")).unwrap();
    let step = (bytes.len() / 300).max(1);
    // Every cut inside the graph (the model's bulk) is refused.
    for cut in (0..bytes.len() * 9 / 10).step_by(step) {
        let e = onnx_err(&bytes[..cut]);
        assert!(!e.is_empty());
    }
    let mut huge = onnx_regressor(&[]);
    // Claim a 2^62-byte graph: refused before anything is allocated.
    huge.truncate(2);
    pb::varint((7 << 3) | 2, &mut huge);
    pb::varint(1 << 62, &mut huge);
    assert!(onnx_err(&huge).contains("truncated"));
    flips(&bytes, 200, |b| match edgewood_import::onnx::read(b) {
        Ok(e) => {
            let ewm = e.encode().unwrap();
            let m = edgewood_core::Model::open_validated(&ewm).unwrap();
            m.predict(&vec![1.0; m.n_features()]).unwrap();
            true
        }
        Err(_) => false,
    });
}

/// The `skl_hgb_categorical` joblib file with one numpy array's bytes rewritten in
/// place. joblib writes each array's raw bytes right into the stream, so the array is
/// found by its bytes.
mod hgb {
    use edgewood_import::pickle::{numpy, run, Limits, Pickle, Value};
    use edgewood_import::{import_bytes, ImportOptions};

    pub fn bytes() -> Vec<u8> {
        std::fs::read(crate::common::fixtures().join("skl_hgb_categorical.joblib")).unwrap()
    }

    pub fn pickle(b: &[u8]) -> Pickle {
        run(b, true, Limits::default()).unwrap()
    }

    /// The raw bytes of the array at `path` (attribute names and list indices).
    pub fn array_bytes(p: &Pickle, path: &[&str]) -> Vec<u8> {
        let mut id = p.root;
        for key in path {
            id = match key.parse::<usize>() {
                Ok(i) => p.as_seq(id).unwrap()[i],
                Err(_) => p.attr(id, key).unwrap_or_else(|| panic!("no {key}")),
            };
        }
        assert!(
            matches!(p.get(id), Value::Array(_)),
            "{path:?} is not a raw array"
        );
        numpy::array(p, id).unwrap().bytes().to_vec()
    }

    /// Where the `nth` occurrence of `needle` starts in `hay`.
    pub fn find(hay: &[u8], needle: &[u8], nth: usize) -> usize {
        hay.windows(needle.len())
            .enumerate()
            .filter(|(_, w)| *w == needle)
            .nth(nth)
            .expect("bytes not found in the file")
            .0
    }

    pub fn err(b: &[u8]) -> String {
        match import_bytes(b, &ImportOptions::default()) {
            Ok(_) => panic!("a corrupt model imported"),
            Err(e) => e.to_string(),
        }
    }

    /// The first categorical node of the first tree: (byte offset of its record in the
    /// file, record size, offsets of fields `feature_idx`, `bitset_idx`).
    pub fn first_categorical_node(b: &[u8]) -> (usize, usize, usize, usize) {
        let p = pickle(b);
        let nodes_id = {
            let preds = p.attr(p.root, "_predictors").unwrap();
            let first = p.as_seq(p.as_seq(preds).unwrap()[0]).unwrap()[0];
            p.attr(first, "nodes").unwrap()
        };
        let a = numpy::array(&p, nodes_id).unwrap();
        let field = |n: &str| a.dtype.field(n).unwrap().offset;
        let size = a.dtype.itemsize;
        let raw = a.bytes();
        let cat = a.dtype.field("is_categorical").unwrap();
        let leaf = a.dtype.field("is_leaf").unwrap();
        let i = (0..a.len())
            .find(|&i| raw[i * size + cat.offset] != 0 && raw[i * size + leaf.offset] == 0)
            .expect("the first tree has a categorical split");
        let start = find(b, raw, 0);
        (
            start + i * size,
            size,
            field("feature_idx"),
            field("bitset_idx"),
        )
    }
}

#[test]
fn hgb_categorical_bitset_index_out_of_range() {
    let mut b = hgb::bytes();
    let (at, _, _, bitset) = hgb::first_categorical_node(&b);
    b[at + bitset..at + bitset + 4].copy_from_slice(&1000u32.to_le_bytes());
    let e = hgb::err(&b);
    assert!(e.contains("bitset_idx 1000 of"), "{e}");
}

#[test]
fn hgb_categorical_split_on_a_numerical_feature() {
    let mut b = hgb::bytes();
    let (at, _, feature, _) = hgb::first_categorical_node(&b);
    // Re-ordered column 4 is a numerical one (the two categorical columns come first).
    b[at + feature..at + feature + 8].copy_from_slice(&4i64.to_le_bytes());
    let e = hgb::err(&b);
    assert!(
        e.contains("categorical split on numerical feature 4"),
        "{e}"
    );
}

#[test]
fn hgb_categorical_known_code_beyond_the_encoder_categories() {
    let mut b = hgb::bytes();
    let p = hgb::pickle(&b);
    let known = hgb::array_bytes(&p, &["_bin_mapper", "known_categories", "0"]);
    // The same bytes also start the encoder's categories_[0] and are the bin mapper's
    // bin_thresholds_[0]: take the first copy after the attribute's name.
    let key = hgb::find(&b, b"known_categories", 0);
    let at = key + hgb::find(&b[key..], &known, 0);
    b[at + 8..at + 16].copy_from_slice(&300.0f64.to_le_bytes());
    let e = hgb::err(&b);
    assert!(
        e.contains("known_categories[0]") && e.contains("code 300 is not one of the 12"),
        "{e}"
    );
}

#[test]
fn hgb_categorical_fractional_or_negative_category_values() {
    let clean = hgb::bytes();
    let p = hgb::pickle(&clean);
    let enc = hgb::array_bytes(
        &p,
        &[
            "_preprocessor",
            "transformers_",
            "0",
            "1",
            "categories_",
            "0",
        ],
    );
    let at = hgb::find(&clean, &enc, 0);
    for (bad, shown) in [
        (2.5f64, "2.5"),
        (-1.0, "-1.0"),
        (1e30, "1e30"),
        (f64::INFINITY, "inf"),
    ] {
        let mut b = clean.clone();
        b[at + 16..at + 24].copy_from_slice(&bad.to_le_bytes());
        let e = hgb::err(&b);
        assert!(
            e.contains("categories_[0]")
                && e.contains(&format!("category {shown} is not an integer")),
            "{bad}: {e}"
        );
    }
    // Out of order (a duplicate): codes would no longer name one value each.
    let mut b = clean.clone();
    b[at + 16..at + 24].copy_from_slice(&1.0f64.to_le_bytes());
    assert!(hgb::err(&b).contains("not strictly increasing"));
}

#[test]
fn hgb_categorical_byte_flips_never_panic() {
    let b = hgb::bytes();
    let opts = edgewood_import::ImportOptions::default();
    flips(&b, 300, |m| match edgewood_import::import_bytes(m, &opts) {
        Ok(e) => {
            let bytes = e.encode().unwrap();
            let model = edgewood_core::Model::open_validated(&bytes).unwrap();
            model.predict(&vec![f64::NAN; model.n_features()]).unwrap();
            model.predict(&vec![-0.5; model.n_features()]).unwrap();
            true
        }
        Err(_) => false,
    });
}
