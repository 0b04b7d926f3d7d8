//! [`Model`]: a read-only view over `.ewm` bytes, opened in O(1).
//!
//! Opening checks the header and that every section lies inside the buffer; nothing
//! proportional to the model's size is decoded, so a model embedded with
//! `include_bytes!` is ready at once. Prediction reads nodes straight from the bytes
//! with bounds checks; [`Model::validate`] walks every node once for callers (the CLI,
//! importers) that want corruption reported up front rather than at prediction time.

use alloc::vec;
use alloc::vec::Vec;

use crate::ensemble::{Link, LogSumExp, RowSum};
use crate::error::FormatError;
use crate::layout::*;

/// What a model predicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskKind {
    /// One value per row.
    Regression,
    /// A probability per class.
    Classification,
}

/// A tree-ensemble model borrowed from `.ewm` bytes.
#[derive(Clone, Copy, Debug)]
pub struct Model<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) task: TaskKind,
    /// `None` for averaging (forests), `Some(link)` for summing (boosting).
    pub(crate) sum_link: Option<Link>,
    pub(crate) wide: bool,
    pub(crate) accumulate_f32: bool,
    pub(crate) integer_labels: bool,
    pub(crate) n_features: usize,
    pub(crate) n_classes: usize,
    pub(crate) n_outputs: usize,
    pub(crate) leaf_width: usize,
    pub(crate) n_trees: usize,
    pub(crate) n_nodes: usize,
    pub(crate) n_leaves: usize,
    pub(crate) features: &'a [u8],
    pub(crate) classes: &'a [u8],
    pub(crate) base: &'a [u8],
    pub(crate) trees: &'a [u8],
    pub(crate) nodes: &'a [u8],
    pub(crate) leaves: &'a [u8],
    pub(crate) strings: &'a [u8],
    pub(crate) source: (usize, usize),
    /// §10 categorical bitsets (u32 words).
    pub(crate) categories: &'a [u8],
    /// §1 flag bit 3: margins are divided by `n_trees / n_outputs` before the link.
    pub(crate) divide_by_rounds: bool,
    /// §11 node statistics (covers and leaf ids); empty when the model has none.
    pub(crate) stats: &'a [u8],
}

/// Takes `count × size` bytes at the offset stored in header field `field`.
fn section<'a>(
    bytes: &'a [u8],
    field: usize,
    count: usize,
    size: usize,
    name: &'static str,
) -> Result<&'a [u8], FormatError> {
    let offset = u32_at(bytes, field).ok_or(FormatError::NotEwm)? as usize;
    let len = count
        .checked_mul(size)
        .ok_or(FormatError::SectionOutOfBounds { section: name })?;
    let end = offset
        .checked_add(len)
        .ok_or(FormatError::SectionOutOfBounds { section: name })?;
    if offset < HEADER_SIZE && len > 0 {
        return Err(FormatError::SectionOutOfBounds { section: name });
    }
    bytes
        .get(offset..end)
        .ok_or(FormatError::SectionOutOfBounds { section: name })
}

