//! The deep walk: forests far bigger than the CPU's caches (scikit-learn forests of
//! unlimited depth: millions of nodes, tens or hundreds of MB), walked one tree at a
//! time over a big block of rows.
//!
//! Why a walk of its own: the node walk walks every tree over a block of 128 rows in
//! L1, or, for a model bigger than the cache, each group of trees over the blocks of a
//! pass of 8,192 rows. Either way a tree's nodes come back from memory for every block
//! or pass, and most of a deep tree's nodes are reached by a row or two of each, so a
//! step often waits on memory; its lanes also walk in lock-step, every lane waiting
//! for the longest path of the group (depth 50 where most paths end near 17). Here one
//! tree — a few hundred KB, kept in L2 — is walked by every row of a block of up to
//! [`BLOCK`] rows before the next tree, as scikit-learn walks one tree over the whole
//! batch; a lane on a leaf adds it and takes the next row, so lanes never idle; and a
//! tree is read from memory once per block.
//!
//! The nodes are small, so that a tree stays in L2: 8 bytes for float32 thresholds (16
//! for float64), the threshold and one word holding the right child (the left is the
//! next node, in pre-order) and the input's column. A leaf's threshold is a NaN whose
//! payload is the index of its values, stored once per distinct vector: a forest of
//! pure leaves (one class each) has a handful. For the 150-tree benchmark forest (5.6
//! million nodes, 149 MB `.ewm`) that is 45 MB, where the node walk would take 270 MB.
//! Inputs are laid out by row, one value per feature (two, with NaN as NaN and as
//! -inf, when some input is missing: see [`Inputs`]).
//!
//! Exactness: the comparison is the node walk's (`x <= threshold` in the threshold
//! type; NaN by each split's direction, through the same two columns), and each row
//! adds its leaves in tree order through [`add`] in the model's precision (trees are
//! walked in order, each once per row), so the answers are bit-identical to
//! [`Model`]'s.

use alloc::vec;
use alloc::vec::Vec;

use crate::error::FormatError;
use crate::model::Model;
use crate::predict::add;
use crate::prepared::{lay_out_one, Layout, Threshold, BLOCK_ROWS};

/// The most rows walked by each tree before the next: the model is read from memory
/// once per block, while the block's inputs (4 bytes a feature in float32) and sums
/// stream through the cache in order. On the benchmark forest, 100,000 rows took
/// 0.57 s in blocks of 16,384 rows, 0.48 s of 32,768, 0.44 s of 65,536, 0.46 s in one.
const BLOCK: usize = 1 << 16;

/// Rows (or, for one row, trees) walking at once: independent chains of loads that
/// the CPU overlaps (8, 10 and 12 measured alike on the benchmark forest).
const LANES: usize = 8;

/// One node. A leaf is a node whose threshold is a NaN (no split's is: see
/// `decode_split`) carrying the index of its values in [`Deep::values`], and whose
/// right child is itself: no input is `<=` NaN, so a walk that reaches it stays.
#[derive(Clone, Copy, Debug)]
#[repr(C)]
struct DeepNode<T> {
    threshold: T,
    /// `right << shift | column`: the right child counted from the tree's root (the
    /// left child is the next node), and the split's input: `2f + 1` for feature `f`
    /// when a missing input goes left, else `2f` (see [`Inputs`]; 0 at a leaf).
    word: u32,
}

/// A threshold type whose NaNs carry a leaf's value index.
pub(crate) trait Boxed: Threshold {
    /// The greatest index a NaN carries.
    const MAX_BOXED: u32;
    /// A NaN carrying `v`.
    fn boxed(v: u32) -> Self;
    /// The index a NaN made by [`Boxed::boxed`] carries.
    fn unboxed(self) -> u32;
}

impl Boxed for f32 {
    const MAX_BOXED: u32 = (1 << 22) - 1;
    #[inline(always)]
    fn boxed(v: u32) -> Self {
        f32::from_bits(0x7fc0_0000 | v)
    }
    #[inline(always)]
    fn unboxed(self) -> u32 {
        self.to_bits() & Self::MAX_BOXED
    }
}

impl Boxed for f64 {
    const MAX_BOXED: u32 = u32::MAX;
    #[inline(always)]
    fn boxed(v: u32) -> Self {
        f64::from_bits(0x7ff8_0000_0000_0000 | v as u64)
    }
    #[inline(always)]
    fn unboxed(self) -> u32 {
        self.to_bits() as u32
    }
}

