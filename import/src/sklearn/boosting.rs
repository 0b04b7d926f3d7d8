//! scikit-learn GradientBoosting* and HistGradientBoosting* models, read from the inert
//! object graph of a pickle like the forests of the parent module, and translated with
//! scikit-learn's own arithmetic:
//!
//! * GradientBoosting: `raw = init + Σ learning_rate × leaf` in float64, stage by stage
//!   (each product is stored as the leaf, so the sum is the same additions), splits on
//!   `float32(x) <= threshold`; the init margin is the init estimator's prior through
//!   the loss's link (`scipy.special.logit`, or `log(p / gmean(p))` for multinomial),
//!   computed once here with the C library's `log` / `log1p`, as scipy does.
//! * HistGradientBoosting: `raw = baseline + Σ leaf` in float64, splits on the float64
//!   input `x <= num_threshold`, NaN following `missing_go_to_left`.
//! * Both: binary classifiers answer `expit(raw)`, multiclass `softmax(raw)`,
//!   regressors `raw`. numpy computes the softmax's `exp` with Intel SVML on CPUs with
//!   AVX-512, such as the ones that wrote the reference outputs: the link is
//!   [`Link::SoftmaxSvml`]. scikit-learn 1.1–1.3's `MultinomialDeviance` answers
//!   `exp(raw - logsumexp(raw))` instead ([`Link::LogSumExp`], see `scipy_logsumexp`).
//!
//! HistGradientBoosting with categorical features keeps a `ColumnTransformer` in
//! `_preprocessor`: an `OrdinalEncoder` re-codes each categorical column to the position
//! of its value in `categories_` (a value not seen in training, a negative one or NaN
//! becomes NaN) and moves those columns to the front, so tree feature indices count the
//! re-ordered columns. Edgewood takes the caller's own columns and values (the integer
//! categories the model was fit on, not the codes): this module maps every tree feature
//! back to its input column and every categorical split's code set back to category
//! values. scikit-learn's predictor sends a code in the split's `raw_left_cat_bitsets`
//! left, another known code right, and an unknown one (or NaN) where missing values go;
//! that three-way rule is one core categorical set split:
//!
//! * missing goes right: the set is `left` (scikit-learn tests it before `known`, and
//!   every code its encoder makes is known) and members go left;
//! * missing goes left: the set is `known \ left` and members go RIGHT.
//!
//! Anything outside the set (unknown, negative, NaN) then takes the missing side, as in
//! scikit-learn. A fractional input (`2.5`, `-0.5`) is no category either: the split is
//! marked `integers_only`, since scikit-learn's encoder finds no such category and
//! treats it as missing (a truncating test would take `2.5` for category `2`). Only
//! numeric categories that are non-negative integers below 2^24 are accepted; text
//! categories (a pandas column of strings) are refused, the error naming the encoder's
//! `categories_` entry, since Edgewood's inputs are numbers.
//!
//! scikit-learn 1.1–1.3 pickles keep a `sklearn.ensemble._gb_losses` object in `_loss`
//! (`BinomialDeviance`, `MultinomialDeviance`, `ExponentialLoss`, `LeastSquaresError`,
//! `LeastAbsoluteError`, `HuberLossFunction`, `QuantileLossFunction`): their init
//! margin is numpy's `log(p / (1 - p))` (halved for the exponential loss, whose
//! probability is `expit(2 raw)`), or `log(p)` per class for the multinomial one.
//!
//! Not supported (refused with the reason): other losses than log-loss / exponential /
//! squared error / absolute error / quantile / Huber, and `init` estimators other than
//! scikit-learn's dummy ones.

mod hgb;
mod recoding;

use edgewood_core::{
    Aggregation, Comparison, Ensemble, Feature, Link, LogSumExp, Node, RowSum, Task, Tree,
};

use super::{attr, bad, read_schema, read_tree, source, Classes, Schema, SklearnTree};
use crate::pickle::numpy::{self, Data};
use crate::pickle::{Id, Pickle};
use crate::sklearn::SklearnError;
use hgb::read_hgb;

/// The boosting estimator classes this module reads.
pub const BOOSTING: &[&str] = &[
    "GradientBoostingClassifier",
    "GradientBoostingRegressor",
    "HistGradientBoostingClassifier",
    "HistGradientBoostingRegressor",
];

/// Whether the pickle's root is one of [`BOOSTING`].
pub fn is_boosting(p: &Pickle) -> bool {
    p.object(p.root)
        .is_some_and(|o| BOOSTING.contains(&p.class_of(o).name))
}

