//! [`PreparedModel`]: a model's trees decoded once into flat node arrays that a walk
//! follows with selects instead of branches — the fast path for batches and for
//! programs that predict many times from one model.
//!
//! Why a second representation: [`Model`] predicts straight from `.ewm` bytes, which
//! is what a fresh Spin instance per request needs (nothing to decode, O(1) open). But
//! walking those bytes costs a branch per node whose direction is data, and every
//! misprediction costs more than the comparison itself. Here every tree is re-laid in
//! pre-order with its leaves *inside* the node array, each leaf a node that always
//! steps to itself. A walk is then a fixed number of identical steps — load the node,
//! load the feature, compare, pick a child with a select — and a block of rows (or, for
//! one row, a group of trees) walks in lock-step, so the CPU overlaps their independent
//! chains of loads instead of waiting on each one in turn.
//!
//! The arithmetic is unchanged: the same float32 or float64 comparison, the same NaN
//! directions, and every row adds its leaves in tree order through the model's own
//! `start`/`finish`, so a prepared model's answers are bit-identical to the model's.
//! Models with rule nodes (categorical sets, LightGBM's zero-as-missing) keep the
//! model's own walk.

use alloc::vec::Vec;

use crate::error::{FormatError, PredictError};
use crate::layout::*;
use crate::model::{decode_node, Model};
use crate::predict::add;

/// A [`Model`] with its trees decoded for fast prediction. Build it once with
/// [`PreparedModel::new`] and predict many rows; it owns its nodes (about as many
/// bytes as the model's node and leaf sections) and borrows the model's bytes.
#[derive(Clone, Debug)]
pub struct PreparedModel<'a> {
    model: Model<'a>,
    /// `None` when some node needs the model's general walk (a rule node).
    forest: Option<Forest>,
}

#[derive(Clone, Debug)]
enum Forest {
    /// float32 thresholds, compared with the input rounded to float32.
    Narrow(Nodes<f32>),
    /// float64 thresholds and inputs.
    Wide(Nodes<f64>),
}

/// One walking step's record. Leaves are nodes too: threshold NaN (no input is `<=`
/// NaN) and `right` pointing at themselves, so a finished walk stays put.
#[derive(Clone, Copy, Debug)]
struct Node<T> {
    threshold: T,
    /// Where the batch block keeps this node's input: `column × BLOCK_ROWS`, where
    /// `column` is `2 × feature + 1` when a missing (NaN) input goes left, else
    /// `2 × feature` (see `batch`). Premultiplied: one add finds a lane's value.
    column: u32,
    /// The right child; the left child is always the next node.
    right: u32,
}

/// Trees (window-relative indices; [`NO_TREE`] pads) that walk together for one row.
#[derive(Clone, Copy, Debug)]
struct RowGroup {
    trees: [u8; TREE_LANES],
    roots: [u32; TREE_LANES],
    depth: u32,
}

/// Trees per window of the single-row walk: leaves land in a window-sized scratch
/// and are added in tree order when the window is done.
const ROW_WINDOW: usize = 64;
const NO_TREE: u8 = u8::MAX;

/// Where a tree starts and how many steps reach any of its leaves.
#[derive(Clone, Copy, Debug)]
struct Root {
    node: u32,
    depth: u32,
}

#[derive(Clone, Debug)]
struct Nodes<T> {
    /// Padded to a power of two with unreachable leaves, so that `index & mask` is
    /// always in bounds and the hot loop needs no bounds check on nodes.
    nodes: Vec<Node<T>>,
    mask: usize,
    /// Per node: the absolute leaf index (meaningful at leaves only).
    leaf: Vec<u32>,
    roots: Vec<Root>,
    /// The single-row walk's groups of [`TREE_LANES`] trees: within each window of
    /// [`ROW_WINDOW`] trees in order, trees of like depth walk together.
    row_groups: Vec<RowGroup>,
    /// Per node (padded like `nodes`): a leaf's first value, all of it when
    /// `leaf_width == 1`, so the batch adds a leaf with one masked load.
    first_value: Vec<f64>,
    /// Every leaf's values, `leaf_width` per leaf, decoded from the model.
    values: Vec<f64>,
    /// Per tree: the accumulator its single leaf value goes to (`leaf_width == 1`).
    output: Vec<u32>,
}

