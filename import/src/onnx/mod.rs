//! ONNX `ai.onnx.ml` TreeEnsembleClassifier / TreeEnsembleRegressor models (as written by
//! skl2onnx and onnxmltools), read in two steps: [`OnnxTrees::parse`] decodes the few
//! protobuf messages involved into the operator's parallel attribute arrays (opset 1
//! float attributes and opset 3 `*_as_tensor` doubles); [`OnnxTrees::to_ensemble`]
//! builds the trees, mapping every branch mode onto `<=` splits.
//!
//! `BRANCH_EQ` / `BRANCH_NEQ` follow ONNX Runtime exactly: `x == t` (or `x != t`) on the
//! float32 input, NaN going to the true branch when `nodes_missing_value_tracks_true`
//! says so for EQ, and always for NEQ (`NaN != t` holds). The core has only `<=`
//! splits, so `x == t` becomes `x <= t` and not `x <= next_down(t)`, and the "not
//! equal" subtree is written once on each side. A chain of EQ nodes on one feature
//! sharing their true child (how onnxmltools writes a LightGBM categorical split, one
//! node per category) is one set test: a search over the sorted members, each member
//! a point region, where every region holds a copy of its subtree. Copies are bounded:
//! a model whose expansion needs more than [`EXPANSION`] × its node values plus
//! [`EXPANSION_EXTRA`] is refused, with that figure in the message.
//!
//! The arithmetic target is the *source* model (usually scikit-learn, which casts the
//! input to float32), so splits compare the float32 input. An opset 3 file carries the
//! source's exact float64 thresholds and reproduces its decisions; an opset 1 file has
//! only float32 thresholds and leaf weights, a documented approximation (see the tests).

mod proto;

use std::collections::HashMap;
use std::fmt;

use edgewood_core::{
    f32_at_or_below, next_down_f32, Aggregation, Comparison, Ensemble, Feature, Link, Node, Task,
    Tree,
};
use proto::{Field, Fields};

use crate::reader::Reader;
use crate::{ImportError, SourceFormat};

/// Most tree nodes accepted over the whole model.
const MAX_NODES: usize = 1 << 26;

/// How many node values (a split is one, a leaf one per output) the expansion of
/// EQ/NEQ splits may write per node value of the file, on top of [`EXPANSION_EXTRA`].
pub const EXPANSION: usize = 4;

/// Node values any model may add by expansion whatever its size (some 60 MB at
/// most): onnxmltools' LightGBM categorical splits need 10× a small model (measured
/// on the `lgbm_categorical` fixture), while a small file of nested EQ nodes, each
/// doubling the tree below it, must not allocate without bound.
pub const EXPANSION_EXTRA: usize = 1 << 20;

/// Why an ONNX model could not be read.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum OnnxError {
    /// The protobuf bytes are malformed or truncated.
    Protobuf {
        /// Byte offset of the problem.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
    /// The graph holds no tree ensemble, or an operator Edgewood does not run.
    Graph(String),
    /// An attribute of the ensemble is missing or inconsistent.
    Attribute {
        /// The attribute, e.g. `nodes_truenodeids`.
        name: String,
        /// What is wrong.
        reason: String,
    },
}

impl fmt::Display for OnnxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OnnxError::Protobuf { offset, reason } => {
                write!(f, "ONNX model: {reason} at byte {offset}")
            }
            OnnxError::Graph(what) => write!(f, "ONNX model: {what}"),
            OnnxError::Attribute { name, reason } => {
                write!(f, "ONNX model: attribute {name}: {reason}")
            }
        }
    }
}

impl std::error::Error for OnnxError {}

/// The value of one operator attribute.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Attribute {
    /// `ints`, or `i` as a single value.
    pub ints: Vec<i64>,
    /// `floats` (widened), `f`, or a float/double tensor `t`.
    pub floats: Vec<f64>,
    /// `strings`, or `s` as a single value.
    pub strings: Vec<String>,
}

/// A faithful parse: the ensemble operator's attributes and the model's input width.
#[derive(Clone, Debug, PartialEq)]
pub struct OnnxTrees {
    /// `TreeEnsembleClassifier` or `TreeEnsembleRegressor`.
    pub op_type: String,
    /// Attributes by name.
    pub attributes: HashMap<String, Attribute>,
    /// Features in the graph input's shape, when it states one.
    pub n_features: Option<usize>,
    /// The graph input's name.
    pub input_name: String,
    /// `producer_name producer_version`, e.g. `skl2onnx 1.20.0`.
    pub producer: String,
}

