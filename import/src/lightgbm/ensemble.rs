//! [`LgbmModel::to_ensemble`]: a parsed LightGBM model as an [`Ensemble`] with
//! LightGBM's arithmetic: float64 `x <= t`, the missing types None / Zero / NaN,
//! categorical bitsets whose members go left, node statistics, and the objective's
//! transform.

use edgewood_core::{
    Aggregation, Comparison, Ensemble, Link, Missing, Node, NodeStats, SplitTest, Task, Tree,
    MAX_CATEGORY, ZERO_THRESHOLD,
};

use super::{LgbmError, LgbmModel, LgbmTree};
use crate::reader::named_features;

impl LgbmModel {
    /// Converts to an [`Ensemble`] that predicts exactly as LightGBM does.
    pub fn to_ensemble(&self) -> Result<Ensemble, LgbmError> {
        let n_features = self
            .max_feature_idx
            .checked_add(1)
            .filter(|&n| n <= 65_535)
            .ok_or_else(|| {
                LgbmError::Unsupported(format!("max_feature_idx {}", self.max_feature_idx))
            })?;
        let k = self.num_tree_per_iteration;
        if k == 0 || k > 65_535 || !self.trees.len().is_multiple_of(k) {
            return Err(LgbmError::Unsupported(format!(
                "{} trees with num_tree_per_iteration {k}",
                self.trees.len()
            )));
        }
        let (name, task, link) = self.objective()?;
        let n_outputs = match (&task, link) {
            (Task::Classification { classes, .. }, _) if classes.len() > 2 || k > 1 => {
                classes.len()
            }
            _ => 1,
        };
        if n_outputs != k {
            return Err(LgbmError::Unsupported(format!(
                "objective {name:?} with num_tree_per_iteration {k} and num_class {}",
                self.num_class
            )));
        }
        let mut trees = Vec::with_capacity(self.trees.len());
        for (t, tree) in self.trees.iter().enumerate() {
            let nodes = convert_tree(t, tree, n_features)?;
            trees.push(Tree {
                nodes,
                stats: stats(tree),
                output: (t % k) as u32,
            });
        }
        Ok(Ensemble {
            features: named_features(&self.feature_names, n_features, "Column_"),
            task,
            aggregation: Aggregation::Sum {
                base: vec![0.0; n_outputs],
                link,
                accumulate_f32: false,
                divide_by_rounds: self.average_output,
            },
            comparison: Comparison::F64LessEqual,
            leaf_width: 1,
            trees,
            source: format!("lightgbm {} {}", self.version, self.objective),
        })
    }

    /// The objective's name, task and link (`binary sigmoid:2` → a scaled sigmoid).
    fn objective(&self) -> Result<(&str, Task, Link), LgbmError> {
        let mut words = self.objective.split(' ');
        let name = words.next().unwrap_or("");
        let params: Vec<(&str, &str)> = words.filter_map(|w| w.split_once(':')).collect();
        if params.iter().any(|(k, _)| *k == "sqrt")
            || self.objective.split(' ').any(|w| w == "sqrt")
        {
            return Err(LgbmError::Unsupported(
                "objective with `sqrt` output".into(),
            ));
        }
        let param = |key: &str| params.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
        let classes = |n: usize| Task::Classification {
            classes: (0..n).map(|i| i.to_string()).collect(),
            integer_labels: true,
        };
        let (task, link) = match name {
            "binary" => {
                let s: f64 = param("sigmoid")
                    .map(|s| {
                        s.parse()
                            .map_err(|_| LgbmError::Unsupported(format!("sigmoid {s:?}")))
                    })
                    .transpose()?
                    .unwrap_or(1.0);
                if !(s.is_finite() && s > 0.0) {
                    return Err(LgbmError::Unsupported(format!("sigmoid {s}")));
                }
                (classes(2), sigmoid(s))
            }
            "multiclass" | "softmax" => (classes(self.num_class), Link::Softmax),
            "multiclassova" | "multiclass_ova" | "ova" | "ovr" => {
                let s: f64 = param("sigmoid").and_then(|s| s.parse().ok()).unwrap_or(1.0);
                (classes(self.num_class), sigmoid(s))
            }
            "regression"
            | "regression_l2"
            | "l2"
            | "mean_squared_error"
            | "mse"
            | "l2_root"
            | "root_mean_squared_error"
            | "rmse"
            | "regression_l1"
            | "l1"
            | "mean_absolute_error"
            | "mae"
            | "huber"
            | "fair"
            | "quantile"
            | "mape"
            | "mean_absolute_percentage_error"
            | "lambdarank"
            | "rank_xendcg"
            | "xendcg"
            | "xe_ndcg"
            | "xe_ndcg_mart"
            | "xendcg_mart" => (Task::Regression, Link::Identity),
            "poisson" | "gamma" | "tweedie" => (Task::Regression, Link::Exp),
            "cross_entropy" | "xentropy" => (Task::Regression, Link::Sigmoid),
            other => return Err(LgbmError::Unsupported(format!("objective {other:?}"))),
        };
        Ok((name, task, link))
    }
}