/// A threshold type: the comparison the model's nodes make.
trait Threshold: Copy + PartialOrd + core::fmt::Debug {
    const NAN: Self;
    const NEG_INFINITY: Self;
    fn from_f64(x: f64) -> Self;
    fn is_nan(self) -> bool;
}

impl Threshold for f32 {
    const NAN: Self = f32::NAN;
    const NEG_INFINITY: Self = f32::NEG_INFINITY;
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        self.is_nan()
    }
}

impl Threshold for f64 {
    const NAN: Self = f64::NAN;
    const NEG_INFINITY: Self = f64::NEG_INFINITY;
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        self.is_nan()
    }
}

/// Rows walked together through one tree in a batch.
const ROW_LANES: usize = 16;
/// Trees walked together for one row.
const TREE_LANES: usize = 8;
/// Rows per batch block: their inputs and sums stay in L1 while every tree walks them.
const BLOCK_ROWS: usize = 128;
/// The block a 16-bit column reaches, plus a block's rows (see `batch`).
const SPAN: usize = (1 << 16) + BLOCK_ROWS + ROW_LANES;
/// Batches at least this long use the span.
const SPAN_MIN_ROWS: usize = 512;

fn corrupt(tree: usize, node: usize, reason: &'static str) -> FormatError {
    FormatError::BadNode { tree, node, reason }
}

impl<'a> PreparedModel<'a> {
    /// Decodes the trees of `model`. Fails on a structurally corrupt model (a child
    /// out of range, a node reached twice, a feature or leaf out of range); a model
    /// whose nodes need rules is accepted and predicts through the model's own walk.
    pub fn new(model: Model<'a>) -> Result<Self, FormatError> {
        let forest = if model.wide {
            Nodes::<f64>::build(&model)?.map(Forest::Wide)
        } else {
            Nodes::<f32>::build(&model)?.map(Forest::Narrow)
        };
        Ok(PreparedModel { model, forest })
    }

    /// The model this was prepared from (schema, labels, validation).
    pub fn model(&self) -> &Model<'a> {
        &self.model
    }

    /// Whether predictions take the decoded walk (false: the model's own walk, for
    /// models with categorical or zero-as-missing rules).
    pub fn is_decoded(&self) -> bool {
        self.forest.is_some()
    }

    /// [`Model::predict_into`], through the decoded trees.
    pub fn predict_into(&self, row: &[f64], out: &mut [f64]) -> Result<(), PredictError> {
        let Some(forest) = &self.forest else {
            return self.model.predict_into(row, out);
        };
        let m = &self.model;
        m.check_row(row.len(), out.len())?;
        m.start(out);
        let acc = &mut out[..m.n_outputs];
        match forest {
            Forest::Narrow(n) => n.row_sums(m, row, acc),
            Forest::Wide(n) => n.row_sums(m, row, acc),
        }
        m.finish(out);
        Ok(())
    }

    /// [`Model::predict`], through the decoded trees.
    pub fn predict(&self, row: &[f64]) -> Result<crate::Prediction, PredictError> {
        let mut out = alloc::vec![0.0; self.model.prediction_len()];
        self.predict_into(row, &mut out)?;
        Ok(self.model.prediction_from(out))
    }

    /// [`Model::predict_batch`], through the decoded trees: `rows` holds
    /// `n × n_features` values, `out` receives `n × prediction_len`.
    pub fn predict_batch(&self, rows: &[f64], out: &mut [f64]) -> Result<(), PredictError> {
        let Some(forest) = &self.forest else {
            return self.model.predict_batch(rows, out);
        };
        let m = &self.model;
        m.batch_rows(rows.len(), out.len())?;
        match forest {
            Forest::Narrow(nodes) => nodes.batch(m, rows, out),
            Forest::Wide(nodes) => nodes.batch(m, rows, out),
        }
        Ok(())
    }
}

