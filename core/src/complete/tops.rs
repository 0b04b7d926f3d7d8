//! [`Tops`]: the top levels of deep trees (LightGBM's leaf-wise ones) as complete
//! trees, walked by a vector kernel before the node walk's span walk takes each row
//! on from where the top left it.
//!
//! Why: the span walk steps a group of rows through a tree in lock-step until the
//! deepest of them reaches its leaf, so a tree of lopsided depth (LightGBM's 255
//! leaves lie 2 to 29 steps deep, 10 on average) costs its group's longest path. A
//! tree's top levels are nearly full, and walked as a complete tree 16 (or 8) rows
//! to a register they cost a fraction of a step per level; the span walk then only
//! walks the rest. Each tree's top is as deep as it is at least half full.
//!
//! Exactness: the top compares as the node walk does (see [`super::Complete`]), and
//! it only decides where each row's walk goes on from: every row still reaches its
//! own leaf and adds it as the span walk does.

use alloc::vec::Vec;

use super::x86::Kernels;
use super::{fill_top, max_depth, SPARE_SPLITS};
use crate::cpu::VectorIsa;
use crate::prepared::{Node, Root, Threshold, BLOCK_ROWS};

/// The least mean depth of the tops: shallower ones save too few steps to pay for
/// themselves.
const MIN_MEAN_DEPTH: usize = 4;

/// The least depth of a tree's top for the kernel to walk it; a shallower top
/// leaves the tree to the span walk.
const MIN_DEPTH: u32 = 6;

/// The least share of a top's last-level places that real nodes take (the others
/// are copies of leaves above it).
const MIN_FILL_PERCENT: usize = 50;

/// Every tree's top, level by level.
#[derive(Clone, Debug)]
pub(crate) struct Tops<T> {
    trees: Vec<Top>,
    /// Every top's splits in breadth-first order, `2^depth - 1` per tree, then
    /// [`SPARE_SPLITS`] spare ones, as [`super::Complete`]'s.
    pub(super) thresholds: Vec<T>,
    /// Per split: its premultiplied batch column.
    pub(super) columns: Vec<u32>,
    /// Per top, for each place of its last level: the span walk's state there (the
    /// node counted from the tree's root, `<< 16`, and its column).
    exits: Vec<u32>,
    /// The least block length every column allows (its column plus BLOCK_ROWS).
    pub(super) block_len: usize,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Top {
    /// Its root in [`Tops::thresholds`] and [`Tops::columns`].
    pub(super) first_node: u32,
    /// Its first exit in [`Tops::exits`].
    first_exit: u32,
    pub(super) depth: u32,
}

impl<T: Threshold + Kernels> Tops<T> {
    /// The tops of the trees laid out in `nodes` from `roots` (the node walk's, in
    /// pre-order, leaves inline), or `None` if they would not pay: no kernel for this
    /// CPU, or tops less than [`MIN_MEAN_DEPTH`] deep on average.
    pub(crate) fn new(nodes: &[Node<T>], roots: &[Root], n_features: usize) -> Option<Self> {
        if VectorIsa::detected() < T::LEAST_ISA || roots.is_empty() {
            return None;
        }
        let limit = max_depth(T::WIDE);
        let mut depths = Vec::with_capacity(roots.len());
        for root in roots {
            depths.push(fullest_top(nodes, root.node as usize, limit)?);
        }
        if depths.iter().map(|&d| d as usize).sum::<usize>() < roots.len() * MIN_MEAN_DEPTH {
            return None;
        }
        let mut tops = Tops {
            trees: Vec::with_capacity(roots.len()),
            thresholds: Vec::new(),
            columns: Vec::new(),
            exits: Vec::new(),
            block_len: 2 * n_features * BLOCK_ROWS,
        };
        for (root, &depth) in roots.iter().zip(&depths) {
            let first_node = tops.thresholds.len();
            let first_exit = tops.exits.len();
            tops.thresholds
                .resize(first_node + (1 << depth) - 1, T::from_f64(0.0));
            tops.columns.resize(first_node + (1 << depth) - 1, 0);
            tops.exits.resize(first_exit + (1 << depth), 0);
            let root = root.node as usize;
            let exits = &mut tops.exits[first_exit..];
            fill_top(
                nodes,
                root,
                0,
                0,
                depth,
                &mut tops.thresholds[first_node..],
                &mut tops.columns[first_node..],
                &mut |i, j| {
                    // The span walk's state at node `i`: relative to the root, in 16 bits.
                    let relative = u32::try_from(i.checked_sub(root)?)
                        .ok()
                        .filter(|&r| r < 1 << 16)?;
                    *exits.get_mut(j)? = relative << 16 | nodes.get(i)?.column & 0xffff;
                    Some(())
                },
            )?;
            tops.trees.push(Top {
                first_node: u32::try_from(first_node).ok()?,
                first_exit: u32::try_from(first_exit).ok()?,
                depth,
            });
        }
        let max_column = tops.block_len.checked_sub(BLOCK_ROWS)?;
        if tops.columns.iter().any(|&c| c as usize > max_column) {
            return None;
        }
        let spare = tops.thresholds.len() + SPARE_SPLITS;
        tops.thresholds.resize(spare, T::from_f64(0.0));
        tops.columns.resize(spare, 0);
        Some(tops)
    }

