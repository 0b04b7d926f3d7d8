//! The prepared (decoded) walk against the model's own walk: on LightGBM's numeric
//! rules, exhaustively over the rule flags, thresholds around the zero band, and inputs
//! on every side of it; and on the shapes that big batches must walk another way
//! (trees too big for the span walk's window, too many features for its columns).

use edgewood_core::{
    Aggregation, Comparison, Ensemble, Feature, Link, Missing, Model, Node, PreparedModel,
    SplitTest, Task, Tree, ZERO_THRESHOLD as Z,
};

fn one_rule(threshold: f64, missing: Missing) -> Ensemble {
    Ensemble {
        features: vec![Feature::named("x")],
        task: Task::Regression,
        aggregation: Aggregation::Sum {
            base: vec![0.0],
            link: Link::Identity,
            accumulate_f32: false,
            divide_by_rounds: false,
        },
        comparison: Comparison::F64LessEqual,
        leaf_width: 1,
        trees: vec![Tree {
            stats: None,
            output: 0,
            nodes: vec![
                Node::Rule {
                    feature: 0,
                    test: SplitTest::LessEqual(threshold),
                    missing,
                    left: 1,
                    right: 2,
                },
                Node::Leaf(vec![-1.0]),
                Node::Leaf(vec![1.0]),
            ],
        }],
        source: "rules".into(),
    }
}

fn next_up(x: f64) -> f64 {
    let b = x.to_bits();
    f64::from_bits(if x >= 0.0 { b + 1 } else { b - 1 })
}

fn next_down(x: f64) -> f64 {
    -next_up(-x)
}

#[test]
fn numeric_rules_decode_to_the_same_decisions() {
    let mut points = vec![
        f64::NAN,
        0.0,
        -0.0,
        1.0,
        -1.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ];
    for p in [Z, -Z, Z / 2.0, -Z / 2.0, 2.0 * Z, -2.0 * Z] {
        points.extend([p, next_up(p), next_down(p)]);
    }
    let thresholds: Vec<f64> = points.iter().copied().filter(|t| !t.is_nan()).collect();
    let (mut decoded, mut kept) = (0, 0);
    for flags in 0..16u8 {
        let missing = Missing {
            left: flags & 1 != 0,
            tiny_as_zero: flags & 2 != 0,
            nan_as_zero: flags & 4 != 0,
            zero_is_missing: flags & 8 != 0,
        };
        for &t in &thresholds {
            let bytes = one_rule(t, missing).encode().unwrap();
            let model = Model::open_validated(&bytes).unwrap();
            let prepared = PreparedModel::new(model).unwrap();
            if prepared.is_decoded() {
                decoded += 1;
            } else {
                kept += 1;
            }
            let mut batch = vec![0.0; points.len()];
            prepared.predict_batch(&points, &mut batch).unwrap();
            for (&x, &b) in points.iter().zip(&batch) {
                let mut want = [0.0];
                model.predict_into(&[x], &mut want).unwrap();
                let mut got = [0.0];
                prepared.predict_into(&[x], &mut got).unwrap();
                assert_eq!(
                    (got[0], b),
                    (want[0], want[0]),
                    "{missing:?} t={t:e} x={x:e}"
                );
            }
        }
    }
    // Most combinations decode; a zero-as-missing rule whose default disagrees with its
    // threshold keeps the model's walk.
    assert!(decoded > 3 * kept, "decoded {decoded}, kept {kept}");
}