/// Where a walk of the source model goes next.
#[derive(Clone, Copy)]
enum Source {
    Split(usize),
    Leaf(usize),
}

impl<T: Threshold> Nodes<T> {
    /// Re-lays every tree of `model` in pre-order with leaves inline; `Ok(None)` if a
    /// node carries a rule the decoded walk does not do.
    fn build(model: &Model<'_>) -> Result<Option<Self>, FormatError> {
        let size = model.node_size();
        let width = model.leaf_width;
        let too_big = |_| FormatError::BadTree {
            tree: 0,
            reason: "more nodes than a prepared model can index",
        };
        let capacity = model.n_nodes.saturating_add(model.n_leaves);
        u32::try_from(capacity.saturating_mul(2)).map_err(too_big)?;
        let mut nodes: Vec<Node<T>> = Vec::with_capacity(capacity);
        let mut leaf: Vec<u32> = Vec::with_capacity(capacity);
        let mut roots = Vec::with_capacity(model.n_trees);
        let mut output = Vec::with_capacity(model.n_trees);
        // (source node, depth, the emitted node whose `right` is this one).
        let mut stack: Vec<(Source, u32, Option<usize>)> = Vec::new();
        for t in 0..model.n_trees {
            let tree = model.tree(t).ok_or(FormatError::BadTree {
                tree: t,
                reason: "record out of bounds",
            })?;
            if width == 1 && tree.output >= model.n_outputs {
                return Err(FormatError::BadTree {
                    tree: t,
                    reason: "output out of range",
                });
            }
            output.push(tree.output as u32);
            let tree_nodes = tree
                .first_node
                .checked_mul(size)
                .and_then(|s| {
                    model
                        .nodes
                        .get(s..s.checked_add(tree.n_nodes.checked_mul(size)?)?)
                })
                .ok_or_else(|| corrupt(t, 0, "out of bounds"))?;
            let root = nodes.len();
            let mut depth = 0u32;
            // A tree of n splits has n + 1 leaves; more emitted nodes means a child
            // reached twice (a DAG), which could otherwise grow exponentially.
            let budget = 2 * tree.n_nodes + 1;
            let first = if tree.n_nodes == 0 {
                Source::Leaf(0)
            } else {
                Source::Split(0)
            };
            stack.clear();
            stack.push((first, 0, None));
            while let Some((source, d, parent)) = stack.pop() {
                let at = nodes.len();
                if at - root >= budget {
                    return Err(corrupt(t, 0, "a node is reached twice"));
                }
                if let Some(p) = parent {
                    nodes[p].right = at as u32;
                }
                match source {
                    Source::Leaf(rel) => {
                        let abs = tree
                            .first_leaf
                            .checked_add(rel)
                            .filter(|&l| rel <= tree.n_nodes && l < model.n_leaves)
                            .ok_or_else(|| corrupt(t, 0, "leaf index out of range"))?;
                        nodes.push(Node {
                            threshold: T::NAN,
                            column: 0,
                            right: at as u32,
                        });
                        leaf.push(abs as u32);
                        depth = depth.max(d);
                    }
                    Source::Split(i) => {
                        let raw = &tree_nodes[i * size..i * size + size];
                        let node = decode_node(raw, model.wide);
                        let (threshold, missing_left) = if node.flags & NODE_RULE_FLAGS == 0 {
                            (node.threshold, node.flags & NODE_MISSING_LEFT != 0)
                        } else if model.wide {
                            match numeric_rule_as_split(node.flags, node.threshold) {
                                Some(split) => split,
                                None => return Ok(None),
                            }
                        } else {
                            return Ok(None);
                        };
                        if node.feature as usize >= model.n_features {
                            return Err(corrupt(t, i, "feature index out of range"));
                        }
                        // The batch's NaN-as-minus-infinity column needs a threshold
                        // that minus infinity is `<=` to.
                        if threshold.is_nan() {
                            return Ok(None);
                        }
                        nodes.push(Node {
                            threshold: T::from_f64(threshold),
                            column: (2 * node.feature as u32 + missing_left as u32)
                                * BLOCK_ROWS as u32,
                            right: 0,
                        });
                        leaf.push(0);
                        let child = node.child as usize;
                        let left_leaf = node.flags & NODE_LEFT_LEAF != 0;
                        let right_leaf = node.flags & NODE_RIGHT_LEAF != 0;
                        let split = |s: usize| {
                            if s <= i || s >= tree.n_nodes {
                                Err(corrupt(t, i, "child split index out of range"))
                            } else {
                                Ok(Source::Split(s))
                            }
                        };
                        let left = if left_leaf {
                            Source::Leaf(child)
                        } else {
                            split(i + 1)?
                        };
                        let right = if right_leaf {
                            Source::Leaf(child.saturating_add(left_leaf as usize))
                        } else if left_leaf {
                            split(i + 1)?
                        } else {
                            split(child)?
                        };
                        // Pre-order: the left child is popped next, so it lands at
                        // `at + 1`; the right child patches `right` when emitted.
                        stack.push((right, d + 1, Some(at)));
                        stack.push((left, d + 1, None));
                    }
                }
            }
            roots.push(Root {
                node: root as u32,
                depth,
            });
        }
        // Pad with unreachable self-looping leaves up to a power of two (see `mask`).
        // At least one: the spare leaf at `mask` fills the lanes of a short group.
        let padded = (nodes.len() + 1).next_power_of_two();
        while nodes.len() < padded {
            let at = nodes.len() as u32;
            nodes.push(Node {
                threshold: T::NAN,
                column: 0,
                right: at,
            });
            leaf.push(0);
        }
        let values: Vec<f64> = model
            .leaves
            .chunks_exact(8)
            .map(|v| f64::from_le_bytes(v.try_into().unwrap_or([0; 8])))
            .collect();
        let first_value = leaf
            .iter()
            .map(|&l| values.get(l as usize * width).copied().unwrap_or(0.0))
            .collect();
        let spare = (padded - 1) as u32;
        let mut row_groups = Vec::new();
        for window in roots.chunks(ROW_WINDOW) {
            let mut order: Vec<usize> = (0..window.len()).collect();
            order.sort_by_key(|&i| window[i].depth);
            for group in order.chunks(TREE_LANES) {
                let mut g = RowGroup {
                    trees: [NO_TREE; TREE_LANES],
                    roots: [spare; TREE_LANES],
                    depth: 0,
                };
                for (l, &i) in group.iter().enumerate() {
                    g.trees[l] = i as u8;
                    g.roots[l] = window[i].node;
                    g.depth = g.depth.max(window[i].depth);
                }
                row_groups.push(g);
            }
        }
        Ok(Some(Nodes {
            row_groups,
            first_value,
            mask: padded - 1,
            nodes,
            leaf,
            roots,
            values,
            output,
        }))
    }

