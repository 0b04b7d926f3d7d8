//! Trees filled out to complete binary trees and walked by computed index: the batch
//! walk of gradient-boosted trees of bounded depth (XGBoost's `max_depth` trees,
//! scikit-learn's gradient boosting) on CPUs with AVX-512 or, for float32 thresholds,
//! AVX2.
//!
//! Why a walk of its own: a node walk finds a row's next node by loading the current
//! one, so each row's steps are a chain of dependent loads, one lane at a time. In a
//! complete tree stored level by level (breadth first) the children of the node at
//! place `j` of its level are at places `2j` and `2j + 1` of the next: the next place
//! is arithmetic, and 16 rows (float32) or 8 (float64) step together in one
//! register. A level's splits are picked from registers by permutes, the rows'
//! inputs loaded and blended (top four levels) or gathered from the batch block.
//!
//! A tree that is not complete is made so: below a leaf that ends a path early, every
//! position of the missing subtree gets a split that is never read for its answer
//! (both of its sides lead to copies of that leaf). So every row reaches a copy of its
//! own leaf, whatever the filler splits say; the price is the filler's memory and the
//! steps down to the full depth, which is why [`Complete::from_layout`] takes a model
//! only when its trees are mostly full.
//!
//! Deeper trees keep the node walk. Walking LightGBM's leaf-wise trees (255 leaves,
//! paths of 2 to 29 steps) by their complete tops and then on as nodes, one row to a
//! lane, measured 0.5 to 0.9 times the node walk's speed: the tops of such trees are
//! not full past 6 levels, and the node walk below them is what costs.
//!
//! The arithmetic is the node walk's: the comparison `!(x <= t)` in the threshold
//! type (NaN right, or left through the block's NaN-as-minus-infinity column, as the
//! node walk reads it), and each row adds its leaves in tree order through the
//! model's own summation type, so the answers are bit-identical to [`Model`]'s.
//! Without those (or with [`VectorIsa`] lowered) the same arrays are walked one row
//! at a time; that path exists for tests and measurement, since the node walk is
//! faster there and [`Complete::from_layout`] takes no model on such a CPU.

use alloc::vec::Vec;

use crate::cpu::VectorIsa;
use crate::model::Model;
use crate::predict::add;
use crate::prepared::{fill_block, fill_folded_block, Layout, Node, Threshold, BLOCK_ROWS};

#[cfg(target_arch = "x86_64")]
mod x86;
#[cfg(not(target_arch = "x86_64"))]
mod x86 {
    //! No vector kernels off x86-64: the portable walk (and `from_layout` takes no
    //! model there).
    use super::Complete;
    use crate::cpu::VectorIsa;

    /// The kernels a threshold type has: none.
    pub(crate) trait Kernels: crate::prepared::Threshold {
        const LEAST_ISA: VectorIsa = VectorIsa::Avx512;

        fn block_sums<const F32: bool>(
            _: VectorIsa,
            _: &Complete<Self>,
            _: &[Self],
            _: &mut [f64],
        ) -> bool {
            false
        }

        fn fill_folded(_: VectorIsa, _: &mut [Self], _: &[f64], _: usize) -> Option<bool> {
            None
        }
    }

    impl Kernels for f32 {}
    impl Kernels for f64 {}
}

mod tops;

pub(crate) use tops::Tops;
pub(crate) use x86::Kernels;

/// The deepest trees taken: float32 trees to depth 10 (1,023 splits, 1,024 leaves;
/// XGBoost's default `max_depth` is 6); float64 ones to depth 8, the deepest whose
/// splits a kernel picks from registers (eight to a register).
const fn max_depth(wide: bool) -> u32 {
    if wide {
        8
    } else {
        10
    }
}

/// The least share of real leaves among the complete trees' leaf places (the others
/// are copies): below it, the filler's steps outweigh what the vector walk saves.
/// XGBoost's depth-8 trees on the bench's 50 features fill 61%.
const MIN_FILL_PERCENT: usize = 50;