    /// The depth of tree `t`'s top (0 past the last tree, or where it is too
    /// shallow to walk).
    pub(crate) fn depth(&self, t: usize) -> u32 {
        self.trees
            .get(t)
            .filter(|top| top.depth >= MIN_DEPTH)
            .map_or(0, |top| top.depth)
    }

    /// Walks the rows of `block` through tree `t`'s top with the best kernel `isa`
    /// allows and the CPU runs, and writes each row's span state at the top's last
    /// level into `states`; `false` (and nothing written) if there is no kernel.
    pub(crate) fn states(
        &self,
        isa: VectorIsa,
        t: usize,
        block: &[T],
        states: &mut [u32; BLOCK_ROWS],
    ) -> bool {
        let Some(top) = self.trees.get(t).filter(|top| top.depth >= MIN_DEPTH) else {
            return false;
        };
        if !T::top_places(isa, self, top, block, states) {
            return false;
        }
        let exits = self
            .exits
            .get(top.first_exit as usize..)
            .unwrap_or_default();
        for s in states.iter_mut() {
            *s = exits.get(*s as usize).copied().unwrap_or(0);
        }
        true
    }
}

/// The deepest top (at most `limit` levels, at most the tree's depth) of the tree at
/// `nodes[root]` whose last level's places are at least [`MIN_FILL_PERCENT`] real:
/// nodes at that level, or leaves above it (once each). `None` if a child lies out
/// of pre-order.
fn fullest_top<T>(nodes: &[Node<T>], root: usize, limit: u32) -> Option<u32> {
    // real[d]: places of a top of depth d that real nodes take.
    let mut real = [0usize; 16];
    let limit = limit.min(real.len() as u32 - 1);
    let mut deepest = 0;
    let mut stack: Vec<(usize, u32)> = alloc::vec![(root, 0)];
    while let Some((i, d)) = stack.pop() {
        let node = nodes.get(i)?;
        let leaf = node.right as usize == i;
        // This node takes a place in a top of depth d and, as a leaf, in every
        // deeper one.
        let last = if leaf { limit } else { d.min(limit) };
        for r in real.iter_mut().take(last as usize + 1).skip(d as usize) {
            *r += 1;
        }
        if leaf {
            deepest = deepest.max(d);
        } else if d < limit {
            let right = node.right as usize;
            if right <= i + 1 {
                return None;
            }
            stack.push((right, d + 1));
            stack.push((i + 1, d + 1));
        } else {
            deepest = deepest.max(d + 1);
        }
    }
    (0..=deepest.min(limit))
        .rev()
        .find(|&d| real[d as usize] * 100 >= (1usize << d) * MIN_FILL_PERCENT)
}
