//! Writing an [`Ensemble`] as `.ewm` bytes (the layout of `core/FORMAT.md`).
//!
//! Trees arrive as arenas with explicit child indices; here they are laid out in
//! pre-order so that a split node needs a single child field (§6): a left split child
//! is always the next node, and two leaf children are always consecutive leaves.

use alloc::vec;
use alloc::vec::Vec;

use crate::ensemble::{
    f32_at_or_below, Aggregation, Comparison, Ensemble, Link, LogSumExp, Node, RowSum, SplitTest,
    Task, MAX_CATEGORY,
};
use crate::error::EncodeError;
use crate::layout::*;

/// A child after layout: a split node index or a leaf index, both tree-relative.
#[derive(Clone, Copy)]
enum Child {
    Split(u32),
    Leaf(u32),
}

/// A split after layout.
struct LaidSplit {
    feature: u32,
    /// The numeric threshold, or the §10 word index of a categorical split.
    threshold: Threshold,
    /// §6 flags other than the child-kind bits.
    flags: u16,
    left: Child,
    right: Child,
    /// Its index in the source arena (for §11).
    arena: u32,
}

#[derive(Clone, Copy)]
enum Threshold {
    Number(f64),
    Categories(u32),
}

/// Most §10 words a model may hold (64 MiB), whatever its categories claim.
const MAX_CATEGORY_WORDS: usize = 1 << 24;

/// One tree laid out in pre-order.
struct LaidOut {
    /// The splits, in pre-order.
    splits: Vec<LaidSplit>,
    /// Leaf value vectors in depth-first order.
    leaves: Vec<f64>,
    /// The arena index of each leaf, in depth-first order (for §11).
    leaf_arena: Vec<u32>,
    /// The root when the tree is a single leaf.
    root_is_leaf: bool,
}

impl Ensemble {
    /// Encodes the ensemble as `.ewm` bytes, checking that it is well formed.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let n_features = self.features.len();
        if n_features == 0 || n_features > MAX_FEATURES as usize {
            return Err(EncodeError::FeatureCount(n_features));
        }
        let n_outputs = self.n_outputs();
        let n_classes = match &self.task {
            Task::Regression => 0,
            Task::Classification { classes, .. } => classes.len(),
        };
        if n_outputs == 0 || n_outputs > MAX_OUTPUTS as usize || n_classes > MAX_OUTPUTS as usize {
            return Err(EncodeError::OutputCount(n_outputs));
        }
        // One class is a forest or tree fitted on a single class (scikit-learn predicts
        // it with probability 1); boosting needs two.
        let one_class_ok = n_classes == 1 && self.aggregation == Aggregation::Average;
        if matches!(self.task, Task::Classification { .. }) && n_classes < 2 && !one_class_ok {
            return Err(EncodeError::OutputCount(n_classes));
        }
        if self.leaf_width != 1 && self.leaf_width != n_outputs {
            return Err(EncodeError::LeafWidth {
                tree: 0,
                node: 0,
                expected: n_outputs,
                found: self.leaf_width,
            });
        }
        if self.trees.is_empty() {
            return Err(EncodeError::NoTrees);
        }
        if let Aggregation::Sum {
            base,
            divide_by_rounds,
            ..
        } = &self.aggregation
        {
            if base.len() != n_outputs {
                return Err(EncodeError::BaseLength {
                    expected: n_outputs,
                    found: base.len(),
                });
            }
            let scale = match self.aggregation {
                Aggregation::Sum {
                    link: Link::ScaledSigmoid(scale),
                    ..
                } => scale,
                _ => 0.0,
            };
            if !base.iter().all(|b| b.is_finite()) || !scale.is_finite() {
                return Err(EncodeError::NonFiniteBase);
            }
            if *divide_by_rounds
                && (self.leaf_width != 1 || !self.trees.len().is_multiple_of(n_outputs))
            {
                return Err(EncodeError::Rounds {
                    trees: self.trees.len(),
                    outputs: n_outputs,
                });
            }
        }
        let wide = self.comparison == Comparison::F64LessEqual;
        let node_size = if wide {
            NODE_SIZE_WIDE
        } else {
            NODE_SIZE_NARROW
        };

