//! Oblivious (symmetric) trees walked as a bit index into their leaves: the prepared
//! walk of models whose every tree tests one split per level, as CatBoost's do.
//!
//! Why a walk of their own: in an oblivious tree of depth d every node of a level
//! tests the same feature against the same threshold, so a row's leaf is the d-bit
//! number of its answers, root first, and finding it takes d comparisons with no
//! node to load and no branch to mispredict. Over a block of rows each level is one
//! pass of comparisons down a column of inputs, which the compiler turns into vector
//! compares. Consecutive trees with the same levels (a MultiClass model's one tree per
//! class) share the index, computed once.
//!
//! Nothing in the `.ewm` format marks a tree as oblivious: [`Oblivious::from_layout`]
//! recognises the shape in the decoded node trees, whichever importer wrote them, and
//! takes them only if every tree has it and the model compares in float32 (as
//! CatBoost does). The arithmetic is the node walk's: the same
//! comparison in the threshold type, the same NaN direction per split, leaves added in
//! tree order through [`add`], so the answers are bit-identical to [`Model`]'s.
//!
//! On x86-64 CPUs with AVX-512 (found at run time, see [`VectorIsa`]) a batch of
//! single-value leaves takes [`avx512`]'s kernel: the leaf index of 16 rows per
//! register, and a tree's leaves held in registers and picked by permutes instead of
//! loaded row by row. Same comparisons, same float64 additions in tree order.

use alloc::vec::Vec;

use crate::cpu::VectorIsa;
use crate::model::Model;
use crate::predict::add;
use crate::prepared::{Layout, Node, BLOCK_ROWS};

#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(not(target_arch = "x86_64"))]
mod avx512 {
    //! No AVX-512 off x86-64: [`Kernel::new`] finds none, and rows keep their places.
    use super::Oblivious;

    /// Never made off x86-64.
    pub(super) enum Kernel {}

    impl Kernel {
        pub(super) fn new() -> Option<Kernel> {
            None
        }

        pub(super) fn block_sums(&self, _: &Oblivious, _: &[f32], _: &mut [f64]) {
            match *self {}
        }
    }

    pub(super) fn position(r: usize) -> usize {
        r
    }
}

/// The deepest oblivious tree this walk takes (CatBoost allows 16): `2^depth` leaf
/// values per tree and output are stored, so deeper trees keep the node walk.
const MAX_DEPTH: usize = 16;

/// Rows whose leaf indices are built together, level by level, in registers: natively
/// eight 128-bit vectors of float32 comparisons (SSE2), so that each level's
/// threshold and inputs are found once per 32 rows. WebAssembly keeps 8 rows: the
/// unrolled lanes cost the npm engine's gzip budget.
const INDEX_LANES: usize = if cfg!(target_arch = "wasm32") { 8 } else { 32 };
const _: () = assert!(BLOCK_ROWS.is_multiple_of(INDEX_LANES));

/// Every tree of a model, each as its levels and its `2^depth` leaves.
#[derive(Clone, Debug)]
pub(crate) struct Oblivious {
    trees: Vec<ObliviousTree>,
    /// Every tree's levels, root first, one after another.
    levels: Vec<Level>,
    /// The batch columns some level reads, each once: a batch block fills only these
    /// (a CatBoost model often splits on a fraction of its features).
    columns: Vec<u32>,
    /// Every tree's leaves in index order, `leaf_width` values each.
    values: Vec<f64>,
    /// The model's leaf width: values per leaf.
    width: usize,
}

/// One level's split: the node walk's threshold and premultiplied batch column
/// (`(2 × feature + missing goes left) × BLOCK_ROWS`, see the prepared walk's `Node`).
#[derive(Clone, Copy, Debug)]
struct Level {
    threshold: f32,
    column: u32,
}

#[derive(Clone, Copy, Debug)]
struct ObliviousTree {
    /// Its first level in [`Oblivious::levels`].
    first_level: u32,
    depth: u32,
    /// Its first value in [`Oblivious::values`].
    first_value: u32,
    /// The sum its single-value leaves go to (`leaf_width == 1`).
    output: u32,
    /// Whether its levels differ from the previous tree's, so its leaf index must be
    /// computed rather than taken from that tree.
    fresh: bool,
}

