//! [`SklearnForest`]: a RandomForest, ExtraTrees or single decision tree read from the
//! pickle (`from_pickle`), which scikit-learn versions accept NaN for it, and its
//! translation to an averaged [`Ensemble`] (`to_ensemble`), as the parent module's doc
//! describes.

use edgewood_core::{Aggregation, Comparison, Ensemble, Feature, Node, Task, Tree};

use super::{
    attr, bad, normalise_row, read_schema, read_tree, source, usize_attr, Schema, SklearnError,
    SklearnForest, SklearnTree, ESTIMATORS,
};
use crate::pickle::{Id, Pickle, Role, Value};

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

/// The trees of an estimator, still in the pickle: each tree's attribute path
/// (`estimators_[3].tree_`) and the id of its `Tree` object, in estimator order.
type TreeObjects = Vec<(String, Id)>;

impl SklearnForest {
    /// Reads the estimator at the pickle's root.
    pub fn from_pickle(p: &Pickle<'_>) -> Result<Self, SklearnError> {
        let (mut forest, objects) = Self::read_estimator(p)?;
        forest.trees = objects
            .iter()
            .map(|(path, id)| read_tree(p, *id, path, forest.n_features))
            .collect::<Result<_, _>>()?;
        Ok(forest)
    }

    /// [`Self::from_pickle`] then [`Self::to_ensemble`], one tree at a time: each tree's
    /// records are parsed, translated and dropped before the next is read, so that the
    /// parsed records of a whole forest (about the size of the ensemble itself for a
    /// deep one) are never in memory beside the ensemble being built.
    pub fn ensemble_from_pickle(p: &Pickle<'_>, container: &str) -> Result<Ensemble, SklearnError> {
        let (forest, objects) = Self::read_estimator(p)?;
        let width = forest.leaf_width();
        let mut trees = Vec::with_capacity(objects.len());
        let mut with_missing_field = true;
        for (t, (path, id)) in objects.iter().enumerate() {
            let tree = read_tree(p, *id, path, forest.n_features)?;
            with_missing_field &= tree.has_missing_field;
            trees.push(Tree {
                nodes: forest.tree_nodes(t, &tree, width)?,
                output: 0,
                stats: tree.into_stats(),
            });
        }
        Ok(forest.ensemble(trees, with_missing_field, container))
    }

    /// The estimator's attributes, with no trees yet, and where its trees are.
    fn read_estimator(p: &Pickle<'_>) -> Result<(Self, TreeObjects), SklearnError> {
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
        let objects = if name.starts_with("RandomForest") || name.starts_with("ExtraTrees") {
            let list = attr(p, root, "", "estimators_")?;
            let items = match p.get(list) {
                Value::List(v) => v,
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
            let mut objects = Vec::with_capacity(items.len());
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
                objects.push((format!("{path}tree_"), tree));
            }
            objects
        } else {
            vec![("tree_".to_string(), attr(p, root, "", "tree_")?)]
        };
        let splitter = p
            .attr(root, "splitter")
            .and_then(|s| p.as_str(s))
            .map(str::to_owned);
        let forest = SklearnForest {
            class: name,
            version,
            n_features,
            feature_names,
            classes,
            trees: Vec::new(),
            splitter,
        };
        Ok((forest, objects))
    }

    /// Whether the scikit-learn that wrote this model accepts NaN at predict time.
    pub fn accepts_missing(&self) -> bool {
        self.accepts_missing_if(self.trees.iter().all(|t| t.has_missing_field))
    }

    /// [`Self::accepts_missing`], given whether every tree's node layout has
    /// `missing_go_to_left`.
    fn accepts_missing_if(&self, with_missing_field: bool) -> bool {
        let v = self.version.as_deref();
        if !with_missing_field {
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
        let width = self.leaf_width();
        let mut trees = Vec::with_capacity(self.trees.len());
        for (t, tree) in self.trees.iter().enumerate() {
            trees.push(Tree {
                nodes: self.tree_nodes(t, tree, width)?,
                output: 0,
                stats: tree.stats(),
            });
        }
        let with_missing_field = self.trees.iter().all(|t| t.has_missing_field);
        Ok(self.ensemble(trees, with_missing_field, container))
    }

    /// Values in each leaf: the number of classes, or 1 for a regressor.
    fn leaf_width(&self) -> usize {
        self.classes.as_ref().map_or(1, |c| c.len())
    }

    /// The ensemble of the translated `trees`; `with_missing_field` says whether every
    /// tree's node layout has `missing_go_to_left`.
    fn ensemble(&self, trees: Vec<Tree>, with_missing_field: bool, container: &str) -> Ensemble {
        let allow_missing = self.accepts_missing_if(with_missing_field);
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
        let task = match &self.classes {
            None => Task::Regression,
            Some(c) => c.task(),
        };
        Ensemble {
            features,
            task,
            aggregation: Aggregation::Average,
            comparison: Comparison::F32LessEqual,
            leaf_width: self.leaf_width(),
            trees,
            source: source(self.class, self.version.as_deref(), container),
        }
    }

    /// Tree `t` as nodes: leaves of `width` values (normalised when they are counts),
    /// splits checked against the tree and the model's features.
    fn tree_nodes(
        &self,
        t: usize,
        tree: &SklearnTree,
        width: usize,
    ) -> Result<Vec<Node>, SklearnError> {
        let normalise = self.classes.is_some() && !self.leaves_are_fractions();
        let path = |i: usize| {
            if !self.class.contains("Forest") && !self.class.contains("Trees") {
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
        Ok(nodes)
    }
}