        let mut trees = Vec::with_capacity(self.trees.len());
        let mut categories: Vec<u32> = Vec::new();
        for (t, tree) in self.trees.iter().enumerate() {
            if tree.output as usize >= n_outputs || (self.leaf_width > 1 && tree.output != 0) {
                return Err(EncodeError::TreeOutput {
                    tree: t,
                    output: tree.output,
                });
            }
            trees.push(lay_out(
                t,
                tree.nodes.as_slice(),
                n_features,
                self.leaf_width,
                &mut categories,
            )?);
        }
        // §11 is written when every tree has statistics (a partial set explains nothing).
        let with_stats = self.trees.iter().all(|t| t.stats.is_some());
        for (t, tree) in self.trees.iter().enumerate() {
            if let Some(stats) = &tree.stats {
                let n = tree.nodes.len();
                let ids = stats.leaf_ids.len();
                let found = if ids != 0 && ids != n {
                    ids
                } else {
                    stats.cover.len()
                };
                if found != n {
                    return Err(EncodeError::StatsLength {
                        tree: t,
                        expected: n,
                        found,
                    });
                }
            }
        }
        let n_nodes: usize = trees.iter().map(|t| t.splits.len()).sum();
        let n_leaves: usize = trees.iter().map(|t| t.leaves.len() / self.leaf_width).sum();

        // Strings: feature names, class names, source.
        let mut strings = Vec::new();
        let mut push_str = |s: &str| -> (u32, u32) {
            let off = strings.len() as u32;
            strings.extend_from_slice(s.as_bytes());
            (off, s.len() as u32)
        };
        let feature_names: Vec<_> = self.features.iter().map(|f| push_str(&f.name)).collect();
        let class_names: Vec<_> = match &self.task {
            Task::Regression => Vec::new(),
            Task::Classification { classes, .. } => classes.iter().map(|c| push_str(c)).collect(),
        };
        let source = push_str(&self.source);

        // Section offsets, each 8-aligned.
        let align = |x: usize| (x + 7) & !7;
        let features_offset = HEADER_SIZE;
        let classes_offset = align(features_offset + n_features * FEATURE_SIZE);
        let base_offset = align(classes_offset + n_classes * CLASS_SIZE);
        let base_len = match &self.aggregation {
            Aggregation::Sum {
                link: Link::ScaledSigmoid(_),
                ..
            } => (n_outputs + 1) * 8,
            Aggregation::Sum { .. } => n_outputs * 8,
            Aggregation::Average => 0,
        };
        let trees_offset = align(base_offset + base_len);
        let nodes_offset = align(trees_offset + trees.len() * TREE_SIZE);
        let leaves_offset = align(nodes_offset + n_nodes * node_size);
        let categories_offset = align(leaves_offset + n_leaves * self.leaf_width * 8);
        let stats_offset = align(categories_offset + categories.len() * 4);
        let stats_len = if with_stats {
            n_nodes * STATS_SPLIT_SIZE + n_leaves * STATS_LEAF_SIZE
        } else {
            0
        };
        let strings_offset = align(stats_offset + stats_len);
        let file_size = align(strings_offset + strings.len());
        if file_size > u32::MAX as usize {
            return Err(EncodeError::TooLarge(file_size));
        }

        let mut out = vec![0u8; file_size];
        let put16 = |out: &mut Vec<u8>, at: usize, v: u16| {
            out[at..at + 2].copy_from_slice(&v.to_le_bytes())
        };
        let put32 = |out: &mut Vec<u8>, at: usize, v: u32| {
            out[at..at + 4].copy_from_slice(&v.to_le_bytes())
        };
        let put64 = |out: &mut Vec<u8>, at: usize, v: f64| {
            out[at..at + 8].copy_from_slice(&v.to_le_bytes())
        };

