//! [`XgbModel::to_ensemble`]: a parsed XGBoost model as an [`Ensemble`] with XGBoost's
//! own arithmetic (base margins from `base_score`, float32 `x < t` decisions, categorical
//! sets whose members go right, DART weights), one tree arena at a time.

use edgewood_core::{
    next_down_f32, Aggregation, Comparison, Ensemble, Link, Missing, Node, NodeStats, SplitTest,
    Task, Tree,
};

use super::{Objective, XgbError, XgbModel, XgbTree};
use crate::reader::named_features;

impl XgbModel {
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
        self.check_lengths()?;
        let base = self.base_margins()?;
        let trees = self.trees(groups)?;
        let (task, link) = self.task(groups);
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
            features: named_features(&self.feature_names, self.num_feature, "f"),
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

    /// At least one feature, and one `tree_info` entry (and DART weight) per tree.
    fn check_lengths(&self) -> Result<(), XgbError> {
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
        Ok(())
    }

    /// Every tree as an arena, adding to its `tree_info` output group.
    fn trees(&self, groups: usize) -> Result<Vec<Tree>, XgbError> {
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
        Ok(trees)
    }

    /// The objective's task (with the sklearn wrapper's class labels when it saved
    /// them) and link.
    fn task(&self, groups: usize) -> (Task, Link) {
        let classification = |n: usize| {
            let (classes, integer_labels) = match &self.classes {
                Some(c) if c.len() == n => {
                    let ints = c.iter().all(|s| s.parse::<i64>().is_ok());
                    (c.clone(), ints)
                }
                _ => ((0..n).map(|i| i.to_string()).collect(), true),
            };
            Task::Classification {
                classes,
                integer_labels,
            }
        };
        match self.objective {
            Objective::BinaryLogistic => (classification(2), Link::Sigmoid),
            Objective::SoftProb | Objective::SoftMax => (classification(groups), Link::Softmax),
            Objective::BinaryLogitRaw | Objective::Identity => (Task::Regression, Link::Identity),
            Objective::RegLogistic => (Task::Regression, Link::Sigmoid),
            Objective::Exp => (Task::Regression, Link::Exp),
        }
    }
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