/// A model's trees for the deep walk.
#[derive(Clone, Debug)]
pub(crate) struct Deep<T> {
    nodes: Vec<DeepNode<T>>,
    /// Where each tree starts in `nodes`, then where the last ends.
    start: Vec<u32>,
    /// Per tree: the sum its single-value leaves go to (`width == 1`).
    output: Vec<u32>,
    /// The distinct leaf value vectors, `width` values each.
    values: Vec<f64>,
    width: usize,
    /// Bits of a node's word below its right child, enough for every column: 8 or 16
    /// (see [`Deep::tree_over_block`]).
    shift: u32,
}

impl<T: Boxed> Deep<T> {
    /// The trees of `model` for the deep walk; `Ok(None)` if some node needs the
    /// model's own walk (a rule) or a tree has too many nodes for a split's word.
    pub(crate) fn new(model: &Model<'_>) -> Result<Option<Self>, FormatError> {
        let nf = model.n_features.max(1);
        let columns = 2 * nf;
        let shift = match columns {
            ..=256 => 8,
            257..=65536 => 16,
            _ => return Ok(None),
        };
        let max_right = u32::MAX >> shift;
        let width = model.leaf_width;
        let mut nodes = Vec::with_capacity(model.n_nodes.saturating_add(model.n_leaves));
        let mut start = Vec::with_capacity(model.n_trees + 1);
        let mut output = Vec::with_capacity(model.n_trees);
        let mut values = ValueTable::new(width);
        // One tree at a time: the layout of the whole model would take several times
        // the memory this walk keeps.
        let mut layout = Layout::<T> {
            nodes: Vec::new(),
            leaf: Vec::new(),
            roots: Vec::new(),
            output: Vec::new(),
            values: Vec::new(),
        };
        let mut stack = Vec::new();
        for t in 0..model.n_trees {
            layout.nodes.clear();
            layout.leaf.clear();
            layout.roots.clear();
            layout.output.clear();
            if lay_out_one(model, t, &mut layout, &mut stack)?.is_none() {
                return Ok(None);
            }
            let Ok(first) = u32::try_from(nodes.len()) else {
                return Ok(None);
            };
            start.push(first);
            output.push(layout.output.first().copied().unwrap_or(0));
            for (i, (node, &leaf)) in layout.nodes.iter().zip(&layout.leaf).enumerate() {
                let right = node.right;
                if right > max_right {
                    return Ok(None);
                }
                nodes.push(if right as usize == i {
                    let at = leaf as usize * width * 8;
                    let Some(bytes) = model.leaves.get(at..at + width * 8) else {
                        return Ok(None);
                    };
                    let value = values.intern(bytes);
                    if value > T::MAX_BOXED {
                        return Ok(None);
                    }
                    DeepNode {
                        threshold: T::boxed(value),
                        word: right << shift,
                    }
                } else {
                    // `column` is `(2 × feature + missing_left) × BLOCK_ROWS`.
                    DeepNode {
                        threshold: node.threshold,
                        word: (right << shift) | (node.column / BLOCK_ROWS as u32),
                    }
                });
            }
        }
        let Ok(end) = u32::try_from(nodes.len()) else {
            return Ok(None);
        };
        start.push(end);
        Ok(Some(Deep {
            nodes,
            start,
            output,
            values: values.values,
            width,
            shift,
        }))
    }

    /// Tree `t`'s nodes.
    #[inline(always)]
    fn tree(&self, t: usize) -> &[DeepNode<T>] {
        let (a, b) = (self.start[t] as usize, self.start[t + 1] as usize);
        &self.nodes[a..b]
    }

    /// Adds the values of leaf value index `v` of tree `t` onto `acc`.
    #[inline(always)]
    fn add_leaf<const F32: bool>(&self, t: usize, v: u32, acc: &mut [f64]) {
        let at = v as usize * self.width;
        if self.width == 1 {
            let a = &mut acc[self.output[t] as usize];
            *a = add::<F32>(*a, self.values[at]);
        } else {
            for (a, &v) in acc.iter_mut().zip(&self.values[at..at + self.width]) {
                *a = add::<F32>(*a, v);
            }
        }
    }

    /// One row: the trees of each window of [`ROW_WINDOW`] walked [`LANES`] at a
    /// time, each lane taking the next tree when it reaches a leaf; leaves added in
    /// tree order once the window is done.
    pub(crate) fn row_sums(&self, m: &Model<'_>, row: &[f64], acc: &mut [f64]) {
        let inputs = Inputs::new(row, m.n_features.max(1), 1, 0, true);
        if m.accumulate_f32 {
            self.row_sums_in::<true>(&inputs.values, acc);
        } else {
            self.row_sums_in::<false>(&inputs.values, acc);
        }
    }

