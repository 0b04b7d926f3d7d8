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
//!   regressors `raw`.
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
//! Not supported (refused with the reason): other losses than log-loss / squared error /
//! absolute error / quantile / Huber, and `init` estimators other than scikit-learn's
//! dummy ones.

use edgewood_core::{
    Aggregation, Comparison, Ensemble, Feature, Link, Missing, Node, NodeStats, SplitTest, Task,
    Tree, MAX_CATEGORY,
};

use super::{attr, bad, read_schema, read_tree, Classes, Schema};
use crate::pickle::numpy::{self, Data, Kind};
use crate::pickle::{Id, Pickle, Value};
use crate::sklearn::SklearnError;

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
                let (classes, integer_labels) = match c {
                    Classes::Integers(v) => (v.iter().map(|i| i.to_string()).collect(), true),
                    Classes::Labels(v) => (v.clone(), false),
                };
                let link = if classes.len() == 2 {
                    Link::Sigmoid
                } else {
                    Link::Softmax
                };
                (
                    Task::Classification {
                        classes,
                        integer_labels,
                    },
                    link,
                )
            }
        };
        let version = self
            .version
            .as_deref()
            .map(|v| format!(" {v}"))
            .unwrap_or_default();
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
            source: format!("scikit-learn{version} {} ({container})", self.class),
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
    let init = attr(p, root, "", "init_")?;
    let base: Vec<f64> = if p.as_str(init) == Some("zero") {
        vec![0.0; k]
    } else {
        let object = p
            .object(init)
            .ok_or_else(|| bad("init_", format!("unsupported init {}", p.type_name(init))))?;
        match p.class_of(object).name {
            "DummyClassifier" => {
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
                if loss == "HalfBinomialLoss" {
                    if prior.len() != 2 {
                        return Err(bad(
                            "init_.class_prior_",
                            format!("{} classes", prior.len()),
                        ));
                    }
                    vec![logit(prior[1])]
                } else {
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
                    prior.iter().map(|&x| libm::log(x / gm)).collect()
                }
            }
            "DummyRegressor" => {
                let (_, c) =
                    f64_array(p, attr(p, init, "init_.", "constant_")?, "init_.constant_")?;
                if c.len() != 1 {
                    return Err(bad("init_.constant_", format!("{} values", c.len())));
                }
                c
            }
            other => {
                return Err(bad(
                    "init_",
                    format!("init estimator {other} is not supported"),
                ))
            }
        }
    };
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
            trees.push(Tree {
                nodes,
                stats: tree.stats(),
                output: c as u32,
            });
        }
    }
    Ok((base, trees))
}

/// Bits of one scikit-learn categorical bitset: 8 × 32 = 256 codes (its `X_BINNED_DTYPE`
/// is `uint8`, so no code is larger).
type Bitset = [u32; 8];

fn has(b: &Bitset, code: usize) -> bool {
    code < 256 && b[code / 32] >> (code % 32) & 1 != 0
}

/// How a HistGradientBoosting `_preprocessor` re-codes the caller's columns.
#[derive(Debug)]
struct Recoding {
    /// The input column of each re-ordered column the trees index.
    column: Vec<u32>,
    /// Per re-ordered column: for a categorical one, the category value of each code
    /// (`OrdinalEncoder.categories_` without its trailing NaN).
    categories: Vec<Option<Vec<u32>>>,
    /// Per re-ordered column: the codes seen in training (`_bin_mapper.known_categories`).
    known: Vec<Option<Bitset>>,
}

