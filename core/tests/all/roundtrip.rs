//! Encode → open → predict agrees bit for bit with the naive evaluator.

use edgewood_core::{Ensemble, Model, Node, Prediction, PreparedModel, SplitTest};
use proptest::prelude::*;

use crate::reference::{ensemble_strategy, evaluate, row_strategy, same_bits};

fn ensemble_and_rows() -> impl Strategy<Value = (Ensemble, Vec<Vec<f64>>)> {
    ensemble_strategy().prop_flat_map(|e| {
        let nf = e.features.len();
        (Just(e), prop::collection::vec(row_strategy(nf), 1..20))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn model_matches_reference((ensemble, rows) in ensemble_and_rows()) {
        let bytes = ensemble.encode().unwrap();
        let model = Model::open_validated(&bytes).unwrap();
        prop_assert_eq!(model.n_trees(), ensemble.trees.len());
        let mut out = vec![0.0; model.prediction_len()];
        for row in &rows {
            model.predict_into(row, &mut out).unwrap();
            let expected = evaluate(&ensemble, row);
            prop_assert!(same_bits(&out, &expected), "row {:?}: model {:?} reference {:?}", row, out, expected);
        }
        // The batch path gives the same answers as the single-row path.
        let flat: Vec<f64> = rows.concat();
        let mut batch = vec![0.0; rows.len() * model.prediction_len()];
        model.predict_batch(&flat, &mut batch).unwrap();
        for (row, chunk) in rows.iter().zip(batch.chunks(model.prediction_len())) {
            prop_assert!(same_bits(chunk, &evaluate(&ensemble, row)));
        }
    }

    #[test]
    fn prepared_model_matches_reference((ensemble, rows) in ensemble_and_rows(), strip in any::<bool>()) {
        // Rule nodes keep the model's own walk; stripping them sends the ensemble
        // through the decoded walk.
        let ensemble = if strip { without_rules(ensemble) } else { ensemble };
        let bytes = ensemble.encode().unwrap();
        let model = Model::open_validated(&bytes).unwrap();
        let prepared = PreparedModel::new(model).unwrap();
        if strip {
            prop_assert!(prepared.is_decoded());
        }
        let len = model.prediction_len();
        let mut out = vec![0.0; len];
        for row in &rows {
            prepared.predict_into(row, &mut out).unwrap();
            let expected = evaluate(&ensemble, row);
            prop_assert!(same_bits(&out, &expected), "row {:?}: prepared {:?} reference {:?}", row, out, expected);
        }
        // Enough rows for full blocks, full lanes and a ragged end, and for the walk
        // big batches take (at least 512 rows).
        let many: Vec<Vec<f64>> = rows.iter().cycle().take(rows.len() * 13 + 600).cloned().collect();
        let mut batch = vec![0.0; many.len() * len];
        prepared.predict_batch(&many.concat(), &mut batch).unwrap();
        for (row, chunk) in many.iter().zip(batch.chunks(len)) {
            prop_assert!(same_bits(chunk, &evaluate(&ensemble, row)));
        }
    }

    #[test]
    fn encoding_is_deterministic(ensemble in ensemble_strategy()) {
        prop_assert_eq!(ensemble.encode().unwrap(), ensemble.encode().unwrap());
    }
}

/// The ensemble with every rule node made a plain split on the same feature.
pub fn without_rules(mut ensemble: Ensemble) -> Ensemble {
    for tree in &mut ensemble.trees {
        for node in &mut tree.nodes {
            if let Node::Rule {
                feature,
                test,
                missing,
                left,
                right,
            } = node.clone()
            {
                let threshold = match test {
                    SplitTest::LessEqual(t) => t,
                    _ => 0.5,
                };
                *node = Node::Split {
                    feature,
                    threshold,
                    missing_left: missing.left,
                    left,
                    right,
                };
            }
        }
    }
    ensemble
}

#[test]
fn split_nodes_take_twelve_bytes() {
    let ensemble = crate::hostile::sample_ensemble();
    let bytes = ensemble.encode().unwrap();
    let model = Model::open(&bytes).unwrap();
    assert_eq!(model.node_bytes(), 12 * model.n_split_nodes());
}

#[test]
fn labels_take_the_first_maximum() {
    let ensemble = crate::hostile::sample_ensemble();
    let bytes = ensemble.encode().unwrap();
    let model = Model::open(&bytes).unwrap();
    // Leaf [0.5, 0.5, 0]: a tie between class 0 and 1 goes to class 0, as in scikit-learn.
    let Prediction::Class {
        label, confidence, ..
    } = model.predict(&[5.0, 0.5]).unwrap()
    else {
        panic!()
    };
    assert_eq!((label, confidence), (0, 0.5));
}