/// Whether `bytes` look like an ONNX model holding a tree ensemble.
pub fn sniff(bytes: &[u8]) -> bool {
    bytes.first() == Some(&0x08) && bytes.windows(12).any(|w| w == b"TreeEnsemble")
}

/// Parses and converts an ONNX tree-ensemble model, checked as [`crate::convert`]
/// checks it.
pub fn read(bytes: &[u8]) -> Result<Ensemble, ImportError> {
    crate::checked(read_unchecked(bytes)?)
}

/// ONNX's entry in the reader table.
pub(crate) const READER: Reader = Reader {
    sniff: |bytes| sniff(bytes).then_some(SourceFormat::Onnx),
    read: |bytes, _, _| read_unchecked(bytes),
};

fn read_unchecked(bytes: &[u8]) -> Result<Ensemble, ImportError> {
    Ok(OnnxTrees::parse(bytes)?.to_ensemble()?)
}

fn string(b: &[u8], offset: usize) -> Result<String, OnnxError> {
    String::from_utf8(b.to_vec()).map_err(|_| OnnxError::Protobuf {
        offset,
        reason: "string is not UTF-8".into(),
    })
}

/// Operators that may surround the ensemble without changing its numbers.
const PASSIVE_OPS: &[&str] = &["Cast", "Identity", "ZipMap"];

impl OnnxTrees {
    /// Decodes `ModelProto` → `GraphProto` → the ensemble's `NodeProto`.
    pub fn parse(bytes: &[u8]) -> Result<Self, OnnxError> {
        let mut model = Fields::new(bytes, 0);
        let (mut graph, mut producer) = (None, Vec::new());
        while let Some((n, v, off)) = model.next_field()? {
            match (n, v) {
                (2 | 3, Field::Bytes(b)) => producer.push(string(b, off)?),
                (7, Field::Bytes(b)) => graph = Some((b, off)),
                _ => {}
            }
        }
        let (graph, goff) = graph.ok_or_else(|| OnnxError::Graph("no graph".into()))?;
        let mut g = Fields::new(graph, goff);
        let mut ensemble = None;
        let mut input = None;
        while let Some((n, v, off)) = g.next_field()? {
            match (n, v) {
                (1, Field::Bytes(b)) => {
                    let node = parse_node(b, off)?;
                    if node.0.starts_with("TreeEnsemble") {
                        if ensemble.is_some() {
                            return Err(OnnxError::Graph(
                                "more than one tree ensemble operator".into(),
                            ));
                        }
                        ensemble = Some(node);
                    } else if !PASSIVE_OPS.contains(&node.0.as_str()) {
                        return Err(OnnxError::Graph(format!(
                            "operator {} is not supported (only a tree ensemble with Cast, Identity or ZipMap)",
                            node.0
                        )));
                    }
                }
                (11, Field::Bytes(b)) if input.is_none() => input = Some(parse_input(b, off)?),
                _ => {}
            }
        }
        let (op_type, attributes) = ensemble.ok_or_else(|| {
            OnnxError::Graph("no TreeEnsembleClassifier or TreeEnsembleRegressor".into())
        })?;
        if op_type != "TreeEnsembleClassifier" && op_type != "TreeEnsembleRegressor" {
            return Err(OnnxError::Graph(format!(
                "operator {op_type} is not supported"
            )));
        }
        let (input_name, n_features) = input.unwrap_or_default();
        Ok(OnnxTrees {
            op_type,
            attributes,
            n_features,
            input_name,
            producer: producer.join(" "),
        })
    }

    fn get(&self, name: &str) -> Option<&Attribute> {
        self.attributes.get(name)
    }

    fn ints(&self, name: &str) -> Result<&[i64], OnnxError> {
        self.get(name)
            .map(|a| a.ints.as_slice())
            .ok_or_else(|| OnnxError::Attribute {
                name: name.into(),
                reason: "missing".into(),
            })
    }

    /// A float attribute, preferring the opset 3 `*_as_tensor` double form.
    fn floats(&self, name: &str) -> Result<&[f64], OnnxError> {
        self.get(&format!("{name}_as_tensor"))
            .or_else(|| self.get(name))
            .map(|a| a.floats.as_slice())
            .ok_or_else(|| OnnxError::Attribute {
                name: name.into(),
                reason: "missing".into(),
            })
    }

