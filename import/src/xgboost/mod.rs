//! XGBoost models saved with `save_model` as JSON or UBJSON (also from the
//! scikit-learn wrappers), read in two steps: [`XgbModel::parse`] keeps what the file
//! says, [`XgbModel::to_ensemble`] turns it into an [`Ensemble`] with XGBoost's own
//! arithmetic: float32 `x < t` decisions, float32 accumulation onto the base margin,
//! categorical sets whose members go right, and float32 sigmoid / softmax.

mod ubjson;

use std::fmt;

use edgewood_core::{
    next_down_f32, Aggregation, Comparison, Ensemble, Feature, Link, Missing, Node, NodeStats,
    SplitTest, Task, Tree, MAX_CATEGORY,
};
use serde_json::Value;

use crate::reader::Reader;
use crate::{ImportError, SourceFormat};

/// Most trees and nodes per tree accepted (far beyond real models; bounds memory).
const MAX_TREES: usize = 1 << 20;
const MAX_NODES: usize = 1 << 24;

/// Why an XGBoost model could not be read.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum XgbError {
    /// The JSON text is malformed.
    Json(String),
    /// The UBJSON bytes are malformed or truncated.
    Ubjson {
        /// Byte offset of the problem.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
    /// A field is missing or has the wrong type.
    Field {
        /// JSON path of the field.
        path: String,
        /// What it should be.
        expected: &'static str,
    },
    /// A value is outside what the format allows.
    Invalid {
        /// JSON path (or tree and node) of the value.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A model feature this reader does not support (named).
    Unsupported(String),
}

impl fmt::Display for XgbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XgbError::Json(e) => write!(f, "XGBoost JSON: {e}"),
            XgbError::Ubjson { offset, reason } => {
                write!(f, "XGBoost UBJSON: {reason} at byte {offset}")
            }
            XgbError::Field { path, expected } => {
                write!(f, "XGBoost model: {path} is missing or not {expected}")
            }
            XgbError::Invalid { path, reason } => write!(f, "XGBoost model: {path}: {reason}"),
            XgbError::Unsupported(what) => write!(f, "XGBoost model: unsupported {what}"),
        }
    }
}

impl std::error::Error for XgbError {}

/// The objectives Edgewood reproduces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Objective {
    /// `binary:logistic`: sigmoid of the margin, two classes.
    BinaryLogistic,
    /// `binary:logitraw`: the raw margin (answered as a regression value).
    BinaryLogitRaw,
    /// `multi:softprob`: softmax over the class margins.
    SoftProb,
    /// `multi:softmax`: the class of highest margin (probabilities given as softmax).
    SoftMax,
    /// `reg:squarederror` and other identity-link regressions.
    Identity,
    /// `reg:logistic`: sigmoid of the margin as a value.
    RegLogistic,
    /// `count:poisson` and other log-link regressions: `exp` of the margin.
    Exp,
}

/// One tree as stored (parallel arrays, index = node id).
#[derive(Clone, Debug, PartialEq)]
pub struct XgbTree {
    /// Left child of each node, `-1` at leaves.
    pub left_children: Vec<i64>,
    /// Right child of each node.
    pub right_children: Vec<i64>,
    /// Feature of each split.
    pub split_indices: Vec<i64>,
    /// Threshold of each split, value of each leaf.
    pub split_conditions: Vec<f32>,
    /// Where a missing value goes at each split.
    pub default_left: Vec<bool>,
    /// `0` numeric, `1` categorical.
    pub split_type: Vec<u8>,
    /// Categories of each categorical node: (node id, categories).
    pub categories: Vec<(usize, Vec<u32>)>,
    /// Each node's `sum_hessian` (its cover for explanations); empty when absent.
    pub sum_hessian: Vec<f32>,
}

/// A faithful parse of an XGBoost model file.
#[derive(Clone, Debug, PartialEq)]
pub struct XgbModel {
    /// `version` of the writer, e.g. `[3, 2, 0]`.
    pub version: Vec<i64>,
    /// `learner.objective.name`.
    pub objective_name: String,
    /// The objective, recognised.
    pub objective: Objective,
    /// Number of input features.
    pub num_feature: usize,
    /// Number of classes (0 for single-output objectives).
    pub num_class: usize,
    /// `base_score` values as stored (probability space for logistic objectives).
    pub base_score: Vec<f32>,
    /// Feature names (may be empty).
    pub feature_names: Vec<String>,
    /// The trees in order.
    pub trees: Vec<XgbTree>,
    /// Output group (class) of each tree.
    pub tree_info: Vec<usize>,
    /// DART weights, one per tree, when the booster is `dart`.
    pub weight_drop: Option<Vec<f32>>,
    /// `classes_` from the scikit-learn wrapper's attributes, when stored.
    pub classes: Option<Vec<String>>,
}

