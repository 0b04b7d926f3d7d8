//! A deliberately naive evaluator of an [`Ensemble`] arena, and proptest strategies.
//!
//! It follows the source libraries' semantics directly (float64 thresholds, the input
//! widened from float32), so agreement with [`Model`] checks the encoder's layout and
//! its threshold rounding as well as the traversal.

use edgewood_core::{fmath_exp, svml_exp, svml_log};
use edgewood_core::{
    Aggregation, Comparison, Ensemble, Feature, Link, LogSumExp, Missing, Node, RowSum, SplitTest,
    Task, Tree, ZERO_THRESHOLD,
};
use proptest::prelude::*;

/// Whether two predictions are the same bits (any NaN equal to any NaN).
pub fn same_bits(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
}

/// Evaluates the ensemble on one row, returning the prediction vector.
pub fn evaluate(e: &Ensemble, row: &[f64]) -> Vec<f64> {
    let n_out = e.n_outputs();
    let mut acc: Vec<f64> = match &e.aggregation {
        Aggregation::Average => vec![0.0; n_out],
        Aggregation::Sum {
            base,
            accumulate_f32,
            ..
        } => base
            .iter()
            .map(|&b| if *accumulate_f32 { b as f32 as f64 } else { b })
            .collect(),
    };
    let f32_acc = matches!(
        e.aggregation,
        Aggregation::Sum {
            accumulate_f32: true,
            ..
        }
    );
    for tree in &e.trees {
        let mut id = 0usize;
        let leaf = loop {
            match &tree.nodes[id] {
                Node::Leaf(v) => break v,
                Node::Split {
                    feature,
                    threshold,
                    missing_left,
                    left,
                    right,
                } => {
                    let go_left = split_goes_left(
                        e.comparison,
                        *threshold,
                        *missing_left,
                        row[*feature as usize],
                    );
                    id = if go_left { *left } else { *right } as usize;
                }
                Node::Rule {
                    feature,
                    test,
                    missing,
                    left,
                    right,
                } => {
                    let go_left =
                        rule_goes_left(e.comparison, test, missing, row[*feature as usize]);
                    id = if go_left { *left } else { *right } as usize;
                }
            }
        };
        if leaf.len() == 1 {
            let a = &mut acc[tree.output as usize];
            *a = if f32_acc {
                (*a as f32 + leaf[0] as f32) as f64
            } else {
                *a + leaf[0]
            };
        } else {
            for (a, v) in acc.iter_mut().zip(leaf) {
                *a = if f32_acc {
                    (*a as f32 + *v as f32) as f64
                } else {
                    *a + v
                };
            }
        }
    }
    if let Aggregation::Sum {
        divide_by_rounds: true,
        ..
    } = &e.aggregation
    {
        let rounds = (e.trees.len() / n_out) as f64;
        acc.iter_mut().for_each(|a| *a /= rounds);
    }
    match &e.aggregation {
        Aggregation::Average => acc.iter_mut().for_each(|a| *a /= e.trees.len() as f64),
        Aggregation::Sum { link, .. } => match link {
            Link::Identity => {}
            Link::Exp => acc.iter_mut().for_each(|a| *a = libm_exp(*a, f32_acc)),
            Link::Sigmoid => acc.iter_mut().for_each(|a| {
                *a = if f32_acc {
                    // XGBoost clamps the exponent at 88.7.
                    (1.0f32 / (1.0f32 + edgewood_core::glibc_exp::expf((-(*a as f32)).min(88.7))))
                        as f64
                } else {
                    1.0 / (1.0 + edgewood_core::glibc_exp::exp(-*a))
                }
            }),
            Link::ScaledSigmoid(s) => acc
                .iter_mut()
                .for_each(|a| *a = 1.0 / (1.0 + edgewood_core::glibc_exp::exp(-*s * *a))),
            Link::Softmax if f32_acc => {
                // XGBoost: float32 max and expf, double sum, float32 division.
                let max = acc.iter().map(|&a| a as f32).fold(f32::MIN, f32::max);
                let e: Vec<f32> = acc
                    .iter()
                    .map(|&a| edgewood_core::glibc_exp::expf(a as f32 - max))
                    .collect();
                let sum = e.iter().map(|&x| x as f64).sum::<f64>() as f32;
                for (a, x) in acc.iter_mut().zip(e) {
                    *a = (x / sum) as f64;
                }
            }
            Link::Softmax => {
                let max = acc.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let mut sum = 0.0;
                for a in acc.iter_mut() {
                    *a = libm_exp(*a - max, f32_acc);
                    sum += *a;
                }
                acc.iter_mut().for_each(|a| {
                    *a = if f32_acc {
                        (*a / sum) as f32 as f64
                    } else {
                        *a / sum
                    }
                });
            }
            // The library softmaxes are float64 whatever the accumulation.
            Link::SoftmaxSvml(order) => {
                let max = acc.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let e: Vec<f64> = acc.iter().map(|&a| svml_exp::exp_ha(a - max)).collect();
                let sum = match order {
                    RowSum::InOrder => e.iter().fold(0.0, |s, x| s + x),
                    RowSum::Pairwise => numpy_pairwise(&e),
                };
                acc.iter_mut().zip(&e).for_each(|(a, x)| *a = x / sum);
            }
            Link::LogSumExp(kind) => {
                let max = acc.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let lse = match kind {
                    LogSumExp::LogOfSum => {
                        let e: Vec<f64> = acc.iter().map(|&a| svml_exp::exp_la(a - max)).collect();
                        svml_log::log_la(numpy_pairwise(&e)) + max
                    }
                    LogSumExp::Log1pOfRest => {
                        let m = acc.iter().filter(|&&a| a == max).count() as f64;
                        let e: Vec<f64> = acc
                            .iter()
                            .map(|&a| {
                                if a == max {
                                    0.0
                                } else {
                                    svml_exp::exp_la(a - max)
                                }
                            })
                            .collect();
                        let rest = numpy_pairwise(&e);
                        let rest = if rest == 0.0 { 0.0 } else { rest / m };
                        svml_log::log1p_la(rest) + svml_log::log_la(m) + max
                    }
                };
                acc.iter_mut().for_each(|a| *a = svml_exp::exp_la(*a - lse));
            }
            Link::SoftmaxCatBoost => {
                let mut max = acc[0];
                for &a in &acc[1..] {
                    if a > max {
                        max = a;
                    }
                }
                let mut e: Vec<f64> = acc.iter().map(|&a| a - max).collect();
                fmath_exp::exp_in_place(&mut e);
                let sum = e.iter().fold(0.0, |s, x| s + x);
                acc.iter_mut().zip(&e).for_each(|(a, x)| *a = x / sum);
            }
        },
    }
    if let Task::Classification { classes, .. } = &e.task {
        if classes.len() == 2 && n_out == 1 {
            if f32_acc {
                return vec![(1.0f32 - acc[0] as f32) as f64, acc[0]];
            }
            return vec![1.0 - acc[0], acc[0]];
        }
    }
    acc
}

