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

/// What the header says beyond the model's own fields: whether the counts it must
/// state are there, and how many trees `tree_sizes` lists.
#[derive(Default)]
struct Header {
    seen_class: bool,
    seen_tpi: bool,
    tree_sizes: Option<usize>,
}

/// A tree block being read: its index, its fields, and which fields it has stated.
type OpenTree = (usize, LgbmTree, Vec<&'static str>);

impl LgbmModel {
    /// Parses the text, keeping its structure; no field is trusted for a size.
    pub fn parse(bytes: &[u8]) -> Result<Self, LgbmError> {
        let lines = text_lines(bytes)?;
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
        let mut header = Header::default();
        let mut current: Option<OpenTree> = None;
        let mut ended = false;
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
                current = Some((model.next_tree(n, value)?, LgbmTree::default(), Vec::new()));
            } else if let Some((_, tree, seen)) = current.as_mut() {
                if let Some(field) = tree_field(tree, n, key, value)? {
                    seen.push(field);
                }
            } else {
                model.header_field(&mut header, n, key, value)?;
            }
        }
        if let Some((t, tree, seen)) = current.take() {
            model.trees.push(finish_tree(t, tree, &seen)?);
        }
        model.check_complete(ended, &header)?;
        Ok(model)
    }

    /// The index of a `Tree=` line: the next tree, within [`MAX_TREES`].
    fn next_tree(&self, n: usize, value: &str) -> Result<usize, LgbmError> {
        let t: usize = number(n, "Tree", value)?;
        if t != self.trees.len() {
            return Err(syntax(
                n,
                format!("Tree={t} out of order (expected {})", self.trees.len()),
            ));
        }
        if t >= MAX_TREES {
            return Err(syntax(n, format!("more than {MAX_TREES} trees")));
        }
        Ok(t)
    }

    /// One `key=value` line of the header (before the first tree); unknown keys are
    /// skipped.
    fn header_field(
        &mut self,
        header: &mut Header,
        n: usize,
        key: &str,
        value: &str,
    ) -> Result<(), LgbmError> {
        match key {
            "version" => self.version = value.to_string(),
            "num_class" => {
                self.num_class = number(n, key, value)?;
                header.seen_class = true;
            }
            "num_tree_per_iteration" => {
                self.num_tree_per_iteration = number(n, key, value)?;
                header.seen_tpi = true;
            }
            "max_feature_idx" => self.max_feature_idx = number(n, key, value)?,
            "objective" => self.objective = value.to_string(),
            "average_output" => self.average_output = true,
            "tree_sizes" => {
                header.tree_sizes = Some(value.split(' ').filter(|s| !s.is_empty()).count())
            }
            "feature_names" => self.feature_names = value.split(' ').map(str::to_string).collect(),
            _ => {}
        }
        Ok(())
    }

    /// After the last line: the file ended with `end of trees`, holds the trees
    /// `tree_sizes` lists, and stated every count the conversion needs.
    fn check_complete(&self, ended: bool, header: &Header) -> Result<(), LgbmError> {
        // A file cut between two trees would otherwise read as a smaller model.
        if !ended {
            return Err(LgbmError::Missing {
                tree: None,
                field: "end of trees",
            });
        }
        if let Some(n) = header.tree_sizes {
            if n != self.trees.len() {
                return Err(LgbmError::Syntax {
                    line: 0,
                    reason: format!(
                        "tree_sizes lists {n} trees, the file holds {}",
                        self.trees.len()
                    ),
                });
            }
        }
        let missing = |field| Err(LgbmError::Missing { tree: None, field });
        if !header.seen_class {
            return missing("num_class");
        }
        if !header.seen_tpi {
            return missing("num_tree_per_iteration");
        }
        if self.max_feature_idx == usize::MAX {
            return missing("max_feature_idx");
        }
        if self.trees.is_empty() {
            return missing("Tree=0");
        }
        Ok(())
    }
}

/// The text's numbered lines after its first, which must be `tree`.
fn text_lines(bytes: &[u8]) -> Result<impl Iterator<Item = (usize, &str)>, LgbmError> {
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
        Some((_, "tree")) => Ok(lines),
        _ => Err(LgbmError::NotLightGbm),
    }
}

/// One `key=value` line of a tree block: the field it sets, or `None` for a key this
/// reader does not use.
fn tree_field(
    tree: &mut LgbmTree,
    n: usize,
    key: &str,
    value: &str,
) -> Result<Option<&'static str>, LgbmError> {
    Ok(Some(match key {
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
        _ => return Ok(None),
    }))
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