/// Whether `bytes` look like an XGBoost UBJSON model (an object whose first key has a
/// UBJSON length marker) rather than JSON text.
pub fn is_ubjson(bytes: &[u8]) -> bool {
    bytes.first() == Some(&b'{')
        && matches!(
            bytes.get(1),
            Some(b'U' | b'i' | b'I' | b'l' | b'L' | b'$' | b'#')
        )
}

/// Whether `bytes` look like an XGBoost model, JSON or UBJSON.
pub fn sniff(bytes: &[u8]) -> bool {
    if is_ubjson(bytes) {
        return bytes.windows(7).take(64).any(|w| w == b"learner");
    }
    let head = &bytes[..bytes.len().min(256)];
    let text = String::from_utf8_lossy(head);
    text.trim_start().starts_with('{') && text.contains("\"learner\"")
}

/// Reads a model from JSON or UBJSON bytes and converts it, checked as
/// [`crate::convert`] checks it.
pub fn read(bytes: &[u8]) -> Result<Ensemble, ImportError> {
    crate::checked(read_unchecked(bytes)?)
}

/// XGBoost's entry in the reader table.
pub(crate) const READER: Reader = Reader {
    sniff: |bytes| {
        sniff(bytes).then(|| {
            if is_ubjson(bytes) {
                SourceFormat::XgboostUbjson
            } else {
                SourceFormat::XgboostJson
            }
        })
    },
    read: |bytes, _, _| read_unchecked(bytes),
};

fn read_unchecked(bytes: &[u8]) -> Result<Ensemble, ImportError> {
    Ok(XgbModel::parse(bytes)?.to_ensemble()?)
}

fn field<'v>(v: &'v Value, path: &str) -> Result<&'v Value, XgbError> {
    let mut cur = v;
    for key in path.split('.') {
        cur = cur.get(key).ok_or_else(|| XgbError::Field {
            path: path.to_string(),
            expected: "present",
        })?;
    }
    Ok(cur)
}

fn as_array<'v>(v: &'v Value, path: &str) -> Result<&'v Vec<Value>, XgbError> {
    v.as_array().ok_or_else(|| XgbError::Field {
        path: path.to_string(),
        expected: "an array",
    })
}

/// An integer stored as a number or as a decimal string (XGBoost writes both).
fn as_int(v: &Value, path: &str) -> Result<i64, XgbError> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(*b as i64),
        _ => None,
    }
    .ok_or_else(|| XgbError::Field {
        path: path.to_string(),
        expected: "an integer",
    })
}

fn ints(v: &Value, path: &str) -> Result<Vec<i64>, XgbError> {
    as_array(v, path)?
        .iter()
        .enumerate()
        .map(|(i, x)| as_int(x, &format!("{path}[{i}]")))
        .collect()
}

fn floats(v: &Value, path: &str) -> Result<Vec<f32>, XgbError> {
    as_array(v, path)?
        .iter()
        .enumerate()
        .map(|(i, x)| {
            x.as_f64().map(|x| x as f32).ok_or_else(|| XgbError::Field {
                path: format!("{path}[{i}]"),
                expected: "a number",
            })
        })
        .collect()
}

fn count(v: &Value, path: &str, max: usize) -> Result<usize, XgbError> {
    let n = as_int(v, path)?;
    usize::try_from(n)
        .ok()
        .filter(|&n| n <= max)
        .ok_or_else(|| XgbError::Invalid {
            path: path.to_string(),
            reason: format!("{n} is not a count between 0 and {max}"),
        })
}

/// `base_score` as stored: `"5E-1"` or `"[5E-1]"` or `"[a,b,c]"`.
fn parse_base_score(s: &str) -> Result<Vec<f32>, XgbError> {
    let inner = s.trim().trim_start_matches('[').trim_end_matches(']');
    inner
        .split(',')
        .map(|x| {
            x.trim()
                .parse::<f32>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| XgbError::Invalid {
                    path: "learner.learner_model_param.base_score".into(),
                    reason: format!("{s:?} is not a number or list of numbers"),
                })
        })
        .collect()
}

