//! TreeSHAP: on random ensembles the explainer gives the exact Shapley values of the
//! path-dependent value function, found here by brute force over every coalition of
//! features; base + contributions is the raw output; leaves are the arena's nodes.

use edgewood_core::{Aggregation, Ensemble, Explainer, Model, Node, NodeStats, PredictError, Tree};
use proptest::prelude::*;

use crate::reference::{ensemble_strategy, row_strategy, rule_goes_left, split_goes_left};

/// Gives every node a cover: leaves a pseudo-random count, splits the sum of their
/// children's (as the libraries record them).
fn with_covers(mut e: Ensemble) -> Ensemble {
    for (t, tree) in e.trees.iter_mut().enumerate() {
        let mut cover = vec![f64::NAN; tree.nodes.len()];
        fill(&tree.nodes, 0, t, &mut cover);
        tree.stats = Some(NodeStats {
            cover,
            leaf_ids: Vec::new(),
        });
    }
    e
}

fn fill(nodes: &[Node], id: usize, t: usize, cover: &mut [f64]) -> f64 {
    let c = match &nodes[id] {
        Node::Leaf(_) => (1 + (t * 31 + id * 17) % 50) as f64,
        Node::Split { left, right, .. } | Node::Rule { left, right, .. } => {
            fill(nodes, *left as usize, t, cover) + fill(nodes, *right as usize, t, cover)
        }
    };
    cover[id] = c;
    c
}

/// Where `row` goes at split `node`, by the arena's own rules.
fn goes_left(e: &Ensemble, node: &Node, row: &[f64]) -> (bool, usize, usize, usize) {
    match node {
        Node::Split {
            feature,
            threshold,
            missing_left,
            left,
            right,
        } => {
            let go = split_goes_left(
                e.comparison,
                *threshold,
                *missing_left,
                row[*feature as usize],
            );
            (go, *feature as usize, *left as usize, *right as usize)
        }
        Node::Rule {
            feature,
            test,
            missing,
            left,
            right,
        } => (
            rule_goes_left(e.comparison, test, missing, row[*feature as usize]),
            *feature as usize,
            *left as usize,
            *right as usize,
        ),
        Node::Leaf(_) => unreachable!(),
    }
}

/// E[tree(x) | x_S] under the path-dependent assumption: features in `known` follow
/// the row, the others split by cover.
fn value(e: &Ensemble, tree: &Tree, id: usize, row: &[f64], known: u32) -> Vec<f64> {
    match &tree.nodes[id] {
        Node::Leaf(v) => v.clone(),
        node => {
            let (left_go, f, l, r) = goes_left(e, node, row);
            if known & (1 << f) != 0 {
                return value(e, tree, if left_go { l } else { r }, row, known);
            }
            let cover = &tree.stats.as_ref().unwrap().cover;
            let (vl, vr) = (value(e, tree, l, row, known), value(e, tree, r, row, known));
            vl.iter()
                .zip(&vr)
                .map(|(a, b)| (cover[l] * a + cover[r] * b) / cover[id])
                .collect()
        }
    }
}

/// The model's raw outputs (before any link) when only the features in `known` are
/// known: Σ over trees, scaled as the model combines them.
fn coalition(e: &Ensemble, row: &[f64], known: u32) -> Vec<f64> {
    let n_out = e.n_outputs();
    let mut acc = vec![0.0; n_out];
    for tree in &e.trees {
        let v = value(e, tree, 0, row, known);
        if v.len() == 1 {
            acc[tree.output as usize] += v[0];
        } else {
            acc.iter_mut().zip(&v).for_each(|(a, b)| *a += b);
        }
    }
    match &e.aggregation {
        Aggregation::Average => acc.iter_mut().for_each(|a| *a /= e.trees.len() as f64),
        Aggregation::Sum {
            base,
            accumulate_f32,
            divide_by_rounds,
            ..
        } => {
            for (a, b) in acc.iter_mut().zip(base) {
                *a += if *accumulate_f32 {
                    *b as f32 as f64
                } else {
                    *b
                };
            }
            if *divide_by_rounds {
                let rounds = (e.trees.len() / n_out) as f64;
                acc.iter_mut().for_each(|a| *a /= rounds);
            }
        }
    }
    acc
}