/// The input columns a `ColumnTransformer` entry selects: a boolean mask or indices,
/// as a numpy array or a Python list.
fn columns(p: &Pickle, id: Id, path: &str, n: usize) -> Result<Vec<usize>, SklearnError> {
    let (bools, ints): (Option<Vec<bool>>, Vec<i64>) = match p.get(id) {
        Value::List(items) | Value::Tuple(items) => {
            if items.iter().all(|&i| matches!(p.get(i), Value::Bool(_))) {
                let b = items
                    .iter()
                    .map(|&i| matches!(p.get(i), Value::Bool(true)))
                    .collect();
                (Some(b), Vec::new())
            } else {
                let v = items
                    .iter()
                    .map(|&i| p.as_i64(i))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| bad(path, "columns are neither booleans nor indices"))?;
                (None, v)
            }
        }
        _ => {
            let a = numpy::array(p, id).map_err(|e| bad(path, e))?;
            let v = a.to_i64().map_err(|e| bad(path, e))?;
            if a.dtype.kind == Kind::Bool {
                (Some(v.iter().map(|&b| b != 0).collect()), Vec::new())
            } else {
                (None, v)
            }
        }
    };
    match bools {
        Some(mask) if mask.len() == n => Ok((0..n).filter(|&i| mask[i]).collect()),
        // An empty list selects nothing (the `remainder` entry).
        Some(mask) if mask.is_empty() => Ok(Vec::new()),
        Some(mask) => Err(bad(
            path,
            format!("a mask of {} for {n} columns", mask.len()),
        )),
        None => ints
            .iter()
            .map(|&c| {
                usize::try_from(c)
                    .ok()
                    .filter(|&c| c < n)
                    .ok_or_else(|| bad(path, format!("column {c} of {n}")))
            })
            .collect(),
    }
}

/// Whether a `FunctionTransformer` passes values through unchanged: no function, or
/// `functools.partial(check_array, …)` (which only validates), never anything else.
fn is_identity_function(p: &Pickle, t: Id) -> bool {
    let Some(func) = p.attr(t, "func") else {
        return false;
    };
    if matches!(p.get(func), Value::None) {
        return true;
    }
    let is_check_array = |id: Id| matches!(p.get(id), Value::Global(g) if g.module == "sklearn.utils.validation" && g.name == "check_array");
    let Some(o) = p.object(func) else {
        return false;
    };
    if p.class_of(o).name != "partial" {
        return false;
    }
    // partial's state is (func, args, keywords, dict); its REDUCE argument is (func,).
    let from_state = o
        .state
        .and_then(|s| p.as_seq(s))
        .and_then(|s| s.first().copied());
    let from_args = o
        .args
        .first()
        .and_then(|&a| p.as_seq(a).and_then(|s| s.first().copied()));
    from_state.or(from_args).is_some_and(is_check_array) && from_args.is_none_or(is_check_array)
}

/// Reads `_preprocessor` (None when the model has no categorical feature).
fn read_recoding(p: &Pickle, root: Id, n: usize) -> Result<Option<Recoding>, SklearnError> {
    let Some(pre) = p.attr(root, "_preprocessor") else {
        return Ok(None);
    };
    if matches!(p.get(pre), Value::None) {
        return Ok(None);
    }
    let class = p.type_name(pre);
    if !class.ends_with(".ColumnTransformer") {
        return Err(bad("_preprocessor", format!("{class} is not supported")));
    }
    let list = attr(p, pre, "_preprocessor.", "transformers_")?;
    let list = p
        .as_seq(list)
        .ok_or_else(|| bad("_preprocessor.transformers_", "not a list"))?;
    let mut column = Vec::with_capacity(n);
    let mut categories = Vec::with_capacity(n);
    for (i, &entry) in list.iter().enumerate() {
        let path = format!("_preprocessor.transformers_[{i}]");
        let [_, t, cols] = p.as_seq(entry).unwrap_or_default()[..] else {
            return Err(bad(&path, "not a (name, transformer, columns) tuple"));
        };
        let cols = columns(p, cols, &format!("{path}[2]"), n)?;
        match p.as_str(t) {
            Some("drop") if cols.is_empty() => continue,
            Some("passthrough") => {
                categories.extend(cols.iter().map(|_| None));
                column.extend(cols);
                continue;
            }
            _ => {}
        }
        let class = p.object(t).map(|o| p.class_of(o).name);
        match class {
            Some("OrdinalEncoder") => {
                let cats = read_encoder(p, t, &path, cols.len())?;
                categories.extend(cats.into_iter().map(Some));
            }
            Some("FunctionTransformer") if is_identity_function(p, t) => {
                categories.extend(cols.iter().map(|_| None));
            }
            _ => {
                return Err(bad(
                    &path,
                    format!("transformer {} is not supported", p.type_name(t)),
                ))
            }
        }
        column.extend(cols);
    }
    let mut seen = vec![false; n];
    for &c in &column {
        if std::mem::replace(&mut seen[c], true) {
            return Err(bad("_preprocessor", format!("column {c} is used twice")));
        }
    }
    if column.len() != n {
        return Err(bad(
            "_preprocessor",
            format!("{} of {n} columns reach the trees", column.len()),
        ));
    }
    // The codes seen in training, per re-ordered column, as the predictor uses them.
    let mapper = attr(p, root, "", "_bin_mapper")?;
    let kc = attr(p, mapper, "_bin_mapper.", "known_categories")?;
    let kc = p
        .as_seq(kc)
        .ok_or_else(|| bad("_bin_mapper.known_categories", "not a list"))?;
    if kc.len() != n {
        return Err(bad(
            "_bin_mapper.known_categories",
            format!("{} entries for {n} features", kc.len()),
        ));
    }
    let mut known = Vec::with_capacity(n);
    for (f, (&id, cats)) in kc.iter().zip(&categories).enumerate() {
        let path = format!("_bin_mapper.known_categories[{f}]");
        match (p.get(id), cats) {
            (Value::None, None) => known.push(None),
            (_, Some(cats)) => {
                let a = numpy::array(p, id).map_err(|e| bad(&path, e))?;
                let mut bits = [0u32; 8];
                for code in a.to_f64().map_err(|e| bad(&path, e))? {
                    if !(code >= 0.0 && code < cats.len() as f64 && code.fract() == 0.0) {
                        return Err(bad(
                            &path,
                            format!("code {code} is not one of the {} categories", cats.len()),
                        ));
                    }
                    bits[code as usize / 32] |= 1 << (code as usize % 32);
                }
                known.push(Some(bits));
            }
            (_, None) => return Err(bad(&path, "categories for a numerical feature")),
        }
    }
    Ok(Some(Recoding {
        column: column.into_iter().map(|c| c as u32).collect(),
        categories,
        known,
    }))
}

