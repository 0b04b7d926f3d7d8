//! [`OnnxTrees::to_ensemble`]: the operator's parallel attribute arrays, checked, laid
//! out tree by tree, and built into an [`Ensemble`]: node arrays, leaf weights, the
//! task, each tree's arena (plain `<=` splits directly, equality splits through
//! `expand`), then the aggregation and the features.

use std::collections::{HashMap, HashSet};

use edgewood_core::{Aggregation, Comparison, Ensemble, Feature, Link, Node, Task, Tree};

use super::expand::{is_equality, Budget, Graph};
use super::{OnnxError, OnnxTrees, EXPANSION, EXPANSION_EXTRA, MAX_NODES};

/// A malformed or unsupported attribute.
fn attr_err(name: &str, reason: String) -> OnnxError {
    OnnxError::Attribute {
        name: name.into(),
        reason,
    }
}

/// The `nodes_*` attributes, checked to be parallel arrays of one length.
struct NodeArrays<'a> {
    tree_ids: &'a [i64],
    node_ids: &'a [i64],
    feature_ids: &'a [i64],
    values: &'a [f64],
    modes: &'a [String],
    true_ids: &'a [i64],
    false_ids: &'a [i64],
    tracks_true: Option<&'a [i64]>,
}

/// The leaf weights: `class_*` of a classifier, `target_*` of a regressor, checked to be
/// parallel arrays of one length.
struct Weights<'a> {
    prefix: &'static str,
    tree_ids: &'a [i64],
    node_ids: &'a [i64],
    ids: &'a [i64],
    values: &'a [f64],
}

/// The trees in ascending id order: each tree's node indices (in file order), its
/// root, and every node's arena position (the root first, then the rest in file order).
struct Layout {
    members: Vec<Vec<usize>>,
    roots: Vec<usize>,
    position: HashMap<(i64, i64), u32>,
}

impl OnnxTrees {
    /// Builds the ensemble.
    pub fn to_ensemble(&self) -> Result<Ensemble, OnnxError> {
        let nodes = self.node_arrays()?;
        let classifier = self.op_type == "TreeEnsembleClassifier";
        let weights = self.weights(classifier)?;
        let (task, n_outputs) = self.task(classifier)?;
        if classifier && n_outputs == 2 && weights.ids.iter().all(|&i| i == 0) {
            return Err(attr_err(
                "class_ids",
                "a binary classifier with one weight column is not supported".into(),
            ));
        }
        let layout = Layout::new(&nodes)?;
        let leaf = weights.per_leaf(&layout.position, n_outputs)?;
        let max_feature = nodes.feature_ids.iter().copied().max().unwrap_or(0);
        let n_features = match self.n_features {
            Some(f) => f,
            None => usize::try_from(max_feature + 1).unwrap_or(0),
        };
        let graph = Graph {
            tree_ids: nodes.tree_ids,
            node_ids: nodes.node_ids,
            feature_ids: nodes.feature_ids,
            values: nodes.values,
            modes: nodes.modes,
            true_ids: nodes.true_ids,
            false_ids: nodes.false_ids,
            tracks_true: nodes.tracks_true,
            n_features,
            at: nodes
                .tree_ids
                .iter()
                .zip(nodes.node_ids)
                .enumerate()
                .map(|(k, (&t, &id))| ((t, id), k))
                .collect(),
            leaf: &leaf,
            n_outputs,
        };
        let trees = build_trees(&graph, &layout)?;
        let aggregation = self.aggregation(n_outputs)?;
        if n_features == 0 {
            return Err(OnnxError::Graph("the model has no input features".into()));
        }
        Ok(Ensemble {
            features: self.features(n_features),
            task,
            aggregation,
            comparison: Comparison::F32LessEqual,
            leaf_width: n_outputs,
            trees,
            source: format!("ONNX {} ({})", self.op_type, self.producer),
        })
    }

