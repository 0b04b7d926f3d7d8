//! The complete-tree walk (trees filled out to full depth, 16 or 8 rows per AVX-512
//! register) against the reference evaluator and the node walk: random ensembles of
//! mostly full trees of every kind the core supports, float32 and float64, depth 0
//! to 12 (past both limits), with leaves that end paths early at any level; and the
//! shapes that must not take it.

use edgewood_core::{
    Aggregation, Comparison, Ensemble, Model, Node, PreparedModel, Tree, VectorIsa,
};
use proptest::prelude::*;

use crate::oblivious::{vector_isas, Outputs};
use crate::reference::{ensemble_strategy, evaluate, row_strategy, same_bits, threshold};

/// SplitMix64: the tree shapes' dice, from one proptest seed per tree.
pub struct Dice(pub u64);

impl Dice {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A tree of `depth` whose paths end early with odds `1 / early` at every level
/// (`early == 0`: never), in pre-order with each split's left child next, as the
/// importers write them.
pub fn tree(
    depth: u32,
    early: u64,
    nf: u32,
    width: usize,
    output: u32,
    thresholds: &[f64],
    dice: &mut Dice,
) -> Tree {
    fn emit(
        depth: u32,
        early: u64,
        c: &mut (u32, usize, &[f64], &mut Dice),
        nodes: &mut Vec<Node>,
    ) -> u32 {
        let id = nodes.len() as u32;
        let (nf, width, thresholds, dice) = c;
        if depth == 0 || (early > 0 && dice.below(early) == 0) {
            let leaf = (0..*width)
                .map(|_| (dice.next() >> 11) as f64 / (1u64 << 53) as f64 * 20.0 - 10.0)
                .collect();
            nodes.push(Node::Leaf(leaf));
            return id;
        }
        let feature = dice.below(*nf as u64) as u32;
        let threshold = thresholds[dice.below(thresholds.len() as u64) as usize];
        let missing_left = dice.below(2) == 0;
        nodes.push(Node::Leaf(vec![]));
        let left = emit(depth - 1, early, c, nodes);
        let right = emit(depth - 1, early, c, nodes);
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
    emit(depth, early, &mut (nf, width, thresholds, dice), &mut nodes);
    Tree {
        nodes,
        output,
        stats: None,
    }
}

/// An ensemble of `ensemble_strategy`'s kinds whose first tree is complete at depth 7
/// (128 leaves: too many for the interval walk) and whose others are 0 to 12 deep,
/// some complete, some with paths that end early.
fn mostly_full_ensemble() -> impl Strategy<Value = Ensemble> {
    ensemble_strategy().prop_flat_map(|e| {
        let outputs = if e.leaf_width == 1 {
            e.aggregation_outputs()
        } else {
            1
        };
        let trees = prop::collection::vec((0u32..=12, 0u64..40, 0..outputs, any::<u64>()), 0..6);
        let thresholds = prop::collection::vec(threshold(), 1..12);
        (Just(e), trees, thresholds, any::<u64>()).prop_map(
            move |(mut e, trees, thresholds, seed)| {
                let (nf, width) = (e.features.len() as u32, e.leaf_width);
                let mut dice = Dice(seed);
                e.trees = vec![tree(7, 0, nf, width, 0, &thresholds, &mut dice)];
                for (depth, early, output, seed) in trees {
                    let mut dice = Dice(seed);
                    // Odds of 1 in 8 to 40 that a path ends at each level, or none.
                    let early = if early < 8 { 0 } else { early };
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

/// The depth of the subtree at `i`.
fn depth(nodes: &[Node], i: u32) -> u32 {
    match &nodes[i as usize] {
        Node::Split { left, right, .. } => 1 + depth(nodes, *left).max(depth(nodes, *right)),
        _ => 0,
    }
}

/// Whether the walk takes `e` (given AVX-512 and single-value leaves), by its rule
/// as the module documents it: every tree at most 8 deep (float64 thresholds) or 10
/// (float32), and at least half of the complete trees' leaf places real leaves.
fn takes_whole_trees(e: &Ensemble) -> bool {
    let max = if e.comparison == Comparison::F64LessEqual {
        8
    } else {
        10
    };
    let depths: Vec<u32> = e.trees.iter().map(|t| depth(&t.nodes, 0)).collect();
    let places: usize = depths.iter().map(|&d| 1usize << d).sum();
    let leaves: usize = e
        .trees
        .iter()
        .map(|t| {
            t.nodes
                .iter()
                .filter(|n| matches!(n, Node::Leaf(_)))
                .count()
        })
        .sum();
    depths.iter().all(|&d| d <= max) && leaves * 2 >= places
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn complete_walk_matches_reference_and_node_walk(
        ensemble in mostly_full_ensemble(),
        rows in prop::collection::vec(row_strategy(5), 1..12),
    ) {
        let nf = ensemble.features.len();
        let rows: Vec<Vec<f64>> = rows.into_iter().map(|r| r[..nf].to_vec()).collect();
        let bytes = ensemble.encode().unwrap();
        let model = Model::open_validated(&bytes).unwrap();
        let prepared = PreparedModel::new(model).unwrap();
        let nodes = PreparedModel::new_node_walk(model).unwrap();
        // Single-value leaves, trees at least half full, no float32 sums of float64
        // thresholds (no library writes those), and a CPU with AVX-512 (else the
        // node walk is faster); no rule nodes in these trees.
        let wide = ensemble.comparison == Comparison::F64LessEqual;
        let takes = ensemble.leaf_width == 1
            && !(wide && matches!(ensemble.aggregation, Aggregation::Sum { accumulate_f32: true, .. }))
            && takes_whole_trees(&ensemble)
            && VectorIsa::detected() >= VectorIsa::Avx512;
        prop_assert_eq!(prepared.is_complete(), takes);
        prop_assert!(!nodes.is_complete());
        let len = model.prediction_len();
        let mut got = vec![0.0; len];
        for row in &rows {
            prepared.predict_into(row, &mut got).unwrap();
            let expected = evaluate(&ensemble, row);
            prop_assert!(same_bits(&got, &expected), "row {:?}: complete {:?} reference {:?}", row, got, expected);
        }
        // Full blocks of 128 rows and a ragged end.
        let many: Vec<Vec<f64>> = rows.iter().cycle().take(rows.len() * 13 + 300).cloned().collect();
        batches_match_reference(&ensemble, &prepared, nodes, &many)?;
    }
}

/// `rows` as one batch through every vector path this CPU runs, each forced in turn,
/// and through the node walk (`nodes`), bit for bit the reference evaluator.
pub fn batches_match_reference(
    ensemble: &Ensemble,
    prepared: &PreparedModel,
    nodes: PreparedModel,
    rows: &[Vec<f64>],
) -> Result<(), TestCaseError> {
    let len = prepared.model().prediction_len();
    let walks = vector_isas()
        .into_iter()
        .map(|isa| (format!("{isa:?}"), prepared.clone().with_vector_isa(isa)))
        .chain([("node walk".to_string(), nodes)]);
    for (name, walk) in walks {
        let mut batch = vec![0.0; rows.len() * len];
        walk.predict_batch(&rows.concat(), &mut batch).unwrap();
        for (row, chunk) in rows.iter().zip(batch.chunks(len)) {
            prop_assert!(
                same_bits(chunk, &evaluate(ensemble, row)),
                "{} row {:?}: batch {:?}",
                name,
                row,
                chunk
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Rows of 8 to 40 or 250 to 300 features, in batches of up to 300: the AVX-512
    /// fill of a float32 block transposes tiles of 16 rows and 8 features, and fills
    /// the features past the last 8 and the rows past the last 16 one at a time; a NaN
    /// sends a block to the unfolded fill. Up to 256 features the AVX-512 walk picks
    /// the columns of its levels of 64 splits and more as 16-bit numbers; past 256 (a
    /// column of 2^16 or more) as 32-bit ones. Inputs lie on and beside the thresholds
    /// and their float32 roundings, so that a wrong rounding or a transposed place
    /// changes a path.
    #[test]
    fn wide_rows_fill_blocks_bit_for_bit(
        nf in prop_oneof![8u32..40, 250u32..300],
        trees in prop::collection::vec((1u32..=8, any::<u64>()), 0..3),
        n in 1usize..300,
        nan in prop::option::of(any::<u64>()),
        seed in any::<u64>(),
    ) {
        let thresholds = [-1.5, -0.25, 0.0, 0.1, 1.0 / 3.0, 2.5];
        // A first tree of depth 8 (too many leaves for the interval walk), then others.
        let mut e = regression(
            [(8, seed)]
                .iter()
                .chain(&trees)
                .map(|&(depth, seed)| tree(depth, 0, nf, 1, 0, &thresholds, &mut Dice(seed)))
                .collect(),
        );
        e.features = (0..nf)
            .map(|f| edgewood_core::Feature {
                allow_missing: true,
                ..edgewood_core::Feature::named(format!("f{f}"))
            })
            .collect();
        let mut dice = Dice(seed);
        let mut rows: Vec<Vec<f64>> = (0..n)
            .map(|_| {
                (0..nf)
                    .map(|_| {
                        let t = thresholds[dice.below(thresholds.len() as u64) as usize];
                        match dice.below(4) {
                            0 => t,
                            1 => (t as f32) as f64,
                            2 => t + (dice.below(3) as f64 - 1.0) * 1e-9,
                            _ => (dice.below(2000) as f64 - 1000.0) / 300.0,
                        }
                    })
                    .collect()
            })
            .collect();
        if let Some(at) = nan {
            let r = (at % n as u64) as usize;
            rows[r][(at / 7 % nf as u64) as usize] = f64::NAN;
        }
        let bytes = e.encode().unwrap();
        let model = Model::open_validated(&bytes).unwrap();
        let prepared = PreparedModel::new(model).unwrap();
        prop_assert!(prepared.is_complete() || VectorIsa::detected() < VectorIsa::Avx512);
        let nodes = PreparedModel::new_node_walk(model).unwrap();
        batches_match_reference(&e, &prepared, nodes, &rows)?;
    }
}

/// A float32 forest regressor of `trees`.
fn regression(trees: Vec<Tree>) -> Ensemble {
    let mut e = crate::hostile::sample_ensemble();
    e.task = edgewood_core::Task::Regression;
    e.leaf_width = 1;
    e.comparison = Comparison::F32LessEqual;
    e.trees = trees;
    e
}

#[test]
fn deep_or_sparse_trees_keep_the_node_walk() {
    if VectorIsa::detected() < VectorIsa::Avx512 {
        eprintln!("no AVX-512 on this CPU: the complete walk is never taken");
        return;
    }
    let nf = crate::hostile::sample_ensemble().features.len() as u32;
    let thresholds = [0.5, 1.5, -2.0, 3.25];
    let make = |depth, early, seed| tree(depth, early, nf, 1, 0, &thresholds, &mut Dice(seed));
    let takes = |trees: Vec<Tree>| {
        let bytes = regression(trees).encode().unwrap();
        PreparedModel::new(Model::open_validated(&bytes).unwrap())
            .unwrap()
            .is_complete()
    };
    // Depth 10, complete: taken. Depth 11: too deep.
    assert!(takes(vec![make(10, 0, 1)]));
    assert!(!takes(vec![make(11, 0, 1)]));
    // A chain 9 deep (10 leaves of 512 places).
    let mut chain = Vec::new();
    for d in 0..9u32 {
        chain.push(Node::Split {
            feature: d % nf,
            threshold: d as f64,
            missing_left: false,
            left: 2 * d + 1,
            right: 2 * d + 2,
        });
        chain.push(Node::Leaf(vec![d as f64]));
    }
    chain.push(Node::Leaf(vec![9.0]));
    let chain = Tree {
        nodes: chain,
        output: 0,
        stats: None,
    };
    // With a complete tree of 1,024 leaves: 1,034 of 1,536 places are leaves,
    // then 1,054 of 2,560.
    assert!(takes(vec![make(10, 0, 2), chain.clone()]));
    assert!(!takes(vec![
        make(10, 0, 2),
        chain.clone(),
        chain.clone(),
        chain
    ]));
}

/// Deep boosted trees of full tops and lopsided depths below them (LightGBM's
/// leaf-wise shape): big batches walk each top as a complete tree, then the span walk
/// takes every row on. Float32 and float64 thresholds, on every vector path this CPU runs.
#[test]
fn deep_trees_walk_their_tops_then_the_span_walk_bit_for_bit() {
    let nf = crate::hostile::sample_ensemble().features.len() as u32;
    let thresholds = [0.5, 1.5, -2.0, 3.25, 0.0, -0.75];
    for comparison in [Comparison::F32LessEqual, Comparison::F64LessEqual] {
        // Complete to depth 6, then paths that end with odds 1 in 4 per level, to 14
        // (each tree within the span walk's window of 8,192 nodes).
        let trees: Vec<Tree> = (0..40u64)
            .map(|seed| {
                let mut dice = Dice(seed);
                let mut top = tree(6, 0, nf, 1, 0, &thresholds, &mut dice);
                deepen(&mut top, 8, nf, &thresholds, &mut dice);
                top
            })
            .collect();
        // As a forest (averaged), the trees keep the plain node walk.
        let mut e = regression(trees);
        e.comparison = comparison;
        let forest = e.encode().unwrap();
        let forest = PreparedModel::new(Model::open_validated(&forest).unwrap()).unwrap();
        assert!(!forest.has_complete_tops(), "{comparison:?}: a forest");
        // Boosted (summed), they take the tops.
        e.aggregation = Aggregation::Sum {
            base: vec![0.25],
            link: edgewood_core::Link::Identity,
            accumulate_f32: false,
            divide_by_rounds: false,
        };
        let bytes = e.encode().unwrap();
        let model = Model::open_validated(&bytes).unwrap();
        let prepared = PreparedModel::new(model).unwrap();
        assert!(
            !prepared.is_complete(),
            "{comparison:?}: too deep for the complete walk"
        );
        let kernel = match comparison {
            Comparison::F32LessEqual => VectorIsa::Avx2,
            _ => VectorIsa::Avx512,
        };
        assert_eq!(
            prepared.has_complete_tops(),
            VectorIsa::detected() >= kernel,
            "{comparison:?}"
        );
        let mut rows = Vec::new();
        let mut dice = Dice(99);
        for _ in 0..1500 {
            for _ in 0..nf {
                rows.push(match dice.below(20) {
                    0 => f64::NAN,
                    k => {
                        thresholds[k as usize % thresholds.len()]
                            + (dice.below(3) as f64 - 1.0) * 0.25
                    }
                });
            }
        }
        for isa in vector_isas() {
            let walk = prepared.clone().with_vector_isa(isa);
            let mut out = vec![0.0; 1500];
            walk.predict_batch(&rows, &mut out).unwrap();
            for (row, got) in rows.chunks_exact(nf as usize).zip(&out) {
                let expected = evaluate(&e, row);
                assert_eq!(
                    got.to_bits(),
                    expected[0].to_bits(),
                    "{comparison:?} {isa:?} row {row:?}"
                );
            }
        }
    }
}

/// Grows every leaf of `tree` into a random subtree `levels` deep whose paths end
/// with odds 1 in 4 at each level.
fn deepen(tree: &mut Tree, levels: u32, nf: u32, thresholds: &[f64], dice: &mut Dice) {
    let leaves: Vec<usize> = (0..tree.nodes.len())
        .filter(|&i| matches!(tree.nodes[i], Node::Leaf(_)))
        .collect();
    for i in leaves {
        let sub = self::tree(levels, 4, nf, 1, 0, thresholds, dice);
        let base = tree.nodes.len() as u32;
        // The subtree's root replaces the leaf; its other nodes are appended, their
        // children renumbered (node 0 of the subtree is its root).
        let renumber = |k: u32| if k == 0 { i as u32 } else { base + k - 1 };
        let mut nodes: Vec<Node> = sub
            .nodes
            .into_iter()
            .map(|n| match n {
                Node::Split {
                    feature,
                    threshold,
                    missing_left,
                    left,
                    right,
                } => Node::Split {
                    feature,
                    threshold,
                    missing_left,
                    left: renumber(left),
                    right: renumber(right),
                },
                leaf => leaf,
            })
            .collect();
        tree.nodes[i] = nodes.remove(0);
        tree.nodes.extend(nodes);
    }
}