/// A boosted model as scikit-learn stores it, reduced to what prediction needs.
#[derive(Clone, Debug, PartialEq)]
pub struct SklearnBoosting {
    /// The estimator class name.
    pub class: &'static str,
    /// `_sklearn_version`, when recorded.
    pub version: Option<String>,
    /// `n_features_in_`.
    pub n_features: usize,
    /// `feature_names_in_`, when fit on a DataFrame.
    pub feature_names: Option<Vec<String>>,
    /// `classes_` of a classifier.
    pub classes: Option<Classes>,
    /// The starting margin of each output.
    pub base: Vec<f64>,
    /// Trees in the order scikit-learn adds them, with the output each adds to.
    pub trees: Vec<Tree>,
    /// Whether splits compare the float64 input (HistGradientBoosting).
    pub float64_splits: bool,
    /// scikit-learn 1.1–1.3's `loss="exponential"`: the probability is `expit(2 raw)`.
    pub exponential: bool,
    /// scikit-learn 1.1–1.3's `MultinomialDeviance`: the probabilities are
    /// `exp(raw - logsumexp(raw))` rather than a softmax.
    pub logsumexp: bool,
}

fn float_attr(p: &Pickle, id: Id, key: &str) -> Result<f64, SklearnError> {
    let v = attr(p, id, "", key)?;
    p.as_f64(v)
        .ok_or_else(|| bad(key, format!("expected a number, found {}", p.type_name(v))))
}

fn f64_array(p: &Pickle, id: Id, path: &str) -> Result<(Vec<usize>, Vec<f64>), SklearnError> {
    let a = numpy::array(p, id).map_err(|e| bad(path, e))?;
    let v = a.to_f64().map_err(|e| bad(path, e))?;
    Ok((a.shape.clone(), v))
}

/// The loss class name (`HalfBinomialLoss`, …).
fn loss_name(p: &Pickle, root: Id) -> Result<&'static str, SklearnError> {
    let loss = attr(p, root, "", "_loss")?;
    p.object(loss).map(|o| p.class_of(o).name).ok_or_else(|| {
        bad(
            "_loss",
            format!("expected a loss object, found {}", p.type_name(loss)),
        )
    })
}

/// `scipy.special.logit` (scipy ≥ 1.11): the plain formula away from 1/2, the
/// `log1p` form near it. `libm`'s functions are the same code on every target, so a
/// model converted in the browser equals the CLI's.
fn logit(x: f64) -> f64 {
    if !(0.3..=0.65).contains(&x) {
        libm::log(x / (1.0 - x))
    } else {
        let s = 2.0 * (x - 0.5);
        libm::log1p(s) - libm::log1p(-s)
    }
}

/// Which SciPy `logsumexp` a scikit-learn 1.0–1.3 `MultinomialDeviance` model meets.
/// SciPy 1.15 changed the formula, and a pickle records scikit-learn's version, not
/// SciPy's: Edgewood assumes the reference environments (`tests/fixtures/README.md`),
/// SciPy 1.13 beside scikit-learn 1.2, and a SciPy of 1.15 or later beside the other
/// versions. Under the other SciPy the probabilities differ by up to 4 ulp (measured).
fn scipy_logsumexp(sklearn_version: Option<&str>) -> LogSumExp {
    match sklearn_version {
        Some(v) if v.starts_with("1.2.") => LogSumExp::LogOfSum,
        _ => LogSumExp::Log1pOfRest,
    }
}

impl SklearnBoosting {
    /// Reads the boosted estimator at the pickle's root.
    pub fn from_pickle(p: &Pickle) -> Result<Self, SklearnError> {
        let root = p.root;
        let class = p
            .object(root)
            .map(|o| p.class_of(o).name)
            .and_then(|n| BOOSTING.iter().copied().find(|&b| b == n))
            .ok_or_else(|| SklearnError::UnsupportedEstimator {
                class: p.type_name(root),
            })?;
        let version = p
            .attr(root, "_sklearn_version")
            .and_then(|v| p.as_str(v))
            .map(str::to_owned);
        let Schema {
            n_features,
            feature_names,
            classes,
        } = read_schema(p, root, class)?;
        let loss = loss_name(p, root)?;
        let n_classes = classes.as_ref().map_or(0, |c| c.len());
        let k = if n_classes > 2 { n_classes } else { 1 };
        match (loss, n_classes) {
            ("HalfBinomialLoss", 2) | ("HalfMultinomialLoss", 3..) => {}
            ("HalfSquaredError" | "AbsoluteError" | "PinballLoss" | "HuberLoss", 0) => {}
            // scikit-learn 1.1–1.3 (`sklearn.ensemble._gb_losses`).
            ("BinomialDeviance" | "ExponentialLoss", 2) | ("MultinomialDeviance", 3..) => {}
            (
                "LeastSquaresError"
                | "LeastAbsoluteError"
                | "HuberLossFunction"
                | "QuantileLossFunction",
                0,
            ) => {}
            (other, _) => {
                return Err(SklearnError::UnsupportedEstimator {
                    class: format!("{class} with loss {other}"),
                })
            }
        }
        let (base, trees, float64_splits) = if class.starts_with("Hist") {
            let (b, t) = read_hgb(p, root, n_features, k)?;
            (b, t, true)
        } else {
            let (b, t) = read_gb(p, root, n_features, k, loss)?;
            (b, t, false)
        };
        Ok(SklearnBoosting {
            class,
            version,
            n_features,
            feature_names,
            classes,
            base,
            trees,
            float64_splits,
            // scikit-learn 1.1–1.3's ExponentialLoss answers expit(2 × raw).
            exponential: loss == "ExponentialLoss",
            logsumexp: loss == "MultinomialDeviance",
        })
    }

