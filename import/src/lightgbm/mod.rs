//! LightGBM text models (`Booster.save_model`, `model.txt`), read in two steps:
//! [`LgbmModel::parse`] is a bounded, line-based parse of the header and `Tree=` blocks;
//! [`LgbmModel::to_ensemble`] builds an [`Ensemble`] with LightGBM's arithmetic:
//! float64 `x <= t`, the missing types None / Zero / NaN, categorical bitsets whose
//! members go left, float64 sums, and the objective's transform.

use std::fmt;

use edgewood_core::{
    Aggregation, Comparison, Ensemble, Feature, Link, Missing, Node, NodeStats, SplitTest, Task,
    Tree, MAX_CATEGORY, ZERO_THRESHOLD,
};

use crate::reader::Reader;
use crate::{ImportError, SourceFormat};

/// Most trees, and leaves per tree, accepted (bounds memory on hostile files).
const MAX_TREES: usize = 1 << 20;
const MAX_LEAVES: usize = 1 << 24;

/// Why a LightGBM model could not be read.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum LgbmError {
    /// The text is not a LightGBM model.
    NotLightGbm,
    /// A line or field is malformed (line numbers start at 1).
    Syntax {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A header or tree field is missing.
    Missing {
        /// The tree, or `None` for the header.
        tree: Option<usize>,
        /// The field name.
        field: &'static str,
    },
    /// A tree is inconsistent (lengths, children, categories).
    Tree {
        /// The `Tree=` number.
        tree: usize,
        /// What is wrong.
        reason: String,
    },
    /// A model feature this reader does not support (named).
    Unsupported(String),
}

impl fmt::Display for LgbmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LgbmError::NotLightGbm => {
                write!(f, "not a LightGBM text model (no `tree` header line)")
            }
            LgbmError::Syntax { line, reason } => write!(f, "LightGBM model line {line}: {reason}"),
            LgbmError::Missing { tree: None, field } => {
                write!(f, "LightGBM model: header field `{field}` is missing")
            }
            LgbmError::Missing {
                tree: Some(t),
                field,
            } => write!(f, "LightGBM model: Tree={t} has no `{field}`"),
            LgbmError::Tree { tree, reason } => write!(f, "LightGBM model: Tree={tree}: {reason}"),
            LgbmError::Unsupported(what) => write!(f, "LightGBM model: unsupported {what}"),
        }
    }
}

impl std::error::Error for LgbmError {}

/// One `Tree=` block as stored.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LgbmTree {
    /// Leaves in the tree (splits are one fewer).
    pub num_leaves: usize,
    /// Feature index of each split.
    pub split_feature: Vec<i64>,
    /// Threshold of each split (a `cat_boundaries` index for categorical ones).
    pub threshold: Vec<f64>,
    /// Bit 0 categorical, bit 1 default left, bits 2–3 missing type.
    pub decision_type: Vec<u8>,
    /// Left child: a split index, or `!leaf` when negative.
    pub left_child: Vec<i64>,
    /// Right child, as `left_child`.
    pub right_child: Vec<i64>,
    /// Value of each leaf.
    pub leaf_value: Vec<f64>,
    /// Word ranges of each categorical set in `cat_threshold`.
    pub cat_boundaries: Vec<i64>,
    /// Bitset words of the categorical sets.
    pub cat_threshold: Vec<u32>,
    /// Linear leaves (not supported).
    pub is_linear: bool,
    /// Training rows that reached each split (its cover for explanations).
    pub internal_count: Vec<f64>,
    /// Training rows that reached each leaf.
    pub leaf_count: Vec<f64>,
}

/// A faithful parse of a LightGBM text model.
#[derive(Clone, Debug, PartialEq)]
pub struct LgbmModel {
    /// `version=` of the writer, e.g. `v4`.
    pub version: String,
    /// `num_class=`.
    pub num_class: usize,
    /// Trees per boosting round (one per class for multiclass).
    pub num_tree_per_iteration: usize,
    /// Highest feature index (features are one more).
    pub max_feature_idx: usize,
    /// The `objective=` line, e.g. `binary sigmoid:1`.
    pub objective: String,
    /// `average_output` (random-forest mode).
    pub average_output: bool,
    /// Feature names, in column order.
    pub feature_names: Vec<String>,
    /// The `Tree=` blocks in order.
    pub trees: Vec<LgbmTree>,
}

/// Whether `bytes` look like a LightGBM text model.
pub fn sniff(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(64)];
    head.starts_with(b"tree\n") || head.starts_with(b"tree\r\n")
}

/// Parses and converts a LightGBM text model, checked as [`crate::convert`] checks it.
pub fn read(bytes: &[u8]) -> Result<Ensemble, ImportError> {
    crate::checked(read_unchecked(bytes)?)
}

/// LightGBM's entry in the reader table.
pub(crate) const READER: Reader = Reader {
    sniff: |bytes| sniff(bytes).then_some(SourceFormat::LightGbm),
    read: |bytes, _, _| read_unchecked(bytes),
};

fn read_unchecked(bytes: &[u8]) -> Result<Ensemble, ImportError> {
    Ok(LgbmModel::parse(bytes)?.to_ensemble()?)
}

