//! The deep walk (forests bigger than the cache, one tree at a time over big blocks of
//! rows), forced on random ensembles whatever their size: bit for bit the naive
//! reference and the model's own walk, one row at a time and in batches with and
//! without missing inputs, shorter than its lanes, and longer than one block.

use edgewood_core::{Ensemble, Model, PreparedModel};
use proptest::prelude::*;

use crate::prepared::combs;
use crate::reference::{ensemble_strategy, evaluate, row_strategy, same_bits};
use crate::roundtrip::without_rules;

/// `ensemble` through the deep walk, forced.
fn deep(bytes: &[u8]) -> PreparedModel<'_> {
    let prepared = PreparedModel::new_deep_walk(Model::open_validated(bytes).unwrap()).unwrap();
    assert!(prepared.is_deep());
    prepared
}

/// Checks the batch of `rows` through `prepared` against the reference, row by row.
fn batch_matches(
    ensemble: &Ensemble,
    prepared: &PreparedModel<'_>,
    rows: &[Vec<f64>],
) -> Result<(), TestCaseError> {
    let len = prepared.model().prediction_len();
    let mut batch = vec![0.0; rows.len() * len];
    prepared.predict_batch(&rows.concat(), &mut batch).unwrap();
    for (r, (row, chunk)) in rows.iter().zip(batch.chunks(len)).enumerate() {
        let expected = evaluate(ensemble, row);
        prop_assert!(
            same_bits(chunk, &expected),
            "row {} of {} {:?}: deep {:?} reference {:?}",
            r,
            rows.len(),
            row,
            chunk,
            expected
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn deep_walk_matches_reference(
        ensemble in ensemble_strategy(),
        rows in prop::collection::vec(row_strategy(5), 1..20),
    ) {
        let ensemble = without_rules(ensemble);
        let nf = ensemble.features.len();
        let rows: Vec<Vec<f64>> = rows.into_iter().map(|r| r[..nf].to_vec()).collect();
        let bytes = ensemble.encode().unwrap();
        let prepared = deep(&bytes);
        let len = prepared.model().prediction_len();
        let mut out = vec![0.0; len];
        for row in &rows {
            prepared.predict_into(row, &mut out).unwrap();
            let expected = evaluate(&ensemble, row);
            prop_assert!(same_bits(&out, &expected), "row {:?}: deep {:?} reference {:?}", row, out, expected);
        }
        // As many rows as given (fewer than the lanes, or a ragged last sweep), and
        // many more; with their missing values, then with none (each batch lays its
        // inputs out one way or the other).
        let many: Vec<Vec<f64>> = rows.iter().cycle().take(rows.len() * 13 + 300).cloned().collect();
        batch_matches(&ensemble, &prepared, &rows)?;
        batch_matches(&ensemble, &prepared, &many)?;
        let complete: Vec<Vec<f64>> = many.into_iter().filter(|r| !r.iter().any(|x| x.is_nan())).collect();
        batch_matches(&ensemble, &prepared, &complete)?;
    }
}

#[test]
fn deep_walk_of_many_trees_and_rows_matches_the_model() {
    // 70 trees: more than one window of the single-row walk; 70,000 rows: more than
    // one block of the batch walk.
    let forest = combs(3, 70, 40);
    let bytes = forest.encode().unwrap();
    let model = Model::open_validated(&bytes).unwrap();
    let prepared = deep(&bytes);
    let nf = 3;
    let n = 70_000;
    let rows: Vec<f64> = (0..n * nf)
        .map(|k| match k % 13 {
            0 => f64::NAN,
            _ => ((k * 7919) % 45) as f64 - 1.0,
        })
        .collect();
    let mut want = vec![0.0; n];
    model.predict_batch(&rows, &mut want).unwrap();
    let mut got = vec![0.0; n];
    prepared.predict_batch(&rows, &mut got).unwrap();
    for (r, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g.to_bits(), w.to_bits(), "row {r}: deep {g}, model {w}");
    }
    for (r, (row, w)) in rows.chunks_exact(nf).zip(&want).enumerate().step_by(97) {
        let mut one = [0.0];
        prepared.predict_into(row, &mut one).unwrap();
        assert_eq!(
            one[0].to_bits(),
            w.to_bits(),
            "row {r}: deep {}, model {w}",
            one[0]
        );
    }
}