/// LightGBM's sigmoid with its `sigmoid` parameter `s`.
fn sigmoid(s: f64) -> Link {
    if s == 1.0 {
        Link::Sigmoid
    } else {
        Link::ScaledSigmoid(s)
    }
}

/// Builds the arena: splits `0..n-1` keep their numbers, leaf `j` becomes `n - 1 + j`.
fn convert_tree(t: usize, tree: &LgbmTree, n_features: usize) -> Result<Vec<Node>, LgbmError> {
    let splits = tree.num_leaves - 1;
    let bad = |reason: String| LgbmError::Tree { tree: t, reason };
    if splits == 0 {
        return Ok(vec![Node::Leaf(vec![tree.leaf_value[0]])]);
    }
    let child = |i: usize, c: i64| -> Result<u32, LgbmError> {
        let id = if c >= 0 {
            usize::try_from(c).ok().filter(|&c| c < splits && c != 0)
        } else {
            usize::try_from(!c)
                .ok()
                .filter(|&j| j < tree.num_leaves)
                .map(|j| splits + j)
        };
        id.map(|id| id as u32)
            .ok_or_else(|| bad(format!("node {i}: child {c} out of range")))
    };
    let mut nodes = Vec::with_capacity(splits + tree.num_leaves);
    for i in 0..splits {
        let feature = u32::try_from(tree.split_feature[i])
            .ok()
            .filter(|&f| (f as usize) < n_features)
            .ok_or_else(|| {
                bad(format!(
                    "node {i}: split on feature {} of {n_features}",
                    tree.split_feature[i]
                ))
            })?;
        let left = child(i, tree.left_child[i])?;
        let right = child(i, tree.right_child[i])?;
        let dt = tree.decision_type[i];
        if dt & 1 != 0 {
            let categories = categories(t, i, tree)?;
            nodes.push(Node::Rule {
                feature,
                test: SplitTest::InSet {
                    categories,
                    in_set_left: true,
                    integers_only: false,
                },
                // NaN always goes right; tiny values truncate to category 0 anyway.
                missing: Missing::default(),
                left,
                right,
            });
            continue;
        }
        nodes.push(numeric_split(
            t,
            i,
            feature,
            tree.threshold[i],
            dt,
            left,
            right,
        )?);
    }
    nodes.extend(tree.leaf_value.iter().map(|&v| Node::Leaf(vec![v])));
    Ok(nodes)
}