    fn string(&self, name: &str) -> Option<&str> {
        self.get(name)
            .and_then(|a| a.strings.first())
            .map(String::as_str)
    }

    /// Builds the ensemble.
    pub fn to_ensemble(&self) -> Result<Ensemble, OnnxError> {
        let attr_err = |name: &str, reason: String| OnnxError::Attribute {
            name: name.into(),
            reason,
        };
        let tree_ids = self.ints("nodes_treeids")?;
        let node_ids = self.ints("nodes_nodeids")?;
        let feature_ids = self.ints("nodes_featureids")?;
        let values = self.floats("nodes_values")?;
        let modes = &self
            .get("nodes_modes")
            .ok_or_else(|| attr_err("nodes_modes", "missing".into()))?
            .strings;
        let true_ids = self.ints("nodes_truenodeids")?;
        let false_ids = self.ints("nodes_falsenodeids")?;
        let tracks_true = self
            .get("nodes_missing_value_tracks_true")
            .map(|a| a.ints.as_slice());
        let n = tree_ids.len();
        if n == 0 || n > MAX_NODES {
            return Err(attr_err("nodes_treeids", format!("{n} nodes")));
        }
        for (name, len) in [
            ("nodes_nodeids", node_ids.len()),
            ("nodes_featureids", feature_ids.len()),
            ("nodes_values", values.len()),
            ("nodes_modes", modes.len()),
            ("nodes_truenodeids", true_ids.len()),
            ("nodes_falsenodeids", false_ids.len()),
        ] {
            if len != n {
                return Err(attr_err(name, format!("{len} entries for {n} nodes")));
            }
        }
        if let Some(t) = tracks_true {
            if !t.is_empty() && t.len() != n {
                return Err(attr_err(
                    "nodes_missing_value_tracks_true",
                    format!("{} entries for {n} nodes", t.len()),
                ));
            }
        }
        let classifier = self.op_type == "TreeEnsembleClassifier";
        let prefix = if classifier { "class" } else { "target" };
        let w_tree = self.ints(&format!("{prefix}_treeids"))?;
        let w_node = self.ints(&format!("{prefix}_nodeids"))?;
        let w_id = self.ints(&format!("{prefix}_ids"))?;
        let w_val = self.floats(&format!("{prefix}_weights"))?;
        for (name, len) in [
            ("nodeids", w_node.len()),
            ("ids", w_id.len()),
            ("weights", w_val.len()),
        ] {
            if len != w_tree.len() {
                return Err(attr_err(
                    &format!("{prefix}_{name}"),
                    format!("{len} entries for {} weights", w_tree.len()),
                ));
            }
        }
        // Outputs and task.
        let (task, n_outputs) = if classifier {
            let labels: Vec<String> = match self.get("classlabels_strings") {
                Some(a) if !a.strings.is_empty() => a.strings.clone(),
                _ => self
                    .get("classlabels_int64s")
                    .map(|a| a.ints.iter().map(|i| i.to_string()).collect())
                    .unwrap_or_default(),
            };
            let ints = self
                .get("classlabels_strings")
                .is_none_or(|a| a.strings.is_empty());
            if labels.len() < 2 {
                return Err(attr_err(
                    "classlabels_strings",
                    format!("{} classes", labels.len()),
                ));
            }
            let n = labels.len();
            (
                Task::Classification {
                    classes: labels,
                    integer_labels: ints,
                },
                n,
            )
        } else {
            let t = self
                .get("n_targets")
                .and_then(|a| a.ints.first())
                .copied()
                .unwrap_or(1);
            if t != 1 {
                return Err(attr_err(
                    "n_targets",
                    format!("{t} targets (only 1 is supported)"),
                ));
            }
            (Task::Regression, 1)
        };
        let binary_one_column = classifier && n_outputs == 2 && w_id.iter().all(|&i| i == 0);
        if binary_one_column {
            return Err(attr_err(
                "class_ids",
                "a binary classifier with one weight column is not supported".into(),
            ));
        }
        // Trees in ascending id order; node ids local to each tree.
        let mut trees: Vec<i64> = tree_ids.to_vec();
        trees.sort_unstable();
        trees.dedup();
        let tree_index: HashMap<i64, usize> =
            trees.iter().enumerate().map(|(i, &t)| (t, i)).collect();
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); trees.len()];
        for (k, t) in tree_ids.iter().enumerate() {
            members[tree_index[t]].push(k);
        }
        let mut index: HashMap<(i64, i64), u32> = HashMap::with_capacity(n);
        let mut roots = Vec::with_capacity(trees.len());
        for list in &members {
            // The root is the node no other node of its tree points at.
            let mut pointed = std::collections::HashSet::new();
            for &k in list {
                if modes[k] != "LEAF" {
                    pointed.insert(true_ids[k]);
                    pointed.insert(false_ids[k]);
                }
            }
            let root = list
                .iter()
                .copied()
                .find(|&k| !pointed.contains(&node_ids[k]))
                .ok_or_else(|| {
                    attr_err(
                        "nodes_nodeids",
                        format!("tree {} has no root (a cycle)", tree_ids[list[0]]),
                    )
                })?;
            roots.push(root);
            // Arena positions: the root first, then the rest in file order.
            let mut pos = 1u32;
            for &k in list {
                let key = (tree_ids[k], node_ids[k]);
                let p = if k == root {
                    0
                } else {
                    pos += 1;
                    pos - 1
                };
                if index.insert(key, p).is_some() {
                    return Err(attr_err(
                        "nodes_nodeids",
                        format!("tree {} repeats node {}", key.0, key.1),
                    ));
                }
            }
        }
        // Leaf weights.
        let mut leaf: HashMap<(i64, i64), Vec<f64>> = HashMap::new();
        for j in 0..w_tree.len() {
            let key = (w_tree[j], w_node[j]);
            if !index.contains_key(&key) {
                return Err(attr_err(
                    &format!("{prefix}_nodeids"),
                    format!(
                        "weight {j} names node {} of tree {}, which does not exist",
                        key.1, key.0
                    ),
                ));
            }
            let id = usize::try_from(w_id[j])
                .ok()
                .filter(|&i| i < n_outputs)
                .ok_or_else(|| {
                    attr_err(
                        &format!("{prefix}_ids"),
                        format!("output {} of {n_outputs}", w_id[j]),
                    )
                })?;
            leaf.entry(key).or_insert_with(|| vec![0.0; n_outputs])[id] += w_val[j];
        }
        let max_feature = feature_ids.iter().copied().max().unwrap_or(0);
        let n_features = match self.n_features {
            Some(f) => f,
            None => usize::try_from(max_feature + 1).unwrap_or(0),
        };
        let graph = Graph {
            tree_ids,
            node_ids,
            feature_ids,
            values,
            modes,
            true_ids,
            false_ids,
            tracks_true,
            n_features,
            at: tree_ids
                .iter()
                .zip(node_ids)
                .enumerate()
                .map(|(k, (&t, &id))| ((t, id), k))
                .collect(),
            leaf: &leaf,
            n_outputs,
        };
        let cost = |k: usize| if modes[k] == "LEAF" { n_outputs } else { 1 };
        let limit = (0..n)
            .map(cost)
            .sum::<usize>()
            .saturating_mul(EXPANSION)
            .saturating_add(EXPANSION_EXTRA);
        let mut budget = Budget { left: limit, limit };
        let mut out_trees = Vec::with_capacity(trees.len());
        for (list, &root) in members.iter().zip(&roots) {
            if list.iter().any(|&k| is_equality(&modes[k])) {
                let nodes = graph.expand(root, list.len(), &mut budget)?;
                out_trees.push(Tree {
                    nodes,
                    output: 0,
                    stats: None,
                });
                continue;
            }
            budget.left = budget
                .left
                .saturating_sub(list.iter().map(|&k| cost(k)).sum());
            let mut nodes = vec![Node::Leaf(Vec::new()); list.len()];
            for &k in list {
                let key = (tree_ids[k], node_ids[k]);
                let p = index[&key] as usize;
                let child = |c: i64| {
                    index.get(&(key.0, c)).copied().ok_or_else(|| {
                        attr_err(
                            "nodes_truenodeids",
                            format!("tree {} node {}: child {c} does not exist", key.0, key.1),
                        )
                    })
                };
                let mode = modes[k].as_str();
                if mode == "LEAF" {
                    nodes[p] = Node::Leaf(
                        leaf.get(&key)
                            .cloned()
                            .unwrap_or_else(|| vec![0.0; n_outputs]),
                    );
                    continue;
                }
                let feature = u32::try_from(feature_ids[k])
                    .ok()
                    .filter(|&f| (f as usize) < n_features)
                    .ok_or_else(|| {
                        attr_err(
                            "nodes_featureids",
                            format!(
                                "tree {} node {}: feature {} of {n_features}",
                                key.0, key.1, feature_ids[k]
                            ),
                        )
                    })?;
                let (t_true, t_false) = (child(true_ids[k])?, child(false_ids[k])?);
                let missing_true = tracks_true.is_some_and(|t| t.get(k) == Some(&1));
                let (threshold, left_is_true) = graph.inequality(k)?;
                let (left, right) = if left_is_true {
                    (t_true, t_false)
                } else {
                    (t_false, t_true)
                };
                nodes[p] = Node::Split {
                    feature,
                    threshold,
                    missing_left: missing_true == left_is_true,
                    left,
                    right,
                };
            }
            out_trees.push(Tree {
                nodes,
                output: 0,
                stats: None,
            });
        }
        let post = self.string("post_transform").unwrap_or("NONE");
        let base = match self
            .get("base_values_as_tensor")
            .or_else(|| self.get("base_values"))
        {
            Some(a) if !a.floats.is_empty() => {
                if a.floats.len() != n_outputs {
                    return Err(attr_err(
                        "base_values",
                        format!("{} values for {n_outputs} outputs", a.floats.len()),
                    ));
                }
                a.floats.clone()
            }
            _ => vec![0.0; n_outputs],
        };
        let aggregate = self.string("aggregate_function").unwrap_or("SUM");
        let link = match post {
            "NONE" => Link::Identity,
            "SOFTMAX" => Link::Softmax,
            "LOGISTIC" => Link::Sigmoid,
            other => {
                return Err(attr_err(
                    "post_transform",
                    format!("{other} is not supported"),
                ))
            }
        };
        let aggregation = match aggregate {
            "SUM" => Aggregation::Sum {
                base,
                link,
                accumulate_f32: false,
                divide_by_rounds: false,
            },
            "AVERAGE" if link == Link::Identity && base.iter().all(|&b| b == 0.0) => {
                Aggregation::Average
            }
            other => {
                return Err(attr_err(
                    "aggregate_function",
                    format!("{other} with post_transform {post} is not supported"),
                ))
            }
        };
        if n_features == 0 {
            return Err(OnnxError::Graph("the model has no input features".into()));
        }
        Ok(Ensemble {
            features: (0..n_features)
                .map(|i| Feature {
                    allow_missing: true,
                    ..Feature::named(format!(
                        "{}_{i}",
                        if self.input_name.is_empty() {
                            "x"
                        } else {
                            &self.input_name
                        }
                    ))
                })
                .collect(),
            task,
            aggregation,
            comparison: Comparison::F32LessEqual,
            leaf_width: n_outputs,
            trees: out_trees,
            source: format!("ONNX {} ({})", self.op_type, self.producer),
        })
    }
}

