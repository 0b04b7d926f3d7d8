//! Trees filled out to complete binary trees and walked by computed index: the batch
//! walk of gradient-boosted trees of bounded depth (XGBoost's `max_depth` trees) on
//! CPUs with AVX-512.
//!
//! Why a walk of its own: a node walk finds a row's next node by loading the current
//! one, so each row's steps are a chain of dependent loads, one lane at a time. In a
//! complete tree stored level by level (breadth first) the children of node `k` are
//! `2k + 1` and `2k + 2`: the next index is arithmetic, and 16 rows step together in
//! one register — their nodes, thresholds and inputs fetched by gathers, or for the
//! top five levels (the first 31 nodes) picked from two registers by a permute. A
//! tree's leaf is its last index less `2^depth - 1`.
//!
//! A tree that is not complete is made so: below a leaf that ends a path early, every
//! position of the missing subtree gets a split that is never read for its answer
//! (both of its sides lead to copies of that leaf). So every row reaches a copy of its
//! own leaf, whatever the filler splits say; the price is the filler's memory and the
//! steps down to the full depth, which is why [`Complete::from_layout`] takes a model
//! only when its trees are mostly full.
//!
//! The arithmetic is the node walk's: the comparison `!(x <= t)` in float32 (NaN
//! right, or left through the block's NaN-as-minus-infinity column, as the node walk
//! reads it), and each row adds its leaves in tree order through the model's own
//! summation type, so the answers are bit-identical to [`Model`]'s. Without AVX-512
//! (or with [`VectorIsa`] lowered) the same arrays are walked one row at a time; that
//! path exists for tests and measurement, since the node walk is faster there and
//! [`Complete::from_layout`] takes no model on such a CPU.

use alloc::vec::Vec;

use crate::cpu::VectorIsa;
use crate::model::Model;
use crate::predict::add;
use crate::prepared::{fill_block, Layout, Node, BLOCK_ROWS};

#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(not(target_arch = "x86_64"))]
mod avx512 {
    //! No AVX-512 off x86-64: [`Kernel::new`] finds none.
    use super::Complete;

    /// Never made off x86-64.
    pub(super) enum Kernel {}

    impl Kernel {
        pub(super) fn new() -> Option<Kernel> {
            None
        }

        pub(super) fn block_sums<const F32: bool>(&self, _: &Complete, _: &[f32], _: &mut [f64]) {
            match *self {}
        }
    }
}

/// The deepest tree taken: a complete tree of depth 10 has 1,023 splits and 1,024
/// leaves (12 KB), and XGBoost's default `max_depth` is 6.
const MAX_DEPTH: u32 = 10;

/// The least share of real leaves among the complete trees' leaf positions: below
/// it, the filler's steps outweigh what the vector walk saves. XGBoost's depth-8
/// trees on the bench's 50 features fill 0.9 of theirs.
const MIN_FILL_PERCENT: usize = 50;

/// Every tree of a model as a complete tree, level by level.
#[derive(Clone, Debug)]
pub(crate) struct Complete {
    trees: Vec<CompleteTree>,
    /// Every tree's splits in breadth-first order, `2^depth - 1` per tree, one after
    /// another, then [`PERMUTE_NODES`] spare ones so that the kernel's loads of a
    /// tree's first 32 splits stay in bounds.
    thresholds: Vec<f32>,
    /// Per split: its input's premultiplied batch column, as the node walk's
    /// [`Node::column`] (`(2 × feature + missing goes left) × BLOCK_ROWS`).
    columns: Vec<u32>,
    /// Every tree's `2^depth` leaves in order, single values.
    values: Vec<f64>,
    /// The same values as float32, for models that add in float32 (exact: such a sum
    /// rounds every value to float32 before adding it).
    values_f32: Vec<f32>,
    /// The length of a batch block (`2 × n_features × BLOCK_ROWS`): every column
    /// plus a block's rows is below it.
    block_len: usize,
    n_outputs: usize,
}

/// Trees that step together in a single row's walk.
const ROW_TREES: usize = 8;