impl XgbModel {
    /// Parses JSON or UBJSON bytes, keeping the file's own structure.
    pub fn parse(bytes: &[u8]) -> Result<Self, XgbError> {
        let root: Value = if is_ubjson(bytes) {
            ubjson::parse(bytes)?
        } else {
            serde_json::from_slice(bytes).map_err(|e| XgbError::Json(e.to_string()))?
        };
        Self::from_value(&root)
    }

    /// Reads the model out of the parsed document.
    pub fn from_value(root: &Value) -> Result<Self, XgbError> {
        let version = root
            .get("version")
            .map(|v| ints(v, "version"))
            .transpose()?;
        let learner = field(root, "learner")?;
        let objective_name = field(learner, "objective.name")?
            .as_str()
            .ok_or(XgbError::Field {
                path: "learner.objective.name".into(),
                expected: "a string",
            })?
            .to_string();
        let objective = match objective_name.as_str() {
            "binary:logistic" => Objective::BinaryLogistic,
            "binary:logitraw" => Objective::BinaryLogitRaw,
            "multi:softprob" => Objective::SoftProb,
            "multi:softmax" => Objective::SoftMax,
            "reg:squarederror"
            | "reg:linear"
            | "reg:pseudohubererror"
            | "reg:absoluteerror"
            | "reg:quantileerror"
            | "reg:squaredlogerror" => Objective::Identity,
            "reg:logistic" => Objective::RegLogistic,
            "count:poisson" | "reg:gamma" | "reg:tweedie" => Objective::Exp,
            other => return Err(XgbError::Unsupported(format!("objective {other:?}"))),
        };
        let param = field(learner, "learner_model_param")?;
        let p = "learner.learner_model_param";
        let num_feature = count(
            field(param, "num_feature")?,
            &format!("{p}.num_feature"),
            65_535,
        )?;
        let num_class = count(
            field(param, "num_class")?,
            &format!("{p}.num_class"),
            65_535,
        )?;
        if let Some(t) = param.get("num_target") {
            if count(t, &format!("{p}.num_target"), 65_535)? > 1 {
                return Err(XgbError::Unsupported(
                    "multi-target model (num_target > 1)".into(),
                ));
            }
        }
        let base_score = parse_base_score(field(param, "base_score")?.as_str().ok_or(
            XgbError::Field {
                path: format!("{p}.base_score"),
                expected: "a string",
            },
        )?)?;
        let feature_names = match learner.get("feature_names") {
            Some(v) => as_array(v, "learner.feature_names")?
                .iter()
                .map(|n| n.as_str().unwrap_or("").to_string())
                .collect(),
            None => Vec::new(),
        };
        let booster = field(learner, "gradient_booster")?;
        let name = field(booster, "name")?.as_str().unwrap_or("");
        let (model, weight_drop) = match name {
            "gbtree" => (field(booster, "model")?, None),
            "dart" => (
                field(booster, "gbtree.model")?,
                Some(floats(
                    field(booster, "weight_drop")?,
                    "learner.gradient_booster.weight_drop",
                )?),
            ),
            other => return Err(XgbError::Unsupported(format!("booster {other:?}"))),
        };
        let mp = "learner.gradient_booster.model";
        let trees_v = as_array(field(model, "trees")?, &format!("{mp}.trees"))?;
        if trees_v.len() > MAX_TREES {
            return Err(XgbError::Invalid {
                path: format!("{mp}.trees"),
                reason: format!("{} trees is more than {MAX_TREES}", trees_v.len()),
            });
        }
        let tree_info: Vec<usize> = ints(field(model, "tree_info")?, &format!("{mp}.tree_info"))?
            .into_iter()
            .enumerate()
            .map(|(i, g)| {
                usize::try_from(g).map_err(|_| XgbError::Invalid {
                    path: format!("{mp}.tree_info[{i}]"),
                    reason: format!("negative output group {g}"),
                })
            })
            .collect::<Result<_, _>>()?;
        let mut trees = Vec::with_capacity(trees_v.len());
        for (t, tv) in trees_v.iter().enumerate() {
            trees.push(parse_tree(tv, &format!("{mp}.trees[{t}]"))?);
        }
        let classes = learner
            .get("attributes")
            .and_then(|a| a.get("scikit_learn"))
            .and_then(|s| s.as_str())
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
            .and_then(|s| {
                s.get("classes_").and_then(|c| {
                    let c = c.get("data").unwrap_or(c);
                    c.as_array().map(|a| {
                        a.iter()
                            .map(|x| match x {
                                Value::String(s) => s.clone(),
                                other => other.to_string(),
                            })
                            .collect()
                    })
                })
            });
        Ok(XgbModel {
            version: version.unwrap_or_default(),
            objective_name,
            objective,
            num_feature,
            num_class,
            base_score,
            feature_names,
            trees,
            tree_info,
            weight_drop,
            classes,
        })
    }

