//! scikit-learn tree models, read from the inert object graph of a pickle.
//!
//! Two steps, as in tract: [`SklearnForest::from_pickle`] is a faithful parse of the
//! estimator's attributes (node records, leaf values, classes, feature names) into
//! plain structs, checking every size and index; [`SklearnForest::to_ensemble`] then
//! translates that into an [`Ensemble`] with scikit-learn's own arithmetic:
//!
//! * a split sends `x` left when `float32(x) <= threshold` (float64 threshold), which
//!   the core reproduces exactly with [`Comparison::F32LessEqual`];
//! * NaN follows the node's `missing_go_to_left` (sklearn ≥ 1.3 node layout), and goes
//!   right on older layouts, where `NaN <= t` is false;
//! * classifier leaves are class fractions since sklearn 1.4 and are used as they are;
//!   older pickles hold weighted counts, normalised here exactly as their
//!   `predict_proba` did (`proba / proba.sum(axis=1)`, numpy's pairwise summation, a
//!   zero sum replaced by 1);
//! * a forest averages its trees' leaf vectors in estimator order ([`Aggregation::Average`]).
//!
//! Missing values: `Feature::allow_missing` is set when the scikit-learn version that
//! wrote the model accepts NaN at predict time for that estimator: DecisionTree* with
//! `splitter="best"` from 1.3, RandomForest* and DecisionTree* from 1.4, every tree
//! model from 1.6. Otherwise sklearn raises on NaN, and so does Edgewood's validation.
//!
//! [`Ensemble`]: edgewood_core::Ensemble
//! [`Comparison::F32LessEqual`]: edgewood_core::Comparison::F32LessEqual
//! [`Aggregation::Average`]: edgewood_core::Aggregation::Average

pub mod boosting;
mod error;
mod forest;
mod numpy_sum;
pub(crate) mod reader;
mod tree;

pub use error::SklearnError;
pub use numpy_sum::{normalise_row, numpy_sum};
use tree::read_tree;

use edgewood_core::{NodeStats, Task};

use crate::pickle::numpy::{self, Kind};
use crate::pickle::{Id, Pickle, Value};

/// The supported estimator classes (the class name; the module may vary by version).
pub const ESTIMATORS: &[&str] = &[
    "RandomForestClassifier",
    "RandomForestRegressor",
    "ExtraTreesClassifier",
    "ExtraTreesRegressor",
    "DecisionTreeClassifier",
    "DecisionTreeRegressor",
    "ExtraTreeClassifier",
    "ExtraTreeRegressor",
];

/// A forest (or a single tree) as scikit-learn stores it.
#[derive(Clone, Debug, PartialEq)]
pub struct SklearnForest {
    /// The estimator class name, e.g. `RandomForestClassifier`.
    pub class: &'static str,
    /// `_sklearn_version`, when recorded.
    pub version: Option<String>,
    /// `n_features_in_`.
    pub n_features: usize,
    /// `feature_names_in_`, when the model was fit on a DataFrame.
    pub feature_names: Option<Vec<String>>,
    /// `classes_` of a classifier.
    pub classes: Option<Classes>,
    /// The trees, in estimator order (one for a single decision tree).
    pub trees: Vec<SklearnTree>,
    /// `splitter` of a single decision tree (`"best"` or `"random"`).
    pub splitter: Option<String>,
}

/// A classifier's `classes_`.
#[derive(Clone, Debug, PartialEq)]
pub enum Classes {
    /// Integer labels.
    Integers(Vec<i64>),
    /// Text (or other) labels, as Python prints them.
    Labels(Vec<String>),
}

impl Classes {
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn len(&self) -> usize {
        match self {
            Classes::Integers(v) => v.len(),
            Classes::Labels(v) => v.len(),
        }
    }

    /// The classification task with these labels (integer labels as their decimal text).
    fn task(&self) -> Task {
        let (classes, integer_labels) = match self {
            Classes::Integers(v) => (v.iter().map(|i| i.to_string()).collect(), true),
            Classes::Labels(v) => (v.clone(), false),
        };
        Task::Classification {
            classes,
            integer_labels,
        }
    }
}

/// One `sklearn.tree._tree.Tree`.
#[derive(Clone, Debug, PartialEq)]
pub struct SklearnTree {
    /// The node records.
    pub nodes: Vec<SklearnNode>,
    /// Whether the node layout has `missing_go_to_left` (sklearn ≥ 1.3).
    pub has_missing_field: bool,
    /// `values`, row-major `node_count × n_outputs × max_n_classes`.
    pub values: Vec<f64>,
    /// `max_n_classes` (1 for a regressor).
    pub width: usize,
    /// Each node's `weighted_n_node_samples` (its cover for explanations); empty when
    /// the node layout lacks the field.
    pub cover: Vec<f64>,
}

/// One node record.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SklearnNode {
    /// Left child, or -1 (`TREE_LEAF`) at a leaf.
    pub left_child: i64,
    /// Right child, or -1 at a leaf.
    pub right_child: i64,
    /// The feature tested (-2 at a leaf).
    pub feature: i64,
    /// Go left when `float32(x) <= threshold`.
    pub threshold: f64,
    /// Where NaN goes (false on layouts without the field).
    pub missing_go_to_left: bool,
}

