//! [`CbModel::to_ensemble`]: a parsed CatBoost model as an [`Ensemble`] that predicts
//! exactly as CatBoost does. Each oblivious tree is expanded into an ordinary node tree
//! (the last level's split at the root, as CatBoost's SHAP walks it, a set bit going
//! right), one tree per output for
//! MultiClass; float splits go left when the float32 input is `<= border`, NaN as the
//! feature's treatment says; one-hot splits send the split's category right. The bias
//! is added after every tree, as CatBoost adds it after summing, by a last one-leaf tree
//! per output.

use std::collections::{BTreeMap, BTreeSet};

use edgewood_core::{
    Aggregation, Comparison, Ensemble, Link, Missing, Node, NodeStats, SplitTest, Task, Tree,
    MAX_CATEGORY,
};
use serde_json::Value;

use super::hash::{integer_categories, SEARCHED_CODES};
use super::{CbError, CbModel, CbSplit, CbTree, NanTreatment};
use crate::reader::named_features;

impl CbModel {
    /// Converts to an [`Ensemble`] that predicts exactly as CatBoost does.
    pub fn to_ensemble(&self) -> Result<Ensemble, CbError> {
        let (loss, task, link) = self.objective()?;
        let dim = self.dimension;
        let scale = self.scale;
        // (Σ l) × s equals Σ (l × s) only when s is a power of two.
        let power_of_two = scale.is_finite() && scale > 0.0 && scale.to_bits() << 12 == 0;
        if !power_of_two {
            return Err(CbError::Unsupported(format!(
                "scale {scale} in scale_and_bias (Edgewood applies 1 or a power of two exactly)"
            )));
        }
        let columns = self.columns()?;
        let categories = self.category_codes();
        let with_stats = self.trees.iter().all(|t| !t.leaf_weights.is_empty());
        let mut trees = Vec::with_capacity(self.trees.len() * dim + dim);
        for (t, tree) in self.trees.iter().enumerate() {
            let splits = self.node_splits(t, tree, &categories)?;
            for k in 0..dim {
                trees.push(expand(tree, &splits, dim, k, scale, with_stats));
            }
        }
        for (k, &bias) in self.bias.iter().enumerate() {
            // Adding +0.0 to a sum that started at +0.0 changes nothing.
            if bias.to_bits() != 0 {
                trees.push(Tree {
                    nodes: vec![Node::Leaf(vec![bias])],
                    output: k as u32,
                    // A constant: every row reaches it, whatever its cover.
                    stats: with_stats.then(|| NodeStats {
                        cover: vec![1.0],
                        leaf_ids: vec![0],
                    }),
                });
            }
        }
        Ok(Ensemble {
            features: named_features(&columns, columns.len(), "x"),
            task,
            aggregation: Aggregation::Sum {
                base: vec![0.0; dim],
                link,
                accumulate_f32: false,
                divide_by_rounds: false,
            },
            comparison: Comparison::F32LessEqual,
            leaf_width: 1,
            trees,
            source: format!("CatBoost {loss}, {} oblivious trees", self.trees.len()),
        })
    }

