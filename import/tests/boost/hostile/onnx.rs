//! Hand-built ONNX tree ensembles with one thing wrong (lengths, children, cycles), the
//! EQ/NEQ rules as ONNX Runtime applies them, the expansion budget, truncations and flips.

use std::time::{Duration, Instant};

use super::flips;
use crate::common::fixtures;

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

/// Issue 13 item 4: the root pointing at itself (`nodes_falsenodeids[0] = 0`) used to
/// leave node 2 looking like the root, and the model predicted that leaf for every row.
/// A second root and a detached cycle are refused the same way.
#[test]
fn onnx_root_self_loop_second_root_and_detached_cycle() {
    let e = onnx_err(&onnx_regressor(&[(
        "nodes_falsenodeids",
        pb::ints_attr("nodes_falsenodeids", &[0, 0, 0]),
    )]));
    assert!(
        e.contains("tree 0: node 0 is not reached from the root, node 2"),
        "{e}"
    );
    let e = onnx_err(&onnx_tree(
        &[
            (0, "BRANCH_LEQ", 0, 0.5, 1, 2, 0),
            (3, "BRANCH_LEQ", 0, 0.5, 1, 2, 0),
        ],
        &[(1, 1.0), (2, 2.0)],
    ));
    assert!(e.contains("is not reached from the root"), "{e}");
    let e = onnx_err(&onnx_tree(
        &[
            (0, "BRANCH_LEQ", 0, 0.5, 1, 2, 0),
            (3, "BRANCH_LEQ", 0, 0.5, 4, 4, 0),
            (4, "BRANCH_EQ", 0, 0.5, 3, 3, 0),
        ],
        &[(1, 1.0), (2, 2.0)],
    ));
    assert!(
        e.contains("node 3 is not reached from the root, node 0"),
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
