//! Interval masks: a bit-vector walk (QuickScorer's) for forests of small trees on
//! few features, with each feature's masks combined ahead of time per interval.
//!
//! QuickScorer numbers a tree's leaves left to right and gives every split a mask:
//! all ones but its left subtree's leaves. A row's leaf is the lowest set bit of the
//! AND of the masks of the splits it goes right at ("false nodes"), whatever order
//! they are ANDed in. QuickScorer finds the false nodes feature by feature, by
//! walking each feature's thresholds in sorted order up to the row's value.
//!
//! Here that walk is done once, when the model is prepared: for each feature, the
//! thresholds of all trees sorted and deduplicated cut the line into intervals, and
//! for each interval (and for NaN) a row of one mask per tree holds the AND of the
//! masks of every split on that feature the interval's values go right at. A row's
//! prediction is then, per feature, one binary search for its interval, and, per
//! tree, an AND of one mask per feature and a count of trailing zeros: no node loads
//! and no data-dependent branches. This is what makes it the fastest walk for models
//! like the Iris forest (100 trees of at most a few dozen leaves, 4 features, a few
//! dozen distinct thresholds per feature: 128 KB of masks).
//!
//! It is taken only where it is small and fast (see [`Intervals::from_layout`]): at
//! most 64 leaves per tree (one `u64` mask), at most [`MAX_FEATURES`] features with
//! splits, and at most [`MAX_TABLE_BYTES`] of masks.
//!
//! Exactness: a split sends a row right when not `x <= threshold` in the model's
//! threshold type (NaN: by the split's missing direction), which is the node walk's
//! test, and leaves are added in tree order through [`add`]: bit-identical to
//! [`Model`]'s answers.

use alloc::vec::Vec;

use crate::model::Model;
use crate::predict::add;
use crate::prepared::{Layout, Node, Threshold, BLOCK_ROWS};

/// Features with splits this walk takes at most: one mask per feature is ANDed per
/// tree, so its cost grows with them while the node walk's does not.
pub(crate) const MAX_FEATURES: usize = 16;

/// Sums a row's leaves go to that stay in registers: a model's outputs, or a leaf's
/// values (wider models add in place, tree by tree).
const SUMS: usize = 4;
type Sums = [f64; SUMS];

/// Rows whose leaves a batch adds side by side.
const GROUP: usize = 4;

/// The most mask bytes this walk keeps (about what stays in a core's L2 cache).
const MAX_TABLE_BYTES: usize = 1 << 20;

/// A model's forest as interval masks.
#[derive(Clone, Debug)]
pub(crate) struct Intervals<T> {
    /// The features that have splits, each with its sorted distinct thresholds.
    features: Vec<FeatureIntervals<T>>,
    /// Per feature in `features`, its rows of masks one after another: for interval
    /// `p` (values above `p` of the thresholds, not above the next) and then for NaN,
    /// one mask per tree, each row padded with all-ones masks to [`Intervals::stride`] trees so
    /// that rows are ANDed eight masks at a time.
    masks: Vec<u64>,
    /// Masks per row: the trees, rounded up to a multiple of 8.
    stride: usize,
    /// Per tree: its first value in `values`; then, up to [`Intervals::stride`], padding trees
    /// whose first value lies past the end, so they add nothing.
    first_value: Vec<u32>,
    /// Per tree: the sum its single-value leaves go to (`width == 1`).
    output: Vec<u32>,
    /// Every tree's leaves, left to right, `width` values each.
    values: Vec<f64>,
    width: usize,
}

#[derive(Clone, Debug)]
struct FeatureIntervals<T> {
    feature: u32,
    thresholds: Vec<T>,
    /// Its first mask row: its masks start at `first_row × stride` in `masks`.
    first_row: u32,
}

/// One split as this walk sees it: which feature, which way NaN goes, which tree,
/// and the leaves it rules out when a row goes right.
struct Split<T> {
    feature: u32,
    threshold: T,
    missing_left: bool,
    tree: u32,
    mask: u64,
}