    /// The `nodes_*` attributes, each as long as `nodes_treeids`.
    fn node_arrays(&self) -> Result<NodeArrays<'_>, OnnxError> {
        let nodes = NodeArrays {
            tree_ids: self.ints("nodes_treeids")?,
            node_ids: self.ints("nodes_nodeids")?,
            feature_ids: self.ints("nodes_featureids")?,
            values: self.floats("nodes_values")?,
            modes: &self
                .get("nodes_modes")
                .ok_or_else(|| attr_err("nodes_modes", "missing".into()))?
                .strings,
            true_ids: self.ints("nodes_truenodeids")?,
            false_ids: self.ints("nodes_falsenodeids")?,
            tracks_true: self
                .get("nodes_missing_value_tracks_true")
                .map(|a| a.ints.as_slice()),
        };
        let n = nodes.tree_ids.len();
        if n == 0 || n > MAX_NODES {
            return Err(attr_err("nodes_treeids", format!("{n} nodes")));
        }
        for (name, len) in [
            ("nodes_nodeids", nodes.node_ids.len()),
            ("nodes_featureids", nodes.feature_ids.len()),
            ("nodes_values", nodes.values.len()),
            ("nodes_modes", nodes.modes.len()),
            ("nodes_truenodeids", nodes.true_ids.len()),
            ("nodes_falsenodeids", nodes.false_ids.len()),
        ] {
            if len != n {
                return Err(attr_err(name, format!("{len} entries for {n} nodes")));
            }
        }
        if let Some(t) = nodes.tracks_true {
            if !t.is_empty() && t.len() != n {
                return Err(attr_err(
                    "nodes_missing_value_tracks_true",
                    format!("{} entries for {n} nodes", t.len()),
                ));
            }
        }
        Ok(nodes)
    }

    /// The leaf weight attributes (`class_*` or `target_*`), each as long as the first.
    fn weights(&self, classifier: bool) -> Result<Weights<'_>, OnnxError> {
        let prefix = if classifier { "class" } else { "target" };
        let weights = Weights {
            prefix,
            tree_ids: self.ints(&format!("{prefix}_treeids"))?,
            node_ids: self.ints(&format!("{prefix}_nodeids"))?,
            ids: self.ints(&format!("{prefix}_ids"))?,
            values: self.floats(&format!("{prefix}_weights"))?,
        };
        for (name, len) in [
            ("nodeids", weights.node_ids.len()),
            ("ids", weights.ids.len()),
            ("weights", weights.values.len()),
        ] {
            if len != weights.tree_ids.len() {
                return Err(attr_err(
                    &format!("{prefix}_{name}"),
                    format!("{len} entries for {} weights", weights.tree_ids.len()),
                ));
            }
        }
        Ok(weights)
    }

    /// The task (class labels or one regression target) and the number of outputs.
    fn task(&self, classifier: bool) -> Result<(Task, usize), OnnxError> {
        if !classifier {
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
            return Ok((Task::Regression, 1));
        }
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
        Ok((
            Task::Classification {
                classes: labels,
                integer_labels: ints,
            },
            n,
        ))
    }

    /// `post_transform`, `base_values` and `aggregate_function` as an [`Aggregation`].
    fn aggregation(&self, n_outputs: usize) -> Result<Aggregation, OnnxError> {
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
        match aggregate {
            "SUM" => Ok(Aggregation::Sum {
                base,
                link,
                accumulate_f32: false,
                divide_by_rounds: false,
            }),
            "AVERAGE" if link == Link::Identity && base.iter().all(|&b| b == 0.0) => {
                Ok(Aggregation::Average)
            }
            other => Err(attr_err(
                "aggregate_function",
                format!("{other} with post_transform {post} is not supported"),
            )),
        }
    }

    /// Features named after the graph input (`x_0`, … when it has no name), each
    /// accepting NaN (ONNX Runtime routes it by the missing-value attributes).
    fn features(&self, n_features: usize) -> Vec<Feature> {
        let input = if self.input_name.is_empty() {
            "x"
        } else {
            &self.input_name
        };
        (0..n_features)
            .map(|i| Feature {
                allow_missing: true,
                ..Feature::named(format!("{input}_{i}"))
            })
            .collect()
    }
}

impl Layout {
    /// Groups the nodes by tree, finds each root and numbers the nodes.
    fn new(nodes: &NodeArrays<'_>) -> Result<Self, OnnxError> {
        let mut trees: Vec<i64> = nodes.tree_ids.to_vec();
        trees.sort_unstable();
        trees.dedup();
        let tree_index: HashMap<i64, usize> =
            trees.iter().enumerate().map(|(i, &t)| (t, i)).collect();
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); trees.len()];
        for (k, t) in nodes.tree_ids.iter().enumerate() {
            members[tree_index[t]].push(k);
        }
        let mut position = HashMap::with_capacity(nodes.tree_ids.len());
        let mut roots = Vec::with_capacity(trees.len());
        for list in &members {
            let root = root_of(nodes, list)?;
            roots.push(root);
            let mut pos = 1u32;
            for &k in list {
                let key = (nodes.tree_ids[k], nodes.node_ids[k]);
                let p = if k == root {
                    0
                } else {
                    pos += 1;
                    pos - 1
                };
                if position.insert(key, p).is_some() {
                    return Err(attr_err(
                        "nodes_nodeids",
                        format!("tree {} repeats node {}", key.0, key.1),
                    ));
                }
            }
        }
        Ok(Layout {
            members,
            roots,
            position,
        })
    }
}