/// The splits a kernel holds in registers: the top five levels.
pub(crate) const PERMUTE_NODES: usize = 32;

#[derive(Clone, Copy, Debug)]
struct CompleteTree {
    /// Its root in [`Complete::thresholds`] and [`Complete::columns`].
    first_node: u32,
    /// Its first leaf in [`Complete::values`].
    first_value: u32,
    depth: u32,
    /// The sum its leaves go to.
    output: u32,
}

impl Complete {
    /// The trees of `layout` (decoded from `model`) as complete trees, or `None` if
    /// the walk would not pay: no AVX-512 to run it, leaves of more than one value,
    /// a tree deeper than [`MAX_DEPTH`], or trees less full than
    /// [`MIN_FILL_PERCENT`].
    pub(crate) fn from_layout(model: &Model<'_>, layout: &Layout<f32>) -> Option<Self> {
        if VectorIsa::detected() < VectorIsa::Avx512
            || model.leaf_width != 1
            || model.n_features == 0
            || 2 * model.n_features * BLOCK_ROWS > i32::MAX as usize
        {
            return None;
        }
        let n_trees = layout.roots.len();
        let mut depths = Vec::with_capacity(n_trees);
        let (mut positions, mut leaves) = (0usize, 0usize);
        for (t, root) in layout.roots.iter().enumerate() {
            let end = layout
                .roots
                .get(t + 1)
                .map_or(layout.nodes.len(), |r| r.node as usize);
            let depth = tree_depth(&layout.nodes, root.node as usize)?;
            if depth > MAX_DEPTH {
                return None;
            }
            depths.push(depth);
            positions += 1 << depth;
            leaves += end.checked_sub(root.node as usize)?.div_ceil(2);
        }
        if leaves * 100 < positions * MIN_FILL_PERCENT {
            return None;
        }
        let mut complete = Complete {
            trees: Vec::with_capacity(n_trees),
            thresholds: Vec::with_capacity(positions + PERMUTE_NODES),
            columns: Vec::with_capacity(positions + PERMUTE_NODES),
            values: Vec::with_capacity(positions),
            values_f32: Vec::new(),
            block_len: 2 * model.n_features * BLOCK_ROWS,
            n_outputs: model.n_outputs,
        };
        let max_column = (2 * model.n_features - 1) * BLOCK_ROWS;
        for (t, (root, &depth)) in layout.roots.iter().zip(&depths).enumerate() {
            let splits = (1usize << depth) - 1;
            let first_node = complete.thresholds.len();
            let first_value = complete.values.len();
            complete.thresholds.resize(first_node + splits, 0.0);
            complete.columns.resize(first_node + splits, 0);
            complete.values.resize(first_value + (1 << depth), 0.0);
            let mut fill = Fill {
                layout,
                depth,
                thresholds: &mut complete.thresholds[first_node..],
                columns: &mut complete.columns[first_node..],
                values: &mut complete.values[first_value..],
            };
            fill.visit(root.node as usize, 0, 0)?;
            if complete.columns[first_node..]
                .iter()
                .any(|&c| c as usize > max_column)
            {
                return None;
            }
            complete.trees.push(CompleteTree {
                first_node: u32::try_from(first_node).ok()?,
                first_value: u32::try_from(first_value).ok()?,
                depth,
                output: layout.output.get(t).copied().unwrap_or(0),
            });
        }
        if complete
            .trees
            .iter()
            .any(|t| t.output as usize >= model.n_outputs)
        {
            return None;
        }
        let end = complete.thresholds.len() + PERMUTE_NODES;
        complete.thresholds.resize(end, 0.0);
        complete.columns.resize(end, 0);
        if model.accumulate_f32 {
            complete.values_f32 = complete.values.iter().map(|&v| v as f32).collect();
            complete.values_f32.resize(complete.values.len() + 16, 0.0);
        }
        Some(complete)
    }

