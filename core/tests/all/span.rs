//! The span walk (the node walk of big batches) on lopsided trees, which it walks in
//! rounds that set aside the rows already on a leaf: every kind of ensemble the core
//! supports, float32 and float64, against the reference evaluator, through every
//! vector path this CPU runs (with the complete tops where they are taken, and
//! without) and the node walk; and the rule that picks the trees.

use edgewood_core::{Aggregation, Comparison, Ensemble, Model, Node, PreparedModel, Tree};
use proptest::prelude::*;

use crate::complete::{batches_match_reference, tree, Dice};
use crate::oblivious::Outputs;
use crate::reference::{ensemble_strategy, row_strategy, threshold};

/// The trees' leaves lie at least this many levels apart for the rounds (the
/// documented rule of `PreparedModel::compacted_trees`).
const SPREAD: u32 = 6;

/// A chain `depth` splits long: each split has a leaf on one side (picked by the
/// dice) and the rest of the chain on the other, LightGBM's most lopsided shape.
fn chain(
    depth: u32,
    nf: u32,
    width: usize,
    output: u32,
    thresholds: &[f64],
    dice: &mut Dice,
) -> Tree {
    let leaf = |dice: &mut Dice| {
        Node::Leaf(
            (0..width)
                .map(|_| (dice.next() >> 11) as f64 / (1u64 << 53) as f64 * 20.0 - 10.0)
                .collect(),
        )
    };
    let mut nodes = Vec::new();
    for level in 0..depth {
        let id = nodes.len() as u32;
        let (leaf_id, rest) = (id + 1, id + 2);
        let (left, right) = if dice.below(2) == 0 {
            (leaf_id, rest)
        } else {
            (rest, leaf_id)
        };
        nodes.push(Node::Split {
            feature: dice.below(nf as u64) as u32,
            threshold: thresholds[dice.below(thresholds.len() as u64) as usize],
            missing_left: dice.below(2) == 0,
            left,
            right,
        });
        nodes.push(leaf(dice));
        if level + 1 == depth {
            nodes.push(leaf(dice));
        }
    }
    if depth == 0 {
        nodes.push(leaf(dice));
    }
    // Each split's leaf is the next record and the rest of the chain the one after,
    // whichever side each is on: the arena takes children at any index, and a leaf on
    // the right tests the layout's reordering.
    Tree {
        nodes,
        output,
        stats: None,
    }
}

/// The depths of the nearest and the deepest leaf of the subtree at `i`.
fn leaf_depths(nodes: &[Node], i: u32) -> (u32, u32) {
    match &nodes[i as usize] {
        Node::Split { left, right, .. } => {
            let (l, r) = (leaf_depths(nodes, *left), leaf_depths(nodes, *right));
            (1 + l.0.min(r.0), 1 + l.1.max(r.1))
        }
        _ => (0, 0),
    }
}

/// `ensemble_strategy`'s kinds with a chain first (8 to 14 splits: lopsided) and up
/// to five trees of depth 0 to 12 whose paths end early with odds 1 in 2 to 5 at
/// each level (lopsided or not, by the dice), or complete to depth 6 (even).
fn lopsided_ensemble() -> impl Strategy<Value = Ensemble> {
    ensemble_strategy().prop_flat_map(|e| {
        let outputs = if e.leaf_width == 1 {
            e.aggregation_outputs()
        } else {
            1
        };
        let trees = prop::collection::vec((0u32..=12, 0u64..6, 0..outputs, any::<u64>()), 0..6);
        let thresholds = prop::collection::vec(threshold(), 1..12);
        (Just(e), 8u32..=14, trees, thresholds, any::<u64>()).prop_map(
            move |(mut e, length, trees, thresholds, seed)| {
                let (nf, width) = (e.features.len() as u32, e.leaf_width);
                let mut dice = Dice(seed);
                e.trees = vec![chain(length, nf, width, 0, &thresholds, &mut dice)];
                for (depth, early, output, seed) in trees {
                    let mut dice = Dice(seed);
                    let (depth, early) = if early < 2 {
                        (depth.min(6), 0)
                    } else {
                        (depth, early)
                    };
                    e.trees.push(tree(
                        depth,
                        early,
                        nf,
                        width,
                        output,
                        &thresholds,
                        &mut dice,
                    ));
                }
                e
            },
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn lopsided_trees_walk_in_rounds_bit_for_bit(
        ensemble in lopsided_ensemble(),
        rows in prop::collection::vec(row_strategy(5), 1..12),
    ) {
        let nf = ensemble.features.len();
        let rows: Vec<Vec<f64>> = rows.into_iter().map(|r| r[..nf].to_vec()).collect();
        let bytes = ensemble.encode().unwrap();
        let model = Model::open_validated(&bytes).unwrap();
        let prepared = PreparedModel::new(model).unwrap();
        let nodes = PreparedModel::new_node_walk(model).unwrap();
        // The span walk is there unless float64 thresholds' leaves add in float32
        // (no library writes those) or another walk takes the whole model.
        let spanned = !(ensemble.comparison == Comparison::F64LessEqual
            && matches!(ensemble.aggregation, Aggregation::Sum { accumulate_f32: true, .. }));
        let lopsided = ensemble
            .trees
            .iter()
            .filter(|t| {
                let (near, deep) = leaf_depths(&t.nodes, 0);
                deep - near >= SPREAD
            })
            .count();
        prop_assert!(lopsided >= 1, "the chain is lopsided");
        prop_assert_eq!(nodes.compacted_trees(), if spanned { lopsided } else { 0 });
        if !prepared.is_intervals() && !prepared.is_complete() {
            prop_assert_eq!(prepared.compacted_trees(), nodes.compacted_trees());
        }
        // 600 rows and more (big batches: the span walk), a ragged last block.
        let many: Vec<Vec<f64>> = rows.iter().cycle().take(rows.len() * 13 + 600).cloned().collect();
        batches_match_reference(&ensemble, &prepared, nodes, &many)?;
    }
}