    /// The loss function, and the task and link it implies.
    fn objective(&self) -> Result<(String, Task, Link), CbError> {
        let loss = self
            .params
            .as_ref()
            .and_then(|p| p.get("loss_function"))
            .and_then(|l| l.get("type"))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                CbError::Unsupported("model without model_info.params.loss_function".into())
            })?
            .to_string();
        let dim = self.dimension;
        let (task, link) = match loss.as_str() {
            "RMSE" | "MAE" | "Quantile" | "MAPE" | "Huber" | "Lq" | "Expectile" if dim == 1 => {
                (Task::Regression, Link::Identity)
            }
            "Logloss" | "CrossEntropy" if dim == 1 => (self.classes(2)?, Link::Sigmoid),
            // CatBoost's softmax takes its own fast exp (fmath's `expd`).
            "MultiClass" if dim >= 2 => (self.classes(dim)?, Link::SoftmaxCatBoost),
            _ => {
                return Err(CbError::Unsupported(format!(
                    "loss function {loss:?} with {dim} values per leaf"
                )))
            }
        };
        Ok((loss, task, link))
    }

    /// The class labels from `class_params.class_names` (`0..n` when absent).
    fn classes(&self, n: usize) -> Result<Task, CbError> {
        let params = self.class_params.as_ref();
        let names = params
            .and_then(|p| p.get("class_names"))
            .and_then(Value::as_array)
            .filter(|a| !a.is_empty());
        let Some(names) = names else {
            return Ok(Task::Classification {
                classes: (0..n).map(|i| i.to_string()).collect(),
                integer_labels: true,
            });
        };
        if names.len() != n {
            return Err(super::malformed(
                "model_info.class_params.class_names",
                format!("{} classes for {n} outputs", names.len()),
            ));
        }
        let classes: Vec<String> = names
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                v => v.to_string(),
            })
            .collect();
        let integer_labels = names.iter().all(|v| v.is_i64() || v.is_u64());
        Ok(Task::Classification {
            classes,
            integer_labels,
        })
    }

    /// Each column's name, by flat feature index; every feature in one column.
    fn columns(&self) -> Result<Vec<String>, CbError> {
        let flat = self
            .float_features
            .iter()
            .map(|f| (f.flat_index, &f.name))
            .chain(self.cat_features.iter().map(|f| (f.flat_index, &f.name)));
        let n = flat.clone().map(|(i, _)| i + 1).max().unwrap_or(0);
        let mut names: Vec<Option<String>> = vec![None; n];
        for (i, name) in flat {
            if names[i].replace(name.clone()).is_some() {
                return Err(super::malformed(
                    "features_info",
                    format!("two features in column {i}"),
                ));
            }
        }
        Ok(names.into_iter().map(Option::unwrap_or_default).collect())
    }

    /// Each level of tree `t` as the node it becomes (children left unset).
    fn node_splits(
        &self,
        t: usize,
        tree: &CbTree,
        categories: &BTreeMap<u32, String>,
    ) -> Result<Vec<Node>, CbError> {
        tree.splits
            .iter()
            .enumerate()
            .map(|(level, split)| match *split {
                CbSplit::Float { feature, border } => {
                    let f = self.float_features.get(feature).ok_or_else(|| {
                        super::malformed(
                            format!("tree {t} split {level}"),
                            format!("float feature {feature} of {}", self.float_features.len()),
                        )
                    })?;
                    Ok(Node::Split {
                        feature: f.flat_index as u32,
                        threshold: border as f64,
                        missing_left: f.nan != NanTreatment::AsTrue,
                        left: 0,
                        right: 0,
                    })
                }
                CbSplit::OneHot { feature, hash } => {
                    let f = self.cat_features.get(feature).ok_or_else(|| {
                        super::malformed(
                            format!("tree {t} split {level}"),
                            format!(
                                "categorical feature {feature} of {}",
                                self.cat_features.len()
                            ),
                        )
                    })?;
                    let category = category(categories, hash, &f.name)?;
                    Ok(Node::Rule {
                        feature: f.flat_index as u32,
                        test: SplitTest::InSet {
                            categories: vec![category],
                            in_set_left: false,
                            integers_only: true,
                        },
                        // NaN is no category: the bit stays clear.
                        missing: Missing {
                            left: true,
                            ..Missing::default()
                        },
                        left: 0,
                        right: 0,
                    })
                }
            })
            .collect()
    }

    /// The text of every one-hot split's category: as the file names it, else the
    /// decimal text of the integer code whose hash it is (a `.cbm` names none).
    fn category_codes(&self) -> BTreeMap<u32, String> {
        let mut names: BTreeMap<u32, String> = self.category_names.iter().cloned().collect();
        let unnamed: BTreeSet<u32> = self
            .trees
            .iter()
            .flat_map(|t| &t.splits)
            .filter_map(|s| match *s {
                CbSplit::OneHot { hash, .. } if !names.contains_key(&hash) => Some(hash),
                _ => None,
            })
            .collect();
        for (hash, code) in integer_categories(&unnamed) {
            names.insert(hash, code.to_string());
        }
        names
    }
}