    /// One step for input `x` read at node `i`'s feature: the next node. `NAN` says
    /// whether `x` may be NaN; without it the step is one comparison and one select.
    #[inline(always)]
    fn step<const NAN: bool>(node: &Node<T>, i: u32, x: T) -> u32 {
        let mut go_left = x <= node.threshold;
        if NAN {
            go_left |= x.is_nan() & (node.column & BLOCK_ROWS as u32 != 0);
        }
        // Which way a row goes is data: a branch here mispredicts about half the
        // time, so ask for a conditional move (LLVM otherwise turns a select whose
        // operand is a load back into a branch).
        core::hint::select_unpredictable(go_left, i + 1, node.right)
    }

    /// Adds the leaf `node` ends at onto `acc` for tree `t`, in the model's precision.
    #[inline(always)]
    fn add_leaf<const F32: bool>(&self, width: usize, t: usize, node: u32, acc: &mut [f64]) {
        let at = self.leaf[node as usize] as usize * width;
        if width == 1 {
            let a = &mut acc[self.output[t] as usize];
            *a = add::<F32>(*a, self.values[at]);
        } else {
            for (a, &v) in acc.iter_mut().zip(&self.values[at..at + width]) {
                *a = add::<F32>(*a, v);
            }
        }
    }

    /// One row: groups of [`TREE_LANES`] trees walk together; leaves are added in tree
    /// order afterwards.
    fn row_sums(&self, m: &Model<'_>, row: &[f64], acc: &mut [f64]) {
        match (m.accumulate_f32, row.iter().any(|x| x.is_nan())) {
            (true, true) => self.row_sums_in::<true, true>(m, row, acc),
            (true, false) => self.row_sums_in::<true, false>(m, row, acc),
            (false, true) => self.row_sums_in::<false, true>(m, row, acc),
            (false, false) => self.row_sums_in::<false, false>(m, row, acc),
        }
    }