    /// Number of output groups (margins).
    pub fn n_groups(&self) -> usize {
        self.num_class.max(1)
    }

    /// The starting margin of each group, as XGBoost computes it from `base_score`
    /// (in float32: `-logf(1/b - 1)` for logistic objectives, `logf(b)` for log links).
    pub fn base_margins(&self) -> Result<Vec<f32>, XgbError> {
        let n = self.n_groups();
        let stored: Vec<f32> = match self.base_score.len() {
            1 => vec![self.base_score[0]; n],
            k if k == n => self.base_score.clone(),
            k => {
                return Err(XgbError::Invalid {
                    path: "learner.learner_model_param.base_score".into(),
                    reason: format!("{k} values for {n} output groups"),
                })
            }
        };
        Ok(stored
            .into_iter()
            .map(|b| match self.objective {
                // binary:logitraw keeps base_score as a margin.
                // XGBoost takes glibc's `logf`. The float64 log rounded to float32 gives
                // the same value, and `libm::log` gives it on every target (std's `ln`
                // is glibc's natively but another implementation in wasm, so a model
                // converted in the browser would differ from the CLI's by an ulp).
                Objective::BinaryLogistic | Objective::RegLogistic => {
                    -(libm::log((1.0f32 / b - 1.0f32) as f64) as f32)
                }
                Objective::Exp => libm::log(b as f64) as f32,
                _ => b,
            })
            .collect())
    }

    /// Converts to an [`Ensemble`] that predicts exactly as XGBoost does.
    pub fn to_ensemble(&self) -> Result<Ensemble, XgbError> {
        let groups = self.n_groups();
        if self.num_feature == 0 {
            return Err(XgbError::Invalid {
                path: "learner.learner_model_param.num_feature".into(),
                reason: "a model needs at least one feature".into(),
            });
        }
        if self.tree_info.len() != self.trees.len() {
            return Err(XgbError::Invalid {
                path: "learner.gradient_booster.model.tree_info".into(),
                reason: format!(
                    "{} entries for {} trees",
                    self.tree_info.len(),
                    self.trees.len()
                ),
            });
        }
        if let Some(w) = &self.weight_drop {
            if w.len() != self.trees.len() {
                return Err(XgbError::Invalid {
                    path: "learner.gradient_booster.weight_drop".into(),
                    reason: format!("{} weights for {} trees", w.len(), self.trees.len()),
                });
            }
        }
        let base = self.base_margins()?;
        let mut trees = Vec::with_capacity(self.trees.len());
        for (t, tree) in self.trees.iter().enumerate() {
            let group = self.tree_info[t];
            if group >= groups {
                return Err(XgbError::Invalid {
                    path: format!("learner.gradient_booster.model.tree_info[{t}]"),
                    reason: format!("output group {group} of {groups}"),
                });
            }
            let weight = self.weight_drop.as_ref().map(|w| w[t]);
            let mut converted = convert_tree(t, tree, self.num_feature, weight)?;
            converted.output = group as u32;
            trees.push(converted);
        }
        let features: Vec<Feature> = (0..self.num_feature)
            .map(|i| Feature {
                allow_missing: true,
                ..Feature::named(
                    self.feature_names
                        .get(i)
                        .filter(|n| !n.is_empty())
                        .cloned()
                        .unwrap_or_else(|| format!("f{i}")),
                )
            })
            .collect();
        let classes = |n: usize| -> (Vec<String>, bool) {
            match &self.classes {
                Some(c) if c.len() == n => {
                    let ints = c.iter().all(|s| s.parse::<i64>().is_ok());
                    (c.clone(), ints)
                }
                _ => ((0..n).map(|i| i.to_string()).collect(), true),
            }
        };
        let (task, link) = match self.objective {
            Objective::BinaryLogistic => {
                let (classes, integer_labels) = classes(2);
                (
                    Task::Classification {
                        classes,
                        integer_labels,
                    },
                    Link::Sigmoid,
                )
            }
            Objective::SoftProb | Objective::SoftMax => {
                let (classes, integer_labels) = classes(groups);
                (
                    Task::Classification {
                        classes,
                        integer_labels,
                    },
                    Link::Softmax,
                )
            }
            Objective::BinaryLogitRaw | Objective::Identity => (Task::Regression, Link::Identity),
            Objective::RegLogistic => (Task::Regression, Link::Sigmoid),
            Objective::Exp => (Task::Regression, Link::Exp),
        };
        let n_outputs = match (&task, link) {
            (Task::Classification { .. }, Link::Softmax) => groups,
            _ => 1,
        };
        if groups != n_outputs {
            return Err(XgbError::Invalid {
                path: "learner.learner_model_param.num_class".into(),
                reason: format!(
                    "{groups} output groups for objective {}",
                    self.objective_name
                ),
            });
        }
        let version = self
            .version
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(".");
        Ok(Ensemble {
            features,
            task,
            aggregation: Aggregation::Sum {
                base: base.iter().map(|&b| b as f64).collect(),
                link,
                accumulate_f32: true,
                divide_by_rounds: false,
            },
            comparison: Comparison::F32LessEqual,
            leaf_width: 1,
            trees,
            source: format!("xgboost {version} {}", self.objective_name),
        })
    }
}

