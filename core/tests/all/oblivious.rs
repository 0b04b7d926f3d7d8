//! The oblivious walk (a bit index per tree) against the naive evaluator and the
//! model's own walk: random ensembles of oblivious trees of every kind the core
//! supports, consecutive trees sharing levels as a MultiClass model's do; and the
//! shapes that must not take it.

use edgewood_core::{Ensemble, Model, Node, PreparedModel, Tree, VectorIsa};
use proptest::prelude::*;

use crate::reference::{ensemble_strategy, evaluate, row_strategy, same_bits, threshold};

/// One level of an oblivious tree: feature, threshold, missing goes left.
type Level = (u32, f64, bool);

/// An oblivious tree with `levels` (root first) and `2^depth` leaves, in pre-order
/// with each split's left child next, as the importers write them.
fn oblivious_tree(levels: &[Level], leaves: &[Vec<f64>], output: u32) -> Tree {
    fn emit(levels: &[Level], leaves: &[Vec<f64>], nodes: &mut Vec<Node>) -> u32 {
        let id = nodes.len() as u32;
        let Some((&(feature, threshold, missing_left), below)) = levels.split_first() else {
            nodes.push(Node::Leaf(leaves[0].clone()));
            return id;
        };
        nodes.push(Node::Leaf(vec![]));
        let half = leaves.len() / 2;
        let left = emit(below, &leaves[..half], nodes);
        let right = emit(below, &leaves[half..], nodes);
        nodes[id as usize] = Node::Split {
            feature,
            threshold,
            missing_left,
            left,
            right,
        };
        id
    }
    let mut nodes = Vec::new();
    emit(levels, leaves, &mut nodes);
    Tree {
        nodes,
        output,
        stats: None,
    }
}