impl SklearnTree {
    /// The node statistics of the converted tree (arena index = sklearn node id).
    pub(crate) fn stats(&self) -> Option<NodeStats> {
        (!self.cover.is_empty()).then(|| NodeStats {
            cover: self.cover.clone(),
            leaf_ids: Vec::new(),
        })
    }

    /// [`Self::stats`], taking the covers instead of copying them.
    pub(crate) fn into_stats(self) -> Option<NodeStats> {
        (!self.cover.is_empty()).then_some(NodeStats {
            cover: self.cover,
            leaf_ids: Vec::new(),
        })
    }
}

fn bad(path: impl Into<String>, reason: impl Into<String>) -> SklearnError {
    SklearnError::Invalid {
        path: path.into(),
        reason: reason.into(),
    }
}

/// A required attribute of the object at `id`.
fn attr(p: &Pickle, id: Id, path: &str, key: &str) -> Result<Id, SklearnError> {
    p.attr(id, key)
        .ok_or_else(|| bad(format!("{path}{key}"), "missing"))
}

fn usize_attr(p: &Pickle, id: Id, path: &str, key: &str) -> Result<usize, SklearnError> {
    let v = attr(p, id, path, key)?;
    p.as_i64(v)
        .and_then(|v| usize::try_from(v).ok())
        .ok_or_else(|| {
            bad(
                format!("{path}{key}"),
                format!("expected a count, found {}", p.type_name(v)),
            )
        })
}

/// The ensemble's `source`, e.g. `scikit-learn 1.9.1 RandomForestClassifier (joblib,
/// zlib, protocol 4)`.
fn source(class: &str, version: Option<&str>, container: &str) -> String {
    let version = version.map(|v| format!(" {v}")).unwrap_or_default();
    format!("scikit-learn{version} {class} ({container})")
}

/// What every estimator stores of its schema.
struct Schema {
    /// `n_features_in_`, or `n_features_` before scikit-learn 1.0.
    n_features: usize,
    /// `feature_names_in_`, when fit on a DataFrame.
    feature_names: Option<Vec<String>>,
    /// `classes_` of a classifier (known by the class name's suffix).
    classes: Option<Classes>,
}

/// Reads the estimator's [`Schema`]; `name` is its class name.
fn read_schema(p: &Pickle, root: Id, name: &str) -> Result<Schema, SklearnError> {
    let n_features = match p.attr(root, "n_features_in_") {
        Some(_) => usize_attr(p, root, "", "n_features_in_")?,
        None => usize_attr(p, root, "", "n_features_")?,
    };
    // Checked before anything is sized by it: a corrupt count must not allocate.
    let max = edgewood_core::layout::MAX_FEATURES as usize;
    if n_features == 0 || n_features > max {
        return Err(bad(
            "n_features_in_",
            format!("{n_features} features: a model needs 1 to {max}"),
        ));
    }
    let feature_names = match p.attr(root, "feature_names_in_") {
        None => None,
        Some(id) if matches!(p.get(id), Value::None) => None,
        Some(id) => {
            let a = numpy::array(p, id).map_err(|e| bad("feature_names_in_", e))?;
            let names = numpy::strings(p, &a).map_err(|e| bad("feature_names_in_", e))?;
            if names.len() != n_features {
                return Err(bad(
                    "feature_names_in_",
                    format!("{} names for {n_features} features", names.len()),
                ));
            }
            Some(names)
        }
    };
    let classes = if name.ends_with("Classifier") {
        Some(read_classes(p, attr(p, root, "", "classes_")?)?)
    } else {
        None
    };
    Ok(Schema {
        n_features,
        feature_names,
        classes,
    })
}

fn read_classes(p: &Pickle, id: Id) -> Result<Classes, SklearnError> {
    let a = numpy::array(p, id).map_err(|e| bad("classes_", e))?;
    if a.shape.len() != 1 {
        return Err(bad(
            "classes_",
            format!("expected a vector, found shape {:?}", a.shape),
        ));
    }
    let classes = match a.dtype.kind {
        Kind::Int | Kind::UInt => Classes::Integers(a.to_i64().map_err(|e| bad("classes_", e))?),
        Kind::Bool => Classes::Labels(
            a.to_i64()
                .map_err(|e| bad("classes_", e))?
                .into_iter()
                .map(|b| if b != 0 { "True" } else { "False" }.to_string())
                .collect(),
        ),
        Kind::Float => Classes::Labels(
            a.to_f64()
                .map_err(|e| bad("classes_", e))?
                .into_iter()
                .map(|f| format!("{f:?}"))
                .collect(),
        ),
        Kind::Object => {
            // Object arrays may mix Python ints and strs; ints stay integer labels.
            let numpy::Data::Objects(items) = &a.data else {
                return Err(bad("classes_", "an object array without objects"));
            };
            if let Some(ints) = items
                .iter()
                .map(|&i| match p.get(i) {
                    Value::Int(v) => Some(*v),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()
            {
                Classes::Integers(ints)
            } else {
                Classes::Labels(numpy::strings(p, &a).map_err(|e| bad("classes_", e))?)
            }
        }
        _ => Classes::Labels(numpy::strings(p, &a).map_err(|e| bad("classes_", e))?),
    };
    // One class is a model fitted on a single class: scikit-learn predicts it with
    // probability 1 (boosting refuses to fit one, and its reader refuses it too).
    if classes.is_empty() {
        return Err(bad("classes_", "no classes"));
    }
    Ok(classes)
}