/// The root of the tree whose nodes are `list`: the node no other node of its tree
/// points at, from which every node of the tree must be reached. A node only a cycle
/// points at (the root pointing at itself, say) leaves another node looking like the
/// root; what that root does not reach is refused here rather than dropped.
fn root_of(nodes: &NodeArrays<'_>, list: &[usize]) -> Result<usize, OnnxError> {
    let tree = nodes.tree_ids[list[0]];
    let mut pointed = HashSet::new();
    for &k in list {
        if nodes.modes[k] != "LEAF" {
            pointed.insert(nodes.true_ids[k]);
            pointed.insert(nodes.false_ids[k]);
        }
    }
    let root = list
        .iter()
        .copied()
        .find(|&k| !pointed.contains(&nodes.node_ids[k]))
        .ok_or_else(|| {
            attr_err(
                "nodes_nodeids",
                format!("tree {tree} has no root (a cycle)"),
            )
        })?;
    // Shared children (onnxmltools' equality chains) are walked once.
    let by_id: HashMap<i64, usize> = list.iter().map(|&k| (nodes.node_ids[k], k)).collect();
    let mut reached = HashSet::from([root]);
    let mut stack = vec![root];
    while let Some(k) = stack.pop() {
        if nodes.modes[k] == "LEAF" {
            continue;
        }
        for c in [nodes.true_ids[k], nodes.false_ids[k]] {
            let ck = *by_id.get(&c).ok_or_else(|| {
                attr_err(
                    "nodes_truenodeids",
                    format!(
                        "tree {tree} node {}: child {c} does not exist",
                        nodes.node_ids[k]
                    ),
                )
            })?;
            if reached.insert(ck) {
                stack.push(ck);
            }
        }
    }
    if let Some(&k) = list.iter().find(|k| !reached.contains(k)) {
        return Err(attr_err(
            "nodes_nodeids",
            format!(
                "tree {tree}: node {} is not reached from the root, node {} (a cycle or a second root)",
                nodes.node_ids[k], nodes.node_ids[root]
            ),
        ));
    }
    Ok(root)
}

impl Weights<'_> {
    /// Each leaf's weight vector, summed over the weights that name it.
    fn per_leaf(
        &self,
        position: &HashMap<(i64, i64), u32>,
        n_outputs: usize,
    ) -> Result<HashMap<(i64, i64), Vec<f64>>, OnnxError> {
        let prefix = self.prefix;
        let mut leaf: HashMap<(i64, i64), Vec<f64>> = HashMap::new();
        for j in 0..self.tree_ids.len() {
            let key = (self.tree_ids[j], self.node_ids[j]);
            if !position.contains_key(&key) {
                return Err(attr_err(
                    &format!("{prefix}_nodeids"),
                    format!(
                        "weight {j} names node {} of tree {}, which does not exist",
                        key.1, key.0
                    ),
                ));
            }
            let id = usize::try_from(self.ids[j])
                .ok()
                .filter(|&i| i < n_outputs)
                .ok_or_else(|| {
                    attr_err(
                        &format!("{prefix}_ids"),
                        format!("output {} of {n_outputs}", self.ids[j]),
                    )
                })?;
            leaf.entry(key).or_insert_with(|| vec![0.0; n_outputs])[id] += self.values[j];
        }
        Ok(leaf)
    }
}

/// Every tree, within one expansion budget for the whole model: a tree with an
/// equality split is expanded, any other is written node for node.
fn build_trees(graph: &Graph<'_>, layout: &Layout) -> Result<Vec<Tree>, OnnxError> {
    let cost = |k: usize| {
        if graph.modes[k] == "LEAF" {
            graph.n_outputs
        } else {
            1
        }
    };
    let limit = (0..graph.tree_ids.len())
        .map(cost)
        .sum::<usize>()
        .saturating_mul(EXPANSION)
        .saturating_add(EXPANSION_EXTRA);
    let mut budget = Budget { left: limit, limit };
    let mut trees = Vec::with_capacity(layout.members.len());
    for (list, &root) in layout.members.iter().zip(&layout.roots) {
        let nodes = if list.iter().any(|&k| is_equality(&graph.modes[k])) {
            graph.expand(root, list.len(), &mut budget)?
        } else {
            budget.left = budget
                .left
                .saturating_sub(list.iter().map(|&k| cost(k)).sum());
            plain_tree(graph, list, &layout.position)?
        };
        trees.push(Tree {
            nodes,
            output: 0,
            stats: None,
        });
    }
    Ok(trees)
}

/// A tree of inequality splits only: each file node becomes the node at its arena
/// position.
fn plain_tree(
    graph: &Graph<'_>,
    list: &[usize],
    position: &HashMap<(i64, i64), u32>,
) -> Result<Vec<Node>, OnnxError> {
    let mut nodes = vec![Node::Leaf(Vec::new()); list.len()];
    for &k in list {
        let key = (graph.tree_ids[k], graph.node_ids[k]);
        let p = position[&key] as usize;
        if graph.modes[k] == "LEAF" {
            nodes[p] = Node::Leaf(
                graph
                    .leaf
                    .get(&key)
                    .cloned()
                    .unwrap_or_else(|| vec![0.0; graph.n_outputs]),
            );
            continue;
        }
        let feature = graph.feature(k)?;
        // The children's arena positions (`child` checks that they exist).
        let arena = |c: usize| position[&(graph.tree_ids[c], graph.node_ids[c])];
        let (t_true, t_false) = (arena(graph.child(k, true)?), arena(graph.child(k, false)?));
        let (threshold, left_is_true) = graph.inequality(k)?;
        let (left, right) = if left_is_true {
            (t_true, t_false)
        } else {
            (t_false, t_true)
        };
        nodes[p] = Node::Split {
            feature,
            threshold,
            missing_left: graph.tracks(k) == left_is_true,
            left,
            right,
        };
    }
    Ok(nodes)
}