    /// Adds one row's leaves onto `acc` (the model's first `n_outputs` sums).
    pub(crate) fn row_sums(&self, m: &Model<'_>, row: &[f64], acc: &mut [f64]) {
        // The row as a one-row block: each split reads its input by its column alone.
        let mut inputs: Vec<f32> = alloc::vec![0.0; 2 * m.n_features];
        for (f, &x) in row.iter().enumerate().take(m.n_features) {
            let x = x as f32;
            inputs[2 * f] = x;
            inputs[2 * f + 1] = if x.is_nan() { f32::NEG_INFINITY } else { x };
        }
        let input = |column: u32| {
            inputs
                .get(column as usize / BLOCK_ROWS)
                .copied()
                .unwrap_or(f32::NAN)
        };
        // Trees in groups that step in lock-step, level by level: each tree's chain
        // of loads (split, then input) is independent of the others', and the CPU
        // overlaps them.
        for group in self.trees.chunks(ROW_TREES) {
            let mut k = [0usize; ROW_TREES];
            let deepest = group.iter().map(|t| t.depth).max().unwrap_or(0);
            for level in 0..deepest {
                for (tree, k) in group.iter().zip(&mut k) {
                    if level < tree.depth {
                        let at = tree.first_node as usize + *k;
                        let (Some(&t), Some(&c)) = (self.thresholds.get(at), self.columns.get(at))
                        else {
                            continue;
                        };
                        *k = 2 * *k + 1 + goes_right(input(c), t) as usize;
                    }
                }
            }
            for (tree, &k) in group.iter().zip(&k) {
                let leaf = tree.first_value as usize + k + 1 - (1 << tree.depth);
                if let (Some(a), Some(&v)) =
                    (acc.get_mut(tree.output as usize), self.values.get(leaf))
                {
                    *a = if m.accumulate_f32 {
                        add::<true>(*a, v)
                    } else {
                        add::<false>(*a, v)
                    };
                }
            }
        }
    }

    /// The index in [`Complete::values`] of the leaf a row reaches in `tree`, reading
    /// a split's input with `input(column)`.
    #[inline(always)]
    fn leaf(&self, tree: &CompleteTree, input: impl Fn(u32) -> f32) -> usize {
        let first = tree.first_node as usize;
        let mut k = 0usize;
        for _ in 0..tree.depth {
            let (Some(&t), Some(&c)) =
                (self.thresholds.get(first + k), self.columns.get(first + k))
            else {
                break;
            };
            k = 2 * k + 1 + goes_right(input(c), t) as usize;
        }
        tree.first_value as usize + k + 1 - (1 << tree.depth)
    }

    /// A batch: blocks of [`BLOCK_ROWS`] rows laid out by column; within a block,
    /// every tree over all rows, through the AVX-512 kernel if `isa` allows it and
    /// the CPU has it.
    pub(crate) fn batch(&self, m: &Model<'_>, rows: &[f64], out: &mut [f64], isa: VectorIsa) {
        let (nf, len) = (m.n_features, m.prediction_len());
        let kernel = (isa >= VectorIsa::Avx512)
            .then(avx512::Kernel::new)
            .flatten();
        let mut block: Vec<f32> = alloc::vec![0.0; self.block_len];
        // The block's sums by output, each a run of BLOCK_ROWS.
        let mut sums = alloc::vec![0.0f64; m.n_outputs * BLOCK_ROWS];
        for (rows, out) in rows
            .chunks(BLOCK_ROWS * nf)
            .zip(out.chunks_mut(BLOCK_ROWS * len))
        {
            fill_block(&mut block, rows, nf);
            out.chunks_exact_mut(len).for_each(|o| m.start(o));
            for (r, o) in out.chunks_exact(len).enumerate() {
                for (k, &v) in o.iter().take(m.n_outputs).enumerate() {
                    sums[k * BLOCK_ROWS + r] = v;
                }
            }
            match (&kernel, m.accumulate_f32) {
                (Some(kernel), true) => kernel.block_sums::<true>(self, &block, &mut sums),
                (Some(kernel), false) => kernel.block_sums::<false>(self, &block, &mut sums),
                (None, true) => self.block_sums::<true>(&block, &mut sums),
                (None, false) => self.block_sums::<false>(&block, &mut sums),
            }
            for (r, o) in out.chunks_exact_mut(len).enumerate() {
                for (k, v) in o.iter_mut().take(m.n_outputs).enumerate() {
                    *v = sums[k * BLOCK_ROWS + r];
                }
            }
            out.chunks_exact_mut(len).for_each(|o| m.finish(o));
        }
    }