/// An `OrdinalEncoder` as HistGradientBoosting configures it: the category values of
/// each of its `n` columns, in code order.
fn read_encoder(p: &Pickle, t: Id, path: &str, n: usize) -> Result<Vec<Vec<u32>>, SklearnError> {
    let path = format!("{path}[1].");
    let s = |key: &str| p.attr(t, key).and_then(|v| p.as_str(v));
    let nan = |key: &str| {
        p.attr(t, key)
            .and_then(|v| p.as_f64(v))
            .is_some_and(f64::is_nan)
    };
    if s("handle_unknown") != Some("use_encoded_value")
        || !nan("unknown_value")
        || !nan("encoded_missing_value")
    {
        return Err(bad(
            path,
            "only handle_unknown='use_encoded_value' with unknown and missing values encoded as NaN is supported",
        ));
    }
    let list = attr(p, t, &path, "categories_")?;
    let list = p
        .as_seq(list)
        .ok_or_else(|| bad(format!("{path}categories_"), "not a list"))?;
    if list.len() != n {
        return Err(bad(
            format!("{path}categories_"),
            format!("{} lists for {n} columns", list.len()),
        ));
    }
    let mut out = Vec::with_capacity(n);
    for (j, &id) in list.iter().enumerate() {
        let cpath = format!("{path}categories_[{j}]");
        let a = numpy::array(p, id).map_err(|e| bad(&cpath, e))?;
        if !matches!(a.dtype.kind, Kind::Float | Kind::Int | Kind::UInt) {
            return Err(bad(
                &cpath,
                format!(
                    "categories of dtype {} (text): Edgewood reads categories as numbers, so \
                     fit the model on integer category codes",
                    a.dtype.describe()
                ),
            ));
        }
        let mut v = a.to_f64().map_err(|e| bad(&cpath, e))?;
        // The encoder lists NaN last when the column had missing values.
        if v.last().is_some_and(|x| x.is_nan()) {
            v.pop();
        }
        if v.len() > 256 {
            return Err(bad(&cpath, format!("{} categories (at most 256)", v.len())));
        }
        let mut cats = Vec::with_capacity(v.len());
        for &x in &v {
            if !(x >= 0.0 && x < MAX_CATEGORY as f64 && x.fract() == 0.0) {
                return Err(bad(
                    &cpath,
                    format!("category {x:?} is not an integer from 0 to 2^24 - 1"),
                ));
            }
            if cats.last().is_some_and(|&l| l >= x as u32) {
                return Err(bad(&cpath, "categories are not strictly increasing"));
            }
            cats.push(x as u32);
        }
        out.push(cats);
    }
    Ok(out)
}