    /// Translates into an [`Ensemble`]; [`crate::convert`] encodes and validates it.
    pub fn to_ensemble(&self, container: &str) -> Result<Ensemble, SklearnError> {
        let features = (0..self.n_features)
            .map(|i| {
                let mut f = Feature::named(match &self.feature_names {
                    Some(names) => names[i].clone(),
                    None => format!("x{i}"),
                });
                // HistGradientBoosting accepts NaN; GradientBoosting in 1.9 refuses it.
                f.allow_missing = self.float64_splits;
                f
            })
            .collect();
        let (task, link) = match &self.classes {
            None => (Task::Regression, Link::Identity),
            Some(c) => {
                let link = if self.exponential {
                    Link::ScaledSigmoid(2.0)
                } else if c.len() == 2 {
                    Link::Sigmoid
                } else if self.logsumexp {
                    Link::LogSumExp(scipy_logsumexp(self.version.as_deref()))
                } else if self.float64_splits {
                    // HistGradientBoosting's raw predictions are Fortran-ordered,
                    // GradientBoosting's C-ordered: numpy sums their rows differently.
                    Link::SoftmaxSvml(RowSum::InOrder)
                } else {
                    Link::SoftmaxSvml(RowSum::Pairwise)
                };
                (c.task(), link)
            }
        };
        Ok(Ensemble {
            features,
            task,
            aggregation: Aggregation::Sum {
                base: self.base.clone(),
                link,
                accumulate_f32: false,
                divide_by_rounds: false,
            },
            comparison: if self.float64_splits {
                Comparison::F64LessEqual
            } else {
                Comparison::F32LessEqual
            },
            leaf_width: 1,
            trees: self.trees.clone(),
            source: source(self.class, self.version.as_deref(), container),
        })
    }
}

/// GradientBoosting: `init_`, `learning_rate`, `estimators_` (stages × K trees).
fn read_gb(
    p: &Pickle,
    root: Id,
    n_features: usize,
    k: usize,
    loss: &str,
) -> Result<(Vec<f64>, Vec<Tree>), SklearnError> {
    let lr = float_attr(p, root, "learning_rate")?;
    let base = init_margins(p, attr(p, root, "", "init_")?, k, loss)?;
    let est = attr(p, root, "", "estimators_")?;
    let a = numpy::array(p, est).map_err(|e| bad("estimators_", e))?;
    let (stages, cols) = match a.shape[..] {
        [s, c] => (s, c),
        _ => {
            return Err(bad(
                "estimators_",
                format!("expected 2 dimensions, found {:?}", a.shape),
            ))
        }
    };
    if cols != k || stages == 0 {
        return Err(bad(
            "estimators_",
            format!("shape {:?} for {k} outputs", a.shape),
        ));
    }
    let Data::Objects(items) = &a.data else {
        return Err(bad("estimators_", "not an object array"));
    };
    let mut trees = Vec::with_capacity(stages * k);
    for s in 0..stages {
        for c in 0..k {
            let at = if a.fortran { s + c * stages } else { s * k + c };
            let &e = items
                .get(at)
                .ok_or_else(|| bad("estimators_", "fewer trees than its shape"))?;
            let path = format!("estimators_[{s}, {c}].");
            let tree = read_tree(
                p,
                attr(p, e, &path, "tree_")?,
                &format!("{path}tree_"),
                n_features,
            )?;
            trees.push(Tree {
                nodes: stage_nodes(&tree, &path, lr, n_features)?,
                stats: tree.stats(),
                output: c as u32,
            });
        }
    }
    Ok((base, trees))
}