impl<'a> Model<'a> {
    /// Opens `.ewm` bytes in O(1): header and section bounds only.
    ///
    /// Any byte string is safe to open: the result is an error, or a model whose
    /// predictions terminate (and report corruption as an error where they meet it).
    pub fn open(bytes: &'a [u8]) -> Result<Self, FormatError> {
        if bytes.len() < 8 || bytes[0..4] != MAGIC {
            return Err(FormatError::NotEwm);
        }
        let version = u16_at(bytes, header::VERSION).unwrap_or(0);
        if version != VERSION && version != VERSION_1 {
            return Err(FormatError::UnsupportedVersion(version));
        }
        if bytes.len() < HEADER_SIZE {
            return Err(FormatError::Truncated {
                expected: HEADER_SIZE,
                found: bytes.len(),
            });
        }
        let field = |at: usize| u32_at(bytes, at).unwrap_or(0) as usize;
        let bad = |field: &'static str, value: usize| FormatError::BadHeader {
            field,
            value: value as u64,
        };
        let header_size = u16_at(bytes, header::HEADER_SIZE).unwrap_or(0) as usize;
        if header_size != HEADER_SIZE {
            return Err(bad("header_size", header_size));
        }
        let file_size = field(header::FILE_SIZE);
        // A file size below the header would cut the header off (found by fuzzing).
        if file_size < HEADER_SIZE {
            return Err(bad("file_size", file_size));
        }
        if file_size > bytes.len() {
            return Err(FormatError::Truncated {
                expected: file_size,
                found: bytes.len(),
            });
        }
        // Trailing bytes beyond file_size are ignored.
        let bytes = &bytes[..file_size];
        let task = match bytes[header::TASK] {
            0 => TaskKind::Regression,
            1 => TaskKind::Classification,
            v => return Err(bad("task", v as usize)),
        };
        let link = match bytes[header::LINK] {
            0 => Link::Identity,
            1 => Link::Sigmoid,
            2 => Link::Softmax,
            3 => Link::Exp,
            // The scale is read from §4 below, once the section is known.
            LINK_SCALED_SIGMOID => Link::ScaledSigmoid(1.0),
            LINK_SOFTMAX_SVML => Link::SoftmaxSvml(RowSum::InOrder),
            LINK_SOFTMAX_SVML_PAIRWISE => Link::SoftmaxSvml(RowSum::Pairwise),
            LINK_LOGSUMEXP_LOG_OF_SUM => Link::LogSumExp(LogSumExp::LogOfSum),
            LINK_LOGSUMEXP_LOG1P_OF_REST => Link::LogSumExp(LogSumExp::Log1pOfRest),
            LINK_SOFTMAX_CATBOOST => Link::SoftmaxCatBoost,
            v => return Err(bad("link", v as usize)),
        };
        let sum_link = match bytes[header::AGGREGATION] {
            0 if link == Link::Identity => None,
            1 => Some(link),
            v => return Err(bad("aggregation", v as usize)),
        };
        let flags = bytes[header::FLAGS];
        if flags & !HEADER_FLAGS_KNOWN != 0 {
            return Err(bad("flags", flags as usize));
        }
        let n_features = field(header::N_FEATURES);
        let n_classes = field(header::N_CLASSES);
        let n_outputs = field(header::N_OUTPUTS);
        let leaf_width = field(header::LEAF_WIDTH);
        let n_trees = field(header::N_TREES);
        let n_nodes = field(header::N_NODES);
        let n_leaves = field(header::N_LEAVES);
        if n_features == 0 || n_features > MAX_FEATURES as usize {
            return Err(bad("n_features", n_features));
        }
        if n_outputs == 0 || n_outputs > MAX_OUTPUTS as usize {
            return Err(bad("n_outputs", n_outputs));
        }
        match task {
            TaskKind::Regression if n_classes != 0 || n_outputs != 1 => {
                return Err(bad("n_classes", n_classes))
            }
            TaskKind::Classification
                if n_classes == 0
                    || (n_classes == 1 && sum_link.is_some())
                    || n_classes > MAX_OUTPUTS as usize
                    || !(n_outputs == n_classes
                        || (n_outputs == 1 && n_classes == 2 && sum_link.is_some())) =>
            {
                return Err(bad("n_classes", n_classes))
            }
            _ => {}
        }
        if leaf_width != 1 && leaf_width != n_outputs {
            return Err(bad("leaf_width", leaf_width));
        }
        if n_trees == 0 {
            return Err(bad("n_trees", n_trees));
        }
        let wide = flags & FLAG_WIDE_NODES != 0;
        let node_size = if wide {
            NODE_SIZE_WIDE
        } else {
            NODE_SIZE_NARROW
        };
        let base_count = match sum_link {
            None => 0,
            Some(Link::ScaledSigmoid(_)) => n_outputs + 1,
            Some(_) => n_outputs,
        };
        let divide_by_rounds = flags & FLAG_DIVIDE_BY_ROUNDS != 0;
        if divide_by_rounds && (sum_link.is_none() || leaf_width != 1 || n_trees % n_outputs != 0) {
            return Err(bad("flags", flags as usize));
        }
        let features = section(
            bytes,
            header::FEATURES_OFFSET,
            n_features,
            FEATURE_SIZE,
            "features",
        )?;
        let classes = section(
            bytes,
            header::CLASSES_OFFSET,
            n_classes,
            CLASS_SIZE,
            "classes",
        )?;
        let base = section(bytes, header::BASE_OFFSET, base_count, 8, "base")?;
        let trees = section(bytes, header::TREES_OFFSET, n_trees, TREE_SIZE, "trees")?;
        let nodes = section(bytes, header::NODES_OFFSET, n_nodes, node_size, "nodes")?;
        let leaves = section(
            bytes,
            header::LEAVES_OFFSET,
            n_leaves,
            leaf_width.saturating_mul(8),
            "leaves",
        )?;
        let strings = section(
            bytes,
            header::STRINGS_OFFSET,
            field(header::STRINGS_SIZE),
            1,
            "strings",
        )?;
        let source = (field(header::SOURCE_OFFSET), field(header::SOURCE_LEN));
        let categories = section(
            bytes,
            header::CATEGORIES_OFFSET,
            field(header::CATEGORIES_WORDS),
            4,
            "categories",
        )?;
        // §11 exists from version 2 on; in version 1 its header word is reserved.
        let stats_offset = if version == VERSION_1 {
            0
        } else {
            field(header::STATS_OFFSET)
        };
        let stats = if stats_offset == 0 {
            &bytes[..0]
        } else {
            let len = n_nodes
                .checked_mul(STATS_SPLIT_SIZE)
                .zip(n_leaves.checked_mul(STATS_LEAF_SIZE))
                .and_then(|(a, b)| a.checked_add(b))
                .ok_or(FormatError::SectionOutOfBounds { section: "stats" })?;
            section(bytes, header::STATS_OFFSET, len, 1, "stats")?
        };
        let sum_link = match sum_link {
            Some(Link::ScaledSigmoid(_)) => Some(Link::ScaledSigmoid(
                f64_at(base, n_outputs * 8).unwrap_or(f64::NAN),
            )),
            other => other,
        };
        Ok(Model {
            bytes,
            task,
            sum_link,
            wide,
            accumulate_f32: flags & FLAG_ACCUMULATE_F32 != 0,
            integer_labels: flags & FLAG_INTEGER_LABELS != 0,
            n_features,
            n_classes,
            n_outputs,
            leaf_width,
            n_trees,
            n_nodes,
            n_leaves,
            features,
            classes,
            base,
            trees,
            nodes,
            leaves,
            strings,
            source,
            categories,
            divide_by_rounds,
            stats,
        })
    }

    /// Opens and then [validates](Model::validate) every node: O(model size).
    pub fn open_validated(bytes: &'a [u8]) -> Result<Self, FormatError> {
        let model = Self::open(bytes)?;
        model.validate()?;
        Ok(model)
    }

    /// Checks every tree, node, leaf reference and string once.
    ///
    /// After it succeeds no prediction on this model can report corruption.
    pub fn validate(&self) -> Result<(), FormatError> {
        for i in 0..self.n_features {
            self.try_feature_name(i).ok_or(FormatError::BadString {
                what: "feature name",
                index: i,
            })?;
            let flags = u32_at(self.features, i * FEATURE_SIZE + 8).unwrap_or(u32::MAX);
            if flags & !FEATURE_FLAGS_KNOWN != 0 {
                return Err(FormatError::BadHeader {
                    field: "feature flags",
                    value: flags as u64,
                });
            }
        }
        for i in 0..self.n_classes {
            self.try_class_label(i).ok_or(FormatError::BadString {
                what: "class label",
                index: i,
            })?;
        }
        self.try_source().ok_or(FormatError::BadString {
            what: "source",
            index: 0,
        })?;
        // §4: base margins and the sigmoid scale are finite.
        if let Some(bad) = self
            .base
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
            .find(|b| !b.is_finite())
        {
            return Err(FormatError::BadHeader {
                field: "base margin",
                value: bad.to_bits(),
            });
        }
        let node_size = self.node_size();
        let mut expected_node = 0usize;
        let mut expected_leaf = 0usize;
        for t in 0..self.n_trees {
            let tree = self.tree(t).ok_or(FormatError::BadTree {
                tree: t,
                reason: "record out of bounds",
            })?;
            if tree.first_node != expected_node || tree.first_leaf != expected_leaf {
                return Err(FormatError::BadTree {
                    tree: t,
                    reason: "trees are not stored contiguously",
                });
            }
            if tree.first_node + tree.n_nodes > self.n_nodes
                || tree.first_leaf + tree.n_nodes + 1 > self.n_leaves
            {
                return Err(FormatError::BadTree {
                    tree: t,
                    reason: "node or leaf range out of bounds",
                });
            }
            if (self.leaf_width == 1 && tree.output >= self.n_outputs)
                || (self.leaf_width > 1 && tree.output != 0)
            {
                return Err(FormatError::BadTree {
                    tree: t,
                    reason: "output index out of range",
                });
            }
            // In pre-order a tree with n splits has n + 1 leaves, numbered depth-first:
            // walking it must meet each split and each leaf exactly in sequence. Every
            // step consumes one split or leaf number, so the walk ends.
            let mut next_split = 0usize;
            let mut next_leaf = 0usize;
            let mut pending: alloc::vec::Vec<(usize, bool)> = alloc::vec::Vec::new();
            let mut visiting = Some((0usize, tree.n_nodes == 0));
            while let Some((index, is_leaf)) = visiting {
                if is_leaf {
                    if index != next_leaf || index > tree.n_nodes {
                        return Err(FormatError::BadTree {
                            tree: t,
                            reason: "leaves out of depth-first order",
                        });
                    }
                    next_leaf += 1;
                    visiting = pending.pop();
                    continue;
                }
                if index != next_split || index >= tree.n_nodes {
                    return Err(FormatError::BadNode {
                        tree: t,
                        node: index,
                        reason: "splits out of pre-order",
                    });
                }
                next_split += 1;
                let at = (tree.first_node + index) * node_size;
                let raw = self
                    .nodes
                    .get(at..at + node_size)
                    .ok_or(FormatError::BadNode {
                        tree: t,
                        node: index,
                        reason: "out of bounds",
                    })?;
                let node = decode_node(raw, self.wide);
                if node.flags & !NODE_FLAGS_KNOWN != 0 {
                    return Err(FormatError::BadNode {
                        tree: t,
                        node: index,
                        reason: "unknown flag bits",
                    });
                }
                if node.feature as usize >= self.n_features {
                    return Err(FormatError::BadNode {
                        tree: t,
                        node: index,
                        reason: "feature index out of range",
                    });
                }
                if node.flags & NODE_CATEGORICAL != 0 {
                    if self.category_set(&node).is_none() {
                        return Err(FormatError::BadNode {
                            tree: t,
                            node: index,
                            reason: "categorical set out of bounds",
                        });
                    }
                } else if node.threshold.is_nan() {
                    return Err(FormatError::BadNode {
                        tree: t,
                        node: index,
                        reason: "NaN threshold",
                    });
                }
                let child = node.child as usize;
                let (left, right) = match (
                    node.flags & NODE_LEFT_LEAF != 0,
                    node.flags & NODE_RIGHT_LEAF != 0,
                ) {
                    (false, false) => ((index + 1, false), (child, false)),
                    (false, true) => ((index + 1, false), (child, true)),
                    (true, false) => ((child, true), (index + 1, false)),
                    (true, true) => ((child, true), (child.saturating_add(1), true)),
                };
                if pending.len() > tree.n_nodes {
                    return Err(FormatError::BadTree {
                        tree: t,
                        reason: "malformed structure",
                    });
                }
                pending.push(right);
                visiting = Some(left);
            }
            if next_leaf != tree.n_nodes + 1 {
                return Err(FormatError::BadTree {
                    tree: t,
                    reason: "leaf count does not match split count",
                });
            }
            // §8: leaf values are finite (the range was checked above).
            let width = self.leaf_width * 8;
            let values =
                &self.leaves[tree.first_leaf * width..(tree.first_leaf + tree.n_nodes + 1) * width];
            if values
                .chunks_exact(8)
                .any(|v| !f64::from_le_bytes(v.try_into().unwrap_or([0; 8])).is_finite())
            {
                return Err(FormatError::BadTree {
                    tree: t,
                    reason: "a leaf value is NaN or infinite",
                });
            }
            expected_node += tree.n_nodes;
            expected_leaf += tree.n_nodes + 1;
        }
        if expected_node != self.n_nodes || expected_leaf != self.n_leaves {
            return Err(FormatError::BadTree {
                tree: self.n_trees,
                reason: "node or leaf counts do not add up",
            });
        }
        Ok(())
    }

    /// The §10 bitset of a categorical node: its words, or `None` out of bounds.
    #[inline]
    pub(crate) fn category_set(&self, node: &NodeRecord) -> Option<&'a [u8]> {
        let index = if self.wide {
            u32::try_from(node.threshold.to_bits()).ok()?
        } else {
            (node.threshold as f32).to_bits()
        } as usize;
        let n = u32_at(self.categories, index.checked_mul(4)?)? as usize;
        let start = index.checked_add(1)?.checked_mul(4)?;
        self.categories
            .get(start..start.checked_add(n.checked_mul(4)?)?)
    }

    /// Size of one node record.
    pub(crate) fn node_size(&self) -> usize {
        if self.wide {
            NODE_SIZE_WIDE
        } else {
            NODE_SIZE_NARROW
        }
    }

    /// The tree record `t`.
    pub(crate) fn tree(&self, t: usize) -> Option<TreeRecord> {
        let at = t.checked_mul(TREE_SIZE)?;
        Some(TreeRecord::decode(
            self.trees.get(at..at.checked_add(TREE_SIZE)?)?,
        ))
    }

    fn string(&self, off: usize, len: usize) -> Option<&'a str> {
        let end = off.checked_add(len)?;
        core::str::from_utf8(self.strings.get(off..end)?).ok()
    }

    pub(crate) fn try_feature_name(&self, i: usize) -> Option<&'a str> {
        let at = i.checked_mul(FEATURE_SIZE)?;
        self.string(
            u32_at(self.features, at)? as usize,
            u32_at(self.features, at + 4)? as usize,
        )
    }

    pub(crate) fn try_class_label(&self, i: usize) -> Option<&'a str> {
        let at = i.checked_mul(CLASS_SIZE)?;
        self.string(
            u32_at(self.classes, at)? as usize,
            u32_at(self.classes, at + 4)? as usize,
        )
    }

    fn try_source(&self) -> Option<&'a str> {
        self.string(self.source.0, self.source.1)
    }

    /// The model's raw bytes (exactly the file, without trailing bytes).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }
    /// Regression or classification.
    pub fn task(&self) -> TaskKind {
        self.task
    }
    /// Number of input features.
    pub fn n_features(&self) -> usize {
        self.n_features
    }
    /// Number of classes (0 for regression).
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }
    /// Length of a prediction: the number of classes, or 1 for regression.
    pub fn prediction_len(&self) -> usize {
        match self.task {
            TaskKind::Regression => 1,
            TaskKind::Classification => self.n_classes,
        }
    }
    /// Number of trees.
    pub fn n_trees(&self) -> usize {
        self.n_trees
    }
    /// Number of split nodes over all trees.
    pub fn n_split_nodes(&self) -> usize {
        self.n_nodes
    }
    /// Number of leaves over all trees.
    pub fn n_leaves(&self) -> usize {
        self.n_leaves
    }
    /// Bytes taken by split nodes (the §6 section).
    pub fn node_bytes(&self) -> usize {
        self.nodes.len()
    }
    /// Whether class labels were integers in the source model.
    pub fn integer_labels(&self) -> bool {
        self.integer_labels
    }
    /// `None` for averaging ensembles (forests), the link function for boosted sums.
    pub fn boosting_link(&self) -> Option<Link> {
        self.sum_link
    }
    /// The name of feature `i` (`"?"` if the string is corrupt).
    pub fn feature_name(&self, i: usize) -> &'a str {
        self.try_feature_name(i).unwrap_or("?")
    }
    /// The label of class `i` (`"?"` if the string is corrupt).
    pub fn class_label(&self, i: usize) -> &'a str {
        self.try_class_label(i).unwrap_or("?")
    }
    /// Where the model came from, e.g. `scikit-learn 1.9.1 RandomForestClassifier`.
    pub fn source(&self) -> &'a str {
        self.try_source().unwrap_or("?")
    }
    /// Index of the feature called `name`.
    pub fn feature_index(&self, name: &str) -> Option<usize> {
        (0..self.n_features).find(|&i| self.try_feature_name(i) == Some(name))
    }
    /// The valid range of feature `i`, if the schema sets one.
    pub fn valid_range(&self, i: usize) -> Option<(f64, f64)> {
        self.feature_range(i, FEATURE_HAS_VALID_RANGE, 16)
    }
    /// The training range of feature `i`, if known.
    pub fn train_range(&self, i: usize) -> Option<(f64, f64)> {
        self.feature_range(i, FEATURE_HAS_TRAIN_RANGE, 32)
    }
    /// Whether feature `i` accepts a missing value (NaN).
    pub fn allows_missing(&self, i: usize) -> bool {
        self.feature_flags(i) & FEATURE_ALLOW_MISSING != 0
    }
    fn feature_flags(&self, i: usize) -> u32 {
        u32_at(self.features, i * FEATURE_SIZE + 8).unwrap_or(0)
    }
    fn feature_range(&self, i: usize, flag: u32, at: usize) -> Option<(f64, f64)> {
        if self.feature_flags(i) & flag == 0 {
            return None;
        }
        let base = i * FEATURE_SIZE + at;
        Some((
            f64_at(self.features, base)?,
            f64_at(self.features, base + 8)?,
        ))
    }
    /// Whether the model carries its trees' covers (§11), which explanations need.
    pub fn has_cover(&self) -> bool {
        !self.stats.is_empty()
    }
    /// The format version of the bytes (1, or 2 with §11).
    pub fn format_version(&self) -> u16 {
        u16_at(self.bytes, header::VERSION).unwrap_or(0)
    }
    /// The greatest depth (root = 0) of any tree, by a walk of every node (O(model
    /// size)); corrupt trees count as far as they go.
    pub fn max_depth(&self) -> usize {
        let mut deepest = 0;
        let node_size = self.node_size();
        for t in 0..self.n_trees {
            let Some(tree) = self.tree(t) else { break };
            if tree.n_nodes == 0 {
                continue;
            }
            // (split index, depth); leaves only update `deepest`.
            let mut stack: Vec<(usize, usize)> = vec![(0, 0)];
            let mut steps = 0;
            while let Some((i, depth)) = stack.pop() {
                steps += 1;
                if steps > tree.n_nodes {
                    break;
                }
                let at = (tree.first_node + i) * node_size;
                let Some(raw) = self.nodes.get(at..at + node_size) else {
                    break;
                };
                let node = decode_node(raw, self.wide);
                deepest = deepest.max(depth + 1);
                let child = node.child as usize;
                if node.flags & NODE_LEFT_LEAF == 0 {
                    stack.push((i + 1, depth + 1));
                }
                if node.flags & NODE_RIGHT_LEAF == 0 {
                    let right = if node.flags & NODE_LEFT_LEAF != 0 {
                        i + 1
                    } else {
                        child
                    };
                    if right > i && right < tree.n_nodes {
                        stack.push((right, depth + 1));
                    }
                }
            }
        }
        deepest
    }
}