fn parse_tree(tv: &Value, path: &str) -> Result<XgbTree, XgbError> {
    let num_nodes = count(
        field(tv, "tree_param.num_nodes")?,
        &format!("{path}.tree_param.num_nodes"),
        MAX_NODES,
    )?;
    if let Some(s) = tv.get("tree_param").and_then(|p| p.get("size_leaf_vector")) {
        if as_int(s, path)? > 1 {
            return Err(XgbError::Unsupported(format!(
                "vector-leaf tree at {path} (multi_strategy=multi_output_tree)"
            )));
        }
    }
    let get = |name: &str| field(tv, name).map(|v| (v, format!("{path}.{name}")));
    let check_len = |name: &str, len: usize| {
        if len != num_nodes {
            Err(XgbError::Invalid {
                path: format!("{path}.{name}"),
                reason: format!("{len} entries for num_nodes {num_nodes}"),
            })
        } else {
            Ok(())
        }
    };
    let (v, p) = get("left_children")?;
    let left_children = ints(v, &p)?;
    check_len("left_children", left_children.len())?;
    let (v, p) = get("right_children")?;
    let right_children = ints(v, &p)?;
    check_len("right_children", right_children.len())?;
    let (v, p) = get("split_indices")?;
    let split_indices = ints(v, &p)?;
    check_len("split_indices", split_indices.len())?;
    let (v, p) = get("split_conditions")?;
    let split_conditions = floats(v, &p)?;
    check_len("split_conditions", split_conditions.len())?;
    let (v, p) = get("default_left")?;
    let default_left: Vec<bool> = ints(v, &p)?.into_iter().map(|x| x != 0).collect();
    check_len("default_left", default_left.len())?;
    let split_type: Vec<u8> = match tv.get("split_type") {
        Some(v) => ints(v, &format!("{path}.split_type"))?
            .into_iter()
            .map(|x| x as u8)
            .collect(),
        None => vec![0; num_nodes],
    };
    check_len("split_type", split_type.len())?;
    let sum_hessian = match tv.get("sum_hessian") {
        Some(v) => {
            let h = floats(v, &format!("{path}.sum_hessian"))?;
            check_len("sum_hessian", h.len())?;
            h
        }
        None => Vec::new(),
    };
    let mut categories = Vec::new();
    if let Some(nodes) = tv.get("categories_nodes") {
        let nodes = ints(nodes, &format!("{path}.categories_nodes"))?;
        let segments = ints(
            field(tv, "categories_segments")?,
            &format!("{path}.categories_segments"),
        )?;
        let sizes = ints(
            field(tv, "categories_sizes")?,
            &format!("{path}.categories_sizes"),
        )?;
        let cats = ints(field(tv, "categories")?, &format!("{path}.categories"))?;
        if segments.len() != nodes.len() || sizes.len() != nodes.len() {
            return Err(XgbError::Invalid {
                path: format!("{path}.categories_segments"),
                reason: format!(
                    "{} segments and {} sizes for {} categorical nodes",
                    segments.len(),
                    sizes.len(),
                    nodes.len()
                ),
            });
        }
        for (k, ((&node, &seg), &size)) in nodes.iter().zip(&segments).zip(&sizes).enumerate() {
            let bad = |reason: String| XgbError::Invalid {
                path: format!("{path}.categories_nodes[{k}]"),
                reason,
            };
            let node = usize::try_from(node)
                .ok()
                .filter(|&n| n < num_nodes)
                .ok_or_else(|| bad(format!("node {node} out of range")))?;
            let (seg, size) = (seg.max(-1), size.max(-1));
            let range = usize::try_from(seg)
                .ok()
                .zip(usize::try_from(size).ok())
                .and_then(|(s, n)| Some(s..s.checked_add(n)?))
                .filter(|r| r.end <= cats.len())
                .ok_or_else(|| {
                    bad(format!(
                        "segment {seg}+{size} outside {} categories",
                        cats.len()
                    ))
                })?;
            let list = cats[range]
                .iter()
                .map(|&c| {
                    u32::try_from(c)
                        .ok()
                        .filter(|&c| c < MAX_CATEGORY)
                        .ok_or_else(|| bad(format!("category {c} out of range")))
                })
                .collect::<Result<Vec<u32>, _>>()?;
            categories.push((node, list));
        }
    }
    Ok(XgbTree {
        left_children,
        right_children,
        split_indices,
        split_conditions,
        default_left,
        split_type,
        categories,
        sum_hessian,
    })
}