/// Every tree of a model as a complete tree, level by level.
#[derive(Clone, Debug)]
pub(crate) struct Complete<T> {
    trees: Vec<CompleteTree>,
    /// Every tree's top splits in breadth-first order, `2^depth - 1` per tree, one
    /// after another, then [`SPARE_SPLITS`] spare ones so that a kernel's loads of a
    /// whole register from any level's start stay in bounds.
    thresholds: Vec<T>,
    /// Per split: its input's premultiplied batch column, as the node walk's
    /// [`Node::column`] (`(2 × feature + missing goes left) × BLOCK_ROWS`).
    columns: Vec<u32>,
    /// The same splits' columns for a block without missing inputs
    /// ([`fill_folded_block`]: `feature × BLOCK_ROWS`). Such a block's two columns of
    /// a feature would hold the same values, so it keeps one: half the bytes for the
    /// kernels to read (XGBoost's 50 features: 25 KB of float32 instead of 51, inside
    /// the core's 48 KB first-level cache; 1.05-1.07x its batches).
    folded_columns: Vec<u32>,
    /// Every tree's `2^depth` leaves in order, single values; then [`SPARE_SPLITS`]
    /// spare ones, as for the splits.
    values: Vec<f64>,
    /// The same values as float32, for models that add in float32 (exact: such a sum
    /// rounds every value to float32 before adding it).
    values_f32: Vec<f32>,
    /// The length of a batch block (`2 × n_features × BLOCK_ROWS`): every column
    /// plus a block's rows is below it.
    block_len: usize,
    n_outputs: usize,
}

/// Spare entries after the last tree's splits and leaves: a register's worth.
pub(crate) const SPARE_SPLITS: usize = 16;

/// Trees that step together in a single row's walk.
const ROW_LANES: usize = 8;

#[derive(Clone, Copy, Debug)]
pub(crate) struct CompleteTree {
    /// Its root in [`Complete::thresholds`] and [`Complete::columns`].
    first_node: u32,
    /// Its first leaf in [`Complete::values`].
    first_value: u32,
    depth: u32,
    /// The sum its leaves go to.
    output: u32,
}

impl<T: Threshold + Kernels> Complete<T> {
    /// The trees of `layout` (decoded from `model`) as complete trees, or `None` if
    /// the walk would not pay: no kernel for the CPU (AVX2 for float32 thresholds,
    /// AVX-512 for float64), leaves of more than one value, a
    /// tree deeper than [`max_depth`], or trees less full than [`MIN_FILL_PERCENT`].
    pub(crate) fn from_layout(model: &Model<'_>, layout: &Layout<T>) -> Option<Self> {
        if VectorIsa::detected() < T::LEAST_ISA
            || model.leaf_width != 1
            || model.n_features == 0
            || 2 * model.n_features * BLOCK_ROWS > i32::MAX as usize
            // No library adds float64-threshold trees' leaves in float32.
            || T::WIDE && model.accumulate_f32
        {
            return None;
        }
        let n_trees = layout.roots.len();
        let mut depths = Vec::with_capacity(n_trees);
        let (mut places, mut leaves) = (0usize, 0usize);
        for (t, root) in layout.roots.iter().enumerate() {
            let end = layout
                .roots
                .get(t + 1)
                .map_or(layout.nodes.len(), |r| r.node as usize);
            let depth = tree_depth(&layout.nodes, root.node as usize, max_depth(T::WIDE))?;
            if depth > max_depth(T::WIDE) {
                return None;
            }
            depths.push(depth);
            places += 1 << depth;
            // A tree of n splits has n + 1 leaves.
            leaves += end.checked_sub(root.node as usize)?.div_ceil(2);
        }
        if leaves * 100 < places * MIN_FILL_PERCENT {
            return None;
        }
        let mut complete = Complete {
            trees: Vec::with_capacity(n_trees),
            thresholds: Vec::with_capacity(places + SPARE_SPLITS),
            columns: Vec::with_capacity(places + SPARE_SPLITS),
            folded_columns: Vec::new(),
            values: Vec::with_capacity(places + SPARE_SPLITS),
            values_f32: Vec::new(),
            block_len: 2 * model.n_features * BLOCK_ROWS,
            n_outputs: model.n_outputs,
        };
        for (t, (root, &depth)) in layout.roots.iter().zip(&depths).enumerate() {
            let first_node = complete.thresholds.len();
            let first_value = complete.values.len();
            complete
                .thresholds
                .resize(first_node + (1 << depth) - 1, T::from_f64(0.0));
            complete.columns.resize(first_node + (1 << depth) - 1, 0);
            complete.values.resize(first_value + (1 << depth), 0.0);
            let values = &mut complete.values[first_value..];
            fill_top(
                &layout.nodes,
                root.node as usize,
                0,
                0,
                depth,
                &mut complete.thresholds[first_node..],
                &mut complete.columns[first_node..],
                &mut |i, j| {
                    if !is_leaf(&layout.nodes, i) {
                        return None;
                    }
                    *values.get_mut(j)? = *layout.values.get(*layout.leaf.get(i)? as usize)?;
                    Some(())
                },
            )?;
            complete.trees.push(CompleteTree {
                first_node: u32::try_from(first_node).ok()?,
                first_value: u32::try_from(first_value).ok()?,
                depth,
                output: layout.output.get(t).copied().unwrap_or(0),
            });
        }
        let max_column = complete.block_len - BLOCK_ROWS;
        if complete
            .trees
            .iter()
            .any(|t| t.output as usize >= model.n_outputs)
            || complete.columns.iter().any(|&c| c as usize > max_column)
        {
            return None;
        }
        let spare = complete.thresholds.len() + SPARE_SPLITS;
        complete.thresholds.resize(spare, T::from_f64(0.0));
        complete.columns.resize(spare, 0);
        complete.folded_columns = complete
            .columns
            .iter()
            .map(|&c| c / (2 * BLOCK_ROWS as u32) * BLOCK_ROWS as u32)
            .collect();
        complete
            .values
            .resize(complete.values.len() + SPARE_SPLITS, 0.0);
        if model.accumulate_f32 {
            complete.values_f32 = complete.values.iter().map(|&v| v as f32).collect();
        }
        Some(complete)
    }