impl Oblivious {
    /// The trees of `layout` (decoded from `model`) as oblivious trees, or `None` if
    /// some tree is not oblivious or is deeper than [`MAX_DEPTH`].
    pub(crate) fn from_layout(model: &Model<'_>, layout: &Layout<f32>) -> Option<Self> {
        let width = model.leaf_width;
        let source_values = &layout.values;
        let mut oblivious = Oblivious {
            trees: Vec::with_capacity(layout.roots.len()),
            levels: Vec::new(),
            columns: Vec::new(),
            values: Vec::new(),
            width,
        };
        let mut leaves: Vec<u32> = Vec::new();
        for (t, root) in layout.roots.iter().enumerate() {
            let nodes = &layout.nodes;
            let root = root.node as usize;
            let end = layout
                .roots
                .get(t + 1)
                .map_or(nodes.len(), |r| r.node as usize);
            // The levels are those of the leftmost path: left children come next.
            let first_level = oblivious.levels.len();
            let mut i = root;
            while i < end && !is_leaf(nodes, i) {
                oblivious.levels.push(Level {
                    threshold: nodes[i].threshold,
                    column: nodes[i].column,
                });
                i += 1;
            }
            let depth = oblivious.levels.len() - first_level;
            // A complete tree of that depth, and nothing else, lies in `root..end`.
            if depth > MAX_DEPTH || end - root != (2 << depth) - 1 {
                return None;
            }
            leaves.clear();
            leaves.resize(1 << depth, 0);
            let levels = &oblivious.levels[first_level..];
            if visit(layout, levels, root, 0, &mut leaves) != Some(end) {
                return None;
            }
            let first_value = u32::try_from(oblivious.values.len()).ok()?;
            for &leaf in &leaves {
                let at = leaf as usize * width;
                oblivious
                    .values
                    .extend_from_slice(source_values.get(at..at + width)?);
            }
            let fresh = oblivious
                .trees
                .last()
                .is_none_or(|prev| !same_levels(&oblivious.levels, prev, first_level, depth));
            oblivious.trees.push(ObliviousTree {
                first_level: first_level as u32,
                depth: depth as u32,
                first_value,
                output: layout.output.get(t).copied().unwrap_or(0),
                fresh,
            });
        }
        oblivious.columns = oblivious.levels.iter().map(|l| l.column).collect();
        oblivious.columns.sort_unstable();
        oblivious.columns.dedup();
        Some(oblivious)
    }

    /// Adds one row's leaves onto `acc` (the model's first `n_outputs` sums).
    pub(crate) fn row_sums(&self, m: &Model<'_>, row: &[f64], acc: &mut [f64]) {
        // The row as a one-row block: each level reads its input by its column alone,
        // NaN already turned the way its split sends it.
        let mut inputs: Vec<f32> = alloc::vec![0.0; 2 * m.n_features];
        for (f, &x) in row.iter().enumerate().take(m.n_features) {
            let x = x as f32;
            inputs[2 * f] = x;
            inputs[2 * f + 1] = if x.is_nan() { f32::NEG_INFINITY } else { x };
        }
        if m.accumulate_f32 {
            self.row_sums_in::<true>(&inputs, acc)
        } else {
            self.row_sums_in::<false>(&inputs, acc)
        }
    }

    fn row_sums_in<const F32: bool>(&self, inputs: &[f32], acc: &mut [f64]) {
        let mut index = 0;
        for tree in &self.trees {
            if tree.fresh {
                index = 0;
                for level in self.tree_levels(tree) {
                    let x = inputs
                        .get(level.column as usize / BLOCK_ROWS)
                        .copied()
                        .unwrap_or(f32::NAN);
                    index = index << 1 | goes_right(x, level.threshold) as usize;
                }
            }
            let leaf = tree.first_value as usize + index * self.width;
            if self.width == 1 {
                if let (Some(a), Some(&v)) =
                    (acc.get_mut(tree.output as usize), self.values.get(leaf))
                {
                    *a = add::<F32>(*a, v);
                }
            } else if let Some(values) = self.values.get(leaf..leaf + self.width) {
                for (a, &v) in acc.iter_mut().zip(values) {
                    *a = add::<F32>(*a, v);
                }
            }
        }
    }

