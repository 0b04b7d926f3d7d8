//! [`LgbmModel::parse`]: a bounded, line-based parse of a LightGBM text model's header
//! and `Tree=` blocks into [`LgbmModel`], as the file says it; no field is trusted for a
//! size.

use super::{LgbmError, LgbmModel, LgbmTree, MAX_LEAVES, MAX_TREES};

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
