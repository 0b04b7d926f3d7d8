//! Any byte string is safe to open: an error, or a model whose predictions end.

use edgewood_core::{
    Aggregation, Comparison, Ensemble, Feature, FormatError, Model, Node, PreparedModel, Task, Tree,
};
use proptest::prelude::*;

/// A small classifier used as the seed for corruption.
pub fn sample_ensemble() -> Ensemble {
    let classes = vec!["a".to_string(), "b".to_string(), "c".to_string()];
    Ensemble {
        features: vec![
            Feature::named("x"),
            Feature {
                allow_missing: true,
                ..Feature::named("y")
            },
        ],
        task: Task::Classification {
            classes,
            integer_labels: false,
        },
        aggregation: Aggregation::Average,
        comparison: Comparison::F32LessEqual,
        leaf_width: 3,
        trees: vec![
            Tree {
                stats: None,
                output: 0,
                nodes: vec![
                    Node::Split {
                        feature: 0,
                        threshold: 2.5,
                        missing_left: true,
                        left: 1,
                        right: 2,
                    },
                    Node::Leaf(vec![1.0, 0.0, 0.0]),
                    Node::Split {
                        feature: 1,
                        threshold: 0.75,
                        missing_left: false,
                        left: 3,
                        right: 4,
                    },
                    Node::Leaf(vec![0.5, 0.5, 0.0]),
                    Node::Leaf(vec![0.0, 0.0, 1.0]),
                ],
            },
            Tree {
                stats: None,
                output: 0,
                nodes: vec![Node::Leaf(vec![0.5, 0.5, 0.0])],
            },
        ],
        source: "sample".into(),
    }
}

/// Opens, validates and predicts; must never panic. Returns whether it opened.
fn exercise(bytes: &[u8]) -> bool {
    let Ok(model) = Model::open(bytes) else {
        return false;
    };
    let _ = model.validate();
    let _ = model.max_depth();
    for i in 0..model.n_features().min(8) {
        let _ = (
            model.feature_name(i),
            model.valid_range(i),
            model.train_range(i),
        );
    }
    for i in 0..model.n_classes().min(8) {
        let _ = model.class_label(i);
    }
    // Predictions on a corrupt model may fail but must end.
    if model.n_features() <= 1024 && model.prediction_len() <= 1024 {
        let mut out = vec![0.0; model.prediction_len()];
        for row in [
            vec![0.0; model.n_features()],
            vec![f64::NAN; model.n_features()],
            vec![1e9; model.n_features()],
        ] {
            let _ = model.predict_into(&row, &mut out);
        }
        // Preparing decodes every tree: an error or a model that predicts.
        if let Ok(prepared) = PreparedModel::new(model) {
            let rows = [0.0, f64::NAN, 1e9].repeat(model.n_features() * 7);
            let mut batch =
                vec![0.0; rows.len() / model.n_features().max(1) * model.prediction_len()];
            let _ = prepared.predict_batch(&rows, &mut batch);
            let _ = prepared.predict_into(&rows[..model.n_features()], &mut out);
        }
    }
    true
}

#[test]
fn every_truncation_is_refused() {
    let bytes = sample_ensemble().encode().unwrap();
    for len in 0..bytes.len() {
        assert!(
            Model::open(&bytes[..len]).is_err(),
            "a {len}-byte prefix opened"
        );
    }
    assert!(matches!(
        Model::open(b"not a model"),
        Err(FormatError::NotEwm)
    ));
}

#[test]
fn every_single_byte_flip_is_safe() {
    let bytes = sample_ensemble().encode().unwrap();
    for at in 0..bytes.len() {
        for bit in 0..8 {
            let mut b = bytes.clone();
            b[at] ^= 1 << bit;
            exercise(&b);
        }
    }
}