    /// The portable batch: every tree over every row of `block`, one row at a time.
    /// Rows past a short block's end add too, onto sums nobody reads.
    fn block_sums<const F32: bool>(&self, block: &[f32], sums: &mut [f64]) {
        for tree in &self.trees {
            let at = tree.output as usize * BLOCK_ROWS;
            let Some(sums) = sums.get_mut(at..at + BLOCK_ROWS) else {
                continue;
            };
            for (r, s) in sums.iter_mut().enumerate() {
                let leaf = self.leaf(tree, |column| {
                    block.get(column as usize + r).copied().unwrap_or(f32::NAN)
                });
                *s = add::<F32>(*s, self.values.get(leaf).copied().unwrap_or(0.0));
            }
        }
    }
}

/// Whether input `x` takes a split's right branch: not `x <= threshold`, so NaN goes
/// right (the block's other column holds it as minus infinity where it goes left).
// Not `x > threshold`: that would send NaN left.
#[allow(clippy::neg_cmp_op_on_partial_ord)]
#[inline(always)]
fn goes_right(x: f32, threshold: f32) -> bool {
    !(x <= threshold)
}

/// Whether `nodes[i]` is a leaf: a leaf steps to itself, a split to a later node.
fn is_leaf<T>(nodes: &[Node<T>], i: usize) -> bool {
    nodes[i].right as usize == i
}

/// The depth of the tree whose root is `layout.nodes[root]`, at most
/// `MAX_DEPTH + 1` (deeper is not measured), or `None` if a child lies out of order.
fn tree_depth(nodes: &[Node<f32>], root: usize) -> Option<u32> {
    let mut deepest = 0;
    let mut stack: Vec<(usize, u32)> = alloc::vec![(root, 0)];
    while let Some((i, d)) = stack.pop() {
        if d > MAX_DEPTH {
            return Some(d);
        }
        nodes.get(i)?;
        if is_leaf(nodes, i) {
            deepest = deepest.max(d);
        } else {
            // Pre-order, the left child next: a right child before it is corrupt.
            let right = nodes[i].right as usize;
            if right <= i + 1 {
                return None;
            }
            stack.push((right, d + 1));
            stack.push((i + 1, d + 1));
        }
    }
    Some(deepest)
}

/// One tree's complete arrays being filled from its laid-out nodes.
struct Fill<'l, 'o> {
    layout: &'l Layout<f32>,
    depth: u32,
    thresholds: &'o mut [f32],
    columns: &'o mut [u32],
    values: &'o mut [f64],
}

impl Fill<'_, '_> {
    /// Fills position `k` (breadth first) at level `level` and everything below it
    /// from the laid-out node `i`: a split's own test, or below a leaf that ends its
    /// path early, filler splits (threshold 0, column 0) over copies of the leaf.
    fn visit(&mut self, i: usize, k: usize, level: u32) -> Option<()> {
        let nodes = &self.layout.nodes;
        nodes.get(i)?;
        if level == self.depth {
            if !is_leaf(nodes, i) {
                return None;
            }
            let leaf = *self.layout.leaf.get(i)? as usize;
            let first = k + 1 - (1 << self.depth);
            *self.values.get_mut(first)? = *self.layout.values.get(leaf)?;
            return Some(());
        }
        if is_leaf(nodes, i) {
            // Filler: both sides reach this same leaf.
            self.visit(i, 2 * k + 1, level + 1)?;
            return self.visit(i, 2 * k + 2, level + 1);
        }
        *self.thresholds.get_mut(k)? = nodes[i].threshold;
        *self.columns.get_mut(k)? = nodes[i].column;
        self.visit(i + 1, 2 * k + 1, level + 1)?;
        self.visit(nodes[i].right as usize, 2 * k + 2, level + 1)
    }
}