/// Whether `x` goes left at a threshold split: missing by the split's own direction,
/// otherwise `x <= threshold` in the model's precision.
pub fn split_goes_left(comparison: Comparison, threshold: f64, missing_left: bool, x: f64) -> bool {
    if x.is_nan() {
        missing_left
    } else {
        match comparison {
            Comparison::F32LessEqual => (x as f32 as f64) <= threshold,
            Comparison::F64LessEqual => x <= threshold,
        }
    }
}

/// The boosting libraries' split rules, written out literally from their sources.
pub fn rule_goes_left(comparison: Comparison, test: &SplitTest, m: &Missing, x: f64) -> bool {
    // A narrow model sees the float32 input everywhere, rules included.
    let mut x = match comparison {
        Comparison::F32LessEqual => x as f32 as f64,
        Comparison::F64LessEqual => x,
    };
    if m.tiny_as_zero && x.abs() <= ZERO_THRESHOLD {
        x = 0.0;
    }
    if m.nan_as_zero && x.is_nan() {
        x = 0.0;
    }
    if x.is_nan() || (m.zero_is_missing && x.abs() <= ZERO_THRESHOLD) {
        return m.left;
    }
    match (test, comparison) {
        (SplitTest::LessEqual(t), Comparison::F64LessEqual) => x <= *t,
        (SplitTest::LessEqual(t), Comparison::F32LessEqual) => (x as f32 as f64) <= *t,
        (
            SplitTest::InSet {
                categories,
                in_set_left,
                integers_only,
            },
            comparison,
        ) => {
            let category: Option<u32> = match comparison {
                // XGBoost: negative float32 values have no category.
                Comparison::F32LessEqual => {
                    let x = x as f32;
                    (0.0..4e9).contains(&x).then_some(x as u32)
                }
                // LightGBM: static_cast<int>, negative afterwards has none.
                Comparison::F64LessEqual => (x > -1.0 && x < 4e9).then_some(x as u32),
            };
            let seen = match comparison {
                Comparison::F32LessEqual => x as f32 as f64,
                Comparison::F64LessEqual => x,
            };
            let category = category.filter(|_| !*integers_only || seen.fract() == 0.0);
            let in_set = category.is_some_and(|c| categories.contains(&c));
            in_set == *in_set_left
        }
    }
}

/// The engine's `exp` (glibc's algorithm, the same on every target): this checks the
/// structure, not the math library; parity with each library's own `exp` is tested
/// against its fixtures.
fn libm_exp(x: f64, f32_math: bool) -> f64 {
    if f32_math {
        edgewood_core::glibc_exp::expf(x as f32) as f64
    } else {
        edgewood_core::glibc_exp::exp(x)
    }
}