/// The starting margin of each output from `init_`: zero, or a dummy estimator's
/// prior (classifiers) or constant (regressors) through the loss's link.
fn init_margins(p: &Pickle, init: Id, k: usize, loss: &str) -> Result<Vec<f64>, SklearnError> {
    if p.as_str(init) == Some("zero") {
        return Ok(vec![0.0; k]);
    }
    let object = p
        .object(init)
        .ok_or_else(|| bad("init_", format!("unsupported init {}", p.type_name(init))))?;
    match p.class_of(object).name {
        "DummyClassifier" => prior_margins(p, init, k, loss),
        "DummyRegressor" => {
            let (_, c) = f64_array(p, attr(p, init, "init_.", "constant_")?, "init_.constant_")?;
            if c.len() != 1 {
                return Err(bad("init_.constant_", format!("{} values", c.len())));
            }
            Ok(c)
        }
        other => Err(bad(
            "init_",
            format!("init estimator {other} is not supported"),
        )),
    }
}

/// A `DummyClassifier(strategy="prior")`'s class prior through the loss's link:
/// `logit` of the positive class (binary), `log(p / gmean(p))` (multinomial).
fn prior_margins(p: &Pickle, init: Id, k: usize, loss: &str) -> Result<Vec<f64>, SklearnError> {
    let strategy = p
        .attr(init, "strategy")
        .and_then(|s| p.as_str(s))
        .unwrap_or("prior");
    if strategy != "prior" {
        return Err(bad(
            "init_.strategy",
            format!("{strategy:?} is not supported"),
        ));
    }
    let (_, prior) = f64_array(
        p,
        attr(p, init, "init_.", "class_prior_")?,
        "init_.class_prior_",
    )?;
    // np.clip(p, eps, 1 - eps) with float32's epsilon, then the link.
    let eps = f32::EPSILON as f64;
    let prior: Vec<f64> = prior.iter().map(|&x| x.clamp(eps, 1.0 - eps)).collect();
    let binary = matches!(
        loss,
        "HalfBinomialLoss" | "BinomialDeviance" | "ExponentialLoss"
    );
    if binary && prior.len() != 2 {
        return Err(bad(
            "init_.class_prior_",
            format!("{} classes", prior.len()),
        ));
    }
    // scikit-learn 1.1–1.3 (`_gb_losses`): numpy's log of the ratio, halved for the
    // exponential loss; the multinomial margins are log(p), without the gmean.
    match loss {
        "BinomialDeviance" => return Ok(vec![libm::log(prior[1] / (1.0 - prior[1]))]),
        "ExponentialLoss" => return Ok(vec![0.5 * libm::log(prior[1] / (1.0 - prior[1]))]),
        "MultinomialDeviance" if prior.len() == k => {
            return Ok(prior.iter().map(|&x| libm::log(x)).collect())
        }
        _ => {}
    }
    if loss == "HalfBinomialLoss" {
        if prior.len() != 2 {
            return Err(bad(
                "init_.class_prior_",
                format!("{} classes", prior.len()),
            ));
        }
        return Ok(vec![logit(prior[1])]);
    }
    if prior.len() != k {
        return Err(bad(
            "init_.class_prior_",
            format!("{} priors for {k} classes", prior.len()),
        ));
    }
    // MultinomialLogit.link: log(p / gmean(p)), gmean = exp(mean(log p)).
    let logs: Vec<f64> = prior.iter().map(|&x| libm::log(x)).collect();
    let mean = super::numpy_sum(&logs) / k as f64;
    let gm = edgewood_core::glibc_exp::exp(mean);
    Ok(prior.iter().map(|&x| libm::log(x / gm)).collect())
}

/// One stage's regression tree (at attribute path `path`) as nodes, each leaf already
/// multiplied by the learning rate as scikit-learn adds it.
fn stage_nodes(
    tree: &SklearnTree,
    path: &str,
    lr: f64,
    n_features: usize,
) -> Result<Vec<Node>, SklearnError> {
    let n = tree.nodes.len();
    let mut nodes = Vec::with_capacity(n);
    for (i, node) in tree.nodes.iter().enumerate() {
        if node.left_child == -1 {
            // sklearn adds `learning_rate * value` at each stage.
            nodes.push(Node::Leaf(vec![lr * tree.values[i * tree.width]]));
            continue;
        }
        let child = |ch: i64| {
            u32::try_from(ch)
                .ok()
                .filter(|&x| (x as usize) < n && x as usize != i)
                .ok_or_else(|| {
                    bad(
                        format!("{path}tree_.nodes[{i}]"),
                        format!("child {ch} is not a node of this {n}-node tree"),
                    )
                })
        };
        let feature = u32::try_from(node.feature)
            .ok()
            .filter(|&f| (f as usize) < n_features)
            .ok_or_else(|| {
                bad(
                    format!("{path}tree_.nodes[{i}]"),
                    format!("split on feature {}", node.feature),
                )
            })?;
        nodes.push(Node::Split {
            feature,
            threshold: node.threshold,
            missing_left: node.missing_go_to_left,
            left: child(node.left_child)?,
            right: child(node.right_child)?,
        });
    }
    Ok(nodes)
}