    /// Adds one row's leaves onto `acc` (the model's first `n_outputs` sums).
    pub(crate) fn row_sums(&self, m: &Model<'_>, row: &[f64], acc: &mut [f64]) {
        // The row as a one-row block: each split reads its input by its column alone.
        let mut inputs: Vec<T> = alloc::vec![T::from_f64(0.0); 2 * m.n_features];
        for (f, &x) in row.iter().enumerate().take(m.n_features) {
            let x = T::from_f64(x);
            inputs[2 * f] = x;
            inputs[2 * f + 1] = if x.is_nan() { T::NEG_INFINITY } else { x };
        }
        let input = |column: u32| {
            inputs
                .get(column as usize / BLOCK_ROWS)
                .copied()
                .unwrap_or(T::NAN)
        };
        // Trees in groups that step in lock-step, level by level: each tree's chain
        // of loads (split, then input) is independent of the others', and the CPU
        // overlaps them.
        for group in self.trees.chunks(ROW_LANES) {
            let mut j = [0usize; ROW_LANES];
            let deepest = group.iter().map(|t| t.depth).max().unwrap_or(0);
            for level in 0..deepest {
                for (tree, j) in group.iter().zip(&mut j) {
                    if level < tree.depth {
                        let at = tree.first_node as usize + (1 << level) - 1 + *j;
                        let (Some(&t), Some(&c)) = (self.thresholds.get(at), self.columns.get(at))
                        else {
                            continue;
                        };
                        *j = 2 * *j + goes_right(input(c), t) as usize;
                    }
                }
            }
            for (tree, &j) in group.iter().zip(&j) {
                let v = self.leaf_value(tree, j);
                if let Some(a) = acc.get_mut(tree.output as usize) {
                    *a = if m.accumulate_f32 {
                        add::<true>(*a, v)
                    } else {
                        add::<false>(*a, v)
                    };
                }
            }
        }
    }

    /// The value of the leaf at place `j` of `tree`'s last level.
    #[inline(always)]
    fn leaf_value(&self, tree: &CompleteTree, j: usize) -> f64 {
        let at = tree.first_value as usize + j;
        self.values.get(at).copied().unwrap_or(0.0)
    }