fn is_equality(mode: &str) -> bool {
    mode == "BRANCH_EQ" || mode == "BRANCH_NEQ"
}

/// The node arrays of the ensemble, for building trees node by node.
struct Graph<'a> {
    tree_ids: &'a [i64],
    node_ids: &'a [i64],
    feature_ids: &'a [i64],
    values: &'a [f64],
    modes: &'a [String],
    true_ids: &'a [i64],
    false_ids: &'a [i64],
    tracks_true: Option<&'a [i64]>,
    n_features: usize,
    /// (tree id, node id) → index in the arrays.
    at: HashMap<(i64, i64), usize>,
    leaf: &'a HashMap<(i64, i64), Vec<f64>>,
    n_outputs: usize,
}

/// Nodes the EQ/NEQ expansion may still write, over the whole model.
struct Budget {
    left: usize,
    limit: usize,
}

/// An equality test, as a partition of the float32 line into regions: region `i`
/// ends at `bounds[i]` (inclusive; the last region is unbounded), and goes to the
/// "in" subtree (a member of the set) when `inside[i]`.
struct SetTest {
    feature: u32,
    bounds: Vec<f32>,
    inside: Vec<bool>,
    on_in: usize,
    on_out: usize,
    nan_in: bool,
}

/// What [`Graph::expand`] still has to write; its position goes to `parent`.
enum Work {
    /// The subtree of node `k`, reached at `depth` file nodes from the root.
    Node { k: usize, depth: usize },
    /// Regions `lo..=hi` of set test `set`.
    Regions {
        set: usize,
        lo: usize,
        hi: usize,
        depth: usize,
    },
}