fn syntax(line: usize, reason: impl Into<String>) -> LgbmError {
    LgbmError::Syntax {
        line,
        reason: reason.into(),
    }
}

fn list<T: std::str::FromStr>(line: usize, key: &str, value: &str) -> Result<Vec<T>, LgbmError> {
    value
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<T>()
                .map_err(|_| syntax(line, format!("`{key}`: {s:?} is not a number")))
        })
        .collect()
}

fn number<T: std::str::FromStr>(line: usize, key: &str, value: &str) -> Result<T, LgbmError> {
    value
        .trim()
        .parse()
        .map_err(|_| syntax(line, format!("`{key}`: {value:?} is not a number")))
}

impl LgbmModel {
    /// Parses the text, keeping its structure; no field is trusted for a size.
    pub fn parse(bytes: &[u8]) -> Result<Self, LgbmError> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            syntax(line, "not UTF-8 text")
        })?;
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim_end_matches('\r')));
        match lines.next() {
            Some((_, "tree")) => {}
            _ => return Err(LgbmError::NotLightGbm),
        }
        let mut model = LgbmModel {
            version: String::new(),
            num_class: 0,
            num_tree_per_iteration: 0,
            max_feature_idx: usize::MAX,
            objective: String::new(),
            average_output: false,
            feature_names: Vec::new(),
            trees: Vec::new(),
        };
        let (mut seen_class, mut seen_tpi) = (false, false);
        let mut current: Option<(usize, LgbmTree, Vec<&'static str>)> = None;
        let mut ended = false;
        let mut tree_sizes: Option<usize> = None;
        for (n, line) in lines {
            if line == "end of trees" {
                ended = true;
                break;
            }
            if line.is_empty() {
                continue;
            }
            let (key, value) = line.split_once('=').unwrap_or((line, ""));
            if key == "Tree" {
                if let Some((t, tree, seen)) = current.take() {
                    model.trees.push(finish_tree(t, tree, &seen)?);
                }
                let t: usize = number(n, "Tree", value)?;
                if t != model.trees.len() {
                    return Err(syntax(
                        n,
                        format!("Tree={t} out of order (expected {})", model.trees.len()),
                    ));
                }
                if t >= MAX_TREES {
                    return Err(syntax(n, format!("more than {MAX_TREES} trees")));
                }
                current = Some((t, LgbmTree::default(), Vec::new()));
                continue;
            }
            if let Some((_, tree, seen)) = current.as_mut() {
                let k: &'static str = match key {
                    "num_leaves" => {
                        tree.num_leaves = number(n, key, value)?;
                        if tree.num_leaves == 0 || tree.num_leaves > MAX_LEAVES {
                            return Err(syntax(
                                n,
                                format!("num_leaves {} out of range", tree.num_leaves),
                            ));
                        }
                        "num_leaves"
                    }
                    "split_feature" => {
                        tree.split_feature = list(n, key, value)?;
                        "split_feature"
                    }
                    "threshold" => {
                        tree.threshold = list(n, key, value)?;
                        "threshold"
                    }
                    "decision_type" => {
                        tree.decision_type = list(n, key, value)?;
                        "decision_type"
                    }
                    "left_child" => {
                        tree.left_child = list(n, key, value)?;
                        "left_child"
                    }
                    "right_child" => {
                        tree.right_child = list(n, key, value)?;
                        "right_child"
                    }
                    "leaf_value" => {
                        tree.leaf_value = list(n, key, value)?;
                        "leaf_value"
                    }
                    "cat_boundaries" => {
                        tree.cat_boundaries = list(n, key, value)?;
                        "cat_boundaries"
                    }
                    "cat_threshold" => {
                        tree.cat_threshold = list(n, key, value)?;
                        "cat_threshold"
                    }
                    "internal_count" => {
                        tree.internal_count = list(n, key, value)?;
                        "internal_count"
                    }
                    "leaf_count" => {
                        tree.leaf_count = list(n, key, value)?;
                        "leaf_count"
                    }
                    "is_linear" => {
                        tree.is_linear = value.trim() == "1";
                        "is_linear"
                    }
                    _ => continue,
                };
                seen.push(k);
                continue;
            }
            match key {
                "version" => model.version = value.to_string(),
                "num_class" => {
                    model.num_class = number(n, key, value)?;
                    seen_class = true;
                }
                "num_tree_per_iteration" => {
                    model.num_tree_per_iteration = number(n, key, value)?;
                    seen_tpi = true;
                }
                "max_feature_idx" => model.max_feature_idx = number(n, key, value)?,
                "objective" => model.objective = value.to_string(),
                "average_output" => model.average_output = true,
                "tree_sizes" => {
                    tree_sizes = Some(value.split(' ').filter(|s| !s.is_empty()).count())
                }
                "feature_names" => {
                    model.feature_names = value.split(' ').map(str::to_string).collect()
                }
                _ => {}
            }
        }
        if let Some((t, tree, seen)) = current.take() {
            model.trees.push(finish_tree(t, tree, &seen)?);
        }
        // A file cut between two trees would otherwise read as a smaller model.
        if !ended {
            return Err(LgbmError::Missing {
                tree: None,
                field: "end of trees",
            });
        }
        if let Some(n) = tree_sizes {
            if n != model.trees.len() {
                return Err(LgbmError::Syntax {
                    line: 0,
                    reason: format!(
                        "tree_sizes lists {n} trees, the file holds {}",
                        model.trees.len()
                    ),
                });
            }
        }
        if !seen_class {
            return Err(LgbmError::Missing {
                tree: None,
                field: "num_class",
            });
        }
        if !seen_tpi {
            return Err(LgbmError::Missing {
                tree: None,
                field: "num_tree_per_iteration",
            });
        }
        if model.max_feature_idx == usize::MAX {
            return Err(LgbmError::Missing {
                tree: None,
                field: "max_feature_idx",
            });
        }
        if model.trees.is_empty() {
            return Err(LgbmError::Missing {
                tree: None,
                field: "Tree=0",
            });
        }
        Ok(model)
    }

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
                (
                    classes(2),
                    if s == 1.0 {
                        Link::Sigmoid
                    } else {
                        Link::ScaledSigmoid(s)
                    },
                )
            }
            "multiclass" | "softmax" => (classes(self.num_class), Link::Softmax),
            "multiclassova" | "multiclass_ova" | "ova" | "ovr" => {
                let s: f64 = param("sigmoid").and_then(|s| s.parse().ok()).unwrap_or(1.0);
                (
                    classes(self.num_class),
                    if s == 1.0 {
                        Link::Sigmoid
                    } else {
                        Link::ScaledSigmoid(s)
                    },
                )
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
        let features = (0..n_features)
            .map(|i| Feature {
                allow_missing: true,
                ..Feature::named(
                    self.feature_names
                        .get(i)
                        .filter(|s| !s.is_empty())
                        .cloned()
                        .unwrap_or_else(|| format!("Column_{i}")),
                )
            })
            .collect();
        Ok(Ensemble {
            features,
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
}

/// Checks that a tree block has every field its leaf count needs.
fn finish_tree(t: usize, tree: LgbmTree, seen: &[&str]) -> Result<LgbmTree, LgbmError> {
    let need = |f: &'static str| {
        if seen.contains(&f) {
            Ok(())
        } else {
            Err(LgbmError::Missing {
                tree: Some(t),
                field: f,
            })
        }
    };
    need("num_leaves")?;
    need("leaf_value")?;
    let splits = tree.num_leaves - 1;
    if splits > 0 {
        for f in [
            "split_feature",
            "threshold",
            "decision_type",
            "left_child",
            "right_child",
        ] {
            need(f)?;
        }
    }
    let bad = |what: &str, len: usize, want: usize| LgbmError::Tree {
        tree: t,
        reason: format!(
            "{what} has {len} entries, num_leaves {} needs {want}",
            tree.num_leaves
        ),
    };
    for (what, len) in [
        ("split_feature", tree.split_feature.len()),
        ("threshold", tree.threshold.len()),
        ("decision_type", tree.decision_type.len()),
        ("left_child", tree.left_child.len()),
        ("right_child", tree.right_child.len()),
    ] {
        if splits > 0 && len != splits {
            return Err(bad(what, len, splits));
        }
    }
    if tree.leaf_value.len() != tree.num_leaves {
        return Err(bad("leaf_value", tree.leaf_value.len(), tree.num_leaves));
    }
    if tree.is_linear {
        return Err(LgbmError::Unsupported(format!(
            "linear tree (Tree={t}, linear_tree=true)"
        )));
    }
    Ok(tree)
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
        let default_left = dt & 2 != 0;
        let missing_type = (dt >> 2) & 3;
        let t_ = tree.threshold[i];
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
        if t_.is_nan() {
            return Err(bad(format!("node {i}: NaN threshold")));
        }
        // Inputs with |x| <= 1e-35 reach LightGBM's trees as 0.0; only a threshold in
        // that band can tell them from zero, so only then is the rule spelled out.
        let near_zero = (-ZERO_THRESHOLD..ZERO_THRESHOLD).contains(&t_);
        let node = match missing_type {
            // None: NaN becomes 0.0 and compares as such.
            0 if !near_zero => Node::Split {
                feature,
                threshold: t_,
                missing_left: 0.0 <= t_,
                left,
                right,
            },
            0 => rule(
                feature,
                t_,
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
            1 if !near_zero && (0.0 <= t_) == default_left => Node::Split {
                feature,
                threshold: t_,
                missing_left: default_left,
                left,
                right,
            },
            1 => rule(
                feature,
                t_,
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
                threshold: t_,
                missing_left: default_left,
                left,
                right,
            },
            2 => rule(
                feature,
                t_,
                Missing {
                    left: default_left,
                    tiny_as_zero: true,
                    nan_as_zero: false,
                    zero_is_missing: false,
                },
                left,
                right,
            ),
            m => return Err(bad(format!("node {i}: unknown missing type {m}"))),
        };
        nodes.push(node);
    }
    nodes.extend(tree.leaf_value.iter().map(|&v| Node::Leaf(vec![v])));
    Ok(nodes)
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