    fn row_sums_in<const F32: bool>(&self, row: &[T], acc: &mut [f64]) {
        let (shift, mask) = (self.shift, (1 << self.shift) - 1);
        let n_trees = self.start.len() - 1;
        for first in (0..n_trees).step_by(ROW_WINDOW) {
            let trees = first..(first + ROW_WINDOW).min(n_trees);
            let mut leaves = [0u32; ROW_WINDOW];
            let mut next = trees.start;
            // Per lane: its tree (n_trees once there is none left) and node.
            let mut tree = [n_trees; LANES];
            let mut at = [0usize; LANES];
            for t in tree.iter_mut() {
                if next < trees.end {
                    *t = next;
                    next += 1;
                }
            }
            let mut walking = tree.iter().filter(|&&t| t < n_trees).count();
            while walking > 0 {
                for l in 0..LANES {
                    if tree[l] == n_trees {
                        continue;
                    }
                    let nodes = self.tree(tree[l]);
                    let node = nodes[at[l]];
                    if node.threshold.is_nan() {
                        leaves[tree[l] - first] = node.threshold.unboxed();
                        at[l] = 0;
                        if next < trees.end {
                            tree[l] = next;
                            next += 1;
                        } else {
                            tree[l] = n_trees;
                            walking -= 1;
                        }
                    } else {
                        let x = row[(node.word & mask) as usize];
                        at[l] = core::hint::select_unpredictable(
                            x <= node.threshold,
                            at[l] + 1,
                            (node.word >> shift) as usize,
                        );
                    }
                }
            }
            for (t, &v) in trees.clone().zip(&leaves) {
                self.add_leaf::<F32>(t, v, acc);
            }
        }
    }

    /// A batch: blocks of at most [`BLOCK`] rows; within a block, tree by tree, every
    /// row.
    pub(crate) fn batch(&self, m: &Model<'_>, rows: &[f64], out: &mut [f64]) {
        let (nf, len) = (m.n_features.max(1), m.prediction_len());
        let n_trees = self.start.len() - 1;
        // Blocks of about equal size.
        let n = rows.len() / nf;
        let block = n.div_ceil(n.div_ceil(BLOCK).max(1)).max(1);
        let view = 1 << self.shift;
        for (rows, out) in rows.chunks(block * nf).zip(out.chunks_mut(block * len)) {
            let inputs = Inputs::new(rows, nf, rows.len() / nf, view, false);
            out.chunks_exact_mut(len).for_each(|o| m.start(o));
            for t in 0..n_trees {
                let i = &inputs;
                match (m.accumulate_f32, self.shift, i.doubled) {
                    (true, 8, false) => self.tree_over_block::<true, 256, false>(t, i, len, out),
                    (false, 8, false) => self.tree_over_block::<false, 256, false>(t, i, len, out),
                    (true, _, false) => self.tree_over_block::<true, 65536, false>(t, i, len, out),
                    (false, _, false) => {
                        self.tree_over_block::<false, 65536, false>(t, i, len, out)
                    }
                    (true, 8, true) => self.tree_over_block::<true, 256, true>(t, i, len, out),
                    (false, 8, true) => self.tree_over_block::<false, 256, true>(t, i, len, out),
                    (true, _, true) => self.tree_over_block::<true, 65536, true>(t, i, len, out),
                    (false, _, true) => self.tree_over_block::<false, 65536, true>(t, i, len, out),
                }
            }
            out.chunks_exact_mut(len).for_each(|o| m.finish(o));
        }
    }

    /// Tree `t` over every row of `inputs`, adding each row's leaf onto its sums in
    /// `out` (rows of `len`). Lanes step [`CHECK_EVERY`] times with no branch (a lane
    /// on a leaf stays put), then each lane on a leaf adds it and takes the next row.
    /// A lane reads its row's inputs through a view of `V` values, as many as a
    /// split's column reaches (`V = 1 << shift`): no bounds check per step.
    #[inline(never)]
    fn tree_over_block<const F32: bool, const V: usize, const DOUBLED: bool>(
        &self,
        t: usize,
        inputs: &Inputs<T>,
        len: usize,
        out: &mut [f64],
    ) {
        let nodes = self.tree(t);
        let shift = V.trailing_zeros();
        let (n, stride, block) = (inputs.rows, inputs.stride, &inputs.values[..]);
        let view = |r: usize| block.get(r * stride..).and_then(|v| v.first_chunk::<V>());
        let Some(spare) = view(n) else {
            return;
        };
        // Per lane: its row (`n`, the spare, once there is none left), a view of that
        // row's inputs, and its node.
        let mut row = [n; LANES];
        let mut next = 0;
        for r in row.iter_mut() {
            if next < n {
                *r = next;
                next += 1;
            }
        }
        let mut inputs = row.map(|r| view(r).unwrap_or(spare));
        let mut at = [0u32; LANES];
        let mut remaining = n;
        while remaining > 0 {
            for _ in 0..CHECK_EVERY {
                for l in 0..LANES {
                    let node = nodes[at[l] as usize];
                    let column = node.word as usize & (V - 1);
                    let x = inputs[l][if DOUBLED { column } else { column / 2 }];
                    at[l] = core::hint::select_unpredictable(
                        x <= node.threshold,
                        at[l] + 1,
                        node.word >> shift,
                    );
                }
            }
            for l in 0..LANES {
                let node = nodes[at[l] as usize];
                if node.threshold.is_nan() {
                    if row[l] < n {
                        let o = row[l] * len;
                        self.add_leaf::<F32>(t, node.threshold.unboxed(), &mut out[o..o + len]);
                        remaining -= 1;
                    }
                    row[l] = next.min(n);
                    next += 1;
                    inputs[l] = view(row[l]).unwrap_or(spare);
                    at[l] = 0;
                }
            }
        }
    }
}