/// A random tree over `n_features` with leaves of `leaf_width` values, depth ≤ `depth`.
/// Nodes are stored in a shuffled arena order so the encoder's re-layout is exercised.
pub fn tree_strategy(
    n_features: u32,
    leaf_width: usize,
    depth: u32,
    output: u32,
) -> impl Strategy<Value = Tree> {
    let leaf = prop::collection::vec(-10.0f64..10.0, leaf_width).prop_map(Shape::Leaf);
    let shape = leaf.prop_recursive(depth, 64, 2, move |inner| {
        prop_oneof![
            3 => (
                0..n_features,
                threshold(),
                any::<bool>(),
                inner.clone(),
                inner.clone(),
            )
                .prop_map(|(f, t, m, l, r)| Shape::Split(f, t, m, Box::new(l), Box::new(r))),
            1 => (0..n_features, rule_test(), any::<[bool; 4]>(), inner.clone(), inner)
                .prop_map(|(f, test, [left, tiny_as_zero, nan_as_zero, zero_is_missing], l, r)| {
                    Shape::Rule(
                        f,
                        test,
                        Missing { left, tiny_as_zero, nan_as_zero, zero_is_missing },
                        Box::new(l),
                        Box::new(r),
                    )
                }),
        ]
    });
    (shape, any::<u64>()).prop_map(move |(s, seed)| {
        let mut nodes = Vec::new();
        flatten(&s, &mut nodes);
        shuffle(nodes, seed, output)
    })
}

/// Thresholds that stress float32 rounding: round decimals, exact float32 values and
/// values one float64 ulp away from them.
pub fn threshold() -> impl Strategy<Value = f64> {
    prop_oneof![
        (-100i32..100).prop_map(|k| k as f64 / 20.0),
        any::<f32>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(|x| x as f64),
        (-100i32..100, -2i64..=2)
            .prop_map(|(k, d)| f64::from_bits(
                ((k as f32 / 7.0) as f64).to_bits().wrapping_add(d as u64)
            ))
            .prop_filter("a threshold is a number", |t| t.is_finite()),
    ]
}

/// A numeric or categorical test for rule nodes.
fn rule_test() -> impl Strategy<Value = SplitTest> {
    prop_oneof![
        threshold().prop_map(SplitTest::LessEqual),
        (
            prop::collection::vec(0u32..70, 0..6),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(
                |(categories, in_set_left, integers_only)| SplitTest::InSet {
                    categories,
                    in_set_left,
                    integers_only,
                }
            ),
    ]
}

#[derive(Clone, Debug)]
pub enum Shape {
    Leaf(Vec<f64>),
    Split(u32, f64, bool, Box<Shape>, Box<Shape>),
    Rule(u32, SplitTest, Missing, Box<Shape>, Box<Shape>),
}

fn flatten(s: &Shape, nodes: &mut Vec<Node>) -> u32 {
    let id = nodes.len() as u32;
    match s {
        Shape::Leaf(v) => nodes.push(Node::Leaf(v.clone())),
        Shape::Split(f, t, m, l, r) => {
            nodes.push(Node::Leaf(vec![]));
            let left = flatten(l, nodes);
            let right = flatten(r, nodes);
            nodes[id as usize] = Node::Split {
                feature: *f,
                threshold: *t,
                missing_left: *m,
                left,
                right,
            };
        }
        Shape::Rule(f, test, missing, l, r) => {
            nodes.push(Node::Leaf(vec![]));
            let left = flatten(l, nodes);
            let right = flatten(r, nodes);
            nodes[id as usize] = Node::Rule {
                feature: *f,
                test: test.clone(),
                missing: *missing,
                left,
                right,
            };
        }
    }
    id
}

/// Permutes the arena (keeping the root at 0) and remaps child indices.
fn shuffle(nodes: Vec<Node>, seed: u64, output: u32) -> Tree {
    let n = nodes.len();
    let mut order: Vec<usize> = (1..n).collect();
    let mut state = seed | 1;
    for i in (1..order.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        order.swap(i, (state % (i as u64 + 1)) as usize);
    }
    let mut new_of_old = vec![0u32; n];
    for (new, &old) in order.iter().enumerate() {
        new_of_old[old] = new as u32 + 1;
    }
    let mut out = vec![Node::Leaf(vec![]); n];
    for (old, node) in nodes.into_iter().enumerate() {
        let node = match node {
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
                left: new_of_old[left as usize],
                right: new_of_old[right as usize],
            },
            Node::Rule {
                feature,
                test,
                missing,
                left,
                right,
            } => Node::Rule {
                feature,
                test,
                missing,
                left: new_of_old[left as usize],
                right: new_of_old[right as usize],
            },
            leaf => leaf,
        };
        out[new_of_old[old] as usize] = node;
    }
    Tree {
        nodes: out,
        output,
        stats: None,
    }
}