    /// A batch: blocks of [`BLOCK_ROWS`] rows laid out by column; within a block,
    /// every tree over all rows, through the best kernel `isa` allows and the CPU
    /// runs.
    pub(crate) fn batch(&self, m: &Model<'_>, rows: &[f64], out: &mut [f64], isa: VectorIsa) {
        let (nf, len) = (m.n_features, m.prediction_len());
        let mut block: Vec<T> = alloc::vec![T::from_f64(0.0); self.block_len];
        // The block's sums by output, each a run of BLOCK_ROWS.
        let mut sums = alloc::vec![0.0f64; m.n_outputs * BLOCK_ROWS];
        for (rows, out) in rows
            .chunks(BLOCK_ROWS * nf)
            .zip(out.chunks_mut(BLOCK_ROWS * len))
        {
            // Most batches have no missing input: then one column per feature.
            let whole = T::fill_folded(isa, &mut block, rows, nf)
                .unwrap_or_else(|| fill_folded_block(&mut block, rows, nf));
            let columns = if whole {
                &self.folded_columns
            } else {
                fill_block(&mut block, rows, nf);
                &self.columns
            };
            out.chunks_exact_mut(len).for_each(|o| m.start(o));
            for (r, o) in out.chunks_exact(len).enumerate() {
                for (k, &v) in o.iter().take(m.n_outputs).enumerate() {
                    sums[k * BLOCK_ROWS + r] = v;
                }
            }
            let done = if m.accumulate_f32 {
                T::block_sums::<true>(isa, self, columns, &block, &mut sums)
            } else {
                T::block_sums::<false>(isa, self, columns, &block, &mut sums)
            };
            if !done && m.accumulate_f32 {
                self.block_sums::<true>(columns, &block, &mut sums);
            } else if !done {
                self.block_sums::<false>(columns, &block, &mut sums);
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
    fn block_sums<const F32: bool>(&self, columns: &[u32], block: &[T], sums: &mut [f64]) {
        for tree in &self.trees {
            let at = tree.output as usize * BLOCK_ROWS;
            let Some(sums) = sums.get_mut(at..at + BLOCK_ROWS) else {
                continue;
            };
            let input = |r: usize| {
                move |column: u32| block.get(column as usize + r).copied().unwrap_or(T::NAN)
            };
            for (r, s) in sums.iter_mut().enumerate() {
                let first = tree.first_node as usize;
                let mut j = 0;
                for level in 0..tree.depth {
                    let at = first + (1 << level) - 1 + j;
                    let (Some(&t), Some(&c)) = (self.thresholds.get(at), columns.get(at)) else {
                        break;
                    };
                    j = 2 * j + goes_right(input(r)(c), t) as usize;
                }
                let v = self.leaf_value(tree, j);
                *s = add::<F32>(*s, v);
            }
        }
    }
}

/// Whether input `x` takes a split's right branch: not `x <= threshold`, so NaN goes
/// right (the block's other column holds it as minus infinity where it goes left).
// Not `x > threshold`: that would send NaN left.
#[allow(clippy::neg_cmp_op_on_partial_ord)]
#[inline(always)]
fn goes_right<T: PartialOrd>(x: T, threshold: T) -> bool {
    !(x <= threshold)
}

/// Whether `nodes[i]` is a leaf: a leaf steps to itself, a split to a later node.
fn is_leaf<T>(nodes: &[Node<T>], i: usize) -> bool {
    nodes[i].right as usize == i
}

/// The depth of the tree whose root is `nodes[root]` (laid out in pre-order, each
/// split's left child next), looked for down to `limit + 1` levels; `None` if a child
/// lies out of order.
fn tree_depth<T>(nodes: &[Node<T>], root: usize, limit: u32) -> Option<u32> {
    let mut deepest = 0;
    let mut stack: Vec<(usize, u32)> = alloc::vec![(root, 0)];
    while let Some((i, d)) = stack.pop() {
        nodes.get(i)?;
        if d > limit {
            return Some(d);
        }
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

/// Fills place `j` of level `level` of a complete top `depth` levels deep, and
/// everything below it, from the laid-out node `i` (pre-order, leaves inline): a
/// split's own test into `thresholds` and `columns` (the top's splits, breadth first);
/// below a leaf that ends its path early, filler splits (threshold 0, column 0) over
/// copies of the leaf. At the last level, `last(i, j)` takes the node there.
#[allow(clippy::too_many_arguments)] // One recursion's state, spelled out.
pub(crate) fn fill_top<T: Threshold>(
    nodes: &[Node<T>],
    i: usize,
    j: usize,
    level: u32,
    depth: u32,
    thresholds: &mut [T],
    columns: &mut [u32],
    last: &mut impl FnMut(usize, usize) -> Option<()>,
) -> Option<()> {
    let node = *nodes.get(i)?;
    if level == depth {
        return last(i, j);
    }
    let (left, right) = if is_leaf(nodes, i) {
        (i, i)
    } else {
        let at = (1 << level) - 1 + j;
        *thresholds.get_mut(at)? = node.threshold;
        *columns.get_mut(at)? = node.column;
        (i + 1, node.right as usize)
    };
    fill_top(
        nodes,
        left,
        2 * j,
        level + 1,
        depth,
        thresholds,
        columns,
        last,
    )?;
    fill_top(
        nodes,
        right,
        2 * j + 1,
        level + 1,
        depth,
        thresholds,
        columns,
        last,
    )
}
