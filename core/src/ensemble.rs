//! The owned, format-blind description of a tree ensemble.
//!
//! Importers build an [`Ensemble`] from whatever a library wrote (a pickle, a JSON
//! dump, a text file); [`Ensemble::encode`](crate::encode) turns it into `.ewm` bytes,
//! and [`Model`](crate::Model) predicts from those bytes. Nothing here predicts: this
//! is the shape of a model, written so that every importer only adds what is its own.

use alloc::string::String;
use alloc::vec::Vec;

/// A whole model: schema, task, how tree outputs are combined, and the trees.
#[derive(Clone, Debug, PartialEq)]
pub struct Ensemble {
    /// The input features, in column order.
    pub features: Vec<Feature>,
    /// Classification (with its classes) or regression.
    pub task: Task,
    /// How the leaves reached in each tree become the model's outputs.
    pub aggregation: Aggregation,
    /// How an input value is compared with a split threshold.
    pub comparison: Comparison,
    /// Number of values in each leaf: `1` (one output per tree, e.g. boosting) or
    /// the number of outputs (a leaf holds a whole vector, e.g. a forest classifier).
    pub leaf_width: usize,
    /// The trees, in the order their outputs are accumulated.
    pub trees: Vec<Tree>,
    /// Where the model came from, e.g. `scikit-learn 1.9.1 RandomForestClassifier`.
    pub source: String,
}

/// One input feature of the schema.
#[derive(Clone, Debug, PartialEq)]
pub struct Feature {
    /// The column name, as callers spell it in JSON and CSV.
    pub name: String,
    /// Values outside this closed range are refused by validation (e.g. 0–10 for Iris).
    pub valid_range: Option<(f64, f64)>,
    /// The smallest and largest value seen in training, when the source recorded it.
    pub train_range: Option<(f64, f64)>,
    /// Whether a missing value (NaN) is a legal input for this feature.
    pub allow_missing: bool,
}

impl Feature {
    /// A feature with only a name: no ranges, missing values refused.
    pub fn named(name: impl Into<String>) -> Self {
        Feature {
            name: name.into(),
            valid_range: None,
            train_range: None,
            allow_missing: false,
        }
    }
}

/// What the model predicts.
#[derive(Clone, Debug, PartialEq)]
pub enum Task {
    /// One value per row.
    Regression,
    /// A probability per class; the label is the first class of highest probability.
    Classification {
        /// Class labels in the order of the probability vector.
        classes: Vec<String>,
        /// The labels were integers in the source (JSON answers then give numbers).
        integer_labels: bool,
    },
}

/// How tree outputs are combined into the model's raw outputs, and then transformed.
#[derive(Clone, Debug, PartialEq)]
pub enum Aggregation {
    /// Random forests: the sum of leaf vectors in tree order (float64), divided by the
    /// number of trees.
    Average,
    /// Boosting: start from `base` (one value per output) and add each tree's leaf onto
    /// its output in tree order, then apply `link`.
    Sum {
        /// The starting margin of every output.
        base: Vec<f64>,
        /// The function from margins to probabilities or values.
        link: Link,
        /// Accumulate in float32 (XGBoost) rather than float64.
        accumulate_f32: bool,
        /// Divide each summed margin by the number of boosting rounds (trees per
        /// output) before `link`: LightGBM's random-forest mode (`average_output`).
        divide_by_rounds: bool,
    },
}

/// The transform from summed margins to outputs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Link {
    /// The margin is the output.
    Identity,
    /// `1 / (1 + exp(-x))`; with one output it is the positive class probability.
    Sigmoid,
    /// `exp(x_i - max) / Σ exp(x_j - max)` over the outputs.
    Softmax,
    /// `exp(x)` (Poisson and other log-link regressions).
    Exp,
    /// `1 / (1 + exp(-s * x))` in float64: LightGBM's binary objective with its
    /// `sigmoid` parameter `s` (the product is taken first, as LightGBM does).
    ScaledSigmoid(f64),
    /// scikit-learn's softmax (`exp(x_i - max) / Σ exp(x_j - max)`) as numpy 2 computes
    /// it on CPUs with AVX-512, whose `exp` is Intel SVML's
    /// ([`crate::svml_exp::exp_ha`]), the sum in numpy's order for the layout of the
    /// model's raw predictions: scikit-learn's multiclass `HalfMultinomialLoss`.
    SoftmaxSvml(RowSum),
    /// `exp(x_i - logsumexp(x))` with SciPy's `logsumexp` of the given kind, as numpy 1
    /// computes it on CPUs with AVX-512 ([`crate::svml_exp::exp_la`],
    /// [`crate::svml_log`]), sums in numpy's pairwise order: scikit-learn 1.0–1.3's
    /// multinomial GradientBoosting.
    LogSumExp(LogSumExp),
    /// CatBoost's MultiClass softmax, whose `exp` is fmath's fast `expd`
    /// ([`crate::fmath_exp`]).
    SoftmaxCatBoost,
}