/// A predictor's `raw_left_cat_bitsets` (rows of 8 words).
fn left_bitsets(p: &Pickle, pred: Id, path: &str) -> Result<Vec<Bitset>, SklearnError> {
    let path = format!("{path}raw_left_cat_bitsets");
    let Some(id) = p.attr(pred, "raw_left_cat_bitsets") else {
        return Ok(Vec::new());
    };
    let a = numpy::array(p, id).map_err(|e| bad(&path, e))?;
    let rows = match a.shape[..] {
        [r, 8] => r,
        [0] | [0, _] => 0,
        _ => {
            return Err(bad(
                &path,
                format!("shape {:?} (expected rows of 8)", a.shape),
            ))
        }
    };
    if a.dtype.kind != Kind::UInt || a.dtype.itemsize != 4 {
        return Err(bad(
            &path,
            format!("dtype {} (expected <u4)", a.dtype.describe()),
        ));
    }
    let v = a.to_i64().map_err(|e| bad(&path, e))?;
    Ok((0..rows)
        .map(|r| {
            let mut b = [0u32; 8];
            for (w, x) in b.iter_mut().enumerate() {
                // Fortran order stores each word column together.
                let at = if a.fortran { w * rows + r } else { r * 8 + w };
                *x = v[at] as u32;
            }
            b
        })
        .collect())
}