        // §1 Header.
        out[0..4].copy_from_slice(&MAGIC);
        // A model without §11 stays version 1, which version-1 readers open.
        put16(
            &mut out,
            header::VERSION,
            if with_stats { VERSION } else { VERSION_1 },
        );
        put16(&mut out, header::HEADER_SIZE, HEADER_SIZE as u16);
        put32(&mut out, header::FILE_SIZE, file_size as u32);
        out[header::TASK] = match self.task {
            Task::Regression => 0,
            Task::Classification { .. } => 1,
        };
        let (aggregation, link, accumulate_f32, divide_by_rounds) = match &self.aggregation {
            Aggregation::Average => (0, Link::Identity, false, false),
            Aggregation::Sum {
                link,
                accumulate_f32,
                divide_by_rounds,
                ..
            } => (1, *link, *accumulate_f32, *divide_by_rounds),
        };
        out[header::AGGREGATION] = aggregation;
        out[header::LINK] = link_code(link);
        let integer_labels = matches!(
            self.task,
            Task::Classification {
                integer_labels: true,
                ..
            }
        );
        out[header::FLAGS] = (if wide { FLAG_WIDE_NODES } else { 0 })
            | (if accumulate_f32 {
                FLAG_ACCUMULATE_F32
            } else {
                0
            })
            | (if integer_labels {
                FLAG_INTEGER_LABELS
            } else {
                0
            })
            | (if divide_by_rounds {
                FLAG_DIVIDE_BY_ROUNDS
            } else {
                0
            });
        put32(&mut out, header::N_FEATURES, n_features as u32);
        put32(&mut out, header::N_CLASSES, n_classes as u32);
        put32(&mut out, header::N_OUTPUTS, n_outputs as u32);
        put32(&mut out, header::LEAF_WIDTH, self.leaf_width as u32);
        put32(&mut out, header::N_TREES, trees.len() as u32);
        put32(&mut out, header::N_NODES, n_nodes as u32);
        put32(&mut out, header::N_LEAVES, n_leaves as u32);
        put32(&mut out, header::STRINGS_SIZE, strings.len() as u32);
        put32(&mut out, header::FEATURES_OFFSET, features_offset as u32);
        put32(&mut out, header::CLASSES_OFFSET, classes_offset as u32);
        put32(&mut out, header::BASE_OFFSET, base_offset as u32);
        put32(&mut out, header::TREES_OFFSET, trees_offset as u32);
        put32(&mut out, header::NODES_OFFSET, nodes_offset as u32);
        put32(&mut out, header::LEAVES_OFFSET, leaves_offset as u32);
        put32(&mut out, header::STRINGS_OFFSET, strings_offset as u32);
        put32(&mut out, header::SOURCE_OFFSET, source.0);
        put32(&mut out, header::SOURCE_LEN, source.1);
        if !categories.is_empty() {
            put32(
                &mut out,
                header::CATEGORIES_OFFSET,
                categories_offset as u32,
            );
            put32(&mut out, header::CATEGORIES_WORDS, categories.len() as u32);
        }

        if with_stats {
            put32(&mut out, header::STATS_OFFSET, stats_offset as u32);
        }