impl<T: Threshold> Intervals<T> {
    /// The trees of `layout` (decoded from `model`) as interval masks, or `None` if
    /// some tree has more than 64 leaves or is not laid out as one tree in pre-order,
    /// some threshold is NaN, or the masks would take more than the limits allow.
    pub(crate) fn from_layout(model: &Model<'_>, layout: &Layout<T>) -> Option<Self> {
        let width = model.leaf_width;
        let n_trees = layout.roots.len();
        // Every feature takes at least two rows of masks (below all its thresholds,
        // NaN): past that, refuse before allocating anything.
        if n_trees.next_multiple_of(8) * 2 * 8 > MAX_TABLE_BYTES {
            return None;
        }
        let source_values = &layout.values;
        let mut splits: Vec<Split<T>> = Vec::new();
        let mut leaves: Vec<u32> = Vec::new();
        let mut first_value = Vec::with_capacity(n_trees);
        let mut values = Vec::new();
        for (t, root) in layout.roots.iter().enumerate() {
            let root = root.node as usize;
            let end = layout
                .roots
                .get(t + 1)
                .map_or(layout.nodes.len(), |r| r.node as usize);
            leaves.clear();
            let mut tree = TreeSplits {
                layout,
                tree: u32::try_from(t).ok()?,
                splits: &mut splits,
                leaves: &mut leaves,
            };
            if tree.visit(root, 0)? != end {
                return None;
            }
            first_value.push(u32::try_from(values.len()).ok()?);
            for &leaf in &leaves {
                let at = leaf as usize * width;
                values.extend_from_slice(source_values.get(at..at + width)?);
            }
        }
        splits.sort_unstable_by(|a, b| {
            a.feature.cmp(&b.feature).then(
                a.threshold
                    .partial_cmp(&b.threshold)
                    .unwrap_or(core::cmp::Ordering::Equal),
            )
        });
        let stride = n_trees.next_multiple_of(8);
        let past_end = u32::try_from(values.len() + 1).ok()?;
        first_value.resize(stride, past_end);
        let mut intervals = Intervals {
            features: Vec::new(),
            masks: Vec::new(),
            stride,
            first_value,
            output: layout.output.clone(),
            values,
            width,
        };
        for on_feature in splits.chunk_by(|a, b| a.feature == b.feature) {
            if intervals.features.len() == MAX_FEATURES {
                return None;
            }
            intervals.add_feature(on_feature)?;
        }
        Some(intervals)
    }

    /// Adds the thresholds and mask rows of one feature's `splits` (sorted by
    /// threshold); `None` past [`MAX_TABLE_BYTES`].
    fn add_feature(&mut self, splits: &[Split<T>]) -> Option<()> {
        let first_row = u32::try_from(self.masks.len() / self.stride.max(1)).ok()?;
        let mut thresholds: Vec<T> = Vec::new();
        let mut row = alloc::vec![!0u64; self.stride];
        // Interval 0 lies at or below every threshold: no split sends it right.
        self.masks.extend_from_slice(&row);
        for same in splits.chunk_by(|a, b| a.threshold == b.threshold) {
            // Values above this threshold go right at each of its splits.
            for split in same {
                row[split.tree as usize] &= split.mask;
            }
            thresholds.push(same[0].threshold);
            self.masks.extend_from_slice(&row);
            if self.masks.len() * 8 > MAX_TABLE_BYTES {
                return None;
            }
        }
        // NaN goes right at the splits that do not send it left.
        row.iter_mut().for_each(|m| *m = !0);
        for split in splits.iter().filter(|s| !s.missing_left) {
            row[split.tree as usize] &= split.mask;
        }
        self.masks.extend_from_slice(&row);
        self.features.push(FeatureIntervals {
            feature: splits[0].feature,
            thresholds,
            first_row,
        });
        (self.masks.len() * 8 <= MAX_TABLE_BYTES).then_some(())
    }

    /// Adds one row's leaves onto `acc` (the model's first `n_outputs` sums).
    pub(crate) fn row_sums(&self, m: &Model<'_>, row: &[f64], acc: &mut [f64]) {
        if self.width > SUMS || acc.len() > SUMS {
            return self.wide_sums(m, row, acc);
        }
        let mut sums = [[0.0; SUMS]; 1];
        sums[0][..acc.len()].copy_from_slice(acc);
        self.group_sums(m, [row], &mut sums);
        acc.copy_from_slice(&sums[0][..acc.len()]);
    }

