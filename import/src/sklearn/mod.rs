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

pub mod boosting;
mod error;
pub(crate) mod reader;

pub use error::SklearnError;

use edgewood_core::{Aggregation, Comparison, Ensemble, Feature, Node, NodeStats, Task, Tree};

use crate::pickle::numpy::{self, Kind};
use crate::pickle::{Id, Pickle, Role, Value};

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
    fn len(&self) -> usize {
        match self {
            Classes::Integers(v) => v.len(),
            Classes::Labels(v) => v.len(),
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

/// Parses `major.minor` from a version string such as `1.9.1` or `1.4.dev0`.
fn version_at_least(version: Option<&str>, major: u32, minor: u32) -> bool {
    let Some(v) = version else { return false };
    let mut parts = v.split('.').map(|s| {
        s.chars()
            .take_while(|c| c.is_ascii_digit())
            .collect::<String>()
            .parse::<u32>()
            .unwrap_or(0)
    });
    let (a, b) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (a, b) >= (major, minor)
}

impl SklearnForest {
    /// Reads the estimator at the pickle's root.
    pub fn from_pickle(p: &Pickle) -> Result<Self, SklearnError> {
        let root = p.root;
        let unsupported = || SklearnError::UnsupportedEstimator {
            class: p.type_name(root),
        };
        let object = p.object(root).ok_or_else(unsupported)?;
        let class = p.class_of(object);
        let name = ESTIMATORS
            .iter()
            .copied()
            .find(|&n| n == class.name)
            .filter(|_| class.role == Role::Estimator)
            .ok_or_else(unsupported)?;
        let version = p
            .attr(root, "_sklearn_version")
            .and_then(|v| p.as_str(v))
            .map(str::to_owned);
        let n_outputs = usize_attr(p, root, "", "n_outputs_")?;
        if n_outputs != 1 {
            return Err(bad(
                "n_outputs_",
                format!("{n_outputs} outputs: multi-output models are not supported"),
            ));
        }
        let Schema {
            n_features,
            feature_names,
            classes,
        } = read_schema(p, root, name)?;
        let trees = if name.starts_with("RandomForest") || name.starts_with("ExtraTrees") {
            let list = attr(p, root, "", "estimators_")?;
            let items = match p.get(list) {
                Value::List(v) => v.clone(),
                _ => {
                    return Err(bad(
                        "estimators_",
                        format!("expected a list, found {}", p.type_name(list)),
                    ))
                }
            };
            if items.is_empty() {
                return Err(bad("estimators_", "the forest has no trees"));
            }
            let mut trees = Vec::with_capacity(items.len());
            for (i, &e) in items.iter().enumerate() {
                let path = format!("estimators_[{i}].");
                let est = p.object(e).map(|o| p.class_of(o));
                if !est.is_some_and(|g| g.role == Role::Estimator && g.name.contains("Tree")) {
                    return Err(bad(
                        format!("estimators_[{i}]"),
                        format!("expected a decision tree, found {}", p.type_name(e)),
                    ));
                }
                let tree = attr(p, e, &path, "tree_")?;
                trees.push(read_tree(p, tree, &format!("{path}tree_"), n_features)?);
            }
            trees
        } else {
            vec![read_tree(
                p,
                attr(p, root, "", "tree_")?,
                "tree_",
                n_features,
            )?]
        };
        let splitter = p
            .attr(root, "splitter")
            .and_then(|s| p.as_str(s))
            .map(str::to_owned);
        Ok(SklearnForest {
            class: name,
            version,
            n_features,
            feature_names,
            classes,
            trees,
            splitter,
        })
    }

    /// Whether the scikit-learn that wrote this model accepts NaN at predict time.
    pub fn accepts_missing(&self) -> bool {
        let v = self.version.as_deref();
        if !self.trees.iter().all(|t| t.has_missing_field) {
            return false;
        }
        let best = self.splitter.as_deref() == Some("best");
        match self.class {
            "DecisionTreeClassifier" | "DecisionTreeRegressor" => {
                (best && version_at_least(v, 1, 3)) || version_at_least(v, 1, 6)
            }
            "RandomForestClassifier" | "RandomForestRegressor" => version_at_least(v, 1, 4),
            _ => version_at_least(v, 1, 6),
        }
    }

    /// Whether classifier leaves hold fractions (sklearn ≥ 1.4) rather than counts.
    pub fn leaves_are_fractions(&self) -> bool {
        version_at_least(self.version.as_deref(), 1, 4)
    }

    /// Translates into an [`Ensemble`]; `container` describes the file (`joblib, zlib,
    /// protocol 4`) for the model's `source`. Node records can still describe a cycle or
    /// a shared subtree, which only a walk finds: [`crate::convert`]'s encoding is that
    /// walk.
    pub fn to_ensemble(&self, container: &str) -> Result<Ensemble, SklearnError> {
        let allow_missing = self.accepts_missing();
        let features = (0..self.n_features)
            .map(|i| {
                let mut f = Feature::named(match &self.feature_names {
                    Some(names) => names[i].clone(),
                    None => format!("x{i}"),
                });
                f.allow_missing = allow_missing;
                f
            })
            .collect();
        let (task, width) = match &self.classes {
            None => (Task::Regression, 1),
            Some(c) => {
                let (classes, integer_labels) = match c {
                    Classes::Integers(v) => (v.iter().map(|i| i.to_string()).collect(), true),
                    Classes::Labels(v) => (v.clone(), false),
                };
                (
                    Task::Classification {
                        classes,
                        integer_labels,
                    },
                    c.len(),
                )
            }
        };
        let normalise = self.classes.is_some() && !self.leaves_are_fractions();
        let mut trees = Vec::with_capacity(self.trees.len());
        for (t, tree) in self.trees.iter().enumerate() {
            let path = |i: usize| {
                if self.trees.len() == 1
                    && !self.class.contains("Forest")
                    && !self.class.contains("Trees")
                {
                    format!("tree_.nodes[{i}]")
                } else {
                    format!("estimators_[{t}].tree_.nodes[{i}]")
                }
            };
            if width > tree.width {
                return Err(bad(
                    path(0),
                    format!("{width} classes, but leaves hold {} values", tree.width),
                ));
            }
            let n = tree.nodes.len();
            let mut nodes = Vec::with_capacity(n);
            for (i, node) in tree.nodes.iter().enumerate() {
                if node.left_child == -1 {
                    let row = &tree.values[i * tree.width..i * tree.width + width];
                    nodes.push(Node::Leaf(if normalise {
                        normalise_row(row)
                    } else {
                        row.to_vec()
                    }));
                    continue;
                }
                let child = |c: i64, which: &str| {
                    u32::try_from(c)
                        .ok()
                        .filter(|&c| (c as usize) < n && c as usize != i)
                        .ok_or_else(|| {
                            bad(
                                path(i),
                                format!("{which} child {c} is not a node of this {n}-node tree"),
                            )
                        })
                };
                let left = child(node.left_child, "left")?;
                let right = child(node.right_child, "right")?;
                let feature = u32::try_from(node.feature)
                    .ok()
                    .filter(|&f| (f as usize) < self.n_features)
                    .ok_or_else(|| {
                        bad(
                            path(i),
                            format!(
                                "split on feature {}, but the model has {} features",
                                node.feature, self.n_features
                            ),
                        )
                    })?;
                if node.threshold.is_nan() {
                    return Err(bad(path(i), "the threshold is NaN"));
                }
                nodes.push(Node::Split {
                    feature,
                    threshold: node.threshold,
                    missing_left: node.missing_go_to_left,
                    left,
                    right,
                });
            }
            trees.push(Tree {
                nodes,
                output: 0,
                stats: tree.stats(),
            });
        }
        let version = self
            .version
            .as_deref()
            .map(|v| format!(" {v}"))
            .unwrap_or_default();
        Ok(Ensemble {
            features,
            task,
            aggregation: Aggregation::Average,
            comparison: Comparison::F32LessEqual,
            leaf_width: width,
            trees,
            source: format!("scikit-learn{version} {} ({container})", self.class),
        })
    }
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
    if classes.len() < 2 {
        return Err(bad(
            "classes_",
            format!(
                "{} class(es): a classifier needs at least two",
                classes.len()
            ),
        ));
    }
    Ok(classes)
}

fn read_tree(
    p: &Pickle,
    id: Id,
    path: &str,
    n_features: usize,
) -> Result<SklearnTree, SklearnError> {
    match p.object(id) {
        Some(o) if o.class.role == Role::SklearnTree => {}
        _ => {
            return Err(bad(
                path,
                format!(
                    "expected sklearn.tree._tree.Tree, found {}",
                    p.type_name(id)
                ),
            ))
        }
    }
    let _ = n_features;
    let dot = format!("{path}.");
    let node_count = usize_attr(p, id, &dot, "node_count")?;
    let nodes_path = format!("{path}.nodes");
    let nodes = numpy::array(p, attr(p, id, &dot, "nodes")?).map_err(|e| bad(&nodes_path, e))?;
    if nodes.shape != [node_count] || node_count == 0 {
        return Err(bad(
            &nodes_path,
            format!(
                "shape {:?} does not match node_count {node_count}",
                nodes.shape
            ),
        ));
    }
    let field = |name: &str| {
        nodes.dtype.field(name).ok_or_else(|| {
            bad(
                &nodes_path,
                format!("the node record has no field {name:?}"),
            )
        })
    };
    let (left, right, feature, threshold) = (
        field("left_child")?,
        field("right_child")?,
        field("feature")?,
        field("threshold")?,
    );
    if threshold.dtype.kind != Kind::Float {
        return Err(bad(&nodes_path, "threshold is not a float field"));
    }
    let missing = nodes.dtype.field("missing_go_to_left");
    let weighted = nodes
        .dtype
        .field("weighted_n_node_samples")
        .filter(|f| f.dtype.kind == Kind::Float);
    let size = nodes.dtype.itemsize;
    let bytes = nodes.bytes();
    let int = |f: &numpy::Field, base: usize, i: usize| {
        f.dtype
            .read_i64(bytes, base + f.offset)
            .ok_or_else(|| bad(format!("{nodes_path}[{i}].{}", f.name), "not an integer"))
    };
    let mut records = Vec::with_capacity(node_count);
    let mut cover = Vec::new();
    for i in 0..node_count {
        let base = i * size;
        if let Some(w) = weighted {
            cover.push(w.dtype.read_f64(bytes, base + w.offset).ok_or_else(|| {
                bad(
                    format!("{nodes_path}[{i}].weighted_n_node_samples"),
                    "unreadable",
                )
            })?);
        }
        records.push(SklearnNode {
            left_child: int(left, base, i)?,
            right_child: int(right, base, i)?,
            feature: int(feature, base, i)?,
            threshold: threshold
                .dtype
                .read_f64(bytes, base + threshold.offset)
                .ok_or_else(|| bad(format!("{nodes_path}[{i}].threshold"), "unreadable"))?,
            missing_go_to_left: match missing {
                Some(m) => int(m, base, i)? != 0,
                None => false,
            },
        });
    }
    let values_path = format!("{path}.values");
    let values = numpy::array(p, attr(p, id, &dot, "values")?).map_err(|e| bad(&values_path, e))?;
    let (rows, outputs, width) = match values.shape[..] {
        [a, b, c] => (a, b, c),
        _ => {
            return Err(bad(
                &values_path,
                format!("expected 3 dimensions, found shape {:?}", values.shape),
            ))
        }
    };
    if rows != node_count || outputs != 1 || width == 0 {
        return Err(bad(
            &values_path,
            format!(
                "shape {:?} does not match {node_count} nodes and 1 output",
                values.shape
            ),
        ));
    }
    let raw = values.to_f64().map_err(|e| bad(&values_path, e))?;
    let values = if values.fortran {
        // Column-major: element (i, 0, k) is at i + k × node_count.
        let mut v = vec![0.0; raw.len()];
        for i in 0..rows {
            for k in 0..width {
                v[i * width + k] = raw[i + k * rows];
            }
        }
        v
    } else {
        raw
    };
    Ok(SklearnTree {
        cover,
        nodes: records,
        has_missing_field: missing.is_some(),
        values,
        width,
    })
}

/// numpy's `add.reduce` of a contiguous float64 row: the identity 0 plus the pairwise
/// sum of the whole row (sequential below 8 values, else 8 accumulators in blocks of
/// at most 128, halves above that). Checked against numpy 2.4 in the tests.
pub fn numpy_sum(row: &[f64]) -> f64 {
    0.0 + pairwise_sum(row)
}

fn pairwise_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = 0.0;
        for &x in a {
            res += x;
        }
        res
    } else if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&a[..8]);
        let mut i = 8;
        while i < n - n % 8 {
            for j in 0..8 {
                r[j] += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res += a[i];
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum(&a[..n2]) + pairwise_sum(&a[n2..])
    }
}

/// `proba / normalizer` with a zero normalizer replaced by 1 (sklearn < 1.4).
pub fn normalise_row(row: &[f64]) -> Vec<f64> {
    let mut s = numpy_sum(row);
    if s == 0.0 {
        s = 1.0;
    }
    row.iter().map(|&x| x / s).collect()
}