/// The integer code of the category whose hash a one-hot split names.
fn category(names: &BTreeMap<u32, String>, hash: u32, feature: &str) -> Result<u32, CbError> {
    let text = names.get(&hash).ok_or_else(|| {
        CbError::Unsupported(format!(
            "one-hot split of feature {feature:?} on category hash {hash}, which is not \
             the hash of an integer code below {SEARCHED_CODES} and which the file does \
             not name (a JSON export saved with its training pool names every category: \
             save_model(path, format=\"json\", pool=pool))"
        ))
    })?;
    text.parse::<u32>()
        .ok()
        .filter(|c| *c < MAX_CATEGORY && c.to_string() == *text)
        .ok_or_else(|| {
            CbError::Unsupported(format!(
                "category {text:?} of feature {feature:?}: Edgewood reads categories as \
                 integer codes 0..{MAX_CATEGORY}"
            ))
        })
}

/// The cover given a leaf CatBoost weighs 0 (no training row reached it; most have
/// value 0): 2^-1000, so that no split's cover is 0 and TreeSHAP's cover shares stay
/// finite. CatBoost's own SHAP skips such branches; a share of 2^-1000 makes them count
/// for nothing as well (checked against CatBoost on rows that reach such leaves).
const EMPTY_LEAF_COVER: f64 = 9.332636185032189e-302;

/// Tree `tree`'s output `k` as a node tree: level `d - 1 - i` at depth `i` (the highest
/// bit at the root, the order in which CatBoost's SHAP walks an oblivious tree, which
/// path-dependent TreeSHAP depends on), a set bit right.
fn expand(
    tree: &CbTree,
    splits: &[Node],
    dim: usize,
    k: usize,
    scale: f64,
    with_stats: bool,
) -> Tree {
    let depth = splits.len();
    let mut nodes = Vec::with_capacity((2 << depth) - 1);
    let mut cover = Vec::with_capacity(nodes.capacity());
    let mut leaf_ids = Vec::with_capacity(nodes.capacity());
    build(
        tree,
        splits,
        dim,
        k,
        scale,
        0,
        0,
        &mut nodes,
        &mut cover,
        &mut leaf_ids,
    );
    let stats = with_stats.then_some(NodeStats { cover, leaf_ids });
    Tree {
        nodes,
        output: k as u32,
        stats,
    }
}

/// Appends the subtree at depth `level` whose leaf index so far is `index`; returns its
/// root's node index.
#[allow(clippy::too_many_arguments)]
fn build(
    tree: &CbTree,
    splits: &[Node],
    dim: usize,
    k: usize,
    scale: f64,
    level: usize,
    index: usize,
    nodes: &mut Vec<Node>,
    cover: &mut Vec<f64>,
    leaf_ids: &mut Vec<u32>,
) -> u32 {
    let at = nodes.len();
    if level == splits.len() {
        nodes.push(Node::Leaf(vec![tree.leaf_values[index * dim + k] * scale]));
        let weight = tree.leaf_weights.get(index).copied().unwrap_or(0.0);
        cover.push(if weight > 0.0 {
            weight
        } else {
            EMPTY_LEAF_COVER
        });
        leaf_ids.push(index as u32);
        return at as u32;
    }
    let bit = splits.len() - 1 - level;
    nodes.push(splits[bit].clone());
    cover.push(0.0);
    leaf_ids.push(at as u32);
    let l = build(
        tree,
        splits,
        dim,
        k,
        scale,
        level + 1,
        index,
        nodes,
        cover,
        leaf_ids,
    );
    let r = build(
        tree,
        splits,
        dim,
        k,
        scale,
        level + 1,
        index | 1 << bit,
        nodes,
        cover,
        leaf_ids,
    );
    cover[at] = cover[l as usize] + cover[r as usize];
    if let Node::Split { left, right, .. } | Node::Rule { left, right, .. } = &mut nodes[at] {
        *left = l;
        *right = r;
    }
    at as u32
}