/// The order in which numpy sums a row of a 2-D array (`sum(axis=1)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowSum {
    /// In order, left to right: a Fortran-ordered array, whose rows numpy sums by
    /// adding column after column (HistGradientBoosting's raw predictions).
    InOrder,
    /// numpy's pairwise summation: a C-ordered array (GradientBoosting's raw
    /// predictions). In order below 8 values; from 8, eight running sums combined as
    /// `((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))`, then the rest in order.
    Pairwise,
}

/// SciPy's two formulas for `logsumexp` (of a row `x` with maximum `max`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogSumExp {
    /// SciPy before 1.15: `log(Σ exp(x_j - max)) + max`.
    LogOfSum,
    /// SciPy 1.15 and later: `log1p(Σ exp(x_j - max) / m) + log(m) + max`, the sum over
    /// the values other than the `m` maxima.
    Log1pOfRest,
}

impl core::fmt::Display for Link {
    /// How a link is named in summaries (`edgewood inspect`): `identity`, `sigmoid`,
    /// `softmax`, `exp`, `sigmoid(s x)` with LightGBM's scale `s`, or a softmax named
    /// with the library arithmetic it reproduces.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Link::Identity => f.write_str("identity"),
            Link::Sigmoid => f.write_str("sigmoid"),
            Link::Softmax => f.write_str("softmax"),
            Link::Exp => f.write_str("exp"),
            Link::ScaledSigmoid(s) => write!(f, "sigmoid({s} x)"),
            Link::SoftmaxSvml(RowSum::InOrder) => f.write_str("softmax (numpy AVX-512 exp)"),
            Link::SoftmaxSvml(RowSum::Pairwise) => {
                f.write_str("softmax (numpy AVX-512 exp, pairwise sum)")
            }
            Link::LogSumExp(LogSumExp::LogOfSum) => {
                f.write_str("exp(x - logsumexp) (SciPy < 1.15, numpy 1 AVX-512)")
            }
            Link::LogSumExp(LogSumExp::Log1pOfRest) => {
                f.write_str("exp(x - logsumexp) (SciPy >= 1.15, numpy 1 AVX-512)")
            }
            Link::SoftmaxCatBoost => f.write_str("softmax (CatBoost fast exp)"),
        }
    }
}

/// How a split compares an input value with its threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    /// Cast the input to float32 and go left when `x <= threshold`, the threshold being
    /// stored as float32. Exact for scikit-learn forests when the float64 threshold is
    /// rounded *down* to float32 (see [`f32_at_or_below`]), and for XGBoost's `x < t`
    /// when the threshold is stored as the float32 just below `t`.
    F32LessEqual,
    /// Compare the float64 input with a float64 threshold: go left when `x <= threshold`.
    F64LessEqual,
}

/// One decision tree: an arena of nodes whose root is `nodes[0]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Tree {
    /// The nodes; children refer to indices in this vector.
    pub nodes: Vec<Node>,
    /// For `leaf_width == 1` ensembles with several outputs: the output this tree adds to.
    pub output: u32,
    /// What the source recorded about each node, which explanations need; `None`
    /// when it recorded nothing (ONNX).
    pub stats: Option<NodeStats>,
}

/// Per-node statistics of a [`Tree`], indexed like its nodes.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeStats {
    /// The training cover of each node: the (weighted) samples or hessian sum that
    /// reached it (scikit-learn `weighted_n_node_samples`, XGBoost `sum_hessian`,
    /// LightGBM `internal_count` / `leaf_count`). Path-dependent TreeSHAP weighs each
    /// branch by its share of its parent's cover.
    pub cover: Vec<f64>,
    /// The number the source library gives each node as a row's leaf (scikit-learn
    /// `apply` and XGBoost `pred_leaf`: the node id; LightGBM `pred_leaf`: the leaf
    /// index). Empty: the node's index in the tree.
    pub leaf_ids: Vec<u32>,
}