    /// A batch: blocks of [`BLOCK_ROWS`] rows laid out by column; within a block, tree
    /// by tree, the leaf index of [`INDEX_LANES`] rows at a time, level by level —
    /// through the AVX-512 kernel if `isa` allows it and the CPU has it.
    pub(crate) fn batch(&self, m: &Model<'_>, rows: &[f64], out: &mut [f64], isa: VectorIsa) {
        let (nf, len) = (m.n_features, m.prediction_len());
        // The kernel adds single float64 values; float32 sums and wide leaves stay
        // portable.
        let kernel = (isa >= VectorIsa::Avx512 && self.width == 1 && !m.accumulate_f32)
            .then(avx512::Kernel::new)
            .flatten();
        let mut block: Vec<f32> = alloc::vec![0.0; BLOCK_ROWS * 2 * nf];
        // The block's sums by output, each a run of BLOCK_ROWS: a leaf is added with
        // one load and one store next to the last, not `len` values apart in `out`.
        let sums_len = if self.width == 1 {
            m.n_outputs
        } else {
            self.width
        };
        let mut sums = alloc::vec![0.0f64; sums_len * BLOCK_ROWS];
        for (rows, out) in rows
            .chunks(BLOCK_ROWS * nf)
            .zip(out.chunks_mut(BLOCK_ROWS * len))
        {
            match kernel {
                Some(_) => self.fill_columns::<true>(&mut block, rows, nf),
                None => self.fill_columns::<false>(&mut block, rows, nf),
            }
            out.chunks_exact_mut(len).for_each(|o| m.start(o));
            for (r, o) in out.chunks_exact(len).enumerate() {
                for (k, &v) in o.iter().take(sums_len).enumerate() {
                    sums[k * BLOCK_ROWS + r] = v;
                }
            }
            if let Some(kernel) = &kernel {
                kernel.block_sums(self, &block, &mut sums);
            } else if m.accumulate_f32 {
                self.block_sums::<true>(&block, &mut sums);
            } else {
                self.block_sums::<false>(&block, &mut sums);
            }
            for (r, o) in out.chunks_exact_mut(len).enumerate() {
                for (k, v) in o.iter_mut().take(sums_len).enumerate() {
                    *v = sums[k * BLOCK_ROWS + r];
                }
            }
            out.chunks_exact_mut(len).for_each(|o| m.finish(o));
        }
    }

    /// Lays out `rows` (at most [`BLOCK_ROWS`]) in `block` by batch column, as
    /// `fill_block` does but only the columns some level reads. `PAIRED`: each row at
    /// the AVX-512 kernel's place for it ([`avx512::position`]), else in order.
    fn fill_columns<const PAIRED: bool>(&self, block: &mut [f32], rows: &[f64], nf: usize) {
        // Row by row, as the rows lie in memory. Column by column took 630 fewer
        // instructions per row on CatBoost's 50 features but 8-15% longer: each column
        // pass strides through 128 rows, more than the L1 cache holds.
        for (r, row) in rows.chunks_exact(nf).enumerate() {
            let place = if PAIRED { avx512::position(r) } else { r };
            for &column in &self.columns {
                let column = column as usize;
                // Column `2f` holds feature f; `2f + 1` the same with NaN as minus
                // infinity, for splits that send a missing value left.
                let x = row
                    .get(column / BLOCK_ROWS / 2)
                    .map_or(f32::NAN, |&x| x as f32);
                let x = if column / BLOCK_ROWS % 2 == 1 && x.is_nan() {
                    f32::NEG_INFINITY
                } else {
                    x
                };
                if let Some(slot) = block.get_mut(column + place) {
                    *slot = x;
                }
            }
        }
    }