    /// A batch, [`GROUP`] rows at a time: their leaves are found and added side by
    /// side, so that while one row's chain of additions waits, the others' run.
    pub(crate) fn batch(&self, m: &Model<'_>, rows: &[f64], out: &mut [f64]) {
        let (nf, len, n_out) = (m.n_features, m.prediction_len(), m.n_outputs);
        let grouped = self.width <= SUMS && n_out <= SUMS;
        let whole = if grouped {
            rows.len() / nf / GROUP * GROUP
        } else {
            0
        };
        let (group_rows, rest_rows) = rows.split_at(whole * nf);
        let (group_out, rest_out) = out.split_at_mut(whole * len);
        for (rows, out) in group_rows
            .chunks_exact(GROUP * nf)
            .zip(group_out.chunks_exact_mut(GROUP * len))
        {
            let mut sums = [[0.0; SUMS]; GROUP];
            for (s, o) in sums.iter_mut().zip(out.chunks_exact_mut(len)) {
                m.start(o);
                s[..n_out].copy_from_slice(&o[..n_out]);
            }
            let rows: [&[f64]; GROUP] = core::array::from_fn(|r| &rows[r * nf..][..nf]);
            self.group_sums(m, rows, &mut sums);
            for (s, o) in sums.iter().zip(out.chunks_exact_mut(len)) {
                o[..n_out].copy_from_slice(&s[..n_out]);
                m.finish(o);
            }
        }
        for (row, out) in rest_rows
            .chunks_exact(nf)
            .zip(rest_out.chunks_exact_mut(len))
        {
            m.start(out);
            self.row_sums(m, row, &mut out[..n_out]);
            m.finish(out);
        }
    }

    /// Adds the leaves of `R` rows onto their `sums` (leaves of at most [`SUMS`]
    /// values, at most that many outputs), through a copy per precision and width.
    fn group_sums<const R: usize>(&self, m: &Model<'_>, rows: [&[f64]; R], sums: &mut [Sums; R]) {
        match (m.accumulate_f32, self.width) {
            (false, 1) => self.sums::<false, 1, R>(rows, sums),
            (false, 2) => self.sums::<false, 2, R>(rows, sums),
            (false, 3) => self.sums::<false, 3, R>(rows, sums),
            (false, _) => self.sums::<false, 4, R>(rows, sums),
            (true, 1) => self.sums::<true, 1, R>(rows, sums),
            (true, 2) => self.sums::<true, 2, R>(rows, sums),
            (true, 3) => self.sums::<true, 3, R>(rows, sums),
            (true, _) => self.sums::<true, 4, R>(rows, sums),
        }
    }

    /// The walk itself, for `R` rows and leaves of `W` values (`W == 1`: one value
    /// that goes to its tree's output). The sums are copied into locals so they stay
    /// in registers: added in place through a slice, each addition was a load and a
    /// store (the Iris forest's rows took 2.5 times as long).
    #[inline(never)]
    fn sums<const F32: bool, const W: usize, const R: usize>(
        &self,
        rows: [&[f64]; R],
        sums: &mut [Sums; R],
    ) {
        // Filled in place: built and returned per row, the arrays were copied whole.
        let mut masks: [[&[u64]; MAX_FEATURES]; R] = [[&[]; MAX_FEATURES]; R];
        for (masks, row) in masks.iter_mut().zip(rows) {
            self.mask_rows(row, masks);
        }
        let n_features = self.features.len();
        let mut local = *sums;
        for (c, first_values) in self.first_value.as_chunks::<8>().0.iter().enumerate() {
            // Eight trees' masks ANDed across the features, per row, in registers.
            let mut bits = [[!0u64; 8]; R];
            for (bits, masks) in bits.iter_mut().zip(&masks) {
                for masks in masks.iter().take(n_features) {
                    if let Some(masks) = masks.as_chunks::<8>().0.get(c) {
                        for (b, m) in bits.iter_mut().zip(masks) {
                            *b &= m;
                        }
                    }
                }
            }
            for (k, &first) in first_values.iter().enumerate() {
                let output = if W == 1 {
                    self.output.get(8 * c + k).copied().unwrap_or(0) as usize
                } else {
                    0
                };
                for (bits, sums) in bits.iter().zip(local.iter_mut()) {
                    // The exit leaf's bit is always set; the top bit only makes the
                    // count one instruction (no case for zero).
                    let leaf = (bits[k] | 1 << 63).trailing_zeros() as usize;
                    let at = first as usize + leaf * W;
                    if W == 1 {
                        if let (Some(s), Some(&v)) = (sums.get_mut(output), self.values.get(at)) {
                            *s = add::<F32>(*s, v);
                        }
                    } else if let Some(values) = self.values.get(at..at + W) {
                        for (s, &v) in sums.iter_mut().zip(values) {
                            *s = add::<F32>(*s, v);
                        }
                    }
                }
            }
        }
        *sums = local;
    }