/// A node of a [`Tree`].
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// A binary split on one feature.
    Split {
        /// The feature index tested.
        feature: u32,
        /// Go left when the input is `<=` this threshold (see [`Comparison`]).
        threshold: f64,
        /// Where a missing (NaN) input goes.
        missing_left: bool,
        /// Index of the left child in the tree's node vector.
        left: u32,
        /// Index of the right child in the tree's node vector.
        right: u32,
    },
    /// A leaf with `leaf_width` values.
    Leaf(Vec<f64>),
    /// A split with a boosting library's own rule: a categorical set test, or
    /// LightGBM's treatment of missing values and zeros.
    Rule {
        /// The feature index tested.
        feature: u32,
        /// The test that sends an input left.
        test: SplitTest,
        /// What counts as missing and where it goes.
        missing: Missing,
        /// Index of the left child in the tree's node vector.
        left: u32,
        /// Index of the right child in the tree's node vector.
        right: u32,
    },
}

/// The test of a [`Node::Rule`].
#[derive(Clone, Debug, PartialEq)]
pub enum SplitTest {
    /// Go left when the input is `<=` this threshold (see [`Comparison`]).
    LessEqual(f64),
    /// A categorical split. The input's category is its value truncated toward zero
    /// (after the float32 cast of a narrow model). With [`Comparison::F32LessEqual`]
    /// (XGBoost) a negative input has no category; with [`Comparison::F64LessEqual`]
    /// (LightGBM) an input whose truncation is negative has none. An input with no
    /// category, or one beyond the set, is not in the set.
    InSet {
        /// The categories of the set (any order; duplicates are harmless).
        categories: Vec<u32>,
        /// Members go left (LightGBM) rather than right (XGBoost).
        in_set_left: bool,
        /// Only an input that is exactly an integer has a category (scikit-learn's
        /// HistGradientBoosting: 2.5 is an unknown category, not category 2).
        integers_only: bool,
    },
}

/// The missing-value rule of a [`Node::Rule`], applied in this order:
/// `tiny_as_zero`, `nan_as_zero`, then the input is missing if it is NaN or (with
/// `zero_is_missing`) `|x| <= 1e-35f32`, and a missing input goes where `left` says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Missing {
    /// A missing input goes to the left child.
    pub left: bool,
    /// `|x| <= 1e-35f32` becomes `0.0` (LightGBM drops such values from its input).
    pub tiny_as_zero: bool,
    /// NaN becomes `0.0` (LightGBM missing type `None` and `Zero`).
    pub nan_as_zero: bool,
    /// Zero counts as missing (LightGBM missing type `Zero`).
    pub zero_is_missing: bool,
}

/// LightGBM's `kZeroThreshold` (`1e-35f`, a float32 widened to double).
pub const ZERO_THRESHOLD: f64 = 1e-35f32 as f64;

/// The most categories a [`SplitTest::InSet`] may name: `2^24` (XGBoost's limit),
/// so that a bitset holds at most 512 Ki words.
pub const MAX_CATEGORY: u32 = 1 << 24;

/// The largest float32 that is `<=` the float64 `t`: comparing a float32 input against
/// it with `<=` decides exactly as comparing the same input, widened, against `t`.
pub fn f32_at_or_below(t: f64) -> f32 {
    let r = t as f32; // round to nearest
    if t.is_nan() || (r as f64) <= t {
        r
    } else {
        next_down_f32(r)
    }
}

/// The largest float32 strictly below `x` (for `x < t` ⇔ `x <= next_down(t)`).
pub fn next_down_f32(x: f32) -> f32 {
    if x.is_nan() || x == f32::NEG_INFINITY {
        return x;
    }
    if x == 0.0 {
        return -f32::from_bits(1);
    }
    let bits = x.to_bits();
    f32::from_bits(if x > 0.0 { bits - 1 } else { bits + 1 })
}

impl Ensemble {
    /// Number of model outputs: classes for classification (but 1 for a binary
    /// classifier whose single margin is the positive-class log-odds), 1 for regression.
    pub fn n_outputs(&self) -> usize {
        match (&self.task, &self.aggregation) {
            (Task::Regression, _) => 1,
            (Task::Classification { classes, .. }, Aggregation::Sum { base, .. }) => {
                if classes.len() == 2 && base.len() == 1 {
                    1
                } else {
                    classes.len()
                }
            }
            (Task::Classification { classes, .. }, Aggregation::Average) => classes.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_down_keeps_decisions() {
        for &t in &[0.8f64, 1.75, 2.449999988079071, -0.1, 1e-40, 3.0] {
            let d = f32_at_or_below(t);
            assert!((d as f64) <= t);
            let up = f32::from_bits(if d >= 0.0 {
                d.to_bits() + 1
            } else {
                d.to_bits() - 1
            });
            assert!((up as f64) > t || d == 0.0 && t == 0.0);
        }
        assert_eq!(next_down_f32(1.0), 0.99999994);
        assert_eq!(next_down_f32(0.0), -f32::from_bits(1));
    }
}