    /// Adds every tree's leaves onto `sums` (by output, [`BLOCK_ROWS`] rows each) for
    /// the rows of `block`. Rows past a short block's end add too, onto sums nobody
    /// reads.
    #[inline(never)]
    fn block_sums<const F32: bool>(&self, block: &[f32], sums: &mut [f64]) {
        // The block as runs of INDEX_LANES rows of a column: one check per level and
        // run finds a level's inputs (a column starts at a multiple of BLOCK_ROWS).
        let chunks = block.as_chunks::<INDEX_LANES>().0;
        let mut index = [0u32; BLOCK_ROWS];
        for tree in &self.trees {
            if tree.fresh {
                let levels = self.tree_levels(tree);
                for (c, index) in index.chunks_exact_mut(INDEX_LANES).enumerate() {
                    let mut lanes = [0u32; INDEX_LANES];
                    for level in levels {
                        // The block's NaN-as-minus-infinity column answers for a
                        // missing value that goes left: one comparison per row decides.
                        let Some(x) = chunks.get(level.column as usize / INDEX_LANES + c) else {
                            continue;
                        };
                        for (i, &x) in lanes.iter_mut().zip(x) {
                            *i = *i << 1 | goes_right(x, level.threshold) as u32;
                        }
                    }
                    index.copy_from_slice(&lanes);
                }
            }
            let leaves = 1usize << tree.depth;
            let Some(values) = self
                .values
                .get(tree.first_value as usize..)
                .and_then(|v| v.get(..self.width * leaves))
            else {
                continue;
            };
            if self.width == 1 {
                let at = tree.output as usize * BLOCK_ROWS;
                let Some(Ok(sums)) = sums
                    .get_mut(at..at + BLOCK_ROWS)
                    .map(<&mut [f64; BLOCK_ROWS]>::try_from)
                else {
                    continue;
                };
                let Some(values) = values.get(..leaves).filter(|v| !v.is_empty()) else {
                    continue;
                };
                let mask = values.len() - 1;
                for (s, &i) in sums.iter_mut().zip(&index) {
                    // `leaves` is a power of two: the mask keeps the index in bounds
                    // without a check (it already is, by construction).
                    *s = add::<F32>(*s, values[i as usize & mask]);
                }
            } else {
                for (r, &i) in index.iter().enumerate() {
                    let leaf = &values[(i as usize & (leaves - 1)) * self.width..][..self.width];
                    for (k, &v) in leaf.iter().enumerate() {
                        let s = &mut sums[k * BLOCK_ROWS + r];
                        *s = add::<F32>(*s, v);
                    }
                }
            }
        }
    }

    fn tree_levels(&self, tree: &ObliviousTree) -> &[Level] {
        let first = tree.first_level as usize;
        self.levels
            .get(first..first + tree.depth as usize)
            .unwrap_or_default()
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

/// Whether the tree `prev` has the `depth` levels at `levels[first..]`.
fn same_levels(levels: &[Level], prev: &ObliviousTree, first: usize, depth: usize) -> bool {
    let p = prev.first_level as usize;
    prev.depth as usize == depth
        && levels[p..p + depth]
            .iter()
            .zip(&levels[first..first + depth])
            .all(|(a, b)| a.column == b.column && a.threshold.to_bits() == b.threshold.to_bits())
}

/// Checks the subtree at `i`, at `levels.len()` levels above its leaves, against those
/// levels, and records each leaf's source index in `leaves` under its bit index
/// (`index`, the answers so far, a right turn a one bit). Returns the node after the
/// subtree in pre-order, or `None` if the subtree is not oblivious with these levels.
fn visit(
    layout: &Layout<f32>,
    levels: &[Level],
    i: usize,
    index: usize,
    leaves: &mut [u32],
) -> Option<usize> {
    let node = layout.nodes.get(i)?;
    let Some((level, below)) = levels.split_first() else {
        if !is_leaf(&layout.nodes, i) {
            return None;
        }
        *leaves.get_mut(index)? = *layout.leaf.get(i)?;
        return Some(i + 1);
    };
    let same = node.column == level.column && node.threshold.to_bits() == level.threshold.to_bits();
    if !same || is_leaf(&layout.nodes, i) {
        return None;
    }
    let after_left = visit(layout, below, i + 1, index << 1, leaves)?;
    if node.right as usize != after_left {
        return None;
    }
    visit(layout, below, after_left, index << 1 | 1, leaves)
}