    /// Sets `rows` to each feature's mask row for `row`'s interval (one binary search
    /// per feature).
    fn mask_rows<'s>(&'s self, row: &[f64], rows: &mut [&'s [u64]; MAX_FEATURES]) {
        for (rows, f) in rows.iter_mut().zip(&self.features) {
            let x = T::from_f64(row.get(f.feature as usize).copied().unwrap_or(f64::NAN));
            let interval = if x.is_nan() {
                f.thresholds.len() + 1
            } else {
                f.thresholds.partition_point(|&t| t < x)
            };
            let at = (f.first_row as usize + interval) * self.stride;
            *rows = self.masks.get(at..at + self.stride).unwrap_or_default();
        }
    }

    /// [`Intervals::row_sums`] for leaves or outputs past [`SUMS`]: the same walk,
    /// tree by tree, adding in place.
    fn wide_sums(&self, m: &Model<'_>, row: &[f64], acc: &mut [f64]) {
        let mut masks: [&[u64]; MAX_FEATURES] = [&[]; MAX_FEATURES];
        self.mask_rows(row, &mut masks);
        let masks = &masks[..self.features.len()];
        for (t, (&first, &output)) in self.first_value.iter().zip(&self.output).enumerate() {
            let bits = masks
                .iter()
                .fold(!0u64, |b, m| b & m.get(t).copied().unwrap_or(!0));
            let at = first as usize + (bits | 1 << 63).trailing_zeros() as usize * self.width;
            let add = |a: f64, v: f64| {
                if m.accumulate_f32 {
                    add::<true>(a, v)
                } else {
                    add::<false>(a, v)
                }
            };
            if self.width == 1 {
                if let (Some(a), Some(&v)) = (acc.get_mut(output as usize), self.values.get(at)) {
                    *a = add(*a, v);
                }
            } else if let Some(values) = self.values.get(at..at + self.width) {
                for (a, &v) in acc.iter_mut().zip(values) {
                    *a = add(*a, v);
                }
            }
        }
    }
}

/// One tree's walk of [`Intervals::from_layout`]: numbers its leaves left to right
/// and records each split's mask.
struct TreeSplits<'a, T> {
    layout: &'a Layout<T>,
    tree: u32,
    splits: &'a mut Vec<Split<T>>,
    /// The tree's leaves so far, left to right, as absolute leaf indices.
    leaves: &'a mut Vec<u32>,
}

impl<T: Threshold> TreeSplits<'_, T> {
    /// Visits the subtree at node `i` (`depth` below the root); the node after it in
    /// pre-order, or `None` if it has a leaf past the 64th, a NaN threshold, or is
    /// not laid out as one tree.
    fn visit(&mut self, i: usize, depth: usize) -> Option<usize> {
        let node: &Node<T> = self.layout.nodes.get(i)?;
        // A tree of at most 64 leaves whose splits all have two children is at most
        // 63 deep: deeper is not taken (and not recursed into).
        if depth > 63 {
            return None;
        }
        if node.right as usize == i {
            if self.leaves.len() == 64 {
                return None;
            }
            self.leaves.push(*self.layout.leaf.get(i)?);
            return Some(i + 1);
        }
        if node.threshold.is_nan() || node.right as usize <= i {
            return None;
        }
        let first_left = self.leaves.len();
        let after_left = self.visit(i + 1, depth + 1)?;
        if after_left != node.right as usize {
            return None;
        }
        let left = self.leaves.len() - first_left;
        if left >= 64 {
            return None;
        }
        let column = node.column as usize / BLOCK_ROWS;
        self.splits.push(Split {
            feature: u32::try_from(column / 2).ok()?,
            threshold: node.threshold,
            missing_left: column % 2 == 1,
            tree: self.tree,
            // Every leaf but those of the left subtree (fewer than 64 of them).
            mask: !(((1u64 << left) - 1) << first_left),
        });
        self.visit(after_left, depth + 1)
    }
}