        // §2 Features.
        for (i, (f, (off, len))) in self.features.iter().zip(feature_names).enumerate() {
            let at = features_offset + i * FEATURE_SIZE;
            let mut flags = 0;
            let (vmin, vmax) = f
                .valid_range
                .inspect(|_| flags |= FEATURE_HAS_VALID_RANGE)
                .unwrap_or((0.0, 0.0));
            let (tmin, tmax) = f
                .train_range
                .inspect(|_| flags |= FEATURE_HAS_TRAIN_RANGE)
                .unwrap_or((0.0, 0.0));
            if f.allow_missing {
                flags |= FEATURE_ALLOW_MISSING;
            }
            put32(&mut out, at, off);
            put32(&mut out, at + 4, len);
            put32(&mut out, at + 8, flags);
            put64(&mut out, at + 16, vmin);
            put64(&mut out, at + 24, vmax);
            put64(&mut out, at + 32, tmin);
            put64(&mut out, at + 40, tmax);
        }
        // §3 Classes.
        for (i, (off, len)) in class_names.into_iter().enumerate() {
            put32(&mut out, classes_offset + i * CLASS_SIZE, off);
            put32(&mut out, classes_offset + i * CLASS_SIZE + 4, len);
        }
        // §4 Base margins.
        if let Aggregation::Sum { base, link, .. } = &self.aggregation {
            for (i, b) in base.iter().enumerate() {
                put64(&mut out, base_offset + i * 8, *b);
            }
            // §4 A link parameter follows the margins.
            if let Link::ScaledSigmoid(scale) = link {
                put64(&mut out, base_offset + n_outputs * 8, *scale);
            }
        }
        // §5 Trees, §6 nodes, §7 leaves.
        let (mut first_node, mut first_leaf) = (0usize, 0usize);
        for (t, (laid, tree)) in trees.iter().zip(&self.trees).enumerate() {
            let at = trees_offset + t * TREE_SIZE;
            put32(&mut out, at, first_node as u32);
            put32(&mut out, at + 4, laid.splits.len() as u32);
            put32(&mut out, at + 8, first_leaf as u32);
            put32(&mut out, at + 12, tree.output);
            debug_assert_eq!(laid.root_is_leaf, laid.splits.is_empty());
            for (i, split) in laid.splits.iter().enumerate() {
                let at = nodes_offset + (first_node + i) * node_size;
                let mut flags = split.flags;
                let child = match (split.left, split.right) {
                    (Child::Split(_), Child::Split(r)) => r,
                    (Child::Split(_), Child::Leaf(r)) => {
                        flags |= NODE_RIGHT_LEAF;
                        r
                    }
                    (Child::Leaf(l), Child::Split(_)) => {
                        flags |= NODE_LEFT_LEAF;
                        l
                    }
                    (Child::Leaf(l), Child::Leaf(_)) => {
                        flags |= NODE_LEFT_LEAF | NODE_RIGHT_LEAF;
                        l
                    }
                };
                put16(&mut out, at, split.feature as u16);
                put16(&mut out, at + 2, flags);
                if wide {
                    put32(&mut out, at + 4, child);
                    match split.threshold {
                        Threshold::Number(t) => put64(&mut out, at + 8, t),
                        Threshold::Categories(w) => {
                            out[at + 8..at + 16].copy_from_slice(&u64::from(w).to_le_bytes())
                        }
                    }
                } else {
                    let bits = match split.threshold {
                        Threshold::Number(t) => f32_at_or_below(t).to_bits(),
                        Threshold::Categories(w) => w,
                    };
                    put32(&mut out, at + 4, bits);
                    put32(&mut out, at + 8, child);
                }
            }
            let leaf_at = leaves_offset + first_leaf * self.leaf_width * 8;
            for (k, v) in laid.leaves.iter().enumerate() {
                put64(&mut out, leaf_at + k * 8, *v);
            }
            first_node += laid.splits.len();
            first_leaf += laid.leaves.len() / self.leaf_width;
        }
        for (i, w) in categories.iter().enumerate() {
            put32(&mut out, categories_offset + i * 4, *w);
        }
        // §11 Covers of the splits, covers of the leaves, ids of the leaves.
        if with_stats {
            let (leaf_covers, leaf_ids) = (
                stats_offset + n_nodes * STATS_SPLIT_SIZE,
                stats_offset + n_nodes * STATS_SPLIT_SIZE + n_leaves * 8,
            );
            let (mut first_node, mut first_leaf) = (0usize, 0usize);
            for (laid, tree) in trees.iter().zip(&self.trees) {
                let Some(stats) = &tree.stats else { continue };
                for (i, split) in laid.splits.iter().enumerate() {
                    let cover = stats.cover[split.arena as usize];
                    put64(&mut out, stats_offset + (first_node + i) * 8, cover);
                }
                for (j, &arena) in laid.leaf_arena.iter().enumerate() {
                    let id = stats.leaf_ids.get(arena as usize).copied().unwrap_or(arena);
                    put64(
                        &mut out,
                        leaf_covers + (first_leaf + j) * 8,
                        stats.cover[arena as usize],
                    );
                    put32(&mut out, leaf_ids + (first_leaf + j) * 4, id);
                }
                first_node += laid.splits.len();
                first_leaf += laid.leaf_arena.len();
            }
        }
        out[strings_offset..strings_offset + strings.len()].copy_from_slice(&strings);
        Ok(out)
    }
}

