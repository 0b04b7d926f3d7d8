//! The prepared (decoded) walk against the model's own walk on LightGBM's numeric
//! rules, exhaustively over the rule flags, thresholds around the zero band, and inputs
//! on every side of it.

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