/// A tree record (§5).
#[derive(Clone, Copy, Debug)]
pub(crate) struct TreeRecord {
    pub first_node: usize,
    pub n_nodes: usize,
    pub first_leaf: usize,
    pub output: usize,
}

impl TreeRecord {
    /// Decodes a §5 record from its 16 bytes (shorter input reads as zeros).
    #[inline(always)]
    pub(crate) fn decode(record: &[u8]) -> TreeRecord {
        let word = |i: usize| {
            record
                .get(i * 4..i * 4 + 4)
                .and_then(|b| b.try_into().ok())
                .map_or(0, u32::from_le_bytes) as usize
        };
        TreeRecord {
            first_node: word(0),
            n_nodes: word(1),
            first_leaf: word(2),
            output: word(3),
        }
    }
}

/// A decoded node (§6).
#[derive(Clone, Copy, Debug)]
pub(crate) struct NodeRecord {
    pub feature: u16,
    pub flags: u16,
    pub threshold: f64,
    pub child: u32,
}

/// Decodes a node record of the right size.
#[inline(always)]
pub(crate) fn decode_node(raw: &[u8], wide: bool) -> NodeRecord {
    let feature = u16::from_le_bytes([raw[0], raw[1]]);
    let flags = u16::from_le_bytes([raw[2], raw[3]]);
    if wide {
        NodeRecord {
            feature,
            flags,
            child: u32::from_le_bytes([raw[4], raw[5], raw[6], raw[7]]),
            threshold: f64::from_le_bytes([
                raw[8], raw[9], raw[10], raw[11], raw[12], raw[13], raw[14], raw[15],
            ]),
        }
    } else {
        NodeRecord {
            feature,
            flags,
            threshold: f32::from_bits(u32::from_le_bytes([raw[4], raw[5], raw[6], raw[7]])) as f64,
            child: u32::from_le_bytes([raw[8], raw[9], raw[10], raw[11]]),
        }
    }
}
