//! The interval-mask walk (QuickScorer's bit vectors, combined per interval) against
//! the reference evaluator, the node walk and the model's own walk: random forests of
//! every kind the core supports, the embedded Iris forest on every threshold and the
//! floats either side of it, and the shapes that must keep the node walk.

use edgewood_core::{iris, Model, PreparedModel};
use proptest::prelude::*;

use crate::oblivious::vector_isas;
use crate::prepared::combs;
use crate::reference::{ensemble_strategy, evaluate, row_strategy, same_bits};
use crate::roundtrip::without_rules;

/// `prepared` and the node walk of the same model agree with `expected` on every row,
/// one at a time and as one batch (full blocks and a ragged end), the batch through
/// every vector kernel this CPU runs and the portable walk.
fn check_rows(
    model: Model<'_>,
    rows: &[Vec<f64>],
    expected: impl Fn(&[f64]) -> Vec<f64>,
) -> Result<(), TestCaseError> {
    let prepared = PreparedModel::new(model).unwrap();
    let nodes = PreparedModel::new_node_walk(model).unwrap();
    prop_assert!(!nodes.is_intervals());
    let len = model.prediction_len();
    let (mut got, mut node) = (vec![0.0; len], vec![0.0; len]);
    for row in rows {
        let expected = expected(row);
        prepared.predict_into(row, &mut got).unwrap();
        nodes.predict_into(row, &mut node).unwrap();
        prop_assert!(
            same_bits(&got, &expected),
            "row {:?}: intervals {:?} expected {:?}",
            row,
            got,
            expected
        );
        prop_assert!(
            same_bits(&node, &expected),
            "row {:?}: nodes {:?} expected {:?}",
            row,
            node,
            expected
        );
    }
    let mut batch = vec![0.0; rows.len() * len];
    for isa in vector_isas() {
        let walk = prepared.clone().with_vector_isa(isa);
        walk.predict_batch(&rows.concat(), &mut batch).unwrap();
        for (row, chunk) in rows.iter().zip(batch.chunks(len)) {
            prop_assert!(
                same_bits(chunk, &expected(row)),
                "row {:?}: batch through {:?} {:?}",
                row,
                isa,
                chunk
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn interval_walk_matches_reference_and_node_walk(
        ensemble in ensemble_strategy(),
        rows in prop::collection::vec(row_strategy(5), 1..20),
    ) {
        // Trees of at most 64 leaves on at most 5 features: all take the walk once
        // their rule nodes are plain splits.
        let ensemble = without_rules(ensemble);
        let nf = ensemble.features.len();
        let rows: Vec<Vec<f64>> = rows.into_iter().map(|r| r[..nf].to_vec()).collect();
        let bytes = ensemble.encode().unwrap();
        let model = Model::open_validated(&bytes).unwrap();
        let prepared = PreparedModel::new(model).unwrap();
        prop_assert!(prepared.is_intervals() || prepared.is_oblivious());
        let many: Vec<Vec<f64>> = rows.iter().cycle().take(rows.len() * 13 + 300).cloned().collect();
        check_rows(model, &many, |row| evaluate(&ensemble, row))?;
    }
}

/// Every boundary of the Iris forest, the float32 and float64 values either side of
/// it, NaN and the infinities, in every feature, against the model's own walk. The
/// forest compares in float32, and its thresholds are midpoints of measurements with
/// one decimal: float32 multiples of 0.05, give or take an ulp or two.
#[test]
fn iris_takes_the_interval_walk_bit_for_bit() {
    let model = iris::model().unwrap();
    assert!(PreparedModel::new(model).unwrap().is_intervals());
    let mut points = vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, -0.0];
    for k in 0..=200u32 {
        let x = k as f64 / 20.0;
        let f = x as f32;
        points.extend([
            x,
            f64::from_bits(x.to_bits() + 1),
            f64::from_bits(x.to_bits().saturating_sub(1)),
        ]);
        points.extend((0..5).map(|d| f32::from_bits((f.to_bits() + d).saturating_sub(2)) as f64));
    }
    // Each point in each feature, the other features spread over the same points.
    let rows: Vec<Vec<f64>> = points
        .iter()
        .enumerate()
        .flat_map(|(i, &x)| {
            let points = &points;
            (0..4).map(move |f| {
                (0..4)
                    .map(|g| {
                        if g == f {
                            x
                        } else {
                            points[(i * 7 + g * 13) % points.len()]
                        }
                    })
                    .collect()
            })
        })
        .collect();
    check_rows(model, &rows, |row| {
        let mut out = vec![0.0; model.prediction_len()];
        model.predict_into(row, &mut out).unwrap();
        out
    })
    .unwrap();
}

#[test]
fn trees_past_64_leaves_or_16_features_keep_the_node_walk() {
    for (name, ensemble, takes) in [
        // The most the vector kernels' 32-bit masks hold: the last leaf is the top bit.
        ("32 leaves", combs(4, 3, 31), true),
        ("33 leaves", combs(4, 3, 32), true),
        ("64 leaves", combs(4, 3, 63), true),
        ("65 leaves", combs(4, 3, 64), false),
        ("16 features", combs(16, 2, 40), true),
        ("17 features", combs(17, 2, 40), false),
    ] {
        let bytes = ensemble.encode().unwrap();
        let model = Model::open_validated(&bytes).unwrap();
        let prepared = PreparedModel::new(model).unwrap();
        assert_eq!(prepared.is_intervals(), takes, "{name}");
        let rows: Vec<Vec<f64>> = (0..200)
            .map(|r| {
                (0..ensemble.features.len())
                    .map(|f| {
                        if (r + f) % 17 == 0 {
                            f64::NAN
                        } else {
                            ((r * 3 + f) % 70) as f64 - 0.5 * (r % 2) as f64
                        }
                    })
                    .collect()
            })
            .collect();
        check_rows(model, &rows, |row| evaluate(&ensemble, row)).unwrap();
    }
}