/// Exact Shapley values by enumeration: `[output][feature]`, then the base per output.
fn brute_force(e: &Ensemble, row: &[f64]) -> (Vec<Vec<f64>>, Vec<f64>) {
    let m = e.features.len();
    let factorial = |n: usize| (1..=n).map(|k| k as f64).product::<f64>();
    let values: Vec<Vec<f64>> = (0..1u32 << m).map(|s| coalition(e, row, s)).collect();
    let n_out = e.n_outputs();
    let mut phi = vec![vec![0.0; m]; n_out];
    for (i, phi_i) in (0..m).map(|i| (i, 1u32 << i)) {
        for s in (0..1u32 << m).filter(|s| s & phi_i == 0) {
            let size = s.count_ones() as usize;
            let weight = factorial(size) * factorial(m - size - 1) / factorial(m);
            for (k, p) in phi.iter_mut().enumerate() {
                p[i] += weight * (values[(s | phi_i) as usize][k] - values[s as usize][k]);
            }
        }
    }
    (phi, values[0].clone())
}

fn close(a: f64, b: f64, scale: f64) -> bool {
    (a - b).abs() <= 1e-9 * scale.max(1.0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn explanations_are_exact_shapley_values(
        (ensemble, rows) in ensemble_strategy().prop_flat_map(|e| {
            let nf = e.features.len();
            (Just(e), prop::collection::vec(row_strategy(nf), 1..6))
        })
    ) {
        let ensemble = with_covers(ensemble);
        let bytes = ensemble.encode().unwrap();
        let model = Model::open_validated(&bytes).unwrap();
        // Every route: cell tables (every small tree without rule nodes here), leaf
        // weights (every other small tree) and the recursion.
        let explainers = [
            Explainer::new(model).unwrap(),
            Explainer::without_cells(model).unwrap(),
            Explainer::untabled(model).unwrap(),
        ];
        let (nf, n_out) = (model.n_features(), explainers[0].n_outputs());
        let mut out = vec![0.0; explainers[0].explanation_len()];
        let mut leaves = vec![0; model.n_trees()];
        for (row, explainer) in rows.iter().flat_map(|r| explainers.iter().map(move |e| (r, e))) {
            explainer.explain_into(row, &mut out).unwrap();
            let (phi, base) = brute_force(&ensemble, row);
            let raw = coalition(&ensemble, row, u32::MAX);
            for k in 0..n_out {
                let ours = &out[k * (nf + 1)..(k + 1) * (nf + 1)];
                let scale = raw[k].abs() + base[k].abs() + phi[k].iter().map(|p| p.abs()).sum::<f64>();
                prop_assert!(close(ours[nf], base[k], scale), "base {} vs {}", ours[nf], base[k]);
                for f in 0..nf {
                    prop_assert!(close(ours[f], phi[k][f], scale),
                        "output {k} feature {f}: {} vs {} (row {row:?})", ours[f], phi[k][f]);
                }
                // Additivity: base + contributions = the raw output.
                let total: f64 = ours.iter().sum();
                prop_assert!(close(total, raw[k], scale), "sum {total} vs raw {}", raw[k]);
            }
            // Leaves: without source ids, the arena index of the leaf reached.
            model.leaves_into(row, &mut leaves).unwrap();
            for (tree, &leaf) in ensemble.trees.iter().zip(&leaves) {
                let mut id = 0;
                while !matches!(tree.nodes[id], Node::Leaf(_)) {
                    let (l, _, a, b) = goes_left(&ensemble, &tree.nodes[id], row);
                    id = if l { a } else { b };
                }
                prop_assert_eq!(leaf as usize, id);
            }
        }
    }
}

#[test]
fn a_model_without_cover_is_refused() {
    let ensemble = crate::hostile::sample_ensemble();
    let bytes = ensemble.encode().unwrap();
    let model = Model::open(&bytes).unwrap();
    assert_eq!(Explainer::new(model).err(), Some(PredictError::NoCover));
    // Leaves need no cover: depth-first indices within each tree.
    let mut leaves = [9; 2];
    model.leaves_into(&[3.0, 1.0], &mut leaves).unwrap();
    assert_eq!(leaves, [2, 0]);
}