/// One tree as an arena. `dart` is the tree's weight for DART boosters.
fn convert_tree(
    t: usize,
    tree: &XgbTree,
    num_feature: usize,
    dart: Option<f32>,
) -> Result<Tree, XgbError> {
    let n = tree.left_children.len();
    if n == 0 {
        return Err(XgbError::Invalid {
            path: format!("tree {t}"),
            reason: "no nodes".into(),
        });
    }
    let path = |i: usize| format!("tree {t} node {i}");
    let child = |i: usize, c: i64| -> Result<u32, XgbError> {
        usize::try_from(c)
            .ok()
            .filter(|&c| c < n && c != 0)
            .map(|c| c as u32)
            .ok_or_else(|| XgbError::Invalid {
                path: path(i),
                reason: format!("child index {c} out of range 1..{n}"),
            })
    };
    let cats: std::collections::HashMap<usize, &Vec<u32>> =
        tree.categories.iter().map(|(n, c)| (*n, c)).collect();
    let mut nodes = Vec::with_capacity(n);
    for i in 0..n {
        let value = tree.split_conditions[i];
        if tree.left_children[i] == -1 {
            let leaf = match dart {
                // DART scales each tree's leaf by its weight, in float32.
                Some(w) => value * w,
                None => value,
            };
            nodes.push(Node::Leaf(vec![leaf as f64]));
            continue;
        }
        let left = child(i, tree.left_children[i])?;
        let right = child(i, tree.right_children[i])?;
        let feature = u32::try_from(tree.split_indices[i])
            .ok()
            .filter(|&f| (f as usize) < num_feature)
            .ok_or_else(|| XgbError::Invalid {
                path: path(i),
                reason: format!(
                    "split on feature {} of {num_feature}",
                    tree.split_indices[i]
                ),
            })?;
        let missing_left = tree.default_left[i];
        if tree.split_type[i] == 1 {
            let categories =
                cats.get(&i)
                    .map(|c| (*c).clone())
                    .ok_or_else(|| XgbError::Invalid {
                        path: path(i),
                        reason: "categorical split without categories".into(),
                    })?;
            nodes.push(Node::Rule {
                feature,
                test: SplitTest::InSet {
                    categories,
                    in_set_left: false,
                    integers_only: false,
                },
                missing: Missing {
                    left: missing_left,
                    ..Missing::default()
                },
                left,
                right,
            });
        } else {
            if value.is_nan() {
                return Err(XgbError::Invalid {
                    path: path(i),
                    reason: "NaN split condition".into(),
                });
            }
            nodes.push(Node::Split {
                feature,
                // float32 `x < t` is `x <= next_down(t)`.
                threshold: next_down_f32(value) as f64,
                missing_left,
                left,
                right,
            });
        }
    }
    let stats = (tree.sum_hessian.len() == n).then(|| NodeStats {
        cover: tree.sum_hessian.iter().map(|&h| h as f64).collect(),
        leaf_ids: Vec::new(),
    });
    Ok(Tree {
        nodes,
        output: 0,
        stats,
    })
}