    #[inline(always)]
    fn row_sums_in<const F32: bool, const NAN: bool>(
        &self,
        m: &Model<'_>,
        row: &[f64],
        acc: &mut [f64],
    ) {
        let (nodes, mask) = (&self.nodes[..=self.mask], self.mask);
        let width = m.leaf_width;
        let mut groups = self.row_groups.iter();
        for (w, window) in self.roots.chunks(ROW_WINDOW).enumerate() {
            let mut leaves = [0u32; ROW_WINDOW];
            for group in groups.by_ref().take(window.len().div_ceil(TREE_LANES)) {
                let mut at = group.roots;
                walk::<T, TREE_LANES, ROW_FIRST_CHECK, ROW_CHECK_EVERY>(
                    nodes,
                    mask,
                    &mut at,
                    group.depth,
                    |_, node| T::from_f64(row[node.column as usize / (2 * BLOCK_ROWS)]),
                    Self::step::<NAN>,
                );
                for (&tree, &a) in group.trees.iter().zip(&at) {
                    if tree != NO_TREE {
                        leaves[tree as usize % ROW_WINDOW] = a;
                    }
                }
            }
            for (i, &a) in leaves.iter().take(window.len()).enumerate() {
                self.add_leaf::<F32>(width, w * ROW_WINDOW + i, a, acc);
            }
        }
    }

    /// A batch: blocks of [`BLOCK_ROWS`] rows; within a block, tree by tree, lanes of
    /// [`ROW_LANES`] rows walk in lock-step.
    fn batch(&self, m: &Model<'_>, rows: &[f64], out: &mut [f64]) {
        let (nf, len) = (m.n_features, m.prediction_len());
        // The block's inputs, rounded once to the threshold type, stored by column
        // (see `column`) so a lane finds its value from the node and its row alone.
        // Rows past the end of a short last block stay zero: they walk, unadded.
        // Either a power-of-two length, so the walk masks its index instead of
        // checking it; or, for big batches of at most 512 features, the whole span a
        // 16-bit column can reach, so the walk neither masks nor checks and a lane's
        // number becomes an address displacement (zeroing the span costs about as
        // much as a few rows, hence the minimum).
        let columns = BLOCK_ROWS * 2 * nf;
        let spanned = rows.len() / nf >= SPAN_MIN_ROWS && columns <= 1 << 16;
        let size = if spanned {
            SPAN
        } else {
            columns.next_power_of_two()
        };
        let mut block: Vec<T> = alloc::vec![T::from_f64(0.0); size];
        for (rows, out) in rows
            .chunks(BLOCK_ROWS * nf)
            .zip(out.chunks_mut(BLOCK_ROWS * len))
        {
            for (r, row) in rows.chunks_exact(nf).enumerate() {
                for (f, &x) in row.iter().enumerate() {
                    let x = T::from_f64(x);
                    // Column 2f: NaN stays NaN, which no `<=` lets left; column 2f + 1:
                    // NaN becomes -inf, which every threshold lets left.
                    block[2 * f * BLOCK_ROWS + r] = x;
                    block[(2 * f + 1) * BLOCK_ROWS + r] =
                        if x.is_nan() { T::NEG_INFINITY } else { x };
                }
            }
            let n = rows.len() / nf;
            out.chunks_exact_mut(len).for_each(|o| m.start(o));
            match (m.accumulate_f32, spanned) {
                (true, true) => self.block_sums::<true, true>(m, &block, n, out),
                (true, false) => self.block_sums::<true, false>(m, &block, n, out),
                (false, true) => self.block_sums::<false, true>(m, &block, n, out),
                (false, false) => self.block_sums::<false, false>(m, &block, n, out),
            }
            out.chunks_exact_mut(len).for_each(|o| m.finish(o));
        }
    }