/// HistGradientBoosting: `_baseline_prediction` and `_predictors` (iterations × K).
fn read_hgb(
    p: &Pickle,
    root: Id,
    n_features: usize,
    k: usize,
) -> Result<(Vec<f64>, Vec<Tree>), SklearnError> {
    let recoding = read_recoding(p, root, n_features)?;
    let (_, base) = f64_array(
        p,
        attr(p, root, "", "_baseline_prediction")?,
        "_baseline_prediction",
    )?;
    if base.len() != k {
        return Err(bad(
            "_baseline_prediction",
            format!("{} values for {k} outputs", base.len()),
        ));
    }
    let list = attr(p, root, "", "_predictors")?;
    let iterations = p
        .as_seq(list)
        .ok_or_else(|| bad("_predictors", "not a list"))?;
    let mut trees = Vec::new();
    for (it, &iteration) in iterations.iter().enumerate() {
        let preds = p
            .as_seq(iteration)
            .ok_or_else(|| bad(format!("_predictors[{it}]"), "not a list"))?;
        if preds.len() != k {
            return Err(bad(
                format!("_predictors[{it}]"),
                format!("{} trees for {k} outputs", preds.len()),
            ));
        }
        for (c, &pred) in preds.iter().enumerate() {
            let path = format!("_predictors[{it}][{c}].nodes");
            let a = numpy::array(
                p,
                attr(p, pred, &format!("_predictors[{it}][{c}]."), "nodes")?,
            )
            .map_err(|e| bad(&path, e))?;
            let n = match a.shape[..] {
                [n] if n > 0 => n,
                _ => return Err(bad(&path, format!("shape {:?}", a.shape))),
            };
            let field = |name: &str| {
                a.dtype
                    .field(name)
                    .ok_or_else(|| bad(&path, format!("no field {name:?}")))
            };
            let (fv, ff, ft, fm, fl, fr, fleaf, fcat) = (
                field("value")?,
                field("feature_idx")?,
                field("num_threshold")?,
                field("missing_go_to_left")?,
                field("left")?,
                field("right")?,
                field("is_leaf")?,
                field("is_categorical")?,
            );
            let left_sets = left_bitsets(p, pred, &format!("_predictors[{it}][{c}]."))?;
            let fset = a.dtype.field("bitset_idx");
            // Each node's training sample count: its cover for explanations.
            let fcount = a.dtype.field("count");
            let bytes = a.bytes();
            let size = a.dtype.itemsize;
            let int = |f: &numpy::Field, i: usize| {
                f.dtype
                    .read_i64(bytes, i * size + f.offset)
                    .ok_or_else(|| bad(format!("{path}[{i}].{}", f.name), "unreadable"))
            };
            let float = |f: &numpy::Field, i: usize| {
                f.dtype
                    .read_f64(bytes, i * size + f.offset)
                    .ok_or_else(|| bad(format!("{path}[{i}].{}", f.name), "unreadable"))
            };
            if fv.dtype.kind != Kind::Float || ft.dtype.kind != Kind::Float {
                return Err(bad(&path, "value / num_threshold are not floats"));
            }
            let mut nodes = Vec::with_capacity(n);
            let mut cover = Vec::with_capacity(if fcount.is_some() { n } else { 0 });
            for i in 0..n {
                if let Some(f) = fcount {
                    cover.push(int(f, i)? as f64);
                }
                if int(fleaf, i)? != 0 {
                    nodes.push(Node::Leaf(vec![float(fv, i)?]));
                    continue;
                }
                let child = |f: &numpy::Field| -> Result<u32, SklearnError> {
                    let ch = int(f, i)?;
                    u32::try_from(ch)
                        .ok()
                        .filter(|&x| (x as usize) < n && x as usize != i)
                        .ok_or_else(|| {
                            bad(
                                format!("{path}[{i}]"),
                                format!("child {ch} is not a node of this {n}-node tree"),
                            )
                        })
                };
                let f = usize::try_from(int(ff, i)?)
                    .ok()
                    .filter(|&f| f < n_features)
                    .ok_or_else(|| bad(format!("{path}[{i}]"), "feature index out of range"))?;
                // Tree features count the transformer's re-ordered columns.
                let (feature, cats) = match &recoding {
                    Some(r) => (
                        r.column[f],
                        r.categories[f].as_ref().zip(r.known[f].as_ref()),
                    ),
                    None => (f as u32, None),
                };
                let missing_left = int(fm, i)? != 0;
                if int(fcat, i)? != 0 {
                    let at = format!("{path}[{i}]");
                    let (cats, known) = cats.ok_or_else(|| match recoding {
                        Some(_) => bad(&at, format!("categorical split on numerical feature {f}")),
                        // Older releases kept raw categories and no column transformer.
                        None => bad(
                            &at,
                            "categorical split without a `_preprocessor` column transformer \
                             (an older scikit-learn layout, not supported)",
                        ),
                    })?;
                    let fset = fset.ok_or_else(|| bad(&path, "no field \"bitset_idx\""))?;
                    let b = int(fset, i)?;
                    let left = usize::try_from(b)
                        .ok()
                        .and_then(|b| left_sets.get(b))
                        .ok_or_else(|| {
                            bad(
                                &at,
                                format!(
                                    "bitset_idx {b} of {} raw_left_cat_bitsets",
                                    left_sets.len()
                                ),
                            )
                        })?;
                    // scikit-learn's order: a code in the left bitset goes left, another
                    // known code right, anything else where missing values go. The set
                    // holds the codes that do not go the missing way (module doc).
                    let categories = (0..cats.len())
                        .filter(|&code| {
                            if missing_left {
                                !has(left, code) && has(known, code)
                            } else {
                                has(left, code)
                            }
                        })
                        .map(|code| cats[code])
                        .collect();
                    nodes.push(Node::Rule {
                        feature,
                        test: SplitTest::InSet {
                            categories,
                            in_set_left: !missing_left,
                            // 2.5 is no category to scikit-learn's encoder: unknown,
                            // so it goes the missing way with NaN and unseen values.
                            integers_only: true,
                        },
                        missing: Missing {
                            left: missing_left,
                            ..Missing::default()
                        },
                        left: child(fl)?,
                        right: child(fr)?,
                    });
                    continue;
                }
                if cats.is_some() {
                    return Err(bad(
                        format!("{path}[{i}]"),
                        format!("numerical split on categorical feature {f}"),
                    ));
                }
                let threshold = float(ft, i)?;
                if threshold.is_nan() {
                    return Err(bad(format!("{path}[{i}]"), "the threshold is NaN"));
                }
                nodes.push(Node::Split {
                    feature,
                    threshold,
                    missing_left,
                    left: child(fl)?,
                    right: child(fr)?,
                });
            }
            trees.push(Tree {
                nodes,
                stats: (!cover.is_empty()).then(|| NodeStats {
                    cover,
                    leaf_ids: Vec::new(),
                }),
                output: c as u32,
            });
        }
    }
    if trees.is_empty() {
        return Err(bad("_predictors", "the model has no trees"));
    }
    Ok((base, trees))
}