/// Numeric split `i` of tree `t`: `x <= threshold` with its decision type's missing-value rule
/// (LightGBM's missing types None, Zero and NaN, and its default direction), as a plain
/// split where that is exact, else as a rule.
fn numeric_split(
    t: usize,
    i: usize,
    feature: u32,
    threshold: f64,
    decision_type: u8,
    left: u32,
    right: u32,
) -> Result<Node, LgbmError> {
    let default_left = decision_type & 2 != 0;
    let missing_type = (decision_type >> 2) & 3;
    if threshold.is_nan() {
        return Err(LgbmError::Tree {
            tree: t,
            reason: format!("node {i}: NaN threshold"),
        });
    }
    // Inputs with |x| <= 1e-35 reach LightGBM's trees as 0.0; only a threshold in
    // that band can tell them from zero, so only then is the rule spelled out.
    let near_zero = (-ZERO_THRESHOLD..ZERO_THRESHOLD).contains(&threshold);
    Ok(match missing_type {
        // None: NaN becomes 0.0 and compares as such.
        0 if !near_zero => Node::Split {
            feature,
            threshold,
            missing_left: 0.0 <= threshold,
            left,
            right,
        },
        0 => rule(
            feature,
            threshold,
            Missing {
                left: false,
                tiny_as_zero: true,
                nan_as_zero: true,
                zero_is_missing: false,
            },
            left,
            right,
        ),
        // Zero: NaN and (near) zero take the default direction.
        1 if !near_zero && (0.0 <= threshold) == default_left => Node::Split {
            feature,
            threshold,
            missing_left: default_left,
            left,
            right,
        },
        1 => rule(
            feature,
            threshold,
            Missing {
                left: default_left,
                tiny_as_zero: true,
                nan_as_zero: true,
                zero_is_missing: true,
            },
            left,
            right,
        ),
        // NaN: NaN takes the default direction.
        2 if !near_zero => Node::Split {
            feature,
            threshold,
            missing_left: default_left,
            left,
            right,
        },
        2 => rule(
            feature,
            threshold,
            Missing {
                left: default_left,
                tiny_as_zero: true,
                nan_as_zero: false,
                zero_is_missing: false,
            },
            left,
            right,
        ),
        m => {
            return Err(LgbmError::Tree {
                tree: t,
                reason: format!("node {i}: unknown missing type {m}"),
            })
        }
    })
}

/// The covers of the arena of [`convert_tree`] (splits, then leaves) and each leaf's
/// LightGBM index, when the block has both counts.
fn stats(tree: &LgbmTree) -> Option<NodeStats> {
    let splits = tree.num_leaves - 1;
    if tree.leaf_count.len() != tree.num_leaves
        || (splits > 0 && tree.internal_count.len() != splits)
    {
        return None;
    }
    let cover = tree.internal_count[..splits]
        .iter()
        .chain(&tree.leaf_count)
        .copied()
        .collect();
    let leaf_ids = (0..splits as u32)
        .chain(0..tree.num_leaves as u32)
        .collect();
    Some(NodeStats { cover, leaf_ids })
}

fn rule(feature: u32, threshold: f64, missing: Missing, left: u32, right: u32) -> Node {
    Node::Rule {
        feature,
        test: SplitTest::LessEqual(threshold),
        missing,
        left,
        right,
    }
}

/// The categories of categorical split `i`: the set bits of its `cat_threshold` words.
fn categories(t: usize, i: usize, tree: &LgbmTree) -> Result<Vec<u32>, LgbmError> {
    let bad = |reason: String| LgbmError::Tree { tree: t, reason };
    let th = tree.threshold[i];
    let idx = (th >= 0.0 && th.fract() == 0.0 && th < 1e9)
        .then_some(th as usize)
        .ok_or_else(|| {
            bad(format!(
                "node {i}: categorical threshold {th} is not an index"
            ))
        })?;
    let (start, end) = match (
        tree.cat_boundaries.get(idx),
        tree.cat_boundaries.get(idx + 1),
    ) {
        (Some(&s), Some(&e)) => (s, e),
        _ => {
            return Err(bad(format!(
                "node {i}: category set {idx} not in cat_boundaries"
            )))
        }
    };
    let range = usize::try_from(start)
        .ok()
        .zip(usize::try_from(end).ok())
        .filter(|(s, e)| s <= e && *e <= tree.cat_threshold.len())
        .ok_or_else(|| {
            bad(format!(
                "node {i}: cat_boundaries {start}..{end} outside cat_threshold"
            ))
        })?;
    let words = &tree.cat_threshold[range.0..range.1];
    if words.len() * 32 > MAX_CATEGORY as usize {
        return Err(bad(format!(
            "node {i}: more than {MAX_CATEGORY} categories"
        )));
    }
    let mut out = Vec::new();
    for (w, &word) in words.iter().enumerate() {
        for b in 0..32 {
            if word & (1 << b) != 0 {
                out.push((w * 32 + b) as u32);
            }
        }
    }
    Ok(out)
}