impl Graph<'_> {
    fn err(&self, k: usize, reason: impl fmt::Display) -> OnnxError {
        OnnxError::Attribute {
            name: "nodes_modes".into(),
            reason: format!(
                "tree {} node {}: {reason}",
                self.tree_ids[k], self.node_ids[k]
            ),
        }
    }

    /// Node `k`'s child (true or false), as an index in the arrays.
    fn child(&self, k: usize, true_side: bool) -> Result<usize, OnnxError> {
        let c = if true_side {
            self.true_ids[k]
        } else {
            self.false_ids[k]
        };
        self.at
            .get(&(self.tree_ids[k], c))
            .copied()
            .ok_or_else(|| OnnxError::Attribute {
                name: "nodes_truenodeids".into(),
                reason: format!(
                    "tree {} node {}: child {c} does not exist",
                    self.tree_ids[k], self.node_ids[k]
                ),
            })
    }

    fn feature(&self, k: usize) -> Result<u32, OnnxError> {
        u32::try_from(self.feature_ids[k])
            .ok()
            .filter(|&f| (f as usize) < self.n_features)
            .ok_or_else(|| OnnxError::Attribute {
                name: "nodes_featureids".into(),
                reason: format!(
                    "tree {} node {}: feature {} of {}",
                    self.tree_ids[k], self.node_ids[k], self.feature_ids[k], self.n_features
                ),
            })
    }

    fn tracks(&self, k: usize) -> bool {
        self.tracks_true.is_some_and(|t| t.get(k) == Some(&1))
    }

    /// An inequality mode as "x <= threshold goes left" on the float32 input, and
    /// whether left is the true branch.
    fn inequality(&self, k: usize) -> Result<(f64, bool), OnnxError> {
        let t = self.values[k];
        Ok(match self.modes[k].as_str() {
            "BRANCH_LEQ" => (t, true),
            "BRANCH_LT" => (strictly_below(t), true),
            "BRANCH_GT" => (t, false),
            "BRANCH_GTE" => (strictly_below(t), false),
            other => return Err(self.err(k, format!("mode {other} is not supported"))),
        })
    }

    /// The set test that starts at equality node `k` and how many file nodes it spans.
    fn set_test(&self, k: usize, tree_len: usize) -> Result<(SetTest, usize), OnnxError> {
        let feature = self.feature(k)?;
        let eq = self.modes[k] == "BRANCH_EQ";
        let mut members = vec![self.values[k]];
        let mut nan_in = eq && self.tracks(k);
        let mut last = k;
        if eq {
            // onnxmltools' chain: EQ nodes on one feature, each false child the next,
            // all sharing one true child. NaN reaches the true child at the first
            // node that tracks it, so it is "in" when any node does.
            let on_in = self.child(k, true)?;
            let mut seen = std::collections::HashSet::from([k]);
            loop {
                let next = self.child(last, false)?;
                if self.modes[next] != "BRANCH_EQ"
                    || self.feature_ids[next] != self.feature_ids[k]
                    || self.child(next, true)? != on_in
                    || !seen.insert(next)
                {
                    break;
                }
                if seen.len() > tree_len {
                    return Err(self.err(k, "a cycle through equality nodes"));
                }
                members.push(self.values[next]);
                nan_in |= self.tracks(next);
                last = next;
            }
        }
        let span = members.len();
        // EQ: members go to the true child, the rest (after the chain) to the last
        // node's false child. NEQ: members (x == t) go to the false child, and NaN,
        // for which `!=` holds, to the true child.
        let (on_in, on_out) = if eq {
            (self.child(k, true)?, self.child(last, false)?)
        } else {
            (self.child(k, false)?, self.child(k, true)?)
        };
        // Only a float32 value can equal a float32 input; -0.0 equals 0.0.
        let mut points: Vec<f32> = members
            .iter()
            .filter(|&&t| (t as f32) as f64 == t)
            .map(|&t| if t == 0.0 { 0.0 } else { t as f32 })
            .collect();
        points.sort_by(f32::total_cmp);
        points.dedup();
        let (mut bounds, mut inside) = (Vec::new(), Vec::new());
        let mut push = |bound: f32, is_in: bool| {
            if let Some(&b) = bounds.last() {
                if bound <= b {
                    return; // an empty region
                }
            }
            if inside.last() == Some(&is_in) {
                *bounds.last_mut().unwrap() = bound;
            } else {
                bounds.push(bound);
                inside.push(is_in);
            }
        };
        for &p in &points {
            if p != f32::NEG_INFINITY {
                push(next_down_f32(p), false);
            }
            push(p, true);
        }
        // The last region runs to +inf (and holds nothing when +inf is a member).
        if points.last() != Some(&f32::INFINITY) {
            push(f32::INFINITY, false);
        }
        // Only NaN goes past +inf: a region of its own when no region is its side.
        if !inside.contains(&nan_in) {
            bounds.push(f32::INFINITY);
            inside.push(nan_in);
        }
        Ok((
            SetTest {
                feature,
                bounds,
                inside,
                on_in,
                on_out,
                nan_in,
            },
            span,
        ))
    }

    /// Writes the tree rooted at `root` (with `tree_len` file nodes) as an arena,
    /// expanding equality tests, copying shared subtrees, and refusing cycles and
    /// anything past the budget.
    fn expand(
        &self,
        root: usize,
        tree_len: usize,
        budget: &mut Budget,
    ) -> Result<Vec<Node>, OnnxError> {
        let mut out: Vec<Node> = Vec::new();
        let mut sets: Vec<SetTest> = Vec::new();
        let mut known: HashMap<usize, (usize, usize)> = HashMap::new();
        let mut stack: Vec<(Work, Option<(usize, bool)>)> =
            vec![(Work::Node { k: root, depth: 1 }, None)];
        while let Some((work, parent)) = stack.pop() {
            let at = out.len() as u32;
            let node = match work {
                Work::Node { k, depth } => {
                    // A path longer than the tree repeats a node: a cycle.
                    if depth > tree_len {
                        return Err(self.err(k, "the tree has a cycle"));
                    }
                    let key = (self.tree_ids[k], self.node_ids[k]);
                    let mode = self.modes[k].as_str();
                    if mode == "LEAF" {
                        Node::Leaf(
                            self.leaf
                                .get(&key)
                                .cloned()
                                .unwrap_or_else(|| vec![0.0; self.n_outputs]),
                        )
                    } else if is_equality(mode) {
                        // Built once per node however often copies reach it, so a
                        // long chain costs its length once, not once per copy.
                        let (set, span) = match known.get(&k) {
                            Some(&found) => found,
                            None => {
                                let (set, span) = self.set_test(k, tree_len)?;
                                sets.push(set);
                                known.insert(k, (sets.len() - 1, span));
                                (sets.len() - 1, span)
                            }
                        };
                        let work = Work::Regions {
                            set,
                            lo: 0,
                            hi: sets[set].inside.len() - 1,
                            depth: depth + span - 1,
                        };
                        // Written in place of node k: same parent slot.
                        stack.push((work, parent));
                        continue;
                    } else {
                        let feature = self.feature(k)?;
                        let (threshold, left_is_true) = self.inequality(k)?;
                        let (t, f) = (self.child(k, true)?, self.child(k, false)?);
                        let (l, r) = if left_is_true { (t, f) } else { (f, t) };
                        stack.push((
                            Work::Node {
                                k: r,
                                depth: depth + 1,
                            },
                            Some((at as usize, false)),
                        ));
                        stack.push((
                            Work::Node {
                                k: l,
                                depth: depth + 1,
                            },
                            Some((at as usize, true)),
                        ));
                        Node::Split {
                            feature,
                            threshold,
                            missing_left: self.tracks(k) == left_is_true,
                            left: u32::MAX,
                            right: u32::MAX,
                        }
                    }
                }
                Work::Regions { set, lo, hi, depth } => {
                    let s = &sets[set];
                    if lo == hi {
                        let k = if s.inside[lo] { s.on_in } else { s.on_out };
                        stack.push((
                            Work::Node {
                                k,
                                depth: depth + 1,
                            },
                            parent,
                        ));
                        continue;
                    }
                    let mid = (lo + hi) / 2;
                    // NaN fails every `<=`: send it toward a region of its side.
                    let missing_left = s.inside[lo..=mid].contains(&s.nan_in);
                    let node = Node::Split {
                        feature: s.feature,
                        threshold: s.bounds[mid] as f64,
                        missing_left,
                        left: u32::MAX,
                        right: u32::MAX,
                    };
                    let (l, r) = (
                        Work::Regions {
                            set,
                            lo,
                            hi: mid,
                            depth,
                        },
                        Work::Regions {
                            set,
                            lo: mid + 1,
                            hi,
                            depth,
                        },
                    );
                    stack.push((r, Some((at as usize, false))));
                    stack.push((l, Some((at as usize, true))));
                    node
                }
            };
            let cost = match &node {
                Node::Leaf(v) => v.len().max(1),
                _ => 1,
            };
            if budget.left < cost {
                return Err(OnnxError::Attribute {
                    name: "nodes_modes".into(),
                    reason: format!(
                        "expanding BRANCH_EQ/BRANCH_NEQ splits (and shared subtrees) needs more than {} node values ({EXPANSION} × the file's + {EXPANSION_EXTRA}): refused",
                        budget.limit
                    ),
                });
            }
            budget.left -= cost;
            out.push(node);
            if let Some((p, is_left)) = parent {
                if let Node::Split { left, right, .. } = &mut out[p] {
                    *(if is_left { left } else { right }) = at;
                }
            }
        }
        Ok(out)
    }
}