/// A boosted regression (float32 comparisons and sums, as XGBoost's) of `trees`, each
/// a comb: split `i` tests feature `i % n_features` against `i` (inputs hit it exactly), a leaf on its left and
/// the next split on its right, so a tree of `splits` splits has `2 * splits + 1` nodes
/// and inputs near `i` reach every depth.
pub fn combs(n_features: usize, trees: usize, splits: usize) -> Ensemble {
    let comb = |t: usize| {
        let mut nodes = Vec::with_capacity(2 * splits + 1);
        for i in 0..splits {
            let at = nodes.len() as u32;
            nodes.push(Node::Split {
                feature: (i % n_features) as u32,
                threshold: i as f64,
                missing_left: (i + t).is_multiple_of(3),
                left: at + 1,
                right: at + 2,
            });
            nodes.push(Node::Leaf(vec![(i * 7 + t) as f64 / 64.0 - 1.3]));
        }
        nodes.push(Node::Leaf(vec![t as f64 * 0.1]));
        Tree {
            output: 0,
            nodes,
            stats: None,
        }
    };
    Ensemble {
        features: (0..n_features)
            .map(|i| Feature {
                allow_missing: true,
                ..Feature::named(format!("f{i}"))
            })
            .collect(),
        task: Task::Regression,
        aggregation: Aggregation::Sum {
            base: vec![0.25],
            link: Link::Identity,
            accumulate_f32: true,
            divide_by_rounds: false,
        },
        comparison: Comparison::F32LessEqual,
        leaf_width: 1,
        trees: (0..trees).map(comb).collect(),
        source: "combs".into(),
    }
}

/// `predict_batch` of a prepared `ensemble` on a big batch (the walk of 512+ rows) is
/// bit for bit the model's own.
fn big_batch_matches_model(ensemble: &Ensemble, splits: usize) {
    batch_matches_model(ensemble, 700, splits);
}

/// `predict_batch` of a prepared `ensemble` on `n` rows whose inputs run from -1 to
/// `spread + 1` (a comb's depth) and NaN is bit for bit the model's own.
fn batch_matches_model(ensemble: &Ensemble, n: usize, spread: usize) {
    let nf = ensemble.features.len();
    let bytes = ensemble.encode().unwrap();
    let model = Model::open_validated(&bytes).unwrap();
    let prepared = PreparedModel::new(model).unwrap();
    assert!(prepared.is_decoded());
    let rows: Vec<f64> = (0..n * nf)
        .map(|k| match k % 11 {
            0 => f64::NAN,
            _ => ((k * 7919) % (spread + 3)) as f64 - 1.0,
        })
        .collect();
    let mut want = vec![0.0; n];
    for (row, w) in rows.chunks_exact(nf).zip(want.chunks_exact_mut(1)) {
        model.predict_into(row, w).unwrap();
    }
    let mut got = vec![0.0; n];
    model.predict_batch(&rows, &mut got).unwrap();
    for (r, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g.to_bits(), w.to_bits(), "row {r}: batch {g}, one row {w}");
    }
    prepared.predict_batch(&rows, &mut got).unwrap();
    for (r, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(
            g.to_bits(),
            w.to_bits(),
            "row {r}: prepared {g}, one row {w}"
        );
    }
}

#[test]
fn big_batches_of_trees_near_the_span_window_match_the_model() {
    // 8,191 nodes fit the span walk's window of 8,192; 8,193 do not, and that tree's
    // model walks big batches the general way.
    for splits in [4095, 4096] {
        big_batch_matches_model(&combs(3, 2, splits), splits);
    }
}

#[test]
fn big_batches_with_many_features_match_the_model() {
    // 255 features fit the span's 16-bit columns; 256 and more do not.
    for nf in [255, 256, 300] {
        big_batch_matches_model(&combs(nf, 3, 400), 400);
    }
}

#[test]
fn batches_of_models_bigger_than_the_cache_match_the_model() {
    // 48 trees of 3,000 splits: over 1 MiB of `.ewm` node records and about 6 MB
    // decoded, so both walks go by groups of trees; 8,300 rows take two passes over
    // the groups, the second short. The inputs reach depth 40 at most, so that the
    // debug build walks them quickly.
    let forest = combs(5, 48, 3000);
    let bytes = forest.encode().unwrap();
    let model = Model::open_validated(&bytes).unwrap();
    assert!(
        model.n_split_nodes() * 12 > 1 << 20,
        "{}",
        model.n_split_nodes()
    );
    for n in [1, 129, 8300] {
        batch_matches_model(&forest, n, 40);
    }
}