    /// Adds every tree's leaves onto the sums of the first `n` rows of `block`.
    #[inline(always)]
    fn block_sums<const F32: bool, const SPANNED: bool>(
        &self,
        m: &Model<'_>,
        block: &[T],
        n: usize,
        out: &mut [f64],
    ) {
        for (t, root) in self.roots.iter().enumerate() {
            // Deep trees are lopsided (LightGBM's): all lanes wait for the longest
            // path, so fewer lanes waste fewer steps there.
            if root.depth > DEEP_TREE {
                self.tree_over_block::<F32, SPANNED, DEEP_TREE_LANES>(m, t, root, block, n, out);
            } else {
                self.tree_over_block::<F32, SPANNED, ROW_LANES>(m, t, root, block, n, out);
            }
        }
    }

    /// One tree over the first `n` rows of `block`, `L` rows in lock-step.
    #[inline(always)]
    fn tree_over_block<const F32: bool, const SPANNED: bool, const L: usize>(
        &self,
        m: &Model<'_>,
        t: usize,
        root: &Root,
        block: &[T],
        n: usize,
        out: &mut [f64],
    ) {
        let (nodes, mask) = (&self.nodes[..=self.mask], self.mask);
        if SPANNED {
            if let Ok(span) = <&[T; SPAN]>::try_from(block) {
                return self.tree_over_span::<F32, L>(m, t, root, span, n, out);
            }
        }
        let block_mask = block.len().saturating_sub(1);
        let block = block.get(..=block_mask).unwrap_or_default();
        for r in (0..n).step_by(L) {
            let mut at = [root.node; L];
            walk::<T, L, BATCH_FIRST_CHECK, BATCH_CHECK_EVERY>(
                nodes,
                mask,
                &mut at,
                root.depth,
                |l, node| block[(node.column as usize + r + l) & block_mask],
                Self::step::<false>,
            );
            self.add_lane_leaves::<F32, L>(m, t, &at, r, n, out);
        }
    }

    /// [`Nodes::tree_over_block`] over a whole span (see `batch`).
    #[inline(always)]
    fn tree_over_span<const F32: bool, const L: usize>(
        &self,
        m: &Model<'_>,
        t: usize,
        root: &Root,
        span: &[T; SPAN],
        n: usize,
        out: &mut [f64],
    ) {
        let (nodes, mask) = (&self.nodes[..=self.mask], self.mask);
        for r in (0..n).step_by(L) {
            let mut at = [root.node; L];
            // Provably inside the span: a u16, a row below BLOCK_ROWS, a lane below L.
            let row = r & (BLOCK_ROWS - 1);
            walk::<T, L, BATCH_FIRST_CHECK, BATCH_CHECK_EVERY>(
                nodes,
                mask,
                &mut at,
                root.depth,
                |l, node| span[(node.column as u16) as usize + row + l],
                Self::step::<false>,
            );
            self.add_lane_leaves::<F32, L>(m, t, &at, r, n, out);
        }
    }

    /// Adds the leaves the first `n - r` lanes reached in tree `t` onto rows `r..`.
    #[inline(always)]
    fn add_lane_leaves<const F32: bool, const L: usize>(
        &self,
        m: &Model<'_>,
        t: usize,
        at: &[u32; L],
        r: usize,
        n: usize,
        out: &mut [f64],
    ) {
        let (len, width, mask) = (m.prediction_len(), m.leaf_width, self.mask);
        if width == 1 {
            let (first_value, output) = (&self.first_value[..=mask], self.output[t]);
            for (l, &a) in at.iter().take(n - r).enumerate() {
                let sum = &mut out[(r + l) * len + output as usize];
                *sum = add::<F32>(*sum, first_value[a as usize & mask]);
            }
        } else {
            for (l, &a) in at.iter().take(n - r).enumerate() {
                let o = &mut out[(r + l) * len..(r + l) * len + m.n_outputs];
                self.add_leaf::<F32>(width, t, a, o);
            }
        }
    }
}