/// Random ensembles of every kind the core supports.
pub fn ensemble_strategy() -> impl Strategy<Value = Ensemble> {
    (1u32..6, 2usize..5, 0u8..12, any::<bool>(), any::<bool>()).prop_flat_map(
        |(nf, n_classes, kind, wide, f32_acc)| {
            let comparison = if wide {
                Comparison::F64LessEqual
            } else {
                Comparison::F32LessEqual
            };
            let features: Vec<Feature> = (0..nf)
                .map(|i| Feature {
                    allow_missing: true,
                    ..Feature::named(format!("f{i}"))
                })
                .collect();
            let classes: Vec<String> = (0..n_classes).map(|i| format!("c{i}")).collect();
            // kind: 0 forest classifier, 1 forest regressor, 2 boosted regression,
            // 3 boosted binary, 4 and 7–11 boosted multiclass (each softmax), 5 boosted
            // Poisson, 6 scaled sigmoid.
            let (task, width, n_out, link) = match kind {
                0 => (
                    Task::Classification {
                        classes: classes.clone(),
                        integer_labels: false,
                    },
                    n_classes,
                    n_classes,
                    None,
                ),
                1 => (Task::Regression, 1, 1, None),
                2 => (Task::Regression, 1, 1, Some(Link::Identity)),
                3 => (
                    Task::Classification {
                        classes: classes[..2].to_vec(),
                        integer_labels: true,
                    },
                    1,
                    1,
                    Some(Link::Sigmoid),
                ),
                4 | 7..=11 => (
                    Task::Classification {
                        classes: classes.clone(),
                        integer_labels: false,
                    },
                    1,
                    n_classes,
                    Some(match kind {
                        7 => Link::SoftmaxSvml(RowSum::InOrder),
                        11 => Link::SoftmaxSvml(RowSum::Pairwise),
                        8 => Link::LogSumExp(LogSumExp::LogOfSum),
                        9 => Link::LogSumExp(LogSumExp::Log1pOfRest),
                        10 => Link::SoftmaxCatBoost,
                        _ => Link::Softmax,
                    }),
                ),
                5 => (Task::Regression, 1, 1, Some(Link::Exp)),
                // LightGBM's binary objective with a sigmoid parameter.
                _ => (
                    Task::Classification {
                        classes: classes[..2].to_vec(),
                        integer_labels: true,
                    },
                    1,
                    1,
                    Some(Link::ScaledSigmoid(0.7)),
                ),
            };
            let outputs = if width == 1 { n_out as u32 } else { 1 };
            // LightGBM's random-forest mode (one output, so any tree count is whole rounds).
            let divide_by_rounds = link.is_some() && n_out == 1 && wide && !f32_acc;
            let trees = prop::collection::vec(
                (0..outputs).prop_flat_map(move |o| tree_strategy(nf, width, 6, o)),
                1..8,
            );
            let base = prop::collection::vec(-1.0f64..1.0, n_out);
            (trees, base).prop_map(move |(trees, base)| Ensemble {
                features: features.clone(),
                task: task.clone(),
                aggregation: match link {
                    None => Aggregation::Average,
                    Some(link) => Aggregation::Sum {
                        base,
                        link,
                        accumulate_f32: f32_acc,
                        divide_by_rounds,
                    },
                },
                comparison,
                leaf_width: width,
                trees,
                source: "proptest".into(),
            })
        },
    )
}

/// Rows with values near the thresholds, NaN and extremes.
pub fn row_strategy(n_features: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(
        prop_oneof![
            8 => (-100i32..100).prop_map(|k| k as f64 / 20.0),
            4 => (-100i32..100).prop_map(|k| (k as f32 / 7.0) as f64),
            2 => -20.0f64..20.0,
            1 => Just(f64::NAN),
            1 => Just(f64::INFINITY),
            1 => Just(f64::NEG_INFINITY),
        ],
        n_features,
    )
}

/// numpy's pairwise summation of a C-ordered row, written out: eight running sums over
/// blocks of 8 (rows of 8 to 128 values; the tests' rows are shorter than 129).
fn numpy_pairwise(v: &[f64]) -> f64 {
    if v.len() < 8 {
        return v.iter().fold(0.0, |s, x| s + x);
    }
    assert!(v.len() <= 128);
    let mut r: Vec<f64> = v[..8].to_vec();
    let mut i = 8;
    while i + 8 <= v.len() {
        for j in 0..8 {
            r[j] += v[i + j];
        }
        i += 8;
    }
    let mut s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for x in &v[i..] {
        s += x;
    }
    s
}