/// The largest float32 strictly below `t` (for `x < t` on a float32 input).
fn strictly_below(t: f64) -> f64 {
    let d = f32_at_or_below(t);
    if d as f64 == t {
        next_down_f32(d) as f64
    } else {
        d as f64
    }
}

/// `NodeProto`: its op type and attributes.
fn parse_node(
    bytes: &[u8],
    base: usize,
) -> Result<(String, HashMap<String, Attribute>), OnnxError> {
    let mut f = Fields::new(bytes, base);
    let (mut op, mut attrs) = (String::new(), HashMap::new());
    while let Some((n, v, off)) = f.next_field()? {
        match (n, v) {
            (4, Field::Bytes(b)) => op = string(b, off)?,
            (5, Field::Bytes(b)) => {
                let (name, a) = parse_attribute(b, off)?;
                attrs.insert(name, a);
            }
            _ => {}
        }
    }
    Ok((op, attrs))
}

/// `AttributeProto`: name and value.
fn parse_attribute(bytes: &[u8], base: usize) -> Result<(String, Attribute), OnnxError> {
    let mut f = Fields::new(bytes, base);
    let (mut name, mut a) = (String::new(), Attribute::default());
    while let Some((n, v, off)) = f.next_field()? {
        match (n, v) {
            (1, Field::Bytes(b)) => name = string(b, off)?,
            (2, v) => proto::floats(v, off, &mut a.floats)?,
            (3, v) => proto::varints(v, off, &mut a.ints)?,
            (4 | 9, Field::Bytes(b)) => a.strings.push(string(b, off)?),
            (5, Field::Bytes(b)) => a.floats.extend(proto::tensor(b, off)?),
            (7, v) => proto::floats(v, off, &mut a.floats)?,
            (8, v) => proto::varints(v, off, &mut a.ints)?,
            _ => {}
        }
    }
    Ok((name, a))
}