/// Steps every lane of `at` until all stand on leaves: `depth` steps at most, and
/// after the `FIRST` steps a check every `EVERY` steps whether all have arrived (deep,
/// lopsided trees — LightGBM's, scikit-learn's — mostly end well above `depth`).
#[inline(always)]
fn walk<T: Threshold, const L: usize, const FIRST: u32, const EVERY: u32>(
    nodes: &[Node<T>],
    mask: usize,
    at: &mut [u32; L],
    depth: u32,
    input: impl Fn(usize, &Node<T>) -> T,
    step: impl Fn(&Node<T>, u32, T) -> u32,
) {
    let mut done = 0;
    while done < depth {
        let steps = if done == 0 {
            depth.min(FIRST)
        } else {
            (depth - done).min(EVERY)
        };
        for _ in 0..steps {
            for (l, a) in at.iter_mut().enumerate() {
                let node = &nodes[*a as usize & mask];
                *a = step(node, *a, input(l, node));
            }
        }
        done += steps;
        if done < depth && at.iter().all(|&a| nodes[a as usize & mask].right == a) {
            break;
        }
    }
}

/// A batch's lanes are many rows: checks cost more and pay off later.
const BATCH_FIRST_CHECK: u32 = 8;
const BATCH_CHECK_EVERY: u32 = 4;
/// One row's lanes are a few trees: checks are cheap.
const ROW_FIRST_CHECK: u32 = 2;
const ROW_CHECK_EVERY: u32 = 2;

/// Trees deeper than this walk a batch [`DEEP_TREE_LANES`] rows at a time.
const DEEP_TREE: u32 = 12;
const DEEP_TREE_LANES: usize = 8;

/// The plain split (`x <= threshold`, NaN left or not) that decides exactly as a wide
/// node with LightGBM's numeric rules (§6 flags 32, 64, 128) does, if one exists.
///
/// The rules only change what happens to NaN and to the tiny band `|x| <= Z`
/// (`Z` = [`ZERO_THRESHOLD`]): outside the band the test stays `x <= t`. The band
/// decides one way for all its inputs, so the whole node is one threshold test
/// whenever that way agrees with `x <= t` on both sides of the band — which is
/// every node LightGBM writes except a zero-as-missing one whose default direction
/// disagrees with its threshold; that one keeps the model's walk.
fn numeric_rule_as_split(flags: u16, t: f64) -> Option<(f64, bool)> {
    use crate::ensemble::ZERO_THRESHOLD as Z;
    if flags & NODE_CATEGORICAL != 0 {
        return None;
    }
    let default_left = flags & NODE_MISSING_LEFT != 0;
    let tiny_as_zero = flags & NODE_TINY_AS_ZERO != 0;
    let zero_missing = flags & NODE_ZERO_MISSING != 0;
    let nan_left = if flags & NODE_NAN_AS_ZERO != 0 && !zero_missing {
        0.0 <= t
    } else {
        default_left
    };
    // How the band decides: `None` when it is still `x <= t` per input.
    let band = if zero_missing {
        Some(default_left)
    } else if tiny_as_zero {
        Some(0.0 <= t)
    } else {
        None
    };
    let threshold = match band {
        None => t,
        // Below the band everything goes left, above it right: the band sides with one.
        Some(true) if (-Z..Z).contains(&t) => Z,
        Some(false) if (-Z..Z).contains(&t) => next_down(-Z),
        // Band and threshold agree: `x <= t` already sends the band its way.
        Some(left) if left == (t >= Z) => t,
        Some(_) => return None,
    };
    Some((threshold, nan_left))
}

/// The greatest float64 below `x` (finite, nonzero `x`).
fn next_down(x: f64) -> f64 {
    let bits = x.to_bits();
    f64::from_bits(if x > 0.0 { bits - 1 } else { bits + 1 })
}