/// The §1 code of a link function.
pub(crate) fn link_code(link: Link) -> u8 {
    match link {
        Link::Identity => 0,
        Link::Sigmoid => 1,
        Link::Softmax => 2,
        Link::Exp => 3,
        Link::ScaledSigmoid(_) => LINK_SCALED_SIGMOID,
        Link::SoftmaxSvml(RowSum::InOrder) => LINK_SOFTMAX_SVML,
        Link::SoftmaxSvml(RowSum::Pairwise) => LINK_SOFTMAX_SVML_PAIRWISE,
        Link::LogSumExp(LogSumExp::LogOfSum) => LINK_LOGSUMEXP_LOG_OF_SUM,
        Link::LogSumExp(LogSumExp::Log1pOfRest) => LINK_LOGSUMEXP_LOG1P_OF_REST,
        Link::SoftmaxCatBoost => LINK_SOFTMAX_CATBOOST,
    }
}

/// Lays one arena tree out in pre-order, refusing anything that is not a tree: a node
/// reached twice, and a split the root does not reach (a leaf may be left over, as
/// XGBoost leaves the leaves its pruning deleted).
fn lay_out(
    t: usize,
    nodes: &[Node],
    n_features: usize,
    leaf_width: usize,
    categories: &mut Vec<u32>,
) -> Result<LaidOut, EncodeError> {
    if nodes.is_empty() {
        return Err(EncodeError::EmptyTree(t));
    }
    let mut seen = vec![false; nodes.len()];
    let mut splits: Vec<LaidSplit> = Vec::new();
    let mut leaves = Vec::new();
    let mut leaf_arena = Vec::new();
    // Each stack entry: (arena node, where to patch its position: (split index, is_left)).
    let mut stack: Vec<(u32, Option<(usize, bool)>)> = vec![(0, None)];
    while let Some((id, parent)) = stack.pop() {
        let node = nodes.get(id as usize).ok_or(EncodeError::ChildOutOfRange {
            tree: t,
            node: id as usize,
        })?;
        if core::mem::replace(&mut seen[id as usize], true) {
            return Err(EncodeError::NotATree {
                tree: t,
                node: id as usize,
            });
        }
        let me = match node {
            Node::Leaf(values) => {
                if values.len() != leaf_width {
                    return Err(EncodeError::LeafWidth {
                        tree: t,
                        node: id as usize,
                        expected: leaf_width,
                        found: values.len(),
                    });
                }
                if !values.iter().all(|v| v.is_finite()) {
                    return Err(EncodeError::NonFiniteLeaf {
                        tree: t,
                        node: id as usize,
                    });
                }
                let index = (leaves.len() / leaf_width) as u32;
                leaves.extend_from_slice(values);
                leaf_arena.push(id);
                Child::Leaf(index)
            }
            Node::Split { .. } | Node::Rule { .. } => {
                let (feature, threshold, flags, left, right) =
                    split_fields(t, id as usize, node, categories)?;
                if feature as usize >= n_features {
                    return Err(EncodeError::FeatureOutOfRange {
                        tree: t,
                        node: id as usize,
                        feature,
                    });
                }
                let index = splits.len();
                splits.push(LaidSplit {
                    feature,
                    threshold,
                    flags,
                    left: Child::Split(0),
                    right: Child::Split(0),
                    arena: id,
                });
                // Right is pushed first so that the left subtree is laid out first.
                stack.push((right, Some((index, false))));
                stack.push((left, Some((index, true))));
                Child::Split(index as u32)
            }
        };
        if let Some((p, is_left)) = parent {
            if is_left {
                splits[p].left = me;
            } else {
                splits[p].right = me;
            }
        }
    }
    if let Some(node) = (0..nodes.len()).find(|&i| !seen[i] && !matches!(nodes[i], Node::Leaf(_))) {
        return Err(EncodeError::Unreached { tree: t, node });
    }
    Ok(LaidOut {
        root_is_leaf: splits.is_empty(),
        splits,
        leaves,
        leaf_arena,
    })
}