/// `ValueInfoProto` of the graph input: its name and second dimension, if fixed.
fn parse_input(bytes: &[u8], base: usize) -> Result<(String, Option<usize>), OnnxError> {
    let mut f = Fields::new(bytes, base);
    let (mut name, mut width) = (String::new(), None);
    while let Some((n, v, off)) = f.next_field()? {
        match (n, v) {
            (1, Field::Bytes(b)) => name = string(b, off)?,
            (2, Field::Bytes(ty)) => {
                // TypeProto.tensor_type (1) → shape (2) → dim (1) → dim_value (1).
                let mut t = Fields::new(ty, off);
                while let Some((1, Field::Bytes(tt), off)) = t.next_field()? {
                    let mut tt = Fields::new(tt, off);
                    while let Some((n, v, off)) = tt.next_field()? {
                        if let (2, Field::Bytes(shape)) = (n, v) {
                            let mut dims = Vec::new();
                            let mut s = Fields::new(shape, off);
                            while let Some((n, v, off)) = s.next_field()? {
                                if let (1, Field::Bytes(d)) = (n, v) {
                                    let mut d = Fields::new(d, off);
                                    let mut value = None;
                                    while let Some((n, v, _)) = d.next_field()? {
                                        if let (1, Field::Varint(x)) = (n, v) {
                                            value = Some(x);
                                        }
                                    }
                                    dims.push(value);
                                }
                            }
                            if let [_, Some(w)] = dims[..] {
                                width = usize::try_from(w).ok().filter(|&w| w <= 65_535);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok((name, width))
}