/// Steps between checks for lanes on leaves in [`Deep::tree_over_block`].
const CHECK_EVERY: usize = 2;

/// Trees per window of the single-row walk (see [`Deep::row_sums`]).
const ROW_WINDOW: usize = 64;

/// Rows of inputs in the threshold type. A split's column is `2f + 1` for feature `f`
/// when a missing input goes left, else `2f`. With no NaN among the rows, a row is its
/// `nf` values, and column `c` reads value `c / 2`. Otherwise (`doubled`) a row is two
/// values per feature, read at the column itself: `2f` holds feature `f` with NaN as
/// NaN, which no `<=` lets left, `2f + 1` holds it with NaN as -inf, which every
/// threshold lets left (the node walk's two columns, by row). Then one spare row that
/// lanes with no row left walk, and room for a view of `view` values from its start.
struct Inputs<T> {
    values: Vec<T>,
    rows: usize,
    stride: usize,
    doubled: bool,
}

impl<T: Threshold> Inputs<T> {
    fn new(rows: &[f64], nf: usize, n: usize, view: usize, doubled: bool) -> Self {
        let rows = &rows[..n * nf];
        let doubled = doubled || rows.iter().any(|x| x.is_nan());
        let stride = if doubled { 2 * nf } else { nf };
        let mut values = Vec::with_capacity(n * stride + view.max(stride));
        if doubled {
            values.extend(rows.iter().flat_map(|&x| {
                let x = T::from_f64(x);
                [x, if x.is_nan() { T::NEG_INFINITY } else { x }]
            }));
        } else {
            values.extend(rows.iter().map(|&x| T::from_f64(x)));
        }
        values.resize(n * stride + view.max(stride), T::from_f64(0.0));
        Inputs {
            values,
            rows: n,
            stride,
            doubled,
        }
    }
}

/// Distinct leaf value vectors, found by their bits in an open-addressing table.
struct ValueTable {
    values: Vec<f64>,
    /// Indices of vectors in `values` (`u32::MAX`: empty), a power of two of them.
    slots: Vec<u32>,
    width: usize,
    count: usize,
}

impl ValueTable {
    fn new(width: usize) -> Self {
        ValueTable {
            values: Vec::new(),
            slots: vec![u32::MAX; 64],
            width,
            count: 0,
        }
    }

    /// The index of the vector of `width` little-endian float64 values in `bytes`,
    /// added if it is new.
    fn intern(&mut self, bytes: &[u8]) -> u32 {
        let bits =
            |i: usize| u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
        let hash = (0..self.width).fold(0u64, |h, i| {
            (h ^ bits(i))
                .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                .rotate_left(29)
        });
        let mask = self.slots.len() - 1;
        let mut s = hash as usize & mask;
        loop {
            let v = self.slots[s];
            if v == u32::MAX {
                break;
            }
            let at = v as usize * self.width;
            if (0..self.width).all(|i| self.values[at + i].to_bits() == bits(i)) {
                return v;
            }
            s = (s + 1) & mask;
        }
        let v = self.count as u32;
        self.values
            .extend((0..self.width).map(|i| f64::from_bits(bits(i))));
        self.slots[s] = v;
        self.count += 1;
        if 2 * self.count > self.slots.len() {
            self.grow();
        }
        v
    }

    /// Doubles the slots and places every vector again.
    fn grow(&mut self) {
        let mut slots = vec![u32::MAX; 2 * self.slots.len()];
        let mask = slots.len() - 1;
        for v in 0..self.count {
            let at = v * self.width;
            let hash = self.values[at..at + self.width].iter().fold(0u64, |h, x| {
                (h ^ x.to_bits())
                    .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                    .rotate_left(29)
            });
            let mut s = hash as usize & mask;
            while slots[s] != u32::MAX {
                s = (s + 1) & mask;
            }
            slots[s] = v as u32;
        }
        self.slots = slots;
    }
}