/// An ensemble of `ensemble_strategy`'s kinds whose trees are all oblivious, depth 0
/// to 7; about a third of the trees take the previous tree's levels.
fn oblivious_ensemble() -> impl Strategy<Value = Ensemble> {
    ensemble_strategy().prop_flat_map(|e| {
        let nf = e.features.len() as u32;
        let width = e.leaf_width;
        let outputs = if width == 1 {
            e.aggregation_outputs()
        } else {
            1
        };
        let level = (0..nf, threshold(), any::<bool>());
        let tree = (
            prop::collection::vec(level, 0..8),
            0..outputs,
            any::<u8>(),
            any::<u64>(),
        );
        (Just(e), prop::collection::vec(tree, 1..12)).prop_map(move |(mut e, trees)| {
            let mut previous: Vec<Level> = Vec::new();
            e.trees = trees
                .into_iter()
                .map(|(levels, output, share, seed)| {
                    let levels = if share % 3 == 0 && !previous.is_empty() {
                        previous.clone()
                    } else {
                        levels
                    };
                    let leaves: Vec<Vec<f64>> = (0..1u64 << levels.len())
                        .map(|i| {
                            (0..width as u64)
                                .map(|k| {
                                    let h =
                                        (seed ^ (i * 31 + k)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                                    (h >> 11) as f64 / (1u64 << 53) as f64 * 20.0 - 10.0
                                })
                                .collect()
                        })
                        .collect();
                    previous = levels.clone();
                    oblivious_tree(&levels, &leaves, output)
                })
                .collect();
            e
        })
    })
}

/// The vector paths this CPU runs, the portable one first. Says so once when it
/// runs only some: those tests then check fewer paths, and pass.
pub fn vector_isas() -> Vec<VectorIsa> {
    let detected = VectorIsa::detected();
    static SAID: std::sync::Once = std::sync::Once::new();
    if detected < VectorIsa::ALL[VectorIsa::ALL.len() - 1] {
        SAID.call_once(|| eprintln!("this CPU runs the vector paths up to {detected:?} only"));
    }
    VectorIsa::ALL
        .into_iter()
        .filter(|&isa| isa <= detected)
        .collect()
}

/// The number of sums a single-value leaf can go to.
pub trait Outputs {
    fn aggregation_outputs(&self) -> u32;
}

impl Outputs for Ensemble {
    fn aggregation_outputs(&self) -> u32 {
        match &self.aggregation {
            edgewood_core::Aggregation::Sum { base, .. } => base.len() as u32,
            edgewood_core::Aggregation::Average => 1,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn oblivious_walk_matches_reference_and_model(
        ensemble in oblivious_ensemble(),
        rows in prop::collection::vec(row_strategy(5), 1..20),
    ) {
        let nf = ensemble.features.len();
        let rows: Vec<Vec<f64>> = rows.into_iter().map(|r| r[..nf].to_vec()).collect();
        let bytes = ensemble.encode().unwrap();
        let model = Model::open_validated(&bytes).unwrap();
        let prepared = PreparedModel::new(model).unwrap();
        // CatBoost compares in float32; float64 models keep the node walk.
        let narrow = ensemble.comparison == edgewood_core::Comparison::F32LessEqual;
        prop_assert_eq!(prepared.is_oblivious(), narrow);
        let len = model.prediction_len();
        let (mut got, mut own) = (vec![0.0; len], vec![0.0; len]);
        for row in &rows {
            prepared.predict_into(row, &mut got).unwrap();
            model.predict_into(row, &mut own).unwrap();
            let expected = evaluate(&ensemble, row);
            prop_assert!(same_bits(&got, &expected), "row {:?}: oblivious {:?} reference {:?}", row, got, expected);
            prop_assert!(same_bits(&got, &own), "row {:?}: oblivious {:?} model {:?}", row, got, own);
        }
        // Full blocks of 128 rows and a ragged end.
        let many: Vec<Vec<f64>> = rows.iter().cycle().take(rows.len() * 13 + 300).cloned().collect();
        // Every vector path this CPU runs, each forced in turn.
        for isa in vector_isas() {
            let prepared = prepared.clone().with_vector_isa(isa);
            prop_assert_eq!(prepared.vector_isa(), isa);
            let mut batch = vec![0.0; many.len() * len];
            prepared.predict_batch(&many.concat(), &mut batch).unwrap();
            for (row, chunk) in many.iter().zip(batch.chunks(len)) {
                prop_assert!(same_bits(chunk, &evaluate(&ensemble, row)), "{:?} row {:?}: batch {:?}", isa, row, chunk);
            }
        }
    }
}

/// A depth-2 tree on features 0 then 1, whose right subtree is changed by `change`.
fn two_levels(change: impl FnOnce(&mut Vec<Node>)) -> Ensemble {
    let levels = [(0, 0.5, false), (1, 1.5, true)];
    let leaves = [vec![1.0], vec![2.0], vec![3.0], vec![4.0]];
    let mut tree = oblivious_tree(&levels, &leaves, 0);
    change(&mut tree.nodes);
    Ensemble {
        features: vec![
            edgewood_core::Feature::named("a"),
            edgewood_core::Feature::named("b"),
        ],
        task: edgewood_core::Task::Regression,
        aggregation: edgewood_core::Aggregation::Average,
        comparison: edgewood_core::Comparison::F32LessEqual,
        leaf_width: 1,
        trees: vec![tree],
        source: "two levels".into(),
    }
}

fn takes_oblivious_walk(e: &Ensemble) -> bool {
    let bytes = e.encode().unwrap();
    PreparedModel::new(Model::open_validated(&bytes).unwrap())
        .unwrap()
        .is_oblivious()
}

#[test]
fn only_trees_with_one_split_per_level_take_the_oblivious_walk() {
    assert!(takes_oblivious_walk(&two_levels(|_| {})));
    // Nodes: 0 root, 1 left split, 2-3 its leaves, 4 right split, 5-6 its leaves.
    let other_threshold = two_levels(|n| {
        if let Node::Split { threshold, .. } = &mut n[4] {
            *threshold = 1.25;
        }
    });
    let other_feature = two_levels(|n| {
        if let Node::Split { feature, .. } = &mut n[4] {
            *feature = 0;
        }
    });
    let other_missing = two_levels(|n| {
        if let Node::Split { missing_left, .. } = &mut n[4] {
            *missing_left = false;
        }
    });
    // The right subtree one level short: a leaf where a split should be.
    let lopsided = two_levels(|n| {
        n[4] = Node::Leaf(vec![5.0]);
        n.truncate(5);
    });
    for (name, e) in [
        ("another threshold", other_threshold),
        ("another feature", other_feature),
        ("another missing direction", other_missing),
        ("a short branch", lopsided),
    ] {
        assert!(!takes_oblivious_walk(&e), "{name}");
        let bytes = e.encode().unwrap();
        let model = Model::open_validated(&bytes).unwrap();
        let prepared = PreparedModel::new(model).unwrap();
        for x in [
            [0.0, 0.0],
            [0.0, 2.0],
            [1.0, 0.0],
            [1.0, 2.0],
            [f64::NAN, f64::NAN],
        ] {
            let (mut a, mut b) = ([0.0], [0.0]);
            model.predict_into(&x, &mut a).unwrap();
            prepared.predict_into(&x, &mut b).unwrap();
            assert_eq!(a[0].to_bits(), b[0].to_bits(), "{name}: {x:?}");
        }
    }
}