#[test]
fn a_right_child_pointing_backwards_is_caught() {
    // Corrupt the root's child field so that a right split points at itself.
    let bytes = sample_ensemble().encode().unwrap();
    let model = Model::open(&bytes).unwrap();
    let nodes_at = u32::from_le_bytes(bytes[64..68].try_into().unwrap()) as usize;
    let mut b = bytes.clone();
    // Node 0: left is a leaf, right is a split (index 1). Mark the left as a split too,
    // so that the child field (leaf 0) becomes the right split index 0 = itself.
    let flags = u16::from_le_bytes(b[nodes_at + 2..nodes_at + 4].try_into().unwrap());
    b[nodes_at + 2..nodes_at + 4].copy_from_slice(&(flags & !2).to_le_bytes());
    let bad = Model::open(&b).unwrap();
    assert!(bad.validate().is_err());
    assert!(bad.predict(&[9.0, 0.0]).is_err());
    assert!(model.validate().is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_are_safe(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        exercise(&bytes);
    }

    #[test]
    fn arbitrary_bodies_behind_a_valid_header_are_safe(tail in prop::collection::vec(any::<u8>(), 0..1024), seed in any::<u64>()) {
        let good = sample_ensemble().encode().unwrap();
        let mut b = good[..96].to_vec();
        b.extend_from_slice(&tail);
        b.resize(good.len().max(b.len()), (seed & 0xff) as u8);
        exercise(&b);
    }

    #[test]
    fn multiple_random_corruptions_are_safe(flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16)) {
        let mut b = sample_ensemble().encode().unwrap();
        let len = b.len();
        for (i, v) in flips {
            b[i.index(len)] = v;
        }
        exercise(&b);
    }
}

/// Issue 13 item 4: an arena that is not one tree from its root is refused when
/// encoded: the root pointing at itself, a node reached twice, and a split the root
/// does not reach (a detached cycle). A leaf nothing reaches is allowed (XGBoost keeps
/// the leaves its pruning deleted).
#[test]
fn encode_refuses_cycles_shared_and_detached_splits() {
    let split = |left, right| Node::Split {
        feature: 0,
        threshold: 1.0,
        missing_left: false,
        left,
        right,
    };
    let leaf = || Node::Leaf(vec![1.0, 0.0, 0.0]);
    let with_tree = |nodes: Vec<Node>| {
        let mut e = sample_ensemble();
        e.trees[0].nodes = nodes;
        e.encode()
    };
    let cases = [
        (vec![split(0, 1), leaf()], "node 0 is reached twice"),
        (vec![split(1, 1), leaf()], "node 1 is reached twice"),
        (
            vec![leaf(), split(2, 2), split(1, 1)],
            "split node 1 is not reached from the root",
        ),
        (
            vec![split(1, 2), leaf(), leaf(), split(3, 4), leaf()],
            "split node 3 is not reached from the root",
        ),
    ];
    for (nodes, want) in cases {
        let e = with_tree(nodes).unwrap_err().to_string();
        assert!(e.contains(want), "{e}");
    }
    assert!(with_tree(vec![split(1, 2), leaf(), leaf(), leaf()]).is_ok());
}

/// Issue 13 item 2: a forest fitted on one class encodes and predicts that class with
/// probability 1; a boosted model needs two classes.
#[test]
fn one_class_forest_encodes_boosting_does_not() {
    let mut e = sample_ensemble();
    e.task = Task::Classification {
        classes: vec!["only".into()],
        integer_labels: false,
    };
    e.leaf_width = 1;
    e.trees = vec![Tree {
        stats: None,
        output: 0,
        nodes: vec![Node::Leaf(vec![1.0])],
    }];
    let ewm = e.encode().unwrap();
    let m = Model::open_validated(&ewm).unwrap();
    assert_eq!(m.n_classes(), 1);
    let mut out = vec![0.0; m.prediction_len()];
    m.predict_into(&[0.5, f64::NAN], &mut out).unwrap();
    assert_eq!(out, [1.0]);
    e.aggregation = Aggregation::Sum {
        base: vec![0.0],
        link: edgewood_core::Link::Identity,
        accumulate_f32: false,
        divide_by_rounds: false,
    };
    assert!(e.encode().unwrap_err().to_string().contains("classes: 1"));
}