/// The feature, threshold, §6 flags (without child kinds) and children of a split,
/// appending a categorical split's bitset to `categories` (§10).
fn split_fields(
    t: usize,
    id: usize,
    node: &Node,
    categories: &mut Vec<u32>,
) -> Result<(u32, Threshold, u16, u32, u32), EncodeError> {
    let nan = || EncodeError::NanThreshold { tree: t, node: id };
    match node {
        Node::Split {
            feature,
            threshold,
            missing_left,
            left,
            right,
        } => {
            if threshold.is_nan() {
                return Err(nan());
            }
            let flags = if *missing_left { NODE_MISSING_LEFT } else { 0 };
            Ok((
                *feature,
                Threshold::Number(*threshold),
                flags,
                *left,
                *right,
            ))
        }
        Node::Rule {
            feature,
            test,
            missing,
            left,
            right,
        } => {
            let mut flags = 0;
            for (on, bit) in [
                (missing.left, NODE_MISSING_LEFT),
                (missing.tiny_as_zero, NODE_TINY_AS_ZERO),
                (missing.nan_as_zero, NODE_NAN_AS_ZERO),
                (missing.zero_is_missing, NODE_ZERO_MISSING),
            ] {
                if on {
                    flags |= bit;
                }
            }
            let threshold = match test {
                SplitTest::LessEqual(threshold) => {
                    if threshold.is_nan() {
                        return Err(nan());
                    }
                    Threshold::Number(*threshold)
                }
                SplitTest::InSet {
                    categories: set,
                    in_set_left,
                    integers_only,
                } => {
                    flags |= NODE_CATEGORICAL;
                    if *in_set_left {
                        flags |= NODE_IN_SET_LEFT;
                    }
                    if *integers_only {
                        flags |= NODE_INTEGERS_ONLY;
                    }
                    let max = set.iter().copied().max();
                    if let Some(&bad) = set.iter().find(|&&c| c >= MAX_CATEGORY) {
                        return Err(EncodeError::Category {
                            tree: t,
                            node: id,
                            category: bad,
                        });
                    }
                    let n_words = max.map_or(0, |m| m as usize / 32 + 1);
                    if categories.len() + 1 + n_words > MAX_CATEGORY_WORDS {
                        return Err(EncodeError::TooManyCategories { tree: t, node: id });
                    }
                    let at = categories.len();
                    categories.push(n_words as u32);
                    categories.resize(at + 1 + n_words, 0);
                    for &c in set {
                        categories[at + 1 + c as usize / 32] |= 1 << (c % 32);
                    }
                    Threshold::Categories(at as u32)
                }
            };
            Ok((*feature, threshold, flags, *left, *right))
        }
        Node::Leaf(_) => unreachable!("split_fields is only called on splits"),
    }
}
